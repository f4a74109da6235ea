"""Model builders: shared-bottom, one-gate MoE (OMoE) and MMoE from one list of task specs.

Defaults follow the paper's §5.1: 8 experts of one 16-unit ReLU layer, towers of one 8-unit
layer; the shared-bottom hidden width is chosen so that its parameter count matches MMoE's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras

from .backend import set_random_seed
from .layers import CGC, MMoE, UncertaintyWeighting

__all__ = [
    "ARCHITECTURES",
    "TaskSpec",
    "regression_tasks",
    "build_model",
    "learning_rate_schedule",
    "matched_shared_units",
    "mixture_params",
    "EXTRACTION_ARCHITECTURES",
    "build_extraction_model",
    "UncertaintyWeightedModel",
    "task_losses",
    "task_gradient_norms",
    "gate_statistics",
    "build_esmm",
    "esmm_targets",
    "roc_auc",
    "extraction_gates",
    "VIDEO_TASK_SPECS",
    "constant_baseline_losses",
    "run_video_variant",
    "VIDEO_BUDGET",
    "VIDEO_VARIANTS",
    "compare_video_variants",
    "EXTRACTION_BUDGET",
    "MTL_ARCHS",
    "compare_with_single_task",
    "mtl_gain",
    "FUNNEL_BUDGET",
    "FUNNEL_MODELS",
    "compare_funnel_models",
]

ARCHITECTURES = ("shared_bottom", "omoe", "mmoe")
_KINDS = ("regression", "binary")


@dataclass(frozen=True)
class TaskSpec:
    """One task of a multi-task model.

    Attributes:
        name: output name (a valid Keras layer name); also the key of its label in ``y``.
        kind: ``"regression"`` (linear output, MSE loss, RMSE metric) or ``"binary"``
            (sigmoid output, binary cross-entropy, AUC and accuracy).
        loss_weight: weight of this task's loss in the total loss.
    """

    name: str
    kind: Literal["regression", "binary"] = "regression"
    loss_weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"`name` should be an identifier-like string. Received: name={self.name!r}")
        if self.kind not in _KINDS:
            raise ValueError(f"`kind` should be one of {_KINDS}. Received: kind={self.kind!r}")
        if not self.loss_weight >= 0:
            raise ValueError(f"`loss_weight` should be >= 0. Received: loss_weight={self.loss_weight!r}")

    def loss(self) -> str:
        return "mse" if self.kind == "regression" else "binary_crossentropy"

    def metrics(self) -> list[Any]:
        if self.kind == "regression":
            return [keras.metrics.RootMeanSquaredError(name="rmse")]
        return [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]


def regression_tasks(n_tasks: int = 2) -> list[TaskSpec]:
    """``n_tasks`` regression tasks named ``task_0, task_1, ...`` (the synthetic benchmark)."""
    return [TaskSpec(f"task_{i}") for i in range(n_tasks)]


def _check_tasks(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    tasks = list(tasks)
    if not tasks or not all(isinstance(t, TaskSpec) for t in tasks):
        raise ValueError(f"`tasks` should be a non-empty list of TaskSpec. Received: tasks={tasks!r}")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"task names should be unique. Received: {names}")
    return tasks


def mixture_params(input_dim: int, n_tasks: int, num_experts: int, expert_units: int,
                   tower_units: int, num_gates: int | None = None) -> int:
    """Trainable parameter count of an (O|M)MoE model with one-layer towers."""
    g = n_tasks if num_gates is None else num_gates
    experts = num_experts * (input_dim * expert_units + expert_units)
    gates = g * (input_dim * num_experts + num_experts)
    towers = n_tasks * (expert_units * tower_units + tower_units + tower_units + 1)
    return experts + gates + towers


def matched_shared_units(input_dim: int, n_tasks: int, num_experts: int = 8, expert_units: int = 16,
                         tower_units: int = 8) -> int:
    """Shared-bottom hidden width whose parameter count matches the MMoE of the same config.

    Shared-bottom parameters: ``(d + 1)·w + T·(w·t + 2t + 1)`` for width ``w`` and tower width
    ``t``; solved for ``w`` and rounded.
    """
    target = mixture_params(input_dim, n_tasks, num_experts, expert_units, tower_units)
    fixed = n_tasks * (2 * tower_units + 1)
    return max(1, round((target - fixed) / (input_dim + 1 + n_tasks * tower_units)))


def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int) -> Any:
    """Adam's learning rate for a run of ``total_steps``: a number, or a Keras schedule.

    Args:
        schedule: ``"constant"`` (returns ``learning_rate``) or ``"cosine"`` (cosine decay from
            ``learning_rate`` to 1% of it over ``total_steps``: the final weights settle, so a
            single run's final loss reflects the architecture more than its last steps' noise).
    """
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"`lr_schedule` should be 'constant' or 'cosine'. Received: lr_schedule={schedule!r}")
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=0.01)
    return learning_rate


def build_model(
    arch: str,
    tasks: Sequence[TaskSpec] | int = 2,
    input_dim: int = 100,
    *,
    num_experts: int = 8,
    expert_units: int = 16,
    tower_units: int = 8,
    shared_units: int | None = None,
    learning_rate: float = 1e-3,
    compile: bool = True,
    return_gates: bool = False,
    **layer_kwargs: Any,
) -> keras.Model:
    """Build (and compile) a shared-bottom, OMoE or MMoE model.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        tasks: a list of :class:`TaskSpec`, or an int ``T`` for ``T`` regression tasks.
        input_dim: input width ``d``.
        num_experts, expert_units: the mixture's ``E`` and ``U`` (ignored by shared-bottom).
        tower_units: hidden width of each task tower (one ReLU layer).
        shared_units: shared-bottom hidden width; default matches MMoE's parameter count.
        learning_rate: Adam learning rate.
        compile: compile with each task's loss, ``loss_weight`` and metrics.
        return_gates: add a ``"gates"`` output ``(batch, T, E)`` (mixtures only; not trained).
        **layer_kwargs: passed to :class:`~mmoe_lab.layers.MMoE` (temperature, dropout, ...).

    Returns:
        a Keras model with input ``(batch, d)`` named ``"features"`` and a dict of outputs
        ``{task.name: (batch, 1)}``.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"`arch` should be one of {ARCHITECTURES}. Received: arch={arch!r}")
    tasks = regression_tasks(tasks) if isinstance(tasks, int) else _check_tasks(tasks)
    if return_gates and arch == "shared_bottom":
        raise ValueError("`return_gates=True` needs a mixture model ('omoe' or 'mmoe'). Received: arch='shared_bottom'")
    n_tasks = len(tasks)
    inputs = keras.Input((input_dim,), name="features")
    gates = None
    if arch == "shared_bottom":
        width = shared_units or matched_shared_units(input_dim, n_tasks, num_experts, expert_units, tower_units)
        shared = keras.layers.Dense(width, activation="relu", name="shared_bottom")(inputs)
        task_inputs = [shared] * n_tasks
    else:
        layer = MMoE(
            num_experts, expert_units, n_tasks, num_gates=1 if arch == "omoe" else n_tasks,
            return_gates=return_gates, name=arch, **layer_kwargs,
        )
        out = layer(inputs)
        task_inputs, gates = out if return_gates else (out, None)
    outputs = {}
    for task, h in zip(tasks, task_inputs, strict=True):
        h = keras.layers.Dense(tower_units, activation="relu", name=f"{task.name}_tower")(h)
        act = "sigmoid" if task.kind == "binary" else None
        outputs[task.name] = keras.layers.Dense(1, activation=act, name=task.name)(h)
    if gates is not None:
        outputs["gates"] = gates
    model = keras.Model(inputs, outputs, name=arch)
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={t.name: t.loss() for t in tasks},
            loss_weights={t.name: t.loss_weight for t in tasks},
            metrics={t.name: t.metrics() for t in tasks},
        )
    return model


# ---------------------------------------------------------------------------------------------
# ---- 07-09: CGC / PLE / stacked MMoE, uncertainty-weighted training, gradients, ESMM --------
# ---------------------------------------------------------------------------------------------

EXTRACTION_ARCHITECTURES = ("cgc", "ple", "stacked_mmoe")


def _towers(tasks: Sequence[TaskSpec], task_inputs, tower_units: int) -> dict[str, Any]:
    outputs = {}
    for task, h in zip(tasks, task_inputs, strict=True):
        h = keras.layers.Dense(tower_units, activation="relu", name=f"{task.name}_tower")(h)
        act = "sigmoid" if task.kind == "binary" else None
        outputs[task.name] = keras.layers.Dense(1, activation=act, name=task.name)(h)
    return outputs


def _compile(model: keras.Model, tasks: Sequence[TaskSpec], learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={t.name: t.loss() for t in tasks},
        loss_weights={t.name: t.loss_weight for t in tasks},
        metrics={t.name: t.metrics() for t in tasks},
    )


def build_extraction_model(
    arch: str,
    tasks: Sequence[TaskSpec] | int = 2,
    input_dim: int = 100,
    *,
    num_shared_experts: int = 4,
    num_specific_experts: int = 2,
    expert_units: int = 16,
    num_levels: int = 2,
    tower_units: int = 8,
    learning_rate: float = 1e-3,
    compile: bool = True,
    return_gates: bool = False,
    **layer_kwargs: Any,
) -> keras.Model:
    """Build CGC, PLE or a stacked MMoE from :class:`~mmoe_lab.layers.CGC` layers.

    * ``"cgc"``: one CGC level (``S`` shared + ``K`` experts per task).
    * ``"ple"``: ``num_levels`` levels; the lower ones also output a shared-gate mixture that
      feeds the next level's shared experts (Tang et al. 2020, Fig. 5).
    * ``"stacked_mmoe"``: the same stack with every expert shared (``S + T·K`` shared experts,
      ``K = 0``): the same expert count as PLE, no task ownership.

    Args:
        arch: one of :data:`EXTRACTION_ARCHITECTURES`.
        tasks: list of :class:`TaskSpec`, or an int ``T`` for ``T`` regression tasks.
        input_dim: input width ``d``.
        num_shared_experts, num_specific_experts: ``S`` and ``K`` per level.
        expert_units: width ``U`` of every expert.
        num_levels: extraction levels of ``"ple"`` / ``"stacked_mmoe"`` (>= 1; ignored by cgc).
        tower_units, learning_rate, compile: as in :func:`build_model`.
        return_gates: add a ``"gates"`` output: the top level's gates ``(batch, T, E)``.
        **layer_kwargs: passed to every :class:`~mmoe_lab.layers.CGC` (e.g. ``gate_temperature``).

    Returns:
        a Keras model with input ``"features"`` ``(batch, d)`` and outputs
        ``{task.name: (batch, 1)}`` (plus ``"gates"``).
    """
    if arch not in EXTRACTION_ARCHITECTURES:
        raise ValueError(f"`arch` should be one of {EXTRACTION_ARCHITECTURES}. Received: arch={arch!r}")
    if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 1:
        raise ValueError(f"`num_levels` should be a positive integer. Received: num_levels={num_levels!r}")
    tasks = regression_tasks(tasks) if isinstance(tasks, int) else _check_tasks(tasks)
    n_tasks = len(tasks)
    levels = 1 if arch == "cgc" else num_levels
    shared, specific = num_shared_experts, num_specific_experts
    if arch == "stacked_mmoe":
        shared, specific = num_shared_experts + n_tasks * num_specific_experts, 0
    inputs = keras.Input((input_dim,), name="features")
    h: Any = inputs
    gates = None
    for level in range(levels):
        top = level == levels - 1
        layer = CGC(n_tasks, shared, specific, expert_units, shared_output=not top,
                    return_gates=return_gates and top, name=f"{arch}_level{level}", **layer_kwargs)
        h = layer(h)
        if return_gates and top:
            h, gates = h
    outputs = _towers(tasks, h, tower_units)
    if gates is not None:
        outputs["gates"] = gates
    model = keras.Model(inputs, outputs, name=arch)
    if compile:
        _compile(model, tasks, learning_rate)
    return model


def task_losses(y_true: dict[str, Any], y_pred: dict[str, Any], tasks: Sequence[TaskSpec]) -> list[Any]:
    """Per-task mean loss (MSE or binary cross-entropy by ``TaskSpec.kind``), unweighted.

    Args:
        y_true, y_pred: dicts keyed by task name, values ``(batch,)`` or ``(batch, 1)``.
        tasks: the task specs.

    Returns:
        a list of ``T`` scalar tensors.
    """
    out = []
    for t in tasks:
        yt = keras.ops.reshape(keras.ops.cast(y_true[t.name], "float32"), (-1, 1))
        yp = keras.ops.reshape(y_pred[t.name], (-1, 1))
        fn = keras.losses.mean_squared_error if t.kind == "regression" else keras.losses.binary_crossentropy
        out.append(keras.ops.mean(fn(yt, yp)))
    return out


@keras.saving.register_keras_serializable(package="mmoe_lab")
class UncertaintyWeightedModel(keras.Model):
    """Train a multi-task model with learned uncertainty weights (Kendall et al., CVPR 2018).

    Wraps any model with dict outputs ``{task: (batch, 1)}`` and replaces the compiled sum of
    losses by :class:`~mmoe_lab.layers.UncertaintyWeighting` over the per-task losses
    (:func:`task_losses`); the log-variances are trained with the model's weights. Compile with
    an optimizer and per-task ``metrics`` only (no ``loss``). Per-task unweighted losses are
    logged as ``<task>_loss``; the current weights are :meth:`task_weights`.

    Example:

    >>> tasks = [TaskSpec("a"), TaskSpec("b", "binary")]
    >>> base = build_model("mmoe", tasks, input_dim=4, compile=False)
    >>> uw = UncertaintyWeightedModel(base, ["a", "b"], ["regression", "binary"])
    >>> uw.compile(optimizer="adam")

    Args:
        model: the multi-task model (dict outputs).
        task_names, task_kinds: one name and ``"regression"``/``"binary"`` per task.
        initial_log_variance: starting ``s_t``.
    """

    def __init__(self, model: keras.Model, task_names: Sequence[str], task_kinds: Sequence[str], *,
                 initial_log_variance: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` should be a keras.Model. Received: model={model!r}")
        if len(task_names) != len(task_kinds):
            raise ValueError(
                f"`task_names` and `task_kinds` should have the same length. Received {len(task_names)} "
                f"names and {len(task_kinds)} kinds"
            )
        self.tasks = _check_tasks([TaskSpec(n, k) for n, k in zip(task_names, task_kinds, strict=True)])
        self.inner = model
        self.weighting = UncertaintyWeighting(list(task_kinds), initial_log_variance=initial_log_variance,
                                              name="uncertainty_weighting")
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{n}_loss") for n in task_names]

    @classmethod
    def from_tasks(cls, model: keras.Model, tasks: Sequence[TaskSpec], **kwargs: Any) -> UncertaintyWeightedModel:
        """Wrap ``model`` for the given task specs."""
        return cls(model, [t.name for t in tasks], [t.kind for t in tasks], **kwargs)

    def build(self, input_shape=None) -> None:
        if not self.inner.built:
            self.inner.build(input_shape)
        self.built = True

    def call(self, inputs, training: bool | None = None):
        return self.inner(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
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
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


def task_gradient_norms(model: keras.Model, x, y: dict[str, Any], tasks: Sequence[TaskSpec],
                        variables: Sequence[Any] | None = None) -> dict[str, float]:
    """L2 norm of each task's (unweighted) loss gradient on the shared parameters.

    Runs on the active backend (:func:`mmoe_lab.backend.gradient_norm`). One forward pass per
    task, on the batch given.

    Args:
        model: a model with dict outputs keyed by task name.
        x: inputs ``(batch, d)``; y: dict of labels ``(batch,)``.
        tasks: the task specs (kind picks MSE or cross-entropy).
        variables: the shared parameters; default: the weights of the model's first
            :class:`~mmoe_lab.layers.MMoE` or :class:`~mmoe_lab.layers.CGC` layer.

    Returns:
        ``{task name: ‖∂L_t/∂θ_shared‖₂}``.
    """
    from .backend import gradient_norm

    tasks = _check_tasks(tasks)
    if variables is None:
        mixtures = [layer for layer in model.layers if isinstance(layer, (MMoE, CGC))]
        if not mixtures:
            raise ValueError("`model` has no MMoE/CGC layer; pass the shared parameters as `variables=`")
        variables = mixtures[0].trainable_variables
    variables = list(variables)
    out = {}
    for t in tasks:
        out[t.name] = gradient_norm(model, variables, lambda pred, t=t: task_losses(y, pred, [t])[0], x)
    return out


def gate_statistics(gates, expert_names: Sequence[str], gate_names: Sequence[str]):
    """Per gate and expert: mean ± std of the gate weight over samples (PLE paper, §5.3).

    Args:
        gates: ``(N, G, E)`` gate weights (e.g. a model's ``"gates"`` output on a probe set).
        expert_names: ``E`` labels; gate_names: ``G`` labels.

    Returns:
        DataFrame with columns ``gate, expert, mean, std``; experts a gate never uses (weight
        exactly 0 on every sample, e.g. another task's experts in CGC) are left out.
    """
    import numpy as np
    import pandas as pd

    g = np.asarray(gates)
    if g.ndim != 3 or g.shape[1] != len(gate_names) or g.shape[2] != len(expert_names):
        raise ValueError(
            f"`gates` should have shape (N, {len(gate_names)}, {len(expert_names)}). Received shape {g.shape}"
        )
    rows = []
    for i, gname in enumerate(gate_names):
        for j, ename in enumerate(expert_names):
            col = g[:, i, j]
            if np.all(col == 0):
                continue
            rows.append({"gate": gname, "expert": ename, "mean": float(col.mean()), "std": float(col.std())})
    return pd.DataFrame(rows)


def build_esmm(
    input_dim: int,
    *,
    shared_units: int = 32,
    tower_units: int = 16,
    learning_rate: float = 1e-3,
    train_on: str = "ctcvr",
    compile: bool = True,
) -> keras.Model:
    """ESMM (Ma et al., SIGIR 2018): pCTCVR = pCTR × pCVR, trained over all impressions.

    A shared bottom (ESMM shares the embedding layer) feeds a CTR tower and a CVR tower;
    ``ctcvr = ctr · cvr`` is a parameter-free product. The CVR tower never sees a CVR label:
    it is learned through the product, on every impression, so it is defined where it is
    used (all impressions) and borrows the dense click signal.

    Args:
        input_dim: input width ``d``.
        shared_units: width of the shared bottom; tower_units: width of each tower.
        learning_rate: Adam learning rate.
        train_on: ``"ctcvr"`` (ESMM: losses on ``ctr`` and ``ctcvr``) or ``"cvr"`` (the
            "bent" variant: losses on ``ctr`` and directly on ``cvr``, as if the two heads were
            parallel tasks; the product is then only computed, never trained).
        compile: compile with binary cross-entropy on the two trained heads, AUC metrics.

    Returns:
        a model with input ``"features"`` and outputs ``{"ctr", "cvr", "ctcvr"}``, each
        ``(batch, 1)`` probabilities.
    """
    if train_on not in ("ctcvr", "cvr"):
        raise ValueError(f"`train_on` should be 'ctcvr' or 'cvr'. Received: train_on={train_on!r}")
    inputs = keras.Input((input_dim,), name="features")
    h = keras.layers.Dense(shared_units, activation="relu", name="shared_bottom")(inputs)
    heads = {}
    for name in ("ctr", "cvr"):
        t = keras.layers.Dense(tower_units, activation="relu", name=f"{name}_tower")(h)
        heads[name] = keras.layers.Dense(1, activation="sigmoid", name=name)(t)
    heads["ctcvr"] = keras.layers.Multiply(name="ctcvr")([heads["ctr"], heads["cvr"]])
    model = keras.Model(inputs, heads, name="esmm" if train_on == "ctcvr" else "esmm_bent")
    if compile:
        trained = ("ctr", train_on)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={n: ("binary_crossentropy" if n in trained else None) for n in ("ctr", "cvr", "ctcvr")},
            metrics={n: [keras.metrics.AUC(name="auc")] for n in trained},
        )
    return model


def esmm_targets(click, conversion, train_on: str = "ctcvr") -> dict[str, Any]:
    """Label dict for :func:`build_esmm`: ``ctr ← click`` and the trained second head.

    ``train_on="ctcvr"``: ``ctcvr ← conversion`` (observed, i.e. click ∧ convert) on every
    impression; ``"cvr"``: ``cvr ← conversion`` (the bent variant). The untrained head gets a
    placeholder of zeros (Keras wants a label per output; its loss is ``None``).
    """
    import numpy as np

    click = np.asarray(click, dtype="float32")
    conversion = np.asarray(conversion, dtype="float32")
    if click.shape != conversion.shape:
        raise ValueError(f"`click` and `conversion` should have the same shape. Received {click.shape}, {conversion.shape}")
    zeros = np.zeros_like(click)
    if train_on == "ctcvr":
        return {"ctr": click, "cvr": zeros, "ctcvr": conversion}
    if train_on == "cvr":
        return {"ctr": click, "cvr": conversion, "ctcvr": zeros}
    raise ValueError(f"`train_on` should be 'ctcvr' or 'cvr'. Received: train_on={train_on!r}")


def roc_auc(labels, scores) -> float:
    """Exact ROC AUC (Mann–Whitney U, ties counted half) of ``scores`` for binary ``labels``.

    Args:
        labels: ``(n,)`` 0/1; scores: ``(n,)`` (or ``(n, 1)``) real.

    Returns:
        AUC in [0, 1]; raises ValueError if only one class is present.
    """
    import numpy as np
    from scipy.stats import rankdata

    y = np.asarray(labels).reshape(-1).astype(bool)
    s = np.asarray(scores, dtype="float64").reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"`labels` and `scores` should have the same length. Received {y.shape}, {s.shape}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes. Received {n_pos} positives and {n_neg} negatives")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def extraction_gates(model: keras.Model, x, level: int = -1):
    """Gate weights of one :class:`~mmoe_lab.layers.CGC` level of a trained model.

    Args:
        model: built by :func:`build_extraction_model` (any ``return_gates``).
        x: inputs ``(N, d)``.
        level: which CGC level (default: the top one).

    Returns:
        ``(gates (N, G, E) numpy, expert names, gate names)``; gate names are the task
        indices ``task0, ...`` plus ``shared`` for a lower level's shared gate.
    """
    layers = [la for la in model.layers if isinstance(la, CGC)]
    if not layers:
        raise ValueError("`model` has no CGC layer; build it with build_extraction_model")
    layer = layers[level]
    probe = keras.Model(model.inputs, layer.input)
    inputs = probe.predict(x, verbose=0, batch_size=4096)
    gates = keras.ops.convert_to_numpy(layer.gate_weights(inputs))
    names = [f"task{t}" for t in range(layer.num_tasks)] + (["shared"] if layer.shared_output else [])
    return gates, layer.expert_names(), names


# ---- 07: the video scenario runner ------------------------------------------------------------

#: Task specs of the video scenario (:func:`mmoe_lab.scenarios.make_video_tasks`).
VIDEO_TASK_SPECS = (TaskSpec("watched", "binary"), TaskSpec("watch_time"), TaskSpec("rating"))


def constant_baseline_losses(y: dict[str, Any], tasks: Sequence[TaskSpec]) -> dict[str, float]:
    """Loss of the best constant prediction per task: label variance (MSE) or the entropy of
    the base rate (cross-entropy). A model's loss starts near this, so ``1 / it`` is a
    hand-set weight that brings every task's loss to about 1."""
    import numpy as np

    out = {}
    for t in tasks:
        v = np.asarray(y[t.name], dtype="float64")
        if t.kind == "regression":
            out[t.name] = float(v.var())
        else:
            p = float(np.clip(v.mean(), 1e-7, 1 - 1e-7))
            out[t.name] = float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))
    return out


def run_video_variant(
    data: dict[str, Any],
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
        data: from :func:`mmoe_lab.scenarios.make_video_splits`.
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

    if target not in ("raw", "log"):
        raise ValueError(f"`target` should be 'raw' or 'log'. Received: target={target!r}")
    if weighting not in ("equal", "hand", "uncertainty"):
        raise ValueError(f"`weighting` should be 'equal', 'hand' or 'uncertainty'. Received: weighting={weighting!r}")
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


#: The live budget of notebook 07 (also used by ``scripts/check_advanced_claims.py 07``).
VIDEO_BUDGET: dict[str, Any] = {"n_train": 4000, "n_test": 2000, "epochs": 10, "learning_rate": 1e-2}
#: The (target, weighting) variants notebook 07 compares.
VIDEO_VARIANTS = (("raw", "equal"), ("raw", "hand"), ("log", "equal"), ("log", "hand"), ("log", "uncertainty"))


def compare_video_variants(seed: int = 0, variants: Sequence[tuple[str, str]] = VIDEO_VARIANTS,
                           callback: Any = None) -> Any:
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

    b = VIDEO_BUDGET
    data = make_video_splits(b["n_train"], b["n_test"], random_state=seed)
    rows = []
    for target, weighting in variants:
        r = run_video_variant(data, target, weighting, epochs=b["epochs"], learning_rate=b["learning_rate"], seed=seed)
        if callback is not None:
            callback((target, weighting), r)
        rows.append({"seed": seed, "target": target, "weighting": weighting, **r["metrics"],
                     **{f"grad_{k}": v for k, v in r["grad_norm"].items()},
                     **{f"loss0_{k}": v for k, v in r["initial_loss"].items()},
                     **{f"w_{k}": v for k, v in r["loss_weights"].items()}})
    return pd.DataFrame(rows)


# ---- 08: MTL gain over single-task, per architecture -----------------------------------------

#: The live budget of notebook 08 (also used by ``scripts/check_advanced_claims.py 08``).
EXTRACTION_BUDGET: dict[str, Any] = {"n_train": 4000, "n_test": 2000, "n_features": 20, "correlation": 0.2,
                                     "epochs": 15, "batch_size": 256, "learning_rate": 3e-3, "expert_units": 8}
#: Architectures notebook 08 compares with the single-task baselines.
MTL_ARCHS = ("mmoe", "cgc", "ple", "stacked_mmoe")


def _fit_mse(model: keras.Model, data: dict[str, Any], names: Sequence[str], budget: dict[str, Any]) -> dict[str, float]:
    y_tr = {n: data["y_train"][:, i] for i, n in enumerate(names)}
    model.fit(data["x_train"], y_tr, epochs=budget["epochs"], batch_size=budget["batch_size"], verbose=0)
    pred = model.predict(data["x_test"], verbose=0, batch_size=4096)
    return {n: float(((pred[n][:, 0] - data["y_test"][:, i]) ** 2).mean()) for i, n in enumerate(names)}


def compare_with_single_task(seed: int = 0, archs: Sequence[str] = MTL_ARCHS, budget: dict[str, Any] | None = None,
                             keep_models: dict[str, keras.Model] | None = None) -> Any:
    """Per-task test MSE of single-task baselines and of each multi-task architecture.

    Data: :func:`~mmoe_lab.synthetic.make_task_splits` (``"teaching"`` preset, two tasks,
    ``budget["correlation"]``, seed ``seed``). The single-task baseline of task ``t`` is a
    one-task MMoE of the same size as the multi-task one (8 experts × ``expert_units``), trained on
    task ``t`` alone. Multi-task models: ``"mmoe"`` (8 experts), ``"cgc"`` (4 shared + 2 per
    task), ``"ple"`` and ``"stacked_mmoe"`` (two levels of those 8 experts).

    Args:
        seed: data and initialisation seed.
        archs: multi-task architectures to train.
        budget: defaults to :data:`EXTRACTION_BUDGET`.
        keep_models: if a dict, trained models are stored in it by name.

    Returns:
        long DataFrame ``seed, arch, task, mse, params`` (``arch="single"`` for the baselines).
    """
    import pandas as pd

    from .synthetic import make_task_splits

    b = dict(EXTRACTION_BUDGET, **(budget or {}))
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


def mtl_gain(results: Any) -> Any:
    """Per-task MTL gain over single-task: ``100 · (MSE_single − MSE_arch) / MSE_single``.

    Args:
        results: the long DataFrame of :func:`compare_with_single_task` (any number of seeds).

    Returns:
        DataFrame ``seed, arch, task, gain`` (positive = the multi-task model is better).
    """
    single = results[results["arch"] == "single"].set_index(["seed", "task"])["mse"]
    mtl = results[results["arch"] != "single"].copy()
    base = single.loc[list(zip(mtl["seed"], mtl["task"], strict=True))].to_numpy()
    mtl["gain"] = 100.0 * (base - mtl["mse"].to_numpy()) / base
    return mtl[["seed", "arch", "task", "gain"]].reset_index(drop=True)


# ---- 09: the funnel: naive CVR, ESMM, MMoE ------------------------------------------------------

#: The live budget of notebook 09 (also used by ``scripts/check_advanced_claims.py 09``).
FUNNEL_BUDGET: dict[str, Any] = {"n_train": 20000, "n_test": 10000, "n_features": 16, "correlation": 0.6,
                                 "ctr": 0.1, "cvr": 0.2, "epochs": 8, "batch_size": 256, "learning_rate": 3e-3}
#: The models notebook 09 compares.
FUNNEL_MODELS = ("naive_cvr", "esmm", "mmoe", "esmm_bent")


def _cvr_scores(pred_cvr, y_test: dict[str, Any]) -> dict[str, float]:
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


def compare_funnel_models(seed: int = 0, models: Sequence[str] = FUNNEL_MODELS, budget: dict[str, Any] | None = None,
                          keep: dict[str, Any] | None = None) -> Any:
    """Train the CVR models of notebook 09 on one synthetic funnel and score them on all impressions.

    * ``"naive_cvr"``: a one-task MMoE (binary) trained on **clicked impressions only**,
      label = conversion (the usual CVR model: sample-selection bias and few samples).
    * ``"esmm"``: :func:`build_esmm`, losses on pCTR (click) and pCTCVR = pCTR × pCVR
      (conversion) over **all** impressions; pCVR is the CVR tower.
    * ``"mmoe"``: a two-task MMoE (CTR and CVR as parallel tasks); the CTR loss on all
      impressions, the CVR loss only on clicked ones (``sample_weight`` = click).
    * ``"esmm_bent"``: ESMM's network with its loss bent to parallel tasks: CVR head trained
      directly against the observed conversion on every impression.

    Scored on the test impressions, all of them, against the generator's ground truth:
    ``cvr_auc_all`` (AUC against the counterfactual "would convert if clicked" labels),
    ``cvr_auc_clicked`` (AUC on clicked test rows only, what a log lets you measure),
    ``cvr_mean_pred`` vs ``cvr_mean_true`` and ``cvr_mae`` (mean |pCVR − true pCVR|).

    Returns:
        DataFrame, one row per model, with those columns and ``n_train_rows`` (rows the CVR
        loss saw).
    """
    import numpy as np
    import pandas as pd

    from .scenarios import make_funnel_splits

    b = dict(FUNNEL_BUDGET, **(budget or {}))
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
        else:
            raise ValueError(f"unknown model {name!r}; expected one of {FUNNEL_MODELS}")
        pred = model.predict(data["x_test"], verbose=0, batch_size=4096)
        if keep is not None:
            keep[name] = {"model": model, "pred": pred}
        rows.append({"seed": seed, "model": name, "n_train_rows": n_rows, **_cvr_scores(pred["cvr"], data["y_test"])})
    return pd.DataFrame(rows)
