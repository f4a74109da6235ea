"""Shared test configuration.

nbval compares every output of every notebook cell (strict mode). stderr is never compared:
it carries nothing a learner is taught from and libraries write to it at will.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval not installed: unit tests still run
    IPyNbCell = None


def _drop_stderr(outputs):
    return [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


if IPyNbCell is not None and not getattr(IPyNbCell, "_mmoe_lab_patched", False):
    _compare = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        return _compare(self, _drop_stderr(test), _drop_stderr(ref), skip_compare)

    IPyNbCell.compare_outputs = compare_outputs
    IPyNbCell._mmoe_lab_patched = True
