#!/usr/bin/env python3
"""Precompute notebook 06's remedy table and check its claims on several seeds.

For each seed s (data seed = initialisation seed = s) every (cause, remedy) of
:data:`mmoe_lab.collapse.TABLE_PLAN` is trained once at remedy strength 1 with the default
:class:`mmoe_lab.collapse.LabConfig`; the rows go to ``data/gate_collapse/remedy_table.csv``
(which notebook 06 loads), and every claim of :data:`mmoe_lab.collapse.CLAIMS` is evaluated
per seed. Prints the per-seed verdicts and, per claim, the number of seeds on which it holds.

Usage: ``python scripts/check_collapse_claims.py [--seeds 5] [--out data/gate_collapse]``
(about 13 trainings per seed; a few seconds each on idle cores). ``--from-csv`` re-evaluates the
claims on the existing ``remedy_table.csv`` without training.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import mmoe_lab


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--out", type=Path, default=Path("data/gate_collapse"))
    ap.add_argument("--from-csv", action="store_true", help="only re-check the claims on the saved table")
    args = ap.parse_args(argv)
    mmoe_lab.setup_notebook(0, style=False)
    import pandas as pd

    from mmoe_lab import collapse

    start = time.perf_counter()
    if args.from_csv:
        table = pd.read_csv(args.out / "remedy_table.csv")
        tables = [t for _, t in table.groupby("seed")]
        args.seeds = len(tables)
    else:
        tables = []
        for seed in range(args.seeds):
            t = collapse.remedy_table(collapse.TABLE_PLAN, seeds=[seed])
            tables.append(t)
            print(f"seed {seed} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        table = pd.concat(tables, ignore_index=True)
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = args.out / "remedy_table.csv.tmp"
        table.round(5).to_csv(tmp, index=False)
        tmp.replace(args.out / "remedy_table.csv")

    verdicts = pd.DataFrame({seed: collapse.check_claims(t) for seed, t in enumerate(tables)})
    verdicts.columns = [f"seed {s}" for s in verdicts.columns]
    verdicts["holds"] = verdicts.sum(1).astype(int).astype(str) + f"/{args.seeds}"
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 70)
    print(verdicts.to_string())
    verdicts.to_csv(args.out / "claims.csv")
    if not args.from_csv:
        print(f"\n{len(table)} trainings in {time.perf_counter() - start:.0f} s")
    return 0 if verdicts.drop(columns="holds").all(axis=None) else 1


if __name__ == "__main__":
    sys.exit(main())
