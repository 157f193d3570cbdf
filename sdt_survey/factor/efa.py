"""Exploratory factor analysis, reproducing R's psych.

Every number here is computed the way ``psych`` 2.2.9 (with GPArotation
2022.10.2) computes it, and the test suite checks them against goldens made
by R (see ``docs/factor-analysis.md``).

=========================  ====================================================
:func:`kmo`                Kaiser-Meyer-Olkin sampling adequacy, overall and per
                           item (psych::KMO).
:func:`bartlett`           Bartlett's test of sphericity (psych::cortest.bartlett).
:func:`parallel_analysis`  Horn's parallel analysis as psych::fa.parallel:
                           eigenvalues of components and factors of the data,
                           of simulated normal data and of resampled data; the
                           suggested numbers of factors and components; the
                           scree plot data.
:func:`efa`                psych::fa: minres, ml or principal-axis extraction;
                           oblimin, promax, varimax, geomin or no rotation;
                           loadings, communalities, Phi, variance accounted for
                           and psych's fit statistics.
:func:`factor_report`      all of the above in one go, choosing the number of
                           factors by parallel analysis when not given.
=========================  ====================================================

The functions take *clean* data: a :class:`pandas.DataFrame` with one numeric
column per item and one row per respondent, ``NaN`` for a missing answer, and
reverse-keyed items already reversed (``score(...).keyed``). Input is checked
once, at the boundary; a problem a user can fix raises
:class:`FactorAnalysisError` (a :class:`~sdt_survey.errors.SdtSurveyError`)
with a message naming the offending items.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> f = rng.normal(size=(400, 2))
>>> x = np.repeat(f, 4, axis=1) * 0.8 + rng.normal(size=(400, 8)) * 0.6
>>> items = pd.DataFrame(x, columns=[f"a{i}" for i in range(1, 5)] + [f"b{i}" for i in range(1, 5)])
>>> round(kmo(items).msa, 2)
0.84
>>> res = efa(items, 2)
>>> res.loadings.round(1).abs().max().tolist()
[0.8, 0.8]
>>> sorted(res.fit)[:4]
['BIC', 'EBIC', 'EPVAL', 'ESABIC']
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import FactorAnalysisError
from ..reliability import fa_minres
from ..results import Result, format_number, jsonable
from ..stats import moments
from ..stats.moments import cov2cor, pairwise_moments
from ..stats.rotation import ROTATIONS, rotate

try:  # optional: installed with scikit-learn and many scientific stacks
    from threadpoolctl import ThreadpoolController as _ThreadpoolController
except ImportError:  # pragma: no cover - the computation is the same, only slower on some machines
    _ThreadpoolController = None
_CONTROLLER: list[Any] = []  # the controller, made once (finding the BLAS libraries takes milliseconds)

Fm = Literal["minres", "ml", "pa"]
Rotate = Literal["oblimin", "promax", "varimax", "geomin", "geominQ", "geominT", "quartimin", "none"]
Missing = Literal["pairwise", "listwise"]

FMS = ("minres", "ml", "pa")
MISSING_MODES = ("pairwise", "listwise")
#: psych's column prefixes (``MR1``, ``ML1``, ``PA1``...).
PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA"}
#: Lower and upper bounds of the uniquenesses in minres and ml (psych: ``lower = .005``, ``upper = 1``).
PSI_BOUNDS = (0.005, 1.0)

#: Kaiser's (1974) labels of the measure of sampling adequacy.
MSA_LABELS = (
    (0.9, "marvelous"),
    (0.8, "meritorious"),
    (0.7, "middling"),
    (0.6, "mediocre"),
    (0.5, "miserable"),
    (-math.inf, "unacceptable"),
)


@contextmanager
def _small_blas() -> Iterator[None]:
    """One BLAS thread for the many tiny (items x items) problems of a fit.

    Multithreaded OpenBLAS makes eigen-decompositions and L-BFGS-B steps of a
    25 x 25 matrix 10-15 times slower on a 2-core machine (thread wake-ups
    dominate); the results are identical. Uses threadpoolctl when installed.
    """
    if _ThreadpoolController is None:  # pragma: no cover
        yield
        return
    if not _CONTROLLER:
        _CONTROLLER.append(_ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


# =========================================================================== input


@dataclass(frozen=True)
class _Data:
    """Validated items and their correlation matrix (R's ``cor(x, use = ...)``)."""

    names: list[str]
    r: np.ndarray
    n_obs: int
    np_obs: np.ndarray
    missing: str
    x: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray = field(repr=False)


def _as_frame(items: Any, what: str) -> pd.DataFrame:
    if isinstance(items, pd.DataFrame):
        return items
    if isinstance(items, np.ndarray) and items.ndim == 2:
        return pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    raise FactorAnalysisError(
        f"{what} must be a pandas DataFrame with one numeric column per item, got {type(items).__name__}"
    )


def _prepare(items: Any, missing: str = "pairwise", *, min_items: int = 3, what: str = "items") -> _Data:
    """Check the items once and compute the correlation matrix psych would use."""
    if missing not in MISSING_MODES:
        raise FactorAnalysisError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")
    frame = _as_frame(items, what)
    if frame.columns.has_duplicates:
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise FactorAnalysisError(f"{what} has duplicated columns: {', '.join(dupes)}")
    names = [str(c) for c in frame.columns]
    bad = [n for n, c in zip(names, frame.columns, strict=True) if not _numeric(frame[c])]
    if bad:
        raise FactorAnalysisError(
            f"{what} must be numeric; non-numeric columns: {', '.join(bad)} "
            "(pass only the item columns, e.g. score(...).keyed)"
        )
    if len(names) < min_items:
        raise FactorAnalysisError(f"{what} needs at least {min_items} item columns, got {len(names)}")
    x = frame.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        cols = [names[j] for j in np.flatnonzero(np.isinf(x).any(axis=0))]
        raise FactorAnalysisError(f"{what} contains infinite values in: {', '.join(cols)}")
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, p = x.shape
    if n <= p:
        rows = "complete rows" if missing == "listwise" else "rows"
        raise FactorAnalysisError(
            f"too few respondents: {n} {rows} for {p} items; factor analysis needs more respondents "
            "than items (and several times more for stable loadings)"
        )
    answered = (~np.isnan(x)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(x, axis=0)
    constant = [names[j] for j in range(p) if answered[j] < 2 or not sd[j] > 0]
    if constant:
        raise FactorAnalysisError(
            f"constant or empty items (no variance, so no correlations): {', '.join(constant)}; drop them"
        )
    _, r, cnt = pairwise_moments(x)
    if np.isnan(r).any():
        i, j = np.argwhere(np.isnan(r))[0]
        raise FactorAnalysisError(
            f"the correlation of {names[i]!r} and {names[j]!r} cannot be computed: fewer than two "
            "respondents answered both, or one of them does not vary among those who did"
        )
    vals, vecs = np.linalg.eigh(r)
    if abs(vals[0]) < 1e-8 * max(vals[-1], 1.0):
        raise FactorAnalysisError(_singular_message(r, vals, vecs, names))
    return _Data(names, r, n, cnt, missing, x, vals[::-1])


def _numeric(col: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(col))


def _singular_message(r: np.ndarray, vals: np.ndarray, vecs: np.ndarray, names: list[str]) -> str:
    p = r.shape[0]
    off = np.abs(r - np.eye(p))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    if off[i, j] > 1 - 1e-8:
        why = f"items {names[i]!r} and {names[j]!r} are perfectly correlated (r = {r[i, j]:+.0f}); drop one"
    else:
        v = vecs[:, 0]
        involved = [names[k] for k in np.argsort(-np.abs(v)) if abs(v[k]) > 0.05]
        why = (
            f"an item is an exact linear combination of others (involving {', '.join(involved)}); "
            "drop a total score or a duplicated item"
        )
    return f"the correlation matrix is singular (smallest eigenvalue {vals[0]:.2g}): {why}"


def _require_positive_definite(data: _Data, what: str) -> None:
    if data.eigenvalues[-1] <= 0:
        raise FactorAnalysisError(
            f"{what} needs a positive definite correlation matrix, but the pairwise correlations are not "
            f"(smallest eigenvalue {data.eigenvalues[-1]:.3g}); this happens with much missing data: "
            "use missing='listwise'"
        )


# =========================================================================== KMO and Bartlett


def _msa_label(value: float) -> str:
    return next(label for bound, label in MSA_LABELS if value >= bound)


@dataclass(frozen=True, eq=False)
class KMOResult(Result):
    """Kaiser-Meyer-Olkin measure of sampling adequacy (psych::KMO).

    ``msa`` is the overall MSA, ``msa_items`` psych's ``MSAi``;
    ``anti_image`` is psych's ``Image``, ``cov2cor(solve(R))`` (the
    anti-image correlations are its off-diagonal entries with the sign
    reversed).
    """

    msa: float
    msa_items: pd.Series
    n_obs: int
    missing: str
    anti_image: pd.DataFrame = field(repr=False)

    @property
    def label(self) -> str:
        """Kaiser's label of the overall MSA ("marvelous" >= .9 ... "unacceptable" < .5)."""
        return _msa_label(self.msa)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``msa`` and Kaiser's label."""
        out = pd.DataFrame({"msa": self.msa_items})
        out["label"] = [_msa_label(v) for v in self.msa_items]
        out.index.name = "item"
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "msa": self.msa,
                "label": self.label,
                "msa_items": self.msa_items.to_dict(),
                "n_obs": self.n_obs,
                "missing": self.missing,
            }
        )

    def summary(self) -> str:
        lines = [
            f"Kaiser-Meyer-Olkin factor adequacy (n = {self.n_obs}, missing = {self.missing})",
            f"Overall MSA = {self.msa:.2f} ({self.label})",
            "MSA for each item:",
        ]
        width = max(len(s) for s in self.msa_items.index)
        low = [n for n, v in self.msa_items.items() if v < 0.6]
        lines += [f"  {n:<{width}}  {v:.2f}" for n, v in self.msa_items.items()]
        if low:
            lines.append(f"items with MSA below .60 (consider dropping): {', '.join(low)}")
        return "\n".join(lines)


def _kmo_from_corr(r: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    q = np.linalg.inv(r)
    image = cov2cor(q)
    q0 = image.copy()
    np.fill_diagonal(q0, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = r0**2, q0**2
    msa = r2.sum() / (r2.sum() + q2.sum())
    msai = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return float(msa), msai, image


def kmo(items: pd.DataFrame, *, missing: Missing = "pairwise") -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item (psych::KMO).

    ``MSA = Σr² / (Σr² + Σq²)`` over the off-diagonal correlations ``r`` and
    partial correlations ``q`` (from the inverse correlation matrix); an
    item's MSA uses its own column.

    Parameters
    ----------
    items : DataFrame
        One numeric column per item (NaN = missing).
    missing : {"pairwise", "listwise"}
        psych::KMO on raw data uses ``cor(x, use = "pairwise")``.

    Returns
    -------
    KMOResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> g = rng.normal(size=(300, 1))
    >>> items = pd.DataFrame(g + rng.normal(size=(300, 5)), columns=list("abcde"))
    >>> res = kmo(items)
    >>> round(res.msa, 2), res.label
    (0.85, 'meritorious')
    >>> res.to_frame().columns.tolist()
    ['msa', 'label']
    """
    with _small_blas():
        data = _prepare(items, missing, min_items=2)
        _require_positive_definite(data, "KMO")
        msa, msai, image = _kmo_from_corr(data.r)
    return KMOResult(
        msa=msa,
        msa_items=pd.Series(msai, index=data.names, name="msa"),
        n_obs=data.n_obs,
        missing=missing,
        anti_image=pd.DataFrame(image, index=data.names, columns=data.names),
    )


@dataclass(frozen=True, eq=False)
class BartlettResult(Result):
    """Bartlett's test that the correlation matrix is an identity (psych::cortest.bartlett).

    ``chisq = -log(det R) (n - 1 - (2p + 5)/6)`` on ``df = p(p - 1)/2``.
    """

    chisq: float
    df: int
    p_value: float
    n_obs: int
    n_items: int
    missing: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
                "n_obs": self.n_obs,
                "n_items": self.n_items,
                "missing": self.missing,
            }
        )

    def summary(self) -> str:
        verdict = (
            "the items are correlated enough to factor"
            if self.p_value < 0.05
            else "the correlations do not differ from zero: factoring is not warranted"
        )
        return (
            f"Bartlett's test of sphericity (n = {self.n_obs}, {self.n_items} items, "
            f"missing = {self.missing})\n"
            f"chi-square = {self.chisq:.2f}, df = {self.df}, p {_fmt_p_eq(self.p_value)}: {verdict}"
        )


def _bartlett_from_corr(r: np.ndarray, n: int) -> tuple[float, int, float]:
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    stat = -logdet * (n - 1 - (2 * p + 5) / 6) if sign > 0 else math.nan
    df = p * (p - 1) // 2
    return float(stat), df, float(stats.chi2.sf(stat, df))


def bartlett(items: pd.DataFrame, *, missing: Missing = "pairwise") -> BartlettResult:
    """Bartlett's test of sphericity (psych::cortest.bartlett on ``cor(x, use = "pairwise")``).

    ``n`` is the number of rows (psych's convention), ``det R`` is computed
    as a log-determinant.

    Parameters
    ----------
    items : DataFrame
    missing : {"pairwise", "listwise"}

    Returns
    -------
    BartlettResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> g = rng.normal(size=(300, 1))
    >>> res = bartlett(pd.DataFrame(g + rng.normal(size=(300, 4)), columns=list("abcd")))
    >>> res.df, res.p_value < 0.001
    (6, True)
    """
    with _small_blas():
        data = _prepare(items, missing, min_items=2)
        _require_positive_definite(data, "Bartlett's test")
        chisq, df, pv = _bartlett_from_corr(data.r, data.n_obs)
    return BartlettResult(chisq, df, pv, data.n_obs, len(data.names), missing)


# =========================================================================== extraction


def _ml_objective(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych's FAfn and FAgr (stats::factanal's likelihood) with their gradient."""
    sc = 1.0 / np.sqrt(psi)
    sstar = s * np.outer(sc, sc)
    vals, vecs = np.linalg.eigh(sstar)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    e = vals[k:]
    f = -(np.sum(np.log(e) - e) - k + s.shape[0])
    load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1, 0.0))
    load = load * np.sqrt(psi)[:, None]
    g = np.einsum("ij,ij->i", load, load) + psi - np.diag(s)
    return float(f), g / psi**2


def _ml_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """psych's FAout."""
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = np.linalg.eigh(s * np.outer(sc, sc))
    vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
    return (vecs * np.sqrt(np.maximum(vals - 1, 0.0))) * np.sqrt(psi)[:, None]


def _fa_ml(r: np.ndarray, k: int) -> np.ndarray:
    start = np.diag(r) - moments.smc(r)
    start = np.clip(start, *PSI_BOUNDS)
    res = optimize.minimize(
        _ml_objective,
        start,
        args=(r, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[PSI_BOUNDS] * r.shape[0],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000},
    )
    return _ml_loadings(res.x, r, k)


def _fa_pa(r: np.ndarray, k: int, *, smc: bool = True, min_err: float = 0.001, max_iter: int = 50):
    """psych's iterated principal axes: communalities from SMCs, until their sum changes < .001.

    Returns the loadings, the eigenvalues of the last reduced matrix (psych's
    ``values``) and whether the iteration stopped on ``min_err``.
    """
    rm = r.copy()
    if smc:
        np.fill_diagonal(rm, moments.smc(r))
    comm = float(np.trace(rm))
    err, i, converged = comm, 1, True
    while err > min_err:
        vals, vecs = np.linalg.eigh(rm)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        with np.errstate(invalid="ignore"):
            lam = vecs[:, :k] * np.sqrt(vals[:k])
        new = np.einsum("ij,ij->i", lam, lam)
        comm1 = float(new.sum())
        np.fill_diagonal(rm, new)
        err = abs(comm - comm1)
        if math.isnan(err):
            raise FactorAnalysisError(
                "principal axis factoring met a negative eigenvalue (an imaginary loading); "
                "use fm='minres' or fewer factors"
            )
        comm = comm1
        i += 1
        if i > max_iter:
            converged = err <= min_err
            break
    return lam, vals, converged


def _sign_columns(lam: np.ndarray) -> np.ndarray:
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    return sign


def _extract(r: np.ndarray, k: int, fm: str, *, pa_smc: bool = True) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unrotated loadings (psych-signed), psych's ``values`` and convergence."""
    converged = True
    if fm == "minres":
        lam = fa_minres(r, k)
    elif fm == "ml":
        lam = _fa_ml(r, k)
    else:
        lam, pa_values, converged = _fa_pa(r, k, smc=pa_smc)
    lam = lam * _sign_columns(lam)
    lam[lam == 0] = 1e-15
    if fm == "pa":
        values = pa_values
    else:
        s = r.copy()
        np.fill_diagonal(s, np.einsum("ij,ij->i", lam, lam))
        values = np.linalg.eigvalsh(s)[::-1]
    return lam, values, converged


# =========================================================================== fit statistics


def _smooth(r: np.ndarray) -> np.ndarray:
    """psych::cor.smooth (silent): eigenvalues below 1e-12 raised, rescaled, cov2cor."""
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r
    vals = np.where(vals < 1e-12, 100 * 1e-12, vals)
    vals = vals * r.shape[0] / vals.sum()
    return cov2cor((vecs * vals) @ vecs.T)


def _rmsea_bound(stat: float, df: float, target: float, hi: float, n: int) -> float:
    root = optimize.brentq(
        lambda nc: (stats.ncx2.cdf(stat, df, nc) if nc > 0 else stats.chi2.cdf(stat, df)) - target,
        0.0,
        hi,
        xtol=1e-12,
    )
    return math.sqrt(root / (n - 1) / df)


def _fit_stats(
    r: np.ndarray, lam: np.ndarray, phi: np.ndarray | None, n_obs: int, np_obs: np.ndarray, alpha: float = 0.1
) -> dict[str, Any]:
    """psych::fa.stats as psych::fa calls it (``np.obs`` = pairwise counts, ``alpha = .1``)."""
    p, k = lam.shape
    model = lam @ lam.T if phi is None else lam @ phi @ lam.T
    residual = r - model
    r2 = float(np.sum(r * r))
    rstar2 = float(np.sum(residual * residual))
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    res_off = residual.copy()
    np.fill_diagonal(res_off, 0.0)
    rstar_off = float(np.sum(res_off**2 * np_obs))
    r2w = r * r * np_obs
    r2_off = float(r2w.sum() - np.trace(r2w))
    nh = float(stats.hmean(np_obs.ravel()))
    out: dict[str, Any] = {"n_obs": n_obs, "nh": nh, "dof": dof}
    out["chi"] = rstar_off
    out["rms"] = math.sqrt(rstar_off / (nh * p * (p - 1)))
    if dof > 0:
        out["EPVAL"] = float(stats.chi2.sf(rstar_off, dof))
        out["crms"] = math.sqrt(rstar_off / (2 * nh * dof))
        out["EBIC"] = rstar_off - dof * math.log(nh)
        out["ESABIC"] = rstar_off - dof * math.log((nh + 2) / 24)
    else:
        out.update(EPVAL=None, crms=None, EBIC=None, ESABIC=None)
    out["fit"] = 1 - rstar2 / r2
    out["fit_off"] = 1 - rstar_off / r2_off

    m = model.copy()
    np.fill_diagonal(m, np.diag(r))
    m = _smooth(m)
    rs = _smooth(r)
    try:
        minvr = np.linalg.solve(m, rs)
    except np.linalg.LinAlgError:  # pragma: no cover - psych substitutes the identity and warns
        warnings.warn("the model inverse times r is singular; fit statistics are wrong", stacklevel=3)
        minvr = np.eye(p)
    sign, logdet = np.linalg.slogdet(minvr)
    objective = float(np.trace(minvr) - logdet - p) if sign > 0 else math.inf
    if not math.isfinite(objective):  # pragma: no cover - psych's fallback
        objective = rstar2
    out["objective"] = objective
    nm = (n_obs - 1) - (2 * p + 5) / 6 - (2 * k) / 3
    chisq = objective * nm
    out["STATISTIC"] = max(chisq, 0.0)
    out["PVAL"] = float(stats.chi2.sf(out["STATISTIC"], dof)) if dof > 0 else None
    sign0, logdet0 = np.linalg.slogdet(rs)
    f0 = float(np.trace(rs) - logdet0 - p) if sign0 > 0 else r2
    mm = objective / dof if dof else math.nan
    m0 = f0 * 2 / (p * (p - 1))
    out["null_model"] = f0
    out["null_dof"] = p * (p - 1) / 2
    out["null_chisq"] = f0 * ((n_obs - 1) - (2 * p + 5) / 6)
    out["TLI"] = (m0 - mm) / (m0 - 1 / nm)
    out.update(
        RMSEA=None, RMSEA_lower=None, RMSEA_upper=None, RMSEA_confidence=1 - alpha, BIC=None, SABIC=None
    )
    if dof > 0:
        rmsea = math.sqrt(max(chisq / (dof * n_obs) - 1 / (n_obs - 1), 0.0))
        tail = alpha / 2
        stat = out["STATISTIC"]
        hi = max(n_obs, stat) + 2 * n_obs
        upper: float | None = 0.0
        lower: float | None = 0.0
        cdf0 = float(stats.chi2.cdf(stat, dof))
        if cdf0 > tail:
            try:
                upper = _rmsea_bound(stat, dof, tail, hi, n_obs)
            except ValueError:  # pragma: no cover - psych: NA unless RMSEA is 0
                upper = 0.0 if rmsea <= 0 else None
        if cdf0 > 1 - tail:
            try:
                lower = _rmsea_bound(stat, dof, 1 - tail, hi, n_obs)
            except ValueError:  # pragma: no cover
                lower = None
        if upper is not None and upper < rmsea:
            upper = None
        if lower is not None and lower > rmsea:
            lower = None
        out.update(
            RMSEA=rmsea,
            RMSEA_lower=lower,
            RMSEA_upper=upper,
            BIC=chisq - dof * math.log(n_obs),
            SABIC=chisq - dof * math.log((n_obs + 2) / 24),
        )
    return out


# =========================================================================== EFA


#: Rows of psych's ``Vaccounted``.
VARIANCE_ROWS = [
    "SS loadings",
    "Proportion Var",
    "Cumulative Var",
    "Proportion Explained",
    "Cumulative Proportion",
]


@dataclass(frozen=True, eq=False)
class EFAResult(Result):
    """An exploratory factor analysis (psych::fa); psych's names in brackets.

    Attributes
    ----------
    loadings : DataFrame
        Pattern loadings, items x factors (``loadings``). Factors are named
        as psych names them (``MR``/``ML``/``PA`` + the number of the factor
        before sorting) and ordered by variance accounted for.
    communalities : Series
        ``h2`` (``communality``): the diagonal of the model ``L Phi L'``.
    uniquenesses : Series
        ``u2`` (``uniquenesses``): ``1 - h2``.
    complexity : Series
        Hoffman's item complexity (``complexity``).
    phi : DataFrame
        Factor correlations (``Phi``); the identity for orthogonal solutions.
    structure : DataFrame
        Structure loadings ``L Phi`` (``Structure``).
    variance : DataFrame
        Variance accounted for (``Vaccounted``), rows ``VARIANCE_ROWS``.
    fit : dict
        psych's fit statistics under their psych names: ``STATISTIC``
        (likelihood chi-square with Bartlett's correction), ``dof``, ``PVAL``,
        ``objective``, ``TLI``, ``RMSEA`` with ``RMSEA_lower``/``RMSEA_upper``
        (90% interval), ``BIC``, ``SABIC``, ``null_chisq``, ``null_dof``,
        ``null_model``; the empirical ``chi`` (residuals weighted by pairwise
        counts) with ``EPVAL``, ``EBIC``, ``ESABIC``; ``rms`` (RMSR),
        ``crms``, ``fit``, ``fit_off``, ``n_obs`` and ``nh`` (harmonic mean of
        the pairwise counts).
    eigenvalues : Series
        Eigenvalues of the correlation matrix (``e.values``).
    common_eigenvalues : Series
        Eigenvalues of the reduced matrix with the communalities on the
        diagonal (``values``).
    residuals : DataFrame
        ``R - L Phi L'`` (``residual``), communalities on the diagonal removed.
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    complexity: pd.Series
    phi: pd.DataFrame
    structure: pd.DataFrame
    variance: pd.DataFrame
    fit: dict[str, Any]
    n_factors: int
    fm: str
    rotation: str
    n_obs: int
    missing: str
    oblique: bool
    converged: bool
    eigenvalues: pd.Series = field(repr=False)
    common_eigenvalues: pd.Series = field(repr=False)
    residuals: pd.DataFrame = field(repr=False)
    unrotated: pd.DataFrame = field(repr=False)
    rotmat: np.ndarray = field(repr=False)
    correlation: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def h2(self) -> pd.Series:
        """Alias of :attr:`communalities`."""
        return self.communalities

    def to_frame(self) -> pd.DataFrame:
        """One row per item: the loadings, ``h2``, ``u2`` and ``com`` (psych's printed table)."""
        out = self.loadings.copy()
        out["h2"] = self.communalities
        out["u2"] = self.uniquenesses
        out["com"] = self.complexity
        out.index.name = "item"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe values (NaN becomes ``None``)."""
        return jsonable(
            {
                "n_factors": self.n_factors,
                "fm": self.fm,
                "rotation": self.rotation,
                "oblique": self.oblique,
                "n_obs": self.n_obs,
                "missing": self.missing,
                "converged": self.converged,
                "factors": list(self.loadings.columns),
                "loadings": self.loadings.to_dict(orient="index"),
                "communalities": self.communalities.to_dict(),
                "uniquenesses": self.uniquenesses.to_dict(),
                "complexity": self.complexity.to_dict(),
                "phi": self.phi.to_dict(orient="index"),
                "variance": self.variance.to_dict(orient="index"),
                "fit": dict(self.fit),
                "eigenvalues": self.eigenvalues.tolist(),
                "notes": list(self.notes),
            }
        )

    def sorted_loadings(self) -> pd.DataFrame:
        """Items grouped by the factor they load most on, largest loadings first (psych::fa.sort)."""
        lam = self.loadings.to_numpy()
        owner = np.argmax(np.abs(lam), axis=1)
        size = -np.abs(lam[np.arange(len(lam)), owner])
        order = np.lexsort((size, owner))
        return self.loadings.iloc[order]

    def summary(self, cut: float = 0.3, *, sort: bool = False, digits: int = 2) -> str:
        """psych-style print: loadings with ``|loading| < cut`` blanked, variance, Phi and fit.

        Parameters
        ----------
        cut : float
            Loadings smaller than this in absolute value are left blank (0 shows all).
        sort : bool
            Group items by their main factor, as ``print(fa.sort(f))``.
        digits : int
        """
        fit = self.fit
        lines = [
            f"Factor analysis using method = {self.fm}, rotation = {self.rotation} "
            f"({self.n_factors} factor{'s' if self.n_factors != 1 else ''}, {len(self.loadings)} items, "
            f"n = {self.n_obs}, missing = {self.missing})",
            "Standardized loadings (pattern matrix) based upon correlation matrix"
            + (f"; |loading| < {cut:.2f} blanked" if cut > 0 else ""),
        ]
        lam = self.sorted_loadings() if sort else self.loadings
        width = max(len(str(i)) for i in lam.index)
        cw = max(digits + 4, *(len(c) for c in lam.columns))
        head = " " * width + " " + " ".join(f"{c:>{cw}}" for c in lam.columns)
        head += f" {'h2':>{digits + 3}} {'u2':>{digits + 3}} {'com':>4}"
        lines.append(head)
        for item, row in lam.iterrows():
            cells = [f"{v:>{cw}.{digits}f}" if abs(v) >= cut else " " * cw for v in row]
            lines.append(
                f"{item!s:<{width}} "
                + " ".join(cells)
                + f" {self.communalities[item]:>{digits + 3}.{digits}f}"
                f" {self.uniquenesses[item]:>{digits + 3}.{digits}f} {self.complexity[item]:>4.1f}"
            )
        var = self.variance
        vw = max(len(s) for s in var.index)
        lines += ["", " " * vw + " " + " ".join(f"{c:>{cw}}" for c in var.columns)]
        for name, row in var.iterrows():
            lines.append(f"{name:<{vw}} " + " ".join(f"{v:>{cw}.{digits}f}" for v in row))
        if self.oblique and self.n_factors > 1:
            lines += ["", "With factor correlations of"]
            lines.append(" " * cw + " " + " ".join(f"{c:>{cw}}" for c in self.phi.columns))
            for name, row in self.phi.iterrows():
                lines.append(f"{name:<{cw}} " + " ".join(f"{v:>{cw}.{digits}f}" for v in row))
        lines += [
            "",
            f"Mean item complexity = {self.complexity.mean():.1f}",
            f"Test of the hypothesis that {self.n_factors} factor{'s are' if self.n_factors != 1 else ' is'} "
            "sufficient.",
            f"df null model = {fit['null_dof']:.0f} with the objective function = {fit['null_model']:.2f} "
            f"with Chi Square = {fit['null_chisq']:.2f}",
            f"df of the model are {fit['dof']:.0f} and the objective function was {fit['objective']:.2f}",
            "",
            f"The root mean square of the residuals (RMSR) is {fit['rms']:.2f}",
        ]
        if fit.get("crms") is not None:
            lines.append(f"The df corrected root mean square of the residuals is {fit['crms']:.2f}")
        lines.append("")
        if fit["dof"] > 0:
            lines += [
                f"The harmonic n.obs is {fit['nh']:.0f} with the empirical chi square {fit['chi']:.2f} "
                f"with prob {_fmt_p_lt(fit['EPVAL'])}",
                f"The total n.obs was {self.n_obs} with Likelihood Chi Square = {fit['STATISTIC']:.2f} "
                f"with prob {_fmt_p_lt(fit['PVAL'])}",
                "",
                f"Tucker Lewis Index of factoring reliability = {fit['TLI']:.3f}",
            ]
            if fit.get("RMSEA") is not None:
                pct = f"{fit['RMSEA_confidence']:.0%}"
                lines.append(
                    f"RMSEA index = {fit['RMSEA']:.3f} and the {pct} confidence interval is "
                    f"{format_number(fit['RMSEA_lower'])} {format_number(fit['RMSEA_upper'])}"
                )
                lines.append(f"BIC = {fit['BIC']:.2f}")
        else:
            lines.append(f"The model has {fit['dof']:.0f} degrees of freedom: no test of fit.")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(line.rstrip() for line in lines)


def _check_n_factors(n_factors: Any, p: int) -> int:
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
        raise FactorAnalysisError(f"n_factors must be a whole number, got {n_factors!r}")
    k = int(n_factors)
    if not 1 <= k < p:
        raise FactorAnalysisError(f"n_factors must be between 1 and {p - 1} for {p} items, got {k}")
    return k


def _efa_from_data(data: _Data, k: int, fm: str, rotation: str) -> EFAResult:
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if rotation not in ROTATIONS:
        raise FactorAnalysisError(f"rotate must be one of {', '.join(ROTATIONS)}, got {rotation!r}")
    r, names, p = data.r, data.names, len(data.names)
    if fm == "ml":
        _require_positive_definite(data, "maximum likelihood (fm='ml')")
    notes: list[str] = []
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    if dof < 0:
        notes.append(
            f"{k} factors for {p} items leave {dof:.0f} degrees of freedom: the model is not identified"
        )
    if data.eigenvalues[-1] <= 0:
        notes.append(
            "the pairwise correlation matrix is not positive definite; it was smoothed for the fit tests"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lam0, values, converged = _extract(r, k, fm)
        rot = rotate(lam0, rotation if k > 1 else "none")
    for w in caught:
        notes.append(str(w.message))
    converged = converged and rot.converged
    if fm == "pa" and not converged:
        notes.append("principal axis iterations stopped at psych's limit of 50")

    lam, phi, rotmat = rot.loadings, rot.phi, rot.rotmat
    sign = _sign_columns(lam)
    lam = lam * sign
    rotmat = rotmat * sign
    if phi is not None:
        phi = phi * np.outer(sign, sign)
    labels = np.array([f"{PREFIX[fm]}{i + 1}" for i in range(k)])
    if k > 1:
        ev = np.diag(lam.T @ lam) if phi is None else np.diag(phi @ lam.T @ lam)
        order = np.argsort(-ev, kind="stable")
        lam, labels, rotmat = lam[:, order], labels[order], rotmat[:, order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]
    model0 = lam0 @ lam0.T
    h2 = np.diag(model0).copy()
    u2 = np.diag(r) - h2
    fit = _fit_stats(r, lam, phi, data.n_obs, data.np_obs)
    oblique = phi is not None
    phi_full = phi if oblique else np.eye(k)
    vx = np.diag(phi_full @ lam.T @ lam)
    vtotal = float(np.sum(h2 + u2))
    variance = np.vstack([vx, vx / vtotal, np.cumsum(vx / vtotal), vx / vx.sum(), np.cumsum(vx / vx.sum())])
    rows = VARIANCE_ROWS if k > 1 else VARIANCE_ROWS[:2]
    complexity = (lam**2).sum(axis=1) ** 2 / (lam**4).sum(axis=1)
    if h2.max() > 1:
        heavy = [names[i] for i in np.flatnonzero(h2 > 1)]
        notes.append(
            f"ultra-Heywood case (communality above 1): {', '.join(heavy)}; examine the results carefully"
        )
    elif fm != "pa" and h2.max() >= 1 - PSI_BOUNDS[0] - 1e-6:
        heavy = [names[i] for i in np.flatnonzero(h2 >= 1 - PSI_BOUNDS[0] - 1e-6)]
        notes.append(f"Heywood case (uniqueness at its lower bound of .005): {', '.join(heavy)}")
    cols = list(labels)
    resid = r - lam @ phi_full @ lam.T
    return EFAResult(
        loadings=pd.DataFrame(lam, index=names, columns=cols),
        communalities=pd.Series(h2, index=names, name="h2"),
        uniquenesses=pd.Series(u2, index=names, name="u2"),
        complexity=pd.Series(complexity, index=names, name="com"),
        phi=pd.DataFrame(phi_full, index=cols, columns=cols),
        structure=pd.DataFrame(lam @ phi_full, index=names, columns=cols),
        variance=pd.DataFrame(variance[: len(rows)], index=rows, columns=cols),
        fit=fit,
        n_factors=k,
        fm=fm,
        rotation=rotation if k > 1 else "none",
        n_obs=data.n_obs,
        missing=data.missing,
        oblique=oblique,
        converged=converged,
        eigenvalues=pd.Series(data.eigenvalues, index=range(1, p + 1), name="e.values"),
        common_eigenvalues=pd.Series(values, index=range(1, p + 1), name="values"),
        residuals=pd.DataFrame(resid, index=names, columns=names),
        unrotated=pd.DataFrame(lam0, index=names, columns=[f"{PREFIX[fm]}{i + 1}" for i in range(k)]),
        rotmat=rotmat,
        correlation=pd.DataFrame(r, index=names, columns=names),
        notes=tuple(dict.fromkeys(notes)),
    )


def efa(
    items: pd.DataFrame,
    n_factors: int,
    *,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
) -> EFAResult:
    """Exploratory factor analysis, as ``psych::fa(items, n_factors, fm = fm, rotate = rotate)``.

    Parameters
    ----------
    items : DataFrame
        One numeric column per item (reverse keys applied), NaN = missing.
    n_factors : int
        Number of factors, 1 to (items - 1).
    fm : {"minres", "ml", "pa"}
        Extraction: minimum residual (psych's default; unweighted least
        squares with uniquenesses in [.005, 1] starting at ``1 - SMC``),
        maximum likelihood (the same bounds and start), or iterated principal
        axes (SMCs as starting communalities, iterated until their sum changes
        by less than .001, at most 50 times, as psych's ``fm = "pa"``).
    rotate : {"oblimin", "promax", "varimax", "geomin", "geominQ", "geominT", "quartimin", "none"}
        ``oblimin`` (GPArotation, quartimin criterion; psych's default),
        ``promax`` (psych's: Kaiser-normalized, power 4), ``varimax``
        (stats::varimax), ``geomin`` = ``geominQ`` (oblique, delta .01) and
        ``geominT`` (orthogonal).
    missing : {"pairwise", "listwise"}
        ``pairwise`` (psych's ``use = "pairwise"``) correlates each pair of
        items over the respondents who answered both; ``n_obs`` is then the
        number of rows, as in psych. ``listwise`` drops incomplete rows first
        (``psych::fa(na.omit(items))``).

    Returns
    -------
    EFAResult

    Raises
    ------
    FactorAnalysisError
        Non-numeric or constant items, too few respondents, a singular
        correlation matrix, an impossible number of factors.

    Notes
    -----
    As psych: columns of the unrotated and of the rotated loadings are signed
    so that their sums are positive, factors are ordered by the variance
    they account for (``diag(Phi L'L)``), and named by the extraction prefix
    and their number before that ordering (so ``MR2`` may come first).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> f = rng.normal(size=(500, 2))
    >>> load = np.kron(np.eye(2), np.full((1, 3), 0.7))
    >>> x = f @ load + rng.normal(size=(500, 6)) * 0.7
    >>> items = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> res = efa(items, 2, fm="ml", rotate="promax")
    >>> res.loadings.columns.tolist()
    ['ML1', 'ML2']
    >>> res.loadings.abs().idxmax().str[0].tolist()  # each factor's main item
    ['a', 'b']
    >>> res.fit["dof"], round(res.fit["RMSEA"], 3)
    (4.0, 0.0)
    >>> print(res.summary().splitlines()[0])
    Factor analysis using method = ml, rotation = promax (2 factors, 6 items, n = 500, missing = pairwise)
    """
    with _small_blas():
        data = _prepare(items, missing)
        k = _check_n_factors(n_factors, len(data.names))
        return _efa_from_data(data, k, fm, rotate)


# =========================================================================== parallel analysis


@dataclass(frozen=True, eq=False)
class ParallelResult(Result):
    """Horn's parallel analysis (psych::fa.parallel, ``fa = "both"``).

    ``pc_values``/``fa_values`` are the eigenvalues of the data's
    correlation matrix and of its reduced matrix (communalities of a
    one-factor ``fm`` solution on the diagonal, psych's default; or SMCs with
    ``smc=True``); ``scree`` has them with the means (``*_simulated``,
    ``*_resampled``) and ``quantile`` quantiles (``*_simulated_q``,
    ``*_resampled_q``) of the same eigenvalues over ``n_iter`` simulated
    normal data sets and ``n_iter`` resamples (each column resampled with
    replacement on its own). ``n_factors`` (psych ``nfact``) and
    ``n_components`` (``ncomp``) count the leading eigenvalues that exceed
    the simulated quantile.
    """

    n_factors: int
    n_components: int
    scree: pd.DataFrame
    n_iter: int
    seed: int | None
    fm: str
    smc: bool
    quantile: float
    n_obs: int
    missing: str
    simulated: np.ndarray = field(repr=False)
    resampled: np.ndarray = field(repr=False)

    @property
    def pc_values(self) -> pd.Series:
        return self.scree["pc_actual"]

    @property
    def fa_values(self) -> pd.Series:
        return self.scree["fa_actual"]

    def to_frame(self) -> pd.DataFrame:
        """The scree plot data: one row per factor/component number."""
        return self.scree.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "n_factors": self.n_factors,
                "n_components": self.n_components,
                "n_iter": self.n_iter,
                "seed": self.seed,
                "fm": self.fm,
                "smc": self.smc,
                "quantile": self.quantile,
                "n_obs": self.n_obs,
                "missing": self.missing,
                "scree": self.scree.reset_index().to_dict(orient="list"),
            }
        )

    def summary(self) -> str:
        q = f"{self.quantile:.0%}"
        lines = [
            f"Parallel analysis ({self.n_iter} simulated and {self.n_iter} resampled data sets, "
            f"seed = {self.seed}, n = {self.n_obs}, missing = {self.missing})",
            f"Parallel analysis suggests that the number of factors = {self.n_factors} "
            f"and the number of components = {self.n_components}",
            f"(eigenvalues of the data above the {q} quantile of simulated random data)",
            "",
        ]
        show = self.scree[["pc_actual", "pc_simulated_q", "fa_actual", "fa_simulated_q"]].head(
            max(self.n_factors, self.n_components) + 3
        )
        lines.append(show.to_string(float_format=lambda v: f"{v:.2f}"))
        return "\n".join(lines)


def _cor_batch(x: np.ndarray) -> np.ndarray:
    """Correlation matrices of complete data, batched over the first axis."""
    xc = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("bij,bik->bjk", xc, xc)
    d = 1.0 / np.sqrt(np.einsum("bjj->bj", cov))
    return cov * d[:, :, None] * d[:, None, :]


def _factor_values(r: np.ndarray, fm: str, smc: bool, *, pa_smc: bool) -> np.ndarray:
    """psych's ``fa(r, 1, fm)$values`` (or eigenvalues with SMCs on the diagonal)."""
    if smc:
        s = r.copy()
        np.fill_diagonal(s, moments.smc(r))
        return np.linalg.eigvalsh(s)[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _extract(r, 1, fm, pa_smc=pa_smc)[1]


def _count_above(actual: np.ndarray, threshold: np.ndarray) -> int:
    below = np.flatnonzero(~(actual > threshold))
    return int(below[0]) if below.size else int(actual.size)


def parallel_analysis(
    items: pd.DataFrame,
    *,
    n_iter: int = 20,
    seed: int | None = None,
    fm: Fm = "minres",
    smc: bool = False,
    quantile: float = 0.95,
    missing: Missing = "pairwise",
) -> ParallelResult:
    """Horn's parallel analysis for the number of factors and components (psych::fa.parallel).

    Parameters
    ----------
    items : DataFrame
    n_iter : int
        Simulated data sets, and resampled data sets, each (psych's ``n.iter``).
    seed : int, optional
        Seed of numpy's generator; results are reproducible with it but not
        comparable draw for draw with R's random numbers.
    fm : {"minres", "ml", "pa"}
        Extraction giving the factor eigenvalues (one factor, as psych).
    smc : bool
        Use SMCs on the diagonal for the factor eigenvalues instead of the
        one-factor communalities (psych's ``SMC = TRUE``).
    quantile : float
        The simulated eigenvalues' quantile the data must exceed (psych's ``quant``).
    missing : {"pairwise", "listwise"}

    Returns
    -------
    ParallelResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> f = rng.normal(size=(600, 3))
    >>> x = f @ np.kron(np.eye(3), np.full((1, 4), 0.7)) + rng.normal(size=(600, 12)) * 0.7
    >>> pa = parallel_analysis(pd.DataFrame(x), n_iter=10, seed=1)
    >>> pa.n_factors, pa.n_components
    (3, 3)
    >>> pa.scree.columns[:3].tolist()
    ['pc_actual', 'pc_simulated', 'pc_simulated_q']
    """
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise FactorAnalysisError(f"n_iter must be a positive whole number, got {n_iter!r}")
    if not 0 < quantile < 1:
        raise FactorAnalysisError(f"quantile must be in (0, 1), got {quantile!r}")
    with _small_blas():
        data = _prepare(items, missing)
        return _parallel_from_data(data, int(n_iter), seed, fm, smc, quantile)


def _parallel_from_data(
    data: _Data, n_iter: int, seed: int | None, fm: str, smc: bool, quantile: float
) -> ParallelResult:
    rng = np.random.default_rng(seed)
    x = data.x
    n, p = x.shape
    pc_actual = data.eigenvalues
    fa_actual = _factor_values(data.r, fm, smc, pa_smc=True)

    # Simulated: standard normal data of the same size (complete), batched.
    sim_pc = np.empty((n_iter, p))
    sim_fa = np.empty((n_iter, p))
    chunk = max(1, min(n_iter, 4_000_000 // max(n * p, 1)))
    for start in range(0, n_iter, chunk):
        b = min(chunk, n_iter - start)
        cors = _cor_batch(rng.standard_normal((b, n, p)))
        sim_pc[start : start + b] = np.linalg.eigvalsh(cors)[:, ::-1]
        for i in range(b):
            sim_fa[start + i] = _factor_values(cors[i], fm, smc, pa_smc=False)

    # Resampled: every column drawn with replacement on its own (psych's sample(y, n, replace = TRUE)).
    res_pc = np.empty((n_iter, p))
    res_fa = np.empty((n_iter, p))
    has_nan = bool(np.isnan(x).any())
    cols = np.arange(p)
    for i in range(n_iter):
        for _attempt in range(100):
            xs = x[rng.integers(0, n, size=(n, p)), cols]
            if has_nan:
                _, c, _ = pairwise_moments(xs)
            else:
                c = _cor_batch(xs[None])[0]
            if not np.isnan(c).any():
                break
        else:  # pragma: no cover - psych loops until it succeeds
            raise FactorAnalysisError("resampling kept producing items without variance; too few answers")
        res_pc[i] = np.linalg.eigvalsh(c)[::-1]
        res_fa[i] = _factor_values(c, fm, smc, pa_smc=False)

    def q(v: np.ndarray) -> np.ndarray:
        return np.quantile(v, quantile, axis=0)

    scree = pd.DataFrame(
        {
            "pc_actual": pc_actual,
            "pc_simulated": sim_pc.mean(axis=0),
            "pc_simulated_q": q(sim_pc),
            "pc_resampled": res_pc.mean(axis=0),
            "pc_resampled_q": q(res_pc),
            "fa_actual": fa_actual,
            "fa_simulated": sim_fa.mean(axis=0),
            "fa_simulated_q": q(sim_fa),
            "fa_resampled": res_fa.mean(axis=0),
            "fa_resampled_q": q(res_fa),
        },
        index=pd.RangeIndex(1, p + 1, name="number"),
    )
    return ParallelResult(
        n_factors=_count_above(fa_actual, scree["fa_simulated_q"].to_numpy()),
        n_components=_count_above(pc_actual, scree["pc_simulated_q"].to_numpy()),
        scree=scree,
        n_iter=n_iter,
        seed=seed,
        fm=fm,
        smc=smc,
        quantile=quantile,
        n_obs=data.n_obs,
        missing=data.missing,
        simulated=np.hstack([sim_pc, sim_fa]),
        resampled=np.hstack([res_pc, res_fa]),
    )


# =========================================================================== report


@dataclass(frozen=True, eq=False)
class FactorReport(Result):
    """KMO, Bartlett's test, parallel analysis and the EFA of one set of items (see :func:`factor_report`)."""

    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelResult | None
    efa: EFAResult
    n_factors_source: str
    instrument: str | None = None
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per item: loadings, h2, u2, complexity and the item's MSA."""
        out = self.efa.to_frame()
        out["msa"] = self.kmo.msa_items
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "instrument": self.instrument,
                "n_factors": self.efa.n_factors,
                "n_factors_source": self.n_factors_source,
                "kmo": self.kmo.to_dict(),
                "bartlett": self.bartlett.to_dict(),
                "parallel": None if self.parallel is None else self.parallel.to_dict(),
                "efa": self.efa.to_dict(),
                "notes": list(self.notes),
            }
        )

    def summary(self, cut: float = 0.3, *, sort: bool = True) -> str:
        title = (
            f"Exploratory factor analysis: {self.instrument}"
            if self.instrument
            else "Exploratory factor analysis"
        )
        parts = [title, "", self.kmo.summary(), "", self.bartlett.summary()]
        if self.parallel is not None:
            parts += ["", self.parallel.summary()]
        parts += ["", f"Number of factors: {self.efa.n_factors} ({self.n_factors_source})", ""]
        parts.append(self.efa.summary(cut, sort=sort))
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)


def _max_identified(p: int) -> int:
    k = 1
    while k + 1 < p and p * (p - 1) / 2 - p * (k + 1) + (k + 1) * k / 2 >= 0:
        k += 1
    return k


def factor_report(
    items: pd.DataFrame,
    n_factors: int | None = None,
    *,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
    n_iter: int = 20,
    seed: int | None = None,
    instrument: str | None = None,
) -> FactorReport:
    """KMO, Bartlett's test, parallel analysis and an EFA of the items, in one go.

    Parameters
    ----------
    items : DataFrame
        Keyed items (``score(...).keyed``), one column per item.
    n_factors : int, optional
        Factors to extract; by default parallel analysis's suggestion (at
        least 1, at most the largest identified number).
    fm, rotate, missing
        As for :func:`efa`.
    n_iter, seed
        As for :func:`parallel_analysis` (run even when ``n_factors`` is given).
    instrument : str, optional
        A label for the report.

    Returns
    -------
    FactorReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> f = rng.normal(size=(500, 2))
    >>> x = f @ np.kron(np.eye(2), np.full((1, 4), 0.7)) + rng.normal(size=(500, 8)) * 0.7
    >>> rep = factor_report(pd.DataFrame(x, columns=[f"q{i}" for i in range(8)]), seed=2, n_iter=10)
    >>> rep.efa.n_factors, rep.n_factors_source
    (2, 'parallel analysis')
    >>> sorted(rep.to_dict())
    ['bartlett', 'efa', 'instrument', 'kmo', 'n_factors', 'n_factors_source', 'notes', 'parallel']
    """
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise FactorAnalysisError(f"n_iter must be a positive whole number, got {n_iter!r}")
    with _small_blas():
        return _factor_report(items, n_factors, fm, rotate, missing, int(n_iter), seed, instrument)


def _factor_report(
    items: pd.DataFrame,
    n_factors: int | None,
    fm: str,
    rotate: str,
    missing: str,
    n_iter: int,
    seed: int | None,
    instrument: str | None,
) -> FactorReport:
    if n_factors is not None:  # an impossible number of factors is the first thing to say
        _check_n_factors(n_factors, _as_frame(items, "items").shape[1])
    data = _prepare(items, missing)
    p = len(data.names)
    _require_positive_definite(data, "the factor report (KMO and Bartlett's test)")
    msa, msai, image = _kmo_from_corr(data.r)
    kmo_res = KMOResult(
        msa,
        pd.Series(msai, index=data.names, name="msa"),
        data.n_obs,
        missing,
        pd.DataFrame(image, index=data.names, columns=data.names),
    )
    chisq, df, pv = _bartlett_from_corr(data.r, data.n_obs)
    bart = BartlettResult(chisq, df, pv, data.n_obs, p, missing)
    par = _parallel_from_data(data, n_iter, seed, fm, False, 0.95)
    notes: list[str] = []
    if n_factors is None:
        k = par.n_factors
        source = "parallel analysis"
        if k < 1:
            k = 1
            notes.append("parallel analysis suggested no factor; one factor was extracted")
        top = _max_identified(p)
        if k > top:
            notes.append(f"parallel analysis suggested {k} factors; {top} is the most {p} items identify")
            k = top
    else:
        k = _check_n_factors(n_factors, p)
        source = "given"
    if kmo_res.msa < 0.6:
        notes.append(f"overall MSA {kmo_res.msa:.2f} is below .60: the items may not suit factor analysis")
    return FactorReport(
        kmo=kmo_res,
        bartlett=bart,
        parallel=par,
        efa=_efa_from_data(data, k, fm, rotate),
        n_factors_source=source,
        instrument=instrument,
        notes=tuple(notes),
    )


def instrument_factor_report(
    instruments: Any,
    responses: Any,
    *,
    n_factors: int | None = None,
    subscales: Sequence[str] | None = None,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
    n_iter: int = 20,
    seed: int | None = None,
    id_column: str | None = None,
    wave_column: str | None = None,
    **reading: Any,
) -> FactorReport:
    """Read, validate and score responses as ``sdt-survey score`` does, then run :func:`factor_report`.

    The items analysed are the keyed items of the instruments' subscales (all
    subscales, or those named in ``subscales``), in instrument order.

    Parameters
    ----------
    instruments, responses, id_column, wave_column
        As for :func:`sdt_survey.score`; ``reading`` takes its other reading
        options (``source``, ``mapping``, ``invalid``, ``duplicates``).
    n_factors, fm, rotate, missing, n_iter, seed
        As for :func:`factor_report`. Without ``n_factors``, parallel analysis chooses.
    subscales : list of str, optional

    Returns
    -------
    FactorReport
    """
    from ..scoring import score

    scored = score(instruments, responses, id_column=id_column, wave_column=wave_column, **reading)
    wanted = None if subscales is None else {str(s) for s in subscales}
    items: list[str] = []
    found: set[str] = set()
    for inst in scored.instruments:
        for sid, sub in inst.subscales.items():
            if wanted is None or sid in wanted:
                found.add(sid)
                items += [i for i in sub.items if i not in items]
    if wanted is not None and wanted - found:
        raise FactorAnalysisError(f"unknown subscales: {', '.join(sorted(wanted - found))}")
    if not items:
        raise FactorAnalysisError("the instruments define no subscale items to factor analyse")
    label = ", ".join(f"{inst.id} {inst.version}" for inst in scored.instruments)
    frame = scored.keyed[items].reset_index(drop=True)
    return factor_report(
        frame, n_factors, fm=fm, rotate=rotate, missing=missing, n_iter=n_iter, seed=seed, instrument=label
    )


def _fmt_p_lt(p: float | None) -> str:
    text = _fmt_p(p)
    return text if text.startswith("<") else f"< {text}"


def _fmt_p_eq(p: float | None) -> str:
    text = _fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    if p == 0:
        return "< 1e-300"
    return f"{p:.2g}"


__all__ = [
    "FMS",
    "ROTATIONS",
    "BartlettResult",
    "EFAResult",
    "FactorAnalysisError",
    "FactorReport",
    "KMOResult",
    "ParallelResult",
    "bartlett",
    "efa",
    "factor_report",
    "instrument_factor_report",
    "kmo",
    "parallel_analysis",
]
