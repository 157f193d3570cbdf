"""build_report: the intake once, then every section on the same analysis data set."""

from __future__ import annotations

import contextlib
import datetime
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._progress import progress
from .._version import __version__
from ..cohorts import cohort_summary
from ..cohorts.data import check_min_cell
from ..cohorts.ledger import ReleaseLedger, open_ledger
from ..errors import SdtSurveyError
from ..instrument import Instrument, load_instruments
from ..results import jsonable
from ..scoring import ScoredResponses, score
from .context import (
    SECTION_TITLES,
    ReportContext,
    build_context,
    instrument_heading,
    shell_quote,
    source_name,
)
from .result import Report
from .sections.cohorts import cohorts_section
from .sections.continuity import continuity_section, schedule_flags
from .sections.factor import factor_section
from .sections.items import items_section
from .sections.quality import quality_section
from .sections.reliability import reliability_section

#: The options of :func:`sdt_survey.continuity.continuity_indices` a report accepts in ``schedule_options``.
SCHEDULE_OPTIONS = (
    "learner_column",
    "faculty_column",
    "time_column",
    "assigned_column",
    "setting_column",
    "setting",
    "window",
    "invalid",
    "dedupe",
    "date_format",
    "sheet",
)


def build_report(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: ScoredResponses
    | str
    | Path
    | pd.DataFrame
    | Sequence[ScoredResponses | str | Path | pd.DataFrame],
    *,
    id_column: str,
    by: Sequence[str] = (),
    wave_column: str | None = None,
    schedule: str | Path | pd.DataFrame | None = None,
    schedule_options: Mapping[str, Any] | None = None,
    min_cell: int = 5,
    formula: str | None = None,
    ledger: str | Path | ReleaseLedger | bool | None = True,
    title: str | None = None,
    **reading_options: Any,
) -> Report:
    """Run every analysis stage on one survey and gather the results into a report.

    Parameters
    ----------
    instruments : Instrument, name or path, or a list of them
        The survey's instruments, as for :func:`sdt_survey.score`.
    responses : path, DataFrame or ScoredResponses, or a list of them
        One source per wave (the order of the files defines the waves when they
        have no wave column), or one source with a wave column. Each is read,
        validated and scored once, as :func:`sdt_survey.score` does (the
        intake); an analysis data set (:class:`~sdt_survey.scoring.ScoredResponses`)
        is taken as it is. Every section then works on that analysis data set.
    id_column : str
        The respondent id: links waves and joins the schedule. Never shown.
    by : sequence of str
        Grouping columns for the cohort section (e.g. ``["program", "pgy"]``).
        The first is also the column across which measurement invariance is
        tested (without ``by``: across waves).
    wave_column : str, optional
        As for :func:`sdt_survey.cohorts.cohort_summary`.
    schedule : path or DataFrame, optional
        The clinic schedule, one row per learner-faculty contact. Without it
        the continuity section says it was not given.
    schedule_options : mapping, optional
        Options of :func:`sdt_survey.continuity.continuity_indices`:
        ``learner_column`` (default: ``id_column``), ``faculty_column``,
        ``time_column``, ``assigned_column``, ``setting_column``, ``setting``,
        ``window`` (and ``invalid``, ``dedupe``, ``date_format``, ``sheet``).
    min_cell : int
        Minimum number of respondents behind any figure (default 5, at least 3).
    formula : str, optional
        The dose-response model in lme4 syntax. Default
        ``relatedness_satisfaction ~ coc + (1|program)`` (another grouping
        column when there is no ``program``: the first of ``by``). When the
        fixed part has ``coc`` as a term of its own, it is fitted as a
        natural spline (``spline="coc:df=3"``).
    ledger : path, ReleaseLedger, True, or None
        The release ledger, as for :func:`sdt_survey.cohorts.cohort_summary`:
        the cohort figures and the item counts are audited against every
        earlier release of these respondents, and what the report shows is
        recorded. ``None`` protects this report on its own only.
    title : str, optional
        The report's title. Default: the titles of the instruments given,
        then ": survey report" (see :func:`default_title`).
    **reading_options
        Passed to :func:`sdt_survey.score` (``source``, ``mapping``,
        ``invalid``, ``duplicates``, ``exclude_flagged``, ...).

    Returns
    -------
    Report

    Raises
    ------
    SdtSurveyError
        Anything the person running the report can fix: unreadable or invalid
        responses, a grouping column that is missing or identifies people, a
        schedule column that does not exist, ``min_cell`` below 3, a formula
        that cannot be read. An analysis the data do not allow (too few
        respondents for a factor model, a model that does not converge) is
        not an error: its section says why in a plain sentence.

    Examples
    --------
    >>> from sdt_survey.simulate import simulate
    >>> data = simulate("bpn-residency", seed=4, n_programs=3, residents_per_program=(10, 10))
    >>> report = build_report("bpn-residency", data.responses, id_column="resident",
    ...                       schedule=data.schedule,
    ...                       schedule_options={"time_column": "session_date", "assigned_column": "assigned"})
    >>> continuity = report.to_dict()["sections"]["continuity"]
    >>> continuity["status"], continuity["data"]["model"]["formula"]
    ('ok', 'relatedness_satisfaction ~ coc + (1|program)')
    >>> "R001" in report.to_json()
    False
    """
    check_min_cell(min_cell)
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise SdtSurveyError(f"title must be a non-empty text, not {title!r}")
    if isinstance(by, str):
        raise SdtSurveyError(f"by must be a list of column names, e.g. by=[{by!r}]")
    by = tuple(by)
    if "id_column" in reading_options or "wave_column" in reading_options:
        raise SdtSurveyError("give id_column and wave_column once")
    options = _schedule_options(schedule_options or {}, id_column)
    loaded = load_instruments(instruments)
    sources = list(responses) if isinstance(responses, (list, tuple)) else [responses]
    if not sources:
        raise SdtSurveyError("no responses given")
    file_names = [source_name(source, position) for position, source in enumerate(sources)]
    bar = progress("Building the report", total=len(sources) + 7, unit="step")  # on a terminal only
    # The intake, once: every section below takes these analysis data sets, none reads a file again.
    scored = [
        score(loaded, source, id_column=id_column, wave_column=wave_column, **reading_options)
        for source in sources
    ]
    bar.update(len(sources))
    if all(len(result.scores) == 0 for result in scored):
        # Every later step indexes the first wave; with no row at all there is none.
        raise SdtSurveyError(
            f"{', '.join(file_names)}: no respondents (a header but no rows); the report needs responses"
        )
    with open_ledger(ledger) as book:
        cohorts = cohort_summary(
            loaded,
            scored,
            id_column=id_column,
            by=by,
            wave_column=wave_column,
            min_cell=min_cell,
            invariance=False,
            ledger=book,
            release_command="report",
        )
        bar.update(1)
        ctx = build_context(
            loaded, instruments, file_names, scored, cohorts, id_column, by, wave_column, min_cell
        )
        ctx.reading_options.update(reading_options)
        ctx.ledger = book
        sections: dict[str, dict[str, Any]] = {}
        with _warnings_into_notes(ctx, sections, "items"):
            sections["items"] = items_section(ctx)
        bar.update(1)
    with _warnings_into_notes(ctx, sections, "reliability"):
        sections["reliability"] = reliability_section(ctx)
    bar.update(1)
    with _warnings_into_notes(ctx, sections, "factor_structure"):
        sections["factor_structure"], invariance_checks = factor_section(ctx)
    bar.update(1)
    with _warnings_into_notes(ctx, sections, "continuity"):
        sections["continuity"], schedule_quality = continuity_section(ctx, schedule, options, formula)
    bar.update(1)
    with _warnings_into_notes(ctx, sections, "cohorts"):
        sections["cohorts"] = cohorts_section(ctx, cohorts, invariance_checks)
    bar.update(1)
    sections["data_quality"] = quality_section(ctx, schedule_quality, cohorts)
    bar.update(1)
    bar.close()
    header = _header(ctx, schedule, options, formula, title)
    content = {
        "format": "sdt-survey-report",
        "format_version": 1,
        "header": header,
        "sections": {key: {"title": SECTION_TITLES[key], **sections[key]} for key in SECTION_TITLES},
    }
    return Report(jsonable(ctx.scrub.scrub(content)))


# ------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _warnings_into_notes(ctx: ReportContext, sections: dict[str, dict[str, Any]], key: str) -> Iterator[None]:
    """Warnings the stages raise for the user (``UserWarning``) become notes of the section, scrubbed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    messages = []
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            text = "warning: " + ctx.scrub(str(warning.message).strip())
            if text not in messages:
                messages.append(text)
        else:  # not meant for readers of the report: pass it on
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if key in sections:
        sections[key]["notes"].extend(messages)


def _schedule_options(options: Mapping[str, Any], id_column: str) -> dict[str, Any]:
    import difflib

    unknown = [k for k in options if k not in SCHEDULE_OPTIONS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, SCHEDULE_OPTIONS, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SdtSurveyError(
            f"unknown schedule option(s) {', '.join(hints)}; the options are {', '.join(SCHEDULE_OPTIONS)}"
        )
    out = dict(options)
    out.setdefault("learner_column", id_column)
    return out


# =============================================================================== header


def default_title(instruments: Sequence[Instrument]) -> str:
    """The title of a report on these instruments: their titles (ids when untitled) and "survey report".

    Examples
    --------
    >>> default_title(load_instruments(["bpn-residency", "program-belonging"]))
    'Basic Psychological Needs in Residency and Belonging to the Residency Program: survey report'
    """
    names = [instrument_heading(inst)["title"] for inst in instruments]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{joined}: survey report"


def _header(
    ctx: ReportContext, schedule: Any, options: Mapping[str, Any], formula: str | None, title: str | None
) -> dict[str, Any]:

    schedule_name = None
    if schedule is not None:
        schedule_name = "<schedule frame>" if isinstance(schedule, pd.DataFrame) else Path(schedule).name
    command = (
        f"sdt-survey report {' '.join(shell_quote(a) for a in ctx.instrument_args)} --responses "
        + " ".join(shell_quote(n) for n in ctx.file_names)
        + f" --id-column {shell_quote(ctx.id_column)}"
        + ctx.reading_flags()
    )
    if schedule_name is not None:
        command += f" --schedule {shell_quote(schedule_name)}{schedule_flags(options)}"
    if ctx.by:
        command += f" --by {shell_quote(','.join(ctx.by))}"
    if ctx.min_cell != 5:
        command += f" --min-cell {ctx.min_cell}"
    if formula:
        command += f" --formula {shell_quote(formula)}"
    if title is not None:
        command += f" --title {shell_quote(title.strip())}"
    command += " --out report.html"
    return {
        "title": title.strip() if title is not None else default_title(ctx.instruments),
        "date": datetime.date.today().isoformat(),
        "sdt_survey_version": __version__,
        "instruments": [instrument_heading(inst) for inst in ctx.instruments],
        "data_files": list(ctx.file_names),
        "schedule_file": schedule_name,
        "waves": list(ctx.waves),
        "by": list(ctx.by),
        "min_cell": ctx.min_cell,
        "command": command,
    }
