"""The one JSON-safe converter every result's to_dict() goes through."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from sdt_survey.reliability import alpha
from sdt_survey.results import jsonable


def test_one_rule_for_nan_and_infinities_everywhere():
    value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "na": pd.NA, "nat": pd.NaT, "x": np.float32(0.5)}
    assert jsonable(value) == {"nan": None, "inf": None, "-inf": None, "na": None, "nat": None, "x": 0.5}


def test_containers_keys_and_plain_types():
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    out = jsonable({("g", 1): frame, 2: pd.Series({"x": np.int64(3)}), "d": dt.date(2026, 1, 2)})
    assert out == {"g|1": [{"a": 1, "b": 0.5}, {"a": 2, "b": None}], "2": {"x": 3}, "d": "2026-01-02"}
    assert jsonable(np.array([True, False])) == [True, False] and jsonable(object) == str(object)


def test_a_result_with_an_infinite_figure_is_still_strict_json():
    # Two identical items: alpha's signal/noise ratio is infinite; the reliability table used to keep inf.
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [1, 2, 3, 4, 5, 2]}, dtype=float)
    text = json.dumps(alpha(items).to_dict(), allow_nan=False)
    assert "Infinity" not in text
