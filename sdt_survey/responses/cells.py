"""Judging cells: each distinct value of a column once, then the verdict spread to every cell.

The per-item-type checks (:mod:`sdt_survey.responses.item_types`) build on
these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..instrument import Item
from ..platforms.table import normalise_text
from .model import MISSING_TOKENS


@dataclass
class Cells:
    """The outcome of checking one item column.

    ``values`` holds the clean values: a float array for numeric items, a
    Series of objects for the others. ``reasons`` gives the rows holding a
    declared missing code and why; ``problems`` the rows of each problem kind,
    with one message per row. Both list only the cells they concern, so a clean
    column costs nothing beyond its values.
    """

    values: np.ndarray | pd.Series
    reasons: list[tuple[np.ndarray, str]] = field(default_factory=list)
    problems: list[tuple[np.ndarray, str, list[str]]] = field(default_factory=list)


def label_lookup(pairs: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """Normalised label text -> code, over every language."""
    lookup: dict[str, Any] = {}
    for code, text in pairs:
        lookup.setdefault(normalise_text(str(text)), code)
    return lookup


def item_labels(item: Item, value_labels: Mapping[Any, str] | None) -> dict[str, Any]:
    pairs: list[tuple[Any, Any]] = []
    if item.scale is not None:
        for value, label in zip(item.scale.choice_values, item.scale.choice_labels, strict=True):
            pairs += [(value, text) for text in label.translations.values()]
    for choice in item.choices:
        pairs += [(choice.value, text) for text in choice.label.translations.values()]
    for code, text in (value_labels or {}).items():
        pairs.append((code, text))
    return label_lookup(pairs)


def code_key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def as_written(values: pd.Series) -> np.ndarray:
    """Cell values as a person wrote them: ``3``, not ``3.0`` (a number read from Excel or SPSS)."""
    return np.array([code_key(v) for v in values], dtype=object)


@dataclass
class Verdict:
    """What one distinct cell value means: its clean value, or the problem with it."""

    value: Any = None
    problem: str | None = None
    message: str | None = None
    reason: str | None = None  # why the value is missing (a declared missing code)


#: Longer cell values are shortened in messages.
_MESSAGE_VALUE_CHARACTERS = 60


def shown_value(text: str) -> str:
    """A value as a message shows it: a 5,000-digit number or a pasted essay is named, not printed whole.

    Examples
    --------
    >>> shown_value("7"), shown_value("9" * 5000)
    ('7', '999999999999999999999999...99999999 (5,000 characters)')
    """
    if len(text) <= _MESSAGE_VALUE_CHARACTERS:
        return text
    return f"{text[:24]}...{text[-8:]} ({len(text):,} characters)"


def check_each_value(
    column: pd.Series,
    judge: Callable[[str, Any], Verdict],
    numeric: bool,
    plain: PlainNumbers | None = None,
    out: np.ndarray | None = None,
) -> Cells:
    """Judge each distinct value of a column once, then spread the verdicts to every cell.

    A survey column holds few distinct values, so this is fast however many
    respondents there are; ``judge`` gets the value's text and the raw value.
    ``plain`` names the numbers ``judge`` would accept as they are: a numeric
    column holding only those is taken whole, without judging its values one by one
    (into ``out`` when given).
    """
    if plain is not None:
        values = plain.take(column, out)
        if values is not None:
            return Cells(values)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    resolved = np.full(len(uniques), np.nan if numeric else None, dtype=float if numeric else object)
    reasons = np.full(len(uniques), None, dtype=object)
    kinds = np.full(len(uniques), None, dtype=object)
    messages = np.full(len(uniques), None, dtype=object)
    for u, raw in enumerate(uniques):
        text = code_key(raw)
        if text in MISSING_TOKENS:
            continue
        verdict = judge(text, raw)
        if verdict.message and len(text) > _MESSAGE_VALUE_CHARACTERS:
            verdict.message = verdict.message.replace(text, shown_value(text))
        if verdict.value is not None:
            resolved[u] = verdict.value
        kinds[u], messages[u], reasons[u] = verdict.problem, verdict.message, verdict.reason
    return collect(codes, resolved, reasons, kinds, messages, column.index, numeric)


def collect(
    codes: np.ndarray,
    resolved: np.ndarray,
    reasons: np.ndarray,
    kinds: np.ndarray,
    messages: np.ndarray,
    index: pd.Index,
    numeric: bool,
) -> Cells:
    """Spread the verdicts on each distinct value (``resolved``, ``reasons``, ``kinds``, ``messages``).

    ``codes`` gives each cell's distinct value, -1 for an empty cell (pandas.factorize).
    """
    # One slot more for the empty cells: code -1 takes the last one.
    table = np.concatenate([resolved, np.array([np.nan if numeric else None], dtype=resolved.dtype)])
    values = table[codes]
    cells = Cells(values if numeric else pd.Series(values, index=index))
    for attribute, per_value in (("reasons", reasons), ("problems", kinds)):
        for label in dict.fromkeys(k for k in per_value if k is not None):
            where = np.flatnonzero(np.isin(codes, np.flatnonzero(per_value == label)))
            if attribute == "reasons":
                cells.reasons.append((where, label))
            else:
                cells.problems.append((where, label, messages[codes[where]].tolist()))
    return cells


@dataclass(frozen=True)
class PlainNumbers:
    """The numbers a check takes as they are: within ``low`` to ``high``, and whole if ``whole``.

    ``signed_zero``: a zero keeps the sign of the first zero in the column (as
    a value judged once per distinct value does); otherwise it is +0 (a code).
    """

    low: float
    high: float
    whole: bool
    signed_zero: bool = False

    def take(self, column: pd.Series, out: np.ndarray | None = None) -> np.ndarray | None:
        """The column's values as floats when every one is such a number or empty; else None.

        ``out``, when given, receives the values (and is returned).
        """
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) or not (
            pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
        ):
            return None
        numbers = column.to_numpy(dtype=float, na_value=np.nan)
        if not len(numbers):
            return None
        if not self.signed_zero and out is not None and self.whole:
            return self._take_codes(numbers, out)
        # A block at a time, so each block is checked while it is in the processor's cache.
        blocks = [numbers[s : s + _BLOCK] for s in range(0, len(numbers), _BLOCK)]
        low = np.fmin.reduce([np.fmin.reduce(block) for block in blocks])
        high = np.fmax.reduce([np.fmax.reduce(block) for block in blocks])
        if np.isnan(low):  # every cell empty
            if out is not None:
                out[:] = np.nan
                return out
            return np.full(len(numbers), np.nan)
        if not (np.isfinite(low) and np.isfinite(high) and low >= self.low and high <= self.high):
            return None
        if self.whole and any(np.fmax.reduce(block - np.floor(block)) != 0 for block in blocks):
            return None
        if not self.signed_zero:
            return np.add(numbers, 0.0, out=out)  # a copy, with -0 read as the code 0
        if out is None:
            values = numbers.copy()
        else:
            out[:] = numbers
            values = out
        if low <= 0 <= high:
            zeros = values == 0
            if zeros.any():
                values[zeros] = values[np.argmax(zeros)]
        return values

    def _take_codes(self, numbers: np.ndarray, out: np.ndarray) -> np.ndarray | None:
        """:meth:`take` of whole numbers into ``out``: each block copied, then checked while in the cache.

        ``out`` holds the copies (-0 read as the code 0) also when the column is refused (None).
        """
        low = high = np.nan
        whole = True  # as :meth:`take`: a block with no whole number (all empty) refuses too
        scratch = np.empty(min(_BLOCK, len(numbers)))
        with np.errstate(invalid="ignore"):  # inf - floor(inf): refused below by the range check
            for s in range(0, len(numbers), _BLOCK):
                block = np.add(numbers[s : s + _BLOCK], 0.0, out=out[s : s + _BLOCK])
                part = scratch[: len(block)]
                low = np.fmin(low, np.fmin.reduce(block))
                high = np.fmax(high, np.fmax.reduce(block))
                np.floor(block, out=part)
                np.subtract(block, part, out=part)
                whole = whole and np.fmax.reduce(part) == 0
        if np.isnan(low):  # every cell empty
            return out
        if not (np.isfinite(low) and np.isfinite(high) and low >= self.low and high <= self.high):
            return None
        return out if whole else None


#: Cells checked together by :meth:`PlainNumbers.take`.
_BLOCK = 1 << 16


def describe_codes(codes: Sequence[Any]) -> str:
    if (
        len(codes) > 2
        and all(isinstance(c, int) for c in codes)
        and list(codes) == list(range(min(codes), max(codes) + 1))
    ):
        return f"{min(codes)}-{max(codes)}"
    return ", ".join(str(c) for c in codes)


def as_number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if np.isnan(value) else float(value)
    text = str(value).strip()
    # Python's float() also takes "1_0", "inf" and non-ASCII digits; survey codes are plain numbers.
    return float(text) if PLAIN_NUMBER.match(text) else None


PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)


def format_bound(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)
