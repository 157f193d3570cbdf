"""Scores from validated item values: reverse keys, subscales, composites, z-scores.

Pure functions on DataFrames, vectorized over respondents; :mod:`.intake`
calls them once per run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..instrument import Instrument
from ..stats.masks import fmax_fills
from .tables import read_norms


def reverse_key(values: pd.DataFrame, instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Numeric item values with reverse keys applied (``min + max - x``).

    Parameters
    ----------
    values : pandas.DataFrame
        One column per item id (numeric, NaN = missing).
    instruments : sequence of Instrument

    Returns
    -------
    pandas.DataFrame
        The scored items only (likert, integer, number), keyed.

    Examples
    --------
    >>> import pandas as pd, sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> frame = pd.DataFrame({item: [1.0, 5.0] for item in bpn.item_ids})
    >>> reverse_key(frame, [bpn])["as4"].tolist()
    [5.0, 1.0]
    """
    scored = [item for inst in instruments for item in inst.items if item.is_scored]
    ids = [item.id for item in scored]
    # One block of floats, items contiguous (as pandas holds them), keyed in place.
    keyed = np.array(values[ids].to_numpy(dtype=float).T, order="C", copy=True)
    for j, item in enumerate(scored):
        if item.reverse:
            low, high = item.value_range
            np.subtract(low + high, keyed[j], out=keyed[j])
    return pd.DataFrame(keyed.T, index=values.index, columns=ids, copy=False)


def subscale_scores(keyed: pd.DataFrame, instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Subscale and composite scores from reverse-keyed item values.

    A subscale's ``mean`` is the mean of the answered items, given at least
    ``min_items`` answers (else missing); ``sum`` is that mean times the number
    of items (a prorated sum). A composite is the mean or sum of its subscale
    scores and is missing when any of them is.

    Examples
    --------
    >>> import numpy as np, pandas as pd, sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> keyed = pd.DataFrame({item: [4.0, np.nan] for item in bpn.item_ids})
    >>> keyed.loc[0, "rs1"] = np.nan
    >>> subscale_scores(keyed, [bpn])["relatedness_satisfaction"].tolist()
    [4.0, nan]
    """
    subscales = [sub for inst in instruments for sub in inst.subscales.values()]
    n = len(keyed)
    names = score_ids(instruments)
    # One block of floats, a row per score (pandas holds the table as it is, with no copy).
    block = np.empty((len(names), n))
    row_of = {name: j for j, name in enumerate(names)}
    # Each row's sum runs in item order, as numpy sums a row of up to 8 values: short subscales are scored
    # a block of rows at a time (the block in the processor's cache); a longer one as a whole.
    short = [sub for sub in subscales if 0 < len(sub.items) < _PAIRWISE]
    cells = {item: keyed[item].to_numpy(dtype=float) for sub in short for item in sub.items}
    for start in range(0, n, ROW_BLOCK):
        rows = slice(start, min(start + ROW_BLOCK, n))
        for sub in short:
            total, missing = _answered_total(cells[item][rows] for item in sub.items)
            block[row_of[sub.id], rows] = _subscale_score(sub, total, len(sub.items) - missing)
    for sub in subscales:
        if not 0 < len(sub.items) < _PAIRWISE:
            values = keyed[list(sub.items)].to_numpy(dtype=float)
            answered = ~np.isnan(values)
            block[row_of[sub.id]] = _subscale_score(
                sub, np.where(answered, values, 0.0).sum(axis=1), answered.sum(axis=1)
            )
    for inst in instruments:
        for comp in inst.composites.values():
            parts = [block[row_of[s]] for s in comp.of]
            if len(parts) < _PAIRWISE:
                # Added in order from zero, as numpy adds a short row: the same bits as its sum and mean.
                combined = np.add(parts[0], 0.0)
                for part in parts[1:]:
                    combined += part
                if comp.method != "sum":
                    combined /= len(parts)
            else:
                stacked = np.column_stack(parts)
                combined = stacked.sum(axis=1) if comp.method == "sum" else stacked.mean(axis=1)
            block[row_of[comp.id]] = combined  # NaN propagates: any missing subscale -> missing composite
    return pd.DataFrame(block.T, index=keyed.index, columns=names, copy=False)


def _answered_total(columns) -> tuple[np.ndarray, np.ndarray]:
    """The sum of each row's answered values (added in column order, from the first) and its missing count.

    A column with no negative value has its missing values made zero by the fast fmax (the same bits).
    """
    total, missing = None, None
    for values in columns:
        gaps = np.isnan(values)
        filled = np.fmax(values, 0.0) if fmax_fills(values) else np.where(gaps, 0.0, values)
        if total is None:
            total, missing = filled, gaps.astype(np.int64)
        else:
            total += filled
            missing += gaps
    return total, missing


#: Rows scored together by :func:`subscale_scores` (large enough that the threads scoring beside it, the
#: careless indices, rarely wait for the interpreter lock).
ROW_BLOCK = 1 << 15
#: From this many values numpy sums a row pairwise, not in order.
_PAIRWISE = 8


def _subscale_score(sub, total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The mean of the answered items given at least ``min_items`` answers (times the items for ``sum``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    score = np.where(count >= sub.min_items, mean, np.nan)
    return score * len(sub.items) if sub.method == "sum" else score


def score_ids(instruments: Sequence[Instrument]) -> list[str]:
    """Subscale then composite ids, instrument by instrument."""
    return [name for inst in instruments for name in (*inst.subscales, *inst.composites)]


def standardize(scores: pd.DataFrame, zscores: str | Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """``<score>_z`` columns: standardized against the sample (SD with n - 1) or against norms."""
    if isinstance(zscores, str):
        if zscores != "sample":
            zscores = read_norms(zscores)
        else:
            return ((scores - scores.mean()) / scores.std(ddof=1)).add_suffix("_z")
    out = {}
    for name, norm in zscores.items():
        if name not in scores:
            raise SdtSurveyError(
                f"norms name {name!r}, which is not a score of these instruments "
                f"({', '.join(scores.columns)})"
            )
        mean, sd = float(norm["mean"]), float(norm["sd"])
        if not sd > 0:
            raise SdtSurveyError(f"norms for {name!r}: the sd must be positive, not {sd}")
        out[f"{name}_z"] = (scores[name] - mean) / sd
    return pd.DataFrame(out, index=scores.index)


__all__ = ["reverse_key", "score_ids", "standardize", "subscale_scores"]
