"""``python -m mmoe_lab.exercises``: the same command line as ``python -m mmoe_lab exercises``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
