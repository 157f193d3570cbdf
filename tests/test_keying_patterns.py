"""The keying audit's answer patterns give what they gave before, to the bit (issue 17).

``_answer_patterns`` now reads each item's column as pandas holds it and codes
the rows in one blocked pass (uint16 codes in the largest base, one bincount),
guessing the lowest value from the first block. The distinct rows, their order,
their counts and every refusal (None) must stay those of the code it replaced,
kept below as the reference; so must ``corrected_item_total``'s table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from sdt_survey.stats import keying

# --- the reference: the code before issue 17, copied unchanged -----------------------------------

_MAX_PATTERNS = 1 << 16
_ROW_BLOCK = 1 << 14


def reference_answer_patterns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    n, m = values.shape
    if n < 4 * _MAX_PATTERNS // 64 or m == 0:
        return None
    blocks = range(0, n, _ROW_BLOCK)
    low = np.fmin.reduce([np.fmin.reduce(values[s : s + _ROW_BLOCK], axis=None) for s in blocks])
    high = np.fmax.reduce([np.fmax.reduce(values[s : s + _ROW_BLOCK], axis=None) for s in blocks])
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    base = int(high - low) + 2
    if base**m > _MAX_PATTERNS:
        return None
    for s in blocks:
        block = values[s : s + _ROW_BLOCK]
        if np.fmax.reduce(block - np.floor(block), axis=None) != 0:
            return None
    counts = np.zeros(base**m, dtype=np.int64)
    for s in blocks:
        block = values[s : s + _ROW_BLOCK]
        code = np.zeros(len(block), dtype=np.int64)
        for j in range(m):
            digit = block[:, j] - (low - 1)
            digit[np.isnan(digit)] = 0.0
            code *= base
            code += digit.astype(np.int64)
        counts += np.bincount(code, minlength=base**m)
    present = np.flatnonzero(counts)
    digits = (present[:, None] // base ** np.arange(m - 1, -1, -1)) % base
    distinct = np.where(digits == 0, np.nan, digits + (low - 1)).astype(float)
    return distinct, counts[present].astype(float)


def reference_weighted_r(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    dx = x - (w @ x) / w.sum()
    dy = y - (w @ y) / w.sum()
    return float(np.clip((w * dx) @ dy / np.sqrt(((w * dx) @ dx) * ((w * dy) @ dy)), -1, 1))


def reference_corrected_item_total(keyed: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    frame = keyed[list(items)]
    if not all(pd.api.types.is_float_dtype(dtype) for dtype in frame.dtypes):
        frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    values = frame.to_numpy(dtype=float)
    patterns = reference_answer_patterns(values)
    if patterns is not None:
        values, weights = patterns
    else:
        weights = np.ones(len(values))
    answered = ~np.isnan(values)
    filled = np.where(answered, values, 0.0)
    rows = []
    for j, item in enumerate(items):
        others = [i for i in range(len(items)) if i != j]
        total = np.zeros(len(values))
        count = np.zeros(len(values))
        for i in others:
            total += filled[:, i]
            count += answered[:, i]
        both = answered[:, j] & (count > 0)
        x, y, w = values[both, j], total[both] / count[both], weights[both]
        n = int(w.sum())
        r = float("nan")
        if n >= 3:
            with np.errstate(invalid="ignore", divide="ignore"):
                r = float(np.corrcoef(x, y)[0, 1]) if patterns is None else reference_weighted_r(x, y, w)
        rows.append({"item": item, "r_drop": r, "n": n})
    return pd.DataFrame(rows, columns=["item", "r_drop", "n"])


# --- the comparison ----------------------------------------------------------------------------


def _same(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """New and reference patterns of ``values`` agree to the bit; also the corrected item-total table."""
    new = keying._answer_patterns(list(values.T))
    old = reference_answer_patterns(values)
    assert (new is None) == (old is None)
    if new is not None:
        for got, expected in zip(new, old, strict=True):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            assert np.array_equal(got, expected, equal_nan=True)
    frame = pd.DataFrame(values, columns=[f"x{j}" for j in range(values.shape[1])])
    pd.testing.assert_frame_equal(
        keying.corrected_item_total(frame, list(frame.columns)),
        reference_corrected_item_total(frame, list(frame.columns)),
        check_exact=True,
    )
    return new


def _items(n: int, m: int, low: int, high: int, seed: int, missing: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=n)
    values = np.clip(np.round(trait[:, None] * (high - low) / 4 + rng.normal(size=(n, m))), low, high)
    values += (low + high) // 2 - np.round(values.mean())
    values = np.clip(values, low, high)
    values[rng.random(values.shape) < missing] = np.nan
    return values


@pytest.mark.parametrize("n", [500, 4095, 4096, 16_384, 20_000, 50_001])
@pytest.mark.parametrize(("low", "high"), [(1, 5), (0, 10), (-2, 2)])
def test_patterns_equal_the_reference_on_short_scales(n, low, high):
    patterns = _same(_items(n, 4, low, high, seed=n + low))
    assert (patterns is None) == (n < 4096)


@pytest.mark.parametrize("m", [2, 3, 5, 6, 8])
def test_patterns_equal_the_reference_for_any_number_of_items(m):
    _same(_items(30_000, m, 1, 5, seed=m, missing=0.2))
    _same(_items(30_000, m, 1, 7, seed=m))  # 8 ** 6 is too many patterns: the reference refuses too


@pytest.mark.parametrize(
    "fault",
    [
        2.5,  # half
        1 + 2.0**-52,  # the least fraction above 1
        -(2.0**-1000),  # a tiny negative number
        np.inf,
        -np.inf,
        100.0,  # too many patterns
    ],
)
@pytest.mark.parametrize("row", [0, 17, 40_000])
def test_a_single_odd_value_is_refused_as_before(fault, row):
    values = _items(50_000, 4, 1, 5, seed=3)
    values[row, 2] = fault
    assert _same(values) is None


def test_values_outside_the_first_blocks_range_are_coded_again(monkeypatch):
    """The first block holds 2..4 only; later blocks reach 1 and 9 (within the room left), then 14 or -8."""
    tried = []
    code_rows = keying._code_rows

    def recording(*args):
        tried.append(code_rows(*args))
        return tried[-1]

    monkeypatch.setattr(keying, "_code_rows", recording)
    values = _items(60_000, 4, 2, 4, seed=5)
    values[20_000:, 0] = np.clip(values[20_000:, 0] - 1, 1, 5)
    values[50_000, 3] = 9.0
    assert _same(values) is not None and all(result is not None for result in tried)  # once per call
    for odd in (14.0, -8.0):
        tried.clear()
        values[50_000, 3] = odd
        assert _same(values) is not None
        assert tried[0] is None and tried[1] is not None  # coded again with the true lowest value


def test_missing_throughout():
    values = _items(50_000, 4, 1, 5, seed=6)
    values[:, 1] = np.nan  # an item nobody answered
    assert _same(values) is not None
    values[:, :] = np.nan
    assert _same(values) is None
    values = _items(50_000, 4, 1, 5, seed=6)
    values[16_384:32_768] = np.nan  # one block of rows missing throughout: refused, as before
    assert _same(values) is None
    values = _items(40_000, 4, 1, 5, seed=6)
    values[: 1 << 14] = np.nan  # the first block
    assert _same(values) is None
    values = _items(40_000, 4, 1, 5, seed=6)
    values[32_768:] = np.nan  # the last, short block
    assert _same(values) is None
    values[-1, 0] = 3.0
    assert _same(values) is not None


def test_a_single_pattern_and_wide_codes():
    values = np.full((10_000, 4), 3.0)
    patterns = _same(values)
    assert patterns is not None and len(patterns[1]) == 1 and patterns[1][0] == 10_000
    # Whole numbers beyond 16 bits: the digits are found by shifting first.
    _same(_items(20_000, 4, 1, 5, seed=8) + 40_000)
    _same(_items(20_000, 4, 1, 5, seed=8) - 2.0**40)
    _same(-_items(20_000, 3, 1, 30, seed=8))


def test_smaller_blocks_give_the_same(monkeypatch):
    monkeypatch.setattr(keying, "_ROW_BLOCK", 1000)
    monkeypatch.setattr(sys.modules[__name__], "_ROW_BLOCK", 1000)
    values = _items(12_345, 4, 0, 10, seed=9)
    assert _same(values) is not None
    values[3000:4000] = np.nan
    assert _same(values) is None


def test_huge_values_are_used_as_is():
    """At 2**53 and beyond ``low - 1`` is not exact (the old code coded the lowest value as missing)."""
    values = _items(20_000, 4, 1, 5, seed=10) + 2.0**60
    assert keying._answer_patterns(list(values.T)) is None


def test_non_float_columns_keep_their_table():
    values = _items(20_000, 4, 1, 5, seed=11)
    frame = pd.DataFrame(values, columns=list("abcd")).astype({"a": "Float64", "b": object})
    frame.loc[7, "b"] = "x"
    pd.testing.assert_frame_equal(
        keying.corrected_item_total(frame, list("abcd")),
        reference_corrected_item_total(frame, list("abcd")),
        check_exact=True,
    )
