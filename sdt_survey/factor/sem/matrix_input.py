"""A CFA from covariance (or correlation) matrices instead of data: lavaan's ``sample.cov``.

``cfa(model, sample_cov=S, n_obs=N)`` is ``lavaan::cfa(model, sample.cov = S,
sample.nobs = N)``: with the normal likelihood lavaan rescales the
covariance matrix (``sample.cov.rescale = TRUE``) to ``S (N - 1) / N`` (the
divisor-N matrix that raw data give), and everything else follows from it as
from data. Without ``sample_mean`` there is no mean structure, even with
several groups (as lavaan); with it, intercepts are fitted. A correlation
matrix is analysed as a covariance matrix, as lavaan does.

Several groups: a list (groups ``"Group 1"``, ``"Group 2"``, ... as lavaan
labels an unnamed list) or a dict (its keys are the group labels) of
matrices, with ``n_obs`` (and ``sample_mean``) given per group the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...errors import CFAError
from ...stats.matrix_input import check_n_obs, is_moment_matrix, moment_matrix
from .estimators import ESTIMATORS
from .samplestats import PreparedData, moments_group


def refuse_matrix_as_data(data: Any) -> None:
    """A square symmetric table passed as ``data`` is a covariance matrix: say how to pass it."""
    if is_moment_matrix(data):
        p = data.shape[0]
        raise CFAError(
            f"data is a square symmetric {p} x {p} table: a covariance or correlation matrix, not one "
            "row per respondent. Pass it as cfa(model=..., sample_cov=matrix, n_obs=number_of_respondents) "
            "(lavaan's sample.cov= and sample.nobs=)"
        )


def _as_groups(value: Any, what: str) -> tuple[list[str] | None, list[Any]]:
    """(labels, values) of a dict, a list (labels None) or one value (a list of one)."""
    if isinstance(value, Mapping):
        return [str(k) for k in value], list(value.values())
    matrices = (pd.DataFrame, np.ndarray, list, tuple)
    several = isinstance(value, (list, tuple)) and value and all(isinstance(v, matrices) for v in value)
    if several and np.ndim(value[0]) == 2:
        return None, list(value)
    return None, [value]


def _per_group(value: Any, labels: list[str], keyed: bool, what: str) -> list[Any]:
    """``n_obs``/``sample_mean`` for each group, given as the matrices were (one value for one group)."""
    if len(labels) == 1 and not isinstance(value, Mapping):
        vectors = (pd.Series, np.ndarray, list, tuple, Mapping)
        one = isinstance(value, (list, tuple)) and len(value) == 1
        if one and (what == "n_obs" or isinstance(value[0], vectors)):
            return list(value)
        return [value]
    if keyed:
        if not isinstance(value, Mapping) or sorted(map(str, value)) != sorted(labels):
            raise CFAError(f"{what} must be a dict with the same keys as sample_cov: {', '.join(labels)}")
        return [{str(k): v for k, v in value.items()}[lab] for lab in labels]
    if isinstance(value, Mapping) or not isinstance(value, (list, tuple)) or len(value) != len(labels):
        raise CFAError(f"{what} must be a list of {len(labels)} values, one per matrix of sample_cov")
    return list(value)


def _mean_vector(value: Any, names: list[str], ov: Sequence[str], label: str) -> np.ndarray:
    where = f" for group {label!r}" if label else ""
    if isinstance(value, Mapping):
        value = pd.Series(value)
    if isinstance(value, pd.Series):
        series = value.set_axis([str(i) for i in value.index])
        absent = [v for v in ov if v not in series.index]
        if absent:
            raise CFAError(f"sample_mean{where} has no mean for: {', '.join(absent)}")
        vec = pd.to_numeric(series[list(ov)], errors="coerce").to_numpy(dtype=float)
    else:
        arr = np.asarray(value, dtype=float).ravel()
        if arr.size != len(names):
            raise CFAError(
                f"sample_mean{where} has {arr.size} values for {len(names)} variables of sample_cov; "
                "give one mean per variable, in the matrix's order (or a pandas Series named by variable)"
            )
        index = {n: i for i, n in enumerate(names)}
        vec = arr[[index[v] for v in ov]]
    if not np.isfinite(vec).all():
        raise CFAError(f"sample_mean{where} has a missing or infinite mean")
    return vec


def _check_positive_definite(cov: np.ndarray, ov: Sequence[str], where: str) -> None:
    eigval, eigvec = np.linalg.eigh(cov)
    if eigval[0] > 1e-10 * max(eigval[-1], 1e-300):
        return
    involved = [ov[i] for i in np.argsort(-np.abs(eigvec[:, 0]))[:4] if abs(eigvec[i, 0]) > 0.1]
    raise CFAError(
        f"sample_cov{where} is not positive definite (smallest eigenvalue {eigval[0]:.3g}) over the model's "
        f"variables: some are (nearly) linear combinations of others, e.g. {', '.join(involved)}; a matrix "
        "computed with pairwise deletion can be like this. Drop redundant variables or give a matrix from "
        "complete cases"
    )


def check_matrix_options(estimator: str, missing: str, group: str | None) -> None:
    """What a matrix cannot give: casewise data for robust estimators and FIML, a group column."""
    record = ESTIMATORS.get(str(estimator).upper())
    if record is not None and (record.data != "continuous" or record.robust_test is not None
                               or record.standard_errors != "standard"):  # fmt: skip
        raise CFAError(
            f"{record.name} needs the raw data: its standard errors and test use each respondent's answers, "
            "which a covariance matrix does not hold. Fit estimator='ML' to the matrix, or pass the data"
        )
    if str(missing).lower() in ("fiml", "ml"):
        raise CFAError(
            "FIML (missing='fiml') needs the raw data: it uses each respondent's own answered items, which a "
            "covariance matrix does not hold. Pass the data, or a matrix from complete cases"
        )
    if group is not None:
        raise CFAError(
            "group= names a column of the data; with matrices, give one matrix per group instead "
            "(sample_cov={'group A': S_a, 'group B': S_b}, n_obs={'group A': n_a, 'group B': n_b})"
        )


def prepare_matrices(
    sample_cov: Any,
    n_obs: Any,
    sample_mean: Any,
    ov: Sequence[str],
    *,
    names: Sequence[str] | None = None,
    means_in_model: bool = False,
) -> PreparedData:
    """The groups of a CFA from covariance matrices (lavaan's ``sample.cov``/``.nobs``/``.mean``)."""
    if n_obs is None:
        raise CFAError(
            "n_obs is needed with sample_cov: the number of respondents the matrix comes from (lavaan's "
            "sample.nobs); with several groups, one number per group"
        )
    labels, matrices = _as_groups(sample_cov, "sample_cov")
    keyed = labels is not None
    if labels is None:
        labels = ["all"] if len(matrices) == 1 else [f"Group {i + 1}" for i in range(len(matrices))]
    counts = _per_group(n_obs, labels, keyed, "n_obs")
    means = (
        [None] * len(labels) if sample_mean is None else _per_group(sample_mean, labels, keyed, "sample_mean")
    )
    if sample_mean is None and means_in_model:
        raise CFAError("the model has means or intercepts (~ 1) but no sample_mean was given with sample_cov")
    groups = []
    notes: list[str] = []
    for label, matrix, count, mean in zip(labels, matrices, counts, means, strict=True):
        where = f" for group {label!r}" if len(labels) > 1 else ""
        checked = moment_matrix(matrix, names, what=f"sample_cov{where}", error=CFAError)
        absent = [v for v in ov if v not in checked.names]
        if absent:
            raise CFAError(
                f"sample_cov{where} has no row and column for model variable(s): {', '.join(absent)}"
            )
        n = check_n_obs(count, f"n_obs{where}", CFAError)
        cov = checked.select(ov)
        _check_positive_definite(cov, ov, where)
        if checked.is_correlation:
            notes.append(
                f"sample_cov{where} is a correlation matrix: analysed as a covariance matrix (as lavaan), so "
                "the unstandardized standard errors and the chi-square assume the items' variances are 1"
            )
        # lavaan's sample.cov.rescale: the unbiased matrix becomes the divisor-N one that data would give.
        cov = cov * (n - 1) / n
        vec = (
            np.zeros(len(ov))
            if mean is None
            else _mean_vector(mean, checked.names, ov, label if where else "")
        )
        groups.append(moments_group(label, n, vec, cov))
    notes.append(
        "fitted to a covariance matrix (as lavaan's sample.cov, rescaled by (N - 1)/N): no casewise data"
    )
    return PreparedData(groups, "listwise", 0, list(dict.fromkeys(notes)), None, list(ov),
                        meanstructure=sample_mean is not None)  # fmt: skip


__all__ = ["check_matrix_options", "prepare_matrices", "refuse_matrix_as_data"]
