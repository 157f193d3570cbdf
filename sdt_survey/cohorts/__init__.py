"""Layer 6: cohort tracking for residency leaders: summaries by group and wave, with privacy-safe suppression.

:func:`cohort_summary` reads and scores one or more waves of responses (as
:func:`sdt_survey.score` does), then reports every subscale and composite by
each grouping column (program, PGY, cohort, clinic, ...) and by wave: n, mean,
SD, a t-based confidence interval and the shares above and below the scale
midpoint, with overall rows whose group value is ``"all"``. It adds the change
between consecutive waves (a paired t-test where respondent ids link across
waves, a linear mixed model with a random intercept per respondent where they
only partly link), a trend across waves per group, and the measurement-
invariance check that says whether comparing means across groups or waves is
supported.

Privacy is the point of this module. Every figure is protected by a minimum
cell size ``min_cell`` (default 5, never below 3), with *complementary*
suppression: more cells are hidden until no hidden figure (its n, its mean, its
SD, its shares) can be worked out from the published ones, whether by
subtracting visible groups from a total, by combining two grouping columns
(clinics nested in programs, PGY against cohort), or across waves. The rule,
the algorithm and why it holds are in ``docs/privacy.md``; how to run and read
the report is in ``docs/cohorts.md``. Only aggregates leave this module: no
respondent-level row, identifier or free-text answer is ever part of a
:class:`CohortReport`.

=====================  =====================================================
:mod:`.summary`        :func:`cohort_summary`, the entry point
:mod:`.data`           the inputs: waves joined, grouping columns checked
:mod:`.figures`        n, mean, SD, CI and midpoint shares per cell
:mod:`.trajectories`   changes between waves and trends across them
:mod:`.invariance`     whether comparing means is supported
:mod:`.cells`          the published cells as sets of respondents
:mod:`.suppression`    complementary suppression, within a run and across runs
:mod:`.disclosure`     the disclosure-control engine (:func:`protect`)
:mod:`.ledger`         the release ledger of what earlier runs showed
:mod:`.distributions`  answer counts safe to show (the report's item section)
:mod:`.result`         :class:`CohortReport`
=====================  =====================================================

Examples
--------
>>> import sdt_survey
>>> from sdt_survey.simulate import simulate
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> data = simulate(bpn, seed=3, n_programs=4, residents_per_program=(12, 12)).responses
>>> report = cohort_summary(bpn, data, id_column="resident", by=["program", "pgy"], invariance=False)
>>> report.to_dict()["min_cell"], sorted(report.to_dict())
(5, ['changes', 'invariance', 'min_cell', 'notes', 'rows', 'trends'])
>>> row = report.to_dict()["rows"][0]
>>> row["group"], row["wave"], row["scale"], row["n"]
({'program': 'all', 'pgy': 'all'}, 1, 'autonomy_satisfaction', 48)
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ALL": ".data",
        "MIN_CELL_FLOOR": ".data",
        "MISSING_GROUP": ".data",
        "protect": ".disclosure",
        "CHANGE_FIGURES": ".figures",
        "FIGURES": ".figures",
        "TREND_FIGURES": ".figures",
        "scale_midpoints": ".figures",
        "INVARIANCE_FLOOR": ".invariance",
        "INVARIANCE_PER_ITEM": ".invariance",
        "invariance_minimum": ".invariance",
        "CohortReport": ".result",
        "cohort_summary": ".summary",
        "random_intercept_slope": ".trajectories",
    },
)

__all__ = [
    "ALL",
    "CHANGE_FIGURES",
    "FIGURES",
    "INVARIANCE_FLOOR",
    "INVARIANCE_PER_ITEM",
    "MIN_CELL_FLOOR",
    "MISSING_GROUP",
    "TREND_FIGURES",
    "CohortReport",
    "cohort_summary",
    "invariance_minimum",
    "protect",
    "random_intercept_slope",
    "scale_midpoints",
]
