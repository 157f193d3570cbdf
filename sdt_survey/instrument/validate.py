"""Checking an instrument definition against the format, collecting every problem.

The checks tolerate any shape of input and locate each problem at the line
and column of the offending YAML node (:mod:`sdt_survey.instrument._yaml`);
the format is documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import Problem
from . import expressions
from ._yaml import LocatedDocument
from .model import ITEM_TYPES, SCHEMA_VERSION, SCORED_TYPES, SCORING_METHODS, alias_targets, code_text
from .validate_fields import CHOICE_NAME, FieldChecks, _is_int, _is_number, _type_name, is_choice_value

INSTRUMENT_ID = re.compile(r"^[a-z][a-z0-9-]*$")
ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
NAME_ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: A choice value written as text: an ODK-style name (letters, digits, ``_``, ``-``, ``.``).
CHOICE_CODE = CHOICE_NAME
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SPDX_EXPRESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*(?: (?:AND|OR|WITH) [A-Za-z0-9][A-Za-z0-9.+-]*)*$")

TOP_KEYS = (
    "schema_version",
    "id",
    "version",
    "title",
    "description",
    "languages",
    "citation",
    "license",
    "scales",
    "items",
    "sections",
    "subscales",
    "composites",
)
SCALE_KEYS = ("values", "labels", "missing_codes", "nonsubstantive")
ITEM_KEYS = (
    "id",
    "text",
    "type",
    "scale",
    "choices",
    "min",
    "max",
    "reverse",
    "required",
    "show_if",
    "aliases",
    "hint",
    "identifier",
    "step",
    "anchors",
)
CHOICE_KEYS = ("value", "label")
SECTION_KEYS = ("id", "title", "preamble", "items", "notes")
SUBSCALE_KEYS = ("label", "items", "method", "min_valid")
COMPOSITE_KEYS = ("label", "of", "method")


def _did_you_mean(word: object, options: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    hits = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {hits[0]!r}?" if hits else ""


class _Validator(FieldChecks):
    """Checks a located document against the format, collecting every problem.

    Each ``check_*`` method tolerates any shape of input; ``build`` runs only
    when no errors were found and may rely on everything checked.
    """

    def __init__(self, doc: LocatedDocument):
        self.doc = doc
        self.data: Any = doc.data
        self.problems: list[Problem] = []
        self.languages: list[str] = ["en"]
        self.proprietary = False
        self.scales: dict[str, Any] = {}
        self.items: dict[str, tuple[int, dict]] = {}  # id -> (index, raw item)
        self.display_order: list[str] = []
        self.subscale_ids: set[str] = set()

    # -- reporting -----------------------------------------------------------
    def error(self, path: tuple, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def warn(self, path: tuple, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key, severity="warning"))

    def scale_values(self, scale_ref: object) -> list[int]:
        """The integer values of a referenced scale, or [] if it is unknown or malformed."""
        scale = self.scales.get(scale_ref) if isinstance(scale_ref, str) else None
        values = scale.get("values") if isinstance(scale, dict) else None
        if isinstance(values, list) and values and all(_is_int(v) for v in values):
            return values
        return []

    def nonsubstantive_codes(self, scale_ref: object) -> set[str]:
        """The codes of a referenced scale's non-substantive choices (as text)."""
        scale = self.scales.get(scale_ref) if isinstance(scale_ref, str) else None
        listed = scale.get("nonsubstantive") if isinstance(scale, dict) else None
        if not isinstance(listed, list):
            return set()
        return {code_text(c["value"]) for c in listed if isinstance(c, dict) and "value" in c}

    def line_of(self, path: tuple) -> int | None:
        return self.doc.position(path)[0]

    # -- generic checks ------------------------------------------------------
    def check_mapping(
        self, path: tuple, value: object, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> bool:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping of keys, found {_type_name(value)}")
            return False
        for key in value:
            if isinstance(key, str) and key.startswith("x-"):
                continue  # extension keys are free for users' own tooling
            if key not in allowed:
                self.error(
                    (*path, key),
                    f"unknown key {key!r}{_did_you_mean(key, allowed)} (allowed here: {', '.join(allowed)})",
                    key=True,
                )
        for key in required:
            if key not in value:
                self.error(path, f"missing required key {key!r}")
        return True

    def check_string(self, path: tuple, value: object, what: str = "a string") -> bool:
        if not isinstance(value, str) or not value.strip():
            found = "an empty string" if isinstance(value, str) else _type_name(value)
            self.error(path, f"expected {what}, found {found}")
            return False
        return True

    def check_bool(self, path: tuple, value: object) -> bool:
        if not isinstance(value, bool):
            self.error(path, f"expected true or false, found {_type_name(value)}")
            return False
        return True

    def check_id(self, path: tuple, value: object, pattern: re.Pattern, rule: str) -> bool:
        if not isinstance(value, str):
            self.error(path, f"expected an id ({rule}), found {_type_name(value)}")
            return False
        if not pattern.match(value):
            self.error(path, f"invalid id {value!r}: {rule}")
            return False
        return True

    def check_text(self, path: tuple, value: object) -> None:
        """A plain string (default language) or a map with every declared language."""
        if isinstance(value, str):
            if not value.strip():
                self.error(path, "the text is empty")
            elif len(self.languages) > 1:
                missing = ", ".join(self.languages[1:])
                self.error(
                    path,
                    f"missing translation for {missing}: a plain string is the default "
                    f"language ({self.languages[0]}) only; write a map {{"
                    + ", ".join(f"{lang}: ..." for lang in self.languages)
                    + "}",
                )
            return
        if not isinstance(value, dict):
            self.error(
                path,
                f"expected a text (a string, or a map of language -> string), found {_type_name(value)}",
            )
            return
        for language, translation in value.items():
            if language not in self.languages:
                self.error(
                    (*path, language),
                    f"language {language!r} is not declared in 'languages' "
                    f"({', '.join(self.languages)}){_did_you_mean(language, self.languages)}",
                    key=True,
                )
            elif not isinstance(translation, str) or not translation.strip():
                found = "an empty string" if isinstance(translation, str) else _type_name(translation)
                self.error((*path, language), f"expected the {language} text, found {found}")
        for language in self.languages:
            if language not in value:
                self.error(path, f"missing the {language!r} translation")

    def check_label(self, path: tuple, value: object) -> None:
        """An answer label: a text that REDCap's choice list can also hold."""
        self.check_text(path, value)
        translations = value.values() if isinstance(value, dict) else [value]
        if any(isinstance(text, str) and "|" in text for text in translations):
            # Checked here so that validate says it, not the export months later.
            self.warn(
                path,
                "the label holds '|', which REDCap uses to separate choices: "
                "exporting to REDCap will refuse it",
            )

    def check_id_list(self, path: tuple, value: object, known: Iterable[str], kind: str) -> list[str]:
        """A non-empty list of known ids without repeats; returns the valid ones."""
        known = list(known)
        if not isinstance(value, list) or not value:
            found = "an empty list" if isinstance(value, list) else _type_name(value)
            self.error(path, f"expected a list of {kind} ids, found {found}")
            return []
        valid: list[str] = []
        for i, ref in enumerate(value):
            if not isinstance(ref, str):
                self.error((*path, i), f"expected {kind} id, found {_type_name(ref)}")
            elif ref not in known:
                self.error((*path, i), f"unknown {kind} {ref!r}{_did_you_mean(ref, known)}")
            elif ref in valid:
                self.error((*path, i), f"{kind} {ref!r} is listed twice")
            else:
                valid.append(ref)
        return valid

    def named_entries(self, key: str, noun: str) -> Iterator[tuple[str, tuple, object]]:
        """The ``(id, path, value)`` entries of a top-level map such as ``scales``, ids checked."""
        entries = self.data.get(key)
        if entries is None:
            if key in self.data:
                self.error((key,), f"expected a mapping of {noun} id -> {noun}, found nothing (null)")
            return
        if not isinstance(entries, dict):
            self.error((key,), f"expected a mapping of {noun} id -> {noun}, found {_type_name(entries)}")
            return
        for entry_id, entry in entries.items():
            path = (key, entry_id)
            if self.check_id(path, entry_id, NAME_ID, "lowercase letters, digits and '_'"):
                yield entry_id, path, entry

    def check_method(self, path: tuple, method: object) -> None:
        if method not in SCORING_METHODS:
            self.error(
                path, f"unknown method {method!r}{_did_you_mean(method, SCORING_METHODS)} (mean or sum)"
            )

    # -- the document --------------------------------------------------------
    def run(self) -> None:
        data = self.data
        if not isinstance(data, dict):
            self.error((), f"an instrument file must be a mapping of keys, found {_type_name(data)}")
            return
        self.check_mapping((), data, TOP_KEYS, required=("schema_version", "id", "version", "items"))
        self.check_header(data)
        self.check_scales()
        self.check_items(data.get("items"))
        self.check_sections(data.get("sections"))
        self.check_branching()
        self.check_subscales()
        self.check_composites()

    def check_header(self, data: dict) -> None:
        if "schema_version" in data:
            version = data["schema_version"]
            if not _is_int(version):
                self.error(("schema_version",), f"expected the integer 1, found {_type_name(version)}")
            elif version != SCHEMA_VERSION:
                self.error(
                    ("schema_version",),
                    f"schema_version {version} is not supported; this sdt-survey reads "
                    f"schema_version {SCHEMA_VERSION}",
                )
        if "id" in data:
            self.check_id(
                ("id",),
                data["id"],
                INSTRUMENT_ID,
                "lowercase letters, digits and '-', starting with a letter",
            )
        if "version" in data:
            version = data["version"]
            if _is_number(version):
                written = str(version)
                suggestion = written + ".0" * max(0, 2 - written.count("."))
                self.error(
                    ("version",),
                    f'the version must be a quoted semantic version such as "{suggestion}", '
                    f"not the number {written}",
                )
            elif self.check_string(
                ("version",), version, 'a semantic version such as "1.0.0"'
            ) and not SEMVER.match(version):
                self.error(
                    ("version",),
                    f'{version!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. "1.2.0")',
                )
        self.check_languages(data)
        for key in ("title", "description"):
            if key in data:
                self.check_text((key,), data[key])
        if "citation" in data:
            self.check_string(("citation",), data["citation"])
        if "license" in data:
            license_ = data["license"]
            if self.check_string(("license",), license_, "an SPDX license id or 'proprietary'"):
                self.proprietary = license_ == "proprietary"
                if not self.proprietary and not SPDX_EXPRESSION.match(license_):
                    self.error(
                        ("license",),
                        f"{license_!r} is not an SPDX license id (e.g. CC-BY-4.0, MIT) or 'proprietary'",
                    )

    def check_languages(self, data: dict) -> None:
        if "languages" not in data:
            return
        languages = data["languages"]
        if not isinstance(languages, list) or not languages:
            found = "an empty list" if isinstance(languages, list) else _type_name(languages)
            self.error(("languages",), f"expected a list of language tags such as [en, es], found {found}")
            return
        valid: list[str] = []
        for i, tag in enumerate(languages):
            if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag):
                self.error(
                    ("languages", i),
                    f"{_type_name(tag)} is not a language tag (e.g. en, es, fr-CA)",
                )
            elif tag in valid:
                self.error(("languages", i), f"language {tag!r} is listed twice")
            else:
                valid.append(tag)
        if valid:
            self.languages = valid

    def check_scales(self) -> None:
        for scale_id, path, scale in self.named_entries("scales", "scale"):
            self.scales[scale_id] = scale
            if not self.check_mapping(path, scale, SCALE_KEYS, required=("values", "labels")):
                continue
            values = scale.get("values")
            good_values = False
            if "values" in scale:
                if not isinstance(values, list) or len(values) < 2:
                    self.error(
                        (*path, "values"),
                        f"expected a list of at least two integers, found {_type_name(values)}",
                    )
                elif not all(_is_int(v) for v in values):
                    for i, v in enumerate(values):
                        if not _is_int(v):
                            self.error((*path, "values", i), f"expected an integer, found {_type_name(v)}")
                elif len(set(values)) != len(values):
                    self.error((*path, "values"), "the values repeat")
                elif values != sorted(values):
                    self.error((*path, "values"), "list the values in increasing order")
                else:
                    good_values = True
            labels = scale.get("labels")
            if "labels" in scale:
                if not isinstance(labels, list):
                    self.error((*path, "labels"), f"expected a list of labels, found {_type_name(labels)}")
                else:
                    if good_values and len(labels) != len(values):
                        self.error(
                            (*path, "labels"),
                            f"{len(labels)} labels for {len(values)} values; give one label per value",
                        )
                    for i, label in enumerate(labels):
                        self.check_label((*path, "labels", i), label)
            if "missing_codes" in scale:
                self.check_missing_codes(
                    (*path, "missing_codes"), scale["missing_codes"], values if good_values else []
                )
            if "nonsubstantive" in scale:
                self.check_nonsubstantive(
                    (*path, "nonsubstantive"),
                    scale["nonsubstantive"],
                    values if good_values else [],
                    scale.get("missing_codes"),
                )

    def check_missing_codes(self, path: tuple, codes: object, values: list) -> None:
        if not isinstance(codes, dict):
            self.error(
                path,
                f"expected a mapping of code -> reason (e.g. -99: skipped), found {_type_name(codes)}",
            )
            return
        for code, reason in codes.items():
            if not _is_int(code):
                self.error(
                    (*path, code),
                    f"a missing code must be an integer, found {_type_name(code)}",
                    key=True,
                )
            elif code in values:
                self.error((*path, code), f"missing code {code} is also a value of the scale", key=True)
            self.check_string((*path, code), reason, "a reason such as skipped or not_applicable")

    def check_items(self, items: object) -> None:
        if items is None:
            if "items" in self.data:
                self.error(("items",), "expected a list of items, found nothing (null)")
            return
        if not isinstance(items, list) or not items:
            found = "an empty list" if isinstance(items, list) else _type_name(items)
            self.error(("items",), f"expected a list of items, found {found}")
            return
        for index, item in enumerate(items):
            self.check_item(index, item)

    def check_item(self, index: int, item: object) -> None:
        path = ("items", index)
        if not self.check_mapping(path, item, ITEM_KEYS, required=("id",)):
            return
        item_id = item.get("id")
        if "id" in item and self.check_id(
            (*path, "id"),
            item_id,
            ITEM_ID,
            "lowercase letters, digits and '_', starting with a letter, at most 26 characters",
        ):
            if item_id in self.items:
                first = self.line_of(("items", self.items[item_id][0], "id"))
                self.error((*path, "id"), f"duplicate item id {item_id!r} (first defined on line {first})")
            else:
                self.items[item_id] = (index, item)
        name = f"item {item_id!r}" if isinstance(item_id, str) else "this item"

        if "text" in item:
            self.check_text((*path, "text"), item["text"])
        elif not self.proprietary:
            self.error(
                path,
                f"{name} has no text; only an instrument with license: proprietary "
                "may leave item wording out",
            )

        item_type = item.get("type")
        has_scale = "scale" in item
        if "type" not in item:
            item_type = "likert" if has_scale else None
            if not has_scale:
                self.error(path, f"{name} needs a type ({', '.join(ITEM_TYPES)}) or a scale")
        elif item_type not in ITEM_TYPES:
            self.error(
                (*path, "type"),
                f"unknown item type {item_type!r}"
                f"{_did_you_mean(item_type, ITEM_TYPES)} (one of {', '.join(ITEM_TYPES)})",
            )
            item_type = None

        if item_type == "likert":
            if not has_scale:
                self.error(path, f"{name} is a likert item but names no scale")
            else:
                scale_id = item["scale"]
                if not isinstance(scale_id, str) or scale_id not in self.scales:
                    known = list(self.scales)
                    listed = f" (defined: {', '.join(known)})" if known else " (no scales are defined)"
                    self.error(
                        (*path, "scale"),
                        f"unknown scale {scale_id!r}{_did_you_mean(scale_id, known)}{listed}",
                    )
        elif has_scale and item_type is not None:
            self.error(
                (*path, "scale"),
                f"a {item_type} item has no scale; only likert items use one (drop 'type' or 'scale')",
            )

        if "choices" in item:
            if item_type in ("single", "multiple"):
                self.check_choices((*path, "choices"), item["choices"])
            elif item_type is not None:
                self.error(
                    (*path, "choices"),
                    f"a {item_type} item has no choices; only single and multiple items do",
                )
        elif item_type in ("single", "multiple"):
            self.error(path, f"{name} is a {item_type} item but lists no choices")

        self.check_bounds(path, item, item_type)
        self.check_item_extras(path, item, item_type, name)

        if "reverse" in item and self.check_bool((*path, "reverse"), item["reverse"]) and item["reverse"]:
            if item_type not in ("likert", None):
                self.error(
                    (*path, "reverse"),
                    f"only likert items can be reverse-keyed; {name} is {item_type}",
                )
            else:
                values = self.scale_values(item.get("scale"))
                if values:
                    low_v, high_v = min(values), max(values)
                    if any(low_v + high_v - v not in values for v in values):
                        self.error(
                            (*path, "reverse"),
                            f"scale {item.get('scale')!r} has gaps, so "
                            "min + max - x would leave the scale; reverse keying needs "
                            "evenly matched values",
                        )
        if "required" in item:
            self.check_bool((*path, "required"), item["required"])
        if "show_if" in item:
            self.check_string((*path, "show_if"), item["show_if"], "an expression string")
        if "aliases" in item:
            self.check_aliases((*path, "aliases"), item["aliases"])

    def check_choices(self, path: tuple, choices: object) -> None:
        if not isinstance(choices, list) or not choices:
            found = "an empty list" if isinstance(choices, list) else _type_name(choices)
            self.error(path, f"expected a list of {{value, label}} choices, found {found}")
            return
        seen: dict[str, int] = {}
        for i, choice in enumerate(choices):
            if not self.check_mapping((*path, i), choice, CHOICE_KEYS, required=("value", "label")):
                continue
            if "value" in choice:
                value = choice["value"]
                if not is_choice_value(value):
                    self.error(
                        (*path, i, "value"),
                        f"a choice value must be an integer or a name of "
                        f"letters, digits, '_', '-' and '.', found {_type_name(value)}",
                    )
                elif str(value) in seen:
                    self.error((*path, i, "value"), f"choice value {value!r} is used twice")
                else:
                    seen[str(value)] = i
            if "label" in choice:
                self.check_label((*path, i, "label"), choice["label"])

    def check_aliases(self, path: tuple, aliases: object) -> None:
        if not isinstance(aliases, dict):
            self.error(
                path,
                f"expected a mapping of target -> name (e.g. qualtrics: Q5_1), found {_type_name(aliases)}",
            )
            return
        for target, name in aliases.items():
            if target not in alias_targets():
                self.error(
                    (*path, target),
                    f"unknown target {target!r}"
                    f"{_did_you_mean(target, alias_targets())} (one of {', '.join(alias_targets())})",
                    key=True,
                )
            self.check_string((*path, target), name, "the item's name on that platform")

    def check_sections(self, sections: object) -> None:
        item_ids = list(self.items)
        if sections is None:
            if "sections" in self.data:
                self.error(("sections",), "expected a list of sections, found nothing (null)")
            self.display_order = item_ids
            return
        if not isinstance(sections, list) or not sections:
            found = "an empty list" if isinstance(sections, list) else _type_name(sections)
            self.error(("sections",), f"expected a list of sections, found {found}")
            self.display_order = item_ids
            return
        section_of: dict[str, tuple[str, int]] = {}
        section_ids: dict[str, int] = {}
        note_ids: dict[str, tuple] = {}
        for s_index, section in enumerate(sections):
            path = ("sections", s_index)
            if not self.check_mapping(path, section, SECTION_KEYS, required=("id", "items")):
                continue
            section_id = section.get("id")
            if "id" in section and self.check_id(
                (*path, "id"), section_id, NAME_ID, "lowercase letters, digits and '_'"
            ):
                if section_id in section_ids:
                    first = self.line_of(("sections", section_ids[section_id], "id"))
                    self.error(
                        (*path, "id"),
                        f"duplicate section id {section_id!r} (first defined on line {first})",
                    )
                else:
                    section_ids[section_id] = s_index
            for key in ("title", "preamble"):
                if key in section:
                    self.check_text((*path, key), section[key])
            if "notes" in section:
                listed_items = section.get("items") if isinstance(section.get("items"), list) else []
                self.check_notes((*path, "notes"), section["notes"], listed_items, note_ids)
            if "items" not in section:
                continue
            listed = section["items"]
            if not isinstance(listed, list) or not listed:
                found = "an empty list" if isinstance(listed, list) else _type_name(listed)
                self.error((*path, "items"), f"expected a list of item ids, found {found}")
                continue
            label = section_id if isinstance(section_id, str) else f"#{s_index + 1}"
            for i, ref in enumerate(listed):
                if not isinstance(ref, str):
                    self.error((*path, "items", i), f"expected an item id, found {_type_name(ref)}")
                elif ref not in self.items:
                    self.error((*path, "items", i), f"unknown item {ref!r}{_did_you_mean(ref, item_ids)}")
                elif ref in section_of:
                    other, other_index = section_of[ref]
                    where = "earlier in this section" if other == label else f"in section {other!r}"
                    self.error(
                        (*path, "items", i),
                        f"item {ref!r} is already {where} "
                        f"(line {self.line_of(other_index)}); an item belongs to one section",
                    )
                else:
                    section_of[ref] = (label, (*path, "items", i))  # type: ignore[assignment]
                    self.display_order.append(ref)
        for item_id, (index, _) in self.items.items():
            if item_id not in section_of:
                self.error(
                    ("items", index, "id"),
                    f"item {item_id!r} is in no section; add it to a section's items",
                )
                self.display_order.append(item_id)

    def check_branching(self) -> None:
        position = {item_id: i for i, item_id in enumerate(self.display_order)}
        for item_id, (index, item) in self.items.items():
            source = item.get("show_if")
            if not isinstance(source, str) or not source.strip():
                continue
            path = ("items", index, "show_if")
            try:
                expr = expressions.parse_expression(source)
            except expressions.ExpressionError as exc:
                self.error(path, f"cannot parse show_if: {exc}")
                continue
            for ref in expressions.item_ids(expr):
                if ref == item_id:
                    self.error(path, f"show_if of {item_id!r} refers to the item itself")
                elif ref not in self.items:
                    self.error(
                        path,
                        f"show_if refers to unknown item {ref!r}{_did_you_mean(ref, list(self.items))}",
                    )
                elif position.get(ref, -1) > position.get(item_id, -1):
                    self.error(
                        path,
                        f"show_if refers to {ref!r}, which is shown after {item_id!r}; "
                        "branching may only depend on earlier items",
                    )
            for name, op, literals in expressions.comparisons(expr):
                if name.id in self.items and name.id != item_id:
                    self.check_compared_values(path, name.id, op, literals)

    def check_compared_values(self, path: tuple, ref: str, op: str, literals: tuple) -> None:
        """A show_if that compares a coded item with a code it cannot take is a typo."""
        _, target = self.items[ref]
        target_type = target.get("type", "likert" if "scale" in target else None)
        if op not in ("==", "!=", "in", "not in"):
            return
        if target_type in ("single", "multiple") and isinstance(target.get("choices"), list):
            codes = {str(c.get("value")) for c in target["choices"] if isinstance(c, dict)}
            for literal in literals:
                if code_text(literal.value) not in codes:
                    self.error(
                        path,
                        f"show_if compares {ref!r} with {literal.to_text()}, which is "
                        f"not one of its choice values ({', '.join(sorted(codes))})",
                    )
        elif target_type == "likert":
            values = self.scale_values(target.get("scale"))
            if values:
                codes = {str(v) for v in values} | self.nonsubstantive_codes(target.get("scale"))
                for literal in literals:
                    if code_text(literal.value) not in codes:
                        self.error(
                            path,
                            f"show_if compares {ref!r} with {literal.to_text()}, "
                            f"which is not a value of scale {target.get('scale')!r}",
                        )

    def check_subscales(self) -> None:
        for sub_id, path, sub in self.named_entries("subscales", "subscale"):
            if sub_id in self.items:
                self.error(
                    path,
                    f"subscale id {sub_id!r} is also an item id; scores and items "
                    "share one table, so the names must differ",
                    key=True,
                )
            self.subscale_ids.add(sub_id)
            if not self.check_mapping(path, sub, SUBSCALE_KEYS, required=("items",)):
                continue
            if "label" in sub:
                self.check_text((*path, "label"), sub["label"])
            members: list[str] = []
            if "items" in sub:
                members = self.check_id_list((*path, "items"), sub["items"], self.items, "item")
                for i, ref in enumerate(sub["items"] if isinstance(sub["items"], list) else []):
                    if ref in members:
                        _, target = self.items[ref]
                        target_type = target.get("type", "likert" if "scale" in target else None)
                        if target_type not in SCORED_TYPES and target_type is not None:
                            self.error(
                                (*path, "items", i),
                                f"item {ref!r} is {target_type}; only "
                                f"{', '.join(SCORED_TYPES)} items can be scored",
                            )
                        elif target.get("identifier") is True:
                            self.error(
                                (*path, "items", i),
                                f"item {ref!r} is an identifier, which intake drops; it cannot be scored",
                            )
                self.check_common_range(path, members)
                if len(members) == 1:
                    self.warn(
                        (*path, "items"),
                        "a subscale of one item is scored, but `reliability` (alpha, omega) needs "
                        "at least two items and will refuse it",
                    )
            if "method" in sub:
                self.check_method((*path, "method"), sub["method"])
            if "min_valid" in sub:
                self.check_min_valid((*path, "min_valid"), sub["min_valid"], len(members))

    def check_common_range(self, path: tuple, members: list[str]) -> None:
        ranges = set()
        for ref in members:
            _, target = self.items[ref]
            if "scale" in target:
                if self.scale_values(target["scale"]):  # an unknown scale is reported already
                    ranges.add(("scale", str(target["scale"])))
            else:
                ranges.add(("range", str(target.get("min")), str(target.get("max"))))
        if len(ranges) > 1:
            self.warn(
                (*path, "items"),
                "the items use different scales or ranges; a mean or sum mixes their units",
            )

    def check_min_valid(self, path: tuple, value: object, n_items: int) -> None:
        if _is_int(value):
            if value < 1:
                self.error(path, f"min_valid must be at least 1, found {value}")
            elif n_items and value > n_items:
                self.error(path, f"min_valid {value} is larger than the subscale's {n_items} items")
        elif isinstance(value, float) and math.isfinite(value):
            if not 0 < value <= 1:
                self.error(
                    path,
                    f"min_valid {value} is neither a whole number of items nor a proportion in (0, 1]",
                )
        else:
            self.error(
                path,
                f"expected a number of items or a proportion in (0, 1], found {_type_name(value)}",
            )

    def check_composites(self) -> None:
        for comp_id, path, comp in self.named_entries("composites", "composite"):
            if comp_id in self.items or comp_id in self.subscale_ids:
                kind = "an item" if comp_id in self.items else "a subscale"
                self.error(path, f"composite id {comp_id!r} is also {kind} id", key=True)
            if not self.check_mapping(path, comp, COMPOSITE_KEYS, required=("of",)):
                continue
            if "label" in comp:
                self.check_text((*path, "label"), comp["label"])
            if "of" in comp:
                self.check_id_list((*path, "of"), comp["of"], sorted(self.subscale_ids), "subscale")
            if "method" in comp:
                self.check_method((*path, "method"), comp["method"])
