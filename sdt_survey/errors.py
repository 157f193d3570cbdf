"""Error and warning types shared by every stage, in one place.

A :class:`SdtSurveyError` is a *user* error: bad input that the person running
the command can fix. The command-line interface prints its message and exits
with status 1, never a traceback. Anything else that escapes is a bug. Each
stage's errors subclass it here (and are importable from their stage's module
as before); the two that carry a report of every faulty row,
``ResponseValidationError`` and ``ContinuityError``, stay beside the reports
they format. Warnings subclass :class:`SdtSurveyWarning`; fits that stop
before converging or land on an improper solution warn with a
:class:`ConvergenceWarning`.
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


class StudyError(SdtSurveyError):
    """A study file (``study.yaml``) that cannot be used: ``problems`` lists each, located in the file."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        lines = [str(p) for p in self.problems]
        noun = "problem" if len(lines) == 1 else "problems"
        super().__init__(f"{len(lines)} {noun} in the study file:\n" + "\n".join(lines))


class DesignError(SdtSurveyError, ValueError):
    """A simulation design (or another set of parameters) that cannot be used."""


class UnknownParameterError(SdtSurveyError, TypeError):
    """A parameter name that does not exist (with a did-you-mean)."""


# ------------------------------------------------------------------ errors of each stage


class OutputError(SdtSurveyError):
    """An output that cannot be written safely (it exists, is an input, or has no folder)."""


class LedgerError(SdtSurveyError):
    """The ledger cannot be read or written, or the run conflicts with an earlier release."""


class KeyFileError(SdtSurveyError):
    """A pseudonymization key file that is missing, malformed, weak or shared."""


class ExpressionError(SdtSurveyError):
    """A ``show_if`` expression that cannot be parsed.

    ``offset`` is the 0-based character position of the problem.
    """

    def __init__(self, message: str, text: str, offset: int):
        self.text = text
        self.offset = offset
        self.reason = message
        super().__init__(f"{message} (at character {offset + 1} of {text!r})")


class ReliabilityError(SdtSurveyError, ValueError):
    """Data or settings a reliability coefficient cannot be computed from (said in plain words)."""


class ReliabilityKeyError(SdtSurveyError, KeyError):
    """Items named that the data do not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FactorAnalysisError(SdtSurveyError, ValueError):
    """Data that cannot be factor analysed as given (the message says why and what to do)."""


class ModelSyntaxError(SdtSurveyError, ValueError):
    """A model description that cannot be read, located at a line and column.

    Attributes
    ----------
    line, column : int
        1-based position of the problem in the model text.
    reason : str
        What is wrong, without the location.
    """

    def __init__(self, reason: str, line: int, column: int, source_line: str = ""):
        self.reason = reason
        self.line = line
        self.column = column
        self.source_line = source_line
        message = f"model syntax, line {line}, column {column}: {reason}"
        if source_line.strip():
            message += f"\n  {source_line}\n  {' ' * (column - 1)}^"
        super().__init__(message)


class CFAError(SdtSurveyError):
    """A CFA that cannot be run as asked (bad model, data or options), in plain words."""


class ModelFormulaError(SdtSurveyError, ValueError):
    """A model formula that cannot be parsed, or that MixedLM cannot express."""


class ModelFitError(SdtSurveyError):
    """A model that could not be fitted (every optimizer failed, or the data cannot identify it)."""


class JoinError(SdtSurveyError, ValueError):
    """Scores and exposure tables that cannot be joined as asked."""


class PowerError(SdtSurveyError, ValueError):
    """A power analysis that cannot be run as asked."""


# ------------------------------------------------------------------ warnings


class SdtSurveyWarning(UserWarning):
    """Base class of the package's warnings: results that need care, not errors."""


class ConvergenceWarning(SdtSurveyWarning):
    """An iterative fit that stopped before converging, or converged to an improper solution."""


class CFAWarning(ConvergenceWarning):
    """A fitted CFA whose results need care (non-convergence, Heywood case, ...)."""
