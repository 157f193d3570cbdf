"""Small real results of sdt_survey.mixed, for the contract test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sdt_survey.mixed import JoinReport, ModelResult, join_exposure, model_relatedness


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of 60 residents in 6 programs, and exposure for 58 of them plus 2 strangers."""
    rng = np.random.default_rng(3)
    ids = [f"R{i:03d}" for i in range(60)]
    exposure = pd.DataFrame({"resident": [*ids[:58], "X1", "X2"], "coc": rng.uniform(0, 1, 60)})
    scores = pd.DataFrame({"resident": ids, "program": np.repeat(list("ABCDEF"), 10)})
    scores["relatedness_satisfaction"] = 3 + rng.normal(size=60)
    return scores, exposure


def model_result(_: Path) -> ModelResult:
    """A fit with warnings (rows that did not join, a singular fit) and notes."""
    scores, exposure = _tables()
    result = model_relatedness(
        scores, exposure, "relatedness_satisfaction ~ coc + (1|program)", id_column="resident"
    )
    assert result.warnings
    return result


def join_report(_: Path) -> JoinReport:
    """A join in which two score rows and two exposure ids find no partner (two warnings)."""
    scores, exposure = _tables()
    _, report = join_exposure(scores, exposure, id_column="resident")
    assert report.warnings
    return report


EXAMPLES = {
    "sdt_survey.mixed.results.ModelResult": model_result,
    "sdt_survey.mixed.join.JoinReport": join_report,
}
