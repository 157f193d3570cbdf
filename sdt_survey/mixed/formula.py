"""lme4 formulas read without ``eval``: the response, the fixed part and the random terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ModelFormulaError

# =========================================================================== formula parsing


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expr | group)`` after expanding ``a/b``.

    Attributes
    ----------
    expr : str
        The left-hand side, in patsy syntax (``"1"``, ``"coc"``, ``"0 + coc"``).
    group : tuple of str
        The grouping variables; ``("program", "resident")`` is ``program:resident``.
    correlated : bool
        ``False`` for ``||`` (each column its own variance, no correlations).
    """

    expr: str
    group: tuple[str, ...]
    correlated: bool = True

    @property
    def group_name(self) -> str:
        return ":".join(self.group)

    def __str__(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.expr} {bar} {self.group_name})"


@dataclass(frozen=True)
class ParsedFormula:
    """A formula split into its response, fixed part and random terms.

    Examples
    --------
    >>> parsed = parse_formula("relatedness_satisfaction ~ coc + pgy + (1|program/resident)")
    >>> parsed.response, parsed.fixed
    ('relatedness_satisfaction', 'coc + pgy')
    >>> [str(t) for t in parsed.random]
    ['(1 | program)', '(1 | program:resident)']
    """

    formula: str
    response: str
    fixed: str
    random: tuple[RandomTerm, ...]

    @property
    def groupings(self) -> list[str]:
        """Grouping factors in order of first appearance."""
        seen: dict[str, None] = {}
        for term in self.random:
            seen.setdefault(term.group_name, None)
        return list(seen)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _split_top(text: str, seps: str) -> list[tuple[str, str]]:
    """Split ``text`` at the separators in ``seps`` outside parentheses; pairs (sep before, chunk)."""
    out: list[tuple[str, str]] = []
    depth, start, before = 0, 0, "+"
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise ModelFormulaError(f"unbalanced parentheses in {text!r}")
        elif depth == 0 and ch in seps:
            out.append((before, text[start:i]))
            before, start = ch, i + 1
    if depth != 0:
        raise ModelFormulaError(f"unbalanced parentheses in {text!r}")
    out.append((before, text[start:]))
    return out


def _wrapped(text: str) -> bool:
    """Whether ``text`` is one parenthesized group: ``(...)`` whose first parenthesis closes last."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def _parse_grouping(text: str, formula: str) -> list[tuple[str, ...]]:
    text = text.strip()
    if "/" in text:
        parts = [p.strip() for p in text.split("/")]
        if any(not _IDENT.match(p) for p in parts):
            raise ModelFormulaError(
                f"{formula}: grouping {text!r}: nesting is written a/b with plain variable names"
            )
        return [tuple(parts[: k + 1]) for k in range(len(parts))]
    parts = [p.strip() for p in text.split(":")]
    if not parts or any(not _IDENT.match(p) for p in parts):
        raise ModelFormulaError(
            f"{formula}: grouping {text!r} is not supported; write a variable (program), "
            "an interaction (program:resident) or a nesting (program/resident)"
        )
    return [tuple(parts)]


def parse_formula(formula: str) -> ParsedFormula:
    """Parse an lme4 formula (no ``eval``).

    Parameters
    ----------
    formula : str
        ``response ~ fixed terms + (expr | group) + ...``. Random terms: ``(1|g)``,
        ``(x|g)`` (correlated intercept and slope), ``(0 + x|g)``, ``(x||g)``
        (uncorrelated), ``(1|a/b)`` = ``(1|a) + (1|a:b)``, ``(1|a:b)``.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    ModelFormulaError
        For anything else, with what is supported.

    Examples
    --------
    >>> [str(t) for t in parse_formula("y ~ x + (x||program)").random]
    ['(1 | program)', '(0 + x | program)']
    >>> parse_formula("y ~ x + (1|program)").fixed
    'x'
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelFormulaError(f"a model formula needs the form 'response ~ terms', got {formula!r}")
    lhs, _, rhs = formula.partition("~")
    if "~" in rhs:
        raise ModelFormulaError(f"{formula}: more than one '~'")
    response = lhs.strip()
    if not _IDENT.match(response):
        raise ModelFormulaError(
            f"{formula}: the response must be a column name, got {response!r} (transform it in the data)"
        )
    if not rhs.strip():
        raise ModelFormulaError(f"{formula}: nothing on the right-hand side of '~'")
    fixed: list[str] = []
    random: list[RandomTerm] = []
    for _, chunk in _split_top(rhs, "+"):
        text = chunk.strip()
        if not text:
            raise ModelFormulaError(f"{formula}: empty term (two '+' in a row?)")
        if "|" not in text:
            fixed.append(text)
            continue
        if not _wrapped(text):
            raise ModelFormulaError(
                f"{formula}: random term {text!r} must be written (expr | group) and added with '+'"
            )
        inner = text[1:-1]
        pieces = _split_top(inner, "|")
        if len(pieces) == 2:
            correlated = True
            left, right = pieces[0][1], pieces[1][1]
        elif len(pieces) == 3 and pieces[1][1].strip() == "":
            correlated = False
            left, right = pieces[0][1], pieces[2][1]
        else:
            raise ModelFormulaError(f"{formula}: cannot read random term {text!r}")
        left = left.strip()
        if not left:
            raise ModelFormulaError(f"{formula}: random term {text!r} has nothing before '|'")
        if "|" in left or "|" in right:
            raise ModelFormulaError(f"{formula}: cannot read random term {text!r}")
        for group in _parse_grouping(right, formula):
            if correlated:
                random.append(RandomTerm(left, group, True))
            else:
                random.extend(_split_uncorrelated(left, group, formula))
    if not random:
        raise ModelFormulaError(
            f"{formula}: no random-effect term such as (1|program); this module fits multilevel models "
            "(use ordinary regression for a model without one)"
        )
    return ParsedFormula(formula, response, " + ".join(fixed) if fixed else "1", tuple(random))


def _split_uncorrelated(left: str, group: tuple[str, ...], formula: str) -> list[RandomTerm]:
    """``(a + b || g)`` -> ``(1|g) + (0 + a|g) + (0 + b|g)``."""
    import patsy

    try:
        desc = patsy.ModelDesc.from_formula(left)
    except patsy.PatsyError as exc:
        raise ModelFormulaError(f"{formula}: cannot read {left!r}: {exc}") from None
    terms = []
    for term in desc.rhs_termlist:
        if not term.factors:
            terms.append(RandomTerm("1", group, True))
        else:
            code = ":".join(f.code for f in term.factors)
            terms.append(RandomTerm(f"0 + {code}", group, True))
    return terms
