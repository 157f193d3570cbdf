"""psych::fa.stats: the fit statistics of an exploratory factor solution."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import optimize, stats

from ...stats.moments import cor_smooth


def _rmsea_bound(stat: float, df: float, target: float, hi: float, n: int) -> float:
    root = optimize.brentq(
        lambda nc: (stats.ncx2.cdf(stat, df, nc) if nc > 0 else stats.chi2.cdf(stat, df)) - target,
        0.0,
        hi,
        xtol=1e-12,
    )
    return math.sqrt(root / (n - 1) / df)


def fit_statistics(
    r: np.ndarray,
    lam: np.ndarray,
    phi: np.ndarray | None,
    n_obs: int | None,
    np_obs: np.ndarray | None,
    alpha: float = 0.1,
) -> dict[str, Any]:
    """psych::fa.stats as psych::fa calls it (``np.obs`` = pairwise counts, ``alpha = .1``).

    From a matrix, ``np_obs`` is None (psych's ``np.obs = NULL``: every residual weighs ``n_obs``), and
    without ``n_obs`` every statistic that needs it is None, as psych leaves them out.
    """
    if np_obs is None:
        # psych's NULL branch equals pairwise counts that are all n.obs (its sums scale by n.obs).
        np_obs = np.full(r.shape, 1.0 if n_obs is None else float(n_obs))
    p, k = lam.shape
    model = lam @ lam.T if phi is None else lam @ phi @ lam.T
    residual = r - model
    r2 = float(np.sum(r * r))
    rstar2 = float(np.sum(residual * residual))
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    res_off = residual.copy()
    np.fill_diagonal(res_off, 0.0)
    rstar_off = float(np.sum(res_off**2 * np_obs))
    r2w = r * r * np_obs
    r2_off = float(r2w.sum() - np.trace(r2w))
    nh = float(stats.hmean(np_obs.ravel()))
    out: dict[str, Any] = {"n_obs": n_obs, "nh": nh if n_obs is not None else None, "dof": dof}
    out["chi"] = rstar_off if n_obs is not None else None
    out["rms"] = math.sqrt(rstar_off / (nh * p * (p - 1)))
    if dof > 0:
        out["crms"] = math.sqrt(rstar_off / (2 * nh * dof))
        if n_obs is None:
            out.update(EPVAL=None, EBIC=None, ESABIC=None)
        else:
            out["EPVAL"] = float(stats.chi2.sf(rstar_off, dof))
            out["EBIC"] = rstar_off - dof * math.log(nh)
            out["ESABIC"] = rstar_off - dof * math.log((nh + 2) / 24)
    else:
        out.update(EPVAL=None, crms=None, EBIC=None, ESABIC=None)
    out["fit"] = 1 - rstar2 / r2
    out["fit_off"] = 1 - rstar_off / r2_off

    m = model.copy()
    np.fill_diagonal(m, np.diag(r))
    m = cor_smooth(m)
    rs = cor_smooth(r)
    try:
        minvr = np.linalg.solve(m, rs)
    except np.linalg.LinAlgError:  # pragma: no cover - psych substitutes the identity and warns
        warnings.warn("the model inverse times r is singular; fit statistics are wrong", stacklevel=3)
        minvr = np.eye(p)
    sign, logdet = np.linalg.slogdet(minvr)
    objective = float(np.trace(minvr) - logdet - p) if sign > 0 else math.inf
    if not math.isfinite(objective):  # pragma: no cover - psych's fallback
        objective = rstar2
    out["objective"] = objective
    sign0, logdet0 = np.linalg.slogdet(rs)
    f0 = float(np.trace(rs) - logdet0 - p) if sign0 > 0 else r2
    out["null_model"] = f0
    out["null_dof"] = p * (p - 1) / 2
    out.update(
        RMSEA=None, RMSEA_lower=None, RMSEA_upper=None, RMSEA_confidence=1 - alpha, BIC=None, SABIC=None
    )
    if n_obs is None:  # psych: no chi-square, TLI, RMSEA or BIC without n.obs
        out.update(STATISTIC=None, PVAL=None, null_chisq=None, TLI=None)
        return out
    nm = (n_obs - 1) - (2 * p + 5) / 6 - (2 * k) / 3
    chisq = objective * nm
    out["STATISTIC"] = max(chisq, 0.0)
    out["PVAL"] = float(stats.chi2.sf(out["STATISTIC"], dof)) if dof > 0 else None
    mm = objective / dof if dof else math.nan
    m0 = f0 * 2 / (p * (p - 1))
    out["null_chisq"] = f0 * ((n_obs - 1) - (2 * p + 5) / 6)
    out["TLI"] = (m0 - mm) / (m0 - 1 / nm)
    if dof > 0:
        rmsea = math.sqrt(max(chisq / (dof * n_obs) - 1 / (n_obs - 1), 0.0))
        tail = alpha / 2
        stat = out["STATISTIC"]
        hi = max(n_obs, stat) + 2 * n_obs
        upper: float | None = 0.0
        lower: float | None = 0.0
        cdf0 = float(stats.chi2.cdf(stat, dof))
        if cdf0 > tail:
            try:
                upper = _rmsea_bound(stat, dof, tail, hi, n_obs)
            except ValueError:  # pragma: no cover - psych: NA unless RMSEA is 0
                upper = 0.0 if rmsea <= 0 else None
        if cdf0 > 1 - tail:
            try:
                lower = _rmsea_bound(stat, dof, 1 - tail, hi, n_obs)
            except ValueError:  # pragma: no cover
                lower = None
        if upper is not None and upper < rmsea:
            upper = None
        if lower is not None and lower > rmsea:
            lower = None
        out.update(
            RMSEA=rmsea,
            RMSEA_lower=lower,
            RMSEA_upper=upper,
            BIC=chisq - dof * math.log(n_obs),
            SABIC=chisq - dof * math.log((n_obs + 2) / 24),
        )
    return out
