"""Check the census-income claims of notebook 10 over several seeds.

Trains shared-bottom, OMoE and MMoE on census-income group 1 (income + marital) at the
notebook's budget for each seed and prints per-seed AUCs and how often each ordering holds.

    MMOE_LAB_DATA_DIR=/path/to/census nice -n 10 .venv/bin/python scripts/census_seed_check.py --seeds 10

The seed changes the training subsample, the weight initialisation and the batch order; the
train/test split of the data itself stays fixed (``split_seed=0``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import mmoe_lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--n-train", type=int, default=20_000, help="training rows (0: all)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--data-dir", default=None, help="folder with census-income.*.gz")
    parser.add_argument("--out", default=None, help="write the per-seed table to this CSV")
    args = parser.parse_args(argv)

    mmoe_lab.setup_notebook(style=False)
    import pandas as pd

    from mmoe_lab.datasets import load_census_income
    from mmoe_lab.features import train_census_models

    data_dir = args.data_dir or os.environ.get("MMOE_LAB_DATA_DIR")
    sibling = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if data_dir is None and (sibling / "census-income.test.gz").is_file():
        data_dir = str(sibling)
    census = load_census_income(data_dir)
    print(census.split_note, flush=True)
    tables = []
    for seed in range(args.seeds):
        t = train_census_models(census.train, census.test, n_train=args.n_train or None, epochs=args.epochs,
                                batch_size=args.batch_size, seed=seed)
        t["seed"] = seed
        tables.append(t.reset_index())
        print(f"seed {seed}:", t[["income AUC", "marital AUC"]].round(4).to_dict("index"), flush=True)
    df = pd.concat(tables, ignore_index=True)
    if args.out:
        df.to_csv(args.out, index=False)
    wide = df.pivot(index="seed", columns="model", values=["income AUC", "marital AUC"])
    n = len(wide)
    print("\nmean ± sd over seeds:")
    print(df.groupby("model")[["income AUC", "marital AUC", "seconds"]].agg(["mean", "std", "min", "max"]).round(4))
    for task in ("income AUC", "marital AUC"):
        w = wide[task]
        print(f"\n{task}: counts over {n} seeds")
        print(f"  mmoe >= shared_bottom: {(w['mmoe'] >= w['shared_bottom']).sum()}/{n}")
        print(f"  mmoe >= omoe:          {(w['mmoe'] >= w['omoe']).sum()}/{n}")
        print(f"  omoe >= shared_bottom: {(w['omoe'] >= w['shared_bottom']).sum()}/{n}")
        print(f"  full ordering mmoe >= omoe >= sb: {((w['mmoe'] >= w['omoe']) & (w['omoe'] >= w['shared_bottom'])).sum()}/{n}")
        print(f"  all three within 0.01 of each other: {((w.max(axis=1) - w.min(axis=1)) <= 0.01).sum()}/{n}")
        print(f"  min over models and seeds: {w.min().min():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
