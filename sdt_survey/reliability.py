"""Reliability and item analysis, reproducing R's psych.

Every coefficient here is computed the way ``psych`` 2.2.9 computes it, and
the test suite checks the numbers against goldens made by R (see
``docs/reliability.md`` for the formulas, psych's output names and the few
places where a convention had to be chosen).

The functions take *clean* data: a :class:`pandas.DataFrame` with one numeric
column per item and one row per respondent, ``NaN`` for a missing answer, and
reverse-keyed items already reversed. Scoring (reading files, reverse keys,
``min_valid`` rules) happens before this module.

=========================  =====================================================
:func:`alpha`              Cronbach's alpha with psych::alpha's whole table:
                           standardized alpha, Guttman's lambda 6, average r,
                           S/N, Duhachek's SE, Feldt, Duhachek and bootstrap
                           (percentile, BCa) intervals, item statistics and
                           reliability if an item is dropped.
:func:`omega_total`        one-factor omega total (psych ``omega(nfactors=1)``).
:func:`omega`              omega hierarchical, omega total, ECV and the
                           Schmid-Leiman solution (minres + oblimin).
:func:`split_half`         maximum (lambda 4), minimum (beta) and mean split-half
                           reliability (psych::splitHalf).
:func:`polychoric`         polychoric correlations and thresholds, and from
                           them :func:`ordinal_alpha` and :func:`ordinal_omega`.
:func:`group_reliability`  ICC(1), ICC(2) and design effect of a score across
                           groups (psych::statsBy).
:func:`test_retest`        test-retest ICC (two-way random, absolute agreement,
                           single measurement) with pingouin.
:func:`reliability_table`  everything per subscale of an instrument, as one
                           report.
=========================  =====================================================

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sdt_survey import reliability
>>> rng = np.random.default_rng(1)
>>> trait = rng.normal(size=500)
>>> items = pd.DataFrame({f"q{i}": np.round(3 + trait + rng.normal(size=500)) for i in range(1, 5)})
>>> res = reliability.alpha(items)
>>> round(res.alpha, 3), round(res.alpha_std, 3)
(0.76, 0.76)
>>> res.item_stats.columns.tolist()
['n', 'raw_r', 'std_r', 'r_cor', 'r_drop', 'mean', 'sd']
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._callable import make_module_callable
from .errors import ReliabilityError, ReliabilityKeyError, SdtSurveyError
from .results import Result as _Result
from .results import format_interval as _fmt_ci
from .results import format_number as _fmt
from .results import jsonable
from .stats.bivariate_normal import bvn_cdf_grid as _bvn_cdf_grid
from .stats.moments import cov2cor as _cov2cor
from .stats.moments import pairwise_moments as _pairwise_moments
from .stats.moments import smc as _smc
from .stats.rotation import oblimin, varimax

Missing = Literal["pairwise", "listwise"]
MISSING_MODES = ("pairwise", "listwise")

#: Rows of resamples drawn at once by the vectorized bootstrap (bounds memory; fixed so
#: that a seed always gives the same resamples).
_BOOT_CELLS = 2_000_000


# =========================================================================== helpers


def _item_matrix(items: pd.DataFrame, *, min_items: int = 2, what: str = "items") -> np.ndarray:
    """Validate an item frame and return it as a float array (NaN = missing)."""
    if not isinstance(items, pd.DataFrame):
        raise TypeError(
            f"{what} must be a pandas DataFrame (one column per item), got {type(items).__name__}"
        )
    if items.columns.has_duplicates:
        dupes = sorted({str(c) for c in items.columns[items.columns.duplicated()]})
        raise ReliabilityError(f"{what} has duplicated columns: {', '.join(dupes)}")
    if items.shape[1] < min_items:
        raise ReliabilityError(f"{what} needs at least {min_items} item columns, got {items.shape[1]}")
    bad = [str(c) for c in items.columns if not pd.api.types.is_numeric_dtype(items[c])]
    if bad:
        raise TypeError(f"{what} must be numeric; non-numeric columns: {', '.join(bad)}")
    x = items.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise ReliabilityError(f"{what} contains infinite values")
    if x.shape[0] < 2:
        raise ReliabilityError(f"{what} needs at least 2 respondents, got {x.shape[0]}")
    return x


def _check_missing(missing: str) -> None:
    if missing not in MISSING_MODES:
        raise ReliabilityError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")


def _check_bootstrap(bootstrap: int, seed: int | None) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ReliabilityError(f"bootstrap must be a whole number of resamples >= 0, got {bootstrap!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ReliabilityError(f"seed must be a non-negative integer, got {seed!r}")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ReliabilityError(f"confidence must be in (0, 1), got {confidence!r}")


def _require_finite(mat: np.ndarray, names: Sequence[str], what: str) -> None:
    if np.isnan(mat).any():
        i, j = np.argwhere(np.isnan(mat))[0]
        raise ReliabilityError(
            f"the {what} of {names[i]!r} and {names[j]!r} cannot be computed "
            "(fewer than two respondents answered both, or an item has no variance)"
        )


def _z_psych(confidence: float) -> float:
    """The normal quantile rounded to two decimals: psych prints alpha -/+ 1.96 ase."""
    return round(float(stats.norm.ppf(0.5 + confidence / 2)), 2)


def _frame_text(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.{digits}f}", na_rep="-")


# =========================================================================== alpha


def _alpha_stats(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    """psych's ``alpha.1``: the coefficients of one covariance/correlation pair."""
    n = c.shape[0]
    tot = c.sum()
    tr = np.trace(c)
    raw = (1 - tr / tot) * (n / (n - 1))
    sum_r = r.sum()
    std = (1 - n / sum_r) * (n / (n - 1))
    g6 = 1 - (n - _smc(r).sum()) / sum_r
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
        smc1 = _smc(r)[0]
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
class AlphaResult(_Result):
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
            f"   Feldt        {_fmt_ci(self.ci_feldt)}",
            f"   Duhachek     {_fmt_ci(self.ci_duhachek)}",
        ]
        if self.ci_bootstrap_bca is not None:
            lines.append(
                f"   bootstrap    {_fmt_ci(self.ci_bootstrap_percentile)} percentile, B = {self.n_bootstrap}"
            )
            lines.append(f"                {_fmt_ci(self.ci_bootstrap_bca)} BCa")
        lines += ["", " Reliability if an item is dropped:", _frame_text(self.alpha_drop)]
        lines += ["", " Item statistics:", _frame_text(self.item_stats, 3)]
        if self.response_freq is not None:
            lines += [
                "",
                " Non missing response frequency for each item:",
                _frame_text(self.response_freq, 2),
            ]
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
    _check_missing(missing)
    _check_confidence(confidence)
    _check_bootstrap(bootstrap, seed)
    x = _item_matrix(items)
    names = [str(c) for c in items.columns]
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
        if x.shape[0] < 2:
            raise ReliabilityError(
                "fewer than 2 respondents answered every item; listwise alpha is undefined"
            )
    result = _alpha_from_matrix(x, names, missing=missing, confidence=confidence)
    if bootstrap:
        rng = np.random.default_rng(seed)
        good = result.pop("_good")
        design = _BootDesign([x[:, good]])
        boots = design.bootstrap(bootstrap, rng)[:, 0]
        jack = design.jackknife()[:, 0]
        pct, bca = _boot_intervals(boots, jack, result["alpha"], confidence)
        result.update(
            ci_bootstrap_percentile=pct,
            ci_bootstrap_bca=bca,
            bootstrap_distribution=boots,
            n_bootstrap=bootstrap,
        )
    else:
        result.pop("_good")
    return AlphaResult(seed=seed, **result)


def _alpha_from_matrix(x: np.ndarray, names: list[str], *, missing: str, confidence: float) -> dict[str, Any]:
    n_obs, n_items = x.shape
    answered = ~np.isnan(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        item_sd = np.nanstd(x, axis=0, ddof=1)
        item_mean = np.nanmean(x, axis=0)
    good = np.isfinite(item_sd) & (item_sd > 0)
    if good.sum() < 2:
        raise ReliabilityError("alpha needs at least two items with variance")
    if not good.all():
        dropped = [names[i] for i in np.flatnonzero(~good)]
        warnings.warn(
            f"items without variance were left out of alpha (as psych does) but still count in the "
            f"scale score: {', '.join(dropped)}",
            stacklevel=3,
        )
    xg = x[:, good]
    gnames = [n for n, g in zip(names, good, strict=True) if g]
    cov, cor_pw, _ = _pairwise_moments(xg)
    _require_finite(cov, gnames, "covariance")
    r = _cov2cor(cov)
    p = xg.shape[1]
    if p > 1:
        _, vecs = np.linalg.eigh(cor_pw if not np.isnan(cor_pw).any() else r)
        first = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        negative = [gnames[i] for i in np.flatnonzero(first < 0)]
        if negative:
            warnings.warn(
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
    np.fill_diagonal(rc, _smc(r))
    with np.errstate(invalid="ignore"):  # items pulling against each other: NaN, as sqrt() in R gives
        std_r = r.sum(axis=0) / np.sqrt(vt)
        r_cor = rc.sum(axis=0) / np.sqrt(rc.sum())
    col = cov.sum(axis=0)
    diag = np.diag(cov)
    v_drop = cov.sum() - 2 * col + diag
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
    z = _z_psych(confidence)
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


# --------------------------------------------------------------------- bootstrap


class _BootDesign:
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
        chunk = max(1, _BOOT_CELLS // n)
        out = []
        for first in range(0, n_boot, chunk):
            c = min(chunk, n_boot - first)
            idx = rng.integers(0, n, size=(c, n))
            idx += (np.arange(c) * n)[:, None]
            w = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(float)
            out.append(self._alphas(w @ self.features))
        return np.concatenate(out, axis=0)

    def jackknife(self) -> np.ndarray:
        """Leave-one-respondent-out alpha of each block (rows x blocks)."""
        total = self.features.sum(axis=0)
        return self._alphas(total[None, :] - self.features)


def _boot_intervals(
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


# =========================================================================== factor analysis


def _uls_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """psych's FAout.wls: the first k principal axes of S - diag(psi)."""
    vals, vecs = np.linalg.eigh(s - np.diag(psi))
    vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def _uls_objective(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    lam = _uls_loadings(psi, s, k)
    resid = s - np.diag(psi) - lam @ lam.T
    return 0.5 * float(np.sum(resid**2)), -np.diag(resid)


def fa_minres(r: np.ndarray, nfactors: int) -> np.ndarray:
    """Unrotated minres (ULS) loadings of a correlation matrix, psych's conventions.

    Uniquenesses are bounded to [0.005, 1] and start at ``1 - smc``; the
    solution is the ULS optimum (psych minimizes the off-diagonal residuals
    with the ULS gradient, whose optimum is the same). Columns are signed to
    have positive sums, as psych::fa does.

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> fa_minres(r, 1).round(3).ravel().tolist()
    [0.816, 0.612, 0.49]
    """
    p = r.shape[0]
    start = np.diag(r) - _smc(r)
    res = optimize.minimize(
        _uls_objective,
        start,
        args=(r, nfactors),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * p,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    lam = _uls_loadings(res.x, r, nfactors)
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    lam = lam * sign
    lam[lam == 0] = 1e-15
    return lam


def _varimax(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """stats::varimax with Kaiser normalization: :func:`sdt_survey.factor.rotation.varimax`."""

    return varimax(x, eps=eps)[0]


def _oblimin(
    a: np.ndarray, gam: float = 0.0, eps: float = 1e-5, maxit: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """GPArotation::oblimin, unnormalized: :func:`sdt_survey.factor.rotation.oblimin`."""

    return oblimin(a, gam, eps, maxit)


def _schmid(r: np.ndarray, nfactors: int, option: str = "equal") -> dict[str, np.ndarray]:
    """psych::schmid: minres + varimax, oblimin, second-order g from Phi, Schmid-Leiman."""
    lam = fa_minres(r, nfactors)
    if nfactors == 1:
        orth = lam
        fload = lam
        phi = np.ones((1, 1))
        gload = np.ones(1)
    else:
        rot = _varimax(lam)
        sign = np.sign(rot.sum(axis=0))
        sign[sign == 0] = 1
        rot = rot * sign
        order = np.argsort(-(rot**2).sum(axis=0), kind="stable")
        orth = rot[:, order]
        fload, phi = _oblimin(orth)
        if nfactors > 2:
            gload = fa_minres(phi, 1)[:, 0]
        else:
            r12 = phi[0, 1]
            if option == "equal":
                gload = np.array([math.sqrt(abs(r12)), math.copysign(math.sqrt(abs(r12)), r12)])
            elif option == "first":
                gload = np.array([1.0, r12])
            else:
                gload = np.array([r12, 1.0])
    g = fload @ gload
    h2 = (orth**2).sum(axis=1)
    u2 = np.diag(r) - h2
    uniq2 = fload**2 - (fload * gload) ** 2
    uniq2[uniq2 < 0] = 0
    sm = np.sign(fload) * np.sqrt(uniq2)
    return {
        "g": g,
        "group": sm,
        "h2": h2,
        "u2": u2,
        "oblique": fload,
        "phi": phi,
        "gload": gload,
        "orth": orth,
    }


# =========================================================================== omega


@dataclass(frozen=True, eq=False)
class OmegaResult(_Result):
    """McDonald's omega from a Schmid-Leiman solution (psych::omega).

    ``omega_h`` (psych omega_h), ``omega_total`` (omega.tot), ``omega_lim``
    (omega.lim = omega_h / omega_total), ``alpha``, ``g6`` (G6), ``ecv``
    (ECV). ``schmid_leiman`` is psych's ``schmid$sl`` (g, F1*.., h2, u2, p2);
    ``omega_group`` is psych's ``omega.group`` (each item assigned to the group
    factor it loads most on); ``subscales`` the same coefficients for the
    declared ``groups`` (``None`` without groups).
    """

    omega_h: float
    omega_total: float
    omega_lim: float
    alpha: float
    g6: float
    ecv: float
    nfactors: int
    fm: str
    n_obs: int
    missing: str
    schmid_leiman: pd.DataFrame = field(repr=False)
    oblique_loadings: pd.DataFrame = field(repr=False)
    phi: pd.DataFrame = field(repr=False)
    g_loadings: pd.Series = field(repr=False)
    omega_group: pd.DataFrame = field(repr=False)
    subscales: pd.DataFrame | None = field(default=None, repr=False)
    reversed_items: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The Schmid-Leiman table: one row per item."""
        return self.schmid_leiman.copy()

    def to_dict(self) -> dict[str, Any]:
        out = {
            "omega_h": self.omega_h,
            "omega_total": self.omega_total,
            "omega_lim": self.omega_lim,
            "alpha": self.alpha,
            "g6": self.g6,
            "ecv": self.ecv,
            "nfactors": self.nfactors,
            "fm": self.fm,
            "n_obs": self.n_obs,
            "missing": self.missing,
            "reversed_items": list(self.reversed_items),
            "schmid_leiman": self.schmid_leiman.to_dict(orient="index"),
            "omega_group": self.omega_group.to_dict(orient="index"),
            "subscales": None if self.subscales is None else self.subscales.to_dict(orient="index"),
        }
        return jsonable(out)

    def summary(self) -> str:
        lines = [
            f"Omega ({self.nfactors} group factor{'s' if self.nfactors != 1 else ''}, fm = {self.fm}, "
            f"n = {self.n_obs}, missing = {self.missing})",
            f" alpha {_fmt(self.alpha, 2)}   G.6 {_fmt(self.g6, 2)}   omega_h {_fmt(self.omega_h, 2)}   "
            f"omega_lim {_fmt(self.omega_lim, 2)}   omega_total {_fmt(self.omega_total, 2)}   "
            f"ECV {_fmt(self.ecv, 2)}",
        ]
        if self.reversed_items:
            lines.append(
                f" items reversed because they load negatively on g: {', '.join(self.reversed_items)}"
            )
        lines += ["", " Schmid-Leiman factor loadings:", _frame_text(self.schmid_leiman, 2)]
        lines += ["", " Omega total, general and group by group factor:", _frame_text(self.omega_group, 2)]
        if self.subscales is not None:
            lines += ["", " By declared subscale:", _frame_text(self.subscales, 2)]
        return "\n".join(lines)


def _correlation_for(items: pd.DataFrame, missing: str, what: str) -> tuple[np.ndarray, int, list[str]]:
    """R's ``cor(x, use="pairwise")`` (or of the complete rows), as psych::omega uses."""
    _check_missing(missing)
    x = _item_matrix(items, what=what)
    names = [str(c) for c in items.columns]
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    _, cor, _ = _pairwise_moments(x)
    _require_finite(cor, names, "correlation")
    return cor, x.shape[0], names


def _omega_from_corr(
    r: np.ndarray,
    names: list[str],
    nfactors: int,
    *,
    n_obs: int,
    missing: str,
    fm: str = "minres",
    groups: Mapping[str, Sequence[str]] | None = None,
    option: str = "equal",
) -> OmegaResult:
    if fm not in ("minres", "uls"):
        raise ReliabilityError(f"fm={fm!r} is not supported; use 'minres' (psych's default)")
    p = r.shape[0]
    if not 1 <= nfactors < p:
        raise ReliabilityError(f"nfactors must be between 1 and {p - 1} for {p} items, got {nfactors}")
    if nfactors == 2:
        warnings.warn(
            "three factors are required for identification; with two, the general factor loadings "
            f"are set by psych's option={option!r} rule. Proceed with caution.",
            stacklevel=3,
        )
    sl = _schmid(r, nfactors, option)
    g, grp = sl["g"].copy(), sl["group"].copy()
    key = np.sign(g)
    key[key == 0] = 1
    m = r * np.outer(key, key)
    g *= key
    grp *= key[:, None]
    vt = m.sum()
    h2, u2 = sl["h2"], sl["u2"]
    gsq = g.sum() ** 2
    omega_tot = (vt - u2.sum()) / vt
    alpha_v = (vt - np.trace(m)) / vt * p / (p - 1)
    g6 = (vt + _smc(m).sum() - np.trace(m)) / vt
    ev = np.r_[(g**2).sum(), (grp**2).sum(axis=0)]
    ecv = ev[0] / ev.sum()

    labels = [f"F{i + 1}*" for i in range(nfactors)]
    with np.errstate(divide="ignore", invalid="ignore"):
        p2 = g**2 / h2
    sl_frame = pd.DataFrame(
        np.column_stack([g, grp, h2, u2, p2]), index=names, columns=["g", *labels, "h2", "u2", "p2"]
    )

    def coefficients(members: np.ndarray, factor: int) -> tuple[float, float, float]:
        vgr = m[np.ix_(members, members)].sum()
        gr = grp[members, factor].sum()
        gen = g[members].sum()
        return (gr**2 + gen**2) / vgr, gen**2 / vgr, gr**2 / vgr

    # psych's omega.group: each item belongs to the group factor it loads most on.
    owner = np.argmax(np.abs(grp), axis=1)
    rows = [[omega_tot, gsq / vt, math.nan]]
    group_sum = 0.0
    for f in range(nfactors):
        members = np.flatnonzero(owner == f)
        if members.size:
            rows.append(list(coefficients(members, f)))
            group_sum += grp[members, f].sum() ** 2
        else:
            rows.append([math.nan] * 3)
    rows[0][2] = group_sum / vt
    omega_group = pd.DataFrame(rows, index=["g", *labels], columns=["total", "general", "group"])

    subs = None
    if groups is not None:
        index = {n: i for i, n in enumerate(names)}
        sub_rows = {}
        for gid, gitems in groups.items():
            members = np.array([index[str(i)] for i in gitems])
            factor = int(np.argmax((grp[members] ** 2).sum(axis=0)))
            total, general, group = coefficients(members, factor)
            sub_rows[str(gid)] = {
                "factor": labels[factor],
                "omega_total": total,
                "omega_general": general,
                "omega_group": group,
            }
        subs = pd.DataFrame.from_dict(sub_rows, orient="index")

    fl = pd.DataFrame(sl["oblique"], index=names, columns=[f"F{i + 1}" for i in range(nfactors)])
    phi = pd.DataFrame(sl["phi"], index=fl.columns, columns=fl.columns)
    return OmegaResult(
        omega_h=float(gsq / vt),
        omega_total=float(omega_tot),
        omega_lim=float(gsq / (vt - u2.sum())),
        alpha=float(alpha_v),
        g6=float(g6),
        ecv=float(ecv),
        nfactors=int(nfactors),
        fm=fm,
        n_obs=int(n_obs),
        missing=missing,
        schmid_leiman=sl_frame,
        oblique_loadings=fl,
        phi=phi,
        g_loadings=pd.Series(sl["gload"], index=fl.columns, name="g"),
        omega_group=omega_group,
        subscales=subs,
        reversed_items=tuple(n for n, k in zip(names, key, strict=True) if k < 0),
    )


def omega(
    items: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None = None,
    nfactors: int | None = None,
    fm: str = "minres",
    *,
    missing: Missing = "pairwise",
    option: Literal["equal", "first", "second"] = "equal",
) -> OmegaResult:
    """Omega hierarchical, omega total and ECV from a Schmid-Leiman solution.

    Reproduces ``psych::omega(x, nfactors, fm = "minres")``: pairwise
    Pearson correlations; a minres factor analysis with ``nfactors`` factors,
    varimax, then GPArotation's oblimin; a one-factor minres of the factor
    correlations gives the general factor (with two factors, psych's
    ``option`` rule); Schmid-Leiman orthogonalization; items loading
    negatively on g are reversed before the coefficients are formed.

    Parameters
    ----------
    items : DataFrame
        Item responses (NaN = missing), reverse keys applied.
    groups : mapping of str to list of str, optional
        Declared subscales (e.g. an instrument's subscales). Only their items
        are analysed; ``nfactors`` defaults to the number of groups; and
        :attr:`OmegaResult.subscales` reports omega total, omega general and
        omega group (omega hierarchical subscale) for each declared group, on
        the group factor its items load most on.
    nfactors : int, optional
        Group factors (default: the number of ``groups``, else 3 as in psych).
    fm : {"minres"}
        Factoring method (psych's default; the only one supported).
    missing : {"pairwise", "listwise"}
        Correlations from pairwise-complete (psych) or complete rows.
    option : {"equal", "first", "second"}
        psych's rule for the g loadings when ``nfactors == 2``.

    Returns
    -------
    OmegaResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> g = rng.normal(size=(800, 1)); s = rng.normal(size=(800, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(s, 3, axis=1) + rng.normal(scale=0.6, size=(800, 9))
    >>> items = pd.DataFrame(x, columns=[f"{a}{i}" for a in "abc" for i in (1, 2, 3)])
    >>> res = omega(items, groups={"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"], "c": ["c1", "c2", "c3"]})
    >>> res.nfactors, round(res.omega_h, 2), round(res.omega_total, 2)
    (3, 0.74, 0.92)
    >>> res.subscales["factor"].nunique()
    3
    """
    if groups is not None:
        wanted = [str(i) for members in groups.values() for i in members]
        if len(set(wanted)) != len(wanted):
            raise ReliabilityError("an item appears in more than one group")
        unknown = [i for i in wanted if i not in items.columns]
        if unknown:
            raise ReliabilityKeyError(f"group items not in the data: {', '.join(unknown)}")
        items = items[wanted]
        if nfactors is None:
            nfactors = len(groups)
    if nfactors is None:
        nfactors = 3
    r, n_obs, names = _correlation_for(items, missing, "items")
    return _omega_from_corr(
        r, names, nfactors, n_obs=n_obs, missing=missing, fm=fm, groups=groups, option=option
    )


def omega_total(items: pd.DataFrame, *, missing: Missing = "pairwise") -> float:
    """One-factor omega total, ``psych::omega(x, nfactors = 1)$omega.tot``.

    ``(V - sum(u2)) / V`` with ``V`` the sum of the (pairwise) correlation
    matrix after reversing items with negative loadings, and ``u2`` the
    uniquenesses of a one-factor minres solution. For the full one-factor
    solution use ``omega(items, nfactors=1)``.

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> x = np.random.default_rng(2).multivariate_normal(np.zeros(3), r, size=2000)
    >>> round(omega_total(pd.DataFrame(x, columns=["a", "b", "c"])), 3)
    0.683
    """
    r, n_obs, names = _correlation_for(items, missing, "items")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _omega_from_corr(r, names, 1, n_obs=n_obs, missing=missing).omega_total


# =========================================================================== split half


@dataclass(frozen=True, eq=False)
class SplitHalfResult(_Result):
    """Split-half reliabilities (psych::splitHalf).

    ``max_split`` is Guttman's lambda 4 (psych maxrb), ``min_split`` Revelle's
    beta (minrb), ``mean_split`` the mean over splits (meanr, which for
    exhaustive enumeration equals alpha of the correlation matrix only
    approximately). Each split's reliability is ``4 r_AB / V``: the
    Flanagan-Rulon coefficient of the two half sums on the correlation scale.
    ``splits`` holds every evaluated split's value, in psych's enumeration
    order (subsets of the first half in lexicographic order).
    """

    max_split: float
    min_split: float
    mean_split: float
    alpha: float
    lambda2: float
    lambda6: float
    average_r: float
    median_r: float
    n_splits: int
    exhaustive: bool
    quantiles: tuple[float, float, float]
    best_split: tuple[tuple[str, ...], tuple[str, ...]]
    worst_split: tuple[tuple[str, ...], tuple[str, ...]]
    reversed_items: tuple[str, ...] = ()
    seed: int | None = None
    splits: np.ndarray | None = field(default=None, repr=False)

    @property
    def lambda4(self) -> float:
        return self.max_split

    @property
    def beta(self) -> float:
        return self.min_split

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "max_split": self.max_split,
                "min_split": self.min_split,
                "mean_split": self.mean_split,
                "alpha": self.alpha,
                "lambda2": self.lambda2,
                "lambda6": self.lambda6,
                "average_r": self.average_r,
                "median_r": self.median_r,
                "n_splits": self.n_splits,
                "exhaustive": self.exhaustive,
                "quantiles": list(self.quantiles),
                "best_split": [list(h) for h in self.best_split],
                "worst_split": [list(h) for h in self.worst_split],
                "reversed_items": list(self.reversed_items),
                "seed": self.seed,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        keys = [
            "max_split",
            "min_split",
            "mean_split",
            "alpha",
            "lambda2",
            "lambda6",
            "average_r",
            "median_r",
        ]
        return pd.DataFrame({"value": [d[k] for k in keys]}, index=keys)

    def summary(self) -> str:
        how = "all" if self.exhaustive else "a random sample of"
        lines = [
            f"Split half reliabilities ({how} {self.n_splits} splits)",
            f" Maximum split half reliability (lambda 4) = {_fmt(self.max_split, 2)}",
            f" Guttman lambda 6                          = {_fmt(self.lambda6, 2)}",
            f" Average split half reliability            = {_fmt(self.mean_split, 2)}",
            f" Guttman lambda 3 (alpha)                  = {_fmt(self.alpha, 2)}",
            f" Guttman lambda 2                          = {_fmt(self.lambda2, 2)}",
            f" Minimum split half reliability  (beta)    = {_fmt(self.min_split, 2)}",
            f" Average interitem r = {_fmt(self.average_r, 2)}  with median = {_fmt(self.median_r, 2)}",
            f" 2.5%, 50%, 97.5% of the splits: {', '.join(_fmt(q, 2) for q in self.quantiles)}",
            f" best split:  {' + '.join(self.best_split[0])}  |  {' + '.join(self.best_split[1])}",
        ]
        if self.reversed_items:
            lines.append(
                f" reversed (negatively correlated with the total): {', '.join(self.reversed_items)}"
            )
        return "\n".join(lines)


def split_half(
    items: pd.DataFrame,
    max_exhaustive: int = 16,
    n_samples: int = 10_000,
    seed: int | None = None,
    *,
    check_keys: bool = True,
) -> SplitHalfResult:
    """Maximum (lambda 4), minimum (beta) and mean split-half reliability.

    Follows psych::splitHalf: correlations are ``cov2cor`` of the pairwise
    covariances; with ``check_keys`` items with a negative loading on the
    first principal component are reversed; every split into halves of
    ``floor(k/2)`` and ``ceil(k/2)`` items is evaluated when ``k <=
    max_exhaustive``, else ``n_samples`` random splits (seeded).

    Parameters
    ----------
    items : DataFrame
        Item responses (NaN = missing).
    max_exhaustive : int
        Largest number of items for which every split is evaluated
        (16 items = 6,435 splits).
    n_samples : int
        Random splits evaluated above ``max_exhaustive``.
    seed : int, optional
        Seed for the random splits.
    check_keys : bool
        Reverse negatively loading items first (psych's default).

    Returns
    -------
    SplitHalfResult

    Notes
    -----
    For an even number of items this enumerates exactly psych's splits. For an
    odd number psych 2.2.9 stops after the first half of its list of subsets
    (e.g. 5 of the 10 splits of 5 items), so its maximum, minimum and mean can
    differ; here every split is used.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> f = rng.normal(size=(400, 1))
    >>> items = pd.DataFrame(f + rng.normal(size=(400, 6)), columns=list("abcdef"))
    >>> res = split_half(items)
    >>> res.n_splits, res.min_split <= res.mean_split <= res.max_split
    (10, True)
    """
    x = _item_matrix(items)
    names = [str(c) for c in items.columns]
    n = len(names)
    cov, _, _ = _pairwise_moments(x)
    _require_finite(cov, names, "covariance")
    r = _cov2cor(cov)
    keys = np.ones(n)
    if check_keys:
        _, vecs = np.linalg.eigh(r)
        first = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        keys[first < 0] = -1
        if (keys < 0).any():
            warnings.warn(
                "some items were negatively correlated with the total scale and were automatically reversed",
                stacklevel=2,
            )
    r = r * np.outer(keys, keys)
    sumr = r.sum()
    off = r - np.diag(np.diag(r))
    sum_off = sumr - np.trace(r)
    alpha_v = sum_off / sumr * n / (n - 1)
    lambda6 = (sum_off + _smc(r).sum()) / sumr
    lambda2 = (sum_off + math.sqrt((off**2).sum() * n / (n - 1))) / sumr
    lower = r[np.tril_indices(n, -1)]

    half = n // 2
    exhaustive = n <= max_exhaustive
    if exhaustive:
        if n % 2 == 0:  # fix item 0 in half A: each split once
            combos = [(0, *c) for c in itertools.combinations(range(1, n), half - 1)]
        else:
            combos = list(itertools.combinations(range(n), half))
        a = np.zeros((len(combos), n))
        rows = np.repeat(np.arange(len(combos)), half)
        a[rows, np.asarray(combos).ravel()] = 1
    else:
        rng = np.random.default_rng(seed)
        picks = np.argsort(rng.random((n_samples, n)), axis=1)[:, :half]
        a = np.zeros((n_samples, n))
        np.put_along_axis(a, picks, 1.0, axis=1)
    b = 1 - a
    rab = 4 * np.einsum("si,ij,sj->s", a, r, b) / sumr
    best, worst = int(np.argmax(rab)), int(np.argmin(rab))

    def halves(row: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        signed = [("-" if keys[i] < 0 else "") + names[i] for i in range(n)]
        return tuple(s for s, v in zip(signed, row, strict=True) if v), tuple(
            s for s, v in zip(signed, row, strict=True) if not v
        )

    return SplitHalfResult(
        max_split=float(rab[best]),
        min_split=float(rab[worst]),
        mean_split=float(rab.mean()),
        alpha=float(alpha_v),
        lambda2=float(lambda2),
        lambda6=float(lambda6),
        average_r=float(lower.mean()),
        median_r=float(np.median(lower)),
        n_splits=int(rab.size),
        exhaustive=exhaustive,
        quantiles=tuple(float(q) for q in np.quantile(rab, [0.025, 0.5, 0.975])),  # type: ignore[arg-type]
        best_split=halves(a[best]),
        worst_split=halves(a[worst]),
        reversed_items=tuple(nm for nm, k in zip(names, keys, strict=True) if k < 0),
        seed=None if exhaustive else seed,
        splits=rab,
    )


# =========================================================================== polychoric

#: R's optimize() default tolerance (.Machine$double.eps^0.25), which psych::polychoric uses.
R_OPTIMIZE_TOL = float(np.finfo(float).eps ** 0.25)


def _polychoric_pair(tab: np.ndarray, rc: np.ndarray, cc: np.ndarray, tol: float) -> float:
    """psych's polyc: maximize the multinomial likelihood over rho, thresholds fixed.

    scipy's ``fminbound`` is the same Brent minimizer as R's ``optimize``, so
    with R's tolerance it returns psych's value.
    """
    tab = tab / tab.sum()

    def negloglik(rho: float) -> float:
        prob = _bvn_cdf_grid(rc, cc, rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.log(prob)
        ok = (prob > 0) & np.isfinite(lp)
        return -float(np.sum(tab[ok] * lp[ok]))

    return float(optimize.fminbound(negloglik, -1.0, 1.0, xtol=tol))


def _cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> np.ndarray:
    """psych::cor.smooth: make a correlation matrix positive definite if it is not."""
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r
    warnings.warn("the polychoric matrix was not positive definite; smoothing was done", stacklevel=3)
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    return _cov2cor((vecs * vals) @ vecs.T)


@dataclass(frozen=True, eq=False)
class PolychoricResult(_Result):
    """Polychoric correlations ``rho`` and thresholds ``tau`` (psych::polychoric)."""

    rho: pd.DataFrame
    tau: pd.DataFrame
    n_obs: int
    smoothed: bool = False
    global_thresholds: bool = True

    def to_frame(self) -> pd.DataFrame:
        return self.rho.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "rho": self.rho.to_dict(orient="index"),
                "tau": self.tau.to_dict(orient="index"),
                "n_obs": self.n_obs,
                "smoothed": self.smoothed,
                "global_thresholds": self.global_thresholds,
            }
        )

    def summary(self) -> str:
        lines = [f"Polychoric correlations (n = {self.n_obs})", _frame_text(self.rho, 2)]
        lines += ["", " with tau of", _frame_text(self.tau, 2)]
        if self.smoothed:
            lines.append(" (smoothed to be positive definite)")
        return "\n".join(lines)


def polychoric(
    items: pd.DataFrame,
    *,
    correct: float = 0.5,
    smooth: bool = True,
    max_categories: int = 8,
    tol: float = R_OPTIMIZE_TOL,
) -> PolychoricResult:
    """Polychoric correlations and thresholds (psych::polychoric, two-step).

    Thresholds ``tau`` come from each item's marginal proportions (all its
    answers); each correlation maximizes the bivariate-normal likelihood of
    the pair's contingency table (pairwise-complete rows) with the thresholds
    fixed. Items must be integer-coded with at most ``max_categories``
    categories. As in psych, items with different numbers of categories are
    handled pair by pair (thresholds from the pair's table, empty rows and
    columns dropped, zero cells set to ``correct / n``); a non-positive
    definite result is smoothed (psych::cor.smooth).

    Each correlation is found by Brent's method on [-1, 1] with R's default
    tolerance ``tol`` (about 1.2e-4 in rho), which is what makes the values
    identical to psych's; a smaller ``tol`` gives the exact maximum-likelihood
    value (they differ by a few 1e-5, far below the standard error).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=3000)
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> round(float(polychoric(items).rho.loc["a", "b"]), 2)
    0.58
    """
    x = _item_matrix(items)
    names = [str(c) for c in items.columns]
    answered = ~np.isnan(x)
    if not np.all(x[answered] == np.round(x[answered])):
        raise ReliabilityError("polychoric correlations need integer-coded categories")
    sds = np.array(
        [np.std(x[answered[:, j], j]) if answered[:, j].sum() > 1 else 0.0 for j in range(x.shape[1])]
    )
    if np.any(sds <= 0):
        bad = [names[j] for j in np.flatnonzero(sds <= 0)]
        raise ReliabilityError(f"items without variance: {', '.join(bad)}")
    lo = np.nanmin(x)
    nvalues = int(np.nanmax(x) - lo + 1)
    if nvalues > max_categories:
        raise ReliabilityError(
            f"{nvalues} categories; polychoric correlations are for at most {max_categories}"
        )
    codes = np.where(answered, x - lo, -1).astype(int)  # 0 .. nvalues-1, -1 missing
    item_max = np.array([codes[answered[:, j], j].max() for j in range(x.shape[1])])
    global_tau = bool(item_max.min() == item_max.max())
    if not global_tau:
        warnings.warn(
            "the items do not have an equal number of response alternatives; thresholds are "
            "estimated pair by pair (psych's global = FALSE)",
            stacklevel=2,
        )
    nbins = int(item_max.max()) + 1
    freq = np.stack(
        [np.bincount(codes[answered[:, j], j], minlength=nbins) for j in range(x.shape[1])], axis=1
    )
    with np.errstate(divide="ignore"):
        tau = special.ndtri(np.cumsum(freq / freq.sum(axis=0), axis=0)[:-1])
    p = len(names)
    rho = np.eye(p)
    for i, j in itertools.combinations(range(p), 2):
        both = answered[:, i] & answered[:, j]
        tab = np.bincount(codes[both, i] * nbins + codes[both, j], minlength=nbins * nbins).reshape(
            nbins, nbins
        )
        tab = tab.astype(float)
        if tab.sum() == 0:
            rho[i, j] = rho[j, i] = np.nan
            continue
        if global_tau:
            value = _polychoric_pair(tab, tau[:, i], tau[:, j], tol)
        else:
            tot = tab.sum()
            tab = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0] / tot
            if min(tab.shape) < 2:
                value = np.nan
            else:
                if correct > 0:
                    tab[tab == 0] = correct / tot
                rc = special.ndtri(np.cumsum(tab.sum(axis=1))[:-1])
                cc = special.ndtri(np.cumsum(tab.sum(axis=0))[:-1])
                value = _polychoric_pair(tab, rc, cc, tol)
        rho[i, j] = rho[j, i] = value
    smoothed = False
    if smooth and not np.isnan(rho).any():
        new = _cor_smooth(rho)
        smoothed = new is not rho
        rho = new
    return PolychoricResult(
        rho=pd.DataFrame(rho, index=names, columns=names),
        tau=pd.DataFrame(tau.T, index=names, columns=[str(i + 1) for i in range(tau.shape[0])]),
        n_obs=int(x.shape[0]),
        smoothed=smoothed,
        global_thresholds=global_tau,
    )


def _poly_input(items: pd.DataFrame | PolychoricResult) -> PolychoricResult:
    return items if isinstance(items, PolychoricResult) else polychoric(items)


def ordinal_alpha(items: pd.DataFrame | PolychoricResult) -> float:
    """Ordinal alpha (Zumbo, Gadermann & Zeisser, 2007): alpha of the polychoric matrix.

    ``k/(k-1) * (1 - k / sum(rho))``, as ``psych::alpha(polychoric(x)$rho)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> z = rng.normal(size=(1000, 1)) + rng.normal(size=(1000, 3))
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]), columns=["a", "b", "c"])
    >>> round(ordinal_alpha(items), 2)
    0.73
    """
    rho = _poly_input(items).rho.to_numpy()
    k = rho.shape[0]
    return float((1 - k / rho.sum()) * k / (k - 1))


def ordinal_omega(
    items: pd.DataFrame | PolychoricResult, nfactors: int = 1, fm: str = "minres"
) -> OmegaResult:
    """Ordinal omega: :func:`omega` on the polychoric correlation matrix.

    With ``nfactors=1`` (default) ``.omega_total`` is ordinal omega total,
    ``psych::omega(polychoric(x)$rho, nfactors = 1)$omega.tot``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> z = rng.normal(size=(1000, 1)) + rng.normal(size=(1000, 3))
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]), columns=["a", "b", "c"])
    >>> round(ordinal_omega(items).omega_total, 2)
    0.73
    """
    poly = _poly_input(items)
    names = [str(c) for c in poly.rho.columns]
    with warnings.catch_warnings():
        if nfactors == 1:
            warnings.simplefilter("ignore")
        return _omega_from_corr(
            poly.rho.to_numpy(), names, nfactors, n_obs=poly.n_obs, missing="pairwise", fm=fm
        )


# =========================================================================== group reliability


@dataclass(frozen=True, eq=False)
class GroupReliabilityResult(_Result):
    """ICC(1), ICC(2) and design effect of a score across groups (psych::statsBy).

    ``icc1`` is the share of score variance between groups (Bliese's ICC(1));
    ``icc2`` the reliability of group means (ICC(2)); ``design_effect`` is
    ``1 + (m - 1) * ICC(1)`` with ``m`` the mean group size; intervals are
    psych's F-based ``ci1``/``ci2``.
    """

    icc1: float
    icc2: float
    design_effect: float
    ci_icc1: tuple[float, float]
    ci_icc2: tuple[float, float]
    f: float
    df_between: int
    df_within: float
    p_value: float
    ms_between: float
    ms_within: float
    n: int
    n_groups: int
    mean_group_size: float
    confidence: float = 0.95
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()], index=[self.name or "score"])

    def summary(self) -> str:
        pct = f"{self.confidence:.0%}"
        return "\n".join(
            [
                f"Group reliability of {self.name or 'the score'}: n = {self.n} in {self.n_groups} groups "
                f"(mean size {self.mean_group_size:.1f})",
                f" ICC(1) = {_fmt(self.icc1)}  {pct} CI {_fmt_ci(self.ci_icc1)}",
                f" ICC(2) = {_fmt(self.icc2)}  {pct} CI {_fmt_ci(self.ci_icc2)}",
                f" F({self.df_between}, {self.df_within:g}) = {self.f:.3f}, p = {self.p_value:.4g}",
                f" design effect = {_fmt(self.design_effect)}",
            ]
        )


def group_reliability(
    scores: pd.Series, groups: pd.Series, *, confidence: float = 0.95
) -> GroupReliabilityResult:
    """ICC(1), ICC(2) and the design effect of ``scores`` clustered in ``groups``.

    One-way ANOVA as psych::statsBy computes it: ``MSb`` and ``MSw`` from
    group means and SDs, ``m = N / G`` (mean group size),
    ``ICC1 = (MSb - MSw) / (MSb + (m - 1) MSw)``, ``ICC2 = (MSb - MSw) / MSb``,
    design effect ``1 + (m - 1) ICC1``. Respondents with a missing score or
    group are left out.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> g = pd.Series(np.repeat(np.arange(20), 15))
    >>> y = pd.Series(rng.normal(size=20)[g] * 0.5 + rng.normal(size=300))
    >>> res = group_reliability(y, g)
    >>> res.n_groups, round(res.icc1, 3), round(res.icc2, 3)
    (20, 0.125, 0.681)
    """
    _check_confidence(confidence)
    if not isinstance(scores, pd.Series) or not isinstance(groups, pd.Series):
        raise TypeError("scores and groups must be pandas Series")
    if len(scores) != len(groups):
        raise ReliabilityError(f"scores ({len(scores)}) and groups ({len(groups)}) differ in length")
    y = pd.to_numeric(scores, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(y) & groups.notna().to_numpy()
    y = y[keep]
    codes, _ = pd.factorize(groups[keep], sort=True)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    if n_groups < 2:
        raise ReliabilityError("group reliability needs at least two groups")
    n_g = np.bincount(codes, minlength=n_groups).astype(float)
    mean_g = np.bincount(codes, weights=y, minlength=n_groups) / n_g
    ss_g = np.bincount(codes, weights=(y - mean_g[codes]) ** 2, minlength=n_groups)
    n = y.size
    grand = y.mean()
    ms_b = float((n_g * (mean_g - grand) ** 2).sum() / (n_groups - 1))
    ms_w = float(ss_g.sum() / (n - n_groups))
    m = n / n_groups
    icc1 = (ms_b - ms_w) / (ms_b + ms_w * (m - 1))
    icc2 = (ms_b - ms_w) / ms_b
    f_stat = ms_b / ms_w
    df1, df2 = n_groups - 1, n_groups * (m - 1)
    tail = (1 - confidence) / 2
    f_l = f_stat / stats.f.ppf(1 - tail, df1, df2)
    f_u = f_stat * stats.f.ppf(1 - tail, df2, df1)
    return GroupReliabilityResult(
        icc1=float(icc1),
        icc2=float(icc2),
        design_effect=float(1 + (m - 1) * icc1),
        ci_icc1=(float((f_l - 1) / (f_l + m - 1)), float((f_u - 1) / (f_u + m - 1))),
        ci_icc2=(float(1 - 1 / f_l), float(1 - 1 / f_u)),
        f=float(f_stat),
        df_between=int(df1),
        df_within=float(df2),
        p_value=float(stats.f.sf(f_stat, df1, df2)),
        ms_between=ms_b,
        ms_within=ms_w,
        n=int(n),
        n_groups=n_groups,
        mean_group_size=float(m),
        confidence=float(confidence),
        name=None if scores.name is None else str(scores.name),
    )


@dataclass(frozen=True, eq=False)
class TestRetestResult(_Result):
    """Test-retest reliability: an ICC from :func:`pingouin.intraclass_corr`.

    ``icc`` is the chosen form (default ``"ICC2"`` = pingouin's ``ICC(A,1)``:
    two-way random effects, absolute agreement, single measurement; Shrout &
    Fleiss ICC(2,1), McGraw & Wong ICC(A,1)); ``table`` holds all six forms.
    """

    __test__ = False  # not a pytest test class

    icc: float
    ci: tuple[float, float]
    form: str
    f: float
    df1: int
    df2: float
    p_value: float
    n: int
    pearson_r: float
    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("table", "__test__")}
        )

    def summary(self) -> str:
        return "\n".join(
            [
                f"Test-retest reliability, n = {self.n} respondents with both measurements",
                f" {self.form} ({_ICC_FORMS[self.form][1]}) = {_fmt(self.icc)}  95% CI {_fmt_ci(self.ci)}",
                f" F({self.df1}, {self.df2:g}) = {self.f:.3f}, p = {self.p_value:.4g};  "
                f"Pearson r = {_fmt(self.pearson_r)}",
                "",
                _frame_text(self.table.drop(columns=["CI95"]), 3),
            ]
        )


_ICC_FORMS = {
    "ICC1": ("ICC(1,1)", "one-way random, single measurement"),
    "ICC2": ("ICC(A,1)", "two-way random, absolute agreement, single measurement"),
    "ICC3": ("ICC(C,1)", "two-way mixed, consistency, single measurement"),
    "ICC1k": ("ICC(1,k)", "one-way random, mean of k measurements"),
    "ICC2k": ("ICC(A,k)", "two-way random, absolute agreement, mean of k measurements"),
    "ICC3k": ("ICC(C,k)", "two-way mixed, consistency, mean of k measurements"),
}


def test_retest(first: pd.Series, second: pd.Series, *, form: str = "ICC2") -> TestRetestResult:
    """Test-retest ICC of one score measured twice, with pingouin.intraclass_corr.

    ``first`` and ``second`` are indexed by respondent; respondents with both
    scores are used. The default form ``"ICC2"`` is the two-way random-effects,
    absolute-agreement, single-measurement ICC (Shrout & Fleiss ICC(2,1),
    McGraw & Wong ICC(A,1); pingouin's ``ICC(A,1)``, psych::ICC's ``ICC2``),
    the usual choice for test-retest (Koo & Li, 2016): a systematic shift
    between occasions lowers it. Other forms: ``ICC1``, ``ICC3``, ``ICC1k``,
    ``ICC2k``, ``ICC3k`` (psych's names).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(8)
    >>> t = rng.normal(size=200)
    >>> w1 = pd.Series(t + rng.normal(scale=0.5, size=200))
    >>> w2 = pd.Series(t + rng.normal(scale=0.5, size=200))
    >>> res = test_retest(w1, w2)
    >>> res.form, res.n, round(res.icc, 2)
    ('ICC2', 200, 0.8)
    """
    import pingouin

    if form not in _ICC_FORMS:
        raise ReliabilityError(f"form must be one of {', '.join(_ICC_FORMS)}, got {form!r}")
    if not isinstance(first, pd.Series) or not isinstance(second, pd.Series):
        raise TypeError("first and second must be pandas Series indexed by respondent")
    for s, what in ((first, "first"), (second, "second")):
        if s.index.has_duplicates:
            raise ReliabilityError(f"{what} has duplicated respondents in its index")
    both = pd.concat([first.rename("t1"), second.rename("t2")], axis=1, join="inner").dropna()
    if len(both) < 3:
        raise ReliabilityError("test-retest needs at least 3 respondents with both measurements")
    long = both.reset_index(drop=True).rename_axis("respondent").reset_index()
    long = long.melt(id_vars="respondent", var_name="occasion", value_name="score")
    saved = pingouin.options.get("round.column.CI95")
    pingouin.options["round.column.CI95"] = None  # pingouin rounds the CI to 2 decimals by default
    try:
        with warnings.catch_warnings():
            # pingouin's own use of deprecated pandas arguments, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            table = pingouin.intraclass_corr(
                data=long, targets="respondent", raters="occasion", ratings="score"
            )
    finally:
        pingouin.options["round.column.CI95"] = saved
    table = table.assign(Form=list(_ICC_FORMS)).set_index("Form")
    row = table.loc[form]
    return TestRetestResult(
        icc=float(row["ICC"]),
        ci=(float(row["CI95"][0]), float(row["CI95"][1])),
        form=form,
        f=float(row["F"]),
        df1=int(row["df1"]),
        df2=float(row["df2"]),
        p_value=float(row["pval"]),
        n=len(both),
        pearson_r=float(np.corrcoef(both["t1"], both["t2"])[0, 1]),
        table=table,
    )


test_retest.__test__ = False  # type: ignore[attr-defined]  # keep pytest from collecting it


# =========================================================================== report


@dataclass(frozen=True, eq=False)
class ReliabilityReport(_Result):
    """Reliability of every subscale of an instrument (see :func:`reliability_table`).

    ``scales`` maps subscale id to its :class:`AlphaResult`; ``omega_totals``
    to its one-factor omega total; ``omega`` is the multi-factor
    :class:`OmegaResult` over all subscales (``None`` with fewer than two);
    ``groups`` maps subscale id to its :class:`GroupReliabilityResult` when
    respondent groups were given.
    """

    instrument: str | None
    missing: str
    n_respondents: int
    scales: Mapping[str, AlphaResult]
    omega_totals: Mapping[str, float]
    omega: OmegaResult | None
    groups: Mapping[str, GroupReliabilityResult] | None = None
    confidence: float = 0.95
    retest: Mapping[str, TestRetestResult] | None = None
    notes: tuple[str, ...] = ()
    split_halves: Mapping[str, SplitHalfResult] | None = None
    ordinal: Mapping[str, Mapping[str, float | None]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, in the stable shape later reports read.

        ``groups`` (ICC(1), ICC(2), design effect per subscale) and ``retest``
        (test-retest ICC per subscale) are added when computed.
        """
        scales = {}
        for sid, res in self.scales.items():
            st, dr = res.item_stats, res.alpha_drop
            scales[sid] = {
                "n": res.n_obs,
                "alpha": res.alpha,
                "alpha_std": res.alpha_std,
                "g6": res.g6,
                "average_r": res.average_r,
                "signal_noise": res.signal_noise,
                "alpha_se": res.alpha_se,
                "alpha_ci_feldt": list(res.ci_feldt),
                "alpha_ci_duhachek": list(res.ci_duhachek),
                "alpha_ci_bootstrap": None if res.ci_bootstrap is None else list(res.ci_bootstrap),
                "omega_total": self.omega_totals[sid],
                "items": {
                    item: {
                        "n": st.at[item, "n"],
                        "mean": st.at[item, "mean"],
                        "sd": st.at[item, "sd"],
                        "raw_r": st.at[item, "raw_r"],
                        "std_r": st.at[item, "std_r"],
                        "r_cor": st.at[item, "r_cor"],
                        "r_drop": st.at[item, "r_drop"],
                        "alpha_if_deleted": dr.at[item, "raw_alpha"],
                        "alpha_std_if_deleted": dr.at[item, "std_alpha"],
                    }
                    for item in st.index
                },
            }
        om = self.omega
        out: dict[str, Any] = {
            "instrument": self.instrument,
            "missing": self.missing,
            "n_respondents": self.n_respondents,
            "scales": scales,
            "omega": {
                "omega_h": None if om is None else om.omega_h,
                "omega_total": None if om is None else om.omega_total,
                "ecv": None if om is None else om.ecv,
            },
        }
        if self.groups is not None:
            out["groups"] = {sid: g.to_dict() for sid, g in self.groups.items()}
        if self.retest is not None:
            out["retest"] = {sid: r.to_dict() for sid, r in self.retest.items()}
        if self.split_halves is not None:
            out["split_half"] = {
                sid: {
                    "lambda4": r.max_split,
                    "beta": r.min_split,
                    "mean": r.mean_split,
                    "n_splits": r.n_splits,
                }
                for sid, r in self.split_halves.items()
            }
        if self.ordinal is not None:
            out["ordinal"] = {sid: dict(values) for sid, values in self.ordinal.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return jsonable(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per subscale: the scale-level coefficients."""
        rows = {}
        for sid, res in self.scales.items():
            rows[sid] = {
                "n": res.n_obs,
                "items": res.n_items,
                "alpha": res.alpha,
                "alpha_std": res.alpha_std,
                "g6": res.g6,
                "average_r": res.average_r,
                "alpha_se": res.alpha_se,
                "feldt_lower": res.ci_feldt[0],
                "feldt_upper": res.ci_feldt[1],
                "omega_total": self.omega_totals[sid],
            }
            if self.groups is not None:
                rows[sid].update(icc1=self.groups[sid].icc1, icc2=self.groups[sid].icc2)
            if self.retest is not None and sid in self.retest:
                rows[sid].update(retest_icc=self.retest[sid].icc, retest_n=self.retest[sid].n)
            if self.split_halves is not None and sid in self.split_halves:
                rows[sid].update(
                    lambda4=self.split_halves[sid].max_split, beta=self.split_halves[sid].min_split
                )
            if self.ordinal is not None and sid in self.ordinal:
                rows[sid].update({f"ordinal_{k}": v for k, v in self.ordinal[sid].items()})
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "subscale"
        return frame.reset_index()

    def item_frame(self) -> pd.DataFrame:
        """One row per (subscale, item): item statistics and alpha if deleted."""
        return pd.concat(
            {sid: res.to_frame() for sid, res in self.scales.items()}, names=["subscale", "item"]
        )

    def summary(self) -> str:
        title = f"Reliability: {self.instrument}" if self.instrument else "Reliability"
        boot = any(r.ci_bootstrap is not None for r in self.scales.values())
        width = max([5, *(len(s) for s in self.scales)])
        pct = f"{self.confidence:.0%}"
        head = f"{'scale':<{width}}  {'n':>5} {'k':>3}  {'alpha':>5}  {pct + ' CI (Feldt)':<16}"
        if boot:
            head += f"  {pct + ' CI (BCa)':<16}"
        head += f"  {'omega_t':>7}"
        if self.groups is not None:
            head += f"  {'ICC1':>6} {'ICC2':>6}"
        lines = [f"{title}  (missing: {self.missing}, N = {self.n_respondents})", "", head, "-" * len(head)]
        for sid, res in self.scales.items():
            line = f"{sid:<{width}}  {res.n_obs:>5} {res.n_items:>3}  {_fmt(res.alpha):>5}  "
            line += f"{_fmt_ci(res.ci_feldt):<16}"
            if boot:
                line += f"  {_fmt_ci(res.ci_bootstrap):<16}"
            line += f"  {_fmt(self.omega_totals[sid]):>7}"
            if self.groups is not None:
                line += f"  {_fmt(self.groups[sid].icc1):>6} {_fmt(self.groups[sid].icc2):>6}"
            lines.append(line)
        if self.omega is not None:
            om = self.omega
            lines += [
                "",
                f"Omega over all subscales ({om.nfactors} group factors): omega_h {_fmt(om.omega_h)}, "
                f"omega_total {_fmt(om.omega_total)}, ECV {_fmt(om.ecv)}",
            ]
        flagged = False
        for sid, res in self.scales.items():
            lines += ["", f"{sid}  (alpha {_fmt(res.alpha)})"]
            iw = max([4, *(len(i) for i in res.item_stats.index)])
            lines.append(
                f"  {'item':<{iw}} {'n':>5} {'mean':>6} {'sd':>6} {'r.drop':>7} "
                f"{'alpha if deleted':>17}  flags"
            )
            for item, row in res.item_stats.iterrows():
                a_del = res.alpha_drop.at[item, "raw_alpha"]
                flags = []
                if np.isfinite(a_del) and a_del > res.alpha:
                    flags.append("^ alpha rises if deleted")
                if np.isfinite(row["r_drop"]) and row["r_drop"] < 0.30:
                    flags.append("! r.drop < .30")
                flagged = flagged or bool(flags)
                lines.append(
                    f"  {item:<{iw}} {int(row['n']):>5} {_fmt(row['mean'], 2):>6} {_fmt(row['sd'], 2):>6} "
                    f"{_fmt(row['r_drop']):>7} {_fmt(a_del):>17}  {'; '.join(flags)}"
                )
        if self.split_halves or self.ordinal:
            lines += [
                "",
                "Split-half (lambda 4 = best split, beta = worst) and ordinal (polychoric) reliability:",
            ]
            for sid in self.scales:
                half = (self.split_halves or {}).get(sid)
                ordinal = (self.ordinal or {}).get(sid, {})
                parts = [f"lambda4 {_fmt(half.max_split)}  beta {_fmt(half.min_split)}"] if half else []
                if ordinal:
                    parts.append(f"ordinal alpha {_fmt(ordinal.get('alpha'))}")
                    parts.append(f"ordinal omega {_fmt(ordinal.get('omega_total'))}")
                lines.append(f"  {sid:<{width}}  " + "   ".join(parts))
        if self.retest:
            lines += ["", "Test-retest (respondents in both waves):"]
            for sid, res in self.retest.items():
                lines.append(
                    f"  {sid:<{width}}  n = {res.n:>4}  {res.form} = {_fmt(res.icc)}  "
                    f"95% CI {_fmt_ci(res.ci)}"
                )
        lines += [f"note: {note}" for note in self.notes]
        lines += [
            "",
            "flags: ^ the scale's alpha would rise if the item were deleted; "
            "! corrected item-total r (r.drop) below .30"
            if flagged
            else "no item flagged (alpha if deleted never exceeds alpha; every r.drop >= .30)",
        ]
        return "\n".join(line.rstrip() for line in lines)


def reliability_table(
    items_keyed: pd.DataFrame,
    subscales: Mapping[str, Sequence[str]],
    *,
    missing: Missing = "pairwise",
    bootstrap: int = 0,
    seed: int | None = None,
    groups: pd.Series | None = None,
    instrument_id: str | None = None,
    confidence: float = 0.95,
) -> ReliabilityReport:
    """Alpha, omega and item analysis for every subscale of an instrument.

    Parameters
    ----------
    items_keyed : DataFrame
        Item responses with reverse keys applied; may hold more columns than
        the subscales use.
    subscales : mapping of str to list of str
        Subscale id to its item ids (e.g. ``{sid: s.items for sid, s in
        instrument.subscales.items()}``).
    missing : {"pairwise", "listwise"}
        Missing-data handling for every coefficient (listwise deletion is
        per subscale for alpha and one-factor omega, over all subscale items
        for the multi-factor omega).
    bootstrap : int
        Bootstrap resamples for alpha intervals (0 = none); the same resamples
        of respondents serve every subscale. The reported interval is BCa.
    seed : int, optional
        Bootstrap seed.
    groups : Series, optional
        A grouping of respondents (e.g. program), aligned with
        ``items_keyed``: adds ICC(1), ICC(2) and design effect of each
        subscale's score (mean of answered items) to the report's
        ``groups``, ``to_frame()`` and ``summary()`` (not to ``to_dict()``,
        whose shape is fixed).
    instrument_id : str, optional
        Recorded in the report.
    confidence : float
        Level of all intervals.

    Returns
    -------
    ReliabilityReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(9)
    >>> f = rng.normal(size=(300, 2))
    >>> x = np.round(3 + np.repeat(f, 3, axis=1) + rng.normal(size=(300, 6)))
    >>> items = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> subscales = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}
    >>> rep = reliability_table(items, subscales, instrument_id="demo")
    >>> d = rep.to_dict()
    >>> sorted(d)
    ['instrument', 'missing', 'n_respondents', 'omega', 'ordinal', 'scales', 'split_half']
    >>> sorted(d["scales"]["a"]["items"]["a1"])[:3]
    ['alpha_if_deleted', 'alpha_std_if_deleted', 'mean']
    >>> round(d["scales"]["a"]["alpha"], 3)
    0.736
    """
    _check_missing(missing)
    _check_confidence(confidence)
    _check_bootstrap(bootstrap, seed)
    if not isinstance(items_keyed, pd.DataFrame):
        raise TypeError("items_keyed must be a pandas DataFrame")
    if not subscales:
        raise ReliabilityError("no subscales given")
    subs = {str(k): [str(i) for i in v] for k, v in subscales.items()}
    columns = {str(c): c for c in items_keyed.columns}
    unknown = sorted({i for v in subs.values() for i in v if i not in columns})
    if unknown:
        raise ReliabilityKeyError(f"subscale items not in the data: {', '.join(unknown)}")
    frames = {sid: items_keyed[[columns[i] for i in its]].set_axis(its, axis=1) for sid, its in subs.items()}

    scales: dict[str, AlphaResult] = {}
    omegas: dict[str, float] = {}
    goods: dict[str, np.ndarray] = {}
    mats: dict[str, np.ndarray] = {}
    for sid, frame in frames.items():
        x = _item_matrix(frame, what=f"subscale {sid!r}")
        if missing == "listwise":
            x = x[~np.isnan(x).any(axis=1)]
        fields = _alpha_from_matrix(x, list(frame.columns), missing=missing, confidence=confidence)
        goods[sid] = fields.pop("_good")
        mats[sid] = x
        scales[sid] = AlphaResult(seed=seed, **fields)
        omegas[sid] = omega_total(frame, missing=missing)

    if bootstrap:
        rng = np.random.default_rng(seed)
        ids = list(scales)
        # Listwise blocks differ in rows; resample each block's own rows then.
        if missing == "pairwise":
            design = _BootDesign([mats[s][:, goods[s]] for s in ids])
            boots, jack = design.bootstrap(bootstrap, rng), design.jackknife()
            per = {s: (boots[:, b], jack[:, b]) for b, s in enumerate(ids)}
        else:
            per = {}
            for s in ids:
                design = _BootDesign([mats[s][:, goods[s]]])
                per[s] = (design.bootstrap(bootstrap, rng)[:, 0], design.jackknife()[:, 0])
        for s in ids:
            pct, bca = _boot_intervals(per[s][0], per[s][1], scales[s].alpha, confidence)
            scales[s] = _replace(
                scales[s],
                ci_bootstrap_percentile=pct,
                ci_bootstrap_bca=bca,
                bootstrap_distribution=per[s][0],
                n_bootstrap=bootstrap,
            )

    om = None
    if len(subs) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            om = omega(
                items_keyed.set_axis([str(c) for c in items_keyed.columns], axis=1),
                groups=subs,
                missing=missing,
            )

    group_res = None
    if groups is not None:
        if len(groups) != len(items_keyed):
            raise ReliabilityError(f"groups has {len(groups)} rows, items_keyed {len(items_keyed)}")
        g = pd.Series(np.asarray(groups), index=items_keyed.index)
        group_res = {}
        for sid, frame in frames.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                score = frame.mean(axis=1, skipna=True).rename(sid)
            group_res[sid] = group_reliability(score, g, confidence=confidence)

    halves: dict[str, SplitHalfResult] = {}
    ordinal: dict[str, dict[str, float | None]] = {}
    for sid, frame in frames.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            halves[sid] = split_half(frame, seed=seed)
            ordinal[sid] = _ordinal_coefficients(frame)

    return ReliabilityReport(
        instrument=instrument_id,
        missing=missing,
        n_respondents=len(items_keyed),
        scales=scales,
        omega_totals=omegas,
        omega=om,
        groups=group_res,
        confidence=confidence,
        split_halves=halves,
        ordinal=ordinal,
    )


def _ordinal_coefficients(frame: pd.DataFrame) -> dict[str, float | None]:
    """Ordinal alpha and omega of a subscale, or nulls when the items are not ordinal codes."""
    values = frame.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not np.all(finite == np.round(finite)) or len(np.unique(finite)) > 10:
        return {"alpha": None, "omega_total": None}
    try:
        matrix = polychoric(frame)
        return {"alpha": ordinal_alpha(matrix), "omega_total": ordinal_omega(matrix).omega_total}
    except (ValueError, np.linalg.LinAlgError, SdtSurveyError):
        return {"alpha": None, "omega_total": None}


def _replace(result: AlphaResult, **changes: Any) -> AlphaResult:
    from dataclasses import replace

    return replace(result, **changes)


__all__ = [
    "AlphaResult",
    "GroupReliabilityResult",
    "OmegaResult",
    "PolychoricResult",
    "ReliabilityReport",
    "SplitHalfResult",
    "TestRetestResult",
    "alpha",
    "fa_minres",
    "feldt_ci",
    "group_reliability",
    "omega",
    "omega_total",
    "ordinal_alpha",
    "ordinal_omega",
    "polychoric",
    "reliability_table",
    "split_half",
    "test_retest",
]


# ------------------------------------------------------------------ from a file


@dataclass(frozen=True)
class SurveyReliability(_Result):
    """Reliability reports of the instruments of one survey (see :func:`instrument_reliability`)."""

    reports: tuple[ReliabilityReport, ...]

    def to_dict(self) -> dict[str, Any]:
        """One instrument: its report's shape. Several: ``{"instruments": [report, ...]}``."""
        if len(self.reports) == 1:
            return self.reports[0].to_dict()
        return {"instruments": [r.to_dict() for r in self.reports]}

    def to_frame(self) -> pd.DataFrame:
        return pd.concat(
            [r.to_frame().assign(instrument=r.instrument) for r in self.reports], ignore_index=True
        )

    def summary(self) -> str:
        return "\n\n".join(r.summary() for r in self.reports)


def instrument_reliability(
    instruments: Any,
    responses: Any,
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    wave: Any = None,
    missing: Missing = "pairwise",
    bootstrap: int = 0,
    seed: int | None = None,
    group_column: str | None = None,
    **reading: Any,
) -> SurveyReliability:
    """Read, validate and score responses as ``sdt-survey score`` does, then analyse reliability.

    Parameters
    ----------
    instruments, responses, id_column, wave_column
        As for :func:`sdt_survey.score`; ``reading`` takes its other reading
        options (``source``, ``mapping``, ``invalid``, ``duplicates``).
    wave : optional
        Which wave to analyse when the data hold several (default: the first);
        with an id column, respondents in the first two waves also give
        test-retest ICCs of each subscale score.
    missing, bootstrap, seed
        As for :func:`reliability_table`.
    group_column : str, optional
        A column of units (program, clinic): ICC(1), ICC(2) and the design
        effect of each subscale mean across them.

    Returns
    -------
    SurveyReliability
    """
    from .responses import WAVE_COLUMNS
    from .scoring import score

    scored = score(instruments, responses, id_column=id_column, wave_column=wave_column, **reading)
    table = scored.scores
    wave_column = wave_column or next((c for c in WAVE_COLUMNS if c in table.columns), None)
    notes: list[str] = []
    rows = np.ones(len(table), dtype=bool)
    waves: list[Any] = []
    if wave_column is not None and wave_column in table.columns:
        waves = sorted(table[wave_column].dropna().unique().tolist(), key=str)
        if len(waves) > 1:
            chosen = waves[0] if wave is None else wave
            rows = (table[wave_column] == chosen).to_numpy()
            if not rows.any():
                raise SdtSurveyError(f"no responses in {wave_column} = {chosen!r}; waves: {waves}")
            notes.append(f"wave {chosen!r} of {len(waves)} in {wave_column!r} (choose another with wave=)")
    if group_column is not None and group_column not in table.columns:
        raise SdtSurveyError(f"no group column {group_column!r} in the responses")
    reports = []
    for inst in scored.instruments:
        subscales = {sid: list(sub.items) for sid, sub in inst.subscales.items()}
        # Subscales may share items (a valid instrument); each column is taken once.
        columns = list(dict.fromkeys(i for sub in subscales.values() for i in sub))
        items = scored.keyed.loc[rows, columns].reset_index(drop=True)
        groups = table.loc[rows, group_column].reset_index(drop=True) if group_column else None
        report = reliability_table(
            items, subscales, missing=missing, bootstrap=bootstrap, seed=seed, groups=groups,
            instrument_id=f"{inst.id} {inst.version}",
        )  # fmt: skip
        retest = None
        if id_column and len(waves) > 1:
            retest = {}
            first = table[table[wave_column] == waves[0]].set_index(id_column)
            second = table[table[wave_column] == waves[1]].set_index(id_column)
            both = first.index.intersection(second.index)
            for sid in subscales:
                a, b = first.loc[both, sid], second.loc[both, sid]
                keep = a.notna().to_numpy() & b.notna().to_numpy()
                if keep.sum() >= 3:
                    retest[sid] = test_retest(a[keep], b[keep])
        reports.append(dataclasses.replace(report, retest=retest, notes=tuple(notes)))
    return SurveyReliability(tuple(reports))


make_module_callable(__name__, instrument_reliability)
