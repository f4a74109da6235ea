"""The paper's synthetic study (Figs. 4–5) as a resumable grid: models × correlations × seeds.

Each *unit* of work is one (preset, training-set size, model, correlation, block of seeds),
trained at once as replicas (:func:`mmoe_lab.replicas.train_replicas`). A finished unit is
written to ``<out>/parts/<unit>.csv`` atomically (temp file + ``os.replace``), so a run killed
at any moment (even ``kill -9``) restarts with every finished unit intact and redoes only the
unit it was in. When all units exist they are merged into ``<out>/results.csv`` (tidy: one row
per run and task) and ``<out>/provenance.json`` records the command, package versions, date,
CPU, budget and the wall time of every unit.

Command line: ``python -m mmoe_lab reproduce [--runs N] [--correlations ...] [--out DIR]``.
Units run in this process by default (on JAX as many at once as there are cores, in threads:
:func:`mmoe_lab.backend.concurrent_training`); ``--executor dask [--scheduler tcp://HOST:8786]
[--workers N]`` runs them as Dask tasks on a local or an existing cluster
(:mod:`mmoe_lab.study_dask`): every task calls the same :func:`run_unit` and writes the same
part files, so either executor resumes the other's work.

Reading the results (tables, curves, MMoE's gaps) is :mod:`mmoe_lab.study_analysis`; its names
stay importable from here (see ``_MOVED``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._moved import forward
from ._validate import check_int, check_number, check_subset, invalid
from .io import atomic_write_text
from .synthetic import PRESETS

__all__ = [
    "MODELS",
    "STUDY_BUDGET",
    "PAPER_REGIME",
    "EXECUTORS",
    "Study",
    "run_study",
    "run_unit",
    "merge_parts",
    "load_results",
    "build_parser",
    "study_from_args",
    "main",
]

MODELS = ("shared_bottom", "omoe", "mmoe")

#: Default budget of ``make reproduce``: 10k training / 2k test samples per run, Adam with
#: learning rate 1e-2 (the top of the paper's grid {1e-4, 1e-3, 1e-2}; at 400 steps 1e-3 leaves
#: the mixtures far from converged), batch 256, 400 steps (≈ 10 epochs), a curve point every
#: 40 steps. Chosen so that 3 models × 3 correlations × 200 runs × 2 presets (3,600 runs) fit
#: in ≈ 30 min on 2 CPU cores.
STUDY_BUDGET: dict[str, Any] = {"n_train": 10_000, "n_test": 2_000, "steps": 400, "batch_size": 256,
                                "learning_rate": 1e-2, "eval_every": 40}

#: The paper's regime (and an independent JAX implementation's measurement): fresh samples every step,
#: 20k steps of batch 256, Adam 1e-3, curve point every 1,000 steps.
PAPER_REGIME: dict[str, Any] = {"n_train": None, "n_test": 2_000, "steps": 20_000, "batch_size": 256,
                                "learning_rate": 1e-3, "eval_every": 1_000}

_SHARED_INPUTS_ABOVE = 200_000  # training sets larger than this share one input pool across replicas

#: ``--executor`` choices: ``local`` trains the units in this process (side by side in threads
#: on JAX, one after another on TensorFlow);
#: ``dask`` submits them as tasks to a Dask cluster (:mod:`mmoe_lab.study_dask`).
EXECUTORS = ("local", "dask")

#: A claim made on another host (whose process cannot be checked from here) is taken over
#: when its owner has not refreshed it for this long; owners refresh it at every curve point.
CLAIM_LEASE_SECONDS = 600.0

#: Temp files of a writer killed mid-write are removed once they are this old (a live writer
#: holds one for milliseconds; younger ones may belong to another process sharing the study).
_STALE_TMP_SECONDS = 60.0


def _fmt_n(n: int | None) -> str:
    return "fresh" if n is None else str(int(n))


@dataclass
class Study:
    """A validated grid. Build it with :meth:`create`; nothing runs until :func:`run_study`.

    Attributes:
        out: output directory. presets, models, correlations: the grid axes.
        runs: seeds ``0 .. runs-1`` per cell (the same seeds, hence the same data, for every
            model, so orderings can be counted per seed). n_trains: training-set sizes
            (``None`` = fresh samples every step). chunk: replicas trained together per unit.
        budget: steps, batch_size, learning_rate, eval_every, n_test.
    """

    out: Path
    presets: tuple[str, ...]
    models: tuple[str, ...]
    correlations: tuple[float, ...]
    runs: int
    n_trains: tuple[int | None, ...]
    budget: dict[str, Any]
    chunk: int = 100
    units: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, out: str | os.PathLike, *, presets: Sequence[str] = ("paper", "teaching"),
               models: Sequence[str] = MODELS, correlations: Sequence[float] = (0.5, 0.9, 1.0),
               runs: int = 200, n_trains: Sequence[int | None] | None = None,
               budget: dict[str, Any] | None = None, chunk: int = 100) -> Study:
        """Validate every argument before any work (clear ``ValueError`` otherwise)."""
        budget = {**STUDY_BUDGET, **(budget or {})}
        presets, models = tuple(presets), tuple(models)
        presets = check_subset("presets", presets, sorted(PRESETS))
        bad = [m for m in models if m not in MODELS]
        if not models or bad:
            raise invalid("models", f"a non-empty subset of {list(MODELS)} (unknown model(s): {bad})", list(models))
        corrs = tuple(check_number("correlation", p, -1, 1) for p in correlations)
        if not corrs:
            raise invalid("correlations", "a non-empty list of numbers in [-1, 1]", list(correlations))
        runs, chunk = check_int("runs", runs), check_int("chunk", chunk)
        n_trains = tuple([budget["n_train"]] if n_trains is None else n_trains)
        n_trains = tuple(None if n is None else check_int("n_train", n) for n in n_trains)
        for key in ("steps", "batch_size", "eval_every", "n_test"):
            budget[key] = check_int(key, budget[key])
        budget["learning_rate"] = check_number("learning_rate", budget["learning_rate"], 0, lo_open=True)
        out = Path(out)
        _check_writable(out)
        study = cls(out, presets, models, corrs, runs, n_trains, budget, chunk)
        study.units = study._plan()
        return study

    def _plan(self) -> list[dict[str, Any]]:
        units = []
        for preset in self.presets:
            for n in self.n_trains:
                for p in self.correlations:
                    for lo in range(0, self.runs, self.chunk):
                        hi = min(lo + self.chunk, self.runs)
                        for model in self.models:
                            key = f"{preset}_n{_fmt_n(n)}_{model}_p{p:+.3f}_s{lo:04d}-{hi - 1:04d}"
                            units.append({"key": key, "preset": preset, "n_train": n, "model": model,
                                          "correlation": p, "seeds": list(range(lo, hi))})
        return units

    def part_path(self, unit: dict[str, Any]) -> Path:
        return self.out / "parts" / f"{unit['key']}.csv"

    def _covered(self) -> dict[str, set[int]]:
        """Seeds already stored per (preset, size, model, p), whatever seed blocks made them."""
        cov: dict[str, set[int]] = {}
        for f in (self.out / "parts").glob("*.csv"):
            prefix, _, block = f.stem.rpartition("_s")
            try:
                lo, hi = (int(v) for v in block.split("-"))
            except ValueError:
                continue
            cov.setdefault(prefix, set()).update(range(lo, hi + 1))
        return cov

    def is_done(self, unit: dict[str, Any], covered: dict[str, set[int]] | None = None) -> bool:
        """True when every seed of ``unit`` is stored (also by parts of another chunk size)."""
        covered = self._covered() if covered is None else covered
        return set(unit["seeds"]) <= covered.get(unit["key"].rpartition("_s")[0], set())

    def pending(self) -> list[dict[str, Any]]:
        cov = self._covered()
        return [u for u in self.units if not self.is_done(u, cov)]


def _check_writable(out: Path) -> None:
    """Create ``out`` (and ``out/parts``) and prove a file can be written there."""
    try:
        (out / "parts").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-", delete=True):
            pass
    except OSError as exc:
        raise ValueError(f"output directory {str(out)!r} is not writable: {exc.strerror or exc}") from None


def _curve_str(values: np.ndarray) -> str:
    return ";".join(f"{v:.5g}" for v in values)


def _unit_rows(unit: dict[str, Any], res: dict[str, Any], budget: dict[str, Any], seconds: float) -> pd.DataFrame:
    rows = []
    steps = _curve_str(res["steps"])
    for r, seed in enumerate(unit["seeds"]):
        for t in range(res["final_test"].shape[1]):
            rows.append({
                "preset": unit["preset"], "n_train": _fmt_n(unit["n_train"]), "arch": unit["model"],
                "correlation": unit["correlation"], "seed": seed, "task": f"task_{t}",
                "steps": budget["steps"], "batch_size": budget["batch_size"],
                "learning_rate": budget["learning_rate"],
                "final_train_loss": float(res["final_train"][r, t]),
                "final_test_loss": float(res["final_test"][r, t]),
                "curve_steps": steps,
                "train_curve": _curve_str(res["train_curve"][r, :, t]),
                "test_curve": _curve_str(res["test_curve"][r, :, t]),
                "unit_seconds": round(seconds, 2),
            })
    return pd.DataFrame(rows)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version(), "keras backend": os.environ.get("KERAS_BACKEND", "jax")}
    for pkg in ("mmoe-lab", "jax", "tensorflow", "keras", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _cpu() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"model": model, "cores": os.cpu_count(), "platform": platform.platform(), "load_avg_1min_at_start": load}


def _write_provenance(study: Study, command: list[str], unit_times: dict[str, float], status: str) -> None:
    path = study.out / "provenance.json"
    old = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = {}
    sessions = old.get("sessions", [])
    prov = {
        "command": " ".join(command),
        "grid": {"presets": list(study.presets), "models": list(study.models),
                 "correlations": list(study.correlations), "runs": study.runs,
                 "n_train": [_fmt_n(n) for n in study.n_trains], "chunk": study.chunk},
        "budget": {k: v for k, v in study.budget.items() if k != "n_train"},
        "status": status,
        "units_done": len(study.units) - len(study.pending()),
        "units_total": len(study.units),
        "unit_seconds": {**old.get("unit_seconds", {}), **unit_times},
        "sessions": sessions,
        "versions": _versions(),
        "cpu": _cpu(),
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    prov["compute_seconds_total"] = round(sum(prov["unit_seconds"].values()), 1)
    atomic_write_text(path, json.dumps(prov, indent=2, sort_keys=False) + "\n")


def _claim_path(study: Study, unit: dict[str, Any]) -> Path:
    return study.out / "parts" / f".claim-{unit['key']}"


def _pid_alive(pid: int) -> bool:
    """True if process ``pid`` of this host runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs (macOS) or the process just ended: trust os.kill
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _claim_owner() -> str:
    """This process as a claim owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_is_live(path: Path, owner: str) -> bool:
    """Whether the claim ``owner`` (``host:pid``, or a bare pid meaning this host) still holds.

    A process of this host is asked directly; one of another host (a cluster worker sharing
    the output directory) is trusted while it refreshes the claim file (see :func:`run_unit`)
    at least every :data:`CLAIM_LEASE_SECONDS`.
    """
    host, _, pid_text = owner.rpartition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if host in ("", socket.gethostname()):
        return pid > 0 and _pid_alive(pid)
    try:
        return time.time() - path.stat().st_mtime < CLAIM_LEASE_SECONDS
    except OSError:
        return False


def _claim(study: Study, unit: dict[str, Any]) -> bool:
    """Mark ``unit`` as taken by this process (so several processes can share one study).

    A claim is a file holding the owner (``host:pid``), created with ``O_EXCL``; a claim whose
    owner is no longer alive (e.g. killed with ``kill -9``, on this host, or silent for
    :data:`CLAIM_LEASE_SECONDS`, on another) is taken over.
    """
    path = _claim_path(study, unit)
    me = _claim_owner()
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        return True
    except FileExistsError:
        pass
    try:
        owner = path.read_text().strip()
    except OSError:
        owner = ""
    if owner and owner != me and _claim_is_live(path, owner):
        return False
    atomic_write_text(path, me)
    return True


def _release_claim(study: Study, unit: dict[str, Any]) -> None:
    """Remove this process's claim on ``unit`` (one taken over by another process stays)."""
    path = _claim_path(study, unit)
    try:
        if path.read_text().strip() == _claim_owner():
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _remove_stale_temp_files(study: Study) -> None:
    """Delete temp files left in ``out/parts`` by writers killed mid-write."""
    now = time.time()
    for stale in (study.out / "parts").glob(".*.tmp"):
        try:
            if now - stale.stat().st_mtime > _STALE_TMP_SECONDS:
                stale.unlink(missing_ok=True)
        except OSError:
            pass


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
    if study.is_done(unit) or not _claim(study, unit):
        return None
    claim = _claim_path(study, unit)
    try:
        from .replicas import train_replicas

        t0 = time.time()
        n, b = unit["n_train"], study.budget
        res = train_replicas(
            unit["model"], unit["seeds"], unit["correlation"], preset=unit["preset"], n_train=n,
            n_test=b["n_test"], steps=b["steps"], batch_size=b["batch_size"],
            learning_rate=b["learning_rate"], eval_every=b["eval_every"],
            shared_inputs=n is not None and n > _SHARED_INPUTS_ABOVE,
            callback=lambda _done: _touch(claim), lr_schedule=b.get("lr_schedule", "constant"),
            cfg_kwargs=b.get("model") or None, generator_kwargs=b.get("generator") or None,
        )
        seconds = time.time() - t0
        atomic_write_text(study.part_path(unit), _unit_rows(unit, res, b, seconds).to_csv(index=False))
    finally:
        _release_claim(study, unit)
    return round(seconds, 2)


def _touch(path: Path) -> None:
    """Refresh ``path``'s modification time (a claim's heartbeat); a vanished file is ignored."""
    try:
        os.utime(path)
    except OSError:
        pass


def _start_session(study: Study, command: Sequence[str] | None,
                   max_units: int | None) -> tuple[list[str], list[dict[str, Any]], float, dict[str, float]]:
    """What every executor does first: clear stale temp files, list the pending units (at most
    ``max_units``), and record the session as running.

    Returns:
        ``(command, units to run, session start time, unit times so far = {})``.
    """
    command = list(command if command is not None else [os.path.basename(sys.argv[0]), *sys.argv[1:]])
    _remove_stale_temp_files(study)
    todo = study.pending()
    if max_units is not None:
        todo = todo[:max_units]
    times: dict[str, float] = {}
    _write_provenance(study, command, times, "running")
    return command, todo, time.time(), times


def _finish_session(study: Study, command: list[str], times: dict[str, float], session_start: float,
                    units: int, executor: dict[str, Any]) -> pd.DataFrame | None:
    """Record the session in the provenance and merge the parts; the merged table if all done."""
    done = not study.pending()
    _write_provenance(study, command, times, "complete" if done else "partial")
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
        the merged results (:func:`load_results`) when every unit is done, else ``None``.
    """
    from tqdm.auto import tqdm

    from .backend import concurrent_training, enable_determinism, run_side_by_side

    enable_determinism()  # a resumed unit equals an uninterrupted one

    command, todo, session_start, times = _start_session(study, command, max_units)
    bar = tqdm(total=sum(len(u["seeds"]) for u in todo), unit="run", disable=not progress,
               desc=f"study {study.out.name}", mininterval=2.0)

    threads = min(len(todo), len(os.sched_getaffinity(0))) if concurrent_training() else 1
    # on JAX one unit per core this process may use (taskset -c 1: one) at once (a unit's wall time is then measured while sharing)
    for unit, seconds in run_side_by_side(lambda unit: run_unit(study, unit), todo, threads=threads):
        if seconds is not None:  # None: finished or being run by another process
            times[unit["key"]] = seconds
            _write_provenance(study, command, times, "running")
        bar.update(len(unit["seeds"]))
    bar.close()
    return _finish_session(study, command, times, session_start, len(todo), {"name": "local", "threads": threads})


def merge_parts(out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate every finished unit under ``out/parts`` into ``out/results.csv`` (atomic)."""
    out = Path(out)
    parts = sorted((out / "parts").glob("*.csv"))
    if not parts:
        return pd.DataFrame()
    df = pd.concat([_arch_column(pd.read_csv(p)) for p in parts], ignore_index=True)
    df = df.sort_values(["preset", "n_train", "arch", "correlation", "seed", "task"], kind="stable")
    df = df.reset_index(drop=True)
    atomic_write_text(out / "results.csv", df.to_csv(index=False))
    return df


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``results.csv`` (a file or its directory); ``n_train`` stays a string (``"fresh"``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    return _arch_column(pd.read_csv(path, dtype={"n_train": str}))


def _arch_column(df: pd.DataFrame) -> pd.DataFrame:
    """Tables written before the architecture column was called ``arch`` (as in every other
    table of the kit) named it ``model``: read both."""
    return df.rename(columns={"model": "arch"}) if "model" in df.columns and "arch" not in df.columns else df


# ----------------------------------------------------------------------------- command line

_REGIMES: dict[str, dict[str, Any]] = {
    "budget": {"presets": ("paper", "teaching"), "correlations": (0.5, 0.9, 1.0), "runs": 200,
               "n_train": ["10000"], "budget": STUDY_BUDGET, "out": "data/study/budget", "chunk": 200},
    "paper": {"presets": ("paper",), "correlations": (0.5,), "runs": 20, "n_train": ["fresh"],
              "budget": PAPER_REGIME, "out": "data/study/paper_regime", "chunk": 20},
    "datasize": {"presets": ("paper",), "correlations": (0.5,), "runs": 20,
                 "n_train": ["10000", "100000", "1000000", "fresh"], "budget": PAPER_REGIME,
                 "out": "data/study/paper_regime", "chunk": 20},
    # the correlation lesson's live setup (notebooks 02-05), budget filled in from
    # mmoe_lab.experiments.lesson_study_budget() when chosen
    "lesson": {"presets": ("teaching",), "correlations": (0.0, 0.25, 0.5, 0.75, 0.9, 1.0), "runs": 200,
               "n_train": ["fresh"], "budget": None, "out": "data/study/lesson", "chunk": 200},
}


def _parse_n(text: str) -> int | None:
    if text == "fresh":
        return None
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise ValueError(f"training size should be a positive integer or 'fresh'. Received: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab reproduce",
                                 description="Run (or resume) the paper's synthetic study into data/.")
    ap.add_argument("--regime", choices=sorted(_REGIMES), default="budget",
                    help="budget: 10k samples, 400 steps, 200 runs, both presets (default); paper: fresh "
                         "samples, 20k steps, 20 runs at p=0.5; datasize: paper preset at 10k/100k/1M/fresh; "
                         "lesson: the correlation lesson's live setup at six p, 200 runs")
    ap.add_argument("--runs", type=int, help="seeds per (preset, model, correlation)")
    ap.add_argument("--correlations", nargs="+", help="task cosines p in [-1, 1]")
    ap.add_argument("--models", nargs="+", help=f"subset of {list(MODELS)}")
    ap.add_argument("--presets", nargs="+", help=f"subset of {sorted(PRESETS)}")
    ap.add_argument("--n-train", nargs="+", help="training sizes (ints or 'fresh')")
    ap.add_argument("--steps", type=int, help="training steps per run")
    ap.add_argument("--learning-rate", type=float, help="Adam learning rate")
    ap.add_argument("--eval-every", type=int, help="steps between loss-curve points")
    ap.add_argument("--chunk", type=int, help="replicas trained together per unit")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--max-units", type=int, help="stop after this many units (resume later)")
    ap.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    ap.add_argument("--executor", choices=EXECUTORS, default="local",
                    help="local: train the units in this process (default); dask: submit them as Dask tasks")
    ap.add_argument("--scheduler", help="with --executor dask: address of a running Dask scheduler "
                    "(tcp://HOST:8786); default: start a local cluster")
    ap.add_argument("--workers", type=int, help="with --executor dask and no --scheduler: worker processes "
                    "of the local cluster (1 thread each; default: one per CPU core)")
    return ap


def check_executor_args(args: argparse.Namespace) -> None:
    """Reject executor options that do not fit together (``ValueError``), before any work."""
    if args.executor != "dask" and (args.scheduler is not None or args.workers is not None):
        raise ValueError("--scheduler and --workers apply to --executor dask only. "
                         f"Received: --executor {args.executor}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers should be an integer >= 1. Received: --workers {args.workers}")
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("--workers sizes a local cluster; with --scheduler the units run on that cluster's "
                         f"own workers. Received: --scheduler {args.scheduler} --workers {args.workers}")


def study_from_args(argv: Sequence[str]) -> tuple[Study, argparse.Namespace]:
    """Parse ``reproduce`` arguments into a validated :class:`Study` (raises ``ValueError``)."""
    args = build_parser().parse_args(list(argv))
    check_executor_args(args)
    reg = _REGIMES[args.regime]
    if reg["budget"] is None:
        from .experiments import lesson_study_budget

        budget = lesson_study_budget()
    else:
        budget = dict(reg["budget"])
    if args.steps is not None:
        budget["steps"] = args.steps
    if args.learning_rate is not None:
        budget["learning_rate"] = args.learning_rate
    if args.eval_every is not None:
        budget["eval_every"] = args.eval_every
    corrs = args.correlations if args.correlations is not None else reg["correlations"]
    parsed = []
    for c in corrs:
        try:
            parsed.append(float(c))
        except ValueError:
            raise ValueError(f"correlation should be a number in [-1, 1]. Received: {c!r}") from None
    study = Study.create(
        args.out or reg["out"], presets=args.presets or reg["presets"], models=args.models or MODELS,
        correlations=parsed, runs=reg["runs"] if args.runs is None else args.runs,
        n_trains=[_parse_n(n) for n in (args.n_train or reg["n_train"])], budget=budget,
        chunk=args.chunk or reg["chunk"],
    )
    return study, args


def main(argv: Sequence[str] | None = None) -> int:
    """``reproduce`` entry point; returns a process exit code.

    With ``--executor dask --scheduler ADDRESS`` the scheduler is reached before the output
    directory is touched, so an unreachable cluster fails in seconds and writes nothing.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    client = None
    try:
        args = build_parser().parse_args(argv)
        check_executor_args(args)
        if args.executor == "dask" and args.scheduler is not None:
            from .study_dask import connect

            client = connect(args.scheduler)
        study, args = study_from_args(argv)
    except (ValueError, ConnectionError) as exc:
        if client is not None:
            client.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    pending = len(study.pending())
    print(f"{study.out}: {len(study.units) - pending}/{len(study.units)} units already done; "
          f"{pending} to run", flush=True)
    command = ["python -m mmoe_lab reproduce", *argv]
    if args.executor == "dask":
        from .study_dask import run_study_dask

        try:
            merged = run_study_dask(study, client=client, workers=args.workers, progress=not args.no_progress,
                                    max_units=args.max_units, command=command)
        except RuntimeError as exc:  # some units failed on every attempt; the rest is stored
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            if client is not None:
                client.close()
    else:
        merged = run_study(study, progress=not args.no_progress, max_units=args.max_units, command=command)
    prov = json.loads((study.out / "provenance.json").read_text())
    print(f"status: {prov['status']} ({prov['units_done']}/{prov['units_total']} units, "
          f"{prov['compute_seconds_total']:.0f} s of unit compute in total)")
    if merged is not None and len(merged):
        from .study_analysis import ordering_counts

        print(ordering_counts(merged).round(4).to_string(index=False))
    return 0


# ---- names that moved out of this module ---------------------------------------------------------

#: Where each name that used to be defined here lives now. ``from mmoe_lab.study import X`` keeps
#: working for all of them (committed notebooks and scripts use it). They are looked up on first
#: use, not copied at load time: :mod:`mmoe_lab.study_analysis` imports this module.
_MOVED: dict[str, str] = dict.fromkeys(
    ("INDEPENDENT_DATASIZE", "parse_curve", "run_table", "ordering_counts", "run_curves", "mean_curves",
     "seed_set_means", "paper_comparison", "relative_gaps", "gaps_by_correlation"), "study_analysis")


__getattr__, __dir__ = forward(__name__, _MOVED)


