"""Special functions of probability with numpy and :mod:`math` only: no scipy at import time.

The scalar kernels behind :mod:`sdt_survey.stats.probability`: the normal integral (``math.erf`` and
``math.erfc`` as Cephes' ``ndtr`` combines them), its inverse (Wichura's AS 241, R's ``qnorm``), the
regularized incomplete gamma functions P and Q (series, continued fraction and the complementary
series of DLMF 8.11.4, 8.9.2 and 8.7.3, chosen by region as scipy's ``igam.h`` does), their inverse
(Halley's method), the non-central chi-square distribution (Poisson mixture summed outward from its
mode, as Benton & Krishnamoorthy 2003) and the regularized incomplete beta function (the continued
fraction of DLMF 8.17.22). The prefactor ``x**a * exp(-x) / gamma(a)`` is computed from Stirling's
remainder and ``log1p(t) - t``, so that no large logarithms cancel: near ``x == a`` the error stays
at a few units in the last place for any ``a``. ``tests/test_probability.py`` checks every function
against scipy.special and, in the far tails, against mpmath at 50 digits.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 2.220446049250313e-16
_MAXITER = 10_000
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)
_NAN = math.nan


# ---------------------------------------------------------------------------------------------------
# Normal integral and its inverse
# ---------------------------------------------------------------------------------------------------


def ndtr(a: float) -> float:
    """The standard normal distribution function, as Cephes' ``ndtr`` (``erf`` near 0, ``erfc`` beyond).

    Examples
    --------
    >>> round(ndtr(-1.0), 15)
    0.158655253931457
    """
    if math.isnan(a):
        return _NAN
    x = a * _SQRT1_2
    z = abs(x)
    if z < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y


def ndtri(p: float) -> float:
    """The standard normal quantile: Wichura's algorithm AS 241 (PPND16), as R's ``qnorm``.

    Examples
    --------
    >>> round(ndtri(0.975), 15)
    1.959963984540054
    """
    if math.isnan(p) or p < 0.0 or p > 1.0:
        return _NAN
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (
            ((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
              + 133.14166789178437745) * r + 3.387132872796366608
        )  # fmt: skip
        den = (
            ((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
              + 42.313330701600911252) * r + 1.0
        )  # fmt: skip
        return q * num / den
    r = math.sqrt(-math.log(p if q < 0 else 1.0 - p))
    if r <= 5.0:
        r -= 1.6
        num = (
            ((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177)
                 * r + 1.27045825245236838258) * r + 3.64784832476320460504) * r
               + 5.7694972214606914055) * r + 4.6303378461565452959) * r + 1.42343711074968357734
        )  # fmt: skip
        den = (
            ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966)
                 * r + 0.14810397642748007459) * r + 0.68976733498510000455) * r
               + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1.0
        )  # fmt: skip
    else:
        r -= 5.0
        num = (
            ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                 + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
               + 0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r
            + 6.6579046435011037772
        )  # fmt: skip
        den = (
            ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
                 + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
               + 0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r
            + 1.0
        )  # fmt: skip
    value = num / den
    return -value if q < 0 else value


# ---------------------------------------------------------------------------------------------------
# Gamma function pieces
# ---------------------------------------------------------------------------------------------------


def lgamma(x: float) -> float:
    """``log(abs(gamma(x)))`` (``math.lgamma``; infinite at the poles, as scipy's ``gammaln``).

    Examples
    --------
    >>> round(lgamma(10.0), 12)
    12.801827480081
    """
    try:
        return math.lgamma(x)
    except ValueError:
        return math.inf


def _stirlerr(a: float) -> float:
    """``lgamma(a) - ((a - 0.5) * log(a) - a + log(sqrt(2 pi)))``, Stirling's remainder, for ``a > 0``."""
    if a >= 10.0:
        r = 1.0 / (a * a)
        series = 1 / 1188 - r * (691 / 360360 - r / 156)
        return (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r * (1 / 1680 - r * series)))) / a
    return math.lgamma(a) - ((a - 0.5) * math.log(a) - a + _LOG_SQRT_2PI)


def log1pmx(t: float) -> float:
    """``log(1 + t) - t`` without cancellation near ``t == 0``.

    Examples
    --------
    >>> f"{log1pmx(1e-5):.12e}"
    '-4.999966666917e-11'
    """
    if abs(t) < 0.5:
        # -t^2/2 + t^3/3 - ... summed to full precision
        term = t
        total = 0.0
        for k in range(2, 200):
            term *= -t
            add = term / k
            total += add
            if abs(add) <= _EPS * abs(total):
                break
        return total
    return math.log1p(t) - t


def _log_igam_fac(a: float, x: float) -> float:
    """``log(x**a * exp(-x) / gamma(a))`` for ``a, x > 0``, without cancellation of large terms."""
    if x <= 0.0:
        return -math.inf
    t = (x - a) / a
    power = a * log1pmx(t) if t > -0.5 else a * (math.log(x) - math.log(a)) - (x - a)
    return power - _stirlerr(a) + 0.5 * math.log(a) - _LOG_SQRT_2PI


def _igam_fac(a: float, x: float) -> float:
    log_fac = _log_igam_fac(a, x)
    return math.exp(log_fac) if log_fac > -745.2 else 0.0


def _igam_series(a: float, x: float) -> float:
    """P(a, x) by DLMF 8.11.4."""
    fac = _igam_fac(a, x)
    if fac == 0.0:
        return 0.0
    r, c, total = a, 1.0, 1.0
    for _ in range(_MAXITER):
        r += 1.0
        c *= x / r
        total += c
        if c <= _EPS * total:
            break
    return total * fac / a


def _igamc_continued_fraction(a: float, x: float) -> float:
    """Q(a, x) by DLMF 8.9.2 (Cephes' recurrence of convergents)."""
    fac = _igam_fac(a, x)
    if fac == 0.0:
        return 0.0
    big, biginv = 4.503599627370496e15, 2.22044604925031308085e-16
    y = 1.0 - a
    z = x + y + 1.0
    c = 0.0
    pkm2, qkm2 = 1.0, x
    pkm1, qkm1 = x + 1.0, z * x
    ans = pkm1 / qkm1
    for _ in range(_MAXITER):
        c += 1.0
        y += 1.0
        z += 2.0
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        if qk != 0:
            r = pk / qk
            t = abs((ans - r) / r)
            ans = r
        else:
            t = 1.0
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        if abs(pk) > big:
            pkm2 *= biginv
            pkm1 *= biginv
            qkm2 *= biginv
            qkm1 *= biginv
        if t <= _EPS:
            break
    return ans * fac


def _igamc_series(a: float, x: float) -> float:
    """Q(a, x) by DLMF 8.7.3, for small x (no cancellation against 1)."""
    fac, total = 1.0, 0.0
    for n in range(1, _MAXITER):
        fac *= -x / n
        term = fac / (a + n)
        total += term
        if abs(term) <= _EPS * abs(total):
            break
    logx = math.log(x)
    lead = -math.expm1(a * logx - math.lgamma(1.0 + a))
    return lead - math.exp(a * logx - math.lgamma(a)) * total


def _special_cases(a: float, x: float, lower: bool) -> float | None:
    if math.isnan(a) or math.isnan(x) or x < 0 or a < 0:
        return _NAN
    if a == 0:
        return (1.0 if lower else 0.0) if x > 0 else _NAN
    if x == 0:
        return 0.0 if lower else 1.0
    if math.isinf(a):
        return _NAN if math.isinf(x) else (0.0 if lower else 1.0)
    if math.isinf(x):
        return 1.0 if lower else 0.0
    return None


def gammainc(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x) (scipy's ``gammainc``).

    Examples
    --------
    >>> round(gammainc(2.0, 1.0), 15)
    0.264241117657115
    """
    special = _special_cases(a, x, lower=True)
    if special is not None:
        return special
    if x > 1.0 and x > a:
        return 1.0 - gammaincc(a, x)
    return _igam_series(a, x)


def gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x) (scipy's ``gammaincc``).

    Examples
    --------
    >>> round(gammaincc(2.0, 1.0), 15)
    0.735758882342885
    """
    special = _special_cases(a, x, lower=False)
    if special is not None:
        return special
    if x > 1.1:
        return 1.0 - _igam_series(a, x) if x < a else _igamc_continued_fraction(a, x)
    if x <= 0.5:
        return 1.0 - _igam_series(a, x) if -0.4 / math.log(x) < a else _igamc_series(a, x)
    return 1.0 - _igam_series(a, x) if x * 1.1 < a else _igamc_series(a, x)


def gammaincinv(a: float, p: float, upper: bool = False) -> float:
    """``x`` with P(a, x) = p (``upper``: with Q(a, x) = p), by Halley's method on the smaller tail.

    Examples
    --------
    >>> round(2 * gammaincinv(0.5, 0.95), 9)
    3.841458821
    """
    if math.isnan(a) or math.isnan(p) or a <= 0 or p < 0 or p > 1:
        return _NAN
    p_lower, p_upper = (1.0 - p, p) if upper else (p, 1.0 - p)
    if (p_upper if upper else p_lower) == 0.0:
        return 0.0
    if (p_lower if upper else p_upper) == 0.0:
        return math.inf
    # Solve on the tail that is below one half, where p is known to full relative precision.
    use_upper = p_upper < 0.5
    target = p_upper if use_upper else p_lower
    # Wilson-Hilferty start (on the chi-square scale), or the leading term of each tail.
    z = -ndtri(p_upper) if use_upper else ndtri(p_lower)
    h = 1.0 / (9.0 * a)
    x = a * (1.0 - h + z * math.sqrt(h)) ** 3
    if not x > 0 or a < 1:
        if not use_upper:
            x = math.exp((math.log(p_lower) + math.lgamma(a + 1.0)) / a)
        else:
            x = max(a, 1.0) - math.log(p_upper)
    lo, hi = 0.0, math.inf
    for _ in range(100):
        if x <= 0.0:
            return 0.0
        value = gammaincc(a, x) if use_upper else gammainc(a, x)
        if value == target:
            return x
        if (value > target) != use_upper:
            hi = min(hi, x)
        else:
            lo = max(lo, x)
        # Newton's method on log(value) - log(target): quadratic near the root, and linear in the far
        # tails where value changes by orders of magnitude (the derivative of P is x**(a-1) e^-x / gamma(a)).
        d1 = _igam_fac(a, x) / x
        if value > 0.0 and d1 > 0.0 and math.isfinite(d1):
            step = math.log(value / target) * value / (-d1 if use_upper else d1)
        else:
            step = _NAN
        new = x - step
        if not (lo < new < hi) or not math.isfinite(new):
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * x
        if abs(new - x) <= 2 * _EPS * abs(new):
            return new
        x = new
    return x


# ---------------------------------------------------------------------------------------------------
# Non-central chi-square
# ---------------------------------------------------------------------------------------------------


def _log_poisson(k: int, mu: float) -> float:
    """``log(mu**k exp(-mu) / k!)`` without cancellation for large ``k``."""
    if k == 0:
        return -mu
    return k * log1pmx((mu - k) / k) - _stirlerr(k) - 0.5 * math.log(k) - _LOG_SQRT_2PI


def chndtr(x: float, df: float, nc: float) -> float:
    """The non-central chi-square distribution function (R's ``pchisq(x, df, ncp)``).

    The Poisson mixture of central chi-squares, summed outward from the Poisson mode with the
    recurrences of P(a, y) in ``a`` (as numpy cumulative sums: thousands of terms for the large
    non-centralities of an RMSEA interval on big samples take microseconds, not a Python loop).

    Examples
    --------
    >>> round(chndtr(10.0, 4.0, 3.0), 12)
    0.783763181682
    """
    if math.isnan(x) or math.isnan(df) or math.isnan(nc) or df <= 0 or nc < 0:
        return _NAN
    if x <= 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    if nc == 0:
        return gammainc(df / 2.0, x / 2.0)
    mu, y = nc / 2.0, x / 2.0
    mode = int(mu)
    a = df / 2.0 + mode
    p_mode = gammainc(a, y)
    log_w = _log_poisson(mode, mu)
    log_d = _log_igam_fac(a, y) - math.log(a)  # log(y**a exp(-y) / gamma(a + 1))
    # Beyond 12 standard deviations of the Poisson weights the terms are below 1e-30 of the sum.
    span = int(12.0 * math.sqrt(mu) + 50.0)
    total = math.exp(log_w) * p_mode
    # upward: P(a + j) = P(a) - sum_{i<j} d(a + i), d(a + i + 1) = d(a + i) y / (a + i + 1);
    # weights w(m + j) = w(m + j - 1) mu / (m + j)
    j = np.arange(1, span + 1, dtype=float)
    log_d_up = log_d + np.concatenate(([0.0], np.cumsum(np.log(y / (a + j[:-1])))))
    p_up = np.maximum(p_mode - np.cumsum(np.exp(log_d_up)), 0.0)
    w_up = np.exp(log_w + np.cumsum(np.log(mu / (mode + j))))
    total += float(np.sum(w_up * p_up))
    if mode > 0:
        # downward: P(a - j) = P(a) + sum_{1<=i<=j} d(a - i), d(a - i) = d(a - i + 1) (a - i + 1) / y;
        # weights w(m - j) = w(m - j + 1) (m - j + 1) / mu
        i = np.arange(0, min(mode, span), dtype=float)
        p_down = p_mode + np.cumsum(np.exp(log_d + np.cumsum(np.log((a - i) / y))))
        w_down = np.exp(log_w + np.cumsum(np.log((mode - i) / mu)))
        total += float(np.sum(w_down * np.minimum(p_down, 1.0)))
    return min(total, 1.0)


# ---------------------------------------------------------------------------------------------------
# Incomplete beta
# ---------------------------------------------------------------------------------------------------


def _log_beta(a: float, b: float) -> float:
    """``log(beta(a, b))``, through Stirling's remainders when an argument is large."""
    if a < b:
        a, b = b, a
    if a < 10.0:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    c = a + b
    if b < 10.0:
        ratio = -(a - 0.5) * math.log1p(b / a) - b * math.log(c) + b  # lgamma(a) - lgamma(c), less remainders
        return math.lgamma(b) + ratio + _stirlerr(a) - _stirlerr(c)
    return (
        _LOG_SQRT_2PI - 0.5 * math.log(c) + (a - 0.5) * math.log(a / c) + (b - 0.5) * math.log(b / c)
        + _stirlerr(a) + _stirlerr(b) - _stirlerr(c)
    )  # fmt: skip


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of DLMF 8.17.22 by Lentz's method."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, _MAXITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            break
    return h


def betainc(a: float, b: float, x: float, y: float | None = None, upper: bool = False) -> float:
    """The regularized incomplete beta function I_x(a, b) (``upper``: 1 - I_x(a, b)).

    ``y`` is ``1 - x`` when the caller knows it more precisely than ``1 - x`` rounds.

    Examples
    --------
    >>> round(betainc(2.0, 3.0, 0.4), 15)
    0.5248
    """
    if y is None:
        y = 1.0 - x
    if math.isnan(a) or math.isnan(b) or math.isnan(x) or a <= 0 or b <= 0 or x < 0 or x > 1:
        return _NAN
    if x == 0.0:
        return 1.0 if upper else 0.0
    if y == 0.0:
        return 0.0 if upper else 1.0
    # evaluate the fraction where it converges fast; swap the roles otherwise
    if x > (a + 1.0) / (a + b + 2.0):
        a, b, x, y = b, a, y, x
        upper = not upper
    # the logarithm of the one near 1 from the small complement, known to full relative precision
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    log_front = a * log_x + b * log_y - _log_beta(a, b) - math.log(a)
    value = math.exp(log_front) * _betacf(a, b, x)
    return 1.0 - value if upper else value
