"""The covariance matrix of the estimates (an estimator's ``covariance``), with a reason when singular.

ML: the inverse information (:func:`information_vcov`); MLR: the Huber-White
sandwich (:func:`sandwich_vcov`); WLSMV: the Gamma sandwich of DWLS
(:func:`robust_sem_vcov`, lavaan's ``se = "robust.sem"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .cholesky import cho_solve, cholesky_lower
from .spec import Spec

if TYPE_CHECKING:  # only for annotations
    from .dwls import DWLSObjective
    from .implied import Engine
    from .optimize import Optimum


def _invert_information(info: np.ndarray, n_total: int, spec: Spec) -> tuple[np.ndarray, str | None]:
    """``(N info)^-1``, or NaN with a plain-words reason when the information is singular."""
    q = info.shape[0]
    if q == 0:
        return np.zeros((0, 0)), None
    info = (info + info.T) / 2
    if not np.isfinite(info).all():
        reason = (
            "the information matrix has undefined entries, so standard errors are not available: the "
            "data are degenerate for this model (e.g. items correlating (nearly) +-1, or an answer "
            "category no one chose beside another item)"
        )
        return np.full((q, q), np.nan), reason
    try:
        factor = cholesky_lower(info)
        pivots = np.diag(factor) ** 2
        if pivots.min() > 1e-10 * np.abs(np.diag(info)).max():
            return cho_solve(factor, np.eye(q)) / n_total, None
    except np.linalg.LinAlgError:
        pass
    eigval, eigvec = np.linalg.eigh(info)
    if eigval[0] > 1e-10 * max(abs(eigval[-1]), 1e-300):
        return np.linalg.inv(info) / n_total, None
    weights = np.abs(eigvec[:, 0])
    names = []
    for t in np.argsort(-weights)[:4]:
        if weights[t] < 0.1:
            continue
        rows = np.flatnonzero(spec.free == t)
        names.append(_row_name(spec, int(rows[0])) if len(rows) else "a threshold")
    reason = (
        "the model is not identified by these data (the information matrix is singular), so standard "
        f"errors are not available; the parameters involved include {', '.join(names)}. A factor with "
        "two items and no correlation with other factors, or a factor whose items do not correlate, "
        "causes this: add items, correlate the factor, or fix a parameter"
    )
    return np.full((q, q), np.nan), reason


def _row_name(spec: Spec, k: int) -> str:
    name = f"{spec.lhs[k]} {spec.op[k]} {spec.rhs[k]}".strip() if spec.op[k] != "~1" else f"{spec.lhs[k]} ~ 1"
    return name + (f" (group {spec.group[k] + 1})" if spec.n_groups > 1 else "")


@dataclass
class Covariance:
    """The covariance matrix of the estimates, and the information pieces a robust test reuses."""

    vcov: np.ndarray
    reason: str | None  # why standard errors are not available (a singular information matrix)
    observed: np.ndarray | None = None  # the observed information, when it was computed
    first_order: np.ndarray | None = None  # the cross-product of casewise scores (MLR)
    bread: np.ndarray | None = None  # (D'WD)^-1 of the DWLS sandwich (WLSMV)
    jacobian: np.ndarray | None = None  # D, the Jacobian of the model's statistics at the estimates (WLSMV)


def _reusable(engine: Engine, x: np.ndarray, opt: Optimum) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The optimizer's last scoring matrix, when it is at the final estimates, and it if it is observed."""
    reusable = opt.information if np.array_equal(x, opt.x) else None
    observed = reusable if reusable is not None and opt.information_kind == "observed" else None
    return reusable, observed


def information_vcov(engine: Engine, x: np.ndarray, opt: Optimum, fiml: bool) -> Covariance:
    """ML standard errors: ``(N I)^-1``, I the expected information (observed under FIML, as lavaan)."""
    reusable, observed = _reusable(engine, x, opt)
    if fiml:
        info = engine.observed_information(x) if observed is None else observed
    elif reusable is not None and opt.information_kind == "fisher":
        info = reusable  # complete data: the scoring matrix is the expected information
    else:
        info = engine.expected_information(x)
    vcov, reason = _invert_information(info, engine.n_total, engine.spec)
    return Covariance(vcov, reason, observed)


def sandwich_vcov(engine: Engine, x: np.ndarray, opt: Optimum, fiml: bool) -> Covariance:
    """Huber-White (MLR) standard errors: ``A^-1 B A^-1 / N`` with A observed, B first-order information."""
    _, observed = _reusable(engine, x, opt)
    observed = engine.observed_information(x) if observed is None else observed
    bread, reason = _invert_information(observed, engine.n_total, engine.spec)
    first_order, _ = engine.first_order_information(x)
    vcov = bread @ first_order @ bread * engine.n_total if reason is None else bread
    return Covariance(vcov, reason, observed, first_order)


def robust_sem_vcov(model: DWLSObjective, x: np.ndarray, opt: Optimum, fiml: bool = False) -> Covariance:
    """WLSMV standard errors: ``(D'WD)^-1 D'W Gamma W D (D'WD)^-1 / (N - 1)`` (lavaan's ``robust.sem``).

    ``D`` is the Jacobian of the model's thresholds and correlations, ``W`` the
    DWLS weights and ``Gamma`` the asymptotic covariance of the sample statistics.
    """
    jac = model.jacobian(x)
    wd = model.weights[:, None] * jac
    bread, reason = _invert_information(jac.T @ wd, 1, model.spec)
    vcov = bread @ (wd.T @ model.gamma @ wd) @ bread / (model.n - 1) if reason is None else bread
    return Covariance(vcov, reason, bread=bread, jacobian=jac)
