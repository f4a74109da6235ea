"""What the committed notebooks say must hold on any machine.

* **Prose against data.** Every 3-decimal number in a notebook's markdown appears in that
  notebook's committed outputs, in a small committed data file the notebook loads, or among the
  paper's own values (:mod:`mmoe_lab.paper`, plus the short list below). A number that a machine's
  live draw printed once cannot hide in the prose.
* **What strict nbval compares.** Cells whose printed text is a live training draw carry the
  ``nbval-ignore-output`` tag with a comment saying why; at least 80 % of all code cells are
  still compared.
* **Lines a learner can read.** No line a notebook prints (stream output, or the plain-text form
  of a cell's value) is wider than :data:`mmoe_lab.io.TEXT_WIDTH`; DataFrames and widgets are
  exempt (a notebook shows their HTML or the widget). :func:`mmoe_lab.io.wrap_text` makes the
  kit's sentences that narrow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mmoe_lab.io import TEXT_WIDTH, wrap_text

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


# ---- lines a learner can read ---------------------------------------------------------------------

#: Mime types of a value a notebook shows as a widget: its text/plain repr is never seen.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _printed_text(out: dict) -> str | None:
    """The text a learner reads from one output: stream text, or the text/plain of a value that
    is not a DataFrame (shown as an HTML table) or a widget; ``None`` for anything else."""
    if out.get("output_type") == "stream":
        text = out.get("text", "")
        return "".join(text) if isinstance(text, list) else text
    data = out.get("data", {})
    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    if "text/plain" not in data or WIDGET_MIME in data or "<table" in html:
        return None
    plain = data["text/plain"]
    return "".join(plain) if isinstance(plain, list) else plain


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_printed_line_is_wider_than_the_text_width(notebook: Path) -> None:
    wide = []
    for i, cell in enumerate(_cells(notebook)):
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = _printed_text(out)
            wide += [f"cell {i} ({len(line)} characters): {line[:60]}…" for line in (text or "").split("\n")
                     if len(line) > TEXT_WIDTH]
    assert not wide, f"{notebook.name}: printed lines wider than {TEXT_WIDTH} characters: {wide}"


def test_printed_text_skips_dataframes_and_widgets_only() -> None:
    long = "x " * 80
    assert _printed_text({"output_type": "stream", "name": "stdout", "text": [long]}) == long
    assert _printed_text({"output_type": "execute_result", "data": {"text/plain": long}}) == long
    assert _printed_text({"output_type": "execute_result",
                          "data": {"text/plain": long, "text/html": '<table class="dataframe">'}}) is None
    assert _printed_text({"output_type": "display_data", "data": {"text/plain": long, WIDGET_MIME: {}}}) is None
    assert _printed_text({"output_type": "display_data", "data": {"image/png": "..."}}) is None


def test_wrap_text_breaks_between_words_within_the_width() -> None:
    text = "held on 11 of 20 other seeds (seeds 1-20), " * 6
    lines = wrap_text(text).split("\n")
    assert len(lines) > 1 and all(len(line) <= TEXT_WIDTH for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])  # continuation lines are indented
    assert " ".join(text.split()) == " ".join(" ".join(lines).split())  # no word lost or split
    assert wrap_text("short stays as it is") == "short stays as it is"
    assert wrap_text("") == "" and wrap_text("a\n\nb") == "a\n\nb"  # newlines stay


def test_wrap_text_keeps_each_lines_indent_and_what_belongs_together() -> None:
    text = "    " + "word " * 30
    lines = wrap_text(text, width=40).split("\n")
    assert lines[0].startswith("    word") and all(line.startswith("      word") for line in lines[1:])
    assert wrap_text("aaaa bbbb p = 0.5", width=12) == "aaaa bbbb\n  p = 0.5"  # not "p =" / "0.5"
    assert wrap_text("replace `raise NotImplementedError` now", width=30) == (
        "replace\n  `raise NotImplementedError`\n  now")
    assert wrap_text("seeds 1-20 and 21-40", width=12) == "seeds 1-20\n  and 21-40"  # no break at hyphens
    assert wrap_text("see https://example.org/a/very/long/path ok", width=20) == (
        "see\n  https://example.org/a/very/long/path\n  ok")  # a word wider than the width stays whole
    assert wrap_text("one two three", width=8, indent="") == "one two\nthree"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"text": 3}, "`text` should be a str"),
    ({"text": "a", "width": 2}, "`width` should be an integer >= 4"),
    ({"text": "a", "width": 10.0}, "`width` should be an integer >= 4"),
    ({"text": "a", "indent": None}, "`indent` should be a str"),
])
def test_wrap_text_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        wrap_text(**kwargs)


#: The widest figure a notebook may commit, in PNG pixels: its output area is about 968 CSS px wide
#: in a 1,400 × 900 JupyterLab window, and figures are stored at 2× (shown at half their pixels).
MAX_FIGURE_PX = 1936


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_every_figure_fits_the_notebook_width(path: Path) -> None:
    """A wider figure is squeezed to the output area, its labels and legend shrinking with it."""
    import base64
    import struct

    nb = json.loads(path.read_text())
    wide = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                width = struct.unpack(">I", base64.b64decode(png)[16:20])[0]
                if width > MAX_FIGURE_PX:
                    wide.append((i, width))
    assert not wide, f"{path.name}: figures wider than {MAX_FIGURE_PX} px (cell, px): {wide}"
