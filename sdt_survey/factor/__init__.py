"""Factor structure of an instrument's items.

Exploratory factor analysis reproducing R's psych (:mod:`sdt_survey.factor.exploratory`):
:func:`kmo`, :func:`bartlett`, :func:`parallel_analysis`, :func:`efa` and
:func:`factor_report` (all of them in one go), with the rotations of
:mod:`sdt_survey.factor.rotation`. Confirmatory factor analysis reproducing
lavaan (ML, MLR and ordinal WLSMV, measurement invariance, and the same
straight from a response file) lives in :mod:`sdt_survey.factor.sem`; its
public names are exported here too (``sdt_survey.factor.cfa`` is the
function :func:`cfa`; the old module path forwards to :mod:`sdt_survey.factor.sem`).
See ``docs/factor-analysis.md``.

``sdt_survey.factor.efa`` is the *function* :func:`efa`; the module that
held it moved to :mod:`sdt_survey.factor.exploratory`, and its old path
still imports (``from sdt_survey.factor.efa import FMS``, deprecated).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sdt_survey import factor
>>> rng = np.random.default_rng(4)
>>> f = rng.normal(size=(300, 2))
>>> x = f @ np.kron(np.eye(2), np.full((1, 3), 0.7)) + rng.normal(size=(300, 6)) * 0.7
>>> res = factor.efa(pd.DataFrame(x, columns=list("abcdef")), 2)
>>> res.loadings.columns.tolist(), res.fit["dof"]
(['MR1', 'MR2'], 4.0)
"""

from .._deprecation import alias_module
from .._lazy import lazy_exports

# Imported on first use: ``from sdt_survey.factor import cfa`` loads the SEM engine, not EFA.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Rotation": "..stats.rotation",
        "rotate": "..stats.rotation",
        "BartlettResult": ".exploratory",
        "EFAResult": ".exploratory",
        "FactorAnalysisError": ".exploratory",
        "FactorReport": ".exploratory",
        "KMOResult": ".exploratory",
        "ParallelResult": ".exploratory",
        "bartlett": ".exploratory",
        "efa": ".exploratory",
        "factor_report": ".exploratory",
        "instrument_factor_report": ".exploratory",
        "kmo": ".exploratory",
        "parallel_analysis": ".exploratory",
        "CFAError": ".sem",
        "CFAModel": ".sem",
        "CFAResult": ".sem",
        "FitMeasures": ".sem",
        "InvarianceResult": ".sem",
        "LatentModelResult": ".sem",
        "LongitudinalInvarianceResult": ".sem",
        "ModelSyntaxError": ".sem",
        "OrdinalCFAResult": ".sem",
        "OrdinalInvarianceResult": ".sem",
        "cfa": ".sem",
        "cfa_ordinal": ".sem",
        "emit_lavaan": ".sem",
        "instrument_cfa": ".sem",
        "instrument_invariance": ".sem",
        "instrument_longitudinal_invariance": ".sem",
        "latent_continuity_model": ".sem",
        "latent_model": ".sem",
        "longitudinal_invariance": ".sem",
        "measurement_invariance": ".sem",
        "ordinal_invariance": ".sem",
        "parse_model_syntax": ".sem",
    },
    submodules=("rotation",),  # sdt_survey.factor.rotation stays importable
)

alias_module("sdt_survey.factor.efa", "sdt_survey.factor.exploratory")

__all__ = [
    "BartlettResult",
    "CFAError",
    "CFAModel",
    "CFAResult",
    "EFAResult",
    "FactorAnalysisError",
    "FactorReport",
    "FitMeasures",
    "InvarianceResult",
    "KMOResult",
    "LatentModelResult",
    "LongitudinalInvarianceResult",
    "ModelSyntaxError",
    "OrdinalCFAResult",
    "OrdinalInvarianceResult",
    "ParallelResult",
    "Rotation",
    "bartlett",
    "cfa",
    "cfa_ordinal",
    "efa",
    "emit_lavaan",
    "factor_report",
    "instrument_cfa",
    "instrument_factor_report",
    "instrument_invariance",
    "instrument_longitudinal_invariance",
    "kmo",
    "latent_continuity_model",
    "latent_model",
    "longitudinal_invariance",
    "measurement_invariance",
    "ordinal_invariance",
    "parallel_analysis",
    "parse_model_syntax",
    "rotate",
]

# sdt_survey.factor.cfa is the function cfa; the old module path forwards to the sem package.
alias_module("sdt_survey.factor.cfa", "sdt_survey.factor.sem")
