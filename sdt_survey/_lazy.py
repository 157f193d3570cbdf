"""Public names of a package imported on first use (PEP 562), so start-up stays cheap.

A package's ``__init__`` lists where each public name lives instead of
importing it::

    # sdt_survey/factor/__init__.py
    from .._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, {"cfa": ".sem", "efa": ".exploratory"})

``from sdt_survey.factor import cfa`` then imports the SEM engine and nothing
else; ``import sdt_survey.factor`` imports no numerical library at all. Every
name stays importable, listed by ``dir()`` and in ``__all__``. The map holds
module paths as text, so the architecture test sees no import in it.

A public name may be the name of a submodule too (``sem.ordinal_invariance``
is a function and a module): importing the module would make the package's
attribute the module. The package's module class ignores that one assignment,
so the name always answers with what the map says.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose mapped public names are never replaced by a submodule of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if (
            isinstance(value, types.ModuleType)
            and name in exports
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import ``package``'s public names on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Public name to the module that defines it, relative to ``package``
        (``".sem.fitting"``) or absolute; ``"module:other"`` when the module
        calls it ``other``.
    submodules : iterable of str
        Submodules reachable as attributes without an import of their own
        (``sdt_survey.factor.rotation``).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` for the package's namespace.

    Examples
    --------
    >>> import types
    >>> pkg = types.ModuleType("demo_pkg")
    >>> pkg.__getattr__, pkg.__dir__ = lazy_exports("demo_pkg", {"sqrt": "math"})
    >>> pkg.__getattr__("sqrt")(4.0)
    2.0
    """
    exports = dict(exports)
    submodules = tuple(submodules)
    module = sys.modules.get(package)
    if module is not None and type(module) is types.ModuleType:
        module.__class__ = _LazyPackage
    if module is not None:
        module.__dict__["_lazy_exports"] = exports

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(where, package), attribute or name)
        owner = sys.modules.get(package)
        if owner is not None:
            owner.__dict__[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        owner = sys.modules.get(package)
        present = owner.__dict__ if owner is not None else {}
        return sorted(set(present) | set(exports) | set(submodules))

    return __getattr__, __dir__
