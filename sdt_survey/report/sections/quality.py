"""Section 6: data quality, what was found in each file and what was done about it."""

from __future__ import annotations

from typing import Any

from ...cohorts import CohortReport
from ...scoring.keying import keying_warnings
from ..context import (
    ReportContext,
    make_section,
    shell_quote,
    small_to_none,
)

#: What each kind of data-quality problem means, in plain words (responses and schedules).
PROBLEM_MEANINGS = {
    "out_of_range": "an answer outside the item's scale",
    "not_numeric": "text where a number was expected",
    "not_integer": "a fraction where a whole number was expected",
    "unknown_label": "an answer label that is not on the item's scale",
    "unknown_choice": "an option that is not among the item's choices",
    "invalid_date": "a date that could not be read",
    "duplicate_id": "a respondent id repeated within a wave",
    "missing_id": "a row without an id",
    "absent_item_column": "an item of the instrument with no column in the file",
    "missing_code": "a missing-data code (such as -99), read as no answer",
    "nonsubstantive": "a non-substantive answer (such as don't know), read as no answer with its reason",
    "off_step": "a slider answer between the slider's steps",
    "label_mapped": "answer labels converted to their codes",
    "missing_required": "a required item left unanswered",
    "answered_when_hidden": "an answer to an item that branching should have hidden",
    "empty_row": "a response with no answers",
    "item_like_column": "a column that looks like an item but is not in the instrument",
    "blank_line": "a blank line",
    "identifier_dropped": "a column of direct identifiers (name, e-mail, ...), left out",
    "duplicate_dropped": "a repeated response, dropped",
    "careless_excluded": "a response flagged as careless, excluded",
    "drift_stamp": "the file was collected with another version of the instrument",
    "drift_missing_item": "an item of the instrument with no column in the file (drift)",
    "drift_choices": "answer codes the item's choices do not have (the platform's list differs)",
    "drift_branching": "answers to an item the definition's branching hides (the platform's differs)",
    "drift_added_column": "a column that is not in the instrument, passed through",
    "missing_date": "a session without a date",
    "missing_assigned": "a session without an assigned preceptor recorded",
    "duplicate_row": "the same resident, faculty member and time twice",
    "outside_setting": "sessions in another setting, not counted",
    "outside_window": "sessions outside the window, not counted",
}


# =============================================================================== 6. data quality


def quality_section(
    ctx: ReportContext, schedule_quality: dict[str, Any] | None, cohorts: CohortReport
) -> dict[str, Any]:
    explanation = (
        "What was found in each file and what was done about it, counted by kind of problem. Nothing here "
        "names a resident or shows an answer; the line-by-line report, for the analyst only, comes from "
        "the commands below."
    )
    source = [
        f"sdt-survey score {' '.join(shell_quote(a) for a in ctx.instrument_args)} {shell_quote(name)} "
        f"--id-column {shell_quote(ctx.id_column)}{ctx.reading_flags()} --out scores.csv --report quality.csv"
        for name in ctx.file_names
    ]
    if schedule_quality is not None:
        schedule_quality = dict(schedule_quality)
        source.append(schedule_quality.pop("command"))
    # A file's count of records is hidden when it holds a wave whose overall figures are suppressed
    # (a wave of fewer than min_cell residents): the count would be that wave's size.
    hidden_waves = {
        row["wave"]
        for row in cohorts.to_dict()["rows"]
        if row["suppressed"] and set(row["group"].values()) <= {"all"}
    }
    files = []
    # The keying audit, made once on intake: item ids and a correlation over many respondents, no answers.
    keying = [
        f"{name}: {message}"
        for name, result in zip(ctx.file_names, ctx.scored, strict=True)
        for message in keying_warnings(result.keying)
    ]
    for position, (name, result) in enumerate(zip(ctx.file_names, ctx.scored, strict=True)):
        report = result.report
        waves_in_file = set(ctx.scores.loc[ctx.scores["_source"] == position, "_wave"])
        small = bool(waves_in_file & hidden_waves)
        problems = []
        issues = report.issues
        if not issues.empty:
            for (problem, severity, action), lines in issues.groupby(
                ["problem", "severity", "action"], sort=False, dropna=False
            ):
                problems.append(
                    {
                        "problem": problem,
                        "severity": severity,
                        "action": action,
                        "n": len(lines),
                        "unit": "lines",
                        "meaning": PROBLEM_MEANINGS.get(problem, str(problem).replace("_", " ")),
                    }
                )
        files.append(
            {
                "file": name,
                "records": None if small else small_to_none(int(report.n_records), ctx.min_cell),
                "scored": None if small else small_to_none(len(result.scores), ctx.min_cell),
                "source": report.source,
                "problems": problems,
            }
        )
    data = {"files": files, "schedule": schedule_quality}
    return make_section(explanation, source, data, notes=keying)
