"""The paper's synthetic study (Figs. 4–5) as a resumable grid: models × correlations × seeds.

Each *unit* of work is one (preset, training-set size, architecture, correlation, block of
seeds), trained at once as replicas (:func:`mmoe_lab.replicas.train_replicas`). One job per
module:

* :mod:`~mmoe_lab.study.grid`: the grid (:class:`Study`) and its budgets;
* :mod:`~mmoe_lab.study.store`: part files, claims (locks), provenance, merge and load;
* :mod:`~mmoe_lab.study.run`: one unit, and every pending unit in this process;
* :mod:`~mmoe_lab.study.dask_executor`: the units as Dask tasks (``--executor dask``);
* :mod:`~mmoe_lab.study.analysis`: reading the results (tables, curves, MMoE's gaps);
* :mod:`~mmoe_lab.study.cli`: ``python -m mmoe_lab reproduce`` (``make reproduce``).

The names below are the package's API, what notebooks use (``study.load_results(...)``,
``study.run_table(...)``). Importing it loads neither Keras nor Dask.
"""

from __future__ import annotations

from . import analysis
from .analysis import *  # noqa: F403 (the analysis functions are the package's API, listed once there)
from .grid import PAPER_REGIME, STUDY_BUDGET, Study
from .run import run_study, run_unit
from .store import load_results, merge_parts

__all__ = [
    "STUDY_BUDGET",
    "PAPER_REGIME",
    "Study",
    "run_study",
    "run_unit",
    "merge_parts",
    "load_results",
    *analysis.__all__,
]
