"""Compare shapes, not heights: the kit's losses normalised to ``p = 1`` beside the paper's, the
relative rise per architecture, and the view of the comparison panel (notebooks 04 and 05).

The paper's absolute losses live on another label scale than the kit's (its labels are not
standardised), so these figures put only unitless numbers on one axis: a loss divided by the same
architecture's loss at ``p = 1``, and relative gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .._validate import invalid
from .lesson import plot_gap_vs_p
from .style import ARCH_COLORS, ARCH_LABELS
from .tasks import plot_model_comparison

__all__ = ["plot_relative_rise", "plot_comparison_view"]


def plot_relative_rise(summary: Any, p: float = 0.5, ref: float = 1.0, paper: bool = True,
                       ax: Any = None, title: str | None = None) -> Figure:
    """How much each architecture's loss rises from ``p = ref`` to ``p``: ours (filled bars)
    beside the paper's Fig. 4 (hatched), each bar labelled with its percentage.

    Args:
        summary: DataFrame indexed by correlation, one column per architecture (mean losses),
            with rows at ``p`` and ``ref``.
        paper: draw the paper's rise too (it has ``p`` = 0.5, 0.9 and 1).
        ax: draw into this axes (default: a new figure).
    """
    from ..study.analysis import normalised_losses, paper_fig4_summary

    ours = normalised_losses(summary, ref)
    rows = {"ours": ours[np.isclose(np.asarray(ours.index, dtype=float), p)]}
    if rows["ours"].empty:
        raise invalid("p", f"a correlation stored in `summary` ({list(summary.index)})", p)
    theirs = normalised_losses(paper_fig4_summary(), ref)
    if paper and np.isclose(np.asarray(theirs.index, dtype=float), p).any():
        rows["paper"] = theirs[np.isclose(np.asarray(theirs.index, dtype=float), p)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.2))
    fig = ax.figure
    archs = list(ours.columns)
    width = 0.8 / len(rows)
    for k, (who, row) in enumerate(rows.items()):
        for i, arch in enumerate(archs):
            v = 100 * (float(row[arch].iloc[0]) - 1)
            x = i + (k - (len(rows) - 1) / 2) * width
            ax.bar(x, v, width * 0.95, color=ARCH_COLORS[arch] if who == "ours" else "white",
                   edgecolor=ARCH_COLORS[arch], hatch="///" if who == "paper" else None, lw=1.2,
                   label=("ours" if who == "ours" else "paper, Fig. 4") if i == 0 else None)
            ax.annotate(f"{v:+.0f} %", (x, v), xytext=(0, 2 if v >= 0 else -10), textcoords="offset points",
                        ha="center", fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xticks=range(len(archs)), xticklabels=[ARCH_LABELS[a].replace(" ", "\n").replace("shared-", "shared-\n") for a in archs],
           ylabel=f"loss rise from p = {ref:g} (%)", title=title or f"rise of the loss, p = {ref:g} → {p:g}")
    ax.margins(y=0.15)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_comparison_view(summary: Any, runs: Any, p: float, *, points: Sequence[dict[str, float]] = (),
                         reference: dict[str, float] | None = None, reference_p: float = 1.0,
                         source: str = "stored study") -> Figure:
    """The comparison panel's figure (notebook 04): the three architectures at ``p``, and MMoE's
    lead against ``p``.

    Left: mean test MSE per architecture at ``p`` (bars) and every seed (dots), with the stored
    means at ``p = reference_p`` as short black lines (the other side of the comparison). Right:
    :func:`~mmoe_lab.plots.plot_gap_vs_p` over ``summary`` with the live ``points``.

    Args:
        summary: :func:`mmoe_lab.study.gaps_by_correlation` of the stored study.
        runs: the runs at ``p``: columns ``arch``, ``seed``, ``test_loss``.
        reference: ``{arch: mean loss}`` at ``reference_p`` (e.g. :func:`mmoe_lab.study.stored_means_at`).
        source: what ``runs`` are, for the title (``"stored study"``, ``"your run"``).
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9.2, 4.4), gridspec_kw={"width_ratios": [1, 1.35]},
                                   layout="constrained")
    n = int(runs["seed"].nunique())
    plot_model_comparison(runs, ax=ax0, title=f"p = {p:g}: test MSE ({source}, {n} seeds)")
    if reference:
        archs = [a for a in ARCH_LABELS if a in set(runs["arch"])]
        for i, arch in enumerate(archs):
            if arch in reference:
                ax0.hlines(reference[arch], i - 0.38, i + 0.38, colors="k", lw=2.2, zorder=6,
                           label=f"stored mean, p = {reference_p:g}" if i == 0 else None)
        ax0.legend(fontsize=8, loc="upper right")
    # two lines per name ("shared-/bottom", "one-gate/MoE"), so that neighbouring names never touch
    names = [t.get_text() for t in ax0.get_xticklabels()]
    ax0.set_xticks(ax0.get_xticks(), [n.replace("-", "-\n", 1) if n.count(" ") == 0 else n.replace(" ", "\n", 1)
                                      for n in names])
    ax0.tick_params(axis="x", labelsize=9)
    plot_gap_vs_p(summary, points, marker_p=p, ax=ax1, legend_below=True)
    return fig
