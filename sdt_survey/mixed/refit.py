"""Refitting on the profiled criterion alone: a new response, or a fixed effect held at a value.

The profile of a fixed effect and every bootstrap replicate refit the model
many times. Each refit only changes the response (or moves one fixed-effect
column into an offset), so the criterion's cross-products with Z and X are
kept and only those with y recomputed; θ is then found by SLSQP on lme4's
profiled criterion from a start (the fitted θ, as lme4's ``refit`` and
``profile`` start there).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
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
    crit: _Criterion, start: np.ndarray, reml: bool, ftol: float = 1e-15
) -> tuple[np.ndarray, float]:
    """θ minimizing the (RE)ML criterion from ``start`` (bounded SLSQP); returns (θ, criterion).

    The default tolerances are the profile's (ζ is a square root of a small
    difference of deviances); a bootstrap refit can use looser ones.
    """
    if crit.n_theta == 0:
        return np.zeros(0), crit.deviance(np.zeros(0), reml)
    x0 = np.maximum(np.asarray(start, dtype=float), crit.lower)
    theta = _bounded_minimum(
        lambda t: crit.deviance(t, reml),
        lambda t: crit.gradient(t, reml),
        x0,
        crit.lower,
        np.full(len(x0), np.inf),
        ftol=ftol,
    )
    return theta, crit.deviance(theta, reml)


def _bounded_minimum(
    f: Callable[[np.ndarray], float],
    jac: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    ftol: float,
    restarts: int = 5,
) -> np.ndarray:
    """SLSQP from ``x0`` within the bounds, on ``f - f(x0)``; restarted when it stops unsuccessfully.

    Not L-BFGS-B: on profiles where another standard deviation heads for 0,
    its first line search can stop it on "relative reduction of f <= factr *
    epsmch" without moving (seen on ``(coc||program)``). The function is
    shifted to 0 at the start, so that ``ftol`` is absolute; a run that ends
    without SLSQP's success (iteration limit, failed line search) is
    restarted from where it stopped while the restart still lowers ``f``.
    """
    f0 = f(x0)
    if not np.isfinite(f0):
        f0 = 0.0
    bounds = list(
        zip(
            np.where(np.isfinite(lower), lower, None),
            np.where(np.isfinite(upper), upper, None),
            strict=True,
        )
    )
    x, best = np.asarray(x0, dtype=float), f(x0) - f0
    for _ in range(restarts):
        res = optimize.minimize(
            lambda t: f(t) - f0,
            x,
            jac=jac,
            method="SLSQP",
            bounds=bounds,
            options={"ftol": ftol, "maxiter": 1000},
        )
        value = f(res.x) - f0
        if not value < best:
            break
        gain = best - value
        x, best = np.asarray(res.x, dtype=float), value
        if res.success or gain < 1e-12:
            break
    return x
