"""The intake stage: read, validate, score once, and record every decision.

:func:`score` is the whole job behind ``sdt-survey score`` and the first step
of every analysis: read (or take) the responses, validate every cell, apply
reverse keys (``min + max - x``), score each subscale by its ``method`` and
``min_valid`` rule, compute composites, optional z-scores, careless-responding
indices, and pseudonymous ids. Before any scoring the file is compared with
the definition (drift, :mod:`sdt_survey.responses.drift`); after it, each
item's data are checked against its declared key (the keying audit,
:mod:`sdt_survey.scoring.keying`). Its result, :class:`ScoredResponses`, is the
**analysis data set**: every analysis (reliability, EFA, CFA, invariance,
continuity, cohorts, the report) takes it in place of a file, and ``score``
hands an analysis data set back as it is, so nothing is read twice.

A new analysis takes ``responses`` and calls ``score(instruments, responses,
...)`` first: a path or DataFrame is read and scored there, an analysis data
set passes straight through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument, load_instruments
from ..platforms import platform_of_source
from ..responses import (
    ITEM_PREFIX,
    WAVE_COLUMNS,
    CleanResponses,
    DataQualityReport,
    DriftError,
    Responses,
    ResponseValidationError,
    check_drift,
    read_responses,
    responses_from_frame,
    validate_responses,
)
from ..responses.drift import check_policy
from ..stats.threads import in_background
from .careless import (
    DURATION_COLUMNS,
    careless_flags,
    careless_note,
    evenodd_pairs,
    start_careless_indices,
)
from .dataset import ScoredResponses
from .identifier_items import set_aside_identifier_items
from .identifiers import detect_identifier_columns, id_copy_columns
from .keying import audit_keying, keying_warnings
from .pseudonyms import pseudonymize, pseudonymize_report, read_key
from .scores import reverse_key, score_ids, standardize, subscale_scores

#: The options of :func:`score` that act when responses are read; an analysis data set already had them.
INTAKE_DEFAULTS: dict[str, Any] = {
    "source": "auto",
    "mapping": None,
    "invalid": "error",
    "duplicates": "error",
    "zscores": None,
    "flag_careless": False,
    "exclude_flagged": False,
    "careless_thresholds": None,
    "pseudonymize_key": None,
    "allow_shared_key": False,
    "identifiers": (),
    "keep_identifiers": False,
    "include_items": False,
    "sheet": None,
    "qualtrics_status": "default",
    "drift": "error",
}

#: The column of the scores that flags a record a platform marks (an unfinished Qualtrics response).
STATUS_COLUMN = "response_status"


def score(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: ScoredResponses | Responses | pd.DataFrame | str | Path,
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    source: str = "auto",
    mapping: str | Path | Mapping[str, str] | None = None,
    invalid: str = "error",
    duplicates: str = "error",
    zscores: str | Mapping[str, Mapping[str, float]] | None = None,
    flag_careless: bool = False,
    exclude_flagged: bool = False,
    careless_thresholds: Mapping[str, float] | None = None,
    pseudonymize_key: str | Path | None = None,
    allow_shared_key: bool = False,
    identifiers: Sequence[str] = (),
    keep_identifiers: bool = False,
    include_items: bool = False,
    sheet: str | int | None = None,
    qualtrics_status: str | Mapping[str, str] = "default",
    drift: str = "error",
) -> ScoredResponses:
    """Validate and score responses.

    Parameters
    ----------
    instruments : Instrument, name, or a list of them
        Several instruments are scored together as one survey.
    responses : ScoredResponses, Responses, pandas.DataFrame, or a path
        A path is read with :func:`~sdt_survey.read_responses` (using
        ``source`` and ``mapping``); a DataFrame must name item columns by
        item id. An analysis data set (:class:`ScoredResponses`) is returned
        as it is (restricted to ``instruments`` when they are fewer): it was
        read and scored already, so the reading and scoring options must
        keep their defaults.
    id_column : str, optional
        Respondent id column: checked for duplicates (per ``wave_column``),
        named in the report, pseudonymized on request.
    invalid : {"error", "as-missing"}
        ``error`` raises :class:`ResponseValidationError` listing every
        problem; ``as-missing`` sets invalid cells to missing and goes on.
    duplicates : {"error", "keep-all", "keep-first", "keep-last"}
        A respondent id repeated within a wave.
    zscores : "sample" or mapping, optional
        Add ``<score>_z`` columns, standardized against the sample (SD with
        n - 1) or against norms ``{score: {"mean": m, "sd": s}}``.
    flag_careless : bool
        Add ``flag_*`` columns and ``careless`` under
        :data:`CARELESS_THRESHOLDS` (overridden by ``careless_thresholds``).
    exclude_flagged : bool
        Remove flagged respondents; each removal is a line in the report.
    pseudonymize_key : path, optional
        A key file made by :func:`~sdt_survey.keygen`: respondent ids are
        replaced by a keyed hash in every output of the run (scores, the
        data-quality report, summaries and error messages). Needs
        ``id_column``. A missing, weak or shared key file is refused before
        any work (see :func:`~sdt_survey.scoring.pseudonyms.read_key`).
    allow_shared_key : bool
        Accept a key file that other users can read or write.
    identifiers : sequence of str
        Columns that hold direct identifiers, in addition to those detected
        (see :func:`~sdt_survey.identifiers.detect_identifier_columns`: by a
        header such as name, correo, telefono, notes, and by values that look
        like e-mail addresses, phone numbers, dates of birth, personal names or
        free text). They are dropped from the output unless
        ``keep_identifiers``; the report gives each one and why.
    include_items : bool
        Also write the validated item values (as answered), as ``item_<id>``
        columns; a scores file with them reads back as responses (every
        command accepts it).
    sheet : str or int, optional
        The sheet of an Excel workbook (a name, or a position from 0). By
        default the one sheet whose columns are the instruments' items.
    qualtrics_status : {"default", "exclude", "keep"} or mapping
        Records a Qualtrics export marks (``Status``: survey previews, test
        responses, spam; ``Finished`` = 0: unfinished). ``default`` excludes
        previews, tests and spam and keeps unfinished responses, flagged in a
        ``response_status`` column; ``exclude`` excludes all four, ``keep``
        keeps all four flagged; a mapping ``{kind: "exclude"|"keep"}`` decides
        kind by kind. Every such record is a line of the report, and the
        decision with its counts is in ``report.decisions``.
    drift : {"error", "warn"}
        The file is compared with the definition before any scoring
        (:func:`~sdt_survey.responses.check_drift`): a stamp of another
        version or content hash of the instrument, or an item with no column,
        raises :class:`~sdt_survey.responses.DriftError` under ``"error"``;
        ``"warn"`` accepts them. Either way every difference (added, missing
        or renamed columns, changed choices, branching) is a line of the
        data-quality report (``report.drift``).

    Returns
    -------
    ScoredResponses

    Examples
    --------
    >>> import sdt_survey, pandas as pd
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> frame = pd.DataFrame({"id": ["a", "b"], **{i: [4, 2] for i in bpn.item_ids}})
    >>> scored = sdt_survey.score(bpn, frame, id_column="id")
    >>> scored.scores["relatedness_satisfaction"].tolist()  # rs4 is reverse-keyed: (4+4+4+2)/4
    [3.5, 2.5]
    """
    if isinstance(responses, ScoredResponses):
        return _already_scored(
            responses,
            instruments,
            id_column=id_column,
            wave_column=wave_column,
            source=source,
            mapping=mapping,
            invalid=invalid,
            duplicates=duplicates,
            zscores=zscores,
            flag_careless=flag_careless,
            exclude_flagged=exclude_flagged,
            careless_thresholds=careless_thresholds,
            pseudonymize_key=pseudonymize_key,
            allow_shared_key=allow_shared_key,
            identifiers=identifiers,
            keep_identifiers=keep_identifiers,
            include_items=include_items,
            sheet=sheet,
            qualtrics_status=qualtrics_status,
            drift=drift,
        )
    check_policy(drift)
    # The key is checked before any work, so a bad key never costs a run.
    key = None
    if pseudonymize_key is not None:
        if id_column is None:
            raise SdtSurveyError("pseudonymizing needs the respondent id column: name it with id_column=NAME")
        key = read_key(pseudonymize_key, allow_shared=allow_shared_key)
    loaded = load_instruments(instruments)
    if isinstance(responses, pd.DataFrame):
        read = responses_from_frame(responses, loaded)
    elif isinstance(responses, Responses):
        read = responses
    else:
        read = read_responses(responses, loaded, source=source, mapping=mapping, sheet=sheet)
    if id_column is None:
        id_column, read = _platform_id_column(read)
    if id_column is None and duplicates != "error":
        raise SdtSurveyError(
            f"duplicates={duplicates!r} needs the respondent id column that tells records apart: "
            "name it with id_column"
        )
    read, status_lines, status_of_row, decision = _response_status(read, id_column, qualtrics_status)
    clean = validate_responses(
        read, loaded, id_column=id_column, wave_column=wave_column, invalid=invalid, duplicates=duplicates
    )
    read = _without_item_text(read, keep={id_column, wave_column})
    if decision:
        report = clean.report.with_lines(status_lines) if len(status_lines) else clean.report
        report = dataclasses.replace(report, decisions={**report.decisions, "qualtrics_status": decision})
        clean = dataclasses.replace(clean, report=report)
    clean = _with_drift(clean, read, loaded, drift=drift, id_column=id_column, wave_column=wave_column)
    if key is not None:
        # Before anything can be printed or written, errors included.
        clean = dataclasses.replace(
            clean,
            respondent=pseudonymize(clean.respondent, key),
            report=pseudonymize_report(clean.report, id_column, key),
        )
    # Items marked identifier: true never reach the scores (their pseudonyms do, when ids are pseudonymized).
    clean, identifier_items = set_aside_identifier_items(clean, loaded, key, absent=read.absent_items)
    if clean.report.has_drift_errors:
        raise DriftError(clean.report)
    if clean.report.has_blocking_errors:
        raise ResponseValidationError(clean.report)
    return _score_clean(
        clean,
        read,
        loaded,
        id_column=id_column,
        wave_column=wave_column,
        zscores=zscores,
        flag_careless=flag_careless,
        exclude_flagged=exclude_flagged,
        careless_thresholds=careless_thresholds,
        pseudonymized=pseudonymize_key,
        identifiers=identifiers,
        keep_identifiers=keep_identifiers,
        include_items=include_items,
        status_of_row=status_of_row,
        identifier_items=identifier_items,
    )


def _response_status(
    read: Responses, id_column: str | None, policy: str | Mapping[str, str]
) -> tuple[Responses, pd.DataFrame, dict[int, str], str]:
    """Records the platform marks (Qualtrics previews, spam, unfinished), excluded or kept by ``policy``.

    The platform says what its file means (``response_status``, ``status_actions``);
    this applies the decision: the responses without the excluded records, a
    report line per marked record, the kind of each kept one by file row, and
    the decision in words with its counts ("" when the platform marks nothing).
    """
    platform = platform_of_source(read.source)
    classify = platform.hook("response_status") if platform is not None else None
    if classify is None:
        return read, pd.DataFrame(), {}, ""
    actions = platform.hook("status_actions")(policy)
    kinds = classify(read.frame).to_numpy(dtype=object)
    marked = np.flatnonzero(pd.notna(kinds))
    policy_text = policy if isinstance(policy, str) else "by kind"
    rule = ", ".join(f"{kind} {DONE[action]}" for kind, action in actions.items())
    if not len(marked):
        return read, pd.DataFrame(), {}, f"{rule} (qualtrics_status={policy_text!r}): no such records"
    action_of = np.array([actions[k] for k in kinds[marked]], dtype=object)
    respondent = (
        read.frame[id_column].iloc[marked].astype("string").fillna("").to_numpy(dtype=object)
        if id_column is not None and id_column in read.frame.columns
        else None
    )
    lines = pd.DataFrame(
        {
            "row": read.rows[marked],
            "respondent": respondent,
            "column": None,
            "item": None,
            "value": None,
            "problem": [f"response_{kind}" for kind in kinds[marked]],
            "severity": "info",
            "message": [f"marked by {platform.title} as {RESPONSE_WORDS[kind]}" for kind in kinds[marked]],
            "action": [
                "excluded" if action == "exclude" else f"kept; flagged in {STATUS_COLUMN}"
                for action in action_of
            ],
        }
    )
    counts = pd.Series(list(zip(kinds[marked], action_of, strict=True))).value_counts(sort=False)
    done = "; ".join(
        f"{n} {RESPONSE_WORDS[kind]}{'s' if n != 1 else ''} {DONE[action]}"
        for (kind, action), n in counts.items()
    )
    decision = f"{rule} (qualtrics_status={policy_text!r}): {done}"
    drop = marked[action_of == "exclude"]
    kept = marked[action_of == "keep"]
    status_of_row = {int(read.rows[i]): kinds[i] for i in kept}
    if len(drop):
        keep = np.ones(len(read.frame), dtype=bool)
        keep[drop] = False
        read = dataclasses.replace(
            read, frame=read.frame.loc[keep].reset_index(drop=True), rows=np.asarray(read.rows)[keep]
        )
    return read, lines, status_of_row, decision


DONE = {"exclude": "excluded", "keep": "kept"}

#: A marked record's kind, in words.
RESPONSE_WORDS = {
    "preview": "survey preview",
    "test": "test response",
    "spam": "spam response",
    "unfinished": "unfinished response",
}


#: Columns :func:`score` writes beside the scores; a file holding them (scores read back) is recomputed.
RECOMPUTED_COLUMNS = (
    "row",
    "n_missing",
    "n_invalid",
    "duplicate_id",
    "careless",
    "longstring",
    "irv",
    "evenodd",
    "seconds_per_item",
    STATUS_COLUMN,
)


def is_recomputed(column: object) -> bool:
    """Whether ``column`` is one :func:`score` writes beside the scores (scores read back hold it)."""
    return column in RECOMPUTED_COLUMNS or str(column).startswith(("flag_", "mahalanobis_"))


def _score_clean(
    clean: CleanResponses,
    read: Responses,
    instruments: tuple[Instrument, ...],
    *,
    id_column,
    wave_column,
    zscores,
    flag_careless,
    exclude_flagged,
    careless_thresholds,
    pseudonymized,
    identifiers,
    keep_identifiers,
    include_items,
    status_of_row: Mapping[int, str] | None = None,
    identifier_items: pd.DataFrame | None = None,
) -> ScoredResponses:
    notes: list[str] = []
    keyed = reverse_key(clean.values, instruments)
    duration_column = next((c for c in DURATION_COLUMNS if c in clean.passthrough.columns), None)
    # The careless indices run on two other threads (and the keying audit on a third) while the
    # scores and the checks below are made: numpy's loops let go of the interpreter, so they use both cores.
    careless = start_careless_indices(
        clean.values,
        keyed,
        instruments,
        clean.passthrough[duration_column] if duration_column else None,
    )
    # The keying audit needs the keyed answers of the respondents kept: at once, unless flags exclude some.
    keying_now = None if exclude_flagged else in_background(audit_keying, keyed, instruments, size=len(keyed))
    scores = subscale_scores(keyed, instruments)
    names = score_ids(instruments)
    if zscores is not None:
        scores = scores.join(standardize(scores[names], zscores))
    passthrough = clean.passthrough.copy()
    # A scores file read back (every command takes one) holds what this run computes again.
    recomputed = [c for c in passthrough.columns if c in scores.columns or is_recomputed(c)]
    if recomputed:
        passthrough = passthrough.drop(columns=recomputed)
        notes.append(
            f"columns computed again from the items (the file's values left out): {', '.join(recomputed)}"
        )
    reasons: dict[str, str] = {}
    if not keep_identifiers:
        missing = [c for c in identifiers if c not in passthrough.columns and c != id_column]
        if missing:
            raise SdtSurveyError(f"identifier column(s) not in the file: {', '.join(missing)}")
        # Judged on the values as read, before numeric-looking text became numbers.
        wave_columns = {*WAVE_COLUMNS, wave_column} - {None}
        reasons = detect_identifier_columns(
            read.frame[list(passthrough.columns)],
            declared=[c for c in identifiers if c != id_column],
            exclude={id_column, *wave_columns, *DURATION_COLUMNS},
            respondents=int(read.frame[id_column].nunique()) if id_column is not None else None,
        )
    if pseudonymized is not None:
        # A copy of the raw id would undo the pseudonyms, so it goes even under keep_identifiers.
        columns = list(dict.fromkeys([id_column, *passthrough.columns]))
        copies = id_copy_columns(read.frame[columns], id_column)
        reasons.update(
            {
                c: f"{why}; dropped whenever ids are pseudonymized"
                for c, why in copies.items()
                if c not in reasons
            }
        )
    dropped = list(reasons)
    passthrough = passthrough.drop(columns=dropped)
    indices = careless()
    out = pd.DataFrame(index=scores.index)
    if id_column is not None:
        if pseudonymized is not None:
            notes.append(f"respondent ids pseudonymized with key file {pseudonymized}")
        out[id_column] = clean.respondent
        passthrough = passthrough.drop(columns=[id_column], errors="ignore")
    out["row"] = clean.rows
    if status_of_row:
        out[STATUS_COLUMN] = [status_of_row.get(int(r), "") for r in clean.rows]
    out = out.join(passthrough.reset_index(drop=True))
    if identifier_items is not None and not identifier_items.empty:
        out = out.join(identifier_items.reset_index(drop=True))
    out = out.join(scores)
    out["n_missing"] = clean.missing_count.to_numpy()
    out["n_invalid"] = clean.invalid_count.to_numpy()
    if clean.duplicate.any():
        out["duplicate_id"] = clean.duplicate.to_numpy()
    out = out.join(indices)
    report = clean.report
    if flag_careless or exclude_flagged:
        n_likert = sum(1 for inst in instruments for item in inst.items if item.type == "likert")
        skipped: list[str] = []
        flags = careless_flags(
            indices, n_likert, careless_thresholds, n_pairs=evenodd_pairs(instruments), skipped=skipped
        )
        out = out.join(flags)
        notes.append(careless_note(int(flags["careless"].sum()), len(flags), skipped))
        if exclude_flagged:
            excluded = flags["careless"].to_numpy()
            reasons = flags.drop(columns="careless").apply(
                lambda row: ", ".join(c.removeprefix("flag_") for c, v in row.items() if v), axis=1
            )
            where = np.flatnonzero(excluded)
            lines = pd.DataFrame(
                {
                    "row": clean.rows[where],
                    "respondent": clean.respondent.iloc[where].to_numpy()
                    if clean.respondent is not None
                    else None,
                    "column": None,
                    "item": None,
                    "value": None,
                    "problem": "careless_excluded",
                    "severity": "info",
                    "message": ["flagged as careless: " + reasons.iloc[i] for i in where],
                    "action": "excluded from the scores",
                }
            )
            report = report.with_lines(lines)
            keep = ~excluded
            out, keyed = out.loc[keep].reset_index(drop=True), keyed.loc[keep].reset_index(drop=True)
            clean_values = clean.values.loc[keep].reset_index(drop=True)
        else:
            clean_values = clean.values
    else:
        clean_values = clean.values
    if dropped:
        report = _with_identifier_lines(report, reasons)
    if include_items:
        scored_ids = [
            i.id for inst in instruments for i in inst.items if i.type != "text" and not i.identifier
        ]
        out = out.join(clean_values[scored_ids].add_prefix(ITEM_PREFIX))
    keying = audit_keying(keyed, instruments) if keying_now is None else keying_now()
    # The report's table was put in order on another thread beside the scoring: complete when this returns.
    report = report.built()
    return ScoredResponses(
        scores=out,
        items=clean_values,
        keyed=keyed,
        report=report,
        instruments=instruments,
        id_column=id_column,
        dropped_columns=dropped,
        dropped_reasons=reasons,
        notes=read.notes + notes,
        wave_column=wave_column,
        source=read.path,
        keying=keying,
        warnings=keying_warnings(keying),
    )


def _without_item_text(read: Responses, keep: set[str | None]) -> Responses:
    """The responses without the text of their item columns, judged now: the largest table read lets go.

    What comes after validation (drift, identifiers, the scores table) reads the
    other columns and the column names; an item column is known by its item id.
    """
    judged = [c for c in read.frame.columns if c in read.item_columns and c not in keep]
    if not judged:
        return read
    return dataclasses.replace(read, frame=read.frame.drop(columns=judged))


def _platform_id_column(read: Responses) -> tuple[str | None, Responses]:
    """The id column a platform's export makes obvious (REDCap ``record_id``), and a note saying so."""
    platform = platform_of_source(read.source)
    column = platform.id_column if platform is not None else None
    if column is None:
        return None, read
    named = platform.hook("record_id_column")
    columns = [str(c) for c in read.frame.columns]
    # As the file names it: ResponseID in Qualtrics' legacy export, the project's own record id in REDCap's.
    column = next((c for c in columns if c.lower() == column.lower()), None) or (
        named(columns) if named is not None else None
    )
    if column is None:
        return None, read
    note = (
        f"respondent id column {column!r}: the {platform.title} export's record id, used to find "
        "duplicate records (name another id column to override)"
    )
    return column, dataclasses.replace(read, notes=[*read.notes, note])  # the caller's stays as it was


def _with_drift(
    clean: CleanResponses, read: Responses, instruments: tuple[Instrument, ...], *, drift: str, **columns: Any
) -> CleanResponses:
    """Add the drift lines to the report, once, before any scoring (``drift="warn"`` accepts them)."""
    names = set(score_ids(instruments))
    lines = check_drift(
        read, clean, instruments, drift=drift, expected=lambda c: c in names or is_recomputed(c), **columns
    )
    report = clean.report.with_lines(lines) if not lines.empty else clean.report
    if drift == "warn":
        issues = report.issues.copy()
        issues.loc[issues["problem"] == "absent_item_column", "severity"] = "warning"
        report = dataclasses.replace(report, issues=issues)
    return dataclasses.replace(clean, report=report)


def _with_identifier_lines(report: DataQualityReport, reasons: Mapping[str, str]) -> DataQualityReport:
    # The reason, never a sample of the values: the report must not leak what it drops.
    lines = pd.DataFrame(
        {
            "row": None,
            "respondent": None,
            "column": list(reasons),
            "item": None,
            "value": None,
            "problem": "identifier_dropped",
            "severity": "info",
            "message": [
                f"column {column!r}: {why}; a possible identifier, left out of the scored output"
                for column, why in reasons.items()
            ],
            "action": "dropped from output",
        }
    )
    return report.with_lines(lines)


def _already_scored(
    scored: ScoredResponses,
    instruments: Instrument | str | Sequence[Instrument | str],
    *,
    id_column: str | None,
    wave_column: str | None,
    **options: Any,
) -> ScoredResponses:
    """An analysis data set handed to :func:`score`: checked against the request, never re-read."""
    changed = [name for name, value in options.items() if not _same(value, INTAKE_DEFAULTS[name])]
    if changed:
        raise SdtSurveyError(
            f"the responses are scored already; {', '.join(changed)} act(s) when responses are read: "
            "give them when scoring"
        )
    if id_column is not None and id_column != scored.id_column:
        raise SdtSurveyError(
            f"the scored responses were read with id column {scored.id_column!r}, not {id_column!r}; "
            f"score them with id_column={id_column!r}"
        )
    if wave_column is not None and wave_column not in scored.scores.columns:
        raise SdtSurveyError(f"the scored responses have no wave column {wave_column!r}")
    loaded = load_instruments(instruments)
    if [(i.id, i.version) for i in loaded] == [(i.id, i.version) for i in scored.instruments]:
        return scored
    return scored.select(instruments=loaded)


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, tuple):
        return value is None or tuple(value) == default
    return value is default if default is None or isinstance(default, bool) else value == default


__all__ = ["INTAKE_DEFAULTS", "score"]
