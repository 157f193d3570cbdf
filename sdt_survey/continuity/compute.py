"""From a schedule to indices per learner and window: :func:`continuity_indices`."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from .indices import indices_from_codes
from .result import ContinuityResult
from .schedule import (
    INVALID_POLICIES,
    REPORT_COLUMNS,
    SIDES,
    TIME_COLUMN,
    ContinuityError,
    _cell_text,
    _check_choice,
    _factorize_ids,
    _missing_column_message,
    _parse_times,
    _parse_window,
    _read_schedule,
    _Report,
)

# --------------------------------------------------------------------------- the computation


def continuity_indices(
    schedule: pd.DataFrame | str | Path,
    *,
    learner_column: str = "learner",
    faculty_column: str = "faculty",
    time_column: str | None = None,
    assigned_column: str | None = None,
    setting_column: str | None = None,
    setting: str | Sequence[str] | None = None,
    window: str | None = None,
    side: str = "learner",
    invalid: str = "error",
    dedupe: bool = False,
    date_format: str | None = None,
    sheet: str | int | None = None,
) -> ContinuityResult:
    """Continuity indices per learner (or faculty member) and window, from a schedule.

    Parameters
    ----------
    schedule : pandas.DataFrame, str or pathlib.Path
        One row per learner-faculty contact (a clinic session, a shift, a
        half-day). A path is read by extension: CSV/TSV, Excel, Parquet,
        SPSS/Stata, JSON lines or JSON; the file is never modified.
    learner_column, faculty_column, time_column : str
        Who, with whom, when. Times are dates or date-times: ISO 8601 text
        (``2025-07-16``, ``2025-07-16 13:00``), ``date_format`` for other text,
        or datetime values. The time orders sessions for ``secon``; sessions of
        a learner at the same time keep their order in the input.
        ``time_column`` defaults to :data:`~sdt_survey.continuity.TIME_COLUMN`
        (``session_date``, what ``simulate`` writes), or ``date`` when the
        schedule has no ``session_date`` but a ``date`` column.
    assigned_column : str, optional
        The learner's assigned (designated) preceptor at each session. Gives
        ``upc``; compared session by session, so an assignment that changes
        during a window is handled (and noted). A session with no assigned
        preceptor recorded is reported and left out of ``upc``'s denominator.
    setting_column, setting : str, optional
        Keep only the sessions whose setting is ``setting`` (one value or a
        list; compared ignoring case and surrounding spaces). ``setting``
        without ``setting_column`` uses a column named ``setting``. How many
        sessions were left out, by setting, is a line of the report.
    window : str, optional
        ``None``: all sessions of a learner together. ``"academic-year"``:
        July 1 to June 30, labelled ``2025-26``. ``"block:N"``: consecutive
        N-week blocks, the first starting on the date of the earliest session
        in the (filtered) schedule, so every learner's block k covers the same
        days; ``"block:N@YYYY-MM-DD"`` starts them on that date instead.
        ``"YYYY-MM-DD..YYYY-MM-DD"``: only sessions on those days (inclusive).
        A learner has no row for a window without sessions.
    side : {"learner", "faculty"}
        ``faculty``: the same indices from each faculty member's view (one
        row per faculty member; the partners are learners; ``upc`` is the
        share of the faculty member's sessions with learners assigned to them).
    invalid : {"error", "drop"}
        A row with an empty learner or faculty id or a missing or unparseable
        time: ``error`` (default) stops with the full list
        (:class:`ContinuityError`); ``drop`` leaves those rows out, each one a
        line of the report.
    dedupe : bool
        Rows with the same learner, faculty member and time are reported as
        ``duplicate_row`` (a repeated export line, most likely) and kept by
        default; ``dedupe=True`` keeps only the first of them.
    date_format : str, optional
        ``strftime`` format of text times that are not ISO 8601, e.g. ``"%m/%d/%Y"``.
    sheet : str or int, optional
        The Excel sheet (default the first).

    Returns
    -------
    ContinuityResult

    Raises
    ------
    SdtSurveyError
        A missing column (with a did-you-mean), an unknown option, or an
        unreadable file.
    ContinuityError
        Invalid rows with ``invalid="error"``; ``.report`` lists each one.

    Examples
    --------
    >>> import pandas as pd
    >>> schedule = pd.DataFrame(
    ...     {
    ...         "resident": ["R1", "R1", "R1", "R1", "R1", "R2", "R2", "R2"],
    ...         "preceptor": ["A", "A", "B", "A", "C", "A", "B", "B"],
    ...         "session_date": ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22",
    ...                          "2026-07-06", "2025-07-02", "2025-07-09", "2025-07-16"],
    ...         "assigned": ["A", "A", "A", "A", "C", "B", "B", "B"],
    ...     }
    ... )
    >>> result = continuity_indices(
    ...     schedule, learner_column="resident", faculty_column="preceptor",
    ...     time_column="session_date", assigned_column="assigned", window="academic-year",
    ... )
    >>> result.indices[["resident", "window", "n_sessions", "upc", "coc", "secon"]].round(3)
      resident   window  n_sessions    upc    coc  secon
    0       R1  2025-26           4  0.750  0.500  0.333
    1       R1  2026-27           1  1.000    NaN    NaN
    2       R2  2025-26           3  0.667  0.333  0.500
    >>> result.indices.loc[1, "notes"]
    'coc and secon undefined: fewer than 2 sessions'
    >>> by_faculty = continuity_indices(
    ...     schedule, learner_column="resident", faculty_column="preceptor",
    ...     time_column="session_date", side="faculty",
    ... )
    >>> by_faculty.indices[["preceptor", "n_sessions", "n_learners", "mfpc"]].round(3)
      preceptor  n_sessions  n_learners   mfpc
    0         A           4           2  0.750
    1         B           3           2  0.667
    2         C           1           1  1.000
    """
    _check_choice("side", side, SIDES)
    _check_choice("invalid", invalid, INVALID_POLICIES)
    window_kind, window_arg = _parse_window(window)
    if setting is not None and setting_column is None:
        setting_column = "setting"
    frame, rows, path, blank_rows = _read_schedule(schedule, sheet)
    if time_column is None:
        present = [str(c) for c in frame.columns]
        time_column = "date" if TIME_COLUMN not in present and "date" in present else TIME_COLUMN

    roles = [
        ("learner", "learner_column", learner_column),
        ("faculty", "faculty_column", faculty_column),
        ("time", "time_column", time_column),
    ]
    if assigned_column is not None:
        roles.append(("assigned", "assigned_column", assigned_column))
    if setting_column is not None:
        roles.append(("setting", "setting_column", setting_column))
    columns = [str(c) for c in frame.columns]
    if len({name for _, _, name in roles}) < len(roles):
        raise SdtSurveyError(
            "each role needs its own column: " + ", ".join(f"{option}={name!r}" for _, option, name in roles)
        )
    absent = [
        _missing_column_message(path, role, option, name, columns)
        for role, option, name in roles
        if name not in columns
    ]
    if absent:
        raise SdtSurveyError("\n".join(absent))
    if len(frame) == 0:
        raise SdtSurveyError(f"{path}: the schedule has no rows")
    n_rows = len(frame)
    notes: list[str] = []

    learner = _factorize_ids(frame[learner_column])
    faculty = _factorize_ids(frame[faculty_column])
    report = _Report(rows, learner, faculty)
    for row in blank_rows:
        report.chunks.append(
            pd.DataFrame(
                [
                    {
                        **dict.fromkeys(REPORT_COLUMNS),
                        "row": row,
                        "problem": "blank_line",
                        "severity": "info",
                        "message": "the row is entirely empty",
                        "action": "skipped",
                    }
                ]
            )
        )
    keep = np.ones(n_rows, dtype=bool)

    # Setting filter first: rows of other settings are not used, so not checked either.
    if setting_column is not None and setting is not None:
        wanted = [setting] if isinstance(setting, str) else list(setting)
        wanted_keys = {str(s).strip().casefold() for s in wanted}
        setting_codes = _factorize_ids(frame[setting_column])
        label_keys = np.array([str(v).strip().casefold() for v in setting_codes.labels], dtype=object)
        matching = np.isin(label_keys, list(wanted_keys))
        if not matching.any():
            present = list(setting_codes.labels)
            close = [
                m for s in wanted for m in difflib.get_close_matches(str(s), [str(p) for p in present], n=1)
            ]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SdtSurveyError(
                f"{path}: no session has {setting_column} {', '.join(map(repr, wanted))}{hint} "
                f"(values: {', '.join(map(repr, present[:12]))}{', ...' if len(present) > 12 else ''})"
            )
        in_setting = np.r_[matching, False][setting_codes.codes]
        if (~in_setting).any():
            left_out = pd.Series(
                np.where(
                    setting_codes.codes[~in_setting] >= 0,
                    setting_codes.labels[np.maximum(setting_codes.codes[~in_setting], 0)],
                    "(empty)",
                )
            ).value_counts()
            listed = ", ".join(f"{k}: {v}" for k, v in left_out.head(10).items())
            report.add_file(
                "outside_setting",
                f"{int((~in_setting).sum())} sessions in other settings ({listed}"
                f"{', ...' if len(left_out) > 10 else ''}); only {', '.join(map(repr, wanted))} counted",
                "not counted",
                column=setting_column,
            )
        keep &= in_setting

    times, time_missing, time_invalid = _parse_times(frame[time_column], date_format)
    action_invalid = "row dropped (invalid='drop')" if invalid == "drop" else "blocked: no indices computed"
    bad = np.zeros(n_rows, dtype=bool)
    for codes, column, role in ((learner, learner_column, "learner"), (faculty, faculty_column, "faculty")):
        where = np.flatnonzero(keep & (codes.codes < 0))
        report.add(
            where,
            column,
            _cell_text(frame[column], where),
            "missing_id",
            f"the {role} id is empty",
            action_invalid,
        )
        bad[where] = True
    where = np.flatnonzero(keep & time_missing)
    report.add(
        where, time_column, np.full(len(where), ""), "missing_date", "the time is empty", action_invalid
    )
    bad[where] = True
    where = np.flatnonzero(keep & time_invalid)
    cells = _cell_text(frame[time_column], where)
    expected = f"the format {date_format!r}" if date_format else "YYYY-MM-DD, or pass date_format"
    report.add(
        where,
        time_column,
        cells,
        "invalid_date",
        [f"{c!r} is not a date ({expected})" for c in cells],
        action_invalid,
    )
    bad[where] = True
    if bad.any() and invalid == "error":
        raise ContinuityError(path, report.frame())
    keep &= ~bad

    # Window: a code per session (dense from 0 in time order), its label, first and last day.
    days = times.astype("datetime64[D]")
    window_labels: list[str] = []
    window_bounds: list[tuple[np.datetime64, np.datetime64]] = []
    window_code = np.zeros(n_rows, dtype=np.int64)
    if window_kind == "range":
        start, end = (np.datetime64(d, "D") for d in window_arg)
        inside = (days >= start) & (days <= end)
        outside = keep & ~inside
        if outside.any():
            report.add_file(
                "outside_window",
                f"{int(outside.sum())} sessions outside {window} (from {days[outside].min()!s} "
                f"to {days[outside].max()!s})",
                "not counted",
                column=time_column,
            )
        keep &= inside
        window_labels, window_bounds = [window.strip()], [(start, end)]
    elif window_kind in ("academic-year", "block") and keep.any():
        if window_kind == "academic-year":
            raw = _academic_year(days, keep)
            low, high = int(raw[keep].min()), int(raw[keep].max())
            for y in range(low, high + 1):
                window_labels.append(f"{y}-{(y + 1) % 100:02d}")
                window_bounds.append((np.datetime64(f"{y}-07-01"), np.datetime64(f"{y + 1}-06-30")))
        else:
            weeks, anchor = window_arg
            anchor_day = np.datetime64(anchor, "D") if anchor is not None else days[keep].min()
            if anchor is None:
                notes.append(f"blocks of {weeks} weeks start on {anchor_day}, the earliest session")
            length = 7 * weeks
            raw = (days - anchor_day).astype(np.int64) // length
            low, high = int(raw[keep].min()), int(raw[keep].max())
            for b in range(low, high + 1):
                first_day = anchor_day + np.timedelta64(b * length, "D")
                last_day = first_day + np.timedelta64(length - 1, "D")
                window_labels.append(f"{first_day}..{last_day}")
                window_bounds.append((first_day, last_day))
        window_code = np.where(keep, raw - low, 0)
    n_windows = max(len(window_labels), 1)

    # Assigned preceptor: per session, on the faculty code scale.
    if assigned_column is not None:
        assigned = _factorize_ids(frame[assigned_column])
        to_faculty = (
            pd.Index(faculty.labels).get_indexer(assigned.labels)
            if len(assigned.labels)
            else np.zeros(0, np.int64)
        )
        assigned_as_faculty = np.r_[to_faculty, -1][assigned.codes]
        known = assigned.codes >= 0
        match = known & (assigned_as_faculty == faculty.codes) & (faculty.codes >= 0)
        where = np.flatnonzero(keep & ~known)
        report.add(
            where,
            assigned_column,
            np.full(len(where), ""),
            "missing_assigned",
            "no assigned preceptor recorded for this session",
            "kept; left out of upc",
        )

    # Sort: by unit (learner, or faculty member), window, time; ties keep the input order.
    unit, partner = (learner, faculty) if side == "learner" else (faculty, learner)
    used = np.flatnonzero(keep)
    del keep, bad, time_missing, time_invalid, days
    group_raw = unit.codes[used] * n_windows + window_code[used]
    t_sorted = times[used].view(np.int64)
    if len(used) > 1 and not np.all(
        (group_raw[1:] > group_raw[:-1])
        | ((group_raw[1:] == group_raw[:-1]) & (t_sorted[1:] >= t_sorted[:-1]))
    ):
        # One stable sort of (group, rank of the time): ties in time keep the input order.
        t_codes, t_uniques = pd.factorize(t_sorted)
        t_rank = np.empty(len(t_uniques), dtype=np.int64)
        t_rank[np.argsort(t_uniques, kind="stable")] = np.arange(len(t_uniques))
        order = np.argsort(group_raw * len(t_uniques) + t_rank[t_codes], kind="stable")
        del t_codes, t_rank
        used, group_raw, t_sorted = used[order], group_raw[order], t_sorted[order]
        del order
    del window_code

    # Duplicates: same learner, faculty and time. Only ties in time within a unit can be duplicates.
    if len(used) > 1:
        tie = (group_raw[1:] == group_raw[:-1]) & (t_sorted[1:] == t_sorted[:-1])
        candidate = np.r_[tie, False] | np.r_[False, tie]
        if candidate.any():
            positions = np.flatnonzero(candidate)
            rows_c = used[positions]
            keys = pd.DataFrame(
                {"l": learner.codes[rows_c], "f": faculty.codes[rows_c], "t": t_sorted[positions]}
            )
            repeated = keys.duplicated(keep="first").to_numpy()
            if repeated.any():
                first_row = (
                    pd.Series(rows[rows_c])
                    .groupby([keys["l"], keys["f"], keys["t"]])
                    .transform("first")
                    .to_numpy()
                )
                dup_rows = rows_c[repeated]
                report.add(
                    dup_rows,
                    None,
                    np.full(len(dup_rows), ""),
                    "duplicate_row",
                    [f"same learner, faculty and time as row {r}" for r in first_row[repeated]],
                    "dropped (dedupe=True)" if dedupe else "kept (dedupe=False)",
                )
                if dedupe:
                    drop = np.zeros(len(used), bool)
                    drop[positions[repeated]] = True
                    used, group_raw, t_sorted = used[~drop], group_raw[~drop], t_sorted[~drop]

    # Dense groups in sorted order; then the core.
    if len(used):
        new_group = np.r_[True, group_raw[1:] != group_raw[:-1]]
        group = np.cumsum(new_group) - 1
        firsts = np.flatnonzero(new_group)
    else:
        group = np.zeros(0, np.int64)
        firsts = np.zeros(0, np.int64)
    n_groups = len(firsts)
    lasts = np.r_[firsts[1:] - 1, len(used) - 1].astype(np.int64) if n_groups else firsts
    core = indices_from_codes(
        group,
        partner.codes[used],
        n_groups=n_groups,
        assigned_match=match[used] if assigned_column is not None else None,
        assigned_known=known[used] if assigned_column is not None else None,
    )
    del times

    id_column = learner_column if side == "learner" else faculty_column
    partner_count = "n_faculty" if side == "learner" else "n_learners"
    group_units = group_raw[firsts] // n_windows if n_groups else np.zeros(0, np.int64)
    out = pd.DataFrame({id_column: unit.labels[group_units] if n_groups else np.zeros(0, object)})
    if window_kind != "none":
        codes_w = group_raw[firsts] % n_windows if n_groups else np.zeros(0, np.int64)
        labels_arr = np.array(window_labels or [""], dtype=object)
        out["window"] = labels_arr[codes_w] if n_groups else np.zeros(0, object)
        bounds = np.array(
            window_bounds or [(np.datetime64("NaT"), np.datetime64("NaT"))], dtype="datetime64[D]"
        )
        out["window_start"] = (
            bounds[codes_w, 0].astype("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
        )
        out["window_end"] = (
            bounds[codes_w, 1].astype("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
        )
    first_t = t_sorted[firsts].view("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
    last_t = t_sorted[lasts].view("datetime64[ns]") if n_groups else np.zeros(0, "datetime64[ns]")
    out["n_sessions"] = core["n_sessions"].to_numpy()
    out[partner_count] = core["n_partners"].to_numpy()
    out["first"] = first_t
    out["last"] = last_t
    out["duration_days"] = (last_t.astype("datetime64[D]") - first_t.astype("datetime64[D]")).astype(np.int64)

    note_parts: list[tuple[np.ndarray, np.ndarray | str]] = []
    if assigned_column is not None:
        n_known = core["n_assigned_known"].to_numpy()
        if side == "learner":
            assigned_out, varies_count = _assigned_per_group(
                group, assigned.codes[used], known[used], assigned.labels, n_groups
            )
            out["assigned"] = assigned_out
            varies = varies_count > 1
            note_parts.append(
                (
                    varies,
                    "assigned preceptor varies ("
                    + pd.Series(varies_count).astype(str).to_numpy(dtype=object)
                    + "); upc compares each session with its own assigned preceptor",
                )
            )
        out["upc"] = core["upc"].to_numpy()
        n_sessions = core["n_sessions"].to_numpy()
        note_parts.append((n_known == 0, "upc undefined: no assigned preceptor recorded"))
        partial = (n_known > 0) & (n_known < n_sessions)
        note_parts.append(
            (
                partial,
                "upc over the "
                + pd.Series(n_known).astype(str).to_numpy(dtype=object)
                + " sessions with an assigned preceptor recorded",
            )
        )
    for name in ("mfpc", "coc", "hhi", "mmci", "secon", "entropy", "entropy_norm"):
        out[name] = core[name].to_numpy()
    note_parts.insert(
        0, (core["n_sessions"].to_numpy() < 2, "coc and secon undefined: fewer than 2 sessions")
    )
    out["notes"] = _join_notes(note_parts, n_groups)

    if assigned_column is None:
        notes.append("no assigned column: upc not computed (assigned_column names it)")
    if len(used) == 0:
        notes.append("no sessions left to compute indices from")
    notes.append(
        "secon orders each "
        + ("learner's" if side == "learner" else "faculty member's")
        + " sessions by time; sessions at the same time keep their order in the input"
    )
    return ContinuityResult(
        indices=out,
        report=report.frame(),
        side=side,
        window=window,
        id_column=id_column,
        path=path,
        n_rows=n_rows,
        n_sessions=len(used),
        notes=notes,
    )


def _academic_year(days: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The academic year (July-June, by its first calendar year) of each day.

    Computed once per day of the span covered and looked up (calendar
    arithmetic per session would be slow); days outside ``keep`` get any value.
    """
    number = days.view(np.int64)
    low = int(number[keep].min())
    span = np.arange(low, int(number[keep].max()) + 1).astype("datetime64[D]")
    year = span.astype("datetime64[Y]").astype(np.int64) + 1970
    month = span.astype("datetime64[M]").astype(np.int64) % 12 + 1
    table = year - (month < 7)
    return table[np.clip(number - low, 0, len(table) - 1)]


def _assigned_per_group(
    group: np.ndarray, codes: np.ndarray, known: np.ndarray, labels: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """The assigned preceptor of each group ("A|B" in order of first appearance when it varies)."""
    out = np.full(n_groups, None, dtype=object)
    distinct = np.zeros(n_groups, dtype=np.int64)
    g, c = group[known], codes[known]
    if not len(g):
        return out, distinct
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[g[starts]] = labels[c[starts]]
    change = (g[1:] == g[:-1]) & (c[1:] != c[:-1])
    distinct[g[starts]] = 1
    varying = np.unique(g[1:][change])
    if len(varying):
        subset = np.isin(g, varying)
        pairs = pd.DataFrame({"g": g[subset], "label": labels[c[subset]]}).drop_duplicates()
        joined = pairs.groupby("g", sort=True)["label"].agg("|".join)
        out[joined.index.to_numpy()] = joined.to_numpy()
        distinct[joined.index.to_numpy()] = pairs.groupby("g", sort=True).size().to_numpy()
    return out, distinct


def _join_notes(parts: list[tuple[np.ndarray, np.ndarray | str]], n: int) -> np.ndarray:
    notes = np.full(n, "", dtype=object)
    for mask, text in parts:
        where = np.flatnonzero(mask)
        if not len(where):
            continue
        piece = text[where] if isinstance(text, np.ndarray) else np.full(len(where), text, dtype=object)
        current = notes[where]
        notes[where] = np.where(current == "", piece, current + "; " + piece)
    return notes
