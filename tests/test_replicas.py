"""Vectorised replicas: each replica trains exactly as the same seed would alone."""

from __future__ import annotations

import numpy as np
import pytest

from mmoe_lab.replicas import (
    ReplicaConfig,
    ReplicaStack,
    batch_indices,
    init_replica_weights,
    make_replica_data,
    replica_gates,
    replica_param_count,
    train_replicas,
    weights_for_keras,
)
from mmoe_lab.synthetic import TaskGenerator, make_task_splits

ARCHS = ("shared_bottom", "omoe", "mmoe")
# Tolerance of the equivalence tests: float32 reductions run in a different order in a batched
# einsum than in Dense/MMoE layers (≈1e-7 relative per op); after 30 Adam steps the losses of
# the two computations agree to better than 1e-4 relative.
RTOL = 1e-4


@pytest.mark.parametrize("arch", ARCHS)
def test_param_count_matches_keras_builder(arch):
    from mmoe_lab.models import build_model

    cfg = ReplicaConfig(arch)
    model = build_model(arch, 2, 100, compile=False)
    assert replica_param_count(cfg) == model.count_params()
    stack = ReplicaStack(3, arch=arch)
    stack.build((3, None, 100))
    assert sum(int(np.prod(v.shape)) for v in stack.trainable_variables) == 3 * model.count_params()


def test_replica_weights_depend_only_on_own_seed():
    cfg = ReplicaConfig("mmoe")
    a = init_replica_weights(cfg, [5, 7, 9])
    b = init_replica_weights(cfg, [7])
    for k in a:
        np.testing.assert_array_equal(a[k][1], b[k][0])
    assert not np.allclose(a["expert_kernel"][0], a["expert_kernel"][1])


def test_replica_data_equals_make_task_splits():
    data = make_replica_data([3, 4], 0.9, preset="teaching", n_train=500, n_test=100)
    ref = make_task_splits(500, 100, 0.9, preset="teaching", random_state=4)
    np.testing.assert_array_equal(data.x_train[1], ref["x_train"])
    np.testing.assert_array_equal(data.y_train[1], ref["y_train"])
    np.testing.assert_array_equal(data.y_test[1], ref["y_test"])


def test_labels_of_given_inputs_match_generator_sample():
    gen = TaskGenerator.from_preset(100, 0.5, preset="paper", standardize=True, random_state=1)
    x, y = gen.sample(300, np.random.default_rng(11))
    rng = np.random.default_rng(11)
    x2 = rng.standard_normal((300, 100))
    np.testing.assert_array_equal(gen.labels(x2, rng), y)  # the same code, the same stream: equal bits


def test_glorot_blocks_draw_each_block_like_its_own_dense():
    from mmoe_lab.layers import glorot_blocks, side_by_side

    rng = np.random.default_rng(0)
    k = glorot_blocks(rng, 3, 4, 5)
    blocks = np.random.default_rng(0).uniform(-np.sqrt(6 / 9), np.sqrt(6 / 9), (3, 4, 5)).astype(np.float32)
    assert k.shape == (4, 15) and k.dtype == np.float32
    np.testing.assert_array_equal(k[:, 5:10], blocks[1])  # block 1 in columns 5..9
    np.testing.assert_array_equal(side_by_side(blocks, xp=np), k)


def test_batch_indices_are_per_replica_permutations():
    idx = batch_indices([0, 1], 100, 32, 0, 6)  # 192 draws: one full epoch + 92
    assert idx.shape == (6, 2, 32)
    flat = idx.transpose(1, 0, 2).reshape(2, -1)
    for r in range(2):
        assert sorted(flat[r, :100]) == list(range(100))
    assert not np.array_equal(flat[0], flat[1])
    # a later window equals the same slice of a longer call (resumable, no drift)
    np.testing.assert_array_equal(batch_indices([0, 1], 100, 32, 2, 3), idx[2:5])


@pytest.mark.backend
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_replica_equals_same_seed_trained_alone(arch):
    """Replica r of a stack == a plain Keras model with replica r's init, fed the same batches."""
    from mmoe_lab.models import build_model

    seeds, steps, lr, bs = [11, 12, 13], 30, 1e-2, 64
    kw = dict(preset="teaching", n_train=600, n_test=200, steps=steps, batch_size=bs,
              learning_rate=lr, eval_every=steps)
    res = train_replicas(arch, seeds, 0.5, **kw)
    alone = train_replicas(arch, [12], 0.5, **kw)  # the same seed as a stack of one
    np.testing.assert_allclose(res["final_test"][1], alone["final_test"][0], rtol=RTOL)

    cfg = ReplicaConfig(arch)
    model = build_model(arch, 2, 100, learning_rate=lr)
    weights_for_keras(cfg, init_replica_weights(cfg, [12]), 0, model)
    data = make_task_splits(600, 200, 0.5, preset="teaching", random_state=12)
    idx = batch_indices([12], 600, bs, 0, steps)[:, 0]
    for i in idx:
        y = data["y_train"][i]
        model.train_on_batch(data["x_train"][i], {"task_0": y[:, 0], "task_1": y[:, 1]})
    pred = model.predict(data["x_test"], verbose=0)
    test_mse = [float(np.mean((pred[f"task_{t}"][:, 0] - data["y_test"][:, t]) ** 2)) for t in range(2)]
    np.testing.assert_allclose(res["final_test"][1], test_mse, rtol=RTOL)
    # and training moved the weights (the comparison is not trivially of the initial state)
    init = init_replica_weights(cfg, [12])
    assert not np.allclose(res["weights"]["tower_kernel"][1], init["tower_kernel"][0], atol=1e-3)
    # other replicas differ (own init, own data)
    assert not np.allclose(res["final_test"][0], res["final_test"][1])


@pytest.mark.slow
def test_fresh_samples_and_shared_inputs_learn():
    fresh = train_replicas("mmoe", [0, 1], 0.5, preset="teaching", n_train=None, n_test=500,
                           steps=150, eval_every=50, learning_rate=1e-2)
    assert fresh["test_curve"].shape == (2, 3, 2)
    assert (fresh["test_curve"][:, -1].mean() < fresh["test_curve"][:, 0].mean())
    shared = train_replicas("shared_bottom", [0, 1], 0.5, preset="teaching", n_train=2000, n_test=500,
                            steps=60, eval_every=30, shared_inputs=True, learning_rate=1e-2)
    assert np.isfinite(shared["final_train"]).all() and shared["final_train"].shape == (2, 2)


def test_stack_config_round_trip_and_bad_args():
    import keras

    stack = ReplicaStack(2, arch="omoe", tower_units=4)
    clone = keras.layers.deserialize(keras.layers.serialize(stack))
    assert clone.get_config()["arch"] == "omoe" and clone.num_replicas == 2
    with pytest.raises(ValueError, match="num_replicas"):
        ReplicaStack(0)
    with pytest.raises(ValueError, match="arch"):
        ReplicaConfig("moe")


def test_per_replica_correlations():
    """One stack can hold several p: replica r uses correlation[r]; the same seed keeps its
    directions and sine constants at every p (only p differs)."""
    data = make_replica_data([3, 3, 4], [0.9, 0.5, 0.5], preset="teaching", n_train=200, n_test=50)
    for r, (seed, p) in enumerate([(3, 0.9), (3, 0.5), (4, 0.5)]):
        ref = make_task_splits(200, 50, p, preset="teaching", random_state=seed)
        np.testing.assert_array_equal(data.y_train[r], ref["y_train"])
        assert data.generators[r].cosine[0, 1] == pytest.approx(p)
    g09, g05 = data.generators[0], data.generators[1]
    np.testing.assert_allclose(g09.weights[0], g05.weights[0])  # task 1's direction u1 is shared
    np.testing.assert_allclose(g09.alpha, g05.alpha)
    assert not np.allclose(g09.weights[1], g05.weights[1])  # task 2 turned by p
    with pytest.raises(ValueError, match="one per replica"):
        make_replica_data([1, 2], [0.5, 0.9, 1.0], n_train=10, n_test=10)


@pytest.mark.backend
@pytest.mark.slow
def test_cosine_schedule_equals_keras_cosine_decay():
    """lr_schedule="cosine" is Keras' CosineDecay(lr, steps, alpha=0.01), the live budget's schedule."""
    import keras

    from mmoe_lab.models import build_model

    steps, lr, bs = 20, 3e-2, 64
    res = train_replicas("mmoe", [5], 0.5, preset="teaching", n_train=400, n_test=100, steps=steps,
                         batch_size=bs, learning_rate=lr, lr_schedule="cosine", eval_every=steps)
    const = train_replicas("mmoe", [5], 0.5, preset="teaching", n_train=400, n_test=100, steps=steps,
                           batch_size=bs, learning_rate=lr, eval_every=steps)
    cfg = ReplicaConfig("mmoe")
    model = build_model("mmoe", 2, 100, learning_rate=keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.01))
    weights_for_keras(cfg, init_replica_weights(cfg, [5]), 0, model)
    data = make_task_splits(400, 100, 0.5, preset="teaching", random_state=5)
    for i in batch_indices([5], 400, bs, 0, steps)[:, 0]:
        y = data["y_train"][i]
        model.train_on_batch(data["x_train"][i], {"task_0": y[:, 0], "task_1": y[:, 1]})
    pred = model.predict(data["x_test"], verbose=0)
    test_mse = [float(np.mean((pred[f"task_{t}"][:, 0] - data["y_test"][:, t]) ** 2)) for t in range(2)]
    np.testing.assert_allclose(res["final_test"][0], test_mse, rtol=RTOL)
    assert not np.allclose(res["final_test"][0], const["final_test"][0], rtol=1e-3)
    with pytest.raises(ValueError, match="lr_schedule"):
        train_replicas("mmoe", [5], 0.5, n_train=100, n_test=10, steps=1, lr_schedule="linear")


def test_replica_gates_match_the_keras_layer():
    from mmoe_lab.diagnostics import probe
    from mmoe_lab.models import build_model

    x = np.random.default_rng(0).standard_normal((7, 100)).astype(np.float32)
    for arch in ("omoe", "mmoe"):
        cfg = ReplicaConfig(arch)
        w = init_replica_weights(cfg, [3, 4])
        w["gate_kernel"] = w["gate_kernel"] * 20  # far from uniform, so the check has teeth
        gates = replica_gates(cfg, w, x)
        assert gates.shape == (2, 7, 2, 8)
        model = build_model(arch, 2, 100)
        weights_for_keras(cfg, w, 1, model)
        np.testing.assert_allclose(gates[1], probe(model, x)[0], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="no gates"):
        replica_gates(ReplicaConfig("shared_bottom"), {}, x)
    with pytest.raises(ValueError, match="shape"):
        replica_gates(ReplicaConfig("mmoe"), w, x[:, :10])


def test_learning_rate_schedule():
    import keras

    from mmoe_lab.models import learning_rate_schedule

    assert learning_rate_schedule(1e-3, "constant", 10) == 1e-3
    cos = learning_rate_schedule(1e-2, "cosine", 100)
    assert isinstance(cos, keras.optimizers.schedules.CosineDecay)
    assert float(cos(0)) == pytest.approx(1e-2) and float(cos(100)) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate_schedule(1e-3, "step", 10)


@pytest.mark.parametrize("arch", ARCHS)
def test_replica_forward_equals_keras_model_on_the_same_weights(arch):
    """The stack's forward pass (the layer's own helpers with a replica axis) equals, replica by
    replica, a build_model model holding that replica's weights (assigned without transposes)."""
    import keras

    from mmoe_lab.models import build_model

    cfg = ReplicaConfig(arch)
    w = init_replica_weights(cfg, [3, 4, 5])
    rng = np.random.default_rng(0)
    for name in w:  # random biases too, so every term of the forward pass is exercised
        if name.endswith("bias"):
            w[name] = rng.normal(0, 0.3, size=w[name].shape).astype(np.float32)
    stack = ReplicaStack(3, arch=arch)
    stack.build((3, None, 100))
    stack.set_replica_weights(w)
    x = rng.standard_normal((3, 16, 100)).astype(np.float32)
    out = keras.ops.convert_to_numpy(stack(x))  # (R, B, T)
    for r in range(3):
        model = build_model(arch, 2, 100, compile=False)
        weights_for_keras(cfg, w, r, model)
        pred = model(x[r])
        ref = np.stack([keras.ops.convert_to_numpy(pred[f"task_{t}"])[:, 0] for t in range(2)], -1)
        np.testing.assert_allclose(out[r], ref, rtol=1e-5, atol=1e-5)


def test_fresh_batch_labels_follow_the_generator():
    """The in-graph sampler's labels are label_function of its own inputs, standardized like
    TaskGenerator.sample (checked in numpy from the x it drew, noise-free)."""
    import keras

    from mmoe_lab.replicas import _fresh_arrays, partial_fresh_batch
    from mmoe_lab.synthetic import label_function

    gens = [TaskGenerator.from_preset(100, p, preset="paper", standardize=True, random_state=s)
            for s, p in ((1, 0.5), (2, 0.9))]
    gens = [TaskGenerator(g.weights, g.alpha, g.beta, 0.0, g.scale, g.cosine, True) for g in gens]
    arrays = _fresh_arrays(gens, [7, 8])
    x, y = partial_fresh_batch(2, 4096, 100, 2, 0.0)(arrays, None, 3)
    x, y = keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y)
    for r, g in enumerate(gens):
        ref = (label_function(x[r].astype(np.float64) @ g.weights.T, g.alpha, g.beta) - g.label_mean) / g.label_std
        np.testing.assert_allclose(y[r], ref, rtol=1e-4, atol=1e-4)
        assert abs(x[r].mean()) < 0.01 and abs(x[r].std() - 1) < 0.01  # x ~ N(0, I)
    # the same (seed, step) gives the same batch; another step another one
    x2, _ = partial_fresh_batch(2, 4096, 100, 2, 0.0)(arrays, None, 3)
    x3, _ = partial_fresh_batch(2, 4096, 100, 2, 0.0)(arrays, None, 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(x2), x)
    assert not np.allclose(keras.ops.convert_to_numpy(x3), x)
    # a replica's inputs depend on its own seed only: the same seed in another stack (other
    # position, other size, other tasks) draws the same x; another seed draws other x
    other = _fresh_arrays([gens[1], gens[0], gens[0]], [5, 7, 7])
    x4, _ = partial_fresh_batch(3, 4096, 100, 2, 0.0)(other, None, 3)
    x4 = keras.ops.convert_to_numpy(x4)
    np.testing.assert_array_equal(x4[1], x[0])
    np.testing.assert_array_equal(x4[2], x[0])
    assert not np.allclose(x4[0], x[0])


def test_run_side_by_side_returns_every_item_once_and_raises_errors():
    import time as _time

    from mmoe_lab.backend import run_side_by_side

    assert list(run_side_by_side(lambda x: x * x, [3, 1, 2], threads=1)) == [(3, 9), (1, 1), (2, 4)]
    polls: list[int] = []
    got = dict(run_side_by_side(lambda x: _time.sleep(0.05 * x) or -x, [3, 1, 2], threads=3,
                                poll=lambda: polls.append(1), interval=0.01))
    assert got == {3: -3, 1: -1, 2: -2} and polls  # polled from the calling thread while waiting

    def boom(x):
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad"):
        list(run_side_by_side(boom, [1, 2], threads=2))
