"""Check every claim notebooks 07-09 assert, over several seeds, and print the counts.

Usage (from the repo root; several minutes on 2 CPU cores):

    .venv/bin/python scripts/check_advanced_claims.py 07 --seeds 0 1 2 3 4
    .venv/bin/python scripts/check_advanced_claims.py 08 --seeds 0 1 2 3 4
    .venv/bin/python scripts/check_advanced_claims.py 09 --seeds 0 1 2 3 4

Each notebook runs seed 0 live with the same settings (imported from here, so the notebook and
the check cannot drift apart); this script reruns those settings on every seed and prints, per
claim, on how many seeds it holds.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd


def video_claims(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Claim name → boolean per seed."""
    from mmoe_lab.models import VIDEO_VARIANTS

    v = {(t, w): g.set_index("seed").sort_index() for (t, w), g in df.groupby(["target", "weighting"])}
    assert set(v) == set(VIDEO_VARIANTS), sorted(v)
    raw, rawh, log, logh, logu = (v[k] for k in
                                  (("raw", "equal"), ("raw", "hand"), ("log", "equal"), ("log", "hand"), ("log", "uncertainty")))
    near = lambda a, b, tol: (a - b).abs() <= tol  # noqa: E731
    return {
        "raw: watch-time gradient >= 10x rating's and >= 100x watched's": (
            (raw.grad_watch_time >= 10 * raw.grad_rating) & (raw.grad_watch_time >= 100 * raw.grad_watched)).values,
        "log: watch-time gradient within 2.5x of rating's": (
            (log.grad_watch_time <= 2.5 * log.grad_rating) & (log.grad_rating <= 2.5 * log.grad_watch_time)).values,
        "log: watched gradient the smallest": (
            (log.grad_watched < log.grad_watch_time) & (log.grad_watched < log.grad_rating)).values,
        "log beats raw: watched AUC": (log.watched_auc > raw.watched_auc).values,
        "log beats raw: watch-time Spearman": (log.watch_time_spearman > raw.watch_time_spearman).values,
        "log beats raw: watch-time RMSE (log s)": (log.watch_time_rmse_log < raw.watch_time_rmse_log).values,
        "log beats raw: rating RMSE": (log.rating_rmse < raw.rating_rmse).values,
        "raw+hand weights: rating RMSE better than raw equal": (rawh.rating_rmse < raw.rating_rmse).values,
        "raw+hand weights: watch-time Spearman below log equal": (
            rawh.watch_time_spearman < log.watch_time_spearman).values,
        "log+hand within 0.02 of log equal on all 4 metrics": np.all([
            near(logh[m], log[m], 0.02).values for m in
            ("watched_auc", "watch_time_spearman", "watch_time_rmse_log", "rating_rmse")], axis=0),
        "log+uncertainty within 0.02 of log equal on all 4 metrics": np.all([
            near(logu[m], log[m], 0.02).values for m in
            ("watched_auc", "watch_time_spearman", "watch_time_rmse_log", "rating_rmse")], axis=0),
        "uncertainty: learned weights ordered watched > rating > watch_time": (
            (logu.w_watched > logu.w_rating) & (logu.w_rating > logu.w_watch_time)).values,
    }


def extraction_table(seed: int):
    from mmoe_lab.models import compare_with_single_task

    return compare_with_single_task(seed)


def extraction_outcomes(results: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, arch): both tasks gain, seesaw (one gains, one loses), or both lose."""
    from mmoe_lab.models import mtl_gain

    g = mtl_gain(results).pivot_table(index=["seed", "arch"], columns="task", values="gain")
    pos = (g > 0).sum(axis=1)
    out = pd.Series(np.select([pos == 2, pos == 1], ["both gain", "seesaw"], "both lose"), index=g.index)
    return out.rename("outcome").reset_index()


def extraction_claims(results: pd.DataFrame) -> dict[str, np.ndarray]:
    from mmoe_lab.models import mtl_gain

    oc = extraction_outcomes(results)
    print(pd.crosstab(oc["arch"], oc["outcome"]).to_string())
    gains = mtl_gain(results)
    print(gains.groupby(["arch", "task"])["gain"].agg(["mean", "min", "max"]).round(1).to_string())
    claims = {}
    for arch, sub in oc.groupby("arch"):
        claims[f"{arch}: both tasks gain over single-task"] = (sub["outcome"] == "both gain").values
        claims[f"{arch}: no seesaw"] = (sub["outcome"] != "seesaw").values
    mse = results.pivot_table(index="seed", columns=["arch", "task"], values="mse")
    for a, b in (("ple", "mmoe"), ("ple", "cgc"), ("cgc", "mmoe"), ("stacked_mmoe", "mmoe")):
        claims[f"{a} below {b} on both tasks"] = ((mse[a] < mse[b]).all(axis=1)).values
    return claims


def funnel_table(seed: int) -> pd.DataFrame:
    from mmoe_lab.models import compare_funnel_models

    return compare_funnel_models(seed)


def funnel_selection(seeds) -> dict[str, np.ndarray]:
    """Numpy only: clicked impressions have a higher true pCVR than all impressions."""
    from mmoe_lab.models import FUNNEL_BUDGET
    from mmoe_lab.scenarios import make_funnel_splits

    b = FUNNEL_BUDGET
    ok = []
    for seed in seeds:
        y = make_funnel_splits(b["n_train"], b["n_test"], b["n_features"], b["correlation"], ctr=b["ctr"],
                               cvr=b["cvr"], random_state=seed)["y_train"]
        clicked = y["click"] == 1
        ok.append(y["p_cvr"][clicked].mean() > y["p_cvr"].mean())
    return {"clicked impressions: higher mean true pCVR than all impressions": np.array(ok)}


def funnel_claims(df: pd.DataFrame) -> dict[str, np.ndarray]:
    v = {m: g.set_index("seed").sort_index() for m, g in df.groupby("model")}
    naive, esmm, mmoe, bent = v["naive_cvr"], v["esmm"], v["mmoe"], v["esmm_bent"]
    others = pd.concat([naive.cvr_mae, esmm.cvr_mae, mmoe.cvr_mae], axis=1).max(axis=1)
    return {
        "bent ESMM: mean pCVR < half the true mean": (bent.cvr_mean_pred < 0.5 * bent.cvr_mean_true).values,
        "bent ESMM: largest pCVR MAE": (bent.cvr_mae > others).values,
        "ESMM beats naive: AUC over all impressions": (esmm.cvr_auc_all > naive.cvr_auc_all).values,
        "ESMM beats naive: pCVR MAE": (esmm.cvr_mae < naive.cvr_mae).values,
        "ESMM beats MMoE: AUC over all impressions": (esmm.cvr_auc_all > mmoe.cvr_auc_all).values,
        "ESMM beats MMoE: pCVR MAE": (esmm.cvr_mae < mmoe.cvr_mae).values,
        "MMoE beats naive: AUC over all impressions": (mmoe.cvr_auc_all > naive.cvr_auc_all).values,
        "MMoE beats naive: pCVR MAE": (mmoe.cvr_mae < naive.cvr_mae).values,
        "naive: |mean pred - true mean| > ESMM's": (
            (naive.cvr_mean_pred - naive.cvr_mean_true).abs() > (esmm.cvr_mean_pred - esmm.cvr_mean_true).abs()).values,
    }


def report(claims: dict[str, np.ndarray]) -> None:
    for name, ok in claims.items():
        print(f"{int(np.sum(ok))}/{len(ok)}  {name}")


def _save(df: pd.DataFrame, path: str | None) -> None:
    print(df.round(4).to_string())
    if path:
        df.to_csv(path, index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", choices=["07", "08", "09"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--csv", help="also write the per-seed table to this CSV file")
    parser.add_argument("--from-csv", help="skip training: recount the claims from a table written by --csv")
    parser.add_argument("--selection-only", action="store_true", help="09: only the numpy selection check")
    args = parser.parse_args(argv)
    if args.notebook == "09":
        report(funnel_selection(args.seeds))
        if args.selection_only:
            return
    if args.from_csv:
        df = pd.read_csv(args.from_csv)
        claims = {"07": video_claims, "08": extraction_claims, "09": funnel_claims}[args.notebook](df)
        report(claims)
        return
    import mmoe_lab

    mmoe_lab.setup_notebook(style=False)
    pd.set_option("display.width", 200)
    if args.notebook == "07":
        from mmoe_lab.models import compare_video_variants

        df = pd.concat([compare_video_variants(s) for s in args.seeds], ignore_index=True)
        _save(df, args.csv)
        report(video_claims(df))
    elif args.notebook == "08":
        df = pd.concat([extraction_table(s) for s in args.seeds], ignore_index=True)
        _save(df, args.csv)
        report(extraction_claims(df))
    else:
        df = pd.concat([funnel_table(s) for s in args.seeds], ignore_index=True)
        _save(df, args.csv)
        report(funnel_claims(df))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
