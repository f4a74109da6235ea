"""Measurements (mmoe_lab.metrics): exact AUC with ties, per-task losses and their constant
baselines, gate statistics; and the old import paths that notebooks use."""

import numpy as np
import pytest

import mmoe_lab

mmoe_lab.quiet_import_keras()
import keras  # noqa: E402

from mmoe_lab.diagnostics import gate_statistics  # noqa: E402
from mmoe_lab.metrics import constant_baseline_losses, roc_auc, task_losses  # noqa: E402
from mmoe_lab.models import TaskSpec  # noqa: E402


def pair_counting_auc(y, s):
    """AUC by definition: over all (positive, negative) pairs, 1 if ordered, 1/2 if tied."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=float)
    pos, neg = s[y], s[~y]
    return ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))


# ---------------------------------------------------------------- roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_matches_pair_counting_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.3
    continuous = rng.standard_normal(300) + y
    for s in (continuous, np.round(continuous, 1), rng.integers(0, 3, 300)):  # no, some, heavy ties
        assert roc_auc(y, s) == pytest.approx(pair_counting_auc(y, s), abs=1e-12)


def test_roc_auc_edge_values_and_shapes():
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0
    assert roc_auc([1, 0], [0.2, 0.9]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5] * 4) == 0.5  # all tied: one half
    y = np.array([0, 1, 1, 0, 1], dtype="float32")
    s = np.array([0.1, 0.7, 0.3, 0.3, 0.9])
    expected = pair_counting_auc(y, s)
    assert roc_auc(y[:, None], s[:, None]) == pytest.approx(expected)  # (n, 1) like a Keras output
    assert roc_auc(y.astype(bool), s) == pytest.approx(expected)


def test_roc_auc_errors():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="same length"):
        roc_auc([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([0, 1], [0.2, np.nan])


# ---------------------------------------------------------------- per-task losses


def test_task_losses_match_numpy():
    rng = np.random.default_rng(0)
    tasks = [TaskSpec("r"), TaskSpec("b", "binary")]
    y = {"r": rng.standard_normal(32).astype("float32"), "b": (rng.random(32) < 0.4).astype("float32")}
    pred = {"r": rng.standard_normal((32, 1)).astype("float32"),
            "b": rng.uniform(0.05, 0.95, (32, 1)).astype("float32")}
    mse, bce = (float(keras.ops.convert_to_numpy(v)) for v in task_losses(y, pred, tasks))
    p = pred["b"][:, 0].astype(np.float64)
    assert mse == pytest.approx(np.mean((pred["r"][:, 0] - y["r"]) ** 2), rel=1e-5)
    assert bce == pytest.approx(-np.mean(y["b"] * np.log(p) + (1 - y["b"]) * np.log(1 - p)), rel=1e-4)
    with pytest.raises(ValueError, match="no entry for tasks"):
        task_losses({"r": y["r"]}, pred, tasks)


def test_constant_baseline_losses_are_variance_and_base_rate_entropy():
    tasks = [TaskSpec("r"), TaskSpec("b", "binary")]
    y = {"r": np.array([1.0, 2.0, 3.0, 6.0]), "b": np.array([0, 0, 0, 1])}
    out = constant_baseline_losses(y, tasks)
    assert out["r"] == pytest.approx(np.var(y["r"]))
    assert out["b"] == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    with pytest.raises(ValueError, match="no entry for tasks"):
        constant_baseline_losses({"r": y["r"]}, tasks)
    with pytest.raises(ValueError, match="empty"):
        constant_baseline_losses({"r": [], "b": [1]}, tasks)


# ---------------------------------------------------------------- gate statistics


def test_gate_statistics_matches_numpy():
    rng = np.random.default_rng(0)
    g = rng.dirichlet(np.ones(3), size=(50, 2))
    g[:, 1, 2] = 0.0  # gate 1 never uses expert 2
    df = gate_statistics(g, ["e0", "e1", "e2"], ["t0", "t1"])
    assert len(df) == 5 and not ((df.gate == "t1") & (df.expert == "e2")).any()
    row = df[(df.gate == "t0") & (df.expert == "e1")].iloc[0]
    assert row["mean"] == pytest.approx(g[:, 0, 1].mean()) and row["std"] == pytest.approx(g[:, 0, 1].std())
    with pytest.raises(ValueError, match="shape"):
        gate_statistics(g, ["e0", "e1"], ["t0", "t1"])
