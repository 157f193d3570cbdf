"""Keying audit: items whose data run against their declared key.

After reverse keys are applied (``min + max - x``), every item of a subscale
should correlate positively with the rest of it. An item whose **corrected
item-total correlation** (with the mean of the subscale's other items) is
negative runs the other way: a reverse-keyed item whose data came back
already reversed (the platform reversed it, or the key was applied twice), or
an item that is reverse-keyed in fact but not declared so.

:func:`keying_audit` is computed once, on intake (``score``), and shown by
``score``, ``reliability`` and the report. An item is flagged when its
corrected item-total r is at most :data:`KEYING_THRESHOLD` with at least
:data:`KEYING_MIN_N` respondents answering it and some of the rest; a weak
item near zero is not a keying error and is left to the reliability table's
``r_drop`` below .30.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> trait = rng.normal(size=200)
>>> keyed = pd.DataFrame({f"x{i}": trait + rng.normal(size=200) for i in range(4)})
>>> keyed["x3"] = -keyed["x3"]  # declared reverse-keyed, but its data were reversed already
>>> flags = keying_audit(keyed, {"s": ["x0", "x1", "x2", "x3"]}, reverse={"x3"})
>>> flags[["subscale", "item", "declared_reverse"]].values.tolist()
[['s', 'x3', True]]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

#: A corrected item-total r at or below this is a keying flag.
KEYING_THRESHOLD = -0.10
#: Fewer respondents than this give no flag (the correlation is too unsure).
KEYING_MIN_N = 10
#: The columns of :func:`keying_audit`'s table.
KEYING_COLUMNS = ["subscale", "item", "declared_reverse", "r_drop", "n"]


def corrected_item_total(keyed: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    """Each item's correlation with the mean of the other items (available cases), and its n.

    Parameters
    ----------
    keyed : pandas.DataFrame
        Item values with reverse keys applied.
    items : sequence of str
        The subscale's items (at least two).
    """
    series = [keyed[item] for item in items]
    if all(isinstance(column, pd.Series) and pd.api.types.is_float_dtype(column.dtype) for column in series):
        # Each column as pandas holds it: a float64 column is a view, not a copy of the subscale.
        columns = [column.to_numpy(dtype=float) for column in series]
    else:
        frame = keyed[list(items)]
        if not all(pd.api.types.is_float_dtype(dtype) for dtype in frame.dtypes):
            frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
        values = frame.to_numpy(dtype=float)
        columns = [values[:, j] for j in range(values.shape[1])]
    patterns = _answer_patterns(columns)
    if patterns is not None:
        # Few distinct answer patterns (codes on a short scale): each pattern once, weighted by its count.
        values, weights = patterns
    else:
        values = np.column_stack(columns) if columns else np.empty((len(keyed), 0))
        weights = np.ones(len(values))
    answered = ~np.isnan(values)
    filled = np.where(answered, values, 0.0)
    rows = []
    for j, item in enumerate(items):
        others = [i for i in range(len(items)) if i != j]
        # The mean of the other answered items, summed in column order.
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
                # A constant x or y has no correlation: its variance is 0, and r is NaN.
                r = float(np.corrcoef(x, y)[0, 1]) if patterns is None else _weighted_r(x, y, w)
        rows.append({"item": item, "r_drop": r, "n": n})
    return pd.DataFrame(rows, columns=["item", "r_drop", "n"])


#: The most distinct answer patterns a subscale is tallied by (beyond, each respondent is used as is).
_MAX_PATTERNS = 1 << 16
#: Item values at or beyond this size are used as is (``low - 1`` would no longer be exact).
_EXACT = 2.0**53


def _answer_patterns(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of ``columns`` and their counts, when the values are whole numbers on a short scale.

    Parameters
    ----------
    columns : sequence of numpy.ndarray
        One float64 array per item, all of the same length (``list(values.T)`` for a 2-D array).

    Returns
    -------
    tuple of numpy.ndarray, or None
        The distinct rows (NaN for missing), in the order of their codes (a
        digit per item, the first item the most significant; 0 for missing,
        else the value less the lowest plus 1), and how many respondents gave
        each. None when the values are not whole numbers, not finite, have more
        than :data:`_MAX_PATTERNS` possible patterns (``(high - low + 2) ** m``),
        when fewer than 4096 rows are given, or when a block of
        :data:`_ROW_BLOCK` rows is missing throughout; also when a value reaches
        2**53 in size.

    Notes
    -----
    One pass over the data, a block of rows at a time (the block stays in the
    processor's cache): each block's range is checked, missing values become
    the digit below the lowest, whole numbers are checked, and the rows are
    coded in ``radix``, the largest base whose patterns still number at most
    :data:`_MAX_PATTERNS`. Any base at least ``high - low + 2`` orders the codes
    as the digits do, so the distinct rows come out as with the smallest. The
    lowest value is guessed from the first block, with room either side; a
    later block outside that room is coded again with the true lowest value.
    """
    m = len(columns)
    n = len(columns[0]) if m else 0
    if n < 4 * _MAX_PATTERNS // 64 or m == 0:
        return None
    radix = round(_MAX_PATTERNS ** (1 / m))  # the largest base with radix ** m <= _MAX_PATTERNS
    radix -= radix**m > _MAX_PATTERNS
    radix += (radix + 1) ** m <= _MAX_PATTERNS
    if radix < 2:
        return None  # 17 items or more: even two values a digit make too many patterns
    first = [x[:_ROW_BLOCK] for x in columns]
    low = np.fmin.reduce([np.fmin.reduce(x) for x in first])
    high = np.fmax.reduce([np.fmax.reduce(x) for x in first])
    if not (np.isfinite(low) and np.isfinite(high)):
        return None  # the first block missing throughout (NaN), or an infinite value
    if low != np.floor(low) or high != np.floor(high) or high - low + 2 > radix:
        return None  # a value that is not whole, or more than _MAX_PATTERNS patterns whatever follows
    if max(abs(low), abs(high)) >= _EXACT:
        return None
    # Room either side of the first block's range for values the other blocks may add.
    below = int(low) - 1 - (radix - 2 - int(high - low)) // 2
    coded = _code_rows(columns, below, radix)
    if coded is None:
        # A later block left that room: the true range, then the codes again.
        low = np.fmin.reduce([np.fmin.reduce(x) for x in columns])
        high = np.fmax.reduce([np.fmax.reduce(x) for x in columns])
        if not (np.isfinite(low) and np.isfinite(high)) or (int(high - low) + 2) ** m > _MAX_PATTERNS:
            return None
        if low != np.floor(low) or high != np.floor(high) or max(abs(low), abs(high)) >= _EXACT:
            return None
        below = int(low) - 1
        coded = _code_rows(columns, below, radix)
        if coded is None:
            return None
    if coded is False:
        return None
    code, low, high = coded
    if (int(high - low) + 2) ** m > _MAX_PATTERNS:
        return None
    counts = np.bincount(code, minlength=radix**m)
    present = np.flatnonzero(counts)
    digits = (present[:, None] // radix ** np.arange(m - 1, -1, -1)) % radix
    distinct = np.where(digits == 0, np.nan, digits + float(below)).astype(float)
    return distinct, counts[present].astype(float)


#: Rows of a block in :func:`_answer_patterns` (and the blocks of which none may be missing throughout).
_ROW_BLOCK = 1 << 14


def _code_rows(
    columns: Sequence[np.ndarray], below: int, radix: int
) -> tuple[np.ndarray, float, float] | bool | None:
    """Each row's pattern code in base ``radix``, with ``below`` the value of digit 0 (missing).

    Parameters
    ----------
    columns : sequence of numpy.ndarray
        The items' float64 columns.
    below : int
        The value of digit 0; digit ``k`` is the value ``below + k``.
    radix : int
        The base of the codes (``radix ** len(columns) <= 2**16``).

    Returns
    -------
    tuple, bool or None
        The codes (uint16) and the lowest and highest value; False when the
        values are refused (a value not whole, a block missing throughout); None
        when a value lies outside ``below + 1 .. below + radix - 1``.
    """
    m, n = len(columns), len(columns[0])
    top = below + radix - 1
    # Values of 16 bits are cast as they are and the offset taken from the codes at the end (codes
    # are uint16, so every sum is exact modulo 2**16 and the true codes are below 2**16); wider ones
    # are first shifted to their digits (exact: whole numbers below 2**53).
    shift = 0.0 if below >= -(2**15) and top < 2**15 else float(below)
    size = min(n, _ROW_BLOCK)
    filled, whole = np.empty((m, size)), np.empty((m, size))
    differs, digits = np.empty((m, size), dtype=bool), np.empty((m, size), dtype=np.uint16)
    code = np.empty(n, dtype=np.uint16)
    weights = (radix ** np.arange(m - 1, -1, -1)).astype(np.uint16)  # radix ** m may be 2**16 itself
    lows, highs = [], []
    for s in range(0, n, _ROW_BLOCK):
        e = min(n, s + _ROW_BLOCK)
        g, t, d, part = filled[:, : e - s], whole[:, : e - s], digits[:, : e - s], code[s:e]
        for j, x in enumerate(columns):
            block = x[s:e]
            low = np.fmin.reduce(block)  # NaN when the item is missing throughout the block
            if low <= below:
                return None
            lows.append(low)
            np.fmax(block, below, out=g[j])  # missing: the digit below the lowest value
        high = np.fmax.reduce(g, axis=None)
        if high > top:
            return None
        if high == below:
            return False  # every item missing throughout the block
        highs.append(high)
        np.trunc(g, out=t)
        if np.not_equal(g, t, out=differs[:, : e - s]).any():
            return False  # a value that is not a whole number
        if shift:
            t -= shift
        np.copyto(d if shift else d.view(np.int16), t, casting="unsafe")
        np.einsum("j,ji->i", weights, d, out=part)  # sums of products, modulo 2**16
    offset = int(below - shift) * sum(radix**k for k in range(m))
    code -= np.uint16(offset % (1 << 16))
    return code, np.fmin.reduce(lows), np.fmax.reduce(highs)


def _weighted_r(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson's r of ``x`` and ``y`` with each pair counted ``w`` times (centred first, as corrcoef)."""
    dx = x - (w @ x) / w.sum()
    dy = y - (w @ y) / w.sum()
    return float(np.clip((w * dx) @ dy / np.sqrt(((w * dx) @ dx) * ((w * dy) @ dy)), -1, 1))


def keying_audit(
    keyed: pd.DataFrame,
    subscales: Mapping[str, Sequence[str]],
    reverse: Collection[str],
    *,
    threshold: float = KEYING_THRESHOLD,
    min_n: int = KEYING_MIN_N,
) -> pd.DataFrame:
    """The items whose corrected item-total r has the opposite sign to their declared key.

    Parameters
    ----------
    keyed : pandas.DataFrame
        Item values with the declared reverse keys applied.
    subscales : mapping
        Subscale id -> its items; subscales of fewer than three items are
        skipped (with two, each item's "rest" is the other item, and a
        negative r cannot say which of the two is mis-keyed).
    reverse : collection of str
        The items declared reverse-keyed.
    threshold, min_n
        See :data:`KEYING_THRESHOLD` and :data:`KEYING_MIN_N`.

    Returns
    -------
    pandas.DataFrame
        One row per flagged item: ``subscale``, ``item``,
        ``declared_reverse``, ``r_drop``, ``n``. Empty when every item runs
        with its subscale.
    """
    rows = []
    for sid, items in subscales.items():
        items = [i for i in items if i in keyed.columns]
        if len(items) < 3:
            continue
        table = corrected_item_total(keyed, items)
        for row in table.itertuples(index=False):
            if row.n >= min_n and np.isfinite(row.r_drop) and row.r_drop <= threshold:
                rows.append([sid, row.item, row.item in reverse, row.r_drop, row.n])
    return pd.DataFrame(rows, columns=KEYING_COLUMNS)


def keying_message(row: Mapping) -> str:
    """One flag in words, naming the item, its subscale, the r and what to check."""
    r = f"{row['r_drop']:.2f}"
    if row["declared_reverse"]:
        why = (
            "it is declared reverse-keyed, but after reversing it runs against the rest: its data look "
            "reversed already (by the platform or an earlier step), or it is not reverse-keyed"
        )
    else:
        why = (
            "it is not declared reverse-keyed, but it runs against the rest: it looks reverse-keyed "
            "(add reverse: true to the definition) or the platform reversed it"
        )
    return (
        f"keying: item {row['item']!r} of {row['subscale']} has corrected item-total r = {r} "
        f"(n = {row['n']}); {why}"
    )


__all__ = [
    "KEYING_COLUMNS",
    "KEYING_MIN_N",
    "KEYING_THRESHOLD",
    "corrected_item_total",
    "keying_audit",
    "keying_message",
]
