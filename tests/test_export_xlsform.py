"""XLSForm: every form converts with pyxform, the structure of each sheet, and the round trip.

The round trip writes responses in ODK Central's CSV layout (``SubmissionDate``,
fields named by their group path joined with ``-``, split select_multiple
``path/choice`` columns, ``KEY`` ...) and KoboToolbox's (``;``, every cell
quoted, ``group/item`` headers, ``_uuid`` ...), with the columns derived from
the generated form, and reads them back with ``sdt_survey.score``.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pyxform.xls2xform import convert

import sdt_survey
from sdt_survey.instrument.expressions import parse_expression
from sdt_survey.platforms.xlsform import PROVENANCE_FIELD, language_column, relevant
from tests.export_support import (
    COMBINATION,
    expected_values,
    make_answers,
    observed_values,
    placeholder_texts,
)

XFORMS = "{http://www.w3.org/2002/xforms}"

# Every kind of item, with branching on each kind (the same instrument as in test_export_redcap.py).
ALL_KINDS = sdt_survey.parse_instrument(
    """
schema_version: 1
id: all-kinds
version: "0.3.1"
title: {en: Every kind of item, es: Cada tipo de ítem}
languages: [en, es]
license: CC0-1.0
scales:
  truth5:
    values: [1, 2, 3, 4, 5]
    labels:
      - {en: Not at all true, es: Nada cierto}
      - {en: Slightly true, es: Ligeramente cierto}
      - {en: Moderately true, es: Moderadamente cierto}
      - {en: Very true, es: Muy cierto}
      - {en: Completely true, es: Completamente cierto}
    missing_codes: {-99: skipped}
  often4:
    values: [0, 1, 2, 3]
    labels: [{en: Never, es: Nunca}, {en: Sometimes, es: A veces}, {en: Often, es: A menudo},
             {en: Always, es: Siempre}]
items:
  - id: gate
    text: {en: "Do you have a usual preceptor?", es: "¿Tiene un tutor habitual?"}
    type: single
    required: true
    choices: [{value: 1, label: {en: "Yes", es: Sí}}, {value: 0, label: {en: "No", es: "No"}}]
  - id: pgy
    text: {en: Your postgraduate year, es: Su año de residencia}
    type: single
    choices: [{value: 1, label: {en: PGY-1, es: R1}}, {value: 2, label: {en: PGY-2, es: R2}},
              {value: 3, label: {en: PGY-3, es: R3}}]
  - id: halfdays
    text: {en: "Clinic half-days, last 4 weeks", es: "Medias jornadas, últimas 4 semanas"}
    type: integer
    min: 0
    max: 40
    show_if: gate == 1
  - id: hours
    text: {en: Hours of teaching a week, es: Horas de docencia por semana}
    type: number
    min: 0
    max: 80.5
    show_if: "not (pgy in [1] or halfdays > 10)"
  - id: sources
    text: {en: "Who supports you?", es: "¿Quién le apoya?"}
    type: multiple
    choices: [{value: 1, label: {en: Faculty, es: Profesorado}},
              {value: 2, label: {en: Co-residents, es: Compañeros}},
              {value: -99, label: {en: Skipped, es: Omitido}}]
  - id: started
    text: {en: "When did you start?", es: "¿Cuándo empezó?"}
    type: date
    show_if: "sources == 1"
  - {id: t1, text: {en: I choose how to run my clinic., es: Elijo cómo llevar mi clínica.}, scale: truth5}
  - id: t2
    text: {en: Nobody would notice if I struggled., es: Nadie notaría si lo pasara mal.}
    scale: truth5
    reverse: true
    show_if: "sources != 2"
  - {id: o1, text: {en: I eat lunch with my team., es: Como con mi equipo.}, scale: often4}
  - {id: o2, text: {en: I teach students., es: Enseño a estudiantes.}, scale: often4, show_if: pgy > 1}
  - {id: t3, text: {en: My preceptor knows my goals., es: Mi tutor conoce mis metas.}, scale: truth5}
  - id: comment
    text: {en: "Anything else?", es: "¿Algo más?"}
    type: text
    show_if: "pgy not in [3]"
sections:
  - id: about
    title: {en: About you, es: Sobre usted}
    preamble: {en: A few facts first., es: "Primero, unos datos."}
    items: [gate, pgy, halfdays, hours, sources, started]
  - {id: ratings, title: {en: Your clinic, es: Su clínica}, items: [t1, t2, o1, o2, t3, comment]}
subscales:
  support: {items: [t1, t2, t3], min_valid: 2}
"""
)


def export(instruments, tmp_path: Path, **kwargs):
    out = tmp_path / "form.xlsx"
    # Tests export several surveys in turn to the same file: each replaces the last.
    result = sdt_survey.export_survey(instruments, "xlsform", out, overwrite=True, **kwargs)
    sheets = pd.read_excel(out, sheet_name=None, dtype=str, keep_default_na=False)
    return result, sheets


def to_xform(path: Path) -> tuple[str, list[str]]:
    """Convert with pyxform; any error raises and fails the test."""
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)
    return result.xform, warnings


EVERY_EXPORT = (
    [[name] for name in sdt_survey.bundled_instruments()]
    + [COMBINATION, [ALL_KINDS]]
    + [["bpn-residency", "learning-climate", "continuity-exposure"]]
)


@pytest.mark.parametrize("instruments", EVERY_EXPORT, ids=[str(i) for i in range(len(EVERY_EXPORT))])
def test_every_form_converts_with_pyxform_without_warnings(instruments, tmp_path):
    texts = placeholder_texts() if instruments == ["bpnsfs-keys"] else None
    result, sheets = export(instruments, tmp_path, texts=texts)
    assert list(sheets) == ["survey", "choices", "settings"]
    xform, warnings = to_xform(result.paths[0])
    assert warnings == []
    loaded = [sdt_survey.load_instrument(i) if isinstance(i, str) else i for i in instruments]
    survey = sheets["survey"]
    questions = survey[
        ~survey["type"].isin(["begin group", "end group", "note", "start", "end", "calculate"])
    ]
    assert questions["name"].tolist() == [item_id for inst in loaded for item_id in inst.display_order]
    # Provenance: settings.version and a calculate stored with every submission.
    provenance = "; ".join(f"{inst.id} {inst.version}" for inst in loaded)
    assert sheets["settings"].loc[0, "version"] == provenance
    assert f'version="{provenance}"' in xform
    calc = survey.set_index("name").loc[PROVENANCE_FIELD]
    assert (calc["type"], calc["calculation"]) == ("calculate", f"'{provenance}'")
    assert sheets["settings"].loc[0, "form_id"] == "__".join(inst.id.replace("-", "_") for inst in loaded)
    # Groups: one per section, uniquely named, on one screen each.
    begins = survey[survey["type"] == "begin group"]
    assert len(begins) == sum(len(inst.sections) for inst in loaded)
    assert begins["name"].is_unique and set(begins["appearance"]) == {"field-list"}
    assert (survey["type"] == "end group").sum() == len(begins)


def test_bpnsfs_keys_without_wording_is_refused_naming_the_items(tmp_path):
    with pytest.raises(sdt_survey.SdtSurveyError, match=r"bpnsfs_01, bpnsfs_02.*texts=FILE"):
        sdt_survey.export_survey("bpnsfs-keys", "xlsform", tmp_path / "f.xlsx")
    _, sheets = export("bpnsfs-keys", tmp_path, texts=placeholder_texts())
    labels = sheets["survey"].set_index("name")["label::English (en)"]
    assert labels["bpnsfs_24"] == "Placeholder statement number 24."


def test_likert_items_are_select_one_of_one_list_per_scale_in_natural_order(tmp_path):
    _, sheets = export(COMBINATION, tmp_path)
    survey = sheets["survey"].set_index("name")
    assert survey.loc["as1", "type"] == "select_one truth5"
    assert survey.loc["pb4", "type"] == survey.loc["pcs1", "type"] == "select_one agree5"
    likert = survey[survey["type"].str.startswith("select_one ") & (survey["appearance"] != "")]
    assert set(likert["appearance"]) == {"likert"}
    assert set(likert.loc[["as1", "rs4", "cs4", "pb4", "pcs3"], "required"]) == {"yes"}
    choices = sheets["choices"]
    # The two agree5 scales are identical, so they share one list.
    assert choices["list_name"].drop_duplicates().tolist() == [
        "truth5", "has_usual_preceptor", "longitudinal_team", "agree5",
    ]  # fmt: skip
    truth5 = choices[choices["list_name"] == "truth5"]
    assert truth5["name"].tolist() == ["1", "2", "3", "4", "5"]  # reverse-keyed items too: not reversed
    assert truth5["label::English (en)"].tolist()[0] == "Not at all true"
    assert "-99" not in choices["name"].tolist()
    # Groups: named by section, unique across the combined survey.
    groups = sheets["survey"].query("type == 'begin group'")
    assert groups["name"].tolist() == ["needs", "clinic", "perceived", "belonging"]
    assert groups["label::English (en)"].tolist()[0] == "Your experience of residency"
    assert survey.loc["needs_intro", "type"] == "note"


def test_same_section_id_in_two_instruments_gets_unique_group_names(tmp_path):
    copy = ALL_KINDS.to_dict()
    copy.update(id="all-kinds-b")
    copy["items"] = [{**item, "id": item["id"] + "_b"} for item in copy["items"]]
    for item in copy["items"]:
        if "show_if" in item:
            item["show_if"] = parse_expression(item["show_if"]).to_text()
            for name in ("gate", "pgy", "halfdays", "sources"):
                item["show_if"] = item["show_if"].replace(name, name + "_b")
    for section in copy["sections"]:
        section["items"] = [i + "_b" for i in section["items"]]
    copy["subscales"] = {"support_b": {"items": ["t1_b", "t2_b", "t3_b"], "min_valid": 2}}
    other = sdt_survey.parse_instrument(yaml.safe_dump(copy, allow_unicode=True))
    result, sheets = export([ALL_KINDS, other], tmp_path)
    groups = sheets["survey"].query("type == 'begin group'")["name"].tolist()
    assert groups == ["all_kinds_about", "all_kinds_ratings", "all_kinds_b_about", "all_kinds_b_ratings"]
    assert to_xform(result.paths[0])[1] == []


def test_continuity_relevant_constraint_and_required(tmp_path):
    result, sheets = export("continuity-exposure", tmp_path)
    survey = sheets["survey"].set_index("name")
    half = survey.loc["halfdays_with_preceptor"]
    assert half["type"] == "integer"
    assert half["relevant"] == "${has_usual_preceptor} = '1' and ${clinic_halfdays_4wk} > 0"
    assert half["constraint"] == ". >= 0 and . <= 40"
    assert half["constraint_message::English (en)"] == "Enter a whole number from 0 to 40."
    assert half["required"] == "yes"
    assert survey.loc["coach_meetings_year", "required"] == ""
    # pyxform turns them into the XForm's bind.
    xform, _ = to_xform(result.paths[0])
    binds = {b.get("nodeset"): b for b in ElementTree.fromstring(xform).iter(f"{XFORMS}bind")}
    bind = binds["/data/clinic/halfdays_with_preceptor"]
    assert " ".join(bind.get("relevant").split()) == (
        "/data/clinic/has_usual_preceptor = '1' and /data/clinic/clinic_halfdays_4wk > 0"
    )
    assert (bind.get("constraint"), bind.get("required"), bind.get("type")) == (
        ". >= 0 and . <= 40",
        "true()",
        "int",
    )


def test_every_item_type_and_branching(tmp_path):
    result, sheets = export(ALL_KINDS, tmp_path)
    survey = sheets["survey"].set_index("name")
    kinds = survey.loc[[item.id for item in ALL_KINDS.items], ["type", "appearance", "relevant"]]
    assert kinds.apply(tuple, axis=1).to_dict() == {
        "gate": ("select_one gate", "", ""),
        "pgy": ("select_one pgy", "", ""),
        "halfdays": ("integer", "", "${gate} = '1'"),
        "hours": ("decimal", "", "not(${pgy} = '1' or ${halfdays} > 10)"),
        "sources": ("select_multiple sources", "", ""),
        "started": ("date", "", "selected(${sources}, '1')"),
        "t1": ("select_one truth5", "likert", ""),
        "t2": ("select_one truth5", "likert", "not(selected(${sources}, '2'))"),
        "o1": ("select_one often4", "likert", ""),
        "o2": ("select_one often4", "likert", "${pgy} > 1"),
        "t3": ("select_one truth5", "likert", ""),
        "comment": ("text", "multiline", "not(${pgy} = '3')"),
    }
    assert survey.loc["hours", "constraint"] == ". >= 0 and . <= 80.5"
    assert survey.loc["hours", "constraint_message::Spanish (es)"] == "Introduzca un número de 0 a 80.5."
    choices = sheets["choices"].query("list_name == 'sources'")
    assert choices["name"].tolist() == ["1", "2", "-99"]
    assert choices["label::Spanish (es)"].tolist() == ["Profesorado", "Compañeros", "Omitido"]
    assert to_xform(result.paths[0])[1] == []


ITEMS = {item.id: item for item in ALL_KINDS.items}


@pytest.mark.parametrize(
    ("show_if", "expected"),
    [
        ("gate != 1", "${gate} != '1'"),
        ("1 == gate", "${gate} = '1'"),
        ("10 < halfdays", "${halfdays} > 10"),
        ("hours <= 2.5", "${hours} <= 2.5"),
        ("pgy in [2, 3]", "${pgy} = '2' or ${pgy} = '3'"),
        ("pgy not in [2, 3]", "not(${pgy} = '2' or ${pgy} = '3')"),
        ("sources in [1, -99]", "selected(${sources}, '1') or selected(${sources}, '-99')"),
        ("sources not in [1]", "not(selected(${sources}, '1'))"),
        ("gate == 1 and (pgy == 2 or halfdays > 3)", "${gate} = '1' and (${pgy} = '2' or ${halfdays} > 3)"),
        ("not (gate == 1 and pgy in [2, 3])", "not(${gate} = '1' and (${pgy} = '2' or ${pgy} = '3'))"),
        ('comment == "it\'s"', '${comment} = "it\'s"'),
        ("started >= '2024-01-01'", "${started} >= date('2024-01-01')"),
        ("halfdays > hours", "${halfdays} > ${hours}"),
    ],
)
def test_relevant_translation(show_if, expected):
    assert relevant(parse_expression(show_if), ITEMS) == expected


def test_every_language_the_instruments_share_and_the_default(tmp_path):
    _, english = export("bpn-residency", tmp_path)
    assert [c for c in english["survey"].columns if c.startswith("label::")] == [
        "label::English (en)",
        "label::Spanish (es)",
    ]
    assert english["settings"].loc[0, "default_language"] == "English (en)"
    _, spanish = export("bpn-residency", tmp_path, language="es")
    settings = spanish["settings"].loc[0]
    assert settings["default_language"] == "Spanish (es)"
    assert settings["form_title"] == "Necesidades Psicológicas Básicas en la Residencia"
    survey = spanish["survey"].set_index("name")
    assert survey.loc["as1", "label::Spanish (es)"].startswith("Tengo voz real")
    assert survey.loc["as1", "label::English (en)"].startswith("I have a real say")
    assert spanish["choices"]["label::Spanish (es)"].tolist()[:2] == ["Nada cierto", "Ligeramente cierto"]
    xform, warnings = to_xform(tmp_path / "form.xlsx")
    assert warnings == [] and 'lang="Spanish (es)" default="true()"' in xform
    # Combined with English-only instruments, only the shared language is offered.
    _, combined = export(COMBINATION, tmp_path)
    assert [c for c in combined["survey"].columns if c.startswith("label::")] == ["label::English (en)"]
    assert language_column("pt-BR") == "Portuguese (pt-BR)"


# ------------------------------------------------------------------------ round trip


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def form_fields(sheets: dict[str, pd.DataFrame]) -> list[tuple[list[str], str, str]]:
    """(group path, name, type) of every field that holds data, in form order."""
    path: list[str] = []
    fields = []
    for row in sheets["survey"].itertuples(index=False):
        if row.type == "begin group":
            path.append(row.name)
        elif row.type == "end group":
            path.pop()
        else:
            fields.append((list(path), row.name, row.type))
    return fields


def odk_submission_csv(sheets, records, path: Path, kobo: bool) -> Path:
    """Records in ODK Central's CSV layout, or KoboToolbox's (``kobo=True``), for the generated form."""
    choices = sheets["choices"]
    joiner = "/" if kobo else "-"
    header = [] if kobo else ["SubmissionDate"]
    columns: list[tuple[str, str, str | None]] = []  # (header, field name, split choice)
    for groups, name, kind in form_fields(sheets):
        if kobo and kind == "note":
            continue  # Kobo's export leaves notes out
        column = joiner.join([*groups, name])
        columns.append((column, name, None))
        if kind.startswith("select_multiple "):
            names = choices.loc[choices["list_name"] == kind.split()[1], "name"].tolist()
            columns += [(f"{column}/{code}", name, code) for code in names]
    header += [c for c, _, _ in columns]
    if kobo:
        header += ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
                   "_submitted_by", "__version__", "_tags", "_index"]  # fmt: skip
    else:
        header += ["meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                   "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
                   "FormVersion"]  # fmt: skip
    version = sheets["settings"].loc[0, "version"]
    rows = [header]
    for k, record in enumerate(records):
        uuid = f"5b1f0c4e-1111-4c1e-9a9a-01234567890{k}"
        cells = [] if kobo else ["2024-03-04T15:21:41.123Z"]
        for _, name, code in columns:
            if name == "start":
                cells.append("2024-03-04T10:15:02.000-05:00")
            elif name == "end":
                cells.append("2024-03-04T10:21:40.000-05:00")
            elif name == PROVENANCE_FIELD:
                cells.append(version)
            elif name not in record:
                cells.append("")  # notes hold no data
            elif code is not None:
                cells.append("1" if code in [_cell(v) for v in (record[name] or [])] else "0")
            else:
                cells.append(_cell(record[name]))
        if kobo:
            cells += [str(60 + k), uuid, "2024-03-04T15:21:45", "", "", "submitted_via_web", "jdoe",
                      "vbKavWWCpgBCZms6hQX4FN", "", str(k + 1)]  # fmt: skip
        else:
            cells += [
                f"uuid:{uuid}",
                f"uuid:{uuid}",
                "5",
                "Alice",
                "0",
                "0",
                "",
                "",
                "collect:Xy12",
                "0",
                version,
            ]
        rows.append(cells)
    with path.open("w", newline="", encoding="utf-8") as handle:
        if kobo:
            csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
        else:
            csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize("kobo", [False, True], ids=["odk-central", "kobo"])
@pytest.mark.parametrize(
    "instruments", [COMBINATION, [ALL_KINDS], ["bpn-residency"]], ids=["combination", "all-kinds", "bpn"]
)
def test_submissions_read_back_to_the_same_item_values(instruments, kobo, tmp_path):
    _, sheets = export(instruments, tmp_path)
    loaded = [sdt_survey.load_instrument(i) if isinstance(i, str) else i for i in instruments]
    items = [inst.item(item_id) for inst in loaded for item_id in inst.display_order]
    records = make_answers(items)
    path = odk_submission_csv(sheets, records, tmp_path / "submissions.csv", kobo)
    id_column = "_uuid" if kobo else "KEY"
    scored = sdt_survey.score(loaded, path, id_column=id_column)
    assert scored.report.source == "odk"
    assert scored.report.issues.query("severity == 'error'").empty, scored.report.summary()
    for item in items:
        assert observed_values(scored.items[item.id]) == expected_values(item, records), item.id
    assert len(scored.scores) == len(records)
    assert scored.scores[PROVENANCE_FIELD].unique().tolist() == [sheets["settings"].loc[0, "version"]]
    header = path.read_text(encoding="utf-8").splitlines()[0]
    first = items[0]
    group = next(g for g, name, _ in form_fields(sheets) if name == first.id)[-1]
    assert (f'"{group}/{first.id}"' if kobo else f",{group}-{first.id},") in header
