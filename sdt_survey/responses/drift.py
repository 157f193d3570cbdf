"""Drift: where a response file no longer matches the instrument it is read against.

A survey is deployed from a definition (an export, :mod:`sdt_survey.platforms`),
edited on the platform, and its data come back months later. :func:`check_drift`
compares what came back with the definition, once, on intake, before any
scoring, and says in plain words what differs:

* ``drift_missing_item``: an item of the instrument has no column (with the
  column that looks like it renamed, when one does);
* ``drift_added_column``: columns that are not in the instrument (passed
  through unchanged); the columns a platform adds to every export are not
  drift (each platform's module says which, ``is_metadata_column``);
* ``drift_choices``: a column holding codes the item's scale or choice list
  does not have, listed per column (the choice list was edited on the platform);
* ``drift_branching``: an item answered in most of the records its
  ``show_if`` hides (the platform's branching differs from the definition);
* ``drift_stamp``: the file carries the stamp of another version, or of another
  content hash, of the instrument (the HTML form's ``_instruments``, the
  XLSForm's ``sdt_stamp``; see :mod:`sdt_survey.instrument.fingerprint`).

Policy (:data:`DRIFT_POLICIES`): under ``drift="error"`` (the default) a
stamp of another definition is an error that stops scoring, whatever
``invalid`` says; so is a missing item column, unless ``invalid="as-missing"``
(which has always meant "score an absent item as missing"). ``drift="warn"``
accepts both, each still reported as a warning. Added columns are notes;
changed choices and branching are warnings (their cells are judged one by
one by validation as well).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument, code_text, parse_stamps
from ..platforms import platform_of_source
from ..platforms.xlsform import STAMP_FIELD
from .cells import shown_value
from .model import DRIFT_POLICIES, ISSUE_COLUMNS, WAVE_COLUMNS, CleanResponses, Responses
from .read import all_items

#: Columns in which a platform's data carry the stamp of the definition they were collected with:
#: the HTML form's ``_instruments`` (its records' ``instruments``) and the XLSForm's calculate.
STAMP_COLUMNS = ("_instruments", STAMP_FIELD)
#: Drift kinds that can be errors under ``drift="error"`` (a missing item only with ``invalid="error"``).
BLOCKING_DRIFT = ("drift_stamp", "drift_missing_item")
#: The validation problems that mean a cell holds a code the item does not have.
_UNKNOWN_CODE = ("out_of_range", "unknown_choice", "unknown_label")


def check_policy(drift: str) -> None:
    """Refuse a ``drift`` value that is not one of :data:`DRIFT_POLICIES`."""
    if drift not in DRIFT_POLICIES:
        raise SdtSurveyError(f"drift must be one of {', '.join(map(repr, DRIFT_POLICIES))}, not {drift!r}")


def check_drift(
    responses: Responses,
    clean: CleanResponses,
    instruments: Sequence[Instrument],
    *,
    drift: str = "error",
    id_column: str | None = None,
    wave_column: str | None = None,
    expected: Callable[[str], bool] | None = None,
) -> pd.DataFrame:
    """The drift between a response file and its instruments, as lines of the data-quality report.

    Parameters
    ----------
    responses : Responses
        As read (columns matched to items).
    clean : CleanResponses
        As validated: its report's cell problems give the codes that are not
        in the instrument, and its missing reasons the items ``show_if`` hid.
    instruments : sequence of Instrument
    drift : {"error", "warn"}
        See :data:`DRIFT_POLICIES` (and the module's docstring for the policy).
    id_column, wave_column : str, optional
        Columns that are expected in the file (never "added").
    expected : callable, optional
        Whether another column is expected (never "added"): the intake
        passes the columns it writes beside scores, so a scores file read
        back is no drift.

    Returns
    -------
    pandas.DataFrame
        One line per finding, in the report's columns (``problem`` is the
        drift kind, ``row`` empty: drift is about the file).
    """
    check_policy(drift)
    lines: list[dict] = []

    def add(problem: str, message: str, column: str | None = None, item: str | None = None,
            value: str | None = None) -> None:  # fmt: skip
        # invalid="as-missing" already decides that an absent item is scored as missing.
        blocking = problem == "drift_stamp" or (
            problem == "drift_missing_item" and clean.report.invalid == "error"
        )
        severity = ("error" if drift == "error" else "warning") if blocking else SEVERITY[problem]
        if blocking:
            action = "blocked: no scores written" if drift == "error" else "accepted (drift='warn')"
        elif problem == "drift_missing_item":
            action = "scored as missing (invalid='as-missing')"
        else:
            action = "passed through" if problem == "drift_added_column" else "reported"
        where = {"row": None, "respondent": None, "column": column, "item": item, "value": value}
        lines.append(
            {**where, "problem": problem, "severity": severity, "message": message, "action": action}
        )

    _stamps(responses, instruments, add)
    named = {id_column, wave_column, *WAVE_COLUMNS, *STAMP_COLUMNS} - {None}
    _missing_and_added(
        responses, instruments, add, lambda c: c in named or (expected is not None and expected(c))
    )
    _choices(clean, instruments, add)
    _branching(clean, instruments, add)
    return pd.DataFrame(lines, columns=ISSUE_COLUMNS)


#: Severity of the drift kinds that do not depend on the policy.
SEVERITY = {
    "drift_missing_item": "warning",
    "drift_added_column": "info",
    "drift_choices": "warning",
    "drift_branching": "warning",
}


def _stamps(responses: Responses, instruments: Sequence[Instrument], add) -> None:
    by_id = {inst.id: inst for inst in instruments}
    for column in responses.frame.columns:
        if str(column) not in STAMP_COLUMNS:
            continue
        counts = responses.frame[column].dropna().astype(str).value_counts(sort=False)
        seen: dict[tuple[str, str, str | None], int] = {}
        for text, n in counts.items():
            for stamp in parse_stamps(text):
                seen[stamp] = seen.get(stamp, 0) + int(n)
        for (inst_id, version, digest), n in seen.items():
            inst = by_id.get(inst_id)
            if inst is None:
                continue
            ours = inst.content_hash()
            records = f"{n} record was" if n == 1 else f"{n} records were"
            if version != inst.version:
                add(
                    "drift_stamp",
                    f"column {column!r}: {records} collected with {inst_id} {version}"
                    + (f" (content hash {digest[:12]})" if digest else "")
                    + f"; the instrument read now is {inst_id} {inst.version} (content hash {ours[:12]}): "
                    "read the file against the version it was collected with",
                    column=str(column),
                    value=f"{inst_id}@{version}",
                )
            elif digest is not None and digest != ours:
                add(
                    "drift_stamp",
                    f"column {column!r}: {records} collected with {inst_id} {version} whose content "
                    f"hash is {digest[:12]}, but the definition read now has {ours[:12]}: it was edited "
                    "without a new version (items, codes, keys, branching or scores differ)",
                    column=str(column),
                    value=f"{inst_id}@{version}#{digest[:12]}",
                )


def _missing_and_added(
    responses: Responses, instruments: Sequence[Instrument], add, expected: Callable[[str], bool]
) -> None:
    used = {c for cols in responses.item_columns.values() for c in cols}
    used |= {c for split in responses.choice_columns.values() for c in split}
    unmatched = [str(c) for c in responses.frame.columns if c not in used and c not in responses.item_columns]
    # An identifier item may well be absent: a de-identified export (REDCap's) leaves it out.
    absent = [i.id for i in all_items(instruments) if i.id in responses.absent_items and not i.identifier]
    renamed: dict[str, str] = {}
    for item_id in absent:
        candidates = [c for c in unmatched if c not in renamed.values()]
        close = difflib.get_close_matches(item_id.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6)
        if close:
            renamed[item_id] = next(c for c in candidates if c.lower() == close[0])
    for item_id in absent:
        owner = next(inst.id for inst in instruments if item_id in inst.item_ids)
        if item_id in renamed:
            column = renamed[item_id]
            add(
                "drift_missing_item",
                f"item {item_id!r} of {owner} has no column; column {column!r} looks like it renamed: "
                f"read it with mapping={{{column!r}: {item_id!r}}}",
                column=column,
                item=item_id,
            )
        else:
            add("drift_missing_item", f"item {item_id!r} of {owner} has no column in the file", item=item_id)
    # A column the platform adds to every export (its module says which) is no drift; nor is the HTML
    # form's metadata (``_submitted``, ...), which all begin with an underscore.
    platform = platform_of_source(responses.source)
    is_metadata = (platform.hook("is_metadata_column") if platform is not None else None) or (lambda c: False)
    added = [
        c
        for c in unmatched
        if c not in renamed.values() and not expected(c) and not c.startswith("_") and not is_metadata(c)
    ]
    for column in added:
        add(
            "drift_added_column",
            f"column {column!r} is not an item of the instrument; it is passed through unchanged",
            column=column,
        )


def _choices(clean: CleanResponses, instruments: Sequence[Instrument], add) -> None:
    coded = {item.id: item for item in all_items(instruments) if item.scale is not None or item.choices}
    lines = clean.report.lines_of(_UNKNOWN_CODE)
    bad = lines[lines["item"].isin(list(coded))]
    for (column, item_id), group in bad.groupby(["column", "item"], sort=False):
        item = coded[item_id]
        values = list(dict.fromkeys(shown_value(code_text(v)) for v in group["value"] if v is not None))
        codes = list(item.scale.values) if item.scale is not None else [c.value for c in item.choices]
        what = f"scale {item.scale.id}" if item.scale is not None else f"the choices of {item_id}"
        shown = ", ".join(values[:8]) + (f", ... ({len(values) - 8} more)" if len(values) > 8 else "")
        add(
            "drift_choices",
            f"column {column!r} holds {len(values)} value{'s' if len(values) != 1 else ''} that {what} "
            f"({', '.join(code_text(c) for c in codes)}) does not have: {shown}; if the platform's "
            "choice list was edited, the definition and the data no longer agree",
            column=str(column),
            item=str(item_id),
            value=shown,
        )


def _branching(clean: CleanResponses, instruments: Sequence[Instrument], add) -> None:
    hidden_lines = None
    for item in all_items(instruments):
        if item.show_if is None:
            continue
        if hidden_lines is None:
            hidden_lines = clean.report.lines_of(["answered_when_hidden"])
        answered = hidden_lines[hidden_lines["item"] == item.id]
        n_answered = len(answered)
        hidden = n_answered + int(clean.reasons.count("not_shown", item.id).sum())
        if n_answered >= 3 and n_answered * 2 >= hidden:
            column = answered["column"].iloc[0]
            add(
                "drift_branching",
                f"column {column!r}: item {item.id!r} is answered in {n_answered} of the {hidden} records "
                f"its show_if ({item.show_if.to_text()}) hides; the platform's branching differs from the "
                "definition",
                column=str(column),
                item=item.id,
            )


__all__ = ["BLOCKING_DRIFT", "DRIFT_POLICIES", "STAMP_COLUMNS", "check_drift", "check_policy"]
