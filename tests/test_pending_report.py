"""The report's table built on another thread while scoring goes on (issue 17).

Validation hands the report a table still being put in order
(``IssueLines.table_later``); what scoring needs at once, whether an error
blocks it and the lines of a few problems, comes from the lines themselves.
Each answer must equal the one the built table gives, and the table itself
the one built at once.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.responses import issue_lines, responses_from_frame, validate_responses
from sdt_survey.responses.quality import DataQualityReport
from sdt_survey.stats import threads

BPN = sdt_survey.load_instrument("bpn-residency")


def _hostile(n: int = 2000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 6, size=(n, len(BPN.item_ids))).astype(float)
    values[rng.random(values.shape) < 0.05] = np.nan
    frame = pd.DataFrame(values, columns=BPN.item_ids)
    frame["as1"] = frame["as1"].astype(object)
    frame.loc[::41, "as1"] = "x"
    frame.loc[[9, 400], "rs4"] = 9.0
    frame.insert(0, "id", [f"r{i % (n - 3)}" for i in range(n)])
    return frame


def _line(problem, severity="error", **fields) -> dict:
    base = {"row": None, "respondent": None, "column": None, "item": None, "value": None, "message": "m"}
    return {**base, "problem": problem, "severity": severity, "action": "kept", **fields}


def _lines() -> issue_lines.IssueLines:
    lines = issue_lines.IssueLines()
    values = np.array(["a", "b", "c"], dtype=object)
    lines.add(3, _line("duplicate_id", row=np.array([4, 2, 9]), column="q", item="q", value=values))
    problems = np.array(["duplicate_id", "missing_id", "duplicate_id"], dtype=object)
    lines.add(3, _line(problems, row=np.array([1, 2, 3]), item="z", value="", message=["x", "y", "z"]))
    lines.add_record(_line("drift_stamp", "info", column="c"))
    return lines


def test_retag_gives_the_table_a_later_assignment_gives():
    lines = _lines()
    table = lines.table()
    table.loc[table["problem"] == "duplicate_id", "severity"] = "warning"
    lines.retag("duplicate_id", "warning")
    pd.testing.assert_frame_equal(lines.table(), table, check_exact=True)
    assert lines.kinds() == set(zip(table["problem"], table["severity"], strict=True))


@pytest.mark.parametrize("problems", [["duplicate_id"], ["missing_id", "drift_stamp"], ["none"]])
def test_the_lines_of_some_problems_are_those_of_the_table(problems):
    lines = _lines()
    table = lines.table()
    expected = table[table["problem"].isin(problems)].reset_index(drop=True)
    got = lines.of(problems).table()
    assert got.to_dict("list") == expected.to_dict("list")


@pytest.mark.parametrize(
    "options",
    [
        {"invalid": "error", "duplicates": "error"},
        {"invalid": "as-missing", "duplicates": "keep-all"},
        {"invalid": "error", "duplicates": "keep-first"},
    ],
)
def test_a_pending_report_answers_as_the_built_one(monkeypatch, options):
    monkeypatch.setattr(threads, "THREAD_MIN_SIZE", 0)  # threads at any size
    read = responses_from_frame(_hostile(), [BPN])
    pending = validate_responses(read, [BPN], id_column="id", **options).report
    assert isinstance(pending.__dict__["issues"], issue_lines.PendingTable)
    answers = (
        pending.has_blocking_errors,
        pending.has_drift_errors,
        pending.lines_of(["unknown_label", "out_of_range"]).to_dict("list"),
    )
    built = pending.built()
    assert not isinstance(built.__dict__["issues"], issue_lines.PendingTable)
    issues = built.issues
    subset = issues[issues["problem"].isin(["unknown_label", "out_of_range"])].reset_index(drop=True)
    assert answers == (built.has_blocking_errors, built.has_drift_errors, subset.to_dict("list"))
    assert answers[0] == (options["invalid"] == "error")
    # The same table as built at once, and a copy of the report carries it.
    plain = validate_responses(read, [BPN], id_column="id", **options).report.issues
    pd.testing.assert_frame_equal(issues, plain, check_exact=True)
    assert dataclasses.replace(built, path="x").issues is issues
    # A pickle or a copy of a report still being built holds the table, not the thread.
    again = validate_responses(read, [BPN], id_column="id", **options).report
    assert isinstance(again.__dict__["issues"], issue_lines.PendingTable)
    for copied in (pickle.loads(pickle.dumps(again)), copy.deepcopy(again)):
        pd.testing.assert_frame_equal(copied.issues, plain, check_exact=True)
    assert isinstance(built, DataQualityReport) and len(issues) > 100


@pytest.mark.parametrize(
    "options", [{}, {"invalid": "as-missing", "duplicates": "keep-all", "flag_careless": True}]
)
def test_scoring_on_threads_gives_what_scoring_on_one_thread_gives(monkeypatch, options):
    """Below THREAD_MIN_SIZE rows everything runs on the calling thread; forced onto threads, the same."""
    frame = _hostile()
    if not options:
        frame = frame.drop(columns="id")
        frame["as1"] = pd.to_numeric(frame["as1"], errors="coerce")
        frame.loc[[9, 400], "rs4"] = 2.0
    inline = sdt_survey.score(BPN, frame, id_column="id" if options else None, **options)
    monkeypatch.setattr(threads, "THREAD_MIN_SIZE", 0)
    threaded = sdt_survey.score(BPN, frame, id_column="id" if options else None, **options)
    pd.testing.assert_frame_equal(inline.scores, threaded.scores, check_exact=True)
    pd.testing.assert_frame_equal(inline.keying, threaded.keying, check_exact=True)
    pd.testing.assert_frame_equal(inline.report.issues, threaded.report.issues, check_exact=True)
    assert "mahalanobis_p" in threaded.scores and threaded.scores["evenodd"].notna().any()
