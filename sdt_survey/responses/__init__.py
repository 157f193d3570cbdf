"""Read collected responses from any platform and validate them cell by cell (layer 3, above platforms).

Reading (:func:`read_responses`) turns a file (CSV/TSV, Excel, SPSS, Stata,
Parquet, JSON lines, or the HTML form's JSON) into a :class:`Responses`
object: one row per record, item columns renamed to item ids, every other
column passed through unchanged, and the row number each record had in the
file. The platform that produced the file (REDCap, Qualtrics, ODK/Kobo, the
HTML form, ReproSchema, or plain) is detected where that is unambiguous, and
the detection is stated; what each platform's files look like is that
platform's module's business (:mod:`sdt_survey.platforms`).

Validation (:func:`validate_responses`) checks every cell against the
instrument and returns the cleaned values together with a
:class:`DataQualityReport` that lists every problem with its row, respondent,
column, value and what was done about it. Nothing is dropped silently and the
input file is never modified.

Modules: ``formats`` (one reader per file format), ``read`` (detection and
column matching), ``cells`` and ``item_types`` (cell validation by item
type), ``validate`` (rows, branching, ids), ``quality`` (the report),
``model`` (the data classes), ``drift`` (the file against the definition).
"""

from __future__ import annotations

from typing import Any

from .._lazy import lazy_exports

_lazy_getattr, __dir__ = lazy_exports(
    __name__,
    {
        "text_encoding": ".._untrusted",
        "ALIAS_TARGET_OF_SOURCE": "..platforms",
        "SOURCES": "..platforms",
        "FORM_FORMAT": "..platforms.html",
        "redcap_checkbox_code": "..platforms.redcap",
        "DRIFT_POLICIES": ".model",
        "check_drift": ".drift",
        "read_file": ".formats",
        # The old private name of read_file, kept for code that imported it.
        "_read_file": ".formats:read_file",
        "INVALID_POLICIES": ".model",
        "ISSUE_COLUMNS": ".model",
        "MISSING_TOKENS": ".model",
        "PROBLEM_SEVERITY": ".model",
        "WAVE_COLUMNS": ".model",
        "CleanResponses": ".model",
        "Responses": ".model",
        "DataQualityReport": ".quality",
        "DriftError": ".quality",
        "ResponseValidationError": ".quality",
        "ITEM_PREFIX": ".read",
        "read_responses": ".read",
        "responses_from_frame": ".read",
        "validate_responses": ".validate",
    },
)

_MOVED_TO_IDENTIFIERS = ("IDENTIFIER_NAMES", "identifier_columns")


def __getattr__(name: str) -> Any:
    # Identifier detection belongs to the scoring layer above; the old names still answer here.
    if name in _MOVED_TO_IDENTIFIERS:
        from .._deprecation import moved

        return moved(__name__, "sdt_survey.scoring.identifiers")[0](name)
    return _lazy_getattr(name)


__all__ = [
    "ALIAS_TARGET_OF_SOURCE",
    "DRIFT_POLICIES",
    "FORM_FORMAT",
    "INVALID_POLICIES",
    "ISSUE_COLUMNS",
    "ITEM_PREFIX",
    "MISSING_TOKENS",
    "PROBLEM_SEVERITY",
    "SOURCES",
    "WAVE_COLUMNS",
    "CleanResponses",
    "DataQualityReport",
    "DriftError",
    "ResponseValidationError",
    "Responses",
    "check_drift",
    "read_file",
    "read_responses",
    "redcap_checkbox_code",
    "responses_from_frame",
    "text_encoding",
    "validate_responses",
]
