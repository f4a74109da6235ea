"""Reading the study's results (:mod:`mmoe_lab.study.run` writes them): tables, curves, gaps.

Every function takes the tidy table of :func:`mmoe_lab.study.store.load_results` (one row per run
and task) or a table derived from it here, and returns a pandas DataFrame (or dict) for the
notebooks' plots and claims (:mod:`mmoe_lab.plots`, :mod:`mmoe_lab.widgets`,
:mod:`mmoe_lab.claims`):

* per run: :func:`run_table` (final loss per model), :func:`run_curves` (loss curves);
* per cell: :func:`ordering_counts` (in how many seeds the paper's ordering holds),
  :func:`mean_curves`, :func:`paper_comparison` (beside the paper's Fig. 4);
* MMoE's lead: :func:`relative_gaps`, :func:`gaps_by_correlation` (per ``p``, with the spread
  of small seed blocks), :func:`seed_set_means` (does a claim hold on other seed sets?).

Nothing here trains or writes; it imports no Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_columns, check_int
from ..paper import ARCHITECTURES

__all__ = [
    "parse_curve",
    "run_table",
    "ordering_counts",
    "run_curves",
    "mean_curves",
    "seed_set_means",
    "paper_comparison",
    "relative_gaps",
    "gaps_by_correlation",
]


def parse_curve(text: str) -> np.ndarray:
    """Inverse of the curve encoding in ``results.csv`` (``"v1;v2;..."`` → float array)."""
    return np.array([float(v) for v in str(text).split(";")])


def run_table(df: pd.DataFrame, metric: str = "final_test_loss") -> pd.DataFrame:
    """One row per run: ``metric`` averaged over tasks, one column per architecture (``arch``).

    Returns:
        DataFrame indexed by (preset, n_train, correlation, seed) with one column per model.
    """
    per_run = df.groupby(["preset", "n_train", "correlation", "seed", "arch"])[metric].mean()
    return per_run.unstack("arch")


def ordering_counts(df: pd.DataFrame, metric: str = "final_test_loss") -> pd.DataFrame:
    """Per (preset, n_train, correlation): mean loss per model and in how many seeds the
    paper's ordering holds (``MMoE < SB``; full ``MMoE < OMoE < SB``), out of ``N`` seeds that
    have all three models. A study of fewer models (e.g. ``--models shared_bottom``) gets the
    means of the models it has, ``N`` = its seeds and no counts (NaN)."""
    wide = run_table(df, metric).reindex(columns=list(ARCHITECTURES))
    complete = wide.notna().all(axis=1)
    wide = wide[complete] if complete.any() else wide
    rows = []
    for key, g in wide.groupby(level=["preset", "n_train", "correlation"]):
        full = g.notna().all(axis=1).all()
        rows.append({
            "preset": key[0], "n_train": key[1], "correlation": key[2], "N": len(g),
            "mmoe": g["mmoe"].mean(), "omoe": g["omoe"].mean(), "shared_bottom": g["shared_bottom"].mean(),
            "MMoE<SB": int((g["mmoe"] < g["shared_bottom"]).sum()) if full else np.nan,
            "full ordering": int(((g["mmoe"] < g["omoe"]) & (g["omoe"] < g["shared_bottom"])).sum()) if full else np.nan,
        })
    return pd.DataFrame(rows)


def mean_curves(df: pd.DataFrame, curve: str = "test_curve") -> pd.DataFrame:
    """Long table of loss curves: one row per (preset, n_train, arch, correlation, step) with the
    mean, 25th and 75th percentile over runs of the task-averaged ``curve`` (:func:`run_curves`)."""
    per_run = run_curves(df, curve)
    stats = per_run.groupby(["preset", "n_train", "arch", "correlation", "step"])["test_loss"].agg(
        mean="mean", q25=lambda v: np.quantile(v, 0.25), q75=lambda v: np.quantile(v, 0.75), runs="size")
    return stats.reset_index()


def run_curves(df: pd.DataFrame, curve: str = "test_curve") -> pd.DataFrame:
    """Long table of every run's loss curve, averaged over tasks.

    Returns:
        one row per (preset, n_train, arch, correlation, seed, step) with ``test_loss`` (the
        task-mean of ``curve`` at that step), the layout of
        ``mmoe_lab.experiments.compare_over_seeds(...)["curves"]``, so
        :func:`mmoe_lab.plots.plot_seed_curves` draws stored and live runs alike.
    """
    keys = ["preset", "n_train", "arch", "correlation", "seed"]
    rows = []
    for key, g in df.groupby(keys, sort=True):
        steps = parse_curve(g["curve_steps"].iloc[0])
        mean = np.mean([parse_curve(c) for c in g[curve]], axis=0)
        rows += [dict(zip(keys, key, strict=True), step=int(s), test_loss=float(v)) for s, v in zip(steps, mean, strict=True)]
    return pd.DataFrame(rows)


def seed_set_means(per_run: pd.DataFrame, size: int) -> pd.DataFrame:
    """Means over disjoint sets of ``size`` consecutive seeds (0..size-1, size..2·size-1, …).

    A claim about a mean over ``size`` seeds is worth asserting only if it holds on other sets
    of seeds too; this gives one row per set to check it on.

    Args:
        per_run: one row per seed (index: the seed), one column per quantity.

    Returns:
        one row per set, indexed by ``"seeds a-b"``, with the column means and ``seeds`` (count).
    """
    size = check_int("size", size)
    sets = per_run.groupby(np.asarray(per_run.index) // size)
    out = sets.mean().assign(seeds=sets.size())
    out.index = [f"seeds {size * k}-{size * k + size - 1}" for k in out.index]
    return out


def paper_comparison(df: pd.DataFrame, preset: str, n_train: str = "10000") -> pd.DataFrame:
    """Our mean and median final test loss per (p, model) beside the paper's Fig. 4 read-off (columns ``p``, ``arch``, ...)."""
    from ..paper import FIG4 as PAPER_FIG4

    wide = run_table(df).xs((preset, n_train), level=["preset", "n_train"])
    rows = []
    for p, g in wide.groupby(level="correlation"):
        for model in ARCHITECTURES:
            if model not in g:
                continue
            rows.append({"p": p, "arch": model, "runs": int(g[model].notna().sum()),
                         "ours mean": g[model].mean(), "ours median": g[model].median(),
                         "paper (Fig. 4)": PAPER_FIG4.get(round(p, 3), {}).get(model, np.nan)})
    return pd.DataFrame(rows)


def relative_gaps(means: Any) -> dict[str, Any]:
    """MMoE's lead from mean losses: ``omoe_gap = (OMoE − MMoE) / OMoE`` (what a gate per task
    buys) and ``sb_gap = (SB − MMoE) / SB`` (what the mixture buys).

    Args:
        means: anything indexed by ``"shared_bottom"``, ``"omoe"``, ``"mmoe"``: a Series of
            means (scalars out) or a DataFrame with those columns (one gap per row).
    """
    return {"omoe_gap": (means["omoe"] - means["mmoe"]) / means["omoe"],
            "sb_gap": (means["shared_bottom"] - means["mmoe"]) / means["shared_bottom"]}


def gaps_by_correlation(per_run: pd.DataFrame, block: int = 8, band: tuple[float, float] = (0.1, 0.9)) -> pd.DataFrame:
    """The two gaps of the paper's Fig. 4 per task cosine ``p``, and how far an 8-seed run strays.

    * OMoE gap: ``(OMoE − MMoE) / OMoE`` on the mean losses: what one gate per task buys;
    * SB gap: ``(SB − MMoE) / SB``: what the mixture buys over one shared layer.

    Both are computed on the means over all seeds at that ``p``, and again on every disjoint
    block of ``block`` consecutive seeds; the ``band`` quantiles of the block values show where
    a live comparison on ``block`` seeds is expected to land.

    Args:
        per_run: one row per run, indexed by ``(correlation, seed)`` (extra index levels are
            dropped when constant), columns ``shared_bottom``, ``omoe``, ``mmoe`` (mean test MSE
            over tasks), as :func:`run_table` gives for one preset and training size.
        block: seeds per block. band: lower and upper quantile of the block values.

    Returns:
        DataFrame indexed by ``correlation``: ``shared_bottom, omoe, mmoe`` (means), ``omoe_gap``,
        ``sb_gap``, ``sb_minus_mmoe`` (absolute), ``omoe_gap_lo/hi``, ``sb_gap_lo/hi`` (band over
        blocks), ``seeds`` and ``blocks``.
    """
    block = check_int("block", block)
    check_columns("per_run", per_run, ARCHITECTURES)
    df = per_run[list(ARCHITECTURES)].dropna()
    extra = [n for n in df.index.names if n not in ("correlation", "seed")]
    if extra:
        df = df.droplevel(extra)

    rows = []
    for p, g in df.groupby(level="correlation"):
        seeds = g.index.get_level_values("seed").to_numpy()
        means = g.mean()
        blocks = g.groupby((seeds - seeds.min()) // block).mean()
        bg = relative_gaps(blocks)
        whole = relative_gaps(means)
        rows.append({"correlation": float(p), **means.to_dict(), "omoe_gap": whole["omoe_gap"],
                     "sb_gap": whole["sb_gap"], "sb_minus_mmoe": means["shared_bottom"] - means["mmoe"],
                     "omoe_gap_lo": bg["omoe_gap"].quantile(band[0]), "omoe_gap_hi": bg["omoe_gap"].quantile(band[1]),
                     "sb_gap_lo": bg["sb_gap"].quantile(band[0]), "sb_gap_hi": bg["sb_gap"].quantile(band[1]),
                     "seeds": len(g), "blocks": len(blocks)})
    return pd.DataFrame(rows).set_index("correlation")

