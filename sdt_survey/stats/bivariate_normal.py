"""The standard bivariate normal: cell probabilities of a table cut at thresholds (Genz's BVNU).

The kernel of polychoric correlations (reliability's ordinal coefficients) and
of WLSMV's ordinal CFA, accurate to about 1e-15.
"""

from __future__ import annotations

import math

import numpy as np

# Gauss-Legendre nodes and weights on (-1, 1), halves (Genz's BVNU).
_GL = {
    6: (
        np.array([0.9324695142031522, 0.6612093864662647, 0.2386191860831970]),
        np.array([0.1713244923791705, 0.3607615730481384, 0.4679139345726904]),
    ),
    12: (
        np.array(
            [
                0.9815606342467191,
                0.9041172563704750,
                0.7699026741943050,
                0.5873179542866171,
                0.3678314989981802,
                0.1252334085114692,
            ]
        ),
        np.array(
            [
                0.04717533638651177,
                0.1069393259953183,
                0.1600783285433464,
                0.2031674267230659,
                0.2334925365383547,
                0.2491470458134029,
            ]
        ),
    ),
    20: (
        np.array(
            [
                0.9931285991850949,
                0.9639719272779138,
                0.9122344282513259,
                0.8391169718222188,
                0.7463319064601508,
                0.6360536807265150,
                0.5108670019508271,
                0.3737060887154196,
                0.2277858511416451,
                0.07652652113349733,
            ]
        ),
        np.array(
            [
                0.01761400713915212,
                0.04060142980038694,
                0.06267204833410906,
                0.08327674157670475,
                0.1019301198172404,
                0.1181945319615184,
                0.1316886384491766,
                0.1420961093183821,
                0.1491729864726037,
                0.1527533871307259,
            ]
        ),
    ),
}


def bvn_upper(h: np.ndarray, k: np.ndarray, r: float) -> np.ndarray:
    """P(X > h, Y > k) for a standard bivariate normal with correlation r (Genz's BVNU).

    Vectorized over ``h`` and ``k`` (finite values); accurate to about 1e-15.
    """
    from scipy import special  # imported on use: an ML fit never needs it (issue 15)

    h = np.asarray(h, dtype=float)
    k = np.asarray(k, dtype=float)
    phid = special.ndtr
    if r == 0:
        return phid(-h) * phid(-k)
    ar = abs(r)
    xs, ws = _GL[6] if ar < 0.3 else _GL[12] if ar < 0.75 else _GL[20]
    w = np.r_[ws, ws]
    x = np.r_[1 - xs, 1 + xs]
    hk = h * k
    if ar < 0.925:
        hs = (h * h + k * k) / 2
        asr = math.asin(r) / 2
        sn = np.sin(asr * x)
        bvn = (np.exp((sn * hk[..., None] - hs[..., None]) / (1 - sn**2)) @ w) * asr / (2 * math.pi)
        return np.clip(bvn + phid(-h) * phid(-k), 0, 1)
    if r < 0:
        k = -k
        hk = -hk
    bvn = np.zeros(np.broadcast(h, k).shape)
    if ar < 1:
        a_s = 1 - r * r
        a = math.sqrt(a_s)
        bs = (h - k) ** 2
        c = (4 - hk) / 8
        d = (12 - hk) / 80
        asr = -(bs / a_s + hk) / 2
        bvn = np.where(
            asr > -100, a * np.exp(asr) * (1 - c * (bs - a_s) * (1 - d * bs) / 3 + c * d * a_s**2), 0.0
        )
        b = np.sqrt(bs)
        sp = math.sqrt(2 * math.pi) * phid(-b / a)
        bvn = np.where(hk > -100, bvn - np.exp(-hk / 2) * sp * b * (1 - c * bs * (1 - d * bs) / 3), bvn)
        a /= 2
        xx = (a * x) ** 2
        asr2 = -(bs[..., None] / xx + hk[..., None]) / 2
        sp2 = 1 + c[..., None] * xx * (1 + 5 * d[..., None] * xx)
        rs = np.sqrt(1 - xx)
        ep = np.exp(-(hk[..., None] / 2) * xx / (1 + rs) ** 2) / rs
        term = np.where(asr2 > -100, np.exp(np.maximum(asr2, -100)) * (sp2 - ep), 0.0)
        bvn = (a * (term @ w) - bvn) / (2 * math.pi)
    if r > 0:
        bvn = bvn + phid(-np.maximum(h, k))
    else:
        flip = np.where(h < 0, phid(k) - phid(h), phid(-h) - phid(-k))
        bvn = np.where(h >= k, -bvn, flip - bvn)
    return np.clip(bvn, 0, 1)


def bvn_cdf_grid(rc: np.ndarray, cc: np.ndarray, rho: float) -> np.ndarray:
    """Cell probabilities of a bivariate normal cut at row thresholds rc and column thresholds cc."""
    from scipy import special  # imported on use: an ML fit never needs it (issue 15)

    rows = np.r_[-np.inf, rc, np.inf]
    cols = np.r_[-np.inf, cc, np.inf]
    hh, kk = np.meshgrid(rows, cols, indexing="ij")
    cdf = np.zeros(hh.shape)
    inner = np.isfinite(hh) & np.isfinite(kk)
    # P(X < h, Y < k) = P(-X > -h, -Y > -k)
    cdf[inner] = bvn_upper(-hh[inner], -kk[inner], rho)
    cdf[-1, 1:-1] = special.ndtr(cols[1:-1])
    cdf[1:-1, -1] = special.ndtr(rows[1:-1])
    cdf[-1, -1] = 1.0
    return cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1]


__all__ = ["bvn_cdf_grid", "bvn_upper"]
