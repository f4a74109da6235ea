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
    (lambda: __import__("mmoe_lab.study.analysis").study.analysis.seed_set_means(None, 0), "size"),
    (lambda: __import__("mmoe_lab.diagnostics").diagnostics.polarization_rate(np.full((2, 1, 2), 0.5), 1.5),
     "threshold"),
    (lambda: __import__("mmoe_lab.features").features.EmbeddingCross(1, 1), "field_b"),
])
def test_modules_use_the_shared_form(call, name):
    with pytest.raises(ValueError, match=rf"^`{name}` should be .*\. Received: `{name}=.*`$"):
        call()


def test_received_describes_a_value_too_long_to_print():
    err = invalid("y", "an array of shape (n, T)", np.zeros(3), received="`y` of shape (3,)")
    assert str(err) == "`y` should be an array of shape (n, T). Received: `y` of shape (3,)"


def test_table_and_array_helpers():
    import pandas as pd

    from mmoe_lab._validate import check_columns, check_ndim, check_nonempty

    frame = pd.DataFrame({"a": [1], "b": [2]})
    assert check_columns("t", frame, ("a",)) is frame
    with pytest.raises(ValueError, match=r"^`t` should be a table with the columns \['a', 'c'\]\. Received: `t` with "
                                         r"columns \['a', 'b'\] \(missing \['c'\]\)$"):
        check_columns("t", frame, ("a", "c"))
    assert check_ndim("x", [[1, 2]], 2, "(n, d)").shape == (1, 2)
    with pytest.raises(ValueError, match=r"^`x` should be an array of shape \(n, d\)\. Received: `x` of shape \(2,\)$"):
        check_ndim("x", [1, 2], 2, "(n, d)")
    assert check_nonempty("h", {"a": 1}) == {"a": 1}
    with pytest.raises(ValueError, match="^`h` should be at least one item. Received: an empty `h`$"):
        check_nonempty("h", {})


#: ``raise ValueError(`` written on purpose outside ``_validate``: module -> why. Every other
#: argument check goes through ``mmoe_lab._validate`` (one message form).
DELIBERATE_VALUE_ERRORS: dict[str, str] = {}


def test_every_value_error_goes_through_validate():
    """Scan the package's source (the exercises too): ``raise ValueError(`` appears in
    ``_validate.py`` only, apart from the listed deliberate exceptions."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "mmoe_lab"
    found = {}
    for path in sorted(package.rglob("*.py")):
        rel = str(path.relative_to(package))
        if rel == "_validate.py":
            continue
        hits = [i for i, line in enumerate(path.read_text().splitlines(), 1)
                if re.search(r"raise\s+ValueError\b", line)]
        if hits:
            found[rel] = hits
    assert set(found) <= set(DELIBERATE_VALUE_ERRORS), {k: v for k, v in found.items() if k not in DELIBERATE_VALUE_ERRORS}
    # the scan bites: a hand-written check is found
    assert re.search(r"raise\s+ValueError\b", 'raise ValueError(f"`x` should be positive")')


def test_data_dir_is_the_clones_data_folder_or_a_clear_error(tmp_path, monkeypatch):
    from pathlib import Path

    from mmoe_lab import io

    assert io.data_dir() == Path(__file__).resolve().parents[1] / "data"
    (tmp_path / "site-packages" / "mmoe_lab").mkdir(parents=True)
    monkeypatch.setattr(io, "__file__", str(tmp_path / "site-packages" / "mmoe_lab" / "io.py"))
    with pytest.raises(FileNotFoundError, match=r"runs from a clone .*pip install -e"):
        io.data_dir()
