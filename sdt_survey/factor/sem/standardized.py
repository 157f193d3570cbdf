"""The standardized solution (std.lv, std.all) and its delta-method standard errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...stats.differences import central_jacobian
from ...stats.probability import norm_ppf, norm_sf
from .spec import Spec

if TYPE_CHECKING:  # only for annotations: .implied imports this module
    from .implied import Engine, ModelMatrices


def estimates(spec: Spec, x: np.ndarray) -> np.ndarray:
    """The value of every row of the parameter table: its free parameter, else its fixed value."""
    return np.where(spec.free >= 0, x[..., np.maximum(spec.free, 0)], spec.value)


@dataclass
class _StdPlan:
    """Which factor SDs multiply and which factor or item SDs divide each row (lavaan's std rules)."""

    mul_lv: np.ndarray
    mul_ov: np.ndarray  # an observed predictor (a covariate's phantom): scaled by its SD in std.all only
    div_lv: np.ndarray
    div_lv2: np.ndarray
    div_ov: np.ndarray
    div_ov2: np.ndarray
    cov_a: np.ndarray  # variance rows whose sqrt(|est|) divide a covariance (cov.std)
    cov_b: np.ndarray
    cov_kind: np.ndarray  # -1 factors, 0 factor ~~ observed, 3 observed ~~ factor, 1 observed, 2 covariates


def std_plan(spec: Spec) -> _StdPlan:
    n = spec.n_rows
    arrays = {name: np.full(n, -1, dtype=int) for name in _StdPlan.__dataclass_fields__}
    # Observed variables in regressions (phantom factors) are standardized as observed variables.
    lv_index = {n_: i for i, n_ in enumerate(spec.lv) if n_ not in spec.dummy}
    ov_index = {n_: i for i, n_ in enumerate(spec.ov)}
    variance_row = {
        (spec.group[k], spec.lhs[k]): k for k in range(n) if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k]
    }
    for k in range(n):
        lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
        if op == "=~":
            arrays["mul_lv"][k] = lv_index[lhs]
            if rhs in lv_index:
                arrays["div_lv"][k] = lv_index[rhs]
            else:
                arrays["div_ov"][k] = ov_index[rhs]
        elif op == "~":
            if rhs in lv_index:
                arrays["mul_lv"][k] = lv_index[rhs]
            else:
                arrays["mul_ov"][k] = ov_index[rhs]
            if lhs in lv_index:
                arrays["div_lv"][k] = lv_index[lhs]
            else:
                arrays["div_ov"][k] = ov_index[lhs]
        elif op == "~~" and lhs == rhs:
            if lhs in lv_index:
                arrays["div_lv"][k] = arrays["div_lv2"][k] = lv_index[lhs]
            else:
                arrays["div_ov"][k] = arrays["div_ov2"][k] = ov_index[lhs]
        elif op == "~~":
            arrays["cov_a"][k] = variance_row[(spec.group[k], lhs)]
            arrays["cov_b"][k] = variance_row[(spec.group[k], rhs)]
            if lhs not in lv_index and rhs not in lv_index:
                arrays["cov_kind"][k] = 2 if {lhs, rhs} <= set(spec.fixed_x) else 1
            elif (lhs in lv_index) != (rhs in lv_index):
                arrays["cov_kind"][k] = 0 if lhs in lv_index else 3
        elif op == "~1":
            if lhs in lv_index:
                arrays["div_lv"][k] = lv_index[lhs]
            else:
                arrays["div_ov"][k] = ov_index[lhs]
    return _StdPlan(**arrays)


def standardized_solution(
    spec: Spec, engine: ModelMatrices, x: np.ndarray, kind: str = "all", est: np.ndarray | None = None
) -> np.ndarray:
    """lavaan's std.all (or std.lv) value of every row of the parameter table.

    Loadings are multiplied by the factor's SD and divided by the item's
    model-implied SD; variances divided by the total variance; covariances
    divided by the square roots of the two residual variances (``cov.std``);
    intercepts and means by the SD. ``est``: the rows' values, when some are
    derived rather than parameters (the residual variances of ordinal items
    under the delta parameterization); by default :func:`estimates`.
    ``x`` may be a stack of parameter vectors (shape ``(k, q)``); the result is then ``(k, rows)``.
    """
    plan = engine.std_plan
    est = estimates(spec, x) if est is None else est
    states = engine.states(x)
    with np.errstate(invalid="ignore"):
        lv_var = np.stack([np.diagonal(st.lv_cov, axis1=-2, axis2=-1) for st in states], axis=-2)
        lv_var = np.where(lv_var < 0, np.nan, lv_var)
        ov_var = np.stack([np.diagonal(st.sigma, axis1=-2, axis2=-1) for st in states], axis=-2)
        if kind == "nox":  # std.nox: covariates keep their scale
            ov_var[..., [spec.ov.index(name) for name in spec.fixed_x]] = 1.0
        elif kind != "all":
            ov_var = np.ones_like(ov_var)
        ov_var = np.where(ov_var < 0, np.nan, ov_var)
    eta, ov_sd = np.sqrt(lv_var), np.sqrt(ov_var)
    g = spec.group

    def gather(table: np.ndarray, index: np.ndarray) -> np.ndarray:
        if table.shape[-1] == 0:
            return np.ones(len(index))
        return np.where(index >= 0, table[..., g, np.maximum(index, 0)], 1.0)

    factor = gather(eta, plan.mul_lv) / gather(eta, plan.div_lv) / gather(eta, plan.div_lv2)
    factor = factor * gather(ov_sd, plan.mul_ov) / gather(ov_sd, plan.div_ov) / gather(ov_sd, plan.div_ov2)
    resid = np.sqrt(np.abs(est))
    with np.errstate(invalid="ignore", divide="ignore"):
        # std.lv leaves covariances of observed variables alone; std.nox those of covariates.
        # (with a factor and an observed variable, std.lv scales by the factor's side only).
        scaled = plan.cov_a >= 0
        if kind == "lv":
            scaled &= np.isin(plan.cov_kind, (-1, 0, 3))
        elif kind == "nox":
            scaled &= plan.cov_kind != 2
        side_a = resid[..., np.maximum(plan.cov_a, 0)]
        side_b = resid[..., np.maximum(plan.cov_b, 0)]
        if kind == "lv":
            side_a = np.where(plan.cov_kind == 3, 1.0, side_a)
            side_b = np.where(plan.cov_kind == 0, 1.0, side_b)
        cov = np.where(scaled, side_a * side_b, 1.0)
        return est * factor / cov


def delta_method_se(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, vcov: np.ndarray, stacked: bool = False
) -> np.ndarray:
    """Delta-method standard errors of ``fn(x)`` (central-difference Jacobian, as lavaan's std.all SEs).

    Standard errors below ``eps^(1/4)`` are reported as 0, as lavaan does (fixed
    values standardized); NaN when ``vcov`` is not finite. ``stacked``: ``fn``
    takes a stack of parameter vectors at once (:func:`standardized_solution` does).

    Examples
    --------
    >>> import numpy as np
    >>> delta_method_se(lambda v: 2 * v, np.array([1.0]), np.array([[0.25]])).round(6).tolist()
    [1.0]
    """
    if not np.all(np.isfinite(vcov)):
        return np.full(len(fn(x)), np.nan)
    jac = central_jacobian(fn if stacked else (lambda points: np.array([fn(p) for p in points])), x)
    var = np.einsum("ij,jk,ik->i", jac, vcov, jac)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(var < 0, np.nan, var))
    return np.where(se < np.finfo(float).eps ** 0.25, 0.0, se)


def standardized_se(spec: Spec, engine: Engine, x: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """Delta-method standard errors of std.all (numerical Jacobian, as lavaan)."""
    return delta_method_se(lambda xx: standardized_solution(spec, engine, xx), x, vcov, stacked=True)


def standardized_tests(std: np.ndarray, se: np.ndarray) -> dict[str, np.ndarray]:
    """lavaan's ``standardizedSolution()`` columns after ``se``: ``z``, ``pvalue``, ``ci.lower/upper``.

    ``z`` and ``pvalue`` are NaN where the standard error is 0 (fixed values);
    the 95% interval is ``std -/+ qnorm(0.975) se``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, std / se, np.nan)
    crit = norm_ppf(0.975)
    return {
        "std_all_z": z,
        "std_all_pvalue": 2 * norm_sf(np.abs(z)),
        "std_all_ci_lower": std - crit * se,
        "std_all_ci_upper": std + crit * se,
    }
