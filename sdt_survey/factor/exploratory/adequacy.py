"""Is the correlation matrix worth factoring? Kaiser-Meyer-Olkin (psych::KMO) and Bartlett's test."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import FactorAnalysisError
from ...results import Result, jsonable, message_fields, message_lines
from ...stats.moments import cov2cor
from ...stats.threads import single_blas_thread
from ._input import Missing, prepare, require_positive_definite
from ._text import format_p_eq, source_text

#: Kaiser's (1974) labels of the measure of sampling adequacy.
MSA_LABELS = (
    (0.9, "marvelous"),
    (0.8, "meritorious"),
    (0.7, "middling"),
    (0.6, "mediocre"),
    (0.5, "miserable"),
    (-math.inf, "unacceptable"),
)


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
    n_obs: int | None
    missing: str
    anti_image: pd.DataFrame = field(repr=False)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

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
                **message_fields(self),
            }
        )

    def summary(self) -> str:
        lines = [
            f"Kaiser-Meyer-Olkin factor adequacy ({source_text(self.n_obs, self.missing)})",
            f"Overall MSA = {self.msa:.2f} ({self.label})",
            "MSA for each item:",
        ]
        width = max(len(s) for s in self.msa_items.index)
        low = [n for n, v in self.msa_items.items() if v < 0.6]
        lines += [f"  {n:<{width}}  {v:.2f}" for n, v in self.msa_items.items()]
        if low:
            lines.append(f"items with MSA below .60 (consider dropping): {', '.join(low)}")
        lines += message_lines(self)
        return "\n".join(lines)


def kmo_from_correlation(r: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
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


def kmo(items: pd.DataFrame, *, missing: Missing = "pairwise", n_obs: int | None = None) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, overall and per item (psych::KMO).

    ``MSA = Σr² / (Σr² + Σq²)`` over the off-diagonal correlations ``r`` and
    partial correlations ``q`` (from the inverse correlation matrix); an
    item's MSA uses its own column.

    Parameters
    ----------
    items : DataFrame
        One numeric column per item (NaN = missing); or a correlation matrix
        (``psych::KMO(r)``; a covariance matrix is turned into correlations).
    missing : {"pairwise", "listwise"}
        psych::KMO on raw data uses ``cor(x, use = "pairwise")``.
    n_obs : int, optional
        With a matrix, the respondents behind it (reported only).

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
    with single_blas_thread():
        data = prepare(items, missing, min_items=2, n_obs=n_obs)
        require_positive_definite(data, "KMO")
        msa, msai, image = kmo_from_correlation(data.r)
    return KMOResult(
        msa=msa,
        msa_items=pd.Series(msai, index=data.names, name="msa"),
        n_obs=data.n_obs,
        missing=data.missing,
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
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        values = self.to_dict()
        return pd.DataFrame([{k: v for k, v in values.items() if k not in ("warnings", "notes")}])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
                "n_obs": self.n_obs,
                "n_items": self.n_items,
                "missing": self.missing,
                **message_fields(self),
            }
        )

    def summary(self) -> str:
        verdict = (
            "the items are correlated enough to factor"
            if self.p_value < 0.05
            else "the correlations do not differ from zero: factoring is not warranted"
        )
        lines = [
            f"Bartlett's test of sphericity ({self.n_items} items, {source_text(self.n_obs, self.missing)})",
            f"chi-square = {self.chisq:.2f}, df = {self.df}, p {format_p_eq(self.p_value)}: {verdict}",
            *message_lines(self),
        ]
        return "\n".join(lines)


def bartlett_from_correlation(r: np.ndarray, n: int) -> tuple[float, int, float]:
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    stat = -logdet * (n - 1 - (2 * p + 5) / 6) if sign > 0 else math.nan
    df = p * (p - 1) // 2
    return float(stat), df, float(stats.chi2.sf(stat, df))


def bartlett(
    items: pd.DataFrame, *, missing: Missing = "pairwise", n_obs: int | None = None
) -> BartlettResult:
    """Bartlett's test of sphericity (psych::cortest.bartlett on ``cor(x, use = "pairwise")``).

    ``n`` is the number of rows (psych's convention), ``det R`` is computed
    as a log-determinant.

    Parameters
    ----------
    items : DataFrame
        One column per item, or a correlation (or covariance) matrix with ``n_obs``.
    missing : {"pairwise", "listwise"}
    n_obs : int
        With a matrix, the respondents behind it: required (psych's
        ``cortest.bartlett(r, n = )``, which would assume 100 with a warning).

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
    >>> bartlett(pd.DataFrame(g + rng.normal(size=(300, 4)), columns=list("abcd")).corr(), n_obs=300).df
    6
    """
    with single_blas_thread():
        data = prepare(items, missing, min_items=2, n_obs=n_obs)
        if data.n_obs is None:
            raise FactorAnalysisError(
                "Bartlett's test of a correlation matrix needs n_obs, the number of respondents behind it"
            )
        require_positive_definite(data, "Bartlett's test")
        chisq, df, pv = bartlett_from_correlation(data.r, data.n_obs)
    return BartlettResult(chisq, df, pv, data.n_obs, len(data.names), data.missing)
