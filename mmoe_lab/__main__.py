"""``python -m mmoe_lab <command>``; the one command is ``reproduce`` (see :mod:`mmoe_lab.study`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m mmoe_lab reproduce [--runs N] [--correlations P ...] [--out DIR] [...]\n"
              "       python -m mmoe_lab reproduce --help   (all options)")
        return 0 if argv else 2
    if argv[0] != "reproduce":
        print(f"error: unknown command {argv[0]!r}; expected 'reproduce'", file=sys.stderr)
        return 2
    from .study import main as reproduce

    return reproduce(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
