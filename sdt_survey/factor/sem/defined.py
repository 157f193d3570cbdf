"""Defined parameters (lavaan's ``:=``): functions of labelled parameters with delta-method errors.

``ind := a*c`` defines a new quantity from the parameters labelled ``a`` and
``c`` (``dem60 ~ a*ind60``). The right-hand side is a small arithmetic
expression over labels (and earlier defined names) and numbers: ``+ - * / ^``,
parentheses, and the functions lavaan users write: ``sqrt``, ``exp``, ``log``,
``abs``. It is parsed by hand into a tree and evaluated over numbers; nothing
is ever passed to Python's ``eval``.

The standard error is the delta method's, ``sqrt(J V J')`` with ``J`` the
Jacobian of the defined values with respect to the free parameters. lavaan
takes ``J`` by complex-step differentiation (``lav_func_jacobian_complex``);
so does this module, with a central difference for ``abs``.

Examples
--------
>>> tree = parse_expression("b + a*c")
>>> evaluate(tree, {"a": 2.0, "b": 1.0, "c": 0.5})
2.0
>>> expression_text(tree)
'b+a*c'
>>> float(evaluate(parse_expression("sqrt(a^2 + b^2)"), {"a": 3.0, "b": 4.0}))
5.0
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ModelSyntaxError
from .located import located_error as _located

if TYPE_CHECKING:
    from .syntax import Statement

#: Functions a defined parameter may use.
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
}

_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_.][A-Za-z0-9_.]*)|(.))"
)


class _ExpressionError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing blanks are left
            break
        start = m.start(m.lastindex) if m.lastindex else pos
        if m.group(1) is not None:
            out.append(("number", m.group(1), start))
        elif m.group(2) is not None:
            out.append(("name", m.group(2), start))
        else:
            ch = m.group(3)
            if ch not in "+-*/^(),":
                raise _ExpressionError(f"unexpected character {ch!r} in a defined parameter", start)
            out.append(("symbol", ch, start))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _ExpressionParser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> tuple:
        if self.peek()[0] == "end":
            raise _ExpressionError("a defined parameter needs an expression after ':='", self.peek()[2])
        tree = self.sum()
        kind, text, pos = self.peek()
        if kind != "end":
            raise _ExpressionError(f"expected an operator (+ - * / ^) or the end, found {text!r}", pos)
        return tree

    def sum(self) -> tuple:
        tree = self.product()
        while self.peek()[:2] in (("symbol", "+"), ("symbol", "-")):
            op = self.take()[1]
            tree = ("bin", op, tree, self.product())
        return tree

    def product(self) -> tuple:
        tree = self.unary()
        while self.peek()[:2] in (("symbol", "*"), ("symbol", "/")):
            op = self.take()[1]
            tree = ("bin", op, tree, self.unary())
        return tree

    def unary(self) -> tuple:
        if self.peek()[:2] in (("symbol", "-"), ("symbol", "+")):
            op = self.take()[1]
            inner = self.unary()
            return ("neg", inner) if op == "-" else ("pos", inner)
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        if self.peek()[:2] == ("symbol", "^"):
            self.take()
            return ("bin", "^", base, self.unary())
        return base

    def atom(self) -> tuple:
        kind, text, pos = self.take()
        if kind == "number":
            return ("num", float(text))
        if kind == "name":
            if self.peek()[:2] == ("symbol", "("):
                if text not in FUNCTIONS:
                    raise _ExpressionError(
                        f"unknown function {text}(); use {', '.join(f'{f}()' for f in FUNCTIONS)}", pos
                    )
                self.take()
                inner = self.sum()
                self.expect(")")
                return ("call", text, inner)
            return ("name", text)
        if (kind, text) == ("symbol", "("):
            inner = self.sum()
            self.expect(")")
            return ("paren", inner)
        found = "the end of the expression" if kind == "end" else repr(text)
        raise _ExpressionError(f"expected a number, a label or '(', found {found}", pos)

    def expect(self, symbol: str) -> None:
        kind, text, pos = self.take()
        if (kind, text) != ("symbol", symbol):
            found = "the end of the expression" if kind == "end" else repr(text)
            raise _ExpressionError(f"expected {symbol!r}, found {found}", pos)


def parse_expression(text: str, line: int = 0, column: int = 0, source: str = "") -> tuple:
    """The tree of a defined parameter's expression; a located :class:`ModelSyntaxError` if unreadable.

    ``line``/``column`` locate the expression's start in the model text.

    Examples
    --------
    >>> parse_expression("a*(b - 1)")
    ('bin', '*', ('name', 'a'), ('paren', ('bin', '-', ('name', 'b'), ('num', 1.0))))
    """
    try:
        return _ExpressionParser(text).parse()
    except _ExpressionError as err:
        raise ModelSyntaxError(
            str(err), line or 1, column + err.position if column else err.position + 1, source
        ) from None


def names_in(tree: tuple) -> list[str]:
    """The labels (and defined names) an expression uses, in order of first use."""
    kind = tree[0]
    if kind == "name":
        return [tree[1]]
    if kind == "num":
        return []
    out: list[str] = []
    for child in tree[1:]:
        if isinstance(child, tuple):
            out += [n for n in names_in(child) if n not in out]
    return out


def evaluate(tree: tuple, values: Mapping[str, Any]) -> Any:
    """The value of an expression, with ``values`` for its names (real or complex numbers)."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "name":
        return values[tree[1]]
    if kind in ("paren", "pos"):
        return evaluate(tree[1], values)
    if kind == "neg":
        return -evaluate(tree[1], values)
    if kind == "call":
        arg = evaluate(tree[2], values)
        if tree[1] == "abs" and np.iscomplexobj(arg):  # complex step: d|x| = sign(x) dx
            return arg * np.sign(arg.real)
        return FUNCTIONS[tree[1]](arg)
    op, a, b = tree[1], evaluate(tree[2], values), evaluate(tree[3], values)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def expression_text(tree: tuple) -> str:
    """The expression written back without blanks, as lavaan shows it in the ``rhs`` column."""
    kind = tree[0]
    if kind == "num":
        value = tree[1]
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
    if kind == "name":
        return tree[1]
    if kind == "paren":
        return f"({expression_text(tree[1])})"
    if kind == "neg":
        return f"-{expression_text(tree[1])}"
    if kind == "pos":
        return f"+{expression_text(tree[1])}"
    if kind == "call":
        return f"{tree[1]}({expression_text(tree[2])})"
    return f"{expression_text(tree[2])}{tree[1]}{expression_text(tree[3])}"


def check_defined(statements: Sequence[Statement]) -> None:
    """Every name a defined parameter uses is a label or an earlier defined name; names are not reused."""
    labels = {name for s in statements if s.op != ":=" and s.label for name in s.label if name}
    variables = {n for s in statements if s.op != ":=" for n in (s.lhs, s.rhs) if n}
    known = set(labels)
    for s in statements:
        if s.op != ":=":
            continue
        if s.lhs in labels or s.lhs in variables or s.lhs in known - labels:
            what = "a label" if s.lhs in labels else "a variable" if s.lhs in variables else "already defined"
            raise _located(f"the defined parameter {s.lhs!r} is {what}; give it another name", s)
        for name in names_in(parse_expression(s.rhs, s.line, s.column)):
            if name not in known:
                hint = " (label a parameter with name*variable, e.g. 'f ~ a*x')" if not labels else ""
                raise _located(
                    f"'{s.lhs} := {s.rhs}' uses {name!r}, which is not a label of the model{hint}", s
                )
        known.add(s.lhs)


@functools.lru_cache(maxsize=512)
def _tree(text: str) -> tuple:
    """The parsed expression, once per text: the delta method evaluates it once per parameter and step."""
    return parse_expression(text)


def defined_values(statements: Sequence[Statement], label_values: Mapping[str, Any]) -> list[Any]:
    """The value of each defined parameter (in order), given the values of the labels."""
    scope = dict(label_values)
    out = []
    for s in statements:
        value = evaluate(_tree(s.rhs), scope)
        scope[s.lhs] = value
        out.append(value)
    return out


def defined_jacobian(function: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Jacobian of ``function`` at ``x`` by complex steps (lavaan's ``lav_func_jacobian_complex``).

    Falls back to central differences where the function is not complex-analytic.
    """
    q = len(x)
    h = 1e-20
    base = np.asarray(function(x.astype(complex)))
    jac = np.empty((len(base), q))
    for t in range(q):
        step = x.astype(complex)
        step[t] += 1j * h
        jac[:, t] = np.imag(np.asarray(function(step))) / h
    return jac
