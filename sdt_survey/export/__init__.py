"""Deprecated: moved to :mod:`sdt_survey.platforms` (one module per platform, and their registry).

``sdt_survey.export_survey``, ``build_survey`` and ``ExportResult`` are also
importable from the package root; ``sdt_survey.export.redcap`` and the other
submodules forward to ``sdt_survey.platforms.redcap`` and so on.
"""

import importlib
from typing import Any

from .._deprecation import moved

_forward, __dir__ = moved(__name__, "sdt_survey.platforms")
_SUBMODULES = ("html", "paper", "qualtrics", "redcap", "reproschema", "xlsform")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # sdt_survey.export.redcap without importing it first, as before
        return importlib.import_module(f"{__name__}.{name}")
    return _forward(name)
