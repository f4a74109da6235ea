"""Every figure a notebook shows, one function each (matplotlib + seaborn, PNG output).

The figures live in modules by topic; this package is their one public API, so notebooks write
``from mmoe_lab import plots; plots.plot_fig2(...)``:

* :mod:`~mmoe_lab.plots.style`: the style, the architectures' colours and labels, PNG helpers;
* :mod:`~mmoe_lab.plots.tasks`: the tasks and their correlation, loss curves, model comparisons
  (notebooks 00-04);
* :mod:`~mmoe_lab.plots.gates`: the gates, and the gate-collapse lab (03, 04, 06);
* :mod:`~mmoe_lab.plots.shapes`: shapes, not heights: normalised losses beside the paper's, the
  comparison panel's view (04, 05);
* :mod:`~mmoe_lab.plots.lesson`: the correlation lesson and the stored study (02-05);
* :mod:`~mmoe_lab.plots.practice`: the practitioner notebooks (07-10);
* :mod:`~mmoe_lab.plots.course`: the guided lessons' diagrams and live draws on a stored band (01-03).
"""

from __future__ import annotations

from .course import ARCH_MARKERS, plot_epoch_losses, plot_gate_mix, plot_loss_band_vs_p, plot_moe_diagram
from .gates import (
    plot_consultation,
    plot_gate_bars,
    plot_gate_curves,
    plot_gate_diagnostics,
    plot_gate_heatmaps,
    plot_gate_mean_heatmap,
    plot_utilization,
)
from .lesson import (
    GAP_MARKERS,
    GAP_STYLE,
    plot_datasize,
    plot_fig4_curves,
    plot_fig5_hist,
    plot_gap_vs_p,
    plot_loss_vs_p,
    plot_spread_by_size,
    plot_study_cell,
)
from .practice import plot_census_auc, plot_cvr_calibration, plot_gradient_norms, plot_mtl_gain, plot_watch_time
from .shapes import plot_comparison_view, plot_relative_rise
from .style import (
    ARCH_COLORS,
    ARCH_LABELS,
    COLLAPSE_COLORS,
    MORE_ARCH_LABELS,
    REMEDY_COLORS,
    arch_label,
    figure_png,
    png_width,
    set_style,
    task_label,
)
from .tasks import (
    plot_fig2,
    plot_label_scatter,
    plot_label_scatter_grid,
    plot_loss_curves,
    plot_model_comparison,
    plot_pearson_vs_spearman,
    plot_seed_curves,
    plot_task_vectors,
)

__all__ = [
    # style, colours and names shared by every figure
    "set_style", "figure_png", "png_width", "ARCH_LABELS", "ARCH_COLORS", "MORE_ARCH_LABELS", "task_label",
    "arch_label",
    # guided path (01-04): generator, architectures, gates
    "plot_task_vectors", "plot_label_scatter", "plot_label_scatter_grid", "plot_pearson_vs_spearman", "plot_fig2",
    "plot_loss_curves", "plot_gate_bars", "plot_gate_heatmaps", "plot_consultation", "plot_model_comparison",
    "plot_seed_curves", "ARCH_MARKERS", "plot_moe_diagram", "plot_gate_mix", "plot_epoch_losses", "plot_loss_band_vs_p",
    # practitioner tasks (07-10)
    "plot_watch_time", "plot_gradient_norms", "plot_mtl_gain", "plot_cvr_calibration", "plot_census_auc",
    # the correlation lesson and the stored study (02-05)
    "GAP_STYLE", "GAP_MARKERS", "plot_relative_rise", "plot_comparison_view", "plot_gap_vs_p", "plot_loss_vs_p", "plot_fig4_curves", "plot_fig5_hist", "plot_datasize",
    "plot_spread_by_size", "plot_study_cell",
    # gate collapse (06)
    "COLLAPSE_COLORS", "REMEDY_COLORS", "plot_gate_mean_heatmap", "plot_gate_curves", "plot_utilization", "plot_gate_diagnostics",
]
