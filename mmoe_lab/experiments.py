"""Train and compare models on the synthetic tasks.

This module holds the one training routine every notebook, test and script shares
(:func:`train_and_evaluate`) and the live comparison of the three architectures over seeds
(:func:`compare_over_seeds`). :data:`LIVE_BUDGET` is the calibrated budget a live
notebook cell can afford; ``python -m mmoe_lab calibrate`` measured it (``data/calibration/``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from . import backend as _backend
from ._validate import check_choice, check_ndim, check_nonempty, check_subset, invalid
from .backend import set_random_seed
from .models import build_model, learning_rate_schedule
from .paper import ARCHITECTURES
from .synthetic import TaskGenerator

__all__ = [
    "LIVE_BUDGET",
    "LESSON_GENERATOR",
    "LESSON_MODEL",
    "LESSON_BUDGET",
    "SETUPS",
    "lesson_study_budget",
    "label_dict",
    "live_splits",
    "fresh_sample_dataset",
    "train_and_evaluate",
    "compare_over_seeds",
    "gate_divergences",
]

#: The budget a live notebook cell can afford on 2 CPU cores (≤ ~15 s per model), calibrated
#: with ``python -m mmoe_lab calibrate`` (every configuration tried is in
#: ``data/calibration/teaching_search.csv``; tables also in
#: :func:`mmoe_lab.synthetic.make_correlated_tasks`).
#:
#: * ``n_train`` / ``n_test``: rows drawn by :func:`live_splits` /
#:   :func:`~mmoe_lab.synthetic.make_task_splits`.
#: * ``epochs``, ``batch_size``, ``learning_rate`` (Adam) and ``lr_schedule`` (``"cosine"``:
#:   decays to 1% of the rate over the run, so the final weights settle).
#: * ``fresh_samples``: every training batch is a fresh draw from the tasks (the paper's
#:   effectively-infinite-data regime). An epoch is then ``n_train // batch_size`` = 100 steps, 2,000 steps in all.
#:   It needs the data's generator, which :func:`live_splits` provides; with a dict without ``"generator"`` the fixed
#:   ``x_train`` rows are used instead (same epochs, batch size and learning rate).
#:
#: Measured (``preset="teaching"``, p = 0.5, parameter-matched build_model defaults, data
#: seed = init seed): MMoE < shared-bottom in 8/10 seeds (0-9) and 8/10 (10-19); the full
#: ordering MMoE < OMoE < shared-bottom in 6/10 and 4/10, short of the 7/10 the kit aimed
#: for: on draws whose tasks come out nearly linear (label r > 0.3) the three models land
#: within a few thousandths of MSE. CPU time per model ≈ 12 s for the mixtures, 7 s for
#: shared-bottom (graph tracing included).
LIVE_BUDGET: dict[str, Any] = {
    "n_train": 25_600,
    "n_test": 2_000,
    "epochs": 20,
    "batch_size": 256,
    "learning_rate": 3e-3,
    "fresh_samples": True,
    "lr_schedule": "cosine",
}


#: The correlation lesson's live setup: the defaults of :func:`compare_over_seeds`. Chosen by
#: ``python -m mmoe_lab lesson search`` (every configuration tried, failures included, is in
#: ``data/calibration/correlation_search.csv``) on search seeds 100-131, and checked on seeds
#: 240-279, which the search never used (``python -m mmoe_lab lesson check``, results in
#: ``data/calibration/``): on each of the 5 blocks of 8 seeds, p = 0.5 against p = 1 gave a
#: larger one-gate-MoE gap, a higher shared-bottom loss, a larger MMoE gate divergence and a
#: larger SB − MMoE.
#: What it changes against the teaching preset and :data:`LIVE_BUDGET`, and why:
#:
#: * ``LESSON_GENERATOR``: harder tasks. With the teaching preset's gentle sines every model
#:   learns both tasks well within the budget at any ``p``, and correlation moves nothing.
#: * ``LESSON_MODEL``: narrower experts (8 units), so the one-gate MoE's single mixed
#:   representation is tight when two diverging tasks must share it (shared-bottom stays
#:   parameter-matched to MMoE).
#: * ``LESSON_BUDGET``: batches of 128 and 6,000 steps (an epoch is 300 steps), fresh samples,
#:   cosine decay: 35–37 s for 3 architectures × 8 seeds × 2 values of p on 2 idle CPU cores
#:   with one stack after another; 33 s with the stacks side by side on a machine half as fast
#:   in matmul (:func:`mmoe_lab.backend.concurrent_training`).
LESSON_GENERATOR: dict[str, Any] = {"scale": 1.5, "alpha_std": 2.0}
LESSON_MODEL: dict[str, Any] = {"expert_units": 8}
LESSON_BUDGET: dict[str, Any] = {
    "n_train": 38_400,
    "n_test": 2_000,
    "epochs": 20,
    "batch_size": 128,
    "learning_rate": 3e-3,
    "fresh_samples": True,
    "lr_schedule": "cosine",
}


#: The named setups of :func:`compare_over_seeds`: generator overrides, model options, budget.
#: ``"lesson"`` is the correlation lesson's (the default); ``"teaching"`` is the single-model
#: notebooks' (the teaching preset's own constants, 8 experts of 16 units, :data:`LIVE_BUDGET`).
SETUPS: dict[str, dict[str, dict[str, Any]]] = {
    "lesson": {"generator": LESSON_GENERATOR, "model": LESSON_MODEL, "budget": LESSON_BUDGET},
    "teaching": {"generator": {}, "model": {}, "budget": LIVE_BUDGET},
}


def lesson_study_budget() -> dict[str, Any]:
    """The lesson's live setup as a :mod:`mmoe_lab.study` budget (``reproduce --regime lesson``).

    Returns:
        dict with ``n_train`` (``None``: fresh samples), ``n_test``, ``steps``, ``batch_size``,
        ``learning_rate``, ``lr_schedule``, ``eval_every`` (one epoch), ``generator``
        (:data:`LESSON_GENERATOR`) and ``model`` (:data:`LESSON_MODEL`).
    """
    b = LESSON_BUDGET
    epoch = b["n_train"] // b["batch_size"]
    return {"n_train": None, "n_test": b["n_test"], "steps": b["epochs"] * epoch, "batch_size": b["batch_size"],
            "learning_rate": b["learning_rate"], "lr_schedule": b["lr_schedule"], "eval_every": epoch,
            "generator": dict(LESSON_GENERATOR), "model": dict(LESSON_MODEL)}


def label_dict(y: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Split a label matrix ``(n, T)`` into ``{task_name: (n,)}`` as the model builders expect."""
    y = check_ndim("y", y, 2, "(n, T)")
    names = list(names) if names is not None else [f"task_{i}" for i in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise invalid("names", f"{y.shape[1]} names, one per label column", names)
    return {n: y[:, i] for i, n in enumerate(names)}


def live_splits(
    correlation: Any = 0.5,
    random_state: Any = 0,
    *,
    preset: str = "teaching",
    n_train: int | None = None,
    n_test: int | None = None,
    n_features: int = 100,
    **constants: Any,
) -> dict[str, Any]:
    """:func:`~mmoe_lab.synthetic.make_task_splits` at the live budget, plus its generator.

    The arrays are identical to ``make_task_splits(n_train, n_test, correlation,
    preset=preset, random_state=random_state)``; the extra key ``"generator"`` (the
    :class:`~mmoe_lab.synthetic.TaskGenerator` that drew them, labels standardized) lets
    :func:`train_and_evaluate` stream fresh training samples.

    Returns:
        dict with ``x_train (n_train, d)``, ``y_train (n_train, T)``, ``x_test``, ``y_test``,
        ``label_r (T, T)`` and ``generator``.
    """
    n_train = LIVE_BUDGET["n_train"] if n_train is None else n_train
    n_test = LIVE_BUDGET["n_test"] if n_test is None else n_test
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    # same draws, in the same order, as make_task_splits
    gen = TaskGenerator.from_preset(n_features, correlation, preset=preset, standardize=True,
                                    random_state=rng, **constants)
    x_tr, y_tr = gen.sample(n_train, rng)
    x_te, y_te = gen.sample(n_test, rng)
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
            "label_r": gen.label_correlation(), "generator": gen}


def fresh_sample_dataset(generator: TaskGenerator, batch_size: int, seed: int = 0,
                         names: Sequence[str] | None = None):
    """An endless stream of fresh batches drawn from ``generator``'s tasks, for ``model.fit``.

    Each batch is :meth:`~mmoe_lab.synthetic.TaskGenerator.sample` (numpy, so it runs on any
    backend without TensorFlow), drawn from one ``numpy`` generator seeded with ``seed``: the
    same ``seed`` gives the same batches.

    Returns:
        a generator of ``(x (batch, d), {task_name: (batch,)})``.
    """
    t = generator.num_tasks
    names = list(names) if names is not None else [f"task_{i}" for i in range(t)]
    if len(names) != t:
        raise invalid("names", f"{t} names, one per task of the generator", names)

    def batches():
        for x, y in generator.stream(batch_size, np.random.default_rng([int(seed), 11])):
            yield x, {n: y[:, i] for i, n in enumerate(names)}

    return batches()


def train_and_evaluate(
    arch: str,
    data: dict[str, Any],
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    fresh_samples: bool | None = None,
    steps_per_epoch: int | None = None,
    steps_per_execution: int | None = None,
    lr_schedule: str | None = None,
    jit_compile: bool = False,
    **build_kwargs: Any,
) -> dict[str, Any]:
    """Build ``arch`` for the tasks in ``data``, train it, and measure per-task test MSE.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        data: a dict as returned by :func:`~mmoe_lab.synthetic.make_task_splits` or
            :func:`live_splits` (``x_train (n, d)``, ``y_train (n, T)``, ``x_test``,
            ``y_test``; optionally ``generator``).
        epochs, batch_size, learning_rate, fresh_samples: default to :data:`LIVE_BUDGET`.
            With ``fresh_samples`` true and a ``generator`` in ``data``, training batches are
            fresh draws (``x_train`` is then unused); without a generator the fixed
            ``x_train`` is used.
        seed: seeds weight initialisation, batch order and fresh samples.
        callbacks: extra Keras callbacks (e.g. a progress bar or a gate monitor).
        steps_per_epoch: with fresh samples, steps per epoch (default ``n_train // batch_size``).
        steps_per_execution: training steps per call into the compiled step; default 1.
        lr_schedule: ``"constant"`` or ``"cosine"`` (cosine decay from ``learning_rate`` to 1% of
            it over the whole run, which settles the final weights so that a single run's test
            loss reflects the architecture more than the last steps' noise); default from
            :data:`LIVE_BUDGET`.
        jit_compile: compile the train step with XLA (measured slower on small CPU models,
            hence off by default).
        **build_kwargs: passed to :func:`~mmoe_lab.models.build_model`.

    Returns:
        dict with ``model``, ``history`` (DataFrame, one row per epoch: ``loss``,
        ``val_loss`` and per-task columns), ``test_loss`` (``{task: MSE}``) and
        ``mean_test_loss`` (the mean over tasks).
    """
    epochs = LIVE_BUDGET["epochs"] if epochs is None else epochs
    batch_size = LIVE_BUDGET["batch_size"] if batch_size is None else batch_size
    learning_rate = LIVE_BUDGET["learning_rate"] if learning_rate is None else learning_rate
    fresh = LIVE_BUDGET["fresh_samples"] if fresh_samples is None else bool(fresh_samples)
    fresh = fresh and data.get("generator") is not None
    schedule = LIVE_BUDGET.get("lr_schedule", "constant") if lr_schedule is None else lr_schedule
    n_rows = len(data["x_train"])
    steps = (steps_per_epoch or max(1, n_rows // batch_size)) if fresh else -(-n_rows // batch_size)
    learning_rate = learning_rate_schedule(learning_rate, schedule, epochs * steps)
    keras.backend.clear_session()
    set_random_seed(seed)
    num_tasks = data["y_train"].shape[1]
    model = build_model(arch, num_tasks, data["x_train"].shape[1], learning_rate=learning_rate, **build_kwargs)
    if jit_compile:
        model.jit_compile = True
    names = [f"task_{i}" for i in range(num_tasks)]
    validation = (data["x_test"], label_dict(data["y_test"], names))
    if fresh:
        model.steps_per_execution = steps_per_execution or 1
        hist = model.fit(
            fresh_sample_dataset(data["generator"], batch_size, seed, names), steps_per_epoch=steps,
            shuffle=False, validation_data=validation, epochs=epochs, verbose=0, callbacks=list(callbacks or []),
        )
    else:
        model.steps_per_execution = steps_per_execution or 1
        hist = model.fit(
            data["x_train"], label_dict(data["y_train"], names), validation_data=validation,
            epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks or []),
        )
    history = pd.DataFrame(hist.history)
    history.index.name = "epoch"
    test_loss = {n: float(history[f"val_{n}_loss"].iloc[-1]) for n in names}
    return {"model": model, "history": history, "test_loss": test_loss,
            "mean_test_loss": float(np.mean(list(test_loss.values())))}


def compare_over_seeds(
    archs: Sequence[str] = ARCHITECTURES,
    correlations: Sequence[float] = (0.5,),
    seeds: Sequence[int] = tuple(range(8)),
    *,
    setup: str = "lesson",
    preset: str = "teaching",
    eval_every: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    generator_kwargs: dict[str, Any] | None = None,
    callback: Callable[[int, int], None] | None = None,
    **budget: Any,
) -> dict[str, Any]:
    """Train every (architecture, correlation, seed) in the lesson's live setup, many runs at once.

    One seed is an anecdote: the spread between seeds is often larger than the effect a
    notebook wants to show. This trains all ``len(correlations) × len(seeds)`` runs of an
    architecture as replicas of one :class:`~mmoe_lab.replicas.ReplicaStack` (one Keras step
    for all of them), so a notebook can afford several seeds. Where the backend allows it
    (:func:`mmoe_lab.backend.concurrent_training`: JAX) the architectures' stacks train side by
    side in threads, with the same numbers as one after another. Replica ``(p, s)`` draws its
    tasks, test set, training batches and initial weights from seed ``s``; the same ``s`` at
    another ``p`` has the same directions and sine constants (only ``p`` differs), and every
    architecture sees the same test sets. Runs differ from :func:`train_and_evaluate` with the
    same seed in the random streams only (fresh batches, initial weights), not in the budget.

    Args:
        archs: subset of ``("shared_bottom", "omoe", "mmoe")``.
        correlations: task cosines ``p``.
        seeds: data and initialisation seeds.
        setup: ``"lesson"`` (default: :data:`LESSON_GENERATOR`, :data:`LESSON_MODEL`,
            :data:`LESSON_BUDGET`) or ``"teaching"`` (the preset's own constants, the kit's
            default sizes, :data:`LIVE_BUDGET`); see :data:`SETUPS`. The arguments below
            override it.
        preset: generator preset.
        eval_every: steps between curve points (default: one epoch of the budget).
        model_kwargs: architecture options of :class:`~mmoe_lab.replicas.ReplicaConfig`
            (``num_experts``, ``expert_units``, ``tower_units``, ``shared_units``), on top of
            the setup's.
        generator_kwargs: generator constants (``scale``, ``n_sines``, ``alpha_std``,
            ``beta``, ``noise_std``) on top of the setup's, passed through
            :func:`~mmoe_lab.replicas.train_replicas` to
            :meth:`~mmoe_lab.synthetic.TaskGenerator.from_preset`.
        callback: optional ``callback(done, total)``, e.g. a progress bar
            (:class:`mmoe_lab.progress.StepProgress`), called from the calling thread with the
            training steps done so far over all architectures and their total: after every
            curve point when the stacks train one after another, every 0.25 s (if ``done``
            moved) when they train side by side. ``done`` never decreases and ends at ``total``.
        **budget: overrides of the setup's budget (``n_train``, ``n_test``, ``epochs``,
            ``batch_size``, ``learning_rate``, ``fresh_samples``, ``lr_schedule``).

    Returns:
        dict with

        * ``"runs"``: one row per (arch, correlation, seed): ``arch, correlation, seed,
          replica`` (its index in that architecture's stack), ``test_loss`` (mean test MSE over
          tasks) and ``task_<i>``;
        * ``"curves"``: one row per (arch, correlation, seed, step): ``test_loss`` (mean over
          tasks) and ``val_loss`` (sum over tasks, as a Keras history) at that step;
        * ``"weights"``: ``{arch: final replica weights}`` and ``"configs"``: ``{arch:
          ReplicaConfig}`` (e.g. for :func:`~mmoe_lab.replicas.replica_gates`).
    """
    from .replicas import train_replicas

    check_choice("setup", setup, sorted(SETUPS))
    base = SETUPS[setup]
    unknown = set(budget) - set(base["budget"])
    if unknown:
        raise invalid("budget", f"keys among {sorted(base['budget'])}", sorted(budget),
                      received=f"unknown budget keys {sorted(unknown)}")
    check_subset("archs", archs, ARCHITECTURES)
    check_nonempty("seeds", list(seeds), "at least one seed")
    check_nonempty("correlations", list(correlations), "at least one correlation")
    model_kwargs = {**base["model"], **(model_kwargs or {})}
    generator_kwargs = {**base["generator"], **(generator_kwargs or {})}
    b = {**base["budget"], **budget}
    epoch_steps = max(1, b["n_train"] // b["batch_size"])
    steps = b["epochs"] * epoch_steps
    grid = [(float(p), int(s)) for p in correlations for s in seeds]
    runs, curves, weights, configs = [], [], {}, {}
    total = steps * len(archs)
    done = {arch: 0 for arch in archs}  # steps done per architecture, written by its trainer
    shown = [0]  # steps last reported

    def notify() -> None:
        """Report the steps done over all architectures (from the calling thread only)."""
        now = sum(done.values())
        if now == shown[0]:
            return
        shown[0] = now
        if callback is not None:
            callback(now, total)

    threads = len(archs) if _backend.concurrent_training() else 1

    def train(arch: str) -> dict[str, Any]:
        def report(steps_done: int) -> None:
            done[arch] = steps_done
            if threads == 1:  # in the calling thread: report every curve point
                notify()

        if threads == 1:
            keras.backend.clear_session()
        return train_replicas(
            arch, [s for _, s in grid], [p for p, _ in grid], preset=preset,
            n_train=None if b["fresh_samples"] else b["n_train"], n_test=b["n_test"], steps=steps,
            batch_size=b["batch_size"], learning_rate=b["learning_rate"],
            lr_schedule=b.get("lr_schedule", "constant"), eval_every=eval_every or epoch_steps,
            cfg_kwargs=model_kwargs, generator_kwargs=generator_kwargs, callback=report,
        )

    if threads > 1:
        keras.backend.clear_session()
    # side by side (JAX: each architecture's stack in its own thread, progress polled from here)
    results = dict(_backend.run_side_by_side(train, list(archs), threads=threads, poll=notify))
    for arch in archs:
        res = results[arch]
        weights[arch], configs[arch] = res["weights"], res["config"]
        for r, (p, s) in enumerate(grid):
            final = res["final_test"][r]
            runs.append({"arch": arch, "correlation": p, "seed": s, "replica": r, "test_loss": float(np.mean(final)),
                         **{f"task_{i}": float(v) for i, v in enumerate(final)}})
            curves += [{"arch": arch, "correlation": p, "seed": s, "step": int(k), "test_loss": float(np.mean(v)),
                        "val_loss": float(np.sum(v))}
                       for k, v in zip(res["steps"], res["test_curve"][r], strict=True)]
    return {"runs": pd.DataFrame(runs), "curves": pd.DataFrame(curves), "weights": weights, "configs": configs}


def gate_divergences(out: dict[str, Any], x: Any, arch: str = "mmoe") -> pd.DataFrame:
    """Per run of :func:`compare_over_seeds`: how differently the tasks use the experts.

    For every replica of ``arch`` the gates are read on the same inputs ``x (B, d)`` (they depend
    on ``x`` only) and the Jensen–Shannon divergence between task 0's and task 1's mean gate
    distributions is computed (:func:`mmoe_lab.diagnostics.task_divergence`, bits).

    Returns:
        DataFrame indexed by seed, one column per correlation: the divergence of that run.
    """
    from .diagnostics import task_divergence
    from .replicas import replica_gates

    if arch not in out["weights"]:
        raise invalid("arch", f"one of the architectures `out` holds, {sorted(out['weights'])}", arch)
    gates = replica_gates(out["configs"][arch], out["weights"][arch], x)  # (R, B, T, E)
    runs = out["runs"][out["runs"]["arch"] == arch]
    jsd = [float(task_divergence(gates[r])[0, 1]) for r in runs["replica"]]
    return runs.assign(jsd=jsd).pivot_table(index="seed", columns="correlation", values="jsd")
