"""The items of an EFA, checked once at the boundary, with psych's correlation matrix (private)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import FactorAnalysisError
from ...stats.matrix_input import check_n_obs, is_moment_matrix, moment_matrix
from ...stats.moments import cov2cor, pairwise_moments

Missing = Literal["pairwise", "listwise"]
MISSING_MODES = ("pairwise", "listwise")


@dataclass(frozen=True)
class ItemData:
    """Validated items and their correlation matrix (R's ``cor(x, use = ...)``).

    From a correlation or covariance matrix (``missing == "matrix"``): ``x`` and
    ``np_obs`` are None (psych's ``np.obs = NULL``), and so is ``n_obs`` when not given.
    """

    names: list[str]
    r: np.ndarray
    n_obs: int | None
    np_obs: np.ndarray | None
    missing: str
    x: np.ndarray | None = field(repr=False)
    eigenvalues: np.ndarray = field(repr=False)


def as_frame(items: Any, what: str) -> pd.DataFrame:
    if isinstance(items, pd.DataFrame):
        return items
    if isinstance(items, np.ndarray) and items.ndim == 2:
        return pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    raise FactorAnalysisError(
        f"{what} must be a pandas DataFrame with one numeric column per item, got {type(items).__name__}"
    )


def prepare(
    items: Any, missing: str = "pairwise", *, min_items: int = 3, what: str = "items", n_obs: Any = None
) -> ItemData:
    """Check the items once and compute the correlation matrix psych would use.

    A square symmetric ``items`` is a correlation or covariance matrix, as psych
    decides (``isCovariance``): see :func:`matrix_data`.
    """
    if missing not in MISSING_MODES:
        raise FactorAnalysisError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")
    if is_moment_matrix(items):
        return matrix_data(items, n_obs, min_items=min_items, what=what)
    if n_obs is not None:
        raise FactorAnalysisError(
            f"n_obs is for a correlation or covariance matrix; {what} is not one (not square and symmetric): "
            "with one row per respondent, the number of rows is used"
        )
    frame = as_frame(items, what)
    if frame.columns.has_duplicates:
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise FactorAnalysisError(f"{what} has duplicated columns: {', '.join(dupes)}")
    names = [str(c) for c in frame.columns]
    bad = [n for n, c in zip(names, frame.columns, strict=True) if not _numeric(frame[c])]
    if bad:
        raise FactorAnalysisError(
            f"{what} must be numeric; non-numeric columns: {', '.join(bad)} "
            "(pass only the item columns, e.g. score(...).keyed)"
        )
    if len(names) < min_items:
        raise FactorAnalysisError(f"{what} needs at least {min_items} item columns, got {len(names)}")
    x = frame.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        cols = [names[j] for j in np.flatnonzero(np.isinf(x).any(axis=0))]
        raise FactorAnalysisError(f"{what} contains infinite values in: {', '.join(cols)}")
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, p = x.shape
    if n <= p:
        rows = "complete rows" if missing == "listwise" else "rows"
        raise FactorAnalysisError(
            f"too few respondents: {n} {rows} for {p} items; factor analysis needs more respondents "
            "than items (and several times more for stable loadings)"
        )
    answered = (~np.isnan(x)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(x, axis=0)
    constant = [names[j] for j in range(p) if answered[j] < 2 or not sd[j] > 0]
    if constant:
        raise FactorAnalysisError(
            f"constant or empty items (no variance, so no correlations): {', '.join(constant)}; drop them"
        )
    _, r, cnt = pairwise_moments(x)
    if np.isnan(r).any():
        i, j = np.argwhere(np.isnan(r))[0]
        raise FactorAnalysisError(
            f"the correlation of {names[i]!r} and {names[j]!r} cannot be computed: fewer than two "
            "respondents answered both, or one of them does not vary among those who did"
        )
    vals, vecs = np.linalg.eigh(r)
    if abs(vals[0]) < 1e-8 * max(vals[-1], 1.0):
        raise FactorAnalysisError(_singular_message(r, vals, vecs, names))
    return ItemData(names, r, n, cnt, missing, x, vals[::-1])


def matrix_data(matrix: Any, n_obs: Any, *, min_items: int = 3, what: str = "items") -> ItemData:
    """A correlation or covariance matrix as psych takes it (``fa(r, n.obs = )``): covariances become
    correlations (``cov2cor``); without ``n_obs``, the statistics that need it are left out."""
    m = moment_matrix(matrix, what=what, error=FactorAnalysisError)
    if len(m.names) < min_items:
        raise FactorAnalysisError(f"{what} needs at least {min_items} items, got {len(m.names)}")
    n = None if n_obs is None else check_n_obs(n_obs, "n_obs", FactorAnalysisError)
    r = m.values if m.is_correlation else cov2cor(m.values)
    vals, vecs = np.linalg.eigh(r)
    if abs(vals[0]) < 1e-8 * max(vals[-1], 1.0):
        raise FactorAnalysisError(_singular_message(r, vals, vecs, m.names))
    return ItemData(m.names, r, n, None, "matrix", None, vals[::-1])


def _numeric(col: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(col))


def _singular_message(r: np.ndarray, vals: np.ndarray, vecs: np.ndarray, names: list[str]) -> str:
    p = r.shape[0]
    off = np.abs(r - np.eye(p))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    if off[i, j] > 1 - 1e-8:
        why = f"items {names[i]!r} and {names[j]!r} are perfectly correlated (r = {r[i, j]:+.0f}); drop one"
    else:
        v = vecs[:, 0]
        involved = [names[k] for k in np.argsort(-np.abs(v)) if abs(v[k]) > 0.05]
        why = (
            f"an item is an exact linear combination of others (involving {', '.join(involved)}); "
            "drop a total score or a duplicated item"
        )
    return f"the correlation matrix is singular (smallest eigenvalue {vals[0]:.2g}): {why}"


def require_positive_definite(data: ItemData, what: str) -> None:
    if data.eigenvalues[-1] <= 0:
        raise FactorAnalysisError(
            f"{what} needs a positive definite correlation matrix, but the pairwise correlations are not "
            f"(smallest eigenvalue {data.eigenvalues[-1]:.3g}); this happens with much missing data: "
            "use missing='listwise'"
        )
