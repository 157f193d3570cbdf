"""Test-retest reliability: an intraclass correlation of one score measured twice (pingouin)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReliabilityError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_interval as fmt_ci
from ..results import format_number as fmt
from ._common import frame_text


@dataclass(frozen=True, eq=False)
class TestRetestResult(Result):
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
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        skip = ("table", "__test__", "warnings", "notes")
        values = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        return jsonable({**values, **message_fields(self)})

    def summary(self) -> str:
        return "\n".join(
            [
                f"Test-retest reliability, n = {self.n} respondents with both measurements",
                f" {self.form} ({_ICC_FORMS[self.form][1]}) = {fmt(self.icc)}  95% CI {fmt_ci(self.ci)}",
                f" F({self.df1}, {self.df2:g}) = {self.f:.3f}, p = {self.p_value:.4g};  "
                f"Pearson r = {fmt(self.pearson_r)}",
                "",
                frame_text(self.table.drop(columns=["CI95"]), 3),
                *message_lines(self),
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
