"""Structural equation models (confirmatory factor analysis) reproducing R's lavaan.

Every number here follows lavaan 0.6-14's conventions, and the test suite
checks them against goldens made by R (``tests/goldens/lavaan_*.R``):

* **Model.** A :class:`CFAModel` comes from lavaan-style syntax
  (:meth:`CFAModel.from_syntax`, see :mod:`sdt_survey.factor.sem.syntax`) or from
  an :class:`~sdt_survey.instrument.Instrument` (:meth:`CFAModel.from_instrument`:
  correlated subscale factors, a bifactor model, or a second-order model).
  lavaan's defaults complete it: residual and factor variances, covariances
  among exogenous factors, intercepts when there is a mean structure, and the
  scale of each factor by its first loading (or ``std_lv=True``: unit
  variances). :func:`emit_lavaan` prints equivalent lavaan syntax.
* **Estimators.** ``"ML"``: normal-theory maximum likelihood with lavaan's
  ``N`` (not ``N - 1``) for the sample covariance, standard errors from the
  expected information (observed information under FIML, as lavaan).
  ``"MLR"``: Huber-White sandwich standard errors (observed information and
  the cross-product of casewise scores) and the Yuan-Bentler (Mplus variant)
  scaled chi-square, with lavaan's robust CFI, TLI and RMSEA.
  ``"WLSMV"`` (:func:`cfa_ordinal`): ordinal items through polychoric
  correlations, diagonally weighted least squares and the scaled-shifted test.
  Each estimator is one record in :data:`~sdt_survey.factor.sem.estimators.ESTIMATORS`,
  fitted by the one optimizer on its objective (ML engine or DWLS) built from
  the one set of model matrices.
* **Missing data.** ``missing="fiml"`` (lavaan ``missing = "ml"``) maximizes
  the casewise likelihood, grouped by missingness pattern; the saturated model
  is estimated by EM exactly as lavaan does. ``"listwise"`` keeps complete
  rows. ``"auto"`` (default) is FIML when a model item is missing.
* **Output.** chi-square, CFI, TLI, RMSEA with its 90% interval and p-close,
  SRMR, AIC, BIC, log-likelihoods, the baseline model; estimates with standard
  errors; the standardized solution (std.all) with delta-method standard
  errors; factor correlations; modification indices with EPC; CFA-based omega
  per factor (semTools::compRelSEM).
* **Multiple groups.** ``group=`` fits the model in each group, with lavaan's
  ``group.equal`` and ``group.partial`` (see also
  :mod:`sdt_survey.factor.sem.invariance`). The same respondents at several
  waves: :func:`longitudinal_invariance` (:mod:`sdt_survey.factor.sem.longitudinal`).

How it is computed, briefly: the model-implied moments are
``Sigma = Lambda (I-B)^-1 Psi (I-B)^-T Lambda' + Theta`` and
``mu = nu + Lambda (I-B)^-1 alpha``. Each free matrix element changes Sigma by
a symmetric rank-two matrix ``s (a b' + b a')`` and mu by ``c``; gradients,
information matrices, Hessians and casewise scores are all products of those
vectors with the data terms, so nothing loops over respondents, and FIML loops
over missingness patterns only (batched by the number of answered items).
Estimation is Fisher scoring with a line search, polished by Newton steps, for
every objective (the ordinal DWLS one included, :mod:`~.dwls`).

The modules, one concern each (as lavaan splits its source):
:mod:`~.syntax` (model syntax), :mod:`~.spec` (model and parameter table),
:mod:`~.samplestats` (groups, missingness patterns, EM), :mod:`~.implied`
(implied moments, derivatives, information), :mod:`~.start` and
:mod:`~.optimize`, :mod:`~.estimators` (one record per estimator),
:mod:`~.vcov`, :mod:`~.tests` (robust test statistics), :mod:`~.baseline`,
:mod:`~.fit` (fit measures), :mod:`~.standardized`, :mod:`~.omega`,
:mod:`~.modindices`, :mod:`~.solution`, :mod:`~.results`, :mod:`~.summary`,
:mod:`~.fitting` (:func:`cfa`), :mod:`~.ordinal_stats` and :mod:`~.dwls` (the
ordinal sample statistics and DWLS objective), :mod:`~.wlsmv` (:func:`cfa_ordinal`),
:mod:`~.invariance`, :mod:`~.longitudinal` (invariance across waves of the same
respondents) and :mod:`~.pipeline` (from a response file).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(7)
>>> f = rng.normal(size=(500, 2)) @ np.linalg.cholesky([[1, .4], [.4, 1]]).T
>>> x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(size=(500, 6)) * 0.6
>>> data = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
>>> res = cfa(data, "A =~ a1 + a2 + a3\\nB =~ b1 + b2 + b3")
>>> res.fit.df, round(res.fit.cfi, 3) > 0.99
(8, True)
>>> float(round(res.factor_correlations().loc["A", "B"], 2))
0.45
>>> res.to_dict()["parameters"][1]["op"]
'=~'
"""

from ..._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CFAError": "...errors",
        "CFAWarning": "...errors",
        "ESTIMATORS": ".estimators",
        "cfa": ".fitting",
        "STEPS": ".invariance",
        "Comparison": ".invariance",
        "InvarianceResult": ".invariance",
        "measurement_invariance": ".invariance",
        "DEFAULT_LATENT_FORMULA": ".latent",
        "LatentModelResult": ".latent",
        "latent_continuity_model": ".latent",
        "latent_model": ".latent",
        "LongitudinalInvarianceResult": ".longitudinal",
        "LongitudinalOrdinalResult": ".longitudinal",
        "longitudinal_invariance": ".longitudinal",
        "ORDINAL_STEPS": ".ordinal_invariance",
        "OrdinalInvarianceResult": ".ordinal_invariance",
        "ordinal_invariance": ".ordinal_invariance",
        "OrdinalParTable": ".ordinal_partable",
        "wu_estabrook_table": ".ordinal_partable",
        "wu_estabrook_long_table": ".ordinal_partable",
        "instrument_cfa": ".pipeline",
        "instrument_invariance": ".pipeline",
        "instrument_longitudinal_invariance": ".pipeline",
        "FIT_KEYS": ".results",
        "ROBUST_FIT_KEYS": ".results",
        "CFAResult": ".results",
        "FitMeasures": ".results",
        "MISSING_MODES": ".samplestats",
        "GROUP_EQUAL": ".spec",
        "MODEL_KINDS": ".spec",
        "CFAModel": ".spec",
        "ModelSyntaxError": ".syntax",
        "emit_lavaan": ".syntax",
        "parse_model_syntax": ".syntax",
        "OrdinalCFAResult": ".wlsmv",
        "cfa_ordinal": ".wlsmv",
    },
)

__all__ = [
    "DEFAULT_LATENT_FORMULA",
    "ESTIMATORS",
    "FIT_KEYS",
    "GROUP_EQUAL",
    "MISSING_MODES",
    "MODEL_KINDS",
    "ORDINAL_STEPS",
    "ROBUST_FIT_KEYS",
    "STEPS",
    "CFAError",
    "CFAModel",
    "CFAResult",
    "CFAWarning",
    "Comparison",
    "FitMeasures",
    "InvarianceResult",
    "LatentModelResult",
    "LongitudinalInvarianceResult",
    "LongitudinalOrdinalResult",
    "ModelSyntaxError",
    "OrdinalCFAResult",
    "OrdinalInvarianceResult",
    "OrdinalParTable",
    "cfa",
    "cfa_ordinal",
    "emit_lavaan",
    "instrument_cfa",
    "instrument_invariance",
    "instrument_longitudinal_invariance",
    "latent_continuity_model",
    "latent_model",
    "longitudinal_invariance",
    "measurement_invariance",
    "ordinal_invariance",
    "parse_model_syntax",
    "wu_estabrook_long_table",
    "wu_estabrook_table",
]
