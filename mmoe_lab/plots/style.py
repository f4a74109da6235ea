"""The kit's figure style and the names every figure shares: colours and labels of the
architectures and tasks, the PNG helpers of the widget panels, a shape check."""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure

from .._validate import invalid

__all__ = ["set_style", "figure_png", "png_width", "ARCH_LABELS", "ARCH_COLORS", "MORE_ARCH_LABELS", "COLLAPSE_COLORS",
           "task_label", "arch_label"]


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


ARCH_LABELS: dict[str, str] = {"shared_bottom": "shared-bottom", "omoe": "one-gate MoE", "mmoe": "MMoE"}
ARCH_COLORS: dict[str, str] = {"shared_bottom": "#7f7f7f", "omoe": "#1f77b4", "mmoe": "#d62728"}
#: Display names of the architectures beyond the guided path (notebooks 07-10).
MORE_ARCH_LABELS: dict[str, str] = {"cgc": "CGC", "ple": "PLE", "stacked_mmoe": "stacked MMoE",
                                    "single_task": "single-task", "esmm": "ESMM"}


def task_label(name: Any) -> str:
    """How a figure names a task: the kit numbers tasks from 1, as the paper does.

    Code names of the form ``task_0`` / ``task0`` become ``"task 1"``; a task-specific expert
    ``task0_1`` becomes ``"task 1 · 2"`` and a shared one ``shared_1`` ``"shared · 2"`` (experts
    are numbered from 1 too, as in every figure). Display names are returned as they are: ``"task 1"`` (already
    numbered from 1, with a space) and named tasks (``"watched"``, ``"ctr"``).
    """
    text = str(name)
    m = re.fullmatch(r"task_?(\d+)", text)
    if m:
        return f"task {int(m.group(1)) + 1}"
    m = re.fullmatch(r"task_?(\d+)_(\d+)", text)
    if m:
        return f"task {int(m.group(1)) + 1} · {int(m.group(2)) + 1}"
    m = re.fullmatch(r"shared_(\d+)", text)  # a shared expert, named like the task-specific ones
    if m:
        return f"shared · {int(m.group(1)) + 1}"
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
        raise invalid("png", "PNG bytes (they start with the PNG signature)", png[:8])
    return int.from_bytes(png[16:20], "big")


#: One colour per cause of the collapse lab (notebook 06), kept from figure to figure, from
#: seaborn's colour-blind-safe palette: blue, orange, green, purple (its vermillion is too close
#: to its orange to tell two causes apart).
COLLAPSE_COLORS: dict[str, Any] = dict(zip(("healthy", "gate_init", "heavy_tail", "high_lr"),
                                           [sns.color_palette("colorblind")[i] for i in (0, 1, 2, 4)], strict=True))

#: One colour per remedy of the collapse lab, drawn beside the causes' colours (vermillion, sky
#: blue, brown, grey, yellow from the same palette; temperature and the log transform, drawn
#: together in notebook 06, are far apart from each other and from high_lr and heavy_tail).
REMEDY_COLORS: dict[str, Any] = dict(zip(("temperature", "log_transform", "gate_dropout", "balance_loss", "loss_weight"),
                                         [sns.color_palette("colorblind")[i] for i in (3, 9, 5, 7, 8)], strict=True))


def put_legend_below(ax: Any) -> None:
    """Put ``ax``'s legend under the axes, in two columns, where it cannot cover a band or a point
    (the figure needs room below, e.g. ``layout="constrained"``)."""
    ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
