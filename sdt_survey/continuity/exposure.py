"""Exposure reported by residents themselves, from the continuity-exposure instrument's items."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..responses import WAVE_COLUMNS
from ..scoring import ScoredResponses
from .schedule import _missing_column_message

# --------------------------------------------------------------------------- self-reported exposure

#: Items of the ``continuity-exposure`` instrument used as self-reported exposure.
EXPOSURE_ITEMS = (
    "has_usual_preceptor",
    "clinic_halfdays_4wk",
    "halfdays_with_preceptor",
    "coach_meetings_year",
    "longitudinal_team",
)
_ID_GUESSES = ("resident", "learner", "record_id", "respondent", "respondent_id", "id")


def self_reported_exposure(
    scored: ScoredResponses | pd.DataFrame, *, id_column: str | None = None
) -> pd.DataFrame:
    """Self-reported continuity from the ``continuity-exposure`` instrument, as an exposure.

    Parameters
    ----------
    scored : ScoredResponses or pandas.DataFrame
        Scores of a survey that includes ``continuity-exposure`` (the item
        values are taken from ``scored.items``), or a DataFrame with the item
        columns named by item id or ``item_<id>`` (``score(...,
        include_items=True)`` writes those).
    id_column : str, optional
        The respondent id column (default: the scored output's id column; for
        a DataFrame, the first of ``resident``, ``learner``, ``record_id``,
        ``respondent``, ``id`` present).

    Returns
    -------
    pandas.DataFrame
        One row per response, in the input's order, with the columns (those
        available): the id column, ``wave``, ``row`` (in the response file),
        ``has_usual_preceptor`` (1/0), ``clinic_halfdays_4wk``,
        ``halfdays_with_preceptor``, ``upc_self``
        (``halfdays_with_preceptor / clinic_halfdays_4wk``: a self-reported
        UPC over the 4 weeks before the survey), ``perceived_continuity`` (the
        subscale score), ``coach_meetings_year``, ``longitudinal_team`` and
        ``exposure_note`` (why ``upc_self`` is missing: not answered, no
        half-days, no usual preceptor, or more half-days with the preceptor
        than in total). ``upc_self`` is missing, not 0, for a resident who
        reports no usual preceptor (the item was not asked); recode with
        ``upc_self.where(has_usual_preceptor != 0, 0)`` if that is the
        analysis wanted.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"resident": ["R1", "R2", "R3"], "has_usual_preceptor": [1, 0, 1],
    ...                       "clinic_halfdays_4wk": [8, 6, 0], "halfdays_with_preceptor": [6, None, None]})
    >>> exposure = self_reported_exposure(frame)
    >>> exposure["upc_self"].tolist()
    [0.75, nan, nan]
    >>> exposure["exposure_note"].tolist()[1:]
    ['no usual preceptor (halfdays_with_preceptor not asked)', 'no clinic half-days in the last 4 weeks']
    """
    if isinstance(scored, ScoredResponses):
        base = scored.scores.reset_index(drop=True)
        items = scored.items.reset_index(drop=True)
        id_column = id_column or scored.id_column

        def item(name: str) -> pd.Series | None:
            if name in items.columns:
                return items[name]
            return base[f"item_{name}"] if f"item_{name}" in base.columns else None

    elif isinstance(scored, pd.DataFrame):
        base = scored.reset_index(drop=True)
        if id_column is None:
            id_column = next((c for c in _ID_GUESSES if c in base.columns), None)

        def item(name: str) -> pd.Series | None:
            for column in (name, f"item_{name}"):
                if column in base.columns:
                    return base[column]
            return None

    else:
        raise SdtSurveyError(
            f"self_reported_exposure needs scored responses or a DataFrame, got {type(scored).__name__}"
        )
    if id_column is not None and id_column not in base.columns:
        raise SdtSurveyError(
            _missing_column_message("scored responses", "id", "id_column", id_column, base.columns)
        )
    needed = [n for n in ("clinic_halfdays_4wk", "halfdays_with_preceptor") if item(n) is None]
    if needed:
        raise SdtSurveyError(
            f"no column {' or '.join(map(repr, needed))}: self-reported exposure needs the "
            "continuity-exposure instrument's items (score with continuity-exposure; for a DataFrame, "
            "include_items=True)"
        )

    def numeric(name: str) -> pd.Series | None:
        values = item(name)
        return None if values is None else pd.to_numeric(values, errors="coerce").astype(float)

    out = pd.DataFrame(index=base.index)
    if id_column is not None:
        out[id_column] = base[id_column]
    wave = next((c for c in WAVE_COLUMNS if c in base.columns), None)
    if wave is not None:
        out["wave"] = base[wave]
    if "row" in base.columns:
        out["row"] = base["row"]
    usual = numeric("has_usual_preceptor")
    total = numeric("clinic_halfdays_4wk")
    with_preceptor = numeric("halfdays_with_preceptor")
    if usual is not None:
        out["has_usual_preceptor"] = usual
    out["clinic_halfdays_4wk"] = total
    out["halfdays_with_preceptor"] = with_preceptor
    no_usual = (usual == 0).to_numpy() if usual is not None else np.zeros(len(base), bool)
    conditions = [
        (total.isna().to_numpy(), "clinic_halfdays_4wk not answered"),
        ((total == 0).to_numpy(), "no clinic half-days in the last 4 weeks"),
        (no_usual, "no usual preceptor (halfdays_with_preceptor not asked)"),
        (with_preceptor.isna().to_numpy(), "halfdays_with_preceptor not answered"),
        ((with_preceptor > total).to_numpy(), "halfdays_with_preceptor exceeds clinic_halfdays_4wk"),
    ]
    note = np.full(len(base), "", dtype=object)
    undefined = np.zeros(len(base), bool)
    for mask, text in conditions:
        fresh = mask & ~undefined
        note[fresh] = text
        undefined |= mask
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (with_preceptor / total).to_numpy()
    out["upc_self"] = np.where(undefined, np.nan, ratio)
    if "perceived_continuity" in base.columns:
        out["perceived_continuity"] = base["perceived_continuity"]
    for name in ("coach_meetings_year", "longitudinal_team"):
        values = numeric(name)
        if values is not None:
            out[name] = values
    out["exposure_note"] = note
    return out
