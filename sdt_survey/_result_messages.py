"""A result's ``warnings`` and ``notes`` as its ``to_dict()`` and ``summary()`` show them.

Shared by the result classes whose ``to_dict()`` has a fixed shape: each key
appears only when it has something to say, so results without messages keep
the shape they always had.

Examples
--------
>>> class R:
...     warnings, notes = ("items were reversed",), ()
>>> message_fields(R()), message_lines(R())
({'warnings': ['items were reversed']}, ['warning: items were reversed'])
"""

from __future__ import annotations

from typing import Any


def message_fields(result: Any) -> dict[str, list[str]]:
    """``{"warnings": [...], "notes": [...]}``, each key only when the result has such messages."""
    out: dict[str, list[str]] = {}
    if result.warnings:
        out["warnings"] = list(result.warnings)
    if result.notes:
        out["notes"] = list(result.notes)
    return out


def message_lines(result: Any) -> list[str]:
    """One summary line per message: ``warning: ...`` then ``note: ...``."""
    return [f"warning: {w}" for w in result.warnings] + [f"note: {n}" for n in result.notes]


__all__ = ["message_fields", "message_lines"]
