"""Fitting a CFA: the public :func:`cfa` and the engine run shared with invariance."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..._progress import activity
from ...errors import CFAError, CFAWarning
from ...stats.probability import chi2_sf
from ...stats.threads import single_blas_thread
from .baseline import baseline_model
from .estimators import estimator_record
from .exogenous import (
    covariates_loglik,
    drop_missing_covariates,
    fix_covariance,
    fixed_x_params,
    set_sample_moments,
)
from .fit import fit_cfi, fit_rmsea, fit_rmsea_ci, fit_rmsea_pclose, fit_srmr, fit_tli
from .fit_indices import FitInputs, lavaan_fit_measures
from .fit_residuals import continuous_gfi, continuous_residual_measures
from .implied import Engine
from .matrix_input import check_matrix_options, prepare_matrices, refuse_matrix_as_data
from .omega import omega_per_factor
from .optimize import optimize as _optimize  # a module global, so that a test can stand in for it
from .results import CFAResult, FitMeasures
from .samplestats import PreparedData, prepare_data
from .solution import improper_solution_problems, orient_factors
from .spec import CFAModel, as_model, build_spec, check_identification
from .start import start_values
from .tests import fiml_corrected


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
    if prep.meanstructure is not None:  # a covariance matrix given without means has no mean structure
        meanstructure = prep.meanstructure
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
    x = set_sample_moments(spec, orient_factors(spec, opt.x), groups)
    n_total = engine.n_total
    p = len(spec.ov)
    q = spec.n_free
    x_params = fixed_x_params(spec)
    npar = q - len(x_params)  # the covariates' moments are not free parameters (fixed.x)

    # -- standard errors --------------------------------------------------------------
    record = estimator_record(estimator, cluster=clustered)
    covariance = record.covariance(engine, x, opt, fiml)
    vcov, reason = fix_covariance(covariance.vcov, x_params), covariance.reason
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
    pvalue = float(chi2_sf(chisq, df)) if df > 0 else math.nan
    x_index = [spec.ov.index(name) for name in spec.fixed_x]
    base_engine, base_x = baseline_model(groups, spec.ov, meanstructure, x_index)
    base_m2ll = base_engine.m2ll(base_x)
    baseline_chisq = float(np.maximum(base_m2ll - h1, 0.0).sum())
    baseline_df = n_groups * (p * (p - 1) - len(x_index) * (len(x_index) - 1)) // 2
    n_log2pi = sum(g.n_log2pi for g in groups)
    # With covariates (fixed.x), lavaan's log-likelihood is that of the outcomes given the covariates.
    x_loglik = covariates_loglik(groups, x_index)
    loglik = -0.5 * (float(m2ll.sum()) + n_log2pi) - x_loglik
    unrestricted = -0.5 * (float(h1.sum()) + n_log2pi) - x_loglik
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
        "aic": -2 * loglik + 2 * npar,
        "bic": -2 * loglik + npar * math.log(n_total),
        "bic2": -2 * loglik + npar * math.log((n_total + 2) / 24),
        "loglik": loglik,
        "unrestricted_loglik": unrestricted,
        "npar": int(npar),
        "ntotal": int(n_total),
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "baseline_pvalue": float(chi2_sf(baseline_chisq, baseline_df)) if baseline_df > 0 else math.nan,
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
    scaled = measures.pop("scaled_test", None)
    robust = measures.pop("robust_inputs", None)
    if robust is None and fiml:  # ML with FIML: lavaan's robust indices by FIML-C (V6)
        robust = fiml_corrected(engine, x, base_engine, base_x, groups, df, baseline_df, n_total, "V6")
    logl = {k: measures[k] for k in ("aic", "bic", "bic2")}
    logl = {"logl": loglik, "unrestricted_logl": unrestricted, **logl, "ntotal": int(n_total)}
    logl |= {k: measures.pop(k) for k in ("scaling_factor_h1", "scaling_factor_h0") if k in measures}
    inputs = FitInputs(
        npar=int(npar),
        ntotal=int(n_total),
        n=n_total,
        groups=n_groups,
        chisq=chisq,
        df=int(df),
        baseline_chisq=baseline_chisq,
        baseline_df=int(baseline_df),
        fmin=chisq / (2 * n_total),
        residuals=continuous_residual_measures(groups, states, meanstructure),
        gfi=continuous_gfi(groups, states, meanstructure, x_index),
        nel=n_groups * (p * (p + 1) // 2 + (p if meanstructure else 0)),
        scaled=scaled,
        robust=robust,
        logl=logl,
    )
    fit = FitMeasures(**measures, measures=lavaan_fit_measures(inputs))

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
    data: pd.DataFrame | None = None,
    model: str | CFAModel | Any = None,
    *,
    estimator: str = "ML",
    missing: str = "auto",
    std_lv: bool = False,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    sample_cov: Any = None,
    n_obs: Any = None,
    sample_mean: Any = None,
    names: Sequence[str] | None = None,
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
        second-order models), or a model. Syntax may regress factors on
        observed covariates (``f ~ pgy``: their moments are held at the sample
        values, lavaan's ``fixed.x``; a row with a missing covariate is left
        out) and define parameters from labels (``ind := a*c``: delta-method
        standard errors, rows with ``op == ":="``). lavaan's ``sem()`` has the
        same defaults, so this fits its models too.
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
    sample_cov : DataFrame, array, or a list or dict of them, optional
        Instead of ``data``: a covariance (or correlation) matrix, as lavaan's
        ``sample.cov`` (rescaled by ``(N - 1)/N`` as lavaan does); a list or
        dict of matrices for several groups. Names come from the DataFrame's
        columns (its index must match) or from ``names``. ML only: MLR and
        FIML need the raw data. See :mod:`~sdt_survey.factor.sem.matrix_input`.
    n_obs : int, or a list or dict of int
        The number of respondents behind each matrix (``sample.nobs``).
    sample_mean : Series, array, or a list or dict of them, optional
        The items' means (``sample.mean``): adds the mean structure.
    names : sequence of str, optional
        The variables of a numpy ``sample_cov``, in its order.
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

    A covariate and a defined difference of loadings:

    >>> d["age"] = rng.normal(size=400)
    >>> res = cfa(d, "F =~ q1 + a*q2 + b*q3 + q4\\nF ~ age\\ndiff := a - b")
    >>> res.fit.npar, res.parameters.iloc[-1][["lhs", "op", "rhs"]].tolist()
    (9, ['diff', ':=', 'a-b'])
    """
    if model is None:
        raise CFAError("cfa needs a model (lavaan syntax, an instrument or a CFAModel)")
    if sample_cov is not None or n_obs is not None or sample_mean is not None:
        if cluster is not None:
            raise CFAError(
                "cluster= needs the raw data: cluster-robust standard errors sum each respondent's "
                "scores within clusters, which a covariance matrix does not hold"
            )
        return _cfa_matrices(model, sample_cov, n_obs, sample_mean, names, data=data, estimator=estimator,
                             missing=missing, std_lv=std_lv, group=group, group_equal=group_equal,
                             group_partial=group_partial)  # fmt: skip
    if data is None:
        raise CFAError("cfa needs data (one row per respondent) or sample_cov= with n_obs=")
    refuse_matrix_as_data(data)
    model = as_model(model)
    estimator = estimator_record(estimator).name
    if group_equal and group is None:
        raise CFAError("group_equal needs a group column (group=...)")
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    data, x_notes = (
        drop_missing_covariates(data, model.covariates) if isinstance(data, pd.DataFrame) else (data, [])
    )
    with single_blas_thread():
        prep = prepare_data(data, model.indicators, group, missing, cluster=cluster)
        prep.notes[:0] = x_notes
        return fit_prepared(
            model,
            prep,
            estimator=estimator,
            std_lv=std_lv,
            group_equal=tuple(group_equal),
            group_partial=tuple(group_partial),
        )


def _cfa_matrices(
    model: Any,
    sample_cov: Any,
    n_obs: Any,
    sample_mean: Any,
    names: Sequence[str] | None,
    *,
    data: Any,
    estimator: str,
    missing: str,
    std_lv: bool,
    group: str | None,
    group_equal: Sequence[str],
    group_partial: Sequence[str],
) -> CFAResult:
    """:func:`cfa` from covariance matrices (lavaan's ``sample.cov``)."""
    if data is not None:
        raise CFAError("give either data or sample_cov, not both")
    if sample_cov is None:
        raise CFAError("n_obs and sample_mean go with sample_cov= (a covariance matrix); none was given")
    check_matrix_options(estimator, missing, group)
    model = as_model(model)
    estimator = estimator_record(estimator).name
    group_equal = (group_equal,) if isinstance(group_equal, str) else tuple(group_equal)
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial)
    with single_blas_thread():
        prep = prepare_matrices(
            sample_cov, n_obs, sample_mean, model.indicators, names=names,
            means_in_model=any(s.op == "~1" for s in model.statements),
        )  # fmt: skip
        if group_equal and len(prep.groups) < 2:
            raise CFAError("group_equal needs several groups: give sample_cov as a list or dict of matrices")
        return fit_prepared(model, prep, estimator=estimator, std_lv=std_lv, group_equal=group_equal,
                            group_partial=group_partial)  # fmt: skip
