#!/usr/bin/env python3
"""Check the correlation lesson's bars on seeds the search never used.

Runs the configuration chosen by ``scripts/search_correlation_lesson.py`` (``--config``,
default :data:`CHOSEN`) as live comparisons, :func:`mmoe_lab.experiments.compare_over_seeds`
with shared-bottom, OMoE and MMoE at p = 0.5 and 1.0 on one block of 8 seeds at a time
(seeds ``first + 8k … first + 8k + 7``, k < ``--blocks``), and compares p = 0.5 with p = 1.0:

* (a) the OMoE gap (OMoE − MMoE) / OMoE is positive at 0.5 and larger than at 1.0 — bar: every
  block's 8-seed means, and at least 3/4 of the single seeds (30/40 for 5 blocks);
* (b) shared-bottom's loss is higher at 0.5 — bar: every block's means;
* (c) MMoE's gate divergence (JSD between the two tasks' mean gates, on 500 standard-normal
  probe inputs) is larger at 0.5 — bar: every block's means;
* (d) SB − MMoE is larger at 0.5 — reported (single seeds and blocks), not a bar.

The search used seeds 100–131 only. Checks so far: ``--first 0`` (seeds 0–39, the first
check of S15A2-u8-b128-s4400; those seeds then informed the choice, so they no longer count as
unseen), ``--first 200`` (S15A2-u8-b128-s4400) and ``--first 240`` (S15A2-u8-b128-s6000);
``data/calibration/README.md`` has the results. Rows of earlier checks stay in the output file.
Per-seed results (one row per arch, p and seed: test MSE, per-task MSE, MMoE's JSD, the block
and the call's wall/CPU seconds) are written to ``data/calibration/correlation_lesson_check.csv``
(``--out``). Exits 1 if a bar fails, 2 if the seeds overlap the search's.

Usage (from the repo root)::

    .venv/bin/python scripts/check_correlation_lesson.py --first 240 --blocks 5 [--config TAG]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search_correlation_lesson as search  # noqa: E402

#: The configuration the search chose (a tag of ``search.CONFIGS``).
CHOSEN = "S15A2-u8-b128-s6000"
OUT_CSV = search.OUT / "correlation_lesson_check.csv"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=CHOSEN, choices=sorted(search.BY_TAG))
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT_CSV)
    args = ap.parse_args(argv)
    cfg = search.BY_TAG[args.config]
    seeds = list(range(args.first, args.first + search.BLOCK * args.blocks))
    if set(seeds) & set(search.SEARCH_SEEDS):
        print(f"seeds {seeds[0]}-{seeds[-1]} overlap the search seeds {search.SEARCH_SEEDS[0]}-"
              f"{search.SEARCH_SEEDS[-1]}; choose others", file=sys.stderr)
        return 2
    import mmoe_lab
    from mmoe_lab.study import atomic_write_text

    mmoe_lab.setup_notebook()
    from mmoe_lab import experiments

    if args.config == CHOSEN:  # the chosen configuration is the package's default: they must agree
        lesson = {"generator": experiments.LESSON_GENERATOR, "model": experiments.LESSON_MODEL,
                  "budget": experiments.LESSON_BUDGET}
        mismatch = {k: (cfg[k], v) for k, v in lesson.items() if dict(cfg[k]) != dict(v)}
        if mismatch:
            print(f"{CHOSEN} differs from mmoe_lab.experiments' LESSON_* constants: {mismatch}", file=sys.stderr)
            return 2
    # rows of other configurations or seeds stay; this run's (config, seeds) rows are replaced
    earlier = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame()
    if len(earlier):
        earlier = earlier[~((earlier["config"] == cfg["tag"]) & earlier["seed"].isin(seeds))]
    print(f"config {cfg['tag']}: generator {cfg['generator']}, model {cfg['model']}, budget {cfg['budget']}")
    parts, timings = [], []
    for k in range(args.blocks):
        block = seeds[k * search.BLOCK:(k + 1) * search.BLOCK]
        runs, t = search.live_comparison(cfg, block)
        timings.append(t)
        parts.append(runs.assign(block=k, wall_s=round(t["wall"], 1), cpu_s=round(t["cpu"], 1),
                                 load_start=round(t["load_start"], 2), load_end=round(t["load_end"], 2)))
        b = search.bars(search.block_means(runs)).iloc[0]
        print(f"block {k} (seeds {block[0]}-{block[-1]}): gap {b.gap_lo:+.3f} vs {b.gap_hi:+.3f}, "
              f"SB-MMoE {b.adv_lo:.4f} vs {b.adv_hi:.4f}, a/b/c/d {int(b.a)}{int(b.b)}{int(b.c)}{int(b.d)}; "
              f"{t['wall']:.1f} s wall, {t['cpu']:.1f} s cpu, load {t['load_start']:.1f}-{t['load_end']:.1f}",
              flush=True)
        new = pd.concat(parts, ignore_index=True).assign(config=cfg["tag"])
        atomic_write_text(args.out, pd.concat([earlier, new], ignore_index=True).to_csv(index=False))
    runs = pd.concat(parts, ignore_index=True)
    w = search.wide(runs)
    per_seed, per_block = search.bars(w), search.bars(search.block_means(runs))
    n, nb = len(per_seed), len(per_block)
    print("\nblock means:")
    print(search.block_means(runs).round(4).to_string())
    need_a = -(-3 * n // 4)
    checks = [
        ("(a) OMoE gap > 0 at 0.5 and > gap at 1.0, blocks", int(per_block.a.sum()), nb, nb),
        ("(a) same, single seeds", int(per_seed.a.sum()), n, need_a),
        ("(b) SB loss higher at 0.5, blocks", int(per_block.b.sum()), nb, nb),
        ("(c) MMoE gate JSD larger at 0.5, blocks", int(per_block.c.sum()), nb, nb),
    ]
    report = [
        ("(b) single seeds", int(per_seed.b.sum()), n),
        ("(c) single seeds", int(per_seed.c.sum()), n),
        ("(d) SB - MMoE larger at 0.5, blocks", int(per_block.d.sum()), nb),
        ("(d) single seeds", int(per_seed.d.sum()), n),
    ]
    ok = True
    print(f"\nbars ({nb} blocks of {search.BLOCK}, seeds {seeds[0]}-{seeds[-1]}, config {cfg['tag']}):")
    for name, got, of, need in checks:
        passed = got >= need
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {got}/{of} (need {need})  {name}")
    for name, got, of in report:
        print(f"  ----  {got}/{of}  {name}")
    m = w.mean()
    print("\nmean over all seeds:", {k: round(float(v), 4) for k, v in m.items()})
    print(f"one live comparison: wall {min(t['wall'] for t in timings):.1f}-{max(t['wall'] for t in timings):.1f} s, "
          f"cpu {min(t['cpu'] for t in timings):.1f}-{max(t['cpu'] for t in timings):.1f} s")
    print("wrote", args.out.relative_to(search.ROOT) if args.out.is_relative_to(search.ROOT) else args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    _t = time.time()
    rc = main(sys.argv[1:])
    print(f"({time.time() - _t:.0f} s)")
    sys.exit(rc)
