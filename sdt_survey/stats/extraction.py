"""Factor extraction as psych::fa does it: minres, ULS, WLS, GLS, maximum likelihood, principal axes.

The kernel under exploratory factor analysis (:mod:`sdt_survey.factor`) and
under omega's Schmid-Leiman solution (:mod:`sdt_survey.reliability`). Each
function takes a correlation matrix and returns *unrotated* loadings with
psych's conventions: uniquenesses bounded to ``PSI_BOUNDS`` and started at
``1 - SMC`` (``SMC`` for WLS and GLS, as psych starts them), columns signed
to have positive sums.

Examples
--------
>>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
>>> lam, values, converged = extract(r, 1, "ml")
>>> lam.round(3).ravel().tolist(), converged
([0.816, 0.612, 0.49], True)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize

from ..errors import FactorAnalysisError
from .moments import smc

#: The extraction methods :func:`extract` knows (psych's ``fm``).
FMS = ("minres", "ml", "pa", "uls", "wls", "gls")
#: Lower and upper bounds of the uniquenesses in minres and ml (psych: ``lower = .005``, ``upper = 1``).
PSI_BOUNDS = (0.005, 1.0)


def _uls_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """psych's FAout.wls: the first k principal axes of S - diag(psi)."""
    vals, vecs = np.linalg.eigh(s - np.diag(psi))
    vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def _uls_objective(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    lam = _uls_loadings(psi, s, k)
    resid = s - np.diag(psi) - lam @ lam.T
    return 0.5 * float(np.sum(resid**2)), -np.diag(resid)


def fa_minres(r: np.ndarray, nfactors: int) -> np.ndarray:
    """Unrotated minres (ULS) loadings of a correlation matrix, psych's conventions.

    Uniquenesses are bounded to [0.005, 1] and start at ``1 - smc``; the
    solution is the ULS optimum (psych minimizes the off-diagonal residuals
    with the ULS gradient, whose optimum is the same). Columns are signed to
    have positive sums, as psych::fa does.

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> fa_minres(r, 1).round(3).ravel().tolist()
    [0.816, 0.612, 0.49]
    """
    p = r.shape[0]
    start = np.diag(r) - smc(r)
    res = optimize.minimize(
        _uls_objective,
        start,
        args=(r, nfactors),
        jac=True,
        method="L-BFGS-B",
        bounds=[PSI_BOUNDS] * p,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    lam = _uls_loadings(res.x, r, nfactors)
    lam = lam * sign_columns(lam)
    lam[lam == 0] = 1e-15
    return lam


def _ml_objective(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych's FAfn and FAgr (stats::factanal's likelihood) with their gradient."""
    sc = 1.0 / np.sqrt(psi)
    sstar = s * np.outer(sc, sc)
    vals, vecs = np.linalg.eigh(sstar)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    e = vals[k:]
    f = -(np.sum(np.log(e) - e) - k + s.shape[0])
    load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1, 0.0))
    load = load * np.sqrt(psi)[:, None]
    g = np.einsum("ij,ij->i", load, load) + psi - np.diag(s)
    return float(f), g / psi**2


def _ml_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """psych's FAout."""
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = np.linalg.eigh(s * np.outer(sc, sc))
    vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    return (vecs * np.sqrt(np.maximum(vals - 1, 0.0))) * np.sqrt(psi)[:, None]


def fa_ml(r: np.ndarray, k: int) -> np.ndarray:
    """Unrotated maximum-likelihood loadings (psych's ``fm = "ml"``, stats::factanal's likelihood)."""
    start = np.diag(r) - smc(r)
    start = np.clip(start, *PSI_BOUNDS)
    res = optimize.minimize(
        _ml_objective,
        start,
        args=(r, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[PSI_BOUNDS] * r.shape[0],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000},
    )
    return _ml_loadings(res.x, r, k)


def _residual_criterion(psi: np.ndarray, s: np.ndarray, k: int, fm: str, s_inv: np.ndarray) -> float:
    """psych's ``fit.residuals`` for ``fm = "wls"`` or ``"gls"``.

    The diagonal of ``S`` is replaced by the communalities ``1 - psi``; the
    model is the first ``k`` principal axes of that matrix (eigenvalues below
    machine epsilon raised to ``100 eps``). WLS weights each squared residual
    by ``1 / (S^-1_ii S^-1_jj)``, i.e. by the product of the two items'
    ``1 - SMC``; GLS sums the squares of ``S^-1 (S - model)``.
    """
    sm = s.copy()
    np.fill_diagonal(sm, 1.0 - psi)
    vals, vecs = np.linalg.eigh(sm)
    vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    eps = np.finfo(float).eps
    vals = np.where(vals < eps, 100 * eps, vals)
    lam = vecs * np.sqrt(vals)
    resid = sm - lam @ lam.T
    if fm == "wls":
        w = 1.0 / np.diag(s_inv)
        return float(np.sum(np.outer(w, w) * resid**2))
    return float(np.sum((s_inv @ resid) ** 2))


def fa_weighted(r: np.ndarray, k: int, fm: str) -> np.ndarray:
    """Unrotated loadings of psych's ``fm = "wls"`` or ``fm = "gls"``, along psych's own path.

    psych 2.2.9 minimizes the weighted criterion (:func:`_residual_criterion`)
    by R's ``optim(method = "L-BFGS-B")`` from uniquenesses equal to the SMCs,
    with ``parscale = 0.01``, at most 100 iterations, and the gradient of the
    *maximum likelihood* criterion (psych's ``FAgr.minres2``). Because that
    gradient is not the criterion's own, psych stops near, but not at, the
    criterion's minimum (between it and the ML solution). This function takes
    exactly that path (the same start, scaling, memory of 5 updates and
    stopping rule ``factr = 1e7``), so the loadings are psych's, as long as
    the path stays inside the bounds: R's L-BFGS-B (version 2.3) and
    scipy's (3.0) treat a bound differently, so when a uniqueness reaches
    .005 or 1 on the way a warning says that psych may differ.

    Examples
    --------
    >>> r = np.array([[1, .5, .4, .3], [.5, 1, .35, .3], [.4, .35, 1, .2], [.3, .3, .2, 1]])
    >>> fa_weighted(r, 1, "wls").round(2).ravel().tolist()
    [0.74, 0.68, 0.52, 0.41]
    """
    if fm not in ("wls", "gls"):
        raise ValueError(f"fm must be 'wls' or 'gls', got {fm!r}")
    s_inv = np.linalg.inv(r)
    scale = 0.01  # psych's parscale: optim works on psi / 0.01

    lower, upper = PSI_BOUNDS
    touched: list[bool] = []

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        psi = x * scale
        touched.append(bool(np.any((psi <= lower) | (psi >= upper))))
        return _residual_criterion(psi, r, k, fm, s_inv), _ml_objective(psi, r, k)[1] * scale

    res = optimize.minimize(
        fun,
        smc(r) / scale,
        jac=True,
        method="L-BFGS-B",
        bounds=[(lower / scale, max(upper, 1.0) / scale)] * r.shape[0],
        options={"ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxcor": 5, "maxiter": 100, "maxls": 20},
    )
    if any(touched):
        warnings.warn(
            f"fm={fm!r}: a uniqueness reached its bound (.005 or 1) on the way, where R's L-BFGS-B (2.3) "
            "and scipy's (3.0) step differently; psych's loadings may differ in the second or third decimal",
            stacklevel=3,
        )
    lam = _uls_loadings(res.x * scale, r, k)
    lam = lam * sign_columns(lam)
    lam[lam == 0] = 1e-15
    return lam


def fa_pa(r: np.ndarray, k: int, *, use_smc: bool = True, min_err: float = 0.001, max_iter: int = 50):
    """psych's iterated principal axes: communalities from SMCs, until their sum changes < .001.

    Returns the loadings, the eigenvalues of the last reduced matrix (psych's
    ``values``) and whether the iteration stopped on ``min_err``.
    """
    rm = r.copy()
    if use_smc:
        np.fill_diagonal(rm, smc(r))
    comm = float(np.trace(rm))
    err, i, converged = comm, 1, True
    while err > min_err:
        vals, vecs = np.linalg.eigh(rm)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        with np.errstate(invalid="ignore"):
            lam = vecs[:, :k] * np.sqrt(vals[:k])
        new = np.einsum("ij,ij->i", lam, lam)
        comm1 = float(new.sum())
        np.fill_diagonal(rm, new)
        err = abs(comm - comm1)
        if math.isnan(err):
            raise FactorAnalysisError(
                "principal axis factoring met a negative eigenvalue (an imaginary loading); "
                "use fm='minres' or fewer factors"
            )
        comm = comm1
        i += 1
        if i > max_iter:
            converged = err <= min_err
            break
    return lam, vals, converged


def sign_columns(lam: np.ndarray) -> np.ndarray:
    """+1 or -1 per column, so that each column of ``lam`` times its sign sums to a positive number."""
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    return sign


def extract(r: np.ndarray, k: int, fm: str, *, pa_smc: bool = True) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unrotated loadings (psych-signed), psych's ``values`` and convergence.

    ``fm`` is psych's: ``"minres"`` and ``"uls"`` (unweighted least squares;
    psych's two criteria share their minimum), ``"wls"`` and ``"gls"``
    (:func:`fa_weighted`), ``"ml"`` and ``"pa"``.

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> [extract(r, 1, fm)[0].round(2).ravel().tolist()[0] for fm in ("uls", "ml")]
    [0.82, 0.82]
    """
    converged = True
    if fm in ("minres", "uls"):  # psych's uls stops where its minres does: the same optimum
        lam = fa_minres(r, k)
    elif fm in ("wls", "gls"):
        lam = fa_weighted(r, k, fm)
    elif fm == "ml":
        lam = fa_ml(r, k)
    else:
        lam, pa_values, converged = fa_pa(r, k, use_smc=pa_smc)
    lam = lam * sign_columns(lam)
    lam[lam == 0] = 1e-15
    if fm == "pa":
        values = pa_values
    else:
        s = r.copy()
        np.fill_diagonal(s, np.einsum("ij,ij->i", lam, lam))
        values = np.linalg.eigvalsh(s)[::-1]
    return lam, values, converged


__all__ = ["FMS", "PSI_BOUNDS", "extract", "fa_minres", "fa_ml", "fa_pa", "fa_weighted", "sign_columns"]
