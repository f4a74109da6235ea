"""Benchmark: the fused MMoE layer against a per-expert-loop MMoE written the classic way.

Run it with ``python -m mmoe_lab.tools.bench`` (or ``make bench``). Both models have the same
configuration (``d=100``, ``E=8`` experts of ``U=16`` units, ``T=2`` tasks, towers of 8 units),
the same data and the same optimiser; only the mixture layer differs:

* **fused** — :class:`mmoe_lab.layers.MMoE`: one expert kernel ``(d, E·U)`` (one GEMM), one gate
  kernel ``(d, T·E)`` (another), and the mix as one batched matmul.
* **loop** — :class:`LoopMMoE` below, the way many tutorials write it: ``E`` ``Dense`` experts
  and ``T`` ``Dense`` softmax gates, experts stacked to ``(B, U, E)`` in Python, and for every
  task the gate is expanded, multiplied and summed. It exists only as this baseline.

For each batch size the script prints, side by side: time from the start of ``fit`` to the
end of the first epoch (includes graph tracing), steady-state training throughput (samples/s,
median over the later epochs), and the fused/loop ratios (> 1 means the fused layer wins).
Timings depend on the machine and on whatever else is running; runs alternate between the two
layers and report medians over repeats to dampen that.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from ..backend import quiet_import_keras

quiet_import_keras()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from keras import ops  # noqa: E402

from .._validate import check_choice  # noqa: E402
from ..backend import set_random_seed  # noqa: E402
from ..layers import MMoE  # noqa: E402

__all__ = ["LoopMMoE", "build_bench_model", "time_fit", "run_bench", "format_report", "main"]

LAYERS = ("fused", "loop")


class LoopMMoE(keras.layers.Layer):
    """Per-expert-loop MMoE, as classic tutorials write it (bench baseline only).

    Args:
        num_experts: ``E``. expert_units: ``U``. num_tasks: ``T``.

    Input shape: ``(batch, d)``. Output shape: a list of ``T`` tensors ``(batch, U)``.
    """

    def __init__(self, num_experts: int = 8, expert_units: int = 16, num_tasks: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        self.num_experts, self.expert_units, self.num_tasks = num_experts, expert_units, num_tasks
        self.experts = [keras.layers.Dense(expert_units, activation="relu", name=f"expert_{e}")
                        for e in range(num_experts)]
        self.gates = [keras.layers.Dense(num_experts, activation="softmax", name=f"gate_{t}")
                      for t in range(num_tasks)]

    def build(self, input_shape) -> None:
        for layer in (*self.experts, *self.gates):
            layer.build(input_shape)

    def call(self, inputs):
        expert_out = ops.stack([expert(inputs) for expert in self.experts], axis=-1)  # (B, U, E)
        outputs = []
        for gate in self.gates:
            g = ops.expand_dims(gate(inputs), axis=1)  # (B, 1, E)
            outputs.append(ops.sum(expert_out * g, axis=-1))  # (B, U)
        return outputs

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], self.expert_units) for _ in range(self.num_tasks)]


def build_bench_model(layer: str, input_dim: int = 100, num_experts: int = 8, expert_units: int = 16,
                      num_tasks: int = 2, tower_units: int = 8, **compile_kwargs: Any) -> keras.Model:
    """MMoE regression model with the ``"fused"`` or ``"loop"`` mixture layer, compiled (Adam, MSE).

    Input ``(batch, input_dim)``; outputs ``{"task_<t>": (batch, 1)}``.
    """
    check_choice("layer", layer, LAYERS)
    inputs = keras.Input((input_dim,), name="features")
    if layer == "fused":
        mix = MMoE(num_experts, expert_units, num_tasks, name="mmoe")
    else:
        mix = LoopMMoE(num_experts, expert_units, num_tasks, name="mmoe")
    hs = mix(inputs)
    outputs = {}
    for t, h in enumerate(hs):
        h = keras.layers.Dense(tower_units, activation="relu", name=f"task_{t}_tower")(h)
        outputs[f"task_{t}"] = keras.layers.Dense(1, name=f"task_{t}")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={k: "mse" for k in outputs}, **compile_kwargs)
    return model


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self, t0: float):
        super().__init__()
        self.t0 = t0
        self.ends: list[float] = []
        self.begins: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begins.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def time_fit(layer: str, x: np.ndarray, y: dict[str, np.ndarray], batch_size: int, epochs: int,
             seed: int = 0) -> dict[str, float]:
    """Build a fresh model and time ``fit``.

    Returns:
        dict with ``first_epoch_s`` (fit start → end of epoch 1, tracing included) and
        ``samples_per_s`` (median over epochs 2.. of ``n / epoch time``; NaN if ``epochs < 2``).
    """
    keras.backend.clear_session()
    set_random_seed(seed)
    model = build_bench_model(layer, input_dim=x.shape[1], num_tasks=len(y))
    t0 = time.perf_counter()
    timer = _EpochTimer(t0)
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True, callbacks=[timer])
    steady = [len(x) / (e - b) for b, e in zip(timer.begins[1:], timer.ends[1:], strict=True)]
    return {"first_epoch_s": timer.ends[0] - t0,
            "samples_per_s": float(np.median(steady)) if steady else float("nan")}


def run_bench(batch_sizes: Sequence[int] = (256, 1024), n_samples: int = 32_768, epochs: int = 6,
              repeats: int = 3, input_dim: int = 100, seed: int = 0) -> pd.DataFrame:
    """Time both layers at each batch size; alternate layers and take medians over ``repeats``.

    Returns:
        DataFrame indexed by batch size with ``first_epoch_s`` and ``samples_per_s`` for each
        layer (columns ``<metric>_<layer>``) and the fused/loop ratios ``steady_ratio``
        (throughput, fused ÷ loop) and ``first_epoch_ratio`` (time, loop ÷ fused).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, input_dim)).astype(np.float32)
    y = {f"task_{t}": rng.standard_normal(n_samples).astype(np.float32) for t in range(2)}
    rows = []
    for bs in batch_sizes:
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in LAYERS}
        for r in range(repeats):
            order = LAYERS if r % 2 == 0 else LAYERS[::-1]
            for layer in order:
                runs[layer].append(time_fit(layer, x, y, bs, epochs, seed=seed + r))
        row: dict[str, float] = {"batch_size": bs}
        for layer in LAYERS:
            for key in ("first_epoch_s", "samples_per_s"):
                row[f"{key}_{layer}"] = float(np.median([run[key] for run in runs[layer]]))
        row["steady_ratio"] = row["samples_per_s_fused"] / row["samples_per_s_loop"]
        row["first_epoch_ratio"] = row["first_epoch_s_loop"] / row["first_epoch_s_fused"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("batch_size")


def format_report(df: pd.DataFrame) -> str:
    """Side-by-side text table of :func:`run_bench`'s result."""
    lines = [
        f"{'batch':>6} | {'samples/s fused':>15} {'loop':>9} {'ratio':>6} | "
        f"{'1st epoch s fused':>17} {'loop':>6} {'ratio':>6}",
        "-" * 78,
    ]
    for bs, r in df.iterrows():
        lines.append(
            f"{bs:>6} | {r.samples_per_s_fused:>15,.0f} {r.samples_per_s_loop:>9,.0f} "
            f"{r.steady_ratio:>5.2f}x | {r.first_epoch_s_fused:>17.2f} {r.first_epoch_s_loop:>6.2f} "
            f"{r.first_epoch_ratio:>5.2f}x"
        )
    lines.append("ratios > 1: the fused layer is faster (throughput fused/loop; first-epoch time loop/fused)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--samples", type=int, default=32_768)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    import os

    print(f"MMoE layer bench: d=100, E=8, U=16, T=2, {args.samples} samples, {args.epochs} epochs, "
          f"median of {args.repeats} alternating runs; {os.cpu_count()} CPU cores, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    df = run_bench(args.batch_sizes, args.samples, args.epochs, args.repeats)
    print(format_report(df))
    if args.csv:
        df.to_csv(args.csv)
    return df


if __name__ == "__main__":
    main()
