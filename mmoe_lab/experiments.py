"""Train and compare models on the synthetic tasks.

This module holds the one training routine every notebook, test and script shares
(:func:`train_and_evaluate`) and the live-budget comparison of the three architectures
(:func:`compare_architectures`).
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import pandas as pd

from .models import ARCHITECTURES, build_model
from .synthetic import make_task_splits

__all__ = ["LIVE_BUDGET", "label_dict", "train_and_evaluate", "compare_architectures"]

#: The budget a live notebook cell can afford on 2 CPU cores (≈ ≤ 15 s per model).
LIVE_BUDGET: dict[str, Any] = {
    "n_train": 10_000,
    "n_test": 2_000,
    "epochs": 20,
    "batch_size": 256,
    "learning_rate": 1e-3,
}


def label_dict(y: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Split a label matrix ``(n, T)`` into ``{task_name: (n,)}`` as the model builders expect."""
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"`y` should have shape (n, T). Received shape {y.shape}")
    names = list(names) if names is not None else [f"task_{i}" for i in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise ValueError(f"got {len(names)} names for {y.shape[1]} label columns")
    return {n: y[:, i] for i, n in enumerate(names)}


def train_and_evaluate(
    arch: str,
    data: dict[str, np.ndarray],
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    **build_kwargs: Any,
) -> dict[str, Any]:
    """Build ``arch`` for the tasks in ``data``, train it, and measure per-task test MSE.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        data: a dict as returned by :func:`~mmoe_lab.synthetic.make_task_splits`
            (``x_train (n, d)``, ``y_train (n, T)``, ``x_test``, ``y_test``).
        epochs, batch_size, learning_rate: default to :data:`LIVE_BUDGET`.
        seed: seeds weight initialisation and batch order.
        callbacks: extra Keras callbacks (e.g. a progress bar or a gate monitor).
        **build_kwargs: passed to :func:`~mmoe_lab.models.build_model`.

    Returns:
        dict with ``model``, ``history`` (DataFrame, one row per epoch: ``loss``,
        ``val_loss`` and per-task columns), ``test_loss`` (``{task: MSE}``) and
        ``mean_test_loss`` (the mean over tasks).
    """
    epochs = LIVE_BUDGET["epochs"] if epochs is None else epochs
    batch_size = LIVE_BUDGET["batch_size"] if batch_size is None else batch_size
    learning_rate = LIVE_BUDGET["learning_rate"] if learning_rate is None else learning_rate
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    n_tasks = data["y_train"].shape[1]
    model = build_model(arch, n_tasks, data["x_train"].shape[1], learning_rate=learning_rate, **build_kwargs)
    names = [f"task_{i}" for i in range(n_tasks)]
    hist = model.fit(
        data["x_train"], label_dict(data["y_train"], names),
        validation_data=(data["x_test"], label_dict(data["y_test"], names)),
        epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks or []),
    )
    history = pd.DataFrame(hist.history)
    history.index.name = "epoch"
    test_loss = {n: float(history[f"val_{n}_loss"].iloc[-1]) for n in names}
    return {"model": model, "history": history, "test_loss": test_loss,
            "mean_test_loss": float(np.mean(list(test_loss.values())))}


def compare_architectures(
    correlation: float = 0.5,
    seeds: Sequence[int] = (0,),
    archs: Sequence[str] = ARCHITECTURES,
    *,
    preset: str = "teaching",
    n_train: int | None = None,
    n_test: int | None = None,
    **train_kwargs: Any,
) -> pd.DataFrame:
    """Train each architecture on the same data for each seed; one row per (seed, arch).

    The data seed and the initialisation seed are both ``seed``, so every architecture sees
    identical data within a seed.

    Returns:
        DataFrame with columns ``seed, arch, correlation, test_loss`` (mean over tasks) and
        ``task_<i>`` (per-task test MSE).
    """
    for a in archs:
        if a not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {a!r}; expected one of {ARCHITECTURES}")
    n_train = LIVE_BUDGET["n_train"] if n_train is None else n_train
    n_test = LIVE_BUDGET["n_test"] if n_test is None else n_test
    rows = []
    for seed in seeds:
        data = make_task_splits(n_train, n_test, correlation, preset=preset, random_state=seed)
        for arch in archs:
            res = train_and_evaluate(arch, data, seed=seed, **train_kwargs)
            rows.append({"seed": seed, "arch": arch, "correlation": correlation,
                         "test_loss": res["mean_test_loss"], **res["test_loss"]})
    return pd.DataFrame(rows)
