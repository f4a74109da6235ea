"""Files and printed text: where the kit's data lives (:func:`data_dir`), crash-safe writes (a
reader sees the old file or the new one, never half of one), and lines short enough to read
(:func:`wrap_text`, at most :data:`TEXT_WIDTH` characters).

:func:`atomic_write_text` writes to a temporary file in the target's directory, flushes it to
disk and renames it over the target (``os.replace``, atomic on POSIX and Windows). A process
killed mid-write leaves at most a stray ``.<name>.<random>.tmp`` next to the target (e.g.
:mod:`mmoe_lab.study` removes old ones from its part folder when it resumes).

Write CSV or JSON through it: ``atomic_write_text(path, df.to_csv(index=False))``,
``atomic_write_text(path, json.dumps(obj, indent=2) + "\\n")``.

Every sentence the kit prints in a notebook (a claim's rate, an exercise's result, a lesson's
reading of a draw) is made by :func:`wrap_text`, so no printed line is wider than
:data:`TEXT_WIDTH` characters (``tests/test_notebook_text.py`` checks the committed notebooks).
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path

from ._validate import check_int, invalid

__all__ = ["TEXT_WIDTH", "atomic_write_text", "data_dir", "wrap_text"]

#: The widest line the kit prints in a notebook, in characters.
TEXT_WIDTH = 100
_GLUE = "\x00"  # a space wrap_text does not break at, while it wraps
_CODE_SPAN = re.compile(r"`[^`]*`")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and ``os.replace``.

    The file ends up with mode ``0o644``; an existing file at ``path`` is replaced.

    Args:
        path: the target file; its directory must exist.
        text: the whole new content.

    Raises:
        ValueError: ``text`` is not a string.
        OSError: the directory is missing or not writable (nothing is left behind).
    """
    if not isinstance(text, str):
        raise invalid("text", "a str", type(text).__name__, received=f"type {type(text).__name__}")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def data_dir() -> Path:
    """The kit's ``data/`` folder (stored studies, claim evidence, calibration, timings).

    It sits next to the package in a clone of the repository; the kit is meant to run from such a
    clone, installed with ``pip install -e .`` (``make lab`` does that), so the package finds it.

    Raises:
        FileNotFoundError: there is no ``data/`` folder next to the package (e.g. a wheel
            installed into site-packages), with what to do instead.
    """
    path = Path(__file__).resolve().parent.parent / "data"
    if not path.is_dir():
        raise FileNotFoundError(
            f"the kit's data folder is missing: expected {path}. mmoe-lab runs from a clone of its "
            "repository, installed with `pip install -e .` (or `make lab`), so that the package sits next "
            "to data/; clone the repository and install it that way")
    return path


def wrap_text(text: str, width: int = TEXT_WIDTH, indent: str = "  ") -> str:
    """``text`` with no line wider than ``width`` characters, broken between words.

    Each line of ``text`` is wrapped on its own (its newlines stay); a wrapped line keeps its
    leading spaces, and its continuation lines start with them plus ``indent``. Lines are broken
    only at spaces, never at hyphens or dashes ("seeds 1-20" stays whole), around `` = ``
    ("p = 0.5") or inside a ```code``` span; a single word wider than ``width`` (a URL, a path)
    is left whole on its own line.

    >>> print(wrap_text("held on 11 of 20 other seeds (seeds 1-20)", width=24))
    held on 11 of 20 other
      seeds (seeds 1-20)

    Raises:
        ValueError: ``text`` or ``indent`` is not a string, or ``width`` is not an integer
            wider than ``indent`` plus one character.
    """
    if not isinstance(text, str):
        raise invalid("text", "a str", type(text).__name__, received=f"type {type(text).__name__}")
    if not isinstance(indent, str):
        raise invalid("indent", "a str", type(indent).__name__, received=f"type {type(indent).__name__}")
    width = check_int("width", width, len(indent) + 2)
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        # the spaces not to break at become _GLUE (same length, not whitespace), and back after
        glued = _CODE_SPAN.sub(lambda m: m.group(0).replace(" ", _GLUE), line.replace(" = ", f"{_GLUE}={_GLUE}"))
        out += [part.replace(_GLUE, " ") for part in textwrap.wrap(
            glued, width, subsequent_indent=lead + indent, break_long_words=False, break_on_hyphens=False)] or [""]
    return "\n".join(out)
