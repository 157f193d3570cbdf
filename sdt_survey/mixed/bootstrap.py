"""The parametric bootstrap of a linear mixed model, as lme4's ``bootMer``.

Each replicate simulates a response from the fitted model (lme4's
``simulate``: new random effects ``b ~ N(0, σ² ΛΛ')`` and residuals
``ε ~ N(0, σ²)`` around ``Xβ``), refits it by the fit's method (REML or ML)
from the fitted θ, and records the standard deviations, correlations and σ
(lme4's ``.sig01 ... .sigma``) and the fixed effects. Each block of 50
replicates draws its random numbers from its own generator, seeded from the
one seed given, so the result is the same whatever the number of workers;
the blocks run in parallel with joblib.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import SdtSurveyError
from ..stats.probability import norm_ppf
from ..stats.threads import single_blas_thread
from .criterion import _Criterion
from .design import _Design
from .optimize import _CoreFit
from .parameters import _Parameters
from .refit import _minimize_theta, _with_response

#: Replicates per block: each block has its own seed (spawned from the one given), so the
#: replicates are the same whatever the number of workers.
BLOCK = 50
#: Most replicates one call computes (a larger request is refused, not started).
MAX_NSIM = 100_000


def _refit_block(task: tuple) -> np.ndarray:
    """Simulate and refit one block of replicates (one joblib task); a failed refit is a row of NaN."""
    crit, params, theta, beta, sigma2, reml, count, seed = task
    with single_blas_thread():
        Y = _simulate(crit, theta, beta, sigma2, count, np.random.default_rng(seed))
        out = np.full((count, params.n + crit.design.p), np.nan)
        for r, y in enumerate(Y):
            try:
                crit_y = _with_response(crit, y)
                fitted, _ = _minimize_theta(crit_y, theta, reml, ftol=1e-10)
                solved = crit_y.solve(fitted, reml)
                out[r, : params.n] = params.from_theta(fitted, math.sqrt(solved["sigma2"]))
                out[r, params.n :] = solved["beta"]
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                continue
    return out


def _simulate(
    crit: _Criterion, theta: np.ndarray, beta: np.ndarray, sigma2: float, nsim: int, rng: np.random.Generator
) -> np.ndarray:
    """``nsim`` responses simulated from the fit (rows), as lme4's ``simulate(use.u = FALSE)``."""
    design: _Design = crit.design
    sigma = math.sqrt(sigma2)
    lam = crit.lam(theta)  # (groups, q, q)
    n_groups, q = lam.shape[0], lam.shape[1]
    U = rng.standard_normal((nsim, n_groups, q))
    E = rng.standard_normal((nsim, design.n))
    B = np.einsum("gij,sgj->sgi", lam, U)  # relative random effects per group
    Z = sparse.lil_matrix((design.n, n_groups * q))
    for g, (rows, Zg) in enumerate(zip(crit.rows, crit.z_groups, strict=True)):
        Z[np.ix_(rows, np.arange(g * q, g * q + Zg.shape[1]))] = Zg
    Zb = sparse.csr_matrix(Z) @ B.reshape(nsim, n_groups * q).T  # (n, nsim)
    return (design.X @ beta)[None, :] + sigma * (Zb.T + E)


def _workers(n_jobs: int, tasks: int) -> int:
    """joblib's n_jobs as a count (-1: all cores, -2: all but one), never more than the tasks."""
    if n_jobs < 0:
        n_jobs = (os.cpu_count() or 1) + 1 + n_jobs
    return max(1, min(int(n_jobs), tasks))


def bootstrap_replicates(
    design: _Design,
    core: _CoreFit,
    formula: str,
    frame: pd.DataFrame,
    *,
    nsim: int = 500,
    seed: int | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Parametric bootstrap replicates: one row per replicate, one column per parameter (lme4's names).

    Parameters
    ----------
    design, core
        The model's design and its fit on lme4's criterion (``ModelResult.fit_state``).
    formula : str
        The model's formula (for lme4's order of the random terms).
    frame : pandas.DataFrame
        The model's rows (``ModelResult.data``).
    nsim : int
        Number of replicates (at most 100,000).
    seed : int, optional
        Seed of the replicates' random numbers (blocks of 50 replicates, each
        with a seed spawned from this one).
    n_jobs : int
        joblib workers (``-1``: all cores; ``1``: in this process). The result does not depend on it.

    Returns
    -------
    pandas.DataFrame
        ``.sig01 ... .sigma`` and the fixed effects; a replicate whose refit
        failed is a row of NaN.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sdt_survey.mixed import fit_model
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(8), 6)
    >>> y = np.repeat(rng.normal(0, 1, 8), 6) + rng.normal(0, 1, 48)
    >>> m = fit_model("y ~ 1 + (1|g)", pd.DataFrame({"y": y, "g": g}), lrt=False, null_model=False)
    >>> design, core = m.fit_state
    >>> reps = bootstrap_replicates(design, core, m.formula, m.data, nsim=5, seed=1)
    >>> reps.shape, list(reps.columns)
    ((5, 3), ['.sig01', '.sigma', '(Intercept)'])
    """
    if isinstance(nsim, bool) or not isinstance(nsim, int | np.integer) or not 1 <= nsim <= MAX_NSIM:
        raise SdtSurveyError(f"nsim must be a whole number from 1 to {MAX_NSIM:,}, got {nsim!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise SdtSurveyError(f"n_jobs must be a nonzero whole number (-1: all cores), got {n_jobs!r}")
    crit = core.criterion
    params = _Parameters(crit, formula, frame)
    counts = [min(BLOCK, int(nsim) - start) for start in range(0, int(nsim), BLOCK)]
    seeds = np.random.SeedSequence(seed).spawn(len(counts))
    tasks = [
        (crit, params, core.theta, core.beta, core.sigma2, core.reml, count, block_seed)
        for count, block_seed in zip(counts, seeds, strict=True)
    ]
    workers = _workers(int(n_jobs), len(tasks))
    if workers == 1:
        parts = [_refit_block(t) for t in tasks]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=workers)(delayed(_refit_block)(t) for t in tasks)
    columns = params.names + list(design.x_names)
    return pd.DataFrame(np.vstack(parts), columns=columns)


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """boot's percentile interval (``norm.inter``): order statistics interpolated on the normal scale.

    Examples
    --------
    >>> [round(v, 6) for v in percentile_interval(np.arange(1.0, 40.0), 0.95)]
    [1.0, 39.0]
    """

    t = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    R = len(t)
    if R == 0:
        return math.nan, math.nan
    out = []
    for alpha in ((1 - level) / 2, (1 + level) / 2):
        rk = (R + 1) * alpha
        k = math.trunc(rk)
        if k == rk and 0 < k <= R:
            out.append(float(t[k - 1]))
        elif k <= 0:
            out.append(float(t[0]))
        elif k >= R:
            out.append(float(t[-1]))
        else:
            z1, z2, z3 = norm_ppf([alpha, k / (R + 1), (k + 1) / (R + 1)])
            out.append(float(t[k - 1] + (z1 - z2) / (z3 - z2) * (t[k] - t[k - 1])))
    return out[0], out[1]
