"""Cholesky solves and block diagonals with numpy alone (no scipy.linalg at import time: issue 15).

``scipy.linalg.cho_factor``/``cho_solve`` and ``block_diag`` were the only scipy on the path of an
ML/MLR/FIML fit; importing scipy.linalg cost more than a small fit. These raise what scipy raised
(``LinAlgError`` when not positive definite, ``ValueError`` on undefined entries).
"""

from __future__ import annotations

import numpy as np


def cholesky_lower(matrix: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor; ``ValueError`` on NaN or infinite entries, ``LinAlgError`` if not PD.

    Examples
    --------
    >>> cholesky_lower(np.array([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    if not np.isfinite(matrix).all():
        raise ValueError("array must not contain infs or NaNs")
    return np.linalg.cholesky(matrix)


def cho_solve(lower: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``(L L') x = rhs`` given the lower factor ``L``.

    Examples
    --------
    >>> a = np.array([[4.0, 2.0], [2.0, 2.0]])
    >>> np.allclose(a @ cho_solve(cholesky_lower(a), np.array([1.0, 2.0])), [1.0, 2.0])
    True
    """
    return np.linalg.solve(lower.T, np.linalg.solve(lower, rhs))


def pd_solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``matrix^-1 rhs`` for a positive definite matrix (errors as :func:`cholesky_lower`).

    Examples
    --------
    >>> np.allclose(pd_solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 2.0])), [1.0, 0.5])
    True
    """
    return cho_solve(cholesky_lower(matrix), rhs)


def block_diag(*blocks: np.ndarray) -> np.ndarray:
    """``scipy.linalg.block_diag`` for two-dimensional blocks.

    Examples
    --------
    >>> block_diag(np.ones((1, 1)), 2 * np.ones((2, 2))).tolist()
    [[1.0, 0.0, 0.0], [0.0, 2.0, 2.0], [0.0, 2.0, 2.0]]
    """
    blocks2 = [np.atleast_2d(np.asarray(b)) for b in blocks]
    rows = sum(b.shape[0] for b in blocks2)
    cols = sum(b.shape[1] for b in blocks2)
    dtype = np.result_type(*blocks2) if blocks2 else float
    out = np.zeros((rows, cols), dtype=dtype)
    r = c = 0
    for b in blocks2:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r += b.shape[0]
        c += b.shape[1]
    return out
