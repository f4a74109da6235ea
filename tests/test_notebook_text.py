"""What the committed notebooks say must hold on any machine.

* **Prose against data.** Every 3-decimal number in a notebook's markdown appears in that
  notebook's committed outputs, in a small committed data file the notebook loads, or among the
  paper's own values (:mod:`mmoe_lab.paper`, plus the short list below). A number that a machine's
  live draw printed once cannot hide in the prose.
* **What strict nbval compares.** Cells whose printed text is a live training draw carry the
  ``nbval-ignore-output`` tag with a comment saying why; at least 80 % of all code cells are
  still compared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DATA = ROOT / "data"

#: A 3-decimal number: 0.118, 1.440, -0.050 (not part of a longer number or a version string).
THREE_DECIMALS = re.compile(r"(?<![\d.])(-?\d+\.\d{3})(?![\d.])")
ANY_NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?|-?\d+")
#: Data files with more numbers than this are per-run tables, where almost any 3-decimal value
#: occurs by chance: they do not vouch for a number in the prose.
SMALL_DATA = 400
#: The paper's values that prose may quote beyond those in ``mmoe_lab/paper.py`` (which holds its
#: figures and tables with citations): none today.
PAPER_ALLOWANCE: set[str] = set()
IGNORE_TAG = "nbval-ignore-output"
MIN_COMPARED_SHARE = 0.80


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _rounded(text: str) -> set[str]:
    """Every number in ``text``, as written and rounded to 3 decimals."""
    out = set(THREE_DECIMALS.findall(text))
    for tok in ANY_NUMBER.findall(text):
        try:
            out.add(f"{float(tok):.3f}")
        except ValueError:
            continue
    return {s.lstrip("-") for s in out} | out


def _output_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
        for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
            val = out.get("data", {}).get(mime)
            if val is not None:
                parts.append("".join(val) if isinstance(val, list) else val)
    return "\n".join(parts)


def _data_files(code: str, notebook: Path) -> list[Path]:
    """Small committed data files a notebook loads: paths named in its code, and its claim file."""
    files: list[Path] = []
    for ref in set(re.findall(r"data/[\w/.\-]+", code)):
        target = ROOT / ref
        files += sorted(target.rglob("*")) if target.is_dir() else [target]
    files += sorted((DATA / "claims").glob(f"{notebook.name[:2]}_*.csv"))
    return [f for f in files if f.is_file() and f.suffix in (".csv", ".json", ".md")]


def _paper_values() -> set[str]:
    return _rounded((ROOT / "mmoe_lab" / "paper.py").read_text(encoding="utf-8")) | PAPER_ALLOWANCE


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_three_decimal_number_in_the_prose_is_backed(notebook: Path) -> None:
    cells = _cells(notebook)
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    known = _rounded("\n".join(_output_text(c) for c in cells)) | _paper_values()
    for f in _data_files(code, notebook):
        text = f.read_text(encoding="utf-8", errors="replace")
        if len(ANY_NUMBER.findall(text)) <= SMALL_DATA:
            known |= _rounded(text)
    unbacked = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for num in THREE_DECIMALS.findall(_source(cell)):
            if num not in known and num.lstrip("-") not in known:
                unbacked.append(f"cell {i}: {num}")
    assert not unbacked, (f"{notebook.name}: numbers in the prose that no committed output or small data "
                          f"file of the notebook shows: {unbacked}")


def test_ignored_outputs_say_why_and_most_cells_are_compared() -> None:
    total = ignored = 0
    missing_reason = []
    for nb in NOTEBOOKS:
        for i, cell in enumerate(_cells(nb)):
            if cell["cell_type"] != "code":
                continue
            total += 1
            if IGNORE_TAG in cell.get("metadata", {}).get("tags", []):
                ignored += 1
                first = _source(cell).lstrip().splitlines()[:1]
                if not first or not first[0].startswith("#"):
                    missing_reason.append(f"{nb.name} cell {i}")
    assert not missing_reason, f"cells whose output nbval ignores without a first-line comment why: {missing_reason}"
    share = 1 - ignored / total
    assert share >= MIN_COMPARED_SHARE, f"only {share:.0%} of {total} code cells are compared by strict nbval"
