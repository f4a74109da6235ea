"""mmoe-lab: a notebook teaching kit for multi-task learning with Multi-gate Mixture-of-Experts.

Importing the package is cheap (numpy only) and selects the Keras backend: JAX unless
``KERAS_BACKEND`` is set (see :mod:`mmoe_lab.backend`, which says why). Modules that need Keras
(``layers``, ``models``, ``experiments``, ...) load on first use, with start-up logs quieted.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import backend
from ._setup import environment_report, quiet_import_keras, quiet_import_tensorflow, set_seed, setup_notebook
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

_LAZY_MODULES = {
    "layers", "models", "training", "metrics", "experiments", "diagnostics", "collapse", "plots", "widgets",
    "bench", "bench_replicas", "datasets", "features", "census_models", "scenarios", "replicas", "study",
    "study_analysis", "paper",
    "io",
}
#: Lazy modules that do not import Keras (no need to quiet its start-up logs first).
_NO_KERAS = {"plots", "datasets", "diagnostics", "metrics", "paper", "io", "study_analysis"}
_LAZY_NAMES = {"MMoE": "layers", "build_model": "models", "TaskSpec": "models"}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        if name not in _NO_KERAS:
            quiet_import_keras()
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        quiet_import_keras()
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'mmoe_lab' has no attribute {name!r}")
