"""Figures of the tasks and their correlation (notebooks 00-01) and of the guided path's runs
(02-04): task vectors, label scatters, Fig. 2, loss curves, model comparisons, seed curves."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .._validate import check_columns, check_ndim, check_nonempty, check_number, invalid
from ..paper import FIG2
from .style import ARCH_COLORS, ARCH_LABELS


def plot_task_vectors(correlation: float) -> Figure:
    """The generator's geometry in the plane of ``u1, u2``: ``w1 = u1``, ``w2 = p·u1 + √(1-p²)·u2``.

    Args:
        correlation: the cosine ``p`` in [-1, 1]; the angle between ``w1`` and ``w2`` is
            ``arccos p``.
    """
    p = check_number("correlation", correlation, -1, 1)
    q = float(np.sqrt(1.0 - p**2))
    fig, ax = plt.subplots(figsize=(4.4, 4.0))
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
    y = check_ndim("y", y, 2, "(n, T) with T >= 2", np.float64)
    if y.shape[1] < 2:
        raise invalid("y", "labels of shape (n, T) with at least 2 columns", y, received=f"`y` of shape {y.shape}")
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
    check_nonempty("labels", labels, "a dict mapping at least one p to a label array")
    # at most 9.4 in wide: the width of a notebook's output area in a 1,400-px window
    fig, axes = plt.subplots(1, len(labels), figsize=(min(2.9 * len(labels), 9.4), 3.0), sharex=True, sharey=True)
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

    x, y = check_ndim("x", x, 1, "(n,)", np.float64), check_ndim("y", y, 1, "(n,)", np.float64)
    if x.shape != y.shape:
        raise invalid("y", f"values of the same length as `x` {x.shape}", y, received=f"shape {y.shape}")
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
    check_columns("curve", curve, ("preset", "p", "median", "q10", "q90"))
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
        ax.plot(list(FIG2), list(FIG2.values()), "s", color=ARCH_COLORS["mmoe"], ms=7,
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
    check_nonempty("histories", histories, "a dict of at least one run")
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    palette = sns.color_palette("flare", len(histories))
    for color, (label, hist) in zip(palette, histories.items(), strict=True):
        check_columns(f"histories[{label!r}]", hist, (column,))
        ax.plot(np.arange(1, len(hist) + 1), hist[column], color=color, lw=2, label=label)
    ylabel = "test MSE (sum over tasks)" if column == "val_loss" else f"{column} (sum over tasks)"
    ax.set(xlabel="epoch", ylabel=ylabel, title=title or "")
    ax.legend(fontsize=9)
    return fig


def plot_model_comparison(results: Any, paper: dict[str, float] | None = None, title: str | None = None,
                          ax: Any = None) -> Figure:
    """Mean test MSE per architecture (dots: one per seed), optionally beside the paper's values.

    Args:
        results: DataFrame with columns ``arch`` and ``test_loss`` (one row per seed and arch),
            as from :func:`mmoe_lab.experiments.compare_over_seeds` (its ``"runs"``).
        paper: optional ``{arch: loss}`` read off the paper (e.g. ``mmoe_lab.paper.FIG4[0.5]``).
        ax: draw into this axes (default: a new figure).
    """
    check_columns("results", results, ("arch", "test_loss"))
    archs = [a for a in ARCH_LABELS if a in set(results["arch"])]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
    fig = ax.figure
    for i, arch in enumerate(archs):
        vals = results.loc[results["arch"] == arch, "test_loss"].to_numpy()
        ax.bar(i, vals.mean(), color=ARCH_COLORS[arch], alpha=0.8, width=0.6)
        jitter = np.linspace(-0.18, 0.18, len(vals)) if len(vals) > 12 else np.zeros(len(vals))
        ax.plot(i + jitter, vals, "o", color="k", ms=3 if len(vals) <= 12 else 1.5,
                alpha=1.0 if len(vals) <= 12 else 0.4)
        if paper and arch in paper:
            ax.plot(i, paper[arch], "D", color="w", mec="k", ms=7, label="paper Fig. 4" if i == 0 else None)
    ax.set(xticks=range(len(archs)), xticklabels=[ARCH_LABELS[a] for a in archs],
           ylabel="test MSE (mean over tasks)", title=title or "")
    if paper:
        ax.legend(fontsize=8)
    return fig


def plot_seed_curves(curves: Any, runs: Any, by: str = "correlation", title: str | None = None) -> Figure:
    """Many seeds at once: mean test-loss curve per group, and every seed's final loss.

    Left: the mean over seeds of the test MSE at each step, one line per group, with a band of
    ± one standard error of that mean. Right: each seed's final test MSE as a dot, dots of the
    same seed joined across groups (a *paired* comparison: same data seed, only the group
    differs), and the group mean as a bar.

    Args:
        curves: DataFrame with columns ``by``, ``seed``, ``step``, ``test_loss`` (as
            ``compare_over_seeds(...)["curves"]``), for one architecture if ``by`` is not ``arch``.
        runs: DataFrame with columns ``by``, ``seed``, ``test_loss`` (``["runs"]``).
        by: the grouping column: ``"correlation"`` or ``"arch"``.
    """
    for name, df, cols in (("curves", curves, {by, "seed", "step", "test_loss"}), ("runs", runs, {by, "seed", "test_loss"})):
        check_columns(name, df, sorted(cols))
    groups = list(dict.fromkeys(runs[by]))
    if by == "correlation":
        groups = sorted(groups, reverse=True)
        colors = dict(zip(groups, sns.color_palette("flare", len(groups)), strict=True))
        label = {g: f"p = {g:g}" for g in groups}
    else:
        colors = {g: ARCH_COLORS.get(g, "k") for g in groups}
        label = {g: ARCH_LABELS.get(g, str(g)) for g in groups}
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.2, 3.4), gridspec_kw={"width_ratios": [1.4, 1]})
    for g in groups:
        c = curves[curves[by] == g].groupby("step")["test_loss"].agg(["mean", "sem"]).reset_index()
        left.plot(c["step"], c["mean"], color=colors[g], lw=2, label=label[g])
        left.fill_between(c["step"], c["mean"] - c["sem"], c["mean"] + c["sem"], color=colors[g], alpha=0.2, lw=0)
    n = runs["seed"].nunique()
    left.set(xlabel="training step", ylabel="test MSE (mean over tasks)", yscale="log",
             title=f"mean over {n} seeds (band: ± 1 s.e.)")
    left.legend(fontsize=8)
    wide = runs.pivot_table(index="seed", columns=by, values="test_loss")[groups]
    xs = np.arange(len(groups))
    if len(wide) <= 30:  # few seeds: join each seed's runs (a paired comparison)
        for _, row in wide.iterrows():
            right.plot(xs, row.to_numpy(), "-o", color="k", alpha=0.35, ms=3, lw=0.8)
        what = "one line per seed"
    else:  # many seeds: lines would be a hairball; a jittered strip of dots per group instead
        jitter = np.random.default_rng(0).uniform(-0.22, 0.22, len(wide))
        for x, g in zip(xs, groups, strict=True):
            right.plot(x + jitter, wide[g].to_numpy(), "o", color=colors[g], alpha=0.35, ms=2)
        what = "one dot per seed"
    # the mean as a short thick line (no bars: a bar on a log axis has no meaningful base)
    for x, g in zip(xs, groups, strict=True):
        right.plot([x - 0.3, x + 0.3], [wide[g].mean()] * 2, color=colors[g], lw=3, solid_capstyle="butt")
    right.set(xticks=xs, xticklabels=[label[g] for g in groups], yscale="log", xlim=(-0.6, len(groups) - 0.4),
              title=f"final loss: {what}, thick line = mean")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
