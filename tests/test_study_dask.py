"""The study on Dask: same results as the serial run, a killed worker loses nothing, bad addresses fail fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from mmoe_lab.study import Study, load_results, run_study
from mmoe_lab.study.cli import study_from_args
from mmoe_lab.study.dask_executor import connect, local_client, run_study_dask
from mmoe_lab.study.store import CLAIM_LEASE_SECONDS, claim_owner, pid_alive
from mmoe_lab.study.store import claim as _claim

ROOT = Path(__file__).resolve().parents[1]
#: 1 preset × 2 models × 1 correlation × 2 seeds, one seed per unit: 4 units of about a second.
GRID = {"presets": ["teaching"], "models": ["shared_bottom", "mmoe"], "correlations": [0.5], "runs": 2,
        "chunk": 1, "budget": {"steps": 30, "eval_every": 10, "n_train": 1000}}
#: The same grid on the command line.
GRID_ARGS = ["--presets", "teaching", "--models", "shared_bottom", "mmoe", "--correlations", "0.5", "--runs", "2",
             "--chunk", "1", "--steps", "30", "--eval-every", "10", "--n-train", "1000", "--no-progress"]
N_UNITS = 4


def _cli(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "mmoe_lab", "reproduce", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _frame(out: Path) -> pd.DataFrame:
    """results.csv without its wall-time column."""
    return load_results(out).drop(columns="unit_seconds")


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The grid run in this process (the reference every Dask run must equal bit for bit)."""
    out = tmp_path_factory.mktemp("serial")
    assert run_study(Study.create(out, **GRID), progress=False, command=["test"]) is not None
    return out


@pytest.fixture(scope="module")
def cluster():
    """A client of a 2-worker LocalCluster (processes, 1 thread each), shared by the tests."""
    client = local_client(2)
    yield client
    client.close()


def test_dask_run_equals_serial(serial, cluster, tmp_path):
    df = run_study_dask(Study.create(tmp_path, **GRID), client=cluster, progress=False, command=["test"])
    assert df is not None and len(df) == N_UNITS * 2  # units × tasks
    pd.testing.assert_frame_equal(_frame(tmp_path), _frame(serial), check_exact=True)
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["status"] == "complete" and prov["units_done"] == N_UNITS
    session = prov["sessions"][-1]["executor"]
    assert session["name"] == "dask" and session["workers"] == 2
    assert sum(session["units_per_worker"].values()) == N_UNITS and len(prov["unit_seconds"]) == N_UNITS
    assert not list((tmp_path / "parts").glob(".claim-*"))
    # a second call finds every part on disk and submits nothing new
    again = run_study_dask(Study.create(tmp_path, **GRID), client=cluster, progress=False, command=["test"])
    pd.testing.assert_frame_equal(df, again)


def test_worker_killed_mid_unit_loses_nothing(serial, cluster, tmp_path):
    """SIGKILL the worker process that holds a unit's claim; the unit is rerun, the rest kept."""
    study = Study.create(tmp_path, **GRID)
    parts = tmp_path / "parts"
    result: dict[str, object] = {}
    runner = threading.Thread(target=lambda: result.update(df=run_study_dask(study, client=cluster, progress=False)))
    runner.start()
    victim = None
    deadline = time.time() + 120
    while victim is None and time.time() < deadline and runner.is_alive():
        for claim in parts.glob(".claim-*"):
            key = claim.name.removeprefix(".claim-")
            try:
                pid = int(claim.read_text().rpartition(":")[2])
            except (OSError, ValueError):
                continue  # being written
            if not (parts / f"{key}.csv").exists():
                os.kill(pid, signal.SIGKILL)
                victim = (key, pid)
                break
        time.sleep(0.005)
    assert victim is not None, "no unit was seen running"
    key, pid = victim
    while pid_alive(pid):  # dead once killed, even before its nanny reaps it
        time.sleep(0.01)
    assert not (parts / f"{key}.csv").exists(), "the kill landed after the unit was written"
    runner.join(timeout=300)
    assert not runner.is_alive() and result.get("df") is not None
    pd.testing.assert_frame_equal(_frame(tmp_path), _frame(serial), check_exact=True)
    assert not list(parts.glob(".claim-*")) and not list(parts.glob(".*.tmp"))
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["status"] == "complete" and prov["sessions"][-1]["executor"]["units_failed"] == 0
    assert all(not w.endswith(f":{pid}") for w in prov["sessions"][-1]["executor"]["units_per_worker"])


def test_cli_local_cluster_resumes_a_serial_start(serial, tmp_path):
    """Two units in process, the rest on a 2-worker LocalCluster started by the CLI: same table."""
    run_study(Study.create(tmp_path, **GRID), progress=False, command=["test"], max_units=2)
    proc = _cli([*GRID_ARGS, "--out", str(tmp_path), "--executor", "dask", "--workers", "2"])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"2/{N_UNITS} units already done" in out and "status: complete" in out
    pd.testing.assert_frame_equal(_frame(tmp_path), _frame(serial), check_exact=True)
    sessions = json.loads((tmp_path / "provenance.json").read_text())["sessions"]
    assert [s["executor"]["name"] for s in sessions] == ["local", "dask"]
    assert sessions[1]["units"] == N_UNITS - 2


def test_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    t0 = time.time()
    proc = _cli([*GRID_ARGS, "--out", str(out), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "error: could not reach a Dask scheduler at tcp://127.0.0.1:1 within 5 s" in err
    assert time.time() - t0 < 30
    assert not out.exists()
    with pytest.raises(ConnectionError, match="dask scheduler"):
        connect("tcp://127.0.0.1:1", timeout=1)
    with pytest.raises(ValueError, match="not a Dask scheduler address"):
        connect("nowhere", timeout=1)


@pytest.mark.parametrize("args, message", [
    (["--executor", "dask", "--workers", "0"], r"`--workers` should be a positive integer\. Received: `--workers=0`"),
    (["--workers", "2"], "apply to --executor dask only"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "apply to --executor dask only"),
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "sizes a local cluster"),
])
def test_bad_executor_arguments_fail_before_any_work(tmp_path, args, message):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match=message):
        study_from_args([*args, "--out", str(out)])
    assert not out.exists()


def test_bad_python_arguments(tmp_path):
    study = Study.create(tmp_path, **GRID)
    with pytest.raises(ValueError, match="workers"):
        run_study_dask(study, workers=0)
    with pytest.raises(ValueError, match="retries"):
        run_study_dask(study, workers=1, retries=-1)
    with pytest.raises(ValueError, match="cannot be combined"):
        run_study_dask(study, scheduler="tcp://127.0.0.1:1", workers=2)
    assert not (tmp_path / "provenance.json").exists()


def test_local_executor_does_not_import_dask(tmp_path):
    code = ("import sys; from mmoe_lab.study import cli; cli.study_from_args(['--out', sys.argv[1]]); "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, text=True,
                         capture_output=True, check=True).stdout
    assert out.strip() == "[]"


def test_claims_of_dead_processes_and_silent_hosts_are_taken_over(tmp_path):
    """A claim holds while its owner lives: asked directly on this host, by lease on another."""
    study = Study.create(tmp_path, **GRID)
    unit = study.units[0]
    path = tmp_path / "parts" / f".claim-{unit['key']}"
    gone = subprocess.Popen(["true"])
    gone.wait()
    for dead in (f"{claim_owner().rpartition(':')[0]}:{gone.pid}", str(gone.pid)):  # host:pid, or a bare pid
        path.write_text(dead)
        assert _claim(study, unit) and path.read_text() == claim_owner()
    path.write_text(f"other-host:{os.getpid()}")  # a worker elsewhere that refreshed its claim just now
    assert not _claim(study, unit)
    old = time.time() - CLAIM_LEASE_SECONDS - 1
    os.utime(path, (old, old))  # ... and then went silent
    assert _claim(study, unit) and path.read_text() == claim_owner()
    zombie = subprocess.Popen(["true"])  # exited but not reaped yet: dead
    time.sleep(0.5)
    assert not pid_alive(zombie.pid)
    zombie.wait()
