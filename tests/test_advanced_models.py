"""CGC / PLE / stacked MMoE, uncertainty weighting, gradient norms, ESMM: references,
invariants, serialization and errors. AUC and gate statistics: tests/test_metrics.py."""

import os

import numpy as np
import pytest

import mmoe_lab

mmoe_lab.quiet_import_keras()
import keras  # noqa: E402
from _reference import expert_blocks  # noqa: E402

from mmoe_lab.layers import CGC, MMoE, UncertaintyWeighting  # noqa: E402
from mmoe_lab.metrics import task_gradient_norms  # noqa: E402
from mmoe_lab.models import (  # noqa: E402
    EXTRACTION_ARCHITECTURES,
    TaskSpec,
    build_esmm,
    build_extraction_model,
    build_model,
    esmm_targets,
    extraction_gates,
)
from mmoe_lab.training import UncertaintyWeightedModel  # noqa: E402

np_ = keras.ops.convert_to_numpy


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_cgc(layer, inputs, temperature=1.0):
    """Reference CGC forward pass, one expert and one gate at a time, no masks: each gate
    softmaxes over the list of experts it may see."""
    t, s, k = layer.num_tasks, layer.num_shared_experts, layer.num_specific_experts
    xs = list(inputs) if isinstance(inputs, list) else [inputs] * (t + 1)
    W, b, G, gb = expert_blocks(layer)
    owner = ["shared"] * s + [i for i in range(t) for _ in range(k)]
    experts = [np.maximum(xs[t if o == "shared" else o] @ W[e] + b[e], 0) for e, o in enumerate(owner)]
    outs, gates = [], []
    for g in range(t + int(layer.shared_output)):
        visible = [e for e, o in enumerate(owner) if o == "shared" or o == g or g == t]
        x = xs[g]
        w = softmax((x @ G[g][:, visible] + gb[g][visible]) / temperature)
        full = np.zeros((x.shape[0], len(owner)))
        full[:, visible] = w
        gates.append(full)
        outs.append(sum(w[:, j : j + 1] * experts[e] for j, e in enumerate(visible)))
    return outs, np.stack(gates, 1)


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((16, 6)).astype("float32")


@pytest.mark.parametrize("shared, specific", [(2, 1), (0, 2), (3, 0)])
@pytest.mark.parametrize("shared_output", [False, True])
def test_cgc_matches_numpy_reference_single_input(x, shared, specific, shared_output):
    keras.utils.set_random_seed(2)
    layer = CGC(3, shared, specific, 5, shared_output=shared_output, return_gates=True,
                gate_temperature=2.0, bias_initializer="random_normal")
    outs, gates = layer(x)
    ref_outs, ref_gates = numpy_cgc(layer, x, temperature=2.0)
    assert len(outs) == 3 + int(shared_output)
    np.testing.assert_allclose(np_(gates), ref_gates, rtol=1e-5, atol=1e-6)
    for o, r in zip(outs, ref_outs, strict=True):
        np.testing.assert_allclose(np_(o), r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shared_output", [False, True])
def test_cgc_matches_numpy_reference_branch_inputs(shared_output):
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((8, 4)).astype("float32") for _ in range(3)]  # 2 tasks + shared
    keras.utils.set_random_seed(3)
    layer = CGC(2, 2, 2, 3, shared_output=shared_output, return_gates=True, bias_initializer="random_normal")
    outs, gates = layer(xs)
    ref_outs, ref_gates = numpy_cgc(layer, xs)
    np.testing.assert_allclose(np_(gates), ref_gates, rtol=1e-5, atol=1e-6)
    for o, r in zip(outs, ref_outs, strict=True):
        np.testing.assert_allclose(np_(o), r, rtol=1e-4, atol=1e-5)


def test_cgc_gate_invariants(x):
    layer = CGC(2, 1, 2, 4, shared_output=True, return_gates=True)
    _, gates = layer(x)
    g = np_(gates)
    assert g.shape == (16, 3, 5)
    np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-5)
    # task 0 never sees task 1's experts (indices 3, 4) and vice versa; the shared gate sees all
    assert (g[:, 0, 3:] == 0).all() and (g[:, 1, 1:3] == 0).all() and (g[:, 2] > 0).all()
    assert layer.expert_names() == ["shared_0", "task0_0", "task0_1", "task1_0", "task1_1"]


def test_cgc_without_specific_experts_is_mmoe(x):
    cgc = CGC(2, 4, 0, 5)
    mmoe = MMoE(4, 5, 2)
    cgc(x), mmoe(x)
    for a, b in zip(mmoe.weights, cgc.weights, strict=True):
        b.assign(a)
    for a, b in zip(cgc(x), mmoe(x), strict=True):
        np.testing.assert_allclose(np_(a), np_(b), rtol=1e-6, atol=1e-6)


def test_cgc_masked_gate_columns_get_no_gradient(x):
    from mmoe_lab.backend import gradients

    layer = CGC(2, 1, 1, 3)
    layer(x)
    (grad,) = gradients(layer, [layer.gate_kernel], lambda outs: sum(keras.ops.sum(o) for o in outs), x)
    grad = grad.reshape(grad.shape[0], 2, 3).transpose(1, 0, 2)  # (G=2, d, E=3): task1's expert is index 2
    assert np.abs(grad[0, :, 2]).max() == 0 and np.abs(grad[1, :, 1]).max() == 0
    assert np.abs(grad[0, :, :2]).max() > 0
    d, u = 6, 3
    assert layer.effective_params() == 3 * (d * u + u) + 4 * (d + 1)


def test_cgc_config_round_trip(x):
    layer = CGC(3, 2, 1, 4, shared_output=True, gate_temperature=0.5, return_gates=True,
                expert_activation="tanh", name="cgc_a")
    clone = CGC.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_tasks": 0}, "num_tasks"),
        ({"num_shared_experts": -1}, "num_shared_experts"),
        ({"num_specific_experts": 1.5}, "num_specific_experts"),
        ({"num_shared_experts": 0, "num_specific_experts": 0}, "at least one expert"),
        ({"expert_units": 0}, "expert_units"),
        ({"gate_temperature": 0}, "gate_temperature"),
    ],
)
def test_cgc_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CGC(**kwargs)


def test_cgc_wrong_number_of_branch_inputs(x):
    with pytest.raises(ValueError, match="num_tasks \\+ 1 = 3"):
        CGC(2, 1, 1, 3)([x, x])
    with pytest.raises(ValueError, match="same known d"):
        CGC(2, 1, 1, 3)([x, x, x[:, :3]])


@pytest.mark.parametrize("arch", EXTRACTION_ARCHITECTURES)
def test_extraction_models_save_load_identical(arch, x, tmp_path):
    tasks = [TaskSpec("a"), TaskSpec("b", "binary")]
    keras.utils.set_random_seed(0)
    model = build_extraction_model(arch, tasks, input_dim=6, num_shared_experts=2, num_specific_experts=1,
                                   expert_units=4, num_levels=2, tower_units=3)
    y = {"a": np.ones(16, "float32"), "b": np.ones(16, "float32")}
    model.fit(x, y, epochs=1, verbose=0)
    path = os.path.join(tmp_path, f"{arch}.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    p, q = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    assert set(p) == {"a", "b"}
    for k in p:
        np.testing.assert_array_equal(p[k], q[k])
    # the top level's gates, read back from the trained model, equal a return_gates twin's output
    gates, experts, names = extraction_gates(model, x)
    twin = build_extraction_model(arch, tasks, input_dim=6, num_shared_experts=2, num_specific_experts=1,
                                  expert_units=4, num_levels=2, tower_units=3, return_gates=True, compile=False)
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(gates, twin.predict(x, verbose=0)["gates"], rtol=1e-5, atol=1e-7)
    assert gates.shape == (16, 2, len(experts)) and names == ["task0", "task1"]
    twin_path = os.path.join(tmp_path, f"{arch}_gates.keras")
    twin.save(twin_path)
    np.testing.assert_array_equal(twin.predict(x, verbose=0)["gates"],
                                  keras.models.load_model(twin_path).predict(x, verbose=0)["gates"])


def test_extraction_structure():
    cgc = build_extraction_model("cgc", 2, input_dim=5, num_shared_experts=2, num_specific_experts=3)
    ple = build_extraction_model("ple", 2, input_dim=5, num_shared_experts=2, num_specific_experts=3, num_levels=3)
    smm = build_extraction_model("stacked_mmoe", 2, input_dim=5, num_shared_experts=2, num_specific_experts=3)
    cgc_layers = lambda m: [la for la in m.layers if isinstance(la, CGC)]  # noqa: E731
    assert len(cgc_layers(cgc)) == 1 and len(cgc_layers(ple)) == 3 and len(cgc_layers(smm)) == 2
    assert [la.shared_output for la in cgc_layers(ple)] == [True, True, False]
    top = cgc_layers(smm)[-1]
    assert top.num_specific_experts == 0 and top.num_experts == 8  # same expert count as PLE
    with pytest.raises(ValueError, match="arch"):
        build_extraction_model("mmoe", 2)
    with pytest.raises(ValueError, match="num_levels"):
        build_extraction_model("ple", 2, num_levels=0)


# ---------------------------------------------------------------- uncertainty weighting


def test_uncertainty_weighting_numpy_reference_and_gradient():
    from mmoe_lab.backend import gradients

    uw = UncertaintyWeighting(["regression", "binary", "regression"])
    s = np.array([0.3, -0.7, 1.2], "float32")
    uw.log_vars.assign(s)
    losses = np.array([2.0, 0.4, 5.0], "float32")
    c = np.array([0.5, 1.0, 0.5])
    ref = float(np.sum(c * np.exp(-s) * losses + 0.5 * s))
    total = uw([keras.ops.convert_to_tensor(v) for v in losses])
    np.testing.assert_allclose(float(total), ref, rtol=1e-6)
    (grad,) = gradients(uw, [uw.log_vars], lambda out: out, keras.ops.convert_to_tensor(losses))
    np.testing.assert_allclose(grad, -c * np.exp(-s) * losses + 0.5, rtol=1e-5)
    np.testing.assert_allclose(np_(uw.task_weights()), c * np.exp(-s), rtol=1e-6)


def test_uncertainty_weighting_optimum_is_closed_form():
    # for fixed losses the optimum is exp(s_t) = 2 c_t L_t: zero gradient there, higher total around it
    from mmoe_lab.backend import gradients

    uw = UncertaintyWeighting(["regression", "binary"])
    losses = np.array([1e4, 0.3], "float32")
    s_star = np.log([2 * 0.5 * 1e4, 2 * 1.0 * 0.3]).astype("float32")
    uw.log_vars.assign(s_star)
    best = uw(losses)
    np.testing.assert_allclose(gradients(uw, [uw.log_vars], lambda out: out, losses)[0], 0.0, atol=1e-4)
    for delta in ([0.1, 0], [-0.1, 0], [0, 0.1], [0, -0.1]):
        uw.log_vars.assign(s_star + np.array(delta, "float32"))
        assert float(uw(losses)) > float(best)
    # at the optimum each weighted loss is 1/2: the large loss no longer dominates
    uw.log_vars.assign(s_star)
    np.testing.assert_allclose(np_(uw.task_weights()) * losses, 0.5, rtol=1e-4)


def test_uncertainty_weighting_config_and_errors():
    uw = UncertaintyWeighting(["binary", "regression"], initial_log_variance=0.5, name="u")
    clone = UncertaintyWeighting.from_config(uw.get_config())
    assert clone.get_config() == uw.get_config()
    np.testing.assert_allclose(clone.log_vars.numpy(), [0.5, 0.5])
    with pytest.raises(ValueError, match="task_kinds"):
        UncertaintyWeighting(["regression", "poisson"])
    with pytest.raises(ValueError, match="task_kinds"):
        UncertaintyWeighting([])
    with pytest.raises(ValueError, match="initial_log_variance"):
        UncertaintyWeighting(["binary"], initial_log_variance="0")
    with pytest.raises(ValueError, match="2 task losses"):
        uw(keras.ops.ones((3,)))


def _uw_model(d=6):
    tasks = [TaskSpec("a"), TaskSpec("b", "binary")]
    base = build_model("mmoe", tasks, input_dim=d, num_experts=3, expert_units=4, compile=False)
    model = UncertaintyWeightedModel.from_tasks(base, tasks)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  metrics={"a": [keras.metrics.RootMeanSquaredError(name="rmse")], "b": [keras.metrics.AUC(name="auc")]})
    return tasks, base, model


def test_uncertainty_weighted_model_trains_log_variances_and_round_trips(x, tmp_path):
    keras.utils.set_random_seed(0)
    _, _, model = _uw_model()
    y = {"a": 100 * np.random.default_rng(0).standard_normal(16).astype("float32"),
         "b": (np.arange(16) % 2).astype("float32")}
    hist = model.fit(x, y, epochs=20, verbose=0)
    assert {"loss", "a_loss", "b_loss", "a_rmse", "b_auc"} <= set(hist.history)
    w = model.task_weights()
    assert w["a"] < 0.5 * 0.5  # the large-loss regression task got down-weighted from 0.5
    path = os.path.join(tmp_path, "uw.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, UncertaintyWeightedModel)
    for k in ("a", "b"):
        np.testing.assert_array_equal(model.predict(x, verbose=0)[k], loaded.predict(x, verbose=0)[k])
    assert loaded.task_weights() == pytest.approx(w)


def test_uncertainty_weighted_model_errors():
    base = build_model("mmoe", 2, input_dim=4, compile=False)
    with pytest.raises(ValueError, match="one kind per task name"):
        UncertaintyWeightedModel(base, ["task_0", "task_1"], ["regression"])
    with pytest.raises(ValueError, match="keras.Model"):
        UncertaintyWeightedModel("model", ["a"], ["regression"])


# ---------------------------------------------------------------- gradient norms


def test_task_gradient_norms_matches_manual_and_vanishes_at_the_fit(x):
    tasks = [TaskSpec("a"), TaskSpec("b")]
    keras.utils.set_random_seed(0)
    model = build_model("mmoe", tasks, input_dim=6, num_experts=3, expert_units=4)
    pred = model.predict(x, verbose=0)
    y = {"a": pred["a"][:, 0], "b": pred["b"][:, 0] + 3.0}  # task a is fit exactly
    norms = task_gradient_norms(model, x, y, tasks)
    assert norms["a"] < 1e-6 and norms["b"] > 1e-2
    # manual: central finite differences of task b's loss along a random direction of the
    # shared weights equal the gradient's projection on it (independent of the backend's autodiff)
    shared = model.get_layer("mmoe").trainable_variables
    rng = np.random.default_rng(0)
    base = [keras.ops.convert_to_numpy(v).astype(np.float64) for v in shared]
    direction = [rng.standard_normal(b.shape) for b in base]
    norm = np.sqrt(sum(np.sum(d**2) for d in direction))
    direction = [d / norm for d in direction]  # unit length: the step below is small

    def loss_at(eps):
        for v, b, d in zip(shared, base, direction, strict=True):
            v.assign((b + eps * d).astype("float32"))
        return float(np.mean((keras.ops.convert_to_numpy(model(x)["b"])[:, 0] - y["b"]) ** 2))

    from mmoe_lab.backend import gradients

    eps = 3e-3
    slope = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    loss_at(0.0)
    grads = gradients(model, shared, lambda out: keras.ops.mean((out["b"][:, 0] - y["b"]) ** 2), x)
    assert slope == pytest.approx(sum(float(np.sum(g * d)) for g, d in zip(grads, direction, strict=True)), rel=2e-2)
    manual = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))
    assert norms["b"] == pytest.approx(manual, rel=1e-5)
    # MSE gradients scale linearly with the label scale: 10× residuals → 10× gradient
    y10 = {"a": y["a"], "b": pred["b"][:, 0] + 30.0}
    assert task_gradient_norms(model, x, y10, tasks)["b"] == pytest.approx(10 * norms["b"], rel=1e-4)


def test_task_gradient_norms_needs_shared_variables(x):
    model = build_model("shared_bottom", 2, input_dim=6)
    with pytest.raises(ValueError, match="variables="):
        task_gradient_norms(model, x, {"task_0": x[:, 0], "task_1": x[:, 1]}, [TaskSpec("task_0"), TaskSpec("task_1")])
    shared = model.get_layer("shared_bottom").trainable_variables
    norms = task_gradient_norms(model, x, {"task_0": x[:, 0], "task_1": x[:, 1]},
                                [TaskSpec("task_0"), TaskSpec("task_1")], variables=shared)
    assert set(norms) == {"task_0", "task_1"}


# ---------------------------------------------------------------- ESMM


def test_esmm_product_and_round_trip(x, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_esmm(6, shared_units=8, tower_units=4)
    click = (np.arange(16) % 2).astype("float32")
    conv = click * (np.arange(16) % 4 == 1)
    hist = model.fit(x, esmm_targets(click, conv), epochs=2, verbose=0)
    assert {"ctr_loss", "ctcvr_loss", "ctr_auc", "ctcvr_auc"} <= set(hist.history)
    assert "cvr_loss" not in hist.history
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(p["ctcvr"], p["ctr"] * p["cvr"], rtol=1e-6)
    assert ((p["cvr"] > 0) & (p["cvr"] < 1)).all()
    path = os.path.join(tmp_path, "esmm.keras")
    model.save(path)
    q = keras.models.load_model(path).predict(x, verbose=0)
    for k in p:
        np.testing.assert_array_equal(p[k], q[k])


def test_esmm_bent_variant_trains_cvr_head_directly(x):
    model = build_esmm(6, train_on="cvr")
    hist = model.fit(x, esmm_targets(np.ones(16), np.zeros(16), train_on="cvr"), epochs=1, verbose=0)
    assert "cvr_loss" in hist.history and "ctcvr_loss" not in hist.history
    with pytest.raises(ValueError, match="train_on"):
        build_esmm(6, train_on="ctr")
    with pytest.raises(ValueError, match="same shape"):
        esmm_targets(np.ones(3), np.ones(4))


# ---------------------------------------------------------------- comparison runners (arguments only)


def test_comparison_runners_reject_bad_arguments_before_training():
    from mmoe_lab import training

    with pytest.raises(ValueError, match="unknown keys"):
        training.compare_with_single_task(budget={"epoch": 1})
    with pytest.raises(ValueError, match="archs"):
        training.compare_with_single_task(archs=["moe"])
    with pytest.raises(ValueError, match="unknown keys"):
        training.compare_funnel_models(budget={"corr": 0.9})
    with pytest.raises(ValueError, match="models"):
        training.compare_funnel_models(models=["esmm", "dcn"])
    with pytest.raises(ValueError, match="weighting"):
        training.compare_video_variants(variants=[("log", "equal"), ("log", "learned")])
    with pytest.raises(ValueError, match="target"):
        training.run_video_variant({}, target="sqrt")
    with pytest.raises(ValueError, match="make_video_splits"):
        training.run_video_variant({"x_train": np.zeros((4, 3))})


def test_mtl_gain_is_the_relative_mse_drop():
    import pandas as pd

    from mmoe_lab.training import mtl_gain

    results = pd.DataFrame({"seed": [0, 0, 0, 0], "arch": ["single", "single", "mmoe", "mmoe"],
                            "task": ["task_0", "task_1", "task_0", "task_1"], "mse": [2.0, 1.0, 1.5, 1.2]})
    gain = mtl_gain(results)
    assert gain["gain"].tolist() == pytest.approx([25.0, -20.0])
    with pytest.raises(ValueError, match="columns"):
        mtl_gain(results.drop(columns="mse"))


def test_importing_training_registers_the_saved_class():
    import subprocess
    import sys

    code = ("import mmoe_lab; mmoe_lab.quiet_import_keras(); import keras, mmoe_lab.training\n"
            "assert keras.saving.get_registered_object('mmoe_lab>UncertaintyWeightedModel') is not None\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
