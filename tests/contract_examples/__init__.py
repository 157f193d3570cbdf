"""Examples of every result class, for the contract test (tests/test_result_contract.py).

Each module here defines ``EXAMPLES``: a mapping from a result class's
qualified name (``module.ClassName``, as ``f"{cls.__module__}.{cls.__qualname__}"``)
to a function of one argument, a temporary folder, that returns a small but
real instance of that class. Prefer an instance that carries at least one
note or warning, so the test can check they reach ``to_dict()`` and
``summary()``.

A new result class adds its example in the module of its area; the contract
test fails for any :class:`sdt_survey.results.Result` subclass without one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

Example = Callable[[Path], Any]


def all_examples() -> dict[str, Example]:
    """Every example from every module of this package."""
    examples: dict[str, Example] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, factory in getattr(module, "EXAMPLES", {}).items():
            if name in examples:
                raise AssertionError(f"two examples for {name}")
            examples[name] = factory
    return examples
