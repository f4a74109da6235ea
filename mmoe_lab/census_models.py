"""The census-income models of notebook 10: built on :mod:`mmoe_lab.features`' pipeline, trained
and compared with the paper's Table 1.

* :func:`build_census_model`: embeddings (+ one hand-made cross) and numerics → shared-bottom,
  OMoE or MMoE body (:func:`mmoe_lab.models.build_model`) → one sigmoid tower per task;
* :func:`compile_census_model`: per-task losses and ``loss_weights``, AUC/precision/recall, Adam
  on an exponentially decaying learning rate;
* :func:`train_census_models`: each architecture on (a subsample of) the training rows, test AUC
  per task; :func:`paper_comparison` puts it beside the paper's numbers;
* :func:`tensorboard_callback`, :func:`subsample_rows`: small helpers.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np
import pandas as pd
from keras import ops

from . import paper
from ._validate import check_choice, check_columns, invalid
from .backend import set_random_seed
from .datasets import census_tasks
from .features import EmbeddingCross, FeaturePipeline, FieldEmbedding, fit_feature_pipeline
from .metrics import roc_auc
from .models import TaskSpec, build_model
from .paper import ARCHITECTURES

__all__ = [
    "DEFAULT_CROSS",
    "build_census_model",
    "compile_census_model",
    "tensorboard_callback",
    "subsample_rows",
    "train_census_models",
    "paper_comparison",
]

#: The census analogue of "ad × device": the same occupation means different things (and
#: incomes) in different industries, so their interaction gets its own feature.
DEFAULT_CROSS: tuple[str, str] = ("major_industry_code", "major_occupation_code")



def compile_census_model(
    model: keras.Model,
    tasks: Sequence[TaskSpec],
    *,
    learning_rate: float = 3e-3,
    decay_steps: int = 200,
    decay_rate: float = 0.9,
) -> keras.Model:
    """Compile with per-task losses and ``loss_weights``, AUC/precision/recall per task, and Adam
    on an exponentially decaying learning rate ``lr · decay_rate^(step / decay_steps)``."""
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={t.name: t.loss() for t in tasks},
        loss_weights={t.name: t.loss_weight for t in tasks},
        metrics={t.name: [keras.metrics.AUC(name="auc"), keras.metrics.Precision(name="precision"),
                          keras.metrics.Recall(name="recall")] for t in tasks},
    )
    return model


def _task_specs(tasks: Sequence[TaskSpec | str] | int) -> list[TaskSpec]:
    if isinstance(tasks, int):
        tasks = list(paper.CENSUS_TASK_GROUPS[check_choice("tasks", tasks, tuple(paper.CENSUS_TASK_GROUPS))])
    specs = [t if isinstance(t, TaskSpec) else TaskSpec(t, "binary") for t in tasks]
    if any(t.kind != "binary" for t in specs):
        raise invalid("tasks", "binary census tasks", specs)
    return specs


def build_census_model(
    arch: str,
    pipeline: FeaturePipeline,
    tasks: Sequence[TaskSpec | str] | int = 1,
    *,
    embedding_dim: int = 4,
    cross: tuple[str, str] | None = DEFAULT_CROSS,
    num_experts: int = 8,
    expert_units: int = 16,
    tower_units: int = 8,
    compile: bool = True,
    learning_rate: float = 3e-3,
    decay_steps: int = 200,
    decay_rate: float = 0.9,
    **layer_kwargs: Any,
) -> keras.Model:
    """Embeddings (+ one cross) + numerics → shared-bottom / OMoE / MMoE body → sigmoid towers.

    Args:
        arch: ``"shared_bottom"``, ``"omoe"`` or ``"mmoe"``.
        pipeline: the fitted :class:`FeaturePipeline` (gives the field sizes).
        tasks: a task group number (1 or 2, :data:`~mmoe_lab.paper.CENSUS_TASK_GROUPS`), or task
            names / binary :class:`~mmoe_lab.models.TaskSpec` s.
        embedding_dim: width ``k`` of every field's embedding.
        cross: two categorical columns whose embeddings are multiplied element-wise
            (:class:`EmbeddingCross`), or None.
        num_experts, expert_units, tower_units: the body (:func:`mmoe_lab.models.build_model`;
            the shared-bottom is parameter-matched).
        compile: compile with :func:`compile_census_model`.
        learning_rate, decay_steps, decay_rate: the exponential decay schedule.
        **layer_kwargs: passed to :class:`~mmoe_lab.layers.MMoE`.

    Returns:
        a Keras model on preprocessed inputs ``{"categorical": (batch, C), "numeric":
        (batch, N)}`` with outputs ``{task: (batch, 1)}`` probabilities. Its body's input is
        ``(batch, D)``, ``D = C·k + N (+ k with the cross)``.
    """
    check_choice("arch", arch, ARCHITECTURES)
    specs = _task_specs(tasks)
    cats = list(pipeline.categorical)
    if cross is not None and (len(cross) != 2 or not set(cross) <= set(cats) or cross[0] == cross[1]):
        raise invalid("cross", "two different categorical columns of the pipeline", cross)
    cat_in = keras.Input((len(cats),), dtype="int32", name="categorical")
    num_in = keras.Input((len(pipeline.numeric),), dtype="float32", name="numeric")
    emb = FieldEmbedding(pipeline.field_sizes, embedding_dim, name="embeddings")(cat_in)   # (B, C, k)
    parts = [keras.layers.Flatten(name="embeddings_flat")(emb), num_in]                    # (B, C·k), (B, N)
    if cross is not None:
        a, b = cats.index(cross[0]), cats.index(cross[1])
        parts.append(EmbeddingCross(a, b, name=f"cross_{cross[0]}_x_{cross[1]}")(emb))      # (B, k)
    x = keras.layers.Concatenate(name="all_features")(parts)                                 # (B, D)
    body = build_model(arch, specs, x.shape[-1], num_experts=num_experts, expert_units=expert_units,
                       tower_units=tower_units, compile=False, **layer_kwargs)
    outputs = body(x)
    model = keras.Model({"categorical": cat_in, "numeric": num_in},
                        {t.name: outputs[t.name] for t in specs}, name=f"census_{arch}")
    if compile:
        compile_census_model(model, specs, learning_rate=learning_rate, decay_steps=decay_steps,
                             decay_rate=decay_rate)
    return model


def tensorboard_callback(log_dir: str | None = None) -> keras.callbacks.TensorBoard:
    """A TensorBoard callback writing to ``log_dir`` (default: a new temporary folder).

    Look at it with ``tensorboard --logdir <callback.log_dir>``.

    Raises:
        ImportError: the ``tensorboard`` package is not installed (TensorFlow no longer
            installs it; ``pip install tensorboard``).
    """
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError("the TensorBoard callback needs the `tensorboard` package: pip install tensorboard")
    return keras.callbacks.TensorBoard(log_dir or tempfile.mkdtemp(prefix="mmoe_lab_tb_"))


def subsample_rows(df: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of ``df`` drawn without replacement (seeded), in their original order;
    all of ``df`` if ``n`` is None or not smaller than ``len(df)``."""
    if n is None or n >= len(df):
        return df
    rows = np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))
    return df.iloc[rows]


def train_census_models(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    archs: Sequence[str] = ARCHITECTURES,
    group: int = 1,
    n_train: int | None = 20_000,
    epochs: int = 4,
    batch_size: int = 256,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    encoding: Literal["lookup", "hashing"] = "lookup",
    pipeline: FeaturePipeline | None = None,
    return_models: bool = False,
    **build_kwargs: Any,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, keras.Model], FeaturePipeline]:
    """Train each architecture on (a subsample of) ``train`` and measure test AUC per task.

    Args:
        train, test: census rows (e.g. ``load_census_income().train`` / ``.test``).
        archs: architectures to train.
        group: task group (1: income + marital, 2: education + marital).
        n_train: rows drawn (seeded by ``seed``) from ``train``; None for all.
        epochs, batch_size: the training budget.
        seed: seeds the subsample, weight initialisation and batch order.
        callbacks: extra Keras callbacks (e.g. :func:`tensorboard_callback`).
        encoding: categorical encoding of :func:`fit_feature_pipeline`.
        pipeline: an already fitted pipeline to reuse (fit on the same training rows);
            default: fit one here.
        return_models: also return ``{arch: model}`` and the fitted pipeline.
        **build_kwargs: passed to :func:`build_census_model`.

    Returns:
        DataFrame indexed by ``arch`` with one ``<task> AUC`` column per task, ``params``
        and ``seconds`` (wall-clock training time); with ``return_models`` the tuple
        ``(table, models, pipeline)``.
    """
    train = subsample_rows(train, n_train, seed)
    x_train, y_train = census_tasks(train, group)
    x_test, y_test = census_tasks(test, group)
    if pipeline is None:
        pipeline = fit_feature_pipeline(x_train, encoding=encoding)
    p_train, p_test = pipeline.transform(x_train), pipeline.transform(x_test)
    rows, models = [], {}
    for arch in archs:
        keras.backend.clear_session()
        set_random_seed(seed)
        model = build_census_model(arch, pipeline, group, **build_kwargs)
        start = time.perf_counter()
        model.fit(p_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                  callbacks=list(callbacks or []))
        seconds = time.perf_counter() - start
        pred = model(p_test, training=False)          # one eager pass: no predict() tracing
        rows.append({"arch": arch, **{f"{t} AUC": roc_auc(y_test[t], ops.convert_to_numpy(pred[t]))
                                       for t in y_test},
                     "params": model.count_params(), "seconds": seconds})
        models[arch] = model
    table = pd.DataFrame(rows).set_index("arch")
    return (table, models, pipeline) if return_models else table


def paper_comparison(ours: pd.DataFrame) -> pd.DataFrame:
    """Our group-1 AUCs beside the paper's Table 1.

    Args:
        ours: a table from :func:`train_census_models` (group 1), or a mean over seeds of them.

    Returns:
        DataFrame indexed by model: ``income AUC (ours)``, ``income mean (paper)``,
        ``income best (paper)``, ``marital AUC (ours)``, ``marital mean (paper)``.
    """
    check_columns("ours", ours, ("income AUC", "marital AUC"))  # group 1
    theirs = paper.TABLE1.reindex(ours.index)
    return pd.DataFrame({
        "income AUC (ours)": ours["income AUC"], "income mean (paper)": theirs["income mean"],
        "income best (paper)": theirs["income best"],
        "marital AUC (ours)": ours["marital AUC"], "marital mean (paper)": theirs["marital mean"],
    })
