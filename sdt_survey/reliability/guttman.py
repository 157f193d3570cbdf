"""Split-half reliability as psych::splitHalf computes it: lambda 4, beta and the mean split."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_number as fmt
from ..stats.moments import cov2cor, pairwise_moments, smc
from ._common import item_matrix, require_finite, warn
from .coefficient import Coefficient


@dataclass(frozen=True, eq=False)
class SplitHalfResult(Result):
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
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

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
                **message_fields(self),
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
            f" Maximum split half reliability (lambda 4) = {fmt(self.max_split, 2)}",
            f" Guttman lambda 6                          = {fmt(self.lambda6, 2)}",
            f" Average split half reliability            = {fmt(self.mean_split, 2)}",
            f" Guttman lambda 3 (alpha)                  = {fmt(self.alpha, 2)}",
            f" Guttman lambda 2                          = {fmt(self.lambda2, 2)}",
            f" Minimum split half reliability  (beta)    = {fmt(self.min_split, 2)}",
            f" Average interitem r = {fmt(self.average_r, 2)}  with median = {fmt(self.median_r, 2)}",
            f" 2.5%, 50%, 97.5% of the splits: {', '.join(fmt(q, 2) for q in self.quantiles)}",
            f" best split:  {' + '.join(self.best_split[0])}  |  {' + '.join(self.best_split[1])}",
        ]
        if self.reversed_items:
            lines.append(
                f" reversed (negatively correlated with the total): {', '.join(self.reversed_items)}"
            )
        lines += message_lines(self)
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
    x = item_matrix(items)
    names = [str(c) for c in items.columns]
    n = len(names)
    cov, _, _ = pairwise_moments(x)
    require_finite(cov, names, "covariance")
    r = cov2cor(cov)
    keys = np.ones(n)
    messages: list[str] = []
    if check_keys:
        _, vecs = np.linalg.eigh(r)
        first = vecs[:, -1] * (1 if vecs[:, -1].sum() >= 0 else -1)
        keys[first < 0] = -1
        if (keys < 0).any():
            warn(
                messages,
                "some items were negatively correlated with the total scale and were automatically reversed",
                stacklevel=2,
            )
    r = r * np.outer(keys, keys)
    sumr = r.sum()
    off = r - np.diag(np.diag(r))
    sum_off = sumr - np.trace(r)
    alpha_v = sum_off / sumr * n / (n - 1)
    lambda6 = (sum_off + smc(r).sum()) / sumr
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
        warnings=tuple(messages),
    )


#: Lambda 4 and beta of each subscale in the instrument report (listed in :mod:`.table`).
SPLIT_HALF = Coefficient(
    key="split_half",
    title="Split-half (lambda 4 = best split, beta = worst)",
    compute=lambda items, options: split_half(items, seed=options.seed),
    to_dict=lambda r: {
        "lambda4": r.max_split,
        "beta": r.min_split,
        "mean": r.mean_split,
        "n_splits": r.n_splits,
    },
    columns=lambda r: {"lambda4": r.max_split, "beta": r.min_split},
    describe=lambda r: f"lambda4 {fmt(r.max_split)}  beta {fmt(r.min_split)}",
)
