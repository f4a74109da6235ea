"""``python -m mmoe_lab <command>``.

* ``reproduce``: the precomputed studies in ``data/study`` (:mod:`mmoe_lab.study.cli`);
* ``timings``: every notebook in a fresh kernel, timed (:mod:`mmoe_lab.tools.timings`);
* ``claims``: every claim of the notebooks with the rate at which it held (:mod:`mmoe_lab.tools.checks`);
* ``calibrate``: the generator presets and the live budget (:mod:`mmoe_lab.tools.calibrate`);
* ``lesson``: the correlation lesson's search and check (:mod:`mmoe_lab.tools.lesson_search`);
* ``exercises``: the notebooks' exercises (:mod:`mmoe_lab.exercises.cli`).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {"reproduce": "study.cli", "timings": "tools.timings", "claims": "tools.checks",
            "calibrate": "tools.calibrate", "lesson": "tools.lesson_search", "exercises": "exercises.cli"}
USAGE = """usage: python -m mmoe_lab reproduce [--runs N] [--correlations P ...] [--out DIR] [...]
       python -m mmoe_lab reproduce --help   (all options)
       python -m mmoe_lab timings [NOTEBOOK ...] [--out CSV]
       python -m mmoe_lab claims [NN] [--seeds K] [--first S] [--save] [--from-csv]
       python -m mmoe_lab calibrate paper|teaching|combine ...
       python -m mmoe_lab lesson search|check ...
       python -m mmoe_lab exercises --help"""


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv[0]`` with the rest of ``argv``; returns its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}; expected one of {', '.join(map(repr, COMMANDS))}", file=sys.stderr)
        return 2
    module = importlib.import_module(f".{COMMANDS[argv[0]]}", __package__)
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
