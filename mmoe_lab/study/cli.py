"""``python -m mmoe_lab reproduce``: the study's command line.

``reproduce [--regime budget|paper|datasize|lesson] [--runs N] [--correlations ...] [--out DIR]``
builds a :class:`~mmoe_lab.study.grid.Study` from a regime of :data:`~mmoe_lab.study.grid.REGIMES`
and runs it, in this process (:func:`~mmoe_lab.study.run.run_study`) or with
``--executor dask [--scheduler tcp://HOST:8786] [--workers N]`` as Dask tasks
(:mod:`mmoe_lab.study.dask_executor`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .._validate import check_int, invalid
from ..io import data_dir
from ..paper import ARCHITECTURES
from ..synthetic import PRESETS
from .grid import REGIMES, Study
from .run import run_study

__all__ = ["EXECUTORS", "build_parser", "check_executor_args", "study_from_args", "main"]

#: ``--executor`` choices: ``local`` trains the units in this process (side by side in threads
#: on JAX, one after another on TensorFlow);
#: ``dask`` submits them as tasks to a Dask cluster (:mod:`mmoe_lab.study.dask_executor`).
EXECUTORS = ("local", "dask")


def _parse_n(text: str) -> int | None:
    """A ``--n-train`` value: an int (``_`` allowed) or ``"fresh"`` (``None``)."""
    if text == "fresh":
        return None
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise invalid("--n-train", "a training size: a positive integer or 'fresh'", text) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``reproduce`` options (``--help`` lists them)."""
    ap = argparse.ArgumentParser(prog="python -m mmoe_lab reproduce",
                                 description="Run (or resume) the paper's synthetic study into data/.")
    ap.add_argument("--regime", choices=sorted(REGIMES), default="budget",
                    help="budget: 10k samples, 400 steps, 200 runs, both presets (default); paper: fresh "
                         "samples, 20k steps, 20 runs at p=0.5; datasize: paper preset at 10k/100k/1M/fresh; "
                         "lesson: the correlation lesson's live setup at six p, 200 runs")
    ap.add_argument("--runs", type=int, help="seeds per (preset, model, correlation)")
    ap.add_argument("--correlations", nargs="+", help="task cosines p in [-1, 1]")
    ap.add_argument("--models", nargs="+", help=f"subset of {list(ARCHITECTURES)}")
    ap.add_argument("--presets", nargs="+", help=f"subset of {sorted(PRESETS)}")
    ap.add_argument("--n-train", nargs="+", help="training sizes (ints or 'fresh')")
    ap.add_argument("--steps", type=int, help="training steps per run")
    ap.add_argument("--learning-rate", type=float, help="Adam learning rate")
    ap.add_argument("--eval-every", type=int, help="steps between loss-curve points")
    ap.add_argument("--chunk", type=int, help="replicas trained together per unit")
    ap.add_argument("--out", help="output directory (default: the regime's folder under data/study/)")
    ap.add_argument("--max-units", type=int, help="stop after this many units (resume later)")
    ap.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    ap.add_argument("--executor", choices=EXECUTORS, default="local",
                    help="local: train the units in this process (default); dask: submit them as Dask tasks")
    ap.add_argument("--scheduler", help="with --executor dask: address of a running Dask scheduler "
                    "(tcp://HOST:8786); default: start a local cluster")
    ap.add_argument("--workers", type=int, help="with --executor dask and no --scheduler: worker processes "
                    "of the local cluster (1 thread each; default: one per CPU core)")
    return ap


def check_executor_args(args: argparse.Namespace) -> None:
    """Reject executor options that do not fit together (``ValueError``), before any work."""
    if args.executor != "dask" and (args.scheduler is not None or args.workers is not None):
        name = "--scheduler" if args.scheduler is not None else "--workers"
        raise invalid(name, "unset: --scheduler and --workers apply to --executor dask only",
                      args.scheduler if args.scheduler is not None else args.workers)
    if args.workers is not None:
        check_int("--workers", args.workers)
    if args.scheduler is not None and args.workers is not None:
        raise invalid("--workers", "unset with --scheduler: --workers sizes a local cluster, and with "
                      "--scheduler the units run on that cluster's own workers", args.workers)


def study_from_args(argv: Sequence[str]) -> tuple[Study, argparse.Namespace]:
    """Parse ``reproduce`` arguments into a validated :class:`Study` (raises ``ValueError``)."""
    args = build_parser().parse_args(list(argv))
    check_executor_args(args)
    reg = REGIMES[args.regime]
    if reg["budget"] is None:
        from ..experiments import lesson_study_budget

        budget = lesson_study_budget()
    else:
        budget = dict(reg["budget"])
    if args.steps is not None:
        budget["steps"] = args.steps
    if args.learning_rate is not None:
        budget["learning_rate"] = args.learning_rate
    if args.eval_every is not None:
        budget["eval_every"] = args.eval_every
    corrs = args.correlations if args.correlations is not None else reg["correlations"]
    parsed = []
    for c in corrs:
        try:
            parsed.append(float(c))
        except ValueError:
            raise invalid("--correlations", "numbers in [-1, 1]", c) from None
    study = Study.create(
        args.out or data_dir() / reg["out"], presets=args.presets or reg["presets"], models=args.models or ARCHITECTURES,
        correlations=parsed, runs=reg["runs"] if args.runs is None else args.runs,
        n_trains=[_parse_n(n) for n in (args.n_train or reg["n_train"])], budget=budget,
        chunk=args.chunk or reg["chunk"],
    )
    return study, args


def main(argv: Sequence[str] | None = None) -> int:
    """``reproduce`` entry point; returns a process exit code.

    With ``--executor dask --scheduler ADDRESS`` the scheduler is reached before the output
    directory is touched, so an unreachable cluster fails in seconds and writes nothing.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    client = None
    try:
        args = build_parser().parse_args(argv)
        check_executor_args(args)
        if args.executor == "dask" and args.scheduler is not None:
            from .dask_executor import connect

            client = connect(args.scheduler)
        study, args = study_from_args(argv)
    except (ValueError, ConnectionError) as exc:
        if client is not None:
            client.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    pending = len(study.pending())
    print(f"{study.out}: {len(study.units) - pending}/{len(study.units)} units already done; "
          f"{pending} to run", flush=True)
    command = ["python -m mmoe_lab reproduce", *argv]
    if args.executor == "dask":
        from .dask_executor import run_study_dask

        try:
            merged = run_study_dask(study, client=client, workers=args.workers, progress=not args.no_progress,
                                    max_units=args.max_units, command=command)
        except RuntimeError as exc:  # some units failed on every attempt; the rest is stored
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            if client is not None:
                client.close()
    else:
        merged = run_study(study, progress=not args.no_progress, max_units=args.max_units, command=command)
    prov = json.loads((study.out / "provenance.json").read_text())
    print(f"status: {prov['status']} ({prov['units_done']}/{prov['units_total']} units, "
          f"{prov['compute_seconds_total']:.0f} s of unit compute in total)")
    if merged is not None and len(merged):
        from .analysis import ordering_counts

        print(ordering_counts(merged).round(4).to_string(index=False))
    return 0
