"""The instrument model: an instrument, its items, scales, sections, subscales and composites.

These frozen dataclasses are what every later stage reads. They are built
only by :mod:`sdt_survey.instrument.load` from a definition that passed
:mod:`sdt_survey.instrument.validate`.
"""

from __future__ import annotations

import importlib
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..errors import SdtSurveyError
from . import expressions, fingerprint

SCHEMA_VERSION = 1
ITEM_TYPES = ("likert", "integer", "number", "slider", "single", "multiple", "text", "date")
#: Item types a subscale may score: a slider scores as the number it records.
SCORED_TYPES = ("likert", "integer", "number", "slider")
#: Item types that record a number within ``min`` and ``max`` (a slider also on its ``step`` grid).
NUMERIC_TYPES = ("integer", "number", "slider")
SCORING_METHODS = ("mean", "sum")

# Platforms an item may carry an alias for (its column name there). The platform registry
# (sdt_survey.platforms, a layer above) registers each platform's key when it loads, so the names
# are written once, in the registry, and this layer never imports the layer above it.
_alias_targets: list[str] = []
_REGISTRY = "sdt_survey.platforms"


def register_alias_target(name: str) -> None:
    """Accept ``name`` as a key of an item's ``aliases`` (called by the platform registry)."""
    if name not in _alias_targets:
        _alias_targets.append(name)


def alias_targets() -> tuple[str, ...]:
    """The keys an item's ``aliases`` may use, in the registry's order.

    Examples
    --------
    >>> import sdt_survey
    >>> alias_targets()
    ('redcap', 'qualtrics', 'xlsform', 'reproschema', 'html', 'spss')
    """
    if not _alias_targets:
        # Nothing has imported the registry yet (a program that loads an instrument first): load it
        # by name. This layer never imports the layer above statically (docs/architecture.md).
        importlib.import_module(_REGISTRY)
    return tuple(_alias_targets)


def __getattr__(name: str) -> Any:
    # ALIAS_TARGETS was a constant; it is now what the registry registered.
    if name == "ALIAS_TARGETS":
        return alias_targets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Text:
    """A human-readable text in one or more languages.

    ``str(text)`` is the default language; :meth:`get` picks another.
    """

    translations: Mapping[str, str]
    default: str

    def get(self, language: str | None = None) -> str:
        """The text in ``language`` (the default language when ``None``)."""
        if language is None:
            return self.translations[self.default]
        if language not in self.translations:
            known = ", ".join(self.translations)
            raise SdtSurveyError(f"no {language!r} text; this text has: {known}")
        return self.translations[language]

    def __str__(self) -> str:
        return self.get()

    def to_yaml(self) -> str | dict[str, str]:
        if list(self.translations) == [self.default]:
            return self.translations[self.default]
        return dict(self.translations)


@dataclass(frozen=True)
class NonSubstantive:
    """A choice shown with a scale that is no position on it ("don't know", "prefer not to say").

    Respondents see it as one more choice; scoring reads it as a missing value
    with ``reason`` (unlike a scale's ``missing_codes``, which are never shown).
    """

    value: int | str
    label: Text
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label.to_yaml(), "reason": self.reason}


@dataclass(frozen=True)
class Scale:
    """A named response scale: ordered integer codes with labels.

    ``nonsubstantive`` lists the choices offered after the scale's values that
    are scored as missing, each with its reason.
    """

    id: str
    values: tuple[int, ...]
    labels: tuple[Text, ...]
    missing_codes: Mapping[int, str] = field(default_factory=dict)
    nonsubstantive: tuple[NonSubstantive, ...] = ()

    @property
    def choice_values(self) -> tuple[int | str, ...]:
        """Every code a respondent can choose: the values, then the non-substantive choices."""
        return (*self.values, *(choice.value for choice in self.nonsubstantive))

    @property
    def choice_labels(self) -> tuple[Text, ...]:
        """The labels of :attr:`choice_values`, in the same order."""
        return (*self.labels, *(choice.label for choice in self.nonsubstantive))

    @property
    def nonsubstantive_reasons(self) -> dict[int | str, str]:
        """Code -> reason of each non-substantive choice."""
        return {choice.value: choice.reason for choice in self.nonsubstantive}

    @property
    def min(self) -> int:
        return min(self.values)

    @property
    def max(self) -> int:
        return max(self.values)

    @property
    def midpoint(self) -> float:
        return (self.min + self.max) / 2

    @property
    def is_symmetric(self) -> bool:
        """Whether reversing (min + max - x) maps every value onto a value."""
        values = set(self.values)
        return all(self.min + self.max - v in values for v in values)

    def label_for(self, value: int, language: str | None = None) -> str:
        return self.labels[self.values.index(value)].get(language)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "values": list(self.values),
            "labels": [label.to_yaml() for label in self.labels],
        }
        if self.missing_codes:
            out["missing_codes"] = dict(self.missing_codes)
        if self.nonsubstantive:
            out["nonsubstantive"] = [choice.to_dict() for choice in self.nonsubstantive]
        return out


@dataclass(frozen=True)
class Choice:
    """One option of a ``single`` or ``multiple`` item.

    ``value`` is an integer code or an ODK-style name (letters, digits, ``_``,
    ``-`` and ``.``, e.g. ``dont-know``).
    """

    value: int | str
    label: Text


@dataclass(frozen=True)
class Item:
    """One question.

    ``scale`` is the resolved :class:`Scale` of a likert item; ``show_if`` the
    parsed branching expression (``None`` when always shown); ``section`` the id
    of the section that displays it. ``hint`` is help text shown under the
    question; ``identifier`` marks an item that identifies the respondent (a
    name, an email): dropped on intake or pseudonymized. A ``slider`` records a
    number from ``min`` to ``max`` on a grid of ``step``; ``anchors`` label its
    left, (middle,) right ends.
    """

    id: str
    type: str
    text: Text | None = None
    scale: Scale | None = None
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    reverse: bool = False
    required: bool = False
    show_if: expressions.Expression | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    section: str = ""
    hint: Text | None = None
    identifier: bool = False
    step: float | None = None
    anchors: tuple[Text, ...] = ()

    @property
    def is_numeric(self) -> bool:
        """Whether the item records a number within ``min`` and ``max`` (integer, number, slider)."""
        return self.type in NUMERIC_TYPES

    @property
    def is_scored(self) -> bool:
        """Whether the item can enter a subscale score (an identifier never does: intake drops it)."""
        return self.type in SCORED_TYPES and not self.identifier

    @property
    def value_range(self) -> tuple[float | None, float | None]:
        """Smallest and largest valid answer (``None`` where unbounded)."""
        if self.scale is not None:
            return self.scale.min, self.scale.max
        if self.choices and all(isinstance(c.value, int) for c in self.choices):
            codes = [int(c.value) for c in self.choices]
            return min(codes), max(codes)
        return self.min, self.max

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.text is not None:
            out["text"] = self.text.to_yaml()
        if self.hint is not None:
            out["hint"] = self.hint.to_yaml()
        out["type"] = self.type
        if self.scale is not None:
            out["scale"] = self.scale.id
        if self.choices:
            out["choices"] = [{"value": c.value, "label": c.label.to_yaml()} for c in self.choices]
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.step is not None:
            out["step"] = self.step
        if self.anchors:
            out["anchors"] = [anchor.to_yaml() for anchor in self.anchors]
        if self.identifier:
            out["identifier"] = True
        if self.reverse:
            out["reverse"] = True
        out["required"] = self.required
        if self.show_if is not None:
            out["show_if"] = self.show_if.to_text()
        if self.aliases:
            out["aliases"] = dict(self.aliases)
        return out


@dataclass(frozen=True)
class Note:
    """Descriptive text shown between items: before the item ``before``, or closing its section."""

    id: str
    text: Text
    before: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text.to_yaml()}
        if self.before is not None:
            out["before"] = self.before
        return out


@dataclass(frozen=True)
class Section:
    """An ordered group of items shown together, with a title, a preamble and notes between items."""

    id: str
    items: tuple[str, ...]
    title: Text | None = None
    preamble: Text | None = None
    notes: tuple[Note, ...] = ()

    def notes_before(self, item_id: str | None) -> tuple[Note, ...]:
        """The notes shown just before ``item_id`` (``None``: the notes closing the section).

        Examples
        --------
        >>> text = Text({"en": "About your week"}, "en")
        >>> section = Section("s", ("a", "b"), notes=(Note("n1", text, before="b"), Note("n2", text)))
        >>> [n.id for n in section.notes_before("b")], [n.id for n in section.notes_before(None)]
        (['n1'], ['n2'])
        """
        return tuple(note for note in self.notes if note.before == item_id)

    def layout(self) -> list[tuple[str, Note | str]]:
        """The section in display order: ``("note", Note)`` and ``("item", item id)`` entries."""
        out: list[tuple[str, Note | str]] = []
        for item_id in self.items:
            out += [("note", note) for note in self.notes_before(item_id)]
            out.append(("item", item_id))
        out += [("note", note) for note in self.notes_before(None)]
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.title is not None:
            out["title"] = self.title.to_yaml()
        if self.preamble is not None:
            out["preamble"] = self.preamble.to_yaml()
        out["items"] = list(self.items)
        if self.notes:
            out["notes"] = [note.to_dict() for note in self.notes]
        return out


@dataclass(frozen=True)
class Subscale:
    """A scored set of items.

    ``min_valid`` is as written (a count, or a proportion in (0, 1]);
    ``min_items`` is the number of answered items it requires.
    """

    id: str
    items: tuple[str, ...]
    method: str = "mean"
    min_valid: int | float | None = None
    label: Text | None = None

    @property
    def min_items(self) -> int:
        return min_items_required(self.min_valid, len(self.items))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.label is not None:
            out["label"] = self.label.to_yaml()
        out["items"] = list(self.items)
        out["method"] = self.method
        if self.min_valid is not None:
            out["min_valid"] = self.min_valid
        return out


@dataclass(frozen=True)
class Composite:
    """A score made of subscale scores (e.g. overall need satisfaction)."""

    id: str
    of: tuple[str, ...]
    method: str = "mean"
    label: Text | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.label is not None:
            out["label"] = self.label.to_yaml()
        out["of"] = list(self.of)
        out["method"] = self.method
        return out


def min_items_required(min_valid: int | float | None, n_items: int) -> int:
    """Answered items a subscale needs under its ``min_valid`` rule.

    An integer is a count; a float in (0, 1] is a proportion of the items,
    rounded up (0.75 of 4 items = 3, 0.75 of 6 items = 5). ``None`` means all.

    Examples
    --------
    >>> min_items_required(3, 4), min_items_required(0.75, 6), min_items_required(None, 4)
    (3, 5, 4)
    """
    if min_valid is None:
        return n_items
    if isinstance(min_valid, float):
        # The tolerance keeps 0.75 * 4 = 3.0000000000000004 from rounding up to 4.
        return max(1, math.ceil(min_valid * n_items - 1e-9))
    return int(min_valid)


@dataclass(frozen=True)
class Instrument:
    """A validated instrument definition.

    Build one with :func:`load_instrument` or :func:`parse_instrument`.
    """

    id: str
    version: str
    items: tuple[Item, ...]
    scales: Mapping[str, Scale]
    sections: tuple[Section, ...]
    subscales: Mapping[str, Subscale]
    composites: Mapping[str, Composite] = field(default_factory=dict)
    languages: tuple[str, ...] = ("en",)
    title: Text | None = None
    description: Text | None = None
    citation: str | None = None
    license: str | None = None
    schema_version: int = SCHEMA_VERSION
    source: str | None = None

    # -- lookups -------------------------------------------------------------
    def item(self, item_id: str) -> Item:
        """The item with id ``item_id``."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"{self.id} has no item {item_id!r}")

    @property
    def item_ids(self) -> list[str]:
        """Item ids in definition order."""
        return [item.id for item in self.items]

    @property
    def display_order(self) -> list[str]:
        """Item ids in the order respondents see them (sections in order)."""
        return [item_id for section in self.sections for item_id in section.items]

    def subscale_items(self, subscale_id: str) -> list[Item]:
        """The items of a subscale, in the subscale's order."""
        return [self.item(item_id) for item_id in self.subscales[subscale_id].items]

    @property
    def reverse_keyed(self) -> list[str]:
        """Ids of the reverse-keyed items."""
        return [item.id for item in self.items if item.reverse]

    @property
    def identifier_items(self) -> list[str]:
        """Ids of the items marked ``identifier: true`` (dropped or pseudonymized on intake)."""
        return [item.id for item in self.items if item.identifier]

    def content_hash(self) -> str:
        """SHA-256 of the definition's structure (items, types, codes, keys, branching, scores).

        Wording is not part of it: a translation keeps the hash. See
        :mod:`sdt_survey.instrument.fingerprint`.
        """
        return fingerprint.content_hash(self)

    @property
    def stamp(self) -> str:
        """``id@version#hash``: what every export records of this instrument."""
        return fingerprint.instrument_stamp(self)

    @property
    def is_proprietary(self) -> bool:
        return self.license == "proprietary"

    @property
    def items_without_text(self) -> list[str]:
        """Items whose wording is not bundled (proprietary keys)."""
        return [item.id for item in self.items if item.text is None]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    # -- outputs -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The definition in the YAML format (round-trips through :func:`parse_instrument`)."""
        out: dict[str, Any] = {"schema_version": self.schema_version, "id": self.id}
        out["version"] = self.version
        for key in ("title", "description"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.to_yaml()
        out["languages"] = list(self.languages)
        if self.citation is not None:
            out["citation"] = self.citation
        if self.license is not None:
            out["license"] = self.license
        out["scales"] = {sid: scale.to_dict() for sid, scale in self.scales.items()}
        out["items"] = [item.to_dict() for item in self.items]
        out["sections"] = [section.to_dict() for section in self.sections]
        out["subscales"] = {sid: sub.to_dict() for sid, sub in self.subscales.items()}
        if self.composites:
            out["composites"] = {cid: comp.to_dict() for cid, comp in self.composites.items()}
        return out

    def to_frame(self, language: str | None = None) -> pd.DataFrame:
        """One row per item: section, type, range, keying, subscale, branching, text.

        Examples
        --------
        >>> import sdt_survey
        >>> frame = sdt_survey.load_instrument("bpn-residency").to_frame()
        >>> frame.loc[frame["reverse"], "item"].tolist()
        ['as4', 'rs4', 'cs4']
        """
        import pandas as pd

        subscale_of: dict[str, list[str]] = {}
        for sub in self.subscales.values():
            for item_id in sub.items:
                subscale_of.setdefault(item_id, []).append(sub.id)
        order = {item_id: i for i, item_id in enumerate(self.display_order)}
        rows = []
        for item in sorted(self.items, key=lambda it: order[it.id]):
            low, high = item.value_range
            rows.append(
                {
                    "item": item.id,
                    "section": item.section,
                    "type": item.type,
                    "scale": item.scale.id if item.scale else None,
                    "min": low,
                    "max": high,
                    "reverse": item.reverse,
                    "required": item.required,
                    "subscale": ", ".join(subscale_of.get(item.id, [])) or None,
                    "show_if": item.show_if.to_text() if item.show_if else None,
                    "text": item.text.get(language) if item.text else None,
                }
            )
        return pd.DataFrame(rows)

    def summary(self, language: str | None = None) -> str:
        """A readable description: items, keys, subscales, composites, scales."""
        language = language or self.default_language
        if language not in self.languages:
            raise SdtSurveyError(
                f"{self.id} has no {language!r} texts; its languages are {', '.join(self.languages)}"
            )
        lines = [f"{self.id} {self.version}" + (f": {self.title.get(language)}" if self.title else "")]
        if self.description:
            lines.append(_wrap(self.description.get(language), indent="  "))
        lines.append(f"  languages: {', '.join(self.languages)} (default {self.default_language})")
        lines.append(f"  license: {self.license or 'not stated'}")
        if self.citation:
            lines.append(f"  citation: {self.citation}")
        n_rev = len(self.reverse_keyed)
        lines.append(
            f"  {plural(len(self.items), 'item')}, {plural(len(self.subscales), 'subscale')}, "
            f"{plural(len(self.composites), 'composite')}, {n_rev} reverse-keyed"
        )
        lines.append("")
        lines.append("Scales")
        for scale in self.scales.values():
            pairs = ", ".join(
                f"{v} = {label.get(language)}" for v, label in zip(scale.values, scale.labels, strict=True)
            )
            lines.append(f"  {scale.id}: {pairs}")
            if scale.missing_codes:
                codes = ", ".join(f"{c} = {why}" for c, why in scale.missing_codes.items())
                lines.append(f"    missing codes: {codes}")
            if scale.nonsubstantive:
                shown = ", ".join(
                    f"{c.value} = {c.label.get(language)} ({c.reason})" for c in scale.nonsubstantive
                )
                lines.append(f"    scored as missing: {shown}")
        lines.append("")
        lines.append("Items (R = reverse-keyed, * = required)")
        by_id = {item.id: item for item in self.items}
        width = max(12, *(len(item.id) for item in self.items))
        for section in self.sections:
            title = f": {section.title.get(language)}" if section.title else ""
            lines.append(f"  [{section.id}{title}]")
            for _, entry in section.layout():
                if isinstance(entry, Note):
                    lines.append(_wrap(f"note {entry.id}: {entry.text.get(language)}", indent="    "))
                    continue
                item = by_id[entry]
                kind = f"likert {item.scale.id}" if item.scale else item.type
                if item.is_numeric and (item.min is not None or item.max is not None):
                    kind += f" {_num(item.min)}..{_num(item.max)}"
                if item.step is not None:
                    kind += f" step {_num(item.step)}"
                if item.identifier:
                    kind += " (identifier)"
                if item.choices:
                    kind += " (" + ", ".join(f"{c.value}={c.label.get(language)}" for c in item.choices) + ")"
                flags = ("R" if item.reverse else " ") + ("*" if item.required else " ")
                text = item.text.get(language) if item.text else "(text not bundled)"
                lines.append(f"  {flags} {item.id:<{width}} {kind}")
                lines.append(_wrap(text, indent="      "))
                if item.hint is not None:
                    lines.append(_wrap(f"hint: {item.hint.get(language)}", indent="      "))
                if item.show_if is not None:
                    lines.append(f"      shown if: {item.show_if.to_text()}")
        lines.append("")
        lines.append("Subscales")
        for sub in self.subscales.values():
            label = f" ({sub.label.get(language)})" if sub.label else ""
            keyed = [f"{i}(R)" if by_id[i].reverse else i for i in sub.items]
            lines.append(f"  {sub.id}{label}")
            lines.append(
                f"      {sub.method} of {', '.join(keyed)}; "
                f"needs {sub.min_items} of {len(sub.items)} answered"
            )
        if self.composites:
            lines.append("")
            lines.append("Composites")
            for comp in self.composites.values():
                label = f" ({comp.label.get(language)})" if comp.label else ""
                lines.append(f"  {comp.id}{label}: {comp.method} of {', '.join(comp.of)}")
        return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    """``plural(1, "item")`` is "1 item", ``plural(3, "item")`` is "3 items"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _wrap(text: str, indent: str, width: int = 88) -> str:
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent)


def code_text(value: object) -> str:
    """A value as the text of a code or number: 1, 1.0 and "1" all read as "1"; 2.5 as "2.5".

    Examples
    --------
    >>> code_text(1.0), code_text(-99), code_text(2.5), code_text("a")
    ('1', '-99', '2.5', 'a')
    """
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
