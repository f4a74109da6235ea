"""Measured notebook runtimes: ``python -m mmoe_lab timings`` (= ``make timings``).

Executes every notebook in ``notebooks/`` top to bottom in a fresh kernel (the committed file is
not modified) and writes one row per notebook: wall seconds from the first cell to the last,
the kernel process's CPU seconds (user + system, all threads), the 1-minute load average before
and after, whether it ran without an error, and the Keras backend. The README quotes the table
measured on 2 idle cores; the load columns say whether the machine was idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._validate import invalid
from ..io import atomic_write_text, data_dir

__all__ = ["time_notebook", "time_notebooks", "main"]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_notebook(path: str | os.PathLike, timeout: int = 600) -> dict[str, object]:
    """Execute one notebook in a fresh kernel (in memory) and time it.

    Returns:
        dict with ``notebook``, ``wall_s`` (first cell to last), ``cpu_s`` (the kernel's CPU
        seconds, counted when it exits), ``load_before``, ``load_after``, ``ok`` and ``error``.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise invalid("path", "the path of an existing .ipynb file", str(path))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    load_before = os.getloadavg()[0]
    cpu0 = _children_cpu()
    error = ""
    with client.setup_kernel():
        t0 = time.perf_counter()
        try:
            for i, cell in enumerate(nb.cells):
                client.execute_cell(cell, i)
        except Exception as err:  # the table records the failure; the caller decides
            # a cell error carries the kernel's exception name and message
            name = getattr(err, "ename", None) or type(err).__name__
            message = getattr(err, "evalue", None) or (str(err).splitlines() or [""])[0]
            error = f"cell {i}: {name}: {message}"[:200]
        wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0  # the kernel has exited and been reaped here
    return {"notebook": path.name, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "ok": not error, "error": error}


def time_notebooks(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """:func:`time_notebook` for each path, in order, plus the Keras backend; one row each."""
    backend = os.environ.get("KERAS_BACKEND", "jax")
    rows = []
    for p in paths:
        row = time_notebook(p)
        rows.append({**row, "backend": backend})
        print(f"{row['notebook']:<28} {row['wall_s']:>6.1f} s wall {row['cpu_s']:>6.1f} s cpu "
              f"load {row['load_before']:.2f}->{row['load_after']:.2f} {'ok' if row['ok'] else row['error']}",
              flush=True)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mmoe_lab timings [NOTEBOOK ...] [--out CSV]``; 1 if a notebook failed."""
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab timings",
                                 description="Execute every notebook in a fresh kernel and record its runtime.")
    ap.add_argument("notebooks", nargs="*", help="notebooks to time (default: notebooks/*.ipynb)")
    ap.add_argument("--out", help="CSV to write (default: data/timings.csv)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    args.out = args.out or data_dir() / "timings.csv"
    paths = args.notebooks or sorted(str(p) for p in (data_dir().parent / "notebooks").glob("[0-9]*.ipynb"))
    if not paths:
        print("no notebooks found: run from the repository root or name them", file=sys.stderr)
        return 2
    table = time_notebooks(paths)
    atomic_write_text(args.out, table.to_csv(index=False))
    print(f"wrote {args.out}; slowest: {table.loc[table['wall_s'].idxmax(), 'notebook']} "
          f"({table['wall_s'].max():.1f} s)")
    return 0 if table["ok"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
