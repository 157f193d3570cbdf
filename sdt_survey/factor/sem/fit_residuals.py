"""lavaan's residual-based fit measures: RMR, SRMR (Bentler's and Mplus'), CRMR, and GFI.

As lavaan's ``lav_residuals_summary`` and ``lav_fit_srmr_mplus``: raw
residuals (``rmr``), residuals divided by the sample SDs (``srmr_bentler``),
differences of correlations (``crmr``, diagonal left out), each with the
mean residuals (``*`` when there is a mean structure) and without
(``*_nomean``), averaged over groups with weights ``n_g / N``. Under FIML
the sample moments are the EM estimates. For ordinal data the residuals are
of the polychoric correlations and the thresholds. ``gfi`` is lavaan's
``1 - e'Ve / s'Vs`` with ``V`` the weight of the sample statistics ``s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .implied import ModelState
from .samplestats import GroupData

_KEYS = ("rmr", "rmr_nomean", "srmr", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean")
_KEYS += ("srmr_mplus", "srmr_mplus_nomean")


def _rms(cov_part: np.ndarray, mean_part: np.ndarray, count_cov: float, count_mean: float) -> tuple:
    nomean = math.sqrt(float(np.sum(cov_part**2)) / count_cov)
    total = math.sqrt(float(np.sum(cov_part**2) + np.sum(mean_part**2)) / (count_cov + count_mean))
    return total, nomean


def continuous_residual_measures(
    groups: Sequence[GroupData], states: Sequence[ModelState], meanstructure: bool
) -> dict[str, float]:
    """rmr, srmr (Bentler's), crmr and srmr_mplus, with and without means, for a continuous model.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace as NS
    >>> g = NS(n=10, cov=np.eye(2), mean=np.zeros(2))
    >>> st = NS(sigma=np.array([[1.0, 0.1], [0.1, 1.0]]), mu=np.zeros(2))
    >>> round(continuous_residual_measures([g], [st], False)["srmr"], 4)
    0.0577
    """
    n_total = sum(g.n for g in groups)
    per = {k: 0.0 for k in _KEYS}
    for group, st in zip(groups, states, strict=True):
        s, m, sig, mu = group.cov, group.mean, st.sigma, st.mu
        p = len(m)
        low = np.tril_indices(p)
        off = np.tril_indices(p, -1)
        sd_s, sd_sig = np.sqrt(np.diag(s)), np.sqrt(np.diag(sig))
        w = group.n / n_total
        raw = _rms((s - sig)[low], m - mu, p * (p + 1) / 2, p)
        bentler = _rms(((s - sig) / np.outer(sd_s, sd_s))[low], (m - mu) / sd_s, p * (p + 1) / 2, p)
        cor_res = s / np.outer(sd_s, sd_s) - sig / np.outer(sd_sig, sd_sig)
        crmr = _rms(cor_res[off], (m - mu) / sd_s, p * (p - 1) / 2, p)  # lavaan's cor.bollen means
        var_res = (np.diag(s) - np.diag(sig)) / np.diag(s)
        mplus = _rms(np.concatenate([cor_res[off], var_res]), m / sd_s - mu / sd_sig, p * (p + 1) / 2, p)
        pairs = zip(("rmr", "srmr_bentler", "crmr", "srmr_mplus"), (raw, bentler, crmr, mplus), strict=True)
        for key, (total, nomean) in pairs:
            per[key] += w * (total if meanstructure else nomean)
            per[f"{key}_nomean"] += w * nomean
    per["srmr"] = per["srmr_bentler"]
    return {k: per[k] for k in _KEYS}


def ordinal_residual_measures(
    sample_cor: np.ndarray, implied_cor: np.ndarray, th_residuals: np.ndarray
) -> dict[str, float]:
    """rmr, srmr and crmr of an ordinal model (correlation and threshold residuals); no srmr_mplus (NaN).

    ``srmr`` is lavaan's for categorical data: Bentler's without the thresholds.
    """
    p = sample_cor.shape[0]
    res = (sample_cor - implied_cor)[np.tril_indices(p, -1)]
    with_diag = _rms(res, th_residuals, p * (p + 1) / 2, len(th_residuals))
    crmr = _rms(res, th_residuals, p * (p - 1) / 2, len(th_residuals))
    out = {
        "rmr": with_diag[0],
        "rmr_nomean": with_diag[1],
        "srmr": with_diag[1],
        "srmr_bentler": with_diag[0],
        "srmr_bentler_nomean": with_diag[1],
        "crmr": crmr[0],
        "crmr_nomean": crmr[1],
        "srmr_mplus": math.nan,
        "srmr_mplus_nomean": math.nan,
    }
    return out


def continuous_gfi(
    groups: Sequence[GroupData],
    states: Sequence[ModelState],
    meanstructure: bool,
    x_index: Sequence[int] = (),
) -> float:
    """lavaan's GFI with the normal-theory weight at the implied moments (lavaan's structured h1 information).

    For a symmetric residual ``A`` and mean residual ``a`` the weight's quadratic
    form is ``tr(K A K A) / 2 + a'K a`` (``K`` the implied inverse covariance);
    under FIML it is averaged over the missing-data patterns, each on its
    answered items; the sample statistics are then the available-case means
    and the pairwise covariances times ``(n - 1) / n``, as lavaan's.
    With covariates (fixed.x, positions ``x_index``) lavaan's weight has no
    rows for their covariances and means, so those entries count in neither sum.
    """
    values = []
    x_index = np.asarray(x_index, dtype=int)
    for group, st in zip(groups, states, strict=True):
        s_cov, s_mean = _wls_obs(group)
        keep_cov, keep_mean = np.ones((group.p, group.p)), np.ones(group.p)
        keep_cov[np.ix_(x_index, x_index)] = 0.0
        keep_mean[x_index] = 0.0
        t1 = t2 = 0.0
        for block in group.blocks:
            obs = block.obs if not block.full else np.arange(group.p)[None, :]
            kinv = np.linalg.inv(st.sigma[obs[:, :, None], obs[:, None, :]])
            for observed_part, (part, mean) in enumerate(
                ((s_cov - st.sigma, s_mean - st.mu), (s_cov, s_mean))
            ):
                part, mean = part * keep_cov, mean * keep_mean
                a = part[obs[:, :, None], obs[:, None, :]]
                ka = kinv @ a
                q = 0.5 * np.einsum("pij,pji->p", ka, ka)
                if meanstructure:
                    mo = mean[obs]
                    q = q + np.einsum("pi,pij,pj->p", mo, kinv, mo)
                total = float(np.dot(block.n, q))
                if observed_part:
                    t2 += total
                else:
                    t1 += total
        values.append(1 - t1 / t2)
    n = np.array([g.n for g in groups], dtype=float)
    return float(np.dot(n, values) / n.sum())


def _wls_obs(group: GroupData) -> tuple[np.ndarray, np.ndarray]:
    """lavaan's sample statistics of a group: the moments, or under missing data the available-case ones."""
    if group.complete:
        return group.cov, group.mean
    rows = np.full((group.n, group.p), np.nan)
    start = 0
    for block in group.blocks:
        for obs, x in zip(block.obs, block.rows, strict=True):
            rows[start : start + len(x)][:, obs] = x
            start += len(x)
    mask = (~np.isnan(rows)).astype(float)
    x0 = np.nan_to_num(rows)
    pair_n = mask.T @ mask
    pair_sum = x0.T @ mask  # [a, b]: the sum of item a over the rows that answered a and b
    cov = (x0.T @ x0 - pair_sum * pair_sum.T / pair_n) / (pair_n - 1)
    mean = x0.sum(axis=0) / mask.sum(axis=0)
    return cov * (group.n - 1) / group.n, mean


def ordinal_gfi(obs: np.ndarray, est: np.ndarray, weights: np.ndarray) -> float:
    """lavaan's GFI of a DWLS fit: ``1 - sum(w (s - e)^2) / sum(w s^2)`` over thresholds and correlations."""
    return float(1 - np.sum(weights * (obs - est) ** 2) / np.sum(weights * obs**2))
