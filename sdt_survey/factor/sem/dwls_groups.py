"""The DWLS objective of a multi-group ordinal model with thresholds, intercepts, means and scales.

The single-group objective (:mod:`~sdt_survey.factor.sem.dwls`) fits
lavaan's default ordinal model (no mean structure, unit scales). Invariance
needs more (Wu & Estabrook, 2016): the latent responses ``y* = nu + Lambda eta + e``
of group ``g`` have intercepts ``nu``, factor means ``alpha`` and scales
``Delta`` that may be free, and thresholds ``tau`` that may be held equal
across groups (or across items, for waves in one group). The model's
statistics of group ``g``, in the order of the sample statistics
(:mod:`~sdt_survey.factor.sem.ordinal_stats`), are

* thresholds ``(tau_k - mu*_i) Delta_i`` with ``mu* = nu + Lambda (I - B)^-1 alpha``;
* correlations ``Delta_i Delta_j Sigma*_ij``.

Under ``"delta"`` the scales are parameters (``~*~`` rows; 1 where fixed)
and the residual variances are derived, ``Sigma*_ii = 1 / Delta_i^2``; under
``"theta"`` the residual variances are parameters and ``Delta_i =
Sigma*_ii^-1/2``. The fit function is lavaan's,
``F = sum_g (n_g - 1) (s_g - sigma_g)' W_g (s_g - sigma_g) / (N - G)`` (so
``chisq = (N - G) F``), with ``W_g = diag(Gamma_g)^-1``.

For the robust standard errors and tests, the objective presents the stacked
quantities lavaan uses (``lav_model_nvcov_robust_sem``,
``lav_test_satorra_bentler``): :attr:`weights` is ``diag(f_g W_g)`` and
:attr:`gamma` ``bdiag(Gamma_g / f_g)``, ``f_g = n_g / N``, so
:func:`~sdt_survey.factor.sem.vcov.robust_sem_vcov` applies unchanged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from .implied import ModelMatrices, ModelState, element_vectors
from .ordinal_partable import OrdinalParTable
from .ordinal_stats import OrdinalSampleStats, vech_index, vech_off
from .spec import Spec

__all__ = ["GroupedDWLSObjective"]


class GroupedDWLSObjective(ModelMatrices):
    """The DWLS fit function of a multi-group ordinal model (an optimizer :class:`Objective`).

    Attributes
    ----------
    table : OrdinalParTable
    spec : Spec
        The factor rows, their ``free`` numbered in the whole parameter vector.
    q : int
        Free parameters (factor model, thresholds, scales).
    n_groups, n : list of int
        Respondents per group.
    obs, weights, gamma : numpy.ndarray
        The stacked sample statistics, ``diag(f_g W_g)`` and ``bdiag(Gamma_g / f_g)``.
    """

    def __init__(self, table: OrdinalParTable, stats: list[OrdinalSampleStats]):
        free, q = table.numbered()
        base = table.spec
        n_model = base.n_rows
        spec = Spec(
            **{**base.__dict__, "free": free[:n_model].copy(), "n_free": q},
        )
        spec.value = np.where(np.isnan(table.fixed[:n_model]), 0.0, table.fixed[:n_model])
        spec.value = np.where(free[:n_model] >= 0, np.nan, spec.value)
        super().__init__(spec)
        self.table = table
        self.parameterization = table.parameterization
        self.q = q
        self.free_all = free
        self.n_groups = base.n_groups
        self.group_n = [s.n for s in stats]
        n_total = sum(self.group_n)
        self.n_total = n_total
        self.stats = stats
        self.n_th = table.n_th
        self.n_thr = int(sum(self.n_th))
        self.threshold_item = np.repeat(np.arange(self.p), self.n_th)
        self._pairs = vech_index(self.p)
        rows = table.rows
        kinds = np.array([r[0] for r in rows])
        groups = np.array([r[4] for r in rows])
        self._th_rows = [np.flatnonzero((kinds == "th") & (groups == g)) for g in range(self.n_groups)]
        self._scale_rows = [np.flatnonzero((kinds == "scale") & (groups == g)) for g in range(self.n_groups)]
        # Stacked statistics and lavaan's group weights.
        self.fg = np.array(self.group_n, dtype=float) / n_total
        self.obs_groups = [s.obs for s in stats]
        self.w_groups = [1.0 / np.diag(s.gamma) for s in stats]
        self.obs = np.concatenate(self.obs_groups)
        self.weights = np.concatenate([f * w for f, w in zip(self.fg, self.w_groups, strict=True)])
        self.gamma = linalg.block_diag(*[s.gamma / f for f, s in zip(self.fg, stats, strict=True)])
        self.m_stat = len(stats[0].obs)
        # chisq = sum_g (n_g - 1) F_g = (N - G) F; n - 1 = N - G for the shared sandwich (robust_sem_vcov).
        self.n = n_total - self.n_groups + 1
        self._chi_w = np.array([(ng - 1) / (n_total - self.n_groups) for ng in self.group_n])

    # -- the pieces of one group ------------------------------------------------------------
    def _vector(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        free = self.free_all[rows]
        return np.where(free >= 0, x[np.maximum(free, 0)], self.table.fixed[rows])

    def thresholds(self, g: int, x: np.ndarray) -> np.ndarray:
        """The thresholds ``tau`` of group ``g`` (unstandardized, item by item)."""
        return self._vector(self._th_rows[g], x)

    def state(self, g: int, x: np.ndarray) -> ModelState:
        """The matrices at ``x``; under delta ``Sigma*_ii = 1 / Delta_i^2`` (residual variances derived)."""
        st = self.model_state(g, x)
        if self.parameterization == "delta":
            diag = np.diag_indices(self.p)
            total = 1.0 / self._vector(self._scale_rows[g], x) ** 2
            st.theta[diag] = total - np.einsum("ij,ij->i", st.lm, st.lam)
            st.sigma[diag] = total
        return st

    def scale(self, g: int, st: ModelState, x: np.ndarray) -> np.ndarray:
        """The scale factors ``Delta`` of the latent responses of group ``g`` (lavaan's ``~*~``)."""
        if self.parameterization == "delta":
            return self._vector(self._scale_rows[g], x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 / np.sqrt(np.diag(st.sigma))

    def implied_group(self, g: int, x: np.ndarray) -> np.ndarray:
        st = self.state(g, x)
        scale = self.scale(g, st, x)
        item = self.threshold_item
        th = (self.thresholds(g, x) - st.mu[item]) * scale[item]
        return np.concatenate([th, vech_off(st.sigma * np.outer(scale, scale))])

    def implied(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([self.implied_group(g, x) for g in range(self.n_groups)])

    def implied_correlations(self, g: int, x: np.ndarray) -> np.ndarray:
        st = self.state(g, x)
        scale = self.scale(g, st, x)
        return st.sigma * np.outer(scale, scale)

    def jacobian_group(self, g: int, x: np.ndarray) -> np.ndarray:
        """``d implied_g / d x``, analytic.

        A factor-model element moves Sigma* by ``s (a b' + b a')`` and mu* by
        ``c`` (:func:`element_vectors`). A threshold ``(tau - mu_i) Delta_i``
        moves by ``Delta_i dtau - Delta_i dmu_i + (tau - mu_i) dDelta_i``; a
        correlation ``Delta_i Delta_j Sigma_ij`` by ``Delta_i Delta_j dSigma_ij +
        rho_ij (dDelta_i / Delta_i + dDelta_j / Delta_j)``. Under theta
        ``dDelta_i = -Delta_i^3 dSigma_ii / 2``; under delta the scales are parameters.
        """
        st = self.state(g, x)
        el = self.elements[g]
        a, b, s, c = element_vectors(st, el, True)
        rows, cols = self._pairs
        scale = self.scale(g, st, x)
        item = self.threshold_item
        centred = self.thresholds(g, x) - st.mu[item]
        cor = st.sigma[rows, cols] * scale[rows] * scale[cols]
        d_off = s[:, None] * (a[:, rows] * b[:, cols] + b[:, rows] * a[:, cols]) * (scale[rows] * scale[cols])
        d_th = -c[:, item] * scale[item]
        if self.parameterization == "theta":
            rel = -0.5 * (2.0 * s[:, None] * a * b) * scale**2  # dDelta_i / Delta_i per element
            d_off = d_off + cor * (rel[:, rows] + rel[:, cols])
            d_th = d_th + centred * scale[item] * rel[:, item]
        jac = np.zeros((self.n_thr + len(rows), self.q))
        inc = self.incidence[g]
        jac[: self.n_thr] = d_th.T @ inc
        jac[self.n_thr :] = d_off.T @ inc
        # Thresholds.
        th_free = self.free_all[self._th_rows[g]]
        on = th_free >= 0
        np.add.at(jac, (np.flatnonzero(on), th_free[on]), scale[item][on])
        # Scales (delta).
        if self.parameterization == "delta":
            sc_free = self.free_all[self._scale_rows[g]]
            for i in np.flatnonzero(sc_free >= 0):
                t = sc_free[i]
                jac[np.flatnonzero(item == i), t] += centred[item == i]
                touching = (rows == i) | (cols == i)
                jac[self.n_thr + np.flatnonzero(touching), t] += cor[touching] / scale[i]
        return jac

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """The stacked Jacobian (lavaan's ``Delta``, groups one under another)."""
        return np.vstack([self.jacobian_group(g, x) for g in range(self.n_groups)])

    # -- the objective (optimize.Objective) ----------------------------------------------------
    def residuals(self, x: np.ndarray) -> list[np.ndarray]:
        return [self.obs_groups[g] - self.implied_group(g, x) for g in range(self.n_groups)]

    def group_objectives(self, x: np.ndarray) -> np.ndarray:
        """``F_g = (s_g - sigma_g)' W_g (s_g - sigma_g)`` per group."""
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            res = self.residuals(x)
        return np.array([float(r @ (w * r)) for r, w in zip(res, self.w_groups, strict=True)])

    def objective(self, x: np.ndarray) -> float:
        try:
            value = float(self._chi_w @ self.group_objectives(x))
        except (np.linalg.LinAlgError, FloatingPointError):
            return math.inf
        return value if math.isfinite(value) else math.inf

    def objective_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        f = self.objective(x)
        if not math.isfinite(f):
            return f, np.zeros(self.q)
        grad = np.zeros(self.q)
        for g, r in enumerate(self.residuals(x)):
            grad -= 2.0 * self._chi_w[g] * self.jacobian_group(g, x).T @ (self.w_groups[g] * r)
        return f, grad

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """The Gauss-Newton matrix ``2 sum_g c_g D_g' W_g D_g`` (the expected Hessian of F)."""
        info = np.zeros((self.q, self.q))
        for g in range(self.n_groups):
            jac = self.jacobian_group(g, x)
            info += 2.0 * self._chi_w[g] * jac.T @ (self.w_groups[g][:, None] * jac)
        return info

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Gauss-Newton matrix again: the optimizer's Newton phase takes Gauss-Newton steps.

        The thresholds and correlations are nearly linear in the parameters near
        the optimum, so Gauss-Newton steps converge to the same estimates at a
        fraction of the cost of the exact Hessian (curvature by differences of ``D``).
        """
        return self.fisher_information(x)

    # -- tests ------------------------------------------------------------------------------
    def chisq(self, x: np.ndarray) -> float:
        """``sum_g (n_g - 1) F_g`` (lavaan's DWLS test statistic)."""
        return float(np.dot(np.array(self.group_n) - 1.0, self.group_objectives(x)))

    def baseline(self) -> tuple[float, int, np.ndarray]:
        """The independence model (thresholds free in each group, correlations 0): chisq, df and its ``U``.

        ``U`` is ``diag(f_g W_g)`` on the correlations and 0 on the thresholds (lavaan's baseline).
        """
        chisq, df = 0.0, 0
        u = np.zeros(len(self.obs))
        start = 0
        for g in range(self.n_groups):
            r = self.obs_groups[g][self.n_thr :]
            w = self.w_groups[g][self.n_thr :]
            chisq += (self.group_n[g] - 1) * float(np.sum(w * r**2))
            df += len(r)
            u[start + self.n_thr : start + self.m_stat] = self.fg[g] * w
            start += self.m_stat
        return chisq, df, np.diag(u)
