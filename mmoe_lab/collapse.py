"""The gate-collapse lab (notebook 06): break an MMoE's gates on purpose, then repair them.

A *cause* is a training setup known to polarise gates (one expert at 0.999, the rest near 0);
a *remedy* is a change that should soften them. :func:`run_scenario` trains one small MMoE for
one (cause, remedy, strength) and returns its gate diagnostics
(:mod:`mmoe_lab.diagnostics`) and per-task test losses; :func:`remedy_table` repeats it over
seeds. Everything is sized for a live notebook: a few thousand samples, a few epochs.

Causes (:data:`CAUSES`):

* ``"healthy"``: the reference: Glorot gate initialisation, Adam 5e-3, z-scored labels of two
  correlated regression tasks (:func:`~mmoe_lab.synthetic.make_task_splits`).
* ``"gate_init"``: same data, but gate kernels drawn from ``N(0, 2²)`` instead of Glorot. With
  ``d = 20`` standard-normal inputs the gate logits then have standard deviation ≈ 9, so the
  softmax is saturated before training starts, and a saturated softmax passes almost no
  gradient back to its logits: it stays saturated.
* ``"heavy_tail"``: a video feed (:func:`~mmoe_lab.scenarios.make_video_splits`, shared with
  notebook 07): *watched* (binary) next to *watch time* in raw seconds (log-normal, heavy
  tail), no log transform.
* ``"high_lr"``: same data as healthy, Adam learning rate 0.3 (60× the reference).

Remedies (:data:`REMEDIES`), each scaled by a ``strength`` in [0, 1] (0 = off; see
:func:`remedy_setting`): gate temperature, gate dropout, the load-balancing loss, a log
transform of watch time, and a loss weight that brings watch time's loss to the magnitude of
the binary task's. The last two only change the ``heavy_tail`` scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from . import diagnostics as diag
from ._validate import check_choice, check_number
from .backend import set_random_seed

__all__ = ["CAUSES", "REMEDIES", "LabConfig", "remedy_setting", "describe_remedy", "make_scenario_data", "run_scenario",
           "result_row", "remedy_table", "remedy_summary", "TABLE_PLAN"]

#: cause → one-line description.
CAUSES: dict[str, str] = {
    "healthy": "reference: Glorot gates, Adam 5e-3, z-scored labels",
    "gate_init": "gate kernels ~ N(0, 2²): logits with std ≈ 9 from the first step",
    "heavy_tail": "watched (binary) + raw watch time in seconds (heavy tail, no log)",
    "high_lr": "Adam learning rate 0.3 (60× the reference)",
}

#: remedy → (parameter, its value at strength 1, description).
REMEDIES: dict[str, tuple[str, float, str]] = {
    "none": ("", 0.0, "no remedy"),
    "temperature": ("τ", 10.0, "softmax temperature τ = 1 + 9·strength"),
    "gate_dropout": ("rate", 0.5, "drop gate weights with rate 0.5·strength (training only)"),
    "balance_loss": ("w", 1.0, "load-balancing loss CV² with weight 1·strength"),
    "log_transform": ("log1p", 1.0, "train on log1p(watch time) (strength > 0 = on; heavy_tail only)"),
    "loss_weight": ("w", 1.0, "watch-time loss weight (1/Var)^strength (heavy_tail only)"),
}

HIGH_LR = 0.3
GATE_INIT_STD = 2.0


@dataclass(frozen=True)
class LabConfig:
    """Size of one lab run (small on purpose: the diagnostics, not accuracy, are the point).

    Attributes:
        n_features: input width ``d``.
        n_train, n_test: samples; the probe batch is the first ``n_probe`` test rows.
        epochs, batch_size, learning_rate: training budget (``high_lr`` overrides the rate).
        num_experts, expert_units, tower_units: the MMoE of the paper's §5.1 by default.
        correlation: task cosine ``p`` of the data.
        median_seconds, duration_sigma: the watch-time distribution of ``heavy_tail``
            (median and standard deviation of log seconds).
    """

    n_train: int = 4000
    n_features: int = 20
    n_test: int = 1000
    n_probe: int = 500
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 5e-3
    num_experts: int = 8
    expert_units: int = 16
    tower_units: int = 8
    correlation: float = 0.5
    median_seconds: float = 120.0
    duration_sigma: float = 2.0


def remedy_setting(remedy: str, strength: float) -> tuple[str, float]:
    """The parameter a remedy sets at ``strength`` in [0, 1], and its value.

    ``temperature`` → ``τ = 1 + 9·s``; ``gate_dropout`` → rate ``0.5·s``; ``balance_loss`` →
    weight ``s``; ``log_transform`` → 1 (on) if ``s > 0``; ``loss_weight`` → exponent ``s`` of
    ``1/Var(watch time)``.
    """
    check_choice("remedy", remedy, list(REMEDIES))
    check_number("strength", strength, 0, 1)
    name, top, _ = REMEDIES[remedy]
    if remedy == "temperature":
        return name, 1.0 + (top - 1.0) * strength
    if remedy == "log_transform":
        return name, float(strength > 0)
    return name, top * strength


def describe_remedy(cause: str, remedy: str, strength: float) -> tuple[str, str]:
    """What ``remedy`` at ``strength`` sets, and a note when it cannot touch ``cause``.

    Returns:
        ``(setting, note)``: e.g. ``("temperature: τ = 5.5", "")``,
        ``("loss_weight: watch-time weight (1/Var)^0.5", "")``, ``("log_transform: on", ...)``,
        ``("no remedy", "")``. The two label remedies change only the ``heavy_tail`` cause; for
        any other cause ``note`` says so (it starts with a space), else it is ``""``.
    """
    check_choice("cause", cause, list(CAUSES))
    name, value = remedy_setting(remedy, strength)
    if remedy == "log_transform":
        what = f"{remedy}: {'on' if value > 0 else 'off'}"
    elif remedy == "none" or value == 0:
        what = "no remedy"
    elif remedy == "loss_weight":  # the strength is an exponent, not the weight
        what = f"{remedy}: watch-time weight (1/Var)^{value:.3g}"
    else:
        what = f"{remedy}: {name} = {value:.3g}"
    note = ""
    if remedy in ("log_transform", "loss_weight") and cause != "heavy_tail":
        note = " (changes only the heavy_tail cause: here it is the same as no remedy)"
    return what, note


def make_scenario_data(cause: str, seed: int, config: LabConfig = LabConfig(), *,
                       log_watch_time: bool = False) -> dict[str, Any]:
    """Data of a cause: ``x_train, y_train (dict), x_test, y_test (dict), tasks (list of TaskSpec)``.

    ``heavy_tail`` uses the video feed's *watched* and *watch_time* (raw seconds, or
    ``log1p`` seconds with ``log_watch_time``); every other cause two z-scored regression tasks.
    """
    from .models import TaskSpec
    from .scenarios import make_video_splits
    from .synthetic import make_task_splits

    check_choice("cause", cause, list(CAUSES))
    if cause == "heavy_tail":
        d = make_video_splits(config.n_train, config.n_test, config.n_features, config.correlation, random_state=seed,
                              median_seconds=config.median_seconds, duration_sigma=config.duration_sigma)
        keep = ("watched", "watch_time")
        out = {"x_train": d["x_train"], "x_test": d["x_test"],
               "y_train": {k: d["y_train"][k] for k in keep}, "y_test": {k: d["y_test"][k] for k in keep},
               "tasks": [TaskSpec("watched", "binary"), TaskSpec("watch_time")]}
        if log_watch_time:
            for split in ("y_train", "y_test"):
                out[split]["watch_time"] = np.log1p(out[split]["watch_time"])
        return out
    d = make_task_splits(config.n_train, config.n_test, config.correlation, n_features=config.n_features,
                         random_state=seed)
    names = ("task_0", "task_1")
    return {"x_train": d["x_train"], "x_test": d["x_test"],
            "y_train": {n: d["y_train"][:, i] for i, n in enumerate(names)},
            "y_test": {n: d["y_test"][:, i] for i, n in enumerate(names)},
            "tasks": [TaskSpec(n) for n in names]}


def _task_losses(pred: dict[str, np.ndarray], y: dict[str, np.ndarray], tasks: Sequence[Any],
                 log_space: bool) -> dict[str, float]:
    """Per-task test loss in units comparable across remedies.

    Binary: cross-entropy. Regression: MSE, except watch time, whose MSE is taken on the
    ``log1p(seconds)`` scale whichever scale the model was trained on (a raw-scale prediction
    is clipped at 0 and mapped through ``log1p``), so raw and log-trained models compare.
    """
    out = {}
    for t in tasks:
        p = np.asarray(pred[t.name], dtype=np.float64).reshape(-1)
        target = np.asarray(y[t.name], dtype=np.float64)
        if t.kind == "binary":
            p = np.clip(p, 1e-7, 1 - 1e-7)
            out[t.name] = float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
        elif t.name == "watch_time":
            target_log = target if log_space else np.log1p(target)
            p_log = p if log_space else np.log1p(np.clip(p, 0, None))
            out[t.name] = float(np.mean((p_log - target_log) ** 2))
        else:
            out[t.name] = float(np.mean((p - target) ** 2))
    return out


def run_scenario(
    cause: str,
    remedy: str = "none",
    strength: float = 1.0,
    *,
    seed: int = 0,
    config: LabConfig | None = None,
    callbacks: Sequence[Any] | None = None,
    keep_model: bool = False,
) -> dict[str, Any]:
    """Train one small MMoE under ``cause`` with ``remedy`` at ``strength``; diagnose its gates.

    Args:
        cause: a key of :data:`CAUSES`.
        remedy: a key of :data:`REMEDIES`.
        strength: in [0, 1] (see :func:`remedy_setting`).
        seed: seeds the data and the initialisation.
        config: the run's size (:class:`LabConfig`).
        callbacks: extra Keras callbacks (e.g. a progress bar).
        keep_model: also return the trained model.

    Returns:
        dict with ``cause, remedy, strength, seed``, ``setting`` (``(parameter, value)``),
        ``task_names``, ``history`` (the :class:`~mmoe_lab.diagnostics.GateMonitor` frame: one
        row per (epoch, task), epoch 0 = before training), ``gates (B, T, E)`` and
        ``expert_outputs (B, E, U)`` on the probe batch after training, ``summary``
        (:func:`~mmoe_lab.diagnostics.summarize_gates`), ``test_loss`` ``{task: loss}``
        (see ``_task_losses``), ``mean_test_loss`` and ``loss_weights`` ``{task: weight}``.
    """
    import keras

    from .models import build_model

    check_choice("cause", cause, list(CAUSES))
    config = config or LabConfig()
    param, value = remedy_setting(remedy, strength)
    log_space = cause == "heavy_tail" and remedy == "log_transform" and value > 0
    data = make_scenario_data(cause, seed, config, log_watch_time=log_space)
    tasks = list(data["tasks"])
    if cause == "heavy_tail" and remedy == "loss_weight" and value > 0:
        var = float(np.var(data["y_train"]["watch_time"]))
        tasks = [replace(t, loss_weight=var ** -value) if t.name == "watch_time" else t for t in tasks]

    layer_kwargs: dict[str, Any] = {}
    if remedy == "temperature":
        layer_kwargs["gate_temperature"] = value
    elif remedy == "gate_dropout" and value > 0:
        layer_kwargs.update(gate_dropout=value, seed=seed)
    elif remedy == "balance_loss":
        layer_kwargs["balance_loss_weight"] = value
    if cause == "gate_init":
        layer_kwargs["gate_initializer"] = keras.initializers.RandomNormal(stddev=GATE_INIT_STD)
    lr = HIGH_LR if cause == "high_lr" else config.learning_rate

    keras.backend.clear_session()
    set_random_seed(seed)
    model = build_model("mmoe", tasks, data["x_train"].shape[1], num_experts=config.num_experts,
                        expert_units=config.expert_units, tower_units=config.tower_units,
                        learning_rate=lr, **layer_kwargs)
    names = [t.name for t in tasks]
    x_probe = data["x_test"][: config.n_probe]
    monitor = diag.GateMonitor(x_probe, names)
    model.fit(data["x_train"], data["y_train"], epochs=config.epochs, batch_size=config.batch_size,
              verbose=0, callbacks=[monitor, *(callbacks or [])])
    gates, acts = diag.probe(model, x_probe)
    pred = {k: keras.ops.convert_to_numpy(v) for k, v in model(data["x_test"], training=False).items()}
    test_loss = _task_losses(pred, data["y_test"], tasks, log_space)
    out = {
        "cause": cause, "remedy": remedy, "strength": float(strength), "seed": seed,
        "setting": (param, value), "task_names": names, "history": monitor.history,
        "gates": gates, "expert_outputs": acts, "summary": diag.summarize_gates(gates, acts, names),
        "test_loss": test_loss, "mean_test_loss": float(np.mean(list(test_loss.values()))),
        "loss_weights": {t.name: t.loss_weight for t in tasks},
    }
    if keep_model:
        out["model"] = model
    return out


def result_row(res: dict[str, Any]) -> dict[str, Any]:
    """One flat row of a :func:`run_scenario` result: per-task polarisation, entropy, loss."""
    s = res["summary"]
    row: dict[str, Any] = {"cause": res["cause"], "remedy": res["remedy"], "strength": res["strength"],
                           "seed": res["seed"]}
    for i, name in enumerate(res["task_names"]):
        row[f"polarization_{i}"] = float(s.loc[name, "polarization"])
        row[f"entropy_{i}"] = float(s.loc[name, "entropy"])
        row[f"loss_{i}"] = res["test_loss"][name]
    row["polarization"] = float(s["polarization"].mean())
    row["max_polarization"] = float(s["polarization"].max())
    row["entropy"] = float(s["entropy"].mean())
    row["dead_experts"] = int(s["dead_experts"].iloc[0])
    row["js_divergence"] = float(s["js_divergence"].iloc[0])
    row["zero_relu"] = float(s["zero_relu"].iloc[0])
    row["initial_polarization"] = float(res["history"].query("epoch == 0")["polarization"].mean())
    row["mean_test_loss"] = res["mean_test_loss"]
    return row


def remedy_table(
    plan: Mapping[str, Sequence[str]],
    seeds: Sequence[int] = (0,),
    strength: float = 1.0,
    config: LabConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run every ``cause → [remedies]`` of ``plan`` for every seed; one row per run.

    Args:
        plan: e.g. ``{"gate_init": ["none", "temperature"], "healthy": ["none"]}``.
        seeds: seeds (data and initialisation).
        strength: remedy strength for every run.
        config: the run's size.
        progress: optional ``progress(done, total)`` called after each run.

    Returns:
        DataFrame of :func:`result_row` rows.
    """
    jobs = [(c, r, s) for s in seeds for c, rs in plan.items() for r in rs]
    rows = []
    for k, (cause, remedy, seed) in enumerate(jobs):
        rows.append(result_row(run_scenario(cause, remedy, strength, seed=seed, config=config)))
        if progress is not None:
            progress(k + 1, len(jobs))
    return pd.DataFrame(rows)


#: The remedy table notebook 06 shows (precomputed over seeds 0-4 by :func:`remedy_table`; its claims,
#: and the rate they held at on other seeds, are in :mod:`mmoe_lab.claims`, ``python -m mmoe_lab claims 06``).
TABLE_PLAN: dict[str, list[str]] = {
    "healthy": ["none"],
    "gate_init": ["none", "temperature", "gate_dropout", "balance_loss"],
    "heavy_tail": ["none", "log_transform", "loss_weight", "temperature"],
    "high_lr": ["none", "temperature", "gate_dropout", "balance_loss"],
}


def remedy_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (cause, remedy) of a :func:`remedy_table`, with the change against
    the same cause without a remedy.

    Returns:
        DataFrame indexed by ``(cause, remedy)`` (in :data:`TABLE_PLAN` order where possible) with
        ``polarization`` (mean over tasks), ``Δ polarization``, ``entropy``, ``test loss`` and
        ``loss ratio`` (test loss / the cause's loss without remedy; > 1 = the remedy costs loss),
        plus ``seeds``.
    """
    cols = {"polarization": "polarization", "entropy": "entropy", "mean_test_loss": "test loss"}
    g = table.groupby(["cause", "remedy"], sort=False)
    out = g[list(cols)].mean().rename(columns=cols)
    out["seeds"] = g["seed"].nunique()
    base = out.xs("none", level="remedy")
    causes = out.index.get_level_values("cause")
    out.insert(1, "Δ polarization", out["polarization"].to_numpy() - base.loc[causes, "polarization"].to_numpy())
    out.insert(4, "loss ratio", out["test loss"].to_numpy() / base.loc[causes, "test loss"].to_numpy())
    order = [(c, r) for c, rs in TABLE_PLAN.items() for r in rs if (c, r) in out.index]
    rest = [i for i in out.index if i not in order]
    return out.loc[order + rest]
