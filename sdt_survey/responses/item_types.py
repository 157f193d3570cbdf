"""Cell validation by item type: one check per type, and :func:`check_item` choosing among them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..instrument import Item
from ..platforms.table import normalise_text
from .cells import (
    Cells,
    PlainNumbers,
    Verdict,
    as_number,
    check_each_value,
    code_key,
    describe_codes,
    format_bound,
    item_labels,
)
from .model import MISSING_TOKENS


def check_coded(
    item: Item,
    column: pd.Series,
    value_labels: Mapping[Any, str] | None,
    user_missing: set[float],
    out: np.ndarray | None = None,
) -> Cells:
    """Likert and single-choice items: every cell must be a valid code or its label.

    A column of valid codes only is taken whole, into ``out`` when given.
    """
    nonsubstantive: dict[str, tuple[str, str]] = {}
    if item.scale is not None:
        valid_codes: list[Any] = list(item.scale.values)
        missing_codes = dict(item.scale.missing_codes)
        what = f"scale {item.scale.id} ({describe_codes(valid_codes)})"
        # Shown to respondents, scored as missing with their reason (never an invalid cell).
        nonsubstantive = {code_key(c.value): (c.reason, c.label.get()) for c in item.scale.nonsubstantive}
    else:
        valid_codes = [c.value for c in item.choices]
        missing_codes = {}
        what = f"the choices of {item.id} ({describe_codes(valid_codes)})"
    numeric_codes = all(isinstance(v, int) for v in valid_codes)
    for code in user_missing:
        missing_codes.setdefault(int(code) if float(code).is_integer() else code, "user_missing")
    by_key = {code_key(v): v for v in valid_codes}
    # A choice name as platforms that take no '-' or '.' write it (REDCap: dont-know as dont_know).
    spelled: dict[str, list[Any]] = {}
    for v in valid_codes:
        if isinstance(v, str):
            spelled.setdefault(code_key(v).replace("-", "_").replace(".", "_"), []).append(v)
    by_key = {**{k: vs[0] for k, vs in spelled.items() if len(vs) == 1}, **by_key}
    missing_by_key = {code_key(k): reason for k, reason in missing_codes.items()}
    labels = item_labels(item, value_labels)
    unknown = "unknown_label" if item.scale is not None else "unknown_choice"

    def not_substantive(text: str, key: str) -> Verdict:
        reason, label = nonsubstantive[key]
        shown = text if normalise_text(text) == normalise_text(label) else f"{text} ({label})"
        message = f"{shown}: a non-substantive answer, missing as {reason}"
        return Verdict(None, "nonsubstantive", message, reason)

    def judge(text: str, raw: Any) -> Verdict:
        number = as_number(raw)
        key = code_key(number) if number is not None else text
        if key in missing_by_key:
            reason = missing_by_key[key]
            return Verdict(None, "missing_code", f"missing code {text} ({reason})", reason)
        if key in nonsubstantive:
            return not_substantive(text, key)
        if key in by_key:
            return Verdict(by_key[key])
        if number is not None:
            return Verdict(None, "out_of_range", f"{text} is not a value of {what}")
        if normalise_text(text) in labels:
            code = labels[normalise_text(text)]
            if code_key(code) in nonsubstantive:
                return not_substantive(text, code_key(code))
            value = float(code) if numeric_codes else code
            return Verdict(value, "label_mapped", f"label {text!r} read as code {code_key(value)}")
        hint = difflib.get_close_matches(normalise_text(text), list(labels), n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return Verdict(None, unknown, f"{text!r} is not a code or label of {what}{suggestion}")

    plain = _plain_codes(valid_codes, {**missing_by_key, **dict.fromkeys(nonsubstantive, "")})
    return check_each_value(column, judge, numeric_codes, plain, out)


def _plain_codes(valid_codes: list[Any], missing_by_key: Mapping[str, str]) -> PlainNumbers | None:
    """Whole-number codes from low to high with no gap and no missing code among them: taken as they are."""
    if not valid_codes or not all(type(v) is int for v in valid_codes):
        return None
    low, high = min(valid_codes), max(valid_codes)
    if set(valid_codes) != set(range(low, high + 1)):
        return None
    for key in missing_by_key:
        number = as_number(key)
        if number is not None and low <= number <= high:
            return None
    return PlainNumbers(float(low), float(high), whole=True)


def check_numeric(item: Item, column: pd.Series) -> Cells:
    def judge(text: str, raw: Any) -> Verdict:
        number = as_number(raw)
        if number is None or not np.isfinite(number):
            return Verdict(None, "not_numeric", f"{text!r} is not a number")
        if item.type == "integer" and not float(number).is_integer():
            return Verdict(None, "not_integer", f"{text} is not a whole number")
        if (item.min is not None and number < item.min) or (item.max is not None and number > item.max):
            bounds = f"{format_bound(item.min)} to {format_bound(item.max)}"
            return Verdict(None, "out_of_range", f"{text} is outside {bounds}")
        return Verdict(number)

    low = -np.inf if item.min is None else float(item.min)
    high = np.inf if item.max is None else float(item.max)
    return check_each_value(column, judge, True, PlainNumbers(low, high, item.type == "integer", True))


def check_slider(item: Item, column: pd.Series) -> Cells:
    """A slider's answers: numbers from ``min`` to ``max`` on the grid of ``step`` (``min + k * step``)."""
    low, high, step = float(item.min or 0), float(item.max or 0), float(item.step or 1)
    bounds = f"{format_bound(item.min)} to {format_bound(item.max)}"

    def judge(text: str, raw: Any) -> Verdict:
        number = as_number(raw)
        if number is None or not np.isfinite(number):
            return Verdict(None, "not_numeric", f"{text!r} is not a number")
        if number < low or number > high:
            return Verdict(None, "out_of_range", f"{text} is outside the slider's {bounds}")
        steps = (number - low) / step
        if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
            return Verdict(
                None, "off_step", f"{text} is not on the slider's steps of {format_bound(step)} from {bounds}"
            )
        return Verdict(number)

    # Whole-number steps of 1 from a whole minimum: any whole number in range is on the grid.
    on_grid = step == 1 and low.is_integer()
    return check_each_value(column, judge, True, PlainNumbers(low, high, True, True) if on_grid else None)


def check_multiple(
    item: Item, columns: pd.DataFrame | pd.Series, split_codes: Mapping[str, str] | None = None
) -> Cells:
    """Multiple-choice answers: space-separated codes, or one 0/1 column per choice.

    ``split_codes`` maps each split column (REDCap ``item___code``, Qualtrics
    ``Q4_1``) to its choice code; a ticked column (``1``/``Checked``) selects it.
    """
    by_key = {code_key(c.value): c.value for c in item.choices}
    labels = item_labels(item, None)
    if isinstance(columns, pd.DataFrame):
        ticked = [
            columns[c].astype("string").str.strip().str.casefold().isin(["1", "checked"]).fillna(False)
            for c in columns.columns
        ]
        codes_of = [(split_codes or {}).get(c, f"[{c}]") for c in columns.columns]
        # Join the codes of the ticked columns; rows with nothing ticked are unanswered.
        joined = np.full(len(columns), "", dtype=object)
        for code, hit in zip(codes_of, ticked, strict=True):
            joined = np.where(hit.to_numpy(), joined + " " + code, joined)
        stripped = pd.Series(joined, index=columns.index).str.strip()
        column = stripped.where(stripped != "", None)
    else:
        column = columns

    def judge(text: str, raw: Any) -> Verdict:
        picked, bad = [], []
        for part in (p for p in re.split(r"[\s,;]+", text) if p):
            if part in by_key:
                picked.append(by_key[part])
            elif normalise_text(part) in labels:
                picked.append(labels[normalise_text(part)])
            else:
                bad.append(part)
        if bad:
            return Verdict(
                None, "unknown_choice", f"{', '.join(map(repr, bad))} not among the choices of {item.id}"
            )
        return Verdict(" ".join(str(v) for v in sorted(set(picked), key=str)))

    return check_each_value(column, judge, False)


def check_date(column: pd.Series) -> Cells:
    def judge(text: str, raw: Any) -> Verdict:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        try:
            # A year before 1 ("-99") parses, but is no calendar date.
            return Verdict(parsed.date().isoformat()) if not pd.isna(parsed) else _not_a_date(text)
        except (ValueError, OverflowError, NotImplementedError):
            return _not_a_date(text)

    return check_each_value(column, judge, False)


def _not_a_date(text: str) -> Verdict:
    return Verdict(None, "invalid_date", f"{text!r} is not a date (use YYYY-MM-DD)")


def check_text(column: pd.Series) -> Cells:
    text = column.astype("string").str.strip()
    values = text.where(~text.isin(MISSING_TOKENS).fillna(True), None).astype(object)
    return Cells(values)


def check_item(
    item: Item,
    column: pd.Series,
    value_labels: Mapping[Any, str] | None = None,
    user_missing: set[float] | frozenset[float] = frozenset(),
    out: np.ndarray | None = None,
) -> Cells:
    """Check one item's column with the check for its type (likert and single: the values into ``out``)."""
    if item.type in ("likert", "single"):
        return check_coded(item, column, value_labels, set(user_missing), out)
    check: Callable[..., Cells] = CHECKS.get(item.type, check_text_column)
    return check(item, column)


def check_date_column(item: Item, column: pd.Series) -> Cells:
    return check_date(column)


def check_text_column(item: Item, column: pd.Series) -> Cells:
    return check_text(column)


#: The check of each item type that needs nothing but the column (coded types also take labels).
CHECKS: dict[str, Callable[..., Cells]] = {
    "integer": check_numeric,
    "number": check_numeric,
    "slider": check_slider,
    "multiple": check_multiple,
    "date": check_date_column,
    "text": check_text_column,
}
