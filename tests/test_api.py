"""The top-level Python API promised in the README and the issues."""

from __future__ import annotations

import sdt_survey


def test_simulate_and_reliability_are_callable_and_keep_their_parts(tmp_path):
    result = sdt_survey.simulate("bpn-residency", seed=11, n_programs=3)
    assert {"responses", "schedule", "truth"} <= set(vars(result))
    assert sdt_survey.simulate.SimulationDesign().n_programs == 14
    path = result.write(tmp_path)[1]  # wave 1
    report = sdt_survey.reliability("bpn-residency", path, id_column="resident")
    assert report.to_dict()["instrument"] == "bpn-residency 1.0.0"
    assert callable(sdt_survey.reliability.alpha)


def test_public_names():
    for name in (
        "load_instrument",
        "bundled_instruments",
        "read_responses",
        "score",
        "export_survey",
        "simulate",
        "reliability",
    ):
        assert hasattr(sdt_survey, name), name
