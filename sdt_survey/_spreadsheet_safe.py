"""Cells a spreadsheet cannot run: neutralizing formula injection in the tables we write.

A spreadsheet opening a CSV or TSV treats a cell that starts with ``=``,
``+``, ``-`` or ``@`` (and, in some programs, a tab or carriage return
followed by one of them) as a formula. A respondent id, a group label or a
free-text answer such as ``=HYPERLINK("http://x", "click")`` would then run
in the program evaluator's spreadsheet (OWASP "CSV injection").

The one neutralization used for every CSV and TSV this package writes: such a
cell is written with a leading apostrophe (``'=HYPERLINK(...)``), which
spreadsheets take as "this cell is text". Numbers (``-3``, ``+1.5``,
``-1e3``) are left alone: they are not formulas. A text cell that already
starts with apostrophes before a dangerous character gets one more, so the
neutralization can be undone exactly: :func:`restore_frame` (used by this
package's readers) turns every cell written by :func:`neutralize_frame` back
into the original text.

A text cell holding a carriage return is a second way in: Python's CSV
writer (and so pandas) does not quote a bare ``\r`` when lines end in
``\n``, and spreadsheets start a new row there, whose first cell is then
whatever follows. :func:`write_csv`, the one CSV/TSV writer of the package,
neutralizes the cells and, when any cell holds a ``\r``, ends lines with
``\r\n`` (as RFC 4180 does), which makes the writer quote such cells.

XLSX cells are never formulas: :func:`force_text_cells` stores every string
cell of a worksheet as text. Targets that render text as HTML (REDCap labels)
use a character reference for the leading character instead
(:func:`html_leading_reference`), so the platform shows the text unchanged.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = "=+-@\t\r"
#: A text cell that spreadsheets would run, or that already carries our apostrophes before one.
_NEEDS_APOSTROPHE = r"'*[=+\-@\t\r]"
#: A cell that we neutralized: one apostrophe more than the original had.
_NEUTRALIZED = re.compile(r"'(?='*[=+\-@\t\r])")
#: Where a neutralized cell may begin in raw text (a simple pattern: scanning stays fast).
_QUOTED_FORMULA = re.compile(r"'[=+\-@\t\r']")
#: A plain decimal number, which a spreadsheet reads as a number, not a formula.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_HTML_REFERENCES = {"=": "&#61;", "+": "&#43;", "-": "&#45;", "@": "&#64;", "\t": "&#9;", "\r": "&#13;"}


def is_formula_like(text: object) -> bool:
    """Whether a cell with this value would be read as a formula by a spreadsheet.

    Examples
    --------
    >>> [is_formula_like(v) for v in ("=1+1", "-2+3", "-3", "+1.5", "@SUM(A1)", "\\t=1", "North", 4)]
    [True, True, False, False, True, True, False, False]
    """
    return (
        isinstance(text, str)
        and bool(text)
        and text[0] in FORMULA_STARTS
        and re.fullmatch(_NUMBER, text) is None
    )


def neutralize_text(text: str) -> str:
    """One cell made safe to open in a spreadsheet (see the module's description).

    Examples
    --------
    >>> neutralize_text('=HYPERLINK("http://x")'), neutralize_text("-3"), neutralize_text("North")
    ('\\'=HYPERLINK("http://x")', '-3', 'North')
    """
    needs = re.match(_NEEDS_APOSTROPHE, text) is not None and re.fullmatch(_NUMBER, text) is None
    return "'" + text if needs else text


def restore_text(text: str) -> str:
    """The original of a cell written by :func:`neutralize_text`.

    Examples
    --------
    >>> restore_text("'=1+1"), restore_text("''=x"), restore_text("'quoted'")
    ('=1+1', "'=x", "'quoted'")
    """
    return _NEUTRALIZED.sub("", text, count=1) if _NEUTRALIZED.match(text) else text


def _text_values(values: pd.Series) -> pd.Series | None:
    """The values as a ``.str``-capable series, or None when the column holds no text."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return None
    try:
        values.str  # noqa: B018 - raises when no value is a string
    except AttributeError:
        return None
    return values


def neutralize_series(values: pd.Series) -> pd.Series:
    """:func:`neutralize_text` on every text value of a column; numbers and other types unchanged."""
    text = _text_values(values)
    if text is None:
        return values
    if not _any_formula_start(text):  # the usual column: no cell starts like a formula
        return values
    needs = text.str.match(_NEEDS_APOSTROPHE, na=False) & ~text.str.fullmatch(_NUMBER, na=False)
    needs = needs.astype(bool)
    if not needs.any():
        return values
    out = text.astype(object).copy()
    out[needs] = "'" + text[needs].astype(str)
    return out


def _any_formula_start(text: pd.Series) -> bool:
    """Whether any cell starts with an apostrophe or a formula character: a quick test in pyarrow."""
    import pyarrow.compute as pc

    from ._csv_text import arrow_text

    array = arrow_text(text)
    if array is None:  # not all text: the full test decides
        return True
    return bool(pc.any(pc.match_substring_regex(array, "^['=+\\-@\t\r]")).as_py())


def restore_series(values: pd.Series) -> pd.Series:
    """:func:`restore_text` on every text value of a column."""
    import pandas as pd

    text = _text_values(values)
    if text is None:
        return values
    # Most columns hold no leading apostrophe at all: a cheap test first, the pattern only on those.
    quoted = text.str.startswith("'", na=False).astype(bool)
    if not quoted.any():
        return values
    marked = quoted.copy()
    marked[quoted] = text[quoted].str.match(_NEUTRALIZED.pattern, na=False).astype(bool)
    if not marked.any():
        return values
    out = text.astype(object).copy()
    out[marked] = text[marked].astype(str).str.slice(1)
    # A string column stays a string column (pandas' str dtype), as the reader made it.
    return out.astype(values.dtype) if pd.api.types.is_string_dtype(values.dtype) else out


def may_hold_neutralized(text: str, separator: str) -> bool:
    """Whether delimited ``text`` has a field that :func:`neutralize_text` could have written.

    A fast test on the raw text, so that readers skip :func:`restore_frame` on
    the (usual) files that hold none.
    """
    starts = (separator, "\n", "\r", '"')
    for found in _QUOTED_FORMULA.finditer(text):
        first = last = found.start()
        while first > 0 and text[first - 1] == "'":
            first -= 1
        while last < len(text) and text[last] == "'":
            last += 1
        at_field_start = first == 0 or text[first - 1] in starts
        if at_field_start and last < len(text) and text[last] in FORMULA_STARTS:
            return True
    return False


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose cells and column names no spreadsheet would run as formulas.

    Only text columns are touched (numbers stay numbers, so ``float_format``
    and the like still apply); the frame passed in is not changed.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": ["=1+1", "-7", "R2"], "score": [-1.5, 2.0, 3.0]})
    >>> neutralize_frame(frame)["id"].tolist(), neutralize_frame(frame)["score"].tolist()
    (["'=1+1", '-7', 'R2'], [-1.5, 2.0, 3.0])
    """
    return _map_frame(frame, neutralize_series, neutralize_text)


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralize_frame`: what this package wrote, read back as it was."""
    return _map_frame(frame, restore_series, restore_text)


def _map_frame(frame: pd.DataFrame, on_column, on_name) -> pd.DataFrame:
    """``frame`` with each column passed through ``on_column`` and each name through ``on_name``."""
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        changed = on_column(column)
        if changed is not column:  # columns with nothing to change are not copied
            out.isetitem(position, changed)
    out.columns = _map_names(out.columns, on_name)
    return out


def _map_names(columns: pd.Index, change) -> pd.Index:
    import pandas as pd

    if isinstance(columns, pd.MultiIndex):
        return columns
    return pd.Index([change(name) if isinstance(name, str) else name for name in columns])


#: From this many rows :func:`write_csv` builds the text a column at a time (``_csv_text``), not by pandas.
FAST_CSV_ROWS = 10_000


def write_csv(frame: pd.DataFrame, path_or_buf: Any = None, **options: Any) -> str | None:
    """``frame.to_csv(path_or_buf, **options)`` with every cell safe to open in a spreadsheet.

    Parameters
    ----------
    frame : pandas.DataFrame
        Not changed.
    path_or_buf : path, text buffer or None
        As for :meth:`pandas.DataFrame.to_csv`; None returns the text.
    **options
        Passed to :meth:`pandas.DataFrame.to_csv` (``index``, ``sep``,
        ``float_format``, ...); the line terminator is chosen here.

    Returns
    -------
    str or None
        The CSV text when ``path_or_buf`` is None.

    Examples
    --------
    >>> import pandas as pd
    >>> print(write_csv(pd.DataFrame({"who": ["@A1", "North"], "n": [-1, 2]}), index=False), end="")
    who,n
    '@A1,-1
    North,2
    >>> write_csv(pd.DataFrame({"who": ["x\\r=1"]}), index=False).split("\\r\\n")
    ['who', '"x\\r=1"', '']
    """
    if "lineterminator" in options:
        raise TypeError("write_csv chooses the line terminator itself")
    safe = neutralize_frame(frame)
    terminator = "\r\n" if _holds_carriage_return(safe) else "\n"
    plain = set(options) <= {"index", "sep", "encoding"} and options.get("encoding", "utf-8") == "utf-8"
    large = len(safe) >= FAST_CSV_ROWS  # a short table costs pandas little
    if (
        large
        and terminator == "\n"
        and plain
        and options.get("index") is False
        and _is_path_or_none(path_or_buf)
    ):
        from ._csv_text import csv_cells

        cells = csv_cells(safe, options.get("sep", ","))
        if cells is not None:  # the same text pandas writes, built a column at a time
            return cells.write(path_or_buf)
    return safe.to_csv(path_or_buf, lineterminator=terminator, **options)


def _is_path_or_none(target: Any) -> bool:
    import os

    return target is None or isinstance(target, (str, os.PathLike))


def _holds_carriage_return(frame: pd.DataFrame) -> bool:
    if any(isinstance(name, str) and "\r" in name for name in frame.columns):
        return True
    for position in range(frame.shape[1]):
        text = _text_values(frame.iloc[:, position])
        if text is not None and _any_text(text, "\r"):
            return True
    return False


def _any_text(text: pd.Series, part: str) -> bool:
    """Whether any cell holds ``part``: in pyarrow when every cell is text, else pandas' way."""
    import pyarrow.compute as pc

    from ._csv_text import arrow_text

    array = arrow_text(text)
    if array is None:
        return bool(text.str.contains(part, regex=False, na=False).astype(bool).any())
    return bool(pc.any(pc.match_substring(array, part)).as_py())


def html_leading_reference(text: str) -> str:
    """HTML text whose first character cannot start a formula: it becomes a character reference.

    For targets that render text as HTML (REDCap labels): ``=1 per week`` is
    written ``&#61;1 per week``, which the platform shows as ``=1 per week``
    and no spreadsheet runs.

    Examples
    --------
    >>> html_leading_reference("=1 per week"), html_leading_reference("-2"), html_leading_reference("ok")
    ('&#61;1 per week', '-2', 'ok')
    """
    if not is_formula_like(text):
        return text
    return _HTML_REFERENCES[text[0]] + text[1:]


def force_text_cells(worksheet: Any) -> None:
    """Store every string cell of an openpyxl worksheet as text, never as a formula.

    openpyxl takes a string that starts with ``=`` as a formula; a form
    label ``=1 per week`` must stay the text the respondent sees.
    """
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "f" and isinstance(cell.value, str):
                cell.data_type = "s"


__all__ = [
    "FORMULA_STARTS",
    "force_text_cells",
    "html_leading_reference",
    "is_formula_like",
    "may_hold_neutralized",
    "neutralize_frame",
    "neutralize_series",
    "neutralize_text",
    "restore_frame",
    "restore_series",
    "restore_text",
    "write_csv",
]
