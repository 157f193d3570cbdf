"""The order of a file's waves: numbers as numbers, events as the project orders them, never alphabetical."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import SdtSurveyError
from ..platforms.redcap import event_order
from ..stats.order import natural_sorted


def wave_order(
    frame: pd.DataFrame,
    wave_column: str,
    *,
    id_column: str | None = None,
    events: Sequence[str] | str | Path | None = None,
) -> list[Any]:
    """The waves of ``frame[wave_column]`` in the study's order.

    Numbered waves (``1``, ``2``, ``10``) go by number. Named waves (REDCap's
    ``screening_arm_1``, ``baseline_arm_1``, ...) go in the project's order:
    ``events`` (the project's event list, or the path of REDCap's events
    export) when given, else the order of the file, where each respondent's
    rows follow the project's event order (see
    :func:`sdt_survey.platforms.redcap.event_order`). Never alphabetically.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": [1, 1, 2], "wave": [2, 10, 1]})
    >>> wave_order(frame, "wave")
    [1, 2, 10]
    >>> frame = pd.DataFrame({"id": [1, 1, 2, 2, 2],
    ...                       "event": ["screening", "month_6", "screening", "baseline", "month_6"]})
    >>> wave_order(frame, "event", id_column="id")
    ['screening', 'baseline', 'month_6']
    """
    values = frame[wave_column]
    present = values[values.notna() & values.astype("string").str.strip().ne("").fillna(False)]
    unique = list(dict.fromkeys(present.tolist()))
    numbers = pd.to_numeric(pd.Series([str(v) for v in unique], dtype=object), errors="coerce")
    if events is None and unique and numbers.notna().all():
        return natural_sorted(unique)
    if id_column is None or id_column not in frame.columns:
        ids = pd.Series(range(len(frame)), index=frame.index, name="_row")
        work = pd.DataFrame({"_row": ids, wave_column: values})
        named = event_order(work, wave_column, id_column="_row", events=events)
    else:
        named = event_order(frame, wave_column, id_column=id_column, events=events)
    # event_order works on the text of the cells; give back the values as the frame holds them.
    by_text = {str(v).strip(): v for v in unique}
    return [by_text[e] for e in named]


def choose_wave(
    frame: pd.DataFrame,
    wave_column: str,
    wave: Any = None,
    *,
    id_column: str | None = None,
) -> tuple[Any, list[Any]]:
    """The wave to analyse (``wave``, else the first in :func:`wave_order`) and every wave in order.

    A ``wave`` given as text matches a numbered wave (``"2"`` is wave 2).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": [1, 1], "redcap_event_name": ["screening_arm_1", "baseline_arm_1"]})
    >>> choose_wave(frame, "redcap_event_name", id_column="id")
    ('screening_arm_1', ['screening_arm_1', 'baseline_arm_1'])
    >>> choose_wave(frame, "redcap_event_name", "baseline_arm_1", id_column="id")[0]
    'baseline_arm_1'
    """
    waves = wave_order(frame, wave_column, id_column=id_column)
    if wave is None:
        return (waves[0] if waves else None), waves
    for value in waves:
        if value == wave or str(value).strip() == str(wave).strip():
            return value, waves
    raise SdtSurveyError(
        f"no responses in {wave_column} = {wave!r}; waves: {', '.join(str(w) for w in waves)}"
    )


__all__ = ["choose_wave", "wave_order"]
