"""Old import paths that keep working after a module moved.

When a module moves (issue 13 gave the package its layered tree), its old
path stays importable as a small module whose attributes come, on first use,
from the new place, with a :class:`DeprecationWarning` that names it::

    # sdt_survey/models.py
    \"\"\"Deprecated: moved to :mod:`sdt_survey.mixed`.\"\"\"
    from ._deprecation import moved

    __getattr__, __dir__ = moved(__name__, "sdt_survey.mixed")

The new module is imported lazily, so an old path never makes a lower layer
import a higher one when the package loads.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved(old: str, new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that forward ``old``'s names to module ``new``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(new)
        try:
            value = getattr(target, name)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r} (it moved to {new!r})") from None
        warnings.warn(
            f"{old}.{name} moved to {new}.{name}; the old path will be removed in a later release",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    def __dir__() -> list[str]:
        return sorted(n for n in dir(importlib.import_module(new)) if not n.startswith("_"))

    return __getattr__, __dir__


def alias_module(old: str, new: str) -> None:
    """Make ``import old`` (and ``from old import name``) work, forwarding to ``new``.

    For an old module path whose last part is now the name of a *function*
    of its package (``sdt_survey.factor.efa`` is the function :func:`efa`):
    a shim file there would, when first imported, replace the package's
    function with the module. A module object placed in ``sys.modules``
    answers the import without touching the package's attributes.
    """
    import sys
    import types

    module = types.ModuleType(old, f"Deprecated: moved to {new}.")
    module.__getattr__, module.__dir__ = moved(old, new)  # type: ignore[method-assign]
    sys.modules.setdefault(old, module)
