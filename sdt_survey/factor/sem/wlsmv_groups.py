"""Multi-group ordinal CFA by WLSMV: per-group thresholds and polychorics, the stacked DWLS fit and its tests.

lavaan 0.6-14 with ``group =`` and ordered items (goldens:
``tests/goldens/semtools_ordinal_invariance.R``): the thresholds, polychoric
correlations and their asymptotic covariance ``Gamma_g`` are computed in each
group separately (:func:`~sdt_survey.factor.sem.ordinal_stats.ordinal_sample_stats`,
complete cases); the model (:class:`~sdt_survey.factor.sem.dwls_groups.GroupedDWLSObjective`)
is fitted to all groups at once. Then, as lavaan:

* ``chisq = sum_g (n_g - 1) F_g``; ``df = G * (thresholds + correlations) - npar``;
* robust standard errors ``E^-1 (sum_g f_g D_g' W_g Gamma_g W_g D_g) E^-1 / (N - G)``
  with ``E = sum_g f_g D_g' W_g D_g``, ``f_g = n_g / N`` (``robust.sem``);
* the scaled-shifted test from ``U = V - V D E^-1 D' V``, ``V = bdiag(f_g W_g)``,
  ``Gamma = bdiag(Gamma_g / f_g)``; the baseline (independence) model likewise;
  CFI, TLI, RMSEA (``N - G`` and ``sqrt(G)``) from the plain and scaled statistics.

:func:`fit_ordinal_groups` is called by :func:`~sdt_survey.factor.sem.cfa_ordinal`
with ``group=`` and by the ordinal invariance chain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ...errors import CFAError
from ...stats.probability import chi2_sf
from .dwls_groups import GroupedDWLSObjective
from .fit import fit_cfi, fit_rmsea, fit_tli
from .optimize import optimize
from .ordinal_partable import OrdinalParTable
from .ordinal_stats import OrdinalSampleStats, ordinal_sample_stats, vech_index, vech_off
from .solution import standard_errors, wald_tests
from .start import start_values
from .tests import scaled_shifted
from .vcov import Covariance, robust_sem_vcov

__all__ = [
    "GroupedOrdinalData",
    "GroupedOrdinalFit",
    "fit_ordinal_groups",
    "merge_empty_categories",
    "prepare_ordinal_groups",
]


@dataclass
class GroupedOrdinalData:
    """The complete cases of each group and their sample statistics (computed once for a whole chain)."""

    group: str
    labels: list[Any]
    stats: list[OrdinalSampleStats]
    n_dropped: int

    @property
    def n_th(self) -> list[int]:
        return [len(t) for t in self.stats[0].thresholds]


def prepare_ordinal_groups(
    data: pd.DataFrame, items: Sequence[str], group: str | None, labels: Sequence[Any] | None = None
) -> GroupedOrdinalData:
    """Per-group thresholds, polychorics and Gamma of the complete cases (lavaan's listwise default).

    ``group=None`` makes one group of everyone (labelled ``"all"``): a model with
    intercepts, scales and tied thresholds in one group, as longitudinal invariance needs.

    Raises
    ------
    CFAError
        An absent column, fewer than two groups, a group too small, or an
        item whose categories differ between groups (its thresholds could not be compared).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame(rng.integers(1, 4, size=(60, 2)), columns=["q1", "q2"]).assign(g=["a", "b"] * 30)
    >>> prepared = prepare_ordinal_groups(d, ["q1", "q2"], "g")
    >>> prepared.labels, prepared.n_th, [s.n for s in prepared.stats]
    (['a', 'b'], [2, 2], [30, 30])
    """
    names = list(items)
    if group is None:
        data = data.assign(**{"__group__": "all"})
    absent = [v for v in [*names, group] if v is not None and v not in data.columns]
    if absent:
        raise CFAError(f"the data have no column for: {', '.join(absent)}")
    values = data[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    keys = data[group if group is not None else "__group__"]
    keep = ~np.isnan(values).any(axis=1) & keys.notna().to_numpy()
    labels = list(pd.unique(keys[keep])) if labels is None else [g for g in labels if (keys[keep] == g).any()]
    if len(labels) < 2 and group is not None:
        raise CFAError(f"column {group!r} has fewer than two groups with complete answers")
    stats_list = []
    for label in labels:
        rows = values[keep & (keys == label).to_numpy()]
        if len(rows) < 10:
            raise CFAError(
                f"group {label!r} has only {len(rows)} complete row(s); an ordinal CFA needs many more"
            )
        stats_list.append(ordinal_sample_stats(rows, names))
    for j, item in enumerate(names):
        levels = [tuple(s.levels[j]) for s in stats_list]
        if len(set(levels)) > 1:
            seen = "; ".join(
                f"{lab}: {', '.join(f'{v:g}' for v in lev)}" for lab, lev in zip(labels, levels, strict=True)
            )
            raise CFAError(
                f"item {item!r} does not use the same categories in every group ({seen}); its thresholds "
                "cannot be compared. Merge rare categories (e.g. 1 and 2) before the analysis"
            )
    return GroupedOrdinalData(group or "", labels, stats_list, int((~keep).sum()))


def merge_empty_categories(
    data: pd.DataFrame, items: Sequence[str], group: str
) -> tuple[pd.DataFrame, list[str]]:
    """Merge each item's categories that some group never uses into the next lower category all groups use.

    Thresholds can only be compared across groups that use the same
    categories; an answer no one in a small group gave (a 1 on a five-point
    item among 40 residents) is common. Answers in such a category are
    recoded to the nearest lower category every group uses (the lowest such
    category when there is none below), judged on the complete cases the
    fit uses. Returns the recoded copy and a note per item changed.

    Examples
    --------
    >>> d = pd.DataFrame({"q": [1, 2, 3, 2, 3, 3], "g": ["a", "a", "a", "b", "b", "b"]})
    >>> merged, notes = merge_empty_categories(d, ["q"], "g")
    >>> merged["q"].tolist(), notes
    ([2, 2, 3, 2, 3, 3], ['q: category 1 merged into 2 (not used in every group)'])
    """
    out = data.copy()
    notes = []
    keys = data[group]
    numeric = data[list(items)].apply(pd.to_numeric, errors="coerce")
    complete = numeric.notna().all(axis=1) & keys.notna()  # the rows the fit uses
    for item in items:
        values = numeric[item]
        ok = complete
        present = [set(values[ok & (keys == g)].unique()) for g in pd.unique(keys[ok])]
        common = sorted(set.intersection(*present)) if present else []
        used = sorted(set.union(*present)) if present else []
        if not common or len(common) == len(used):
            continue
        lower = np.searchsorted(common, used, side="right") - 1
        target = {u: common[max(i, 0)] for u, i in zip(used, lower, strict=True)}
        moved = {u: t for u, t in target.items() if u != t}
        out[item] = values.map(lambda v, t=target: t.get(v, v))
        said = ", ".join(f"category {u:g} merged into {t:g}" for u, t in moved.items())
        notes.append(f"{item}: {said} (not used in every group)")
    return out, notes


@dataclass
class GroupedOrdinalFit:
    """A fitted multi-group ordinal model: fit measures, the parameter table and the pieces of the tests."""

    objective: GroupedDWLSObjective
    x: np.ndarray
    covariance: Covariance
    fit: dict[str, Any]
    parameters: pd.DataFrame
    converged: bool
    iterations: int
    warnings: list[str]


def _start(dwls: GroupedDWLSObjective, data: GroupedOrdinalData) -> np.ndarray:
    spec = dwls.spec
    groups = [SimpleNamespace(cov=s.cor, mean=np.zeros(dwls.p)) for s in data.stats]
    x0 = start_values(spec, groups)
    table, free = dwls.table, dwls.free_all
    sums = np.zeros(dwls.q)
    counts = np.zeros(dwls.q)
    for k, (kind, lhs, op, rhs, g) in enumerate(table.rows):
        t = free[k]
        if t < 0:
            continue
        if kind == "th":
            item = spec.ov.index(lhs)
            sums[t] += data.stats[g].thresholds[item][int(rhs[1:]) - 1]
            counts[t] += 1
        elif kind == "scale" or (op == "~~" and lhs == rhs):
            x0[t] = 1.0
        elif op == "~1":
            x0[t] = 0.0
    has = counts > 0
    x0[has] = sums[has] / counts[has]
    return x0


def _parameter_table(
    dwls: GroupedDWLSObjective, x: np.ndarray, vcov: np.ndarray, labels: list[Any]
) -> pd.DataFrame:
    """lavaan's parameterEstimates(): every row of every group, derived residual variances under delta."""
    table, free = dwls.table, dwls.free_all
    se_all = standard_errors(vcov, np.maximum(free, 0))
    est = np.where(free >= 0, x[np.maximum(free, 0)], table.fixed)
    se = np.where(free >= 0, se_all, 0.0)
    frame = pd.DataFrame(
        {
            "lhs": [r[1] for r in table.rows],
            "op": [r[2] for r in table.rows],
            "rhs": [r[3] for r in table.rows],
            "group": [labels[r[4]] for r in table.rows],
            "group_index": [r[4] + 1 for r in table.rows],
            "est": est,
            "se": se,
            "free": free + 1,
        }
    )
    ov_index = {v: i for i, v in enumerate(dwls.spec.ov)}
    for g in range(dwls.n_groups):
        st = dwls.state(g, x)
        derived = (frame["op"] == "~~") & (frame["lhs"] == frame["rhs"]) & frame["lhs"].isin(ov_index)
        derived &= (frame["group_index"] == g + 1) & (frame["free"] == 0)
        frame.loc[derived, "est"] = [st.theta[ov_index[v], ov_index[v]] for v in frame.loc[derived, "lhs"]]
        if dwls.parameterization == "theta":
            scales = pd.DataFrame(
                {
                    "lhs": dwls.spec.ov,
                    "op": "~*~",
                    "rhs": dwls.spec.ov,
                    "group": labels[g],
                    "group_index": g + 1,
                    "est": dwls.scale(g, st, x),
                    "se": 0.0,
                    "free": 0,
                }
            )
            frame = pd.concat([frame, scales], ignore_index=True)
    frame["z"], frame["pvalue"] = wald_tests(frame["est"].to_numpy(), frame["se"].to_numpy())
    frame = frame.sort_values("group_index", kind="stable").reset_index(drop=True)
    return frame[["lhs", "op", "rhs", "group", "est", "se", "z", "pvalue", "free"]]


def fit_ordinal_groups(table: OrdinalParTable, data: GroupedOrdinalData) -> GroupedOrdinalFit:
    """Fit an ordinal parameter table to the groups' statistics by WLSMV (see the module's recipe).

    Examples
    --------
    >>> from sdt_survey.factor.sem import CFAModel, wu_estabrook_table
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.normal(size=(400, 1)) * 0.8 + rng.normal(size=(400, 3)) * 0.6
    >>> d = pd.DataFrame(np.digitize(latent, [-0.5, 0.5]) + 1, columns=["q1", "q2", "q3"])
    >>> d["g"] = np.repeat(["a", "b"], 200)
    >>> model = CFAModel.from_syntax("F =~ q1 + q2 + q3")
    >>> data = prepare_ordinal_groups(d, model.indicators, "g")
    >>> fitted = fit_ordinal_groups(wu_estabrook_table(model, 2, data.n_th, "delta"), data)
    >>> fitted.converged, fitted.fit["df"], fitted.fit["npar"]
    (True, 0, 18)
    """
    if table.spec.n_groups != len(data.stats):
        raise CFAError("the parameter table and the data have different numbers of groups")
    dwls = GroupedDWLSObjective(table, data.stats)
    n_groups, n_total = dwls.n_groups, dwls.n_total
    df = n_groups * dwls.m_stat - dwls.q
    if df < 0:
        raise CFAError(
            f"the model is not identified: {dwls.q} free parameters but only {n_groups * dwls.m_stat} "
            "thresholds and correlations"
        )
    opt = optimize(dwls, _start(dwls, data))
    x = opt.x
    problems: list[str] = []
    if not opt.converged:
        problems.append(
            f"the estimation did not converge ({opt.message or 'stopped'} after {opt.iterations} "
            "iterations); the estimates are not trustworthy"
        )
    covariance = robust_sem_vcov(dwls, x, opt)
    if covariance.reason:
        problems.append(covariance.reason)
    chisq = dwls.chisq(x)
    base_chisq, base_df, u_base = dwls.baseline()
    n_fit = n_total - n_groups
    fit: dict[str, Any] = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": float(chi2_sf(chisq, df)) if df > 0 else math.nan,
        "baseline_chisq": base_chisq,
        "baseline_df": int(base_df),
        "cfi": fit_cfi(chisq, df, base_chisq, base_df),
        "tli": fit_tli(chisq, df, base_chisq, base_df),
        "rmsea": fit_rmsea(chisq, df, n_fit, n_groups),
        "srmr": _srmr(dwls, x),
        "npar": int(dwls.q),
        "ntotal": int(n_total),
    }
    if covariance.reason is None:
        u = (
            np.diag(dwls.weights)
            - (dwls.weights[:, None] * covariance.jacobian)
            @ covariance.bread
            @ (dwls.weights[:, None] * covariance.jacobian).T
        )
        scaled, scaling, shift = scaled_shifted(u @ dwls.gamma, chisq, df)
        base_scaled, _, _ = scaled_shifted(u_base @ dwls.gamma, base_chisq, base_df)
    else:
        scaled = scaling = shift = base_scaled = math.nan
    fit.update(
        {
            "chisq_scaled": scaled,
            "df_scaled": int(df),
            "pvalue_scaled": float(chi2_sf(scaled, df)) if df > 0 else math.nan,
            "chisq_scaling_factor": scaling,
            "chisq_shift_parameter": shift,
            "baseline_chisq_scaled": base_scaled,
            "cfi_scaled": fit_cfi(scaled, df, base_scaled, base_df),
            "tli_scaled": fit_tli(scaled, df, base_scaled, base_df),
            "rmsea_scaled": fit_rmsea(scaled, df, n_fit, n_groups),
            **_catml_groups(dwls, x, covariance, int(df)),
        }
    )
    return GroupedOrdinalFit(
        objective=dwls,
        x=x,
        covariance=covariance,
        fit=fit,
        parameters=_parameter_table(dwls, x, covariance.vcov, data.labels),
        converged=opt.converged,
        iterations=opt.iterations,
        warnings=problems,
    )


def _catml_applicable(dwls: GroupedDWLSObjective) -> bool:
    """lavaan computes its catML robust indices only for models without free intercepts, means or scales
    and with thresholds free in every group (lavaan's configural step); otherwise they are NA."""
    free = dwls.free_all
    for k, (kind, _, op, _, _) in enumerate(dwls.table.rows):
        if free[k] >= 0 and (kind == "scale" or op == "~1"):
            return False
    th = free[[k for k, r in enumerate(dwls.table.rows) if r[0] == "th"]]
    if len(np.unique(th)) < len(th):
        return False
    theta_free = [
        k for k, r in enumerate(dwls.table.rows) if r[0] == "model" and r[2] == "~~" and r[1] == r[3]
    ]
    return not any(free[k] >= 0 and dwls.table.rows[k][1] in dwls.spec.ov for k in theta_free)


def _catml_groups(dwls: GroupedDWLSObjective, x: np.ndarray, cov: Covariance, df: int) -> dict[str, float]:
    """lavaan 0.6-14's robust CFI, TLI and RMSEA of several groups (``lav_fit_catml_dwls``).

    The multi-group form of :func:`~sdt_survey.factor.sem.tests.catml_robust_measures`:
    ``XX3 = sum_g n_g F_ML,g`` of the implied against the polychoric correlations,
    ``c3 = tr(U' V U Gamma) / df`` with ``U = I - D E^-1 D' W`` on the correlation rows,
    ``V = bdiag(f_g V_g)``, ``W = bdiag(f_g W_g)``, ``Gamma = bdiag(Gamma_g / f_g)``;
    the baseline's ``c3`` is ``tr(Gamma) / df_null``.
    """
    nan = {"cfi_robust": math.nan, "tli_robust": math.nan, "rmsea_robust": math.nan}
    if df <= 0 or cov.reason is not None or not _catml_applicable(dwls):
        return nan
    rows, cols = vech_index(dwls.p)
    n_thr, size = dwls.n_thr, dwls.m_stat
    xx3 = xx3_null = 0.0
    v_blocks, w_blocks, g_blocks, d_rows = [], [], [], []
    for g, s in enumerate(dwls.stats):
        if np.linalg.eigvalsh(s.cor)[0] < np.finfo(float).eps ** 0.5:
            return nan
        implied = dwls.implied_correlations(g, x)
        sign, logdet = np.linalg.slogdet(implied)
        if sign <= 0:
            return nan
        k = np.linalg.inv(implied)
        logdet_s = np.linalg.slogdet(s.cor)[1]
        xx3 += s.n * float(logdet + np.sum(s.cor * k) - logdet_s - dwls.p)
        xx3_null -= s.n * float(logdet_s)
        f = dwls.fg[g]
        v_blocks.append(
            f
            * (k[np.ix_(cols, rows)] * k[np.ix_(rows, cols)] + k[np.ix_(rows, rows)] * k[np.ix_(cols, cols)])
        )
        w_blocks.append(f * dwls.w_groups[g][n_thr:])
        g_blocks.append(s.gamma[n_thr:, n_thr:] / f)
        d_rows.append(np.arange(g * size + n_thr, (g + 1) * size))
    d = cov.jacobian[np.concatenate(d_rows)]
    w = np.concatenate(w_blocks)
    u = np.eye(len(w)) - (d @ cov.bread @ d.T) * w[None, :]
    gamma = linalg.block_diag(*g_blocks)
    c3 = float(np.sum((u.T @ linalg.block_diag(*v_blocks) @ u) * gamma.T)) / df
    df_null = len(w)
    c3_null = float(np.trace(gamma)) / df_null
    return {
        "cfi_robust": fit_cfi(xx3, df, xx3_null, df_null, c3, c3_null),
        "tli_robust": fit_tli(xx3, df, xx3_null, df_null, c3, c3_null),
        "rmsea_robust": fit_rmsea(xx3, df, dwls.n_total - dwls.n_groups, dwls.n_groups, c3),
    }


def _srmr(dwls: GroupedDWLSObjective, x: np.ndarray) -> float:
    """lavaan's SRMR of an ordinal multi-group model: per group over the correlations, weighted by n_g."""
    p = dwls.p
    values = []
    for g in range(dwls.n_groups):
        res = vech_off(dwls.stats[g].cor - dwls.implied_correlations(g, x))
        values.append(math.sqrt(float(np.sum(res**2)) / (p * (p + 1) / 2)))
    return float(np.dot(dwls.fg, values))
