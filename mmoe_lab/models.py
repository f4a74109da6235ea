"""Model builders: shared-bottom, OMoE, MMoE, CGC / PLE / stacked MMoE and ESMM from task specs.

* :func:`build_model`: shared-bottom, one-gate MoE (OMoE) or MMoE, parameter-matched.
* :func:`build_extraction_model`: CGC, PLE or a stacked MMoE (:class:`~mmoe_lab.layers.CGC`);
  :func:`extraction_gates` reads one level's gates back out.
* :func:`build_esmm`: ESMM's click → conversion model; :func:`esmm_targets` builds its labels.

Every builder takes a list of :class:`TaskSpec` (name, regression or binary, loss weight) and
returns a Keras model with input ``"features"`` ``(batch, d)`` and one output ``(batch, 1)``
per task. Defaults follow the paper's §5.1 (:data:`mmoe_lab.paper.SYNTHETIC_SETUP`): 8 experts
of one 16-unit ReLU layer, towers of one 8-unit layer; the shared-bottom hidden width is chosen
so that its parameter count matches MMoE's.

Training recipes and the comparison runs live in :mod:`mmoe_lab.training`, measurements (AUC,
per-task losses, gradient norms) in :mod:`mmoe_lab.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras

from ._validate import check_choice, check_int, check_number, invalid
from .layers import CGC, MMoE
from .paper import ARCHITECTURES

__all__ = [
    "TaskSpec",
    "regression_tasks",
    "build_model",
    "learning_rate_schedule",
    "matched_shared_units",
    "mixture_params",
    "tower_params",
    "EXTRACTION_ARCHITECTURES",
    "build_extraction_model",
    "extraction_gates",
    "build_esmm",
    "esmm_targets",
]

#: Architectures of :func:`build_extraction_model`.
EXTRACTION_ARCHITECTURES = ("cgc", "ple", "stacked_mmoe")
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
            raise invalid("name", "an identifier-like string", self.name)
        check_choice("kind", self.kind, _KINDS)
        check_number("loss_weight", self.loss_weight, 0)

    def loss(self) -> str:
        """The Keras loss of this task: ``"mse"`` or ``"binary_crossentropy"``."""
        return "mse" if self.kind == "regression" else "binary_crossentropy"

    def metrics(self) -> list[Any]:
        """Fresh Keras metrics for this task: RMSE (regression) or AUC and accuracy (binary)."""
        if self.kind == "regression":
            return [keras.metrics.RootMeanSquaredError(name="rmse")]
        return [keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]


def regression_tasks(num_tasks: int = 2) -> list[TaskSpec]:
    """``num_tasks`` regression tasks named ``task_0, task_1, ...`` (the synthetic benchmark)."""
    check_int("num_tasks", num_tasks)
    return [TaskSpec(f"task_{i}") for i in range(num_tasks)]


def _check_tasks(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    tasks = list(tasks)
    if not tasks or not all(isinstance(t, TaskSpec) for t in tasks):
        raise invalid("tasks", "a non-empty list of TaskSpec", tasks)
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise invalid("tasks", "tasks with unique names", names, received=f"names {names}")
    return tasks


def mixture_params(input_dim: int, num_tasks: int, num_experts: int, expert_units: int,
                   tower_units: int, num_gates: int | None = None) -> int:
    """Trainable parameter count of an (O|M)MoE model with one-layer towers.

    Counts every weight and bias: ``E`` experts ``(d + 1)·U``, ``G`` gates ``(d + 1)·E`` and
    ``T`` towers ``(U + 1)·t + t + 1``.

    Args:
        input_dim: ``d``. num_tasks: ``T``. num_experts: ``E``. expert_units: ``U``.
        tower_units: ``t``. num_gates: ``G``; default ``T`` (MMoE), 1 for OMoE.
    """
    for name, value in (("input_dim", input_dim), ("num_tasks", num_tasks), ("num_experts", num_experts),
                        ("expert_units", expert_units), ("tower_units", tower_units)):
        check_int(name, value)
    if num_gates is not None:
        check_int("num_gates", num_gates)
    g = num_tasks if num_gates is None else num_gates
    experts = num_experts * (input_dim * expert_units + expert_units)
    gates = g * (input_dim * num_experts + num_experts)
    return experts + gates + tower_params(num_tasks, expert_units, tower_units)


def tower_params(num_tasks: int, width: int, tower_units: int) -> int:
    """Trainable parameters of ``T`` towers (:func:`_towers`) on inputs of ``width``: each a
    ``tower_units`` ReLU layer and a one-unit output, ``(width + 1)·t + t + 1``."""
    return num_tasks * (width * tower_units + tower_units + tower_units + 1)


def matched_shared_units(input_dim: int, num_tasks: int, num_experts: int = 8, expert_units: int = 16,
                         tower_units: int = 8) -> int:
    """Shared-bottom hidden width whose parameter count matches the MMoE of the same config.

    Shared-bottom parameters: ``(d + 1)·w + T·(w·t + 2t + 1)`` for width ``w`` and tower width
    ``t``; solved for ``w`` and rounded.
    """
    target = mixture_params(input_dim, num_tasks, num_experts, expert_units, tower_units)
    fixed = num_tasks * (2 * tower_units + 1)
    return max(1, round((target - fixed) / (input_dim + 1 + num_tasks * tower_units)))


def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int) -> Any:
    """Adam's learning rate for a run of ``total_steps``: a number, or a Keras schedule.

    Args:
        learning_rate: the (initial) learning rate.
        schedule: ``"constant"`` (returns ``learning_rate``) or ``"cosine"`` (cosine decay from
            ``learning_rate`` to 1% of it over ``total_steps``: the final weights settle, so a
            single run's final loss reflects the architecture more than its last steps' noise).
        total_steps: training steps of the run (the decay length of ``"cosine"``).
    """
    check_choice("lr_schedule", schedule, ("constant", "cosine"))
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=0.01)
    return learning_rate


def _towers(tasks: Sequence[TaskSpec], task_inputs: Sequence[Any], tower_units: int) -> dict[str, Any]:
    """One tower per task on its input ``(batch, width)``: a ``tower_units`` ReLU layer, then the
    task's output ``(batch, 1)`` (sigmoid for a binary task), named after the task."""
    outputs = {}
    for task, h in zip(tasks, task_inputs, strict=True):
        h = keras.layers.Dense(tower_units, activation="relu", name=f"{task.name}_tower")(h)
        act = "sigmoid" if task.kind == "binary" else None
        outputs[task.name] = keras.layers.Dense(1, activation=act, name=task.name)(h)
    return outputs


def _compile(model: keras.Model, tasks: Sequence[TaskSpec], learning_rate: float) -> None:
    """Compile with Adam and each task's loss, ``loss_weight`` and metrics."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={t.name: t.loss() for t in tasks},
        loss_weights={t.name: t.loss_weight for t in tasks},
        metrics={t.name: t.metrics() for t in tasks},
    )


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
    check_choice("arch", arch, ARCHITECTURES)
    tasks = regression_tasks(tasks) if isinstance(tasks, int) else _check_tasks(tasks)
    if return_gates and arch == "shared_bottom":
        raise invalid("return_gates", "False for arch='shared_bottom' (only a mixture model, 'omoe' or 'mmoe', has gates)",
                      return_gates)
    num_tasks = len(tasks)
    inputs = keras.Input((input_dim,), name="features")
    gates = None
    if arch == "shared_bottom":
        width = shared_units or matched_shared_units(input_dim, num_tasks, num_experts, expert_units, tower_units)
        shared = keras.layers.Dense(width, activation="relu", name="shared_bottom")(inputs)
        task_inputs = [shared] * num_tasks
    else:
        layer = MMoE(
            num_experts, expert_units, num_tasks, num_gates=1 if arch == "omoe" else num_tasks,
            return_gates=return_gates, name=arch, **layer_kwargs,
        )
        out = layer(inputs)
        task_inputs, gates = out if return_gates else (out, None)
    outputs = _towers(tasks, task_inputs, tower_units)
    if gates is not None:
        outputs["gates"] = gates
    model = keras.Model(inputs, outputs, name=arch)
    if compile:
        _compile(model, tasks, learning_rate)
    return model


# ---- CGC, PLE and stacked MMoE -------------------------------------------------------------------


def build_extraction_model(
    arch: str,
    tasks: Sequence[TaskSpec] | int = 2,
    input_dim: int = 100,
    *,
    num_shared_experts: int = 4,
    num_specific_experts: int = 2,
    expert_units: int = 16,
    num_levels: int = 2,
    tower_units: int = 8,
    learning_rate: float = 1e-3,
    compile: bool = True,
    return_gates: bool = False,
    **layer_kwargs: Any,
) -> keras.Model:
    """Build CGC, PLE or a stacked MMoE from :class:`~mmoe_lab.layers.CGC` layers.

    * ``"cgc"``: one CGC level (``S`` shared + ``K`` experts per task).
    * ``"ple"``: ``num_levels`` levels; the lower ones also output a shared-gate mixture that
      feeds the next level's shared experts (Tang et al. 2020, Fig. 5).
    * ``"stacked_mmoe"``: the same stack with every expert shared (``S + T·K`` shared experts,
      ``K = 0``): the same expert count as PLE, no task ownership.

    Args:
        arch: one of :data:`EXTRACTION_ARCHITECTURES`.
        tasks: list of :class:`TaskSpec`, or an int ``T`` for ``T`` regression tasks.
        input_dim: input width ``d``.
        num_shared_experts, num_specific_experts: ``S`` and ``K`` per level.
        expert_units: width ``U`` of every expert.
        num_levels: extraction levels of ``"ple"`` / ``"stacked_mmoe"`` (>= 1; ignored by cgc).
        tower_units, learning_rate, compile: as in :func:`build_model`.
        return_gates: add a ``"gates"`` output: the top level's gates ``(batch, T, E)``.
        **layer_kwargs: passed to every :class:`~mmoe_lab.layers.CGC` (e.g. ``gate_temperature``).

    Returns:
        a Keras model with input ``"features"`` ``(batch, d)`` and outputs
        ``{task.name: (batch, 1)}`` (plus ``"gates"``).
    """
    check_choice("arch", arch, EXTRACTION_ARCHITECTURES)
    check_int("num_levels", num_levels)
    tasks = regression_tasks(tasks) if isinstance(tasks, int) else _check_tasks(tasks)
    num_tasks = len(tasks)
    levels = 1 if arch == "cgc" else num_levels
    shared, specific = num_shared_experts, num_specific_experts
    if arch == "stacked_mmoe":
        shared, specific = num_shared_experts + num_tasks * num_specific_experts, 0
    inputs = keras.Input((input_dim,), name="features")
    h: Any = inputs
    gates = None
    for level in range(levels):
        top = level == levels - 1
        layer = CGC(num_tasks, shared, specific, expert_units, shared_output=not top,
                    return_gates=return_gates and top, name=f"{arch}_level{level}", **layer_kwargs)
        h = layer(h)
        if return_gates and top:
            h, gates = h
    outputs = _towers(tasks, h, tower_units)
    if gates is not None:
        outputs["gates"] = gates
    model = keras.Model(inputs, outputs, name=arch)
    if compile:
        _compile(model, tasks, learning_rate)
    return model


def extraction_gates(model: keras.Model, x: Any, level: int = -1) -> tuple[Any, list[str], list[str]]:
    """Gate weights of one :class:`~mmoe_lab.layers.CGC` level of a trained model.

    Args:
        model: built by :func:`build_extraction_model` (any ``return_gates``).
        x: inputs ``(N, d)``.
        level: which CGC level (default: the top one).

    Returns:
        ``(gates (N, G, E) numpy, expert names, gate names)``; gate names are the task
        indices ``task0, ...`` plus ``shared`` for a lower level's shared gate.
    """
    layers = [la for la in model.layers if isinstance(la, CGC)]
    if not layers:
        raise invalid("model", "a model with CGC layers (build it with build_extraction_model)", model.name)
    if check_int("level", level, None) not in range(-len(layers), len(layers)):
        raise invalid("level", f"an integer in [{-len(layers)}, {len(layers) - 1}]", level)
    layer = layers[level]
    probe = keras.Model(model.inputs, layer.input)
    inputs = probe.predict(x, verbose=0, batch_size=4096)
    gates = keras.ops.convert_to_numpy(layer.gate_weights(inputs))
    names = [f"task{t}" for t in range(layer.num_tasks)] + (["shared"] if layer.shared_output else [])
    return gates, layer.expert_names(), names


# ---- ESMM ----------------------------------------------------------------------------------------


def build_esmm(
    input_dim: int,
    *,
    shared_units: int = 32,
    tower_units: int = 16,
    learning_rate: float = 1e-3,
    train_on: str = "ctcvr",
    compile: bool = True,
) -> keras.Model:
    """ESMM (Ma et al., SIGIR 2018): pCTCVR = pCTR × pCVR, trained over all impressions.

    A shared bottom (ESMM shares the embedding layer) feeds a CTR tower and a CVR tower;
    ``ctcvr = ctr · cvr`` is a parameter-free product. The CVR tower never sees a CVR label:
    it is learned through the product, on every impression, so it is defined where it is
    used (all impressions) and borrows the dense click signal.

    Args:
        input_dim: input width ``d``.
        shared_units: width of the shared bottom; tower_units: width of each tower.
        learning_rate: Adam learning rate.
        train_on: ``"ctcvr"`` (ESMM: losses on ``ctr`` and ``ctcvr``) or ``"cvr"`` (the
            "bent" variant: losses on ``ctr`` and directly on ``cvr``, as if the two heads were
            parallel tasks; the product is then only computed, never trained).
        compile: compile with binary cross-entropy on the two trained heads, AUC metrics.

    Returns:
        a model with input ``"features"`` and outputs ``{"ctr", "cvr", "ctcvr"}``, each
        ``(batch, 1)`` probabilities.
    """
    check_choice("train_on", train_on, ("ctcvr", "cvr"))
    inputs = keras.Input((input_dim,), name="features")
    h = keras.layers.Dense(shared_units, activation="relu", name="shared_bottom")(inputs)
    heads = {}
    for name in ("ctr", "cvr"):
        t = keras.layers.Dense(tower_units, activation="relu", name=f"{name}_tower")(h)
        heads[name] = keras.layers.Dense(1, activation="sigmoid", name=name)(t)
    heads["ctcvr"] = keras.layers.Multiply(name="ctcvr")([heads["ctr"], heads["cvr"]])
    model = keras.Model(inputs, heads, name="esmm" if train_on == "ctcvr" else "esmm_bent")
    if compile:
        trained = ("ctr", train_on)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={n: ("binary_crossentropy" if n in trained else None) for n in ("ctr", "cvr", "ctcvr")},
            metrics={n: [keras.metrics.AUC(name="auc")] for n in trained},
        )
    return model


def esmm_targets(click: Any, conversion: Any, train_on: str = "ctcvr") -> dict[str, Any]:
    """Label dict for :func:`build_esmm`: ``ctr ← click`` and the trained second head.

    ``train_on="ctcvr"``: ``ctcvr ← conversion`` (observed, i.e. click ∧ convert) on every
    impression; ``"cvr"``: ``cvr ← conversion`` (the bent variant). The untrained head gets a
    placeholder of zeros (Keras wants a label per output; its loss is ``None``).

    Args:
        click, conversion: ``(n,)`` 0/1 labels per impression (conversion implies click).
        train_on: ``"ctcvr"`` or ``"cvr"``, as in :func:`build_esmm`.

    Returns:
        ``{"ctr", "cvr", "ctcvr"}``, each ``(n,)`` float32.
    """
    import numpy as np

    click = np.asarray(click, dtype="float32")
    conversion = np.asarray(conversion, dtype="float32")
    if click.shape != conversion.shape:
        raise invalid("conversion", f"labels of the same shape as `click` {click.shape}", conversion,
                      received=f"shape {conversion.shape}")
    zeros = np.zeros_like(click)
    if check_choice("train_on", train_on, ("ctcvr", "cvr")) == "cvr":
        return {"ctr": click, "cvr": conversion, "ctcvr": zeros}
    return {"ctr": click, "cvr": zeros, "ctcvr": conversion}
