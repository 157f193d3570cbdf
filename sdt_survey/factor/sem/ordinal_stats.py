"""Sample statistics of ordinal items: thresholds, polychoric correlations and their asymptotic covariance.

lavaan 0.6-14's two-step estimates for ``ordered = TRUE`` (see
:mod:`sdt_survey.factor.sem.wlsmv` for the whole WLSMV recipe): thresholds from
the marginal proportions, polychoric correlations by maximum likelihood with
the thresholds held fixed, and Gamma (NACOV) from the casewise scores with
Muthen's (1984) two-step correction.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from ...errors import CFAError
from ...stats.bivariate_normal import bvn_cdf_grid
from ...stats.probability import norm_pdf


@dataclass
class OrdinalSampleStats:
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
        return vech_off(self.cor)

    @property
    def obs(self) -> np.ndarray:
        return np.concatenate([self.th_vector, self.cor_vector])


@functools.lru_cache(maxsize=32)
def vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Column-major lower triangle without the diagonal (lavaan's vech(diagonal = FALSE))."""
    rows, cols = [], []
    for j in range(p):
        for i in range(j + 1, p):
            rows.append(i)
            cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def vech_off(m: np.ndarray) -> np.ndarray:
    r, c = vech_index(m.shape[0])
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
    from scipy import special  # imported on use: an ML fit never needs it (issue 15)

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
        col = norm_pdf(tk) * (cdf[1:] - cdf[:-1])
        d_t1[k, k, :] += col
        d_t1[k, k + 1, :] -= col
    d_t2 = np.zeros((len(t2), *prob.shape))
    for k, tk in enumerate(t2):
        cdf = special.ndtr((a - rho * tk) / s)
        row = norm_pdf(tk) * (cdf[1:] - cdf[:-1])
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
        info = float(np.sum(n_ok * (d1 / prob) ** 2))
        if hess >= 0 and info <= 0:
            break  # flat: at the boundary (+-0.9999) of a table with empty cells the derivatives vanish
        step = -grad / hess if hess < 0 else grad / info
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


def ordinal_sample_stats(x: np.ndarray, names: list[str]) -> OrdinalSampleStats:
    from scipy import special  # imported on use: an ML fit never needs it (issue 15)

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
        sc_th[rows[has_up], th_start[j] + c[has_up]] = norm_pdf(upper[has_up]) / prob[has_up]
        sc_th[rows[has_lo], th_start[j] + c[has_lo] - 1] = -norm_pdf(lower[has_lo]) / prob[has_lo]

    vr, vc = vech_index(p)
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
    return OrdinalSampleStats(list(names), levels, thresholds, cor, (gamma + gamma.T) / 2, n)
