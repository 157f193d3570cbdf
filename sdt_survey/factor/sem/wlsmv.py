"""Ordinal confirmatory factor analysis by WLSMV, reproducing lavaan's ``cfa(..., ordered = TRUE)``.

lavaan 0.6-14's defaults for ordered items, step by step (checked against
goldens made by R, ``tests/goldens/lavaan_wlsmv.R``):

* **Thresholds** of each item from its marginal proportions (the univariate
  probit maximum-likelihood estimates, ``qnorm`` of the cumulative proportions).
* **Polychoric correlations** by the two-step method: for each pair, the
  bivariate-normal likelihood of the contingency table maximized over the
  correlation with the thresholds held at their univariate values (lavaan's
  ``lav_bvord_cor_twostep_fit``; psych's ``polychoric`` differs slightly).
* **Gamma**, the asymptotic covariance of ``sqrt(N)`` times (thresholds,
  correlations), from the casewise scores with the two-step correction
  (Muthen 1984, lavaan's ``muthen1984``): ``N B^-1 (S'S) B^-T`` with ``B`` the
  block-triangular outer-product information.
* **DWLS** estimates: ``(s - sigma(theta))' W (s - sigma(theta))`` minimized
  with ``W = diag(Gamma)^-1``; robust standard errors from the sandwich
  ``(D'WD)^-1 D'W Gamma W D (D'WD)^-1 / N``.
* **Test**: ``chisq = N F``; the mean-and-variance adjusted (scaled-shifted)
  statistic ``a chisq + b`` with ``a = sqrt(df / tr((U Gamma)^2))`` and
  ``b = df - a tr(U Gamma)``, ``U = W - W D (D'WD)^-1 D'W``; the baseline
  (independence) model likewise; CFI, TLI and RMSEA from the plain and the
  scaled statistics (lavaan's ``*.scaled``).
* **Parameterization**: ``"delta"`` (lavaan's default: latent responses of
  unit variance, residual variances ``1 - R^2`` not free) or ``"theta"``
  (residual variances fixed to 1, scale factors derived).
* **Robust CFI, TLI, RMSEA** (``fitMeasures``' ``*.robust``): the catML
  approach of lavaan 0.6-14 (Savalei 2021), see :func:`_catml_robust`.
* lavaan takes ``N - 1`` for the DWLS test statistic, the robust standard
  errors and the RMSEAs (``lav_utils_get_ntotal``); so does this module.

The model is a :class:`~sdt_survey.factor.sem.CFAModel` and its parameter table
comes from :mod:`sdt_survey.factor.sem.spec`; the items must be ordinal (a few
integer categories each).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ...errors import CFAError
from ...results import Result, jsonable
from ...stats.bivariate_normal import bvn_cdf_grid
from .fit import fit_cfi, fit_rmsea, fit_tli
from .spec import BETA, LAMBDA, PSI, THETA, CFAModel, Spec, as_model, build_spec, check_identification
from .start import start_values

__all__ = ["OrdinalCFAResult", "cfa_ordinal"]

PARAMETERIZATIONS = ("delta", "theta")
#: The fit measures of :meth:`OrdinalCFAResult.to_dict` (lavaan's names, dots as underscores).
FIT_KEYS = (
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "chisq_shift_parameter",
    "baseline_chisq",
    "baseline_df",
    "baseline_chisq_scaled",
    "cfi",
    "tli",
    "rmsea",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "srmr",
    "npar",
    "ntotal",
)


# ============================================================ sample statistics


@dataclass
class _SampleStats:
    """Thresholds, polychoric correlations and their asymptotic covariance (Gamma)."""

    names: list[str]
    levels: list[np.ndarray]  # observed categories of each item
    thresholds: list[np.ndarray]
    cor: np.ndarray
    gamma: np.ndarray  # asymptotic covariance of sqrt(N) (thresholds, vech(cor, no diagonal))
    n: int

    @property
    def th_vector(self) -> np.ndarray:
        return np.concatenate(self.thresholds)

    @property
    def cor_vector(self) -> np.ndarray:
        return _vech_off(self.cor)

    @property
    def obs(self) -> np.ndarray:
        return np.concatenate([self.th_vector, self.cor_vector])


@functools.lru_cache(maxsize=32)
def _vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Column-major lower triangle without the diagonal (lavaan's vech(diagonal = FALSE))."""
    rows, cols = [], []
    for j in range(p):
        for i in range(j + 1, p):
            rows.append(i)
            cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def _vech_off(m: np.ndarray) -> np.ndarray:
    r, c = _vech_index(m.shape[0])
    return m[r, c]


def _phi2(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """Standard bivariate normal density; 0 where h or k is infinite."""
    s = 1.0 - rho * rho
    with np.errstate(invalid="ignore", over="ignore"):
        q = (h * h - 2 * rho * h * k + k * k) / s
        out = np.exp(-0.5 * q) / (2 * math.pi * math.sqrt(s))
    return np.where(np.isfinite(h) & np.isfinite(k), out, 0.0)


def _pair_tables(t1: np.ndarray, t2: np.ndarray, rho: float):
    """Cell probabilities and their derivatives wrt rho and each threshold of either item."""
    a = np.r_[-np.inf, t1, np.inf]
    b = np.r_[-np.inf, t2, np.inf]
    prob = bvn_cdf_grid(t1, t2, rho)
    hh, kk = np.meshgrid(a, b, indexing="ij")
    dens = _phi2(hh, kk, rho)
    d_rho = dens[1:, 1:] - dens[:-1, 1:] - dens[1:, :-1] + dens[:-1, :-1]
    s = math.sqrt(1.0 - rho * rho)
    # dP[a, b] / d t1_k = phi(t1_k) [Phi((b_j - rho t1_k)/s) - Phi((b_{j-1} - rho t1_k)/s)],
    # with + at a = k and - at a = k + 1.
    d_t1 = np.zeros((len(t1), *prob.shape))
    for k, tk in enumerate(t1):
        cdf = special.ndtr((b - rho * tk) / s)
        col = stats.norm.pdf(tk) * (cdf[1:] - cdf[:-1])
        d_t1[k, k, :] += col
        d_t1[k, k + 1, :] -= col
    d_t2 = np.zeros((len(t2), *prob.shape))
    for k, tk in enumerate(t2):
        cdf = special.ndtr((a - rho * tk) / s)
        row = stats.norm.pdf(tk) * (cdf[1:] - cdf[:-1])
        d_t2[k, :, k] += row
        d_t2[k, :, k + 1] -= row
    return prob, d_rho, d_t1, d_t2


def _rho_derivatives(t1: np.ndarray, t2: np.ndarray, rho: float):
    """Cell probabilities and their first and second derivatives with respect to rho."""
    a = np.r_[-np.inf, t1, np.inf]
    b = np.r_[-np.inf, t2, np.inf]
    prob = bvn_cdf_grid(t1, t2, rho)
    hh, kk = np.meshgrid(a, b, indexing="ij")
    dens = _phi2(hh, kk, rho)
    s = 1.0 - rho * rho
    with np.errstate(invalid="ignore"):
        q = hh * hh - 2 * rho * hh * kk + kk * kk
        dlog = rho / s + (hh * kk * s - rho * q) / (s * s)
        ddens = np.where(dens > 0, dens * dlog, 0.0)

    def cells(m: np.ndarray) -> np.ndarray:
        return m[1:, 1:] - m[:-1, 1:] - m[1:, :-1] + m[:-1, :-1]

    return prob, cells(dens), cells(ddens)


def _polychoric_ml(tab: np.ndarray, t1: np.ndarray, t2: np.ndarray, start: float = 0.0) -> float:
    """Two-step polychoric correlation: the ML correlation with the thresholds fixed (Newton steps)."""
    ok = tab > 0
    n_ok = tab[ok]

    def loglik(rho: float) -> float:
        prob = bvn_cdf_grid(t1, t2, rho)[ok]
        return float(np.sum(n_ok * np.log(np.maximum(prob, 1e-300))))

    rho = float(np.clip(start, -0.99, 0.99))
    value = loglik(rho)
    for _ in range(100):
        prob, d1, d2 = _rho_derivatives(t1, t2, rho)
        prob, d1, d2 = prob[ok], d1[ok], d2[ok]
        grad = float(np.sum(n_ok * d1 / prob))
        hess = float(np.sum(n_ok * (d2 / prob - (d1 / prob) ** 2)))
        step = -grad / hess if hess < 0 else grad / float(np.sum(n_ok * (d1 / prob) ** 2))
        t = 1.0
        while True:
            new = float(np.clip(rho + t * step, -0.9999, 0.9999))
            new_value = loglik(new)
            if new_value >= value - 1e-12 * abs(value) or t < 1e-8:
                break
            t *= 0.5
        done = abs(new - rho) < 1e-12
        rho, value = new, new_value
        if done:
            break
    return rho


def _sample_stats(x: np.ndarray, names: list[str]) -> _SampleStats:
    n, p = x.shape
    codes = np.empty((n, p), dtype=int)
    levels, thresholds = [], []
    for j in range(p):
        lev, inv = np.unique(x[:, j], return_inverse=True)
        if len(lev) < 2:
            raise CFAError(f"item {names[j]!r} has the same answer from everyone; drop it from the model")
        codes[:, j] = inv.ravel()
        levels.append(lev)
        counts = np.bincount(codes[:, j], minlength=len(lev))
        thresholds.append(special.ndtri(np.cumsum(counts)[:-1] / n))
    nth = [len(t) for t in thresholds]
    th_start = np.r_[0, np.cumsum(nth)[:-1]].astype(int)
    n_th = int(sum(nth))

    # Threshold scores (N x n_th).
    sc_th = np.zeros((n, n_th))
    for j in range(p):
        t = np.r_[-np.inf, thresholds[j], np.inf]
        c = codes[:, j]
        upper, lower = t[c + 1], t[c]
        prob = special.ndtr(upper) - special.ndtr(lower)
        has_up = c < nth[j]
        has_lo = c > 0
        rows = np.arange(n)
        sc_th[rows[has_up], th_start[j] + c[has_up]] = stats.norm.pdf(upper[has_up]) / prob[has_up]
        sc_th[rows[has_lo], th_start[j] + c[has_lo] - 1] = -stats.norm.pdf(lower[has_lo]) / prob[has_lo]

    vr, vc = _vech_index(p)
    pstar = len(vr)
    cor = np.eye(p)
    sc_cor = np.zeros((n, pstar))
    a21 = np.zeros((pstar, n_th))
    for idx, (i, j) in enumerate(zip(vr, vc, strict=True)):
        t1, t2 = thresholds[i], thresholds[j]
        tab = np.zeros((nth[i] + 1, nth[j] + 1))
        np.add.at(tab, (codes[:, i], codes[:, j]), 1.0)
        rho = _polychoric_ml(tab, t1, t2, start=float(np.corrcoef(codes[:, i], codes[:, j])[0, 1]))
        cor[i, j] = cor[j, i] = rho
        prob, d_rho, d_t1, d_t2 = _pair_tables(t1, t2, rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_rho = np.where(prob > 0, d_rho / prob, 0.0)
            s_t1 = np.where(prob > 0, d_t1 / prob, 0.0)
            s_t2 = np.where(prob > 0, d_t2 / prob, 0.0)
        ci, cj = codes[:, i], codes[:, j]
        sc_cor[:, idx] = s_rho[ci, cj]
        w = tab * s_rho
        a21[idx, th_start[i] : th_start[i] + nth[i]] = np.einsum("ab,kab->k", w, s_t1)
        a21[idx, th_start[j] : th_start[j] + nth[j]] = np.einsum("ab,kab->k", w, s_t2)

    sc = np.hstack([sc_th, sc_cor])
    inner = sc.T @ sc
    a11 = np.zeros((n_th, n_th))
    for j in range(p):
        sl = slice(th_start[j], th_start[j] + nth[j])
        a11[sl, sl] = inner[sl, sl]
    a22 = np.einsum("ij,ij->j", sc_cor, sc_cor)
    a11_inv = np.linalg.inv(a11)
    a22_inv = 1.0 / a22
    b_inv = np.zeros((n_th + pstar, n_th + pstar))
    b_inv[:n_th, :n_th] = a11_inv
    b_inv[n_th:, :n_th] = -(a22_inv[:, None] * a21) @ a11_inv
    b_inv[n_th:, n_th:] = np.diag(a22_inv)
    gamma = b_inv @ inner @ b_inv.T * n
    return _SampleStats(list(names), levels, thresholds, cor, (gamma + gamma.T) / 2, n)


# ===================================================================== model


@dataclass
class _OrdinalModel:
    """The parameter table (from cfa.py) with thresholds, and the implied (thresholds, correlations)."""

    spec: Spec
    parameterization: str
    n_th: list[int]
    q_model: int  # free parameters of the factor model (thresholds follow)

    @property
    def q(self) -> int:
        return self.q_model + sum(self.n_th)

    def __post_init__(self) -> None:
        spec = self.spec
        # Rows filling each matrix, as index arrays (values: free parameter or fixed value).
        self._fill = {}
        for code in (LAMBDA, BETA, PSI, THETA):
            rows = np.flatnonzero((spec.mat == code) & ~((spec.free < 0) & np.isnan(spec.value)))
            self._fill[code] = (spec.row[rows], spec.col[rows], spec.free[rows], spec.value[rows])

    def matrices(self, x: np.ndarray):
        spec = self.spec
        p, m = len(spec.ov), len(spec.lv)
        lam, beta, psi, theta = np.zeros((p, m)), np.zeros((m, m)), np.zeros((m, m)), np.zeros((p, p))
        for code, mat in ((LAMBDA, lam), (BETA, beta), (PSI, psi), (THETA, theta)):
            r, c, free, fixed = self._fill[code]
            vals = np.where(free >= 0, x[np.maximum(free, 0)], fixed)
            mat[r, c] = vals
            if code in (PSI, THETA):
                mat[c, r] = vals
        inv_ib = np.linalg.inv(np.eye(m) - beta) if beta.any() else np.eye(m)
        lv_cov = inv_ib @ psi @ inv_ib.T
        common = lam @ lv_cov @ lam.T
        if self.parameterization == "delta":
            theta[np.diag_indices(p)] = 1.0 - np.diag(common)
            scale = np.ones(p)
        else:
            scale = 1.0 / np.sqrt(np.diag(common) + np.diag(theta))
        sigma = common + theta
        return lam, lv_cov, theta, sigma, scale

    def implied(self, x: np.ndarray) -> np.ndarray:
        _, _, _, sigma, scale = self.matrices(x)
        tau = x[self.q_model :]
        reps = np.repeat(scale, self.n_th)
        cor = sigma * np.outer(scale, scale)
        return np.concatenate([tau * reps, _vech_off(cor)])

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        base = self.implied(x)
        jac = np.empty((len(base), len(x)))
        for t in range(len(x)):
            h = 1e-6 * max(1.0, abs(x[t]))
            up, down = x.copy(), x.copy()
            up[t] += h
            down[t] -= h
            jac[:, t] = (self.implied(up) - self.implied(down)) / (2 * h)
        return jac


def _ordinal_spec(model: CFAModel, parameterization: str) -> Spec:
    spec = build_spec(model, 1, meanstructure=False)
    check_identification(spec, False)
    ov = set(spec.ov)
    free = spec.free.copy()
    value = spec.value.copy()
    for k in range(spec.n_rows):
        if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in ov:
            if spec.free[k] >= 0 and spec.user[k]:
                raise CFAError(
                    f"'{spec.lhs[k]} ~~ {spec.rhs[k]}': the residual variance of an ordinal item is not a "
                    "free parameter (delta: 1 - R^2; theta: fixed to 1)"
                )
            free[k] = -1
            value[k] = np.nan if parameterization == "delta" else 1.0
    used = sorted({int(f) for f in free if f >= 0})
    renumber = {old: new for new, old in enumerate(used)}
    free = np.array([renumber[f] if f >= 0 else -1 for f in free], dtype=int)
    spec.free = free
    spec.value = value
    spec.n_free = len(used)
    spec.start = np.where(free >= 0, spec.start, np.nan)
    return spec


# ================================================================== estimation


def _dwls(om: _OrdinalModel, obs: np.ndarray, w: np.ndarray, x0: np.ndarray, max_iter: int = 200):
    """Gauss-Newton with a backtracking line search on F = (s - sigma)' W (s - sigma)."""

    def objective(x: np.ndarray) -> float:
        try:
            r = obs - om.implied(x)
        except (np.linalg.LinAlgError, FloatingPointError):
            return math.inf
        value = float(r @ (w * r))
        return value if math.isfinite(value) else math.inf

    x = x0.copy()
    f = objective(x)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        jac = om.jacobian(x)
        r = obs - om.implied(x)
        grad = jac.T @ (w * r)
        info = jac.T @ (w[:, None] * jac)
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        decrement = float(grad @ step)
        if decrement < 1e-16 or np.abs(step).max() < 1e-9:
            converged = True
            break
        t = 1.0
        while t > 1e-10:
            f_new = objective(x + t * step)
            if f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
        else:
            converged = decrement < 1e-12
            break
        x = x + t * step
        f = f_new
    return x, f, converged, iterations


def _catml_robust(
    sample_cor: np.ndarray,
    implied_cor: np.ndarray,
    jac: np.ndarray,
    w: np.ndarray,
    info_inv: np.ndarray,
    gamma: np.ndarray,
    n: int,
    df: int,
) -> dict[str, float]:
    """lavaan 0.6-14's robust CFI, TLI and RMSEA for ordinal data (Savalei's catML approach).

    The model at the DWLS estimates is evaluated by normal-theory ML against the
    polychoric correlations (``XX3``, not refitted), and scaled by
    ``c3 = tr(U' V U Gamma) / df`` with ``V`` the ML weight of the correlations
    at the implied correlations and ``U = I - D (D'WD)^-1 D'W`` (correlation
    rows); the baseline's scaling is ``tr(Gamma) / df_null`` (``lav_fit_catml_dwls``).
    """
    nan = {"cfi_robust": math.nan, "tli_robust": math.nan, "rmsea_robust": math.nan}
    p = sample_cor.shape[0]
    if np.linalg.eigvalsh(sample_cor)[0] < np.finfo(float).eps ** 0.5 or df <= 0:
        return nan
    try:
        k = np.linalg.inv(implied_cor)
        logdet = np.linalg.slogdet(implied_cor)
        if logdet[0] <= 0:
            return nan
    except np.linalg.LinAlgError:
        return nan
    logdet_s = np.linalg.slogdet(sample_cor)[1]
    xx3 = n * float(logdet[1] + np.sum(sample_cor * k) - logdet_s - p)
    xx3_null = -n * float(logdet_s)
    vr, vc = _vech_index(p)
    n_th = len(w) - len(vr)
    dc, wc, gc = jac[n_th:], w[n_th:], gamma[n_th:, n_th:]
    u = np.eye(len(vr)) - (dc @ info_inv @ dc.T) * wc[None, :]
    v = k[np.ix_(vc, vr)] * k[np.ix_(vr, vc)] + k[np.ix_(vr, vr)] * k[np.ix_(vc, vc)]
    c3 = float(np.sum((u.T @ v @ u) * gc.T)) / df
    df_null = len(vr)
    c3_null = float(np.trace(gc)) / df_null
    return {
        "cfi_robust": fit_cfi(xx3, df, xx3_null, df_null, c3, c3_null),
        "tli_robust": fit_tli(xx3, df, xx3_null, df_null, c3, c3_null),
        "rmsea_robust": fit_rmsea(xx3, df, n - 1, 1, c3),
    }


def _scaled_shifted(u_gamma: np.ndarray, chisq: float, df: int) -> tuple[float, float, float]:
    """Scaled-shifted statistic, scaling factor ``1/a`` and shift ``b`` (lavaan's defaults for WLSMV)."""
    if df <= 0:
        return chisq, math.nan, math.nan
    tr1 = float(np.trace(u_gamma))
    tr2 = float(np.sum(u_gamma * u_gamma.T))
    a = math.sqrt(df / tr2)
    shift = df - a * tr1
    return a * chisq + shift, 1.0 / a, shift


# ===================================================================== results


@dataclass
class OrdinalCFAResult(Result):
    """An ordinal CFA fitted by WLSMV.

    Attributes
    ----------
    model : CFAModel
    parameterization : {"delta", "theta"}
    n_used, n_dropped : int
    fit : dict
        lavaan's fit measures (see :data:`FIT_KEYS`; dots as underscores).
    parameters : pandas.DataFrame
        ``lhs, op, rhs, est, se, z, pvalue, std_all`` in lavaan's
        ``parameterEstimates()`` order, thresholds as ``item | t1``.
    thresholds : pandas.Series
        Sample thresholds (``item|t1`` ...).
    polychoric : pandas.DataFrame
        Sample polychoric correlations (lavaan's two-step estimates).
    gamma : numpy.ndarray
        Asymptotic covariance of the sample statistics (lavaan's NACOV).
    notes : list of str
        What was done to the data on the way in (rows left out, how items were treated).
    """

    model: CFAModel
    parameterization: str
    n_used: int
    n_dropped: int
    converged: bool
    iterations: int
    fit: dict[str, Any]
    parameters: pd.DataFrame
    thresholds: pd.Series
    polychoric: pd.DataFrame
    gamma: np.ndarray = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    estimator: str = "WLSMV"
    missing: str = "listwise"
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.parameters.copy()

    def to_dict(self) -> dict[str, Any]:
        """``{"estimator": "WLSMV", "missing", "n_used", "fit", "parameters", "warnings", "notes"}``."""
        keys = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]
        return jsonable(
            {
                "estimator": self.estimator,
                "missing": self.missing,
                "n_used": self.n_used,
                "parameterization": self.parameterization,
                "fit": {k: self.fit[k] for k in FIT_KEYS},
                "parameters": self.parameters[keys].to_dict("records"),
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def summary(self, digits: int = 3) -> str:
        """A report laid out like lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        fit = self.fit
        w = 54

        def fmt(v: Any, width: int = 0) -> str:
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                text = ""
            elif isinstance(v, (int, np.integer, str)):
                text = str(v)
            else:
                text = f"{v:.{digits}f}"
            return text.rjust(width) if width else text

        def line(label: str, a: Any, b: Any = None) -> str:
            text = "  " + label + fmt(a).rjust(w - 2 - len(label))
            return text + (fmt(b, 12) if b is not None else "")

        status = "ended normally" if self.converged else "did NOT converge"
        out = [f"Ordinal CFA (lavaan conventions) {status} after {self.iterations} iterations", ""]
        out.append(line("Estimator", "DWLS"))
        out.append(line("Parameterization", self.parameterization))
        out.append(line("Number of model parameters", fit["npar"]))
        out.append(line("Number of observations", self.n_used))
        if self.n_dropped:
            out.append(line("Rows left out (listwise)", self.n_dropped))
        out += ["", "Model Test User Model:", "", "  " + " " * (w - 2 - 11) + "   Standard      Scaled"]
        out.append(line("Test Statistic", fit["chisq"], fit["chisq_scaled"]))
        out.append(line("Degrees of freedom", fit["df"], fit["df_scaled"]))
        out.append(line("P-value (Chi-square)", fit["pvalue"], fit["pvalue_scaled"]))
        out.append(line("Scaling correction factor", "", fit["chisq_scaling_factor"]))
        out.append(line("Shift parameter", "", fit["chisq_shift_parameter"]))
        out.append("    simple second-order correction")
        out += ["", "User Model versus Baseline Model:", ""]
        out.append(line("Comparative Fit Index (CFI)", fit["cfi"], fit["cfi_scaled"]))
        out.append(line("Tucker-Lewis Index (TLI)", fit["tli"], fit["tli_scaled"]))
        out += ["", "Root Mean Square Error of Approximation:", ""]
        out.append(line("RMSEA", fit["rmsea"], fit["rmsea_scaled"]))
        out += ["", "Robust (catML) indices:", ""]
        out.append(line("Robust Comparative Fit Index (CFI)", fit["cfi_robust"]))
        out.append(line("Robust Tucker-Lewis Index (TLI)", fit["tli_robust"]))
        out.append(line("Robust RMSEA", fit["rmsea_robust"]))
        out += ["", "Standardized Root Mean Square Residual:", ""]
        out.append(line("SRMR", fit["srmr"]))
        out += ["", "Parameter Estimates:", ""]
        out.append(line("Standard errors", "Robust.sem"))
        out.append(line("Information", "Expected"))
        head = f"{'':20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}{'Std.all':>9}"
        sections = [
            ("Latent Variables:", lambda r: r["op"] == "=~"),
            ("Regressions:", lambda r: r["op"] == "~"),
            ("Covariances:", lambda r: r["op"] == "~~" and r["lhs"] != r["rhs"]),
            ("Thresholds:", lambda r: r["op"] == "|"),
            ("Variances:", lambda r: r["op"] == "~~" and r["lhs"] == r["rhs"]),
            ("Scales y*:", lambda r: r["op"] == "~*~"),
        ]
        records = self.parameters.to_dict("records")
        for title, keep in sections:
            chosen = [r for r in records if keep(r)]
            if not chosen:
                continue
            out += ["", title, head]
            current = None
            for r in chosen:
                if r["op"] in ("=~", "~") or (r["op"] == "~~" and r["lhs"] != r["rhs"]):
                    if r["lhs"] != current:
                        current = r["lhs"]
                        out.append(f"  {r['lhs']} {r['op']}")
                    name = "    " + r["rhs"]
                elif r["op"] == "|":
                    name = f"    {r['lhs']}|{r['rhs']}"
                else:
                    name = "   ." + r["lhs"] if r["lhs"] in self.model.indicators else "    " + r["lhs"]
                text = name[:20].ljust(20) + fmt(r["est"], 9)
                if r["se"] > 0:
                    text += fmt(r["se"], 9) + fmt(r["z"], 9) + fmt(r["pvalue"], 9)
                else:
                    text += " " * 27
                out.append((text + fmt(r["std_all"], 9)).rstrip())
        if self.warnings:
            out += ["", "Warnings:"] + [f"  - {t}" for t in self.warnings]
        if self.notes:
            out += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.summary()


# ====================================================================== fitting


def cfa_ordinal(
    data: pd.DataFrame, model: str | CFAModel | Any, *, parameterization: str = "delta"
) -> OrdinalCFAResult:
    """Fit a CFA to ordinal items by WLSMV, as lavaan's ``cfa(model, data, ordered = TRUE)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One column per item, integer categories (reverse-keyed items already
        reversed). Rows with a missing model item are left out (listwise).
    model : str, Instrument or CFAModel
        lavaan-style syntax or a model (see :func:`sdt_survey.factor.sem.cfa`).
    parameterization : {"delta", "theta"}
        lavaan's ``parameterization``.

    Returns
    -------
    OrdinalCFAResult

    Raises
    ------
    CFAError
        A model, data or option problem (the message says how to fix it).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> latent = rng.normal(size=(300, 1)) * 0.8 + rng.normal(size=(300, 4)) * 0.6
    >>> d = pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=["q1", "q2", "q3", "q4"])
    >>> res = cfa_ordinal(d, "F =~ q1 + q2 + q3 + q4")
    >>> res.fit["df"], res.fit["npar"], res.to_dict()["estimator"]
    (2, 20, 'WLSMV')
    >>> res.parameters.loc[4, ["lhs", "op", "rhs"]].tolist()
    ['q1', '|', 't1']
    """
    model = as_model(model)
    if parameterization not in PARAMETERIZATIONS:
        raise CFAError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}")
    if any(s.op == "~1" for s in model.statements):
        raise CFAError("intercepts and means are fixed to 0 in an ordinal CFA; remove the '~1' statements")
    names = list(model.indicators)
    absent = [v for v in names if v not in data.columns]
    if absent:
        raise CFAError(f"the data have no column for model variable(s): {', '.join(absent)}")
    values = data[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(values).any(axis=1)
    x_data = values[keep]
    n = len(x_data)
    if n < 10:
        raise CFAError(f"only {n} complete row(s); an ordinal CFA needs many more respondents")
    ss = _sample_stats(x_data, names)

    spec = _ordinal_spec(model, parameterization)
    n_th = [len(t) for t in ss.thresholds]
    om = _OrdinalModel(spec, parameterization, n_th, spec.n_free)
    start_model = start_values(spec, [SimpleNamespace(cov=ss.cor, mean=np.zeros(len(names)))])
    x0 = np.concatenate([start_model, ss.th_vector])
    if parameterization == "theta":
        # Thresholds in the theta metric: the standardized ones divided by the start's scale factors.
        _, _, _, _, scale = om.matrices(x0)
        x0[om.q_model :] = ss.th_vector / np.repeat(scale, n_th)
    obs = ss.obs
    w = 1.0 / np.diag(ss.gamma)
    x, f, converged, iterations = _dwls(om, obs, w, x0)
    problems = []
    if not converged:
        problems.append(f"the estimation did not converge after {iterations} iterations")

    # -- standard errors and tests -------------------------------------------------------
    jac = om.jacobian(x)
    wd = w[:, None] * jac
    info = jac.T @ wd
    info_inv = np.linalg.inv(info)
    gamma = ss.gamma
    vcov = info_inv @ (wd.T @ gamma @ wd) @ info_inv / (n - 1)
    u = np.diag(w) - wd @ info_inv @ wd.T
    n_stats = len(obs)
    df = n_stats - om.q
    chisq = (n - 1) * f
    chisq_scaled, scaling, shift = _scaled_shifted(u @ gamma, chisq, df)

    n_thr = int(sum(n_th))
    r_obs = obs[n_thr:]
    baseline_chisq = (n - 1) * float(np.sum(w[n_thr:] * r_obs**2))
    baseline_df = len(r_obs)
    u_base = np.zeros_like(u)
    u_base[n_thr:, n_thr:] = np.diag(w[n_thr:])
    baseline_scaled, _, _ = _scaled_shifted(u_base @ gamma, baseline_chisq, baseline_df)

    lam, lv_cov, theta, sigma, scale = om.matrices(x)
    p = len(names)
    implied_cor = sigma * np.outer(scale, scale)
    resid = ss.cor - implied_cor
    srmr = math.sqrt(float(np.sum(_vech_off(resid) ** 2)) / (p * (p + 1) / 2))
    fit = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan,
        "chisq_scaled": chisq_scaled,
        "df_scaled": int(df),
        "pvalue_scaled": float(stats.chi2.sf(chisq_scaled, df)) if df > 0 else math.nan,
        "chisq_scaling_factor": scaling,
        "chisq_shift_parameter": shift,
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "baseline_chisq_scaled": baseline_scaled,
        "cfi": fit_cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": fit_tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": fit_rmsea(chisq, df, n - 1, 1),
        "cfi_scaled": fit_cfi(chisq_scaled, df, baseline_scaled, baseline_df),
        "tli_scaled": fit_tli(chisq_scaled, df, baseline_scaled, baseline_df),
        "rmsea_scaled": fit_rmsea(chisq_scaled, df, n - 1, 1),
        **_catml_robust(ss.cor, implied_cor, jac, w, info_inv, gamma, n, int(df)),
        "srmr": srmr,
        "npar": int(om.q),
        "ntotal": int(n),
    }
    table = _parameter_table(om, ss, x, vcov, lam, lv_cov, theta, sigma, scale)
    th_names = [f"{v}|t{k + 1}" for v, t in zip(names, ss.thresholds, strict=True) for k in range(len(t))]
    return OrdinalCFAResult(
        model=model,
        parameterization=parameterization,
        n_used=n,
        n_dropped=int((~keep).sum()),
        converged=converged,
        iterations=iterations,
        fit=fit,
        parameters=table,
        thresholds=pd.Series(ss.th_vector, index=th_names),
        polychoric=pd.DataFrame(ss.cor, index=names, columns=names),
        gamma=gamma,
        warnings=problems,
    )


def _parameter_table(om, ss, x, vcov, lam, lv_cov, theta, sigma, scale) -> pd.DataFrame:
    spec = om.spec
    lv_index = {f: i for i, f in enumerate(spec.lv)}
    ov_index = {v: i for i, v in enumerate(spec.ov)}
    se_all = np.sqrt(np.abs(np.diag(vcov)))
    lv_sd = np.sqrt(np.abs(np.diag(lv_cov)))
    ov_sd = np.sqrt(np.diag(sigma))
    est_all = np.where(spec.free >= 0, x[np.maximum(spec.free, 0)], spec.value)
    psi_var = {
        spec.lhs[k]: est_all[k]
        for k in range(spec.n_rows)
        if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in lv_index
    }
    rows: list[dict[str, Any]] = []

    def add(lhs, op, rhs, est, se, std):
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "est": est, "se": se, "std_all": std})

    def model_row(k: int) -> None:
        lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
        est = est_all[k]
        if op == "~~" and lhs == rhs and lhs in ov_index:
            i = ov_index[lhs]
            est = theta[i, i]
        se = se_all[spec.free[k]] if spec.free[k] >= 0 else 0.0
        if op == "=~":
            j = lv_index[lhs]
            den = ov_sd[ov_index[rhs]] if rhs in ov_index else lv_sd[lv_index[rhs]]
            std = est * lv_sd[j] / den
        elif op == "~":
            std = est * lv_sd[lv_index[rhs]] / lv_sd[lv_index[lhs]]
        elif op == "~~" and lhs in lv_index:
            a, b = lv_index[lhs], lv_index[rhs]
            std = est / lv_cov[a, a] if a == b else est / math.sqrt(abs(psi_var[lhs] * psi_var[rhs]))
        else:
            a, b = ov_index[lhs], ov_index[rhs]
            std = est / (ov_sd[a] * ov_sd[b]) if a == b else est / math.sqrt(abs(theta[a, a] * theta[b, b]))
        add(lhs, op, rhs, est, se, std)

    user = [k for k in range(spec.n_rows) if spec.user[k]]
    auto = [k for k in range(spec.n_rows) if not spec.user[k]]
    for k in user:
        model_row(k)
    pos = om.q_model
    for v, t in zip(spec.ov, ss.thresholds, strict=True):
        i = ov_index[v]
        for k in range(len(t)):
            add(v, "|", f"t{k + 1}", x[pos], se_all[pos], x[pos] / ov_sd[i])
            pos += 1
    for k in auto:
        model_row(k)
    for i, v in enumerate(spec.ov):
        add(v, "~*~", v, scale[i], 0.0, 1.0)
    for v in spec.ov:
        add(v, "~1", "", 0.0, 0.0, 0.0)
    for f in spec.lv:
        add(f, "~1", "", 0.0, 0.0, 0.0)
    frame = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["z"] = np.where(frame["se"] > 0, frame["est"] / frame["se"], np.nan)
    frame["pvalue"] = 2 * stats.norm.sf(np.abs(frame["z"]))
    return frame[["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]]
