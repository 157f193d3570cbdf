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
from .redcap_check import (
    ANNOTATION,
    BRANCHING,
    CHOICES,
    COLUMNS,
    FORM,
    HEADER,
    IDENTIFIER,
    LABEL,
    MATRIX,
    NAME,
    NOTE,
    REQUIRED,
    TYPE,
    VALIDATION,
    VMAX,
    VMIN,
    check_dictionary,
    is_warning,
)
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

#: Validation type of each item type that is a ``text`` field.
VALIDATION_OF_TYPE = {"integer": "integer", "number": "number", "date": "date_ymd"}
RECORD_ID = "record_id"


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
    problems = [p for p in check_dictionary(frame) if not is_warning(p)]
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


#: A number REDCap wrote with a comma as its decimal mark (``number_1dp_comma_decimal``: ``36,5``).
_COMMA_DECIMAL = r"^\s*-?\d+,\d+\s*$"


def normalise_cells(frame: pd.DataFrame, numeric_columns: Sequence[str]) -> list[str]:
    """Comma-decimal numbers (``36,5``) in the columns of number items become ``36.5``, in place.

    REDCap's comma-decimal validation types (``number_comma_decimal``,
    ``number_1dp_comma_decimal`` ...) export the value as typed; REDCap never
    writes a thousands separator, so ``d,d`` is a decimal comma. Returns one
    note per column changed.

    Examples
    --------
    >>> frame = pd.DataFrame({"temp": ["36,5", "37.0", ""]})
    >>> notes = normalise_cells(frame, ["temp"])
    >>> frame["temp"].tolist(), notes[0].split(":")[0]
    (['36.5', '37.0', ''], "column 'temp'")
    """
    notes = []
    for column in numeric_columns:
        values = frame[column]
        if values.dtype.kind in "biuf":
            continue
        text = values.astype("string")
        comma = text.str.match(_COMMA_DECIMAL).fillna(False).to_numpy(dtype=bool)
        if comma.any():
            example = text[comma].iloc[0].strip()
            frame.loc[comma, column] = text[comma].str.strip().str.replace(",", ".", regex=False).to_numpy()
            notes.append(
                f"column {column!r}: {int(comma.sum())} number(s) written with a decimal comma"
                f" (REDCap's comma-decimal validation) read as {example.replace(',', '.')}"
            )
    return notes


def _blank(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Cells that are missing or empty text, column by column."""
    return pd.DataFrame(
        {c: (frame[c].isna() | frame[c].astype("string").str.strip().eq("")).fillna(True) for c in columns},
        index=frame.index,
    )


def rows_of_other_forms(frame: pd.DataFrame, item_columns: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """Rows that hold other REDCap forms, not the instrument's: set aside, not "empty rows".

    A REDCap export has one row per record and event, plus one per instance of
    each repeating instrument. A row where none of the instrument's fields is
    answered and the ``<form>_complete`` of the forms holding them is blank is
    a row of another form: an event where the form is not collected, or an
    instance of another repeating instrument. (REDCap writes ``0`` there when
    the form is designated but not filled in: such a row stays, an empty
    response.) Without ``_complete`` columns, rows of another repeating
    instrument with none of the fields answered are set aside.

    Returns the mask of rows set aside and a note saying how many and why.
    """
    columns = [str(c) for c in frame.columns]
    none = pd.Series(False, index=frame.index)
    present = [c for c in item_columns if c in frame.columns]
    if not present or not any(c in columns for c in ("redcap_event_name", "redcap_repeat_instrument")):
        return none, []
    answered = ~_blank(frame, present).all(axis=1)
    completes = set()
    for column in present:  # a form's fields are followed by its <form>_complete column
        after = columns[columns.index(column) + 1 :]
        form_complete = next((c for c in after if c.endswith("_complete")), None)
        if form_complete is not None:
            completes.add(form_complete)
    if completes:
        aside = ~answered & _blank(frame, sorted(completes)).all(axis=1)
    elif "redcap_repeat_instrument" in columns:
        aside = ~answered & ~_blank(frame, ["redcap_repeat_instrument"])["redcap_repeat_instrument"]
    else:
        return none, []
    if not aside.any():
        return none, []
    parts = []
    if "redcap_repeat_instrument" in columns:
        repeat = frame.loc[aside, "redcap_repeat_instrument"].astype("string").str.strip()
        for name, count in repeat[repeat.fillna("") != ""].value_counts(sort=False).items():
            parts.append(f"{count} of repeating instrument {name!r}")
        base = int((repeat.fillna("") == "").sum())
    else:
        base = int(aside.sum())
    if base:
        parts.append(f"{base} of events without the instrument's form")
    return aside, [
        f"{int(aside.sum())} rows hold other REDCap forms and were set aside, not scored ({'; '.join(parts)})"
    ]


def event_order(
    frame: pd.DataFrame,
    wave_column: str,
    *,
    id_column: str | None = None,
    events: Sequence[str] | str | Path | None = None,
) -> list[str]:
    """REDCap's events in the project's order, never alphabetical.

    ``events``, the project's event list (unique event names in order, or the
    path of REDCap's events export, ``unique_event_name`` column), gives the
    order when known. Otherwise the export gives it: REDCap writes each
    record's rows in the project's event order, so an event goes after every
    event that precedes it within some record (``id_column``, default the
    first column), ties in order of first appearance. Events of the export
    missing from ``events`` follow in that order.

    Examples
    --------
    >>> events = ["screening", "month_6", "screening", "baseline", "month_6", "month_12"]
    >>> frame = pd.DataFrame({"record_id": [1, 1, 2, 2, 2, 2],
    ...                       "redcap_event_name": [f"{e}_arm_1" for e in events]})
    >>> event_order(frame, "redcap_event_name")
    ['screening_arm_1', 'baseline_arm_1', 'month_6_arm_1', 'month_12_arm_1']
    >>> event_order(frame, "redcap_event_name", events=["baseline_arm_1", "screening_arm_1"])
    ['baseline_arm_1', 'screening_arm_1', 'month_6_arm_1', 'month_12_arm_1']
    """
    values = frame[wave_column].astype("string").str.strip()
    values = values[values.fillna("") != ""]
    ids = (frame[id_column] if id_column is not None else frame.iloc[:, 0]).astype(str).loc[values.index]
    after: dict[str, set[str]] = {}
    for _, group in values.groupby(ids, sort=False):
        seen: list[str] = []
        for event in dict.fromkeys(group):
            after.setdefault(event, set()).update(seen)
            seen.append(event)
    remaining = list(dict.fromkeys(values))
    order = [e for e in dict.fromkeys(str(e).strip() for e in _project_events(events)) if e in after]
    remaining = [e for e in remaining if e not in order]
    while remaining:
        ready = next((e for e in remaining if not (after[e] - set(order))), remaining[0])
        order.append(ready)
        remaining.remove(ready)
    return order


def _project_events(events: Sequence[str] | str | Path | None) -> list[str]:
    """The unique event names of the project's event list (a sequence, or REDCap's events export)."""
    if events is None:
        return []
    if isinstance(events, (str, Path)):
        try:
            table = pd.read_csv(events, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise SdtSurveyError(f"{events}: cannot read the project's events: {exc}") from exc
        if "unique_event_name" not in table.columns:
            raise SdtSurveyError(
                f"{events}: REDCap's events export has a 'unique_event_name' column; "
                f"columns: {', '.join(table.columns[:10])}"
            )
        return table["unique_event_name"].tolist()
    return [str(e) for e in events]


def record_id_column(columns: Sequence[str]) -> str | None:
    """The record id of an export whose project renamed it (``study_id``): the first column.

    Examples
    --------
    >>> record_id_column(["study_id", "redcap_event_name", "age"]), record_id_column(["a", "b"])
    ('study_id', None)
    """
    if len(columns) > 1 and columns[1] in ("redcap_event_name", "redcap_repeat_instrument"):
        return columns[0]
    return None
