"""XLSForm: an .xlsx for ODK Collect, ODK Central, KoboToolbox and Enketo.

The workbook has the three standard sheets, ``survey``, ``choices`` and
``settings``. Each section of the survey is a ``begin group`` named
uniquely (:meth:`~sdt_survey.platforms.Survey.section_name`) with the
``field-list`` appearance, so a section is one screen (one page on the web
with ``style: pages``); its preamble is a ``note`` at the top of the group.
Every question is named by its item id, so ODK Central's CSV
(``needs-as1``) and Kobo's (``needs/as1``) read straight back into
:func:`sdt_survey.score`.

How each item type is written:

======================  =====================================================
item                    XLSForm question
======================  =====================================================
likert                  ``select_one <scale>`` with ``appearance: likert``;
                        one choice list per scale, values in their natural
                        order (reverse-keyed items too; scoring reverses them)
single / multiple       ``select_one`` / ``select_multiple`` of a list named
                        by the item id
integer / number        ``integer`` / ``decimal`` with a ``constraint``
                        (``. >= 0 and . <= 40``) and a ``constraint_message``
slider                  ``range`` with ``parameters: start=0 end=100 step=5``
                        (ODK shows a slider); its anchors join the hint
date                    ``date``
text                    ``text`` with ``appearance: multiline``
======================  =====================================================

A hint is the ``hint`` column; a section's notes are ``note`` rows where they
stand; a scale's non-substantive choices (``8``, Don't know) follow its
values in the choice list. Choice names such as ``dont-know`` are ODK names
as they are. XLSForm has no identifier flag: an ``identifier`` item is a
plain question (intake drops it from the data).

``show_if`` becomes ``relevant`` (:func:`relevant`); ``required`` is ``yes``.
Every language the combined instruments share gets its own columns
(``label::English (en)``, ``label::Spanish (es)``), and the form opens in the
survey's language (``settings.default_language``). ``settings.version`` and
a ``calculate`` field ``sdt_instruments``, stored with every submission,
record the instrument ids and versions.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from sdt_survey.platforms import build_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn.xlsx"
>>> result = write(build_survey("bpn-residency"), out)
>>> survey = pd.read_excel(out, sheet_name="survey", dtype=str)
>>> [c for c in survey.columns if c.startswith("label")]
['label::English (en)', 'label::Spanish (es)']
>>> pd.read_excel(out, sheet_name="settings", dtype=str).loc[0, "version"]
'bpn-residency 1.0.0'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .._spreadsheet_safe import force_text_cells
from ..errors import SdtSurveyError
from ..files import atomic_output
from ..instrument import Item, Scale, Text, code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .result import ExportResult
from .score_formulas import score_fields, xlsform_formula
from .survey import Survey, check_option_comparison, quote_without_escapes, slider_anchors
from .table import Claim, ResponseTable

#: English names of common ISO 639-1 languages, for XLSForm's ``Name (code)`` columns.
LANGUAGE_NAMES = {
    "ar": "Arabic",
    "bn": "Bengali",
    "ca": "Catalan",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "ht": "Haitian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "so": "Somali",
    "sv": "Swedish",
    "sw": "Swahili",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}

#: Constraint messages: (whole number, number, "from..to", "at least", "at most") per language.
CONSTRAINT_MESSAGES = {
    "en": ("Enter a whole number {range}.", "Enter a number {range}.", "from {min} to {max}",
           "of at least {min}", "of at most {max}"),
    "es": ("Introduzca un número entero {range}.", "Introduzca un número {range}.", "de {min} a {max}",
           "mayor o igual que {min}", "menor o igual que {max}"),
    "fr": ("Saisissez un nombre entier {range}.", "Saisissez un nombre {range}.", "de {min} à {max}",
           "supérieur ou égal à {min}", "inférieur ou égal à {max}"),
    "pt": ("Insira um número inteiro {range}.", "Insira um número {range}.", "de {min} a {max}",
           "maior ou igual a {min}", "menor ou igual a {max}"),
    "de": ("Geben Sie eine ganze Zahl {range} ein.", "Geben Sie eine Zahl {range} ein.",
           "von {min} bis {max}", "von mindestens {min}", "von höchstens {max}"),
}  # fmt: skip

#: The ``calculate`` field that stores the instrument ids and versions with each submission.
PROVENANCE_FIELD = "sdt_instruments"
#: A calculate stored with every submission, and a settings column: the stamp ``id@version#hash``.
STAMP_FIELD = "sdt_stamp"

QUESTION_TYPE = {"integer": "integer", "number": "decimal", "date": "date", "text": "text"}


def language_column(tag: str) -> str:
    """XLSForm's name for a language: ``English (en)``; ``French (fr-CA)`` for a regional tag.

    Examples
    --------
    >>> language_column("es"), language_column("fr-CA"), language_column("xx")
    ('Spanish (es)', 'French (fr-CA)', 'xx (xx)')
    """
    base = tag.split("-")[0].lower()
    return f"{LANGUAGE_NAMES.get(base, tag)} ({tag})"


# ------------------------------------------------------------------------ relevant


def relevant(expr: Expression, items: Mapping[str, Item]) -> str:
    """Translate a ``show_if`` expression into an XLSForm ``relevant`` column.

    Parameters
    ----------
    expr : Expression
        A parsed ``show_if``.
    items : mapping of str to Item
        The survey's items by id (the item type decides how a value is written).

    Returns
    -------
    str
        ``${item}`` references; ``=``, ``!=``, ``<``...; choice codes quoted
        (``${gate} = '1'``), numbers of numeric items not; ``selected(${item},
        'v')`` for an option of a ``multiple`` item; ``not(...)``; ``in [..]``
        as ``or``-ed equalities. An unanswered question is ``''`` in ODK, so a
        comparison with it is false except ``!=``, as in the instrument.

    Examples
    --------
    >>> import sdt_survey
    >>> from sdt_survey.instrument.expressions import parse_expression
    >>> inst = sdt_survey.load_instrument("continuity-exposure")
    >>> items = {item.id: item for item in inst.items}
    >>> relevant(inst.item("halfdays_with_preceptor").show_if, items)
    "${has_usual_preceptor} = '1' and ${clinic_halfdays_4wk} > 0"
    >>> relevant(parse_expression("not longitudinal_team in [0, 2]"), items)
    "not(${longitudinal_team} = '0' or ${longitudinal_team} = '2')"
    """
    return _xpath(expr, items, nested=False)


def _xpath(expr: Expression, items: Mapping[str, Item], nested: bool) -> str:
    if isinstance(expr, Not):
        return f"not({_xpath(expr.operand, items, nested=False)})"
    if isinstance(expr, BoolOp):
        joined = f" {expr.op} ".join(_xpath(operand, items, nested=True) for operand in expr.operands)
        return f"({joined})" if nested else joined
    if isinstance(expr, Membership):
        parts = [_xpath_comparison(Comparison("==", expr.item, value), items) for value in expr.values]
        joined = " or ".join(parts)
        if expr.negated:
            return f"not({joined})"
        return f"({joined})" if nested and len(parts) > 1 else joined
    if isinstance(expr, Comparison):
        return _xpath_comparison(expr, items)
    raise TypeError(f"not an expression: {expr!r}")


_MIRRORED_OP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _xpath_comparison(comparison: Comparison, items: Mapping[str, Item]) -> str:
    left, op, right = comparison.left, comparison.op, comparison.right
    if isinstance(left, Literal) and isinstance(right, Name):
        left, op, right = right, _MIRRORED_OP[op], left
    assert isinstance(left, Name)
    xpath_op = "=" if op == "==" else op
    if isinstance(right, Name):
        return f"${{{left.id}}} {xpath_op} ${{{right.id}}}"
    item = items[left.id]
    value = right.value
    if item.type == "multiple":
        check_option_comparison(op, item)
        selected = f"selected(${{{left.id}}}, {quote_without_escapes(code_text(value))})"
        return selected if op == "==" else f"not({selected})"
    if item.type == "date" and op not in ("==", "!="):
        return f"${{{left.id}}} {xpath_op} date({quote_without_escapes(code_text(value))})"
    if item.type in ("integer", "number", "slider") and isinstance(value, (int, float)):
        return f"${{{left.id}}} {xpath_op} {code_text(value)}"
    if op in ("==", "!="):
        # A select_one answer is text: compare it with the code as text.
        return f"${{{left.id}}} {xpath_op} {quote_without_escapes(code_text(value))}"
    shown = code_text(value) if isinstance(value, (int, float)) else quote_without_escapes(code_text(value))
    return f"${{{left.id}}} {xpath_op} {shown}"


# -------------------------------------------------------------------------- sheets


class _ChoiceLists:
    """The ``choices`` sheet: one list per scale (shared by identical scales) and per choice item."""

    def __init__(self, survey: Survey, languages: tuple[str, ...]):
        self.survey = survey
        self.languages = languages
        self.rows: list[dict[str, str]] = []
        self.taken: set[str] = set()
        self.by_content: dict[tuple, str] = {}

    def _labels(self, text: Text) -> dict[str, str]:
        return {f"label::{language_column(lang)}": self.survey.text(text, lang) for lang in self.languages}

    def _add(self, preferred: str, fallback: str, pairs) -> str:
        name = preferred if preferred not in self.taken else fallback
        count = 1
        while name in self.taken:
            count += 1
            name = f"{fallback}_{count}"
        self.taken.add(name)
        for value, label in pairs:
            self.rows.append({"list_name": name, "name": code_text(value), **self._labels(label)})
        return name

    def for_scale(self, scale: Scale, instrument_id: str) -> str:
        content = (
            "scale",
            scale.choice_values,
            tuple(tuple(sorted(label.translations.items())) for label in scale.choice_labels),
        )
        if content not in self.by_content:
            fallback = f"{instrument_id.replace('-', '_')}_{scale.id}"
            # The non-substantive choices (don't know) follow the values: shown, scored as missing.
            self.by_content[content] = self._add(
                scale.id, fallback, zip(scale.choice_values, scale.choice_labels, strict=True)
            )
        return self.by_content[content]

    def for_item(self, item: Item) -> str:
        return self._add(item.id, f"{item.id}_choices", [(c.value, c.label) for c in item.choices])


def _constraint(item: Item, languages: tuple[str, ...]) -> dict[str, str]:
    low, high = item.min, item.max
    if low is None and high is None:
        return {}
    parts = ([f". >= {code_text(low)}"] if low is not None else []) + (
        [f". <= {code_text(high)}"] if high is not None else []
    )
    row = {"constraint": " and ".join(parts)}
    for lang in languages:
        whole, number, both, at_least, at_most = CONSTRAINT_MESSAGES.get(
            lang.split("-")[0], CONSTRAINT_MESSAGES["en"]
        )
        if low is not None and high is not None:
            span = both.format(min=code_text(low), max=code_text(high))
        elif low is not None:
            span = at_least.format(min=code_text(low))
        else:
            span = at_most.format(max=code_text(high))
        message = (whole if item.type == "integer" else number).format(range=span)
        row[f"constraint_message::{language_column(lang)}"] = message
    return row


def _hints(
    survey: Survey, item: Item, languages: tuple[str, ...], columns: Mapping[str, str]
) -> dict[str, str]:
    """The ``hint::Language`` cells: the item's hint, and a slider's anchors (ODK's range shows no labels)."""
    out = {}
    for lang in languages:
        parts = [survey.text(item.hint, lang)] if item.hint is not None else []
        if item.type == "slider" and item.anchors:
            left, middle, right = slider_anchors(item, lambda text, lang=lang: survey.text(text, lang))
            middle_part = f" ... {middle}" if middle else ""
            parts.append(f"{code_text(item.min)} = {left}{middle_part} ... {code_text(item.max)} = {right}")
        if parts:
            out[f"hint::{columns[lang]}"] = " ".join(parts)
    return out


def build_sheets(
    survey: Survey, *, with_scores: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The ``survey``, ``choices`` and ``settings`` sheets of a survey, and any warnings.

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> sheets, choices, settings, warnings = build_sheets(build_survey("program-belonging"))
    >>> sheets.loc[sheets["name"] == "pb4", ["type", "appearance", "required"]].values.tolist()
    [['select_one agree5', 'likert', 'yes']]
    >>> choices["name"].tolist()[:5]
    ['1', '2', '3', '4', '5']
    """
    languages = tuple(dict.fromkeys((survey.language, *survey.languages)))
    columns = {lang: language_column(lang) for lang in languages}
    items = {item.id: item for item in survey.items}
    reserved = {PROVENANCE_FIELD, STAMP_FIELD, "start", "end"}
    clashes = sorted(reserved & set(items))
    if clashes:
        raise SdtSurveyError(f"item ids {', '.join(clashes)} collide with fields the XLSForm adds")
    lists = _ChoiceLists(survey, languages)
    warnings: list[str] = []
    provenance = survey.provenance
    rows: list[dict[str, str]] = [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        {"type": "calculate", "name": PROVENANCE_FIELD, "calculation": quote_without_escapes(provenance)},
        {"type": "calculate", "name": STAMP_FIELD, "calculation": quote_without_escapes(survey.stamp)},
    ]
    names_in_use = set(items) | reserved

    def labels(text: Text | None, prefix: str = "label") -> dict[str, str]:
        if text is None:
            return {}
        return {f"{prefix}::{columns[lang]}": survey.text(text, lang) for lang in languages}

    for section in survey.sections:
        group = survey.section_name(section)
        names_in_use.add(group)
        rows.append(
            {
                "type": "begin group",
                "name": group,
                "appearance": "field-list",
                **labels(section.section.title),
            }
        )
        if section.section.preamble is not None:
            note = f"{group}_intro"
            while note in names_in_use:
                note += "_"
            names_in_use.add(note)
            rows.append({"type": "note", "name": note, **labels(section.section.preamble)})
        for item in section.layout():
            if not isinstance(item, Item):
                rows.append({"type": "note", "name": item.id, **labels(item.text)})
                continue
            row: dict[str, str] = {"name": item.id, **_hints(survey, item, languages, columns)}
            for lang in languages:
                try:
                    row[f"label::{columns[lang]}"] = survey.item_text(item, lang)
                except SdtSurveyError:
                    # Wording supplied with --texts may lack a language; show the default wording there.
                    row[f"label::{columns[lang]}"] = survey.item_text(item)
                    warnings.append(
                        f"{item.id}: no {lang!r} wording supplied; the {survey.language!r} is used"
                    )
            if item.scale is not None:
                row["type"] = f"select_one {lists.for_scale(item.scale, section.instrument.id)}"
                row["appearance"] = "likert"
            elif item.type in ("single", "multiple"):
                kind = "select_one" if item.type == "single" else "select_multiple"
                row["type"] = f"{kind} {lists.for_item(item)}"
            elif item.type == "slider":
                row["type"] = "range"
                row["parameters"] = (
                    f"start={code_text(item.min)} end={code_text(item.max)} step={code_text(item.step)}"
                )
            else:
                row["type"] = QUESTION_TYPE[item.type]
                if item.type == "text":
                    row["appearance"] = "multiline"
                if item.type in ("integer", "number"):
                    row.update(_constraint(item, languages))
            if item.required:
                row["required"] = "yes"
            if item.show_if is not None:
                row["relevant"] = relevant(item.show_if, items)
            rows.append(row)
        rows.append({"type": "end group", "name": group})
    if with_scores:
        # One calculate per subscale and composite, stored with each submission (--with-scores).
        rows += [
            {"type": "calculate", "name": score_id, "calculation": xlsform_formula(inst, score_id)}
            for inst in survey.instruments
            for score_id, _ in score_fields(inst)
        ]
    label_columns = [f"label::{columns[lang]}" for lang in languages]
    message_columns = [f"constraint_message::{columns[lang]}" for lang in languages]
    hint_columns = [f"hint::{columns[lang]}" for lang in languages]
    survey_columns = ["type", "name", *label_columns, *hint_columns, "required", "relevant", "constraint"]
    survey_columns += [*message_columns, "appearance", "parameters", "calculation"]
    sheet = _frame(rows, survey_columns)
    choices = _frame(lists.rows, ["list_name", "name", *label_columns])
    form_id = survey.id.replace("-", "_").replace("+", "__")
    settings = _frame(
        [
            {
                "form_title": survey.title,
                "form_id": form_id,
                "version": provenance,
                "default_language": columns[survey.language],
                "style": "pages",
                STAMP_FIELD: survey.stamp,
            }
        ],
        ["form_title", "form_id", "version", "default_language", "style", STAMP_FIELD],
    )
    for name, frame in (("survey", sheet), ("choices", choices), ("settings", settings)):
        _refuse_control_characters(name, frame)
    return sheet, choices, settings, warnings


#: Characters an .xlsx cell cannot hold (XML 1.0 forbids them; openpyxl raises on them): the C0
#: controls other than tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _refuse_control_characters(sheet_name: str, frame: pd.DataFrame) -> None:
    """Refuse a sheet with a control character, naming the row's item (or list) and the column.

    Silently dropping the character would change the wording people answer; the instrument's
    author should see where it is and fix it (``sdt-survey validate`` reports the same).
    """
    hits = frame.apply(lambda column: column.str.contains(CONTROL_CHARACTERS, regex=True, na=False))
    if not hits.to_numpy().any():
        return
    found = hits.stack()
    row, column = found[found].index[0]
    value = str(frame.at[row, column])
    char = CONTROL_CHARACTERS.search(value).group()
    if "list_name" in frame.columns:
        where = f"choice {frame.at[row, 'name']!r} of list {frame.at[row, 'list_name']!r}"
    elif "name" in frame.columns and frame.at[row, "name"]:
        where = f"row {frame.at[row, 'name']!r}"
    else:
        where = "the form settings"
    raise SdtSurveyError(
        f"xlsform: {where}, column {column!r} of the {sheet_name} sheet, holds the control character "
        f"U+{ord(char):04X}, which a spreadsheet cannot store: remove it from the instrument's text "
        f"({value[:60]!r})"
    )


def _frame(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=columns, dtype=str)
    # Columns no row uses (e.g. constraint messages without numeric items) only clutter the sheet.
    used = [c for c in columns if (frame[c] != "").any() or c in ("type", "name", "list_name")]
    return frame[used]


def write(survey: Survey, out: Path, *, overwrite: bool = False, with_scores: bool = False) -> ExportResult:
    """Write the XLSForm of ``survey`` to ``out``.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.platforms.build_survey`; every language the
        instruments share is written, the survey's language is the default.
    out : pathlib.Path
        The ``.xlsx`` to write.
    overwrite : bool
        Replace an existing file (otherwise it is an error). The file is written atomically.
    with_scores : bool
        Add a ``calculate`` row per subscale and composite (``--with-scores``).

    Returns
    -------
    ExportResult

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from sdt_survey.platforms import build_survey
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "continuity.xlsx"
    >>> result = write(build_survey("continuity-exposure"), out)
    >>> sheet = pd.read_excel(out, sheet_name="survey", dtype=str).set_index("name")
    >>> sheet.loc["halfdays_with_preceptor", ["relevant", "constraint"]].tolist()
    ["${has_usual_preceptor} = '1' and ${clinic_halfdays_4wk} > 0", '. >= 0 and . <= 40']
    """
    sheet, choices, settings, warnings = build_sheets(survey, with_scores=with_scores)
    with atomic_output(out, overwrite=overwrite) as temp, pd.ExcelWriter(temp, engine="openpyxl") as writer:
        for name, frame in (("survey", sheet), ("choices", choices), ("settings", settings)):
            frame.to_excel(writer, sheet_name=name, index=False)
            # openpyxl stores a string starting with '=' as a formula; a label '=1 per week' is text.
            force_text_cells(writer.sheets[name])
            # Wide label columns make the form readable when someone opens it to check or edit.
            for column_cells in writer.sheets[name].columns:
                width = max(len(str(cell.value or "")) for cell in column_cells)
                writer.sheets[name].column_dimensions[column_cells[0].column_letter].width = min(
                    60, width + 2
                )
    names = " ".join(inst.id for inst in survey.instruments)
    notes = [
        "upload to ODK Central (Forms > New) or KoboToolbox (Deploy > Upload an XLSForm); "
        "change settings.version before uploading an edited copy",
        f"read the collected data back with: sdt-survey score {names} EXPORT.csv --source odk "
        "--id-column KEY (ODK Central; _uuid for KoboToolbox)",
    ]
    return ExportResult(target="xlsform", paths=[out], survey=survey.id, warnings=warnings, notes=notes)


__all__ = [
    "LANGUAGE_NAMES",
    "PROVENANCE_FIELD",
    "STAMP_FIELD",
    "build_sheets",
    "language_column",
    "relevant",
    "write",
]


# ------------------------------------------------------------ reading collected responses


_ODK_META = {"_uuid", "_submission_time", "_index", "_id", "meta/instanceid", "meta-instanceid", "key",
             "submissiondate", "__version__", "instanceid"}  # fmt: skip


def is_metadata_column(name: str) -> bool:
    """Whether ODK/Kobo or the exported form adds the column (``_uuid``, ``start``, ``sdt_stamp``, ...)."""
    lower = name.lower()
    return (
        lower in _ODK_META
        or lower in {"start", "end", PROVENANCE_FIELD, STAMP_FIELD, "submitterid", "submittername", "status",
                     "reviewstate", "deviceid", "edits", "formversion", "attachmentspresent",
                     "attachmentsexpected"}
        or lower.startswith(("_", "meta/", "meta-"))
    )  # fmt: skip


def is_hxl_row(row: pd.Series) -> bool:
    cells = [str(c).strip() for c in row.tolist() if isinstance(c, str) and str(c).strip()]
    return bool(cells) and all(c.startswith("#") for c in cells)


def detect(table: ResponseTable, items: Sequence[Item]) -> list[tuple[str, str]]:
    """Why the file looks like an ODK or KoboToolbox export, or nothing."""
    columns = [str(c) for c in table.frame.columns]
    marks = sorted({c.lower() for c in columns} & _ODK_META)
    item_ids = {item.id for item in items}
    grouped = [c for c in columns if "/" in c and c.rsplit("/", 1)[1] in item_ids]
    if marks or grouped:
        why = f"ODK/Kobo metadata ({', '.join(marks)})" if marks else "group-prefixed item columns"
        return [("odk", why)]
    return []


def prepare(table: ResponseTable) -> int:
    """Drop the row of HXL hashtags KoboToolbox adds under the header; the number of rows dropped."""
    if len(table.frame) and is_hxl_row(table.frame.iloc[0]):
        table.frame = table.frame.iloc[1:].reset_index(drop=True)
        return 1
    return 0


def match_columns(
    table: ResponseTable,
    items: Sequence[Item],
    columns: list[str],
    matched: dict[str, list[str]],
    used: set[str],
    claim: Claim,
) -> dict[str, dict[str, str]]:
    """Columns named by group path (``group/item`` or ``group-item``)."""
    by_id = {item.id for item in items}
    for column in columns:
        for separator in ("/", "-"):
            tail = column.rsplit(separator, 1)[-1]
            if tail != column and tail in by_id:
                claim(tail, column)
                break
    return {}
