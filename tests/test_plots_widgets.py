"""Plots (one function per figure) and the slider panels of the guided path (notebooks 00-04).

Widget callbacks are exercised the way a learner triggers them: by setting a control's
``.value`` (what releasing a slider does) or clicking the button, then checking what was
recomputed and redrawn.
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mmoe_lab  # noqa: E402
from mmoe_lab import paper, plots  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- plots


def test_figure_png_renders_and_closes():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = plots.figure_png(fig)
    assert png.startswith(PNG_MAGIC)
    assert not plt.fignum_exists(fig.number)


def test_figure_png_scale_doubles_the_pixels_and_panels_show_half():
    def png(scale):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        return plots.figure_png(fig, scale=scale)

    assert plots.png_width(png(2.0)) in range(2 * plots.png_width(png(1.0)) - 2, 2 * plots.png_width(png(1.0)) + 3)
    with pytest.raises(ValueError, match="PNG"):
        plots.png_width(b"not a png")
    panel = mmoe_lab.widgets.correlation_panel(0.5)
    assert int(panel.image.width) == plots.png_width(panel.image.value) // 2


def test_task_vectors_angle_and_validation():
    fig = plots.plot_task_vectors(0.5)
    assert "60°" in "".join(t.get_text() for t in fig.axes[0].texts)
    with pytest.raises(ValueError, match="correlation"):
        plots.plot_task_vectors(1.5)


def test_label_scatter_title_reports_both_coefficients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(500)
    y = np.column_stack([x, np.exp(x)])  # monotone: Spearman 1, Pearson < 1
    title = plots.plot_label_scatter(y).axes[0].get_title()
    assert "Spearman 1.00" in title and "Pearson 1.00" not in title
    with pytest.raises(ValueError, match=r"shape \(n, T\)"):
        plots.plot_label_scatter(np.ones(5))
    with pytest.raises(ValueError, match="at least 2 columns"):
        plots.plot_label_scatter(np.ones((5, 1)))


def test_scatter_grid_one_panel_per_p():
    ys = {p: mmoe_lab.make_correlated_tasks(200, correlation=p, random_state=0)[1] for p in (0.0, 0.5, 1.0)}
    assert len(plots.plot_label_scatter_grid(ys).axes) == 3
    with pytest.raises(ValueError, match="empty"):
        plots.plot_label_scatter_grid({})


def test_pearson_vs_spearman_titles():
    x = np.arange(1, 9.0)
    y = np.cumsum([1, 1, 1, 1, 20, 1, 1, 40])
    a1, a2 = plots.plot_pearson_vs_spearman(x, y).axes
    assert a2.get_title().endswith("Spearman 1.00")
    assert "Pearson 1.00" not in a1.get_title()
    with pytest.raises(ValueError, match="same length"):
        plots.plot_pearson_vs_spearman(x, y[:-1])


def test_fig2_draws_paper_points_per_preset():
    curve = pd.DataFrame({"preset": ["paper"] * 2 + ["teaching"] * 2, "p": [0.5, 1.0] * 2,
                          "median": [0.1, 1, 0.4, 1], "q10": [0, 1, 0.3, 1], "q90": [0.2, 1, 0.5, 1]})
    samples = pd.DataFrame({"preset": ["paper", "teaching"], "p": [0.5, 0.5], "r": [0.1, 0.4]})
    fig = plots.plot_fig2(curve, samples)
    assert len(fig.axes) == 2
    for ax in fig.axes:  # the paper's points are on every panel
        xs = [tuple(line.get_xdata()) for line in ax.lines]
        assert tuple(paper.FIG2) in xs
    with pytest.raises(ValueError, match="columns"):
        plots.plot_fig2(curve.drop(columns="q10"))


def test_loss_curves_one_line_per_run():
    h = pd.DataFrame({"val_loss": [1.0, 0.5, 0.4]})
    fig = plots.plot_loss_curves({"a": h, "b": h * 2})
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="columns"):
        plots.plot_loss_curves({"a": h}, column="loss")


def test_gate_plots_shapes():
    rng = np.random.default_rng(0)
    g = rng.dirichlet(np.ones(4), size=(30, 2))  # (B, T, E)
    assert len(plots.plot_gate_bars(g).axes[0].patches) == 2 * 4
    fig = plots.plot_gate_heatmaps({"p = 0.5": g, "p = 1": g}, divergences={"p = 0.5": 0.1})
    assert len([a for a in fig.axes if a.get_title()]) == 4
    assert "JSD 0.100" in fig.axes[0].get_title()
    assert len(plots.plot_consultation(g[0]).axes[0].patches) == 2 * 4
    with pytest.raises(ValueError, match="batch, tasks, experts"):
        plots.plot_gate_bars(g[0])
    # whiskers are the 10-90% range over samples: never below 0 for softmax weights
    fig = plots.plot_gate_bars(g, expert_names=["a", "b", "c", "d"], uniform=1 / 3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert ax.get_ylim()[0] == 0
    assert any(line.get_label() == "uniform 0.333" for line in ax.lines)
    for coll in ax.collections:  # the error bars
        for seg in coll.get_segments():
            assert seg[:, 1].min() >= 0
    plt.close(fig)
    with pytest.raises(ValueError, match="expert_names"):
        plots.plot_gate_bars(g, expert_names=["a"])
    with pytest.raises(ValueError, match="uniform"):
        plots.plot_gate_bars(g, uniform=0)


def test_model_comparison_bars_in_kit_order():
    df = pd.DataFrame({"arch": ["mmoe", "shared_bottom", "omoe"] * 2, "test_loss": [0.1, 0.3, 0.2, 0.1, 0.3, 0.2]})
    ax = plots.plot_model_comparison(df, paper=paper.FIG4[0.5]).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="columns"):
        plots.plot_model_comparison(df.rename(columns={"arch": "model"}))


# ----------------------------------------------------------------------------- widgets


@pytest.fixture(scope="module")
def widgets_mod():
    mmoe_lab.setup_notebook(style=False)
    from mmoe_lab import widgets

    return widgets


def test_correlation_panel_redraws_on_release_under_one_second(widgets_mod):
    panel = widgets_mod.correlation_panel(0.5, seed=3)
    assert panel.n_draws == 1 and panel.state["p"] == 0.5  # default view drawn on creation
    assert all(not getattr(w, "continuous_update", False) for w in panel.controls.values())
    first_png = panel.image.value
    cpu_start = time.process_time()
    panel.controls["p"].value = 0.9
    cpu = time.process_time() - cpu_start  # CPU time: not inflated by other processes on the cores
    assert panel.n_draws == 2
    assert panel.state["p"] == 0.9 and panel.image.value != first_png
    _, y = mmoe_lab.make_correlated_tasks(2000, correlation=0.9, random_state=3)
    expected = mmoe_lab.label_correlation(y)
    assert panel.state["pearson"] == pytest.approx(expected["pearson"].iloc[0, 1])
    assert panel.state["spearman"] == pytest.approx(expected["spearman"].iloc[0, 1])
    assert f"{panel.state['pearson']:.3f}" in panel.status.value
    assert cpu < 1.0, f"slider release took {cpu:.2f} CPU s (budget: < 1 s)"
    assert panel.state["cpu_seconds"] <= cpu
    panel.controls["preset"].value = "paper"
    assert panel.n_draws == 3 and panel.state["preset"] == "paper"
    assert repr(panel) == "correlation_panel(p=0.9, preset='paper')"


def test_shared_bottom_panel_trains_only_on_click(widgets_mod):
    hist = pd.DataFrame({"val_loss": [2.0, 1.5]})
    panel = widgets_mod.shared_bottom_panel(0.5, initial={"p = 1 (reference)": hist},
                                            n_train=256, n_test=128, epochs=2)
    assert panel.n_draws == 1 and panel.state == {}  # reference drawn, nothing trained
    panel.controls["p"].value = 0.8
    assert panel.state == {} and panel.n_draws == 1  # releasing the slider does not train
    assert "p = 0.8" in panel.status.value and "Train" in panel.status.value
    panel.controls["train"].click()
    assert panel.state["p"] == 0.8 and np.isfinite(panel.state["test_loss"])
    assert panel.progress.value == panel.progress.max == 2
    assert panel.progress_label.value.startswith("done: 2 epochs in")
    assert panel.n_draws == 2 and not panel.controls["train"].disabled
    assert f"{panel.state['test_loss']:.3f}" in panel.status.value
    assert len(panel.result["history"]) == 2
    data = mmoe_lab.experiments.live_splits(0.8, 0, n_train=256, n_test=128)
    assert panel.state["label r"] == pytest.approx(data["label_r"][0, 1])


def test_mmoe_panel_retrains_with_chosen_experts(widgets_mod):
    panel = widgets_mod.mmoe_panel(0.5, 8, n_train=256, n_test=128, n_probe=64, epochs=1)
    assert panel.n_draws == 0
    panel.controls["experts"].value = 3
    panel.controls["p"].value = 0.2
    assert "experts = 3" in panel.status.value and panel.state == {}
    panel.controls["train"].click()
    layer = panel.result["model"].get_layer("mmoe")
    assert layer.num_experts == 3
    assert panel.state["experts"] == 3 and panel.state["p"] == 0.2
    assert 0.0 <= panel.state["gate JSD"] <= 1.0
    assert panel.n_draws == 1 and bytes(panel.image.value).startswith(PNG_MAGIC)


def test_train_progress_answers_at_once_counts_and_recovers_from_an_error():
    pytest.importorskip("ipywidgets")
    import ipywidgets

    from mmoe_lab.progress import TrainProgress

    button = ipywidgets.Button(description="Train")
    progress = TrainProgress("press Train: about 20 s")
    assert progress.label.value == "press Train: about 20 s"
    progress.bar.value = progress.bar.max = 5  # a previous press left the bar full
    seen: list[tuple[str, bool, int]] = []
    with progress.press(button, "MMoE"):
        seen.append((progress.label.value, button.disabled, progress.bar.value))
        progress(3, 6)
        seen.append((progress.label.value, button.disabled, progress.bar.value))
    assert seen[0] == ("compiling…", True, 0)
    assert seen[1][0].startswith("MMoE · step 3/6 · ") and seen[1][0].endswith("s elapsed")
    assert progress.label.value.startswith("done: 6 steps in") and progress.bar.bar_style == "success"
    assert not button.disabled and progress.seconds >= 0
    with pytest.raises(RuntimeError, match="boom"), progress.press(button, "MMoE"):
        raise RuntimeError("boom")
    assert progress.bar.bar_style == "danger" and "see the error below" in progress.label.value
    assert not button.disabled  # the learner can press again
