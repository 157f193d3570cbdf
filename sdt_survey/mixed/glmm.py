"""Generalized linear mixed models (binomial, Poisson) fitted as ``lme4::glmer``.

The criterion (:mod:`~sdt_survey.mixed.glmm_criterion`) is glmer's ``devfun``: the Laplace
approximation (``nAGQ = 1``) or adaptive Gauss-Hermite quadrature (``nAGQ > 1``, one scalar random
effect). The optimization follows glmer's two stages: θ with β at its joint penalized mode
(``nAGQ = 0``), then (θ, β) together. Standard errors are lme4's default: twice the inverse of the
finite-difference Hessian of the criterion in (θ, β) (``vcov(fit)``, ``use.hessian = TRUE``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import ModelFitError, ModelFormulaError, SdtSurveyError
from ..stats.probability import chi2_sf
from .design import _codes, _fixed_matrix
from .family import Family, get_family
from .formula import _IDENT, _split_top, parse_formula
from .glmm_criterion import _GlmmCriterion, _ReTerm
from .inference import LikelihoodRatioTest, _fixed_table
from .optimize import SINGULAR_MESSAGE, SINGULAR_TOLERANCE
from .prepare import _exposure_variables, _parse_spline, _prepare
from .results import ModelResult, RandomEffectGroup
from .terms import _dmatrix, _terms_involving

_Y, _N = "__glmm_response__", "__glmm_trials__"
#: Step of the central-difference Hessian (lme4's ``deriv12``).
HESSIAN_STEP = 1e-4
#: Largest nAGQ lme4 accepts.
MAX_NAGQ = 25


# =========================================================================== the response
def _response(formula: str, data: pd.DataFrame, family: Family) -> tuple[str, str, pd.DataFrame]:
    """The formula with the response renamed, and the data with response (a proportion) and trials.

    ``cbind(successes, failures)`` or ``cbind(successes, trials - successes)``, as lme4.
    """
    lhs, _, rhs = formula.partition("~")
    lhs = lhs.strip()
    frame = data.copy()
    match = re.fullmatch(r"cbind\s*\((.*)\)", lhs)
    if match:
        if family.name != "binomial":
            raise ModelFormulaError(f"{formula}: cbind(successes, failures) is for family='binomial'")
        parts = [chunk.strip() for _, chunk in _split_top(match.group(1), ",")]
        if len(parts) != 2 or not _IDENT.match(parts[0]):
            raise ModelFormulaError(
                f"{formula}: write the binomial response as cbind(successes, failures) or "
                "cbind(successes, trials - successes) with column names"
            )
        succ = parts[0]
        diff = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.]*)\s*-\s*([A-Za-z_][A-Za-z0-9_.]*)", parts[1])
        for col in [succ, *(diff.groups() if diff else [parts[1]])]:
            if col not in data.columns:
                raise ModelFormulaError(f"{formula}: no column {col!r} in the data")
        s = pd.to_numeric(data[succ], errors="coerce")
        if diff and diff.group(2) == succ:
            trials = pd.to_numeric(data[diff.group(1)], errors="coerce")
        elif diff or not _IDENT.match(parts[1]):
            raise ModelFormulaError(
                f"{formula}: the second cbind() column must be the failures or trials - {succ}"
            )
        else:
            trials = s + pd.to_numeric(data[parts[1]], errors="coerce")
        bad = (s < 0) | (s > trials) | (s != np.round(s)) | (trials != np.round(trials))
        if bad.any():
            raise ModelFormulaError(
                f"{formula}: successes must be whole numbers between 0 and the number of trials "
                f"({int(bad.sum())} rows are not)"
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            frame[_Y] = np.where(trials > 0, s / trials, 0.0)
        frame.loc[s.isna() | trials.isna(), _Y] = np.nan
        frame[_N] = trials.astype(float)
    else:
        if lhs not in data.columns:
            raise ModelFormulaError(f"{formula}: no response column {lhs!r} in the data")
        if not pd.api.types.is_numeric_dtype(data[lhs]) or pd.api.types.is_bool_dtype(data[lhs]):
            y = pd.to_numeric(data[lhs].astype(object).where(data[lhs].notna()), errors="coerce")
            if data[lhs].notna().sum() != y.notna().sum():
                raise ModelFormulaError(f"{formula}: the response {lhs!r} must be numeric (0/1 or counts)")
        else:
            y = data[lhs].astype(float)
        seen = y.dropna()
        if family.name == "binomial" and not seen.isin([0.0, 1.0]).all():
            raise ModelFormulaError(
                f"{formula}: a binomial response must be 0/1 (or write cbind(successes, failures)); "
                f"{lhs!r} has values such as {sorted(set(seen[~seen.isin([0.0, 1.0])].tolist()))[:3]}"
            )
        if family.name == "poisson" and ((seen < 0) | (seen != np.round(seen))).any():
            raise ModelFormulaError(
                f"{formula}: a Poisson response must be counts (0, 1, 2...); {lhs!r} is not"
            )
        frame[_Y] = y
        frame[_N] = 1.0
    return f"{_Y} ~{rhs}", lhs, frame


# =========================================================================== optimization
def _central_gradient(f, x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    g = np.empty(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = step
        g[j] = (f(x + e) - f(x - e)) / (2 * step)
    return g


def hessian(f, x: np.ndarray, fx: float, delta: float = HESSIAN_STEP) -> np.ndarray:
    """lme4's ``deriv12`` Hessian: central differences with step ``delta``.

    Examples
    --------
    >>> h = hessian(lambda v: float(v @ v), np.array([1.0, 2.0]), 5.0)
    >>> np.round(h, 6).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    n = len(x)
    H = np.empty((n, n))
    for j in range(n):
        ej = np.zeros(n)
        ej[j] = delta
        H[j, j] = (f(x + ej) - 2 * fx + f(x - ej)) / delta**2
        for i in range(j):
            ei = np.zeros(n)
            ei[i] = delta
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * delta**2
            )
    return H


def _minimize(f, x0: np.ndarray, lower: np.ndarray, rounds: int = 3, ftol: float = 1e-15) -> np.ndarray:
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    x = np.maximum(np.asarray(x0, dtype=float), lower)

    def grad(v):
        return _central_gradient(lambda w: f(np.maximum(w, lower)), v)

    for k in range(rounds):
        # The first round with forward differences (half the evaluations), then central ones.
        res = optimize.minimize(
            f,
            x,
            jac="2-point" if k == 0 and rounds > 1 else grad,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": ftol, "gtol": 1e-9, "maxiter": 2000, "maxls": 50},
        )
        done = np.allclose(res.x, x, rtol=0, atol=1e-9)
        if res.fun <= f(x):
            x = np.asarray(res.x, dtype=float)
        if done:
            break
    return x


def _fit(crit: _GlmmCriterion) -> dict[str, Any]:
    nt = crit.n_theta
    # glmer's first stage (θ with β at the joint penalized mode, nAGQ = 0) gives the start of the
    # second; the second stage finds the optimum from anywhere near it, so a few steps are enough.
    theta1 = _minimize(crit.deviance0, crit.start_theta(), crit.lower, rounds=1, ftol=1e-8)
    crit.deviance0(theta1)
    beta1 = crit._beta0.copy()
    lower = np.concatenate([crit.lower, np.full(crit.X.shape[1], -np.inf)])
    pars = _minimize(crit.deviance, np.concatenate([theta1, beta1]), lower)
    dev = crit.deviance(pars)
    solved = crit.pirls(pars[:nt], pars[nt:])
    H = hessian(crit.deviance, pars, dev)
    crit.deviance(pars)  # the modes at the optimum again
    free = pars[:nt] > lower[:nt] + 1e-8
    grad = _central_gradient(crit.deviance, pars)
    grad_free = np.concatenate([grad[:nt][free], grad[nt:]])
    return {
        "pars": pars,
        "dev": dev,
        "solved": solved,
        "hessian": H,
        "max_gradient": float(np.max(np.abs(grad_free))),
    }


def _vcov(crit: _GlmmCriterion, fit: dict[str, Any]) -> tuple[np.ndarray, str]:
    """lme4's ``vcov()``: from the Hessian in (θ, β); from RX when that is not positive definite."""
    nt = crit.n_theta
    try:
        V = 2 * np.linalg.inv(fit["hessian"])[nt:, nt:]
        V = (V + V.T) / 2
        if np.all(np.linalg.eigvalsh(V) > 0):
            return V, "hessian"
    except np.linalg.LinAlgError:
        pass
    s = fit["solved"]
    fam = crit.family
    w = crit.wt * fam.mu_eta(s["eta"]) ** 2 / fam.variance(s["mu"])
    UtWX = s["U"].T @ (crit.X * w[:, None])
    RZX = np.linalg.solve(s["L"], UtWX)
    XtWX = crit.X.T @ (crit.X * w[:, None]) - RZX.T @ RZX
    return np.linalg.inv(XtWX), "RX"


# =========================================================================== fit_glmm
def fit_glmm(
    formula: str,
    data: pd.DataFrame,
    *,
    family: str = "binomial",
    nAGQ: int = 1,
    within_between: str | None = None,
    spline: str | Mapping[str, Any] | None = None,
    exposure: str | Sequence[str] | None = None,
    person: str | Sequence[str] | None = None,
    lrt: bool = True,
) -> ModelResult:
    """Fit a generalized linear mixed model as ``lme4::glmer`` (called by :func:`fit_model` with ``family``).

    Parameters
    ----------
    formula : str
        lme4 syntax. A binomial response is a 0/1 column or ``cbind(successes, failures)`` /
        ``cbind(successes, trials - successes)``; a Poisson response is a count column.
    data : pandas.DataFrame
    family : {"binomial", "poisson"}
        Logit and log links.
    nAGQ : int
        1: the Laplace approximation (glmer's default); 2 to 25: adaptive Gauss-Hermite quadrature
        with that many nodes (one scalar random effect only, as lme4).
    within_between, spline, exposure, person, lrt
        As :func:`fit_model`; the likelihood-ratio test compares the criteria of the two fits.

    Returns
    -------
    ModelResult
        ``family`` and ``nagq`` set; ``fixed`` on the link scale (log odds, log rates) with Wald z
        tests; :attr:`ModelResult.odds_ratios` for binomial models.

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> g = np.repeat(np.arange(12), 30)
    >>> x = rng.normal(size=360)
    >>> eta = -0.5 + 0.8 * x + rng.normal(0, 0.7, 12)[g]
    >>> data = pd.DataFrame({"y": (rng.uniform(size=360) < 1 / (1 + np.exp(-eta))).astype(int),
    ...                      "x": x, "g": g})
    >>> fit = fit_glmm("y ~ x + (1|g)", data)
    >>> fit.family, round(float(fit.fixed.loc["x", "estimate"]), 2)
    ('binomial', 0.81)
    """
    started = time.perf_counter()
    if not isinstance(data, pd.DataFrame):
        raise SdtSurveyError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    fam = get_family(family)
    if not isinstance(nAGQ, (int, np.integer)) or not 1 <= int(nAGQ) <= MAX_NAGQ:
        raise ModelFormulaError(f"nAGQ must be a whole number from 1 to {MAX_NAGQ}, got {nAGQ!r}")
    inner_formula, response, frame0 = _response(formula, data, fam)
    parsed = parse_formula(inner_formula)
    spline_spec = _parse_spline(spline)
    frame, fixed_rhs, labels, wb_info, messages = _prepare(
        parsed, frame0, within_between, spline_spec, person, extra=[_N]
    )
    X, x_names, design_info = _fixed_matrix(parsed, frame, fixed_rhs, labels)
    y = frame[_Y].to_numpy(dtype=float)
    wt = frame[_N].to_numpy(dtype=float)

    terms: list[_ReTerm] = []
    for t in parsed.random:
        levels, level_labels = _codes(frame, t.group)
        Z = _dmatrix(t.expr, frame, formula)
        names = ["(Intercept)" if c == "Intercept" else str(c) for c in Z.columns]
        if len(level_labels) < 2:
            raise ModelFormulaError(f"{formula}: grouping factor {t.group_name} has fewer than 2 levels")
        terms.append(_ReTerm(t.group_name, names, Z.to_numpy(dtype=float), levels, level_labels))
    terms.sort(key=lambda t: -t.n_levels)  # lme4 orders the terms by decreasing number of levels
    if nAGQ > 1 and not (len(terms) == 1 and terms[0].p == 1):
        raise ModelFormulaError(
            f"{formula}: nAGQ > 1 is only available for one scalar random effect such as (1|program) "
            "(as lme4); use nAGQ=1 (Laplace)"
        )
    crit = _GlmmCriterion(y, wt, X, terms, fam, int(nAGQ))
    try:
        fit = _fit(crit)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        raise ModelFitError(f"{formula}: the {fam.name} mixed model could not be fitted: {exc}") from None
    nt = crit.n_theta
    pars = fit["pars"]
    theta, beta = pars[:nt], pars[nt:]
    V, vcov_source = _vcov(crit, fit)
    warns = list(messages)
    how = "Laplace approximation" if nAGQ == 1 else f"adaptive Gauss-Hermite quadrature, {nAGQ} nodes"
    source = (
        "the finite-difference Hessian in (theta, beta)"
        if vcov_source == "hessian"
        else "the RX factor (the Hessian was not positive definite)"
    )
    notes = [f"{how}; standard errors from {source}, as lme4's vcov()"]
    converged = fit["max_gradient"] < 2e-3
    if not converged:
        warns.append(
            f"the optimizer stopped with a gradient of {fit['max_gradient']:.2g}: check the estimates"
        )

    # Variance components Σ = T T' per term.
    random: dict[str, RandomEffectGroup] = {}
    mode_rows: list[pd.DataFrame] = []
    b = crit.lam(theta) @ crit.u
    k = start = 0
    singular_parts = []
    var_random = 0.0
    for t in terms:
        r, c = t.tril
        T = np.zeros((t.p, t.p))
        T[r, c] = theta[k : k + len(r)]
        k += len(r)
        S = T @ T.T
        if np.any(np.diag(T) < SINGULAR_TOLERANCE):
            singular_parts.append(t.grouping)
        random[t.grouping] = RandomEffectGroup(
            t.grouping, pd.DataFrame(S, index=t.names, columns=t.names), t.p > 1, t.n_levels
        )
        var_random += float(np.mean(np.einsum("ij,jk,ik->i", t.values, S, t.values)))
        bt = b[start : start + t.n_levels * t.p].reshape(t.n_levels, t.p)
        start += t.n_levels * t.p
        mode_rows.append(
            pd.DataFrame(
                {
                    "grouping": t.grouping,
                    "level": np.repeat(t.level_labels.astype(str), t.p),
                    "term": np.tile(t.names, t.n_levels),
                    "value": bt.ravel(),
                }
            )
        )
    singular = bool(singular_parts)
    if singular:
        warns.insert(
            0, f"{SINGULAR_MESSAGE} (the random effects of {', '.join(singular_parts)} have zero variance)"
        )

    # Nakagawa et al. (2017) R2 on the latent scale.
    eta_fixed = X @ beta
    var_fixed = float(np.var(eta_fixed, ddof=1)) if len(y) > 1 else 0.0
    if fam.name == "binomial":
        var_dist, var_delta = fam.latent_variance(), None
    else:
        lam = math.exp(float(np.mean(eta_fixed)) + var_random / 2)
        var_dist, var_delta = math.log1p(1 / lam), 1 / lam
    denom = var_fixed + var_random + var_dist

    fixed = _fixed_table(x_names, beta, V)
    tested = set(_exposure_variables(parsed, frame, exposure, within_between, spline_spec))
    if within_between in tested:
        tested |= {f"{within_between}_within", f"{within_between}_between"}
    lrt_result = None
    drop = _terms_involving(design_info, tested) if tested else np.zeros(len(x_names), dtype=bool)
    if lrt and drop.any() and not drop.all():
        reduced = _GlmmCriterion(y, wt, X[:, ~drop], terms, fam, int(nAGQ))
        red = _fit(reduced)
        chisq = max(red["dev"] - fit["dev"], 0.0)
        df = int(drop.sum())
        lrt_result = LikelihoodRatioTest(
            [n for n, d in zip(x_names, drop, strict=True) if d],
            chisq,
            df,
            float(chi2_sf(chisq, df)),
            -fit["dev"] / 2,
            -red["dev"] / 2,
        )
    s = crit.pirls(theta, beta)
    dres = fam.dev_resids(y, s["mu"], wt)
    resid = np.sign(y - s["mu"]) * np.sqrt(np.maximum(dres, 0))
    n_par = len(beta) + nt
    dev = fit["dev"]
    shown_rhs = fixed_rhs
    for code, label in labels.items():
        shown_rhs = shown_rhs.replace(code, label)
    return ModelResult(
        formula=formula,
        fixed_formula=f"{response} ~ {shown_rhs} + " + " + ".join(str(t) for t in parsed.random),
        method="Laplace" if nAGQ == 1 else f"AGQ{nAGQ}",
        n_obs=len(y),
        n_groups={t.grouping: t.n_levels for t in terms},
        fixed=fixed,
        random=random,
        residual_variance=var_dist,
        icc=var_random / (var_random + var_dist),
        icc_by_group={
            g: float(np.mean(np.einsum("ij,jk,ik->i", t.values, random[g].covariance.to_numpy(), t.values)))
            / (var_random + var_dist)
            for g, t in ((t.grouping, t) for t in terms)
        },
        r2_marginal=var_fixed / denom,
        r2_conditional=(var_fixed + var_random) / denom,
        variances={
            "fixed": var_fixed,
            "random": var_random,
            "residual": var_dist,
            **({} if var_delta is None else {"residual_delta": var_delta}),
        },
        loglik=-dev / 2,
        criterion=dev,
        aic=dev + 2 * n_par,
        bic=dev + math.log(len(y)) * n_par,
        converged=converged,
        singular=singular,
        warnings=warns,
        notes=notes,
        optimizer="L-BFGS-B on glmer's criterion (nAGQ=0 stage, then (theta, beta))",
        structure="; ".join(str(t) for t in parsed.random),
        exposure=sorted(tested) if tested else [],
        lrt=lrt_result,
        within_between=wb_info,
        spline=None
        if spline_spec is None
        else {"variable": spline_spec[0], "df": spline_spec[1], "basis": "cr"},
        vcov=pd.DataFrame(V, index=x_names, columns=x_names),
        residuals=resid,
        conditional_modes=pd.concat(mode_rows, ignore_index=True),
        data=frame.drop(columns=[_N]).rename(columns={_Y: response}),
        family=fam.name,
        nagq=int(nAGQ),
        theta=theta.copy(),
        seconds=time.perf_counter() - started,
    )
