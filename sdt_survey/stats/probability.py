"""Normal, chi-square, t and F probabilities as :mod:`scipy.stats` gives them, without importing scipy.

Importing ``scipy.special`` (and with it scipy's array-API machinery) takes longer than fitting a
small CFA; these compute the same numbers from :mod:`sdt_survey.stats.special` (numpy and
:mod:`math` only) to within 1e-13 relative (``tests/test_probability.py``), with ``scipy.stats``'s
answers outside the support. Each takes scalars or arrays and returns a float or an array.
"""

from __future__ import annotations

import math

import numpy as np

from . import gamma_arrays, special

_SQRT_2PI = math.sqrt(2 * math.pi)


def _ufunc(kernel, nin: int):
    """The scalar kernel over arrays (broadcast), returning a float or a float array."""
    vectorized = np.frompyfunc(kernel, nin, 1)

    def apply(*args):
        arrays = [np.asarray(a, dtype=float) for a in args]
        if all(a.ndim == 0 for a in arrays):
            return float(kernel(*(float(a) for a in arrays)))
        return np.asarray(vectorized(*arrays), dtype=float)

    return apply


_ndtr = _ufunc(special.ndtr, 1)
_ndtri = _ufunc(special.ndtri, 1)
_gammaincc = _ufunc(special.gammaincc, 2)
_gammainc = _ufunc(special.gammainc, 2)
_gammaincinv = _ufunc(special.gammaincinv, 2)
_gammainccinv = _ufunc(lambda a, p: special.gammaincinv(a, p, upper=True), 2)
_chndtr = _ufunc(special.chndtr, 3)
_lgamma = _ufunc(special.lgamma, 1)


def _t_sf(x: float, df: float) -> float:
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(x):
        return 0.0 if x > 0 else 1.0
    if math.isinf(df):
        return special.ndtr(-x)
    t2 = x * x
    half = 0.5 * special.betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
    return half if x > 0 else 1.0 - half


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    if math.isnan(x) or math.isnan(dfn) or math.isnan(dfd) or dfn <= 0 or dfd <= 0:
        return math.nan
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return special.betainc(dfd / 2.0, dfn / 2.0, dfd / (dfd + dfn * x), dfn * x / (dfd + dfn * x))


_t_sf_u = _ufunc(_t_sf, 2)
_f_sf_u = _ufunc(_f_sf, 3)


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: NaN for ``df <= 0``, 1 below zero.

    Examples
    --------
    >>> round(float(chi2_sf(3.84, 1)), 15), float(chi2_sf(-1.0, 2)), float(chi2_sf(1.0, 0))
    (0.050043521248705, 1.0, nan)
    """
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    # Over arrays the same numbers as the scalar kernel, to the bit, without a Python call per element.
    upper = _gammaincc if x.ndim == 0 and df.ndim == 0 else gamma_arrays.gammaincc
    with np.errstate(invalid="ignore"):
        out = np.where(df > 0, upper(np.where(df > 0, df, 1.0) / 2.0, np.maximum(x, 0.0) / 2.0), np.nan)
    return out[()]


def chi2_cdf(x, df, ncp=0.0):
    """``scipy.stats.chi2.cdf(x, df)``, or with ``ncp > 0`` ``scipy.stats.ncx2.cdf`` (R's ``pchisq``).

    Examples
    --------
    >>> round(float(chi2_cdf(3.84, 1)), 12), round(float(chi2_cdf(10.0, 4, 3.0)), 12)
    (0.949956478751, 0.783763181682)
    """
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    ncp = np.asarray(ncp, dtype=float)
    if ncp.ndim == 0 and float(ncp) == 0.0:
        with np.errstate(invalid="ignore"):
            half_df = np.where(df > 0, df, 1.0) / 2.0
            out = np.where(df > 0, _gammainc(half_df, np.maximum(x, 0.0) / 2.0), np.nan)
        return out[()]
    return _chndtr(x, df, ncp)


def chi2_isf(q, df):
    """``scipy.stats.chi2.isf(q, df)`` (``special.chdtri(df, q)``): the upper-tail quantile.

    Examples
    --------
    >>> round(float(chi2_isf(0.05, 1)), 9)
    3.841458821
    """
    return 2.0 * _gammainccinv(np.asarray(df, dtype=float) / 2.0, np.asarray(q, dtype=float))


def log_gamma(x):
    """``scipy.special.gammaln(x)``: the logarithm of the absolute value of the gamma function.

    Examples
    --------
    >>> round(float(log_gamma(10.0)), 12)
    12.801827480081
    """
    return _lgamma(x)


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``.

    Examples
    --------
    >>> round(float(norm_sf(1.0)), 15)
    0.158655253931457
    """
    return _ndtr(-np.asarray(x, dtype=float))


def norm_cdf(x):
    """``scipy.stats.norm.cdf(x)``.

    Examples
    --------
    >>> round(float(norm_cdf(-1.0)), 15)
    0.158655253931457
    """
    return _ndtr(x)


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``: NaN outside [0, 1].

    Examples
    --------
    >>> round(float(norm_ppf(0.975)), 15)
    1.959963984540054
    """
    return _ndtri(q)


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
    return 2.0 * _gammaincinv(df / 2.0, q)


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)`` (``stdtr(df, -x)``).

    Examples
    --------
    >>> round(float(t_sf(2.0, 10)), 6)
    0.036694
    """
    return _t_sf_u(x, df)


def f_sf(x, dfn, dfd):
    """``scipy.stats.f.sf(x, dfn, dfd)`` (``fdtrc(dfn, dfd, x)``).

    Examples
    --------
    >>> round(float(f_sf(4.0, 1, 20)), 6)
    0.059266
    """
    return _f_sf_u(x, dfn, dfd)
