"""Moments shared by every analysis: R's pairwise covariances and correlations, cov2cor, SMC.

Numerical kernels, below the analyses that use them (reliability, EFA, CFA);
each matches the R function it names.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def pairwise_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's ``cov(x, use="pairwise")``, ``cor(x, use="pairwise")`` and pairwise counts.

    Each covariance uses the rows where both items are answered, with means over
    those rows and an ``n - 1`` denominator; each pairwise correlation also uses
    the standard deviations over those rows (so it is *not* ``cov2cor`` of the
    pairwise covariance matrix). Computed with matrix products on centred data.
    """
    mask = ~np.isnan(x)
    m = mask.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(x, axis=0)
    x0 = np.where(mask, x - np.nan_to_num(centre), 0.0)
    cnt = m.T @ m
    sx = x0.T @ m  # sx[j, k]: sum of item j over rows where j and k are answered
    sxx = (x0 * x0).T @ m
    sxy = x0.T @ x0
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = sxy - sx * sx.T / cnt
        cov = dev / (cnt - 1)
        vj = sxx - sx * sx / cnt
        cor = dev / np.sqrt(vj * vj.T)
    cov[cnt < 2] = np.nan
    cor[cnt < 2] = np.nan
    np.fill_diagonal(cor, np.where(np.diag(cnt) >= 2, 1.0, np.nan))
    return cov, cor, cnt


def cov2cor(c: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(c))
    r = c * np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r


def pinv(a: np.ndarray) -> np.ndarray:
    """psych::Pinv: the Moore-Penrose inverse with psych's tolerance."""
    if not np.isfinite(a).all():  # LAPACK may never return on NaN
        raise np.linalg.LinAlgError("the matrix holds values that are not numbers (NaN or infinite)")
    u, s, vt = np.linalg.svd(a)
    keep = s > max(math.sqrt(np.finfo(float).eps) * s[0], 0)
    return (vt[keep].T / s[keep]) @ u[:, keep].T


def smc(r: np.ndarray) -> np.ndarray:
    """psych::smc: squared multiple correlations ``1 - 1/diag(R^+)``, clipped to [0, 1]."""
    r = cov2cor(r) if not np.allclose(np.diag(r), 1.0) else r
    inv = pinv(r)
    with np.errstate(divide="ignore"):
        out = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)


def cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> np.ndarray:
    """psych::cor.smooth: a correlation matrix made positive definite, or ``r`` itself if it is.

    Eigenvalues below ``eig_tol`` are raised to ``100 * eig_tol``, rescaled to
    sum to the number of items, and the rebuilt matrix is turned back into a
    correlation matrix. The same object is returned when nothing was needed,
    so ``cor_smooth(r) is not r`` tells whether smoothing was done.

    Examples
    --------
    >>> r = np.array([[1, .9, .9], [.9, 1, -.9], [.9, -.9, 1]])
    >>> cor_smooth(np.eye(2)) is not None, bool(np.linalg.eigvalsh(cor_smooth(r)).min() > 0)
    (True, True)
    """
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    return cov2cor((vecs * vals) @ vecs.T)


__all__ = ["cor_smooth", "cov2cor", "pairwise_moments", "pinv", "smc"]
