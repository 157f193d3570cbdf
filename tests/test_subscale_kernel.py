"""Subscale and composite scores give the bits they gave before (issue 17).

``subscale_scores`` now fills missing answers with zero by ``fmax`` where no
value is negative, counts them in whole numbers, adds a composite's parts in
order and writes every score into one block. The reference below is the code
it replaced, verbatim; the scores must equal it to the bit for every kind of
value the fast paths branch on (positive codes, scales with 0, negative and
fractional values, negative zeros), subscales and composites shorter and
longer than the eight values from which numpy sums a row pairwise, and the
``sum`` and ``mean`` methods.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sdt_survey.scoring import scores
from sdt_survey.scoring.scores import subscale_scores
from sdt_survey.stats.masks import fmax_fills


def _reference(keyed, instruments, block):
    subscales = [sub for inst in instruments for sub in inst.subscales.values()]
    n = len(keyed)
    columns = {}
    short = [sub for sub in subscales if 0 < len(sub.items) < 8]
    cells = {item: keyed[item].to_numpy(dtype=float) for sub in short for item in sub.items}
    for sub in short:
        columns[sub.id] = np.empty(n)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        for sub in short:
            first = cells[sub.items[0]][rows]
            answered = ~np.isnan(first)
            total, count = np.where(answered, first, 0.0), answered.astype(np.int64)
            for item in sub.items[1:]:
                answered = ~np.isnan(cells[item][rows])
                total += np.where(answered, cells[item][rows], 0.0)
                count += answered
            columns[sub.id][rows] = _reference_score(sub, total, count)
    for sub in subscales:
        if sub.id not in columns:
            values = keyed[list(sub.items)].to_numpy(dtype=float)
            answered = ~np.isnan(values)
            columns[sub.id] = _reference_score(
                sub, np.where(answered, values, 0.0).sum(axis=1), answered.sum(axis=1)
            )
    out = {}
    for inst in instruments:
        for sub in inst.subscales.values():
            out[sub.id] = columns[sub.id]
        for comp in inst.composites.values():
            stacked = np.column_stack([out[s] for s in comp.of])
            out[comp.id] = stacked.sum(axis=1) if comp.method == "sum" else stacked.mean(axis=1)
    return pd.DataFrame(out, index=keyed.index)


def _reference_score(sub, total, count):
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    score = np.where(count >= sub.min_items, mean, np.nan)
    return score * len(sub.items) if sub.method == "sum" else score


def _instrument(sizes, composites):
    """A stand-in instrument: subscales s0, s1, ... of the given sizes, and composites of them."""
    subscales, start = {}, 0
    for j, size in enumerate(sizes):
        items = [f"i{k}" for k in range(start, start + size)]
        method = "sum" if j % 3 == 2 else "mean"
        subscales[f"s{j}"] = SimpleNamespace(
            id=f"s{j}", items=items, min_items=max(1, size - 1), method=method
        )
        start += size
    comps = {
        f"c{j}": SimpleNamespace(id=f"c{j}", of=[f"s{k}" for k in of], method=method)
        for j, (of, method) in enumerate(composites)
    }
    return SimpleNamespace(subscales=subscales, composites=comps), start


def _values(n, k, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "codes":
        x = rng.integers(1, 6, size=(n, k)).astype(float)
    elif kind == "from-zero":
        x = rng.integers(0, 5, size=(n, k)).astype(float)
    elif kind == "negative":
        x = rng.integers(-3, 4, size=(n, k)).astype(float)
    elif kind == "negative-zero":
        x = rng.integers(0, 3, size=(n, k)).astype(float)
        x[x == 0] = -0.0
    else:  # fractional, of every magnitude
        x = rng.normal(size=(n, k)) * 10.0 ** rng.integers(-3, 4, size=(n, k))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[7] = np.nan
    return x


SHAPES = [
    pytest.param([4] * 6, [([0, 1, 2], "mean"), ([3, 4, 5], "mean"), ([0, 5], "sum")], id="bpn-like"),
    pytest.param([1, 3, 8, 10, 2, 7], [([0], "mean"), ([2, 3], "sum"), ([0, 1, 4, 5], "mean")], id="long"),
    pytest.param(
        [2] * 10, [(list(range(8)), "mean"), (list(range(9)), "sum"), ([1, 2], "mean")], id="pairwise"
    ),
]


@pytest.mark.parametrize("kind", ["codes", "from-zero", "negative", "negative-zero", "fractional"])
@pytest.mark.parametrize(("sizes", "composites"), SHAPES)
@pytest.mark.parametrize("block", [6, 1 << 14])
def test_subscale_scores_equal_the_code_they_replaced(monkeypatch, sizes, composites, kind, block):
    instrument, k = _instrument(sizes, composites)
    keyed = pd.DataFrame(_values(1501, k, kind, seed=k), columns=[f"i{j}" for j in range(k)])
    monkeypatch.setattr(scores, "ROW_BLOCK", block)
    got = subscale_scores(keyed, [instrument])
    expected = _reference(keyed, [instrument], block)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for column in got.columns:  # the sign of every zero too
        assert np.array_equal(np.signbit(got[column]), np.signbit(expected[column])), column


def test_fmax_fills_only_where_fmax_gives_the_same_bits():
    for values in ([1.0, np.nan, 5.0], [0.0, 2.0, np.nan], [np.nan], []):
        column = np.array(values)
        assert fmax_fills(column)
        assert np.array_equal(np.fmax(column, 0.0), np.where(np.isnan(column), 0.0, column))
    for values in ([1.0, -1.0], [-0.0, 1.0], [np.nan, -5.0]):
        assert not fmax_fills(np.array(values))
