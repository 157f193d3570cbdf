"""The ``markdown`` and ``pdf`` targets: the questionnaire on paper.

The PDF is read back with pypdf (a test dependency); those tests are skipped,
with the reason, where pypdf is not installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.platforms import build_survey
from sdt_survey.platforms.paper import (
    TICK_BOX,
    paper_form,
    render_markdown,
    unicode_font_files,
    write_markdown,
    write_pdf,
)
from tests.export_support import COMBINATION, placeholder_texts

COMBINED = COMBINATION
SURVEYS = [*sdt_survey.bundled_instruments(), "+".join(COMBINED)]


def export_args(name: str) -> dict:
    """bpnsfs-keys bundles no wording: give it made-up placeholder statements."""
    return {"texts": placeholder_texts()} if name == "bpnsfs-keys" else {}


def unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def pdf_text(path: Path) -> tuple[int, list[str]]:
    """Page count, and each page's text with runs of whitespace as one space."""
    pypdf = pytest.importorskip("pypdf", reason="reading the PDF back needs pypdf (the test extra)")
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), [" ".join(page.extract_text().split()) for page in reader.pages]


# A survey with every item type, branching of every shape, and texts with markup characters.
BRANCHING = """\
schema_version: 1
id: branching-words
version: "2.1.0"
title: {en: "Rotation *check* | <b>", es: "Revisión de la rotación"}
languages: [en, es]
scales:
  yn:
    values: [0, 1]
    labels: [{en: "No", es: "No"}, {en: "Yes", es: "Sí"}]
items:
  - id: site
    text: {en: "Where do you train?", es: "¿Dónde se forma?"}
    type: single
    choices:
      - {value: north, label: {en: North campus, es: Campus norte}}
      - {value: south, label: {en: South campus, es: Campus sur}}
      - {value: east, label: {en: East campus, es: Campus este}}
  - id: sources
    text: {en: "Who gives you feedback?", es: "¿Quién le da retroalimentación?"}
    type: multiple
    choices:
      - {value: 1, label: {en: Faculty, es: Profesorado}}
      - {value: 3, label: {en: Nurses, es: Enfermería}}
  - id: nights
    text: {en: Night shifts last month, es: Guardias nocturnas el mes pasado}
    type: integer
    min: 0
    max: 31
  - id: limit
    text: {en: Night shifts you would accept, es: Guardias nocturnas que aceptaría}
    type: number
  - id: started
    text: {en: Start date, es: Fecha de inicio}
    type: date
  - id: note
    text: {en: "Notes | *anything* _else_ [link](x) #1", es: Notas}
    type: text
  - id: w1
    text: {en: "Weekend 1 \\\\ done?", es: "¿Fin de semana?"}
    scale: yn
    show_if: not (site == "south" or nights >= 4)
  - id: w2
    text: {en: Weekend 2, es: Fin de semana 2}
    scale: yn
    show_if: 3 < nights and nights <= limit
  - id: w3
    text: {en: Weekend 3, es: Fin de semana 3}
    scale: yn
    show_if: site in ["north", "east"] or site not in ["south"]
  - id: w4
    text: {en: Weekend 4, es: Fin de semana 4}
    scale: yn
    show_if: sources == 3 and sources != 1 and not (sources in [1, 3])
  - id: w5
    text: {en: Weekend 5, es: Fin de semana 5}
    scale: yn
    show_if: site not in ["south", "east"] and not site != "north" and w1 == 1
"""


@pytest.fixture
def branching(tmp_path: Path) -> Path:
    path = tmp_path / "branching-words.yaml"
    path.write_text(BRANCHING, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- Markdown


@pytest.mark.parametrize("name", SURVEYS)
def test_every_item_appears_in_the_markdown(name, tmp_path):
    out = tmp_path / "paper.md"
    instruments = name.split("+")
    result = sdt_survey.export_survey(instruments, "markdown", out, **export_args(name))
    assert result.target == "markdown" and result.paths == [out] and result.warnings == []
    survey = build_survey(instruments, **export_args(name))
    text = out.read_text(encoding="utf-8")
    plain = unescape_markdown(text)
    for number, item in enumerate(survey.items, start=1):
        assert f"**{number}.** {survey.item_text(item)}" in plain, item.id
    for section in survey.sections:
        if section.section.title is not None:
            assert survey.text(section.section.title) in plain
        if section.section.preamble is not None:
            assert " ".join(survey.text(section.section.preamble).split()) in plain
    # The scale labels head each grid, with their codes; each statement has one tick box per label.
    for inst in survey.instruments:
        for scale in inst.scales.values():
            for value, label in zip(scale.values, scale.labels, strict=True):
                assert f"{label} ({value})" in plain
    columns = 0
    for line in text.splitlines():
        if line.startswith("|---"):
            columns = line.count(":---:")
        if line.startswith("| **"):
            assert line.count(TICK_BOX) == columns > 0
    # Provenance: every instrument id and version, in the footer.
    assert text.rstrip().endswith(f"*Instruments: {survey.provenance}. Made with sdt-survey 0.1.0.*")


def test_skip_instructions_in_words_sit_with_their_question():
    text, _ = render_markdown(build_survey("continuity-exposure"))
    question = text.split("**3.**")[1].split("**4.**")[0]
    assert question.splitlines()[1] == "*Answer only if question 1 is “Yes” and question 2 is more than 0.*\\"
    assert "Write a whole number from 0 to 40." in question
    assert "Answer only if" not in text.split("**3.**")[0]  # no other question is conditional


def test_show_if_in_words_for_every_shape(branching):
    def conditions(language: str) -> dict[str, str]:
        form, _ = paper_form(build_survey(branching, language=language))
        return {
            q.item.id: q.condition
            for section in form.sections
            for block in section.blocks
            for q in block.questions
            if q.condition
        }

    english = conditions("en")
    assert english == {
        # not (a or b) reads as "not a and not b"; a negated ordering keeps its "not".
        "w1": "Answer only if question 1 is not “South campus” and question 3 is not 4 or more.",
        # A literal on the left is turned around; two items are compared by number.
        "w2": "Answer only if question 3 is more than 3 and question 3 is question 4 or less.",
        "w3": (
            "Answer only if question 1 is “North campus” or “East campus” "
            "or question 1 is not “South campus”."
        ),
        # A multiple-choice item "includes" an option.
        "w4": (
            "Answer only if question 2 includes “Nurses” and question 2 does not include “Faculty” "
            "and question 2 does not include “Faculty” nor “Nurses”."
        ),
        "w5": (
            "Answer only if question 1 is neither “South campus” nor “East campus” and "
            "question 1 is “North campus” and question 7 is “Yes”."
        ),
    }
    spanish = conditions("es")
    assert spanish["w1"] == (
        "Responda solo si la pregunta 1 no es «Campus sur» y la pregunta 3 no es 4 o más."
    )
    assert spanish["w5"].endswith("y la pregunta 7 es «Sí».")


def test_markdown_escapes_markup_and_keeps_tables_whole(branching):
    text, _ = render_markdown(build_survey(branching))
    assert text.splitlines()[0] == r"# Rotation \*check\* \| \<b\>"
    assert r"Notes \| \*anything\* \_else\_ \[link\](x) \#1" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for row in rows:
        # Only the cell separators are bare pipes: an escaped "\|" stays inside its cell.
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
    assert "**7.** Weekend 1 \\\\ done?" in text


def test_markdown_in_spanish_keeps_accents(tmp_path):
    out = tmp_path / "bpn-es.md"
    write_markdown(build_survey("bpn-residency", language="es"), out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Necesidades Psicológicas Básicas en la Residencia\n")
    assert "Código de participante" in text and "Nada cierto (1)" in text
    assert "**1.** Tengo voz real en cómo organizo mi trabajo durante una rotación." in text


def test_reverse_keyed_items_keep_the_natural_order():
    text, _ = render_markdown(build_survey("program-belonging"))
    header = next(line for line in text.splitlines() if line.startswith("| Statement"))
    assert header == (
        "| Statement | Strongly disagree (1) | Disagree (2) | Neither agree nor disagree (3) "
        "| Agree (4) | Strongly agree (5) |"
    )
    assert "| **4.** I feel on the margins of my residency program. | ☐ | ☐ | ☐ | ☐ | ☐ |" in text


def test_language_without_paper_words_falls_back_to_english(tmp_path, valid_text):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        valid_text.replace("languages: [en, es]", "languages: [de, es]").replace("{en:", "{de:"),
        encoding="utf-8",
    )
    result = sdt_survey.export_survey(path, "markdown", tmp_path / "de.md")
    assert any("'de'" in w and "English" in w for w in result.warnings)
    assert "Tick one box." in (tmp_path / "de.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("name", SURVEYS)
def test_every_survey_makes_a_pdf_with_every_item(name, tmp_path):
    out = tmp_path / "paper.pdf"
    instruments = name.split("+")
    result = sdt_survey.export_survey(instruments, "pdf", out, **export_args(name))
    assert result.target == "pdf" and result.paths == [out] and result.warnings == []
    assert out.read_bytes().startswith(b"%PDF-")
    pages, texts = pdf_text(out)
    survey = build_survey(instruments, **export_args(name))
    everything = " ".join(texts)
    for number, item in enumerate(survey.items, start=1):
        assert f"{number}. {survey.item_text(item)}" in everything, item.id
    # The footer of every page: the provenance and "Page i of n", with n the real count.
    for index, page in enumerate(texts, start=1):
        assert f"Instruments: {survey.provenance}." in page
        assert f"Page {index} of {pages}" in page
    expected_pages = {"bpn-residency": 2, "continuity-exposure": 2, "+".join(COMBINED): 4}
    assert pages == expected_pages.get(name, 1)


def test_pdf_in_spanish_keeps_accents_and_tick_boxes(tmp_path):
    out = tmp_path / "bpn-es.pdf"
    write_pdf(build_survey("bpn-residency", language="es"), out)
    pages, texts = pdf_text(out)
    assert pages == 2
    first = texts[0]
    assert first.startswith("Necesidades Psicológicas Básicas en la Residencia")
    assert "Código de participante" in first and "Página 1 de 2" in first
    assert "Piense en el último mes de formación." in first
    assert "1. Tengo voz real en cómo organizo mi trabajo durante una rotación. ☐ ☐ ☐ ☐ ☐" in first
    for label in ("Nada cierto", "Ligeramente cierto", "Moderadamente cierto", "Completamente cierto"):
        assert label in first
    # The grid's heading row is repeated on the second page.
    assert "Afirmación Nada cierto" in texts[1]


def test_pdf_metadata_page_size_and_branching(tmp_path, branching):
    pypdf = pytest.importorskip("pypdf", reason="reading the PDF back needs pypdf (the test extra)")
    out = tmp_path / "branching.pdf"
    write_pdf(build_survey(branching), out, page_size="a4")
    reader = pypdf.PdfReader(str(out))
    assert reader.metadata.title == "Rotation *check* | <b>"
    assert "branching-words 2.1.0" in reader.metadata.subject
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Answer only if question 1 is not “South campus” and question 3 is not 4 or more." in text
    assert "Write a whole number from 0 to 31." in text and "YYYY-MM-DD" in text
    assert "☐ Faculty (1)" in text
    with pytest.raises(SdtSurveyError, match="page size"):
        write_pdf(build_survey(branching), out, page_size="tabloid-ish")


def test_the_font_ships_inside_a_python_package():
    fonts = unicode_font_files()
    assert set(fonts) == {"regular", "B", "I"}
    assert all(path.is_file() and "matplotlib" in path.parts for path in fonts.values())
