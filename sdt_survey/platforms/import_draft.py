"""What every instrument importer shares: the draft it fills, the located report, scales inferred.

A platform's importer (:mod:`~sdt_survey.platforms.redcap_import`,
:mod:`~sdt_survey.platforms.xlsform_import`,
:mod:`~sdt_survey.platforms.qualtrics_import`) reads its file row by row into
a :class:`Draft`: items, sections and notes in the instrument format's own
keys, and a :class:`ReportLine` for everything the format cannot hold, every
name it had to change and everything it inferred. :func:`infer_scales` then
turns runs of single-choice items with integer codes and identical choices
into Likert items on one shared scale, and :meth:`Draft.definition` gives the
instrument definition (the mapping written as YAML).

Examples
--------
>>> draft = Draft("form.csv", "redcap", languages=["en"])
>>> draft.make_id("Q1-Anger", row=2)
'q1_anger'
>>> print(draft.report[0])
form.csv:2: Q1-Anger: named q1_anger (ids are lowercase letters, digits and '_'); its redcap alias is Q1-Anger
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .._untrusted import CONTROL_CHARACTER, describe_character
from ..instrument import code_text, plural
from ..instrument.validate import LANGUAGE_TAG

#: The longest item id the instrument format accepts (REDCap's recommended limit).
MAX_ID = 26

#: Labels of a choice that is not a point of the scale (shown, scored as missing), and why.
NONSUBSTANTIVE = (
    (re.compile(r"(do(n'?|\s+no)t|don’t)\s+know|unsure|not\s+sure", re.I), "dont_know"),
    (re.compile(r"refuse|declin|prefer\s+not|rather\s+not", re.I), "refused"),
    (re.compile(r"not\s+applicable|\bn/?a\b|does\s+not\s+apply", re.I), "not_applicable"),
)

_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\s*/?\s*>", re.I)


def plain_text(value: object) -> str:
    """A label as the respondent reads it: HTML tags removed, entities decoded, spaces tidied.

    Examples
    --------
    >>> plain_text("<b>Diet</b><br>In the past <i>7&nbsp;days</i>...")
    'Diet\\nIn the past 7 days...'
    """
    if value is None:
        return ""
    text = _BREAK.sub("\n", str(value))
    text = html.unescape(_TAG.sub("", text)).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def slug(text: str, separator: str = "_") -> str:
    """``text`` as lowercase letters, digits and ``separator`` (for ids made from names and labels)."""
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)


def integer_code(value: object) -> int | str:
    """A choice code as an integer when it is one (``"2"`` -> 2), else its text."""
    text = code_text(value).strip()
    return int(text) if re.fullmatch(r"-?\d{1,18}", text) else text


@dataclass(frozen=True)
class ReportLine:
    """One line of the import report: what was left out, inferred or changed, and where.

    ``row`` is the row a user sees in a spreadsheet (the header is row 1) or,
    for a Qualtrics file, ``None`` (the question is named instead).
    """

    file: str
    row: int | None
    field: str
    message: str
    kind: str = "left out"

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row is not None else self.file
        return f"{where}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "kind": self.kind,
                "message": self.message}  # fmt: skip


@dataclass
class Draft:
    """An instrument being imported: items and sections as the YAML format writes them, and the report.

    Items are dictionaries with the format's keys (``id``, ``text``, ``type``,
    ``choices``, ``min``, ``max``, ``required``, ``show_if``, ``hint``,
    ``identifier``, ``aliases``); texts are ``{language: text}`` until
    :meth:`definition` writes them. ``rows`` and ``names`` say where each item
    came from (its row, its name on the platform) so the report can point there.
    """

    file: str
    platform: str
    languages: list[str] = field(default_factory=lambda: ["en"])
    items: list[dict[str, Any]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    scales: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: list[ReportLine] = field(default_factory=list)
    rows: dict[str, int | None] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    #: Item id -> a hint from the platform that the item is one of a Likert grid (REDCap matrix group).
    grid: dict[str, str] = field(default_factory=dict)
    #: Item id -> a name for the scale an inferred run of items shares (an XLSForm choice list's name).
    scale_names: dict[str, str] = field(default_factory=dict)
    #: Items the file marks as reverse-keyed (a dictionary sdt-survey exported says so in its annotations).
    reverse: set[str] = field(default_factory=set)
    #: Names whose only change into an item id was lowercase letters (reported together).
    lowercased: list[str] = field(default_factory=list)
    _taken: set[str] = field(default_factory=set)
    _taken_other: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ report
    def note(self, row: int | None, name: str, message: str, kind: str = "left out") -> None:
        """Add a line to the report (once: the same finding at the same place is one line)."""
        line = ReportLine(self.file, row, name, message, kind)
        if line not in self.report:
            self.report.append(line)

    # --------------------------------------------------------------------- ids
    def make_id(self, name: str, row: int | None, *, kind: str = "item") -> str:
        """A valid, unused id for ``name``; a changed item name is reported and kept as the platform's alias.

        Items, and sections and notes, have their own names: a section may share an item's name.
        """
        taken = self._taken if kind == "item" else self._taken_other
        base = slug(name) or kind
        if not base[0].isalpha():
            base = f"{'q' if kind == 'item' else kind[0]}_{base}"
        base = base[:MAX_ID].rstrip("_")
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[: MAX_ID - len(suffix)].rstrip("_") + suffix
        taken.add(candidate)
        if kind == "item" and candidate != name and candidate == name.lower() == base:
            self.lowercased.append(name)  # one line for them all (definition)
        elif kind == "item" and candidate != name:
            if candidate != base:
                why = f"{base!r} is taken"
            elif len(name) > MAX_ID:
                why = f"longer than {MAX_ID} characters"
            else:
                why = "ids are lowercase letters, digits and '_'"
            self.note(
                row, name, f"named {candidate} ({why}); its {self.platform} alias is {name}", kind="changed"
            )
        return candidate

    # ------------------------------------------------------------ the structure
    def start_section(
        self, name: str, row: int | None, *, title: str = "", preamble: str = ""
    ) -> dict[str, Any]:
        """Open a new section (its id made from ``name``) and return it."""
        section_id = self.make_id(name, row, kind="section")
        section: dict[str, Any] = {"id": section_id, "items": [], "notes": []}
        if title:
            section["title"] = self.text(title)
        if preamble:
            section["preamble"] = self.text(preamble)
        self.sections.append(section)
        return section

    @property
    def section(self) -> dict[str, Any]:
        if not self.sections:
            self.start_section("main", None)
        return self.sections[-1]

    def add_item(self, item: dict[str, Any], row: int | None, name: str) -> dict[str, Any]:
        """Add an item to the current section; ``name`` is what the platform calls it."""
        if item["id"] != name:
            item.setdefault("aliases", {})[self.platform] = name
        self.items.append(item)
        self.section["items"].append(item["id"])
        self.rows[item["id"]] = row
        self.names[item["id"]] = name
        return item

    def add_note(self, name: str, text: Mapping[str, str], row: int | None) -> None:
        """Descriptive text shown between items: a note of the current section, before the next item."""
        note_id = self.make_id(name, row, kind="note")
        self.section["notes"].append(
            {"id": note_id, "text": dict(text), "_before_index": len(self.section["items"])}
        )

    def text(self, value: str | Mapping[str, str]) -> dict[str, str]:
        """A text in every language: a plain string is the default language's."""
        if isinstance(value, str):
            return {self.languages[0]: value}
        return {lang: t for lang, t in value.items() if t}

    def item(self, item_id: str) -> dict[str, Any]:
        return next(item for item in self.items if item["id"] == item_id)

    # ------------------------------------------------------------------ output
    def definition(self, instrument_id: str, version: str = "1.0.0") -> dict[str, Any]:
        """The instrument definition, ready to write as YAML (texts complete in every language)."""
        if self.lowercased:
            shown = ", ".join(self.lowercased[:3]) + (", ..." if len(self.lowercased) > 3 else "")
            self.note(
                self.rows.get(self.lowercased[0].lower()),
                plural(len(self.lowercased), "name"),
                f"{shown} in lowercase as item ids; each keeps its name as its {self.platform} alias",
                kind="changed",
            )
            self.lowercased = []
        out: dict[str, Any] = {"schema_version": 1, "id": instrument_id, "version": version}
        if self.title:
            out["title"] = self._text_value(self.text(self.title), "the title", None)
        description = (
            f"Imported from {PurePath(self.file).name} ({self.platform}) by sdt-survey import. "
            "Add subscales and reverse keys before scoring."
        )
        out["description"] = (
            description if len(self.languages) == 1 else dict.fromkeys(self.languages, description)
        )
        out["languages"] = list(self.languages)
        if self.scales:
            out["scales"] = {
                scale_id: {
                    **{k: v for k, v in scale.items() if k != "labels" and k != "nonsubstantive"},
                    "labels": [self._text_value(t, f"scale {scale_id}", None) for t in scale["labels"]],
                    **(
                        {
                            "nonsubstantive": [
                                {
                                    **entry,
                                    "label": self._text_value(entry["label"], f"scale {scale_id}", None),
                                }
                                for entry in scale["nonsubstantive"]
                            ]
                        }
                        if scale.get("nonsubstantive")
                        else {}
                    ),
                }
                for scale_id, scale in self.scales.items()
            }
        out["items"] = [self._item_out(item) for item in self.items]
        sections: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []  # notes of a section without items: shown before the next item
        for section in self.sections:
            if not section["items"]:
                waiting += [{**note, "_before_index": 0} for note in section["notes"]]
                continue
            entry: dict[str, Any] = {"id": section["id"]}
            for key in ("title", "preamble"):
                if key in section:
                    entry[key] = self._text_value(section[key], f"section {section['id']}", None)
            entry["items"] = list(section["items"])
            notes = []
            for note in [*waiting, *section["notes"]]:
                written: dict[str, Any] = {
                    "id": note["id"],
                    "text": self._text_value(note["text"], note["id"], None),
                }
                if note["_before_index"] < len(section["items"]):
                    written["before"] = section["items"][note["_before_index"]]
                notes.append(written)
            waiting = []
            if notes:
                entry["notes"] = notes
            sections.append(entry)
        if waiting and sections:
            # Notes after the last item close the last section.
            sections[-1].setdefault("notes", []).extend(
                {"id": n["id"], "text": self._text_value(n["text"], n["id"], None)} for n in waiting
            )
        elif waiting:
            for note in waiting:
                self.note(None, note["id"], "descriptive text in a form without questions left out")
        out["sections"] = sections
        return out

    def _item_out(self, item: dict[str, Any]) -> dict[str, Any]:
        where = self.names.get(item["id"], item["id"])
        row = self.rows.get(item["id"])
        out: dict[str, Any] = {}
        for key, value in item.items():
            if key in ("text", "hint"):
                out[key] = self._text_value(value, where, row)
            elif key == "choices":
                out[key] = [
                    {"value": c["value"], "label": self._text_value(c["label"], where, row)} for c in value
                ]
            elif key == "anchors":
                out[key] = [self._text_value(t, where, row) for t in value]
            else:
                out[key] = value
        return out

    def _text_value(self, text: Mapping[str, str], where: str, row: int | None) -> str | dict[str, str]:
        """One language: the string; several: a map with every language (the default fills gaps)."""
        found = {c for value in text.values() for c in CONTROL_CHARACTER.findall(value)}
        if found:
            # A control character cannot be written to a form, a spreadsheet or a terminal safely.
            text = {lang: CONTROL_CHARACTER.sub("", value) for lang, value in text.items()}
            names = ", ".join(describe_character(c) for c in sorted(found))
            self.note(row, where, f"the control character {names} removed from the text", "changed")
        default = self.languages[0]
        first = text.get(default) or next(iter(text.values()), "")
        if len(self.languages) == 1:
            return first
        complete = {}
        missing = []
        for lang in self.languages:
            if text.get(lang):
                complete[lang] = text[lang]
            else:
                complete[lang] = first
                missing.append(lang)
        if missing and first:
            self.note(
                row, where, f"no {', '.join(missing)} text; the {default} text is used there", "changed"
            )
        return complete


# -------------------------------------------------------------------- languages


def language_tag(name: str, names: Mapping[str, str]) -> tuple[str, bool]:
    """A language tag for a platform's language name: ``("es", True)`` if read from it, else guessed.

    ``names`` maps English language names to tags (XLSForm's ``Spanish``).

    Examples
    --------
    >>> language_tag("English (en)", {}), language_tag("ES-ES", {}), language_tag("french", {"French": "fr"})
    (('en', True), ('es-ES', True), ('fr', True))
    """
    text = name.strip()
    match = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)\s*$", text)
    if match:
        return _tag_case(match.group(1)), True
    if re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", text):
        tag = _tag_case(text.replace("_", "-"))
        if LANGUAGE_TAG.match(tag):
            return tag, True
    by_name = {k.lower(): v for k, v in names.items()}
    if text.lower() in by_name:
        return by_name[text.lower()], True
    base = re.sub(r"[^a-z]", "", text.lower())[:2] or "xx"
    return base, False


def _tag_case(tag: str) -> str:
    head, *rest = tag.split("-")
    return "-".join([head.lower(), *(part.upper() if len(part) == 2 else part for part in rest)])


# ----------------------------------------------------------------------- scales


def _choice_key(item: Mapping[str, Any]) -> tuple:
    return tuple((code_text(c["value"]), tuple(sorted(c["label"].items()))) for c in item["choices"])


def _is_coded(item: Mapping[str, Any]) -> bool:
    values = [c["value"] for c in item.get("choices", ())]
    return (
        item.get("type") == "single"
        and len(values) >= 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    )


def infer_scales(draft: Draft, *, likert: Iterable[str] = ()) -> None:
    """Turn runs of single-choice items sharing integer-coded choices into Likert items on one scale.

    A run is two or more consecutive items of one section with identical
    choices (codes and labels), or an item the platform marks as a Likert
    grid (``likert``: REDCap matrix groups, XLSForm ``appearance: likert``,
    Qualtrics matrix statements). Identical runs share one scale. Trailing
    choices such as "Don't know" or "Refused" become the scale's
    ``nonsubstantive`` choices (shown, scored as missing). Each inference is
    reported, so the user can check it and add subscales and reverse keys.
    """
    marked = set(likert) | set(draft.grid)
    by_id = {item["id"]: item for item in draft.items}
    known: dict[tuple, str] = {}
    for section in draft.sections:
        runs: list[list[dict[str, Any]]] = []
        for item_id in section["items"]:
            item = by_id[item_id]
            if not _is_coded(item):
                runs.append([])
                continue
            if runs and runs[-1] and _choice_key(runs[-1][-1]) == _choice_key(item):
                runs[-1].append(item)
            else:
                runs.append([item])
        for run in runs:
            if not run or (len(run) < 2 and run[0]["id"] not in marked):
                continue
            key = _choice_key(run[0])
            if key not in known:
                scale_id = _new_scale(draft, run)
                if scale_id is None:
                    continue
                known[key] = scale_id
            scale_id = known[key]
            for item in run:
                if item["id"] in draft.reverse and draft.scales[scale_id].get("values"):
                    item["reverse"] = True
                item["type"] = "likert"
                item["scale"] = scale_id
                # A likert item is required unless it says otherwise: the platform's flag is kept as it was.
                item.setdefault("required", False)
                del item["choices"]
                # Keys in the format's order: the scale right after the type.
                for key_name in [k for k in item if k not in ("id", "text", "type", "scale")]:
                    item[key_name] = item.pop(key_name)
            scale = draft.scales[scale_id]
            codes = ", ".join(str(v) for v in scale["values"])
            extra = (
                "; "
                + ", ".join(f"{e['value']} ({e['reason']})" for e in scale["nonsubstantive"])
                + " kept as non-substantive choices (shown, scored as missing)"
                if scale.get("nonsubstantive")
                else ""
            )
            reversed_ = [draft.names.get(item["id"], item["id"]) for item in run if item.get("reverse")]
            todo = "add subscales and reverse keys"
            if reversed_:
                extra += f"; reverse-keyed as the file marks them: {', '.join(reversed_)}"
                todo = "add subscales"
            names = [draft.names.get(item["id"], item["id"]) for item in run]
            span = names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} items)"
            draft.note(
                draft.rows.get(run[0]["id"]),
                span,
                f"inferred a Likert scale {scale_id!r} (codes {codes}){extra}: {todo}",
                kind="inferred",
            )


def _new_scale(draft: Draft, run: list[dict[str, Any]]) -> str | None:
    choices = sorted(run[0]["choices"], key=lambda c: c["value"])
    nonsubstantive = []
    for end in (-1, 0):  # "Don't know" 8 after the points, or "Refused" -99 before them
        while len(choices) > 2:
            label = " ".join(choices[end]["label"].values())
            reason = next((why for pattern, why in NONSUBSTANTIVE if pattern.search(label)), None)
            if reason is None:
                break
            nonsubstantive.append(
                {"value": choices[end]["value"], "label": choices[end]["label"], "reason": reason}
            )
            choices = choices[:-1] if end == -1 else choices[1:]
    nonsubstantive.sort(key=lambda entry: entry["value"])
    if len(choices) < 2:
        return None
    first, last = (" ".join(c["label"].values()) for c in (choices[0], choices[-1]))
    words = [slug(re.sub(r"^[\W\d_]+", "", plain_text(label)))[:12] for label in (first, last)]
    first_id = run[0]["id"]
    stem = draft.grid.get(first_id) or draft.scale_names.get(first_id) or "_".join(w for w in words if w)
    scale_id = slug(stem) or "scale"
    if not scale_id[0].isalpha():
        scale_id = f"scale_{scale_id}"
    candidate, n = scale_id, 1
    while candidate in draft.scales:
        n += 1
        candidate = f"{scale_id}_{n}"
    draft.scales[candidate] = {
        "values": [c["value"] for c in choices],
        "labels": [c["label"] for c in choices],
        **({"nonsubstantive": nonsubstantive} if nonsubstantive else {}),
    }
    if [c["value"] for c in run[0]["choices"]] != sorted(c["value"] for c in run[0]["choices"]):
        draft.note(
            draft.rows.get(run[0]["id"]),
            draft.names.get(run[0]["id"], run[0]["id"]),
            f"the choices of scale {candidate!r} were listed out of order; the scale lists them by code",
            kind="changed",
        )
    return candidate
