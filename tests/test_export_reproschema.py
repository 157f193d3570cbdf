"""The ReproSchema export: folder structure, texts, branching, provenance, validation and round trip.

Three levels of validation, all offline:

* :func:`structural_problems`, always: what ReproSchema 1.0.0 and reproschema-ui
  rely on (types, ids that match file names, required keys, every reference
  resolving to a file, ``ui.order`` and ``addProperties`` agreeing, ``isVis``
  naming only earlier variables, every language in every language map).
* The ``reproschema`` package's own pydantic model (what ``reproschema
  validate`` checks), when that package is installed: each document is
  expanded with the published 1.0.0 context, vendored under
  ``tests/fixtures/reproschema`` so that nothing is downloaded.
* Responses laid out as reproschema-ui exports them read back through
  :func:`sdt_survey.score` to the same item values.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.files import MANIFEST_NAME
from sdt_survey.instrument import load_instruments
from sdt_survey.instrument.expressions import parse_expression
from sdt_survey.platforms import ExportResult, build_survey
from sdt_survey.platforms import reproschema as rs

FIXTURES = Path(__file__).parent / "fixtures"
CONTEXT_FILE = FIXTURES / "reproschema" / "reproschema-context-1.0.0.jsonld"
CLINIC_CHECK = FIXTURES / "clinic-check.yaml"
COMBINED = ["bpn-residency", "continuity-exposure", "program-belonging"]
COMBINED_NAME = "bpn-residency_continuity-exposure_program-belonging"
#: Made-up wording: the real BPNSFS items are licensed and never appear in this repository.
PLACEHOLDER_TEXTS = {f"bpnsfs_{n:02d}": f"Placeholder statement number {n}." for n in range(1, 25)}
#: Where a test pretends the folder is hosted (reproschema-ui records absolute item URLs).
HOSTED = "https://example.org/survey"


def export(instruments, out: Path, **options) -> ExportResult:
    listed = [instruments] if isinstance(instruments, (str, Path)) else list(instruments)
    texts = PLACEHOLDER_TEXTS if "bpnsfs-keys" in listed else None
    return sdt_survey.export_survey(instruments, "reproschema", out, texts=texts, **options)


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def documents(out: Path) -> dict[Path, dict]:
    """Every JSON-LD document of an export (README files are Markdown; the manifest is the package's)."""
    return {
        p: read(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix != ".md" and p.name != MANIFEST_NAME
    }


# --------------------------------------------------------------------------- structural checker

REQUIRED_KEYS = {
    "reproschema:Protocol": ("prefLabel", "description", "schemaVersion", "version", "ui"),
    "reproschema:Activity": ("prefLabel", "description", "schemaVersion", "version", "ui"),
    "reproschema:Field": ("prefLabel", "question", "schemaVersion", "version", "ui", "responseOptions"),
}
CHILD_TYPE = {"reproschema:Protocol": "reproschema:Activity", "reproschema:Activity": "reproschema:Field"}
LANGUAGE_MAPS = ("prefLabel", "altLabel", "description", "question", "preamble", "citation")
INPUT_TYPES = {"radio", "select", "number", "float", "text", "date"}
VALUE_TYPES = {"xsd:integer", "xsd:decimal", "xsd:string", "xsd:date"}
JS_WORDS = {"true", "false", "null", "undefined", "includes"}


def _language_map_problems(where: str, value: object, languages: Sequence[str]) -> list[str]:
    if not isinstance(value, dict) or sorted(value) != sorted(languages):
        return [f"{where}: expected a language map with {list(languages)}, found {value!r}"]
    return [f"{where}[{lang}]: empty text" for lang, text in value.items() if not str(text).strip()]


def _isvis_names(expression: str) -> list[str]:
    without_strings = re.sub(r"'(?:[^'\\]|\\.)*'", "''", expression)
    return [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", without_strings) if n not in JS_WORDS]


def structural_problems(out: Path, languages: Sequence[str]) -> list[str]:
    """Every way the folder falls short of what ReproSchema 1.0.0 and reproschema-ui need."""
    problems: list[str] = []
    docs = documents(out)
    referenced: set[Path] = set()
    for path, doc in docs.items():
        where = path.relative_to(out).as_posix()
        kind = doc.get("@type")
        if doc.get("@context") != rs.CONTEXT_URL:
            problems.append(f"{where}: @context {doc.get('@context')!r}")
        if kind not in REQUIRED_KEYS:
            problems.append(f"{where}: unknown @type {kind!r}")
            continue
        if doc.get("@id") != path.name:
            problems.append(f"{where}: @id {doc.get('@id')!r} is not the file name")
        if doc.get("schemaVersion") != "1.0.0":
            problems.append(f"{where}: schemaVersion {doc.get('schemaVersion')!r}")
        problems += [f"{where}: no {key}" for key in REQUIRED_KEYS[kind] if not doc.get(key)]
        for key in LANGUAGE_MAPS:
            if key in doc:
                problems += _language_map_problems(f"{where}: {key}", doc[key], languages)
        ui = doc.get("ui", {})
        if kind == "reproschema:Field":
            options = doc.get("responseOptions", {})
            if ui.get("inputType") not in INPUT_TYPES:
                problems.append(f"{where}: inputType {ui.get('inputType')!r}")
            if options.get("valueType") not in VALUE_TYPES:
                problems.append(f"{where}: valueType {options.get('valueType')!r}")
            choices = options.get("choices")
            if choices is not None:
                values = [c.get("value") for c in choices]
                if len(set(map(str, values))) != len(values) or not isinstance(
                    options.get("multipleChoice"), bool
                ):
                    problems.append(f"{where}: choice values {values} repeat, or multipleChoice is missing")
                for n, choice in enumerate(choices):
                    problems += _language_map_problems(
                        f"{where}: choices[{n}].name", choice.get("name"), languages
                    )
                if all(isinstance(v, int) for v in values) and (
                    options.get("minValue") != min(values) or options.get("maxValue") != max(values)
                ):
                    problems.append(f"{where}: minValue/maxValue do not span the choices {values}")
            continue
        order = ui.get("order") or []
        properties = ui.get("addProperties") or []
        if not order or len(set(order)) != len(order):
            problems.append(f"{where}: ui.order is empty or repeats an entry")
        if [p.get("isAbout") for p in properties] != order:
            problems.append(f"{where}: addProperties isAbout differ from ui.order")
        names = [p.get("variableName") for p in properties]
        if len(set(names)) != len(names):
            problems.append(f"{where}: repeated variableName")
        for position, entry in enumerate(order):
            target = (path.parent / entry).resolve()
            referenced.add(target)
            if target not in {p.resolve() for p in docs}:
                problems.append(f"{where}: ui.order entry {entry!r} is not a file of the export")
            elif docs[next(p for p in docs if p.resolve() == target)].get("@type") != CHILD_TYPE[kind]:
                problems.append(f"{where}: {entry!r} is not a {CHILD_TYPE[kind]}")
            prop = properties[position] if position < len(properties) else {}
            problems += _language_map_problems(
                f"{where}: addProperties[{position}].prefLabel", prop.get("prefLabel"), languages
            )
            visible = prop.get("isVis")
            if isinstance(visible, str):
                unknown = [n for n in _isvis_names(visible) if n not in names[:position]]
                if unknown:
                    problems.append(
                        f"{where}: isVis of {names[position]} uses {unknown}, not earlier variables"
                    )
            elif visible is not True:
                problems.append(f"{where}: isVis of {names[position]} is {visible!r}")
            if kind == "reproschema:Activity" and not isinstance(prop.get("valueRequired"), bool):
                problems.append(f"{where}: valueRequired of {names[position]} is not a boolean")
    for path, doc in docs.items():
        if doc.get("@type") != "reproschema:Protocol" and path.resolve() not in referenced:
            problems.append(f"{path.relative_to(out).as_posix()}: not referenced by any ui.order")
    if sum(doc.get("@type") == "reproschema:Protocol" for doc in docs.values()) != 1:
        problems.append("expected exactly one protocol")
    return problems


def test_the_structural_checker_finds_what_breaks_a_folder(tmp_path: Path) -> None:
    export("bpn-residency", tmp_path)
    folder = tmp_path / "activities" / "bpn-residency"
    (folder / "items" / "as1").unlink()
    field = read(folder / "items" / "af1")
    del field["question"]["es"]
    (folder / "items" / "af1").write_text(json.dumps(field), encoding="utf-8")
    activity = read(folder / "bpn-residency_schema")
    activity["ui"]["addProperties"][0]["isVis"] = "af1 == 1"  # af1 comes after as1
    (folder / "bpn-residency_schema").write_text(json.dumps(activity), encoding="utf-8")
    problems = "\n".join(structural_problems(tmp_path, ["en", "es"]))
    assert "'items/as1' is not a file of the export" in problems
    assert "items/af1: question: expected a language map with ['en', 'es']" in problems
    assert "isVis of as1 uses ['af1'], not earlier variables" in problems


# --------------------------------------------------------------------------- every instrument exports


@pytest.mark.parametrize("name", sorted(sdt_survey.bundled_instruments()))
def test_every_bundled_instrument_exports_a_complete_folder(name: str, tmp_path: Path) -> None:
    inst = sdt_survey.load_instrument(name)
    result = export(name, tmp_path)
    protocol = tmp_path / name / f"{name}_schema"
    assert result.paths == [protocol]
    assert result.target == "reproschema"
    assert (tmp_path / "README.md").is_file()
    activity = read(tmp_path / "activities" / name / f"{name}_schema")
    assert activity["ui"]["order"] == [f"items/{i}" for i in inst.display_order]
    assert [p["variableName"] for p in activity["ui"]["addProperties"]] == inst.display_order
    assert sorted(p.name for p in (tmp_path / "activities" / name / "items").iterdir()) == sorted(
        inst.item_ids
    )
    assert structural_problems(tmp_path, inst.languages) == []


def test_the_combined_survey_keeps_instruments_and_items_in_display_order(tmp_path: Path) -> None:
    result = export(COMBINED, tmp_path)
    protocol = read(tmp_path / COMBINED_NAME / f"{COMBINED_NAME}_schema")
    assert result.paths == [tmp_path / COMBINED_NAME / f"{COMBINED_NAME}_schema"]
    assert protocol["ui"]["order"] == [f"../activities/{i}/{i}_schema" for i in COMBINED]
    assert [p["variableName"] for p in protocol["ui"]["addProperties"]] == [
        "bpn_residency",
        "continuity_exposure",
        "program_belonging",
    ]
    assert protocol["ui"]["allow"] == ["reproschema:AutoAdvance", "reproschema:AllowExport"]
    for name in COMBINED:
        inst = sdt_survey.load_instrument(name)
        activity = read(tmp_path / "activities" / name / f"{name}_schema")
        assert activity["ui"]["order"] == [f"items/{i}" for i in inst.display_order]
    # Only English is shared, so only English is exported, and the user is told.
    assert structural_problems(tmp_path, ["en"]) == []
    assert any("bpn-residency: its es texts are left out" in w for w in result.warnings)


def test_the_export_is_the_same_from_the_writer_and_from_export_survey(tmp_path: Path) -> None:
    export("program-belonging", tmp_path / "a")
    rs.write(build_survey("program-belonging"), tmp_path / "b")
    first = {
        p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()
    }
    second = {
        p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()
    }
    assert first == second


# --------------------------------------------------------------------------- items


def test_reverse_keyed_items_keep_the_natural_choice_order(tmp_path: Path) -> None:
    export(COMBINED, tmp_path)
    reversed_items = [
        (inst.id, item.id, item.scale)
        for inst in load_instruments(COMBINED)
        for item in inst.items
        if item.reverse
    ]
    assert {i for _, i, _ in reversed_items} == {"as4", "rs4", "cs4", "pcs3", "pb4"}
    for inst_id, item_id, scale in reversed_items:
        field = read(tmp_path / "activities" / inst_id / "items" / item_id)
        choices = field["responseOptions"]["choices"]
        assert [c["value"] for c in choices] == [1, 2, 3, 4, 5]
        assert [c["name"]["en"] for c in choices] == [str(label) for label in scale.labels]
        assert field["responseOptions"]["minValue"] == 1 and field["responseOptions"]["maxValue"] == 5
        assert field["responseOptions"]["multipleChoice"] is False
        assert field["ui"]["inputType"] == "radio"
        assert "reverse-keyed: scored 6 - x" in field["description"]["en"]


def test_each_item_type_has_its_input_and_value_type(tmp_path: Path) -> None:
    export(CLINIC_CHECK, tmp_path)
    items = tmp_path / "activities" / "clinic-check" / "items"
    expected = {
        "as1": ("radio", "xsd:integer", False),
        "gate": ("radio", "xsd:integer", False),
        "halfdays": ("number", "xsd:integer", None),
        "sources": ("radio", "xsd:integer", True),
        "comment": ("text", "xsd:string", None),
    }
    for item_id, (input_type, value_type, multiple) in expected.items():
        field = read(items / item_id)
        assert field["ui"]["inputType"] == input_type, item_id
        assert field["responseOptions"]["valueType"] == value_type, item_id
        assert field["responseOptions"].get("multipleChoice") == multiple, item_id
    assert read(items / "halfdays")["responseOptions"] == {
        "valueType": "xsd:integer",
        "minValue": 0,
        "maxValue": 40,
    }
    assert [c["value"] for c in read(items / "sources")["responseOptions"]["choices"]] == [1, 2, -99]
    assert structural_problems(tmp_path, ["en"]) == []


def test_number_date_and_long_choice_lists(write, tmp_path: Path) -> None:
    choices = "\n".join(f"      - {{value: c{n}, label: Option {n}}}" for n in range(12))
    path = write(
        f"""\
schema_version: 1
id: misc
version: "2.1.0"
items:
  - id: weight
    text: Weight
    type: number
    min: 0.5
  - id: seen_on
    text: Date
    type: date
  - id: site
    text: Site
    type: single
    choices:
{choices}
  - id: note
    text: Why?
    type: text
    show_if: site in ["c1", "c2"] and weight >= 1.5
""",
        "misc.yaml",
    )
    export(path, tmp_path / "out")
    items = tmp_path / "out" / "activities" / "misc" / "items"
    assert read(items / "weight")["ui"]["inputType"] == "float"
    assert read(items / "weight")["responseOptions"] == {"valueType": "xsd:decimal", "minValue": 0.5}
    assert read(items / "seen_on")["ui"]["inputType"] == "date"
    assert read(items / "seen_on")["responseOptions"] == {"valueType": "xsd:date"}
    site = read(items / "site")
    assert site["ui"]["inputType"] == "select"
    assert site["responseOptions"]["valueType"] == "xsd:string" and "minValue" not in site["responseOptions"]
    activity = read(tmp_path / "out" / "activities" / "misc" / "misc_schema")
    assert activity["ui"]["addProperties"][3]["isVis"] == "(site == 'c1' || site == 'c2') && weight >= 1.5"
    assert structural_problems(tmp_path / "out", ["en"]) == []


# --------------------------------------------------------------------------- branching


def test_is_vis_of_halfdays_with_preceptor(tmp_path: Path) -> None:
    export(COMBINED, tmp_path)
    activity = read(tmp_path / "activities" / "continuity-exposure" / "continuity-exposure_schema")
    visibility = {p["variableName"]: p["isVis"] for p in activity["ui"]["addProperties"]}
    assert visibility["halfdays_with_preceptor"] == "has_usual_preceptor == 1 && clinic_halfdays_4wk > 0"
    assert all(v is True for k, v in visibility.items() if k != "halfdays_with_preceptor")
    required = {p["variableName"]: p["valueRequired"] for p in activity["ui"]["addProperties"]}
    assert required["halfdays_with_preceptor"] is True and required["coach_meetings_year"] is False


@pytest.mark.parametrize(
    ("show_if", "is_vis"),
    [
        ("a == 1 and b > 0", "a == 1 && b > 0"),
        ("a == 1 or b == 2 and c == 3", "a == 1 || b == 2 && c == 3"),
        ("(a == 1 or b == 2) and c == 3", "(a == 1 || b == 2) && c == 3"),
        ("not a == 1", "!(a == 1)"),
        ("not (a == 1 and b == 2)", "!(a == 1 && b == 2)"),
        ("a in [1, 2]", "(a == 1 || a == 2)"),
        ("a not in [1, 2]", "(a != 1 && a != 2)"),
        ("a in [3] and b != 0", "a == 3 && b != 0"),
        ('site == "north"', "site == 'north'"),
        ('site == "o\'hare"', "site == 'o\\'hare'"),
        ("0 < a", "0 < a"),
        ("a >= 1.5 or a <= -2", "a >= 1.5 || a <= -2"),
        ("m == 1", "m.includes(1)"),
        ("m != 1", "!m.includes(1)"),
        ("1 == m", "m.includes(1)"),
        ("m in [1, 2] and a == 1", "(m.includes(1) || m.includes(2)) && a == 1"),
        ("m not in [1, 2]", "!(m.includes(1) || m.includes(2))"),
    ],
)
def test_show_if_translates_to_is_vis(show_if: str, is_vis: str) -> None:
    assert rs.isvis_expression(parse_expression(show_if), multiple_choice={"m"}) == is_vis


# --------------------------------------------------------------------------- languages


def test_bpn_residency_carries_its_spanish_texts(tmp_path: Path) -> None:
    bpn = sdt_survey.load_instrument("bpn-residency")
    export("bpn-residency", tmp_path)
    assert structural_problems(tmp_path, ["en", "es"]) == []
    for item in bpn.items:
        field = read(tmp_path / "activities" / "bpn-residency" / "items" / item.id)
        assert field["question"] == {"en": item.text.get("en"), "es": item.text.get("es")}
    as1 = read(tmp_path / "activities" / "bpn-residency" / "items" / "as1")
    assert [c["name"]["es"] for c in as1["responseOptions"]["choices"]] == [
        "Nada cierto",
        "Ligeramente cierto",
        "Moderadamente cierto",
        "Muy cierto",
        "Completamente cierto",
    ]
    activity = read(tmp_path / "activities" / "bpn-residency" / "bpn-residency_schema")
    assert activity["prefLabel"] == {"en": bpn.title.get("en"), "es": bpn.title.get("es")}
    section = bpn.sections[0]
    assert activity["preamble"]["es"] == f"{section.title.get('es')}\n\n{section.preamble.get('es')}"
    assert activity["description"]["es"].startswith(bpn.description.get("es"))
    protocol = read(tmp_path / "bpn-residency" / "bpn-residency_schema")
    assert protocol["landingPage"] == [
        {"@id": "README-en.md", "inLanguage": "en"},
        {"@id": "README-es.md", "inLanguage": "es"},
    ]
    assert bpn.title.get("es") in (tmp_path / "bpn-residency" / "README-es.md").read_text(encoding="utf-8")


def test_sections_of_a_multi_section_instrument_become_item_preambles(tmp_path: Path) -> None:
    inst = sdt_survey.load_instrument("continuity-exposure")
    export("continuity-exposure", tmp_path)
    items = tmp_path / "activities" / "continuity-exposure" / "items"
    with_preamble = {p.name for p in items.iterdir() if "preamble" in read(p)}
    assert with_preamble == {section.items[0] for section in inst.sections} == {"has_usual_preceptor", "pcs1"}
    perceived = inst.sections[1]
    assert read(items / "pcs1")["preamble"] == {"en": f"{perceived.title}\n\n{perceived.preamble}"}
    assert "preamble" not in read(items.parent / "continuity-exposure_schema")


def test_supplied_wording_must_cover_every_exported_language(valid_text: str, write, tmp_path: Path) -> None:
    path = write(valid_text)
    with pytest.raises(SdtSurveyError, match="no 'es' wording"):
        sdt_survey.export_survey(path, "reproschema", tmp_path / "out", texts={"q1": "Only English"})
    assert not (tmp_path / "out").exists()  # nothing is written when a document cannot be built


# --------------------------------------------------------------------------- provenance


def test_provenance_is_recorded_at_every_level(tmp_path: Path) -> None:
    export(COMBINED, tmp_path)
    instruments = load_instruments(COMBINED)
    protocol = read(tmp_path / COMBINED_NAME / f"{COMBINED_NAME}_schema")
    # issue 14: the protocol's version is each instrument's stamp, id@version#content-hash
    assert protocol["version"] == " ".join(f"{i.id}@{i.version}#{i.content_hash()}" for i in instruments)
    assert protocol["altLabel"] == {
        "en": "bpn-residency 1.0.0; continuity-exposure 1.0.0; program-belonging 1.0.0"
    }
    assert f"sdt-survey {sdt_survey.__version__}" in protocol["description"]["en"]
    for inst in instruments:
        assert f"{inst.id} {inst.version}; license {inst.license}" in protocol["description"]["en"]
        activity = read(tmp_path / "activities" / inst.id / f"{inst.id}_schema")
        assert activity["version"] == inst.version
        assert activity["altLabel"] == {"en": f"{inst.id} {inst.version}"}
        assert activity["citation"] == {"en": inst.citation}
        assert activity["description"]["en"].endswith(f"{inst.id} {inst.version}; license {inst.license}")
        assert "isProprietary" not in activity
        for item in inst.items:
            field = read(tmp_path / "activities" / inst.id / "items" / item.id)
            assert field["version"] == inst.version
            assert field["description"]["en"].startswith(f"{inst.id} {inst.version}; item {item.id}")
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "bpn-residency 1.0.0; continuity-exposure 1.0.0; program-belonging 1.0.0" in readme


def test_a_proprietary_key_needs_wording_and_is_marked(tmp_path: Path) -> None:
    with pytest.raises(SdtSurveyError, match="24 items have no wording"):
        sdt_survey.export_survey("bpnsfs-keys", "reproschema", tmp_path / "refused")
    result = export("bpnsfs-keys", tmp_path / "out")
    activity = read(tmp_path / "out" / "activities" / "bpnsfs-keys" / "bpnsfs-keys_schema")
    assert activity["isProprietary"] is True
    assert "license proprietary" in activity["description"]["en"]
    assert activity["citation"]["en"].startswith("Chen, B., Vansteenkiste, M.")
    field = read(tmp_path / "out" / "activities" / "bpnsfs-keys" / "items" / "bpnsfs_07")
    assert field["question"] == {"en": "Placeholder statement number 7."}
    assert any("licensed wording supplied for 24 items" in w for w in result.warnings)


# --------------------------------------------------------------------------- writing into a folder


def test_re_export_replaces_its_own_files_only(tmp_path: Path) -> None:
    export(["program-belonging", "continuity-exposure"], tmp_path)
    stale = tmp_path / "activities" / "continuity-exposure"  # the package's, not in the new export
    assert stale.is_dir()
    users_file = tmp_path / "activities" / "program-belonging" / "items" / "pb_removed"
    users_file.write_text("{}", encoding="utf-8")
    unrelated = tmp_path / "activities" / "my-own-activity" / "my-own-activity_schema"
    unrelated.parent.mkdir(parents=True)
    unrelated.write_text("{}", encoding="utf-8")
    with pytest.raises(SdtSurveyError, match="overwrite=True"):
        export("program-belonging", tmp_path)
    export("program-belonging", tmp_path, overwrite=True)
    assert not stale.exists()
    assert users_file.read_text(encoding="utf-8") == "{}"
    assert unrelated.read_text(encoding="utf-8") == "{}"


def test_refuses_a_file_and_a_bad_protocol_name(tmp_path: Path) -> None:
    target = tmp_path / "survey.json"
    target.write_text("", encoding="utf-8")
    with pytest.raises(SdtSurveyError, match="is a folder"):
        export("program-belonging", target)
    with pytest.raises(SdtSurveyError, match="protocol name"):
        export("program-belonging", tmp_path / "out", name="../escape")
    result = export("program-belonging", tmp_path / "named", name="wave-1")
    assert result.paths == [tmp_path / "named" / "wave-1" / "wave-1_schema"]
    assert structural_problems(tmp_path / "named", ["en"]) == []


# --------------------------------------------------------------------------- reproschema's own validator


def reproschema_problems(paths: Sequence[Path], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Validate documents with the ``reproschema`` package's model, offline.

    ``reproschema validate`` expands each document with the published JSON-LD
    context (downloaded) and checks it against its pydantic model. Here the
    context comes from the vendored copy, and any other download fails the test.
    """
    monkeypatch.setenv("NO_ET", "1")  # reproschema checks online for a newer version on import
    jsonldutils = pytest.importorskip("reproschema.jsonldutils")
    from pyld import jsonld

    context = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))

    def offline_loader(url: str, options: Mapping | None = None) -> dict:
        if url != rs.CONTEXT_URL:
            raise AssertionError(f"validation tried to download {url}")
        return {"contextUrl": None, "documentUrl": url, "document": context}

    monkeypatch.setattr(jsonldutils, "CONTEXTFILE_URL", str(CONTEXT_FILE))
    problems = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        expanded = jsonld.expand(data, {"base": path.as_uri(), "documentLoader": offline_loader})
        for node in expanded:
            conforms, message = jsonldutils.validate_data(node, schemaname=path.name)
            if not conforms:
                problems.append(f"{path.name}: {message}")
    return problems


def test_reproschema_validates_every_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export(COMBINED, tmp_path / "combined")
    export("bpn-residency", tmp_path / "bpn")
    export(CLINIC_CHECK, tmp_path / "clinic")
    export("bpnsfs-keys", tmp_path / "keys")
    paths = [p for out in tmp_path.iterdir() for p in documents(out)]
    assert len(paths) == (1 + 3 + 40) + (1 + 1 + 24) + (1 + 1 + 6) + (1 + 1 + 24)
    assert reproschema_problems(paths, monkeypatch) == []


def test_reproschema_rejects_a_broken_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export("program-belonging", tmp_path)
    broken = tmp_path / "activities" / "program-belonging" / "items" / "pb1"
    document = read(broken)
    document["license"] = "CC-BY-4.0"  # not a property of reproschema:Field
    broken.write_text(json.dumps(document), encoding="utf-8")
    assert reproschema_problems([broken], monkeypatch) != []


# --------------------------------------------------------------------------- round trip


def ui_export(out_zip: Path, survey_folder: Path, participant: str, answers: Mapping[str, object]) -> Path:
    """Responses as reproschema-ui's Export button saves them, for answers keyed by item id.

    One ``responses/activity_N.jsonld`` per activity that has answers: a list
    alternating ``ResponseActivity`` and ``Response``; ``isAbout`` is the
    hosted item URL. An answer given as a list of values is a change of mind:
    each value is recorded, in turn.
    """
    protocol = next(p for p, d in documents(survey_folder).items() if d["@type"] == "reproschema:Protocol")
    protocol_url = f"{HOSTED}/{protocol.relative_to(survey_folder).as_posix()}"
    clock = pd.Timestamp("2026-03-02T09:00:00Z")
    with zipfile.ZipFile(out_zip, "w") as archive:
        index = 0
        for activity_path in sorted((survey_folder / "activities").glob("*/*_schema")):
            activity = read(activity_path)
            records: list[dict] = []
            for entry in activity["ui"]["order"]:
                item_id = entry.rsplit("/", 1)[-1]
                if item_id not in answers:
                    continue
                item_url = f"{HOSTED}/{activity_path.parent.relative_to(survey_folder).as_posix()}/{entry}"
                given = answers[item_id]
                for value in given if isinstance(given, tuple) else [given]:
                    n = len(records)
                    records.append(
                        {
                            "@context": rs.CONTEXT_URL,
                            "@type": "reproschema:ResponseActivity",
                            "@id": f"uuid:activity-{participant}-{index}-{n}",
                            "used": [
                                item_url,
                                f"{HOSTED}/{activity_path.relative_to(survey_folder).as_posix()}",
                                protocol_url,
                            ],
                            "inLanguage": "en",
                            "startedAtTime": (clock + pd.Timedelta(seconds=n))
                            .isoformat()
                            .replace("+00:00", "Z"),
                            "endedAtTime": (clock + pd.Timedelta(seconds=n + 1))
                            .isoformat()
                            .replace("+00:00", "Z"),
                            "wasAssociatedWith": {
                                "version": "1.0.0",
                                "url": "https://www.repronim.org/reproschema-ui/",
                                "@id": "https://github.com/ReproNim/reproschema-ui",
                            },
                            "generated": f"uuid:response-{participant}-{index}-{n}",
                        }
                    )
                    records.append(
                        {
                            "@context": rs.CONTEXT_URL,
                            "@type": "reproschema:Response",
                            "@id": f"uuid:response-{participant}-{index}-{n}",
                            "wasAttributedTo": {
                                "@id": f"uuid:session-{participant}",
                                "subject_id": participant,
                            },
                            "isAbout": item_url,
                            "value": value,
                        }
                    )
                clock += pd.Timedelta(seconds=len(records))
            if records:
                archive.writestr(f"responses/activity_{index}.jsonld", json.dumps(records, indent=4))
                index += 1
    return out_zip


def _combined_answers() -> dict[str, dict[str, object]]:
    instruments = load_instruments(COMBINED)
    likert = [item.id for inst in instruments for item in inst.items if item.type == "likert"]
    first = {item_id: 1 + n % 5 for n, item_id in enumerate(likert)}
    first |= {
        "has_usual_preceptor": 1,
        "clinic_halfdays_4wk": 8,
        "halfdays_with_preceptor": 5,
        "coach_meetings_year": 3,
        "longitudinal_team": 2,
    }
    second = {item_id: 5 - n % 5 for n, item_id in enumerate(likert)}
    second |= {"has_usual_preceptor": 0, "clinic_halfdays_4wk": 0, "longitudinal_team": 0}
    second["rs2"] = "skipped"  # the UI's skip button; halfdays_with_preceptor is hidden, never answered
    third = dict(first)
    third["pb3"] = (2, 5)  # answered 2, then changed to 5
    third["coach_meetings_year"] = 0
    return {"R01": first, "R02": second, "R03": third}


def _expected_items(answers: Mapping[str, Mapping[str, object]], item_ids: Sequence[str]) -> pd.DataFrame:
    def final(value: object) -> object:
        if isinstance(value, tuple):
            return value[-1]
        return np.nan if value == "skipped" else value

    return pd.DataFrame(
        [{item_id: final(given.get(item_id, np.nan)) for item_id in item_ids} for given in answers.values()]
    )


def test_ui_responses_read_back_through_score_to_the_same_item_values(tmp_path: Path) -> None:
    export(COMBINED, tmp_path / "survey")
    answers = _combined_answers()
    zips = [ui_export(tmp_path / f"{p}.zip", tmp_path / "survey", p, a) for p, a in answers.items()]

    frame = rs.read_responses(zips, COMBINED)
    instruments = load_instruments(COMBINED)
    item_ids = [i for inst in instruments for i in inst.display_order]
    assert list(frame.columns) == [
        "participant",
        "language",
        "started",
        "ended",
        "duration_seconds",
        *item_ids,
    ]
    assert frame["participant"].tolist() == ["R01", "R02", "R03"]
    assert frame["language"].tolist() == ["en", "en", "en"]
    assert frame.loc[1, "rs2"] == -99  # "skipped" -> the scale's missing code for skipped
    assert (frame["duration_seconds"] > 0).all()

    scored = sdt_survey.score(COMBINED, frame, id_column="participant")
    pd.testing.assert_frame_equal(
        scored.items[item_ids].astype(float),
        _expected_items(answers, item_ids).astype(float),
        check_names=False,
    )
    assert scored.report.errors.empty
    assert "missing_code" in set(scored.report.issues["problem"])
    # The same scores as the same answers given directly.
    direct = sdt_survey.score(
        COMBINED,
        _expected_items(answers, item_ids).assign(participant=["R01", "R02", "R03"]),
        id_column="participant",
    )
    score_columns = scored.score_columns
    pd.testing.assert_frame_equal(scored.scores[score_columns], direct.scores[score_columns])
    # `sdt-survey score` reads a downloaded zip directly, and says what it detected.
    one = sdt_survey.score(COMBINED, zips[0], id_column="participant")
    assert one.report.source == "reproschema"
    pd.testing.assert_frame_equal(
        one.items[item_ids].astype(float), scored.items[item_ids].iloc[:1].astype(float)
    )
    # As a CSV keyed by item id, the same values again.
    frame.to_csv(tmp_path / "responses.csv", index=False)
    from_csv = sdt_survey.score(COMBINED, tmp_path / "responses.csv", id_column="participant")
    assert from_csv.report.source == "plain"
    pd.testing.assert_frame_equal(
        from_csv.items[item_ids].astype(float), scored.items[item_ids].astype(float)
    )


def test_every_item_type_round_trips_from_a_folder_of_ui_files(tmp_path: Path) -> None:
    export(CLINIC_CHECK, tmp_path / "survey")
    answers = {
        "A": {"as1": 4, "rs4": 2, "gate": 1, "halfdays": 8, "sources": [1, 2], "comment": "Great, thanks"},
        "B": {"as1": 1, "rs4": 5, "gate": 0, "sources": [-99], "comment": "Line one\nline two"},
    }
    folder = tmp_path / "unzipped"
    for participant, given in answers.items():
        ui_export(tmp_path / f"{participant}.zip", tmp_path / "survey", participant, given)
        with zipfile.ZipFile(tmp_path / f"{participant}.zip") as archive:
            archive.extractall(folder / participant)

    frame = rs.read_responses(folder, CLINIC_CHECK)
    assert frame["sources"].tolist() == ["1 2", "-99"]
    scored = sdt_survey.score(CLINIC_CHECK, frame, id_column="participant")
    assert scored.items["as1"].tolist() == [4, 1]
    assert scored.items["halfdays"].tolist()[0] == 8 and np.isnan(scored.items["halfdays"].tolist()[1])
    assert scored.items["sources"].tolist() == ["1 2", "-99"]
    assert scored.items["comment"].tolist() == ["Great, thanks", "Line one\nline two"]
    assert scored.report.errors.empty


def test_the_simulated_ui_responses_are_valid_reproschema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The response layout used above is ReproSchema's own (Response, ResponseActivity).

    Only single values: reproschema-ui records a multiple-choice answer as a
    list, which the ``reproschema`` package's 1.0.0 model does not accept.
    """
    export(COMBINED, tmp_path / "survey")
    folder = tmp_path / "unzipped"
    for participant, given in _combined_answers().items():
        ui_export(tmp_path / f"{participant}.zip", tmp_path / "survey", participant, given)
        with zipfile.ZipFile(tmp_path / f"{participant}.zip") as archive:
            archive.extractall(folder / participant)
    paths = sorted(folder.rglob("*.jsonld"))
    assert len(paths) == 9  # three activities for each of three participants
    assert reproschema_problems(paths, monkeypatch) == []


def test_read_responses_reports_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(SdtSurveyError, match="no such file"):
        rs.read_responses(tmp_path / "missing.zip")
    empty = tmp_path / "activity_0.jsonld"
    empty.write_text("[]", encoding="utf-8")
    with pytest.raises(SdtSurveyError, match="no reproschema:Response found"):
        rs.read_responses(empty)
    broken = tmp_path / "broken.jsonld"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(SdtSurveyError, match="not valid JSON"):
        rs.read_responses(broken)


def test_an_alias_names_the_item_in_older_responses(write, tmp_path: Path) -> None:
    path = write(
        """\
schema_version: 1
id: aliased
version: "1.0.0"
scales:
  yn: {values: [0, 1], labels: ["No", "Yes"]}
items:
  - id: q1
    text: Question one
    scale: yn
    aliases: {reproschema: old_q1}
""",
        "aliased.yaml",
    )
    response = tmp_path / "activity_0.jsonld"
    response.write_text(
        json.dumps(
            [
                {
                    "@type": "reproschema:Response",
                    "isAbout": "https://example.org/old/activities/a/items/old_q1.jsonld",
                    "value": 1,
                    "wasAttributedTo": {"@id": "uuid:x"},
                }
            ]
        ),
        encoding="utf-8",
    )
    frame = rs.read_responses(response, path)
    assert frame[["participant", "q1"]].to_dict("records") == [{"participant": "uuid:x", "q1": 1}]
