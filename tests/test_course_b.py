"""Course B (notebooks 04-06): the lesson's shape comparisons, the comparison panel, the 05 and 06
panels and figures. Each test can fail: numbers are checked against hand-computed references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def _summary() -> pd.DataFrame:
    """A small stored-study table in the layout of study.gaps_by_correlation."""
    from mmoe_lab import study

    rng = np.random.default_rng(0)
    rows = []
    for p, (sb, om, mm) in {0.0: (1.3, 1.6, 1.0), 0.5: (1.25, 1.5, 1.05), 1.0: (1.0, 1.0, 1.0)}.items():
        for seed in range(16):
            rows.append({"correlation": p, "seed": seed, "shared_bottom": sb * (1 + 0.05 * rng.standard_normal()),
                         "omoe": om * (1 + 0.05 * rng.standard_normal()), "mmoe": mm * (1 + 0.05 * rng.standard_normal())})
    per_run = pd.DataFrame(rows).set_index(["correlation", "seed"])
    return per_run, study.gaps_by_correlation(per_run, block=8)


def test_task_label_keeps_display_names_and_shifts_code_names():
    from mmoe_lab import plots

    assert plots.task_label("task_0") == "task 1"
    assert plots.task_label("task1") == "task 2"
    assert plots.task_label("task 1") == "task 1"  # already a display name: not shifted again
    assert plots.task_label("task 2") == "task 2"
    assert plots.task_label("task0_3") == "task 1 · 4"  # experts are numbered from 1 too
    assert plots.task_label("shared_0") == "shared · 1"
    assert plots.task_label("watched") == "watched"


def test_consultation_legend_names_tasks_one_and_two_without_whiskers():
    from mmoe_lab import plots

    fig = plots.plot_consultation(np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]), ["task 1", "task 2"])
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "task 1" in texts and "task 2" in texts and "task 3" not in texts
    assert "10–90" not in ax.get_ylabel()
    assert not [c for c in ax.containers if getattr(c, "errorbar", None) is not None and c.errorbar is not None]
    many = plots.plot_gate_bars(np.random.default_rng(0).dirichlet(np.ones(3), size=(20, 2)))
    assert "10–90" in many.axes[0].get_ylabel()


def test_normalised_losses_and_relative_rise_against_hand_values():
    from mmoe_lab import study

    summary = pd.DataFrame({"shared_bottom": [0.25, 0.20], "omoe": [0.145, 0.08], "mmoe": [0.08, 0.07]},
                           index=pd.Index([0.5, 1.0], name="correlation"))
    norm = study.normalised_losses(summary)
    assert norm.loc[1.0].tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(norm.loc[0.5].to_numpy(), [1.25, 0.145 / 0.08, 0.08 / 0.07])
    rise = study.relative_rise(summary, 0.5)
    np.testing.assert_allclose(rise.to_numpy(), [0.25, 0.8125, 1 / 7])
    with pytest.raises(ValueError, match="p = 0.9"):
        study.relative_rise(summary, 0.9)
    with pytest.raises(ValueError, match="p = 0.7"):
        study.normalised_losses(summary, ref=0.7)


def test_paper_fig4_summary_is_the_papers_values_and_gaps():
    from mmoe_lab import paper, study

    s = study.paper_fig4_summary()
    assert list(s.index) == sorted(paper.FIG4)
    assert s.loc[0.5, "shared_bottom"] == paper.FIG4[0.5]["shared_bottom"]
    assert s.loc[0.5, "omoe_gap"] == pytest.approx((0.145 - 0.08) / 0.145)
    assert s.loc[1.0, "sb_gap"] == pytest.approx((0.20 - 0.07) / 0.20)
    # the paper's shared-bottom rises by 25 % from p = 1 to 0.5
    assert study.relative_rise(s, 0.5)["shared_bottom"] == pytest.approx(0.25)


def test_lesson_study_agrees_with_the_papers_shared_bottom_rise():
    """The stored lesson study: shared-bottom's rise from p = 1 to 0.5 is within 5 points of the
    paper's, and the order of the three rises is the paper's."""
    from mmoe_lab import study
    from mmoe_lab.io import data_dir

    runs = study.run_table(study.load_results(data_dir() / "study" / "lesson")).xs(
        ("teaching", "fresh"), level=["preset", "n_train"])
    ours = study.relative_rise(study.gaps_by_correlation(runs))
    theirs = study.relative_rise(study.paper_fig4_summary())
    assert abs(ours["shared_bottom"] - theirs["shared_bottom"]) < 0.05
    assert list(ours.sort_values().index) == list(theirs.sort_values().index)


def test_live_gap_points_and_where_the_draw_fell():
    from mmoe_lab import study

    per_run, summary = _summary()
    runs = pd.DataFrame([{"arch": a, "correlation": 0.5, "seed": s, "test_loss": v}
                         for s in range(8) for a, v in (("shared_bottom", 2.0), ("omoe", 1.0), ("mmoe", 0.5))])
    (point,) = study.live_gap_points(runs)
    assert point == {"p": 0.5, "omoe_gap": 0.5, "sb_gap": 0.75, "seeds": 8}
    text = study.describe_gap_draw(summary, point)
    lines = text.splitlines()
    assert len(lines) == 2 and all(len(line) <= 100 for line in lines)
    lo, hi = summary.loc[0.5, "omoe_gap_lo"], summary.loc[0.5, "omoe_gap_hi"]
    where = "inside" if lo <= 0.5 <= hi else ("above" if 0.5 > hi else "below")
    assert f"one-gate gap: yours +0.50, {where} the band" in lines[0]
    assert "(interpolated)" in study.describe_gap_draw(summary, {**point, "p": 0.25})


def test_stored_runs_and_means_at_a_p():
    from mmoe_lab import study

    per_run, _ = _summary()
    long = study.stored_runs_at(per_run, 0.5)
    assert set(long.columns) == {"seed", "arch", "test_loss"} and len(long) == 16 * 3
    means = study.stored_means_at(per_run, 0.5)
    assert means["mmoe"] == pytest.approx(per_run.xs(0.5, level="correlation")["mmoe"].mean())
    assert study.stored_means_at(per_run, 0.3) == {}


def test_agreement_and_spread_sentences_fit_on_a_line_and_name_the_verdict():
    from mmoe_lab import study

    _, summary = _summary()
    lines = study.agreement_sentences(summary, study.paper_fig4_summary())
    assert len(lines) == len(summary)
    assert all(len(row) <= 100 for line in lines for row in line.splitlines())
    assert "no value at this p" in lines[0]  # p = 0: the paper has none
    assert "paper +0.13" in lines[-1] or "paper +0.12" in lines[-1]  # p = 1: the paper's gap 0.125


def test_loss_vs_p_normalised_shares_no_axis_with_absolute_paper_values():
    from mmoe_lab import plots

    _, summary = _summary()
    fig = plots.plot_loss_vs_p(summary, normalise=True)
    assert len(fig.axes) == 1 and "÷" in fig.axes[0].get_ylabel()
    fig = plots.plot_loss_vs_p(summary)
    assert len(fig.axes) == 2  # the paper's absolute losses on a twin axis
    assert "paper" in fig.axes[1].get_ylabel()
    fig = plots.plot_loss_vs_p(summary, normalise=True, legend_loc="center left")
    fig.canvas.draw()
    box = fig.axes[0].get_legend().get_window_extent().transformed(fig.axes[0].transAxes.inverted())
    assert box.x0 < 0.1 and abs((box.y0 + box.y1) / 2 - 0.5) < 0.05
    fig = plots.plot_relative_rise(summary, p=0.5)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+25 %" in texts  # the paper's shared-bottom


def test_gap_plot_marks_each_gap_with_its_own_shape_and_shows_p_zero():
    from mmoe_lab import plots

    _, summary = _summary()
    fig = plots.plot_gap_vs_p(summary, points=[{"p": 0.0, "omoe_gap": 0.48, "sb_gap": 0.49}])
    ax = fig.axes[0]
    live = [line for line in ax.lines if len(line.get_xdata()) == 1 and line.get_xdata()[0] == 0.0]
    assert {line.get_marker() for line in live} == {"o", "s"}
    assert ax.get_xlim()[0] <= -0.05


def test_comparison_view_draws_the_reference():
    from mmoe_lab import plots, study

    per_run, summary = _summary()
    fig = plots.plot_comparison_view(summary, study.stored_runs_at(per_run, 0.5), 0.5,
                                     reference=study.stored_means_at(per_run, 1.0))
    assert len(fig.axes) == 2
    assert any("p = 1" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_comparison_panel_press_resets_the_bar_and_trains_only_the_chosen_p(monkeypatch):
    pytest.importorskip("ipywidgets")
    import mmoe_lab.experiments as experiments
    from mmoe_lab import widgets

    per_run, summary = _summary()
    calls, labels = [], []

    def fake(archs, correlations, seeds, callback=None, **kw):
        calls.append((tuple(archs), tuple(correlations), tuple(seeds)))
        labels.append(panel.progress_label.value)
        assert panel.progress.value == 0  # reset before anything else happens
        callback(3, 6)
        labels.append(panel.progress_label.value)
        callback(6, 6)
        rows = [{"arch": a, "correlation": correlations[0], "seed": s, "replica": s, "test_loss": v}
                for s in seeds for a, v in (("shared_bottom", 2.0), ("omoe", 1.0), ("mmoe", 0.5))]
        return {"runs": pd.DataFrame(rows)}

    monkeypatch.setattr(experiments, "compare_over_seeds", fake)
    panel = widgets.comparison_panel(summary, per_run, correlation=0.5, seeds=[0, 1])
    assert panel.state["source"] == "stored"
    panel.progress.value = panel.progress.max = 5  # a previous press left the bar full
    panel.controls["p"].value = 0.0
    panel.train()
    assert calls == [(("shared_bottom", "omoe", "mmoe"), (0.0,), (0, 1))]
    assert labels[0] == "compiling…"
    assert "step 3/6" in labels[1] and "elapsed" in labels[1]
    assert panel.progress_label.value.startswith("done: 6 steps in")
    assert panel.points == [{"p": 0.0, "omoe_gap": 0.5, "sb_gap": 0.75}]
    # the status lists the losses in the order of the bars; the stored-p slider follows the press
    status = panel.status.value
    assert status.index("shared-bottom 2.000") < status.index("one-gate MoE 1.000") < status.index("MMoE 0.500")
    assert panel.scrub.value == min(float(q) for q in summary.index)  # the stored p nearest 0
    assert panel.state["source"] == "live" and panel.n_draws == 2  # moved quietly: no stored redraw
    assert "one-gate gap: yours +0.50" in panel.status.value
    assert panel.state["source"] == "live" and panel.state["seconds"] >= 0


def test_study_panel_says_how_to_pick_several_models():
    pytest.importorskip("ipywidgets")
    from mmoe_lab import widgets

    rows = [{"preset": "teaching", "n_train": "10000", "arch": a, "correlation": 0.5, "seed": s, "task": t,
             "final_test_loss": 0.1 + 0.01 * s, "curve_steps": "1;2", "test_curve": "0.5;0.1", "train_curve": "0.5;0.1"}
            for a in ("shared_bottom", "omoe", "mmoe") for s in range(3) for t in ("task_0", "task_1")]
    panel = widgets.study_panel(pd.DataFrame(rows), preset="teaching", correlation=0.5)
    assert any("Ctrl" in getattr(w, "value", "") for w in panel.children if hasattr(w, "value"))


def test_gate_collapse_panel_line_says_shown_after_a_run():
    pytest.importorskip("ipywidgets")
    from mmoe_lab import collapse, widgets

    def runner(cause, remedy, strength, seed=0, config=None, callbacks=()):
        g = np.full((10, 2, 8), 1 / 8)
        hist = pd.DataFrame([{"epoch": e, "task": t, "entropy": 1.0, "polarization": 0.0}
                             for e in range(2) for t in ("task_0", "task_1")])
        summary = pd.DataFrame({"polarization": [0.0, 0.0], "entropy": [1.0, 1.0]}, index=["task_0", "task_1"])
        return {"cause": cause, "remedy": remedy, "setting": collapse.remedy_setting(remedy, strength),
                "gates": g, "task_names": ["task_0", "task_1"], "history": hist, "summary": summary,
                "test_loss": {"task_0": 0.1, "task_1": 0.2}, "mean_test_loss": 0.15}

    panel = widgets.gate_collapse_panel("high_lr", "temperature", 1.0, runner=runner,
                                        config=collapse.LabConfig(epochs=2))
    assert panel.setting.value.startswith("next run")
    panel.train()
    assert panel.setting.value.startswith("shown:") and "press <i>Train</i> for another run" in panel.setting.value
    panel.controls["strength"].value = 0.5
    assert panel.setting.value.startswith("next run")


def test_remedy_colours_are_distinct_from_each_other():
    from mmoe_lab import plots

    a, b = (np.array(plots.REMEDY_COLORS[k]) for k in ("temperature", "log_transform"))
    assert np.abs(a - b).sum() > 0.5
    fig = plots.plot_gate_curves({"x": pd.DataFrame([{"epoch": 0, "task": "task_0", "entropy": 1.0,
                                                      "polarization": 0.0}])})
    assert len(fig.axes[1].get_ylabel()) <= 20


def test_worse_than_p1_sentence_counts_the_values_of_p_above_p1():
    import pandas as pd

    from mmoe_lab import study

    summary = pd.DataFrame({"shared_bottom": [1.2, 0.9, 1.0], "omoe": [1.5, 1.2, 1.0], "mmoe": [1.0, 1.0, 1.0]},
                           index=pd.Index([0.5, 0.9, 1.0], name="correlation"))
    text = study.worse_than_p1_sentence(summary, label="a study")
    flat = " ".join(text.split())
    assert flat.startswith("a study: loss above its own at p = 1, over p = 0.5 to 0.9:")
    assert "SB at 1 of 2 (-10% to +20%)" in flat and "one-gate at 2 of 2 (+20% to +50%)" in flat
    assert "MMoE at 0 of 2 (+0% to +0%)" in flat
    assert all(len(line) <= 100 for line in text.splitlines())


def test_paired_across_p_keeps_only_the_seeds_stored_at_every_p():
    from mmoe_lab import study

    per_run, _ = _summary()
    # a study grown in rounds: seeds 16-19 only at p = 0.5, seed 3 lost its MMoE run at p = 0
    extra = pd.DataFrame({"shared_bottom": 1.0, "omoe": 1.0, "mmoe": 1.0},
                         index=pd.MultiIndex.from_product([[0.5], range(16, 20)], names=["correlation", "seed"]))
    grown = pd.concat([per_run, extra])
    grown.loc[(0.0, 3), "mmoe"] = np.nan
    paired = study.paired_across_p(grown)
    seeds = paired.groupby(level="correlation").apply(lambda g: sorted(g.index.get_level_values("seed")))
    expected = [s for s in range(16) if s != 3]
    assert list(seeds) == [expected] * 3
    pd.testing.assert_frame_equal(paired.loc[(1.0, 5)].to_frame(), per_run.loc[(1.0, 5)].to_frame())
    # with every seed everywhere, nothing is dropped
    pd.testing.assert_frame_equal(study.paired_across_p(per_run), per_run)
    with pytest.raises(ValueError, match="`per_run` should be a table with the columns"):
        study.paired_across_p(per_run.drop(columns="omoe"))
