"""A Keras 3 input pipeline for tabular / CTR-style data (the census-income models that use it
live in :mod:`mmoe_lab.census_models`).

Raw columns are turned into numbers once, by a fitted :class:`FeaturePipeline`; the trainable
model starts from those numbers:

* categorical column → ``StringLookup`` (or ``Hashing``) → integer id; in the model
  ``Embedding`` → ``(batch, k)``;
* numeric columns → :class:`SignedLog1p` (tames heavy tails) → ``Normalization`` →
  ``(batch, N)``;
* one hand-made cross: the element-wise product of two columns' embeddings (the classic
  "ad × device" feature), ``(batch, k)``;
* all of it concatenated, ``(batch, D)``, is the input of a shared-bottom, OMoE or MMoE body
  built by :func:`mmoe_lab.models.build_model` (:func:`mmoe_lab.census_models.build_census_model`).

Runs on every Keras backend with the standard Keras 3 idiom: the string preprocessing runs in
TensorFlow's ``tf.data`` (JAX has no string tensors; the preprocessing layers work inside
``tf.data`` whatever the backend), the model trains on numeric arrays on the active backend.
For serving, :func:`serving_model` pairs the two (raw rows in, probabilities out, saved as a
``.keras`` model + a JSON file); on TensorFlow it can also become one Keras model with string
inputs.

This replaces ``tf.feature_column`` + ``DenseFeatures`` (Keras 2), which Keras 3 does not have.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np
import pandas as pd
from keras import ops

from ._validate import check_choice, check_int, invalid
from .datasets import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS

__all__ = [
    "SignedLog1p",
    "FieldEmbedding",
    "EmbeddingCross",
    "FeaturePipeline",
    "ServingPipeline",
    "model_inputs",
    "fit_feature_pipeline",
    "serving_model",
]


@keras.saving.register_keras_serializable(package="mmoe_lab")
class SignedLog1p(keras.layers.Layer):
    """``sign(x) · log(1 + |x|)``: compresses heavy-tailed amounts (capital gains, dividends).

    Input shape: any. Output shape: the same.
    """

    def call(self, inputs):
        return ops.sign(inputs) * ops.log1p(ops.abs(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="mmoe_lab")
class FieldEmbedding(keras.layers.Layer):
    """One embedding table shared by ``C`` categorical fields, each with its own block of rows.

    Field ``c`` with ``n_c`` values owns rows ``[o_c, o_c + n_c)`` where ``o_c = n_0 + … + n_{c-1}``;
    so this is exactly ``C`` separate ``Embedding`` layers, computed with one gather instead
    of ``C`` (which traces and trains several times faster on a CPU).

    Example:

    >>> emb = FieldEmbedding(field_sizes=[3, 5], embedding_dim=4)
    >>> tuple(emb(keras.ops.convert_to_tensor([[0, 4], [2, 1]])).shape)
    (2, 2, 4)

    Args:
        field_sizes: number of ids of each field (ids of field ``c`` lie in ``[0, n_c)``).
        embedding_dim: width ``k`` of every embedding.
        embeddings_initializer: initializer of the table.

    Input shape: ``(batch, C)`` integer ids. Output shape: ``(batch, C, k)``.
    """

    def __init__(self, field_sizes: Sequence[int], embedding_dim: int = 4,
                 embeddings_initializer: str | Any = "uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        sizes = [int(n) for n in field_sizes]
        if not sizes or any(n < 1 for n in sizes):
            raise invalid("field_sizes", "a non-empty list of positive integers", list(field_sizes))
        self.field_sizes = sizes
        self.embedding_dim = check_int("embedding_dim", embedding_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype("int32")

    def build(self, input_shape) -> None:
        if len(input_shape) != 2 or input_shape[-1] != len(self.field_sizes):
            raise invalid("input_shape", f"(batch, {len(self.field_sizes)}) for FieldEmbedding", input_shape)
        self.embeddings = self.add_weight(
            shape=(sum(self.field_sizes), self.embedding_dim), initializer=self.embeddings_initializer,
            name="embeddings",
        )

    def call(self, ids):
        ids = ops.cast(ids, "int32") + ops.convert_to_tensor(self.offsets)
        return ops.take(self.embeddings, ids, axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.field_sizes), self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "field_sizes": self.field_sizes, "embedding_dim": self.embedding_dim,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer)}


@keras.saving.register_keras_serializable(package="mmoe_lab")
class EmbeddingCross(keras.layers.Layer):
    """A hand-made cross feature: the element-wise product of two fields' embeddings,
    ``e_a ⊙ e_b`` (the classic "ad × device" interaction).

    Args:
        field_a, field_b: positions of the two fields along the field axis.

    Input shape: ``(batch, C, k)``. Output shape: ``(batch, k)``.
    """

    def __init__(self, field_a: int, field_b: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("field_a", field_a), ("field_b", field_b)):
            check_int(name, value, 0)
        if field_a == field_b:
            raise invalid("field_b", f"a field other than field_a={field_a}", field_b)
        self.field_a, self.field_b = field_a, field_b

    def build(self, input_shape) -> None:
        if len(input_shape) != 3 or max(self.field_a, self.field_b) >= input_shape[1]:
            raise invalid("input_shape", f"(batch, C, k) with C > {max(self.field_a, self.field_b)} for EmbeddingCross",
                          input_shape)

    def call(self, embeddings):
        return embeddings[:, self.field_a, :] * embeddings[:, self.field_b, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "field_a": self.field_a, "field_b": self.field_b}


def _column_lists(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    cats = [c for c in frame.columns if c in CATEGORICAL_COLUMNS]
    nums = [c for c in frame.columns if c in NUMERIC_COLUMNS]
    unknown = [c for c in frame.columns if c not in cats and c not in nums]
    if unknown:
        raise invalid("features", "a table of categorical and numeric census fields only", unknown,
                      received=f"columns that are neither: {unknown}")
    return cats, nums


def _tensorflow():
    """TensorFlow (imported on first use, start-up logs silenced): the string preprocessing runs in it."""
    from .backend import quiet_import_tensorflow

    return quiet_import_tensorflow()


def _require_tensorflow_backend(what: str) -> None:
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise invalid("KERAS_BACKEND", f"'tensorflow' for {what}: a Keras model with string inputs cannot run on "
                      f"{backend!r} (JAX has no string tensors). On every backend, serve with "
                      "`serving_model(pipeline, model)`: its .predict(raw_rows), .save(folder) and "
                      "ServingPipeline.load(folder); or restart Python with KERAS_BACKEND=tensorflow", backend)


def _raw_frame(raw: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame of raw rows from a DataFrame or a ``{column: (rows,) or (rows, 1)}`` dict."""
    if isinstance(raw, pd.DataFrame):
        return raw
    if not isinstance(raw, Mapping):
        raise invalid("features", "raw rows: a DataFrame or a dict of columns", raw, received=f"a {type(raw).__name__}")
    columns: dict[str, np.ndarray] = {}
    for name, values in raw.items():
        a = np.asarray(values)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise invalid(f"features[{name!r}]", "a column of shape (rows,) or (rows, 1)", values, received=f"shape {a.shape}")
        if a.dtype.kind == "S" or (a.dtype == object and len(a) and isinstance(a[0], bytes)):
            a = np.array([v.decode() if isinstance(v, bytes) else v for v in a], dtype=object)  # tf.string values
        columns[name] = a
    return pd.DataFrame(columns)


def model_inputs(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Turn a feature DataFrame into the raw-input dict of a Keras serving model.

    That dict is what :meth:`ServingPipeline.keras_model` (TensorFlow backend) takes;
    :meth:`FeaturePipeline.transform` and :meth:`ServingPipeline.predict` accept it too, on
    every backend.

    Args:
        features: rows × census feature columns (e.g. from :func:`~mmoe_lab.datasets.census_tasks`).

    Returns:
        ``{column: (rows, 1)}``: ``object`` arrays of ``str`` for categorical columns (integer
        codes become their decimal strings), ``float32`` for numeric ones.
    """
    cats, nums = _column_lists(features)
    out: dict[str, np.ndarray] = {}
    for c in cats:
        out[c] = features[c].astype(str).to_numpy(dtype=object).reshape(-1, 1)
    for c in nums:
        out[c] = features[c].to_numpy(np.float32).reshape(-1, 1)
    return out


#: Written into :meth:`FeaturePipeline.save` files; :meth:`FeaturePipeline.load` checks it.
_PIPELINE_FORMAT = "mmoe_lab.FeaturePipeline/1"


@dataclass(eq=False)
class FeaturePipeline:
    """The fitted preprocessing of :func:`fit_feature_pipeline`; works on every Keras backend.

    JAX has no string tensors, so the string work runs where Keras 3 runs it on any backend:
    in a TensorFlow ``tf.data`` pipeline, whose map function calls the fitted preprocessing
    layers (``StringLookup``, ``Hashing`` and ``Normalization`` are ``tf.data``-aware and use
    TensorFlow ops there). :meth:`transform` returns plain numpy arrays that a model trains on,
    whatever the backend; the results are the same on every backend.

    Attributes:
        encoders: ``{column: layer}``, one fitted ``StringLookup`` or ``Hashing`` per
            categorical column, ``(batch, 1)`` strings → ``(batch, 1)`` integer ids.
        normalizer: the adapted ``Normalization`` of the signed-log numbers,
            ``(batch, N)`` → ``(batch, N)``.
        categorical, numeric: the column names in order (``C`` and ``N`` of them).
        field_sizes: ids per categorical column (vocabulary + 1 OOV id, or hash bins).
    """

    encoders: dict[str, keras.layers.Layer]
    normalizer: keras.layers.Normalization
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    field_sizes: tuple[int, ...]

    def __repr__(self) -> str:
        kinds = sorted({type(layer).__name__ for layer in self.encoders.values()})
        return (f"FeaturePipeline({len(self.categorical)} categorical ({'/'.join(kinds)}), "
                f"{len(self.numeric)} numeric, {sum(self.field_sizes)} ids)")

    def _raw_arrays(self, features: pd.DataFrame | Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(strings (rows, C) object, numbers (rows, N) float32)`` in the pipeline's column order."""
        frame = _raw_frame(features)
        missing = [c for c in self.categorical + self.numeric if c not in frame.columns]
        if missing:
            raise invalid("features", "a table with the columns the pipeline was fitted on", missing,
                          received=f"`features` lacking {missing}")
        strings = frame[list(self.categorical)].astype(str).to_numpy(dtype=object)
        numbers = frame[list(self.numeric)].to_numpy(np.float32)
        return strings, numbers

    def preprocess_fn(self) -> Callable[[Any, Any], dict[str, Any]]:
        """The ``tf.data`` map function: ``(strings (B, C), numbers (B, N))`` TensorFlow tensors →
        ``{"categorical": (B, C) int32, "numeric": (B, N) float32}``.

        Plain TensorFlow ops around the fitted layers, so it runs inside ``tf.data`` on every
        Keras backend (a Keras model with string inputs would only run on TensorFlow).
        """
        tf = _tensorflow()
        encoders = [self.encoders[c] for c in self.categorical]
        normalizer = self.normalizer

        def preprocess(strings, numbers):
            ids = tf.concat([tf.cast(enc(strings[:, i:i + 1]), tf.int32)              # C × (B, 1)
                             for i, enc in enumerate(encoders)], axis=-1)             # (B, C)
            x = tf.sign(numbers) * tf.math.log1p(tf.abs(numbers))                    # SignedLog1p, (B, N)
            return {"categorical": ids, "numeric": tf.cast(normalizer(x), tf.float32)}

        return preprocess

    def transform(self, features: pd.DataFrame | Mapping[str, Any], *, batch_size: int = 8192) -> dict[str, np.ndarray]:
        """Raw rows → ``{"categorical": (rows, C) int32, "numeric": (rows, N) float32}``.

        Runs ``tf.data.Dataset.from_tensor_slices(raw).batch(batch_size).map(preprocess_fn())``
        (rows keep their order) and collects the batches as numpy arrays.

        Args:
            features: a DataFrame with (at least) the pipeline's columns, or a
                ``{column: (rows,) or (rows, 1)}`` dict such as :func:`model_inputs` returns.
            batch_size: rows per ``tf.data`` batch (memory; the results differ by float32
                rounding at most).
        """
        check_int("batch_size", batch_size)
        strings, numbers = self._raw_arrays(features)
        if len(strings) == 0:
            return {"categorical": np.zeros((0, len(self.categorical)), np.int32),
                    "numeric": np.zeros((0, len(self.numeric)), np.float32)}
        tf = _tensorflow()
        ds = tf.data.Dataset.from_tensor_slices((tf.constant(strings, tf.string), tf.constant(numbers)))
        ds = ds.batch(batch_size).map(self.preprocess_fn())
        batches = list(ds.as_numpy_iterator())
        return {"categorical": np.concatenate([b["categorical"] for b in batches]).astype(np.int32),
                "numeric": np.concatenate([b["numeric"] for b in batches]).astype(np.float32)}

    def keras_preprocessor(self) -> keras.Model:
        """The same preprocessing as one Keras model with string inputs (TensorFlow backend only).

        Inputs ``{column: (batch, 1)}`` (strings / float32), outputs ``{"categorical": (batch, C),
        "numeric": (batch, N)}``; built from the same fitted layers, plus :class:`SignedLog1p`.

        Raises:
            ValueError: the backend is not TensorFlow.
        """
        _require_tensorflow_backend("`keras_preprocessor()`")
        inputs: dict[str, keras.KerasTensor] = {c: keras.Input((1,), dtype="string", name=c) for c in self.categorical}
        inputs.update({c: keras.Input((1,), dtype="float32", name=c) for c in self.numeric})
        ids = keras.layers.Concatenate(name="categorical")([self.encoders[c](inputs[c]) for c in self.categorical])
        x = keras.layers.Concatenate(name="numeric_raw")([inputs[c] for c in self.numeric])      # (B, N)
        x = self.normalizer(SignedLog1p(name="signed_log1p")(x))
        return keras.Model(inputs, {"categorical": ids, "numeric": x}, name="preprocessor")

    def save(self, path: str | Path) -> Path:
        """Write the fitted preprocessing to a JSON file and return its path.

        The file holds the column lists, each encoder's Keras config (a ``StringLookup`` config
        includes its vocabulary) and the normalisation mean and variance; :meth:`load` rebuilds
        layers that give identical outputs.
        """
        path = Path(path)
        mean = ops.convert_to_numpy(self.normalizer.mean).reshape(-1)
        variance = ops.convert_to_numpy(self.normalizer.variance).reshape(-1)
        spec = {
            "format": _PIPELINE_FORMAT,
            "categorical": list(self.categorical),
            "numeric": list(self.numeric),
            "field_sizes": list(self.field_sizes),
            "encoders": {c: keras.layers.serialize(self.encoders[c]) for c in self.categorical},
            "normalizer": {"name": self.normalizer.name, "mean": [float(v) for v in mean],
                           "variance": [float(v) for v in variance]},
        }
        path.write_text(json.dumps(spec, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeaturePipeline:
        """Read a pipeline written by :meth:`save`."""
        spec = json.loads(Path(path).read_text())
        if not isinstance(spec, dict) or spec.get("format") != _PIPELINE_FORMAT:
            raise invalid("path", f"a saved FeaturePipeline (format {_PIPELINE_FORMAT!r})", str(path),
                          received=f"{path}, format={spec.get('format') if isinstance(spec, dict) else None!r}")
        _tensorflow()                                          # StringLookup / Hashing need it on any backend
        cats, nums = tuple(spec["categorical"]), tuple(spec["numeric"])
        encoders = {c: keras.layers.deserialize(spec["encoders"][c]) for c in cats}
        norm = spec["normalizer"]
        normalizer = keras.layers.Normalization(mean=np.asarray(norm["mean"], np.float32),
                                                variance=np.asarray(norm["variance"], np.float32),
                                                name=norm["name"])
        normalizer.build((None, len(nums)))
        return cls(encoders, normalizer, cats, nums, tuple(int(n) for n in spec["field_sizes"]))


def fit_feature_pipeline(
    features: pd.DataFrame,
    *,
    encoding: Literal["lookup", "hashing"] = "lookup",
    hash_bins: int = 64,
) -> FeaturePipeline:
    """Fit the preprocessing on training rows: vocabularies (or hashing) and numeric scaling.

    * each categorical column → ``StringLookup`` (its training vocabulary plus one
      out-of-vocabulary id 0) or ``Hashing`` (``hash_bins`` buckets, no vocabulary: unseen
      values are free, collisions possible) → one id per row;
    * numeric columns → :class:`SignedLog1p` → ``Normalization`` (mean 0, variance 1 on the
      training rows).

    Works on every Keras backend (the layers use TensorFlow internally, which is imported here).

    Args:
        features: training rows × census feature columns.
        encoding: ``"lookup"`` or ``"hashing"``.
        hash_bins: buckets per column for ``"hashing"``.

    Returns:
        a :class:`FeaturePipeline`.
    """
    check_choice("encoding", encoding, ("lookup", "hashing"))
    if encoding == "hashing":
        check_int("hash_bins", hash_bins)
    cats, nums = _column_lists(features)
    if not cats or not nums:
        raise invalid("features", "a table with categorical and numeric columns", list(features.columns),
                      received=f"columns {list(features.columns)}")
    _tensorflow()                                              # StringLookup / Hashing need it on any backend
    encoders: dict[str, keras.layers.Layer] = {}
    sizes = []
    for c in cats:
        if encoding == "lookup":
            vocab = sorted(features[c].astype(str).unique())
            encoders[c] = keras.layers.StringLookup(vocabulary=vocab, num_oov_indices=1, name=f"{c}_lookup")
            sizes.append(len(vocab) + 1)
        else:
            encoders[c] = keras.layers.Hashing(hash_bins, name=f"{c}_hash")
            sizes.append(hash_bins)
    normalizer = keras.layers.Normalization(name="normalize")
    values = features[nums].to_numpy(np.float64)
    normalizer.adapt(np.sign(values) * np.log1p(np.abs(values)))           # (rows, N) → mean, variance per column
    return FeaturePipeline(encoders, normalizer, tuple(cats), tuple(nums), tuple(sizes))


@dataclass(eq=False)
class ServingPipeline:
    """A fitted :class:`FeaturePipeline` + a trained census model: raw rows in, probabilities out.

    Works on every Keras backend: :meth:`predict` runs the string preprocessing in ``tf.data``
    and the model on the numeric arrays. :meth:`save` writes a folder with the model as
    ``model.keras`` and the preprocessing as ``feature_pipeline.json`` (vocabularies,
    normalisation statistics); :meth:`load` reads it back, with identical predictions.
    On the TensorFlow backend :meth:`keras_model` also gives the classic single Keras model
    with string inputs (one ``.keras`` file).

    Attributes:
        pipeline: the fitted preprocessing.
        model: a model from :func:`build_census_model` (inputs ``{"categorical", "numeric"}``).
    """

    pipeline: FeaturePipeline
    model: keras.Model

    MODEL_FILE = "model.keras"
    PIPELINE_FILE = "feature_pipeline.json"

    def predict(self, raw: pd.DataFrame | Mapping[str, Any], *, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """Raw rows (a DataFrame, or a ``{column: (rows, 1)}`` dict from :func:`model_inputs`) →
        ``{task: (rows, 1)}`` float32 probabilities."""
        out = self.model.predict(self.pipeline.transform(raw), batch_size=batch_size, verbose=0)
        return {task: np.asarray(value) for task, value in out.items()}

    def save(self, directory: str | Path) -> Path:
        """Write ``directory/model.keras`` and ``directory/feature_pipeline.json``; returns ``directory``."""
        directory = Path(directory)
        if directory.suffix == ".keras":
            raise invalid("directory", f"a folder (a ServingPipeline is saved as {self.MODEL_FILE} + "
                          f"{self.PIPELINE_FILE}); for one .keras file with string inputs use "
                          "`.keras_model().save(path)` on the TensorFlow backend", str(directory),
                          received=f"a .keras path: {directory}")
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(directory / self.MODEL_FILE)
        self.pipeline.save(directory / self.PIPELINE_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> ServingPipeline:
        """Read a folder written by :meth:`save`."""
        directory = Path(directory)
        missing = [f for f in (cls.MODEL_FILE, cls.PIPELINE_FILE) if not (directory / f).is_file()]
        if missing:
            raise invalid("directory", "a saved ServingPipeline", str(directory), received=f"{directory}, missing {missing}")
        pipeline = FeaturePipeline.load(directory / cls.PIPELINE_FILE)
        return cls(pipeline, keras.saving.load_model(directory / cls.MODEL_FILE))

    def keras_model(self) -> keras.Model:
        """Preprocessor + model as one Keras model (TensorFlow backend only).

        Inputs ``{column: (batch, 1)}`` (strings / float32, see :func:`model_inputs`), outputs
        ``{task: (batch, 1)}``. Saved as a ``.keras`` file it carries the vocabularies and the
        normalisation with it.

        Raises:
            ValueError: the backend is not TensorFlow (JAX has no string tensors).
        """
        _require_tensorflow_backend("`keras_model()`")
        preprocessor = self.pipeline.keras_preprocessor()
        raw = preprocessor.input
        return keras.Model(raw, self.model(preprocessor(raw)), name=f"{self.model.name}_serving")


def serving_model(pipeline: FeaturePipeline, model: keras.Model) -> ServingPipeline:
    """Preprocessor + trained model for serving: raw columns in, probabilities out.

    Train on preprocessed arrays (fast: the string lookups run once), then serve with this.
    It works on every backend: ``serving_model(pipeline, model).predict(raw_rows)``,
    ``.save(folder)`` and ``ServingPipeline.load(folder)``. On TensorFlow,
    ``.keras_model()`` is the same thing as a single Keras model with string inputs.

    Returns:
        a :class:`ServingPipeline`; ``.predict`` maps raw rows (DataFrame, or
        ``{column: (rows, 1)}``) to ``{task: (rows, 1)}`` probabilities.
    """
    if not isinstance(pipeline, FeaturePipeline):
        raise invalid("pipeline", "a FeaturePipeline", pipeline, received=f"a {type(pipeline).__name__}")
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras model", model, received=f"a {type(model).__name__}")
    return ServingPipeline(pipeline, model)
