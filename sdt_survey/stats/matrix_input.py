"""Covariance and correlation matrices given instead of data: detection, checks, reading a CSV.

The one place that decides whether a table *is* a matrix of moments (psych's
``isCovariance``: square and symmetric) and that checks one given as
``sample_cov=`` (lavaan) or ``r`` (psych): names from the index and columns,
finite, symmetric, positive variances. Both the EFA (:mod:`sdt_survey.factor.exploratory`)
and the CFA (:mod:`sdt_survey.factor.sem`) use it, each raising its own error class.

Examples
--------
>>> import pandas as pd
>>> r = pd.DataFrame([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]], index=list("abc"), columns=list("abc"))
>>> is_moment_matrix(r)
True
>>> m = moment_matrix(r)
>>> m.names, m.is_correlation
(['a', 'b', 'c'], True)
>>> moment_matrix([[1, .5], [.4, 1]], names=["a", "b"])
Traceback (most recent call last):
...
ValueError: sample_cov is not symmetric: row 'a', column 'b' holds 0.5 but row 'b', column 'a' holds 0.4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: R's ``isSymmetric`` tolerance (``all.equal``, ``100 * .Machine$double.eps``), to *detect* a matrix.
DETECT_TOLERANCE = 100 * np.finfo(float).eps
#: Largest asymmetry accepted in a matrix given as one (relative to the larger of the two cells): rounding
#: in a file written with 8 or more significant digits. The mean of the two cells is used.
CHECK_TOLERANCE = 1e-7


@dataclass(frozen=True)
class MomentMatrix:
    """A checked covariance or correlation matrix: names and a symmetric array (``values``)."""

    names: list[str]
    values: np.ndarray

    @property
    def is_correlation(self) -> bool:
        """Unit variances (psych's ``isCorrelation``: the diagonal is all 1)."""
        return bool(np.allclose(np.diag(self.values), 1.0, rtol=0, atol=1e-8))

    def select(self, names: Sequence[str]) -> np.ndarray:
        """The submatrix of ``names``, in that order."""
        index = {n: i for i, n in enumerate(self.names)}
        pos = [index[n] for n in names]
        return self.values[np.ix_(pos, pos)]


def _numeric_square(obj: Any) -> np.ndarray | None:
    if isinstance(obj, pd.DataFrame):
        if obj.shape[0] != obj.shape[1] or obj.shape[0] < 2:
            return None
        if not all(
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in obj.dtypes
        ):
            return None
        return obj.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.shape[0] == obj.shape[1] and obj.shape[0] >= 2:
        if not np.issubdtype(obj.dtype, np.number):
            return None
        return obj.astype(float)
    return None


def is_moment_matrix(obj: Any) -> bool:
    """Whether ``obj`` is a square, symmetric numeric table (psych's ``isCovariance``).

    As R's ``isSymmetric``: the mean absolute difference between the matrix
    and its transpose is below ``100 * eps`` times the mean absolute value. A
    data frame whose index differs from its columns (other than a default
    0, 1, ... index) is never a matrix.
    """
    if isinstance(obj, pd.DataFrame):
        if not _index_matches(obj) or obj.columns.has_duplicates:
            return False
        if not isinstance(obj.index, pd.RangeIndex):
            obj = obj.set_axis([str(i) for i in obj.index], axis=0).loc[[str(c) for c in obj.columns]]
    a = _numeric_square(obj)
    if a is None or not np.isfinite(a).all():
        return False
    scale = np.abs(a).mean()
    return bool(np.abs(a - a.T).mean() <= DETECT_TOLERANCE * max(scale, 1.0))


def _index_matches(frame: pd.DataFrame) -> bool:
    index = [str(i) for i in frame.index]
    columns = [str(c) for c in frame.columns]
    default = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    return default or sorted(index) == sorted(columns)


def moment_matrix(
    obj: Any,
    names: Sequence[str] | None = None,
    *,
    what: str = "sample_cov",
    error: type[Exception] = ValueError,
) -> MomentMatrix:
    """Check a covariance or correlation matrix and give it with its names.

    Parameters
    ----------
    obj : DataFrame, numpy array or nested lists
        A square matrix. A DataFrame names its variables by its columns; its
        index must hold the same names (in any order: rows are put in the
        columns' order) or be the default ``0, 1, ...``.
    names : sequence of str, optional
        The variables' names for an array (default ``V1``, ``V2``, ... as R);
        for a DataFrame, they must equal its columns if given.
    what : str
        How the message names the matrix (``"sample_cov"``, a file name...).
    error : exception class
        Raised for a matrix that cannot be used (the caller's error class).

    Returns
    -------
    MomentMatrix
        Symmetric (the mean of the matrix and its transpose).

    Examples
    --------
    >>> import numpy as np
    >>> moment_matrix(np.array([[2.0, 0.5], [0.5, 1.0]]), names=["x", "y"]).names
    ['x', 'y']
    """
    if isinstance(obj, pd.DataFrame):
        columns = [str(c) for c in obj.columns]
        if len(set(columns)) != len(columns):
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            raise error(f"{what} has duplicated column names: {', '.join(dupes)}")
        if obj.shape[0] != obj.shape[1]:
            raise error(
                f"{what} must be a square matrix (as many rows as columns), not {obj.shape[0]} rows by "
                f"{obj.shape[1]} columns"
            )
        if not _index_matches(obj):
            index = [str(i) for i in obj.index]
            pos = next(i for i, (a, b) in enumerate(zip(index, columns, strict=True)) if a != b)
            raise error(
                f"{what}: the row names must be the column names; row {pos + 1} is {index[pos]!r} but "
                f"column {pos + 1} is {columns[pos]!r}"
            )
        if names is not None and [str(n) for n in names] != columns:
            raise error(f"names= must equal the columns of {what} when it is a DataFrame (or be left out)")
        frame = obj
        if not isinstance(obj.index, pd.RangeIndex):
            frame = obj.set_axis([str(i) for i in obj.index], axis=0).loc[columns]
        bad = [c for c, t in zip(columns, frame.dtypes, strict=True) if not pd.api.types.is_numeric_dtype(t)]
        if bad:
            raise error(f"{what} must be numeric; non-numeric column(s): {', '.join(bad)}")
        values = frame.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            values = np.asarray(obj, dtype=float)
        except (TypeError, ValueError):
            raise error(
                f"{what} must be a square numeric matrix (a DataFrame or a numpy array), "
                f"not {type(obj).__name__}"
            ) from None
        if values.ndim != 2 or values.shape[0] != values.shape[1]:
            raise error(f"{what} must be a square matrix, not an array of shape {values.shape}")
        p = values.shape[0]
        columns = [f"V{i + 1}" for i in range(p)] if names is None else [str(n) for n in names]
        if len(columns) != p:
            raise error(f"names= has {len(columns)} name(s) for a {p} x {p} matrix {what}")
        if len(set(columns)) != len(columns):
            raise error(f"names= has duplicated names for {what}")
    _check_values(values, columns, what, error)
    return MomentMatrix(columns, (values + values.T) / 2)


def _check_values(values: np.ndarray, names: list[str], what: str, error: type[Exception]) -> None:
    if values.shape[0] < 2:
        raise error(f"{what} must have at least 2 variables")
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        i, j = bad[0]
        raise error(f"{what} has a missing or infinite value in row {names[i]!r}, column {names[j]!r}")
    diff = np.abs(values - values.T)
    allowed = CHECK_TOLERANCE * np.maximum(np.abs(values), np.abs(values.T))
    if (diff > allowed).any():
        i, j = np.unravel_index(np.argmax(diff - allowed), diff.shape)
        i, j = min(i, j), max(i, j)
        raise error(
            f"{what} is not symmetric: row {names[i]!r}, column {names[j]!r} holds {values[i, j]:.10g} but "
            f"row {names[j]!r}, column {names[i]!r} holds {values[j, i]:.10g}"
        )
    diag = np.diag(values)
    if (diag <= 0).any():
        k = int(np.flatnonzero(diag <= 0)[0])
        raise error(f"{what} has a variance of {diag[k]:.6g} for {names[k]!r}; variances must be positive")


def read_moment_matrix(path: str | Path, *, error: type[Exception] = ValueError) -> MomentMatrix:
    """Read a matrix from a CSV file whose first column holds the row names, equal to the header.

    As R's ``write.csv(cov(x))``: a header row with an empty first cell and
    the variable names, then one row per variable, its name first.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "r.csv")
    >>> _ = open(path, "w").write(',"a","b"\\n"a",1,0.3\\n"b",0.3,1\\n')
    >>> read_moment_matrix(path).values.tolist()
    [[1.0, 0.3], [0.3, 1.0]]
    """
    path = Path(path)
    what = f"the matrix file {path.name}"
    try:
        frame = pd.read_csv(path, index_col=0)
    except FileNotFoundError:
        raise error(f"{what} does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise error(f"{what} cannot be read as CSV: {exc}") from None
    if frame.shape[0] != frame.shape[1]:
        raise error(
            f"{what} is not a square matrix: {frame.shape[0]} rows and {frame.shape[1]} columns (after the "
            "first column, which holds the row names); write it as R's write.csv(cov(x)) does"
        )
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & frame.notna()
    if bad.to_numpy().any():
        i, j = np.argwhere(bad.to_numpy())[0]
        raise error(
            f"{what}: row {frame.index[i]!r}, column {frame.columns[j]!r} is not a number: "
            f"{frame.iat[i, j]!r}"
        )
    return moment_matrix(numeric, what=what, error=error)


def check_n_obs(n_obs: Any, what: str, error: type[Exception] = ValueError) -> int:
    """A number of observations: a whole number of at least 2.

    Examples
    --------
    >>> check_n_obs(145, "n_obs")
    145
    """
    if isinstance(n_obs, bool) or not isinstance(n_obs, (int, np.integer)):
        if isinstance(n_obs, (float, np.floating)) and float(n_obs).is_integer():
            n_obs = int(n_obs)
        else:
            raise error(f"{what} must be a whole number of respondents, got {n_obs!r}")
    if n_obs < 2:
        raise error(f"{what} must be at least 2, got {n_obs}")
    return int(n_obs)


__all__ = [
    "CHECK_TOLERANCE",
    "DETECT_TOLERANCE",
    "MomentMatrix",
    "check_n_obs",
    "is_moment_matrix",
    "moment_matrix",
    "read_moment_matrix",
]
