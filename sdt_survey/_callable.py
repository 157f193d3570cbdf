"""Let a stage module also be called as its main function.

The Python API promises both ``sdt_survey.reliability(...)`` (the whole job)
and ``from sdt_survey import reliability; reliability.alpha(...)`` (its
parts). A module whose class gains ``__call__`` serves both without a second
name for either.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any


def make_module_callable(
    module_name: str, function: Callable[..., Any], *, deprecated: str | None = None
) -> None:
    """Calling the module ``module_name`` calls ``function`` with the same arguments.

    With ``deprecated`` (the message), each call first warns with a :class:`DeprecationWarning`
    that points at the caller.
    """

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if deprecated is not None:
                warnings.warn(deprecated, DeprecationWarning, stacklevel=2)
            return function(*args, **kwargs)

    CallableModule.__call__.__doc__ = function.__doc__
    sys.modules[module_name].__class__ = CallableModule
