"""cohort_summary: every score by group and wave, with changes, trends and privacy-safe suppression."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument, load_instruments
from ..scoring import score_ids
from .cells import _longitudinal_cells, _wave_cells
from .data import _check_by, _collect, _group_labels, _item_groups, _natural_key, check_min_cell
from .figures import CHANGE_FIGURES, FIGURES, TREND_FIGURES, _summaries, scale_midpoints
from .invariance import _invariance
from .ledger import ReleaseLedger, open_ledger
from .result import CohortReport
from .suppression import _audit_with_ledger, _protect_all, _release_cells
from .trajectories import _changes, _link_method, _trends


def _null_hidden(frame: pd.DataFrame, hidden: set[tuple[int, Any]], figures: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    mask = np.array([(t, v) in hidden for t, v in zip(out["_table"], out["_value"], strict=True)], dtype=bool)
    out["suppressed"] = mask
    for column in figures:
        if column in ("n", "n_pairs", "n_observations"):
            out[column] = out[column].astype("Int64")
            out.loc[mask, column] = pd.NA
        else:
            out[column] = out[column].astype(float)
            out.loc[mask, column] = np.nan
    return out


def cohort_summary(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: Any,
    *,
    id_column: str,
    by: Sequence[str],
    wave_column: str | None = None,
    min_cell: int = 5,
    invariance: bool = True,
    confidence: float = 0.95,
    ledger: str | Path | ReleaseLedger | bool | None = True,
    release_command: str = "cohorts",
    **reading_options: Any,
) -> CohortReport:
    """Summaries of every score by group and wave, with changes, trends and privacy-safe suppression.

    Parameters
    ----------
    instruments : Instrument, name, or a list of them
    responses : path, list of paths, ScoredResponses, DataFrame (or a list of them)
        Read and scored as :func:`sdt_survey.score` does. Several sources
        (waves) are scored one by one and their tables concatenated. The wave
        is ``wave_column``, else a column named as in
        :data:`~sdt_survey.responses.WAVE_COLUMNS`; when the files have none,
        the order of the files defines wave 1, 2, ...
    id_column : str
        Respondent id; links a respondent's answers across waves. It is used
        for linking only and never appears in the report.
    by : sequence of str
        Grouping columns (e.g. ``["program", "pgy", "cohort", "clinic"]``);
        each gives one set of group rows. Respondents with no value form the
        group ``"(missing)"``.
    wave_column : str, optional
    min_cell : int
        Minimum number of respondents behind any figure (default 5; at least 3).
    invariance : bool
        Run the measurement-invariance check (default True).
    confidence : float
        Level of the confidence intervals (default 0.95).
    ledger : path, ReleaseLedger, True, or None
        The release ledger (:mod:`sdt_survey.cohorts.ledger`): every cell an earlier
        table or report showed of these respondents counts as known, and this
        report hides more until nothing new is derivable; what it shows is
        recorded. ``True`` (default): the user's ledger
        (:func:`~sdt_survey.cohorts.ledger.default_ledger_path`); a path: that file (a
        team's shared ledger); ``None``: protect this table on its own only.
    release_command : str
        What the ledger records as the releasing command.
    **reading_options
        Passed to :func:`sdt_survey.score` (``source``, ``mapping``,
        ``invalid``, ``duplicates``, ``exclude_flagged``, ...).

    Returns
    -------
    CohortReport

    Raises
    ------
    SdtSurveyError
        ``min_cell`` below 3 or below that of an earlier release of these
        respondents, a grouping column that is an identifier, an item or
        missing, a respondent twice in one wave, and unreadable data.

    Examples
    --------
    >>> import sdt_survey
    >>> from sdt_survey.simulate import simulate
    >>> data = simulate("bpn-residency", seed=5, n_programs=2, residents_per_program=(12, 12))
    >>> report = cohort_summary("bpn-residency", data.responses, id_column="resident",
    ...                         by=["pgy"], invariance=False)
    >>> frame = report.to_frame()
    >>> overall = frame[(frame.pgy == "all") & (frame.scale == "relatedness_satisfaction")]
    >>> overall[["wave", "n"]].values.tolist()
    [[1, 24], [2, 20]]
    >>> "resident" in frame.columns
    False
    """
    check_min_cell(min_cell)
    if not 0 < confidence < 1:
        raise SdtSurveyError(f"confidence must be between 0 and 1, not {confidence!r}")
    if "id_column" in reading_options or "wave_column" in reading_options:
        raise SdtSurveyError("give id_column and wave_column once")
    loaded = load_instruments(instruments)
    by = tuple(by) if not isinstance(by, str) else by
    data = _collect(loaded, responses, id_column, wave_column, reading_options)
    _item_groups(data, by, loaded)
    _check_by(data, by, loaded, id_column, wave_column, min_cell)
    names = score_ids(loaded)
    midpoints = scale_midpoints(loaded)
    frame = _group_labels(data.frame[["_rid", "_wave", *by, *names]], by)
    notes = list(data.notes)

    # one audit of the wave cells and of the longitudinal groups (changes and trends) together
    longitudinal = len(data.waves) > 1
    pairs = [(a, a + 1, _link_method(frame, a, a + 1)) for a in range(len(data.waves) - 1)]
    long_grid = _longitudinal_cells(frame, by, names, pairs) if longitudinal else None
    long_keys = [(t, v) for _, t, v in long_grid.keys] if long_grid is not None else []
    grids = _wave_cells(frame, by, names, longitudinal)
    hidden_keys = _protect_all(grids, int(min_cell), long_grid)
    with open_ledger(ledger) as book:
        if book is None:
            notes.append(
                "no release ledger: this table is protected on its own, not against other runs on the "
                "same respondents (see docs/privacy.md)"
            )
        else:
            cells = _release_cells(frame, data.ids, by, names, book, longitudinal)
            book.check_min_cell(int(min_cell), np.concatenate([c.versions for c in cells]))
            hidden_keys, ledger_notes = _audit_with_ledger(
                cells, book, grids, long_grid, int(min_cell), hidden_keys
            )
            notes.extend(ledger_notes)
            released = [c for c in cells if c.key not in hidden_keys]
            book.record(
                released,
                command=release_command,
                min_cell=int(min_cell),
                details={"by": list(by), "waves": [str(w) for w in data.waves]},
            )
    hidden = {(t, v) for kind, t, v in hidden_keys if kind == "w"}
    hidden_long = {(t, v) for kind, t, v in hidden_keys if kind == "L"}

    rows = _summaries(frame, by, names, midpoints, confidence)
    rows["wave"] = rows["_wave"].map(dict(enumerate(data.waves)))
    all_keys = sorted(
        {(int(t), v) for t, v in zip(rows["_table"], rows["_value"], strict=True)},
        key=lambda k: (k[0], _natural_key(k[1])),
    )
    order = {key: i for i, key in enumerate(all_keys)}
    rows["_order"] = [order[(int(t), v)] for t, v in zip(rows["_table"], rows["_value"], strict=True)]
    rows["_scale_order"] = rows["scale"].map({n: i for i, n in enumerate(names)})
    rows = rows.sort_values(["_scale_order", "_order", "_wave"], kind="stable").reset_index(drop=True)
    rows = _null_hidden(rows, hidden, FIGURES)[["_table", "_value", "wave", "scale", *FIGURES, "suppressed"]]

    changes = pd.DataFrame(
        columns=["_table", "_value", "scale", "from_wave", "to_wave", "method", *CHANGE_FIGURES, "suppressed"]
    )
    trends = pd.DataFrame(columns=["_table", "_value", "scale", "method", *TREND_FIGURES, "suppressed"])
    if longitudinal:
        raw_changes = _changes(frame, by, names, pairs, long_keys, hidden_long, confidence, notes)
        raw_changes["from_wave"] = raw_changes["from"].map(dict(enumerate(data.waves)))
        raw_changes["to_wave"] = raw_changes["to"].map(dict(enumerate(data.waves)))
        changes = _null_hidden(raw_changes, hidden_long, CHANGE_FIGURES)[changes.columns]
        raw_trends = _trends(frame, by, names, long_keys, hidden_long, confidence, notes)
        trends = _null_hidden(raw_trends, hidden_long, TREND_FIGURES)[trends.columns]
        methods = sorted({m for _, _, m in pairs})
        notes.append(
            "changes and trends follow each respondent in the groups they were in at their first wave; "
            f"change method: {', '.join(methods)} (paired_t: every respondent answered both waves; "
            "mixed_model: ids partly link, random intercept per respondent, t test on Satterthwaite df as "
            "lmerTest; ols: no id links)"
        )
    else:
        notes.append("one wave only: no changes or trends")
    inv, inv_notes = _invariance(frame, data.keyed, data.waves, loaded, by, invariance)
    notes.extend(inv_notes)
    n_hidden = int(rows["suppressed"].sum())
    if n_hidden:
        notes.append(
            f"{n_hidden} of {len(rows)} rows suppressed (minimum cell size {min_cell}, with complementary "
            "suppression; see docs/privacy.md)"
        )
    labels = {}
    for inst in loaded:
        for entry in (*inst.subscales.values(), *inst.composites.values()):
            labels[entry.id] = str(entry.label) if entry.label is not None else entry.id
    return CohortReport(
        rows=rows,
        changes=changes.reset_index(drop=True),
        trends=trends.reset_index(drop=True),
        invariance=inv,
        notes=notes,
        min_cell=int(min_cell),
        by=tuple(by),
        waves=tuple(data.waves),
        confidence=float(confidence),
        scales=tuple(names),
        scale_labels=labels,
        midpoints=midpoints,
    )


__all__ = ["cohort_summary"]
