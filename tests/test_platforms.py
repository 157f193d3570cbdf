"""Responses in each platform's documented export layout read back to the same item values.

The fixtures are written here, from the layouts the platforms document and
produce (REDCap's Records::getData raw and label exports, Qualtrics' three
header rows, ODK Central's and KoboToolbox's CSV, SPSS with value labels, the
sdt-survey HTML form's JSON); see docs/scoring.md for the rules each follows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey

FIXTURE = sdt_survey.load_instrument(Path(__file__).parent / "fixtures" / "clinic-check.yaml")
TEXT = {item.id: str(item.text) for item in FIXTURE.items}

# Canonical answers: id, wave, then the items (None = no answer; rs4 = -99 is the skipped code).
RECORDS = [
    {
        "id": "1",
        "wave": 1,
        "as1": 4,
        "rs4": 2,
        "gate": 1,
        "halfdays": 8,
        "sources": [1, 2],
        "comment": "Great, thanks",
    },
    {
        "id": "2",
        "wave": 1,
        "as1": None,
        "rs4": 5,
        "gate": 0,
        "halfdays": None,
        "sources": [-99],
        "comment": None,
    },
    {
        "id": "3",
        "wave": 1,
        "as1": 1,
        "rs4": -99,
        "gate": 1,
        "halfdays": 0,
        "sources": [],
        "comment": "Line one\nline two",
    },
    {"id": "1", "wave": 2, "as1": 5, "rs4": 1, "gate": 1, "halfdays": 12, "sources": [2], "comment": None},
]
EXPECTED = {
    "as1": [4, np.nan, 1, 5],
    "rs4": [2, 5, np.nan, 1],
    "gate": [1, 0, 1, 1],
    "halfdays": [8, np.nan, 0, 12],
    "sources": ["1 2", "-99", None, "2"],
    "comment": ["Great, thanks", None, "Line one\nline two", None],
}
LABELS = {
    1: "Not at all true",
    2: "Slightly true",
    3: "Moderately true",
    4: "Very true",
    5: "Completely true",
}
CHOICES = {1: "Faculty", 2: "Co-residents", -99: "Skipped"}


def _cell(value) -> str:
    return "" if value is None else str(value)


def _write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", quote_all: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(
            handle, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
        )
        writer.writerows(rows)
    return path


def redcap_raw(tmp: Path) -> Path:
    header = [
        "record_id",
        "redcap_event_name",
        "clinic_check_timestamp",
        "as1",
        "rs4",
        "gate",
        "halfdays",
        "sources___1",
        "sources___2",
        "sources____99",
        "comment",
        "clinic_check_complete",
    ]
    rows = [header]
    for r in RECORDS:
        # The Data Export page prefixes values starting with '-' by a space (CSV-injection guard).
        rs4 = " -99" if r["rs4"] == -99 else _cell(r["rs4"])
        ticks = ["1" if code in r["sources"] else "0" for code in (1, 2, -99)]
        stamp = "2024-03-04 10:22:31" if r["as1"] is not None else "[not completed]"
        rows.append(
            [
                r["id"],
                f"wave_{r['wave']}_arm_1",
                stamp,
                _cell(r["as1"]),
                rs4,
                _cell(r["gate"]),
                _cell(r["halfdays"]),
                *ticks,
                _cell(r["comment"]),
                "2",
            ]
        )
    return _write_csv(tmp / "redcap_raw.csv", rows)


def redcap_labels(tmp: Path) -> Path:
    header = [
        "Record ID",
        "Event Name",
        "Survey Timestamp",
        TEXT["as1"],
        TEXT["rs4"],
        TEXT["gate"],
        TEXT["halfdays"],
        *(f"{TEXT['sources']} (choice={CHOICES[c]})" for c in (1, 2, -99)),
        TEXT["comment"],
        "Complete?",
    ]
    rows = [header]
    for r in RECORDS:
        ticks = ["Checked" if code in r["sources"] else "Unchecked" for code in (1, 2, -99)]
        rs4 = "" if r["rs4"] == -99 else LABELS[r["rs4"]]
        rows.append(
            [
                r["id"],
                f"Wave {r['wave']}",
                "[not completed]",
                LABELS.get(r["as1"], ""),
                rs4,
                {1: "Yes", 0: "No"}[r["gate"]],
                _cell(r["halfdays"]),
                *ticks,
                _cell(r["comment"]),
                "Complete",
            ]
        )
    return _write_csv(tmp / "redcap_labels.csv", rows)


QUALTRICS_META = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]


def qualtrics(tmp: Path) -> Path:
    names = [*QUALTRICS_META, "Q1_1", "Q1_2", "Q2", "Q3", "Q4_1", "Q4_2", "Q4_-99", "Q5", "resident", "wave"]
    texts = [
        *[m.replace("IPAddress", "IP Address") for m in QUALTRICS_META],
        f"How true is each statement? - {TEXT['as1']}",
        f"How true is each statement? - {TEXT['rs4']}",
        TEXT["gate"],
        TEXT["halfdays"],
        *(f"{TEXT['sources']} - Selected Choice - {CHOICES[c]}" for c in (1, 2, -99)),
        TEXT["comment"],
        "resident",
        "wave",
    ]
    ids = [json.dumps({"ImportId": m[0].lower() + m[1:]}) for m in QUALTRICS_META]
    ids += [json.dumps({"ImportId": q}) for q in ("QID1_1", "QID1_2", "QID2", "QID3")]
    ids += [json.dumps({"ImportId": "QID4", "choiceId": c}) for c in ("1", "2", "3")]
    ids += [
        json.dumps({"ImportId": "QID5_TEXT"}),
        json.dumps({"ImportId": "resident"}),
        json.dumps({"ImportId": "wave"}),
    ]
    rows = [names, texts, ids]
    for k, r in enumerate(RECORDS):
        meta = [
            "2024-03-04 10:15:02",
            "2024-03-04 10:21:40",
            "0",
            "203.0.113.7",
            "100",
            str(300 + k),
            "1",
            "2024-03-04 10:21:41",
            f"R_{k}abcdefghijklmn",
            "Doe",
            "Jane",
            "jane@example.org",
            "",
            "40.7",
            "-74.0",
            "anonymous",
            "EN",
        ]
        ticks = ["1" if code in r["sources"] else "" for code in (1, 2, -99)]
        rows.append(
            [
                *meta,
                _cell(r["as1"]),
                _cell(r["rs4"]),
                _cell(r["gate"]),
                _cell(r["halfdays"]),
                *ticks,
                _cell(r["comment"]),
                r["id"],
                str(r["wave"]),
            ]
        )
    # Qualtrics may end every line with a separator.
    return _write_csv(tmp / "qualtrics.csv", [[*row, ""] for row in rows])


def odk_central(tmp: Path) -> Path:
    header = [
        "SubmissionDate",
        "start",
        "end",
        "clinic-as1",
        "clinic-rs4",
        "clinic-gate",
        "clinic-halfdays",
        "clinic-sources",
        "clinic-sources/1",
        "clinic-sources/2",
        "clinic-sources/-99",
        "clinic-comment",
        "resident",
        "wave",
        "meta-instanceID",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
    ]
    rows = [header]
    for k, r in enumerate(RECORDS):
        ticks = ["1" if code in r["sources"] else "0" for code in (1, 2, -99)]
        uuid = f"uuid:5b1f0c4e-1111-4c1e-9a9a-01234567890{k}"
        rows.append(
            [
                "2024-03-04T15:21:41.123Z",
                "2024-03-04T10:15:02.000-05:00",
                "2024-03-04T10:21:40.000-05:00",
                _cell(r["as1"]),
                _cell(r["rs4"]),
                _cell(r["gate"]),
                _cell(r["halfdays"]),
                " ".join(map(str, r["sources"])),
                *ticks,
                _cell(r["comment"]),
                r["id"],
                str(r["wave"]),
                uuid,
                uuid,
                "5",
                "Alice",
                "0",
                "0",
                "",
                "",
                "collect:Xy12",
                "0",
                "2024030401",
            ]
        )
    return _write_csv(tmp / "odk_central.csv", rows)


def kobo(tmp: Path) -> Path:
    header = [
        "start",
        "end",
        "clinic/as1",
        "clinic/rs4",
        "clinic/gate",
        "clinic/halfdays",
        "clinic/sources",
        "clinic/sources/1",
        "clinic/sources/2",
        "clinic/sources/-99",
        "clinic/comment",
        "resident",
        "wave",
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_notes",
        "_status",
        "_submitted_by",
        "__version__",
        "_tags",
        "_index",
    ]
    hxl = [""] * len(header)
    hxl[2] = "#rating"
    rows = [header, hxl]
    for k, r in enumerate(RECORDS):
        ticks = ["1" if code in r["sources"] else "0" for code in (1, 2, -99)]
        rows.append(
            [
                "2024-03-04T10:15:02.000-05:00",
                "2024-03-04T10:21:40.000-05:00",
                _cell(r["as1"]),
                _cell(r["rs4"]),
                _cell(r["gate"]),
                _cell(r["halfdays"]),
                " ".join(map(str, r["sources"])),
                *ticks,
                _cell(r["comment"]),
                r["id"],
                str(r["wave"]),
                str(60 + k),
                f"48583952-1892-4931-8d9c-869e7b49baf{k}",
                "2024-03-04T15:21:45",
                "",
                "",
                "submitted_via_web",
                "jdoe",
                "vbKavWWCpgBCZms6hQX4FN",
                "",
                str(k + 1),
            ]
        )
    return _write_csv(tmp / "kobo.csv", rows, delimiter=";", quote_all=True)


def spss(tmp: Path) -> Path:
    import pyreadstat

    frame = pd.DataFrame(
        {
            "resident": [r["id"] for r in RECORDS],
            "wave": [r["wave"] for r in RECORDS],
            **{
                k: [np.nan if r[k] is None else r[k] for r in RECORDS]
                for k in ("as1", "rs4", "gate", "halfdays")
            },
            "sources": [" ".join(map(str, r["sources"])) for r in RECORDS],
            "comment": [_cell(r["comment"]) for r in RECORDS],
        }
    )
    path = tmp / "responses.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels={k: TEXT.get(k, k) for k in frame.columns},
        variable_value_labels={
            "as1": {**LABELS, -99: "skipped"},
            "rs4": {**LABELS, -99: "skipped"},
            "gate": {1: "Yes", 0: "No"},
        },
        missing_ranges={"rs4": [-99], "as1": [-99]},
    )
    return path


def html_form(tmp: Path) -> Path:
    records = []
    for r in RECORDS:
        answers = {k: r[k] for k in ("as1", "rs4", "gate", "halfdays", "comment") if r[k] is not None}
        if r["sources"]:
            answers["sources"] = r["sources"]
        records.append(
            {
                "format": "sdt-survey-response",
                "format_version": 1,
                "instruments": [{"id": "clinic-check", "version": "0.2.0"}],
                "submitted": "2024-03-04T10:21:40Z",
                "language": "en",
                "respondent": r["id"],
                "wave": r["wave"],
                "answers": answers,
            }
        )
    path = tmp / "form.json"
    path.write_text(json.dumps(records, indent=2))
    return path


LAYOUTS = {
    "redcap raw": (redcap_raw, "redcap", "record_id"),
    "redcap labels": (redcap_labels, "redcap", "Record ID"),
    "qualtrics": (qualtrics, "qualtrics", "resident"),
    "odk central": (odk_central, "odk", "resident"),
    "kobo": (kobo, "odk", "resident"),
    "spss": (spss, "plain", "resident"),
    "html form": (html_form, "html", "_respondent"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_platform_exports_read_back_to_the_same_values(layout, tmp_path):
    build, source, id_column = LAYOUTS[layout]
    path = build(tmp_path)
    before = path.read_bytes()
    responses = sdt_survey.read_responses(path, FIXTURE)
    assert responses.source == source, responses.detection
    assert responses.absent_items == []
    scored = sdt_survey.score(FIXTURE, responses, id_column=id_column)
    items = scored.items
    for item in ("as1", "rs4", "gate", "halfdays"):
        np.testing.assert_array_equal(
            items[item].to_numpy(dtype=float),
            np.array(EXPECTED[item], dtype=float),
            err_msg=f"{layout}: {item}",
        )
    assert [None if pd.isna(c) else c for c in items["sources"]] == EXPECTED["sources"], layout
    assert [None if pd.isna(c) else c for c in items["comment"]] == EXPECTED["comment"], layout
    # Respondent 1 answered twice, in two waves: not a duplicate.
    assert len(scored.scores) == 4
    # The skipped code is missing with its reason, not an invalid cell.
    assert (scored.scores["n_invalid"] == 0).all()
    assert path.read_bytes() == before


def test_qualtrics_identifiers_and_duration(tmp_path):
    scored = sdt_survey.score(FIXTURE, qualtrics(tmp_path), id_column="resident")
    for column in (
        "IPAddress",
        "RecipientEmail",
        "RecipientLastName",
        "LocationLatitude",
        "ExternalReference",
    ):
        assert column not in scored.scores
    assert scored.scores["seconds_per_item"].iloc[0] == pytest.approx(300 / 6)  # six items answered
    assert "row" in scored.scores and scored.scores["row"].tolist() == [4, 5, 6, 7]


def test_kobo_rows_count_the_hashtag_row(tmp_path):
    responses = sdt_survey.read_responses(kobo(tmp_path), FIXTURE)
    assert responses.rows.tolist() == [3, 4, 5, 6]


def test_spss_user_missing_and_value_labels(tmp_path):
    responses = sdt_survey.read_responses(spss(tmp_path), FIXTURE)
    assert responses.user_missing["rs4"] == {-99.0}
    scored = sdt_survey.score(FIXTURE, responses, id_column="resident")
    assert scored.report.issues.query("problem == 'missing_code'")["row"].tolist() == [3]


def test_ambiguous_layout_asks_for_the_source(tmp_path):
    path = _write_csv(tmp_path / "mixed.csv", [["record_id", "_uuid", "as1"], ["1", "x", "3"]])
    with pytest.raises(sdt_survey.SdtSurveyError, match="say which with source=NAME"):
        sdt_survey.read_responses(path, FIXTURE)
    assert sdt_survey.read_responses(path, FIXTURE, source="redcap").source == "redcap"


def test_mapping_file(tmp_path):
    path = _write_csv(tmp_path / "renamed.csv", [["who", "Q_a", "Q_b", "gate"], ["1", "4", "2", "0"]])
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  Q_a: as1\n  Q_b: rs4\n")
    responses = sdt_survey.read_responses(path, FIXTURE, mapping=mapping)
    assert responses.item_columns["as1"] == ["Q_a"]
    mapping.write_text("columns:\n  Q_a: as11\n")
    with pytest.raises(sdt_survey.SdtSurveyError, match="no such item; did you mean 'as1'"):
        sdt_survey.read_responses(path, FIXTURE, mapping=mapping)


@pytest.mark.parametrize("suffix", [".xlsx", ".dta", ".parquet", ".jsonl", ".tsv"])
def test_plain_formats(tmp_path, suffix):
    frame = pd.DataFrame(
        {"resident": ["a", "b"], "as1": [4, 2], "rs4": [1, 5], "gate": [0, 1], "halfdays": [None, 3]}
    )
    path = tmp_path / f"plain{suffix}"
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif suffix == ".dta":
        frame.to_stata(path, write_index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, sep="\t", index=False)
    scored = sdt_survey.score(FIXTURE, path, id_column="resident", invalid="as-missing")
    assert scored.items["as1"].tolist() == [4, 2]
    assert scored.scores["support"].tolist() == [(4 + 5) / 2, (2 + 1) / 2]


def test_ragged_csv_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("resident,as1\na,3\nb,4,5\n")
    with pytest.raises(
        sdt_survey.SdtSurveyError, match=r"ragged.csv:3: this row has 3 fields but the header has 2"
    ):
        sdt_survey.read_responses(path, FIXTURE)
