"""Measurement invariance of ordinal items across groups by WLSMV (Wu & Estabrook, 2016).

:func:`ordinal_invariance` (also ``measurement_invariance(..., estimator="WLSMV")``
and ``sdt-survey invariance --estimator WLSMV``) fits the chain that
``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016")``
writes and lavaan fits (goldens: ``tests/goldens/semtools_ordinal_invariance.R``):

==============  ==================================================================
``configural``  the same factors and items in every group; thresholds free
``thresholds``  + equal thresholds (``"thresholds"``); intercepts and scales
                (or residual variances) are then free in groups 2..
``metric``      + equal loadings (``"loadings"``); factor variances free in groups 2..
``scalar``      + equal intercepts (``"intercepts"``, all 0); factor means free in 2..
``strict``      + equal residual variances (``"residuals"``: theta parameterization only,
                as semTools)
==============  ==================================================================

Each step is compared with the one before by lavaan's ``lavTestLRT`` for
WLSMV: the scaled-shifted difference test of Satorra (2000)
(:func:`satorra_2000`), and by the changes in the scaled CFI and RMSEA and
in SRMR, judged by the same rules as the continuous chain
(:mod:`~sdt_survey.factor.sem.invariance`: Chen, 2007, each criterion passed
or failed; supported only when delta CFI passes and the others agree).

With items of three categories the thresholds step is not testable (it has
the configural model's fit, Wu & Estabrook's Proposition 4); with two it is
refused.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ...errors import CFAError
from ...results import jsonable
from ...stats.probability import chi2_sf
from ...stats.threads import single_blas_thread
from .invariance import (
    CRITERIA,
    Comparison,
    InvarianceResult,
    _conclusion,
    _group_labels,
    _judge,
    step_warnings,
)
from .ordinal_partable import wu_estabrook_table
from .spec import as_model
from .wlsmv import OrdinalCFAResult, grouped_result
from .wlsmv_groups import (
    GroupedOrdinalFit,
    fit_ordinal_groups,
    merge_empty_categories,
    prepare_ordinal_groups,
)

__all__ = ["ORDINAL_STEPS", "OrdinalInvarianceResult", "ordinal_invariance", "satorra_2000"]

#: The steps in order, with lavaan's group.equal for each.
ORDINAL_STEPS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "thresholds": ("thresholds",),
    "metric": ("thresholds", "loadings"),
    "scalar": ("thresholds", "loadings", "intercepts"),
    "strict": ("thresholds", "loadings", "intercepts", "residuals"),
}
#: The fit measures of each step shown in the summary (scaled: the WLSMV test).
SUMMARY_KEYS = (
    "chisq",
    "chisq_scaled",
    "df",
    "pvalue_scaled",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "srmr",
)


@dataclass(frozen=True)
class DifferenceTest:
    """A scaled-shifted chi-square difference test (lavaan's ``lavTestLRT`` row for WLSMV)."""

    chisq_diff: float
    df_diff: int
    pvalue: float
    a: float
    b: float


def _orthogonal_complement(h: np.ndarray) -> np.ndarray:
    """Columns spanning the orthogonal complement of the column space of ``h`` (lavaan's QR version)."""
    q, r, _ = linalg.qr(h, pivoting=True)
    tol = 1e-7 * abs(r[0, 0]) if r.size else 0.0
    rank = int(np.sum(np.abs(np.diag(r)) > tol)) if r.size else 0
    return q[:, rank:]


def satorra_2000(fit1: GroupedOrdinalFit, fit0: GroupedOrdinalFit) -> DifferenceTest:
    """The scaled-shifted difference test of a restricted model ``fit0`` against ``fit1``.

    lavaan 0.6-14's ``lav_test_diff_Satorra2000(m1, m0, A.method = "delta",
    scaled.shifted = TRUE)``: the restrictions ``A`` span the orthogonal
    complement of ``H = D1^+ D0`` (the Jacobians of both models' statistics),
    ``P = E1`` (the expected information of ``fit1``) and
    ``M = P^-1 A' (A P^-1 A')^+ A P^-1``; with ``V = bdiag(W_g)`` and
    ``Gamma = bdiag(f_g Gamma_g)``, ``tr(UG) = sum_g f_g tr(W_g Gamma_g W_g D_g M D_g')``,
    ``U = V D M D' V``; ``a = sqrt(m / tr((U Gamma)^2))``, ``b = m - a tr(UG)`` and
    the statistic is ``a (T0 - T1) + b`` on ``m = df0 - df1`` degrees of freedom.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sdt_survey.factor.sem import CFAModel, wu_estabrook_table
    >>> from sdt_survey.factor.sem.wlsmv_groups import fit_ordinal_groups, prepare_ordinal_groups
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=(800, 1)) * 0.8 + rng.normal(size=(800, 4)) * 0.6
    >>> d = pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=["q1", "q2", "q3", "q4"])
    >>> d["g"] = np.repeat(["a", "b"], 400)
    >>> model = CFAModel.from_syntax("F =~ q1 + q2 + q3 + q4")
    >>> data = prepare_ordinal_groups(d, model.indicators, "g")
    >>> fit = lambda eq: fit_ordinal_groups(wu_estabrook_table(model, 2, data.n_th, "theta", eq), data)
    >>> test = satorra_2000(fit(("thresholds",)), fit(("thresholds", "loadings")))
    >>> test.df_diff, round(float(test.chisq_diff), 3)
    (3, 6.21)
    """
    t1, t0 = fit1.fit["chisq"], fit0.fit["chisq"]
    m = int(fit0.fit["df"] - fit1.fit["df"])
    if m <= 0:
        return DifferenceTest(t0 - t1, m, math.nan, math.nan, math.nan)
    m1, m0 = fit1.objective, fit0.objective
    d1, d0 = fit1.covariance.jacobian, fit0.covariance.jacobian
    p_inv = fit1.covariance.bread
    if d1 is None or d0 is None or p_inv is None or not np.all(np.isfinite(p_inv)):
        return DifferenceTest(math.nan, m, math.nan, math.nan, math.nan)
    h = np.linalg.pinv(d1) @ d0
    a_mat = _orthogonal_complement(h).T
    apa = a_mat @ p_inv @ a_mat.T
    eps = np.finfo(float).eps ** 0.5
    keep = ~((np.abs(apa.sum(axis=0)) < eps) & (np.abs(apa.sum(axis=1)) < eps))
    a_mat = a_mat[keep]
    core = p_inv @ a_mat.T @ np.linalg.pinv(a_mat @ p_inv @ a_mat.T) @ a_mat @ p_inv
    fg = m1.fg
    w_all = np.concatenate(m1.w_groups)
    gamma_all = linalg.block_diag(*[f * s.gamma for f, s in zip(fg, m1.stats, strict=True)])
    size = m1.m_stat
    trace = 0.0
    for g in range(m1.n_groups):
        rows = slice(g * size, (g + 1) * size)
        wg, dg = m1.w_groups[g], d1[rows]
        ug = (wg[:, None] * m1.stats[g].gamma * wg[None, :]) @ dg @ core @ dg.T
        trace += fg[g] * float(np.trace(ug))
    u_all = (w_all[:, None] * d1) @ core @ (w_all[:, None] * d1).T
    ug_all = u_all @ gamma_all
    trace2 = float(np.sum(ug_all * ug_all.T))
    a = math.sqrt(m / trace2)
    b = m - a * trace
    stat = (t0 - t1) * a + b
    _ = m0
    return DifferenceTest(stat, m, float(chi2_sf(stat, m)), a, b)


@dataclass
class OrdinalInvarianceResult(InvarianceResult):
    """The fitted steps of the ordinal (WLSMV) chain, their comparisons and what they allow.

    As :class:`~sdt_survey.factor.sem.invariance.InvarianceResult`, with
    ``steps`` of :class:`~sdt_survey.factor.sem.wlsmv.OrdinalCFAResult` (one
    more step, ``thresholds``), each comparison's ``chisq_diff`` the
    scaled-shifted difference statistic (Satorra, 2000) and the fit changes
    in the scaled CFI and RMSEA (lavaan's ``cfi.scaled``, ``rmsea.scaled``).
    """

    parameterization: str = "theta"

    def fit_table(self) -> pd.DataFrame:
        """One row per step: lavaan's fit measures of the WLSMV fit (plain, scaled, robust)."""
        return pd.DataFrame.from_dict({name: res.fit for name, res in self.steps.items()}, orient="index")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "group": self.group,
                "groups": {str(k): v for k, v in self.groups.items()},
                "estimator": self.estimator,
                "parameterization": self.parameterization,
                "steps": {name: dict(res.fit) for name, res in self.steps.items()},
                "comparisons": [c.to_dict() for c in self.comparisons],
                "conclusion": self.conclusion,
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def _heading(self) -> list[str]:
        return [
            f"Ordinal measurement invariance across {self.group!r}: "
            + ", ".join(f"{k} (n = {v})" for k, v in self.groups.items())
            + f"; reference group {self.reference}"
        ]

    def summary(self, digits: int = 3) -> str:
        lines = [
            *self._heading(),
            f"Estimator WLSMV ({self.parameterization} parameterization, identified as Wu & Estabrook "
            f"2016); criterion {self.criterion}"
            + (f"; freed (partial invariance): {', '.join(self.free)}" if self.free else ""),
            "",
            self.fit_table()[list(SUMMARY_KEYS)].to_string(float_format=lambda v: f"{v:.{digits}f}"),
        ]
        if self.comparisons:
            lines += ["", "Comparisons (scaled-shifted difference test, Satorra 2000; scaled CFI and RMSEA):"]
            lines.append(self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.{digits}f}"))
        return "\n".join(
            lines + self._closing_lines(digits, f" (factor SD 1 in {self.group} {self.reference})")
        )


def _compare(
    a_name: str, a: GroupedOrdinalFit, b_name: str, b: GroupedOrdinalFit, criterion: str
) -> Comparison:
    test = satorra_2000(a, b)
    d_cfi = b.fit["cfi_scaled"] - a.fit["cfi_scaled"]
    d_rmsea = b.fit["rmsea_scaled"] - a.fit["rmsea_scaled"]
    d_srmr = b.fit["srmr"] - a.fit["srmr"]
    status, reason, criteria = _judge(b_name, d_cfi, d_rmsea, d_srmr, test.pvalue, criterion)
    if test.df_diff == 0:
        reason += "; the two models are equivalent (no degrees of freedom to test)"
    return Comparison(
        a_name,
        b_name,
        float(test.chisq_diff),
        test.df_diff,
        test.pvalue,
        d_cfi,
        d_rmsea,
        d_srmr,
        status == "supported",
        reason,
        None,
        status,
        criteria,
    )


def _latent_means(scalar: OrdinalCFAResult, factors: Sequence[str], comparable: bool) -> pd.DataFrame:
    par = scalar.parameters
    labels = list(scalar.groups)
    rows = par[(par["op"] == "~1") & par["lhs"].isin(factors) & (par["group"] != labels[0])]
    return pd.DataFrame(
        {
            "factor": rows["lhs"].to_numpy(),
            "group": rows["group"].to_numpy(),
            "reference": labels[0],
            "difference": rows["est"].to_numpy(),
            "se": rows["se"].to_numpy(),
            "z": rows["z"].to_numpy(),
            "pvalue": rows["pvalue"].to_numpy(),
            # The factor's variance is 1 in the reference group (std.lv): the difference is in its SDs.
            "std_difference": rows["est"].to_numpy(),
            "comparable": comparable,
        }
    )


def ordinal_invariance(
    data: pd.DataFrame,
    model: Any,
    group: str,
    *,
    parameterization: str = "theta",
    free: Sequence[str] = (),
    steps: Sequence[str] = tuple(ORDINAL_STEPS),
    criterion: str = "chen2007",
    group_order: str | Sequence[Any] = "appearance",
    merge_empty: bool = False,
) -> OrdinalInvarianceResult:
    """Test invariance of a factor model of ordinal items across groups by WLSMV (Wu & Estabrook, 2016).

    Parameters
    ----------
    data : pandas.DataFrame
        Items (integer categories, reverse-keyed) and the group column; rows
        with a missing item are left out (lavaan's listwise default).
    model : str, Instrument or CFAModel
    group : str
        The column whose values define the groups (the first is the reference).
    parameterization : {"theta", "delta"}
        ``"theta"`` (default) allows the strict step; under ``"delta"`` it is
        left out (semTools refuses equal residual variances there). The other
        steps fit the same under both.
    free : sequence of str
        Loadings or intercepts freed across groups (lavaan's ``group.partial``).
    steps : sequence of str
        Which of ``configural``, ``thresholds``, ``metric``, ``scalar``, ``strict`` to fit.
    criterion : {"chen2007", "cheung-rensvold"}
    group_order : {"appearance", "sorted"} or sequence
        As :func:`~sdt_survey.factor.sem.invariance.measurement_invariance`.
    merge_empty : bool
        Merge categories some group never uses into the next lower one first
        (:func:`~sdt_survey.factor.sem.wlsmv_groups.merge_empty_categories`;
        a note says which). By default such items are refused, as lavaan
        cannot compare their thresholds.

    Returns
    -------
    OrdinalInvarianceResult

    Raises
    ------
    CFAError
        Unknown steps or criteria, items with different categories across
        groups, or data and model problems.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=(800, 1)) * 0.8 + rng.normal(size=(800, 4)) * 0.6
    >>> d = pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=["q1", "q2", "q3", "q4"])
    >>> d["cohort"] = np.repeat(["2023", "2024"], 400)
    >>> res = ordinal_invariance(d, "F =~ q1 + q2 + q3 + q4", "cohort")
    >>> list(res.steps)
    ['configural', 'thresholds', 'metric', 'scalar', 'strict']
    >>> [c.status for c in res.comparisons]
    ['borderline', 'supported', 'supported', 'supported']
    >>> round(res.comparisons[0].chisq_diff, 3), res.comparisons[0].df_diff
    (12.394, 8)
    """
    if criterion not in CRITERIA:
        raise CFAError(f"criterion must be one of {', '.join(CRITERIA)}, not {criterion!r}")
    if parameterization not in ("delta", "theta"):
        raise CFAError(f"parameterization must be 'delta' or 'theta', not {parameterization!r}")
    steps = (steps,) if isinstance(steps, str) else tuple(steps)
    unknown = [s for s in steps if s not in ORDINAL_STEPS]
    if unknown:
        raise CFAError(
            f"unknown invariance step(s) {unknown}; the ordinal steps are {', '.join(ORDINAL_STEPS)}"
        )
    notes = []
    if parameterization == "delta" and "strict" in steps:
        steps = tuple(s for s in steps if s != "strict")
        notes.append(
            "strict invariance was not tested: equal residual variances need parameterization='theta' "
            "(as semTools::measEq.syntax)"
        )
    if not steps:
        raise CFAError("no steps to fit")
    free = (free,) if isinstance(free, str) else tuple(free)
    ordered = [s for s in ORDINAL_STEPS if s in steps]
    model = as_model(model)
    if merge_empty and isinstance(data, pd.DataFrame) and group in data.columns:
        data, merged = merge_empty_categories(data, model.indicators, group)
        notes += merged
    with single_blas_thread():
        prepared = prepare_ordinal_groups(
            data, model.indicators, group, _group_labels(data, group, group_order)
        )
        fits: dict[str, GroupedOrdinalFit] = {}
        for step in ordered:
            table = wu_estabrook_table(
                model, len(prepared.labels), prepared.n_th, parameterization, ORDINAL_STEPS[step], free
            )
            fits[step] = fit_ordinal_groups(table, prepared)
        comparisons = [_compare(a, fits[a], b, fits[b], criterion) for a, b in itertools.pairwise(ordered)]
    results = {step: grouped_result(model, prepared, fit) for step, fit in fits.items()}
    factors = [f for f in model.factors if f not in model.higher_order_factors]
    conclusion, highest = _ordinal_conclusion(group, factors, results, comparisons, free)
    latent = None
    if "scalar" in results:
        latent = _latent_means(results["scalar"], factors, highest in ("scalar", "strict"))
    if min(prepared.n_th) == 2 and "thresholds" in results:
        notes.append(
            "items with three categories: the thresholds step is equivalent to the configural model "
            "(Wu & Estabrook, 2016), so equal thresholds are assumed, not tested"
        )
    return OrdinalInvarianceResult(
        group=group,
        groups={label: int(s.n) for label, s in zip(prepared.labels, prepared.stats, strict=True)},
        estimator="WLSMV",
        steps=results,
        comparisons=comparisons,
        latent_means=latent,
        conclusion=conclusion,
        criterion=criterion,
        free=free,
        highest=highest,
        warnings=step_warnings(results),
        notes=notes,
        parameterization=parameterization,
    )


def _ordinal_conclusion(
    group: str,
    factors: Sequence[str],
    results: dict[str, OrdinalCFAResult],
    comparisons: list[Comparison],
    free: Sequence[str],
    across: str | None = None,
) -> tuple[str, str | None]:
    """The continuous chain's conclusion, with the thresholds step judged first.

    ``across`` names what is compared (default "<group> groups"; "waves" for longitudinal invariance).

    When equal thresholds hold, the rest reads as the continuous chain (metric
    compared with the thresholds model); when they do not, the items' categories
    are used differently across groups and nothing further is compared.
    """
    groups = across or f"{group} groups"
    by_step = {c.to_step: c for c in comparisons}
    first = next(iter(results), None)
    if first not in ("configural", "thresholds"):
        said = ", ".join(f"{c.to_step} {c.status}" for c in comparisons)
        return (
            f"Only the {', '.join(results)} steps were fitted ({said or 'no comparison'}); fit the chain "
            f"from the configural step to conclude which comparisons across {groups.split()[-1]} hold.",
            None,
        )
    unjudged = next((c for c in comparisons if c.criteria.get("cfi") is None), None)
    if unjudged is not None and not any(c.supported for c in comparisons[: comparisons.index(unjudged)]):
        return (
            f"Invariance across {groups} could not be judged: the fit of the {unjudged.from_step} or "
            f"{unjudged.to_step} model could not be computed (see the warnings). Too few respondents per "
            f"{groups.split()[-1][:-1]} for this many items, or an answer category almost nobody used, "
            "is the usual cause.",
            None,
        )
    th = by_step.get("thresholds")
    if th is not None and not th.supported:
        what = ", ".join(f.replace("_", " ") for f in factors)
        word = "is only borderline" if th.status == "borderline" else "does not hold"
        return (
            f"The answer categories of the items of {what} are not used the same way across {groups}: "
            f"threshold invariance {word} ({th.reason}). Neither means nor relations of the factors can be "
            "compared directly.",
            "configural",
        )
    rest = {k: v for k, v in results.items() if k != "thresholds"}
    return _conclusion(
        group,
        factors,
        rest,
        comparisons,
        free,
        "WLSMV",
        cfi_key="cfi_scaled",
        cfi_name="scaled CFI",
        across=across,
    )
