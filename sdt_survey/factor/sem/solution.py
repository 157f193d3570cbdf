"""The fitted solution: parameter table, orientation of the factors, improper solutions in words."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...stats.probability import norm_ppf, norm_sf
from .effects import defined_estimates, defined_standardized
from .implied import Engine
from .spec import Spec
from .standardized import estimates, standardized_se, standardized_solution, standardized_tests


def improper_solution_problems(spec: Spec, engine: Engine, x: np.ndarray, labels: Sequence[str]) -> list[str]:
    """Heywood cases and improper factor covariance matrices, in words."""
    out = []
    for g in range(spec.n_groups):
        st = engine.state(g, x)
        where = f" in group {labels[g]!r}" if spec.n_groups > 1 else ""
        for i, name in enumerate(spec.ov):
            if st.theta[i, i] < 0:
                out.append(
                    f"the residual variance of {name!r} is negative ({st.theta[i, i]:.3g}){where}: a Heywood "
                    "case, so the solution is improper. Common causes: a factor with too few items, a "
                    "misspecified model, or a small sample"
                )
        for k, name in enumerate(spec.lv):
            if st.psi[k, k] < 0 and name in spec.dummy:
                out.append(f"the residual variance of {name!r} is negative ({st.psi[k, k]:.3g}){where}")
            elif st.psi[k, k] < 0:
                out.append(
                    f"the variance of factor {name!r} is negative ({st.psi[k, k]:.3g}){where}: the solution "
                    "is improper"
                )
        factors = [spec.lv.index(f) for f in spec.factors]
        lv_cov = st.lv_cov[np.ix_(factors, factors)]
        if len(factors) > 1 and np.all(np.diag(lv_cov) > 0):
            sd = np.sqrt(np.diag(lv_cov))
            cor = lv_cov / np.outer(sd, sd)
            bad = [
                f"{spec.factors[a]} and {spec.factors[b]} ({cor[a, b]:.3f})"
                for a, b in itertools.combinations(range(len(factors)), 2)
                if abs(cor[a, b]) > 1
            ]
            if np.linalg.eigvalsh(lv_cov)[0] < -1e-10 or bad:
                detail = f": correlations beyond 1 between {'; '.join(bad)}" if bad else ""
                out.append(
                    f"the factor covariance matrix is not positive definite{where}{detail}; the factors "
                    "may not be distinct, consider merging them"
                )
    return out


def standard_errors(vcov: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The standard error of each row whose parameter index is ``free`` (0 where it is fixed, -1)."""
    if vcov.shape[0] == 0:
        return np.zeros(len(free))
    se_free = np.sqrt(np.abs(np.diag(vcov)))
    return np.where(free >= 0, se_free[np.maximum(free, 0)], 0.0)


def wald_tests(est: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``z = est / se`` and its two-sided p-value; NaN where there is no standard error (fixed values)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    return z, 2 * norm_sf(np.abs(z))


def parameter_table(
    spec: Spec,
    engine: Engine,
    x: np.ndarray,
    vcov: np.ndarray,
    labels: list[str],
    standardized: bool = True,
) -> pd.DataFrame:
    """lavaan's parameterEstimates() with std.lv, std.all and standardizedSolution()'s se, z, p, CI."""
    est = estimates(spec, x)
    se = standard_errors(vcov, spec.free)
    z, pvalue = wald_tests(est, se)
    crit = norm_ppf(0.975)
    table = {
        "lhs": spec.lhs,
        "op": spec.op,
        "rhs": spec.rhs,
        "group": [labels[g] for g in spec.group],
        "label": spec.label,
        "est": est,
        "se": se,
        "z": z,
        "pvalue": pvalue,
        "ci_lower": est - crit * se,
        "ci_upper": est + crit * se,
    }
    if standardized:
        table["std_lv"] = standardized_solution(spec, engine, x, "lv")
        table["std_all"] = standardized_solution(spec, engine, x, "all")
        table["std_all_se"] = standardized_se(spec, engine, x, vcov)
        table.update(standardized_tests(table["std_all"], table["std_all_se"]))
    frame = pd.DataFrame(table)
    if spec.defined:
        frame = pd.concat(
            [frame, _defined_frame(spec, engine, x, vcov, standardized, crit)], ignore_index=True
        )
    return frame.drop(columns="group") if spec.n_groups == 1 else frame


def _defined_frame(
    spec: Spec, engine: Engine, x: np.ndarray, vcov: np.ndarray, standardized: bool, crit: float
):
    """The ``:=`` rows, as lavaan's parameterEstimates() shows them (the label is the defined name)."""
    est, se = defined_estimates(spec, x, vcov)
    z, pvalue = wald_tests(est, se)
    names = [s.lhs for s in spec.defined]
    table = {
        "lhs": names,
        "op": ":=",
        "rhs": [s.rhs for s in spec.defined],
        "group": "",
        "label": names,
        "est": est,
        "se": se,
        "z": z,
        "pvalue": pvalue,
        "ci_lower": est - crit * se,
        "ci_upper": est + crit * se,
    }
    if standardized:
        table.update(defined_standardized(spec, engine, x, vcov))
    return pd.DataFrame(table)


def orient_factors(spec: Spec, x: np.ndarray) -> np.ndarray:
    """Give factors scaled by their variance a positive first loading (their sign is arbitrary).

    A factor identified by a unit variance fits equally well with every loading
    negated; like lavaan's usual outcome, report the orientation whose first
    loading is positive. Factors with a fixed loading are left alone, and so is
    any factor whose parameters are tied (by labels) to parameters of others.
    """
    x = x.copy()
    for f in spec.lv:
        rows = []
        first = None
        for k in range(spec.n_rows):
            lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
            touches = (
                (op == "=~" and f in (lhs, rhs))
                or (op == "~" and (lhs == f) != (rhs == f))
                or (op == "~~" and (lhs == f) != (rhs == f))
                or (op == "~1" and lhs == f)
            )
            if not touches:
                continue
            if spec.free[k] < 0 and spec.value[k] != 0:
                rows = []
                break  # a fixed nonzero value sets the sign
            rows.append(k)
            if first is None and op == "=~" and lhs == f:
                first = k
        if not rows or first is None or spec.free[first] < 0 or x[spec.free[first]] >= 0:
            continue
        params = {spec.free[k] for k in rows if spec.free[k] >= 0}
        others = {spec.free[k] for k in range(spec.n_rows) if k not in rows and spec.free[k] >= 0}
        if params & others:
            continue
        x[list(params)] *= -1
    return x
