"""Reliability and item analysis, reproducing R's psych.

Every coefficient here is computed the way ``psych`` 2.2.9 computes it, and
the test suite checks the numbers against goldens made by R (see
``docs/reliability.md`` for the formulas, psych's output names and the few
places where a convention had to be chosen).

The functions take *clean* data: a :class:`pandas.DataFrame` with one numeric
column per item and one row per respondent, ``NaN`` for a missing answer, and
reverse-keyed items already reversed. Scoring (reading files, reverse keys,
``min_valid`` rules) happens before this module.

=========================  =====================================================
:func:`alpha`              Cronbach's alpha with psych::alpha's whole table:
                           standardized alpha, Guttman's lambda 6, average r,
                           S/N, Duhachek's SE, Feldt, Duhachek and bootstrap
                           (percentile, BCa) intervals, item statistics and
                           reliability if an item is dropped.
:func:`omega_total`        one-factor omega total (psych ``omega(nfactors=1)``).
:func:`omega`              omega hierarchical, omega total, ECV and the
                           Schmid-Leiman solution (minres + oblimin).
:func:`split_half`         maximum (lambda 4), minimum (beta) and mean split-half
                           reliability (psych::splitHalf).
:func:`polychoric`         polychoric correlations and thresholds, and from
                           them :func:`ordinal_alpha` and :func:`ordinal_omega`.
:func:`group_reliability`  ICC(1), ICC(2) and design effect of a score across
                           groups (psych::statsBy).
:func:`test_retest`        test-retest ICC (two-way random, absolute agreement,
                           single measurement) with pingouin.
:func:`reliability_table`  everything per subscale of an instrument, as one
                           report.
=========================  =====================================================

One module per coefficient: :mod:`~sdt_survey.reliability.cronbach` (alpha),
:mod:`~sdt_survey.reliability.mcdonald` (omega),
:mod:`~sdt_survey.reliability.guttman` (split-half),
:mod:`~sdt_survey.reliability.ordinal` (polychoric, ordinal alpha and omega),
:mod:`~sdt_survey.reliability.group` (ICCs of group means),
:mod:`~sdt_survey.reliability.retest` (test-retest); the instrument report
(:mod:`~sdt_survey.reliability.report`) computes the coefficients listed in
:mod:`~sdt_survey.reliability.table`. Numerical kernels shared with factor
analysis (extraction, polychoric correlations, moments, rotations) live in
:mod:`sdt_survey.stats`.

Calling the package itself, ``sdt_survey.reliability(...)``, still runs
:func:`instrument_reliability` but is deprecated: call
``sdt_survey.reliability.instrument_reliability(...)``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sdt_survey import reliability
>>> rng = np.random.default_rng(1)
>>> trait = rng.normal(size=500)
>>> items = pd.DataFrame({f"q{i}": np.round(3 + trait + rng.normal(size=500)) for i in range(1, 5)})
>>> res = reliability.alpha(items)
>>> round(res.alpha, 3), round(res.alpha_std, 3)
(0.76, 0.76)
>>> res.item_stats.columns.tolist()
['n', 'raw_r', 'std_r', 'r_cor', 'r_drop', 'mean', 'sd']
"""

from __future__ import annotations

from .._callable import make_module_callable
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ReliabilityError": "..errors",
        "ReliabilityKeyError": "..errors",
        "fa_minres": "..stats.extraction",
        "R_OPTIMIZE_TOL": "..stats.polychoric",
        "_BootDesign": "._bootstrap:BootDesign",
        "MISSING_MODES": "._common",
        "Missing": "._common",
        "_z_psych": "._common:z_psych",
        "Coefficient": ".coefficient",
        "ReportOptions": ".coefficient",
        "DROP_COLUMNS": ".cronbach",
        "ITEM_COLUMNS": ".cronbach",
        "AlphaResult": ".cronbach",
        "alpha": ".cronbach",
        "feldt_ci": ".cronbach",
        "GroupReliabilityResult": ".group",
        "group_reliability": ".group",
        "SplitHalfResult": ".guttman",
        "split_half": ".guttman",
        "OmegaResult": ".mcdonald",
        "omega": ".mcdonald",
        "omega_total": ".mcdonald",
        "PolychoricResult": ".ordinal",
        "ordinal_alpha": ".ordinal",
        "ordinal_omega": ".ordinal",
        "polychoric": ".ordinal",
        "ReliabilityReport": ".report",
        "SurveyReliability": ".report",
        "instrument_reliability": ".report",
        "reliability_table": ".report",
        "TestRetestResult": ".retest",
        "test_retest": ".retest",
        "COEFFICIENTS": ".table",
    },
)

__all__ = [
    "COEFFICIENTS",
    "DROP_COLUMNS",
    "ITEM_COLUMNS",
    "MISSING_MODES",
    "R_OPTIMIZE_TOL",
    "AlphaResult",
    "Coefficient",
    "GroupReliabilityResult",
    "Missing",
    "OmegaResult",
    "PolychoricResult",
    "ReliabilityError",
    "ReliabilityKeyError",
    "ReliabilityReport",
    "ReportOptions",
    "SplitHalfResult",
    "SurveyReliability",
    "TestRetestResult",
    "alpha",
    "fa_minres",
    "feldt_ci",
    "group_reliability",
    "instrument_reliability",
    "omega",
    "omega_total",
    "ordinal_alpha",
    "ordinal_omega",
    "polychoric",
    "reliability_table",
    "split_half",
    "test_retest",
]

make_module_callable(
    __name__,
    "instrument_reliability",
    deprecated="calling the module sdt_survey.reliability(...) is deprecated; "
    "call sdt_survey.reliability.instrument_reliability(...)",
)
