"""Multilevel models of relatedness against continuity exposure.

A model is written in lme4's formula syntax and fitted with statsmodels'
:class:`~statsmodels.regression.mixed_linear_model.MixedLM`::

    relatedness_satisfaction ~ coc + pgy + (1|program)              # residents in programs
    relatedness_satisfaction ~ coc + pgy + wave + (1|program/resident)  # repeated waves
    relatedness_satisfaction ~ coc + (1|program) + (1|faculty)      # crossed intercepts
    relatedness_satisfaction ~ coc + pgy + (coc|program)            # correlated random slope
    relatedness_satisfaction ~ coc + pgy + (coc||program)           # uncorrelated random slope

The formula is parsed here, without ``eval``: random terms ``(expr | group)``
become MixedLM's ``groups`` / ``exog_re`` / ``exog_vc`` form (the top grouping
factor as ``groups``, inner or crossed factors as variance components), and
the fixed part goes to patsy with a whitelist of functions (``C()``,
interactions, ``I()``, ``cr()``, ``bs()``, ``center()``, ``log()``...).

statsmodels finds the variance parameters (optimizers ``bfgs``, ``lbfgs``,
``cg``, ``nm`` and ``powell`` are tried in turn until one converges). The
estimates are then checked, and polished when statsmodels stopped short,
against lme4's profiled (RE)ML criterion, evaluated exactly here with the
relative covariance factor Λ; the fixed effects, their covariance
``σ² (X'V⁻¹X)⁻¹``, the log-likelihood and the conditional modes are computed
from that criterion, as lme4 does. This reproduces lme4 to 1e-6 or better
(see ``docs/continuity-and-models.md``) and avoids statsmodels' collapse of
group-level fixed effects to 0 when a variance component is at zero
(statsmodels issue #10239).

Everything a reader needs is in :class:`ModelResult`: fixed effects (Wald
z), variance components, ICC (adjusted, and from the null model), marginal
and conditional R² (Nakagawa & Schielzeth 2013; Johnson 2014 for random
slopes), a likelihood-ratio test of the exposure, standardized effects,
within- and between-person effects, a natural-spline dose-response curve and
plain-words warnings (singular fits as lme4 reports them).


Modules, in the order a fit runs through them:

- :mod:`~sdt_survey.mixed.formula`: the lme4 formula, read without ``eval``;
- :mod:`~sdt_survey.mixed.terms`: the fixed part through patsy with a whitelist;
- :mod:`~sdt_survey.mixed.prepare`: the rows used, within/between split, splines;
- :mod:`~sdt_survey.mixed.design`: response, fixed matrix, random-effects blocks;
- :mod:`~sdt_survey.mixed.criterion`: lme4's profiled (RE)ML criterion;
- :mod:`~sdt_survey.mixed.optimize`: statsmodels' optimizers, polished on the criterion;
- :mod:`~sdt_survey.mixed.inference`: Wald table, likelihood-ratio test, dose-response curve;
- :mod:`~sdt_survey.mixed.results`: :class:`ModelResult`;
- :mod:`~sdt_survey.mixed.fit`: :func:`fit_model`, which runs them all;
- :mod:`~sdt_survey.mixed.family`: binomial and Poisson families (``family=`` of :func:`fit_model`);
- :mod:`~sdt_survey.mixed.glmm_criterion`: glmer's criterion (penalized IRLS, Laplace, adaptive
  Gauss-Hermite quadrature);
- :mod:`~sdt_survey.mixed.glmm`: :func:`fit_glmm`, generalized linear mixed models as ``lme4::glmer``;
- :mod:`~sdt_survey.mixed.join`: scores joined to exposure, and :func:`model_relatedness`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> program = np.repeat([f"P{i}" for i in range(10)], 30)
>>> coc = rng.uniform(0, 1, 300)
>>> y = 3 + 0.8 * coc + np.repeat(rng.normal(0, 0.4, 10), 30) + rng.normal(0, 0.7, 300)
>>> data = pd.DataFrame({"program": program, "coc": coc, "rs": y})
>>> result = fit_model("rs ~ coc + (1|program)", data)
>>> result.n_groups
{'program': 10}
>>> round(float(result.fixed.loc["coc", "estimate"]), 2)
0.83
>>> list(result.to_dict())[:5]
['formula', 'method', 'n_obs', 'n_groups', 'fixed']
"""

from __future__ import annotations

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "JoinError": "..errors",
        "ModelFitError": "..errors",
        "ModelFormulaError": "..errors",
        "FAMILIES": ".family",
        "CURVE_POINTS": ".fit",
        "fit_model": ".fit",
        "ParsedFormula": ".formula",
        "RandomTerm": ".formula",
        "parse_formula": ".formula",
        "fit_glmm": ".glmm",
        "LikelihoodRatioTest": ".inference",
        "JoinReport": ".join",
        "join_exposure": ".join",
        "model_relatedness": ".join",
        "OPTIMIZERS": ".optimize",
        "SINGULAR_MESSAGE": ".optimize",
        "ModelResult": ".results",
        "RandomEffectGroup": ".results",
    },
)

__all__ = [
    "CURVE_POINTS",
    "FAMILIES",
    "OPTIMIZERS",
    "SINGULAR_MESSAGE",
    "JoinError",
    "JoinReport",
    "LikelihoodRatioTest",
    "ModelFitError",
    "ModelFormulaError",
    "ModelResult",
    "ParsedFormula",
    "RandomEffectGroup",
    "RandomTerm",
    "fit_glmm",
    "fit_model",
    "join_exposure",
    "model_relatedness",
    "parse_formula",
]
