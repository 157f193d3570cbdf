"""The upper incomplete gamma function Q(a, x) over arrays, to the bit as :func:`special.gammaincc`.

:func:`sdt_survey.stats.special.gammaincc` is a scalar kernel; over a million arguments (the
Mahalanobis p of every complete respondent) calling it once per element costs seconds. This runs
the same recurrences on whole arrays: the same operations in the same order on each element, each
element leaving its loop at the iteration where the scalar kernel breaks, so every result is the
scalar kernel's to the last bit (``tests/test_gamma_arrays.py``). The few transcendental calls
(``exp``, ``log``, ``log1p``) go through :mod:`math` (the C library's), applied by ``map`` in C:
numpy's vectorized ``exp`` and ``log`` differ from the C library's in the last bit for a few
percent of arguments. Arguments outside the two main regions (special values, and the
complementary series for small ``x``) fall back to the scalar kernel.
"""

from __future__ import annotations

import math

import numpy as np

from . import special

_EPS = 2.220446049250313e-16
_MAXITER = 10_000
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_BIG, _BIGINV = 4.503599627370496e15, 2.22044604925031308085e-16


def _libm(function, values: np.ndarray) -> np.ndarray:
    """``function`` (a :mod:`math` function) on each value, as the C library computes it."""
    return np.fromiter(map(function, values.tolist()), dtype=float, count=values.size)


def _log1pmx(t: np.ndarray) -> np.ndarray:
    """:func:`special.log1pmx` on each element."""
    out = np.empty_like(t)
    small = np.abs(t) < 0.5
    large = ~small
    if large.any():
        out[large] = _libm(math.log1p, t[large]) - t[large]
    tt = t[small]
    state = _Converging(np.flatnonzero(small), out, -tt, tt.copy(), np.zeros_like(tt))
    for k in range(2, 200):
        if state.finished():
            break
        minus_t, term, total = state.values
        term *= minus_t
        add = term / k
        total += add
        size = np.abs(total)
        size *= _EPS
        state.settle(np.abs(add, out=add) <= size, total)
    state.settle_rest(lambda minus_t, term, total: total)  # those that ran through every term
    return out


class _Converging:
    """Elements iterated together, each settled (its result stored) at the iteration it converges.

    Settled elements go on being computed (their results are already stored) until half of them
    are settled; then the arrays are compacted. Results are exactly those of a loop per element.
    """

    def __init__(self, where: np.ndarray, out: np.ndarray, *values: np.ndarray):
        self.where, self.out, self.values = where, out, list(values)
        self.alive = np.ones(where.size, dtype=bool)
        self.n_alive = where.size

    def finished(self) -> bool:
        return self.n_alive == 0

    def settle(self, converged: np.ndarray, result: np.ndarray) -> None:
        if not converged.any():
            return
        done = converged if self.n_alive == self.alive.size else converged & self.alive
        n_done = int(np.count_nonzero(done))
        if not n_done:
            return
        self.out[self.where[done]] = result[done]
        self.alive &= ~done
        self.n_alive -= n_done
        if self.n_alive * 2 < self.alive.size:
            keep = self.alive
            self.where = self.where[keep]
            self.values = [v[keep] for v in self.values]
            self.alive = np.ones(self.where.size, dtype=bool)

    def settle_rest(self, result) -> None:
        if self.n_alive:
            keep = self.alive
            self.out[self.where[keep]] = result(*(v[keep] for v in self.values))


def _igam_fac(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x**a * exp(-x) / gamma(a)`` for ``a, x > 0`` (:func:`special._igam_fac`) on each element."""
    t = (x - a) / a
    power = np.empty_like(x)
    near = t > -0.5
    if near.any():
        power[near] = a[near] * _log1pmx(t[near])
    far = ~near
    if far.any():
        af, xf = a[far], x[far]
        power[far] = af * (_libm(math.log, xf) - _libm(math.log, af)) - (xf - af)
    if np.all(a == a[0]):
        stirling = special._stirlerr(float(a[0]))
        half_log_a = 0.5 * math.log(float(a[0]))
    else:
        stirling = _libm(special._stirlerr, a)
        half_log_a = 0.5 * _libm(math.log, a)
    log_fac = power - stirling + half_log_a - _LOG_SQRT_2PI
    out = np.zeros_like(log_fac)
    keep = log_fac > -745.2
    out[keep] = _libm(math.exp, log_fac[keep])
    return out


def _one_minus_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``1 - P(a, x)`` with P by DLMF 8.11.4 (:func:`special._igam_series`) on each element."""
    fac = _igam_fac(a, x)
    out = np.full_like(x, 1.0)  # 1 - 0.0 where the prefactor underflows
    where = np.flatnonzero(fac != 0.0)
    aa = a[where]
    # With one shape for all (a chi-square's df), r is the same number for every element: a scalar.
    shared = _shared(aa)
    r = shared
    values = [aa, x[where], fac[where], np.ones_like(aa), np.ones_like(aa)]
    state = _Converging(where, out, *values, *([] if shared is not None else [aa.copy()]))
    for _ in range(_MAXITER):
        if state.finished():
            break
        aa, xx, ff, c, total, *own_r = state.values
        if own_r:
            r = own_r[0]
        r += 1.0
        c *= xx / r
        total += c
        state.settle(c <= _EPS * total, 1.0 - total * ff / aa)
    state.settle_rest(lambda aa, xx, ff, c, total, *_: 1.0 - total * ff / aa)
    return out


def _shared(a: np.ndarray) -> float | None:
    """The one value of ``a`` when all its elements are equal, else None."""
    return float(a[0]) if a.size and np.all(a == a[0]) else None


def _continued_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) by DLMF 8.9.2 (:func:`special._igamc_continued_fraction`) on each element."""
    fac = _igam_fac(a, x)
    out = np.zeros_like(x)
    where = np.flatnonzero(fac != 0.0)
    xx = x[where]
    # c counts the iterations (the same for every element); with one shape for all, so does y.
    shared = _shared(a[where])
    y = 1.0 - (shared if shared is not None else a[where])
    c = 0.0
    z = xx + y + 1.0
    pkm1, qkm1 = xx + 1.0, z * xx
    values = [fac[where], z, np.ones_like(xx), xx.copy(), pkm1, qkm1, pkm1 / qkm1]
    state = _Converging(where, out, *values, *([] if shared is not None else [y]))
    for _ in range(_MAXITER):
        if state.finished():
            break
        ff, z, pkm2, qkm2, pkm1, qkm1, ans, *own_y = state.values
        if own_y:
            y = own_y[0]
        c += 1.0
        y += 1.0
        z += 2.0
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        nonzero = qk != 0
        r = pk / qk
        if nonzero.all():
            t = np.abs((ans - r) / r)
            ans = r
        else:
            t = np.where(nonzero, np.abs((ans - r) / r), 1.0)
            ans = np.where(nonzero, r, ans)
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        rescale = np.abs(pk) > _BIG
        if rescale.any():
            pkm2 = np.where(rescale, pkm2 * _BIGINV, pkm2)
            pkm1 = np.where(rescale, pkm1 * _BIGINV, pkm1)
            qkm2 = np.where(rescale, qkm2 * _BIGINV, qkm2)
            qkm1 = np.where(rescale, qkm1 * _BIGINV, qkm1)
        state.values = [ff, z, pkm2, qkm2, pkm1, qkm1, ans, *own_y]
        state.settle(t <= _EPS, ans * ff)
    state.settle_rest(lambda ff, z, pkm2, qkm2, pkm1, qkm1, ans, *_: ans * ff)
    return out


#: Elements computed together: small enough for the processor's cache.
_BLOCK = 1 << 13


def _blockwise(function, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    with np.errstate(all="ignore"):  # settled elements run on until compacted; their results are stored
        for start in range(0, x.size, _BLOCK):
            block = slice(start, start + _BLOCK)
            out[block] = function(a[block], x[block])
    return out


def gammaincc(a, x) -> np.ndarray:
    """Q(a, x) on each pair of ``a`` and ``x`` (broadcast): :func:`special.gammaincc`'s numbers.

    Parameters
    ----------
    a, x : array_like
        Shape and argument, broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Of the broadcast shape, each element equal to ``special.gammaincc(a, x)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sdt_survey.stats import special
    >>> q = gammaincc(12.0, np.array([0.3, 5.0, 12.0, 30.0]))
    >>> all(q[i] == special.gammaincc(12.0, v) for i, v in enumerate([0.3, 5.0, 12.0, 30.0]))
    True
    """
    a, x = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(x, dtype=float))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    out = np.empty(a.size)
    regular = np.isfinite(a) & np.isfinite(x) & (a > 0) & (x > 0)
    series = np.zeros(a.size, dtype=bool)
    fraction = np.zeros(a.size, dtype=bool)
    above = regular & (x > 1.1)
    series[above] = x[above] < a[above]
    fraction[above] = ~series[above]
    low = regular & (x <= 0.5)
    series[low] = -0.4 / _libm(math.log, x[low]) < a[low]
    middle = regular & ~above & ~low
    series[middle] = x[middle] * 1.1 < a[middle]
    if series.any():
        out[series] = _blockwise(_one_minus_series, a[series], x[series])
    if fraction.any():
        out[fraction] = _blockwise(_continued_fraction, a[fraction], x[fraction])
    rest = ~(series | fraction)  # special values, and the complementary series of small x
    if rest.any():
        out[rest] = _libm_pairs(special.gammaincc, a[rest], x[rest])
    return out.reshape(shape)


def _libm_pairs(function, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.fromiter(map(function, a.tolist(), x.tolist()), dtype=float, count=a.size)


__all__ = ["gammaincc"]
