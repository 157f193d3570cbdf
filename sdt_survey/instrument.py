"""Instrument definitions: the YAML format, its validation, and the model.

An instrument definition is the single source of truth for a survey: its
items, response scales, reverse keys, branching, sections, subscales and
composites. Every later stage (export, scoring, reliability, factor analysis,
reports) reads an :class:`Instrument` rather than guessing.

The format is documented in ``docs/instrument-format.md``. Loading validates
the whole file and reports every problem at once, each located at the line and
column of the offending YAML node; the model objects are built only from a
file that passed.

Examples
--------
>>> import sdt_survey
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> bpn.subscales["relatedness_satisfaction"].items
('rs1', 'rs2', 'rs3', 'rs4')
>>> [item.id for item in bpn.items if item.reverse]
['as4', 'rs4', 'cs4']
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import expressions
from ._yaml import LocatedDocument, format_path, load_located
from .errors import InstrumentError, Problem, SdtSurveyError

SCHEMA_VERSION = 1
ITEM_TYPES = ("likert", "integer", "number", "single", "multiple", "text", "date")
SCORED_TYPES = ("likert", "integer", "number")
SCORING_METHODS = ("mean", "sum")
#: Export targets an item may carry an alias for (its column name there).
ALIAS_TARGETS = ("redcap", "qualtrics", "xlsform", "reproschema", "html", "spss")

INSTRUMENT_ID = re.compile(r"^[a-z][a-z0-9-]*$")
ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
NAME_ID = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_CODE = re.compile(r"^[A-Za-z0-9_]+$")
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
SCALE_KEYS = ("values", "labels", "missing_codes")
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
)
CHOICE_KEYS = ("value", "label")
SECTION_KEYS = ("id", "title", "preamble", "items")
SUBSCALE_KEYS = ("label", "items", "method", "min_valid")
COMPOSITE_KEYS = ("label", "of", "method")

BUNDLED_DIR = Path(__file__).parent / "instruments"


# --------------------------------------------------------------------------- model


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
class Scale:
    """A named response scale: ordered integer codes with labels."""

    id: str
    values: tuple[int, ...]
    labels: tuple[Text, ...]
    missing_codes: Mapping[int, str] = field(default_factory=dict)

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
        return out


@dataclass(frozen=True)
class Choice:
    """One option of a ``single`` or ``multiple`` item."""

    value: int | str
    label: Text


@dataclass(frozen=True)
class Item:
    """One question.

    ``scale`` is the resolved :class:`Scale` of a likert item; ``show_if`` the
    parsed branching expression (``None`` when always shown); ``section`` the id
    of the section that displays it.
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

    @property
    def is_scored(self) -> bool:
        """Whether the item can enter a subscale score."""
        return self.type in SCORED_TYPES

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
        out["type"] = self.type
        if self.scale is not None:
            out["scale"] = self.scale.id
        if self.choices:
            out["choices"] = [{"value": c.value, "label": c.label.to_yaml()} for c in self.choices]
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.reverse:
            out["reverse"] = True
        out["required"] = self.required
        if self.show_if is not None:
            out["show_if"] = self.show_if.to_text()
        if self.aliases:
            out["aliases"] = dict(self.aliases)
        return out


@dataclass(frozen=True)
class Section:
    """An ordered group of items shown together, with a title and preamble."""

    id: str
    items: tuple[str, ...]
    title: Text | None = None
    preamble: Text | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.title is not None:
            out["title"] = self.title.to_yaml()
        if self.preamble is not None:
            out["preamble"] = self.preamble.to_yaml()
        out["items"] = list(self.items)
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
        lines.append("")
        lines.append("Items (R = reverse-keyed, * = required)")
        by_id = {item.id: item for item in self.items}
        width = max(12, *(len(item.id) for item in self.items))
        for section in self.sections:
            title = f": {section.title.get(language)}" if section.title else ""
            lines.append(f"  [{section.id}{title}]")
            for item_id in section.items:
                item = by_id[item_id]
                kind = f"likert {item.scale.id}" if item.scale else item.type
                if item.type in ("integer", "number") and (item.min is not None or item.max is not None):
                    kind += f" {_num(item.min)}..{_num(item.max)}"
                if item.choices:
                    kind += " (" + ", ".join(f"{c.value}={c.label.get(language)}" for c in item.choices) + ")"
                flags = ("R" if item.reverse else " ") + ("*" if item.required else " ")
                text = item.text.get(language) if item.text else "(text not bundled)"
                lines.append(f"  {flags} {item.id:<{width}} {kind}")
                lines.append(_wrap(text, indent="      "))
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
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent)


# ------------------------------------------------------------------- loading API


def bundled_instruments() -> dict[str, Path]:
    """The instruments shipped with the package, by name.

    Returns
    -------
    dict of str -> pathlib.Path
        Name (as accepted by :func:`load_instrument`) to the YAML file; copy a
        file to start an instrument of your own.

    Examples
    --------
    >>> import sdt_survey
    >>> sorted(sdt_survey.bundled_instruments())[:2]
    ['bpn-residency', 'bpnsfs-keys']
    """
    return {path.stem: path for path in sorted(BUNDLED_DIR.glob("*.yaml"))}


def resolve_instrument_path(name_or_path: str | Path) -> Path:
    """The file behind a path or a bundled instrument name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_instruments()
    name = path.name[:-5] if path.name.endswith(".yaml") else path.name
    if str(name_or_path) == path.name and name in bundled:
        return bundled[name]
    if path.exists():
        raise SdtSurveyError(f"{name_or_path}: not a file")
    hint = difflib.get_close_matches(name, list(bundled), n=1)
    suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
    raise SdtSurveyError(
        f"{name_or_path}: no such file, and no bundled instrument of that name.{suggestion} "
        f"Bundled instruments: {', '.join(bundled)}."
    )


def load_instrument(name_or_path: str | Path) -> Instrument:
    """Load and validate an instrument definition.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A YAML file, or the name of a bundled instrument (see
        :func:`bundled_instruments`).

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentError
        Listing every problem in the file, each located by line and column.
    SdtSurveyError
        When the file does not exist or cannot be read.

    Examples
    --------
    >>> import sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> bpn.id, bpn.version, len(bpn.items)
    ('bpn-residency', '1.0.0', 24)
    """
    path = resolve_instrument_path(name_or_path)
    display = str(name_or_path) if Path(name_or_path).is_file() else str(path)
    instrument, problems = _load(path, display)
    if instrument is None:
        raise InstrumentError(problems)
    return instrument


def load_instruments(
    instruments: Instrument | str | Path | Sequence[Instrument | str | Path],
) -> tuple[Instrument, ...]:
    """Load one or several instruments that together form one survey.

    Accepts instruments, bundled names and paths; refuses an empty list and
    instruments whose item or score ids collide (see :func:`check_distinct`).
    """
    if isinstance(instruments, (Instrument, str, Path)):
        instruments = [instruments]
    loaded = tuple(i if isinstance(i, Instrument) else load_instrument(i) for i in instruments)
    if not loaded:
        raise SdtSurveyError("name at least one instrument")
    check_distinct(loaded)
    return loaded


def check_distinct(instruments: Sequence[Instrument]) -> None:
    """Refuse instruments whose item or score ids collide, naming both sources."""
    owner: dict[str, str] = {}
    for inst in instruments:
        for name in (*inst.item_ids, *inst.subscales, *inst.composites):
            if name in owner:
                other = owner[name]
                if other == inst.id:
                    raise SdtSurveyError(f"{inst.id} is named twice; name each instrument once")
                raise SdtSurveyError(
                    f"{name!r} is defined by both {other} and {inst.id}; "
                    "instruments combined in one survey need distinct item and score ids"
                )
            owner[name] = inst.id


def check_instrument(name_or_path: str | Path) -> tuple[Instrument | None, list[Problem]]:
    """Validate a definition without raising.

    Returns the instrument (``None`` if it has errors) and every problem found,
    warnings included. This is what ``sdt-survey validate`` runs.
    """
    path = resolve_instrument_path(name_or_path)
    display = str(name_or_path) if Path(name_or_path).is_file() else str(path)
    return _load(path, display)


def parse_instrument(text: str, filename: str = "<string>") -> Instrument:
    """Validate and build an instrument from YAML text.

    Examples
    --------
    >>> inst = parse_instrument('''
    ... schema_version: 1
    ... id: tiny
    ... version: "0.1.0"
    ... scales:
    ...   agree: {values: [1, 2, 3], labels: [Disagree, Neutral, Agree]}
    ... items:
    ...   - {id: q1, text: I feel welcome here., scale: agree}
    ...   - {id: q2, text: I feel like an outsider., scale: agree, reverse: true}
    ... subscales:
    ...   welcome: {items: [q1, q2], method: mean}
    ... ''')
    >>> inst.subscales["welcome"].min_items
    2
    """
    instrument, problems = _parse(text, filename)
    if instrument is None:
        raise InstrumentError(problems)
    return instrument


def _load(path: Path, display: str) -> tuple[Instrument | None, list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SdtSurveyError(f"{display}: cannot read the file: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                display,
                line,
                None,
                "",
                f"the file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
            )
        ]
    instrument, problems = _parse(text, display)
    if instrument is not None:
        instrument = _with_source(instrument, str(path))
        stem = path.name.removesuffix(".yaml").removesuffix(".yml")
        if stem != instrument.id:
            problems.append(
                Problem(
                    display,
                    None,
                    None,
                    "id",
                    f"the id {instrument.id!r} differs from the file name {path.name!r}",
                    severity="warning",
                )
            )
    return instrument, problems


def _with_source(instrument: Instrument, source: str) -> Instrument:
    from dataclasses import replace

    return replace(instrument, source=source)


def _parse(text: str, filename: str) -> tuple[Instrument | None, list[Problem]]:
    doc, problems = load_located(text, filename)
    if doc.data is None:
        return None, problems
    validator = _Validator(doc)
    validator.run()
    problems.extend(validator.problems)
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return validator.build(), problems


# -------------------------------------------------------------------- validation


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _did_you_mean(word: object, options: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    hits = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {hits[0]!r}?" if hits else ""


class _Validator:
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
                "`export --to redcap` will refuse it",
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

        for bound in ("min", "max"):
            if bound in item:
                value = item[bound]
                if item_type not in ("integer", "number"):
                    if item_type is not None:
                        self.error(
                            (*path, bound),
                            f"'{bound}' applies to integer and number items, not {item_type}",
                        )
                elif item_type == "integer" and not _is_int(value):
                    self.error((*path, bound), f"expected an integer, found {_type_name(value)}")
                elif not _is_number(value):
                    self.error((*path, bound), f"expected a number, found {_type_name(value)}")
        low, high = item.get("min"), item.get("max")
        if _is_number(low) and _is_number(high) and low > high:
            self.error((*path, "max"), f"max ({high}) is smaller than min ({low})")

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
                if not (_is_int(value) or (isinstance(value, str) and CHOICE_CODE.match(value))):
                    self.error(
                        (*path, i, "value"),
                        f"a choice value must be an integer or a code of "
                        f"letters, digits and '_', found {_type_name(value)}",
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
            if target not in ALIAS_TARGETS:
                self.error(
                    (*path, target),
                    f"unknown target {target!r}"
                    f"{_did_you_mean(target, ALIAS_TARGETS)} (one of {', '.join(ALIAS_TARGETS)})",
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
                codes = {str(v) for v in values}
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

    # -- building (only after a clean validation) ----------------------------
    def text(self, value: object) -> Text | None:
        if value is None:
            return None
        default = self.languages[0]
        if isinstance(value, str):
            return Text({default: value.strip()}, default)
        assert isinstance(value, dict)
        return Text({lang: value[lang].strip() for lang in self.languages}, default)

    def build(self) -> Instrument:
        data = self.data
        scales = {
            sid: Scale(
                id=sid,
                values=tuple(raw["values"]),
                labels=tuple(self.text(label) for label in raw["labels"]),  # type: ignore[misc]
                missing_codes=dict(raw.get("missing_codes") or {}),
            )
            for sid, raw in (data.get("scales") or {}).items()
        }
        if "sections" in data:
            sections = tuple(
                Section(
                    id=raw["id"],
                    items=tuple(raw["items"]),
                    title=self.text(raw.get("title")),
                    preamble=self.text(raw.get("preamble")),
                )
                for raw in data["sections"]
            )
        else:
            sections = (Section(id="main", items=tuple(self.items)),)
        section_of = {item_id: s.id for s in sections for item_id in s.items}
        items = []
        for raw in data["items"]:
            item_type = raw.get("type", "likert")
            show_if = raw.get("show_if")
            items.append(
                Item(
                    id=raw["id"],
                    type=item_type,
                    text=self.text(raw.get("text")),
                    scale=scales[raw["scale"]] if item_type == "likert" else None,
                    choices=tuple(
                        Choice(c["value"], self.text(c["label"]))  # type: ignore[arg-type]
                        for c in raw.get("choices") or []
                    ),
                    min=raw.get("min"),
                    max=raw.get("max"),
                    reverse=bool(raw.get("reverse", False)),
                    required=bool(raw.get("required", item_type == "likert")),
                    show_if=expressions.parse_expression(show_if) if show_if else None,
                    aliases=dict(raw.get("aliases") or {}),
                    section=section_of[raw["id"]],
                )
            )
        subscales = {
            sid: Subscale(
                id=sid,
                items=tuple(raw["items"]),
                method=raw.get("method", "mean"),
                min_valid=raw.get("min_valid"),
                label=self.text(raw.get("label")),
            )
            for sid, raw in (data.get("subscales") or {}).items()
        }
        composites = {
            cid: Composite(
                id=cid,
                of=tuple(raw["of"]),
                method=raw.get("method", "mean"),
                label=self.text(raw.get("label")),
            )
            for cid, raw in (data.get("composites") or {}).items()
        }
        return Instrument(
            id=data["id"],
            version=data["version"],
            items=tuple(items),
            scales=scales,
            sections=sections,
            subscales=subscales,
            composites=composites,
            languages=tuple(self.languages),
            title=self.text(data.get("title")),
            description=self.text(data.get("description")),
            citation=data.get("citation"),
            license=data.get("license"),
            schema_version=data["schema_version"],
            source=self.doc.filename,
        )


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


__all__ = [
    "ALIAS_TARGETS",
    "ITEM_TYPES",
    "SCHEMA_VERSION",
    "Choice",
    "Composite",
    "Instrument",
    "Item",
    "Scale",
    "Section",
    "Subscale",
    "Text",
    "bundled_instruments",
    "check_distinct",
    "check_instrument",
    "code_text",
    "format_path",
    "load_instrument",
    "load_instruments",
    "min_items_required",
    "parse_instrument",
]
