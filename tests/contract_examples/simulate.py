"""Small real results of sdt_survey.simulate, for the contract test."""

from __future__ import annotations

from pathlib import Path

from sdt_survey.simulate import SimulationResult, simulate


def simulation_result(_: Path) -> SimulationResult:
    """A small messy simulation (its note says the faults are on purpose)."""
    result = simulate("program-belonging", seed=3, n_programs=2, residents_per_program=(6, 8), messy=True)
    assert result.notes
    return result


EXAMPLES = {"sdt_survey.simulate.result.SimulationResult": simulation_result}
