"""The guided lessons 01-03: the stored band and its sentences, their figures and their two panels.

* :func:`mmoe_lab.lesson_panels.loss_band` against a numpy reference on a small made-up study;
* the sentences say "inside", "above", "below" where they should, with the numbers they read;
* the figures: one marker shape per architecture, ``p = 0`` drawn inside the axes, the per-epoch
  loss as the mean over tasks on whole epochs, the diagram's one mix (or one per task);
* the panels: nothing trains before a press; a press answers at once ("compiling…"), then counts
  steps with the elapsed time, ends "done", and a second press starts again from an empty bar.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mmoe_lab import lesson_panels, plots  # noqa: E402

PS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def stored() -> pd.DataFrame:
    """A made-up study: 3 p × 24 seeds, losses with a known pattern (no training)."""
    rng = np.random.default_rng(0)
    rows = []
    for p in PS:
        for s in range(24):
            base = 0.1 - 0.04 * p
            rows.append({"correlation": p, "seed": s, "shared_bottom": base + 0.01 * rng.standard_normal(),
                         "omoe": base - 0.02 + 0.01 * rng.standard_normal()})
    return pd.DataFrame(rows).set_index(["correlation", "seed"])


def test_loss_band_matches_a_numpy_reference(stored: pd.DataFrame) -> None:
    band = lesson_panels.loss_band(stored, "shared_bottom", block=8, band=(0.1, 0.9))
    assert list(band.index) == list(PS)
    for p in PS:
        values = stored.xs(p, level="correlation")["shared_bottom"].to_numpy()
        blocks = values.reshape(3, 8).mean(axis=1)
        assert band.loc[p, "mean"] == pytest.approx(values.mean())
        assert band.loc[p, "lo"] == pytest.approx(np.quantile(blocks, 0.1))
        assert band.loc[p, "hi"] == pytest.approx(np.quantile(blocks, 0.9))
        assert band.loc[p, "seeds"] == 24 and band.loc[p, "blocks"] == 3
    assert band.attrs == {"arch": "shared_bottom", "block": 8, "coverage": pytest.approx(0.8)}


def test_loss_band_rejects_bad_arguments(stored: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="`arch` should be one of"):
        lesson_panels.loss_band(stored, "mmoe")
    with pytest.raises(ValueError, match="`band` should be two quantiles"):
        lesson_panels.loss_band(stored, "omoe", band=(0.9, 0.1))
    with pytest.raises(ValueError, match="`block` should be a positive integer"):
        lesson_panels.loss_band(stored, "omoe", block=0)


def _sentence(text: str) -> str:
    """A describe_* sentence, wrapped at 100 characters, as one line again."""
    assert max(map(len, text.split("\n"))) <= 100, text
    return " ".join(text.split())


def test_describe_draw_reads_where_a_mean_fell(stored: pd.DataFrame) -> None:
    band = lesson_panels.loss_band(stored, "shared_bottom")
    lo, hi, mean = band.loc[0.5, "lo"], band.loc[0.5, "hi"], band.loc[0.5, "mean"]

    def draw(p: float, value: float, **kwargs: int) -> str:
        return _sentence(lesson_panels.describe_draw(band, p, value, "shared_bottom", **kwargs))

    assert ": inside the band" in draw(0.5, (lo + hi) / 2)
    above = draw(0.5, hi + 0.05)
    assert ": above the band" in above and f"({lo:.3f}–{hi:.3f})" in above and f"mean {mean:.3f}" in above
    assert ": below the band" in draw(0.5, lo - 0.01)
    assert "at the 24-seed mean" in draw(0.5, mean)
    between = draw(0.25, 0.5, seeds=3)
    assert "your 3-seed mean" in between and "read between the stored p" in between
    assert "80% of 8-seed means" in between


def test_describe_rise_and_block_rise(stored: pd.DataFrame) -> None:
    band = lesson_panels.loss_band(stored, "shared_bottom")
    text = _sentence(lesson_panels.describe_rise(band, "shared_bottom"))
    rise = band.loc[0.5, "mean"] / band.loc[1.0, "mean"] - 1
    assert f"{rise:+.0%} relative to p = 1" in text
    assert "the paper's Fig. 4: +25%" in text  # 0.20 -> 0.25 in the paper's read-off
    blocks = _sentence(lesson_panels.describe_block_rise(stored, "omoe"))
    wide = stored["omoe"].unstack("correlation")
    means = wide.groupby(wide.index // 8).mean()
    assert blocks.startswith(f"On {int((means[0.5] > means[1.0]).sum())} of 3 stored blocks of 8 seeds")


def test_describe_gate_names_one_mix() -> None:
    one = np.tile(np.array([[0.5, 0.25, 0.25]]), (4, 2, 1))
    assert "runs from 0.250 to 0.500" in _sentence(lesson_panels.describe_gate(one))
    assert _sentence(lesson_panels.describe_gate(one)).endswith("the same mix: yes.")
    two = one.copy()
    two[:, 1] = [0.25, 0.25, 0.5]
    assert _sentence(lesson_panels.describe_gate(two)).endswith("the same mix: no.")
    with pytest.raises(ValueError, match=r"`gates` should be an array of shape \(batch, tasks, experts\)"):
        lesson_panels.describe_gate(one[0])


def test_band_figure_markers_and_padding(stored: pd.DataFrame) -> None:
    sb, om = (lesson_panels.loss_band(stored, a) for a in ("shared_bottom", "omoe"))
    fig = plots.plot_loss_band_vs_p(om, points=[{"p": 0.0, "loss": 0.05, "seeds": [0.04, 0.06, 9.0]}], arch="omoe",
                                    reference=sb)
    ax = fig.axes[0]
    markers = {line.get_label(): line.get_marker() for line in ax.get_lines()}
    assert markers["one-gate MoE: mean over 24 seeds"] == "o"
    assert markers["shared-bottom: mean (for reference)"] == "s"
    assert markers["your 8-seed mean"] == "o"
    assert "1 single seed(s) above the plot" in markers  # the 9.0 seed is marked, not drawn off the axes
    assert ax.get_xlim()[0] <= -0.05 and ax.get_xlim()[1] >= 1.05  # a p = 0 (or 1) marker is drawn whole
    assert len({plots.ARCH_MARKERS[a] for a in ("shared_bottom", "omoe", "mmoe")}) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="`band` should be a table with the columns"):
        plots.plot_loss_band_vs_p(om.drop(columns="lo"), arch="omoe")


def test_epoch_losses_are_task_means_on_whole_epochs() -> None:
    hist = pd.DataFrame({"val_loss": [2.0, 1.0, 0.5], "val_task_0_loss": [1.5, 0.8, 0.4],
                         "val_task_1_loss": [0.5, 0.2, 0.1]})
    fig = plots.plot_epoch_losses({"a": hist})
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [1.0, 0.5, 0.25])
    assert list(line.get_xdata()) == [1, 2, 3]
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())
    plt.close(fig)
    with pytest.raises(ValueError, match="per-task columns"):
        plots.plot_epoch_losses({"a": hist[["val_loss"]]})


def test_moe_diagram_draws_one_mix_or_one_per_task() -> None:
    from matplotlib.patches import Circle

    w = np.full(8, 1 / 8)
    for gates, title in ((w[None], "both towers receive the same mix"), (np.stack([w, w]), "its own mix")):
        fig = plots.plot_moe_diagram(gates)
        ax = fig.axes[0]
        assert sum(isinstance(a, Circle) for a in ax.patches) == len(gates)  # one Σ per gate
        assert title in ax.get_title()
        plt.close(fig)
    with pytest.raises(ValueError, match="softmax weights"):
        plots.plot_moe_diagram(np.ones((1, 8)))


def test_gate_mix_bars() -> None:
    g = np.random.default_rng(0).dirichlet(np.ones(4), size=50)
    fig = plots.plot_gate_mix(g)
    heights = [b.get_height() for b in fig.axes[0].patches]
    np.testing.assert_allclose(heights, g.mean(axis=0))
    plt.close(fig)


@pytest.mark.slow
@pytest.mark.parametrize("make", [lesson_panels.shared_bottom_p_panel, lesson_panels.one_gate_panel])
def test_panel_press_answers_at_once_and_adds_a_point(make, stored: pd.DataFrame) -> None:
    panel = make(stored, correlation=0.5, seeds=range(2), compare_kwargs={"epochs": 2, "n_train": 1280})
    assert panel.controls["p"].description == "p" and panel.controls["train"].description == "Train"
    assert panel.progress_label.value.startswith("press Train: about")
    assert panel.points == [] and panel.state["source"] == "stored" and panel.n_draws == 1
    seen: list[str] = []
    panel.progress_label.observe(lambda change: seen.append(change["new"]), names="value")
    panel.controls["p"].value = 0.0
    # releasing the slider moves the dotted p line (a redraw) and trains nothing
    assert "press <i>Train</i>" in panel.status.value and panel.n_draws == 2
    assert panel.points == [] and panel.state["source"] == "stored" and seen == []
    panel.controls["train"].click()
    assert seen[0] == "compiling…"
    assert any(" · step 10/20 · " in s and s.endswith("s elapsed") for s in seen)
    assert seen[-1].startswith("done: 20 steps in")
    assert panel.progress.value == panel.progress.max == 20 and panel.progress.bar_style == "success"
    assert panel.state["source"] == "live" and panel.state["p"] == 0.0 and len(panel.state["seeds"]) == 2
    assert panel.state["mean"] == pytest.approx(np.mean(panel.state["seeds"]))
    assert panel.status.value.startswith("At p = 0 your 2-seed mean")
    assert len(panel.points) == 1 and panel.n_draws == 3
    if make is lesson_panels.one_gate_panel:
        assert panel.state["same_mix"] and sum(panel.state["mix"]) == pytest.approx(1.0, abs=1e-5)
    seen.clear()
    bar_values: list[int] = []
    panel.progress.observe(lambda change: bar_values.append(change["new"]), names="value")
    panel.controls["train"].click()  # a second press starts again from an empty bar
    assert bar_values[0] == 0 and seen[0] == "compiling…" and len(panel.points) == 2
