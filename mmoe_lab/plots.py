"""Every figure a notebook shows, one function each (matplotlib + seaborn, PNG output)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from . import paper as _paper

__all__ = [
    # style, colours and names shared by every figure
    "set_style", "figure_png", "png_width", "ARCH_LABELS", "ARCH_COLORS", "MORE_ARCH_LABELS", "task_label",
    "arch_label", "PAPER_FIG2", "PAPER_FIG4",
    # guided path (01-04): generator, architectures, gates
    "plot_task_vectors", "plot_label_scatter", "plot_label_scatter_grid", "plot_pearson_vs_spearman", "plot_fig2",
    "plot_loss_curves", "plot_gate_bars", "plot_gate_heatmaps", "plot_consultation", "plot_model_comparison",
    "plot_seed_curves",
    # practitioner tasks (07-10)
    "plot_watch_time", "plot_gradient_norms", "plot_mtl_gain", "plot_cvr_calibration", "plot_census_auc",
    # the correlation lesson and the stored study (02-05)
    "GAP_STYLE", "plot_gap_vs_p", "plot_loss_vs_p", "plot_fig4_curves", "plot_fig5_hist", "plot_datasize",
    "plot_spread_by_size",
    # gate collapse (06)
    "COLLAPSE_COLORS", "plot_gate_mean_heatmap", "plot_gate_curves", "plot_utilization", "plot_gate_diagnostics",
]


def set_style() -> None:
    """The kit's plot style: seaborn ``whitegrid``, compact fonts, sharp PNG inline figures.

    Inline figures are PNGs drawn at twice their display resolution ("retina"): a 6.4-inch
    figure shows 640 px wide and stays sharp on high-density laptop screens.
    """
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (6.4, 3.6),
                         "axes.titlesize": "medium"})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # not in IPython
        pass


# ============================================================================================
# Guided path (notebooks 00-04). One function per figure; each returns the Figure.
# ============================================================================================

#: Label Pearson r against the task correlation p, read off the paper's Fig. 2
#: (:data:`mmoe_lab.paper.FIG2`, under the name notebooks use).
PAPER_FIG2 = _paper.FIG2

#: Final test loss read off the paper's Fig. 4 ``{p: {arch: loss}}`` (:data:`mmoe_lab.paper.FIG4`).
PAPER_FIG4 = _paper.FIG4

ARCH_LABELS: dict[str, str] = {"shared_bottom": "shared-bottom", "omoe": "one-gate MoE", "mmoe": "MMoE"}
ARCH_COLORS: dict[str, str] = {"shared_bottom": "#7f7f7f", "omoe": "#1f77b4", "mmoe": "#d62728"}
#: Display names of the architectures beyond the guided path (notebooks 07-10).
MORE_ARCH_LABELS: dict[str, str] = {"cgc": "CGC", "ple": "PLE", "stacked_mmoe": "stacked MMoE",
                                    "single_task": "single-task", "esmm": "ESMM"}


def task_label(name: Any) -> str:
    """How a figure names a task: the kit numbers tasks from 1, as the paper does.

    Code names of the form ``task_0`` / ``task0`` / ``task 0`` become ``"task 1"``; a task-specific
    expert ``task0_1`` becomes ``"task 1 · 1"`` and a shared one ``shared_1`` ``"shared · 1"`` (experts
    keep their 0-based index); named tasks (``"watched"``, ``"ctr"``) are returned as they are.
    """
    text = str(name)
    m = re.fullmatch(r"task[ _]?(\d+)", text)
    if m:
        return f"task {int(m.group(1)) + 1}"
    m = re.fullmatch(r"task[ _]?(\d+)_(\d+)", text)
    if m:
        return f"task {int(m.group(1)) + 1} · {m.group(2)}"
    m = re.fullmatch(r"shared_(\d+)", text)  # a shared expert, named like the task-specific ones
    if m:
        return f"shared · {m.group(1)}"
    return text


def arch_label(name: str) -> str:
    """Display name of an architecture key (``"mmoe"`` → ``"MMoE"``); unknown keys unchanged."""
    return {**ARCH_LABELS, **MORE_ARCH_LABELS}.get(name, name)


def figure_png(fig: Figure, scale: float = 2.0) -> bytes:
    """Render ``fig`` to PNG bytes at ``scale`` × its dpi and close it (how widget panels show a
    figure). Shown at ``1/scale`` of its pixel width (:func:`png_width`), a 2× PNG stays sharp on
    high-density screens, like the notebooks' inline figures."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi * scale)
    plt.close(fig)
    return buf.getvalue()


def png_width(png: bytes) -> int:
    """Pixel width of PNG bytes (from the IHDR header)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("`png` should be PNG bytes (they start with the PNG signature)")
    return int.from_bytes(png[16:20], "big")


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
    ylabel = "test MSE (sum over tasks)" if column == "val_loss" else f"{column} (sum over tasks)"
    ax.set(xlabel="epoch", ylabel=ylabel, title=title or "")
    ax.legend(fontsize=9)
    return fig


def plot_gate_bars(gates: Any, task_names: Sequence[str] | None = None, title: str | None = None, *,
                   expert_names: Sequence[str] | None = None, uniform: float | None = None) -> Figure:
    """Mean gate weight per expert, one bar group per task; whiskers: 10th–90th percentile over
    samples (softmax weights live in [0, 1], so a ± std whisker could cross 0).

    Args:
        gates: gate weights ``(B, T, E)``; for a one-gate MoE all T rows are the same gate,
            so pass ``gates[:, :1]`` to draw it once.
        task_names: labels of the T rows.
        expert_names: labels of the E experts (default ``0 .. E-1``).
        uniform: the weight of a uniform gate, drawn as a dotted line (default ``1/E``; pass
            ``1/k`` when each gate only sees ``k`` of the experts, as in CGC).
    """
    g = _as_array(gates, 3, "gates", "(batch, tasks, experts)")
    _, t, e = g.shape
    names = [task_label(n) for n in task_names] if task_names is not None else [f"task {i + 1}" for i in range(t)]
    if expert_names is not None and len(expert_names) != e:
        raise ValueError(f"`expert_names` should name the {e} experts. Received {len(expert_names)} names")
    if uniform is not None and not 0.0 < float(uniform) <= 1.0:
        raise ValueError(f"`uniform` should be a weight in (0, 1]. Received: uniform={uniform!r}")
    mean = g.mean(0)
    lo, hi = np.quantile(g, 0.1, axis=0), np.quantile(g, 0.9, axis=0)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * e * t + 1.5), 3.2))
    width = 0.8 / t
    colors = [ARCH_COLORS["omoe"], ARCH_COLORS["mmoe"], "#2ca02c", "#9467bd"]
    for i in range(t):
        err = np.stack([mean[i] - lo[i], hi[i] - mean[i]]).clip(min=0)
        ax.bar(np.arange(e) + (i - (t - 1) / 2) * width, mean[i], width, yerr=err, capsize=2,
               color=colors[i % len(colors)], label=names[i], error_kw={"lw": 0.8})
    level = 1 / e if uniform is None else float(uniform)
    ax.axhline(level, color="k", lw=0.8, ls=":", label="uniform 1/E" if uniform is None else f"uniform {level:.3g}")
    ax.set(xticks=range(e), xlabel="expert", ylabel="gate weight (mean, 10–90%)", title=title or "")
    if expert_names is not None:
        ax.set_xticklabels([task_label(n) for n in expert_names], rotation=30 if max(len(str(n)) for n in expert_names) > 3 else 0,
                           ha="right" if max(len(str(n)) for n in expert_names) > 3 else "center", fontsize=9)
    ax.set_ylim(bottom=0)
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
            ax.set(title=f"{label} · task {k + 1}" + (extra if k == 0 else ""),
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


def plot_model_comparison(results: Any, paper: dict[str, float] | None = None, title: str | None = None,
                          ax: Any = None) -> Figure:
    """Mean test MSE per architecture (dots: one per seed), optionally beside the paper's values.

    Args:
        results: DataFrame with columns ``arch`` and ``test_loss`` (one row per seed and arch),
            as from :func:`mmoe_lab.experiments.compare_architectures`.
        paper: optional ``{arch: loss}`` read off the paper (e.g. ``PAPER_FIG4[0.5]``).
        ax: draw into this axes (default: a new figure).
    """
    if not {"arch", "test_loss"} <= set(results.columns):
        raise ValueError(f"`results` should have columns 'arch' and 'test_loss'. Received {list(results.columns)}")
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
        if not cols <= set(df.columns):
            raise ValueError(f"`{name}` should have columns {sorted(cols)}. Received {list(df.columns)}")
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


# ---- 07-09 ----
# Mixed task types (07), beyond MMoE (08), ESMM vs MMoE (09).


def plot_watch_time(watch_time: Any) -> Figure:
    """Histogram of a heavy-tailed duration in seconds (left) and in log seconds (right).

    Args:
        watch_time: ``(n,)`` positive durations.
    """
    t = _as_array(watch_time, 1, "watch_time", "(n,)")
    if not (t > 0).all():
        raise ValueError("`watch_time` should be positive (seconds)")
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.0))
    axes[0].hist(t, bins=80, color="#1f77b4")
    axes[0].set(xlabel="watch time (s)", ylabel="count", title=f"raw: max {t.max():,.0f} s, median {np.median(t):.0f} s")
    axes[1].hist(np.log(t), bins=60, color="#d62728")
    axes[1].set(xlabel="log(watch time / s)", ylabel="count", title="log: close to a bell curve")
    fig.tight_layout()
    return fig


def plot_gradient_norms(table: Any, tasks: Sequence[str] = ("watched", "watch_time", "rating")) -> Figure:
    """Per-task gradient norm on the shared (MMoE) parameters at initialisation, log scale: one
    dot per (task, target scale); dots, not bars, because a bar's length means nothing on a log axis.

    Args:
        table: DataFrame with a ``target`` column and ``grad_<task>`` columns (one row per
            target, e.g. from :func:`mmoe_lab.training.compare_video_variants`).
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    targets = list(dict.fromkeys(table["target"]))
    width = 0.8 / len(targets)
    colors = ["#1f77b4", "#d62728", "#2ca02c"]
    for i, target in enumerate(targets):
        row = table[table["target"] == target].iloc[0]
        vals = [row[f"grad_{t}"] for t in tasks]
        ax.plot(np.arange(len(tasks)) + (i - (len(targets) - 1) / 2) * width, vals, "o", ms=9,
                color=colors[i % len(colors)], label=f"watch time: {target}")
    ax.set_yscale("log")
    ax.set_xlim(-0.6, len(tasks) - 0.4)
    ax.set(xticks=range(len(tasks)), xticklabels=list(tasks), ylabel="‖∂L_task/∂θ_shared‖ (log scale)",
           title="who pulls on the shared experts at initialisation")
    ax.legend(fontsize=8)
    return fig


def plot_mtl_gain(gains: Any, order: Sequence[str] | None = None) -> Figure:
    """Per-task MTL gain over the single-task baseline (% lower test MSE), one panel per task.

    Args:
        gains: long DataFrame with columns ``arch, task, seed, gain`` (gain in %, positive =
            better than single-task).
        order: architecture order on the x axis.
    """
    tasks = list(dict.fromkeys(gains["task"]))
    order = list(order) if order is not None else list(dict.fromkeys(gains["arch"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.0 * len(tasks), 3.2), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = gains[gains["task"] == task]
        sns.barplot(data=sub, x="arch", y="gain", order=order, ax=ax, color="#9ecae1", errorbar=None)
        if sub["seed"].nunique() > 1:  # one dot per seed; with one seed the bar says it all
            sns.stripplot(data=sub, x="arch", y="gain", order=order, ax=ax, color="k", size=4, jitter=0.15)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=task_label(task), xlabel="", ylabel="MTL gain over single-task (%)")
        ax.set_xticks(range(len(order)), [arch_label(a) for a in order])
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def plot_cvr_calibration(true_p: Any, predictions: dict[str, Any], bins: int = 10) -> Figure:
    """Binned predicted pCVR against the true conversion propensity, over all impressions.

    Args:
        true_p: ``(n,)`` ground-truth pCVR from the generator.
        predictions: model label → ``(n,)`` predicted pCVR.
        bins: number of quantile bins of the true propensity.
    """
    p = _as_array(true_p, 1, "true_p", "(n,)")
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    centers = np.array([p[idx == b].mean() for b in range(bins)])
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.plot([0, centers.max()], [0, centers.max()], color="k", lw=0.8, ls=":", label="perfect")
    names = {"naive_cvr": "naive (clicked rows only)", "esmm": "ESMM", "mmoe": "MMoE", "esmm_bent": "bent ESMM"}
    for label, pred in predictions.items():
        q = np.asarray(pred).reshape(-1)
        ax.plot(centers, [q[idx == b].mean() for b in range(bins)], marker="o", lw=1.8, label=names.get(label, label))
    ax.set(xlabel="true pCVR (bin mean)", ylabel="predicted pCVR (bin mean)",
           title="CVR over all impressions")
    ax.legend(fontsize=8)
    return fig


# ---- 10 ----
# Census-income (10).


def plot_census_auc(comparison: Any, seeds: Any = None) -> Figure:
    """Our income AUC per architecture beside the paper's Table 1 (mean and best).

    Args:
        comparison: DataFrame indexed by arch with ``income AUC (ours)``, ``income mean (paper)``
            and ``income best (paper)``, as from :func:`mmoe_lab.census_models.paper_comparison`.
        seeds: optional DataFrame with columns ``arch`` and ``income AUC`` (one row per seed and
            arch) drawn as dots, e.g. ``data/claims/10_census.csv`` (``python -m mmoe_lab claims 10``).
    """
    need = {"income AUC (ours)", "income mean (paper)", "income best (paper)"}
    if not need <= set(comparison.columns):
        raise ValueError(f"`comparison` should have columns {sorted(need)}. Received {list(comparison.columns)}")
    archs = [a for a in ARCH_LABELS if a in set(comparison.index)]
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for i, arch in enumerate(archs):
        row = comparison.loc[arch]
        ax.bar(i - 0.18, row["income AUC (ours)"], width=0.34, color=ARCH_COLORS[arch], alpha=0.85,
               label="ours (this run)" if i == 0 else None)
        ax.bar(i + 0.18, row["income mean (paper)"], width=0.34, color="w", edgecolor=ARCH_COLORS[arch],
               hatch="//", label="paper, mean" if i == 0 else None)
        ax.plot(i + 0.18, row["income best (paper)"], "v", color="k", ms=6, label="paper, best" if i == 0 else None)
        if seeds is not None:
            vals = seeds.loc[seeds["arch"] == arch, "income AUC"].to_numpy()
            ax.plot(np.full(len(vals), i - 0.18), vals, "o", color="k", ms=2.5, alpha=0.7,
                    label="ours, other seeds" if i == 0 else None)
    low = min(comparison["income AUC (ours)"].min(), comparison["income mean (paper)"].min())
    ax.set(xticks=range(len(archs)), xticklabels=[ARCH_LABELS[a] for a in archs], ylabel="income AUC (test)",
           ylim=(np.floor(low * 100) / 100 - 0.01, 0.95), title="Census-income, group 1: income task")
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False)
    return fig


# ---- the correlation lesson (02-05): gaps and losses against p ----

GAP_STYLE: dict[str, tuple[str, str]] = {
    "omoe_gap": ("(OMoE − MMoE) / OMoE: what a gate per task buys", ARCH_COLORS["omoe"]),
    "sb_gap": ("(SB − MMoE) / SB: what the mixture buys", ARCH_COLORS["shared_bottom"]),
}


def plot_gap_vs_p(summary: Any, points: Sequence[dict[str, float]] = (), paper: bool = True,
                  marker_p: float | None = None, ax: Any = None, title: str | None = None) -> Figure:
    """The two relative gaps of MMoE against the task cosine ``p``: stored curve, band, live points.

    Lines: each gap on the means over all stored seeds at each ``p``. Bands: where 80% of
    8-seed blocks land (:func:`mmoe_lab.study_analysis.gaps_by_correlation`), i.e. where one live
    comparison on 8 seeds is expected to fall. Filled markers: the learner's own live points.
    Hollow diamonds: the paper's Fig. 4 (read off the plot; a much longer training run).

    Args:
        summary: DataFrame indexed by correlation with columns ``omoe_gap``, ``sb_gap`` and
            ``*_lo`` / ``*_hi`` (:func:`mmoe_lab.study_analysis.gaps_by_correlation`).
        points: live results, each ``{"p": ..., "omoe_gap": ..., "sb_gap": ...}``.
        marker_p: draw a dotted vertical line at this ``p`` (the scrubber's position).
        ax: draw into this axes (default: a new figure).
    """
    need = {"omoe_gap", "sb_gap", "omoe_gap_lo", "omoe_gap_hi", "sb_gap_lo", "sb_gap_hi"}
    if not need <= set(summary.columns):
        raise ValueError(f"`summary` should have columns {sorted(need)}. Received {list(summary.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
    fig = ax.figure
    ps = np.asarray(summary.index, dtype=float)
    for col, (label, color) in GAP_STYLE.items():
        ax.plot(ps, summary[col], "-", color=color, lw=1.6, label=label)
        ax.fill_between(ps, summary[f"{col}_lo"], summary[f"{col}_hi"], color=color, alpha=0.15, lw=0)
        pts = [(pt["p"], pt[col]) for pt in points]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o", color=color, mec="k", ms=6, zorder=5)
        if paper:  # the gaps of the paper's read-off final losses
            from .study_analysis import relative_gaps

            ax.plot(list(PAPER_FIG4), [relative_gaps(v)[col] for v in PAPER_FIG4.values()], "D", mfc="none",
                    mec=color, ms=6)
    if points:
        ax.plot([], [], "o", color="0.6", mec="k", label="your live runs (8 seeds)")
    if paper:
        ax.plot([], [], "D", mfc="none", mec="k", label="paper, Fig. 4")
    if marker_p is not None:
        ax.axvline(marker_p, color="k", ls=":", lw=0.9)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="task cosine p", ylabel="relative gap to MMoE",
           title=title or "MMoE's lead against p (band: 80% of 8-seed blocks)", xlim=(-0.03, 1.03))
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_loss_vs_p(summary: Any, paper: bool = True, ax: Any = None, title: str | None = None) -> Figure:
    """Fig. 4 as one picture: each architecture's mean final test MSE against ``p``.

    Args:
        summary: DataFrame indexed by correlation with one column per architecture (means), as
            :func:`mmoe_lab.study_analysis.gaps_by_correlation` returns.
        paper: also draw the paper's read-off values (:data:`PAPER_FIG4`, dashed).
        ax: draw into this axes (default: a new figure).
    """
    archs = [a for a in ARCH_LABELS if a in summary.columns]
    if not archs:
        raise ValueError(f"`summary` should have architecture columns {list(ARCH_LABELS)}. Received {list(summary.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
    fig = ax.figure
    ps = np.asarray(summary.index, dtype=float)
    for a in archs:
        ax.plot(ps, summary[a], "o-", color=ARCH_COLORS[a], ms=4, label=ARCH_LABELS[a])
        if paper:
            pp = sorted(PAPER_FIG4)
            ax.plot(pp, [PAPER_FIG4[p][a] for p in pp], "D--", mfc="none", color=ARCH_COLORS[a], lw=0.9, ms=5)
    if paper:
        ax.plot([], [], "D--", mfc="none", color="k", lw=0.9, label="paper, Fig. 4")
    ax.set(xlabel="task cosine p", ylabel="final test MSE (mean over seeds)", title=title or "loss against p",
           xlim=(-0.03, 1.03))
    ax.legend(fontsize=8)
    return fig


# ---- correlation sweep (05) ----
# Figures of notebook 05: the paper's Figs. 4 and 5 from the study in data/study/.


def plot_fig4_curves(curves: Any, preset: str, correlations: Sequence[float] = (0.5, 0.9, 1.0),
                     models: Sequence[str] = ("shared_bottom", "omoe", "mmoe"), n_train: str = "10000",
                     paper: bool = True) -> Figure:
    """The paper's Fig. 4: mean test-loss curve per model (band: 25–75% of runs), one panel per p.

    Args:
        curves: long DataFrame from :func:`mmoe_lab.study_analysis.mean_curves` (columns preset, n_train,
            arch, correlation, step, mean, q25, q75, runs).
        paper: mark the paper's final losses (:data:`PAPER_FIG4`) as dashed lines.
    """
    sel = curves[(curves["preset"] == preset) & (curves["n_train"] == n_train)]
    if sel.empty:
        raise ValueError(f"no curves for preset={preset!r}, n_train={n_train!r}")
    fig, axes = plt.subplots(1, len(correlations), figsize=(3.2 * len(correlations), 3.1), sharey=True,
                             squeeze=False)
    for ax, p in zip(axes[0], correlations, strict=True):
        for model in models:
            c = sel[(sel["arch"] == model) & np.isclose(sel["correlation"], p)]
            if c.empty:
                continue
            ax.plot(c["step"], c["mean"], color=ARCH_COLORS[model], label=f"{ARCH_LABELS[model]} (n={c['runs'].iloc[0]})")
            ax.fill_between(c["step"], c["q25"], c["q75"], color=ARCH_COLORS[model], alpha=0.15, lw=0)
            if paper and p in PAPER_FIG4:
                ax.axhline(PAPER_FIG4[p][model], color=ARCH_COLORS[model], ls="--", lw=0.9)
        ax.set(title=f"p = {p:g}", xlabel="training step")
    axes[0, 0].set_ylabel("test MSE (mean over runs)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Fig. 4, preset {preset!r}, {n_train} samples (dashed: paper's final loss)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_fig5_hist(per_run: Any, preset: str, correlations: Sequence[float] = (0.5, 0.9, 1.0),
                   models: Sequence[str] = ("shared_bottom", "omoe", "mmoe"), n_train: str = "10000",
                   bins: int = 30) -> Figure:
    """The paper's Fig. 5: histograms of the final test loss over runs, one panel per p.

    Args:
        per_run: DataFrame from :func:`mmoe_lab.study_analysis.run_table` (index preset, n_train,
            correlation, seed; one column per model).
    """
    sel = per_run.xs((preset, n_train), level=["preset", "n_train"])
    fig, axes = plt.subplots(1, len(correlations), figsize=(3.2 * len(correlations), 3.1), squeeze=False)
    hi = float(np.nanquantile(sel[list(models)].to_numpy(), 0.99))
    edges = np.linspace(0, hi, bins + 1)
    for ax, p in zip(axes[0], correlations, strict=True):
        g = sel[np.isclose(sel.index.get_level_values("correlation"), p)]
        for model in models:
            # a light fill plus a solid outline per model, so overlapping histograms stay apart;
            # runs above the 99th percentile are counted in the last bin (labelled on the axis)
            vals = g[model].dropna().clip(upper=hi)
            ax.hist(vals, bins=edges, color=ARCH_COLORS[model], alpha=0.18, histtype="stepfilled")
            ax.hist(vals, bins=edges, color=ARCH_COLORS[model], lw=1.5, histtype="step", label=ARCH_LABELS[model])
        ax.set(title=f"p = {p:g}", xlabel=f"final test MSE (last bin: ≥ {hi:.2g})")
    axes[0, 0].set_ylabel("runs")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Fig. 5, preset {preset!r}, {n_train} samples ({len(sel) // max(len(correlations), 1)} runs per p)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_datasize(ours: Any, reference: Any = None) -> Figure:
    """"Ordering holds in k of N" against training-set size (ours solid, an independent JAX implementation dashed).

    Args:
        ours, reference: DataFrames with columns ``n_train`` (``"10000"`` … ``"fresh"``),
            ``MMoE<SB``, ``full ordering`` and ``N``.
    """
    order = ["10000", "100000", "1000000", "fresh"]
    labels = {"10000": "10k", "100000": "100k", "1000000": "1M", "fresh": "fresh"}
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for df, ls, who in ((ours, "-o", "ours"), (reference, "--s", "independent JAX")):
        if df is None or len(df) == 0:
            continue
        d = df.set_index("n_train").reindex([o for o in order if o in set(df["n_train"])])
        x = [order.index(o) for o in d.index]
        ax.plot(x, d["MMoE<SB"] / d["N"], ls, color=ARCH_COLORS["mmoe"], label=f"MMoE < SB ({who})")
        ax.plot(x, d["full ordering"] / d["N"], ls, color=ARCH_COLORS["omoe"], label=f"MMoE < OMoE < SB ({who})")
    ax.set(xticks=range(len(order)), xticklabels=[labels[o] for o in order], ylim=(-0.03, 1.03),
           xlabel="training samples per run (paper preset, p = 0.5)", ylabel="share of seeds")
    ax.legend(fontsize=7)
    return fig


def plot_spread_by_size(per_run: Any, preset: str = "paper", correlation: float = 0.5,
                        models: Sequence[str] = ("shared_bottom", "omoe", "mmoe")) -> Figure:
    """Fig. 5 against data size: every run's final test MSE, per training-set size and model.

    One column of dots per (size, model), log scale, with a black tick at the median; shows
    whether the spread of shared-bottom's runs (the paper's Fig. 5) and the ordering of the
    medians change as the training set grows.

    Args:
        per_run: DataFrame from :func:`mmoe_lab.study_analysis.run_table` (index preset, n_train,
            correlation, seed; one column per model).
    """
    order = ["10000", "100000", "1000000", "fresh"]
    labels = {"10000": "10k", "100000": "100k", "1000000": "1M", "fresh": "fresh"}
    sel = per_run.xs(preset, level="preset")
    sel = sel[np.isclose(sel.index.get_level_values("correlation"), correlation)]
    sizes = [o for o in order if o in set(sel.index.get_level_values("n_train"))]
    if not sizes:
        raise ValueError(f"no runs for preset={preset!r} at p={correlation}")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    width = 0.8 / len(models)
    rng = np.random.default_rng(0)
    for i, size in enumerate(sizes):
        g = sel.xs(size, level="n_train")
        for j, model in enumerate(models):
            v = g[model].dropna().to_numpy()
            x = i + (j - (len(models) - 1) / 2) * width
            ax.plot(x + rng.uniform(-0.3, 0.3, len(v)) * width, v, "o", ms=3, alpha=0.6, color=ARCH_COLORS[model],
                    label=ARCH_LABELS[model] if i == 0 else None)
            ax.plot([x - 0.4 * width, x + 0.4 * width], [np.median(v)] * 2, color="k", lw=2)
    ax.set(xticks=range(len(sizes)), xticklabels=[f"{labels[s]} (n={sel.xs(s, level='n_train').shape[0]})" for s in sizes],
           yscale="log", xlabel="training samples per run", ylabel="final test MSE (one dot per run)",
           title=f"preset {preset!r}, p = {correlation:g}: spread of runs against data size (bar: median)")
    ax.legend(fontsize=7)
    return fig



# ---- gate diagnostics (06) ----
# Figures of notebook 06 (gate collapse lab): the numbers come from mmoe_lab.diagnostics.


def plot_gate_mean_heatmap(gates: Any, task_names: Sequence[str] | None = None, title: str | None = None,
                           ax: Any = None, colorbar: bool | None = None, fontsize: float = 9,
                           vmax: float = 1.0) -> Figure:
    """Per-task gate heatmap: mean weight per (task, expert), each cell annotated ``mean ± std``.

    Args:
        gates: gate weights ``(B, T, E)``.
        task_names: labels of the ``T`` rows.
        ax: draw into this axes (default: a new figure).
        colorbar: draw a colour bar (0–1); default: yes on a new figure, no in a given ``ax``
            (several heatmaps then share one, e.g. ``fig.colorbar(ax.collections[0], ax=axes)``).
        fontsize: size of the ``mean ± std`` labels.
        vmax: the weight drawn brightest (default 1, a one-hot gate; near-uniform gates over 8
            experts read better with about 0.4).
    """
    g = _as_array(gates, 3, "gates", "(batch, tasks, experts)")
    _, t, e = g.shape
    names = [task_label(n) for n in task_names] if task_names is not None else [f"task {i + 1}" for i in range(t)]
    mean, std = g.mean(0), g.std(0)
    if colorbar is None:
        colorbar = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.9 * e + 2.4, 0.8 * t + 1.4))
    else:
        fig = ax.figure
    annot = np.array([[f"{mean[i, k]:.2f}\n±{std[i, k]:.2f}" for k in range(e)] for i in range(t)])
    if not 0.0 < float(vmax) <= 1.0:
        raise ValueError(f"`vmax` should be a gate weight in (0, 1]. Received: vmax={vmax!r}")
    sns.heatmap(mean, ax=ax, vmin=0, vmax=float(vmax), cmap="viridis", annot=annot, fmt="",
                annot_kws={"fontsize": fontsize}, xticklabels=range(e), yticklabels=names, cbar=colorbar,
                cbar_kws={"label": "mean gate weight"} if colorbar else None)
    ax.set(xlabel="expert", title=title or "mean gate weight ± std over samples")
    ax.tick_params(axis="y", rotation=0)
    return fig


#: One colour per cause of the collapse lab (notebook 06), kept from figure to figure, from
#: seaborn's colour-blind-safe palette: blue, orange, green, purple (its vermillion is too close
#: to its orange to tell two causes apart).
COLLAPSE_COLORS: dict[str, Any] = dict(zip(("healthy", "gate_init", "heavy_tail", "high_lr"),
                                           [sns.color_palette("colorblind")[i] for i in (0, 1, 2, 4)], strict=True))


def plot_gate_curves(histories: dict[str, Any], threshold: float = 0.99,
                     colors: dict[str, Any] | None = None) -> Figure:
    """Normalised gate entropy and polarisation rate against epoch, one colour per run.

    Args:
        histories: run label → a :class:`~mmoe_lab.diagnostics.GateMonitor` history
            (columns ``epoch, task, entropy, polarization``); tasks get different line styles.
        threshold: the polarisation threshold (for the axis label).
        colors: run label → colour, so that a run keeps its colour from one figure to the next
            (default: :data:`COLLAPSE_COLORS` for the lab's causes, then unused colour-blind-safe
            colours).
    """
    if not histories:
        raise ValueError("`histories` should hold at least one run. Received an empty dict")
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2), sharex=True)
    styles = ["-", "--", ":", "-."]
    given = {**COLLAPSE_COLORS, **(colors or {})}
    spare = iter(c for c in sns.color_palette("colorblind", 10) if c not in given.values())
    colors = {label: given[label] if label in given else next(spare) for label in histories}
    for label, hist in histories.items():
        color = colors[label]
        for k, (task, h) in enumerate(hist.groupby("task", sort=False)):
            for ax, col in zip(axes, ("entropy", "polarization"), strict=True):
                ax.plot(h["epoch"], h[col], styles[k % len(styles)], color=color, lw=1.8,
                        label=f"{label} · {task_label(task)}")
    axes[0].set(xlabel="epoch (0 = before training)", ylabel="gate entropy H / log E", ylim=(-0.03, 1.03))
    axes[1].set(xlabel="epoch (0 = before training)", ylabel=f"share of samples with max gate > {threshold}",
                ylim=(-0.03, 1.03))
    axes[1].legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def plot_utilization(gates: Any, title: str | None = None, dead_fraction: float = 0.1, ax: Any = None) -> Figure:
    """Expert utilisation (share of all gate mass per expert) with the fair share ``1/E``.

    Bars below ``dead_fraction / E`` (dead experts) are drawn in red.

    Args:
        gates: gate weights ``(B, T, E)``.
        ax: draw into this axes (default: a new figure).
    """
    g = _as_array(gates, 3, "gates", "(batch, tasks, experts)")
    e = g.shape[2]
    util = g.sum((0, 1)) / g.sum()
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.5, 0.45 * e + 1.5), 2.8))
    else:
        fig = ax.figure
    colors = ["#d62728" if u < dead_fraction / e else "#1f77b4" for u in util]
    ax.bar(range(e), util, color=colors)
    ax.axhline(1 / e, color="k", lw=0.8, ls=":", label="fair share 1/E")
    ax.set(xticks=range(e), xlabel="expert", ylabel="share of gate mass", title=title or "expert utilisation",
           ylim=(0, max(0.3, float(util.max()) * 1.1)))
    ax.legend(fontsize=7)
    return fig


def plot_gate_diagnostics(result: dict[str, Any], title: str | None = None) -> Figure:
    """One run of the collapse lab at a glance, on a 2 × 2 grid that fits a notebook's width:
    gate heatmap (with its colour bar) and expert utilisation on top, entropy and polarisation
    curves below. ``result`` is a :func:`mmoe_lab.collapse.run_scenario` output (keys ``gates``,
    ``task_names``, ``history``)."""
    fig, axes = plt.subplots(2, 2, figsize=(10.0, 6.2), gridspec_kw={"width_ratios": [1.6, 1.0]},
                             layout="constrained")
    plot_gate_mean_heatmap(result["gates"], result["task_names"], ax=axes[0, 0], title="mean gate weight ± std",
                           colorbar=True)
    plot_utilization(result["gates"], ax=axes[0, 1])
    hist = result["history"]
    for k, (task, h) in enumerate(hist.groupby("task", sort=False)):
        axes[1, 0].plot(h["epoch"], h["entropy"], ["-", "--"][k % 2], color="#2ca02c", label=task_label(task))
        axes[1, 1].plot(h["epoch"], h["polarization"], ["-", "--"][k % 2], color="#d62728", label=task_label(task))
    axes[1, 0].set(xlabel="epoch", ylabel="entropy H / log E", ylim=(-0.03, 1.03), title="gate entropy")
    axes[1, 1].set(xlabel="epoch", ylabel="polarisation rate", ylim=(-0.03, 1.03), title="share of samples with a gate > 0.99")
    axes[1, 0].legend(fontsize=8)
    axes[1, 1].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


