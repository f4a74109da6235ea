"""Names that moved to another module stay importable from their old one.

A module whose functions moved elsewhere keeps a table ``{name: new module}`` and gets its
``__getattr__`` / ``__dir__`` from :func:`forward`::

    _MOVED = {"run_table": "study_analysis"}
    __getattr__, __dir__ = forward(__name__, _MOVED)

A moved name is looked up on first use (not copied at import time, so two modules that import
each other still load) and then cached in the old module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["forward"]


def forward(module: str, moved: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``module`` that resolve every name of ``moved``.

    Args:
        module: the old module's ``__name__`` (e.g. ``"mmoe_lab.models"``).
        moved: name → the sibling module it lives in now (e.g. ``"training"``).
    """
    package = module.rpartition(".")[0]

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{moved[name]}", package), name)
        vars(sys.modules[module])[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module])) | set(moved))

    return __getattr__, __dir__
