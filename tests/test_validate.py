"""The shared argument checks: one message form, plain Python values back."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmoe_lab._validate import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_random_state,
    check_subset,
    invalid,
)


def _message(name, expectation, value):
    return re.escape(f"`{name}` should be {expectation}. Received: `{name}={value!r}`")


@pytest.mark.parametrize("value, minimum, expectation", [
    (0, 1, "a positive integer"),
    (-1, 0, "a non-negative integer"),
    (2, 3, "an integer >= 3"),
    (2.5, 1, "a positive integer"),
    (True, 1, "a positive integer"),
    ("3", None, "an integer"),
])
def test_check_int_rejects(value, minimum, expectation):
    with pytest.raises(ValueError, match="^" + _message("n", expectation, value) + "$"):
        check_int("n", value, minimum)


def test_check_int_returns_python_int():
    out = check_int("n", np.int64(3))
    assert out == 3 and type(out) is int
    assert check_int("level", -2, None) == -2


@pytest.mark.parametrize("value, kwargs, expectation", [
    (1.5, dict(lo=-1.0, hi=1.0), "a real number in [-1.0, 1.0]"),
    (float("nan"), dict(lo=-1, hi=1), "a real number in [-1, 1]"),
    (0, dict(lo=0, lo_open=True), "a real number > 0"),
    (1.0, dict(lo=0, hi=1, hi_open=True), "a real number in [0, 1)"),
    (0.0, dict(lo=0, hi=1, lo_open=True, hi_open=True), "a real number in (0, 1)"),
    (-0.1, dict(lo=0), "a real number >= 0"),
    (2, dict(hi=1), "a real number <= 1"),
    ("x", {}, "a real number"),
    (False, {}, "a real number"),
])
def test_check_number_rejects(value, kwargs, expectation):
    with pytest.raises(ValueError, match="^" + _message("x", expectation, value) + "$"):
        check_number("x", value, **kwargs)


def test_check_number_returns_float():
    out = check_number("x", np.float32(0.5), 0, 1)
    assert out == 0.5 and type(out) is float
    assert check_number("x", 1, 0, 1) == 1.0  # closed ends are inclusive


def test_choice_subset_bool():
    assert check_choice("arch", "mmoe", ("omoe", "mmoe")) == "mmoe"
    with pytest.raises(ValueError, match=_message("arch", "one of ['omoe', 'mmoe']", "moe")):
        check_choice("arch", "moe", ("omoe", "mmoe"))
    assert check_subset("m", ["a"], ("a", "b")) == ("a",)
    for bad in ([], ["a", "c"]):
        with pytest.raises(ValueError, match=_message("m", "a non-empty subset of ['a', 'b']", bad)):
            check_subset("m", bad, ("a", "b"))
    assert check_bool("flag", np.bool_(True)) is True
    with pytest.raises(ValueError, match=_message("flag", "a bool", 1)):
        check_bool("flag", 1)


def test_random_state():
    gen = np.random.default_rng(0)
    assert check_random_state(gen) is gen  # draws continue the caller's stream
    assert check_random_state(5).integers(100) == np.random.default_rng(5).integers(100)
    assert isinstance(check_random_state(None), np.random.Generator)
    for bad in (-1, "x", True, 1.5):
        with pytest.raises(ValueError, match="`random_state` should be None, a non-negative int"):
            check_random_state(bad)


def test_invalid_is_raisable():
    with pytest.raises(ValueError, match=_message("num_gates", "1 (OMoE) or num_tasks=3 (MMoE)", 2)):
        raise invalid("num_gates", "1 (OMoE) or num_tasks=3 (MMoE)", 2)


@pytest.mark.parametrize("call, name", [
    (lambda: __import__("mmoe_lab.synthetic").synthetic.make_correlated_tasks(0), "n_samples"),
    (lambda: __import__("mmoe_lab.scenarios").scenarios.make_video_tasks(10, watch_rate=1.0), "watch_rate"),
    (lambda: __import__("mmoe_lab.study_analysis").study_analysis.seed_set_means(None, 0), "size"),
])
def test_modules_use_the_shared_form(call, name):
    with pytest.raises(ValueError, match=rf"^`{name}` should be .*\. Received: `{name}=.*`$"):
        call()
