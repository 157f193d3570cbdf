"""Multilevel models of relatedness against continuity exposure.

A model is written in lme4's formula syntax and fitted with statsmodels'
:class:`~statsmodels.regression.mixed_linear_model.MixedLM`::

    relatedness_satisfaction ~ coc + pgy + (1|program)              # residents in programs
    relatedness_satisfaction ~ coc + pgy + wave + (1|program/resident)  # repeated waves
    relatedness_satisfaction ~ coc + (1|program) + (1|faculty)      # crossed intercepts
    relatedness_satisfaction ~ coc + pgy + (coc|program)            # correlated random slope
    relatedness_satisfaction ~ coc + pgy + (coc||program)           # uncorrelated random slope

The formula is parsed here, without ``eval``: random terms ``(expr | group)``
become MixedLM's ``groups`` / ``exog_re`` / ``exog_vc`` form (the top grouping
factor as ``groups``, inner or crossed factors as variance components), and
the fixed part goes to patsy with a whitelist of functions (``C()``,
interactions, ``I()``, ``cr()``, ``bs()``, ``center()``, ``log()``...).

statsmodels finds the variance parameters (optimizers ``bfgs``, ``lbfgs``,
``cg``, ``nm`` and ``powell`` are tried in turn until one converges). The
estimates are then checked, and polished when statsmodels stopped short,
against lme4's profiled (RE)ML criterion, evaluated exactly here with the
relative covariance factor Λ; the fixed effects, their covariance
``σ² (X'V⁻¹X)⁻¹``, the log-likelihood and the conditional modes are computed
from that criterion, as lme4 does. This reproduces lme4 to 1e-6 or better
(see ``docs/continuity-and-models.md``) and avoids statsmodels' collapse of
group-level fixed effects to 0 when a variance component is at zero
(statsmodels issue #10239).

Everything a reader needs is in :class:`ModelResult`: fixed effects (Wald
z), variance components, ICC (adjusted, and from the null model), marginal
and conditional R² (Nakagawa & Schielzeth 2013; Johnson 2014 for random
slopes), a likelihood-ratio test of the exposure, standardized effects,
within- and between-person effects, a natural-spline dose-response curve and
plain-words warnings (singular fits as lme4 reports them).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> program = np.repeat([f"P{i}" for i in range(10)], 30)
>>> coc = rng.uniform(0, 1, 300)
>>> y = 3 + 0.8 * coc + np.repeat(rng.normal(0, 0.4, 10), 30) + rng.normal(0, 0.7, 300)
>>> data = pd.DataFrame({"program": program, "coc": coc, "rs": y})
>>> result = fit_model("rs ~ coc + (1|program)", data)
>>> result.n_groups
{'program': 10}
>>> round(float(result.fixed.loc["coc", "estimate"]), 2)
0.83
>>> list(result.to_dict())[:5]
['formula', 'method', 'n_obs', 'n_groups', 'fixed']
"""

from __future__ import annotations

import ast
import difflib
import math
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from ._plots import finish_figure, pyplot
from ._terminal import printable
from .errors import JoinError, ModelFitError, ModelFormulaError, SdtSurveyError

#: lme4's message for a fit on the boundary of the parameter space.
SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"
#: statsmodels optimizers tried in turn until one converges.
OPTIMIZERS: tuple[str, ...] = ("bfgs", "lbfgs", "cg", "nm", "powell")
#: A relative standard deviation (or Cholesky diagonal) below this is a singular fit (lme4's default).
SINGULAR_TOLERANCE = 1e-4
#: Largest absolute gradient of the criterion at the estimates still counted as converged.
GRADIENT_TOLERANCE = 2e-3
#: Largest gradient accepted from statsmodels without refining on the profiled criterion.
POLISH_TOLERANCE = 1e-4
#: Points of the dose-response grid.
CURVE_POINTS = 51

_Z975 = float(stats.norm.ppf(0.975))


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


# ---------------------------------------------------------------- safe patsy evaluation

_ALLOWED_CALLS = {
    "C",
    "Treatment",
    "Sum",
    "Diff",
    "Helmert",
    "Poly",
    "I",
    "Q",
    "cr",
    "cc",
    "bs",
    "center",
    "standardize",
    "scale",
    "log",
    "log1p",
    "exp",
    "sqrt",
    "abs",
}
_ALLOWED_NP = {"log", "log1p", "log2", "log10", "exp", "sqrt", "abs", "square"}
_ALLOWED_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Call,
    ast.keyword,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.FloorDiv,
    ast.Mod,
    ast.USub,
    ast.UAdd,
    ast.Attribute,
    ast.List,
    ast.Tuple,
)


def _names_in(code: str) -> set[str]:
    """Variable names a factor code refers to (function names excluded)."""
    tree = ast.parse(code, mode="eval")
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in functions and node.id != "np"
    }


#: patsy calls that make their argument a categorical factor (contrasts are used inside ``C()``).
_FACTOR_CALLS = {"C", "Treatment", "Sum", "Diff", "Helmert", "Poly"}


def _factor_names(code: str) -> set[str]:
    """Variable names a factor code uses as categorical factors, as ``pgy`` in ``C(pgy)``.

    Examples
    --------
    >>> sorted(_factor_names("C(pgy, Treatment(3))"))
    ['pgy']
    """
    tree = ast.parse(code, mode="eval")
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FACTOR_CALLS:
            for arg in node.args[:1]:
                names |= _names_in(ast.unparse(arg))
    return names


def _check_code(code: str, columns: Sequence[str], formula: str) -> None:
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise ModelFormulaError(f"{formula}: cannot read the term {code!r}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ModelFormulaError(
                f"{formula}: {code!r} uses {type(node).__name__}, which is not allowed in a model formula"
            )
        if isinstance(node, ast.Attribute) and not (
            isinstance(node.value, ast.Name) and node.value.id == "np" and node.attr in _ALLOWED_NP
        ):
            raise ModelFormulaError(
                f"{formula}: {code!r}: only np.{', np.'.join(sorted(_ALLOWED_NP))} are allowed"
            )
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in _ALLOWED_CALLS:
                raise ModelFormulaError(
                    f"{formula}: function {func.id}() is not supported in a model formula; "
                    f"supported: {', '.join(sorted(_ALLOWED_CALLS))} (or transform the column first)"
                )
    for name in _names_in(code):
        if name not in columns:
            hint = difflib.get_close_matches(name, list(columns), n=1)
            raise ModelFormulaError(
                f"{formula}: no column {name!r} in the data"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; columns: {', '.join(map(str, columns))}"
            )


def _eval_env():
    import types

    import patsy

    namespace = {name: getattr(patsy.builtins, name) for name in patsy.builtins.__all__}
    namespace.update(
        log=np.log,
        log1p=np.log1p,
        exp=np.exp,
        sqrt=np.sqrt,
        abs=np.abs,
        np=types.SimpleNamespace(**{name: getattr(np, name) for name in _ALLOWED_NP}),
    )
    return patsy.EvalEnvironment([namespace])


def _term_codes(rhs: str, formula: str) -> tuple[bool, list[list[str]]]:
    """Intercept flag and the factor codes of each term of a patsy right-hand side."""
    import patsy

    try:
        desc = patsy.ModelDesc.from_formula(rhs)
    except patsy.PatsyError as exc:
        raise ModelFormulaError(f"{formula}: cannot read the fixed part {rhs!r}: {exc}") from None
    intercept = any(not t.factors for t in desc.rhs_termlist)
    return intercept, [[f.code for f in t.factors] for t in desc.rhs_termlist if t.factors]


def _rhs_from_codes(intercept: bool, terms: list[list[str]]) -> str:
    parts = ["1" if intercept else "0"] + [":".join(t) for t in terms]
    return " + ".join(parts)


def _dmatrix(rhs: str, frame: pd.DataFrame, formula: str):
    import patsy

    try:
        return patsy.dmatrix(rhs, frame, eval_env=_eval_env(), NA_action="raise", return_type="dataframe")
    except patsy.PatsyError as exc:
        raise ModelFormulaError(f"{formula}: {exc}".splitlines()[0]) from None


# =========================================================================== the design


@dataclass
class _Block:
    """Random effects of one term for one grouping factor.

    ``kind`` is ``"re"`` (MixedLM's exog_re: a full covariance over ``terms``)
    or ``"vc"`` (one MixedLM variance component: a single term, iid over levels).
    """

    grouping: str
    terms: list[str]
    kind: str
    values: np.ndarray  # (n, len(terms))
    levels: np.ndarray  # (n,) level code of the grouping factor
    level_labels: np.ndarray


@dataclass
class _Design:
    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    top: str | None  # the grouping used as MixedLM groups (None: one group for all rows)
    group_codes: np.ndarray
    group_labels: np.ndarray
    blocks: list[_Block]

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def re_block(self) -> _Block | None:
        return next((b for b in self.blocks if b.kind == "re"), None)

    @property
    def vc_blocks(self) -> list[_Block]:
        return [b for b in self.blocks if b.kind == "vc"]

    @property
    def n_theta(self) -> int:
        re = self.re_block
        k = len(re.terms) if re else 0
        return k * (k + 1) // 2 + len(self.vc_blocks)

    def with_columns(self, keep: np.ndarray) -> _Design:
        return _Design(
            self.y,
            self.X[:, keep],
            [n for n, k in zip(self.x_names, keep, strict=True) if k],
            self.top,
            self.group_codes,
            self.group_labels,
            self.blocks,
        )

    def structure(self) -> str:
        """How the model was handed to MixedLM, in words."""
        re = self.re_block
        parts = [f"groups={self.top}" if self.top else "groups=one group holding every row (crossed)"]
        if re is not None:
            names = " + ".join(t if t != "(Intercept)" else "1" for t in re.terms)
            parts.append(f"re_formula={names if '1' in names.split(' + ') else '0 + ' + names}")
        for b in self.vc_blocks:
            term = b.terms[0]
            parts.append(f"vc {b.grouping}" + ("" if term == "(Intercept)" else f" slope {term}"))
        return "; ".join(parts)


def _codes(frame: pd.DataFrame, group: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    keys = frame[list(group)].astype(str)
    label = keys.iloc[:, 0] if len(group) == 1 else keys.agg(":".join, axis=1)
    codes, uniques = pd.factorize(label, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _nests(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether every level of ``inner`` lies within one level of ``outer``."""
    pairs = np.unique(np.column_stack([inner, outer]), axis=0)
    return len(pairs) == len(np.unique(inner))


def _build_design(
    parsed: ParsedFormula, frame: pd.DataFrame, fixed_rhs: str, labels: Mapping[str, str] | None = None
) -> tuple[_Design, Any]:
    formula = parsed.formula
    y = frame[parsed.response].to_numpy(dtype=float)
    Xdf = _dmatrix(fixed_rhs, frame, formula)
    x_names = ["(Intercept)" if c == "Intercept" else str(c) for c in Xdf.columns]
    for code, label in (labels or {}).items():
        x_names = [name.replace(code, label) for name in x_names]
    X = Xdf.to_numpy(dtype=float)
    if X.shape[1] == 0:
        raise ModelFormulaError(f"{formula}: the fixed part has no columns")
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ModelFormulaError(
            f"{formula}: the fixed-effects design is rank deficient ({rank} of {X.shape[1]} columns are "
            f"independent: {', '.join(x_names)}); a variable may be constant or collinear with others"
        )

    # One block per random term (columns of its expression), per grouping factor.
    blocks: list[_Block] = []
    group_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for term in parsed.random:
        if term.group_name not in group_cache:
            group_cache[term.group_name] = _codes(frame, term.group)
        levels, labels = group_cache[term.group_name]
        Z = _dmatrix(term.expr, frame, formula)
        names = ["(Intercept)" if c == "Intercept" else str(c) for c in Z.columns]
        if not names:
            raise ModelFormulaError(f"{formula}: random term {term} has no columns")
        blocks.append(_Block(term.group_name, names, "re", Z.to_numpy(dtype=float), levels, labels))
    for g, (_, labels) in group_cache.items():
        if len(labels) < 2:
            raise ModelFormulaError(
                f"{formula}: grouping factor {g} has only {len(labels)} level in the data; a random effect "
                "needs at least 2 (5 or more to estimate its variance well)"
            )

    # The top grouping: one whose levels nest every other grouping factor.
    names = list(group_cache)
    candidates = [
        g for g in names if all(_nests(group_cache[g][0], group_cache[h][0]) for h in names if h != g)
    ]
    multi = [b for b in blocks if len(b.terms) > 1]
    top: str | None = None
    if candidates:
        with_multi = [g for g in candidates if any(b.grouping == g for b in multi)]
        top = (with_multi or sorted(candidates, key=lambda g: len(group_cache[g][1])))[0]
    for b in multi:
        if b.grouping != top:
            where = (
                f"it is not the top-level grouping ({top}) in which the others nest"
                if top
                else "the grouping factors are crossed, so MixedLM sees one group and variance "
                "components only"
            )
            raise ModelFormulaError(
                f"{formula}: MixedLM cannot fit correlated random effects {b.terms} for {b.grouping}: "
                f"{where}. "
                f"Use uncorrelated terms, e.g. ({' + '.join(t for t in b.terms if t != '(Intercept)')} "
                f"|| {b.grouping}), or drop the slope"
            )
    top_multi = [b for b in multi if b.grouping == top]
    if len(top_multi) > 1:
        raise ModelFormulaError(
            f"{formula}: MixedLM can fit one correlated block of random effects for {top}, not "
            f"{len(top_multi)}; merge them into one term or make them uncorrelated with ||"
        )
    # MixedLM's exog_re: the correlated block of the top grouping, else its intercept, else its first term.
    final: list[_Block] = []
    re_chosen: _Block | None = None
    if top is not None:
        top_blocks = [b for b in blocks if b.grouping == top]
        re_chosen = (
            top_multi[0]
            if top_multi
            else next((b for b in top_blocks if b.terms == ["(Intercept)"]), top_blocks[0])
        )
    seen: set[tuple[str, str]] = set()
    for b in blocks:
        if b is re_chosen:
            final.append(b)
            continue
        for j, term_name in enumerate(b.terms):
            key = (b.grouping, term_name)
            if key in seen or (re_chosen is not None and b.grouping == top and term_name in re_chosen.terms):
                raise ModelFormulaError(
                    f"{formula}: the random term {term_name} for {b.grouping} appears twice"
                )
            seen.add(key)
            final.append(_Block(b.grouping, [term_name], "vc", b.values[:, [j]], b.levels, b.level_labels))
    final.sort(key=lambda b: b.kind != "re")
    if top is not None:
        group_codes, group_labels = group_cache[top]
    else:
        group_codes, group_labels = np.zeros(len(y), dtype=np.int64), np.array(["all"], dtype=object)
    return _Design(y, X, x_names, top, group_codes, group_labels, final), Xdf.design_info


# =========================================================================== the criterion


class _Criterion:
    """lme4's profiled deviance / REML criterion as a function of the relative factor θ.

    ``V = σ² (I + Z Λ Λ' Z')``; per top-level group ``M = I + Λ'Z'ZΛ`` (padded
    to a common size and handled as one batch).
    """

    def __init__(self, design: _Design):
        self.design = design
        re = design.re_block
        self.k_re = len(re.terms) if re else 0
        self.vcs = design.vc_blocks
        X, y, codes = design.X, design.y, design.group_codes
        n_groups = len(design.group_labels)
        self.rows = [np.flatnonzero(codes == g) for g in range(n_groups)]
        # Columns of Z per group: the re block, then each variance component's levels in the group.
        self.z_groups: list[np.ndarray] = []
        self.col_comp: list[np.ndarray] = []  # component of each column: -1 re, c >= 0 vc
        self.col_labels: list[list[tuple[str, str, str]]] = []
        for rows in self.rows:
            mats, comp, labels = [], [], []
            if re is not None:
                mats.append(re.values[rows])
                comp.extend([-1] * self.k_re)
                label = design.group_labels[codes[rows[0]]]
                labels.extend((re.grouping, str(label), t) for t in re.terms)
            for c, b in enumerate(self.vcs):
                local, inverse = np.unique(b.levels[rows], return_inverse=True)
                mat = np.zeros((len(rows), len(local)))
                mat[np.arange(len(rows)), inverse.ravel()] = b.values[rows, 0]
                mats.append(mat)
                comp.extend([c] * len(local))
                labels.extend((b.grouping, str(b.level_labels[lv]), b.terms[0]) for lv in local)
            self.z_groups.append(np.hstack(mats))
            self.col_comp.append(np.array(comp, dtype=np.int64))
            self.col_labels.append(labels)
        q = max(z.shape[1] for z in self.z_groups)
        p = X.shape[1]
        self.q = q
        self.ZtZ = np.zeros((n_groups, q, q))
        self.ZtX = np.zeros((n_groups, q, p))
        self.Zty = np.zeros((n_groups, q))
        self.comp = np.full((n_groups, q), -2, dtype=np.int64)  # -2 = padding
        for g, (rows, Z) in enumerate(zip(self.rows, self.z_groups, strict=True)):
            m = Z.shape[1]
            self.ZtZ[g, :m, :m] = Z.T @ Z
            self.ZtX[g, :m] = Z.T @ X[rows]
            self.Zty[g, :m] = Z.T @ y[rows]
            self.comp[g, :m] = self.col_comp[g]
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        self.tril = np.tril_indices(self.k_re)
        self.n_re_theta = len(self.tril[0])
        self.n_theta = self.n_re_theta + len(self.vcs)
        diag = self.tril[0] == self.tril[1]
        self.lower = np.concatenate([np.where(diag, 0.0, -np.inf), np.zeros(len(self.vcs))])
        self.eye = np.eye(q)

    # ----------------------------------------------------------- parameters
    def lam(self, theta: np.ndarray) -> np.ndarray:
        """Λ for every group, shape (groups, q, q)."""
        theta = np.asarray(theta, dtype=float)
        n_groups = self.ZtZ.shape[0]
        vc_theta = np.concatenate([theta[self.n_re_theta :], [0.0, 0.0]])  # -2/-1 index the zeros
        diag = np.where(self.comp >= 0, vc_theta[self.comp], 0.0)
        lam = np.zeros((n_groups, self.q, self.q))
        idx = np.arange(self.q)
        lam[:, idx, idx] = diag
        if self.k_re:
            L = np.zeros((self.k_re, self.k_re))
            L[self.tril] = theta[: self.n_re_theta]
            lam[:, : self.k_re, : self.k_re] = L
        return lam

    def relative_covariances(self, theta: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Σ_re / σ² and the variance components / σ²."""
        theta = np.asarray(theta, dtype=float)
        re = None
        if self.k_re:
            L = np.zeros((self.k_re, self.k_re))
            L[self.tril] = theta[: self.n_re_theta]
            re = L @ L.T
        return re, theta[self.n_re_theta :] ** 2

    def theta_from(self, cov_re: np.ndarray | None, vcomp: np.ndarray, scale: float) -> np.ndarray:
        parts = []
        if self.k_re:
            rel = np.asarray(cov_re, dtype=float) / scale
            rel = (rel + rel.T) / 2
            try:
                L = np.linalg.cholesky(rel + 1e-14 * np.eye(self.k_re))
            except np.linalg.LinAlgError:
                w, v = np.linalg.eigh(rel)
                half = v * np.sqrt(np.clip(w, 0, None))
                L = np.linalg.qr(half.T, mode="r").T  # lower triangular with L L' = rel
                L = L * np.where(np.diag(L) < 0, -1.0, 1.0)
            parts.append(L[self.tril])
        parts.append(np.sqrt(np.clip(np.asarray(vcomp, dtype=float) / scale, 0, None)))
        return np.concatenate(parts) if parts else np.zeros(0)

    def start(self) -> np.ndarray:
        theta = np.zeros(self.n_theta)
        theta[: self.n_re_theta] = np.where(self.tril[0] == self.tril[1], 1.0, 0.0)
        theta[self.n_re_theta :] = 1.0
        return theta

    # ----------------------------------------------------------- evaluation
    def solve(self, theta: np.ndarray, reml: bool) -> dict[str, Any]:
        lam = self.lam(theta)
        lamT = lam.transpose(0, 2, 1)
        M = self.eye + lamT @ self.ZtZ @ lam
        C = np.linalg.cholesky(M)
        LtZtX = lamT @ self.ZtX
        LtZty = np.einsum("gji,gj->gi", lam, self.Zty)
        both = np.linalg.solve(C, np.concatenate([LtZtX, LtZty[..., None]], axis=2))
        cX, cy = both[..., :-1], both[..., -1]
        XtWX = self.XtX - np.einsum("gqi,gqj->ij", cX, cX)
        XtWy = self.Xty - np.einsum("gqi,gq->i", cX, cy)
        ytWy = self.yty - float(np.einsum("gq,gq->", cy, cy))
        logdet_m = 2.0 * float(np.log(np.diagonal(C, axis1=1, axis2=2)).sum())
        RX = np.linalg.cholesky(XtWX)
        beta = linalg.cho_solve((RX, True), XtWy)
        r2 = max(ytWy - float(beta @ XtWy), 1e-300)
        n, p = self.design.n, self.design.p
        dof = n - p if reml else n
        sigma2 = r2 / dof
        dev = logdet_m + dof * (1.0 + math.log(2.0 * math.pi * sigma2))
        if reml:
            dev += 2.0 * float(np.log(np.diag(RX)).sum())
        return {
            "dev": dev,
            "beta": beta,
            "sigma2": sigma2,
            "XtWX": XtWX,
            "lam": lam,
            "C": C,
            "LtZtX": LtZtX,
            "LtZty": LtZty,
        }

    def deviance(self, theta: np.ndarray, reml: bool) -> float:
        try:
            return float(self.solve(theta, reml)["dev"])
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return float("inf")

    def gradient(self, theta: np.ndarray, reml: bool, step: float = 1e-5) -> np.ndarray:
        """Central-difference gradient (one-sided at a lower bound)."""
        g = np.zeros(self.n_theta)
        for j in range(self.n_theta):
            up = theta.copy()
            up[j] += step
            if theta[j] - step < self.lower[j]:
                g[j] = (self.deviance(up, reml) - self.deviance(theta, reml)) / step
            else:
                down = theta.copy()
                down[j] -= step
                g[j] = (self.deviance(up, reml) - self.deviance(down, reml)) / (2 * step)
        return g

    def conditional_modes(self, theta: np.ndarray, solved: dict[str, Any]) -> list[np.ndarray]:
        """b = Λ M⁻¹ Λ'Z'(y - Xβ), per group (unpadded)."""
        rhs = solved["LtZty"] - solved["LtZtX"] @ solved["beta"]
        C = solved["C"]
        u = np.linalg.solve(C.transpose(0, 2, 1), np.linalg.solve(C, rhs[..., None]))[..., 0]
        b = np.einsum("gij,gj->gi", solved["lam"], u)
        return [b[g, : Z.shape[1]] for g, Z in enumerate(self.z_groups)]


# =========================================================================== fitting


@dataclass
class _CoreFit:
    theta: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    sigma2: float
    dev: float
    reml: bool
    converged: bool
    singular: bool
    optimizer: str
    attempts: list[dict[str, Any]]
    notes: list[str]
    warnings: list[str]
    max_gradient: float
    criterion: _Criterion
    statsmodels_result: Any = None

    @property
    def loglik(self) -> float:
        return -self.dev / 2.0


def _statsmodels_model(design: _Design):
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    re = design.re_block
    codes = design.group_codes
    vc_names, vc_cols, vc_mats = [], [], []
    n_groups = len(design.group_labels)
    rows = [np.flatnonzero(codes == g) for g in range(n_groups)]
    for b in design.vc_blocks:
        name = b.grouping if b.terms[0] == "(Intercept)" else f"{b.grouping}|{b.terms[0]}"
        vc_names.append(name)
        cols, mats = [], []
        for r in rows:
            local, inverse = np.unique(b.levels[r], return_inverse=True)
            mat = np.zeros((len(r), len(local)))
            mat[np.arange(len(r)), inverse.ravel()] = b.values[r, 0]
            mats.append(mat)
            cols.append([str(b.level_labels[lv]) for lv in local])
        vc_cols.append(cols)
        vc_mats.append(mats)
    exog_vc = VCSpec(vc_names, vc_cols, vc_mats) if vc_names else None
    exog_re = re.values if re is not None else None
    return MixedLM(design.y, design.X, groups=codes, exog_re=exog_re, exog_vc=exog_vc)


def _run_statsmodels(model, method: str, reml: bool) -> tuple[Any, list[str]]:
    kwargs: dict[str, Any] = {"maxiter": 2000}
    if method in ("bfgs", "cg"):
        kwargs["gtol"] = 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=reml, method=[method], **kwargs)
    messages = sorted({str(w.message).splitlines()[0] for w in caught})
    return result, messages


def _fit_core(
    design: _Design,
    reml: bool,
    optimizers: Sequence[str] = OPTIMIZERS,
    polish: bool = True,
) -> _CoreFit:
    crit = _Criterion(design)
    attempts: list[dict[str, Any]] = []
    notes: list[str] = []
    best: tuple[float, np.ndarray, str, Any] | None = None
    model = None
    try:
        model = _statsmodels_model(design)
    except Exception as exc:  # statsmodels could not even set the model up
        attempts.append({"optimizer": "setup", "error": f"{type(exc).__name__}: {exc}"})
    for method in optimizers if model is not None else ():
        record: dict[str, Any] = {"optimizer": method}
        attempts.append(record)
        try:
            result, messages = _run_statsmodels(model, method, reml)
        except Exception as exc:  # an optimizer blew up: try the next one
            record["error"] = f"{type(exc).__name__}: {exc}"
            continue
        record["messages"] = messages
        record["converged"] = bool(result.converged)
        k_vc = len(design.vc_blocks)
        vcomp = np.asarray(result.vcomp) if k_vc else np.zeros(0)
        cov_re = np.asarray(result.cov_re) if crit.k_re else None
        theta = crit.theta_from(cov_re, vcomp, float(result.scale))
        dev = crit.deviance(theta, reml)
        record["criterion"] = dev
        if not np.isfinite(dev):
            continue
        grad = crit.gradient(theta, reml)
        free = theta > crit.lower + 1e-8
        record["max_gradient"] = float(np.max(np.abs(grad[free]), initial=0.0))
        if best is None or dev < best[0]:
            best = (dev, theta, method, result)
        if result.converged and record["max_gradient"] < GRADIENT_TOLERANCE:
            break
    sm_result = None
    if best is None:
        theta, optimizer = crit.start(), "L-BFGS-B (statsmodels failed)"
        notes.append(
            "every statsmodels optimizer failed ("
            + "; ".join(f"{a['optimizer']}: {a.get('error', 'no finite criterion')}" for a in attempts)
            + "); the profiled criterion was optimized directly from the default start"
        )
        polish = True
    else:
        _, theta, optimizer, sm_result = best
        tried = [a["optimizer"] for a in attempts]
        if len(tried) > 1:
            notes.append(
                f"statsmodels optimizer(s) {', '.join(tried[:-1])} did not converge cleanly; "
                f"{optimizer} gave the best criterion"
            )
    dev0 = crit.deviance(theta, reml)
    if polish and crit.n_theta and not _stationary(crit, theta, reml, POLISH_TOLERANCE):
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in crit.lower]
        candidate = np.maximum(theta, crit.lower)
        for ftol, gtol in ((1e-15, 1e-9), (1e-16, 1e-10)):
            res = optimize.minimize(
                crit.deviance,
                candidate,
                args=(reml,),
                jac=crit.gradient,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": ftol, "gtol": gtol, "maxiter": 5000, "maxls": 50},
            )
            if res.fun <= crit.deviance(candidate, reml):
                candidate = np.asarray(res.x, dtype=float)
            if _stationary(crit, candidate, reml, POLISH_TOLERANCE):
                break
        dev1 = crit.deviance(candidate, reml)
        if dev1 < dev0:
            if best is not None and dev0 - dev1 > 1e-6:
                notes.append(
                    f"statsmodels ({optimizer}) stopped {dev0 - dev1:.2g} above the optimum of the "
                    f"{'REML criterion' if reml else 'deviance'}; the estimates were refined on lme4's "
                    "profiled criterion"
                )
            theta = candidate
    solved = crit.solve(theta, reml)
    grad = crit.gradient(theta, reml)
    free = theta > crit.lower + 1e-8
    max_grad = float(np.max(np.abs(grad[free]), initial=0.0))
    converged = max_grad < GRADIENT_TOLERANCE
    messages: list[str] = []
    if not converged:
        messages.append(
            "the model did not converge: the criterion's largest gradient at the estimates is "
            f"{max_grad:.2g} (tolerance {GRADIENT_TOLERANCE}); optimizers tried: "
            f"{', '.join(a['optimizer'] for a in attempts)}. "
            "The estimates may be inaccurate: rescale the variables or simplify the random part."
        )
    singular_terms = _singular_terms(crit, theta)
    if singular_terms:
        messages.append(
            f"{SINGULAR_MESSAGE}. In plain words: {'; '.join(singular_terms)}, so the data carry no "
            "information about it; the fixed effects are still valid, but consider simplifying the "
            "random part"
        )
    if sm_result is not None:
        sm_fe = np.asarray(sm_result.fe_params, dtype=float)
        gap = np.abs(sm_fe - solved["beta"]) > 1e-4 * (1 + np.abs(solved["beta"]))
        if gap.any():
            names = [n for n, g in zip(design.x_names, gap, strict=True) if g]
            notes.append(
                "statsmodels' own fixed effects for "
                + ", ".join(names)
                + " differ from the GLS estimates at the fitted variances (statsmodels issue #10239 sets "
                "group-level effects to 0 when a variance is near zero); the GLS estimates are reported"
            )
    return _CoreFit(
        theta=theta,
        beta=solved["beta"],
        vcov=solved["sigma2"] * np.linalg.inv(solved["XtWX"]),
        sigma2=float(solved["sigma2"]),
        dev=float(solved["dev"]),
        reml=reml,
        converged=converged,
        singular=bool(singular_terms),
        optimizer=optimizer,
        attempts=attempts,
        notes=notes,
        warnings=messages,
        max_gradient=max_grad,
        criterion=crit,
        statsmodels_result=sm_result,
    )


def _guarded(function, design: _Design, *args: Any) -> _CoreFit:
    """Run a fit; a numerical failure becomes a ModelFitError that says what to check."""
    try:
        return function(design, *args)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        raise ModelFitError(
            f"the model could not be fitted ({type(exc).__name__}: {exc}); check for constant or collinear "
            "variables, a grouping factor with one observation per level as the only random term, or "
            "extreme values"
        ) from None


def _stationary(crit: _Criterion, theta: np.ndarray, reml: bool, tol: float) -> bool:
    """Whether θ satisfies the first-order (KKT) conditions of the bounded problem to ``tol``."""
    grad = crit.gradient(theta, reml)
    at_bound = theta <= crit.lower + 1e-8
    return bool(np.all(np.where(at_bound, grad > -tol, np.abs(grad) < tol)))


def _singular_terms(crit: _Criterion, theta: np.ndarray) -> list[str]:
    out = []
    design = crit.design
    re = design.re_block
    if re is not None:
        L = np.zeros((crit.k_re, crit.k_re))
        L[crit.tril] = theta[: crit.n_re_theta]
        for j, term in enumerate(re.terms):
            if L[j, j] < SINGULAR_TOLERANCE:
                if j == 0 or np.all(np.abs(L[j, :j]) < SINGULAR_TOLERANCE):
                    out.append(f"the variance of {term} between {re.grouping} is estimated at zero")
                else:
                    out.append(
                        f"the random {term} for {re.grouping} is perfectly correlated with "
                        f"{', '.join(re.terms[:j])} (correlation ±1)"
                    )
    for c, b in enumerate(design.vc_blocks):
        if theta[crit.n_re_theta + c] < SINGULAR_TOLERANCE:
            what = "intercept" if b.terms[0] == "(Intercept)" else f"slope of {b.terms[0]}"
            out.append(f"the variance of the {b.grouping} {what} is estimated at zero")
    return out


# =========================================================================== results


@dataclass
class RandomEffectGroup:
    """The random effects of one grouping factor.

    Attributes
    ----------
    grouping : str
        ``program``, ``program:resident``...
    covariance : pandas.DataFrame
        Covariance of the random effects (terms × terms); off-diagonals are 0
        for uncorrelated terms.
    correlated : bool
        Whether the covariances were estimated (``(x|g)``) or fixed at 0 (``(x||g)``).
    n_levels : int
    """

    grouping: str
    covariance: pd.DataFrame
    correlated: bool
    n_levels: int

    @property
    def terms(self) -> list[str]:
        return list(self.covariance.index)

    @property
    def variance(self) -> float:
        """Variance of the intercept (of the first term when there is no intercept)."""
        return float(self.covariance.iat[0, 0])

    @property
    def sd(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    @property
    def correlations(self) -> pd.DataFrame:
        sd = np.sqrt(np.clip(np.diag(self.covariance.to_numpy()), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.covariance.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.covariance.index, columns=self.covariance.columns)

    def to_dict(self) -> dict[str, Any]:
        cov = self.covariance.to_numpy()
        corr = self.correlations.to_numpy()
        terms = self.terms
        return {
            "variance": self.variance,
            "sd": self.sd,
            "terms": {
                t: {"variance": float(cov[i, i]), "sd": math.sqrt(max(cov[i, i], 0))}
                for i, t in enumerate(terms)
            },
            "correlations": {
                f"{terms[i]}:{terms[j]}": _num(corr[i, j])
                for i in range(len(terms))
                for j in range(i)
                if self.correlated
            },
            "correlated": self.correlated,
            "n_levels": self.n_levels,
        }


@dataclass
class LikelihoodRatioTest:
    """Likelihood-ratio test of fixed terms from ML refits (as lme4's ``anova(reduced, full)``).

    Attributes
    ----------
    dropped : list of str
        The fixed-effect columns removed in the reduced model.
    chisq, df, pvalue : float, int, float
        ``2 (loglik_full - loglik_reduced)`` on ``df`` degrees of freedom.
    loglik_full, loglik_reduced : float
        Maximum (ML) log-likelihoods of the two models, fitted on the same rows.
    """

    dropped: list[str]
    chisq: float
    df: int
    pvalue: float
    loglik_full: float
    loglik_reduced: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "dropped": self.dropped,
            "chisq": self.chisq,
            "df": self.df,
            "pvalue": self.pvalue,
            "loglik_full": self.loglik_full,
            "loglik_reduced": self.loglik_reduced,
        }


@dataclass
class JoinReport:
    """How the scores and exposure tables were joined.

    Attributes
    ----------
    keys : list of str
        Join keys in the scores table (the id column, and the wave column when given).
    n_scores, n_exposure, n_matched : int
        Rows in each table and score rows that found an exposure row.
    scores_only : list of str
        Ids of score rows with no exposure row (left out of the model).
    exposure_only : list of str
        Ids in the exposure table with no score row (unused).
    conflicts : dict
        Columns present in both tables whose values disagree on matched rows
        (the scores table's values are used): column -> number of rows.
    """

    keys: list[str]
    exposure_keys: list[str]
    n_scores: int
    n_exposure: int
    n_matched: int
    scores_only: list[str]
    exposure_only: list[str]
    conflicts: dict[str, int] = field(default_factory=dict)

    def messages(self) -> list[str]:
        out = []
        if self.scores_only:
            out.append(
                f"{len(self.scores_only)} score row(s) have no exposure row and are not in the model "
                f"(ids from the scores table: {_few(self.scores_only)})"
            )
        if self.exposure_only:
            out.append(
                f"{len(self.exposure_only)} id(s) of the exposure table have no score row and are unused "
                f"(ids from the exposure table: {_few(self.exposure_only)})"
            )
        for column, count in self.conflicts.items():
            out.append(
                f"column {column!r} is in both tables and differs on {count} matched row(s); "
                "the scores table's values are used"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "exposure_keys": self.exposure_keys,
            "n_scores": self.n_scores,
            "n_exposure": self.n_exposure,
            "n_matched": self.n_matched,
            "scores_only": self.scores_only,
            "exposure_only": self.exposure_only,
            "conflicts": self.conflicts,
        }


def _few(ids: Sequence[str], k: int = 10) -> str:
    shown = ", ".join(map(str, ids[:k]))
    return shown + (f", ... ({len(ids) - k} more)" if len(ids) > k else "")


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class ModelResult:
    """A fitted multilevel model.

    Attributes
    ----------
    formula : str
        The formula as given (with the within/between or spline substitution noted in ``fixed_formula``).
    method : {"REML", "ML"}
    n_obs : int
        Rows used.
    n_groups : dict
        Levels of each grouping factor.
    fixed : pandas.DataFrame
        One row per fixed-effect column: ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper`` (95% Wald), ``z`` (Wald z = estimate / se) and ``pvalue``
        (two-sided, normal reference; as statsmodels reports them).
    random : dict of RandomEffectGroup
        Variance components by grouping factor.
    residual_variance : float
    icc, icc_by_group : float, dict
        Adjusted ICC of the fitted model: random-effect variance over random
        plus residual (fixed effects left out); per grouping factor.
    icc_null, icc_null_by_group : float or None, dict
        The same from the null model (``y ~ 1`` with a random intercept for
        each grouping factor), fitted on the same rows.
    r2_marginal, r2_conditional : float
        Nakagawa & Schielzeth (2013) R²; the random-slope variance is the mean
        of ``z' Σ z`` over rows (Johnson 2014).
    variances : dict
        ``fixed`` (variance of the fixed-effects predictions, n - 1),
        ``random`` and ``residual``: the parts of the R².
    loglik, criterion : float
        Log-likelihood (REML or ML) and ``-2 loglik`` (lme4's REML criterion or deviance).
    aic, bic : float
    lrt : LikelihoodRatioTest or None
        Test of the exposure's fixed terms (ML refits with and without them).
    standardized : pandas.DataFrame or None
        Per exposure term: ``per_sd`` (estimate × SD(x), in units of the
        response) and ``standardized`` (estimate × SD(x) / SD(y)), with 95% CIs.
    curve : pandas.DataFrame or None
        Dose-response of the exposure: ``x``, ``fitted``, ``se``, ``ci_lower``,
        ``ci_upper`` (fixed effects only; other columns at their means).
    vcov : pandas.DataFrame
        Covariance of the fixed effects, ``σ² (X'V⁻¹X)⁻¹`` as lme4's ``vcov()``.
    residuals : numpy.ndarray
        Conditional residuals ``y - Xβ - Zb``.
    conditional_modes : pandas.DataFrame
        The predicted random effects (BLUPs): grouping, level, term, value.
    converged, singular : bool
    warnings : list of str
        Plain-words problems (singular fit, non-convergence, rows left out).
    notes : list of str
        What was done on the way (optimizer retries, refinements).
    """

    formula: str
    fixed_formula: str
    method: str
    n_obs: int
    n_groups: dict[str, int]
    fixed: pd.DataFrame
    random: dict[str, RandomEffectGroup]
    residual_variance: float
    icc: float
    icc_by_group: dict[str, float]
    r2_marginal: float
    r2_conditional: float
    variances: dict[str, float]
    loglik: float
    criterion: float
    aic: float
    bic: float
    converged: bool
    singular: bool
    warnings: list[str]
    notes: list[str]
    optimizer: str
    structure: str
    exposure: list[str] = field(default_factory=list)
    icc_null: float | None = None
    icc_null_by_group: dict[str, float] = field(default_factory=dict)
    lrt: LikelihoodRatioTest | None = None
    standardized: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    curve_variable: str | None = None
    within_between: dict[str, Any] | None = None
    spline: dict[str, Any] | None = None
    join: JoinReport | None = None
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    residuals: np.ndarray | None = field(default=None, repr=False)
    conditional_modes: pd.DataFrame | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False)
    statsmodels_result: Any = field(default=None, repr=False)
    seconds: float = 0.0

    # ----------------------------------------------------------------- tables
    def to_frame(self) -> pd.DataFrame:
        """The fixed-effects table (a copy)."""
        return self.fixed.copy()

    def random_frame(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor."""
        rows = []
        for name, group in self.random.items():
            cov = group.covariance.to_numpy()
            corr = group.correlations.to_numpy()
            terms = group.terms
            for i, t in enumerate(terms):
                rows.append((name, t, None, cov[i, i], math.sqrt(max(cov[i, i], 0))))
            if group.correlated:
                for i in range(len(terms)):
                    for j in range(i + 1, len(terms)):
                        rows.append((name, terms[i], terms[j], cov[i, j], corr[i, j]))
        rows.append(("Residual", None, None, self.residual_variance, math.sqrt(self.residual_variance)))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results (the contract keys first)."""
        fixed = {
            term: {k: _num(row[k]) for k in ("estimate", "se", "ci_lower", "ci_upper", "z", "pvalue")}
            for term, row in self.fixed.iterrows()
        }
        return {
            "formula": self.formula,
            "method": self.method,
            "n_obs": self.n_obs,
            "n_groups": self.n_groups,
            "fixed": fixed,
            "random": {name: group.to_dict() for name, group in self.random.items()},
            "residual_variance": self.residual_variance,
            "icc": _num(self.icc),
            "r2_marginal": _num(self.r2_marginal),
            "r2_conditional": _num(self.r2_conditional),
            "converged": self.converged,
            "warnings": list(self.warnings),
            "fixed_formula": self.fixed_formula,
            "icc_by_group": self.icc_by_group,
            "icc_null": None if self.icc_null is None else _num(self.icc_null),
            "icc_null_by_group": self.icc_null_by_group,
            "variances": self.variances,
            "loglik": self.loglik,
            "criterion": self.criterion,
            "aic": self.aic,
            "bic": self.bic,
            "singular": self.singular,
            "notes": list(self.notes),
            "optimizer": self.optimizer,
            "structure": self.structure,
            "exposure": self.exposure,
            "lrt": None if self.lrt is None else self.lrt.to_dict(),
            "standardized": None
            if self.standardized is None
            else {t: {k: _num(v) for k, v in row.items()} for t, row in self.standardized.iterrows()},
            "within_between": self.within_between,
            "spline": self.spline,
            "curve": None
            if self.curve is None
            else {"variable": self.curve_variable, **{c: self.curve[c].tolist() for c in self.curve.columns}},
            "join": None if self.join is None else self.join.to_dict(),
        }

    # ----------------------------------------------------------------- printing
    def summary(self) -> str:
        """An lme4-like printout."""
        lines = [
            f"Linear mixed model fit by {self.method} (statsmodels MixedLM, {self.optimizer}; "
            "checked on lme4's profiled criterion)",
            f"Formula: {self.formula}",
        ]
        if self.fixed_formula != self.formula:
            lines.append(f"Fitted as: {self.fixed_formula}")
        lines.append("")
        label = "REML criterion at convergence" if self.method == "REML" else "deviance"
        lines.append(f"     AIC      BIC   logLik  {label}")
        lines.append(f"{self.aic:>8.1f} {self.bic:>8.1f} {self.loglik:>8.1f}  {self.criterion:.1f}")
        if self.residuals is not None and len(self.residuals):
            q = np.quantile(self.residuals / math.sqrt(self.residual_variance), [0, 0.25, 0.5, 0.75, 1])
            lines += ["", "Scaled residuals:", "    Min      1Q  Median      3Q     Max"]
            lines.append(" ".join(f"{v:>7.4f}" for v in q))
        lines += ["", "Random effects:"]
        frame = self.random_frame()
        # Group and term names carry factor levels from the data: control characters escaped.
        width = max(8, *(len(printable(g)) for g in frame["grp"]))
        tw = max(11, *(len(printable(t)) for t in frame["var1"].dropna()), 0)
        lines.append(f" {'Groups':<{width}} {'Name':<{tw}} {'Variance':>9} {'Std.Dev.':>9}  Corr")
        for name, group in self.random.items():
            corr = group.correlations.to_numpy()
            for i, term in enumerate(group.terms):
                var = group.covariance.iat[i, i]
                cor = " ".join(f"{corr[i, j]:>5.2f}" for j in range(i)) if group.correlated else ""
                shown = printable(name) if i == 0 else ""
                sd = math.sqrt(max(var, 0))
                lines.append(f" {shown:<{width}} {printable(term):<{tw}} {var:>9.5f} {sd:>9.5f}  {cor}")
        lines.append(
            f" {'Residual':<{width}} {'':<{tw}} {self.residual_variance:>9.5f} "
            f"{math.sqrt(self.residual_variance):>9.5f}"
        )
        groups = ", ".join(f"{k}, {v}" for k, v in self.n_groups.items())
        lines.append(f"Number of obs: {self.n_obs}, groups:  {groups}")
        lines += ["", "Fixed effects (Wald z, 95% Wald CI):"]
        tw = max(11, *(len(printable(t)) for t in self.fixed.index))
        lines.append(
            f"{'':<{tw}} {'Estimate':>9} {'Std.Error':>9} {'z value':>8} {'Pr(>|z|)':>9} "
            f"{'2.5 %':>8} {'97.5 %':>8}"
        )
        for term, row in self.fixed.iterrows():
            lines.append(
                f"{printable(term):<{tw}} {row['estimate']:>9.4f} {row['se']:>9.4f} {row['z']:>8.3f} "
                f"{_pformat(row['pvalue']):>9} {row['ci_lower']:>8.4f} {row['ci_upper']:>8.4f}"
            )
        lines.append("")
        icc = f"ICC (adjusted): {self.icc:.3f}"
        if len(self.icc_by_group) > 1:
            icc += " (" + ", ".join(f"{k} {v:.3f}" for k, v in self.icc_by_group.items()) + ")"
        if self.icc_null is not None:
            icc += f"; null-model ICC: {self.icc_null:.3f}"
        lines.append(icc)
        lines.append(
            f"R2 marginal: {self.r2_marginal:.3f}, conditional: {self.r2_conditional:.3f} "
            "(Nakagawa & Schielzeth; Johnson 2014 for random slopes)"
        )
        if self.lrt is not None:
            lines.append(
                f"Likelihood-ratio test of {', '.join(self.exposure)} (ML refits, dropping "
                f"{', '.join(self.lrt.dropped)}): chisq({self.lrt.df}) = {self.lrt.chisq:.3f}, "
                f"p = {_pformat(self.lrt.pvalue)}"
            )
        if self.standardized is not None and len(self.standardized):
            for term, row in self.standardized.iterrows():
                lines.append(
                    f"Effect of one SD of {term}: {row['per_sd']:+.3f} "
                    f"(95% CI {row['per_sd_ci_lower']:+.3f} to "
                    f"{row['per_sd_ci_upper']:+.3f}) on the response; standardized {row['standardized']:+.3f}"
                )
        if self.join is not None:
            lines.append(
                f"Join: {self.join.n_matched} of {self.join.n_scores} score rows matched an exposure row "
                f"(on {', '.join(self.join.keys)})"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    # ----------------------------------------------------------------- plot
    def plot(self, path: str | Path | None = None, *, ax=None, rug: bool = True, overwrite: bool = False):
        """Plot the dose-response curve with its 95% band (matplotlib, Agg backend).

        Parameters
        ----------
        path : path, optional
            Write the figure (``.png``, ``.svg``, ``.pdf``); return the path.
        ax : matplotlib Axes, optional
            Draw into these axes instead of a new figure.
        overwrite : bool
            Replace an existing ``path`` (otherwise it is an error).

        Returns
        -------
        pathlib.Path or matplotlib.figure.Figure
        """
        if self.curve is None:
            raise SdtSurveyError(
                "this model has no dose-response curve (its exposure is not in the fixed part)"
            )
        plt = pyplot()
        fig = None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        c = self.curve
        ax.fill_between(c["x"], c["ci_lower"], c["ci_upper"], alpha=0.25, color="tab:blue", label="95% CI")
        ax.plot(c["x"], c["fitted"], color="tab:blue", label="fitted")
        if rug and self.data is not None and self.curve_variable in self.data:
            x = self.data[self.curve_variable].to_numpy(dtype=float)
            ax.plot(x, np.full_like(x, c["ci_lower"].min()), "|", color="0.4", alpha=0.4, markersize=8)
        response = self.formula.split("~")[0].strip()
        ax.set_xlabel(self.curve_variable or "exposure")
        ax.set_ylabel(f"{response} (fixed effects)")
        kind = f"natural spline, df={self.spline['df']}" if self.spline else "linear"
        ax.set_title(f"Dose-response ({kind})")
        ax.legend(loc="best", frameon=False)
        if fig is None:
            return ax.figure
        return finish_figure(fig, path, overwrite=overwrite)


def _pformat(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    if p < 2e-16:
        return "<2e-16"
    return f"{p:.2g}" if p < 1e-3 else f"{p:.4f}"


# =========================================================================== fit_model


def _parse_spline(spec: str | Mapping[str, Any] | None) -> tuple[str, int] | None:
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        var, df = spec.get("variable"), spec.get("df", 3)
    else:
        var, _, rest = str(spec).partition(":")
        df = 3
        for option in filter(None, (o.strip() for o in rest.split(","))):
            key, _, value = option.partition("=")
            if key.strip() != "df" or not value.strip().isdigit():
                raise ModelFormulaError(f"spline {spec!r}: write 'variable:df=3'")
            df = int(value)
    if not isinstance(var, str) or not _IDENT.match(var.strip()):
        raise ModelFormulaError(f"spline {spec!r}: write 'variable:df=3'")
    if not 2 <= int(df) <= 10:
        raise ModelFormulaError(f"spline {spec!r}: df must be between 2 and 10")
    return var.strip(), int(df)


def _prepare(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    within_between: str | None,
    spline: tuple[str, int] | None,
    person: str | Sequence[str] | None,
) -> tuple[pd.DataFrame, str, dict[str, str], dict[str, Any] | None, list[str]]:
    """Complete cases, within/between columns, the fixed formula fitted and short column labels."""
    formula = parsed.formula
    messages: list[str] = []
    columns = list(data.columns)
    intercept, terms = _term_codes(parsed.fixed, formula)
    if within_between is not None:
        if within_between not in columns:
            raise ModelFormulaError(f"within_between: no column {within_between!r} in the data")
        columns = [*columns, f"{within_between}_within", f"{within_between}_between"]
    for term in terms:
        for code in term:
            _check_code(code, columns, formula)
    random_names: set[str] = set()
    for term in parsed.random:
        for code in (c for t in _term_codes(term.expr, formula)[1] for c in t):
            _check_code(code, columns, formula)
            random_names |= _names_in(code)
        for g in term.group:
            if g not in data.columns:
                hint = difflib.get_close_matches(g, list(data.columns), n=1)
                raise ModelFormulaError(
                    f"{formula}: no grouping column {g!r} in the data"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                )
    if parsed.response not in data.columns:
        hint = difflib.get_close_matches(parsed.response, list(data.columns), n=1)
        raise ModelFormulaError(
            f"{formula}: no response column {parsed.response!r} in the data"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    fixed_names = {n for t in terms for c in t for n in _names_in(c)}
    wb_names = {f"{within_between}_within", f"{within_between}_between"} if within_between else set()
    person_cols: list[str] = []
    if within_between is not None:
        if person is None:
            person_cols = list(
                max((t.group for t in parsed.random), key=lambda g: data[list(g)].drop_duplicates().shape[0])
            )
        else:
            person_cols = [person] if isinstance(person, str) else list(person)
        for p in person_cols:
            if p not in data.columns:
                raise ModelFormulaError(f"within_between: no person column {p!r} in the data")
    needed = (
        {parsed.response} | fixed_names | random_names | {g for t in parsed.random for g in t.group}
    ) - wb_names
    if within_between is not None:
        needed |= {within_between, *person_cols}
    needed_list = [c for c in data.columns if c in needed]
    frame = data[needed_list].copy()
    for c in needed_list:
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    for c in [parsed.response]:
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            raise ModelFormulaError(f"{formula}: the response {c!r} must be numeric")
    complete = frame.notna().all(axis=1)
    if not complete.all():
        missing_by = {c: int(frame[c].isna().sum()) for c in needed_list if frame[c].isna().any()}
        messages.append(
            f"{int((~complete).sum())} of {len(frame)} rows have a missing value in a model variable and are "
            f"left out ({', '.join(f'{k}: {v}' for k, v in missing_by.items())})"
        )
    frame = frame[complete].reset_index(drop=True)
    if len(frame) == 0:
        raise ModelFitError(f"{formula}: no complete rows to fit")
    for c in needed_list:
        if frame[c].dtype != object and not np.isfinite(frame[c].to_numpy(dtype=float)).all():
            raise ModelFitError(f"{formula}: column {c!r} has infinite values; recode them as missing")
    for c in needed_list:  # nullable extension dtypes (Int64, Float64) as plain numpy columns
        if frame[c].dtype != object and isinstance(frame[c].dtype, pd.api.extensions.ExtensionDtype):
            kind = "int64" if pd.api.types.is_integer_dtype(frame[c]) else "float64"
            frame[c] = frame[c].to_numpy(dtype=kind)
    wb_info = None
    labels: dict[str, str] = {}
    if within_between is not None:
        x = frame[within_between].astype(float)
        if not pd.api.types.is_numeric_dtype(data[within_between]):
            raise ModelFormulaError(f"within_between: {within_between!r} must be numeric")
        key = (
            frame[person_cols].astype(str).agg(":".join, axis=1)
            if len(person_cols) > 1
            else frame[person_cols[0]]
        )
        between = x.groupby(key).transform("mean")
        frame[f"{within_between}_between"] = between
        frame[f"{within_between}_within"] = x - between
        if float(np.abs(frame[f"{within_between}_within"]).max()) < 1e-12:
            raise ModelFormulaError(
                f"within_between={within_between!r}: {within_between} does not vary within "
                f"{':'.join(person_cols)} (one row per person?), so there is no within-person effect to "
                "estimate"
            )
        new_terms = []
        replaced = False
        for term in terms:
            if within_between in term:
                replaced = True
                for part in ("within", "between"):
                    new_terms.append([f"{within_between}_{part}" if c == within_between else c for c in term])
            else:
                new_terms.append(term)
        if not replaced:
            new_terms.append([f"{within_between}_within"])
            new_terms.append([f"{within_between}_between"])
        terms = new_terms
        wb_info = {
            "variable": within_between,
            "person": ":".join(person_cols),
            "n_persons": int(pd.Series(key).nunique()),
            "within": f"{within_between}_within",
            "between": f"{within_between}_between",
            "sd_within": float(frame[f"{within_between}_within"].std(ddof=1)),
            "sd_between": float(frame[f"{within_between}_between"].std(ddof=1)),
        }
    if spline is not None:
        var, df = spline
        if var == within_between:
            raise ModelFormulaError("a variable cannot be both split within/between and fitted as a spline")
        x = frame[var].to_numpy(dtype=float)
        inner = np.quantile(x, np.arange(1, df) / df)  # R's ns(): knots at quantiles (type 7) of x
        if len(np.unique(np.concatenate([[x.min(), x.max()], inner]))) != df + 1:
            raise ModelFormulaError(f"spline {var}: too few distinct values of {var} for df={df}")
        code = f"cr({var}, knots=[{', '.join(repr(float(k)) for k in inner)}], constraints='center')"
        labels[code] = f"cr({var}, df={df})"
        if not any(var in term for term in terms):
            terms.append([code])
        else:
            terms = [[code if c == var else c for c in term] for term in terms]
    return frame, _rhs_from_codes(intercept, terms), labels, wb_info, messages


def _terms_involving(design_info, variables: set[str]) -> np.ndarray:
    keep = np.ones(len(design_info.column_names), dtype=bool)
    for term, cols in design_info.term_slices.items():
        names = set()
        for factor in term.factors:
            names |= _names_in(factor.code)
        if names & variables:
            keep[cols] = False
    return ~keep


def _variance_parts(design: _Design, core: _CoreFit, random: dict[str, RandomEffectGroup]) -> dict[str, Any]:
    fitted_fixed = design.X @ core.beta
    var_fixed = float(np.var(fitted_fixed, ddof=1)) if design.n > 1 else 0.0
    by_group: dict[str, float] = {}
    for name, group in random.items():
        cov = group.covariance.to_numpy()
        blocks = [b for b in design.blocks if b.grouping == name]
        Z = np.column_stack([b.values for b in blocks])
        by_group[name] = float(np.mean(np.einsum("ij,jk,ik->i", Z, cov, Z)))
    return {"fixed": var_fixed, "random": float(sum(by_group.values())), "by_group": by_group}


def _random_groups(design: _Design, core: _CoreFit) -> dict[str, RandomEffectGroup]:
    crit = core.criterion
    rel_re, rel_vc = crit.relative_covariances(core.theta)
    out: dict[str, RandomEffectGroup] = {}
    pending: dict[str, list[tuple[str, float]]] = {}
    re = design.re_block
    if re is not None:
        cov = rel_re * core.sigma2
        out[re.grouping] = RandomEffectGroup(
            re.grouping,
            pd.DataFrame(cov, index=re.terms, columns=re.terms),
            correlated=len(re.terms) > 1,
            n_levels=len(np.unique(re.levels)),
        )
    for c, b in enumerate(design.vc_blocks):
        pending.setdefault(b.grouping, []).append((b.terms[0], float(rel_vc[c] * core.sigma2)))
    for name, items in pending.items():
        levels = len(np.unique(next(b for b in design.blocks if b.grouping == name).levels))
        if name in out:
            old = out[name].covariance
            terms = [*old.index, *(t for t, _ in items)]
            cov = np.zeros((len(terms), len(terms)))
            cov[: len(old), : len(old)] = old.to_numpy()
            for k, (_, v) in enumerate(items):
                cov[len(old) + k, len(old) + k] = v
            out[name] = RandomEffectGroup(name, pd.DataFrame(cov, index=terms, columns=terms), False, levels)
        else:
            terms = [t for t, _ in items]
            out[name] = RandomEffectGroup(
                name, pd.DataFrame(np.diag([v for _, v in items]), index=terms, columns=terms), False, levels
            )
    order = {g: i for i, g in enumerate(dict.fromkeys(b.grouping for b in design.blocks))}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 0)))


def _fixed_table(names: list[str], beta: np.ndarray, vcov: np.ndarray) -> pd.DataFrame:
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    return pd.DataFrame(
        {
            "estimate": beta,
            "se": se,
            "ci_lower": beta - _Z975 * se,
            "ci_upper": beta + _Z975 * se,
            "z": z,
            "pvalue": 2 * stats.norm.sf(np.abs(z)),
        },
        index=pd.Index(names, name="term"),
    )


def _curve(
    frame: pd.DataFrame, design_info, variable: str, beta: np.ndarray, vcov: np.ndarray, n_points: int
) -> pd.DataFrame:
    """Fixed-effects prediction over a grid of ``variable``, other columns at their means.

    A column that depends on the variable only is evaluated at the grid; a
    column that does not is held at its mean over the rows; an interaction
    column is averaged over the rows at each grid value.
    """
    import patsy

    x = frame[variable].to_numpy(dtype=float)
    grid = np.linspace(x.min(), x.max(), n_points)
    full = np.asarray(patsy.build_design_matrices([design_info], frame, NA_action="raise")[0])
    means = full.mean(axis=0)
    rows = np.tile(means, (n_points, 1))
    involved = _terms_involving(design_info, {variable})
    only: np.ndarray = np.zeros(len(means), dtype=bool)
    for term, cols in design_info.term_slices.items():
        names = set()
        for factor in term.factors:
            names |= _names_in(factor.code)
        if names == {variable}:
            only[cols] = True
    if only.any():
        probe = pd.concat([frame.iloc[[0]]] * n_points, ignore_index=True)
        probe[variable] = grid
        at_grid = np.asarray(patsy.build_design_matrices([design_info], probe, NA_action="raise")[0])
        rows[:, only] = at_grid[:, only]
    mixed = involved & ~only
    if mixed.any():
        for k, value in enumerate(grid):
            probe = frame.copy()
            probe[variable] = value
            at = np.asarray(patsy.build_design_matrices([design_info], probe, NA_action="raise")[0])
            rows[k, mixed] = at[:, mixed].mean(axis=0)
    fitted = rows @ beta
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", rows, vcov, rows), 0, None))
    return pd.DataFrame(
        {
            "x": grid,
            "fitted": fitted,
            "se": se,
            "ci_lower": fitted - _Z975 * se,
            "ci_upper": fitted + _Z975 * se,
        }
    )


def fit_model(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    within_between: str | None = None,
    spline: str | Mapping[str, Any] | None = None,
    exposure: str | Sequence[str] | None = None,
    person: str | Sequence[str] | None = None,
    lrt: bool = True,
    null_model: bool = True,
    curve: bool = True,
    optimizers: Sequence[str] = OPTIMIZERS,
    polish: bool = True,
) -> ModelResult:
    """Fit a linear mixed model written in lme4 syntax.

    Parameters
    ----------
    formula : str
        E.g. ``"relatedness_satisfaction ~ coc + pgy + (1|program)"``; see
        :func:`parse_formula` for the random terms. The fixed part is patsy
        syntax: ``C(pgy)`` for a factor, ``a:b`` and ``a*b`` interactions,
        ``I(x**2)``, ``center(x)``, ``log(x)``.
    data : pandas.DataFrame
        One row per observation. Rows with a missing value in any model
        variable are left out, and counted in ``warnings``.
    reml : bool
        REML (default, as lme4) or maximum likelihood (``False``).
    within_between : str, optional
        Split this variable into its person mean ``<x>_between`` and the
        deviation ``<x>_within`` (person-mean centring), replacing it in the
        fixed part. The person is ``person``, by default the grouping factor
        with the most levels (``program:resident`` for ``(1|program/resident)``).
    spline : str or mapping, optional
        ``"coc:df=3"``: replace the variable by a natural cubic regression
        spline (patsy ``cr(coc, df=3, constraints='center')``; the same
        function space as R's ``ns(coc, df=3)``).
    exposure : str or list of str, optional
        The variable(s) whose fixed terms the likelihood-ratio test drops and
        whose standardized effect and dose-response curve are reported.
        Default: ``within_between`` or the spline variable when given, else the
        first variable of the fixed part.
    person : str or list of str, optional
        Person id column(s) for ``within_between``.
    lrt, null_model, curve : bool
        Compute the likelihood-ratio test (two ML refits), the null-model ICC
        (one more fit) and the dose-response curve.
    optimizers : sequence of str
        statsmodels optimizers to try in turn.
    polish : bool
        Refine statsmodels' estimates on lme4's profiled criterion (default).
        Without it the result is statsmodels' best optimum as found.

    Returns
    -------
    ModelResult

    Raises
    ------
    ModelFormulaError
        A formula that cannot be read, names a missing column, or that MixedLM cannot express.
    ModelFitError
        A model that cannot be fitted.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"g": np.repeat(list("abcdefgh"), 20), "x": rng.normal(size=160)})
    >>> data["y"] = 1 + 0.5 * data["x"] + rng.normal(size=160)
    >>> result = fit_model("y ~ x + (1|g)", data)
    >>> result.method, result.n_obs, list(result.fixed.columns)
    ('REML', 160, ['estimate', 'se', 'ci_lower', 'ci_upper', 'z', 'pvalue'])
    >>> result.singular  # the true program variance is 0
    True
    >>> result.warnings[0].startswith(SINGULAR_MESSAGE)
    True
    """
    started = time.perf_counter()
    if not isinstance(data, pd.DataFrame):
        raise SdtSurveyError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = parse_formula(formula)
    spline_spec = _parse_spline(spline)
    frame, fixed_rhs, labels, wb_info, messages = _prepare(parsed, data, within_between, spline_spec, person)
    design, design_info = _build_design(parsed, frame, fixed_rhs, labels)
    shown_rhs = fixed_rhs
    for code, label in labels.items():
        shown_rhs = shown_rhs.replace(code, label)
    fixed_formula = f"{parsed.response} ~ {shown_rhs} + " + " + ".join(str(t) for t in parsed.random)

    # Exposure variables (for the LRT, standardized effects and the curve).
    if exposure is None:
        if within_between is not None:
            exposure_vars = [within_between]
        elif spline_spec is not None:
            exposure_vars = [spline_spec[0]]
        else:
            # The exposure is the first continuous variable: one used as a factor (`C(pgy)`) or
            # holding text has no per-unit effect, standardized effect or dose-response curve.
            _, terms0 = _term_codes(parsed.fixed, formula)
            codes0 = [c for t in terms0 for c in t]
            factors = set().union(*(_factor_names(c) for c in codes0))
            named = [n for c in codes0 for n in sorted(_names_in(c))]
            continuous = [
                n
                for n in named
                if n not in factors and n in frame.columns and pd.api.types.is_numeric_dtype(frame[n])
            ]
            exposure_vars = (continuous or named)[:1]
    else:
        exposure_vars = [exposure] if isinstance(exposure, str) else list(exposure)
    tested = set(exposure_vars)
    if within_between in tested:
        tested |= {f"{within_between}_within", f"{within_between}_between"}

    core = _guarded(_fit_core, design, reml, optimizers, polish)
    random = _random_groups(design, core)
    parts = _variance_parts(design, core, random)
    sigma2 = core.sigma2
    total = parts["random"] + sigma2
    icc_by = {g: v / total for g, v in parts["by_group"].items()}
    denom = parts["fixed"] + parts["random"] + sigma2
    fixed = _fixed_table(design.x_names, core.beta, core.vcov)
    warns = messages + core.warnings
    notes = list(core.notes)

    # Null model ICC: y ~ 1 + a random intercept per grouping factor, same rows, REML.
    icc_null, icc_null_by = None, {}
    if null_model:
        try:
            null_design = _Design(
                design.y,
                np.ones((design.n, 1)),
                ["(Intercept)"],
                design.top,
                design.group_codes,
                design.group_labels,
                [],
            )
            null_blocks = []
            for name in dict.fromkeys(b.grouping for b in design.blocks):
                b = next(b for b in design.blocks if b.grouping == name)
                kind = "re" if name == design.top else "vc"
                null_blocks.append(
                    _Block(name, ["(Intercept)"], kind, np.ones((design.n, 1)), b.levels, b.level_labels)
                )
            null_blocks.sort(key=lambda b: b.kind != "re")
            null_design.blocks = null_blocks
            null_core = _fit_core(null_design, True, optimizers, polish)
            rel_re, rel_vc = null_core.criterion.relative_covariances(null_core.theta)
            variances = {}
            k = 0
            for b in null_blocks:
                if b.kind == "re":
                    variances[b.grouping] = float(rel_re[0, 0] * null_core.sigma2)
                else:
                    variances[b.grouping] = float(rel_vc[k] * null_core.sigma2)
                    k += 1
            null_total = sum(variances.values()) + null_core.sigma2
            icc_null_by = {g: v / null_total for g, v in variances.items()}
            icc_null = sum(variances.values()) / null_total
        except (SdtSurveyError, np.linalg.LinAlgError) as exc:
            notes.append(f"the null model for the ICC could not be fitted: {exc}")

    # Likelihood-ratio test of the exposure's fixed terms.
    lrt_result = None
    drop = _terms_involving(design_info, tested)
    if lrt and tested and drop.any():
        full_ml = core if not reml else _guarded(_fit_core, design, False, optimizers, polish)
        reduced = _guarded(_fit_core, design.with_columns(~drop), False, optimizers, polish)
        chisq = max(2.0 * (full_ml.loglik - reduced.loglik), 0.0)
        df = int(drop.sum())
        lrt_result = LikelihoodRatioTest(
            dropped=[n for n, d in zip(design.x_names, drop, strict=True) if d],
            chisq=chisq,
            df=df,
            pvalue=float(stats.chi2.sf(chisq, df)),
            loglik_full=full_ml.loglik,
            loglik_reduced=reduced.loglik,
        )
        if not (full_ml.converged and reduced.converged):
            warns.append(
                "an ML refit for the likelihood-ratio test did not converge; treat its p-value with care"
            )
    elif lrt and tested and not drop.any():
        notes.append(f"no fixed term involves {', '.join(sorted(tested))}: no likelihood-ratio test")

    # Standardized effects of linear exposure terms.
    standardized = None
    sd_y = float(np.std(design.y, ddof=1))
    rows = {}
    for term in design.x_names:
        if term in tested and term in frame.columns:
            sd_x = float(frame[term].astype(float).std(ddof=1))
            est, lo, hi = fixed.loc[term, ["estimate", "ci_lower", "ci_upper"]]
            rows[term] = {
                "estimate": est,
                "sd_x": sd_x,
                "sd_y": sd_y,
                "per_sd": est * sd_x,
                "per_sd_ci_lower": lo * sd_x,
                "per_sd_ci_upper": hi * sd_x,
                "standardized": est * sd_x / sd_y,
                "standardized_ci_lower": lo * sd_x / sd_y,
                "standardized_ci_upper": hi * sd_x / sd_y,
            }
    if rows:
        standardized = pd.DataFrame.from_dict(rows, orient="index")
        standardized.index.name = "term"

    # Dose-response curve.
    curve_frame, curve_var = None, None
    if curve and len(exposure_vars) == 1 and exposure_vars[0] != within_between:
        var = exposure_vars[0]
        used_as_factor = any(
            _factor_names(c) & {var} for t in _term_codes(parsed.fixed, formula)[1] for c in t
        )
        if (
            var in frame.columns
            and pd.api.types.is_numeric_dtype(frame[var])
            and not used_as_factor  # a curve over C(pgy) would ask for levels such as 1.04
            and _terms_involving(design_info, {var}).any()
        ):
            curve_frame = _curve(frame, design_info, var, core.beta, core.vcov, CURVE_POINTS)
            curve_var = var

    # Residuals (conditional) and conditional modes.
    crit = core.criterion
    solved = crit.solve(core.theta, core.reml)
    modes = crit.conditional_modes(core.theta, solved)
    resid = design.y - design.X @ core.beta
    mode_rows = []
    for g, rows_g in enumerate(crit.rows):
        resid[rows_g] -= crit.z_groups[g] @ modes[g]
        for (grouping, level, term), value in zip(crit.col_labels[g], modes[g], strict=True):
            mode_rows.append((grouping, level, term, value))
    modes_frame = pd.DataFrame(mode_rows, columns=["grouping", "level", "term", "value"])
    modes_frame = modes_frame.drop_duplicates(["grouping", "level", "term"]).reset_index(drop=True)

    n_par = design.p + design.n_theta + 1
    loglik = core.loglik
    n_groups = {name: group.n_levels for name, group in random.items()}
    return ModelResult(
        formula=formula,
        fixed_formula=fixed_formula,
        method="REML" if reml else "ML",
        n_obs=design.n,
        n_groups=n_groups,
        fixed=fixed,
        random=random,
        residual_variance=sigma2,
        icc=parts["random"] / total,
        icc_by_group=icc_by,
        r2_marginal=parts["fixed"] / denom,
        r2_conditional=(parts["fixed"] + parts["random"]) / denom,
        variances={
            "fixed": parts["fixed"],
            "random": parts["random"],
            "residual": sigma2,
            **{f"random:{k}": v for k, v in parts["by_group"].items()},
        },
        loglik=loglik,
        criterion=core.dev,
        aic=-2 * loglik + 2 * n_par,
        bic=-2 * loglik + math.log(design.n) * n_par,
        converged=core.converged,
        singular=core.singular,
        warnings=warns,
        notes=notes,
        optimizer=core.optimizer,
        structure=design.structure(),
        exposure=exposure_vars,
        icc_null=icc_null,
        icc_null_by_group=icc_null_by,
        lrt=lrt_result,
        standardized=standardized,
        curve=curve_frame,
        curve_variable=curve_var,
        within_between=wb_info,
        spline=None
        if spline_spec is None
        else {"variable": spline_spec[0], "df": spline_spec[1], "basis": "cr"},
        vcov=pd.DataFrame(core.vcov, index=design.x_names, columns=design.x_names),
        residuals=resid,
        conditional_modes=modes_frame,
        data=frame,
        statsmodels_result=core.statsmodels_result,
        seconds=time.perf_counter() - started,
    )


# =========================================================================== model_relatedness


def _id_strings(values: pd.Series) -> pd.Series:
    """Ids as strings, so 17, 17.0 and "17" join."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numeric = values.astype(float)
        integral = numeric.dropna().apply(float.is_integer).all()
        if integral:
            return numeric.map(lambda v: None if pd.isna(v) else str(int(v)))
        return numeric.map(lambda v: None if pd.isna(v) else repr(float(v)))
    return values.astype(object).map(lambda v: None if pd.isna(v) else str(v).strip())


def join_exposure(
    scores: pd.DataFrame | Any,
    exposure: pd.DataFrame,
    *,
    id_column: str | None = None,
    exposure_id_column: str | None = None,
    wave_column: str | None = None,
) -> tuple[pd.DataFrame, JoinReport]:
    """Join scores to an exposure table on a learner id, reporting every row that does not join.

    Parameters
    ----------
    scores : pandas.DataFrame or ScoredResponses
        One row per respondent (and wave).
    exposure : pandas.DataFrame or ContinuityResult
        One row per learner (or per learner and wave when ``wave_column`` is
        in both tables), e.g. continuity indices. A
        :class:`~sdt_survey.continuity.ContinuityResult` gives its ``indices``
        table, joined on its ``id_column``.
    id_column : str
        Learner id in ``scores`` (default: the ScoredResponses' id column).
    exposure_id_column : str, optional
        Learner id in ``exposure`` (default ``id_column``).
    wave_column : str, optional
        Also join on this column when the exposure table has it.

    Returns
    -------
    (pandas.DataFrame, JoinReport)
        The matched rows (scores' columns, then the exposure's other columns)
        and the report.

    Examples
    --------
    >>> s = pd.DataFrame({"id": ["a", "b", "c"], "rs": [3.0, 4.0, 2.5]})
    >>> e = pd.DataFrame({"learner": ["a", "b", "z"], "coc": [0.2, 0.5, 0.9]})
    >>> joined, report = join_exposure(s, e, id_column="id", exposure_id_column="learner")
    >>> len(joined), report.scores_only, report.exposure_only
    (2, ['c'], ['z'])
    """
    frame = getattr(scores, "scores", scores)
    if id_column is None:
        id_column = getattr(scores, "id_column", None)
    if not isinstance(exposure, pd.DataFrame) and isinstance(
        getattr(exposure, "indices", None), pd.DataFrame
    ):
        # a ContinuityResult: its indices table, keyed by its id column
        exposure_id_column = exposure_id_column or getattr(exposure, "id_column", None)
        exposure = exposure.indices
    if not isinstance(frame, pd.DataFrame):
        raise JoinError(f"scores must be a DataFrame or ScoredResponses, got {type(scores).__name__}")
    if not isinstance(exposure, pd.DataFrame):
        raise JoinError(f"exposure must be a DataFrame, got {type(exposure).__name__}")
    if id_column is None:
        raise JoinError("name the learner id column of the scores: id_column=...")
    exposure_id_column = exposure_id_column or id_column
    if id_column not in frame.columns:
        raise JoinError(
            f"the scores have no id column {id_column!r}; columns: {', '.join(map(str, frame.columns))}"
        )
    if exposure_id_column not in exposure.columns:
        raise JoinError(
            f"the exposure table has no id column {exposure_id_column!r}; columns: "
            f"{', '.join(map(str, exposure.columns))}"
        )
    keys, exposure_keys = [id_column], [exposure_id_column]
    if wave_column is not None:
        if wave_column not in frame.columns:
            raise JoinError(f"the scores have no wave column {wave_column!r}")
        if wave_column in exposure.columns:
            keys.append(wave_column)
            exposure_keys.append(wave_column)
    left = frame.reset_index(drop=True).copy()
    right = exposure.reset_index(drop=True).copy()
    left_key = pd.DataFrame({f"_k{i}": _id_strings(left[k]) for i, k in enumerate(keys)})
    right_key = pd.DataFrame({f"_k{i}": _id_strings(right[k]) for i, k in enumerate(exposure_keys)})
    missing_ids = int(left_key["_k0"].isna().sum())
    dup = right_key.duplicated(keep=False) & right_key.notna().all(axis=1)
    if dup.any():
        ids = sorted(set(right_key.loc[dup, "_k0"]))
        raise JoinError(
            f"the exposure table has {int(dup.sum())} rows with a repeated "
            f"{' and '.join(exposure_keys)} ({_few(ids)}); it must have one row per learner"
            + (" and wave" if len(keys) > 1 else "")
            + (" (pass wave_column=... to join per wave)" if len(keys) == 1 else "")
        )
    joined_keys = [f"_k{i}" for i in range(len(keys))]
    extra = [c for c in right.columns if c not in exposure_keys]
    overlap = [c for c in extra if c in left.columns]
    right_part = pd.concat([right_key, right[extra].add_prefix("_e_")], axis=1)
    merged = pd.concat([left_key, left], axis=1).merge(
        right_part, how="left", on=joined_keys, indicator=True, validate="many_to_one"
    )
    matched = (merged["_merge"] == "both").to_numpy()
    scores_only = sorted({str(v) for v in merged.loc[~matched, "_k0"].dropna()})
    right_ids = set(right_key["_k0"].dropna())
    left_ids = set(left_key["_k0"].dropna())
    if len(keys) == 1:
        exposure_only = sorted(right_ids - left_ids)
    else:
        pair_left = set(map(tuple, left_key.dropna().to_numpy()))
        exposure_only = sorted(
            {str(r[0]) for r in map(tuple, right_key.dropna().to_numpy()) if r not in pair_left}
        )
    conflicts: dict[str, int] = {}
    out = merged.loc[matched].reset_index(drop=True)
    for c in overlap:
        a, b = out[c], out[f"_e_{c}"]
        differ = ~((a == b) | (a.isna() & b.isna()))
        close = np.isclose(
            pd.to_numeric(a, errors="coerce").to_numpy(dtype=float),
            pd.to_numeric(b, errors="coerce").to_numpy(dtype=float),
        )
        differ = differ & ~close
        if differ.any():
            conflicts[c] = int(differ.sum())
    out = out.drop(columns=[*joined_keys, "_merge", *[f"_e_{c}" for c in overlap]])
    out = out.rename(columns={f"_e_{c}": c for c in extra if c not in overlap})
    if missing_ids:
        scores_only = [*scores_only, f"(missing id) x{missing_ids}"]
    report = JoinReport(
        keys=keys,
        exposure_keys=exposure_keys,
        n_scores=len(left),
        n_exposure=len(right),
        n_matched=int(matched.sum()),
        scores_only=scores_only,
        exposure_only=exposure_only,
        conflicts=conflicts,
    )
    if report.n_matched == 0:
        raise JoinError(
            f"no score row matched the exposure table on {' and '.join(keys)} / "
            f"{' and '.join(exposure_keys)} "
            f"(scores ids e.g. {_few(sorted(left_ids), 3)}; exposure ids e.g. {_few(sorted(right_ids), 3)})"
        )
    return out, report


def model_relatedness(
    scores: pd.DataFrame | Any,
    exposure: pd.DataFrame,
    formula: str = "relatedness_satisfaction ~ coc + pgy + (1|program)",
    *,
    id_column: str | None = None,
    exposure_id_column: str | None = None,
    wave_column: str | None = None,
    reml: bool = True,
    within_between: str | None = None,
    spline: str | Mapping[str, Any] | None = None,
    exposure_variables: str | Sequence[str] | None = None,
    person: str | Sequence[str] | None = None,
    on_unmatched: str = "warn",
    **fit_options: Any,
) -> ModelResult:
    """Join scores to exposure, report the join, and fit the model.

    Parameters
    ----------
    scores : ScoredResponses or pandas.DataFrame
        The output of :func:`sdt_survey.score` (or its ``scores`` table).
    exposure : pandas.DataFrame
        Continuity indices (one row per learner, or per learner and wave) or any table.
    formula : str
        lme4 formula (default ``relatedness_satisfaction ~ coc + pgy + (1|program)``).
    id_column, exposure_id_column, wave_column : str
        See :func:`join_exposure`.
    reml, within_between, spline, person
        See :func:`fit_model`. ``person`` defaults to ``id_column``.
    exposure_variables : str or list, optional
        Variables tested by the LRT; default the exposure table's columns
        that appear in the fixed part (e.g. ``coc``).
    on_unmatched : {"warn", "error"}
        Rows that do not join are always counted and named in the result's
        ``join`` report and ``warnings``; ``error`` refuses to fit.
    **fit_options
        Passed to :func:`fit_model` (``lrt``, ``null_model``, ``curve``...).

    Returns
    -------
    ModelResult
        With ``join`` set.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> ids = [f"R{i:03d}" for i in range(120)]
    >>> exposure = pd.DataFrame({"resident": ids, "coc": rng.uniform(0, 1, 120)})
    >>> scores = pd.DataFrame({"resident": ids[:118] + ["R999", "R998"],
    ...                        "program": np.repeat(list("ABCDEF"), 20)})
    >>> scores["relatedness_satisfaction"] = 3 + rng.normal(size=120)
    >>> result = model_relatedness(scores, exposure, "relatedness_satisfaction ~ coc + (1|program)",
    ...                            id_column="resident")
    >>> result.join.scores_only, len(result.join.exposure_only), result.n_obs
    (['R998', 'R999'], 2, 118)
    """
    if on_unmatched not in ("warn", "error"):
        raise SdtSurveyError("on_unmatched must be 'warn' or 'error'")
    if id_column is None:
        id_column = getattr(scores, "id_column", None)
    joined, report = join_exposure(
        scores, exposure, id_column=id_column, exposure_id_column=exposure_id_column, wave_column=wave_column
    )
    messages = report.messages()
    if on_unmatched == "error" and (report.scores_only or report.exposure_only):
        raise JoinError("the scores and exposure tables do not match one to one:\n" + "\n".join(messages))
    if exposure_variables is None and within_between is None and spline is None:
        parsed = parse_formula(formula)
        _, terms = _term_codes(parsed.fixed, formula)
        used = [n for t in terms for c in t for n in sorted(_names_in(c))]
        table = exposure if isinstance(exposure, pd.DataFrame) else getattr(exposure, "indices", exposure)
        cols = [c for c in getattr(table, "columns", []) if c != (exposure_id_column or id_column)]
        exposure_variables = list(dict.fromkeys(n for n in used if n in cols)) or None
    if person is None and within_between is not None:
        person = id_column
    result = fit_model(
        formula,
        joined,
        reml=reml,
        within_between=within_between,
        spline=spline,
        exposure=exposure_variables,
        person=person,
        **fit_options,
    )
    result.join = report
    result.warnings = messages + result.warnings
    return result


__all__ = [
    "OPTIMIZERS",
    "SINGULAR_MESSAGE",
    "JoinError",
    "JoinReport",
    "LikelihoodRatioTest",
    "ModelFitError",
    "ModelFormulaError",
    "ModelResult",
    "ParsedFormula",
    "RandomEffectGroup",
    "RandomTerm",
    "fit_model",
    "join_exposure",
    "model_relatedness",
    "parse_formula",
]
