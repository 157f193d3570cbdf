"""THE table of the per-subscale coefficients the instrument report computes.

:func:`~sdt_survey.reliability.reliability_table` (and so
:func:`~sdt_survey.reliability.instrument_reliability`, the ``sdt-survey
reliability`` command and the survey report) computes, for every subscale,
Cronbach's alpha with its intervals and item analysis
(:mod:`~sdt_survey.reliability.cronbach`) and one-factor omega total
(:mod:`~sdt_survey.reliability.mcdonald`): the fixed core of the report's shape.
Over all subscales it adds the multi-factor omega, and when asked, group ICCs
(:mod:`~sdt_survey.reliability.group`) and test-retest ICCs
(:mod:`~sdt_survey.reliability.retest`).

Every further coefficient is one line below: a
:class:`~sdt_survey.reliability.coefficient.Coefficient` record, defined in
the coefficient's own module, which says how to compute it for a subscale
and how it appears in ``to_dict()``, ``to_frame()`` and ``summary()``. The
report's sections follow this order.

To add a coefficient: write its module (the function, its result, and its
``Coefficient`` record), then add the record here.
"""

from __future__ import annotations

from .coefficient import Coefficient
from .guttman import SPLIT_HALF
from .ordinal import ORDINAL

COEFFICIENTS: tuple[Coefficient, ...] = (
    SPLIT_HALF,
    ORDINAL,
)

__all__ = ["COEFFICIENTS"]
