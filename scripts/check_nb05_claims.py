"""Check notebook 05's asserted claims on every block of seeds in the stored study.

Notebook 05's live check retrains seeds 0-4 (paper preset, p = 0.5, 10k samples) and asserts
that shared-bottom's mean final test MSE is below MMoE's. This script counts, over all
disjoint 5-seed blocks of the stored 200-run study, in how many blocks that holds, and prints
the other orderings the notebook's prose states, per (preset, p), with seed counts.

Usage: ``.venv/bin/python scripts/check_nb05_claims.py [data/study/budget]``
"""

from __future__ import annotations

import sys

from mmoe_lab.study import load_results, ordering_counts, run_table


def main(path: str = "data/study/budget") -> None:
    df = load_results(path)
    wide = run_table(df)
    g = wide.xs(("paper", "10000", 0.5), level=["preset", "n_train", "correlation"]).sort_index()
    seeds = g.index.to_numpy()
    blocks = [g.loc[seeds[i:i + 5]] for i in range(0, len(seeds) - 4, 5)]
    ok = sum(b["shared_bottom"].mean() < b["mmoe"].mean() for b in blocks)
    print(f"paper preset, p=0.5, 10k: mean(SB) < mean(MMoE) in {ok} of {len(blocks)} blocks of 5 seeds")
    per_seed = int((g["shared_bottom"] < g["mmoe"]).sum())
    print(f"  per seed: SB < MMoE in {per_seed} of {len(g)} seeds")
    print(ordering_counts(df).round(3).to_string(index=False))
    for (preset, p), sub in wide.groupby(level=["preset", "correlation"]):
        sub = sub.dropna()
        mix = int(((sub["mmoe"] < sub["shared_bottom"]) & (sub["omoe"] < sub["shared_bottom"])).sum())
        print(f"{preset:>9} p={p:.1f}: both mixtures < SB in {mix}/{len(sub)}; "
              f"median SB {sub['shared_bottom'].median():.3f} OMoE {sub['omoe'].median():.3f} MMoE {sub['mmoe'].median():.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
