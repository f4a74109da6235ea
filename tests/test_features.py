"""Keras 3 feature pipeline and census models: shapes, the cross feature, serialization.

Runs on every backend the kit supports (``KERAS_BACKEND=jax`` or ``tensorflow``): the string
preprocessing runs in ``tf.data`` either way, and is checked against a numpy reference.

Uses a few thousand rows of the real census-income test split (see tests/test_datasets.py for
where it is looked up; the test fails with a message if it cannot be found).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmoe_lab

mmoe_lab.quiet_import_keras()

import keras  # noqa: E402

from mmoe_lab.backend import set_random_seed  # noqa: E402
from mmoe_lab.census_models import (  # noqa: E402
    DEFAULT_CROSS,
    build_census_model,
    paper_comparison,
    tensorboard_callback,
    train_census_models,
)
from mmoe_lab.datasets import CENSUS_FILES, census_tasks, default_cache_dir, read_census_file  # noqa: E402
from mmoe_lab.features import (  # noqa: E402
    EmbeddingCross,
    FeaturePipeline,
    FieldEmbedding,
    ServingPipeline,
    SignedLog1p,
    fit_feature_pipeline,
    model_inputs,
    serving_model,
)

TEST_NAME = CENSUS_FILES["test"][0]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    env = os.environ.get("MMOE_LAB_DATA_DIR")
    folder = Path(env) if env else default_cache_dir()  # where the loader itself looks
    if not (folder / TEST_NAME).is_file():
        pytest.fail(f"the census-income test split is needed: put {TEST_NAME} in a folder and set "
                    f"MMOE_LAB_DATA_DIR to it (looked in {folder})", pytrace=False)
    return read_census_file(folder / TEST_NAME).iloc[:4000].reset_index(drop=True)


@pytest.fixture(scope="module")
def group1(rows):
    x, y = census_tasks(rows.iloc[:3000], 1)
    xt, yt = census_tasks(rows.iloc[3000:], 1)
    return x, y, xt, yt


@pytest.fixture(scope="module")
def pipeline(group1):
    return fit_feature_pipeline(group1[0])


def test_pipeline_shapes_and_scaling(group1, pipeline):
    x, _, xt, _ = group1
    p = pipeline.transform(x)
    C, N = len(pipeline.categorical), len(pipeline.numeric)
    assert (C, N) == (32, 7) and C + N == x.shape[1]
    assert p["categorical"].shape == (3000, C) and p["categorical"].dtype == np.int32
    assert p["numeric"].shape == (3000, N) and p["numeric"].dtype == np.float32
    assert (p["categorical"] >= 0).all() and (p["categorical"] < np.array(pipeline.field_sizes)).all()
    assert (p["categorical"] > 0).all()                                   # every training value is in the vocabulary
    np.testing.assert_allclose(p["numeric"].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(p["numeric"].std(0), 1, atol=1e-3)
    # vocabulary size = distinct training values + one OOV id
    i = pipeline.categorical.index("sex")
    assert pipeline.field_sizes[i] == 3
    # an unseen category maps to the OOV id 0
    odd = xt.iloc[:2].copy()
    odd["class_of_worker"] = "Astronaut"
    assert (pipeline.transform(odd)["categorical"][:, pipeline.categorical.index("class_of_worker")] == 0).all()


def test_pipeline_matches_numpy_reference(group1, pipeline):
    """The tf.data pipeline computes exactly this on every backend: sorted vocabulary + 1 (OOV 0),
    and (signed log1p − mean) / std of the training rows."""
    x, _, xt, _ = group1
    p = pipeline.transform(xt)
    for i, c in enumerate(pipeline.categorical):
        vocab = np.array(sorted(x[c].astype(str).unique()), dtype=object)
        values = xt[c].astype(str).to_numpy(dtype=object)
        pos = np.minimum(np.searchsorted(vocab, values), len(vocab) - 1)
        expected = np.where(vocab[pos] == values, pos + 1, 0)
        np.testing.assert_array_equal(p["categorical"][:, i], expected, err_msg=c)
    slog = lambda v: np.sign(v) * np.log1p(np.abs(v))  # noqa: E731
    train = slog(x[list(pipeline.numeric)].to_numpy(np.float64))
    expected = (slog(xt[list(pipeline.numeric)].to_numpy(np.float64)) - train.mean(0)) / train.std(0)
    np.testing.assert_allclose(p["numeric"], expected, rtol=1e-4, atol=1e-5)
    # the tf.data batch size changes nothing but float rounding; a dict of columns is accepted too
    small = pipeline.transform(model_inputs(xt), batch_size=7)
    np.testing.assert_array_equal(small["categorical"], p["categorical"])
    np.testing.assert_allclose(small["numeric"], p["numeric"], rtol=1e-6, atol=1e-6)
    empty = pipeline.transform(xt.iloc[:0])
    assert empty["categorical"].shape == (0, 32) and empty["numeric"].shape == (0, 7)
    with pytest.raises(ValueError, match="columns the pipeline was fitted on"):
        pipeline.transform(xt.drop(columns=["age"]))
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.transform(xt, batch_size=0)


@pytest.mark.parametrize("encoding", ["lookup", "hashing"])
def test_pipeline_save_load(group1, pipeline, encoding, tmp_path):
    x, _, xt, _ = group1
    pipe = pipeline if encoding == "lookup" else fit_feature_pipeline(x, encoding="hashing", hash_bins=16)
    loaded = FeaturePipeline.load(pipe.save(tmp_path / "pipe.json"))
    assert (loaded.categorical, loaded.numeric, loaded.field_sizes) == (pipe.categorical, pipe.numeric, pipe.field_sizes)
    before, after = pipe.transform(xt), loaded.transform(xt)
    for key in ("categorical", "numeric"):
        np.testing.assert_array_equal(before[key], after[key])
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="a saved FeaturePipeline"):
        FeaturePipeline.load(tmp_path / "other.json")


def test_hashing_encoding(group1):
    x = group1[0]
    hashed = fit_feature_pipeline(x, encoding="hashing", hash_bins=16)
    ids = hashed.transform(x)["categorical"]
    assert set(hashed.field_sizes) == {16} and ids.min() >= 0 and ids.max() < 16
    with pytest.raises(ValueError, match="encoding"):
        fit_feature_pipeline(x, encoding="onehot")


def test_model_shapes_and_input_width(pipeline, group1):
    x = pipeline.transform(group1[0].iloc[:64])
    C, N, k = len(pipeline.categorical), len(pipeline.numeric), 3
    for arch, cross in (("mmoe", DEFAULT_CROSS), ("shared_bottom", None), ("omoe", DEFAULT_CROSS)):
        model = build_census_model(arch, pipeline, 1, embedding_dim=k, cross=cross, compile=False)
        assert model.get_layer("all_features").output.shape[-1] == C * k + N + (k if cross else 0)
        out = model.predict(x, verbose=0)
        assert sorted(out) == ["income", "marital"]
        assert all(v.shape == (64, 1) and ((v > 0) & (v < 1)).all() for v in out.values())
    with pytest.raises(ValueError, match="cross"):
        build_census_model("mmoe", pipeline, 1, cross=("sex", "income"))
    with pytest.raises(ValueError, match="arch"):
        build_census_model("ple", pipeline, 1)
    with pytest.raises(ValueError, match=r"`tasks` should be one of \[1, 2\]"):
        build_census_model("mmoe", pipeline, 3)
    m2 = build_census_model("mmoe", fit_feature_pipeline(census_tasks(group1[0].assign(
        income="- 50000.", marital_stat="Divorced", instance_weight=1.0), 2)[0]), 2, compile=False)
    assert sorted(m2.output) == ["education", "marital"]


def test_field_embedding_is_separate_tables_in_one():
    emb = FieldEmbedding([3, 5, 2], embedding_dim=4)
    ids = np.array([[0, 4, 1], [2, 0, 0]])
    out = keras.ops.convert_to_numpy(emb(ids))
    table = keras.ops.convert_to_numpy(emb.embeddings)
    assert out.shape == (2, 3, 4) and table.shape == (10, 4)
    np.testing.assert_array_equal(out[0, 1], table[3 + 4])                # field 1 starts at row 3
    np.testing.assert_array_equal(out[1, 2], table[3 + 5 + 0])            # field 2 starts at row 8
    with pytest.raises(ValueError, match="field_sizes"):
        FieldEmbedding([3, 0])
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        emb.build((None, 4)) if not emb.built else FieldEmbedding([3, 5, 2]).build((None, 4))


def test_cross_feature_is_elementwise_product(pipeline, group1):
    model = build_census_model("mmoe", pipeline, 1, embedding_dim=4, compile=False)
    name = f"cross_{DEFAULT_CROSS[0]}_x_{DEFAULT_CROSS[1]}"
    probe = keras.Model(model.input, [model.get_layer("embeddings").output, model.get_layer(name).output])
    emb, cross = probe.predict(pipeline.transform(group1[0].iloc[:32]), verbose=0)
    a, b = (pipeline.categorical.index(c) for c in DEFAULT_CROSS)
    assert cross.shape == (32, 4)
    np.testing.assert_allclose(cross, emb[:, a] * emb[:, b], rtol=1e-6)
    # rows that share both values share the cross; the product is symmetric in the two fields
    layer = EmbeddingCross(b, a)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(emb)), cross, rtol=1e-6)
    with pytest.raises(ValueError, match="a field other than"):
        EmbeddingCross(2, 2)


def test_layer_configs_round_trip():
    for layer in (FieldEmbedding([3, 4], 2, name="fe"), EmbeddingCross(0, 1, name="ec"), SignedLog1p(name="sl")):
        clone = layer.__class__.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    x = np.array([[-9.0, 0.0, 99999.0]], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(SignedLog1p()(x)), np.sign(x) * np.log1p(np.abs(x)), rtol=1e-6)


def test_compile_idioms(pipeline, group1):
    from mmoe_lab.models import TaskSpec

    tasks = [TaskSpec("income", "binary", loss_weight=2.0), TaskSpec("marital", "binary", loss_weight=0.5)]
    model = build_census_model("mmoe", pipeline, tasks, learning_rate=1e-2, decay_steps=10, decay_rate=0.5)
    assert model._compile_config.config["loss_weights"] == {"income": 2.0, "marital": 0.5}
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    assert float(schedule(20)) == pytest.approx(1e-2 * 0.25)
    x, y = pipeline.transform(group1[0].iloc[:256]), {k: v[:256] for k, v in group1[1].items()}
    tb = tensorboard_callback()
    hist = model.fit(x, y, epochs=1, batch_size=128, verbose=0, callbacks=[tb])
    for task in ("income", "marital"):
        for metric in ("auc", "precision", "recall"):
            assert f"{task}_{metric}" in hist.history
    assert Path(tb.log_dir).is_dir() and any(Path(tb.log_dir).rglob("*.tfevents.*"))


def test_serving_pipeline_round_trip(pipeline, group1, tmp_path):
    x, y, xt, _ = group1
    set_random_seed(0)
    model = build_census_model("mmoe", pipeline, 1)
    model.fit(pipeline.transform(x), y, epochs=1, batch_size=256, verbose=0)
    serving = serving_model(pipeline, model)
    assert isinstance(serving, ServingPipeline)
    before = serving.predict(xt)
    # raw rows in: agrees with the trained model on preprocessed arrays; a raw-input dict works too
    direct = model.predict(pipeline.transform(xt), verbose=0)
    assert sorted(before) == ["income", "marital"] and before["income"].shape == (len(xt), 1)
    np.testing.assert_allclose(before["income"], direct["income"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(serving.predict(model_inputs(xt))["income"], before["income"])
    folder = serving.save(tmp_path / "census_mmoe")
    assert sorted(p.name for p in folder.iterdir()) == ["feature_pipeline.json", "model.keras"]
    loaded = ServingPipeline.load(folder)
    after = loaded.predict(xt)
    for task in ("income", "marital"):
        np.testing.assert_array_equal(before[task], after[task])
    with pytest.raises(ValueError, match="folder"):
        serving.save(tmp_path / "census_mmoe.keras")
    with pytest.raises(ValueError, match="a saved ServingPipeline"):
        ServingPipeline.load(tmp_path)
    with pytest.raises(ValueError, match="FeaturePipeline"):
        serving_model(model, model)
    # the trained model alone round-trips too
    model.save(tmp_path / "body.keras")
    again = keras.saving.load_model(tmp_path / "body.keras").predict(pipeline.transform(xt), verbose=0)
    np.testing.assert_array_equal(again["income"], direct["income"])


def test_single_keras_serving_model(pipeline, group1, tmp_path):
    """One Keras model with string inputs: TensorFlow only; other backends say what to do."""
    x, y, xt, _ = group1
    model = build_census_model("mmoe", pipeline, 1, compile=False)
    serving = serving_model(pipeline, model)
    if keras.backend.backend() != "tensorflow":
        with pytest.raises(ValueError, match="KERAS_BACKEND.*serving_model"):
            serving.keras_model()
        with pytest.raises(ValueError, match="KERAS_BACKEND"):
            pipeline.keras_preprocessor()
        return
    import tensorflow as tf

    one = serving.keras_model()
    raw = {k: tf.constant(v) for k, v in model_inputs(xt).items()}
    before = one.predict(raw, verbose=0)
    np.testing.assert_allclose(before["income"], serving.predict(xt)["income"], rtol=1e-6, atol=1e-7)
    one.save(tmp_path / "census_mmoe.keras")
    after = keras.saving.load_model(tmp_path / "census_mmoe.keras").predict(raw, verbose=0)
    for task in ("income", "marital"):
        np.testing.assert_array_equal(before[task], after[task])


def test_train_census_models_smoke(rows):
    table, models, pipe = train_census_models(rows.iloc[:3000], rows.iloc[3000:], archs=("mmoe",),
                                              n_train=2000, epochs=1, batch_size=256, return_models=True)
    assert list(table.index) == ["mmoe"] and set(models) == {"mmoe"} and pipe.field_sizes
    assert ((table[["income AUC", "marital AUC"]] > 0.5) & (table[["income AUC", "marital AUC"]] <= 1)).all().all()
    comp = paper_comparison(table)
    assert comp.loc["mmoe", "income mean (paper)"] == 0.9359 and comp.loc["mmoe", "income best (paper)"] == 0.9410
    with pytest.raises(ValueError, match="income AUC"):
        paper_comparison(table.rename(columns={"income AUC": "x"}))


def test_plot_census_auc():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab.plots import plot_census_auc

    ours = pd.DataFrame({"income AUC": [0.938, 0.936, 0.937], "marital AUC": [0.994, 0.993, 0.994]},
                        index=pd.Index(["shared_bottom", "omoe", "mmoe"], name="arch"))
    seeds = pd.DataFrame({"arch": ["mmoe", "mmoe", "omoe"], "income AUC": [0.935, 0.939, 0.931]})
    fig = plot_census_auc(paper_comparison(ours), seeds=seeds)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["shared-bottom", "one-gate MoE", "MMoE"]
    assert len(ax.patches) == 6                                            # ours + paper mean per model
    with pytest.raises(ValueError, match="income mean"):
        plot_census_auc(ours)
