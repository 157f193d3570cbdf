"""Normal and chi-square probabilities as :mod:`scipy.stats` computes them, from :mod:`scipy.special`.

``scipy.stats`` takes longer to import than a whole small CFA takes to fit;
these give the same numbers (``scipy.stats.chi2.sf`` is ``special.chdtrc``,
``norm.sf`` is ``special.ndtr(-x)``, ``norm.ppf`` is ``special.ndtri``), with
``scipy.stats``'s answers outside the support.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_SQRT_2PI = math.sqrt(2 * math.pi)


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: NaN for ``df <= 0``, 1 below zero.

    Examples
    --------
    >>> float(chi2_sf(3.84, 1)), float(chi2_sf(-1.0, 2)), float(chi2_sf(1.0, 0))
    (0.05004352124870519, 1.0, nan)
    """
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(df > 0, special.chdtrc(df, np.maximum(x, 0.0)), np.nan)
    return out[()]


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``.

    Examples
    --------
    >>> float(norm_sf(1.0))
    0.15865525393145707
    """
    return special.ndtr(-np.asarray(x, dtype=float))[()]


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``: NaN outside [0, 1].

    Examples
    --------
    >>> float(norm_ppf(0.975))
    1.959963984540054
    """
    return special.ndtri(np.asarray(q, dtype=float))[()]


def norm_pdf(x):
    """``scipy.stats.norm.pdf(x)``.

    Examples
    --------
    >>> float(norm_pdf(0.0))
    0.3989422804014327
    """
    x = np.asarray(x, dtype=float)
    return (np.exp(-(x**2) / 2.0) / _SQRT_2PI)[()]


def chi2_ppf(q, df):
    """``scipy.stats.chi2.ppf(q, df)`` (``2 * gammaincinv(df / 2, q)``).

    Examples
    --------
    >>> round(float(chi2_ppf(0.95, 1)), 6)
    3.841459
    """
    q = np.asarray(q, dtype=float)
    df = np.asarray(df, dtype=float)
    return (2.0 * special.gammaincinv(df / 2.0, q))[()]


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)`` (``stdtr(df, -x)``).

    Examples
    --------
    >>> round(float(t_sf(2.0, 10)), 6)
    0.036694
    """
    return special.stdtr(np.asarray(df, dtype=float), -np.asarray(x, dtype=float))[()]


def f_sf(x, dfn, dfd):
    """``scipy.stats.f.sf(x, dfn, dfd)`` (``fdtrc(dfn, dfd, x)``).

    Examples
    --------
    >>> round(float(f_sf(4.0, 1, 20)), 6)
    0.059266
    """
    return special.fdtrc(
        np.asarray(dfn, dtype=float), np.asarray(dfd, dtype=float), np.asarray(x, dtype=float)
    )[()]
