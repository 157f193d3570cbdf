"""Natural (numeric-aware) order of labels: ``PGY 2`` before ``PGY 10``, ``2`` before ``10``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def natural_key(value: Any) -> tuple:
    """A sort key that orders the digit runs of a label as numbers.

    Examples
    --------
    >>> sorted(["PGY 10", "PGY 2", "PGY 1"], key=natural_key)
    ['PGY 1', 'PGY 2', 'PGY 10']
    >>> sorted([3, 1, 2], key=natural_key)
    [1, 2, 3]
    """
    text = str(value)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def natural_sorted(values: Iterable[Any]) -> list[Any]:
    """``values`` in natural order (see :func:`natural_key`).

    Examples
    --------
    >>> natural_sorted(["b", "a10", "a9"])
    ['a9', 'a10', 'b']
    """
    return sorted(values, key=natural_key)


__all__ = ["natural_key", "natural_sorted"]
