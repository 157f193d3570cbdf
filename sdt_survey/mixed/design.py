"""The model's design: response, fixed-effects matrix and random-effects blocks per grouping factor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelFormulaError
from .formula import ParsedFormula
from .terms import _dmatrix

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


def _fixed_matrix(
    parsed: ParsedFormula, frame: pd.DataFrame, fixed_rhs: str, labels: Mapping[str, str] | None = None
) -> tuple[np.ndarray, list[str], Any]:
    """The fixed-effects matrix, its column names and patsy's design info (full rank checked)."""
    formula = parsed.formula
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
    return X, x_names, Xdf.design_info


def _build_design(
    parsed: ParsedFormula, frame: pd.DataFrame, fixed_rhs: str, labels: Mapping[str, str] | None = None
) -> tuple[_Design, Any]:
    formula = parsed.formula
    y = frame[parsed.response].to_numpy(dtype=float)
    X, x_names, design_info = _fixed_matrix(parsed, frame, fixed_rhs, labels)

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
    return _Design(y, X, x_names, top, group_codes, group_labels, final), design_info
