"""What reading and validation produce (:class:`Responses`, :class:`CleanResponses`) and their vocabulary.

``PROBLEM_SEVERITY`` and ``ISSUE_COLUMNS`` define the lines of the
data-quality report (:mod:`sdt_survey.responses.quality`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .._terminal import printable
from ..instrument import Instrument

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .quality import DataQualityReport

#: Columns taken as the survey wave when none is named (REDCap raw and labels exports).
WAVE_COLUMNS = ("wave", "_wave", "redcap_event_name", "Event Name")
INVALID_POLICIES = ("error", "as-missing")
#: What ``drift=`` accepts (:mod:`.drift`): ``error`` stops on a stamp of another definition or a
#: missing item column. Defined here so that the command line reads it without the readers.
DRIFT_POLICIES = ("error", "warn")

#: Cell texts read as "no answer" in text formats (R writes NA, SAS and SPSS write ".").
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "."})

#: Severity of each problem kind. Errors stop scoring unless invalid cells are set to missing.
PROBLEM_SEVERITY = {
    "out_of_range": "error",
    "not_numeric": "error",
    "not_integer": "error",
    "unknown_label": "error",
    "unknown_choice": "error",
    "invalid_date": "error",
    "off_step": "error",
    "duplicate_id": "error",
    "missing_id": "error",
    "absent_item_column": "error",
    "missing_code": "info",
    "nonsubstantive": "info",
    "label_mapped": "info",
    "missing_required": "warning",
    "answered_when_hidden": "warning",
    "empty_row": "warning",
    "item_like_column": "warning",
    "blank_line": "info",
    "identifier_dropped": "info",
    "duplicate_dropped": "info",
    "careless_excluded": "info",
    # Records a platform marks as not (or not fully) a respondent's: Qualtrics' Status and Finished.
    "response_preview": "info",
    "response_test": "info",
    "response_spam": "info",
    "response_unfinished": "info",
    # Drift (responses/drift.py): the file against the definition. The first two follow drift=.
    "drift_stamp": "error",
    "drift_missing_item": "error",
    "drift_choices": "warning",
    "drift_branching": "warning",
    "drift_added_column": "info",
}

ISSUE_COLUMNS = ["row", "respondent", "column", "item", "value", "problem", "severity", "message", "action"]


@dataclass
class Responses:
    """Responses as read from one file, before validation.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record. Item columns are named by item id; all other
        columns keep their names and values.
    rows : numpy.ndarray
        The row number of each record in the file, as a spreadsheet would show
        it (the header is row 1; Qualtrics' three header rows are rows 1-3).
    source : str
        ``plain``, ``redcap``, ``qualtrics``, ``odk`` or ``html``.
    detection : str
        Why the source was chosen, in words.
    item_columns : dict
        Item id -> the column name(s) it was read from.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    source: str
    detection: str
    path: str = "<data frame>"
    item_columns: dict[str, list[str]] = field(default_factory=dict)
    #: For a multiple-choice item split into one column per choice: column -> choice code.
    choice_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    absent_items: list[str] = field(default_factory=list)
    item_like_columns: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, set[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)

    @property
    def passthrough(self) -> list[str]:
        """Columns that are not items: carried to the output unchanged."""
        return [c for c in self.frame.columns if c not in self.item_columns]

    def summary(self) -> str:
        lines = [
            f"{printable(self.path)}: {len(self.frame)} records, source {self.source} ({self.detection})",
            f"  {len(self.item_columns)} item columns matched; "
            f"{len(self.passthrough)} other columns passed through",
        ]
        if self.absent_items:
            lines.append(f"  items expected but absent: {', '.join(self.absent_items)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class MissingReasons:
    """Why each missing item value is missing, one byte a cell, until the table is asked for.

    Attributes
    ----------
    codes : numpy.ndarray
        ``(items, records)`` of small integers: the position of each cell's
        reason in ``labels`` (0, ``None``: the cell has a value).
    labels : tuple
        The reasons, ``labels[0]`` being ``None``.
    columns : list of str
        The item ids, in the order of ``codes``.
    index : pandas.Index
        The records.
    """

    codes: np.ndarray
    labels: tuple[str | None, ...]
    columns: list[str]
    index: pd.Index

    def frame(self) -> pd.DataFrame:
        """The reasons as a table of text (``None`` where the value is present), one column per item."""
        import numpy as np
        import pandas as pd

        table = np.array(self.labels, dtype=object)
        return pd.DataFrame(
            {
                c: pd.Series(table[self.codes[j]], index=self.index, dtype=object)
                for j, c in enumerate(self.columns)
            },
            index=self.index,
            columns=self.columns,
        )

    def count(self, label: str, column: str | None = None) -> np.ndarray:
        """How many cells of each record (of one item's column, if named) have the reason ``label``."""
        import numpy as np

        rows = self.codes if column is None else self.codes[[self.columns.index(column)]]
        if label not in self.labels:
            return np.zeros(rows.shape[1], dtype=np.int64)
        code = self.labels.index(label)
        return (rows == code).sum(axis=0)

    def select(self, keep: np.ndarray) -> MissingReasons:
        """The reasons of the records where ``keep`` is True, renumbered from 0."""
        import pandas as pd

        if keep.all():
            return MissingReasons(self.codes, self.labels, self.columns, pd.RangeIndex(len(self.index)))
        return MissingReasons(self.codes[:, keep], self.labels, self.columns, pd.RangeIndex(int(keep.sum())))


@dataclass
class CleanResponses:
    """Validated responses: codes for every item, and the report of what was done.

    ``values`` holds one column per item: floats for scored and single-choice
    items with integer codes (NaN = missing), text for the others.
    """

    values: pd.DataFrame
    passthrough: pd.DataFrame
    rows: np.ndarray
    respondent: pd.Series | None
    report: DataQualityReport
    instruments: tuple[Instrument, ...]
    reasons: MissingReasons
    invalid_count: pd.Series
    missing_count: pd.Series
    duplicate: pd.Series
    source: str = "plain"

    @cached_property
    def missing_reason(self) -> pd.DataFrame:
        """Why each missing value is missing (``absent``, ``invalid``, ``not_shown``, ``unanswered`` or a
        declared missing code's reason), ``None`` where the value is present: one column per item."""
        return self.reasons.frame()
