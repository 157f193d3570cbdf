"""Reading and checking a schedule: columns, ids, dates, windows, and the report of every problem."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._terminal import printable
from ..errors import SdtSurveyError
from ..responses import MISSING_TOKENS
from ..responses.formats import read_file
from .vocabulary import (  # noqa: F401 - the schedule's words, imported here by its users
    INVALID_POLICIES,
    PROBLEM_SEVERITY,
    REPORT_COLUMNS,
    ROLE_SYNONYMS,
    SIDES,
    TIME_COLUMN,
)

_WINDOW_HELP = (
    'window must be None, "academic-year", "block:N" (N-week blocks; "block:N@YYYY-MM-DD" sets the '
    'first block\'s first day) or "YYYY-MM-DD..YYYY-MM-DD" (inclusive)'
)
_MAX_MESSAGE_LINES = 50


class ContinuityError(SdtSurveyError):
    """The schedule has invalid rows; ``report`` lists every one of them."""

    def __init__(self, path: str, report: pd.DataFrame):
        self.report = report
        errors = report[report["severity"] == "error"]
        n = len(errors)
        lines = [_report_line(r) for r in errors.head(_MAX_MESSAGE_LINES).itertuples()]
        if n > _MAX_MESSAGE_LINES:
            lines.append(f"  ... and {n - _MAX_MESSAGE_LINES} more (all of them are in the error's .report)")
        super().__init__(
            f"{path}: {n} invalid {'row' if n == 1 else 'rows'}; no indices computed. Fix them, or drop "
            "them with invalid='drop' (each dropped row is listed in the result's report).\n"
            + "\n".join(lines)
        )


def _report_line(r: Any) -> str:
    where = f"row {int(r.row)}" if pd.notna(r.row) else "file"
    col = f" {printable(r.column)}" if isinstance(r.column, str) and r.column else ""
    return f"  {where}{col}: {printable(r.message)} -> {printable(r.action)}"


# --------------------------------------------------------------------------- reading and checking


@dataclass
class _Codes:
    """A column of ids as integer codes (-1 = missing) and the sorted labels they index."""

    codes: np.ndarray
    labels: np.ndarray


def _id_text(value: Any) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return None if text in MISSING_TOKENS else text


def _factorize_ids(column: pd.Series) -> _Codes:
    """Ids as text, stripped; empty and NA-like cells are missing. Work per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if pd.api.types.is_string_dtype(uniques.dtype) and not pd.api.types.is_object_dtype(uniques.dtype):
        stripped = pd.Series(uniques).str.strip()  # text ids (the usual case): vectorized
        valid = ~stripped.isin(MISSING_TOKENS).to_numpy(dtype=bool)
        texts = stripped.to_numpy(dtype=object)
    else:
        texts = np.array([_id_text(v) for v in np.asarray(uniques, dtype=object)], dtype=object)
        valid = np.array([t is not None for t in texts], dtype=bool)
    labels, inverse = np.unique(texts[valid].astype(str), return_inverse=True)
    remap = np.full(len(texts) + 1, -1, dtype=np.int64)
    remap[np.flatnonzero(valid)] = inverse
    return _Codes(remap[codes], labels.astype(object))  # codes -1 index remap[-1] == -1


def _parse_times(column: pd.Series, date_format: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times as datetime64[ns] (NaT when not usable), and masks of missing and unparseable cells."""
    if pd.api.types.is_datetime64_any_dtype(column):
        values = column
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        times = values.to_numpy(dtype="datetime64[ns]")
        missing = np.isnat(times)
        return times, missing, np.zeros(len(times), bool)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    raw = np.asarray(uniques, dtype=object)
    text = np.array([None if _id_text(v) is None else v for v in raw], dtype=object)
    text = np.array([v.strip() if isinstance(v, str) else v for v in text], dtype=object)
    present = np.array([v is not None for v in text], dtype=bool)
    parsed = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]")
    if present.any():
        candidates = pd.Series(text[present])
        parsed[present] = _to_datetime(candidates, date_format)
    bad_unique = present & np.isnat(parsed)
    times = np.r_[parsed, np.datetime64("NaT")][codes].astype("datetime64[ns]")
    missing = np.r_[~present, True][codes]
    invalid = np.r_[bad_unique, False][codes]
    return times, missing, invalid


def _to_datetime(values: pd.Series, date_format: str | None) -> np.ndarray:
    numeric = values.map(
        lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    )
    # A bare number is not a date (an Excel serial or a typo): leave it unparsed, reported as invalid.
    usable = values.where(~numeric.astype(bool), None).astype(object)
    kwargs: dict[str, Any] = {"errors": "coerce", "format": date_format or "ISO8601"}
    try:
        result = pd.to_datetime(usable, **kwargs)
    except (ValueError, TypeError):
        try:
            result = pd.to_datetime(usable, utc=True, **kwargs).dt.tz_convert(None)
        except (ValueError, TypeError):
            result = pd.Series([_one_datetime(v, date_format) for v in usable], dtype="datetime64[ns]")
    if getattr(result.dt, "tz", None) is not None:
        result = result.dt.tz_localize(None)
    return result.to_numpy(dtype="datetime64[ns]")


def _one_datetime(value: Any, date_format: str | None) -> Any:
    try:
        stamp = pd.to_datetime(value, errors="coerce", format=date_format or "ISO8601")
    except (ValueError, TypeError):
        return pd.NaT
    if pd.isna(stamp):
        return pd.NaT
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _missing_column_message(path: str, role: str, option: str, name: str, columns: Sequence[str]) -> str:
    names = [str(c) for c in columns]
    hint = difflib.get_close_matches(name, names, n=1)
    if not hint:
        lowered = {c.lower(): c for c in names}
        hint = [lowered[s] for s in ROLE_SYNONYMS.get(role, ()) if s in lowered][:1]
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    suggestion = f"; did you mean {hint[0]!r} ({option}={hint[0]!r})?" if hint else ""
    return f"{path}: no {role} column {name!r}{suggestion} (columns: {listed})"


def _read_schedule(
    schedule: pd.DataFrame | str | Path, sheet: str | int | None
) -> tuple[pd.DataFrame, np.ndarray, str, list[int]]:
    """The schedule as a frame, the row number of each record, the display name, and blank rows."""
    if isinstance(schedule, pd.DataFrame):
        frame = schedule.reset_index(drop=True)
        return frame, np.arange(1, len(frame) + 1), "<data frame>", []
    if not isinstance(schedule, (str, Path)):
        raise SdtSurveyError(
            f"schedule must be a DataFrame or a path to a file, got {type(schedule).__name__}"
        )
    path = Path(schedule)
    display = str(schedule)
    if not path.is_file():
        raise SdtSurveyError(f"{display}: no such file")
    table = read_file(path, display, sheet)
    frame = table.frame.reset_index(drop=True)
    rows = frame.attrs.get("rows")
    rows = np.arange(len(frame)) + table.header_rows + 1 if rows is None else np.asarray(rows)
    if len(frame) and len(frame.columns):
        # A row is blank when every cell is empty; check each column only on the rows still blank.
        candidates = np.arange(len(frame))
        for column in frame.columns:
            candidates = candidates[_missing_cells(frame[column].iloc[candidates])]
            if not len(candidates):
                break
        blank = np.zeros(len(frame), bool)
        blank[candidates] = True
        blank_rows = [int(r) for r in rows[blank]]
        frame, rows = frame.loc[~blank].reset_index(drop=True), rows[~blank]
    else:
        blank_rows = []
    return frame, rows, display, blank_rows


def _missing_cells(column: pd.Series) -> np.ndarray:
    """Empty or NA-like cells (``""``, ``NA``, ``.``, ...), checked once per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    missing = np.array([_id_text(v) is None for v in np.asarray(uniques, dtype=object)], dtype=bool)
    return np.r_[missing, True][codes]


def _parse_window(window: str | None) -> tuple[str, Any]:
    if window is None:
        return "none", None
    if not isinstance(window, str):
        raise SdtSurveyError(f"{_WINDOW_HELP}; got {window!r}")
    spec = window.strip()
    if spec in ("academic-year", "academic_year", "ay"):
        return "academic-year", None
    match = re.fullmatch(r"block:\s*(\d+)\s*(?:@\s*(\d{4}-\d{2}-\d{2}))?", spec)
    if match:
        weeks = int(match.group(1))
        if weeks < 1:
            raise SdtSurveyError(f"window {window!r}: a block is at least 1 week")
        anchor = _iso_date(match.group(2), window) if match.group(2) else None
        return "block", (weeks, anchor)
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})", spec)
    if match:
        start, end = _iso_date(match.group(1), window), _iso_date(match.group(2), window)
        if end < start:
            raise SdtSurveyError(f"window {window!r}: the end {end} is before the start {start}")
        return "range", (start, end)
    close = difflib.get_close_matches(spec, ["academic-year"], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SdtSurveyError(f"{_WINDOW_HELP}; got {window!r}{hint}")


def _iso_date(text: str, window: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise SdtSurveyError(f"window {window!r}: {text!r} is not a date (YYYY-MM-DD)") from exc


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SdtSurveyError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}{hint}")


class _Report:
    """Collects report lines as column arrays (vectorized: one chunk per problem kind)."""

    def __init__(self, rows: np.ndarray, learner: _Codes | None, faculty: _Codes | None):
        self.rows, self.learner, self.faculty = rows, learner, faculty
        self.chunks: list[pd.DataFrame] = []

    def _ids(self, codes: _Codes | None, where: np.ndarray) -> np.ndarray:
        if codes is None:
            return np.full(len(where), None, dtype=object)
        c = codes.codes[where]
        return np.where(c >= 0, codes.labels[np.maximum(c, 0)] if len(codes.labels) else None, None)

    def add(
        self,
        where: np.ndarray,
        column: str | None,
        values: np.ndarray | Sequence[Any],
        problem: str,
        message: str | Sequence[str],
        action: str,
    ) -> None:
        where = np.asarray(where, dtype=np.int64)
        if not len(where):
            return
        self.chunks.append(
            pd.DataFrame(
                {
                    "row": self.rows[where].astype(np.int64),
                    "learner": self._ids(self.learner, where),
                    "faculty": self._ids(self.faculty, where),
                    "column": column,
                    "value": np.asarray(values, dtype=object),
                    "problem": problem,
                    "severity": PROBLEM_SEVERITY[problem],
                    "message": message if isinstance(message, str) else list(message),
                    "action": action,
                }
            )
        )

    def add_file(self, problem: str, message: str, action: str, column: str | None = None) -> None:
        line = dict.fromkeys(REPORT_COLUMNS)
        line.update(
            problem=problem, severity=PROBLEM_SEVERITY[problem], message=message, action=action, column=column
        )
        self.chunks.append(pd.DataFrame([line]))

    def frame(self) -> pd.DataFrame:
        if not self.chunks:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in REPORT_COLUMNS}).astype({"row": "Int64"})
        out = pd.concat([c.astype(object) for c in self.chunks], ignore_index=True)[REPORT_COLUMNS]
        order = pd.to_numeric(out["row"], errors="coerce").fillna(np.inf).to_numpy()
        out = out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
        out["row"] = pd.array(pd.to_numeric(out["row"], errors="coerce"), dtype="Int64")
        return out


def _cell_text(column: pd.Series, where: np.ndarray) -> np.ndarray:
    return np.array(["" if _id_text(v) is None else str(v) for v in column.iloc[where]], dtype=object)
