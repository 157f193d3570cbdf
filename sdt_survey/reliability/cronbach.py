"""Cronbach's alpha with psych::alpha's whole table.

Standardized alpha, Guttman's lambda 6, average r, S/N, Duhachek's SE; Feldt,
Duhachek and bootstrap (percentile, BCa) intervals; item statistics and
reliability if an item is dropped. See ``docs/reliability.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ReliabilityError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_interval as fmt_ci
from ..stats.moments import cov2cor, pairwise_moments, smc
from ._bootstrap import BootDesign, boot_intervals
from ._common import (
    Missing,
    check_bootstrap,
    check_confidence,
    check_missing,
    frame_text,
    item_matrix,
    require_finite,
    warn,
    z_psych,
)


def _alpha_stats(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    """psych's ``alpha.1``: the coefficients of one covariance/correlation pair."""
    with np.errstate(divide="ignore", invalid="ignore"):  # items cancelling out: -Inf/NaN, as psych gives
        return _alpha_coefficients(c, r)


def _alpha_coefficients(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    n = c.shape[0]
    tot = c.sum()
    tr = np.trace(c)
    raw = (1 - tr / tot) * (n / (n - 1))
    sum_r = r.sum()
    std = (1 - n / sum_r) * (n / (n - 1))
    g6 = 1 - (n - smc(r).sum()) / sum_r
    av_r = (sum_r - n) / (n * (n - 1))
    lower = r[np.tril_indices(n, -1)]
    var_r = float(np.var(lower, ddof=1)) if lower.size > 1 else math.nan
    med_r = float(np.median(lower))
    sn = n * av_r / (1 - av_r)
    cc = c @ c
    q = (2 * n**2 / ((n - 1) ** 2 * tot**3)) * (tot * (np.trace(cc) + tr**2) - 2 * (tr * cc.sum()))
    return {
        "raw_alpha": raw,
        "std_alpha": std,
        "g6": g6,
        "average_r": av_r,
        "signal_noise": sn,
        "q": q,
        "var_r": var_r,
        "med_r": med_r,
    }


def _alpha_drop(c: np.ndarray, r: np.ndarray, n_obs: int) -> np.ndarray:
    """Reliability if each item is dropped (psych's ``alpha.drop``), one row per item."""
    p = c.shape[0]
    rows = []
    if p > 2:
        for i in range(p):
            keep = np.arange(p) != i
            s = _alpha_stats(c[np.ix_(keep, keep)], r[np.ix_(keep, keep)])
            rows.append(
                [
                    s["raw_alpha"],
                    s["std_alpha"],
                    s["g6"],
                    s["average_r"],
                    s["signal_noise"],
                    math.sqrt(s["q"] / n_obs) if s["q"] >= 0 else math.nan,
                    s["var_r"],
                    s["med_r"],
                ]
            )
    else:
        # psych's two-item convention: the "alpha" of one item is C12 / C_other,other.
        r12 = r[0, 1]
        smc1 = smc(r)[0]
        for other in (1, 0):
            rows.append([c[0, 1] / c[other, other], r12, smc1, r12, r12 / (1 - r12), math.nan, 0.0, r12])
    return np.asarray(rows, dtype=float)


DROP_COLUMNS = ["raw_alpha", "std_alpha", "g6", "average_r", "signal_noise", "alpha_se", "var_r", "med_r"]
ITEM_COLUMNS = ["n", "raw_r", "std_r", "r_cor", "r_drop", "mean", "sd"]


def _response_frequencies(
    x: np.ndarray, names: Sequence[str], max_categories: int = 10
) -> pd.DataFrame | None:
    """psych::response.frequencies: share of each value among answers, plus the missing share."""
    values = np.unique(x[~np.isnan(x)])
    if values.size == 0 or values.size > max_categories:
        return None
    answered = (~np.isnan(x)).sum(axis=0)
    counts = (x[:, :, None] == values[None, None, :]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        freq = counts / answered[:, None]
    labels = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
    out = pd.DataFrame(freq, index=list(names), columns=labels)
    out["miss"] = 1 - answered / x.shape[0]
    return out


@dataclass(frozen=True, eq=False)
class AlphaResult(Result):
    """Cronbach's alpha and psych::alpha's whole table.

    Scalars follow psych's ``total`` row (psych name in brackets): ``alpha``
    (raw_alpha), ``alpha_std`` (std.alpha), ``g6`` (G6(smc)), ``average_r``,
    ``median_r``, ``var_r``, ``signal_noise`` (S/N), ``alpha_se`` (ase),
    ``mean`` and ``sd`` of the scale score (the mean of each respondent's
    answered items). Intervals are ``(lower, upper)`` tuples at
    ``confidence``; ``ci_bootstrap`` is the BCa interval (``None`` without a
    bootstrap). ``item_stats`` is psych's ``item.stats``, ``alpha_drop`` its
    ``alpha.drop``, ``response_freq`` its ``response.freq``.
    """

    alpha: float
    alpha_std: float
    g6: float
    average_r: float
    median_r: float
    var_r: float
    signal_noise: float
    alpha_se: float
    mean: float
    sd: float
    n_obs: int
    n_complete: int
    n_items: int
    missing: str
    confidence: float
    ci_feldt: tuple[float, float]
    ci_duhachek: tuple[float, float]
    ci_bootstrap_percentile: tuple[float, float] | None
    ci_bootstrap_bca: tuple[float, float] | None
    n_bootstrap: int
    seed: int | None
    item_stats: pd.DataFrame = field(repr=False)
    alpha_drop: pd.DataFrame = field(repr=False)
    response_freq: pd.DataFrame | None = field(repr=False)
    bootstrap_distribution: np.ndarray | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ci_bootstrap(self) -> tuple[float, float] | None:
        """The bootstrap interval reported by default: BCa."""
        return self.ci_bootstrap_bca

    def to_frame(self) -> pd.DataFrame:
        """One row per item: item statistics, then reliability if the item is dropped."""
        drop = self.alpha_drop.add_suffix("_if_deleted").rename(
            columns={
                "raw_alpha_if_deleted": "alpha_if_deleted",
                "std_alpha_if_deleted": "alpha_std_if_deleted",
            }
        )
        return pd.concat([self.item_stats, drop], axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe values (NaN becomes ``None``)."""
        out = {
            "alpha": self.alpha,
            "alpha_std": self.alpha_std,
            "g6": self.g6,
            "average_r": self.average_r,
            "median_r": self.median_r,
            "var_r": self.var_r,
            "signal_noise": self.signal_noise,
            "alpha_se": self.alpha_se,
            "mean": self.mean,
            "sd": self.sd,
            "n_obs": self.n_obs,
            "n_complete": self.n_complete,
            "n_items": self.n_items,
            "missing": self.missing,
            "confidence": self.confidence,
            "ci_feldt": list(self.ci_feldt),
            "ci_duhachek": list(self.ci_duhachek),
            "ci_bootstrap_percentile": None
            if self.ci_bootstrap_percentile is None
            else list(self.ci_bootstrap_percentile),
            "ci_bootstrap_bca": None if self.ci_bootstrap_bca is None else list(self.ci_bootstrap_bca),
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "items": self.to_frame().to_dict(orient="index"),
            "response_freq": None
            if self.response_freq is None
            else self.response_freq.to_dict(orient="index"),
            **message_fields(self),
        }
        return jsonable(out)

    def summary(self) -> str:
        pct = f"{self.confidence:.0%}"
        lines = [
            f"Reliability analysis: {self.n_items} items, n = {self.n_obs} ({self.n_complete} complete), "
            f"missing = {self.missing}",
            "",
            " raw_alpha std.alpha G6(smc) average_r   S/N    ase   mean     sd median_r",
            f" {self.alpha:9.3f} {self.alpha_std:9.3f} {self.g6:7.3f} {self.average_r:9.3f} "
            f"{self.signal_noise:5.2f} {self.alpha_se:6.4f} {self.mean:6.2f} {self.sd:6.2f} "
            f"{self.median_r:8.3f}",
            "",
            f" {pct} confidence intervals",
            f"   Feldt        {fmt_ci(self.ci_feldt)}",
            f"   Duhachek     {fmt_ci(self.ci_duhachek)}",
        ]
        if self.ci_bootstrap_bca is not None:
            lines.append(
                f"   bootstrap    {fmt_ci(self.ci_bootstrap_percentile)} percentile, B = {self.n_bootstrap}"
            )
            lines.append(f"                {fmt_ci(self.ci_bootstrap_bca)} BCa")
        lines += ["", " Reliability if an item is dropped:", frame_text(self.alpha_drop)]
        lines += ["", " Item statistics:", frame_text(self.item_stats, 3)]
        if self.response_freq is not None:
            lines += [
                "",
                " Non missing response frequency for each item:",
                frame_text(self.response_freq, 2),
            ]
        lines += message_lines(self)
        return "\n".join(lines)


def alpha(
    items: pd.DataFrame,
    *,
    missing: Missing = "pairwise",
    bootstrap: int = 0,
    seed: int | None = None,
    confidence: float = 0.95,
) -> AlphaResult:
    """Cronbach's alpha with psych::alpha's full table.

    Parameters
    ----------
    items : DataFrame
        One numeric column per item (at least two), one row per respondent;
        ``NaN`` marks a missing answer. Reverse-keyed items must already be
        reversed.
    missing : {"pairwise", "listwise"}
        ``"pairwise"`` (psych's default) uses every answered pair for each
        covariance; ``"listwise"`` first drops respondents with any missing
        item (the same as ``psych::alpha(na.omit(x))``).
    bootstrap : int
        Number of bootstrap resamples of respondents (0 = none). Resamples
        are drawn as multinomial weights and evaluated all at once.
    seed : int, optional
        Seed of the bootstrap (numpy's default generator).
    confidence : float
        Level of the Feldt, Duhachek and bootstrap intervals.

    Returns
    -------
    AlphaResult

    Notes
    -----
    As in psych: the scale score is each respondent's mean over answered
    items; ``raw_r`` correlates it with each item (pairwise); ``std_r`` and
    ``r_cor`` come from the correlation matrix ``cov2cor(C)`` of the pairwise
    covariances ``C`` (``r_cor`` with SMCs on the diagonal); ``r_drop`` is the
    item's correlation with the sum of the other items computed from ``C``;
    Duhachek's SE uses ``n`` = all rows; Feldt's interval uses ``n`` rows and
    ``k`` items. The bootstrap percentile interval is psych's ``boot.ci``
    (quantile type 7); the BCa interval uses jackknife acceleration.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=300)
    >>> items = pd.DataFrame({f"i{k}": f + rng.normal(size=300) for k in range(5)})
    >>> res = alpha(items, bootstrap=200, seed=1)
    >>> round(res.alpha, 3), res.missing
    (0.841, 'pairwise')
    >>> res.ci_feldt[0] < res.alpha < res.ci_feldt[1]
    True
    >>> res.to_frame().loc["i0", ["r_drop", "alpha_if_deleted"]].round(3).tolist()
    [0.656, 0.806]
    """
    check_missing(missing)
    check_confidence(confidence)
    check_bootstrap(bootstrap, seed)
    x = item_matrix(items)
    names = [str(c) for c in items.columns]
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
        if x.shape[0] < 2:
            raise ReliabilityError(
                "fewer than 2 respondents answered every item; listwise alpha is undefined"
            )
    result = alpha_from_matrix(x, names, missing=missing, confidence=confidence)
    if bootstrap:
        rng = np.random.default_rng(seed)
        good = result.pop("_good")
        design = BootDesign([x[:, good]])
        boots = design.bootstrap(bootstrap, rng)[:, 0]
        jack = design.jackknife()[:, 0]
        pct, bca = boot_intervals(boots, jack, result["alpha"], confidence)
        result.update(
            ci_bootstrap_percentile=pct,
            ci_bootstrap_bca=bca,
            bootstrap_distribution=boots,
            n_bootstrap=bootstrap,
        )
    else:
        result.pop("_good")
    return AlphaResult(seed=seed, **result)


def alpha_from_matrix(x: np.ndarray, names: list[str], *, missing: str, confidence: float) -> dict[str, Any]:
    n_obs, n_items = x.shape
    answered = ~np.isnan(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        item_sd = np.nanstd(x, axis=0, ddof=1)
        item_mean = np.nanmean(x, axis=0)
    good = np.isfinite(item_sd) & (item_sd > 0)
    if good.sum() < 2:
        raise ReliabilityError("alpha needs at least two items with variance")
    messages: list[str] = []
    if not good.all():
        dropped = [names[i] for i in np.flatnonzero(~good)]
        warn(
            messages,
            f"items without variance were left out of alpha (as psych does) but still count in the "
            f"scale score: {', '.join(dropped)}",
            stacklevel=3,
        )
    xg = x[:, good]
    gnames = [n for n, g in zip(names, good, strict=True) if g]
    cov, cor_pw, _ = pairwise_moments(xg)
    require_finite(cov, gnames, "covariance")
    r = cov2cor(cov)
    require_finite(r, gnames, "correlation")
    p = xg.shape[1]
    matrix = cor_pw if not np.isnan(cor_pw).any() else r
    if p > 1 and np.isfinite(matrix).all():  # psych's check uses the first component of R
        _, vecs = np.linalg.eigh(matrix)
        first = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        negative = [gnames[i] for i in np.flatnonzero(first < 0)]
        if negative:
            warn(
                messages,
                "some items are negatively correlated with the total scale and probably should be "
                f"reversed: {', '.join(negative)}",
                stacklevel=3,
            )
    tot = _alpha_stats(cov, r)
    drop = _alpha_drop(cov, r, n_obs)

    # Scale score: mean of the answered items; constant items count at their value (psych).
    n_bad = int((~good).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        total = np.nanmean(xg, axis=1)
        if n_bad:
            bad_values = np.nan_to_num(item_mean[~good]).sum()
            total = (p * total + bad_values) / (p + n_bad)
    ok_total = ~np.isnan(total)
    scale_mean = float(total[ok_total].mean())
    scale_sd = float(total[ok_total].std(ddof=1)) if ok_total.sum() > 1 else math.nan
    raw_r = _pairwise_cor_with(total, xg)

    # std.r and r.cor from cov2cor(C); r.drop from C.
    vt = r.sum()
    rc = r.copy()
    np.fill_diagonal(rc, smc(r))
    with np.errstate(invalid="ignore"):  # items pulling against each other: NaN, as sqrt() in R gives
        std_r = r.sum(axis=0) / np.sqrt(vt)
        r_cor = rc.sum(axis=0) / np.sqrt(rc.sum())
    col = cov.sum(axis=0)
    diag = np.diag(cov)
    v_drop = cov.sum() - 2 * col + diag
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant total or v_drop < 0: NaN, as R
        r_drop = (col - diag) / np.sqrt(diag * v_drop)

    def spread(values: np.ndarray) -> np.ndarray:
        out = np.full(n_items, np.nan)
        out[good] = values
        return out

    item_stats = pd.DataFrame(
        {
            "n": answered.sum(axis=0),
            "raw_r": spread(raw_r),
            "std_r": spread(std_r),
            "r_cor": spread(r_cor),
            "r_drop": spread(r_drop),
            "mean": item_mean,
            "sd": item_sd,
        },
        index=names,
    )
    drop_full = np.full((n_items, len(DROP_COLUMNS)), np.nan)
    drop_full[good] = drop
    alpha_drop = pd.DataFrame(drop_full, index=names, columns=DROP_COLUMNS)

    ase = math.sqrt(tot["q"] / n_obs) if tot["q"] >= 0 else math.nan
    z = z_psych(confidence)
    return {
        "alpha": float(tot["raw_alpha"]),
        "alpha_std": float(tot["std_alpha"]),
        "g6": float(tot["g6"]),
        "average_r": float(tot["average_r"]),
        "median_r": float(tot["med_r"]),
        "var_r": float(tot["var_r"]),
        "signal_noise": float(tot["signal_noise"]),
        "alpha_se": ase,
        "mean": scale_mean,
        "sd": scale_sd,
        "n_obs": int(n_obs),
        "n_complete": int(answered.all(axis=1).sum()),
        "n_items": int(n_items),
        "missing": missing,
        "confidence": float(confidence),
        "ci_feldt": feldt_ci(float(tot["raw_alpha"]), n_obs, p, confidence),
        "ci_duhachek": (float(tot["raw_alpha"] - z * ase), float(tot["raw_alpha"] + z * ase)),
        "ci_bootstrap_percentile": None,
        "ci_bootstrap_bca": None,
        "n_bootstrap": 0,
        "item_stats": item_stats,
        "alpha_drop": alpha_drop,
        "response_freq": _response_frequencies(x, names),
        "warnings": tuple(messages),
        "_good": good,
    }


def _pairwise_cor_with(total: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Pearson r of ``total`` with each column of ``x`` over pairwise-complete rows."""
    m = (~np.isnan(x)) & ~np.isnan(total)[:, None]
    n = m.sum(axis=0)
    t = np.where(m, total[:, None], 0.0)
    xv = np.where(m, x, 0.0)
    mt = t.sum(axis=0) / n
    mx = xv.sum(axis=0) / n
    dt = np.where(m, t - mt, 0.0)
    dx = np.where(m, xv - mx, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant total: NaN, as R's cor() gives
        return (dt * dx).sum(axis=0) / np.sqrt((dt * dt).sum(axis=0) * (dx * dx).sum(axis=0))


def feldt_ci(alpha_value: float, n_obs: int, n_items: int, confidence: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965) F-based interval for alpha (psych::alpha.ci).

    ``1 - (1 - alpha) * F`` at the two tail quantiles of F(n - 1, (n - 1)(k - 1)).

    Examples
    --------
    >>> [round(v, 4) for v in feldt_ci(0.8, 200, 6)]
    [0.7538, 0.8401]
    """
    tail = (1 - confidence) / 2
    df1, df2 = n_obs - 1, (n_obs - 1) * (n_items - 1)
    lower = 1 - (1 - alpha_value) * stats.f.ppf(1 - tail, df1, df2)
    upper = 1 - (1 - alpha_value) * stats.f.ppf(tail, df1, df2)
    return float(lower), float(upper)
