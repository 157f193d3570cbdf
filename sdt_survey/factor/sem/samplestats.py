"""Sample statistics per group: missingness patterns, moments, EM for the saturated model (FIML)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import CFAError

MISSING_MODES = ("auto", "listwise", "fiml")

_LOG2PI = math.log(2 * math.pi)


@dataclass
class _Block:
    """Missingness patterns that share the number of answered items (batched together)."""

    obs: np.ndarray  # (n_patterns, k) indices of the answered items
    n: np.ndarray  # (n_patterns,) respondents per pattern
    mean: np.ndarray  # (n_patterns, k) pattern means
    scatter: np.ndarray  # (n_patterns, k, k) within-pattern covariances (divisor n)
    rows: list[np.ndarray]  # the answers of each pattern (for casewise scores)
    full: bool  # every item answered
    index: list[np.ndarray] = field(default_factory=list)  # each pattern's rows, as positions in the group

    @property
    def k(self) -> int:
        return self.obs.shape[1]


@dataclass
class GroupData:
    """One group's data as the estimator needs it."""

    label: str
    n: int
    p: int
    blocks: list[_Block]
    mean: np.ndarray  # saturated (h1) means: the sample's, or EM's under FIML
    cov: np.ndarray  # saturated (h1) covariances (divisor n)
    m2ll_h1: float  # -2 log-likelihood of the saturated model, without the 2*pi term
    complete: bool
    n_log2pi: float  # number of answered cells times log(2*pi)
    available_mean: np.ndarray
    available_var: np.ndarray
    em_iterations: int = 0
    cluster: np.ndarray | None = None  # each respondent's cluster (codes 0..G-1), in casewise-score order

    @property
    def n_clusters(self) -> int:
        """The clusters of the group (0 without ``cluster=``)."""
        return 0 if self.cluster is None else int(self.cluster.max()) + 1


def _block_moments(block: _Block, sigma: np.ndarray, mu: np.ndarray, with_gradient: bool):
    """-2 log-likelihood terms of one block at (sigma, mu), and optionally its gradient parts."""
    if block.full:
        sig = sigma[None, :, :]
        mu_o = mu[None, :]
    else:
        obs = block.obs
        sig = sigma[obs[:, :, None], obs[:, None, :]]
        mu_o = mu[obs]
    chol = np.linalg.cholesky(sig)  # LinAlgError when not positive definite
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    kinv = np.linalg.inv(sig)
    d = block.mean - mu_o
    t = block.scatter + d[:, :, None] * d[:, None, :]
    m2ll = float(np.dot(block.n, logdet + np.einsum("pij,pij->p", kinv, t)))
    if not with_gradient:
        return m2ll, None, None, kinv, d, t
    ktk = kinv @ t @ kinv
    grad_sigma = block.n[:, None, None] * (kinv - ktk)
    grad_mu = -2.0 * block.n[:, None] * np.einsum("pij,pj->pi", kinv, d)
    return m2ll, grad_sigma, grad_mu, kinv, d, t


def _embed(block: _Block, values: np.ndarray, p: int) -> np.ndarray:
    """Per-pattern k x k (or k) arrays placed in p x p (or p) zero arrays."""
    n_pat = values.shape[0]
    if block.full:
        return values
    if values.ndim == 2:
        out = np.zeros((n_pat, p))
        out[np.arange(n_pat)[:, None], block.obs] = values
        return out
    out = np.zeros((n_pat, p, p))
    out[np.arange(n_pat)[:, None, None], block.obs[:, :, None], block.obs[:, None, :]] = values
    return out


def moments_m2ll(group: GroupData, sigma: np.ndarray, mu: np.ndarray) -> float:
    return sum(_block_moments(b, sigma, mu, False)[0] for b in group.blocks)


def moments_gradient(group: GroupData, sigma: np.ndarray, mu: np.ndarray):
    """-2 log-likelihood and its gradient with respect to Sigma (p x p) and mu (p)."""
    p = group.p
    m2ll = 0.0
    g_sigma = np.zeros((p, p))
    g_mu = np.zeros(p)
    for block in group.blocks:
        value, gs, gm, *_ = _block_moments(block, sigma, mu, True)
        m2ll += value
        g_sigma += _embed(block, gs, p).sum(axis=0)
        g_mu += _embed(block, gm, p).sum(axis=0)
    return m2ll, g_sigma, g_mu


def moments_hessian_terms(group: GroupData, sigma: np.ndarray, mu: np.ndarray, expected: bool):
    """Second-derivative terms of -2 log-likelihood with respect to (Sigma, mu).

    With ``D_i`` the change in Sigma along parameter i and ``c_i`` the change
    in mu, the Hessian is ``2 vec(D_i)' X vec(D_j) + c_i' Y vec(D_j) +
    c_j' Y vec(D_i) + c_i' Z c_j``, where, summed over patterns,
    ``X[(a,b),(c,d)] = n K[b,c] R[d,a]`` with ``K`` the inverse of the
    pattern's Sigma (zero where unanswered), ``R = K T K - K/2`` (``T`` the
    pattern's scatter about mu), ``Y[e,(a,b)] = 2 n K[e,a] (K d)[b]`` and
    ``Z = 2 n K``. The expected information has ``R = K/2`` and ``Y = 0``.
    """
    p = group.p
    x_bcda = np.zeros((p * p, p * p))
    y = np.zeros((p, p * p))
    z = np.zeros((p, p))
    for block in group.blocks:
        _, _, _, kinv, d, t = _block_moments(block, sigma, mu, False)
        r = 0.5 * kinv if expected else kinv @ t @ kinv - 0.5 * kinv
        kf = _embed(block, kinv, p)
        rf = _embed(block, r, p)
        n_pat = kf.shape[0]
        weighted = kf * block.n[:, None, None]
        x_bcda += weighted.reshape(n_pat, p * p).T @ rf.reshape(n_pat, p * p)
        z += 2.0 * weighted.sum(axis=0)
        if not expected:
            kd = _embed(block, np.einsum("pij,pj->pi", kinv, d), p)
            y += 2.0 * np.einsum("pea,pb->eab", weighted, kd).reshape(p, p * p)
    x = x_bcda.reshape(p, p, p, p).transpose(3, 0, 1, 2).reshape(p * p, p * p)
    return x, y, z


def _patterns(x: np.ndarray) -> list[_Block]:
    """Group the rows of ``x`` (NaN = missing) by missingness pattern, then by answered count."""
    answered = ~np.isnan(x)
    if x.shape[1] <= 62:
        # One integer per row (a bit per item) sorts far faster than rows of booleans.
        codes = answered.astype(np.int64) @ (np.int64(1) << np.arange(x.shape[1], dtype=np.int64))
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        patterns = answered[first]
    else:
        patterns, inverse = np.unique(answered, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    by_k: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for k_pat, pattern in enumerate(patterns):
        obs = np.flatnonzero(pattern)
        positions = order[bounds[k_pat] : bounds[k_pat + 1]]
        by_k.setdefault(len(obs), []).append((obs, x[positions][:, obs], positions))
    blocks = []
    p = x.shape[1]
    for k in sorted(by_k, reverse=True):
        entries = by_k[k]
        obs = np.array([e[0] for e in entries], dtype=int).reshape(len(entries), k)
        n = np.array([len(e[1]) for e in entries], dtype=float)
        means = np.array([e[1].mean(axis=0) for e in entries]).reshape(len(entries), k)
        scatter = np.empty((len(entries), k, k))
        for i, (_, rows, _) in enumerate(entries):
            centred = rows - means[i]
            scatter[i] = centred.T @ centred / len(rows)
        rows, positions = [e[1] for e in entries], [e[2] for e in entries]
        blocks.append(_Block(obs, n, means, scatter, rows, k == p, positions))
    return blocks


def _em_saturated(x: np.ndarray, blocks: list[_Block], max_iter: int = 500, tol: float = 1e-5):
    """Saturated means and covariances under missing data, by lavaan's EM (same start and stop rule)."""
    n, p = x.shape
    mu0 = np.nanmean(x, axis=0)
    var0 = np.nanmean((x - mu0) ** 2, axis=0)
    var0 = np.where(np.isfinite(var0) & (var0 != 0), var0, 1.0)
    sigma0 = np.diag(var0)
    mu, sigma = mu0, sigma0
    iteration = 0
    vech = np.tril_indices(p)
    # Per block: second moments about 0 and the unanswered items of each pattern (fixed over iterations).
    seconds = [b.scatter + b.mean[:, :, None] * b.mean[:, None, :] for b in blocks]
    missing_items = []
    for b in blocks:
        answered = np.zeros((len(b.n), p), dtype=bool)
        answered[np.arange(len(b.n))[:, None], b.obs] = True
        missing_items.append(np.nonzero(~answered)[1].reshape(len(b.n), p - b.k))
    for iteration in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for block, second, mis in zip(blocks, seconds, missing_items, strict=True):
            if block.full:
                t1 += block.n @ block.mean
                t2 += np.einsum("p,pij->ij", block.n, second)
                continue
            n_pat, k = block.obs.shape
            o = block.obs
            s_oo = sigma[o[:, :, None], o[:, None, :]]
            s_mo = sigma[mis[:, :, None], o[:, None, :]]
            s_mm = sigma[mis[:, :, None], mis[:, None, :]]
            coef = s_mo @ np.linalg.inv(s_oo)  # regression of missing on answered
            cond = s_mm - coef @ s_mo.transpose(0, 2, 1)
            h = mu[mis] - np.einsum("pij,pj->pi", coef, mu[o])
            yhat = h + np.einsum("pij,pj->pi", coef, block.mean)
            e_mo = h[:, :, None] * block.mean[:, None, :] + coef @ second
            e_mm = (
                h[:, :, None] * h[:, None, :]
                + h[:, :, None] * (coef @ block.mean[:, :, None]).transpose(0, 2, 1)
                + (coef @ block.mean[:, :, None]) * h[:, None, :]
                + coef @ second @ coef.transpose(0, 2, 1)
                + cond
            )
            perm = np.concatenate([o, mis], axis=1)
            full = np.empty((n_pat, p, p))
            full[:, :k, :k] = second
            full[:, k:, :k] = e_mo
            full[:, :k, k:] = e_mo.transpose(0, 2, 1)
            full[:, k:, k:] = e_mm
            placed = np.empty_like(full)
            ar = np.arange(n_pat)[:, None, None]
            placed[ar, perm[:, :, None], perm[:, None, :]] = full
            t2 += np.einsum("p,pij->ij", block.n, placed)
            first = np.empty((n_pat, p))
            first[np.arange(n_pat)[:, None], perm] = np.concatenate([block.mean, yhat], axis=1)
            t1 += block.n @ first
        mu = t1 / n
        sigma = t2 / n - np.outer(mu, mu)
        if np.linalg.eigvalsh(sigma).min() < 1e-6:
            sigma = sigma + np.eye(p) * (np.diag(sigma).max() * 1e-8)
        delta = max(np.abs(mu - mu0).max(), np.abs((sigma - sigma0)[vech]).max())
        if delta < tol:
            break
        mu0, sigma0 = mu, sigma
    return mu, sigma, iteration


def _group_data(x: np.ndarray, label: str, fiml: bool, cluster: np.ndarray | None = None) -> GroupData:
    n, p = x.shape
    available_mean = np.nanmean(x, axis=0)
    available_var = np.nanmean((x - available_mean) ** 2, axis=0)
    n_log2pi = float((~np.isnan(x)).sum()) * _LOG2PI
    if not fiml:
        mean = x.mean(axis=0)
        centred = x - mean
        return _with_cluster(moments_group(label, n, mean, centred.T @ centred / n, x), cluster)
    blocks = _patterns(x)
    mean, cov, iterations = _em_saturated(x, blocks)
    group = GroupData(label, n, p, blocks, mean, cov, 0.0, False, n_log2pi, available_mean, available_var)
    group.m2ll_h1 = _checked_h1(group, cov, mean)
    group.em_iterations = iterations
    return _with_cluster(group, cluster)


def _with_cluster(group: GroupData, cluster: np.ndarray | None) -> GroupData:
    """Attach each respondent's cluster (any ids, one per row of the group) in casewise-score order."""
    if cluster is not None:
        order = np.concatenate([i for block in group.blocks for i in block.index])
        group.cluster = np.unique(cluster, return_inverse=True)[1].ravel()[order]
    return group


def moments_group(
    label: str, n: int, mean: np.ndarray, cov: np.ndarray, x: np.ndarray | None = None
) -> GroupData:
    """One complete-data group from its means and covariances (divisor ``n``); ``x``, the rows, if known."""
    p = len(mean)
    rows = [x] if x is not None else []
    index = [np.arange(n)] if x is not None else []
    block = _Block(np.arange(p)[None, :], np.array([float(n)]), mean[None, :], cov[None], rows, True, index)
    group = GroupData(label, n, p, [block], mean, cov, 0.0, True, n * p * _LOG2PI, mean, np.diag(cov).copy())
    group.m2ll_h1 = _checked_h1(group, cov, mean)
    return group


def _checked_h1(group: GroupData, cov: np.ndarray, mean: np.ndarray) -> float:
    try:
        return moments_m2ll(group, cov, mean)
    except np.linalg.LinAlgError:
        return math.nan


@dataclass
class PreparedData:
    """Validated data: one GroupData per group, and what was dropped."""

    groups: list[GroupData]
    missing: str  # "listwise" (complete data) or "fiml"
    n_dropped: int
    notes: list[str]
    group_column: str | None
    ov: list[str]
    #: Whether the model has a mean structure when the data decide it (a matrix without means: False).
    meanstructure: bool | None = None
    cluster_column: str | None = None

    @property
    def n_clusters(self) -> int:
        """The clusters over all groups (0 without ``cluster=``); a cluster split by groups counts in each."""
        return sum(g.n_clusters for g in self.groups)


def _column_check(data: pd.DataFrame, column: str, what: str) -> None:
    if column not in data.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in data.columns], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CFAError(f"the data have no {what} column {column!r}{hint}")


def prepare_data(
    data: pd.DataFrame,
    ov: Sequence[str],
    group: str | None,
    missing: str,
    group_labels=None,
    cluster: str | None = None,
) -> PreparedData:
    if not isinstance(data, pd.DataFrame):
        raise CFAError(f"data must be a pandas DataFrame with one column per item, not {type(data).__name__}")
    missing = {"ml": "fiml", "fiml": "fiml", "listwise": "listwise", "auto": "auto"}.get(
        str(missing).lower(), ""
    )
    if not missing:
        raise CFAError(f"missing must be one of {', '.join(MISSING_MODES)}")
    absent = [v for v in ov if v not in data.columns]
    if absent:
        hints = []
        for v in absent:
            close = difflib.get_close_matches(v, [str(c) for c in data.columns], n=1)
            hints.append(f"{v} (did you mean {close[0]!r}?)" if close else v)
        raise CFAError(f"the data have no column for model variable(s): {', '.join(hints)}")
    values = data[list(ov)].apply(pd.to_numeric, errors="coerce")
    bad = [v for v in ov if (values[v].isna() & data[v].notna()).any()]
    if bad:
        raise CFAError(f"non-numeric answers in column(s) {', '.join(bad)}; recode them as numbers first")
    x_all = values.to_numpy(dtype=float)
    notes: list[str] = []
    has_cluster = np.ones(len(data), dtype=bool)
    if cluster is not None:
        _column_check(data, cluster, "cluster")
        has_cluster = data[cluster].notna().to_numpy()
        if not has_cluster.all():
            notes.append(
                f"{int((~has_cluster).sum())} row(s) without a value of {cluster!r} (cluster) left out"
            )
    if group is not None:
        _column_check(data, group, "group")
        gcol = data[group]
        has_group = gcol.notna().to_numpy()
        if not has_group.all():
            notes.append(f"{int((~has_group).sum())} row(s) without a value of {group!r} left out")
        codes = gcol[has_group]
        labels = list(pd.unique(codes)) if group_labels is None else list(group_labels)
        keys = codes.to_numpy()
        group_rows = [np.flatnonzero(has_group)[keys == lab] for lab in labels]
        labels = [str(lab) for lab in labels]
    else:
        labels = ["all"]
        group_rows = [np.arange(len(data))]
    group_rows = [rows[has_cluster[rows]] for rows in group_rows]
    cluster_ids = data[cluster].to_numpy() if cluster is not None else None
    any_missing = np.isnan(x_all[np.concatenate(group_rows)]).any() if group_rows else False
    mode = ("fiml" if any_missing else "listwise") if missing == "auto" else missing
    groups: list[GroupData] = []
    n_dropped = 0
    for label, rows in zip(labels, group_rows, strict=True):
        x = x_all[rows]
        keep = ~np.isnan(x).any(axis=1) if mode == "listwise" else ~np.isnan(x).all(axis=1)
        n_dropped += int((~keep).sum())
        x = x[keep]
        where = f" in group {label!r}" if group is not None else ""
        if len(x) < 2:
            raise CFAError(f"only {len(x)} usable row(s){where}; a CFA needs many more respondents")
        ids = None
        if cluster_ids is not None:
            ids = pd.factorize(cluster_ids[rows][keep])[0]
            if ids.max(initial=-1) < 1:
                raise CFAError(
                    f"cluster-robust standard errors need at least two clusters, but {cluster!r} has "
                    f"{ids.max(initial=-1) + 1} among the usable rows{where}; drop cluster= (or use a "
                    "column with more clusters)"
                )
        fiml = mode == "fiml" and np.isnan(x).any()
        for j, name in enumerate(ov):
            answered = x[:, j][~np.isnan(x[:, j])]
            if len(answered) == 0:
                raise CFAError(f"item {name!r} has no answers{where}")
            if np.ptp(answered) == 0:
                raise CFAError(
                    f"item {name!r} has the same answer from everyone{where} (variance 0); a CFA cannot "
                    "use it: drop it from the model"
                )
        gd = _group_data(x, label, fiml, ids)
        _check_positive_definite(gd.cov, ov, where, em=fiml)
        groups.append(gd)
    if n_dropped:
        what = "with a missing answer (listwise deletion)" if mode == "listwise" else "with no answers at all"
        notes.append(f"{n_dropped} row(s) {what} left out")
    return PreparedData(groups, mode, n_dropped, notes, group, list(ov), cluster_column=cluster)


def _check_positive_definite(cov: np.ndarray, ov: Sequence[str], where: str, em: bool) -> None:
    eigval, eigvec = np.linalg.eigh(cov)
    if eigval[0] > 1e-10 * max(eigval[-1], 1e-300):
        return
    involved = [ov[i] for i in np.argsort(-np.abs(eigvec[:, 0]))[:4] if abs(eigvec[i, 0]) > 0.1]
    what = "EM-estimated covariance matrix" if em else "sample covariance matrix"
    raise CFAError(
        f"the {what} of the items{where} is not positive definite (smallest eigenvalue {eigval[0]:.3g}): "
        f"some items are (nearly) linear combinations of others, e.g. {', '.join(involved)}; "
        "or there are fewer respondents than items. Drop redundant items or collect more data"
    )
