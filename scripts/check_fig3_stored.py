#!/usr/bin/env python3
"""Check notebook 02's stored-study Fig. 3 claim on disjoint 200-seed sets.

Notebook 02 loads the shared-bottom runs of ``data/study/budget`` (preset ``"teaching"``, 10k
training samples, 400 steps, seeds 0-199) and asserts, on the mean final test MSE over the
200 seeds, ``loss(0.5) > loss(0.9)`` and ``loss(0.5) > loss(1.0)``. This script counts on how
many disjoint sets of 200 seeds of ``data/study/fig3_seed_sets`` (seeds 0-999, made by the
command in data/README.md) that claim holds, next to the full ordering
``loss(1.0) < loss(0.9) < loss(0.5)`` that the notebook prints but does not assert.

Usage: ``python scripts/check_fig3_stored.py [--dir data/study/fig3_seed_sets] [--set-size 200]``
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    from mmoe_lab import study

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="data/study/fig3_seed_sets")
    ap.add_argument("--set-size", type=int, default=200)
    args = ap.parse_args(argv)
    wide = (study.run_table(study.load_results(args.dir))["shared_bottom"]
            .xs(("teaching", "10000"), level=["preset", "n_train"]).unstack("correlation"))
    n = args.set_size
    held = {"loss(0.5) > loss(0.9) and > loss(1.0)": 0, "loss(1.0) < loss(0.9) < loss(0.5)": 0}
    single = (wide[1.0] < wide[0.5]).to_frame("one_lt_half")
    means = study.seed_set_means(wide, n).join(study.seed_set_means(single, n)[["one_lt_half"]])
    for name, m in means.iterrows():
        a = m[0.5] > m[0.9] and m[0.5] > m[1.0]
        b = m[1.0] < m[0.9] < m[0.5]
        held["loss(0.5) > loss(0.9) and > loss(1.0)"] += a
        held["loss(1.0) < loss(0.9) < loss(0.5)"] += b
        print(f"{name}: mean loss p=1.0 {m[1.0]:.4f}  p=0.9 {m[0.9]:.4f}  p=0.5 {m[0.5]:.4f}"
              f"  | claim {'holds' if a else 'fails'}, full ordering {'holds' if b else 'fails'}"
              f"  | single seeds with loss(1.0) < loss(0.5): {round(m['one_lt_half'] * m['seeds'])}/{int(m['seeds'])}")
    for name, k in held.items():
        print(f"{k}/{len(means)} sets of {n} seeds: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
