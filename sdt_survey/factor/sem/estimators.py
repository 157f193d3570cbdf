"""The estimators of the SEM engine, one record each, in one table.

An estimator is data, not a branch: its record says what is minimized, which
information matrix and standard errors it uses, which test statistic it
reports and which fit measures that adds, and how the summary names them.
The fitting functions, the summary, invariance testing and the response-file
pipeline look the estimator up in :data:`ESTIMATORS` and never compare its name.

Every estimator is fitted by the one optimizer
(:func:`~sdt_survey.factor.sem.optimize.optimize`) on an objective built from
the one set of model matrices
(:class:`~sdt_survey.factor.sem.implied.ModelMatrices`); then the record's
``covariance`` gives the standard errors
(:mod:`~sdt_survey.factor.sem.vcov`) and its ``robust_test``, if any, the
scaled test and robust fit measures (:mod:`~sdt_survey.factor.sem.tests`).
The record's ``data`` says which objective and which hook signatures:

* ``"continuous"`` (ML, MLR; :func:`~sdt_survey.factor.sem.cfa`): the
  objective is the ML engine (:class:`~sdt_survey.factor.sem.implied.Engine`);
  ``covariance(engine, x, optimum, fiml) -> Covariance`` (as
  :func:`~sdt_survey.factor.sem.vcov.sandwich_vcov`) and ``robust_test`` with
  the signature of :func:`~sdt_survey.factor.sem.tests.yuan_bentler_mplus`.
* ``"ordinal"`` (WLSMV; :func:`~sdt_survey.factor.sem.cfa_ordinal`): the
  objective is DWLS on thresholds and polychoric correlations
  (:class:`~sdt_survey.factor.sem.dwls.DWLSObjective`);
  ``covariance(model, x, optimum, fiml) -> Covariance`` (as
  :func:`~sdt_survey.factor.sem.vcov.robust_sem_vcov`) and
  ``robust_test(model, x, covariance, chisq, df, baseline_chisq, baseline_df, problems) -> dict``
  (as :func:`~sdt_survey.factor.sem.tests.scaled_shifted_test`).

To add an estimator:

1. write a new module of this package with its pieces (its covariance
   function and, for a scaled test, its test function, with the signatures
   above for its ``data``; an estimator with a new objective also writes that
   objective, a class with the methods of
   :class:`~sdt_survey.factor.sem.optimize.Objective` built on
   :class:`~sdt_survey.factor.sem.implied.ModelMatrices`, as
   :mod:`~sdt_survey.factor.sem.dwls` does) and its
   :class:`~sdt_survey.factor.sem.estimator.Estimator` record (lavaan's names
   for ``se``/``test``, the fit keys it adds, the printed labels);
2. here, import the record and add one line to :data:`ESTIMATORS`.

:func:`~sdt_survey.factor.sem.cfa` (or :func:`~sdt_survey.factor.sem.cfa_ordinal`),
invariance testing, the summary, the pipeline and the CLI's ``--estimator``
choices then accept it.

Examples
--------
>>> ESTIMATORS["MLR"].standard_errors, ESTIMATORS["MLR"].test
('robust.huber.white', 'yuan.bentler.mplus')
>>> continuous_estimators()
('ML', 'MLR')
>>> estimator_record("wls")
Traceback (most recent call last):
...
sdt_survey.errors.CFAError: estimator must be one of ML, MLR, not 'WLS'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...errors import CFAError
from .estimator import ROBUST_FIT_KEYS, Estimator


def _on_call(module: str, name: str, **bound: Any) -> Callable[..., Any]:
    """``module.name`` (with ``bound`` keywords, as a partial), imported at its first call.

    The table loads without the numerical modules, so the command line lists the
    estimators (``--estimator``) without loading the SEM engine.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        function = getattr(importlib.import_module(module, __package__), name)
        return function(*args, **{**bound, **kwargs})

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f":func:`~sdt_survey.factor.sem{module}.{name}`" + (f" with {bound}" if bound else "")
    return call


information_vcov = _on_call(".vcov", "information_vcov")
sandwich_vcov = _on_call(".vcov", "sandwich_vcov")
robust_sem_vcov = _on_call(".vcov", "robust_sem_vcov")
yuan_bentler_mplus = _on_call(".tests", "yuan_bentler_mplus")
scaled_shifted_test = _on_call(".tests", "scaled_shifted_test")

ML = Estimator(
    name="ML",
    data="continuous",
    objective="ML",
    information="expected",
    standard_errors="standard",
    test="standard",
    covariance=information_vcov,
)

MLR = Estimator(
    name="MLR",
    data="continuous",
    objective="ML",
    information="observed",
    standard_errors="robust.huber.white",
    test="yuan.bentler.mplus",
    robust_fit_keys=ROBUST_FIT_KEYS,
    cfi_key="cfi_robust",
    tli_key="tli_robust",
    rmsea_key="rmsea_robust",
    se_label="Robust.huber.white",
    test_label="Yuan-Bentler correction (Mplus variant)",
    covariance=sandwich_vcov,
    robust_test=yuan_bentler_mplus,
)

WLSMV = Estimator(
    name="WLSMV",
    data="ordinal",
    objective="DWLS",
    information="expected",
    standard_errors="robust.sem",
    test="scaled.shifted",
    robust_fit_keys=(
        "chisq_scaled",
        "df_scaled",
        "pvalue_scaled",
        "chisq_scaling_factor",
        "chisq_shift_parameter",
        "baseline_chisq_scaled",
        "cfi_scaled",
        "tli_scaled",
        "rmsea_scaled",
        "cfi_robust",
        "tli_robust",
        "rmsea_robust",
    ),
    cfi_key="cfi_robust",
    tli_key="tli_robust",
    rmsea_key="rmsea_robust",
    se_label="Robust.sem",
    test_label="simple second-order correction",  # lavaan's words for the scaled-shifted test
    covariance=robust_sem_vcov,
    robust_test=scaled_shifted_test,
)

#: Every estimator, by lavaan's name. Adding an estimator adds one line here.
ESTIMATORS: dict[str, Estimator] = {
    "ML": ML,
    "MLR": MLR,
    "WLSMV": WLSMV,
}

# lavaan's single-level ``cluster =`` (:mod:`.cluster`): the same estimates, with ``se =
# "robust.cluster"`` (the sandwich whose meat sums scores within clusters; the engine does that when
# the data carry clusters) and the Yuan-Bentler (Mplus) test, for ML and MLR alike. With ML lavaan
# takes the test's h0 information as the "h1" observed information.
_MLR_CLUSTER = replace(MLR, standard_errors="robust.cluster", se_label="Robust.cluster")

#: The estimators with ``cluster=``, by the name the user gives.
CLUSTERED: dict[str, Estimator] = {
    "ML": replace(
        _MLR_CLUSTER, name="ML", robust_test=_on_call(".tests", "yuan_bentler_mplus", h0_information="h1")
    ),
    "MLR": _MLR_CLUSTER,
}


def continuous_estimators() -> tuple[str, ...]:
    """The estimators of the continuous engine (:func:`~sdt_survey.factor.sem.cfa`), in table order."""
    return tuple(name for name, record in ESTIMATORS.items() if record.data == "continuous")


def estimator_record(name: Any, data: str = "continuous", *, cluster: bool = False) -> Estimator:
    """The record of estimator ``name`` (any case) for ``data``, or a :class:`CFAError` naming the choices.

    ``cluster=True``: the record for clustered data (:data:`CLUSTERED`, lavaan's ``cluster =``).
    """
    key = str(name).upper()
    record = ESTIMATORS.get(key)
    if record is None or record.data != data:
        choices = [n for n, r in ESTIMATORS.items() if r.data == data]
        raise CFAError(f"estimator must be one of {', '.join(choices)}, not {key!r}")
    if cluster:
        if key not in CLUSTERED:
            raise CFAError(
                f"cluster= (cluster-robust standard errors) is available for {', '.join(CLUSTERED)}, "
                f"not {key}"
            )
        return CLUSTERED[key]
    return record


__all__ = [
    "CLUSTERED",
    "ESTIMATORS",
    "ROBUST_FIT_KEYS",
    "Estimator",
    "continuous_estimators",
    "estimator_record",
]
