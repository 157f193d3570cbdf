"""The optimizer: Fisher scoring with a line search, polished by Newton steps.

It minimizes any :class:`Objective`: the continuous engine's ML discrepancy
(:class:`~sdt_survey.factor.sem.implied.Engine`) and the ordinal DWLS fit
function (:class:`~sdt_survey.factor.sem.dwls.DWLSObjective`) alike. A new
estimator's objective needs only these methods to be fitted here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..._progress import step as progress_step
from .cholesky import pd_solve
from .spec import BETA, LAMBDA, PSI, THETA, Spec


class Objective(Protocol):
    """What :func:`optimize` needs of a fit function ``F(x)`` (x: the free parameters).

    ``spec`` is the parameter table: when ``F`` is infinite at the start
    (an implied matrix not positive definite), the loadings, regressions and
    covariances among ``x[:spec.n_free]`` are shrunk towards a diagonal model.
    """

    spec: Spec

    def objective(self, x: np.ndarray) -> float:
        """``F(x)``; ``inf`` where the model is not admissible."""
        ...

    def objective_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``F(x)`` and its gradient."""
        ...

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """The scoring matrix: the expected Hessian of ``F`` (positive semi-definite)."""
        ...

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of ``F`` (or the scoring matrix again, for a Gauss-Newton objective)."""
        ...


@dataclass
class Optimum:
    x: np.ndarray
    objective: float
    converged: bool
    iterations: int
    message: str = ""
    information: np.ndarray | None = None  # the last scoring matrix, at x
    information_kind: str = ""  # "fisher" (complete-data expected) or "observed"


def optimize(engine: Objective, x0: np.ndarray, max_iter: int = 1000) -> Optimum:
    """Minimize ``engine``'s objective from ``x0``: Fisher scoring with a backtracking line search.

    Newton steps follow once scoring has settled; the Newton decrement decides convergence.
    """
    x = x0.copy()
    f, grad = engine.objective_gradient(x)
    if not math.isfinite(f):
        # A start with an implied covariance matrix that is not positive definite: shrink the
        # loadings and covariances towards a diagonal model until it is.
        for _ in range(30):
            x = _shrink_start(engine, x)
            f, grad = engine.objective_gradient(x)
            if math.isfinite(f):
                break
        else:
            return Optimum(x, f, False, 0, "no admissible starting values")
    iterations = 0
    newton = False
    for iterations in range(1, max_iter + 1):
        progress_step()  # the progress bar of a long fit (FIML on a big file), when one is shown
        # Fisher scoring first (robust far from the optimum), then Newton steps with the exact
        # Hessian whenever it is positive definite: quadratic convergence even when the model
        # fits badly, where scoring alone crawls.
        info = engine.observed_information(x) if newton else engine.fisher_information(x)
        kind = "observed" if newton else "fisher"
        try:
            step = -pd_solve(info, grad)
        except (np.linalg.LinAlgError, ValueError):
            info = engine.fisher_information(x)
            kind = "fisher"
            try:
                step = -pd_solve(info, grad)
            except (np.linalg.LinAlgError, ValueError):
                ridge = 1e-8 * max(1.0, float(np.abs(np.diag(info)).max()))
                step = -np.linalg.lstsq(info + ridge * np.eye(len(x)), grad, rcond=None)[0]
        decrement = -float(grad @ step)
        # The decrement estimates twice the distance to the minimum; below ~1e-15 |f| the fit
        # function cannot resolve further progress (the estimates are then accurate to ~1e-8).
        if decrement < 1e-15 * max(1.0, abs(f)) or np.abs(step).max() < 1e-13 * max(1.0, np.abs(x).max()):
            return Optimum(x, f, True, iterations, "", info, kind)
        t = 1.0
        while True:
            x_new = x + t * step
            # The full step is nearly always taken: evaluate its gradient at once.
            f_new, grad_new = (
                engine.objective_gradient(x_new) if t == 1.0 else (engine.objective(x_new), None)
            )
            if math.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-10:
                # Near the optimum the fit function stops decreasing in floating point.
                converged = decrement < 1e-12
                return Optimum(x, f, converged, iterations, "" if converged else "line search failed")
        x = x_new
        f, grad = (f_new, grad_new) if grad_new is not None else engine.objective_gradient(x)
        newton = iterations >= 3 and (t == 1.0 or kind == "fisher")
    return Optimum(x, f, False, iterations, f"no convergence in {max_iter} iterations")


def _shrink_start(engine: Objective, x: np.ndarray) -> np.ndarray:
    spec = engine.spec
    out = x.copy()
    for k in range(spec.n_rows):
        t = spec.free[k]
        if t < 0:
            continue
        if spec.mat[k] in (LAMBDA, BETA) or (spec.mat[k] in (PSI, THETA) and spec.row[k] != spec.col[k]):
            out[t] = x[t] * 0.5
    return out
