"""Calibration of the generator presets and the live training budget (``data/calibration/``).

``python -m mmoe_lab calibrate paper [--seeds 20]``
    median over seeds of the *sample* Pearson r of 10k samples at each p of the paper's Fig. 2,
    beside the values read off it (criterion: within ±0.05) → ``paper_preset_r.csv``.

``python -m mmoe_lab calibrate teaching --tag T [--constants JSON] [--train JSON] [--seeds ...]``
    trains shared-bottom, OMoE and MMoE (``build_model`` defaults, parameter-matched) on the
    same data for each seed (data seed = init seed) and appends one row per configuration
    (constants, budget, seconds per model, win counts, mean MSEs) to ``teaching_search.csv``
    and one row per (seed, architecture) to ``teaching_runs.csv``.

``python -m mmoe_lab calibrate combine --tags T1 T2 --tag T``
    merges the runs of several tags (e.g. seeds split over processes) into one search row.

``data/calibration/README.md`` describes every file and the search's results.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_int, invalid
from ..io import atomic_write_text, data_dir
from ..paper import ARCHITECTURES

__all__ = ["OUT", "append_csv", "paper_table", "summarize", "combine", "teaching_run", "main"]

OUT = data_dir() / "calibration"


def append_csv(path: Path, df: pd.DataFrame) -> None:
    """Append rows to ``path`` atomically, under a file lock (columns may grow; earlier rows get blanks)."""
    with open(Path(tempfile.gettempdir()) / f"mmoe_lab_{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            df = pd.concat([pd.read_csv(path), df], ignore_index=True)
        atomic_write_text(path, df.to_csv(index=False))


def paper_table(n_seeds: int = 20, n_samples: int = 10_000, preset: str = "paper") -> pd.DataFrame:
    """Per p of Fig. 2: median sample r over seeds ``0 .. n_seeds - 1``, its quantiles, the population r."""
    from ..paper import FIG2
    from ..synthetic import make_correlated_tasks, population_label_correlation

    check_int("n_seeds", n_seeds)
    rows = []
    for p, fig in FIG2.items():
        rs = [np.corrcoef(make_correlated_tasks(n_samples, 100, p, preset=preset, random_state=s)[1].T)[0, 1]
              for s in range(n_seeds)]
        pop = population_label_correlation(p, preset=preset, n_draws=200, random_state=0)["median"]
        med = float(np.median(rs))
        rows.append({"p": p, "median_sample_r": round(med, 4), "q10": round(float(np.quantile(rs, .1)), 4),
                     "q90": round(float(np.quantile(rs, .9)), 4), "population_r_median": round(pop, 4),
                     "fig2": fig, "abs_diff": round(abs(med - fig), 4), "within_0.05": abs(med - fig) <= 0.05})
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
    """One search row from per-seed runs: win counts, mean MSEs, seconds per model."""
    wide = runs.pivot(index="seed", columns="arch", values="test_mse")
    for arch in ARCHITECTURES:
        if arch not in wide:
            wide[arch] = np.nan
    seeds = sorted(runs.seed.unique())
    return {
        "tag": meta["tag"], "preset": meta["preset"], "constants": meta["constants"], "p": meta["p"],
        "n_train": meta["n_train"], "train": meta["train"],
        "seeds": f"{min(seeds)}-{max(seeds)}", "n_seeds": len(seeds),
        "mmoe_lt_sb": int((wide.mmoe < wide.shared_bottom).sum()),
        "full_order": int(((wide.mmoe < wide.omoe) & (wide.omoe < wide.shared_bottom)).sum()),
        "mse_mmoe": round(wide.mmoe.mean(), 4), "mse_omoe": round(wide.omoe.mean(), 4),
        "mse_sb": round(wide.shared_bottom.mean(), 4),
        "sec_per_model_median": round(runs.seconds.median(), 2),
        "sec_per_model_max": round(runs.seconds.max(), 2),
        "cpu_sec_per_model_median": round(runs.cpu_seconds.median(), 2) if "cpu_seconds" in runs else np.nan,
        "label_r_median": round(runs.groupby("seed").label_r.first().median(), 3),
        "load_avg_end": round(os.getloadavg()[0], 2),
        "note": meta["note"],
    }


def combine(tags: Sequence[str], new_tag: str, note: str = "") -> dict[str, Any]:
    """Merge the runs of several tags into one search row (appended to ``teaching_search.csv``)."""
    runs = pd.read_csv(OUT / "teaching_runs.csv")
    search = pd.read_csv(OUT / "teaching_search.csv")
    missing = sorted(set(tags) - set(search.tag))
    if missing:
        raise invalid("tags", "tags of teaching_search.csv", list(tags), received=f"unknown tags {missing}")
    first = search[search.tag == tags[0]].iloc[-1]
    part = runs[runs.tag.isin(tags)].drop(columns="tag")
    summary = summarize(part, {**first.to_dict(), "tag": new_tag, "note": note})
    summary["load_avg_end"] = search[search.tag.isin(tags)].load_avg_end.max()
    append_csv(OUT / "teaching_search.csv", pd.DataFrame([summary]))
    print(json.dumps(summary, default=str))
    return summary


def teaching_run(args: argparse.Namespace) -> pd.DataFrame:
    """Train the three architectures on each seed of one configuration; append the rows (unless ``dry``)."""
    from ..experiments import live_splits, train_and_evaluate
    from ..synthetic import PRESETS

    constants = json.loads(args.constants) if args.constants else {}
    train_kw = json.loads(args.train) if args.train else {}
    rows = []
    for seed in args.seeds:
        data = live_splits(args.p, seed, preset=args.preset, n_train=args.n_train, n_test=args.n_test, **constants)
        for arch in args.archs:
            t0, c0 = time.perf_counter(), time.process_time()
            res = train_and_evaluate(arch, data, seed=seed, **train_kw)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append({"seed": seed, "arch": arch, "test_mse": res["mean_test_loss"], "seconds": dt,
                         "cpu_seconds": cpu, "label_r": float(data["label_r"][0, 1])})
            print(f"seed {seed} {arch:>13}: test MSE {res['mean_test_loss']:.4f}  {dt:5.1f}s wall "
                  f"{cpu:5.1f}s cpu", flush=True)
    runs = pd.DataFrame(rows)
    summary = summarize(runs, {
        "tag": args.tag, "preset": args.preset,
        "constants": json.dumps({**PRESETS[args.preset], **constants}, sort_keys=True),
        "p": args.p, "n_train": args.n_train, "train": json.dumps(train_kw, sort_keys=True), "note": args.note,
    })
    print(json.dumps(summary))
    if not args.dry:
        runs.insert(0, "tag", args.tag)
        append_csv(OUT / "teaching_runs.csv", runs)
        append_csv(OUT / "teaching_search.csv", pd.DataFrame([summary]))
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mmoe_lab calibrate paper|teaching|combine ...`` (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab calibrate", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("paper", help="median sample r per p beside Fig. 2 -> paper_preset_r.csv")
    pp.add_argument("--seeds", type=int, default=20)
    tp = sub.add_parser("teaching", help="one configuration -> teaching_search.csv, teaching_runs.csv")
    tp.add_argument("--tag", required=True)
    tp.add_argument("--preset", default="teaching")
    tp.add_argument("--constants", default="", help='JSON overrides, e.g. {"scale": 1.0}')
    tp.add_argument("--train", default="", help="JSON kwargs for train_and_evaluate")
    tp.add_argument("--p", type=float, default=0.5)
    tp.add_argument("--n-train", type=int, default=None)
    tp.add_argument("--n-test", type=int, default=None)
    tp.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    tp.add_argument("--archs", nargs="+", default=["shared_bottom", "omoe", "mmoe"])
    tp.add_argument("--note", default="")
    tp.add_argument("--dry", action="store_true", help="print, do not append")
    cp = sub.add_parser("combine", help="merge the runs of several tags into one search row")
    cp.add_argument("--tags", nargs="+", required=True)
    cp.add_argument("--tag", required=True)
    cp.add_argument("--note", default="")
    args = ap.parse_args(list(argv) if argv is not None else None)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.cmd == "paper":
        df = paper_table(args.seeds)
        print(df.to_string(index=False))
        atomic_write_text(OUT / "paper_preset_r.csv", df.to_csv(index=False))
    elif args.cmd == "combine":
        combine(args.tags, args.tag, args.note)
    else:
        from ..backend import quiet_import_tensorflow
        from ..experiments import LIVE_BUDGET

        quiet_import_tensorflow()
        args.n_train = args.n_train or LIVE_BUDGET["n_train"]
        args.n_test = args.n_test or LIVE_BUDGET["n_test"]
        teaching_run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
