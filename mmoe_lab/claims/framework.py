"""The claims framework: what a claim is, how its evidence is read and how it is evaluated.

A *claim* is a sentence a notebook states about its runs (the registry of every claim is
:mod:`mmoe_lab.claims.registry`; the package docstring says how notebooks use them). Each
:class:`Claim` is tested one *unit* of evidence at a time: a table of runs (one seed's runs, one
block of 8 or 5 seeds, or one set of 200 or 20 seeds). The evidence of per-seed claims is
stored in ``data/claims/<source>.csv`` (:func:`read_rows`, written by
:mod:`mmoe_lab.tools.checks`); claims on the stored studies read ``data/study/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .._validate import check_columns
from ..io import data_dir

__all__ = ["Claim", "Units", "MIN_UNITS", "MIN_SEEDS", "read_rows", "seed_units", "lesson_wide", "evaluate",
           "seed_ranges", "seeds_of"]

MIN_UNITS = 5
MIN_SEEDS = 20

#: Evidence: ``[(label, unit), ...]``, each unit a table of runs.
Units = list[tuple[str, pd.DataFrame]]


@dataclass(frozen=True)
class Claim:
    """One claim: where, what, how to test one unit, its evidence and the rate it held at.

    Attributes:
        notebook: two-digit notebook number, e.g. ``"04"``.
        name: short key, unique within the notebook.
        statement: the sentence the notebook states.
        holds: ``holds(unit) -> bool`` for one unit of evidence (a DataFrame of runs).
        evidence: ``evidence() -> [(label, unit), ...]``: the stored units it was checked on.
        rate: the stated rate ``(held, units, seeds)`` on that evidence.
        source: key of :data:`mmoe_lab.tools.checks.SOURCES` that makes fresh per-seed units, or
            ``None`` for claims on stored studies.
    """

    notebook: str
    name: str
    statement: str
    holds: Callable[[pd.DataFrame], bool]
    evidence: Callable[[], Units]
    rate: tuple[int, int, int]
    source: str | None = None

    @property
    def assertable(self) -> bool:
        """Held on every unit, on at least :data:`MIN_UNITS` units and :data:`MIN_SEEDS` seeds."""
        held, units, seeds = self.rate
        return held == units and units >= MIN_UNITS and seeds >= MIN_SEEDS


def read_rows(key: str) -> pd.DataFrame:
    """The stored per-seed evidence of source ``key``: ``data/claims/<key>.csv``
    (``FileNotFoundError`` naming the command that writes it if missing)."""
    path = data_dir() / "claims" / f"{key}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m mmoe_lab claims {key[:2]} --first F --seeds 20 "
                                "--save` on seeds F.. the notebook does not use (mmoe_lab.tools.checks)")
    return pd.read_csv(path).astype({"seed": int})


def seed_units(rows: pd.DataFrame) -> Units:
    """One unit per seed: ``[("seed 1", rows of seed 1), ...]``."""
    return [(f"seed {int(s)}", g) for s, g in rows.groupby("seed")]


def lesson_wide(runs: pd.DataFrame) -> pd.DataFrame:
    """Per seed: ``<arch>_<p>`` test MSE and ``jsd_<p>`` (MMoE's gate divergence, if present).

    ``p`` is written with ``:g`` (``omoe_0.5``, ``omoe_1``).

    Args:
        runs: one row per (arch, correlation, seed) with ``test_loss`` (and ``jsd`` for MMoE),
            as ``compare_over_seeds(...)["runs"]`` (plus a ``jsd`` column) or the check file.

    Returns:
        one row per seed, one column per (arch, p) and per p of ``jsd``.
    """
    check_columns("runs", runs, ("arch", "correlation", "seed", "test_loss"))
    loss = runs.pivot_table(index="seed", columns=["arch", "correlation"], values="test_loss")
    loss.columns = [f"{a}_{p:g}" for a, p in loss.columns]
    if "jsd" in runs and runs["jsd"].notna().any():
        j = runs[runs["arch"] == "mmoe"].pivot_table(index="seed", columns="correlation", values="jsd")
        j.columns = [f"jsd_{p:g}" for p in j.columns]
        loss = loss.join(j)
    return loss


def seeds_of(unit: pd.DataFrame) -> set[int]:
    seeds = unit["seed"] if "seed" in unit.columns else unit.index.get_level_values(0)
    return {int(s) for s in pd.unique(seeds)}


def seed_ranges(seeds: set[int]) -> str:
    """``{1, 2, 3, 7}`` -> ``"seeds 1-3, 7"``."""
    out: list[str] = []
    run: list[int] = []
    for s in sorted(seeds):
        if run and s != run[-1] + 1:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = []
        run.append(s)
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return "seeds " + ", ".join(out)


def evaluate(claim: Claim, units: Units | None = None) -> dict[str, object]:
    """Run ``claim`` on every unit of its stored evidence (or on ``units``).

    Returns:
        dict with ``notebook``, ``name``, ``held``, ``units``, ``seeds`` (how many the units
        cover), ``checked_on`` (their seed ranges), ``stated`` (``"k/N"``), ``assertable`` (from
        the stated rate), ``below`` (the rate here is below the stated one) and ``statement``.
    """
    units = claim.evidence() if units is None else units
    results = [claim.holds(u) for _, u in units]
    held, n = int(sum(results)), len(results)
    seeds: set[int] = set().union(*(seeds_of(u) for _, u in units)) if units else set()
    k, of, _ = claim.rate
    return {"notebook": claim.notebook, "name": claim.name, "held": held, "units": n, "seeds": len(seeds),
            "checked_on": seed_ranges(seeds) if seeds else "-", "stated": f"{k}/{of}", "assertable": claim.assertable,
            "below": n == 0 or held * of < k * n, "statement": claim.statement}


