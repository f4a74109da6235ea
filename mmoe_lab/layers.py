"""Mixture-of-experts layers: MMoE (one gate per task) and OMoE (one shared gate), fused.

All experts live side by side in one kernel, so the whole layer is three matrix products and
no Python loop over experts: experts ``(B, d) @ (d, E·U) → (B, E·U)``, reshaped to
``(B, E, U)``; gates ``(B, d) @ (d, G·E) → (B, G, E)``; and the mix
``(B, T, E) @ (B, E, U) → (B, T, U)``. Column ``e·U + u`` of the expert kernel is expert
``e``'s unit ``u``, so the experts are one GEMM (measured fastest; see :mod:`mmoe_lab.tools.bench`).
The same three helpers take an optional leading *replica* axis, so
:class:`mmoe_lab.replicas.ReplicaStack` runs R independent models with this exact math.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from ._validate import check_int, check_number, invalid

__all__ = ["MMoE", "CGC", "UncertaintyWeighting", "expert_forward", "gate_forward", "mix_experts", "block_initializer",
           "side_by_side", "glorot_blocks"]


@keras.saving.register_keras_serializable(package="mmoe_lab")
class MMoE(keras.layers.Layer):
    """Multi-gate Mixture-of-Experts (Ma et al., KDD 2018), with OMoE as the one-gate case.

    For an input ``x`` (the concatenated features or embeddings), ``E`` experts
    ``f_e(x) = act(W_eᵀx + b_e)`` and, for each task ``t``, a softmax gate
    ``g_t(x) = softmax((A_tᵀx + a_t) / τ)`` over the experts; task ``t`` receives
    ``h_t = Σ_e g_t(x)_e · f_e(x)``. With ``num_gates=1`` every task receives the same mixture
    (the one-gate MoE, "OMoE", of the paper's Fig. 1b).

    Optional remedies against gate collapse, all off by default:

    * ``gate_temperature`` τ > 1 flattens the softmax, τ < 1 sharpens it;
    * ``gate_dropout``: during training each gate weight is zeroed with this probability and
      the rest renormalised (YouTube "Watch Next", Zhao et al., RecSys 2019);
    * ``balance_loss_weight`` w: adds ``w · Σ_gates CV(importance)²`` to the model loss during
      training, where importance is each expert's summed gate weight over the batch
      (Shazeer et al., ICLR 2017).

    References:
        Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate
        Mixture-of-Experts", KDD 2018.

    Example:

    >>> layer = MMoE(num_experts=8, expert_units=16, num_tasks=2)
    >>> outs = layer(keras.ops.ones((4, 100)))
    >>> len(outs), tuple(outs[0].shape)
    (2, (4, 16))

    Args:
        num_experts: number of experts ``E``.
        expert_units: output width ``U`` of each expert.
        num_tasks: number of tasks ``T`` (outputs).
        num_gates: ``None`` or ``num_tasks`` for MMoE; ``1`` for OMoE.
        expert_activation: activation of the experts (name or callable), default ``"relu"``.
        gate_temperature: softmax temperature τ > 0.
        gate_dropout: probability in [0, 1) of dropping each gate weight during training.
        balance_loss_weight: weight ``w >= 0`` of the load-balancing loss.
        return_gates: if True, also return the gate weights.
        expert_initializer, gate_initializer: kernel initializers; variance-scaling ones
            (Glorot, He, ...) use the fans of one dense layer per expert ``(d, U)`` and per
            gate ``(d, E)``.
        bias_initializer: initializer of expert and gate biases.
        expert_regularizer, gate_regularizer: optional kernel regularizers.
        seed: seed for gate dropout.

    Input shape:
        ``(batch, d)``.

    Output shape:
        a list of ``T`` tensors of shape ``(batch, U)``; with ``return_gates=True`` a tuple
        ``(that list, gates)`` with gates of shape ``(batch, T, E)`` (each row sums to 1).
    """

    def __init__(
        self,
        num_experts: int = 8,
        expert_units: int = 16,
        num_tasks: int = 2,
        *,
        num_gates: int | None = None,
        expert_activation: str | Any = "relu",
        gate_temperature: float = 1.0,
        gate_dropout: float = 0.0,
        balance_loss_weight: float = 0.0,
        return_gates: bool = False,
        expert_initializer: str | Any = "glorot_uniform",
        gate_initializer: str | Any = "glorot_uniform",
        bias_initializer: str | Any = "zeros",
        expert_regularizer: str | Any | None = None,
        gate_regularizer: str | Any | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_experts = check_int("num_experts", num_experts)
        self.expert_units = check_int("expert_units", expert_units)
        self.num_tasks = check_int("num_tasks", num_tasks)
        if num_gates is None:
            num_gates = num_tasks
        if num_gates not in (1, num_tasks):
            raise invalid("num_gates", f"1 (OMoE) or num_tasks={num_tasks} (MMoE)", num_gates)
        self.num_gates = int(num_gates)
        self.gate_temperature = check_number("gate_temperature", gate_temperature, 0, lo_open=True)
        self.gate_dropout = check_number("gate_dropout", gate_dropout, 0, 1, hi_open=True)
        self.balance_loss_weight = check_number("balance_loss_weight", balance_loss_weight, 0)
        self.return_gates = bool(return_gates)
        self.expert_activation = keras.activations.get(expert_activation)
        self.expert_initializer = keras.initializers.get(expert_initializer)
        self.gate_initializer = keras.initializers.get(gate_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.expert_regularizer = keras.regularizers.get(expert_regularizer)
        self.gate_regularizer = keras.regularizers.get(gate_regularizer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.gate_dropout > 0 else None

    # ------------------------------------------------------------------ weights
    def build(self, input_shape) -> None:
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise invalid("input_shape", f"(batch, features) with a known feature size for `{type(self).__name__}`",
                          tuple(input_shape))
        d, e, u, g = int(input_shape[-1]), self.num_experts, self.expert_units, self.num_gates
        self.input_dim = d
        self.expert_kernel = self.add_weight(
            name="expert_kernel", shape=(d, e * u),
            initializer=block_initializer(self.expert_initializer, e),
            regularizer=self.expert_regularizer,
        )
        self.expert_bias = self.add_weight(name="expert_bias", shape=(e * u,), initializer=self.bias_initializer)
        self.gate_kernel = self.add_weight(
            name="gate_kernel", shape=(d, g * e),
            initializer=block_initializer(self.gate_initializer, g),
            regularizer=self.gate_regularizer,
        )
        self.gate_bias = self.add_weight(name="gate_bias", shape=(g * e,), initializer=self.bias_initializer)
        self.input_spec = keras.InputSpec(ndim=2, axes={-1: d})

    # ------------------------------------------------------------------ pieces
    def expert_outputs(self, x):
        """Expert activations ``(batch, E, U)`` for inputs ``(batch, d)``."""
        return expert_forward(x, self.expert_kernel, self.expert_bias, self.expert_activation, self.num_experts)

    def gate_logits(self, x):
        """Gate pre-softmax scores ``(batch, G, E)`` (before the temperature)."""
        return gate_forward(x, self.gate_kernel, self.gate_bias, self.num_gates)

    def gate_weights(self, x, training: bool | None = None):
        """Gate weights ``(batch, T, E)``; each row sums to 1."""
        gates = ops.softmax(self.gate_logits(x) / self.gate_temperature, axis=-1)
        if training and self.gate_dropout > 0:
            keep = keras.random.uniform(ops.shape(gates), seed=self.seed_generator) >= self.gate_dropout
            gates = gates * ops.cast(keep, gates.dtype)
            gates = gates / ops.maximum(ops.sum(gates, axis=-1, keepdims=True), 1e-9)
        if self.num_gates == 1 and self.num_tasks > 1:
            gates = ops.repeat(gates, self.num_tasks, axis=1)
        return gates

    def call(self, inputs, training: bool | None = None):
        experts = self.expert_outputs(inputs)  # (B, E, U)
        gates = self.gate_weights(inputs, training=training)  # (B, T, E)
        if training and self.balance_loss_weight > 0:
            self.add_loss(self.balance_loss_weight * balance_loss(gates[:, : self.num_gates]))
        mixed = mix_experts(gates, experts)  # (B, T, U)
        outputs = [mixed[:, t, :] for t in range(self.num_tasks)]
        if self.return_gates:
            return outputs, gates
        return outputs

    def compute_output_shape(self, input_shape):
        outs = [(input_shape[0], self.expert_units) for _ in range(self.num_tasks)]
        if self.return_gates:
            return outs, (input_shape[0], self.num_tasks, self.num_experts)
        return outs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_experts": self.num_experts,
                "expert_units": self.expert_units,
                "num_tasks": self.num_tasks,
                "num_gates": self.num_gates,
                "expert_activation": keras.activations.serialize(self.expert_activation),
                "gate_temperature": self.gate_temperature,
                "gate_dropout": self.gate_dropout,
                "balance_loss_weight": self.balance_loss_weight,
                "return_gates": self.return_gates,
                "expert_initializer": keras.initializers.serialize(self.expert_initializer),
                "gate_initializer": keras.initializers.serialize(self.gate_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "expert_regularizer": keras.regularizers.serialize(self.expert_regularizer),
                "gate_regularizer": keras.regularizers.serialize(self.gate_regularizer),
                "seed": self.seed,
            }
        )
        return config


def balance_loss(gates):
    """Shazeer et al.'s importance loss: ``Σ_g CV(importance_g)²``.

    Args:
        gates: gate weights ``(batch, G, E)``.

    Returns:
        a scalar tensor; 0 when every expert receives the same total gate weight.
    """
    importance = ops.sum(gates, axis=0)  # (G, E)
    mean = ops.mean(importance, axis=-1)
    var = ops.var(importance, axis=-1)
    return ops.sum(var / (ops.square(mean) + 1e-10))


# ---------------------------------------------------------------------------------------------
# ---- 07-09: shared expert/gate math, task-specific experts (CGC / PLE), uncertainty weights --
# ---------------------------------------------------------------------------------------------
# The three functions below are the fused einsums every mixture layer in the kit uses: MMoE
# calls them with one input shared by all experts and gates; CGC calls them with one input per
# expert / per gate (the branches of a stacked PLE network).


def block_initializer(initializer, count: int):
    """An initializer for ``count`` dense kernels laid side by side in one ``(d, count·n)`` matrix.

    Variance-scaling initializers (Glorot, He, LeCun, ...) would read the whole matrix's fans
    ``(d, count·n)``; this one draws ``(count, d, n)`` (Keras then counts ``count`` receptive
    fields, undone by ``scale × count``) and lays the blocks side by side, so every block is
    distributed exactly like one ``Dense(n)`` kernel. Other initializers are returned as given.
    """
    if not isinstance(initializer, keras.initializers.VarianceScaling):
        return initializer
    per_block = keras.initializers.VarianceScaling(
        scale=initializer.scale * count, mode=initializer.mode,
        distribution=initializer.distribution, seed=initializer.seed,
    )

    def init(shape, dtype=None):
        d, width = shape
        return side_by_side(per_block((count, d, width // count), dtype=dtype))

    return init


def side_by_side(blocks, xp: Any = ops):
    """``count`` kernels ``(count, d, n)`` as one fused kernel ``(d, count·n)``: block ``c`` fills
    columns ``c·n .. c·n + n - 1`` (the layout of every fused kernel in the kit). ``xp``: ``ops``
    for tensors, ``numpy`` for arrays."""
    count, d, n = blocks.shape
    return xp.reshape(xp.transpose(blocks, (1, 0, 2)), (d, count * n))


def glorot_blocks(rng: np.random.Generator, count: int, d: int, n: int) -> np.ndarray:
    """The numpy twin of ``block_initializer("glorot_uniform", count)``: ``count`` Glorot-uniform
    kernels ``(d, n)`` (each with its own fans, limit ``sqrt(6 / (d + n))``), drawn from ``rng``
    as one ``(count, d, n)`` array and laid :func:`side_by_side`; float32 ``(d, count·n)``. The
    replica trainer (:func:`mmoe_lab.replicas.init_replica_weights`) initialises with it."""
    limit = math.sqrt(6.0 / (d + n))
    return side_by_side(rng.uniform(-limit, limit, size=(count, d, n)).astype(np.float32), xp=np)


def _bias_row(bias):
    """A bias ``(..., K)`` as ``(..., 1, K)``: broadcast over the batch axis of ``(..., B, K)``."""
    return ops.expand_dims(bias, -2)


def expert_forward(x, kernel, bias, activation, num_experts: int, *, per_expert_inputs: bool = False):
    """All experts at once: one matrix product.

    Args:
        x: inputs ``(..., B, d)`` seen by every expert; with ``per_expert_inputs`` one input
            row per expert, ``(B, E, d)``. A leading replica axis ``...`` (e.g. ``R``) is
            optional and must match the kernel's.
        kernel: ``(..., d, E·U)``: column ``e·U + u`` is expert ``e``'s unit ``u``.
        bias: ``(..., E·U)``.
        activation: a Keras activation callable.
        num_experts: ``E``.

    Returns:
        expert activations ``(..., B, E, U)``.
    """
    d, width = kernel.shape[-2], kernel.shape[-1]
    units = width // num_experts
    if per_expert_inputs:
        h = ops.einsum("bed,deu->beu", x, ops.reshape(kernel, (d, num_experts, units)))
        return activation(h + ops.reshape(bias, (num_experts, units)))
    h = activation(ops.matmul(x, kernel) + _bias_row(bias))  # (..., B, E·U)
    return ops.reshape(h, (*h.shape[:-2], -1, num_experts, units))


def gate_forward(x, kernel, bias, num_gates: int, *, per_gate_inputs: bool = False):
    """All gate logits at once: one matrix product.

    Args:
        x: inputs ``(..., B, d)`` seen by every gate; with ``per_gate_inputs`` one input row
            per gate, ``(B, G, d)``. The leading replica axis is optional, as in
            :func:`expert_forward`.
        kernel: ``(..., d, G·E)``: column ``g·E + e`` is gate ``g``'s score of expert ``e``.
        bias: ``(..., G·E)``.
        num_gates: ``G``.

    Returns:
        gate logits ``(..., B, G, E)`` (before softmax).
    """
    d, width = kernel.shape[-2], kernel.shape[-1]
    experts = width // num_gates
    if per_gate_inputs:
        logits = ops.einsum("bgd,dge->bge", x, ops.reshape(kernel, (d, num_gates, experts)))
        return logits + ops.reshape(bias, (num_gates, experts))
    logits = ops.matmul(x, kernel) + _bias_row(bias)  # (..., B, G·E)
    return ops.reshape(logits, (*logits.shape[:-2], -1, num_gates, experts))


def mix_experts(gates, experts):
    """Gate-weighted sum of experts: ``(..., B, T, E) @ (..., B, E, U) → (..., B, T, U)``."""
    return ops.matmul(gates, experts)


@keras.saving.register_keras_serializable(package="mmoe_lab")
class CGC(keras.layers.Layer):
    """Customized Gate Control: shared plus task-specific experts (Tang et al., RecSys 2020).

    ``S`` shared experts and ``K`` experts owned by each of the ``T`` tasks. Task ``t``'s gate
    mixes only the shared experts and its own: ``h_t = Σ_{e ∈ shared ∪ own_t} g_t(x_t)_e f_e(·)``
    with ``g_t = softmax(A_tᵀx_t + a_t)`` restricted to those experts. With
    ``shared_output=True`` a further *shared gate* mixes **all** experts into a shared output:
    that is one extraction layer of PLE (the lower layers of a stacked network); stacking
    extraction layers gives PLE, and stacking them with ``K = 0`` gives a stacked MMoE. With
    ``K = 0`` and one level, CGC is exactly MMoE.

    Inputs are either one tensor ``(B, d)`` (the first level: every expert and gate sees it) or a
    list of ``T + 1`` tensors ``[x_1, ..., x_T, x_shared]`` (the outputs of a lower level with
    ``shared_output=True``): task ``t``'s experts and gate see ``x_t``, shared experts and the
    shared gate see ``x_shared``. The expert and gate math is the MMoE layer's fused einsums
    (:func:`expert_forward`, :func:`gate_forward`, :func:`mix_experts`); the restriction is a
    fixed mask on the gate logits, so a gate's kernel columns for experts it cannot see stay
    unused (they receive zero gradient; :meth:`effective_params` leaves them out).

    Expert order: shared experts ``0..S-1``, then task 0's ``K`` experts, task 1's, ...

    References:
        Tang et al., "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL)
        Model for Personalized Recommendations", RecSys 2020.

    Example:

    >>> layer = CGC(num_tasks=2, num_shared_experts=2, num_specific_experts=1, expert_units=8)
    >>> outs = layer(keras.ops.ones((4, 10)))
    >>> len(outs), tuple(outs[0].shape)
    (2, (4, 8))

    Args:
        num_tasks: number of tasks ``T``.
        num_shared_experts: ``S >= 0``.
        num_specific_experts: ``K >= 0`` experts per task (``S + K >= 1``).
        expert_units: output width ``U`` of each expert.
        shared_output: also return the shared gate's mixture (for a lower PLE level).
        expert_activation: expert activation, default ``"relu"``.
        gate_temperature: softmax temperature τ > 0.
        return_gates: also return the gate weights.
        expert_initializer, gate_initializer, bias_initializer: as in :class:`MMoE`.

    Input shape:
        ``(batch, d)`` or a list of ``T + 1`` tensors ``(batch, d)``.

    Output shape:
        a list of ``T`` (``T + 1`` with ``shared_output``; the shared one last) tensors
        ``(batch, U)``; with ``return_gates`` a tuple ``(that list, gates)``, gates
        ``(batch, T [+1], S + T·K)``, zero on experts a gate cannot see, rows summing to 1.
    """

    def __init__(
        self,
        num_tasks: int = 2,
        num_shared_experts: int = 2,
        num_specific_experts: int = 1,
        expert_units: int = 16,
        *,
        shared_output: bool = False,
        expert_activation: str | Any = "relu",
        gate_temperature: float = 1.0,
        return_gates: bool = False,
        expert_initializer: str | Any = "glorot_uniform",
        gate_initializer: str | Any = "glorot_uniform",
        bias_initializer: str | Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_tasks = check_int("num_tasks", num_tasks)
        self.num_shared_experts = check_int("num_shared_experts", num_shared_experts, 0)
        self.num_specific_experts = check_int("num_specific_experts", num_specific_experts, 0)
        if self.num_shared_experts + self.num_specific_experts < 1:
            raise invalid("num_shared_experts + num_specific_experts", ">= 1: each task gate needs at least one expert",
                          self.num_shared_experts + self.num_specific_experts,
                          received=f"num_shared_experts={num_shared_experts}, num_specific_experts={num_specific_experts}")
        self.expert_units = check_int("expert_units", expert_units)
        self.gate_temperature = check_number("gate_temperature", gate_temperature, 0, lo_open=True)
        self.shared_output = bool(shared_output)
        self.return_gates = bool(return_gates)
        self.expert_activation = keras.activations.get(expert_activation)
        self.expert_initializer = keras.initializers.get(expert_initializer)
        self.gate_initializer = keras.initializers.get(gate_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        t, s, k = self.num_tasks, self.num_shared_experts, self.num_specific_experts
        self.num_experts = s + t * k
        self.num_gates = t + int(self.shared_output)
        # which input branch each expert / gate reads (branch T = the shared input)
        self.expert_branch = [t] * s + [i for i in range(t) for _ in range(k)]
        self.gate_branch = list(range(t)) + ([t] if self.shared_output else [])
        mask = [[1.0] * s + [1.0 if j == i else 0.0 for j in range(t) for _ in range(k)] for i in range(t)]
        if self.shared_output:
            mask.append([1.0] * self.num_experts)
        self.gate_mask = mask  # (G, E) 1 = visible

    def expert_names(self) -> list[str]:
        """Labels of the experts in kernel order: ``shared_0, ..., task<t>_<k>, ...``."""
        return [f"shared_{i}" for i in range(self.num_shared_experts)] + [
            f"task{t}_{k}" for t in range(self.num_tasks) for k in range(self.num_specific_experts)
        ]

    def build(self, input_shape) -> None:
        multi = isinstance(input_shape, (list, tuple)) and len(input_shape) > 0 and isinstance(
            input_shape[0], (list, tuple))
        shapes = list(input_shape) if multi else [input_shape]
        if multi and len(shapes) != self.num_tasks + 1:
            raise invalid("input_shape", f"one tensor (batch, d) or a list of num_tasks + 1 = {self.num_tasks + 1} "
                          "tensors [task inputs..., shared input] for `CGC`", input_shape,
                          received=f"{len(shapes)} inputs")
        dims = {s[-1] for s in shapes}
        if any(len(s) != 2 for s in shapes) or len(dims) != 1 or None in dims:
            raise invalid("input_shape", "(batch, d) for every `CGC` input, with the same known d", input_shape)
        d, e, u, g = int(dims.pop()), self.num_experts, self.expert_units, self.num_gates
        self.multi_input = multi
        self.input_dim = d
        self.expert_kernel = self.add_weight(
            name="expert_kernel", shape=(d, e * u), initializer=block_initializer(self.expert_initializer, e))
        self.expert_bias = self.add_weight(name="expert_bias", shape=(e * u,), initializer=self.bias_initializer)
        self.gate_kernel = self.add_weight(
            name="gate_kernel", shape=(d, g * e), initializer=block_initializer(self.gate_initializer, g))
        self.gate_bias = self.add_weight(name="gate_bias", shape=(g * e,), initializer=self.bias_initializer)

    def effective_params(self) -> int:
        """Trainable parameters a gate can actually use (masked gate columns left out)."""
        d, u = self.input_dim, self.expert_units
        visible = int(sum(map(sum, self.gate_mask)))
        return self.num_experts * (d * u + u) + visible * (d + 1)

    def _branches(self, inputs):
        if not self.multi_input:
            return inputs, inputs
        stacked = ops.stack(list(inputs), axis=1)  # (B, T+1, d)
        return ops.take(stacked, self.expert_branch, axis=1), ops.take(stacked, self.gate_branch, axis=1)

    def gate_weights(self, inputs):
        """Gate weights ``(batch, G, E)``, zero on invisible experts; rows sum to 1."""
        _, gate_in = self._branches(inputs)
        logits = gate_forward(gate_in, self.gate_kernel, self.gate_bias, self.num_gates,
                              per_gate_inputs=self.multi_input) / self.gate_temperature
        mask = ops.convert_to_tensor(self.gate_mask, dtype=logits.dtype)
        return ops.softmax(ops.where(mask > 0, logits, ops.full_like(logits, -1e9)), axis=-1)

    def call(self, inputs):
        expert_in, _ = self._branches(inputs)
        experts = expert_forward(expert_in, self.expert_kernel, self.expert_bias, self.expert_activation,
                                 self.num_experts, per_expert_inputs=self.multi_input)
        gates = self.gate_weights(inputs)
        mixed = mix_experts(gates, experts)  # (B, G, U)
        outputs = [mixed[:, i, :] for i in range(self.num_gates)]
        return (outputs, gates) if self.return_gates else outputs

    def compute_output_shape(self, input_shape):
        batch = (input_shape[0] if self.multi_input else input_shape)[0]
        outs = [(batch, self.expert_units) for _ in range(self.num_gates)]
        return (outs, (batch, self.num_gates, self.num_experts)) if self.return_gates else outs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_tasks": self.num_tasks,
                "num_shared_experts": self.num_shared_experts,
                "num_specific_experts": self.num_specific_experts,
                "expert_units": self.expert_units,
                "shared_output": self.shared_output,
                "expert_activation": keras.activations.serialize(self.expert_activation),
                "gate_temperature": self.gate_temperature,
                "return_gates": self.return_gates,
                "expert_initializer": keras.initializers.serialize(self.expert_initializer),
                "gate_initializer": keras.initializers.serialize(self.gate_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


_UW_KINDS = ("regression", "binary")


@keras.saving.register_keras_serializable(package="mmoe_lab")
class UncertaintyWeighting(keras.layers.Layer):
    """Learned task weights from homoscedastic uncertainty (Kendall, Gal & Cipolla, CVPR 2018).

    One trainable log-variance ``s_t = log σ_t²`` per task; given the per-task losses ``L_t``
    it returns the total loss

        ``Σ_t c_t · exp(-s_t) · L_t + s_t / 2``,

    with ``c_t = 1/2`` for a regression task (Gaussian likelihood, ``L_t`` = MSE) and
    ``c_t = 1`` for a binary task (the paper's approximation for a softmax likelihood,
    ``L_t`` = cross-entropy). A task with a large loss is down-weighted by a large learned
    ``σ_t²``; the ``s_t / 2`` term stops every ``σ_t`` growing without bound. At the optimum for
    a fixed ``L_t``, ``exp(s_t) = 2 c_t L_t``: each weighted loss settles near 1/2.

    References:
        Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for
        Scene Geometry and Semantics", CVPR 2018.

    Example:

    >>> uw = UncertaintyWeighting(["regression", "binary"])
    >>> float(uw([keras.ops.convert_to_tensor(2.0), keras.ops.convert_to_tensor(0.5)]))
    1.5

    Args:
        task_kinds: one of ``"regression"`` / ``"binary"`` per task.
        initial_log_variance: starting ``s_t`` (default 0: weights ``c_t``).

    Input shape:
        a list of ``T`` scalar losses, or a tensor ``(T,)``.

    Output shape:
        a scalar.
    """

    def __init__(self, task_kinds: list[str] | tuple[str, ...] = ("regression", "regression"), *,
                 initial_log_variance: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        kinds = list(task_kinds) if isinstance(task_kinds, (list, tuple)) else None
        if not kinds or any(k not in _UW_KINDS for k in kinds):
            raise invalid("task_kinds", f"a non-empty list of {_UW_KINDS}", task_kinds)
        self.task_kinds = kinds
        self.initial_log_variance = check_number("initial_log_variance", initial_log_variance)
        self.factors = [0.5 if k == "regression" else 1.0 for k in kinds]
        self.log_vars = self.add_weight(
            name="log_vars", shape=(len(kinds),),
            initializer=keras.initializers.Constant(self.initial_log_variance),
        )

    def build(self, input_shape=None) -> None:
        self.built = True

    def task_weights(self):
        """The current effective weights ``c_t · exp(-s_t)``, shape ``(T,)``."""
        return ops.convert_to_tensor(self.factors, dtype=self.log_vars.dtype) * ops.exp(-self.log_vars)

    def call(self, losses):
        losses = ops.stack(list(losses)) if isinstance(losses, (list, tuple)) else losses
        if int(losses.shape[0]) != len(self.task_kinds):
            raise invalid("losses", f"{len(self.task_kinds)} task losses", losses, received=f"{losses.shape[0]} losses")
        losses = ops.cast(losses, self.log_vars.dtype)
        return ops.sum(self.task_weights() * losses + 0.5 * self.log_vars)

    def compute_output_shape(self, input_shape):
        return ()

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"task_kinds": list(self.task_kinds), "initial_log_variance": self.initial_log_variance})
        return config
