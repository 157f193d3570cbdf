"""Checks that numbers given by a user are real, finite numbers.

``float("nan")`` passes every comparison-based range check (``0 <= nan < 1``
is False, but ``not nan >= 1`` is True), and ``inf`` slips through checks
that only bound one side; either then surfaces deep inside numpy as a
``LinAlgError`` or a division by zero, or worse as a silent wrong answer.
Every public entry point that takes a number from a user checks it here
first, so the message names the parameter the user typed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from .errors import SdtSurveyError

#: Spellings that YAML 1.1 (``yaml.safe_load``) keeps as *strings* but ``float()`` reads as
#: non-finite; a value typed as ``--set x=nan`` arrives as one of these.
_NON_FINITE_WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _find(value: Any, where: str) -> tuple[str, Any] | None:
    """The path and the value of the first non-finite entry of ``value``, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):  # numpy's numbers too, without importing numpy
        return None if math.isfinite(float(value)) else (where, value)
    if isinstance(value, str):
        return (where, value) if value.strip().lower() in _NON_FINITE_WORDS else None
    if isinstance(value, Mapping):
        entries = ((f"{where}.{key}" if where else str(key), entry) for key, entry in value.items())
    elif isinstance(value, (list, tuple)):
        entries = ((f"{where}[{index}]", entry) for index, entry in enumerate(value))
    else:
        return None
    for path, entry in entries:
        found = _find(entry, path)
        if found is not None:
            return found
    return None


def non_finite_part(value: Any, where: str = "") -> str | None:
    """Where ``value`` holds a NaN or an infinity, or None when it holds none.

    Looks inside mappings, lists and tuples, and at strings that spell a
    non-finite number (``"nan"``, ``"-inf"``), because a value parsed from the
    command line arrives as one.

    Parameters
    ----------
    value : Any
        A number, a string, or a container of them.
    where : str
        The name of ``value``, used as the start of the path returned.

    Returns
    -------
    str or None
        A path such as ``continuity_effects.relatedness_satisfaction`` (or
        ``where`` itself) naming the first non-finite entry.

    Examples
    --------
    >>> non_finite_part({"a": [1, float("nan")]}, "x")
    'x.a[1]'
    >>> non_finite_part("-inf", "effect")
    'effect'
    >>> non_finite_part({"a": 0.3, "b": "text"}, "x") is None
    True
    """
    found = _find(value, where)
    return None if found is None else found[0]


def require_finite(value: Any, name: str, error: type[SdtSurveyError] = SdtSurveyError) -> None:
    """Raise ``error`` when ``value`` (or anything inside it) is NaN or infinite.

    Parameters
    ----------
    value : Any
        A number or a container of numbers.
    name : str
        The parameter's name as the user knows it.
    error : type of SdtSurveyError
        The error class to raise (a module's own subclass).

    Raises
    ------
    SdtSurveyError
        Naming the offending entry.

    Examples
    --------
    >>> require_finite({"evenodd": float("nan")}, "careless_thresholds")
    Traceback (most recent call last):
    ...
    sdt_survey.errors.SdtSurveyError: careless_thresholds.evenodd must be a finite number, got nan
    """
    found = _find(value, name)
    if found is not None:
        raise error(f"{found[0]} must be a finite number, got {found[1]}")


__all__ = ["non_finite_part", "require_finite"]
