"""Every figure a notebook shows, one function each (matplotlib + seaborn, PNG output)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["set_style"]


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
