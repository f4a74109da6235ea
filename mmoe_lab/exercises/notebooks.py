"""Exercise cells in notebooks: find them, read their saved check results, fill in solutions.

Works on notebooks as plain JSON dicts (``nbformat``'s ``NotebookNode`` is one), so reading a
learner's progress needs no kernel and no nbformat. The conventions (tags ``exercise:NAME`` and
``exercise-check:NAME``, check cells ``exercises.get("NAME").check(NAME)``) are described in
:mod:`mmoe_lab.exercises`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import NAMES, get
from ._core import MARKS

__all__ = ["CheckOutcome", "read_notebook", "exercise_cells", "check_cells", "check_outcomes", "fill_solutions"]

_CHECK_CALL = re.compile(r"""exercises\.get\(\s*["'](\w+)["']\s*\)\.check\(""")
_STATUS_BY_MARK = {mark: status for status, mark in MARKS.items()}


@dataclass(frozen=True)
class CheckOutcome:
    """What a saved check cell shows.

    Attributes:
        name: the exercise.
        status: ``"passed"``, ``"failed"``, ``"not_attempted"``, ``"error"`` (the cell raised) or
            ``"not_run"`` (no saved output).
        message: the result's message (or the error's), ``""`` when not run.
    """

    name: str
    status: str
    message: str


def read_notebook(path: str | Path) -> dict[str, Any]:
    """A notebook file as a dict (``cells`` with ``source`` as one string)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _tagged(cell: dict[str, Any], prefix: str) -> str | None:
    for tag in _tags(cell):
        if tag.startswith(prefix) and tag[len(prefix):] in NAMES:
            return tag[len(prefix):]
    return None


def exercise_cells(nb: dict[str, Any]) -> list[tuple[int, str]]:
    """``(cell index, exercise name)`` of every cell tagged ``exercise:NAME``."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        name = _tagged(cell, "exercise:") if cell.get("cell_type") == "code" else None
        if name:
            found.append((i, name))
    return found


def check_cells(nb: dict[str, Any]) -> list[tuple[int, str]]:
    """``(cell index, exercise name)`` of every check cell: tagged ``exercise-check:NAME``, or
    calling ``exercises.get("NAME").check(``."""
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        name = _tagged(cell, "exercise-check:")
        if name is None:
            match = _CHECK_CALL.search(cell.get("source", "") if isinstance(cell.get("source"), str)
                                       else "".join(cell.get("source", [])))
            name = match.group(1) if match and match.group(1) in NAMES else None
        if name:
            found.append((i, name))
    return found


def _texts(cell: dict[str, Any]) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            texts.append(out.get("text", ""))
        data = out.get("data", {})
        if "text/plain" in data:
            texts.append(data["text/plain"])
    return ["".join(t) if isinstance(t, list) else str(t) for t in texts]


def outcome_of(cell: dict[str, Any], name: str) -> CheckOutcome:
    """Read one check cell's saved outputs: the line ``MARK NAME: message`` (with the indented
    lines that continue a wrapped message), or the error."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return CheckOutcome(name, "error", f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
    marks = "|".join(map(re.escape, _STATUS_BY_MARK))
    prefix = re.compile(rf"^({marks}) {re.escape(name)}: (.*(?:\n[ ]+\S.*)*)$", re.M)
    for text in _texts(cell):
        match = prefix.search(text)
        if match:
            return CheckOutcome(name, _STATUS_BY_MARK[match.group(1)], " ".join(match.group(2).split()))
    return CheckOutcome(name, "not_run", "")


def check_outcomes(nb: dict[str, Any]) -> list[CheckOutcome]:
    """Every check cell's saved outcome, in cell order (an exercise checked twice: the last one)."""
    latest: dict[str, CheckOutcome] = {}
    for i, name in check_cells(nb):
        latest[name] = outcome_of(nb["cells"][i], name)
    return list(latest.values())


def fill_solutions(nb: dict[str, Any]) -> list[str]:
    """Replace every exercise cell's source with its reference solution, in place.

    Returns:
        the names of the exercises filled in, in cell order.
    """
    filled = []
    for i, name in exercise_cells(nb):
        nb["cells"][i]["source"] = get(name).solution_source()
        filled.append(name)
    return filled
