"""The record that puts a per-subscale coefficient into the instrument report.

A coefficient module (``split_half.py``, ``ordinal.py``, ...) defines its
function and one :class:`Coefficient` describing how the instrument report
(:func:`~sdt_survey.reliability.reliability_table`) computes it for a
subscale and shows it; :mod:`sdt_survey.reliability.table` lists the records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ReportOptions:
    """The report's settings a coefficient may use (those of :func:`reliability_table`)."""

    missing: str
    seed: int | None
    confidence: float


@dataclass(frozen=True)
class Coefficient:
    """How the instrument report computes and shows one coefficient of each subscale.

    Attributes
    ----------
    key : str
        Its key in :attr:`ReliabilityReport.coefficients` and in the report's
        ``to_dict()`` (``{key: {subscale: to_dict(value)}}``).
    title : str
        Its name in the heading of the report summary's coefficient section.
    compute : callable
        ``compute(items, options)``: the value for one subscale, from its
        keyed items (a DataFrame) and the :class:`ReportOptions`. Python
        warnings it raises are silenced (the report is a survey of many
        coefficients; call the coefficient's own function to see them).
    to_dict : callable
        ``to_dict(value)``: the value as a mapping for the report's ``to_dict()``.
    columns : callable
        ``columns(value)``: the columns it adds to the subscale's row of
        ``to_frame()``.
    describe : callable
        ``describe(value)``: its text on the subscale's line of ``summary()``.
    """

    key: str
    title: str
    compute: Callable[[pd.DataFrame, ReportOptions], Any]
    to_dict: Callable[[Any], Mapping[str, Any]]
    columns: Callable[[Any], Mapping[str, Any]]
    describe: Callable[[Any], str]


__all__ = ["Coefficient", "ReportOptions"]
