"""Exploratory factor analysis, reproducing R's psych (formerly ``sdt_survey.factor.efa``).

Every number here is computed the way ``psych`` 2.2.9 (with GPArotation
2022.10.2) computes it, and the test suite checks them against goldens made
by R (see ``docs/factor-analysis.md``).

=========================  ====================================================
:func:`kmo`                Kaiser-Meyer-Olkin sampling adequacy, overall and per
                           item (psych::KMO).
:func:`bartlett`           Bartlett's test of sphericity (psych::cortest.bartlett).
:func:`parallel_analysis`  Horn's parallel analysis as psych::fa.parallel:
                           eigenvalues of components and factors of the data,
                           of simulated normal data and of resampled data; the
                           suggested numbers of factors and components; the
                           scree plot data.
:func:`efa`                psych::fa: minres, ml, principal-axis, uls, wls or
                           gls extraction; oblimin, promax, varimax, geomin,
                           quartimax, bentlerT/Q, bifactor, biquartimin or none;
                           loadings, communalities, Phi, variance accounted for
                           and psych's fit statistics.
:func:`factor_report`      all of the above in one go, choosing the number of
                           factors by parallel analysis when not given.
=========================  ====================================================

One module per step: :mod:`.adequacy` (KMO, Bartlett), :mod:`.parallel`,
:mod:`.model` (``efa`` and :class:`EFAResult`), :mod:`.fit` (psych's fit
statistics) and :mod:`.report`. Extraction (minres, ml, principal axes),
rotations, moments and BLAS thread control are the shared kernels of
:mod:`sdt_survey.stats`. The old path ``sdt_survey.factor.efa`` still
imports these names (``from sdt_survey.factor.efa import FMS``), with a
deprecation warning.

The functions take *clean* data: a :class:`pandas.DataFrame` with one numeric
column per item and one row per respondent, ``NaN`` for a missing answer, and
reverse-keyed items already reversed (``score(...).keyed``). Input is checked
once, at the boundary; a problem a user can fix raises
:class:`FactorAnalysisError` (a :class:`~sdt_survey.errors.SdtSurveyError`)
with a message naming the offending items.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> f = rng.normal(size=(400, 2))
>>> x = np.repeat(f, 4, axis=1) * 0.8 + rng.normal(size=(400, 8)) * 0.6
>>> items = pd.DataFrame(x, columns=[f"a{i}" for i in range(1, 5)] + [f"b{i}" for i in range(1, 5)])
>>> round(kmo(items).msa, 2)
0.84
>>> res = efa(items, 2)
>>> res.loadings.round(1).abs().max().tolist()
[0.8, 0.8]
>>> sorted(res.fit)[:4]
['BIC', 'EBIC', 'EPVAL', 'ESABIC']
"""

from __future__ import annotations

from ..._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FactorAnalysisError": "...errors",
        "FMS": "...stats.extraction",
        "PSI_BOUNDS": "...stats.extraction",
        "ROTATIONS": "...stats.rotation",
        "MISSING_MODES": "._input",
        "Missing": "._input",
        "MSA_LABELS": ".adequacy",
        "BartlettResult": ".adequacy",
        "KMOResult": ".adequacy",
        "bartlett": ".adequacy",
        "kmo": ".adequacy",
        "PREFIX": ".model",
        "VARIANCE_ROWS": ".model",
        "EFAResult": ".model",
        "Fm": ".model",
        "Rotate": ".model",
        "efa": ".model",
        "ParallelResult": ".parallel",
        "parallel_analysis": ".parallel",
        "FactorReport": ".report",
        "factor_report": ".report",
        "instrument_factor_report": ".report",
    },
)

__all__ = [
    "FMS",
    "MISSING_MODES",
    "MSA_LABELS",
    "PREFIX",
    "PSI_BOUNDS",
    "ROTATIONS",
    "VARIANCE_ROWS",
    "BartlettResult",
    "EFAResult",
    "FactorAnalysisError",
    "FactorReport",
    "Fm",
    "KMOResult",
    "Missing",
    "ParallelResult",
    "Rotate",
    "bartlett",
    "efa",
    "factor_report",
    "instrument_factor_report",
    "kmo",
    "parallel_analysis",
]
