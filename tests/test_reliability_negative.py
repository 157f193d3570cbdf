"""Reliability when items pull against each other: psych's answer, never a crash.

``tests/goldens/psych_alpha_negative.json`` is made by
``tests/goldens/psych_alpha_negative.R`` (psych::alpha): a complete data set
whose average correlation is negative, and pairwise-complete data whose sum of
correlations is negative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey.cli import cli
from sdt_survey.reliability import alpha

GOLDEN = json.loads((Path(__file__).parent / "goldens" / "psych_alpha_negative.json").read_text())
TOTAL = {"raw_alpha": "alpha", "std.alpha": "alpha_std", "G6(smc)": "g6", "average_r": "average_r",
         "S/N": "signal_noise", "ase": "alpha_se", "mean": "mean", "median_r": "median_r"}  # fmt: skip


def close(ours: float, theirs: float | None) -> bool:
    if theirs is None:
        return ours is None or not math.isfinite(ours)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", ["negative", "pairwise_negative_sum"])
def test_alpha_gives_psychs_answer_when_items_pull_against_each_other(name):
    golden = GOLDEN[name]
    data = pd.DataFrame(golden["data"]).astype(float)
    with pytest.warns(UserWarning, match="should be reversed"):
        result = alpha(data)
    for psych_name, ours in TOTAL.items():
        assert close(getattr(result, ours), golden["total"][psych_name]), (psych_name, getattr(result, ours))
    drop = result.alpha_drop
    for ours, psych_name in [("raw_alpha", "raw_alpha"), ("std_alpha", "std.alpha"), ("average_r",) * 2]:
        pairs = zip(drop[ours], golden["alpha_drop"][psych_name], strict=True)
        assert all(close(a, b) for a, b in pairs), ours
    assert all(close(a, b) for a, b in zip(result.item_stats["r_drop"], golden["r_drop"], strict=True))
    assert golden["reversed_warning"] and any("should be reversed" in w for w in result.warnings)


def test_the_cli_says_it_plainly(tmp_path):
    (tmp_path / "pull.yaml").write_text(
        "schema_version: 1\nid: pull\nversion: '1.0.0'\ntitle: Items that pull apart (test)\n"
        "languages: [en]\nscales:\n  five: {values: [1, 2, 3, 4, 5], labels: ['1', '2', '3', '4', '5']}\n"
        "items:\n"
        "  - {id: a, text: A., scale: five}\n  - {id: b, text: B., scale: five}\n"
        "  - {id: c, text: C., scale: five}\nsubscales:\n  s: {label: S, items: [a, b, c]}\n",
        encoding="utf-8",
    )
    for name in ("negative", "pairwise_negative_sum"):
        data = pd.DataFrame(GOLDEN[name]["data"]).astype("Int64")
        data.insert(0, "id", range(1, len(data) + 1))
        data.to_csv(tmp_path / f"{name}.csv", index=False)
        result = CliRunner().invoke(
            cli,
            ["reliability", str(tmp_path / "pull.yaml"), str(tmp_path / f"{name}.csv"), "--id-column", "id"],
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert sum("should be reversed" in line for line in lines) == 1, result.output
        assert not [line for line in lines if "Warning" in line or ".py:" in line or "Traceback" in line]
