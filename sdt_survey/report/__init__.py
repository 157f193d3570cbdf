"""Layer 6: one self-contained report for residency leaders and statisticians.

:func:`build_report` runs every analysis stage of the package on one survey
(one or more waves of responses, and optionally the clinic schedule) and
gathers what they found into a :class:`Report` of six sections:

1. ``items``: how residents answered each item (diverging stacked bars);
2. ``reliability``: alpha with its interval, omega and flagged items
   (:func:`sdt_survey.reliability.instrument_reliability`);
3. ``factor_structure``: the fit and standardized loadings of the
   instrument's correlated-factors model and the measurement-invariance table
   (:mod:`sdt_survey.factor.sem`);
4. ``continuity``: the dose-response of belonging on continuity of
   supervision (:func:`sdt_survey.continuity.continuity_indices`,
   :func:`sdt_survey.mixed.model_relatedness`);
5. ``cohorts``: every score across waves, overall and by group, with
   suppression (:func:`sdt_survey.cohorts.cohort_summary`);
6. ``data_quality``: what was found in the files and what was done about it.

:meth:`Report.write_html` writes one HTML file that needs nothing else: no
network request, plots embedded as PNG ``data:`` URIs, inline CSS, no script,
and a Content-Security-Policy that forbids loading anything. The same content
is :meth:`Report.to_dict` / :meth:`Report.write_json`, and :meth:`Report.summary`
gives it as text.

Privacy is part of correctness here, as in :mod:`sdt_survey.cohorts` (see
``docs/privacy.md``): only aggregates enter a report. Every figure about
respondents' answers rests on at least ``min_cell`` respondents (an item
answered by fewer is suppressed; group figures come from ``cohort_summary``
with its complementary suppression, and a suppressed figure is ``None``);
respondent ids, free-text answers and respondent-level rows never enter it;
the extremes of the dose-response curve are cut where fewer than ``min_cell``
residents lie beyond them; and every text taken from another stage (notes,
warnings, messages) is scrubbed of respondent, learner and faculty ids
before it is stored. The HTML is rendered from :meth:`Report.to_dict` alone,
so it cannot show anything the JSON does not hold. See ``docs/reports.md``.

The package: :mod:`.build` (:func:`build_report`: the intake once, then
every section on the same analysis data set), :mod:`.context` (what the
sections share), one module per section in :mod:`.sections`, :mod:`.plots`,
:mod:`.html` (the page), :mod:`.text` (the terminal summary) and
:mod:`.result` (:class:`Report`).

Examples
--------
>>> from sdt_survey.simulate import simulate
>>> data = simulate("bpn-residency", seed=3, n_programs=3, residents_per_program=(12, 12))
>>> report = build_report("bpn-residency", data.responses, id_column="resident", by=["program"])
>>> [(key, section["status"]) for key, section in report.to_dict()["sections"].items()]
... # doctest: +NORMALIZE_WHITESPACE
[('items', 'ok'), ('reliability', 'ok'), ('factor_structure', 'not_available'),
 ('continuity', 'not_available'), ('cohorts', 'ok'), ('data_quality', 'ok')]
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "build_report": ".build",
        "SECTION_TITLES": ".context",
        "Report": ".result",
    },
)

__all__ = ["SECTION_TITLES", "Report", "build_report"]
