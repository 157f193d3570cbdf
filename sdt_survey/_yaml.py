"""Deprecated: moved to :mod:`sdt_survey.instrument._yaml` (``read_yaml_mapping`` is public there)."""

from ._deprecation import moved

__getattr__, __dir__ = moved(__name__, "sdt_survey.instrument._yaml")
