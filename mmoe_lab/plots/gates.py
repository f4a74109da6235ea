"""Figures of the gates: per-task bars and heatmaps (notebooks 03-04), and the gate-collapse
lab's diagnostics (06)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .._validate import check_ndim, check_nonempty, check_number, invalid
from .style import ARCH_COLORS, COLLAPSE_COLORS, task_label


def expert_numbers(e: int) -> list[str]:
    """Tick labels of ``e`` experts: ``"1" … "e"``, the numbering of every figure and sentence."""
    return [str(i + 1) for i in range(e)]


def plot_gate_bars(gates: Any, task_names: Sequence[str] | None = None, title: str | None = None, *,
                   expert_names: Sequence[str] | None = None, uniform: float | None = None) -> Figure:
    """Mean gate weight per expert, one bar group per task; whiskers: 10th–90th percentile over
    samples (softmax weights live in [0, 1], so a ± std whisker could cross 0). A single sample
    (``B = 1``) is drawn as its weights, without whiskers.

    Args:
        gates: gate weights ``(B, T, E)``; for a one-gate MoE all T rows are the same gate,
            so pass ``gates[:, :1]`` to draw it once.
        task_names: labels of the T rows.
        expert_names: labels of the E experts (default ``1 .. E``, as in every figure of the kit).
        uniform: the weight of a uniform gate, drawn as a dotted line (default ``1/E``; pass
            ``1/k`` when each gate only sees ``k`` of the experts, as in CGC).
    """
    g = check_ndim("gates", gates, 3, "(batch, tasks, experts)", np.float64)
    b, t, e = g.shape
    names = [task_label(n) for n in task_names] if task_names is not None else [f"task {i + 1}" for i in range(t)]
    if expert_names is not None and len(expert_names) != e:
        raise invalid("expert_names", f"{e} names, one per expert", list(expert_names))
    if uniform is not None:
        check_number("uniform", uniform, 0, 1, lo_open=True)
    mean = g.mean(0)
    lo, hi = np.quantile(g, 0.1, axis=0), np.quantile(g, 0.9, axis=0)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * e * t + 1.5), 3.2))
    width = 0.8 / t
    colors = [ARCH_COLORS["omoe"], ARCH_COLORS["mmoe"], "#2ca02c", "#9467bd"]
    for i in range(t):
        err = np.stack([mean[i] - lo[i], hi[i] - mean[i]]).clip(min=0) if b > 1 else None
        ax.bar(np.arange(e) + (i - (t - 1) / 2) * width, mean[i], width, yerr=err, capsize=2,
               color=colors[i % len(colors)], label=names[i], error_kw={"lw": 0.8})
    level = 1 / e if uniform is None else float(uniform)
    ax.axhline(level, color="k", lw=0.8, ls=":", label="uniform 1/E" if uniform is None else f"uniform {level:.3g}")
    ax.set(xticks=range(e), xticklabels=expert_numbers(e), xlabel="expert",
           ylabel="gate weight (mean, 10–90%)" if b > 1 else "gate weight", title=title or "")
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
    check_nonempty("gates_by_label", gates_by_label, "a dict of at least one run")
    arrays = {k: check_ndim("gates", v, 3, "(batch, tasks, experts)", np.float64) for k, v in gates_by_label.items()}
    t = max(a.shape[1] for a in arrays.values())
    fig, axes = plt.subplots(len(arrays), t, figsize=(2.6 * t + 0.8, 2.3 * len(arrays)), squeeze=False)
    for r, (label, g) in enumerate(arrays.items()):
        for k in range(t):
            ax = axes[r, k]
            sns.heatmap(g[:n_samples, k, :], ax=ax, vmin=0, vmax=1, cmap="viridis", cbar=k == t - 1,
                        xticklabels=expert_numbers(g.shape[2]), yticklabels=False)
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
    g = check_ndim("gates_one", gates_one, 2, "(tasks, experts)", np.float64)
    return plot_gate_bars(g[None], task_names, title="one sample: how much each task listens to each expert")


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
    g = check_ndim("gates", gates, 3, "(batch, tasks, experts)", np.float64)
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
    check_number("vmax", vmax, 0, 1, lo_open=True)
    sns.heatmap(mean, ax=ax, vmin=0, vmax=float(vmax), cmap="viridis", annot=annot, fmt="",
                annot_kws={"fontsize": fontsize}, xticklabels=expert_numbers(e), yticklabels=names, cbar=colorbar,
                cbar_kws={"label": "mean gate weight"} if colorbar else None)
    ax.set(xlabel="expert", title=title or "mean gate weight ± std over samples")
    ax.tick_params(axis="y", rotation=0)
    return fig


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
    check_nonempty("histories", histories, "a dict of at least one run")
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
    axes[1].set(xlabel="epoch (0 = before training)", ylabel="polarisation rate", ylim=(-0.03, 1.03),
                title=f"share of samples with max gate > {threshold}")
    axes[0].set_title("normalised gate entropy")
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
    g = check_ndim("gates", gates, 3, "(batch, tasks, experts)", np.float64)
    e = g.shape[2]
    util = g.sum((0, 1)) / g.sum()
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(3.5, 0.45 * e + 1.5), 2.8))
    else:
        fig = ax.figure
    colors = ["#d62728" if u < dead_fraction / e else "#1f77b4" for u in util]
    ax.bar(range(e), util, color=colors)
    ax.axhline(1 / e, color="k", lw=0.8, ls=":", label=f"fair share 1/{e}")
    ax.set(xticks=range(e), xticklabels=expert_numbers(e), xlabel="expert", ylabel="share of gate mass",
           title=title or "expert utilisation", ylim=(0, max(0.3, float(util.max()) * 1.25)))
    ax.legend(fontsize=9, loc="upper right")
    return fig


def plot_gate_diagnostics(result: dict[str, Any], title: str | None = None) -> Figure:
    """One run of the collapse lab at a glance, on a 2 × 2 grid that fits a notebook's width:
    gate heatmap (with its colour bar) and expert utilisation on top, entropy and polarisation
    curves below. ``result`` is a :func:`mmoe_lab.collapse.run_scenario` output (keys ``gates``,
    ``task_names``, ``history``)."""
    fig, axes = plt.subplots(2, 2, figsize=(9.3, 6.0), gridspec_kw={"width_ratios": [1.6, 1.0]},
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
