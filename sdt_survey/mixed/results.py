"""What a fitted model reports: :class:`ModelResult` and its variance components."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._plots import finish_figure, pyplot
from .._spreadsheet_safe import write_csv
from .._terminal import printable
from ..errors import SdtSurveyError
from ..results import Result, jsonable
from .confint import model_confint
from .inference import LikelihoodRatioTest

if TYPE_CHECKING:  # join.py builds on results.py; the annotation only names the class
    from .join import JoinReport

# =========================================================================== results


@dataclass
class RandomEffectGroup:
    """The random effects of one grouping factor.

    Attributes
    ----------
    grouping : str
        ``program``, ``program:resident``...
    covariance : pandas.DataFrame
        Covariance of the random effects (terms × terms); off-diagonals are 0
        for uncorrelated terms.
    correlated : bool
        Whether the covariances were estimated (``(x|g)``) or fixed at 0 (``(x||g)``).
    n_levels : int
    """

    grouping: str
    covariance: pd.DataFrame
    correlated: bool
    n_levels: int

    @property
    def terms(self) -> list[str]:
        return list(self.covariance.index)

    @property
    def variance(self) -> float:
        """Variance of the intercept (of the first term when there is no intercept)."""
        return float(self.covariance.iat[0, 0])

    @property
    def sd(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    @property
    def correlations(self) -> pd.DataFrame:
        sd = np.sqrt(np.clip(np.diag(self.covariance.to_numpy()), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.covariance.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.covariance.index, columns=self.covariance.columns)

    def to_dict(self) -> dict[str, Any]:
        cov = self.covariance.to_numpy()
        corr = self.correlations.to_numpy()
        terms = self.terms
        return {
            "variance": self.variance,
            "sd": self.sd,
            "terms": {
                t: {"variance": float(cov[i, i]), "sd": math.sqrt(max(cov[i, i], 0))}
                for i, t in enumerate(terms)
            },
            "correlations": {
                f"{terms[i]}:{terms[j]}": _num(corr[i, j])
                for i in range(len(terms))
                for j in range(i)
                if self.correlated
            },
            "correlated": self.correlated,
            "n_levels": self.n_levels,
        }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class ModelResult(Result):
    """A fitted multilevel model.

    Attributes
    ----------
    formula : str
        The formula as given (with the within/between or spline substitution noted in ``fixed_formula``).
    method : {"REML", "ML"}
    n_obs : int
        Rows used.
    n_groups : dict
        Levels of each grouping factor.
    fixed : pandas.DataFrame
        One row per fixed-effect column: ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper`` (95% Wald), ``z`` (Wald z = estimate / se) and ``pvalue``
        (two-sided, normal reference; as statsmodels reports them); then the
        small-sample test of ``ddf``: ``df``, ``t`` and ``p`` (lmerTest's
        ``summary()``; with ``ddf="none"`` df = ∞ and p is the Wald p).
    ddf : {"Satterthwaite", "Kenward-Roger", "none"}
        The method of ``df``/``t``/``p`` and the default of :meth:`anova`.
    random : dict of RandomEffectGroup
        Variance components by grouping factor.
    residual_variance : float
    icc, icc_by_group : float, dict
        Adjusted ICC of the fitted model: random-effect variance over random
        plus residual (fixed effects left out); per grouping factor.
    icc_null, icc_null_by_group : float or None, dict
        The same from the null model (``y ~ 1`` with a random intercept for
        each grouping factor), fitted on the same rows.
    r2_marginal, r2_conditional : float
        Nakagawa & Schielzeth (2013) R²; the random-slope variance is the mean
        of ``z' Σ z`` over rows (Johnson 2014).
    variances : dict
        ``fixed`` (variance of the fixed-effects predictions, n - 1),
        ``random`` and ``residual``: the parts of the R².
    loglik, criterion : float
        Log-likelihood (REML or ML) and ``-2 loglik`` (lme4's REML criterion or deviance).
    aic, bic : float
    lrt : LikelihoodRatioTest or None
        Test of the exposure's fixed terms (ML refits with and without them).
    standardized : pandas.DataFrame or None
        Per exposure term: ``per_sd`` (estimate × SD(x), in units of the
        response) and ``standardized`` (estimate × SD(x) / SD(y)), with 95% CIs.
    curve : pandas.DataFrame or None
        Dose-response of the exposure: ``x``, ``fitted``, ``se``, ``ci_lower``,
        ``ci_upper`` (fixed effects only; other columns at their means).
    vcov : pandas.DataFrame
        Covariance of the fixed effects, ``σ² (X'V⁻¹X)⁻¹`` as lme4's ``vcov()``.
    residuals : numpy.ndarray
        Conditional residuals ``y - Xβ - Zb``.
    conditional_modes : pandas.DataFrame
        The predicted random effects (BLUPs): grouping, level, term, value.
    converged, singular : bool
    warnings : list of str
        Plain-words problems (singular fit, non-convergence, rows left out).
    notes : list of str
        What was done on the way (optimizer retries, refinements).
    family, nagq, theta
        GLMMs (``fit_model(..., family="binomial" | "poisson")``, see
        :mod:`sdt_survey.mixed.glmm`): the family, 1 (Laplace) or the number of
        adaptive Gauss-Hermite nodes, and lme4's θ. For a GLMM ``method`` is
        ``"Laplace"`` or ``"AGQ<n>"``, ``fixed`` is on the link scale (log odds,
        log rates) with Wald z tests, ``residual_variance`` is the
        distribution-specific variance of the Nakagawa et al. (2017) R² (π²/3
        for binomial logit, lognormal for Poisson), ``icc`` is on the latent
        scale and ``criterion`` is lme4's ``-2 logLik``; :attr:`odds_ratios`
        for binomial models.
    """

    formula: str
    fixed_formula: str
    method: str
    n_obs: int
    n_groups: dict[str, int]
    fixed: pd.DataFrame
    random: dict[str, RandomEffectGroup]
    residual_variance: float
    icc: float
    icc_by_group: dict[str, float]
    r2_marginal: float
    r2_conditional: float
    variances: dict[str, float]
    loglik: float
    criterion: float
    aic: float
    bic: float
    converged: bool
    singular: bool
    optimizer: str
    structure: str
    # Defaults after the required fields (Result's class defaults would otherwise count as theirs).
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exposure: list[str] = field(default_factory=list)
    icc_null: float | None = None
    icc_null_by_group: dict[str, float] = field(default_factory=dict)
    lrt: LikelihoodRatioTest | None = None
    standardized: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    curve_variable: str | None = None
    within_between: dict[str, Any] | None = None
    spline: dict[str, Any] | None = None
    join: JoinReport | None = None
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    residuals: np.ndarray | None = field(default=None, repr=False)
    conditional_modes: pd.DataFrame | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False)
    statsmodels_result: Any = field(default=None, repr=False)
    seconds: float = 0.0
    ddf: str = "none"
    ddf_state: Any = field(default=None, repr=False)

    # ----------------------------------------------------------------- small-sample tests
    def anova(self, ddf: str | None = None) -> pd.DataFrame:
        """Type III F tests of the fixed terms, as ``lmerTest::anova(model, ddf=...)``.

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger", "none"}, optional
            Default: the fit's method (``ModelResult.ddf``). ``"none"`` gives
            Wald chi-square tests as F (DenDF = ∞).

        Returns
        -------
        pandas.DataFrame
            One row per term (index ``term``): ``NumDF``, ``DenDF``, ``F``, ``p``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sdt_survey.mixed import fit_model
        >>> rng = np.random.default_rng(3)
        >>> g = np.repeat(np.arange(8), 10)
        >>> d = pd.DataFrame({"g": g, "x": rng.normal(size=80)})
        >>> d["y"] = d["x"] + rng.normal(size=8)[g] + rng.normal(size=80)
        >>> list(fit_model("y ~ x + (1|g)", d).anova().columns)
        ['NumDF', 'DenDF', 'F', 'p']
        """
        from .ddf import normalize_ddf

        if self.ddf_state is None:
            raise SdtSurveyError(
                "this result has no small-sample state (a GLMM, or not made by fit_model): "
                "its fixed effects are tested by Wald z"
            )
        return self.ddf_state.anova(normalize_ddf(ddf or self.ddf))

    @property
    def vcov_kr(self) -> pd.DataFrame:
        """Kenward-Roger adjusted covariance of the fixed effects (``pbkrtest::vcovAdj``; REML fits)."""
        if self.ddf_state is None:
            raise SdtSurveyError("this result has no small-sample state (a GLMM, or not made by fit_model)")
        names = list(self.fixed.index)
        return pd.DataFrame(self.ddf_state.kenward_roger.phi_adj, index=names, columns=names)

    #: "gaussian" (linear mixed model) or a GLMM family ("binomial", "poisson"); see mixed.glmm.
    family: str = "gaussian"
    #: GLMMs: 1 for the Laplace approximation, more for adaptive Gauss-Hermite quadrature.
    nagq: int | None = None
    #: GLMMs: lme4's relative covariance parameters θ (random-effect SDs for scalar terms).
    theta: np.ndarray | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- GLMMs
    @property
    def odds_ratios(self) -> pd.DataFrame:
        """Binomial GLMMs: ``exp`` of the fixed effects with their 95% Wald intervals.

        Columns ``odds_ratio``, ``ci_lower``, ``ci_upper`` (``exp`` of lme4's
        ``confint(fit, method = "Wald")``), ``pvalue``. The intercept row is the odds of
        the outcome when every predictor is 0, for a program whose random effect is 0.
        """
        if self.family != "binomial":
            raise SdtSurveyError(
                f"odds ratios are for binomial models (family='binomial'); this model is {self.family}"
                + ("" if self.family == "gaussian" else ": exp(estimate) is a rate ratio")
            )
        f = self.fixed
        return pd.DataFrame(
            {
                "odds_ratio": np.exp(f["estimate"]),
                "ci_lower": np.exp(f["ci_lower"]),
                "ci_upper": np.exp(f["ci_upper"]),
                "pvalue": f["pvalue"],
            },
            index=f.index,
        )

    # The design and the fit on lme4's criterion, for intervals that refit (profile, bootstrap).
    fit_state: Any = field(default=None, repr=False, compare=False)
    #: Confidence intervals attached by :meth:`confint` with ``attach=True`` (shown and exported).
    intervals: pd.DataFrame | None = field(default=None, repr=False)

    # ----------------------------------------------------------------- intervals
    def confint(
        self,
        method: str = "profile",
        *,
        level: float = 0.95,
        nsim: int = 500,
        seed: int | None = None,
        n_jobs: int = 1,
        attach: bool = False,
    ) -> pd.DataFrame:
        """Wald, profile or parametric-bootstrap intervals, as lme4's ``confint(method=...)``.

        See :func:`sdt_survey.mixed.confint.model_confint` (rows ``.sig01 ... .sigma``
        then the fixed effects; columns ``parameter``, ``estimate``, ``lower``, ``upper``).
        With ``attach=True`` the table is also kept as ``intervals``: :meth:`summary`
        prints it and :meth:`to_dict` exports it.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from sdt_survey.mixed import fit_model
        >>> rng = np.random.default_rng(5)
        >>> g = np.repeat(np.arange(10), 8)
        >>> y = 1 + np.repeat(rng.normal(0, 1, 10), 8) + rng.normal(0, 1, 80)
        >>> m = fit_model("y ~ 1 + (1|g)", pd.DataFrame({"y": y, "g": g}), lrt=False, null_model=False)
        >>> m.confint("Wald").loc["(Intercept)", ["lower", "upper"]].round(2).tolist()
        [0.28, 1.31]
        """
        table = model_confint(self, method, level=level, nsim=nsim, seed=seed, n_jobs=n_jobs)
        if attach:
            self.intervals = table
        return table

    # ----------------------------------------------------------------- tables
    def to_frame(self) -> pd.DataFrame:
        """The fixed-effects table (a copy)."""
        return self.fixed.copy()

    def _csv_text(self) -> str:
        # The fixed-effects table is indexed by term: the CSV keeps the term as its first column.
        return write_csv(self.to_frame().reset_index(), index=False)

    def random_frame(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor."""
        rows = []
        for name, group in self.random.items():
            cov = group.covariance.to_numpy()
            corr = group.correlations.to_numpy()
            terms = group.terms
            for i, t in enumerate(terms):
                rows.append((name, t, None, cov[i, i], math.sqrt(max(cov[i, i], 0))))
            if group.correlated:
                for i in range(len(terms)):
                    for j in range(i + 1, len(terms)):
                        rows.append((name, terms[i], terms[j], cov[i, j], corr[i, j]))
        if self.family == "gaussian":
            rows.append(("Residual", None, None, self.residual_variance, math.sqrt(self.residual_variance)))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results (the contract keys first), through :func:`sdt_survey.results.jsonable`."""
        fixed = {
            term: {
                k: _num(row[k])
                for k in ("estimate", "se", "ci_lower", "ci_upper", "z", "pvalue", "df", "t", "p")
                if k in row
            }
            for term, row in self.fixed.iterrows()
        }
        return jsonable(
            {
                "formula": self.formula,
                "method": self.method,
                "n_obs": self.n_obs,
                "n_groups": self.n_groups,
                "fixed": fixed,
                "random": {name: group.to_dict() for name, group in self.random.items()},
                "residual_variance": self.residual_variance,
                "icc": _num(self.icc),
                "r2_marginal": _num(self.r2_marginal),
                "r2_conditional": _num(self.r2_conditional),
                "converged": self.converged,
                "warnings": list(self.warnings),
                "fixed_formula": self.fixed_formula,
                "icc_by_group": self.icc_by_group,
                "icc_null": None if self.icc_null is None else _num(self.icc_null),
                "icc_null_by_group": self.icc_null_by_group,
                "variances": self.variances,
                "loglik": self.loglik,
                "criterion": self.criterion,
                "aic": self.aic,
                "bic": self.bic,
                "singular": self.singular,
                "notes": list(self.notes),
                "optimizer": self.optimizer,
                "structure": self.structure,
                "exposure": self.exposure,
                "ddf": self.ddf,
                "lrt": None if self.lrt is None else self.lrt.to_dict(),
                "standardized": None
                if self.standardized is None
                else {t: {k: _num(v) for k, v in row.items()} for t, row in self.standardized.iterrows()},
                "within_between": self.within_between,
                "spline": self.spline,
                "curve": None
                if self.curve is None
                else {
                    "variable": self.curve_variable,
                    **{c: self.curve[c].tolist() for c in self.curve.columns},
                },
                "join": None if self.join is None else self.join.to_dict(),
                "family": self.family,
                "nagq": self.nagq,
                "odds_ratios": None
                if self.family != "binomial"
                else {t: {k: _num(v) for k, v in row.items()} for t, row in self.odds_ratios.iterrows()},
                "intervals": None if self.intervals is None else _intervals_dict(self.intervals),
            }
        )

    # ----------------------------------------------------------------- printing
    def summary(self) -> str:
        """An lme4-like printout."""
        glmm = self.family != "gaussian"
        lines = [
            f"Linear mixed model fit by {self.method} (statsmodels MixedLM, {self.optimizer}; "
            "checked on lme4's profiled criterion)"
            if not glmm
            else f"Generalized linear mixed model fit by maximum likelihood "
            f"({_GLMM_METHOD.get(self.method, self.method)}) as lme4::glmer; family: {self.family} "
            f"({'logit' if self.family == 'binomial' else 'log'} link)",
            f"Formula: {self.formula}",
        ]
        if self.fixed_formula != self.formula:
            lines.append(f"Fitted as: {self.fixed_formula}")
        lines.append("")
        label = "REML criterion at convergence" if self.method == "REML" else "deviance"
        label = "-2 logLik" if glmm else label
        lines.append(f"     AIC      BIC   logLik  {label}")
        lines.append(f"{self.aic:>8.1f} {self.bic:>8.1f} {self.loglik:>8.1f}  {self.criterion:.1f}")
        if self.residuals is not None and len(self.residuals) and not glmm:
            q = np.quantile(self.residuals / math.sqrt(self.residual_variance), [0, 0.25, 0.5, 0.75, 1])
            lines += ["", "Scaled residuals:", "    Min      1Q  Median      3Q     Max"]
            lines.append(" ".join(f"{v:>7.4f}" for v in q))
        lines += ["", "Random effects:"]
        frame = self.random_frame()
        # Group and term names carry factor levels from the data: control characters escaped.
        width = max(8, *(len(printable(g)) for g in frame["grp"]))
        tw = max(11, *(len(printable(t)) for t in frame["var1"].dropna()), 0)
        lines.append(f" {'Groups':<{width}} {'Name':<{tw}} {'Variance':>9} {'Std.Dev.':>9}  Corr")
        for name, group in self.random.items():
            corr = group.correlations.to_numpy()
            for i, term in enumerate(group.terms):
                var = group.covariance.iat[i, i]
                cor = " ".join(f"{corr[i, j]:>5.2f}" for j in range(i)) if group.correlated else ""
                shown = printable(name) if i == 0 else ""
                sd = math.sqrt(max(var, 0))
                lines.append(f" {shown:<{width}} {printable(term):<{tw}} {var:>9.5f} {sd:>9.5f}  {cor}")
        if not glmm:
            lines.append(
                f" {'Residual':<{width}} {'':<{tw}} {self.residual_variance:>9.5f} "
                f"{math.sqrt(self.residual_variance):>9.5f}"
            )
        groups = ", ".join(f"{k}, {v}" for k, v in self.n_groups.items())
        lines.append(f"Number of obs: {self.n_obs}, groups:  {groups}")
        tw = max(11, *(len(printable(t)) for t in self.fixed.index))
        if self.ddf != "none" and "df" in self.fixed:
            lines += ["", f"Fixed effects (t tests, {self.ddf} df; 95% Wald CI):"]
            lines.append(
                f"{'':<{tw}} {'Estimate':>9} {'Std.Error':>9} {'df':>8} {'t value':>8} {'Pr(>|t|)':>9} "
                f"{'2.5 %':>8} {'97.5 %':>8}"
            )
            for term, row in self.fixed.iterrows():
                lines.append(
                    f"{printable(term):<{tw}} {row['estimate']:>9.4f} {row['se']:>9.4f} "
                    f"{row['df']:>8.2f} {row['t']:>8.3f} {_pformat(row['p']):>9} "
                    f"{row['ci_lower']:>8.4f} {row['ci_upper']:>8.4f}"
                )
        else:
            lines += ["", "Fixed effects (Wald z, 95% Wald CI):"]
            lines.append(
                f"{'':<{tw}} {'Estimate':>9} {'Std.Error':>9} {'z value':>8} {'Pr(>|z|)':>9} "
                f"{'2.5 %':>8} {'97.5 %':>8}"
            )
            for term, row in self.fixed.iterrows():
                lines.append(
                    f"{printable(term):<{tw}} {row['estimate']:>9.4f} {row['se']:>9.4f} {row['z']:>8.3f} "
                    f"{_pformat(row['pvalue']):>9} {row['ci_lower']:>8.4f} {row['ci_upper']:>8.4f}"
                )
        if self.family == "binomial":
            lines += ["", "Odds ratios (exp of the estimates, 95% Wald CI):"]
            for term, row in self.odds_ratios.iterrows():
                lines.append(
                    f"{printable(term):<{tw}} {row['odds_ratio']:>9.4f} "
                    f"({row['ci_lower']:.4f} to {row['ci_upper']:.4f})"
                )
        lines.append("")
        icc = f"ICC (adjusted{', latent scale' if glmm else ''}): {self.icc:.3f}"
        if len(self.icc_by_group) > 1:
            icc += " (" + ", ".join(f"{k} {v:.3f}" for k, v in self.icc_by_group.items()) + ")"
        if self.icc_null is not None:
            icc += f"; null-model ICC: {self.icc_null:.3f}"
        lines.append(icc)
        r2_how = (
            "Nakagawa & Schielzeth; Johnson 2014 for random slopes"
            if not glmm
            else "Nakagawa, Johnson & Schielzeth 2017, "
            + ("theoretical, pi^2/3" if self.family == "binomial" else "lognormal")
        )
        lines.append(
            f"R2 marginal: {self.r2_marginal:.3f}, conditional: {self.r2_conditional:.3f} ({r2_how})"
        )
        if self.lrt is not None:
            lines.append(
                f"Likelihood-ratio test of {', '.join(self.exposure)} "
                f"({'refits' if glmm else 'ML refits'}, dropping "
                f"{', '.join(self.lrt.dropped)}): chisq({self.lrt.df}) = {self.lrt.chisq:.3f}, "
                f"p = {_pformat(self.lrt.pvalue)}"
            )
        if self.standardized is not None and len(self.standardized):
            for term, row in self.standardized.iterrows():
                lines.append(
                    f"Effect of one SD of {term}: {row['per_sd']:+.3f} "
                    f"(95% CI {row['per_sd_ci_lower']:+.3f} to "
                    f"{row['per_sd_ci_upper']:+.3f}) on the response; standardized {row['standardized']:+.3f}"
                )
        if self.intervals is not None:
            lines += ["", *_intervals_lines(self.intervals)]
        if self.join is not None:
            lines.append(
                f"Join: {self.join.n_matched} of {self.join.n_scores} score rows matched an exposure row "
                f"(on {', '.join(self.join.keys)})"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    # ----------------------------------------------------------------- plot
    def plot(self, path: str | Path | None = None, *, ax=None, rug: bool = True, overwrite: bool = False):
        """Plot the dose-response curve with its 95% band (matplotlib, Agg backend).

        Parameters
        ----------
        path : path, optional
            Write the figure (``.png``, ``.svg``, ``.pdf``); return the path.
        ax : matplotlib Axes, optional
            Draw into these axes instead of a new figure.
        overwrite : bool
            Replace an existing ``path`` (otherwise it is an error).

        Returns
        -------
        pathlib.Path or matplotlib.figure.Figure
        """
        if self.curve is None:
            raise SdtSurveyError(
                "this model has no dose-response curve (its exposure is not in the fixed part)"
            )
        plt = pyplot()
        fig = None
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        c = self.curve
        ax.fill_between(c["x"], c["ci_lower"], c["ci_upper"], alpha=0.25, color="tab:blue", label="95% CI")
        ax.plot(c["x"], c["fitted"], color="tab:blue", label="fitted")
        if rug and self.data is not None and self.curve_variable in self.data:
            x = self.data[self.curve_variable].to_numpy(dtype=float)
            ax.plot(x, np.full_like(x, c["ci_lower"].min()), "|", color="0.4", alpha=0.4, markersize=8)
        response = self.formula.split("~")[0].strip()
        ax.set_xlabel(self.curve_variable or "exposure")
        ax.set_ylabel(f"{response} (fixed effects)")
        kind = f"natural spline, df={self.spline['df']}" if self.spline else "linear"
        ax.set_title(f"Dose-response ({kind})")
        ax.legend(loc="best", frameon=False)
        if fig is None:
            return ax.figure
        return finish_figure(fig, path, overwrite=overwrite)


_GLMM_METHOD = {"Laplace": "Laplace approximation"} | {
    f"AGQ{k}": f"adaptive Gauss-Hermite quadrature, nAGQ = {k}" for k in range(2, 26)
}


def _intervals_dict(table: pd.DataFrame) -> dict[str, Any]:
    keep = ("method", "level", "nsim", "seed", "failed", "notes")
    return {
        **{k: table.attrs[k] for k in keep if k in table.attrs},
        "parameters": {
            name: {"parameter": row["parameter"], **{k: _num(row[k]) for k in ("estimate", "lower", "upper")}}
            for name, row in table.iterrows()
        },
    }


def _intervals_lines(table: pd.DataFrame) -> list[str]:
    method = table.attrs.get("method", "")
    level = table.attrs.get("level", 0.95)
    what = {"Wald": "Wald", "profile": "profile likelihood", "boot": "parametric bootstrap, percentile"}
    head = f"Confidence intervals ({what.get(method, method)}, {100 * level:g}%"
    if method == "boot":
        head += f", {table.attrs.get('nsim')} resamples, seed {table.attrs.get('seed')}"
    lines = [head + "):"]
    w = max(12, *(len(printable(p)) for p in table["parameter"]))
    lines.append(f" {'':<7} {'':<{w}} {'estimate':>10} {'lower':>10} {'upper':>10}")
    for name, row in table.iterrows():
        cells = " ".join(
            "        NA" if not np.isfinite(row[k]) else f"{row[k]:>10.4f}"
            for k in ("estimate", "lower", "upper")
        )
        lines.append(f" {printable(str(name)):<7} {printable(row['parameter']):<{w}} {cells}")
    lines += [f"note: {n}" for n in table.attrs.get("notes", [])]
    return lines


def _pformat(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    if p < 2e-16:
        return "<2e-16"
    return f"{p:.2g}" if p < 1e-3 else f"{p:.4f}"
