"""Checked exercises: the learner writes a key piece of MMoE and is told at once what is wrong.

>>> from mmoe_lab import exercises
>>> ex = exercises.get("gate_softmax")
>>> def gate_softmax(logits):
...     e = np.exp(logits)
...     return e / e.sum(axis=0, keepdims=True)
>>> ex.check(gate_softmax)  # doctest: +SKIP
✘ gate_softmax: your gate weights sum to 1 over the batch, not over the experts: ...

API:

* :func:`get` ``(name)`` → :class:`Exercise`; :data:`ALL` lists every exercise in notebook order.
* ``ex.check(answer)`` → :class:`Result` with ``.passed`` and ``.message``; a notebook shows it as
  one coloured line, its text starts with a fixed marker: ``✔ NAME: …`` passed, ``✘ NAME: …``
  failed, ``… NAME: not attempted yet — …`` while the learner's function still raises
  ``NotImplementedError`` (or returns ``...``/``None`` from a ``...`` body).
* ``ex.hint()`` prints a hint; ``ex.solution()`` prints the reference solution, whose source
  ``ex.solution_source()`` returns (the functions of :mod:`mmoe_lab.exercises.solutions`).

A check runs the learner's function on a few random inputs drawn from a fixed seed (so its
messages are the same on every run) and compares with the reference within a tolerance. It
never raises on a wrong answer: an exception, a wrong type or shape, NaNs or wrong values each
become a failed result that says what was expected; and every exercise knows at least three
typical mistakes, recognised by computing each wrong variant on the same inputs, and names them.

Notebook cell convention (``python -m mmoe_lab exercises`` relies on it):

* **the exercise cell** holds the learner's starting point, ``ex.starter_source()``: the function
  ``def NAME(...):`` with its docstring and the body ``raise NotImplementedError  # your code
  here`` (for the value exercise ``remedy_for``: a dict whose values are ``...``). Its cell
  metadata carries the tag ``exercise:NAME``.
* **the check cell** right after it is ``exercises.get("NAME").check(NAME)``
  (``ex.check_source()``), tagged ``exercise-check:NAME``; the notebook imports
  ``from mmoe_lab import exercises`` (and ``numpy as np``) in its import cell.
* ``python -m mmoe_lab exercises --list`` lists the exercises; ``--status [FOLDER]`` reads the
  saved notebooks (default ``my-notebooks/``) and reports which checks passed, executing
  nothing; ``--solutions NOTEBOOK_DIR`` runs copies of the notebooks with every exercise cell
  replaced by ``ex.solution_source()`` and fails unless every check passes.
"""

from __future__ import annotations

from ._catalog_a import EXERCISES as _FIRST
from ._catalog_b import EXERCISES as _SECOND
from ._core import MARKS, Exercise, FunctionExercise, Result
from ._remedy import RemedyExercise

__all__ = ["ALL", "NAMES", "MARKS", "Exercise", "FunctionExercise", "RemedyExercise", "Result", "get",
           "starter_tag", "check_tag"]

#: Every exercise, in notebook order.
ALL: tuple[Exercise, ...] = (*_FIRST, *_SECOND)
#: Their names, in the same order.
NAMES: tuple[str, ...] = tuple(ex.name for ex in ALL)
_BY_NAME = {ex.name: ex for ex in ALL}


def get(name: str) -> Exercise:
    """The exercise called ``name`` (see :data:`NAMES`).

    Raises:
        KeyError: for an unknown name, listing the known ones.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no exercise named {name!r}; the exercises are: {', '.join(NAMES)}") from None


def starter_tag(name: str) -> str:
    """The cell tag of an exercise's cell: ``exercise:NAME``."""
    return f"exercise:{name}"


def check_tag(name: str) -> str:
    """The cell tag of an exercise's check cell: ``exercise-check:NAME``."""
    return f"exercise-check:{name}"
