"""Checks and small helpers shared by the reliability coefficients (private to this package)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ReliabilityError

Missing = Literal["pairwise", "listwise"]
MISSING_MODES = ("pairwise", "listwise")


def item_matrix(items: pd.DataFrame, *, min_items: int = 2, what: str = "items") -> np.ndarray:
    """Validate an item frame and return it as a float array (NaN = missing)."""
    if not isinstance(items, pd.DataFrame):
        raise TypeError(
            f"{what} must be a pandas DataFrame (one column per item), got {type(items).__name__}"
        )
    if items.columns.has_duplicates:
        dupes = sorted({str(c) for c in items.columns[items.columns.duplicated()]})
        raise ReliabilityError(f"{what} has duplicated columns: {', '.join(dupes)}")
    if items.shape[1] < min_items:
        raise ReliabilityError(f"{what} needs at least {min_items} item columns, got {items.shape[1]}")
    bad = [str(c) for c in items.columns if not pd.api.types.is_numeric_dtype(items[c])]
    if bad:
        raise TypeError(f"{what} must be numeric; non-numeric columns: {', '.join(bad)}")
    x = items.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise ReliabilityError(f"{what} contains infinite values")
    if x.shape[0] < 2:
        raise ReliabilityError(f"{what} needs at least 2 respondents, got {x.shape[0]}")
    return x


def check_missing(missing: str) -> None:
    if missing not in MISSING_MODES:
        raise ReliabilityError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")


def check_bootstrap(bootstrap: int, seed: int | None) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ReliabilityError(f"bootstrap must be a whole number of resamples >= 0, got {bootstrap!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ReliabilityError(f"seed must be a non-negative integer, got {seed!r}")


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ReliabilityError(f"confidence must be in (0, 1), got {confidence!r}")


def require_finite(mat: np.ndarray, names: Sequence[str], what: str) -> None:
    if np.isnan(mat).any():
        i, j = np.argwhere(np.isnan(mat))[0]
        raise ReliabilityError(
            f"the {what} of {names[i]!r} and {names[j]!r} cannot be computed "
            "(fewer than two respondents answered both, or an item has no variance)"
        )


def z_psych(confidence: float) -> float:
    """The normal quantile rounded to two decimals: psych prints alpha -/+ 1.96 ase."""
    return round(float(stats.norm.ppf(0.5 + confidence / 2)), 2)


def frame_text(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.{digits}f}", na_rep="-")


def warn(collected: list[str], message: str, stacklevel: int) -> None:
    """Warn ``message`` and keep it for the result's ``warnings``.

    ``stacklevel`` counts from the caller, as :func:`warnings.warn`'s does.
    """
    collected.append(message)
    warnings.warn(message, stacklevel=stacklevel + 1)
