"""The data-quality report: every decision made about the data, one line per problem."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .._terminal import printable
from ..errors import SdtSurveyError
from ..results import Result
from .issue_lines import PendingTable
from .model import ISSUE_COLUMNS


@dataclass
class DataQualityReport(Result):
    """Every decision made about the data, one line per problem.

    ``issues`` has the columns ``row`` (as in the file), ``respondent``,
    ``column`` (as in the file), ``item``, ``value`` (as in the file),
    ``problem`` (a code such as ``out_of_range``), ``severity``
    (``error``/``warning``/``info``), ``message`` and ``action`` (what was done).
    """

    issues: pd.DataFrame
    path: str = "<data frame>"
    n_records: int = 0
    invalid: str = "error"
    source: str = "plain"
    detection: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Decisions taken about whole records, in words, by what they decide (e.g. ``qualtrics_status``).
    decisions: dict[str, str] = field(default_factory=dict)
    #: The count of every kind of line when :attr:`issues` holds only some of them (the streaming intake
    #: keeps the lines :meth:`summary` shows and writes the rest as it goes); None: ``issues`` is whole.
    line_counts: pd.DataFrame | None = None

    #: :meth:`~sdt_survey.results.Result.write` by suffix: ``.csv`` the lines, ``.json`` everything
    #: (:meth:`to_dict` as it is), ``.txt`` and ``.md`` the summary (the result contract).
    writers: ClassVar[dict[str, str]] = {
        ".json": "_json_text",
        ".csv": "_csv_text",
        ".txt": "summary",
        ".md": "summary",
    }

    def __getstate__(self) -> dict:
        # A copy or a pickle holds the table itself, never the thread building it.
        return {**self.__dict__, "issues": _issues(self)}

    def built(self) -> DataQualityReport:
        """This report once its table is built (waiting for it when it is built on another thread)."""
        _issues(self)
        return self

    def lines_of(self, problems: Collection[str]) -> pd.DataFrame:
        """The lines of ``problems`` in report order, indexed from 0 (a pending table is not waited for)."""
        pending = self.__dict__["issues"]
        if isinstance(pending, PendingTable):
            return pending.of(problems)
        return self.issues[self.issues["problem"].isin(list(problems))].reset_index(drop=True)

    def _kinds(self) -> frozenset[tuple[str, str]] | None:
        """Each ``(problem, severity)`` of a table still being built (None once it is built)."""
        pending = self.__dict__["issues"]
        return pending.kinds() if isinstance(pending, PendingTable) else None

    @property
    def errors(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "error"]

    @property
    def drift(self) -> pd.DataFrame:
        """The lines about drift: where the file differs from the definition (``drift_*`` problems)."""
        return self.issues[self.issues["problem"].astype(str).str.startswith("drift_")]

    @property
    def has_drift_errors(self) -> bool:
        """A stamp of another definition or a missing item column, not accepted with ``drift="warn"``."""
        kinds = self._kinds()
        if kinds is not None:
            return any(problem.startswith("drift_") and severity == "error" for problem, severity in kinds)
        return bool((self.drift["severity"] == "error").any())

    @property
    def has_blocking_errors(self) -> bool:
        """Errors stop scoring unless invalid cells are set to missing (``invalid="as-missing"``).

        Drift errors stop it whatever ``invalid`` says; ``drift="warn"`` accepts them.
        """
        kinds = self._kinds()
        has_errors = (
            any(severity == "error" for _, severity in kinds) if kinds is not None else not self.errors.empty
        )
        return (self.invalid == "error" and has_errors) or self.has_drift_errors

    def counts(self) -> pd.DataFrame:
        """Number of lines per problem kind."""
        if self.line_counts is not None:
            return self.line_counts
        if self.issues.empty:
            return pd.DataFrame(columns=["problem", "severity", "n"])
        grouped = self.issues.groupby(["problem", "severity"], sort=False).size()
        return grouped.rename("n").reset_index()

    def to_frame(self) -> pd.DataFrame:
        return self.issues.copy()

    def with_lines(self, lines: pd.DataFrame) -> DataQualityReport:
        """A copy with more lines (e.g. exclusions decided after validation)."""
        return dataclasses.replace(
            self, issues=pd.concat([self.issues, lines[ISSUE_COLUMNS]], ignore_index=True)
        )

    def to_dict(self) -> dict:
        return {
            "file": self.path,
            "source": self.source,
            "detection": self.detection,
            "n_records": self.n_records,
            "invalid": self.invalid,
            "decisions": dict(self.decisions),
            "counts": {row.problem: int(row.n) for row in self.counts().itertuples()},
            "drift": json.loads(self.drift.to_json(orient="records", force_ascii=False)),
            "issues": json.loads(self.issues.to_json(orient="records", force_ascii=False)),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def summary(self, max_lines: int = 20, *, verbose: bool = False, more: str | None = None) -> str:
        """A readable account for the terminal: the count of each kind of problem, then examples.

        Hundreds of lines of one kind (a required item left unanswered) would
        bury the rest, so by default errors are listed up to ``max_lines`` and
        every other kind by its first line only; ``verbose=True`` lists every
        line. ``more`` says where the whole list is (default: the Python way,
        ``report.to_frame()`` or ``report.write(FILE)``).
        """
        head = (
            f"{printable(self.path)}: {self.n_records} records read (source: {self.source}; {self.detection})"
        )
        head += "".join(f"\n  warning: {w}" for w in self.warnings)
        head += "".join(f"\n  note: {n}" for n in self.notes)
        head += "".join(f"\n  decision: {d}" for d in self.decision_lines())
        if self.issues.empty:
            return head + "\n  no problems found"
        lines = [head]
        if not self.drift.empty:
            lines.append("  drift (the file against the definition):")
            lines += [
                f"    {row.severity}: {printable(row.message)} -> {printable(row.action)}"
                for row in self.drift.itertuples()
            ]
        for row in self.counts().itertuples():
            lines.append(f"  {row.n:>6}  {row.problem} ({row.severity})")
        rank = self.issues["severity"].map({"error": 0, "warning": 1, "info": 2})
        ordered = self.issues.assign(_rank=rank).sort_values("_rank", kind="stable")
        if verbose:
            shown = ordered
        else:
            errors = ordered[ordered["severity"] == "error"].head(max_lines)
            others = ordered[ordered["severity"] != "error"].drop_duplicates("problem")
            shown = pd.concat([errors, others]).sort_values("_rank", kind="stable")
        lines.append("")
        for issue in shown.itertuples():
            lines.append(_issue_line(issue))
        total = len(self.issues) if self.line_counts is None else int(self.line_counts["n"].sum())
        if len(shown) < total:
            lines.append(
                f"  ... {total - len(shown)} more lines, listed "
                + (more or "by report.to_frame() or written by report.write(FILE)")
            )
        return "\n".join(lines)

    def decision_lines(self) -> list[str]:
        """Each recorded decision (e.g. about Qualtrics previews) in words, with its count of records."""
        return [f"{what}: {how}" for what, how in self.decisions.items()]

    def _json_text(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _issues(report: DataQualityReport) -> pd.DataFrame:
    value = report.__dict__["issues"]
    if isinstance(value, PendingTable):  # built on another thread: waited for once, then kept
        value = report.__dict__["issues"] = value.result()
    return value


def _set_issues(report: DataQualityReport, value: pd.DataFrame | PendingTable) -> None:
    report.__dict__["issues"] = value


# ``issues`` may be given as a PendingTable (validation builds the table while scoring goes on): the
# first read waits for it. Set after the class is made, so the dataclass keeps ``issues`` as its field.
DataQualityReport.issues = property(_issues, _set_issues)  # type: ignore[assignment]


def _issue_line(issue) -> str:
    where = f"row {issue.row}" if pd.notna(issue.row) else "file"
    # Ids, column names and messages quote the data: one line each, control characters escaped.
    who = (
        f" [{printable(issue.respondent)}]" if isinstance(issue.respondent, str) and issue.respondent else ""
    )
    col = f" {printable(issue.column)}" if isinstance(issue.column, str) and issue.column else ""
    return f"  {where}{who}{col}: {printable(issue.message)} -> {printable(issue.action)}"


class ResponseValidationError(SdtSurveyError):
    """The responses have errors; ``report`` lists every one of them."""

    def __init__(self, report: DataQualityReport):
        self.report = report
        n = len(report.errors)
        #: The first line; the message is it and the report's summary (by kind, with examples).
        self.headline = (
            f"{report.path}: {n} invalid {'cell' if n == 1 else 'cells'} or records; no scores written. "
            'Fix them, or set invalid cells to missing with invalid="as-missing".'
        )
        super().__init__(self.headline + "\n" + report.summary())


class DriftError(ResponseValidationError):
    """The file does not match the definition it is read against (``report.drift`` lists how)."""

    def __init__(self, report: DataQualityReport):
        self.report = report
        drift = report.drift[report.drift["severity"] == "error"]
        listed = "\n".join(f"  {printable(message)}" for message in drift["message"])
        self.headline = f"{report.path}: the file does not match the instrument it is read against (drift)"
        SdtSurveyError.__init__(
            self,
            f"{report.path}: the file does not match the instrument it is read against (drift); no scores "
            f"written:\n{listed}\nRead it against the definition it was collected with, map renamed "
            "columns (mapping=...), or accept the differences with drift='warn'.\n" + report.summary(),
        )
