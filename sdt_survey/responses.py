"""Read collected responses from any platform and validate them cell by cell.

Reading turns a file (CSV/TSV, Excel, SPSS, Stata, Parquet, JSON lines, or the
HTML form's JSON) into a :class:`Responses` object: one row per record, item
columns renamed to item ids, every other column passed through unchanged, and
the row number each record had in the file. The platform that produced the
file (REDCap, Qualtrics, ODK/Kobo, the HTML form, or plain) is detected where
that is unambiguous, and the detection is stated.

Validation (:func:`validate_responses`) checks every cell against the
instrument and returns the cleaned values together with a
:class:`DataQualityReport` that lists every problem with its row, respondent,
column, value and what was done about it. Nothing is dropped silently and the
input file is never modified.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import difflib
import html
import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import expressions
from ._spreadsheet_safe import may_hold_neutralized, restore_frame, write_csv
from ._terminal import printable
from ._untrusted import decode_text, flatten_json_cells, load_json, read_parquet, text_encoding
from ._yaml import read_yaml_mapping
from .errors import SdtSurveyError
from .files import atomic_output
from .identifiers import IDENTIFIER_NAMES, identifier_columns  # noqa: F401 (imported from here)
from .instrument import Instrument, Item, load_instruments

SOURCES = ("auto", "plain", "redcap", "qualtrics", "odk", "html", "reproschema")
#: Columns taken as the survey wave when none is named (REDCap raw and labels exports).
WAVE_COLUMNS = ("wave", "_wave", "redcap_event_name", "Event Name")
INVALID_POLICIES = ("error", "as-missing")

#: Cell texts read as "no answer" in text formats (R writes NA, SAS and SPSS write ".").
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "."})

#: The export target whose ``aliases`` apply to each source.
ALIAS_TARGET_OF_SOURCE = {
    "redcap": "redcap",
    "qualtrics": "qualtrics",
    "odk": "xlsform",
    "html": "html",
    "reproschema": "reproschema",
}

#: Severity of each problem kind. Errors stop scoring unless invalid cells are set to missing.
PROBLEM_SEVERITY = {
    "out_of_range": "error",
    "not_numeric": "error",
    "not_integer": "error",
    "unknown_label": "error",
    "unknown_choice": "error",
    "invalid_date": "error",
    "duplicate_id": "error",
    "missing_id": "error",
    "absent_item_column": "error",
    "missing_code": "info",
    "label_mapped": "info",
    "missing_required": "warning",
    "answered_when_hidden": "warning",
    "empty_row": "warning",
    "item_like_column": "warning",
    "blank_line": "info",
    "identifier_dropped": "info",
    "duplicate_dropped": "info",
    "careless_excluded": "info",
}

ISSUE_COLUMNS = ["row", "respondent", "column", "item", "value", "problem", "severity", "message", "action"]


# --------------------------------------------------------------------- results


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


@dataclass
class DataQualityReport:
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

    @property
    def errors(self) -> pd.DataFrame:
        return self.issues[self.issues["severity"] == "error"]

    @property
    def has_blocking_errors(self) -> bool:
        """Errors stop scoring unless invalid cells are set to missing (``invalid="as-missing"``)."""
        return self.invalid == "error" and not self.errors.empty

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
            "issues": json.loads(self.issues.to_json(orient="records", force_ascii=False)),
        }

    def summary(self, max_lines: int = 20) -> str:
        """A readable account for the terminal: counts, then the first lines."""
        head = (
            f"{printable(self.path)}: {self.n_records} records read (source: {self.source}; {self.detection})"
        )
        if self.issues.empty:
            return head + "\n  no problems found"
        lines = [head]
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

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report as CSV or JSON, by the file's extension.

        Atomically; an existing file is replaced only with ``overwrite=True``.
        """
        path = Path(path)
        with atomic_output(path, overwrite=overwrite) as temp:
            if path.suffix.lower() == ".json":
                temp.write_text(
                    json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
                )
            else:
                write_csv(self.issues, temp, index=False)
        return path


class ResponseValidationError(SdtSurveyError):
    """The responses have errors; ``report`` lists every one of them."""

    def __init__(self, report: DataQualityReport):
        self.report = report
        n = len(report.errors)
        super().__init__(
            f"{report.path}: {n} invalid {'cell' if n == 1 else 'cells'} or records; no scores written. "
            "Fix them, or set invalid cells to missing with --invalid as-missing.\n" + report.summary()
        )


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
    missing_reason: pd.DataFrame
    invalid_count: pd.Series
    missing_count: pd.Series
    duplicate: pd.Series
    source: str = "plain"


# --------------------------------------------------------------------- reading


@dataclass
class _Table:
    frame: pd.DataFrame
    header_rows: int = 1
    extra_headers: list[list[str]] = field(default_factory=list)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, set[float]] = field(default_factory=dict)
    json_meta: dict | None = None
    notes: list[str] = field(default_factory=list)
    reproschema: bool = False


def _all_items(instruments: Sequence[Instrument]) -> list[Item]:
    return [item for inst in instruments for item in inst.items]


def _read_delimited(path: Path, display: str, sep: str | None) -> _Table:
    raw = path.read_bytes()
    text, notes = decode_text(raw, display)
    if not text.strip():
        raise SdtSurveyError(f"{display}: the file is empty")
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(text[:65536].split("\n", 1)[0], delimiters=",;\t").delimiter
        except csv.Error:
            sep = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise SdtSurveyError(
                f"{display}:{line}: this row has {saw} fields but the header has {expected}; "
                "check for an unquoted separator or line break in a cell"
            ) from exc
        raise SdtSurveyError(f"{display}: cannot read as delimited text: {exc}") from exc
    # A cell that a writer neutralized against spreadsheet formulas ('=x) reads back as written (=x).
    if may_hold_neutralized(text, sep):
        frame = restore_frame(frame)
    header = [str(h).strip() for h in frame.iloc[0].tolist()]
    body = frame.iloc[1:].reset_index(drop=True)
    # Qualtrics (and Excel) may end every line with a separator: an unnamed, empty last column.
    while header and not header[-1] and (body.iloc[:, -1].astype(str).str.strip() == "").all():
        header.pop()
        body = body.iloc[:, :-1]
    named = _with_header(body, header, display)
    return _Table(named, notes=notes + named.attrs.pop("notes", []))


def _with_header(body: pd.DataFrame, header: list[str], display: str) -> pd.DataFrame:
    """Name the columns; a repeated name (REDCap labels repeat 'Complete?') gets '.2', '.3'."""
    seen: dict[str, int] = {}
    names = []
    for i, name in enumerate(header):
        if not name:
            raise SdtSurveyError(f"{display}: column {i + 1} has no name in the header row")
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    body = body.copy()
    body.columns = names
    repeated = [name for name, count in seen.items() if count > 1]
    if repeated:
        body.attrs["notes"] = [
            f"the column name {name!r} appears {seen[name]} times; later ones are read as {name!r}.2, .3, ..."
            for name in repeated
        ]
    return body


def _read_file(
    path: Path, display: str, sheet: str | int | None, instruments: Sequence[Instrument] = ()
) -> _Table:
    try:
        return _read_by_type(path, display, sheet, instruments)
    except OSError as exc:  # unreadable (permissions, a folder, a device): say which file
        raise SdtSurveyError(f"{display}: cannot read the file: {exc.strerror or exc}") from exc


def _read_by_type(
    path: Path, display: str, sheet: str | int | None, instruments: Sequence[Instrument]
) -> _Table:
    suffix = path.suffix.lower()
    if suffix in (".zip", ".jsonld") or (suffix == ".json" and _is_reproschema_json(path)):
        from .export.reproschema import read_responses as read_reproschema

        frame = read_reproschema(path, list(instruments) or None)
        frame.attrs["rows"] = np.arange(1, len(frame) + 1)
        return _Table(frame, header_rows=0, reproschema=True)
    if suffix in (".csv", ".txt"):
        return _read_delimited(path, display, None)
    if suffix in (".tsv", ".tab"):
        return _read_delimited(path, display, "\t")
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            frame = pd.read_excel(
                path, sheet_name=sheet if sheet is not None else 0, header=None, dtype=object
            )
        except (ValueError, zipfile.BadZipFile, KeyError, OSError) as exc:
            # openpyxl reads .xlsx as a zip of XML parts: a damaged one fails in any of these ways.
            raise SdtSurveyError(f"{display}: cannot read as an Excel workbook: {exc}") from exc
        if frame.empty:
            raise SdtSurveyError(f"{display}: the sheet is empty")
        header = ["" if pd.isna(h) else str(h).strip() for h in frame.iloc[0].tolist()]
        return _Table(_with_header(frame.iloc[1:].reset_index(drop=True), header, display))
    if suffix in (".sav", ".zsav", ".dta", ".por"):
        import pyreadstat

        reader = {".dta": pyreadstat.read_dta, ".por": pyreadstat.read_por}.get(suffix, pyreadstat.read_sav)
        try:
            frame, meta = reader(str(path), apply_value_formats=False, user_missing=True)
        except Exception as exc:  # pyreadstat raises its own ReadstatError for any bad file
            raise SdtSurveyError(f"{display}: cannot read: {exc}") from exc
        user_missing: dict[str, set[float]] = {}
        for column, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
            values = set()
            for r in ranges:
                if r["lo"] == r["hi"]:
                    values.add(float(r["lo"]))
            if values:
                user_missing[column] = values
        return _Table(
            frame,
            header_rows=0,
            value_labels=dict(meta.variable_value_labels or {}),
            user_missing=user_missing,
        )
    if suffix == ".parquet":
        return _Table(read_parquet(path, display), header_rows=0)
    if suffix in (".jsonl", ".ndjson"):
        return _read_json_lines(path, display)
    if suffix == ".json":
        return _read_json(path, display)
    raise SdtSurveyError(
        f"{display}: unknown file type {suffix or '(none)'}; use .csv, .tsv, .xlsx, .sav, .dta, "
        ".parquet, .jsonl, .json, or reproschema-ui's .zip / .jsonld"
    )


def _is_reproschema_json(path: Path) -> bool:
    """Whether a .json file holds reproschema-ui responses (JSON-LD ``reproschema:Response``)."""
    try:
        head = path.read_bytes()[:4096].decode("utf-8", errors="ignore")
    except OSError:
        return False
    return "reproschema:Response" in head


def _read_json_lines(path: Path, display: str) -> _Table:
    records = []
    rows = []
    text, notes = decode_text(path.read_bytes(), display)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = load_json(line, display, line=number)
        if not isinstance(record, dict):
            raise SdtSurveyError(f"{display}:{number}: each line must be a JSON object")
        records.append(_flatten_form_record(record, display))
        rows.append(number)
    frame = flatten_json_cells(pd.DataFrame.from_records(records), display, rows)
    frame.attrs["rows"] = np.asarray(rows)
    return _Table(frame, header_rows=0, notes=notes)


def _read_json(path: Path, display: str) -> _Table:
    text, notes = decode_text(path.read_bytes(), display)
    data = load_json(text, display)
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in records):
        raise SdtSurveyError(f"{display}: expected a JSON object or a list of objects")
    meta = next((r for r in records if r.get("format") == FORM_FORMAT), None)
    frame = pd.DataFrame.from_records([_flatten_form_record(r, display) for r in records])
    # A JSON file has no rows of its own: a record is numbered by its place in the list.
    return _Table(flatten_json_cells(frame, display), header_rows=0, json_meta=meta, notes=notes)


#: The ``format`` value of a response saved by the HTML form.
FORM_FORMAT = "sdt-survey-response"


def _flatten_form_record(record: dict, display: str) -> dict:
    """A form response ``{format, instruments, submitted, answers: {...}}`` as one flat row."""
    if record.get("format") != FORM_FORMAT:
        return record
    flat = {f"_{k}": v for k, v in record.items() if k != "answers"}
    flat["_instruments"] = " ".join(
        f"{i.get('id')}@{i.get('version')}" for i in record.get("instruments", []) if isinstance(i, dict)
    )
    answers = record.get("answers") or {}
    if not isinstance(answers, dict):
        raise SdtSurveyError(
            f"{display}: a response of the HTML form has 'answers' that is not a JSON object"
        )
    for item_id, value in answers.items():
        flat[item_id] = " ".join(map(str, value)) if isinstance(value, list) else value
    return flat


# ----------------------------------------------------------- source detection

_QUALTRICS_META = {"startdate", "enddate", "responseid", "recordeddate", "distributionchannel"}
_ODK_META = {"_uuid", "_submission_time", "_index", "_id", "meta/instanceid", "meta-instanceid", "key",
             "submissiondate", "__version__", "instanceid"}  # fmt: skip


def _detect(table: _Table, items: Sequence[Item]) -> tuple[str, str]:
    columns = [str(c) for c in table.frame.columns]
    lower = {c.lower() for c in columns}
    signals: list[tuple[str, str]] = []
    if table.reproschema:
        return "reproschema", "detected: reproschema-ui responses (JSON-LD)"
    if table.json_meta is not None or "_format" in lower:
        signals.append(("html", "responses saved by the sdt-survey HTML form"))
    if len(table.frame) >= 2 and _looks_like_import_ids(table.frame.iloc[1]):
        signals.append(("qualtrics", 'three header rows with {"ImportId": ...} in the third'))
    elif _qualtrics_header_rows(table.frame) == 1:
        signals.append(("qualtrics", "a legacy Qualtrics export (two header rows)"))
    elif len(lower & _QUALTRICS_META) >= 3:
        signals.append(("qualtrics", "Qualtrics metadata columns (StartDate, ResponseId, ...)"))
    redcap_marks = [
        c
        for c in columns
        if c
        in (
            "redcap_event_name",
            "redcap_repeat_instrument",
            "redcap_survey_identifier",
            "redcap_data_access_group",
        )
    ]
    if (
        redcap_marks
        or (columns and columns[0] == "record_id")
        or any(c.endswith("_complete") for c in columns)
    ):
        signals.append(("redcap", f"REDCap columns ({', '.join(redcap_marks or [columns[0]])})"))
    elif columns and columns[0] == "Record ID":
        signals.append(("redcap", "a REDCap labels export ('Record ID' header)"))
    odk_marks = sorted(lower & _ODK_META)
    item_ids = {item.id for item in items}
    grouped = [c for c in columns if "/" in c and c.rsplit("/", 1)[1] in item_ids]
    if odk_marks or grouped:
        why = f"ODK/Kobo metadata ({', '.join(odk_marks)})" if odk_marks else "group-prefixed item columns"
        signals.append(("odk", why))
    sources = {s for s, _ in signals}
    if len(sources) == 1:
        source, why = signals[0]
        return source, f"detected: {why}"
    if not sources:
        return "plain", "no platform layout detected; columns matched by item id"
    listed = "; ".join(f"{s}: {why}" for s, why in signals)
    raise SdtSurveyError(f"cannot tell which platform produced this file ({listed}); say which with --source")


def _looks_like_import_ids(row: pd.Series) -> bool:
    cells = [str(c) for c in row.tolist() if isinstance(c, str) and c.strip()]
    hits = sum(c.startswith(('{"ImportId"', "{'ImportId'")) for c in cells)
    return bool(cells) and hits >= max(1, len(cells) // 2)


def _import_id(cell: object) -> dict | None:
    """The ``{"ImportId": ...}`` of a Qualtrics third header row (JSON, or the older Python style)."""
    if not isinstance(cell, str) or "ImportId" not in cell:
        return None
    try:
        parsed = json.loads(cell)
    except json.JSONDecodeError:
        try:
            parsed = json.loads(cell.replace("'", '"'))
        except json.JSONDecodeError:
            return None
    return parsed if isinstance(parsed, dict) else None


def _is_hxl_row(row: pd.Series) -> bool:
    cells = [str(c).strip() for c in row.tolist() if isinstance(c, str) and str(c).strip()]
    return bool(cells) and all(c.startswith("#") for c in cells)


def _qualtrics_header_rows(frame: pd.DataFrame) -> int:
    """Header rows below the column names: 2 in current exports, 1 in the legacy layouts."""
    if len(frame) >= 2 and _looks_like_import_ids(frame.iloc[1]):
        return 2
    columns = [str(c) for c in frame.columns]
    first_row = [str(c) for c in frame.iloc[0].tolist()] if len(frame) else []
    if columns[:2] == ["V1", "V2"] or first_row[:2] == ["ResponseID", "ResponseSet"]:
        return 1
    if columns[:2] == ["ResponseID", "ResponseSet"]:
        return 1
    return 0


# ------------------------------------------------------------- column matching


def _normalise_text(text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))  # REDCap and Qualtrics keep HTML in labels
    return " ".join(text.replace("\u00a0", " ").split()).casefold()


def _read_mapping(path: str | Path) -> dict[str, str]:
    """A mapping file: ``{columns: {COLUMN: ITEM_ID, ...}}`` or the plain map itself."""
    path = Path(path)
    doc = read_yaml_mapping(path, "mapping file")
    data = doc.data
    if isinstance(data, dict) and set(data) == {"columns"}:
        data = data["columns"]
        prefix: tuple = ("columns",)
    else:
        prefix = ()
    if not isinstance(data, dict):
        line, col = doc.position(prefix)
        raise SdtSurveyError(f"{path}:{line}:{col}: expected a mapping of column name -> item id")
    mapping: dict[str, str] = {}
    for column, item_id in data.items():
        if not isinstance(item_id, str):
            line, col = doc.position((*prefix, column))
            raise SdtSurveyError(f"{path}:{line}:{col}: {column}: expected an item id")
        mapping[str(column)] = item_id
    return mapping


def _match_columns(
    table: _Table,
    items: Sequence[Item],
    source: str,
    mapping: Mapping[str, str],
    display: str,
) -> tuple[dict[str, list[str]], list[str]]:
    """Item id -> columns it is read from; notes on how unusual matches were made."""
    columns = [str(c) for c in table.frame.columns]
    by_id = {item.id: item for item in items}
    notes: list[str] = []
    matched: dict[str, list[str]] = {}
    split: dict[str, dict[str, str]] = {}
    used: set[str] = set()

    def claim(item_id: str, column: str, how: str | None = None) -> None:
        if item_id in matched or column in used:
            return
        matched[item_id] = [column]
        used.add(column)
        if how:
            notes.append(f"column {column!r} read as item {item_id!r} ({how})")

    for column, item_id in mapping.items():
        if item_id not in by_id:
            hint = difflib.get_close_matches(item_id, list(by_id), n=1)
            raise SdtSurveyError(
                f"mapping: {column!r} -> {item_id!r}: no such item"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
            )
        if column not in columns:
            raise SdtSurveyError(f"mapping: column {column!r} is not in {display}")
        claim(item_id, column)
    for column in columns:
        if column in by_id:
            claim(column, column)
    target = ALIAS_TARGET_OF_SOURCE.get(source)
    for item in items:
        names = [item.aliases[target]] if target in item.aliases else []
        names += [name for key, name in item.aliases.items() if key != target]
        for name in names:
            if name in columns:
                claim(item.id, name, f"alias {name}")
                break
    if source == "qualtrics" and table.extra_headers:
        split.update(_match_qualtrics_split(table, items, columns, matched, used))
        _match_qualtrics(table, items, columns, claim)
    if source == "redcap":
        split.update(_match_redcap_checkboxes(items, columns, matched, used))
        _match_by_text(items, columns, claim, "its field label")
    if source == "odk":
        for column in columns:
            for separator in ("/", "-"):
                tail = column.rsplit(separator, 1)[-1]
                if tail != column and tail in by_id:
                    claim(tail, column)
                    break
    lowered = {c.lower(): c for c in columns if c not in used}
    for item in items:
        if item.id not in matched and item.id.lower() in lowered:
            claim(item.id, lowered[item.id.lower()], "matched ignoring case")
    return matched, split, notes


def _match_qualtrics(table: _Table, items: Sequence[Item], columns: list[str], claim) -> None:
    texts = table.extra_headers[0] if table.extra_headers else []
    import_ids = table.extra_headers[1] if len(table.extra_headers) > 1 else []
    by_import: dict[str, str] = {}
    for column, cell in zip(columns, import_ids, strict=False):
        parsed = _import_id(cell)
        if parsed and isinstance(parsed.get("ImportId"), str) and "choiceId" not in parsed:
            by_import[parsed["ImportId"]] = column
    for item in items:
        alias = item.aliases.get("qualtrics")
        if alias and alias in by_import:
            claim(item.id, by_import[alias], f"Qualtrics ImportId {alias}")
    _match_by_text(items, columns, claim, "its question text", texts=texts)


def _match_qualtrics_split(
    table: _Table, items: Sequence[Item], columns: list[str], matched: dict[str, list[str]], used: set[str]
) -> dict[str, dict[str, str]]:
    """A Qualtrics multiple-answer question split into columns: ImportId QIDn with a choiceId each.

    The item names the question by ``aliases: {qualtrics: QIDn}`` or by an
    export tag equal to its id; a column's code is its suffix (the recode value).
    """
    texts = table.extra_headers[0] if table.extra_headers else []
    import_ids = table.extra_headers[1] if len(table.extra_headers) > 1 else []
    split: dict[str, dict[str, str]] = {}
    for item in items:
        if item.type != "multiple" or item.id in matched:
            continue
        names = {item.aliases.get("qualtrics"), item.id} - {None}
        # Without its export tag the question is known by its wording in the second header row:
        # "<question> - <choice>" or "<question> - Selected Choice - <choice>".
        wordings = {_normalise_text(t) for t in item.text.translations.values()} if item.text else set()
        by_wording: dict[str, list[str]] = {}
        codes: dict[str, str] = {}
        for column, cell, text in zip(columns, import_ids, texts or [""] * len(columns), strict=False):
            parsed = _import_id(cell)
            if not parsed or "choiceId" not in parsed or column in used:
                continue
            stem, _, suffix = column.rpartition("_")
            if parsed.get("ImportId") in names or stem in names:
                codes[column] = suffix
            else:
                head = _normalise_text(str(text)).split(" - ")[0]
                if head in wordings:
                    by_wording.setdefault(str(parsed.get("ImportId")), []).append(column)
        if not codes and len(by_wording) == 1:
            codes = {column: column.rpartition("_")[2] for column in next(iter(by_wording.values()))}
        if codes:
            matched[item.id] = list(codes)
            used.update(codes)
            split[item.id] = codes
    return split


def _match_by_text(items: Sequence[Item], columns: list[str], claim, what: str, texts=None) -> None:
    """Match items whose wording is the header (REDCap labels) or ends it (Qualtrics matrix rows)."""
    headers = texts if texts else columns
    normalised = [_normalise_text(str(h)) for h in headers]
    for item in items:
        if item.text is None:
            continue
        for wording in item.text.translations.values():
            target = _normalise_text(wording)
            hits = [
                columns[i]
                for i, header in enumerate(normalised)
                if header == target or header.endswith(" - " + target)
            ]
            if len(hits) == 1:
                claim(item.id, hits[0], f"matched by {what}")
                break


def redcap_checkbox_code(code: object) -> str:
    """How REDCap writes a checkbox choice code in its column name (``item___code``).

    ``-`` and ``.`` become ``_``, letters are lowercased and anything else is
    dropped, so code -99 is column ``item____99``.

    Examples
    --------
    >>> redcap_checkbox_code(-99), redcap_checkbox_code("1.5"), redcap_checkbox_code("UNK")
    ('_99', '1_5', 'unk')
    """
    text = str(code).replace("-", "_").replace(".", "_").lower()
    return re.sub(r"[^a-z0-9_]", "", text)


def _match_redcap_checkboxes(
    items: Sequence[Item], columns: list[str], matched: dict[str, list[str]], used: set[str]
) -> dict[str, dict[str, str]]:
    """Multiple-choice items exported as one 0/1 column per choice (raw or labels layout).

    Returns item id -> {column: choice code}; a column for a code that is not a
    choice (a REDCap missing-data code such as ``UNK``) maps to ``[code]``.
    """
    split: dict[str, dict[str, str]] = {}
    for item in items:
        if item.type != "multiple" or item.id in matched:
            continue
        formatted = {redcap_checkbox_code(c.value): str(c.value) for c in item.choices}
        codes = {
            c: formatted.get(c.split("___", 1)[1], f"[{c.split('___', 1)[1]}]")
            for c in columns
            if c.startswith(f"{item.id}___") and c not in used
        }
        if not codes and item.text is not None:
            wordings = {_normalise_text(t) for t in item.text.translations.values()}
            by_label = {
                _normalise_text(t): str(c.value) for c in item.choices for t in c.label.translations.values()
            }
            for column in columns:
                head, _, label = column.partition(" (choice=")
                if column not in used and label and _normalise_text(head) in wordings:
                    label = label.removesuffix(")")
                    codes[column] = by_label.get(_normalise_text(label), f"[{label}]")
        if codes:
            matched[item.id] = list(codes)
            used.update(codes)
            split[item.id] = codes
    return split


def _item_like_columns(
    columns: Sequence[str], matched_columns: set[str], items: Sequence[Item]
) -> dict[str, str]:
    """Unmatched columns whose names resemble item ids: likely a renamed or extra item."""
    ids = [item.id for item in items]
    stems = {re.sub(r"\d+$", "", i) for i in ids if re.search(r"\d+$", i)}
    found = {}
    for column in columns:
        if column in matched_columns:
            continue
        close = difflib.get_close_matches(column.lower(), ids, n=1, cutoff=0.75)
        stem = re.sub(r"\d+$", "", column.lower())
        if close:
            found[column] = f"resembles item {close[0]!r}"
        elif stem in stems and stem != column.lower():
            found[column] = f"numbered like the {stem}* items"
    return found


def read_responses(
    path: str | Path,
    instruments: Instrument | str | Sequence[Instrument | str],
    *,
    source: str = "auto",
    mapping: str | Path | Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> Responses:
    """Read a response file and match its columns to the instrument's items.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV/TSV, Excel (.xlsx), SPSS (.sav), Stata (.dta), Parquet, JSON lines
        (.jsonl) or the HTML form's JSON. The file is only read, never changed.
    instruments : Instrument, name, or a list of them
        What the file should contain; several instruments form one survey.
    source : {"auto", "plain", "redcap", "qualtrics", "odk", "html"}
        The platform that produced the file; ``auto`` detects it where the
        layout is unambiguous and says why.
    mapping : path or dict, optional
        Column name -> item id, for columns whose names differ from the ids
        (a YAML file: ``columns: {Q5_1: as1}``).
    sheet : str or int, optional
        The Excel sheet (default: the first).
    encoding : str, optional
        The encoding of a CSV, TSV or JSON file (e.g. ``cp1252``), when it is
        not UTF-8. By default a byte-order mark decides, else UTF-8, else
        Windows-1252 when no bytes in the file are UTF-8; a file that mixes
        UTF-8 with another encoding is refused, naming the lines.

    Returns
    -------
    Responses

    Examples
    --------
    >>> import tempfile, pathlib, sdt_survey
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "wave1.csv"
    >>> _ = path.write_text("record_id,redcap_event_name,pb1,pb2\\nR1,wave_1_arm_1,4,Agree\\n")
    >>> responses = sdt_survey.read_responses(path, "program-belonging")
    >>> responses.source, sorted(responses.item_columns), responses.absent_items[:2]
    ('redcap', ['pb1', 'pb2'], ['pb3', 'pb4'])
    """
    if source not in SOURCES:
        raise SdtSurveyError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    loaded = load_instruments(instruments)
    items = _all_items(loaded)
    file_path = Path(path)
    display = str(path)
    if not file_path.is_file():
        raise SdtSurveyError(f"{display}: {'a folder, not a file' if file_path.is_dir() else 'no such file'}")
    with text_encoding(encoding) if encoding is not None else contextlib.nullcontext():
        table = _read_file(file_path, display, sheet, loaded)
    header_rows = table.header_rows
    detected_source, detection = (
        _detect(table, items) if source == "auto" else (source, "as given with --source")
    )
    frame = table.frame
    if detected_source == "qualtrics":
        extra = _qualtrics_header_rows(frame)
        table.extra_headers = [frame.iloc[i].tolist() for i in range(extra)]
        frame = frame.iloc[extra:].reset_index(drop=True)
        header_rows += extra
    if detected_source == "odk" and len(frame) and _is_hxl_row(frame.iloc[0]):
        # KoboToolbox adds a row of HXL hashtags under the header.
        frame = frame.iloc[1:].reset_index(drop=True)
        header_rows += 1
    rows = frame.attrs.get("rows")
    if rows is None:
        rows = np.arange(len(frame)) + header_rows + 1
    blank = _blank_rows(frame)
    blank_rows = [int(r) for r in rows[blank]]
    frame = frame.loc[~blank].reset_index(drop=True)
    rows = np.asarray(rows)[~blank]
    table.frame = frame
    user_mapping = _read_mapping(mapping) if isinstance(mapping, (str, Path)) else dict(mapping or {})
    matched, split, notes = _match_columns(table, items, detected_source, user_mapping, display)
    rename = {cols[0]: item_id for item_id, cols in matched.items() if len(cols) == 1}
    frame = frame.rename(columns=rename)
    item_columns = {item_id: cols for item_id, cols in matched.items()}
    value_labels = {rename.get(k, k): v for k, v in table.value_labels.items()}
    user_missing = {rename.get(k, k): v for k, v in table.user_missing.items()}
    used = {c for cols in matched.values() for c in cols}
    absent = [item.id for item in items if item.id not in matched]
    return Responses(
        frame=frame,
        rows=np.asarray(rows),
        source=detected_source,
        detection=detection,
        path=display,
        item_columns=item_columns,
        choice_columns=split,
        absent_items=absent,
        item_like_columns=_item_like_columns([str(c) for c in table.frame.columns], used, items),
        value_labels=value_labels,
        user_missing=user_missing,
        notes=table.notes + notes,
        blank_rows=blank_rows,
    )


def responses_from_frame(
    frame: pd.DataFrame, instruments: Instrument | str | Sequence[Instrument | str]
) -> Responses:
    """Wrap an in-memory DataFrame whose item columns are named by item id.

    Row numbers are the 1-based positions of the records (there is no file).
    """
    loaded = load_instruments(instruments)
    items = _all_items(loaded)
    frame = frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    matched = {item.id: [item.id] for item in items if item.id in columns}
    return Responses(
        frame=frame,
        rows=np.arange(1, len(frame) + 1),
        source="plain",
        detection="a data frame; columns matched by item id",
        item_columns=matched,
        absent_items=[item.id for item in items if item.id not in matched],
        item_like_columns=_item_like_columns(columns, set(matched), items),
    )


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    if frame.empty:
        return np.zeros(len(frame), dtype=bool)
    return _missing_cells(frame).all(axis=1).to_numpy()


def _missing_cells(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.isna() | frame.apply(
        lambda s: (
            s.astype("string").str.strip().isin(MISSING_TOKENS).fillna(False).astype(bool)
            if s.dtype == object or pd.api.types.is_string_dtype(s)
            else pd.Series(False, index=s.index)
        )
    )


# ------------------------------------------------------------------- validation


@dataclass
class _Cells:
    """The outcome of checking one item column: codes plus the bad cells."""

    values: pd.Series
    missing_reason: pd.Series
    problems: list[tuple[np.ndarray, str, list[str]]] = field(default_factory=list)


def _label_lookup(pairs: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """Normalised label text -> code, over every language."""
    lookup: dict[str, Any] = {}
    for code, text in pairs:
        lookup.setdefault(_normalise_text(str(text)), code)
    return lookup


def _item_labels(item: Item, value_labels: Mapping[Any, str] | None) -> dict[str, Any]:
    pairs: list[tuple[Any, Any]] = []
    if item.scale is not None:
        for value, label in zip(item.scale.values, item.scale.labels, strict=True):
            pairs += [(value, text) for text in label.translations.values()]
    for choice in item.choices:
        pairs += [(choice.value, text) for text in choice.label.translations.values()]
    for code, text in (value_labels or {}).items():
        pairs.append((code, text))
    return _label_lookup(pairs)


def _code_key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class _Verdict:
    """What one distinct cell value means: its clean value, or the problem with it."""

    value: Any = None
    problem: str | None = None
    message: str | None = None
    reason: str | None = None  # why the value is missing (a declared missing code)


#: Longer cell values are shortened in messages.
_MESSAGE_VALUE_CHARACTERS = 60


def _check_each_value(column: pd.Series, judge: Callable[[str, Any], _Verdict], numeric: bool) -> _Cells:
    """Judge each distinct value of a column once, then spread the verdicts to every cell.

    A survey column holds few distinct values, so this is fast however many
    respondents there are; ``judge`` gets the value's text and the raw value.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    resolved = np.full(len(uniques), np.nan if numeric else None, dtype=float if numeric else object)
    reasons = np.full(len(uniques), None, dtype=object)
    kinds = np.full(len(uniques), None, dtype=object)
    messages = np.full(len(uniques), None, dtype=object)
    for u, raw in enumerate(uniques):
        text = _code_key(raw)
        if text in MISSING_TOKENS:
            continue
        verdict = judge(text, raw)
        if verdict.message and len(text) > _MESSAGE_VALUE_CHARACTERS:
            # A 5,000-digit number or a pasted essay is named, not printed whole.
            verdict.message = verdict.message.replace(
                text, f"{text[:24]}...{text[-8:]} ({len(text):,} characters)"
            )
        if verdict.value is not None:
            resolved[u] = verdict.value
        kinds[u], messages[u], reasons[u] = verdict.problem, verdict.message, verdict.reason
    return _collect(len(column), codes, resolved, reasons, kinds, messages, column.index, numeric)


def _check_coded(
    item: Item, column: pd.Series, value_labels: Mapping[Any, str] | None, user_missing: set[float]
) -> _Cells:
    """Likert and single-choice items: every cell must be a valid code or its label."""
    if item.scale is not None:
        valid_codes: list[Any] = list(item.scale.values)
        missing_codes = dict(item.scale.missing_codes)
        what = f"scale {item.scale.id} ({_describe_codes(valid_codes)})"
    else:
        valid_codes = [c.value for c in item.choices]
        missing_codes = {}
        what = f"the choices of {item.id} ({_describe_codes(valid_codes)})"
    numeric_codes = all(isinstance(v, int) for v in valid_codes)
    for code in user_missing:
        missing_codes.setdefault(int(code) if float(code).is_integer() else code, "user_missing")
    by_key = {_code_key(v): v for v in valid_codes}
    missing_by_key = {_code_key(k): reason for k, reason in missing_codes.items()}
    labels = _item_labels(item, value_labels)
    unknown = "unknown_label" if item.scale is not None else "unknown_choice"

    def judge(text: str, raw: Any) -> _Verdict:
        number = _as_number(raw)
        key = _code_key(number) if number is not None else text
        if key in missing_by_key:
            reason = missing_by_key[key]
            return _Verdict(None, "missing_code", f"missing code {text} ({reason})", reason)
        if key in by_key:
            return _Verdict(by_key[key])
        if number is not None:
            return _Verdict(None, "out_of_range", f"{text} is not a value of {what}")
        if _normalise_text(text) in labels:
            code = labels[_normalise_text(text)]
            value = float(code) if numeric_codes else code
            return _Verdict(value, "label_mapped", f"label {text!r} read as code {value}")
        hint = difflib.get_close_matches(_normalise_text(text), list(labels), n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return _Verdict(None, unknown, f"{text!r} is not a code or label of {what}{suggestion}")

    return _check_each_value(column, judge, numeric_codes)


def _collect(n, codes, resolved, reasons, kinds, messages, index, numeric) -> _Cells:
    safe = np.where(codes < 0, 0, codes)
    has = codes >= 0
    if len(resolved):
        values = np.where(has, resolved[safe], np.nan if numeric else None)
        reason = np.where(has, reasons[safe], None)
        kind = np.where(has, kinds[safe], None)
        message = np.where(has, messages[safe], None)
    else:
        values = np.full(n, np.nan if numeric else None, dtype=float if numeric else object)
        reason = kind = message = np.full(n, None, dtype=object)
    cells = _Cells(
        pd.Series(values.astype(float) if numeric else values, index=index),
        pd.Series(reason, index=index, dtype=object),
    )
    for problem in {k for k in kinds if k is not None}:
        where = np.flatnonzero(kind == problem)
        cells.problems.append((where, problem, list(message[where])))
    return cells


def _describe_codes(codes: Sequence[Any]) -> str:
    if (
        len(codes) > 2
        and all(isinstance(c, int) for c in codes)
        and list(codes) == list(range(min(codes), max(codes) + 1))
    ):
        return f"{min(codes)}-{max(codes)}"
    return ", ".join(str(c) for c in codes)


def _as_number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if np.isnan(value) else float(value)
    text = str(value).strip()
    # Python's float() also takes "1_0", "inf" and non-ASCII digits; survey codes are plain numbers.
    return float(text) if _PLAIN_NUMBER.match(text) else None


_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)


def _check_numeric(item: Item, column: pd.Series) -> _Cells:
    def judge(text: str, raw: Any) -> _Verdict:
        number = _as_number(raw)
        if number is None or not np.isfinite(number):
            return _Verdict(None, "not_numeric", f"{text!r} is not a number")
        if item.type == "integer" and not float(number).is_integer():
            return _Verdict(None, "not_integer", f"{text} is not a whole number")
        if (item.min is not None and number < item.min) or (item.max is not None and number > item.max):
            return _Verdict(None, "out_of_range", f"{text} is outside {_fmt(item.min)} to {_fmt(item.max)}")
        return _Verdict(number)

    return _check_each_value(column, judge, True)


def _fmt(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_multiple(
    item: Item, columns: pd.DataFrame | pd.Series, split_codes: Mapping[str, str] | None = None
) -> _Cells:
    """Multiple-choice answers: space-separated codes, or one 0/1 column per choice.

    ``split_codes`` maps each split column (REDCap ``item___code``, Qualtrics
    ``Q4_1``) to its choice code; a ticked column (``1``/``Checked``) selects it.
    """
    by_key = {_code_key(c.value): c.value for c in item.choices}
    labels = _item_labels(item, None)
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

    def judge(text: str, raw: Any) -> _Verdict:
        picked, bad = [], []
        for part in (p for p in re.split(r"[\s,;]+", text) if p):
            if part in by_key:
                picked.append(by_key[part])
            elif _normalise_text(part) in labels:
                picked.append(labels[_normalise_text(part)])
            else:
                bad.append(part)
        if bad:
            return _Verdict(
                None, "unknown_choice", f"{', '.join(map(repr, bad))} not among the choices of {item.id}"
            )
        return _Verdict(" ".join(str(v) for v in sorted(set(picked), key=str)))

    return _check_each_value(column, judge, False)


def _check_date(column: pd.Series) -> _Cells:
    def judge(text: str, raw: Any) -> _Verdict:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if pd.isna(parsed):
            return _Verdict(None, "invalid_date", f"{text!r} is not a date (use YYYY-MM-DD)")
        return _Verdict(parsed.date().isoformat())

    return _check_each_value(column, judge, False)


def _check_text(column: pd.Series) -> _Cells:
    text = column.astype("string").str.strip()
    values = text.where(~text.isin(MISSING_TOKENS).fillna(True), None).astype(object)
    return _Cells(values, pd.Series(None, index=column.index, dtype=object))


def validate_responses(
    responses: Responses,
    instruments: Instrument | str | Sequence[Instrument | str],
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    invalid: str = "error",
    duplicates: str = "error",
) -> CleanResponses:
    """Check every cell and record every decision.

    Parameters
    ----------
    responses : Responses
        From :func:`read_responses` (or :func:`responses_from_frame`).
    instruments : Instrument, name, or a list of them
    id_column : str, optional
        The respondent id column; needed to find duplicate respondents and to
        name respondents in the report.
    wave_column : str, optional
        With an id column, a respondent may appear once per wave. Detected
        when a column is named ``wave`` or ``redcap_event_name``.
    invalid : {"error", "as-missing"}
        ``error`` (default): invalid cells are errors and stop scoring.
        ``as-missing``: they become missing; each is still reported.
    duplicates : {"error", "keep-all", "keep-first", "keep-last"}
        What to do with a respondent id repeated within a wave. Under
        ``invalid="error"``, ``error`` stops scoring; otherwise repeated rows are
        kept and flagged (``keep-all``) or all but one dropped, each with a line.

    Returns
    -------
    CleanResponses
    """
    if invalid not in INVALID_POLICIES:
        raise SdtSurveyError(f"--invalid must be one of {', '.join(INVALID_POLICIES)}, not {invalid!r}")
    if duplicates not in ("error", "keep-all", "keep-first", "keep-last"):
        raise SdtSurveyError(f"unknown duplicates policy {duplicates!r}")
    loaded = load_instruments(instruments)
    items = _all_items(loaded)
    frame = responses.frame
    n = len(frame)
    if id_column is not None and id_column not in frame.columns:
        raise SdtSurveyError(_no_such_column(responses.path, "id", id_column, frame.columns))
    if wave_column is None:
        wave_column = next((c for c in WAVE_COLUMNS if c in frame.columns), None)
    elif wave_column not in frame.columns:
        raise SdtSurveyError(_no_such_column(responses.path, "wave", wave_column, frame.columns))
    respondent = None
    if id_column:
        ids = frame[id_column].astype("string").str.strip()
        respondent = ids.astype(object).where(ids.notna() & ~ids.isin(MISSING_TOKENS).fillna(False), None)
    action_invalid = "set to missing" if invalid == "as-missing" else "blocked: no scores written"
    chunks: list[pd.DataFrame] = []

    def add(where: np.ndarray, column: str | None, item: str | None, values, problem: str, messages,
            action: str) -> None:  # fmt: skip
        if len(where) == 0:
            return
        chunks.append(
            pd.DataFrame(
                {
                    "row": responses.rows[where],
                    "respondent": respondent.iloc[where].to_numpy() if respondent is not None else None,
                    "column": column,
                    "item": item,
                    "value": values,
                    "problem": problem,
                    "severity": PROBLEM_SEVERITY[problem],
                    "message": messages,
                    "action": action,
                }
            )
        )

    def add_file_level(problem: str, message: str, action: str, column: str | None = None,
                       item: str | None = None) -> None:  # fmt: skip
        chunks.append(
            pd.DataFrame(
                [
                    {
                        "row": None,
                        "respondent": None,
                        "column": column,
                        "item": item,
                        "value": None,
                        "problem": problem,
                        "severity": PROBLEM_SEVERITY[problem],
                        "message": message,
                        "action": action,
                    }
                ]
            )
        )

    for row in responses.blank_rows:
        chunks.append(
            pd.DataFrame(
                [
                    {
                        "row": row,
                        "respondent": None,
                        "column": None,
                        "item": None,
                        "value": None,
                        "problem": "blank_line",
                        "severity": "info",
                        "message": "the row is entirely empty",
                        "action": "skipped",
                    }
                ]
            )
        )

    values: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    invalid_mask = np.zeros((n, len(items)), dtype=bool)
    for j, item in enumerate(items):
        columns = responses.item_columns.get(item.id)
        if not columns:
            action = "scored as missing" if invalid == "as-missing" else "blocked: no scores written"
            add_file_level(
                "absent_item_column",
                f"item {item.id!r} has no column in the file"
                + (
                    f"; columns that look like items: {', '.join(responses.item_like_columns)}"
                    if responses.item_like_columns
                    else ""
                ),
                action,
                item=item.id,
            )
            values[item.id] = pd.Series(np.nan if item.is_scored else None, index=frame.index)
            reasons[item.id] = pd.Series("absent", index=frame.index, dtype=object)
            continue
        if item.type == "multiple" and len(columns) > 1:
            raw_cells = frame[columns]
            raw_values = raw_cells.astype("string").fillna("").agg("|".join, axis=1)
            cells = _check_multiple(item, raw_cells, responses.choice_columns.get(item.id))
            column_name = "|".join(columns)
        else:
            column_name = columns[0]
            source_column = frame[item.id] if item.id in frame.columns else frame[column_name]
            raw_values = source_column
            if item.type in ("likert", "single"):
                cells = _check_coded(
                    item,
                    source_column,
                    responses.value_labels.get(item.id),
                    responses.user_missing.get(item.id, set()),
                )
            elif item.type in ("integer", "number"):
                cells = _check_numeric(item, source_column)
            elif item.type == "multiple":
                cells = _check_multiple(item, source_column)
            elif item.type == "date":
                cells = _check_date(source_column)
            else:
                cells = _check_text(source_column)
        for where, problem, messages in cells.problems:
            severity = PROBLEM_SEVERITY[problem]
            if severity == "error":
                invalid_mask[where, j] = True
                action = action_invalid
            elif problem == "missing_code":
                action = "set to missing"
            else:
                action = "kept"
            add(
                where,
                column_name,
                item.id,
                np.asarray(raw_values.iloc[where], dtype=object).astype(str),
                problem,
                messages,
                action,
            )
        values[item.id] = cells.values
        reasons[item.id] = cells.missing_reason.where(
            cells.missing_reason.notna() | cells.values.notna(), None
        )
        # Invalid cells are recorded as such in the missing-reason table too.
        invalid_rows = np.flatnonzero(invalid_mask[:, j])
        if len(invalid_rows):
            reasons[item.id].iloc[invalid_rows] = "invalid"

    clean = pd.DataFrame(values, index=frame.index)
    missing_reason = pd.DataFrame(reasons, index=frame.index)
    # Branching: an item hidden by show_if is not required, and should not be answered.
    multiple_items = {item.id for item in items if item.type == "multiple"}
    for item in items:
        shown = np.ones(n, dtype=bool)
        if item.show_if is not None:
            shown = expressions.evaluate(item.show_if, clean, multiple_items)
            answered_hidden = np.flatnonzero(~shown & clean[item.id].notna().to_numpy())
            add(
                answered_hidden,
                _column_of(responses, item.id),
                item.id,
                clean[item.id].iloc[answered_hidden].astype(str).to_numpy(),
                "answered_when_hidden",
                [f"answered although hidden by show_if ({item.show_if.to_text()})"] * len(answered_hidden),
                "kept",
            )
            hidden_missing = ~shown & clean[item.id].isna().to_numpy()
            missing_reason.loc[hidden_missing, item.id] = "not_shown"
        if item.required and item.id in responses.item_columns:
            unanswered = shown & clean[item.id].isna().to_numpy() & missing_reason[item.id].isna().to_numpy()
            where = np.flatnonzero(unanswered)
            add(
                where,
                _column_of(responses, item.id),
                item.id,
                np.full(len(where), ""),
                "missing_required",
                ["required item not answered"] * len(where),
                "left missing",
            )
            missing_reason.loc[unanswered, item.id] = "unanswered"
    missing_reason = missing_reason.where(missing_reason.notna() | clean.notna(), "unanswered").where(
        clean.isna(), None
    )

    answered = clean.notna().any(axis=1).to_numpy()
    empty = np.flatnonzero(~answered)
    add(
        empty,
        None,
        None,
        np.full(len(empty), ""),
        "empty_row",
        ["no item answered"] * len(empty),
        "kept; every score missing",
    )

    for column, why in responses.item_like_columns.items():
        add_file_level(
            "item_like_column",
            f"column {column!r} {why} but matches no item; map it with --map or it passes through unchanged",
            "passed through",
            column=column,
        )

    duplicate = pd.Series(False, index=frame.index)
    keep = np.ones(n, dtype=bool)
    if respondent is not None:
        no_id = np.flatnonzero(respondent.isna().to_numpy())
        add(
            no_id,
            id_column,
            None,
            np.full(len(no_id), ""),
            "missing_id",
            ["the respondent id is empty"] * len(no_id),
            action_invalid.replace("set to missing", "kept"),
        )
        # REDCap repeating instruments legitimately repeat a record within an event.
        repeat = [c for c in ("redcap_repeat_instrument", "redcap_repeat_instance") if c in frame.columns]
        keys = [respondent] + [
            frame[c].astype("string") for c in [*([wave_column] if wave_column else []), *repeat]
        ]
        key_frame = pd.concat(keys, axis=1)
        dup = key_frame.duplicated(keep=False).to_numpy() & respondent.notna().to_numpy()
        duplicate = pd.Series(dup, index=frame.index)
        if dup.any():
            first_row = (
                pd.Series(responses.rows, index=frame.index)
                .groupby([k.to_numpy() for k in keys])
                .transform("min")
            )
            where = np.flatnonzero(dup)
            in_wave = f" in {wave_column} " if wave_column else " "
            messages = [f"respondent id repeated{in_wave}(first at row {first_row.iloc[i]})" for i in where]
            if duplicates == "error" and invalid == "error":
                action = "blocked: no scores written"
            elif duplicates in ("keep-first", "keep-last"):
                drop = (
                    key_frame.duplicated(keep="first" if duplicates == "keep-first" else "last").to_numpy()
                    & dup
                )
                keep &= ~drop
                action = "kept (the other rows with this id dropped)"
            else:
                action = "kept; flagged duplicate_id"
            problems_kind = "duplicate_id"
            if duplicates in ("keep-first", "keep-last"):
                kept_where = np.flatnonzero(dup & keep)
                dropped_where = np.flatnonzero(dup & ~keep)
                add(
                    kept_where,
                    id_column,
                    None,
                    respondent.iloc[kept_where].to_numpy(),
                    problems_kind,
                    [messages[list(where).index(i)] for i in kept_where],
                    action,
                )
                add(
                    dropped_where,
                    id_column,
                    None,
                    respondent.iloc[dropped_where].to_numpy(),
                    "duplicate_dropped",
                    [messages[list(where).index(i)] for i in dropped_where],
                    f"dropped ({duplicates})",
                )
            else:
                add(
                    where, id_column, None, respondent.iloc[where].to_numpy(), problems_kind, messages, action
                )

    issues = (pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=ISSUE_COLUMNS))[
        ISSUE_COLUMNS
    ]
    if not issues.empty:
        order = issues["row"].fillna(0).astype(float)
        issues = issues.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o")
        issues = issues.reset_index(drop=True)
    if (duplicates != "error" or invalid == "as-missing") and not issues.empty:
        # A repeated id that is kept or resolved by policy is a decision, not a blocker.
        issues.loc[issues["problem"] == "duplicate_id", "severity"] = "warning"
    report = DataQualityReport(
        issues=issues,
        path=responses.path,
        n_records=n,
        invalid=invalid,
        source=responses.source,
        detection=responses.detection,
    )
    if invalid == "as-missing":
        clean = clean.mask(pd.DataFrame(invalid_mask, index=frame.index, columns=[i.id for i in items]))
    invalid_count = pd.Series(invalid_mask.sum(axis=1), index=frame.index)
    item_ids = [i.id for i in items]
    missing_count = clean[item_ids].isna().sum(axis=1) - (missing_reason == "not_shown").sum(axis=1)
    passthrough = _numeric_where_unambiguous(
        frame[[c for c in responses.passthrough if c not in _checkbox_columns(responses)]],
        keep_text=[id_column] if id_column else [],
    )
    return CleanResponses(
        values=clean.loc[keep].reset_index(drop=True),
        passthrough=passthrough.loc[keep].reset_index(drop=True),
        rows=responses.rows[keep],
        respondent=respondent.loc[keep].reset_index(drop=True) if respondent is not None else None,
        report=report,
        instruments=loaded,
        missing_reason=missing_reason.loc[keep].reset_index(drop=True),
        invalid_count=invalid_count.loc[keep].reset_index(drop=True),
        missing_count=missing_count.loc[keep].reset_index(drop=True),
        duplicate=duplicate.loc[keep].reset_index(drop=True),
        source=responses.source,
    )


def _numeric_where_unambiguous(frame: pd.DataFrame, keep_text: Sequence[str] = ()) -> pd.DataFrame:
    """Text columns whose every value is a plain number (PGY, cohort, wave) become numbers.

    Ids and codes with a leading zero ("0123") stay text, so nothing is changed
    that a number cannot hold exactly.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if column in keep_text or not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        text = series.astype("string").str.strip()
        present = text.notna() & ~text.isin(MISSING_TOKENS).fillna(False)
        values = text[present]
        if values.empty or not values.str.fullmatch(_PLAIN_NUMBER.pattern).all():
            continue
        if values.str.match(r"^[+-]?0\d").any():
            continue
        numbers = pd.to_numeric(text.where(present), errors="coerce")
        whole = numbers.dropna()
        out[column] = numbers.astype("Int64") if (whole == whole.round()).all() else numbers
    return out


def _no_such_column(path: str, role: str, name: str, columns: Sequence) -> str:
    names = [str(c) for c in columns]
    hint = difflib.get_close_matches(name, names, n=1)
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"{path}: no {role} column {name!r}{suggestion} (columns: {listed})"


def _column_of(responses: Responses, item_id: str) -> str:
    return "|".join(responses.item_columns.get(item_id, [item_id]))


def _checkbox_columns(responses: Responses) -> set[str]:
    return {c for cols in responses.item_columns.values() if len(cols) > 1 for c in cols}
