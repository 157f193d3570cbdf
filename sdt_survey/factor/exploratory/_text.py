"""p-values as psych prints them (private)."""

from __future__ import annotations

import math


def source_text(n_obs: int | None, missing: str) -> str:
    """``n = 300, missing = pairwise``, or for a matrix ``n = 145, from a correlation matrix``."""
    if missing == "matrix":
        return f"n = {n_obs if n_obs is not None else 'not given'}, from a correlation matrix"
    return f"n = {n_obs}, missing = {missing}"


def format_p_lt(p: float | None) -> str:
    text = _fmt_p(p)
    return text if text.startswith("<") else f"< {text}"


def format_p_eq(p: float | None) -> str:
    text = _fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    if p == 0:
        return "< 1e-300"
    return f"{p:.2g}"
