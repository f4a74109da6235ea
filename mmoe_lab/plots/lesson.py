"""Figures of the stored study and the correlation lesson (notebooks 02-05): MMoE's gaps and the
losses against ``p``, the paper's Figs. 4 and 5, data size and seed spread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .._validate import check_columns, invalid
from ..paper import ARCHITECTURES, FIG4
from .style import ARCH_COLORS, ARCH_LABELS, put_legend_below

GAP_STYLE: dict[str, tuple[str, str]] = {
    "omoe_gap": ("(OMoE − MMoE) / OMoE: what a gate per task buys", ARCH_COLORS["omoe"]),
    "sb_gap": ("(SB − MMoE) / SB: what the mixture buys", ARCH_COLORS["shared_bottom"]),
}
#: The marker of each gap's live points, so that two points at one ``p`` stay apart.
GAP_MARKERS: dict[str, str] = {"omoe_gap": "o", "sb_gap": "s"}
#: The ``p`` axis of the lesson's plots, padded so that a marker at ``p = 0`` or ``1`` shows whole.
P_LIMITS = (-0.07, 1.07)


def plot_gap_vs_p(summary: Any, points: Sequence[dict[str, float]] = (), paper: bool = True,
                  marker_p: float | None = None, ax: Any = None, title: str | None = None,
                  legend_below: bool = False) -> Figure:
    """The two relative gaps of MMoE against the task cosine ``p``: stored curve, band, live points.

    Lines: each gap on the means over all stored seeds at each ``p``. Bands: where 80% of
    8-seed blocks land (:func:`mmoe_lab.study.analysis.gaps_by_correlation`), i.e. where one live
    comparison on 8 seeds is expected to fall. Filled markers: the learner's own live points
    (circles: the one-gate gap, squares: the shared-bottom gap). Hollow diamonds: the paper's Fig. 4 (read off the plot; a much longer training run).

    Args:
        summary: DataFrame indexed by correlation with columns ``omoe_gap``, ``sb_gap`` and
            ``*_lo`` / ``*_hi`` (:func:`mmoe_lab.study.analysis.gaps_by_correlation`).
        points: live results, each ``{"p": ..., "omoe_gap": ..., "sb_gap": ...}``.
        marker_p: draw a dotted vertical line at this ``p`` (the scrubber's position).
        ax: draw into this axes (default: a new figure).
        legend_below: put the legend under the axes, where it cannot cover a band or a point
            (the figure needs room below; default: inside, lower left).
    """
    check_columns("summary", summary, ("omoe_gap", "sb_gap", "omoe_gap_lo", "omoe_gap_hi", "sb_gap_lo", "sb_gap_hi"))
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
    fig = ax.figure
    ps = np.asarray(summary.index, dtype=float)
    for col, (label, color) in GAP_STYLE.items():
        ax.plot(ps, summary[col], "-", color=color, lw=1.6, label=label)
        ax.fill_between(ps, summary[f"{col}_lo"], summary[f"{col}_hi"], color=color, alpha=0.15, lw=0)
        pts = [(pt["p"], pt[col]) for pt in points if np.isfinite(pt[col])]
        if pts:
            # circles smaller and on top of squares: two gaps at one p stay visible when they coincide
            one_gate = col == "omoe_gap"
            ax.plot(*zip(*pts, strict=True), GAP_MARKERS[col], color=color, mec="k", ms=6 if one_gate else 9,
                    zorder=6 if one_gate else 5, clip_on=False)
        if paper:  # the gaps of the paper's read-off final losses
            from ..study.analysis import relative_gaps

            ax.plot(list(FIG4), [relative_gaps(v)[col] for v in FIG4.values()], "D", mfc="none",
                    mec=color, ms=6)
    if points:
        for col, (_, color) in GAP_STYLE.items():
            ax.plot([], [], GAP_MARKERS[col], color=color, mec="k", ms=6 if col == "omoe_gap" else 9,
                    label="your live runs: " + ("one-gate gap" if col == "omoe_gap" else "shared-bottom gap"))
    if paper:
        ax.plot([], [], "D", mfc="none", mec="k", label="paper, Fig. 4")
    if marker_p is not None:
        ax.axvline(marker_p, color="k", ls=":", lw=0.9)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="task cosine p", ylabel="relative gap to MMoE",
           title=title or "MMoE's lead against p (band: 80% of 8-seed blocks)", xlim=P_LIMITS)
    if legend_below:
        put_legend_below(ax)
    else:
        ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_loss_vs_p(summary: Any, paper: bool = True, ax: Any = None, title: str | None = None,
                   normalise: bool = False, legend_loc: str = "upper right") -> Figure:
    """Fig. 4 as one picture: each architecture's mean final test MSE against ``p``.

    The paper's losses live on another label scale than the kit's, so they never share the kit's
    loss axis: with ``normalise`` both are divided by each architecture's own loss at ``p = 1``
    and drawn on one unitless axis (shapes, not heights); without it the paper's values get a
    twin axis on the right.

    Args:
        summary: DataFrame indexed by correlation with one column per architecture (means), as
            :func:`mmoe_lab.study.analysis.gaps_by_correlation` returns.
        paper: also draw the paper's read-off values (:data:`mmoe_lab.paper.FIG4`, hollow
            diamonds, dashed).
        ax: draw into this axes (default: a new figure).
        normalise: divide every curve by its value at ``p = 1`` (``summary`` needs that row).
        legend_loc: where the legend goes (a matplotlib ``loc``; pick a corner the curves leave free).
    """
    from ..study.analysis import normalised_losses, paper_fig4_summary

    archs = [a for a in ARCH_LABELS if a in summary.columns]
    if not archs:
        raise invalid("summary", f"a table with architecture columns among {list(ARCH_LABELS)}", summary,
                      received=f"columns {list(summary.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.2))
    fig = ax.figure
    ours = normalised_losses(summary) if normalise else summary[archs]
    theirs = normalised_losses(paper_fig4_summary()) if normalise else paper_fig4_summary()[archs]
    ps = np.asarray(ours.index, dtype=float)
    pax = ax if normalise else (ax.twinx() if paper else None)
    for a in archs:
        ax.plot(ps, ours[a], "o-", color=ARCH_COLORS[a], ms=4, label=ARCH_LABELS[a])
        if pax is not None:
            pax.plot(theirs.index, theirs[a], "D--", mfc="none", color=ARCH_COLORS[a], lw=0.9, ms=5)
    if pax is not None:
        ax.plot([], [], "D--", mfc="none", color="k", lw=0.9,
                label="paper, Fig. 4" + ("" if normalise else " (right axis)"))
    if pax is not None and pax is not ax:
        pax.set_ylabel("paper's loss (its own scale)")
        pax.grid(False)
    ylabel = "loss ÷ its loss at p = 1" if normalise else "final test MSE (mean over seeds)"
    ax.set(xlabel="task cosine p", ylabel=ylabel, title=title or "loss against p", xlim=P_LIMITS)
    if normalise:
        ax.axhline(1.0, color="k", lw=0.6)
    ax.legend(fontsize=8, loc=legend_loc)
    return fig


def _fig4_axes(ax: Any, curves: Any, p: float, models: Sequence[str], *, paper: bool, runs_in_label: bool = True) -> None:
    """One panel of Fig. 4: each model's mean curve at ``p`` with its 25–75% band (and the
    paper's final loss, dashed)."""
    for model in models:
        c = curves[(curves["arch"] == model) & np.isclose(curves["correlation"], p)]
        if c.empty:
            continue
        label = f"{ARCH_LABELS[model]} (n={c['runs'].iloc[0]})" if runs_in_label else ARCH_LABELS[model]
        ax.plot(c["step"], c["mean"], color=ARCH_COLORS[model], label=label)
        ax.fill_between(c["step"], c["q25"], c["q75"], color=ARCH_COLORS[model], alpha=0.15, lw=0)
        if paper and p in FIG4:
            ax.axhline(FIG4[p][model], color=ARCH_COLORS[model], ls="--", lw=0.9)


#: Fig. 5's outline per model, so that three overlapping tails can be told apart.
FIG5_LINES: dict[str, str] = {"shared_bottom": "-", "omoe": "--", "mmoe": ":"}


def _fig5_axes(ax: Any, per_run: Any, models: Sequence[str], edges: np.ndarray, tails: bool = False) -> None:
    """One panel of Fig. 5: each model's final losses as a light fill plus an outline in its own
    line style (so overlapping histograms stay apart); runs above the last edge are counted in
    the last bin. With ``tails``, the counts are on a log scale (a tail of one or two runs per bin
    stays visible) and a vertical line in the model's colour and style marks its 90th percentile."""
    for model in models:
        vals = per_run[model].dropna().clip(upper=edges[-1])
        ax.hist(vals, bins=edges, color=ARCH_COLORS[model], alpha=0.18, histtype="stepfilled")
        ax.hist(vals, bins=edges, color=ARCH_COLORS[model], lw=1.6, histtype="step", label=ARCH_LABELS[model],
                ls=FIG5_LINES.get(model, "-"))
        if tails:
            ax.axvline(float(per_run[model].quantile(0.9)), color=ARCH_COLORS[model], lw=1.4,
                       ls=FIG5_LINES.get(model, "-"))
    if tails:
        ax.set_yscale("log")


def plot_fig4_curves(curves: Any, preset: str, correlations: Sequence[float] = (0.5, 0.9, 1.0),
                     models: Sequence[str] = ARCHITECTURES, n_train: str = "10000",
                     paper: bool = True) -> Figure:
    """The paper's Fig. 4: mean test-loss curve per model (band: 25–75% of runs), one panel per p.

    Args:
        curves: long DataFrame from :func:`mmoe_lab.study.analysis.mean_curves` (columns preset, n_train,
            arch, correlation, step, mean, q25, q75, runs).
        paper: mark the paper's final losses (:data:`mmoe_lab.paper.FIG4`) as dashed lines.
    """
    sel = curves[(curves["preset"] == preset) & (curves["n_train"] == n_train)]
    if sel.empty:
        raise invalid("preset", f"a preset with curves at n_train={n_train!r} (no curves for it)", preset)
    fig, axes = plt.subplots(1, len(correlations), figsize=(3.2 * len(correlations), 3.1), sharey=True,
                             squeeze=False)
    for ax, p in zip(axes[0], correlations, strict=True):
        _fig4_axes(ax, sel, p, models, paper=paper)
        ax.set(title=f"p = {p:g}", xlabel="training step")
    axes[0, 0].set_ylabel("test MSE (mean over runs)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(f"Fig. 4, preset {preset!r}, {n_train} samples (dashed: paper's final loss)", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    return fig


def plot_fig5_hist(per_run: Any, preset: str, correlations: Sequence[float] = (0.5, 0.9, 1.0),
                   models: Sequence[str] = ARCHITECTURES, n_train: str = "10000",
                   bins: int = 30) -> Figure:
    """The paper's Fig. 5: histograms of the final test loss over runs, one panel per p.

    Args:
        per_run: DataFrame from :func:`mmoe_lab.study.analysis.run_table` (index preset, n_train,
            correlation, seed; one column per model).
    """
    sel = per_run.xs((preset, n_train), level=["preset", "n_train"])
    fig, axes = plt.subplots(1, len(correlations), figsize=(3.2 * len(correlations), 3.1), squeeze=False)
    hi = float(np.nanquantile(sel[list(models)].to_numpy(), 0.99))
    edges = np.linspace(0, hi, bins + 1)
    for ax, p in zip(axes[0], correlations, strict=True):
        _fig5_axes(ax, sel[np.isclose(sel.index.get_level_values("correlation"), p)], models, edges, tails=True)
        ax.set(title=f"p = {p:g}", xlabel=f"final test MSE (last bin: ≥ {hi:.2g})")
    axes[0, 0].set_ylabel("runs (log scale)")
    axes[0, 0].plot([], [], color="k", lw=1.4, label="90th percentile")
    axes[0, 0].legend(fontsize=9)
    fig.suptitle(f"Fig. 5, preset {preset!r}, {n_train} samples ({len(sel) // max(len(correlations), 1)} runs per p)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_study_cell(curves: Any, per_run: Any, preset: str, correlation: float, models: Sequence[str],
                    n_train: str = "10000") -> Figure:
    """One cell of the stored study, Figs. 4 and 5 side by side: the models' mean test-loss
    curves at ``p = correlation`` and the histogram of their final losses (the panel of
    notebook 05, :func:`mmoe_lab.widgets.study_panel`).

    Args:
        curves: :func:`mmoe_lab.study.analysis.mean_curves` of the study.
        per_run: :func:`mmoe_lab.study.analysis.run_table` rows of that preset, size and ``p``
            (one column per model).
        models: the architectures to draw (columns of ``per_run``).
    """
    sel = curves[(curves["preset"] == preset) & (curves["n_train"] == n_train)]
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.0))
    hi = float(np.nanquantile(per_run[list(models)].to_numpy(), 0.99))
    _fig4_axes(axes[0], sel, correlation, models, paper=False, runs_in_label=False)
    _fig5_axes(axes[1], per_run, models, np.linspace(0, hi, 31))
    axes[0].set(xlabel="training step", ylabel="test MSE", title=f"{preset!r}, p = {correlation:g}: mean curve")
    axes[1].set(xlabel=f"final test MSE (last bin: ≥ {hi:.2g})", ylabel="runs",
                title=f"{int(per_run[list(models)].notna().all(axis=1).sum())} runs")
    axes[0].legend(fontsize=9)
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
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    # ours on top, solid; the reference dashed with hollow markers, shifted a little to the right,
    # so that where both have the same count neither hides the other
    for df, ls, who, dx, mfc, z in ((ours, "-o", "ours", -0.04, None, 3),
                                    (reference, "--s", "independent", 0.04, "none", 2)):
        if df is None or len(df) == 0:
            continue
        d = df.set_index("n_train").reindex([o for o in order if o in set(df["n_train"])])
        x = [order.index(o) + dx for o in d.index]
        for col, arch, what in (("MMoE<SB", "mmoe", "MMoE < SB"), ("full ordering", "omoe", "MMoE < OMoE < SB")):
            ax.plot(x, d[col] / d["N"], ls, color=ARCH_COLORS[arch], mfc=mfc or ARCH_COLORS[arch], lw=1.6, ms=6,
                    zorder=z, label=f"{what} ({who})")
    ax.set(xticks=range(len(order)), xticklabels=[labels[o] for o in order], ylim=(-0.03, 1.03),
           xlabel="training samples per run (paper preset, p = 0.5)", ylabel="share of seeds")
    ax.legend(fontsize=9, loc="upper left")
    return fig


def plot_spread_by_size(per_run: Any, preset: str = "paper", correlation: float = 0.5,
                        models: Sequence[str] = ARCHITECTURES) -> Figure:
    """Fig. 5 against data size: every run's final test MSE, per training-set size and model.

    One column of dots per (size, model), log scale, with a black tick at the median; shows
    whether the spread of shared-bottom's runs (the paper's Fig. 5) and the ordering of the
    medians change as the training set grows.

    Args:
        per_run: DataFrame from :func:`mmoe_lab.study.analysis.run_table` (index preset, n_train,
            correlation, seed; one column per model).
    """
    order = ["10000", "100000", "1000000", "fresh"]
    labels = {"10000": "10k", "100000": "100k", "1000000": "1M", "fresh": "fresh"}
    sel = per_run.xs(preset, level="preset")
    sel = sel[np.isclose(sel.index.get_level_values("correlation"), correlation)]
    sizes = [o for o in order if o in set(sel.index.get_level_values("n_train"))]
    if not sizes:
        raise invalid("correlation", f"a p with stored runs for preset={preset!r} (no runs at it)", correlation)
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
    ax.legend(fontsize=9)
    return fig
