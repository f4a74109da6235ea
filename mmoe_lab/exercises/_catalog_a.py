"""Exercises of notebooks 01–03: their inputs, their known mistakes and their texts."""

from __future__ import annotations

import math

import numpy as np

from . import solutions as S
from ._core import Case, Floats, FunctionExercise, Integer, Mistake, Pair

__all__ = ["EXERCISES"]


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ---- 01 · pearson_spearman --------------------------------------------------------------------


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _rank(a: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(a)).astype(float)


def _corr_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, rho, link in ((60, 0.7, "exp"), (200, 0.4, "cube"), (31, -0.6, "exp"), (500, 0.9, "cube"),
                         (80, 0.2, "exp")):
        a = rng.normal(size=n)
        b = rho * a + math.sqrt(1 - rho**2) * rng.normal(size=n)
        y1 = 2.0 + 1.5 * a
        y2 = np.exp(1.2 * b) + 1.0 if link == "exp" else b**3 - 0.5
        cases.append(Case((y1, y2)))
    return cases


def _ps_swapped(y1, y2):
    p, s = S.pearson_spearman(y1, y2)
    return s, p


def _ps_no_ranks(y1, y2):
    p = _pearson(y1, y2)
    return p, p


def _ps_argsort_once(y1, y2):
    return _pearson(y1, y2), _pearson(np.argsort(y1).astype(float), np.argsort(y2).astype(float))


def _ps_cosine(y1, y2):
    return _cosine(y1, y2), _cosine(_rank(y1), _rank(y2))


def _ps_cosine_pearson_only(y1, y2):
    return _cosine(y1, y2), _pearson(_rank(y1), _rank(y2))


def _ps_covariance(y1, y2):
    return float(np.cov(y1, y2)[0, 1]), float(np.cov(_rank(y1), _rank(y2))[0, 1])


def _ps_covariance_biased(y1, y2):
    return float(np.cov(y1, y2, ddof=0)[0, 1]), float(np.cov(_rank(y1), _rank(y2), ddof=0)[0, 1])


def _ps_ddof_mix(y1, y2):
    def r(a, b):
        return float(np.cov(a, b)[0, 1] / (a.std() * b.std()))

    return r(y1, y2), r(_rank(y1), _rank(y2))


_COSINE = ("you forgot to subtract the means: that is the cosine of the two label vectors, not their "
           "correlation (the paper's p is a cosine between weight vectors; the label correlation is centred)")
_COVARIANCE = "that is the covariance: divide it by both standard deviations to get a correlation"

PEARSON_SPEARMAN = FunctionExercise(
    "pearson_spearman", "01_task_correlation",
    "Pearson and Spearman correlation of two label vectors",
    "**Exercise (checked).** Write `pearson_spearman(y1, y2)`: the Pearson correlation of two "
    "label vectors, and their Spearman correlation (the Pearson correlation of their ranks).",
    "centre each vector (subtract its mean), then r = Σ a·b / √(Σa²·Σb²). The rank of each value is "
    "np.argsort(np.argsort(y)): argsort once gives the order that sorts y, not the ranks.",
    reference=S.pearson_spearman, make_cases=_corr_cases, output=Pair(("pearson", "spearman")),
    mistakes=[
        Mistake(_ps_swapped, "you returned (spearman, pearson): the order is (pearson, spearman)"),
        Mistake(_ps_no_ranks, "your Spearman equals your Pearson: Spearman is the Pearson correlation of "
                              "the *ranks* of y1 and y2"),
        Mistake(_ps_argsort_once, "np.argsort gives the order that sorts the array, not each value's rank: "
                                  "apply it twice, np.argsort(np.argsort(y))"),
        Mistake(_ps_cosine, _COSINE),
        Mistake(_ps_cosine_pearson_only, _COSINE),
        Mistake(_ps_covariance, _COVARIANCE),
        Mistake(_ps_covariance_biased, _COVARIANCE),
        Mistake(_ps_ddof_mix, "off by a factor n/(n − 1): np.cov divides by n − 1 but .std() by n; use the "
                              "same ddof for both (or np.corrcoef)"),
    ],
    seed=101, rtol=1e-6, atol=1e-9,
)


# ---- 01 · task_label --------------------------------------------------------------------------


def _label_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, d, m in ((7, 5, 4), (20, 3, 10), (3, 10, 1), (50, 4, 6)):
        x = rng.normal(size=(n, d))
        w = 0.5 * rng.normal(size=d)
        alphas = rng.normal(0.0, 2.0, size=m)
        betas = rng.uniform(0.0, 2 * np.pi, size=m)
        cases.append(Case((x, w, alphas, betas)))
    return cases


def _tl_sines(x, w, alphas, betas, f=np.sin, outer=True):
    s = x @ w
    arg = s[:, None] * alphas + betas if outer else alphas * (s[:, None] + betas)
    return f(arg).sum(axis=1)


TASK_LABEL = FunctionExercise(
    "task_label", "01_task_correlation",
    "the paper's label y = wᵀx + Σ_j sin(α_j·wᵀx + β_j) of one task (no noise)",
    "**Exercise (checked).** Write the generator's label function for one task, without noise: "
    "`task_label(x, w, alphas, betas)` returns y = wᵀx + Σ_j sin(α_j·wᵀx + β_j) for every row of `x`.",
    "first the projection s = x @ w (shape (n,)); then s[:, None] * alphas + betas has shape (n, m): one "
    "column per sine. Sum the sines over that axis and add s.",
    reference=S.task_label, make_cases=_label_cases, output=Floats("labels", "(n,)"),
    mistakes=[
        Mistake(lambda x, w, a, b: _tl_sines(x, w, a, b),
                "the linear term is missing: the label starts with wᵀx itself, then adds the sines"),
        Mistake(lambda x, w, a, b: x @ w,
                "only the linear term: add the sines, Σ_j sin(α_j·wᵀx + β_j), that make the tasks nonlinear"),
        Mistake(lambda x, w, a, b: x @ w + np.sin((x @ w)[:, None] * a + b).mean(axis=1),
                "you averaged the sines; the label sums them (Σ_j, not the mean over j)"),
        Mistake(lambda x, w, a, b: x @ w + np.sin((x @ w)[:, None] * a).sum(axis=1),
                "the phases β_j are missing: each sine is sin(α_j·wᵀx + β_j)"),
        Mistake(lambda x, w, a, b: x @ w + np.sin((x @ w)[:, None] + b).sum(axis=1),
                "the frequencies α_j are missing: α_j multiplies wᵀx inside each sine"),
        Mistake(lambda x, w, a, b: x @ w + _tl_sines(x, w, a, b, outer=False),
                "the phase is added after the frequency: sin(α_j·wᵀx + β_j), not sin(α_j·(wᵀx + β_j))"),
        Mistake(lambda x, w, a, b: x @ w + _tl_sines(x, w, a, b, f=np.cos),
                "that is a cosine: the paper's label uses sines"),
        Mistake(lambda x, w, a, b: x @ w + np.sin(x.sum(axis=1)[:, None] * a + b).sum(axis=1),
                "the sines take the projection wᵀx, not the plain sum of x's features"),
    ],
    seed=102,
)


# ---- 02 · shared_bottom_params ----------------------------------------------------------------


def _sb_cases(rng: np.random.Generator) -> list[Case]:
    fixed = [(100, 113, 8, 2), (20, 16, 8, 2), (10, 4, 3, 3)]
    drawn = [(int(rng.integers(3, 120)), int(rng.integers(2, 64)), int(rng.integers(2, 16)), int(rng.integers(2, 5)))
             for _ in range(3)]
    return [Case(c) for c in fixed + drawn]


def _sb_tower(w: int, t: int) -> int:
    return (w + 1) * t + t + 1


SHARED_BOTTOM_PARAMS = FunctionExercise(
    "shared_bottom_params", "02_shared_bottom",
    "parameter count of the kit's shared-bottom model (weights and biases)",
    "**Exercise (checked).** Count the shared-bottom model's trainable parameters: "
    "`shared_bottom_params(d, bottom_units, tower_units, num_tasks)`. Then compare with "
    "`build_model(\"shared_bottom\", ...).count_params()`.",
    "a Dense(n) layer on m inputs has m·n weights and n biases. The model has one bottom Dense(w) on "
    "the d inputs and, per task, a Dense(t) on the w bottom units and a Dense(1) on the t tower units.",
    reference=S.shared_bottom_params, make_cases=_sb_cases, output=Integer("a parameter count"),
    mistakes=[
        Mistake(lambda d, w, t, T: d * w + T * (w * t + t),
                "you left out the biases: a Dense(n) layer on m inputs has m·n weights *and* n biases"),
        Mistake(lambda d, w, t, T: (d + 1) * w + T * ((w + 1) * t),
                "each tower ends in a Dense(1) output layer: t weights + 1 bias per task are missing"),
        Mistake(lambda d, w, t, T: (d + 1) * w + _sb_tower(w, t),
                "there is one tower per task: multiply the tower's count by num_tasks"),
        Mistake(lambda d, w, t, T: T * ((d + 1) * w + _sb_tower(w, t)),
                "the bottom is shared: count it once, not once per task"),
        Mistake(lambda d, w, t, T: (d + 1) * w + T * (w + 1),
                "each task has a hidden tower layer Dense(tower_units) between the bottom and its output"),
        Mistake(lambda d, w, t, T: d * w + T * (w * t + t + 1),
                "the bottom layer has biases too: (d + 1)·bottom_units"),
    ],
    seed=201,
)


# ---- 02 · matched_bottom_width ----------------------------------------------------------------


def _mixture_count(d: int, E: int, U: int, t: int, T: int) -> int:
    return E * (d + 1) * U + T * (d + 1) * E + T * ((U + 1) * t + t + 1)


def _width_cases(rng: np.random.Generator) -> list[Case]:
    configs = [(100, 8, 16, 8, 2), (20, 8, 16, 8, 2), (10, 4, 8, 4, 3)]
    cases = [Case((_mixture_count(d, E, U, t, T), d, t, T)) for d, E, U, t, T in configs]
    while len(cases) < 7:  # random budgets, never exactly halfway between two widths
        d, t, T = int(rng.integers(3, 60)), int(rng.integers(2, 12)), int(rng.integers(2, 4))
        budget = int(rng.integers(T * (2 * t + 1) + 1, 6000))
        frac = ((budget - T * (2 * t + 1)) / (d + 1 + T * t)) % 1
        if abs(frac - 0.5) > 0.05:
            cases.append(Case((budget, d, t, T)))
    cases.append(Case((30, 10, 8, 2), label="a budget too small for any width"))
    return cases


def _mw(budget, d, t, T, how=round, clamp=True, per=None, fixed=None):
    fixed = T * (2 * t + 1) if fixed is None else fixed
    per = d + 1 + T * t if per is None else per
    w = int(how((budget - fixed) / per))
    return max(1, w) if clamp else w


_FLOOR = ("you rounded down (floor, // and int() drop the fraction): the kit takes the width whose count is "
          "*closest* to the budget, round()")
_CEIL = "you rounded up: the kit takes the width whose count is *closest* to the budget, round(), not ceil"

MATCHED_BOTTOM_WIDTH = FunctionExercise(
    "matched_bottom_width", "02_shared_bottom",
    "the shared-bottom width whose parameter count is closest to a budget",
    "**Exercise (checked).** The kit gives shared-bottom the same parameter budget as MMoE. Write "
    "`matched_bottom_width(budget, d, tower_units, num_tasks)`: the bottom width (at least 1) whose "
    "parameter count is closest to `budget`.",
    "write the count as fixed + per_unit·w: every bottom unit costs d + 1 (its weights and bias) plus "
    "tower_units weights in each of the T towers; the towers' biases and outputs, T·(2t + 1), do not "
    "depend on w. Then w = round((budget − fixed) / per_unit), at least 1.",
    reference=S.matched_bottom_width, make_cases=_width_cases, output=Integer("a layer width"),
    mistakes=[
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=math.floor), _FLOOR),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=math.floor, clamp=False), _FLOOR),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=int), _FLOOR),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=int, clamp=False), _FLOOR),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=math.ceil), _CEIL),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, how=math.ceil, clamp=False), _CEIL),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, clamp=False),
                "a layer needs at least one unit: when the budget is too small for any width, return 1 "
                "(max(1, …))"),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, per=d + 1),
                "one more bottom unit also adds tower_units weights to every tower: it costs "
                "d + 1 + num_tasks·tower_units parameters, not d + 1"),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, fixed=0),
                "the towers' biases and output layers, num_tasks·(2·tower_units + 1) parameters, do not "
                "depend on the width: subtract them from the budget first"),
        Mistake(lambda b, d, t, T: _mw(b, d, t, T, per=d + T * t, fixed=T * t),
                "count the biases too: a bottom unit costs d + 1 + num_tasks·tower_units, and the towers "
                "add num_tasks·(2·tower_units + 1)"),
    ],
    seed=202,
)


# ---- 03 · gate_softmax ------------------------------------------------------------------------


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case((rng.normal(0.0, s, size=shape),)) for shape, s in (((5, 4), 1.0), ((3, 8), 3.0),
                                                                      ((6, 2), 0.5), ((1, 5), 2.0))]
    big = rng.normal(size=(4, 3)) + np.array([[800.0], [-800.0], [0.0], [400.0]])
    cases.append(Case((big,), label="large logits"))
    return cases


def _naive_softmax(z, axis=-1):
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


_OVER_BATCH = "your gate weights sum to 1 over the batch, not over the experts: normalise along axis=-1"

GATE_SOFTMAX = FunctionExercise(
    "gate_softmax", "03_one_gate_moe",
    "the gate's softmax over the experts, (B, E) logits → weights",
    "**Exercise (checked).** Turn gate logits into gate weights: `gate_softmax(logits)` takes a "
    "(B, E) array of scores and returns, for each sample, a softmax over the E experts.",
    "softmax(z)_e = exp(z_e) / Σ_e' exp(z_e'), along axis=-1 (the experts) with keepdims=True. Subtract "
    "each row's max first: exp(800) overflows, and the result does not change.",
    reference=S.gate_softmax, make_cases=_softmax_cases, output=Floats("gate weights", "(B, E)"),
    mistakes=[
        Mistake(lambda z: _softmax_rows(z.T).T, _OVER_BATCH),
        Mistake(lambda z: _naive_softmax(z, axis=0), _OVER_BATCH),
        Mistake(lambda z: z / z.sum(axis=-1, keepdims=True),
                "you normalised the logits without exp: softmax is exp(z) / Σ exp(z), so every weight is "
                "positive"),
        Mistake(lambda z: _softmax_rows(z.reshape(1, -1)).reshape(z.shape),
                "your weights sum to 1 over the whole array: each sample's row (the experts) must sum to 1"),
        Mistake(lambda z: 1 / (1 + np.exp(-z)),
                "that is a sigmoid of each logit: a softmax makes the experts compete, each row sums to 1"),
        Mistake(_naive_softmax,
                "exp overflowed on large logits (NaN): subtract each row's max before exp; softmax does not "
                "change when a row is shifted"),
        Mistake(lambda z: _naive_softmax(z - z.max()),
                "subtract each row's own max (axis=-1, keepdims=True), not the whole array's max: a row far "
                "below it underflows to 0/0 = NaN"),
    ],
    seed=301,
)


# ---- 03 · one_gate_mix ------------------------------------------------------------------------


def _mix_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, e, u in ((5, 4, 3), (2, 6, 1), (7, 3, 5), (4, 8, 2)):
        experts = np.maximum(rng.normal(size=(b, e, u)), 0.0) + 0.1 * rng.random(size=(b, e, u))
        gate = _softmax_rows(rng.normal(0.0, 2.0, size=(b, e)))
        cases.append(Case((experts, gate)))
    return cases


ONE_GATE_MIX = FunctionExercise(
    "one_gate_mix", "03_one_gate_moe",
    "one gate's mixture of the experts, (B, E, U) and (B, E) → (B, U)",
    "**Exercise (checked).** Mix the experts with one gate: `one_gate_mix(expert_outputs, gate)` "
    "returns, for each sample, Σ_e g_e · f_e(x), the vector the towers of the one-gate MoE receive.",
    "gate[:, :, None] has shape (B, E, 1) and broadcasts against (B, E, U); multiply, then sum over the "
    "experts axis (axis=1). np.einsum(\"be,beu->bu\", gate, expert_outputs) does both at once.",
    reference=S.one_gate_mix, make_cases=_mix_cases, output=Floats("mixture", "(B, U)"),
    mistakes=[
        Mistake(lambda f, g: f.mean(axis=1),
                "you ignored the gate: the plain mean of the experts is what a uniform gate gives; weight "
                "expert e by g_e"),
        Mistake(lambda f, g: f.sum(axis=1),
                "you summed the experts without their gate weights: weight expert e by g_e"),
        Mistake(lambda f, g: (g[:, :, None] * f).mean(axis=1),
                "you took the mean of g_e·f_e over the experts; the mixture is their sum (the weights already "
                "sum to 1)"),
        Mistake(lambda f, g: f[np.arange(f.shape[0]), g.argmax(axis=1)],
                "you kept only the top expert: the mixture weights every expert by its gate weight"),
        Mistake(lambda f, g: g[:, :, None] * f,
                "you weighted the experts but did not add them up: sum over the experts axis (axis=1)"),
    ],
    seed=302,
)


# ---- 03 · moe_params --------------------------------------------------------------------------


def _moe_cases(rng: np.random.Generator) -> list[Case]:
    configs = [(100, 8, 16, 8, 2, 2), (100, 8, 16, 8, 2, 1), (20, 4, 8, 4, 3, 3), (20, 4, 8, 4, 3, 1),
               (7, 3, 5, 2, 2, 2), (10, 6, 3, 4, 4, 1)]
    return [Case(c) for c in configs]


def _moe(d, E, U, t, T, G, bias=1, gate_width=None, tower_in=None, towers=True, output=True):
    gates = G * (d + bias) * (E if gate_width is None else gate_width)
    tin = U if tower_in is None else tower_in
    tower = (tin + bias) * t + (t + bias) * output
    return E * (d + bias) * U + gates + T * tower * towers


MOE_PARAMS = FunctionExercise(
    "moe_params", "03_one_gate_moe",
    "parameter count of the kit's OMoE (num_gates=1) or MMoE (num_gates=T)",
    "**Exercise (checked).** Count the mixture model's parameters: `moe_params(d, num_experts, "
    "expert_units, tower_units, num_tasks, num_gates)`, for the one-gate MoE (`num_gates=1`) and for "
    "MMoE (`num_gates=num_tasks`). Compare with `build_model(\"omoe\", ...).count_params()`.",
    "experts: E layers Dense(U) on the d inputs; gates: num_gates layers Dense(E) on the d inputs (a gate "
    "scores the experts); towers: per task Dense(t) on the U-wide mixture, then Dense(1). Each Dense(n) "
    "on m inputs has (m + 1)·n parameters.",
    reference=S.moe_params, make_cases=_moe_cases, output=Integer("a parameter count"),
    mistakes=[
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, G, bias=0),
                "you left out the biases: a Dense(n) layer on m inputs has (m + 1)·n parameters"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, 1),
                "you counted one gate whatever num_gates is: MMoE has num_gates = num_tasks gates"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, T),
                "the one-gate MoE (num_gates=1) has a single gate, whatever num_tasks is"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, G, gate_width=U),
                "a gate scores the experts: it is a Dense(num_experts), (d + 1)·E parameters, not "
                "(d + 1)·expert_units"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, G, tower_in=d),
                "the towers sit on the mixture (expert_units wide), not on the input (d wide)"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, G, towers=False),
                "the towers are part of the model: add num_tasks·((U + 1)·t + t + 1)"),
        Mistake(lambda d, E, U, t, T, G: _moe(d, E, U, t, T, G, output=False),
                "each tower ends in a Dense(1) output layer: t weights + 1 bias per task are missing"),
    ],
    seed=303,
)


EXERCISES = [PEARSON_SPEARMAN, TASK_LABEL, SHARED_BOTTOM_PARAMS, MATCHED_BOTTOM_WIDTH, GATE_SOFTMAX,
             ONE_GATE_MIX, MOE_PARAMS]
