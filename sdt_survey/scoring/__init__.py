"""Layer 4: the intake stage, which turns a response file into the analysis data set.

``score`` (:mod:`.intake`) reads, validates and scores responses once and
records every decision; its result, :class:`ScoredResponses`
(:mod:`.dataset`), is what every analysis and the report take.

=================  ==========================================================
:mod:`.intake`     :func:`score`: read, validate, score, record decisions
:mod:`.dataset`    :class:`ScoredResponses`, the analysis data set
:mod:`.scores`     reverse keys, subscale and composite scores, z-scores
:mod:`.careless`   careless-responding indices and flags
:mod:`.tables`     scores and exposure tables on disk; norms files
:mod:`.pseudonyms` key files and keyed pseudonyms of respondent ids
=================  ==========================================================
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CARELESS_THRESHOLDS": ".careless",
        "DURATION_COLUMNS": ".careless",
        "careless_flags": ".careless",
        "careless_indices": ".careless",
        "ScoredResponses": ".dataset",
        "score": ".intake",
        "keygen": ".pseudonyms",
        "pseudonymize": ".pseudonyms",
        "pseudonymize_report": ".pseudonyms",
        "read_key": ".pseudonyms",
        "reverse_key": ".scores",
        "score_ids": ".scores",
        "subscale_scores": ".scores",
        "read_norms": ".tables",
        "read_table": ".tables",
        "write_table": ".tables",
    },
)

__all__ = [
    "CARELESS_THRESHOLDS",
    "DURATION_COLUMNS",
    "ScoredResponses",
    "careless_flags",
    "careless_indices",
    "keygen",
    "pseudonymize",
    "pseudonymize_report",
    "read_key",
    "read_norms",
    "read_table",
    "reverse_key",
    "score",
    "score_ids",
    "subscale_scores",
    "write_table",
]
