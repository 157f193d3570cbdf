"""Loading instrument definitions: bundled names, files and YAML text.

Loading validates the whole file (:mod:`sdt_survey.instrument.validate`) and
reports every problem at once; the model objects
(:mod:`sdt_survey.instrument.model`) are built only from a file that passed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import InstrumentError, Problem, SdtSurveyError
from . import expressions
from ._yaml import load_located
from .model import (
    Choice,
    Composite,
    Instrument,
    Item,
    NonSubstantive,
    Note,
    Scale,
    Section,
    Subscale,
    Text,
)
from .validate import _Validator

#: The instruments shipped with the package.
BUNDLED_DIR = Path(__file__).parent.parent / "instruments"


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
    return _InstrumentBuilder(validator).build(), problems


class _InstrumentBuilder:
    """Builds the model from a definition that passed validation, relying on everything checked."""

    def __init__(self, checked: _Validator):
        self.data = checked.data
        self.languages = checked.languages
        self.items = checked.items
        self.doc = checked.doc

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
                nonsubstantive=tuple(
                    NonSubstantive(c["value"], self.text(c["label"]), c["reason"])  # type: ignore[arg-type]
                    for c in raw.get("nonsubstantive") or []
                ),
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
                    notes=tuple(
                        Note(n["id"], self.text(n["text"]), n.get("before"))  # type: ignore[arg-type]
                        for n in raw.get("notes") or []
                    ),
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
                    hint=self.text(raw.get("hint")),
                    identifier=bool(raw.get("identifier", False)),
                    step=raw.get("step", 1) if item_type == "slider" else None,
                    anchors=tuple(self.text(a) for a in raw.get("anchors") or []),  # type: ignore[misc]
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
