"""The study's grid and budgets: presets × training sizes × correlations × seed blocks × architectures.

:class:`Study` is a validated grid; :meth:`Study.create` checks every argument before any work
and plans the *units* (one preset, training size, architecture, correlation and block of
seeds, trained at once as replicas). :data:`STUDY_BUDGET`, :data:`PAPER_REGIME` and
:data:`REGIMES` are the budgets of ``python -m mmoe_lab reproduce``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._validate import check_int, check_number, check_subset, invalid
from ..paper import ARCHITECTURES
from ..synthetic import PRESETS

__all__ = ["STUDY_BUDGET", "PAPER_REGIME", "REGIMES", "Study", "fmt_n"]

#: Default budget of ``make reproduce``: 10k training / 2k test samples per run, Adam with
#: learning rate 1e-2 (the top of the paper's grid {1e-4, 1e-3, 1e-2}; at 400 steps 1e-3 leaves
#: the mixtures far from converged), batch 256, 400 steps (≈ 10 epochs), a curve point every
#: 40 steps. Chosen so that 3 models × 3 correlations × 200 runs × 2 presets (3,600 runs) fit
#: in ≈ 30 min on 2 CPU cores.
STUDY_BUDGET: dict[str, Any] = {"n_train": 10_000, "n_test": 2_000, "steps": 400, "batch_size": 256,
                                "learning_rate": 1e-2, "eval_every": 40}

#: The paper's regime (and an independent JAX implementation's measurement): fresh samples every step,
#: 20k steps of batch 256, Adam 1e-3, curve point every 1,000 steps.
PAPER_REGIME: dict[str, Any] = {"n_train": None, "n_test": 2_000, "steps": 20_000, "batch_size": 256,
                                "learning_rate": 1e-3, "eval_every": 1_000}

#: The grids of ``python -m mmoe_lab reproduce --regime ...``; ``out`` is relative to the kit's
#: ``data/`` folder (:func:`mmoe_lab.io.data_dir`).
REGIMES: dict[str, dict[str, Any]] = {
    "budget": {"presets": ("paper", "teaching"), "correlations": (0.5, 0.9, 1.0), "runs": 200,
               "n_train": ["10000"], "budget": STUDY_BUDGET, "out": "study/budget", "chunk": 200},
    "paper": {"presets": ("paper",), "correlations": (0.5,), "runs": 20, "n_train": ["fresh"],
              "budget": PAPER_REGIME, "out": "study/paper_regime", "chunk": 20},
    "datasize": {"presets": ("paper",), "correlations": (0.5,), "runs": 20,
                 "n_train": ["10000", "100000", "1000000", "fresh"], "budget": PAPER_REGIME,
                 "out": "study/paper_regime", "chunk": 20},
    # the correlation lesson's live setup (notebooks 02-05), budget filled in from
    # mmoe_lab.experiments.lesson_study_budget() when chosen
    "lesson": {"presets": ("teaching",), "correlations": (0.0, 0.25, 0.5, 0.75, 0.9, 1.0), "runs": 200,
               "n_train": ["fresh"], "budget": None, "out": "study/lesson", "chunk": 200},
}


def fmt_n(n: int | None) -> str:
    """A training size as stored in the tables: its digits, or ``"fresh"`` (``None``)."""
    return "fresh" if n is None else str(int(n))


@dataclass
class Study:
    """A validated grid. Build it with :meth:`create`; nothing runs until :func:`run_study`.

    Attributes:
        out: output directory. presets, models, correlations: the grid axes.
        runs: seeds ``0 .. runs-1`` per cell (the same seeds, hence the same data, for every
            model, so orderings can be counted per seed). n_trains: training-set sizes
            (``None`` = fresh samples every step). chunk: replicas trained together per unit.
        budget: steps, batch_size, learning_rate, eval_every, n_test.
    """

    out: Path
    presets: tuple[str, ...]
    models: tuple[str, ...]
    correlations: tuple[float, ...]
    runs: int
    n_trains: tuple[int | None, ...]
    budget: dict[str, Any]
    chunk: int = 100
    units: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, out: str | os.PathLike, *, presets: Sequence[str] = ("paper", "teaching"),
               models: Sequence[str] = ARCHITECTURES, correlations: Sequence[float] = (0.5, 0.9, 1.0),
               runs: int = 200, n_trains: Sequence[int | None] | None = None,
               budget: dict[str, Any] | None = None, chunk: int = 100) -> Study:
        """Validate every argument before any work (clear ``ValueError`` otherwise)."""
        budget = {**STUDY_BUDGET, **(budget or {})}
        presets, models = tuple(presets), tuple(models)
        presets = check_subset("presets", presets, sorted(PRESETS))
        bad = [m for m in models if m not in ARCHITECTURES]
        if not models or bad:
            raise invalid("models", f"a non-empty subset of {list(ARCHITECTURES)} (unknown model(s): {bad})", list(models))
        corrs = tuple(check_number("correlation", p, -1, 1) for p in correlations)
        if not corrs:
            raise invalid("correlations", "a non-empty list of numbers in [-1, 1]", list(correlations))
        runs, chunk = check_int("runs", runs), check_int("chunk", chunk)
        n_trains = tuple([budget["n_train"]] if n_trains is None else n_trains)
        n_trains = tuple(None if n is None else check_int("n_train", n) for n in n_trains)
        for key in ("steps", "batch_size", "eval_every", "n_test"):
            budget[key] = check_int(key, budget[key])
        budget["learning_rate"] = check_number("learning_rate", budget["learning_rate"], 0, lo_open=True)
        out = Path(out)
        _check_writable(out)
        study = cls(out, presets, models, corrs, runs, n_trains, budget, chunk)
        study.units = study._plan()
        return study

    def _plan(self) -> list[dict[str, Any]]:
        units = []
        for preset in self.presets:
            for n in self.n_trains:
                for p in self.correlations:
                    for lo in range(0, self.runs, self.chunk):
                        hi = min(lo + self.chunk, self.runs)
                        for model in self.models:
                            key = f"{preset}_n{fmt_n(n)}_{model}_p{p:+.3f}_s{lo:04d}-{hi - 1:04d}"
                            units.append({"key": key, "preset": preset, "n_train": n, "model": model,
                                          "correlation": p, "seeds": list(range(lo, hi))})
        return units

    def part_path(self, unit: dict[str, Any]) -> Path:
        return self.out / "parts" / f"{unit['key']}.csv"

    def _covered(self) -> dict[str, set[int]]:
        """Seeds already stored per (preset, size, model, p), whatever seed blocks made them."""
        cov: dict[str, set[int]] = {}
        for f in (self.out / "parts").glob("*.csv"):
            prefix, _, block = f.stem.rpartition("_s")
            try:
                lo, hi = (int(v) for v in block.split("-"))
            except ValueError:
                continue
            cov.setdefault(prefix, set()).update(range(lo, hi + 1))
        return cov

    def is_done(self, unit: dict[str, Any], covered: dict[str, set[int]] | None = None) -> bool:
        """True when every seed of ``unit`` is stored (also by parts of another chunk size)."""
        covered = self._covered() if covered is None else covered
        return set(unit["seeds"]) <= covered.get(unit["key"].rpartition("_s")[0], set())

    def pending(self) -> list[dict[str, Any]]:
        cov = self._covered()
        return [u for u in self.units if not self.is_done(u, cov)]


def _check_writable(out: Path) -> None:
    """Create ``out`` (and ``out/parts``) and prove a file can be written there."""
    try:
        (out / "parts").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-", delete=True):
            pass
    except OSError as exc:
        raise invalid("out", f"a writable directory ({exc.strerror or exc})", str(out)) from None
