"""One self-contained report for residency leaders and statisticians.

:func:`build_report` runs every analysis stage of the package on one survey
(one or more waves of responses, and optionally the clinic schedule) and
gathers what they found into a :class:`Report` of six sections:

1. ``items``: how residents answered each item (diverging stacked bars);
2. ``reliability``: alpha with its interval, omega and flagged items
   (:func:`sdt_survey.reliability.instrument_reliability`);
3. ``factor_structure``: the fit and standardized loadings of the
   instrument's correlated-factors model and the measurement-invariance table
   (:mod:`sdt_survey.factor.cfa`, :mod:`sdt_survey.factor.invariance`);
4. ``continuity``: the dose-response of belonging on continuity of
   supervision (:func:`sdt_survey.continuity.continuity_indices`,
   :func:`sdt_survey.models.model_relatedness`);
5. ``cohorts``: every score across waves, overall and by group, with
   suppression (:func:`sdt_survey.cohorts.cohort_summary`);
6. ``data_quality``: what was found in the files and what was done about it.

:meth:`Report.write_html` writes one HTML file that needs nothing else: no
network request, plots embedded as PNG ``data:`` URIs, inline CSS, no script,
and a Content-Security-Policy that forbids loading anything. The same content
is :meth:`Report.to_dict` / :meth:`Report.write_json`, and :meth:`Report.summary`
gives it as text.

Privacy is part of correctness here, as in :mod:`sdt_survey.cohorts` (see
``docs/privacy.md``): only aggregates enter a report. Every figure about
respondents' answers rests on at least ``min_cell`` respondents (an item
answered by fewer is suppressed; group figures come from ``cohort_summary``
with its complementary suppression, and a suppressed figure is ``None``);
respondent ids, free-text answers and respondent-level rows never enter it;
the extremes of the dose-response curve are cut where fewer than ``min_cell``
residents lie beyond them; and every text taken from another stage (notes,
warnings, messages) is scrubbed of respondent, learner and faculty ids
before it is stored. The HTML is rendered from :meth:`Report.to_dict` alone,
so it cannot show anything the JSON does not hold. See ``docs/reports.md``.

Examples
--------
>>> from sdt_survey.simulate import simulate
>>> data = simulate("bpn-residency", seed=3, n_programs=3, residents_per_program=(12, 12))
>>> report = build_report("bpn-residency", data.responses, id_column="resident", by=["program"])
>>> [(key, section["status"]) for key, section in report.to_dict()["sections"].items()]
... # doctest: +NORMALIZE_WHITESPACE
[('items', 'ok'), ('reliability', 'ok'), ('factor_structure', 'not_available'),
 ('continuity', 'not_available'), ('cohorts', 'ok'), ('data_quality', 'ok')]
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import html
import io
import json
import math
import re
import shlex
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._terminal import terminal_text
from ._version import __version__
from .cohorts import MIN_CELL_FLOOR, CohortReport, cohort_summary, invariance_minimum
from .cohorts.distributions import protect_counts
from .errors import SdtSurveyError
from .files import OutputError, Transaction, write_text
from .instrument import Instrument, bundled_instruments, load_instruments
from .cohorts.ledger import Cell, ReleaseLedger, open_ledger
from .responses import WAVE_COLUMNS
from .results import jsonable
from .scoring import ScoredResponses, score, score_ids

__all__ = ["SECTION_TITLES", "Report", "build_report"]

#: The sections of a report, in order, with their titles.
SECTION_TITLES: dict[str, str] = {
    "items": "How residents answered each item",
    "reliability": "Reliability of the subscales",
    "factor_structure": "Factor structure and measurement invariance",
    "continuity": "Continuity of supervision and belonging",
    "cohorts": "Scores across waves and groups",
    "data_quality": "Data quality",
}

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

#: The command-line flag of each reading option of :func:`sdt_survey.score`.
READING_FLAGS = {
    "source": "--source",
    "mapping": "--map",
    "invalid": "--invalid",
    "duplicates": "--duplicates",
}

#: The outcome of the dose-response model: the first of these that the instruments score.
OUTCOME_PREFERENCE = ("relatedness_satisfaction", "program_belonging")

#: The grouping factor of the default dose-response model, when the responses have it.
DEFAULT_MODEL_GROUP = "program"

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
    "label_mapped": "answer labels converted to their codes",
    "missing_required": "a required item left unanswered",
    "answered_when_hidden": "an answer to an item that branching should have hidden",
    "empty_row": "a response with no answers",
    "item_like_column": "a column that looks like an item but is not in the instrument",
    "blank_line": "a blank line",
    "identifier_dropped": "a column of direct identifiers (name, e-mail, ...), left out",
    "duplicate_dropped": "a repeated response, dropped",
    "careless_excluded": "a response flagged as careless, excluded",
    "missing_date": "a session without a date",
    "missing_assigned": "a session without an assigned preceptor recorded",
    "duplicate_row": "the same resident, faculty member and time twice",
    "outside_setting": "sessions in another setting, not counted",
    "outside_window": "sessions outside the window, not counted",
}

_SUPPRESSED = "suppressed"
_DASH = "\u2014"


# =============================================================================== the report


@dataclass
class Report:
    """A report: header and six sections of aggregate numbers, plain sentences and commands.

    Build one with :func:`build_report`. It holds only what :meth:`to_dict`
    returns (JSON-ready data, every suppressed figure ``None``); the HTML is
    rendered from that data.

    Attributes
    ----------
    content : dict
        ``{"format", "format_version", "header", "sections"}``; ``sections`` maps
        each key of :data:`SECTION_TITLES` to ``{"title", "status", "explanation",
        "source", "reason", "notes", "data"}``. ``status`` is ``"ok"``,
        ``"not_available"`` (``reason`` says why) or ``"suppressed"`` (too few
        respondents to show anything).
    """

    content: dict[str, Any]

    # -- data ----------------------------------------------------------------------
    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        """The sections by key (the same objects as in :attr:`content`)."""
        return self.content["sections"]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (a deep copy).

        Examples
        --------
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> content = build_report("program-belonging", data.responses, id_column="resident").to_dict()
        >>> list(content["sections"]) == list(SECTION_TITLES)
        True
        """
        return copy.deepcopy(self.content)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (``NaN`` never appears: it is ``null``)."""
        return json.dumps(self.content, indent=indent, ensure_ascii=False, allow_nan=False)

    def write_json(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_json` to ``path`` (UTF-8, atomically) and return the path.

        An existing file is replaced only with ``overwrite=True``.
        """
        return write_text(path, self.to_json() + "\n", overwrite=overwrite)

    def write(self, path: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the HTML report to ``path`` and its JSON beside it, both or neither.

        The JSON takes the HTML's name with ``.json``. Both files are staged
        and put in place together (see :class:`sdt_survey.files.Transaction`),
        so a failure or an interrupt leaves neither half-written.

        Returns
        -------
        (pathlib.Path, pathlib.Path)
            The HTML and the JSON.
        """
        html_path = Path(path)
        json_path = html_path.with_suffix(".json")
        if html_path.suffix.lower() == ".json":
            raise OutputError(
                f"{html_path}: the HTML report and its JSON would be the same file; name it .html"
            )
        with Transaction(overwrite=overwrite) as files:
            files.stage(html_path).write_text(self.to_html(), encoding="utf-8")
            files.stage(json_path).write_text(self.to_json() + "\n", encoding="utf-8")
        return html_path, json_path

    # -- HTML ----------------------------------------------------------------------
    def to_html(self) -> str:
        """The report as one self-contained HTML page (see :meth:`write_html`)."""
        return _render_html(self.to_dict())

    def write_html(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report as one self-contained HTML file and return its path.

        The page loads nothing: inline CSS, plots as PNG ``data:`` URIs, no
        script, and a Content-Security-Policy (``default-src 'none'``) that
        forbids any request.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = build_report("program-belonging", data.responses, id_column="resident")
        >>> page = report.write_html(pathlib.Path(tempfile.mkdtemp()) / "report.html")
        >>> "default-src 'none'" in page.read_text(encoding="utf-8")
        True
        """
        return write_text(path, self.to_html(), overwrite=overwrite)

    # -- text ----------------------------------------------------------------------
    def summary(self) -> str:
        """A few readable lines per section, for the terminal.

        Examples
        --------
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> text = build_report("program-belonging", data.responses, id_column="resident").summary()
        >>> text.splitlines()[0].startswith("Report: program-belonging")
        True
        """
        # File names, formulas and notes quote the user's input: no control character reaches the terminal.
        return terminal_text(_summary_text(self.content))

    def __str__(self) -> str:
        return self.summary()


# =============================================================================== building


@dataclass
class _Context:
    """Everything the sections need, computed once."""

    instruments: tuple[Instrument, ...]
    instrument_args: list[str]
    file_names: list[str]
    id_column: str
    by: tuple[str, ...]
    wave_column: str | None
    min_cell: int
    reading_options: dict[str, Any]
    scored: list[ScoredResponses]
    scores: pd.DataFrame  # every response, all sources, with "_wave" (plain wave label)
    items: pd.DataFrame  # validated answers as given, row-aligned with scores
    keyed: pd.DataFrame  # reverse-keyed answers, row-aligned with scores
    waves: tuple[Any, ...]
    first: np.ndarray  # rows of the first wave
    scrub: _Redactor
    ledger: ReleaseLedger | None = None  # earlier releases the item counts are audited against

    @property
    def first_wave(self) -> Any:
        return self.waves[0]

    @property
    def n_first(self) -> int:
        return int(self.first.sum())

    def first_wave_phrase(self) -> str:
        """``"the data"`` with one wave, else ``"wave 1"``."""
        return "the data" if len(self.waves) == 1 else f"wave {self.first_wave}"

    def files_with_first_wave(self) -> list[str]:
        sources = self.scores.loc[self.first, "_source"].unique()
        return [self.file_names[int(i)] for i in sorted(sources)]

    def reading_flags(self) -> str:
        parts = []
        for key, flag in READING_FLAGS.items():
            value = self.reading_options.get(key)
            if value is not None and not (key == "source" and value == "auto"):
                if key in ("invalid", "duplicates") and value == "error":
                    continue
                parts.append(f"{flag} {_quote(Path(str(value)).name if key == 'mapping' else str(value))}")
        if self.wave_column:
            parts.append(f"--wave-column {_quote(self.wave_column)}")
        return (" " + " ".join(parts)) if parts else ""


class _Redactor:
    """Removes respondent, learner and faculty ids from text taken from other stages.

    Only ids that cannot be mistaken for an ordinary number or word are
    matched: ids of three or more characters with a non-digit, and all-digit
    ids of five or more digits, each as a whole token.
    """

    def __init__(self, ids: set[str] | None = None):
        self.ids: set[str] = set()
        self._pattern: re.Pattern | None = None
        self.add(ids or set())

    def add(self, ids: Any) -> None:
        for value in ids:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            for text in re.split(r"\|", str(value).strip()):
                text = text.strip()
                if (len(text) >= 3 and not text.isdigit()) or (text.isdigit() and len(text) >= 5):
                    self.ids.add(text)
        self._pattern = None

    def __call__(self, text: str) -> str:
        if not self.ids or not isinstance(text, str):
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(i) for i in sorted(self.ids, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\d)")
        return self._pattern.sub("[id removed]", text)

    def scrub(self, value: Any) -> Any:
        """The same structure with every string scrubbed."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value


def build_report(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: str | Path | pd.DataFrame | Sequence[str | Path | pd.DataFrame],
    *,
    id_column: str,
    by: Sequence[str] = (),
    wave_column: str | None = None,
    schedule: str | Path | pd.DataFrame | None = None,
    schedule_options: Mapping[str, Any] | None = None,
    min_cell: int = 5,
    formula: str | None = None,
    ledger: str | Path | ReleaseLedger | bool | None = True,
    **reading_options: Any,
) -> Report:
    """Run every analysis stage on one survey and gather the results into a report.

    Parameters
    ----------
    instruments : Instrument, name or path, or a list of them
        The survey's instruments, as for :func:`sdt_survey.score`.
    responses : path or DataFrame, or a list of them
        One source per wave (the order of the files defines the waves when they
        have no wave column), or one source with a wave column. Each is read,
        validated and scored as :func:`sdt_survey.score` does.
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
    _check_min_cell(min_cell)
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
    file_names = [_source_name(source, position) for position, source in enumerate(sources)]
    scored = [
        score(loaded, source, id_column=id_column, wave_column=wave_column, **reading_options)
        for source in sources
    ]
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
        ctx = _context(loaded, instruments, file_names, scored, cohorts, id_column, by, wave_column, min_cell)
        ctx.reading_options.update(reading_options)
        ctx.ledger = book
        sections: dict[str, dict[str, Any]] = {}
        with _warnings_into_notes(ctx, sections, "items"):
            sections["items"] = _items_section(ctx)
    with _warnings_into_notes(ctx, sections, "reliability"):
        sections["reliability"] = _reliability_section(ctx)
    with _warnings_into_notes(ctx, sections, "factor_structure"):
        sections["factor_structure"], invariance_checks = _factor_section(ctx)
    with _warnings_into_notes(ctx, sections, "continuity"):
        sections["continuity"], schedule_quality = _continuity_section(ctx, schedule, options, formula)
    with _warnings_into_notes(ctx, sections, "cohorts"):
        sections["cohorts"] = _cohorts_section(ctx, cohorts, invariance_checks)
    sections["data_quality"] = _quality_section(ctx, schedule_quality, cohorts)
    header = _header(ctx, schedule, options, formula)
    content = {
        "format": "sdt-survey-report",
        "format_version": 1,
        "header": header,
        "sections": {key: {"title": SECTION_TITLES[key], **sections[key]} for key in SECTION_TITLES},
    }
    return Report(jsonable(ctx.scrub.scrub(content)))


# ------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _warnings_into_notes(ctx: _Context, sections: dict[str, dict[str, Any]], key: str) -> Iterator[None]:
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


def _check_min_cell(min_cell: Any) -> None:
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)):
        raise SdtSurveyError(f"min_cell must be a whole number, not {min_cell!r}")
    if min_cell < MIN_CELL_FLOOR:
        raise SdtSurveyError(
            f"min_cell {min_cell} is too small: figures resting on fewer than {MIN_CELL_FLOOR} respondents "
            "let one respondent work out another's answers; use at least 3 (default 5)"
        )


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


def _source_name(source: Any, position: int) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    if isinstance(source, pd.DataFrame):
        return f"<data frame {position + 1}>"
    raise SdtSurveyError(f"responses must be paths or DataFrames, not {type(source).__name__}")


def _instrument_args(given: Any, loaded: tuple[Instrument, ...]) -> list[str]:
    """How each instrument is named on the command line: its bundled name, or its file name."""
    given_list = list(given) if isinstance(given, (list, tuple)) else [given]
    bundled = {Path(p).resolve() for p in bundled_instruments().values()}
    out = []
    for original, inst in zip(given_list, loaded, strict=False):
        if isinstance(original, (str, Path)) and not Path(original).suffix:
            out.append(str(original))
        elif inst.source and Path(inst.source).resolve() in bundled:
            out.append(inst.id)
        elif inst.source:
            out.append(Path(inst.source).name)
        else:
            out.append(inst.id)
    return out


def _plain(value: Any) -> Any:
    """A wave or group label as cohort reports show it: whole numbers as int, text stripped."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?[1-9]\d*|0", text) else text


def _context(
    loaded: tuple[Instrument, ...],
    given: Any,
    file_names: list[str],
    scored: list[ScoredResponses],
    cohorts: CohortReport,
    id_column: str,
    by: tuple[str, ...],
    wave_column: str | None,
    min_cell: int,
) -> _Context:
    frames, items, keyed = [], [], []
    for position, result in enumerate(scored):
        table = result.scores.reset_index(drop=True).copy()
        column = wave_column or next((c for c in WAVE_COLUMNS if c in table.columns), None)
        labels = (
            table[column].map(_plain) if column is not None else pd.Series(position + 1, index=table.index)
        )
        table["_wave"] = labels.astype(object)
        table["_source"] = position
        frames.append(table)
        items.append(result.items.reset_index(drop=True))
        keyed.append(result.keyed.reset_index(drop=True))
    scores = pd.concat(frames, ignore_index=True, sort=False)
    waves = tuple(cohorts.waves)
    # As text: cohort_summary makes a wave column numbers only when every value is one.
    scores["_wave"] = scores["_wave"].map(lambda w: next((v for v in waves if str(v) == str(w)), w))
    first = (scores["_wave"].astype(str) == str(waves[0])).to_numpy(dtype=bool)
    scrub = _Redactor(set(scores[id_column].dropna().astype(str)) if id_column in scores else set())
    return _Context(
        instruments=loaded,
        instrument_args=_instrument_args(given, loaded),
        file_names=file_names,
        id_column=id_column,
        by=by,
        wave_column=wave_column,
        min_cell=int(min_cell),
        reading_options={},
        scored=scored,
        scores=scores,
        items=pd.concat(items, ignore_index=True, sort=False),
        keyed=pd.concat(keyed, ignore_index=True, sort=False),
        waves=waves,
        first=first,
        scrub=scrub,
    )


def _quote(text: str) -> str:
    return shlex.quote(str(text))


def _label(text: Any) -> str | None:
    return None if text is None else str(text)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _section(
    explanation: str,
    source: Sequence[str],
    data: dict[str, Any],
    *,
    status: str = "ok",
    reason: str | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "status": status,
        "explanation": explanation,
        "source": list(source),
        "reason": reason,
        "notes": list(notes),
        "data": data,
    }


def _first_wave_words(ctx: _Context) -> str:
    if len(ctx.waves) == 1:
        return f"the {ctx.n_first} responses"
    return f"wave {ctx.first_wave} ({ctx.n_first} responses)"


def _score_command(ctx: _Context, what: str) -> list[str]:
    instruments = " ".join(_quote(a) for a in ctx.instrument_args)
    return [
        f"sdt-survey {what} {instruments} {_quote(name)} --id-column {_quote(ctx.id_column)}"
        + ctx.reading_flags()
        for name in ctx.files_with_first_wave()
    ]


# =============================================================================== 1. items


def _items_section(ctx: _Context) -> dict[str, Any]:
    explanation = (
        f"How residents answered each question in {_first_wave_words(ctx)}: each bar splits the answers "
        "at the middle of the scale, disagreeing or 'not true' answers to the left and agreeing or 'true' "
        "answers to the right (the middle answer is split across the centre line); the grey bar is the "
        "share who did not answer. Items marked R are worded in reverse: agreeing with them means the need "
        f"is less met. An item answered by fewer than {ctx.min_cell} residents is not shown."
    )
    source = [c + " --include-items --out scores.csv" for c in _score_command(ctx, "score")]
    n_wave = ctx.n_first
    data: dict[str, Any] = {"wave": ctx.first_wave, "n_respondents": n_wave, "instruments": []}
    if n_wave < ctx.min_cell:
        data["n_respondents"] = None
        return _section(
            explanation,
            source,
            data,
            status="suppressed",
            reason=f"fewer than {ctx.min_cell} residents answered: nothing can be shown",
        )
    answers = ctx.items.loc[ctx.first]
    ids = ctx.scores.loc[ctx.first, ctx.id_column].astype(str).to_numpy() if ctx.ledger is not None else None
    n_suppressed = partial = 0
    released: list[Cell] = []
    for inst in ctx.instruments:
        likert = [i for i in inst.items if i.type == "likert" and i.scale is not None and i.id in answers]
        if not likert:
            continue
        groups: list[tuple[str | None, str, list]] = []
        placed: set[str] = set()
        for sid, sub in inst.subscales.items():
            members = [i for i in likert if i.id in sub.items]
            if members:
                groups.append((sid, _label(sub.label) or sid, members))
                placed.update(i.id for i in members)
        rest = [i for i in likert if i.id not in placed]
        if rest:
            groups.append((None, "Items in no subscale", rest))
        scales: dict[str, Any] = {}
        block_groups = []
        for sid, label, members in groups:
            entries = []
            for item in members:
                scale = item.scale
                scales.setdefault(
                    scale.id,
                    {
                        "id": scale.id,
                        "values": list(scale.values),
                        "labels": [str(label_text) for label_text in scale.labels],
                        "midpoint": scale.midpoint,
                    },
                )
                values = pd.to_numeric(answers[item.id], errors="coerce")
                answered = int(values.notna().sum())
                entry: dict[str, Any] = {
                    "id": item.id,
                    "text": _label(item.text),
                    "reverse": bool(item.reverse),
                    "scale": scale.id,
                }
                table = protect_counts(
                    values,
                    list(scale.values),
                    min_cell=ctx.min_cell,
                    measure=f"item:{item.id}",
                    ids=ids,
                    ledger=ctx.ledger,
                )
                released.extend(table.released)
                if answered < ctx.min_cell or table.n is None:
                    # Without the number who answered, shares would give it away: only counts remain.
                    n_suppressed += answered < ctx.min_cell
                    partial += answered >= ctx.min_cell
                    shown = None if answered < ctx.min_cell else table.counts
                    entry.update(n=None, counts=shown, percent=None, missing=None, missing_percent=None)
                    entry["suppressed"] = True
                else:
                    partial += not table.complete
                    entry.update(
                        n=table.n,
                        counts=table.counts,
                        percent=[None if c is None else 100.0 * c / table.n for c in table.counts],
                        missing=table.missing,
                        missing_percent=None if table.missing is None else 100.0 * table.missing / n_wave,
                        suppressed=False,
                    )
                entries.append(entry)
            block_groups.append({"subscale": sid, "label": label, "items": entries})
        data["instruments"].append(
            {
                "id": inst.id,
                "version": inst.version,
                "title": _label(inst.title) or inst.id,
                "scales": list(scales.values()),
                "groups": block_groups,
            }
        )
    if not data["instruments"]:
        return _section(
            explanation,
            source,
            data,
            status="not_available",
            reason="the instruments have no rating-scale items",
        )
    notes = []
    if n_suppressed:
        notes.append(f"{n_suppressed} item(s) answered by fewer than {ctx.min_cell} residents are suppressed")
    if partial:
        notes.append(
            f"{partial} item(s) show only some counts: a count of 1 to {ctx.min_cell - 1}, and any count "
            "that would give one away (from the total, or from an earlier release), is suppressed"
        )
    if ctx.ledger is not None:
        ctx.ledger.record(
            released,
            command="report",
            min_cell=ctx.min_cell,
            details={"section": "items", "wave": str(ctx.first_wave)},
        )
    return _section(explanation, source, data, notes=notes)


# =============================================================================== 2. reliability


def _reliability_section(ctx: _Context) -> dict[str, Any]:
    from .reliability import instrument_reliability

    explanation = (
        f"How consistently the items of each subscale measure the same thing, in {_first_wave_words(ctx)}: "
        "Cronbach's alpha with its 95% confidence interval (Feldt) and McDonald's omega; .70 or more is the "
        "usual minimum for comparing groups, .80 or more is good. A flagged item weakens its subscale: the "
        "subscale's alpha would rise without it, or it correlates weakly (below .30) with the other items."
    )
    source = _score_command(ctx, "reliability")
    data: dict[str, Any] = {"wave": ctx.first_wave, "instruments": []}
    if ctx.n_first < ctx.min_cell:
        return _section(
            explanation,
            source,
            data,
            status="suppressed",
            reason=f"fewer than {ctx.min_cell} residents answered: nothing can be shown",
        )
    notes: list[str] = []
    answers = ctx.items.loc[ctx.first].reset_index(drop=True)
    for inst in ctx.instruments:
        if not inst.subscales:
            continue
        block: dict[str, Any] = {
            "id": inst.id,
            "version": inst.version,
            "title": _label(inst.title) or inst.id,
        }
        frame = answers[[i for i in inst.item_ids if i in answers]]
        try:
            report = instrument_reliability([inst], frame).reports[0]
        except Exception as exc:  # reliability of odd data (constant items, tiny subscales) may fail
            block.update(
                status="not_available", reason=ctx.scrub(f"reliability could not be computed: {exc}")
            )
            data["instruments"].append(block)
            continue
        subscales = []
        for sid, res in report.scales.items():
            flagged = []
            for item, row in res.item_stats.iterrows():
                dropped = _finite(res.alpha_drop.at[item, "raw_alpha"])
                r_drop = _finite(row["r_drop"])
                reasons = []
                if dropped is not None and res.alpha is not None and dropped > res.alpha:
                    reasons.append("alpha rises if deleted")
                if r_drop is not None and r_drop < 0.30:
                    reasons.append("corrected item-total r below .30")
                if reasons:
                    flagged.append(
                        {
                            "item": item,
                            "why": "; ".join(reasons),
                            "r_drop": r_drop,
                            "alpha_if_deleted": dropped,
                        }
                    )
            subscales.append(
                {
                    "id": sid,
                    "label": _label(inst.subscales[sid].label) or sid,
                    "n": int(res.n_obs),
                    "n_items": int(res.n_items),
                    "alpha": _finite(res.alpha),
                    "alpha_ci": [_finite(v) for v in res.ci_feldt],
                    "omega_total": _finite(report.omega_totals.get(sid)),
                    "average_r": _finite(res.average_r),
                    "flagged_items": flagged,
                }
            )
        omega = report.omega
        block.update(
            status="ok",
            n_respondents=int(report.n_respondents),
            missing=report.missing,
            subscales=subscales,
            omega_hierarchical=None if omega is None else _finite(omega.omega_h),
            omega_total=None if omega is None else _finite(omega.omega_total),
        )
        data["instruments"].append(block)
    if not data["instruments"]:
        return _section(
            explanation, source, data, status="not_available", reason="the instruments define no subscales"
        )
    if not any(block.get("status") == "ok" for block in data["instruments"]):
        reasons = "; ".join(block["reason"] for block in data["instruments"])
        return _section(explanation, source, data, status="not_available", reason=reasons)
    return _section(explanation, source, data, notes=notes)


# =============================================================================== 3. factor structure


def _factor_engine() -> tuple[Any, Any, Any]:
    """``(cfa, CFAModel, measurement_invariance)``; ``None`` for each part that is not installed."""
    try:
        from .factor.cfa import CFAModel, cfa
    except ImportError:
        return None, None, None
    try:
        from .factor.invariance import measurement_invariance
    except ImportError:
        measurement_invariance = None
    return cfa, CFAModel, measurement_invariance


def _model_items(inst: Instrument) -> list[str]:
    return list(dict.fromkeys(i for sub in inst.subscales.values() for i in sub.items))


def _factor_section(ctx: _Context) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    explanation = (
        f"Whether the answers in {_first_wave_words(ctx)} fit the instrument's structure: one factor per "
        "subscale, the factors allowed to correlate (confirmatory factor analysis by maximum likelihood, as "
        "R's lavaan). Good fit: CFI and TLI .95 or more, RMSEA .06 or less, SRMR .08 or less (Hu & Bentler, "
        "1999). A standardized loading says how strongly an item reflects its subscale (.50 or more is "
        "usual). The invariance table tests whether the items work the same way in every group, which "
        "comparing group means requires."
    )
    across = ctx.by[0] if ctx.by else ("wave" if len(ctx.waves) > 1 else None)
    engine_cfa, engine_model, engine_invariance = _factor_engine()
    first_file = ctx.files_with_first_wave()[0]
    name = ctx.instrument_args[0] if len(ctx.instrument_args) == 1 else "INSTRUMENT"
    source = [
        "Python: from sdt_survey.factor.cfa import cfa, CFAModel; "
        f"items = sdt_survey.score({name!r}, {first_file!r}, id_column={ctx.id_column!r}).keyed; "
        f"cfa(items, CFAModel.from_instrument(sdt_survey.load_instrument({name!r})))"
        + (f" (on the rows of wave {ctx.first_wave})" if len(ctx.waves) > 1 else "")
    ]
    if across is not None:
        cohorts_files = " ".join(_quote(n) for n in ctx.file_names)
        by_flag = f" --by {_quote(ctx.by[0])}" if ctx.by else " --by ..."
        source.append(
            f"sdt-survey cohorts {' '.join(_quote(a) for a in ctx.instrument_args)} {cohorts_files} "
            f"--id-column {_quote(ctx.id_column)}{by_flag} (its invariance check"
            + (", across waves" if across == "wave" else "")
            + "; Python: sdt_survey.factor.invariance.measurement_invariance)"
        )
    data: dict[str, Any] = {"wave": ctx.first_wave, "invariance_across": across, "instruments": []}
    modelled = [inst for inst in ctx.instruments if inst.subscales]
    if not modelled:
        return (
            _section(
                explanation,
                source,
                data,
                status="not_available",
                reason="the instruments define no subscales",
            ),
            [],
        )
    if engine_cfa is None:
        reason = (
            "the confirmatory factor analysis engine (sdt_survey.factor.cfa) is not available in this version"
        )
        return _section(explanation, source, data, status="not_available", reason=reason), []
    checks = []
    keyed_first = ctx.keyed.loc[ctx.first].reset_index(drop=True)
    for inst in modelled:
        items = [i for i in _model_items(inst) if i in keyed_first]
        need = invariance_minimum(inst)
        block: dict[str, Any] = {
            "id": inst.id,
            "version": inst.version,
            "title": _label(inst.title) or inst.id,
        }
        complete = int(ctx.scores.loc[ctx.first, list(inst.subscales)].notna().all(axis=1).sum())
        if complete < need:
            block.update(
                status="not_available",
                reason=(
                    f"too few respondents for a factor model of {inst.id}: {need} with every subscale "
                    f"scored are needed for stable fit indices, and {ctx.first_wave_phrase()} has "
                    f"{_count_words(complete, ctx.min_cell)}"
                ),
            )
        else:
            block.update(_fit_cfa(engine_cfa, engine_model, inst, keyed_first[items], ctx))
        check = _invariance_check(ctx, inst, engine_model, engine_invariance, across, need)
        block["invariance"] = check
        if check is not None:
            checks.append(check)
        data["instruments"].append(block)
    fitted = [b for b in data["instruments"] if b.get("status") == "ok"]
    if not fitted:
        reasons = "; ".join(b["reason"] for b in data["instruments"])
        return _section(explanation, source, data, status="not_available", reason=reasons), checks
    return _section(explanation, source, data), checks


def _count_words(count: int, min_cell: int) -> str:
    """A count of respondents, or 'fewer than min_cell' when it is small (a count is a figure too)."""
    return f"fewer than {min_cell}" if 0 < count < min_cell else str(count)


def _fit_cfa(cfa: Callable, CFAModel: Any, inst: Instrument, items: pd.DataFrame, ctx: _Context) -> dict:
    try:
        model = CFAModel.from_instrument(inst)
        result = cfa(items, model)
    except Exception as exc:  # the engine may fail on real data (non-convergence, singular covariance)
        return {
            "status": "not_available",
            "reason": ctx.scrub(f"the factor model could not be fitted: {exc}"),
        }
    fit = result.fit
    table = result.parameters
    loadings = table[table["op"] == "=~"]
    correlations = result.factor_correlations()
    factors = list(correlations.index)
    return {
        "status": "ok",
        "model": model.to_lavaan(),
        "estimator": result.estimator,
        "missing": result.missing,
        "n_used": int(result.n_used),
        "converged": bool(result.converged),
        "fit": {
            "chisq": _finite(fit.chisq),
            "df": int(fit.df),
            "pvalue": _finite(fit.pvalue),
            "cfi": _finite(fit.cfi),
            "tli": _finite(fit.tli),
            "rmsea": _finite(fit.rmsea),
            "rmsea_ci": [_finite(fit.rmsea_ci_lower), _finite(fit.rmsea_ci_upper)],
            "srmr": _finite(fit.srmr),
        },
        "loadings": [
            {
                "factor": row.lhs,
                "item": row.rhs,
                "estimate": _finite(row.est),
                "std_loading": _finite(row.std_all),
            }
            for row in loadings.itertuples(index=False)
        ],
        "factor_correlations": {
            a: {b: _finite(correlations.at[a, b]) for b in factors if b != a} for a in factors
        },
        "warnings": [ctx.scrub(w) for w in result.warnings],
    }


def _invariance_check(
    ctx: _Context, inst: Instrument, CFAModel: Any, measurement_invariance: Any, across: str | None, need: int
) -> dict[str, Any] | None:
    """Measurement invariance of ``inst`` across ``across``: the table, or why it was not tested."""
    if across is None:
        return {
            "instrument": inst.id,
            "across": None,
            "status": "nothing_to_compare",
            "statement": "no grouping column and a single wave: there are no groups to compare",
        }
    items = [i for i in _model_items(inst) if i in ctx.keyed]
    if across == "wave":
        rows = np.ones(len(ctx.scores), dtype=bool)
        labels = ctx.scores["_wave"]
        caveat = (
            " (waves treated as independent groups although residents answer more than once; approximate)"
        )
    else:
        rows = ctx.first.copy()
        labels = ctx.scores[across].map(_plain)
        caveat = f" (wave {ctx.first_wave})" if len(ctx.waves) > 1 else ""
    rows &= labels.notna().to_numpy()
    complete = ctx.scores[list(inst.subscales)].notna().all(axis=1).to_numpy() & rows
    sizes = pd.Series(complete[rows]).groupby(labels[rows].astype(str).to_numpy()).sum()
    large = [g for g in sizes.index if sizes[g] >= need]
    small = [g for g in sizes.index if sizes[g] < need]
    check: dict[str, Any] = {
        "instrument": inst.id,
        "across": across,
        "minimum_per_group": need,
        "groups_tested": large,
        "groups_too_small": small,
    }
    if len(large) < 2:
        check.update(
            status="too_few_respondents",
            statement=(
                f"too few respondents to test measurement invariance of {inst.id} across {across}: each "
                f"group needs at least {need} respondents with every subscale scored, and {len(large)} of "
                f"{len(sizes)} groups have that many; mean comparisons across {across} are not backed by an "
                "invariance test, so read differences between groups as descriptive"
            ),
        )
        return check
    if measurement_invariance is None:
        check.update(
            status="engine_unavailable",
            statement=f"invariance of {inst.id} across {across} not checked: the invariance engine is "
            "not available in this version",
        )
        return check
    chosen = complete & labels.astype(str).isin(large).to_numpy()
    tested = ctx.keyed.loc[chosen, items].reset_index(drop=True)
    tested[across] = labels[chosen].astype(str).to_numpy()
    try:
        result = measurement_invariance(tested, CFAModel.from_instrument(inst), across)
    except Exception as exc:  # the engine may fail to converge on real data
        check.update(
            status="failed",
            statement=ctx.scrub(f"invariance of {inst.id} across {across} could not be tested: {exc}"),
        )
        return check
    level = result.highest
    supported = level in ("scalar", "strict")
    skipped = (
        f" Not tested (too few respondents): {', '.join(f'{across} {g}' for g in small)}." if small else ""
    )
    steps = []
    for name, step in result.steps.items():
        fit = step.fit
        steps.append(
            {
                "step": name,
                "chisq": _finite(fit.chisq),
                "df": int(fit.df),
                "cfi": _finite(fit.cfi),
                "tli": _finite(fit.tli),
                "rmsea": _finite(fit.rmsea),
                "srmr": _finite(fit.srmr),
            }
        )
    comparisons = [
        {
            "from": c.from_step,
            "to": c.to_step,
            "chisq_diff": _finite(c.chisq_diff),
            "df_diff": int(c.df_diff),
            "pvalue": _finite(c.pvalue),
            "delta_cfi": _finite(c.delta_cfi),
            "delta_rmsea": _finite(c.delta_rmsea),
            "delta_srmr": _finite(c.delta_srmr),
            "supported": bool(c.supported),
        }
        for c in result.comparisons
    ]
    check.update(
        status="tested",
        level=level,
        mean_comparisons_supported=supported,
        criterion=result.criterion,
        steps=steps,
        comparisons=comparisons,
        conclusion=ctx.scrub(result.conclusion),
        statement=ctx.scrub(f"{inst.id} across {across}{caveat}: {result.conclusion}{skipped}"),
        warnings=[ctx.scrub(w) for w in result.warnings],
    )
    return check


# =============================================================================== 4. continuity


def _continuity_section(
    ctx: _Context, schedule: Any, options: dict[str, Any], formula: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from .continuity import continuity_indices
    from .models import JoinError, ModelFitError, ModelFormulaError, model_relatedness

    outcome = next((s for s in OUTCOME_PREFERENCE if s in ctx.scores), None)
    outcome = outcome or next(iter(score_ids(ctx.instruments)), None)
    outcome_label = _score_label(ctx.instruments, outcome) if outcome else "the score"
    explanation = (
        f"How {outcome_label.lower()} in {_first_wave_words(ctx)} goes with continuity of supervision: the "
        "Bice-Boxerman continuity of care (COC) from the clinic schedule, 0 when every session is with a "
        "different faculty member and 1 when all are with the same one. The line is the model's estimate "
        "for a typical resident in a typical program, with its 95% confidence band; it shows an "
        "association, not that continuity causes belonging."
    )
    data: dict[str, Any] = {"wave": ctx.first_wave}
    if schedule is None:
        return (
            _section(
                explanation,
                [
                    "sdt-survey report ... --schedule schedule.csv "
                    "(with the column options of sdt-survey continuity)"
                ],
                data,
                status="not_available",
                reason="no clinic schedule was given, so continuity could not be measured "
                "(give one with --schedule / schedule=)",
            ),
            None,
        )
    schedule_name = (
        _source_name(schedule, 0) if not isinstance(schedule, pd.DataFrame) else "<schedule frame>"
    )
    result = continuity_indices(schedule, **options)
    indices = result.indices
    ctx.scrub.add(indices[result.id_column].dropna().astype(str))
    if "assigned" in indices:
        ctx.scrub.add(indices["assigned"].dropna().astype(str))
    continuity_command = _continuity_command(schedule_name, options)
    quality = _schedule_quality(result, schedule_name, ctx.min_cell)
    quality["command"] = continuity_command + " --report schedule-quality.csv"
    data["schedule"] = {
        "file": schedule_name,
        "n_sessions": int(result.n_sessions),
        "n_residents": _small_to_none(int(indices[result.id_column].nunique()), ctx.min_cell),
        "indices": _describe_indices(result, ctx.min_cell),
    }
    if indices[result.id_column].duplicated().any():
        return (
            _section(
                explanation,
                [continuity_command + " --out continuity.csv"],
                data,
                status="not_available",
                reason=f"window={options.get('window')!r} gives several continuity values per resident; the "
                "report relates each resident's answers to one value: use no window, or one date range "
                "(window='2025-07-01..2026-06-30')",
            ),
            quality,
        )
    group = DEFAULT_MODEL_GROUP if DEFAULT_MODEL_GROUP in ctx.scores else (ctx.by[0] if ctx.by else None)
    user_formula = formula is not None
    if formula is None:
        if outcome is None or group is None:
            return (
                _section(
                    explanation,
                    [continuity_command + " --out continuity.csv"],
                    data,
                    status="not_available",
                    reason="the default model needs a score and a grouping column such as program; "
                    "give the model yourself with formula=",
                ),
                quality,
            )
        formula = f"{outcome} ~ coc + (1|{group})"
    spline = "coc:df=3" if _has_bare_term(formula, "coc") else None
    first_scores = ctx.scores.loc[ctx.first].drop(columns=["_wave", "_source"]).reset_index(drop=True)
    notes: list[str] = []
    model = None
    reason = None
    for attempt in [spline, None] if spline else [None]:
        try:
            model = model_relatedness(
                first_scores,
                indices,
                formula,
                id_column=ctx.id_column,
                exposure_id_column=result.id_column,
                spline=attempt,
            )
            if attempt is None and spline is not None:
                notes.append("the spline on coc could not be fitted; coc was fitted as a straight line")
            spline = attempt
            break
        except ModelFormulaError as exc:
            if user_formula and attempt is None:
                raise
            reason = ctx.scrub(f"the model could not be set up: {exc}")
        except JoinError:
            reason = (
                f"no resident in {_first_wave_words(ctx)} matched a learner of the schedule; check that "
                f"learner_column (now {options['learner_column']!r}) holds the same ids as {ctx.id_column!r}"
            )
            break
        except ModelFitError as exc:
            reason = ctx.scrub(f"the model could not be fitted: {exc}")
    model_command = (
        f"sdt-survey model --instrument {' --instrument '.join(_quote(a) for a in ctx.instrument_args)} "
        f"--responses {_quote(ctx.files_with_first_wave()[0])} --exposure continuity.csv "
        f"--id-column {_quote(ctx.id_column)}"
        + (f" --exposure-id-column {_quote(result.id_column)}" if result.id_column != ctx.id_column else "")
        + f" --formula {_quote(formula)}"
        + (f" --spline {spline} --plot curve.png" if spline else "")
    )
    source = [continuity_command + " --out continuity.csv", model_command]
    if model is None:
        return _section(explanation, source, data, status="not_available", reason=reason), quality
    join = model.join
    data["join"] = {
        "responses": join.n_scores,
        "matched": join.n_matched,
        "responses_without_schedule": len(join.scores_only),
        "schedule_residents_without_response": len(join.exposure_only),
    }
    data["model"] = _model_block(model, formula, spline, outcome_label, ctx)
    if data["model"]["n_obs"] is None:
        return (
            _section(
                explanation,
                source,
                data,
                status="suppressed",
                reason=f"fewer than {ctx.min_cell} residents are in the model: nothing can be shown",
            ),
            quality,
        )
    if join.scores_only:
        notes.append(
            f"{len(join.scores_only)} respondent(s) of {_first_wave_words(ctx)} have no schedule rows "
            "and are not in the model"
        )
    if len(ctx.waves) > 1:
        notes.append(
            f"the model uses wave {ctx.first_wave} only: one continuity value per resident, one answer each"
        )
    return _section(explanation, source, data, notes=notes), quality


def _schedule_flags(options: Mapping[str, Any]) -> str:
    """The schedule options as the flags of ``sdt-survey continuity``."""
    flags = ""
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = f" --{key.replace('_', '-')}"
        flags += flag if value is True else f"{flag} {_quote(value)}"
    return flags


def _continuity_command(schedule_name: str, options: Mapping[str, Any]) -> str:
    """The ``sdt-survey continuity`` command with the schedule options given."""
    return f"sdt-survey continuity {_quote(schedule_name)}{_schedule_flags(options)}"


def _score_label(instruments: Sequence[Instrument], score_id: str | None) -> str:
    for inst in instruments:
        for entry in (*inst.subscales.values(), *inst.composites.values()):
            if entry.id == score_id and entry.label is not None:
                return str(entry.label)
    return str(score_id).replace("_", " ")


def _has_bare_term(formula: str, variable: str) -> bool:
    fixed = formula.split("~", 1)[-1]
    fixed = re.sub(r"\([^()]*\|[^()]*\)", " ", fixed)  # random terms
    return any(term.strip() == variable for term in re.split(r"\+", fixed))


def _small_to_none(count: int, min_cell: int) -> int | None:
    return None if 0 < count < min_cell else count


def _describe_indices(result: Any, min_cell: int) -> dict[str, Any]:
    """n, mean and SD of the main indices over the schedule's residents (no minimum, maximum or quantile)."""
    out = {}
    for column in ("coc", "upc", "n_sessions", "n_faculty"):
        if column not in result.indices:
            continue
        values = pd.to_numeric(result.indices[column], errors="coerce").dropna()
        if len(values) < min_cell:
            out[column] = {"n": None, "mean": None, "sd": None}
        else:
            out[column] = {
                "n": len(values),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
            }
    return out


def _model_block(model: Any, formula: str, spline: str | None, outcome_label: str, ctx: _Context) -> dict:
    min_cell = ctx.min_cell
    join_messages = set(model.join.messages()) if model.join is not None else set()
    warnings = [ctx.scrub(w) for w in model.warnings if w not in join_messages]
    block: dict[str, Any] = {
        "formula": formula,
        "fitted_as": model.fixed_formula,
        "spline": spline,
        "outcome": formula.split("~", 1)[0].strip(),
        "outcome_label": outcome_label,
        "exposure": list(model.exposure),
        "method": model.method,
        "n_obs": _small_to_none(int(model.n_obs), min_cell),
        "n_groups": {k: int(v) for k, v in model.n_groups.items()},
        "fixed": [
            {
                "term": str(term),
                "estimate": _finite(row["estimate"]),
                "se": _finite(row["se"]),
                "ci_lower": _finite(row["ci_lower"]),
                "ci_upper": _finite(row["ci_upper"]),
                "z": _finite(row["z"]),
                "pvalue": _finite(row["pvalue"]),
            }
            for term, row in model.fixed.iterrows()
        ],
        "icc": _finite(model.icc),
        "icc_null": _finite(model.icc_null) if model.icc_null is not None else None,
        "r2_marginal": _finite(model.r2_marginal),
        "r2_conditional": _finite(model.r2_conditional),
        "lrt": None
        if model.lrt is None
        else {
            "chisq": _finite(model.lrt.chisq),
            "df": int(model.lrt.df),
            "pvalue": _finite(model.lrt.pvalue),
        },
        "per_sd": None,
        "singular": bool(model.singular),
        "converged": bool(model.converged),
        "warnings": warnings,
        "curve": None,
    }
    if model.standardized is not None and len(model.standardized):
        term, row = next(iter(model.standardized.iterrows()))
        block["per_sd"] = {
            "term": str(term),
            "per_sd": _finite(row["per_sd"]),
            "ci_lower": _finite(row["per_sd_ci_lower"]),
            "ci_upper": _finite(row["per_sd_ci_upper"]),
        }
    if model.curve is not None and model.data is not None and model.curve_variable in model.data:
        observed = np.sort(
            pd.to_numeric(model.data[model.curve_variable], errors="coerce").dropna().to_numpy()
        )
        if len(observed) >= 2 * min_cell:
            # Cut the curve where fewer than min_cell residents lie beyond it: its ends would otherwise be
            # the continuity of the single residents with the lowest and highest values.
            low, high = observed[min_cell - 1], observed[len(observed) - min_cell]
            curve = model.curve[(model.curve["x"] >= low) & (model.curve["x"] <= high)]
            if len(curve) >= 2:
                block["curve"] = {
                    "variable": model.curve_variable,
                    "x": [float(v) for v in curve["x"]],
                    "fitted": [float(v) for v in curve["fitted"]],
                    "ci_lower": [float(v) for v in curve["ci_lower"]],
                    "ci_upper": [float(v) for v in curve["ci_upper"]],
                }
    return block


def _schedule_quality(result: Any, name: str, min_cell: int) -> dict[str, Any]:
    problems = []
    report = result.report
    if not report.empty:
        for (problem, severity, action), lines in report.groupby(
            ["problem", "severity", "action"], sort=False, dropna=False
        ):
            located = lines["row"].notna()
            count = int(located.sum())
            unit = "rows"
            for message in lines.loc[~located, "message"]:
                found = re.match(r"\s*(\d+)", str(message))
                count += int(found.group(1)) if found else 1
                unit = "sessions"
            problems.append(
                {
                    "problem": problem,
                    "severity": severity,
                    "action": action,
                    "n": count,
                    "unit": unit,
                    "meaning": PROBLEM_MEANINGS.get(problem, str(problem).replace("_", " ")),
                }
            )
    return {
        "file": name,
        "rows": int(result.n_rows),
        "sessions_counted": int(result.n_sessions),
        "problems": problems,
    }


# =============================================================================== 5. cohorts


def _cohorts_section(ctx: _Context, cohorts: CohortReport, checks: list[dict[str, Any]]) -> dict[str, Any]:
    by_words = f" and by {', '.join(ctx.by)}" if ctx.by else ""
    explanation = (
        f"Mean scores with 95% confidence intervals in each wave, for all residents{by_words}. A group "
        f"with fewer than {ctx.min_cell} residents is suppressed, and so is any group from which it could "
        "be worked out by subtraction (from the total, other groups or other waves): it is marked "
        "'suppressed' and its numbers are not shown. Changes follow residents in the group they were in at "
        "their first wave."
    )
    instruments = " ".join(_quote(a) for a in ctx.instrument_args)
    files = " ".join(_quote(n) for n in ctx.file_names)
    by_flag = f" --by {_quote(','.join(ctx.by))}" if ctx.by else ""
    command = (
        f"sdt-survey cohorts {instruments} {files} --id-column {_quote(ctx.id_column)}{by_flag}"
        + (f" --wave-column {_quote(ctx.wave_column)}" if ctx.wave_column else "")
        + (f" --min-cell {ctx.min_cell}" if ctx.min_cell != 5 else "")
    )
    if not ctx.by:
        command = (
            "Python: sdt_survey.cohorts.cohort_summary(INSTRUMENTS, "
            f"[{', '.join(map(repr, ctx.file_names))}], id_column={ctx.id_column!r}, by=[], "
            f"min_cell={ctx.min_cell})"
        )
    content = cohorts.to_dict()
    focus = next((s for s in OUTCOME_PREFERENCE if s in cohorts.scales), cohorts.scales[0])
    notes = [n for n in content["notes"] if not n.startswith("invariance not checked")]
    statements = [c["statement"] for c in checks if c.get("statement")]
    untested = [c for c in ctx.by[1:]]
    if ctx.by and untested:
        statements.append(
            f"measurement invariance across {', '.join(untested)} is not tested in this report "
            "(sdt-survey cohorts tests every grouping column)"
        )
    data = {
        "waves": list(cohorts.waves),
        "by": list(ctx.by),
        "min_cell": ctx.min_cell,
        "focus": focus,
        "scales": [
            {
                "id": s,
                "label": cohorts.scale_labels.get(s, s),
                "midpoint": cohorts.midpoints.get(s),
                "range": _score_range(ctx.instruments, s),
            }
            for s in cohorts.scales
        ],
        "rows": content["rows"],
        "changes": content["changes"],
        "trends": content["trends"],
        "invariance": statements,
        "n_suppressed_rows": sum(bool(r["suppressed"]) for r in content["rows"]),
    }
    return _section(explanation, [command], data, notes=[ctx.scrub(n) for n in notes])


def _score_range(instruments: Sequence[Instrument], score_id: str) -> list[float] | None:
    def item_range(inst: Instrument, item_id: str) -> tuple[float, float] | None:
        item = inst.item(item_id)
        if item.scale is not None:
            return float(item.scale.min), float(item.scale.max)
        low, high = item.value_range()
        return (float(low), float(high)) if low is not None and high is not None else None

    def subscale_range(inst: Instrument, sid: str) -> tuple[float, float] | None:
        sub = inst.subscales[sid]
        ranges = [item_range(inst, i) for i in sub.items]
        if any(r is None for r in ranges) or not ranges:
            return None
        lows, highs = [r[0] for r in ranges], [r[1] for r in ranges]
        if sub.method == "sum":
            return sum(lows), sum(highs)
        return float(np.mean(lows)), float(np.mean(highs))

    for inst in instruments:
        if score_id in inst.subscales:
            found = subscale_range(inst, score_id)
            return list(found) if found else None
        if score_id in inst.composites:
            comp = inst.composites[score_id]
            parts = [subscale_range(inst, s) for s in comp.of if s in inst.subscales]
            if not parts or any(p is None for p in parts):
                return None
            lows, highs = [p[0] for p in parts], [p[1] for p in parts]
            if comp.method == "sum":
                return [sum(lows), sum(highs)]
            return [float(np.mean(lows)), float(np.mean(highs))]
    return None


# =============================================================================== 6. data quality


def _quality_section(
    ctx: _Context, schedule_quality: dict[str, Any] | None, cohorts: CohortReport
) -> dict[str, Any]:
    explanation = (
        "What was found in each file and what was done about it, counted by kind of problem. Nothing here "
        "names a resident or shows an answer; the line-by-line report, for the analyst only, comes from "
        "the commands below."
    )
    source = [
        f"sdt-survey score {' '.join(_quote(a) for a in ctx.instrument_args)} {_quote(name)} "
        f"--id-column {_quote(ctx.id_column)}{ctx.reading_flags()} --out scores.csv --report quality.csv"
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
                "records": None if small else _small_to_none(int(report.n_records), ctx.min_cell),
                "scored": None if small else _small_to_none(len(result.scores), ctx.min_cell),
                "source": report.source,
                "problems": problems,
            }
        )
    data = {"files": files, "schedule": schedule_quality}
    return _section(explanation, source, data)


# =============================================================================== header


def _header(ctx: _Context, schedule: Any, options: Mapping[str, Any], formula: str | None) -> dict[str, Any]:

    schedule_name = None
    if schedule is not None:
        schedule_name = "<schedule frame>" if isinstance(schedule, pd.DataFrame) else Path(schedule).name
    command = (
        f"sdt-survey report {' '.join(_quote(a) for a in ctx.instrument_args)} --responses "
        + " ".join(_quote(n) for n in ctx.file_names)
        + f" --id-column {_quote(ctx.id_column)}"
        + ctx.reading_flags()
    )
    if schedule_name is not None:
        command += f" --schedule {_quote(schedule_name)}{_schedule_flags(options)}"
    if ctx.by:
        command += f" --by {_quote(','.join(ctx.by))}"
    if ctx.min_cell != 5:
        command += f" --min-cell {ctx.min_cell}"
    if formula:
        command += f" --formula {_quote(formula)}"
    command += " --out report.html"
    return {
        "title": "Basic psychological needs: survey report",
        "date": datetime.date.today().isoformat(),
        "sdt_survey_version": __version__,
        "instruments": [
            {"id": inst.id, "version": inst.version, "title": _label(inst.title) or inst.id}
            for inst in ctx.instruments
        ],
        "data_files": list(ctx.file_names),
        "schedule_file": schedule_name,
        "waves": list(ctx.waves),
        "by": list(ctx.by),
        "min_cell": ctx.min_cell,
        "command": command,
    }


# =============================================================================== text summary


def _fmt(value: Any, digits: int = 2) -> str:
    number = _finite(value)
    return _DASH if number is None else f"{number:.{digits}f}"


def _fmt_p(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return _DASH
    return "< 0.001" if number < 0.001 else f"{number:.3f}"


def _summary_text(content: Mapping[str, Any]) -> str:
    header = content["header"]
    instruments = ", ".join(f"{i['id']} {i['version']}" for i in header["instruments"])
    lines = [
        f"Report: {instruments}; {len(header['waves'])} wave(s); files {', '.join(header['data_files'])}"
        + (f"; schedule {header['schedule_file']}" if header["schedule_file"] else "")
        + f"; minimum cell size {header['min_cell']}; {header['date']}",
    ]
    for number, (key, section) in enumerate(content["sections"].items(), start=1):
        lines.append("")
        lines.append(f"{number}. {section['title']} [{section['status']}]")
        if section["status"] != "ok":
            lines.append(f"   {section['reason']}")
        else:
            lines.extend("   " + line for line in _section_summary(key, section["data"]))
        lines.extend(f"   note: {note}" for note in section["notes"])
    return "\n".join(lines)


def _section_summary(key: str, data: Mapping[str, Any]) -> list[str]:
    out = []
    if key == "items":
        for inst in data["instruments"]:
            items = [e for g in inst["groups"] for e in g["items"]]
            hidden = sum(e["suppressed"] for e in items)
            out.append(
                f"{inst['id']}: {len(items)} items, wave {data['wave']}, {data['n_respondents']} respondents"
                + (f" ({hidden} suppressed)" if hidden else "")
            )
    elif key == "reliability":
        for inst in data["instruments"]:
            if inst.get("status") != "ok":
                out.append(f"{inst['id']}: {inst['reason']}")
                continue
            for sub in inst["subscales"]:
                low, high = sub["alpha_ci"]
                flags = f"; flagged: {', '.join(f['item'] for f in sub['flagged_items'])}"
                out.append(
                    f"{sub['id']}: alpha {_fmt(sub['alpha'])} [{_fmt(low)}, {_fmt(high)}], "
                    f"omega {_fmt(sub['omega_total'])}" + (flags if sub["flagged_items"] else "")
                )
    elif key == "factor_structure":
        for inst in data["instruments"]:
            if inst.get("status") == "ok":
                fit = inst["fit"]
                out.append(
                    f"{inst['id']}: chi-square {_fmt(fit['chisq'])} on {fit['df']} df, "
                    f"CFI {_fmt(fit['cfi'], 3)}, TLI {_fmt(fit['tli'], 3)}, RMSEA {_fmt(fit['rmsea'], 3)} "
                    f"[{_fmt(fit['rmsea_ci'][0], 3)}, {_fmt(fit['rmsea_ci'][1], 3)}], "
                    f"SRMR {_fmt(fit['srmr'], 3)}"
                )
            else:
                out.append(f"{inst['id']}: {inst['reason']}")
            if inst.get("invariance"):
                out.append(f"invariance: {inst['invariance']['statement']}")
    elif key == "continuity":
        model = data["model"]
        out.append(f"{model['formula']}" + (f" (spline {model['spline']})" if model["spline"] else ""))
        if model["lrt"]:
            lrt = model["lrt"]
            out.append(
                f"test of continuity: chi-square({lrt['df']}) = {_fmt(lrt['chisq'])}, "
                f"p {_fmt_p(lrt['pvalue'])}"
            )
        out.append(
            f"n = {model['n_obs']}, ICC {_fmt(model['icc'], 3)}, "
            f"R2 marginal {_fmt(model['r2_marginal'], 3)}, conditional {_fmt(model['r2_conditional'], 3)}"
        )
    elif key == "cohorts":
        out.append(
            f"{len(data['scales'])} scores x {len(data['waves'])} wave(s); {data['n_suppressed_rows']} of "
            f"{len(data['rows'])} rows suppressed"
        )
        out.extend(f"invariance: {s}" for s in data["invariance"])
    elif key == "data_quality":
        for entry in data["files"]:
            problems = ", ".join(f"{p['problem']} {p['n']}" for p in entry["problems"]) or "no problems"
            out.append(f"{entry['file']}: {problems}")
        if data["schedule"]:
            problems = (
                ", ".join(f"{p['problem']} {p['n']}" for p in data["schedule"]["problems"]) or "no problems"
            )
            out.append(f"{data['schedule']['file']}: {problems}")
    return out


# =============================================================================== plots


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png_data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _wrap(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, and safe for matplotlib (``$`` would start mathtext)."""
    text = text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"
    return text.replace("$", r"\$")


def _bar_segments(
    values: Sequence[Any], percent: Sequence[float | None], mid: float
) -> list[tuple[Any, float, bool]] | None:
    """Each answer's share in scale order, suppressed ones merged into one share; None if undrawable.

    Suppressed answers can be drawn as one share (100% minus the shown ones, which the reader can
    work out anyway) only when they are adjacent and on one side of the midpoint: then the bar's
    position is exact. Otherwise the shown shares cannot be placed and the bar is not drawn.
    """
    hidden = [i for i, p in enumerate(percent) if p is None]
    if not hidden:
        return [(v, float(p), False) for v, p in zip(values, percent, strict=True)]
    one_side = all(values[i] < mid for i in hidden) or all(values[i] > mid for i in hidden)
    if hidden != list(range(hidden[0], hidden[-1] + 1)) or not one_side:
        return None
    rest = 100.0 - sum(p for p in percent if p is not None)
    out: list[tuple[Any, float, bool]] = []
    for i, (v, p) in enumerate(zip(values, percent, strict=True)):
        if i == hidden[0]:
            out.append((v, max(rest, 0.0), True))
        elif p is not None:
            out.append((v, float(p), False))
    return out


def _items_plot(block: Mapping[str, Any], scale: Mapping[str, Any], min_cell: int) -> str | None:
    """Diverging stacked bars of the items on one scale; the missing share in a panel of its own."""
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    for group in block["groups"]:
        members = [e for e in group["items"] if e["scale"] == scale["id"]]
        if not members:
            continue
        rows.append((_wrap(group["label"], 60), None))
        rows.extend((e["id"], e) for e in members)
    if not rows:
        return None
    values = scale["values"]
    mid = scale["midpoint"]
    colours = colormaps["RdBu"](np.linspace(0.12, 0.88, len(values)))
    height = 0.9 + 0.3 * len(rows)
    figure = _figure(10.5, height)
    grid = figure.add_gridspec(1, 2, width_ratios=[5.2, 1], wspace=0.05)
    ax, ax_missing = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    y_labels = []
    merged_drawn = False
    for position, (name, entry) in enumerate(rows):
        y = len(rows) - 1 - position
        if entry is None:
            y_labels.append((y, name, True))
            continue
        text = f"{entry['id']}{' (R)' if entry['reverse'] else ''}  {_wrap(entry['text'] or '', 48)}"
        y_labels.append((y, text, False))
        segments = None if entry["suppressed"] else _bar_segments(values, entry["percent"], mid)
        if segments is None or entry["missing_percent"] is None:
            what = "counts partly suppressed" if entry["counts"] else f"fewer than {min_cell} answers"
            ax.text(0, y, f"suppressed: {what}", ha="center", va="center", fontsize=8, color="0.3",
                    style="italic")  # fmt: skip
            ax_missing.text(50, y, _SUPPRESSED, ha="center", va="center", fontsize=7, color="0.3")
            continue
        below = sum(p for v, p, _ in segments if v < mid)
        middle = sum(p for v, p, _ in segments if v == mid)
        left = -(below + middle / 2)
        for v, p, merged in segments:
            if p <= 0:
                continue
            if merged:  # answers hidden together (small counts): one hatched share, no number
                merged_drawn = True
                ax.barh(y, p, left=left, color="0.85", hatch="////", edgecolor="white", linewidth=0.5,
                        height=0.72)  # fmt: skip
                left += p
                continue
            colour = colours[values.index(v)]
            ax.barh(y, p, left=left, color=colour, edgecolor="white", linewidth=0.5, height=0.72)
            if p >= 7:
                shade = "white" if abs(v - mid) >= (values[-1] - values[0]) / 3 else "black"
                ax.text(left + p / 2, y, f"{p:.0f}", ha="center", va="center", fontsize=7, color=shade)
            left += p
        ax_missing.barh(y, entry["missing_percent"], color="0.65", height=0.72)
        ax_missing.text(entry["missing_percent"] + 2, y, f"{entry['missing_percent']:.0f}%", va="center",
                        fontsize=7)  # fmt: skip
    ax.axvline(0, color="0.2", linewidth=0.8)
    ax.set_xlim(-100, 100)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xticks([-100, -50, 0, 50, 100], ["100%", "50%", "0", "50%", "100%"])
    ax.set_yticks([y for y, _, _ in y_labels], [t for _, t, _ in y_labels], fontsize=8)
    for tick, (_, _, is_header) in zip(ax.get_yticklabels(), y_labels, strict=True):
        if is_header:
            tick.set_fontweight("bold")
    ax.set_xlabel("share of the answers given (%)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax_missing.set_xlim(0, 100)
    ax_missing.set_ylim(ax.get_ylim())
    ax_missing.set_yticks([])
    ax_missing.set_xticks([0, 50, 100], ["0", "50", "100%"])
    ax_missing.tick_params(axis="x", labelsize=8)
    ax_missing.set_title("no answer", fontsize=8)
    ax_missing.spines[["top", "right", "left"]].set_visible(False)
    handles = [
        Patch(color=c, label=_wrap(str(label), 24)) for c, label in zip(colours, scale["labels"], strict=True)
    ]
    if merged_drawn:
        handles.append(Patch(facecolor="0.85", hatch="////", edgecolor="white", label="small counts, merged"))
    figure.legend(handles=handles, loc="upper center", ncol=min(len(handles), 7), fontsize=7.5, frameon=False,
                  bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    figure.subplots_adjust(left=0.36, right=0.98, top=1 - 0.45 / height, bottom=0.45 / height + 0.02)
    return _png_data_uri(figure)


def _reliability_plot(block: Mapping[str, Any]) -> str | None:
    subscales = [s for s in block.get("subscales", []) if s["alpha"] is not None]
    if not subscales:
        return None
    figure = _figure(7.5, 0.6 + 0.38 * len(subscales))
    ax = figure.add_subplot()
    for position, sub in enumerate(subscales):
        y = len(subscales) - 1 - position
        low, high = sub["alpha_ci"]
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color="tab:blue", linewidth=2)
        ax.plot(sub["alpha"], y, "o", color="tab:blue", label="alpha (95% CI)" if position == 0 else None)
        if sub["omega_total"] is not None:
            ax.plot(sub["omega_total"], y, "D", color="tab:orange", markersize=5,
                    label="omega" if position == 0 else None)  # fmt: skip
    for line in (0.7, 0.8):
        ax.axvline(line, color="0.6", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(subscales)), [_wrap(s["label"], 40) for s in reversed(subscales)], fontsize=8)
    lows = [s["alpha_ci"][0] for s in subscales if s["alpha_ci"][0] is not None] + [
        s["alpha"] for s in subscales
    ]
    ax.set_xlim(min(0.5, min(lows) - 0.05), 1.0)
    ax.set_xlabel("reliability (dashed: .70 and .80)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _png_data_uri(figure)


def _curve_plot(model: Mapping[str, Any]) -> str | None:
    curve = model.get("curve")
    if not curve:
        return None
    figure = _figure(6.5, 4.0)
    ax = figure.add_subplot()
    ax.fill_between(curve["x"], curve["ci_lower"], curve["ci_upper"], color="tab:blue", alpha=0.22,
                    label="95% confidence band")  # fmt: skip
    ax.plot(curve["x"], curve["fitted"], color="tab:blue", linewidth=2, label="estimate")
    variable = curve["variable"]
    ax.set_xlabel("continuity of care (COC)" if variable == "coc" else _wrap(variable, 60), fontsize=9)
    ax.set_ylabel(_wrap(f"{model['outcome_label']} (model estimate)", 60), fontsize=9)
    kind = f"natural spline, {model['spline'].split('=')[-1]} df" if model.get("spline") else "straight line"
    ax.set_title(f"Dose-response ({kind})", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _png_data_uri(figure)


def _group_key(group: Mapping[str, Any]) -> tuple[str | None, Any]:
    for column, value in group.items():
        if value != "all":
            return column, value
    return None, "all"


def _trend_panels(
    panels: list[tuple[str, list[Mapping[str, Any]]]],
    waves: Sequence[Any],
    value_range: Sequence[float] | None,
    midpoint: float | None,
    columns: int,
    ylabel: str,
) -> str:
    """Small multiples: mean and 95% band over waves; a suppressed wave is an open marker at the bottom."""
    from matplotlib.lines import Line2D

    n_rows = math.ceil(len(panels) / columns)
    figure = _figure(2.6 * columns, 0.5 + 2.1 * n_rows)
    x_all = np.arange(len(waves))
    position_of = {w: i for i, w in enumerate(waves)}
    lows, highs = [], []
    for _, rows in panels:
        lows += [r["ci_lower"] for r in rows if r["ci_lower"] is not None]
        highs += [r["ci_upper"] for r in rows if r["ci_upper"] is not None]
    # The y axis spans the intervals shown, at least a third of the scale (so that small differences
    # do not look large), and never beyond the scale's own range.
    if lows:
        bottom, top = min(lows), max(highs)
    elif value_range:
        bottom, top = value_range
    else:
        bottom, top = 0.0, 1.0
    if value_range:
        least = (value_range[1] - value_range[0]) / 3
        if top - bottom < least:
            centre = (top + bottom) / 2
            bottom, top = centre - least / 2, centre + least / 2
        pad = 0.08 * (top - bottom)
        bottom, top = max(value_range[0], bottom - pad), min(value_range[1], top + pad)
        if top - bottom < least:  # pushed against an end of the scale
            bottom, top = (value_range[0], value_range[0] + least) if bottom <= value_range[0] else (
                value_range[1] - least, value_range[1])  # fmt: skip
    else:
        pad = 0.08 * (top - bottom) or 0.5
        bottom, top = bottom - pad, top + pad
    any_hidden = False
    for index, (title, rows) in enumerate(panels):
        ax = figure.add_subplot(n_rows, columns, index + 1)
        shown = [r for r in rows if not r["suppressed"] and r["mean"] is not None]
        x = [position_of[r["wave"]] for r in shown]
        if shown:
            means = [r["mean"] for r in shown]
            low = [r["ci_lower"] if r["ci_lower"] is not None else r["mean"] for r in shown]
            high = [r["ci_upper"] if r["ci_upper"] is not None else r["mean"] for r in shown]
            if len(shown) > 1:
                ax.fill_between(x, low, high, color="tab:blue", alpha=0.2)
            else:
                ax.errorbar(x, means, yerr=[[m - lo for m, lo in zip(means, low, strict=True)],
                                            [hi - m for m, hi in zip(means, high, strict=True)]],
                            color="tab:blue", capsize=3)  # fmt: skip
            ax.plot(x, means, "o-", color="tab:blue", markersize=4)
        hidden = [position_of[r["wave"]] for r in rows if r["suppressed"]]
        if hidden:
            any_hidden = True
            marker_y = bottom + 0.04 * (top - bottom)
            ax.plot(hidden, [marker_y] * len(hidden), "x", color="0.35", markersize=7)
            for h in hidden:
                ax.text(
                    h, marker_y + 0.06 * (top - bottom), _SUPPRESSED, ha="center", fontsize=6.5, color="0.35"
                )
        if midpoint is not None:
            ax.axhline(midpoint, color="0.7", linestyle=":", linewidth=0.8)
        ax.set_ylim(bottom, top)
        ax.set_xlim(-0.4, len(waves) - 0.6)
        ax.set_xticks(x_all, [_wrap(str(w), 12) for w in waves], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(_wrap(title, 34), fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        if index % columns == 0:
            ax.set_ylabel(_wrap(ylabel, 40), fontsize=7)
    handles = [
        Line2D([], [], color="tab:blue", marker="o", label="mean"),
        Line2D([], [], color="tab:blue", alpha=0.3, linewidth=6, label="95% CI"),
    ]
    if midpoint is not None:
        handles.append(Line2D([], [], color="0.7", linestyle=":", label="scale midpoint"))
    if any_hidden:
        handles.append(
            Line2D([], [], color="0.35", marker="x", linestyle="", label="suppressed (no value shown)")
        )
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5, frameon=False)
    # Fixed margins in inches: tight_layout measures every tick label of every panel (slow with many panels).
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=0.62 / width,
        right=1 - 0.15 / width,
        top=1 - 0.3 / height,
        bottom=0.62 / height,
        hspace=0.55,
        wspace=0.32,
    )
    return _png_data_uri(figure)


def _cohort_plots(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(title, data URI, alt text)`` of the trend figures."""
    scales = {s["id"]: s for s in data["scales"]}
    waves = data["waves"]
    overall: dict[str, list] = {s: [] for s in scales}
    by_group: dict[str, dict[Any, list]] = {c: {} for c in data["by"]}
    for row in data["rows"]:
        column, value = _group_key(row["group"])
        if column is None:
            overall[row["scale"]].append(row)
        elif row["scale"] == data["focus"]:
            by_group[column].setdefault(value, []).append(row)
    figures = []
    ranges = [s["range"] for s in scales.values() if s["range"]]
    common = [min(r[0] for r in ranges), max(r[1] for r in ranges)] if ranges else None
    midpoints = {s["midpoint"] for s in scales.values()}
    panels = [(scales[s]["label"], rows) for s, rows in overall.items()]
    uri = _trend_panels(
        panels, waves, common, midpoints.pop() if len(midpoints) == 1 else None, min(4, len(panels)), "mean"
    )
    figures.append(
        ("Every score, all residents", uri, "Mean of each score by wave for all residents, with 95% CI")
    )
    focus = scales[data["focus"]]
    for column, groups in by_group.items():
        if not groups:
            continue
        shown = list(groups.items())[:40]
        panels = [(f"{column} {value}", rows) for value, rows in shown]
        uri = _trend_panels(
            panels, waves, focus["range"], focus["midpoint"], min(5, len(panels)), focus["label"].lower()
        )
        figures.append(
            (
                f"{focus['label']} by {column}",
                uri,
                f"{focus['label']} by {column} and wave, with 95% CI; suppressed groups marked",
            )
        )
    return figures


# =============================================================================== HTML


_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
:root { color-scheme: light; --ink: #1d2733; --muted: #55606e; --line: #d6dbe1; --band: #f4f6f8;
        --accent: #1f5f99; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header, main, footer, nav { max-width: 1120px; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 0 0 .4rem; border-bottom: 2px solid var(--accent); padding-bottom: .2rem; }
h3 { font-size: 1.02rem; margin: 1.1rem 0 .35rem; }
section { margin: 1.8rem 0 2.2rem; }
p { margin: .4rem 0; }
.explain { font-size: 1rem; max-width: 62rem; }
.source { font-size: .85rem; color: var(--muted); }
.source code, .command code { background: var(--band); padding: .1rem .3rem; border-radius: 3px;
       word-break: break-word; font-size: .82rem; }
.unavailable { background: #fff7ec; border-left: 4px solid var(--warn); padding: .5rem .8rem; }
.note { font-size: .88rem; color: var(--muted); }
.privacy { background: #eef5fb; border-left: 4px solid var(--accent); padding: .6rem .9rem;
           font-size: .92rem; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: .86rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .55rem; text-align: right;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.suppressed { color: var(--muted); font-style: italic; text-align: center; }
td.flag { color: var(--warn); text-align: left; }
table.meta th { text-align: left; width: 12rem; }
table.meta td { text-align: left; }
.bar { display: inline-block; height: .7rem; background: var(--accent); vertical-align: middle;
       margin-right: .35rem; border-radius: 2px; }
figure { margin: .6rem 0 1rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .85rem; color: var(--muted); }
details { margin: .4rem 0 .8rem; }
summary { cursor: pointer; color: var(--accent); }
nav ol { columns: 2; font-size: .92rem; }
nav a, a { color: var(--accent); }
footer { font-size: .82rem; color: var(--muted); padding-bottom: 2rem; border-top: 1px solid var(--line); }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _sentence(text: Any) -> str:
    """``text`` escaped, ending with one full stop."""
    text = "" if text is None else str(text).rstrip()
    return _e(text if text.endswith((".", "!", "?")) else text + ".")


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None, cls: str = ""
) -> str:
    """An HTML table; cells are given as HTML (escape them before)."""
    parts = [f'<table class="{cls}">' if cls else "<table>"]
    if caption:
        parts.append(f"<caption>{_e(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        parts.append(
            "<tr>" + "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row) + "</tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _suppressed_cell(span: int) -> str:
    return f'<td class="suppressed" colspan="{span}">{_SUPPRESSED}</td>'


def _img(uri: str | None, alt: str, caption: str | None = None) -> str:
    if not uri:
        return ""
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{_e(alt)}">{cap}</figure>'


def _render_html(content: Mapping[str, Any]) -> str:

    header = content["header"]
    sections = content["sections"]
    title = header["title"]
    renderers = {
        "items": _html_items,
        "reliability": _html_reliability,
        "factor_structure": _html_factor,
        "continuity": _html_continuity,
        "cohorts": _html_cohorts,
        "data_quality": _html_quality,
    }
    body = []
    for number, (key, section) in enumerate(sections.items(), start=1):
        parts = [
            f'<section id="{key}" data-section="{key}" data-status="{_e(section["status"])}">',
            f"<h2>{number}. {_e(section['title'])}</h2>",
            f'<p class="explain">{_e(section["explanation"])}</p>',
        ]
        if section["status"] != "ok":
            parts.append(f'<p class="unavailable">Not shown: {_sentence(section["reason"])}</p>')
        else:
            parts.append(renderers[key](section["data"], header))
        parts.extend(f'<p class="note">Note: {_sentence(note)}</p>' for note in section["notes"])
        sources = "".join(f"<br><code>{_e(s)}</code>" for s in section["source"])
        parts.append(f'<p class="source">Where these numbers come from:{sources}</p>')
        parts.append("</section>")
        body.append("\n".join(parts))
    instruments = ", ".join(f"{i['title']} ({i['id']} {i['version']})" for i in header["instruments"])
    meta_rows = [
        ("Instruments", _e(instruments)),
        ("Response files", _e(", ".join(header["data_files"]))),
        ("Clinic schedule", _e(header["schedule_file"] or "none")),
        ("Waves", _e(", ".join(str(w) for w in header["waves"]))),
        ("Groups", _e(", ".join(header["by"]) or "none")),
        ("Minimum cell size", _e(header["min_cell"])),
        ("Date", _e(header["date"])),
    ]
    meta = '<table class="meta"><tbody>' + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta_rows)
    meta += "</tbody></table>"
    privacy = (
        '<p class="privacy">Only group figures are shown. Every figure rests on at least '
        f"{header['min_cell']} residents; smaller groups, and groups from which a smaller one could be "
        "worked out, are marked 'suppressed' without their numbers. No resident's id, answers or "
        "comments are in this report. Please do not combine it with other reports on the same "
        "residents.</p>"
    )
    toc = "<nav><ol>" + "".join(
        f'<li><a href="#{key}">{_e(section["title"])}</a></li>' for key, section in sections.items()
    )
    toc += "</ol></nav>"
    page = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',  # a constant: no " < & in it
        f'<meta name="generator" content="sdt-survey {_e(__version__)}">',
        '<meta name="referrer" content="no-referrer">',
        # An empty icon keeps the browser from asking for /favicon.ico.
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        meta,
        privacy,
        f'<p class="command">Made with: <code>{_e(header["command"])}</code></p>',
        "</header>",
        toc,
        "<main>",
        *body,
        "</main>",
        f"<footer><p>Made by sdt-survey {_e(header['sdt_survey_version'])}. The same numbers as JSON: "
        "<code>Report.to_dict()</code>, or the <code>.json</code> file the report command writes beside "
        "this one. How to read each section: docs/reports.md in the sdt-survey documentation.</p></footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(page)


def _html_items(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(f"<h3>{_e(block['title'])} ({_e(block['id'])} {_e(block['version'])})</h3>")
        for scale in block["scales"]:
            uri = _items_plot(block, scale, header["min_cell"])
            labels = ", ".join(
                f"{v} = {lab}" for v, lab in zip(scale["values"], scale["labels"], strict=True)
            )
            parts.append(
                _img(
                    uri,
                    f"Answers to each item of {block['id']} on the scale {labels}",
                    f"Scale: {labels}. Numbers in the bars are percentages of the answers given.",
                )
            )
            rows = []
            for group in block["groups"]:
                for entry in group["items"]:
                    if entry["scale"] != scale["id"]:
                        continue
                    head = [
                        f'<td class="text">{_e(entry["id"])}{" (R)" if entry["reverse"] else ""}</td>',
                        f'<td class="text">{_e(group["label"])}</td>',
                    ]
                    if entry["counts"] is None:
                        rows.append([*head, _suppressed_cell(2 + len(scale["values"]))])
                    else:  # a suppressed count is a dash; the note under the section says why
                        counts = ["—" if c is None else _e(c) for c in entry["counts"]]
                        n = "—" if entry["n"] is None else _e(entry["n"])
                        share = entry["missing_percent"]
                        rows.append([*head, n, *counts, "—" if share is None else f"{share:.1f}%"])
            parts.append(
                "<details><summary>The counts behind the bars</summary>"
                + _table(
                    ["item", "subscale", "answered", *[str(v) for v in scale["values"]], "no answer"], rows
                )
                + "</details>"
            )
    return "\n".join(parts)


def _html_reliability(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(f"<h3>{_e(block['title'])} ({_e(block['id'])} {_e(block['version'])})</h3>")
        if block.get("status") != "ok":
            parts.append(f'<p class="unavailable">{_sentence(block["reason"])}</p>')
            continue
        parts.append(
            _img(_reliability_plot(block), f"Alpha with 95% CI and omega for each subscale of {block['id']}")
        )
        rows = []
        for sub in block["subscales"]:
            low, high = sub["alpha_ci"]
            flags = "; ".join(f"{f['item']}: {f['why']}" for f in sub["flagged_items"]) or "none"
            rows.append(
                [
                    f'<td class="text">{_e(sub["label"])}</td>',
                    _e(sub["n"]),
                    _e(sub["n_items"]),
                    _fmt(sub["alpha"], 3),
                    f"[{_fmt(low, 3)}, {_fmt(high, 3)}]",
                    _fmt(sub["omega_total"], 3),
                    f'<td class="flag">{_e(flags)}</td>'
                    if sub["flagged_items"]
                    else '<td class="text">none</td>',
                ]
            )
        parts.append(
            _table(["subscale", "n", "items", "alpha", "95% CI (Feldt)", "omega", "flagged items"], rows)
        )
        if block.get("omega_hierarchical") is not None:
            parts.append(
                '<p class="note">Over all subscales: omega hierarchical '
                f"{_fmt(block['omega_hierarchical'], 3)}, omega total {_fmt(block['omega_total'], 3)} "
                f"(missing answers handled {_e(block['missing'])}).</p>"
            )
    return "\n".join(parts)


def _html_factor(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(f"<h3>{_e(block['title'])} ({_e(block['id'])} {_e(block['version'])})</h3>")
        if block.get("status") != "ok":
            parts.append(f'<p class="unavailable">The factor model: {_sentence(block["reason"])}</p>')
        else:
            fit = block["fit"]
            parts.append(
                _table(
                    ["respondents", "chi-square", "df", "p", "CFI", "TLI", "RMSEA", "RMSEA 90% CI", "SRMR"],
                    [
                        [
                            _e(block["n_used"]),
                            _fmt(fit["chisq"], 2),
                            _e(fit["df"]),
                            _fmt_p(fit["pvalue"]),
                            _fmt(fit["cfi"], 3),
                            _fmt(fit["tli"], 3),
                            _fmt(fit["rmsea"], 3),
                            f"[{_fmt(fit['rmsea_ci'][0], 3)}, {_fmt(fit['rmsea_ci'][1], 3)}]",
                            _fmt(fit["srmr"], 3),
                        ]
                    ],
                    cls="fit",
                )
            )
            rows = []
            for loading in block["loadings"]:
                value = loading["std_loading"]
                bar = (
                    f'<span class="bar" style="width:{max(0.0, min(abs(value), 1.0)) * 8:.2f}rem"></span>'
                    if value is not None
                    else ""
                )
                rows.append(
                    [
                        f'<td class="text">{_e(loading["factor"])}</td>',
                        f'<td class="text">{_e(loading["item"])}</td>',
                        f'<td class="text">{bar}{_fmt(value, 3)}</td>',
                    ]
                )
            parts.append(
                "<details open><summary>Standardized loadings</summary>"
                + _table(["factor", "item", "standardized loading"], rows)
                + "</details>"
            )
            factors = list(block["factor_correlations"])
            corr_rows = [
                [f'<td class="text">{_e(a)}</td>']
                + [("1" if a == b else _fmt(block["factor_correlations"][a].get(b), 2)) for b in factors]
                for a in factors
            ]
            parts.append(
                "<details><summary>Correlations between the factors</summary>"
                + _table(["", *factors], corr_rows)
                + "</details>"
            )
            parts.extend(f'<p class="note">Warning: {_sentence(w)}</p>' for w in block["warnings"])
        check = block.get("invariance")
        if check is None:
            continue
        across = check.get("across")
        parts.append(
            f"<h3>Measurement invariance of {_e(block['id'])}"
            + (f" across {_e(across)}" if across else "")
            + "</h3>"
        )
        if check["status"] != "tested":
            parts.append(f'<p class="unavailable">Not tested: {_sentence(check["statement"])}</p>')
            continue
        parts.append(f'<p class="note">Groups tested: {_e(", ".join(map(str, check["groups_tested"])))}.</p>')
        step_rows = [
            [
                f'<td class="text">{_e(s["step"])}</td>',
                _fmt(s["chisq"], 2),
                _e(s["df"]),
                _fmt(s["cfi"], 3),
                _fmt(s["tli"], 3),
                _fmt(s["rmsea"], 3),
                _fmt(s["srmr"], 3),
            ]
            for s in check["steps"]
        ]
        parts.append(
            _table(["step", "chi-square", "df", "CFI", "TLI", "RMSEA", "SRMR"], step_rows, cls="invariance")
        )
        comparison_rows = [
            [
                f'<td class="text">{_e(c["from"])} → {_e(c["to"])}</td>',
                _fmt(c["chisq_diff"], 2),
                _e(c["df_diff"]),
                _fmt_p(c["pvalue"]),
                _fmt(c["delta_cfi"], 3),
                _fmt(c["delta_rmsea"], 3),
                _fmt(c["delta_srmr"], 3),
                "holds" if c["supported"] else "does not hold",
            ]
            for c in check["comparisons"]
        ]
        parts.append(
            _table(
                ["comparison", "Δ chi-square", "Δ df", "p", "Δ CFI", "Δ RMSEA", "Δ SRMR", "invariance"],
                comparison_rows,
            )
        )
        parts.append(f'<p class="explain"><strong>Conclusion:</strong> {_sentence(check["statement"])}</p>')
    return "\n".join(parts)


def _html_continuity(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    model = data["model"]
    parts = [
        f"<p>Model: <code>{_e(model['formula'])}</code>"
        + (
            f", with continuity as a natural spline (<code>{_e(model['spline'])}</code>)"
            if model["spline"]
            else ""
        )
        + f"; fitted by {_e(model['method'])} on {_e(model['n_obs'])} residents in "
        + ", ".join(f"{_e(v)} levels of {_e(k)}" for k, v in model["n_groups"].items())
        + ".</p>"
    ]
    parts.append(
        _img(
            _curve_plot(model),
            f"{model['outcome_label']} against continuity of care, with its 95% confidence band",
            f"The curve is drawn where at least {header['min_cell']} residents lie beyond it on each side.",
        )
    )
    if model["lrt"]:
        lrt = model["lrt"]
        parts.append(
            f"<p>Does continuity matter at all? Likelihood-ratio test of every continuity term: chi-square "
            f"({_e(lrt['df'])} df) = {_fmt(lrt['chisq'])}, p {_e(_fmt_p(lrt['pvalue']))}.</p>"
        )
    rows = [
        [
            f'<td class="text">{_e(f["term"])}</td>',
            _fmt(f["estimate"], 3),
            _fmt(f["se"], 3),
            f"[{_fmt(f['ci_lower'], 3)}, {_fmt(f['ci_upper'], 3)}]",
            _fmt(f["z"], 2),
            _e(_fmt_p(f["pvalue"])),
        ]
        for f in model["fixed"]
    ]
    parts.append(_table(["fixed effect", "estimate", "SE", "95% CI", "z", "p"], rows, cls="fixed"))
    icc_null = f" (before continuity: {_fmt(model['icc_null'], 3)})" if model["icc_null"] is not None else ""
    parts.append(
        _table(
            ["ICC", "R² marginal", "R² conditional"],
            [
                [
                    _fmt(model["icc"], 3) + _e(icc_null),
                    _fmt(model["r2_marginal"], 3),
                    _fmt(model["r2_conditional"], 3),
                ]
            ],
        )
    )
    parts.append(
        '<p class="note">ICC: the share of the remaining differences in the score that lies between '
        "groups. R² marginal: the share explained by the fixed effects (continuity); conditional: by fixed "
        "and group effects together. Spline coefficients are not read one by one: the curve and the "
        "likelihood-ratio test are the result.</p>"
    )
    schedule = data["schedule"]
    index_rows = [
        [f'<td class="text">{_e(name)}</td>', _e(v["n"]), _fmt(v["mean"], 3), _fmt(v["sd"], 3)]
        for name, v in schedule["indices"].items()
    ]
    parts.append(
        f"<details><summary>Continuity in the schedule ({_e(schedule['file'])}: {_e(schedule['n_sessions'])} "
        "sessions)</summary>" + _table(["index", "residents", "mean", "SD"], index_rows) + "</details>"
    )
    join = data["join"]
    parts.append(
        f'<p class="note">{_e(join["matched"])} of {_e(join["responses"])} responses matched a resident '
        f"in the schedule; {_e(join['schedule_residents_without_response'])} resident(s) of the "
        "schedule did not answer this wave.</p>"
    )
    parts.extend(f'<p class="note">Model warning: {_sentence(w)}</p>' for w in model["warnings"])
    return "\n".join(parts)


def _html_cohorts(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for statement in data["invariance"]:
        parts.append(f'<p class="note">Comparing groups: {_sentence(statement)}</p>')
    for title, uri, alt in _cohort_plots(data):
        parts.append(f"<h3>{_e(title)}</h3>")
        parts.append(_img(uri, alt))
    labels = {s["id"]: s["label"] for s in data["scales"]}

    def group_text(group: Mapping[str, Any]) -> str:
        column, value = _group_key(group)
        return "all residents" if column is None else f"{column} {value}"

    def rows_for(scale: str) -> list[list[str]]:
        out = []
        for row in data["rows"]:
            if row["scale"] != scale:
                continue
            head = [f'<td class="text">{_e(group_text(row["group"]))}</td>', _e(row["wave"])]
            if row["suppressed"]:
                out.append([*head, _suppressed_cell(6)])
                continue
            above, below = row["share_above_midpoint"], row["share_below_midpoint"]
            out.append(
                [
                    *head,
                    _e(row["n"]),
                    _fmt(row["mean"]),
                    _fmt(row["sd"]),
                    f"[{_fmt(row['ci_lower'])}, {_fmt(row['ci_upper'])}]",
                    _DASH if above is None else f"{100 * above:.0f}%",
                    _DASH if below is None else f"{100 * below:.0f}%",
                ]
            )
        return out

    head = ["group", "wave", "n", "mean", "SD", "95% CI", "above midpoint", "below midpoint"]
    focus = data["focus"]
    parts.append(f"<h3>{_e(labels[focus])}: every group and wave</h3>")
    parts.append(_table(head, rows_for(focus), cls="cohort"))
    changes = [c for c in data["changes"] if c["scale"] == focus]
    if changes:
        change_rows = []
        for c in changes:
            lead = [
                f'<td class="text">{_e(group_text(c["group"]))}</td>',
                f"{_e(c['from_wave'])} → {_e(c['to_wave'])}",
            ]
            if c["suppressed"]:
                change_rows.append([*lead, _suppressed_cell(4)])
            else:
                change_rows.append(
                    [
                        *lead,
                        _e(c["n"]),
                        _fmt(c["mean_change"]),
                        f"[{_fmt(c['ci_lower'])}, {_fmt(c['ci_upper'])}]",
                        _e(_fmt_p(c["p"])),
                    ]
                )
        parts.append(f"<h3>{_e(labels[focus])}: change between waves</h3>")
        parts.append(
            _table(["group", "waves", "n", "mean change", "95% CI", "p"], change_rows, cls="changes")
        )
    others = [s for s in data["scales"] if s["id"] != focus]
    if others:
        tables = "".join(f"<h3>{_e(s['label'])}</h3>" + _table(head, rows_for(s["id"])) for s in others)
        parts.append(f"<details><summary>Every other score, every group and wave</summary>{tables}</details>")
    return "\n".join(parts)


def _html_quality(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for entry in data["files"]:
        parts.append(f"<h3>{_e(entry['file'])}</h3>")
        if entry["records"] is None:
            read = (
                "The number of responses is not shown: this file holds a wave of fewer than "
                f"{_e(header['min_cell'])} residents"
            )
        else:
            read = f"{_e(entry['records'])} responses read"
        parts.append(f"<p>{read} (format: {_e(entry['source'])}).</p>")
        parts.append(_quality_table(entry["problems"]))
    schedule = data["schedule"]
    if schedule:
        parts.append(f"<h3>{_e(schedule['file'])} (clinic schedule)</h3>")
        parts.append(
            f"<p>{_e(schedule['rows'])} rows read; {_e(schedule['sessions_counted'])} sessions counted.</p>"
        )
        parts.append(_quality_table(schedule["problems"]))
    return "\n".join(parts)


def _quality_table(problems: Sequence[Mapping[str, Any]]) -> str:
    if not problems:
        return "<p>No problems found.</p>"
    rows = [
        [
            f'<td class="text">{_e(p["meaning"])} (<code>{_e(p["problem"])}</code>)</td>',
            f'<td class="text">{_e(p["severity"])}</td>',
            f'<td class="text">{_e(p["action"])}</td>',
            f"{_e(p['n'])} {_e(p['unit'])}",
        ]
        for p in problems
    ]
    return _table(["what was found", "severity", "what was done", "how many"], rows, cls="quality")
