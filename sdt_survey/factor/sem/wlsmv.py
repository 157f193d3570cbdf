"""Ordinal confirmatory factor analysis by WLSMV, reproducing lavaan's ``cfa(..., ordered = TRUE)``.

lavaan 0.6-14's defaults for ordered items, step by step (checked against
goldens made by R, ``tests/goldens/lavaan_wlsmv.R``):

* **Thresholds** of each item from its marginal proportions (the univariate
  probit maximum-likelihood estimates, ``qnorm`` of the cumulative proportions).
* **Polychoric correlations** by the two-step method: for each pair, the
  bivariate-normal likelihood of the contingency table maximized over the
  correlation with the thresholds held at their univariate values (lavaan's
  ``lav_bvord_cor_twostep_fit``; psych's ``polychoric`` differs slightly).
* **Gamma**, the asymptotic covariance of ``sqrt(N)`` times (thresholds,
  correlations), from the casewise scores with the two-step correction
  (Muthen 1984, lavaan's ``muthen1984``): ``N B^-1 (S'S) B^-T`` with ``B`` the
  block-triangular outer-product information.
* **DWLS** estimates: ``(s - sigma(theta))' W (s - sigma(theta))`` minimized
  with ``W = diag(Gamma)^-1``; robust standard errors from the sandwich
  ``(D'WD)^-1 D'W Gamma W D (D'WD)^-1 / N``.
* **Test**: ``chisq = N F``; the mean-and-variance adjusted (scaled-shifted)
  statistic ``a chisq + b`` with ``a = sqrt(df / tr((U Gamma)^2))`` and
  ``b = df - a tr(U Gamma)``, ``U = W - W D (D'WD)^-1 D'W``; the baseline
  (independence) model likewise; CFI, TLI and RMSEA from the plain and the
  scaled statistics (lavaan's ``*.scaled``).
* **Parameterization**: ``"delta"`` (lavaan's default: latent responses of
  unit variance, residual variances ``1 - R^2`` not free) or ``"theta"``
  (residual variances fixed to 1, scale factors derived).
* **Robust CFI, TLI, RMSEA** (``fitMeasures``' ``*.robust``): the catML
  approach of lavaan 0.6-14 (Savalei 2021), see :func:`catml_robust_measures`.
* lavaan takes ``N - 1`` for the DWLS test statistic, the robust standard
  errors and the RMSEAs (``lav_utils_get_ntotal``); so does this module.

WLSMV is a record of :data:`~sdt_survey.factor.sem.estimators.ESTIMATORS` like
ML and MLR: the DWLS objective (:mod:`~sdt_survey.factor.sem.dwls`, on the
engine's model matrices) is minimized by the engine's optimizer
(:func:`~sdt_survey.factor.sem.optimize.optimize`); the record's ``covariance``
gives the robust.sem standard errors (:func:`~sdt_survey.factor.sem.vcov.robust_sem_vcov`)
and its ``robust_test`` the scaled-shifted test and robust indices
(:func:`~sdt_survey.factor.sem.tests.scaled_shifted_test`). This module holds
the ordinal parameter table (lavaan's defaults for ordered items), the result
and :func:`cfa_ordinal`; the parameter table shares its estimates, standard
errors and standardized solution with the continuous one
(:mod:`~sdt_survey.factor.sem.solution`). The model is a
:class:`~sdt_survey.factor.sem.CFAModel`; the items must be ordinal (a few
integer categories each).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ...errors import CFAError
from ...results import Result, jsonable
from ...stats.probability import chi2_sf
from .dwls import PARAMETERIZATIONS, DWLSObjective, ordinal_spec
from .effects import defined_estimates, defined_standardized
from .estimators import ESTIMATORS, estimator_record
from .fit import fit_cfi, fit_rmsea, fit_tli
from .fit_indices import FitInputs, lavaan_fit_measures
from .fit_residuals import ordinal_gfi, ordinal_residual_measures
from .optimize import optimize
from .ordinal_partable import wu_estabrook_table
from .ordinal_stats import ordinal_sample_stats, vech_off
from .solution import standard_errors, wald_tests
from .spec import CFAModel, as_model
from .standardized import delta_method_se, standardized_solution, standardized_tests
from .start import start_values
from .summary import CONTINUOUS_SECTIONS, format_value, parameter_lines
from .wlsmv_groups import GroupedOrdinalData, GroupedOrdinalFit, fit_ordinal_groups, prepare_ordinal_groups

__all__ = ["OrdinalCFAResult", "cfa_ordinal"]

#: The fit measures of :meth:`OrdinalCFAResult.to_dict` (lavaan's names, dots as underscores).
FIT_KEYS = (
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "chisq_shift_parameter",
    "baseline_chisq",
    "baseline_df",
    "baseline_chisq_scaled",
    "cfi",
    "tli",
    "rmsea",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "srmr",
    "npar",
    "ntotal",
)


# ===================================================================== results

#: The RMSEA interval and tests the summary prints under each RMSEA (lavaan's labels).
RMSEA_LINES = (
    ("90 Percent confidence interval - lower", "rmsea_ci_lower"),
    ("90 Percent confidence interval - upper", "rmsea_ci_upper"),
    ("P-value H_0: RMSEA <= 0.050", "rmsea_pvalue"),
    ("P-value H_0: RMSEA >= 0.080", "rmsea_notclose_pvalue"),
)

#: The summary's sections of an ordinal CFA: the continuous ones with thresholds for intercepts, and scales.
ORDINAL_SECTIONS = (
    *CONTINUOUS_SECTIONS[:3],  # latent variables, regressions, covariances
    ("Thresholds:", lambda r: r["op"] == "|"),
    CONTINUOUS_SECTIONS[4],  # variances
    ("Scales y*:", lambda r: r["op"] == "~*~"),
)
#: Multi-group models add the intercepts of the latent responses and the factor means.
GROUP_SECTIONS = (*ORDINAL_SECTIONS[:3], CONTINUOUS_SECTIONS[3], *ORDINAL_SECTIONS[3:])


@dataclass
class OrdinalCFAResult(Result):
    """An ordinal CFA fitted by WLSMV.

    Attributes
    ----------
    model : CFAModel
    parameterization : {"delta", "theta"}
    n_used, n_dropped : int
    fit : dict
        :data:`FIT_KEYS`, then every other measure of :attr:`fit_measures`.
    fit_measures : dict
        Every measure lavaan's ``fitMeasures()`` reports for WLSMV (dots as
        underscores; NaN where lavaan gives NA).
    parameters : pandas.DataFrame
        ``lhs, op, rhs, est, se, z, pvalue, std_all`` and the standardized
        solution's ``std_all_se, std_all_z, std_all_pvalue, std_all_ci_lower,
        std_all_ci_upper`` (lavaan's ``standardizedSolution()``), in lavaan's
        ``parameterEstimates()`` order, thresholds as ``item | t1``.
    thresholds : pandas.Series
        Sample thresholds (``item|t1`` ...).
    polychoric : pandas.DataFrame
        Sample polychoric correlations (lavaan's two-step estimates).
    gamma : numpy.ndarray
        Asymptotic covariance of the sample statistics (lavaan's NACOV).
    notes : list of str
        What was done to the data on the way in (rows left out, how items were treated).
    """

    model: CFAModel
    parameterization: str
    n_used: int
    n_dropped: int
    converged: bool
    iterations: int
    fit: dict[str, Any]
    parameters: pd.DataFrame
    thresholds: pd.Series
    polychoric: pd.DataFrame
    gamma: np.ndarray = field(repr=False)
    fit_measures: dict[str, Any] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)
    estimator: str = "WLSMV"
    missing: str = "listwise"
    notes: list[str] = field(default_factory=list)
    #: Multi-group models: group label -> respondents used (the ``group`` column of ``parameters``).
    groups: dict[Any, int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.parameters.copy()

    def plot(self, path: str | Path | None = None, *, overwrite: bool = False) -> Any:
        """Path diagram of the standardized solution (see :meth:`CFAResult.plot`)."""
        from .plot import path_diagram

        title = f"{self.model.description or 'CFA'} ({self.estimator}, n = {self.n_used})"
        return path_diagram(self.model, self.parameters, path, title=title, overwrite=overwrite)

    def to_dict(self) -> dict[str, Any]:
        """``{"estimator": "WLSMV", "missing", "n_used", "fit", "fit_measures", "parameters", ...}``.

        ``fit`` holds :data:`FIT_KEYS`; ``fit_measures`` every measure lavaan reports (:attr:`fit_measures`);
        with groups, ``groups`` (label -> n) and each parameter's ``group``.
        """
        keys = ["lhs", "op", "rhs", *(["group"] if self.groups else []), "est", "se", "z", "pvalue"]
        keys += [k for k in ("std_all",) if k in self.parameters.columns]
        return jsonable(
            {
                "estimator": self.estimator,
                "missing": self.missing,
                "n_used": self.n_used,
                "parameterization": self.parameterization,
                **({"groups": {str(k): v for k, v in self.groups.items()}} if self.groups else {}),
                "fit": {k: self.fit[k] for k in FIT_KEYS},
                "fit_measures": self.fit_measures,
                "parameters": self.parameters[keys].to_dict("records"),
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def summary(self, digits: int = 3) -> str:
        """A report laid out like lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        fit = self.fit
        w = 54

        def line(label: str, a: Any, b: Any = None) -> str:
            text = "  " + label + format_value(a, digits).rjust(w - 2 - len(label))
            return text + (format_value(b, digits, 12) if b is not None else "")

        record = ESTIMATORS[self.estimator]
        status = "ended normally" if self.converged else "did NOT converge"
        out = [f"Ordinal CFA (lavaan conventions) {status} after {self.iterations} iterations", ""]
        out.append(line("Estimator", record.objective))
        out.append(line("Parameterization", self.parameterization))
        out.append(line("Number of model parameters", fit["npar"]))
        out.append(line("Number of observations", self.n_used))
        for label, n in self.groups.items():
            out.append(line(f"  group {label}", n))
        if self.n_dropped:
            out.append(line("Rows left out (listwise)", self.n_dropped))
        out += ["", "Model Test User Model:", "", "  " + " " * (w - 2 - 11) + "   Standard      Scaled"]
        out.append(line("Test Statistic", fit["chisq"], fit["chisq_scaled"]))
        out.append(line("Degrees of freedom", fit["df"], fit["df_scaled"]))
        out.append(line("P-value (Chi-square)", fit["pvalue"], fit["pvalue_scaled"]))
        out.append(line("Scaling correction factor", "", fit["chisq_scaling_factor"]))
        out.append(line("Shift parameter", "", fit["chisq_shift_parameter"]))
        out.append(f"    {record.test_label}")
        out += ["", "User Model versus Baseline Model:", ""]
        out.append(line("Comparative Fit Index (CFI)", fit["cfi"], fit["cfi_scaled"]))
        out.append(line("Tucker-Lewis Index (TLI)", fit["tli"], fit["tli_scaled"]))
        out += ["", "Root Mean Square Error of Approximation:", ""]
        out.append(line("RMSEA", fit["rmsea"], fit["rmsea_scaled"]))
        for label, key in RMSEA_LINES:
            out.append(line(label, fit.get(key), fit.get(f"{key}_scaled")))
        out += ["", "Robust (catML) indices:", ""]
        out.append(line("Robust Comparative Fit Index (CFI)", fit["cfi_robust"]))
        out.append(line("Robust Tucker-Lewis Index (TLI)", fit["tli_robust"]))
        out.append(line("Robust RMSEA", fit["rmsea_robust"]))
        for label, key in RMSEA_LINES:
            out.append(line(label, fit.get(f"{key}_robust")))
        out += ["", "Standardized Root Mean Square Residual:", ""]
        out.append(line("SRMR", fit["srmr"]))
        out += ["", "Parameter Estimates:", ""]
        out.append(line("Standard errors", record.se_label))
        out.append(line("Information", record.information_label(self.missing)))
        blocks = (
            [(None, self.parameters)]
            if not self.groups
            else list(self.parameters.groupby("group", sort=False))
        )
        for label, rows in blocks:
            if label is not None:
                out += ["", f"Group {label}:"]
            out += parameter_lines(
                rows.to_dict("records"),
                GROUP_SECTIONS if self.groups else ORDINAL_SECTIONS,
                set(self.model.factors),
                (("std_all", "Std.all"),) if "std_all" in rows.columns else (),
                digits,
                blank=lambda r: not r["se"] > 0,
            )
        if self.warnings:
            out += ["", "Warnings:"] + [f"  - {t}" for t in self.warnings]
        if self.notes:
            out += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.summary()


# ====================================================================== fitting


def cfa_ordinal(
    data: pd.DataFrame,
    model: str | CFAModel | Any,
    *,
    parameterization: str = "delta",
    estimator: str = "WLSMV",
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    group_labels: Sequence[Any] | None = None,
) -> OrdinalCFAResult:
    """Fit a CFA to ordinal items by WLSMV, as lavaan's ``cfa(model, data, ordered = TRUE)``.

    With ``group=`` the model is fitted in every group at once, identified as
    Wu & Estabrook (2016) with factors of unit variance, exactly as lavaan fits
    ``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
    group.equal = group_equal)``: thresholds, polychorics and their
    asymptotic covariance per group; ``group_equal`` holds lavaan's
    ``"thresholds"``, ``"loadings"``, ``"intercepts"`` and ``"residuals"``
    (the last only with ``parameterization="theta"``) equal across groups
    (:func:`~sdt_survey.factor.sem.ordinal_partable.wu_estabrook_table`).

    Parameters
    ----------
    data : pandas.DataFrame
        One column per item, integer categories (reverse-keyed items already
        reversed). Rows with a missing model item are left out (listwise).
    model : str, Instrument or CFAModel
        lavaan-style syntax or a model (see :func:`sdt_survey.factor.sem.cfa`).
    parameterization : {"delta", "theta"}
        lavaan's ``parameterization``.
    estimator : str
        An estimator of :data:`~sdt_survey.factor.sem.estimators.ESTIMATORS` for
        ordinal data (``"WLSMV"``).
    group : str, optional
        A column whose values define groups (a multi-group model).
    group_equal : sequence of str
        lavaan's ``group.equal`` (with ``group``).
    group_partial : sequence of str
        lavaan's ``group.partial``: loadings or intercepts left free (``"f=~x2"``, ``"x2~1"``).
    group_labels : sequence, optional
        The groups in order (default: order of first appearance, as lavaan).

    Returns
    -------
    OrdinalCFAResult

    Raises
    ------
    CFAError
        A model, data or option problem (the message says how to fix it).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> latent = rng.normal(size=(300, 1)) * 0.8 + rng.normal(size=(300, 4)) * 0.6
    >>> d = pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=["q1", "q2", "q3", "q4"])
    >>> res = cfa_ordinal(d, "F =~ q1 + q2 + q3 + q4")
    >>> res.fit["df"], res.fit["npar"], res.to_dict()["estimator"]
    (2, 20, 'WLSMV')
    >>> res.parameters.loc[4, ["lhs", "op", "rhs"]].tolist()
    ['q1', '|', 't1']
    >>> d["cohort"] = np.repeat(["A", "B"], 150)
    >>> two = cfa_ordinal(d, "F =~ q1 + q2 + q3 + q4", group="cohort", group_equal=["thresholds", "loadings"])
    >>> two.groups, two.fit["df"], two.fit["npar"]
    ({'A': 150, 'B': 150}, 15, 29)
    """
    model = as_model(model)
    record = estimator_record(estimator, "ordinal")
    if parameterization not in PARAMETERIZATIONS:
        raise CFAError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}")
    if group is not None:
        if isinstance(group_equal, str):
            group_equal = (group_equal,)
        if isinstance(group_partial, str):
            group_partial = (group_partial,)
        prepared = prepare_ordinal_groups(data, model.indicators, group, group_labels)
        table = wu_estabrook_table(
            model,
            len(prepared.labels),
            prepared.n_th,
            parameterization,
            tuple(group_equal),
            tuple(group_partial),
        )
        return grouped_result(model, prepared, fit_ordinal_groups(table, prepared), record.name)
    if group_equal or group_partial:
        raise CFAError("group_equal and group_partial need a group column (group=...)")
    if any(s.op == "~1" for s in model.statements):
        raise CFAError("intercepts and means are fixed to 0 in an ordinal CFA; remove the '~1' statements")
    if model.covariates or model.observed_outcomes:
        observed = ", ".join((*model.covariates, *model.observed_outcomes))
        raise CFAError(
            f"observed variables in regressions ({observed}) are not supported with ordinal items (lavaan "
            "conditions on them, conditional.x); fit the model with estimator='ML' or 'MLR'"
        )
    names = list(model.indicators)
    absent = [v for v in names if v not in data.columns]
    if absent:
        raise CFAError(f"the data have no column for model variable(s): {', '.join(absent)}")
    values = data[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(values).any(axis=1)
    x_data = values[keep]
    n = len(x_data)
    if n < 10:
        raise CFAError(f"only {n} complete row(s); an ordinal CFA needs many more respondents")
    ss = ordinal_sample_stats(x_data, names)

    spec = ordinal_spec(model, parameterization)
    dwls = DWLSObjective(spec, parameterization, ss, n)
    start_model = start_values(spec, [SimpleNamespace(cov=ss.cor, mean=np.zeros(len(names)))])
    x0 = np.concatenate([start_model, ss.th_vector])
    if parameterization == "theta":
        # Thresholds in the theta metric: the standardized ones divided by the start's scale factors.
        x0[dwls.q_model :] = ss.th_vector / dwls.scale(dwls.state(0, x0))[dwls.threshold_item]
    opt = optimize(dwls, x0)
    x, f = opt.x, opt.objective
    problems = []
    if not opt.converged:
        problems.append(
            f"the estimation did not converge ({opt.message or 'stopped'} after {opt.iterations} "
            "iterations); the estimates are not trustworthy"
        )

    # -- standard errors and tests (the estimator's record) -------------------------------
    covariance = record.covariance(dwls, x, opt, False)
    if covariance.reason:
        problems.append(covariance.reason)
    df = len(dwls.obs) - dwls.q
    chisq = (n - 1) * f
    baseline_f, baseline_df = dwls.baseline_objective()
    baseline_chisq = (n - 1) * baseline_f
    p = len(names)
    srmr = math.sqrt(float(np.sum(vech_off(ss.cor - dwls.implied_correlations(x)) ** 2)) / (p * (p + 1) / 2))
    fit = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": float(chi2_sf(chisq, df)) if df > 0 else math.nan,
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "cfi": fit_cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": fit_tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": fit_rmsea(chisq, df, n - 1, 1),
        "srmr": srmr,
        "npar": int(dwls.q),
        "ntotal": int(n),
    }
    if record.robust_test is not None:
        fit.update(record.robust_test(dwls, x, covariance, chisq, df, baseline_chisq, baseline_df, problems))
    implied = dwls.implied(x)
    inputs = FitInputs(
        npar=int(dwls.q),
        ntotal=int(n),
        n=n - 1,
        groups=1,
        chisq=chisq,
        df=int(df),
        baseline_chisq=baseline_chisq,
        baseline_df=int(baseline_df),
        fmin=chisq / (2 * n),  # lavaan reports chisq / (2 n) as fmin
        residuals=ordinal_residual_measures(
            ss.cor, dwls.implied_correlations(x), dwls.obs[: dwls.n_thr] - implied[: dwls.n_thr]
        ),
        gfi=ordinal_gfi(dwls.obs, implied, dwls.weights),
        nel=len(dwls.obs),
        categorical=True,
        scaled=fit.pop("scaled_test", None),
        robust=fit.pop("robust_inputs", None),
    )
    fit_measures = lavaan_fit_measures(inputs)
    fit = {**{k: fit[k] for k in FIT_KEYS}, **fit_measures}
    th_names = [f"{v}|t{k + 1}" for v, t in zip(names, ss.thresholds, strict=True) for k in range(len(t))]
    return OrdinalCFAResult(
        model=model,
        parameterization=parameterization,
        n_used=n,
        n_dropped=int((~keep).sum()),
        converged=opt.converged,
        iterations=opt.iterations,
        fit=fit,
        fit_measures=fit_measures,
        parameters=_parameter_table(dwls, x, covariance.vcov),
        thresholds=pd.Series(ss.th_vector, index=th_names),
        polychoric=pd.DataFrame(ss.cor, index=names, columns=names),
        gamma=ss.gamma,
        warnings=problems,
        estimator=record.name,
    )


def grouped_result(
    model: CFAModel, prepared: GroupedOrdinalData, fitted: GroupedOrdinalFit, estimator: str = "WLSMV"
) -> OrdinalCFAResult:
    """The result of a multi-group ordinal fit (thresholds and polychorics of every group, stacked)."""
    names = list(model.indicators)
    labels = prepared.labels
    th_names = [f"{v}|t{k + 1}" for v, n in zip(names, prepared.n_th, strict=True) for k in range(n)]
    thresholds = pd.Series(
        np.concatenate([s.th_vector for s in prepared.stats]),
        index=pd.MultiIndex.from_product([labels, th_names], names=["group", "threshold"]),
    )
    polychoric = pd.concat(
        [pd.DataFrame(s.cor, index=names, columns=names) for s in prepared.stats],
        keys=labels,
        names=["group", None],
    )
    return OrdinalCFAResult(
        model=model,
        parameterization=fitted.objective.parameterization,
        n_used=int(fitted.objective.n_total),
        n_dropped=prepared.n_dropped,
        converged=fitted.converged,
        iterations=fitted.iterations,
        fit={k: fitted.fit[k] for k in FIT_KEYS},
        parameters=fitted.parameters.drop(columns="free"),
        thresholds=thresholds,
        polychoric=polychoric,
        gamma=linalg.block_diag(*[s.gamma for s in prepared.stats]),
        warnings=list(fitted.warnings),
        estimator=estimator,
        notes=[
            f"groups by {prepared.group!r}, identified as Wu & Estabrook (2016) with factors of unit "
            "variance (semTools::measEq.syntax, ID.cat = 'Wu.Estabrook.2016'); as lavaan, the catML robust "
            "indices (*_robust) exist only without free intercepts, scales or equal thresholds (else NaN)"
        ],
        groups={label: int(s.n) for label, s in zip(labels, prepared.stats, strict=True)},
    )


def _parameter_table(dwls: DWLSObjective, x: np.ndarray, vcov: np.ndarray) -> pd.DataFrame:
    """lavaan's parameterEstimates() of an ordinal CFA: model rows, thresholds, scales, zero intercepts.

    The model rows' estimates, standard errors and std.all are the continuous
    table's (:mod:`~sdt_survey.factor.sem.solution`), with the residual
    variances derived under delta; thresholds are standardized by the items'
    implied SDs.
    """
    spec = dwls.spec
    est = dwls.row_estimates(x)
    model_rows = pd.DataFrame(
        {
            "lhs": spec.lhs,
            "op": spec.op,
            "rhs": spec.rhs,
            "est": est,
            "se": standard_errors(vcov, spec.free),
            "std_all": standardized_solution(spec, dwls, x, "all", est=est),
        }
    )
    st = dwls.state(0, x)
    ov_sd = np.sqrt(np.diag(st.sigma))
    item = dwls.threshold_item
    tau = x[dwls.q_model :]
    thresholds = pd.DataFrame(
        {
            "lhs": [spec.ov[i] for i in item],
            "op": "|",
            "rhs": [f"t{k + 1}" for n_th in dwls.n_th for k in range(n_th)],
            "est": tau,
            "se": standard_errors(vcov, np.arange(dwls.q_model, dwls.q)),
            "std_all": tau / ov_sd[item],
        }
    )
    scales = pd.DataFrame(
        {"lhs": spec.ov, "op": "~*~", "rhs": spec.ov, "est": dwls.scale(st), "se": 0.0, "std_all": 1.0}
    )
    means = pd.DataFrame(
        {"lhs": [*spec.ov, *spec.lv], "op": "~1", "rhs": "", "est": 0.0, "se": 0.0, "std_all": 0.0}
    )
    user = spec.user.astype(bool)

    def std_all(xx: np.ndarray) -> np.ndarray:
        rows = standardized_solution(spec, dwls, xx, "all", est=dwls.row_estimates(xx))
        sd = np.sqrt(np.diag(dwls.state(0, xx).sigma))
        return np.concatenate([rows, xx[dwls.q_model :] / sd[item]])

    std_se = delta_method_se(std_all, x, vcov)
    model_rows["std_all_se"] = std_se[: spec.n_rows]
    thresholds["std_all_se"] = std_se[spec.n_rows :]
    scales["std_all_se"] = means["std_all_se"] = 0.0
    frame = pd.concat([model_rows[user], thresholds, model_rows[~user], scales, means], ignore_index=True)
    if spec.defined:
        est_d, se_d = defined_estimates(spec, x, vcov)
        std_d = defined_standardized(spec, dwls, x, np.full((spec.n_free, spec.n_free), np.nan))["std_all"]
        rows = {"lhs": [d.lhs for d in spec.defined], "op": ":=", "rhs": [d.rhs for d in spec.defined]}
        frame = pd.concat([frame, pd.DataFrame({**rows, "est": est_d, "se": se_d, "std_all": std_d})])
        frame = frame.reset_index(drop=True)
    frame["z"], frame["pvalue"] = wald_tests(frame["est"].to_numpy(), frame["se"].to_numpy())
    std = standardized_tests(frame["std_all"].to_numpy(), frame["std_all_se"].to_numpy())
    frame = frame.assign(**std)
    return frame[["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "std_all_se", *std]]
