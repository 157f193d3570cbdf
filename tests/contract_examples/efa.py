"""Examples of the exploratory factor analysis result classes, for the contract test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdt_survey.factor import exploratory


def _items() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    f = rng.normal(size=(300, 2))
    x = f @ np.kron(np.eye(2), np.full((1, 3), 0.7)) + rng.normal(size=(300, 6)) * 0.7
    return pd.DataFrame(x, columns=list("abcdef"))


EXAMPLES = {
    "sdt_survey.factor.exploratory.adequacy.KMOResult": lambda _tmp: exploratory.kmo(_items()),
    "sdt_survey.factor.exploratory.adequacy.BartlettResult": lambda _tmp: exploratory.bartlett(_items()),
    # 4 factors of 6 items leave negative degrees of freedom: the result carries a note.
    "sdt_survey.factor.exploratory.model.EFAResult": lambda _tmp: exploratory.efa(_items(), 4),
    "sdt_survey.factor.exploratory.parallel.ParallelResult": lambda _tmp: exploratory.parallel_analysis(
        _items(), n_iter=5, seed=1
    ),
    "sdt_survey.factor.exploratory.report.FactorReport": lambda _tmp: exploratory.factor_report(
        _items(), n_iter=5, seed=1, instrument="demo 1.0"
    ),
}
