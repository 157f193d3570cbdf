"""Change between waves and trends across them, per group: paired t, a random-intercept model, or OLS."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..mixed.ddf import satterthwaite_df
from .data import _baseline
from .figures import CHANGE_FIGURES, TREND_FIGURES


def _link_method(frame: pd.DataFrame, a: int, b: int) -> str:
    ids_a = set(frame.loc[frame["_wave"] == a, "_rid"])
    ids_b = set(frame.loc[frame["_wave"] == b, "_rid"])
    linked = ids_a & ids_b
    if linked and linked == ids_a | ids_b:
        return "paired_t"
    return "mixed_model" if linked else "ols"


def _group_masks(labels: pd.DataFrame, keys: Sequence[tuple[int, Any]], by: Sequence[str]):
    for table, value in keys:
        if table == 0:
            yield (table, value), np.ones(len(labels), dtype=bool)
        else:
            yield (table, value), (labels[by[table - 1]] == value).to_numpy()


def _mixed_or_none(y: np.ndarray, x: np.ndarray, ids: np.ndarray, confidence: float) -> dict | None:
    """The random-intercept fit of :func:`random_intercept_slope`, or None when the data cannot carry one."""
    try:
        return random_intercept_slope(y, x, ids, confidence)
    except (np.linalg.LinAlgError, ValueError):
        return None


def random_intercept_slope(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, confidence: float = 0.95, ddf: str = "Satterthwaite"
) -> dict[str, float]:
    """Slope of ``y`` on ``x`` in a linear mixed model with a random intercept per group (REML).

    The model is statsmodels' ``MixedLM(y, [1, x], groups).fit(reml=True)`` (and
    lme4's ``y ~ x + (1 | group)``), estimated in closed form given the ratio
    ``gamma`` of the intercept variance to the residual variance, which is found
    by a one-dimensional search of the profiled REML criterion. Every sum is a
    ``bincount`` over groups, so a fit takes about a millisecond rather than
    statsmodels' loop over respondents. The estimate equals statsmodels'; the
    standard error is lme4's ``sigma^2 (X' V^-1 X)^-1``, and the interval and
    p-value are a t test on Satterthwaite degrees of freedom (lmerTest's
    ``summary()``: :func:`sdt_survey.mixed.ddf.satterthwaite_df` on this
    model's REML deviance in ``(sqrt(gamma), sigma)``), or Wald (normal) with
    ``ddf="none"``.

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``p``, ``df``
        (``inf`` for Wald), ``gamma`` (variance ratio), ``sigma2`` (residual
        variance), ``converged``.

    Examples
    --------
    >>> y = np.array([3.0, 3.5, 2.0, 2.75, 4.0, 4.0, 3.0])
    >>> x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    >>> fit = random_intercept_slope(y, x, np.array([1, 1, 2, 2, 3, 3, 4]))
    >>> round(fit["estimate"], 4)
    0.4167
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(g.max()) + 1 if len(g) else 0
    total, p = len(y), 2
    nan = {
        "estimate": np.nan,
        "se": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "p": np.nan,
        "df": np.nan,
        "gamma": np.nan,
        "sigma2": np.nan,
        "converged": False,
    }
    if total <= p or np.ptp(x) == 0:
        return nan
    n = np.bincount(g, minlength=n_groups).astype(float)
    sx, sy = np.bincount(g, x, n_groups), np.bincount(g, y, n_groups)
    sum_x, sum_y, sum_xx, sum_xy, sum_yy = x.sum(), y.sum(), x @ x, x @ y, y @ y

    def parts(gamma: np.ndarray) -> tuple[np.ndarray, ...]:
        """X'V^-1X (a00, a01, a11), the GLS slope and intercept, and the weighted RSS, per gamma."""
        gamma = np.atleast_1d(np.asarray(gamma, dtype=float))[:, None]
        w = gamma / (1 + gamma * n)  # V_g^-1 = (I - w 11') / sigma^2
        a00 = total - (w * n * n).sum(axis=1)
        a01 = sum_x - (w * n * sx).sum(axis=1)
        a11 = sum_xx - (w * sx * sx).sum(axis=1)
        b0 = sum_y - (w * n * sy).sum(axis=1)
        b1 = sum_xy - (w * sx * sy).sum(axis=1)
        det = a00 * a11 - a01**2
        slope = (a00 * b1 - a01 * b0) / det
        intercept = (a11 * b0 - a01 * b1) / det
        rss = sum_yy - (w * sy * sy).sum(axis=1) - (b0 * intercept + b1 * slope)
        return a00, det, slope, rss, np.log1p(gamma * n).sum(axis=1)

    def criterion(gamma: np.ndarray) -> np.ndarray:
        """-2 x the REML log-likelihood profiled over beta and sigma^2, up to a constant."""
        _, det, _, rss, logdet_v = parts(gamma)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (total - p) * np.log(rss / (total - p)) + logdet_v + np.log(det)
        return np.where((rss > 0) & (det > 0), value, np.inf)

    grid = np.concatenate([[0.0], np.logspace(-4, 6, 41)])
    values = criterion(grid)
    best = int(np.argmin(values))
    low = grid[best - 1] if best > 0 else 0.0
    high = grid[min(best + 1, len(grid) - 1)]
    gamma = float(grid[best])
    if high > low:
        search = optimize.minimize_scalar(
            lambda g: float(criterion(g)[0]),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-10 * max(1.0, high)},
        )
        if search.fun <= values[best]:
            gamma = float(search.x)
    a00, det, slope, rss, _ = parts(gamma)
    sigma2 = float(rss[0]) / (total - p)
    se = math.sqrt(sigma2 * float(a00[0] / det[0])) if det[0] > 0 and sigma2 >= 0 else float("nan")
    estimate = float(slope[0])
    df = math.inf
    if ddf != "none" and np.isfinite(se) and se > 0:
        df = _slope_df(parts, total, p, gamma, sigma2)
    crit = stats.norm.ppf((1 + confidence) / 2) if math.isinf(df) else stats.t.ppf((1 + confidence) / 2, df)
    tail = stats.norm.sf if math.isinf(df) else (lambda v: stats.t.sf(v, df))
    return {
        "estimate": estimate,
        "se": se,
        "ci_lower": estimate - crit * se,
        "ci_upper": estimate + crit * se,
        "p": float(2 * tail(abs(estimate / se))) if se > 0 else np.nan,
        "df": df,
        "gamma": gamma,
        "sigma2": sigma2,
        "converged": bool(np.isfinite(se)),
    }


def _slope_df(parts, total: int, p: int, gamma: float, sigma2: float) -> float:
    """Satterthwaite df of the slope (lmerTest's), from the closed-form REML parts in (sqrt(gamma), sigma)."""

    def deviance(v: np.ndarray) -> float:
        _, det, _, rss, logdet_v = parts(v[0] ** 2)
        s2 = v[1] ** 2
        return float(logdet_v[0] + rss[0] / s2 + (total - p) * math.log(2 * math.pi * s2) + math.log(det[0]))

    def covbeta(v: np.ndarray) -> np.ndarray:
        a00, det, *_ = parts(v[0] ** 2)
        return np.array([[v[1] ** 2 * float(a00[0] / det[0])]])

    try:
        df = satterthwaite_df(deviance, covbeta, np.array([math.sqrt(gamma), math.sqrt(sigma2)]), np.ones(1))
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        return math.inf
    return df if np.isfinite(df) and df > 0 else math.inf


def _ols_slopes(frame: pd.DataFrame, key: pd.Series, x: str, y: str, confidence: float) -> pd.DataFrame:
    """OLS slope of y on x per key, from group sums (vectorized)."""
    work = pd.DataFrame({"k": key.to_numpy(), "x": frame[x].to_numpy(float), "y": frame[y].to_numpy(float)})
    work = work.dropna()
    work["xx"], work["xy"], work["yy"] = work.x**2, work.x * work.y, work.y**2
    sums = work.groupby("k").agg(
        n=("x", "size"),
        sx=("x", "sum"),
        sy=("y", "sum"),
        sxx=("xx", "sum"),
        sxy=("xy", "sum"),
        syy=("yy", "sum"),
    )
    n = sums["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ssx = sums.sxx - sums.sx**2 / n
        sxy = sums.sxy - sums.sx * sums.sy / n
        ssy = sums.syy - sums.sy**2 / n
        slope = sxy / ssx
        rss = (ssy - slope * sxy).clip(lower=0)
        se = np.sqrt(rss / (n - 2) / ssx)
        tcrit = stats.t.ppf((1 + confidence) / 2, n - 2)
        p = 2 * stats.t.sf(np.abs(slope / se), n - 2)
    return pd.DataFrame(
        {"estimate": slope, "ci_lower": slope - tcrit * se, "ci_upper": slope + tcrit * se, "p": p}
    )


def _mixed_figures(
    sub: pd.DataFrame, name: str, x: np.ndarray, confidence: float, estimate_name: str
) -> tuple[dict[str, float], bool]:
    """A record's figures from the random-intercept fit of ``name`` on ``x``, and whether that fit failed.

    A fit that cannot be made gives no figures; one that did not converge still gives its figures
    (the caller notes the failure).
    """
    fit = _mixed_or_none(sub[name].to_numpy(float), x, sub["_rid"].to_numpy(), confidence)
    failed = fit is None or not fit["converged"]
    if fit is None:
        return {}, failed
    figures = {estimate_name: fit["estimate"], "ci_lower": fit["ci_lower"], "ci_upper": fit["ci_upper"]}
    return {**figures, "p": fit["p"]}, failed


def _ols_figures(sub: pd.DataFrame, x: str, name: str, confidence: float, estimate_name: str) -> dict:
    """A record's figures from the OLS slope of ``name`` on the column ``x`` (none when no slope exists)."""
    fit = _ols_slopes(sub, pd.Series(0, index=sub.index), x, name, confidence)
    if not len(fit):
        return {}
    row = fit.iloc[0]
    return {estimate_name: row.estimate, "ci_lower": row.ci_lower, "ci_upper": row.ci_upper, "p": row.p}


def _note_failures(notes: list[str], failures: int, what: str, figures: str) -> None:
    """Add a note counting the mixed-model fits (of ``what``) that did not converge."""
    if failures:
        notes.append(f"{failures} mixed-model fit(s) of {what} did not converge; read {figures} with care")


def _figure_table(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """The records as a frame that has every figure column (NaN where no record has it)."""
    out = pd.DataFrame.from_records(records)
    for column in columns:
        if column not in out:
            out[column] = np.nan
    return out


def _changes(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    pairs: Sequence[tuple[int, int, str]],
    keys: Sequence[tuple[int, Any]],
    hidden: set[tuple[int, Any]],
    confidence: float,
    notes: list[str],
) -> pd.DataFrame:
    base = _baseline(frame, by)
    records: list[dict[str, Any]] = []
    failures = 0
    for a, b, method in pairs:
        window = frame[frame["_wave"].isin([a, b])]
        for name in names:
            wide = window.pivot(index="_rid", columns="_wave", values=name)
            wide = wide.reindex(columns=[a, b])
            labels = base.reindex(wide.index)
            both = wide[a].notna() & wide[b].notna()
            either = wide[a].notna() | wide[b].notna()
            diff = (wide[b] - wide[a])[both]
            for key, mask in _group_masks(labels, keys, by):
                record: dict[str, Any] = {
                    "_table": key[0],
                    "_value": key[1],
                    "scale": name,
                    "from": a,
                    "to": b,
                    "method": method,
                }
                if key in hidden:
                    records.append(record)
                    continue
                d = diff[mask[both.to_numpy()]]
                n_pairs, n_people = len(d), int((either & mask).sum())
                record.update(n_pairs=n_pairs, n=n_pairs if method == "paired_t" else n_people)
                if method == "paired_t" and n_pairs >= 2:
                    mean, sd = float(d.mean()), float(d.std(ddof=1))
                    se = sd / math.sqrt(n_pairs)
                    tcrit = stats.t.ppf((1 + confidence) / 2, n_pairs - 1)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        p = float(2 * stats.t.sf(abs(mean / se), n_pairs - 1)) if se > 0 else float("nan")
                    record.update(
                        mean_change=mean, ci_lower=mean - tcrit * se, ci_upper=mean + tcrit * se, p=p
                    )
                elif method == "mixed_model" and n_people >= 3:
                    sub = window[window["_rid"].isin(wide.index[mask & either.to_numpy()])]
                    sub = sub[sub[name].notna()]
                    figures, failed = _mixed_figures(
                        sub, name, (sub["_wave"] == b).to_numpy(float), confidence, "mean_change"
                    )
                    failures += failed
                    record.update(figures)
                elif method == "ols":
                    sub = window[window["_rid"].isin(wide.index[mask & either.to_numpy()])]
                    sub = sub.assign(_x=(sub["_wave"] == b).astype(float))
                    record.update(_ols_figures(sub, "_x", name, confidence, "mean_change"))
                records.append(record)
    _note_failures(notes, failures, "a change", "those estimates")
    return _figure_table(records, CHANGE_FIGURES)


def _trends(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    keys: Sequence[tuple[int, Any]],
    hidden: set[tuple[int, Any]],
    confidence: float,
    notes: list[str],
) -> pd.DataFrame:
    base = _baseline(frame, by)
    repeated = frame.groupby("_rid").size().max() > 1
    method = "mixed_model" if repeated else "ols"
    labels = base.reindex(frame["_rid"].to_numpy()).reset_index(drop=True)
    records = []
    failures = 0
    for name in names:
        has = frame[name].notna().to_numpy()
        for key, mask in _group_masks(labels, keys, by):
            record: dict[str, Any] = {"_table": key[0], "_value": key[1], "scale": name, "method": method}
            if key in hidden:
                records.append(record)
                continue
            sub = frame[mask & has]
            n_people, n_obs = int(sub["_rid"].nunique()), len(sub)
            record.update(n=n_people, n_observations=n_obs)
            if sub["_wave"].nunique() >= 2:
                if method == "mixed_model":
                    figures, failed = _mixed_figures(
                        sub, name, sub["_wave"].to_numpy(float), confidence, "slope"
                    )
                    failures += failed
                    record.update(figures)
                else:
                    record.update(_ols_figures(sub, "_wave", name, confidence, "slope"))
            records.append(record)
    _note_failures(notes, failures, "a trend", "those slopes")
    return _figure_table(records, TREND_FIGURES)


__all__ = ["random_intercept_slope"]
