"""Gate diagnostics: numpy math on hand-computed cases, model wrappers, GateMonitor, balance loss."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mmoe_lab import diagnostics as D


def uniform(b=10, t=2, e=4):
    return np.full((b, t, e), 1.0 / e)


def one_hot(b=10, t=2, e=4, seed=0):
    idx = np.random.default_rng(seed).integers(0, e, size=(b, t))
    return np.eye(e)[idx]


def random_gates(b=50, t=3, e=5, seed=0, sharp=1.0):
    logits = np.random.default_rng(seed).normal(0, sharp, size=(b, t, e))
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------- math


def test_uniform_gates_entropy_one_polarization_zero():
    g = uniform()
    np.testing.assert_allclose(D.normalized_entropy(g), [1.0, 1.0])
    np.testing.assert_array_equal(D.polarization_rate(g), [0.0, 0.0])


def test_one_hot_gates_entropy_zero_polarization_one():
    g = one_hot()
    np.testing.assert_allclose(D.normalized_entropy(g), [0.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(D.polarization_rate(g), [1.0, 1.0])


def test_entropy_hand_computed():
    # (1/2, 1/2, 0, 0): H = log 2, E = 4 → 0.5. (1/4 each) → 1.
    g = np.array([[[0.5, 0.5, 0, 0]], [[0.25, 0.25, 0.25, 0.25]]])
    np.testing.assert_allclose(D.gate_entropy(g), [[0.5], [1.0]])
    np.testing.assert_allclose(D.normalized_entropy(g), [0.75])


def test_polarization_counts_samples_above_threshold():
    g = np.array([[[0.995, 0.005]], [[0.98, 0.02]], [[0.5, 0.5]], [[0.001, 0.999]]])
    np.testing.assert_allclose(D.polarization_rate(g), [0.5])
    np.testing.assert_allclose(D.polarization_rate(g, threshold=0.9), [0.75])


def test_mean_std_hand_computed():
    g = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    mean, std = D.gate_mean_std(g)
    np.testing.assert_allclose(mean, [[0.5, 0.5]])
    np.testing.assert_allclose(std, [[0.5, 0.5]])


@pytest.mark.parametrize("seed", range(3))
def test_utilization_sums_to_one(seed):
    g = random_gates(seed=seed, sharp=3.0)
    assert D.expert_utilization(g).shape == (5,)
    np.testing.assert_allclose(D.expert_utilization(g).sum(), 1.0)
    np.testing.assert_allclose(D.expert_utilization(g, per_task=True).sum(-1), np.ones(3))


def test_utilization_and_dead_experts_hand_computed():
    # task 0 always expert 0, task 1 always expert 1: experts 2, 3 get nothing.
    g = np.zeros((6, 2, 4))
    g[:, 0, 0] = 1
    g[:, 1, 1] = 1
    np.testing.assert_allclose(D.expert_utilization(g), [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(D.dead_experts(g), [2, 3])
    assert D.dead_experts(uniform()).size == 0


def test_task_divergence():
    g = np.zeros((6, 2, 4))
    g[:, 0, 0] = 1
    g[:, 1, 1] = 1
    np.testing.assert_allclose(D.task_divergence(g), [[0, 1], [1, 0]])  # disjoint: 1 bit
    np.testing.assert_allclose(D.task_divergence(uniform()), np.zeros((2, 2)), atol=1e-12)
    # JS of (1, 0) and (1/2, 1/2): 0.5·KL((1,0)||(3/4,1/4)) + 0.5·KL((1/2,1/2)||(3/4,1/4))
    expected = 0.5 * np.log2(4 / 3) + 0.5 * (0.5 * np.log2(2 / 3) + 0.5 * np.log2(2))
    assert D.js_divergence([1, 0], [0.5, 0.5]) == pytest.approx(expected)


def test_zero_activation_share():
    acts = np.zeros((4, 3, 2))
    acts[:, 1, :] = 1.0  # expert 1 always active
    acts[:2, 2, 0] = 0.5  # expert 2: 2 of 8 values active
    np.testing.assert_allclose(D.zero_activation_share(acts), [1.0, 0.0, 0.75])


def test_importance_cv2():
    assert D.importance_cv2(uniform()) == pytest.approx(0.0, abs=1e-12)
    # balanced importance without uniform gates: each sample one-hot, experts visited equally
    g = np.eye(4)[np.array([[0, 1], [1, 2], [2, 3], [3, 0]])]
    assert D.importance_cv2(g) == pytest.approx(0.0, abs=1e-12)
    # one expert takes everything: CV² = E - 1 per task
    g = np.zeros((5, 2, 4))
    g[..., 0] = 1
    assert D.importance_cv2(g) == pytest.approx(2 * 3)


def test_summarize_and_table():
    g = random_gates(t=2, e=4, sharp=2.0)
    acts = np.maximum(np.random.default_rng(1).normal(size=(50, 4, 3)), 0)
    s = D.summarize_gates(g, acts, task_names=["a", "b"])
    assert list(s.index) == ["a", "b"]
    for col in ("entropy", "polarization", "top_expert", "top_weight", "js_divergence", "dead_experts",
                "balance_cv2", "zero_relu"):
        assert col in s.columns
    np.testing.assert_allclose(s["entropy"], D.normalized_entropy(g))
    # experts are numbered 1..E, as in the figures
    np.testing.assert_array_equal(s["top_expert"], g.mean(0).argmax(-1) + 1)
    assert s["js_divergence"].iloc[0] == pytest.approx(D.task_divergence(g)[0, 1])
    tab = D.gate_table(g)
    assert len(tab) == 2 * 4
    np.testing.assert_allclose(tab.groupby("task")["mean"].sum(), [1, 1])


@pytest.mark.parametrize(
    "bad", [np.ones((3, 4)), np.ones((3, 2, 1)), np.full((3, 2, 4), 0.5), -uniform()],
)
def test_bad_gates_raise(bad):
    with pytest.raises(ValueError, match="gates"):
        D.normalized_entropy(bad)


def test_math_does_not_import_tensorflow():
    """On JAX the gate math (and GateMonitor, a Keras callback defined at import) loads no TensorFlow."""
    code = (
        "import sys, numpy as np; import mmoe_lab.diagnostics as D; "
        "D.summarize_gates(np.full((4, 2, 3), 1/3)); "
        "assert 'tensorflow' not in sys.modules, 'TF loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "KERAS_BACKEND": "jax"})


# ----------------------------------------------------------------------------- with Keras


@pytest.fixture(scope="module")
def keras():
    import mmoe_lab

    mmoe_lab.quiet_import_keras()
    import keras

    return keras


def test_probe_matches_layer_and_model(keras):
    from mmoe_lab.layers import MMoE
    from mmoe_lab.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("mmoe", 3, 12, num_experts=5, expert_units=4)
    x = np.random.default_rng(0).standard_normal((20, 12)).astype("float32")
    gates, acts = D.probe(model, x)
    assert gates.shape == (20, 3, 5) and acts.shape == (20, 5, 4)
    layer = D.find_mixture_layer(model)
    assert isinstance(layer, MMoE)
    np.testing.assert_allclose(D.probe(layer, x)[0], gates)
    rep = D.gate_report(model, x)
    assert len(rep) == 3 and rep["zero_relu"].between(0, 1).all()
    with pytest.raises(ValueError, match="mixture-of-experts layer"):
        D.find_mixture_layer(build_model("shared_bottom", 2, 12))


def test_gate_monitor_one_row_per_epoch_per_task(keras):
    from mmoe_lab.models import build_model

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10)).astype("float32")
    y = {"task_0": rng.standard_normal(64), "task_1": rng.standard_normal(64)}
    model = build_model("mmoe", 2, 10, num_experts=3, expert_units=4)
    mon = D.GateMonitor(x[:16])
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[mon])
    h = mon.history
    assert len(h) == (3 + 1) * 2  # epochs 0 (before training), 1, 2, 3 × two tasks
    assert h.groupby("epoch").size().tolist() == [2, 2, 2, 2]
    assert sorted(h["epoch"].unique()) == [0, 1, 2, 3]
    assert {"g0", "g1", "g2", "entropy", "polarization", "zero_relu"} <= set(h.columns)
    np.testing.assert_allclose(h[["g0", "g1", "g2"]].sum(1), 1.0, rtol=1e-5)
    # without the initial record: exactly one row per epoch per task; a second fit starts afresh
    mon2 = D.GateMonitor(x[:16], include_initial=False)
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[mon2])
    assert len(mon2.history) == 2 * 2 and sorted(mon2.history["epoch"].unique()) == [1, 2]


def test_layer_balance_loss_zero_for_balanced_importance(keras):
    from mmoe_lab.layers import balance_loss

    g = np.eye(4)[np.array([[0, 1], [1, 2], [2, 3], [3, 0]])].astype("float32")
    assert float(keras.ops.convert_to_numpy(balance_loss(g))) == pytest.approx(0.0, abs=1e-6)
    assert float(keras.ops.convert_to_numpy(balance_loss(uniform().astype("float32")))) == pytest.approx(0.0, abs=1e-6)
    skew = random_gates(t=2, e=4, sharp=3.0).astype("float32")
    assert float(keras.ops.convert_to_numpy(balance_loss(skew))) == pytest.approx(D.importance_cv2(skew), rel=1e-4)
    assert D.importance_cv2(skew) > 0.01


def test_balance_loss_is_added_only_when_weighted_and_training(keras):
    from mmoe_lab.layers import MMoE

    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
    for weight, training, n_losses in [(0.0, True, 0), (0.5, False, 0), (0.5, True, 1)]:
        layer = MMoE(4, 3, 2, balance_loss_weight=weight, gate_initializer=keras.initializers.RandomNormal(stddev=2.0))
        layer(x, training=training)
        assert len(layer.losses) == n_losses
        if n_losses:
            gates = keras.ops.convert_to_numpy(layer.gate_weights(x))
            assert float(keras.ops.convert_to_numpy(layer.losses[0])) == pytest.approx(
                weight * D.importance_cv2(gates), rel=1e-4)


def test_remedies_serialize(keras):
    from mmoe_lab.layers import MMoE

    layer = MMoE(4, 3, 2, gate_temperature=3.0, gate_dropout=0.2, balance_loss_weight=0.1, seed=1)
    clone = MMoE.from_config(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)).get_config())
    cfg = clone.get_config()
    assert (cfg["gate_temperature"], cfg["gate_dropout"], cfg["balance_loss_weight"]) == (3.0, 0.2, 0.1)
    default = MMoE(4, 3, 2).get_config()
    assert (default["gate_temperature"], default["gate_dropout"], default["balance_loss_weight"]) == (1.0, 0.0, 0.0)


def test_temperature_lowers_polarization(keras):
    from mmoe_lab.layers import MMoE

    x = np.random.default_rng(0).standard_normal((256, 50)).astype("float32")
    init = keras.initializers.RandomNormal(stddev=3.0, seed=0)
    sharp = MMoE(8, 4, 2, gate_initializer=init)
    sharp(x)
    soft = MMoE(8, 4, 2, gate_initializer=init, gate_temperature=10.0)
    soft(x)
    soft.set_weights(sharp.get_weights())
    p_sharp = D.polarization_rate(D.probe(sharp, x)[0])
    p_soft = D.polarization_rate(D.probe(soft, x)[0])
    assert (p_sharp > 0.5).all() and (p_soft < 0.05).all()


# ----------------------------------------------------------------------------- lab, plots, panel


def test_remedy_setting_mapping():
    from mmoe_lab import collapse as C

    assert C.remedy_setting("temperature", 0.0) == ("τ", 1.0)
    assert C.remedy_setting("temperature", 1.0) == ("τ", 10.0)
    assert C.remedy_setting("gate_dropout", 0.5) == ("rate", 0.25)
    assert C.remedy_setting("balance_loss", 0.3)[1] == pytest.approx(0.3)
    assert C.remedy_setting("log_transform", 0.1)[1] == 1.0 and C.remedy_setting("log_transform", 0)[1] == 0.0
    with pytest.raises(ValueError, match="strength"):
        C.remedy_setting("temperature", 1.5)
    with pytest.raises(ValueError, match="remedy"):
        C.remedy_setting("magic", 0.5)



def test_describe_remedy_names_the_setting_and_when_it_cannot_act():
    from mmoe_lab import collapse as C

    assert C.describe_remedy("gate_init", "temperature", 0.5) == ("temperature: τ = 5.5", "")
    assert C.describe_remedy("gate_init", "temperature", 0.0) == ("temperature: τ = 1", "")  # τ = 1: plain softmax
    assert C.describe_remedy("gate_init", "gate_dropout", 0.0) == ("no remedy", "")
    assert C.describe_remedy("heavy_tail", "none", 0.7) == ("no remedy", "")
    assert C.describe_remedy("heavy_tail", "loss_weight", 0.5) == ("loss_weight: watch-time weight (1/Var)^0.5", "")
    assert C.describe_remedy("heavy_tail", "log_transform", 0.0) == ("log_transform: off", "")
    setting, note = C.describe_remedy("gate_init", "log_transform", 1.0)
    assert setting == "log_transform: on" and "only the heavy_tail cause" in note
    with pytest.raises(ValueError, match="cause"):
        C.describe_remedy("gravity", "none", 0.0)

TINY = dict(n_train=256, n_test=128, n_probe=64, epochs=2, batch_size=64)


@pytest.mark.parametrize("cause,remedy", [("gate_init", "temperature"), ("heavy_tail", "log_transform"),
                                          ("heavy_tail", "loss_weight"), ("high_lr", "balance_loss")])
def test_run_scenario_tiny(keras, cause, remedy):
    from mmoe_lab import collapse as C

    res = C.run_scenario(cause, remedy, 1.0, seed=0, config=C.LabConfig(**TINY), keep_model=True)
    assert res["gates"].shape == (64, 2, 8)
    assert len(res["history"]) == (2 + 1) * 2
    assert set(res["test_loss"]) == set(res["task_names"])
    assert all(np.isfinite(v) and v >= 0 for v in res["test_loss"].values())
    layer = D.find_mixture_layer(res["model"])
    if remedy == "temperature":
        assert layer.gate_temperature == 10.0
    if remedy == "balance_loss":
        assert layer.balance_loss_weight == 1.0
    if remedy == "loss_weight":
        assert 0 < res["loss_weights"]["watch_time"] < 1e-2 and res["loss_weights"]["watched"] == 1.0
    row = C.result_row(res)
    assert row["cause"] == cause and 0 <= row["polarization"] <= 1


def test_gate_init_cause_polarises_before_training(keras):
    from mmoe_lab import collapse as C

    res = C.run_scenario("gate_init", "none", seed=0, config=C.LabConfig(**TINY))
    assert res["history"].query("epoch == 0")["polarization"].min() > 0.2
    healthy = C.run_scenario("healthy", "none", seed=0, config=C.LabConfig(**TINY))
    assert healthy["history"].query("epoch == 0")["polarization"].max() == 0.0


def test_check_claims_on_a_made_up_table():
    from mmoe_lab import collapse as C

    rows = []
    for cause, remedies in C.TABLE_PLAN.items():
        for remedy in remedies:
            bad = (cause in ("gate_init", "high_lr") and remedy != "temperature")
            rows.append({"cause": cause, "remedy": remedy, "polarization": 0.5 if bad else 0.0,
                         "max_polarization": 0.5 if bad else 0.0, "initial_polarization": 0.5 if cause == "gate_init" else 0,
                         "entropy": 0.2 if bad else 0.8, "entropy_0": 0.8, "entropy_1": 0.3 if (cause, remedy) == ("heavy_tail", "none") else 0.8,
                         "polarization_1": 0.05 if (cause, remedy) == ("heavy_tail", "none") else 0.0,
                         "loss_1": 2.0 if (cause, remedy) == ("heavy_tail", "none") else 1.0,
                         "mean_test_loss": 1.0 if bad else 0.1})
    from mmoe_lab import claims

    verdict = claims.verdicts("06", C.pd.DataFrame(rows))
    assert all(verdict.values()), verdict
    rows[0]["max_polarization"] = 0.5  # healthy polarised: the first claim must fail
    assert not claims.verdicts("06", C.pd.DataFrame(rows))["healthy: no polarisation (<= 0.01), entropy >= 0.6"]


def fake_result(cause="high_lr", remedy="temperature", strength=1.0, seed=0, config=None, callbacks=()):
    from mmoe_lab import collapse as C

    for cb in callbacks:  # drive the progress bar like a 3-epoch fit
        cb.on_train_begin()
        for epoch in range(3):
            cb.on_epoch_end(epoch)
    gates = random_gates(b=40, t=2, e=4, sharp=2.0 if remedy == "none" else 0.5)
    hist = C.pd.concat([D.summarize_gates(gates).reset_index().assign(epoch=k) for k in range(4)])
    return {"cause": cause, "remedy": remedy, "strength": strength, "seed": seed,
            "setting": C.remedy_setting(remedy, strength), "task_names": ["task_0", "task_1"], "history": hist,
            "gates": gates, "summary": D.summarize_gates(gates), "test_loss": {"task_0": 0.5, "task_1": 0.25},
            "mean_test_loss": 0.375}


def test_gate_plots_return_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mmoe_lab import plots

    res = fake_result()
    g = res["gates"]
    assert len(plots.plot_gate_mean_heatmap(g, ["a", "b"]).axes) == 2  # the heatmap + its colour bar
    assert len(plots.plot_gate_mean_heatmap(g, ["a", "b"], colorbar=False).axes) == 1
    fig = plots.plot_gate_curves({"run a": res["history"], "run b": res["history"]})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 4
    dead = np.zeros((5, 1, 4))
    dead[:, 0, 0] = 1
    fig = plots.plot_utilization(dead)
    reds = [p for p in fig.axes[0].patches if matplotlib.colors.to_hex(p.get_facecolor()) == "#d62728"]
    assert len(reds) == 3
    assert len(plots.plot_gate_diagnostics(res, title="t").axes) == 5  # 4 panels + the colour bar
    with pytest.raises(ValueError, match="gates"):
        plots.plot_gate_mean_heatmap(np.ones((3, 4)))
    plt.close("all")


def test_gate_collapse_panel_callbacks(keras):
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab import collapse as C
    from mmoe_lab import widgets as W

    calls = []

    def runner(*args, **kwargs):
        calls.append(args)
        return fake_result(*args, **kwargs)

    panel = W.gate_collapse_panel(initial=fake_result(), runner=runner, config=C.LabConfig(epochs=3))
    assert panel.n_draws == 1 and calls == []  # the static default view, no training
    panel.controls["remedy"].value = "gate_dropout"
    panel.controls["strength"].value = 0.4
    assert "rate = 0.2" in panel.setting.value and calls == []  # changing controls does not train
    panel.controls["remedy"].value = "log_transform"
    assert "only the heavy_tail" in panel.setting.value
    panel.controls["cause"].value = "heavy_tail"
    assert "only the heavy_tail" not in panel.setting.value
    panel.controls["remedy"].value = "none"
    panel.controls["train"].click()
    assert calls == [("heavy_tail", "none", 0.4)]
    assert panel.n_draws == 2 and panel.progress.value == 3
    assert panel.progress_label.value.startswith("done: 3 epochs in")
    assert panel.state["cause"] == "heavy_tail" and panel.state["mean_test_loss"] == 0.375
    assert "polarisation" in panel.status.value and not panel.controls["train"].disabled


def test_gate_collapse_panel_real_training(keras):
    import matplotlib

    matplotlib.use("Agg")
    from mmoe_lab import collapse as C
    from mmoe_lab import widgets as W

    panel = W.gate_collapse_panel("gate_init", "temperature", 1.0, config=C.LabConfig(**TINY))
    panel.train()
    assert panel.state["setting"] == ("τ", 10.0) and panel.state["polarization"] < 0.05
    assert panel.progress.value == 2 and panel.n_draws == 1
