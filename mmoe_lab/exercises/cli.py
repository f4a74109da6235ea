"""``python -m mmoe_lab exercises``: list the exercises, show a learner's progress, run the solutions.

* ``--list``: one line per exercise (notebook, name, summary).
* ``--status [FOLDER]`` (default ``my-notebooks/``): reads the saved notebooks, executes nothing,
  and prints per notebook which exercises were checked and whether they passed.
* ``--solutions NOTEBOOK_DIR [--out DIR] [--require-all]``: copies the notebooks, replaces every
  exercise cell by its reference solution, executes the copies (kernel ``python3``, relative
  paths resolved from ``NOTEBOOK_DIR``), and exits 1 unless every exercise's check passed. With
  ``--require-all`` every exercise of :data:`mmoe_lab.exercises.ALL` must be found too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import ALL, NAMES
from ._core import MARKS
from .notebooks import check_outcomes, exercise_cells, fill_solutions, read_notebook

__all__ = ["main", "list_exercises", "show_status", "run_solutions"]

DEFAULT_FOLDER = "my-notebooks"
_STATUS_TEXT = {"passed": "passed", "failed": "failed", "not_attempted": "not attempted yet",
                "error": "the check cell raised", "not_run": "not checked yet (run its check cell)"}
_STATUS_MARK = {**MARKS, "error": MARKS["failed"], "not_run": "·"}


def list_exercises() -> int:
    """Print one line per exercise, in notebook order."""
    width = max(len(n) for n in NAMES)
    nb_width = max(len(ex.notebook) for ex in ALL)
    for ex in ALL:
        print(f"{ex.notebook:<{nb_width}}  {ex.name:<{width}}  {ex.summary}")
    return 0


def show_status(folder: str | Path) -> int:
    """Print, per saved notebook in ``folder``, each check's outcome; a summary line last."""
    root = Path(folder)
    if not root.is_dir():
        print(f"error: {root} is not a folder (your notebooks are in my-notebooks/ after `make lab`)",
              file=sys.stderr)
        return 2
    width = max(len(n) for n in NAMES)
    best: dict[str, str] = {}
    rank = {"passed": 4, "failed": 3, "error": 3, "not_attempted": 2, "not_run": 1}
    paths = sorted(root.glob("*.ipynb"))
    print(f"{root}/ (read from the saved notebooks; nothing is executed)")
    for path in paths:
        try:
            nb = read_notebook(path)
        except (OSError, ValueError) as exc:
            print(f"{path.name}: could not read it ({type(exc).__name__})")
            continue
        outcomes = {o.name: o for o in check_outcomes(nb)}
        expected = [ex.name for ex in ALL if ex.notebook == path.stem and ex.name not in outcomes]
        if not outcomes and not expected:
            continue
        print(path.name)
        for o in outcomes.values():
            text = _STATUS_TEXT[o.status] + (f": {o.message}" if o.status in ("failed", "error") else "")
            print(f"  {_STATUS_MARK[o.status]} {o.name:<{width}}  {text}")
            if rank[o.status] > rank.get(best.get(o.name, ""), 0):
                best[o.name] = o.status
        for name in expected:
            print(f"  {_STATUS_MARK['not_run']} {name:<{width}}  no check cell in this notebook")
    counts = {s: sum(1 for n in NAMES if best.get(n, "not_run") == s) for s in rank}
    print(f"{counts['passed']} of {len(NAMES)} exercises passed; {counts['failed'] + counts['error']} failed, "
          f"{counts['not_attempted']} not attempted, {counts['not_run']} not checked yet")
    return 0


def run_solutions(notebook_dir: str | Path, out: str | Path | None = None, *, timeout: int = 300,
                  require_all: bool = False) -> int:
    """Execute copies of the notebooks with every exercise cell replaced by its solution.

    Returns:
        0 if every exercise found passed its check (and, with ``require_all``, every exercise
        was found), else 1. Prints one line per exercise and ``N passed, M failed``.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    src = Path(notebook_dir).resolve()
    if not src.is_dir():
        print(f"error: {notebook_dir} is not a folder", file=sys.stderr)
        return 2
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="mmoe-lab-solutions-")
        out_dir = Path(tmp.name)
    else:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
    passed: list[str] = []
    failed: list[str] = []
    seen: set[str] = set()
    try:
        for path in sorted(src.glob("*.ipynb")):
            if not exercise_cells(read_notebook(path)):
                continue
            nb = nbformat.read(path, as_version=4)
            names = fill_solutions(nb)
            seen.update(names)
            print(f"{path.name}: executing with {len(names)} solution(s) filled in ...", flush=True)
            error = ""
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(src)}})
            try:
                client.execute()
            except CellExecutionError as exc:
                error = f"{getattr(exc, 'ename', 'Error')}: {getattr(exc, 'evalue', '')}"
            except Exception as exc:  # noqa: BLE001 - a dead kernel or a timeout fails this notebook, not the run
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            nbformat.write(nb, out_dir / path.name)
            outcomes = {o.name: o for o in check_outcomes(nb)}
            for name in names:
                o = outcomes.get(name)
                if o is not None and o.status == "passed":
                    passed.append(name)
                    print(f"  {MARKS['passed']} {path.name} {name}")
                    continue
                if o is None:
                    why = "no check cell"
                elif o.status == "not_run":
                    why = f"its check did not run ({error})" if error else "its check printed no result"
                else:
                    why = f"{_STATUS_TEXT[o.status]}: {o.message}"
                failed.append(name)
                print(f"  {MARKS['failed']} {path.name} {name}: {why}")
            if error and all(n in passed for n in names):
                failed.append(path.name)
                print(f"  {MARKS['failed']} {path.name}: a cell raised {error}")
        if require_all:
            for name in NAMES:
                if name not in seen:
                    failed.append(name)
                    print(f"  {MARKS['failed']} {name}: no cell tagged exercise:{name} in {notebook_dir}")
        if not seen:
            print(f"no exercise cells (tag exercise:NAME) in {notebook_dir}")
        if out is not None:
            print(f"executed copies in {out_dir}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 0 if seen and not failed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``--list``, ``--status [FOLDER]`` or ``--solutions NOTEBOOK_DIR``."""
    parser = argparse.ArgumentParser(prog="python -m mmoe_lab exercises",
                                     description="The checked exercises of the notebooks.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="one line per exercise")
    mode.add_argument("--status", nargs="?", const=DEFAULT_FOLDER, metavar="FOLDER",
                      help=f"which checks passed in the saved notebooks of FOLDER (default {DEFAULT_FOLDER}/)")
    mode.add_argument("--solutions", metavar="NOTEBOOK_DIR",
                      help="execute copies of the notebooks with every exercise solved; fail unless all pass")
    parser.add_argument("--out", metavar="DIR", help="with --solutions: keep the executed copies in DIR")
    parser.add_argument("--require-all", action="store_true",
                        help="with --solutions: also fail when an exercise has no cell in the notebooks")
    parser.add_argument("--timeout", type=int, default=300, help="with --solutions: seconds per cell (300)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.list:
        return list_exercises()
    if args.status is not None:
        return show_status(args.status)
    return run_solutions(args.solutions, args.out, timeout=args.timeout, require_all=args.require_all)


if __name__ == "__main__":
    sys.exit(main())
