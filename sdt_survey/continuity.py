"""Continuity indices from clinic schedules: UPC, MFPC, COC, HHI, MMCI, SECON and entropy.

:func:`continuity_indices` reads a schedule (a file or a DataFrame with one row
per learner-faculty contact: who, with whom, when), checks every row, and
computes per learner (or per faculty member, ``side="faculty"``), and per time
window if asked, the continuity indices used in the continuity-of-care and
medical-education literature:

=================  ==========================================================
``upc``            usual provider of care: sessions with the assigned
                   preceptor / all sessions (needs the assigned column)
``mfpc``           most-frequent provider continuity: sessions with the
                   most-seen faculty member / all sessions
``coc``            Bice-Boxerman continuity of care,
                   ``(sum n_i^2 - N) / (N (N - 1))``
``hhi``            Herfindahl-Hirschman concentration, ``sum (n_i / N)^2``
``mmci``           modified modified continuity index,
                   ``(1 - M / (N + 0.1)) / (1 - 1 / (N + 0.1))``
``secon``          sequential continuity: share of consecutive session pairs
                   (in time order) with the same faculty member
``entropy``        Shannon entropy of the faculty shares, natural log (nats)
``entropy_norm``   ``entropy / log(M)``; 0 when ``M = 1``
=================  ==========================================================

(``N`` sessions, ``n_i`` of them with faculty member ``i``, ``M`` distinct
faculty.) Formulas, their pitfalls and how to prepare a scheduling export are
in ``docs/continuity-and-models.md``.

Everything is vectorized over sessions: one sort, then ``numpy.bincount``
and ``reduceat`` over the sorted arrays; there is no loop over learners.
100,000 learners x 60 sessions take about a second (``benchmarks/bench_continuity.py``).
The simulator (:mod:`sdt_survey.simulate`) computes its true indices with the
same core, :func:`indices_from_codes`.

Examples
--------
>>> import pandas as pd
>>> from sdt_survey.continuity import continuity_indices
>>> schedule = pd.DataFrame(
...     {
...         "learner": ["r1"] * 5 + ["r2"] * 2,
...         "faculty": ["A", "A", "B", "A", "C", "D", "E"],
...         "date": ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22", "2025-07-29",
...                  "2025-07-02", "2025-07-09"],
...     }
... )
>>> result = continuity_indices(schedule)
>>> result.indices[["learner", "n_sessions", "n_faculty", "mfpc", "coc", "hhi", "secon"]]
  learner  n_sessions  n_faculty  mfpc  coc   hhi  secon
0      r1           5          3   0.6  0.3  0.44   0.25
1      r2           2          2   0.5  0.0  0.50   0.00
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._terminal import printable
from .errors import SdtSurveyError
from .responses import MISSING_TOKENS, WAVE_COLUMNS
from .responses.formats import read_file as _read_file
from .scoring import ScoredResponses, write_table

SIDES = ("learner", "faculty")
INVALID_POLICIES = ("error", "drop")
#: The indices computed, in output order (``upc`` only with an assigned column).
INDEX_COLUMNS = ("upc", "mfpc", "coc", "hhi", "mmci", "secon", "entropy", "entropy_norm")
REPORT_COLUMNS = ["row", "learner", "faculty", "column", "value", "problem", "severity", "message", "action"]
#: Severity of each problem kind in the report.
PROBLEM_SEVERITY = {
    "missing_id": "error",
    "missing_date": "error",
    "invalid_date": "error",
    "missing_assigned": "warning",
    "duplicate_row": "warning",
    "blank_line": "info",
    "outside_setting": "info",
    "outside_window": "info",
}
#: Column names commonly used for each role in scheduling exports (for did-you-mean hints).
ROLE_SYNONYMS = {
    "learner": ("resident", "trainee", "student", "fellow", "learner_id", "resident_id", "person"),
    "faculty": ("preceptor", "attending", "supervisor", "provider", "faculty_id", "staff", "physician"),
    "time": ("session_date", "date", "shift_date", "start_date", "start", "datetime", "day", "timestamp"),
    "assigned": ("assigned", "assigned_preceptor", "preceptor", "usual_preceptor"),
    "setting": ("setting", "location", "site", "clinic", "assignment", "shift", "type"),
}
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


# --------------------------------------------------------------------------- the result


@dataclass
class ContinuityResult:
    """Continuity indices per learner (or faculty member) and window, with the report behind them.

    Attributes
    ----------
    indices : pandas.DataFrame
        One row per learner (``side="faculty"``: per faculty member) and
        window, sorted by id (as text) and window start. Columns: the id
        column (named as in the schedule), ``window``, ``window_start`` and
        ``window_end`` (only when a window is used), ``n_sessions``,
        ``n_faculty`` (faculty side: ``n_learners``), ``first``, ``last``,
        ``duration_days``, ``assigned`` (learner side with an assigned column:
        the assigned preceptor, or ``"A|B"`` in order of first appearance when
        it varies), then the indices ``upc`` (only with an assigned column),
        ``mfpc``, ``coc``, ``hhi``, ``mmci``, ``secon``, ``entropy``,
        ``entropy_norm``, and ``notes`` (why an index is undefined or how it
        was computed; empty when there is nothing to say).
    report : pandas.DataFrame
        Every problem found and what was done about it: ``row`` (as in the
        file: the header is row 1; for a DataFrame, the 1-based position),
        ``learner``, ``faculty``, ``column``, ``value``, ``problem``,
        ``severity``, ``message``, ``action``. Lines without a row (``row``
        empty) are counts for the whole file, e.g. sessions outside the window.
    side : {"learner", "faculty"}
    window : str or None
        The window specification used.
    id_column : str
        Name of the first column of ``indices``.
    path : str
        The schedule file, or ``<data frame>``.
    n_rows : int
        Rows read (blank lines excluded).
    n_sessions : int
        Sessions counted in the indices.
    notes : list of str
        Decisions that apply to the whole computation.
    """

    indices: pd.DataFrame
    report: pd.DataFrame
    side: str = "learner"
    window: str | None = None
    id_column: str = "learner"
    path: str = "<data frame>"
    n_rows: int = 0
    n_sessions: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def index_columns(self) -> list[str]:
        """The index columns present (``upc`` only when an assigned column was given)."""
        return [c for c in INDEX_COLUMNS if c in self.indices.columns]

    def to_frame(self) -> pd.DataFrame:
        """The indices, one row per learner (per window)."""
        return self.indices.copy()

    def describe(self) -> pd.DataFrame:
        """n (defined values), mean, SD, min, median and max of each index."""
        frame = self.indices[["n_sessions", *self.index_columns]].astype(float)
        return pd.DataFrame(
            {
                "n": frame.notna().sum(),
                "mean": frame.mean(),
                "sd": frame.std(ddof=1),
                "min": frame.min(),
                "median": frame.median(),
                "max": frame.max(),
            }
        )

    def counts(self) -> pd.DataFrame:
        """Number of report lines per problem kind and action."""
        if self.report.empty:
            return pd.DataFrame(columns=["problem", "severity", "action", "n"])
        grouped = self.report.groupby(["problem", "severity", "action"], sort=False, dropna=False).size()
        return grouped.rename("n").reset_index()

    def to_dict(self, per_row: bool = True) -> dict[str, Any]:
        """Plain, JSON-safe values (NaN becomes ``None``, dates ISO text)."""
        described = self.describe()
        out: dict[str, Any] = {
            "file": self.path,
            "side": self.side,
            "window": self.window,
            "id_column": self.id_column,
            "n_rows": self.n_rows,
            "n_sessions": self.n_sessions,
            "n_ids": int(self.indices[self.id_column].nunique()) if len(self.indices) else 0,
            "n_rows_out": len(self.indices),
            "describe": {
                name: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for name, row in described.iterrows()
            },
            "report": {
                "counts": {
                    f"{r.problem} ({r.action})": int(r.n) for r in self.counts().itertuples(index=False)
                }
            },
            "notes": list(self.notes),
        }
        if per_row:
            out["indices"] = json.loads(
                _json_ready(self.indices).to_json(orient="records", force_ascii=False)
            )
        return out

    def summary(self, max_lines: int = 10) -> str:
        """A readable account for the terminal: sizes, the indices' distribution, the report."""
        who = "learners" if self.side == "learner" else "faculty members"
        n_ids = self.indices[self.id_column].nunique() if len(self.indices) else 0
        head = f"{printable(self.path)}: {self.n_sessions:,} sessions of {n_ids:,} {who} ({self.side} side"
        if self.window is not None:
            n_windows = self.indices["window"].nunique() if len(self.indices) else 0
            head += f"; window {self.window}: {n_windows} {'window' if n_windows == 1 else 'windows'}"
        lines = [head + f"; {len(self.indices):,} rows)"]
        if len(self.indices):
            described = self.describe()
            lines.append(
                f"  {'index':<13} {'n':>8} {'mean':>7} {'sd':>7} {'min':>7} {'median':>7} {'max':>7}"
            )
            for name, row in described.iterrows():
                lines.append(
                    f"  {name:<13} {int(row['n']):>8} {row['mean']:>7.3f} {row['sd']:>7.3f} "
                    f"{row['min']:>7.3f} {row['median']:>7.3f} {row['max']:>7.3f}"
                )
        if not self.report.empty:
            lines.append("  report:")
            for r in self.counts().itertuples(index=False):
                lines.append(f"    {r.n:>7}  {r.problem} ({r.severity}): {r.action}")
            whole_file = self.report[self.report["row"].isna()]
            located = self.report[self.report["row"].notna()].head(max_lines)
            lines.extend("  " + _report_line(r) for r in whole_file.itertuples())
            lines.extend("  " + _report_line(r) for r in located.itertuples())
            more = int(self.report["row"].notna().sum()) - len(located)
            if more > 0:
                lines.append(f"    ... and {more} more lines (write them with write_report)")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the indices by extension: .csv, .tsv, .parquet, .json, .jsonl (or .sav).

        Atomically; an existing file is replaced only with ``overwrite=True``.

        Dates are written as ``YYYY-MM-DD`` (with the time of day only when
        there is one); the id column comes first.
        """
        suffix = Path(path).suffix.lower()
        frame = _json_ready(self.indices) if suffix in (".json", ".jsonl", ".ndjson") else self.indices
        return write_table(frame, path, overwrite=overwrite)

    def write_report(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report (every problem and decision) by extension (atomically, as :meth:`write`)."""
        return write_table(self.report, path, overwrite=overwrite)


def _report_line(r: Any) -> str:
    where = f"row {int(r.row)}" if pd.notna(r.row) else "file"
    col = f" {printable(r.column)}" if isinstance(r.column, str) and r.column else ""
    return f"  {where}{col}: {printable(r.message)} -> {printable(r.action)}"


def _json_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO text (``to_json`` would write epoch milliseconds)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            values = out[column]
            midnight = (values.dropna() == values.dropna().dt.normalize()).all()
            text = values.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
            out[column] = text.astype(object).where(values.notna(), None)
    return out


# --------------------------------------------------------------------------- the vectorized core


def indices_from_codes(
    group: np.ndarray,
    partner: np.ndarray,
    *,
    n_groups: int | None = None,
    assigned_match: np.ndarray | None = None,
    assigned_known: np.ndarray | None = None,
) -> pd.DataFrame:
    """Continuity indices of integer-coded sessions: the vectorized core.

    Parameters
    ----------
    group : numpy.ndarray of int
        Group (learner, or learner-window) of each session, ``0 .. n_groups - 1``,
        **sorted**: the sessions of a group are contiguous and in time order
        (that order defines ``secon``).
    partner : numpy.ndarray of int
        The faculty member of each session (on the faculty side: the
        learner), any non-negative codes.
    n_groups : int, optional
        Number of groups (default ``group.max() + 1``); groups without
        sessions get ``n_sessions`` 0 and undefined indices.
    assigned_match : numpy.ndarray of bool, optional
        Whether each session is with the assigned preceptor. Gives ``upc``.
    assigned_known : numpy.ndarray of bool, optional
        Whether the assigned preceptor of each session is known (default all);
        sessions where it is not are left out of ``upc``'s denominator.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``n_sessions``, ``n_partners``, ``n_assigned_known``
        and ``upc`` (with ``assigned_match``), ``mfpc``, ``coc``, ``hhi``,
        ``mmci``, ``secon``, ``entropy``, ``entropy_norm``. ``coc`` is NaN
        below 2 sessions, ``secon`` too (no consecutive pair); everything is
        NaN for a group without sessions.

    Examples
    --------
    >>> import numpy as np
    >>> out = indices_from_codes(np.array([0, 0, 0, 0, 0, 1]), np.array([0, 0, 1, 0, 2, 3]))
    >>> out[["n_sessions", "n_partners", "mfpc", "coc", "secon"]].round(3)
       n_sessions  n_partners  mfpc  coc  secon
    0           5           3   0.6  0.3   0.25
    1           1           1   1.0  NaN    NaN
    """
    group = np.asarray(group, dtype=np.int64)
    partner = np.asarray(partner, dtype=np.int64)
    if group.shape != partner.shape or group.ndim != 1:
        raise ValueError("group and partner must be 1-d arrays of the same length")
    if len(group) and (np.any(group[1:] < group[:-1]) or group[0] < 0 or partner.min() < 0):
        raise ValueError("group must be sorted (each group's sessions contiguous) and codes non-negative")
    n_groups = int(group[-1]) + 1 if n_groups is None and len(group) else int(n_groups or 0)
    n = np.bincount(group, minlength=n_groups).astype(float)
    width = int(partner.max()) + 1 if len(partner) else 1
    # Sessions are sorted by group, so a stable sort of the pair key only sorts within groups (fast).
    key = np.sort(group * width + partner, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(key)]).astype(float)
    pair_group = key[starts] // width
    m = np.bincount(pair_group, minlength=n_groups)
    sum_sq = np.bincount(pair_group, weights=counts * counts, minlength=n_groups)
    max_count = np.zeros(n_groups)
    if len(counts):
        first_pair = np.flatnonzero(np.r_[True, pair_group[1:] != pair_group[:-1]])
        max_count[pair_group[first_pair]] = np.maximum.reduceat(counts, first_pair)
    share = counts / n[pair_group]
    entropy = np.bincount(pair_group, weights=-share * np.log(share), minlength=n_groups)
    same = (group[1:] == group[:-1]) & (partner[1:] == partner[:-1])
    consecutive_same = np.bincount(group[1:][same], minlength=n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, np.ndarray] = {"n_sessions": n.astype(np.int64), "n_partners": m}
        if assigned_match is not None:
            known = np.ones(len(group), bool) if assigned_known is None else np.asarray(assigned_known, bool)
            matched = np.asarray(assigned_match, bool) & known
            n_known = np.bincount(group, weights=known, minlength=n_groups)
            out["n_assigned_known"] = n_known.astype(np.int64)
            out["upc"] = np.bincount(group, weights=matched, minlength=n_groups) / n_known
        out["mfpc"] = max_count / n
        out["coc"] = np.where(n >= 2, (sum_sq - n) / (n * (n - 1)), np.nan)
        out["hhi"] = sum_sq / (n * n)
        out["mmci"] = np.where(n >= 1, (1 - m / (n + 0.1)) / (1 - 1 / (n + 0.1)), np.nan)
        out["secon"] = np.where(n >= 2, consecutive_same / (n - 1), np.nan)
        entropy = np.where(n >= 1, entropy, np.nan)
        out["entropy"] = entropy
        out["entropy_norm"] = np.where(
            m > 1, entropy / np.log(np.maximum(m, 2)), np.where(n >= 1, 0.0, np.nan)
        )
    return pd.DataFrame(out)


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
    table = _read_file(path, display, sheet)
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


# --------------------------------------------------------------------------- the computation


def continuity_indices(
    schedule: pd.DataFrame | str | Path,
    *,
    learner_column: str = "learner",
    faculty_column: str = "faculty",
    time_column: str = "date",
    assigned_column: str | None = None,
    setting_column: str | None = None,
    setting: str | Sequence[str] | None = None,
    window: str | None = None,
    side: str = "learner",
    invalid: str = "error",
    dedupe: bool = False,
    date_format: str | None = None,
    sheet: str | int | None = None,
) -> ContinuityResult:
    """Continuity indices per learner (or faculty member) and window, from a schedule.

    Parameters
    ----------
    schedule : pandas.DataFrame, str or pathlib.Path
        One row per learner-faculty contact (a clinic session, a shift, a
        half-day). A path is read by extension: CSV/TSV, Excel, Parquet,
        SPSS/Stata, JSON lines or JSON; the file is never modified.
    learner_column, faculty_column, time_column : str
        Who, with whom, when. Times are dates or date-times: ISO 8601 text
        (``2025-07-16``, ``2025-07-16 13:00``), ``date_format`` for other text,
        or datetime values. The time orders sessions for ``secon``; sessions of
        a learner at the same time keep their order in the input.
    assigned_column : str, optional
        The learner's assigned (designated) preceptor at each session. Gives
        ``upc``; compared session by session, so an assignment that changes
        during a window is handled (and noted). A session with no assigned
        preceptor recorded is reported and left out of ``upc``'s denominator.
    setting_column, setting : str, optional
        Keep only the sessions whose setting is ``setting`` (one value or a
        list; compared ignoring case and surrounding spaces). ``setting``
        without ``setting_column`` uses a column named ``setting``. How many
        sessions were left out, by setting, is a line of the report.
    window : str, optional
        ``None``: all sessions of a learner together. ``"academic-year"``:
        July 1 to June 30, labelled ``2025-26``. ``"block:N"``: consecutive
        N-week blocks, the first starting on the date of the earliest session
        in the (filtered) schedule, so every learner's block k covers the same
        days; ``"block:N@YYYY-MM-DD"`` starts them on that date instead.
        ``"YYYY-MM-DD..YYYY-MM-DD"``: only sessions on those days (inclusive).
        A learner has no row for a window without sessions.
    side : {"learner", "faculty"}
        ``faculty``: the same indices from each faculty member's view (one
        row per faculty member; the partners are learners; ``upc`` is the
        share of the faculty member's sessions with learners assigned to them).
    invalid : {"error", "drop"}
        A row with an empty learner or faculty id or a missing or unparseable
        time: ``error`` (default) stops with the full list
        (:class:`ContinuityError`); ``drop`` leaves those rows out, each one a
        line of the report.
    dedupe : bool
        Rows with the same learner, faculty member and time are reported as
        ``duplicate_row`` (a repeated export line, most likely) and kept by
        default; ``dedupe=True`` keeps only the first of them.
    date_format : str, optional
        ``strftime`` format of text times that are not ISO 8601, e.g. ``"%m/%d/%Y"``.
    sheet : str or int, optional
        The Excel sheet (default the first).

    Returns
    -------
    ContinuityResult

    Raises
    ------
    SdtSurveyError
        A missing column (with a did-you-mean), an unknown option, or an
        unreadable file.
    ContinuityError
        Invalid rows with ``invalid="error"``; ``.report`` lists each one.

    Examples
    --------
    >>> import pandas as pd
    >>> schedule = pd.DataFrame(
    ...     {
    ...         "resident": ["R1", "R1", "R1", "R1", "R1", "R2", "R2", "R2"],
    ...         "preceptor": ["A", "A", "B", "A", "C", "A", "B", "B"],
    ...         "session_date": ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22",
    ...                          "2026-07-06", "2025-07-02", "2025-07-09", "2025-07-16"],
    ...         "assigned": ["A", "A", "A", "A", "C", "B", "B", "B"],
    ...     }
    ... )
    >>> result = continuity_indices(
    ...     schedule, learner_column="resident", faculty_column="preceptor",
    ...     time_column="session_date", assigned_column="assigned", window="academic-year",
    ... )
    >>> result.indices[["resident", "window", "n_sessions", "upc", "coc", "secon"]].round(3)
      resident   window  n_sessions    upc    coc  secon
    0       R1  2025-26           4  0.750  0.500  0.333
    1       R1  2026-27           1  1.000    NaN    NaN
    2       R2  2025-26           3  0.667  0.333  0.500
    >>> result.indices.loc[1, "notes"]
    'coc and secon undefined: fewer than 2 sessions'
    >>> by_faculty = continuity_indices(
    ...     schedule, learner_column="resident", faculty_column="preceptor",
    ...     time_column="session_date", side="faculty",
    ... )
    >>> by_faculty.indices[["preceptor", "n_sessions", "n_learners", "mfpc"]].round(3)
      preceptor  n_sessions  n_learners   mfpc
    0         A           4           2  0.750
    1         B           3           2  0.667
    2         C           1           1  1.000
    """
    _check_choice("side", side, SIDES)
    _check_choice("invalid", invalid, INVALID_POLICIES)
    window_kind, window_arg = _parse_window(window)
    if setting is not None and setting_column is None:
        setting_column = "setting"
    frame, rows, path, blank_rows = _read_schedule(schedule, sheet)

    roles = [
        ("learner", "learner_column", learner_column),
        ("faculty", "faculty_column", faculty_column),
        ("time", "time_column", time_column),
    ]
    if assigned_column is not None:
        roles.append(("assigned", "assigned_column", assigned_column))
    if setting_column is not None:
        roles.append(("setting", "setting_column", setting_column))
    columns = [str(c) for c in frame.columns]
    if len({name for _, _, name in roles}) < len(roles):
        raise SdtSurveyError(
            "each role needs its own column: " + ", ".join(f"{option}={name!r}" for _, option, name in roles)
        )
    absent = [
        _missing_column_message(path, role, option, name, columns)
        for role, option, name in roles
        if name not in columns
    ]
    if absent:
        raise SdtSurveyError("\n".join(absent))
    if len(frame) == 0:
        raise SdtSurveyError(f"{path}: the schedule has no rows")
    n_rows = len(frame)
    notes: list[str] = []

    learner = _factorize_ids(frame[learner_column])
    faculty = _factorize_ids(frame[faculty_column])
    report = _Report(rows, learner, faculty)
    for row in blank_rows:
        report.chunks.append(
            pd.DataFrame(
                [
                    {
                        **dict.fromkeys(REPORT_COLUMNS),
                        "row": row,
                        "problem": "blank_line",
                        "severity": "info",
                        "message": "the row is entirely empty",
                        "action": "skipped",
                    }
                ]
            )
        )
    keep = np.ones(n_rows, dtype=bool)

    # Setting filter first: rows of other settings are not used, so not checked either.
    if setting_column is not None and setting is not None:
        wanted = [setting] if isinstance(setting, str) else list(setting)
        wanted_keys = {str(s).strip().casefold() for s in wanted}
        setting_codes = _factorize_ids(frame[setting_column])
        label_keys = np.array([str(v).strip().casefold() for v in setting_codes.labels], dtype=object)
        matching = np.isin(label_keys, list(wanted_keys))
        if not matching.any():
            present = list(setting_codes.labels)
            close = [
                m for s in wanted for m in difflib.get_close_matches(str(s), [str(p) for p in present], n=1)
            ]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SdtSurveyError(
                f"{path}: no session has {setting_column} {', '.join(map(repr, wanted))}{hint} "
                f"(values: {', '.join(map(repr, present[:12]))}{', ...' if len(present) > 12 else ''})"
            )
        in_setting = np.r_[matching, False][setting_codes.codes]
        if (~in_setting).any():
            left_out = pd.Series(
                np.where(
                    setting_codes.codes[~in_setting] >= 0,
                    setting_codes.labels[np.maximum(setting_codes.codes[~in_setting], 0)],
                    "(empty)",
                )
            ).value_counts()
            listed = ", ".join(f"{k}: {v}" for k, v in left_out.head(10).items())
            report.add_file(
                "outside_setting",
                f"{int((~in_setting).sum())} sessions in other settings ({listed}"
                f"{', ...' if len(left_out) > 10 else ''}); only {', '.join(map(repr, wanted))} counted",
                "not counted",
                column=setting_column,
            )
        keep &= in_setting

    times, time_missing, time_invalid = _parse_times(frame[time_column], date_format)
    action_invalid = "row dropped (invalid='drop')" if invalid == "drop" else "blocked: no indices computed"
    bad = np.zeros(n_rows, dtype=bool)
    for codes, column, role in ((learner, learner_column, "learner"), (faculty, faculty_column, "faculty")):
        where = np.flatnonzero(keep & (codes.codes < 0))
        report.add(
            where,
            column,
            _cell_text(frame[column], where),
            "missing_id",
            f"the {role} id is empty",
            action_invalid,
        )
        bad[where] = True
    where = np.flatnonzero(keep & time_missing)
    report.add(
        where, time_column, np.full(len(where), ""), "missing_date", "the time is empty", action_invalid
    )
    bad[where] = True
    where = np.flatnonzero(keep & time_invalid)
    cells = _cell_text(frame[time_column], where)
    expected = f"the format {date_format!r}" if date_format else "YYYY-MM-DD, or pass date_format"
    report.add(
        where,
        time_column,
        cells,
        "invalid_date",
        [f"{c!r} is not a date ({expected})" for c in cells],
        action_invalid,
    )
    bad[where] = True
    if bad.any() and invalid == "error":
        raise ContinuityError(path, report.frame())
    keep &= ~bad

    # Window: a code per session (dense from 0 in time order), its label, first and last day.
    days = times.astype("datetime64[D]")
    window_labels: list[str] = []
    window_bounds: list[tuple[np.datetime64, np.datetime64]] = []
    window_code = np.zeros(n_rows, dtype=np.int64)
    if window_kind == "range":
        start, end = (np.datetime64(d, "D") for d in window_arg)
        inside = (days >= start) & (days <= end)
        outside = keep & ~inside
        if outside.any():
            report.add_file(
                "outside_window",
                f"{int(outside.sum())} sessions outside {window} (from {days[outside].min()!s} "
                f"to {days[outside].max()!s})",
                "not counted",
                column=time_column,
            )
        keep &= inside
        window_labels, window_bounds = [window.strip()], [(start, end)]
    elif window_kind in ("academic-year", "block") and keep.any():
        if window_kind == "academic-year":
            raw = _academic_year(days, keep)
            low, high = int(raw[keep].min()), int(raw[keep].max())
            for y in range(low, high + 1):
                window_labels.append(f"{y}-{(y + 1) % 100:02d}")
                window_bounds.append((np.datetime64(f"{y}-07-01"), np.datetime64(f"{y + 1}-06-30")))
        else:
            weeks, anchor = window_arg
            anchor_day = np.datetime64(anchor, "D") if anchor is not None else days[keep].min()
            if anchor is None:
                notes.append(f"blocks of {weeks} weeks start on {anchor_day}, the earliest session")
            length = 7 * weeks
            raw = (days - anchor_day).astype(np.int64) // length
            low, high = int(raw[keep].min()), int(raw[keep].max())
            for b in range(low, high + 1):
                first_day = anchor_day + np.timedelta64(b * length, "D")
                last_day = first_day + np.timedelta64(length - 1, "D")
                window_labels.append(f"{first_day}..{last_day}")
                window_bounds.append((first_day, last_day))
        window_code = np.where(keep, raw - low, 0)
    n_windows = max(len(window_labels), 1)

    # Assigned preceptor: per session, on the faculty code scale.
    if assigned_column is not None:
        assigned = _factorize_ids(frame[assigned_column])
        to_faculty = (
            pd.Index(faculty.labels).get_indexer(assigned.labels)
            if len(assigned.labels)
            else np.zeros(0, np.int64)
        )
        assigned_as_faculty = np.r_[to_faculty, -1][assigned.codes]
        known = assigned.codes >= 0
        match = known & (assigned_as_faculty == faculty.codes) & (faculty.codes >= 0)
        where = np.flatnonzero(keep & ~known)
        report.add(
            where,
            assigned_column,
            np.full(len(where), ""),
            "missing_assigned",
            "no assigned preceptor recorded for this session",
            "kept; left out of upc",
        )

    # Sort: by unit (learner, or faculty member), window, time; ties keep the input order.
    unit, partner = (learner, faculty) if side == "learner" else (faculty, learner)
    used = np.flatnonzero(keep)
    del keep, bad, time_missing, time_invalid, days
    group_raw = unit.codes[used] * n_windows + window_code[used]
    t_sorted = times[used].view(np.int64)
    if len(used) > 1 and not np.all(
        (group_raw[1:] > group_raw[:-1])
        | ((group_raw[1:] == group_raw[:-1]) & (t_sorted[1:] >= t_sorted[:-1]))
    ):
        # One stable sort of (group, rank of the time): ties in time keep the input order.
        t_codes, t_uniques = pd.factorize(t_sorted)
        t_rank = np.empty(len(t_uniques), dtype=np.int64)
        t_rank[np.argsort(t_uniques, kind="stable")] = np.arange(len(t_uniques))
        order = np.argsort(group_raw * len(t_uniques) + t_rank[t_codes], kind="stable")
        del t_codes, t_rank
        used, group_raw, t_sorted = used[order], group_raw[order], t_sorted[order]
        del order
    del window_code

    # Duplicates: same learner, faculty and time. Only ties in time within a unit can be duplicates.
    if len(used) > 1:
        tie = (group_raw[1:] == group_raw[:-1]) & (t_sorted[1:] == t_sorted[:-1])
        candidate = np.r_[tie, False] | np.r_[False, tie]
        if candidate.any():
            positions = np.flatnonzero(candidate)
            rows_c = used[positions]
            keys = pd.DataFrame(
                {"l": learner.codes[rows_c], "f": faculty.codes[rows_c], "t": t_sorted[positions]}
            )
            repeated = keys.duplicated(keep="first").to_numpy()
            if repeated.any():
                first_row = (
                    pd.Series(rows[rows_c])
                    .groupby([keys["l"], keys["f"], keys["t"]])
                    .transform("first")
                    .to_numpy()
                )
                dup_rows = rows_c[repeated]
                report.add(
                    dup_rows,
                    None,
                    np.full(len(dup_rows), ""),
                    "duplicate_row",
                    [f"same learner, faculty and time as row {r}" for r in first_row[repeated]],
                    "dropped (dedupe=True)" if dedupe else "kept (dedupe=False)",
                )
                if dedupe:
                    drop = np.zeros(len(used), bool)
                    drop[positions[repeated]] = True
                    used, group_raw, t_sorted = used[~drop], group_raw[~drop], t_sorted[~drop]

    # Dense groups in sorted order; then the core.
    if len(used):
        new_group = np.r_[True, group_raw[1:] != group_raw[:-1]]
        group = np.cumsum(new_group) - 1
        firsts = np.flatnonzero(new_group)
    else:
        group = np.zeros(0, np.int64)
        firsts = np.zeros(0, np.int64)
    n_groups = len(firsts)
    lasts = np.r_[firsts[1:] - 1, len(used) - 1].astype(np.int64) if n_groups else firsts
    core = indices_from_codes(
        group,
        partner.codes[used],
        n_groups=n_groups,
        assigned_match=match[used] if assigned_column is not None else None,
        assigned_known=known[used] if assigned_column is not None else None,
    )
    del times

    id_column = learner_column if side == "learner" else faculty_column
    partner_count = "n_faculty" if side == "learner" else "n_learners"
    group_units = group_raw[firsts] // n_windows if n_groups else np.zeros(0, np.int64)
    out = pd.DataFrame({id_column: unit.labels[group_units] if n_groups else np.zeros(0, object)})
    if window_kind != "none":
        codes_w = group_raw[firsts] % n_windows if n_groups else np.zeros(0, np.int64)
        labels_arr = np.array(window_labels or [""], dtype=object)
        out["window"] = labels_arr[codes_w] if n_groups else np.zeros(0, object)
        bounds = np.array(
            window_bounds or [(np.datetime64("NaT"), np.datetime64("NaT"))], dtype="datetime64[D]"
        )
        out["window_start"] = (
            bounds[codes_w, 0].astype("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
        )
        out["window_end"] = (
            bounds[codes_w, 1].astype("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
        )
    first_t = t_sorted[firsts].view("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
    last_t = t_sorted[lasts].view("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
    out["n_sessions"] = core["n_sessions"].to_numpy()
    out[partner_count] = core["n_partners"].to_numpy()
    out["first"] = first_t
    out["last"] = last_t
    out["duration_days"] = (last_t.astype("datetime64[D]") - first_t.astype("datetime64[D]")).astype(np.int64)

    note_parts: list[tuple[np.ndarray, np.ndarray | str]] = []
    if assigned_column is not None:
        n_known = core["n_assigned_known"].to_numpy()
        if side == "learner":
            assigned_out, varies_count = _assigned_per_group(
                group, assigned.codes[used], known[used], assigned.labels, n_groups
            )
            out["assigned"] = assigned_out
            varies = varies_count > 1
            note_parts.append(
                (
                    varies,
                    "assigned preceptor varies ("
                    + pd.Series(varies_count).astype(str).to_numpy(dtype=object)
                    + "); upc compares each session with its own assigned preceptor",
                )
            )
        out["upc"] = core["upc"].to_numpy()
        n_sessions = core["n_sessions"].to_numpy()
        note_parts.append((n_known == 0, "upc undefined: no assigned preceptor recorded"))
        partial = (n_known > 0) & (n_known < n_sessions)
        note_parts.append(
            (
                partial,
                "upc over the "
                + pd.Series(n_known).astype(str).to_numpy(dtype=object)
                + " sessions with an assigned preceptor recorded",
            )
        )
    for name in ("mfpc", "coc", "hhi", "mmci", "secon", "entropy", "entropy_norm"):
        out[name] = core[name].to_numpy()
    note_parts.insert(
        0, (core["n_sessions"].to_numpy() < 2, "coc and secon undefined: fewer than 2 sessions")
    )
    out["notes"] = _join_notes(note_parts, n_groups)

    if assigned_column is None:
        notes.append("no assigned column: upc not computed (assigned_column names it)")
    if len(used) == 0:
        notes.append("no sessions left to compute indices from")
    notes.append(
        "secon orders each "
        + ("learner's" if side == "learner" else "faculty member's")
        + " sessions by time; sessions at the same time keep their order in the input"
    )
    return ContinuityResult(
        indices=out,
        report=report.frame(),
        side=side,
        window=window,
        id_column=id_column,
        path=path,
        n_rows=n_rows,
        n_sessions=len(used),
        notes=notes,
    )


def _academic_year(days: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The academic year (July-June, by its first calendar year) of each day.

    Computed once per day of the span covered and looked up (calendar
    arithmetic per session would be slow); days outside ``keep`` get any value.
    """
    number = days.view(np.int64)
    low = int(number[keep].min())
    span = np.arange(low, int(number[keep].max()) + 1).astype("datetime64[D]")
    year = span.astype("datetime64[Y]").astype(np.int64) + 1970
    month = span.astype("datetime64[M]").astype(np.int64) % 12 + 1
    table = year - (month < 7)
    return table[np.clip(number - low, 0, len(table) - 1)]


def _assigned_per_group(
    group: np.ndarray, codes: np.ndarray, known: np.ndarray, labels: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """The assigned preceptor of each group ("A|B" in order of first appearance when it varies)."""
    out = np.full(n_groups, None, dtype=object)
    distinct = np.zeros(n_groups, dtype=np.int64)
    g, c = group[known], codes[known]
    if not len(g):
        return out, distinct
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[g[starts]] = labels[c[starts]]
    change = (g[1:] == g[:-1]) & (c[1:] != c[:-1])
    distinct[g[starts]] = 1
    varying = np.unique(g[1:][change])
    if len(varying):
        subset = np.isin(g, varying)
        pairs = pd.DataFrame({"g": g[subset], "label": labels[c[subset]]}).drop_duplicates()
        joined = pairs.groupby("g", sort=True)["label"].agg("|".join)
        out[joined.index.to_numpy()] = joined.to_numpy()
        distinct[joined.index.to_numpy()] = pairs.groupby("g", sort=True).size().to_numpy()
    return out, distinct


def _join_notes(parts: list[tuple[np.ndarray, np.ndarray | str]], n: int) -> np.ndarray:
    notes = np.full(n, "", dtype=object)
    for mask, text in parts:
        where = np.flatnonzero(mask)
        if not len(where):
            continue
        piece = text[where] if isinstance(text, np.ndarray) else np.full(len(where), text, dtype=object)
        current = notes[where]
        notes[where] = np.where(current == "", piece, current + "; " + piece)
    return notes


# --------------------------------------------------------------------------- self-reported exposure

#: Items of the ``continuity-exposure`` instrument used as self-reported exposure.
EXPOSURE_ITEMS = (
    "has_usual_preceptor",
    "clinic_halfdays_4wk",
    "halfdays_with_preceptor",
    "coach_meetings_year",
    "longitudinal_team",
)
_ID_GUESSES = ("resident", "learner", "record_id", "respondent", "respondent_id", "id")


def self_reported_exposure(
    scored: ScoredResponses | pd.DataFrame, *, id_column: str | None = None
) -> pd.DataFrame:
    """Self-reported continuity from the ``continuity-exposure`` instrument, as an exposure.

    Parameters
    ----------
    scored : ScoredResponses or pandas.DataFrame
        Scores of a survey that includes ``continuity-exposure`` (the item
        values are taken from ``scored.items``), or a DataFrame with the item
        columns named by item id or ``item_<id>`` (``score(...,
        include_items=True)`` writes those).
    id_column : str, optional
        The respondent id column (default: the scored output's id column; for
        a DataFrame, the first of ``resident``, ``learner``, ``record_id``,
        ``respondent``, ``id`` present).

    Returns
    -------
    pandas.DataFrame
        One row per response, in the input's order, with the columns (those
        available): the id column, ``wave``, ``row`` (in the response file),
        ``has_usual_preceptor`` (1/0), ``clinic_halfdays_4wk``,
        ``halfdays_with_preceptor``, ``upc_self``
        (``halfdays_with_preceptor / clinic_halfdays_4wk``: a self-reported
        UPC over the 4 weeks before the survey), ``perceived_continuity`` (the
        subscale score), ``coach_meetings_year``, ``longitudinal_team`` and
        ``exposure_note`` (why ``upc_self`` is missing: not answered, no
        half-days, no usual preceptor, or more half-days with the preceptor
        than in total). ``upc_self`` is missing, not 0, for a resident who
        reports no usual preceptor (the item was not asked); recode with
        ``upc_self.where(has_usual_preceptor != 0, 0)`` if that is the
        analysis wanted.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"resident": ["R1", "R2", "R3"], "has_usual_preceptor": [1, 0, 1],
    ...                       "clinic_halfdays_4wk": [8, 6, 0], "halfdays_with_preceptor": [6, None, None]})
    >>> exposure = self_reported_exposure(frame)
    >>> exposure["upc_self"].tolist()
    [0.75, nan, nan]
    >>> exposure["exposure_note"].tolist()[1:]
    ['no usual preceptor (halfdays_with_preceptor not asked)', 'no clinic half-days in the last 4 weeks']
    """
    if isinstance(scored, ScoredResponses):
        base = scored.scores.reset_index(drop=True)
        items = scored.items.reset_index(drop=True)
        id_column = id_column or scored.id_column

        def item(name: str) -> pd.Series | None:
            if name in items.columns:
                return items[name]
            return base[f"item_{name}"] if f"item_{name}" in base.columns else None

    elif isinstance(scored, pd.DataFrame):
        base = scored.reset_index(drop=True)
        if id_column is None:
            id_column = next((c for c in _ID_GUESSES if c in base.columns), None)

        def item(name: str) -> pd.Series | None:
            for column in (name, f"item_{name}"):
                if column in base.columns:
                    return base[column]
            return None

    else:
        raise SdtSurveyError(
            f"self_reported_exposure needs scored responses or a DataFrame, got {type(scored).__name__}"
        )
    if id_column is not None and id_column not in base.columns:
        raise SdtSurveyError(
            _missing_column_message("scored responses", "id", "id_column", id_column, base.columns)
        )
    needed = [n for n in ("clinic_halfdays_4wk", "halfdays_with_preceptor") if item(n) is None]
    if needed:
        raise SdtSurveyError(
            f"no column {' or '.join(map(repr, needed))}: self-reported exposure needs the "
            "continuity-exposure instrument's items (score with continuity-exposure; for a DataFrame, "
            "include_items=True)"
        )

    def numeric(name: str) -> pd.Series | None:
        values = item(name)
        return None if values is None else pd.to_numeric(values, errors="coerce").astype(float)

    out = pd.DataFrame(index=base.index)
    if id_column is not None:
        out[id_column] = base[id_column]
    wave = next((c for c in WAVE_COLUMNS if c in base.columns), None)
    if wave is not None:
        out["wave"] = base[wave]
    if "row" in base.columns:
        out["row"] = base["row"]
    usual = numeric("has_usual_preceptor")
    total = numeric("clinic_halfdays_4wk")
    with_preceptor = numeric("halfdays_with_preceptor")
    if usual is not None:
        out["has_usual_preceptor"] = usual
    out["clinic_halfdays_4wk"] = total
    out["halfdays_with_preceptor"] = with_preceptor
    no_usual = (usual == 0).to_numpy() if usual is not None else np.zeros(len(base), bool)
    conditions = [
        (total.isna().to_numpy(), "clinic_halfdays_4wk not answered"),
        ((total == 0).to_numpy(), "no clinic half-days in the last 4 weeks"),
        (no_usual, "no usual preceptor (halfdays_with_preceptor not asked)"),
        (with_preceptor.isna().to_numpy(), "halfdays_with_preceptor not answered"),
        ((with_preceptor > total).to_numpy(), "halfdays_with_preceptor exceeds clinic_halfdays_4wk"),
    ]
    note = np.full(len(base), "", dtype=object)
    undefined = np.zeros(len(base), bool)
    for mask, text in conditions:
        fresh = mask & ~undefined
        note[fresh] = text
        undefined |= mask
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (with_preceptor / total).to_numpy()
    out["upc_self"] = np.where(undefined, np.nan, ratio)
    if "perceived_continuity" in base.columns:
        out["perceived_continuity"] = base["perceived_continuity"]
    for name in ("coach_meetings_year", "longitudinal_team"):
        values = numeric(name)
        if values is not None:
            out[name] = values
    out["exposure_note"] = note
    return out


__all__ = [
    "ContinuityError",
    "ContinuityResult",
    "continuity_indices",
    "indices_from_codes",
    "self_reported_exposure",
]
