"""The platform-neutral survey: one or several instruments combined, ready for any platform.

:func:`build_survey` combines instruments (checking that their ids do not
collide, that a language is shared and that every item has wording) into a
:class:`Survey`; every platform's writer takes that survey. The helpers at
the end (:func:`html_line`, :func:`quote_without_escapes`) serve several
platforms' writers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape as escape_html
from pathlib import Path

from ..errors import SdtSurveyError
from ..instrument import Instrument, Item, Note, Section, Text, load_instruments, read_yaml_mapping


@dataclass(frozen=True)
class SurveySection:
    """A section of one instrument, with its items, as it appears in the combined survey."""

    instrument: Instrument
    section: Section
    items: tuple[Item, ...]

    def layout(self) -> list[Item | Note]:
        """The section's items and notes (descriptive text) in the order respondents see them."""
        by_id = {item.id: item for item in self.items}
        return [entry if isinstance(entry, Note) else by_id[entry] for _, entry in self.section.layout()]


def slider_anchors(item: Item, text: Callable[[Text | None], str]) -> tuple[str, str, str]:
    """A slider's (left, middle, right) labels, each through ``text``; ``""`` where it has none.

    Examples
    --------
    >>> from sdt_survey.instrument import Item, Text
    >>> ends = (Text({"en": "Low"}, "en"), Text({"en": "High"}, "en"))
    >>> slider_anchors(Item("s", "slider", anchors=ends), str)
    ('Low', '', 'High')
    """
    anchors = [text(anchor) for anchor in item.anchors]
    if len(anchors) == 2:
        return anchors[0], "", anchors[1]
    if len(anchors) == 3:
        return anchors[0], anchors[1], anchors[2]
    return "", "", ""


@dataclass
class Survey:
    """One or several instruments combined into one deployable survey.

    Attributes
    ----------
    instruments : tuple of Instrument
        In the order given.
    language : str
        The language of single-language targets, and the default of
        multi-language ones.
    languages : tuple of str
        Languages every instrument has (multi-language targets offer these).
    texts : dict
        Item wording supplied for this export only (``--texts``), by item id.
    """

    instruments: tuple[Instrument, ...]
    language: str
    languages: tuple[str, ...]
    texts: dict[str, Text] = field(default_factory=dict)

    @property
    def sections(self) -> list[SurveySection]:
        """Sections in display order, instrument by instrument."""
        out = []
        for inst in self.instruments:
            by_id = {item.id: item for item in inst.items}
            for section in inst.sections:
                out.append(SurveySection(inst, section, tuple(by_id[i] for i in section.items)))
        return out

    def section_name(self, section: SurveySection) -> str:
        """A name for a section that is unique across the survey (form, group or block name).

        The section id, or ``<instrument>_<section>`` (with ``-`` as ``_``) when
        two combined instruments use the same section id.
        """
        ids = [s.section.id for s in self.sections]
        if ids.count(section.section.id) == 1:
            return section.section.id
        return f"{section.instrument.id.replace('-', '_')}_{section.section.id}"

    @property
    def items(self) -> list[Item]:
        """Every item in display order."""
        return [item for section in self.sections for item in section.items]

    def instrument_of(self, item_id: str) -> Instrument:
        for inst in self.instruments:
            if item_id in inst.item_ids:
                return inst
        raise KeyError(item_id)

    def item_text(self, item: Item, language: str | None = None) -> str:
        """The wording of ``item`` in ``language`` (supplied texts first)."""
        text = self.texts.get(item.id, item.text)
        if text is None:  # build_survey refuses this; kept as a guard for direct construction
            raise SdtSurveyError(f"item {item.id!r} has no wording; supply it with texts=FILE")
        return text.get(language or self.language)

    def text(self, text: Text | None, language: str | None = None, default: str = "") -> str:
        """Any instrument text in ``language``, or ``default`` when the text is absent."""
        return default if text is None else text.get(language or self.language)

    @property
    def provenance(self) -> str:
        """``bpn-residency 1.0.0; continuity-exposure 1.0.0``: what the artifact was made from."""
        return "; ".join(f"{inst.id} {inst.version}" for inst in self.instruments)

    @property
    def stamp(self) -> str:
        """``bpn-residency@1.0.0#<sha256>``: each instrument's id, version and content hash.

        Every export writes it (docs/exporting.md); the drift check on intake
        reads it back from the data where the platform carries it.
        """
        return " ".join(inst.stamp for inst in self.instruments)

    @property
    def short_stamp(self) -> str:
        """The stamp with each hash cut to its first 12 hex digits, for a human to compare (paper)."""
        return " ".join(f"{inst.id}@{inst.version}#{inst.content_hash()[:12]}" for inst in self.instruments)

    @property
    def id(self) -> str:
        """A name for the combined survey: the instrument ids joined by ``+``."""
        return "+".join(inst.id for inst in self.instruments)

    @property
    def title(self) -> str:
        return " / ".join(self.text(inst.title, default=inst.id) for inst in self.instruments)

    def source_of(self, item: Item) -> str:
        """``bpn-residency 1.0.0``: the instrument and version an item comes from."""
        inst = self.instrument_of(item.id)
        return f"{inst.id} {inst.version}"


def read_texts(path: str | Path, languages: Sequence[str]) -> dict[str, dict[str, str]]:
    """Item wording from a YAML file: ``item_id: text`` or ``item_id: {en: ..., es: ...}``.

    A plain string is the text in the first of ``languages``.
    """
    doc = read_yaml_mapping(path, "texts file")
    texts: dict[str, dict[str, str]] = {}
    for item_id, value in doc.data.items():
        line, column = doc.position((item_id,))
        where = f"{path}:{line}:{column}: {item_id}"
        if isinstance(value, str) and value.strip():
            texts[str(item_id)] = {languages[0]: value.strip()}
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, str) and v.strip() for v in value.values())
        ):
            texts[str(item_id)] = {str(k): v.strip() for k, v in value.items()}
        else:
            raise SdtSurveyError(f"{where}: expected the item's text, or a map of language -> text")
    return texts


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def build_survey(
    instruments: Instrument | str | Path | Sequence[Instrument | str | Path],
    *,
    language: str | None = None,
    texts: str | Path | Mapping[str, str | Mapping[str, str]] | None = None,
) -> Survey:
    """Combine instruments into a survey, ready for any target.

    Parameters
    ----------
    instruments : Instrument, name, path, or a list of them
        Combined in the order given; item and score ids must not collide.
    language : str, optional
        The language to write (single-language targets) or to open in
        (multi-language targets). Default: the first language of the first
        instrument, which every instrument must have.
    texts : path or mapping, optional
        Item wording for items whose text is not bundled (proprietary keys
        such as ``bpnsfs-keys``), used for this export only.

    Raises
    ------
    SdtSurveyError
        When an item has no wording and none is supplied (naming the items),
        when ``language`` is missing from an instrument, or when ``texts``
        names unknown items.
    """
    loaded = load_instruments(instruments)
    shared = [lang for lang in loaded[0].languages if all(lang in inst.languages for inst in loaded)]
    chosen = language or loaded[0].default_language
    lacking = [inst.id for inst in loaded if chosen not in inst.languages]
    if lacking:
        raise SdtSurveyError(
            f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} no {chosen!r} texts; "
            f"languages every instrument has: {', '.join(shared) or 'none'} (choose one with language=LANG)"
        )
    raw_texts = read_texts(texts, [chosen]) if isinstance(texts, (str, Path)) else dict(texts or {})
    known = {item.id for inst in loaded for item in inst.items}
    unknown = sorted(set(raw_texts) - known)
    if unknown:
        raise SdtSurveyError(f"texts= names items that are not in the survey: {', '.join(unknown)}")
    supplied: dict[str, Text] = {}
    for item_id, value in raw_texts.items():
        translations = {chosen: value} if isinstance(value, str) else dict(value)
        supplied[item_id] = Text(translations, chosen if chosen in translations else next(iter(translations)))
    missing = [
        item.id
        for inst in loaded
        for item in inst.items
        if chosen not in (supplied[item.id].translations if item.id in supplied else {})
        and (item.text is None)
    ]
    if missing:
        owners = sorted({inst.id for inst in loaded for item in inst.items if item.id in missing})
        raise SdtSurveyError(
            f"{', '.join(owners)}: {len(missing)} items have no wording in this package "
            f"({_listing(missing)}); the licence does not allow bundling it. Supply the wording with "
            "texts=FILE (YAML: item_id: text, or item_id: {en: ..., es: ...}); it is used for this "
            "export only and never written back"
        )
    return Survey(loaded, chosen, tuple(shared) if chosen in shared else (chosen,), supplied)


def quote_without_escapes(text: str) -> str:
    """Quote a string for REDCap logic or XPath, which have no escapes.

    The text goes in the quote character it does not contain.
    """
    return f'"{text}"' if "'" in text else f"'{text}'"


def check_option_comparison(op: str, item: Item) -> None:
    """Raise unless ``op`` can compare an option of the multiple-choice ``item``: only == and != can."""
    if op not in ("==", "!="):
        raise SdtSurveyError(
            f"{op!r} cannot compare the options of the multiple-choice item {item.id!r}; "
            "use ==, !=, in or not in"
        )


#: Control characters that survive whitespace folding (NUL, BEL, ESC, DEL, C1 ...): never shown.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def html_line(text: str, where: str) -> str:
    """Text for an HTML-rendering platform label: one line, HTML-escaped, control characters refused.

    Runs of whitespace (line breaks and tabs too) become one space; ``&``,
    ``<`` and ``>`` become character references, so the platform shows the
    text and never takes it as markup.

    Parameters
    ----------
    text : str
    where : str
        What the text belongs to, for the error message (``item pb1``).

    Raises
    ------
    SdtSurveyError
        When the text holds a control character (NUL, ESC, ...), which no
        platform shows and which can corrupt the file.

    Examples
    --------
    >>> html_line("Agree <b>strongly</b>\\n& more", "item x")
    'Agree &lt;b&gt;strongly&lt;/b&gt; &amp; more'
    """
    found = _CONTROL.search(text)
    if found:
        raise SdtSurveyError(
            f"{where}: the text {text!r} holds the control character U+{ord(found.group()):04X}; "
            "remove it from the wording"
        )
    return escape_html(" ".join(text.split()), quote=False)


def _listing(ids: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


__all__ = [
    "Survey",
    "SurveySection",
    "build_survey",
    "check_option_comparison",
    "html_line",
    "quote_without_escapes",
    "read_texts",
]
