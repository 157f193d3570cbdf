"""Likelihood profiles and profile intervals, as lme4's ``profile.merMod`` and ``confint.thpr``.

lme4's algorithm, step for step (so that the points, and so the intervals,
agree with lme4's):

1. A REML fit is refitted by maximum likelihood (``refitML``): the profile is
   of the ML deviance, and its base is the ML deviance at the optimum.
2. Each variance parameter (sd, correlation, σ; :mod:`.parameters`) is held
   at a value and the deviance minimized over the others, the fixed effects
   profiled out; each fixed effect is moved into an offset and the model
   refitted over θ. The signed square root of the deviance change is ζ.
3. Points start at the estimate × 1.01 (0.001 from a zero estimate; the
   estimate + δ·SE for a fixed effect) and step outwards by ``nextpar``:
   δ = cutoff / 8 in ζ, cutoff = √χ²₀.₉₉ on the number of parameters, the step
   capped at 10 × the previous one, until |ζ| passes the cutoff or a bound.
4. ζ(parameter) is interpolated by a natural cubic spline (``interpSpline``),
   inverted piece by piece as ``backSpline`` does, and read at the normal
   quantiles of the level; a quantile beyond the profile gives the bound (0
   for a standard deviation). A profile that is not monotone falls back to
   linear interpolation, as lme4's does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import interpolate

from ..errors import ConvergenceWarning
from ..stats.probability import chi2_ppf, norm_ppf
from .criterion import _Criterion
from .design import _Design
from .optimize import _CoreFit, _fit_core
from .parameters import _Parameters
from .refit import _bounded_minimum, _minimize_theta, _with_response

#: lme4's ``profile()`` defaults.
ALPHAMAX = 0.01
MAXPTS = 100
DELTA_CUTOFF = 1 / 8
MAXMULT = 10.0
MINSTEP = 1e-6


@dataclass
class _ProfileTrace:
    """ζ against one parameter: the points lme4's ``profile()`` returns for it."""

    name: str
    readable: str
    par: np.ndarray
    zeta: np.ndarray
    lower: float  # the parameter's bound, reported where the profile does not reach the level
    upper: float


def _ml_fit(design: _Design, core: _CoreFit) -> _CoreFit:
    """The ML fit the profile is of (lme4's ``refitML``)."""
    return core if not core.reml else _fit_core(design, False)


def _gradient(f: Callable, x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Forward differences with relative steps (backward at an upper bound).

    The deviance is computed to about 1e-12, so a step of 1e-6 × max(1, |x|)
    leaves a rounding error of about 1e-6 and a truncation error of the same
    order: the minimum found is within about 1e-10 of the deviance's.
    """
    f0 = f(x)
    g = np.zeros(len(x))
    for j in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[j]))
        if x[j] + h > upper[j]:
            h = -h
        if x[j] + h < lower[j]:
            continue
        step = x.copy()
        step[j] = x[j] + h
        g[j] = (f(step) - f0) / h
    return g


def _next_par(
    par: np.ndarray, zeta: np.ndarray, delta: float, lower: float, upper: float
) -> tuple[float, list[str]]:
    """lme4's ``nextpar``: the next value from the last two points of a profile."""
    notes = []
    num = par[1] - par[0]
    denom = zeta[1] - zeta[0]
    if not np.isfinite(denom) or denom == 0:
        notes.append("Last two rows have identical or NA .zeta values: using minstep")
        step = MINSTEP
    else:
        step = delta * num / denom
        if step < 0:
            notes.append("unexpected decrease in profile: using minstep")
            step = MINSTEP
        elif abs(step) > MAXMULT * abs(num):
            step = math.copysign(MAXMULT * abs(num), step)
    return float(min(upper, max(lower, par[1] + math.copysign(1.0, num) * step))), notes


def _fill(
    rows: list[np.ndarray],
    column: int,
    lowcut: float,
    upcut: float,
    zeta_at: Callable[[float, np.ndarray], np.ndarray],
    delta: float,
    cutoff: float,
    notes: list[str],
) -> list[np.ndarray]:
    """lme4's ``fillmat``: step outwards from the last two rows until ζ passes the cutoff or a bound."""
    i = 1
    while (
        i < MAXPTS - 1
        and lowcut < rows[i][column] < upcut
        and (not np.isfinite(rows[i][0]) or abs(rows[i][0]) <= cutoff)
    ):
        pair = np.array([rows[i - 1], rows[i]])
        value, why = _next_par(pair[:, column], pair[:, 0], delta, lowcut, upcut)
        notes += why
        rows.append(zeta_at(value, rows[i]))
        i += 1
    return rows


def profile_model(
    design: _Design, core: _CoreFit, formula: str, frame
) -> tuple[list[_ProfileTrace], list[str]]:
    """Profile every parameter (variance parameters, σ, fixed effects) as lme4's ``profile()``.

    Returns
    -------
    (list of _ProfileTrace, notes)
        One trace per parameter (lme4's order), and what happened on the way.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sdt_survey.mixed import fit_model
    >>> rng = np.random.default_rng(4)
    >>> g = np.repeat(np.arange(10), 6)
    >>> y = np.repeat(rng.normal(0, 1, 10), 6) + rng.normal(0, 1, 60)
    >>> m = fit_model("y ~ 1 + (1|g)", pd.DataFrame({"y": y, "g": g}), lrt=False, null_model=False)
    >>> traces, notes = profile_model(*m.fit_state, m.formula, m.data)
    >>> [t.name for t in traces]
    ['.sig01', '.sigma', '(Intercept)']
    >>> lo, hi = profile_interval(traces[2], 0.95, notes)
    >>> bool(lo < m.fixed.loc["(Intercept)", "estimate"] < hi)
    True
    """
    ml = _ml_fit(design, core)
    crit: _Criterion = ml.criterion
    params = _Parameters(crit, formula, frame)
    sigma = math.sqrt(ml.sigma2)
    opt = params.from_theta(ml.theta, sigma)
    base = ml.dev
    nvp = params.n
    p = design.p
    cutoff = math.sqrt(chi2_ppf(1 - ALPHAMAX, nvp + p))
    delta = cutoff * DELTA_CUTOFF
    notes: list[str] = []
    lower = np.array(params.lower)
    upper = np.array(params.upper)
    # σ = 0 makes the deviance infinite: the optimizer's bound stays just above it.
    opt_lower = lower.copy()
    opt_lower[-1] = 1e-8 * sigma
    if abs(params.deviance(opt) - base) > 1e-5 * max(1.0, abs(base)):
        notes.append("the deviance in sd/cor terms does not match the ML fit's at its optimum")
    traces: list[_ProfileTrace] = []

    for w in range(nvp):
        others = np.array([k for k in range(nvp) if k != w])

        def zeta_at(value: float, previous: np.ndarray, w=w, others=others) -> np.ndarray:
            def f(x: np.ndarray) -> float:
                pars = np.empty(nvp)
                pars[w] = value
                pars[others] = x
                return params.deviance(pars)

            start = np.clip(previous[1:][others], opt_lower[others], upper[others])
            lo, hi = opt_lower[others], upper[others]
            x = _bounded_minimum(f, lambda x: _gradient(f, x, lo, hi), start, lo, hi, ftol=1e-13)
            fval = f(x)
            pars = np.empty(nvp)
            pars[w] = value
            pars[others] = x
            diff = max(0.0, fval - base)
            return np.concatenate([[math.copysign(math.sqrt(diff), value - opt[w])], pars])

        row0 = np.concatenate([[0.0], opt])
        shift = 0.001 if opt[w] == 0 else opt[w] * 1.01
        first = zeta_at(shift, row0)
        up = _fill([row0, first], 1 + w, lower[w], upper[w], zeta_at, delta, cutoff, notes)
        down = [first, row0]
        if opt[w] > lower[w]:
            down = _fill(down, 1 + w, lower[w], upper[w], zeta_at, delta, cutoff, notes)
        traces.append(_trace(params.names[w], params.readable[w], up + down, 1 + w, lower[w], upper[w]))

    # Fixed effects: column j moved into an offset, θ refitted by ML from the optimum.
    beta = ml.beta
    std = np.sqrt(np.diag(ml.vcov))
    for j in range(p):
        keep = np.arange(p) != j
        reduced = _Criterion(design.with_columns(keep))
        xj = design.X[:, j]

        def fe_zeta(value: float, previous: np.ndarray, j=j, xj=xj, reduced=reduced) -> np.ndarray:
            crit_j = _with_response(reduced, design.y - xj * value)
            _, dev = _minimize_theta(crit_j, ml.theta, False, ftol=1e-12)
            diff = max(0.0, dev - base)
            return np.array([math.copysign(math.sqrt(diff), value - beta[j]), value])

        row0 = np.array([0.0, beta[j]])
        first = fe_zeta(beta[j] + delta * std[j], row0)
        up = _fill([row0, first], 1, -math.inf, math.inf, fe_zeta, delta, cutoff, notes)
        down = _fill([first, row0], 1, -math.inf, math.inf, fe_zeta, delta, cutoff, notes)
        traces.append(_trace(design.x_names[j], design.x_names[j], up + down, 1, math.nan, math.nan))
    return traces, notes


def _trace(
    name: str, readable: str, rows: list[np.ndarray], column: int, lo: float, hi: float
) -> _ProfileTrace:
    table = np.unique(np.array(rows), axis=0)  # R's unique(rbind(...)), then ordered by the parameter
    table = table[np.argsort(table[:, column], kind="stable")]
    return _ProfileTrace(name, readable, table[:, column], table[:, 0], lo, hi)


# =========================================================================== the intervals


def _back_spline(par: np.ndarray, zeta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``backSpline(interpSpline(zeta ~ par))``: knots (in ζ) and cubic coefficients, or None.

    None when the spline cannot be built or ζ is not monotone in the parameter
    (lme4 then falls back to linear interpolation).
    """
    ok = np.isfinite(par) & np.isfinite(zeta)
    x, y = par[ok], zeta[ok]
    if len(x) < 4 or np.any(np.diff(x) <= 0):
        return None
    forward = interpolate.CubicSpline(x, y, bc_type="natural")
    slope = forward(x, 1)
    nk = len(x)
    kdiff = np.diff(x)
    adiff = np.diff(y)
    if not np.all(adiff > 0):
        return None
    b = np.zeros((nk, 4))
    b[:, 0] = x
    with np.errstate(divide="ignore"):
        b[:, 1] = 1.0 / slope
    for i in range(nk - 1):
        a = adiff[i]
        b[i, 2:4] = np.linalg.solve(
            np.array([[a**2, a**3], [2 * a, 3 * a**2]]),
            [kdiff[i] - a * b[i, 1], b[i + 1, 1] - b[i, 1]],
        )
    b[nk - 1, 1:] = np.nan
    if nk > 2:
        b[0, 3] = b[nk - 2, 3] = 0.0
        a0 = adiff[0]
        b[0, 1:3] = np.linalg.solve(np.array([[a0, a0**2], [1.0, 2 * a0]]), [kdiff[0], 1.0 / slope[1]])
        b[nk - 2, 2] = (kdiff[-1] - adiff[-1] * b[nk - 2, 1]) / adiff[-1] ** 2
    if b[0, 2] > 0:
        b[0, 2] = 0.0
        b[0, 1] = kdiff[0] / adiff[0]
    if b[nk - 2, 2] < 0:
        b[nk - 2, 2] = 0.0
        b[nk - 2, 1] = kdiff[-1] / adiff[-1]
    return y, b


def _predict(knots: np.ndarray, coef: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``predict.polySpline``: NaN outside the knots (R's ``cut``), the interval (k_i, k_i+1] inside."""
    i = np.searchsorted(knots, z, side="left") - 1
    i = np.where(z == knots[0], 0, i)
    inside = (i >= 0) & (i < len(knots) - 1)
    i = np.clip(i, 0, len(knots) - 2)
    d = z - knots[i]
    c = coef[i]
    out = c[:, 0] + d * (c[:, 1] + d * (c[:, 2] + d * c[:, 3]))
    return np.where(inside, out, np.nan)


def profile_interval(trace: _ProfileTrace, level: float, notes: list[str]) -> tuple[float, float]:
    """lme4's ``confint.thpr`` for one parameter: where the profile's ζ crosses the normal quantiles.

    Examples
    --------
    >>> t = _ProfileTrace("b", "b", np.linspace(-3, 3, 13), np.linspace(-3, 3, 13), math.nan, math.nan)
    >>> [round(v, 4) for v in profile_interval(t, 0.95, [])]
    [-1.96, 1.96]
    """
    a = (1 - level) / 2
    z = norm_ppf([a, 1 - a])
    spline = _back_spline(trace.par, trace.zeta)
    if spline is not None:
        lo, hi = _predict(spline[0], spline[1], z)
    else:
        ok = np.isfinite(trace.zeta)
        if not ok.any():
            notes.append(f"bad profile for {trace.name}")
            return math.nan, math.nan
        if np.all(np.diff(trace.zeta[ok]) < -0.01):
            notes.append(f"non-monotonic profile for {trace.name}")
            return math.nan, math.nan
        warnings.warn(
            f"bad spline fit for {trace.name}: falling back to linear interpolation",
            ConvergenceWarning,
            stacklevel=3,
        )
        order = np.argsort(trace.zeta[ok], kind="stable")
        lo, hi = np.interp(z, trace.zeta[ok][order], trace.par[ok][order], left=np.nan, right=np.nan)
    lo = trace.lower if math.isnan(lo) else float(lo)
    hi = trace.upper if math.isnan(hi) else float(hi)
    return lo, hi
