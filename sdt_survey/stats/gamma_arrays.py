"""The upper incomplete gamma function Q(a, x) over arrays, to the bit as :func:`special.gammaincc`.

:func:`sdt_survey.stats.special.gammaincc` is a scalar kernel; over a million arguments (the
Mahalanobis p of every complete respondent) calling it once per element costs seconds. This runs
the same recurrences on whole arrays: the same operations in the same order on each element, each
element's result taken at the iteration where the scalar kernel breaks, so every result is the
scalar kernel's to the last bit (``tests/test_gamma_arrays.py``). The few transcendental calls
(``exp``, ``log``, ``log1p``) go through :mod:`math` (the C library's), applied by ``map`` in C:
numpy's vectorized ``exp`` and ``log`` differ from the C library's in the last bit for a few
percent of arguments. Arguments outside the two main regions (special values, and the
complementary series for small ``x``) fall back to the scalar kernel.

Each recurrence runs on blocks of elements sorted (coarsely) by how many iterations they need, so
a block's elements converge nearly together: the block's live elements stay one contiguous window
that shrinks from its ends, iterated in place with few numpy calls per iteration. The two series
test convergence only from the first step at which any element of the block can stop, found by
running the series on the block's extreme arguments (every operation rounds monotonically).
"""

from __future__ import annotations

import math

import numpy as np

from . import special

_EPS = 2.220446049250313e-16
_MAXITER = 10_000
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_BIG, _BIGINV = 4.503599627370496e15, 2.22044604925031308085e-16

#: Elements iterated together: their dozen work arrays stay in the processor's cache.
_BLOCK = 1 << 14


def _libm(function, values: np.ndarray) -> np.ndarray:
    """``function`` (a :mod:`math` function) on each value, as the C library computes it."""
    # Iterating a memoryview makes each Python float as map needs it: no list of them all.
    each = memoryview(np.ascontiguousarray(values))
    return np.fromiter(map(function, each), dtype=float, count=values.size)


class _Window:
    """A block's elements iterated together, each keeping its values of the iteration it converges.

    The elements come in an order where they converge nearly in turn, so the live ones are one
    window ``[lo, hi)`` of the block: the work arrays are iterated in place on that window, which
    shrinks as its ends converge. Elements converged inside the window go on being computed (their
    values are already kept) unless too few are left, when the arrays are compacted. What is kept
    is exactly what a loop per element would hold when it breaks (or ends).

    Parameters
    ----------
    work : list of numpy.ndarray
        The recurrence's arrays, one element per row (the loop may reorder the list to rotate them).
    kept : int
        How many values each element keeps (arrays of :attr:`kept`, read after the loop).
    """

    def __init__(self, work: list[np.ndarray], kept: int):
        n = work[0].size
        self.work = work
        self.kept = [np.empty(n) for _ in range(kept)]
        self._final = self.kept  # the block's own rows until a compaction
        self._rows: np.ndarray | None = None  # each row's place in the block after a compaction
        self.alive = np.ones(n, dtype=bool)
        self.lo, self.hi = 0, n
        self._steps = 0

    def views(self) -> list[np.ndarray]:
        """The work arrays on the live window (views: updating them in place updates the arrays)."""
        return [v[self.lo : self.hi] for v in self.work]

    def settle(self, converged: np.ndarray, *values: np.ndarray) -> bool:
        """Keep ``values`` of the live elements and retire the ``converged``; True when none is left.

        ``converged`` and ``values`` cover the window. Keeping the values of every live element
        (not only the converging) leaves each element's values of its last iteration: the one it
        converged at, or the last of all.
        """
        lo, hi = self.lo, self.hi
        alive = self.alive[lo:hi]
        for kept, value in zip(self.kept, values, strict=True):
            np.copyto(kept[lo:hi], value, where=alive)
        np.greater(alive, converged, out=alive)  # alive and not converged
        if alive[0] and alive[-1]:
            self._steps += 1
            if self._steps % 8 == 0:
                self._compact_when_sparse()
            return False
        first = int(alive.argmax())
        if not alive[first]:
            self.lo = self.hi
            return True
        self.lo, self.hi = lo + first, hi - int(alive[::-1].argmax())
        return False

    def _compact_when_sparse(self) -> None:
        lo, hi = self.lo, self.hi
        live = np.flatnonzero(self.alive[lo:hi])
        if live.size * 2 >= hi - lo:
            return
        if self._rows is None:  # the block's kept arrays stay; compacted copies write back through rows
            self._rows = np.arange(self.alive.size)
        else:
            self._flush()
        live += lo
        self.work = [v[live] for v in self.work]
        self.kept = [k[live] for k in self.kept]
        self._rows = self._rows[live]
        self.alive = np.ones(live.size, dtype=bool)
        self.lo, self.hi = 0, live.size

    def _flush(self) -> None:
        if self._rows is not None:
            for final, kept in zip(self._final, self.kept, strict=True):
                final[self._rows] = kept

    def results(self) -> list[np.ndarray]:
        """Each element's kept values, in the block's order (after the loop)."""
        self._flush()
        return self._final


def _log1pmx(t: np.ndarray) -> np.ndarray:
    """:func:`special.log1pmx` on each element (in an order where ``abs(t)`` changes little)."""
    small = np.abs(t) < 0.5
    if small.all():
        return _log1pmx_series(t)
    out = np.empty_like(t)
    large = ~small
    out[large] = _libm(math.log1p, t[large]) - t[large]
    if small.any():
        out[small] = _log1pmx_series(t[small])
    return out


def _log1pmx_series(t: np.ndarray) -> np.ndarray:
    """The series of :func:`special.log1pmx` (``abs(t) < 0.5``) on a block."""
    n = t.size
    size = np.abs(t)
    first_check = _log1pmx_first_check(float(size.min()), float(size.max()))
    window = _Window([-t, t.copy(), np.zeros(n)], kept=1)
    add, bound, converged = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    for k in range(2, 200):
        minus_t, term, total = window.views()
        w = term.size
        np.multiply(term, minus_t, out=term)
        np.divide(term, k, out=add[:w])
        np.add(total, add[:w], out=total)
        if k < first_check:
            continue
        np.abs(total, out=bound[:w])
        np.multiply(bound[:w], _EPS, out=bound[:w])
        np.abs(add[:w], out=add[:w])
        np.less_equal(add[:w], bound[:w], out=converged[:w])
        if window.settle(converged[:w], total):
            break
    return window.results()[0]


def _log1pmx_first_check(low: float, high: float) -> int:
    """The first term at which the series of :func:`special.log1pmx` can stop for ``abs(t)`` in [low, high].

    Each term's size, ``fl(fl(|term| * |t|) / k)``, grows with ``abs(t)`` (rounding is monotone),
    so no element's term is below the one computed here for ``low``; and no element's sum exceeds
    the sum of the terms for ``high`` (times the rounding of at most 200 additions, well inside
    the margin). While the smallest term exceeds ``eps`` times the largest sum, no element can
    converge: the loop need not test them. Below ``1e-100`` (terms near the subnormals, where
    ``eps`` times a sum may round up) every term is tested.
    """
    if not low >= 1e-100:
        return 2
    term_low, term_high, sum_high = low, high, 0.0
    for k in range(2, 199):
        term_low *= low
        term_high *= high
        sum_high += term_high / k
        if term_low / k <= _EPS * sum_high * (1.0 + 1e-6):
            return k
    return 199  # the last term is always tested: its values are kept whether it converges or not


def _igam_fac(a: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x**a * exp(-x) / gamma(a)`` for ``a, x > 0`` (:func:`special._igam_fac`) on each element."""
    t = (x - a) / a
    near = t > -0.5
    if near.all():
        power = a * _log1pmx(t)
    else:
        power = np.empty_like(x)
        if near.any():
            power[near] = _pick(a, near) * _log1pmx(t[near])
        far = ~near
        af, xf = _pick(a, far), x[far]
        log_a = math.log(af) if isinstance(af, float) else _libm(math.log, af)
        power[far] = af * (_libm(math.log, xf) - log_a) - (xf - af)
    if isinstance(a, float):
        stirling, half_log_a = special._stirlerr(a), 0.5 * math.log(a)
    else:
        stirling, half_log_a = _libm(special._stirlerr, a), 0.5 * _libm(math.log, a)
    log_fac = power - stirling + half_log_a - _LOG_SQRT_2PI
    keep = log_fac > -745.2
    if keep.all():
        return _libm(math.exp, log_fac)
    out = np.zeros_like(log_fac)
    out[keep] = _libm(math.exp, log_fac[keep])
    return out


def _pick(a: float | np.ndarray, rows: np.ndarray) -> float | np.ndarray:
    return a if isinstance(a, float) else a[rows]


def _series_block(a: float | np.ndarray, x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    n = x.size
    shared = isinstance(a, float)
    # With one shape for all (a chi-square's df), r is the same number for every element: a float.
    r = a
    first_check = _series_first_check(float(np.min(a)), float(np.max(a)), float(x.min()), float(x.max()))
    window = _Window([x, np.ones(n), np.ones(n), *([] if shared else [a.copy()])], kept=1)
    ratio, bound, converged = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    for step in range(_MAXITER):
        xx, c, total, *own_r = window.views()
        w = xx.size
        if shared:
            r += 1.0
        else:
            r = own_r[0]
            np.add(r, 1.0, out=r)
        np.divide(xx, r, out=ratio[:w])
        np.multiply(c, ratio[:w], out=c)
        np.add(total, c, out=total)
        if step < first_check:
            continue
        np.multiply(total, _EPS, out=bound[:w])
        np.less_equal(c, bound[:w], out=converged[:w])
        if window.settle(converged[:w], total):
            break
    (total,) = window.results()
    return 1.0 - total * fac / a


def _series_first_check(a_low: float, a_high: float, x_low: float, x_high: float) -> int:
    """The first step at which the series of :func:`special._igam_series` can stop, for a and x in ranges.

    Every operation of the series rounds monotonically, so the loop run here on floats bounds
    every element's: no term is below that of the smallest ``x`` with the largest ``a``, no sum is
    above that of the largest ``x`` with the smallest ``a``. While that smallest term exceeds
    ``eps`` times that largest sum, no element can converge: the loop need not test them.
    """
    r_low, r_high, c_low, c_high, total_high = a_high, a_low, 1.0, 1.0, 1.0
    for step in range(_MAXITER - 1):
        r_low += 1.0
        r_high += 1.0
        c_low *= x_low / r_low
        c_high *= x_high / r_high
        total_high += c_high
        if c_low <= _EPS * total_high:
            return step
    return _MAXITER - 1  # the last step is always tested: its values are kept whether it converges or not


def _fraction_block(a: float | np.ndarray, x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    n = x.size
    shared = isinstance(a, float)
    # c counts the iterations (the same for every element); with one shape for all, so does y.
    y = 1.0 - a
    c = 0.0
    z = x + y + 1.0
    pkm1, qkm1 = x + 1.0, z * x
    # The work arrays rotate: the convergents two steps back are overwritten by the new ones, and
    # the ratio of the last step by the next.
    work = [z, np.ones(n), x.copy(), pkm1, qkm1, pkm1 / qkm1, np.empty(n), *([] if shared else [y])]
    window = _Window(work, kept=1)
    product, step, converged = np.empty(n), np.empty(n), np.empty(n, dtype=bool)
    yc_own = np.empty(0 if shared else n)
    for _ in range(_MAXITER):
        z, pkm2, qkm2, pkm1, qkm1, ans, r, *own_y = window.views()
        w = z.size
        c += 1.0
        if shared:
            y += 1.0
            yc = y * c
        else:
            y = own_y[0]
            np.add(y, 1.0, out=y)
            yc = np.multiply(y, c, out=yc_own[:w])
        np.add(z, 2.0, out=z)
        tmp = product[:w]
        np.multiply(pkm1, z, out=tmp)  # pk = pkm1 * z - pkm2 * yc, over pkm2
        np.multiply(pkm2, yc, out=pkm2)
        pk = np.subtract(tmp, pkm2, out=pkm2)
        np.multiply(qkm1, z, out=tmp)
        np.multiply(qkm2, yc, out=qkm2)
        qk = np.subtract(tmp, qkm2, out=qkm2)
        t = step[:w]
        np.divide(pk, qk, out=r)
        np.subtract(ans, r, out=t)
        np.divide(t, r, out=t)
        np.abs(t, out=t)
        # Where qk == 0 the scalar kernel keeps ans and takes t = 1; there r is infinite or NaN, so
        # t is NaN: one maximum (NaN when any is) looks for them.
        if np.isnan(t.max()):
            zero = qk == 0
            np.copyto(t, 1.0, where=zero)
            np.copyto(r, ans, where=zero)
        # pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk; ans = r (its old array takes the next ratio)
        full = window.work
        window.work = [full[0], full[3], full[4], full[1], full[2], full[6], full[5], *full[7:]]
        if not (pk.max() <= _BIG and pk.min() >= -_BIG):  # (NaN too: then the exact test decides)
            rescale = np.abs(pk) > _BIG
            for v in (pkm1, pk, qkm1, qk):
                np.multiply(v, _BIGINV, out=v, where=rescale)
        np.less_equal(t, _EPS, out=converged[:w])
        if window.settle(converged[:w], r):
            break
    (ans,) = window.results()
    return ans * fac


def _block(a: float | np.ndarray, x: np.ndarray, series: bool) -> np.ndarray:
    """Q(a, x) on a block of elements of one region: ``1 - P`` by the series, or the fraction."""
    fac = _igam_fac(a, x)
    kernel = _series_block if series else _fraction_block
    live = fac != 0.0
    if live.all():
        return kernel(a, x, fac)
    out = np.full_like(x, 1.0 if series else 0.0)  # where the prefactor underflows: 1 - 0.0, and 0.0
    if live.any():
        out[live] = kernel(_pick(a, live), x[live], fac[live])
    return out


def _regions(a: float | np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the scalar kernel takes ``1 - P`` by the series, and where the continued fraction."""
    above = (x > 1.1) & (x < math.inf)  # (not NaN)
    small = (x > 0.0) & (x <= 1.1)
    if not isinstance(a, float) or not (a > 0.0 and a < math.inf):
        shape_regular = (a > 0.0) & (a < math.inf)
        above &= shape_regular
        small &= shape_regular
    series = above & (x < a)
    fraction = above ^ series
    if small.any():
        rows = np.flatnonzero(small)
        xs, as_ = x[rows], _pick(a, rows)
        low = xs <= 0.5
        take = np.empty(rows.size, dtype=bool)
        take[low] = -0.4 / _libm(math.log, xs[low]) < _pick(as_, low)
        mid = ~low
        take[mid] = xs[mid] * 1.1 < _pick(as_, mid)
        series[rows[take]] = True
    return series, fraction


def _bucket(x: np.ndarray, a: float | np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Small integers ordering the elements by region (the top bit), then shape, then ``x / a``.

    For one shape the iterations each recurrence needs change slowly and monotonically with
    ``x / a``: sorted by these keys, a block's elements converge nearly together.
    """
    if isinstance(a, float):  # one byte: 64 steps of x / a in [0, 1) (the series), 64 in [1, 2)
        key = (np.minimum(x, 2.0 * a) * (63.5 / a)).astype(np.uint8)
        key |= fraction.view(np.uint8) << np.uint8(7)
        return key
    ratio = x / (x + a)  # x / a mapped into (0, 1)
    key = np.minimum(ratio * 1024.0, 1023.0).astype(np.uint16)
    key += np.clip(np.log2(a) * 2.0 + 16.0, 0.0, 31.0).astype(np.uint16) << np.uint16(10)
    key += fraction.astype(np.uint16) << np.uint16(15)
    return key


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
    a, x = np.asarray(a, dtype=float), np.asarray(x, dtype=float)
    shape = np.broadcast_shapes(a.shape, x.shape)
    a_given = a  # for the scalar kernel's special values
    # With one shape for all (a chi-square's df), a is a float: the recurrences use it as one.
    a = float(a.ravel()[0]) if a.size == 1 else np.broadcast_to(a, shape).ravel()
    x = np.broadcast_to(x, shape).ravel()
    out = np.empty(x.size)
    series, fraction = _regions(a, x)
    regular = series | fraction
    every = x.size > 0 and bool(regular.all())
    rows = None if every else np.flatnonzero(regular)
    if every or rows.size:
        xr, fr = (x, fraction) if every else (x[rows], fraction[rows])
        ar = a if isinstance(a, float) or every else a[rows]
        if not isinstance(ar, float) and np.all(ar == ar[0]):
            ar = float(ar[0])
        order = np.argsort(_bucket(xr, ar, fr), kind="stable")  # a radix sort of small integers
        n_series = xr.size - int(np.count_nonzero(fr))
        result = np.empty(xr.size)
        with np.errstate(all="ignore"):  # settled elements run on in their window; their values are kept
            for in_series, start, stop in ((True, 0, n_series), (False, n_series, xr.size)):
                for first in range(start, stop, _BLOCK):
                    take = order[first : min(first + _BLOCK, stop)]
                    result[take] = _block(_pick(ar, take), xr[take], in_series)
        if every:
            out = result
        else:
            out[rows] = result
    if not every:  # special values, and the complementary series of small x
        rest = ~regular
        out[rest] = _libm_pairs(special.gammaincc, np.broadcast_to(a_given, shape).ravel()[rest], x[rest])
    return out.reshape(shape)


def _libm_pairs(function, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.fromiter(map(function, a.tolist(), x.tolist()), dtype=float, count=a.size)


__all__ = ["gammaincc"]
