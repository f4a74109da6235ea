"""The package's shape: no import loop, no upward import, no module over 600 lines, and the
README's module table and import diagram describe the package as it is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mmoe_lab.tools import imports

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "mmoe_lab"
MAX_LINES = 600


def _readme_diagram() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```mermaid\n", text.index("## The package")) + len("```mermaid\n")
    return text[start:text.index("```\n", start)]


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = imports.import_graph()
    assert "replicas" in graph["study.run"]  # `from ..replicas import train_replicas` inside run_unit
    assert "study.analysis" in graph["plots.lesson"]  # inside plot_gap_vs_p
    assert {"study.grid", "study.run", "study.store", "study.analysis"} <= graph["study"]
    assert "plots" in graph["_setup"]


def test_no_import_loops():
    loops = imports.cycles(imports.import_graph())
    assert not loops, f"import loops: {loops}"


def test_the_loop_finder_finds_a_loop():
    assert imports.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert imports.cycles({"a": {"b"}, "b": set()}) == []


def test_no_upward_imports():
    graph = imports.import_graph()
    for module in graph:
        imports.layer_of(module)  # every module is in a layer
    assert not imports.upward_edges(graph), imports.upward_edges(graph)
    # the rule bites: a learner module importing a tool, or the study runner its Dask executor, would fail
    assert imports.upward_edges({"experiments": {"widgets"}, "study.run": {"study.dask_executor"},
                                 "claims.registry": {"tools.lesson_search"}}) == [
        ("claims.registry", "tools.lesson_search"), ("experiments", "widgets"), ("study.run", "study.dask_executor")]


def test_setup_is_an_entry_point():
    graph = imports.import_graph()
    importers = sorted(m for m, targets in graph.items() if "_setup" in targets)
    assert importers == [""], importers  # only the package's __init__


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_readme_diagram_is_the_computed_graph():
    assert _readme_diagram() == imports.mermaid(imports.import_graph()), (
        "README's diagram is stale: paste the output of `python -m mmoe_lab.tools.imports`")


def test_module_table_names_every_learner_module_and_both_packages():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The package"):text.index("```mermaid", text.index("## The package"))]
    named = set(re.findall(r"`mmoe_lab\.(\w+)`", section))
    learner = {p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_")}
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert learner | packages <= named | {"study", "tools"}, (learner | packages) - named
    assert named <= learner | packages, named - (learner | packages)
    for wing in ("study", "tools"):
        modules = {p.stem for p in (PKG / wing).glob("*.py") if not p.stem.startswith("_")}
        assert all(f"`{m}`" in section for m in modules), (wing, modules)


def test_every_module_imports_on_its_own():
    """No import order breaks a module that is imported first (each in a fresh interpreter)."""
    code = "import importlib, sys; [importlib.import_module('mmoe_lab.' + m) for m in sys.argv[1:]]"
    for module in ("study.analysis", "study", "study.dask_executor", "models", "training", "claims", "_validate"):
        proc = subprocess.run([sys.executable, "-c", code, module], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, (module, proc.stderr[-2000:])


def test_the_package_imports_cheaply():
    """``import mmoe_lab`` (and the study package) load neither Keras nor matplotlib nor Dask."""
    code = ("import sys, mmoe_lab, mmoe_lab.study; "
            "print(sorted(m for m in ('keras', 'matplotlib', 'distributed', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", (out.stdout, out.stderr[-2000:])
