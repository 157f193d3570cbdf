"""Robust test statistics (each estimator's ``robust_test``) and lavaan's robust CFI, TLI and RMSEA.

MLR: Yuan-Bentler (Mplus variant) scaling (:func:`yuan_bentler_mplus`);
WLSMV: the mean-and-variance adjusted (scaled-shifted) statistic with
lavaan's catML robust indices (:func:`scaled_shifted_test`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ...stats.probability import chi2_sf
from .cholesky import block_diag
from .cluster import score_crossprod
from .exogenous import fixed_x_params
from .fit import fit_cfi, fit_rmsea, fit_rmsea_ci, fit_tli
from .fit_indices import RobustInputs, ScaledTest
from .implied import Elements, Engine, casewise_scores, element_vectors, expected_information_elements
from .ordinal_stats import vech_index
from .samplestats import GroupData, moments_hessian_terms
from .spec import NU, THETA
from .vcov import Covariance

if TYPE_CHECKING:  # only for annotations
    from .dwls import DWLSObjective


def _saturated_elements(p: int) -> Elements:
    rows, cols = np.tril_indices(p)
    mat = np.concatenate([np.full(len(rows), THETA), np.full(p, NU)])
    i = np.concatenate([rows, np.arange(p)])
    j = np.concatenate([cols, np.zeros(p, dtype=int)])
    return Elements(mat, i, j, np.arange(len(mat)))


def _saturated_vectors(p: int):
    """Element vectors of the saturated model: covariances (lower triangle) then means."""
    el = _saturated_elements(p)
    eye = np.eye(p)
    is_mean = el.mat == NU
    a = np.where(is_mean[:, None], 0.0, eye[el.i])
    b = np.where(is_mean[:, None], 0.0, eye[el.j])
    s = np.where(~is_mean & (el.i == el.j), 0.5, 1.0)
    c = np.where(is_mean[:, None], eye[el.i], 0.0)
    return a, b, s, c


def _saturated_information(group: GroupData) -> tuple[np.ndarray, np.ndarray]:
    """Observed (A1) and first-order (B1) information of the saturated model at its estimates.

    Per respondent of the group, in the (lower-triangle covariances, means)
    parameterization; under FIML at the EM estimates, pattern by pattern.
    """
    a, b, s, c = _saturated_vectors(group.p)
    x4, y, z = moments_hessian_terms(group, group.cov, group.mean, expected=False)
    dv = s[:, None] * ((a[:, :, None] * b[:, None, :]) + (b[:, :, None] * a[:, None, :])).reshape(len(s), -1)
    cy = c @ y @ dv.T
    a1 = 0.5 * (2.0 * dv @ x4 @ dv.T + cy + cy.T + c @ z @ c.T) / group.n
    scores = casewise_scores(group, group.cov, group.mean, a, b, s, c)
    b1 = score_crossprod(scores, group.cluster) / group.n  # summed within clusters with cluster=
    return a1, b1


def _trace_h1(group: GroupData, meanstructure: bool) -> float:
    """trace(A1^-1 B1) of the saturated model (lavaan's Yuan-Bentler-Mplus h1 trace) for one group.

    Complete data: A1 and B1 at the sample moments give ``(b2 - p)/2`` (+ p with
    means), b2 being Mardia's multivariate kurtosis. Under FIML both are taken
    at the EM estimates, pattern by pattern.
    """
    p = group.p
    if group.complete and group.cluster is None:
        x = group.blocks[0].rows[0]
        centred = x - group.mean
        dist = np.einsum("ij,ij->i", centred @ np.linalg.inv(group.cov), centred)
        trace = 0.5 * (float(np.mean(dist**2)) - p)
        return trace + (p if meanstructure else 0.0)
    a1, b1 = _saturated_information(group)
    return float(np.trace(np.linalg.solve(a1, b1)))


def _logl_scaling_factors(engine, groups, meanstructure, observed, first_order, trace_h1, trace_h0, df):
    """lavaan's ``scaling.factor.h1``/``h0``: each trace per element it is taken over (NaN when df = 0).

    With covariates (fixed.x) lavaan leaves their moments out of both: of the
    saturated model's information (the rows of covariances among covariates
    and of their means) and of the model's free parameters. The scaled test
    needs only the difference of the traces, which the covariates' part
    leaves unchanged; these two factors need each trace on its own.
    """
    nan = {"scaling_factor_h1": math.nan, "scaling_factor_h0": math.nan}
    if df <= 0:
        return nan
    x_params = fixed_x_params(engine.spec)
    if len(x_params) == 0:
        p = groups[0].p
        ndat = len(groups) * (p * (p + 1) // 2 + (p if meanstructure else 0))
        npar = observed.shape[0]
        h0 = trace_h0 / npar if npar else math.nan
        return {"scaling_factor_h1": trace_h1 / ndat, "scaling_factor_h0": h0}
    x_index = [engine.spec.ov.index(name) for name in engine.spec.fixed_x]
    el = _saturated_elements(groups[0].p)
    is_mean = el.mat == NU
    of_x = np.where(is_mean, np.isin(el.i, x_index), np.isin(el.i, x_index) & np.isin(el.j, x_index))
    keep = ~of_x & (meanstructure | ~is_mean)
    trace, ndat = 0.0, 0
    for group in groups:
        a1, b1 = _saturated_information(group)
        trace += float(np.trace(np.linalg.solve(a1[np.ix_(keep, keep)], b1[np.ix_(keep, keep)])))
        ndat += int(keep.sum())
    free = np.setdiff1d(np.arange(observed.shape[0]), x_params)
    trace0 = float(np.trace(np.linalg.solve(observed[np.ix_(free, free)], first_order[np.ix_(free, free)])))
    return {"scaling_factor_h1": trace / ndat, "scaling_factor_h0": trace0 / len(free)}


def _saturated_jacobian(engine: Engine, g: int, x: np.ndarray) -> np.ndarray:
    """d(lower-triangle Sigma, mu) / d theta for group g (lavaan's Delta)."""
    st = engine.state(g, x)
    a, b, s, c = element_vectors(st, engine.elements[g], engine.meanstructure)
    rows, cols = np.tril_indices(engine.p)
    d_sigma = s[:, None] * (a[:, rows] * b[:, cols] + b[:, rows] * a[:, cols])
    delta = np.concatenate([d_sigma, c], axis=1).T
    return delta @ engine.incidence[g]


def fiml_corrected(
    engine, x, base_engine, base_x, groups, df, baseline_df, n_total, version: str = "V3"
) -> RobustInputs:
    """The inputs of lavaan 0.6-14's robust indices under missing data (``lav_fit_fiml_corrected``).

    ``version="V3"`` (a scaled test, MLR) or ``"V6"`` (ML): the trace of
    ``U Wm^-1 Wc Wm^-1 U Gamma`` or of ``Wc Wm^-1 U Wm^-1``.

    The model is evaluated (not refitted) against the EM means and covariances
    as if they were complete data (``XX3``), and the scaling ``c3`` comes from
    the trace of ``U Wm^-1 Wc Wm^-1 U Gamma`` (Savalei's FIML-C), as in
    lavaan's ``lav_fit_fiml_corrected``.
    """
    n_groups = len(groups)
    p = groups[0].p
    a_s, b_s, s_s, c_s = _saturated_vectors(p)
    # Covariates' moments are fixed (fixed.x): lavaan zeroes their rows of the h1 information, so the
    # traces run over the other moments (and the covariates' parameters have no column in Delta).
    el = _saturated_elements(p)
    x_idx = [engine.spec.ov.index(name) for name in engine.spec.fixed_x]
    x_moment = np.where(el.mat == NU, np.isin(el.i, x_idx), np.isin(el.i, x_idx) & np.isin(el.j, x_idx))
    keep = np.ix_(~x_moment, ~x_moment)
    fg = [g.n / n_total for g in groups]
    wm, wmi, wc, gamma = [], [], [], []
    for group in groups:
        a1, b1 = (m[keep] for m in _saturated_information(group))
        a1_inv = np.linalg.inv(a1)
        wm.append(a1)
        wmi.append(a1_inv)
        wc.append(expected_information_elements(a_s, b_s, s_s, c_s, np.linalg.inv(group.cov))[keep])
        gamma.append(a1_inv @ b1 @ a1_inv)
    wm_all = block_diag(*[f * w for f, w in zip(fg, wm, strict=True)])
    wmi_all = block_diag(*[w / f for f, w in zip(fg, wmi, strict=True)])
    wc_all = block_diag(*[f * w for f, w in zip(fg, wc, strict=True)])
    gamma_all = block_diag(*[w / f for f, w in zip(fg, gamma, strict=True)])
    middle = wmi_all @ wc_all @ wmi_all

    def complete_chisq(eng: Engine, xx: np.ndarray) -> float:
        total = 0.0
        for g, group in enumerate(groups):
            st = eng.state(g, xx)
            d = group.mean - st.mu
            kinv = np.linalg.inv(st.sigma)
            total += group.n * (
                np.linalg.slogdet(st.sigma)[1]
                + np.sum(kinv * (group.cov + np.outer(d, d)))
                - np.linalg.slogdet(group.cov)[1]
                - p
            )
        return float(total)

    def trace(eng: Engine, xx: np.ndarray) -> float:
        delta = np.vstack([_saturated_jacobian(eng, g, xx)[~x_moment] for g in range(n_groups)])
        delta = np.delete(delta, fixed_x_params(eng.spec), axis=1)
        info = delta.T @ wm_all @ delta
        wd = wm_all @ delta
        u = wm_all - wd @ np.linalg.solve(info, wd.T)
        if version == "V6":
            return float(np.sum((wc_all @ wmi_all) * (u @ wmi_all).T))
        return float(np.sum((u @ middle @ u) * gamma_all.T))

    xx3 = complete_chisq(engine, x)
    xx3_null = complete_chisq(base_engine, base_x)
    # A just-identified model (df = 0) has no test to correct: lavaan's robust indices are then
    # those of a perfect fit, as for complete data (the fit functions handle df = 0 themselves).
    c3 = trace(engine, x) / df if df > 0 else math.nan
    c3_null = trace(base_engine, base_x) / baseline_df if baseline_df > 0 else math.nan
    return RobustInputs(xx3=xx3, df3=df, c_hat3=c3, xx3_null=xx3_null, c_hat3_null=c3_null)


def _robust_indices(r: RobustInputs, df, baseline_df, n_total, n_groups) -> dict[str, Any]:
    """cfi/tli/rmsea robust and the robust RMSEA interval from lavaan's ``XX3`` and ``c.hat3``."""
    lo, hi = fit_rmsea_ci(r.xx3_scaled, df, n_total, n_groups, c_hat=r.c_hat3)
    return {
        "cfi_robust": fit_cfi(r.xx3, df, r.xx3_null, baseline_df, r.c_hat3, r.c_hat3_null),
        "tli_robust": fit_tli(r.xx3, df, r.xx3_null, baseline_df, r.c_hat3, r.c_hat3_null),
        "rmsea_robust": fit_rmsea(r.xx3, df, n_total, n_groups, r.c_hat3),
        "rmsea_ci_lower_robust": lo,
        "rmsea_ci_upper_robust": hi,
    }


def yuan_bentler_mplus(
    engine,
    x,
    cov: Covariance,
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
    h0_information: str = "hessian",
) -> dict[str, Any]:
    """Yuan-Bentler-Mplus scaled test and lavaan's robust CFI/TLI/RMSEA (FIML-corrected under FIML).

    ``cov`` holds the observed and first-order information at the estimates
    (:func:`~sdt_survey.factor.sem.vcov.sandwich_vcov`); the result is the
    robust entries of :class:`~sdt_survey.factor.sem.results.FitMeasures`.
    ``h0_information="h1"``: the trace's information is the observed one
    without the model's curvature (lavaan's ``observed.information = "h1"``,
    which lavaan uses for ``estimator = "ML"`` with ``cluster =``).
    """
    observed, first_order = cov.observed, cov.first_order
    out: dict[str, Any] = {}
    trace_h1 = sum(_trace_h1(g, meanstructure) for g in groups)
    information = "h1_observed_information" if h0_information == "h1" else "observed_information"
    try:
        if h0_information == "h1":
            observed = engine.h1_observed_information(x)
        trace_h0 = float(np.trace(np.linalg.solve(observed, first_order)))
        base_observed = getattr(base_engine, information)(base_x)
        base_first, _ = base_engine.first_order_information(base_x)
        base_trace_h0 = float(np.trace(np.linalg.solve(base_observed, base_first)))
    except np.linalg.LinAlgError:
        problems.append(
            "the robust (MLR) test statistic could not be computed: the information matrix is singular"
        )
        return {k: math.nan for k in ("chisq_scaled", "pvalue_scaled", "scaling_factor")}
    n_groups = len(groups)
    c = (trace_h1 - trace_h0) / df if df > 0 else math.nan
    c_null = (trace_h1 - base_trace_h0) / baseline_df if baseline_df > 0 else math.nan
    if not c > 0:
        c = math.nan
    chisq_scaled = chisq / c if df > 0 else chisq
    out["scaling_factor"] = c
    out["chisq_scaled"] = chisq_scaled
    out["pvalue_scaled"] = float(chi2_sf(chisq_scaled, df)) if df > 0 else math.nan
    out["baseline_scaling_factor"] = c_null
    out["baseline_chisq_scaled"] = baseline_chisq / c_null
    out |= _logl_scaling_factors(engine, groups, meanstructure, observed, first_order, trace_h1, trace_h0, df)
    out["scaled_test"] = ScaledTest(
        chisq=chisq_scaled,
        df=df,
        pvalue=out["pvalue_scaled"],
        scaling_factor=c,
        baseline_chisq=baseline_chisq / c_null,
        baseline_df=baseline_df,
        baseline_pvalue=float(chi2_sf(baseline_chisq / c_null, baseline_df)) if baseline_df > 0 else math.nan,
        baseline_scaling_factor=c_null,
        rmsea_chisq=chisq,  # lavaan: the unscaled statistic on df = tr(U Gamma) = c df
        rmsea_df=c * df if df > 0 and c * df != 0 else math.nan,
    )
    if not fiml:
        robust = RobustInputs(xx3=chisq, df3=df, c_hat3=c, xx3_null=baseline_chisq, c_hat3_null=c_null)
    else:
        robust = fiml_corrected(engine, x, base_engine, base_x, groups, df, baseline_df, n_total)
    out.update(_robust_indices(robust, df, baseline_df, n_total, n_groups))
    out["robust_inputs"] = robust
    return out


def catml_robust_measures(
    sample_cor: np.ndarray,
    implied_cor: np.ndarray,
    jac: np.ndarray,
    w: np.ndarray,
    info_inv: np.ndarray,
    gamma: np.ndarray,
    n: int,
    df: int,
) -> dict[str, float]:
    """lavaan 0.6-14's robust CFI, TLI and RMSEA for ordinal data (Savalei's catML approach).

    The model at the DWLS estimates is evaluated by normal-theory ML against the
    polychoric correlations (``XX3``, not refitted), and scaled by
    ``c3 = tr(U' V U Gamma) / df`` with ``V`` the ML weight of the correlations
    at the implied correlations and ``U = I - D (D'WD)^-1 D'W`` (correlation
    rows); the baseline's scaling is ``tr(Gamma) / df_null`` (``lav_fit_catml_dwls``).
    """
    nan = {"cfi_robust": math.nan, "tli_robust": math.nan, "rmsea_robust": math.nan}
    nan["robust_inputs"] = RobustInputs(math.nan, df, math.nan, math.nan, math.nan)
    p = sample_cor.shape[0]
    if np.linalg.eigvalsh(sample_cor)[0] < np.finfo(float).eps ** 0.5 or df <= 0:
        return nan
    try:
        k = np.linalg.inv(implied_cor)
        logdet = np.linalg.slogdet(implied_cor)
        if logdet[0] <= 0:
            return nan
    except np.linalg.LinAlgError:
        return nan
    logdet_s = np.linalg.slogdet(sample_cor)[1]
    xx3 = n * float(logdet[1] + np.sum(sample_cor * k) - logdet_s - p)
    xx3_null = -n * float(logdet_s)
    vr, vc = vech_index(p)
    n_th = len(w) - len(vr)
    dc, wc, gc = jac[n_th:], w[n_th:], gamma[n_th:, n_th:]
    u = np.eye(len(vr)) - (dc @ info_inv @ dc.T) * wc[None, :]
    v = k[np.ix_(vc, vr)] * k[np.ix_(vr, vc)] + k[np.ix_(vr, vr)] * k[np.ix_(vc, vc)]
    c3 = float(np.sum((u.T @ v @ u) * gc.T)) / df
    df_null = len(vr)
    c3_null = float(np.trace(gc)) / df_null
    return {
        "cfi_robust": fit_cfi(xx3, df, xx3_null, df_null, c3, c3_null),
        "tli_robust": fit_tli(xx3, df, xx3_null, df_null, c3, c3_null),
        "rmsea_robust": fit_rmsea(xx3, df, n - 1, 1, c3),
        "robust_inputs": RobustInputs(xx3=xx3, df3=df, c_hat3=c3, xx3_null=xx3_null, c_hat3_null=c3_null),
    }


def scaled_shifted(u_gamma: np.ndarray, chisq: float, df: int) -> tuple[float, float, float]:
    """Scaled-shifted statistic, scaling factor ``1/a`` and shift ``b`` (lavaan's defaults for WLSMV)."""
    if df <= 0:
        return chisq, math.nan, math.nan
    tr1 = float(np.trace(u_gamma))
    tr2 = float(np.sum(u_gamma * u_gamma.T))
    a = math.sqrt(df / tr2)
    shift = df - a * tr1
    return a * chisq + shift, 1.0 / a, shift


def scaled_shifted_test(
    model: DWLSObjective,
    x: np.ndarray,
    cov: Covariance,
    chisq: float,
    df: int,
    baseline_chisq: float,
    baseline_df: int,
    problems: list[str],
) -> dict[str, Any]:
    """The WLSMV test: scaled-shifted statistics of the model and the baseline, and the indices from them.

    ``chisq = (N - 1) F``; the scaled-shifted statistic is ``a chisq + b`` with
    ``a = sqrt(df / tr((U Gamma)^2))``, ``b = df - a tr(U Gamma)`` and
    ``U = W - W D (D'WD)^-1 D'W``; the baseline (independence) model's ``U``
    is ``W`` on the correlations. CFI, TLI and RMSEA follow from the scaled
    statistics (lavaan's ``*.scaled``) and, by catML, the ``*.robust`` ones
    (:func:`catml_robust_measures`). ``cov`` holds ``D`` and ``(D'WD)^-1``
    (:func:`~sdt_survey.factor.sem.vcov.robust_sem_vcov`).
    """
    n, n_thr = model.n, model.n_thr
    if cov.reason is not None:
        problems.append("the scaled-shifted test could not be computed: the information matrix is singular")
        keys = ("chisq_scaled", "pvalue_scaled", "chisq_scaling_factor", "chisq_shift_parameter")
        keys += ("baseline_chisq_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled")
        return {"df_scaled": int(df), **dict.fromkeys(keys, math.nan), **dict.fromkeys(_CATML_KEYS, math.nan)}
    w, gamma = model.weights, model.gamma
    wd = w[:, None] * cov.jacobian
    u = np.diag(w) - wd @ cov.bread @ wd.T
    chisq_scaled, scaling, shift = scaled_shifted(u @ gamma, chisq, df)
    u_base = np.zeros_like(u)
    u_base[n_thr:, n_thr:] = np.diag(w[n_thr:])
    baseline_scaled, baseline_scaling, _ = scaled_shifted(u_base @ gamma, baseline_chisq, baseline_df)
    implied_cor = model.implied_correlations(x)
    pvalue_scaled = float(chi2_sf(chisq_scaled, df)) if df > 0 else math.nan
    return {
        "scaled_test": ScaledTest(
            chisq=chisq_scaled,
            df=df,
            pvalue=pvalue_scaled,
            scaling_factor=scaling,
            baseline_chisq=baseline_scaled,
            baseline_df=baseline_df,
            baseline_pvalue=float(chi2_sf(baseline_scaled, baseline_df)) if baseline_df > 0 else math.nan,
            baseline_scaling_factor=baseline_scaling,
            rmsea_chisq=chisq_scaled,  # lavaan: the scaled-shifted statistic on the model's df
            rmsea_df=df,
        ),
        "chisq_scaled": chisq_scaled,
        "df_scaled": int(df),
        "pvalue_scaled": pvalue_scaled,
        "chisq_scaling_factor": scaling,
        "chisq_shift_parameter": shift,
        "baseline_chisq_scaled": baseline_scaled,
        "cfi_scaled": fit_cfi(chisq_scaled, df, baseline_scaled, baseline_df),
        "tli_scaled": fit_tli(chisq_scaled, df, baseline_scaled, baseline_df),
        "rmsea_scaled": fit_rmsea(chisq_scaled, df, n - 1, 1),
        **catml_robust_measures(model.sample_cor, implied_cor, cov.jacobian, w, cov.bread, gamma, n, int(df)),
    }


_CATML_KEYS = ("cfi_robust", "tli_robust", "rmsea_robust")
