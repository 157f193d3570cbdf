"""lavaan-style model syntax: a parser with located errors, and an emitter.

The parser reads the part of lavaan's model syntax that describes a
confirmatory factor (measurement) model:

==============================  ===================================================
``f =~ x1 + x2 + x3``           factor ``f`` is measured by ``x1``, ``x2``, ``x3``
                                (a factor may also be measured by factors: a
                                second-order factor)
``x1 ~~ x2``                    a (residual) covariance; ``x1 ~~ x1`` a variance
``f2 ~ f1``                     a regression of one factor on another
``f ~ x``, ``y ~ f + x``         a regression on (or of) observed variables no factor
                                measures: covariates, held at their sample
                                values (lavaan's ``fixed.x``), and outcomes
``x1 ~ 1``                      an intercept (a mean, for a factor)
``0*x``, ``1.5*x``              fix the parameter to that value
``NA*x``                        free a parameter that would otherwise be fixed
                                (the first loading, under marker identification)
``a*x``                         a label; parameters sharing a label are equal
``c(a, b)*x``, ``c(1, NA)*x``   one label or value per group (multi-group models)
``start(0.5)*x``                a starting value
``label("a")*x``                a label written as a string
``ind := a*c``                  a defined parameter: a function of labels (``+ - * / ^``,
                                ``sqrt``, ``exp``, ``log``, ``abs``), see :mod:`.defined`
``#`` or ``!``                  a comment to the end of the line
==============================  ===================================================

Statements end at a newline or ``;``. A statement continues on the next line
when the line ends with ``+``, ``*``, ``,``, ``(`` or an operator, or when the
next line starts with ``+`` or ``*`` (as in lavaan). Several variables may
stand on the left of ``~~`` and ``~`` (``f1 + f2 ~~ f3``), and a term repeated
with different modifiers is merged (``f =~ NA*x1 + a*x1``).

The text is tokenized and parsed by hand; nothing is ever evaluated. Every
error is a :class:`ModelSyntaxError` that names the line and column and shows
the offending line with a caret under the problem.

Examples
--------
>>> statements = parse_model_syntax('''
... # two correlated factors
... visual  =~ x1 + a*x2 + a*x3
... textual =~ NA*x4 + x5 + x6
... textual ~~ 1*textual
... ''')
>>> [(s.lhs, s.op, s.rhs) for s in statements][:3]
[('visual', '=~', 'x1'), ('visual', '=~', 'x2'), ('visual', '=~', 'x3')]
>>> statements[1].label, statements[3].free, statements[6].fixed
(('a',), True, (1.0,))
>>> try:
...     parse_model_syntax("f =~ x1 + * x2")
... except ModelSyntaxError as err:
...     print(err)
model syntax, line 1, column 11: expected a variable name, found '*'
  f =~ x1 + * x2
            ^
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ModelSyntaxError
from .defined import expression_text, parse_expression

#: Operators of a measurement model (``~1`` is written ``x ~ 1``).
OPERATORS = ("=~", "~~", "~", "~1")

#: lavaan operators this engine recognizes but does not fit, with what to do instead.
_UNSUPPORTED = {
    "==": "explicit constraints ('==') are not supported; give the parameters a shared label instead "
    "(a*x1 + a*x2)",
    "<": "inequality constraints ('<') are not supported",
    ">": "inequality constraints ('>') are not supported",
    "<~": "composites ('<~') are not supported",
    "|": "thresholds ('|') are not supported",
    "~*~": "scaling factors ('~*~') are not supported",
    "%": "the '%' operator is not supported",
}

_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SYMBOLS = (
    "~*~", "=~", "~~", ":=", "==", "<~", "~", "<", ">", "|", "%", "+", "*", "(", ")", ",", ";", "-", "/", "^",
)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    """One parameter of a model as written: ``lhs op rhs`` with its modifiers.

    Parameters
    ----------
    lhs, op, rhs : str
        ``op`` is one of ``=~``, ``~~``, ``~`` and ``~1`` (``rhs`` is ``""`` for ``~1``).
    fixed : tuple of (float or None), optional
        Fixed value; one entry applies to every group, several are one per
        group (``None`` = free in that group).
    free : bool
        Written with ``NA*``: free even where the default would fix it.
    label : tuple of (str or None), optional
        Label(s); parameters with the same label are constrained equal.
    start : tuple of (float or None), optional
        Starting value(s).
    line, column : int
        Where the term was written (0 when built in code).
    """

    lhs: str
    op: str
    rhs: str = ""
    fixed: tuple[float | None, ...] | None = None
    free: bool = False
    label: tuple[str | None, ...] | None = None
    start: tuple[float | None, ...] | None = None
    line: int = 0
    column: int = 0

    def fixed_in(self, group: int) -> float | None:
        """The fixed value in ``group`` (0-based), or None when free there."""
        return _per_group(self.fixed, group)

    def label_in(self, group: int) -> str | None:
        """The label in ``group`` (0-based), if any."""
        return _per_group(self.label, group)

    def start_in(self, group: int) -> float | None:
        """The starting value in ``group`` (0-based), if any."""
        return _per_group(self.start, group)

    @property
    def key(self) -> tuple[str, str, str]:
        """``(lhs, op, rhs)`` with the two sides of ``~~`` in a canonical order."""
        if self.op == "~~" and self.rhs < self.lhs:
            return (self.rhs, self.op, self.lhs)
        return (self.lhs, self.op, self.rhs)

    def with_modifiers_of(self, other: Statement) -> Statement:
        """This statement with the modifiers of ``other`` (a repeat of the same term) merged in."""
        return replace(
            self,
            fixed=other.fixed if other.fixed is not None else self.fixed,
            free=self.free or other.free,
            label=other.label if other.label is not None else self.label,
            start=other.start if other.start is not None else self.start,
        )


def _per_group(values: tuple | None, group: int):
    if values is None:
        return None
    if len(values) == 1:
        return values[0]
    return values[group] if group < len(values) else None


# ------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "number", "string", "symbol", "end"
    text: str
    line: int
    column: int


def _tokenize(text: str) -> tuple[list[_Token], list[str]]:
    """Tokens of ``text`` with statement ends (``;`` and newlines) as ``end`` tokens."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tokens: list[_Token] = []
    for line_no, raw in enumerate(lines, start=1):
        col = 0
        n = len(raw)
        while col < n:
            ch = raw[col]
            if ch in " \t\f\v":
                col += 1
                continue
            if ch in "#!":
                break  # comment to the end of the line
            if ch in "\"'":
                close = raw.find(ch, col + 1)
                if close < 0:
                    raise ModelSyntaxError("this string has no closing quote", line_no, col + 1, raw)
                tokens.append(_Token("string", raw[col + 1 : close], line_no, col + 1))
                col = close + 1
                continue
            number = _NUMBER.match(raw, col)
            # A sign belongs to a number only where a value can start (not in "x1 -2").
            if number and (ch not in "+-" or _value_may_start(tokens)):
                tokens.append(_Token("number", number.group(), line_no, col + 1))
                col = number.end()
                continue
            name = _NAME.match(raw, col)
            if name:
                tokens.append(_Token("name", name.group(), line_no, col + 1))
                col = name.end()
                continue
            for symbol in _SYMBOLS:
                if raw.startswith(symbol, col):
                    kind = "end" if symbol == ";" else "symbol"
                    tokens.append(_Token(kind, symbol, line_no, col + 1))
                    col += len(symbol)
                    break
            else:
                raise ModelSyntaxError(f"unexpected character {ch!r}", line_no, col + 1, raw)
        tokens.append(_Token("end", "\n", line_no, len(raw) + 1))
    return _join_continued(tokens), lines


def _value_may_start(tokens: list[_Token]) -> bool:
    """Whether a sign here starts a number (after an operator, '+', '*', '(' or ',')."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind == "symbol" and last.text in ("*", "(", ",", "+", "=~", "~~", "~")


_CONTINUES_AFTER = {
    "+",
    "*",
    ",",
    "(",
    "=~",
    "~~",
    "~",
    ":=",
    "==",
    "<",
    ">",
    "<~",
    "|",
    "~*~",
    "-",
    "/",
    "^",
}
_CONTINUES_BEFORE = {"+", "*", ")", ","}


def _join_continued(tokens: list[_Token]) -> list[_Token]:
    """Drop newline ends inside a statement that continues on the next line."""
    out: list[_Token] = []
    for i, tok in enumerate(tokens):
        if tok.kind == "end" and tok.text == "\n":
            prev = next((t for t in reversed(out) if t.kind != "end"), None)
            if not out or out[-1].kind == "end":
                continue  # blank line or a statement already ended
            if prev is not None and prev.kind == "symbol" and prev.text in _CONTINUES_AFTER:
                continue
            following = next((t for t in tokens[i + 1 :] if not (t.kind == "end" and t.text == "\n")), None)
            if following is not None and following.kind == "symbol" and following.text in _CONTINUES_BEFORE:
                continue
        elif tok.kind == "end" and (not out or out[-1].kind == "end"):
            continue
        out.append(tok)
    if out and out[-1].kind != "end":
        last = out[-1]
        out.append(_Token("end", "\n", last.line, last.column + len(last.text)))
    return out


# ------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str):
        self.tokens, self.lines = _tokenize(text)
        self.pos = 0

    def error(self, reason: str, tok: _Token) -> ModelSyntaxError:
        source = self.lines[tok.line - 1] if 0 < tok.line <= len(self.lines) else ""
        return ModelSyntaxError(reason, tok.line, tok.column, source)

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.pos += 1
        return tok

    @staticmethod
    def describe(tok: _Token) -> str:
        if tok.kind == "end":
            return "the end of the statement" if tok.text == ";" else "the end of the line"
        return repr(tok.text)

    def parse(self) -> list[Statement]:
        statements: list[Statement] = []
        while self.pos < len(self.tokens):
            if self.peek().kind == "end":
                self.pos += 1
                continue
            statements.extend(self.statement())
        return _merge_repeats(statements)

    def statement(self) -> list[Statement]:
        lhs_tokens = [self.variable("a variable name")]
        while self.peek().text == "+" and self.peek().kind == "symbol":
            self.take()
            lhs_tokens.append(self.variable("a variable name"))
        op_tok = self.take()
        if op_tok.kind == "symbol" and op_tok.text == ":=":
            return [self.defined(lhs_tokens, op_tok)]
        if op_tok.kind != "symbol" or op_tok.text not in ("=~", "~~", "~", *_UNSUPPORTED):
            expected = "an operator (=~, ~~ or ~)"
            raise self.error(
                f"expected {expected} after {lhs_tokens[-1].text!r}, found {self.describe(op_tok)}", op_tok
            )
        if op_tok.text in _UNSUPPORTED:
            raise self.error(_UNSUPPORTED[op_tok.text], op_tok)
        op = op_tok.text
        if op == "=~" and len(lhs_tokens) > 1:
            raise self.error("only one factor can stand on the left of '=~'", lhs_tokens[1])
        terms = [self.term(op)]
        while self.peek().kind == "symbol" and self.peek().text == "+":
            self.take()
            terms.append(self.term(op))
        end = self.take()
        if end.kind != "end":
            raise self.error(f"expected '+' or the end of the statement, found {self.describe(end)}", end)
        out = []
        for lhs_tok in lhs_tokens:
            for modifiers, rhs_tok in terms:
                out.append(self.make_statement(lhs_tok, op, rhs_tok, modifiers))
        return out

    def defined(self, lhs_tokens: list[_Token], op_tok: _Token) -> Statement:
        """``name := expression``: a defined parameter (its expression checked, kept as text)."""
        if len(lhs_tokens) > 1:
            raise self.error("only one name can stand on the left of ':='", lhs_tokens[1])
        parts: list[_Token] = []
        while self.peek().kind != "end":
            parts.append(self.take())
        self.take()
        first = parts[0] if parts else op_tok
        for tok in parts:
            if tok.kind == "string":
                raise self.error("a defined parameter's expression cannot hold a string", tok)
        # Rebuild the text with the tokens' own spacing, so that errors point into the line.
        text = ""
        for tok in parts:
            if tok.line == first.line:
                text = text.ljust(tok.column - first.column) + tok.text
            else:
                text += " " + tok.text
        source = self.lines[first.line - 1] if 0 < first.line <= len(self.lines) else ""
        tree = parse_expression(text, first.line, first.column if parts else op_tok.column + 2, source)
        lhs = lhs_tokens[0]
        return Statement(lhs=lhs.text, op=":=", rhs=expression_text(tree), line=lhs.line, column=lhs.column)

    def variable(self, what: str) -> _Token:
        tok = self.take()
        if tok.kind != "name":
            raise self.error(f"expected {what}, found {self.describe(tok)}", tok)
        if tok.text in ("NA", "c", "start", "label", "equal") and self.peek().text in ("*", "("):
            raise self.error(f"expected {what}, found the modifier {tok.text!r}", tok)
        return tok

    def term(self, op: str) -> tuple[list[tuple[str, Any, _Token]], _Token]:
        """Modifiers (kind, value, token) and the variable (or the ``1`` of an intercept)."""
        modifiers: list[tuple[str, Any, _Token]] = []
        while True:
            tok = self.peek()
            is_modifier = self.peek(1).kind == "symbol" and self.peek(1).text == "*"
            if tok.kind == "name" and self.peek(1).kind == "symbol" and self.peek(1).text == "(":
                modifiers.append(self.function_modifier())
                star = self.take()
                if star.text != "*":
                    raise self.error(f"expected '*' after the modifier, found {self.describe(star)}", star)
                continue
            if is_modifier and tok.kind in ("name", "number", "string"):
                self.take()
                self.take()  # the '*'
                if tok.kind == "number":
                    modifiers.append(("fixed", (self.number(tok),), tok))
                elif tok.kind == "string":
                    modifiers.append(("label", (tok.text,), tok))
                elif tok.text == "NA":
                    modifiers.append(("free", None, tok))
                else:
                    modifiers.append(("label", (tok.text,), tok))
                continue
            break
        tok = self.take()
        if tok.kind == "number" and op == "~":
            if self.number(tok) != 1.0:
                raise self.error(f"expected a variable name or 1 (an intercept), found {tok.text!r}", tok)
            return modifiers, tok
        if tok.kind != "name":
            what = "a variable name or 1 (an intercept)" if op == "~" else "a variable name"
            raise self.error(f"expected {what}, found {self.describe(tok)}", tok)
        if tok.text == "NA":
            raise self.error("'NA' is a modifier: write NA*variable", tok)
        return modifiers, tok

    def function_modifier(self) -> tuple[str, Any, _Token]:
        name_tok = self.take()
        name = name_tok.text
        if name not in ("c", "start", "label", "equal"):
            raise self.error(
                f"unknown modifier {name}(): use a number, NA, a label, c(...), start(...) or label(...)",
                name_tok,
            )
        self.take()  # "("
        args: list[_Token] = []
        while True:
            tok = self.take()
            if tok.kind == "symbol" and tok.text == ")" and not args:
                raise self.error(f"{name}() needs at least one value", tok)
            if tok.kind not in ("name", "number", "string"):
                raise self.error(f"expected a value inside {name}(), found {self.describe(tok)}", tok)
            args.append(tok)
            sep = self.take()
            if sep.kind == "symbol" and sep.text == ")":
                break
            if not (sep.kind == "symbol" and sep.text == ","):
                raise self.error(f"expected ',' or ')' inside {name}(), found {self.describe(sep)}", sep)
        if name == "start":
            values = tuple(None if a.text == "NA" else self.number(a) for a in args)
            return ("start", values, name_tok)
        if name in ("label", "equal"):
            if name == "equal":
                raise self.error(
                    "equal('...') is not supported; give the parameters a shared label instead", name_tok
                )
            return ("label", tuple(a.text for a in args), name_tok)
        # c(...): numbers (fixed values, NA = free) or names/strings (labels), one per group
        if all(a.kind == "number" or a.text == "NA" for a in args):
            return ("fixed", tuple(None if a.text == "NA" else self.number(a) for a in args), name_tok)
        if any(a.kind == "number" for a in args):
            raise self.error("c(...) mixes numbers and labels; use one c() of each", name_tok)
        return ("label", tuple(None if a.text == "NA" else a.text for a in args), name_tok)

    def number(self, tok: _Token) -> float:
        value = float(tok.text)
        if not math.isfinite(value):
            raise self.error(f"{tok.text!r} is not a finite number", tok)
        return value

    def make_statement(self, lhs_tok: _Token, op: str, rhs_tok: _Token, modifiers) -> Statement:
        if rhs_tok.kind == "number":
            lhs, op, rhs = lhs_tok.text, "~1", ""
        else:
            lhs, rhs = lhs_tok.text, rhs_tok.text
        fields: dict[str, Any] = {}
        for kind, value, tok in modifiers:
            if kind == "free":
                fields["free"] = True
            elif kind in fields and fields[kind] != value:
                raise self.error(f"two different {kind} modifiers on the same term", tok)
            else:
                fields[kind] = value
        if fields.get("free") and fields.get("fixed") is not None:
            tok = modifiers[0][2]
            raise self.error("a term cannot be both NA* (free) and fixed to a value", tok)
        if op == "=~" and lhs == rhs:
            raise self.error(f"{lhs!r} cannot measure itself", rhs_tok)
        if op == "~" and lhs == rhs:
            raise self.error(f"{lhs!r} cannot be regressed on itself", rhs_tok)
        return Statement(lhs=lhs, op=op, rhs=rhs, line=rhs_tok.line, column=rhs_tok.column, **fields)


def _merge_repeats(statements: Iterable[Statement]) -> list[Statement]:
    """One statement per (lhs, op, rhs); repeats (``NA*x1 + a*x1``) merge their modifiers."""
    merged: dict[tuple[str, str, str], Statement] = {}
    for s in statements:
        key = s.key
        if key in merged:
            first = merged[key]
            if first.fixed is not None and s.fixed is not None and first.fixed != s.fixed:
                raise ModelSyntaxError(
                    f"{s.lhs} {s.op} {s.rhs} is fixed to two different values", s.line, s.column
                )
            merged[key] = first.with_modifiers_of(s)
        else:
            merged[key] = s
    return list(merged.values())


def parse_model_syntax(text: str) -> list[Statement]:
    """Parse lavaan-style model syntax into statements.

    Parameters
    ----------
    text : str
        The model, e.g. ``"f1 =~ x1 + x2 + x3\\nf2 =~ x4 + x5 + x6"``.

    Returns
    -------
    list of Statement
        One per parameter written, in the order written (repeats merged).

    Raises
    ------
    ModelSyntaxError
        With the line and column of the first problem.

    Examples
    --------
    >>> [s.key for s in parse_model_syntax("f =~ x1 + x2 + x3; x1 ~~ x2; f ~ 1")]
    [('f', '=~', 'x1'), ('f', '=~', 'x2'), ('f', '=~', 'x3'), ('x1', '~~', 'x2'), ('f', '~1', '')]
    """
    if not isinstance(text, str):
        raise TypeError(f"model syntax must be a string, not {type(text).__name__}")
    statements = _Parser(text).parse()
    if not statements:
        raise ModelSyntaxError("the model is empty: write at least one 'factor =~ items' line", 1, 1)
    if not any(s.op == "=~" for s in statements):
        s = statements[0]
        raise ModelSyntaxError(
            "the model defines no factor: write at least one 'factor =~ items' line", s.line, 1
        )
    return statements


# ------------------------------------------------------------------------ emitter


def _format_value(value: float | None) -> str:
    if value is None:
        return "NA"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _modifier_text(values: tuple, kind: str) -> str:
    if kind == "label":
        parts = ["NA" if v is None else v for v in values]
    else:
        parts = [_format_value(v) for v in values]
    if kind == "start":
        return f"start({', '.join(parts)})" if len(parts) > 1 else f"start({parts[0]})"
    return parts[0] if len(parts) == 1 else f"c({', '.join(parts)})"


def format_term(statement: Statement) -> list[str]:
    """The right-hand term(s) of a statement with its modifiers, as lavaan reads them.

    A term that needs several modifiers is repeated (``NA*x1 + a*x1``), which
    lavaan merges.

    Examples
    --------
    >>> format_term(Statement("f", "=~", "x1", free=True, label=("a",)))
    ['NA*x1', 'a*x1']
    """
    target = "1" if statement.op == "~1" else statement.rhs
    modifiers = []
    if statement.fixed is not None:
        modifiers.append(_modifier_text(statement.fixed, "fixed"))
    elif statement.free:
        modifiers.append("NA")
    if statement.label is not None:
        modifiers.append(_modifier_text(statement.label, "label"))
    if statement.start is not None:
        modifiers.append(_modifier_text(statement.start, "start"))
    if not modifiers:
        return [target]
    return [f"{m}*{target}" for m in modifiers]


def emit_statements(statements: Sequence[Statement]) -> str:
    """lavaan syntax for ``statements``: one line per left-hand side and operator.

    Examples
    --------
    >>> print(emit_statements(parse_model_syntax("f =~ x1 + 0.5*x2\\nf ~~ 1*f\\nx1 ~ 1")))
    f =~ x1 + 0.5*x2
    f ~~ 1*f
    x1 ~ 1
    """
    order: list[tuple[str, str]] = []
    grouped: dict[tuple[str, str], list[str]] = {}
    for s in statements:
        op = "~" if s.op == "~1" else s.op
        key = (s.lhs, op)
        if key not in grouped:
            grouped[key] = []
            order.append(key)
        grouped[key].extend(format_term(s))
    return "\n".join(f"{lhs} {op} {' + '.join(grouped[(lhs, op)])}" for lhs, op in order)


def emit_lavaan(model: Any) -> str:
    """lavaan model syntax equivalent to ``model`` (a CFAModel or a list of statements).

    ``cfa(data, emit_lavaan(model))`` in R fits the same model, with the same
    identification when ``std.lv`` matches the ``std_lv`` used here.

    Examples
    --------
    >>> print(emit_lavaan(parse_model_syntax("f =~ x1 + x2 + x3\\ng =~ x4 + x5 + x6\\nf ~~ 0*g")))
    f =~ x1 + x2 + x3
    g =~ x4 + x5 + x6
    f ~~ 0*g
    """
    statements = getattr(model, "statements", model)
    return emit_statements(list(statements))
