"""sdt-survey: residents' basic psychological needs and continuity with faculty.

The package turns one YAML instrument definition into deployable surveys,
validated and scored responses, psychometric checks and multilevel models of
relatedness (belonging) against continuity of contact with faculty.
"""

from . import export, expressions, factor, reliability, simulate  # noqa: F401  (old paths, kept as attributes: sdt_survey.export.redcap)
from ._version import __version__
from .errors import InstrumentError, Problem, SdtSurveyError
from .files import OutputError
from .instrument import (
    Instrument,
    bundled_instruments,
    check_instrument,
    load_instrument,
    parse_instrument,
)
from .platforms import ExportResult, build_survey, export_survey
from .responses import (
    DataQualityReport,
    Responses,
    ResponseValidationError,
    read_responses,
    validate_responses,
)
from .scoring import ScoredResponses, keygen, score
from .study import Study

__all__ = [
    "DataQualityReport",
    "ExportResult",
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
    "keygen",
    "load_instrument",
    "parse_instrument",
    "read_responses",
    "reliability",
    "score",
    "simulate",
    "validate_responses",
]
