"""Fit measures as functions of chi-square, degrees of freedom, the baseline and n (lavaan's lav_fit_*)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...stats.probability import chi2_cdf
from .implied import ModelState
from .samplestats import GroupData


def _r_zeroin(f: Callable[[float], float], lower: float, upper: float) -> float:
    """R's ``uniroot`` (Brent's zeroin, R_zeroin2) with its default tolerance, so roots match R's digits."""
    eps = float(np.finfo(float).eps)
    tol = eps**0.25  # uniroot's default: .Machine$double.eps^0.25
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(1001):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _pchisq(x: float, df: float, ncp: float) -> float:
    """R's pchisq(x, df, ncp) (scipy.special's chdtr/chndtr to 1e-13, without importing scipy)."""
    return float(chi2_cdf(x, df, ncp))


def fit_rmsea(chisq: float, df: float, n: int, groups: int, c_hat: float = 1.0) -> float:
    if not (df > 0):
        return 0.0 if df == 0 else math.nan
    return math.sqrt(max(chisq / n / df - c_hat / n, 0.0)) * math.sqrt(groups)


def fit_rmsea_ci(chisq: float, df: float, n: int, groups: int, c_hat: float = 1.0, level: float = 0.90):
    """lavaan's lav_fit_rmsea_ci: non-central chi-square limits found by R's uniroot."""
    if not (math.isfinite(chisq) and df > 0):
        return math.nan, math.nan
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2
    if df < 1 or _pchisq(chisq, df, 0) - upper_p < 0:
        lo = 0.0
    else:
        lam = _r_zeroin(lambda ncp: _pchisq(chisq, df, ncp) - upper_p, 0.0, chisq)
        lo = math.sqrt(c_hat * lam / (n * df)) * (math.sqrt(groups) if groups > 1 else 1.0)
    n_rmsea = max(n, chisq * 4)
    if df < 1 or _pchisq(chisq, df, n_rmsea) - lower_p > 0 or _pchisq(chisq, df, 0) - lower_p < 0:
        hi = 0.0
    else:
        lam = _r_zeroin(lambda ncp: _pchisq(chisq, df, ncp) - lower_p, 0.0, n_rmsea)
        hi = math.sqrt(c_hat * lam / (n * df)) * (math.sqrt(groups) if groups > 1 else 1.0)
    return lo, hi


def fit_rmsea_pclose(chisq: float, df: float, n: int, groups: int, h0: float = 0.05) -> float:
    if not (math.isfinite(chisq) and df > 0):
        return math.nan
    return 1 - _pchisq(chisq, df, n * df * h0**2 / groups)


def fit_cfi(x2, df, x2_null, df_null, c_hat=None, c_hat_null=None) -> float:
    """lavaan's lav_fit_cfi (with the robust correction when scaling factors are given)."""
    values = [x2, df, x2_null, df_null]
    if not all(v is not None and math.isfinite(v) for v in values):
        return math.nan
    if c_hat is not None and c_hat_null is not None and df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = max(x2 - c_hat * df, 0.0)
        t2 = max(x2 - c_hat * df, x2_null - c_hat_null * df_null, 0.0)
    else:
        t1 = max(x2 - df, 0.0)
        t2 = max(x2 - df, x2_null - df_null, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:
        return 1.0
    return 1 - t1 / t2


def fit_tli(x2, df, x2_null, df_null, c_hat=None, c_hat_null=None) -> float:
    """lavaan's lav_fit_tli (with the robust correction when scaling factors are given)."""
    values = [x2, df, x2_null, df_null]
    if not all(v is not None and math.isfinite(v) for v in values):
        return math.nan
    if c_hat is not None and c_hat_null is not None and df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = (x2 - c_hat * df) * df_null
        t2 = (x2_null - c_hat_null * df_null) * df
    else:
        t1 = (x2 - df) * df_null
        t2 = (x2_null - df_null) * df
    if df > 0 and abs(t2) > 0:
        return 1 - t1 / t2
    return 1.0


def fit_srmr(
    groups: list[GroupData], states: list[ModelState], meanstructure: bool
) -> tuple[float, list[float]]:
    """lavaan's "srmr" (Bentler's; with the means when there is a mean structure), weighted by n_g/N."""
    per_group = []
    n_total = sum(g.n for g in groups)
    for group, st in zip(groups, states, strict=True):
        s_cov, s_mean = group.cov, group.mean
        p = len(s_mean)
        sd = np.sqrt(np.diag(s_cov))
        resid = (s_cov - st.sigma) / np.outer(sd, sd)
        total = float((resid[np.tril_indices(p)] ** 2).sum())
        count = p * (p + 1) / 2
        if meanstructure:
            total += float((((s_mean - st.mu) / sd) ** 2).sum())
            count += p
        per_group.append(math.sqrt(total / count))
    srmr = float(sum(g.n / n_total * v for g, v in zip(groups, per_group, strict=True)))
    return srmr, per_group
