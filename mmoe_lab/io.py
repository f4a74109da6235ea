"""Crash-safe file writes: a reader sees the old file or the new one, never half of one.

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

__all__ = ["atomic_write_text"]


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
        raise ValueError(f"`text` should be a str. Received type {type(text).__name__}")
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
