"""The correlation lesson: its live setup, the gaps against p, the comparison panel."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mmoe_lab  # noqa: E402
from mmoe_lab import experiments, plots, study  # noqa: E402
from mmoe_lab.study import cli as study_cli  # noqa: E402

MODELS = ("shared_bottom", "omoe", "mmoe")


def _per_run(ps=(0.5, 1.0), seeds=16, seed=0) -> pd.DataFrame:
    """A fake stored study: MMoE < OMoE < SB, the OMoE gap larger at lower p."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in ps:
        for s in range(seeds):
            mm = 0.05 + 0.01 * rng.random()
            rows.append({"correlation": p, "seed": s, "mmoe": mm, "omoe": mm * (1.1 + (1 - p) + 0.2 * rng.random()),
                         "shared_bottom": mm * 2.0})
    return pd.DataFrame(rows).set_index(["correlation", "seed"])


def test_gaps_by_correlation_matches_a_hand_computation():
    per_run = _per_run()
    out = study.gaps_by_correlation(per_run, block=8)
    assert list(out.index) == [0.5, 1.0] and list(out["seeds"]) == [16, 16] and list(out["blocks"]) == [2, 2]
    m = per_run.xs(0.5, level="correlation").mean()
    assert out.loc[0.5, "omoe_gap"] == pytest.approx((m["omoe"] - m["mmoe"]) / m["omoe"])
    assert out.loc[0.5, "sb_gap"] == pytest.approx((m["shared_bottom"] - m["mmoe"]) / m["shared_bottom"])
    assert out.loc[0.5, "sb_minus_mmoe"] == pytest.approx(m["shared_bottom"] - m["mmoe"])
    half = per_run.xs(0.5, level="correlation")
    blocks = [half.iloc[:8].mean(), half.iloc[8:].mean()]
    block_gaps = [(b["omoe"] - b["mmoe"]) / b["omoe"] for b in blocks]
    assert [out.loc[0.5, "omoe_gap_lo"], out.loc[0.5, "omoe_gap_hi"]] == pytest.approx(np.quantile(block_gaps, [0.1, 0.9]))
    assert out.loc[0.5, "omoe_gap"] > out.loc[1.0, "omoe_gap"]
    # extra constant index levels (run_table's preset, n_train) are dropped
    wide = pd.concat({("teaching", "fresh"): per_run}, names=["preset", "n_train"])
    pd.testing.assert_frame_equal(study.gaps_by_correlation(wide), out)


def test_gaps_by_correlation_bad_arguments():
    with pytest.raises(ValueError, match="block"):
        study.gaps_by_correlation(_per_run(), block=0)
    with pytest.raises(ValueError, match="missing"):
        study.gaps_by_correlation(_per_run().drop(columns="omoe"))


def test_gap_and_loss_plots():
    summary = study.gaps_by_correlation(_per_run((0.0, 0.5, 1.0)))
    fig = plots.plot_gap_vs_p(summary, points=[{"p": 0.5, "omoe_gap": 0.3, "sb_gap": 0.4}], marker_p=0.5)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one band per gap
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("your live runs" in t for t in labels) and any("paper" in t for t in labels)
    plt.close(fig)
    fig = plots.plot_loss_vs_p(summary)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:3] == ["shared-bottom", "one-gate MoE", "MMoE"]
    plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        plots.plot_gap_vs_p(summary.drop(columns="sb_gap_lo"))
    with pytest.raises(ValueError, match="architecture columns"):
        plots.plot_loss_vs_p(summary[["omoe_gap"]])


def test_lesson_setup_is_the_default_and_the_study_regime():
    b = experiments.lesson_study_budget()
    lb = experiments.LESSON_BUDGET
    assert b["steps"] == lb["epochs"] * (lb["n_train"] // lb["batch_size"])
    assert b["generator"] == experiments.LESSON_GENERATOR and b["model"] == experiments.LESSON_MODEL
    s, _ = study_cli.study_from_args(["--regime", "lesson", "--out", "/tmp/unused-lesson-study"])
    assert s.correlations == (0.0, 0.25, 0.5, 0.75, 0.9, 1.0) and s.runs == 200
    assert s.budget["lr_schedule"] == "cosine" and s.budget["generator"] == experiments.LESSON_GENERATOR


@pytest.mark.slow
def test_compare_over_seeds_defaults_to_the_lesson_and_reports_progress():
    from mmoe_lab import backend
    from mmoe_lab.replicas import train_replicas

    seen: list[tuple[int, int]] = []
    out = experiments.compare_over_seeds(["omoe", "mmoe"], (0.5,), [3], n_train=256, n_test=100, epochs=2,
                                         callback=lambda done, total: seen.append((done, total)))
    assert out["configs"]["mmoe"].expert_units == experiments.LESSON_MODEL["expert_units"]
    # 2 epochs of 2 steps per architecture: one after another, every epoch is reported; side by
    # side (JAX) the sums are polled, so some may be skipped, but they only grow and end at 8
    if backend.concurrent_training():
        assert seen[-1] == (8, 8) and all(t == 8 for _, t in seen)
        assert [d for d, _ in seen] == sorted({d for d, _ in seen}) and set(d for d, _ in seen) <= {2, 4, 6, 8}
    else:
        assert seen == [(2, 8), (4, 8), (6, 8), (8, 8)]
    solo = train_replicas("mmoe", [3], 0.5, n_train=None, n_test=100, steps=4, batch_size=128,
                          learning_rate=3e-3, lr_schedule="cosine", eval_every=2,
                          cfg_kwargs=experiments.LESSON_MODEL, generator_kwargs=experiments.LESSON_GENERATOR)
    got = out["runs"].set_index("arch").loc["mmoe", ["task_0", "task_1"]].to_numpy(float)
    np.testing.assert_allclose(got, solo["final_test"][0], rtol=1e-4)


def test_step_progress():
    mmoe_lab.setup_notebook(style=False)
    from mmoe_lab.progress import StepProgress

    bar = StepProgress(10)
    bar.update(4)
    assert bar.bar.value == 4 and bar.label.value == "step 4/10"
    bar.finish()
    assert bar.bar.value == 10 and repr(bar) == "StepProgress(total=10)"
    with pytest.raises(ValueError, match="total"):
        StepProgress(0)
    # as a callback: the total comes with the first report; the bar finishes at the total
    bar = StepProgress()
    bar(3, 12)
    assert (bar.total, bar.bar.value, bar.label.value) == (12, 3, "step 3/12")
    bar(12, 12)
    assert bar.bar.bar_style == "success" and repr(bar) == "StepProgress(total=12)"


def test_compare_over_seeds_reports_progress_through_its_callback():
    from mmoe_lab.progress import StepProgress

    bar = StepProgress()
    experiments.compare_over_seeds(["mmoe"], (0.5,), [3], n_train=256, n_test=100, epochs=2, callback=bar)
    assert bar.total == bar.bar.value and bar.bar.bar_style == "success"


@pytest.mark.slow
def test_comparison_panel_scrubs_at_once_and_trains_on_click():
    mmoe_lab.setup_notebook(style=False)
    from mmoe_lab.widgets import comparison_panel

    per_run = _per_run((0.0, 0.5, 1.0))
    summary = study.gaps_by_correlation(per_run)
    panel = comparison_panel(summary, per_run, correlation=0.5, seeds=[0, 1],
                             compare_kwargs={"n_train": 256, "n_test": 100, "epochs": 2})
    assert panel.state["source"] == "stored" and panel.state["p"] == 0.5 and panel.n_draws == 1
    scrub = panel.children[2].children[0]
    cpu = time.process_time()
    scrub.value = 1.0
    cpu = time.process_time() - cpu
    assert panel.state["p"] == 1.0 and panel.n_draws == 2
    m = per_run.xs(1.0, level="correlation").mean()
    assert panel.state["omoe_gap"] == pytest.approx((m["omoe"] - m["mmoe"]) / m["omoe"])
    assert cpu < 1.0, f"scrubbing took {cpu:.2f} CPU s (budget: <= 1 s)"
    panel.controls["p"].value = 0.3
    assert panel.n_draws == 2  # moving p does not train
    assert "p = 0.3" in panel.status.value and "Train" in panel.status.value
    panel.controls["train"].click()
    assert panel.state["source"] == "live" and panel.state["p"] == 0.3
    assert set(panel.state["means"]) == set(MODELS)
    assert panel.points == [{"p": 0.3, "omoe_gap": panel.state["omoe_gap"], "sb_gap": panel.state["sb_gap"]}]
    assert set(panel.result["runs"]["seed"]) == {0, 1} and not panel.controls["train"].disabled


@pytest.mark.backend
@pytest.mark.slow
def test_side_by_side_training_gives_the_numbers_of_one_after_another(monkeypatch):
    from mmoe_lab import backend

    kw = dict(n_train=256, n_test=100, epochs=2)
    together = experiments.compare_over_seeds(["shared_bottom", "omoe", "mmoe"], (0.5, 1.0), [3, 4], **kw)
    monkeypatch.setattr(backend, "concurrent_training", lambda: False)
    apart = experiments.compare_over_seeds(["shared_bottom", "omoe", "mmoe"], (0.5, 1.0), [3, 4], **kw)
    pd.testing.assert_frame_equal(together["runs"], apart["runs"])
    pd.testing.assert_frame_equal(together["curves"], apart["curves"])
