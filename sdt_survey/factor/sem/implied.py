"""Model-implied moments and their derivatives: gradients, information, casewise scores (the engine)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...stats.differences import central_jacobian
from .cluster import score_crossprod
from .samplestats import GroupData, moments_gradient, moments_hessian_terms, moments_m2ll
from .spec import ALPHA, BETA, LAMBDA, NU, PSI, THETA, Spec
from .standardized import std_plan


@dataclass
class ModelState:
    """Model matrices and implied moments of one group at a parameter vector."""

    lam: np.ndarray
    beta: np.ndarray
    psi: np.ndarray
    theta: np.ndarray
    nu: np.ndarray
    alpha: np.ndarray
    inv_ib: np.ndarray  # (I - B)^-1
    g: np.ndarray  # Lambda (I - B)^-1
    lv_cov: np.ndarray  # (I - B)^-1 Psi (I - B)^-T: covariances of the factors
    lm: np.ndarray  # Lambda lv_cov
    lv_mean: np.ndarray  # (I - B)^-1 alpha
    sigma: np.ndarray
    mu: np.ndarray


@dataclass
class Elements:
    """Free (or candidate) matrix elements of one group: which matrix, row, column, parameter."""

    mat: np.ndarray
    i: np.ndarray
    j: np.ndarray
    param: np.ndarray

    def __len__(self) -> int:
        return len(self.mat)


def element_vectors(state: ModelState, el: Elements, meanstructure: bool):
    """For each element, Sigma changes by ``s (a b' + b a')`` and mu by ``c`` per unit of it.

    ``state`` may hold a stack of parameter vectors (leading axes, from
    :meth:`ModelMatrices.model_state`); ``a``, ``b`` and ``c`` then carry the same axes.
    """
    p = state.sigma.shape[-1]
    lead = state.sigma.shape[:-2]
    ne = len(el)
    a = np.zeros((*lead, ne, p))
    b = np.zeros((*lead, ne, p))
    s = np.ones(ne)
    c = np.zeros((*lead, ne, p))
    eye = np.eye(p)
    gt, lmt = np.swapaxes(state.g, -1, -2), np.swapaxes(state.lm, -1, -2)
    for code in np.unique(el.mat):
        sel = el.mat == code
        i, j = el.i[sel], el.j[sel]
        if code == LAMBDA:
            a[..., sel, :] = eye[i]
            b[..., sel, :] = lmt[..., j, :]
            c[..., sel, :] = eye[i] * state.lv_mean[..., j, None]
        elif code == BETA:
            a[..., sel, :] = gt[..., i, :]
            b[..., sel, :] = lmt[..., j, :]
            c[..., sel, :] = gt[..., i, :] * state.lv_mean[..., j, None]
        elif code == PSI:
            a[..., sel, :] = gt[..., i, :]
            b[..., sel, :] = gt[..., j, :]
            s[sel] = np.where(i == j, 0.5, 1.0)
        elif code == THETA:
            a[..., sel, :] = eye[i]
            b[..., sel, :] = eye[j]
            s[sel] = np.where(i == j, 0.5, 1.0)
        elif code == NU:
            c[..., sel, :] = eye[i]
        elif code == ALPHA:
            c[..., sel, :] = gt[..., i, :]
    if not meanstructure:
        c[:] = 0.0
    return a, b, s, c


def expected_information_elements(a, b, s, c, kinv) -> np.ndarray:
    """0.5 tr(K D_i K D_j) + c_i' K c_j for complete data, from the element vectors."""
    ak, bk = a @ kinv, b @ kinv
    pp = ak @ a.T
    qq = bk @ b.T
    rr = ak @ b.T
    out = np.outer(s, s) * (pp * qq + rr * rr.T)
    if c.any():
        out += c @ kinv @ c.T
    return out


def _observed_information_elements(a, b, s, c, group: GroupData, st: ModelState) -> np.ndarray:
    """Hessian of 0.5 (-2 log-likelihood) / n for complete data, from the element vectors.

    ``tr(D_i K D_j R)`` with ``R = K T K - K/2`` expands into four products of
    bilinear forms; the mean terms are ``c_i' K D_j K d`` and ``c_i' K c_j``.
    """
    kinv = np.linalg.inv(st.sigma)
    d = group.mean - st.mu
    t = group.cov + np.outer(d, d)
    r = kinv @ t @ kinv - 0.5 * kinv
    ak, bk, ar, br = a @ kinv, b @ kinv, a @ r, b @ r
    bka, bkb, aka, akb = bk @ a.T, bk @ b.T, ak @ a.T, ak @ b.T
    arb, ara, brb, bra = ar @ b.T, ar @ a.T, br @ b.T, br @ a.T
    out = np.outer(s, s) * (bka * arb + bkb * ara + aka * brb + akb * bra)
    if c.any():
        kd = kinv @ d
        ck = c @ kinv
        cross = s[None, :] * ((ck @ a.T) * (b @ kd)[None, :] + (ck @ b.T) * (a @ kd)[None, :])
        out += cross + cross.T + ck @ c.T
    return out


class ModelMatrices:
    """The LISREL matrices of a parameter table at a parameter vector, and their free elements.

    Shared by every objective: the continuous :class:`Engine` (ML) and the
    ordinal DWLS objective (:mod:`~sdt_survey.factor.sem.dwls`) build the
    model's matrices and their derivatives (:func:`element_vectors`) from here.
    """

    def __init__(self, spec: Spec):
        self.spec = spec
        self.p = len(spec.ov)
        self.m = len(spec.lv)
        self.q = spec.n_free
        self.meanstructure = spec.meanstructure
        self.has_beta = bool(np.any(spec.mat == BETA))
        self.fixed: list[dict[int, np.ndarray]] = []
        self.elements: list[Elements] = []
        self.element_codes: list[list[tuple[int, np.ndarray]]] = []  # (matrix, its elements) per group
        self.incidence: list[np.ndarray] = []
        self.unique_params: list[bool] = []
        p, m = self.p, self.m
        for g in range(spec.n_groups):
            mats = {
                LAMBDA: np.zeros((p, m)),
                BETA: np.zeros((m, m)),
                PSI: np.zeros((m, m)),
                THETA: np.zeros((p, p)),
                NU: np.zeros((p, 1)),
                ALPHA: np.zeros((m, 1)),
            }
            rows = np.flatnonzero(spec.group == g)
            for k in rows:
                if spec.free[k] < 0:
                    mats[spec.mat[k]][spec.row[k], spec.col[k]] = spec.value[k]
                    if spec.mat[k] in (PSI, THETA):
                        mats[spec.mat[k]][spec.col[k], spec.row[k]] = spec.value[k]
            for name in spec.dummy:  # an observed variable in a regression: its own phantom factor
                mats[LAMBDA][spec.ov.index(name), spec.lv.index(name)] = 1.0
            self.fixed.append(mats)
            free_rows = rows[spec.free[rows] >= 0]
            el = Elements(spec.mat[free_rows], spec.row[free_rows], spec.col[free_rows], spec.free[free_rows])
            self.elements.append(el)
            self.element_codes.append([(code, el.mat == code) for code in np.unique(el.mat)])
            inc = np.zeros((len(el), self.q))
            inc[np.arange(len(el)), el.param] = 1.0
            self.incidence.append(inc)
            self.unique_params.append(len(np.unique(el.param)) == len(el))
        self.std_plan = std_plan(spec)

    def model_state(self, g: int, x: np.ndarray) -> ModelState:
        """Matrices and implied moments of group ``g`` (``mu`` from the mean structure, else 0).

        ``x`` may be a stack of parameter vectors (shape ``(..., q)``): every matrix
        and moment then carries the same leading axes, so that many nearby points
        (a numerical derivative's steps) cost one pass of batched linear algebra.
        """
        lead = x.shape[:-1]
        if lead:
            mats = {
                code: np.broadcast_to(arr, (*lead, *arr.shape)).copy() for code, arr in self.fixed[g].items()
            }
        else:
            mats = {code: arr.copy() for code, arr in self.fixed[g].items()}
        el = self.elements[g]
        values = x[..., el.param]
        for code, sel in self.element_codes[g]:
            arr = mats[code]
            arr[..., el.i[sel], el.j[sel]] = values[..., sel]
            if code in (PSI, THETA):
                arr[..., el.j[sel], el.i[sel]] = values[..., sel]
        lam, beta, psi, theta = mats[LAMBDA], mats[BETA], mats[PSI], mats[THETA]
        nu, alpha = mats[NU][..., 0], mats[ALPHA][..., 0]
        eye = np.eye(self.m)
        inv_ib = np.linalg.inv(eye - beta) if self.has_beta else np.broadcast_to(eye, beta.shape).copy()
        gmat = lam @ inv_ib
        lv_cov = inv_ib @ psi @ np.swapaxes(inv_ib, -1, -2)
        lm = lam @ lv_cov
        sigma = lm @ np.swapaxes(lam, -1, -2) + theta
        sigma = (sigma + np.swapaxes(sigma, -1, -2)) / 2
        if lead:
            lv_mean = (inv_ib @ alpha[..., None])[..., 0]
            mu = nu + (lam @ lv_mean[..., None])[..., 0]
        else:
            lv_mean = inv_ib @ alpha
            mu = nu + lam @ lv_mean
        return ModelState(lam, beta, psi, theta, nu, alpha, inv_ib, gmat, lv_cov, lm, lv_mean, sigma, mu)

    def state(self, g: int, x: np.ndarray) -> ModelState:
        return self.model_state(g, x)

    def states(self, x: np.ndarray) -> list[ModelState]:
        return [self.state(g, x) for g in range(self.spec.n_groups)]


class Engine(ModelMatrices):
    """Objective, gradient, information, Hessian and scores of a (multi-group) model (ML, FIML)."""

    def __init__(self, spec: Spec, groups: list[GroupData]):
        super().__init__(spec)
        self.groups = groups
        self.n_total = sum(g.n for g in groups)
        self.weights = np.array([g.n / self.n_total for g in groups])

    # -- implied moments -----------------------------------------------------------
    def state(self, g: int, x: np.ndarray) -> ModelState:
        st = self.model_state(g, x)
        if not self.meanstructure:  # the sample means (at every point of a stack)
            mean = self.groups[g].mean
            st.mu = mean if x.ndim == 1 else np.broadcast_to(mean, st.sigma.shape[:-1])
        return st

    # -- objective -------------------------------------------------------------------
    def m2ll(self, x: np.ndarray) -> np.ndarray:
        """-2 log-likelihood (without 2*pi) per group; inf when Sigma is not positive definite."""
        out = np.empty(len(self.groups))
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            try:
                out[g] = moments_m2ll(group, st.sigma, st.mu)
            except np.linalg.LinAlgError:
                out[g] = np.inf
        return out

    def objective(self, x: np.ndarray) -> float:
        """lavaan's fit function: sum over groups of (n_g/N) 0.5 (F_ML or FIML discrepancy)."""
        m2ll = self.m2ll(x)
        if not np.all(np.isfinite(m2ll)):
            return math.inf
        h1 = np.array([g.m2ll_h1 for g in self.groups])
        return float(0.5 * (m2ll - h1).sum() / self.n_total)

    def _group_gradient(self, g: int, st: ModelState, g_sigma: np.ndarray, g_mu: np.ndarray) -> np.ndarray:
        a, b, s, c = element_vectors(st, self.elements[g], self.meanstructure)
        ge = 2.0 * s * np.einsum("...ep,pq,...eq->...e", a, g_sigma, b)
        if self.meanstructure:
            ge += c @ g_mu
        return ge @ self.incidence[g]

    def objective_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros(self.q)
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            try:
                m2ll, g_sigma, g_mu = moments_gradient(group, st.sigma, st.mu)
            except np.linalg.LinAlgError:
                return math.inf, grad
            total += m2ll - group.m2ll_h1
            grad += self._group_gradient(g, st, g_sigma, g_mu)
        scale = 0.5 / self.n_total
        return float(total * scale), grad * scale

    # -- information -----------------------------------------------------------------
    def _to_params(self, g: int, elem_matrix: np.ndarray) -> np.ndarray:
        """Element-space matrix summed into parameter space (equal parameters add up)."""
        param = self.elements[g].param
        if self.unique_params[g]:
            out = np.zeros((self.q, self.q))
            out[np.ix_(param, param)] = elem_matrix
            return out
        inc = self.incidence[g]
        return inc.T @ elem_matrix @ inc

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """Expected information (per respondent) as if the data were complete: the scoring matrix."""
        info = np.zeros((self.q, self.q))
        for g in range(len(self.groups)):
            st = self.state(g, x)
            kinv = np.linalg.inv(st.sigma)
            a, b, s, c = element_vectors(st, self.elements[g], self.meanstructure)
            info += self.weights[g] * self._to_params(g, expected_information_elements(a, b, s, c, kinv))
        return info

    def hessian_elements(self, g: int, st: ModelState, el: Elements, expected: bool) -> np.ndarray:
        """Per-respondent second derivatives of the fit function from the data terms (element space)."""
        group = self.groups[g]
        a, b, s, c = element_vectors(st, el, self.meanstructure)
        if group.complete and expected:
            return self.weights[g] * expected_information_elements(a, b, s, c, np.linalg.inv(st.sigma))
        if group.complete:
            return self.weights[g] * _observed_information_elements(a, b, s, c, group, st)
        x4, y, z = moments_hessian_terms(group, st.sigma, st.mu, expected)
        dv = s[:, None] * ((a[:, :, None] * b[:, None, :]) + (b[:, :, None] * a[:, None, :])).reshape(
            len(el), -1
        )
        h = 2.0 * dv @ x4 @ dv.T
        if self.meanstructure:
            cy = c @ y @ dv.T
            h += cy + cy.T + c @ z @ c.T
        return 0.5 * h / self.n_total

    def expected_information(self, x: np.ndarray) -> np.ndarray:
        """Expected information per respondent (pattern by pattern under FIML)."""
        info = np.zeros((self.q, self.q))
        for g in range(len(self.groups)):
            st = self.state(g, x)
            info += self._to_params(g, self.hessian_elements(g, st, self.elements[g], expected=True))
        return info

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of the fit function (lavaan's observed information, per respondent)."""
        hess = np.zeros((self.q, self.q))
        grads = []
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            hess += self._to_params(g, self.hessian_elements(g, st, self.elements[g], expected=False))
            _, g_sigma, g_mu = moments_gradient(group, st.sigma, st.mu)
            grads.append((g_sigma, g_mu))
            if not self.has_beta:
                curvature = _model_curvature(st, self.elements[g], g_sigma, g_mu, self.meanstructure)
                hess += self._to_params(g, curvature * 0.5 / self.n_total)
        if self.has_beta:
            hess += self._numeric_curvature(x, grads)
        return (hess + hess.T) / 2

    def h1_observed_information(self, x: np.ndarray) -> np.ndarray:
        """The observed information without the model's curvature (``observed.information = "h1"``)."""
        info = np.zeros((self.q, self.q))
        for g in range(len(self.groups)):
            st = self.state(g, x)
            info += self._to_params(g, self.hessian_elements(g, st, self.elements[g], expected=False))
        return (info + info.T) / 2

    def _numeric_curvature(self, x: np.ndarray, grads) -> np.ndarray:
        """Curvature of Sigma(theta), mu(theta) weighted by the data gradient, by central differences.

        Used for models with factor-on-factor paths; the gradient with the data
        terms held fixed is nearly linear in the parameters, so the differences are accurate.
        All 2q steps are evaluated as one stack (:meth:`model_state` takes a stack of vectors).
        """

        def chain(stack: np.ndarray) -> np.ndarray:
            out = 0.0
            for g in range(len(self.groups)):
                out = out + self._group_gradient(g, self.state(g, stack), *grads[g])
            return out * 0.5 / self.n_total

        second = central_jacobian(chain, x, relative=1e-5)
        return (second + second.T) / 2

    # -- casewise scores -------------------------------------------------------------
    def first_order_information(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Sum over groups of (n_g/N) B0_g, with B0_g the mean outer product of casewise scores.

        Scores are taken at the model-implied moments (lavaan's "structured" h1),
        with the sample means for the mean when there is no mean structure.
        With clustered data, the scores are summed within clusters first
        (:func:`~sdt_survey.factor.sem.cluster.score_crossprod`).
        """
        total = np.zeros((self.q, self.q))
        per_group = []
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            scores = casewise_scores(
                group, st.sigma, st.mu, *element_vectors(st, self.elements[g], self.meanstructure)
            )
            sc = scores @ self.incidence[g]
            b0 = score_crossprod(sc, group.cluster) / group.n  # summed within clusters with cluster=
            per_group.append(b0)
            total += self.weights[g] * b0
        return total, per_group


def _model_curvature(
    st: ModelState, el: Elements, g_sigma: np.ndarray, g_mu: np.ndarray, meanstructure: bool
):
    """sum_k (d m2ll / d sigma_k) d2 sigma_k / d theta_i d theta_j for a model without factor paths.

    Sigma = Lambda Psi Lambda' + Theta and mu = nu + Lambda alpha are linear in
    each matrix, so only loading-loading, loading-Psi and loading-alpha pairs
    have second derivatives:
    2 Gs[i,k] Psi[j,l]; 2 s (delta_jk (Gs Lambda)[i,l] + delta_jl (Gs Lambda)[i,k]); g_mu[i] delta_jk.
    """
    ne = len(el)
    out = np.zeros((ne, ne))
    lam_idx = np.flatnonzero(el.mat == LAMBDA)
    if len(lam_idx) == 0:
        return out
    li, lj = el.i[lam_idx], el.j[lam_idx]
    out[np.ix_(lam_idx, lam_idx)] = 2.0 * g_sigma[np.ix_(li, li)] * st.psi[np.ix_(lj, lj)]
    gs_lam = g_sigma @ st.lam
    psi_idx = np.flatnonzero(el.mat == PSI)
    if len(psi_idx):
        k, l_ = el.i[psi_idx], el.j[psi_idx]
        s = np.where(k == l_, 0.5, 1.0)
        block = (
            2.0
            * s[None, :]
            * (
                (lj[:, None] == k[None, :]) * gs_lam[li[:, None], l_[None, :]]
                + (lj[:, None] == l_[None, :]) * gs_lam[li[:, None], k[None, :]]
            )
        )
        out[np.ix_(lam_idx, psi_idx)] = block
        out[np.ix_(psi_idx, lam_idx)] = block.T
    alpha_idx = np.flatnonzero(el.mat == ALPHA)
    if meanstructure and len(alpha_idx):
        k = el.i[alpha_idx]
        block = g_mu[li][:, None] * (lj[:, None] == k[None, :])
        out[np.ix_(lam_idx, alpha_idx)] = block
        out[np.ix_(alpha_idx, lam_idx)] = block.T
    return out


def casewise_scores(group: GroupData, sigma, mu, a, b, s, c) -> np.ndarray:
    """Derivative of each respondent's log-likelihood along each element (rows: respondents)."""
    out = []
    for block in group.blocks:
        for k_pat, rows in enumerate(block.rows):
            obs = block.obs[k_pat]
            kinv = np.linalg.inv(sigma[np.ix_(obs, obs)])
            z = (rows - mu[obs]) @ kinv
            a_o, b_o, c_o = a[:, obs], b[:, obs], c[:, obs]
            akb = np.einsum("ep,pq,eq->e", a_o, kinv, b_o)
            sc = s * ((z @ a_o.T) * (z @ b_o.T) - akb) + z @ c_o.T
            out.append(sc)
    return np.vstack(out)
