"""Every figure a notebook shows, one function each (matplotlib + seaborn, PNG output)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

__all__ = [
    "set_style",
    # guided path (issue 3)
    "PAPER_FIG2", "PAPER_FIG4", "ARCH_LABELS", "ARCH_COLORS", "figure_png", "plot_task_vectors",
    "plot_label_scatter", "plot_label_scatter_grid", "plot_pearson_vs_spearman", "plot_fig2",
    "plot_loss_curves", "plot_gate_bars", "plot_gate_heatmaps", "plot_consultation",
    "plot_model_comparison",
]


def set_style() -> None:
    """The kit's plot style: seaborn ``whitegrid``, compact fonts, PNG inline figures."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "figure.figsize": (6.4, 3.6),
                         "axes.titlesize": "medium"})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # not in IPython
        pass


# ============================================================================================
# Guided path (notebooks 00-04; issue 3). One function per figure; each returns the Figure.
# ============================================================================================

#: Label Pearson r against the task correlation p, read off the paper's Fig. 2 (Ma et al. 2018).
PAPER_FIG2: dict[float, float] = {0.5: 0.07, 0.8: 0.19, 0.9: 0.30, 0.95: 0.45, 1.0: 1.0}

#: Final test loss read off the paper's Fig. 4 ``{p: {arch: loss}}``.
PAPER_FIG4: dict[float, dict[str, float]] = {
    0.5: {"shared_bottom": 0.25, "omoe": 0.145, "mmoe": 0.08},
    0.9: {"shared_bottom": 0.22, "omoe": 0.12, "mmoe": 0.08},
    1.0: {"shared_bottom": 0.20, "omoe": 0.08, "mmoe": 0.07},
}

ARCH_LABELS: dict[str, str] = {"shared_bottom": "shared-bottom", "omoe": "one-gate MoE", "mmoe": "MMoE"}
ARCH_COLORS: dict[str, str] = {"shared_bottom": "#7f7f7f", "omoe": "#1f77b4", "mmoe": "#d62728"}


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes and close it (how widget panels show a figure)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _as_array(a: Any, ndim: int, name: str, shape_doc: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"`{name}` should have shape {shape_doc}. Received shape {arr.shape}")
    return arr


def plot_task_vectors(correlation: float) -> Figure:
    """The generator's geometry in the plane of ``u1, u2``: ``w1 = u1``, ``w2 = p·u1 + √(1-p²)·u2``.

    Args:
        correlation: the cosine ``p`` in [-1, 1]; the angle between ``w1`` and ``w2`` is
            ``arccos p``.
    """
    p = float(correlation)
    if not -1.0 <= p <= 1.0:
        raise ValueError(f"`correlation` should be in [-1, 1]. Received: correlation={correlation!r}")
    q = float(np.sqrt(1.0 - p**2))
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    arrows = (((1, 0), "u1", "#bbbbbb", "--", (1.03, -0.14)), ((0, 1), "u2", "#bbbbbb", "--", (-0.2, 1.0)),
              ((1, 0), "w1", ARCH_COLORS["omoe"], "-", (1.03, 0.04)),
              ((p, q), "w2", ARCH_COLORS["mmoe"], "-", (p + 0.04, q + 0.06)))
    for (vx, vy), name, color, style, (tx, ty) in arrows:
        ax.annotate("", xy=(vx, vy), xytext=(0, 0),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 2, "linestyle": style})
        ax.text(tx, ty, name, color=color, fontsize=11)
    theta = np.linspace(0, np.arccos(p), 50)
    ax.plot(0.3 * np.cos(theta), 0.3 * np.sin(theta), color="k", lw=1)
    ax.text(0.33 * np.cos(theta[len(theta) // 2]), 0.33 * np.sin(theta[len(theta) // 2]),
            f"arccos {p:g} = {np.degrees(np.arccos(p)):.0f}°", fontsize=9)
    ax.set(xlim=(-1.15, 1.3), ylim=(-0.25, 1.3), aspect="equal", xticks=[], yticks=[],
           title=f"task weights at p = {p:g}")
    ax.grid(False)
    return fig


def plot_label_scatter(y: Any, ax: Any = None, title: str | None = None, max_points: int = 1500) -> Figure:
    """Scatter of task 2's label against task 1's, with Pearson and Spearman r in the title.

    Args:
        y: labels ``(n, 2)`` (more columns: the first two are used).
        ax: an Axes to draw into (a new figure if None).
        title: prefix of the title (e.g. ``"p = 0.5"``).
        max_points: draw at most this many points (the coefficients use all rows).
    """
    y = _as_array(y, 2, "y", "(n, T) with T >= 2")
    if y.shape[1] < 2:
        raise ValueError(f"`y` should have at least 2 columns. Received shape {y.shape}")
    from scipy.stats import spearmanr

    pear = float(np.corrcoef(y[:, 0], y[:, 1])[0, 1])
    spear = float(spearmanr(y[:, 0], y[:, 1]).statistic)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(3.6, 3.4))
    shown = y[:max_points]
    ax.scatter(shown[:, 0], shown[:, 1], s=4, alpha=0.35, color=ARCH_COLORS["omoe"], linewidths=0)
    head = f"{title}\n" if title else ""
    ax.set(xlabel="y1", ylabel="y2", title=f"{head}Pearson {pear:.2f} · Spearman {spear:.2f}")
    return fig


def plot_label_scatter_grid(labels: dict[float, Any]) -> Figure:
    """One :func:`plot_label_scatter` panel per task correlation ``{p: Y (n, 2)}``, side by side."""
    if not labels:
        raise ValueError("`labels` should map at least one p to a label array. Received an empty dict")
    fig, axes = plt.subplots(1, len(labels), figsize=(2.9 * len(labels), 3.1), sharex=True, sharey=True)
    for ax, (p, y) in zip(np.atleast_1d(axes), labels.items(), strict=True):
        plot_label_scatter(y, ax=ax, title=f"p = {p:g}")
        ax.label_outer()
    fig.tight_layout()
    return fig


def plot_pearson_vs_spearman(x: Any, y: Any) -> Figure:
    """A monotone relation with uneven steps: Spearman sees it fully, Pearson only partly.

    Args:
        x, y: 1-D arrays of equal length.
    """
    from scipy.stats import spearmanr

    x, y = _as_array(x, 1, "x", "(n,)"), _as_array(y, 1, "y", "(n,)")
    if x.shape != y.shape:
        raise ValueError(f"`x` and `y` should have the same length. Received {x.shape} and {y.shape}")
    pear = float(np.corrcoef(x, y)[0, 1])
    spear = float(spearmanr(x, y).statistic)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.0))
    a1.plot(x, y, "o-", color=ARCH_COLORS["mmoe"])
    a1.set(xlabel="task A", ylabel="task B", title=f"values: Pearson {pear:.2f}")
    rx, ry = np.argsort(np.argsort(x)) + 1, np.argsort(np.argsort(y)) + 1
    a2.plot(rx, ry, "o-", color=ARCH_COLORS["omoe"])
    a2.set(xlabel="rank of A", ylabel="rank of B", title=f"ranks: Spearman {spear:.2f}")
    fig.tight_layout()
    return fig


def plot_fig2(curve: Any, samples: Any = None) -> Figure:
    """The paper's Fig. 2 beside the kit: label Pearson r against the task correlation p.

    Args:
        curve: DataFrame with columns ``preset, p, median, q10, q90`` (exact population r over
            random draws of the generator's constants, as from
            :func:`mmoe_lab.synthetic.population_label_correlation`).
        samples: optional DataFrame with columns ``preset, p, r`` (sample Pearson r of drawn
            datasets), drawn as dots.
    """
    need = {"preset", "p", "median", "q10", "q90"}
    if not need <= set(curve.columns):
        raise ValueError(f"`curve` should have columns {sorted(need)}. Received {list(curve.columns)}")
    presets = list(dict.fromkeys(curve["preset"]))
    fig, axes = plt.subplots(1, len(presets), figsize=(3.6 * len(presets), 3.2), sharey=True)
    for ax, preset in zip(np.atleast_1d(axes), presets, strict=True):
        c = curve[curve["preset"] == preset].sort_values("p")
        ax.fill_between(c["p"], c["q10"], c["q90"], color=ARCH_COLORS["omoe"], alpha=0.2,
                        label="kit: 10–90% of draws")
        ax.plot(c["p"], c["median"], color=ARCH_COLORS["omoe"], label="kit: median (exact)")
        if samples is not None:
            s = samples[samples["preset"] == preset]
            ax.plot(s["p"], s["r"], ".", color="k", ms=4, alpha=0.6, label="kit: sample r")
        ax.plot(list(PAPER_FIG2), list(PAPER_FIG2.values()), "s", color=ARCH_COLORS["mmoe"], ms=7,
                label="paper Fig. 2 (read off)")
        ax.set(xlabel="task correlation p = cos(w1, w2)", title=f'preset "{preset}"')
    np.atleast_1d(axes)[0].set_ylabel("label Pearson r")
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_loss_curves(histories: dict[str, Any], column: str = "val_loss", title: str | None = None) -> Figure:
    """Test (validation) loss per epoch, one line per run ``{label: history DataFrame}``.

    Args:
        histories: label → DataFrame with one row per epoch (as returned in
            ``train_and_evaluate(...)["history"]``); the loss is the sum over tasks.
        column: which history column to draw.
    """
    if not histories:
        raise ValueError("`histories` should hold at least one run. Received an empty dict")
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    palette = sns.color_palette("flare", len(histories))
    for color, (label, hist) in zip(palette, histories.items(), strict=True):
        if column not in hist:
            raise ValueError(f"history {label!r} has no column {column!r}. Columns: {list(hist.columns)}")
        ax.plot(np.arange(1, len(hist) + 1), hist[column], color=color, lw=2, label=label)
    ax.set(xlabel="epoch", ylabel=f"{column} (sum over tasks)", title=title or "")
    ax.legend(fontsize=9)
    return fig


def plot_gate_bars(gates: Any, task_names: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Mean gate weight per expert (± one std over samples), one bar group per task.

    Args:
        gates: gate weights ``(B, T, E)``; for a one-gate MoE all T rows are the same gate,
            so pass ``gates[:, :1]`` to draw it once.
        task_names: labels of the T rows.
    """
    g = _as_array(gates, 3, "gates", "(batch, tasks, experts)")
    _, t, e = g.shape
    names = list(task_names) if task_names is not None else [f"task {i}" for i in range(t)]
    mean, std = g.mean(0), g.std(0)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * e * t + 1.5), 3.2))
    width = 0.8 / t
    colors = [ARCH_COLORS["omoe"], ARCH_COLORS["mmoe"], "#2ca02c", "#9467bd"]
    for i in range(t):
        ax.bar(np.arange(e) + (i - (t - 1) / 2) * width, mean[i], width, yerr=std[i], capsize=2,
               color=colors[i % len(colors)], label=names[i], error_kw={"lw": 0.8})
    ax.axhline(1 / e, color="k", lw=0.8, ls=":", label="uniform 1/E")
    ax.set(xticks=range(e), xlabel="expert", ylabel="gate weight", title=title or "")
    ax.legend(fontsize=8)
    return fig


def plot_gate_heatmaps(gates_by_label: dict[str, Any], n_samples: int = 40,
                       divergences: dict[str, float] | None = None) -> Figure:
    """Per-task gate heatmaps (samples × experts), one row of panels per run.

    Args:
        gates_by_label: run label (e.g. ``"p = 0.5"``) → gate weights ``(B, T, E)``.
        n_samples: how many samples (rows) to show per panel.
        divergences: optional run label → Jensen–Shannon divergence between the tasks' mean
            gate distributions, written in the row title.
    """
    if not gates_by_label:
        raise ValueError("`gates_by_label` should hold at least one run. Received an empty dict")
    arrays = {k: _as_array(v, 3, "gates", "(batch, tasks, experts)") for k, v in gates_by_label.items()}
    t = max(a.shape[1] for a in arrays.values())
    fig, axes = plt.subplots(len(arrays), t, figsize=(2.6 * t + 0.8, 2.3 * len(arrays)), squeeze=False)
    for r, (label, g) in enumerate(arrays.items()):
        for k in range(t):
            ax = axes[r, k]
            sns.heatmap(g[:n_samples, k, :], ax=ax, vmin=0, vmax=1, cmap="viridis", cbar=k == t - 1,
                        xticklabels=True, yticklabels=False)
            extra = f" · JSD {divergences[label]:.3f}" if divergences and label in divergences else ""
            ax.set(title=f"{label} · task {k}" + (extra if k == 0 else ""),
                   xlabel="expert" if r == len(arrays) - 1 else "", ylabel="sample" if k == 0 else "")
    fig.tight_layout()
    return fig


def plot_consultation(gates_one: Any, task_names: Sequence[str] | None = None) -> Figure:
    """"Specialists consulting on one patient": each task's gate weights for one sample.

    Args:
        gates_one: gate weights of one sample ``(T, E)``.
    """
    g = _as_array(gates_one, 2, "gates_one", "(tasks, experts)")
    return plot_gate_bars(g[None], task_names, title="one sample: how much each task listens to each expert")


def plot_model_comparison(results: Any, paper: dict[str, float] | None = None, title: str | None = None) -> Figure:
    """Mean test MSE per architecture (dots: one per seed), optionally beside the paper's values.

    Args:
        results: DataFrame with columns ``arch`` and ``test_loss`` (one row per seed and arch),
            as from :func:`mmoe_lab.experiments.compare_architectures`.
        paper: optional ``{arch: loss}`` read off the paper (e.g. ``PAPER_FIG4[0.5]``).
    """
    if not {"arch", "test_loss"} <= set(results.columns):
        raise ValueError(f"`results` should have columns 'arch' and 'test_loss'. Received {list(results.columns)}")
    archs = [a for a in ARCH_LABELS if a in set(results["arch"])]
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    for i, arch in enumerate(archs):
        vals = results.loc[results["arch"] == arch, "test_loss"].to_numpy()
        ax.bar(i, vals.mean(), color=ARCH_COLORS[arch], alpha=0.8, width=0.6)
        ax.plot(np.full(len(vals), i), vals, "o", color="k", ms=3)
        if paper and arch in paper:
            ax.plot(i, paper[arch], "D", color="w", mec="k", ms=7, label="paper Fig. 4" if i == 0 else None)
    ax.set(xticks=range(len(archs)), xticklabels=[ARCH_LABELS[a] for a in archs],
           ylabel="test MSE (mean over tasks)", title=title or "")
    if paper:
        ax.legend(fontsize=8)
    return fig
