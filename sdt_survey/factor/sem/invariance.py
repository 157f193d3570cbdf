"""Measurement invariance across groups: multi-group CFA with lavaan's ``group.equal``.

:func:`measurement_invariance` fits a factor model in several groups (PGY
cohorts, programs, survey languages) four times, each step adding equality
constraints across groups, as lavaan's ``group.equal``:

==============  ==========================================================
``configural``  the same factors and items in every group; nothing equal
``metric``      + equal loadings (``"loadings"``): the factors mean the same
``scalar``      + equal intercepts (``"intercepts"``); factor means are then
                free in groups 2.. (group 1 is the reference, mean 0)
``strict``      + equal residual variances (``"residuals"``)
==============  ==========================================================

``free=`` releases named parameters from the constraints in every step
(lavaan's ``group.partial``): ``"relatedness_satisfaction=~rs2"`` or
``"rs2=~"`` (the loading of item rs2), ``"rs2~1"`` (its intercept),
``"rs2~~rs2"`` (its residual variance). That gives *partial* invariance.

Each step is compared with the one before by a likelihood-ratio test (the
chi-square difference; with ``estimator="MLR"`` the Satorra-Bentler (2001)
scaled difference, as lavaan's ``lavTestLRT``) and by the changes in CFI,
RMSEA and SRMR (with MLR: robust CFI and RMSEA), judged against stated
cutoffs:

* ``criterion="chen2007"`` (default; Chen, 2007): each criterion is passed
  or failed: ``delta CFI > -0.010``, ``delta RMSEA < 0.015``, ``delta SRMR <
  0.030`` (metric) / ``< 0.010`` (scalar, strict). A step is *supported* only
  when delta CFI passes and RMSEA and SRMR agree; it is *borderline* when
  delta CFI passes but another criterion fails, or when delta CFI is within
  .002 of its cutoff; otherwise it is *not supported*.
* ``criterion="cheung-rensvold"`` (Cheung & Rensvold, 2002): delta CFI alone
  (borderline within .002 of -0.01).

The chi-square difference test is reported, passed (p >= .05) or failed, but
does not decide (with a few hundred respondents per group it flags trivial
differences). Each comparison's ``status``, ``criteria`` and ``reason`` are
in ``to_dict()``. Only supported steps count: the conclusion
names the highest level that holds and what it allows: relations among
factors (metric), factor means (scalar).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(5)
>>> f = rng.normal(size=(900, 1))
>>> d = pd.DataFrame(f * 0.8 + rng.normal(size=(900, 4)) * 0.6, columns=["q1", "q2", "q3", "q4"])
>>> d["cohort"] = np.repeat(["A", "B", "C"], 300)
>>> res = measurement_invariance(d, "belonging =~ q1 + q2 + q3 + q4", "cohort")
>>> [c["supported"] for c in res.to_dict()["comparisons"]]
[True, True, True]
>>> res.conclusion.split(":")[0]
'cohort means on belonging can be compared'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import CFAError
from ...results import Result, jsonable
from ...stats.order import natural_sorted
from ...stats.probability import chi2_sf
from ...stats.threads import single_blas_thread
from .estimators import ESTIMATORS, estimator_record
from .fitting import fit_prepared
from .results import CFAResult
from .samplestats import prepare_data
from .spec import as_model

__all__ = ["STEPS", "Comparison", "InvarianceResult", "measurement_invariance"]

#: The steps in order, with lavaan's group.equal for each.
STEPS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
CRITERIA = ("chen2007", "cheung-rensvold")
#: Cutoffs of Chen (2007): delta CFI, delta RMSEA, delta SRMR (metric; scalar and strict).
CHEN_2007 = {"cfi": -0.010, "rmsea": 0.015, "srmr": {"metric": 0.030, "scalar": 0.010, "strict": 0.010}}
CHEUNG_RENSVOLD_2002 = {"cfi": -0.01}
_TOL = 1e-12  # differences computed in floating point: -0.0100000000001 counts as -0.010


@dataclass(frozen=True)
class Comparison:
    """One step against the step before it."""

    from_step: str
    to_step: str
    chisq_diff: float
    df_diff: int
    pvalue: float
    delta_cfi: float
    delta_rmsea: float
    delta_srmr: float
    supported: bool
    reason: str
    scaling_factor: float | None = None  # Satorra-Bentler 2001 (MLR)
    #: "supported", "borderline" or "not supported" (only "supported" counts as holding).
    status: str = ""
    #: Each criterion passed (True), failed (False) or not computable (None): chisq, cfi, rmsea, srmr.
    criteria: dict[str, bool | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "from": self.from_step,
                "to": self.to_step,
                "chisq_diff": self.chisq_diff,
                "df_diff": self.df_diff,
                "pvalue": self.pvalue,
                "delta_cfi": self.delta_cfi,
                "delta_rmsea": self.delta_rmsea,
                "delta_srmr": self.delta_srmr,
                "supported": self.supported,
                "status": self.status,
                "criteria": self.criteria,
                "reason": self.reason,
            }
        )


@dataclass
class InvarianceResult(Result):
    """The fitted steps, their comparisons and what they allow.

    Attributes
    ----------
    group : str
        The group column.
    groups : dict
        Group label -> respondents used.
    steps : dict of str -> CFAResult
    comparisons : list of Comparison
    latent_means : pandas.DataFrame or None
        From the scalar step: each factor's mean in groups 2.. minus group 1,
        with SE, z, p and the difference in SDs of the factor in group 1
        (``std_difference``); ``comparable`` says whether scalar invariance holds.
    conclusion : str
    criterion : str
    free : tuple of str
        Parameters released from the constraints (partial invariance).
    """

    group: str
    groups: dict[str, int]
    estimator: str
    steps: dict[str, CFAResult]
    comparisons: list[Comparison]
    latent_means: pd.DataFrame | None
    conclusion: str
    criterion: str
    free: tuple[str, ...] = ()
    highest: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str | None:
        """The reference group: the first of :attr:`groups` (latent means are differences from it)."""
        return next(iter(self.groups), None)

    def fit_table(self) -> pd.DataFrame:
        """One row per step: chi-square, df, CFI, TLI, RMSEA (interval), SRMR, AIC, BIC (+ robust)."""
        rows = {name: res.fit.to_dict() for name, res in self.steps.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_frame(self) -> pd.DataFrame:
        """The comparisons as a table (one row per step after the first)."""
        return pd.DataFrame([c.to_dict() for c in self.comparisons])

    def to_dict(self) -> dict[str, Any]:
        """``{"group", "groups", "steps", "comparisons", "conclusion", "warnings", "notes"}``; NaN is null."""
        return jsonable(
            {
                "group": self.group,
                "groups": self.groups,
                "steps": {name: res.fit.to_dict() for name, res in self.steps.items()},
                "comparisons": [c.to_dict() for c in self.comparisons],
                "conclusion": self.conclusion,
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def summary(self, digits: int = 3) -> str:
        """The fit of each step, the comparisons, latent mean differences and the conclusion."""
        lines = [
            *self._heading(),
            f"Estimator {self.estimator}; criterion {self.criterion}"
            + (f"; freed (partial invariance): {', '.join(self.free)}" if self.free else ""),
            "",
        ]
        fit = self.fit_table()
        record = next(iter(self.steps.values())).record if self.steps else ESTIMATORS[self.estimator]
        robust = record.robust
        scaled = ["chisq_scaled"] if robust else []
        cols = [
            "chisq",
            *scaled,
            "df",
            record.cfi_key,
            record.tli_key,
            record.rmsea_key,
            "srmr",
            "aic",
            "bic",
        ]
        lines.append(fit[cols].to_string(float_format=lambda v: f"{v:.{digits}f}"))
        if self.comparisons:
            lines += [
                "",
                "Comparisons" + (" (Satorra-Bentler 2001 scaled difference)" if robust else "") + ":",
            ]
            lines.append(self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.{digits}f}"))
        return "\n".join(lines + self._closing_lines(digits))

    def _closing_lines(self, digits: int, scale: str = "") -> list[str]:
        """The summary's end, shared by every chain: latent mean differences, conclusion, warnings, notes.

        ``scale`` says how the latent means are scaled (e.g. " (factor SD 1 in pgy 1)").
        """
        lines: list[str] = []
        if self.latent_means is not None and not self.latent_means.empty:
            note = (
                ""
                if self.latent_means["comparable"].all()
                else " (NOT interpretable: scalar invariance fails)"
            )
            lines += ["", f"Latent mean differences from the scalar model{scale}{note}:"]
            show = self.latent_means.drop(columns="comparable")
            lines.append(show.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}"))
        lines += ["", "Conclusion: " + self.conclusion]
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return lines

    def __str__(self) -> str:
        return self.summary()

    def _heading(self) -> list[str]:
        """The first line(s) of the summary: what was compared."""
        return [
            f"Measurement invariance across {self.group!r}: "
            + ", ".join(f"{k} (n = {v})" for k, v in self.groups.items())
            + f"; reference group {self.reference}"
        ]


#: How close to the delta-CFI cutoff a change counts as borderline (within .002 of -.010).
BORDERLINE_CFI = 0.002


def _judge(
    step: str, delta_cfi: float, delta_rmsea: float, delta_srmr: float, pvalue: float, criterion: str
) -> tuple[str, str, dict[str, bool | None]]:
    """The step's status, the reason in words, and each criterion passed or failed.

    A step is supported only when delta CFI stays above -0.010 and the other fit criteria agree
    (Chen, 2007: delta RMSEA below .015 and delta SRMR below its cutoff); a step whose delta CFI
    passes but another criterion fails, or whose delta CFI is within .002 of the cutoff, is
    borderline. The chi-square difference test is reported, passed or failed, but does not decide
    (with a few hundred respondents per group it flags trivial differences).
    """
    srmr_cut = CHEN_2007["srmr"].get(step, 0.010)
    finite = all(math.isfinite(v) for v in (delta_cfi, delta_rmsea, delta_srmr))
    criteria: dict[str, bool | None] = {
        "chisq": None if not math.isfinite(pvalue) else bool(pvalue >= 0.05),
        "cfi": None if not math.isfinite(delta_cfi) else bool(delta_cfi > CHEN_2007["cfi"] + _TOL),
        "rmsea": None if not math.isfinite(delta_rmsea) else bool(delta_rmsea < CHEN_2007["rmsea"] - _TOL),
        "srmr": None if not math.isfinite(delta_srmr) else bool(delta_srmr < srmr_cut - _TOL),
    }
    if not finite:
        return "not supported", "fit changes could not be computed", criteria
    source = "Cheung & Rensvold, 2002" if criterion == "cheung-rensvold" else "Chen, 2007"
    words = [f"delta CFI = {delta_cfi:.3f}"]
    if criterion != "cheung-rensvold":
        words += [f"delta RMSEA = {delta_rmsea:.3f}", f"delta SRMR = {delta_srmr:.3f}"]
    said = ", ".join(words)
    if not criteria["cfi"]:
        return "not supported", f"{said}: delta CFI <= -0.010 ({source})", criteria
    others = [] if criterion == "cheung-rensvold" else [k for k in ("rmsea", "srmr") if not criteria[k]]
    near = delta_cfi <= CHEN_2007["cfi"] + BORDERLINE_CFI + _TOL
    if others or near:
        why = [f"delta {k.upper()} at or above its cutoff" for k in others]
        if near:
            why.append("delta CFI within .002 of -0.010")
        return "borderline", f"{said}: borderline, {' and '.join(why)} ({source})", criteria
    return "supported", f"{said}: within the cutoffs ({source})", criteria


def _compare(a_name: str, a: CFAResult, b_name: str, b: CFAResult, criterion: str) -> Comparison:
    fa, fb = a.fit, b.fit
    df_diff = int(fb.df - fa.df)
    scaling = None
    if fa.robust and fb.robust:
        # Satorra & Bentler (2001), as lavaan's lavTestLRT for MLR (lav_test_diff_SatorraBentler2001).
        c1 = fa.scaling_factor if fa.df > 0 else 1.0
        c0 = fb.scaling_factor
        cd = (fb.df * c0 - fa.df * c1) / df_diff if df_diff else math.nan
        scaling = cd if cd >= 0 else math.nan
        chisq_diff = (fb.chisq - fa.chisq) / scaling if df_diff else fb.chisq - fa.chisq
        d_cfi = fb.cfi_robust - fa.cfi_robust
        d_rmsea = fb.rmsea_robust - fa.rmsea_robust
    else:
        chisq_diff = fb.chisq - fa.chisq
        d_cfi = fb.cfi - fa.cfi
        d_rmsea = fb.rmsea - fa.rmsea
    d_srmr = fb.srmr - fa.srmr
    pvalue = float(chi2_sf(chisq_diff, df_diff)) if df_diff > 0 and math.isfinite(chisq_diff) else math.nan
    status, reason, criteria = _judge(b_name, d_cfi, d_rmsea, d_srmr, pvalue, criterion)
    return Comparison(
        a_name,
        b_name,
        float(chisq_diff),
        df_diff,
        pvalue,
        d_cfi,
        d_rmsea,
        d_srmr,
        status == "supported",
        reason,
        scaling,
        status,
        criteria,
    )


def _words(name: str) -> str:
    return name.replace("_", " ")


def _list(names: Sequence[str]) -> str:
    names = [_words(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _latent_means(scalar: CFAResult, comparable: bool) -> pd.DataFrame:
    table = scalar._estimates_table()
    factors = scalar._spec.lv
    labels = list(scalar.groups)
    reference = labels[0]
    variances = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"]) & (table["group"] == reference)]
    ref_var = dict(zip(variances["lhs"], variances["est"], strict=True))
    rows = table[(table["op"] == "~1") & table["lhs"].isin(factors) & (table["group"] != reference)]
    out = pd.DataFrame(
        {
            "factor": rows["lhs"].to_numpy(),
            "group": rows["group"].to_numpy(),
            "reference": reference,
            "difference": rows["est"].to_numpy(),
            "se": rows["se"].to_numpy(),
            "z": rows["z"].to_numpy(),
            "pvalue": rows["pvalue"].to_numpy(),
        }
    )
    sd = out["factor"].map(lambda f: math.sqrt(ref_var[f]) if ref_var.get(f, 0) > 0 else math.nan)
    out["std_difference"] = out["difference"] / sd
    out["comparable"] = comparable
    return out


def step_warnings(results: Mapping[str, Any]) -> list[str]:
    """Every step's warnings, each named by its step (``metric: ...``), in the chain's order."""
    return [f"{step}: {w}" for step, res in results.items() for w in res.warnings]


def _conclusion(
    group: str,
    factors: Sequence[str],
    results: dict[str, CFAResult],
    comparisons: list[Comparison],
    free: Sequence[str],
    estimator: str,
    cfi_key: str | None = None,
    cfi_name: str | None = None,
    across: str | None = None,
) -> tuple[str, str | None]:
    """The conclusion in words; ``across`` names what is compared (default "<group> groups")."""
    groups = across or f"{group} groups"
    unit = groups.split()[-1]
    by_step = {c.to_step: c for c in comparisons}
    order = [s for s in STEPS if s in results]
    highest = order[0] if order else None
    for step in order[1:]:
        if by_step[step].supported:
            highest = step
        else:
            break
    partial = f" (partial: {', '.join(free)} free across {unit})" if free else ""
    first = next(iter(results.values()), None)
    record = getattr(first, "record", None) or ESTIMATORS[estimator]  # cluster-aware
    cfi_name = cfi_name or ("robust CFI" if record.robust else "CFI")
    parts = []
    conf = results.get("configural")
    if conf is not None:
        if isinstance(conf.fit, dict):  # the ordinal chain: judged by cfi_key (the scaled CFI) and its RMSEA
            cfi, rmsea = conf.fit[cfi_key], conf.fit[cfi_key.replace("cfi", "rmsea")]
        else:
            cfi, rmsea = getattr(conf.fit, record.cfi_key), getattr(conf.fit, record.rmsea_key)
        if cfi < 0.90 or rmsea > 0.10:
            parts.append(
                f"Caution: the configural model fits poorly ({cfi_name} = {cfi:.3f}, "
                f"RMSEA = {rmsea:.3f}), so every comparison rests on a poor baseline."
            )
    what = _list(factors)
    failed = next((by_step[s] for s in order[1:] if not by_step[s].supported), None)

    def delta(c: Comparison) -> str:
        return f"delta {cfi_name} = {c.delta_cfi:.3f}"

    def fails(c: Comparison) -> str:
        return "is only borderline" if c.status == "borderline" else "does not hold"

    if highest in ("scalar", "strict"):
        text = (
            f"{group} means on {what} can be compared: scalar invariance holds{partial}, "
            f"{delta(by_step['scalar'])}"
        )
        if "strict" in by_step:
            c = by_step["strict"]
            if c.supported:
                text += f"; residual variances are equal too (strict invariance, {delta(c)})"
            else:
                text += f"; strict invariance {fails(c)} ({c.reason}), which does not affect comparing means"
        parts.append(text + ".")
    elif highest == "metric":
        text = (
            f"{groups} can be compared on relations among {what} (correlations, regressions) "
            f"but not on their means: metric invariance holds{partial} ({delta(by_step['metric'])})"
        )
        if failed is not None:
            text += (
                f" but scalar invariance {fails(failed)} ({failed.reason}). Look for items with differing "
                "intercepts (free=['item~1']) to test partial scalar invariance"
            )
        parts.append(text + ".")
    elif highest == "configural" and failed is not None and failed.status == "borderline":
        parts.append(
            f"Whether the items measure {what} the same way across {groups} is borderline: metric "
            f"invariance {fails(failed)} ({failed.reason}). Compare relations and means of the factors "
            "with caution, and look for items with differing loadings (free=['item=~'])."
        )
    elif highest == "configural" and failed is not None:
        parts.append(
            f"The items do not measure {what} the same way across {groups}: metric invariance "
            f"{fails(failed)} ({failed.reason}). Neither means nor relations of the factors can be compared "
            "directly; look for items with differing loadings (free=['item=~'])."
        )
    else:
        parts.append(f"Only the configural model was fitted across {groups}.")
    return " ".join(parts), highest


def _group_labels(data: pd.DataFrame, group: str, order: str | Sequence[Any]) -> list[Any] | None:
    """The group values in the order asked for (None: the column is absent, prepare_data says so)."""
    if not isinstance(data, pd.DataFrame) or group not in data.columns:
        return None
    column = data[group]
    present = list(pd.unique(column.dropna()))
    if isinstance(order, str):
        if order == "appearance":
            return present
        if order != "sorted":
            raise CFAError(f"group_order must be 'sorted', 'appearance' or a list of groups, not {order!r}")
        if isinstance(column.dtype, pd.CategoricalDtype):  # a declared ordering: its levels, in order
            return [level for level in column.cat.categories if level in set(present)]
        return natural_sorted(present)
    wanted = list(order)
    left_out = [g for g in present if g not in wanted]
    if left_out:
        raise CFAError(
            f"group_order does not list the group(s) {', '.join(map(str, left_out))} of column {group!r}"
        )
    return [g for g in wanted if g in set(present)]


def measurement_invariance(
    data: pd.DataFrame,
    model: Any,
    group: str,
    *,
    estimator: str = "ML",
    missing: str = "auto",
    free: Sequence[str] = (),
    steps: Sequence[str] = tuple(STEPS),
    std_lv: bool = False,
    criterion: str = "chen2007",
    group_order: str | Sequence[Any] = "appearance",
    cluster: str | None = None,
    parameterization: str = "theta",
) -> InvarianceResult:
    """Test configural, metric, scalar and strict invariance of a factor model across groups.

    Parameters
    ----------
    data : pandas.DataFrame
        Items (reverse-keyed) and the group column.
    model : str, Instrument or CFAModel
        As for :func:`~sdt_survey.factor.sem.cfa`.
    group : str
        The column whose values define the groups; the first group in
        ``group_order`` is the reference for latent means (``reference``).
    estimator : {"ML", "MLR", "WLSMV"}
        With MLR, chi-square differences are Satorra-Bentler (2001) scaled and
        the CFI/RMSEA changes use the robust indices. With WLSMV the items are
        ordinal: the chain of Wu & Estabrook (2016), with a ``thresholds`` step
        before ``metric``, scaled-shifted difference tests and the scaled
        indices (:func:`~sdt_survey.factor.sem.ordinal_invariance.ordinal_invariance`;
        ``std_lv`` is then always true, ``missing`` listwise).
    missing : {"auto", "listwise", "fiml"}
    free : sequence of str
        Parameters freed in every step (lavaan's ``group.partial``).
    steps : sequence of str
        Which of ``configural``, ``metric``, ``scalar``, ``strict`` to fit.
    std_lv : bool
        Identify factors by unit variances (in groups 2.. the variances are
        free once loadings are equal, as lavaan does).
    criterion : {"chen2007", "cheung-rensvold"}
    group_order : {"appearance", "sorted"} or sequence
        The order of the groups. ``"appearance"`` (default, as lavaan): order
        of first appearance in ``data``; ``"sorted"``: the levels of a
        categorical column in their declared order, else natural order
        (``PGY 2`` before ``PGY 10``), which cohort tables and the report use;
        or the group values in the order wanted.
    cluster : str, optional
        Cluster column (e.g. ``"program"``): every step is fitted with
        cluster-robust standard errors and test (see
        :func:`~sdt_survey.factor.sem.cfa`), so chi-square differences are
        Satorra-Bentler (2001) scaled, as lavaan's ``lavTestLRT`` of fits with
        ``cluster =`` (for ML too).
    parameterization : {"theta", "delta"}
        WLSMV only: lavaan's ``parameterization`` (strict invariance needs ``"theta"``).

    Returns
    -------
    InvarianceResult

    Raises
    ------
    CFAError
        For unknown steps, criteria, estimators, or data and model problems.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(12)
    >>> f = rng.normal(size=(600, 1))
    >>> d = pd.DataFrame(f * 0.8 + rng.normal(size=(600, 4)) * 0.6, columns=["rs1", "rs2", "rs3", "rs4"])
    >>> d.loc[300:, "rs2"] += 0.8  # rs2 reads higher in the second cohort at the same belonging
    >>> d["cohort"] = np.repeat(["2023", "2024"], 300)
    >>> model = "belonging =~ rs1 + rs2 + rs3 + rs4"
    >>> res = measurement_invariance(d, model, "cohort", steps=("configural", "metric", "scalar"))
    >>> res.highest
    'metric'
    >>> measurement_invariance(d, model, "cohort", free=["rs2~1"]).highest
    'strict'
    """
    if str(estimator).upper() == "WLSMV":
        # Ordinal items: the Wu & Estabrook (2016) chain by WLSMV (a thresholds step before metric).
        from .ordinal_invariance import ORDINAL_STEPS, ordinal_invariance

        if missing not in ("auto", "listwise"):
            raise CFAError("WLSMV uses complete cases (lavaan's listwise default); use missing='listwise'")
        if cluster is not None:
            raise CFAError(
                "cluster-robust errors are for ML and MLR here (lavaan's cluster= with WLSMV is not "
                "reproduced); drop cluster= or use estimator='MLR'"
            )
        return ordinal_invariance(
            data,
            model,
            group,
            parameterization=parameterization,
            free=free,
            steps=tuple(ORDINAL_STEPS) if tuple(steps) == tuple(STEPS) else steps,
            criterion=criterion,
            group_order=group_order,
        )
    estimator = estimator_record(estimator).name
    if criterion not in CRITERIA:
        raise CFAError(f"criterion must be one of {', '.join(CRITERIA)}, not {criterion!r}")
    if isinstance(steps, str):
        steps = (steps,)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise CFAError(f"unknown invariance step(s) {unknown}; the steps are {', '.join(STEPS)}")
    if not steps:
        raise CFAError("no steps to fit")
    if isinstance(free, str):
        free = (free,)
    ordered = [s for s in STEPS if s in steps]
    model = as_model(model)
    with single_blas_thread():
        prep = prepare_data(
            data,
            model.indicators,
            group,
            missing,
            group_labels=_group_labels(data, group, group_order),
            cluster=cluster,
        )
        if len(prep.groups) < 2:
            raise CFAError(f"column {group!r} has only one group; invariance needs two or more")
        results: dict[str, CFAResult] = {}
        for step in ordered:
            results[step] = fit_prepared(
                model,
                prep,
                estimator=estimator,
                std_lv=std_lv,
                group_equal=STEPS[step],
                group_partial=tuple(free),
            )
    comparisons = [_compare(a, results[a], b, results[b], criterion) for a, b in itertools.pairwise(ordered)]
    factors = [f for f in model.factors if f not in model.higher_order_factors]
    conclusion, highest = _conclusion(group, factors, results, comparisons, tuple(free), estimator)
    latent = None
    if "scalar" in results:
        comparable = highest in ("scalar", "strict")
        latent = _latent_means(results["scalar"], comparable)
    first = next(iter(results.values()))
    return InvarianceResult(
        group=group,
        groups=dict(first.groups),
        estimator=estimator,
        steps=results,
        comparisons=comparisons,
        latent_means=latent,
        conclusion=conclusion,
        criterion=criterion,
        free=tuple(free),
        highest=highest,
        warnings=step_warnings(results),
    )
