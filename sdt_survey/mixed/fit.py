"""Fitting a model: :func:`fit_model`, from formula and data to :class:`ModelResult`."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelFitError, ModelFormulaError, SdtSurveyError
from .ddf import DDFState, normalize_ddf
from .design import _Block, _build_design, _Design
from .family import outcome_family_hint
from .formula import parse_formula
from .glmm import fit_glmm
from .inference import _curve, _fixed_table, likelihood_ratio_test, standardized_effects
from .optimize import OPTIMIZERS, _CoreFit, _fit_core, _guarded
from .prepare import _exposure_variables, _parse_spline, _prepare
from .results import ModelResult, RandomEffectGroup
from .terms import _factor_names, _term_codes, _terms_involving

CURVE_POINTS = 51


def _variance_parts(design: _Design, core: _CoreFit, random: dict[str, RandomEffectGroup]) -> dict[str, Any]:
    fitted_fixed = design.X @ core.beta
    var_fixed = float(np.var(fitted_fixed, ddof=1)) if design.n > 1 else 0.0
    by_group: dict[str, float] = {}
    for name, group in random.items():
        cov = group.covariance.to_numpy()
        blocks = [b for b in design.blocks if b.grouping == name]
        Z = np.column_stack([b.values for b in blocks])
        by_group[name] = float(np.mean(np.einsum("ij,jk,ik->i", Z, cov, Z)))
    return {"fixed": var_fixed, "random": float(sum(by_group.values())), "by_group": by_group}


def _random_groups(design: _Design, core: _CoreFit) -> dict[str, RandomEffectGroup]:
    crit = core.criterion
    rel_re, rel_vc = crit.relative_covariances(core.theta)
    out: dict[str, RandomEffectGroup] = {}
    pending: dict[str, list[tuple[str, float]]] = {}
    re = design.re_block
    if re is not None:
        cov = rel_re * core.sigma2
        out[re.grouping] = RandomEffectGroup(
            re.grouping,
            pd.DataFrame(cov, index=re.terms, columns=re.terms),
            correlated=len(re.terms) > 1,
            n_levels=len(np.unique(re.levels)),
        )
    for c, b in enumerate(design.vc_blocks):
        pending.setdefault(b.grouping, []).append((b.terms[0], float(rel_vc[c] * core.sigma2)))
    for name, items in pending.items():
        levels = len(np.unique(next(b for b in design.blocks if b.grouping == name).levels))
        if name in out:
            old = out[name].covariance
            terms = [*old.index, *(t for t, _ in items)]
            cov = np.zeros((len(terms), len(terms)))
            cov[: len(old), : len(old)] = old.to_numpy()
            for k, (_, v) in enumerate(items):
                cov[len(old) + k, len(old) + k] = v
            out[name] = RandomEffectGroup(name, pd.DataFrame(cov, index=terms, columns=terms), False, levels)
        else:
            terms = [t for t, _ in items]
            out[name] = RandomEffectGroup(
                name, pd.DataFrame(np.diag([v for _, v in items]), index=terms, columns=terms), False, levels
            )
    order = {g: i for i, g in enumerate(dict.fromkeys(b.grouping for b in design.blocks))}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 0)))


def fit_model(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    within_between: str | None = None,
    spline: str | Mapping[str, Any] | None = None,
    exposure: str | Sequence[str] | None = None,
    person: str | Sequence[str] | None = None,
    lrt: bool = True,
    null_model: bool = True,
    curve: bool = True,
    optimizers: Sequence[str] = OPTIMIZERS,
    polish: bool = True,
    family: str = "gaussian",
    nAGQ: int = 1,
    ddf: str = "Satterthwaite",
) -> ModelResult:
    """Fit a linear mixed model written in lme4 syntax.

    Parameters
    ----------
    formula : str
        E.g. ``"relatedness_satisfaction ~ coc + pgy + (1|program)"``; see
        :func:`parse_formula` for the random terms. The fixed part is patsy
        syntax: ``C(pgy)`` for a factor, ``a:b`` and ``a*b`` interactions,
        ``I(x**2)``, ``center(x)``, ``log(x)``.
    data : pandas.DataFrame
        One row per observation. Rows with a missing value in any model
        variable are left out, and counted in ``warnings``.
    reml : bool
        REML (default, as lme4) or maximum likelihood (``False``).
    within_between : str, optional
        Split this variable into its person mean ``<x>_between`` and the
        deviation ``<x>_within`` (person-mean centring), replacing it in the
        fixed part. The person is ``person``, by default the grouping factor
        with the most levels (``program:resident`` for ``(1|program/resident)``).
    spline : str or mapping, optional
        ``"coc:df=3"``: replace the variable by a natural cubic regression
        spline (patsy ``cr(coc, df=3, constraints='center')``; the same
        function space as R's ``ns(coc, df=3)``).
    exposure : str or list of str, optional
        The variable(s) whose fixed terms the likelihood-ratio test drops and
        whose standardized effect and dose-response curve are reported.
        Default: ``within_between`` or the spline variable when given, else the
        first variable of the fixed part.
    person : str or list of str, optional
        Person id column(s) for ``within_between``.
    lrt, null_model, curve : bool
        Compute the likelihood-ratio test (two ML refits), the null-model ICC
        (one more fit) and the dose-response curve.
    optimizers : sequence of str
        statsmodels optimizers to try in turn.
    polish : bool
        Refine statsmodels' estimates on lme4's profiled criterion (default).
        Without it the result is statsmodels' best optimum as found.
    family : {"gaussian", "binomial", "poisson"}
        ``"gaussian"``: a linear mixed model (``lmer``). ``"binomial"`` (a 0/1 response or
        ``cbind(successes, failures)``, logit link) and ``"poisson"`` (counts, log link) fit a
        generalized linear mixed model as ``lme4::glmer``: see :func:`~sdt_survey.mixed.glmm.fit_glmm`
        (``reml``, ``null_model``, ``curve``, ``optimizers`` and ``polish`` do not apply).
    nAGQ : int
        GLMMs: 1 (Laplace, glmer's default) or up to 25 adaptive Gauss-Hermite nodes.
    ddf : {"Satterthwaite", "Kenward-Roger", "none"}
        Denominator degrees of freedom of the fixed-effect tests (columns
        ``df``, ``t``, ``p`` of ``fixed`` and :meth:`ModelResult.anova`), as
        lmerTest's ``summary()``: Satterthwaite by default (REML and ML fits),
        Kenward-Roger (REML only; pbkrtest's adjusted covariance, see
        ``ModelResult.vcov_kr``), or ``"none"`` (Wald z: df = ∞). The Wald
        columns ``z`` and ``pvalue`` are always there. GLMMs are tested by
        Wald z, as glmer (``ddf`` does not apply).

    Returns
    -------
    ModelResult

    Raises
    ------
    ModelFormulaError
        A formula that cannot be read, names a missing column, or that MixedLM cannot express.
    ModelFitError
        A model that cannot be fitted.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"g": np.repeat(list("abcdefgh"), 20), "x": rng.normal(size=160)})
    >>> data["y"] = 1 + 0.5 * data["x"] + rng.normal(size=160)
    >>> result = fit_model("y ~ x + (1|g)", data)
    >>> result.method, result.n_obs, list(result.fixed.columns)
    ('REML', 160, ['estimate', 'se', 'ci_lower', 'ci_upper', 'z', 'pvalue', 'df', 't', 'p'])
    >>> result.ddf
    'Satterthwaite'
    >>> result.singular  # the true program variance is 0
    True
    >>> from sdt_survey.mixed import SINGULAR_MESSAGE
    >>> result.warnings[0].startswith(SINGULAR_MESSAGE)
    True
    """
    if str(family).lower() != "gaussian":
        return fit_glmm(
            formula,
            data,
            family=family,
            nAGQ=nAGQ,
            within_between=within_between,
            spline=spline,
            exposure=exposure,
            person=person,
            lrt=lrt,
        )
    if nAGQ != 1:
        raise ModelFormulaError(
            "nAGQ is for generalized linear mixed models: give family='binomial' or 'poisson'"
        )
    started = time.perf_counter()
    if not isinstance(data, pd.DataFrame):
        raise SdtSurveyError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    ddf_method = normalize_ddf(ddf)
    if ddf_method == "Kenward-Roger" and not reml:
        raise ModelFitError(
            "Kenward-Roger's method is only available for REML fits (as lmerTest): use reml=True"
        )
    parsed = parse_formula(formula)
    spline_spec = _parse_spline(spline)
    frame, fixed_rhs, labels, wb_info, messages = _prepare(parsed, data, within_between, spline_spec, person)
    design, design_info = _build_design(parsed, frame, fixed_rhs, labels)
    shown_rhs = fixed_rhs
    for code, label in labels.items():
        shown_rhs = shown_rhs.replace(code, label)
    fixed_formula = f"{parsed.response} ~ {shown_rhs} + " + " + ".join(str(t) for t in parsed.random)

    exposure_vars = _exposure_variables(parsed, frame, exposure, within_between, spline_spec)
    tested = set(exposure_vars)
    if within_between in tested:
        tested |= {f"{within_between}_within", f"{within_between}_between"}

    core = _guarded(_fit_core, design, reml, optimizers, polish)
    random = _random_groups(design, core)
    parts = _variance_parts(design, core, random)
    sigma2 = core.sigma2
    total = parts["random"] + sigma2
    icc_by = {g: v / total for g, v in parts["by_group"].items()}
    denom = parts["fixed"] + parts["random"] + sigma2
    fixed = _fixed_table(design.x_names, core.beta, core.vcov)
    warns = messages + core.warnings
    hint = outcome_family_hint(design.y)
    if hint is not None:
        warns.append(hint)
    ddf_state = DDFState(design, design_info, frame, core, reml, labels)
    try:
        fixed = fixed.join(ddf_state.table(ddf_method, design.x_names))
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ModelFitError(
            f"{formula}: the {ddf_method} degrees of freedom could not be computed: {exc}"
        ) from exc
    if ddf_method == "Satterthwaite":
        warns += ddf_state.satterthwaite.warnings
    notes = list(core.notes)

    # Null model ICC: y ~ 1 + a random intercept per grouping factor, same rows, REML.
    icc_null, icc_null_by = None, {}
    if null_model:
        try:
            null_design = _Design(
                design.y,
                np.ones((design.n, 1)),
                ["(Intercept)"],
                design.top,
                design.group_codes,
                design.group_labels,
                [],
            )
            null_blocks = []
            for name in dict.fromkeys(b.grouping for b in design.blocks):
                b = next(b for b in design.blocks if b.grouping == name)
                kind = "re" if name == design.top else "vc"
                null_blocks.append(
                    _Block(name, ["(Intercept)"], kind, np.ones((design.n, 1)), b.levels, b.level_labels)
                )
            null_blocks.sort(key=lambda b: b.kind != "re")
            null_design.blocks = null_blocks
            null_core = _fit_core(null_design, True, optimizers, polish)
            rel_re, rel_vc = null_core.criterion.relative_covariances(null_core.theta)
            variances = {}
            k = 0
            for b in null_blocks:
                if b.kind == "re":
                    variances[b.grouping] = float(rel_re[0, 0] * null_core.sigma2)
                else:
                    variances[b.grouping] = float(rel_vc[k] * null_core.sigma2)
                    k += 1
            null_total = sum(variances.values()) + null_core.sigma2
            icc_null_by = {g: v / null_total for g, v in variances.items()}
            icc_null = sum(variances.values()) / null_total
        except (SdtSurveyError, np.linalg.LinAlgError) as exc:
            notes.append(f"the null model for the ICC could not be fitted: {exc}")

    # Likelihood-ratio test of the exposure's fixed terms.
    lrt_result = None
    if lrt and tested:
        lrt_result, lrt_warnings, lrt_notes = likelihood_ratio_test(
            design, design_info, tested, core, reml=reml, optimizers=optimizers, polish=polish
        )
        warns += lrt_warnings
        notes += lrt_notes

    standardized = standardized_effects(fixed, frame, design.y, tested)

    # Dose-response curve.
    curve_frame, curve_var = None, None
    if curve and len(exposure_vars) == 1 and exposure_vars[0] != within_between:
        var = exposure_vars[0]
        used_as_factor = any(
            _factor_names(c) & {var} for t in _term_codes(parsed.fixed, formula)[1] for c in t
        )
        if (
            var in frame.columns
            and pd.api.types.is_numeric_dtype(frame[var])
            and not used_as_factor  # a curve over C(pgy) would ask for levels such as 1.04
            and _terms_involving(design_info, {var}).any()
        ):
            curve_frame = _curve(frame, design_info, var, core.beta, core.vcov, CURVE_POINTS)
            curve_var = var

    # Residuals (conditional) and conditional modes.
    crit = core.criterion
    solved = crit.solve(core.theta, core.reml)
    modes = crit.conditional_modes(core.theta, solved)
    resid = design.y - design.X @ core.beta
    mode_rows = []
    for g, rows_g in enumerate(crit.rows):
        resid[rows_g] -= crit.z_groups[g] @ modes[g]
        for (grouping, level, term), value in zip(crit.col_labels[g], modes[g], strict=True):
            mode_rows.append((grouping, level, term, value))
    modes_frame = pd.DataFrame(mode_rows, columns=["grouping", "level", "term", "value"])
    modes_frame = modes_frame.drop_duplicates(["grouping", "level", "term"]).reset_index(drop=True)

    n_par = design.p + design.n_theta + 1
    loglik = core.loglik
    n_groups = {name: group.n_levels for name, group in random.items()}
    return ModelResult(
        formula=formula,
        fixed_formula=fixed_formula,
        method="REML" if reml else "ML",
        n_obs=design.n,
        n_groups=n_groups,
        fixed=fixed,
        random=random,
        residual_variance=sigma2,
        icc=parts["random"] / total,
        icc_by_group=icc_by,
        r2_marginal=parts["fixed"] / denom,
        r2_conditional=(parts["fixed"] + parts["random"]) / denom,
        variances={
            "fixed": parts["fixed"],
            "random": parts["random"],
            "residual": sigma2,
            **{f"random:{k}": v for k, v in parts["by_group"].items()},
        },
        loglik=loglik,
        criterion=core.dev,
        aic=-2 * loglik + 2 * n_par,
        bic=-2 * loglik + math.log(design.n) * n_par,
        converged=core.converged,
        singular=core.singular,
        warnings=warns,
        notes=notes,
        optimizer=core.optimizer,
        structure=design.structure(),
        exposure=exposure_vars,
        icc_null=icc_null,
        icc_null_by_group=icc_null_by,
        lrt=lrt_result,
        standardized=standardized,
        curve=curve_frame,
        curve_variable=curve_var,
        within_between=wb_info,
        spline=None
        if spline_spec is None
        else {"variable": spline_spec[0], "df": spline_spec[1], "basis": "cr"},
        vcov=pd.DataFrame(core.vcov, index=design.x_names, columns=design.x_names),
        residuals=resid,
        conditional_modes=modes_frame,
        data=frame,
        statsmodels_result=core.statsmodels_result,
        ddf=ddf_method,
        ddf_state=ddf_state,
        seconds=time.perf_counter() - started,
        fit_state=(design, core),
    )
