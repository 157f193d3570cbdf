"""CFA-based reliability per factor (semTools::compRelSEM)."""

from __future__ import annotations

import numpy as np

from .implied import Engine
from .samplestats import GroupData
from .spec import Spec


def omega_per_factor(
    spec: Spec, engine: Engine, x: np.ndarray, groups: list[GroupData]
) -> list[dict[str, float]]:
    """semTools::compRelSEM: common variance over the items' observed total variance, per factor.

    For a first-order factor: (sum of its loadings)^2 Var(f) / sum of the sample
    covariance matrix of its items. For a second-order factor (compRelSEM's
    ``higher =``), the loadings are the items' loadings on it through the
    first-order factors, and the items those of the first-order factors.
    """
    out = []
    lv_index = {n: i for i, n in enumerate(spec.lv)}
    for g, group in enumerate(groups):
        st = engine.state(g, x)
        result: dict[str, float] = {}
        lam = st.lam
        for f in spec.factors:
            j = lv_index[f]
            items = np.flatnonzero(lam[:, j] != 0)
            if len(items) < 2:
                continue
            common = lam[items, j].sum() ** 2 * st.lv_cov[j, j]
            result[f] = float(common / group.cov[np.ix_(items, items)].sum())
        for f in spec.factors:
            j = lv_index[f]
            lower = np.flatnonzero(st.beta[:, j] != 0)
            if len(lower) == 0:
                continue
            effective = lam[:, lower] @ st.beta[lower, j]
            items = np.flatnonzero(np.any(lam[:, lower] != 0, axis=1))
            common = effective[items].sum() ** 2 * st.lv_cov[j, j]
            result[f] = float(common / group.cov[np.ix_(items, items)].sum())
        out.append({f: result[f] for f in spec.factors if f in result})
    return out
