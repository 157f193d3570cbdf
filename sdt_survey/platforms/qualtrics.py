"""Qualtrics: an Advanced Format .txt to import, and notes on what to set by hand.

Import the .txt in Survey > Tools > Import/Export > Import Survey. The file is
Qualtrics' *Advanced Format* (first line ``[[AdvancedFormat]]``):

* one ``[[Block:...]]`` per section, ``[[PageBreak]]`` between blocks; the
  block name carries the instrument id and version;
* the consecutive Likert items of a section on one scale are one
  ``[[Question:Matrix]]``: the items are its statements (``[[Choices]]``, the
  item wording exactly, so that each data column's second header row is
  ``<question> - <item wording>``) and the scale points its
  ``[[AdvancedAnswers]]``/``[[Answer:n]]``, so the recode values are the
  scale codes, in their natural order (reverse-keyed items too);
* ``single`` and ``multiple`` items are ``[[Question:MC:SingleAnswer:Vertical]]``
  and ``[[Question:MC:MultipleAnswer:Vertical]]`` with
  ``[[AdvancedChoices]]``/``[[Choice:n]]`` (recode value = choice code);
* ``integer``, ``number`` and ``date`` items are ``[[Question:TE:SingleLine]]``,
  ``text`` items ``[[Question:TE:Essay]]``;
* every question has ``[[ID:...]]``: the item id (the matrix's id is its
  section), so that data export tags are item ids;
* a scale's non-substantive choices (``8``, Don't know) follow its points in
  the matrix answers; a section's notes are ``[[Question:DB]]`` texts where
  they stand; a hint follows the question text in small type (a matrix
  statement's hint, which would change the statement's wording, is listed in
  the notes file); a slider is a ``TE:SingleLine`` number question (the
  format has no slider: the notes say how to turn it into one); identifier
  items are listed in the notes, to be marked in Qualtrics;
* a ``[[Question:DB]]`` text at the start records the instrument ids and versions.

The format cannot carry display logic, response requirements or content
validation. Every ``show_if`` is listed in the result's warnings and, with the
rest, in a notes file written beside the .txt (``<stem>.notes.md``): in words,
and in the terms of Qualtrics' display-logic editor.

Examples
--------
>>> import tempfile, pathlib
>>> from sdt_survey.platforms import build_survey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "continuity.txt"
>>> result = write(build_survey("continuity-exposure"), out)
>>> [path.name for path in result.paths]
['continuity.txt', 'continuity.notes.md']
>>> out.read_text().splitlines()[0]
'[[AdvancedFormat]]'
>>> print(result.warnings[0])  # doctest: +NORMALIZE_WHITESPACE
halfdays_with_preceptor: set its display logic by hand in Qualtrics: show only if
has_usual_preceptor is "Yes" (1) and clinic_halfdays_4wk is greater than 0 (see continuity.notes.md)
"""

from __future__ import annotations

import html
import json
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import SdtSurveyError
from ..files import Transaction
from ..instrument import Item, code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .result import ExportResult
from .survey import Survey, SurveySection, html_line
from .table import Claim, ResponseTable, match_by_text, normalise_text

#: The id of the descriptive text that records the instrument ids and versions.
PROVENANCE_ID = "sdt_provenance"

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_MIRRORED_OP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATED_OP = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_OP_WORDS = {
    "==": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is greater than",
    ">=": "is at least",
}
#: How a condition on choices reads: (multiple-choice item?, any of the codes?, one code?) -> verb.
_CHOICE_VERBS = {
    (True, True, True): "includes",
    (True, True, False): "includes any of",
    (True, False, True): "does not include",
    (True, False, False): "includes none of",
    (False, True, True): "is",
    (False, True, False): "is one of",
    (False, False, True): "is not",
    (False, False, False): "is none of",
}
_OP_TERMS = {
    "==": "Is Equal To",
    "!=": "Is Not Equal To",
    "<": "Is Less Than",
    "<=": "Is Less Than or Equal To",
    ">": "Is Greater Than",
    ">=": "Is Greater Than or Equal To",
}


@dataclass
class Question:
    """One question of the Advanced Format file.

    ``kind`` is the Advanced Format type (``Matrix``, ``MC:SingleAnswer:Vertical``,
    ``TE:SingleLine``, ``DB``, ...); ``tag`` its ``[[ID:]]``; ``rows`` the
    matrix statements or the choices as (code, text); ``answers`` the matrix
    scale points as (code, text); ``items`` the items it asks.
    """

    kind: str
    tag: str
    text: str
    rows: list[tuple[object, str]] = field(default_factory=list)
    answers: list[tuple[object, str]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    recoded: bool = True


@dataclass
class Block:
    """A section of the survey: a Qualtrics block and its questions."""

    name: str
    questions: list[Question] = field(default_factory=list)


def _html(text: str, where: str) -> str:
    """Text as Qualtrics shows it: HTML-escaped, line breaks as ``<br>``."""
    return "<br>".join(_one_line(line, where) for line in text.strip().splitlines())


def _one_line(text: str, where: str) -> str:
    """One line of HTML that cannot restructure the file.

    The Advanced Format's structure is ``[[...]]`` tags (``[[PageBreak]]``,
    ``[[Block:x]]``, ``[[Question:MC]]``, ``[[Choices]]``); every ``[`` of a
    text is written as the reference ``&#91;``, which Qualtrics shows as ``[``.
    """
    return html_line(text, where).replace("[", "&#91;")


def _is_recode(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _intro(survey: Survey, section: SurveySection) -> str:
    title = survey.text(section.section.title)
    preamble = survey.text(section.section.preamble)
    where = f"section {section.section.id}"
    parts = [f"<b>{_one_line(title, where)}</b>" if title else "", _html(preamble, where) if preamble else ""]
    return "<br>".join(part for part in parts if part)


def _question(survey: Survey, item: Item, warnings: list[str]) -> Question:
    """The question of a non-Likert item, tagged by its id."""
    text = _html(survey.item_text(item), f"item {item.id}")
    if item.hint is not None:
        hint = _html(survey.text(item.hint), f"the hint of item {item.id}")
        text += f'<br><span style="font-size: small;">{hint}</span>'
    if item.type not in ("single", "multiple"):
        return Question("TE:Essay" if item.type == "text" else "TE:SingleLine", item.id, text, items=[item])
    kind = "MC:SingleAnswer:Vertical" if item.type == "single" else "MC:MultipleAnswer:Vertical"
    recoded = all(_is_recode(choice.value) for choice in item.choices)
    if not recoded:
        warnings.append(
            f"{item.id}: Qualtrics recode values are numbers, so its codes "
            f"({', '.join(str(c.value) for c in item.choices)}) are numbered 1..{len(item.choices)} "
            "in the file; recode them in Qualtrics before collecting data"
        )
    rows = [
        (choice.value if recoded else number, _one_line(survey.text(choice.label), f"item {item.id}"))
        for number, choice in enumerate(item.choices, start=1)
    ]
    return Question(kind, item.id, text, rows=rows, items=[item], recoded=recoded)


def build_blocks(survey: Survey) -> tuple[list[Block], list[str]]:
    """The blocks and questions of the import file, and warnings about what Qualtrics cannot hold.

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> blocks, warnings = build_blocks(build_survey("bpn-residency"))
    >>> [(q.kind, q.tag, len(q.rows)) for q in blocks[0].questions]
    [('DB', 'sdt_provenance', 0), ('Matrix', 'needs', 24)]
    >>> blocks[0].questions[1].answers[:2]
    [(1, 'Not at all true'), (2, 'Slightly true')]
    """
    # Export tags must be unique: item ids, and names for matrices and texts that differ from them.
    taken = {item.id for item in survey.items} | {PROVENANCE_ID}
    warnings: list[str] = []

    def unique_tag(stem: str) -> str:
        tag, count = stem, 1
        while tag in taken:
            count += 1
            tag = f"{stem}_{count}"
        taken.add(tag)
        return tag

    blocks: list[Block] = []
    for section in survey.sections:
        name = survey.section_name(section)
        block = Block(f"{name} ({section.instrument.id} {section.instrument.version})")
        if not blocks:
            provenance = (
                f"<b>{_one_line(survey.title, 'the title')}</b><br>"
                f'<span style="font-size: small;">sdt-survey: {_one_line(survey.provenance, "")}'
                f" (stamp {_one_line(survey.stamp, '')})</span>"
            )
            block.questions.append(Question("DB", PROVENANCE_ID, provenance))
        # The title and preamble head the block once; a later matrix repeats only the instruction.
        intro = _intro(survey, section)
        instruction = _html(
            survey.text(section.section.preamble) or survey.text(section.section.title),
            f"section {section.section.id}",
        )
        matrix: Question | None = None
        for item in section.layout():
            if not isinstance(item, Item):
                # A note between items: a descriptive text, which also ends a matrix.
                if intro:
                    block.questions.append(Question("DB", unique_tag(f"{name}_intro"), intro))
                    intro = ""
                matrix = None
                text = _html(survey.text(item.text), f"note {item.id}")
                block.questions.append(Question("DB", unique_tag(item.id), text))
                continue
            statement = _one_line(survey.item_text(item), f"item {item.id}") if item.scale is not None else ""
            if matrix is not None and item.scale == matrix.items[-1].scale:
                matrix.rows.append((len(matrix.rows) + 1, statement))
                matrix.items.append(item)
                continue
            if item.scale is not None:
                anchors = [
                    _one_line(survey.text(label), f"scale {item.scale.id}")
                    for label in item.scale.choice_labels
                ]
                matrix = Question(
                    "Matrix",
                    unique_tag(name),
                    intro or instruction or f"{anchors[0]} … {anchors[len(item.scale.values) - 1]}",
                    rows=[(1, statement)],
                    answers=list(zip(item.scale.choice_values, anchors, strict=True)),
                    items=[item],
                )
                block.questions.append(matrix)
                intro = ""
                continue
            matrix = None
            if intro:
                block.questions.append(Question("DB", unique_tag(f"{name}_intro"), intro))
                intro = ""
            block.questions.append(_question(survey, item, warnings))
        if intro:  # a section of only a title and preamble still shows them
            block.questions.append(Question("DB", unique_tag(f"{name}_intro"), intro))
        blocks.append(block)
    return blocks, warnings


def render(blocks: list[Block]) -> str:
    """The Advanced Format text of the blocks.

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> blocks, _ = build_blocks(build_survey("program-belonging"))
    >>> text = render(blocks)
    >>> text.splitlines()[:3]
    ['[[AdvancedFormat]]', '', '[[Block:belonging (program-belonging 1.0.0)]]']
    >>> "[[Answer:1]]\\nStrongly disagree" in text
    True
    """
    lines = ["[[AdvancedFormat]]", ""]
    for index, block in enumerate(blocks):
        if index:
            lines += ["[[PageBreak]]", ""]
        lines += [f"[[Block:{block.name}]]", ""]
        for question in block.questions:
            lines += [f"[[Question:{question.kind}]]", f"[[ID:{question.tag}]]", question.text]
            if question.kind == "Matrix":
                lines.append("[[Choices]]")
                lines += [text for _, text in question.rows]
                lines.append("[[AdvancedAnswers]]")
                for code, text in question.answers:
                    lines += [f"[[Answer:{code_text(code)}]]", text]
            elif question.kind.startswith("MC:"):
                lines.append("[[AdvancedChoices]]")
                for code, text in question.rows:
                    lines += [f"[[Choice:{code_text(code)}]]", text]
            lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------- display logic


@dataclass(frozen=True)
class _Where:
    """Where an item lives in Qualtrics, for display-logic terms."""

    tag: str
    statement: str | None = None

    def question(self) -> str:
        if self.statement is None:
            return f"Question {self.tag}"
        return f'Question {self.tag} › statement "{_short(self.statement)}"'


def _short(text: str, limit: int = 60) -> str:
    text = html.unescape(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _LogicTranslator:
    """``show_if`` in words and in Qualtrics display-logic terms (``not`` pushed down)."""

    def __init__(self, survey: Survey, where: Mapping[str, _Where]):
        self.survey = survey
        self.items = {item.id: item for item in survey.items}
        self.where = where
        self.inexpressible: list[str] = []

    def translate(self, expr: Expression) -> tuple[str, list[str]]:
        """The condition in words, and as display-logic lines (``If ...``, ``And If ...``)."""
        negate = False
        while isinstance(expr, Not):
            expr, negate = expr.operand, not negate
        if not isinstance(expr, BoolOp):
            words, terms = self._node(expr, negate, nested=False)
            return words, [f"If {terms}"]
        op = {"and": "or", "or": "and"}[expr.op] if negate else expr.op
        parts = [self._node(operand, negate, nested=True) for operand in expr.operands]
        lines = [f"If {parts[0][1]}"] + [f"{op.capitalize()} If {terms}" for _, terms in parts[1:]]
        return f" {op} ".join(words for words, _ in parts), lines

    def _node(self, expr: Expression, negate: bool, nested: bool) -> tuple[str, str]:
        if isinstance(expr, Not):
            return self._node(expr.operand, not negate, nested)
        if isinstance(expr, BoolOp):
            op = {"and": "or", "or": "and"}[expr.op] if negate else expr.op
            parts = [self._node(operand, negate, nested=True) for operand in expr.operands]
            words = f" {op} ".join(w for w, _ in parts)
            terms = f" {op.upper()} ".join(t for _, t in parts)
            return (f"({words})", f"({terms})") if nested else (words, terms)
        if isinstance(expr, Membership):
            item = self.items[expr.item.id]
            values = [literal.value for literal in expr.values]
            if self._coded(item):
                return self._coded_terms(item, values, any_of=expr.negated == negate, nested=nested)
            op = "!=" if expr.negated != negate else "=="
            parts = [self._typed(item, op, value) for value in values]
            join = "and" if op == "!=" else "or"
            return self._join(parts, join, nested)
        assert isinstance(expr, Comparison)
        left, op, right = expr.left, expr.op, expr.right
        if isinstance(left, Literal) and isinstance(right, Name):
            left, op, right = right, _MIRRORED_OP[op], left
        assert isinstance(left, Name)
        if isinstance(right, Name):
            shown_op = _NEGATED_OP[op] if negate else op
            words = f"{left.id} {_OP_WORDS[shown_op]} {right.id}"
            self.inexpressible.append(words)
            return words, f"[not expressible: display logic cannot compare {left.id} with {right.id}]"
        item = self.items[left.id]
        value = right.value
        if self._coded(item):
            codes = self._codes(item)
            if op in ("==", "!="):
                chosen, any_of = [value], (op == "==") != negate
            elif all(isinstance(c, (int, float)) for c in codes) and isinstance(value, (int, float)):
                chosen, any_of = [c for c in codes if _ORDERING[op](c, value)], not negate
            else:
                raise SdtSurveyError(f"{item.id}: cannot order the codes of {item.id!r} with {op!r}")
            return self._coded_terms(item, chosen, any_of=any_of, nested=nested)
        if not negate:
            return self._typed(item, op, value)
        negated = _NEGATED_OP[op]
        if op in ("==", "!="):
            return self._typed(item, negated, value)
        # An ordered comparison is false when unanswered, so its negation includes "empty".
        empty = (f"{item.id} is unanswered", f"{self.where[item.id].question()} › Text Response › Is Empty")
        return self._join([empty, self._typed(item, negated, value)], "or", nested)

    @staticmethod
    def _coded(item: Item) -> bool:
        return item.scale is not None or item.type in ("single", "multiple")

    @staticmethod
    def _codes(item: Item) -> list[object]:
        return list(item.scale.values) if item.scale is not None else [c.value for c in item.choices]

    def _label(self, item: Item, code: object) -> str:
        if item.scale is not None:
            return self.survey.text(item.scale.labels[item.scale.values.index(code)])
        for choice in item.choices:
            if str(choice.value) == str(code):
                return self.survey.text(choice.label)
        return str(code)

    def _coded_terms(self, item: Item, codes: list[object], any_of: bool, nested: bool) -> tuple[str, str]:
        """Any of ``codes`` chosen (``any_of``), or none of them: exact for unanswered items too."""
        shown = [f'"{self._label(item, code)}" ({code_text(code)})' for code in codes]
        verb = _CHOICE_VERBS[(item.type == "multiple", any_of, len(codes) == 1)]
        words = f"{item.id} {verb} {', '.join(shown)}" if codes else f"{item.id}: no code qualifies"
        where = self.where[item.id]
        state = "Is Selected" if any_of else "Is Not Selected"
        terms = [f'{where.question()} › "{self._label(item, code)}" › {state}' for code in codes]
        joined = f" {'OR' if any_of else 'AND'} ".join(terms) or "[never true: no choice qualifies]"
        return words, f"({joined})" if nested and len(terms) > 1 else joined

    def _typed(self, item: Item, op: str, value: object) -> tuple[str, str]:
        shown = code_text(value)
        words = f"{item.id} {_OP_WORDS[op]} {shown}"
        return words, f"{self.where[item.id].question()} › Text Response › {_OP_TERMS[op]} › {shown}"

    @staticmethod
    def _join(parts: list[tuple[str, str]], op: str, nested: bool) -> tuple[str, str]:
        words = f" {op} ".join(w for w, _ in parts)
        terms = f" {op.upper()} ".join(t for _, t in parts)
        if nested and len(parts) > 1:
            return f"({words})", f"({terms})"
        return words, terms


def _locations(blocks: list[Block]) -> dict[str, _Where]:
    where = {}
    for block in blocks:
        for question in block.questions:
            for position, item in enumerate(question.items):
                statement = question.rows[position][1] if question.kind == "Matrix" else None
                where[item.id] = _Where(question.tag, statement)
    return where


# -------------------------------------------------------------------------- notes


def _notes(
    survey: Survey, blocks: list[Block], txt_name: str, logic: list[tuple[Item, str, list[str]]]
) -> str:
    where = _locations(blocks)
    lines = [
        f"# Qualtrics: what to set by hand after importing {txt_name}",
        "",
        f"Generated by sdt-survey from {survey.provenance} (language: {survey.language}).",
        f"Stamp (instrument@version#content hash): {survey.stamp}",
        "Paste it into the survey's description (Survey options > Title and metadata) so that the",
        "survey and its data can be traced to this definition.",
        "",
        "Import: Survey > Tools > Import/Export > Import Survey, choose the .txt file. Then check, in each",
        "question's options, that its export tag is the item id given below (Qualtrics may number them",
        "Q1, Q2, ... instead; rename them, or keep the question wording unchanged so the data still reads).",
        "",
        "Qualtrics' Advanced Format cannot carry display logic, response requirements or content",
        "validation: set each of the following in the survey editor.",
        "",
        f"## Display logic ({len(logic)})",
        "",
    ]
    if not logic:
        lines += ["No question has display logic.", ""]
    for item, words, terms in logic:
        place = where[item.id]
        target = (
            f'statement "{_short(place.statement or "")}" of matrix {place.tag} (click the statement, then '
            "Display Logic)"
            if place.statement is not None
            else f"question {place.tag} (question menu > Display Logic)"
        )
        lines += [
            f"### {item.id}",
            "",
            f"Show only if {words}.",
            "",
            f"In Qualtrics, on {target}:",
            "",
            *("    " + line for line in terms),
            "",
        ]
    lines += [
        "A parenthesised group is one Logic Set (Add Logic Set), its conditions joined as written.",
        "An unanswered question is neither selected nor equal to anything, as in sdt-survey.",
        "",
        "## Force response",
        "",
    ]
    required = [item for item in survey.items if item.required]
    for block in blocks:
        for question in block.questions:
            asked = [item for item in question.items if item.required]
            if not asked:
                continue
            if question.kind == "Matrix" and len(asked) < len(question.items):
                lines.append(
                    f"- matrix {question.tag}: statements {', '.join(i.id for i in asked)} are required "
                    "(Force Response applies to all statements; use Custom validation for some)"
                )
            else:
                lines.append(f"- {question.tag}: Response requirements > Force response")
    if not required:
        lines.append("No question is required.")
    lines += ["", "## Content validation", ""]
    validated = False
    for item in survey.items:
        if item.type == "slider":
            lines.append(
                f"- {item.id}: a slider from {code_text(item.min)} to {code_text(item.max)} in steps of "
                f"{code_text(item.step)}; the import gives a text entry: change its type to Slider "
                "(keep the export tag), or set Validation > Content validation > Number, "
                f"min {code_text(item.min)}, max {code_text(item.max)}"
            )
            validated = True
        elif item.type in ("integer", "number"):
            bounds = ", ".join(
                part
                for part in (
                    f"min {code_text(item.min)}" if item.min is not None else "",
                    f"max {code_text(item.max)}" if item.max is not None else "",
                )
                if part
            )
            kind = "a whole number (0 decimal places)" if item.type == "integer" else "a number"
            lines.append(
                f"- {item.id}: Validation > Content validation > Number: {kind}"
                + (f", {bounds}" if bounds else "")
            )
            validated = True
        elif item.type == "date":
            lines.append(f"- {item.id}: Validation > Content validation > Date, format yyyy/mm/dd")
            validated = True
    if not validated:
        lines.append("No question needs content validation.")
    recoded = [
        q.tag for block in blocks for q in block.questions if q.kind.startswith("MC:") and not q.recoded
    ]
    if recoded:
        lines += ["", "## Recode values", ""]
        lines += [
            f"- {tag}: choices are numbered 1..k; set the recode values to the item's codes"
            for tag in recoded
        ]
    missing = {code: reason for inst in survey.instruments for scale in inst.scales.values()
               for code, reason in scale.missing_codes.items()}  # fmt: skip
    lines += ["", "## Missing codes", ""]
    if missing:
        listed = ", ".join(f"{code} ({reason})" for code, reason in missing.items())
        lines += [
            f"The scales' missing codes ({listed}) are not offered as answers: a skipped question is",
            "blank in the export. Leave the export option 'Recode seen but unanswered questions as -99'",
            "off: numeric answers would then read as out of range.",
        ]
    else:
        lines.append("The scales declare no missing codes.")
    lines += _hint_and_identifier_notes(survey, blocks)
    names = " ".join(inst.id for inst in survey.instruments)
    lines += [
        "",
        "## Reading the data back",
        "",
        "Data & Analysis > Export & Import > Export Data > CSV, with 'Use numeric values' and",
        "'Split multi-value fields into columns', then:",
        "",
        f"    sdt-survey score {names} EXPORT.csv --source qualtrics --id-column ResponseId",
        "",
        "The columns of other questions are named by their item ids. A matrix statement's column is",
        "named by the matrix and the statement's number; the reader finds it by the statement's wording",
        "(row 2). If that wording was changed in Qualtrics, save this mapping as columns.yaml and add",
        "--map columns.yaml:",
        "",
        "```yaml",
        "columns:",
    ]
    for tag, item_id in matrix_columns(blocks).items():
        lines.append(f"  {tag}: {item_id}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _hint_and_identifier_notes(survey: Survey, blocks: list[Block]) -> list[str]:
    """Hints of matrix statements (not in the file) and identifier items (to mark by hand)."""
    in_matrix = {
        item.id for block in blocks for q in block.questions if q.kind == "Matrix" for item in q.items
    }
    lines: list[str] = []
    hinted = [item for item in survey.items if item.hint is not None and item.id in in_matrix]
    if hinted:
        lines += ["", "## Hints of matrix statements", ""]
        lines += ["A matrix statement has no room for help text; add these under the matrix if wanted:", ""]
        lines += [f"- {item.id}: {survey.text(item.hint)}" for item in hinted]
    identifiers = [item.id for item in survey.items if item.identifier]
    if identifiers:
        lines += ["", "## Identifiers", ""]
        lines += [
            f"These questions identify a respondent: {', '.join(identifiers)}. Restrict who can see them",
            "(e.g. classify them as sensitive data, or leave them out of shared exports); sdt-survey drops",
            "them when it reads the data (or pseudonymizes them with --pseudonymize-key).",
        ]
    return lines


def matrix_columns(blocks: list[Block]) -> dict[str, str]:
    """Export-tag column of each matrix statement -> item id (``needs_1`` -> ``as1``).

    Examples
    --------
    >>> from sdt_survey.platforms import build_survey
    >>> blocks, _ = build_blocks(build_survey("program-belonging"))
    >>> list(matrix_columns(blocks).items())[:2]
    [('belonging_1', 'pb1'), ('belonging_2', 'pb2')]
    """
    return {
        f"{question.tag}_{number}": item.id
        for block in blocks
        for question in block.questions
        if question.kind == "Matrix"
        for number, item in enumerate(question.items, start=1)
    }


# -------------------------------------------------------------------------- write


def notes_file(out: Path) -> Path:
    """The notes file written beside the import file ``out``: ``<stem>.notes.md``."""
    return out.with_name(f"{out.stem}.notes.md")


def side_outputs(out: Path) -> dict[str, Path]:
    """Files the export writes besides ``out``, by what they are (for the CLI's overwrite check)."""
    return {"the notes file beside --out": notes_file(out)}


def write(survey: Survey, out: Path, *, overwrite: bool = False) -> ExportResult:
    """Write the Qualtrics Advanced Format file of ``survey``, and its notes beside it.

    Parameters
    ----------
    survey : Survey
        From :func:`sdt_survey.platforms.build_survey` (one language: ``--lang``).
    out : pathlib.Path
        The ``.txt`` to write; the notes go to ``<stem>.notes.md`` in the same folder.
    overwrite : bool
        Replace existing files (otherwise an error). Both files are written
        together, or neither (see :class:`sdt_survey.files.Transaction`).

    Returns
    -------
    ExportResult
        ``paths`` are the .txt and the notes; ``warnings`` name every
        ``show_if`` to set by hand as display logic.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sdt_survey.platforms import build_survey
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "bpn.txt"
    >>> result = write(build_survey("bpn-residency", language="es"), out)
    >>> "[[Answer:1]]\\nNada cierto" in out.read_text(encoding="utf-8"), result.warnings
    (True, [])
    """
    blocks, warnings = build_blocks(survey)
    notes_path = notes_file(out)
    translator = _LogicTranslator(survey, _locations(blocks))
    logic: list[tuple[Item, str, list[str]]] = []
    for item in survey.items:
        if item.show_if is None:
            continue
        words, lines = translator.translate(item.show_if)
        logic.append((item, words, lines))
        warnings.append(
            f"{item.id}: set its display logic by hand in Qualtrics: show only if {words} "
            f"(see {notes_path.name})"
        )
    for words in translator.inexpressible:
        warnings.append(
            f"Qualtrics display logic cannot compare two questions ({words}); see {notes_path.name}"
        )
    with Transaction(overwrite=overwrite) as files:
        files.stage(out).write_text(render(blocks), encoding="utf-8")
        files.stage(notes_path).write_text(_notes(survey, blocks, out.name, logic), encoding="utf-8")
    names = " ".join(inst.id for inst in survey.instruments)
    notes = [
        "import in Survey > Tools > Import/Export > Import Survey; "
        f"then set what {notes_path.name} lists (display logic, force response, validation)",
        f"read the collected data back with: sdt-survey score {names} EXPORT.csv --source qualtrics "
        "--id-column ResponseId (CSV, numeric values)",
    ]
    return ExportResult(
        target="qualtrics", paths=[out, notes_path], survey=survey.id, warnings=warnings, notes=notes
    )


__all__ = ["PROVENANCE_ID", "Block", "Question", "build_blocks", "matrix_columns", "render", "write"]


# ------------------------------------------------------------ reading collected responses


_QUALTRICS_META = {"startdate", "enddate", "responseid", "recordeddate", "distributionchannel"}
#: Every column Qualtrics adds to a response export (lower case): never an "added" column (drift).
_METADATA = _QUALTRICS_META | {
    "status", "ipaddress", "progress", "duration (in seconds)", "finished", "recipientlastname",
    "recipientfirstname", "recipientemail", "externalreference", "locationlatitude", "locationlongitude",
    "userlanguage", "q_recaptchascore", "q_relevantidduplicate", "q_relevantidduplicatescore",
    "q_relevantidfraudscore", "q_relevantidlaststartdate",
    # 2016 (Insights) and legacy exports
    "responseset", "externaldatareference", "emailaddress", "name", "locationaccuracy",
}  # fmt: skip
#: The legacy export's metadata columns (``V1``..``V10``), named in its second header row.
_LEGACY_METADATA = {"responseid", "responseset", "name", "externaldatareference", "emailaddress", "ipaddress",
                    "status", "startdate", "enddate", "finished"}  # fmt: skip


def is_metadata_column(name: str) -> bool:
    """Whether Qualtrics adds the column to every export (``StartDate``, ``ResponseId``, ...)."""
    return name.lower() in _METADATA


def looks_like_import_ids(row: pd.Series) -> bool:
    cells = [str(c) for c in row.tolist() if isinstance(c, str) and c.strip()]
    hits = sum(c.startswith(('{"ImportId"', "{'ImportId'")) for c in cells)
    return bool(cells) and hits >= max(1, len(cells) // 2)


def import_id(cell: object) -> dict | None:
    """The ``{"ImportId": ...}`` of a Qualtrics third header row (JSON, or the older Python style)."""
    if not isinstance(cell, str) or "ImportId" not in cell:
        return None
    try:
        parsed = json.loads(cell)
    except json.JSONDecodeError:
        try:
            parsed = json.loads(cell.replace("'", '"'))
        except json.JSONDecodeError:
            return None
    return parsed if isinstance(parsed, dict) else None


def header_rows(frame: pd.DataFrame) -> int:
    """Header rows below the column names: 2 in current exports, 1 in the legacy layouts."""
    if len(frame) >= 2 and looks_like_import_ids(frame.iloc[1]):
        return 2
    columns = [str(c) for c in frame.columns]
    first_row = [str(c) for c in frame.iloc[0].tolist()] if len(frame) else []
    if columns[:2] == ["V1", "V2"] or first_row[:2] == ["ResponseID", "ResponseSet"]:
        return 1
    if columns[:2] == ["ResponseID", "ResponseSet"]:
        return 1
    return 0


def detect(table: ResponseTable, items: Sequence[Item]) -> list[tuple[str, str]]:
    """Why the file looks like a Qualtrics export, or nothing."""
    frame = table.frame
    lower = {str(c).lower() for c in frame.columns}
    if len(frame) >= 2 and looks_like_import_ids(frame.iloc[1]):
        return [("qualtrics", 'three header rows with {"ImportId": ...} in the third')]
    if header_rows(frame) == 1:
        return [("qualtrics", "a legacy Qualtrics export (two header rows)")]
    if len(lower & _QUALTRICS_META) >= 3:
        return [("qualtrics", "Qualtrics metadata columns (StartDate, ResponseId, ...)")]
    return []


def prepare(table: ResponseTable) -> int:
    """Move the header rows below the column names into ``extra_headers``; the number moved."""
    extra = header_rows(table.frame)
    table.extra_headers = [table.frame.iloc[i].tolist() for i in range(extra)]
    table.frame = table.frame.iloc[extra:].reset_index(drop=True)
    if extra == 1:
        _name_legacy_metadata(table)
    return extra


def _name_legacy_metadata(table: ResponseTable) -> None:
    """The legacy export's ``V1``..``V10``, named as its second header row names them (``ResponseID``).

    The record id, the IP address and the e-mail address are then known as
    what they are (the respondent id; identifiers), as in the file's own words.
    """
    texts = [str(t).strip() for t in table.extra_headers[0]]
    columns = [str(c) for c in table.frame.columns]
    rename = {
        column: text
        for column, text in zip(columns, texts, strict=False)
        if re.fullmatch(r"V\d+", column) and text.lower() in _LEGACY_METADATA and text not in columns
    }
    if rename:
        table.frame = table.frame.rename(columns=rename)
        shown = ", ".join(f"{a} is {b}" for a, b in list(rename.items())[:4])
        table.notes.append(
            f"legacy Qualtrics export: columns {shown}{', ...' if len(rename) > 4 else ''} "
            "(named by the second header row)"
        )


def match_columns(
    table: ResponseTable,
    items: Sequence[Item],
    columns: list[str],
    matched: dict[str, list[str]],
    used: set[str],
    claim: Claim,
) -> dict[str, dict[str, str]]:
    """Split multiple-answer questions, then ImportIds and question texts of the header rows."""
    if not table.extra_headers:
        return {}
    split = _match_split(table, items, columns, matched, used)
    _match_import_ids(table, items, columns, claim)
    return split


def _match_import_ids(table: ResponseTable, items: Sequence[Item], columns: list[str], claim) -> None:
    texts = table.extra_headers[0] if table.extra_headers else []
    import_ids = table.extra_headers[1] if len(table.extra_headers) > 1 else []
    by_import: dict[str, str] = {}
    for column, cell in zip(columns, import_ids, strict=False):
        parsed = import_id(cell)
        if parsed and isinstance(parsed.get("ImportId"), str) and "choiceId" not in parsed:
            by_import[parsed["ImportId"]] = column
    for item in items:
        alias = item.aliases.get("qualtrics")
        if alias and alias in by_import:
            claim(item.id, by_import[alias], f"Qualtrics ImportId {alias}")
    match_by_text(items, columns, claim, "its question text", texts=texts)


def _match_split(
    table: ResponseTable,
    items: Sequence[Item],
    columns: list[str],
    matched: dict[str, list[str]],
    used: set[str],
) -> dict[str, dict[str, str]]:
    """A Qualtrics multiple-answer question split into columns: ImportId QIDn with a choiceId each.

    The item names the question by ``aliases: {qualtrics: QIDn}`` or by an
    export tag equal to its id; a column's code is its suffix (the recode value).
    The 2016 exports put the choice in the ImportId itself (``QID2_1``,
    ``QID2_-1``: no ``choiceId``).
    """
    texts = table.extra_headers[0] if table.extra_headers else []
    import_ids = table.extra_headers[1] if len(table.extra_headers) > 1 else []
    split: dict[str, dict[str, str]] = {}
    for item in items:
        if item.type != "multiple" or item.id in matched:
            continue
        names = {item.aliases.get("qualtrics"), item.id} - {None}
        # Without its export tag the question is known by its wording in the second header row:
        # "<question> - <choice>" or "<question> - Selected Choice - <choice>".
        wordings = {normalise_text(t) for t in item.text.translations.values()} if item.text else set()
        by_wording: dict[str, list[str]] = {}
        codes: dict[str, str] = {}
        for column, cell, text in zip(columns, import_ids, texts or [""] * len(columns), strict=False):
            parsed = import_id(cell)
            question = str(parsed.get("ImportId")) if parsed else ""
            if parsed and "choiceId" not in parsed:
                # 2016: the choice is the ImportId's suffix (QID2_1, QID2_-1)
                found = re.fullmatch(r"(QID\d+)_(-?\w+)", question)
                if found is None:
                    continue
                parsed = {"ImportId": found.group(1), "choiceId": found.group(2)}
            if not parsed or column in used:
                continue
            stem, _, suffix = column.rpartition("_")
            if parsed.get("ImportId") in names or stem in names:
                codes[column] = suffix
            else:
                head = normalise_text(str(text)).split(" - ")[0]
                if head in wordings:
                    by_wording.setdefault(str(parsed.get("ImportId")), []).append(column)
        if not codes and len(by_wording) == 1:
            codes = {column: column.rpartition("_")[2] for column in next(iter(by_wording.values()))}
        if codes:
            matched[item.id] = list(codes)
            used.update(codes)
            split[item.id] = codes
    return split


# ------------------------------------------------------------ response status: previews, spam, unfinished

#: Qualtrics' ``Status`` column (the response type), as its numeric code or its label: what each is.
#: Responses of an ordinary distribution (0 IP Address, 4 Imported, 16 Offline) are not flagged.
STATUS_KINDS: dict[str, str] = {
    "1": "preview",
    "survey preview": "preview",
    "17": "preview",
    "offline survey preview": "preview",
    "2": "test",
    "survey test": "test",
    "8": "spam",
    "spam": "spam",
    "9": "spam",
    "survey preview spam": "spam",
    "preview spam": "spam",
    "12": "spam",
    "imported spam": "spam",
}

#: The kinds of record :func:`response_status` flags, in the order they are judged.
RESPONSE_KINDS = ("preview", "test", "spam", "unfinished")

#: What ``score(qualtrics_status=...)`` does with each kind. ``default``: previews, test responses and
#: spam are not real respondents and are left out; an unfinished response is often a real one who
#: stopped early, so it is kept and flagged (its scores follow each subscale's ``min_valid`` rule).
STATUS_POLICIES: dict[str, dict[str, str]] = {
    "default": {"preview": "exclude", "test": "exclude", "spam": "exclude", "unfinished": "keep"},
    "exclude": dict.fromkeys(RESPONSE_KINDS, "exclude"),
    "keep": dict.fromkeys(RESPONSE_KINDS, "keep"),
}

_FINISHED_NO = {"0", "false", "no", "f"}


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip().lower()


def response_status(frame: pd.DataFrame) -> pd.Series:
    """Each record's kind: ``preview``, ``test``, ``spam``, ``unfinished``, or ``None`` for an ordinary one.

    Read from the ``Status`` column (numeric codes or labels) and the
    ``Finished`` column (``0``/``False`` is unfinished); a file without them
    flags nothing.
    """
    kinds = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    columns = {str(c).lower(): c for c in frame.columns}
    if "finished" in columns:
        unfinished = frame[columns["finished"]].map(_cell_text).isin(_FINISHED_NO)
        kinds[unfinished] = "unfinished"
    if "status" in columns:
        status = frame[columns["status"]].map(_cell_text).map(STATUS_KINDS)
        kinds = status.where(status.notna(), kinds)
    return kinds


def status_actions(policy: str | dict[str, str]) -> dict[str, str]:
    """``score(qualtrics_status=...)`` as an action per kind: ``exclude`` or ``keep``.

    ``policy`` is ``"default"``, ``"exclude"``, ``"keep"``, or a mapping from
    some of :data:`RESPONSE_KINDS` to ``"exclude"``/``"keep"`` (the others as
    by default).
    """
    if isinstance(policy, str):
        if policy not in STATUS_POLICIES:
            raise SdtSurveyError(
                f"qualtrics_status={policy!r}: expected one of {', '.join(STATUS_POLICIES)}, "
                "or a mapping of kind -> exclude|keep"
            )
        return dict(STATUS_POLICIES[policy])
    actions = dict(STATUS_POLICIES["default"])
    for kind, action in dict(policy).items():
        if kind not in RESPONSE_KINDS or action not in ("exclude", "keep"):
            raise SdtSurveyError(
                f"qualtrics_status: {kind!r}: {action!r}: kinds are {', '.join(RESPONSE_KINDS)}, "
                "actions exclude or keep"
            )
        actions[kind] = action
    return actions
