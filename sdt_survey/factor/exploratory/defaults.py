"""Defaults of exploratory factor analysis that the command line shows (no numerical library here)."""

from __future__ import annotations

#: The seed of parallel analysis when none is given: the same data give the same suggestion every run.
DEFAULT_SEED = 1234
