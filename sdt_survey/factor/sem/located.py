"""The error for a model statement: located in the syntax when it was written, else plain."""

from __future__ import annotations

from typing import Protocol

from ...errors import CFAError, ModelSyntaxError


class _Written(Protocol):
    line: int
    column: int


def located_error(message: str, statement: _Written) -> Exception:
    """A :class:`ModelSyntaxError` at the statement's line and column (a CFAError if built in code).

    Examples
    --------
    >>> from sdt_survey.factor.sem.syntax import Statement
    >>> type(located_error("no", Statement("f", "=~", "x"))).__name__
    'CFAError'
    """
    if statement.line:
        return ModelSyntaxError(message, statement.line, statement.column)
    return CFAError(message)
