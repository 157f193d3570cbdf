"""The baseline (independence) model, at its closed-form estimates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .implied import Engine
from .samplestats import GroupData
from .spec import NU, THETA, Spec


def _baseline_spec(
    ov: Sequence[str], n_groups: int, meanstructure: bool, fixed_x: Sequence[int] = ()
) -> Spec:
    """The independence (baseline) model: free variances (and means), no covariances.

    Covariates held at their sample values (``fixed_x``, indices into ``ov``)
    keep their covariances, as in lavaan's baseline model with ``fixed.x``.
    """
    lhs, op, rhs, group, mat, row, col = [], [], [], [], [], [], []
    pairs = [(i, i) for i in range(len(ov))]
    pairs += [(j, i) for a, i in enumerate(fixed_x) for j in fixed_x[a + 1 :]]
    for g in range(n_groups):
        for i, j in pairs:
            lhs.append(ov[j])
            op.append("~~")
            rhs.append(ov[i])
            group.append(g)
            mat.append(THETA)
            row.append(max(i, j))
            col.append(min(i, j))
        if meanstructure:
            for i, o in enumerate(ov):
                lhs.append(o)
                op.append("~1")
                rhs.append("")
                group.append(g)
                mat.append(NU)
                row.append(i)
                col.append(0)
    n = len(lhs)
    row_arr = np.array(row, dtype=int)
    return Spec(
        lhs=lhs,
        op=op,
        rhs=rhs,
        group=np.array(group, dtype=int),
        user=np.zeros(n, dtype=int),
        mat=np.array(mat, dtype=int),
        row=row_arr,
        col=np.array(col, dtype=int),
        free=np.arange(n),
        value=np.full(n, np.nan),
        label=[""] * n,
        start=np.full(n, np.nan),
        ov=list(ov),
        lv=[],
        n_groups=n_groups,
        meanstructure=meanstructure,
        n_free=n,
        fixed_x=tuple(ov[i] for i in fixed_x),
    )


def baseline_model(
    groups: list[GroupData], ov: Sequence[str], meanstructure: bool, fixed_x: Sequence[int] = ()
) -> tuple[Engine, np.ndarray]:
    """The baseline model at its (closed-form) maximum-likelihood estimates."""
    spec = _baseline_spec(ov, len(groups), meanstructure, list(fixed_x))
    engine = Engine(spec, groups)
    x = np.empty(spec.n_free)
    for k in range(spec.n_rows):
        group = groups[spec.group[k]]
        # Under independence the likelihood factors by item: each item's own mean and
        # variance (over the respondents who answered it) are the estimates.
        var = group.cov.diagonal() if group.complete else group.available_var
        mean = group.mean if group.complete else group.available_mean
        if spec.mat[k] == THETA and spec.row[k] != spec.col[k]:  # covariates' covariances (complete)
            x[spec.free[k]] = group.cov[spec.row[k], spec.col[k]]
        else:
            x[spec.free[k]] = var[spec.row[k]] if spec.mat[k] == THETA else mean[spec.row[k]]
    return engine, x
