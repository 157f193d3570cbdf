"""stats.gamma_arrays.gammaincc gives special.gammaincc's numbers to the last bit, over arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdt_survey.stats import gamma_arrays, special
from sdt_survey.stats.probability import chi2_sf

# ---------------------------------------------------------------------------------------------
# The reference: stats.gamma_arrays as it was before the sorted blocks (issue 17), kept verbatim
# (blocks of 8,192 in the given order, compacted at half settled). Its numbers equal the scalar
# kernel's; the current module must give the same bits, on every element.
# ---------------------------------------------------------------------------------------------

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


def _reference(a, x) -> np.ndarray:
    """Q(a, x) on each pair of ``a`` and ``x`` (broadcast), as gamma_arrays.gammaincc gave it."""
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


# ---------------------------------------------------------------------------------------------


def _scalar(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.array([special.gammaincc(float(s), float(v)) for s, v in zip(a, x, strict=True)])


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    return bool(np.all((got == want) | (np.isnan(got) & np.isnan(want))))


@pytest.mark.parametrize("a", [1e-3, 0.5, 1.0, 2.5, 12.0, 50.0, 300.0])
def test_each_region_to_the_bit(a):
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.random(3000) * a * 4,
            rng.random(500) * 1.2,  # the small-x regions (series, complementary series)
            rng.exponential(a, 3000),
            [0.0, -1.0, np.inf, np.nan, 1e-300, 1e5, a, 0.5, 1.1],
        ]
    )
    assert _same(gamma_arrays.gammaincc(a, x), _scalar(np.full_like(x, a), x))


def test_shapes_and_arguments_broadcast():
    rng = np.random.default_rng(8)
    a = rng.random((40, 1)) * 30
    x = rng.random((1, 50)) * 60
    got = gamma_arrays.gammaincc(a, x)
    full_a, full_x = np.broadcast_arrays(a, x)
    assert got.shape == (40, 50)
    assert _same(got.ravel(), _scalar(full_a.ravel(), full_x.ravel()))
    assert _same(gamma_arrays.gammaincc([np.nan, 0.0, 3.0], [1.0, 1.0, 0.0]), np.array([np.nan, 0.0, 1.0]))


def test_chi2_sf_on_an_array_equals_it_on_each_value():
    # The Mahalanobis p of the careless indices: 24 items, many complete respondents.
    rng = np.random.default_rng(9)
    d2 = np.concatenate([rng.chisquare(24, 20_000), [0.0, 1e-9, 300.0, 2000.0]])
    assert _same(chi2_sf(d2, 24), np.array([float(chi2_sf(float(v), 24)) for v in d2]))


def test_the_benchmark_equals_the_reference_to_the_bit():
    # The benchmark: the Mahalanobis p of ~481,000 complete respondents over 24 items.
    d2 = np.random.default_rng(0).chisquare(24, 481_674)
    x = np.maximum(d2, 0.0) / 2.0
    got = chi2_sf(d2, 24)
    assert np.array_equal(got, _reference(12.0, x), equal_nan=True)
    every = slice(None, None, 97)
    assert np.array_equal(got[every], _scalar(np.full(x[every].size, 12.0), x[every]), equal_nan=True)


def _mixed_arguments(rng: np.random.Generator, a: float) -> np.ndarray:
    return np.concatenate(
        [
            rng.random(2000) * a * 4,
            a * (1.0 + rng.normal(0.0, 1e-3, 500)),  # x near a: the two main regions meet
            a * (1.0 + np.array([-1e-15, -1e-16, 0.0, 1e-16, 1e-15])),
            rng.random(300) * 1.2,
            np.nextafter(np.array([0.5, 0.5, 1.1, 1.1]), [0.0, 1.0, 0.0, 1.0]),
            10.0 ** rng.uniform(-300, -1, 100),  # tiny x
            10.0 ** rng.uniform(1, 6, 300),  # large x: the prefactor underflows far out
            [0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 1e-300, 5e-324, 1e308, a],
        ]
    )


@pytest.mark.parametrize("a", [0.5, 1.0, 2.5, 12.0, 50.0])
def test_one_shape_equals_the_reference_and_the_scalar_kernel(a):
    rng = np.random.default_rng(int(a * 10))
    x = rng.permutation(_mixed_arguments(rng, a))
    got = gamma_arrays.gammaincc(a, x)
    assert np.array_equal(got, _reference(a, x), equal_nan=True)
    assert np.array_equal(got, _scalar(np.full_like(x, a), x), equal_nan=True)


def test_shapes_that_differ_equal_the_reference_and_the_scalar_kernel():
    rng = np.random.default_rng(11)
    shapes = np.array([1e-3, 0.5, 1.0, 2.5, 12.0, 50.0, 300.0])
    x = np.concatenate([_mixed_arguments(rng, a) for a in (0.5, 12.0, 50.0)])
    a = np.concatenate(
        [rng.choice(shapes, x.size - 200), rng.uniform(0.01, 80.0, 100), [np.nan, np.inf, 0.0, -1.0] * 25]
    )
    a, x = rng.permutation(a), rng.permutation(x)
    got = gamma_arrays.gammaincc(a, x)
    assert np.array_equal(got, _reference(a, x), equal_nan=True)
    assert np.array_equal(got, _scalar(a, x), equal_nan=True)


def test_one_value_repeated_as_an_array_is_taken_as_one_shape():
    x = np.random.default_rng(12).chisquare(24, 30_000) / 2.0
    a = np.full_like(x, 12.0)
    assert np.array_equal(gamma_arrays.gammaincc(a, x), _reference(a, x), equal_nan=True)
    assert gamma_arrays.gammaincc(12.0, np.empty(0)).shape == (0,)
    assert gamma_arrays.gammaincc(np.full((2, 0), 3.0), 1.0).shape == (2, 0)


@pytest.mark.parametrize("order", ["shuffled", "reversed"])
def test_the_order_only_saves_time(monkeypatch, order):
    # Blocks in an order that does not follow the iterations: the windows stay wide, stragglers
    # make them sparse (compaction), small blocks split the regions. The numbers do not change.
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.chisquare(24, 20_000) / 2.0, _mixed_arguments(rng, 12.0)])
    a = np.where(rng.random(x.size) < 0.5, 12.0, rng.choice([0.5, 2.5, 50.0], x.size))
    want = _reference(a, x)

    def bucket(x, a, fraction):
        key = rng.integers(0, 1 << 15, x.size).astype(np.uint16) if order == "shuffled" else None
        if key is None:
            key = (np.argsort(np.argsort(-x, kind="stable")) >> 4).astype(np.uint16) & np.uint16(0x7FFF)
        return key + (fraction.astype(np.uint16) << np.uint16(15))

    monkeypatch.setattr(gamma_arrays, "_bucket", bucket)
    monkeypatch.setattr(gamma_arrays, "_BLOCK", 1000)
    for shape in (a, 12.0):
        reference = want if shape is a else _reference(12.0, x)
        assert np.array_equal(gamma_arrays.gammaincc(shape, x), reference, equal_nan=True)


def _series_stop(a: float, x: float) -> int:
    """The step at which special._igam_series breaks (its loop, counting steps)."""
    r, c, total = a, 1.0, 1.0
    for step in range(10_000):
        r += 1.0
        c *= x / r
        total += c
        if c <= 2.220446049250313e-16 * total:
            return step
    return 9_999


def _log1pmx_stop(t: float) -> int:
    """The term at which special.log1pmx's series breaks."""
    term, total = t, 0.0
    for k in range(2, 200):
        term *= -t
        add = term / k
        total += add
        if abs(add) <= 2.220446049250313e-16 * abs(total):
            return k
    return 199


def test_the_first_tested_step_is_never_after_any_element_stops():
    # The loops skip the convergence test before the step these bounds give: it must never be
    # later than the step at which any element of the range stops, on the ranges' edges and inside.
    rng = np.random.default_rng(14)
    for _ in range(300):
        a = np.sort(rng.choice([0.5, 2.5, 12.0, 50.0, 300.0], 2) * rng.uniform(0.5, 2.0, 2))
        if rng.random() < 0.5:
            a[:] = a[0]
        x = np.sort(rng.uniform(0.01, 1.0, 2) * a[0])
        first = gamma_arrays._series_first_check(a[0], a[1], x[0], x[1])
        inside = [(a[0], x[0]), (a[1], x[0]), (a[0], x[1]), (a[1], x[1])]
        inside += list(zip(rng.uniform(a[0], a[1], 20), rng.uniform(x[0], x[1], 20), strict=True))
        assert first <= min(_series_stop(s, v) for s, v in inside)
        t = np.sort(rng.uniform(0.0, 0.5, 2) ** rng.choice([1, 3, 10]))
        first = gamma_arrays._log1pmx_first_check(t[0], t[1])
        assert first <= min(_log1pmx_stop(s * v) for v in np.linspace(t[0], t[1], 20) for s in (1, -1))
    # The bounds are tight enough to save work on the benchmark's ranges.
    assert gamma_arrays._series_first_check(12.0, 12.0, 9.0, 9.5) >= 25
    assert gamma_arrays._log1pmx_first_check(0.3, 0.31) >= 20
    assert gamma_arrays._log1pmx_first_check(1e-120, 0.3) == 2


def _fraction_loop(a: float, x: float) -> float:
    """special._igamc_continued_fraction's loop, without its prefactor (any a and x)."""
    y, z, c = 1.0 - a, x + (1.0 - a) + 1.0, 0.0
    pkm2, qkm2, pkm1, qkm1 = 1.0, x, x + 1.0, (x + (1.0 - a) + 1.0) * x
    ans = pkm1 / qkm1
    for _ in range(10_000):
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
        if abs(pk) > 4.503599627370496e15:
            pkm2, pkm1, qkm2, qkm1 = (v * 2.22044604925031308085e-16 for v in (pkm2, pkm1, qkm2, qkm1))
        if t <= 2.220446049250313e-16:
            break
    return ans


def test_a_zero_denominator_keeps_the_last_convergent():
    # With a = 3 - k**2 and x = a - 3 - k (k = 1: a = 2, x = -2) the first new denominator is 0:
    # the scalar loop keeps its convergent and goes on; the arrays must too (outside the domain,
    # the same recurrence).
    rng = np.random.default_rng(15)
    k = np.arange(1.0, 8.0)
    a = np.concatenate([np.full(300, 2.0), 3.0 - k**2])
    x = np.concatenate([rng.uniform(2.0, 40.0, 300), 3.0 - k**2 - 3.0 - k])
    a, x = a[order := rng.permutation(a.size)], x[order]
    with np.errstate(all="ignore"):
        got = gamma_arrays._fraction_block(a, x, np.ones_like(x))
        shared = gamma_arrays._fraction_block(2.0, x[a == 2.0], np.ones(np.count_nonzero(a == 2.0)))
    assert np.array_equal(got, [_fraction_loop(s, v) for s, v in zip(a, x, strict=True)])
    assert np.array_equal(shared, got[a == 2.0])
