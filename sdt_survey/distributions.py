"""Deprecated: moved to :mod:`sdt_survey.cohorts.distributions`."""

from ._deprecation import moved

__getattr__, __dir__ = moved(__name__, "sdt_survey.cohorts.distributions")
