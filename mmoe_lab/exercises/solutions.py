"""Reference solutions of the checked exercises, written the way a learner would: plain numpy.

Each function here *is* an exercise's answer: its signature and docstring are the learner's
starting point (:meth:`~mmoe_lab.exercises.Exercise.starter_source` keeps them and replaces the
body with ``raise NotImplementedError``), and its source is what
:meth:`~mmoe_lab.exercises.Exercise.solution` shows and the solutions-filled notebook run pastes.
So every function must stand alone: only ``np`` (numpy) from outside, no helper of this module.
Unit tests compare each with the kit's own code (``mmoe_lab.synthetic``, ``mmoe_lab.models``,
``mmoe_lab.layers``, ``mmoe_lab.diagnostics``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "pearson_spearman", "task_label", "shared_bottom_params", "matched_bottom_width", "gate_softmax",
    "one_gate_mix", "moe_params", "mmoe_forward", "gate_jsd", "normalise_to_p1", "relative_gap",
    "gate_entropy", "polarisation_rate", "REMEDY_FOR",
]


# ---- 01 · task correlation --------------------------------------------------------------------


def pearson_spearman(y1, y2):
    """Pearson and Spearman correlation of two label vectors.

    Args:
        y1, y2: labels of two tasks on the same samples, shape (n,).

    Returns:
        (pearson, spearman), two floats. Spearman is the Pearson correlation of the ranks.
    """
    def pearson(a, b):
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))

    def ranks(a):
        return np.argsort(np.argsort(a)).astype(float)

    y1, y2 = np.asarray(y1, dtype=float), np.asarray(y2, dtype=float)
    return pearson(y1, y2), pearson(ranks(y1), ranks(y2))


def task_label(x, w, alphas, betas):
    """The paper's label of one task, without noise: y = wᵀx + Σ_j sin(α_j·wᵀx + β_j).

    Args:
        x: inputs, shape (n, d).
        w: the task's weight vector, shape (d,).
        alphas, betas: the sine frequencies α_j and phases β_j, shape (m,) each.

    Returns:
        labels, shape (n,).
    """
    s = x @ w  # (n,): the projection wᵀx of every sample
    return s + np.sin(s[:, None] * alphas + betas).sum(axis=1)


# ---- 02 · shared-bottom -----------------------------------------------------------------------


def shared_bottom_params(d, bottom_units, tower_units, num_tasks):
    """Trainable parameters of the kit's shared-bottom model (every weight and bias).

    The model: input (d,) → one shared Dense(bottom_units, relu) → per task a tower
    Dense(tower_units, relu) → Dense(1). A Dense(n) layer on m inputs has m·n weights + n biases.

    Returns:
        the parameter count, an int.
    """
    bottom = (d + 1) * bottom_units
    tower = (bottom_units + 1) * tower_units + (tower_units + 1)
    return bottom + num_tasks * tower


def matched_bottom_width(budget, d, tower_units, num_tasks):
    """The shared-bottom width whose parameter count is closest to ``budget`` (at least 1).

    The count is linear in the width w: (d + 1)·w + T·(w·t + 2t + 1). Solve it for w, round to
    the nearest integer; a layer needs at least one unit. (This is how the kit matches
    shared-bottom to MMoE's budget.)

    Returns:
        the width, an int >= 1.
    """
    fixed = num_tasks * (2 * tower_units + 1)  # tower biases and output layers: no w in them
    per_unit = d + 1 + num_tasks * tower_units  # what one more bottom unit costs
    return max(1, round((budget - fixed) / per_unit))


# ---- 03 · one-gate mixture of experts ---------------------------------------------------------


def gate_softmax(logits):
    """Gate weights from gate logits: a softmax over the experts of each sample.

    Args:
        logits: shape (B, E), one row of expert scores per sample.

    Returns:
        weights, shape (B, E); every row is >= 0 and sums to 1. Must not overflow for large
        logits (softmax is unchanged when a constant is subtracted from a row).
    """
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def one_gate_mix(expert_outputs, gate):
    """Mix the experts with one gate: h = Σ_e g_e · f_e, per sample.

    Args:
        expert_outputs: shape (B, E, U), expert e's U outputs for each sample.
        gate: gate weights, shape (B, E), rows summing to 1.

    Returns:
        the mixture, shape (B, U).
    """
    return np.einsum("be,beu->bu", gate, expert_outputs)


def moe_params(d, num_experts, expert_units, tower_units, num_tasks, num_gates):
    """Trainable parameters of the kit's mixture model: OMoE (num_gates=1) or MMoE (num_gates=T).

    E experts Dense(U, relu) on the input, num_gates gates Dense(E, softmax) on the input, and
    per task a tower Dense(t, relu) → Dense(1) on its mixture (U,). Count weights and biases.

    Returns:
        the parameter count, an int.
    """
    experts = num_experts * (d + 1) * expert_units
    gates = num_gates * (d + 1) * num_experts
    towers = num_tasks * ((expert_units + 1) * tower_units + tower_units + 1)
    return experts + gates + towers


# ---- 04 · MMoE --------------------------------------------------------------------------------


def mmoe_forward(x, expert_kernel, expert_bias, gate_kernel, gate_bias, num_experts, num_tasks):
    """The forward pass of the kit's fused MMoE layer, in numpy.

    Args:
        x: inputs, shape (B, d).
        expert_kernel: shape (d, E·U); column e·U + u is expert e's unit u.
        expert_bias: shape (E·U,).
        gate_kernel: shape (d, G·E); column g·E + e is gate g's score of expert e. G = num_tasks
            (MMoE: one gate per task) or G = 1 (the one-gate MoE: every task gets gate 0).
        gate_bias: shape (G·E,).
        num_experts, num_tasks: E and T.

    Returns:
        a list of num_tasks arrays (B, U): task t's mixture Σ_e g_t(x)_e · relu(expert e).
    """
    batch = x.shape[0]
    experts = np.maximum(x @ expert_kernel + expert_bias, 0.0).reshape(batch, num_experts, -1)  # (B, E, U)
    logits = (x @ gate_kernel + gate_bias).reshape(batch, -1, num_experts)  # (B, G, E)
    logits = logits - logits.max(axis=-1, keepdims=True)
    gates = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)  # softmax over the experts
    if gates.shape[1] == 1:  # one gate: every task gets the same mixture
        gates = np.repeat(gates, num_tasks, axis=1)
    mixed = np.einsum("bte,beu->btu", gates, experts)  # (B, T, U)
    return [mixed[:, t] for t in range(num_tasks)]


def gate_jsd(g1, g2):
    """Jensen–Shannon divergence, in bits, between two tasks' mean gate distributions.

    Args:
        g1, g2: gate weights of task 1 and task 2 on the same samples, shape (B, E) each.

    Returns:
        a float in [0, 1]: 0 when both tasks put the same mean weight on every expert, 1 when
        they use disjoint experts. Terms with zero weight count as 0 (0·log 0 = 0).
    """
    p, q = g1.mean(axis=0), g2.mean(axis=0)
    m = (p + q) / 2

    def kl(a, b):
        used = a > 0
        return np.sum(a[used] * np.log2(a[used] / b[used]))

    return float((kl(p, m) + kl(q, m)) / 2)


# ---- 05 · correlation sweep -------------------------------------------------------------------


def normalise_to_p1(loss_by_p):
    """Each loss divided by the loss at p = 1 (identical tasks).

    Args:
        loss_by_p: a dict (or pandas Series) p → mean loss; contains p = 1.0, in any order.

    Returns:
        the same kind of mapping p → loss / loss at p = 1 (so the value at p = 1 is 1).
    """
    base = loss_by_p[1.0]
    if isinstance(loss_by_p, dict):
        return {p: loss / base for p, loss in loss_by_p.items()}
    return loss_by_p / base


def relative_gap(loss_omoe, loss_mmoe):
    """The OMoE gap (OMoE − MMoE) / OMoE: the share of OMoE's loss that one gate per task removes.

    Args:
        loss_omoe, loss_mmoe: losses of the two models, floats or arrays of the same shape
            (element i of both from the same setting).

    Returns:
        the gap, elementwise: positive when MMoE's loss is lower.
    """
    loss_omoe, loss_mmoe = np.asarray(loss_omoe, dtype=float), np.asarray(loss_mmoe, dtype=float)
    return (loss_omoe - loss_mmoe) / loss_omoe


# ---- 06 · gate collapse -----------------------------------------------------------------------


def gate_entropy(gates):
    """Normalised gate entropy H(g) / log E, averaged over samples, per task.

    Args:
        gates: gate weights, shape (B, T, E), every row (over E) summing to 1.

    Returns:
        shape (T,), values in [0, 1]: 1 = every sample's gate mixes all experts evenly,
        0 = every sample's gate puts all its weight on one expert. 0·log 0 counts as 0.
    """
    safe = np.where(gates > 0, gates, 1.0)  # log(1) = 0 where the weight is 0
    h = -(gates * np.log(safe)).sum(axis=-1)  # (B, T), in nats
    return (h / np.log(gates.shape[-1])).mean(axis=0)


def polarisation_rate(gates, threshold=0.99):
    """Share of samples whose largest gate weight exceeds ``threshold``, per task.

    Args:
        gates: gate weights, shape (B, T, E).
        threshold: a sample counts as polarised when its top weight is strictly above this.

    Returns:
        shape (T,), values in [0, 1].
    """
    return (gates.max(axis=-1) > threshold).mean(axis=0)


#: The answer of the value exercise ``remedy_for``: which remedy of ``collapse.REMEDIES`` removes
#: the polarisation of each cause of ``collapse.CAUSES``, as notebook 06 teaches it.
REMEDY_FOR: dict[str, Any] = {
    "healthy": "none",
    "gate_init": "temperature",
    "heavy_tail": "log_transform",
    "high_lr": "temperature",
}
