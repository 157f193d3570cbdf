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
    frame = keyed[list(items)]
    if not all(pd.api.types.is_float_dtype(dtype) for dtype in frame.dtypes):
        frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    values = frame.to_numpy(dtype=float)
    patterns = _answer_patterns(values)
    if patterns is not None:
        # Few distinct answer patterns (codes on a short scale): each pattern once, weighted by its count.
        values, weights = patterns
    else:
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


def _answer_patterns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of ``values`` and their counts, when the values are whole numbers on a short scale.

    Each row becomes one integer (a digit per item: 0 for missing, else the
    value less the lowest plus 1), tallied with ``numpy.bincount``: a few passes
    over the data however many respondents there are.
    """
    n, m = values.shape
    if n < 4 * _MAX_PATTERNS // 64 or m == 0:
        return None
    blocks = range(0, n, _ROW_BLOCK)
    # A block of rows at a time (the block stays in the processor's cache); the same numbers as whole.
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
            digit = block[:, j] - (low - 1)  # 1 for the lowest value, NaN for missing
            digit[np.isnan(digit)] = 0.0  # missing: digit 0 (the values are finite: low and high are)
            code *= base
            code += digit.astype(np.int64)
        counts += np.bincount(code, minlength=base**m)
    present = np.flatnonzero(counts)
    digits = (present[:, None] // base ** np.arange(m - 1, -1, -1)) % base
    distinct = np.where(digits == 0, np.nan, digits + (low - 1)).astype(float)
    return distinct, counts[present].astype(float)


#: Rows of a block in :func:`_answer_patterns`.
_ROW_BLOCK = 1 << 14


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
