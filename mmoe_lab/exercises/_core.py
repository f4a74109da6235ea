"""The checking machinery of :mod:`mmoe_lab.exercises`: results, expected outputs, exercises.

A function exercise runs the learner's function on a few fixed random inputs, compares every
output with the reference solution's, and, when they differ, recomputes each *known mistake*
(a wrong variant of the solution) on the same inputs: if the learner's outputs match a variant
everywhere, the check names that mistake. Otherwise it says what was expected on the first input
that went wrong: an exception, a wrong type, a wrong shape, NaNs, or wrong values.
"""

from __future__ import annotations

import ast
import copy
import html
import inspect
import re
import textwrap
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..io import TEXT_WIDTH, wrap_text

__all__ = ["MARKS", "Result", "Case", "Mistake", "Floats", "Integer", "Pair", "ArrayList", "Mapping",
           "Exercise", "FunctionExercise", "describe", "fmt"]

Status = Literal["passed", "failed", "not_attempted"]
#: The marker that starts a result's text, per status (``--status`` parses saved outputs by it).
MARKS: dict[str, str] = {"passed": "✔", "failed": "✘", "not_attempted": "…"}
_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "not_attempted": "#6e7781"}


@dataclass(frozen=True)
class Result:
    """The outcome of :meth:`Exercise.check`.

    Its text (``str`` and ``repr``, deterministic) is ``"✔ NAME: …"`` when the answer passed,
    ``"✘ NAME: …"`` when it failed and ``"… NAME: not attempted yet — …"`` when the learner's
    function is still the starting point, on one line. A notebook shows it as a coloured
    paragraph at most 100 characters wide (``*word*`` in italics, ```code``` as code); its
    text/plain form is the same text wrapped by :func:`mmoe_lab.io.wrap_text` (continuation
    lines indented).
    """

    name: str
    status: Status
    message: str

    @property
    def passed(self) -> bool:
        """True when the answer matched the reference on every input."""
        return self.status == "passed"

    def __str__(self) -> str:
        return f"{MARKS[self.status]} {self.name}: {self.message}"

    __repr__ = __str__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(wrap_text(str(self)))

    def _repr_html_(self) -> str:
        colour = _COLOURS[self.status]
        return (f'<div style="color: {colour}; font-family: var(--jp-code-font-family, monospace); '
                f'max-width: {TEXT_WIDTH}ch;">'
                f"{MARKS[self.status]} <b>{html.escape(self.name)}</b>: {_inline_html(self.message)}</div>")


#: ``*word*`` (emphasis) and ```code``` in a message, as the notebooks' markdown writes them.
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def _inline_html(message: str) -> str:
    """``message`` escaped for HTML, with ``*word*`` in ``<em>`` and ```code``` in ``<code>``."""
    text = _CODE.sub(r"<code>\1</code>", html.escape(message))
    return _EMPHASIS.sub(r"<em>\1</em>", text)


def fmt(x: Any) -> str:
    """A number (or small array) formatted the same way on every machine."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}"
    arr = np.asarray(x)
    if arr.ndim == 0:
        return fmt(arr.item())
    return np.array2string(arr, precision=4, separator=", ", threshold=8, edgeitems=2, suppress_small=False)


def describe(value: Any) -> str:
    """A short deterministic description of an input or output: its shape, or its value."""
    if isinstance(value, np.ndarray):
        return f"array {tuple(value.shape)}" if value.ndim else fmt(value)
    if isinstance(value, (bool, int, float, np.number)):
        return fmt(value)
    if isinstance(value, dict):
        return f"dict of {len(value)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    if value is None or value is Ellipsis:
        return repr(value)
    return type(value).__name__


def _is_mapping(x: Any) -> bool:
    return hasattr(x, "items") and hasattr(x, "keys") and not isinstance(x, np.ndarray)


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Loose structural equality for matching a known mistake (NaNs equal, containers by value)."""
    if _is_mapping(a) or _is_mapping(b):
        if not (_is_mapping(a) and _is_mapping(b)):
            return False
        try:
            da = {float(k): v for k, v in a.items()}
            db = {float(k): v for k, v in b.items()}
        except (TypeError, ValueError):
            return False
        return set(da) == set(db) and all(_same(da[k], db[k], rtol, atol) for k in da)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


class _Wrong(Exception):
    """An answer that does not have the expected form; the text says what was expected."""


# ---- expected outputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Floats:
    """A float array (or a float when the reference returns a scalar) of the reference's shape.

    ``what`` names it in messages ("gate weights"); ``dims`` spells its shape ("(B, E)").
    """

    what: str
    dims: str = ""

    def convert(self, out: Any, ref: Any) -> np.ndarray:
        ref_arr = np.asarray(ref, dtype=float)
        scalar = ref_arr.ndim == 0
        expected = "a float" if scalar else f"an array {self.dims or tuple(ref_arr.shape)}".rstrip()
        if out is None or isinstance(out, (str, bytes, dict, bool)) or _is_mapping(out):
            raise _Wrong(f"expected {expected} ({self.what}), got {describe(out)}")
        if hasattr(out, "statistic") and not hasattr(out, "shape"):
            raise _Wrong(f"expected {expected} ({self.what}), got a {type(out).__name__}: take its `.statistic`")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise _Wrong(f"expected {expected} ({self.what}), got {describe(out)}") from None
        if arr.shape != ref_arr.shape:
            got = "a float" if arr.ndim == 0 else f"shape {tuple(arr.shape)}"
            want = "a float" if scalar else f"shape {tuple(ref_arr.shape)}" + (f" = {self.dims}" if self.dims else "")
            raise _Wrong(f"expected {want} ({self.what}), got {got}")
        if not np.isfinite(arr).all():
            bad = "NaN" if np.isnan(arr).any() else "inf"
            raise _Wrong(f"{self.what} contain {bad}; expected finite numbers, e.g. {fmt(ref_arr.flat[0])}")
        return arr

    def compare(self, got: np.ndarray, ref: Any, rtol: float, atol: float) -> str | None:
        ref_arr = np.asarray(ref, dtype=float)
        if np.allclose(got, ref_arr, rtol=rtol, atol=atol):
            return None
        if ref_arr.ndim == 0:
            return f"expected {fmt(ref_arr)}, got {fmt(got)}"
        diff = np.abs(got - ref_arr)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
        where = ", ".join(map(str, idx))
        return (f"wrong {self.what}: largest difference at [{where}]: expected {fmt(ref_arr[idx])}, "
                f"got {fmt(got[idx])}")


@dataclass(frozen=True)
class Integer:
    """A Python or numpy integer (a count): floats are refused, with a hint to convert."""

    what: str

    def convert(self, out: Any, ref: Any) -> int:
        if isinstance(out, (bool, np.bool_)) or not isinstance(out, (int, np.integer)):
            extra = ""
            if isinstance(out, (float, np.floating)) and float(out).is_integer():
                extra = ": wrap it in int(...)"
            elif isinstance(out, np.ndarray) and out.ndim == 0:
                extra = ": convert it with int(...)"
            shown = repr(float(out)) if isinstance(out, (float, np.floating)) else describe(out)
            raise _Wrong(f"expected an int ({self.what}), got {type(out).__name__} {shown}{extra}")
        return int(out)

    def compare(self, got: int, ref: Any, rtol: float, atol: float) -> str | None:
        return None if got == int(ref) else f"expected {int(ref)}, got {got}"


@dataclass(frozen=True)
class Pair:
    """A tuple of named floats, e.g. ``(pearson, spearman)``."""

    names: tuple[str, ...]

    def convert(self, out: Any, ref: Any) -> tuple[float, ...]:
        n = len(self.names)
        want = f"a tuple ({', '.join(self.names)})"
        if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape == (n, n):
            raise _Wrong(f"expected {want}, got a {n}×{n} matrix: pick the off-diagonal entry [0, 1]")
        if not (isinstance(out, (tuple, list)) or (isinstance(out, np.ndarray) and out.ndim == 1)):
            raise _Wrong(f"expected {want}, got {describe(out)}")
        if len(out) != n:
            raise _Wrong(f"expected {want} of {n} floats, got {len(out)} values")
        values = []
        for name, v in zip(self.names, out, strict=True):
            if hasattr(v, "statistic") and not hasattr(v, "shape"):
                raise _Wrong(f"{name} should be a float, got a {type(v).__name__}: take its `.statistic`")
            if isinstance(v, (bool, np.bool_)) or not (isinstance(v, (int, float, np.number))
                                                       or (isinstance(v, np.ndarray) and v.ndim == 0)):
                raise _Wrong(f"{name} should be a float, got {describe(v)}")
            f = float(v)
            if not np.isfinite(f):
                raise _Wrong(f"{name} is {f}; expected a finite float")
            values.append(f)
        return tuple(values)

    def compare(self, got: tuple[float, ...], ref: Any, rtol: float, atol: float) -> str | None:
        for name, g, r in zip(self.names, got, ref, strict=True):
            if not np.isclose(g, float(r), rtol=rtol, atol=atol):
                return f"{name} is wrong: expected {fmt(float(r))}, got {fmt(g)}"
        return None


@dataclass(frozen=True)
class ArrayList:
    """A list of arrays, one per task, each of the reference's shape (``dims``)."""

    what: str
    dims: str

    def convert(self, out: Any, ref: Sequence[Any]) -> list[np.ndarray]:
        n = len(ref)
        want = f"a list of {n} arrays {self.dims}"
        if isinstance(out, np.ndarray) or (hasattr(out, "shape") and hasattr(out, "dtype")):
            raise _Wrong(f"expected {want} ({self.what}), got one array of shape {tuple(out.shape)}: "
                         f"return [out[:, t] for t in range(num_tasks)] or similar")
        if not isinstance(out, (list, tuple)):
            raise _Wrong(f"expected {want} ({self.what}), got {describe(out)}")
        if len(out) != n:
            raise _Wrong(f"expected {want} ({self.what}), got {len(out)} items")
        arrays = []
        for t, (o, r) in enumerate(zip(out, ref, strict=True)):
            try:
                arr = np.asarray(o, dtype=float)
            except (TypeError, ValueError):
                raise _Wrong(f"item {t} should be an array {self.dims}, got {describe(o)}") from None
            if arr.shape != np.shape(r):
                raise _Wrong(f"item {t} should have shape {np.shape(r)} = {self.dims}, got shape {arr.shape}")
            if not np.isfinite(arr).all():
                raise _Wrong(f"item {t} contains NaN or inf; expected finite numbers")
            arrays.append(arr)
        return arrays

    def compare(self, got: list[np.ndarray], ref: Sequence[Any], rtol: float, atol: float) -> str | None:
        for t, (g, r) in enumerate(zip(got, ref, strict=True)):
            msg = Floats(f"outputs of task {t}").compare(g, r, rtol, atol)
            if msg:
                return msg
        return None


@dataclass(frozen=True)
class Mapping:
    """A mapping (dict or pandas Series) with the reference's keys and float values."""

    what: str

    def convert(self, out: Any, ref: Any) -> dict[float, float]:
        if not _is_mapping(out):
            raise _Wrong(f"expected a mapping p → {self.what} (a dict, or a Series like the input), "
                         f"got {describe(out)}")
        try:
            got = {float(k): float(v) for k, v in out.items()}
        except (TypeError, ValueError):
            raise _Wrong(f"expected float keys p and float values ({self.what})") from None
        want = {float(k) for k in ref.keys()}
        if set(got) != want:
            raise _Wrong(f"expected the input's keys p = {sorted(want)}, got {sorted(got)}")
        bad = [k for k, v in got.items() if not np.isfinite(v)]
        if bad:
            raise _Wrong(f"the value at p = {fmt(bad[0])} is {got[bad[0]]}; expected a finite float")
        return got

    def compare(self, got: dict[float, float], ref: Any, rtol: float, atol: float) -> str | None:
        for k, v in ref.items():
            if not np.isclose(got[float(k)], float(v), rtol=rtol, atol=atol):
                return f"wrong value at p = {fmt(float(k))}: expected {fmt(float(v))}, got {fmt(got[float(k)])}"
        return None


Output = Floats | Integer | Pair | ArrayList | Mapping


# ---- exercises ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input of a check: positional and keyword arguments, and an optional label."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``fn`` computes it (same signature as the solution); ``message``
    is what the check says when the learner's outputs match it on every input."""

    fn: Callable[..., Any]
    message: str


def _trivial_body(fn: Callable[..., Any]) -> bool:
    """True when ``fn``'s body is only a docstring and ``...``/``pass`` (an untouched starter)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                           and s.value.value is Ellipsis) for s in body)


class Exercise:
    """One checked exercise. Subclasses define :meth:`check` and :meth:`solution_source`.

    Attributes:
        name: the exercise's (and the learner's function's) name.
        notebook: the notebook it belongs to, e.g. ``"04_mmoe"``.
        summary: one line for ``--list``.
        intro: the markdown sentence that introduces it in the notebook.
        hint_text: what :meth:`hint` prints.
    """

    kind: str = "function"

    def __init__(self, name: str, notebook: str, summary: str, intro: str, hint_text: str) -> None:
        self.name = name
        self.notebook = notebook
        self.summary = summary
        self.intro = intro
        self.hint_text = hint_text

    def __repr__(self) -> str:
        return f"<exercise {self.name} ({self.notebook}): {self.summary}>"

    def check(self, answer: Any) -> Result:  # pragma: no cover - abstract
        """Check ``answer``; never raises on a wrong answer."""
        raise NotImplementedError

    def solution_source(self) -> str:  # pragma: no cover - abstract
        """The reference solution as the source of a notebook cell."""
        raise NotImplementedError

    def starter_source(self) -> str:  # pragma: no cover - abstract
        """The learner's starting point: the cell the notebook commits."""
        raise NotImplementedError

    def check_source(self) -> str:
        """The check cell: ``exercises.get("NAME").check(NAME)``."""
        return f'exercises.get("{self.name}").check({self.name})'

    def hint(self) -> None:
        """Print a hint."""
        print(wrap_text(f"Hint for {self.name}: {self.hint_text}"))

    def solution(self) -> None:
        """Print the reference solution's source."""
        print(self.solution_source())

    def _result(self, status: Status, message: str) -> Result:
        return Result(self.name, status, message)

    def _not_attempted(self) -> Result:
        return self._result("not_attempted", f"not attempted yet — write `{self.name}` in the cell above "
                                             "(replace `raise NotImplementedError`), run it, then run this cell")


class FunctionExercise(Exercise):
    """An exercise whose answer is a function, checked on fixed random inputs.

    Args:
        reference: the solution (a function of :mod:`mmoe_lab.exercises.solutions`).
        make_cases: ``rng → list of Case``; called with ``numpy.random.default_rng(seed)``.
        output: the expected form of the output (:class:`Floats`, :class:`Integer`, ...).
        mistakes: known wrong variants, tried in order; at least three.
        seed, rtol, atol: the inputs' seed and the comparison's tolerance.
    """

    def __init__(self, name: str, notebook: str, summary: str, intro: str, hint_text: str, *,
                 reference: Callable[..., Any], make_cases: Callable[[np.random.Generator], list[Case]],
                 output: Output, mistakes: Sequence[Mistake], seed: int, rtol: float = 1e-5,
                 atol: float = 1e-7) -> None:
        super().__init__(name, notebook, summary, intro, hint_text)
        self.reference = reference
        self.make_cases = make_cases
        self.output = output
        self.mistakes = tuple(mistakes)
        self.seed = seed
        self.rtol, self.atol = rtol, atol

    # -- sources
    def solution_source(self) -> str:
        src = textwrap.dedent(inspect.getsource(self.reference))
        src = re.sub(r"^def \w+\(", f"def {self.name}(", src, count=1, flags=re.M)
        return "import numpy as np\n\n\n" + src.rstrip() + "\n"

    def starter_source(self) -> str:
        src = textwrap.dedent(inspect.getsource(self.reference))
        fn = ast.parse(src).body[0]
        assert isinstance(fn, ast.FunctionDef) and isinstance(fn.body[0], ast.Expr)
        lines = src.splitlines()
        head = lines[: fn.body[0].end_lineno]  # the def line(s) and the docstring
        head[0] = re.sub(r"^def \w+\(", f"def {self.name}(", head[0])
        return "\n".join([*head, "    raise NotImplementedError  # your code here"]) + "\n"

    # -- checking
    def cases(self) -> list[Case]:
        """The inputs the check runs (the same on every call)."""
        return self.make_cases(np.random.default_rng(self.seed))

    def _where(self, i: int, n: int, case: Case) -> str:
        params = list(inspect.signature(self.reference).parameters)
        parts = [f"{p}={describe(v)}" for p, v in zip(params, case.args, strict=False)]
        parts += [f"{k}={describe(v)}" for k, v in case.kwargs.items()]
        label = f"{case.label}: " if case.label else ""
        return f"input {i + 1} of {n} ({label}{', '.join(parts)})"

    @staticmethod
    def _call(fn: Callable[..., Any], case: Case) -> Any:
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    def check(self, answer: Any) -> Result:
        """Run ``answer`` on every input and compare it with the reference; name known mistakes.

        Returns:
            a :class:`Result`; a wrong answer (exception, type, shape, NaN, values) is a failed
            result with a message, never an exception.
        """
        if answer is None or answer is Ellipsis:
            return self._not_attempted()
        if not callable(answer):
            return self._result("failed", f"pass your function itself: check({self.name}), not its result "
                                          f"(got {describe(answer)})")
        cases = self.cases()
        outs = []
        for i, case in enumerate(cases):
            try:
                out = self._call(answer, case)
            except NotImplementedError:
                return self._not_attempted()
            except Exception as exc:  # noqa: BLE001 - any learner error becomes a message
                text = " ".join(str(exc).split())[:300]
                return self._result("failed", f"your function raised {type(exc).__name__} on "
                                              f"{self._where(i, len(cases), case)}: {text}")
            if out is Ellipsis or (out is None and _trivial_body(answer)):
                return self._not_attempted()
            if out is None:
                return self._result("failed", "your function returned None: did you forget `return`?")
            outs.append(out)
        refs = [self._call(self.reference, c) for c in cases]
        first_bad = None
        for i, (out, ref) in enumerate(zip(outs, refs, strict=True)):
            try:
                got = self.output.convert(out, ref)
                problem = self.output.compare(got, ref, self.rtol, self.atol)  # type: ignore[arg-type]
            except _Wrong as wrong:
                problem = str(wrong)
            except Exception as exc:  # noqa: BLE001 - an output too odd to read is still only a wrong answer
                problem = f"could not read your output ({describe(out)}: {type(exc).__name__})"
            if problem and first_bad is None:
                first_bad = (i, problem)
        if first_bad is None:
            return self._result("passed", f"correct on all {len(cases)} inputs")
        for mistake in self.mistakes:
            if self._matches(mistake, cases, outs):
                return self._result("failed", mistake.message)
        i, problem = first_bad
        return self._result("failed", f"{problem}, on {self._where(i, len(cases), cases[i])}")

    def _matches(self, mistake: Mistake, cases: Sequence[Case], outs: Sequence[Any]) -> bool:
        for case, out in zip(cases, outs, strict=True):
            try:
                wrong = self._call(mistake.fn, case)
            except Exception:  # noqa: BLE001 - a variant that cannot run this input does not match
                return False
            try:
                same = _same(out, wrong, self.rtol, self.atol)
            except Exception:  # noqa: BLE001 - an odd output simply matches no known mistake
                return False
            if not same:
                return False
        return True
