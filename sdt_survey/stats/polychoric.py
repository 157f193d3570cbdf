"""Polychoric correlations and thresholds, as psych::polychoric computes them (two-step).

The kernel of reliability's ordinal coefficients
(:func:`sdt_survey.reliability.polychoric`); it takes a checked matrix of
integer category codes and returns plain arrays. Thresholds come from each
item's marginal proportions; each correlation maximizes the bivariate-normal
likelihood of the pair's contingency table with the thresholds fixed, by
Brent's method with R's ``optimize`` tolerance, which is what makes the
values identical to psych's.

Examples
--------
>>> rng = np.random.default_rng(4)
>>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=3000)
>>> poly = polychoric_matrix(np.digitize(z, [-1, 0, 1]).astype(float))
>>> round(float(poly.rho[0, 1]), 2), poly.tau.shape, poly.global_thresholds
(0.58, (2, 3), True)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from .bivariate_normal import bvn_cdf_grid
from .moments import cor_smooth

#: R's optimize() default tolerance (.Machine$double.eps^0.25), which psych::polychoric uses.
R_OPTIMIZE_TOL = float(np.finfo(float).eps ** 0.25)


@dataclass(frozen=True)
class PolychoricMatrix:
    """Polychoric correlations ``rho`` (items x items) and thresholds ``tau`` (items x cuts).

    ``smoothed``: the matrix was not positive definite and was smoothed
    (psych::cor.smooth); ``global_thresholds``: every item has the same
    number of categories, so thresholds are each item's own (psych's
    ``global = TRUE``); otherwise they are estimated pair by pair.
    """

    rho: np.ndarray
    tau: np.ndarray
    smoothed: bool
    global_thresholds: bool


def polychoric_pair(tab: np.ndarray, rc: np.ndarray, cc: np.ndarray, tol: float = R_OPTIMIZE_TOL) -> float:
    """psych's polyc: maximize the multinomial likelihood over rho, thresholds fixed.

    scipy's ``fminbound`` is the same Brent minimizer as R's ``optimize``, so
    with R's tolerance it returns psych's value.
    """
    tab = tab / tab.sum()

    def negloglik(rho: float) -> float:
        prob = bvn_cdf_grid(rc, cc, rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.log(prob)
        ok = (prob > 0) & np.isfinite(lp)
        return -float(np.sum(tab[ok] * lp[ok]))

    return float(optimize.fminbound(negloglik, -1.0, 1.0, xtol=tol))


def polychoric_matrix(
    x: np.ndarray, *, correct: float = 0.5, smooth: bool = True, tol: float = R_OPTIMIZE_TOL
) -> PolychoricMatrix:
    """Polychoric correlations and thresholds of integer-coded items (psych::polychoric).

    ``x`` holds one column per item, whole-number categories, ``NaN`` for a
    missing answer; every item must vary (the caller checks). Items with
    different numbers of categories are handled pair by pair (thresholds from
    the pair's table, empty rows and columns dropped, zero cells set to
    ``correct / n``); a pair without common answers gets ``NaN``. A
    non-positive definite result is smoothed when ``smooth``.
    """
    answered = ~np.isnan(x)
    lo = np.nanmin(x)
    codes = np.where(answered, x - lo, -1).astype(int)  # 0 .. nvalues-1, -1 missing
    p = x.shape[1]
    item_max = np.array([codes[answered[:, j], j].max() for j in range(p)])
    global_tau = bool(item_max.min() == item_max.max())
    nbins = int(item_max.max()) + 1
    freq = np.stack([np.bincount(codes[answered[:, j], j], minlength=nbins) for j in range(p)], axis=1)
    with np.errstate(divide="ignore"):
        tau = special.ndtri(np.cumsum(freq / freq.sum(axis=0), axis=0)[:-1])
    rho = np.eye(p)
    for i, j in itertools.combinations(range(p), 2):
        both = answered[:, i] & answered[:, j]
        tab = np.bincount(codes[both, i] * nbins + codes[both, j], minlength=nbins * nbins).reshape(
            nbins, nbins
        )
        tab = tab.astype(float)
        if tab.sum() == 0:
            rho[i, j] = rho[j, i] = np.nan
            continue
        if global_tau:
            value = polychoric_pair(tab, tau[:, i], tau[:, j], tol)
        else:
            tot = tab.sum()
            tab = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0] / tot
            if min(tab.shape) < 2:
                value = np.nan
            else:
                if correct > 0:
                    tab[tab == 0] = correct / tot
                rc = special.ndtri(np.cumsum(tab.sum(axis=1))[:-1])
                cc = special.ndtri(np.cumsum(tab.sum(axis=0))[:-1])
                value = polychoric_pair(tab, rc, cc, tol)
        rho[i, j] = rho[j, i] = value
    smoothed = False
    if smooth and not np.isnan(rho).any():
        new = cor_smooth(rho)
        smoothed = new is not rho
        rho = new
    return PolychoricMatrix(rho=rho, tau=tau.T, smoothed=smoothed, global_thresholds=global_tau)


__all__ = ["R_OPTIMIZE_TOL", "PolychoricMatrix", "polychoric_matrix", "polychoric_pair"]
