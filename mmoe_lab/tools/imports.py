"""The package's import graph, computed from the source: every import of a kit module by another,
also those inside functions and under ``if TYPE_CHECKING``.

:data:`LAYERS` orders the modules from the bottom (imported by everything) to the top (imports
everything); a module may import only modules of its own layer or of a layer below.
``tests/test_module_map.py`` checks that the graph has no loop and no upward edge, and that the
README's Mermaid diagram is :func:`mermaid` of it. ``python -m mmoe_lab.tools.imports`` prints
the diagram.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["PACKAGE", "LAYERS", "COLLAPSED", "modules", "import_graph", "layer_of", "cycles", "upward_edges", "mermaid", "main"]

#: The package's folder (where ``mmoe_lab/__init__.py`` is).
PACKAGE = Path(str(sys.modules["mmoe_lab"].__file__)).resolve().parent

#: ``(layer, module prefixes)`` from the bottom up. A module belongs to the layer of its longest
#: matching prefix (``"study"`` covers ``study.grid``, ...). Three wings: the learner's modules
#: (the first five layers and ``shown``), the study (``study.*``) and the tools (``tools``).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("_validate", "io", "paper", "backend")),
    ("data", ("synthetic", "scenarios", "datasets")),
    ("models", ("layers", "models", "metrics", "training", "replicas", "features", "census_models")),
    ("lessons", ("experiments", "diagnostics", "collapse")),
    ("study: grid and store", ("study.grid", "study.store")),
    ("study: run", ("study.run",)),
    ("study: Dask", ("study.dask_executor",)),
    ("study: the package, reading results", ("study.analysis", "study")),
    ("study: command line", ("study.cli",)),
    ("shown", ("plots", "progress", "widgets", "lesson_panels", "claims")),
    ("tools and exercises", ("tools", "exercises")),
    ("entry points", ("", "_setup", "__main__")),
)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package: dotted name relative to it (``""`` for its ``__init__``,
    ``"study"`` for ``study/__init__.py``, ``"study.grid"``) → file."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, is_package: bool, node: ast.ImportFrom, known: Iterable[str]) -> list[str]:
    """The kit modules one ``from ... import ...`` statement of module ``name`` imports."""
    known = set(known)
    if node.level == 0:
        if not (node.module or "").startswith("mmoe_lab"):
            return []
        base = node.module.split(".")[1:]  # type: ignore[union-attr]
    else:
        here = name.split(".") if name else []
        package = here if is_package else here[:-1]
        base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    targets = []
    for alias in node.names:
        sub = ".".join([*base, alias.name])
        targets.append(sub if sub in known else ".".join(base))
    return targets


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over the whole source (function bodies included)."""
    mods = modules(package)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(name, is_package, node, mods)
            elif isinstance(node, ast.Import):
                targets = [".".join(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "mmoe_lab"]
            elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args
                  and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                  and node.args[0].value.startswith(".") and node.args[0].value[1:] in mods):
                targets = [node.args[0].value[1:]]
            graph[name] |= {t for t in targets if t in mods and t != name}
    return graph


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of ``module``'s layer (its longest matching prefix)."""
    best, length = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (prefix != "" and module.startswith(prefix + "."))
            if matches and len(prefix) > length:
                best, length = i, len(prefix)
    if best < 0:
        raise LookupError(f"module {module!r} is in no layer of LAYERS")
    return best


def upward_edges(graph: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """Edges from a module to one in a higher layer."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if layer_of(b) > layer_of(a))


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import loops: every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


#: Packages drawn as one node in :func:`mermaid` (their inner imports are left out).
COLLAPSED = ("study", "plots", "claims", "tools", "exercises")


def _node(module: str) -> str:
    """The diagram's node of ``module``: its package if collapsed, ``mmoe_lab`` for the root."""
    top = module.split(".")[0]
    return "mmoe_lab" if module == "" else top if top in COLLAPSED else module


def mermaid(graph: Mapping[str, set[str]]) -> str:
    """The README's diagram of ``graph``: one node per learner module and per package of
    :data:`COLLAPSED`, grouped by layer, private modules (``_validate``, ``_setup``,
    ``__main__``) left out; an arrow points at the module imported."""
    shown = {m for m in graph if not m.split(".")[-1].startswith("_")}
    nodes = {_node(m) for m in shown}
    layer = {n: layer_of("" if n == "mmoe_lab" else n) for n in nodes}
    lines = ["graph LR"]
    for i, (title, _) in enumerate(LAYERS):
        members = sorted(n for n in nodes if layer[n] == i)
        if members:
            lines.append(f'  subgraph layer{i}["{title}"]')
            lines += [f"    {n}" for n in members]
            lines.append("  end")
    edges = {(_node(a), _node(b)) for a in shown for b in graph[a] if b in shown}
    lines += [f"  {a} --> {b}" for a, b in sorted(edges) if a != b]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the Mermaid diagram, then any loop or upward import; 1 if there is one."""
    graph = import_graph()
    print(mermaid(graph), end="")
    bad = cycles(graph), upward_edges(graph)
    for loop in bad[0]:
        print("loop:", " ↔ ".join(loop), file=sys.stderr)
    for a, b in bad[1]:
        print(f"upward import: {a} -> {b}", file=sys.stderr)
    return 1 if any(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
