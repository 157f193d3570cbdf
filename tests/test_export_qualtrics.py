"""Qualtrics Advanced Format: the import file, the display-logic notes, and the round trip.

The round trip parses the generated .txt, writes responses in Qualtrics' CSV
export layout for it (three header rows: export tags, ``<question> - <sub-item>``
texts, ``{"ImportId": ...}``; numeric values, split multiple-answer columns),
both with the ``[[ID:]]`` export tags applied and with Qualtrics' own ``Q1``,
``Q2_1`` names, and reads them back with ``sdt_survey.score``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

import sdt_survey
from sdt_survey.platforms import build_survey
from sdt_survey.platforms.qualtrics import build_blocks, matrix_columns
from tests.export_support import (
    COMBINATION,
    expected_values,
    make_answers,
    observed_values,
    placeholder_texts,
)

TRUTH5 = ["Not at all true", "Slightly true", "Moderately true", "Very true", "Completely true"]

# Every kind of item, with branching on each kind (the same instrument as in test_export_redcap.py).
ALL_KINDS = sdt_survey.load_instrument(Path(__file__).parent / "fixtures" / "all-kinds.yaml")


def export(instruments, tmp_path: Path, **kwargs):
    out = tmp_path / "survey.txt"
    # Tests export several surveys in turn to the same file: each replaces the last.
    result = sdt_survey.export_survey(instruments, "qualtrics", out, overwrite=True, **kwargs)
    return result, out.read_text(encoding="utf-8")


def parse_advanced_format(text: str) -> tuple[list[str], list[dict]]:
    """Block names and questions of an Advanced Format file, as Qualtrics reads them."""
    blocks: list[str] = []
    questions: list[dict] = []
    current: dict | None = None
    section = "text"
    pending: list | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if match := re.fullmatch(r"\[\[Block:(.+)\]\]", line):
            blocks.append(match[1])
            current = None
        elif line in ("[[PageBreak]]", "[[AdvancedFormat]]"):
            current = None
        elif match := re.fullmatch(r"\[\[Question:(.+)\]\]", line):
            current = {
                "kind": match[1],
                "id": None,
                "text": "",
                "rows": [],
                "answers": [],
                "block": len(blocks),
            }
            questions.append(current)
            section = "text"
        elif match := re.fullmatch(r"\[\[ID:(.+)\]\]", line):
            current["id"] = match[1]
        elif line in ("[[Choices]]", "[[AdvancedChoices]]", "[[AdvancedAnswers]]"):
            section = "answers" if line == "[[AdvancedAnswers]]" else "rows"
        elif match := re.fullmatch(r"\[\[(?:Choice|Answer):(-?\d+)\]\]", line):
            pending = [int(match[1]), ""]
            current[section].append(pending)
        elif line.startswith("[["):
            raise AssertionError(f"unexpected tag {line}")
        elif section == "text":
            current["text"] += line
        elif pending is not None and not pending[1]:
            pending[1] = line
        else:
            current[section].append([len(current[section]) + 1, line])
    for question in questions:
        question["rows"] = [tuple(row) for row in question["rows"]]
        question["answers"] = [tuple(answer) for answer in question["answers"]]
    return blocks, questions


EVERY_EXPORT = [[name] for name in sdt_survey.bundled_instruments()] + [COMBINATION, [ALL_KINDS]]


# -------------------------------------------------------------------------- structure


@pytest.mark.parametrize("instruments", EVERY_EXPORT, ids=[str(i) for i in range(len(EVERY_EXPORT))])
def test_every_instrument_exports_an_advanced_format_file(instruments, tmp_path):
    texts = placeholder_texts() if instruments == ["bpnsfs-keys"] else None
    result, text = export(instruments, tmp_path, texts=texts)
    notes_path = tmp_path / "survey.notes.md"
    assert result.paths == [tmp_path / "survey.txt", notes_path]
    assert text.splitlines()[0] == "[[AdvancedFormat]]"
    loaded = [sdt_survey.load_instrument(i) if isinstance(i, str) else i for i in instruments]
    blocks, questions = parse_advanced_format(text)
    sections = [(inst, section) for inst in loaded for section in inst.sections]
    assert len(blocks) == len(sections)
    for name, (inst, section) in zip(blocks, sections, strict=True):
        assert name.endswith(f"({inst.id} {inst.version})") and section.id in name
    assert text.count("[[PageBreak]]") == len(sections) - 1
    ids = [q["id"] for q in questions]
    assert None not in ids and len(set(ids)) == len(ids)
    # Provenance in a descriptive text first, and in the notes.
    provenance = "; ".join(f"{inst.id} {inst.version}" for inst in loaded)
    assert questions[0]["kind"] == "DB" and questions[0]["id"] == "sdt_provenance"
    assert f"sdt-survey: {provenance}" in questions[0]["text"]
    notes = notes_path.read_text(encoding="utf-8")
    assert f"Generated by sdt-survey from {provenance}" in notes
    # Every item is asked exactly once: by its own id, or as a matrix statement.
    asked = [q["id"] for q in questions if q["kind"] not in ("Matrix", "DB")]
    asked += list(matrix_columns(build_blocks(build_survey(loaded, texts=texts))[0]).values())
    assert sorted(asked) == sorted(item.id for inst in loaded for item in inst.items)
    shown_if = [item.id for inst in loaded for item in inst.items if item.show_if is not None]
    assert [w.split(":")[0] for w in result.warnings if "display logic by hand" in w] == shown_if


def test_bpnsfs_keys_without_wording_is_refused_naming_the_items(tmp_path):
    with pytest.raises(sdt_survey.SdtSurveyError, match=r"bpnsfs_01, bpnsfs_02.*texts=FILE"):
        sdt_survey.export_survey("bpnsfs-keys", "qualtrics", tmp_path / "s.txt")
    assert not (tmp_path / "s.txt").exists()


def test_likert_matrix_recodes_are_the_scale_codes_in_natural_order(tmp_path):
    _, text = export("bpn-residency", tmp_path)
    _, questions = parse_advanced_format(text)
    matrix = questions[1]
    assert (matrix["kind"], matrix["id"]) == ("Matrix", "needs")
    assert matrix["answers"] == list(enumerate(TRUTH5, start=1))
    bpn = sdt_survey.load_instrument("bpn-residency")
    assert [row for _, row in matrix["rows"]] == [str(bpn.item(i).text) for i in bpn.display_order]
    # Reverse-keyed items are statements of the same matrix, with the same (not reversed) answers.
    assert (
        "I rarely get to decide anything about how my training day unfolds." in dict(matrix["rows"]).values()
    )
    assert matrix["text"].startswith("<b>Your experience of residency</b><br>Think about the past month")
    assert "[[Question:Matrix]]\n[[ID:needs]]\n" in text
    assert "[[AdvancedAnswers]]\n[[Answer:1]]\nNot at all true\n[[Answer:2]]\nSlightly true\n" in text


def test_spanish_file(tmp_path):
    _, text = export("bpn-residency", tmp_path, language="es")
    _, questions = parse_advanced_format(text)
    matrix = questions[1]
    assert matrix["answers"][0] == (1, "Nada cierto")
    assert matrix["rows"][0][1] == "Tengo voz real en cómo organizo mi trabajo durante una rotación."
    assert matrix["text"].startswith("<b>Su experiencia en la residencia</b>")
    assert "Necesidades Psicológicas Básicas en la Residencia" in questions[0]["text"]


def test_question_types_and_choices(tmp_path):
    _, text = export([ALL_KINDS], tmp_path)
    _, questions = parse_advanced_format(text)
    kinds = {q["id"]: q["kind"] for q in questions}
    assert kinds == {
        "sdt_provenance": "DB",
        "about_intro": "DB",
        "gate": "MC:SingleAnswer:Vertical",
        "pgy": "MC:SingleAnswer:Vertical",
        "halfdays": "TE:SingleLine",
        "hours": "TE:SingleLine",
        "sources": "MC:MultipleAnswer:Vertical",
        "started": "TE:SingleLine",
        "ratings": "Matrix",
        "ratings_2": "Matrix",
        "ratings_3": "Matrix",
        "comment": "TE:Essay",
    }
    by_id = {q["id"]: q for q in questions}
    assert by_id["gate"]["rows"] == [(1, "Yes"), (0, "No")]
    assert by_id["sources"]["rows"] == [(1, "Faculty"), (2, "Co-residents"), (-99, "Skipped")]
    assert by_id["ratings_2"]["answers"] == [(0, "Never"), (1, "Sometimes"), (2, "Often"), (3, "Always")]
    assert [r for _, r in by_id["ratings"]["rows"]] == ["I choose how to run my clinic sessions.",
                                                        "Nobody would notice if I struggled."]  # fmt: skip
    assert by_id["ratings"]["text"] == "<b>Your clinic</b>"
    assert by_id["about_intro"]["text"] == "<b>About you</b><br>A few facts first."
    assert "[[Choice:-99]]\nSkipped\n" in text


def test_display_logic_for_halfdays_with_preceptor_in_words_and_qualtrics_terms(tmp_path):
    result, _ = export(COMBINATION, tmp_path)
    assert result.warnings == [
        "halfdays_with_preceptor: set its display logic by hand in Qualtrics: show only if "
        'has_usual_preceptor is "Yes" (1) and clinic_halfdays_4wk is greater than 0 (see survey.notes.md)'
    ]
    notes = (tmp_path / "survey.notes.md").read_text(encoding="utf-8")
    assert "### halfdays_with_preceptor" in notes
    assert 'Show only if has_usual_preceptor is "Yes" (1) and clinic_halfdays_4wk is greater than 0.' in notes
    assert "on question halfdays_with_preceptor (question menu > Display Logic)" in notes
    assert '    If Question has_usual_preceptor › "Yes" › Is Selected\n' in notes
    assert "    And If Question clinic_halfdays_4wk › Text Response › Is Greater Than › 0\n" in notes
    # What else must be set by hand, and how the data comes back.
    assert "- clinic_halfdays_4wk: Validation > Content validation > Number: a whole number" in notes
    assert "- needs: Response requirements > Force response" in notes
    assert "--source qualtrics --id-column ResponseId" in notes
    assert "  needs_1: as1\n" in notes and "  belonging_7: pb7\n" in notes


def test_display_logic_of_every_kind(tmp_path):
    result, _ = export([ALL_KINDS], tmp_path)
    notes = (tmp_path / "survey.notes.md").read_text(encoding="utf-8")
    words = {w.split(":")[0]: w.split("show only if ")[1].rsplit(" (see", 1)[0] for w in result.warnings}
    assert words == {
        "halfdays": 'gate is "Yes" (1)',
        "hours": 'pgy is not "PGY-1" (1) and (halfdays is unanswered or halfdays is at most 10)',
        "started": 'sources includes "Faculty" (1)',
        "t2": 'sources does not include "Co-residents" (2)',
        "o2": 'pgy is one of "PGY-2" (2), "PGY-3" (3)',
        "comment": 'pgy is not "PGY-3" (3)',
    }
    assert (
        '    If Question pgy › "PGY-1" › Is Not Selected\n'
        "    And If (Question halfdays › Text Response › Is Empty OR Question halfdays › Text Response › "
        "Is Less Than or Equal To › 10)\n"
    ) in notes
    assert '    If Question pgy › "PGY-2" › Is Selected OR Question pgy › "PGY-3" › Is Selected\n' in notes
    assert 'statement "Nobody would notice if I struggled." of matrix ratings' in notes
    assert "- hours: Validation > Content validation > Number: a number, min 0, max 80.5" in notes
    assert "- started: Validation > Content validation > Date" in notes


ODD = """
schema_version: 1
id: odd
version: "2.0.0"
items:
  - id: site
    text: Your site
    type: single
    choices: [{value: north, label: North}, {value: south, label: South}]
  - {id: a, text: First count, type: integer}
  - {id: b, text: Second count, type: integer, show_if: SHOW_IF}
"""


def test_what_qualtrics_cannot_hold_is_a_warning(tmp_path):
    result, body = export([sdt_survey.parse_instrument(ODD.replace("SHOW_IF", "a > 1"))], tmp_path)
    assert any("site: Qualtrics recode values are numbers" in w for w in result.warnings)
    assert "[[Choice:1]]\nNorth\n[[Choice:2]]\nSouth" in body
    assert "- site: choices are numbered 1..k" in (tmp_path / "survey.notes.md").read_text(encoding="utf-8")
    result, _ = export([sdt_survey.parse_instrument(ODD.replace("SHOW_IF", "a < site"))], tmp_path)
    assert any("cannot compare two questions (a is less than site)" in w for w in result.warnings)


# ------------------------------------------------------------------------ round trip


def _cell(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


META = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
        "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
        "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel",
        "UserLanguage"]  # fmt: skip


def qualtrics_csv(text: str, survey, records: list[dict], path: Path, tags_applied: bool) -> Path:
    """Responses in Qualtrics' CSV export layout (numeric values, split multi-value fields)."""
    by_text = {survey.item_text(item): item for item in survey.items}
    columns: list[tuple[str, str, dict, object]] = []  # (row 1, row 2, row 3, how to get the value)
    _, questions = parse_advanced_format(text)
    for number, question in enumerate(questions, start=1):
        tag = question["id"] if tags_applied else f"Q{number}"
        if question["kind"] == "Matrix":
            for k, statement in question["rows"]:
                import_id = {"ImportId": f"QID{number}_{k}"}
                columns.append(
                    (
                        f"{tag}_{k}",
                        f"{question['text']} - {statement}",
                        import_id,
                        (by_text[statement].id, None),
                    )
                )
        elif question["kind"] == "MC:MultipleAnswer:Vertical":
            for choice_id, (code, label) in enumerate(question["rows"], start=1):
                import_id = {"ImportId": f"QID{number}", "choiceId": str(choice_id)}
                columns.append(
                    (f"{tag}_{code}", f"{question['text']} - {label}", import_id, (question["id"], code))
                )
        elif question["kind"].startswith("MC:"):
            columns.append((tag, question["text"], {"ImportId": f"QID{number}"}, (question["id"], None)))
        elif question["kind"].startswith("TE:"):
            columns.append((tag, question["text"], {"ImportId": f"QID{number}_TEXT"}, (question["id"], None)))
    rows = [
        [*META, *(c[0] for c in columns)],
        [*(m.replace("IPAddress", "IP Address") for m in META), *(c[1] for c in columns)],
        [
            *(json.dumps({"ImportId": m[0].lower() + m[1:]}) for m in META),
            *(json.dumps(c[2]) for c in columns),
        ],
    ]
    for k, record in enumerate(records):
        meta = ["2024-03-04 10:15:02", "2024-03-04 10:21:40", "0", "203.0.113.7", "100", str(300 + k), "1",
                "2024-03-04 10:21:41", f"R_{k}abcdefghijklmn", "Doe", "Jane", "jane@example.org", "", "40.7",
                "-74.0", "anonymous", "EN"]  # fmt: skip
        cells = []
        for _, _, _, (item_id, code) in columns:
            value = record[item_id]
            cells.append(("1" if code in value else "") if code is not None else _cell(value))
        rows.append([*meta, *cells])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _items(loaded) -> list:
    return [inst.item(item_id) for inst in loaded for item_id in inst.display_order]


@pytest.mark.parametrize("tags_applied", [True, False], ids=["export-tags", "q-numbers"])
@pytest.mark.parametrize(
    ("instruments", "language"),
    [(COMBINATION, None), (["bpn-residency"], "es"), (["learning-climate"], None), ([ALL_KINDS], None)],
    ids=["combination", "bpn-es", "learning-climate", "all-kinds"],
)
def test_responses_read_back_to_the_same_item_values(instruments, language, tags_applied, tmp_path):
    _, text = export(instruments, tmp_path, language=language)
    loaded = [sdt_survey.load_instrument(i) if isinstance(i, str) else i for i in instruments]
    survey = build_survey(loaded, language=language)
    items = _items(loaded)
    records = make_answers(items, text='note {r}, "quoted"\nand a second line')
    path = qualtrics_csv(text, survey, records, tmp_path / "export.csv", tags_applied)
    scored = sdt_survey.score(loaded, path, id_column="ResponseId")
    assert scored.report.source == "qualtrics"
    assert scored.report.issues.query("severity == 'error'").empty, scored.report.summary()
    for item in items:
        assert observed_values(scored.items[item.id]) == expected_values(item, records), item.id
    assert "IPAddress" not in scored.scores  # identifiers dropped, as for any Qualtrics export


def test_supplied_wording_reads_back_with_the_mapping_in_the_notes(tmp_path):
    texts = placeholder_texts()
    _, text = export("bpnsfs-keys", tmp_path, texts=texts)
    keys = sdt_survey.load_instrument("bpnsfs-keys")
    survey = build_survey(keys, texts=texts)
    records = make_answers(_items([keys]), text='note {r}, "quoted"\nand a second line')
    path = qualtrics_csv(text, survey, records, tmp_path / "export.csv", tags_applied=True)
    # The wording is not in the instrument, so the statements are found by the mapping the notes give.
    notes = (tmp_path / "survey.notes.md").read_text(encoding="utf-8")
    mapping = tmp_path / "columns.yaml"
    mapping.write_text(notes.split("```yaml\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    scored = sdt_survey.score(keys, path, id_column="ResponseId", mapping=mapping)
    for item in keys.items:
        assert observed_values(scored.items[item.id]) == expected_values(item, records), item.id


def test_multiple_answer_without_export_tag_reads_back(tmp_path):
    _, text = export([ALL_KINDS], tmp_path)
    records = make_answers(_items([ALL_KINDS]), text='note {r}, "quoted"\nand a second line')
    path = qualtrics_csv(text, build_survey(ALL_KINDS), records, tmp_path / "export.csv", tags_applied=False)
    scored = sdt_survey.score(ALL_KINDS, path, id_column="ResponseId", invalid="as-missing")
    assert observed_values(scored.items["sources"]) == expected_values(ALL_KINDS.item("sources"), records)
