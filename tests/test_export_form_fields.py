"""Every writer exports hints, identifiers, sliders, non-substantive choices, notes and ODK choice names.

The round trips write the survey to REDCap and to XLSForm, answer it in the
platform's export layout, read the export back and compare the scores with
those of the same answers given straight to :func:`sdt_survey.score`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.platforms.redcap import check_dictionary, read_dictionary, redcap_choice_code
from sdt_survey.responses import redcap_checkbox_code
from tests.test_export_xlsform import odk_submission_csv, to_xform

FIXTURE = Path(__file__).parent / "fixtures" / "form-fields.yaml"
INST = sdt_survey.load_instrument(FIXTURE)

#: Answers of every kind: non-substantive codes (8, 9), sliders on their steps, ODK choice names.
RECORDS = [
    {"email": "ann@example.org", "q1": 4, "q2": 2, "energy": 50, "pace": 0.5, "site": "north-wing"},
    {"email": "bo@example.org", "q1": 8, "q2": 1, "energy": 55, "pace": 10, "site": "dont-know"},
    {"email": None, "q1": 5, "q2": 9, "energy": 100, "pace": 3, "site": "south.wing"},
    {"email": "cy@example.com", "q1": 2, "q2": 3, "energy": None, "pace": 2.5, "site": None},
    {"email": "di@example.com", "q1": 9, "q2": 8, "energy": 0, "pace": None, "site": "north-wing"},
]


def _direct_scores() -> pd.DataFrame:
    frame = pd.DataFrame(RECORDS).astype(object).where(pd.DataFrame(RECORDS).notna(), None)
    frame.insert(0, "id", [str(k) for k in range(1, len(RECORDS) + 1)])
    return sdt_survey.score(INST, frame, id_column="id").scores


def _cell(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# ----------------------------------------------------------------------------------------- REDCap


def test_redcap_dictionary_carries_every_field(tmp_path):
    result = sdt_survey.export_survey(INST, "redcap", tmp_path / "d.csv")
    frame = read_dictionary(tmp_path / "d.csv").set_index("Variable / Field Name")
    assert check_dictionary(read_dictionary(tmp_path / "d.csv")) == []
    assert frame.loc["q1", "Field Note"] == "Think of the last month."
    assert frame.loc["email", "Identifier?"] == "y"
    assert frame.loc["q2", "Identifier?"] == ""
    assert frame.loc["q1", "Choices, Calculations, OR Slider Labels"].endswith(
        "5, Strongly agree | 8, Don't know | 9, Prefer not to say"
    )
    energy = frame.loc["energy"]
    assert (energy["Field Type"], energy["Choices, Calculations, OR Slider Labels"]) == (
        "slider",
        "Exhausted |  | Full of energy",
    )
    assert (energy["Text Validation Min"], energy["Text Validation Max"]) == ("0", "100")
    assert energy["Text Validation Type OR Show Slider Number"] == "number"
    assert frame.loc["pace", "Choices, Calculations, OR Slider Labels"] == "Slowly | Steadily | Quickly"
    assert frame.loc["site", "Choices, Calculations, OR Slider Labels"] == (
        "north_wing, North wing | south_wing, South wing | dont_know, Not sure"
    )
    names = frame.index.tolist()
    assert names == ["record_id", "email", "intro_note", "q1", "q2", "energy", "pace", "site", "thanks"]
    assert frame.loc["intro_note", "Field Type"] == "descriptive"
    assert frame.loc["thanks", "Field Label"] == "Thank you!"
    # REDCap's sliders move by 1: the step-5 slider is named in the notes.
    assert any("slider energy" in note for note in result.notes)


def redcap_export(dictionary: pd.DataFrame, records: list[dict], path: Path) -> Path:
    """The records in REDCap's raw CSV export layout (descriptive fields hold no data)."""
    fields = dictionary.iloc[1:]
    fields = fields[fields["Field Type"] != "descriptive"]
    form = fields["Form Name"].iloc[0]
    header = ["record_id", f"{form}_timestamp"]
    for row in fields.itertuples(index=False):
        if row[3] == "checkbox":
            header += [
                f"{row[0]}___{redcap_checkbox_code(p.split(',')[0].strip())}" for p in row[5].split("|")
            ]
        else:
            header.append(row[0])
    header.append(f"{form}_complete")
    rows = [header]
    for number, record in enumerate(records, start=1):
        cells = {
            "record_id": str(number),
            f"{form}_timestamp": "2024-03-04 10:22:31",
            f"{form}_complete": "2",
        }
        for row in fields.itertuples(index=False):
            value = record[row[0]]
            cells[row[0]] = (
                "" if value is None else redcap_choice_code(value) if row[3] == "radio" else _cell(value)
            )
        rows.append([cells[c] for c in header])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_redcap_round_trip_gives_the_same_scores(tmp_path):
    sdt_survey.export_survey(INST, "redcap", tmp_path / "d.csv")
    path = redcap_export(read_dictionary(tmp_path / "d.csv"), RECORDS, tmp_path / "export.csv")
    scored = sdt_survey.score(INST, path, id_column="record_id")
    assert scored.report.source == "redcap"
    assert scored.report.errors.empty, scored.report.summary()
    direct = _direct_scores()
    for name in ("interest", "vigor"):
        np.testing.assert_allclose(scored.scores[name], direct[name], equal_nan=True)
    assert scored.items["site"].tolist()[:3] == ["north-wing", "dont-know", "south.wing"]
    assert "email" not in scored.scores.columns and "example" not in scored.scores.to_csv()
    nonsubstantive = scored.report.issues.query("problem == 'nonsubstantive'")
    assert len(nonsubstantive) == 4  # 8 and 9 in q1 and q2


# ---------------------------------------------------------------------------------------- XLSForm


def _sheets(tmp_path: Path) -> tuple[Path, dict[str, pd.DataFrame]]:
    out = tmp_path / "form.xlsx"
    sdt_survey.export_survey(INST, "xlsform", out)
    return out, pd.read_excel(out, sheet_name=None, dtype=str, keep_default_na=False)


def test_xlsform_carries_every_field_and_converts(tmp_path):
    out, sheets = _sheets(tmp_path)
    survey = sheets["survey"].set_index("name")
    assert survey.loc["q1", "hint::English (en)"] == "Think of the last month."
    assert (survey.loc["intro_note", "type"], survey.loc["thanks", "type"]) == ("note", "note")
    energy = survey.loc["energy"]
    assert (energy["type"], energy["parameters"]) == ("range", "start=0 end=100 step=5")
    assert energy["hint::English (en)"] == "0 = Exhausted ... 100 = Full of energy"
    assert survey.loc["pace", "parameters"] == "start=0 end=10 step=0.5"
    choices = sheets["choices"]
    assert choices.loc[choices["list_name"] == "agree5", "name"].tolist() == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "8",
        "9",
    ]
    assert choices.loc[choices["list_name"] == "site", "name"].tolist() == [
        "north-wing",
        "south.wing",
        "dont-know",
    ]
    order = sheets["survey"]["name"].tolist()
    assert (
        order.index("intro_note") == order.index("q1") - 1
        and order.index("thanks") == order.index("site") + 1
    )
    xform, warnings = to_xform(out)
    assert warnings == []
    assert '<range ref="/data/main/energy" start="0" end="100" step="5">' in xform
    assert '<range ref="/data/main/pace" start="0" end="10" step="0.5">' in xform


@pytest.mark.parametrize("kobo", [False, True], ids=["odk-central", "kobo"])
def test_xlsform_round_trip_gives_the_same_scores(kobo, tmp_path):
    _, sheets = _sheets(tmp_path)
    path = odk_submission_csv(sheets, RECORDS, tmp_path / "submissions.csv", kobo)
    scored = sdt_survey.score(INST, path, id_column="_uuid" if kobo else "KEY")
    assert scored.report.source == "odk"
    assert scored.report.errors.empty, scored.report.summary()
    direct = _direct_scores()
    for name in ("interest", "vigor"):
        np.testing.assert_allclose(scored.scores[name], direct[name], equal_nan=True)
    assert "example" not in scored.scores.to_csv()


# ------------------------------------------------------------------------ Qualtrics, ReproSchema, HTML, paper


def test_qualtrics_writes_notes_nonsubstantive_answers_and_hints(tmp_path):
    result = sdt_survey.export_survey(INST, "qualtrics", tmp_path / "q.txt")
    text = (tmp_path / "q.txt").read_text(encoding="utf-8")
    notes = (tmp_path / "q.notes.md").read_text(encoding="utf-8")
    assert "[[ID:intro_note]]\nThe next questions are about your work." in text
    assert "[[Answer:8]]\nDon't know" in text and "[[Answer:9]]\nPrefer not to say" in text
    assert "[[ID:energy]]" in text and "a slider from 0 to 100 in steps of 5" in notes
    assert "- q1: Think of the last month." in notes  # a matrix statement's hint
    assert "identify a respondent: email" in notes
    assert result.paths[1].name == "q.notes.md"


def test_reproschema_writes_sliders_notes_and_nonsubstantive_choices(tmp_path):
    sdt_survey.export_survey(INST, "reproschema", tmp_path / "rs")
    items = tmp_path / "rs" / "activities" / "form-fields" / "items"
    energy = json.loads((items / "energy").read_text())
    assert energy["ui"]["inputType"] == "slider"
    options = energy["responseOptions"]
    assert (options["minValue"], options["maxValue"], options["step"]) == (0, 100, 5)
    assert [c["name"]["en"] for c in options["choices"]] == ["Exhausted", "Full of energy"]
    q1 = json.loads((items / "q1").read_text())
    assert [c["value"] for c in q1["responseOptions"]["choices"]] == [1, 2, 3, 4, 5, 8, 9]
    assert q1["responseOptions"]["maxValue"] == 5
    assert "Think of the last month." in q1["question"]["en"]
    note = json.loads((items / "intro_note").read_text())
    assert note["ui"]["inputType"] == "static"
    activity = json.loads((tmp_path / "rs" / "activities" / "form-fields" / "form-fields_schema").read_text())
    assert activity["ui"]["order"][:3] == ["items/email", "items/intro_note", "items/q1"]


def test_html_shows_hints_notes_anchors_and_nonsubstantive_choices(tmp_path):
    sdt_survey.export_survey(INST, "html", tmp_path / "f.html")
    page = (tmp_path / "f.html").read_text(encoding="utf-8")
    assert "Think of the last month." in page and "The next questions are about your work." in page
    assert "Exhausted" in page and "Full of energy" in page and 'step="5"' in page
    assert "Prefer not to say" in page and 'value="9"' in page
    assert page.index("The next questions") < page.index("My work is interesting.")


@pytest.mark.parametrize("target", ["markdown", "pdf"])
def test_paper_shows_hints_notes_anchors_and_nonsubstantive_choices(target, tmp_path):
    if target == "pdf":
        pytest.importorskip("fpdf")
    out = tmp_path / ("f.md" if target == "markdown" else "f.pdf")
    sdt_survey.export_survey(INST, target, out)
    if target == "pdf":
        assert out.stat().st_size > 1000
        return
    text = out.read_text(encoding="utf-8")
    assert "Think of the last month" in text and "The next questions are about your work." in text
    assert "0 = Exhausted … 100 = Full of energy" in text
    assert "Prefer not to say (9)" in text
    assert text.index("Thank you!") > text.index("Where do you work?")
