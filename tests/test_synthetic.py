"""The generator: the paper's formula, its statistics, determinism and argument errors."""

import numpy as np
import pytest

from mmoe_lab.synthetic import (
    PRESETS,
    TaskGenerator,
    correlation_matrix,
    label_correlation,
    make_correlated_tasks,
    make_task_splits,
    population_label_correlation,
)


def test_shapes_and_dtypes():
    X, Y = make_correlated_tasks(500, 20, 0.3, num_tasks=3, random_state=0)
    assert X.shape == (500, 20) and Y.shape == (500, 3)
    assert X.dtype == np.float32 and Y.dtype == np.float32


def test_same_seed_same_arrays_and_different_seed_differs():
    a = make_correlated_tasks(300, correlation=0.7, random_state=42)
    b = make_correlated_tasks(300, correlation=0.7, random_state=42)
    c = make_correlated_tasks(300, correlation=0.7, random_state=43)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_sine_seed_holds_the_sines_fixed_and_leaves_the_rest_of_the_stream():
    fixed = [TaskGenerator.from_preset(100, 0.5, random_state=s, sine_seed=3) for s in (0, 1)]
    free = [TaskGenerator.from_preset(100, 0.5, random_state=s) for s in (0, 1)]
    np.testing.assert_array_equal(fixed[0].alpha, fixed[1].alpha)  # the same sines for every seed
    np.testing.assert_array_equal(fixed[0].beta, fixed[1].beta)
    assert not np.array_equal(free[0].alpha, free[1].alpha)  # by default each seed draws its own
    np.testing.assert_array_equal(fixed[0].weights, free[0].weights)  # directions: random_state's
    assert not np.array_equal(fixed[0].weights, fixed[1].weights)
    assert not np.array_equal(fixed[0].alpha, TaskGenerator.from_preset(100, 0.5, random_state=0, sine_seed=4).alpha)
    x_fixed, y_fixed = make_correlated_tasks(200, correlation=0.5, random_state=7, sine_seed=3)
    x_free, y_free = make_correlated_tasks(200, correlation=0.5, random_state=7)
    np.testing.assert_array_equal(x_fixed, x_free)  # the same inputs; only the label function differs
    assert not np.array_equal(y_fixed, y_free)
    gen = TaskGenerator.from_preset(100, 0.5, preset="paper", random_state=0, sine_seed=3)
    assert np.all((gen.beta >= 0) & (gen.beta < 2 * np.pi))  # drawn from the preset's own distributions


@pytest.mark.parametrize("p", [-0.4, 0.0, 0.5, 0.9, 1.0])
def test_two_tasks_follow_the_papers_formula(p):
    gen = TaskGenerator.from_preset(100, p, preset="paper", random_state=1)
    w1, w2 = gen.weights
    c = PRESETS["paper"]["scale"]
    assert np.linalg.norm(w1) == pytest.approx(c)
    assert np.linalg.norm(w2) == pytest.approx(c)
    assert w1 @ w2 / c**2 == pytest.approx(p, abs=1e-12)
    u1 = w1 / c
    u2 = (w2 / c - p * u1) / np.sqrt(1 - p**2) if p < 1 else None
    if u2 is not None:  # w2 = c(p u1 + sqrt(1-p^2) u2) with u2 a unit vector orthogonal to u1
        assert np.linalg.norm(u2) == pytest.approx(1.0)
        assert u1 @ u2 == pytest.approx(0.0, abs=1e-12)


def test_labels_are_the_papers_function_of_the_inputs():
    gen = TaskGenerator.from_preset(30, 0.5, random_state=3)
    X, Y = gen.sample(2000, random_state=4)
    s = X.astype(np.float64) @ gen.weights.T
    clean = s + np.sin(s[..., None] * gen.alpha + gen.beta).sum(-1)
    resid = Y - clean
    assert resid.std() == pytest.approx(gen.noise_std, rel=0.1)  # only the N(0, σ²) noise remains
    assert abs(resid.mean()) < 0.01


def test_label_correlation_one_at_p_one_and_monotone_in_p():
    rs = []
    for p in [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]:
        _, Y = make_correlated_tasks(20000, correlation=p, random_state=7)
        rs.append(label_correlation(Y)["pearson"].iloc[0, 1])
    assert rs[-1] > 0.99
    assert all(a < b for a, b in zip(rs, rs[1:], strict=False)), rs


def test_population_correlation_matches_samples():
    gen = TaskGenerator.from_preset(50, 0.8, preset="paper", random_state=5)
    _, Y = gen.sample(200_000, random_state=6)
    assert np.corrcoef(Y.T)[0, 1] == pytest.approx(gen.label_correlation()[0, 1], abs=0.01)
    assert Y.mean() == pytest.approx(gen.label_mean, abs=0.03)
    assert Y.std() == pytest.approx(gen.label_std, rel=0.02)


def test_standardize_gives_unit_scale_labels():
    d = make_task_splits(50_000, 10, 0.5, random_state=0)
    assert np.abs(d["y_train"].mean(0)).max() < 0.05
    assert np.abs(d["y_train"].std(0) - 1).max() < 0.05


def test_three_task_matrix_is_respected():
    P = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.3], [0.1, 0.3, 1.0]])
    gen = TaskGenerator.from_preset(40, P, num_tasks=3, random_state=0)
    W = gen.weights / np.linalg.norm(gen.weights, axis=1, keepdims=True)
    np.testing.assert_allclose(W @ W.T, P, atol=1e-10)
    _, Y = gen.sample(40_000, random_state=1)
    r = np.corrcoef(Y.T)
    assert r[0, 1] > r[1, 2] > r[0, 2]  # label correlation follows the cosine ordering


def test_scalar_correlation_for_many_tasks():
    gen = TaskGenerator.from_preset(10, 0.6, num_tasks=4, random_state=0)
    W = gen.weights / np.linalg.norm(gen.weights, axis=1, keepdims=True)
    np.testing.assert_allclose(W @ W.T, correlation_matrix(0.6, 4), atol=1e-10)


def test_paper_preset_reproduces_fig2():
    """The population r, median over random draws of the constants, within ±0.05 of Fig. 2."""
    fig2 = {0.5: 0.07, 0.8: 0.19, 0.9: 0.30, 0.95: 0.45, 1.0: 1.0}
    for p, target in fig2.items():
        med = population_label_correlation(p, preset="paper", n_draws=100)["median"]
        assert abs(med - target) <= 0.05, (p, med, target)


def test_spearman_sees_monotone_uneven_steps():
    x = np.arange(1, 50, dtype=float)
    y = np.stack([x, np.exp(x / 5)], axis=1)
    corr = label_correlation(y)
    assert corr["spearman"].iloc[0, 1] == pytest.approx(1.0)
    assert corr["pearson"].iloc[0, 1] < 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=10.5), "n_samples"),
        (dict(n_samples="10"), "n_samples"),
        (dict(n_samples=10, correlation=1.5), r"correlation.*\[-1\.0, 1\.0\].*1\.5"),
        (dict(n_samples=10, correlation=float("nan")), "correlation"),
        (dict(n_samples=10, correlation="high"), "correlation"),
        (dict(n_samples=10, n_features=2, num_tasks=3), "n_features"),
        (dict(n_samples=10, num_tasks=3, correlation=-0.9), "positive semi-definite"),
        (dict(n_samples=10, num_tasks=2, correlation=[[1, 0.5], [0.4, 1]]), "symmetric"),
        (dict(n_samples=10, num_tasks=2, correlation=[[1, 0.5, 0], [0.5, 1, 0]]), "shape"),
        (dict(n_samples=10, num_tasks=3, correlation=[[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1]]), "positive semi-definite"),
        (dict(n_samples=10, preset="nope"), "preset"),
        (dict(n_samples=10, random_state="x"), "random_state"),
        (dict(n_samples=10, noise_std=-1.0), "noise_std"),
        (dict(n_samples=10, sine_seed=-1), "sine_seed"),
        (dict(n_samples=10, sine_seed=1.5), "sine_seed"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_correlated_tasks(**kwargs)
