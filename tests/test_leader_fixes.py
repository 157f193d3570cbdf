"""Issue 14, section 3: what a new user hit in the leader-facing commands (cohorts, report), each fixed.

Each test here fails on the code before the fix.
"""

from __future__ import annotations

import json
import re
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


# ------------------------------------------------------------------ (c) grouping by an answered question

PGY_ITEM = (
    "  - {id: pgy, text: Year of training, type: single, choices: "
    "[{value: 1, label: PGY 1}, {value: 2, label: PGY 2}, {value: 3, label: PGY 3}]}\n"
)


@pytest.fixture
def mini_with_pgy(tmp_path):
    from privacy_support import MINI

    text = MINI.replace("subscales:\n", PGY_ITEM + "subscales:\n", 1)
    path = tmp_path / "mini-pgy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _answered_pgy(tmp_path):
    frame = make_people([(12, {"pgy": 1}), (15, {"pgy": 2}), (9, {"pgy": 3}), (2, {"pgy": None})], seed=5)
    frame = frame.assign(wave=1)
    path = tmp_path / "answers.csv"
    frame.to_csv(path, index=False)
    return path


def test_cohorts_group_by_an_answered_question_labelled_by_its_choices(mini_with_pgy, tmp_path):
    path = _answered_pgy(tmp_path)
    report = cohort_summary(str(mini_with_pgy), path, id_column="resident_key", by=["pgy"], invariance=False)
    rows = report.to_dict()["rows"]
    assert {r["group"]["pgy"] for r in rows} == {"all", "PGY 1", "PGY 2", "PGY 3", "(missing)"}
    missing = [r for r in rows if r["group"]["pgy"] == "(missing)"]
    assert all(r["suppressed"] and r["n"] is None for r in missing)  # 2 respondents: privacy unchanged
    assert "ZQX" not in json.dumps(report.to_dict()) and "Secretname" not in json.dumps(report.to_dict())


def test_cohorts_by_an_answered_question_on_the_command_line(mini_with_pgy, tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli

    path = _answered_pgy(tmp_path)
    args = ["cohorts", str(mini_with_pgy), str(path), "--id-column", "resident_key", "--by", "pgy"]
    result = CliRunner().invoke(cli, [*args, "--no-ledger", "--no-invariance", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "PGY 2" in result.output


def test_a_free_text_question_still_cannot_group(mini):
    frame = make_people([(10, {"program": "P1"}), (10, {"program": "P2"})]).assign(wave=1)
    with pytest.raises(SdtSurveyError, match="'comment' is a text item"):
        cohort_summary(mini, frame, id_column="resident_key", by=["comment"], invariance=False)


# ------------------------------------------------------------------ (d) the report names what was given


def test_the_report_title_comes_from_the_instruments_or_title(mini, tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli
    from sdt_survey.report import build_report

    frame = make_people([(12, {"program": "P1"}), (12, {"program": "P2"})]).assign(wave=1)
    report = build_report(mini, frame, id_column="resident_key", by=["program"], ledger=None)
    assert report.content["header"]["title"] == "Mini needs: survey report"
    assert "Basic psychological needs" not in report.to_html()
    path = tmp_path / "answers.csv"
    frame.to_csv(path, index=False)
    instrument = tmp_path / "mini.yaml"
    from privacy_support import MINI

    instrument.write_text(MINI, encoding="utf-8")
    out = tmp_path / "out" / "report.html"
    args = ["report", str(instrument), "--responses", str(path), "--id-column", "resident_key"]
    result = CliRunner().invoke(
        cli, [*args, "--title", "Clinic survey, spring", "--no-ledger", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    header = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["header"]
    assert header["title"] == "Clinic survey, spring"
    assert header["command"].startswith("sdt-survey report mini.yaml --responses answers.csv")
    assert "--title 'Clinic survey, spring'" in header["command"]
    assert "<h1>Clinic survey, spring</h1>" in out.read_text(encoding="utf-8")


def test_the_continuity_section_names_the_modelled_score_in_plain_terms():
    from sdt_survey.report import build_report
    from sdt_survey.simulate import simulate

    data = simulate("bpn-residency", seed=4, n_programs=6, residents_per_program=(20, 20), n_waves=1)
    report = build_report(
        "bpn-residency",
        data.responses,
        id_column="resident",
        schedule=data.schedule,
        schedule_options={"assigned_column": "assigned"},  # the time column: the simulator's, by default
        formula="competence_satisfaction ~ coc + C(cohort) + (1|program)",
        ledger=None,
    )
    section = report.sections["continuity"]
    assert section["status"] == "ok", section["reason"]
    assert "competence satisfaction" in section["explanation"].lower()
    assert "belonging" not in section["explanation"]
    terms = [f["term"] for f in section["data"]["model"]["fixed"]]
    assert "continuity (spline term 1)" in terms and "cohort 2024 (vs. the first level)" in terms
    table = re.search(r'<table class="fixed">.*?</table>', report.to_html(), re.S).group(0)
    assert "continuity (spline term 1)" in table
    assert "cr(coc" not in table and "[T." not in table and "(Intercept)" not in table


# ------------------------------------------------------------------ (f) one default time column


def test_the_simulators_schedule_is_read_with_every_commands_default_time_column(tmp_path):
    from sdt_survey.continuity import TIME_COLUMN, continuity_indices
    from sdt_survey.simulate import simulate

    data = simulate("bpn-residency", seed=2, n_programs=2, residents_per_program=(8, 8), n_waves=1)
    assert TIME_COLUMN in data.schedule.columns
    result = continuity_indices(data.schedule, learner_column="resident")
    assert result.n_sessions == len(data.schedule)
    # a schedule with the earlier default column name is still read
    older = data.schedule.rename(columns={TIME_COLUMN: "date"})
    assert continuity_indices(older, learner_column="resident").n_sessions == len(data.schedule)


def test_the_invariance_command_takes_the_groups_in_sorted_order(tmp_path):
    """Rows whose first group is PGY 3: the reference is still PGY 1, and the result says so."""
    import pandas as pd

    from sdt_survey.factor import instrument_invariance
    from sdt_survey.simulate import simulate

    data = simulate("bpn-residency", seed=3, n_programs=8).responses
    data = data[data["wave"] == 1].sort_values("pgy", ascending=False, kind="stable")
    path = tmp_path / "wave.csv"
    data.to_csv(path, index=False)
    assert pd.read_csv(path)["pgy"].iloc[0] == 3
    result = instrument_invariance("bpn-residency", path, "pgy", id_column="resident")
    assert str(result.reference) == "1"
    assert "reference group 1" in result.summary()
