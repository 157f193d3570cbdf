"""sdt-survey: residents' basic psychological needs and continuity with faculty.

The package turns one YAML instrument definition into deployable surveys,
validated and scored responses, psychometric checks and multilevel models of
relatedness (belonging) against continuity of contact with faculty.

Public names are imported on first use (:mod:`sdt_survey._lazy`), so
``import sdt_survey`` and the command line start without numerical libraries.
"""

from ._lazy import lazy_exports
from ._version import __version__

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "InstrumentError": ".errors",
        "Problem": ".errors",
        "SdtSurveyError": ".errors",
        "OutputError": ".files",
        "Instrument": ".instrument",
        "bundled_instruments": ".instrument",
        "check_instrument": ".instrument",
        "load_instrument": ".instrument",
        "parse_instrument": ".instrument",
        "ExportResult": ".platforms",
        "build_survey": ".platforms",
        "export_survey": ".platforms",
        "ImportResult": ".platforms.importing",
        "import_instrument": ".platforms.importing",
        "DataQualityReport": ".responses",
        "Responses": ".responses",
        "ResponseValidationError": ".responses",
        "read_responses": ".responses",
        "validate_responses": ".responses",
        "ScoredResponses": ".scoring",
        "keygen": ".scoring",
        "score": ".scoring",
        "Study": ".study",
    },
    submodules=(
        "export",
        "expressions",
        "factor",
        "reliability",
        "simulate",
    ),
)
__all__ = [
    "DataQualityReport",
    "ExportResult",
    "ImportResult",
    "Instrument",
    "InstrumentError",
    "OutputError",
    "Problem",
    "ResponseValidationError",
    "Responses",
    "ScoredResponses",
    "SdtSurveyError",
    "Study",
    "__version__",
    "build_survey",
    "bundled_instruments",
    "check_instrument",
    "export_survey",
    "factor",
    "import_instrument",
    "keygen",
    "load_instrument",
    "parse_instrument",
    "read_responses",
    "reliability",
    "score",
    "simulate",
    "validate_responses",
]
