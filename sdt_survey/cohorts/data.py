"""The cohort inputs: scored waves joined into one table, grouping columns checked and labelled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument, Item
from ..responses import WAVE_COLUMNS, Responses
from ..responses.waves import wave_order
from ..scoring import ScoredResponses, score, score_ids
from ..scoring.identifiers import identifier_columns
from ..stats.order import natural_key as _natural_key  # noqa: F401 (cells.py, invariance.py)

#: The smallest ``min_cell`` accepted: below 3, two people could each work out the other's answers.
MIN_CELL_FLOOR = 3
#: Group value of overall rows (and of the columns a row is not broken down by).
ALL = "all"
#: Group value of respondents with no value in a grouping column (they form a group of their own,
#: so that the groups of a column always add up to the overall row).
MISSING_GROUP = "(missing)"
#: Labels the report gives meaning to; a data value equal to one of them (in any case) is refused.
RESERVED_LABELS = (ALL, MISSING_GROUP)
#: Measurement invariance is tested only when each group has at least


def check_min_cell(min_cell: Any) -> None:
    """Raise :class:`SdtSurveyError` unless ``min_cell`` is a whole number of at least :data:`MIN_CELL_FLOOR`.

    Examples
    --------
    >>> check_min_cell(5)
    >>> check_min_cell(2)
    Traceback (most recent call last):
    ...
    sdt_survey.errors.SdtSurveyError: min_cell 2 is too small: figures resting on fewer than 3 respondents \
let one respondent work out another's answers; use at least 3 (default 5)
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)):
        raise SdtSurveyError(f"min_cell must be a whole number, not {min_cell!r}")
    if min_cell < MIN_CELL_FLOOR:
        raise SdtSurveyError(
            f"min_cell {min_cell} is too small: figures resting on fewer than {MIN_CELL_FLOOR} respondents "
            "let one respondent work out another's answers; use at least 3 (default 5)"
        )


@dataclass
class _Data:
    frame: pd.DataFrame  # _rid (integer codes), _wave (position), by columns (labels), scores
    keyed: pd.DataFrame  # reverse-keyed items, row-aligned with frame
    waves: list[Any]  # wave labels in order
    notes: list[str]
    ids: np.ndarray  # each _rid's id as text (for the release ledger's keyed hashes only)
    answers: pd.DataFrame | None = None  # validated answers as given, row-aligned with frame


def _as_sources(responses: Any) -> list[Any]:
    if isinstance(responses, (list, tuple)):
        if not responses:
            raise SdtSurveyError("no responses given")
        return list(responses)
    return [responses]


def _each(values: pd.Series, convert: Any) -> pd.Series:
    """``convert`` applied to each present value; absent ones stay None (the labels stay objects)."""
    return pd.Series([None if v is None else convert(v) for v in values], index=values.index, dtype=object)


def _plain_labels(values: pd.Series) -> pd.Series:
    """Group labels as plain Python values: integers stay (or become, from digit strings) int."""
    present = values.dropna()
    as_object = values.astype(object).where(values.notna(), None)
    if present.empty:
        return as_object
    if pd.api.types.is_bool_dtype(present):
        return _each(as_object, lambda v: str(bool(v)).lower())
    if pd.api.types.is_numeric_dtype(present):
        floats = present.astype(float)
        if np.all(np.isfinite(floats)) and np.all(floats == np.round(floats)):
            return _each(as_object, lambda v: int(v))
        return _each(as_object, lambda v: float(v))
    # a blank value (empty or only spaces) is no value: it joins the missing group
    as_object = pd.Series(
        [None if pd.isna(v) or (isinstance(v, str) and not v.strip()) else v for v in as_object],
        index=values.index,
        dtype=object,
    )
    present = as_object.dropna()
    if present.empty:
        return as_object
    text = present.astype(str).str.strip()
    if text.str.fullmatch(r"-?[1-9]\d*|0").all():
        return _each(as_object, lambda v: int(str(v).strip()))
    return _each(as_object, lambda v: str(v).strip())


def _collect(
    instruments: tuple[Instrument, ...],
    responses: Any,
    id_column: str,
    wave_column: str | None,
    reading_options: Mapping[str, Any],
) -> _Data:
    sources = _as_sources(responses)
    scored: list[ScoredResponses] = []
    for source in sources:
        if isinstance(source, ScoredResponses):
            if id_column not in source.scores.columns:
                raise SdtSurveyError(
                    f"the scored responses have no id column {id_column!r}; score them with "
                    f"id_column={id_column!r}"
                )
            scored.append(source)
        elif isinstance(source, (pd.DataFrame, Responses, str, Path)):
            scored.append(
                score(instruments, source, id_column=id_column, wave_column=wave_column, **reading_options)
            )
        else:
            raise SdtSurveyError(
                "responses must be a path, a list of paths, ScoredResponses or a DataFrame, "
                f"not {type(source).__name__}"
            )
    notes: list[str] = []
    wave_of: list[str | None] = []
    for result in scored:
        if wave_column is not None:
            if wave_column not in result.scores.columns:
                raise SdtSurveyError(f"the responses have no wave column {wave_column!r}")
            wave_of.append(wave_column)
        else:
            wave_of.append(next((c for c in WAVE_COLUMNS if c in result.scores.columns), None))
    if any(w is None for w in wave_of) and any(w is not None for w in wave_of):
        raise SdtSurveyError(
            "some response files have a wave column and some do not; give every file one, or none "
            "(then the order of the files defines wave 1, 2, ...)"
        )
    names = [c for c in score_ids(instruments)]
    frames, keyed, answers = [], [], []
    for position, result in enumerate(scored):
        table = result.scores.reset_index(drop=True)
        missing_scores = [c for c in names if c not in table.columns]
        if missing_scores:
            raise SdtSurveyError(
                f"the scored responses lack {', '.join(missing_scores)}; score them with the same instruments"
            )
        part = table.drop(columns=[c for c in ("row",) if c in table.columns]).copy()
        column = wave_of[position]
        part["_wave_label"] = part[column] if column is not None else position + 1
        frames.append(part)
        keyed.append(result.keyed.reset_index(drop=True))
        answers.append(result.items.reset_index(drop=True))
    if wave_of[0] is None:
        if len(scored) > 1:
            notes.append(
                f"the files have no wave column; waves are numbered by file order (file 1 is wave 1, "
                f"..., file {len(scored)} is wave {len(scored)})"
            )
        else:
            notes.append("no wave column: all responses form one wave (wave 1)")
    frame = pd.concat(frames, ignore_index=True, sort=False)
    items = pd.concat(keyed, ignore_index=True, sort=False)
    given = pd.concat(answers, ignore_index=True, sort=False)
    wave_labels = _plain_labels(frame["_wave_label"])
    if wave_labels.isna().any():
        raise SdtSurveyError(f"{int(wave_labels.isna().sum())} responses have no wave value")
    # Numbered waves by number; named ones (REDCap events) in the project's order, never alphabetical.
    waves = wave_order(
        pd.DataFrame({"_id": frame[id_column], "_wave": wave_labels}), "_wave", id_column="_id"
    )
    position_of = {w: i for i, w in enumerate(waves)}
    ids = frame[id_column]
    if ids.isna().any():
        raise SdtSurveyError(f"{int(ids.isna().sum())} responses have no {id_column}")
    codes, id_values = pd.factorize(ids.astype(str).str.strip())
    out = frame.drop(columns=[id_column, "_wave_label"])
    out.insert(0, "_rid", codes)
    out.insert(1, "_wave", wave_labels.map(position_of).to_numpy(dtype=int))
    repeated = out.duplicated(["_rid", "_wave"])
    if repeated.any():
        raise SdtSurveyError(
            f"{int(repeated.sum())} respondent ids appear more than once in one wave; a respondent "
            "answers each wave once (see the duplicates option of score)"
        )
    return _Data(
        frame=out,
        keyed=items,
        waves=list(waves),
        notes=notes,
        ids=np.asarray(id_values, dtype=object),
        answers=given,
    )


#: Item types whose answer can group respondents: a fixed set of answers, each with a label or a number.
GROUPING_ITEM_TYPES = ("single", "likert", "integer")


def item_group_labels(item: Item, answers: pd.Series) -> pd.Series:
    """The answers to ``item`` as group labels: each choice's label (its code when unlabelled).

    Examples
    --------
    >>> from sdt_survey.instrument import Choice, Item, Text
    >>> pgy = Item(id="pgy", type="single", choices=(Choice(1, Text({"en": "PGY 1"}, "en")),
    ...                                              Choice(2, Text({"en": "PGY 2"}, "en"))))
    >>> item_group_labels(pgy, pd.Series([1.0, None, 2])).tolist()
    ['PGY 1', None, 'PGY 2']
    """
    if item.choices:
        named = {str(c.value): str(c.label) for c in item.choices}
    elif item.scale is not None:
        named = {str(v): str(label) for v, label in zip(item.scale.values, item.scale.labels, strict=True)}
    else:
        named = {}

    def label(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        text = str(value).strip()
        return named.get(text, value)

    return pd.Series([label(v) for v in answers], index=answers.index, dtype=object)


def _item_groups(data: _Data, by: Sequence[str], instruments: tuple[Instrument, ...]) -> list[Item]:
    """Add a grouping column for each item of ``by`` (its answers as labels); the items so used."""
    if isinstance(by, str):
        return []
    items = {item.id: item for inst in instruments for item in inst.items}
    used = []
    for column in by:
        item = items.get(column)
        if item is None:
            continue
        if item.type not in GROUPING_ITEM_TYPES:
            raise SdtSurveyError(
                f"{column!r} is a {item.type} item; only an item with a fixed set of answers "
                f"({', '.join(GROUPING_ITEM_TYPES)}) can group respondents"
            )
        if data.answers is None or column not in data.answers.columns:
            raise SdtSurveyError(f"no answers to item {column!r} in the responses")
        data.frame[column] = item_group_labels(item, data.answers[column]).to_numpy()
        data.notes.append(f"{column}: respondents grouped by their answer to item {column!r}")
        used.append(item)
    return used


def _check_by(
    data: _Data,
    by: Sequence[str],
    instruments: tuple[Instrument, ...],
    id_column: str,
    wave_column: str | None,
    min_cell: int,
) -> None:
    if isinstance(by, str):
        raise SdtSurveyError(f"by must be a list of column names, e.g. by=[{by!r}]")
    if len(set(by)) != len(by):
        raise SdtSurveyError("by names a column twice")
    scores = set(score_ids(instruments))
    available = [
        c
        for c in data.frame.columns
        if not c.startswith("_") and c not in scores and c not in WAVE_COLUMNS and c != wave_column
    ]
    flagged = set(identifier_columns(list(by)))
    for column in by:
        if column == id_column:
            raise SdtSurveyError(f"{column!r} is the respondent id column; it can never be a grouping column")
        if column in flagged:
            raise SdtSurveyError(f"{column!r} holds direct identifiers; it can never be a grouping column")
        if column in scores or column in WAVE_COLUMNS or column == wave_column:
            raise SdtSurveyError(f"{column!r} cannot be a grouping column (waves are reported anyway)")
        if column not in data.frame.columns:
            raise SdtSurveyError(
                f"no column {column!r} in the responses; grouping columns there: "
                f"{', '.join(map(str, available)) or '(none)'}"
            )
        per_person = data.frame.groupby("_rid")[column].nunique(dropna=True)
        distinct = data.frame[column].nunique(dropna=True)
        n_people = data.frame["_rid"].nunique()
        if n_people > min_cell and distinct == n_people and (per_person <= 1).all():
            raise SdtSurveyError(
                f"every respondent has their own value of {column!r}: it looks like an identifier or a "
                "free-text answer, and its values would be shown as group names; group by something else"
            )


def _group_labels(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in by:
        labels = _plain_labels(out[column])
        check_reserved(column, labels)
        out[column] = labels.where(labels.notna(), MISSING_GROUP).astype(object)
    return out


def check_reserved(column: str, labels: pd.Series) -> None:
    """Raise :class:`SdtSurveyError` when a value of ``column`` reads as a reserved label, in any case.

    ``"all"`` names overall rows and ``"(missing)"`` the respondents with no
    value; a group carrying either name (``"All"``, ``"ALL"``, ``"(Missing)"``
    too) would be mistaken for them, so it is refused rather than silently merged.

    Examples
    --------
    >>> check_reserved("program", pd.Series(["P01", "P02", None]))
    >>> check_reserved("program", pd.Series(["P01", "All"]))
    Traceback (most recent call last):
    ...
    sdt_survey.errors.SdtSurveyError: grouping column 'program' has the value 'All' (1 response), which \
reads as the report's label 'all' (overall rows); rename that value in the data
    """
    meaning = {ALL: "overall rows", MISSING_GROUP: "respondents with no value"}
    text = labels.dropna().astype(str).str.strip()
    for reserved in RESERVED_LABELS:
        clash = text[text.str.casefold() == reserved.casefold()]
        if len(clash):
            value = clash.iloc[0]
            raise SdtSurveyError(
                f"grouping column {column!r} has the value {value!r} ({len(clash)} response"
                f"{'s' if len(clash) != 1 else ''}), which reads as the report's label {reserved!r} "
                f"({meaning[reserved]}); rename that value in the data"
            )


def _baseline(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Each respondent's groups at their first wave."""
    first = frame.sort_values(["_rid", "_wave"], kind="stable").drop_duplicates("_rid")
    return first.set_index("_rid")[list(by)]


__all__ = [
    "ALL",
    "GROUPING_ITEM_TYPES",
    "MIN_CELL_FLOOR",
    "MISSING_GROUP",
    "RESERVED_LABELS",
    "check_min_cell",
    "check_reserved",
    "item_group_labels",
]
