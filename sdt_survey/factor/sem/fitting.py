"""Fitting a CFA: the public :func:`cfa` and the engine run shared with invariance."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..._progress import activity
from ...errors import CFAError, CFAWarning
from ...stats.threads import single_blas_thread
from .baseline import baseline_model
from .estimators import estimator_record
from .fit import fit_cfi, fit_rmsea, fit_rmsea_ci, fit_rmsea_pclose, fit_srmr, fit_tli
from .implied import Engine
from .omega import omega_per_factor
from .optimize import optimize as _optimize  # a module global, so that a test can stand in for it
from .results import CFAResult, FitMeasures
from .samplestats import PreparedData, prepare_data
from .solution import improper_solution_problems, orient_factors
from .spec import CFAModel, as_model, build_spec, check_identification
from .start import start_values


def fit_prepared(
    model: CFAModel,
    prep: PreparedData,
    *,
    estimator: str = "ML",
    std_lv: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> CFAResult:
    groups = prep.groups
    n_groups = len(groups)
    fiml = prep.missing == "fiml"
    clustered = prep.cluster_column is not None
    # lavaan adds a mean structure with FIML, with several groups, with clusters, or when the model
    # mentions a mean.
    meanstructure = fiml or clustered or n_groups > 1 or any(s.op == "~1" for s in model.statements)
    spec = build_spec(
        model,
        n_groups,
        std_lv=std_lv,
        meanstructure=meanstructure,
        group_equal=group_equal,
        group_partial=group_partial,
    )
    check_identification(spec, std_lv)
    engine = Engine(spec, groups)
    labels = [g.label for g in groups]
    with activity(f"Fitting the CFA ({'FIML' if fiml else estimator})"):
        opt = _optimize(engine, start_values(spec, groups))
    problems: list[str] = []
    if not opt.converged:
        problems.append(
            f"the estimation did not converge ({opt.message or 'stopped'} after {opt.iterations} "
            "iterations); the estimates are not trustworthy. The model may be misspecified or not "
            "identified"
        )
    x = orient_factors(spec, opt.x)
    n_total = engine.n_total
    p = len(spec.ov)
    q = spec.n_free

    # -- standard errors --------------------------------------------------------------
    record = estimator_record(estimator, cluster=clustered)
    covariance = record.covariance(engine, x, opt, fiml)
    vcov, reason = covariance.vcov, covariance.reason
    if reason:
        problems.append(reason)
    problems.extend(improper_solution_problems(spec, engine, x, labels))
    problems.extend(few_clusters_problem(prep))

    # -- test statistics and fit measures ----------------------------------------------
    states = engine.states(x)
    m2ll = engine.m2ll(x)
    h1 = np.array([g.m2ll_h1 for g in groups])
    chisq_groups = np.maximum(m2ll - h1, 0.0)
    chisq = float(chisq_groups.sum())
    df = n_groups * (p * (p + 1) // 2 + (p if meanstructure else 0)) - q
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan
    base_engine, base_x = baseline_model(groups, spec.ov, meanstructure)
    base_m2ll = base_engine.m2ll(base_x)
    baseline_chisq = float(np.maximum(base_m2ll - h1, 0.0).sum())
    baseline_df = n_groups * p * (p - 1) // 2
    n_log2pi = sum(g.n_log2pi for g in groups)
    loglik = -0.5 * (float(m2ll.sum()) + n_log2pi)
    unrestricted = -0.5 * (float(h1.sum()) + n_log2pi)
    rmsea_lo, rmsea_hi = fit_rmsea_ci(chisq, df, n_total, n_groups)
    srmr, srmr_groups = fit_srmr(groups, states, meanstructure)
    measures: dict[str, Any] = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": pvalue,
        "cfi": fit_cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": fit_tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": fit_rmsea(chisq, df, n_total, n_groups),
        "rmsea_ci_lower": rmsea_lo,
        "rmsea_ci_upper": rmsea_hi,
        "rmsea_pvalue": fit_rmsea_pclose(chisq, df, n_total, n_groups),
        "srmr": srmr,
        "aic": -2 * loglik + 2 * q,
        "bic": -2 * loglik + q * math.log(n_total),
        "bic2": -2 * loglik + q * math.log((n_total + 2) / 24),
        "loglik": loglik,
        "unrestricted_loglik": unrestricted,
        "npar": int(q),
        "ntotal": int(n_total),
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "baseline_pvalue": float(stats.chi2.sf(baseline_chisq, baseline_df)) if baseline_df > 0 else math.nan,
        "chisq_groups": tuple(float(v) for v in chisq_groups),
        "srmr_groups": tuple(srmr_groups),
    }
    if record.robust_test is not None:
        measures.update(
            record.robust_test(
                engine,
                x,
                covariance,
                base_engine,
                base_x,
                groups,
                meanstructure,
                chisq,
                df,
                baseline_chisq,
                baseline_df,
                n_total,
                problems,
                fiml,
            )
        )
    fit = FitMeasures(**measures)

    omega_groups = omega_per_factor(spec, engine, x, groups)
    omega = omega_groups[0] if n_groups == 1 else dict(zip(labels, omega_groups, strict=True))
    for text in problems:
        warnings.warn(text, CFAWarning, stacklevel=3)
    return CFAResult(
        model=model,
        estimator=estimator,
        missing=prep.missing,
        std_lv=std_lv,
        n_used=int(n_total),
        n_dropped=prep.n_dropped,
        groups={g.label: g.n for g in groups},
        group_column=prep.group_column,
        cluster=prep.cluster_column,
        n_clusters=prep.n_clusters,
        group_equal=tuple(group_equal),
        group_partial=tuple(group_partial),
        converged=opt.converged,
        iterations=opt.iterations,
        fit=fit,
        omega=omega,
        warnings=problems,
        notes=list(prep.notes),
        _spec=spec,
        _engine=engine,
        _x=x,
        _vcov=vcov,
    )


#: Fewer clusters than this make cluster-robust standard errors unreliable (a warning says so).
FEW_CLUSTERS = 20


def few_clusters_problem(prep: PreparedData) -> list[str]:
    """A warning when cluster-robust standard errors rest on few clusters (empty otherwise)."""
    counts = [g.n_clusters for g in prep.groups]
    if prep.cluster_column is None or min(counts) >= FEW_CLUSTERS:
        return []
    return [
        f"only {min(counts)} clusters of {prep.cluster_column!r}"
        + (" in a group" if len(counts) > 1 else "")
        + f": cluster-robust standard errors and the scaled test are unreliable with fewer than about "
        f"{FEW_CLUSTERS} clusters (they tend to be too small)"
    ]


def cfa(
    data: pd.DataFrame,
    model: str | CFAModel | Any,
    *,
    estimator: str = "ML",
    missing: str = "auto",
    std_lv: bool = False,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    cluster: str | None = None,
) -> CFAResult:
    """Fit a confirmatory factor model by maximum likelihood, as lavaan's ``cfa()``.

    Parameters
    ----------
    data : pandas.DataFrame
        One numeric column per item (reverse-keyed items already reversed, e.g.
        ``score(...).keyed``); NaN for a missing answer.
    model : str, Instrument or CFAModel
        lavaan-style syntax, an instrument (its subscales as correlated
        factors; see :meth:`CFAModel.from_instrument` for bifactor and
        second-order models), or a model.
    estimator : {"ML", "MLR"}
        ``"MLR"``: robust (sandwich) standard errors and the Yuan-Bentler
        scaled chi-square, for non-normal answers such as Likert items.
    missing : {"auto", "listwise", "fiml"}
        ``"auto"``: FIML when any model item is missing, else complete data.
        ``"fiml"`` is lavaan's ``missing = "ml"``; ``"ml"`` is accepted too.
    std_lv : bool
        Identify factors by unit variances instead of their first loading.
    group : str, optional
        Column defining groups (multi-group CFA); groups in order of appearance.
    group_equal : sequence of str
        lavaan's ``group.equal``: "loadings", "intercepts", "means",
        "residuals", "residual.covariances", "lv.variances", "lv.covariances",
        "regressions".
    group_partial : sequence of str
        lavaan's ``group.partial``: parameters freed from ``group_equal``, e.g.
        ``"rs =~ rs2"``, ``"rs2=~"`` (rs2's loading), ``"rs2~1"``, ``"rs2~~rs2"``.
    cluster : str, optional
        Column of the cluster each respondent belongs to (e.g. ``"program"``):
        cluster-robust standard errors and the Yuan-Bentler scaled test, as
        lavaan's ``cfa(..., cluster = "program")`` with a single-level model
        (``se = "robust.cluster"``, for ML and MLR alike; a mean structure is
        added). The estimates do not change. Rows without a cluster are left
        out (with a note); each group needs at least two clusters.

    Returns
    -------
    CFAResult

    Raises
    ------
    CFAError
        A model, data or option problem the user can fix (the message says how).
    ModelSyntaxError
        Unreadable model syntax (with line and column).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> f = rng.normal(size=(400, 1))
    >>> d = pd.DataFrame(f * 0.8 + rng.normal(size=(400, 4)) * 0.6, columns=["q1", "q2", "q3", "q4"])
    >>> res = cfa(d, "F =~ q1 + q2 + q3 + q4", estimator="MLR")
    >>> sorted(res.to_dict()["fit"])[:4]
    ['aic', 'bic', 'cfi', 'cfi_robust']
    >>> res.parameters.loc[1, ["lhs", "op", "rhs"]].tolist(), float(res.parameters.loc[0, "est"])
    (['F', '=~', 'q2'], 1.0)
    """
    model = as_model(model)
    estimator = estimator_record(estimator).name
    if group_equal and group is None:
        raise CFAError("group_equal needs a group column (group=...)")
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    with single_blas_thread():
        prep = prepare_data(data, model.indicators, group, missing, cluster=cluster)
        return fit_prepared(
            model,
            prep,
            estimator=estimator,
            std_lv=std_lv,
            group_equal=tuple(group_equal),
            group_partial=tuple(group_partial),
        )
