"""Video-feed and ad-funnel generators: shapes, determinism, the generative identities, errors."""

import numpy as np
import pytest

from mmoe_lab.scenarios import (
    FUNNEL_LABELS,
    VIDEO_TASKS,
    make_funnel,
    make_funnel_splits,
    make_video_splits,
    make_video_tasks,
)


def test_video_shapes_types_and_determinism():
    x, y = make_video_tasks(500, n_features=12, random_state=3)
    assert x.shape == (500, 12) and x.dtype == np.float32
    assert tuple(sorted(y)) == tuple(sorted(VIDEO_TASKS))
    assert all(v.shape == (500,) and v.dtype == np.float32 for v in y.values())
    x2, y2 = make_video_tasks(500, n_features=12, random_state=3)
    np.testing.assert_array_equal(x, x2)
    for k in y:
        np.testing.assert_array_equal(y[k], y2[k])
    x3, _ = make_video_tasks(500, n_features=12, random_state=4)
    assert not np.allclose(x, x3)


def test_video_label_distributions():
    _, y = make_video_tasks(20_000, random_state=0, watch_rate=0.4, median_seconds=30.0, duration_sigma=1.2)
    assert set(np.unique(y["watched"])) == {0.0, 1.0}
    assert 0.3 < y["watched"].mean() < 0.5
    t = y["watch_time"]
    assert (t > 0).all()
    log_t = np.log(t)
    assert abs(np.median(log_t) - np.log(30.0)) < 0.1  # median ≈ median_seconds
    assert abs(log_t.std() - 1.2) < 0.1  # log-normal with sd ≈ duration_sigma
    assert t.max() / np.median(t) > 50  # heavy tail: raw seconds are ruled by a few rows
    assert abs(y["rating"].mean() - 3.0) < 0.1


def test_video_tasks_are_predictable_from_x():
    # the latent scores are functions of x: a linear fit on x explains part of log watch time
    # (labels unrelated to x would give R² ≈ d/n ≈ 0.002 here)
    for seed in range(5):
        x, y = make_video_tasks(5000, n_features=8, random_state=seed)
        a = np.c_[x, np.ones(len(x))]
        t = np.log(y["watch_time"])
        coef, *_ = np.linalg.lstsq(a, t, rcond=None)
        assert 1 - np.var(t - a @ coef) / np.var(t) > 0.05


def test_video_splits_same_tasks_disjoint_rows():
    d = make_video_splits(300, 200, n_features=10, random_state=0)
    assert d["x_train"].shape == (300, 10) and d["x_test"].shape == (200, 10)
    assert d["y_test"]["rating"].shape == (200,)
    assert not np.allclose(d["x_train"][:200], d["x_test"])
    d2 = make_video_splits(300, 200, n_features=10, random_state=0)
    np.testing.assert_array_equal(d["y_train"]["watch_time"], d2["y_train"]["watch_time"])


def test_funnel_chain_identities():
    x, y = make_funnel(40_000, random_state=0, ctr=0.1, cvr=0.2)
    assert tuple(sorted(y)) == tuple(sorted(FUNNEL_LABELS))
    assert x.shape == (40_000, 16)
    click, conv, cf = y["click"], y["conversion"], y["conversion_if_clicked"]
    assert (conv <= click).all()  # conversion observed only after a click
    np.testing.assert_array_equal(conv, click * cf)
    assert ((y["p_ctr"] > 0) & (y["p_ctr"] < 1) & (y["p_cvr"] > 0) & (y["p_cvr"] < 1)).all()
    # P(conversion | x) = pCTR · pCVR: the sample mean agrees within 4 standard errors
    p = y["p_ctr"] * y["p_cvr"]
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(conv.mean() - p.mean()) < 4 * se
    # click rate near the requested base rate
    assert 0.07 < click.mean() < 0.2


def test_funnel_correlation_moves_selection():
    # with positively related click and conversion scores, clicked impressions convert more
    _, y = make_funnel(40_000, correlation=0.9, random_state=0)
    clicked = y["click"] == 1
    assert y["p_cvr"][clicked].mean() > y["p_cvr"][~clicked].mean() + 0.02
    _, y = make_funnel(40_000, correlation=-0.9, random_state=0)
    clicked = y["click"] == 1
    assert y["p_cvr"][clicked].mean() < y["p_cvr"][~clicked].mean() - 0.02


def test_funnel_splits():
    d = make_funnel_splits(100, 50, n_features=4, random_state=1)
    assert d["x_train"].shape == (100, 4) and d["y_test"]["click"].shape == (50,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 10, "n_features": 2}, "n_features"),
        ({"n_samples": 10, "watch_rate": 1.5}, "watch_rate"),
        ({"n_samples": 10, "median_seconds": -1.0}, "median_seconds"),
        ({"n_samples": 10, "duration_sigma": -0.1}, "duration_sigma"),
        ({"n_samples": 10, "correlation": 2.0}, "correlation"),
        ({"n_samples": 10, "random_state": "x"}, "random_state"),
    ],
)
def test_video_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_video_tasks(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 10, "ctr": 0.0}, "ctr"),
        ({"n_samples": 10, "cvr": 1.0}, "cvr"),
        ({"n_samples": 10, "sharpness": -1.0}, "sharpness"),
        ({"n_samples": 10, "n_features": 1}, "n_features"),
    ],
)
def test_funnel_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_funnel(**kwargs)


def test_video_splits_rejects_unknown_keyword():
    with pytest.raises(ValueError, match="unknown keyword"):
        make_video_splits(10, 10, duration=1.0)
