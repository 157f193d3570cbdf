"""Studies: one study file, cleaned once, analysed many times (layer 6).

A study file (``study.yaml``, :mod:`~sdt_survey.study.schema`) names the
instruments, the response files of every wave, the id and grouping columns,
the schedule and the cleaning decisions. :class:`Study` cleans it once into
the analysis data set (Parquet) with a manifest, and gives that data set to
every analysis (:attr:`Study.data`). See ``docs/studies.md``.
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TEMPLATE": ".schema",
        "Cleaning": ".schema",
        "Schedule": ".schema",
        "StudySpec": ".schema",
        "Wave": ".schema",
        "parse_study": ".schema",
        "Study": ".study",
        "StudyCleanResult": ".study",
        "write_study_file": ".template",
    },
)

__all__ = [
    "TEMPLATE",
    "Cleaning",
    "Schedule",
    "Study",
    "StudyCleanResult",
    "StudySpec",
    "Wave",
    "parse_study",
    "write_study_file",
]
