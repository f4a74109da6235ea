"""Reading the study's results (:mod:`mmoe_lab.study.run` writes them): tables, curves, gaps.

Every function takes the tidy table of :func:`mmoe_lab.study.store.load_results` (one row per run
and task) or a table derived from it here, and returns a pandas DataFrame (or dict) for the
notebooks' plots and claims (:mod:`mmoe_lab.plots`, :mod:`mmoe_lab.widgets`,
:mod:`mmoe_lab.claims`):

* per run: :func:`run_table` (final loss per model), :func:`run_curves` (loss curves);
* per cell: :func:`ordering_counts` (in how many seeds the paper's ordering holds),
  :func:`mean_curves`, :func:`paper_comparison` (beside the paper's Fig. 4);
* MMoE's lead: :func:`relative_gaps`, :func:`gaps_by_correlation` (per ``p``, with the spread
  of small seed blocks), :func:`paired_across_p` (the same seeds at every ``p``),
  :func:`seed_set_means` (does a claim hold on other seed sets?).

Nothing here trains or writes; it imports no Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_columns, check_int, invalid
from ..io import wrap_text
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
    "paired_across_p",
    "normalised_losses",
    "relative_rise",
    "paper_fig4_summary",
    "stored_runs_at",
    "stored_means_at",
    "live_gap_points",
    "describe_gap_draw",
    "agreement_sentences",
    "worse_than_p1_sentence",
    "spread_sentences",
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


def paired_across_p(per_run: pd.DataFrame) -> pd.DataFrame:
    """The runs of the seeds that have every architecture at every ``p`` of ``per_run``.

    A study that grows in rounds of seeds can hold more seeds at one ``p`` than at another.
    Curves over ``p`` (normalised to ``p = 1``, or gaps) then mix seed sets; keeping only the
    seeds stored everywhere makes every point compare the same seeds.

    Args:
        per_run: one row per run, indexed by ``(correlation, seed)`` (extra index levels are
            kept), columns ``shared_bottom``, ``omoe``, ``mmoe``, as :func:`run_table` gives for
            one preset and training size.

    Returns:
        the rows of ``per_run`` whose seed has all three losses at every ``correlation``.
    """
    check_columns("per_run", per_run, ARCHITECTURES)
    complete = per_run.dropna(subset=list(ARCHITECTURES))
    levels = complete.index.to_frame(index=False)
    n_p = levels["correlation"].nunique()
    seeds_everywhere = levels.groupby("seed")["correlation"].nunique().loc[lambda n: n == n_p].index
    return complete[complete.index.get_level_values("seed").isin(seeds_everywhere)]



# ---- shapes, not heights: the kit's curves beside the paper's (notebooks 04, 05) ----------------


def _archs(summary: pd.DataFrame) -> list[str]:
    archs = [a for a in ARCHITECTURES if a in summary.columns]
    if not archs:
        raise invalid("summary", f"a table with architecture columns among {list(ARCHITECTURES)}", summary,
                      received=f"columns {list(summary.columns)}")
    return archs


def normalised_losses(summary: pd.DataFrame, ref: float = 1.0) -> pd.DataFrame:
    """Each architecture's mean loss divided by its own loss at ``p = ref`` (1 at ``ref``).

    Losses on different label scales (the kit's standardised labels, the paper's raw ones)
    cannot be compared; their *shapes* against ``p`` can.

    Args:
        summary: indexed by correlation, one column per architecture (means), as
            :func:`gaps_by_correlation` or :func:`paper_fig4_summary` return.
        ref: the correlation to divide by.
    """
    archs = _archs(summary)
    hit = np.isclose(np.asarray(summary.index, dtype=float), ref)
    if not hit.any():
        raise invalid("summary", f"a table with a row at p = {ref:g}", summary,
                      received=f"p = {list(summary.index)}")
    return summary[archs] / summary.loc[hit, archs].iloc[0]


def relative_rise(summary: pd.DataFrame, p: float = 0.5, ref: float = 1.0) -> pd.Series:
    """How much each architecture's mean loss rises from ``p = ref`` to ``p`` (0.24 = +24 %)."""
    norm = normalised_losses(summary, ref)
    hit = np.isclose(np.asarray(norm.index, dtype=float), p)
    if not hit.any():
        raise invalid("summary", f"a table with a row at p = {p:g}", summary, received=f"p = {list(summary.index)}")
    return norm.loc[hit].iloc[0] - 1.0


def paper_fig4_summary() -> pd.DataFrame:
    """The paper's Fig. 4 (:data:`mmoe_lab.paper.FIG4`, read off the plot) in the layout of
    :func:`gaps_by_correlation`: one row per ``p``, the three losses, ``omoe_gap``, ``sb_gap``
    and ``sb_minus_mmoe``."""
    from ..paper import FIG4

    df = pd.DataFrame(FIG4).T.rename_axis("correlation").sort_index()[list(ARCHITECTURES)]
    return df.assign(**relative_gaps(df), sb_minus_mmoe=df["shared_bottom"] - df["mmoe"])


def stored_runs_at(per_run: pd.DataFrame, p: float) -> pd.DataFrame:
    """The stored runs at ``p`` in the long layout of a live comparison: ``seed, arch, test_loss``,
    for the seeds that every architecture has (empty if ``p`` is not stored).

    Args:
        per_run: one row per ``(correlation, seed)``, one column per architecture
            (:func:`run_table` for one preset and training size).
    """
    ps = per_run.index.get_level_values("correlation").to_numpy(dtype=float)
    sel = per_run[np.isclose(ps, p)]
    archs = [a for a in ARCHITECTURES if a in sel.columns]
    wide = sel[archs].dropna()
    wide.index = wide.index.get_level_values("seed")
    return wide.rename_axis("seed").reset_index().melt(id_vars="seed", var_name="arch", value_name="test_loss")


def stored_means_at(per_run: pd.DataFrame, p: float) -> dict[str, float]:
    """Mean final loss per architecture over the stored seeds at ``p`` (``{}`` if not stored)."""
    runs = stored_runs_at(per_run, p)
    return {str(a): float(v) for a, v in runs.groupby("arch")["test_loss"].mean().items()}


def live_gap_points(runs: pd.DataFrame) -> list[dict[str, float]]:
    """One point per ``p`` of a live comparison: the two gaps of its means over seeds.

    Args:
        runs: a live comparison's ``runs`` (:func:`mmoe_lab.experiments.compare_over_seeds`):
            columns ``arch``, ``correlation``, ``seed``, ``test_loss``.

    Returns:
        ``[{"p", "omoe_gap", "sb_gap", "seeds"}, ...]`` in increasing ``p``.
    """
    means = runs.pivot_table(index="correlation", columns="arch", values="test_loss", aggfunc="mean")
    gaps = relative_gaps(means.reindex(columns=list(ARCHITECTURES)))
    seeds = runs.groupby("correlation")["seed"].nunique()
    return [{"p": float(p), "omoe_gap": float(gaps["omoe_gap"][p]), "sb_gap": float(gaps["sb_gap"][p]),
             "seeds": int(seeds[p])} for p in means.index]


_SHORT_NAMES = {"shared_bottom": "SB", "omoe": "one-gate", "mmoe": "MMoE"}
_GAP_NAMES = {"omoe_gap": "one-gate gap", "sb_gap": "shared-bottom gap"}


def _at(summary: pd.DataFrame, column: str, p: float) -> float:
    ps = np.asarray(summary.index, dtype=float)
    return float(np.interp(p, ps, summary[column].to_numpy(dtype=float)))


def describe_gap_draw(summary: pd.DataFrame, point: dict[str, float]) -> str:
    """Where a live 8-seed comparison fell on the stored band, one line per gap.

    E.g. ``"p = 0.5, one-gate gap: yours +0.18, inside the band (+0.05 to +0.45; all 200 seeds:
    +0.26)"``. Between stored values of ``p`` the band and the mean are interpolated.

    Args:
        summary: :func:`gaps_by_correlation` of the stored study.
        point: ``{"p", "omoe_gap", "sb_gap"}`` (:func:`live_gap_points`).
    """
    p = float(point["p"])
    stored = bool(np.isclose(np.asarray(summary.index, dtype=float), p).any())
    seeds = int(summary["seeds"].min())
    lines = []
    for col, name in _GAP_NAMES.items():
        v, lo, hi, mean = (float(point[col]), _at(summary, f"{col}_lo", p), _at(summary, f"{col}_hi", p),
                           _at(summary, col, p))
        where = "inside" if lo <= v <= hi else ("above" if v > hi else "below")
        band = "the band" if stored else "the band (interpolated)"
        lines.append(f"p = {p:g}, {name}: yours {v:+.2f}, {where} {band} ({lo:+.2f} to {hi:+.2f}; "
                     f"all {seeds} seeds: {mean:+.2f})")
    return "\n".join(lines)


def agreement_sentences(summary: pd.DataFrame, paper: pd.DataFrame, ref: float = 1.0) -> list[str]:
    """One sentence per stored ``p`` on how the kit's shapes agree with the paper's.

    Each sentence gives the relative rise of each architecture's loss from ``p = ref`` (ours,
    and the paper's where it has that ``p``) and the one-gate gap with its band, and says
    whether the paper's gap lies inside that band. Lines are wrapped at 100 characters
    (:func:`mmoe_lab.io.wrap_text`).

    Args:
        summary: :func:`gaps_by_correlation` of a stored study. paper: :func:`paper_fig4_summary`.
    """
    names = _SHORT_NAMES
    ours, theirs = normalised_losses(summary, ref), normalised_losses(paper, ref)
    out = []
    for p, row in summary.iterrows():
        p = float(p)
        head = f"p = {p:g} ({int(row['seeds'])} seeds):"
        gap, lo, hi = row["omoe_gap"], row["omoe_gap_lo"], row["omoe_gap_hi"]
        have = np.isclose(np.asarray(paper.index, dtype=float), p)
        if not np.isclose(p, ref):
            rises = ", ".join(f"{names[a]} {ours.loc[p, a] - 1:+.0%}" for a in ours.columns)
            rise_text = f"losses rose from p = {ref:g} by {rises}"
            if have.any():
                prow = theirs.loc[have].iloc[0]
                rise_text += " (paper " + ", ".join(f"{prow[a] - 1:+.0%}" for a in ours.columns) + ")"
            rise_text += "; "
        else:
            rise_text = ""
        text = f"{head} {rise_text}one-gate gap {gap:+.2f} (band {lo:+.2f} to {hi:+.2f})"
        if have.any():
            pg = float(paper.loc[have, "omoe_gap"].iloc[0])
            verdict = "inside our band: agrees" if lo <= pg <= hi else ("above our band: ours is smaller" if pg > hi
                                                                         else "below our band: ours is larger")
            text += f", paper {pg:+.2f}, {verdict}."
        else:
            text += "; the paper has no value at this p."
        out.append(wrap_text(text, indent="    "))
    return out


def worse_than_p1_sentence(summary: pd.DataFrame, ref: float = 1.0, label: str = "") -> str:
    """At how many stored ``p`` each architecture's loss is above its own at ``p = ref``: one sentence.

    "Gets worse as ``p`` falls" read on a study: for each architecture, the count of the other
    stored values of ``p`` where its mean loss is higher than at ``p = ref``, and the range of
    its rise there (loss ÷ loss at ``ref`` − 1). Wrapped at 100 characters.

    Args:
        summary: :func:`gaps_by_correlation` of a stored study (architecture columns, indexed by p).
        label: words put before the sentence (e.g. the study's name).
    """
    ours = normalised_losses(summary, ref)
    others = ours[~np.isclose(np.asarray(ours.index, dtype=float), ref)]
    n = len(others)
    parts = [f"{_SHORT_NAMES[a]} at {int((others[a] > 1).sum())} of {n} "
             f"({others[a].min() - 1:+.0%} to {others[a].max() - 1:+.0%})" for a in others.columns]
    ps = np.asarray(others.index, dtype=float)
    head = f"{label}: " if label else ""
    return wrap_text(f"{head}loss above its own at p = {ref:g}, over p = {ps.min():g} to {ps.max():g}: "
                     + "; ".join(parts) + ".", indent="    ")


def spread_sentences(per_run: pd.DataFrame, preset: str, correlations: Sequence[float],
                     n_train: str = "10000") -> list[str]:
    """One line per ``p`` on Fig. 5's spread: each model's median and 90th percentile.

    Args:
        per_run: :func:`run_table` (index preset, n_train, correlation, seed).
    """
    names = _SHORT_NAMES
    sel = per_run.xs((preset, n_train), level=["preset", "n_train"])
    ps = sel.index.get_level_values("correlation").to_numpy(dtype=float)
    out = []
    for p in correlations:
        g = sel[np.isclose(ps, p)]
        q = {a: (g[a].median(), g[a].quantile(0.9)) for a in ARCHITECTURES if a in g}
        out.append(f"p = {p:g}: 90th percentile " + ", ".join(f"{names[a]} {hi:.2f}" for a, (_, hi) in q.items())
                   + "; median " + ", ".join(f"{lo:.3f}" for lo, _ in q.values()))
    return out
