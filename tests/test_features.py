"""Keras 3 feature pipeline and census models: shapes, the cross feature, serialization.

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

mmoe_lab.quiet_import_tensorflow()

import keras  # noqa: E402

from mmoe_lab.datasets import CENSUS_FILES, census_tasks, read_census_file  # noqa: E402
from mmoe_lab.features import (  # noqa: E402
    DEFAULT_CROSS,
    EmbeddingCross,
    FieldEmbedding,
    SignedLog1p,
    build_census_model,
    fit_feature_pipeline,
    model_inputs,
    paper_comparison,
    roc_auc,
    serving_model,
    tensorboard_callback,
    train_census_models,
)

TEST_NAME = CENSUS_FILES["test"][0]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    env = os.environ.get("MMOE_LAB_DATA_DIR")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
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
    with pytest.raises(ValueError, match="task group"):
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
    with pytest.raises(ValueError, match="differ"):
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


def test_serving_model_keras_round_trip(pipeline, group1, tmp_path):
    x, y, xt, _ = group1
    keras.utils.set_random_seed(0)
    model = build_census_model("mmoe", pipeline, 1)
    model.fit(pipeline.transform(x), y, epochs=1, batch_size=256, verbose=0)
    serving = serving_model(pipeline, model)
    import tensorflow as tf

    raw = {k: tf.constant(v) for k, v in model_inputs(xt).items()}
    before = serving.predict(raw, verbose=0)
    # the serving model (raw strings in) agrees with the trained model on preprocessed arrays
    direct = model.predict(pipeline.transform(xt), verbose=0)
    np.testing.assert_allclose(before["income"], direct["income"], rtol=1e-6, atol=1e-7)
    path = tmp_path / "census_mmoe.keras"
    serving.save(path)
    loaded = keras.saving.load_model(path)
    after = loaded.predict(raw, verbose=0)
    for task in ("income", "marital"):
        np.testing.assert_array_equal(before[task], after[task])
    # the trained model alone round-trips too
    model.save(tmp_path / "body.keras")
    again = keras.saving.load_model(tmp_path / "body.keras").predict(pipeline.transform(xt), verbose=0)
    np.testing.assert_array_equal(again["income"], direct["income"])


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)                            # with ties
    pos, neg = s[y == 1], s[y == 0]
    brute = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert roc_auc(y, s) == pytest.approx(brute, abs=1e-12)
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])


def test_train_census_models_smoke(rows):
    table, models, pipe = train_census_models(rows.iloc[:3000], rows.iloc[3000:], archs=("mmoe",),
                                              n_train=2000, epochs=1, batch_size=256, return_models=True)
    assert list(table.index) == ["mmoe"] and set(models) == {"mmoe"} and pipe.field_sizes
    assert ((table[["income AUC", "marital AUC"]] > 0.5) & (table[["income AUC", "marital AUC"]] <= 1)).all().all()
    comp = paper_comparison(table)
    assert comp.loc["mmoe", "income mean (paper)"] == 0.9359 and comp.loc["mmoe", "income best (paper)"] == 0.9410
    with pytest.raises(ValueError, match="group-1"):
        paper_comparison(table.rename(columns={"income AUC": "x"}))


def test_plot_census_auc():
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab.plots import plot_census_auc

    ours = pd.DataFrame({"income AUC": [0.938, 0.936, 0.937], "marital AUC": [0.994, 0.993, 0.994]},
                        index=pd.Index(["shared_bottom", "omoe", "mmoe"], name="model"))
    seeds = pd.DataFrame({"model": ["mmoe", "mmoe", "omoe"], "income AUC": [0.935, 0.939, 0.931]})
    fig = plot_census_auc(paper_comparison(ours), seeds=seeds)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["shared-bottom", "one-gate MoE", "MMoE"]
    assert len(ax.patches) == 6                                            # ours + paper mean per model
    with pytest.raises(ValueError, match="income mean"):
        plot_census_auc(ours)
