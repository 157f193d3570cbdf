"""Small real results of sdt_survey.power, for the contract test."""

from __future__ import annotations

from pathlib import Path

from sdt_survey.power import PowerResult, power_analysis


def power_result(_: Path) -> PowerResult:
    """Two cells of two replicates each: the smallest grid that is still a grid (with its note)."""
    result = power_analysis({"n_programs": [4, 5]}, n_replicates=2, seed=7, n_jobs=1, residents_per_program=8)
    assert result.notes
    return result


EXAMPLES = {"sdt_survey.power.PowerResult": power_result}
