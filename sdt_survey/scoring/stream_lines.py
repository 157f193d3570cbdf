"""The data-quality report of a streamed run: written block by block, summarized from counts and a sample.

Today's report is one table in row order (the file's own lines first), then
the lines found after validation (drift, dropped identifier columns). The
streamed run writes each block's lines as they are validated, with the lines
of the block's repeated ids (found over the whole file) merged in row order,
then those later lines: the same table, written a block at a time. For the
terminal it keeps what :meth:`DataQualityReport.summary` shows (the count of
each kind, the first line of each, the first errors, every drift line), not
the lines themselves: a million respondents can have 720,000 of them.
"""

from __future__ import annotations

from typing import IO

import numpy as np
import pandas as pd

from .._spreadsheet_safe import write_csv
from ..responses import DataQualityReport
from ..responses.duplicates import Duplicates
from ..responses.model import ISSUE_COLUMNS, PROBLEM_SEVERITY

#: The int8 code of a missing answer in the streamed run's item codes.
MISSING_CODE = -128
#: The problems of repeated ids: a whole-file check, so a block's own lines of them are left out.
DUPLICATE_PROBLEMS = ("duplicate_id", "duplicate_dropped")
#: Error lines :meth:`DataQualityReport.summary` lists by default.
SHOWN_ERRORS = 20


def duplicate_lines(
    found: Duplicates | None,
    rows: np.ndarray,
    start: int,
    n: int,
    *,
    invalid: str,
    duplicates: str,
) -> pd.DataFrame | None:
    """The repeated-id lines of records ``start`` to ``start + n``, as validation writes them (or None)."""
    if found is None:
        return None
    parts = []
    for where, column, values, problem, messages, action in found.lines:
        low, high = np.searchsorted(where, [start, start + n])
        if low == high:
            continue
        chosen = where[low:high]
        severity = PROBLEM_SEVERITY[problem]
        if problem == "duplicate_id" and (duplicates != "error" or invalid == "as-missing"):
            severity = "warning"  # a repeated id kept or resolved by policy is a decision, not a blocker
        parts.append(
            pd.DataFrame(
                {
                    "row": rows[chosen].astype(np.int64),
                    "respondent": values[low:high],  # the repeated id itself
                    "column": column,
                    "item": None,
                    "value": values[low:high],
                    "problem": problem,
                    "severity": severity,
                    "message": messages[low:high],
                    "action": action,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else None


class LineSink:
    """The report's lines, block by block: written to its file, counted, and sampled for the summary."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.sample: list[pd.DataFrame] = []
        self.errors = 0
        self.written = 0
        self.header = False

    def add(
        self,
        issues: pd.DataFrame,
        extra: pd.DataFrame | None,
        *,
        first: bool,
        file: IO[str] | None,
        whole: bool = False,
    ) -> None:
        """A block's validation lines (``extra``: its repeated-id lines), or the lines after (``whole``)."""
        if not whole:
            keep = ~issues["problem"].isin(DUPLICATE_PROBLEMS).to_numpy()
            if not first:
                keep &= issues["row"].notna().to_numpy()  # the file's own lines come once, first
            if not keep.all():
                issues = issues.loc[keep].reset_index(drop=True)
            if extra is not None and len(extra):
                issues = pd.concat([issues, extra[ISSUE_COLUMNS]], ignore_index=True)
                key = pd.to_numeric(issues["row"], errors="coerce").fillna(0).to_numpy(dtype=float)
                issues = issues.take(np.argsort(key, kind="stable")).reset_index(drop=True)
        if issues.empty:
            return
        if file is not None:
            text = write_csv(issues, index=False)
            file.write(text if not self.header else text.split("\n", 1)[1])
            self.header = True
        self._keep_sample(issues)
        self.written += len(issues)

    def finish(self, file: IO[str] | None) -> None:
        """An empty report still has its header line."""
        if file is not None and not self.header:
            file.write(write_csv(pd.DataFrame(columns=ISSUE_COLUMNS), index=False))
            self.header = True

    def _keep_sample(self, issues: pd.DataFrame) -> None:
        position = np.arange(self.written, self.written + len(issues))
        chosen = np.zeros(len(issues), dtype=bool)
        kinds = list(zip(issues["problem"].tolist(), issues["severity"].tolist(), strict=True))
        firsts = pd.Series(kinds).drop_duplicates()
        for index, kind in firsts.items():
            if kind not in self.counts:
                chosen[index] = True
        for kind, n in pd.Series(kinds).value_counts(sort=False).items():
            self.counts[kind] = self.counts.get(kind, 0) + int(n)
        errors = np.flatnonzero((issues["severity"] == "error").to_numpy())[: SHOWN_ERRORS - self.errors]
        chosen[errors] = True
        self.errors += len(errors)
        chosen |= issues["problem"].astype(str).str.startswith("drift_").to_numpy()
        if chosen.any():
            part = issues.loc[chosen, ISSUE_COLUMNS].copy()
            part["row"] = part["row"].astype(object)
            part.index = position[chosen]
            self.sample.append(part)

    def report(self, **fields) -> DataQualityReport:
        """The report the terminal summary is made from (its ``issues``: the sample)."""
        if not self.counts:
            return DataQualityReport(issues=pd.DataFrame(columns=ISSUE_COLUMNS), **fields)
        sample = pd.concat(self.sample).sort_index(kind="stable").reset_index(drop=True)
        counts = pd.DataFrame(
            [(problem, severity, n) for (problem, severity), n in self.counts.items()],
            columns=["problem", "severity", "n"],
        )
        return DataQualityReport(issues=sample, line_counts=counts, **fields)


__all__ = ["MISSING_CODE", "LineSink", "duplicate_lines"]
