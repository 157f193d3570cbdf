"""Examples of the reliability result classes, for the contract test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sdt_survey import reliability as rel


def _items(seed: int = 1, n: int = 200, k: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 1))
    return pd.DataFrame(np.round(3 + trait + rng.normal(size=(n, k))), columns=[f"q{i}" for i in range(k)])


def _reversed_items() -> pd.DataFrame:
    items = _items(2)
    items["q3"] = 6 - items["q3"]  # one item left unreversed: alpha warns
    return items


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _report(_tmp):
    items = _items(3, k=6).set_axis(["a1", "a2", "a3", "b1", "b2", "b3"], axis=1)
    items["b3"] = 6 - items["b3"]
    return _quiet(rel.reliability_table, items, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]})


def _survey(_tmp):
    return rel.SurveyReliability((_report(_tmp),))


def _retest(_tmp):
    rng = np.random.default_rng(8)
    t = rng.normal(size=60)
    return rel.test_retest(pd.Series(t + rng.normal(size=60) / 2), pd.Series(t + rng.normal(size=60) / 2))


def _group(_tmp):
    rng = np.random.default_rng(7)
    g = pd.Series(np.repeat(np.arange(10), 12))
    return rel.group_reliability(pd.Series(rng.normal(size=10)[g] + rng.normal(size=120), name="score"), g)


EXAMPLES = {
    "sdt_survey.reliability.cronbach.AlphaResult": lambda _tmp: _quiet(rel.alpha, _reversed_items()),
    "sdt_survey.reliability.mcdonald.OmegaResult": lambda _tmp: _quiet(rel.omega, _items(4, k=6), nfactors=2),
    "sdt_survey.reliability.guttman.SplitHalfResult": lambda _tmp: _quiet(rel.split_half, _reversed_items()),
    "sdt_survey.reliability.ordinal.PolychoricResult": lambda _tmp: _quiet(
        rel.polychoric, _items(5).clip(1, 5)
    ),
    "sdt_survey.reliability.group.GroupReliabilityResult": _group,
    "sdt_survey.reliability.retest.TestRetestResult": _retest,
    "sdt_survey.reliability.report.ReliabilityReport": _report,
    "sdt_survey.reliability.report.SurveyReliability": _survey,
}
