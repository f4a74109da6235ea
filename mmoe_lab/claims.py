"""The claims the notebooks assert, in one shape, with the evidence they were checked on.

A *claim* is a sentence a notebook states and asserts in code, e.g. "from p = 1 to p = 0.5 the
one-gate MoE falls behind MMoE". Each :class:`Claim` holds

* ``notebook`` and ``name``: where it is asserted and a short key;
* ``statement``: the sentence;
* ``holds``: a function from one *unit* of evidence (a table of runs: one block of 8 seeds,
  or one set of 200 or 20 seeds) to ``True``/``False``;
* ``evidence``: how to get the units it was checked on from files stored in ``data/``
  (no training), with the seeds they cover.

A notebook asserts a claim only if it held on **every** unit checked, and on at least five of
them (fewer units cannot tell "always" from "usually"); otherwise it prints the rate. The
notebooks call :func:`check` on their own runs, which raises ``AssertionError`` with the
statement when a claim fails there.

``python -m mmoe_lab claims [--notebook NN]`` prints every claim with its rate. Claims that
need fresh training to check (notebooks 03 and 06-10) are still checked by the scripts in
``scripts/``; they are not in this registry yet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Claim", "REGISTRY", "lesson_wide", "get", "evaluate", "check", "table", "main"]

DATA = Path(__file__).resolve().parent.parent / "data"
MIN_UNITS = 5


@dataclass(frozen=True)
class Claim:
    """One asserted claim: where, what, how to test one unit, and where its evidence lives.

    Attributes:
        notebook: two-digit notebook number, e.g. ``"04"``.
        name: short key, unique within the notebook.
        statement: the sentence the notebook states.
        holds: ``holds(unit) -> bool`` for one unit of evidence (a DataFrame, see ``evidence``).
        evidence: ``evidence() -> [(label, unit), ...]``: the units it was checked on, read
            from stored files; ``label`` names the seeds.
    """

    notebook: str
    name: str
    statement: str
    holds: Callable[[pd.DataFrame], bool]
    evidence: Callable[[], list[tuple[str, pd.DataFrame]]]


# ---- the correlation lesson (02, 04): live comparisons, p = 0.5 against p = 1 -----------------

LESSON_CHECK = "calibration/correlation_lesson_check.csv"
LESSON_CONFIG = "S15A2-u8-b128-s6000"  # the lesson setup's tag in the search


def lesson_wide(runs: pd.DataFrame) -> pd.DataFrame:
    """Per seed: ``<arch>_<p>`` test MSE and ``jsd_<p>`` (MMoE's gate divergence, if present).

    Args:
        runs: one row per (arch, correlation, seed) with ``test_loss`` (and ``jsd`` for MMoE),
            as ``compare_over_seeds(...)["runs"]`` (plus a ``jsd`` column) or the check file.
    """
    need = {"arch", "correlation", "seed", "test_loss"}
    if not need <= set(runs.columns):
        raise ValueError(f"`runs` should have columns {sorted(need)}. Received {list(runs.columns)}")
    loss = runs.pivot_table(index="seed", columns=["arch", "correlation"], values="test_loss")
    loss.columns = [f"{a}_{p:g}" for a, p in loss.columns]
    if "jsd" in runs and runs["jsd"].notna().any():
        j = runs[runs["arch"] == "mmoe"].pivot_table(index="seed", columns="correlation", values="jsd")
        j.columns = [f"jsd_{p:g}" for p in j.columns]
        loss = loss.join(j)
    return loss


def _means(unit: pd.DataFrame) -> pd.Series:
    return lesson_wide(unit).mean()


def _omoe_gap(m: pd.Series, p: str) -> float:
    return float((m[f"omoe_{p}"] - m[f"mmoe_{p}"]) / m[f"omoe_{p}"])


def _lesson_blocks() -> list[tuple[str, pd.DataFrame]]:
    path = DATA / LESSON_CHECK
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/check_correlation_lesson.py")
    runs = pd.read_csv(path)
    runs = runs[runs["config"] == LESSON_CONFIG]
    return [(f"seeds {g['seed'].min()}-{g['seed'].max()}", g) for _, g in runs.groupby("block")]


def _lesson_claim(name: str, statement: str, holds: Callable[[pd.Series], bool]) -> Claim:
    return Claim("04", name, statement, lambda unit: bool(holds(_means(unit))), _lesson_blocks)


LESSON_CLAIMS = [
    _lesson_claim("omoe_gap_grows", "on 8-seed means, (OMoE − MMoE)/OMoE is positive at p = 0.5 and larger than at p = 1",
                  lambda m: _omoe_gap(m, "0.5") > 0 and _omoe_gap(m, "0.5") > _omoe_gap(m, "1")),
    _lesson_claim("sb_rises", "on 8-seed means, shared-bottom's test MSE is higher at p = 0.5 than at p = 1",
                  lambda m: m["shared_bottom_0.5"] > m["shared_bottom_1"]),
    _lesson_claim("gates_diverge", "on 8-seed means, MMoE's gate JSD between the tasks is larger at p = 0.5 than at p = 1",
                  lambda m: m["jsd_0.5"] > m["jsd_1"]),
    _lesson_claim("sb_gap_grows", "on 8-seed means, SB − MMoE is larger at p = 0.5 than at p = 1",
                  lambda m: m["shared_bottom_0.5"] - m["mmoe_0.5"] > m["shared_bottom_1"] - m["mmoe_1"]),
]
# notebook 02 asserts the shared-bottom claim on its own Fig. 3 cell as well
LESSON_CLAIMS.append(Claim("02", "sb_rises", LESSON_CLAIMS[1].statement, LESSON_CLAIMS[1].holds, _lesson_blocks))


# ---- stored studies (02, 04): sets of seeds ----------------------------------------------------


def _fig3_sets() -> list[tuple[str, pd.DataFrame]]:
    from .study import load_results, run_table

    wide = (run_table(load_results(DATA / "study" / "fig3_seed_sets"))["shared_bottom"]
            .xs(("teaching", "10000"), level=["preset", "n_train"]).unstack("correlation"))
    return [(f"seeds {k * 200}-{k * 200 + 199}", g) for k, g in wide.groupby(np.asarray(wide.index) // 200)]


def _paper_regime_sets() -> list[tuple[str, pd.DataFrame]]:
    from .study import load_results, run_table

    runs = run_table(load_results(DATA / "study" / "paper_regime")).xs(
        ("paper", "fresh", 0.5), level=["preset", "n_train", "correlation"])
    return [(f"seeds {k * 20}-{k * 20 + 19}", g) for k, g in runs.groupby(np.asarray(runs.index) // 20)]


STORED_CLAIMS = [
    Claim("02", "fig3_stored", "on 200 seeds of the gentle preset (400 steps), the mean loss at p = 0.5 is above "
          "both p = 0.9 and p = 1", lambda w: bool(w[0.5].mean() > w[0.9].mean() and w[0.5].mean() > w[1.0].mean()),
          _fig3_sets),
    Claim("04", "paper_regime_mmoe_best", "in the paper's regime at p = 0.5, MMoE has the lowest mean loss of the "
          "three on a set of 20 seeds", lambda r: bool(r[["mmoe", "omoe", "shared_bottom"]].mean().idxmin() == "mmoe"),
          _paper_regime_sets),
]

REGISTRY: list[Claim] = [*LESSON_CLAIMS, *STORED_CLAIMS]


def get(notebook: str, name: str) -> Claim:
    """The registered claim ``notebook/name`` (``ValueError`` if there is none)."""
    for c in REGISTRY:
        if c.notebook == notebook and c.name == name:
            return c
    known = [f"{c.notebook}/{c.name}" for c in REGISTRY]
    raise ValueError(f"no claim {notebook}/{name}; known: {known}")


def evaluate(claim: Claim) -> dict[str, object]:
    """Run ``claim`` on every stored unit of its evidence.

    Returns:
        dict with ``notebook``, ``name``, ``held``, ``units``, ``checked_on`` (the units'
        labels), ``assertable`` (held on every unit and on at least five) and ``statement``.
    """
    units = claim.evidence()
    results = [claim.holds(u) for _, u in units]
    held, n = int(sum(results)), len(results)
    return {"notebook": claim.notebook, "name": claim.name, "held": held, "units": n,
            "checked_on": ", ".join(label for label, _ in units), "assertable": held == n and n >= MIN_UNITS,
            "statement": claim.statement}


def check(notebook: str, name: str, unit: pd.DataFrame) -> bool:
    """Assert a registered claim on a notebook's own runs.

    Raises ``ValueError`` for an unknown claim or one whose stored evidence does not support an
    assertion, and ``AssertionError`` (with the statement) when the claim fails on ``unit``.
    Returns ``True`` when it holds.
    """
    claim = get(notebook, name)
    ev = evaluate(claim)
    if not ev["assertable"]:
        raise ValueError(f"claim {notebook}/{name} held on {ev['held']} of {ev['units']} checked units: "
                         "print it, do not assert it")
    if not claim.holds(unit):
        raise AssertionError(f"claim {notebook}/{name} failed on this run: {claim.statement}")
    return True


def table(notebook: str | None = None) -> pd.DataFrame:
    """:func:`evaluate` for every registered claim (of one notebook), as a DataFrame."""
    chosen = [c for c in REGISTRY if notebook is None or c.notebook == notebook]
    if not chosen:
        raise ValueError(f"no claims registered for notebook {notebook!r}; "
                         f"notebooks with claims: {sorted({c.notebook for c in REGISTRY})}")
    return pd.DataFrame([evaluate(c) for c in chosen])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab claims",
                                 description="Every registered claim with the rate at which it held on stored evidence.")
    ap.add_argument("--notebook", help="only this notebook's claims (e.g. 04)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    t = table(args.notebook)
    with pd.option_context("display.width", 160, "display.max_colwidth", 90):
        for _, r in t.iterrows():
            flag = "assert" if r["assertable"] else "print "
            print(f"{r['notebook']}/{r['name']:<24} {r['held']:>2}/{r['units']:<2} {flag}  {r['statement']}")
            print(f"{'':>28} checked on {r['checked_on']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
