"""Run the resumable study (:mod:`mmoe_lab.study`) as Dask tasks, on a local or an existing cluster.

``python -m mmoe_lab reproduce --executor dask [--scheduler tcp://HOST:8786] [--workers N]``
submits every pending unit as one task. Each task calls :func:`mmoe_lab.study.run.run_unit`, the
function the in-process executor calls, so a worker writes exactly the part file the serial
run would (``<out>/parts/<unit>.csv``, atomically, under the same per-unit claim). The client
only watches the tasks finish (a tqdm bar over units), records their wall times and merges the
parts into ``results.csv`` + ``provenance.json`` as the serial run does.

The part files are the truth, so faults cost at most the units in flight:

* a worker killed mid-unit: Dask reruns the task on another worker (up to
  ``distributed.scheduler.allowed-failures`` times); the rerun takes over the dead worker's
  claim; a task that raises is retried ``retries`` times;
* a killed client: its local cluster goes with it; the next command resumes from the parts
  written so far (stale claims of dead processes are taken over);
* two clients on one output directory: a unit is trained by whichever worker claims it first;
  the other skips it, and every file is replaced atomically.

Without ``--scheduler`` a :class:`distributed.LocalCluster` of ``N`` single-threaded worker
processes is started and closed with the run. With ``--scheduler`` the client connects to a
running cluster (``dask scheduler`` + ``dask worker ADDRESS --nthreads 1`` on each machine);
every worker must have the kit installed and see the output directory at the same absolute
path (a shared file system). Nothing here imports Dask until the dask executor is chosen.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._validate import check_int, invalid
from .grid import Study
from .run import finish_session, run_unit, start_session
from .store import write_provenance

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["CONNECT_TIMEOUT_SECONDS", "connect", "local_client", "run_unit_on_worker", "run_study_dask"]

#: How long the client tries to reach a scheduler before giving up.
CONNECT_TIMEOUT_SECONDS = 5.0
#: How long a reachable scheduler may take to report its first worker.
WORKERS_TIMEOUT_SECONDS = 30.0
#: Extra attempts for a unit whose task raised (a killed worker is rescheduled by Dask anyway).
RETRIES = 1


def _check_workers(workers: int | None) -> int:
    """``workers`` as a positive int (``None``: one per CPU core); ``ValueError`` otherwise."""
    if workers is None:
        return os.cpu_count() or 1
    return check_int("workers", workers)


def connect(address: str, *, timeout: float = CONNECT_TIMEOUT_SECONDS,
            workers_timeout: float = WORKERS_TIMEOUT_SECONDS) -> Client:
    """A client of the running Dask scheduler at ``address`` that has at least one worker.

    Raises:
        ValueError: ``address`` is not a scheduler address.
        ConnectionError: no scheduler answered within ``timeout`` seconds, or it had no worker
            after ``workers_timeout`` seconds.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except ValueError as exc:
        raise invalid("--scheduler", f"a Dask scheduler address such as tcp://HOST:8786 ({exc}); "
                      "this is not a Dask scheduler address", address) from None
    except OSError as exc:
        raise ConnectionError(
            f"could not reach a Dask scheduler at {address} within {timeout:g} s ({exc}). Start one with "
            f"`dask scheduler` and workers with `dask worker {address} --nthreads 1`, or leave out "
            "--scheduler to run a local cluster.") from None
    try:
        client.wait_for_workers(1, timeout=workers_timeout)
    except TimeoutError:
        client.close()
        raise ConnectionError(f"the Dask scheduler at {address} has no workers (waited {workers_timeout:g} s); "
                              f"start some with `dask worker {address} --nthreads 1`") from None
    return client


def local_client(workers: int | None = None) -> Client:
    """A client of a new :class:`distributed.LocalCluster`: ``workers`` processes, 1 thread each.

    Closing the client shuts the cluster down. ``workers=None``: one per CPU core.
    """
    from distributed import Client

    n = _check_workers(workers)
    return Client(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)


def _prepare_worker(backend: str | None) -> None:
    """Give this worker process the client's Keras backend before Keras loads, then switch on
    determinism as :func:`mmoe_lab.study.run.run_study` does (:func:`mmoe_lab.backend.enable_determinism`).

    Args:
        backend: the client's ``KERAS_BACKEND`` (``None``: unset there, so unset here too and
            the kit's default applies on both sides).

    Raises:
        RuntimeError: this worker already loaded Keras with another backend.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if backend is None:
        os.environ.pop("KERAS_BACKEND", None)
    else:
        os.environ["KERAS_BACKEND"] = backend
        if "keras" in sys.modules:
            loaded = sys.modules["keras"].backend.backend()
            if loaded != backend:
                raise RuntimeError(f"this Dask worker already runs Keras on {loaded!r} but the study's client uses "
                                   f"KERAS_BACKEND={backend!r}; restart the worker with KERAS_BACKEND={backend}")
    from ..backend import enable_determinism

    enable_determinism()


def run_unit_on_worker(study: Study, unit: dict[str, Any], backend: str | None) -> tuple[float | None, str]:
    """The Dask task: :func:`mmoe_lab.study.run.run_unit` in a worker set up like the client.

    Args:
        study: the grid, with ``out`` absolute (workers do not share the client's directory).
        unit: one entry of ``study.units``.
        backend: the client's ``KERAS_BACKEND``.

    Returns:
        ``(seconds or None if skipped, "host:pid" of the worker)``.

    Raises:
        FileNotFoundError: the output directory is not visible on this worker's machine.
    """
    if not (study.out / "parts").is_dir():
        raise FileNotFoundError(f"the study's output directory {str(study.out)!r} does not exist on worker host "
                                f"{socket.gethostname()!r}; the client and every worker must share it (same path)")
    _prepare_worker(backend)
    return run_unit(study, unit), f"{socket.gethostname()}:{os.getpid()}"


def run_study_dask(study: Study, *, client: Client | None = None, scheduler: str | None = None,
                   workers: int | None = None, progress: bool = True, command: Sequence[str] | None = None,
                   max_units: int | None = None, retries: int = RETRIES) -> pd.DataFrame | None:
    """Run every pending unit of ``study`` as a Dask task, then merge (as :func:`run_study`).

    Args:
        client: an open client to use (left open). Else ``scheduler``: the address of a running
            scheduler (:func:`connect`); else a local cluster of ``workers`` processes is
            started (:func:`local_client`) and closed at the end.
        progress: a tqdm bar over finished units.
        command: recorded in the provenance (default ``sys.argv``).
        max_units: submit only this many pending units (resume later).
        retries: extra attempts for a unit whose task raised.

    Returns:
        the merged results when every unit is done, else ``None``.

    Raises:
        ValueError: bad ``workers``/``retries``, or both a client/scheduler and ``workers``.
        ConnectionError: the scheduler cannot be reached (nothing is written then).
        RuntimeError: some units failed on every attempt (the others are kept and merged).
    """
    if workers is not None:
        _check_workers(workers)
        if client is not None or scheduler is not None:
            raise invalid("workers", "None when `client` or `scheduler` is given: it sizes a local cluster, "
                          "it cannot be combined with them", workers)
    check_int("retries", retries, 0)
    if client is not None:
        return _run_on(client, study, progress=progress, command=command, max_units=max_units, retries=retries)
    own = connect(scheduler) if scheduler is not None else local_client(workers)
    try:
        return _run_on(own, study, progress=progress, command=command, max_units=max_units, retries=retries)
    finally:
        own.close()


def _run_on(client: Client, study: Study, *, progress: bool, command: Sequence[str] | None,
            max_units: int | None, retries: int) -> pd.DataFrame | None:
    """Submit the pending units to ``client``, record each as it finishes, merge at the end."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    command, todo, session_start, times = start_session(study, command, max_units)
    spec = replace(study, out=study.out.resolve(), units=[])  # what a task needs, with an absolute path
    backend = os.environ.get("KERAS_BACKEND")
    session = uuid.uuid4().hex[:8]
    futures = {client.submit(run_unit_on_worker, spec, unit, backend, key=f"study-unit-{unit['key']}-{session}",
                             retries=retries, pure=False): unit for unit in todo}
    per_worker: Counter[str] = Counter()
    failed: list[tuple[str, BaseException]] = []
    skipped = 0
    with tqdm(total=len(todo), unit="unit", disable=not progress, desc=f"study {study.out.name} (dask)",
              mininterval=2.0) as bar:
        for fut in as_completed(futures):
            unit = futures[fut]
            try:
                seconds, worker = fut.result()
            except Exception as exc:  # the unit failed on every attempt: keep going, report at the end
                failed.append((unit["key"], exc))
            else:
                if seconds is None:
                    skipped += 1  # finished or being run by another process
                else:
                    times[unit["key"]] = seconds
                    per_worker[worker] += 1
                    write_provenance(study, command, times, "running")
            bar.update(1)
    executor = {"name": "dask", "scheduler": client.scheduler.address, "workers": len(client.nthreads()),
                "units_per_worker": dict(per_worker), "units_skipped": skipped, "units_failed": len(failed)}
    merged = finish_session(study, command, times, session_start, len(todo), executor)
    if failed:
        key, first = failed[0]
        raise RuntimeError(f"{len(failed)} of {len(todo)} units failed on the cluster (first: {key}: {first!r}); "
                           "the other units are stored; run the same command again to retry") from first
    return merged
