"""Starting values (lavaan's lav_start): one-factor principal-axis loadings per factor."""

from __future__ import annotations

import math

import numpy as np

from .samplestats import GroupData
from .spec import Spec


def start_values(spec: Spec, groups: list[GroupData]) -> np.ndarray:
    """Starting values: one-factor principal-axis loadings per factor, scaled to the identification."""
    x = np.full(spec.n_free, np.nan)
    lv_set = set(spec.lv)
    ov_index = {n: i for i, n in enumerate(spec.ov)}
    for g, group in enumerate(groups):
        cov, mean = group.cov, group.mean
        rows = np.flatnonzero(spec.group == g)
        values: dict[int, float] = {}
        loading: dict[tuple[str, str], float] = {}
        lv_var: dict[str, float] = {}
        for f in spec.lv:
            ind = [k for k in rows if spec.op[k] == "=~" and spec.lhs[k] == f and spec.rhs[k] not in lv_set]
            if not ind:
                continue
            idx = [ov_index[spec.rhs[k]] for k in ind]
            sub = cov[np.ix_(idx, idx)]
            if len(idx) == 1:
                vec = np.array([math.sqrt(0.5 * sub[0, 0])])
            else:
                eigval, eigvec = np.linalg.eigh(sub)
                vec = eigvec[:, -1] * math.sqrt(max(eigval[-1], 1e-8))
                if vec.sum() < 0:
                    vec = -vec
            fixed = [
                (pos, spec.value[k]) for pos, k in enumerate(ind) if spec.free[k] < 0 and spec.value[k] != 0
            ]
            scale = fixed[0][1] / vec[fixed[0][0]] if fixed and abs(vec[fixed[0][0]]) > 1e-8 else 1.0
            lv_var[f] = 1.0 / scale**2
            for pos, k in enumerate(ind):
                loading[(f, spec.rhs[k])] = vec[pos] * scale
        for k in rows:
            if spec.free[k] < 0:
                continue
            lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
            if not np.isnan(spec.start[k]):
                values[k] = spec.start[k]
            elif lhs in spec.dummy and op == "~~":  # an observed variable's phantom: its sample moments
                values[k] = float(cov[ov_index[lhs], ov_index[rhs]])
            elif lhs in spec.dummy and op == "~1":
                values[k] = float(mean[ov_index[lhs]])
            elif op == "=~" and rhs not in lv_set:
                values[k] = loading.get((lhs, rhs), 1.0)
            elif op in ("=~", "~"):
                values[k] = 1.0 if op == "=~" else 0.0
            elif op == "~~" and lhs == rhs and lhs in lv_set:
                higher = any(
                    spec.op[j] == "=~" and spec.lhs[j] == lhs and spec.rhs[j] in lv_set for j in rows
                )
                lower = any(spec.op[j] == "=~" and spec.rhs[j] == lhs for j in rows)
                base = lv_var.get(lhs, 1.0)
                if higher:
                    kids = [spec.rhs[j] for j in rows if spec.op[j] == "=~" and spec.lhs[j] == lhs]
                    base = float(np.mean([lv_var.get(kid, 1.0) for kid in kids]))
                values[k] = 0.5 * base if (higher or lower) else base
            elif op == "~~" and lhs == rhs:
                i = ov_index[lhs]
                communality = sum(loading.get((f, lhs), 0.0) ** 2 * lv_var.get(f, 1.0) for f in spec.lv)
                values[k] = float(np.clip(cov[i, i] - communality, 0.1 * cov[i, i], 0.9 * cov[i, i]))
            elif op == "~1" and lhs not in lv_set:
                values[k] = float(mean[ov_index[lhs]])
            else:
                values[k] = 0.0
        for k, v in values.items():
            if np.isnan(x[spec.free[k]]):
                x[spec.free[k]] = v
    return np.where(np.isnan(x), 0.0, x)
