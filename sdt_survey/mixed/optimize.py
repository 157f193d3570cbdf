"""Finding the variance parameters: statsmodels' optimizers, checked and polished on the criterion."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from ..errors import ModelFitError
from .criterion import _Criterion
from .design import _Design

#: lme4's message for a fit on the boundary of the parameter space.
SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"
#: statsmodels optimizers tried in turn until one converges.
OPTIMIZERS: tuple[str, ...] = ("bfgs", "lbfgs", "cg", "nm", "powell")
#: A relative standard deviation (or Cholesky diagonal) below this is a singular fit (lme4's default).
SINGULAR_TOLERANCE = 1e-4
#: Largest absolute gradient of the criterion at the estimates still counted as converged.
GRADIENT_TOLERANCE = 2e-3
#: Largest gradient accepted from statsmodels without refining on the profiled criterion.
POLISH_TOLERANCE = 1e-6
#: Points of the dose-response grid.

# =========================================================================== fitting


@dataclass
class _CoreFit:
    theta: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    sigma2: float
    dev: float
    reml: bool
    converged: bool
    singular: bool
    optimizer: str
    attempts: list[dict[str, Any]]
    notes: list[str]
    warnings: list[str]
    max_gradient: float
    criterion: _Criterion
    statsmodels_result: Any = None

    @property
    def loglik(self) -> float:
        return -self.dev / 2.0


def _statsmodels_model(design: _Design):
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    re = design.re_block
    codes = design.group_codes
    vc_names, vc_cols, vc_mats = [], [], []
    n_groups = len(design.group_labels)
    rows = [np.flatnonzero(codes == g) for g in range(n_groups)]
    for b in design.vc_blocks:
        name = b.grouping if b.terms[0] == "(Intercept)" else f"{b.grouping}|{b.terms[0]}"
        vc_names.append(name)
        cols, mats = [], []
        for r in rows:
            local, inverse = np.unique(b.levels[r], return_inverse=True)
            mat = np.zeros((len(r), len(local)))
            mat[np.arange(len(r)), inverse.ravel()] = b.values[r, 0]
            mats.append(mat)
            cols.append([str(b.level_labels[lv]) for lv in local])
        vc_cols.append(cols)
        vc_mats.append(mats)
    exog_vc = VCSpec(vc_names, vc_cols, vc_mats) if vc_names else None
    exog_re = re.values if re is not None else None
    return MixedLM(design.y, design.X, groups=codes, exog_re=exog_re, exog_vc=exog_vc)


def _run_statsmodels(model, method: str, reml: bool) -> tuple[Any, list[str]]:
    kwargs: dict[str, Any] = {"maxiter": 2000}
    if method in ("bfgs", "cg"):
        kwargs["gtol"] = 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=reml, method=[method], **kwargs)
    messages = sorted({str(w.message).splitlines()[0] for w in caught})
    return result, messages


def _fit_core(
    design: _Design,
    reml: bool,
    optimizers: Sequence[str] = OPTIMIZERS,
    polish: bool = True,
) -> _CoreFit:
    crit = _Criterion(design)
    attempts: list[dict[str, Any]] = []
    notes: list[str] = []
    best: tuple[float, np.ndarray, str, Any] | None = None
    model = None
    try:
        model = _statsmodels_model(design)
    except Exception as exc:  # statsmodels could not even set the model up
        attempts.append({"optimizer": "setup", "error": f"{type(exc).__name__}: {exc}"})
    for method in optimizers if model is not None else ():
        record: dict[str, Any] = {"optimizer": method}
        attempts.append(record)
        try:
            result, messages = _run_statsmodels(model, method, reml)
        except Exception as exc:  # an optimizer blew up: try the next one
            record["error"] = f"{type(exc).__name__}: {exc}"
            continue
        record["messages"] = messages
        record["converged"] = bool(result.converged)
        k_vc = len(design.vc_blocks)
        vcomp = np.asarray(result.vcomp) if k_vc else np.zeros(0)
        cov_re = np.asarray(result.cov_re) if crit.k_re else None
        theta = crit.theta_from(cov_re, vcomp, float(result.scale))
        dev = crit.deviance(theta, reml)
        record["criterion"] = dev
        if not np.isfinite(dev):
            continue
        grad = crit.gradient(theta, reml)
        free = theta > crit.lower + 1e-8
        record["max_gradient"] = float(np.max(np.abs(grad[free]), initial=0.0))
        if best is None or dev < best[0]:
            best = (dev, theta, method, result)
        if result.converged and record["max_gradient"] < GRADIENT_TOLERANCE:
            break
    sm_result = None
    if best is None:
        theta, optimizer = crit.start(), "L-BFGS-B (statsmodels failed)"
        notes.append(
            "every statsmodels optimizer failed ("
            + "; ".join(f"{a['optimizer']}: {a.get('error', 'no finite criterion')}" for a in attempts)
            + "); the profiled criterion was optimized directly from the default start"
        )
        polish = True
    else:
        _, theta, optimizer, sm_result = best
        tried = [a["optimizer"] for a in attempts]
        if len(tried) > 1:
            notes.append(
                f"statsmodels optimizer(s) {', '.join(tried[:-1])} did not converge cleanly; "
                f"{optimizer} gave the best criterion"
            )
    dev0 = crit.deviance(theta, reml)
    if polish and crit.n_theta and not _stationary(crit, theta, reml, POLISH_TOLERANCE):
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in crit.lower]
        candidate = np.maximum(theta, crit.lower)
        for ftol, gtol in ((1e-15, 1e-9), (1e-16, 1e-10)):
            res = optimize.minimize(
                crit.deviance,
                candidate,
                args=(reml,),
                jac=crit.gradient,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": ftol, "gtol": gtol, "maxiter": 5000, "maxls": 50},
            )
            if res.fun <= crit.deviance(candidate, reml):
                candidate = np.asarray(res.x, dtype=float)
            if _stationary(crit, candidate, reml, POLISH_TOLERANCE):
                break
        dev1 = crit.deviance(candidate, reml)
        if dev1 < dev0:
            if best is not None and dev0 - dev1 > 1e-6:
                notes.append(
                    f"statsmodels ({optimizer}) stopped {dev0 - dev1:.2g} above the optimum of the "
                    f"{'REML criterion' if reml else 'deviance'}; the estimates were refined on lme4's "
                    "profiled criterion"
                )
            theta = candidate
    solved = crit.solve(theta, reml)
    grad = crit.gradient(theta, reml)
    free = theta > crit.lower + 1e-8
    max_grad = float(np.max(np.abs(grad[free]), initial=0.0))
    converged = max_grad < GRADIENT_TOLERANCE
    messages: list[str] = []
    if not converged:
        messages.append(
            "the model did not converge: the criterion's largest gradient at the estimates is "
            f"{max_grad:.2g} (tolerance {GRADIENT_TOLERANCE}); optimizers tried: "
            f"{', '.join(a['optimizer'] for a in attempts)}. "
            "The estimates may be inaccurate: rescale the variables or simplify the random part."
        )
    singular_terms = _singular_terms(crit, theta)
    if singular_terms:
        messages.append(
            f"{SINGULAR_MESSAGE}. In plain words: {'; '.join(singular_terms)}, so the data carry no "
            "information about it; the fixed effects are still valid, but consider simplifying the "
            "random part"
        )
    if sm_result is not None:
        sm_fe = np.asarray(sm_result.fe_params, dtype=float)
        gap = np.abs(sm_fe - solved["beta"]) > 1e-4 * (1 + np.abs(solved["beta"]))
        if gap.any():
            names = [n for n, g in zip(design.x_names, gap, strict=True) if g]
            notes.append(
                "statsmodels' own fixed effects for "
                + ", ".join(names)
                + " differ from the GLS estimates at the fitted variances (statsmodels issue #10239 sets "
                "group-level effects to 0 when a variance is near zero); the GLS estimates are reported"
            )
    return _CoreFit(
        theta=theta,
        beta=solved["beta"],
        vcov=solved["sigma2"] * np.linalg.inv(solved["XtWX"]),
        sigma2=float(solved["sigma2"]),
        dev=float(solved["dev"]),
        reml=reml,
        converged=converged,
        singular=bool(singular_terms),
        optimizer=optimizer,
        attempts=attempts,
        notes=notes,
        warnings=messages,
        max_gradient=max_grad,
        criterion=crit,
        statsmodels_result=sm_result,
    )


def _guarded(function, design: _Design, *args: Any) -> _CoreFit:
    """Run a fit; a numerical failure becomes a ModelFitError that says what to check."""
    try:
        return function(design, *args)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        raise ModelFitError(
            f"the model could not be fitted ({type(exc).__name__}: {exc}); check for constant or collinear "
            "variables, a grouping factor with one observation per level as the only random term, or "
            "extreme values"
        ) from None


def _stationary(crit: _Criterion, theta: np.ndarray, reml: bool, tol: float) -> bool:
    """Whether θ satisfies the first-order (KKT) conditions of the bounded problem to ``tol``."""
    grad = crit.gradient(theta, reml)
    at_bound = theta <= crit.lower + 1e-8
    return bool(np.all(np.where(at_bound, grad > -tol, np.abs(grad) < tol)))


def _singular_terms(crit: _Criterion, theta: np.ndarray) -> list[str]:
    out = []
    design = crit.design
    re = design.re_block
    if re is not None:
        L = np.zeros((crit.k_re, crit.k_re))
        L[crit.tril] = theta[: crit.n_re_theta]
        for j, term in enumerate(re.terms):
            if L[j, j] < SINGULAR_TOLERANCE:
                if j == 0 or np.all(np.abs(L[j, :j]) < SINGULAR_TOLERANCE):
                    out.append(f"the variance of {term} between {re.grouping} is estimated at zero")
                else:
                    out.append(
                        f"the random {term} for {re.grouping} is perfectly correlated with "
                        f"{', '.join(re.terms[:j])} (correlation ±1)"
                    )
    for c, b in enumerate(design.vc_blocks):
        if theta[crit.n_re_theta + c] < SINGULAR_TOLERANCE:
            what = "intercept" if b.terms[0] == "(Intercept)" else f"slope of {b.terms[0]}"
            out.append(f"the variance of the {b.grouping} {what} is estimated at zero")
    return out
