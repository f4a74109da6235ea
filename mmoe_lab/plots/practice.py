"""Figures of the practitioner notebooks: mixed tasks (07), beyond MMoE (08), ESMM's funnel
(09) and census-income (10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .._validate import check_columns, check_ndim, invalid
from .style import ARCH_COLORS, ARCH_LABELS, arch_label, task_label


def plot_watch_time(watch_time: Any) -> Figure:
    """Histogram of a heavy-tailed duration in seconds (left) and in log seconds (right).

    Args:
        watch_time: ``(n,)`` positive durations.
    """
    t = check_ndim("watch_time", watch_time, 1, "(n,)", np.float64)
    if not (t > 0).all():
        raise invalid("watch_time", "positive durations (seconds)", watch_time, received="non-positive values")
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
    p = check_ndim("true_p", true_p, 1, "(n,)", np.float64)
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


def plot_census_auc(comparison: Any, seeds: Any = None) -> Figure:
    """Our income AUC per architecture beside the paper's Table 1 (mean and best).

    Args:
        comparison: DataFrame indexed by arch with ``income AUC (ours)``, ``income mean (paper)``
            and ``income best (paper)``, as from :func:`mmoe_lab.census_models.paper_comparison`.
        seeds: optional DataFrame with columns ``arch`` and ``income AUC`` (one row per seed and
            arch) drawn as dots, e.g. ``data/claims/10_census.csv`` (``python -m mmoe_lab claims 10``).
    """
    check_columns("comparison", comparison, ("income AUC (ours)", "income mean (paper)", "income best (paper)"))
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
