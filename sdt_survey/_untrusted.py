"""Reading bytes that may be broken or hostile: text encodings, JSON, Parquet, zip archives.

Every reader of a user's file goes through these helpers so that a damaged,
oddly encoded or deliberately hostile file ends in a located
:class:`~sdt_survey.errors.SdtSurveyError`, never in a traceback and never in
a silently wrong value:

* :func:`decode_text` decodes strictly. A file that is not UTF-8 is read as
  Windows-1252 only when *none* of its bytes form UTF-8 characters; a file
  that mixes both (some rows saved as UTF-8, others as Latin-1) is refused,
  because guessing would split one group into two ("Clínica" and "ClÃ­nica").
* :func:`load_json` turns nesting too deep to parse, numbers too long to
  convert and non-object values into located errors.
* :func:`read_parquet` refuses text columns holding bytes that are not UTF-8,
  naming the column and row.
* :func:`read_zip_members` caps the member count and decompressed size of an
  archive, checking the sizes the archive declares *and* counting while it
  decompresses, so a zip bomb is refused quickly in bounded memory. Nothing is
  ever extracted to disk, so member names (``../../x``) cannot escape.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .errors import SdtSurveyError

# ------------------------------------------------------------------ characters

#: C0 controls except tab, line feed and carriage return; DEL; C1 controls.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_C0_NAMES = [
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI",
    "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
]  # fmt: skip


def describe_character(character: str) -> str:
    """``U+0000 (NUL)``: a code point and, for a control character, its usual name."""
    code = ord(character)
    if code < 32:
        name = _C0_NAMES[code]
    elif code == 0x7F:
        name = "DEL"
    elif 0x80 <= code <= 0x9F:
        name = "a C1 control"
    else:
        return f"U+{code:04X}"
    return f"U+{code:04X} ({name})"


def control_characters(text: str, limit: int = 10) -> list[tuple[int, int, str]]:
    """The first ``limit`` control characters of ``text`` as ``(line, column, description)``.

    Lines and columns are 1-based and count line feeds only, as YAML and
    editors do for files with either line ending.
    """
    found = []
    for match in CONTROL_CHARACTER.finditer(text):
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        found.append((line, column, describe_character(match.group())))
        if len(found) >= limit:
            break
    return found


# ---------------------------------------------------------------------- text

#: A UTF-8 encoded character of two to four bytes (RFC 3629), as raw bytes.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)

#: Byte-order marks: (bytes, codec, name for people).
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


#: The encoding a person stated for the text files read in this context (``--encoding``).
_STATED_ENCODING: ContextVar[str | None] = ContextVar("sdt_survey_text_encoding", default=None)


def stated_encoding() -> str | None:
    """The encoding stated by :func:`text_encoding` for the files read now (None: chosen automatically)."""
    return _STATED_ENCODING.get()


def check_encoding(encoding: str) -> str:
    """The codec's canonical name, or :class:`SdtSurveyError` for a name Python does not know."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise SdtSurveyError(
            f"unknown encoding {encoding!r}; e.g. utf-8, cp1252 (Excel on Windows), latin-1, utf-16"
        ) from None


@contextmanager
def text_encoding(encoding: str | None) -> Iterator[None]:
    """Read every delimited or JSON text file opened within the block in ``encoding``.

    For functions such as :func:`sdt_survey.score` that read a file they are
    given by path; :func:`sdt_survey.read_responses` also takes ``encoding``
    directly. ``None`` keeps the automatic choice.

    Examples
    --------
    >>> from sdt_survey.responses import text_encoding
    >>> with text_encoding("cp1252"):
    ...     pass  # sdt_survey.score("bpn-residency", "export-from-excel.csv") reads cp1252 here
    """
    if encoding is not None:
        check_encoding(encoding)
    token = _STATED_ENCODING.set(encoding)
    try:
        yield
    finally:
        _STATED_ENCODING.reset(token)


def decode_text(raw: bytes, display: str, encoding: str | None = None) -> tuple[str, list[str]]:
    """Decode a text file strictly, returning the text and notes for the reader.

    Parameters
    ----------
    raw : bytes
        The whole file.
    display : str
        The file as the user named it, for messages.
    encoding : str, optional
        The encoding the user states (any Python codec name, e.g. ``cp1252``,
        ``latin-1``, ``utf-16``); default: the one stated with
        :func:`text_encoding`, if any. Without either: a byte-order mark
        decides; else UTF-8; else Windows-1252 when no byte sequence in the
        file is UTF-8.

    Raises
    ------
    SdtSurveyError
        When the bytes do not decode (naming the line), when the file mixes
        UTF-8 with another encoding, or when it holds NUL bytes (a binary file).
    """
    encoding = encoding if encoding is not None else _STATED_ENCODING.get()
    if encoding is not None:
        codec = check_encoding(encoding)
        try:
            # A stated UTF-8 still drops the byte-order mark Excel writes.
            return raw.decode("utf-8-sig" if codec == "utf-8" else codec), []
        except UnicodeDecodeError as exc:
            raise SdtSurveyError(
                f"{display}:{_line_of(raw, exc.start)}: byte {raw[exc.start]:#04x} is not valid "
                f"{encoding}; check the encoding the file was saved in"
            ) from exc
    for bom, codec, name in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec), []
            except UnicodeDecodeError as exc:
                raise SdtSurveyError(
                    f"{display}:{_line_of(raw, exc.start)}: the file starts with a {name} byte-order "
                    f"mark but byte {exc.start + 1} is not {name}; re-save the whole file as UTF-8"
                ) from exc
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise SdtSurveyError(
            f"{display}:{_line_of(raw, nul)}: the file holds NUL bytes, so it is not "
            "text; is it a spreadsheet, archive or UTF-16 file saved under the wrong extension?"
        )
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        bad_line = _line_of(raw, exc.start)
        utf8 = _UTF8_MULTIBYTE.search(raw)
        if utf8 is not None:
            raise SdtSurveyError(
                f"{display}:{bad_line}: this line is not UTF-8, but line {_line_of(raw, utf8.start())} "
                "is: the file mixes encodings (often rows pasted from another file), so accented "
                "text cannot be read reliably. Re-save the whole file as UTF-8, or state the "
                "encoding with encoding=NAME"
            ) from exc
    # Excel on Windows saves CSV in cp1252; say so rather than guessing silently.
    codec = "cp1252"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined: only Latin-1 takes every byte
        codec = "latin-1"
        text = raw.decode(codec)
    name = "Windows-1252 (cp1252)" if codec == "cp1252" else "Latin-1"
    return text, [f"{display} is not UTF-8; read it as {name}"]


# ---------------------------------------------------------------------- JSON

#: Integers longer than this are kept as their text: no survey code is that long,
#: an id that long stays exact, and Python refuses to convert more than 4,300 digits.
_MAX_INT_DIGITS = 18


def _parse_int(text: str) -> int | str:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else text


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        self.key = key


def _refuse_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) < len(pairs):
        counts = Counter(key for key, _ in pairs)
        raise _RepeatedKey(next(key for key, n in counts.items() if n > 1))
    return record


def load_json(text: str, where: str, line: int | None = None) -> object:
    """Parse JSON, turning every failure into a located :class:`SdtSurveyError`.

    ``where`` names the file (or archive member); ``line`` is the line of a
    JSON-lines record, used instead of the parser's own line numbers. A key
    repeated in one object is refused: JSON leaves its meaning open and
    Python would silently keep the last value.
    """
    try:
        return json.loads(text, parse_int=_parse_int, object_pairs_hook=_refuse_repeated_keys)
    except _RepeatedKey as exc:
        at = f":{line}" if line is not None else ""
        raise SdtSurveyError(f"{where}{at}: the key {exc.key!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        at = f"{line}" if line is not None else f"{exc.lineno}:{exc.colno}"
        raise SdtSurveyError(f"{where}:{at}: not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        at = f":{line}" if line is not None else ""
        raise SdtSurveyError(
            f"{where}{at}: the JSON is nested too deeply to read; a response file holds "
            "records whose values are numbers, text, true/false or null"
        ) from exc


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _cell_problem(value: object) -> str | None:
    if isinstance(value, dict):
        return "holds a JSON object"
    if isinstance(value, list) and not all(_is_scalar(v) for v in value):
        return "holds a list of lists or objects"
    return None


_MAYBE_NESTED = {"mixed", "mixed-integer", "unknown-array"}


def flatten_json_cells(frame: pd.DataFrame, display: str, lines: Sequence[int] | None = None) -> pd.DataFrame:
    """Check the cells of records read from JSON; a list of plain values becomes one cell.

    A list such as ``[1, 3]`` is read as ``"1 3"``, the way the HTML form
    writes a multiple-choice answer. An object, or a list holding lists or
    objects, is refused naming the key and the record: its line in a JSON-lines
    file (``lines``), else its 1-based place in the list.
    """
    import numpy as np
    import pandas as pd

    out = frame
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        # Type inference runs in C; only a column it calls mixed can hold a list or an object.
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in _MAYBE_NESTED:
            continue
        nested = values.map(lambda v: isinstance(v, (dict, list))).to_numpy(dtype=bool)
        if not nested.any():
            continue
        problems = values[nested].map(_cell_problem)
        bad = problems.notna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(nested)[np.argmax(bad)])
            where = f"{display}:{lines[first]}" if lines is not None else f"{display}: record {first + 1}"
            raise SdtSurveyError(
                f"{where}: key {column!r} {problems.iloc[int(np.argmax(bad))]}; a cell must be "
                "a number, text, true/false, null, or a list of those (read as values separated by spaces)"
            )
        if out is frame:
            out = frame.copy()
        joined = values[nested].map(lambda v: " ".join(map(str, v)) if v else None)
        out.iloc[np.flatnonzero(nested), position] = joined.to_numpy(dtype=object)
    return out


# ------------------------------------------------------------------- Parquet


def _first_invalid_utf8(values) -> int:
    """Index of the first value of a binary array that is not UTF-8 (bisection, no row loop)."""
    import pyarrow as pa

    low, high = 0, len(values)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            values.slice(low, middle - low).cast(pa.string())
        except pa.ArrowInvalid:
            high = middle
        else:
            low = middle
    return low


def _check_utf8(values, display: str, name: str, first_row: int | None) -> None:
    """Refuse a string or binary array holding bytes that are not UTF-8.

    ``first_row`` is the file row of ``values[0]``, or ``None`` for the
    distinct values of a dictionary-encoded column (which have no row).
    """
    import pyarrow as pa

    large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    raw = values.view(pa.large_binary() if large else pa.binary())
    try:
        raw.cast(pa.large_string() if large else pa.string())
    except pa.ArrowInvalid as exc:
        bad = _first_invalid_utf8(raw)
        where = f", row {first_row + bad}" if first_row is not None else ""
        raise SdtSurveyError(
            f"{display}: column {name!r}{where}: the value is not UTF-8 text "
            f"({raw[bad].as_py()[:40]!r}); re-save the file with its text in UTF-8"
        ) from exc


def _is_text(kind) -> bool:
    import pyarrow as pa

    return any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                        pa.types.is_large_binary))  # fmt: skip


def read_parquet(path: Path, display: str) -> pd.DataFrame:
    """Read a Parquet file whose text columns must be UTF-8.

    Binary columns are read as text when every value is UTF-8. A column with
    bytes that are not UTF-8, or with lists or structures in its cells, is
    refused naming the column and (for bytes) the row. The pandas metadata
    (a saved index, categories) is kept, as :func:`pandas.read_parquet` would.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        # Checked before reading: Arrow's own message for a repeated name is cryptic.
        repeated = next((name for name, n in Counter(names).items() if n > 1), None)
        if repeated is not None:
            raise SdtSurveyError(f"{display}: the column name {repeated!r} appears more than once")
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SdtSurveyError(f"{display}: cannot read as Parquet: {exc}") from exc
    columns = []
    for name, column in zip(names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            if _is_text(kind.value_type):
                for chunk in column.chunks:
                    _check_utf8(chunk.dictionary, display, name, None)
                if pa.types.is_binary(kind.value_type) or pa.types.is_large_binary(kind.value_type):
                    column = column.cast(pa.string())
            columns.append(column)
            continue
        if pa.types.is_nested(kind):
            raise SdtSurveyError(
                f"{display}: column {name!r} holds {kind} values; a cell must be a number, text, "
                "true/false or a date"
            )
        if _is_text(kind):
            first_row = 1
            for chunk in column.chunks:
                _check_utf8(chunk, display, name, first_row)
                first_row += len(chunk)
            if pa.types.is_binary(kind):
                column = column.cast(pa.string())
            elif pa.types.is_large_binary(kind):
                column = column.cast(pa.large_string())
        columns.append(column)
    try:
        return pa.Table.from_arrays(columns, names=names, metadata=table.schema.metadata).to_pandas()
    except (pa.ArrowException, ValueError, OverflowError) as exc:
        raise SdtSurveyError(f"{display}: cannot convert the Parquet data: {exc}") from exc


# ----------------------------------------------------------------------- zip


@dataclass(frozen=True)
class ZipLimits:
    """What an archive may hold before it is refused as a possible zip bomb."""

    max_members: int = 10_000
    max_member_bytes: int = 64 * 2**20
    max_total_bytes: int = 256 * 2**20


ZIP_LIMITS = ZipLimits()


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def read_zip_members(
    path: Path, display: str, wanted: Callable[[str], bool], limits: ZipLimits | None = None
) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of the archive's files that ``wanted`` accepts, in name order.

    Nothing is extracted to disk. The archive is refused before decompressing
    anything when it declares too many members or too many bytes, and while
    decompressing when a member grows past what it declared or past the caps.
    """
    limits = limits or ZIP_LIMITS
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SdtSurveyError(f"{display}: cannot read as a zip archive: {exc}") from exc
    found: list[tuple[str, bytes]] = []
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise SdtSurveyError(
                f"{display}: the archive holds {len(infos):,} members (more than {limits.max_members:,}); "
                "refused as a possible zip bomb"
            )
        chosen = sorted((i for i in infos if not i.is_dir() and wanted(i.filename)), key=lambda i: i.filename)
        declared = sum(i.file_size for i in chosen)
        biggest = max(chosen, key=lambda i: i.file_size, default=None)
        if biggest is not None and biggest.file_size > limits.max_member_bytes:
            raise SdtSurveyError(
                f"{display}!{biggest.filename}: expands to {_mib(biggest.file_size)} (more than "
                f"{_mib(limits.max_member_bytes)} per file); refused as a possible zip bomb"
            )
        if declared > limits.max_total_bytes:
            raise SdtSurveyError(
                f"{display}: the files read expand to {_mib(declared)} (more than "
                f"{_mib(limits.max_total_bytes)}); refused as a possible zip bomb"
            )
        total = 0
        for info in chosen:
            parts: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as stream:
                    # Read in pieces and count: a forged header must not make us hold a bomb.
                    while piece := stream.read(2**16):
                        size += len(piece)
                        total += len(piece)
                        if size > limits.max_member_bytes or total > limits.max_total_bytes:
                            raise SdtSurveyError(
                                f"{display}!{info.filename}: expands past the size limit "
                                f"({_mib(limits.max_member_bytes)} per file, {_mib(limits.max_total_bytes)} "
                                "in all); refused as a possible zip bomb"
                            )
                        parts.append(piece)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
                raise SdtSurveyError(f"{display}!{info.filename}: cannot read this member: {exc}") from exc
            found.append((info.filename, b"".join(parts)))
    return found
