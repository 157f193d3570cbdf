"""Small-sample tests of fixed effects: Satterthwaite (lmerTest 3.1) and Kenward-Roger (pbkrtest 0.5).

With few groups (8 to 20 programs) a Wald z test of a fixed effect is too
optimistic. This module gives the t and F tests R users see:

- **Satterthwaite** as ``lmerTest``: the (RE)ML deviance as a function of the
  variance parameters ``varpar = (θ, σ)`` (lme4's relative factor θ and the
  residual SD, not profiled), its Hessian at the optimum and the Jacobian of
  ``cov(β) = σ² (X'V⁻¹X)⁻¹`` with respect to ``varpar``, both by numDeriv's
  Richardson extrapolation (d = 1e-4, r = 4). ``cov(varpar) = 2 H⁻¹`` (on the
  positive eigenvalues) and the df of a contrast ``l`` is
  ``2 (l'Φl)² / (g' cov(varpar) g)`` with ``g_k = l' ∂Φ/∂varpar_k l``.
- **Kenward-Roger** as ``pbkrtest::vcovAdj`` / ``Lb_ddf`` / ``KRmodcomp``:
  the marginal covariance ``Σ = Σ_k γ_k G_k`` linear in the covariance
  parameters, the adjusted covariance ``Φ_A`` of the fixed effects, and the
  scaled F statistic with its denominator df.
- **Type III hypotheses** as ``lmerTest::anova()``: treatment-coded contrasts
  orthogonalized against the terms that contain them (a single-term model uses
  the Type I (Doolittle) contrasts, as lmerTest does).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ..errors import ModelFitError
from ..stats.probability import chi2_sf, f_sf, norm_sf, t_sf
from ..stats.threads import single_blas_thread
from .criterion import _Criterion
from .design import _Design

#: The small-sample methods, as lmerTest names them ("none": Wald z, as lme4 without lmerTest).
DDF_METHODS = ("Satterthwaite", "Kenward-Roger", "none")

_ALIASES = {
    "satterthwaite": "Satterthwaite",
    "kenward-roger": "Kenward-Roger",
    "kenward_roger": "Kenward-Roger",
    "kr": "Kenward-Roger",
    "none": "none",
    "wald": "none",
    "lme4": "none",
}

#: First step of the deviance's Hessian, relative to max(|x|, 1). lmerTest uses numDeriv's d = 1e-4
#: relative to |x|: its second differences at a small θ (sleepstudy's 0.015) are swamped by the
#: deviance's rounding here. A larger step, with Richardson's four halvings removing the h², h⁴, h⁶
#: terms, gives the Hessian to ~1e-8 (lmerTest's values are within 1e-5 of it: see the goldens).
HESSIAN_STEP = 1e-2

#: Largest number of observations for Kenward-Roger (it works with n × n matrices, as pbkrtest).
KR_MAX_OBS = 5000


def normalize_ddf(ddf: str | None) -> str:
    """The canonical name of a ddf method (case-insensitive; ``"kr"`` and ``"wald"`` accepted).

    Examples
    --------
    >>> normalize_ddf("kenward-roger"), normalize_ddf("KR"), normalize_ddf("wald")
    ('Kenward-Roger', 'Kenward-Roger', 'none')
    """
    if ddf is None:
        return "none"
    key = str(ddf).strip().lower()
    if key not in _ALIASES:
        raise ModelFitError(f"unknown ddf method {ddf!r}: use one of {', '.join(DDF_METHODS)}")
    return _ALIASES[key]


# =========================================================================== numDeriv


def _richardson(
    func: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    hessian: bool,
    d: float = 1e-4,
    floor: float = 0.0,
):
    """numDeriv's Richardson extrapolation (``jacobian`` and ``genD``; r = 4, v = 2).

    The first step is ``d |x|`` (numDeriv's, with ``eps = d`` at zero) or, with
    ``floor``, ``d max(|x|, floor)``: a parameter near zero (a small
    covariance θ) then gets a step the deviance's rounding does not swamp.

    Returns the Jacobian (``len(f) × len(x)``) and, with ``hessian``, the
    second derivatives (``len(f) × len(x) × len(x)``).
    """
    eps, r, v = d, 4, 2.0
    zero_tol = math.sqrt(np.finfo(float).eps / 7e-7)
    x = np.asarray(x, dtype=float)
    n = len(x)
    h0 = d * np.maximum(np.abs(x), floor) if floor > 0 else np.abs(d * x) + eps * (np.abs(x) < zero_tol)
    f0 = np.atleast_1d(np.asarray(func(x), dtype=float)).ravel()

    def extrapolate(a: list[np.ndarray]) -> np.ndarray:
        a = list(a)
        for m in range(1, r):
            a = [(a[k + 1] * 4.0**m - a[k]) / (4.0**m - 1) for k in range(r - m)]
        return a[0]

    jac = np.zeros((len(f0), n))
    hdiag = np.zeros((len(f0), n))
    for i in range(n):
        h = h0.copy()
        da, ha = [], []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            f1 = np.asarray(func(x + e), dtype=float).ravel()
            f2 = np.asarray(func(x - e), dtype=float).ravel()
            da.append((f1 - f2) / (2 * h[i]))
            ha.append((f1 - 2 * f0 + f2) / h[i] ** 2)
            h = h / v
        jac[:, i] = extrapolate(da)
        hdiag[:, i] = extrapolate(ha)
    if not hessian:
        return jac, None
    hess = np.zeros((len(f0), n, n))
    for i in range(n):
        hess[:, i, i] = hdiag[:, i]
        for j in range(i):
            h = h0.copy()
            da = []
            for _ in range(r):
                e = np.zeros(n)
                e[i] += h[i]
                e[j] += h[j]
                f1 = np.asarray(func(x + e), dtype=float).ravel()
                f2 = np.asarray(func(x - e), dtype=float).ravel()
                da.append(
                    (f1 - 2 * f0 + f2 - hdiag[:, i] * h[i] ** 2 - hdiag[:, j] * h[j] ** 2) / (2 * h[i] * h[j])
                )
                h = h / v
            hess[:, i, j] = hess[:, j, i] = extrapolate(da)
    return jac, hess


# =========================================================================== Satterthwaite


def _deviance_varpar(crit: _Criterion, varpar: np.ndarray, reml: bool) -> float:
    """lmerTest's ``devfun_vp``: the (RE)ML deviance at (θ, σ), σ not profiled out."""
    theta, sigma2 = varpar[:-1], varpar[-1] ** 2
    s = crit.solve(theta, reml)
    n, p = crit.design.n, crit.design.p
    C = s["C"]
    logdet_m = 2.0 * float(np.log(np.diagonal(C, axis1=1, axis2=2)).sum())
    r2 = _pwrss(crit, s)
    dev = logdet_m + r2 / sigma2 + n * math.log(2 * math.pi * sigma2)
    if reml:
        RX = np.linalg.cholesky(s["XtWX"])
        dev += 2.0 * float(np.log(np.diag(RX)).sum()) - p * math.log(2 * math.pi * sigma2)
    return dev


def _pwrss(crit: _Criterion, s: dict[str, Any]) -> float:
    """The penalized weighted residual sum of squares at β̂(θ): y'Wy - β̂'X'Wy."""
    lam, C = s["lam"], s["C"]
    cy = np.linalg.solve(C, np.einsum("gji,gj->gi", lam, crit.Zty)[..., None])[..., 0]
    ytWy = crit.yty - float(np.einsum("gq,gq->", cy, cy))
    XtWy = crit.Xty - np.einsum("gqi,gq->i", np.linalg.solve(C, s["LtZtX"]), cy)
    return ytWy - float(s["beta"] @ XtWy)


def _covbeta_varpar(crit: _Criterion, varpar: np.ndarray, reml: bool) -> np.ndarray:
    """lmerTest's ``get_covbeta``: σ² (X'V⁻¹X)⁻¹ at (θ, σ)."""
    s = crit.solve(varpar[:-1], reml)
    return varpar[-1] ** 2 * np.linalg.inv(s["XtWX"])


@dataclass
class _Satterthwaite:
    """What lmerTest's ``as_lmerModLT`` stores: ``vcov_varpar`` and the Jacobian of cov(β)."""

    vcov_beta: np.ndarray
    vcov_varpar: np.ndarray
    jac: list[np.ndarray]  # one p × p matrix per variance parameter
    hessian: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def df(self, L: np.ndarray) -> float:
        var_con = float(L @ self.vcov_beta @ L)
        grad = np.array([float(L @ J @ L) for J in self.jac])
        denom = float(grad @ self.vcov_varpar @ grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * var_con**2 / denom if denom > 0 else math.inf


def _varpar_state(
    deviance: Callable[[np.ndarray], float], covbeta: Callable[[np.ndarray], np.ndarray], varpar: np.ndarray
) -> _Satterthwaite:
    """lmerTest's ``as_lmerModLT`` for any model given its deviance and cov(β) as functions of ``varpar``."""
    varpar = np.asarray(varpar, dtype=float)
    _, hess = _richardson(lambda v: np.array([deviance(v)]), varpar, hessian=True, d=HESSIAN_STEP, floor=1.0)
    h = hess[0]
    h = (h + h.T) / 2
    evals, evecs = np.linalg.eigh(h)
    tol = 1e-8
    warnings = []
    if (evals < -tol).any():
        shown = " ".join(f"{e:.1e}" for e in evals[evals < -tol])
        warnings.append(f"Satterthwaite: the deviance's Hessian has negative eigenvalue(s) {shown}")
    pos = evals > tol
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    vcov = np.asarray(covbeta(varpar), dtype=float)
    p = vcov.shape[0]
    jac, _ = _richardson(lambda v: np.asarray(covbeta(v), dtype=float).ravel(), varpar, hessian=False)
    jac_list = [jac[:, k].reshape(p, p) for k in range(len(varpar))]
    return _Satterthwaite(vcov, 2 * h_inv, jac_list, h, warnings)


def satterthwaite_state(crit: _Criterion, theta: np.ndarray, sigma: float, reml: bool) -> _Satterthwaite:
    """Hessian of the deviance and Jacobian of cov(β) in ``(θ, σ)``, as lmerTest."""
    varpar = np.concatenate([np.asarray(theta, dtype=float), [sigma]])
    return _varpar_state(
        lambda v: _deviance_varpar(crit, v, reml), lambda v: _covbeta_varpar(crit, v, reml), varpar
    )


def satterthwaite_df(
    deviance: Callable[[np.ndarray], float],
    covbeta: Callable[[np.ndarray], np.ndarray],
    varpar: np.ndarray,
    contrast: np.ndarray,
) -> float:
    """Satterthwaite df of ``contrast'β`` for a model given as functions of its variance parameters.

    For fits made outside :func:`~sdt_survey.mixed.fit_model` (the cohort
    changes' closed-form random-intercept model): ``deviance(varpar)`` is the
    (RE)ML deviance at ``varpar = (θ..., σ)`` with σ not profiled out, and
    ``covbeta(varpar)`` is ``σ² (X'V⁻¹X)⁻¹``, as lmerTest's ``devfun_vp`` and
    ``get_covbeta``.

    Examples
    --------
    >>> import numpy as np
    >>> # the REML deviance of one mean from n = 10 observations (residual sum of squares 9): df = n - 1
    >>> n = 10
    >>> dev = lambda v: (n - 1) * np.log(2 * np.pi * v[0] ** 2) + 9.0 / v[0] ** 2 + np.log(n)
    >>> cov = lambda v: np.array([[v[0] ** 2 / n]])
    >>> round(satterthwaite_df(dev, cov, np.array([1.0]), np.array([1.0])), 6)
    9.0
    """
    return _varpar_state(deviance, covbeta, varpar).df(np.asarray(contrast, dtype=float))


def _fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: the F denominator df from the per-direction df."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


def satterthwaite_ftest(state: _Satterthwaite, beta: np.ndarray, L: np.ndarray) -> tuple[int, float, float]:
    """lmerTest's ``contestMD`` with Satterthwaite: (NumDF, DenDF, F)."""
    L = np.atleast_2d(L)
    if L.shape[0] == 1:
        var = float(L[0] @ state.vcov_beta @ L[0])
        t = float(L[0] @ beta) / math.sqrt(var)
        return 1, state.df(L[0]), t**2
    VL = L @ state.vcov_beta @ L.T
    d, P = np.linalg.eigh((VL + VL.T) / 2)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    tol = max(math.sqrt(np.finfo(float).eps) * d[0], 0)
    q = int((d > tol).sum())
    PtL = (P.T @ L)[:q]
    if q == 1:
        var = float(PtL[0] @ state.vcov_beta @ PtL[0])
        return 1, state.df(PtL[0]), float(PtL[0] @ beta) ** 2 / var
    F = float(np.sum((PtL @ beta) ** 2 / d[:q])) / q
    nu = np.array([state.df(PtL[m]) for m in range(q)])
    return q, _fstat_ddf(nu), F


# =========================================================================== Kenward-Roger


def _random_design(design: _Design, crit: _Criterion, theta: np.ndarray, sigma2: float):
    """The G_k of pbkrtest's ``get_SigmaG`` (as n × m factors U V') and the γ_k, residual last."""
    n = design.n
    rel_re, rel_vc = crit.relative_covariances(theta)
    factors: list[tuple[np.ndarray, np.ndarray]] = []
    gammas: list[float] = []

    def expand(block_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
        _, inverse = np.unique(levels, return_inverse=True)
        Z = np.zeros((n, int(inverse.max()) + 1))
        Z[np.arange(n), inverse.ravel()] = block_values
        return Z

    re = design.re_block
    if re is not None:
        Zs = [expand(re.values[:, j], re.levels) for j in range(len(re.terms))]
        for i, j in zip(*crit.tril, strict=True):
            if i == j:
                factors.append((Zs[i], Zs[i]))
            else:  # Z_i Z_j' + Z_j Z_i'
                factors.append((np.hstack([Zs[i], Zs[j]]), np.hstack([Zs[j], Zs[i]])))
            gammas.append(float(rel_re[i, j] * sigma2))
    for c, b in enumerate(design.vc_blocks):
        Z = expand(b.values[:, 0], b.levels)
        factors.append((Z, Z))
        gammas.append(float(rel_vc[c] * sigma2))
    return factors, np.array([*gammas, sigma2])


@dataclass
class _KenwardRoger:
    """pbkrtest's ``vcovAdj``: Φ_A with its attributes P and W."""

    phi: np.ndarray  # unadjusted cov(β)
    phi_adj: np.ndarray
    P: list[np.ndarray]
    W: np.ndarray

    def _A(self, L: np.ndarray) -> tuple[float, float]:
        Theta = L.T @ np.linalg.solve(L @ self.phi @ L.T, L)
        ThetaPhi = Theta @ self.phi
        u = [ThetaPhi @ P @ self.phi for P in self.P]
        A1 = A2 = 0.0
        k = len(self.P)
        for i in range(k):
            for j in range(i, k):
                e = 1.0 if i == j else 2.0
                A1 += e * self.W[i, j] * np.trace(u[i]) * np.trace(u[j])
                A2 += e * self.W[i, j] * float(np.sum(u[i] * u[j].T))
        return A1, A2

    def _ddf(self, L: np.ndarray, q: int) -> tuple[float, float]:
        """pbkrtest's denominator df of the test of ``L`` (q numerator df), with its ``A2``."""
        A1, A2 = self._A(L)
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        c1 = g / (3 * q + 2 * (1 - g))
        c2 = (q - g) / (3 * q + 2 * (1 - g))
        c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
        V0 = 1 + c1 * B
        V0 = 0.0 if abs(V0) < 1e-10 else V0
        V1, V2 = 1 - c2 * B, 1 - c3 * B
        x = 1 - A2 / q
        ratio = 1.0 if abs(x) < 1e-14 and abs(V1) < 1e-14 else x / V1
        rho = ratio**2 * V0 / V2 / q
        return float(4 + (q + 2) / (q * rho - 1)), A2

    def ftest(self, beta: np.ndarray, L: np.ndarray) -> tuple[int, float, float, float]:
        """pbkrtest's ``.KR_adjust``: (q, ddf, F scaled, F.scaling) as lmerTest reports them."""
        L = np.atleast_2d(L)
        q = int(np.linalg.matrix_rank(L))
        df2, A2 = self._ddf(L, q)
        scaling = 1.0 if abs(df2 - 2) < 0.01 else df2 * (1 - A2 / q) / (df2 - 2)
        Lb = L @ beta
        wald = float(Lb @ np.linalg.solve(L @ self.phi_adj @ L.T, Lb))
        return q, df2, scaling * wald / q, float(scaling)

    def df(self, L: np.ndarray) -> float:
        """pbkrtest's ``Lb_ddf`` (q = number of rows of L)."""
        L = np.atleast_2d(L)
        return self._ddf(L, L.shape[0])[0]


def kenward_roger_state(
    design: _Design, crit: _Criterion, theta: np.ndarray, sigma2: float, phi: np.ndarray
) -> _KenwardRoger:
    """pbkrtest's ``vcovAdj`` (``vcovAdj_internal``) for a REML fit."""
    n = design.n
    if n > KR_MAX_OBS:
        raise ModelFitError(
            f"Kenward-Roger works with {n} x {n} matrices (as pbkrtest); above {KR_MAX_OBS} observations "
            "use ddf='Satterthwaite'"
        )
    factors, gammas = _random_design(design, crit, theta, sigma2)
    Sigma = sigma2 * np.eye(n)
    for (U, V), gamma in zip(factors, gammas[:-1], strict=True):
        Sigma += gamma * (U @ V.T)
    c = linalg.cho_factor(Sigma, lower=True)
    Sinv = linalg.cho_solve(c, np.eye(n))
    X = design.X
    T = Sinv @ X
    # H_k = G_k Σ⁻¹ = U_k (V_k' Σ⁻¹);  O_k = H_k X.
    H = [U @ (V.T @ Sinv) for U, V in factors] + [Sinv]
    HX = [Hk @ X for Hk in H]
    k = len(H)
    P = [-(HX[r].T @ T) for r in range(k)]
    P = [(Pk + Pk.T) / 2 for Pk in P]
    Q = {(r, s): HX[r].T @ Sinv @ HX[s] for r in range(k) for s in range(r, k)}
    IE2 = np.zeros((k, k))
    for i in range(k):
        phiP = phi @ P[i]
        for j in range(i, k):
            ktrace = float(np.sum(H[i].T * H[j]))
            IE2[i, j] = IE2[j, i] = (
                ktrace - 2 * float(np.sum(phi * Q[(i, j)])) + float(np.sum(phiP * (P[j] @ phi)))
            )
    condi = float(np.min(np.abs(np.linalg.eigvalsh(IE2))))
    W = 2 * np.linalg.inv(IE2) if condi > 1e-10 else 2 * np.linalg.pinv(IE2)
    W = (W + W.T) / 2
    p = X.shape[1]
    UU = np.zeros((p, p))
    for i in range(k - 1):
        for j in range(i + 1, k):
            UU += W[i, j] * (Q[(i, j)] - P[i] @ phi @ P[j])
    UU = UU + UU.T
    for i in range(k):
        UU += W[i, i] * (Q[(i, i)] - P[i] @ phi @ P[i])
    phi_adj = phi + 2 * phi @ UU @ phi
    return _KenwardRoger(phi, phi_adj, P, W)


# =========================================================================== hypotheses


def _doolittle_rows(X: np.ndarray) -> np.ndarray:
    """``t(doolittle(crossprod(X))$L)``: the unit upper-triangular factor of X'X (Type I contrasts)."""
    R = np.linalg.cholesky(X.T @ X).T
    return R / np.diag(R)[:, None]


def type3_contrasts(design_info, frame: pd.DataFrame, X: np.ndarray) -> dict[str, np.ndarray]:
    """lmerTest's Type III hypotheses (``get_contrasts_type3``) for each term of the fixed part.

    Treatment-coded factors (patsy's default, as R's ``contr.treatment``); a
    model with one term uses the Type I contrasts, as lmerTest.
    """
    import patsy

    terms = [t for t in design_info.terms if t.factors]
    slices = design_info.term_slices
    names = {t: t.name() for t in terms}
    if X.shape[1] <= 1 or len(terms) <= 1:
        U = _doolittle_rows(X)
        return {names[t]: U[slices[t]] for t in terms}
    # The 'complete' design (every level of every factor, products within terms).
    columns = [np.ones((len(frame), 1))] if any(not t.factors for t in design_info.terms) else []
    rd_slices = {}
    start = sum(c.shape[1] for c in columns)
    for t in terms:
        block = np.ones((len(frame), 1))
        for f in t.factors:
            info = design_info.factor_infos[f]
            values = f.eval(info.state, frame)
            if info.type == "categorical":
                codes = np.asarray(
                    patsy.categorical.categorical_to_int(values, info.categories, patsy.NAAction(), origin=f)
                )
                m = np.zeros((len(frame), len(info.categories)))
                m[np.arange(len(frame)), codes] = 1.0
            else:
                m = np.asarray(values, dtype=float).reshape(len(frame), -1)
            block = np.einsum("ni,nj->nij", block, m).reshape(len(frame), -1)
        columns.append(block)
        rd_slices[t] = slice(start, start + block.shape[1])
        start += block.shape[1]
    rdX = np.hstack(columns)
    L = np.linalg.pinv(X) @ rdX
    L = _zapsmall(L).T  # rows: columns of rdX; columns: columns of X
    factor_sets = {t: set(t.factors) for t in terms}
    for t in sorted(terms, key=lambda t: len(t.factors), reverse=True):
        contains = [u for u in terms if u is not t and factor_sets[t] < factor_sets[u]]
        if contains:
            cols = np.concatenate([np.arange(X.shape[1])[slices[u]] for u in contains])
            A = L[:, cols]
            Y = L[:, slices[t]]
            coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
            L[:, slices[t]] = _zapsmall(Y - A @ coef)
    # Rows of L that are the columns of X (treatment coding keeps a subset of the complete design).
    keep = []
    for j in range(X.shape[1]):
        match = np.flatnonzero(np.all(np.isclose(rdX, X[:, [j]], rtol=0, atol=1e-10), axis=0))
        if not len(match):
            raise ModelFitError(
                "Type III tests need treatment-coded factors (patsy's default, as R's contr.treatment); "
                f"column {j + 1} of the fixed design is not in the complete design"
            )
        keep.append(match[0])
    L = L[keep]
    out = {}
    for t in terms:
        Lt = L[:, slices[t]].T
        out[names[t]] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out


def _zapsmall(a: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest value."""
    mx = float(np.max(np.abs(a))) if a.size else 0.0
    if mx == 0 or not np.isfinite(mx):
        return a
    return np.round(a, max(0, digits - math.ceil(math.log10(mx))))


# =========================================================================== tables


def t_table(names: list[str], beta: np.ndarray, se: np.ndarray, df: np.ndarray) -> pd.DataFrame:
    """df, t and two-sided p (t reference; df = ∞ is the normal) per coefficient."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    p = np.where(np.isinf(df), 2 * norm_sf(np.abs(t)), 2 * t_sf(np.abs(t), np.where(np.isinf(df), 1, df)))
    return pd.DataFrame({"df": df, "t": t, "p": p}, index=pd.Index(names, name="term"))


# =========================================================================== the state a result keeps


class DDFState:
    """What a fitted model needs for its small-sample tests; Kenward-Roger computed when first asked."""

    def __init__(
        self,
        design: _Design,
        design_info,
        frame: pd.DataFrame,
        core,
        reml: bool,
        labels: dict[str, str] | None = None,
    ):
        self.labels = dict(labels or {})  # patsy codes shown as the user wrote them (splines)
        self.design = design
        self.design_info = design_info
        self.frame = frame
        self.crit = core.criterion
        self.theta = np.asarray(core.theta, dtype=float)
        self.sigma2 = float(core.sigma2)
        self.beta = np.asarray(core.beta, dtype=float)
        self.vcov = np.asarray(core.vcov, dtype=float)
        self.reml = reml
        self._satt: _Satterthwaite | None = None
        self._kr: _KenwardRoger | None = None
        self._contrasts: dict[str, np.ndarray] | None = None

    @property
    def satterthwaite(self) -> _Satterthwaite:
        if self._satt is None:
            with single_blas_thread():  # many small problems: BLAS threads only add wake-ups
                self._satt = satterthwaite_state(self.crit, self.theta, math.sqrt(self.sigma2), self.reml)
        return self._satt

    @property
    def kenward_roger(self) -> _KenwardRoger:
        if not self.reml:
            raise ModelFitError(
                "Kenward-Roger's method is only available for REML fits (as lmerTest): refit with reml=True"
            )
        if self._kr is None:
            with single_blas_thread():
                self._kr = kenward_roger_state(self.design, self.crit, self.theta, self.sigma2, self.vcov)
        return self._kr

    def coefficient_df(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """(df, se) per coefficient under ``method`` (KR uses the adjusted covariance, as lmerTest)."""
        p = self.design.p
        eye = np.eye(p)
        if method == "Satterthwaite":
            state = self.satterthwaite
            return np.array([state.df(eye[j]) for j in range(p)]), np.sqrt(np.diag(self.vcov))
        if method == "Kenward-Roger":
            kr = self.kenward_roger
            return np.array([kr.df(eye[j]) for j in range(p)]), np.sqrt(np.diag(kr.phi_adj))
        return np.full(p, math.inf), np.sqrt(np.diag(self.vcov))

    def contrasts(self) -> dict[str, np.ndarray]:
        if self._contrasts is None:
            named = type3_contrasts(self.design_info, self.frame, self.design.X)
            for code, label in self.labels.items():
                named = {term.replace(code, label): L for term, L in named.items()}
            self._contrasts = named
        return self._contrasts

    def anova(self, method: str) -> pd.DataFrame:
        """lmerTest's Type III table: NumDF, DenDF, F, p per term (``none``: Wald F, DenDF = ∞)."""
        rows = {}
        for term, L in self.contrasts().items():
            if L.shape[0] == 0:
                continue
            if method == "Kenward-Roger":
                q, ddf, F, _ = self.kenward_roger.ftest(self.beta, L)
            elif method == "Satterthwaite":
                q, ddf, F = satterthwaite_ftest(self.satterthwaite, self.beta, L)
            else:
                Lb = L @ self.beta
                q = int(np.linalg.matrix_rank(L))
                F, ddf = float(Lb @ np.linalg.solve(L @ self.vcov @ L.T, Lb)) / q, math.inf
            p = chi2_sf(F * q, q) if math.isinf(ddf) else f_sf(F, q, ddf)
            rows[term] = {"NumDF": q, "DenDF": ddf, "F": F, "p": float(p)}
        table = pd.DataFrame.from_dict(rows, orient="index", columns=["NumDF", "DenDF", "F", "p"])
        table.index.name = "term"
        return table

    def table(self, method: str, names: list[str]) -> pd.DataFrame:
        df, se = self.coefficient_df(method)
        return t_table(names, self.beta, se, df)
