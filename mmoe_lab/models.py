"""Model builders: shared-bottom, one-gate MoE (OMoE) and MMoE from one list of task specs.

Defaults follow the paper's §5.1: 8 experts of one 16-unit ReLU layer, towers of one 8-unit
layer; the shared-bottom hidden width is chosen so that its parameter count matches MMoE's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import keras

from .layers import MMoE

__all__ = [
    "ARCHITECTURES",
    "TaskSpec",
    "regression_tasks",
    "build_model",
    "matched_shared_units",
    "mixture_params",
]

ARCHITECTURES = ("shared_bottom", "omoe", "mmoe")
_KINDS = ("regression", "binary")


@dataclass(frozen=True)
class TaskSpec:
    """One task of a multi-task model.

    Attributes:
        name: output name (a valid Keras layer name); also the key of its label in ``y``.
        kind: ``"regression"`` (linear output, MSE loss, RMSE metric) or ``"binary"``
            (sigmoid output, binary cross-entropy, AUC and accuracy).
        loss_weight: weight of this task's loss in the total loss.
    """

    name: str
    kind: Literal["regression", "binary"] = "regression"
    loss_weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"`name` should be an identifier-like string. Received: name={self.name!r}")
        if self.kind not in _KINDS:
            raise ValueError(f"`kind` should be one of {_KINDS}. Received: kind={self.kind!r}")
        if not self.loss_weight >= 0:
            raise ValueError(f"`loss_weight` should be >= 0. Received: loss_weight={self.loss_weight!r}")

    def loss(self) -> str:
        return "mse" if self.kind == "regression" else "binary_crossentropy"

    def metrics(self) -> list[Any]:
        if self.kind == "regression":
            return [keras.metrics.RootMeanSquaredError(name="rmse")]
        return [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]


def regression_tasks(n_tasks: int = 2) -> list[TaskSpec]:
    """``n_tasks`` regression tasks named ``task_0, task_1, ...`` (the synthetic benchmark)."""
    return [TaskSpec(f"task_{i}") for i in range(n_tasks)]


def _check_tasks(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    tasks = list(tasks)
    if not tasks or not all(isinstance(t, TaskSpec) for t in tasks):
        raise ValueError(f"`tasks` should be a non-empty list of TaskSpec. Received: tasks={tasks!r}")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"task names should be unique. Received: {names}")
    return tasks


def mixture_params(input_dim: int, n_tasks: int, num_experts: int, expert_units: int,
                   tower_units: int, num_gates: int | None = None) -> int:
    """Trainable parameter count of an (O|M)MoE model with one-layer towers."""
    g = n_tasks if num_gates is None else num_gates
    experts = num_experts * (input_dim * expert_units + expert_units)
    gates = g * (input_dim * num_experts + num_experts)
    towers = n_tasks * (expert_units * tower_units + tower_units + tower_units + 1)
    return experts + gates + towers


def matched_shared_units(input_dim: int, n_tasks: int, num_experts: int = 8, expert_units: int = 16,
                         tower_units: int = 8) -> int:
    """Shared-bottom hidden width whose parameter count matches the MMoE of the same config.

    Shared-bottom parameters: ``(d + 1)·w + T·(w·t + 2t + 1)`` for width ``w`` and tower width
    ``t``; solved for ``w`` and rounded.
    """
    target = mixture_params(input_dim, n_tasks, num_experts, expert_units, tower_units)
    fixed = n_tasks * (2 * tower_units + 1)
    return max(1, round((target - fixed) / (input_dim + 1 + n_tasks * tower_units)))


def build_model(
    arch: str,
    tasks: Sequence[TaskSpec] | int = 2,
    input_dim: int = 100,
    *,
    num_experts: int = 8,
    expert_units: int = 16,
    tower_units: int = 8,
    shared_units: int | None = None,
    learning_rate: float = 1e-3,
    compile: bool = True,
    return_gates: bool = False,
    **layer_kwargs: Any,
) -> keras.Model:
    """Build (and compile) a shared-bottom, OMoE or MMoE model.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        tasks: a list of :class:`TaskSpec`, or an int ``T`` for ``T`` regression tasks.
        input_dim: input width ``d``.
        num_experts, expert_units: the mixture's ``E`` and ``U`` (ignored by shared-bottom).
        tower_units: hidden width of each task tower (one ReLU layer).
        shared_units: shared-bottom hidden width; default matches MMoE's parameter count.
        learning_rate: Adam learning rate.
        compile: compile with each task's loss, ``loss_weight`` and metrics.
        return_gates: add a ``"gates"`` output ``(batch, T, E)`` (mixtures only; not trained).
        **layer_kwargs: passed to :class:`~mmoe_lab.layers.MMoE` (temperature, dropout, ...).

    Returns:
        a Keras model with input ``(batch, d)`` named ``"features"`` and a dict of outputs
        ``{task.name: (batch, 1)}``.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"`arch` should be one of {ARCHITECTURES}. Received: arch={arch!r}")
    tasks = regression_tasks(tasks) if isinstance(tasks, int) else _check_tasks(tasks)
    if return_gates and arch == "shared_bottom":
        raise ValueError("`return_gates=True` needs a mixture model ('omoe' or 'mmoe'). Received: arch='shared_bottom'")
    n_tasks = len(tasks)
    inputs = keras.Input((input_dim,), name="features")
    gates = None
    if arch == "shared_bottom":
        width = shared_units or matched_shared_units(input_dim, n_tasks, num_experts, expert_units, tower_units)
        shared = keras.layers.Dense(width, activation="relu", name="shared_bottom")(inputs)
        task_inputs = [shared] * n_tasks
    else:
        layer = MMoE(
            num_experts, expert_units, n_tasks, num_gates=1 if arch == "omoe" else n_tasks,
            return_gates=return_gates, name=arch, **layer_kwargs,
        )
        out = layer(inputs)
        task_inputs, gates = out if return_gates else (out, None)
    outputs = {}
    for task, h in zip(tasks, task_inputs):
        h = keras.layers.Dense(tower_units, activation="relu", name=f"{task.name}_tower")(h)
        act = "sigmoid" if task.kind == "binary" else None
        outputs[task.name] = keras.layers.Dense(1, activation=act, name=task.name)(h)
    if gates is not None:
        outputs["gates"] = gates
    model = keras.Model(inputs, outputs, name=arch)
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={t.name: t.loss() for t in tasks},
            loss_weights={t.name: t.loss_weight for t in tasks},
            metrics={t.name: t.metrics() for t in tasks},
        )
    return model
