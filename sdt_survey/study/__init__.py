"""Studies: one study file, cleaned once, analysed many times (layer 6).

A study file (``study.yaml``, :mod:`~sdt_survey.study.schema`) names the
instruments, the response files of every wave, the id and grouping columns,
the schedule and the cleaning decisions. :class:`Study` cleans it once into
the analysis data set (Parquet) with a manifest, and gives that data set to
every analysis (:attr:`Study.data`). See ``docs/studies.md``.
"""

from .schema import TEMPLATE, Cleaning, Schedule, StudySpec, Wave, parse_study
from .study import Study, StudyCleanResult
from .template import write_study_file

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
