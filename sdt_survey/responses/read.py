"""Reading responses: a file into :class:`Responses`, its platform detected and its columns matched to items.

The file is read by the generic readers (:mod:`sdt_survey.responses.formats`);
the platform that produced it, its header rows and its platform-specific
column names are each platform's business (:mod:`sdt_survey.platforms`),
asked through the registry.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._untrusted import text_encoding
from ..errors import SdtSurveyError
from ..instrument import Instrument, Item, load_instruments, read_yaml_mapping
from ..platforms import ALIAS_TARGET_OF_SOURCE, SOURCES, platform_of_source, reading_platforms
from ..platforms.table import ResponseTable
from .formats import read_file
from .model import MISSING_TOKENS, Responses

#: The prefix of item columns in a scores file written with the items (``score --include-items``).
ITEM_PREFIX = "item_"


def all_items(instruments: Sequence[Instrument]) -> list[Item]:
    """Every item of every instrument, in order."""
    return [item for inst in instruments for item in inst.items]


def detect_source(table: ResponseTable, items: Sequence[Item]) -> tuple[str, str]:
    """The platform that produced the file, and why; refuses a file that looks like two."""
    platforms = reading_platforms()
    if table.platform is not None:  # read by the platform's own reader
        platforms = [p for p in platforms if p.source == table.platform]
    signals: list[tuple[str, str]] = []
    for platform in platforms:
        detect = platform.hook("detect")
        if detect is not None:
            signals += detect(table, items)
    sources = {s for s, _ in signals}
    if len(sources) == 1:
        source, why = signals[0]
        return source, f"detected: {why}"
    if not sources:
        return "plain", "no platform layout detected; columns matched by item id"
    listed = "; ".join(f"{s}: {why}" for s, why in signals)
    raise SdtSurveyError(
        f"cannot tell which platform produced this file ({listed}); say which with source=NAME"
    )


def read_mapping(path: str | Path) -> dict[str, str]:
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


def match_columns(
    table: ResponseTable,
    items: Sequence[Item],
    source: str,
    mapping: Mapping[str, str],
    display: str,
) -> tuple[dict[str, list[str]], dict[str, dict[str, str]], list[str]]:
    """Item id -> columns it is read from; split (one column per choice) columns; notes on unusual matches.

    In order: the user's mapping, columns named by item id, item aliases (the
    source's own first), the platform's own rules, then names ignoring case.
    """
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
    # A scores file written with include_items (``score --include-items``) reads back as responses.
    prefixed = [c for c in columns if c.startswith(ITEM_PREFIX) and c.removeprefix(ITEM_PREFIX) in by_id]
    for column in prefixed:
        claim(column.removeprefix(ITEM_PREFIX), column)
    if prefixed:
        notes.append(
            f"{len(prefixed)} columns {ITEM_PREFIX}<id> read as the items (scores written with them)"
        )
    target = ALIAS_TARGET_OF_SOURCE.get(source)
    for item in items:
        names = [item.aliases[target]] if target in item.aliases else []
        names += [name for key, name in item.aliases.items() if key != target]
        for name in names:
            if name in columns:
                claim(item.id, name, f"alias {name}")
                break
    platform = platform_of_source(source)
    platform_match = platform.hook("match_columns") if platform is not None else None
    if platform_match is not None:
        split.update(platform_match(table, items, columns, matched, used, claim))
    lowered = {c.lower(): c for c in columns if c not in used}
    for item in items:
        if item.id not in matched and item.id.lower() in lowered:
            claim(item.id, lowered[item.id.lower()], "matched ignoring case")
    return matched, split, notes


def item_like_columns(
    columns: Sequence[str], matched_columns: set[str], items: Sequence[Item]
) -> dict[str, str]:
    """Unmatched columns whose names resemble item ids: likely a renamed or extra item."""
    ids = [item.id for item in items]
    stems = {re.sub(r"\d+$", "", i) for i in ids if re.search(r"\d+$", i)}
    found = {}
    for column in columns:
        if column in matched_columns:
            continue
        close = [
            i
            for i in difflib.get_close_matches(column.lower(), ids, n=3, cutoff=0.6)
            if is_typo_of(column, i)
        ]
        stem = re.sub(r"\d+$", "", column.lower())
        if close:
            found[column] = f"resembles item {close[0]!r}"
        elif stem in stems and stem != column.lower():
            found[column] = f"numbered like the {stem}* items"
    return found


def is_typo_of(name: str, item_id: str) -> bool:
    """Whether ``name`` is plausibly a typo of ``item_id``, not another column with a similar name.

    Case and separators (``_``, ``-``, ``.``, spaces) aside, the two differ by
    one edit (a letter added, dropped, changed, or two swapped; two edits in
    names of 10 characters or more) and carry the same numbers: ``vbo1`` and
    ``rs_3`` are typos of ``vob1`` and ``rs3``; ``vbw1`` (another form's item)
    is not one of ``vob1``, nor ``vob7`` of ``vob6``.

    Examples
    --------
    >>> is_typo_of("vbo1", "vob1"), is_typo_of("RS_3", "rs3"), is_typo_of("satisfation_1", "satisfaction_1")
    (True, True, True)
    >>> is_typo_of("vbw1", "vob1"), is_typo_of("vob7", "vob6"), is_typo_of("number_2dp", "number_1dp")
    (False, False, False)
    """
    a, b = (re.sub(r"[\s_.-]+", "", text.lower()) for text in (name, item_id))
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return False
    return _edits(a, b) <= (2 if min(len(a), len(b)) >= 10 else 1)


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        previous2, previous = previous, row
    return previous[-1]


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
    source : {"auto", "plain", "redcap", "qualtrics", "odk", "reproschema", "html"}
        Any of :data:`sdt_survey.platforms.SOURCES`.
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

    Returns    -------
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
    file_path = Path(path)
    display = str(path)
    if not file_path.is_file():
        raise SdtSurveyError(f"{display}: {'a folder, not a file' if file_path.is_dir() else 'no such file'}")
    with text_encoding(encoding) if encoding is not None else contextlib.nullcontext():
        table = read_file(file_path, display, sheet, loaded)
    return responses_from_table(table, loaded, source=source, mapping=mapping, display=display)


def responses_from_table(
    table: ResponseTable,
    instruments: Sequence[Instrument],
    *,
    source: str = "auto",
    mapping: str | Path | Mapping[str, str] | None = None,
    display: str = "<table>",
) -> Responses:
    """A table as read (:func:`~sdt_survey.responses.formats.read_file`) as :class:`Responses`.

    Detects the platform, drops blank rows, matches columns to items: what
    :func:`read_responses` does after reading. The streaming intake calls it
    on each block of rows of a large file.

    Examples
    --------
    >>> import pandas as pd, sdt_survey
    >>> from sdt_survey.platforms.table import ResponseTable
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> table = ResponseTable(pd.DataFrame({"id": ["a", ""], "as1": ["4", ""]}))
    >>> read = responses_from_table(table, [bpn], display="wave1.csv")
    >>> read.rows.tolist(), read.blank_rows, read.item_columns["as1"]
    ([2], [3], ['as1'])
    """
    loaded = tuple(instruments)
    items = all_items(loaded)
    header_rows = table.header_rows
    detected_source, detection = (
        detect_source(table, items) if source == "auto" else (source, "as given with source=")
    )
    platform = platform_of_source(detected_source)
    prepare = platform.hook("prepare") if platform is not None else None
    if prepare is not None:  # header rows below the column names (Qualtrics, KoboToolbox's HXL row)
        header_rows += prepare(table)
    frame = table.frame
    rows = frame.attrs.get("rows")
    if rows is None:
        rows = np.arange(len(frame)) + header_rows + 1
    blank = blank_row_mask(frame)
    blank_rows = [int(r) for r in rows[blank]]
    frame = frame.loc[~blank].reset_index(drop=True)
    rows = np.asarray(rows)[~blank]
    table.frame = frame
    user_mapping = read_mapping(mapping) if isinstance(mapping, (str, Path)) else dict(mapping or {})
    matched, split, notes = match_columns(table, items, detected_source, user_mapping, display)
    frame, rows, platform_notes = _platform_rows_and_cells(platform, frame, rows, matched, items)
    notes = notes + platform_notes
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
        item_like_columns=item_like_columns([str(c) for c in table.frame.columns], used, items),
        value_labels=value_labels,
        user_missing=user_missing,
        notes=table.notes + notes,
        blank_rows=blank_rows,
    )


def _platform_rows_and_cells(platform, frame: pd.DataFrame, rows, matched: Mapping[str, list[str]], items):
    """The platform's own conventions: cells it writes its own way, rows that hold other forms."""
    notes: list[str] = []
    if platform is None:
        return frame, rows, notes
    normalise = platform.hook("normalise_cells")
    if normalise is not None:
        kinds = {item.id: item.type for item in items}
        numeric = [
            cols[0]
            for item_id, cols in matched.items()
            if len(cols) == 1 and kinds.get(item_id) in NUMERIC_TYPES
        ]
        if numeric:
            frame = frame.copy()
            notes += normalise(frame, numeric)
    set_aside = platform.hook("rows_of_other_forms")
    if set_aside is not None:
        aside, aside_notes = set_aside(frame, [c for cols in matched.values() for c in cols])
        if aside.any():
            keep = ~aside.to_numpy()
            frame = frame.loc[keep].reset_index(drop=True)
            rows = np.asarray(rows)[keep]
            notes += aside_notes
    return frame, rows, notes


#: Item types whose answers are numbers (a platform may write them its own way, e.g. ``36,5``).
NUMERIC_TYPES = ("number", "integer")


def responses_from_frame(
    frame: pd.DataFrame, instruments: Instrument | str | Sequence[Instrument | str]
) -> Responses:
    """Wrap an in-memory DataFrame whose item columns are named by item id.

    Row numbers are the 1-based positions of the records (there is no file).
    """
    loaded = load_instruments(instruments)
    items = all_items(loaded)
    frame = frame.reset_index(drop=True)
    # Scores with their items (include_items) name them item_<id>: read as the items.
    present = {str(c) for c in frame.columns}
    frame = frame.rename(
        columns={
            f"{ITEM_PREFIX}{item.id}": item.id
            for item in items
            if item.id not in present and f"{ITEM_PREFIX}{item.id}" in present
        }
    )
    columns = [str(c) for c in frame.columns]
    matched = {item.id: [item.id] for item in items if item.id in columns}
    return Responses(
        frame=frame,
        rows=np.arange(1, len(frame) + 1),
        source="plain",
        detection="a data frame; columns matched by item id",
        item_columns=matched,
        absent_items=[item.id for item in items if item.id not in matched],
        item_like_columns=item_like_columns(columns, set(matched), items),
    )


def blank_row_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is missing; column by column, so no table of cells the frame's size is built."""
    if frame.empty:
        return np.zeros(len(frame), dtype=bool)
    blank = np.ones(len(frame), dtype=bool)
    for position in range(frame.shape[1]):
        candidates = np.flatnonzero(blank)
        if not len(candidates):
            break
        column = frame.iloc[candidates, [position]]
        blank[candidates] = missing_cells(column).iloc[:, 0].to_numpy(dtype=bool)
    return blank


def missing_cells(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.isna() | frame.apply(
        lambda s: (
            s.astype("string").str.strip().isin(MISSING_TOKENS).fillna(False).astype(bool)
            if s.dtype == object or pd.api.types.is_string_dtype(s)
            else pd.Series(False, index=s.index)
        )
    )
