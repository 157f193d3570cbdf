"""The vectorized bootstrap of alpha: every resample's alpha from a few matrix products.

Private to :mod:`sdt_survey.reliability`: :func:`~sdt_survey.reliability.alpha`
and the instrument report share one design, so the same resamples of
respondents serve every subscale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from .._progress import progress

#: Rows of resamples drawn at once by the vectorized bootstrap (bounds memory; fixed so
#: that a seed always gives the same resamples).
BOOT_CELLS = 2_000_000


class BootDesign:
    """Sufficient statistics of pairwise covariances, for weighted resamples.

    For item block ``b`` the covariance of items j, k under respondent weights
    ``w`` needs sum(w m_j m_k), sum(w x_j m_k) and sum(w x_j x_k) (m = answered,
    x = centred value, 0 when missing). These are columns of one feature
    matrix ``F``, so every resample's statistics are a row of ``W @ F``: the
    bootstrap is a few matrix products, not a loop over resamples.
    """

    def __init__(self, blocks: Sequence[np.ndarray]):
        feats: list[np.ndarray] = []
        self.layout: list[dict[str, Any]] = []
        start = 0
        for x in blocks:
            n, p = x.shape
            mask = ~np.isnan(x)
            x0 = np.where(mask, x - np.nanmean(x, axis=0), 0.0)
            iu = np.triu_indices(p)
            if mask.all():
                cols = [np.ones((n, 1)), x0, x0[:, iu[0]] * x0[:, iu[1]]]
                spec = {"complete": True}
            else:
                m = mask.astype(float)
                cols = [
                    m[:, iu[0]] * m[:, iu[1]],
                    (x0[:, :, None] * m[:, None, :]).reshape(n, p * p),
                    x0[:, iu[0]] * x0[:, iu[1]],
                ]
                spec = {"complete": False}
            width = sum(c.shape[1] for c in cols)
            spec.update(p=p, start=start, stop=start + width, iu=iu)
            start += width
            feats.extend(cols)
            self.layout.append(spec)
        self.features = np.concatenate(feats, axis=1)
        self.n = self.features.shape[0]

    def _alphas(self, sums: np.ndarray) -> np.ndarray:
        out = np.empty((sums.shape[0], len(self.layout)))
        for b, spec in enumerate(self.layout):
            s = sums[:, spec["start"] : spec["stop"]]
            p, iu = spec["p"], spec["iu"]
            nt = len(iu[0])
            sxy = np.empty((s.shape[0], p, p))
            if spec["complete"]:
                cnt = s[:, :1, None]
                sx = s[:, 1 : 1 + p]
                sxy[:, iu[0], iu[1]] = s[:, 1 + p :]
                sxy[:, iu[1], iu[0]] = s[:, 1 + p :]
                cov = (sxy - sx[:, :, None] * sx[:, None, :] / cnt) / (cnt - 1)
            else:
                cnt = np.empty_like(sxy)
                cnt[:, iu[0], iu[1]] = s[:, :nt]
                cnt[:, iu[1], iu[0]] = s[:, :nt]
                sx = s[:, nt : nt + p * p].reshape(-1, p, p)
                sxy[:, iu[0], iu[1]] = s[:, nt + p * p :]
                sxy[:, iu[1], iu[0]] = s[:, nt + p * p :]
                with np.errstate(divide="ignore", invalid="ignore"):
                    cov = (sxy - sx * sx.transpose(0, 2, 1) / cnt) / (cnt - 1)
            tr = np.trace(cov, axis1=1, axis2=2)
            total = cov.sum(axis=(1, 2))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, b] = (1 - tr / total) * p / (p - 1)
        return out

    def bootstrap(self, n_boot: int, rng: np.random.Generator) -> np.ndarray:
        """Alpha of each block in ``n_boot`` resamples of respondents (rows x blocks)."""
        n = self.n
        chunk = max(1, BOOT_CELLS // n)
        out = []
        with progress("Bootstrap of alpha", total=n_boot, unit="resample") as bar:
            for first in range(0, n_boot, chunk):
                c = min(chunk, n_boot - first)
                idx = rng.integers(0, n, size=(c, n))
                idx += (np.arange(c) * n)[:, None]
                w = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(float)
                out.append(self._alphas(w @ self.features))
                bar.update(c)
        return np.concatenate(out, axis=0)

    def jackknife(self) -> np.ndarray:
        """Leave-one-respondent-out alpha of each block (rows x blocks)."""
        total = self.features.sum(axis=0)
        return self._alphas(total[None, :] - self.features)


def boot_intervals(
    boots: np.ndarray, jack: np.ndarray, estimate: float, confidence: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile (R quantile type 7) and BCa intervals from bootstrap and jackknife values."""
    tail = (1 - confidence) / 2
    ok = np.isfinite(boots)
    b = boots[ok]
    pct = tuple(float(v) for v in np.quantile(b, [tail, 1 - tail]))
    z0 = stats.norm.ppf(np.mean(b < estimate))
    jk = jack[np.isfinite(jack)]
    d = jk.mean() - jk
    denom = 6 * (d**2).sum() ** 1.5
    acc = (d**3).sum() / denom if denom > 0 else 0.0
    zq = stats.norm.ppf([tail, 1 - tail])
    with np.errstate(divide="ignore", invalid="ignore"):
        adj = stats.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
    if not np.all(np.isfinite(adj)):
        return pct, (math.nan, math.nan)  # type: ignore[return-value]
    bca = tuple(float(v) for v in np.quantile(b, adj))
    return pct, bca  # type: ignore[return-value]
