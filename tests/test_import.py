"""`sdt-survey import`: instruments read from REDCap dictionaries, XLSForms and Qualtrics .qsf files.

Real public files (tests/data/real/forms, licences in tests/data/real/SOURCES.md) are
imported with their expected result: counts, sections, scales, branching and every
report line; exports of the bundled instruments come back as the same instrument
(round trip), and real files survive an import, an export to their platform and a
second reading with the same field names, types, choices and branching.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.errors import SdtSurveyError
from sdt_survey.instrument import load_instrument
from sdt_survey.platforms import build_survey, export_survey
from sdt_survey.platforms.import_logic import Target, Untranslatable, translate
from sdt_survey.platforms.importing import import_instrument
from sdt_survey.platforms.qualtrics import build_blocks
from sdt_survey.platforms.redcap import read_dictionary
from sdt_survey.platforms.redcap_import import logic_tokens, parse_choices
from sdt_survey.platforms.xlsform_import import read_sheets, relevant_tokens

FORMS = Path(__file__).parent / "data" / "real" / "forms"


def imported(name: str, tmp_path: Path | None = None, **options):
    """Import a real form; with tmp_path, also write it and load it back (it must validate)."""
    if tmp_path is None:
        return import_instrument(FORMS / name, **options)
    out = tmp_path / (Path(name).stem.replace("_", "-") + ".yaml")
    result = import_instrument(FORMS / name, out=out, **options)
    return result, load_instrument(out)


def lines(result) -> list[str]:
    """The report's lines with the file named as the test names it."""
    return [str(line).replace(str(FORMS) + "/", "") for line in result.report]


def items(result) -> dict[str, dict]:
    return {item["id"]: item for item in result.definition["items"]}


# ----------------------------------------------------------------------------- REDCap


def test_redcapapi_dictionary_every_field_type(tmp_path):
    result, instrument = imported("redcapapi_test_dictionary.csv", tmp_path)
    assert result.counts == {"items": 51, "sections": 11, "scales": 0, "left_out": 19, "changed": 7,
                             "inferred": 0}  # fmt: skip
    assert len(instrument.items) == 51 and instrument.id == "redcapapi-test-dictionary"
    by_id = items(result)
    assert by_id["treatment"]["choices"] == [
        {"value": 1, "label": "Control"},
        {"value": 2, "label": "Treatment"},
    ]
    assert by_id["checkbox_test"]["type"] == "multiple"
    assert [c["value"] for c in by_id["radio_test"]["choices"]] == ["a", "b", "c"]
    assert by_id["integer_test"]["type"] == "integer" and by_id["number_1dp_comma_test"]["type"] == "number"
    assert {by_id[f"date_{o}_test"]["type"] for o in ("dmy", "mdy", "ymd")} == {"date"}
    assert by_id["slider_no_label_test"] == {
        "id": "slider_no_label_test", "text": "Slider With no labels example", "type": "slider",
        "min": 0, "max": 50, "step": 1,
    }  # fmt: skip
    assert by_id["slider_text_label_test"]["anchors"] == ["Not a Fan", "Obsessed"]
    assert by_id["slider_show_number_test"]["anchors"] == ["0", "50", "100"]
    assert by_id["yesno_test"]["choices"] == [{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}]
    # Branching: checkbox options, codes as the item stores them, parentheses, and/or.
    assert {
        key: by_id[key].get("show_if") for key in by_id if "prereq" in key and by_id[key].get("show_if")
    } == {
        "one_prereq_non_checkbox": "prereq_radio == 1",
        "one_prereq_checkbox": 'prereq_checkbox == "ABC"',
        "two_prereq_and": 'prereq_yesno == 0 and prereq_radio == "ABC"',
        "two_prereq_and_one_check": "prereq_checkbox == 1 or prereq_number == 5",
        "three_prereq_andor": "prereq_radio == 2 and prereq_yesno == 0 or prereq_checkbox == 2",
        "one_prereq_inequality": "prereq_number < 0",
    }
    sections = {s.id: s for s in instrument.sections}
    assert sections["branching_logic"].title.get() == "Prerequisites"
    assert sections["branching_logic_11"].title.get() == "Evaluation Fields"
    assert [n.id for n in sections["files_notes_descriptions"].notes] == ["descriptive_test"]
    assert lines(result) == [
        "redcapapi_test_dictionary.csv:2: record_id: the record id (REDCap's first field) is not imported as "
        "an "
        "item: the REDCap export writes its own record_id",
        *[
            f"redcapapi_test_dictionary.csv:{row}: {name}: text validation {kind!r} left out: the item is "
            f"free text"
            for row, name, kind in [
                (4, "email_test", "email"),
                (5, "letters_only_test", "alpha_only"),
                (6, "phone_test", "phone"),
                (8, "zipcode_test", "zipcode"),
                (12, "datetime_dmy_hm_test", "datetime_dmy"),
                (13, "datetime_mdy_hm_test", "datetime_mdy"),
                (14, "datetime_ymd_hm_test", "datetime_ymd"),
                (15, "datetime_dmy_hms_test", "datetime_seconds_dmy"),
                (16, "datetime_mdy_hms_test", "datetime_seconds_mdy"),
                (17, "datetime_ymd_hms_test", "datetime_seconds_ymd"),
                (18, "time_hhmm_test", "time"),
                (19, "time_mmss_test", "time_mm_ss"),
            ]
        ],
        "redcapapi_test_dictionary.csv:26: layout: custom alignment or question numbers of 4 fields left "
        "out: "
        "layout only",
        "redcapapi_test_dictionary.csv:32: truefalse_test: a truefalse field: a single item with choices 1 "
        "True, "
        "0 False (the REDCap export writes it as a radio field)",
        "redcapapi_test_dictionary.csv:33: yesno_test: a yesno field: a single item with choices 1 Yes, 0 No "
        "(the REDCap export writes it as a radio field)",
        "redcapapi_test_dictionary.csv:35: file_upload_test: a file upload field left out: sdt-survey reads "
        "answers, not files",
        "redcapapi_test_dictionary.csv:37: signature_test: a signature field left out: sdt-survey reads "
        "answers, "
        "not files",
        "redcapapi_test_dictionary.csv:40: calc_addition: a calculated field ('[left_operand] + "
        "[right_operand]') "
        "left out: calculations are not items; declare scores as subscales",
        "redcapapi_test_dictionary.csv:41: calc_squared: a calculated field ('([left_operand])^2') left out: "
        "calculations are not items; declare scores as subscales",
        "redcapapi_test_dictionary.csv:47: prereq_yesno: a yesno field: a single item with choices 1 Yes, 0 "
        "No "
        "(the REDCap export writes it as a radio field)",
        "redcapapi_test_dictionary.csv:53: two_prereq_or: a truefalse field: a single item with choices 1 "
        "True, "
        "0 False (the REDCap export writes it as a radio field)",
        "redcapapi_test_dictionary.csv:53: two_prereq_or: branching logic \"[prereq_yesno] = '1' or "
        "[prereq_date] "
        "> '2024-01-01'\" left out (it orders 'prereq_date' (a date) against '2024-01-01'; show_if orders "
        "numbers only): the item is always shown",
        "redcapapi_test_dictionary.csv:56: one_prereq_inequality: a yesno field: a single item with choices "
        "1 Yes, 0 No (the REDCap export writes it as a radio field)",
        "redcapapi_test_dictionary.csv:58: repeat_datetime: text validation 'datetime_dmy' left out: the "
        "item is "
        "free text",
        "redcapapi_test_dictionary.csv: 10 forms: the forms randomization, text_fields, dates_and_times, "
        "numbers, slider_fields, multiple_choice, files_notes_descriptions, calculated_fields, "
        "branching_logic, "
        "repeating_instrument are sections of one instrument; its REDCap export is one form",
    ]


def test_redcapr_survey_dictionary_identifiers_hints_ranges(tmp_path):
    result, instrument = imported("redcapr_survey_dictionary.csv", tmp_path)
    assert result.counts == {"items": 24, "sections": 4, "scales": 0, "left_out": 3, "changed": 5,
                             "inferred": 0}  # fmt: skip
    assert [s.id for s in instrument.sections] == [
        "prescreening_survey", "participant_info_survey", "participant_morale_questio", "completion_data",
    ]  # fmt: skip
    by_id = items(result)
    assert sorted(k for k, v in by_id.items() if v.get("identifier")) == [
        "address", "email", "first_name", "last_name", "telephone_1",
    ]  # fmt: skip
    assert by_id["telephone_1"]["hint"] == "Include Area Code"
    assert (by_id["height"]["type"], by_id["height"]["min"], by_id["height"]["max"]) == ("number", 130, 215)
    assert (by_id["weight"]["type"], by_id["weight"]["min"], by_id["weight"]["max"]) == ("integer", 35, 200)
    assert by_id["consent"]["choices"] == [{"value": 1, "label": "I consent"}]  # a one-option checkbox
    # The section header of a form is its title.
    assert instrument.sections[0].title.get() == "Please fill out the information below."
    assert lines(result) == [
        "redcapr_survey_dictionary.csv:2: participant_id: the record id (REDCap's first field) is not "
        "imported "
        "as an item: the REDCap export writes its own record_id",
        "redcapr_survey_dictionary.csv:4: email: text validation 'email' left out: the item is free text",
        "redcapr_survey_dictionary.csv:5: has_diabetes: a truefalse field: a single item with choices 1 "
        "True, "
        "0 False (the REDCap export writes it as a radio field)",
        "redcapr_survey_dictionary.csv:10: telephone_1: text validation 'phone' left out: the item is free "
        "text",
        "redcapr_survey_dictionary.csv:11: layout: custom alignment or question numbers of 1 field left out: "
        "layout only",
        "redcapr_survey_dictionary.csv:18: pmq3: a yesno field: a single item with choices 1 Yes, 0 No (the "
        "REDCap export writes it as a radio field)",
        "redcapr_survey_dictionary.csv:20: complete_study: a yesno field: a single item with choices 1 Yes, "
        "0 No "
        "(the REDCap export writes it as a radio field)",
        "redcapr_survey_dictionary.csv: 4 forms: the forms prescreening_survey, participant_info_survey, "
        "participant_morale_questionnaire, completion_data are sections of one instrument; its REDCap export "
        "is "
        "one form",
    ]


REDCAP_TYPE = {"dropdown": "radio", "yesno": "radio", "truefalse": "radio", "notes": "text"}
YESNO = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}


def _redcap_fields(frame: pd.DataFrame) -> dict[str, tuple]:
    """Field name -> (type family, choices, branching as show_if) of a data dictionary."""
    fields = {}
    for row in frame.fillna("").to_dict("records"):
        kind = row["Field Type"]
        choices = parse_choices(row["Choices, Calculations, OR Slider Labels"])[0] if kind in (
            "radio", "dropdown", "checkbox") else YESNO.get(kind, {})  # fmt: skip
        fields[row["Variable / Field Name"]] = (
            REDCAP_TYPE.get(kind, kind),
            {str(code): label for code, label in choices} if isinstance(choices, list) else choices,
            row["Branching Logic (Show field only if...)"],
        )
    return fields


@pytest.mark.parametrize("name", ["redcapapi_test_dictionary.csv", "redcapr_survey_dictionary.csv"])
def test_real_redcap_dictionary_round_trip(name, tmp_path):
    """Import -> export to REDCap: the same field names, types, choices and branching."""
    result, instrument = imported(name, tmp_path)
    out = tmp_path / "again.csv"
    export_survey(instrument, "redcap", out, text_field="text")
    original, again = (_redcap_fields(read_dictionary(p)) for p in (FORMS / name, out))
    # What is not an item is in the report: the record id, calculations, uploads. Descriptive text is a note.
    not_items = {
        line.field
        for line in result.report
        if " left out" in line.message and line.field not in items(result)
    }
    record_id = next(iter(original))
    expected = {k: v for k, v in original.items() if k != record_id and k not in not_items}
    written = {k: v for k, v in again.items() if k != "record_id"}
    assert list(written) == list(expected)  # the same names in the same order
    for field, (kind, choices, branching) in written.items():
        want_kind, want_choices, want_branching = expected[field]
        assert kind == want_kind, field
        assert choices == want_choices, field
        if field == "two_prereq_or":  # its logic orders a date as text: left out, and reported
            assert branching == ""
            continue
        same = [translate(logic_tokens(logic), _targets(instrument).get) if logic else None
                for logic in (branching, want_branching)]  # fmt: skip
        assert same[0] == same[1], field


def _targets(instrument) -> dict[str, Target]:
    return {
        item.id: Target(item.id, item.type, {str(c.value): c.value for c in item.choices})
        for item in instrument.items
    }


# ---------------------------------------------------------------------------- XLSForm


def test_pyxform_widgets_every_question_type(tmp_path):
    result, _ = imported("pyxform_widgets.csv", tmp_path)
    assert result.counts == {"items": 14, "sections": 1, "scales": 0, "left_out": 21, "changed": 5,
                             "inferred": 1}  # fmt: skip
    by_id = items(result)
    assert (by_id["my_int"]["type"], by_id["my_int"].get("max")) == ("integer", 9)  # ". < 10" on integers
    assert (by_id["my_decimal"]["min"], by_id["my_decimal"]["max"]) == (10.51, 18.39)
    assert [c["value"] for c in by_id["my_select"]["choices"]] == ["a", "b", "c", "d"]
    assert by_id["my_select1"]["type"] == "single" and len(by_id["my_select1"]["choices"]) == 8
    assert by_id["numberasstring"]["aliases"] == {"xlsform": "numberAsString"}
    assert by_id["my_string"]["hint"] == "can be short or very long"
    report = lines(result)
    assert (
        "pyxform_widgets.csv:17: 2 names: numberAsString, dateTime in lowercase as item ids; each keeps its "
        "name "
        "as its xlsform alias"
    ) in report
    assert "pyxform_widgets.csv:10: my_trigger: an acknowledge (trigger) question left out" in report
    image = (
        "pyxform_widgets.csv:14: my_image: a photo or drawing question left out: sdt-survey reads answers, "
    )
    image += "not files"
    assert image in report
    assert (
        "pyxform_widgets.csv:11: my_output: branching logic \"selected(/widgets/branch, 'n')\" left out (it "
        "uses "
        "'selected(/widgets/branch,', which show_if has no equivalent for): the item is always shown"
    ) in report
    assert "pyxform_widgets.csv:11: my_output: piping (${field}) in the label left as text" in report
    assert (
        report[-1]
        == "pyxform_widgets.csv: languages: the form's labels name no language: taken as English (en)"
    )
    assert len(report) == 27


def test_pyxform_group_csv_and_xlsx_agree(tmp_path):
    result, instrument = imported("pyxform_group.csv", tmp_path)
    assert [s.id for s in instrument.sections] == ["main", "father"]
    assert instrument.sections[1].title.get() == "Father"
    assert lines(result) == ["pyxform_group.csv:5: phone_number: a phone number question: a text item"]
    # The same form as a workbook (built from the CSV's cells: the index holds no binary files).
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in [["type", "name", "label:English (en)"], ["text", "family_name", "What's your family name?"],
                ["begin group", "father", "Father"],
                ["phone number", "phone_number", "What's your father's phone number?"],
                ["integer", "age", "How old is your father?"], ["end group", None, None]]:  # fmt: skip
        sheet.append(row)
    workbook = tmp_path / "pyxform_group.xlsx"
    book.save(workbook)
    from_xlsx = import_instrument(workbook)
    assert from_xlsx.definition["items"] == result.definition["items"]
    assert from_xlsx.definition["sections"] == result.definition["sections"]
    assert [str(line).split(": ", 1)[1] for line in from_xlsx.report] == [
        "phone_number: a phone number question: a text item"
    ]
    assert str(from_xlsx.report[0]).startswith(f"{workbook}:4: ")  # the sheet's own row


def test_reconstructed_xlsform_languages_groups_relevance(tmp_path):
    result, instrument = imported("reconstructed_languages_form.csv", tmp_path)
    assert instrument.languages == ("en", "es")
    assert result.counts == {"items": 9, "sections": 3, "scales": 1, "left_out": 3, "changed": 1,
                             "inferred": 1}  # fmt: skip
    by_id = items(result)
    assert by_id["halfdays"]["show_if"] == "year != 1"
    assert by_id["halfdays"]["hint"] == {"en": "Count every half-day.", "es": "Cuente cada media jornada."}
    assert by_id["supports_other"]["show_if"] == 'supports == "other-support"'
    assert by_id["help"]["show_if"] == "halfdays > 0"  # the group's relevance
    assert by_id["energy"]["show_if"] == "(year == 2 or year == 3) and not halfdays == 0"
    assert by_id["energy"]["type"] == "slider" and (by_id["energy"]["min"], by_id["energy"]["max"]) == (0, 10)
    assert [c["value"] for c in by_id["supports"]["choices"]] == ["mentor", "peer-group", "other-support"]
    scale = instrument.scales["agree"]
    assert scale.values == (1, 2, 3, 4, 5) and scale.labels[0].get("es") == "Muy en desacuerdo"
    assert result.definition["scales"]["agree"]["nonsubstantive"] == [
        {"value": 8, "label": {"en": "Don't know", "es": "No sé"}, "reason": "dont_know"}
    ]
    sections = {s.id: s for s in instrument.sections}
    assert sections["climate"].preamble.get("es") == "¿Cuánto está de acuerdo?"
    assert [(n.id, n.before) for n in sections["about"].notes] == [("welcome", "year")]
    assert lines(result) == [
        "reconstructed_languages_form.csv:12: help .. rushed (3 items): inferred a Likert scale 'agree' "
        "(codes 1, "
        "2, 3, 4, 5); 8 (dont_know) kept as non-substantive choices (shown, scored as missing): add "
        "subscales and "
        "reverse keys",
        "reconstructed_languages_form.csv:17: help_score: a calculation left out: calculations are not "
        "items; "
        "declare scores as subscales",
        "reconstructed_languages_form.csv:18: visits: a repeat (1 question) left out: answers repeated "
        "within one "
        "response do not fit one column per item",
        "reconstructed_languages_form.csv:21: comments: branching logic 'count-selected(${supports}) > 1' "
        "left out "
        "(it uses 'count-selected(${supports})', which show_if has no equivalent for): the item is always "
        "shown",
        "reconstructed_languages_form.csv: the title: no es text; the en text is used there",
    ]


def _xlsform_questions(path: Path) -> dict[str, tuple]:
    sheets = read_sheets(path, str(path))
    lists: dict[str, list] = {}
    for _, cells in sheets.get("choices", []):
        lists.setdefault(cells["list_name"], []).append(cells["name"])
    out = {}
    for _, cells in sheets["survey"]:
        kind = cells["type"].replace("select one from ", "select_one ").replace("_", " ")
        if kind.split(" ")[0] in ("select", "selectone", "select one", "select multiple") or kind.startswith(
            "select"
        ):
            out[cells["name"]] = (
                kind.rsplit(" ", 1)[0],
                lists[cells["type"].split()[-1]],
                cells.get("relevant", ""),
            )
    return out


@pytest.mark.parametrize("name", ["pyxform_widgets.csv", "reconstructed_languages_form.csv"])
def test_xlsform_round_trip(name, tmp_path):
    """Import -> export to XLSForm -> import: the same names, types, choices and branching."""
    result, instrument = imported(name, tmp_path)
    out = tmp_path / "again.xlsx"
    export_survey(instrument, "xlsform", out)
    again = import_instrument(out)
    for first, second in zip(result.definition["items"], again.definition["items"], strict=True):
        for key in ("id", "type", "choices", "scale", "show_if", "min", "max", "required", "hint"):
            assert first.get(key) == second.get(key), (first["id"], key)
    assert result.definition.get("scales") == again.definition.get("scales")
    assert [s["id"] for s in again.definition["sections"]] == [s["id"] for s in result.definition["sections"]]


# --------------------------------------------------------------------------- Qualtrics


def test_qualtrics_neuroqol_likert_run(tmp_path):
    result, instrument = imported("rios_neuroqol_anger.qsf", tmp_path)
    assert result.counts == {"items": 8, "sections": 1, "scales": 1, "left_out": 0, "changed": 0,
                             "inferred": 1}  # fmt: skip
    assert instrument.title.get() == "Neuro-QOL Pediatric Anger Short Form"
    assert instrument.item_ids[:3] == ["nqemnped12", "nqemnped13", "nqemnped14"]  # the block's order
    assert instrument.scales["never_always"].values == (1, 2, 3, 4, 5)
    assert {item.type for item in instrument.items} == {"likert"}
    # "Force response" is off: the Likert items are not required (a likert item is required by default).
    assert not any(item.required for item in instrument.items)
    assert lines(result) == [
        "rios_neuroqol_anger.qsf: nqemnped12 .. nqemnped19 (8 items): inferred a Likert scale 'never_always' "
        "(codes 1, 2, 3, 4, 5): add subscales and reverse keys"
    ]


def test_qualtrics_health_status_an_older_file(tmp_path):
    """An older .qsf: choices as lists without ids, blocks keyed by number, descriptive text between "
    "questions."""
    result, instrument = imported("rios_health_status.qsf", tmp_path)
    assert result.counts == {
        "items": 25,
        "sections": 1,
        "scales": 0,
        "left_out": 0,
        "changed": 1,
        "inferred": 1,
    }
    assert instrument.item_ids[:4] == ["q2", "q3", "q4", "q5"]  # the block's order, not the elements'
    by_id = items(result)
    assert [c["value"] for c in by_id["q2"]["choices"]] == [0, 1, 2, 3]  # a list: ids 0, 1, ...
    assert [c["value"] for c in by_id["q3"]["choices"]] == [1, 2, 3, 4, 5]  # a map: its ids
    assert [c["value"] for c in by_id["q28"]["choices"]] == [0, 1, 2, 3]  # ChoiceOrder "0".."3"
    assert by_id["q15"]["type"] == "text" and by_id["q15"]["text"].startswith("(TAKING MEDICATIONS)")
    assert "required" not in by_id["q28"]  # ForceResponseType without ForceResponse: not forced
    section = instrument.sections[0]
    assert section.title.get() == "Default Question Block"
    assert [(n.id, n.before) for n in section.notes] == [
        ("q1", "q2"),
        ("q18", "q19"),
        ("q21", "q22"),
        ("q29", None),
    ]
    assert lines(result) == [
        "rios_health_status.qsf: 16 questions: Q2, Q5, Q7, ...: choices listed without ids (an older file): "
        "codes "
        "0, 1, ... in their order",
        "rios_health_status.qsf: 25 names: Q2, Q3, Q4, ... in lowercase as item ids; each keeps its name as "
        "its "
        "qualtrics alias",
    ]


def test_qualtrics_matrix_logic_translations(tmp_path):
    result, instrument = imported("reconstructed_matrix_logic.qsf", tmp_path)
    assert instrument.languages == ("en", "es")
    assert [s.id for s in instrument.sections] == ["about_your_clinic", "q4", "support"]
    by_id = items(result)
    assert by_id["q1"]["required"] is True and by_id["q1"]["aliases"] == {"qualtrics": "Q1"}
    assert by_id["q2"]["show_if"] == "q1 == 2 or q1 == 3"
    assert (by_id["q2"]["type"], by_id["q2"]["min"], by_id["q2"]["max"]) == ("integer", 0, 40)
    assert [by_id[k]["show_if"] for k in ("clinic_help", "clinic_welcome", "clinic_rushed")] == ["q2 > 0"] * 3
    assert by_id["q6"]["show_if"] == "q5 == 4"
    assert by_id["q12"]["show_if"] == "clinic_help == 1 or clinic_help == 2"
    assert by_id["q7_1"]["anchors"] == [
        {"en": "Drained", "es": "Drained"},
        {"en": "Energized", "es": "Energized"},
    ]
    assert "show_if" not in by_id["q11"]
    assert instrument.scales["q4"].values == (1, 2, 3, 4, 5)
    assert instrument.item("clinic_help").text.get("es") == "Sé a quién pedir ayuda."
    report = lines(result)
    for expected in [
        "reconstructed_matrix_logic.qsf: Q8: a rank order question left out: ranks are not items",
        "reconstructed_matrix_logic.qsf: Q9: a file upload left out: sdt-survey reads answers, not files",
        "reconstructed_matrix_logic.qsf: Q10: a timing question left out: the platform records it",
        "reconstructed_matrix_logic.qsf: Q11: display logic 'site is north' left out (it tests "
        "'EmbeddedField', "
        "not an answer): the item is always shown",
        "reconstructed_matrix_logic.qsf: Q5: the text box of choice 4 left out",
        "reconstructed_matrix_logic.qsf: trash: 1 question in the trash left out",
        "reconstructed_matrix_logic.qsf: survey flow: the survey flow's EmbeddedData element left out",
        "reconstructed_matrix_logic.qsf: clinic_help .. clinic_rushed (3 items): inferred a Likert scale "
        "'q4' "
        "(codes 1, 2, 3, 4, 5); 8 (dont_know) kept as non-substantive choices (shown, scored as missing): "
        "add "
        "subscales and reverse keys",
        "reconstructed_matrix_logic.qsf: Q5: no es text; the en text is used there",
        "reconstructed_matrix_logic.qsf: 7 names: Q1, Q2, Q5, ... in lowercase as item ids; each keeps its "
        "name "
        "as its qualtrics alias",
    ]:
        assert expected in report
    assert result.counts["left_out"] == 7 and len(report) == 17


def test_qualtrics_round_trip_as_far_as_the_advanced_format_goes(tmp_path):
    """Import -> the Qualtrics export: the same questions, ids, types and recode values."""
    _, instrument = imported("reconstructed_matrix_logic.qsf", tmp_path)
    blocks, _ = build_blocks(build_survey(instrument))
    questions = {q.tag: q for block in blocks for q in block.questions}
    assert questions["q1"].kind == "MC:SingleAnswer:Vertical"
    assert [code for code, _ in questions["q1"].rows] == [1, 2, 3]
    assert questions["q5"].kind == "MC:MultipleAnswer:Vertical"
    matrix = next(q for q in questions.values() if q.kind == "Matrix")
    assert [item.id for item in matrix.items] == ["clinic_help", "clinic_welcome", "clinic_rushed"]
    assert [code for code, _ in matrix.answers][:5] == [1, 2, 3, 4, 5]
    assert questions["q2"].kind == "TE:SingleLine"


# ------------------------------------------------------------------ round trips of ours


@pytest.mark.parametrize(
    "name", ["bpn-residency", "continuity-exposure", "program-belonging", "learning-climate"]
)
@pytest.mark.parametrize("target,suffix", [("redcap", ".csv"), ("xlsform", ".xlsx")])
def test_an_exported_instrument_imports_as_itself(name, target, suffix, tmp_path):
    original = load_instrument(name)
    out = tmp_path / f"{name}{suffix}"
    export_survey(original, target, out)
    back = load_instrument(import_instrument(out, out=tmp_path / f"{name}.yaml").paths[0])
    assert back.item_ids == original.item_ids
    assert [i.type for i in back.items] == [i.type for i in original.items]
    assert [i.show_if and i.show_if.to_text() for i in back.items] == [
        i.show_if and i.show_if.to_text() for i in original.items
    ]
    assert [[(c.value, c.label.get()) for c in i.choices] for i in back.items] == [
        [(c.value, c.label.get()) for c in i.choices] for i in original.items
    ]
    assert [(i.scale.values, [t.get() for t in i.scale.labels]) if i.scale else None for i in back.items] == [
        (i.scale.values, [t.get() for t in i.scale.labels]) if i.scale else None for i in original.items
    ]
    assert [(i.min, i.max, i.required) for i in back.items] == [
        (i.min, i.max, i.required) for i in original.items
    ]
    if target == "redcap":  # the annotation of sdt-survey's dictionary names the reverse-keyed items
        assert back.reverse_keyed == original.reverse_keyed
    else:  # the XLSForm keeps the sections, their ids and every language
        assert [s.id for s in back.sections] == [s.id for s in original.sections]
        assert back.languages == original.languages


# ------------------------------------------------------------------------------ logic


def _redcap_show_if(logic: str, targets: dict[str, Target]) -> str:
    return translate(logic_tokens(logic), targets.get).to_text()


TARGETS = {
    "gate": Target("gate", "single", {"1": 1, "0": 0}),
    "pick": Target("pick", "multiple", {"1": 1, "2": 2, "dk": "dk"}),
    "n": Target("n", "integer"),
    "when": Target("when", "date"),
    "note": Target("note", "text"),
}


@pytest.mark.parametrize(
    "logic,expected",
    [
        ("[gate] = '1' AND [n] > 3", "gate == 1 and n > 3"),
        ("[gate]='1' OR ([n] <= 2 and [n] <> 0)", "gate == 1 or n <= 2 and n != 0"),
        ("[pick(2)] = '1'", "pick == 2"),
        ("[pick(dk)] = '0'", 'pick != "dk"'),
        ("[pick(1)] <> '1'", "pick != 1"),
        ("[gate] <> ''", "gate in [1, 0]"),
        ('[gate] = ""', "gate not in [1, 0]"),
        ("[note] = 'yes'", 'note == "yes"'),
        ("3 < [n]", "n > 3"),
    ],
)
def test_redcap_logic(logic, expected):
    assert _redcap_show_if(logic, TARGETS) == expected


@pytest.mark.parametrize(
    "logic,reason",
    [
        ("[event_1_arm_1][gate] = '1'", "another event"),
        ("[user-name] = 'x'", "smart variable"),
        ("datediff([when], 'today', 'y') > 1", "datediff"),
        ("[n] + 1 > 3", "'+'"),
        ("[when] > '2024-01-01'", "show_if orders numbers only"),
        ("[gate] = '7'", "not a choice code"),
        ("[pick] = '1'", "the whole answer"),
        ("[other] = '1'", "not an imported item"),
    ],
)
def test_redcap_logic_it_cannot_translate(logic, reason):
    with pytest.raises(Untranslatable, match=re.escape(reason)):
        _redcap_show_if(logic, TARGETS)


@pytest.mark.parametrize(
    "relevant,expected",
    [
        ("${gate} = '1' and ${n} >= 2", "gate == 1 and n >= 2"),
        ("selected(${pick}, 'dk') or ${gate} != '0'", 'pick == "dk" or gate != 0'),
        ("not(selected(${pick}, '1'))", "not pick == 1"),
        ("${n} != ''", 'n != ""'),
    ],
)
def test_xlsform_relevance(relevant, expected):
    assert translate(relevant_tokens(relevant), TARGETS.get).to_text() == expected


def test_xlsform_relevance_it_cannot_translate():
    with pytest.raises(Untranslatable, match="count-selected"):
        translate(relevant_tokens("count-selected(${pick}) > 1"), TARGETS.get)
    with pytest.raises(Untranslatable, match="string-length"):
        translate(relevant_tokens("string-length(${note}) > 0"), TARGETS.get)


def test_branching_on_a_later_field_is_reported(tmp_path):
    dictionary = tmp_path / "later.csv"
    dictionary.write_text(
        '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number",'
        '"Text Validation Min","Text Validation Max",Identifier?,"Branching Logic (Show field only if...)"\n'
        "record_id,f,,text,Record,,,,,,,\n"
        "first,f,,text,First,,,,,,,[second] = 'x'\n"
        "second,f,,text,Second,,,,,,,\n",
        encoding="utf-8",
    )
    result = import_instrument(dictionary)
    assert "show_if" not in items(result)["first"]
    assert str(result.report[1]).endswith(
        "later.csv:3: first: branching logic \"[second] = 'x'\" left out (it refers to 'second', which is "
        "not an "
        "imported item): the item is always shown"
    )


# ------------------------------------------------------------------ files, errors, CLI


def test_api_and_cli_write_atomically_and_refuse_to_overwrite(tmp_path):
    runner = CliRunner()
    out, report = tmp_path / "survey.yaml", tmp_path / "report.txt"
    args = [
        "import",
        str(FORMS / "redcapr_survey_dictionary.csv"),
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "redcapr_survey_dictionary.csv:4: email: text validation 'email' left out" in first.output
    assert report.read_text(encoding="utf-8").count("\n") == 8
    before = out.read_text(encoding="utf-8")
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert out.read_text(encoding="utf-8") == before
    forced = runner.invoke(cli, [*args, "--force", "--id", "prescreen"])
    assert forced.exit_code == 0, forced.output
    assert load_instrument(out).id == "prescreen"
    valid = runner.invoke(cli, ["validate", str(out)])
    assert valid.exit_code == 0 and "valid: prescreen" in valid.output
    as_json = runner.invoke(cli, [*args, "--force", "--format", "json"])
    assert '"left_out": 3' in as_json.output
    assert sdt_survey.import_instrument is import_instrument


@pytest.mark.parametrize(
    "content,name,message",
    [
        (b"a,b\n1,2\n", "plain.csv", "not a file sdt-survey can import"),
        (b"", "form.xls", "save it as .xlsx"),
        (b'{"SurveyEntry": {}}', "broken.qsf", "no SurveyElements"),
        (b'{"SurveyEntry": ', "cut.qsf", "cut.qsf"),
        (b"not a workbook", "form.xlsx", "not a readable .xlsx workbook"),
    ],
)
def test_files_that_cannot_be_imported_get_a_clear_error(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SdtSurveyError, match=message.replace(".", r"\.")):
        import_instrument(path)
    result = CliRunner().invoke(cli, ["import", str(path), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_a_redcap_file_named_as_such_missing_columns(tmp_path):
    path = tmp_path / "dict.csv"
    path.write_text('"Variable / Field Name","Form Name"\nrecord_id,f\n', encoding="utf-8")
    with pytest.raises(
        SdtSurveyError, match=r"dict\.csv:1: not a REDCap data dictionary: the header has no "
    ):
        import_instrument(path, platform="redcap")


def test_the_api_metadata_layout_reads_as_the_download(tmp_path):
    """REDCap's API exports the dictionary with snake_case headers: the same instrument."""
    from sdt_survey.platforms.redcap_import import COLUMNS

    text = (FORMS / "redcapr_survey_dictionary.csv").read_text(encoding="utf-8")
    rest = text.split("\n", 1)[1]
    api = ",".join(names[1] for names in COLUMNS.values())
    path = tmp_path / "metadata.csv"
    path.write_text(api + "\n" + rest, encoding="utf-8")
    assert (
        import_instrument(path).definition["items"]
        == imported("redcapr_survey_dictionary.csv").definition["items"]
    )


def test_names_that_are_not_item_ids_keep_the_platform_name_as_alias(tmp_path):
    dictionary = tmp_path / "long.csv"
    dictionary.write_text(
        '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number",'
        '"Text Validation Min","Text Validation Max",Identifier?,"Branching Logic (Show field only if...)"\n'
        "record_id,f,,text,Record,,,,,,,\n"
        'a_very_long_field_name_that_redcap_accepts_1,f,,radio,First,"1, A | 2, B",,,,,,\n'
        "a_very_long_field_name_that_redcap_accepts_2,f,,text,Second,,,,,,,"
        "[a_very_long_field_name_that_redcap_accepts_1] = '2'\n",
        encoding="utf-8",
    )
    result, instrument = (
        import_instrument(dictionary, out=tmp_path / "long.yaml"),
        load_instrument(tmp_path / "long.yaml"),
    )
    assert instrument.item_ids == ["a_very_long_field_name_tha", "a_very_long_field_name_t_2"]
    assert (
        instrument.item("a_very_long_field_name_t_2").show_if.to_text() == "a_very_long_field_name_tha == 2"
    )
    assert instrument.item("a_very_long_field_name_tha").aliases == {
        "redcap": "a_very_long_field_name_that_redcap_accepts_1"
    }
    assert [line.kind for line in result.report] == ["changed", "changed", "changed"]
    # The REDCap export of the instrument reads back under the platform's long names.
    export = tmp_path / "records.csv"
    export.write_text(
        "record_id,a_very_long_field_name_that_redcap_accepts_1,a_very_long_field_name_that_redcap_accepts_2\n"
        "1,2,yes\n2,1,\n",
        encoding="utf-8",
    )
    scored = sdt_survey.score(instrument, export, id_column="record_id", source="redcap")
    assert len(scored.scores) == 2


def test_report_as_csv_and_json(tmp_path):
    runner = CliRunner()
    args = ["import", str(FORMS / "pyxform_group.csv"), "--out", str(tmp_path / "g.yaml")]
    as_csv = runner.invoke(cli, [*args, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output.splitlines()[0] == "file,row,field,kind,message"
    assert "phone_number,changed,a phone number question: a text item" in as_csv.output
    assert sdt_survey.ImportResult.__name__ == "ImportResult"


def test_refusal_codes_on_either_side_of_the_scale_are_non_substantive(tmp_path):
    dictionary = tmp_path / "codes.csv"
    choices = '"-99, Refused | 1, Never | 2, Sometimes | 3, Often | 8, Don\'t know"'
    dictionary.write_text(
        '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels"\n'
        "record_id,f,,text,Record,\n"
        f"a,f,,radio,First,{choices}\nb,f,,radio,Second,{choices}\n",
        encoding="utf-8",
    )
    result = import_instrument(dictionary)
    scale = next(iter(result.definition["scales"].values()))
    assert scale["values"] == [1, 2, 3]
    assert [(e["value"], e["reason"]) for e in scale["nonsubstantive"]] == [
        (-99, "refused"),
        (8, "dont_know"),
    ]


def test_a_control_character_in_a_label_is_removed_and_reported(tmp_path):
    path = tmp_path / "ctrl.csv"
    path.write_text(
        '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label"\n'
        'record_id,f,,text,Record\nq1,f,,text,"Bell\x07 here"\n',
        encoding="utf-8",
    )
    result = import_instrument(path, out=tmp_path / "ctrl.yaml")
    assert load_instrument(tmp_path / "ctrl.yaml").item("q1").text.get() == "Bell here"
    assert str(result.report[-1]).endswith(
        "ctrl.csv:3: q1: the control character U+0007 (BEL) removed from the text"
    )
