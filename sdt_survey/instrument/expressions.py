"""The neutral ``show_if`` mini-language.

An item's ``show_if`` says when it is shown, written once and translated later
to each platform's own syntax (REDCap branching logic, XLSForm ``relevant``,
ReproSchema ``isVis``, the HTML form's script). The language is deliberately
small::

    expression  := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison | "(" expression ")"
    comparison  := operand OP operand | NAME ["not"] "in" "[" literal ("," literal)* "]"
    OP          := "==" | "!=" | "<" | "<=" | ">" | ">="
    operand     := NAME | literal
    literal     := NUMBER | "double-quoted" | 'single-quoted'

Names are item ids. Every comparison involves at least one item. Parsing is a
hand-written recursive descent: nothing is ever passed to ``eval``.

Missing answers follow what REDCap and ODK do: a comparison with an
unanswered item is false, except ``!=`` and ``not in``, which are true.

Examples
--------
>>> expr = parse_expression("has_usual_preceptor == 1 and clinic_halfdays_4wk > 0")
>>> sorted(expr.item_ids())
['clinic_halfdays_4wk', 'has_usual_preceptor']
>>> expr.to_text()
'has_usual_preceptor == 1 and clinic_halfdays_4wk > 0'
"""

from __future__ import annotations

import operator
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

from ..errors import ExpressionError

COMPARISON_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = ("and", "or", "not", "in")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_\d]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)


Scalar = int | float | str


@dataclass(frozen=True)
class Name:
    """A reference to an item's answer."""

    id: str

    def to_text(self) -> str:
        return self.id


@dataclass(frozen=True)
class Literal:
    """A number or string constant."""

    value: Scalar

    def to_text(self) -> str:
        if isinstance(self.value, str):
            return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(self.value)


Operand = Name | Literal


@dataclass(frozen=True)
class Comparison:
    """``left OP right`` with at least one side an item."""

    op: str
    left: Operand
    right: Operand

    def to_text(self) -> str:
        return f"{self.left.to_text()} {self.op} {self.right.to_text()}"


@dataclass(frozen=True)
class Membership:
    """``item in [v1, v2]`` or ``item not in [...]``."""

    item: Name
    values: tuple[Literal, ...]
    negated: bool = False

    def to_text(self) -> str:
        listed = ", ".join(v.to_text() for v in self.values)
        keyword = "not in" if self.negated else "in"
        return f"{self.item.to_text()} {keyword} [{listed}]"


@dataclass(frozen=True)
class BoolOp:
    """``a and b and ...`` or ``a or b or ...``."""

    op: str
    operands: tuple[Expression, ...]

    def to_text(self) -> str:
        parts = []
        for operand in self.operands:
            text = operand.to_text()
            # "and" binds tighter than "or": only an "or" inside an "and" needs parentheses.
            if isinstance(operand, BoolOp) and operand.op == "or" and self.op == "and":
                text = f"({text})"
            parts.append(text)
        return f" {self.op} ".join(parts)


@dataclass(frozen=True)
class Not:
    """``not expr``."""

    operand: Expression

    def to_text(self) -> str:
        inner = self.operand.to_text()
        if isinstance(self.operand, BoolOp):
            inner = f"({inner})"
        return f"not {inner}"


Expression = Comparison | Membership | BoolOp | Not


def walk(expr: Expression):
    """Yield every node of an expression tree, depth first."""
    yield expr
    if isinstance(expr, BoolOp):
        for operand in expr.operands:
            yield from walk(operand)
    elif isinstance(expr, Not):
        yield from walk(expr.operand)
    elif isinstance(expr, Comparison):
        yield expr.left
        yield expr.right
    elif isinstance(expr, Membership):
        yield expr.item
        yield from expr.values


def item_ids(expr: Expression) -> list[str]:
    """Item ids referenced by ``expr``, in order of first appearance."""
    seen: dict[str, None] = {}
    for node in walk(expr):
        if isinstance(node, Name):
            seen.setdefault(node.id, None)
    return list(seen)


def comparisons(expr: Expression) -> list[tuple[Name, str, tuple[Literal, ...]]]:
    """Each ``(item, operator, literals)`` that compares an item with constants.

    Lets a validator check that compared values make sense for the item
    (e.g. a choice code that exists).
    """
    found = []
    for node in walk(expr):
        if isinstance(node, Membership):
            found.append((node.item, "not in" if node.negated else "in", node.values))
        elif isinstance(node, Comparison):
            if isinstance(node.left, Name) and isinstance(node.right, Literal):
                found.append((node.left, node.op, (node.right,)))
            elif isinstance(node.right, Name) and isinstance(node.left, Literal):
                found.append((node.right, node.op, (node.left,)))
    return found


# Expression nodes get the helpers as methods too, so callers can write expr.item_ids().
for _cls in (Comparison, Membership, BoolOp, Not):
    _cls.item_ids = item_ids  # type: ignore[attr-defined]


@dataclass
class _Token:
    kind: str
    text: str
    offset: int


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            hint = "; use '==' to test equality" if text[position] == "=" else ""
            raise ExpressionError(f"unexpected character {text[position]!r}{hint}", text, position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def error(self, message: str, token: _Token | None = None) -> ExpressionError:
        token = token or self.current
        return ExpressionError(message, self.text, token.offset)

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str, what: str) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.error(f"expected {what}, found {self.describe(self.current)}")
        return token

    @staticmethod
    def describe(token: _Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.text)

    def parse(self) -> Expression:
        if self.current.kind == "end":
            raise self.error("the expression is empty")
        expr = self.parse_or()
        if self.current.kind != "end":
            raise self.error(f"unexpected {self.describe(self.current)}; join conditions with 'and' or 'or'")
        return expr

    def parse_or(self) -> Expression:
        operands = [self.parse_and()]
        while self.accept("name", "or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Expression:
        operands = [self.parse_not()]
        while self.accept("name", "and"):
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Expression:
        if self.accept("name", "not"):
            return Not(self.parse_not())
        if self.accept("punct", "("):
            expr = self.parse_or()
            self.expect("punct", ")", "')'")
            return expr
        return self.parse_comparison()

    def parse_operand(self) -> Operand:
        token = self.current
        if token.kind == "name":
            if token.text in KEYWORDS:
                raise self.error(f"expected an item id or a value, found {token.text!r}")
            self.index += 1
            return Name(token.text)
        if token.kind in ("number", "string"):
            self.index += 1
            return Literal(_literal_value(token))
        raise self.error(f"expected an item id or a value, found {self.describe(token)}")

    def parse_comparison(self) -> Expression:
        left = self.parse_operand()
        token = self.current
        if token.kind == "op":
            self.index += 1
            right = self.parse_operand()
            if isinstance(left, Literal) and isinstance(right, Literal):
                raise self.error("a comparison must involve at least one item id", token)
            return Comparison(token.text, left, right)
        negated = False
        if token.kind == "name" and token.text == "not":
            self.index += 1
            negated = True
            if not (self.current.kind == "name" and self.current.text == "in"):
                raise self.error("expected 'in' after 'not'")
        if self.accept("name", "in"):
            if not isinstance(left, Name):
                raise self.error("'in' needs an item id on its left", token)
            return Membership(left, self.parse_list(), negated)
        if isinstance(left, Name):
            raise self.error(
                f"compare {left.id!r} with a value, e.g. '{left.id} == 1'; found {self.describe(token)}"
            )
        raise self.error(f"expected a comparison operator, found {self.describe(token)}")

    def parse_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "[", "'[' to start the list of values")
        values: list[Literal] = []
        if self.accept("punct", "]"):
            raise self.error("the list of values is empty", self.tokens[self.index - 1])
        while True:
            token = self.current
            if token.kind not in ("number", "string"):
                raise self.error(f"expected a number or a quoted string, found {self.describe(token)}")
            self.index += 1
            values.append(Literal(_literal_value(token)))
            if self.accept("punct", "]"):
                return tuple(values)
            self.expect("punct", ",", "',' or ']'")


def _literal_value(token: _Token) -> Scalar:
    if token.kind == "number":
        return float(token.text) if "." in token.text else int(token.text)
    body = token.text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def parse_expression(text: str) -> Expression:
    """Parse a ``show_if`` expression.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"has_usual_preceptor == 1"``.

    Returns
    -------
    Expression
        An immutable tree of :class:`Comparison`, :class:`Membership`,
        :class:`BoolOp` and :class:`Not` nodes.

    Raises
    ------
    ExpressionError
        With the character offset of the first problem.

    Examples
    --------
    >>> parse_expression("pgy in [2, 3] or not (site == 'north')").to_text()
    'pgy in [2, 3] or not site == "north"'
    """
    if not isinstance(text, str):
        raise ExpressionError("show_if must be a string", str(text), 0)
    return _Parser(text).parse()


def evaluate(expr: Expression, frame: pd.DataFrame, multiple: Collection[str] = ()) -> np.ndarray:
    """Evaluate ``expr`` for every respondent at once.

    Parameters
    ----------
    expr : Expression
    frame : pandas.DataFrame
        One row per respondent, one column per referenced item; missing
        values (NaN, None, empty text) mean unanswered. Codes may be numbers
        or their text ("1"): both compare equal to ``1``.
    multiple : collection of str
        Items that hold several selected codes separated by spaces
        (``"1 3"``). For them ``item == v`` and ``item in [...]`` mean "v is
        selected"; ``!=`` and ``not in`` mean it is not.

    Returns
    -------
    numpy.ndarray of bool
        Whether the item is shown to each respondent.

    Examples
    --------
    >>> import pandas as pd
    >>> expr = parse_expression("a == 1 and b > 0")
    >>> frame = pd.DataFrame({"a": [1, 1, 0, None], "b": [2, 0, 5, 5]})
    >>> evaluate(expr, frame).tolist()
    [True, False, False, False]
    >>> evaluate(parse_expression("src == 2"), pd.DataFrame({"src": ["1 2", "1", None]}), {"src"}).tolist()
    [True, False, False]
    """
    import numpy as np

    if isinstance(expr, BoolOp):
        results = [evaluate(operand, frame, multiple) for operand in expr.operands]
        combine = np.logical_and if expr.op == "and" else np.logical_or
        return combine.reduce(results)
    if isinstance(expr, Not):
        return ~evaluate(expr.operand, frame, multiple)
    if isinstance(expr, Membership):
        if expr.item.id in multiple:
            hit = _selected(frame[expr.item.id], [v.value for v in expr.values])
        else:
            column = _Column.of(frame, expr.item)
            hit = np.zeros(len(frame), dtype=bool)
            for literal in expr.values:
                hit |= column.equals(_Column.of(frame, literal))
        return ~hit if expr.negated else hit
    if isinstance(expr, Comparison):
        names = [o.id for o in (expr.left, expr.right) if isinstance(o, Name) and o.id in multiple]
        if names:
            literal = expr.right if isinstance(expr.right, Literal) else expr.left
            if expr.op not in ("==", "!=") or not isinstance(literal, Literal):
                return np.zeros(len(frame), dtype=bool)  # ordering selections is never true
            hit = _selected(frame[names[0]], [literal.value])
            return hit if expr.op == "==" else ~hit
        left = _Column.of(frame, expr.left)
        right = _Column.of(frame, expr.right)
        if expr.op == "==":
            return left.equals(right)
        if expr.op == "!=":
            return ~left.equals(right)
        with np.errstate(invalid="ignore"):
            return _ORDERING[expr.op](left.number, right.number)
    raise TypeError(f"not an expression: {expr!r}")


def _selected(column: pd.Series, codes: list[Scalar]) -> np.ndarray:
    """Whether any of ``codes`` is among the space-separated selections of each cell."""
    import numpy as np

    padded = " " + column.astype("string").fillna("").str.strip() + " "
    hit = np.zeros(len(column), dtype=bool)
    for code in codes:
        text = str(int(code)) if isinstance(code, float) and code.is_integer() else str(code)
        hit |= padded.str.contains(f" {text} ", regex=False).to_numpy(dtype=bool)
    return hit


#: Elementwise on numpy arrays (np.less and so on), with no numpy import when the module loads.
_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass
class _Column:
    """An operand seen both as numbers (NaN if not numeric) and as text (None if missing)."""

    number: np.ndarray
    text: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, operand: Operand) -> _Column:
        import numpy as np
        import pandas as pd

        if isinstance(operand, Literal):
            series = pd.Series([operand.value] * len(frame), index=frame.index, dtype=object)
        else:
            series = frame[operand.id]
        text = series.astype("string").str.strip()
        answered = series.notna().to_numpy() & (text.fillna("") != "").to_numpy()
        number = pd.to_numeric(series.where(answered), errors="coerce").to_numpy(dtype=float)
        return cls(number, np.where(answered, text.fillna("").to_numpy(dtype=object), None))

    def equals(self, other: _Column) -> np.ndarray:
        import numpy as np

        numeric = ~np.isnan(self.number) & ~np.isnan(other.number)
        same_number = numeric & (self.number == other.number)
        both_text = (self.text != None) & (other.text != None) & ~numeric  # noqa: E711
        return same_number | (both_text & (self.text == other.text))
