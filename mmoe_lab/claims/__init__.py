"""The claims the notebooks make, in one shape, with the rate at which each held on other seeds.

A *claim* is a sentence a notebook states about its runs, e.g. "from p = 1 to p = 0.5 the
one-gate MoE falls behind MMoE". Each :class:`Claim` holds

* ``notebook`` and ``name``: where it is made and a short key;
* ``statement``: the sentence;
* ``holds``: a function from one *unit* of evidence (a table of runs: one seed's runs, one
  block of 8 or 5 seeds, or one set of 200 or 20 seeds) to ``True``/``False``;
* ``evidence``: ``evidence() -> [(label, unit), ...]``, the units it was checked on, read from
  files stored in ``data/`` (no training); never the notebook's own seeds (except
  ``02/fig3_stored``, whose first set of 200 seeds is the study notebook 02 loads);
* ``rate``: the stated rate, ``(held, units, seeds)``: it held on ``held`` of ``units`` units,
  which cover ``seeds`` seeds;
* ``source``: for claims on per-seed runs, the key of :data:`mmoe_lab.tools.checks.SOURCES` that
  reruns the notebook's own calls on fresh seeds (``None`` for claims on stored studies).

A notebook **asserts** a claim only if it held on every unit checked, on at least
:data:`MIN_UNITS` units covering at least :data:`MIN_SEEDS` seeds (five seeds cannot tell
"always" from "usually"). For every other claim it **prints** the rate. In a notebook::

    claims.check("07", "log_beats_raw_rating_rmse", results)   # asserted: AssertionError if it fails here
    print(claims.report("09", "esmm_beats_mmoe_mae", results))
    # -> "ESMM beats MMoE on pCVR MAE: holds here; held on 15 of 20 other seeds (seeds 1-20)"

From the shell (``make claims`` runs the second form)::

    python -m mmoe_lab claims [NN] [--seeds K] [--first S] [--save]   # rerun on fresh seeds (trains)
    python -m mmoe_lab claims [NN] --from-csv                          # re-evaluate the stored evidence

(:mod:`mmoe_lab.tools.checks`).

Both print a table of "holds on k of N" per claim and exit 1 when a claim falls below its
stated rate. Fresh runs use seeds ``S .. S + K - 1`` (default 1000-1019, which no stored
evidence uses); ``--save`` merges their rows into ``data/claims/`` (the stored evidence).
Claims on stored studies (02, 04, 05) are re-evaluated on their stored units in both modes;
the correlation lesson's live blocks are rerun by ``python -m mmoe_lab lesson check``
(:mod:`mmoe_lab.tools.lesson_search`).

The package: :mod:`~mmoe_lab.claims.framework` (the :class:`Claim` shape, reading and evaluating
evidence), :mod:`~mmoe_lab.claims.registry` (every claim and its stated rate), and here the
calls notebooks make (:func:`check`, :func:`report`, :func:`verdicts`, :func:`get`, :func:`table`).
"""

from __future__ import annotations

import pandas as pd

from .._validate import check_choice, invalid
from ..io import TEXT_WIDTH, wrap_text
from .framework import (
    MIN_SEEDS,
    MIN_UNITS,
    Claim,
    Units,
    evaluate,
    lesson_wide,
    read_rows,
    seed_ranges,
    seed_units,
    seeds_of,
)
from .registry import LESSON_CHECK, RATES, REGISTRY

__all__ = ["Claim", "REGISTRY", "RATES", "MIN_UNITS", "MIN_SEEDS", "LESSON_CHECK", "lesson_wide", "read_rows",
           "seed_units", "get", "evaluate", "check", "report", "verdicts", "table"]


def get(notebook: str, name: str) -> Claim:
    """The registered claim ``notebook/name`` (``ValueError`` if there is none)."""
    for c in REGISTRY:
        if c.notebook == notebook and c.name == name:
            return c
    known = [f"{c.notebook}/{c.name}" for c in REGISTRY if c.notebook == notebook] or [f"{c.notebook}/{c.name}" for c
                                                                                        in REGISTRY]
    raise invalid("notebook/name", f"a registered claim (known: {known})", f"{notebook}/{name}")


def check(notebook: str, name: str, unit: pd.DataFrame) -> bool:
    """Assert a registered claim on a notebook's own runs.

    Raises ``ValueError`` for an unknown claim or one whose stated rate does not allow an
    assertion (use :func:`report`), and ``AssertionError`` (with the statement) when the claim
    fails on ``unit``. Returns ``True`` when it holds.
    """
    claim = get(notebook, name)
    held, units, seeds = claim.rate
    if not claim.assertable:
        raise invalid("notebook/name", "a claim that held on every unit checked, to be asserted; print this one "
                      "with claims.report(...)", f"{notebook}/{name}",
                      received=f"`{notebook}/{name}`, which held on {held} of {units} checked units ({seeds} seeds)")
    if not claim.holds(unit):
        raise AssertionError(f"claim {notebook}/{name} failed on this run: {claim.statement}")
    return True


def report(notebook: str, name: str, unit: pd.DataFrame | None = None) -> str:
    """The text a notebook prints: whether the claim holds on ``unit`` and its stated rate.

    E.g. ``"ESMM beats MMoE on pCVR MAE: holds here; held on 11 of 20 other seeds (seeds 1-20)"``.
    Without ``unit``, only the rate. Works for every claim, asserted or not. A line wider than
    :data:`~mmoe_lab.io.TEXT_WIDTH` becomes the statement (wrapped), then the rate on a line of
    its own, indented.
    """
    claim = get(notebook, name)
    held, units, seeds = claim.rate
    covered = seed_ranges(set().union(*(seeds_of(u) for _, u in claim.evidence())))
    where = (f"{held} of {units} other seeds ({covered})" if units == seeds else
             f"{held} of {units} sets of seeds ({covered}, {seeds} seeds)")
    here = "" if unit is None else ("holds here; " if claim.holds(unit) else "does not hold here; ")
    line = f"{claim.statement}: {here}held on {where}"
    # too wide to read on one line: the statement, then its rate on an indented line of its own
    return line if len(line) <= TEXT_WIDTH else wrap_text(f"{claim.statement}:\n  {here}held on {where}")


def table(notebook: str | None = None, fresh: dict[str, Units] | None = None) -> pd.DataFrame:
    """:func:`evaluate` for every registered claim (of one notebook), as a DataFrame.

    Args:
        notebook: e.g. ``"07"``; ``None`` for all.
        fresh: units per source key (fresh seeds) to use instead of the stored evidence.
    """
    if notebook is not None:
        check_choice("notebook", notebook, sorted({c.notebook for c in REGISTRY}))
    chosen = [c for c in REGISTRY if notebook is None or c.notebook == notebook]
    fresh = fresh or {}
    rows = []
    for c in chosen:
        row = evaluate(c, fresh.get(c.source) if c.source in fresh else None)
        row["on"] = "fresh" if c.source in fresh else "stored"
        rows.append(row)
    return pd.DataFrame(rows)


def verdicts(notebook: str, unit: pd.DataFrame) -> dict[str, bool]:
    """Every claim of ``notebook`` on one unit (e.g. one seed's table): ``{statement: holds}``."""
    check_choice("notebook", notebook, sorted({c.notebook for c in REGISTRY}))
    return {c.statement: c.holds(unit) for c in REGISTRY if c.notebook == notebook}
