"""Mixture-of-experts layers: MMoE (one gate per task) and OMoE (one shared gate), fused.

All experts live in one stacked kernel, so the whole layer is three einsums and no Python
loop over experts: experts ``(B, d) × (E, d, U) → (B, E, U)``, gates
``(B, d) × (G, d, E) → (B, G, E)``, and the mix ``(B, T, E) × (B, E, U) → (B, T, U)``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["MMoE"]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` should be a positive integer. Received: `{name}={value!r}`")
    return value


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
        self.num_experts = _positive_int("num_experts", num_experts)
        self.expert_units = _positive_int("expert_units", expert_units)
        self.num_tasks = _positive_int("num_tasks", num_tasks)
        if num_gates is None:
            num_gates = num_tasks
        if num_gates not in (1, num_tasks):
            raise ValueError(
                f"`num_gates` should be 1 (OMoE) or num_tasks={num_tasks} (MMoE). "
                f"Received: `num_gates={num_gates!r}`"
            )
        self.num_gates = num_gates
        if not isinstance(gate_temperature, (int, float)) or not gate_temperature > 0:
            raise ValueError(
                f"`gate_temperature` should be a positive number. Received: `gate_temperature={gate_temperature!r}`"
            )
        if not isinstance(gate_dropout, (int, float)) or not 0 <= gate_dropout < 1:
            raise ValueError(f"`gate_dropout` should be in [0, 1). Received: `gate_dropout={gate_dropout!r}`")
        if not isinstance(balance_loss_weight, (int, float)) or not balance_loss_weight >= 0:
            raise ValueError(
                "`balance_loss_weight` should be non-negative. "
                f"Received: `balance_loss_weight={balance_loss_weight!r}`"
            )
        self.gate_temperature = float(gate_temperature)
        self.gate_dropout = float(gate_dropout)
        self.balance_loss_weight = float(balance_loss_weight)
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
    @staticmethod
    def _per_block(initializer, count: int):
        """Initializer for a ``(count, fan_in, fan_out)`` kernel that scales like ``count``
        separate dense kernels: Keras computes variance-scaling fans over the leading axis
        too (fan × count), so the scale is multiplied by ``count`` to undo that."""
        if isinstance(initializer, keras.initializers.VarianceScaling):
            return keras.initializers.VarianceScaling(
                scale=initializer.scale * count, mode=initializer.mode,
                distribution=initializer.distribution, seed=initializer.seed,
            )
        return initializer

    def build(self, input_shape) -> None:
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"`{type(self).__name__}` expects input of shape (batch, features) with a known "
                f"feature size. Received: input_shape={tuple(input_shape)}"
            )
        d, e, u, g = int(input_shape[-1]), self.num_experts, self.expert_units, self.num_gates
        self.input_dim = d
        self.expert_kernel = self.add_weight(
            name="expert_kernel", shape=(e, d, u),
            initializer=self._per_block(self.expert_initializer, e),
            regularizer=self.expert_regularizer,
        )
        self.expert_bias = self.add_weight(name="expert_bias", shape=(e, u), initializer=self.bias_initializer)
        self.gate_kernel = self.add_weight(
            name="gate_kernel", shape=(g, d, e),
            initializer=self._per_block(self.gate_initializer, g),
            regularizer=self.gate_regularizer,
        )
        self.gate_bias = self.add_weight(name="gate_bias", shape=(g, e), initializer=self.bias_initializer)
        self.input_spec = keras.InputSpec(ndim=2, axes={-1: d})

    # ------------------------------------------------------------------ pieces
    def expert_outputs(self, x):
        """Expert activations ``(batch, E, U)`` for inputs ``(batch, d)``."""
        h = ops.einsum("bd,edu->beu", x, self.expert_kernel) + self.expert_bias
        return self.expert_activation(h)

    def gate_logits(self, x):
        """Gate pre-softmax scores ``(batch, G, E)`` (before the temperature)."""
        return ops.einsum("bd,gde->bge", x, self.gate_kernel) + self.gate_bias

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
        mixed = ops.einsum("bte,beu->btu", gates, experts)  # (B, T, U)
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
