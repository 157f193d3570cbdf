"""The DWLS objective of ordinal CFA: thresholds and polychoric correlations fitted by weighted least squares.

``F(x) = (s - sigma(x))' W (s - sigma(x))`` with ``s`` the sample thresholds and
polychoric correlations (:mod:`~sdt_survey.factor.sem.ordinal_stats`),
``sigma(x)`` the model's (scaled thresholds, implied correlations) and ``W`` the
diagonal of ``Gamma^-1`` (lavaan's ``estimator = "DWLS"``). The model's matrices
come from the same :class:`~sdt_survey.factor.sem.implied.ModelMatrices` as the
continuous engine; the Jacobian ``D = d sigma / d x`` is analytic, built from
:func:`~sdt_survey.factor.sem.implied.element_vectors`. :class:`DWLSObjective`
satisfies :class:`~sdt_survey.factor.sem.optimize.Objective`, so
:func:`~sdt_survey.factor.sem.optimize.optimize` fits it as it fits ML.

Parameterizations (lavaan's ``parameterization``):

* ``"delta"``: the latent responses have unit variance; the residual variances
  ``1 - R^2`` are derived, not free; the scale factors are 1.
* ``"theta"``: the residual variances are fixed to 1; the scale factors
  ``1 / sqrt(diag Sigma)`` standardize thresholds and correlations.

The parameter vector holds the factor model's free parameters (``q_model``),
then the thresholds, item by item.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import CFAError
from .implied import ModelMatrices, ModelState, element_vectors
from .ordinal_stats import OrdinalSampleStats, vech_index, vech_off
from .spec import CFAModel, Spec, build_spec, check_identification
from .standardized import estimates

PARAMETERIZATIONS = ("delta", "theta")


class DWLSObjective(ModelMatrices):
    """The DWLS fit function of one ordinal model and its derivatives (an optimizer :class:`Objective`).

    Attributes
    ----------
    parameterization : {"delta", "theta"}
    n_th : list of int
        Thresholds per item (in ``spec.ov`` order).
    threshold_item : numpy.ndarray
        The item (index into ``spec.ov``) of each threshold.
    q_model, q : int
        Free parameters of the factor model; with the thresholds.
    obs, weights, gamma : numpy.ndarray
        Sample statistics ``s``, the DWLS weights ``diag(W)``, their asymptotic covariance.
    sample_cor : numpy.ndarray
        The polychoric correlation matrix.
    n : int
        Respondents; lavaan's statistics use ``n - 1``.
    """

    def __init__(self, spec: Spec, parameterization: str, stats: OrdinalSampleStats, n: int):
        super().__init__(spec)
        self.parameterization = parameterization
        self.n_th = [len(t) for t in stats.thresholds]
        self.n_thr = int(sum(self.n_th))
        self.q_model = spec.n_free
        self.q = self.q_model + self.n_thr
        self.obs = stats.obs
        self.sample_cor = stats.cor
        self.gamma = stats.gamma
        self.weights = 1.0 / np.diag(stats.gamma)
        self.n = n
        self._pairs = vech_index(self.p)
        self.threshold_item = np.repeat(np.arange(self.p), self.n_th)

    # -- the model's statistics --------------------------------------------------------
    def state(self, g: int, x: np.ndarray) -> ModelState:
        """The matrices at ``x``; under delta with the residual variances ``1 - R^2`` filled in."""
        st = self.model_state(g, x)
        if self.parameterization == "delta":
            diag = np.diag_indices(self.p)
            st.theta[diag] = 1.0 - np.einsum("ij,ij->i", st.lm, st.lam)
            st.sigma[diag] = 1.0
        return st

    def scale(self, st: ModelState) -> np.ndarray:
        """The scale factors ``Delta`` of the latent responses (lavaan's ``~*~`` rows)."""
        if self.parameterization == "delta":
            return np.ones(self.p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 / np.sqrt(np.diag(st.sigma))

    def implied(self, x: np.ndarray) -> np.ndarray:
        """The model's (scaled thresholds, correlations), in the order of the sample statistics."""
        st = self.state(0, x)
        scale = self.scale(st)
        cor = st.sigma * np.outer(scale, scale)
        return np.concatenate([x[self.q_model :] * scale[self.threshold_item], vech_off(cor)])

    def implied_correlations(self, x: np.ndarray) -> np.ndarray:
        st = self.state(0, x)
        scale = self.scale(st)
        return st.sigma * np.outer(scale, scale)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """``d implied / d x`` (rows: thresholds then correlations), analytic.

        An element moves Sigma by ``s (a b' + b a')`` (:func:`element_vectors`).
        Under delta the diagonal of Sigma stays 1, so the correlations move as
        Sigma's off-diagonal. Under theta, with ``d_i = Sigma_ii^-1/2``,
        ``d rho_ij = d_i d_j dSigma_ij - rho_ij (d_i^2 dSigma_ii + d_j^2 dSigma_jj) / 2`` and a
        threshold ``tau d_i`` moves by ``d_i dtau - tau d_i^3 dSigma_ii / 2``.
        """
        st = self.state(0, x)
        el = self.elements[0]
        a, b, s, _ = element_vectors(st, el, False)
        rows, cols = self._pairs
        d_off = s[:, None] * (a[:, rows] * b[:, cols] + b[:, rows] * a[:, cols])
        tau = x[self.q_model :]
        item = self.threshold_item
        d_tau_model = np.zeros((len(el), self.n_thr))
        d_tau_tau = np.ones(self.n_thr)
        if self.parameterization == "theta":
            scale = self.scale(st)
            d_diag = 2.0 * s[:, None] * a * b  # d Sigma_ii per element
            cor = st.sigma[rows, cols] * scale[rows] * scale[cols]
            rel = d_diag * scale**2  # d Sigma_ii / Sigma_ii
            d_off = d_off * (scale[rows] * scale[cols]) - 0.5 * cor * (rel[:, rows] + rel[:, cols])
            d_tau_model = -0.5 * (tau * scale[item]) * rel[:, item]
            d_tau_tau = scale[item]
        jac = np.zeros((len(self.obs), self.q))
        inc = self.incidence[0]
        jac[: self.n_thr, : self.q_model] = d_tau_model.T @ inc
        jac[: self.n_thr, self.q_model :] = np.diag(d_tau_tau)
        jac[self.n_thr :, : self.q_model] = d_off.T @ inc
        return jac

    # -- the objective (optimize.Objective) -------------------------------------------------
    def objective(self, x: np.ndarray) -> float:
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                r = self.obs - self.implied(x)
        except (np.linalg.LinAlgError, FloatingPointError):
            return math.inf
        value = float(r @ (self.weights * r))
        return value if math.isfinite(value) else math.inf

    def objective_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``F`` and its gradient ``-2 D'W (s - sigma)``."""
        f = self.objective(x)
        if not math.isfinite(f):
            return f, np.zeros(self.q)
        r = self.obs - self.implied(x)
        return f, -2.0 * self.jacobian(x).T @ (self.weights * r)

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """The Gauss-Newton matrix ``2 D'WD`` (the expected Hessian of F)."""
        jac = self.jacobian(x)
        return 2.0 * jac.T @ (self.weights[:, None] * jac)

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of F: ``2 D'WD`` minus twice the residuals' curvature ``d(D'W r)/dx`` (r held fixed).

        The curvature comes from central differences of the analytic ``D``: ``D'W r``
        with ``r`` fixed is nearly linear in x, so the differences are accurate,
        and the optimizer's Newton steps then converge quadratically.
        """
        wr = self.weights * (self.obs - self.implied(x))
        curvature = np.zeros((self.q, self.q))
        # Under delta D does not depend on the thresholds: their columns have no curvature.
        varying = self.q_model if self.parameterization == "delta" else self.q
        for t in range(varying):
            h = 1e-5 * max(1.0, abs(x[t]))
            up, down = x.copy(), x.copy()
            up[t] += h
            down[t] -= h
            curvature[:, t] = (self.jacobian(up).T @ wr - self.jacobian(down).T @ wr) / (2 * h)
        return self.fisher_information(x) - (curvature + curvature.T)

    # -- the pieces of the tests and the parameter table ------------------------------------
    def baseline_objective(self) -> tuple[float, int]:
        """F of the independence model (thresholds free, correlations 0) and its degrees of freedom."""
        r = self.obs[self.n_thr :]
        return float(np.sum(self.weights[self.n_thr :] * r**2)), len(r)

    def row_estimates(self, x: np.ndarray) -> np.ndarray:
        """The value of every row of the parameter table, with the residual variances from ``state``."""
        spec = self.spec
        est = estimates(spec, x)
        theta = self.state(0, x).theta
        ov_index = {v: i for i, v in enumerate(spec.ov)}
        for k in range(spec.n_rows):
            if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in ov_index:
                i = ov_index[spec.lhs[k]]
                est[k] = theta[i, i]
        return est


def ordinal_spec(model: CFAModel, parameterization: str) -> Spec:
    """The parameter table of an ordinal model: no mean structure, residual variances not free.

    Under delta they are derived (value NaN), under theta fixed to 1; a user
    statement freeing one is an error. Free parameters are renumbered.
    """
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


__all__ = ["PARAMETERIZATIONS", "DWLSObjective", "ordinal_spec"]
