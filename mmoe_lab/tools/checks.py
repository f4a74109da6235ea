"""Fresh evidence for the claims registry (:mod:`mmoe_lab.claims`): the notebooks' own calls,
rerun on other seeds; and ``python -m mmoe_lab claims`` (``make claims``), which evaluates every
claim on that evidence.

Each *source* reruns, for one seed, exactly what a notebook runs live on its committed seed
(seed 0) and returns the rows its claims are evaluated on, one row per (seed, claim input):

========== ======================================================= ==========================
notebook   call per seed                                           stored as
========== ======================================================= ==========================
01         ``population_label_correlation`` (100 draws, no         ``data/claims/01_fig2.csv``
           training) at each Fig. 2 point, both presets
03         ``train_and_evaluate`` of shared-bottom and OMoE on     ``03_guided.csv``
           ``live_splits(0.5, seed)`` (the live budget)
06         ``collapse.remedy_table(TABLE_PLAN, seeds=[seed])``    ``06_remedy_table.csv``
07         ``compare_video_variants(seed)``                        ``07_video.csv``
08         ``compare_with_single_task(seed)``                      ``08_extraction.csv``
09         ``compare_funnel_models(seed)``; the funnel's true      ``09_funnel.csv``,
           pCVR of clicked against all impressions (numpy)         ``09_selection.csv``
10         ``train_census_models`` (20,000 rows, 4 epochs, batch   ``10_census.csv``
           512; needs the census files, see
           :func:`mmoe_lab.datasets.load_census_income`)
========== ======================================================= ==========================

:func:`collect` runs a source over seeds and (optionally) merges the rows into its CSV seed by
seed, so an interrupted run keeps what it finished. ``python -m mmoe_lab claims NN --seeds K``
(:func:`main`) is the command that uses it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import claims
from .._validate import check_choice, invalid
from ..claims import Units, read_rows, seed_units
from ..io import atomic_write_text, data_dir

__all__ = ["Source", "SOURCES", "collect", "main"]


@dataclass(frozen=True)
class Source:
    """How to make one notebook's per-seed evidence.

    Attributes:
        key: the CSV's stem under ``data/claims/``, e.g. ``"07_video"``.
        run: ``run(seed) -> DataFrame`` with a ``seed`` column (trains if the notebook does).
        committed: the seeds the notebook itself runs; evidence never uses them.
    """

    key: str
    run: Callable[[int], pd.DataFrame]
    committed: tuple[int, ...] = (0,)

    @property
    def path(self) -> Path:
        """The stored CSV."""
        return data_dir() / "claims" / f"{self.key}.csv"


def _fig2(seed: int) -> pd.DataFrame:
    from ..paper import FIG2
    from ..synthetic import population_label_correlation

    return pd.DataFrame([
        {"seed": seed, "preset": preset, "p": p, "fig2": r,
         "median": population_label_correlation(p, preset=preset, n_draws=100, random_state=seed)["median"]}
        for preset in ("paper", "teaching") for p, r in FIG2.items()])


def _guided(seed: int) -> pd.DataFrame:
    from ..experiments import live_splits, train_and_evaluate

    data = live_splits(0.5, seed)
    return pd.DataFrame([{"seed": seed, "arch": arch, "correlation": 0.5,
                          "test_loss": train_and_evaluate(arch, data, seed=seed)["mean_test_loss"]}
                         for arch in ("shared_bottom", "omoe")])


def _remedies(seed: int) -> pd.DataFrame:
    from .. import collapse

    return collapse.remedy_table(collapse.TABLE_PLAN, seeds=[seed]).round(5)


def _video(seed: int) -> pd.DataFrame:
    from ..training import compare_video_variants

    return compare_video_variants(seed)


def _extraction(seed: int) -> pd.DataFrame:
    from ..training import compare_with_single_task

    return compare_with_single_task(seed)


def _funnel(seed: int) -> pd.DataFrame:
    from ..training import compare_funnel_models

    return compare_funnel_models(seed)


def _selection(seed: int) -> pd.DataFrame:
    from ..scenarios import make_funnel_splits
    from ..training import FUNNEL_BUDGET

    b = FUNNEL_BUDGET
    y = make_funnel_splits(b["n_train"], b["n_test"], b["n_features"], b["correlation"], ctr=b["ctr"],
                           cvr=b["cvr"], random_state=seed)["y_train"]
    clicked = y["click"] == 1
    return pd.DataFrame([{"seed": seed, "p_cvr_clicked": float(y["p_cvr"][clicked].mean()),
                          "p_cvr_all": float(y["p_cvr"].mean())}])


@cache
def _census() -> Any:
    from ..datasets import load_census_income

    return load_census_income()


def _census_seed(seed: int) -> pd.DataFrame:
    from ..census_models import train_census_models

    census = _census()
    t = train_census_models(census.train, census.test, n_train=20_000, epochs=4, batch_size=512, seed=seed)
    assert isinstance(t, pd.DataFrame)  # without return_models=True: the AUC table only
    return t.reset_index().assign(seed=seed)


SOURCES: dict[str, Source] = {s.key: s for s in (
    Source("01_fig2", _fig2),
    Source("03_guided", _guided),
    # notebook 06 loads the remedy table of seeds 0-4 (data/gate_collapse/remedy_table.csv)
    Source("06_remedy_table", _remedies, committed=(0, 1, 2, 3, 4)),
    Source("07_video", _video),
    Source("08_extraction", _extraction),
    Source("09_funnel", _funnel),
    Source("09_selection", _selection),
    Source("10_census", _census_seed),
)}


def _merge(path: Path, key: str, seed: int, rows: pd.DataFrame) -> None:
    """Replace ``seed``'s rows in ``path`` by ``rows``, atomically and under a file lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / f"mmoe_lab_{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = read_rows(key) if path.is_file() else rows.iloc[:0]
        merged = pd.concat([old[old["seed"] != seed], rows], ignore_index=True)
        atomic_write_text(path, merged.sort_values("seed", kind="stable").to_csv(index=False))


def collect(key: str, seeds: Sequence[int], *, save: bool = False, log: Any = sys.stderr) -> pd.DataFrame:
    """Run source ``key`` on each seed; with ``save``, merge each seed's rows into its CSV at once.

    Rows already stored for other seeds stay; a seed's earlier rows are replaced.

    Raises:
        ValueError: an unknown ``key``, or ``seeds`` that include the notebook's committed ones.
    """
    src = SOURCES[check_choice("key", key, sorted(SOURCES))]
    clash = sorted(set(seeds) & set(src.committed))
    if clash:
        raise invalid("seeds", f"seeds other than the notebook's own {list(src.committed)}", list(seeds),
                      received=f"`seeds` with {clash}")
    parts = []
    for seed in seeds:
        t0 = time.perf_counter()
        rows = src.run(int(seed))
        parts.append(rows)
        print(f"{key}: seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=log, flush=True)
        if save:
            _merge(src.path, key, int(seed), rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _print(t: pd.DataFrame) -> None:
    for _, r in t.iterrows():
        flag = "assert" if r["assertable"] else "print "
        status = "BELOW STATED RATE" if r["below"] else ""
        held = f"holds on {r['held']} of {r['units']}"
        print(f"{r['notebook']}/{r['name']:<34} {held:<18} stated {r['stated']:<6} {flag} {r['on']:<6} "
              f"{r['checked_on']} {status}")
    below = t[t["below"]]
    print(f"\n{len(t)} claims, {int(t['assertable'].sum())} asserted, {len(t) - int(t['assertable'].sum())} printed; "
          f"{len(below)} below the stated rate" + (": " + ", ".join(below["notebook"] + "/" + below["name"])
                                                    if len(below) else ""))




def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mmoe_lab claims [NN] [--seeds K] [--first S] [--save] [--from-csv]``; 1 if a claim falls
    below its stated rate."""
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab claims",
                                 description="Every registered claim with the rate at which it held; exits 1 when "
                                             "one falls below its stated rate.")
    ap.add_argument("notebook", nargs="?", help="only this notebook's claims (e.g. 07)")
    ap.add_argument("--from-csv", action="store_true", help="re-evaluate the stored evidence (no training)")
    ap.add_argument("--seeds", type=int, default=20, help="fresh seeds to run (default 20)")
    ap.add_argument("--first", type=int, default=1000, help="first fresh seed (default 1000)")
    ap.add_argument("--save", action="store_true", help="merge the fresh rows into data/claims/")
    args = ap.parse_args(list(argv) if argv is not None else None)
    notebook = args.notebook
    if notebook is not None and notebook.isdigit():
        notebook = notebook.zfill(2)
    if args.seeds < 1:
        ap.error(str(invalid("--seeds", "a positive integer", args.seeds)))
    fresh: dict[str, Units] = {}
    if not args.from_csv:
        from ..backend import prepare

        prepare()
        sources = sorted({c.source for c in claims.REGISTRY if c.source and (notebook is None or c.notebook == notebook)})
        seeds = list(range(args.first, args.first + args.seeds))
        for key in sources:
            fresh[key] = seed_units(collect(key, seeds, save=args.save))
    t = claims.table(notebook, fresh)
    _print(t)
    return 1 if t["below"].any() else 0


def _main(argv: Sequence[str]) -> int:  # pragma: no cover - used while collecting evidence
    from ..backend import prepare

    key, first, n = argv[0], int(argv[1]), int(argv[2])
    seeds = list(range(first, first + n))[::-1 if argv[3:] == ["--reverse"] else 1]
    prepare()
    path = SOURCES[key].path
    for seed in seeds:
        if path.is_file() and seed in set(read_rows(key)["seed"]):
            continue
        try:  # several workers may share the seeds: each takes a seed once
            os.close(os.open(Path(tempfile.gettempdir()) / f"mmoe_lab_{key}_{seed}.claim", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        collect(key, [seed], save=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    np.seterr(all="ignore")
    sys.exit(_main(sys.argv[1:]))
