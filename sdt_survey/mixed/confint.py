"""Confidence intervals for a mixed model: Wald, profile likelihood and parametric bootstrap.

As lme4's ``confint.merMod(method = "Wald" | "profile" | "boot")``: one row
per parameter, the variance parameters first as lme4 names them (``.sig01``,
``.sig02``, ..., ``.sigma``: standard deviations and correlations of each
random term, then the residual standard deviation), then the fixed effects.

- ``"Wald"``: estimate ± z·SE for the fixed effects; the variance rows are
  empty (NaN), as lme4's.
- ``"profile"``: where the signed square root of the likelihood-ratio
  statistic crosses the normal quantiles (:mod:`.profile`). The profile is of
  the ML deviance: a REML fit is refitted by ML first, as lme4 does.
- ``"boot"``: percentiles of a parametric bootstrap (:mod:`.bootstrap`),
  seeded and run in parallel.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SdtSurveyError
from ..stats.probability import norm_ppf
from ..stats.threads import single_blas_thread
from .bootstrap import bootstrap_replicates, percentile_interval
from .parameters import _Parameters
from .profile import profile_interval, profile_model

#: The methods of :func:`model_confint` (lme4's names, any case).
CONFINT_METHODS = ("Wald", "profile", "boot")


def _method(method: str) -> str:
    found = {m.lower(): m for m in CONFINT_METHODS}.get(str(method).lower())
    if found is None:
        raise SdtSurveyError(
            f"unknown confidence-interval method {method!r}; choose one of {', '.join(CONFINT_METHODS)}"
        )
    return found


def model_confint(
    result: Any,
    method: str = "profile",
    *,
    level: float = 0.95,
    nsim: int = 500,
    seed: int | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Confidence intervals for the parameters of a fitted mixed model (lme4's ``confint``).

    Parameters
    ----------
    result : ModelResult
        A model from :func:`~sdt_survey.mixed.fit_model`.
    method : {"profile", "Wald", "boot"}
        lme4's default is ``"profile"``.
    level : float
        Confidence level, between 0 and 1.
    nsim : int
        Bootstrap replicates (``"boot"``; lme4's default 500; at most 100,000).
    seed : int, optional
        Seed of the bootstrap: the same seed gives the same intervals, whatever ``n_jobs``.
    n_jobs : int
        joblib workers for the bootstrap (``-1``: all cores).

    Returns
    -------
    pandas.DataFrame
        Index: lme4's names (``.sig01``, ..., ``.sigma``, the fixed effects);
        columns ``parameter`` (readable: ``sd_(Intercept)|program``,
        ``cor_coc.(Intercept)|program``, ``sigma``, the fixed effect),
        ``estimate`` (from the fit), ``lower`` and ``upper``. ``attrs`` holds
        ``method``, ``level``, ``notes`` and, for the bootstrap, ``nsim``,
        ``seed``, ``failed`` and ``replicates`` (the replicate table).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sdt_survey.mixed import fit_model
    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(12), 10)
    >>> y = 2 + np.repeat(rng.normal(0, 1, 12), 10) + rng.normal(0, 1, 120)
    >>> m = fit_model("y ~ 1 + (1|g)", pd.DataFrame({"y": y, "g": g}), lrt=False, null_model=False)
    >>> ci = model_confint(m, "profile")
    >>> list(ci.index), list(ci.columns)
    (['.sig01', '.sigma', '(Intercept)'], ['parameter', 'estimate', 'lower', 'upper'])
    >>> bool((ci["lower"] < ci["estimate"]).all() and (ci["estimate"] < ci["upper"]).all())
    True
    """
    method = _method(method)
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise SdtSurveyError(f"level must be between 0 and 1, got {level!r}")
    if getattr(result, "family", "gaussian") != "gaussian":
        raise SdtSurveyError(
            "confint() is for linear mixed models; a GLMM's fixed effects carry 95% Wald intervals in its "
            "table (and odds_ratios for a binomial model)"
        )
    state = getattr(result, "fit_state", None)
    if state is None:
        raise SdtSurveyError(
            "this result carries no fit to compute intervals from; refit it with fit_model()"
        )
    design, core = state
    started = time.perf_counter()
    params = _Parameters(core.criterion, result.formula, result.data)
    estimates = np.concatenate([params.from_theta(core.theta, math.sqrt(core.sigma2)), core.beta])
    names = params.names + list(design.x_names)
    readable = params.readable + list(design.x_names)
    notes: list[str] = []
    attrs: dict[str, Any] = {"method": method, "level": level}
    if method == "Wald":
        a = (1 - level) / 2
        z = norm_ppf(1 - a)
        se = np.sqrt(np.diag(core.vcov))
        lower = np.concatenate([np.full(params.n, np.nan), core.beta - z * se])
        upper = np.concatenate([np.full(params.n, np.nan), core.beta + z * se])
    elif method == "profile":
        with single_blas_thread():
            traces, notes = profile_model(design, core, result.formula, result.data)
            bounds = [profile_interval(t, level, notes) for t in traces]
        lower = np.array([b[0] for b in bounds])
        upper = np.array([b[1] for b in bounds])
        if core.reml:
            notes.append("profiled on the ML deviance (the REML fit refitted by ML), as lme4 does")
        attrs["profile"] = {t.name: pd.DataFrame({"par": t.par, "zeta": t.zeta}) for t in traces}
    else:
        reps = bootstrap_replicates(
            design, core, result.formula, result.data, nsim=nsim, seed=seed, n_jobs=n_jobs
        )
        bounds = [percentile_interval(reps[c].to_numpy(), level) for c in reps.columns]
        lower = np.array([b[0] for b in bounds])
        upper = np.array([b[1] for b in bounds])
        failed = int(reps.isna().any(axis=1).sum())
        if failed:
            notes.append(f"{failed} of {nsim} bootstrap refits failed and were left out")
        attrs.update(nsim=nsim, seed=seed, failed=failed, replicates=reps)
    table = pd.DataFrame(
        {"parameter": readable, "estimate": estimates, "lower": lower, "upper": upper},
        index=pd.Index(names, name="name"),
    )
    attrs["notes"] = notes
    attrs["seconds"] = time.perf_counter() - started
    table.attrs.update(attrs)
    return table
