"""The study runner: validation before work, tidy results, atomic resumable writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmoe_lab.study import Study, load_results, ordering_counts, parse_curve, run_study, run_table
from mmoe_lab.study.cli import study_from_args

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--presets", "teaching", "--correlations", "0.5", "--runs", "3", "--chunk", "1",
         "--steps", "30", "--eval-every", "10", "--no-progress"]


def _cli(args, **kw):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "mmoe_lab", "reproduce", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("args, message", [
    (["--models", "mmoe", "moe"], "unknown model"),
    (["--correlations", "0.5", "1.5"], r"\[-1, 1\]"),
    (["--correlations", "nan"], r"\[-1, 1\]"),
    (["--runs", "0"], "runs"),
    (["--n-train", "lots"], "training size"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, args, message):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match=message):
        study_from_args([*args, "--out", str(out)])
    # the CLI exits 2 with the message and creates nothing
    proc = _cli([*args, "--out", str(out)])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "error:" in err
    assert not out.exists()


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="writable directory"):
        Study.create(blocker / "out")
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(ValueError, match="writable directory"):
            Study.create(ro / "out")


def test_plan_covers_grid_once(tmp_path):
    st = Study.create(tmp_path, runs=5, chunk=2, correlations=[0.5, 1.0])
    assert len(st.units) == 2 * 2 * 3 * 3  # presets × p × seed blocks × models
    seeds = {}
    for u in st.units:
        seeds.setdefault((u["preset"], u["model"], u["correlation"]), []).extend(u["seeds"])
    assert all(sorted(v) == list(range(5)) for v in seeds.values())
    assert len({u["key"] for u in st.units}) == len(st.units)


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing(tmp_path):
    """Kill the CLI with SIGKILL after some units are written; resume; compare with a clean run."""
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _cli([*SMALL, "--out", str(killed)])
    parts = killed / "parts"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(parts.glob("*.csv"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    done_before = sorted(p.name for p in parts.glob("*.csv"))
    assert 2 <= len(done_before) < 9, done_before
    for p in parts.glob("*.csv"):  # every finished unit is a complete, parseable file
        assert len(pd.read_csv(p)) == 2
    resumed = _cli([*SMALL, "--out", str(killed)])
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"{len(done_before)}/9 units already done" in out
    ref = _cli([*SMALL, "--out", str(clean)])
    _, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, err
    a = load_results(killed).drop(columns="unit_seconds")
    b = load_results(clean).drop(columns="unit_seconds")
    assert len(a) == 3 * 3 * 2  # models × seeds × tasks
    pd.testing.assert_frame_equal(a, b)
    prov = json.loads((killed / "provenance.json").read_text())
    assert prov["status"] == "complete" and prov["units_done"] == 9
    assert {"command", "versions", "cpu", "date_utc", "budget"} <= set(prov)
    assert "tensorflow" in prov["versions"] and prov["cpu"]["cores"] >= 1


@pytest.mark.slow
def test_results_are_tidy(tmp_path):
    st = Study.create(tmp_path, presets=["paper"], correlations=[1.0], runs=2, chunk=2,
                      budget={"steps": 20, "eval_every": 10, "n_train": 1000, "n_test": 200})
    df = run_study(st, progress=False, command=["test"])
    assert len(df) == 3 * 2 * 2
    assert set(df.columns) >= {"preset", "n_train", "arch", "correlation", "seed", "task",
                               "final_train_loss", "final_test_loss", "train_curve", "test_curve"}
    curve = parse_curve(df["test_curve"].iloc[0])
    assert curve.shape == (2,) and np.isclose(curve[-1], df["final_test_loss"].iloc[0], rtol=1e-4)
    counts = ordering_counts(df)
    assert counts["N"].tolist() == [2] and 0 <= counts["MMoE<SB"].iloc[0] <= 2
    # a second call finds nothing to do and returns the same table
    again = run_study(st, progress=False, command=["test"])
    pd.testing.assert_frame_equal(df, again)



@pytest.mark.backend
@pytest.mark.slow
def test_units_side_by_side_give_the_numbers_of_one_after_another(tmp_path, monkeypatch):
    """On JAX run_study trains units in threads (backend.concurrent_training); same table as
    one after another (on TensorFlow both runs are one after another)."""
    from mmoe_lab import backend

    budget = {"steps": 20, "eval_every": 10, "n_train": None, "n_test": 200}
    grid = dict(presets=["teaching"], correlations=[0.5, 1.0], runs=2, chunk=2, budget=budget)
    together = run_study(Study.create(tmp_path / "together", **grid), progress=False, command=["test"])
    prov = json.loads((tmp_path / "together" / "provenance.json").read_text())
    # as run_study counts them: the CPUs this process may use (taskset narrows them), at most 6 units
    threads = min(6, len(os.sched_getaffinity(0))) if backend.concurrent_training() else 1
    assert prov["sessions"][-1]["executor"] == {"name": "local", "threads": threads}
    monkeypatch.setattr(backend, "concurrent_training", lambda: False)
    apart = run_study(Study.create(tmp_path / "apart", **grid), progress=False, command=["test"])
    assert len(together) == 3 * 2 * 2 * 2
    pd.testing.assert_frame_equal(together.drop(columns="unit_seconds"), apart.drop(columns="unit_seconds"))

def _fake_results(seeds=4):
    rng = np.random.default_rng(0)
    rows = []
    for preset in ("paper", "teaching"):
        for model in ("shared_bottom", "omoe", "mmoe"):
            for p in (0.5, 1.0):
                for seed in range(seeds):
                    for task in ("task_0", "task_1"):
                        curve = np.sort(rng.uniform(0.1, 1.0, 3))[::-1]
                        rows.append({"preset": preset, "n_train": "10000", "arch": model, "correlation": p,
                                     "seed": seed, "task": task, "final_train_loss": curve[-1],
                                     "final_test_loss": curve[-1], "curve_steps": "10;20;30",
                                     "train_curve": ";".join(map(str, curve)), "test_curve": ";".join(map(str, curve))})
    return pd.DataFrame(rows)


def test_study_panel_redraws_on_value_change():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab.widgets import study_panel

    df = _fake_results()
    panel = study_panel(df, preset="teaching", correlation=0.5)
    assert panel.n_draws == 1 and panel.state["preset"] == "teaching"
    panel.controls["p"].value = 1.0
    assert panel.n_draws == 2 and panel.state["p"] == 1.0
    panel.controls["models"].value = ("mmoe",)
    assert panel.state["models"] == ("mmoe",) and set(panel.state["means"]) == {"mmoe"}
    sel = df[(df.preset == "teaching") & (df.correlation == 1.0) & (df.arch == "mmoe")]
    assert np.isclose(panel.state["means"]["mmoe"], sel.final_test_loss.mean())
    panel.controls["models"].value = ()
    assert panel.n_draws == 3 and "at least one" in panel.status.value
    # a partially finished study: a (preset, p) with no runs says so instead of failing
    part = study_panel(df[~((df.preset == "teaching") & (df.correlation == 1.0))], preset="teaching")
    part.controls["p"].value = 1.0
    assert "no stored runs" in part.status.value and part.state["means"] == {}


def test_figures_and_tables_from_results():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab import plots
    from mmoe_lab.paper import INDEPENDENT_DATASIZE
    from mmoe_lab.study import mean_curves, paper_comparison

    df = _fake_results()
    curves = mean_curves(df)
    assert set(curves["step"]) == {10, 20, 30} and (curves["runs"] == 4).all()
    plots.plot_fig4_curves(curves, "paper", correlations=(0.5, 1.0))
    plots.plot_fig5_hist(run_table(df), "paper", correlations=(0.5, 1.0))
    plots.plot_datasize(INDEPENDENT_DATASIZE, INDEPENDENT_DATASIZE)
    table = paper_comparison(df, "teaching")
    assert len(table) == 6 and table.loc[table.p == 0.5, "paper (Fig. 4)"].notna().all()
    with pytest.raises(ValueError, match="no curves"):
        plots.plot_fig4_curves(curves, "nope")


def test_seeds_stored_under_another_chunk_size_count_as_done(tmp_path):
    st = Study.create(tmp_path, presets=["paper"], models=["mmoe"], correlations=[0.5], runs=4, chunk=4)
    assert len(st.pending()) == 1
    for lo in (0, 2):  # the same seeds written as two blocks of 2
        (tmp_path / "parts" / f"paper_n10000_mmoe_p+0.500_s{lo:04d}-{lo + 1:04d}.csv").write_text("x\n")
        assert len(st.pending()) == (1 if lo == 0 else 0)


def test_run_curves_average_tasks_per_step():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab.plots import plot_seed_curves
    from mmoe_lab.study import run_curves

    df = _fake_results(seeds=3)
    curves = run_curves(df)
    assert len(curves) == 2 * 3 * 2 * 3 * 3  # presets × models × p × seeds × steps
    one = df[(df.preset == "paper") & (df.arch == "omoe") & (df.correlation == 0.5) & (df.seed == 2)]
    expect = np.mean([parse_curve(c) for c in one["test_curve"]], axis=0)
    got = curves[(curves.preset == "paper") & (curves.arch == "omoe") & (curves.correlation == 0.5) & (curves.seed == 2)]
    np.testing.assert_allclose(got.sort_values("step")["test_loss"], expect)
    # the last curve point is the run's final loss, so the two tables agree
    last = got.sort_values("step")["test_loss"].iloc[-1]
    assert np.isclose(last, run_table(df).loc[("paper", "10000", 0.5, 2), "omoe"])
    sb = curves[(curves.preset == "teaching") & (curves.arch == "shared_bottom")]
    runs = sb[sb.step == 30]
    plot_seed_curves(sb, runs, by="correlation")


def test_ordering_counts_of_a_one_model_study():
    df = _fake_results()
    full = ordering_counts(df)
    assert (full["N"] == 4).all() and full["MMoE<SB"].notna().all()
    sb = ordering_counts(df[df.arch == "shared_bottom"])
    assert len(sb) == 4 and sb["mmoe"].isna().all() and sb["MMoE<SB"].isna().all()
    sel = df[(df.arch == "shared_bottom") & (df.preset == "paper") & (df.correlation == 0.5)]
    assert np.isclose(sb.iloc[0]["shared_bottom"], sel.groupby("seed")["final_test_loss"].mean().mean())


def test_plot_spread_by_size():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab.plots import plot_spread_by_size

    df = pd.concat([_fake_results().assign(n_train=n) for n in ("10000", "fresh")], ignore_index=True)
    fig = plot_spread_by_size(run_table(df), "paper", 0.5)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["10k (n=4)", "fresh (n=4)"]
    with pytest.raises(ValueError, match="no runs"):
        plot_spread_by_size(run_table(df), "paper", 0.7)


def test_seed_set_means():
    from mmoe_lab.study import seed_set_means

    per_run = pd.DataFrame({"a": np.arange(5.0)}, index=pd.Index(range(5), name="seed"))
    out = seed_set_means(per_run, 2)
    assert list(out.index) == ["seeds 0-1", "seeds 2-3", "seeds 4-5"]
    assert out["a"].tolist() == [0.5, 2.5, 4.0] and out["seeds"].tolist() == [2, 2, 1]
    with pytest.raises(ValueError, match="size"):
        seed_set_means(per_run, 0)
