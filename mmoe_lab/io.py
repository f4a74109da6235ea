"""Files: where the kit's data lives (:func:`data_dir`), and crash-safe writes (a reader sees the
old file or the new one, never half of one).

:func:`atomic_write_text` writes to a temporary file in the target's directory, flushes it to
disk and renames it over the target (``os.replace``, atomic on POSIX and Windows). A process
killed mid-write leaves at most a stray ``.<name>.<random>.tmp`` next to the target (e.g.
:mod:`mmoe_lab.study` removes old ones from its part folder when it resumes).

Write CSV or JSON through it: ``atomic_write_text(path, df.to_csv(index=False))``,
``atomic_write_text(path, json.dumps(obj, indent=2) + "\\n")``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ._validate import invalid

__all__ = ["atomic_write_text", "data_dir"]


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
