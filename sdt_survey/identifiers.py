"""Deprecated: moved to :mod:`sdt_survey.scoring.identifiers`."""

from ._deprecation import moved

__getattr__, __dir__ = moved(__name__, "sdt_survey.scoring.identifiers")
