"""Small real results of sdt_survey.continuity, for the contract test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sdt_survey.continuity import ContinuityResult, continuity_indices


def continuity_result(_: Path) -> ContinuityResult:
    """Two learners' sessions, one row duplicated (a warning) and a note on the window."""
    schedule = pd.DataFrame(
        {
            "learner": ["r1"] * 5 + ["r2"] * 2 + ["r1"],
            "faculty": ["A", "A", "B", "A", "C", "D", "E", "A"],
            "date": ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22", "2025-07-29",
                     "2025-07-02", "2025-07-09", "2025-07-01"],
        }
    )  # fmt: skip
    result = continuity_indices(schedule, window="academic-year")
    assert result.warnings
    return result


EXAMPLES = {"sdt_survey.continuity.result.ContinuityResult": continuity_result}
