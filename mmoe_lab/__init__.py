"""mmoe-lab: a notebook teaching kit for multi-task learning with Multi-gate Mixture-of-Experts.

Importing the package is cheap (numpy only) and selects the Keras backend: JAX unless
``KERAS_BACKEND`` is set (see :mod:`mmoe_lab.backend`, which says why). Every submodule is
also an attribute, loaded on first use (``mmoe_lab.models.build_model(...)``); those that need
Keras import it with its start-up logs quieted. Three wings: the learner's modules here,
:mod:`mmoe_lab.study` (the paper's study) and :mod:`mmoe_lab.tools` (what only a maintainer
runs).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from . import backend
from ._setup import environment_report, set_seed, setup_notebook
from .backend import quiet_import_keras, quiet_import_tensorflow
from .synthetic import (
    PRESETS,
    TaskGenerator,
    correlation_matrix,
    label_correlation,
    make_correlated_tasks,
    make_task_splits,
    population_label_correlation,
)

backend.select()  # before anything imports Keras (none of the imports above does)

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "TaskGenerator",
    "correlation_matrix",
    "environment_report",
    "label_correlation",
    "make_correlated_tasks",
    "make_task_splits",
    "population_label_correlation",
    "quiet_import_keras",
    "quiet_import_tensorflow",
    "set_seed",
    "setup_notebook",
]

#: Submodules that import no Keras (no need to quiet its start-up logs first).
_NO_KERAS = {"plots", "datasets", "metrics", "paper", "io", "study", "scenarios", "claims", "tools", "exercises"}


def __getattr__(name: str) -> Any:
    """``mmoe_lab.<submodule>`` on first use: the package's one lazy loader."""
    if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is None:
        raise AttributeError(f"module 'mmoe_lab' has no attribute {name!r}")
    if name not in _NO_KERAS:
        quiet_import_keras()
    return importlib.import_module(f".{name}", __name__)
