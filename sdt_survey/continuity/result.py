"""What a continuity computation returns: :class:`ContinuityResult`."""

from __future__ import annotations

import json
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from .._terminal import printable
from ..errors import OutputError
from ..results import Result, jsonable
from ..scoring import write_table
from .indices import INDEX_COLUMNS
from .schedule import _report_line

# --------------------------------------------------------------------------- the result


@dataclass
class ContinuityResult(Result):
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
    warnings : tuple of str
        One line per kind of problem of severity ``error`` (rows dropped with
        ``invalid="drop"``) or ``warning`` in the report: how many, and what was done.
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

    #: Suffixes :meth:`write` understands: the indices as a table, or the summary as text.
    table_suffixes: ClassVar[tuple[str, ...]] = (
        ".csv",
        ".tsv",
        ".tab",
        ".parquet",
        ".json",
        ".jsonl",
        ".ndjson",
        ".sav",
    )

    @property
    def warnings(self) -> tuple[str, ...]:  # type: ignore[override]
        counts = self.counts()
        return tuple(
            f"{r.n} {r.problem} ({r.severity}): {r.action}"
            for r in counts.itertuples(index=False)
            if r.severity in ("error", "warning")
        )

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
        """Plain, JSON-safe values (through :func:`~sdt_survey.results.jsonable`; dates ISO text).

        ``per_row=False`` leaves out the indices themselves (one record per row).
        """
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
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
        if per_row:
            out["indices"] = json.loads(
                _json_ready(self.indices).to_json(orient="records", force_ascii=False)
            )
        return jsonable(out)

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

    file_is_table = True

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the indices by suffix: .csv, .tsv, .parquet, .json, .jsonl, .sav; .txt or .md the summary.

        The indices are a table, so ``.json`` holds its records (one per row),
        as the ``continuity --out`` command always wrote them, not :meth:`to_dict`.
        Atomically; an existing file is replaced only with ``overwrite=True``.

        Dates are written as ``YYYY-MM-DD`` (with the time of day only when
        there is one); the id column comes first.
        """
        suffix = Path(path).suffix.lower()
        if suffix in (".txt", ".md"):
            return super().write(path, overwrite=overwrite)
        if suffix not in self.table_suffixes:
            known = ", ".join((*self.table_suffixes, ".txt", ".md"))
            raise OutputError(
                f"{path}: unknown output type {suffix or '(none)'}: cannot tell the format from the suffix; "
                f"use one of {known}"
            )
        frame = _json_ready(self.indices) if suffix in (".json", ".jsonl", ".ndjson") else self.indices
        return write_table(frame, path, overwrite=overwrite)

    def write_report(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Deprecated: write the report table with :func:`sdt_survey.scoring.write_table` (``result.report``).

        Writes the report (every problem and decision) by extension, atomically.
        """
        _warnings.warn(
            "ContinuityResult.write_report is deprecated; use "
            "sdt_survey.scoring.write_table(result.report, path)",
            DeprecationWarning,
            stacklevel=2,
        )
        return write_table(self.report, path, overwrite=overwrite)


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
