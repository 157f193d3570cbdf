"""The record type of an estimator (:class:`Estimator`); the table of them is :mod:`.estimators`.

Kept apart from the table so that an estimator's own module can define its
record and the table can import it (see :mod:`~sdt_survey.factor.sem.estimators`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .vcov import Covariance

#: The fit measures a robust (scaled) test adds to :meth:`FitMeasures.to_dict`.
ROBUST_FIT_KEYS = ("chisq_scaled", "cfi_robust", "tli_robust", "rmsea_robust")


@dataclass(frozen=True)
class Estimator:
    """One estimator: its objective, information, standard errors, test statistic and printed names.

    Attributes
    ----------
    name : str
        lavaan's name (``estimator = "MLR"``).
    data : {"continuous", "ordinal"}
        ``"continuous"``: the engine of :func:`~sdt_survey.factor.sem.cfa` on the
        items' covariances (and means); ``"ordinal"``: polychoric correlations and
        thresholds, fitted by :func:`~sdt_survey.factor.sem.cfa_ordinal`.
    objective : str
        What is minimized: ``"ML"`` (the normal-theory discrepancy, casewise under
        FIML) or ``"DWLS"`` (diagonally weighted least squares).
    information : {"expected", "observed"}
        The information matrix of the standard errors (ML uses the observed one
        under FIML, as lavaan).
    standard_errors : str
        lavaan's ``se =``: ``"standard"``, ``"robust.huber.white"``, ``"robust.sem"``.
    test : str
        lavaan's ``test =``: ``"standard"``, ``"yuan.bentler.mplus"``, ``"scaled.shifted"``.
    robust_fit_keys : tuple of str
        Fit measures the test adds to the result's ``to_dict()``.
    cfi_key, tli_key, rmsea_key : str
        The fit measures that judge a model (and invariance steps) under this estimator.
    se_label, test_label : str
        How the summary names the standard errors and the test's correction.
    covariance : callable
        ``(objective, x, optimum, fiml) -> Covariance``: the standard errors
        (the objective is the ML engine or the DWLS model, after ``data``).
    robust_test : callable or None
        The scaled test statistic and robust fit measures, or None; its
        signature depends on ``data`` (see the module's docstring).
    """

    name: str
    data: str
    objective: str
    information: str
    standard_errors: str
    test: str
    robust_fit_keys: tuple[str, ...] = ()
    cfi_key: str = "cfi"
    tli_key: str = "tli"
    rmsea_key: str = "rmsea"
    se_label: str = "Standard"
    test_label: str = ""
    covariance: Callable[..., Covariance] | None = None
    robust_test: Callable[..., dict[str, Any]] | None = None

    @property
    def robust(self) -> bool:
        """Whether the estimator reports a scaled test statistic and robust fit measures."""
        return bool(self.robust_fit_keys)

    def information_label(self, missing: str) -> str:
        """The summary's "Information" line (lavaan uses the observed information under FIML)."""
        return "Observed" if self.information == "observed" or missing == "fiml" else "Expected"


__all__ = ["ROBUST_FIT_KEYS", "Estimator"]
