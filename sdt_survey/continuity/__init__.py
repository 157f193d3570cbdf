"""Continuity indices from clinic schedules: UPC, MFPC, COC, HHI, MMCI, SECON and entropy.

:func:`continuity_indices` reads a schedule (a file or a DataFrame with one row
per learner-faculty contact: who, with whom, when), checks every row, and
computes per learner (or per faculty member, ``side="faculty"``), and per time
window if asked, the continuity indices used in the continuity-of-care and
medical-education literature:

=================  ==========================================================
``upc``            usual provider of care: sessions with the assigned
                   preceptor / all sessions (needs the assigned column)
``mfpc``           most-frequent provider continuity: sessions with the
                   most-seen faculty member / all sessions
``coc``            Bice-Boxerman continuity of care,
                   ``(sum n_i^2 - N) / (N (N - 1))``
``hhi``            Herfindahl-Hirschman concentration, ``sum (n_i / N)^2``
``mmci``           modified modified continuity index,
                   ``(1 - M / (N + 0.1)) / (1 - 1 / (N + 0.1))``
``secon``          sequential continuity: share of consecutive session pairs
                   (in time order) with the same faculty member
``entropy``        Shannon entropy of the faculty shares, natural log (nats)
``entropy_norm``   ``entropy / log(M)``; 0 when ``M = 1``
=================  ==========================================================

(``N`` sessions, ``n_i`` of them with faculty member ``i``, ``M`` distinct
faculty.) Formulas, their pitfalls and how to prepare a scheduling export are
in ``docs/continuity-and-models.md``.

Everything is vectorized over sessions: one sort, then ``numpy.bincount``
and ``reduceat`` over the sorted arrays; there is no loop over learners.
100,000 learners x 60 sessions take about a second (``benchmarks/bench_continuity.py``).
The simulator (:mod:`sdt_survey.simulate`) computes its true indices with the
same core, :func:`indices_from_codes`.

Modules:

- :mod:`~sdt_survey.continuity.schedule`: reading and checking a schedule,
  :class:`ContinuityError` and the report of every problem;
- :mod:`~sdt_survey.continuity.indices`: the vectorized core, :func:`indices_from_codes`;
- :mod:`~sdt_survey.continuity.compute`: :func:`continuity_indices`;
- :mod:`~sdt_survey.continuity.result`: :class:`ContinuityResult`;
- :mod:`~sdt_survey.continuity.exposure`: :func:`self_reported_exposure`.

Examples
--------
>>> import pandas as pd
>>> from sdt_survey.continuity import continuity_indices
>>> schedule = pd.DataFrame(
...     {
...         "learner": ["r1"] * 5 + ["r2"] * 2,
...         "faculty": ["A", "A", "B", "A", "C", "D", "E"],
...         "date": ["2025-07-01", "2025-07-08", "2025-07-15", "2025-07-22", "2025-07-29",
...                  "2025-07-02", "2025-07-09"],
...     }
... )
>>> result = continuity_indices(schedule)
>>> result.indices[["learner", "n_sessions", "n_faculty", "mfpc", "coc", "hhi", "secon"]]
  learner  n_sessions  n_faculty  mfpc  coc   hhi  secon
0      r1           5          3   0.6  0.3  0.44   0.25
1      r2           2          2   0.5  0.0  0.50   0.00
"""

from __future__ import annotations

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "continuity_indices": ".compute",
        "EXPOSURE_ITEMS": ".exposure",
        "self_reported_exposure": ".exposure",
        "INDEX_COLUMNS": ".indices",
        "indices_from_codes": ".indices",
        "ContinuityResult": ".result",
        "PROBLEM_SEVERITY": ".schedule",
        "ROLE_SYNONYMS": ".schedule",
        "TIME_COLUMN": ".schedule",
        "ContinuityError": ".schedule",
    },
)

__all__ = [
    "EXPOSURE_ITEMS",
    "INDEX_COLUMNS",
    "PROBLEM_SEVERITY",
    "ROLE_SYNONYMS",
    "TIME_COLUMN",
    "ContinuityError",
    "ContinuityResult",
    "continuity_indices",
    "indices_from_codes",
    "self_reported_exposure",
]
