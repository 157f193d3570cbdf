"""Refitting on the profiled criterion alone: a new response, or a fixed effect held at a value.

The profile of a fixed effect and every bootstrap replicate refit the model
many times. Each refit only changes the response (or moves one fixed-effect
column into an offset), so the criterion's cross-products with Z and X are
kept and only those with y recomputed; θ is then found by L-BFGS-B on lme4's
profiled criterion from a start (the fitted θ, as lme4's ``refit`` and
``profile`` start there).
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
from scipy import optimize

from .criterion import _Criterion


def _with_response(crit: _Criterion, y: np.ndarray) -> _Criterion:
    """A copy of ``crit`` for the response ``y`` (same X, Z and grouping)."""
    new = copy.copy(crit)
    y = np.asarray(y, dtype=float)
    new.design = replace(crit.design, y=y)
    zty = np.zeros_like(crit.Zty)
    for g, (rows, Z) in enumerate(zip(crit.rows, crit.z_groups, strict=True)):
        zty[g, : Z.shape[1]] = Z.T @ y[rows]
    new.Zty = zty
    new.Xty = crit.design.X.T @ y
    new.yty = float(y @ y)
    return new


def _minimize_theta(
    crit: _Criterion, start: np.ndarray, reml: bool, ftol: float = 1e-15, gtol: float = 1e-9
) -> tuple[np.ndarray, float]:
    """θ minimizing the (RE)ML criterion from ``start`` (bounded L-BFGS-B); returns (θ, criterion).

    The default tolerances are the profile's (ζ is a square root of a small
    difference of deviances); a bootstrap refit can use looser ones.
    """
    if crit.n_theta == 0:
        return np.zeros(0), crit.deviance(np.zeros(0), reml)
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in crit.lower]
    x0 = np.maximum(np.asarray(start, dtype=float), crit.lower)
    res = optimize.minimize(
        crit.deviance,
        x0,
        args=(reml,),
        jac=crit.gradient,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": ftol, "gtol": gtol, "maxiter": 2000, "maxls": 50},
    )
    theta = np.asarray(res.x, dtype=float)
    dev = crit.deviance(theta, reml)
    start_dev = crit.deviance(x0, reml)
    if not dev <= start_dev:
        return x0, start_dev
    return theta, dev
