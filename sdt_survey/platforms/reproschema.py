"""ReproSchema: the survey as a folder of JSON-LD protocol, activity and item documents.

`ReproSchema <https://www.repronim.org/reproschema/>`_ describes a survey as
linked JSON-LD documents: a *protocol* (the whole survey) lists *activities*
(assessments), and each activity lists its *items* (``reproschema:Field``).
The folder this module writes can be validated with the ``reproschema``
command line tool, rendered by reproschema-ui, and hosted as static files.

Layout under ``out`` (``NAME`` is the protocol name: the instrument ids joined
by ``_``, e.g. ``bpn-residency_continuity-exposure``)::

    out/
      README.md                              what this folder is and how to use it
      NAME/NAME_schema                       the protocol: activities in survey order
      NAME/README-en.md, README-es.md, ...   its landing page, one per language
      activities/ID/ID_schema                one activity per instrument (ID = instrument id)
      activities/ID/items/ITEM               one item per question, named by item id

Choices made here, and why:

* **One activity per instrument**, not per section: a ``show_if`` may refer to
  any earlier item of its instrument, and ReproSchema resolves the variables
  of an ``isVis`` expression within one activity only. A section's title and
  preamble become the ``preamble`` of the section's first item (of the
  activity, when the instrument has a single section).
* Every field is named by its **item id** (``variableName`` and file name), so
  collected responses read back into :func:`sdt_survey.score` unchanged.
* Texts are language maps with every language all the instruments share.
* Provenance: each activity records its instrument's version (``version``),
  ``ID VERSION`` (``altLabel``), the citation, and the licence (in
  ``description``; ReproSchema has no licence property); proprietary
  instruments are marked ``isProprietary``. The protocol's ``version`` is
  the stamp ``id@version#hash`` of every instrument (its content hash,
  :mod:`sdt_survey.instrument.fingerprint`), space-separated.

Examples
--------
>>> import json, tempfile, pathlib, sdt_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "survey"
>>> result = sdt_survey.export_survey("continuity-exposure", "reproschema", out)
>>> result.paths[0].relative_to(out).as_posix()
'continuity-exposure/continuity-exposure_schema'
>>> activity = json.loads((out / "activities/continuity-exposure/continuity-exposure_schema").read_text())
>>> activity["ui"]["addProperties"][2]["isVis"]
'has_usual_preceptor == 1 && clinic_halfdays_4wk > 0'
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._untrusted import load_json, read_zip_members
from .._version import __version__
from ..errors import SdtSurveyError
from ..files import check_folder_output, folder_output
from ..instrument import Instrument, Item, Note, Section, Text, expressions, load_instruments
from .result import ExportResult
from .survey import Survey, slider_anchors
from .table import ResponseTable

#: The ReproSchema release the documents follow (``schemaVersion``).
REPROSCHEMA_VERSION = "1.0.0"
#: The JSON-LD context of that release, pinned to its tag so the documents never change meaning.
CONTEXT_URL = (
    f"https://raw.githubusercontent.com/ReproNim/reproschema/{REPROSCHEMA_VERSION}/contexts/reproschema"
)
#: The hosted reproschema-ui; append the URL of the hosted protocol document.
UI_URL = "https://www.repronim.org/reproschema-ui/#/?url="

#: ``ui.inputType`` and ``responseOptions.valueType`` of each item type without choices.
FREE_INPUT = {
    "integer": ("number", "xsd:integer"),
    "number": ("float", "xsd:decimal"),
    "text": ("text", "xsd:string"),
    "date": ("date", "xsd:date"),
}
#: A coded item with more choices than this is a drop-down list (``select``) instead of radio buttons.
MAX_RADIO_CHOICES = 10

PROTOCOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

#: Values that reproschema-ui and the ReproSchema ``MissingType`` record for a non-answer, and the reason.
UI_MISSING_VALUES = {
    "skipped": "skipped",
    "reproschema:skipped": "skipped",
    "http://schema.repronim.org/skipped": "skipped",
    "dontknow": "dont_know",
    "reproschema:dontknow": "dont_know",
    "http://schema.repronim.org/dontknow": "dont_know",
    "reproschema:unknown": "unknown",
    "reproschema:timedout": "timed_out",
}


# ----------------------------------------------------------------- show_if -> isVis


def isvis_expression(expr: expressions.Expression, multiple_choice: Iterable[str] = ()) -> str:
    """Translate a parsed ``show_if`` into a ReproSchema ``isVis`` (JavaScript) expression.

    Parameters
    ----------
    expr : Expression
        The parsed ``show_if`` (see :mod:`sdt_survey.instrument.expressions`).
    multiple_choice : iterable of str
        Ids of ``multiple`` items: their answer is a list of codes, so
        ``item == v`` ("option v is selected") becomes ``item.includes(v)``.

    Returns
    -------
    str
        ``and``/``or``/``not`` as ``&&``/``||``/``!``; ``x in [a, b]`` as
        ``(x == a || x == b)``; ``x not in [a, b]`` as ``(x != a && x != b)``;
        strings single-quoted.

    Examples
    --------
    >>> from sdt_survey.instrument.expressions import parse_expression
    >>> isvis_expression(parse_expression("has_usual_preceptor == 1 and clinic_halfdays_4wk > 0"))
    'has_usual_preceptor == 1 && clinic_halfdays_4wk > 0'
    >>> isvis_expression(parse_expression("not (pgy in [2, 3] or site == 'north')"))
    "!((pgy == 2 || pgy == 3) || site == 'north')"
    >>> isvis_expression(parse_expression("supports == 1"), multiple_choice=["supports"])
    'supports.includes(1)'
    """
    return _JavaScript(frozenset(multiple_choice)).render(expr)


class _JavaScript:
    """Renders the show_if tree as a JavaScript boolean expression."""

    def __init__(self, multiple_choice: frozenset[str]):
        self.multiple_choice = multiple_choice

    def render(self, expr: expressions.Expression) -> str:
        if isinstance(expr, expressions.BoolOp):
            joiner = " && " if expr.op == "and" else " || "
            parts = []
            for operand in expr.operands:
                text = self.render(operand)
                # && binds tighter than ||: only an "or" inside an "and" needs parentheses.
                if isinstance(operand, expressions.BoolOp) and operand.op == "or" and expr.op == "and":
                    text = f"({text})"
                parts.append(text)
            return joiner.join(parts)
        if isinstance(expr, expressions.Not):
            return f"!({self.render(expr.operand)})"
        if isinstance(expr, expressions.Membership):
            name = expr.item.id
            if name in self.multiple_choice:
                tests = [f"{name}.includes({_js_literal(v.value)})" for v in expr.values]
                joined = " || ".join(tests)
                return f"!({joined})" if expr.negated else (f"({joined})" if len(tests) > 1 else joined)
            op, joiner = ("!=", " && ") if expr.negated else ("==", " || ")
            tests = [f"{name} {op} {_js_literal(v.value)}" for v in expr.values]
            return f"({joiner.join(tests)})" if len(tests) > 1 else tests[0]
        if isinstance(expr, expressions.Comparison):
            left, right = expr.left, expr.right
            for name, literal in ((left, right), (right, left)):
                if (
                    isinstance(name, expressions.Name)
                    and isinstance(literal, expressions.Literal)
                    and name.id in self.multiple_choice
                    and expr.op in ("==", "!=")
                ):
                    test = f"{name.id}.includes({_js_literal(literal.value)})"
                    return test if expr.op == "==" else f"!{test}"
            return f"{self._operand(left)} {expr.op} {self._operand(right)}"
        raise TypeError(f"not a show_if expression: {expr!r}")

    @staticmethod
    def _operand(operand: expressions.Operand) -> str:
        if isinstance(operand, expressions.Name):
            return operand.id
        return _js_literal(operand.value)


def _js_literal(value: int | float | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


# ------------------------------------------------------------------------ documents


def protocol_name(survey: Survey) -> str:
    """The protocol's folder and file stem: the instrument ids joined by ``_``.

    Examples
    --------
    >>> import sdt_survey
    >>> protocol_name(sdt_survey.build_survey(["bpn-residency", "program-belonging"]))
    'bpn-residency_program-belonging'
    """
    return "_".join(inst.id for inst in survey.instruments)


def _language_map(survey: Survey, get_text: Callable[[str], str]) -> dict[str, str]:
    """``{language: text}`` for every language of the survey; ``get_text(language)`` gives each."""
    return {language: get_text(language) for language in survey.languages}


def _same_in_every_language(survey: Survey, text: str) -> dict[str, str]:
    return {language: text for language in survey.languages}


def _tool_version() -> str:

    return __version__


def _licence(inst: Instrument) -> str:
    return inst.license or "not stated"


def _provenance_line(inst: Instrument) -> str:
    """``bpn-residency 1.0.0; license CC-BY-4.0``: kept identical in every language."""
    return f"{inst.id} {inst.version}; license {_licence(inst)}"


def _heading(section: Section, language: str) -> str | None:
    """A section's title and preamble as one preamble text (``None`` when it has neither)."""
    parts = [text.get(language) for text in (section.title, section.preamble) if text is not None]
    return "\n\n".join(parts) or None


def _item_text(survey: Survey, item: Item, language: str) -> str:
    try:
        return survey.item_text(item, language)
    except SdtSurveyError as exc:
        raise SdtSurveyError(
            f"item {item.id!r} has no {language!r} wording ({exc}); the ReproSchema folder carries every "
            f"language the instruments share ({', '.join(survey.languages)}): supply the wording in each, "
            "e.g. item_id: {en: ..., es: ...}"
        ) from exc


def _question_text(survey: Survey, item: Item, language: str) -> str:
    """The wording, and the hint below it in small type (ReproSchema has no hint of its own)."""
    text = _item_text(survey, item, language)
    if item.hint is None:
        return text
    return f"{text}\n\n<small>{survey.text(item.hint, language)}</small>"


def note_document(survey: Survey, inst: Instrument, note: Note) -> dict:
    """The ``reproschema:Field`` of a note: a ``static`` field, text shown with no answer.

    Examples
    --------
    >>> from sdt_survey.instrument import Note, Text
    >>> import sdt_survey
    >>> survey = sdt_survey.build_survey("program-belonging")
    >>> note = Note("welcome", Text({"en": "Welcome."}, "en"))
    >>> note_document(survey, survey.instruments[0], note)["ui"]
    {'inputType': 'static'}
    """
    return {
        "@context": CONTEXT_URL,
        "@type": "reproschema:Field",
        "@id": note.id,
        "prefLabel": _same_in_every_language(survey, note.id),
        "description": _same_in_every_language(survey, f"{inst.id} {inst.version}; note {note.id}"),
        "schemaVersion": REPROSCHEMA_VERSION,
        "version": inst.version,
        "question": _language_map(survey, lambda lang: survey.text(note.text, lang)),
        "ui": {"inputType": "static"},
    }


def _layout(inst: Instrument) -> list[Item | Note]:
    """The instrument's items and notes in display order."""
    by_id = {item.id: item for item in inst.items}
    return [
        entry if isinstance(entry, Note) else by_id[entry]
        for section in inst.sections
        for _, entry in section.layout()
    ]


def response_options(survey: Survey, item: Item) -> tuple[str, dict[str, Any]]:
    """The ``ui.inputType`` and the ``responseOptions`` of an item.

    Likert items list their scale's values in the scale's natural order, also
    when reverse-keyed: reverse keying is applied when scoring, never to the
    codes respondents choose.

    Examples
    --------
    >>> import sdt_survey
    >>> survey = sdt_survey.build_survey("program-belonging")
    >>> input_type, options = response_options(survey, survey.instruments[0].item("pb4"))
    >>> input_type, [choice["value"] for choice in options["choices"]], options["choices"][0]["name"]
    ('radio', [1, 2, 3, 4, 5], {'en': 'Strongly disagree'})
    """
    if item.type == "slider":
        whole = all(float(v).is_integer() for v in (item.min, item.max, item.step))  # type: ignore[arg-type]
        slider: dict[str, Any] = {
            "valueType": "xsd:integer" if whole else "xsd:decimal",
            "minValue": item.min,
            "maxValue": item.max,
            "step": item.step,
        }
        if item.anchors:
            # The anchors label the ends (and the middle) of the slider.
            def anchor(k: int) -> dict[str, str]:
                return _language_map(
                    survey, lambda lang: slider_anchors(item, lambda t: survey.text(t, lang))[k]
                )

            middle = (item.min + item.max) / 2  # type: ignore[operator]
            points = (
                [(item.min, 0), (middle, 1), (item.max, 2)]
                if len(item.anchors) == 3
                else [
                    (item.min, 0),
                    (item.max, 2),
                ]
            )
            slider["choices"] = [{"name": anchor(k), "value": value} for value, k in points]
        return "slider", slider
    if item.type in FREE_INPUT:
        input_type, value_type = FREE_INPUT[item.type]
        options: dict[str, Any] = {"valueType": value_type}
        if item.min is not None:
            options["minValue"] = item.min
        if item.max is not None:
            options["maxValue"] = item.max
        return input_type, options
    if item.scale is not None:
        # The non-substantive choices (don't know) follow the values; the range is the scale's.
        codes: list[int | str] = list(item.scale.choice_values)
        labels: list[Text] = list(item.scale.choice_labels)
        substantive: list[int | str] = list(item.scale.values)
    else:
        codes = [choice.value for choice in item.choices]
        labels = [choice.label for choice in item.choices]
        substantive = codes
    numeric = all(isinstance(code, int) for code in codes)
    options = {"valueType": "xsd:integer" if numeric else "xsd:string"}
    if numeric:
        options["minValue"] = min(substantive)  # type: ignore[type-var]
        options["maxValue"] = max(substantive)  # type: ignore[type-var]
    options["multipleChoice"] = item.type == "multiple"
    options["choices"] = [
        {"name": _language_map(survey, label.get), "value": code}
        for code, label in zip(codes, labels, strict=True)
    ]
    return ("select" if len(codes) > MAX_RADIO_CHOICES else "radio"), options


def _item_description(inst: Instrument, item: Item) -> str:
    parts = [f"{inst.id} {inst.version}", f"item {item.id}"]
    if item.reverse and item.scale is not None:
        parts.append(f"reverse-keyed: scored {item.scale.min + item.scale.max} - x")
    if item.identifier:
        parts.append("identifies the respondent: dropped (or pseudonymized) when scored")
    if item.scale is not None and item.scale.nonsubstantive:
        parts.append(
            "scored as missing: " + ", ".join(f"{c.value} ({c.reason})" for c in item.scale.nonsubstantive)
        )
    return "; ".join(parts)


def item_document(survey: Survey, inst: Instrument, item: Item, preamble: Section | None = None) -> dict:
    """The ``reproschema:Field`` document of one item.

    ``preamble`` is the section whose title and preamble are shown before
    this item (the first item of a section, in a multi-section instrument).

    Examples
    --------
    >>> import sdt_survey
    >>> survey = sdt_survey.build_survey("bpn-residency")
    >>> bpn = survey.instruments[0]
    >>> field = item_document(survey, bpn, bpn.item("rs4"))
    >>> field["@type"], field["ui"]["inputType"], sorted(field["question"])
    ('reproschema:Field', 'radio', ['en', 'es'])
    >>> field["description"]["en"]
    'bpn-residency 1.0.0; item rs4; reverse-keyed: scored 6 - x'
    """
    input_type, options = response_options(survey, item)
    document: dict[str, Any] = {
        "@context": CONTEXT_URL,
        "@type": "reproschema:Field",
        "@id": item.id,
        "prefLabel": _same_in_every_language(survey, item.id),
        "description": _same_in_every_language(survey, _item_description(inst, item)),
        "schemaVersion": REPROSCHEMA_VERSION,
        "version": inst.version,
    }
    if preamble is not None and _heading(preamble, survey.languages[0]) is not None:
        document["preamble"] = _language_map(survey, lambda lang: _heading(preamble, lang))
    document["question"] = _language_map(survey, lambda lang: _question_text(survey, item, lang))
    document["ui"] = {"inputType": input_type}
    document["responseOptions"] = options
    return document


def activity_document(survey: Survey, inst: Instrument) -> dict:
    """The ``reproschema:Activity`` document of one instrument: its items in display order.

    Examples
    --------
    >>> import sdt_survey
    >>> survey = sdt_survey.build_survey("continuity-exposure")
    >>> activity = activity_document(survey, survey.instruments[0])
    >>> activity["version"], activity["altLabel"], activity["ui"]["order"][:2]
    ('1.0.0', {'en': 'continuity-exposure 1.0.0'}, ['items/has_usual_preceptor', 'items/clinic_halfdays_4wk'])
    """
    multiple_choice = {item.id for item in inst.items if item.type == "multiple"}
    description = _language_map(
        survey,
        lambda lang: "\n\n".join(
            part
            for part in (inst.description.get(lang) if inst.description else None, _provenance_line(inst))
            if part
        ),
    )
    document: dict[str, Any] = {
        "@context": CONTEXT_URL,
        "@type": "reproschema:Activity",
        "@id": f"{inst.id}_schema",
        "prefLabel": _language_map(survey, lambda lang: inst.title.get(lang) if inst.title else inst.id),
        "altLabel": _same_in_every_language(survey, f"{inst.id} {inst.version}"),
        "description": description,
        "schemaVersion": REPROSCHEMA_VERSION,
        "version": inst.version,
    }
    if inst.citation:
        document["citation"] = _same_in_every_language(survey, inst.citation)
    if inst.is_proprietary:
        document["isProprietary"] = True
    if len(inst.sections) == 1 and _heading(inst.sections[0], survey.languages[0]) is not None:
        document["preamble"] = _language_map(survey, lambda lang: _heading(inst.sections[0], lang))
    properties = []
    order = []
    for item in _layout(inst):
        order.append(f"items/{item.id}")
        if isinstance(item, Note):
            properties.append(
                {
                    "isAbout": f"items/{item.id}",
                    "variableName": item.id,
                    "prefLabel": _same_in_every_language(survey, item.id),
                    "valueRequired": False,
                    "isVis": True,
                }
            )
            continue
        properties.append(
            {
                "isAbout": f"items/{item.id}",
                "variableName": item.id,
                "prefLabel": _same_in_every_language(survey, item.id),
                "valueRequired": item.required,
                "isVis": True if item.show_if is None else isvis_expression(item.show_if, multiple_choice),
            }
        )
    document["ui"] = {
        "order": order,
        "addProperties": properties,
        "shuffle": False,
    }
    return document


def protocol_document(survey: Survey, name: str) -> dict:
    """The ``reproschema:Protocol`` document: the instruments' activities in the order given.

    Examples
    --------
    >>> import sdt_survey
    >>> protocol = protocol_document(sdt_survey.build_survey(["bpn-residency", "program-belonging"]), "wave1")
    >>> protocol["@id"], [stamp.split("#")[0] for stamp in protocol["version"].split()]
    ('wave1_schema', ['bpn-residency@1.0.0', 'program-belonging@1.0.0'])
    >>> protocol["ui"]["order"][1]
    '../activities/program-belonging/program-belonging_schema'
    """
    provenance = "; ".join(_provenance_line(inst) for inst in survey.instruments)
    return {
        "@context": CONTEXT_URL,
        "@type": "reproschema:Protocol",
        "@id": f"{name}_schema",
        "prefLabel": _language_map(
            survey,
            lambda lang: " / ".join(
                inst.title.get(lang) if inst.title else inst.id for inst in survey.instruments
            ),
        ),
        "altLabel": _same_in_every_language(survey, survey.provenance),
        "description": _same_in_every_language(
            survey, f"Generated by sdt-survey {_tool_version()} from {provenance}."
        ),
        "schemaVersion": REPROSCHEMA_VERSION,
        "version": survey.stamp,
        "landingPage": [{"@id": f"README-{lang}.md", "inLanguage": lang} for lang in survey.languages],
        "ui": {
            "order": [f"../activities/{inst.id}/{inst.id}_schema" for inst in survey.instruments],
            "addProperties": [
                {
                    "isAbout": f"../activities/{inst.id}/{inst.id}_schema",
                    "variableName": inst.id.replace("-", "_"),
                    "prefLabel": _language_map(
                        survey, lambda lang, i=inst: i.title.get(lang) if i.title else i.id
                    ),
                    "isVis": True,
                }
                for inst in survey.instruments
            ],
            "shuffle": False,
            "allow": ["reproschema:AutoAdvance", "reproschema:AllowExport"],
        },
    }


def _landing_page(survey: Survey, language: str) -> str:
    """The protocol's landing page (Markdown), shown to respondents before the first activity."""
    lines = []
    for inst in survey.instruments:
        lines.append(f"# {inst.title.get(language) if inst.title else inst.id}\n")
        if inst.description is not None:
            lines.append(inst.description.get(language) + "\n")
    lines.append(f"<small>{survey.provenance}</small>\n")
    return "\n".join(lines)


def _folder_readme(survey: Survey, name: str) -> str:
    protocol = f"{name}/{name}_schema"
    activities = "\n".join(
        f"- `activities/{inst.id}/`: {inst.id} {inst.version} ({len(inst.items)} items; "
        f"license {_licence(inst)})"
        for inst in survey.instruments
    )
    return (
        f"# {survey.title}: ReproSchema {REPROSCHEMA_VERSION}\n\n"
        f"Generated by sdt-survey {_tool_version()} from {survey.provenance}. "
        "Regenerate it rather than editing it by hand.\n\n"
        f"Stamp (instrument@version#content hash): `{survey.stamp}`\n\n"
        f"- `{protocol}`: the protocol (the survey), entry point for reproschema-ui\n"
        f"{activities}\n\n"
        "Validate: `reproschema validate .` (needs network access for the JSON-LD context).\n\n"
        "Deploy: host this folder as static files (e.g. GitHub Pages) and open\n"
        f"`{UI_URL}<URL of {protocol}>`.\n\n"
        'Score: `sdt_survey.platforms.reproschema.read_responses("study-data.zip", instruments)` '
        "turns reproschema-ui's exported responses into one row per participant for "
        '`sdt_survey.score(..., id_column="participant")`.\n'
    )


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write(survey: Survey, out: Path, *, name: str | None = None, overwrite: bool = False) -> ExportResult:
    """Write the survey as a ReproSchema protocol folder under ``out``.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.build_survey`.
    out : pathlib.Path
        A folder; created if needed. The export writes only its own files
        and records them (with their SHA-256) in ``.sdt-survey-files.json``
        inside it; files it did not write are never replaced or removed (a
        README.md of the user's stays, and the export's guide is not
        written). The folder is complete or absent: a new folder appears in
        one step, an existing one is updated only once every file is written
        (see :func:`sdt_survey.files.folder_output`).
    name : str, optional
        The protocol's name (folder and file stem); default
        :func:`protocol_name`.
    overwrite : bool
        Needed when ``out`` already holds files: an earlier export (whose
        files are replaced, and its stale files removed unless edited since)
        or the user's files (which are kept).

    Returns
    -------
    ExportResult
        ``paths`` is the protocol document (the entry point); the notes say
        how to validate and deploy the folder.

    Raises
    ------
    SdtSurveyError
        When ``out`` is a file, ``name`` is not a plain file name, or supplied
        wording lacks one of the survey's languages.

    Examples
    --------
    >>> import tempfile, pathlib, sdt_survey
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> survey = sdt_survey.build_survey(["bpn-residency", "program-belonging"])
    >>> result = write(survey, out, name="wave1")
    >>> sorted(p.name for p in (out / "activities").iterdir()), result.paths[0].name
    (['bpn-residency', 'program-belonging'], 'wave1_schema')
    """
    out = Path(out)
    name = name or protocol_name(survey)
    if not PROTOCOL_NAME.match(name) or name == "activities":
        raise SdtSurveyError(
            f"protocol name {name!r}: use letters, digits, '-' and '_' (it names a folder and a URL)"
        )
    if out.exists() and not out.is_dir():
        raise SdtSurveyError(f"{out}: the ReproSchema export is a folder, and this is a file")
    check_folder_output(out, overwrite=overwrite)
    # Build every document first, so that a problem leaves the folder as it was.
    documents: dict[Path, dict] = {}
    for inst in survey.instruments:
        folder = Path("activities") / inst.id
        documents[folder / f"{inst.id}_schema"] = activity_document(survey, inst)
        by_id = {item.id: item for item in inst.items}
        multi_section = len(inst.sections) > 1
        for section in inst.sections:
            for position, item_id in enumerate(section.items):
                heading = section if multi_section and position == 0 else None
                documents[folder / "items" / item_id] = item_document(survey, inst, by_id[item_id], heading)
            for note in section.notes:
                documents[folder / "items" / note.id] = note_document(survey, inst, note)
    protocol_path = Path(name) / f"{name}_schema"
    documents[protocol_path] = protocol_document(survey, name)

    with folder_output(out, overwrite=overwrite, yield_to_user=("README.md",)) as stage:
        for relative, document in documents.items():
            _write_json(stage.root / relative, document)
        for language in survey.languages:
            landing = stage.root / name / f"README-{language}.md"
            landing.write_text(_landing_page(survey, language), encoding="utf-8")
        (stage.root / "README.md").write_text(_folder_readme(survey, name), encoding="utf-8")

    n_items = sum(len(inst.items) for inst in survey.instruments)
    result = ExportResult(
        target="reproschema",
        paths=[out / protocol_path],
        survey=survey.provenance,
        notes=[
            f"{out}: protocol {protocol_path.as_posix()}, {_count(len(survey.instruments), 'activity')}, "
            f"{_count(n_items, 'item')} (ReproSchema {REPROSCHEMA_VERSION}; "
            f"languages {', '.join(survey.languages)})",
            "validate with `reproschema validate " + str(out) + "` (fetches the JSON-LD context online)",
            f"host the folder as static files and open {UI_URL}<URL of {protocol_path.as_posix()}>",
            "scores are not computed in ReproSchema: read reproschema-ui's exported responses with "
            "sdt_survey.platforms.reproschema.read_responses and score them with sdt_survey.score",
        ],
    )
    if stage.kept:
        result.notes.append(
            f"kept your {', '.join(stage.kept)} in {out}; "
            "the export's own guide to the folder was not written"
        )
    if stage.removed:
        result.notes.append(
            f"removed files of the earlier export this one no longer has: {', '.join(stage.removed)}"
        )
    if stage.edited:
        result.warnings.append(
            f"kept files of the earlier export that were edited since and are no longer part of it: "
            f"{', '.join(stage.edited)}"
        )
    for inst in survey.instruments:
        dropped = [lang for lang in inst.languages if lang not in survey.languages]
        if dropped:
            result.warnings.append(
                f"{inst.id}: its {', '.join(dropped)} texts are left out; only languages every "
                f"instrument has are exported ({', '.join(survey.languages)})"
            )
    with_missing_codes = [
        inst.id for inst in survey.instruments if any(scale.missing_codes for scale in inst.scales.values())
    ]
    if with_missing_codes:
        result.notes.append(
            f"missing codes of {', '.join(with_missing_codes)} are not offered as choices; reproschema-ui "
            "records a skipped question as 'skipped', which read_responses maps back to the code"
        )
    supplied = sorted(set(survey.texts))
    if supplied:
        result.warnings.append(
            f"the folder contains the licensed wording supplied for {len(supplied)} items; host it "
            "where only your respondents can reach it, never in a public repository"
        )
    return result


# ------------------------------------------------------------------------ responses


def _is_type(document: dict, type_name: str) -> bool:
    types = document.get("@type", document.get("category", []))
    types = types if isinstance(types, list) else [types]
    return any(t in (f"reproschema:{type_name}", f"http://schema.repronim.org/{type_name}") for t in types)


def _variable_of(is_about: object) -> str | None:
    """The item a response is about: the last path segment of ``isAbout``, without ``.jsonld``."""
    if isinstance(is_about, dict):
        is_about = is_about.get("@id")
    if isinstance(is_about, list) and is_about:
        return _variable_of(is_about[0])
    if not isinstance(is_about, str) or not is_about.strip():
        return None
    segment = is_about.rstrip("/").rsplit("/", 1)[-1]
    return segment.removesuffix(".jsonld") or None


def _participant_of(response: dict) -> str | None:
    agent = response.get("wasAttributedTo")
    if isinstance(agent, dict):
        subject = agent.get("subject_id") or agent.get("nidm:subject_id")
        return str(subject) if subject else (str(agent["@id"]) if agent.get("@id") else None)
    return str(agent) if agent else None


def _response_documents(source: str | Path) -> list[tuple[str, list[dict]]]:
    """``(where, documents)`` for each JSON-LD response file in a zip, a folder or a file."""
    path = Path(source)
    if not path.exists():
        raise SdtSurveyError(f"{path}: no such file or folder")
    if path.is_dir():
        raw = [(str(p), p.read_bytes()) for p in sorted(path.rglob("*.jsonld"))]
    elif zipfile.is_zipfile(path):
        # Capped and counted while decompressing: a downloaded zip may be a bomb.
        members = read_zip_members(path, str(path), lambda name: name.endswith((".jsonld", ".json")))
        raw = [(f"{path}!{name}", data) for name, data in members]
    elif path.suffix.lower() == ".zip":
        raise SdtSurveyError(f"{path}: not a zip archive (damaged, or saved under the wrong extension)")
    else:
        raw = [(str(path), path.read_bytes())]
    found = []
    for where, data in raw:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise SdtSurveyError(f"{where}:{line}: not UTF-8 text, as JSON must be") from exc
        parsed = load_json(text, where)
        documents = parsed if isinstance(parsed, list) else [parsed]
        found.append((where, [d for d in documents if isinstance(d, dict)]))
    return found


def _answer(value: object, item: Item | None) -> object:
    """A response value as the reader takes it: a list of codes space-separated, non-answers mapped."""
    if isinstance(value, dict):  # {"@value": ...} or {"@id": ...} after JSON-LD processing
        value = value.get("@value", value.get("@id"))
    if isinstance(value, str) and value.strip().casefold() in UI_MISSING_VALUES:
        reason = UI_MISSING_VALUES[value.strip().casefold()]
        codes = item.scale.missing_codes if item is not None and item.scale is not None else {}
        return next((code for code, why in codes.items() if why == reason), None)
    if isinstance(value, list):
        return " ".join(str(code) for code in value) if value else None
    return value


def read_responses(
    sources: str | Path | Sequence[str | Path],
    instruments: Instrument | str | Path | Sequence[Instrument | str | Path] | None = None,
) -> pd.DataFrame:
    """Responses exported by reproschema-ui, as one row per participant keyed by item id.

    reproschema-ui's *Export* button saves ``study-data.zip`` with one
    ``responses/activity_N.jsonld`` per activity: a JSON list alternating
    ``reproschema:ResponseActivity`` (times, language) and
    ``reproschema:Response`` (``isAbout``: the item's URL, ``value``: the
    answer, ``wasAttributedTo``: the participant). The item is the last
    segment of ``isAbout``, which this export names by item id.

    Parameters
    ----------
    sources : path or list of paths
        Zip files as downloaded, folders (searched for ``*.jsonld``), or
        single ``.jsonld`` files; one per session or participant, in any mix.
    instruments : Instrument, name, path or a list of them, optional
        When given, columns are put in display order, an item's
        ``aliases: {reproschema: NAME}`` is read as the item, and
        ``skipped`` is mapped to the scale's missing code for that reason.

    Returns
    -------
    pandas.DataFrame
        ``participant`` (``subject_id``, else the participant's ``@id``),
        ``language``, ``started``, ``ended``, ``duration_seconds``, then one
        column per item. A multiple-choice answer is its codes separated by
        spaces; an unanswered item is missing. When an answer was changed,
        the last one counts.

    Raises
    ------
    SdtSurveyError
        For a missing file, invalid JSON, or no responses at all.

    Examples
    --------
    >>> import json, tempfile, pathlib, sdt_survey
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "activity_0.jsonld"
    >>> item = "https://example.org/survey/activities/program-belonging/items/pb1"
    >>> _ = path.write_text(json.dumps([{"@type": "reproschema:Response", "isAbout": item,
    ...     "value": 4, "wasAttributedTo": {"@id": "uuid:1", "subject_id": "R01"}}]))
    >>> frame = read_responses(path, "program-belonging")
    >>> frame[["participant", "pb1"]].to_dict("records")
    [{'participant': 'R01', 'pb1': 4}]
    >>> scored = sdt_survey.score("program-belonging", frame, id_column="participant", invalid="as-missing")
    >>> scored.items["pb1"].tolist()
    [4.0]
    """
    paths = [sources] if isinstance(sources, (str, Path)) else list(sources)
    loaded = load_instruments(instruments) if instruments is not None else ()
    items = {item.id: item for inst in loaded for item in inst.items}
    by_alias = {
        item.aliases["reproschema"]: item.id for item in items.values() if "reproschema" in item.aliases
    }
    answers: dict[str, dict[str, object]] = {}
    sessions: dict[str, dict[str, list]] = {}
    seen_variables: dict[str, None] = {}
    for source in paths:
        for _where, documents in _response_documents(source):
            activities = {str(d.get("generated")): d for d in documents if _is_type(d, "ResponseActivity")}
            for document in documents:
                if not _is_type(document, "Response"):
                    continue
                variable = _variable_of(document.get("isAbout"))
                participant = _participant_of(document)
                if variable is None or participant is None:
                    continue
                variable = by_alias.get(variable, variable)
                seen_variables.setdefault(variable, None)
                answers.setdefault(participant, {})[variable] = _answer(
                    document.get("value"), items.get(variable)
                )
                session = sessions.setdefault(participant, {"start": [], "end": [], "language": []})
                activity = activities.get(str(document.get("@id")), {})
                for key, field in (("start", "startedAtTime"), ("end", "endedAtTime")):
                    if activity.get(field):
                        session[key].append(pd.to_datetime(activity[field], utc=True, errors="coerce"))
                if activity.get("inLanguage"):
                    session["language"].append(activity["inLanguage"])
    if not answers:
        raise SdtSurveyError(
            f"{', '.join(map(str, paths))}: no reproschema:Response found; expected reproschema-ui's "
            "exported study-data.zip or its responses/activity_N.jsonld files"
        )
    order = [i for inst in loaded for i in inst.display_order if i in seen_variables]
    order += [v for v in seen_variables if v not in order]
    rows = []
    for participant, values in answers.items():
        session = sessions[participant]
        started = min((t for t in session["start"] if pd.notna(t)), default=pd.NaT)
        ended = max((t for t in session["end"] if pd.notna(t)), default=pd.NaT)
        language = Counter(session["language"]).most_common(1)[0][0] if session["language"] else None
        rows.append(
            {
                "participant": participant,
                "language": language,
                "started": started,
                "ended": ended,
                "duration_seconds": (
                    (ended - started).total_seconds() if pd.notna(started) and pd.notna(ended) else None
                ),
                **{variable: values.get(variable) for variable in order},
            }
        )
    return pd.DataFrame(
        rows, columns=["participant", "language", "started", "ended", "duration_seconds", *order]
    )


__all__ = [
    "CONTEXT_URL",
    "REPROSCHEMA_VERSION",
    "activity_document",
    "isvis_expression",
    "item_document",
    "protocol_document",
    "protocol_name",
    "read_responses",
    "response_options",
    "write",
]


def owns_file(path: Path) -> bool:
    """Whether ``path`` holds reproschema-ui responses (.zip, .jsonld, or ``reproschema:Response``)."""
    suffix = path.suffix.lower()
    if suffix in (".zip", ".jsonld"):
        return True
    if suffix != ".json":
        return False
    try:
        head = path.read_bytes()[:4096].decode("utf-8", errors="ignore")
    except OSError:
        return False
    return "reproschema:Response" in head


def read_table(path: Path, display: str, instruments: Sequence[Instrument]) -> ResponseTable:
    """reproschema-ui responses as a table: one row per participant, numbered from 1."""
    frame = read_responses(path, list(instruments) or None)
    frame.attrs["rows"] = np.arange(1, len(frame) + 1)
    return ResponseTable(frame, header_rows=0, platform="reproschema")


def detect(table: ResponseTable, items: Sequence[Item]) -> list[tuple[str, str]]:
    """reproschema-ui responses are known by their reader, never guessed from columns."""
    if table.platform == "reproschema":
        return [("reproschema", "reproschema-ui responses (JSON-LD)")]
    return []
