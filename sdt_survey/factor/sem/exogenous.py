"""Observed variables in regressions: covariates held at their sample values (lavaan's ``fixed.x``).

An observed variable that stands in a ``~`` line but that no factor measures
is represented as lavaan represents it: a *phantom* latent variable of the
same name, measured by its own column with a loading of 1 and no residual.
A **covariate** (an observed predictor that nothing predicts, ``f ~ x``) is
exogenous: with ``fixed.x = TRUE`` its variances, covariances and means are
its sample values, not free parameters. An **observed outcome** (``y ~ x``,
``y ~ f``) has a free residual variance and intercept.

The engine estimates the covariates' moments with the rest: their maximum
likelihood estimates *are* the sample moments, because the likelihood of the
data factors into that of the outcomes given the covariates (the model) and
that of the covariates (their moments). The chi-square, its degrees of
freedom and (the information being block-diagonal) the standard errors and
robust corrections of the other parameters are then those of lavaan's
``fixed.x``; this module sets the covariates' moments exactly to the sample
values, removes them from the covariance matrix of the estimates and from the
count of free parameters, and drops the rows with a missing covariate (as
lavaan does with ``missing = "ml"`` and ``fixed.x = TRUE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...errors import CFAError
from .located import located_error as _located
from .syntax import Statement

if TYPE_CHECKING:
    from .samplestats import GroupData
    from .spec import Spec


@dataclass(frozen=True)
class ObservedRoles:
    """The observed variables of regressions that no factor measures."""

    covariates: tuple[str, ...]  # exogenous: predictors only (fixed.x)
    outcomes: tuple[str, ...]  # regressed on something

    @property
    def phantoms(self) -> tuple[str, ...]:
        """Both, in the order lavaan adds their phantom latent variables."""
        return (*self.outcomes, *self.covariates)


def observed_roles(statements: Sequence[Statement]) -> ObservedRoles:
    """Covariates and observed outcomes of a model's statements, in the order first written."""
    statements = [s for s in statements if s.op != ":="]
    latent = {s.lhs for s in statements if s.op == "=~"}
    indicators = {s.rhs for s in statements if s.op == "=~"}
    lhs_of_regression = {s.lhs for s in statements if s.op == "~"}
    covariates: list[str] = []
    outcomes: list[str] = []
    for s in statements:
        if s.op != "~":
            continue
        for name in (s.lhs, s.rhs):
            if name in latent or name in indicators or name in covariates or name in outcomes:
                continue
            (outcomes if name in lhs_of_regression else covariates).append(name)
    return ObservedRoles(tuple(covariates), tuple(outcomes))


def check_regression(s: Statement, latent: Sequence[str], indicators: set[str], roles: ObservedRoles) -> None:
    """Refuse the regressions this engine does not represent, saying what to write instead."""
    if s.lhs in indicators and s.lhs not in latent and s.rhs not in roles.covariates:
        raise _located(
            f"'{s.lhs} ~ {s.rhs}': {s.lhs!r} is not a factor; an item of a factor can be regressed only on "
            "an observed covariate that no factor measures (a direct effect, as in a MIMIC model)",
            s,
        )
    if s.rhs in indicators and s.rhs not in latent:
        raise _located(
            f"'{s.lhs} ~ {s.rhs}': {s.rhs!r} is not a factor but an item of one, and cannot also predict; "
            "predict with its factor or with an observed covariate that no factor measures",
            s,
        )


def drop_missing_covariates(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Rows with a missing covariate left out (lavaan's ``fixed.x = TRUE``), with a note saying so."""
    present = [c for c in covariates if c in data.columns]
    if not present:
        return data, []
    values = data[present].apply(pd.to_numeric, errors="coerce")
    text = [c for c in present if (values[c].isna() & data[c].notna()).any()]
    if text:
        raise CFAError(
            f"covariate {text[0]!r} has values that are not numbers; code it as numbers (e.g. 0/1 for two "
            "categories, or one 0/1 column per category but one)"
        )
    missing = values.isna().any(axis=1).to_numpy()
    if not missing.any():
        return data, []
    note = (
        f"{int(missing.sum())} row(s) with a missing covariate ({', '.join(present)}) left out: "
        "covariates are held at their sample values (fixed.x), as lavaan does"
    )
    return data.loc[~missing], [note]


def fixed_x_rows(spec: Spec) -> np.ndarray:
    """Rows of the parameter table that are covariates' variances, covariances and means."""
    x = set(spec.fixed_x)
    return np.array(
        [
            (spec.op[k] == "~~" and spec.lhs[k] in x and spec.rhs[k] in x)
            or (spec.op[k] == "~1" and spec.lhs[k] in x)
            for k in range(spec.n_rows)
        ],
        dtype=bool,
    )


def fixed_x_params(spec: Spec) -> np.ndarray:
    """Indices of the free parameters that are the covariates' moments (fixed.x)."""
    rows = fixed_x_rows(spec) & (spec.free >= 0)
    return np.unique(spec.free[rows])


def set_sample_moments(spec: Spec, x: np.ndarray, groups: list[GroupData]) -> np.ndarray:
    """The covariates' moments set exactly to the sample values (their maximum likelihood estimates)."""
    x = x.copy()
    ov_index = {n: i for i, n in enumerate(spec.ov)}
    for k in np.flatnonzero(fixed_x_rows(spec) & (spec.free >= 0)):
        group = groups[spec.group[k]]
        i = ov_index[spec.lhs[k]]
        if spec.op[k] == "~1":
            x[spec.free[k]] = group.mean[i]
        else:
            x[spec.free[k]] = group.cov[i, ov_index[spec.rhs[k]]]
    return x


def fix_covariance(vcov: np.ndarray, params: np.ndarray) -> np.ndarray:
    """The covariance matrix of the estimates with the covariates' moments as fixed (zero) rows."""
    if len(params) == 0 or vcov.shape[0] == 0:
        return vcov
    vcov = vcov.copy()
    vcov[params, :] = 0.0
    vcov[:, params] = 0.0
    return vcov


def covariates_loglik(groups: list[GroupData], x_index: Sequence[int]) -> float:
    """The log-likelihood of the covariates alone at their sample moments (lavaan leaves it out of logl)."""
    if not len(x_index):
        return 0.0
    idx = np.asarray(x_index)
    total = 0.0
    for group in groups:
        _, logdet = np.linalg.slogdet(group.cov[np.ix_(idx, idx)])
        total += -0.5 * group.n * (len(idx) * (np.log(2 * np.pi) + 1.0) + logdet)
    return float(total)
