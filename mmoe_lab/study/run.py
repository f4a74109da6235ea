"""Running the study in this process: one unit (:func:`run_unit`, which every executor calls)
and every pending unit of a grid (:func:`run_study`).

On JAX as many units train at once as there are cores this process may use, in threads
(:func:`mmoe_lab.backend.concurrent_training`); the Dask executor
(:mod:`mmoe_lab.study.dask_executor`) calls the same :func:`run_unit` and writes the same part
files, so either executor resumes the other's work.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..io import atomic_write_text
from .grid import Study
from .store import (
    claim,
    claim_path,
    merge_parts,
    release_claim,
    remove_stale_temp_files,
    touch,
    unit_rows,
    write_provenance,
)

__all__ = ["run_unit", "start_session", "finish_session", "run_study"]

_SHARED_INPUTS_ABOVE = 200_000  # training sets larger than this share one input pool across replicas


def run_unit(study: Study, unit: dict[str, Any]) -> float | None:
    """Train one unit of ``study`` and write its part file atomically; both executors call this.

    Skips the unit (returns ``None``) when its seeds are already stored or another live
    process holds its claim. While training, the claim file is touched at every curve point,
    so owners on other hosts can tell a running unit from an abandoned one. The caller
    switches on determinism first (:func:`mmoe_lab.backend.enable_determinism`), as
    :func:`run_study` does.

    Args:
        study: the grid (only ``out`` and ``budget`` are used here).
        unit: one entry of ``study.units``.

    Returns:
        the unit's wall time in seconds (rounded to 0.01), or ``None`` if it was skipped.
    """
    if study.is_done(unit) or not claim(study, unit):
        return None
    heartbeat = claim_path(study, unit)
    try:
        from ..replicas import train_replicas

        t0 = time.time()
        n, b = unit["n_train"], study.budget
        res = train_replicas(
            unit["model"], unit["seeds"], unit["correlation"], preset=unit["preset"], n_train=n,
            n_test=b["n_test"], steps=b["steps"], batch_size=b["batch_size"],
            learning_rate=b["learning_rate"], eval_every=b["eval_every"],
            shared_inputs=n is not None and n > _SHARED_INPUTS_ABOVE,
            callback=lambda _done: touch(heartbeat), lr_schedule=b.get("lr_schedule", "constant"),
            cfg_kwargs=b.get("model") or None, generator_kwargs=b.get("generator") or None,
        )
        seconds = time.time() - t0
        atomic_write_text(study.part_path(unit), unit_rows(unit, res, b, seconds).to_csv(index=False))
    finally:
        release_claim(study, unit)
    return round(seconds, 2)


def start_session(study: Study, command: Sequence[str] | None,
                  max_units: int | None) -> tuple[list[str], list[dict[str, Any]], float, dict[str, float]]:
    """What every executor does first: clear stale temp files, list the pending units (at most
    ``max_units``), and record the session as running.

    Returns:
        ``(command, units to run, session start time, unit times so far = {})``.
    """
    command = list(command if command is not None else [os.path.basename(sys.argv[0]), *sys.argv[1:]])
    remove_stale_temp_files(study)
    todo = study.pending()
    if max_units is not None:
        todo = todo[:max_units]
    times: dict[str, float] = {}
    write_provenance(study, command, times, "running")
    return command, todo, time.time(), times


def finish_session(study: Study, command: list[str], times: dict[str, float], session_start: float,
                   units: int, executor: dict[str, Any]) -> pd.DataFrame | None:
    """Record the session in the provenance and merge the parts; the merged table if all done."""
    done = not study.pending()
    write_provenance(study, command, times, "complete" if done else "partial")
    prov = json.loads((study.out / "provenance.json").read_text())
    prov["sessions"].append({"started_utc": _dt.datetime.fromtimestamp(session_start, _dt.UTC)
                             .isoformat(timespec="seconds"), "wall_seconds": round(time.time() - session_start, 1),
                             "units": units, "executor": executor})
    atomic_write_text(study.out / "provenance.json", json.dumps(prov, indent=2) + "\n")
    merged = merge_parts(study.out)
    return merged if done else None


def run_study(study: Study, *, progress: bool = True, command: Sequence[str] | None = None,
              max_units: int | None = None) -> pd.DataFrame | None:
    """Run every pending unit of ``study`` (finished units are skipped), then merge.

    Args:
        progress: show a tqdm bar over runs.
        command: recorded in the provenance (default ``sys.argv``).
        max_units: stop after this many units (for tests and partial runs).

    Returns:
        the merged results (:func:`~mmoe_lab.study.store.load_results`) when every unit is done, else ``None``.
    """
    from tqdm.auto import tqdm

    from ..backend import concurrent_training, enable_determinism, run_side_by_side

    enable_determinism()  # a resumed unit equals an uninterrupted one

    command, todo, session_start, times = start_session(study, command, max_units)
    bar = tqdm(total=sum(len(u["seeds"]) for u in todo), unit="run", disable=not progress,
               desc=f"study {study.out.name}", mininterval=2.0)

    threads = min(len(todo), len(os.sched_getaffinity(0))) if concurrent_training() else 1
    # on JAX one unit per core this process may use (taskset -c 1: one) at once (a unit's wall time is then measured while sharing)
    for unit, seconds in run_side_by_side(lambda unit: run_unit(study, unit), todo, threads=threads):
        if seconds is not None:  # None: finished or being run by another process
            times[unit["key"]] = seconds
            write_provenance(study, command, times, "running")
        bar.update(len(unit["seeds"]))
    bar.close()
    return finish_session(study, command, times, session_start, len(todo), {"name": "local", "threads": threads})
