"""The study's store: part files, the claims (locks) on units, the provenance, merge and load.

A finished unit is written to ``<out>/parts/<unit>.csv`` atomically (temp file +
``os.replace``, :func:`mmoe_lab.io.atomic_write_text`), so a run killed at any moment (even
``kill -9``) restarts with every finished unit intact. A unit being trained is *claimed* by a
file ``<out>/parts/.claim-<unit>`` holding its owner (``host:pid``), so several processes (or
Dask workers) can share one study. :func:`merge_parts` concatenates the parts into
``<out>/results.csv`` (tidy: one row per run and task); ``<out>/provenance.json`` records the
command, package versions, date, CPU, budget and the wall time of every unit.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import atomic_write_text
from .grid import Study, fmt_n

__all__ = ["CLAIM_LEASE_SECONDS", "unit_rows", "write_provenance", "claim_path", "claim_owner", "pid_alive",
           "claim", "release_claim", "remove_stale_temp_files", "touch", "merge_parts", "load_results"]

#: A claim made on another host (whose process cannot be checked from here) is taken over
#: when its owner has not refreshed it for this long; owners refresh it at every curve point.
CLAIM_LEASE_SECONDS = 600.0

#: Temp files of a writer killed mid-write are removed once they are this old (a live writer
#: holds one for milliseconds; younger ones may belong to another process sharing the study).
_STALE_TMP_SECONDS = 60.0

def _curve_str(values: np.ndarray) -> str:
    """A curve as stored in a part file: ``;``-separated numbers."""
    return ";".join(f"{v:.5g}" for v in values)


def unit_rows(unit: dict[str, Any], res: dict[str, Any], budget: dict[str, Any], seconds: float) -> pd.DataFrame:
    """The part file of ``unit``: one row per run and task of :func:`~mmoe_lab.replicas.train_replicas`'s result."""
    rows = []
    steps = _curve_str(res["steps"])
    for r, seed in enumerate(unit["seeds"]):
        for t in range(res["final_test"].shape[1]):
            rows.append({
                "preset": unit["preset"], "n_train": fmt_n(unit["n_train"]), "arch": unit["model"],
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


def write_provenance(study: Study, command: list[str], unit_times: dict[str, float], status: str) -> None:
    """(Re)write ``<out>/provenance.json``: grid, budget, status, unit times, versions, CPU, date."""
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
                 "n_train": [fmt_n(n) for n in study.n_trains], "chunk": study.chunk},
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


def claim_path(study: Study, unit: dict[str, Any]) -> Path:
    """The claim file of ``unit``: ``<out>/parts/.claim-<unit>``."""
    return study.out / "parts" / f".claim-{unit['key']}"


def pid_alive(pid: int) -> bool:
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


def claim_owner() -> str:
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
        return pid > 0 and pid_alive(pid)
    try:
        return time.time() - path.stat().st_mtime < CLAIM_LEASE_SECONDS
    except OSError:
        return False


def claim(study: Study, unit: dict[str, Any]) -> bool:
    """Mark ``unit`` as taken by this process (so several processes can share one study).

    A claim is a file holding the owner (``host:pid``), created with ``O_EXCL``; a claim whose
    owner is no longer alive (e.g. killed with ``kill -9``, on this host, or silent for
    :data:`CLAIM_LEASE_SECONDS`, on another) is taken over.
    """
    path = claim_path(study, unit)
    me = claim_owner()
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


def release_claim(study: Study, unit: dict[str, Any]) -> None:
    """Remove this process's claim on ``unit`` (one taken over by another process stays)."""
    path = claim_path(study, unit)
    try:
        if path.read_text().strip() == claim_owner():
            path.unlink(missing_ok=True)
    except OSError:
        pass


def remove_stale_temp_files(study: Study) -> None:
    """Delete temp files left in ``out/parts`` by writers killed mid-write."""
    now = time.time()
    for stale in (study.out / "parts").glob(".*.tmp"):
        try:
            if now - stale.stat().st_mtime > _STALE_TMP_SECONDS:
                stale.unlink(missing_ok=True)
        except OSError:
            pass


def touch(path: Path) -> None:
    """Refresh ``path``'s modification time (a claim's heartbeat); a vanished file is ignored."""
    try:
        os.utime(path)
    except OSError:
        pass


def merge_parts(out: str | os.PathLike) -> pd.DataFrame:
    """Concatenate every finished unit under ``out/parts`` into ``out/results.csv`` (atomic)."""
    out = Path(out)
    parts = sorted((out / "parts").glob("*.csv"))
    if not parts:
        return pd.DataFrame()
    df = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    df = df.sort_values(["preset", "n_train", "arch", "correlation", "seed", "task"], kind="stable")
    df = df.reset_index(drop=True)
    atomic_write_text(out / "results.csv", df.to_csv(index=False))
    return df


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``results.csv`` (a file or its directory); ``n_train`` stays a string (``"fresh"``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv"
    return pd.read_csv(path, dtype={"n_train": str})
