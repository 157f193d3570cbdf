"""The estimators of the CFA engine."""

from __future__ import annotations

ESTIMATORS = ("ML", "MLR")
