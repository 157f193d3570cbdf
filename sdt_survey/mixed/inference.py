"""Wald tests of the fixed effects, the likelihood-ratio test, standardized effects and the dose curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..stats.probability import chi2_sf, norm_ppf, norm_sf
from .design import _Design
from .optimize import _CoreFit, _fit_core, _guarded
from .terms import _names_in, _terms_involving

_Z975 = float(norm_ppf(0.975))


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
            "pvalue": 2 * norm_sf(np.abs(z)),
        },
        index=pd.Index(names, name="term"),
    )


def likelihood_ratio_test(
    design: _Design,
    design_info,
    tested: set[str],
    core: _CoreFit,
    *,
    reml: bool,
    optimizers: Sequence[str],
    polish: bool,
) -> tuple[LikelihoodRatioTest | None, list[str], list[str]]:
    """Test the fixed terms that involve the ``tested`` variables by ML refits with and without them.

    ``core`` is the fit of the full model; with ``reml`` it is refitted by ML
    (REML likelihoods of models with different fixed parts do not compare).

    Returns
    -------
    (LikelihoodRatioTest or None, warnings, notes)
        None, with a note, when no fixed term involves the tested variables; a
        warning when a refit did not converge.
    """
    drop = _terms_involving(design_info, tested)
    if not drop.any():
        return None, [], [f"no fixed term involves {', '.join(sorted(tested))}: no likelihood-ratio test"]
    full_ml = core if not reml else _guarded(_fit_core, design, False, optimizers, polish)
    reduced = _guarded(_fit_core, design.with_columns(~drop), False, optimizers, polish)
    chisq = max(2.0 * (full_ml.loglik - reduced.loglik), 0.0)
    df = int(drop.sum())
    result = LikelihoodRatioTest(
        dropped=[n for n, d in zip(design.x_names, drop, strict=True) if d],
        chisq=chisq,
        df=df,
        pvalue=float(chi2_sf(chisq, df)),
        loglik_full=full_ml.loglik,
        loglik_reduced=reduced.loglik,
    )
    warnings = []
    if not (full_ml.converged and reduced.converged):
        warnings.append(
            "an ML refit for the likelihood-ratio test did not converge; treat its p-value with care"
        )
    return result, warnings, []


def standardized_effects(
    fixed: pd.DataFrame, frame: pd.DataFrame, y: np.ndarray, tested: set[str]
) -> pd.DataFrame | None:
    """The effects of the linear exposure terms per SD of the exposure, and in SDs of the outcome.

    Parameters
    ----------
    fixed : pandas.DataFrame
        The fixed-effects table (:func:`_fixed_table`), one row per column of the design.
    frame : pandas.DataFrame
        The model's data; a tested term that is a column of it is a linear term.
    y : numpy.ndarray
        The outcome, for its SD.
    tested : set of str
        The exposure terms.

    Returns
    -------
    pandas.DataFrame or None
        One row per linear exposure term (index ``term``): estimate, ``sd_x``,
        ``sd_y``, the effect per SD of x with its interval, and standardized
        (per SD of x, in SDs of y) with its interval; None when there is none.
    """
    sd_y = float(np.std(y, ddof=1))
    rows = {}
    for term in fixed.index:
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
    if not rows:
        return None
    standardized = pd.DataFrame.from_dict(rows, orient="index")
    standardized.index.name = "term"
    return standardized


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
