"""Reliability of group means: ICC(1), ICC(2) and the design effect (psych::statsBy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ReliabilityError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_interval as fmt_ci
from ..results import format_number as fmt
from ._common import check_confidence


@dataclass(frozen=True, eq=False)
class GroupReliabilityResult(Result):
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
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def _values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("warnings", "notes")}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({**self._values(), **message_fields(self)})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([jsonable(self._values())], index=[self.name or "score"])

    def summary(self) -> str:
        pct = f"{self.confidence:.0%}"
        return "\n".join(
            [
                f"Group reliability of {self.name or 'the score'}: n = {self.n} in {self.n_groups} groups "
                f"(mean size {self.mean_group_size:.1f})",
                f" ICC(1) = {fmt(self.icc1)}  {pct} CI {fmt_ci(self.ci_icc1)}",
                f" ICC(2) = {fmt(self.icc2)}  {pct} CI {fmt_ci(self.ci_icc2)}",
                f" F({self.df_between}, {self.df_within:g}) = {self.f:.3f}, p = {self.p_value:.4g}",
                f" design effect = {fmt(self.design_effect)}",
                *message_lines(self),
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
    check_confidence(confidence)
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
