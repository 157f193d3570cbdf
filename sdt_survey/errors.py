"""Error types shared by every stage.

A :class:`SdtSurveyError` is a *user* error: bad input that the person running
the command can fix. The command-line interface prints its message and exits
with status 1, never a traceback. Anything else that escapes is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Parameters
    ----------
    file : str
        The file the problem is in (as the user named it).
    line, column : int or None
        1-based position of the offending node, when known.
    path : str
        Dotted path to the field, e.g. ``items[3].scale`` (empty for the file).
    message : str
        What is wrong, in words a person can act on.
    severity : {"error", "warning"}
    """

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        location = self.file
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        where = f" {self.path}:" if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{location}:{where} {prefix}{self.message}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


class SdtSurveyError(Exception):
    """Base class of errors caused by the user's input, not by a bug."""


class InstrumentError(SdtSurveyError):
    """An instrument definition could not be loaded.

    ``problems`` lists every problem found, each located in the file.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = [p for p in problems if p.severity == "error"]
        self.warnings: list[Problem] = [p for p in problems if p.severity == "warning"]
        super().__init__(self._message())

    def _message(self) -> str:
        if not self.problems:
            return "invalid instrument"
        lines = [str(p) for p in self.problems]
        noun = "problem" if len(lines) == 1 else "problems"
        return f"{len(lines)} {noun}:\n" + "\n".join(lines)


class DesignError(SdtSurveyError, ValueError):
    """A simulation design (or another set of parameters) that cannot be used."""


class UnknownParameterError(SdtSurveyError, TypeError):
    """A parameter name that does not exist (with a did-you-mean)."""
