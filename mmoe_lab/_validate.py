"""Argument checks shared by the package: one message form for every bad argument.

Every check raises ``ValueError`` worded as

    `name` should be <expectation>. Received: `name=<value>`

(the form Keras' own layers use), and returns the value converted to the plain Python type
(``int``, ``float``), so callers write ``self.units = check_int("units", units)``. For a rule
no helper covers, ``raise invalid(name, expectation, value)`` gives the same wording; where the
value itself would be too long to print (an array, a table), ``received=`` describes it instead
(``Received: `y` of shape (3,)``).

Every ``raise ValueError(`` of the package is here (``tests/test_validate.py`` checks it, and
lists the few deliberate exceptions).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = ["invalid", "check_int", "check_number", "check_choice", "check_subset", "check_bool",
           "check_random_state", "check_ndim", "check_columns", "check_nonempty"]

T = TypeVar("T")


def invalid(name: str, expectation: str, value: Any, *, received: str | None = None) -> ValueError:
    """The error for argument ``name``: ``raise invalid("arch", "one of ['mmoe']", arch)``.

    ``received`` replaces the default ``Received: `name=<value>``` description of the value
    (e.g. ``"`y` of shape (3,)"`` for an array).
    """
    return ValueError(f"`{name}` should be {expectation}. Received: {received or f'`{name}={value!r}`'}")


def check_int(name: str, value: Any, minimum: int | None = 1) -> int:
    """``value`` as an ``int`` >= ``minimum`` (``None``: any integer); bools are rejected."""
    if minimum is None:
        expectation = "an integer"
    else:
        expectation = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(name, expectation, value)
    if minimum is not None and value < minimum:
        raise invalid(name, expectation, value)
    return int(value)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a real number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a real number {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"a real number {'<' if hi_open else '<='} {hi}"
    return "a real number"


def check_number(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a ``float`` in the interval from ``lo`` to ``hi`` (``None``: unbounded;
    ``*_open``: that end excluded). NaN, bools and non-numbers are rejected."""
    expectation = _range_text(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(name, expectation, value)
    v = float(value)
    if (math.isnan(v) or (lo is not None and (v <= lo if lo_open else v < lo))
            or (hi is not None and (v >= hi if hi_open else v > hi))):
        raise invalid(name, expectation, value)
    return v


def check_choice(name: str, value: T, options: Sequence[Any]) -> T:
    """``value`` if it is one of ``options``."""
    if value not in options:
        raise invalid(name, f"one of {list(options)}", value)
    return value


def check_subset(name: str, values: Sequence[T], options: Sequence[Any]) -> tuple[T, ...]:
    """``values`` as a tuple if it is non-empty and each item is one of ``options``."""
    values = tuple(values)
    if not values or any(v not in options for v in values):
        raise invalid(name, f"a non-empty subset of {list(options)}", list(values))
    return values


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1 or a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(name, "a bool", value)
    return bool(value)


def check_random_state(random_state: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None`` (fresh entropy), a non-negative int seed, or a
    Generator (used as it is, so draws continue its stream)."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and int(random_state) >= 0:
        return np.random.default_rng(int(random_state))
    raise invalid("random_state", "None, a non-negative int or a numpy Generator", random_state)


def check_ndim(name: str, value: Any, ndim: int, shape_doc: str, dtype: Any = None) -> np.ndarray:
    """``value`` as a numpy array (of ``dtype``, if given) with ``ndim`` axes, described as
    ``shape_doc`` (e.g. ``"(n, T)"``) in the error."""
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise invalid(name, f"an array of shape {shape_doc}", value, received=f"`{name}` of shape {arr.shape}")
    return arr


def check_columns(name: str, frame: Any, columns: Sequence[str]) -> Any:
    """``frame`` if it is a table (a pandas DataFrame) with every one of ``columns``."""
    have = list(getattr(frame, "columns", []))
    missing = [c for c in columns if c not in have]
    if missing or not hasattr(frame, "columns"):
        raise invalid(name, f"a table with the columns {sorted(columns)}", frame,
                      received=f"`{name}` with columns {have} (missing {sorted(missing)})")
    return frame


def check_nonempty(name: str, value: Any, what: str = "at least one item") -> Any:
    """``value`` if it has at least one item (a dict, list, table or array)."""
    if value is None or len(value) == 0:
        raise invalid(name, what, value, received=f"an empty `{name}`")
    return value
