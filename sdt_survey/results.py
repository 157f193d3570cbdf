"""What every result shares: one JSON-safe converter.

Every result's ``to_dict()`` passes through :func:`jsonable`, so the rules are
the same everywhere and written once:

* mappings keep their order; keys become text (a tuple key is joined with ``|``);
* lists, tuples and numpy arrays become lists;
* numpy booleans and integers become Python ones;
* a float that is NaN, ``inf`` or ``-inf`` becomes ``None`` (``null``): JSON has
  no such numbers, and a reader should see "no value", not a string;
* ``None``, ``pandas.NA`` and ``NaT`` become ``None``;
* dates and times become ISO 8601 text;
* a DataFrame becomes a list of records, a Series a mapping of its index;
* anything else that JSON cannot hold becomes its text.

So ``json.dumps(result.to_dict(), allow_nan=False)`` always succeeds.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def _key(key: Any) -> str:
    return "|".join(map(str, key)) if isinstance(key, tuple) else str(key)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON-safe Python data, by the rules in this module's docstring.

    Examples
    --------
    >>> jsonable({"alpha": np.float64(0.81), "se": float("nan"), "ratio": float("inf"),
    ...           "n": np.int64(12), ("a", 1): [np.bool_(True), pd.NA]})
    {'alpha': 0.81, 'se': None, 'ratio': None, 'n': 12, 'a|1': [True, None]}
    """
    if isinstance(value, pd.DataFrame):
        return [jsonable(row) for row in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure for a printed table: ``digits`` decimals, ``-`` when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_interval(ci: tuple[float, float] | None, digits: int = 3) -> str:
    """An interval for a printed table, ``[lower, upper]``, ``-`` when there is none."""
    if ci is None:
        return "-"
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


class Result:
    """What every result class shares: ``str(result)`` is its :meth:`summary`."""

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()


__all__ = ["Result", "format_interval", "format_number", "jsonable"]
