"""Real public platform files (tests/data/real; licences in SOURCES.md), read and checked as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdt_survey
from sdt_survey.platforms.redcap import check_dictionary, event_order, read_dictionary

REAL = Path(__file__).parent / "data" / "real"
INSTRUMENTS = REAL / "instruments"
DICTIONARIES = sorted(p.name for p in (REAL / "redcap").glob("*dictionary.csv") if "refused" not in p.name)


@pytest.mark.parametrize("name", DICTIONARIES)
def test_every_real_redcap_dictionary_checks_with_no_errors(name):
    problems = check_dictionary(read_dictionary(REAL / "redcap" / name))
    assert problems.errors == [], problems.errors


def test_what_redcap_merely_warns_about_is_a_warning():
    problems = check_dictionary(read_dictionary(REAL / "redcap" / "reconstructed_wellbeing_dictionary.csv"))
    assert problems.errors == []
    assert len(problems.warnings) == 3
    assert "warning: the name is 44 characters long" in problems.warnings[0]
    assert "warning: [ae_onset_days] is not a field defined before this one" in problems.warnings[2]
    longitudinal = check_dictionary(read_dictionary(REAL / "redcap" / "redcapr_longitudinal_dictionary.csv"))
    assert longitudinal.warnings == [
        "row 29: field 'next_of_kin_contact_address': warning: the name is 27 characters long; "
        "REDCap accepts up to 100 but warns above 26"
    ]


def test_the_check_still_catches_what_redcap_refuses():
    problems = check_dictionary(read_dictionary(REAL / "redcap" / "cypress_refused_dictionary.csv"))
    assert problems.errors == [
        "row 7: field 'required_2': the field label is empty",
        "row 7: field 'required_2': a choice field needs choices ('code, label | code, label')",
        "row 8: field 'name': duplicate field name (first at row 3)",
        "row 8: field 'name': form 'text_validation' continues after another form; "
        "the fields of a form must be contiguous",
    ]
    frame = read_dictionary(REAL / "redcap" / "reconstructed_wellbeing_dictionary.csv")
    logic = "Branching Logic (Show field only if...)"
    for bad, message in [
        ("[nope] = '1'", "[nope] is not a field of this dictionary"),
        ("[user-nmae] <> ''", "[user-nmae] is not a field or a REDCap smart variable"),
        ("frobnicate([wb1]) > 1", "unknown function 'frobnicate'"),
        ("[wb1] = '1' xor [wb2] = '1'", "unexpected 'xor'"),
    ]:
        changed = frame.copy()
        changed.loc[6, logic] = bad
        assert any(message in p for p in check_dictionary(changed).errors), (bad, check_dictionary(changed))
    changed = frame.copy()
    changed.loc[0, "Variable / Field Name"] = "x" * 101
    assert any("REDCap's limit is 100" in p for p in check_dictionary(changed).errors)


def score(instrument: str, export: str, **options):
    return sdt_survey.score(str(INSTRUMENTS / f"{instrument}.yaml"), str(REAL / export), **options)


def problems(scored) -> dict[str, int]:
    return scored.report.to_frame().groupby("problem").size().to_dict()


def test_redcap_single_option_checkbox_and_comma_decimals():
    scored = score("consent", "redcap/reconstructed_wellbeing_export.csv", include_items=True)
    # consent___1 holds 0/1: 1 ticked, 0 unticked (nothing ticked: unanswered, as with any checkbox)
    assert scored.items["consent"].tolist()[:2] == ["1", "1"] and scored.items["consent"].isna().sum() == 1
    assert problems(scored).get("unknown_choice") is None and "drift_choices" not in problems(scored)
    notes = " ".join(scored.notes)
    assert "column 'temperature_c': 4 number(s) written with a decimal comma" in notes
    comma = score("decimal-comma", "redcap/redcapr_decimal_comma_data.csv", include_items=True)
    assert comma.items["height_comma"].tolist() == [1.54, 1.84, 1.95, 1.61]
    assert "not_numeric" not in problems(comma)
    api = score("redcapapi-fields", "redcap/redcapapi_records.csv", include_items=True)
    assert api.items["number_1dp_comma_test"].dropna().tolist()[:2] == [36.5, 12.4]


def test_repeating_instrument_rows_are_not_empty_rows():
    scored = score("lab-values", "redcap/redcapr_repeating_data.csv")
    assert len(scored.scores) == 36
    assert "empty_row" not in problems(scored)
    assert scored.summary().splitlines()[0] == (
        "Scored 36 responses of 3 respondents (3 values of redcap_event_name; repeating instances 1 to 4) "
        "on lab-values 1.0.0"
    )
    assert any(
        "36 rows hold other REDCap forms" in n and "27 of repeating instrument 'medication'" in n
        for n in scored.notes
    )


def test_events_without_the_form_are_set_aside_and_a_designated_empty_form_stays():
    scored = score("wellbeing", "redcap/reconstructed_wellbeing_export.csv")
    assert len(scored.scores) == 9
    assert problems(scored)["empty_row"] == 1  # record 2 at month 12: form designated (complete 0), empty
    assert scored.summary().splitlines()[0].startswith("Scored 9 responses of 3 respondents")
    longitudinal = score("observed-behavior", "redcap/redcapr_longitudinal_data.csv")
    assert longitudinal.id_column == "study_id"  # the project's record id, as the file names it
    assert len(longitudinal.scores) == 6 and "empty_row" not in problems(longitudinal)


def test_events_in_the_projects_order_not_alphabetical():
    import pandas as pd

    frame = pd.read_csv(REAL / "redcap" / "reconstructed_wellbeing_export.csv", dtype=str)
    assert event_order(frame, "redcap_event_name") == [
        "screening_arm_1",
        "baseline_arm_1",
        "month_6_arm_1",
        "month_12_arm_1",
    ]
    frame = pd.read_csv(REAL / "redcap" / "redcapr_longitudinal_data.csv", dtype=str)
    events = pd.read_csv(REAL / "redcap" / "redcapr_longitudinal_events.csv", dtype=str)
    order = event_order(frame, "redcap_event_name")
    arm1 = [e for e in events["unique_event_name"] if e.endswith("arm_1")]
    assert [e for e in order if e.endswith("arm_1")] == arm1


@pytest.mark.parametrize(
    ("instrument", "export", "rows", "id_column"),
    [
        ("qualtrics-sample", "qualtrics/qualtrics_sample.csv", 1, "ResponseId"),
        ("qualtrics-sample", "qualtrics/qualtrics_sample_legacy.csv", 1, "ResponseID"),
        ("odk-types", "odk/central_all_data_types.csv", 1, None),
        ("odk-choices", "odk/briefcase_choice_lists.csv", 1, None),
        ("redcapapi-fields", "redcap/redcapapi_records.csv", 8, "record_id"),
        ("decimal-comma", "redcap/redcapr_decimal_comma_data.csv", 4, "record_id"),
    ],
)
def test_each_real_export_reads_and_scores(instrument, export, rows, id_column):
    scored = score(instrument, export)
    assert len(scored.scores) == rows
    assert scored.id_column == id_column


def test_waves_in_the_projects_order_and_event_chooses_one():
    from click.testing import CliRunner

    from sdt_survey.cli import cli
    from sdt_survey.responses.waves import wave_order

    scored = score("observed-behavior", "redcap/redcapr_longitudinal_data.csv")
    order = wave_order(scored.scores, "redcap_event_name", id_column="study_id")
    assert order == ["visit_1_arm_1", "visit_2_arm_1", "first_visit_arm_2", "final_visit_arm_2"]
    events = REAL / "redcap" / "redcapr_longitudinal_events.csv"
    frame = scored.scores
    assert event_order(frame, "redcap_event_name", id_column="study_id", events=events) == order
    assert event_order(frame, "redcap_event_name", events=["final_visit_arm_2", "visit_1_arm_1"])[:2] == [
        "final_visit_arm_2",
        "visit_1_arm_1",
    ]
    # The default wave is the project's first (baseline), then month 6, not month 12 (alphabetical).
    report = sdt_survey.reliability.instrument_reliability(
        str(INSTRUMENTS / "wellbeing.yaml"), str(REAL / "redcap" / "reconstructed_wellbeing_export.csv")
    )
    assert "wave 'baseline_arm_1' of 3 in 'redcap_event_name'" in " ".join(report.notes)
    args = [
        "reliability",
        str(INSTRUMENTS / "wellbeing.yaml"),
        str(REAL / "redcap" / "reconstructed_wellbeing_export.csv"),
    ]
    for option in ("--event", "--wave"):
        result = CliRunner().invoke(cli, [*args, option, "month_6_arm_1"])
        assert result.exit_code == 0, result.output
        assert "wave 'month_6_arm_1' of 3" in result.output
    result = CliRunner().invoke(cli, [*args, "--event", "month_9_arm_1"])
    assert result.exit_code == 1
    assert "no responses in redcap_event_name = 'month_9_arm_1'; waves: baseline_arm_1, month_6_arm_1" in (
        result.output
    )


def test_numbered_waves_by_number():
    import pandas as pd

    from sdt_survey.responses.waves import wave_order

    frame = pd.DataFrame({"id": [1, 2, 3], "wave": ["10", "2", "1"]})
    assert wave_order(frame, "wave") == ["1", "2", "10"]


def test_a_column_resembles_an_item_only_when_it_is_a_typo_of_it(tmp_path):
    import pandas as pd

    longitudinal = score("observed-behavior", "redcap/redcapr_longitudinal_data.csv")
    report = longitudinal.report.to_frame()
    like = report[report["problem"] == "item_like_column"]
    assert not like["column"].str.startswith("vbw").any()  # another form's items: vbw1 is no typo of vob1
    assert not like["message"].str.contains("resembles").any()
    frame = pd.read_csv(REAL / "redcap" / "redcapr_longitudinal_data.csv", dtype=str)
    path = tmp_path / "typo.csv"
    frame.rename(columns={"vob2": "vbo2"}).to_csv(path, index=False)
    scored = sdt_survey.score(str(INSTRUMENTS / "observed-behavior.yaml"), str(path), invalid="as-missing")
    assert "column 'vbo2' resembles item 'vob2'" in " ".join(scored.report.to_frame()["message"])


CLI_RUNS = [
    ("score", "qualtrics-sample", "qualtrics/qualtrics_sample.csv"),
    ("score", "qualtrics-sample", "qualtrics/qualtrics_sample_legacy.csv"),
    ("score", "odk-types", "odk/central_all_data_types.csv"),
    ("score", "odk-choices", "odk/briefcase_choice_lists.csv"),
    ("score", "redcapapi-fields", "redcap/redcapapi_records.csv"),
    ("score", "decimal-comma", "redcap/redcapr_decimal_comma_data.csv"),
    ("score", "consent", "redcap/reconstructed_wellbeing_export.csv"),
    ("score", "insights-2016", "qualtrics/reconstructed_insights_2016.csv"),
    ("reliability", "lab-values", "redcap/redcapr_repeating_data.csv"),
    ("reliability", "wellbeing", "redcap/reconstructed_wellbeing_export.csv"),
    ("reliability", "observed-behavior", "redcap/redcapr_longitudinal_data.csv"),
]


@pytest.mark.parametrize(("command", "instrument", "export"), CLI_RUNS)
def test_the_cli_on_each_real_export_prints_no_python_warning(command, instrument, export, tmp_path):
    import os
    import re
    import subprocess
    import sys

    args = [str(INSTRUMENTS / f"{instrument}.yaml"), str(REAL / export)]
    if command == "score":
        args += ["--out", str(tmp_path / "scores.csv")]
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-c", "from sdt_survey.cli import main; main()", command, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root), "PYTHONWARNINGS": "default"},
        timeout=300,
    )
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in (0, 1), run.stderr
    output = run.stdout + run.stderr
    assert "UserWarning" not in output and "RuntimeWarning" not in output, output
    assert not re.search(r"\.py:\d+", output), output


def test_identifiers_named_as_real_exports_name_them():
    import pandas as pd

    from sdt_survey.scoring.identifiers import detect_identifier_columns, identifier_columns

    names = ["telephone_1", "text_ssn", "ssn", "mrn", "mrn_10d", "IP Address", "email_2"]
    assert identifier_columns(names) == names
    items = [
        "phone_use_1",
        "ssn_complete",
        "name_recall3",
        "rs2",
        "nametag",
        "text1",
        "number_1dp_test",
        "vob1",
    ]
    assert identifier_columns(items) == []
    frame = pd.DataFrame(
        {"text_ssn": ["123-45-6789"] * 3, "mrn_10d": ["0123456789"] * 3, "vob1": ["0", "1", "0"]}
    )
    found = detect_identifier_columns(frame)
    assert list(found) == ["text_ssn", "mrn_10d"]
    assert "suggests an identification number" in found["text_ssn"]
    # The legacy Qualtrics export: V6 is "IPAddress" in its second header row; V1 the ResponseID.
    legacy = score("qualtrics-sample", "qualtrics/qualtrics_sample_legacy.csv")
    assert legacy.id_column == "ResponseID"
    assert "IPAddress" not in legacy.scores.columns and "V6" not in legacy.scores.columns
    assert "IPAddress: the name 'IPAddress' suggests an IP address" in legacy.summary()
    redcap = score("observed-behavior", "redcap/redcapr_longitudinal_data.csv")
    assert "telephone_1" not in redcap.scores.columns


def test_the_2016_insights_export_with_choices_in_the_import_ids():
    scored = score("insights-2016", "qualtrics/reconstructed_insights_2016.csv", include_items=True)
    assert scored.id_column == "ResponseId"
    assert scored.items["services"].tolist()[:3] == [
        "1 3",
        "2",
        "-1",
    ]  # Q2_1 ... Q2_-1 ({"ImportId":"QID2_-1"})
    assert scored.items["services"].isna().tolist()[3]
    assert scored.scores["experience"].tolist() == [4.0, 5.0, 2.0, 3.0]  # the preview (Status 1) left out
    assert "IPAddress: the name 'IPAddress' suggests an IP address" in scored.summary()
    kinds = problems(scored)
    assert "drift_added_column" not in kinds and "absent_item_column" not in kinds


def test_the_cli_names_its_own_options_in_notes_and_counts_in_the_singular(tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli

    run = CliRunner().invoke(
        cli,
        [
            "reliability",
            str(INSTRUMENTS / "wellbeing.yaml"),
            str(REAL / "redcap/reconstructed_wellbeing_export.csv"),
        ],
    )
    assert run.exit_code == 0, run.output
    assert "(choose another with --wave)" in run.output and "wave=" not in run.output
    legacy = [
        "score",
        str(INSTRUMENTS / "qualtrics-sample.yaml"),
        str(REAL / "qualtrics/qualtrics_sample_legacy.csv"),
    ]
    run = CliRunner().invoke(cli, [*legacy, "--out", str(tmp_path / "scores.csv")])
    assert "Scored 1 respondent on" in run.output, run.output
