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

The model is a :class:`~sdt_survey.factor.sem.CFAModel` and its parameter table
comes from :mod:`sdt_survey.factor.sem.spec`; the items must be ordinal (a few
integer categories each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import CFAError
from ...results import Result, jsonable
from .estimators import ESTIMATORS
from .fit import fit_cfi, fit_rmsea, fit_tli
from .ordinal_stats import ordinal_sample_stats, vech_off
from .spec import BETA, LAMBDA, PSI, THETA, CFAModel, Spec, as_model, build_spec, check_identification
from .start import start_values
from .tests import catml_robust_measures, scaled_shifted

__all__ = ["OrdinalCFAResult", "cfa_ordinal"]

PARAMETERIZATIONS = ("delta", "theta")
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


# ===================================================================== model


@dataclass
class _OrdinalModel:
    """The parameter table (from cfa.py) with thresholds, and the implied (thresholds, correlations)."""

    spec: Spec
    parameterization: str
    n_th: list[int]
    q_model: int  # free parameters of the factor model (thresholds follow)

    @property
    def q(self) -> int:
        return self.q_model + sum(self.n_th)

    def __post_init__(self) -> None:
        spec = self.spec
        # Rows filling each matrix, as index arrays (values: free parameter or fixed value).
        self._fill = {}
        for code in (LAMBDA, BETA, PSI, THETA):
            rows = np.flatnonzero((spec.mat == code) & ~((spec.free < 0) & np.isnan(spec.value)))
            self._fill[code] = (spec.row[rows], spec.col[rows], spec.free[rows], spec.value[rows])

    def matrices(self, x: np.ndarray):
        spec = self.spec
        p, m = len(spec.ov), len(spec.lv)
        lam, beta, psi, theta = np.zeros((p, m)), np.zeros((m, m)), np.zeros((m, m)), np.zeros((p, p))
        for code, mat in ((LAMBDA, lam), (BETA, beta), (PSI, psi), (THETA, theta)):
            r, c, free, fixed = self._fill[code]
            vals = np.where(free >= 0, x[np.maximum(free, 0)], fixed)
            mat[r, c] = vals
            if code in (PSI, THETA):
                mat[c, r] = vals
        inv_ib = np.linalg.inv(np.eye(m) - beta) if beta.any() else np.eye(m)
        lv_cov = inv_ib @ psi @ inv_ib.T
        common = lam @ lv_cov @ lam.T
        if self.parameterization == "delta":
            theta[np.diag_indices(p)] = 1.0 - np.diag(common)
            scale = np.ones(p)
        else:
            scale = 1.0 / np.sqrt(np.diag(common) + np.diag(theta))
        sigma = common + theta
        return lam, lv_cov, theta, sigma, scale

    def implied(self, x: np.ndarray) -> np.ndarray:
        _, _, _, sigma, scale = self.matrices(x)
        tau = x[self.q_model :]
        reps = np.repeat(scale, self.n_th)
        cor = sigma * np.outer(scale, scale)
        return np.concatenate([tau * reps, vech_off(cor)])

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        base = self.implied(x)
        jac = np.empty((len(base), len(x)))
        for t in range(len(x)):
            h = 1e-6 * max(1.0, abs(x[t]))
            up, down = x.copy(), x.copy()
            up[t] += h
            down[t] -= h
            jac[:, t] = (self.implied(up) - self.implied(down)) / (2 * h)
        return jac


def _ordinal_spec(model: CFAModel, parameterization: str) -> Spec:
    spec = build_spec(model, 1, meanstructure=False)
    check_identification(spec, False)
    ov = set(spec.ov)
    free = spec.free.copy()
    value = spec.value.copy()
    for k in range(spec.n_rows):
        if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in ov:
            if spec.free[k] >= 0 and spec.user[k]:
                raise CFAError(
                    f"'{spec.lhs[k]} ~~ {spec.rhs[k]}': the residual variance of an ordinal item is not a "
                    "free parameter (delta: 1 - R^2; theta: fixed to 1)"
                )
            free[k] = -1
            value[k] = np.nan if parameterization == "delta" else 1.0
    used = sorted({int(f) for f in free if f >= 0})
    renumber = {old: new for new, old in enumerate(used)}
    free = np.array([renumber[f] if f >= 0 else -1 for f in free], dtype=int)
    spec.free = free
    spec.value = value
    spec.n_free = len(used)
    spec.start = np.where(free >= 0, spec.start, np.nan)
    return spec


# ================================================================== estimation


def _dwls(om: _OrdinalModel, obs: np.ndarray, w: np.ndarray, x0: np.ndarray, max_iter: int = 200):
    """Gauss-Newton with a backtracking line search on F = (s - sigma)' W (s - sigma)."""

    def objective(x: np.ndarray) -> float:
        try:
            r = obs - om.implied(x)
        except (np.linalg.LinAlgError, FloatingPointError):
            return math.inf
        value = float(r @ (w * r))
        return value if math.isfinite(value) else math.inf

    x = x0.copy()
    f = objective(x)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        jac = om.jacobian(x)
        r = obs - om.implied(x)
        grad = jac.T @ (w * r)
        info = jac.T @ (w[:, None] * jac)
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        decrement = float(grad @ step)
        if decrement < 1e-16 or np.abs(step).max() < 1e-9:
            converged = True
            break
        t = 1.0
        while t > 1e-10:
            f_new = objective(x + t * step)
            if f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
        else:
            converged = decrement < 1e-12
            break
        x = x + t * step
        f = f_new
    return x, f, converged, iterations


# ===================================================================== results


@dataclass
class OrdinalCFAResult(Result):
    """An ordinal CFA fitted by WLSMV.

    Attributes
    ----------
    model : CFAModel
    parameterization : {"delta", "theta"}
    n_used, n_dropped : int
    fit : dict
        lavaan's fit measures (see :data:`FIT_KEYS`; dots as underscores).
    parameters : pandas.DataFrame
        ``lhs, op, rhs, est, se, z, pvalue, std_all`` in lavaan's
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
    warnings: list[str] = field(default_factory=list)
    estimator: str = "WLSMV"
    missing: str = "listwise"
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.parameters.copy()

    def to_dict(self) -> dict[str, Any]:
        """``{"estimator": "WLSMV", "missing", "n_used", "fit", "parameters", "warnings", "notes"}``."""
        keys = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]
        return jsonable(
            {
                "estimator": self.estimator,
                "missing": self.missing,
                "n_used": self.n_used,
                "parameterization": self.parameterization,
                "fit": {k: self.fit[k] for k in FIT_KEYS},
                "parameters": self.parameters[keys].to_dict("records"),
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def summary(self, digits: int = 3) -> str:
        """A report laid out like lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        fit = self.fit
        w = 54

        def fmt(v: Any, width: int = 0) -> str:
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                text = ""
            elif isinstance(v, (int, np.integer, str)):
                text = str(v)
            else:
                text = f"{v:.{digits}f}"
            return text.rjust(width) if width else text

        def line(label: str, a: Any, b: Any = None) -> str:
            text = "  " + label + fmt(a).rjust(w - 2 - len(label))
            return text + (fmt(b, 12) if b is not None else "")

        record = ESTIMATORS[self.estimator]
        status = "ended normally" if self.converged else "did NOT converge"
        out = [f"Ordinal CFA (lavaan conventions) {status} after {self.iterations} iterations", ""]
        out.append(line("Estimator", record.objective))
        out.append(line("Parameterization", self.parameterization))
        out.append(line("Number of model parameters", fit["npar"]))
        out.append(line("Number of observations", self.n_used))
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
        out += ["", "Robust (catML) indices:", ""]
        out.append(line("Robust Comparative Fit Index (CFI)", fit["cfi_robust"]))
        out.append(line("Robust Tucker-Lewis Index (TLI)", fit["tli_robust"]))
        out.append(line("Robust RMSEA", fit["rmsea_robust"]))
        out += ["", "Standardized Root Mean Square Residual:", ""]
        out.append(line("SRMR", fit["srmr"]))
        out += ["", "Parameter Estimates:", ""]
        out.append(line("Standard errors", record.se_label))
        out.append(line("Information", record.information_label(self.missing)))
        head = f"{'':20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}{'Std.all':>9}"
        sections = [
            ("Latent Variables:", lambda r: r["op"] == "=~"),
            ("Regressions:", lambda r: r["op"] == "~"),
            ("Covariances:", lambda r: r["op"] == "~~" and r["lhs"] != r["rhs"]),
            ("Thresholds:", lambda r: r["op"] == "|"),
            ("Variances:", lambda r: r["op"] == "~~" and r["lhs"] == r["rhs"]),
            ("Scales y*:", lambda r: r["op"] == "~*~"),
        ]
        records = self.parameters.to_dict("records")
        for title, keep in sections:
            chosen = [r for r in records if keep(r)]
            if not chosen:
                continue
            out += ["", title, head]
            current = None
            for r in chosen:
                if r["op"] in ("=~", "~") or (r["op"] == "~~" and r["lhs"] != r["rhs"]):
                    if r["lhs"] != current:
                        current = r["lhs"]
                        out.append(f"  {r['lhs']} {r['op']}")
                    name = "    " + r["rhs"]
                elif r["op"] == "|":
                    name = f"    {r['lhs']}|{r['rhs']}"
                else:
                    name = "   ." + r["lhs"] if r["lhs"] in self.model.indicators else "    " + r["lhs"]
                text = name[:20].ljust(20) + fmt(r["est"], 9)
                if r["se"] > 0:
                    text += fmt(r["se"], 9) + fmt(r["z"], 9) + fmt(r["pvalue"], 9)
                else:
                    text += " " * 27
                out.append((text + fmt(r["std_all"], 9)).rstrip())
        if self.warnings:
            out += ["", "Warnings:"] + [f"  - {t}" for t in self.warnings]
        if self.notes:
            out += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.summary()


# ====================================================================== fitting


def cfa_ordinal(
    data: pd.DataFrame, model: str | CFAModel | Any, *, parameterization: str = "delta"
) -> OrdinalCFAResult:
    """Fit a CFA to ordinal items by WLSMV, as lavaan's ``cfa(model, data, ordered = TRUE)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One column per item, integer categories (reverse-keyed items already
        reversed). Rows with a missing model item are left out (listwise).
    model : str, Instrument or CFAModel
        lavaan-style syntax or a model (see :func:`sdt_survey.factor.sem.cfa`).
    parameterization : {"delta", "theta"}
        lavaan's ``parameterization``.

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
    """
    model = as_model(model)
    if parameterization not in PARAMETERIZATIONS:
        raise CFAError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)}")
    if any(s.op == "~1" for s in model.statements):
        raise CFAError("intercepts and means are fixed to 0 in an ordinal CFA; remove the '~1' statements")
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

    spec = _ordinal_spec(model, parameterization)
    n_th = [len(t) for t in ss.thresholds]
    om = _OrdinalModel(spec, parameterization, n_th, spec.n_free)
    start_model = start_values(spec, [SimpleNamespace(cov=ss.cor, mean=np.zeros(len(names)))])
    x0 = np.concatenate([start_model, ss.th_vector])
    if parameterization == "theta":
        # Thresholds in the theta metric: the standardized ones divided by the start's scale factors.
        _, _, _, _, scale = om.matrices(x0)
        x0[om.q_model :] = ss.th_vector / np.repeat(scale, n_th)
    obs = ss.obs
    w = 1.0 / np.diag(ss.gamma)
    x, f, converged, iterations = _dwls(om, obs, w, x0)
    problems = []
    if not converged:
        problems.append(f"the estimation did not converge after {iterations} iterations")

    # -- standard errors and tests -------------------------------------------------------
    jac = om.jacobian(x)
    wd = w[:, None] * jac
    info = jac.T @ wd
    info_inv = np.linalg.inv(info)
    gamma = ss.gamma
    vcov = info_inv @ (wd.T @ gamma @ wd) @ info_inv / (n - 1)
    u = np.diag(w) - wd @ info_inv @ wd.T
    n_stats = len(obs)
    df = n_stats - om.q
    chisq = (n - 1) * f
    chisq_scaled, scaling, shift = scaled_shifted(u @ gamma, chisq, df)

    n_thr = int(sum(n_th))
    r_obs = obs[n_thr:]
    baseline_chisq = (n - 1) * float(np.sum(w[n_thr:] * r_obs**2))
    baseline_df = len(r_obs)
    u_base = np.zeros_like(u)
    u_base[n_thr:, n_thr:] = np.diag(w[n_thr:])
    baseline_scaled, _, _ = scaled_shifted(u_base @ gamma, baseline_chisq, baseline_df)

    lam, lv_cov, theta, sigma, scale = om.matrices(x)
    p = len(names)
    implied_cor = sigma * np.outer(scale, scale)
    resid = ss.cor - implied_cor
    srmr = math.sqrt(float(np.sum(vech_off(resid) ** 2)) / (p * (p + 1) / 2))
    fit = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan,
        "chisq_scaled": chisq_scaled,
        "df_scaled": int(df),
        "pvalue_scaled": float(stats.chi2.sf(chisq_scaled, df)) if df > 0 else math.nan,
        "chisq_scaling_factor": scaling,
        "chisq_shift_parameter": shift,
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "baseline_chisq_scaled": baseline_scaled,
        "cfi": fit_cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": fit_tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": fit_rmsea(chisq, df, n - 1, 1),
        "cfi_scaled": fit_cfi(chisq_scaled, df, baseline_scaled, baseline_df),
        "tli_scaled": fit_tli(chisq_scaled, df, baseline_scaled, baseline_df),
        "rmsea_scaled": fit_rmsea(chisq_scaled, df, n - 1, 1),
        **catml_robust_measures(ss.cor, implied_cor, jac, w, info_inv, gamma, n, int(df)),
        "srmr": srmr,
        "npar": int(om.q),
        "ntotal": int(n),
    }
    table = _parameter_table(om, ss, x, vcov, lam, lv_cov, theta, sigma, scale)
    th_names = [f"{v}|t{k + 1}" for v, t in zip(names, ss.thresholds, strict=True) for k in range(len(t))]
    return OrdinalCFAResult(
        model=model,
        parameterization=parameterization,
        n_used=n,
        n_dropped=int((~keep).sum()),
        converged=converged,
        iterations=iterations,
        fit=fit,
        parameters=table,
        thresholds=pd.Series(ss.th_vector, index=th_names),
        polychoric=pd.DataFrame(ss.cor, index=names, columns=names),
        gamma=gamma,
        warnings=problems,
    )


def _parameter_table(om, ss, x, vcov, lam, lv_cov, theta, sigma, scale) -> pd.DataFrame:
    spec = om.spec
    lv_index = {f: i for i, f in enumerate(spec.lv)}
    ov_index = {v: i for i, v in enumerate(spec.ov)}
    se_all = np.sqrt(np.abs(np.diag(vcov)))
    lv_sd = np.sqrt(np.abs(np.diag(lv_cov)))
    ov_sd = np.sqrt(np.diag(sigma))
    est_all = np.where(spec.free >= 0, x[np.maximum(spec.free, 0)], spec.value)
    psi_var = {
        spec.lhs[k]: est_all[k]
        for k in range(spec.n_rows)
        if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in lv_index
    }
    rows: list[dict[str, Any]] = []

    def add(lhs, op, rhs, est, se, std):
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "est": est, "se": se, "std_all": std})

    def model_row(k: int) -> None:
        lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
        est = est_all[k]
        if op == "~~" and lhs == rhs and lhs in ov_index:
            i = ov_index[lhs]
            est = theta[i, i]
        se = se_all[spec.free[k]] if spec.free[k] >= 0 else 0.0
        if op == "=~":
            j = lv_index[lhs]
            den = ov_sd[ov_index[rhs]] if rhs in ov_index else lv_sd[lv_index[rhs]]
            std = est * lv_sd[j] / den
        elif op == "~":
            std = est * lv_sd[lv_index[rhs]] / lv_sd[lv_index[lhs]]
        elif op == "~~" and lhs in lv_index:
            a, b = lv_index[lhs], lv_index[rhs]
            std = est / lv_cov[a, a] if a == b else est / math.sqrt(abs(psi_var[lhs] * psi_var[rhs]))
        else:
            a, b = ov_index[lhs], ov_index[rhs]
            std = est / (ov_sd[a] * ov_sd[b]) if a == b else est / math.sqrt(abs(theta[a, a] * theta[b, b]))
        add(lhs, op, rhs, est, se, std)

    user = [k for k in range(spec.n_rows) if spec.user[k]]
    auto = [k for k in range(spec.n_rows) if not spec.user[k]]
    for k in user:
        model_row(k)
    pos = om.q_model
    for v, t in zip(spec.ov, ss.thresholds, strict=True):
        i = ov_index[v]
        for k in range(len(t)):
            add(v, "|", f"t{k + 1}", x[pos], se_all[pos], x[pos] / ov_sd[i])
            pos += 1
    for k in auto:
        model_row(k)
    for i, v in enumerate(spec.ov):
        add(v, "~*~", v, scale[i], 0.0, 1.0)
    for v in spec.ov:
        add(v, "~1", "", 0.0, 0.0, 0.0)
    for f in spec.lv:
        add(f, "~1", "", 0.0, 0.0, 0.0)
    frame = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["z"] = np.where(frame["se"] > 0, frame["est"] / frame["se"], np.nan)
    frame["pvalue"] = 2 * stats.norm.sf(np.abs(frame["z"]))
    return frame[["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]]
