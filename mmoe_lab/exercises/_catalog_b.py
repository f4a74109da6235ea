"""Exercises of notebooks 04–06: their inputs, their known mistakes and their texts."""

from __future__ import annotations

import numpy as np

from . import solutions as S
from ._core import ArrayList, Case, Floats, FunctionExercise, Mapping, Mistake
from ._remedy import REMEDY_FOR

__all__ = ["EXERCISES"]


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


# ---- 04 · mmoe_forward ------------------------------------------------------------------------


def _mmoe_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, d, e, u, t, g in ((6, 5, 4, 3, 2, 2), (4, 3, 3, 2, 3, 3), (5, 4, 3, 2, 2, 1), (3, 6, 5, 4, 3, 1),
                             (7, 2, 2, 5, 2, 2)):
        x = rng.normal(size=(b, d))
        weights = (rng.normal(size=(d, e * u)), 0.5 * rng.normal(size=e * u),
                   1.5 * rng.normal(size=(d, g * e)), 0.5 * rng.normal(size=g * e))
        cases.append(Case((x, *weights, e, t), label="one gate, num_gates = 1" if g == 1 else ""))
    return cases


def _mmoe(x, ek, eb, gk, gb, E, T, *, expert_major=True, gate_major=True, axis=-1, relu="experts",
          shared_gate=False, softmax=True, reverse=False):
    B = x.shape[0]
    h = x @ ek + eb
    if relu == "experts":
        h = np.maximum(h, 0.0)
    experts = h.reshape(B, E, -1) if expert_major else h.reshape(B, -1, E).transpose(0, 2, 1)
    z = x @ gk + gb
    logits = z.reshape(B, -1, E) if gate_major else z.reshape(B, E, -1).transpose(0, 2, 1)
    gates = _softmax(logits, axis) if softmax else logits
    if gates.shape[1] == 1 or shared_gate:
        gates = np.repeat(gates[:, :1], T, axis=1)
    if reverse:
        gates = gates[:, ::-1]
    mixed = np.einsum("bte,beu->btu", gates, experts)
    if relu == "mix":
        mixed = np.maximum(mixed, 0.0)
    return [mixed[:, t] for t in range(T)]


MMOE_FORWARD = FunctionExercise(
    "mmoe_forward", "04_mmoe",
    "the fused MMoE layer's forward pass in numpy (one-gate MoE with num_gates = 1)",
    "**Exercise (checked).** Write MMoE's forward pass in numpy, with the kernels in the layout of "
    "`mmoe_lab.layers.MMoE`: `mmoe_forward(x, expert_kernel, expert_bias, gate_kernel, gate_bias, "
    "num_experts, num_tasks)` returns one (B, U) mixture per task. Given one gate's weights "
    "(`gate_kernel` of width E) it must be the one-gate MoE.",
    "experts: relu(x @ expert_kernel + expert_bias) reshaped to (B, E, U) (column e·U + u is expert e's "
    "unit u). Gates: x @ gate_kernel + gate_bias reshaped to (B, G, E), softmax over the last axis; with "
    "G = 1 repeat that gate for every task. Task t: np.einsum(\"be,beu->bu\", gates[:, t], experts).",
    reference=S.mmoe_forward, make_cases=_mmoe_cases, output=ArrayList("one mixture per task", "(B, U)"),
    mistakes=[
        Mistake(lambda *a: _mmoe(*a, expert_major=False),
                "the expert kernel's columns are expert-major: column e·U + u is expert e's unit u, so "
                "reshape (B, E·U) to (B, E, U)"),
        Mistake(lambda *a: _mmoe(*a, gate_major=False),
                "the gate kernel's columns are gate-major: column g·E + e is gate g's score of expert e, so "
                "reshape (B, G·E) to (B, G, E)"),
        Mistake(lambda *a: _mmoe(*a, axis=0),
                "your gate weights sum to 1 over the batch, not over the experts: softmax along the experts axis"),
        Mistake(lambda *a: _mmoe(*a, axis=1),
                "your gate weights sum to 1 over the tasks (the gates), not over the experts: softmax along "
                "the experts axis"),
        Mistake(lambda *a: _mmoe(*a, shared_gate=True),
                "both towers get the same mix: that is the one-gate MoE; with G = num_tasks gates, task t is "
                "mixed by gate t"),
        Mistake(lambda *a: _mmoe(*a, reverse=True),
                "your tasks swapped gates: task t is mixed by gate t (gate-kernel columns t·E … t·E + E − 1)"),
        Mistake(lambda *a: _mmoe(*a, relu="none"),
                "the experts are ReLU layers: apply max(0, ·) to x @ expert_kernel + expert_bias"),
        Mistake(lambda *a: _mmoe(*a, relu="mix"),
                "the ReLU belongs to each expert, before the mix, not to the mixture"),
        Mistake(lambda *a: _mmoe(*a, softmax=False),
                "you mixed with the raw gate logits: the gate weights are their softmax over the experts"),
    ],
    seed=401,
)


# ---- 04 · gate_jsd ----------------------------------------------------------------------------


def _jsd_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, e in ((50, 4), (20, 8), (100, 3)):
        g1 = _softmax(rng.normal(0.0, 1.5, size=(b, e)) + rng.normal(0.0, 1.0, size=e))
        g2 = _softmax(rng.normal(0.0, 1.5, size=(b, e)) + rng.normal(0.0, 1.0, size=e))
        cases.append(Case((g1, g2)))
    b, e = 30, 5
    g1 = np.zeros((b, e))
    g1[:, 1:] = _softmax(rng.normal(0.0, 2.0, size=(b, e - 1)))  # task 1 never uses expert 0
    g2 = _softmax(rng.normal(0.0, 2.0, size=(b, e)))
    cases.append(Case((g1, g2), label="task 1 never uses expert 0"))
    return cases


def _kl2(a: np.ndarray, b: np.ndarray) -> float:
    used = a > 0
    return float(np.sum(a[used] * np.log2(a[used] / b[used])))


def _jsd_means(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return (_kl2(p, m) + _kl2(q, m)) / 2


def _jsd_naive(g1, g2):
    p, q = g1.mean(0), g2.mean(0)
    m = (p + q) / 2
    return float((np.sum(p * np.log2(p / m)) + np.sum(q * np.log2(q / m))) / 2)


_SCIPY = ("that is scipy's Jensen–Shannon *distance*: the square root of the divergence (and in nats by "
          "default); the kit uses the divergence in bits, jensenshannon(p, q, base=2) ** 2")

_KL = ("that is the Kullback–Leibler divergence KL(p‖q): JS compares each distribution with their midpoint "
       "m = (p + q)/2 and averages the two")

GATE_JSD = FunctionExercise(
    "gate_jsd", "04_mmoe",
    "Jensen–Shannon divergence (bits) between two tasks' mean gate distributions",
    "**Exercise (checked).** How differently do two tasks use the experts? Write `gate_jsd(g1, g2)`: the "
    "Jensen–Shannon divergence, in bits, between the two tasks' mean gate distributions (what "
    "`diagnostics.task_divergence` reports).",
    "p = g1.mean(axis=0) and q = g2.mean(axis=0) are the mean gates; m = (p + q) / 2; "
    "JS = ½·KL(p‖m) + ½·KL(q‖m) with KL(a‖b) = Σ a·log2(a / b) over the experts where a > 0.",
    reference=S.gate_jsd, make_cases=_jsd_cases, output=Floats("a divergence in bits"),
    mistakes=[
        Mistake(lambda g1, g2: S.gate_jsd(g1, g2) * np.log(2),
                "that is in nats (natural log): the kit's divergence is in bits, log base 2, between 0 and 1"),
        Mistake(lambda g1, g2: _kl2(g1.mean(0), g2.mean(0)), _KL),
        Mistake(lambda g1, g2: float(np.sum(g1.mean(0) * np.log2(g1.mean(0) / g2.mean(0)))), _KL),
        Mistake(lambda g1, g2: 2 * S.gate_jsd(g1, g2),
                "twice the JS divergence: average the two KL terms, ½·KL(p‖m) + ½·KL(q‖m)"),
        Mistake(lambda g1, g2: np.sqrt(S.gate_jsd(g1, g2)), _SCIPY),
        Mistake(lambda g1, g2: np.sqrt(S.gate_jsd(g1, g2) * np.log(2)), _SCIPY),
        Mistake(lambda g1, g2: float(np.mean([_jsd_means(a, b) for a, b in zip(g1, g2, strict=True)])),
                "you averaged per-sample divergences: the kit compares the tasks' *mean* gate distributions "
                "(average over the samples first)"),
        Mistake(_jsd_naive,
                "0·log 0 gave NaN: an expert with zero weight contributes 0; sum only over weights > 0"),
        Mistake(lambda g1, g2: _jsd_means(g1.mean(1) / g1.mean(1).sum(), g2.mean(1) / g2.mean(1).sum()),
                "you averaged over the experts axis: the mean gate distribution averages over the samples, "
                "axis=0, and keeps one weight per expert"),
    ],
    seed=402, rtol=1e-6, atol=1e-9,
)


# ---- 05 · normalise_to_p1 ---------------------------------------------------------------------


def _norm_cases(rng: np.random.Generator) -> list[Case]:
    import pandas as pd  # the notebooks hold losses in pandas; only this exercise's inputs need it

    def losses(ps):
        return [float(v) for v in rng.uniform(0.05, 1.0, size=len(ps))]

    cases = [Case(({p: v for p, v in zip(ps, losses(ps), strict=True)},))
             for ps in ((0.0, 0.25, 0.5, 0.75, 1.0), (1.0, 0.9, 0.5), (0.5, 1.0, 0.0, 0.7))]
    for ps in ((0.5, 0.9, 1.0), (1.0, 0.7, 0.3, 0.0)):
        cases.append(Case((pd.Series(losses(ps), index=pd.Index(ps, name="p"), name="loss"),), label="a Series"))
    return cases


def _norm_by(how):
    def variant(loss_by_p):
        items = [(float(p), float(v)) for p, v in loss_by_p.items()]
        values = [v for _, v in items]
        base = {"last": values[-1], "first": values[0], "min": min(values), "max": max(values),
                "mean": float(np.mean(values))}.get(how, dict(items)[1.0])
        if how == "inverted":
            return {p: base / v for p, v in items}
        if how == "difference":
            return {p: v - base for p, v in items}
        return {p: v / base for p, v in items}

    return variant


NORMALISE_TO_P1 = FunctionExercise(
    "normalise_to_p1", "05_correlation_sweep",
    "each loss divided by the loss at p = 1 (a dict or Series p → loss)",
    "**Exercise (checked).** To compare how each model degrades as tasks diverge, divide its losses by "
    "its loss at p = 1: `normalise_to_p1(loss_by_p)` takes a dict or pandas Series p → mean loss (in "
    "any order) and returns the same kind of mapping p → loss / loss at p = 1.",
    "look the reference up by its key, loss_by_p[1.0], not by its position: the input may be in any "
    "order. A Series divides at once (loss_by_p / base); for a dict use {p: v / base for p, v in "
    "loss_by_p.items()}.",
    reference=S.normalise_to_p1, make_cases=_norm_cases, output=Mapping("normalised loss"),
    mistakes=[
        Mistake(_norm_by("last"), "you divided by the last entry, but the input is in any order: look the loss "
                                  "at p = 1 up by its key, loss_by_p[1.0]"),
        Mistake(_norm_by("first"), "you divided by the first entry, but the input is in any order: look the "
                                   "loss at p = 1 up by its key, loss_by_p[1.0]"),
        Mistake(_norm_by("inverted"), "upside down: divide each loss by the loss at p = 1, not the other way "
                                      "round"),
        Mistake(_norm_by("min"), "you divided by the smallest loss; the reference point is p = 1, whatever its "
                                 "loss"),
        Mistake(_norm_by("max"), "you divided by the largest loss; the reference point is p = 1, whatever its "
                                 "loss"),
        Mistake(_norm_by("mean"), "you divided by the mean loss; the reference point is the loss at p = 1"),
        Mistake(_norm_by("difference"), "that is a difference: normalising divides, loss / loss at p = 1"),
    ],
    seed=501,
)


# ---- 05 · relative_gap ------------------------------------------------------------------------


def _gap_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape in ((5,), (3,), (2, 3)):
        omoe = rng.uniform(0.05, 1.0, size=shape)
        mmoe = omoe * (1 - rng.uniform(-0.2, 0.5, size=shape))
        cases.append(Case((omoe, mmoe)))
    cases.append(Case((0.2, 0.15), label="two floats"))
    return cases


def _gap(how):
    def variant(o, m):
        o, m = np.asarray(o, dtype=float), np.asarray(m, dtype=float)
        return {"by_mmoe": (o - m) / m, "flipped": (m - o) / o, "absolute": o - m, "ratio": m / o,
                "percent": 100 * (o - m) / o, "mean": np.mean((o - m) / o)}[how]

    return variant


RELATIVE_GAP = FunctionExercise(
    "relative_gap", "05_correlation_sweep",
    "the OMoE gap (OMoE − MMoE) / OMoE, elementwise",
    "**Exercise (checked).** Write the OMoE gap the tables report: `relative_gap(loss_omoe, loss_mmoe)` "
    "returns (OMoE − MMoE) / OMoE elementwise, for floats or arrays.",
    "np.asarray both (so floats, lists and arrays all work), subtract, then divide by OMoE's loss: the "
    "gap is the share of OMoE's loss that a gate per task removes.",
    reference=S.relative_gap, make_cases=_gap_cases, output=Floats("gaps"),
    mistakes=[
        Mistake(_gap("by_mmoe"), "you divided by MMoE's loss: the gap is relative to OMoE's, (OMoE − MMoE) / OMoE"),
        Mistake(_gap("flipped"), "the sign is flipped: the gap is positive when MMoE's loss is lower, OMoE − MMoE "
                                 "on top"),
        Mistake(_gap("absolute"), "that is the absolute gap OMoE − MMoE: divide it by OMoE's loss"),
        Mistake(_gap("ratio"), "that is the ratio MMoE / OMoE: the gap is 1 − MMoE / OMoE"),
        Mistake(_gap("percent"), "×100: the kit reports the gap as a fraction (0.12), not a percentage"),
        Mistake(_gap("mean"), "elementwise: one gap per setting, not their mean"),
    ],
    seed=502,
)


# ---- 06 · gate_entropy and polarisation_rate --------------------------------------------------


def _gates(rng: np.random.Generator, b: int, t: int, e: int) -> np.ndarray:
    scale = rng.choice([0.3, 3.0, 30.0], size=(b, t, 1))
    return _softmax(rng.normal(size=(b, t, e)) * scale)


def _entropy_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case((_gates(rng, b, t, e),)) for b, t, e in ((40, 2, 8), (25, 3, 4), (60, 2, 2))]
    g = _gates(rng, 30, 2, 5)
    g[:10, 0] = np.eye(5)[rng.integers(0, 5, size=10)]  # one-hot rows: weights exactly 0
    cases.append(Case((g,), label="one-hot rows"))
    return cases


def _h(g: np.ndarray, log=np.log) -> np.ndarray:
    safe = np.where(g > 0, g, 1.0)
    return -(g * log(safe)).sum(-1)


GATE_ENTROPY = FunctionExercise(
    "gate_entropy", "06_gate_collapse",
    "normalised gate entropy H / log E, averaged over samples, per task",
    "**Exercise (checked).** Write the entropy diagnostic: `gate_entropy(gates)` takes gate weights "
    "(B, T, E) and returns, per task, the mean over samples of H(g) / log E (what "
    "`diagnostics.normalized_entropy` reports).",
    "per sample and task H = −Σ_e g·log g over the experts (axis=-1), with 0·log 0 = 0 "
    "(np.where(g > 0, g, 1) inside the log); divide by np.log(E); then average over the samples, axis=0.",
    reference=S.gate_entropy, make_cases=_entropy_cases, output=Floats("entropies", "(T,)"),
    mistakes=[
        Mistake(lambda g: _h(g).mean(0),
                "that is the entropy in nats: divide by log E, so that a uniform gate scores 1"),
        Mistake(lambda g: (_h(g) / np.log2(g.shape[-1])).mean(0),
                "mixed log bases: H and log E must use the same base (their ratio is then base-free)"),
        Mistake(lambda g: _h(g.mean(0)) / np.log(g.shape[-1]),
                "that is the entropy of the *mean* gate; the kit averages each sample's entropy (a gate can be "
                "sharp on every sample yet even on average)"),
        Mistake(lambda g: -(_h(g) / np.log(g.shape[-1])).mean(0),
                "entropy is −Σ g·log g: you lost the minus sign"),
        Mistake(lambda g: (_h(g) / g.shape[-1] / np.log(g.shape[-1])).mean(0),
                "you averaged −g·log g over the experts; the entropy sums it over them"),
        Mistake(lambda g: float((_h(g) / np.log(g.shape[-1])).mean()),
                "one value per task: average over the samples only (axis=0), shape (T,)"),
        Mistake(lambda g: _h(g) / np.log(g.shape[-1]),
                "average over the samples: return one value per task, shape (T,)"),
        Mistake(lambda g: (-(g * np.log(g)).sum(-1) / np.log(g.shape[-1])).mean(0),
                "0·log 0 gave NaN: a zero weight contributes 0 (e.g. np.where(g > 0, g, 1) inside the log)"),
    ],
    seed=601,
)


def _polar_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, t, e, thr in ((50, 2, 8, None), (30, 3, 4, 0.9), (40, 2, 3, 0.5), (20, 2, 6, None)):
        g = _gates(rng, b, t, e)
        level = 0.99 if thr is None else thr
        for i in range(0, b, 7):  # some samples exactly at the threshold
            g[i, 0] = 0.0
            g[i, 0, i % e], g[i, 0, (i + 1) % e] = level, 1 - level
        cases.append(Case((g,), {} if thr is None else {"threshold": thr},
                          label="" if thr is None else f"threshold = {thr}"))
    return cases


def _polar(how):
    def variant(gates, threshold=0.99):
        top = gates.max(-1)
        return {"ge": (top >= threshold).mean(0), "fixed": (top > 0.99).mean(0), "count": (top > threshold).sum(0),
                "all": float((top > threshold).mean()), "batch": (gates.max(0) > threshold).mean(-1),
                "mean": (gates.mean(-1) > threshold).mean(0)}[how]

    return variant


POLARISATION_RATE = FunctionExercise(
    "polarisation_rate", "06_gate_collapse",
    "share of samples whose largest gate weight exceeds a threshold, per task",
    "**Exercise (checked).** Write the polarisation diagnostic: `polarisation_rate(gates, threshold=0.99)` "
    "returns, per task, the share of samples whose largest gate weight is above `threshold` (what "
    "`diagnostics.polarization_rate` reports).",
    "gates.max(axis=-1) is each sample's top weight per task, shape (B, T); compare it with threshold "
    "(strictly: >) and average the booleans over the samples, axis=0.",
    reference=S.polarisation_rate, make_cases=_polar_cases, output=Floats("rates", "(T,)"),
    mistakes=[
        Mistake(_polar("ge"), "the kit counts a sample when its top weight is strictly above the threshold "
                              "(>); you used ≥"),
        Mistake(_polar("fixed"), "you ignored the `threshold` argument: compare with it, not with 0.99"),
        Mistake(_polar("count"), "that is the number of polarised samples; the rate is their share (a mean over "
                                 "the samples)"),
        Mistake(_polar("all"), "one rate per task: average over the samples only (axis=0), shape (T,)"),
        Mistake(_polar("batch"), "you took the largest weight over the batch; the kit takes each sample's "
                                 "largest weight over the experts (axis=-1)"),
        Mistake(_polar("mean"), "compare each sample's *largest* weight with the threshold, not its mean "
                                "weight (which is always 1/E)"),
    ],
    seed=602,
)


EXERCISES = [MMOE_FORWARD, GATE_JSD, NORMALISE_TO_P1, RELATIVE_GAP, GATE_ENTROPY, POLARISATION_RATE, REMEDY_FOR]
