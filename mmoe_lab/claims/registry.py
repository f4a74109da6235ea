"""Every claim a notebook makes, with the rate at which it held on stored evidence.

The registry (:data:`REGISTRY`) lists each notebook's claims in the shape of
:class:`~mmoe_lab.claims.framework.Claim`; :data:`RATES` states the rate each held at. Notebook
06's claims read one seed's remedy table (rows of :func:`mmoe_lab.collapse.result_row`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .._validate import check_columns, invalid
from ..io import data_dir
from .framework import Claim, Units, lesson_wide, read_rows, seed_units

__all__ = ["RATES", "REGISTRY", "LESSON_CHECK", "LESSON_CONFIG"]

# The stated rates: (held, units, seeds) on the stored evidence. Per-seed claims (01, 03, 06-10)
# were checked on seeds 1-20 (06: 5-24), never the notebook's own; the lesson claims and the
# stored-study claims on their blocks or sets of seeds (see each claim's evidence).
# `python -m mmoe_lab claims --from-csv` and tests/test_claims.py check that the stored evidence
# still gives them.
RATES: dict[str, tuple[int, int, int]] = {
    "01/paper_preset_matches_fig2": (19, 20, 20),
    "01/teaching_preset_above_fig2": (20, 20, 20),
    "02/sb_rises": (23, 29, 232),
    "02/fig3_stored": (5, 5, 1000),
    "03/omoe_beats_sb": (15, 20, 20),
    "04/omoe_gap_grows": (27, 29, 232),
    "04/sb_rises": (23, 29, 232),
    "04/gates_diverge": (5, 5, 40),
    "04/sb_gap_grows": (20, 29, 232),
    "04/paper_regime_mmoe_best": (3, 3, 60),
    "05/sb_ahead_at_10k": (39, 39, 195),
    "06/healthy_gates_mix": (20, 20, 20),
    "06/gate_init_polarised": (20, 20, 20),
    "06/gate_init_costs_loss": (20, 20, 20),
    "06/heavy_tail_gate_sharper": (18, 20, 20),
    "06/heavy_tail_gate_polarises": (20, 20, 20),
    "06/high_lr_polarised": (20, 20, 20),
    "06/temperature_unpolarises": (20, 20, 20),
    "06/temperature_lowers_loss": (20, 20, 20),
    "06/log_transform_unpolarises": (18, 20, 20),
    "06/log_transform_lowers_loss": (20, 20, 20),
    "06/dropout_balance_stay_polarised": (20, 20, 20),
    "07/raw_watch_time_gradient_dominates": (19, 20, 20),
    "07/log_gradients_same_order": (17, 20, 20),
    "07/log_watched_gradient_smallest": (20, 20, 20),
    "07/log_beats_raw_watched_auc": (19, 20, 20),
    "07/log_beats_raw_spearman": (7, 20, 20),
    "07/log_beats_raw_watch_time_rmse": (19, 20, 20),
    "07/log_beats_raw_rating_rmse": (20, 20, 20),
    "07/hand_weights_help_rating": (20, 20, 20),
    "07/hand_weights_spearman_below_log": (17, 20, 20),
    "07/log_hand_close_to_equal": (15, 20, 20),
    "07/log_uncertainty_close_to_equal": (12, 20, 20),
    "07/uncertainty_weights_ordered": (17, 20, 20),
    "08/mmoe_both_tasks_gain": (1, 20, 20),
    "08/cgc_both_tasks_gain": (0, 20, 20),
    "08/ple_both_tasks_gain": (13, 20, 20),
    "08/stacked_mmoe_both_tasks_gain": (11, 20, 20),
    "08/mmoe_no_seesaw": (17, 20, 20),
    "08/cgc_no_seesaw": (13, 20, 20),
    "08/ple_no_seesaw": (13, 20, 20),
    "08/stacked_mmoe_no_seesaw": (11, 20, 20),
    "08/ple_below_mmoe": (18, 20, 20),
    "08/ple_below_cgc": (17, 20, 20),
    "08/cgc_below_mmoe": (9, 20, 20),
    "08/stacked_mmoe_below_mmoe": (16, 20, 20),
    "09/clicked_rows_have_higher_pcvr": (20, 20, 20),
    "09/bent_esmm_mean_below_half": (20, 20, 20),
    "09/bent_esmm_worst_mae": (20, 20, 20),
    "09/esmm_beats_naive_mae": (19, 20, 20),
    "09/esmm_beats_naive_auc": (18, 20, 20),
    "09/esmm_beats_mmoe_mae": (15, 20, 20),
    "09/esmm_beats_mmoe_auc": (14, 20, 20),
    "09/mmoe_beats_naive_mae": (18, 20, 20),
    "09/mmoe_beats_naive_auc": (15, 20, 20),
    "09/naive_mean_further_than_esmm": (13, 20, 20),
    "10/income_auc_near_paper": (20, 20, 20),
    "10/marital_auc_high": (20, 20, 20),
    "10/income_auc_close": (20, 20, 20),
    "10/mmoe_ge_shared_bottom": (6, 20, 20),
    "10/mmoe_ge_omoe": (14, 20, 20),
    "10/paper_ordering": (1, 20, 20),
}


def _seed_units(key: str) -> Callable[[], Units]:
    """Evidence reader for a per-seed source: one unit per seed of ``data/claims/<key>.csv``."""

    def units() -> Units:
        return seed_units(read_rows(key))

    return units


def _claim(notebook: str, name: str, statement: str, holds: Callable[[pd.DataFrame], bool],
           evidence: Callable[[], Units] | None = None, source: str | None = None) -> Claim:
    key = f"{notebook}/{name}"
    if key not in RATES:
        raise invalid("RATES", "a table stating the rate of every claim", key, received=f"no rate for `{key}`")
    if evidence is None:
        if source is None:
            raise invalid("source", f"a source key when claim {key} has no `evidence`", source)
        evidence = _seed_units(source)
    return Claim(notebook, name, statement, lambda unit: bool(holds(unit)), evidence, RATES[key], source)


def _by(unit: pd.DataFrame, column: str) -> pd.DataFrame:
    """``unit`` indexed by ``column`` (also when the notebook already set it as the index)."""
    if column not in unit.columns and unit.index.name == column:
        unit = unit.reset_index()
    check_columns("unit", unit, (column,))
    return unit.set_index(column)


# ---- 01: the generator against the paper's Fig. 2 (no training) -------------------------------


def _fig2_wide(unit: pd.DataFrame) -> pd.DataFrame:
    """Index p; columns ``paper``, ``teaching`` (median label r) and ``fig2``.

    Accepts the evidence rows (``preset, p, fig2, median``) or notebook 01's ``at_paper``.
    """
    if "preset" in unit.columns:
        w = unit.pivot_table(index="p", columns="preset", values="median")
        w["fig2"] = unit.groupby("p")["fig2"].first()
        return w
    return unit.rename(columns={"paper Fig. 2": "fig2"})


def _fig2_close(u: pd.DataFrame) -> bool:
    w = _fig2_wide(u)
    return bool(((w["paper"] - w["fig2"]).abs() <= 0.05).all())


def _fig2_above(u: pd.DataFrame) -> bool:
    w = _fig2_wide(u)
    below1 = w[w.index < 1]
    return bool((below1["teaching"] > below1["fig2"]).all())


NB01 = [
    _claim("01", "paper_preset_matches_fig2", "the \"paper\" preset's median label r (100 draws of the constants) "
           "is within 0.05 of every point read off Fig. 2", _fig2_close, source="01_fig2"),
    _claim("01", "teaching_preset_above_fig2", "the \"teaching\" preset's median label r lies above Fig. 2 at "
           "every p < 1", _fig2_above, source="01_fig2"),
]


# ---- 02, 04: the correlation lesson: live comparisons, p = 0.5 against p = 1 -------------------

LESSON_CHECK = "calibration/correlation_lesson_check.csv"
LESSON_CONFIG = "S15A2-u8-b128-s6000"  # the lesson setup's tag in the search


def _means(unit: pd.DataFrame) -> pd.Series:
    return lesson_wide(unit).mean()


def _omoe_gap(m: pd.Series, p: str) -> float:
    return float((m[f"omoe_{p}"] - m[f"mmoe_{p}"]) / m[f"omoe_{p}"])


def _lesson_blocks() -> Units:
    path = data_dir() / LESSON_CHECK
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m mmoe_lab lesson check --first 240`")
    runs = pd.read_csv(path)
    runs = runs[runs["config"] == LESSON_CONFIG]
    return [(f"seeds {g['seed'].min()}-{g['seed'].max()}", g) for _, g in runs.groupby("block")]


def _lesson_stored_blocks() -> Units:
    """Blocks of 8 seeds of the stored lesson study (``data/study/lesson``: the same setup, at
    p = 0.5 and 1), seeds 8-199: seeds 0-7 are the block the notebooks train live."""
    from ..study import load_results, run_table

    wide = run_table(load_results(data_dir() / "study" / "lesson")).xs(
        ("teaching", "fresh"), level=["preset", "n_train"])
    wide = wide[wide.index.get_level_values("correlation").isin([0.5, 1.0])]
    runs = wide.stack().rename("test_loss").reset_index()
    runs = runs[runs["seed"] >= 8]
    return [(f"seeds {g['seed'].min()}-{g['seed'].max()}", g) for _, g in runs.groupby(runs["seed"] // 8)]


def _lesson_loss_blocks() -> Units:
    """The live check's blocks and the stored study's blocks: every 8-seed block with losses."""
    return [*_lesson_blocks(), *_lesson_stored_blocks()]


def _lesson_claim(notebook: str, name: str, statement: str, holds: Callable[[pd.Series], bool],
                  evidence: Callable[[], Units] = _lesson_loss_blocks) -> Claim:
    return _claim(notebook, name, statement, lambda unit: bool(holds(_means(unit))), evidence)


_SB_RISES = "on 8-seed means, shared-bottom's test MSE is higher at p = 0.5 than at p = 1"
LESSON_CLAIMS = [
    _lesson_claim("04", "omoe_gap_grows", "on 8-seed means, (OMoE − MMoE)/OMoE is positive at p = 0.5 and larger "
                  "than at p = 1", lambda m: _omoe_gap(m, "0.5") > 0 and _omoe_gap(m, "0.5") > _omoe_gap(m, "1")),
    _lesson_claim("04", "sb_rises", _SB_RISES, lambda m: m["shared_bottom_0.5"] > m["shared_bottom_1"]),
    _lesson_claim("04", "gates_diverge", "on 8-seed means, MMoE's gate JSD between the tasks is larger at p = 0.5 "
                  "than at p = 1", lambda m: m["jsd_0.5"] > m["jsd_1"], _lesson_blocks),  # JSD: live check only
    _lesson_claim("04", "sb_gap_grows", "on 8-seed means, SB − MMoE is larger at p = 0.5 than at p = 1",
                  lambda m: m["shared_bottom_0.5"] - m["mmoe_0.5"] > m["shared_bottom_1"] - m["mmoe_1"]),
    # notebook 02 makes the shared-bottom claim on its own Fig. 3 cell as well
    _lesson_claim("02", "sb_rises", _SB_RISES, lambda m: m["shared_bottom_0.5"] > m["shared_bottom_1"]),
]


# ---- 02, 04, 05: stored studies (sets and blocks of seeds) -------------------------------------


def _fig3_sets() -> Units:
    from ..study import load_results, run_table

    wide = (run_table(load_results(data_dir() / "study" / "fig3_seed_sets"))["shared_bottom"]
            .xs(("teaching", "10000"), level=["preset", "n_train"]).unstack("correlation"))
    return [(f"seeds {k * 200}-{k * 200 + 199}", g) for k, g in wide.groupby(np.asarray(wide.index) // 200)]


def _paper_regime_sets() -> Units:
    from ..study import load_results, run_table

    runs = run_table(load_results(data_dir() / "study" / "paper_regime")).xs(
        ("paper", "fresh", 0.5), level=["preset", "n_train", "correlation"])
    return [(f"seeds {k * 20}-{k * 20 + 19}", g) for k, g in runs.groupby(np.asarray(runs.index) // 20)]


def _nb05_blocks() -> Units:
    """Blocks of 5 seeds of the stored 200-run study (paper preset, p = 0.5, 10k samples), except
    seeds 0-4, which notebook 05 retrains live."""
    from ..study import load_results, run_table

    g = run_table(load_results(data_dir() / "study" / "budget")).xs(
        ("paper", "10000", 0.5), level=["preset", "n_train", "correlation"]).sort_index()
    seeds = g.index.to_numpy()
    return [(f"seeds {seeds[i]}-{seeds[i + 4]}", g.loc[seeds[i:i + 5]]) for i in range(5, len(seeds) - 4, 5)]


STORED_CLAIMS = [
    _claim("02", "fig3_stored", "on 200 seeds of the gentle preset (400 steps), the mean loss at p = 0.5 is above "
           "both p = 0.9 and p = 1", lambda w: w[0.5].mean() > w[0.9].mean() and w[0.5].mean() > w[1.0].mean(),
           _fig3_sets),
    _claim("04", "paper_regime_mmoe_best", "in the paper's regime at p = 0.5, MMoE has the lowest mean loss of the "
           "three on a set of 20 seeds", lambda r: r[["mmoe", "omoe", "shared_bottom"]].mean().idxmin() == "mmoe",
           _paper_regime_sets),
    _claim("05", "sb_ahead_at_10k", "on the \"paper\" preset at p = 0.5 with 10k samples (the study's 400 steps), "
           "shared-bottom's 5-seed mean final test MSE is below MMoE's",
           lambda b: b["shared_bottom"].mean() < b["mmoe"].mean(), _nb05_blocks),
]


# ---- 03: shared-bottom against the one-gate MoE (live budget) ----------------------------------


def _loss(unit: pd.DataFrame) -> pd.Series:
    return _by(unit, "arch")["test_loss"]


NB03 = [
    _claim("03", "omoe_beats_sb", "at p = 0.5 (live budget) the one-gate MoE's test MSE is below shared-bottom's",
           lambda u: _loss(u)["omoe"] < _loss(u)["shared_bottom"], source="03_guided"),
]


# ---- 06: gate collapse: causes and remedies (one seed's remedy table) --------------------------

def _row(table: pd.DataFrame, cause: str, remedy: str = "none") -> pd.Series:
    """The one row of ``(cause, remedy)`` in one seed's remedy table."""
    rows = table[(table["cause"] == cause) & (table["remedy"] == remedy)]
    if len(rows) != 1:
        raise invalid("table", f"a remedy table with one row for cause={cause!r}, remedy={remedy!r}", table,
                      received=f"{len(rows)} such rows")
    return rows.iloc[0]


def _collapse(name: str, statement: str, holds: Callable[[pd.DataFrame], bool]) -> Claim:
    return _claim("06", name, statement, holds, source="06_remedy_table")


NB06 = [
    _collapse("healthy_gates_mix", "healthy: no polarisation (<= 0.01), entropy >= 0.6",
              lambda t: _row(t, "healthy").max_polarization <= 0.01 and _row(t, "healthy").entropy >= 0.6),
    _collapse("gate_init_polarised", "gate_init: polarised before and after training (>= 0.25)",
              lambda t: _row(t, "gate_init").initial_polarization >= 0.25 and _row(t, "gate_init").polarization >= 0.25),
    _collapse("gate_init_costs_loss", "gate_init: test loss above healthy",
              lambda t: _row(t, "gate_init").mean_test_loss > _row(t, "healthy").mean_test_loss),
    _collapse("heavy_tail_gate_sharper", "heavy_tail: watch-time gate entropy >= 0.1 below watched gate",
              lambda t: _row(t, "heavy_tail").entropy_0 - _row(t, "heavy_tail").entropy_1 >= 0.1),
    _collapse("heavy_tail_gate_polarises", "heavy_tail: watch-time polarisation > healthy",
              lambda t: _row(t, "heavy_tail").polarization_1 > _row(t, "healthy").max_polarization),
    _collapse("high_lr_polarised", "high_lr: polarised after training (mean >= 0.2)",
              lambda t: _row(t, "high_lr").polarization >= 0.2),
    _collapse("temperature_unpolarises", "temperature: polarisation <= 0.01 under gate_init and high_lr",
              lambda t: max(_row(t, "gate_init", "temperature").max_polarization,
                            _row(t, "high_lr", "temperature").max_polarization) <= 0.01),
    _collapse("temperature_lowers_loss", "temperature: lowers test loss under gate_init",
              lambda t: _row(t, "gate_init", "temperature").mean_test_loss < _row(t, "gate_init").mean_test_loss),
    _collapse("log_transform_unpolarises", "log_transform: watch-time polarisation <= 0.01, entropy up >= 0.1",
              lambda t: _row(t, "heavy_tail", "log_transform").polarization_1 <= 0.01
              and _row(t, "heavy_tail", "log_transform").entropy_1 - _row(t, "heavy_tail").entropy_1 >= 0.1),
    _collapse("log_transform_lowers_loss", "log_transform: lowers watch-time loss (log scale)",
              lambda t: _row(t, "heavy_tail", "log_transform").loss_1 < _row(t, "heavy_tail").loss_1),
    _collapse("dropout_balance_stay_polarised", "gate_dropout, balance_loss: gate_init stays polarised (>= 0.25)",
              lambda t: min(_row(t, "gate_init", "gate_dropout").polarization,
                            _row(t, "gate_init", "balance_loss").polarization) >= 0.25),
]


# ---- 07: mixed task types (one seed's five variants) -------------------------------------------


def _variants(unit: pd.DataFrame) -> dict[str, pd.Series]:
    rows = {f"{t}_{w}": r for (t, w), r in unit.set_index(["target", "weighting"]).iterrows()}
    need = {"raw_equal", "raw_hand", "log_equal", "log_hand", "log_uncertainty"}
    if not need <= set(rows):
        raise invalid("unit", f"a table of the variants {sorted(need)}", sorted(rows), received=f"variants {sorted(rows)}")
    return rows


_METRICS = ("watched_auc", "watch_time_spearman", "watch_time_rmse_log", "rating_rmse")


def _close(a: pd.Series, b: pd.Series, tol: float = 0.02) -> bool:
    return all(abs(a[m] - b[m]) <= tol for m in _METRICS)


def _video(name: str, statement: str, test: Callable[[dict[str, pd.Series]], bool]) -> Claim:
    return _claim("07", name, statement, lambda u: test(_variants(u)), source="07_video")


NB07 = [
    _video("raw_watch_time_gradient_dominates", "in seconds, the watch-time gradient on the shared weights is "
           ">= 10x the rating's and >= 100x the watched task's",
           lambda v: v["raw_equal"].grad_watch_time >= 10 * v["raw_equal"].grad_rating
           and v["raw_equal"].grad_watch_time >= 100 * v["raw_equal"].grad_watched),
    _video("log_gradients_same_order", "in log seconds, the watch-time gradient is within 2.5x of the rating's",
           lambda v: v["log_equal"].grad_watch_time <= 2.5 * v["log_equal"].grad_rating
           and v["log_equal"].grad_rating <= 2.5 * v["log_equal"].grad_watch_time),
    _video("log_watched_gradient_smallest", "in log seconds, the watched task's gradient is the smallest",
           lambda v: v["log_equal"].grad_watched < min(v["log_equal"].grad_watch_time, v["log_equal"].grad_rating)),
    _video("log_beats_raw_watched_auc", "the log target beats seconds on watched AUC",
           lambda v: v["log_equal"].watched_auc > v["raw_equal"].watched_auc),
    _video("log_beats_raw_spearman", "the log target beats seconds on watch-time Spearman",
           lambda v: v["log_equal"].watch_time_spearman > v["raw_equal"].watch_time_spearman),
    _video("log_beats_raw_watch_time_rmse", "the log target beats seconds on watch-time RMSE (log s)",
           lambda v: v["log_equal"].watch_time_rmse_log < v["raw_equal"].watch_time_rmse_log),
    _video("log_beats_raw_rating_rmse", "the log target beats seconds on rating RMSE",
           lambda v: v["log_equal"].rating_rmse < v["raw_equal"].rating_rmse),
    _video("hand_weights_help_rating", "in seconds, hand-set weights give a better rating RMSE than equal weights",
           lambda v: v["raw_hand"].rating_rmse < v["raw_equal"].rating_rmse),
    _video("hand_weights_spearman_below_log", "in seconds with hand-set weights, watch-time Spearman stays below "
           "the log target's", lambda v: v["raw_hand"].watch_time_spearman < v["log_equal"].watch_time_spearman),
    _video("log_hand_close_to_equal", "in log seconds, hand-set weights are within 0.02 of equal weights on all "
           "four metrics", lambda v: _close(v["log_hand"], v["log_equal"])),
    _video("log_uncertainty_close_to_equal", "in log seconds, uncertainty weights are within 0.02 of equal weights "
           "on all four metrics", lambda v: _close(v["log_uncertainty"], v["log_equal"])),
    _video("uncertainty_weights_ordered", "the learned uncertainty weights are ordered watched > rating > "
           "watch time", lambda v: v["log_uncertainty"].w_watched > v["log_uncertainty"].w_rating
           > v["log_uncertainty"].w_watch_time),
]


# ---- 08: beyond MMoE: gains over single-task baselines (one seed) ------------------------------

_ARCH_NAMES = {"mmoe": "MMoE", "cgc": "CGC", "ple": "PLE", "stacked_mmoe": "stacked MMoE"}


def _positive_gains(unit: pd.DataFrame, arch: str) -> int:
    from ..training import mtl_gain

    unit = unit if "seed" in unit.columns else unit.assign(seed=0)
    g = mtl_gain(unit)
    return int((g.loc[g["arch"] == arch, "gain"] > 0).sum())


def _mse_below(unit: pd.DataFrame, a: str, b: str) -> bool:
    mse = unit.pivot_table(index="task", columns="arch", values="mse")
    return bool((mse[a] < mse[b]).all())


def _both_gain(arch: str) -> Callable[[pd.DataFrame], bool]:
    return lambda u: _positive_gains(u, arch) == 2


def _no_seesaw(arch: str) -> Callable[[pd.DataFrame], bool]:
    return lambda u: _positive_gains(u, arch) != 1


def _below(a: str, b: str) -> Callable[[pd.DataFrame], bool]:
    return lambda u: _mse_below(u, a, b)


NB08 = [
    *[_claim("08", f"{arch}_both_tasks_gain", f"{label} beats its single-task baselines on both tasks",
             _both_gain(arch), source="08_extraction") for arch, label in _ARCH_NAMES.items()],
    *[_claim("08", f"{arch}_no_seesaw", f"{label} shows no seesaw (not one task gaining while the other loses)",
             _no_seesaw(arch), source="08_extraction") for arch, label in _ARCH_NAMES.items()],
    *[_claim("08", f"{a}_below_{b}", f"{_ARCH_NAMES[a]}'s test MSE is below {_ARCH_NAMES[b]}'s on both tasks",
             _below(a, b), source="08_extraction")
      for a, b in (("ple", "mmoe"), ("ple", "cgc"), ("cgc", "mmoe"), ("stacked_mmoe", "mmoe"))],
]


# ---- 09: ESMM against MMoE on a funnel (one seed) ----------------------------------------------


def _funnel(name: str, statement: str, test: Callable[[pd.DataFrame], bool]) -> Claim:
    return _claim("09", name, statement, lambda u: test(_by(u, "arch")), source="09_funnel")


def _mean_error(r: pd.DataFrame, model: str) -> float:
    return float(abs(r.loc[model, "cvr_mean_pred"] - r.loc[model, "cvr_mean_true"]))


NB09 = [
    _claim("09", "clicked_rows_have_higher_pcvr", "clicked impressions have a higher mean true pCVR than all "
           "impressions (selection bias; numpy only)", lambda u: (u["p_cvr_clicked"] > u["p_cvr_all"]).all(),
           source="09_selection"),
    _funnel("bent_esmm_mean_below_half", "bent ESMM's mean pCVR is below half the true mean CVR",
            lambda r: r.loc["esmm_bent", "cvr_mean_pred"] < 0.5 * r.loc["esmm_bent", "cvr_mean_true"]),
    _funnel("bent_esmm_worst_mae", "bent ESMM has the largest pCVR MAE of the four",
            lambda r: r.loc["esmm_bent", "cvr_mae"] > r["cvr_mae"].drop("esmm_bent").max()),
    _funnel("esmm_beats_naive_mae", "ESMM beats the clicked-only model on pCVR MAE over all impressions",
            lambda r: r.loc["esmm", "cvr_mae"] < r.loc["naive_cvr", "cvr_mae"]),
    _funnel("esmm_beats_naive_auc", "ESMM beats the clicked-only model on pCVR AUC over all impressions",
            lambda r: r.loc["esmm", "cvr_auc_all"] > r.loc["naive_cvr", "cvr_auc_all"]),
    _funnel("esmm_beats_mmoe_mae", "ESMM beats MMoE on pCVR MAE",
            lambda r: r.loc["esmm", "cvr_mae"] < r.loc["mmoe", "cvr_mae"]),
    _funnel("esmm_beats_mmoe_auc", "ESMM beats MMoE on pCVR AUC over all impressions",
            lambda r: r.loc["esmm", "cvr_auc_all"] > r.loc["mmoe", "cvr_auc_all"]),
    _funnel("mmoe_beats_naive_mae", "MMoE beats the clicked-only model on pCVR MAE",
            lambda r: r.loc["mmoe", "cvr_mae"] < r.loc["naive_cvr", "cvr_mae"]),
    _funnel("mmoe_beats_naive_auc", "MMoE beats the clicked-only model on pCVR AUC over all impressions",
            lambda r: r.loc["mmoe", "cvr_auc_all"] > r.loc["naive_cvr", "cvr_auc_all"]),
    _funnel("naive_mean_further_than_esmm", "the clicked-only model's mean pCVR is further from the true mean "
            "than ESMM's", lambda r: _mean_error(r, "naive_cvr") > _mean_error(r, "esmm")),
]


# ---- 10: census-income (one seed: 20,000 rows, 4 epochs) ---------------------------------------


def _census(name: str, statement: str, test: Callable[[pd.DataFrame], bool]) -> Claim:
    return _claim("10", name, statement, lambda u: test(_by(u, "arch")), source="10_census")


NB10 = [
    _census("income_auc_near_paper", "every model's income AUC is between 0.92 and 0.95 (the paper: 0.93-0.94)",
            lambda t: t["income AUC"].between(0.92, 0.95).all()),
    _census("marital_auc_high", "every model's marital-status AUC is above 0.98",
            lambda t: (t["marital AUC"] > 0.98).all()),
    _census("income_auc_close", "the three income AUCs are within 0.015 of each other",
            lambda t: t["income AUC"].max() - t["income AUC"].min() < 0.015),
    _census("mmoe_ge_shared_bottom", "MMoE's income AUC is at least shared-bottom's",
            lambda t: t.loc["mmoe", "income AUC"] >= t.loc["shared_bottom", "income AUC"]),
    _census("mmoe_ge_omoe", "MMoE's income AUC is at least OMoE's",
            lambda t: t.loc["mmoe", "income AUC"] >= t.loc["omoe", "income AUC"]),
    _census("paper_ordering", "the paper's ordering on income AUC: MMoE >= OMoE >= shared-bottom",
            lambda t: t.loc["mmoe", "income AUC"] >= t.loc["omoe", "income AUC"] >= t.loc["shared_bottom", "income AUC"]),
]

REGISTRY: list[Claim] = [*NB01, *LESSON_CLAIMS, *STORED_CLAIMS, *NB03, *NB06, *NB07, *NB08, *NB09, *NB10]


