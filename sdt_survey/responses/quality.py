"""The data-quality report: every decision made about the data, one line per problem."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from .._terminal import printable
from ..errors import SdtSurveyError
from ..results import Result
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

    #: :meth:`~sdt_survey.results.Result.write` by suffix: ``.csv`` the lines, ``.json`` everything
    #: (:meth:`to_dict` as it is), ``.txt`` and ``.md`` the summary (the result contract).
    writers: ClassVar[dict[str, str]] = {
        ".json": "_json_text",
        ".csv": "_csv_text",
        ".txt": "summary",
        ".md": "summary",
    }

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
        return bool((self.drift["severity"] == "error").any())

    @property
    def has_blocking_errors(self) -> bool:
        """Errors stop scoring unless invalid cells are set to missing (``invalid="as-missing"``).

        Drift errors stop it whatever ``invalid`` says; ``drift="warn"`` accepts them.
        """
        return (self.invalid == "error" and not self.errors.empty) or self.has_drift_errors

    def counts(self) -> pd.DataFrame:
        """Number of lines per problem kind."""
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
            "counts": {row.problem: int(row.n) for row in self.counts().itertuples()},
            "drift": json.loads(self.drift.to_json(orient="records", force_ascii=False)),
            "issues": json.loads(self.issues.to_json(orient="records", force_ascii=False)),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    def summary(self, max_lines: int = 20) -> str:
        """A readable account for the terminal: counts, then the first lines."""
        head = (
            f"{printable(self.path)}: {self.n_records} records read (source: {self.source}; {self.detection})"
        )
        head += "".join(f"\n  warning: {w}" for w in self.warnings)
        head += "".join(f"\n  note: {n}" for n in self.notes)
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
        shown = self.issues.assign(_rank=rank).sort_values("_rank", kind="stable").head(max_lines)
        lines.append("")
        for issue in shown.itertuples():
            where = f"row {issue.row}" if pd.notna(issue.row) else "file"
            # Ids, column names and messages quote the data: one line each, control characters escaped.
            who = (
                f" [{printable(issue.respondent)}]"
                if isinstance(issue.respondent, str) and issue.respondent
                else ""
            )
            col = f" {printable(issue.column)}" if isinstance(issue.column, str) and issue.column else ""
            lines.append(f"  {where}{who}{col}: {printable(issue.message)} -> {printable(issue.action)}")
        if len(self.issues) > max_lines:
            lines.append(
                f"  ... and {len(self.issues) - max_lines} more lines (write them with --report FILE)"
            )
        return "\n".join(lines)

    def _json_text(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


class ResponseValidationError(SdtSurveyError):
    """The responses have errors; ``report`` lists every one of them."""

    def __init__(self, report: DataQualityReport):
        self.report = report
        n = len(report.errors)
        super().__init__(
            f"{report.path}: {n} invalid {'cell' if n == 1 else 'cells'} or records; no scores written. "
            "Fix them, or set invalid cells to missing with --invalid as-missing.\n" + report.summary()
        )


class DriftError(ResponseValidationError):
    """The file does not match the definition it is read against (``report.drift`` lists how)."""

    def __init__(self, report: DataQualityReport):
        self.report = report
        drift = report.drift[report.drift["severity"] == "error"]
        listed = "\n".join(f"  {printable(message)}" for message in drift["message"])
        SdtSurveyError.__init__(
            self,
            f"{report.path}: the file does not match the instrument it is read against (drift); no scores "
            f"written:\n{listed}\nRead it against the definition it was collected with, map renamed "
            "columns (mapping=...), or accept the differences with drift='warn'.\n" + report.summary(),
        )
