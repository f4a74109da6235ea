"""Benchmark: R replicas in one training step against R sequential ``model.fit`` runs.

Run it with ``python -m mmoe_lab.tools.bench_replicas [--replicas 100] [--steps 200] [--sequential 2]``.

For each architecture both sides train the same budget per run (10k samples, batch 256,
``steps`` Adam steps, same learning rate):

* **sequential** — :func:`mmoe_lab.experiments.train_and_evaluate` style: build a Keras model,
  ``model.fit`` for ``steps / 40`` epochs (40 batches per epoch), evaluate; one run at a time
  (``--sequential`` runs, each timed end to end, including model building and tracing);
* **replicated** — :func:`mmoe_lab.replicas.train_replicas` with ``R`` replicas (data
  generation, tracing and the final evaluation included).

It prints runs/minute for each and their ratio, and the replicated run's achieved FLOP/s
(≈ 6 · params · batch per replica-step, :func:`mmoe_lab.replicas.step_flops`) as a fraction
of a large float32 matmul's FLOP/s measured in the same process just before and after.
Numbers depend on what else the machine is doing; the report prints the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from ..backend import quiet_import_keras

quiet_import_keras()

import keras  # noqa: E402

from ..backend import set_random_seed  # noqa: E402
from ..experiments import label_dict  # noqa: E402
from ..models import build_model  # noqa: E402
from ..paper import ARCHITECTURES  # noqa: E402
from ..replicas import ReplicaConfig, step_flops, train_replicas  # noqa: E402
from ..synthetic import make_task_splits  # noqa: E402

__all__ = ["matmul_peak", "time_sequential", "time_replicated", "run_bench", "paper_unit", "main"]


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of an ``n × n`` float32 matmul (``2n³`` FLOPs) over ``repeats`` timings,
    compiled by the active backend (:func:`mmoe_lab.backend.compiled`)."""
    import numpy as np
    from keras import ops

    from ..backend import compiled

    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))
    b = ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))
    f = compiled(lambda x, y: ops.sum(ops.matmul(x, y)))
    ops.convert_to_numpy(f(a, b))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        ops.convert_to_numpy(f(a, b))
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


def time_sequential(arch: str, seeds: list[int], steps: int, lr: float) -> float:
    """Seconds per run of ``build_model`` + ``model.fit`` + evaluate, averaged over ``seeds``."""
    total = 0.0
    for seed in seeds:
        data = make_task_splits(10_000, 2_000, 0.5, preset="teaching", random_state=seed)
        t = time.perf_counter()
        keras.backend.clear_session()
        set_random_seed(seed)
        model = build_model(arch, 2, 100, learning_rate=lr)
        model.fit(data["x_train"], label_dict(data["y_train"]), epochs=max(1, steps // 40),
                  batch_size=256, verbose=0)
        model.evaluate(data["x_test"], label_dict(data["y_test"]), verbose=0)
        total += time.perf_counter() - t
    return total / len(seeds)


def time_replicated(arch: str, replicas: int, steps: int, lr: float) -> tuple[float, float]:
    """(seconds for all replicas end to end, seconds of the training steps alone)."""
    t = time.perf_counter()
    marks: list[float] = []
    train_replicas(arch, list(range(replicas)), 0.5, preset="teaching", steps=steps, eval_every=steps // 5,
                   learning_rate=lr, callback=lambda done: marks.append(time.perf_counter()))
    total = time.perf_counter() - t
    # steady-state training time: from the first curve point to the last (excludes tracing)
    steady = (marks[-1] - marks[0]) * 5 / 4
    return total, steady


def run_bench(replicas: int = 100, steps: int = 200, sequential: int = 2, lr: float = 1e-2) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    peak_before = matmul_peak()
    for arch in ARCHITECTURES:
        seq = time_sequential(arch, list(range(sequential)), steps, lr)
        total, steady = time_replicated(arch, replicas, steps, lr)
        flops = step_flops(ReplicaConfig(arch), 256) * replicas * steps
        rows.append({"arch": arch, "seq_runs_per_min": 60 / seq, "rep_runs_per_min": 60 * replicas / total,
                     "ratio": seq * replicas / total, "rep_gflops": flops / steady / 1e9})
    peak_after = matmul_peak()
    peak = max(peak_before, peak_after)
    for r in rows:
        r["peak_gflops"] = peak / 1e9
        r["fraction_of_peak"] = r["rep_gflops"] * 1e9 / peak
    return rows


def _timestamps(marks: list[float]) -> Callable[[int], None]:
    """A training callback that appends the time of each call to ``marks``."""
    def mark(_done: int) -> None:
        marks.append(time.perf_counter())

    return mark


def paper_unit(archs: tuple[str, ...] = ARCHITECTURES, replicas: int = 20,
               steps: int = 1_000, repeats: int = 2) -> dict[str, dict[str, float]]:
    """The paper-regime study unit's speed on the active backend, and its share of matmul peak.

    One unit of the paper-regime study (:data:`mmoe_lab.study.PAPER_REGIME`: paper preset,
    fresh samples every step, batch 256, Adam 1e-3) trains ``replicas`` seeds at one ``p`` in
    one stack (:func:`mmoe_lab.replicas.train_replicas`, sampling inside the compiled step).
    Here each architecture trains ``steps`` steps (the study runs 20,000) with a curve point
    every ``steps // 5``; the time from the first curve point to the last (tracing and
    compilation excluded) gives seconds per 1,000 replica-steps (best of ``repeats``). The
    FLOP rate counts the model's arithmetic only (:func:`mmoe_lab.replicas.step_flops`; the
    sampling is overhead), as a share of :func:`matmul_peak` measured in the same process
    before and after (the best of both).

    Returns:
        ``{arch: {"s_per_1000_replica_steps", "gflops", "peak_gflops", "fraction_of_peak",
        "unit_seconds"}}``; ``unit_seconds`` extrapolates to the study's 20,000 steps.
    """
    points = 5
    peak = matmul_peak()
    rows: dict[str, dict[str, float]] = {}
    for arch in archs:
        best = float("inf")
        for _ in range(repeats):
            marks: list[float] = []
            mark = _timestamps(marks)
            train_replicas(arch, list(range(replicas)), 0.5, preset="paper", n_train=None, n_test=2_000,
                           steps=steps, batch_size=256, learning_rate=1e-3, eval_every=steps // points,
                           callback=mark)
            best = min(best, (marks[-1] - marks[0]) / (steps * (points - 1) // points))
        rows[arch] = {"s_per_1000_replica_steps": best / replicas * 1_000,
                      "gflops": step_flops(ReplicaConfig(arch), 256) * replicas / best / 1e9,
                      "unit_seconds": best * 20_000}
    peak = max(peak, matmul_peak())
    for r in rows.values():
        r["peak_gflops"] = peak / 1e9
        r["fraction_of_peak"] = r["gflops"] * 1e9 / peak
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--steps", type=int, default=200, help="Adam steps per run (multiple of 40)")
    ap.add_argument("--sequential", type=int, default=2, help="sequential model.fit runs timed per model")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    rows = run_bench(args.replicas, args.steps, args.sequential)
    print(f"budget per run: 10k samples, batch 256, {args.steps} steps; R = {args.replicas}; "
          f"load average at start {load:.1f} on {os.cpu_count()} cores")
    print(f"{'model':<14}{'seq runs/min':>14}{'rep runs/min':>14}{'ratio':>8}{'GFLOP/s':>9}{'peak':>8}{'frac':>7}")
    for r in rows:
        print(f"{r['arch']:<14}{r['seq_runs_per_min']:>14.1f}{r['rep_runs_per_min']:>14.1f}{r['ratio']:>7.1f}x"
              f"{r['rep_gflops']:>9.1f}{r['peak_gflops']:>8.1f}{r['fraction_of_peak']:>7.1%}")


if __name__ == "__main__":
    main()
