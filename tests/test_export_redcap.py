"""REDCap data dictionary: REDCap's rules, the structure of each field, and the round trip.

The round trip writes responses in REDCap's raw CSV export layout for the
generated dictionary (``record_id``, ``redcap_event_name``, ``<form>_timestamp``,
the fields, checkbox ``field___code`` columns, ``<form>_complete``, as REDCap's
``Records::getData`` writes them; see docs/scoring.md) and reads them back with
``sdt_survey.score``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.instrument.expressions import BoolOp, Comparison, Membership, Not, parse_expression
from sdt_survey.platforms import build_survey
from sdt_survey.platforms.redcap import (
    COLUMNS,
    branching_logic,
    build_dictionary,
    check_dictionary,
    read_dictionary,
)
from sdt_survey.responses import redcap_checkbox_code
from tests.export_support import (
    COMBINATION,
    expected_values,
    holds,
    make_answers,
    observed_values,
    placeholder_texts,
)

TRUTH5 = "1, Not at all true | 2, Slightly true | 3, Moderately true | 4, Very true | 5, Completely true"

ALL_KINDS = sdt_survey.load_instrument(Path(__file__).parent / "fixtures" / "all-kinds.yaml")


def export(instruments, tmp_path: Path, name: str = "dictionary.csv", **kwargs):
    out = tmp_path / name
    result = sdt_survey.export_survey(instruments, "redcap", out, **kwargs)
    return result, read_dictionary(out)


EVERY_EXPORT = [[name] for name in sdt_survey.bundled_instruments()] + [COMBINATION]


# ------------------------------------------------------------------ every instrument


@pytest.mark.parametrize("instruments", EVERY_EXPORT, ids=["+".join(i) for i in EVERY_EXPORT])
def test_every_bundled_instrument_exports_a_dictionary_redcap_accepts(instruments, tmp_path):
    texts = placeholder_texts() if instruments == ["bpnsfs-keys"] else None
    result, frame = export(instruments, tmp_path, texts=texts)
    assert result.paths == [tmp_path / "dictionary.csv"]
    assert list(frame.columns) == COLUMNS
    assert check_dictionary(frame) == []
    loaded = [sdt_survey.load_instrument(name) for name in instruments]
    expected_ids = ["record_id", *(item_id for inst in loaded for item_id in inst.display_order)]
    assert frame["Variable / Field Name"].tolist() == expected_ids
    # Forms named per instrument, in order, each contiguous.
    forms = frame["Form Name"].tolist()
    assert list(dict.fromkeys(forms)) == [inst.id.replace("-", "_") for inst in loaded]
    # Provenance: every field records the instrument and version it came from.
    for row in frame.iloc[1:].itertuples(index=False):
        inst = next(i for i in loaded if row[0] in i.item_ids)
        assert row[-1].startswith(f"sdt-survey: {inst.id} {inst.version}")
    provenance = "; ".join(f"{i.id} {i.version}" for i in loaded)
    stamp = " ".join(i.stamp for i in loaded)  # issue 14: the record-id row also carries the stamp
    assert frame.loc[0, "Field Annotation"] == f"sdt-survey: {provenance}; stamp {stamp}"
    # The scales' missing codes are notes to declare by hand, not choices.
    assert any("Missing Data Codes" in note and "-99, Skipped" in note for note in result.notes)
    assert not frame["Choices, Calculations, OR Slider Labels"].str.contains("-99").any()


def test_bpnsfs_keys_without_wording_is_refused_naming_the_items(tmp_path):
    with pytest.raises(sdt_survey.SdtSurveyError, match=r"bpnsfs_01, bpnsfs_02.*texts=FILE"):
        sdt_survey.export_survey("bpnsfs-keys", "redcap", tmp_path / "d.csv")
    assert not (tmp_path / "d.csv").exists()
    _, frame = export("bpnsfs-keys", tmp_path, texts=placeholder_texts())
    assert frame.loc[1, "Field Label"] == "Placeholder statement number 1."


# -------------------------------------------------------------------------- structure


def test_likert_items_of_a_section_share_one_matrix_with_identical_choices(tmp_path):
    _, frame = export("bpn-residency", tmp_path)
    likert = frame.iloc[1:]
    assert set(likert["Matrix Group Name"]) == {"needs_truth5"}
    assert set(likert["Field Type"]) == {"radio"}
    assert set(likert["Choices, Calculations, OR Slider Labels"]) == {TRUTH5}
    assert set(likert["Required Field?"]) == {"y"}
    # The section header sits on the first field of the matrix only.
    assert likert["Section Header"].iloc[0].startswith("<b>Your experience of residency</b><br>Think about")
    assert (likert["Section Header"].iloc[1:] == "").all()
    # Reverse-keyed items keep the natural order of choices (scoring reverses them).
    reverse = frame.set_index("Variable / Field Name").loc[["as4", "rs4", "cs4"]]
    assert set(reverse["Choices, Calculations, OR Slider Labels"]) == {TRUTH5}
    assert reverse["Field Annotation"].str.endswith("reverse-keyed (scored 6 - x)").all()


def test_combination_has_one_matrix_per_section_and_scale(tmp_path):
    _, frame = export(COMBINATION, tmp_path)
    groups = frame.groupby("Matrix Group Name", sort=False)["Variable / Field Name"].apply(list)
    assert groups.to_dict() == {
        "": ["record_id", "has_usual_preceptor", "clinic_halfdays_4wk", "halfdays_with_preceptor",
             "coach_meetings_year", "longitudinal_team"],
        "needs_truth5": sdt_survey.load_instrument("bpn-residency").display_order,
        "perceived_agree5": ["pcs1", "pcs2", "pcs3", "pcs4"],
        "belonging_agree5": ["pb1", "pb2", "pb3", "pb4", "pb5", "pb6", "pb7"],
    }  # fmt: skip


def test_continuity_fields_types_validation_and_branching(tmp_path):
    _, frame = export("continuity-exposure", tmp_path)
    rows = frame.set_index("Variable / Field Name")
    half = rows.loc["halfdays_with_preceptor"]
    assert half["Branching Logic (Show field only if...)"] == (
        "[has_usual_preceptor] = '1' and [clinic_halfdays_4wk] > 0"
    )
    assert (half["Field Type"], half["Text Validation Type OR Show Slider Number"]) == ("text", "integer")
    assert (half["Text Validation Min"], half["Text Validation Max"]) == ("0", "40")
    assert rows.loc["has_usual_preceptor", "Choices, Calculations, OR Slider Labels"] == "1, Yes | 0, No"
    assert rows.loc["coach_meetings_year", "Required Field?"] == ""
    assert rows.loc["coach_meetings_year", "Text Validation Max"] == "60"


def test_every_item_type(tmp_path):
    _, frame = export(ALL_KINDS, tmp_path)
    assert check_dictionary(frame) == []
    rows = frame.set_index("Variable / Field Name")
    kinds = rows[["Field Type", "Text Validation Type OR Show Slider Number", "Matrix Group Name"]]
    assert kinds.apply(tuple, axis=1).to_dict() == {
        "record_id": ("text", "", ""),
        "gate": ("radio", "", ""),
        "pgy": ("radio", "", ""),
        "halfdays": ("text", "integer", ""),
        "hours": ("text", "number", ""),
        "sources": ("checkbox", "", ""),
        "started": ("text", "date_ymd", ""),
        "t1": ("radio", "", "ratings_truth5"),
        "t2": ("radio", "", "ratings_truth5"),
        "o1": ("radio", "", "ratings_often4"),
        "o2": ("radio", "", "ratings_often4"),
        "t3": ("radio", "", "ratings_truth5_2"),
        "comment": ("notes", "", ""),
    }
    assert rows.loc["hours", "Text Validation Max"] == "80.5"
    assert (
        rows.loc["sources", "Choices, Calculations, OR Slider Labels"]
        == "1, Faculty | 2, Co-residents | -99, Skipped"
    )
    assert (
        rows.loc["o1", "Choices, Calculations, OR Slider Labels"]
        == "0, Never | 1, Sometimes | 2, Often | 3, Always"
    )
    branching = rows["Branching Logic (Show field only if...)"]
    assert branching.to_dict() == {
        "record_id": "",
        "gate": "",
        "pgy": "",
        "halfdays": "[gate] = '1'",
        "hours": "[pgy] <> '1' and ([halfdays] = '' or [halfdays] <= 10)",
        "sources": "",
        "started": "[sources(1)] = '1'",
        "t1": "",
        "t2": "[sources(2)] = '0'",
        "o1": "",
        "o2": "[pgy] > 1",
        "t3": "",
        "comment": "[pgy] <> '3'",
    }
    text_frame = build_dictionary(build_survey(ALL_KINDS), text_field="text")
    assert text_frame.set_index("Variable / Field Name").loc["comment", "Field Type"] == "text"


ITEMS = {item.id: item for item in ALL_KINDS.items}


@pytest.mark.parametrize(
    ("show_if", "logic"),
    [
        ("gate == 1", "[gate] = '1'"),
        ("gate != 1", "[gate] <> '1'"),
        ("1 == gate", "[gate] = '1'"),
        ("10 < halfdays", "[halfdays] > 10"),
        ("halfdays >= 2.5", "[halfdays] >= 2.5"),
        ("pgy in [2, 3]", "[pgy] = '2' or [pgy] = '3'"),
        ("pgy not in [2, 3]", "[pgy] <> '2' and [pgy] <> '3'"),
        ("sources in [1, -99]", "[sources(1)] = '1' or [sources(-99)] = '1'"),
        ("sources not in [1, -99]", "[sources(1)] = '0' and [sources(-99)] = '0'"),
        ("not sources == 2", "[sources(2)] = '0'"),
        ("not (gate == 1 and halfdays < 3)", "[gate] <> '1' or ([halfdays] = '' or [halfdays] >= 3)"),
        ("not not gate == 0", "[gate] = '0'"),
        ("gate == 1 and (pgy == 2 or pgy == 3)", "[gate] = '1' and ([pgy] = '2' or [pgy] = '3')"),
        ('comment == "it\'s"', '[comment] = "it\'s"'),
        ("halfdays > hours", "[halfdays] > [hours]"),
        ("started > '2024-01-01'", "[started] > '2024-01-01'"),
    ],
)
def test_show_if_translation(show_if, logic):
    assert branching_logic(parse_expression(show_if), ITEMS) == logic


def _negation_free(expr) -> bool:
    if isinstance(expr, Not):
        return False
    if isinstance(expr, BoolOp):
        return all(_negation_free(operand) for operand in expr.operands)
    return isinstance(expr, (Comparison, Membership))


def test_translation_never_uses_not_and_keeps_the_meaning_for_unanswered_items():
    from sdt_survey.instrument.expressions import evaluate
    from sdt_survey.platforms.redcap import negation_normal_form

    frame = pd.DataFrame({"a": [1, 2, None, 5, None], "b": [0, 9, 3, None, None]})
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]
    for text in ("not (a == 1 or b > 2)", "not (a > 1 and not b <= 3)", "not a in [1, 2]", "not a > b"):
        expr = parse_expression(text)
        normal = negation_normal_form(expr)
        assert _negation_free(normal), text
        # The package's own evaluation of the original is the reference for unanswered items.
        reference = evaluate(expr, frame).tolist()
        assert [holds(expr, row) for row in rows] == reference, text
        assert [holds(normal, row) for row in rows] == reference, text
        logic = branching_logic(expr, {"a": ITEMS["halfdays"], "b": ITEMS["hours"]})
        assert " not " not in f" {logic} ", logic


def test_spanish_dictionary(tmp_path):
    _, frame = export("bpn-residency", tmp_path, language="es")
    rows = frame.set_index("Variable / Field Name")
    assert (
        rows.loc["as1", "Field Label"] == "Tengo voz real en cómo organizo mi trabajo durante una rotación."
    )
    assert rows.loc["as1", "Choices, Calculations, OR Slider Labels"].startswith(
        "1, Nada cierto | 2, Ligeramente"
    )
    assert rows.loc["as1", "Section Header"].startswith("<b>Su experiencia en la residencia</b>")


def test_an_item_named_record_id_is_refused(tmp_path):
    text = "schema_version: 1\nid: clash\nversion: '1.0.0'\nitems:\n"
    text += "  - {id: record_id, text: Your id, type: text}\n"
    with pytest.raises(sdt_survey.SdtSurveyError, match="record_id"):
        export(sdt_survey.parse_instrument(text), tmp_path)


# ----------------------------------------------------------------- the check, broken


def good_dictionary() -> pd.DataFrame:
    return build_dictionary(build_survey(ALL_KINDS))


def _row(frame: pd.DataFrame, name: str) -> int:
    return int(np.flatnonzero(frame["Variable / Field Name"] == name)[0])


def _set(name: str, column: str, value: str):
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.iloc[_row(frame, name), COLUMNS.index(column)] = value
        return frame

    return change


CHOICES, LOGIC = "Choices, Calculations, OR Slider Labels", "Branching Logic (Show field only if...)"
VALIDATION = "Text Validation Type OR Show Slider Number"
BROKEN = {
    "duplicate name": (_set("pgy", "Variable / Field Name", "gate"), "field 'gate': duplicate field name"),
    "uppercase name": (_set("pgy", "Variable / Field Name", "PGY"), "lowercase letters, digits and '_'"),
    "name starts with a digit": (_set("pgy", "Variable / Field Name", "1pgy"), "starting with a letter"),
    "name too long": (_set("pgy", "Variable / Field Name", "p" * 27), "27 characters long"),
    "reserved name": (_set("pgy", "Variable / Field Name", "redcap_event_name"), "reserved by REDCap"),
    "form's own column": (_set("pgy", "Variable / Field Name", "all_kinds_complete"), "REDCap's own column"),
    "form split in two": (_set("pgy", "Form Name", "other"), "form 'all_kinds' continues after another form"),
    "bad form name": (_set("record_id", "Form Name", "All-Kinds"), "form name 'All-Kinds' must be"),
    "bad field type": (_set("pgy", "Field Type", "select"), "'select' is not a REDCap field type"),
    "choice without label": (_set("pgy", CHOICES, "1, PGY-1 | 2"), "'2' is not 'code, label'"),
    "repeated choice code": (_set("pgy", CHOICES, "1, a | 1, b"), "appears twice"),
    "bad choice code": (_set("pgy", CHOICES, "1, a | x y, b"), "choice code 'x y'"),
    "radio without choices": (_set("pgy", CHOICES, ""), "needs choices"),
    "choices on a text field": (_set("halfdays", CHOICES, "1, a"), "takes no choices"),
    "unknown validation": (_set("halfdays", VALIDATION, "int"), "unknown text validation"),
    "validation on a radio": (_set("pgy", VALIDATION, "integer"), "applies to text fields, not radio"),
    "min above max": (_set("halfdays", "Text Validation Min", "50"), "min 50 is larger than max 40"),
    "fractional integer bound": (_set("halfdays", "Text Validation Max", "4.5"), "not a whole number"),
    "bound without validation": (_set("comment", "Text Validation Max", "4"), "need a validation type"),
    "matrix choices differ": (
        _set("t2", CHOICES, "1, Not at all true | 2, Slightly true"),
        "choices differ from the first field of the group ('t1')",
    ),
    "matrix not contiguous": (_set("t3", "Matrix Group Name", "ratings_truth5"), "must be contiguous"),
    "matrix of text fields": (
        _set("comment", "Matrix Group Name", "ratings_text"),
        "must be radio or checkbox",
    ),
    "branching to a later field": (
        _set("halfdays", LOGIC, "[t1] = '1'"),
        "[t1] is not a field defined before",
    ),
    "branching to an unknown field": (_set("halfdays", LOGIC, "[gaet] = '1'"), "[gaet] is not a field"),
    "branching to itself": (_set("halfdays", LOGIC, "[halfdays] > 1"), "[halfdays] is not a field defined"),
    "checkbox without its option": (
        _set("started", LOGIC, "[sources] = '1'"),
        "must be referenced by option",
    ),
    "unknown checkbox option": (_set("started", LOGIC, "[sources(7)] = '1'"), "'7' is not a choice code"),
    "option of a radio": (_set("halfdays", LOGIC, "[gate(1)] = '1'"), "'gate' is not a checkbox"),
    "unbalanced parentheses": (_set("halfdays", LOGIC, "([gate] = '1'"), "parentheses are not balanced"),
    "not keyword": (_set("halfdays", LOGIC, "not [gate] = '1'"), "unexpected 'not'"),
    "unclosed quote": (_set("halfdays", LOGIC, "[gate] = '1"), "a quote is not closed"),
    "required flag": (_set("halfdays", "Required Field?", "yes"), "'Required Field?' must be 'y' or blank"),
    "record id not first": (_set("record_id", "Field Type", "radio"), "the first field is the record id"),
    "empty label": (_set("pgy", "Field Label", ""), "the field label is empty"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_check_dictionary_finds_each_broken_rule(case):
    breaks, message = BROKEN[case]
    problems = check_dictionary(breaks(good_dictionary()).reset_index(drop=True))
    assert any(message in problem for problem in problems), problems


def test_check_dictionary_names_row_and_field_and_wrong_columns():
    frame = _set("pgy", "Variable / Field Name", "gate")(good_dictionary())
    assert "row 4: field 'gate': duplicate field name (first at row 3)" in check_dictionary(frame)
    assert check_dictionary(good_dictionary().drop(columns="Field Note"))[0].startswith(
        "the columns must be REDCap's 18 data dictionary columns in order; missing: Field Note"
    )
    reordered = good_dictionary()[[COLUMNS[1], COLUMNS[0], *COLUMNS[2:]]]
    assert "(order differs)" in check_dictionary(reordered)[0]


def test_a_dictionary_failing_the_check_is_not_written(tmp_path, monkeypatch):
    from sdt_survey.platforms import redcap

    monkeypatch.setattr(redcap, "check_dictionary", lambda frame: ["row 2: field 'x': broken"])
    with pytest.raises(sdt_survey.SdtSurveyError, match="would be refused:\n  row 2: field 'x': broken"):
        sdt_survey.export_survey("program-belonging", "redcap", tmp_path / "d.csv")
    assert not (tmp_path / "d.csv").exists()


# ------------------------------------------------------------------------ round trip


def redcap_raw_export(dictionary: pd.DataFrame, records: list[dict], path: Path, events: bool) -> Path:
    """Responses in REDCap's raw CSV export layout for ``dictionary`` (Data Export page)."""
    fields = dictionary.iloc[1:]
    header = ["record_id"] + (["redcap_event_name"] if events else [])
    forms = list(dict.fromkeys(fields["Form Name"]))
    for form in forms:
        header.append(f"{form}_timestamp")
        for row in fields[fields["Form Name"] == form].itertuples(index=False):
            name, field_type, choices = row[0], row[3], row[5]
            if field_type == "checkbox":
                codes = [part.split(",")[0].strip() for part in choices.split("|")]
                header += [f"{name}___{redcap_checkbox_code(code)}" for code in codes]
            else:
                header.append(name)
        header.append(f"{form}_complete")
    rows = [header]
    for number, record in enumerate(records, start=1):
        cells = {"record_id": str(number), "redcap_event_name": "baseline_arm_1"}
        for form in forms:
            cells[f"{form}_timestamp"] = "2024-03-04 10:22:31" if number % 2 else "[not completed]"
            cells[f"{form}_complete"] = "2"
        for row in fields.itertuples(index=False):
            name, field_type, choices = row[0], row[3], row[5]
            value = record[name]
            if field_type == "checkbox":
                for part in choices.split("|"):
                    code = part.split(",")[0].strip()
                    ticked = any(str(v) == code for v in (value or []))
                    cells[f"{name}___{redcap_checkbox_code(code)}"] = "1" if ticked else "0"
            elif value is None:
                cells[name] = ""
            else:
                text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
                # The Data Export page puts a space before a value starting with '-' (CSV injection guard).
                cells[name] = " " + text if text.startswith("-") else text
        rows.append([cells[column] for column in header])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize(
    ("instruments", "events"),
    [(COMBINATION, False), (COMBINATION, True), ([ALL_KINDS], True), (["bpn-residency"], False)],
    ids=["combination", "combination-longitudinal", "all-kinds", "bpn-residency"],
)
def test_raw_export_reads_back_to_the_same_item_values(instruments, events, tmp_path):
    _, dictionary = export(instruments, tmp_path)
    loaded = [sdt_survey.load_instrument(i) if isinstance(i, str) else i for i in instruments]
    items = [item for inst in loaded for item_id in inst.display_order for item in [inst.item(item_id)]]
    records = make_answers(items, skipped_codes=True)
    path = redcap_raw_export(dictionary, records, tmp_path / "export.csv", events)
    scored = sdt_survey.score(loaded, path, id_column="record_id")
    assert scored.report.source == "redcap"
    assert scored.report.issues.query("severity == 'error'").empty, scored.report.summary()
    assert "answered_when_hidden" not in set(scored.report.issues["problem"])
    for item in items:
        assert observed_values(scored.items[item.id]) == expected_values(item, records), item.id
    skipped = scored.report.issues.query("problem == 'missing_code'")
    assert len(skipped) == sum(
        1 for r in records for i in items if i.scale is not None and r[i.id] in i.scale.missing_codes
    )
    assert scored.scores["record_id"].tolist() == [str(k) for k in range(1, len(records) + 1)]


def test_reader_evaluates_show_if_on_a_multiple_item_by_selected_option(tmp_path):
    _, dictionary = export(ALL_KINDS, tmp_path)
    records = make_answers(ALL_KINDS.items, skipped_codes=True)
    path = redcap_raw_export(dictionary, records, tmp_path / "export.csv", events=False)
    scored = sdt_survey.score(ALL_KINDS, path, id_column="record_id")
    assert "answered_when_hidden" not in set(scored.report.issues["problem"])


def test_labels_header_is_what_redcap_derives_from_the_dictionary(tmp_path):
    # REDCap's labels export repeats the field label as the header; it must match the item wording.
    _, dictionary = export("continuity-exposure", tmp_path)
    labels = dict(zip(dictionary["Variable / Field Name"], dictionary["Field Label"], strict=True))
    for item in sdt_survey.load_instrument("continuity-exposure").items:
        assert labels[item.id] == str(item.text)
