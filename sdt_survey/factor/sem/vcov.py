"""The covariance matrix of the estimates from an information matrix, with a reason when it is singular."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .spec import _Spec


def _invert_information(info: np.ndarray, n_total: int, spec: _Spec) -> tuple[np.ndarray, str | None]:
    """``(N info)^-1``, or NaN with a plain-words reason when the information is singular."""
    q = info.shape[0]
    if q == 0:
        return np.zeros((0, 0)), None
    info = (info + info.T) / 2
    try:
        factor = linalg.cho_factor(info)
        pivots = np.diag(factor[0]) ** 2
        if pivots.min() > 1e-10 * np.abs(np.diag(info)).max():
            return linalg.cho_solve(factor, np.eye(q)) / n_total, None
    except linalg.LinAlgError:
        pass
    eigval, eigvec = np.linalg.eigh(info)
    if eigval[0] > 1e-10 * max(abs(eigval[-1]), 1e-300):
        return np.linalg.inv(info) / n_total, None
    weights = np.abs(eigvec[:, 0])
    names = []
    for t in np.argsort(-weights)[:4]:
        if weights[t] < 0.1:
            continue
        k = int(np.flatnonzero(spec.free == t)[0])
        names.append(_row_name(spec, k))
    reason = (
        "the model is not identified by these data (the information matrix is singular), so standard "
        f"errors are not available; the parameters involved include {', '.join(names)}. A factor with "
        "two items and no correlation with other factors, or a factor whose items do not correlate, "
        "causes this: add items, correlate the factor, or fix a parameter"
    )
    return np.full((q, q), np.nan), reason


def _row_name(spec: _Spec, k: int) -> str:
    name = f"{spec.lhs[k]} {spec.op[k]} {spec.rhs[k]}".strip() if spec.op[k] != "~1" else f"{spec.lhs[k]} ~ 1"
    return name + (f" (group {spec.group[k] + 1})" if spec.n_groups > 1 else "")
