"""Issue 14, section 3: what a new user hit in the leader-facing commands (cohorts, report), each fixed.

Each test here fails on the code before the fix.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from privacy_support import make_people

from sdt_survey.cohorts import cohort_summary
from sdt_survey.errors import SdtSurveyError

# ------------------------------------------------------------------ (a) reserved group labels


def test_blank_group_values_join_the_missing_group(mini, tmp_path):
    frame = make_people([(10, {"program": "P1"}), (10, {"program": "P2"}), (6, {"program": None})])
    frame["program"] = frame["program"].astype(object)
    frame.loc[frame["program"].isna(), "program"] = ["", " ", "", "  ", "", ""]
    path = tmp_path / "responses.csv"
    frame.assign(wave=1).to_csv(path, index=False)
    for source in (frame.assign(wave=1), path):
        report = cohort_summary(mini, source, id_column="resident_key", by=["program"], invariance=False)
        groups = {r["group"]["program"] for r in report.to_dict()["rows"]}
        assert groups == {"all", "P1", "P2", "(missing)"}


@pytest.mark.parametrize("value", ["all", "All", "ALL", " all ", "(missing)", "(Missing)"])
def test_a_value_equal_to_a_reserved_label_is_refused_in_any_case(mini, value):
    frame = make_people([(10, {"program": "P1"}), (10, {"program": value})]).assign(wave=1)
    with pytest.raises(SdtSurveyError, match=r"reads as the report's label '(all|\(missing\))'") as info:
        cohort_summary(mini, frame, id_column="resident_key", by=["program"], invariance=False)
    assert "'program'" in str(info.value) and "rename" in str(info.value)


# ------------------------------------------------------------------ (b) and (e) the invariance statement


def _fake_engine(monkeypatch, conclusion, calls):
    module = types.ModuleType("sdt_survey.factor.sem.invariance")

    class Result:
        def __init__(self, data, group):
            self.data, self.group = data, group

        def to_dict(self):
            return {
                "group": self.group,
                "groups": {},
                "steps": [],
                "comparisons": [],
                "conclusion": conclusion,
            }

    def measurement_invariance(data, model, group, **kwargs):
        calls.append((data.copy(), group, kwargs))
        return Result(data, group)

    module.measurement_invariance = measurement_invariance
    monkeypatch.setitem(sys.modules, "sdt_survey.factor.sem.invariance", module)


def _pgy_groups():
    # PGY 3 first in the file and too small to test; PGY 10 and PGY 2 large enough
    spec = [(14, {"pgy": 3}), (120, {"pgy": 10}), (120, {"pgy": 2})]
    return make_people(spec, seed=2).assign(wave=1)


def test_only_tested_groups_are_called_comparable_and_labels_do_not_read_as_counts(mini, monkeypatch):
    calls = []
    _fake_engine(monkeypatch, "strict invariance holds", calls)
    report = cohort_summary(mini, _pgy_groups(), id_column="resident_key", by=["pgy"])
    (check,) = report.invariance["checks"]
    statement = check["statement"]
    assert check["comparable_groups"] == [2, 10]
    assert check["groups_too_small"] == [3]
    assert "pgy 2 and 10" in statement
    assert "not tested, so not comparable: pgy 3 (fewer than the 100 respondents needed)" in statement
    assert "too few respondents: 3" not in statement


def test_the_invariance_reference_group_is_the_first_in_natural_order_and_reported(mini, monkeypatch):
    calls = []
    _fake_engine(monkeypatch, "scalar", calls)
    report = cohort_summary(mini, _pgy_groups(), id_column="resident_key", by=["pgy"])
    (check,) = report.invariance["checks"]
    assert check["reference_group"] == 2
    assert "(reference group: pgy 2)" in check["statement"]
    (_, _, kwargs) = calls[0]
    assert kwargs["group_order"] == ["2", "10"]


def test_the_engine_orders_groups_naturally_or_by_declared_levels():
    from sdt_survey.factor.sem import measurement_invariance

    rng = np.random.default_rng(3)
    f = rng.normal(size=(600, 1))
    data = pd.DataFrame(f * 0.8 + rng.normal(size=(600, 3)) * 0.6, columns=["a", "b", "c"])
    data["pgy"] = np.repeat(["PGY 10", "PGY 2", "PGY 1"], 200)
    model = "F =~ a + b + c"
    steps = ("configural", "metric")
    assert measurement_invariance(data, model, "pgy", steps=steps).reference == "PGY 10"  # lavaan's order
    result = measurement_invariance(data, model, "pgy", steps=steps, group_order="sorted")
    assert list(result.groups) == ["PGY 1", "PGY 2", "PGY 10"] and result.reference == "PGY 1"
    assert "reference group PGY 1" in result.summary()
    declared = data.assign(pgy=pd.Categorical(data["pgy"], ["PGY 2", "PGY 10", "PGY 1"], ordered=True))
    assert (
        measurement_invariance(declared, model, "pgy", steps=steps, group_order="sorted").reference == "PGY 2"
    )
