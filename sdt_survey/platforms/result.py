"""What an export wrote, and what the user must still do by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..results import Result


@dataclass
class ExportResult(Result):
    """What an export wrote, and what the user must still do by hand.

    Attributes
    ----------
    target : str
        The export target (``redcap``, ``pdf``, ...).
    paths : list of pathlib.Path
        Every file or folder written.
    survey : str
        The instruments and versions it was made from.
    warnings : list of str
        What the platform cannot hold as the instrument defines it.
    notes : list of str
        What to set by hand on the platform.
    """

    target: str
    paths: list[Path]
    survey: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "survey": self.survey,
            "paths": [str(p) for p in self.paths],
            "warnings": self.warnings,
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per file written: the target, the survey and the path."""
        import pandas as pd

        return pd.DataFrame(
            {"target": self.target, "survey": self.survey, "path": [str(p) for p in self.paths]},
            columns=["target", "survey", "path"],
        )

    def summary(self) -> str:
        lines = [f"{self.target}: {self.survey} -> {', '.join(str(p) for p in self.paths)}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
