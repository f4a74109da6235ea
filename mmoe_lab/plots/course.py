"""Figures of the guided lessons (01-03): an architecture diagram, one model's loss against ``p``
on its stored band with the learner's live draws, and test loss per epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .._validate import check_choice, check_columns, check_ndim, check_nonempty, invalid
from .style import ARCH_COLORS, ARCH_LABELS, put_legend_below

__all__ = ["ARCH_MARKERS", "plot_loss_band_vs_p", "plot_epoch_losses", "plot_moe_diagram", "plot_gate_mix"]

#: One marker shape per architecture, so that points of two architectures at the same ``p`` stay
#: apart even when their values coincide.
ARCH_MARKERS: dict[str, str] = {"shared_bottom": "s", "omoe": "o", "mmoe": "^"}

#: Pad the ``p`` axis so that markers at ``p = 0`` and ``p = 1`` are drawn whole.
P_LIMITS = (-0.08, 1.08)


def plot_loss_band_vs_p(band: Any, points: Sequence[dict[str, Any]] = (), arch: str = "shared_bottom", *,
                        reference: Any = None, marker_p: float | None = None, ax: Any = None,
                        title: str | None = None, legend_below: bool = False) -> Figure:
    """One architecture's test loss against the task cosine ``p``: the stored mean, the band
    where 8-seed means land, and the learner's live draws on it.

    Args:
        band: DataFrame indexed by ``p`` with columns ``mean``, ``lo``, ``hi`` (and optionally
            ``seeds``, ``block``), as :func:`mmoe_lab.lesson_panels.loss_band` returns.
        points: live draws, each ``{"p": ..., "loss": 8-seed mean}`` and optionally
            ``"seeds": [single-seed losses]`` (drawn as small dots).
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``: colour, marker and labels.
        reference: another architecture's band (same layout), drawn as a dashed mean line.
        marker_p: draw a dotted vertical line at this ``p`` (a slider's position).
        ax: draw into this axes (default: a new figure).
        legend_below: put the legend under the axes (default: to their right).
    """
    check_choice("arch", arch, sorted(ARCH_LABELS))
    need = {"mean", "lo", "hi"}
    check_columns("band", band, sorted(need))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.6, 3.4), layout="constrained")
    fig = ax.figure
    color, marker, name = ARCH_COLORS[arch], ARCH_MARKERS[arch], ARCH_LABELS[arch]
    ps = np.asarray(band.index, dtype=float)
    seeds = int(band["seeds"].min()) if "seeds" in band else None
    block = int(band.attrs.get("block", 8))
    share = band.attrs.get("coverage", 0.8)
    ax.fill_between(ps, band["lo"], band["hi"], color=color, alpha=0.18, lw=0,
                    label=f"{share:.0%} of {block}-seed means")
    ax.plot(ps, band["mean"], "-", marker=marker, color=color, mfc="white", ms=6, lw=1.6,
            label=f"{name}: mean over {seeds} seeds" if seeds else f"{name}: stored mean")
    if reference is not None:
        ref_arch = reference.attrs.get("arch", "shared_bottom")
        ax.plot(np.asarray(reference.index, dtype=float), reference["mean"], "--",
                marker=ARCH_MARKERS.get(ref_arch, "s"), color=ARCH_COLORS.get(ref_arch, "0.5"), mfc="white",
                ms=4, lw=1.1, label=f"{ARCH_LABELS.get(ref_arch, ref_arch)}: mean (for reference)")
    top = 1.3 * max([float(band["hi"].max())] + [float(pt["loss"]) for pt in points]
                    + ([float(reference["mean"].max())] if reference is not None else []))
    clipped = 0
    for i, pt in enumerate(points):
        single = np.asarray(pt.get("seeds", ()), dtype=float)
        if single.size:
            offsets = np.linspace(-0.015, 0.015, single.size)
            inside = single <= top
            clipped += int((~inside).sum())
            # dark-rimmed dots, so that even the grey of shared-bottom reads on the dotted p line
            ax.plot(float(pt["p"]) + offsets[inside], single[inside], "o", color=color, mec="k", mew=0.5,
                    alpha=0.9, ms=4.5, label="your single seeds" if i == 0 else None, zorder=4)
            ax.plot(float(pt["p"]) + offsets[~inside], np.full((~inside).sum(), top * 0.985), "^", color=color,
                    mec="k", mew=0.5, alpha=0.9, ms=5, zorder=4)
        ax.plot(float(pt["p"]), float(pt["loss"]), marker, color=color, mec="k", mew=1.2, ms=9, zorder=5,
                label="your 8-seed mean" if i == 0 else None)
    if clipped:
        ax.plot([], [], "^", color=color, mec="k", mew=0.5, alpha=0.9, ms=5,
                label=f"{clipped} single seed(s) above the plot")
    if marker_p is not None:
        ax.axvline(marker_p, color="0.35", ls=":", lw=1.0, zorder=1, label=f"slider: p = {marker_p:g}")
    ax.set(xlabel="task cosine p", ylabel="test MSE (mean over tasks)", xlim=P_LIMITS, xticks=ps,
           title=title or f"{name}: loss against p")
    ax.set_xticklabels([f"{p:g}" for p in ps])
    ax.set_ylim(0, top)
    if legend_below:
        put_legend_below(ax)
    else:
        ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    return fig


def plot_epoch_losses(histories: dict[str, Any], title: str | None = None) -> Figure:
    """Test loss per epoch, averaged over the tasks, one line per run (integer epoch ticks).

    Args:
        histories: label → DataFrame with one row per epoch and a ``val_<task>_loss`` column per
            task (``train_and_evaluate(...)["history"]``).
    """
    check_nonempty("histories", histories, "at least one run")
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    palette = sns.color_palette("colorblind", len(histories))
    styles = ["-", "--", "-.", ":"]
    for i, (label, hist) in enumerate(histories.items()):
        cols = [c for c in hist.columns if c.startswith("val_") and c.endswith("_loss") and c != "val_loss"]
        if not cols:
            raise invalid("histories", "runs with per-task columns val_<task>_loss", label,
                          received=f"run {label!r} with columns {list(hist.columns)}")
        epochs = np.arange(1, len(hist) + 1)
        ax.plot(epochs, hist[cols].mean(axis=1), styles[i % len(styles)], color=palette[i], lw=2, label=label)
    n = max(len(h) for h in histories.values())
    step = max(1, int(np.ceil(n / 10)))
    ax.set(xlabel="epoch", ylabel="test MSE (mean over tasks)", yscale="log", title=title or "",
           xticks=range(1, n + 1, step) if step > 1 else range(1, n + 1), xlim=(0.5, n + 0.5))
    ax.legend(fontsize=9)
    return fig


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, color: str, fontsize: float = 8) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.008,rounding_size=0.015",
                                fc=color, ec="k", lw=0.8, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], color: str = "0.4", lw: float = 0.8,
           **kw: Any) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, color=color, lw=lw, **kw))


def plot_moe_diagram(weights: Any, *, units: int = 16, ax: Any = None, title: str | None = None) -> Figure:
    """A mixture of experts as a picture: experts, the gates' weights, the mixes, the towers.

    Every expert and every gate reads the input ``x``. A gate's softmax weights (one per expert,
    written under each expert and drawn as the width of its line) mix the experts' outputs into
    one vector. With one gate (``weights`` of shape ``(1, E)``) that one mix goes to both towers:
    the one-gate MoE. With one gate per task (``(T, E)``) each tower gets its own mix: MMoE.

    Args:
        weights: gate weights ``(G, E)``, each row positive and summing to 1; ``G`` is 1 or 2.
        units: the experts' width ``U``, written on the mix.
        ax: draw into this axes (default: a new figure).
    """
    w = check_ndim("weights", weights, 2, "(gates, experts)", dtype=float)
    g, e = w.shape
    if g not in (1, 2) or e < 2:
        raise invalid("weights", "an array of shape (1 or 2, experts >= 2)", w, received=f"`weights` of shape {w.shape}")
    if (w < 0).any() or not np.allclose(w.sum(axis=1), 1.0, atol=1e-3):
        raise invalid("weights", "softmax weights: each row >= 0 and summing to 1", w,
                      received=f"rows summing to {np.round(w.sum(axis=1), 4).tolist()}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.2, 3.9), layout="constrained")
    fig = ax.figure
    ax.set(xlim=(0, 1), ylim=(0.01, 0.97))
    ax.axis("off")
    gate_colors = [ARCH_COLORS["omoe"], ARCH_COLORS["mmoe"]]
    xs = np.linspace(0.08, 0.66, e)
    y_in, y_exp, y_mix, y_tow = 0.07, 0.36, 0.66, 0.91
    _box(ax, 0.37, y_in, 0.66, 0.08, "input x · [batch, 100]", "#f2f2f2", 9)
    bw = min(0.07, 0.5 / e)
    for i, x in enumerate(xs):
        _arrow(ax, (x, y_in + 0.04), (x, y_exp - 0.045))
        _box(ax, x, y_exp, bw, 0.09, f"expert\n{i + 1}", "#e8e8e8", 7)
    gx = [0.86] if g == 1 else [0.80, 0.92]
    for k in range(g):
        _arrow(ax, (0.70, y_in + 0.02), (gx[k], y_exp - 0.05), color=gate_colors[k])
        _box(ax, gx[k], y_exp, 0.10 if g == 1 else 0.09, 0.09, "gate\nsoftmax" if g == 1 else f"gate {k + 1}",
             "white", 7.5)
    mx = [0.37] if g == 1 else [0.22, 0.52]
    for k in range(g):
        for i, x in enumerate(xs):
            _arrow(ax, (x, y_exp + 0.045), (mx[k], y_mix - 0.045), color=gate_colors[k],
                   lw=0.3 + 9 * w[k, i], alpha=0.75)
            ax.text(x, y_exp - 0.075 - 0.045 * k, f"{w[k, i]:.2f}", ha="center", va="center", fontsize=7,
                    color=gate_colors[k], bbox={"fc": "white", "ec": "none", "pad": 0.6}, zorder=3)
        ax.add_patch(Circle((mx[k], y_mix), 0.045, fc="white", ec=gate_colors[k], lw=1.5))
        ax.text(mx[k], y_mix, "Σ", ha="center", va="center", fontsize=12)
        ax.annotate("", xy=(mx[k] + 0.05, y_mix), xytext=(gx[k], y_exp + 0.05),
                    arrowprops={"arrowstyle": "-|>", "color": gate_colors[k], "ls": "--", "lw": 1.0})
        ax.text(mx[k] - 0.055, y_mix, f"mix\n[batch, {units}]", ha="right", va="center", fontsize=7)
    towers = [0.22, 0.52]
    for t, tx in enumerate(towers):
        src = mx[0] if g == 1 else mx[t]
        _arrow(ax, (src, y_mix + 0.045), (tx, y_tow - 0.045), color="k", lw=1.2)
        _box(ax, tx, y_tow, 0.2, 0.08, f"tower {t + 1} → ŷ{t + 1}", "#fff4d6", 8.5)
    ax.text(0.86 if g == 1 else 0.86, y_mix + 0.02, "the gate's weights\n(one per expert,\nsum to 1)"
            if g == 1 else "each gate's weights\n(one per expert,\nsum to 1)", ha="center", va="center", fontsize=7.5)
    default = ("one gate: both towers receive the same mix" if g == 1
               else "one gate per task: each tower receives its own mix")
    ax.set_title(title or default, fontsize=10)
    return fig


def plot_gate_mix(weights: Any, *, ax: Any = None, title: str | None = None) -> Figure:
    """The one gate's mix: mean weight per expert over samples, the same for every tower.

    Bars: the mean weight each expert receives; whiskers: 10th to 90th percentile over samples;
    dotted line: the uniform ``1/E``.

    Args:
        weights: the gate's weights ``(B, E)`` for ``B`` samples (each row sums to 1).
        ax: draw into this axes (default: a new figure).
    """
    w = check_ndim("weights", weights, 2, "(samples, experts)", dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.2), layout="constrained")
    fig = ax.figure
    e = w.shape[1]
    mean, lo, hi = w.mean(axis=0), np.quantile(w, 0.1, axis=0), np.quantile(w, 0.9, axis=0)
    err = np.stack([mean - lo, hi - mean]).clip(min=0)
    ax.bar(np.arange(1, e + 1), mean, 0.7, yerr=err, capsize=2, color=ARCH_COLORS["omoe"],
           error_kw={"lw": 0.8}, label="tower 1 and tower 2 (one mix)")
    ax.axhline(1 / e, color="k", lw=0.8, ls=":", label=f"even mix 1/{e}")
    ax.set(xticks=range(1, e + 1), xlabel="expert", ylabel="gate weight (mean, 10–90 %)",
           ylim=(0, max(0.5, float(hi.max()) * 1.15)), title=title or "the one gate's mix")
    ax.legend(fontsize=9, loc="upper right")
    return fig
