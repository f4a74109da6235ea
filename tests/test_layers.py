"""The fused MMoE layer: numpy reference, gate invariants, OMoE, serialization, errors."""

import numpy as np
import pytest

import mmoe_lab

mmoe_lab.quiet_import_keras()
import keras  # noqa: E402
from _reference import expert_blocks  # noqa: E402

from mmoe_lab.layers import MMoE, balance_loss  # noqa: E402
from mmoe_lab.models import build_model, matched_shared_units, mixture_params  # noqa: E402


def numpy_mmoe(layer, x, temperature=1.0):
    """Reference forward pass from the layer's own weights, one expert and one gate at a time."""
    W, b, G, gb = expert_blocks(layer)
    experts = [np.maximum(x @ W[e] + b[e], 0) for e in range(layer.num_experts)]
    outs, gates = [], []
    for t in range(layer.num_tasks):
        g = 0 if layer.num_gates == 1 else t
        logits = (x @ G[g] + gb[g]) / temperature
        w = np.exp(logits - logits.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        gates.append(w)
        outs.append(sum(w[:, e : e + 1] * experts[e] for e in range(layer.num_experts)))
    return outs, np.stack(gates, 1)


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((32, 12)).astype("float32")


@pytest.mark.parametrize("num_gates", [None, 1])
@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_matches_numpy_reference(x, num_gates, temperature):
    keras.utils.set_random_seed(1)
    layer = MMoE(5, 4, 3, num_gates=num_gates, gate_temperature=temperature, return_gates=True,
                 bias_initializer="random_normal")
    outs, gates = layer(x)
    ref_outs, ref_gates = numpy_mmoe(layer, x, temperature)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gates), ref_gates, rtol=1e-5, atol=1e-6)
    for o, r in zip(outs, ref_outs, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(o), r, rtol=1e-4, atol=1e-5)


def test_gates_sum_to_one_and_are_positive(x):
    layer = MMoE(6, 3, 2, return_gates=True, gate_dropout=0.3, seed=0)
    for training in (False, True):
        _, gates = layer(x, training=training)
        g = keras.ops.convert_to_numpy(gates)
        assert g.shape == (32, 2, 6)
        np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-5)
        assert (g >= 0).all()


def test_gate_dropout_only_in_training(x):
    layer = MMoE(6, 3, 2, return_gates=True, gate_dropout=0.5, seed=0)
    _, g_eval = layer(x, training=False)
    _, g_train = layer(x, training=True)
    assert (keras.ops.convert_to_numpy(g_eval) > 0).all()
    assert (keras.ops.convert_to_numpy(g_train) == 0).mean() > 0.2


def test_omoe_equals_mmoe_with_tied_gates(x):
    omoe = MMoE(4, 5, 2, num_gates=1)
    mmoe = MMoE(4, 5, 2)
    omoe(x), mmoe(x)
    mmoe.expert_kernel.assign(omoe.expert_kernel)
    mmoe.expert_bias.assign(omoe.expert_bias)
    mmoe.gate_kernel.assign(keras.ops.tile(omoe.gate_kernel, (1, 2)))  # (d, E) -> (d, 2·E)
    mmoe.gate_bias.assign(keras.ops.tile(omoe.gate_bias, (2,)))
    for a, b in zip(omoe(x), mmoe(x), strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6)
    a0, a1 = omoe(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(a0), keras.ops.convert_to_numpy(a1))


def test_experts_are_initialised_independently_at_dense_scale(x):
    layer = MMoE(8, 16, 2)
    layer.build((None, 100))
    W = expert_blocks(layer)[0]  # (E, d, U)
    assert not np.allclose(W[0], W[1])
    glorot_std = np.sqrt(2 / (100 + 16))  # one Dense(100 -> 16)
    assert W.std() == pytest.approx(glorot_std, rel=0.1)


def test_balance_loss_zero_when_balanced_and_positive_when_not():
    even = np.full((10, 2, 4), 0.25, dtype="float32")
    assert float(balance_loss(even)) == pytest.approx(0.0, abs=1e-7)
    skew = np.zeros((10, 1, 4), dtype="float32")
    skew[..., 0] = 1.0
    assert float(balance_loss(skew)) == pytest.approx(3.0, rel=1e-5)  # CV² of (n,0,0,0) = E-1


def test_balance_loss_is_added_in_training_only(x):
    layer = MMoE(4, 3, 2, balance_loss_weight=0.5)
    layer(x, training=False)
    assert len(layer.losses) == 0
    layer(x, training=True)
    assert len(layer.losses) == 1 and float(layer.losses[0]) >= 0


def test_config_round_trip():
    layer = MMoE(3, 7, 2, num_gates=1, gate_temperature=2.0, gate_dropout=0.1, balance_loss_weight=0.01,
                 expert_initializer=keras.initializers.HeNormal(seed=3), gate_regularizer="l2", name="moe")
    clone = MMoE.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_file_round_trip_gives_identical_predictions(tmp_path, x):
    keras.utils.set_random_seed(0)
    model = build_model("mmoe", 2, 12, gate_temperature=1.5, gate_dropout=0.1, balance_loss_weight=0.01)
    path = tmp_path / "mmoe.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    a, b = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_experts=0), "num_experts"),
        (dict(expert_units=2.5), "expert_units"),
        (dict(num_tasks=-1), "num_tasks"),
        (dict(num_tasks=3, num_gates=2), "num_gates"),
        (dict(gate_temperature=0), "gate_temperature"),
        (dict(gate_dropout=1.0), "gate_dropout"),
        (dict(balance_loss_weight=-0.1), "balance_loss_weight"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MMoE(**kwargs)


def test_wrong_input_rank_and_width(x):
    layer = MMoE(2, 3, 2)
    with pytest.raises(ValueError, match=r"\(batch, features\).*\(4, 3, 12\)"):
        layer(np.zeros((4, 3, 12), "float32"))
    layer(x)
    with pytest.raises(ValueError, match=r"expected axis -1.*12.*\(4, 5\)"):
        layer(np.zeros((4, 5), "float32"))


def test_parameter_counts_follow_the_paper():
    mmoe = build_model("mmoe", compile=False)
    omoe = build_model("omoe", compile=False)
    sb = build_model("shared_bottom", compile=False)
    assert mmoe.count_params() == mixture_params(100, 2, 8, 16, 8)
    assert omoe.count_params() == mixture_params(100, 2, 8, 16, 8, num_gates=1)
    assert abs(sb.count_params() / mmoe.count_params() - 1) < 0.05
    assert matched_shared_units(100, 2) == sb.get_layer("shared_bottom").units


def test_model_outputs_are_named_after_tasks():
    from mmoe_lab.models import TaskSpec

    model = build_model("mmoe", [TaskSpec("click", "binary"), TaskSpec("watch", "regression")], 10)
    out = model.predict(np.zeros((3, 10), "float32"), verbose=0)
    assert set(out) == {"click", "watch"}
    assert ((out["click"] >= 0) & (out["click"] <= 1)).all()


def test_same_seed_same_trained_loss():
    from mmoe_lab.experiments import train_and_evaluate
    from mmoe_lab.synthetic import make_task_splits

    data = make_task_splits(512, 128, 0.5, n_features=20, random_state=0)
    a = train_and_evaluate("mmoe", data, epochs=2, batch_size=64, seed=3)
    b = train_and_evaluate("mmoe", data, epochs=2, batch_size=64, seed=3)
    assert a["test_loss"] == b["test_loss"]
