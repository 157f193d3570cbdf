"""REDCap: a data dictionary CSV to upload in Project Setup > Data Dictionary.

The dictionary has REDCap's 18 standard columns in their order. ``record_id``
comes first; each instrument becomes one REDCap form (instrument) named by its
id with ``-`` as ``_``. Every field is named by its item id, so REDCap's raw
export (``record_id, ..., as1, as2, ..., <form>_complete``) reads straight
back into :func:`sdt_survey.score`.

How each item type is written:

======================  =====================================================
item                    REDCap field
======================  =====================================================
likert                  ``radio`` in a matrix group: the consecutive Likert
                        items of a section on one scale share one matrix,
                        with identical choices ``1, Not at all true | 2, ...``
single                  ``radio``
multiple                ``checkbox`` (exported as ``item___code`` columns)
integer / number        ``text`` validated as ``integer`` / ``number``, with
                        the item's min and max
slider                  ``slider`` with its anchors as ``left | middle |
                        right`` labels, the number shown, min and max
date                    ``text`` validated as ``date_ymd``
text                    ``notes`` (a multi-line box; ``text_field="text"``
                        for one line)
======================  =====================================================

A hint is the field note; an identifier item is flagged ``Identifier? = y``
(REDCap then leaves it out of de-identified exports); a section's notes are
``descriptive`` fields where they stand; a scale's non-substantive choices
(``8, Don't know``) follow its values in the radio choices. Choice names with
``-`` or ``.`` (ODK names such as ``dont-know``) are written with ``_``
(``dont_know``), the only punctuation REDCap codes take; reading maps them back.

``show_if`` becomes REDCap branching logic (:func:`branching_logic`). Every
field's annotation records the instrument and version it came from
(``sdt-survey: bpn-residency 1.0.0``). The dictionary is checked against
REDCap's rules (:func:`check_dictionary`) before it is written; a dictionary
REDCap would refuse is never written.

A scale's missing codes (``-99`` skipped) are not matrix choices: REDCap
records them as project-wide *missing data codes*, which the result's notes
list for you to declare.

Examples
--------
>>> import tempfile, pathlib
>>> from sdt_survey.platforms import build_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "continuity.csv"
>>> result = write(build_survey("continuity-exposure"), out)
>>> frame = read_dictionary(out)
>>> frame.loc[frame["Variable / Field Name"] == "halfdays_with_preceptor",
...           "Branching Logic (Show field only if...)"].item()
"[has_usual_preceptor] = '1' and [clinic_halfdays_4wk] > 0"
>>> check_dictionary(frame)
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .._spreadsheet_safe import html_leading_reference, is_formula_like, write_csv
from ..errors import SdtSurveyError
from ..files import atomic_output
from ..instrument import Instrument, Item, code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .result import ExportResult
from .score_formulas import redcap_formula, score_fields
from .survey import (
    Survey,
    SurveySection,
    check_option_comparison,
    html_line,
    quote_without_escapes,
    slider_anchors,
)
from .table import Claim, ResponseTable, match_by_text, normalise_text

#: REDCap's data dictionary columns, in the order REDCap requires.
COLUMNS = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
NAME, FORM, HEADER, TYPE, LABEL, CHOICES, NOTE, VALIDATION, VMIN, VMAX = COLUMNS[:10]
IDENTIFIER, BRANCHING, REQUIRED, ALIGNMENT, NUMBER, MATRIX, RANKING, ANNOTATION = COLUMNS[10:]

FIELD_TYPES = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "file",
    "slider",
    "calc",
    "descriptive",
    "sql",
)
CHOICE_TYPES = ("dropdown", "radio", "checkbox")
#: Validation types REDCap ships with (the subset a survey of this kind can use).
VALIDATION_TYPES = (
    "date_dmy",
    "date_mdy",
    "date_ymd",
    "datetime_dmy",
    "datetime_mdy",
    "datetime_ymd",
    "datetime_seconds_dmy",
    "datetime_seconds_mdy",
    "datetime_seconds_ymd",
    "email",
    "integer",
    "alpha_only",
    "number",
    "number_1dp",
    "number_2dp",
    "number_3dp",
    "number_4dp",
    "phone",
    "time",
    "time_mm_ss",
    "zipcode",
)
#: Validation type of each item type that is a ``text`` field.
VALIDATION_OF_TYPE = {"integer": "integer", "number": "number", "date": "date_ymd"}
#: REDCap accepts longer names, but warns above 26 characters; item ids keep to 26 for that reason.
MAX_FIELD_NAME = 26
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FORM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_CODE = re.compile(r"^-?[A-Za-z0-9_]+(?:\.[0-9]+)?$")
RECORD_ID = "record_id"

# Field references in branching logic: [field] or [field(code)] for one checkbox option.
_REFERENCE = re.compile(r"\[([^\[\]()]*)(?:\(([^()\[\]]*)\))?\]")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_LOGIC_TOKEN = re.compile(r"\s+|\band\b|\bor\b|<>|!=|<=|>=|=|<|>|\(|\)|-?\d+(?:\.\d+)?|\x00")


def redcap_choice_code(value: object) -> str:
    """A choice code as REDCap takes it: an ODK name's ``-`` and ``.`` written ``_``; numbers as they are.

    Examples
    --------
    >>> [redcap_choice_code(code) for code in (-99, "dont-know", "n.a", 2.5)]
    ['-99', 'dont_know', 'n_a', '2.5']
    """
    if isinstance(value, str):
        return value.replace("-", "_").replace(".", "_")
    return code_text(value)


def form_name(instrument: Instrument) -> str:
    """The REDCap form (instrument) name of an instrument: its id with ``-`` as ``_``.

    Examples
    --------
    >>> import sdt_survey
    >>> form_name(sdt_survey.load_instrument("bpn-residency"))
    'bpn_residency'
    """
    return instrument.id.replace("-", "_")


# ------------------------------------------------------------------ branching logic


def negation_normal_form(expr: Expression) -> Expression:
    """The same condition without ``not``: negation pushed down to the comparisons.

    REDCap's logic (and Qualtrics' display logic) have no general ``not``, so
    ``not`` is removed with De Morgan's laws. Unanswered items keep their
    meaning (a comparison with an unanswered item is false, except ``!=`` and
    ``not in``): the negation of ``x > 0`` is ``x == "" or x <= 0``, where
    ``x == ""`` means "unanswered".

    Examples
    --------
    >>> from sdt_survey.instrument.expressions import parse_expression
    >>> negation_normal_form(parse_expression("not (a == 1 or b > 2)")).to_text()
    'a != 1 and (b == "" or b <= 2)'
    """
    return _push_not(expr, negate=False)


_NEGATED_OP = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRRORED_OP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _push_not(expr: Expression, negate: bool) -> Expression:
    if isinstance(expr, Not):
        return _push_not(expr.operand, not negate)
    if isinstance(expr, BoolOp):
        op = {"and": "or", "or": "and"}[expr.op] if negate else expr.op
        return BoolOp(op, tuple(_push_not(operand, negate) for operand in expr.operands))
    if isinstance(expr, Membership):
        return Membership(expr.item, expr.values, expr.negated != negate)
    comparison = _item_on_left(expr)
    if not negate:
        return comparison
    flipped = Comparison(_NEGATED_OP[comparison.op], comparison.left, comparison.right)
    if comparison.op in ("==", "!="):
        return flipped
    # An ordered comparison is false for an unanswered item, so its negation is true there.
    blanks = [
        Comparison("==", operand, Literal(""))
        for operand in (comparison.left, comparison.right)
        if isinstance(operand, Name)
    ]
    return BoolOp("or", (*blanks, flipped))


def _item_on_left(comparison: Comparison) -> Comparison:
    """``3 < x`` as ``x > 3``: the platforms want the field first."""
    if isinstance(comparison.left, Literal) and isinstance(comparison.right, Name):
        return Comparison(_MIRRORED_OP[comparison.op], comparison.right, comparison.left)
    return comparison


def branching_logic(expr: Expression, items: Mapping[str, Item]) -> str:
    """Translate a ``show_if`` expression into REDCap branching logic.

    Parameters
    ----------
    expr : Expression
        A parsed ``show_if``.
    items : mapping of str to Item
        The survey's items by id (to know which are checkboxes).

    Returns
    -------
    str
        ``==`` is ``=``, ``!=`` is ``<>``, codes are quoted and numbers in
        ordered comparisons are not; ``in [..]`` becomes ``or``-ed equalities;
        an option of a ``multiple`` item is ``[item(code)] = '1'``; ``not`` is
        pushed down to the comparisons (:func:`negation_normal_form`), as
        REDCap's logic has no ``not``.

    Examples
    --------
    >>> import sdt_survey
    >>> from sdt_survey.instrument.expressions import parse_expression
    >>> inst = sdt_survey.load_instrument("continuity-exposure")
    >>> items = {item.id: item for item in inst.items}
    >>> branching_logic(parse_expression("longitudinal_team in [1, 2]"), items)
    "[longitudinal_team] = '1' or [longitudinal_team] = '2'"
    >>> branching_logic(parse_expression("not clinic_halfdays_4wk > 0"), items)
    "[clinic_halfdays_4wk] = '' or [clinic_halfdays_4wk] <= 0"
    """
    return _logic(negation_normal_form(expr), items, nested=False)


def _logic(expr: Expression, items: Mapping[str, Item], nested: bool) -> str:
    if isinstance(expr, BoolOp):
        joined = f" {expr.op} ".join(_logic(operand, items, nested=True) for operand in expr.operands)
        return f"({joined})" if nested else joined
    if isinstance(expr, Membership):
        parts = [
            _comparison(Comparison("!=" if expr.negated else "==", expr.item, value), items)
            for value in expr.values
        ]
        if len(parts) == 1:
            return parts[0]
        joined = (" and " if expr.negated else " or ").join(parts)
        return f"({joined})" if nested else joined
    if isinstance(expr, Comparison):
        return _comparison(_item_on_left(expr), items)
    raise TypeError(f"not a normalised expression: {expr!r}")


def _comparison(comparison: Comparison, items: Mapping[str, Item]) -> str:
    left, op, right = comparison.left, comparison.op, comparison.right
    assert isinstance(left, Name)
    item = items[left.id]
    if isinstance(right, Name):
        redcap_op = {"==": "=", "!=": "<>"}.get(op, op)
        return f"[{left.id}] {redcap_op} [{right.id}]"
    if item.type == "multiple" and right.value != "":
        check_option_comparison(op, item)
        ticked = "1" if op == "==" else "0"
        return f"[{left.id}({redcap_choice_code(right.value)})] = '{ticked}'"
    if op in ("==", "!="):
        code = redcap_choice_code(right.value)
        return f"[{left.id}] {'=' if op == '==' else '<>'} {quote_without_escapes(code)}"
    # Numbers in ordered comparisons stay unquoted so REDCap compares them as numbers.
    value = right.value
    shown = code_text(value) if isinstance(value, (int, float)) else quote_without_escapes(code_text(value))
    return f"[{left.id}] {op} {shown}"


# ---------------------------------------------------------------------- dictionary


def _choices_text(pairs: Iterable[tuple[object, str]], where: str) -> str:
    choices = []
    for code, label in pairs:
        shown = _label(label, where)
        if "|" in shown:
            raise SdtSurveyError(
                f"{where}: the choice label {label!r} holds '|', which separates REDCap's choices "
                "('1, Yes | 0, No'); reword the label"
            )
        choices.append(f"{redcap_choice_code(code)}, {shown}")
    text = " | ".join(choices)
    # A negative first code ('-3, ...') would start the cell like a spreadsheet formula; REDCap
    # trims the space before a code, and a spreadsheet keeps ' -3, ...' as text.
    return " " + text if is_formula_like(text) else text


def _label(text: str, where: str) -> str:
    """A label as REDCap renders it (HTML): one line, escaped, never starting like a formula.

    REDCap shows labels as HTML, so ``=1 per week`` is written ``&#61;1 per week``: the
    survey shows ``=1 per week`` and no spreadsheet opening the dictionary runs it.
    """
    return html_leading_reference(_html(text, where))


def _html(text: str, where: str) -> str:
    # '[' as a reference: REDCap pipes [field] and [smart-variable] in labels, which would show
    # another answer (or a survey link) where the wording only meant to show brackets.
    return html_line(text, where).replace("[", "&#91;")


def _section_header(survey: Survey, section: SurveySection) -> str:
    where = f"section {section.section.id}"
    title = survey.text(section.section.title)
    preamble = survey.text(section.section.preamble)
    parts = [
        f"<b>{_html(title, where)}</b>" if title else "",
        _label(preamble, where) if preamble else "",
    ]
    return "<br>".join(part for part in parts if part)


def _matrix_names(survey: Survey) -> dict[str, str]:
    """Item id -> matrix group name, for each run of consecutive Likert items on one scale.

    A run is broken by another item type or another scale, so every matrix is
    contiguous, as REDCap requires.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for section in survey.sections:
        previous: Item | None = None
        group = ""
        for item in section.layout():
            if not isinstance(item, Item) or item.scale is None:
                previous = None  # a note (a descriptive field) between items ends a matrix
                continue
            if previous is None or previous.scale != item.scale:
                stem = re.sub(r"[^a-z0-9_]", "_", f"{survey.section_name(section)}_{item.scale.id}".lower())
                group, n = stem, 1
                while group in taken:
                    n += 1
                    group = f"{stem}_{n}"
                taken.add(group)
            names[item.id] = group
            previous = item
    return names


def _annotation(source: str, item: Item | None = None) -> str:
    note = f"sdt-survey: {source}"
    if item is not None and item.reverse and item.scale is not None:
        note += f"; reverse-keyed (scored {item.scale.min + item.scale.max} - x)"
    return note


def build_dictionary(
    survey: Survey, *, text_field: str = "notes", record_id: str = RECORD_ID, with_scores: bool = False
) -> pd.DataFrame:
    """The REDCap data dictionary of a survey, one row per field.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.platforms.build_survey`.
    text_field : {"notes", "text"}
        The field type of ``text`` items: a multi-line box (default) or one line.
    record_id : str
        The name of the record-id field, REDCap's first field.
    with_scores : bool
        End each form with a ``calc`` field per subscale and composite
        (:mod:`sdt_survey.platforms.score_formulas`), so REDCap shows the scores.

    Returns
    -------
    pandas.DataFrame
        The 18 columns of :data:`COLUMNS`, all text (empty where unused).

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> frame = build_dictionary(build_survey("program-belonging"))
    >>> frame[["Variable / Field Name", "Field Type", "Matrix Group Name"]].head(3).values.tolist()
    [['record_id', 'text', ''], ['pb1', 'radio', 'belonging_agree5'], ['pb2', 'radio', 'belonging_agree5']]
    """
    if text_field not in ("notes", "text"):
        raise SdtSurveyError(f"text_field must be 'notes' or 'text', not {text_field!r}")
    items = {item.id: item for item in survey.items}
    if record_id in items:
        raise SdtSurveyError(
            f"item {record_id!r} would collide with REDCap's record-id field; rename the item "
            "or choose another record_id name"
        )
    matrix = _matrix_names(survey)
    first_form = form_name(survey.instruments[0])
    rows = [
        {
            NAME: record_id,
            FORM: first_form,
            TYPE: "text",
            LABEL: "Record ID",
            ANNOTATION: f"{_annotation(survey.provenance)}; stamp {survey.stamp}",
        }
    ]
    for section in survey.sections:
        header = _section_header(survey, section)
        form = form_name(section.instrument)
        source = f"{section.instrument.id} {section.instrument.version}"
        for position, item in enumerate(section.layout()):
            if not isinstance(item, Item):
                # A note: descriptive text, a field that holds no data.
                rows.append(
                    {
                        NAME: item.id,
                        FORM: form,
                        HEADER: header if position == 0 else "",
                        TYPE: "descriptive",
                        LABEL: _label(survey.text(item.text), f"note {item.id}"),
                        ANNOTATION: _annotation(source),
                    }
                )
                continue
            where = f"item {item.id}"
            row = {
                NAME: item.id,
                FORM: form,
                HEADER: header if position == 0 else "",
                LABEL: _label(survey.item_text(item), where),
                REQUIRED: "y" if item.required else "",
                ANNOTATION: _annotation(source, item),
                MATRIX: matrix.get(item.id, ""),
            }
            if item.hint is not None:
                row[NOTE] = _label(survey.text(item.hint), f"the hint of {where}")
            if item.identifier:
                row[IDENTIFIER] = "y"
            if item.show_if is not None:
                row[BRANCHING] = branching_logic(item.show_if, items)
            if item.scale is not None:
                # The natural order of the scale, also for reverse-keyed items: scoring reverses them;
                # the non-substantive choices (don't know) follow the values.
                labels = [survey.text(label) for label in item.scale.choice_labels]
                pairs = list(zip(item.scale.choice_values, labels, strict=True))
                row.update({TYPE: "radio", CHOICES: _choices_text(pairs, where)})
            elif item.type == "slider":
                ends = [_label(end, where) if end else "" for end in slider_anchors(item, survey.text)]
                # Validation "number": REDCap's "Show Slider Number", the respondent sees the value.
                row.update(
                    {TYPE: "slider", CHOICES: " | ".join(ends) if any(ends) else "", VALIDATION: "number"}
                )
                row.update({VMIN: code_text(item.min), VMAX: code_text(item.max)})
            elif item.type in ("single", "multiple"):
                pairs = [(choice.value, survey.text(choice.label)) for choice in item.choices]
                row.update(
                    {
                        TYPE: "radio" if item.type == "single" else "checkbox",
                        CHOICES: _choices_text(pairs, where),
                    }
                )
            elif item.type in VALIDATION_OF_TYPE:
                row.update({TYPE: "text", VALIDATION: VALIDATION_OF_TYPE[item.type]})
                if item.min is not None:
                    row[VMIN] = code_text(item.min)
                if item.max is not None:
                    row[VMAX] = code_text(item.max)
            else:
                row[TYPE] = text_field
            rows.append(row)
    if with_scores:
        rows = _with_score_fields(rows, survey)
    blank = dict.fromkeys(COLUMNS, "")
    return pd.DataFrame([{**blank, **row} for row in rows], columns=COLUMNS, dtype=str)


def _with_score_fields(rows: list[dict[str, str]], survey: Survey) -> list[dict[str, str]]:
    """The rows with a ``calc`` field per score at the end of each instrument's form."""
    out = list(rows)
    for inst in survey.instruments:
        form = form_name(inst)
        last = max(i for i, row in enumerate(out) if row[FORM] == form)
        calcs = [
            {
                NAME: score_id,
                FORM: form,
                TYPE: "calc",
                LABEL: _label(label, f"score {score_id}"),
                CHOICES: redcap_formula(inst, score_id, redcap_choice_code),
                ANNOTATION: f"sdt-survey: {inst.id} {inst.version}; score, as sdt-survey scores it",
            }
            for score_id, label in score_fields(inst, survey.language)
        ]
        out[last + 1 : last + 1] = calcs
    return out


# ------------------------------------------------------------------------- checks


def check_dictionary(frame: pd.DataFrame) -> list[str]:
    """Check a data dictionary against the rules REDCap applies when it is uploaded.

    Parameters
    ----------
    frame : pandas.DataFrame
        A data dictionary with REDCap's 18 columns (e.g. from
        :func:`read_dictionary`), read as text.

    Returns
    -------
    list of str
        One message per problem, naming the row (as in the CSV, the header is
        row 1) and the field; empty when REDCap would accept the dictionary.
        Checked: the columns and their order; the first field (a text record
        id); field names (lowercase letters, digits and ``_``, starting with a
        letter, at most 26 characters, no REDCap-reserved names), with no
        duplicates; form names, each form in one contiguous block; field
        types; choices (``code, label | ...``, unique codes, only on choice
        fields); text validation and its min/max; the y/blank flags; matrix
        groups (contiguous, one form, one field type, identical choices);
        branching logic (balanced, known operators, references to fields
        defined earlier, ``[field(code)]`` only for an option of a checkbox).

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> frame = build_dictionary(build_survey("program-belonging"))
    >>> check_dictionary(frame)
    []
    >>> frame.loc[2, "Variable / Field Name"] = "pb1"
    >>> check_dictionary(frame)
    ["row 4: field 'pb1': duplicate field name (first at row 3)"]
    """
    columns = [str(c) for c in frame.columns]
    if columns != COLUMNS:
        missing = [c for c in COLUMNS if c not in columns]
        extra = [c for c in columns if c not in COLUMNS]
        detail = (f"; missing: {', '.join(missing)}" if missing else "") + (
            f"; unexpected: {', '.join(extra)}" if extra else ""
        )
        return [
            f"the columns must be REDCap's 18 data dictionary columns in order{detail or ' (order differs)'}"
        ]
    if frame.empty:
        return ["the dictionary has no fields"]
    rows = frame.fillna("").astype(str).map(str.strip).to_dict("records")
    problems: list[str] = []
    first_row: dict[str, int] = {}
    choices_of: dict[str, dict[str, str]] = {}
    type_of: dict[str, str] = {}
    forms = [row[FORM] for row in rows]
    for index, row in enumerate(rows):
        where = f"row {index + 2}: field {row[NAME]!r}"

        def problem(message: str, where: str = where) -> None:
            problems.append(f"{where}: {message}")

        name, field_type = row[NAME], row[TYPE]
        problems.extend(f"{where}: {message}" for message in _name_problems(name, forms))
        if name in first_row:
            problem(f"duplicate field name (first at row {first_row[name] + 2})")
        else:
            first_row[name] = index
        if not FORM_NAME.match(row[FORM]):
            problem(
                f"form name {row[FORM]!r} must be lowercase letters, digits and '_', starting with a letter"
            )
        if field_type not in FIELD_TYPES:
            problem(f"field type {field_type!r} is not a REDCap field type ({', '.join(FIELD_TYPES)})")
        if index == 0 and (field_type != "text" or row[BRANCHING] or row[MATRIX]):
            problem("the first field is the record id: a text field without branching logic or matrix")
        if not row[LABEL] and field_type != "descriptive":
            problem("the field label is empty")
        for column in (IDENTIFIER, REQUIRED):
            if row[column] not in ("", "y", "n"):
                problem(f"{column!r} must be 'y' or blank, not {row[column]!r}")
        if row[ALIGNMENT] not in ("", "LV", "LH", "RV", "RH"):
            problem(f"custom alignment must be LV, LH, RV or RH, not {row[ALIGNMENT]!r}")
        if field_type in CHOICE_TYPES:
            parsed, messages = _parse_choices(row[CHOICES])
            for message in messages:
                problem(message)
            choices_of[name] = parsed
        elif row[CHOICES] and field_type not in ("calc", "slider", "sql"):
            problem(f"a {field_type} field takes no choices")
        type_of.setdefault(name, field_type)
        for message in _validation_problems(row, field_type):
            problem(message)
        if row[BRANCHING]:
            for message in _branching_problems(row[BRANCHING], first_row, index, type_of, choices_of):
                problem(f"branching logic: {message}")
    problems += _form_problems(rows)
    problems += _matrix_problems(rows)
    return problems


_RESERVED_PREFIX = "redcap_"


def _name_problems(name: str, forms: Sequence[str]) -> list[str]:
    found = []
    if not FIELD_NAME.match(name):
        found.append("the name must be lowercase letters, digits and '_', starting with a letter")
    if len(name) > MAX_FIELD_NAME:
        found.append(f"the name is {len(name)} characters long; REDCap's limit is {MAX_FIELD_NAME}")
    if name.startswith(_RESERVED_PREFIX):
        found.append("names beginning with 'redcap_' are reserved by REDCap")
    for form in set(forms):
        if name in (f"{form}_complete", f"{form}_timestamp"):
            found.append(f"the name is REDCap's own column of form {form!r}")
    return found


def _parse_choices(text: str) -> tuple[dict[str, str], list[str]]:
    """``1, Yes | 0, No`` -> {code: label}, with the problems found."""
    if not text:
        return {}, ["a choice field needs choices ('code, label | code, label')"]
    parsed: dict[str, str] = {}
    problems = []
    for part in text.split("|"):
        code, comma, label = part.partition(",")
        code, label = code.strip(), label.strip()
        if not comma or not code or not label:
            problems.append(f"choice {part.strip()!r} is not 'code, label'")
        elif not CHOICE_CODE.match(code):
            problems.append(f"choice code {code!r} must be letters, digits, '_' (or a number)")
        elif code in parsed:
            problems.append(f"choice code {code!r} appears twice")
        else:
            parsed[code] = label
    return parsed, problems


def _validation_problems(row: Mapping[str, str], field_type: str) -> list[str]:
    validation, low, high = row[VALIDATION], row[VMIN], row[VMAX]
    if not validation:
        return ["text validation min/max need a validation type"] if (low or high) else []
    if field_type == "slider":
        return []
    if field_type != "text":
        return [f"text validation applies to text fields, not {field_type}"]
    if validation not in VALIDATION_TYPES:
        return [f"unknown text validation type {validation!r}"]
    found = []
    bounds: list[float] = []
    for label, value in (("min", low), ("max", high)):
        if not value:
            continue
        if validation in ("integer", "number") or validation.startswith("number_"):
            try:
                number = float(value)
            except ValueError:
                found.append(f"validation {label} {value!r} is not a number")
                continue
            if validation == "integer" and not number.is_integer():
                found.append(f"validation {label} {value!r} is not a whole number")
            bounds.append(number)
        elif validation == "date_ymd" and not re.match(r"^\d{4}-\d{2}-\d{2}$|^today$", value):
            found.append(f"validation {label} {value!r} is not a date YYYY-MM-DD")
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        found.append(f"validation min {low} is larger than max {high}")
    return found


def _branching_problems(
    logic: str,
    first_row: Mapping[str, int],
    index: int,
    type_of: Mapping[str, str],
    choices_of: Mapping[str, Mapping[str, str]],
) -> list[str]:
    found = []
    for match in _REFERENCE.finditer(_STRING.sub("''", logic)):
        name, code = match.group(1), match.group(2)
        if name not in first_row or first_row[name] >= index:
            found.append(f"[{name}] is not a field defined before this one")
            continue
        if code is not None:
            if type_of.get(name) != "checkbox":
                found.append(f"[{name}({code})] names an option, but {name!r} is not a checkbox")
            elif code not in choices_of.get(name, {}):
                found.append(f"{code!r} is not a choice code of checkbox {name!r}")
        elif type_of.get(name) == "checkbox":
            found.append(f"checkbox {name!r} must be referenced by option, e.g. [{name}(1)] = '1'")
    # Whatever remains once strings and field references are set aside must be operators and numbers.
    skeleton = _REFERENCE.sub("\x00", _STRING.sub("\x00", logic))
    if skeleton.count("'") or skeleton.count('"'):
        found.append("a quote is not closed")
    leftover = _LOGIC_TOKEN.sub(" ", skeleton).split()
    if leftover:
        found.append(f"unexpected {' '.join(leftover)!r} (use =, <>, <, <=, >, >=, and, or, parentheses)")
    depth = 0
    for char in skeleton:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        found.append("parentheses are not balanced")
    return found


def _form_problems(rows: Sequence[Mapping[str, str]]) -> list[str]:
    problems = []
    closed: set[str] = set()
    for index, row in enumerate(rows):
        form = row[FORM]
        previous = rows[index - 1][FORM] if index else None
        if form != previous:
            if form in closed:
                problems.append(
                    f"row {index + 2}: field {row[NAME]!r}: form {form!r} continues after another "
                    "form; the fields of a form must be contiguous"
                )
            if previous is not None:
                closed.add(previous)
    return problems


def _matrix_problems(rows: Sequence[Mapping[str, str]]) -> list[str]:
    problems = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        group = row[MATRIX]
        if not group:
            continue
        where = f"row {index + 2}: field {row[NAME]!r}: matrix {group!r}"
        if not FIELD_NAME.match(group):
            problems.append(f"{where}: a matrix group name must be lowercase letters, digits and '_'")
        if row[TYPE] not in ("radio", "checkbox"):
            problems.append(f"{where}: matrix fields must be radio or checkbox, not {row[TYPE]!r}")
        if group not in seen:
            seen[group] = index
            continue
        first = rows[seen[group]]
        if rows[index - 1][MATRIX] != group:
            problems.append(f"{where}: the fields of a matrix group must be contiguous")
        if row[FORM] != first[FORM]:
            problems.append(f"{where}: a matrix group must stay within one form")
        if row[TYPE] != first[TYPE]:
            problems.append(f"{where}: every field of a matrix group must have the same type")
        if _parse_choices(row[CHOICES])[0] != _parse_choices(first[CHOICES])[0]:
            problems.append(f"{where}: choices differ from the first field of the group ({first[NAME]!r})")
    return problems


# -------------------------------------------------------------------------- write


def read_dictionary(path: str | Path) -> pd.DataFrame:
    """Read a data dictionary CSV as text, every cell a string (empty where blank)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _missing_code_note(survey: Survey) -> str | None:
    codes: dict[int, str] = {}
    for inst in survey.instruments:
        for scale in inst.scales.values():
            for code, reason in scale.missing_codes.items():
                codes.setdefault(code, reason)
    if not codes:
        return None
    listed = " | ".join(f"{code}, {reason.replace('_', ' ').capitalize()}" for code, reason in codes.items())
    return (
        "the scales' missing codes are not matrix choices; declare them as project missing data codes "
        f"(Project Setup > Additional customizations > Missing Data Codes): {listed}"
    )


def _slider_notes(survey: Survey) -> list[str]:
    """What REDCap's sliders cannot hold: they move by whole numbers."""
    return [
        f"slider {item.id}: REDCap sliders move by 1 from a whole min to a whole max; its step "
        f"{code_text(item.step)} is not enforced there; an answer off the step reads back as an invalid cell"
        for item in survey.items
        if item.type == "slider" and (item.step != 1 or not float(item.min).is_integer())  # type: ignore[arg-type]
    ]


def write(
    survey: Survey,
    out: Path,
    *,
    text_field: str = "notes",
    record_id: str = RECORD_ID,
    overwrite: bool = False,
    with_scores: bool = False,
) -> ExportResult:
    """Write the REDCap data dictionary CSV of ``survey`` to ``out``.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.platforms.build_survey`.
    out : pathlib.Path
        The ``.csv`` to write (UTF-8).
    text_field : {"notes", "text"}
        The field type of free-text items.
    record_id : str
        The name of the record-id field.
    overwrite : bool
        Replace an existing file (otherwise it is an error). The file is written atomically.
    with_scores : bool
        Add the subscale and composite scores as ``calc`` fields (``--with-scores``).

    Returns
    -------
    ExportResult
        ``notes`` say what to declare by hand (the missing data codes) and
        how the data comes back.

    Raises
    ------
    SdtSurveyError
        When the dictionary breaks one of REDCap's rules (every problem named).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sdt_survey.platforms import build_survey
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn.csv"
    >>> result = write(build_survey("bpn-residency", language="es"), out)
    >>> read_dictionary(out).loc[1, "Choices, Calculations, OR Slider Labels"].split(" | ")[:2]
    ['1, Nada cierto', '2, Ligeramente cierto']
    """
    frame = build_dictionary(survey, text_field=text_field, record_id=record_id, with_scores=with_scores)
    problems = check_dictionary(frame)
    if problems:
        raise SdtSurveyError("the REDCap data dictionary would be refused:\n  " + "\n  ".join(problems))
    with atomic_output(out, overwrite=overwrite) as temp:
        # The labels are already safe (HTML references); the shared writer is the net under them.
        write_csv(frame, temp, index=False, encoding="utf-8")
    forms = list(dict.fromkeys(form_name(inst) for inst in survey.instruments))
    notes = [
        "upload in Project Setup > Data Dictionary; enable each instrument as a survey "
        f"({', '.join(forms)}) under Online Designer",
    ]
    missing_note = _missing_code_note(survey)
    if missing_note:
        notes.append(missing_note)
    notes += _slider_notes(survey)
    names = " ".join(inst.id for inst in survey.instruments)
    notes.append(
        "read the collected data back with: sdt-survey score "
        f"{names} EXPORT.csv --source redcap --id-column {record_id} (raw CSV export)"
    )
    return ExportResult(target="redcap", paths=[out], survey=survey.id, notes=notes)


__all__ = [
    "COLUMNS",
    "branching_logic",
    "build_dictionary",
    "check_dictionary",
    "form_name",
    "negation_normal_form",
    "read_dictionary",
    "write",
]


# ------------------------------------------------------------ reading collected responses


#: Columns REDCap adds to a records export (besides ``<form>_timestamp`` and ``<form>_complete``).
_METADATA = {"record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
             "redcap_survey_identifier", "redcap_data_access_group", "event name", "repeat instrument",
             "repeat instance", "survey identifier", "record id"}  # fmt: skip


def is_metadata_column(name: str) -> bool:
    """Whether REDCap adds the column to every records export (``redcap_event_name``, ``form_complete``)."""
    lower = name.lower()
    return lower in _METADATA or lower.endswith(("_timestamp", "_complete", " timestamp", "complete?"))


def redcap_checkbox_code(code: object) -> str:
    """How REDCap writes a checkbox choice code in its column name (``item___code``).

    ``-`` and ``.`` become ``_``, letters are lowercased and anything else is
    dropped, so code -99 is column ``item____99``.

    Examples
    --------
    >>> redcap_checkbox_code(-99), redcap_checkbox_code("1.5"), redcap_checkbox_code("UNK")
    ('_99', '1_5', 'unk')
    """
    text = str(code).replace("-", "_").replace(".", "_").lower()
    return re.sub(r"[^a-z0-9_]", "", text)


def match_checkboxes(
    items: Sequence[Item], columns: list[str], matched: dict[str, list[str]], used: set[str]
) -> dict[str, dict[str, str]]:
    """Multiple-choice items exported as one 0/1 column per choice (raw or labels layout).

    Returns item id -> {column: choice code}; a column for a code that is not a
    choice (a REDCap missing-data code such as ``UNK``) maps to ``[code]``.
    """
    split: dict[str, dict[str, str]] = {}
    for item in items:
        if item.type != "multiple" or item.id in matched:
            continue
        formatted = {redcap_checkbox_code(c.value): str(c.value) for c in item.choices}
        codes = {
            c: formatted.get(c.split("___", 1)[1], f"[{c.split('___', 1)[1]}]")
            for c in columns
            if c.startswith(f"{item.id}___") and c not in used
        }
        if not codes and item.text is not None:
            wordings = {normalise_text(t) for t in item.text.translations.values()}
            by_label = {
                normalise_text(t): str(c.value) for c in item.choices for t in c.label.translations.values()
            }
            for column in columns:
                head, _, label = column.partition(" (choice=")
                if column not in used and label and normalise_text(head) in wordings:
                    label = label.removesuffix(")")
                    codes[column] = by_label.get(normalise_text(label), f"[{label}]")
        if codes:
            matched[item.id] = list(codes)
            used.update(codes)
            split[item.id] = codes
    return split


def detect(table: ResponseTable, items: Sequence[Item]) -> list[tuple[str, str]]:
    """Why the file looks like a REDCap export (raw or labels layout), or nothing."""
    columns = [str(c) for c in table.frame.columns]
    marks = [
        c
        for c in columns
        if c
        in (
            "redcap_event_name",
            "redcap_repeat_instrument",
            "redcap_survey_identifier",
            "redcap_data_access_group",
        )
    ]
    if marks or (columns and columns[0] == "record_id") or any(c.endswith("_complete") for c in columns):
        return [("redcap", f"REDCap columns ({', '.join(marks or [columns[0]])})")]
    if columns and columns[0] == "Record ID":
        return [("redcap", "a REDCap labels export ('Record ID' header)")]
    return []


def match_columns(
    table: ResponseTable,
    items: Sequence[Item],
    columns: list[str],
    matched: dict[str, list[str]],
    used: set[str],
    claim: Claim,
) -> dict[str, dict[str, str]]:
    """Checkbox columns (``item___code``), then items whose field label is the header."""
    split = match_checkboxes(items, columns, matched, used)
    match_by_text(items, columns, claim, "its field label")
    return split
