"""README's module table and import diagram describe the package as it is."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "mmoe_lab"


def _public_modules() -> set[str]:
    return {p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_")}


def _import_time_edges() -> set[tuple[str, str]]:
    """(importer, imported) for intra-package imports run when the importer loads: statements at
    module level (not inside a function, not under ``if TYPE_CHECKING``) and module-level
    ``importlib.import_module(".x", ...)`` calls. Private modules are left out."""
    mods = {p.stem for p in PKG.glob("*.py")}
    edges = set()
    for path in PKG.glob("*.py"):
        src = path.stem
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            for n in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
                targets = []
                if isinstance(n, ast.ImportFrom) and n.level == 1:
                    targets = [n.module.split(".")[0]] if n.module else [a.name for a in n.names]
                elif (isinstance(n, ast.Call) and ast.unparse(n.func).endswith("import_module") and n.args
                      and isinstance(n.args[0], ast.Constant) and str(n.args[0].value).startswith(".")):
                    targets = [str(n.args[0].value)[1:]]
                edges |= {(src, t) for t in targets if t in mods and t != src}
    return {(a, b) for a, b in edges if not a.startswith("_") and not b.startswith("_")}


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("| module | job |")
    return text[start:text.index("```\n", text.index("```mermaid", start) + 3)]


def test_module_table_lists_every_public_module_once():
    rows = re.findall(r"^\| `mmoe_lab\.(\w+)` \|", _readme_section(), flags=re.M)
    assert len(rows) == len(set(rows)), sorted(r for r in rows if rows.count(r) > 1)
    assert set(rows) == _public_modules(), {"missing": _public_modules() - set(rows),
                                            "not a module": set(rows) - _public_modules()}


def test_import_diagram_matches_the_imports():
    section = _readme_section()
    drawn = set(re.findall(r"^\s+(\w+) --> (\w+)$", section, flags=re.M))
    real = _import_time_edges()
    assert drawn == real, {"add to README": sorted(real - drawn), "remove from README": sorted(drawn - real)}
    nodes = set(re.findall(r"^ {4}(\w+)$", section, flags=re.M))
    assert nodes == _public_modules(), nodes ^ _public_modules()


def test_every_module_imports_on_its_own():
    """No import cycle breaks a module that is imported first (each in a fresh interpreter)."""
    code = "import importlib, sys; [importlib.import_module('mmoe_lab.' + m) for m in sys.argv[1:]]"
    for module in ("study_analysis", "study", "study_dask", "models", "training", "_validate"):
        proc = subprocess.run([sys.executable, "-c", code, module], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, (module, proc.stderr[-2000:])
