"""Training multi-task models beyond one fixed sum of losses, and the comparisons built on it.

* **Learned loss weights**: :class:`UncertaintyWeightedModel` trains the per-task weights with
  the model (Kendall et al., CVPR 2018).
* **Tasks on different scales** (a click, a watch time in seconds, a rating):
  :func:`run_video_variant` trains one MMoE with a given label transform and weighting;
  :func:`compare_video_variants` runs every variant on the same data.
* **Multi-task against single-task**: :func:`compare_with_single_task` trains MMoE, CGC, PLE
  and a stacked MMoE beside one-task baselines of the same size; :func:`mtl_gain` turns that
  into the percentage each task gains.
* **Serial against parallel tasks** (an impression → click → conversion funnel):
  :func:`compare_funnel_models` trains a naive CVR model, ESMM and MMoE and scores their
  conversion predictions against the generator's truth.

Each comparison has a budget (``*_BUDGET``): the data size and training run a live notebook
can afford on two CPU cores. The models come from :mod:`mmoe_lab.models`, the data from
:mod:`mmoe_lab.scenarios` and :mod:`mmoe_lab.synthetic`, the scores from :mod:`mmoe_lab.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import keras

from ._validate import check_choice, check_columns, check_int, check_subset, invalid
from .backend import set_random_seed
from .layers import UncertaintyWeighting
from .metrics import constant_baseline_losses, roc_auc, task_gradient_norms, task_losses
from .models import (
    TaskSpec,
    _check_tasks,
    build_esmm,
    build_extraction_model,
    build_model,
    esmm_targets,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "UncertaintyWeightedModel",
    "VIDEO_TASK_SPECS",
    "VIDEO_BUDGET",
    "VIDEO_VARIANTS",
    "run_video_variant",
    "compare_video_variants",
    "EXTRACTION_BUDGET",
    "MTL_ARCHS",
    "compare_with_single_task",
    "mtl_gain",
    "FUNNEL_BUDGET",
    "FUNNEL_MODELS",
    "compare_funnel_models",
]


def _budget(defaults: Mapping[str, Any], budget: Mapping[str, Any] | None) -> dict[str, Any]:
    """``defaults`` updated with ``budget``; unknown keys are an error (a typo would be ignored)."""
    unknown = sorted(set(budget or {}) - set(defaults))
    if unknown:
        raise invalid("budget", f"a dict with keys among {sorted(defaults)}", dict(budget or {}),
                      received=f"unknown keys {unknown}")
    return dict(defaults, **(budget or {}))


# ---- learned loss weights ------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="mmoe_lab")
class UncertaintyWeightedModel(keras.Model):
    """Train a multi-task model with learned uncertainty weights (Kendall et al., CVPR 2018).

    Wraps any model with dict outputs ``{task: (batch, 1)}`` and replaces the compiled sum of
    losses by :class:`~mmoe_lab.layers.UncertaintyWeighting` over the per-task losses
    (:func:`~mmoe_lab.metrics.task_losses`); the log-variances are trained with the model's weights. Compile with
    an optimizer and per-task ``metrics`` only (no ``loss``). Per-task unweighted losses are
    logged as ``<task>_loss``; the current weights are :meth:`task_weights`.

    Example:

    >>> from mmoe_lab.models import TaskSpec, build_model
    >>> tasks = [TaskSpec("a"), TaskSpec("b", "binary")]
    >>> base = build_model("mmoe", tasks, input_dim=4, compile=False)
    >>> uw = UncertaintyWeightedModel(base, ["a", "b"], ["regression", "binary"])
    >>> uw.compile(optimizer="adam")

    Args:
        model: the multi-task model (dict outputs).
        task_names, task_kinds: one name and ``"regression"``/``"binary"`` per task.
        initial_log_variance: starting ``s_t``.
    """

    def __init__(self, model: keras.Model, task_names: Sequence[str],
                 task_kinds: Sequence[Literal["regression", "binary"]], *,
                 initial_log_variance: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise invalid("model", "a keras.Model", model)
        if len(task_names) != len(task_kinds):
            raise invalid("task_kinds", f"one kind per task name ({len(task_names)})", list(task_kinds),
                          received=f"{len(task_names)} names and {len(task_kinds)} kinds")
        self.tasks = _check_tasks([TaskSpec(n, k) for n, k in zip(task_names, task_kinds, strict=True)])
        self.inner = model
        self.weighting = UncertaintyWeighting(list(task_kinds), initial_log_variance=initial_log_variance,
                                              name="uncertainty_weighting")
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{n}_loss") for n in task_names]

    @classmethod
    def from_tasks(cls, model: keras.Model, tasks: Sequence[TaskSpec], **kwargs: Any) -> UncertaintyWeightedModel:
        """Wrap ``model`` for the given task specs."""
        return cls(model, [t.name for t in tasks], [t.kind for t in tasks], **kwargs)

    def build(self, input_shape: Any = None) -> None:
        """Build the wrapped model (the log-variances are built by their layer)."""
        if not self.inner.built:
            self.inner.build(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """The wrapped model's outputs ``{task: (batch, 1)}`` for inputs ``(batch, d)``."""
        return self.inner(inputs, training=training)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The uncertainty-weighted sum of the per-task losses, plus any layer losses (a scalar).

        ``sample_weight`` is ignored: every sample counts equally.
        """
        losses = task_losses(y, y_pred, self.tasks)
        for tracker, loss in zip(self.task_loss_trackers, losses, strict=True):
            tracker.update_state(loss)
        total = self.weighting(losses)
        for extra in self.losses:
            total = total + extra
        return total

    def task_weights(self) -> dict[str, float]:
        """Current effective weight ``c_t·exp(-s_t)`` of each task's loss."""
        w = keras.ops.convert_to_numpy(self.weighting.task_weights())
        return {t.name: float(v) for t, v in zip(self.tasks, w, strict=True)}

    def get_config(self) -> dict[str, Any]:
        """Serializable config: the wrapped model, the task names and kinds, the initial ``s_t``."""
        config = super().get_config()
        config.update({
            "model": keras.saving.serialize_keras_object(self.inner),
            "task_names": [t.name for t in self.tasks],
            "task_kinds": [t.kind for t in self.tasks],
            "initial_log_variance": self.weighting.initial_log_variance,
        })
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> UncertaintyWeightedModel:
        """Rebuild from :meth:`get_config` (the wrapped model is deserialized first)."""
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


# ---- tasks on different scales: label transforms and loss weights --------------------------------

#: Task specs of the video scenario (:func:`mmoe_lab.scenarios.make_video_tasks`).
VIDEO_TASK_SPECS = (TaskSpec("watched", "binary"), TaskSpec("watch_time"), TaskSpec("rating"))
#: The live budget of notebook 07 (also used by ``python -m mmoe_lab claims 07``).
VIDEO_BUDGET: dict[str, Any] = {"n_train": 4000, "n_test": 2000, "epochs": 10, "learning_rate": 1e-2}
#: The (target, weighting) variants notebook 07 compares.
VIDEO_VARIANTS = (("raw", "equal"), ("raw", "hand"), ("log", "equal"), ("log", "hand"), ("log", "uncertainty"))
_TARGETS = ("raw", "log")
_WEIGHTINGS = ("equal", "hand", "uncertainty")
_SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _check_variant(target: str, weighting: str) -> None:
    check_choice("target", target, _TARGETS)
    check_choice("weighting", weighting, _WEIGHTINGS)


def run_video_variant(
    data: Mapping[str, Any],
    target: str = "log",
    weighting: str = "equal",
    *,
    epochs: int = 8,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    num_experts: int = 4,
    expert_units: int = 16,
    seed: int = 0,
    probe_size: int = 512,
) -> dict[str, Any]:
    """Train one MMoE on the video scenario and measure what notebook 07 compares.

    Args:
        data: from :func:`mmoe_lab.scenarios.make_video_splits`: ``x_train`` ``(n, d)``,
            ``y_train`` (dict of ``(n,)`` labels), ``x_test``, ``y_test``.
        target: ``"raw"`` (watch time in seconds) or ``"log"`` (``log`` seconds).
        weighting: ``"equal"`` (all 1), ``"hand"`` (``1 / constant_baseline_losses``) or
            ``"uncertainty"`` (:class:`UncertaintyWeightedModel`, Kendall et al.).
        epochs, batch_size, learning_rate, num_experts, expert_units: the training budget.
        seed: weight initialisation and batch order.
        probe_size: rows of the training set used for the initial loss / gradient probe.

    Returns:
        dict with ``model``, ``history`` (DataFrame), ``initial_loss`` and ``grad_norm``
        (per task, at initialisation, on the MMoE layer's weights), ``loss_weights`` (the
        weights used; final learned ones for ``"uncertainty"``) and ``metrics``: test
        ``watched_auc``, ``watch_time_spearman`` (rank correlation with the true seconds),
        ``watch_time_rmse_log`` (RMSE in log seconds; raw predictions clipped at 1 s) and
        ``rating_rmse``.
    """
    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr

    _check_variant(target, weighting)
    missing = [k for k in _SPLIT_KEYS if k not in data]
    if missing:
        raise invalid("data", "the dict of make_video_splits", sorted(data), received=f"a dict without {missing}")
    check_int("probe_size", probe_size)
    y_tr = dict(data["y_train"])
    if target == "log":
        y_tr["watch_time"] = np.log(y_tr["watch_time"])
    tasks = list(VIDEO_TASK_SPECS)
    if weighting == "hand":
        base = constant_baseline_losses(y_tr, tasks)
        tasks = [TaskSpec(t.name, t.kind, 1.0 / base[t.name]) for t in tasks]
    keras.backend.clear_session()
    set_random_seed(seed)
    d = data["x_train"].shape[1]
    net = build_model("mmoe", tasks, d, num_experts=num_experts, expert_units=expert_units,
                      learning_rate=learning_rate, compile=weighting != "uncertainty")
    model = net
    if weighting == "uncertainty":
        model = UncertaintyWeightedModel.from_tasks(net, tasks)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      metrics={t.name: t.metrics() for t in tasks})
    xp = data["x_train"][:probe_size]
    yp = {k: v[:probe_size] for k, v in y_tr.items()}
    initial = [float(v) for v in task_losses(yp, net(xp), tasks)]
    grads = task_gradient_norms(net, xp, yp, tasks)
    hist = model.fit(data["x_train"], y_tr, epochs=epochs, batch_size=batch_size, verbose=0)
    pred = net.predict(data["x_test"], verbose=0, batch_size=4096)
    y_te = data["y_test"]
    wt = pred["watch_time"][:, 0].astype("float64")
    wt_log = wt if target == "log" else np.log(np.maximum(wt, 1.0))
    metrics = {
        "watched_auc": roc_auc(y_te["watched"], pred["watched"]),
        "watch_time_spearman": float(spearmanr(wt, y_te["watch_time"])[0]),
        "watch_time_rmse_log": float(np.sqrt(np.mean((wt_log - np.log(y_te["watch_time"])) ** 2))),
        "rating_rmse": float(np.sqrt(np.mean((pred["rating"][:, 0] - y_te["rating"]) ** 2))),
    }
    weights = model.task_weights() if weighting == "uncertainty" else {t.name: t.loss_weight for t in tasks}
    history = pd.DataFrame(hist.history)
    history.index.name = "epoch"
    return {"model": model, "history": history, "metrics": metrics, "loss_weights": weights,
            "initial_loss": dict(zip([t.name for t in tasks], initial, strict=True)), "grad_norm": grads}



def compare_video_variants(seed: int = 0, variants: Sequence[tuple[str, str]] = VIDEO_VARIANTS,
                           callback: Callable[[tuple[str, str], dict[str, Any]], Any] | None = None) -> pd.DataFrame:
    """Run :func:`run_video_variant` for each variant on one seed's data (:data:`VIDEO_BUDGET`).

    Args:
        seed: data and initialisation seed.
        variants: ``(target, weighting)`` pairs.
        callback: optional ``f(variant, result)`` called after each run (e.g. to keep models).

    Returns:
        DataFrame, one row per variant: ``seed, target, weighting``, the four test metrics,
        ``grad_<task>`` (initial gradient norms), ``loss0_<task>`` (initial losses) and
        ``w_<task>`` (loss weights; learned ones for uncertainty).
    """
    import pandas as pd

    from .scenarios import make_video_splits

    pairs = [tuple(v) for v in variants]
    for v in pairs:
        if len(v) != 2:
            raise invalid("variants", "a list of (target, weighting) pairs", list(variants), received=f"an item {v!r}")
        _check_variant(*v)
    b = VIDEO_BUDGET
    data = make_video_splits(b["n_train"], b["n_test"], random_state=seed)
    rows = []
    for target, weighting in pairs:
        r = run_video_variant(data, target, weighting, epochs=b["epochs"], learning_rate=b["learning_rate"], seed=seed)
        if callback is not None:
            callback((target, weighting), r)
        rows.append({"seed": seed, "target": target, "weighting": weighting, **r["metrics"],
                     **{f"grad_{k}": v for k, v in r["grad_norm"].items()},
                     **{f"loss0_{k}": v for k, v in r["initial_loss"].items()},
                     **{f"w_{k}": v for k, v in r["loss_weights"].items()}})
    return pd.DataFrame(rows)


# ---- multi-task against single-task: the MTL gain per architecture -------------------------------

#: The live budget of notebook 08 (also used by ``python -m mmoe_lab claims 08``).
EXTRACTION_BUDGET: dict[str, Any] = {"n_train": 4000, "n_test": 2000, "n_features": 20, "correlation": 0.2,
                                     "epochs": 15, "batch_size": 256, "learning_rate": 3e-3, "expert_units": 8}
#: Architectures notebook 08 compares with the single-task baselines.
MTL_ARCHS = ("mmoe", "cgc", "ple", "stacked_mmoe")


def _fit_mse(model: keras.Model, data: Mapping[str, Any], names: Sequence[str], budget: dict[str, Any]) -> dict[str, float]:
    y_tr = {n: data["y_train"][:, i] for i, n in enumerate(names)}
    model.fit(data["x_train"], y_tr, epochs=budget["epochs"], batch_size=budget["batch_size"], verbose=0)
    pred = model.predict(data["x_test"], verbose=0, batch_size=4096)
    return {n: float(((pred[n][:, 0] - data["y_test"][:, i]) ** 2).mean()) for i, n in enumerate(names)}


def compare_with_single_task(seed: int = 0, archs: Sequence[str] = MTL_ARCHS, budget: Mapping[str, Any] | None = None,
                             keep_models: dict[str, keras.Model] | None = None) -> pd.DataFrame:
    """Per-task test MSE of single-task baselines and of each multi-task architecture.

    Data: :func:`~mmoe_lab.synthetic.make_task_splits` (``"teaching"`` preset, two tasks,
    ``budget["correlation"]``, seed ``seed``). The single-task baseline of task ``t`` is a
    one-task MMoE of the same size as the multi-task one (8 experts × ``expert_units``), trained on
    task ``t`` alone. Multi-task models: ``"mmoe"`` (8 experts), ``"cgc"`` (4 shared + 2 per
    task), ``"ple"`` and ``"stacked_mmoe"`` (two levels of those 8 experts).

    Args:
        seed: data and initialisation seed.
        archs: multi-task architectures to train.
        budget: overrides of :data:`EXTRACTION_BUDGET` (e.g. ``{"correlation": 0.9}``).
        keep_models: if a dict, trained models are stored in it by name.

    Returns:
        long DataFrame ``seed, arch, task, mse, params`` (``arch="single"`` for the baselines).
    """
    import pandas as pd

    from .synthetic import make_task_splits

    check_subset("archs", archs, MTL_ARCHS)
    b = _budget(EXTRACTION_BUDGET, budget)
    data = make_task_splits(b["n_train"], b["n_test"], b["correlation"], n_features=b["n_features"],
                            random_state=seed)
    names = ["task_0", "task_1"]
    d = data["x_train"].shape[1]
    rows = []
    for i, name in enumerate(names):
        keras.backend.clear_session()
        set_random_seed(seed)
        model = build_model("mmoe", [TaskSpec(name)], d, expert_units=b["expert_units"], learning_rate=b["learning_rate"])
        single = {"x_train": data["x_train"], "x_test": data["x_test"],
                  "y_train": data["y_train"][:, i : i + 1], "y_test": data["y_test"][:, i : i + 1]}
        mse = _fit_mse(model, single, [name], b)
        rows.append({"seed": seed, "arch": "single", "task": name, "mse": mse[name], "params": model.count_params()})
        if keep_models is not None:
            keep_models[f"single_{name}"] = model
    for arch in archs:
        keras.backend.clear_session()
        set_random_seed(seed)
        if arch == "mmoe":
            model = build_model("mmoe", 2, d, expert_units=b["expert_units"], learning_rate=b["learning_rate"])
        else:
            model = build_extraction_model(arch, 2, d, num_shared_experts=4, num_specific_experts=2,
                                           expert_units=b["expert_units"], learning_rate=b["learning_rate"])
        mse = _fit_mse(model, data, names, b)
        for name in names:
            rows.append({"seed": seed, "arch": arch, "task": name, "mse": mse[name], "params": model.count_params()})
        if keep_models is not None:
            keep_models[arch] = model
    return pd.DataFrame(rows)


def mtl_gain(results: pd.DataFrame) -> pd.DataFrame:
    """Per-task MTL gain over single-task: ``100 · (MSE_single − MSE_arch) / MSE_single``.

    Args:
        results: the long DataFrame of :func:`compare_with_single_task` (any number of seeds).

    Returns:
        DataFrame ``seed, arch, task, gain`` (positive = the multi-task model is better).
    """
    check_columns("results", results, ("seed", "arch", "task", "mse"))
    single = results[results["arch"] == "single"].set_index(["seed", "task"])["mse"]
    mtl = results[results["arch"] != "single"].copy()
    base = single.loc[list(zip(mtl["seed"], mtl["task"], strict=True))].to_numpy()
    mtl["gain"] = 100.0 * (base - mtl["mse"].to_numpy()) / base
    return mtl[["seed", "arch", "task", "gain"]].reset_index(drop=True)


# ---- serial against parallel tasks: the click → conversion funnel --------------------------------

#: The live budget of notebook 09 (also used by ``python -m mmoe_lab claims 09``).
FUNNEL_BUDGET: dict[str, Any] = {"n_train": 20000, "n_test": 10000, "n_features": 16, "correlation": 0.6,
                                 "ctr": 0.1, "cvr": 0.2, "epochs": 8, "batch_size": 256, "learning_rate": 3e-3}
#: The models notebook 09 compares.
FUNNEL_MODELS = ("naive_cvr", "esmm", "mmoe", "esmm_bent")


def _cvr_scores(pred_cvr: Any, y_test: Mapping[str, Any]) -> dict[str, float]:
    import numpy as np

    p = np.asarray(pred_cvr, dtype="float64").reshape(-1)
    true = np.asarray(y_test["p_cvr"], dtype="float64")
    clicked = y_test["click"] == 1
    return {
        "cvr_auc_all": roc_auc(y_test["conversion_if_clicked"], p),
        "cvr_auc_clicked": roc_auc(y_test["conversion"][clicked], p[clicked]),
        "cvr_mean_pred": float(p.mean()),
        "cvr_mean_true": float(true.mean()),
        "cvr_mae": float(np.abs(p - true).mean()),
    }


def compare_funnel_models(seed: int = 0, models: Sequence[str] = FUNNEL_MODELS,
                          budget: Mapping[str, Any] | None = None, keep: dict[str, Any] | None = None) -> pd.DataFrame:
    """Train the CVR models of notebook 09 on one synthetic funnel and score them on all impressions.

    * ``"naive_cvr"``: a one-task MMoE (binary) trained on **clicked impressions only**,
      label = conversion (the usual CVR model: sample-selection bias and few samples).
    * ``"esmm"``: :func:`~mmoe_lab.models.build_esmm`, losses on pCTR (click) and pCTCVR = pCTR × pCVR
      (conversion) over **all** impressions; pCVR is the CVR tower.
    * ``"mmoe"``: a two-task MMoE (CTR and CVR as parallel tasks); the CTR loss on all
      impressions, the CVR loss only on clicked ones (``sample_weight`` = click).
    * ``"esmm_bent"``: ESMM's network with its loss bent to parallel tasks: CVR head trained
      directly against the observed conversion on every impression.

    Scored on the test impressions, all of them, against the generator's ground truth:
    ``cvr_auc_all`` (AUC against the counterfactual "would convert if clicked" labels),
    ``cvr_auc_clicked`` (AUC on clicked test rows only, what a log lets you measure),
    ``cvr_mean_pred`` vs ``cvr_mean_true`` and ``cvr_mae`` (mean |pCVR − true pCVR|).

    Args:
        seed: data and initialisation seed.
        models: which of :data:`FUNNEL_MODELS` to train.
        budget: overrides of :data:`FUNNEL_BUDGET` (e.g. ``{"correlation": 0.9}``).
        keep: if a dict, ``{"model", "pred"}`` of each trained model is stored in it by name.

    Returns:
        DataFrame, one row per model, with those columns and ``n_train_rows`` (rows the CVR
        loss saw).
    """
    import numpy as np
    import pandas as pd

    from .scenarios import make_funnel_splits

    check_subset("models", models, FUNNEL_MODELS)
    b = _budget(FUNNEL_BUDGET, budget)
    data = make_funnel_splits(b["n_train"], b["n_test"], b["n_features"], b["correlation"], ctr=b["ctr"],
                              cvr=b["cvr"], random_state=seed)
    x, y = data["x_train"], data["y_train"]
    d = x.shape[1]
    fit = {"epochs": b["epochs"], "batch_size": b["batch_size"], "verbose": 0}
    rows = []
    for name in models:
        keras.backend.clear_session()
        set_random_seed(seed)
        n_rows = len(x)
        if name == "naive_cvr":
            clicked = y["click"] == 1
            model = build_model("mmoe", [TaskSpec("cvr", "binary")], d, learning_rate=b["learning_rate"])
            model.fit(x[clicked], {"cvr": y["conversion"][clicked]}, **fit)
            n_rows = int(clicked.sum())
        elif name in ("esmm", "esmm_bent"):
            train_on = "ctcvr" if name == "esmm" else "cvr"
            model = build_esmm(d, learning_rate=b["learning_rate"], train_on=train_on)
            model.fit(x, esmm_targets(y["click"], y["conversion"], train_on=train_on), **fit)
            if name == "esmm":
                n_rows = len(x)
        elif name == "mmoe":
            model = build_model("mmoe", [TaskSpec("ctr", "binary"), TaskSpec("cvr", "binary")], d,
                                learning_rate=b["learning_rate"])
            model.fit(x, {"ctr": y["click"], "cvr": y["conversion"]},
                      sample_weight={"ctr": np.ones_like(y["click"]), "cvr": y["click"]}, **fit)
            n_rows = int(y["click"].sum())
        else:  # unreachable: check_subset above
            raise AssertionError(name)
        pred = model.predict(data["x_test"], verbose=0, batch_size=4096)
        if keep is not None:
            keep[name] = {"model": model, "pred": pred}
        rows.append({"seed": seed, "arch": name, "n_train_rows": n_rows, **_cvr_scores(pred["cvr"], data["y_test"])})
    return pd.DataFrame(rows)
