"""REDCap: a project's data dictionary (CSV) read into an instrument (``sdt-survey import``).

Reads the dictionary REDCap offers under Project Setup > Data Dictionary
(its 18 columns with their human-readable headers) or the API's metadata
export (``field_name``, ``form_name``, ...). Each form becomes a section (a
section header or a matrix group starts a new one); fields become items:

==============================  ================================================
REDCap field                    item
==============================  ================================================
``radio``, ``dropdown``         ``single`` (integer codes shared by a run of
                                fields or a matrix group: ``likert`` on one scale)
``checkbox``                    ``multiple``
``yesno`` / ``truefalse``       ``single`` with 1 Yes/True, 0 No/False
``text`` (integer, number)      ``integer`` / ``number`` with min and max
``text`` (date_*)               ``date``
``text`` (other), ``notes``     ``text`` (the validation is reported)
``slider``                      ``slider`` (min, max, its end labels)
``descriptive``                 a note of the section
``calc``, ``file``, ``sql``     left out, reported
==============================  ================================================

The field note is the item's ``hint``, ``Identifier? = y`` its
``identifier``, ``Required Field? = y`` ``required``; branching logic becomes
``show_if`` (:mod:`~sdt_survey.platforms.import_logic`). Action tags, piping,
calculations and whatever else an instrument cannot hold are reported with
their row.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .._untrusted import decode_text
from ..errors import SdtSurveyError
from ..instrument import plural
from .import_draft import Draft, integer_code, plain_text
from .import_logic import Token, Untranslatable, attach, condition, scan

#: Canonical column -> the header in REDCap's download and in its API metadata export.
COLUMNS = {
    "name": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "header": ("Section Header", "section_header"),
    "type": ("Field Type", "field_type"),
    "label": ("Field Label", "field_label"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    "note": ("Field Note", "field_note"),
    "validation": (
        "Text Validation Type OR Show Slider Number",
        "text_validation_type_or_show_slider_number",
    ),
    "min": ("Text Validation Min", "text_validation_min"),
    "max": ("Text Validation Max", "text_validation_max"),
    "identifier": ("Identifier?", "identifier"),
    "branching": ("Branching Logic (Show field only if...)", "branching_logic"),
    "required": ("Required Field?", "required_field"),
    "alignment": ("Custom Alignment", "custom_alignment"),
    "number": ("Question Number (surveys only)", "question_number"),
    "matrix": ("Matrix Group Name", "matrix_group_name"),
    "ranking": ("Matrix Ranking?", "matrix_ranking"),
    "annotation": ("Field Annotation", "field_annotation"),
}
REQUIRED_COLUMNS = ("name", "form", "type", "label")

#: Action tags that compute the field's value: the field is a calculation, not a question.
COMPUTING_TAGS = ("@CALCTEXT", "@CALCDATE")

_LOGIC = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\[[^\[\]]*\])
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<op><>|!=|<=|>=|==|=|<|>)
  | (?P<word>\b(?:and|or)\b)
  | (?P<paren>[()])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_FIELD = re.compile(r"^([a-z][a-z0-9_]*)(?:\(([^()]*)\))?$", re.IGNORECASE)
_ACTION_TAG = re.compile(r"@[A-Z][A-Z0-9_-]*")
_PIPING = re.compile(r"\[[a-z][a-z0-9_]*(?:\([^()]*\))?(?::[a-z-]+)?\]")
_EMBEDDED = re.compile(r"\{[a-z][a-z0-9_]*(?::icons)?\}")
_OUR_HEADER = re.compile(r"^\s*<b>(?P<title>.*?)</b>(?:\s*<br\s*/?>(?P<preamble>.*))?\s*$", re.S | re.I)
_DATE = re.compile(r"^date_(ymd|mdy|dmy)$")
_NUMBER = re.compile(r"^number(_\d+dp)?(_comma_decimal)?$")


def owns_file(path: Path) -> bool:
    """Whether ``path`` is a REDCap data dictionary (a CSV whose header names REDCap's columns)."""
    if path.suffix.lower() != ".csv":
        return False
    try:
        head = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    first = next(csv.reader(io.StringIO(head)), [])
    cells = {c.strip() for c in first}
    return bool(cells & {COLUMNS["name"][0], COLUMNS["name"][1]})


def logic_tokens(logic: str) -> list[Token]:
    """REDCap branching logic as the importers' shared tokens (see :mod:`.import_logic`).

    Examples
    --------
    >>> [t.kind for t in logic_tokens("[a(2)] = '1' AND ([b] <> 3 or [c] = '')")]
    ['option', 'op', 'value', 'and', '(', 'ref', 'op', 'value', 'or', 'ref', 'op', 'value', ')']
    """
    tokens: list[Token] = []
    previous_ref = False
    for match in scan(_LOGIC, logic):
        kind, text = match.lastgroup, match.group()
        if kind == "ref":
            if previous_ref:
                raise Untranslatable("it names a field of another event ([event][field])")
            inner = text[1:-1].strip()
            field = _FIELD.match(inner)
            if field is None:
                raise Untranslatable(f"it uses the smart variable or reference {text!r}")
            name, code = field.group(1).lower(), field.group(2)
            tokens.append(Token("option", (name, code.strip())) if code is not None else Token("ref", name))
            previous_ref = True
            continue
        previous_ref = False
        if kind == "string":
            tokens.append(Token("value", text[1:-1]))
        elif kind == "number":
            tokens.append(Token("value", text))
        elif kind == "op":
            tokens.append(Token("op", text))
        elif kind == "word":
            tokens.append(Token(text.lower()))
        else:
            tokens.append(Token(text))
    return tokens


def parse_choices(text: str) -> tuple[list[tuple[int | str, str]], list[str]]:
    """``1, Yes | 0, No`` -> [(1, "Yes"), (0, "No")] and the problems found."""
    choices: list[tuple[int | str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for part in text.split("|"):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        code = code.strip()
        if not comma or not code:
            problems.append(f"choice {part.strip()!r} is not 'code, label'")
            continue
        if code in seen:
            problems.append(f"choice code {code!r} appears twice; the first is kept")
            continue
        seen.add(code)
        choices.append((integer_code(code), plain_text(label) or code))
    return choices, problems


def _header_cells(header: list[str], file: str) -> dict[str, int]:
    index: dict[str, int] = {}
    stripped = [cell.strip().lstrip("\ufeff") for cell in header]
    for key, names in COLUMNS.items():
        for name in names:
            if name in stripped:
                index[key] = stripped.index(name)
                break
    missing = [COLUMNS[key][0] for key in REQUIRED_COLUMNS if key not in index]
    if missing:
        raise SdtSurveyError(
            f"{file}:1: not a REDCap data dictionary: the header has no "
            f"{', '.join(repr(m) for m in missing)} column (download it in Project Setup > Data Dictionary)"
        )
    return index


def _section_texts(header: str) -> tuple[str, str]:
    ours = _OUR_HEADER.match(header)
    if ours:
        return plain_text(ours.group("title")), plain_text(ours.group("preamble") or "")
    text = plain_text(header)
    if "\n" not in text and len(text) <= 80:
        return text, ""
    return "", text


def read_instrument(path: Path, display: str) -> Draft:
    """Read a REDCap data dictionary into a :class:`~.import_draft.Draft` (items, sections, report)."""
    text, _ = decode_text(path.read_bytes(), display)
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise SdtSurveyError(f"{display}: the file is empty")
    columns = _header_cells(records[0], display)
    draft = Draft(display, "redcap")
    forms: list[str] = []
    layout: list[int] = []
    matrix = ""
    first_field = True
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        row = {key: (record[i].strip() if i < len(record) else "") for key, i in columns.items()}
        for key in COLUMNS:
            row.setdefault(key, "")
        name = row["name"]
        if first_field:
            first_field = False
            draft.note(
                index,
                name,
                "the record id (REDCap's first field) is not imported as an item: "
                "the REDCap export writes its own record_id",
                kind="changed",
            )
            continue
        form = row["form"]
        group = row["matrix"]
        new_form = not forms or forms[-1] != form
        if new_form:
            forms.append(form)
        if new_form or row["header"] or group != matrix:
            title, preamble = _section_texts(row["header"])
            stem = group or (form if new_form or not draft.sections else f"{form}_{len(draft.sections) + 1}")
            draft.start_section(stem, index, title=title, preamble=preamble)
        matrix = group
        if row["alignment"] or row["number"]:
            layout.append(index)
        _read_field(draft, row, index, name)
    if len(forms) > 1:
        draft.note(
            None,
            f"{len(forms)} forms",
            f"the forms {', '.join(forms)} are sections of one instrument; its REDCap export is one form",
            kind="changed",
        )
    if layout:
        draft.note(
            layout[0],
            "layout",
            f"custom alignment or question numbers of {plural(len(layout), 'field')} left out: layout only",
        )
    draft.title = forms[0].replace("_", " ").capitalize() if len(forms) == 1 else None
    return draft


def _read_field(draft: Draft, row: dict[str, str], index: int, name: str) -> None:
    field_type = row["type"].lower()
    tags = list(dict.fromkeys(_ACTION_TAG.findall(row["annotation"])))
    computing = [t for t in tags if t in COMPUTING_TAGS]
    if field_type == "descriptive":
        text = plain_text(row["label"])
        if _EMBEDDED.search(row["label"]):
            draft.note(index, name, "embedded fields ({field}) in descriptive text left as text")
        if row["branching"]:
            draft.note(index, name, "branching logic of descriptive text left out: the text is always shown")
        if text:
            draft.add_note(name, draft.text(text), index)
        return
    if field_type in ("calc", "sql", "file") or computing:
        why = {
            "calc": f"a calculated field ({' '.join(row['choices'].split())[:80]!r}) left out: "
            "calculations are not items; declare scores as subscales",
            "sql": "a dynamic SQL field left out: it lists another project's records",
            "file": (
                "a signature field left out: sdt-survey reads answers, not files"
                if row["validation"].lower() == "signature"
                else "a file upload field left out: sdt-survey reads answers, not files"
            ),
        }.get(field_type, f"its value is computed ({', '.join(computing)}): left out, as a calculated field")
        draft.note(index, name, why)
        return
    item: dict = {"id": draft.make_id(name, index), "text": draft.text(plain_text(row["label"]) or name)}
    if not plain_text(row["label"]):
        draft.note(index, name, "the field has no label; its name is the item's text", kind="changed")
    if _PIPING.search(row["label"]):
        draft.note(index, name, "piping ([field]) in the label left as text")
    if not _read_type(draft, item, row, index, name, field_type):
        return
    if row["required"].lower() == "y":
        item["required"] = True
    if row["note"]:
        item["hint"] = draft.text(plain_text(row["note"]))
    if row["identifier"].lower() == "y":
        item["identifier"] = True
    if row["ranking"].lower() == "y":
        draft.note(index, name, "matrix ranking (each column chosen once) left out")
    if tags:
        draft.note(index, name, f"action tags {', '.join(tags)} left out: sdt-survey exports plain fields")
    elif row["annotation"].startswith("sdt-survey:"):
        if "reverse-keyed" in row["annotation"]:
            draft.reverse.add(item["id"])
    elif row["annotation"]:
        draft.note(index, name, "the field annotation (notes for the project's team) left out")
    if row["branching"]:
        try:
            tokens: list[Token] | Untranslatable = logic_tokens(row["branching"])
        except Untranslatable as reason:
            tokens = reason
        attach(item, condition(draft, tokens, row["branching"], index, name))
    draft.add_item(item, index, name)
    if row["matrix"]:
        draft.grid[item["id"]] = row["matrix"]


def _read_type(draft: Draft, item: dict, row: dict[str, str], index: int, name: str, field_type: str) -> bool:
    validation = row["validation"].lower()
    if field_type in ("radio", "dropdown", "checkbox"):
        choices, problems = parse_choices(row["choices"])
        for problem in problems:
            draft.note(index, name, problem, kind="changed")
        if not choices:
            draft.note(index, name, f"a {field_type} field without choices left out")
            return False
        item["type"] = "multiple" if field_type == "checkbox" else "single"
        item["choices"] = [{"value": code, "label": draft.text(label)} for code, label in choices]
        if validation == "autocomplete":
            draft.note(index, name, "the autocomplete drop-down appearance left out", kind="changed")
        return True
    if field_type in ("yesno", "truefalse"):
        words = ("Yes", "No") if field_type == "yesno" else ("True", "False")
        item["type"] = "single"
        item["choices"] = [
            {"value": 1, "label": draft.text(words[0])},
            {"value": 0, "label": draft.text(words[1])},
        ]
        draft.note(
            index,
            name,
            f"a {field_type} field: a single item with choices 1 {words[0]}, 0 {words[1]} "
            "(the REDCap export writes it as a radio field)",
            kind="changed",
        )
        return True
    if field_type == "slider":
        item["type"] = "slider"
        low, high = (_bound(row[k], float) for k in ("min", "max"))
        item["min"], item["max"], item["step"] = (
            low if low is not None else 0,
            high if high is not None else 100,
            1,
        )
        anchors = [plain_text(part) for part in row["choices"].split("|")] if row["choices"] else []
        anchors = [a for a in anchors if a] if len(anchors) != 3 or not all(anchors) else anchors
        if len(anchors) in (2, 3):
            item["anchors"] = [draft.text(a) for a in anchors]
        elif anchors:
            draft.note(
                index, name, f"slider labels {row['choices']!r} left out: give a left and a right label"
            )
        return True
    if field_type == "notes" or (field_type == "text" and not validation):
        item["type"] = "text"
        return True
    if field_type != "text":
        draft.note(index, name, f"field type {field_type!r} is not a REDCap type sdt-survey knows: left out")
        return False
    if validation == "integer" or _NUMBER.match(validation):
        item["type"] = "integer" if validation == "integer" else "number"
        cast = int if validation == "integer" else float
        for key in ("min", "max"):
            if row[key]:
                bound = _bound(row[key].replace(",", ".") if "comma" in validation else row[key], cast)
                if bound is None:
                    draft.note(index, name, f"validation {key} {row[key]!r} left out: not a number")
                else:
                    item[key] = bound
        return True
    if _DATE.match(validation):
        item["type"] = "date"
        if row["min"] or row["max"]:
            draft.note(index, name, f"the date range {row['min'] or '...'} to {row['max'] or '...'} left out")
        return True
    item["type"] = "text"
    draft.note(
        index,
        name,
        f"text validation {validation!r} left out: the item is free text",
    )
    return True


def _bound(text: str, cast: type) -> int | float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if cast is int:
        return int(number) if number.is_integer() else None
    return int(number) if number.is_integer() else number
