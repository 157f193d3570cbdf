"""The rows of defined parameters (``:=``) in the parameter table: values, delta-method errors, std."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...stats.differences import central_jacobian
from .defined import defined_jacobian, defined_values
from .standardized import estimates, standardized_solution

if TYPE_CHECKING:
    from .implied import ModelMatrices
    from .spec import Spec


def _label_rows(spec: Spec) -> dict[str, int]:
    """The first row of the parameter table carrying each label."""
    out: dict[str, int] = {}
    for k, label in enumerate(spec.label):
        if label and label not in out:
            out[label] = k
    return out


def _values(spec: Spec, rows: dict[str, int], row_values: np.ndarray) -> np.ndarray:
    return np.array(defined_values(spec.defined, {name: row_values[k] for name, k in rows.items()}))


def defined_estimates(spec: Spec, x: np.ndarray, vcov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each defined parameter's value and delta-method standard error (``sqrt(J V J')``, as lavaan)."""
    rows = _label_rows(spec)

    def function(theta: np.ndarray) -> np.ndarray:
        return _values(spec, rows, estimates(spec, theta).astype(theta.dtype))

    est = np.real(function(x.astype(float)))
    if not np.all(np.isfinite(vcov)) or spec.n_free == 0:
        return est, np.full(len(est), np.nan)
    jac = defined_jacobian(function, x)
    var = np.einsum("ij,jk,ik->i", jac, vcov, jac)
    with np.errstate(invalid="ignore"):
        return est, np.sqrt(np.where(var < 0, np.nan, var))


def defined_standardized(
    spec: Spec, engine: ModelMatrices, x: np.ndarray, vcov: np.ndarray
) -> dict[str, np.ndarray]:
    """Defined functions of the standardized parameters (std.lv, std.all as lavaan), with std.all SEs."""
    rows = _label_rows(spec)
    out = {
        f"std_{kind}": _values(spec, rows, standardized_solution(spec, engine, x, kind))
        for kind in ("lv", "all")
    }
    if not np.all(np.isfinite(vcov)):
        out["std_all_se"] = np.full(len(spec.defined), np.nan)
        return out

    def stacked(points: np.ndarray) -> np.ndarray:
        std = standardized_solution(spec, engine, points)
        return np.array([_values(spec, rows, row) for row in std])

    jac = central_jacobian(stacked, x)
    var = np.einsum("ij,jk,ik->i", jac, vcov, jac)
    with np.errstate(invalid="ignore"):
        out["std_all_se"] = np.sqrt(np.where(var < 0, np.nan, var))
    return out
