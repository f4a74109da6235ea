"""Gate diagnostics: is a mixture-of-experts layer using its experts, or has its gate collapsed?

Two layers of API:

* **numpy math** on gate weights ``gates`` of shape ``(B, T, E)`` (batch, tasks, experts; each
  row sums to 1) and expert activations ``(B, E, U)``, unit-testable on hand-made arrays.
* **model-level wrappers** (:func:`probe`, :func:`gate_report`) and the :class:`GateMonitor`
  Keras callback, which pull the arrays out of a model's MMoE layer on a probe batch and call
  the math.

What each statistic answers:

================================  ==========================================================
statistic                          reading
================================  ==========================================================
mean ± std weight per expert       which experts a task listens to, and how much that varies
                                   from sample to sample (the PLE paper's §5.3 plot)
normalised entropy ``H / log E``   1 = the gate mixes all experts evenly; 0 = one expert only
polarisation rate                  share of samples whose largest gate weight exceeds 0.99:
                                   the "(0.999, 0.001)" symptom
expert utilisation                 share of all gate mass that reaches each expert (sums to 1)
dead experts                       experts getting under 10 % of a fair ``1/E`` share
task divergence                    Jensen–Shannon divergence (bits, in [0, 1]) between two
                                   tasks' mean gate distributions: do tasks use different experts?
zero-ReLU share per expert         share of an expert's ReLU outputs that are exactly 0
importance CV²                     the load-balancing loss of Shazeer et al. (2017)
================================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from ._validate import check_ndim, check_number, invalid

__all__ = [
    "POLARIZATION_THRESHOLD",
    "gate_mean_std",
    "gate_entropy",
    "normalized_entropy",
    "polarization_rate",
    "expert_utilization",
    "dead_experts",
    "js_divergence",
    "task_divergence",
    "zero_activation_share",
    "importance_cv2",
    "summarize_gates",
    "gate_statistics",
    "gate_table",
    "find_mixture_layer",
    "probe",
    "gate_report",
    "GateMonitor",
]

#: A sample counts as polarised when its largest gate weight exceeds this.
POLARIZATION_THRESHOLD = 0.99
#: An expert counts as dead when its utilisation is below this fraction of a fair ``1/E`` share.
DEAD_FRACTION = 0.1


# ----------------------------------------------------------------------------- numpy math


def _check_gates(gates: Any, atol: float = 1e-3) -> np.ndarray:
    g = check_ndim("gates", gates, 3, "(batch, tasks, experts)", np.float64)
    if g.shape[0] < 1 or g.shape[2] < 2:
        raise invalid("gates", "gate weights with at least 1 sample and 2 experts", gates,
                      received=f"`gates` of shape {g.shape}")
    if (g < -atol).any() or not np.allclose(g.sum(-1), 1.0, atol=atol):
        raise invalid("gates", "non-negative with rows summing to 1 over the experts axis", gates,
                      received="other weights")
    return np.clip(g, 0.0, None)


def gate_mean_std(gates: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the batch of each task's weight on each expert.

    Args:
        gates: ``(B, T, E)`` gate weights.

    Returns:
        ``(mean, std)``, each ``(T, E)``; each row of ``mean`` sums to 1.
    """
    g = _check_gates(gates)
    return g.mean(0), g.std(0)


def gate_entropy(gates: Any) -> np.ndarray:
    """Per-sample normalised entropy ``H(g) / log E`` of every gate, ``(B, T)`` in [0, 1]."""
    g = _check_gates(gates)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(g > 0, g * np.log(g), 0.0)
    h = -plogp.sum(-1) / np.log(g.shape[-1])
    return np.clip(h, 0.0, 1.0)


def normalized_entropy(gates: Any) -> np.ndarray:
    """Mean over samples of the normalised gate entropy, per task.

    1 means every sample's gate mixes all ``E`` experts evenly; 0 means every sample's gate
    puts all its weight on a single expert (which expert may differ between samples).

    Args:
        gates: ``(B, T, E)`` gate weights.

    Returns:
        ``(T,)`` values in [0, 1].
    """
    return gate_entropy(gates).mean(0)


def polarization_rate(gates: Any, threshold: float = POLARIZATION_THRESHOLD) -> np.ndarray:
    """Share of samples whose largest gate weight exceeds ``threshold``, per task.

    Args:
        gates: ``(B, T, E)`` gate weights.
        threshold: in (0, 1); 0.99 by default.

    Returns:
        ``(T,)`` values in [0, 1]; 0 for uniform gates, 1 for one-hot gates.
    """
    check_number("threshold", threshold, 0, 1, lo_open=True, hi_open=True)
    g = _check_gates(gates)
    return (g.max(-1) > threshold).mean(0)


def expert_utilization(gates: Any, per_task: bool = False) -> np.ndarray:
    """Share of the total gate mass that reaches each expert.

    Args:
        gates: ``(B, T, E)`` gate weights.
        per_task: if True, one distribution per task.

    Returns:
        ``(E,)`` (or ``(T, E)`` with ``per_task``), summing to 1 (per row).
    """
    g = _check_gates(gates)
    if per_task:
        mass = g.sum(0)
        return mass / mass.sum(-1, keepdims=True)
    mass = g.sum((0, 1))
    return mass / mass.sum()


def dead_experts(gates: Any, fraction: float = DEAD_FRACTION) -> np.ndarray:
    """Indices of experts whose utilisation is below ``fraction / E`` (a fair share is ``1/E``).

    Args:
        gates: ``(B, T, E)`` gate weights.
        fraction: in [0, 1]; 0.1 by default (under a tenth of a fair share).

    Returns:
        a sorted int array of expert indices (empty if none).
    """
    check_number("fraction", fraction, 0, 1)
    util = expert_utilization(gates)
    return np.flatnonzero(util < fraction / util.size)


def js_divergence(p: Any, q: Any) -> float:
    """Jensen–Shannon divergence between two distributions, in bits (0 = equal, 1 = disjoint)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise invalid("q", f"a 1-D distribution of the same length as `p` {p.shape}", q, received=f"shape {q.shape}")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))

    return float(np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, 1.0))


def task_divergence(gates: Any) -> np.ndarray:
    """Jensen–Shannon divergence (bits) between every pair of tasks' mean gate distributions.

    Args:
        gates: ``(B, T, E)`` gate weights.

    Returns:
        symmetric ``(T, T)`` matrix with a zero diagonal, values in [0, 1]. Near 0: the tasks
        lean on the same experts (what OMoE forces); larger: each task has its own mix.
    """
    mean = gate_mean_std(gates)[0]
    t = mean.shape[0]
    out = np.zeros((t, t))
    for i in range(t):
        for j in range(i + 1, t):
            out[i, j] = out[j, i] = js_divergence(mean[i], mean[j])
    return out


def zero_activation_share(expert_outputs: Any) -> np.ndarray:
    """Share of each expert's activations that are exactly zero (inactive ReLU units).

    Args:
        expert_outputs: ``(B, E, U)`` expert activations (e.g. ``MMoE.expert_outputs(x)``).

    Returns:
        ``(E,)`` values in [0, 1]. An expert near 1 outputs (almost) nothing: a dead expert
        that no gate can use, whatever its weight.
    """
    a = check_ndim("expert_outputs", expert_outputs, 3, "(batch, experts, units)")
    return (a <= 0).mean((0, 2))


def importance_cv2(gates: Any) -> float:
    """The load-balancing loss ``Σ_t CV(importance_t)²`` (Shazeer et al., 2017), in numpy.

    ``importance_t[e] = Σ_batch gates[:, t, e]``; CV is the standard deviation over experts
    divided by the mean. Zero when every expert receives the same total weight; ``E - 1`` per
    task when a single expert receives all of it.

    Args:
        gates: ``(B, T, E)`` gate weights.

    Returns:
        a float ``>= 0``.
    """
    g = _check_gates(gates)
    importance = g.sum(0)  # (T, E)
    return float(np.sum(importance.var(-1) / (importance.mean(-1) ** 2 + 1e-10)))


def _task_names(t: int, names: Sequence[str] | None) -> list[str]:
    names = [f"task_{i}" for i in range(t)] if names is None else list(names)
    if len(names) != t:
        raise invalid("task_names", f"{t} names, one per task", names)
    return names


def summarize_gates(
    gates: Any,
    expert_outputs: Any | None = None,
    task_names: Sequence[str] | None = None,
    threshold: float = POLARIZATION_THRESHOLD,
) -> pd.DataFrame:
    """All scalar diagnostics, one row per task.

    Args:
        gates: ``(B, T, E)`` gate weights.
        expert_outputs: optional ``(B, E, U)`` activations for the zero-ReLU share.
        task_names: ``T`` names (default ``task_0, ...``).
        threshold: polarisation threshold.

    Returns:
        DataFrame indexed by task with columns ``entropy`` (normalised), ``polarization``,
        ``top_expert`` and ``top_weight`` (the expert with the largest mean weight, numbered
        ``1 … E`` as in the figures, and that weight), ``js_divergence`` (mean JS divergence to the other tasks; 0 for one task),
        ``dead_experts`` (count, same for every task), ``balance_cv2`` (this task's importance
        CV²) and, with ``expert_outputs``, ``zero_relu`` (mean zero-activation share over experts).
    """
    g = _check_gates(gates)
    t = g.shape[1]
    mean, _ = gate_mean_std(g)
    div = task_divergence(g)
    df = pd.DataFrame(
        {
            "entropy": normalized_entropy(g),
            "polarization": polarization_rate(g, threshold),
            "top_expert": mean.argmax(-1) + 1,
            "top_weight": mean.max(-1),
            "js_divergence": div.sum(1) / max(t - 1, 1),
            "dead_experts": len(dead_experts(g)),
            "balance_cv2": [importance_cv2(g[:, i : i + 1]) for i in range(t)],
        },
        index=pd.Index(_task_names(t, task_names), name="task"),
    )
    if expert_outputs is not None:
        df["zero_relu"] = float(zero_activation_share(expert_outputs).mean())
    return df


def gate_statistics(gates: Any, expert_names: Sequence[str], gate_names: Sequence[str]) -> pd.DataFrame:
    """Per gate and expert: mean ± std of the gate weight over samples (PLE paper, §5.3).

    Args:
        gates: ``(N, G, E)`` gate weights (e.g. a model's ``"gates"`` output on a probe set).
        expert_names: ``E`` labels.
        gate_names: ``G`` labels.

    Returns:
        DataFrame with columns ``gate, expert, mean, std``; experts a gate never uses (weight
        exactly 0 on every sample, e.g. another task's experts in CGC) are left out.
    """
    g = np.asarray(gates)
    if g.ndim != 3 or g.shape[1] != len(gate_names) or g.shape[2] != len(expert_names):
        raise invalid("gates", f"an array of shape (N, {len(gate_names)}, {len(expert_names)})", gates,
                      received=f"`gates` of shape {g.shape}")
    rows = []
    for i, gname in enumerate(gate_names):
        for j, ename in enumerate(expert_names):
            col = g[:, i, j]
            if np.all(col == 0):
                continue
            rows.append({"gate": gname, "expert": ename, "mean": float(col.mean()), "std": float(col.std())})
    return pd.DataFrame(rows)


def gate_table(gates: Any, task_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table, one row per (task, expert; experts numbered ``1 … E``): ``mean``, ``std`` and
    ``utilization`` (this task's share of gate mass on the expert). Feed it to the plots."""
    g = _check_gates(gates)
    mean, std = gate_mean_std(g)
    util = expert_utilization(g, per_task=True)
    names = _task_names(g.shape[1], task_names)
    rows = [
        {"task": names[i], "expert": e + 1, "mean": mean[i, e], "std": std[i, e], "utilization": util[i, e]}
        for i in range(g.shape[1])
        for e in range(g.shape[2])
    ]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- model wrappers


def find_mixture_layer(model: Any, name: str | None = None) -> Any:
    """The mixture-of-experts layer of ``model`` (or ``model`` itself if it is one).

    A mixture layer is any layer with ``gate_weights`` and ``expert_outputs`` methods (such as
    :class:`mmoe_lab.layers.MMoE`).

    Raises:
        ValueError: if there is none, or several and ``name`` does not pick one.
    """
    if hasattr(model, "gate_weights") and hasattr(model, "expert_outputs"):
        return model
    found = [lay for lay in getattr(model, "layers", []) if hasattr(lay, "gate_weights")]
    if name is not None:
        found = [lay for lay in found if lay.name == name]
    if len(found) != 1:
        raise invalid("model", f"a model with exactly one mixture-of-experts layer{f' named {name!r}' if name else ''}",
                      model, received=f"mixture layers {[lay.name for lay in found]}")
    return found[0]


def probe(model: Any, x: Any, layer_name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gate weights and expert activations of a model's mixture layer on a probe batch.

    The layer sees ``x`` directly, so this works for models whose mixture layer takes the
    model input (every model built by :func:`mmoe_lab.models.build_model`).

    Args:
        model: a Keras model containing one MMoE layer, or the layer itself (built).
        x: probe inputs ``(B, d)``.
        layer_name: which mixture layer, if there are several.

    Returns:
        ``gates (B, T, E)`` and ``expert_outputs (B, E, U)`` as numpy arrays (inference mode:
        no gate dropout).
    """
    layer = find_mixture_layer(model, layer_name)
    x = np.asarray(x, dtype="float32")
    gates = keras.ops.convert_to_numpy(layer.gate_weights(x, training=False))
    acts = keras.ops.convert_to_numpy(layer.expert_outputs(x))
    return gates, acts


def gate_report(model: Any, x: Any, task_names: Sequence[str] | None = None,
                layer_name: str | None = None) -> pd.DataFrame:
    """:func:`summarize_gates` of a model's mixture layer on the probe batch ``x``."""
    gates, acts = probe(model, x, layer_name)
    return summarize_gates(gates, acts, task_names)


# ----------------------------------------------------------------------------- the callback

class GateMonitor(keras.callbacks.Callback):
    """Record the gate diagnostics on a fixed probe batch after every epoch.

    Layout of :attr:`history` (a DataFrame): one row per (epoch, task). ``epoch`` 0 is the
    model before training (with ``include_initial=True``), epoch ``k`` the model after
    ``k`` epochs. Columns: ``epoch``, ``task``, the columns of
    :func:`summarize_gates` (``entropy``, ``polarization``, ``top_expert``,
    ``top_weight``, ``js_divergence``, ``dead_experts``, ``balance_cv2``, ``zero_relu``)
    and ``g0 .. g{E-1}``: that task's mean gate weight on each expert.

    Args:
        x_probe: probe inputs ``(B, d)``; a few hundred rows are plenty.
        task_names: ``T`` names (default ``task_0, ...``).
        include_initial: also record the untrained model as epoch 0.
        layer_name: which mixture layer, if the model has several.

    Example:
        >>> monitor = GateMonitor(x_test[:512])              # doctest: +SKIP
        >>> model.fit(x, y, epochs=5, callbacks=[monitor])  # doctest: +SKIP
        >>> monitor.history.query("task == 'task_0'")       # doctest: +SKIP
    """

    def __init__(self, x_probe: Any, task_names: Sequence[str] | None = None, *,
                 include_initial: bool = True, layer_name: str | None = None) -> None:
        super().__init__()
        self.x_probe = np.asarray(x_probe, dtype="float32")
        check_ndim("x_probe", self.x_probe, 2, "(batch, d)")
        self.task_names = task_names
        self.include_initial = include_initial
        self.layer_name = layer_name
        self._rows: list[dict[str, Any]] = []

    def record(self, epoch: int) -> pd.DataFrame:
        """Compute the diagnostics now and store them under ``epoch``."""
        gates, acts = probe(self.model, self.x_probe, self.layer_name)
        summary = summarize_gates(gates, acts, self.task_names)
        mean = gates.mean(0)
        for i, (task, row) in enumerate(summary.iterrows()):
            self._rows.append({"epoch": epoch, "task": task, **row.to_dict(),
                               **{f"g{e}": float(mean[i, e]) for e in range(mean.shape[1])}})
        return summary

    def on_train_begin(self, logs=None) -> None:
        self._rows = []
        if self.include_initial:
            self.record(0)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.record(epoch + 1)

    @property
    def history(self) -> pd.DataFrame:
        df = pd.DataFrame(self._rows)
        if not df.empty:
            df["epoch"] = df["epoch"].astype(int)
            df["top_expert"] = df["top_expert"].astype(int)
            df["dead_experts"] = df["dead_experts"].astype(int)
        return df
