"""p-values as psych prints them (private)."""

from __future__ import annotations

import math


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
