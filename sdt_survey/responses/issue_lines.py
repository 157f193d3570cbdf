"""The lines of a data-quality report, gathered kind by kind and put in row order once.

Validation finds problems item by item (720,000 ``missing_required`` lines on
a million respondents), and the report lists them by row. :class:`IssueLines`
keeps each group of lines as it was found (a column's value given once for the
group, or one per line) and builds the table at the end: each column once, in
row order, with the same values and dtypes as building a table per group,
concatenating them and sorting by row would give (which it does itself for
any group it cannot build so: a value that is neither text nor missing).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..stats.threads import in_background, on_two_threads
from .model import ISSUE_COLUMNS

#: The text dtype pandas gives a column of strings (``str``: missing values are NaN).
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


class IssueLines:
    """Report lines, group by group, until :meth:`table` puts them in row order.

    Examples
    --------
    >>> lines = IssueLines()
    >>> lines.add(2, {"row": np.array([3, 7]), "respondent": None, "column": "q1", "item": "q1",
    ...               "value": "", "problem": "missing_required", "severity": "warning",
    ...               "message": "required item not answered", "action": "left missing"})
    >>> lines.add_record({"row": 5, "respondent": None, "column": None, "item": None, "value": None,
    ...                   "problem": "blank_line", "severity": "info", "message": "the row is entirely empty",
    ...                   "action": "skipped"})
    >>> lines.table()["row"].tolist()
    [3, 5, 7]
    """

    def __init__(self) -> None:
        self._groups: list[tuple[int, dict[str, Any], bool]] = []

    def add(self, n: int, fields: dict[str, Any]) -> None:
        """``n`` lines: each field a value for all of them, or an array (or list) of ``n`` values."""
        if n:
            self._groups.append((n, fields, False))

    def add_record(self, fields: dict[str, Any]) -> None:
        """One line, each field its value."""
        self._groups.append((1, fields, True))

    def table(self) -> pd.DataFrame:
        """Every line, by row (lines of no row first), stably: a row's lines in the order they were added."""
        if not self._groups:
            return pd.DataFrame(columns=ISSUE_COLUMNS)[ISSUE_COLUMNS]
        columns = _columns(self._groups)
        if columns is None:
            return _by_concat(self._groups)
        order = np.argsort(_sort_keys(self._groups), kind="stable")
        # A column at a time, two at once: the gathers and text casts let go of the interpreter lock.
        sorted_columns = on_two_threads(
            lambda column: _ordered(column, order), list(columns.values()), size=len(order)
        )
        return pd.DataFrame(dict(zip(columns, sorted_columns, strict=True)), columns=ISSUE_COLUMNS)

    def retag(self, problem: str, severity: str) -> None:
        """Give every line of ``problem`` the ``severity`` (a repeated id kept by policy is a warning)."""
        for n, fields, _ in self._groups:
            if isinstance(fields["problem"], str):
                if fields["problem"] == problem:
                    fields["severity"] = severity
            else:  # a problem per line
                problems = np.asarray(fields["problem"], dtype=object)
                severities = np.broadcast_to(np.asarray(fields["severity"], dtype=object), (n,))
                fields["severity"] = np.where(problems == problem, severity, severities).astype(object)

    def count(self) -> int:
        """The number of lines."""
        return sum(n for n, _, _ in self._groups)

    def kinds(self) -> frozenset[tuple[str, str]]:
        """Each ``(problem, severity)`` that some line has."""
        found: set[tuple[str, str]] = set()
        for n, fields, _ in self._groups:
            problem, severity = fields["problem"], fields["severity"]
            if isinstance(problem, str) and isinstance(severity, str):  # one kind for the group
                found.add((problem, severity))
                continue
            problems = np.broadcast_to(np.asarray(problem, dtype=object), (n,))
            severities = np.broadcast_to(np.asarray(severity, dtype=object), (n,))
            found.update(zip(problems.tolist(), severities.tolist(), strict=True))
        return frozenset(found)

    def of(self, problems: Collection[str]) -> IssueLines:
        """The lines of ``problems`` only (in the same order once put in a table)."""
        out = IssueLines()
        for n, fields, record in self._groups:
            problem = fields["problem"]
            if isinstance(problem, str):
                if problem in problems:
                    out._groups.append((n, fields, record))
                continue
            keep = np.isin(np.asarray(problem, dtype=object), list(problems))
            if keep.any():
                out._groups.append((int(keep.sum()), _lines_where(fields, keep, n), record))
        return out

    def table_later(self) -> PendingTable:
        """:meth:`table`, built on another thread; what it holds is known at once (see PendingTable)."""
        return PendingTable(self)

    def reference_table(self) -> pd.DataFrame:
        """The same table built the plain way (a table per group, concatenated, sorted): for tests."""
        if not self._groups:
            return pd.DataFrame(columns=ISSUE_COLUMNS)[ISSUE_COLUMNS]
        return _by_concat(self._groups)


class PendingTable:
    """The report's table being built on another thread while the caller goes on.

    Scoring goes on beside the 720,000 lines of a million respondents' report;
    what decides whether it may (the kinds of lines, the lines of a few
    problems) is answered from the lines themselves, without waiting.
    :meth:`result` waits for the table.
    """

    def __init__(self, lines: IssueLines) -> None:
        self.lines = lines
        self._wait = in_background(lines.table, size=lines.count())

    def result(self) -> pd.DataFrame:
        """The table (waiting for it)."""
        return self._wait()

    def kinds(self) -> frozenset[tuple[str, str]]:
        """Each ``(problem, severity)`` that some line has."""
        return self.lines.kinds()

    def of(self, problems: Collection[str]) -> pd.DataFrame:
        """The lines of ``problems`` in report order: those of the table, indexed from 0."""
        return self.lines.of(problems).table()


def _lines_where(fields: dict[str, Any], keep: np.ndarray, n: int) -> dict[str, Any]:
    """The fields of the lines ``keep`` selects out of ``n``: each value given per line taken for them."""
    out = {}
    for name, value in fields.items():
        if isinstance(value, list):
            value = np.array(value, dtype=object)
        out[name] = value[keep] if isinstance(value, np.ndarray) and value.shape == (n,) else value
    return out


def _by_concat(groups: Sequence[tuple[int, dict[str, Any], bool]]) -> pd.DataFrame:
    """The table built a group at a time, concatenated, then sorted by row: the reference construction."""
    frames = [pd.DataFrame([fields]) if record else pd.DataFrame(fields) for _, fields, record in groups]
    issues = pd.concat(frames, ignore_index=True)[ISSUE_COLUMNS]
    order = np.argsort(issues["row"].fillna(0).astype(float).to_numpy(), kind="stable")
    if (order[1:] < order[:-1]).any():
        issues = issues.take(order).reset_index(drop=True)
    return issues


def _sort_keys(groups: Sequence[tuple[int, dict[str, Any], bool]]) -> np.ndarray:
    keys = []
    for n, fields, _ in groups:
        row = fields["row"]
        keys.append(np.zeros(n) if row is None else np.broadcast_to(np.asarray(row, dtype=float), (n,)))
    return np.concatenate(keys)


def _columns(groups: Sequence[tuple[int, dict[str, Any], bool]]) -> dict[str, tuple] | None:
    """Each column as (kind, pieces), kind ``int``, ``text`` or ``object``; None when one is of another kind.

    A piece is ``(n, value, is_array)``. The kinds follow pandas: a group's
    column of integers is int64, of strings (some missing) ``str``, of nothing
    but None object; groups of different kinds make an object column.
    """
    out: dict[str, tuple] = {}
    for name in ISSUE_COLUMNS:
        kinds, pieces = set(), []
        for n, fields, record in groups:
            value = fields[name]
            if isinstance(value, list):
                value = np.array(value, dtype=object) if value else np.array([], dtype=object)
            is_array = isinstance(value, np.ndarray) and not record
            kind = _kind(value, is_array)
            if kind is None or (is_array and len(value) != n):
                return None
            kinds.add(kind)
            pieces.append((n, value, is_array))
        out[name] = (kinds.pop() if len(kinds) == 1 else "object", pieces)
    return out


def _kind(value: Any, is_array: bool) -> str | None:
    if not is_array:
        if value is None:
            return "none"
        if isinstance(value, str):
            return "text"
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return "int"
        return None
    if value.dtype == np.int64:
        return "int"
    if value.dtype != object:
        return None
    inferred = pd.api.types.infer_dtype(value, skipna=True)
    if inferred == "string":
        return "text"
    if inferred == "empty" and all(v is None for v in value):
        return "none"
    return None


def _ordered(column: tuple, order: np.ndarray) -> pd.Series:
    kind, pieces = column
    n = sum(p[0] for p in pieces)
    if kind == "int":
        values = np.concatenate(
            [v if is_array else np.full(k, v, dtype=np.int64) for k, v, is_array in pieces]
        )
        return pd.Series(values[order], dtype=np.int64)
    if kind == "none":
        return pd.Series(np.full(n, None, dtype=object), dtype=object)
    if kind == "text" and not any(is_array for _, _, is_array in pieces):
        # Few distinct texts: codes into a dictionary, put in order, then the text built once.
        dictionary = list(dict.fromkeys(v for _, v, _ in pieces))
        codes = np.concatenate([np.full(k, dictionary.index(v), dtype=np.int32) for k, v, _ in pieces])
        import pyarrow as pa

        text = pa.DictionaryArray.from_arrays(codes[order], pa.array(dictionary, pa.string())).cast(
            pa.string()
        )
        return pd.Series(pd.array(text, dtype=_TEXT), copy=False)
    values = np.empty(n, dtype=object)
    start = 0
    for k, v, is_array in pieces:
        if kind == "object" and is_array and v.dtype == object and _piece_kind(v) == "text":
            v = np.where(pd.isna(v), np.nan, v)  # a text group's missing values are NaN, as pandas has them
        values[start : start + k] = v
        start += k
    values = values[order]
    if kind == "text":
        return pd.Series(pd.array(values, dtype=_TEXT), copy=False)
    return pd.Series(values, dtype=object)


def _piece_kind(value: np.ndarray) -> str | None:
    return _kind(value, True)
