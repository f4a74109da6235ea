"""Measured notebook runtimes: ``python -m mmoe_lab timings`` (= ``make timings``).

Executes every notebook in ``notebooks/`` top to bottom in a fresh kernel (the committed file is
not modified) and writes one row per notebook: wall seconds from the first cell to the last,
the kernel process's CPU seconds (user + system, all threads), the 1-minute load average before
and after, whether it ran without an error, and the Keras backend. The README quotes the table
measured on 2 idle cores; the load columns say whether the machine was idle.

``--press`` times what a learner waits for after pressing 04's **Train** instead: one live
comparison at one ``p`` (:func:`mmoe_lab.experiments.compare_over_seeds` with its defaults, as
the comparison panel calls it, compiling included), in a fresh process on all cores and again
pinned to one core (a stand-in for a slower machine), and writes ``data/press_timings.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._validate import check_int, invalid
from ..io import atomic_write_text, data_dir

__all__ = ["time_notebook", "time_notebooks", "time_press", "main"]


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


def _press_worker(cores: int, p: float, compare_kwargs: dict[str, Any]) -> dict[str, object]:
    """The timed press itself, in the fresh process of :func:`time_press` (``--press-worker``)."""
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))  # before Keras loads
    from ..backend import name, prepare
    from ..experiments import compare_over_seeds

    prepare(0, deterministic=True)  # what a notebook's first cell does (setup_notebook), minus the plot style
    t0 = time.perf_counter()
    compare_over_seeds(correlations=(p,), **compare_kwargs)
    return {"wall_s": round(time.perf_counter() - t0, 2), "backend": name()}


def time_press(cores: int, p: float = 0.5, **compare_kwargs: Any) -> dict[str, object]:
    """One press of 04's Train (three architectures × 8 seeds at ``p``), timed in a fresh process.

    The process is pinned to its first ``cores`` CPUs and its backend prepared as in a notebook
    kernel (:func:`mmoe_lab.setup_notebook`) before the call; the time runs from the call to its result
    (compiling included, imports not: the notebook has loaded them already).

    Args:
        cores: CPUs the process may use (1 stands in for a slower machine).
        p: the task cosine of the press.
        compare_kwargs: further arguments of ``compare_over_seeds`` (JSON values; e.g. a short
            ``epochs`` in tests). None: the panel's defaults.

    Returns:
        dict with ``cores``, ``p``, ``wall_s``, ``load_before``, ``load_after`` and ``backend``.
    """
    cores = check_int("cores", cores)
    allowed = len(os.sched_getaffinity(0))
    if cores > allowed:
        raise invalid("cores", f"at most the {allowed} CPUs this process may use", cores)
    load_before = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "mmoe_lab.tools.timings", "--press-worker", json.dumps([cores, p, compare_kwargs])]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the timed press failed: {done.stderr.strip().splitlines()[-1:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cores": cores, "p": p, "wall_s": result["wall_s"], "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "backend": result["backend"]}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mmoe_lab timings [NOTEBOOK ...] [--out CSV]``; 1 if a notebook failed."""
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab timings",
                                 description="Execute every notebook in a fresh kernel and record its runtime.")
    ap.add_argument("notebooks", nargs="*", help="notebooks to time (default: notebooks/*.ipynb)")
    ap.add_argument("--out", help="CSV to write (default: data/timings.csv, with --press data/press_timings.csv)")
    ap.add_argument("--press", action="store_true",
                    help="time one press of 04's Train on all cores and on one core instead")
    ap.add_argument("--press-worker", help=argparse.SUPPRESS)  # [cores, p, compare_kwargs] as JSON
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.press_worker:
        print(json.dumps(_press_worker(*json.loads(args.press_worker))))
        return 0
    if args.press:
        rows = []
        for cores in sorted({len(os.sched_getaffinity(0)), 1}, reverse=True):
            rows.append(time_press(cores))
            print(f"one Train press on {cores} core(s): {rows[-1]['wall_s']:.1f} s "
                  f"(load {rows[-1]['load_before']:.2f})", flush=True)
        out = args.out or data_dir() / "press_timings.csv"
        atomic_write_text(out, pd.DataFrame(rows).to_csv(index=False))
        print(f"wrote {out}")
        return 0
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
