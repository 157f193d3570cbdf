"""CFA and measurement invariance straight from a response file.

These read, validate and score the responses exactly as ``sdt-survey score``
does, apply reverse keys, and fit the instrument's factor model, so the
command line and notebooks need no glue code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...errors import SdtSurveyError
from ...instrument import Instrument
from ...responses import WAVE_COLUMNS
from ...responses.waves import choose_wave, wave_order
from ...scoring import ScoredResponses, score
from .estimators import ESTIMATORS, estimator_record


@dataclass(frozen=True)
class KeyedData:
    """Reverse-keyed items of one instrument, with the passthrough columns, ready to fit."""

    frame: pd.DataFrame
    instrument: Instrument
    notes: tuple[str, ...] = ()
    id_column: str | None = None
    wave_column: str | None = None


def keyed_data(
    instruments: Any,
    responses: Any,
    *,
    wave: Any = None,
    all_waves: bool = False,
    id_column: str | None = None,
    wave_column: str | None = None,
    items: Sequence[str] | None = None,
    **reading: Any,
) -> KeyedData:
    """Score responses and return the first instrument's keyed items with the other columns.

    When the data hold several waves, the first wave is used (``wave=``
    chooses another, ``all_waves=True`` keeps every row, e.g. to compare
    waves); the notes say which. ``items`` keeps those keyed items instead
    (e.g. one subscale's, of any of the instruments).
    """
    scored: ScoredResponses = score(
        instruments, responses, id_column=id_column, wave_column=wave_column, **reading
    )
    instrument = scored.instruments[0]
    if items is None:
        items = [item for sub in instrument.subscales.values() for item in sub.items]
    items = list(dict.fromkeys(items))
    others = scored.scores.drop(columns=[c for c in scored.scores.columns if c in items])
    frame = pd.concat([others.reset_index(drop=True), scored.keyed[items].reset_index(drop=True)], axis=1)
    notes: list[str] = list(scored.notes)  # the intake's: e.g. the id column taken from the export
    wave_column = wave_column or next((c for c in WAVE_COLUMNS if c in frame.columns), None)
    if wave_column and not all_waves:
        # Waves in the study's order (numbers by number, REDCap events as the project orders them).
        chosen, waves = choose_wave(frame, wave_column, wave, id_column=scored.id_column)
        if len(waves) > 1 or wave is not None:
            frame = frame[frame[wave_column] == chosen].reset_index(drop=True)
            notes.append(f"wave {chosen!r} of {len(waves)} in {wave_column!r}")
    if len(scored.instruments) > 1:
        notes.append(f"the factor model is {instrument.id}'s; other instruments were scored but not modelled")
    return KeyedData(frame, instrument, tuple(notes), scored.id_column, wave_column)


def instrument_cfa(
    instruments: Any,
    responses: Any,
    *,
    model: str = "correlated",
    estimator: str = "ML",
    missing: str = "auto",
    std_lv: bool = False,
    wave: Any = None,
    cluster: str | None = None,
    **reading: Any,
) -> Any:
    """Fit an instrument's factor model to a response file (see :func:`sdt_survey.factor.sem.cfa`).

    Parameters
    ----------
    instruments, responses
        As for :func:`sdt_survey.score`; the first instrument's subscales are the factors.
    model : {"correlated", "bifactor", "second-order"} or lavaan-style syntax
        A named variant of the instrument's structure, or a model written out
        (``rs =~ rs1 + rs2 + rs3 + rs4`` ...) over its item ids.
    estimator, missing, std_lv
        As for :func:`~sdt_survey.factor.sem.cfa`; ``estimator="WLSMV"`` treats the
        items as ordinal (:func:`~sdt_survey.factor.sem.cfa_ordinal`, as lavaan's
        ``ordered = TRUE``).
    wave
        Which wave to fit when the data hold several (default: the first).
    cluster
        A column of the response file (e.g. ``"program"``): cluster-robust
        standard errors and test (see :func:`~sdt_survey.factor.sem.cfa`); ML and MLR only.
    """
    from .fitting import cfa
    from .spec import CFAModel

    data = keyed_data(instruments, responses, wave=wave, **reading)
    spec = (
        CFAModel.from_instrument(data.instrument, kind=model)
        if model in ("correlated", "bifactor", "second-order")
        else CFAModel.from_syntax(model)
    )
    if ESTIMATORS.get(str(estimator).upper(), ESTIMATORS["ML"]).data == "ordinal":
        from .wlsmv import cfa_ordinal

        if cluster is not None:
            estimator_record(estimator, "ordinal", cluster=True)  # the error: cluster= is for ML and MLR
        if std_lv:
            raise SdtSurveyError("WLSMV identifies factors by marker loadings here; set std_lv=False")
        if missing == "fiml":
            raise SdtSurveyError("WLSMV uses complete cases (listwise); FIML is for ML and MLR")
        result = cfa_ordinal(data.frame[list(spec.indicators)], spec, estimator=estimator)
        return _noted(result, (*data.notes, "ordinal items: polychoric correlations, WLSMV, complete cases"))
    if cluster is not None and cluster not in data.frame.columns:
        raise SdtSurveyError(
            f"no cluster column {cluster!r} in the responses; columns: "
            f"{', '.join(map(str, data.frame.columns[:15]))}"
        )
    fit = cfa(data.frame, spec, estimator=estimator, missing=missing, std_lv=std_lv, cluster=cluster)
    return _noted(fit, data.notes)


def instrument_invariance(
    instruments: Any,
    responses: Any,
    group_column: str,
    *,
    model: str = "correlated",
    estimator: str = "ML",
    missing: str = "auto",
    free: Sequence[str] = (),
    wave: Any = None,
    group_order: str | Sequence[Any] = "sorted",
    cluster: str | None = None,
    **reading: Any,
) -> Any:
    """Measurement invariance of an instrument across the groups of a column, from a response file.

    Grouping by the wave column compares waves (every wave is kept);
    otherwise the first wave is used when there are several. The groups are
    taken in ``group_order`` (default ``"sorted"``: a categorical column's
    declared levels, else natural order, so PGY 2 comes before PGY 10); the
    first is the reference group, named in the result. ``"appearance"`` is
    lavaan's order (see :func:`~sdt_survey.factor.sem.measurement_invariance`).
    ``cluster`` (a column, e.g. ``"program"``) makes every step cluster-robust.
    With ``estimator="WLSMV"`` the items are treated as ordinal
    (:func:`~sdt_survey.factor.sem.ordinal_invariance.ordinal_invariance`, theta
    parameterization, categories some group never used merged first).
    """
    from .invariance import measurement_invariance
    from .spec import CFAModel

    wave_names = (reading.get("wave_column"), *WAVE_COLUMNS)
    data = keyed_data(instruments, responses, wave=wave, all_waves=group_column in wave_names, **reading)
    if group_column not in data.frame.columns:
        raise SdtSurveyError(
            f"no group column {group_column!r}; columns: {', '.join(map(str, data.frame.columns[:15]))}"
        )
    spec = (
        CFAModel.from_instrument(data.instrument, kind=model)
        if model in ("correlated", "bifactor", "second-order")
        else CFAModel.from_syntax(model)
    )
    frame = data.frame.dropna(subset=[group_column])
    if str(estimator).upper() == "WLSMV":
        # Likert answers as ordinal: the Wu & Estabrook chain. An answer category that one group never
        # used is merged into the next lower one (a note says which), so its thresholds can be compared.
        from .ordinal_invariance import ordinal_invariance

        if missing not in ("auto", "listwise"):
            raise SdtSurveyError("WLSMV uses complete cases (lavaan's default); use missing='listwise'")
        result = ordinal_invariance(
            frame, spec, group_column, free=list(free), group_order=group_order, merge_empty=True
        )
        return _noted(result, data.notes)
    result = measurement_invariance(
        frame,
        spec,
        group_column,
        estimator=estimator,
        missing=missing,
        free=list(free),
        group_order=group_order,
        cluster=cluster,
    )
    return _noted(result, data.notes)


def instrument_longitudinal_invariance(
    instruments: Any,
    responses: Any,
    *,
    model: str = "correlated",
    estimator: str = "ML",
    missing: str = "auto",
    free: Sequence[str] = (),
    **reading: Any,
) -> Any:
    """Invariance of an instrument across the waves of the same respondents, from a response file.

    The responses hold several waves in long format (one row per respondent
    and wave: a study's combined waves); the id column (``id_column=``, or
    the one the export carries) links a respondent's answers across waves and
    the wave column (``wave_column=``, default ``wave``) orders them. See
    :func:`~sdt_survey.factor.sem.longitudinal_invariance`.
    """
    from .longitudinal import longitudinal_invariance
    from .spec import CFAModel

    data = keyed_data(instruments, responses, all_waves=True, **reading)
    if data.id_column is None or data.id_column not in data.frame.columns:
        raise SdtSurveyError(
            "longitudinal invariance links each respondent's answers across waves: name the id column "
            "(id_column=NAME)"
        )
    if data.wave_column is None:
        raise SdtSurveyError(
            "longitudinal invariance needs a wave column (wave_column=NAME); "
            f"columns: {', '.join(map(str, data.frame.columns[:15]))}"
        )
    spec = (
        CFAModel.from_instrument(data.instrument, kind=model)
        if model in ("correlated", "bifactor", "second-order")
        else CFAModel.from_syntax(model)
    )
    result = longitudinal_invariance(
        data.frame,
        spec,
        id=data.id_column,
        wave=data.wave_column,
        wave_order=wave_order(data.frame, data.wave_column, id_column=data.id_column),
        estimator=estimator,
        missing=missing,
        free=list(free),
        # WLSMV: a category not used at every wave is merged into the next lower one (noted).
        merge_empty=str(estimator).upper() == "WLSMV",
    )
    return _noted(result, data.notes)


def _noted(result: Any, notes: Sequence[str]) -> Any:
    """Attach the data notes to a result (every factor result keeps a ``notes`` list)."""
    result.notes.extend(notes)
    return result
