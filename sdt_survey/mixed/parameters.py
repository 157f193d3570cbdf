"""The variance parameters as lme4 names them: standard deviations, correlations and σ.

lme4 reports (and profiles, and bootstraps) the random part not in the
relative Cholesky factor θ it optimizes but in the standard deviations and
correlations of each random term, then the residual standard deviation σ:
``.sig01, .sig02, ..., .sigma`` (``sd_(Intercept)|Subject``,
``cor_Days.(Intercept)|Subject``, ``sd_Days|Subject``, ``sigma`` in its newer
names). The terms are in lme4's order: the formula's, re-ordered by
decreasing number of levels of the grouping factor when any term has more
levels than the one before it (``mkReTrms``); within a term the lower
triangle of the sd/correlation matrix column by column (``Cv_to_Sv``).

:class:`_Parameters` maps this vector to the criterion's θ and back, and
evaluates lme4's ``devfun2``: the ML deviance as a function of the sd/cor
vector and σ, the fixed effects profiled out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .criterion import _Criterion
from .formula import parse_formula
from .terms import _dmatrix


@dataclass
class _Term:
    """One lme4 random term: its grouping, columns and where its θ lives in the criterion."""

    grouping: str
    columns: list[str]
    theta_index: np.ndarray  # criterion θ positions, in lme4's column-major lower-triangle order
    n_levels: int


class _Parameters:
    """lme4's sd/cor/σ parameter vector for a fitted design and criterion."""

    def __init__(self, crit: _Criterion, formula: str, frame) -> None:
        self.crit = crit
        design = crit.design
        parsed = parse_formula(formula)
        terms: list[_Term] = []
        for term in parsed.random:
            columns = [
                "(Intercept)" if c == "Intercept" else str(c)
                for c in _dmatrix(term.expr, frame.iloc[:1], formula).columns
            ]
            block = next(b for b in design.blocks if b.grouping == term.group_name)
            n_levels = len(np.unique(block.levels))
            re = design.re_block
            if re is not None and re.grouping == term.group_name and re.terms == columns:
                k = len(columns)
                # criterion θ is numpy's row-major lower triangle; lme4's is column-major.
                position = {(int(i), int(j)): n for n, (i, j) in enumerate(zip(*crit.tril, strict=True))}
                index = [position[(i, j)] for j in range(k) for i in range(j, k)]
            else:
                c = next(
                    c
                    for c, b in enumerate(design.vc_blocks)
                    if b.grouping == term.group_name and b.terms == columns
                )
                index = [crit.n_re_theta + c]
            terms.append(_Term(term.group_name, columns, np.array(index, dtype=np.int64), n_levels))
        levels = [t.n_levels for t in terms]
        if np.any(np.diff(levels) > 0):
            order = np.argsort(levels, kind="stable")[::-1]  # R's rev(order(nl))
            terms = [terms[i] for i in order]
        self.terms = terms
        self.names: list[str] = []
        self.readable: list[str] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        for t in terms:
            k = len(t.columns)
            for j in range(k):
                for i in range(j, k):
                    if i == j:
                        self.readable.append(f"sd_{t.columns[i]}|{t.grouping}")
                        self.lower.append(0.0)
                        self.upper.append(math.inf)
                    else:
                        self.readable.append(f"cor_{t.columns[i]}.{t.columns[j]}|{t.grouping}")
                        self.lower.append(-1.0)
                        self.upper.append(1.0)
        self.names = [f".sig{i + 1:02d}" for i in range(len(self.readable))] + [".sigma"]
        self.readable.append("sigma")
        self.lower.append(0.0)
        self.upper.append(math.inf)
        self.n = len(self.names)

    # ----------------------------------------------------------- conversions
    def from_theta(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """θ and σ → (sd, cor..., σ) as lme4's ``Cv_to_Sv(θ, s = σ)``."""
        out: list[float] = []
        for t in self.terms:
            k = len(t.columns)
            L = np.zeros((k, k))
            col_major = [(i, j) for j in range(k) for i in range(j, k)]
            for (i, j), n in zip(col_major, t.theta_index, strict=True):
                L[i, j] = theta[n]
            cov = L @ L.T * sigma**2
            sd = np.sqrt(np.clip(np.diag(cov), 0, None))
            for i, j in col_major:
                if i == j:
                    out.append(float(sd[i]))
                else:
                    out.append(float(cov[i, j] / (sd[i] * sd[j])) if sd[i] * sd[j] > 0 else 0.0)
        out.append(float(sigma))
        return np.array(out)

    def to_theta(self, pars: np.ndarray) -> np.ndarray:
        """(sd, cor..., σ) → θ as lme4's ``Sv_to_Cv`` (a Cholesky factor that tolerates |cor| = 1)."""
        sigma = float(pars[-1])
        theta = np.zeros(self.crit.n_theta)
        pos = 0
        for t in self.terms:
            k = len(t.columns)
            col_major = [(i, j) for j in range(k) for i in range(j, k)]
            vals = pars[pos : pos + len(col_major)]
            pos += len(col_major)
            if k == 1:
                theta[t.theta_index[0]] = vals[0] / sigma
                continue
            sd = np.zeros(k)
            corr = np.eye(k)
            for (i, j), v in zip(col_major, vals, strict=True):
                if i == j:
                    sd[i] = v
                else:
                    corr[i, j] = corr[j, i] = v
            rel = corr * np.outer(sd, sd) / sigma**2
            L = _safe_cholesky(rel)
            for (i, j), n in zip(col_major, t.theta_index, strict=True):
                theta[n] = L[i, j]
        return theta

    # ----------------------------------------------------------- lme4's devfun2
    def deviance(self, pars: np.ndarray) -> float:
        """ML deviance at (sd, cor..., σ), fixed effects at their GLS values (lme4's ``devfun2``)."""
        sigma = float(pars[-1])
        if not sigma > 0:
            return math.inf
        try:
            solved = self.crit.solve(self.to_theta(np.asarray(pars, dtype=float)), False)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return math.inf
        n = self.crit.design.n
        logdet = solved["dev"] - n * (1.0 + math.log(2.0 * math.pi * solved["sigma2"]))
        prss = solved["sigma2"] * n
        return float(logdet + prss / sigma**2 + n * math.log(2.0 * math.pi * sigma**2))


def _safe_cholesky(m: np.ndarray) -> np.ndarray:
    """Lower-triangular L with L L' = m, also for a positive semi-definite m (|cor| = 1, sd = 0)."""
    try:
        return np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh((m + m.T) / 2)
        half = v * np.sqrt(np.clip(w, 0, None))
        L = np.linalg.qr(half.T, mode="r").T
        return L * np.where(np.diag(L) < 0, -1.0, 1.0)
