"""The generic file readers: one function per format, as pandas.io has.

Each reader returns a :class:`~sdt_survey.platforms.table.ResponseTable`
with every cell as written (text stays text) and the row numbers a
spreadsheet would show. :func:`read_file` picks the reader by suffix, after
asking the platforms whether one of them owns the file (ReproSchema's
response archives); JSON records in a platform's own shape (the HTML form's
responses) are flattened by that platform.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._spreadsheet_safe import may_hold_neutralized, restore_frame
from .._untrusted import decode_text, flatten_json_cells, load_json
from .._untrusted import read_parquet as _read_parquet_frame
from ..errors import SdtSurveyError
from ..instrument import Instrument
from ..platforms import reading_platforms
from ..platforms.table import ResponseTable


def _read_delimited(path: Path, display: str, sep: str | None) -> ResponseTable:
    raw = path.read_bytes()
    text, notes = decode_text(raw, display)
    if not text or text.isspace():  # not text.strip(): no copy of the whole file
        raise SdtSurveyError(f"{display}: the file is empty")
    if sep is None:
        sep = sniff_separator(text[:65536])
    neutralized = may_hold_neutralized(text, sep)
    # The columnar parser reads UTF-8 bytes: the file's own when its text is them, so the
    # decoded copy of the whole file is let go before parsing.
    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    utf8 = body if text.isascii() and len(body) == len(text) else None
    frame = _parse_columnar(utf8 if utf8 is not None else text.encode("utf-8"), sep, text)
    del raw, body, utf8
    if frame is None:
        frame = _parse_with_pandas(text, sep, display)
    del text
    # A cell that a writer neutralized against spreadsheet formulas ('=x) reads back as written (=x).
    if neutralized:
        frame = restore_frame(frame)
    header = [str(h).strip() for h in frame.iloc[0].tolist()]
    body_frame = frame.iloc[1:].reset_index(drop=True)
    del frame
    # Qualtrics (and Excel) may end every line with a separator: an unnamed, empty last column.
    while header and not header[-1] and (body_frame.iloc[:, -1].astype(str).str.strip() == "").all():
        header.pop()
        body_frame = body_frame.iloc[:, :-1]
    named = with_header(body_frame, header, display)
    return ResponseTable(named, notes=notes + named.attrs.pop("notes", []))


def sniff_separator(start: str) -> str:
    """The separator of a .csv file (``,``, ``;`` or tab), sniffed from the first line of ``start``."""
    try:
        return csv.Sniffer().sniff(start.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def text_csv_options(names: list[str], separator: str) -> dict:
    """pyarrow's parse and convert options that read every cell as the text it is (no nulls, no types).

    Shared by the whole-file reader and the streaming intake's block reader, so
    both see the same cells.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    return {
        "parse_options": pa_csv.ParseOptions(
            delimiter=separator,
            quote_char='"',
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=False,
        ),
        "convert_options": pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }


def _parse_columnar(data: bytes, sep: str, text: str) -> pd.DataFrame | None:
    """Every cell as text, parsed by pyarrow's CSV reader column by column; the header is row 0.

    The result is the frame :func:`_parse_with_pandas` gives (the same cells and
    dtype) in a fraction of the memory: no Python object per cell, no decoded
    copy of the file. ``None`` for a file whose rows do not all have the
    header's number of fields (a blank line, a ragged row): the pandas parser
    reads those, and names the line of a row that is too long.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        end = text.find("\n", 1 << 16)  # the header, and more: a quoted name may hold a line break
        header = next(csv.reader(io.StringIO(text[: end if end >= 0 else len(text)]), delimiter=sep))
    except (csv.Error, StopIteration):
        return None
    names = [f"f{i}" for i in range(len(header))]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),  # the bytes in place, not copied block by block into Python
            read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 24),
            **text_csv_options(names, sep),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if table.num_columns != len(names) or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas' parser gives for dtype=str
    columns = {}
    for position in range(table.num_columns):  # one column at a time: the table shrinks as the frame grows
        column = table.column(0)
        table = table.remove_column(0)
        columns[position] = pd.Series(pd.array(column, dtype=dtype), copy=False)
        del column
    return pd.DataFrame(columns, copy=False)


def _parse_with_pandas(text: str, sep: str, display: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
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


def with_header(body: pd.DataFrame, header: list[str], display: str) -> pd.DataFrame:
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


def read_csv(path: Path, display: str) -> ResponseTable:
    """A .csv (or .txt) file; the separator (``,``, ``;`` or tab) is sniffed from the header."""
    return _read_delimited(path, display, None)


def read_tsv(path: Path, display: str) -> ResponseTable:
    """A tab-separated .tsv or .tab file."""
    return _read_delimited(path, display, "\t")


def read_excel(
    path: Path, display: str, sheet: str | int | None = None, instruments: Sequence[Instrument] = ()
) -> ResponseTable:
    """An Excel workbook's sheet; the first row names the columns.

    Without ``sheet``, a workbook of one sheet is read whole; of several, the
    sheet whose header names the most of the instruments' items (by id,
    ``item_<id>`` or alias) is read, and a workbook where no one sheet does is
    refused with the list of its sheets.
    """
    try:
        with pd.ExcelFile(path) as workbook:
            names = [str(n) for n in workbook.sheet_names]
            chosen = _choose_sheet(workbook, names, sheet, instruments, display)
            frame = workbook.parse(chosen, header=None, dtype=object)
    except (ValueError, zipfile.BadZipFile, KeyError, OSError) as exc:
        # openpyxl reads .xlsx as a zip of XML parts: a damaged one fails in any of these ways.
        raise SdtSurveyError(f"{display}: cannot read as an Excel workbook: {exc}") from exc
    if frame.empty:
        name = names[chosen] if isinstance(chosen, int) else chosen
        raise SdtSurveyError(f"{display}: the sheet is empty (sheet {name!r})")
    header = ["" if pd.isna(h) else str(h).strip() for h in frame.iloc[0].tolist()]
    table = ResponseTable(with_header(frame.iloc[1:].reset_index(drop=True), header, display))
    if len(names) > 1 and sheet is None:
        table.notes.append(
            f"sheet {names[chosen]!r} read: its columns are the items (sheets: {_listed(names)})"
        )
    return table


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _choose_sheet(
    workbook: pd.ExcelFile,
    names: list[str],
    sheet: str | int | None,
    instruments: Sequence[Instrument],
    display: str,
) -> str | int:
    if sheet is not None:
        if isinstance(sheet, int) and not 0 <= sheet < len(names):
            raise SdtSurveyError(
                f"{display}: no sheet number {sheet + 1}; the workbook has {len(names)}: {_listed(names)}"
            )
        if isinstance(sheet, str) and sheet not in names:
            raise SdtSurveyError(f"{display}: no sheet {sheet!r}; the workbook has {_listed(names)}")
        return sheet
    if len(names) == 1:
        return 0
    wanted = set()
    for inst in instruments:
        for item in inst.items:
            wanted |= {
                item.id.lower(),
                f"item_{item.id}".lower(),
                *(a.lower() for a in item.aliases.values()),
            }
    matches = []
    for position in range(len(names)):
        header = workbook.parse(position, header=None, nrows=1, dtype=object)
        cells = {str(c).strip().lower() for c in header.iloc[0].tolist()} if len(header) else set()
        matches.append(len(cells & wanted))
    best = max(matches)
    if best > 0 and matches.count(best) == 1:
        return matches.index(best)
    why = "no sheet has" if best == 0 else "several sheets have"
    raise SdtSurveyError(
        f"{display}: the workbook has {len(names)} sheets ({_listed(names)}) and {why} the instrument's "
        "item columns; name the sheet to read with sheet=NAME"
    )


def read_sav(path: Path, display: str) -> ResponseTable:
    """An SPSS (.sav, .zsav, .por) or Stata (.dta) file, with its value labels and user-missing codes."""
    import pyreadstat

    suffix = path.suffix.lower()
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
    return ResponseTable(
        frame,
        header_rows=0,
        value_labels=dict(meta.variable_value_labels or {}),
        user_missing=user_missing,
    )


def read_parquet(path: Path, display: str) -> ResponseTable:
    """A Parquet file (types kept)."""
    return ResponseTable(_read_parquet_frame(path, display), header_rows=0)


def read_json_lines(path: Path, display: str) -> ResponseTable:
    """JSON lines (.jsonl, .ndjson): one object per line, numbered by its line."""
    records = []
    rows = []
    text, notes = decode_text(path.read_bytes(), display)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = load_json(line, display, line=number)
        if not isinstance(record, dict):
            raise SdtSurveyError(f"{display}:{number}: each line must be a JSON object")
        records.append(_flatten_record(record, display))
        rows.append(number)
    frame = flatten_json_cells(pd.DataFrame.from_records(records), display, rows)
    frame.attrs["rows"] = np.asarray(rows)
    return ResponseTable(frame, header_rows=0, notes=notes)


def read_json(path: Path, display: str) -> ResponseTable:
    """A JSON object or list of objects (the HTML form's responses), numbered by place in the list."""
    text, notes = decode_text(path.read_bytes(), display)
    data = load_json(text, display)
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in records):
        raise SdtSurveyError(f"{display}: expected a JSON object or a list of objects")
    frame = pd.DataFrame.from_records([_flatten_record(r, display) for r in records])
    # A JSON file has no rows of its own: a record is numbered by its place in the list.
    return ResponseTable(flatten_json_cells(frame, display), header_rows=0, notes=notes)


def _flatten_record(record: dict, display: str) -> dict:
    """A record in a platform's own JSON shape as one flat row (others unchanged)."""
    for platform in reading_platforms():
        flatten = platform.hook("flatten_record")
        if flatten is not None:
            record = flatten(record, display)
    return record


#: Suffix -> reader; a reader takes ``(path, display)``.
READERS: dict[str, Callable[[Path, str], ResponseTable]] = {
    ".csv": read_csv,
    ".txt": read_csv,
    ".tsv": read_tsv,
    ".tab": read_tsv,
    ".xlsx": read_excel,
    ".xlsm": read_excel,
    ".xls": read_excel,
    ".sav": read_sav,
    ".zsav": read_sav,
    ".dta": read_sav,
    ".por": read_sav,
    ".parquet": read_parquet,
    ".jsonl": read_json_lines,
    ".ndjson": read_json_lines,
    ".json": read_json,
}


def read_file(
    path: Path, display: str, sheet: str | int | None = None, instruments: Sequence[Instrument] = ()
) -> ResponseTable:
    """Read a response file by its suffix (a file a platform owns is read by that platform).

    Raises :class:`~sdt_survey.errors.SdtSurveyError` naming the file when it
    cannot be read.
    """
    try:
        return _read_by_type(path, display, sheet, instruments)
    except OSError as exc:  # unreadable (permissions, a folder, a device): say which file
        raise SdtSurveyError(f"{display}: cannot read the file: {exc.strerror or exc}") from exc


def _read_by_type(
    path: Path, display: str, sheet: str | int | None, instruments: Sequence[Instrument]
) -> ResponseTable:
    for platform in reading_platforms():
        owns_file = platform.hook("owns_file")
        if owns_file is not None and owns_file(path):
            return platform.hook("read_table")(path, display, instruments)
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is read_excel:
        return read_excel(path, display, sheet, instruments)
    if reader is not None:
        return reader(path, display)
    raise SdtSurveyError(
        f"{display}: unknown file type {suffix or '(none)'}; use .csv, .tsv, .xlsx, .sav, .dta, "
        ".parquet, .jsonl, .json, or reproschema-ui's .zip / .jsonld"
    )
