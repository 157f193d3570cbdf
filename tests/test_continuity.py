"""Continuity indices from schedules: exact against R, by hand, by property, and at the boundary.

Expected values in the hand-computed tests are written from the formulas
(the comment next to each says how), not from running the code.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdt_survey
from sdt_survey.continuity import (
    ContinuityError,
    continuity_indices,
    indices_from_codes,
    self_reported_exposure,
)
from sdt_survey.errors import SdtSurveyError
from sdt_survey.simulate import simulate
from tests.conftest import REFERENCE

SDT_SIM = REFERENCE / "sdt-sim"
RESIDENT = {"learner_column": "resident", "time_column": "session_date"}


def frame(rows: list[tuple], columns: tuple[str, ...] = ("learner", "faculty", "date")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def one(result, **where) -> pd.Series:
    """The single row of ``result.indices`` matching ``where``."""
    table = result.indices
    mask = np.ones(len(table), bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    assert mask.sum() == 1, (where, table)
    return table[mask].iloc[0]


# --------------------------------------------------------------------------- R reference (simulate.R)


@pytest.mark.skipif(not (SDT_SIM / "schedule.csv").is_file(), reason="tests/data/reference is missing")
@pytest.mark.parametrize("as_frame", [False, True])
def test_reproduces_the_r_truth_to_1e12(as_frame):
    source = pd.read_csv(SDT_SIM / "schedule.csv") if as_frame else SDT_SIM / "schedule.csv"
    result = continuity_indices(source, **RESIDENT, assigned_column="assigned")
    truth = pd.read_csv(SDT_SIM / "continuity_truth.csv")
    assert len(result.indices) == len(truth) == 408
    assert result.report.empty and result.n_sessions == len(pd.read_csv(SDT_SIM / "schedule.csv"))
    merged = truth.merge(result.indices, on="resident", suffixes=("_r", ""), validate="one_to_one")
    assert (merged["n_sessions"] == merged["n_sessions_r"]).all()
    assert (merged["n_faculty"] == merged["n_faculty_r"]).all()
    for index in ("upc", "coc", "secon", "mmci"):
        np.testing.assert_allclose(merged[index], merged[f"{index}_r"], rtol=0, atol=1e-12, err_msg=index)
    assert list(result.indices.columns[:2]) == ["resident", "n_sessions"]


# --------------------------------------------------------------------------- hand-computed indices

# r1: faculty A, A, B, A, C on five weekly dates; assigned preceptor A.
HAND = frame(
    [
        ("r1", "A", "2025-07-01", "A"),
        ("r1", "A", "2025-07-08", "A"),
        ("r1", "B", "2025-07-15", "A"),
        ("r1", "A", "2025-07-22", "A"),
        ("r1", "C", "2025-07-29", "A"),
    ],
    ("learner", "faculty", "date", "assigned"),
)


def test_each_index_on_a_a_b_a_c():
    row = one(continuity_indices(HAND, assigned_column="assigned"), learner="r1")
    assert row["n_sessions"] == 5 and row["n_faculty"] == 3  # N = 5; A 3, B 1, C 1; M = 3
    assert row["first"] == pd.Timestamp("2025-07-01") and row["last"] == pd.Timestamp("2025-07-29")
    assert row["duration_days"] == 28
    assert row["assigned"] == "A"
    assert row["upc"] == pytest.approx(3 / 5, abs=1e-15)  # 3 of 5 sessions with A
    assert row["mfpc"] == pytest.approx(3 / 5, abs=1e-15)  # A is also the most seen
    assert row["coc"] == pytest.approx((9 + 1 + 1 - 5) / (5 * 4), abs=1e-15)  # 6/20 = 0.3
    assert row["hhi"] == pytest.approx(0.6**2 + 0.2**2 + 0.2**2, abs=1e-15)  # 0.44
    assert row["mmci"] == pytest.approx((1 - 3 / 5.1) / (1 - 1 / 5.1), abs=1e-15)  # 2.1/4.1
    assert row["secon"] == pytest.approx(1 / 4, abs=1e-15)  # pairs AA, AB, BA, AC: one the same
    h = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))  # 0.9503 nats
    assert row["entropy"] == pytest.approx(h, abs=1e-15)
    assert row["entropy_norm"] == pytest.approx(h / math.log(3), abs=1e-15)
    assert row["notes"] == ""


def test_upc_and_mfpc_differ_when_the_assigned_preceptor_is_not_the_most_seen():
    data = HAND.assign(assigned="B")
    row = one(continuity_indices(data, assigned_column="assigned"), learner="r1")
    assert row["upc"] == pytest.approx(1 / 5) and row["mfpc"] == pytest.approx(3 / 5)


def test_one_faculty_member_is_perfect_continuity():
    data = frame([("r", "A", f"2025-07-0{d}") for d in range(1, 5)])
    row = one(continuity_indices(data), learner="r")
    assert (row["mfpc"], row["coc"], row["hhi"], row["mmci"], row["secon"]) == (1, 1, 1, 1, 1)
    assert row["entropy"] == 0 and row["entropy_norm"] == 0  # defined as 0 when M = 1


def test_all_different_faculty_is_minimal_continuity():
    data = frame([("r", f, f"2025-07-0{d}") for d, f in enumerate("ABCD", start=1)])
    row = one(continuity_indices(data), learner="r")
    assert row["coc"] == 0 and row["secon"] == 0 and row["hhi"] == pytest.approx(1 / 4)
    assert row["mfpc"] == pytest.approx(1 / 4)
    assert row["mmci"] == pytest.approx((1 - 4 / 4.1) / (1 - 1 / 4.1))  # 0.1/3.1, not 0
    assert row["entropy"] == pytest.approx(math.log(4)) and row["entropy_norm"] == pytest.approx(1)


def test_one_session_leaves_coc_and_secon_undefined_with_the_reason():
    result = continuity_indices(frame([("r", "A", "2025-07-01"), ("s", "A", "2025-07-01")]))
    row = one(result, learner="r")
    assert row["n_sessions"] == 1 and math.isnan(row["coc"]) and math.isnan(row["secon"])
    assert row["mmci"] == 1 and row["hhi"] == 1 and row["mfpc"] == 1 and row["entropy_norm"] == 0
    assert row["notes"] == "coc and secon undefined: fewer than 2 sessions"
    assert row["duration_days"] == 0


def test_two_sessions():
    row = one(continuity_indices(frame([("r", "A", "2025-07-01"), ("r", "B", "2025-07-02")])), learner="r")
    # (1 + 1 - 2) / (2 * 1) = 0; HHI 1/2; MMCI (1 - 2/2.1)/(1 - 1/2.1) = 0.1/1.1
    assert row["coc"] == 0 and row["hhi"] == 0.5 and row["secon"] == 0
    assert row["mmci"] == pytest.approx(0.1 / 1.1)


def test_secon_follows_time_not_input_order():
    shuffled = HAND.iloc[[3, 0, 4, 2, 1]]
    assert one(continuity_indices(shuffled), learner="r1")["secon"] == pytest.approx(1 / 4)
    # By input order the sequence would be A, A, C, B, A: secon 1/4 as well, so also check a case where
    # it differs: time order A, A, B, B (2/3); input order B, A, B, A.
    data = frame([("r", "B", "2025-07-04"), ("r", "A", "2025-07-01"), ("r", "B", "2025-07-03"),
                  ("r", "A", "2025-07-02")])  # fmt: skip
    assert one(continuity_indices(data), learner="r")["secon"] == pytest.approx(2 / 3)


def test_ties_in_time_keep_the_input_order():
    # Two sessions on 07-02. Input order A then B gives A, A, B, B (secon 2/3);
    # B then A gives A, B, A, B (secon 0).
    first = frame([("r", "A", "2025-07-01"), ("r", "A", "2025-07-02"), ("r", "B", "2025-07-02"),
                   ("r", "B", "2025-07-03")])  # fmt: skip
    second = first.iloc[[0, 2, 1, 3]]
    assert one(continuity_indices(first), learner="r")["secon"] == pytest.approx(2 / 3)
    assert one(continuity_indices(second), learner="r")["secon"] == 0
    # The time of day, when there is one, orders sessions within a day.
    timed = frame([("r", "A", "2025-07-01 08:00"), ("r", "B", "2025-07-02 13:00"),
                   ("r", "A", "2025-07-02 08:00"), ("r", "B", "2025-07-03 08:00")])  # fmt: skip
    # In time order: A (07-01), A (07-02 08:00), B (07-02 13:00), B (07-03): pairs AA, AB, BB -> 2/3.
    assert one(continuity_indices(timed), learner="r")["secon"] == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- assigned preceptor


def test_assigned_preceptor_that_changes_is_compared_per_session():
    data = HAND.copy()
    data.loc[3:, "assigned"] = "C"  # sessions 4 (A) and 5 (C) now have C assigned
    row = one(continuity_indices(data, assigned_column="assigned"), learner="r1")
    # per session: A==A, A==A, B!=A, A!=C, C==C -> 3/5
    assert row["upc"] == pytest.approx(3 / 5)
    assert row["assigned"] == "A|C"
    assert "assigned preceptor varies (2)" in row["notes"]


def test_missing_assigned_is_reported_and_left_out_of_upc():
    data = HAND.copy()
    data.loc[2, "assigned"] = ""  # the B session
    result = continuity_indices(data, assigned_column="assigned")
    row = one(result, learner="r1")
    assert row["upc"] == pytest.approx(3 / 4)  # A in 3 of the 4 sessions with an assigned preceptor
    assert "upc over the 4 sessions" in row["notes"]
    line = result.report.iloc[0]
    assert (line["row"], line["problem"], line["severity"]) == (3, "missing_assigned", "warning")
    none = continuity_indices(HAND.assign(assigned=""), assigned_column="assigned")
    assert math.isnan(one(none, learner="r1")["upc"])
    assert "upc undefined" in one(none, learner="r1")["notes"]


def test_without_an_assigned_column_there_is_no_upc():
    result = continuity_indices(HAND)
    assert "upc" not in result.indices.columns and "assigned" not in result.indices.columns
    assert any("upc not computed" in note for note in result.notes)


# --------------------------------------------------------------------------- windows

WINDOWED = frame(
    [
        ("r1", "A", "2025-06-20"),  # 2024-25
        ("r1", "A", "2025-06-30"),  # 2024-25 (last day)
        ("r1", "B", "2025-07-01"),  # 2025-26 (first day)
        ("r1", "A", "2025-07-14"),
        ("r2", "C", "2025-07-20"),
        ("r2", "C", "2026-07-01"),  # 2026-27
    ]
)


def test_academic_year_windows():
    result = continuity_indices(WINDOWED, window="academic-year")
    table = result.indices
    assert table[["learner", "window"]].values.tolist() == [
        ["r1", "2024-25"],
        ["r1", "2025-26"],
        ["r2", "2025-26"],
        ["r2", "2026-27"],
    ]
    assert list(table.columns[:4]) == ["learner", "window", "window_start", "window_end"]
    first = one(result, learner="r1", window="2024-25")
    assert first["n_sessions"] == 2 and first["coc"] == 1
    assert first["window_start"] == pd.Timestamp("2024-07-01")
    assert first["window_end"] == pd.Timestamp("2025-06-30")
    second = one(result, learner="r1", window="2025-26")
    assert second["n_sessions"] == 2 and second["coc"] == 0 and second["n_faculty"] == 2
    assert one(result, learner="r2", window="2026-27")["n_sessions"] == 1


def test_block_windows_are_anchored_on_the_earliest_session():
    result = continuity_indices(WINDOWED, window="block:2")
    # Anchor 2025-06-20: blocks of 14 days, [06-20, 07-03], [07-04, 07-17], [07-18, 07-31], ...
    table = result.indices
    r1 = table[table["learner"] == "r1"]
    assert r1["window"].tolist() == ["2025-06-20..2025-07-03", "2025-07-04..2025-07-17"]
    assert r1["n_sessions"].tolist() == [3, 1]
    r2 = table[table["learner"] == "r2"]
    assert r2["window"].iloc[0] == "2025-07-18..2025-07-31"  # the same calendar blocks for every learner
    # 2026-07-01 is 376 days after the anchor: block 26 (364..377) starts 2026-06-19
    assert r2["window"].iloc[1] == "2026-06-19..2026-07-02"
    assert (r2["window_end"] - r2["window_start"]).dt.days.tolist() == [13, 13]
    assert any("2025-06-20" in note for note in result.notes)
    anchored = continuity_indices(WINDOWED, window="block:1@2025-06-30")
    r1 = anchored.indices[anchored.indices["learner"] == "r1"]
    # Weekly blocks from 2025-06-30; the session before the anchor falls in a block counted backwards.
    assert r1["window"].tolist() == [
        "2025-06-16..2025-06-22",
        "2025-06-30..2025-07-06",
        "2025-07-14..2025-07-20",
    ]
    assert r1["n_sessions"].tolist() == [1, 2, 1]


def test_date_range_window_is_inclusive_and_reports_what_it_leaves_out():
    result = continuity_indices(WINDOWED, window="2025-06-30..2025-07-14")
    assert one(result, learner="r1")["n_sessions"] == 3  # 06-30, 07-01, 07-14: both ends included
    assert "r2" not in set(result.indices["learner"])  # no session in the window: no row
    line = result.report.iloc[0]
    assert line["problem"] == "outside_window" and pd.isna(line["row"])
    assert line["message"].startswith("3 sessions outside")
    assert result.n_sessions == 3


@pytest.mark.parametrize(
    "window, message",
    [
        ("academic_years", "did you mean 'academic-year'"),
        ("block:0", "at least 1 week"),
        ("block:x", "window must be"),
        ("2025-07-01..2025-06-01", "before the start"),
        ("2025-02-30..2025-03-01", "is not a date"),
        ("2025-07-01", "window must be"),
    ],
)
def test_bad_windows_are_explained(window, message):
    with pytest.raises(SdtSurveyError, match=message):
        continuity_indices(HAND, window=window)


# --------------------------------------------------------------------------- faculty side


def test_faculty_side_by_hand():
    data = frame(
        [
            ("r1", "A", "2025-07-01", "A"),
            ("r1", "A", "2025-07-08", "A"),
            ("r2", "A", "2025-07-09", "B"),
            ("r2", "B", "2025-07-16", "B"),
            ("r1", "B", "2025-07-15", "A"),
        ],
        ("learner", "faculty", "date", "assigned"),
    )
    result = continuity_indices(data, side="faculty", assigned_column="assigned")
    assert list(result.indices.columns[:3]) == ["faculty", "n_sessions", "n_learners"]
    assert "assigned" not in result.indices.columns
    a = one(result, faculty="A")
    # A: r1, r1, r2 in time order. COC (4 + 1 - 3) / (3 * 2) = 1/3; SECON 1/2; UPC: r1 is assigned A -> 2/3.
    assert (a["n_sessions"], a["n_learners"]) == (3, 2)
    assert a["coc"] == pytest.approx(1 / 3) and a["secon"] == pytest.approx(1 / 2)
    assert a["mfpc"] == pytest.approx(2 / 3) and a["upc"] == pytest.approx(2 / 3)
    b = one(result, faculty="B")
    # B: r1 (07-15), r2 (07-16). UPC: r2 is assigned B -> 1/2.
    assert (b["n_sessions"], b["coc"], b["secon"], b["upc"]) == (2, 0, 0, 0.5)


def test_faculty_and_learner_sides_count_the_same_sessions():
    sim = simulate("bpn-residency", seed=3, n_programs=2)
    kwargs = {**RESIDENT, "assigned_column": "assigned"}
    learners = continuity_indices(sim.schedule, **kwargs)
    faculty = continuity_indices(sim.schedule, side="faculty", **kwargs)
    assert learners.indices["n_sessions"].sum() == faculty.indices["n_sessions"].sum() == len(sim.schedule)
    counts = sim.schedule.groupby("faculty").size()
    assert faculty.indices.set_index("faculty")["n_sessions"].to_dict() == counts.to_dict()
    # Faculty UPC: the share of each faculty member's sessions with residents assigned to them.
    expected = (sim.schedule["faculty"] == sim.schedule["assigned"]).groupby(sim.schedule["faculty"]).mean()
    np.testing.assert_allclose(faculty.indices.set_index("faculty")["upc"], expected, atol=1e-15)


# --------------------------------------------------------------------------- the simulator


def test_simulated_schedule_gives_the_simulated_truth():
    sim = simulate("bpn-residency", seed=11, n_programs=4)
    result = continuity_indices(sim.schedule, **RESIDENT, assigned_column="assigned", setting="clinic")
    truth = sim.truth.continuity.set_index("resident")
    got = result.indices.set_index("resident").loc[truth.index]
    for index in ("upc", "coc", "secon", "mmci"):
        np.testing.assert_allclose(got[index], truth[index], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["mfpc"], truth["upc_max"], rtol=0, atol=1e-12)
    assert (got["n_faculty"] == truth["n_faculty"]).all() and (got["assigned"] == truth["assigned"]).all()


# --------------------------------------------------------------------------- validation at the boundary


def write(tmp_path: Path, text: str, name: str = "schedule.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = """learner,faculty,date,assigned
r1,A,2025-07-01,A
r1,,2025-07-08,A
,B,2025-07-15,A
r1,A,2025-13-01,A
r1,A,,A
r1,B,2025-07-22,A
"""


def test_invalid_rows_stop_with_the_full_located_list(tmp_path):
    path = write(tmp_path, BAD)
    with pytest.raises(ContinuityError) as caught:
        continuity_indices(path, assigned_column="assigned")
    report = caught.value.report
    assert report[["row", "column", "problem"]].values.tolist() == [
        [3, "faculty", "missing_id"],
        [4, "learner", "missing_id"],
        [5, "date", "invalid_date"],
        [6, "date", "missing_date"],
    ]
    message = str(caught.value)
    assert "4 invalid rows" in message and "row 5 date: '2025-13-01' is not a date" in message
    assert "invalid='drop'" in message
    assert isinstance(caught.value, SdtSurveyError)


def test_invalid_drop_reports_each_dropped_row(tmp_path):
    result = continuity_indices(write(tmp_path, BAD), assigned_column="assigned", invalid="drop")
    row = one(result, learner="r1")
    assert row["n_sessions"] == 2 and row["upc"] == 0.5  # rows 2 (A) and 7 (B)
    dropped = result.report[result.report["action"].str.startswith("row dropped")]
    assert dropped["row"].tolist() == [3, 4, 5, 6]
    assert result.n_rows == 6 and result.n_sessions == 2


def test_blank_lines_keep_row_numbers_true_to_the_file(tmp_path):
    path = write(tmp_path, "learner,faculty,date\nr1,A,2025-07-01\n,,\nr1,A,not a date\n")
    with pytest.raises(ContinuityError) as caught:
        continuity_indices(path)
    report = caught.value.report
    assert report[["row", "problem"]].values.tolist() == [[3, "blank_line"], [4, "invalid_date"]]


def test_missing_columns_are_named_with_a_suggestion(tmp_path):
    sim = simulate("bpn-residency", seed=1, n_programs=1, residents_per_program=(3, 3))
    with pytest.raises(SdtSurveyError) as caught:
        continuity_indices(sim.schedule)
    message = str(caught.value)
    assert "no learner column 'learner'; did you mean 'resident' (learner_column='resident')" in message
    assert "time column" not in message  # issue 14: the default time column is the simulator's
    with pytest.raises(SdtSurveyError, match="no time column 'date'; did you mean 'session_date'"):
        continuity_indices(sim.schedule, learner_column="resident", time_column="date")
    with pytest.raises(SdtSurveyError, match="did you mean 'assigned'"):
        continuity_indices(sim.schedule, **RESIDENT, assigned_column="asigned")
    with pytest.raises(SdtSurveyError, match="own column"):
        continuity_indices(sim.schedule, learner_column="resident", faculty_column="resident")


def test_duplicate_rows_are_reported_kept_or_dropped():
    data = pd.concat([HAND, HAND.iloc[[1]]], ignore_index=True)  # row 6 repeats row 2
    kept = continuity_indices(data)
    line = kept.report.iloc[0]
    assert (line["row"], line["problem"], line["action"]) == (6, "duplicate_row", "kept (dedupe=False)")
    assert line["message"] == "same learner, faculty and time as row 2"
    assert one(kept, learner="r1")["n_sessions"] == 6
    dropped = continuity_indices(data, dedupe=True)
    assert dropped.report.iloc[0]["action"] == "dropped (dedupe=True)"
    pd.testing.assert_frame_equal(dropped.indices, continuity_indices(HAND).indices)
    # Two faculty members at the same time is not a duplicate.
    two = frame([("r", "A", "2025-07-01"), ("r", "B", "2025-07-01")])
    assert continuity_indices(two).report.empty


def test_setting_filter(tmp_path):
    data = HAND.assign(setting=["Clinic", "clinic ", "inpatient", "Clinic", ""])
    result = continuity_indices(data, setting="clinic")  # the column named setting, any case
    row = one(result, learner="r1")
    assert row["n_sessions"] == 3 and row["n_faculty"] == 1  # A, A, A
    line = result.report.iloc[0]
    assert line["problem"] == "outside_setting" and "2 sessions in other settings" in line["message"]
    assert "inpatient: 1" in line["message"] and "(empty): 1" in line["message"]
    both = continuity_indices(data, setting_column="setting", setting=["clinic", "inpatient"])
    assert one(both, learner="r1")["n_sessions"] == 4
    with pytest.raises(SdtSurveyError, match="did you mean 'clinic'"):
        continuity_indices(data, setting="clinc")
    # Bad rows in a setting that is not counted are not checked.
    messy = data.copy()
    messy.loc[2, "date"] = "soon"
    assert one(continuity_indices(messy, setting="clinic"), learner="r1")["n_sessions"] == 3


def test_options_are_checked():
    with pytest.raises(SdtSurveyError, match="did you mean 'faculty'"):
        continuity_indices(HAND, side="facultry")
    with pytest.raises(SdtSurveyError, match="invalid must be one of"):
        continuity_indices(HAND, invalid="ignore")
    with pytest.raises(SdtSurveyError, match="no such file"):
        continuity_indices("/nonexistent/schedule.csv")
    with pytest.raises(SdtSurveyError, match="DataFrame or a path"):
        continuity_indices(42)
    with pytest.raises(SdtSurveyError, match="no rows"):
        continuity_indices(HAND.iloc[:0])


def test_other_date_formats():
    us = HAND.assign(date=["07/01/2025", "07/08/2025", "07/15/2025", "07/22/2025", "07/29/2025"])
    with pytest.raises(ContinuityError, match="pass date_format"):
        continuity_indices(us)
    row = one(continuity_indices(us, date_format="%m/%d/%Y"), learner="r1")
    assert row["first"] == pd.Timestamp("2025-07-01") and row["secon"] == pytest.approx(1 / 4)
    typed = HAND.assign(date=pd.to_datetime(HAND["date"]))
    pd.testing.assert_frame_equal(continuity_indices(typed).indices, continuity_indices(HAND).indices)
    aware = HAND.assign(date=pd.to_datetime(HAND["date"]).dt.tz_localize("America/Chicago"))
    assert one(continuity_indices(aware), learner="r1")["first"] == pd.Timestamp("2025-07-01")


def test_numeric_ids_are_read_as_text():
    data = HAND.assign(learner=[101.0] * 5, faculty=[7, 7, 8, 7, 9])
    row = one(continuity_indices(data), learner="101")
    assert row["coc"] == pytest.approx(0.3)


# --------------------------------------------------------------------------- output


def test_write_by_extension(tmp_path):
    result = continuity_indices(WINDOWED, window="academic-year")
    csv = pd.read_csv(result.write(tmp_path / "out.csv"))
    assert list(csv.columns[:2]) == ["learner", "window"] and len(csv) == 4
    assert csv["first"].tolist()[0] == "2025-06-20"
    parquet = pd.read_parquet(result.write(tmp_path / "out.parquet"))
    pd.testing.assert_frame_equal(parquet, result.indices, check_dtype=False)
    records = json.loads(result.write(tmp_path / "out.json").read_text())
    assert records[0]["learner"] == "r1" and records[0]["first"] == "2025-06-20"
    assert records[-1]["coc"] is None and records[-1]["window_start"] == "2026-07-01"
    with pytest.raises(SdtSurveyError, match="unknown output type"):
        result.write(tmp_path / "out.xyz")


def test_to_dict_summary_and_report(tmp_path):
    data = pd.concat([HAND, HAND.iloc[[1]]], ignore_index=True)
    result = continuity_indices(data, assigned_column="assigned")
    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["n_sessions"] == 6 and as_dict["n_ids"] == 1
    assert as_dict["report"]["counts"] == {"duplicate_row (kept (dedupe=False))": 1}
    assert as_dict["describe"]["coc"]["n"] == 1
    assert "indices" not in result.to_dict(per_row=False)
    text = result.summary()
    assert "6 sessions of 1 learners" in text and "duplicate_row" in text and "row 6" in text
    assert str(result) == text
    report = pd.read_csv(result.write_report(tmp_path / "report.csv"))
    assert report["problem"].tolist() == ["duplicate_row"]
    pd.testing.assert_frame_equal(result.to_frame(), result.indices)


# --------------------------------------------------------------------------- properties


def naive(faculty: list[str]) -> dict[str, float]:
    """Each index written out plainly for one learner's sessions in time order."""
    n = len(faculty)
    counts = Counter(faculty)
    m = len(counts)
    shares = [c / n for c in counts.values()]
    entropy = -sum(p * math.log(p) for p in shares)
    return {
        "n_sessions": n,
        "n_faculty": m,
        "mfpc": max(counts.values()) / n,
        "coc": (sum(c * c for c in counts.values()) - n) / (n * (n - 1)) if n > 1 else math.nan,
        "hhi": sum(p * p for p in shares),
        "mmci": (1 - m / (n + 0.1)) / (1 - 1 / (n + 0.1)),
        "secon": sum(a == b for a, b in pairwise(faculty)) / (n - 1) if n > 1 else math.nan,
        "entropy": entropy,
        "entropy_norm": entropy / math.log(m) if m > 1 else 0.0,
    }


sessions = st.lists(
    st.tuples(st.sampled_from(["r1", "r2", "r3"]), st.sampled_from(["A", "B", "C", "D", "E"])),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=sessions, seed=st.integers(0, 2**31 - 1))
def test_properties_and_agreement_with_a_plain_implementation(rows, seed):
    dates = pd.date_range("2025-07-01", periods=len(rows), freq="D")
    data = pd.DataFrame({"learner": [r[0] for r in rows], "faculty": [r[1] for r in rows], "date": dates})
    shuffled = data.sample(frac=1, random_state=seed % (2**32))
    table = continuity_indices(shuffled).indices.set_index("learner")
    for learner, sub in data.groupby("learner"):
        expected = naive(sub.sort_values("date")["faculty"].tolist())
        got = table.loc[learner]
        for key, value in expected.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[key]), key
            else:
                assert got[key] == pytest.approx(value, abs=1e-12), key
    n = table["n_sessions"].to_numpy(float)
    assert ((table["hhi"] > 0) & (table["hhi"] <= 1 + 1e-15)).all()
    assert ((table["mfpc"] >= table["hhi"] - 1e-15) & (table["mfpc"] <= 1)).all()
    assert ((table["entropy_norm"] >= -1e-15) & (table["entropy_norm"] <= 1 + 1e-12)).all()
    assert (table["entropy"] <= np.log(table["n_faculty"]) + 1e-12).all()
    assert (table.loc[table["n_faculty"] == 1, "mmci"] == 1).all()
    many = n >= 2
    coc = table["coc"].to_numpy()[many]
    assert ((coc >= -1e-15) & (coc <= 1 + 1e-15)).all()
    np.testing.assert_allclose(coc, (n[many] * table["hhi"].to_numpy()[many] - 1) / (n[many] - 1), atol=1e-12)
    secon = table["secon"].to_numpy()[many]
    assert ((secon >= 0) & (secon <= 1)).all()


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 30), min_size=1, max_size=8))
def test_core_on_counts(counts):
    partner = np.repeat(np.arange(len(counts)), counts)
    out = indices_from_codes(np.zeros(len(partner), np.int64), partner).iloc[0]
    n, m = sum(counts), len(counts)
    assert out["n_sessions"] == n and out["n_partners"] == m
    assert out["hhi"] == pytest.approx(sum((c / n) ** 2 for c in counts), abs=1e-12)
    assert out["mfpc"] == pytest.approx(max(counts) / n, abs=1e-15)
    if n > 1:
        assert out["coc"] == pytest.approx((n * out["hhi"] - 1) / (n - 1), abs=1e-12)
        # Sessions grouped by faculty: every pair is the same except at the m - 1 changes.
        assert out["secon"] == pytest.approx((n - m) / (n - 1), abs=1e-15)
    assert (out["mmci"] == 1) == (m == 1)


def test_core_checks_its_input_and_handles_empty_groups():
    with pytest.raises(ValueError, match="sorted"):
        indices_from_codes(np.array([1, 0]), np.array([0, 0]))
    out = indices_from_codes(np.array([0, 0, 2]), np.array([1, 1, 0]), n_groups=4)
    assert out["n_sessions"].tolist() == [2, 0, 1, 0]
    assert out.loc[1, ["mfpc", "hhi", "mmci", "entropy", "entropy_norm"]].isna().all()
    empty = indices_from_codes(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert len(empty) == 0


def test_speed_is_vectorized():
    rng = np.random.default_rng(1)
    learners, per = 20_000, 30
    group = np.repeat(np.arange(learners), per)
    day = np.sort(rng.permuted(np.tile(np.arange(300), (learners, 1)), axis=1)[:, :per], axis=1).ravel()
    data = pd.DataFrame(
        {
            "learner": np.char.add("R", group.astype(str)),
            "faculty": np.char.add("F", (rng.integers(0, 8, len(group)) + group // 40 * 8).astype(str)),
            "date": np.datetime64("2025-07-01") + day.astype("timedelta64[D]"),
        }
    )
    started = time.perf_counter()
    result = continuity_indices(data)
    assert time.perf_counter() - started < 5  # about 0.3 s; a per-learner loop takes far longer
    assert len(result.indices) == learners and (result.indices["n_sessions"] == per).all()


# --------------------------------------------------------------------------- self-reported exposure


@pytest.fixture(scope="module")
def exposure_sim():
    return simulate(
        ["bpn-residency", "continuity-exposure"], seed=21, n_programs=3, mcar_rate=0.0, mar_rates={}
    )


def test_self_reported_upc_equals_the_schedule_upc_over_the_same_four_weeks(exposure_sim):
    sim = exposure_sim
    scored = sdt_survey.score(
        ["bpn-residency", "continuity-exposure"], sim.responses, id_column="resident", wave_column="wave"
    )
    exposure = self_reported_exposure(scored)
    assert list(exposure.columns) == [
        "resident",
        "wave",
        "row",
        "has_usual_preceptor",
        "clinic_halfdays_4wk",
        "halfdays_with_preceptor",
        "upc_self",
        "perceived_continuity",
        "coach_meetings_year",
        "longitudinal_team",
        "exposure_note",
    ]
    assert len(exposure) == len(sim.responses)
    for wave, day in enumerate(sim.truth.wave_dates, start=1):
        end = pd.Timestamp(day)
        window = f"{(end - pd.Timedelta(days=28)).date()}..{(end - pd.Timedelta(days=1)).date()}"
        schedule_upc = continuity_indices(
            sim.schedule, **RESIDENT, assigned_column="assigned", window=window
        ).indices.set_index("resident")["upc"]
        rows = exposure[exposure["wave"] == wave].set_index("resident")
        asked = rows["upc_self"].notna()
        assert asked.sum() > 10
        np.testing.assert_allclose(
            rows.loc[asked, "upc_self"], schedule_upc.loc[rows.index[asked]], atol=1e-15
        )
        no_usual = rows["has_usual_preceptor"] == 0
        assert rows.loc[no_usual, "upc_self"].isna().all()
        assert (rows.loc[no_usual & (rows["clinic_halfdays_4wk"] > 0), "exposure_note"]
                .str.startswith("no usual preceptor").all())  # fmt: skip
    assert (exposure.loc[exposure["upc_self"].notna(), "exposure_note"] == "").all()


def test_self_reported_exposure_from_a_frame_and_its_errors():
    frame_in = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d"],
            "item_has_usual_preceptor": [1, 1, 1, None],
            "item_clinic_halfdays_4wk": [4, 4, None, 2],
            "item_halfdays_with_preceptor": [1, 5, None, None],
        }
    )
    out = self_reported_exposure(frame_in)
    assert list(out.columns[:2]) == ["record_id", "has_usual_preceptor"]
    assert out["upc_self"].tolist()[0] == 0.25 and out["upc_self"].iloc[1:].isna().all()
    assert out["exposure_note"].tolist() == [
        "",
        "halfdays_with_preceptor exceeds clinic_halfdays_4wk",
        "clinic_halfdays_4wk not answered",
        "halfdays_with_preceptor not answered",
    ]
    with pytest.raises(SdtSurveyError, match="continuity-exposure"):
        self_reported_exposure(pd.DataFrame({"id": ["a"], "pcs1": [3]}))
    with pytest.raises(SdtSurveyError, match="no id column 'who'"):
        self_reported_exposure(frame_in, id_column="who")
    with pytest.raises(SdtSurveyError, match="scored responses or a DataFrame"):
        self_reported_exposure([1, 2])
