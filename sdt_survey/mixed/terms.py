"""The fixed part through patsy, with a whitelist of functions (no arbitrary code runs)."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ModelFormulaError

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


def _terms_involving(design_info, variables: set[str]) -> np.ndarray:
    keep = np.ones(len(design_info.column_names), dtype=bool)
    for term, cols in design_info.term_slices.items():
        names = set()
        for factor in term.factors:
            names |= _names_in(factor.code)
        if names & variables:
            keep[cols] = False
    return ~keep
