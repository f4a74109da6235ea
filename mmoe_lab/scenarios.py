"""Practitioner scenarios for notebooks 07 and 09: a video feed and an ad funnel.

Both generators reuse the correlated-task generator of :mod:`mmoe_lab.synthetic` for their
latent scores (so "how related are the tasks" is still the cosine ``p`` of the paper's §3.2)
and then turn those scores into the label types practitioners meet: a binary event, a
heavy-tailed duration, a rating (:func:`make_video_tasks`), or a strict chain
impression → click → conversion where conversion is observed only after a click
(:func:`make_funnel`). Like :func:`~mmoe_lab.synthetic.make_correlated_tasks`, each function
states its generative process, takes ``random_state`` (int or ``numpy.random.Generator``) and
validates its arguments before doing any work. numpy only: no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import check_int, check_number, check_random_state, invalid
from .synthetic import TaskGenerator

__all__ = ["VIDEO_TASKS", "FUNNEL_LABELS", "make_video_tasks", "make_video_splits", "make_funnel",
           "make_funnel_splits"]

#: Label names of :func:`make_video_tasks`, in order.
VIDEO_TASKS = ("watched", "watch_time", "rating")
#: Label names of :func:`make_funnel`, in order.
FUNNEL_LABELS = ("click", "conversion", "conversion_if_clicked", "p_ctr", "p_cvr")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


# ----------------------------------------------------------------------------- video feed


def _video_generator(n_features: int, correlation: Any, rng: np.random.Generator) -> TaskGenerator:
    return TaskGenerator.from_preset(n_features, correlation, num_tasks=3, preset="teaching",
                                     standardize=True, random_state=rng)


def _video_labels(z: np.ndarray, rng: np.random.Generator, watch_rate: float, median_seconds: float,
                  duration_sigma: float) -> dict[str, np.ndarray]:
    n = z.shape[0]
    watched = rng.random(n) < _sigmoid(_logit(watch_rate) + 1.5 * z[:, 0])
    log_t = np.log(median_seconds) + duration_sigma * (0.8 * z[:, 1] + 0.6 * rng.standard_normal(n))
    rating = 3.0 + 0.8 * z[:, 2] + 0.3 * rng.standard_normal(n)
    return {"watched": watched.astype(np.float32), "watch_time": np.exp(log_t).astype(np.float32),
            "rating": rating.astype(np.float32)}


def _check_video_args(n_features, watch_rate, median_seconds, duration_sigma):
    check_int("n_features", n_features, 3)
    check_number("watch_rate", watch_rate, 0, 1, lo_open=True, hi_open=True)
    check_number("median_seconds", median_seconds, 0, lo_open=True)
    check_number("duration_sigma", duration_sigma, 0.0)


def make_video_tasks(
    n_samples: int,
    n_features: int = 32,
    correlation: Any = 0.5,
    *,
    watch_rate: float = 0.4,
    median_seconds: float = 30.0,
    duration_sigma: float = 1.2,
    random_state: Any = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A video feed with three tasks of different types: watched, watch time, rating.

    Generative process (``d = n_features``):

    1. Three latent scores ``z = (z_w, z_t, z_r)`` from the kit's correlated-task generator
       (``"teaching"`` preset, ``T = 3``, cosine ``correlation`` between every pair of task
       weight vectors, labels z-scored): ``x ~ N(0, I_d)``, ``z_i = w_iᵀx + Σ_j sin(α_j w_iᵀx + β_j)``.
    2. **watched** (binary): ``Bernoulli(σ(logit(watch_rate) + 1.5·z_w))``.
    3. **watch_time** (seconds, heavy-tailed): log-normal,
       ``log t = log(median_seconds) + duration_sigma · (0.8·z_t + 0.6·ε)``, ``ε ~ N(0, 1)``,
       so ``log t`` has standard deviation ≈ ``duration_sigma`` and a 0.8 share of it is
       predictable from ``x``. With the default σ = 1.2 the largest of 10k durations is
       typically ~100× the median: MSE on raw seconds is ruled by a few long sessions.
    4. **rating** (regression, ~1–5 stars, continuous): ``3 + 0.8·z_r + 0.3·ε``.

    Watch time is drawn for every row (read it as "seconds the video played", autoplay
    included), so all three tasks are defined on every sample.

    Args:
        n_samples: number of rows (>= 1).
        n_features: input width ``d`` (>= 3).
        correlation: cosine ``p`` between the latent tasks' weight vectors (scalar in [-1, 1] or
            a 3×3 cosine matrix, as in :func:`~mmoe_lab.synthetic.correlation_matrix`).
        watch_rate: the watch probability at ``z_w = 0``, in (0, 1).
        median_seconds: median watch time (> 0).
        duration_sigma: standard deviation of ``log t`` (>= 0); larger → heavier tail.
        random_state: None, int seed or ``numpy.random.Generator``.

    Returns:
        ``X`` float32 ``(n, d)`` and a dict of float32 ``(n,)`` labels keyed by
        :data:`VIDEO_TASKS`.

    Example:
        >>> X, y = make_video_tasks(1000, random_state=0)
        >>> X.shape, sorted(y), bool(y["watch_time"].min() > 0)
        ((1000, 32), ['rating', 'watch_time', 'watched'], True)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    _check_video_args(n_features, watch_rate, median_seconds, duration_sigma)
    rng = check_random_state(random_state)
    gen = _video_generator(n_features, correlation, rng)
    x, z = gen.sample(n_samples, rng)
    return x, _video_labels(z, rng, watch_rate, median_seconds, duration_sigma)


def make_video_splits(
    n_train: int,
    n_test: int,
    n_features: int = 32,
    correlation: Any = 0.5,
    *,
    random_state: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Train and test sets of :func:`make_video_tasks` drawn from the *same* tasks.

    Returns:
        dict with ``x_train (n_train, d)``, ``y_train`` (dict of ``(n_train,)`` labels),
        ``x_test``, ``y_test``.
    """
    n_train = check_int("n_train", n_train, 1)
    n_test = check_int("n_test", n_test, 1)
    opts = {"watch_rate": 0.4, "median_seconds": 30.0, "duration_sigma": 1.2, **kwargs}
    unknown = set(opts) - {"watch_rate", "median_seconds", "duration_sigma"}
    if unknown:
        raise invalid("kwargs", "keywords among watch_rate, median_seconds, duration_sigma", sorted(kwargs),
                      received=f"unknown keyword(s) {sorted(unknown)}")
    _check_video_args(n_features, opts["watch_rate"], opts["median_seconds"], opts["duration_sigma"])
    rng = check_random_state(random_state)
    gen = _video_generator(n_features, correlation, rng)
    return _train_test(gen, n_train, n_test, rng, lambda z: _video_labels(z, rng, **opts))


# ----------------------------------------------------------------------------- ad funnel


def _check_funnel_args(n_features, ctr, cvr, sharpness):
    check_int("n_features", n_features, 2)
    check_number("ctr", ctr, 0, 1, lo_open=True, hi_open=True)
    check_number("cvr", cvr, 0, 1, lo_open=True, hi_open=True)
    check_number("sharpness", sharpness, 0.0)


def _funnel_labels(z: np.ndarray, rng: np.random.Generator, ctr: float, cvr: float,
                   sharpness: float) -> dict[str, np.ndarray]:
    n = z.shape[0]
    p_ctr = _sigmoid(_logit(ctr) + sharpness * z[:, 0])
    p_cvr = _sigmoid(_logit(cvr) + sharpness * z[:, 1])
    click = rng.random(n) < p_ctr
    conv_if_clicked = rng.random(n) < p_cvr
    f = np.float32
    return {"click": click.astype(f), "conversion": (click & conv_if_clicked).astype(f),
            "conversion_if_clicked": conv_if_clicked.astype(f), "p_ctr": p_ctr.astype(f),
            "p_cvr": p_cvr.astype(f)}


def make_funnel(
    n_samples: int,
    n_features: int = 16,
    correlation: Any = 0.0,
    *,
    ctr: float = 0.1,
    cvr: float = 0.2,
    sharpness: float = 1.5,
    random_state: Any = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Impressions → clicks → conversions, with conversion observed only after a click.

    Generative process:

    1. Two latent scores ``(z_c, z_v)`` from the kit's correlated-task generator (``"teaching"``
       preset, ``T = 2``, cosine ``correlation`` between their weight vectors, z-scored) for
       ``x ~ N(0, I_d)``.
    2. Click propensity ``p_ctr(x) = σ(logit(ctr) + sharpness·z_c)``; conversion propensity
       *given a click* ``p_cvr(x) = σ(logit(cvr) + sharpness·z_v)``. Both are known exactly
       for every impression (the ground truth a real log never has).
    3. ``click ~ Bernoulli(p_ctr)``; independently ``conversion_if_clicked ~ Bernoulli(p_cvr)``;
       the **observed** ``conversion = click · conversion_if_clicked``. So
       ``P(conversion | x) = p_ctr · p_cvr`` (pCTCVR = pCTR × pCVR, the ESMM identity), and a
       log only shows conversions of clicked impressions.

    ``conversion_if_clicked`` is the counterfactual label for unclicked impressions: use it
    (or ``p_cvr``) only to *evaluate* a CVR model over all impressions, never to train.

    Args:
        n_samples: number of impressions (>= 1).
        n_features: input width ``d`` (>= 2).
        correlation: cosine ``p`` between the click and conversion weight vectors, in [-1, 1].
        ctr, cvr: click / conversion-after-click probability at a zero score, in (0, 1)
            (the realised averages are close to these, slightly pulled towards 1/2).
        sharpness: how strongly the scores move the propensities (>= 0).
        random_state: None, int seed or ``numpy.random.Generator``.

    Returns:
        ``X`` float32 ``(n, d)`` and a dict of float32 ``(n,)`` arrays keyed by
        :data:`FUNNEL_LABELS`.

    Example:
        >>> X, y = make_funnel(1000, random_state=0)
        >>> bool((y["conversion"] <= y["click"]).all())
        True
    """
    n_samples = check_int("n_samples", n_samples, 1)
    _check_funnel_args(n_features, ctr, cvr, sharpness)
    rng = check_random_state(random_state)
    gen = TaskGenerator.from_preset(n_features, correlation, num_tasks=2, preset="teaching",
                                    standardize=True, random_state=rng)
    x, z = gen.sample(n_samples, rng)
    return x, _funnel_labels(z, rng, ctr, cvr, sharpness)


def make_funnel_splits(
    n_train: int,
    n_test: int,
    n_features: int = 16,
    correlation: Any = 0.0,
    *,
    ctr: float = 0.1,
    cvr: float = 0.2,
    sharpness: float = 1.5,
    random_state: Any = None,
) -> dict[str, Any]:
    """Train and test impressions of :func:`make_funnel` drawn from the *same* funnel.

    Returns:
        dict with ``x_train``, ``y_train`` (dict keyed by :data:`FUNNEL_LABELS`), ``x_test``,
        ``y_test``.
    """
    n_train = check_int("n_train", n_train, 1)
    n_test = check_int("n_test", n_test, 1)
    _check_funnel_args(n_features, ctr, cvr, sharpness)
    rng = check_random_state(random_state)
    gen = TaskGenerator.from_preset(n_features, correlation, num_tasks=2, preset="teaching",
                                    standardize=True, random_state=rng)
    return _train_test(gen, n_train, n_test, rng, lambda z: _funnel_labels(z, rng, ctr, cvr, sharpness))


def _train_test(gen: TaskGenerator, n_train: int, n_test: int, rng: np.random.Generator,
                labels) -> dict[str, Any]:
    """Draw train then test rows from one generator and turn latent scores into labels.

    Draw order is fixed (train rows, test rows, train labels, test labels), so a seed always
    gives the same arrays.
    """
    x_tr, z_tr = gen.sample(n_train, rng)
    x_te, z_te = gen.sample(n_test, rng)
    return {"x_train": x_tr, "y_train": labels(z_tr), "x_test": x_te, "y_test": labels(z_te)}
