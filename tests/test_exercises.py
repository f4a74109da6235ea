"""The checked exercises (mmoe_lab.exercises): references pass, wrong answers get their named
mistake, malformed answers get a message (never an exception), the references agree with the
kit's own code, and the command line (--list, --status, --solutions) works on small notebooks."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

from mmoe_lab import exercises
from mmoe_lab.exercises import cli, solutions
from mmoe_lab.exercises._core import FunctionExercise
from mmoe_lab.exercises.notebooks import check_outcomes, fill_solutions, read_notebook

FUNCTION_EXERCISES = [ex for ex in exercises.ALL if isinstance(ex, FunctionExercise)]


def check(name, answer):
    return exercises.get(name).check(answer)


def fails_with(name, answer, message):
    result = check(name, answer)
    assert not result.passed
    assert result.message == message
    assert str(result) == f"✘ {name}: {message}"


# ---- the catalogue --------------------------------------------------------------------------------


def test_catalogue_covers_notebooks_01_to_06_in_order_with_the_fixed_signatures():
    assert len(exercises.ALL) >= 12
    notebooks = [ex.notebook for ex in exercises.ALL]
    assert notebooks == sorted(notebooks)
    for nb in ("01", "02", "03", "04", "05", "06"):
        assert sum(n.startswith(nb) for n in notebooks) >= 2
    assert exercises.get("pearson_spearman").notebook.startswith("01")
    assert exercises.get("mmoe_forward").notebook.startswith("04")
    with pytest.raises(KeyError, match="pearson_spearman"):
        exercises.get("nope")
    assert list(inspect.signature(solutions.pearson_spearman).parameters) == ["y1", "y2"]
    assert list(inspect.signature(solutions.mmoe_forward).parameters) == [
        "x", "expert_kernel", "expert_bias", "gate_kernel", "gate_bias", "num_experts", "num_tasks"]


@pytest.mark.parametrize("ex", exercises.ALL, ids=lambda ex: ex.name)
def test_reference_passes_and_solution_source_stands_alone(ex):
    namespace: dict = {}
    exec(ex.solution_source(), namespace)  # only what the cell itself defines and imports
    result = ex.check(namespace[ex.name])
    assert result.passed, result
    assert str(result).startswith(f"✔ {ex.name}: ")
    assert f"<b>{ex.name}</b>" in result._repr_html_() and "#1a7f37" in result._repr_html_()
    assert ex.check(namespace[ex.name]) == result  # deterministic


@pytest.mark.parametrize("ex", exercises.ALL, ids=lambda ex: ex.name)
def test_starter_is_not_attempted(ex):
    namespace: dict = {}
    exec(ex.starter_source(), namespace)
    result = ex.check(namespace[ex.name])
    assert result.status == "not_attempted" and not result.passed
    assert str(result).startswith(f"… {ex.name}: not attempted yet — ")
    assert "#6e7781" in result._repr_html_()
    if ex.kind == "function":
        assert "raise NotImplementedError  # your code here" in ex.starter_source()
        assert ex.starter_source().startswith(f"def {ex.name}(")
    assert ex.check_source() == f'exercises.get("{ex.name}").check({ex.name})'


def test_result_text_is_wrapped_and_its_html_renders_emphasis_and_code():
    from IPython.lib.pretty import pretty

    from mmoe_lab.exercises.notebooks import outcome_of

    ex = exercises.get("pearson_spearman")
    ranks = next(m for m in ex.mistakes if "*ranks*" in m.message)
    for result in (ex.check(ranks.fn), ex.check(None)):
        text = pretty(result)  # the text/plain a notebook stores
        assert text.splitlines()[0].startswith(str(result)[:20]) and len(text.splitlines()) > 1
        assert all(len(line) <= 100 for line in text.splitlines())
        assert " ".join(text.split()) == " ".join(str(result).split())  # the same words, wrapped
        saved = {"outputs": [{"output_type": "execute_result", "data": {"text/plain": text}}]}
        assert outcome_of(saved, ex.name).message == result.message  # --status reads the whole message
    failed, todo = ex.check(ranks.fn), ex.check(None)
    assert "*ranks*" in str(failed) and "correlation of the <em>ranks</em> of y1" in failed._repr_html_()
    assert "<code>raise NotImplementedError</code>" in todo._repr_html_() and "max-width: 100ch" in todo._repr_html_()
    for ex in FUNCTION_EXERCISES:  # no message shows a markdown asterisk or backtick as HTML
        for mistake in ex.mistakes:
            body = ex.check(mistake.fn)._repr_html_().split("</b>: ", 1)[1]
            assert not re.search(r"\*[A-Za-z]", body) and "`" not in body, (ex.name, body)  # `x ** 2` may stay


@pytest.mark.parametrize("ex", FUNCTION_EXERCISES, ids=lambda ex: ex.name)
def test_every_known_mistake_is_named(ex):
    """Each wrong variant gets its own message (so no variant equals the reference or is
    shadowed by an earlier one with another message); at least three different messages."""
    for mistake in ex.mistakes:
        assert ex.check(mistake.fn).message == mistake.message
    assert len({m.message for m in ex.mistakes}) >= 3


# ---- answers that are not even wrong values -------------------------------------------------------


def test_not_attempted_forms():
    def ellipsis_body(logits):
        """Docstring."""
        ...

    def returns_ellipsis(logits):
        return ...

    def forgot_return(logits):
        np.exp(logits)

    for answer in (ellipsis_body, returns_ellipsis, None, ...):
        assert check("gate_softmax", answer).status == "not_attempted"
    fails_with("gate_softmax", forgot_return, "your function returned None: did you forget `return`?")
    fails_with("gate_softmax", 3.0, "pass your function itself: check(gate_softmax), not its result (got 3)")


def test_exception_shape_type_and_nan_messages():
    def raises(logits):
        raise ValueError("boom")

    fails_with("gate_softmax", raises,
               "your function raised ValueError on input 1 of 5 (logits=array (5, 4)): boom")
    fails_with("gate_softmax", lambda logits: np.exp(logits).T / np.exp(logits).sum(1),
               "expected shape (5, 4) = (B, E) (gate weights), got shape (4, 5), on input 1 of 5 "
               "(logits=array (5, 4))")
    fails_with("gate_softmax", lambda logits: "weights",
               "expected an array (B, E) (gate weights), got str, on input 1 of 5 (logits=array (5, 4))")
    fails_with("gate_softmax", lambda logits: np.full(logits.shape, np.nan),
               "gate weights contain NaN; expected finite numbers, e.g. 0.6758, on input 1 of 5 "
               "(logits=array (5, 4))")
    fails_with("one_gate_mix", lambda f, g: g @ f,
               "expected shape (5, 3) = (B, U) (mixture), got shape (5, 5, 3), on input 1 of 4 "
               "(expert_outputs=array (5, 4, 3), gate=array (5, 4))")
    fails_with("shared_bottom_params", lambda d, w, t, T: (d + 1) * w + T * ((w + 1) * t + t + 1.0),
               "expected an int (a parameter count), got float 13255.0: wrap it in int(...), on input 1 of 6 "
               "(d=100, bottom_units=113, tower_units=8, num_tasks=2)")
    fails_with("mmoe_forward", lambda *a: np.stack(solutions.mmoe_forward(*a), axis=1),
               "expected a list of 2 arrays (B, U) (one mixture per task), got one array of shape (6, 2, 3): "
               "return [out[:, t] for t in range(num_tasks)] or similar, on input 1 of 5 (x=array (6, 5), "
               "expert_kernel=array (5, 12), expert_bias=array (12,), gate_kernel=array (5, 8), "
               "gate_bias=array (8,), num_experts=4, num_tasks=2)")


def test_unnamed_wrong_values_say_what_was_expected():
    fails_with("relative_gap", lambda o, m: (np.asarray(o) - np.asarray(m)) / (np.asarray(o) + 1),
               "wrong gaps: largest difference at [2]: expected 0.454, got 0.2051, on input 1 of 4 "
               "(loss_omoe=array (5,), loss_mmoe=array (5,))")
    fails_with("pearson_spearman", lambda y1, y2: (solutions.pearson_spearman(y1, y2)[0], 0.5),
               "spearman is wrong: expected 0.7299, got 0.5, on input 1 of 5 (y1=array (60,), y2=array (60,))")


# ---- typical wrong answers, written as a learner would, and their pinned messages -----------------


def test_pearson_spearman_mistakes():
    from scipy import stats

    name = "pearson_spearman"
    fails_with(name, lambda y1, y2: (stats.spearmanr(y1, y2).statistic, stats.pearsonr(y1, y2).statistic),
               "you returned (spearman, pearson): the order is (pearson, spearman)")
    fails_with(name, lambda y1, y2: (np.corrcoef(y1, y2)[0, 1], np.corrcoef(y1, y2)[0, 1]),
               "your Spearman equals your Pearson: Spearman is the Pearson correlation of the *ranks* of y1 and y2")
    fails_with(name, lambda y1, y2: (np.corrcoef(y1, y2)[0, 1], np.corrcoef(np.argsort(y1), np.argsort(y2))[0, 1]),
               "np.argsort gives the order that sorts the array, not each value's rank: apply it twice, "
               "np.argsort(np.argsort(y))")

    def cosine(y1, y2):
        r1, r2 = np.argsort(np.argsort(y1)), np.argsort(np.argsort(y2))
        return y1 @ y2 / np.linalg.norm(y1) / np.linalg.norm(y2), r1 @ r2 / np.linalg.norm(r1) / np.linalg.norm(r2)

    assert check(name, cosine).message.startswith("you forgot to subtract the means: that is the cosine")
    fails_with(name, lambda y1, y2: np.corrcoef(y1, y2),
               "expected a tuple (pearson, spearman), got a 2×2 matrix: pick the off-diagonal entry [0, 1], "
               "on input 1 of 5 (y1=array (60,), y2=array (60,))")
    fails_with(name, lambda y1, y2: (stats.pearsonr(y1, y2), stats.spearmanr(y1, y2)),
               "pearson should be a float, got a PearsonRResult: take its `.statistic`, on input 1 of 5 "
               "(y1=array (60,), y2=array (60,))")


def test_pearson_spearman_reference_agrees_with_scipy():
    from scipy import stats

    for case in exercises.get("pearson_spearman").cases():
        y1, y2 = case.args
        p, s = solutions.pearson_spearman(y1, y2)
        assert p == pytest.approx(stats.pearsonr(y1, y2).statistic, abs=1e-12)
        assert s == pytest.approx(stats.spearmanr(y1, y2).statistic, abs=1e-12)


def test_task_label_mistakes_and_kit_formula():
    from mmoe_lab.synthetic import label_function

    name = "task_label"
    fails_with(name, lambda x, w, a, b: np.sin(np.outer(x @ w, a) + b).sum(axis=1),
               "the linear term is missing: the label starts with wᵀx itself, then adds the sines")
    fails_with(name, lambda x, w, a, b: x @ w + np.sin(np.outer(x @ w, a) + b).sum(axis=1) / len(a),
               "you averaged the sines; the label sums them (Σ_j, not the mean over j)")
    fails_with(name, lambda x, w, a, b: x @ w + np.cos(np.outer(x @ w, a) + b).sum(axis=1),
               "that is a cosine: the paper's label uses sines")
    fails_with(name, lambda x, w, a, b: x @ w + np.sin(np.outer(x @ w, a)).sum(axis=1),
               "the phases β_j are missing: each sine is sin(α_j·wᵀx + β_j)")
    result = check(name, lambda x, w, a, b: w @ x)
    assert result.message.startswith("your function raised ValueError on input 1 of 4 (x=array (7, 5), "
                                     "w=array (5,), alphas=array (4,), betas=array (4,)): matmul")
    for case in exercises.get(name).cases():
        x, w, a, b = case.args
        np.testing.assert_allclose(solutions.task_label(x, w, a, b), label_function(x @ w, a, b), rtol=1e-12)


def test_shared_bottom_params_mistakes_and_kit_count():
    name = "shared_bottom_params"
    fails_with(name, lambda d, w, t, T: d * w + T * (w * t + t),
               "you left out the biases: a Dense(n) layer on m inputs has m·n weights *and* n biases")
    fails_with(name, lambda d, w, t, T: (d + 1) * w + (w + 1) * t + t + 1,
               "there is one tower per task: multiply the tower's count by num_tasks")
    fails_with(name, lambda d, w, t, T: T * ((d + 1) * w + (w + 1) * t + t + 1),
               "the bottom is shared: count it once, not once per task")
    fails_with(name, lambda d, w, t, T: (d + 1) * w + T * (w + 1) * t,
               "each tower ends in a Dense(1) output layer: t weights + 1 bias per task are missing")


def test_matched_bottom_width_mistakes():
    name = "matched_bottom_width"
    floor = ("you rounded down (floor, // and int() drop the fraction): the kit takes the width whose count is "
             "*closest* to the budget, round()")
    fails_with(name, lambda b, d, t, T: max(1, int((b - T * (2 * t + 1)) / (d + 1 + T * t))), floor)
    fails_with(name, lambda b, d, t, T: (b - T * (2 * t + 1)) // (d + 1 + T * t), floor)
    fails_with(name, lambda b, d, t, T: max(1, math.ceil((b - T * (2 * t + 1)) / (d + 1 + T * t))),
               "you rounded up: the kit takes the width whose count is *closest* to the budget, round(), not ceil")
    fails_with(name, lambda b, d, t, T: round((b - T * (2 * t + 1)) / (d + 1 + T * t)),
               "a layer needs at least one unit: when the budget is too small for any width, return 1 (max(1, …))")
    fails_with(name, lambda b, d, t, T: max(1, round((b - T * (2 * t + 1)) / (d + 1))),
               "one more bottom unit also adds tower_units weights to every tower: it costs "
               "d + 1 + num_tasks·tower_units parameters, not d + 1")
    fails_with(name, lambda b, d, t, T: max(1, round(b / (d + 1 + T * t))),
               "the towers' biases and output layers, num_tasks·(2·tower_units + 1) parameters, do not depend on "
               "the width: subtract them from the budget first")


def test_parameter_counts_agree_with_the_kits_models():
    import keras

    from mmoe_lab.models import build_model, matched_shared_units, mixture_params

    for d, E, U, t, T in ((100, 8, 16, 8, 2), (20, 4, 8, 4, 3), (7, 3, 5, 2, 2)):
        budget = mixture_params(d, T, E, U, t)
        assert solutions.moe_params(d, E, U, t, T, T) == budget
        assert solutions.moe_params(d, E, U, t, T, 1) == mixture_params(d, T, E, U, t, num_gates=1)
        assert solutions.matched_bottom_width(budget, d, t, T) == matched_shared_units(d, T, E, U, t)
    for d, w, t, T in ((100, 113, 8, 2), (10, 4, 3, 3)):
        keras.backend.clear_session()
        model = build_model("shared_bottom", T, d, shared_units=w, tower_units=t, compile=False)
        assert solutions.shared_bottom_params(d, w, t, T) == model.count_params()
    for arch, gates in (("omoe", 1), ("mmoe", 3)):
        keras.backend.clear_session()
        model = build_model(arch, 3, 20, num_experts=4, expert_units=8, tower_units=4, compile=False)
        assert solutions.moe_params(20, 4, 8, 4, 3, gates) == model.count_params()


def test_gate_softmax_mistakes():
    name = "gate_softmax"
    fails_with(name, lambda z: np.exp(z) / np.exp(z).sum(axis=0),
               "your gate weights sum to 1 over the batch, not over the experts: normalise along axis=-1")
    fails_with(name, lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
               "exp overflowed on large logits (NaN): subtract each row's max before exp; softmax does not change "
               "when a row is shifted")
    fails_with(name, lambda z: z / z.sum(axis=1, keepdims=True),
               "you normalised the logits without exp: softmax is exp(z) / Σ exp(z), so every weight is positive")
    fails_with(name, lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=1, keepdims=True),
               "subtract each row's own max (axis=-1, keepdims=True), not the whole array's max: a row far below "
               "it underflows to 0/0 = NaN")
    fails_with(name, lambda z: 1 / (1 + np.exp(-z)),
               "that is a sigmoid of each logit: a softmax makes the experts compete, each row sums to 1")


def test_one_gate_mix_mistakes():
    name = "one_gate_mix"
    fails_with(name, lambda f, g: (f * g[:, :, None]).mean(axis=1),
               "you took the mean of g_e·f_e over the experts; the mixture is their sum (the weights already sum "
               "to 1)")
    fails_with(name, lambda f, g: np.mean(f, axis=1),
               "you ignored the gate: the plain mean of the experts is what a uniform gate gives; weight expert e "
               "by g_e")
    fails_with(name, lambda f, g: np.einsum("be,beu->beu", g, f),
               "you weighted the experts but did not add them up: sum over the experts axis (axis=1)")
    fails_with(name, lambda f, g: np.stack([f[b, np.argmax(g[b])] for b in range(len(g))]),
               "you kept only the top expert: the mixture weights every expert by its gate weight")


def test_moe_params_mistakes():
    name = "moe_params"
    fails_with(name, lambda d, E, U, t, T, G: E * (d + 1) * U + (d + 1) * E + T * ((U + 1) * t + t + 1),
               "you counted one gate whatever num_gates is: MMoE has num_gates = num_tasks gates")
    fails_with(name, lambda d, E, U, t, T, G: E * (d + 1) * U + T * (d + 1) * E + T * ((U + 1) * t + t + 1),
               "the one-gate MoE (num_gates=1) has a single gate, whatever num_tasks is")
    fails_with(name, lambda d, E, U, t, T, G: E * d * U + G * d * E + T * (U * t + t),
               "you left out the biases: a Dense(n) layer on m inputs has (m + 1)·n parameters")


# ---- 04: mmoe_forward against the real layer, and its mistakes -----------------------------------


def _layer_outputs(x, weights, E, U, T, G):
    import keras

    from mmoe_lab.layers import MMoE

    layer = MMoE(E, U, T, num_gates=G)
    layer(keras.ops.convert_to_tensor(x.astype("float32")))
    layer.set_weights([w.astype("float32") for w in weights])
    return [keras.ops.convert_to_numpy(o) for o in layer(keras.ops.convert_to_tensor(x.astype("float32")))]


@pytest.mark.parametrize("gates", ["mmoe", "omoe"])
def test_mmoe_forward_reference_equals_the_layer(gates):
    rng = np.random.default_rng(7)
    B, d, E, U, T = 9, 6, 4, 3, 3
    G = T if gates == "mmoe" else 1
    x = rng.normal(size=(B, d))
    weights = [rng.normal(size=(d, E * U)), rng.normal(size=E * U), 2 * rng.normal(size=(d, G * E)),
               rng.normal(size=G * E)]
    ours = solutions.mmoe_forward(x, *weights, E, T)
    theirs = _layer_outputs(x, weights, E, U, T, G)
    assert len(ours) == T
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    if G == 1:  # the one-gate MoE: every task receives the same mixture
        for a in ours[1:]:
            np.testing.assert_allclose(a, ours[0])


def test_mmoe_forward_mistakes():
    def forward(x, ek, eb, gk, gb, E, T, unit_major=False, shared=False, axis=-1, gate_shape=None):
        B = x.shape[0]
        h = np.maximum(x @ ek + eb, 0)
        U = ek.shape[1] // E
        experts = h.reshape(B, U, E).transpose(0, 2, 1) if unit_major else h.reshape(B, E, U)
        z = (x @ gk + gb).reshape(gate_shape(B, E, T) if gate_shape else (B, -1, E))
        g = np.exp(z - z.max(axis=axis, keepdims=True))
        g = g / g.sum(axis=axis, keepdims=True)
        return [np.einsum("be,beu->bu", g[:, 0 if shared or g.shape[1] == 1 else t], experts) for t in range(T)]

    name = "mmoe_forward"
    fails_with(name, lambda *a: forward(*a, unit_major=True),
               "the expert kernel's columns are expert-major: column e·U + u is expert e's unit u, so reshape "
               "(B, E·U) to (B, E, U)")
    fails_with(name, lambda *a: forward(*a, shared=True),
               "both towers get the same mix: that is the one-gate MoE; with G = num_tasks gates, task t is mixed "
               "by gate t")
    fails_with(name, lambda *a: forward(*a, axis=0),
               "your gate weights sum to 1 over the batch, not over the experts: softmax along the experts axis")
    fails_with(name, lambda *a: forward(*a, gate_shape=lambda B, E, T: (B, T, E)),
               "your function raised ValueError on input 3 of 5 (one gate, num_gates = 1: x=array (5, 4), "
               "expert_kernel=array (4, 6), expert_bias=array (6,), gate_kernel=array (4, 3), gate_bias=array (3,), "
               "num_experts=3, num_tasks=2): cannot reshape array of size 15 into shape (5,2,3)")


# ---- 04-06: divergences and diagnostics against mmoe_lab.diagnostics ------------------------------


def test_gate_diagnostics_agree_with_the_kit():
    from mmoe_lab import diagnostics

    for case in exercises.get("gate_jsd").cases():
        g1, g2 = case.args
        gates = np.stack([g1, g2], axis=1)
        assert solutions.gate_jsd(g1, g2) == pytest.approx(diagnostics.task_divergence(gates)[0, 1], abs=1e-12)
    for case in exercises.get("gate_entropy").cases():
        np.testing.assert_allclose(solutions.gate_entropy(*case.args),
                                   diagnostics.normalized_entropy(*case.args), atol=1e-12)
    for case in exercises.get("polarisation_rate").cases():
        np.testing.assert_array_equal(solutions.polarisation_rate(*case.args, **case.kwargs),
                                      diagnostics.polarization_rate(*case.args, **case.kwargs))


def test_gate_jsd_mistakes():
    from scipy.spatial.distance import jensenshannon

    name = "gate_jsd"
    scipy_msg = ("that is scipy's Jensen–Shannon *distance*: the square root of the divergence (and in nats by "
                 "default); the kit uses the divergence in bits, jensenshannon(p, q, base=2) ** 2")
    fails_with(name, lambda g1, g2: jensenshannon(g1.mean(0), g2.mean(0)), scipy_msg)
    fails_with(name, lambda g1, g2: jensenshannon(g1.mean(0), g2.mean(0), base=2), scipy_msg)
    assert check(name, lambda g1, g2: jensenshannon(g1.mean(0), g2.mean(0), base=2) ** 2).passed

    def nats(g1, g2):
        p, q = g1.mean(0), g2.mean(0)
        m = (p + q) / 2
        kl = lambda a, b: np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / b), 0))  # noqa: E731
        return 0.5 * kl(p, m) + 0.5 * kl(q, m)

    fails_with(name, nats, "that is in nats (natural log): the kit's divergence is in bits, log base 2, between 0 and 1")
    fails_with(name, lambda g1, g2: np.mean([jensenshannon(a, b, base=2) ** 2 for a, b in zip(g1, g2, strict=True)]),
               "you averaged per-sample divergences: the kit compares the tasks' *mean* gate distributions "
               "(average over the samples first)")
    fails_with(name, lambda g1, g2: np.sum(g1.mean(0) * np.log2(g1.mean(0) / g2.mean(0))),
               "that is the Kullback–Leibler divergence KL(p‖q): JS compares each distribution with their midpoint "
               "m = (p + q)/2 and averages the two")



def test_normalise_to_p1_mistakes_and_series():
    import pandas as pd

    name = "normalise_to_p1"
    s = pd.Series([0.4, 0.2, 0.3], index=[0.5, 1.0, 0.0])
    pd.testing.assert_series_equal(solutions.normalise_to_p1(s), s / 0.2)
    assert solutions.normalise_to_p1({0.5: 0.4, 1.0: 0.2}) == {0.5: 2.0, 1.0: 1.0}
    fails_with(name, lambda loss: {p: v / list(loss.items())[-1][1] for p, v in loss.items()},
               "you divided by the last entry, but the input is in any order: look the loss at p = 1 up by its key, "
               "loss_by_p[1.0]")
    fails_with(name, lambda loss: {p: loss[1.0] / v for p, v in loss.items()},
               "upside down: divide each loss by the loss at p = 1, not the other way round")
    fails_with(name, lambda loss: {p: v / min(v for _, v in loss.items()) for p, v in loss.items()},
               "you divided by the smallest loss; the reference point is p = 1, whatever its loss")
    fails_with(name, lambda loss: [v / loss[1.0] for _, v in loss.items()],
               "expected a mapping p → normalised loss (a dict, or a Series like the input), got list of 5, on "
               "input 1 of 5 (loss_by_p=dict of 5)")


def test_relative_gap_mistakes():
    name = "relative_gap"
    fails_with(name, lambda o, m: (np.asarray(o) - np.asarray(m)) / np.asarray(m),
               "you divided by MMoE's loss: the gap is relative to OMoE's, (OMoE − MMoE) / OMoE")
    fails_with(name, lambda o, m: (np.asarray(m) - np.asarray(o)) / np.asarray(o),
               "the sign is flipped: the gap is positive when MMoE's loss is lower, OMoE − MMoE on top")
    fails_with(name, lambda o, m: 100 * (np.asarray(o) - np.asarray(m)) / np.asarray(o),
               "×100: the kit reports the gap as a fraction (0.12), not a percentage")
    assert check(name, lambda o, m: 1 - np.asarray(m) / np.asarray(o)).passed  # the same gap, written differently



def test_gate_entropy_mistakes():
    name = "gate_entropy"
    fails_with(name, lambda g: (-(g * np.log(g)).sum(-1) / np.log(g.shape[-1])).mean(0),
               "0·log 0 gave NaN: a zero weight contributes 0 (e.g. np.where(g > 0, g, 1) inside the log)")

    def plogp(g):
        return np.where(g > 0, g * np.log(np.where(g > 0, g, 1)), 0)

    fails_with(name, lambda g: -plogp(g).sum(-1).mean(0),
               "that is the entropy in nats: divide by log E, so that a uniform gate scores 1")
    fails_with(name, lambda g: -plogp(g.mean(0)).sum(-1) / np.log(g.shape[-1]),
               "that is the entropy of the *mean* gate; the kit averages each sample's entropy (a gate can be sharp "
               "on every sample yet even on average)")
    fails_with(name, lambda g: np.mean(-plogp(g).sum(-1) / np.log(g.shape[-1])),
               "one value per task: average over the samples only (axis=0), shape (T,)")


def test_polarisation_rate_mistakes():
    name = "polarisation_rate"
    fails_with(name, lambda g, threshold=0.99: (g.max(-1) >= threshold).mean(0),
               "the kit counts a sample when its top weight is strictly above the threshold (>); you used ≥")
    fails_with(name, lambda g, threshold=0.99: (g.max(-1) > 0.99).mean(0),
               "you ignored the `threshold` argument: compare with it, not with 0.99")
    fails_with(name, lambda g, threshold=0.99: np.sum(g.max(-1) > threshold, axis=0),
               "that is the number of polarised samples; the rate is their share (a mean over the samples)")
    result = check(name, lambda g: (g.max(-1) > 0.99).mean(0))
    assert result.message.startswith("your function raised TypeError on input 2 of 4 (threshold = 0.9: "
                                      "gates=array (30, 3, 4), threshold=0.9): ")


def test_remedy_for():
    from mmoe_lab import collapse
    from mmoe_lab.exercises import _remedy

    assert _remedy.CAUSES == tuple(collapse.CAUSES) and _remedy.REMEDIES == tuple(collapse.REMEDIES)
    name = "remedy_for"
    right = dict(solutions.REMEDY_FOR)
    assert check(name, right).passed
    fails_with(name, {**right, "heavy_tail": "temperature"},
               "'heavy_tail' → 'temperature': temperature hides heavy_tail's polarisation but leaves its cause, the "
               "label's scale: the test loss does not improve. Fix the label")
    fails_with(name, {**right, "gate_init": "balance_loss"},
               "'gate_init' → 'balance_loss': balance_loss leaves gate_init polarised (section 4's table): it acts "
               "on how much each expert is used overall, not on each sample's saturated softmax")
    fails_with(name, {**right, "high_lr": "log_transform", "healthy": "temperature"},
               "'healthy' → 'temperature': the healthy gates already mix (no polarisation): healthy needs no remedy, "
               "'none' (1 more entry is wrong)")
    fails_with(name, {**right, "high_lr": "lower_lr"},
               "lowering the learning rate is the real cure for high_lr, as the notebook says, but it is not one of "
               "the lab's remedies: which of collapse.REMEDIES removes the polarisation; choose one of 'none', "
               "'temperature', 'gate_dropout', 'balance_loss', 'log_transform', 'loss_weight'")
    fails_with(name, {k: v for k, v in right.items() if k != "high_lr"},
               "fill in 'high_lr': every cause needs a remedy name ('none' if it needs none)")
    fails_with(name, list(right.items()), "expected a dict cause → remedy name, got list of 4")
    assert check(name, dict.fromkeys(right, ...)).status == "not_attempted"


# ---- notebooks and the command line -------------------------------------------------------------


def _notebook(path, cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source, tags, outputs in cells:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        if outputs is not None:
            cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": outputs}, execution_count=1)]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return nb


def _exercise_cells(name, solved, output=None):
    ex = exercises.get(name)
    return [("markdown", ex.intro, None, None),
            ("code", ex.solution_source() if solved else ex.starter_source(), [exercises.starter_tag(name)], None),
            ("code", ex.check_source(), [exercises.check_tag(name)], output)]


def test_cli_list(capsys):
    assert cli.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(exercises.ALL)
    assert lines[0].split()[:2] == ["01_task_correlation", "pearson_spearman"]
    assert [line.split()[1] for line in lines] == list(exercises.NAMES)


def test_cli_status_reads_saved_outputs(tmp_path, capsys):
    passed = str(check("pearson_spearman", solutions.pearson_spearman))
    failed = str(check("gate_softmax", lambda z: np.exp(z) / np.exp(z).sum(axis=0)))
    todo = str(check("one_gate_mix", None))
    _notebook(tmp_path / "01_task_correlation.ipynb",
              [("code", "from mmoe_lab import exercises", None, None),
               *_exercise_cells("pearson_spearman", True, passed), *_exercise_cells("task_label", False)])
    _notebook(tmp_path / "03_one_gate_moe.ipynb",
              [*_exercise_cells("gate_softmax", False, failed), *_exercise_cells("one_gate_mix", False, todo)])
    assert cli.main(["--status", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "✔ pearson_spearman" in out and "· task_label" in out and "not checked yet" in out
    assert "✘ gate_softmax" in out and "over the batch, not over the experts" in out
    assert "… one_gate_mix" in out and "not attempted yet" in out
    assert "· moe_params" in out and "no check cell in this notebook" in out
    assert out.splitlines()[-1] == (f"1 of {len(exercises.ALL)} exercises passed; 1 failed, 1 not attempted, "
                                    f"{len(exercises.ALL) - 3} not checked yet")
    assert cli.main(["--status", str(tmp_path / "missing")]) == 2


def test_fill_solutions_and_outcomes(tmp_path):
    _notebook(tmp_path / "04_mmoe.ipynb", [*_exercise_cells("gate_jsd", False)])
    nb = read_notebook(tmp_path / "04_mmoe.ipynb")
    assert fill_solutions(nb) == ["gate_jsd"] and [o.status for o in check_outcomes(nb)] == ["not_run"]
    assert nb["cells"][1]["source"] == exercises.get("gate_jsd").solution_source()


def test_cli_solutions_reports_failures(tmp_path, capsys, monkeypatch):
    """Without a kernel: a stand-in client writes the outputs a real run could produce (one check
    failing, one cell raising); the run fails and names notebook and exercise."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    class FakeClient:
        def __init__(self, nb, **kwargs):
            self.nb = nb
            assert kwargs["kernel_name"] == "python3" and kwargs["timeout"] == 300
            assert kwargs["resources"]["metadata"]["path"] == str(tmp_path)

        def execute(self):
            cells = self.nb.cells
            results = {"pearson_spearman": str(check("pearson_spearman", solutions.pearson_spearman)),
                       "task_label": str(check("task_label", lambda x, w, a, b: x @ w))}
            for cell in cells:
                for name, text in results.items():
                    if cell.source == exercises.get(name).check_source():
                        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": text},
                                                               execution_count=1)]
            raise CellExecutionError("traceback", "NameError", "name 'gate_softmax' is not defined")

    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    _notebook(tmp_path / "01_task_correlation.ipynb",
              [*_exercise_cells("pearson_spearman", False), *_exercise_cells("task_label", False),
               *_exercise_cells("gate_softmax", False)])
    assert cli.main(["--solutions", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "  ✔ 01_task_correlation.ipynb pearson_spearman",
        "  ✘ 01_task_correlation.ipynb task_label: failed: only the linear term: add the sines, "
        "Σ_j sin(α_j·wᵀx + β_j), that make the tasks nonlinear",
        "  ✘ 01_task_correlation.ipynb gate_softmax: its check did not run (NameError: name 'gate_softmax' is not "
        "defined)",
        "1 passed, 2 failed",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["--solutions", str(empty)]) == 1
    assert capsys.readouterr().out.splitlines()[-2:] == [f"no exercise cells (tag exercise:NAME) in {empty}",
                                                          "0 passed, 0 failed"]


@pytest.mark.slow
def test_cli_solutions_executes_every_solution(tmp_path, capsys):
    """One small notebook holding every exercise's starting point, run in a real kernel with the
    solutions filled in: all checks pass, with --require-all."""
    src = tmp_path / "src"
    src.mkdir()
    cells = [("code", "import numpy as np\nfrom mmoe_lab import exercises", None, None)]
    for ex in exercises.ALL:
        cells += _exercise_cells(ex.name, False)
    _notebook(src / "00_all.ipynb", cells)
    out = tmp_path / "out"
    assert cli.main(["--solutions", str(src), "--out", str(out), "--require-all"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[-1] == f"{len(exercises.ALL)} passed, 0 failed"
    outcomes = check_outcomes(read_notebook(out / "00_all.ipynb"))
    assert [(o.name, o.status) for o in outcomes] == [(name, "passed") for name in exercises.NAMES]
