"""The figures of each (group, wave, score) cell: n, mean, SD, CI and the shares around the midpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..instrument import Instrument, load_instruments
from .data import ALL

#: The figures of a wave cell, of a change and of a trend (all hidden together when suppressed).
FIGURES = (
    "n",
    "mean",
    "sd",
    "ci_lower",
    "ci_upper",
    "share_above_midpoint",
    "share_below_midpoint",
)
CHANGE_FIGURES = ("n", "n_pairs", "mean_change", "ci_lower", "ci_upper", "p")
TREND_FIGURES = ("n", "n_observations", "slope", "ci_lower", "ci_upper", "p")


def scale_midpoints(instruments: Instrument | str | Sequence[Instrument | str]) -> dict[str, float | None]:
    """The midpoint of every subscale and composite score.

    A mean-scored subscale's midpoint is the mean of its items' midpoints
    ``(min + max) / 2`` (the scale's midpoint when all items share one scale); a
    sum-scored subscale's is their sum. A composite's is the mean (or sum) of its
    subscales' midpoints. ``None`` when an item has no upper or lower bound.

    Examples
    --------
    >>> mids = scale_midpoints("bpn-residency")
    >>> mids["relatedness_satisfaction"], mids["need_satisfaction"]
    (3.0, 3.0)
    """
    out: dict[str, float | None] = {}
    for inst in load_instruments(instruments):
        for sub in inst.subscales.values():
            mids = []
            for item_id in sub.items:
                low, high = inst.item(item_id).value_range
                mids.append(None if low is None or high is None else (float(low) + float(high)) / 2)
            if any(m is None for m in mids) or not mids:
                out[sub.id] = None
            else:
                total = float(sum(mids))  # type: ignore[arg-type]
                out[sub.id] = total if sub.method == "sum" else total / len(mids)
        for comp in inst.composites.values():
            parts = [out.get(s) for s in comp.of]
            if any(p is None for p in parts) or not parts:
                out[comp.id] = None
            else:
                total = float(sum(parts))  # type: ignore[arg-type]
                out[comp.id] = total if comp.method == "sum" else total / len(parts)
    return out


def _summaries(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    midpoints: Mapping[str, float | None],
    confidence: float,
) -> pd.DataFrame:
    """n, mean, SD, CI and midpoint shares of every score per (table, group, wave)."""
    values = frame[list(names)].astype(float)
    mids = np.array([np.nan if midpoints.get(n) is None else midpoints[n] for n in names], dtype=float)
    above = values.gt(mids).astype(float).where(values.notna())
    below = values.lt(mids).astype(float).where(values.notna())
    parts = []
    for t, column in enumerate([None, *by]):
        keys = {
            "_wave": frame["_wave"].to_numpy(),
            "_value": frame[column].to_numpy(dtype=object) if column else np.full(len(frame), ALL, object),
        }
        grouped = values.assign(**keys).groupby(["_wave", "_value"], sort=False)
        above_g = above.assign(**keys).groupby(["_wave", "_value"], sort=False)
        below_g = below.assign(**keys).groupby(["_wave", "_value"], sort=False)
        tables = {
            "n": grouped.count(),
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "above": above_g.sum(min_count=1),
            "below": below_g.sum(min_count=1),
        }
        long = pd.concat({k: v[list(names)].stack() for k, v in tables.items()}, axis=1)
        long.index = long.index.set_names(["_wave", "_value", "scale"])
        long = long.reset_index()
        long["_table"] = t
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    n = out["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf((1 + confidence) / 2, n - 1) * out["sd"] / np.sqrt(n)
        out["ci_lower"] = out["mean"] - half
        out["ci_upper"] = out["mean"] + half
        out["share_above_midpoint"] = out["above"] / n.where(n > 0)
        out["share_below_midpoint"] = out["below"] / n.where(n > 0)
    has_mid = out["scale"].map(lambda s: midpoints.get(s) is not None)
    out.loc[~has_mid, ["share_above_midpoint", "share_below_midpoint"]] = np.nan
    out["n"] = out["n"].astype("Int64")
    return out.drop(columns=["above", "below"])


__all__ = ["CHANGE_FIGURES", "FIGURES", "TREND_FIGURES", "scale_midpoints"]
