"""Monte-Carlo power (sdt_survey.power): seeds, designs, backends agree exactly.

Kept small: a few replicates of small designs. The Dask test starts an
in-process ``distributed.LocalCluster`` and is skipped only when the
``distributed`` package is not installed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sdt_survey.power import (
    PowerError,
    coc_from_schedule,
    design_for,
    power_analysis,
    power_formula,
    replicate_seeds,
    simulate_analysis_data,
)
from sdt_survey.simulate import simulate

SMALL = {"residents_per_program": 8, "n_waves": 1}


def _comparable(result) -> pd.DataFrame:
    """The replicate table without timings (which differ run to run)."""
    return result.replicates.drop(columns=["seconds"])


@pytest.fixture(scope="module")
def sequential():
    return power_analysis({"n_programs": [4, 6]}, n_replicates=3, seed=7, n_jobs=1, **SMALL)


def test_coc_from_schedule_matches_simulator_truth():
    sim = simulate("bpn-residency", seed=3, design=design_for({"n_programs": 3, "residents_per_program": 10}))
    coc = coc_from_schedule(sim.schedule)
    truth = sim.truth.continuity.set_index("resident")["coc"]
    np.testing.assert_allclose(coc.reindex(truth.index), truth, atol=1e-12)


def test_design_for_maps_icc_effect_and_cohort():
    design = design_for(
        {
            "n_programs": 5,
            "residents_per_program": (10, 20),
            "icc": 0.16,
            "effect": 0.25,
            "cohort_effect": 0.1,
            "n_waves": 2,
            "attrition": 0.1,
        }
    )
    assert design.program_sd == {"relatedness_satisfaction": pytest.approx(0.4)}
    assert design.clinic_sd == {}
    assert design.continuity_effects == {"relatedness_satisfaction": 0.25}
    assert design.pgy_effects == {"relatedness_satisfaction": 0.1}
    assert design.residents_per_program == (10, 20) and design.n_waves == 2 and design.attrition == 0.1
    with pytest.raises(PowerError, match="unknown power parameter"):
        design_for({"n_programmes": 3})
    with pytest.raises(PowerError, match="icc must be"):
        design_for({"icc": 1.5})


def test_impossible_cell_fails_before_any_work():
    with pytest.raises(PowerError, match="grid cell"):
        power_analysis({"icc": [0.6], "effect": [0.9]}, n_replicates=2, n_jobs=1)
    with pytest.raises(PowerError, match="non-empty list"):
        power_analysis({"n_programs": []}, n_replicates=2, n_jobs=1)
    with pytest.raises(PowerError, match="both in the grid"):
        power_analysis({"n_programs": [3]}, n_replicates=2, n_jobs=1, n_programs=4)


def test_analysis_data_and_formula():
    data = simulate_analysis_data({"n_programs": 3, "residents_per_program": 6, "n_waves": 2}, seed=5)
    assert list(data.columns) == ["resident", "program", "pgy", "wave", "relatedness_satisfaction", "coc"]
    assert set(data["wave"]) == {1.0, 2.0}
    assert data["coc"].between(0, 1).all()
    assert power_formula(1).endswith("(1|program)")
    assert power_formula(2).endswith("(1|program/resident)")


def test_replicate_seeds_spawned_per_cell_and_replicate():
    seeds = replicate_seeds(7, 2, 3)
    assert seeds == replicate_seeds(7, 2, 3)
    assert len({s for cell in seeds for s in cell}) == 6
    assert replicate_seeds(7, 2, 4)[0][:3] == seeds[0]  # more replicates extend, never reshuffle


def test_power_table(sequential):
    table = sequential.table
    assert list(table["n_programs"]) == [4, 6]
    assert (table["n_replicates"] == 3).all()
    assert (table["n_fitted"] + table["n_failed"] == 3).all()
    for _, row in table.iterrows():
        p = row["power"]
        assert 0 <= p <= 1
        assert row["power_mcse"] == pytest.approx(math.sqrt(p * (1 - p) / row["n_fitted"]))
    reps = sequential.replicates
    assert len(reps) == 6 and list(reps["replicate"]) == [0, 1, 2, 0, 1, 2]
    assert reps["seed"].tolist() == [s for cell in replicate_seeds(7, 2, 3) for s in cell]
    assert sequential.settings["backend"] == "sequential"
    d = sequential.to_dict()
    assert d["table"][0]["n_programs"] == 4 and d["settings"]["seed"] == 7
    assert "Monte-Carlo power" in sequential.summary()


def test_same_seed_same_results_and_other_seed_differs(sequential):
    again = power_analysis({"n_programs": [4, 6]}, n_replicates=3, seed=7, n_jobs=1, **SMALL)
    pd.testing.assert_frame_equal(_comparable(again), _comparable(sequential))
    other = power_analysis({"n_programs": [4, 6]}, n_replicates=3, seed=8, n_jobs=1, **SMALL)
    assert not np.allclose(other.replicates["estimate"], sequential.replicates["estimate"])


def test_joblib_matches_sequential(sequential):
    parallel = power_analysis({"n_programs": [4, 6]}, n_replicates=3, seed=7, n_jobs=2, chunk_size=2, **SMALL)
    assert parallel.settings["backend"].startswith("joblib")
    pd.testing.assert_frame_equal(_comparable(parallel), _comparable(sequential))


def test_dask_matches_local(sequential):
    distributed = pytest.importorskip("distributed", reason="distributed is not installed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = power_analysis(
            {"n_programs": [4, 6]}, n_replicates=3, seed=7, dask_scheduler=cluster.scheduler_address, **SMALL
        )
    assert result.settings["backend"] == "dask"
    pd.testing.assert_frame_equal(_comparable(result), _comparable(sequential))
    pd.testing.assert_frame_equal(
        result.table.drop(columns="seconds"), sequential.table.drop(columns="seconds")
    )


def test_plot_and_lrt(tmp_path):
    result = power_analysis(
        {"n_programs": [4], "effect": [0.0, 0.5]}, n_replicates=2, seed=1, n_jobs=1, test="lrt", **SMALL
    )
    assert result.settings["test"] == "lrt"
    assert list(result.table["effect"]) == [0.0, 0.5]
    path = result.plot(tmp_path / "power.png")
    assert path.stat().st_size > 1000
    assert result.plot(tmp_path / "cohort.svg", x="effect", y="power_cohort").stat().st_size > 1000


def test_waves_power_fits_nested_model():
    result = power_analysis(
        {"n_waves": [2]}, n_replicates=2, seed=2, n_jobs=1, n_programs=4, residents_per_program=8
    )
    assert result.table["n_fitted"].iloc[0] == 2
    assert (result.replicates["n_obs"] > 32).all()  # both waves are in the model


def test_whole_instrument_can_be_simulated():
    result = power_analysis(
        {"n_programs": [3]}, n_replicates=1, seed=4, n_jobs=1, outcome_only=False, **SMALL
    )
    assert result.settings["outcome_only"] is False
    assert result.table["n_fitted"].iloc[0] == 1
