"""CSV text as pandas' ``to_csv`` writes it, built a column at a time by numpy and pyarrow.

``DataFrame.to_csv`` turns every cell into a Python object and hands the rows
to Python's :mod:`csv` writer: about a microsecond a cell, half a minute for a
scores table of a million respondents. :func:`csv_cells` gives the same text
(each cell written as pandas writes it: a float as numpy's shortest repr,
``3.0``; an integer, a boolean ``True``; text as it is; a missing value as
nothing) from each column's distinct values, joined into lines by pyarrow.
It takes only what it can write exactly: a table with a column of another
kind, or a cell that the CSV writer would quote (a separator, a quote, a line
break), returns None, and the caller writes it with pandas.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

#: Rows formatted and written together (bounded memory whatever the table's length).
_CHUNK_ROWS = 1 << 16
#: pandas' integer dtypes with missing values.
_NULLABLE_INTEGERS = ("Int8", "Int16", "Int32", "Int64")
#: Separators for which a number's text never needs quoting.
_SEPARATORS = (",", "\t", ";", "|")


@dataclass
class CsvCells:
    """A table's header line and its columns, ready to write: text columns as text, numbers as they are."""

    header: str
    columns: list[pa.Array | np.ndarray | _Integers]
    separator: str

    def write(self, path_or_buf: str | Path | None = None) -> str | None:
        """Write to a path in UTF-8 (None returned), or return the text (``path_or_buf`` None)."""
        # Each line is written as it is: it holds no quote, separator of its own or line break.
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none", delimiter="\x1f")
        schema = pa.schema([("line", pa.string())])
        sink = io.BytesIO() if path_or_buf is None else open(path_or_buf, "wb")  # noqa: SIM115
        try:
            sink.write(self.header.encode("utf-8"))
            with pa_csv.CSVWriter(sink, schema, write_options=options) as writer:
                n = len(self.columns[0])
                for start in range(0, n, _CHUNK_ROWS):
                    rows = slice(start, min(start + _CHUNK_ROWS, n))
                    texts = [_text(column[rows]) for column in self.columns]
                    line = pc.binary_join_element_wise(*texts, self.separator)
                    writer.write_table(pa.table([line], schema=schema))
            if path_or_buf is None:
                return sink.getvalue().decode("utf-8")
        finally:
            if path_or_buf is not None:
                sink.close()
        return None


@dataclass
class _Integers:
    """Whole numbers with missing values (``missing``: written as nothing)."""

    values: np.ndarray
    missing: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, rows: slice) -> _Integers:
        return _Integers(self.values[rows], self.missing[rows])


def _text(cells: pa.Array | np.ndarray | _Integers) -> pa.Array:
    """A chunk of a column as text: text as it is; numbers as pandas writes them."""
    if isinstance(cells, (pa.Array, pa.ChunkedArray)):
        return cells
    if isinstance(cells, _Integers):
        text = _text(cells.values)
        return pc.if_else(pa.array(cells.missing), "", text) if cells.missing.any() else text
    if cells.dtype.kind == "b":
        return pa.DictionaryArray.from_arrays(
            pa.array(cells.astype(np.int8)), pa.array(["False", "True"])
        ).cast(pa.string())
    if cells.dtype.kind in "iu":
        return pa.array(cells).cast(pa.string())  # decimal digits, as str() writes a whole number
    # Each distinct value written once (by bit pattern: -0.0 stays -0.0): most score columns hold few.
    keys = cells.view(np.int64)
    distinct, codes = np.unique(keys, return_inverse=True)
    distinct = distinct.view(np.float64)
    # numpy writes a float as Python's repr does (pandas' to_csv: values.astype(str)); NaN as nothing.
    words = ["" if v != v else repr(v) for v in distinct.tolist()]
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(words, pa.string())
    ).cast(pa.string())


def csv_cells(frame: pd.DataFrame, separator: str = ",") -> CsvCells | None:
    """The cells of ``frame`` as ``frame.to_csv(index=False, sep=separator)`` writes them, or None.

    None when the table is empty, has fewer than two columns, holds a column
    of a kind not handled here, or a cell the CSV writer would quote.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", None], "score": [3.0, np.nan], "n": [1, 2], "ok": [True, False]})
    >>> csv_cells(frame).write() == frame.to_csv(index=False)
    True
    >>> csv_cells(pd.DataFrame({"id": ["a,b", "c"], "n": [1, 2]})) is None  # would be quoted
    True
    """
    if (
        len(frame) == 0
        or frame.shape[1] < 2
        or separator not in _SEPARATORS
        or isinstance(frame.columns, pd.MultiIndex)
        or not frame.columns.is_unique
    ):
        return None
    header = io.StringIO()
    csv.writer(header, delimiter=separator, lineterminator="\n").writerow(list(frame.columns))
    columns = []
    try:
        for position in range(frame.shape[1]):
            text = _column_text(frame.iloc[:, position])
            if text is None or (isinstance(text, pa.Array) and _quoted(text, separator)):
                return None
            columns.append(text)
    except (pa.ArrowException, UnicodeError):
        return None
    return CsvCells(header.getvalue(), columns, separator)


def arrow_text(column: pd.Series) -> pa.Array | None:
    """A column of text (missing values null) as a pyarrow array, without a copy when pyarrow holds it.

    None when a cell is not text.
    """
    try:
        if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
            array = pa.array(column)
        else:
            array = pa.array(column.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    return array if pa.types.is_string(array.type) else None


def _quoted(text: pa.Array, separator: str) -> bool:
    """Whether a cell holds what the CSV writer would quote (or our own separator of lines)."""
    pattern = "[" + "".join(f"\\x{ord(c):02x}" for c in (separator, '"', "\r", "\n", "\x1f")) + "]"
    return bool(pc.any(pc.match_substring_regex(text, pattern)).as_py())


def _column_text(column: pd.Series) -> pa.Array | np.ndarray | _Integers | None:
    """A column's text (text columns), its numbers (written a chunk at a time), or None: not handled."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype):
        values = column.to_numpy()
        if (dtype.kind == "f" and dtype.itemsize == 8) or dtype.kind in "iub":
            return values
        if dtype.kind == "O":
            return _object_text(values)
        return None
    if pd.api.types.is_string_dtype(dtype):
        array = arrow_text(column)
        return None if array is None else pc.fill_null(array, "")
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.name in (
        "Int8",
        "Int16",
        "Int32",
        "Int64",
    ):
        return _object_text(column.to_numpy(dtype=object, na_value=None))
    return None


def _object_text(values: np.ndarray) -> pa.Array | _Integers | None:
    """Text, integers, booleans and missing values, as Python's CSV writer writes each; None for others."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("string", "integer", "boolean", "empty", "mixed-integer"):
        return None
    if kind == "string":  # text and missing values (None, NaN): missing is written as nothing
        return pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), "")
    if kind == "integer" and all(type(v) is int or v is None for v in values.tolist()):
        missing = np.array([v is None for v in values.tolist()], dtype=bool)
        try:
            numbers = np.where(missing, 0, values).astype(np.int64)
        except OverflowError:
            numbers = None
        if numbers is not None:
            return _Integers(numbers, missing)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and value != value):
            out[i] = ""
        elif isinstance(value, (str, bool, int, np.integer, np.bool_)):
            out[i] = str(value)
        else:
            return None
    return pa.array(out, type=pa.string())
