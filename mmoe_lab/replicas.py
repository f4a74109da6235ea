"""Train R independent replicas of one architecture in a single model and a single step.

The paper's synthetic results are averages over 200 runs per (model, correlation). Fitting
them one by one pays the framework's per-step overhead 200 times for tiny matrices. Here every
weight gets a leading *replica* axis ``R`` and every matmul becomes a batched matmul: the
stacked-kernel idea of :class:`mmoe_lab.layers.MMoE` (which stacks experts) one level up.

* inputs ``x``: ``(R, B, d)`` (replica ``r`` sees its own batch of its own data set);
* shared-bottom: ``relu(x @ W + b)`` with ``W (R, d, H)``, towers per task;
* (O|M)MoE: exactly the layer's math, :func:`~mmoe_lab.layers.expert_forward`,
  :func:`~mmoe_lab.layers.gate_forward` and :func:`~mmoe_lab.layers.mix_experts` with the
  replica axis in front, on the layer's own weight layout (``expert_kernel (R, d, E·U)``,
  ``gate_kernel (R, d, G·E)``): replica ``r``'s slices can be assigned to an ``MMoE`` layer
  as they are; towers ``einsum("rbtu,rtuk->rbtk")``.

The loss is the *sum over replicas* of each replica's own loss (sum over tasks of the MSE),
so the gradient with respect to replica ``r``'s weights is exactly replica ``r``'s gradient,
and Adam (an element-wise optimiser) updates each replica exactly as if it trained alone.
``tests/test_replicas.py`` checks this against a plain :func:`mmoe_lab.models.build_model`
model given the same initial weights and the same batches.

The training loop itself is the one backend-specific piece (a compiled loop of ``k`` steps);
it lives in :func:`mmoe_lab.backend.replica_loop`, one small function per backend around the
backend-agnostic batch and loss functions defined here. ``python -m mmoe_lab.tools.bench_replicas``
measures runs/minute replicated vs sequential ``model.fit`` and the FLOP/s achieved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend as _backend
from ._validate import check_choice, check_int, check_ndim, invalid

_backend.select()

import keras  # noqa: E402
from keras import ops  # noqa: E402

from .layers import expert_forward, gate_forward, glorot_blocks, mix_experts  # noqa: E402
from .models import learning_rate_schedule, matched_shared_units, mixture_params, tower_params  # noqa: E402
from .paper import ARCHITECTURES  # noqa: E402
from .synthetic import TaskGenerator, label_function  # noqa: E402

__all__ = [
    "ReplicaConfig",
    "ReplicaStack",
    "init_replica_weights",
    "replica_param_count",
    "make_replica_data",
    "train_replicas",
    "step_flops",
    "weights_for_keras",
    "replica_gates",
]


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ReplicaConfig:
    """Architecture of every replica (the paper's §5.1 defaults).

    Attributes:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        input_dim: ``d``. num_tasks: ``T``. num_experts: ``E``. expert_units: ``U``.
        tower_units: hidden width of each one-layer task tower.
        shared_units: shared-bottom width; ``None`` = parameter-matched to MMoE
            (:func:`mmoe_lab.models.matched_shared_units`).
    """

    arch: str = "mmoe"
    input_dim: int = 100
    num_tasks: int = 2
    num_experts: int = 8
    expert_units: int = 16
    tower_units: int = 8
    shared_units: int | None = None

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHITECTURES)
        for name in ("input_dim", "num_tasks", "num_experts", "expert_units", "tower_units"):
            check_int(name, getattr(self, name))

    @property
    def num_gates(self) -> int:
        return 1 if self.arch == "omoe" else self.num_tasks

    @property
    def width(self) -> int:
        """Shared-bottom hidden width (parameter-matched unless given)."""
        return self.shared_units or matched_shared_units(
            self.input_dim, self.num_tasks, self.num_experts, self.expert_units, self.tower_units)

    @property
    def bottom_units(self) -> int:
        """Width of what each tower receives: ``H`` (shared-bottom) or ``U`` (mixtures)."""
        return self.width if self.arch == "shared_bottom" else self.expert_units


def replica_param_count(cfg: ReplicaConfig) -> int:
    """Trainable parameters of *one* replica (equals the Keras model's ``count_params()``)."""
    if cfg.arch == "shared_bottom":
        return (cfg.input_dim + 1) * cfg.width + tower_params(cfg.num_tasks, cfg.width, cfg.tower_units)
    return mixture_params(cfg.input_dim, cfg.num_tasks, cfg.num_experts, cfg.expert_units,
                          cfg.tower_units, cfg.num_gates)


def step_flops(cfg: ReplicaConfig, batch_size: int) -> float:
    """Approximate FLOPs of one training step of one replica: 3 × (2 · multiply-adds) × B.

    Forward = 2 FLOPs per weight per sample (plus the small gate mixing), backward ≈ 2×
    forward, so a step is ≈ 6 · params · B (the usual dense-network estimate).
    """
    mix = 0 if cfg.arch == "shared_bottom" else 2 * cfg.num_tasks * cfg.num_experts * cfg.expert_units
    return 3.0 * batch_size * (2.0 * replica_param_count(cfg) + mix)


def init_replica_weights(cfg: ReplicaConfig, seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """Initial weights of ``R = len(seeds)`` replicas, replica ``r`` drawn from ``seeds[r]`` alone.

    Same scheme as the Keras builders (:func:`mmoe_lab.layers.glorot_blocks`): Glorot-uniform
    kernels with per-block fans (each expert, each gate and each tower like its own ``Dense``),
    zero biases. Replica ``r``'s weights depend only on
    ``seeds[r]``, so a replica can be re-created alone.

    Returns:
        dict of float32 arrays with a leading ``R`` axis: shared-bottom ``bottom_kernel (R, d, H)``,
        ``bottom_bias (R, H)``; mixtures ``expert_kernel (R, d, E·U)`` (column ``e·U + u`` is
        expert ``e``'s unit ``u``), ``expert_bias (R, E·U)``, ``gate_kernel (R, d, G·E)``,
        ``gate_bias (R, G·E)``; all: ``tower_kernel (R, T, H|U, t)``, ``tower_bias (R, T, t)``,
        ``out_kernel (R, T, t)``, ``out_bias (R, T)``.
    """
    d, T, E, U, t = cfg.input_dim, cfg.num_tasks, cfg.num_experts, cfg.expert_units, cfg.tower_units
    G, H, K = cfg.num_gates, cfg.width, cfg.bottom_units
    out: dict[str, list[np.ndarray]] = {}

    def put(name: str, value: np.ndarray) -> None:
        out.setdefault(name, []).append(value)

    for seed in seeds:
        rng = np.random.default_rng([int(seed), 20180819])
        if cfg.arch == "shared_bottom":
            put("bottom_kernel", glorot_blocks(rng, 1, d, H))
            put("bottom_bias", np.zeros(H, np.float32))
        else:
            put("expert_kernel", glorot_blocks(rng, E, d, U))  # one Glorot block per expert, side by side
            put("expert_bias", np.zeros(E * U, np.float32))
            put("gate_kernel", glorot_blocks(rng, G, d, E))
            put("gate_bias", np.zeros(G * E, np.float32))
        put("tower_kernel", np.stack([glorot_blocks(rng, 1, K, t) for _ in range(T)]))
        put("tower_bias", np.zeros((T, t), np.float32))
        put("out_kernel", np.stack([glorot_blocks(rng, 1, t, 1)[:, 0] for _ in range(T)]))
        put("out_bias", np.zeros(T, np.float32))
    return {k: np.stack(v) for k, v in out.items()}


def weights_for_keras(cfg: ReplicaConfig, weights: dict[str, np.ndarray], r: int, model: keras.Model) -> None:
    """Copy replica ``r`` of ``weights`` into a :func:`mmoe_lab.models.build_model` model."""
    T = cfg.num_tasks
    if cfg.arch == "shared_bottom":
        model.get_layer("shared_bottom").set_weights([weights["bottom_kernel"][r], weights["bottom_bias"][r]])
    else:
        layer = model.get_layer(cfg.arch)  # same layout as the layer: assigned as they are
        for name in ("expert_kernel", "expert_bias", "gate_kernel", "gate_bias"):
            getattr(layer, name).assign(weights[name][r])
    for i in range(T):
        model.get_layer(f"task_{i}_tower").set_weights([weights["tower_kernel"][r, i], weights["tower_bias"][r, i]])
        model.get_layer(f"task_{i}").set_weights([weights["out_kernel"][r, i][:, None], weights["out_bias"][r, i:i + 1]])


def replica_gates(cfg: ReplicaConfig, weights: dict[str, np.ndarray], x: Any) -> np.ndarray:
    """Gate weights of every replica on the same inputs, in numpy (no model needed).

    Args:
        cfg: the replicas' :class:`ReplicaConfig` (``"omoe"`` or ``"mmoe"``).
        weights: arrays as :func:`init_replica_weights` or ``train_replicas(...)["weights"]``.
        x: inputs ``(B, d)`` (the gates depend on ``x`` only, not on the tasks).

    Returns:
        ``(R, B, T, E)``: replica ``r``'s softmax gate of each task for each sample, the layout
        of :func:`mmoe_lab.diagnostics.probe` per replica (a one-gate MoE repeats its gate for
        every task).
    """
    if cfg.arch == "shared_bottom":
        raise invalid("cfg.arch", "'omoe' or 'mmoe' (shared-bottom has no gates)", cfg.arch)
    x = check_ndim("x", x, 2, f"(batch, {cfg.input_dim})", np.float32)
    if x.shape[1] != cfg.input_dim:
        raise invalid("x", f"an array of shape (batch, {cfg.input_dim})", x, received=f"`x` of shape {x.shape}")
    g = cfg.num_gates
    # the layer's gate math; (B, d) @ (R, d, G·E) broadcasts to (R, B, G·E)
    logits = gate_forward(x, weights["gate_kernel"], weights["gate_bias"], g)
    gates = ops.convert_to_numpy(ops.softmax(logits, axis=-1)).astype(np.float32)
    return np.repeat(gates, cfg.num_tasks, axis=2) if g == 1 else gates


# ----------------------------------------------------------------------------- the layer


@keras.saving.register_keras_serializable(package="mmoe_lab")
class ReplicaStack(keras.layers.Layer):
    """``R`` independent multi-task models (shared-bottom, OMoE or MMoE) evaluated as one.

    Every weight has a leading replica axis; see the module docstring for the einsums.

    Args:
        num_replicas: ``R``.
        arch, input_dim, num_tasks, num_experts, expert_units, tower_units, shared_units:
            as :class:`ReplicaConfig`.

    Input shape: ``(R, B, d)``. Output shape: ``(R, B, T)`` (one linear output per task).

    Example:
        >>> stack = ReplicaStack(4, arch="mmoe")
        >>> tuple(stack(np.zeros((4, 32, 100), "float32")).shape)
        (4, 32, 2)
    """

    def __init__(self, num_replicas: int, arch: str = "mmoe", input_dim: int = 100, num_tasks: int = 2,
                 num_experts: int = 8, expert_units: int = 16, tower_units: int = 8,
                 shared_units: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.num_replicas = check_int("num_replicas", num_replicas)
        self.cfg = ReplicaConfig(arch, input_dim, num_tasks, num_experts, expert_units, tower_units, shared_units)

    def build(self, input_shape) -> None:
        shapes = {k: v.shape for k, v in init_replica_weights(self.cfg, [0] * self.num_replicas).items()}
        self._names = list(shapes)
        for name, shape in shapes.items():
            setattr(self, name, self.add_weight(name=name, shape=shape, initializer="zeros"))

    def set_replica_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Assign the arrays of :func:`init_replica_weights` (same ``R``)."""
        for name in self._names:
            getattr(self, name).assign(weights[name])

    def get_replica_weights(self) -> dict[str, np.ndarray]:
        return {name: ops.convert_to_numpy(getattr(self, name)) for name in self._names}

    def call(self, x):
        cfg = self.cfg
        if cfg.arch == "shared_bottom":
            h = ops.relu(ops.matmul(x, self.bottom_kernel) + self.bottom_bias[:, None, :])
            # every tower reads the same h: one matmul against the towers side by side (R, H, T·t)
            r, b, hw = ops.shape(h)[0], ops.shape(h)[1], ops.shape(h)[2]
            kernel = ops.reshape(ops.transpose(self.tower_kernel, (0, 2, 1, 3)), (r, hw, -1))
            z = ops.reshape(ops.matmul(h, kernel), (r, b, cfg.num_tasks, cfg.tower_units))
        else:
            # the MMoE layer's own math, with the replica axis in front
            experts = expert_forward(x, self.expert_kernel, self.expert_bias, ops.relu, cfg.num_experts)
            gates = ops.softmax(gate_forward(x, self.gate_kernel, self.gate_bias, cfg.num_gates), axis=-1)
            mixed = mix_experts(gates, experts)  # (R, B, G, U)
            if cfg.num_gates == 1:
                z = ops.einsum("rbu,rtuk->rbtk", mixed[:, :, 0, :], self.tower_kernel)
            else:
                z = ops.einsum("rbtu,rtuk->rbtk", mixed, self.tower_kernel)
        z = ops.relu(z + self.tower_bias[:, None, :, :])
        return ops.einsum("rbtk,rtk->rbt", z, self.out_kernel) + self.out_bias[:, None, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.cfg.num_tasks)

    def get_config(self) -> dict[str, Any]:
        c = self.cfg
        return {**super().get_config(), "num_replicas": self.num_replicas, "arch": c.arch,
                "input_dim": c.input_dim, "num_tasks": c.num_tasks, "num_experts": c.num_experts,
                "expert_units": c.expert_units, "tower_units": c.tower_units,
                "shared_units": c.shared_units}


# ----------------------------------------------------------------------------- data


@dataclass
class ReplicaData:
    """Per-replica data sets (or generators, for fresh samples).

    Attributes:
        x_train: ``(R, N, d)``; or ``(N, d)`` shared by all replicas (``shared_inputs``);
            ``None`` for fresh samples. y_train: ``(R, N, T)`` or ``None``.
        x_test ``(R, n_test, d)``, y_test ``(R, n_test, T)``: each replica's own test set.
        generators: each replica's :class:`TaskGenerator` (standardized labels).
    """

    x_train: np.ndarray | None
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    generators: list[TaskGenerator]

    @property
    def fresh(self) -> bool:
        return self.x_train is None

    @property
    def shared_inputs(self) -> bool:
        return self.x_train is not None and self.x_train.ndim == 2


def make_replica_data(
    seeds: Sequence[int], correlation: float | Sequence[float], *, preset: str = "teaching",
    n_train: int | None = 10_000, n_test: int = 2_000, n_features: int = 100, num_tasks: int = 2,
    shared_inputs: bool = False, generator_kwargs: dict[str, Any] | None = None,
) -> ReplicaData:
    """Each replica's own task draw and data set, from its data seed.

    With ``shared_inputs=False`` replica ``r``'s arrays equal
    ``make_task_splits(n_train, n_test, correlation, preset=preset, random_state=seeds[r])``
    exactly (the data :func:`mmoe_lab.experiments.live_splits` draws for that seed).

    Args:
        correlation: the task cosine ``p`` of every replica, or one ``p`` per replica (a
            sequence as long as ``seeds``), so one stack can hold several correlations.
        n_train: training-set size; ``None`` = fresh samples every step (the generator runs
            inside the training step; only the test sets are materialised).
        shared_inputs: draw one input pool ``(n_train, d)`` for all replicas (each still has
            its own task weights, sine constants, noise, labels and batch order). Saves memory
            at ``n_train`` = 1M (``R × 400 MB`` otherwise).
        generator_kwargs: overrides of the preset's generator constants (``scale``,
            ``n_sines``, ``alpha_std``, ``beta``, ``noise_std``), passed to
            :meth:`TaskGenerator.from_preset`; ``None`` = the preset's own.
    """
    ps = _per_replica_correlations(correlation, len(seeds))
    gens, xtr, ytr, xte, yte = [], [], [], [], []
    pool = None
    if shared_inputs and n_train is not None:
        pool = np.random.default_rng([min(seeds), 7]).standard_normal((n_train, n_features)).astype(np.float32)
    for seed, p in zip(seeds, ps, strict=True):
        rng = np.random.default_rng(int(seed))
        gen = TaskGenerator.from_preset(n_features, p, num_tasks=num_tasks, preset=preset,
                                        standardize=True, random_state=rng, **(generator_kwargs or {}))
        gens.append(gen)
        if n_train is not None and pool is None:
            x, y = gen.sample(n_train, rng)
            xtr.append(x)
            ytr.append(y)
        elif pool is not None:
            ytr.append(gen.labels(pool, rng))
        x, y = gen.sample(n_test, rng)
        xte.append(x)
        yte.append(y)
    x_train = pool if pool is not None else (np.stack(xtr) if xtr else None)
    y_train = np.stack(ytr) if ytr else None
    return ReplicaData(x_train, y_train, np.stack(xte), np.stack(yte), gens)


def _per_replica_correlations(correlation: float | Sequence[float], n: int) -> list[float]:
    """One task cosine per replica: a scalar is repeated, a sequence must have length ``n``."""
    if np.ndim(correlation) == 0:
        return [float(correlation)] * n  # type: ignore[arg-type]
    ps = [float(p) for p in correlation]  # type: ignore[union-attr]
    if len(ps) != n:
        raise invalid("correlation", f"one number or one per replica ({n})", ps, received=f"{len(ps)} values")
    return ps


def batch_indices(seeds: Sequence[int], n: int, batch_size: int, start: int, steps: int) -> np.ndarray:
    """Batch indices ``(steps, R, B)`` of steps ``start .. start+steps-1``.

    Replica ``r`` walks through a fresh permutation of ``range(n)`` each epoch, drawn from
    ``(seeds[r], epoch)``; batches run across epoch boundaries, so every batch is full and the
    budget is a number of steps.
    """
    first, last = start * batch_size, (start + steps) * batch_size
    out = np.empty((len(seeds), last - first), np.int64)
    for r, seed in enumerate(seeds):
        parts = []
        for epoch in range(first // n, (last - 1) // n + 1):
            perm = np.random.default_rng([int(seed), epoch, 31]).permutation(n)
            lo, hi = max(first - epoch * n, 0), min(last - epoch * n, n)
            parts.append(perm[lo:hi])
        out[r] = np.concatenate(parts)
    return out.reshape(len(seeds), steps, batch_size).transpose(1, 0, 2)


# ----------------------------------------------------------------------------- training step math
# Backend-agnostic (keras.ops); the compiled loop around them is mmoe_lab.backend.replica_loop.


def _mse_per_replica(pred, y):
    """Per-replica, per-task mean squared error ``(R, T)`` of predictions ``(R, B, T)``."""
    return ops.mean(ops.square(pred - y), axis=1)


def _gather_batch(arrays: dict[str, Any], idx, step):
    """Batch ``(x (R, B, d), y (R, B, T))`` of rows ``idx (R, B)`` of each replica's training set.

    ``arrays["x"]`` is ``(R, N, d)`` (own inputs) or ``(N, d)`` (one shared input pool).
    """
    x_train, y_train = arrays["x"], arrays["y"]
    if len(x_train.shape) == 2:
        x = ops.take(x_train, idx, axis=0)
    else:
        x = ops.take_along_axis(x_train, ops.expand_dims(idx, -1), axis=1)
    return x, ops.take_along_axis(y_train, ops.expand_dims(idx, -1), axis=1)


def _fresh_arrays(gens: Sequence[TaskGenerator], seeds: Sequence[int]) -> dict[str, Any]:
    """Each replica's generator constants and seed as tensors, shaped for :func:`partial_fresh_batch`."""
    def col(values, shape):
        return ops.convert_to_tensor(np.asarray(values, np.float32).reshape(shape))

    R = len(gens)
    # a seed that several replicas share (the same seed at several p) is drawn once per step
    unique, index = np.unique(np.asarray(seeds, np.int32), return_inverse=True)
    return {
        "w": col([g.weights.T for g in gens], (R, gens[0].n_features, gens[0].num_tasks)),  # (R, d, T)
        "alpha": col([g.alpha for g in gens], (R, 1, 1, -1)),
        "beta": col([g.beta for g in gens], (R, 1, 1, -1)),
        "mu": col([g.label_mean for g in gens], (R, 1, 1)),
        "sd": col([g.label_std for g in gens], (R, 1, 1)),
        "seed": ops.convert_to_tensor(unique.astype(np.int32)),  # (S,) distinct seeds
        "seed_index": ops.convert_to_tensor(index.astype(np.int32).reshape(R)),  # (R,) replica -> its seed's row
    }


def partial_fresh_batch(R: int, B: int, d: int, T: int, noise_std: float) -> Callable[..., Any]:
    """The fresh-sample batch function: a new ``(x, y)`` from every replica's own tasks per step.

    ``x ~ N(0, I_d)`` and the noise come from a stateless normal keyed by each replica's own
    ``(seed, step)`` (:func:`mmoe_lab.backend.stateless_normal_rows`): a seed sees the same
    inputs and noise at every ``p``, in every architecture and in any stack (a seed held by
    several replicas of one stack is drawn once and shared, which gives the same numbers at
    less cost: sampling is about a third of a step on CPU). The labels come from
    :func:`mmoe_lab.synthetic.label_function`, standardized like
    :meth:`~mmoe_lab.synthetic.TaskGenerator.sample` (same distribution, not the same numbers).
    """
    def batch(arrays: dict[str, Any], idx, step):
        z = _backend.stateless_normal_rows(arrays["seed"], step, (B, d + T))  # (S, B, d + T)
        z = ops.take(z, arrays["seed_index"], axis=0)  # (R, B, d + T)
        x, eps = z[..., :d], z[..., d:]
        y = label_function(ops.matmul(x, arrays["w"]), arrays["alpha"], arrays["beta"], xp=ops)
        return x, (y + noise_std * eps - arrays["mu"]) / arrays["sd"]

    return batch


# ----------------------------------------------------------------------------- training


def train_replicas(
    arch: str,
    seeds: Sequence[int],
    correlation: float | Sequence[float] = 0.5,
    *,
    preset: str = "teaching",
    n_train: int | None = 10_000,
    n_test: int = 2_000,
    steps: int = 400,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    lr_schedule: str = "constant",
    eval_every: int = 40,
    shared_inputs: bool = False,
    data: ReplicaData | None = None,
    init_seeds: Sequence[int] | None = None,
    cfg_kwargs: dict[str, Any] | None = None,
    callback: Callable[[int], None] | None = None,
    generator_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``R = len(seeds)`` replicas of ``arch`` at once; replica ``r`` uses seed ``seeds[r]``
    for its data (task draw, samples, batch order) and its initial weights.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"`` (parameter-matched as in
            :func:`mmoe_lab.models.build_model`).
        seeds: one seed per replica.
        correlation: task cosine ``p``, or one per replica. preset: generator preset name.
        n_train: training samples per replica; ``None`` = fresh samples every step.
        steps, batch_size, learning_rate: Adam budget (same for every replica).
        lr_schedule: ``"constant"``, or ``"cosine"``: decay from ``learning_rate`` to 1% of it
            over ``steps``, as :func:`mmoe_lab.experiments.train_and_evaluate` does at the live
            budget.
        eval_every: steps between points of the loss curve (train = mean batch loss since the
            previous point, test = MSE on each replica's test set).
        data: prebuilt :class:`ReplicaData` (else made by :func:`make_replica_data`).
        init_seeds: seeds of the initial weights (default ``seeds``).
        callback: called with the number of steps done after each curve point.
        generator_kwargs: overrides of the preset's generator constants, passed to
            :func:`make_replica_data` (ignored when ``data`` is given); ``None`` = the preset's.

    Returns:
        dict with ``steps`` ``(P,)`` (curve x-axis), ``train_curve`` and ``test_curve``
        ``(R, P, T)``, ``final_train`` ``(R, T)`` (MSE over the whole training set; the last
        curve point for fresh samples), ``final_test`` ``(R, T)`` and ``weights`` (final
        arrays, as :func:`init_replica_weights`).
    """
    seeds = [int(s) for s in seeds]
    cfg = ReplicaConfig(arch, **(cfg_kwargs or {}))
    R, B, T = len(seeds), int(batch_size), cfg.num_tasks
    if data is None:
        data = make_replica_data(seeds, correlation, preset=preset, n_train=n_train, n_test=n_test,
                                 n_features=cfg.input_dim, num_tasks=T, shared_inputs=shared_inputs,
                                 generator_kwargs=generator_kwargs)
    stack = ReplicaStack(R, **{k: getattr(cfg, k) for k in ("arch", "input_dim", "num_tasks", "num_experts",
                                                             "expert_units", "tower_units", "shared_units")})
    stack.build((R, None, cfg.input_dim))
    stack.set_replica_weights(init_replica_weights(cfg, init_seeds if init_seeds is not None else seeds))
    opt = keras.optimizers.Adam(learning_rate_schedule(learning_rate, lr_schedule, steps))
    opt.build(stack.trainable_variables)
    if data.fresh:
        arrays, n = _fresh_arrays(data.generators, seeds), 0
        batch_fn = partial_fresh_batch(R, B, cfg.input_dim, T, float(data.generators[0].noise_std))
    else:
        assert data.x_train is not None and data.y_train is not None  # a data set that is not fresh has them
        arrays, n = {"x": ops.convert_to_tensor(data.x_train), "y": ops.convert_to_tensor(data.y_train)}, \
            int(data.y_train.shape[1])
        batch_fn = _gather_batch
    train, evaluate = _backend.replica_loop(stack, opt, batch_fn, _mse_per_replica)

    def eval_set(x, y):
        n_rows = x.shape[-2]
        chunk = max(1, 200_000 // R)  # bounds the activations held at once
        acc = np.zeros((R, T))
        for lo in range(0, n_rows, chunk):
            hi = min(lo + chunk, n_rows)
            xs = x[lo:hi] if x.ndim == 2 else x[:, lo:hi]
            if x.ndim == 2:
                xs = np.broadcast_to(xs, (R, *xs.shape))
            acc += evaluate(np.ascontiguousarray(xs), y[:, lo:hi]) * (hi - lo)
        return acc / n_rows

    points, train_curve, test_curve = [], [], []
    done = 0
    dummy = np.zeros((1,), np.int32)
    while done < steps:
        k = min(eval_every, steps - done)
        idx = dummy if data.fresh else batch_indices(seeds, n, B, done, k).astype(np.int32)
        tr = train(arrays, idx, done, k)
        done += k
        points.append(done)
        train_curve.append(tr)
        test_curve.append(evaluate(data.x_test, data.y_test))
        if callback is not None:
            callback(done)
    final_train = train_curve[-1] if data.fresh else eval_set(data.x_train, data.y_train)
    return {
        "steps": np.array(points),
        "train_curve": np.stack(train_curve, axis=1),
        "test_curve": np.stack(test_curve, axis=1),
        "final_train": final_train,
        "final_test": test_curve[-1],
        "weights": stack.get_replica_weights(),
        "config": cfg,
    }
