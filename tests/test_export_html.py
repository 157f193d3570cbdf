"""The ``html`` target: structure, escaping and branching translation, then the form in a real browser.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``) with Playwright
for Python; they are skipped, with the reason, only when either is missing.
Everything they load is a ``file://`` page or a server they start on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.instrument import load_instruments
from sdt_survey.instrument.expressions import evaluate, parse_expression
from sdt_survey.platforms import build_survey
from sdt_survey.platforms.html import render_html, show_if_to_js, write
from tests.export_support import COMBINATION, placeholder_texts

COMBINED = COMBINATION


def export_args(name: str) -> dict:
    """bpnsfs-keys bundles no wording: give it made-up placeholder statements."""
    return {"texts": placeholder_texts()} if name == "bpnsfs-keys" else {}


# A survey with every item type, string codes, a multiple-choice branch and texts that need escaping.
FORM_CHECK = """\
schema_version: 1
id: form-check
version: "0.3.0"
title: {en: "Form check <b>&</b> \\"quotes\\"", es: "Comprobación del formulario"}
languages: [en, es]
license: CC-BY-4.0
scales:
  agree4:
    values: [1, 2, 3, 4]
    labels:
      - {en: Disagree, es: En desacuerdo}
      - {en: Somewhat disagree, es: Algo en desacuerdo}
      - {en: Somewhat agree, es: Algo de acuerdo}
      - {en: Agree, es: De acuerdo}
items:
  - id: site
    text: {en: "Where do you train?", es: "¿Dónde se forma?"}
    type: single
    choices:
      - {value: north, label: {en: North campus, es: Campus norte}}
      - {value: south, label: {en: "South </script> campus", es: Campus sur}}
    required: true
  - id: sources
    text: {en: "Who gives you feedback?", es: "¿Quién le da retroalimentación?"}
    type: multiple
    choices:
      - {value: 1, label: {en: Faculty, es: Profesorado}}
      - {value: 2, label: {en: Co-residents, es: Corresidentes}}
      - {value: 3, label: {en: Nurses, es: Enfermería}}
  - id: nurse_feedback
    text:
      en: How many times did nurses give you feedback last week?
      es: ¿Cuántas veces le dio retroalimentación enfermería la semana pasada?
    type: integer
    min: 0
    required: true
    show_if: sources == 3
  - id: sleep_hours
    text: {en: Hours of sleep last night, es: Horas de sueño anoche}
    type: number
    min: 0
    max: 24
  - id: started
    text: {en: "When did you start residency?", es: "¿Cuándo empezó la residencia?"}
    type: date
  - id: comment
    text: {en: "Anything else? <script>alert('x')</script> & more", es: "¿Algo más?"}
    type: text
  - id: q1
    text: {en: My supervisors explain their decisions., es: Mis supervisores explican sus decisiones.}
    scale: agree4
  - id: q2
    text: {en: I am left to guess what is expected., es: Tengo que adivinar lo que se espera.}
    scale: agree4
    reverse: true
    show_if: not (site == "south" or sleep_hours < 4)
sections:
  - id: about
    title: {en: About you, es: Sobre usted}
    preamble: {en: "Line one.\\nLine two.", es: "Línea uno.\\nLínea dos."}
    items: [site, sources, nurse_feedback, sleep_hours, started, comment]
  - id: climate
    items: [q1, q2]
subscales:
  climate:
    items: [q1, q2]
    min_valid: 1
"""


@pytest.fixture
def form_check(tmp_path: Path) -> Path:
    path = tmp_path / "form-check.yaml"
    path.write_text(FORM_CHECK, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- structure (no browser)


class FormStructure(HTMLParser):
    """What the tests check in the markup: inputs and their labels, fieldsets and legends, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict] = []
        self.fieldsets: list[dict] = []
        self.open_fieldsets: list[dict] = []
        self.meta: dict[str, str] = {}
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_text: list[str] = []
        self.texts_by_key: dict[str, str] = {}
        self._text_key: list[str | None] = []
        self._in_script = False
        self.visible_text: list[str] = []

    VOID: ClassVar[set[str]] = {
        "meta",
        "link",
        "input",
        "br",
        "img",
        "hr",
        "source",
        "area",
        "base",
        "col",
        "wbr",
    }

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        for name in ("src", "href", "action", "formaction", "poster", "data"):
            if attributes.get(name) is not None:
                self.urls.append(str(attributes[name]))
        if tag == "meta" and attributes.get("name"):
            self.meta[str(attributes["name"])] = str(attributes.get("content"))
        if tag == "meta" and attributes.get("http-equiv"):
            self.meta[str(attributes["http-equiv"])] = str(attributes.get("content"))
        if tag == "label" and attributes.get("for"):
            self.label_for.add(str(attributes["for"]))
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
            self.script_text.append("")
        if tag == "fieldset":
            record = {"attrs": attributes, "legend": False, "controls": []}
            self.fieldsets.append(record)
            self.open_fieldsets.append(record)
        if tag == "legend" and self.open_fieldsets:
            self.open_fieldsets[-1]["legend"] = True
        if tag in ("input", "select", "textarea"):
            self.controls.append(
                {
                    "tag": tag,
                    "attrs": attributes,
                    "in_label": any(t == "label" for t, _ in self.stack),
                    "fieldset": self.open_fieldsets[-1] if self.open_fieldsets else None,
                }
            )
            if self.open_fieldsets:
                self.open_fieldsets[-1]["controls"].append(attributes)
        if tag not in self.VOID:
            self.stack.append((tag, attributes))
            self._text_key.append(attributes.get("data-t"))
            if attributes.get("data-t"):
                self.texts_by_key.setdefault(str(attributes["data-t"]), "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "fieldset" and self.open_fieldsets:
            self.open_fieldsets.pop()
        while self.stack:
            open_tag, _ = self.stack.pop()
            self._text_key.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text[-1] += data
            return
        self.visible_text.append(data)
        key = self._text_key[-1] if self._text_key else None
        if key:
            self.texts_by_key[key] += data


def parse_form(page: str) -> FormStructure:
    parser = FormStructure()
    parser.feed(page)
    parser.close()
    return parser


def embedded_data(structure: FormStructure) -> dict:
    index = next(i for i, s in enumerate(structure.scripts) if s.get("id") == "sdt-survey-data")
    return json.loads(structure.script_text[index])


def assert_accessible_self_contained(page: str, survey) -> FormStructure:
    structure = parse_form(page)
    duplicates = {i for i in structure.ids if structure.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {sorted(duplicates)}"
    for control in structure.controls:
        attrs = control["attrs"]
        labelled = control["in_label"] or attrs.get("id") in structure.label_for or attrs.get("aria-label")
        assert labelled, f"{control['tag']} {attrs} has no label"
        if attrs.get("type") in ("radio", "checkbox"):
            fieldset = control["fieldset"]
            assert fieldset is not None and fieldset["legend"], f"{attrs} is not in a fieldset with a legend"
    # Nothing to fetch: no external URLs, scripts or style sheets.
    assert all(not re.match(r"(?i)\s*(https?:)?//", url) for url in structure.urls), structure.urls
    assert all(url.startswith("data:") for url in structure.urls), structure.urls
    assert all("src" not in script for script in structure.scripts)
    assert "@import" not in page and "url(" not in page and '<link rel="stylesheet"' not in page
    assert "default-src 'none'" in structure.meta["Content-Security-Policy"]
    # Provenance: in a meta element and in the visible footer.
    assert structure.meta["sdt-survey-instruments"] == survey.provenance
    visible = " ".join(structure.visible_text)
    for inst in survey.instruments:
        assert f"{inst.id} {inst.version}" in visible
    # Every item has its container, its question text and its controls named by item id.
    names = {c["attrs"].get("name") for c in structure.controls}
    for item in survey.items:
        assert f"item-{item.id}" in structure.ids
        assert structure.texts_by_key[f"item.{item.id}"] == survey.item_text(item)
        assert item.id in names
    return structure


@pytest.mark.parametrize("name", [*sdt_survey.bundled_instruments(), "+".join(COMBINED)])
def test_every_bundled_instrument_and_the_combination_export(name, tmp_path):
    instruments = name.split("+")
    out = tmp_path / "form.html"
    result = sdt_survey.export_survey(instruments, "html", out, **export_args(name))
    assert result.target == "html" and result.paths == [out] and result.warnings == []
    survey = build_survey(instruments, **export_args(name))
    structure = assert_accessible_self_contained(out.read_text(encoding="utf-8"), survey)
    data = embedded_data(structure)
    # issue 14: each instrument also carries its content hash (the stamp)
    assert data["instruments"] == [
        {"id": i.id, "version": i.version, "hash": i.content_hash()} for i in survey.instruments
    ]
    assert [item["id"] for item in data["items"]] == [item.id for item in survey.items]


def test_likert_items_sharing_a_scale_form_one_grid_with_natural_order():
    survey = build_survey("bpn-residency")
    page, _ = render_html(survey)
    structure = parse_form(page)
    assert page.count('class="sdt-likert-block"') == 1  # one section, one scale: one grid
    likert = [f for f in structure.fieldsets if "sdt-likert" in (f["attrs"].get("class") or "")]
    assert len(likert) == 24
    for fieldset in likert:
        assert fieldset["attrs"]["role"] == "radiogroup" and fieldset["attrs"]["aria-required"] == "true"
        # Reverse-keyed items (as4, rs4, cs4) show the scale in its natural order, like the others.
        assert [c["value"] for c in fieldset["controls"]] == ["1", "2", "3", "4", "5"]


def test_texts_are_escaped_and_embedded_data_cannot_end_the_script(form_check):
    survey = build_survey(form_check)
    page, warnings = render_html(survey)
    assert warnings == []
    structure = assert_accessible_self_contained(page, survey)
    # Exactly the two scripts the form has: the texts' "</script>" did not open or close one.
    assert len(structure.scripts) == 2
    assert page.count("</script>") == 2
    assert structure.texts_by_key["survey.title"] == 'Form check <b>&</b> "quotes"'
    assert structure.texts_by_key["choice.site.1"] == "South </script> campus"
    assert "<b>" not in page.split("<body>", 1)[1].split("<script")[0]
    data = embedded_data(structure)
    assert data["texts"]["en"]["item.comment"] == "Anything else? <script>alert('x')</script> & more"
    assert data["texts"]["es"]["item.site"] == "¿Dónde se forma?"
    assert data["items"][0]["values"] == ["north", "south"]


def test_inputs_carry_types_bounds_and_hints(form_check):
    page, _ = render_html(build_survey(form_check))
    structure = parse_form(page)
    controls = {c["attrs"]["id"]: c["attrs"] for c in structure.controls}
    assert controls["nurse_feedback"]["type"] == "number" and controls["nurse_feedback"]["step"] == "1"
    assert controls["nurse_feedback"]["min"] == "0" and "max" not in controls["nurse_feedback"]
    assert controls["sleep_hours"]["step"] == "any" and controls["sleep_hours"]["max"] == "24"
    assert controls["sleep_hours"]["aria-describedby"] == "sleep_hours-hint"
    assert controls["started"]["type"] == "date"
    assert next(c for c in structure.controls if c["attrs"].get("id") == "comment")["tag"] == "textarea"
    assert [controls[f"sources-{i}"]["type"] for i in range(3)] == ["checkbox"] * 3
    assert controls["site-0"]["value"] == "north"
    assert 'data-ui="hint.number_range" data-min="0" data-max="24"' in page
    assert "Enter a whole number, 0 or more." in page


def test_show_if_translation():
    js = show_if_to_js(parse_expression("has_usual_preceptor == 1 and clinic_halfdays_4wk > 0"))
    assert js == '(eq(a("has_usual_preceptor"), 1) && gt(a("clinic_halfdays_4wk"), 0))'
    js = show_if_to_js(parse_expression("not (a in [1, 2] or b not in ['x']) and c <= 2.5 or 3 != d"))
    assert js == '((!(isIn(a("a"), [1, 2]) || !isIn(a("b"), ["x"])) && le(a("c"), 2.5)) || ne(3, a("d")))'
    # A string literal cannot break out of the inline script.
    js = show_if_to_js(parse_expression("name == '</script><script>alert(1)//'"))
    assert "<" not in js and ">" not in js


def test_post_url_is_checked_and_allowed_by_the_content_security_policy():
    survey = build_survey("continuity-exposure")

    def policy(page: str) -> str:
        return parse_form(page).meta["Content-Security-Policy"]

    page, warnings = render_html(survey, post_url="https://surveys.example.org/api/responses")
    assert "connect-src https://surveys.example.org;" in policy(page) and warnings == []
    assert '"postUrl":"https://surveys.example.org/api/responses"' in page
    assert 'data-ui="submit.post"' in page and 'id="sdt-format-json"' not in page
    page, _ = render_html(survey, post_url="/responses")
    assert "connect-src 'self';" in policy(page)
    _, warnings = render_html(survey, post_url="http://surveys.example.org/r")
    assert any("unencrypted" in w for w in warnings)
    page, _ = render_html(survey)
    assert "connect-src 'none';" in policy(page)
    for bad in ("javascript:alert(1)", "ftp://example.org/x", "responses", "http://a b/", "https://x/';"):
        with pytest.raises(SdtSurveyError, match="post_url"):
            render_html(survey, post_url=bad)


def test_language_switch_only_when_the_survey_has_several_languages(tmp_path, valid_text):
    bpn, _ = render_html(build_survey("bpn-residency", language="es"))
    assert '<select id="sdt-language">' in bpn and '<html lang="es">' in bpn
    data = embedded_data(parse_form(bpn))
    assert data["languages"] == ["es", "en"] and data["ui"]["es"]["submit.download"].startswith("Enviar")
    combined, _ = render_html(build_survey(["continuity-exposure", "bpn-residency"]))
    assert 'id="sdt-language"' not in combined
    # Wording supplied in one language only: the other is not offered, with a warning.
    path = tmp_path / "tiny.yaml"
    path.write_text(valid_text, encoding="utf-8")
    page, warnings = render_html(build_survey(path, texts={"q1": "Supplied in English only"}))
    assert 'id="sdt-language"' not in page and any("'es'" in w for w in warnings)
    # A language the form's own words lack falls back to English, with a warning.
    german = valid_text.replace("languages: [en, es]", "languages: [de, es]").replace("{en:", "{de:")
    path.write_text(german, encoding="utf-8")
    _, warnings = render_html(build_survey(path))
    assert any("'de'" in w and "English" in w for w in warnings)


def test_write_creates_folders_and_reports_notes(tmp_path):
    out = tmp_path / "deep" / "er" / "form.html"
    result = write(build_survey("continuity-exposure"), out, post_url="http://127.0.0.1:9/r")
    assert out.exists() and any("CORS" in note for note in result.notes)


# --------------------------------------------------------------------------- in a real browser


class Tab:
    """A page plus everything it asked of the network and said on its console."""

    def __init__(self, browser, viewport=None):
        self.context = browser.new_context(accept_downloads=True, viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(5000)
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console_errors.append(f"{message.type}: {message.text}")

    def open(self, path: Path, query: str = "") -> None:
        self.page.goto(path.as_uri() + query)

    def close(self) -> None:
        self.context.close()

    # -- answering ----------------------------------------------------------
    def choose(self, item_id: str, index: int) -> None:
        self.page.check(f"#{item_id}-{index}")

    def shown(self, item_id: str) -> bool:
        return self.page.is_visible(f"#item-{item_id}")

    def submit_download(self, tmp_path: Path, name: str) -> Path:
        with self.page.expect_download() as download:
            self.page.click("#sdt-submit")
        path = tmp_path / name
        download.value.save_as(path)
        self.suggested_filename = download.value.suggested_filename
        return path


@pytest.fixture
def tab(browser):
    opened = Tab(browser)
    yield opened
    opened.close()


def only_local_requests(tab: Tab, page_path: Path, *allowed_prefixes: str) -> None:
    # The download is a blob: URL the page made itself; everything else must be the file.
    unexpected = [
        url
        for url in tab.requests
        if not url.startswith(page_path.as_uri()) and not url.startswith(("blob:", *allowed_prefixes))
    ]
    assert unexpected == [], f"the form made network requests: {unexpected}"


def test_form_branches_validates_and_saves_what_the_reader_scores(tab, tmp_path):
    instruments = ["continuity-exposure", "bpn-residency"]
    form = tmp_path / "form.html"
    sdt_survey.export_survey(instruments, "html", form)
    tab.open(form, "?respondent=R001&wave=2")
    page = tab.page
    assert (
        page.title()
        == "Continuity of Supervision and Clinic Exposure / Basic Psychological Needs in Residency"
    )

    # Branching: halfdays_with_preceptor needs has_usual_preceptor == 1 and clinic_halfdays_4wk > 0.
    assert not tab.shown("halfdays_with_preceptor")  # unanswered: == is false
    tab.choose("has_usual_preceptor", 1)  # No
    page.fill("#clinic_halfdays_4wk", "6")
    assert not tab.shown("halfdays_with_preceptor")
    tab.choose("has_usual_preceptor", 0)  # Yes
    assert tab.shown("halfdays_with_preceptor")
    page.fill("#clinic_halfdays_4wk", "0")
    assert not tab.shown("halfdays_with_preceptor")
    page.fill("#clinic_halfdays_4wk", "6")
    page.fill("#halfdays_with_preceptor", "4")
    tab.choose("has_usual_preceptor", 1)  # hidden again, and its answer is cleared
    assert not tab.shown("halfdays_with_preceptor")
    tab.choose("has_usual_preceptor", 0)
    assert tab.shown("halfdays_with_preceptor") and page.input_value("#halfdays_with_preceptor") == ""
    page.fill("#halfdays_with_preceptor", "4")
    tab.choose("longitudinal_team", 2)

    # The keyboard: Space picks the focused option, arrow keys move within the radio group.
    page.focus("#pcs1-0")
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#pcs1-3")
    page.keyboard.press("Tab")  # on to the next group; pcs1 keeps its answer
    assert page.evaluate("document.activeElement.name") == "pcs2" and page.is_checked("#pcs1-3")
    for item_id, index in (("pcs2", 4), ("pcs3", 1), ("pcs4", 2)):
        tab.choose(item_id, index)
    bpn = sdt_survey.load_instrument("bpn-residency")
    expected_bpn = {item.id: (i % 5) + 1 for i, item in enumerate(bpn.items)}
    for item_id, value in expected_bpn.items():
        if item_id != "rs2":  # a required item left unanswered
            tab.choose(item_id, value - 1)
    page.fill("#clinic_halfdays_4wk", "41")  # out of range (0 to 40)
    # Every item is shown; rs2 and the optional coach item are open.
    assert page.inner_text("#sdt-progress-text") == "31 of 33 questions answered"

    # Submitting now saves nothing; each problem is explained next to its item.
    downloads: list = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#sdt-submit")
    assert page.inner_text("#sdt-status") == "2 questions need your attention; they are marked below."
    assert page.is_visible("#item-rs2 #rs2-error")
    assert page.inner_text("#rs2-error") == "Please answer this question."
    assert page.get_attribute("#item-rs2", "aria-invalid") == "true"
    assert "rs2-error" in page.get_attribute("#rs2-0", "aria-describedby").split()
    assert page.get_attribute("#rs2-0", "aria-invalid") == "true"
    assert page.inner_text("#clinic_halfdays_4wk-error") == (
        "This answer is not valid. Enter a whole number from 0 to 40."
    )
    assert "clinic_halfdays_4wk-error" in page.get_attribute("#clinic_halfdays_4wk", "aria-describedby")
    assert page.evaluate("document.activeElement.id") == "clinic_halfdays_4wk"  # the first problem
    assert not page.is_visible("#coach_meetings_year-error")  # optional: no message
    page.fill("#clinic_halfdays_4wk", "6")
    assert not page.is_visible("#clinic_halfdays_4wk-error")
    assert page.get_attribute("#clinic_halfdays_4wk", "aria-invalid") is None
    tab.choose("rs2", expected_bpn["rs2"] - 1)  # the message goes as soon as the answer is given
    assert not page.is_visible("#rs2-error") and page.get_attribute("#item-rs2", "aria-invalid") is None
    page.wait_for_timeout(100)
    assert downloads == []

    saved = tab.submit_download(tmp_path, "response.json")
    assert page.is_visible("#sdt-done") and not page.is_visible("#sdt-form")
    assert re.fullmatch(r"continuity-exposure_bpn-residency-R001-\d{8}T\d{6}Z\.json", tab.suggested_filename)
    assert tab.suggested_filename in page.inner_text("#sdt-done-text")
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["format"] == "sdt-survey-response" and record["format_version"] == 1
    # issue 14: each instrument also carries its content hash (the stamp)
    assert record["instruments"] == [
        {"id": i.id, "version": "1.0.0", "hash": i.content_hash()}
        for i in load_instruments(["continuity-exposure", "bpn-residency"])
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["submitted"])
    assert (record["language"], record["respondent"], record["wave"]) == ("en", "R001", 2)
    expected = {
        "has_usual_preceptor": 1,
        "clinic_halfdays_4wk": 6,
        "halfdays_with_preceptor": 4,
        "coach_meetings_year": None,
        "longitudinal_team": 2,
        "pcs1": 4,
        "pcs2": 5,
        "pcs3": 2,
        "pcs4": 3,
        **expected_bpn,
    }
    assert record["answers"] == expected
    assert list(record["answers"]) == [item.id for item in build_survey(instruments).items]

    scored = sdt_survey.score(instruments, saved, id_column="_respondent")
    assert scored.report.issues.empty or not scored.report.has_blocking_errors
    assert not any(scored.report.issues["problem"].isin(["missing_required", "absent_item_column"]))
    items = scored.items.iloc[0]
    for item_id, value in expected.items():
        assert (pd.isna(items[item_id]) and value is None) or items[item_id] == value, item_id
    assert scored.scores["perceived_continuity"].iloc[0] == pytest.approx((4 + 5 + (6 - 2) + 3) / 4)
    assert tab.console_errors == []
    only_local_requests(tab, form)


def fill_form_check(tab: Tab) -> None:
    page = tab.page
    tab.choose("site", 0)  # north
    tab.choose("sources", 0)
    tab.choose("sources", 2)  # nurses: the follow-up question appears
    page.fill("#nurse_feedback", "3")
    page.fill("#sleep_hours", "6.5")
    page.fill("#started", "2025-07-01")
    page.fill("#comment", 'Fine, "mostly";\nsecond line, with commas')
    tab.choose("q1", 3)
    tab.choose("q2", 0)


FORM_CHECK_EXPECTED = {
    "site": "north",
    "sources": [1, 3],
    "nurse_feedback": 3,
    "sleep_hours": 6.5,
    "started": "2025-07-01",
    "comment": 'Fine, "mostly";\nsecond line, with commas',
    "q1": 4,
    "q2": 1,
}


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_every_item_type_saves_and_reads_back(tab, tmp_path, form_check, kind):
    form = tmp_path / "form.html"
    sdt_survey.export_survey(form_check, "html", form)
    tab.open(form, "?respondent=R%2007&wave=spring")
    page = tab.page
    assert not tab.shown("nurse_feedback")
    fill_form_check(tab)
    assert tab.shown("nurse_feedback") and tab.shown("q2")
    answers = page.evaluate("window.sdtSurvey.answers()")
    assert answers == FORM_CHECK_EXPECTED
    page.check(f"#sdt-format-{kind}")
    saved = tab.submit_download(tmp_path, f"response.{kind}")
    assert saved.suffix == f".{kind}"
    if kind == "json":
        record = json.loads(saved.read_text(encoding="utf-8"))
        assert record["answers"] == FORM_CHECK_EXPECTED
        assert (record["respondent"], record["wave"]) == ("R 07", "spring")
    else:
        header = saved.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
        assert header[:7] == ["_format", "_format_version", "_instruments", "_submitted", "_language",
                              "_respondent", "_wave"]  # fmt: skip
    scored = sdt_survey.score(form_check, saved, id_column="_respondent")
    items = scored.items.iloc[0]
    assert scored.scores["_respondent"].iloc[0] == "R 07"
    assert items["site"] == "north" and items["sources"] == "1 3" and items["nurse_feedback"] == 3
    assert items["sleep_hours"] == 6.5 and items["started"] == "2025-07-01"
    assert items["comment"] == FORM_CHECK_EXPECTED["comment"]
    assert (items["q1"], items["q2"]) == (4, 1)
    assert scored.scores["climate"].iloc[0] == pytest.approx((4 + (5 - 1)) / 2)  # q2 reverse-keyed
    assert tab.console_errors == []
    only_local_requests(tab, form)


def test_multiple_choice_branching_and_number_checks(tab, tmp_path, form_check):
    form = tmp_path / "form.html"
    sdt_survey.export_survey(form_check, "html", form)
    tab.open(form)
    page = tab.page
    is_shown = "([id, answers]) => window.sdtSurvey.isShown(id, answers)"
    # "sources == 3" on a multiple-choice item: option 3 among those selected.
    assert page.evaluate(is_shown, ["nurse_feedback", {"sources": [1, 3]}]) is True
    assert page.evaluate(is_shown, ["nurse_feedback", {"sources": [1, 2]}]) is False
    assert page.evaluate(is_shown, ["nurse_feedback", {"sources": None}]) is False
    # q2: not (site == "south" or sleep_hours < 4); an unanswered sleep_hours makes "<" false.
    assert page.evaluate(is_shown, ["q2", {"site": "north", "sleep_hours": None}]) is True
    assert page.evaluate(is_shown, ["q2", {"site": "north", "sleep_hours": 3}]) is False
    fill_form_check(tab)
    page.uncheck("#sources-2")  # untick nurses: the follow-up is hidden and cleared
    assert not tab.shown("nurse_feedback")
    page.check("#sources-2")
    assert page.input_value("#nurse_feedback") == ""
    page.fill("#sleep_hours", "3")  # q2 goes away with its answer
    assert not tab.shown("q2")
    page.fill("#sleep_hours", "7")
    assert tab.shown("q2") and not page.is_checked("#q2-0")
    page.fill("#nurse_feedback", "2.5")  # not a whole number
    page.click("#sdt-submit")
    assert (
        page.inner_text("#nurse_feedback-error")
        == "This answer is not valid. Enter a whole number, 0 or more."
    )
    assert page.inner_text("#q2-error") == "Please answer this question."
    assert page.evaluate("document.activeElement.id") == "nurse_feedback"
    assert tab.console_errors == []


def test_show_if_in_the_browser_matches_the_python_evaluator(tab, tmp_path):
    """Every rule, on every combination of answers, shows exactly when expressions.evaluate says so."""
    rules = [
        "gate == 1",
        "gate != 1",
        "n > 2",
        "n <= 2",
        "2 < n",
        "gate in [0, 1]",
        "gate not in [1]",
        "not (gate == 1 or n >= 3)",
        "site == 'north' and n < 5",
        'site != "north" or gate == 0',
        "name == 'x'",
        "name != 'x'",
        "n == 2.5 or n == 3",
        # A multiple-choice item: == and in mean "selected", != and not in "not selected".
        "src == 2",
        "src != 2",
        "src in [1, 3]",
        "src not in [2, 3]",
        "not (src == 1) and gate == 1",
    ]
    items = [
        "  - {id: gate, text: Gate, type: single, choices: [{value: 0, label: 'No'}, "
        "{value: 1, label: 'Yes'}]}",
        "  - {id: n, text: Count, type: number}",
        "  - {id: site, text: Site, type: single, choices: [{value: north, label: N}, "
        "{value: south, label: S}]}",
        "  - {id: name, text: Name, type: text}",
        "  - {id: src, text: Sources, type: multiple, choices: [{value: 1, label: A}, {value: 2, label: B}, "
        "{value: 3, label: C}]}",
    ]
    items += [
        f"  - {{id: t{i}, text: Rule {i}, type: text, show_if: {json.dumps(r)}}}" for i, r in enumerate(rules)
    ]
    path = tmp_path / "logic-check.yaml"
    path.write_text(
        'schema_version: 1\nid: logic-check\nversion: "1.0.0"\nitems:\n' + "\n".join(items) + "\n",
        encoding="utf-8",
    )
    form = tmp_path / "logic.html"
    sdt_survey.export_survey(path, "html", form)
    combos = [
        {"gate": gate, "n": n, "site": site, "name": name, "src": src}
        for gate, n, site, name, src in itertools.product(
            [None, 0, 1, "1"],
            [None, 0, 2, 2.5, 3, "3"],
            [None, "north", "south"],
            [None, "x", " x ", ""],
            [None, [1], [2, 3], [1, 2, 3]],
        )
    ]
    tab.open(form)
    in_browser = tab.page.evaluate(
        """([rules, combos]) => rules.map((_, i) => combos.map((answers) =>
               window.sdtSurvey.isShown("t" + i, answers)))""",
        [rules, combos],
    )
    # The reader holds a multiple-choice answer as its codes separated by spaces.
    frame = pd.DataFrame(combos, dtype=object)
    frame["src"] = [None if src is None else " ".join(map(str, src)) for src in frame["src"]]
    for i, rule in enumerate(rules):
        expected = evaluate(parse_expression(rule), frame, multiple={"src"})
        mismatches = np.flatnonzero(np.asarray(in_browser[i]) != expected)
        assert mismatches.size == 0, f"{rule}: differs for {[combos[m] for m in mismatches[:3]]}"
    assert tab.console_errors == []


def test_language_switch_in_place(tab, tmp_path):
    form = tmp_path / "bpn.html"
    sdt_survey.export_survey("bpn-residency", "html", form)
    tab.open(form)
    page = tab.page
    page.click("#sdt-submit")
    assert page.inner_text("#as1-error") == "Please answer this question."
    tab.choose("as1", 3)
    page.select_option("#sdt-language", "es")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.inner_text("h1") == "Necesidades Psicológicas Básicas en la Residencia"
    assert page.title() == "Necesidades Psicológicas Básicas en la Residencia"
    assert (
        page.inner_text("#item-as1 legend")
        == "Tengo voz real en cómo organizo mi trabajo durante una rotación."
    )
    assert page.text_content("#as1-3 + .sdt-choice") == "Muy cierto"
    assert page.inner_text("#af1-error") == "Por favor, responda esta pregunta."
    assert page.inner_text("#sdt-progress-text") == "1 de 24 preguntas respondidas"
    assert page.inner_text("#sdt-submit") == "Enviar y guardar mis respuestas"
    assert page.is_checked("#as1-3")  # answers survive the switch
    page.select_option("#sdt-language", "en")
    assert page.inner_text("#af1-error") == "Please answer this question."
    page.select_option("#sdt-language", "es")
    for item in sdt_survey.load_instrument("bpn-residency").items:
        tab.choose(item.id, 1)
    record = json.loads(tab.submit_download(tmp_path, "es.json").read_text(encoding="utf-8"))
    assert record["language"] == "es" and "respondent" not in record and "wave" not in record
    assert page.inner_text("#sdt-done h2") == "Gracias"
    # ?lang=es opens the form in Spanish.
    tab.open(form, "?lang=es")
    assert page.inner_text("h1") == "Necesidades Psicológicas Básicas en la Residencia"
    assert tab.console_errors == []
    only_local_requests(tab, form)


class _Collector(BaseHTTPRequestHandler):
    """Accepts POSTs on /ok (201) and fails them on /fail (500), answering CORS as a real server must."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Private-Network", "true")

    def do_OPTIONS(self) -> None:  # http.server's naming
        self.send_response(204)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 1_000_000))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(201 if self.path == "/ok" else 500)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """A response collector on 127.0.0.1 (a free port), stopped when the test ends."""
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.timeout = 2
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_post_url_sends_the_response_and_reports_failure(tab, tmp_path, collector):
    page = tab.page

    def fill() -> None:
        tab.choose("has_usual_preceptor", 1)
        page.fill("#clinic_halfdays_4wk", "5")
        for index, item_id in enumerate(("pcs1", "pcs2", "pcs3", "pcs4")):
            tab.choose(item_id, index)

    good = tmp_path / "post.html"
    sdt_survey.export_survey("continuity-exposure", "html", good, post_url=f"{collector}/ok")
    tab.open(good, "?respondent=R9")
    assert not page.is_visible("#sdt-format-json")
    fill()
    page.click("#sdt-submit")
    page.wait_for_selector("#sdt-done", state="visible")
    assert page.inner_text("#sdt-done-text") == "Your answers have been sent. You can close this page."
    assert page.evaluate("document.activeElement.id") == "sdt-done"
    [(path, content_type, body)] = _Collector.received
    record = json.loads(body)
    assert path == "/ok" and content_type == "application/json"
    assert record["respondent"] == "R9" and record["answers"]["pcs4"] == 4
    assert record["answers"]["halfdays_with_preceptor"] is None
    saved = tmp_path / "posted.json"
    saved.write_bytes(body)
    scored = sdt_survey.score("continuity-exposure", saved, id_column="_respondent")
    assert scored.items["pcs2"].iloc[0] == 2

    bad = tmp_path / "post-fail.html"
    sdt_survey.export_survey("continuity-exposure", "html", bad, post_url=f"{collector}/fail")
    tab.open(bad)
    fill()
    page.click("#sdt-submit")
    page.wait_for_selector("#sdt-post-error", state="visible")
    assert "could not be sent (HTTP 500)" in page.inner_text("#sdt-post-error")
    assert page.is_visible("#sdt-form") and page.is_enabled("#sdt-submit")
    with page.expect_download() as download:  # the answers are not lost: save them instead
        page.click("#sdt-post-download")
    rescued = tmp_path / "rescued.json"
    download.value.save_as(rescued)
    assert json.loads(rescued.read_text(encoding="utf-8"))["answers"]["pcs4"] == 4
    # Chromium logs the failed request itself; nothing else may be on the console.
    assert [e for e in tab.console_errors if "500" not in e] == []
    only_local_requests(tab, good, bad.as_uri(), collector)
