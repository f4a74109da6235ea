"""Calibration and bench: fast checks, no timing asserts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmoe_lab.synthetic import PRESETS, make_correlated_tasks, make_task_splits

CAL = Path(__file__).resolve().parents[1] / "data" / "calibration"
FIG2 = {0.5: 0.07, 0.8: 0.19, 0.9: 0.30, 0.95: 0.45, 1.0: 1.0}


@pytest.mark.parametrize("p", sorted(FIG2))
def test_paper_preset_reproduces_fig2(p):
    """The acceptance criterion: median over 20 seeds of the sample Pearson r of 10k rows, ±0.05."""
    rs = [np.corrcoef(make_correlated_tasks(10_000, 100, p, preset="paper", random_state=s)[1].T)[0, 1]
          for s in range(20)]
    assert abs(np.median(rs) - FIG2[p]) <= 0.05


def test_paper_table_in_docstring_matches_csv():
    table = pd.read_csv(CAL / "paper_preset_r.csv")
    doc = make_correlated_tasks.__doc__
    for r in table.itertuples():
        assert f"{r.median_sample_r:.2f}" in doc, f"p={r.p}: {r.median_sample_r:.2f} missing from the docstring"


def test_live_budget_is_a_recorded_calibration():
    """LIVE_BUDGET + the teaching preset must match a row of the calibration search on seeds 0-9."""
    from mmoe_lab.experiments import LIVE_BUDGET

    search = pd.read_csv(CAL / "teaching_search.csv")
    train = {k: LIVE_BUDGET[k] for k in ("epochs", "batch_size", "learning_rate", "fresh_samples", "lr_schedule")}
    rows = search[(search.n_train == LIVE_BUDGET["n_train"]) & (search.seeds == "0-9") & (search.p == 0.5)]
    rows = rows[[json.loads(t) == train and json.loads(c) == PRESETS["teaching"]
                 for t, c in zip(rows.train, rows.constants, strict=True)]]
    assert len(rows) >= 1, f"no calibration row for LIVE_BUDGET={LIVE_BUDGET}, teaching={PRESETS['teaching']}"


def test_live_splits_equal_make_task_splits():
    from mmoe_lab.experiments import live_splits

    a = live_splits(0.7, 5, n_train=300, n_test=50)
    b = make_task_splits(300, 50, 0.7, random_state=5)
    for key in b:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["generator"].standardize


def test_fresh_sample_dataset_statistics_and_determinism():
    from mmoe_lab.experiments import fresh_sample_dataset, live_splits

    gen = live_splits(0.5, 1, n_train=10, n_test=10)["generator"]
    x, y = next(iter(fresh_sample_dataset(gen, 20_000, seed=3)))
    x2, _ = next(iter(fresh_sample_dataset(gen, 20_000, seed=3)))
    x3, _ = next(iter(fresh_sample_dataset(gen, 20_000, seed=4)))
    x, x2, x3 = np.asarray(x), np.asarray(x2), np.asarray(x3)
    assert x.shape == (20_000, 100)
    np.testing.assert_array_equal(x, x2)
    assert not np.allclose(x, x3)
    y0, y1 = np.asarray(y["task_0"]), np.asarray(y["task_1"])
    assert abs(y0.mean()) < 0.05 and abs(y0.std() - 1) < 0.05  # standardized like sample()
    assert abs(np.corrcoef(y0, y1)[0, 1] - gen.label_correlation()[0, 1]) < 0.03


def test_train_and_evaluate_tiny_fresh_and_fixed():
    from mmoe_lab.experiments import live_splits, train_and_evaluate

    data = live_splits(0.5, 0, n_train=256, n_test=64)
    kw = dict(epochs=2, batch_size=64, seed=0, lr_schedule="cosine")
    fresh = train_and_evaluate("mmoe", data, fresh_samples=True, **kw)
    fixed = train_and_evaluate("omoe", data, fresh_samples=False, **kw)
    for res in (fresh, fixed):
        assert len(res["history"]) == 2 and np.isfinite(res["mean_test_loss"])
    with pytest.raises(ValueError, match="lr_schedule"):
        train_and_evaluate("mmoe", data, epochs=1, lr_schedule="step")


def test_bench_smoke():
    from mmoe_lab.tools import bench

    x = np.random.default_rng(0).standard_normal((8, 100)).astype("float32")
    fused, loop = bench.build_bench_model("fused"), bench.build_bench_model("loop")
    assert fused.count_params() == loop.count_params()
    for model in (fused, loop):
        out = model(x)
        assert set(out) == {"task_0", "task_1"} and tuple(out["task_0"].shape) == (8, 1)
    df = bench.run_bench(batch_sizes=(64,), n_samples=128, epochs=2, repeats=1)
    assert list(df.index) == [64]
    assert (df[["steady_ratio", "first_epoch_ratio"]] > 0).all().all()
    assert "x |" in bench.format_report(df)
    with pytest.raises(ValueError, match="layer"):
        bench.build_bench_model("bogus")
