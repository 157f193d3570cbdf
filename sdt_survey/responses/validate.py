"""Validating responses: every cell checked against the instrument, every decision recorded.

Cells are checked by item type (:mod:`sdt_survey.responses.item_types`);
this module adds what spans cells and rows: branching (``show_if``),
required items, empty rows, respondent ids and duplicates, and assembles the
:class:`~sdt_survey.responses.quality.DataQualityReport`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument, expressions, load_instruments
from ..stats.masks import count_true
from ..stats.threads import on_two_threads
from .cells import PLAIN_NUMBER, as_written
from .duplicates import find_duplicates
from .issue_lines import IssueLines
from .item_types import check_item, check_multiple
from .model import (
    INVALID_POLICIES,
    MISSING_TOKENS,
    PROBLEM_SEVERITY,
    WAVE_COLUMNS,
    CleanResponses,
    MissingReasons,
    Responses,
)
from .quality import DataQualityReport
from .read import all_items


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
        raise SdtSurveyError(f"invalid must be one of {', '.join(INVALID_POLICIES)}, not {invalid!r}")
    if duplicates not in ("error", "keep-all", "keep-first", "keep-last"):
        raise SdtSurveyError(f"unknown duplicates policy {duplicates!r}")
    loaded = load_instruments(instruments)
    items = all_items(loaded)
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
    lines = IssueLines()

    def add(where: np.ndarray, column: str | None, item: str | None, values, problem: str, messages,
            action: str) -> None:  # fmt: skip
        lines.add(
            len(where),
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
            },
        )

    def add_file_level(problem: str, message: str, action: str, column: str | None = None,
                       item: str | None = None) -> None:  # fmt: skip
        lines.add_record(
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
        )

    for row in responses.blank_rows:
        lines.add_record(
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
        )

    ids = list(dict.fromkeys(item.id for item in items))
    position = {item_id: p for p, item_id in enumerate(ids)}
    values: dict[str, np.ndarray | pd.Series] = {}
    # The numeric items' values go straight into one block of floats (a row per item), so no second
    # copy of them is ever held.
    numbers = np.empty((len(ids), n))
    # Why each missing value is missing: a small code per cell (see MissingReasons), 0 = not missing.
    labels: list[str | None] = [None, *_REASONS]
    reason = np.zeros((len(ids), n), dtype=np.uint8)
    invalid_count = np.zeros(n, dtype=np.int64)
    invalid_rows: dict[str, list[np.ndarray]] = {}

    # The columns are checked two at a time (each writes its own row of ``numbers``); what they found
    # is then recorded item by item, in order.
    present: dict = {}
    for item in items:
        if responses.item_columns.get(item.id):
            present.setdefault(item.id, item)
    targets = [(item, numbers[position[item_id]]) for item_id, item in present.items()]
    found = on_two_threads(lambda target: _check_cells(responses, *target), targets, size=n)
    checked = dict(zip(present, found, strict=True))
    for item in items:
        p = position[item.id]
        reason[p] = 0
        if item.id not in checked and item.identifier:
            # A de-identified export (REDCap's) leaves identifier items out: nothing to drop, no error.
            values[item.id] = pd.Series(None, index=frame.index, dtype=object)
            reason[p] = labels.index("absent")
            continue
        if item.id not in checked:
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
            if item.is_scored:
                numbers[p] = np.nan
                values[item.id] = numbers[p]
            else:
                values[item.id] = pd.Series(None, index=frame.index)
            reason[p] = labels.index("absent")
            continue
        row = numbers[p]
        column_name, raw_values, cells = checked[item.id]
        for where, why in cells.reasons:
            if why not in labels:
                labels.append(why)
            reason[p, where] = labels.index(why)
        for where, problem, messages in cells.problems:
            severity = PROBLEM_SEVERITY[problem]
            if severity == "error":
                invalid_rows.setdefault(item.id, []).append(where)
                action = action_invalid
            elif problem in ("missing_code", "nonsubstantive"):
                action = "set to missing"
            else:
                action = "kept"
            add(
                where,
                column_name,
                item.id,
                as_written(raw_values.iloc[where]),
                problem,
                messages,
                action,
            )
        if isinstance(cells.values, np.ndarray):
            if cells.values is not row:  # not written in place
                row[:] = cells.values
            values[item.id] = row
        else:
            values[item.id] = cells.values
        # Invalid cells are recorded as such in the missing-reason table too.
        for where in invalid_rows.get(item.id, []):
            reason[p, where] = labels.index("invalid")
            invalid_count[where] += 1
    if len(labels) > np.iinfo(reason.dtype).max:
        raise SdtSurveyError(f"more than {np.iinfo(reason.dtype).max} kinds of missing code")
    clean = _values_frame(values, frame.index, numbers, ids)
    del numbers
    missing = _missing_cells(clean)
    # Branching: an item hidden by show_if is not required, and should not be answered.
    multiple_items = {item.id for item in items if item.type == "multiple"}
    for item in items:
        p = position[item.id]
        shown = None  # shown to everyone
        if item.show_if is not None:
            shown = expressions.evaluate(item.show_if, clean, multiple_items)
            answered_hidden = np.flatnonzero(~shown & ~missing[p])
            add(
                answered_hidden,
                _column_of(responses, item.id),
                item.id,
                as_written(clean[item.id].iloc[answered_hidden]),
                "answered_when_hidden",
                f"answered although hidden by show_if ({item.show_if.to_text()})",
                "kept",
            )
            reason[p, ~shown & missing[p]] = labels.index("not_shown")
        if item.required and item.id in responses.item_columns:
            unanswered = missing[p] & (reason[p] == 0)
            if shown is not None:
                unanswered &= shown
            where = np.flatnonzero(unanswered)
            add(
                where,
                _column_of(responses, item.id),
                item.id,
                "",
                "missing_required",
                "required item not answered",
                "left missing",
            )
            reason[p, where] = labels.index("unanswered")
    # A missing value with no other reason is unanswered; a present value has none.
    for p in range(len(ids)):  # an item at a time, in the processor's cache
        np.copyto(reason[p], labels.index("unanswered"), where=missing[p] & (reason[p] == 0))
        reason[p] *= missing[p]  # no reason where the value is present
    n_missing = count_true(missing)

    answered = n_missing < len(ids)
    empty = np.flatnonzero(~answered)
    add(
        empty,
        None,
        None,
        "",
        "empty_row",
        "no item answered",
        "kept; every score missing",
    )

    for column, why in responses.item_like_columns.items():
        add_file_level(
            "item_like_column",
            f"column {column!r} {why} but matches no item; map it with mapping= "
            "or it passes through unchanged",
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
            "",
            "missing_id",
            "the respondent id is empty",
            action_invalid.replace("set to missing", "kept"),
        )
        # REDCap repeating instruments legitimately repeat a record within an event.
        repeat = [c for c in ("redcap_repeat_instrument", "redcap_repeat_instance") if c in frame.columns]
        found = find_duplicates(
            respondent,
            [frame[c].astype("string") for c in [*([wave_column] if wave_column else []), *repeat]],
            responses.rows,
            id_column=id_column,
            wave_column=wave_column,
            duplicates=duplicates,
            invalid=invalid,
        )
        duplicate = pd.Series(found.repeated, index=frame.index)
        keep &= found.keep
        for where, column, values, problem, messages, action in found.lines:
            add(where, column, None, values, problem, messages, action)

    # By row (file-level lines first), stably: the lines of a row keep the order they were found in.
    if duplicates != "error" or invalid == "as-missing":
        # A repeated id that is kept or resolved by policy is a decision, not a blocker.
        lines.retag("duplicate_id", "warning")
    report = DataQualityReport(
        # Put in row order on another thread while scoring goes on; the first read of it waits.
        issues=lines.table_later(),
        path=responses.path,
        n_records=n,
        invalid=invalid,
        source=responses.source,
        detection=responses.detection,
    )
    if invalid == "as-missing":
        for item_id, where in invalid_rows.items():
            # Invalid cells hold no value already; text columns take pandas' missing value as before.
            if clean[item_id].dtype == object or pd.api.types.is_string_dtype(clean[item_id]):
                cells = np.zeros(n, dtype=bool)
                cells[np.concatenate(where)] = True
                clean[item_id] = clean[item_id].mask(pd.Series(cells, index=frame.index))
    reasons = MissingReasons(reason, tuple(labels), ids, frame.index)
    invalid_count = pd.Series(invalid_count, index=frame.index)
    # Only show_if hides an item: without it no value is missing for being hidden.
    hidden = reasons.count("not_shown") if any(item.show_if is not None for item in items) else 0
    missing_count = pd.Series(n_missing - hidden, index=frame.index)
    passthrough = numeric_where_unambiguous(
        frame[[c for c in responses.passthrough if c not in _checkbox_columns(responses)]],
        keep_text=[id_column] if id_column else [],
    )
    everyone = bool(keep.all())

    def kept(table):
        return (table if everyone else table.loc[keep]).reset_index(drop=True)

    return CleanResponses(
        values=kept(clean),
        passthrough=kept(passthrough),
        rows=responses.rows[keep],
        respondent=respondent.loc[keep].reset_index(drop=True) if respondent is not None else None,
        report=report,
        instruments=loaded,
        reasons=reasons.select(keep),
        invalid_count=kept(invalid_count),
        missing_count=kept(missing_count),
        duplicate=kept(duplicate),
        source=responses.source,
    )


def _check_cells(responses: Responses, item, out: np.ndarray) -> tuple[str, pd.Series, Any]:
    """An item's cells checked: the column's name, its values as read, and the checked cells.

    A numeric item's values are written into ``out``.
    """
    frame = responses.frame
    columns = responses.item_columns[item.id]
    # Split 0/1 columns (one per choice), even a single one (a REDCap consent tick box ``consent___1``).
    if item.type == "multiple" and (len(columns) > 1 or item.id in responses.choice_columns):
        # A single split column was renamed to the item id on reading.
        raw_cells = frame[[c if c in frame.columns else item.id for c in columns]].set_axis(columns, axis=1)
        raw_values = raw_cells.astype("string").fillna("").agg("|".join, axis=1)
        cells = check_multiple(item, raw_cells, responses.choice_columns.get(item.id))
        return "|".join(columns), raw_values, cells
    source_column = frame[item.id] if item.id in frame.columns else frame[columns[0]]
    cells = check_item(
        item,
        source_column,
        responses.value_labels.get(item.id),
        responses.user_missing.get(item.id, set()),
        out=out,
    )
    return columns[0], source_column, cells


#: Reasons a value is missing that validation itself gives (a declared missing code gives its own).
_REASONS = ("absent", "invalid", "not_shown", "unanswered")


def _values_frame(
    values: dict[str, np.ndarray | pd.Series], index: pd.Index, numbers: np.ndarray, ids: list[str]
) -> pd.DataFrame:
    """One column per item: the numeric items in one block of floats, then the rest.

    ``numbers`` holds a row per item of ``ids``, the numeric items' values; when
    every item is numeric the block is taken as it is (no copy).
    """
    numeric = [item_id for item_id, v in values.items() if isinstance(v, np.ndarray)]
    if numeric == ids:
        block = numbers
    else:
        rows = [ids.index(item_id) for item_id in numeric]
        block = numbers[rows] if rows else np.empty((0, len(index)))
    frame = pd.DataFrame(block.T, index=index, columns=numeric, copy=False)
    for p, (item_id, v) in enumerate(values.items()):
        if not isinstance(v, np.ndarray):
            frame.insert(p, item_id, v)
    return frame


def _missing_cells(clean: pd.DataFrame) -> np.ndarray:
    """``(items, records)``: whether each item value is missing."""
    missing = np.empty((clean.shape[1], len(clean)), dtype=bool)
    for p, column in enumerate(clean.columns):
        series = clean[column]
        missing[p] = np.isnan(series.to_numpy()) if series.dtype == float else series.isna().to_numpy()
    return missing


def numeric_where_unambiguous(frame: pd.DataFrame, keep_text: Sequence[str] = ()) -> pd.DataFrame:
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
        if values.empty or not values.str.fullmatch(PLAIN_NUMBER.pattern).all():
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
