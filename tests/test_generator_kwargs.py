"""``generator_kwargs`` reaches the task generator from every entry point that trains replicas."""

from __future__ import annotations

import numpy as np

from mmoe_lab.experiments import compare_over_seeds
from mmoe_lab.replicas import make_replica_data, train_replicas
from mmoe_lab.synthetic import TaskGenerator

OVERRIDES = {"alpha_std": 3.0, "scale": 1.5, "n_sines": 4, "noise_std": 0.2}
TINY = {"n_train": 64, "n_test": 50, "epochs": 1, "batch_size": 32}


def test_make_replica_data_passes_constants_to_the_generator():
    data = make_replica_data([3, 4], [0.5, 1.0], n_train=None, n_test=50, generator_kwargs=OVERRIDES)
    for seed, p, gen in zip([3, 4], [0.5, 1.0], data.generators, strict=True):
        ref = TaskGenerator.from_preset(100, p, preset="teaching", standardize=True,
                                        random_state=np.random.default_rng(seed), **OVERRIDES)
        np.testing.assert_array_equal(gen.weights, ref.weights)
        np.testing.assert_array_equal(gen.alpha, ref.alpha)
        assert gen.alpha.shape == (4,) and gen.scale == 1.5 and gen.noise_std == 0.2
        np.testing.assert_allclose(np.linalg.norm(gen.weights, axis=1), 1.5)


def test_default_none_is_the_preset():
    a = make_replica_data([3], 0.5, n_train=None, n_test=50)
    b = make_replica_data([3], 0.5, n_train=None, n_test=50, generator_kwargs=None)
    c = make_replica_data([3], 0.5, n_train=None, n_test=50, generator_kwargs={})
    for other in (b, c):
        np.testing.assert_array_equal(a.y_test, other.y_test)
        np.testing.assert_array_equal(a.generators[0].alpha, other.generators[0].alpha)
    assert a.generators[0].alpha.shape == (10,)


def test_train_replicas_and_compare_over_seeds_pass_it_through():
    kw = {"n_train": None, "n_test": 50, "steps": 2, "batch_size": 32, "eval_every": 2}
    ref = make_replica_data([5], 0.5, n_train=None, n_test=50, generator_kwargs=OVERRIDES)
    a = train_replicas("omoe", [5], 0.5, generator_kwargs=OVERRIDES, **kw)
    b = train_replicas("omoe", [5], 0.5, data=ref, **kw)
    plain = train_replicas("omoe", [5], 0.5, **kw)
    np.testing.assert_allclose(a["final_test"], b["final_test"], rtol=1e-6)
    assert not np.allclose(a["final_test"], plain["final_test"])

    # compare_over_seeds at the same budget (2 steps, cosine) trains the same replica
    out = compare_over_seeds(["omoe"], (0.5,), [5], setup="teaching", generator_kwargs=OVERRIDES,
                             fresh_samples=True, learning_rate=1e-3, lr_schedule="cosine", **TINY)
    same = train_replicas("omoe", [5], 0.5, generator_kwargs=OVERRIDES, learning_rate=1e-3,
                          lr_schedule="cosine", **kw)
    np.testing.assert_allclose(out["runs"]["test_loss"].iloc[0], same["final_test"][0].mean(), rtol=1e-5)
    out_plain = compare_over_seeds(["omoe"], (0.5,), [5], setup="teaching", fresh_samples=True,
                                   learning_rate=1e-3, lr_schedule="cosine", **TINY)
    assert out["runs"]["test_loss"].iloc[0] != out_plain["runs"]["test_loss"].iloc[0]
