"""XLSForm (ODK, KoboToolbox, Enketo): a form read into an instrument (``sdt-survey import``).

Reads an ``.xlsx`` workbook (its ``survey``, ``choices`` and ``settings``
sheets) or the one-file ``.csv`` layout pyxform reads (each sheet's name in
the first column, its header and rows below). Column names follow pyxform:
``label::English (en)`` and the older ``label:English``, ``bind:relevant``,
``control:appearance``, ``list name``; so do the question types
(``select one from list``, ``string``, ``int``).

Each top-level ``begin group`` (``begin_group``; ``field-list`` or
``table-list`` appearance or none) is a section, its label the title and a
note at its top the preamble; a nested group joins its parent's section, and
a group's ``relevant`` joins each of its questions' ``show_if``. Questions:
``select_one`` -> ``single`` (integer-coded lists shared by a run of
questions, or ``appearance: likert``: ``likert`` on one scale),
``select_multiple`` -> ``multiple``, ``integer``/``decimal`` (their
``constraint`` range as min and max), ``date``, ``text``, ``range`` ->
``slider``, ``note`` -> a note; every label language, ``hint``, ``required``.
``relevant`` becomes ``show_if`` (``${x}``, ``selected(${x}, 'a')``,
``and``/``or``/``not()``). Repeats, calculations, media and location
questions, metadata and whatever else an instrument cannot hold are
reported with their row. ``.xls`` workbooks are refused: save them as
``.xlsx``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .._untrusted import decode_text
from ..errors import SdtSurveyError
from ..instrument import plural
from .import_draft import Draft, integer_code, language_tag, plain_text
from .import_logic import Token, Untranslatable, attach, condition, scan
from .xlsform import PROVENANCE_FIELD, STAMP_FIELD

Row = tuple[int, dict[str, str]]

#: pyxform's older column names -> the current ones.
COLUMN_ALIASES = {
    "bind:relevant": "relevant",
    "bind:constraint": "constraint",
    "bind:required": "required",
    "control:appearance": "appearance",
    "bind:calculate": "calculation",
    "bind:readonly": "read_only",
    "readonly": "read_only",
    "list name": "list_name",
    "bind:jr:constraintmsg": "constraint_message",
    "jr:constraintmsg": "constraint_message",
}
#: Question types with nothing to answer in a survey of this kind, and why each is left out.
LEFT_OUT = {
    "calculate": "a calculation left out: calculations are not items; declare scores as subscales",
    "hidden": "a hidden field left out",
    "acknowledge": "an acknowledge (OK) question left out",
    "trigger": "an acknowledge (trigger) question left out",
    "geopoint": "a location question left out",
    "geotrace": "a location question left out",
    "geoshape": "a location question left out",
    "start-geopoint": "a location question left out",
    "image": "a photo or drawing question left out: sdt-survey reads answers, not files",
    "audio": "an audio question left out: sdt-survey reads answers, not files",
    "background-audio": "a recording left out: sdt-survey reads answers, not files",
    "video": "a video question left out: sdt-survey reads answers, not files",
    "file": "a file upload left out: sdt-survey reads answers, not files",
    "barcode": "a barcode question left out",
    "xml-external": "an external data file left out",
    "csv-external": "an external data file left out",
}
METADATA = {"start", "end", "today", "deviceid", "phonenumber", "simserial", "subscriberid", "username",
            "email", "audit"}  # fmt: skip
_NAME = r"[A-Za-z_][\w.-]*"
_QUOTED = r"'[^']*'|\"[^\"]*\""
_RELEVANT = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<selected>selected\s*\(\s*\$\{{(?P<option_of>{_NAME})\}}\s*,\s*(?P<code>{_QUOTED})\s*\))
  | (?P<ref>\$\{{(?P<name>{_NAME})\}})
  | (?P<string>{_QUOTED})
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<not>\bnot\s*(?=\())
  | (?P<word>\b(?:and|or)\b)
  | (?P<paren>[()])
    """,
    re.VERBOSE,
)
_BOUND = re.compile(r"^\.\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$")


def owns_file(path: Path) -> bool:
    """Whether ``path`` is an XLSForm: a workbook, or a CSV in pyxform's layout (a ``survey`` sheet)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm"):
        return True
    if suffix != ".csv":
        return False
    try:
        head = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    first = next(csv.reader(io.StringIO(head)), [])
    return bool(first) and first[0].strip().lower() == "survey"


def relevant_tokens(text: str) -> list[Token]:
    """An XLSForm ``relevant`` expression as the importers' shared tokens.

    Examples
    --------
    >>> [t.kind for t in relevant_tokens("selected(${a}, 'x') and not(${b} != '')")]
    ['selected', 'and', 'not', '(', 'ref', 'op', 'value', ')']
    """
    tokens: list[Token] = []
    for match in scan(_RELEVANT, text):
        kind, value = match.lastgroup, match.group()
        if kind == "selected":
            tokens.append(Token("selected", (match.group("option_of"), match.group("code")[1:-1])))
        elif kind == "ref":
            tokens.append(Token("ref", match.group("name")))
        elif kind == "string":
            tokens.append(Token("value", value[1:-1]))
        elif kind == "number":
            tokens.append(Token("value", value))
        elif kind == "op":
            tokens.append(Token("op", value))
        elif kind == "not":
            tokens.append(Token("not"))
        elif kind == "word":
            tokens.append(Token(value))
        else:
            tokens.append(Token(value))
    return tokens


# ------------------------------------------------------------------------ sheets


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_rows(header: list[str], rows: list[tuple[int, list[str]]]) -> list[Row]:
    keys = [_column(h) for h in header]
    out = []
    for number, cells in rows:
        values = {
            k: cells[i].strip() for i, k in enumerate(keys) if k and i < len(cells) and cells[i].strip()
        }
        if values:
            out.append((number, values))
    return out


def _column(header: str) -> str:
    text = header.strip()
    lower = text.lower()
    if lower in COLUMN_ALIASES:
        return COLUMN_ALIASES[lower]
    head, sep, language = re.split(r"(::?)", text, maxsplit=1) if ":" in text else (text, "", "")
    head = COLUMN_ALIASES.get(head.lower(), head.lower())
    if head in ("label", "hint", "constraint_message", "required_message", "media::image", "image"):
        return f"{head}::{language.strip()}" if sep else head
    return COLUMN_ALIASES.get(lower, lower)


def read_sheets(path: Path, display: str) -> dict[str, list[Row]]:
    """The ``survey``, ``choices`` and ``settings`` sheets: (row as a spreadsheet shows it, cells)."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SdtSurveyError(
            f"{display}: an .xls workbook (Excel 97-2003) cannot be read; open it in a spreadsheet "
            "program and save it as .xlsx"
        )
    if suffix in (".xlsx", ".xlsm"):
        return _read_workbook(path, display)
    text, _ = decode_text(path.read_bytes(), display)
    sheets: dict[str, list[Row]] = {}
    name = ""
    header: list[str] | None = None
    body: dict[str, list[tuple[int, list[str]]]] = {}
    headers: dict[str, list[str]] = {}
    for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if record and record[0].strip():
            name, header = record[0].strip().lower(), None
            body.setdefault(name, [])
            continue
        cells = record[1:]
        if not name or not any(c.strip() for c in cells):
            continue
        if header is None:
            header = cells
            headers[name] = cells
            continue
        body[name].append((number, cells))
    if "survey" not in headers:
        raise SdtSurveyError(f"{display}: no survey sheet (pyxform's CSV layout starts with a 'survey' row)")
    for name, rows in body.items():
        sheets[name] = _sheet_rows(headers.get(name, []), rows)
    return sheets


def _read_workbook(path: Path, display: str) -> dict[str, list[Row]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a file that is not a workbook
        raise SdtSurveyError(f"{display}: not a readable .xlsx workbook ({exc})") from exc
    sheets: dict[str, list[Row]] = {}
    try:
        for sheet in book.worksheets:
            name = sheet.title.strip().lower()
            if name not in ("survey", "choices", "settings"):
                continue
            rows = [
                (n, [_cell(v) for v in values])
                for n, values in enumerate(sheet.iter_rows(values_only=True), 1)
            ]
            rows = [(n, cells) for n, cells in rows if any(cells)]
            if rows:
                sheets[name] = _sheet_rows(rows[0][1], rows[1:])
    finally:
        book.close()
    if "survey" not in sheets:
        raise SdtSurveyError(
            f"{display}: no 'survey' sheet; an XLSForm has survey, choices and settings sheets"
        )
    return sheets


# ------------------------------------------------------------------------- form


def _languages(sheets: dict[str, list[Row]], draft: Draft) -> dict[str, str]:
    """Column language name (``English (en)``, ``""`` for a plain ``label``) -> tag; sets draft.languages."""
    from .xlsform import LANGUAGE_NAMES

    names: list[str] = []
    for sheet in ("survey", "choices"):
        for _, cells in sheets.get(sheet, []):
            for key in cells:
                if key.startswith(("label::", "hint::")):
                    names.append(key.split("::", 1)[1])
                elif key in ("label", "hint"):
                    names.append("")
    names = list(dict.fromkeys(names))
    settings = sheets.get("settings", [])
    default = settings[0][1].get("default_language", "") if settings else ""
    tags: dict[str, str] = {}
    for name in names:
        source = name or default
        if not source:
            tags[name] = "en"
            draft.note(
                None, "languages", "the form's labels name no language: taken as English (en)", "inferred"
            )
            continue
        tag, known = language_tag(source, {v: k for k, v in LANGUAGE_NAMES.items()})
        if not known:
            draft.note(None, "languages", f"language {source!r} has no code: written as {tag!r}", "inferred")
        tags[name] = tag
    order = list(dict.fromkeys(tags.values())) or ["en"]
    if default:
        first = tags.get(default) or language_tag(default, {v: k for k, v in LANGUAGE_NAMES.items()})[0]
        if first in order:
            order.remove(first)
            order.insert(0, first)
    draft.languages = order
    return tags


def _texts(cells: dict[str, str], prefix: str, tags: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in cells.items():
        if key == prefix:
            out.setdefault(tags.get("", "en"), plain_text(value))
        elif key.startswith(prefix + "::"):
            tag = tags.get(key.split("::", 1)[1])
            if tag:
                out[tag] = plain_text(value)
    return {k: v for k, v in out.items() if v}


def read_instrument(path: Path, display: str) -> Draft:
    """Read an XLSForm into a :class:`~.import_draft.Draft` (items, sections, report)."""
    sheets = read_sheets(path, display)
    draft = Draft(display, "xlsform")
    tags = _languages(sheets, draft)
    lists: dict[str, list[dict]] = {}
    for number, cells in sheets.get("choices", []):
        list_name, name = cells.get("list_name", ""), cells.get("name", "")
        if not list_name or not name:
            continue
        label = _texts(cells, "label", tags) or draft.text(name)
        lists.setdefault(list_name, []).append({"value": integer_code(name), "label": label, "_row": number})
    settings = sheets.get("settings", [])
    if settings:
        draft.title = settings[0][1].get("form_title") or None
    _Form(draft, tags, lists).read(sheets["survey"])
    return draft


class _Form:
    """Walks the survey sheet: groups to sections, questions to items, the rest to the report."""

    def __init__(self, draft: Draft, tags: dict[str, str], lists: dict[str, list[dict]]):
        self.draft = draft
        self.tags = tags
        self.lists = lists
        self.groups: list[tuple[str, object]] = []  # (name, its relevance or None)
        self.repeat: tuple[int, str, int] | None = None  # (row, name, depth) of a repeat being skipped
        self.skipped = 0
        self.after_group = False

    def read(self, rows: list[Row]) -> None:
        for number, cells in rows:
            kind = " ".join(cells.get("type", "").split())
            if kind:
                self.row(number, cells, kind)
        if self.groups:
            self.draft.note(None, self.groups[-1][0], "a group is not closed (no 'end group')", "changed")

    def row(self, number: int, cells: dict[str, str], kind: str) -> None:
        lower = kind.lower().replace("_", " ")
        name = cells.get("name", "")
        if self.repeat is not None:
            if lower.startswith(("begin repeat", "begin loop")):
                self.repeat = (self.repeat[0], self.repeat[1], self.repeat[2] + 1)
            elif lower in ("end repeat", "end loop"):
                if self.repeat[2] == 1:
                    row, repeat_name, _ = self.repeat
                    self.draft.note(
                        row,
                        repeat_name,
                        f"a repeat ({plural(self.skipped, 'question')}) left out: answers repeated "
                        "within one response do not fit one column per item",
                    )
                    self.repeat = None
                else:
                    self.repeat = (self.repeat[0], self.repeat[1], self.repeat[2] - 1)
            elif lower not in ("begin group", "end group"):
                self.skipped += 1
            return
        if lower.startswith(("begin repeat", "begin loop")):
            self.repeat, self.skipped = (number, name or kind, 1), 0
            return
        if lower == "begin group":
            self.begin_group(number, cells, name)
            return
        if lower == "end group":
            if self.groups:
                self.groups.pop()
                self.after_group = not self.groups
            return
        self.question(number, cells, kind, name)

    def begin_group(self, number: int, cells: dict[str, str], name: str) -> None:
        draft = self.draft
        relevance = None
        if cells.get("relevant"):
            relevance = condition(
                draft, _tokens(cells["relevant"]), cells["relevant"], number, name, "the group's relevance"
            )
        if not self.groups:
            title = _texts(cells, "label", self.tags)
            section = draft.start_section(name or "group", number)
            if title:
                section["title"] = title
            self.after_group = False
        else:
            draft.note(
                number, name, f"a nested group: its questions join section {draft.section['id']!r}", "changed"
            )
        self.groups.append((name, relevance))

    def section(self) -> dict:
        if self.after_group:
            self.after_group = False
            return self.draft.start_section("section", None)
        return self.draft.section

    def question(self, number: int, cells: dict[str, str], kind: str, name: str) -> None:
        draft = self.draft
        base = kind.partition(" ")[0].lower()
        if base == "calculate" and name in (PROVENANCE_FIELD, STAMP_FIELD):
            draft.note(
                number, name, "sdt-survey's record of the exported instrument left out: an export writes it"
            )
            return
        if base in LEFT_OUT or base in METADATA:
            why = LEFT_OUT.get(base, f"the {base} metadata field left out: the platform records it")
            draft.note(number, name or kind, why)
            return
        section = self.section()
        text = _texts(cells, "label", self.tags)
        if base == "note":
            if not text:
                return
            if not section["items"] and "preamble" not in section and not section["notes"] and self.groups:
                section["preamble"] = text
            else:
                draft.add_note(name or "note", text, number)
            return
        item: dict = {"id": draft.make_id(name, number) if name else draft.make_id(kind, number)}
        item["text"] = text or draft.text(name)
        if not text:
            draft.note(number, name, "the question has no label; its name is the item's text", "changed")
        if not self.answer_type(item, number, cells, kind, name):
            return
        appearances = cells.get("appearance", "").lower().split()
        likert = "likert" in appearances
        shown = [a for a in appearances if a not in ("likert", "multiline")]
        if shown:
            draft.note(number, name, f"appearance {' '.join(shown)!r} left out: layout only")
        if re.search(r"\$\{[^}]+\}", " ".join(text.values())):
            draft.note(number, name, "piping (${field}) in the label left as text")
        if cells.get("required", "").strip().lower() in ("yes", "true", "true()", "1"):
            item["required"] = True
        hint = _texts(cells, "hint", self.tags)
        if hint:
            item["hint"] = hint
        for key, what in (
            ("default", "the default answer"),
            ("read_only", "read-only"),
            ("choice_filter", "the choice filter"),
            ("repeat_count", "the repeat count"),
            ("trigger", "the trigger"),
        ):
            if cells.get(key):
                draft.note(number, name, f"{what} ({cells[key]!r}) left out")
        if item["type"] != "slider" and cells.get("parameters"):
            draft.note(number, name, f"parameters {cells['parameters']!r} left out")
        conditions = [relevance for _, relevance in self.groups]
        if cells.get("relevant"):
            conditions.append(condition(draft, _tokens(cells["relevant"]), cells["relevant"], number, name))
        attach(item, *conditions)
        draft.add_item(item, number, name)
        if likert:
            draft.grid.setdefault(item["id"], "")

    def answer_type(self, item: dict, number: int, cells: dict[str, str], kind: str, name: str) -> bool:
        draft = self.draft
        lower = " ".join(kind.split())
        select = re.match(
            r"^select[_ ](one|multiple|all that apply)(?: from)? (\S+)(?: (or[_ ]other))?$", lower, re.I
        )
        if select:
            list_name = select.group(2)
            choices = self.lists.get(list_name)
            if not choices:
                draft.note(number, name, f"choice list {list_name!r} is not in the choices sheet: left out")
                return False
            item["type"] = "single" if select.group(1).lower() == "one" else "multiple"
            item["choices"] = [{"value": c["value"], "label": c["label"]} for c in choices]
            draft.scale_names[item["id"]] = list_name
            if select.group(3):
                draft.note(number, name, "'or other' (a free-text other answer) left out")
            if cells.get("constraint"):
                draft.note(number, name, f"constraint {cells['constraint']!r} left out")
            return True
        base = lower.split(" ")[0].lower()
        simple = {"text": "text", "string": "text", "integer": "integer", "int": "integer",
                  "decimal": "number", "date": "date"}  # fmt: skip
        if base in simple:
            item["type"] = simple[base]
            if item["type"] in ("integer", "number"):
                self.bounds(item, number, cells, name)
            elif cells.get("constraint"):
                draft.note(number, name, f"constraint {cells['constraint']!r} left out")
            return True
        if lower.lower() in ("phone number", "phone_number"):
            item["type"] = "text"
            draft.note(number, name, "a phone number question: a text item", "changed")
            return True
        if base in ("time", "datetime"):
            item["type"] = "text"
            draft.note(
                number, name, f"a {base} question: a text item (sdt-survey has no {base} type)", "changed"
            )
            return True
        if base == "range":
            params = dict(re.findall(r"(\w+)\s*=\s*(-?\d+(?:\.\d+)?)", cells.get("parameters", "")))
            item["type"] = "slider"
            for key, default in (("start", 1), ("end", 10), ("step", 1)):
                value = float(params.get(key, default))
                item[{"start": "min", "end": "max"}.get(key, key)] = (
                    int(value) if value.is_integer() else value
                )
            return True
        draft.note(number, name, f"question type {kind!r} left out: an instrument has no such item")
        return False

    def bounds(self, item: dict, number: int, cells: dict[str, str], name: str) -> None:
        constraint = cells.get("constraint", "")
        if not constraint:
            return
        found: dict[str, float] = {}
        for part in re.split(r"\s+and\s+", constraint.strip()):
            match = _BOUND.match(part.strip())
            if match is None:
                self.draft.note(number, name, f"constraint {constraint!r} left out: not a range of '.'")
                return
            op, value = match.group(1), float(match.group(2))
            strict = op in ("<", ">")
            if strict and item["type"] == "integer":
                value += 1 if op == ">" else -1
            elif strict:
                self.draft.note(
                    number, name, f"the strict bound {part.strip()!r} is kept as inclusive", "changed"
                )
            found["min" if op.startswith(">") else "max"] = value
        for key, value in found.items():
            item[key] = int(value) if value.is_integer() else value


def _tokens(text: str) -> list[Token] | Untranslatable:
    try:
        return relevant_tokens(text)
    except Untranslatable as reason:
        return reason
