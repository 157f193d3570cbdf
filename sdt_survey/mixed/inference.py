"""Wald tests and intervals of the fixed effects, the likelihood-ratio test and the dose-response curve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .terms import _names_in, _terms_involving

_Z975 = float(stats.norm.ppf(0.975))


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
