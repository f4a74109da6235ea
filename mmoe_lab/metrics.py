"""Measurements of multi-task models and their predictions; nothing here trains.

* :func:`roc_auc`: exact ROC AUC of one binary task's scores.
* :func:`task_losses`: each task's unweighted loss (MSE or binary cross-entropy), as tensors.
* :func:`constant_baseline_losses`: the loss of the best constant prediction per task, the
  scale a model's loss starts from.
* :func:`task_gradient_norms`: how hard each task pulls on the shared parameters.

Importing this module loads numpy only; Keras, SciPy and pandas load when a function needs
them (Keras through :mod:`mmoe_lab.backend`'s selection, like the rest of the kit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import invalid

if TYPE_CHECKING:
    import keras

    from .models import TaskSpec

__all__ = [
    "roc_auc",
    "task_losses",
    "constant_baseline_losses",
    "task_gradient_norms",
]


def roc_auc(labels: Any, scores: Any) -> float:
    """Exact ROC AUC of ``scores`` for binary ``labels`` (the Mann–Whitney U statistic).

    The probability that a random positive scores above a random negative; a tie counts one
    half, so a constant score gets 0.5.

    Args:
        labels: ``(n,)`` or ``(n, 1)`` labels, 0/1 or boolean, both classes present.
        scores: ``(n,)`` or ``(n, 1)`` finite real scores (probabilities, logits, ...).

    Returns:
        AUC in [0, 1].

    Raises:
        ValueError: the lengths differ, a label is not 0/1, a score is not finite, or only one
            class is present.
    """
    from scipy.stats import rankdata

    y = np.asarray(labels).reshape(-1)
    s = np.asarray(scores, dtype="float64").reshape(-1)
    if y.shape != s.shape:
        raise invalid("scores", f"scores of the same length as `labels` {y.shape}", scores, received=f"shape {s.shape}")
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise invalid("labels", "0/1 or boolean", labels, received=f"values {np.unique(y)[:5].tolist()}")
    if not np.isfinite(s).all():
        raise invalid("scores", "finite", scores, received=f"{int((~np.isfinite(s)).sum())} non-finite values")
    y = y.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise invalid("labels", "labels with both classes (AUC needs both)", labels,
                      received=f"{n_pos} positives and {n_neg} negatives")
    ranks = rankdata(s)  # ties get their average rank: that is what counts a tie one half
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _check_keys(name: str, values: Mapping[str, Any], tasks: Sequence[TaskSpec]) -> None:
    if not isinstance(values, Mapping):
        raise invalid(name, "a dict keyed by task name", values, received=f"type {type(values).__name__}")
    missing = [t.name for t in tasks if t.name not in values]
    if missing:
        raise invalid(name, f"a dict with an entry for every task {[t.name for t in tasks]}", sorted(values),
                      received=f"keys {sorted(values)}, no entry for tasks {missing}")


def task_losses(y_true: Mapping[str, Any], y_pred: Mapping[str, Any], tasks: Sequence[TaskSpec]) -> list[Any]:
    """Each task's mean loss, unweighted: MSE for ``"regression"``, cross-entropy for ``"binary"``.

    Runs on the active Keras backend (usable inside a training step).

    Args:
        y_true, y_pred: dicts keyed by task name, values ``(batch,)`` or ``(batch, 1)``.
        tasks: the task specs (:class:`~mmoe_lab.models.TaskSpec`); ``kind`` picks the loss.

    Returns:
        a list of ``T`` scalar tensors, in the order of ``tasks``.
    """
    import keras

    _check_keys("y_true", y_true, tasks)
    _check_keys("y_pred", y_pred, tasks)
    out = []
    for t in tasks:
        yt = keras.ops.reshape(keras.ops.cast(y_true[t.name], "float32"), (-1, 1))
        yp = keras.ops.reshape(y_pred[t.name], (-1, 1))
        fn = keras.losses.mean_squared_error if t.kind == "regression" else keras.losses.binary_crossentropy
        out.append(keras.ops.mean(fn(yt, yp)))
    return out


def constant_baseline_losses(y: Mapping[str, Any], tasks: Sequence[TaskSpec]) -> dict[str, float]:
    """Loss of the best constant prediction per task.

    That is the label variance (MSE) or the entropy of the base rate (cross-entropy, in nats).
    A model's loss starts near it, so ``1 / it`` is a hand-set loss weight that brings every
    task's loss to about 1.

    Args:
        y: dict of labels ``(n,)`` keyed by task name.
        tasks: the task specs (:class:`~mmoe_lab.models.TaskSpec`).

    Returns:
        ``{task name: loss}``.
    """
    _check_keys("y", y, tasks)
    out = {}
    for t in tasks:
        v = np.asarray(y[t.name], dtype="float64")
        if v.size == 0:
            raise invalid(f"y[{t.name!r}]", "non-empty labels", y[t.name], received=f"an empty `y[{t.name!r}]`")
        if t.kind == "regression":
            out[t.name] = float(v.var())
        else:
            p = float(np.clip(v.mean(), 1e-7, 1 - 1e-7))
            out[t.name] = float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))
    return out


def task_gradient_norms(model: keras.Model, x: Any, y: Mapping[str, Any], tasks: Sequence[TaskSpec],
                        variables: Sequence[Any] | None = None) -> dict[str, float]:
    """L2 norm of each task's (unweighted) loss gradient on the shared parameters.

    Runs on the active backend (:func:`mmoe_lab.backend.gradient_norm`). One forward pass per
    task, on the batch given.

    Args:
        model: a model with dict outputs keyed by task name.
        x: inputs ``(batch, d)``.
        y: dict of labels ``(batch,)`` keyed by task name.
        tasks: the task specs (kind picks MSE or cross-entropy, as in :func:`task_losses`).
        variables: the shared parameters; default: the weights of the model's first
            :class:`~mmoe_lab.layers.MMoE` or :class:`~mmoe_lab.layers.CGC` layer.

    Returns:
        ``{task name: ‖∂L_t/∂θ_shared‖₂}``.
    """
    from .backend import gradient_norm
    from .layers import CGC, MMoE
    from .models import _check_tasks

    tasks = _check_tasks(tasks)
    _check_keys("y", y, tasks)
    if variables is None:
        mixtures = [layer for layer in model.layers if isinstance(layer, (MMoE, CGC))]
        if not mixtures:
            raise invalid("model", "a model with an MMoE/CGC layer, or pass the shared parameters as `variables=`",
                          model, received=f"model {model.name!r} without one")
        variables = mixtures[0].trainable_variables
    variables = list(variables)
    out = {}
    for t in tasks:
        def loss(pred: Any, t: TaskSpec = t) -> Any:
            return task_losses(y, pred, [t])[0]

        out[t.name] = gradient_norm(model, variables, loss, x)
    return out
