"""Branching logic of other platforms, translated to ``show_if`` (the importers' shared half).

Each importer turns its platform's syntax into a stream of :class:`Token`
(REDCap's ``[field(code)] = '1'``, XLSForm's ``selected(${field}, 'a')``,
Qualtrics' display-logic conditions); :func:`translate` parses the stream
(``or`` binds looser than ``and``, ``not`` and parentheses as usual) and
builds the expression with the types of the items it names, so a code is
compared as the item stores it. What cannot be said in ``show_if``
(functions, arithmetic, other events, dates compared as text) raises
:class:`Untranslatable` with the reason; the importer then leaves the whole
condition out and reports it, never a part of it.

Examples
--------
>>> items = {"smoker": Target("smoker", "single", {"1": 1, "0": 0}), "packs": Target("packs", "integer")}
>>> tokens = [Token("ref", "smoker"), Token("op", "="), Token("value", "1"), Token("and"),
...           Token("ref", "packs"), Token("op", ">"), Token("value", 10)]
>>> translate(tokens, items.get).to_text()
'smoker == 1 and packs > 10'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..instrument import code_text
from ..instrument.expressions import BoolOp, Comparison, Expression, Literal, Membership, Name, Not
from .import_draft import Draft

#: Operators as platforms write them -> ``show_if``'s.
OPERATORS = {"=": "==", "==": "==", "<>": "!=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class Untranslatable(Exception):
    """A condition ``show_if`` cannot express; the message says why."""


@dataclass(frozen=True)
class Target:
    """What a condition needs to know of an item it names: its id, type and choice codes."""

    id: str
    type: str
    #: The choice codes as text (``"1"``) -> the value the item stores (``1``); empty for uncoded items.
    codes: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Token:
    """One piece of a condition.

    ``kind`` is ``ref`` (an item, ``value`` its platform name), ``option``
    (one option of a multiple-choice item, ``value`` = (name, code), compared
    with 1 or 0 as REDCap does), ``selected`` (``value`` = (name, code): the
    option is chosen), ``value`` (a constant: text as written, or a number),
    ``op``, ``and``, ``or``, ``not``, ``(``, ``)``, or ``atom`` (a condition
    an importer built already, ``value`` an Expression).
    """

    kind: str
    value: object = None


Resolver = Callable[[str], "Target | None"]


def scan(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of ``pattern`` (named groups, one a ``space``) covering ``text``, spaces left out.

    Each platform's tokenizer turns the matches into :class:`Token`; a piece no group matches
    is :class:`Untranslatable`, named in the message.

    Examples
    --------
    >>> words = re.compile(r"(?P<space>\\s+)|(?P<word>[a-z]+)")
    >>> [m.group() for m in scan(words, "a bc")]
    ['a', 'bc']
    """
    position = 0
    while position < len(text):
        match = pattern.match(text, position)
        if match is None:
            rest = text[position:].split()[0] if text[position:].split() else text[position:]
            raise Untranslatable(f"it uses {rest[:30]!r}, which show_if has no equivalent for")
        position = match.end()
        if match.lastgroup != "space":
            yield match


def translate(tokens: Sequence[Token], resolve: Resolver) -> Expression:
    """The ``show_if`` expression of a condition, or :class:`Untranslatable` with the reason."""
    parser = _Parser(list(tokens), resolve)
    expr = parser.parse_or()
    if parser.position != len(parser.tokens):
        raise Untranslatable(f"unexpected {parser.describe()}")
    return expr


class _Parser:
    def __init__(self, tokens: list[Token], resolve: Resolver):
        self.tokens = tokens
        self.resolve = resolve
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == kind:
            self.position += 1
            return token
        return None

    def describe(self) -> str:
        token = self.peek()
        if token is None:
            return "end of the condition"
        return repr(token.value) if token.value is not None else repr(token.kind)

    def parse_or(self) -> Expression:
        operands = [self.parse_and()]
        while self.take("or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Expression:
        operands = [self.parse_not()]
        while self.take("and"):
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Expression:
        if self.take("not"):
            return Not(self.parse_not())
        if self.take("("):
            expr = self.parse_or()
            if not self.take(")"):
                raise Untranslatable(f"expected ')', found {self.describe()}")
            return expr
        token = self.peek()
        if token is None:
            raise Untranslatable("the condition ends too early")
        if token.kind == "atom":
            self.position += 1
            return token.value  # type: ignore[return-value]
        if token.kind == "selected":
            self.position += 1
            name, code = token.value  # type: ignore[misc]
            target = self.target(name)
            return Comparison("==", Name(target.id), self.literal(target, code, "=="))
        return self.comparison()

    def target(self, name: str) -> Target:
        target = self.resolve(name)
        if target is None:
            raise Untranslatable(f"it refers to {name!r}, which is not an imported item")
        return target

    def operand(self) -> tuple[str, object]:
        token = self.peek()
        if token is None or token.kind not in ("ref", "option", "value"):
            raise Untranslatable(f"expected a field or a value, found {self.describe()}")
        self.position += 1
        return token.kind, token.value

    def comparison(self) -> Expression:
        left = self.operand()
        op_token = self.take("op")
        if op_token is None:
            raise Untranslatable(f"expected a comparison, found {self.describe()}")
        op = OPERATORS.get(str(op_token.value))
        if op is None:
            raise Untranslatable(f"the operator {op_token.value!r} has no equivalent")
        right = self.operand()
        if left[0] == "value" and right[0] != "value":
            left, right, op = right, left, _MIRRORED[op]
        if left[0] == "value":
            raise Untranslatable("it compares two constants")
        if left[0] == "option":
            return self.option(left[1], op, right)
        target = self.target(str(left[1]))
        if target.type == "multiple":
            raise Untranslatable(
                f"it compares the whole answer of the multiple-choice {target.id!r}; "
                "a condition names one of its options"
            )
        if right[0] in ("ref", "option"):
            if right[0] == "option":
                raise Untranslatable("it compares a checkbox option with another field")
            other = self.target(str(right[1]))
            if {target.type, other.type} - {"integer", "number", "slider"} and op not in ("==", "!="):
                raise Untranslatable("it orders two fields that are not both numbers")
            return Comparison(op, Name(target.id), Name(other.id))
        return self.compare(target, op, right[1])

    def option(self, value: object, op: str, right: tuple[str, object]) -> Expression:
        name, code = value  # type: ignore[misc]
        target = self.target(name)
        if right[0] != "value" or code_text(right[1]).strip() not in ("0", "1") or op not in ("==", "!="):
            raise Untranslatable(f"an option of {name!r} is compared with {right[1]!r}, not with 1 or 0")
        ticked = (code_text(right[1]).strip() == "1") == (op == "==")
        literal = self.literal(target, code, "==")
        return Comparison("==" if ticked else "!=", Name(target.id), literal)

    def compare(self, target: Target, op: str, value: object) -> Expression:
        text = code_text(value).strip() if value is not None else ""
        if target.codes:
            if text == "":
                # "Answered" or "not answered": a coded item holds one of its codes when answered.
                if op not in ("==", "!="):
                    raise Untranslatable(f"it orders {target.id!r} against an empty value")
                values = tuple(Literal(v) for v in target.codes.values())
                return Membership(Name(target.id), values, negated=op == "==")
            if op not in ("==", "!="):
                number = _number(text)
                if number is None:
                    raise Untranslatable(f"it orders {target.id!r} against {text!r}")
                return Comparison(op, Name(target.id), Literal(number))
            return Comparison(op, Name(target.id), self.literal(target, text, op))
        if target.type in ("integer", "number", "slider"):
            if text == "":
                return Comparison(op, Name(target.id), Literal(""))
            number = _number(text)
            if number is None:
                raise Untranslatable(f"it compares the number {target.id!r} with {text!r}")
            return Comparison(op, Name(target.id), Literal(number))
        if op not in ("==", "!="):
            what = "a date" if target.type == "date" else "text"
            raise Untranslatable(
                f"it orders {target.id!r} ({what}) against {text!r}; show_if orders numbers only"
            )
        return Comparison(op, Name(target.id), Literal(text))

    @staticmethod
    def literal(target: Target, code: object, op: str) -> Literal:
        text = code_text(code).strip()
        if text not in target.codes:
            known = ", ".join(target.codes) or "none"
            raise Untranslatable(f"{text!r} is not a choice code of {target.id!r} (its codes: {known})")
        return Literal(target.codes[text])


def _number(text: str) -> int | float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() and "." not in text else number


def codes_of(item: dict) -> dict[str, int | str]:
    """The choice codes of an imported item as text -> stored value (empty for an uncoded item)."""
    return {code_text(c["value"]): c["value"] for c in item.get("choices", ())}


def target_of(item: dict) -> Target:
    """The :class:`Target` of an imported item (a dictionary in the instrument format's keys)."""
    return Target(item["id"], item["type"], codes_of(item))


def condition(
    draft: Draft,
    tokens: Sequence[Token] | Untranslatable,
    raw: str,
    row: int | None,
    name: str,
    what: str = "branching logic",
) -> Expression | None:
    """The ``show_if`` of a condition on the items imported so far, or ``None`` with a report line.

    ``tokens`` may be the :class:`Untranslatable` the importer met while
    reading the platform's syntax. Only items imported before ``name`` can be
    named, as branching may only depend on earlier items.
    """
    known = {item["id"]: item for item in draft.items}
    by_name = {draft.names.get(item_id, item_id): item for item_id, item in known.items()}

    def resolve(ref: str) -> Target | None:
        item = by_name.get(ref) or known.get(ref)
        return target_of(item) if item is not None else None

    try:
        if isinstance(tokens, Untranslatable):
            raise tokens
        return translate(tokens, resolve)
    except Untranslatable as reason:
        shown = " ".join(raw.split())
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        draft.note(row, name, f"{what} {shown!r} left out ({reason}): the item is always shown")
        return None


def attach(item: dict, *conditions: Expression | None) -> None:
    """Set an item's ``show_if`` to every given condition (joined with ``and``)."""
    found = [c for c in conditions if c is not None]
    if not found:
        return
    expr = found[0] if len(found) == 1 else BoolOp("and", tuple(found))
    item["show_if"] = expr.to_text()
