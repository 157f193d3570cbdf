"""The row-wise careless indices and Mahalanobis' distance give the bits they gave before (issue 17).

The kernels were rewritten for speed: the longest run in small whole numbers,
the half means of the even-odd index from one stacked block, the complete rows
of Mahalanobis' distance taken in one step. The reference below is the code
they replaced, verbatim; every index must equal it to the bit on data of every
shape the kernels branch on (halves padded or not, fewer or more than eight
subscales, more than 255 items, negative, fractional and signed-zero values,
rows with no answers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdt_survey.scoring import careless

# --- the reference: the code before the rewrite ---------------------------------------------------


def _ref_rowwise(answers, keyed_columns, halves, n, block):
    longest, irv, evenodd = np.empty(n), np.empty(n), np.full(n, np.nan)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        longest[rows], irv[rows] = _ref_longstring_irv(np.stack([column[rows] for column in answers]))
        if halves is not None:
            evenodd[rows] = _ref_even_odd(
                {c: v[rows] for c, v in keyed_columns.items()}, halves, rows.stop - start
            )
    return longest, irv, evenodd


def _ref_longstring_irv(x):
    k, n = x.shape
    valid = ~np.isnan(x)
    run = np.zeros(n)
    longest = np.zeros(n)
    for j in range(k):
        if j:
            np.multiply(run, x[j] == x[j - 1], out=run)
        run += 1
        run *= valid[j]
        np.maximum(longest, run, out=longest)
    answered = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=0) / answered
        deviation = x - mean
        np.square(deviation, out=deviation)
        ss = np.where(valid, deviation, 0.0).sum(axis=0)
        irv = np.where(answered >= 2, np.sqrt(ss / (answered - 1)), np.nan)
    return longest, irv


def _ref_even_odd(values, halves, n):
    if len(halves) >= 8:
        return _ref_even_odd_wide(values, halves, n)
    a = np.empty((len(halves), n))
    b = np.empty((len(halves), n))
    with np.errstate(invalid="ignore", divide="ignore"):
        for p, (odd, even) in enumerate(halves):
            a[p] = _ref_row_mean(values, odd, n)
            b[p] = _ref_row_mean(values, even, n)
        both = ~np.isnan(a) & ~np.isnan(b)
        count = both.sum(axis=0)
        da = np.where(both, a - (np.where(both, a, 0.0).sum(axis=0) / count), 0.0)
        db = np.where(both, b - (np.where(both, b, 0.0).sum(axis=0) / count), 0.0)
        r = (da * db).sum(axis=0) / np.sqrt((da**2).sum(axis=0) * (db**2).sum(axis=0))
        corrected = np.sign(r) * 2 * np.abs(r) / (1 + np.abs(r))
    return np.where(count >= 3, corrected, np.nan)


def _ref_even_odd_wide(values, halves, n):
    a = np.empty((n, len(halves)))
    b = np.empty((n, len(halves)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for p, (odd, even) in enumerate(halves):
            a[:, p] = _ref_row_mean(values, odd, n)
            b[:, p] = _ref_row_mean(values, even, n)
        both = ~np.isnan(a) & ~np.isnan(b)
        count = both.sum(axis=1)
        da = np.where(both, a - (np.where(both, a, 0.0).sum(axis=1) / count)[:, None], 0.0)
        db = np.where(both, b - (np.where(both, b, 0.0).sum(axis=1) / count)[:, None], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
        corrected = np.sign(r) * 2 * np.abs(r) / (1 + np.abs(r))
    return np.where(count >= 3, corrected, np.nan)


def _ref_row_mean(values, columns, n):
    total = np.zeros(n)
    count = np.zeros(n)
    for j in columns:
        answered = ~np.isnan(values[j])
        total += np.where(answered, values[j], 0.0)
        count += answered
    return total / count


def _ref_mahalanobis(columns):
    n, k = len(columns[0]), len(columns)
    complete = np.ones(n, dtype=bool)
    for column in columns:
        complete &= ~np.isnan(column)
    if complete.sum() <= k:
        return np.full(n, np.nan), np.full(n, np.nan)
    rows = np.flatnonzero(complete)
    gathered = np.empty((k, len(rows)))
    for j, column in enumerate(columns):
        np.take(column, rows, out=gathered[j])
    data = np.ascontiguousarray(gathered.T)
    distance = careless.complete_row_distances(data)
    return careless.mahalanobis_columns(distance, complete, k)


# --- the data --------------------------------------------------------------------------------------


def _data(n: int, sizes: list[int], kind: str, seed: int) -> tuple[pd.DataFrame, list[tuple[list, list]]]:
    """Answers to subscales of the given sizes, and the odd/even halves of each."""
    rng = np.random.default_rng(seed)
    k = sum(sizes)
    if kind == "codes":
        x = rng.integers(1, 6, size=(n, k)).astype(float)
    elif kind == "negative":
        x = rng.integers(-3, 4, size=(n, k)).astype(float)
        x[rng.random(x.shape) < 0.05] = -0.0
    elif kind == "infinite":
        x = rng.integers(1, 6, size=(n, k)).astype(float)
        x[rng.random(x.shape) < 0.002] = np.inf
        x[rng.random(x.shape) < 0.002] = -np.inf
    else:  # fractional
        x = np.round(rng.normal(0, 2, size=(n, k)), rng.integers(0, 4))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[::17] = x[::17, :1]  # straight-liners
    x[3] = np.nan  # no answers
    x[4, 1:] = np.nan  # one answer
    ids = [f"i{j}" for j in range(k)]
    frame = pd.DataFrame(x, columns=ids)
    halves, start = [], 0
    for size in sizes:
        items = ids[start : start + size]
        halves.append((items[0::2], items[1::2]))
        start += size
    return frame, halves


CASES = [
    pytest.param([4] * 6, "codes", id="six-subscales-of-four"),
    pytest.param([3, 5, 2, 4], "codes", id="padded-halves"),
    pytest.param([4] * 9, "negative", id="nine-subscales-pairwise"),
    pytest.param([3, 2, 6, 5, 2, 3, 4, 7], "fractional", id="eight-padded-fractional"),
    pytest.param([2, 2, 2], "negative", id="three-pairs"),
    pytest.param([300], "codes", id="more-than-255-items"),
    pytest.param([4] * 6, "infinite", id="infinite-answers"),
]


@pytest.mark.parametrize("block", [5, 1 << 13])
@pytest.mark.parametrize(("sizes", "kind"), CASES)
def test_rowwise_indices_equal_the_code_they_replaced(monkeypatch, sizes, kind, block):
    frame, halves = _data(997, sizes, kind, seed=len(sizes))
    monkeypatch.setattr(careless, "ROW_BLOCK", block)
    answers = [frame[c].to_numpy() for c in frame.columns]
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    usable = halves if len(halves) >= 3 else None
    got = (
        *careless._runs_and_spread(answers, len(frame)),
        careless._even_odd_index(columns, usable, len(frame)),
    )
    expected = _ref_rowwise(answers, columns, usable, len(frame), block)
    for name, g, e in zip(("longstring", "irv", "evenodd"), got, expected, strict=True):
        assert np.array_equal(g, e, equal_nan=True), name
        assert g.dtype == e.dtype == float
    if sizes == [300]:
        assert got[0].max() == 300  # a run longer than a byte holds


@pytest.mark.parametrize(("sizes", "kind"), CASES[:4])
def test_mahalanobis_equals_the_code_it_replaced(sizes, kind):
    frame, _ = _data(2000, sizes, kind, seed=7)
    frame = frame.where(np.random.default_rng(3).random(frame.shape) > 0.01 / frame.shape[1])
    order = list(frame.columns)
    expected = _ref_mahalanobis([frame[c].to_numpy() for c in order])
    # Held as one block in the same order, and as a table whose columns run in another order.
    for table in (frame, frame[order[::-1]]):
        values = table.to_numpy()
        got = careless._mahalanobis(values, table.columns.get_indexer(order))
        for g, e in zip(got, expected, strict=True):
            assert np.array_equal(g, e, equal_nan=True)
    assert np.isfinite(expected[0]).sum() > 100
