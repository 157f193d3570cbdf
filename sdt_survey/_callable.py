"""Let a stage module also be called as its main function.

The Python API promises both ``sdt_survey.reliability(...)`` (the whole job)
and ``from sdt_survey import reliability; reliability.alpha(...)`` (its
parts). A module whose class gains ``__call__`` serves both without a second
name for either.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any


def make_module_callable(
    module_name: str, function: Callable[..., Any] | str, *, deprecated: str | None = None
) -> None:
    """Calling the module ``module_name`` calls ``function`` with the same arguments.

    ``function`` may be the name of one of the module's attributes, looked up
    at the call (a package whose names are imported on first use,
    :mod:`sdt_survey._lazy`). With ``deprecated`` (the message), each call
    first warns with a :class:`DeprecationWarning` that points at the caller.
    """
    module = sys.modules[module_name]

    class CallableModule(type(module)):  # keeps a lazy package's class (sdt_survey._lazy)
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if deprecated is not None:
                warnings.warn(deprecated, DeprecationWarning, stacklevel=2)
            target = getattr(self, function) if isinstance(function, str) else function
            return target(*args, **kwargs)

    if not isinstance(function, str):
        CallableModule.__call__.__doc__ = function.__doc__
    module.__class__ = CallableModule
