"""A large delimited file read a block of rows at a time, each block as the whole-file reader reads it.

The whole-file reader (:mod:`sdt_survey.responses.formats`) parses every cell
as text with pyarrow's CSV parser; here the same parser, with the same
options, hands the file over in blocks of rows (``pyarrow.csv.open_csv``),
and each block becomes :class:`~sdt_survey.responses.Responses` through the
same steps (:func:`~sdt_survey.responses.read.responses_from_table`). A file
whose reading the whole-file reader would decide on its whole text (another
encoding, cells neutralized against spreadsheet formulas, carriage returns
inside quoted cells) raises :class:`Unstreamable`, and is read whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..instrument import Instrument
from ..platforms.table import ResponseTable
from ..responses import Responses
from ..responses.formats import sniff_separator, text_csv_options, with_header
from ..responses.read import responses_from_table

#: Bytes of the file parsed at a time (pyarrow reads a few dozen such blocks ahead: keep them small).
STREAM_BLOCK_BYTES = 1 << 18
#: Rows validated and scored together (the parsed blocks are joined up to this many).
STREAM_ROWS = 1 << 14
#: The text dtype of every cell as read (what the whole-file reader gives).
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


class Unstreamable(Exception):
    """The file (or an option) needs the whole-file path to give identical results; ``args[0]`` says why."""


@dataclass
class Layout:
    """What the first block of a file says for the whole of it: separator, header, platform, columns."""

    separator: str
    names: list[str]
    source: str = "plain"
    detection: str = ""
    item_columns: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    item_like_columns: dict[str, str] = field(default_factory=dict)


def scan_text(path: Path) -> None:
    """Refuse (:class:`Unstreamable`) a file whose reading depends on its whole text.

    Plain ASCII only (the whole-file reader chooses an encoding from every
    byte), no apostrophe (a cell a writer neutralized, ``'=x``, is restored
    when the text holds one), and no carriage return in a file with quoted
    cells (a cell holding one changes the line ends of the output).
    """
    quote = carriage = False
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            if not block.isascii():
                raise Unstreamable("the file is not plain ASCII text")
            if b"'" in block:
                raise Unstreamable("the file holds an apostrophe (a cell may be neutralized)")
            quote = quote or b'"' in block
            carriage = carriage or b"\r" in block
    if quote and carriage:
        raise Unstreamable("the file has quoted cells and carriage returns")


def header_of(path: Path) -> tuple[str, int]:
    """The separator (sniffed from the first line for .csv, a tab for .tsv) and the header's field count."""
    with open(path, "rb") as handle:
        start = handle.read(1 << 20).decode("ascii")
    if not start or start.isspace():
        raise Unstreamable("the file is empty")
    separator = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_separator(start[:65536])
    end = start.find("\n", 1 << 16)
    if end < 0 and len(start) == 1 << 20:
        raise Unstreamable("the header is longer than the first mebibyte")
    try:
        header = next(csv.reader(io.StringIO(start[: end if end >= 0 else len(start)]), delimiter=separator))
    except (csv.Error, StopIteration) as exc:
        raise Unstreamable("the header cannot be parsed") from exc
    return separator, len(header)


def blocks(path: Path, separator: str, n_fields: int) -> Iterator[list]:
    """The file's rows, a block at a time, as lists of pyarrow text columns (the header is the first row)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"f{i}" for i in range(n_fields)]
    try:
        reader = pa_csv.open_csv(
            str(path),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=STREAM_BLOCK_BYTES),
            **text_csv_options(names, separator),
        )
        pending: list = []
        rows = 0
        for batch in reader:
            if batch.num_columns != n_fields:
                raise Unstreamable("a row has another number of fields than the header")
            pending.append(batch)
            rows += batch.num_rows
            if rows >= STREAM_ROWS:
                yield _joined(pending)
                pending, rows = [], 0
        if pending:
            yield _joined(pending)
    except (pa.ArrowInvalid, ValueError) as exc:
        # A ragged row or a blank line: the whole-file reader reads those with pandas, or names the line.
        raise Unstreamable(f"the columnar parser stops: {exc}") from exc


def _joined(batches: list) -> list:
    """Parsed blocks as one list of columns."""
    import pyarrow as pa

    if len(batches) == 1:
        return batches[0].columns
    return [pa.concat_arrays([b.column(i) for b in batches]) for i in range(batches[0].num_columns)]


def release_memory() -> None:
    """Hand memory freed by numpy, pandas and pyarrow back to the system (glibc keeps it otherwise).

    A streamed run frees each block's tables before the next; without this,
    the C allocator keeps the freed pages and the process's resident memory
    grows as if every block were still held.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _libc("malloc_trim")
    if trim:
        trim(0)


@contextmanager
def lean_memory() -> Iterator[None]:
    """Within: pyarrow allocates with the C allocator, and glibc maps large blocks apart.

    pyarrow's own allocator (mimalloc) and glibc's heap both keep pages a
    freed block of rows leaves between the arrays that stay; with the system
    pool, :func:`release_memory` hands all of them back, and with a fixed
    threshold for mapping blocks apart (glibc raises it as large blocks are
    freed, which puts the next ones on the heap) a freed array is returned at
    once. The pool is restored on leaving; the threshold (Linux only) stays.
    """
    import pyarrow as pa

    previous = pa.default_memory_pool()
    options = _libc("mallopt")
    if options:
        options(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


#: glibc's mallopt parameter for the size from which a block is mapped apart, and the size set.
_M_MMAP_THRESHOLD, _MMAP_THRESHOLD = -3, 1 << 17
_LIBC: dict[str, object] = {}


def _libc(name: str):
    """A glibc function, or None elsewhere (macOS, Windows, musl without it)."""
    if name not in _LIBC:
        import ctypes
        import ctypes.util
        import sys

        found = None
        if sys.platform.startswith("linux"):
            try:
                found = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
            except (OSError, AttributeError):
                found = None
        _LIBC[name] = found
    return _LIBC[name]


def frame_of(columns: Sequence, names: Sequence[str] | None) -> pd.DataFrame:
    """pyarrow text columns as the whole-file reader's frame (``str`` columns), named by ``names``."""
    frame = pd.DataFrame(
        {p: pd.Series(pd.array(column, dtype=TEXT), copy=False) for p, column in enumerate(columns)},
        copy=False,
    )
    if names is not None:
        frame.columns = list(names)
    return frame


def read_blocks(
    path: Path, display: str, instruments: Sequence[Instrument], source: str
) -> Iterator[tuple[int, Responses, Layout]]:
    """Each block of records as :class:`Responses` (row numbers as in the whole file), with the layout.

    ``(start, responses, layout)``: ``start`` is the position of the block's
    first line after the header among all lines read (blank ones included).
    Raises :class:`Unstreamable` when a block is read differently from the
    first (another platform detected, other columns matched).
    """
    separator, n_fields = header_of(path)
    layout: Layout | None = None
    table_notes: list[str] = []
    start = 0
    for columns in blocks(path, separator, n_fields):
        if layout is None:
            header = [str(h).strip() for h in frame_of([c.slice(0, 1) for c in columns], None).iloc[0]]
            if not header or not header[-1]:
                raise Unstreamable("the header ends with an empty name")
            columns = [c.slice(1) for c in columns]
            named = with_header(frame_of(columns, None), header, display)
            table_notes = named.attrs.pop("notes", [])
            layout = Layout(separator, list(named.columns))
        frame = frame_of(columns, layout.names)
        if not len(frame):
            continue
        # Row numbers as in the whole file (the header is row 1): the block's first record is row start + 2.
        table = ResponseTable(frame, header_rows=start + 1, notes=list(table_notes))
        read = responses_from_table(table, instruments, source=source, display=display)
        if start == 0:
            layout.source, layout.detection = read.source, read.detection
            layout.item_columns, layout.notes = read.item_columns, read.notes
            layout.item_like_columns = read.item_like_columns
        elif (read.source, read.detection, read.item_columns, read.notes, read.item_like_columns) != (
            layout.source,
            layout.detection,
            layout.item_columns,
            layout.notes,
            layout.item_like_columns,
        ):
            raise Unstreamable("a block of rows is read differently from the first")
        yield start, read, layout
        start += len(frame)
        del read, frame, table
        release_memory()


__all__ = [
    "STREAM_BLOCK_BYTES",
    "Layout",
    "Unstreamable",
    "lean_memory",
    "read_blocks",
    "release_memory",
    "scan_text",
]
