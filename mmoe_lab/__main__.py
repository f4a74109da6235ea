"""``python -m mmoe_lab <command>``: ``reproduce`` (:mod:`mmoe_lab.study`), ``timings``
(:mod:`mmoe_lab.timings`) or ``claims`` (:mod:`mmoe_lab.claims`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m mmoe_lab reproduce [--runs N] [--correlations P ...] [--out DIR] [...]\n"
              "       python -m mmoe_lab reproduce --help   (all options)\n"
              "       python -m mmoe_lab timings [NOTEBOOK ...] [--out CSV]\n"
              "       python -m mmoe_lab claims [--notebook NN]")
        return 0 if argv else 2
    if argv[0] == "timings":
        from .timings import main as timings

        return timings(argv[1:])
    if argv[0] == "claims":
        from .claims import main as claims

        return claims(argv[1:])
    if argv[0] != "reproduce":
        print(f"error: unknown command {argv[0]!r}; expected 'reproduce', 'timings' or 'claims'", file=sys.stderr)
        return 2
    from .study import main as reproduce

    return reproduce(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
