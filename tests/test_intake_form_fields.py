"""Intake of the form fields: non-substantive answers, slider answers, identifier items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.responses import ResponseValidationError, responses_from_frame, validate_responses

FIXTURE = Path(__file__).parent / "fixtures" / "form-fields.yaml"
KEY = "ab" * 32


@pytest.fixture()
def inst():
    return sdt_survey.load_instrument(FIXTURE)


def _frame(**changes):
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "email": ["x@example.org", "z@example.org", None, "q@example.com"],
            "q1": [4, 8, "Don't know", 2],
            "q2": [2, 1, 9, 3],
            "energy": [50, 55, 100, 5],
            "pace": [0.5, 10, 3, 2.5],
            "site": ["north-wing", "dont-know", "south.wing", None],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_nonsubstantive_answers_are_missing_with_their_reason(inst):
    clean = validate_responses(responses_from_frame(_frame(), [inst]), [inst], id_column="id")
    assert clean.reasons.count("dont_know", "q1").tolist() == [0, 1, 1, 0]
    assert clean.reasons.count("refused", "q2").tolist() == [0, 0, 1, 0]
    assert np.isnan(clean.values.loc[[1, 2], "q1"]).all()
    issues = clean.report.issues
    lines = issues[issues["problem"] == "nonsubstantive"]
    assert len(lines) == 3 and set(lines["severity"]) == {"info"}
    assert set(lines["action"]) == {"set to missing"}
    assert clean.invalid_count.sum() == 0
    assert "missing as dont_know" in lines["message"].iloc[0]


def test_scores_treat_nonsubstantive_answers_as_missing(inst):
    scored = sdt_survey.score(inst, _frame(), id_column="id")
    # interest = mean(q1, 6 - q2), both needed: rows b and c lack q1.
    assert scored.scores["interest"].tolist()[0] == (4 + 4) / 2
    assert np.isnan(scored.scores["interest"].iloc[1]) and np.isnan(scored.scores["interest"].iloc[2])
    assert scored.scores["interest"].iloc[3] == (2 + 3) / 2
    # vigor = mean(energy, pace), min_valid 1: the slider scores as its number.
    assert scored.scores["vigor"].tolist() == [25.25, 32.5, 51.5, 3.75]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("energy", 7, "off_step"),
        ("pace", 2.25, "off_step"),
        ("energy", 105, "out_of_range"),
        ("pace", -0.5, "out_of_range"),
        ("energy", "lots", "not_numeric"),
    ],
)
def test_a_slider_answer_off_range_or_off_step_is_invalid(inst, column, value, problem):
    frame = _frame()
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = value
    with pytest.raises(ResponseValidationError) as caught:
        sdt_survey.score(inst, frame, id_column="id")
    errors = caught.value.report.errors
    assert errors[["item", "problem"]].values.tolist() == [[column, problem]]
    scored = sdt_survey.score(inst, frame, id_column="id", invalid="as-missing")
    assert scored.scores["n_invalid"].tolist() == [0, 0, 0, 1]


def test_whole_step_sliders_take_a_numeric_column_whole(inst):
    frame = _frame(energy=[0.0, 5.0, 100.0, np.nan])
    scored = sdt_survey.score(inst, frame, id_column="id")
    assert scored.items["energy"].iloc[:3].tolist() == [0.0, 5.0, 100.0]


def test_identifier_items_never_reach_the_scores(inst):
    scored = sdt_survey.score(inst, _frame(), id_column="id", include_items=True)
    text = scored.scores.to_csv() + scored.items.to_csv() + scored.report.issues.to_csv()
    assert "example.org" not in text and "example.com" not in text
    assert "email" not in scored.scores.columns and "email" not in scored.items.columns
    assert (
        "email"
        in scored.report.issues.loc[scored.report.issues["problem"] == "identifier_dropped", "item"].tolist()
    )


def test_identifier_values_stay_out_of_error_reports(inst):
    frame = _frame(energy=[50, 55, 100, 7])
    frame.loc[2, "email"] = "unique@example.org"
    with pytest.raises(ResponseValidationError) as caught:
        sdt_survey.score(inst, frame, id_column="id")
    assert "example.org" not in caught.value.report.issues.to_csv()


def test_identifier_items_are_pseudonymized_with_the_key(inst, tmp_path):
    key = tmp_path / "key.txt"
    sdt_survey.keygen(key)
    scored = sdt_survey.score(inst, _frame(), id_column="id", pseudonymize_key=key)
    again = sdt_survey.score(inst, _frame(), id_column="id", pseudonymize_key=key)
    pseudonyms = scored.scores["email"]
    assert pseudonyms.iloc[2] is None
    assert all(len(p) == 32 for p in pseudonyms.iloc[[0, 1, 3]])
    assert pseudonyms.tolist() == again.scores["email"].tolist()
    assert "example" not in scored.scores.to_csv()
    line = scored.report.issues[scored.report.issues["problem"] == "identifier_dropped"]
    assert line["action"].tolist() == ["pseudonymized"]


def test_a_deidentified_export_without_the_identifier_column_reads(inst):
    # REDCap's de-identified export leaves out the fields flagged Identifier? = y.
    frame = _frame().drop(columns=["email"])
    scored = sdt_survey.score(inst, frame, id_column="id")
    assert scored.report.errors.empty
    assert "drift_missing_item" not in set(scored.report.issues["problem"])
    assert scored.scores["interest"].iloc[0] == 4.0
    line = scored.report.issues[scored.report.issues["problem"] == "identifier_dropped"]
    assert line["action"].tolist() == ["absent"]
    assert "not in the file" in line["message"].iloc[0]


def test_score_columns_a_platform_computed_are_computed_again(inst):
    # An export with --with-scores carries the platform's own score columns.
    frame = _frame()
    frame["interest"] = ["9", "9", "9", "9"]
    scored = sdt_survey.score(inst, frame, id_column="id")
    assert scored.scores["interest"].iloc[0] == 4.0
    assert any("computed again" in note for note in scored.notes)
