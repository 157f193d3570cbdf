"""Scoring: exact to the reference truth, every invalid kind reported, nothing lost."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdt_survey
from sdt_survey.responses import ResponseValidationError
from sdt_survey.scoring import careless_indices, pseudonymize, reverse_key, subscale_scores
from tests.conftest import REFERENCE

SIM = REFERENCE / "sdt-sim"
needs_reference = pytest.mark.skipif(not SIM.is_dir(), reason="tests/data/reference is missing")
BPN = sdt_survey.load_instrument("bpn-residency")
CE = sdt_survey.load_instrument("continuity-exposure")


@needs_reference
def test_reference_data_scores_to_the_truth_exactly():
    scored = sdt_survey.score(BPN, SIM / "responses_w1.csv", id_column="resident")
    truth = pd.read_csv(SIM / "scores_truth.csv")
    assert scored.scores["resident"].tolist() == truth["resident"].tolist()
    for column in truth.columns[1:]:
        ours = scored.scores[column].to_numpy()
        theirs = truth[column].to_numpy()
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), column
        np.testing.assert_allclose(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=0, atol=1e-12)
    # Passthrough columns are unchanged, and every missing answer is reported.
    raw = pd.read_csv(SIM / "responses_w1.csv")
    assert scored.scores["program"].tolist() == raw["program"].tolist()
    missing = int(raw[BPN.item_ids].isna().sum().sum())
    assert (scored.report.issues["problem"] == "missing_required").sum() == missing
    assert scored.scores["n_missing"].sum() == missing


def _frame(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({"resident": ["R1", "R2", "R3"], "program": ["A", "A", "B"]})
    for item in BPN.item_ids:
        frame[item] = ["3", "4", "2"]
    for column, cells in overrides.items():
        frame[column] = cells
    return frame


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "wave.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _lines(report) -> list[str]:
    return [
        f"row {r.row} [{r.respondent}] {r.column}: {r.problem}: {r.message} -> {r.action}"
        for r in report.issues.itertuples()
    ]


INVALID_CASES = {
    "out of range": (
        {"as2": ["3", "7", "2"]},
        "row 3 [R2] as2: out_of_range: 7 is not a value of scale truth5 (1-5) -> blocked: no scores written",
    ),
    "not a whole code": (
        {"af1": ["2.5", "4", "2"]},
        "row 2 [R1] af1: out_of_range: 2.5 is not a value of scale truth5 (1-5) "
        "-> blocked: no scores written",
    ),
    "unknown label": (
        {"rs1": ["Very ture", "4", "2"]},
        "row 2 [R1] rs1: unknown_label: 'Very ture' is not a code or label of scale truth5 (1-5); "
        "did you mean 'very true'? -> blocked: no scores written",
    ),
    "duplicate id": (
        {"resident": ["R1", "R2", "R1"]},
        "row 4 [R1] resident: duplicate_id: respondent id repeated (first at row 2) "
        "-> blocked: no scores written",
    ),
    "empty id": (
        {"resident": ["R1", "", "R3"]},
        "row 3 [None] resident: missing_id: the respondent id is empty -> blocked: no scores written",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_CASES), ids=list(INVALID_CASES))
def test_each_invalid_kind_blocks_with_its_exact_line(case, tmp_path):
    overrides, expected = INVALID_CASES[case]
    path = _write(tmp_path, _frame(**overrides))
    before = path.read_bytes()
    with pytest.raises(ResponseValidationError) as info:
        sdt_survey.score(BPN, path, id_column="resident")
    assert expected in _lines(info.value.report)
    assert path.read_bytes() == before, "the input file must never be modified"


def test_labels_are_mapped_to_codes_and_reported(tmp_path):
    path = _write(tmp_path, _frame(cs1=["Very true", "nada cierto", " Completely  true "]))
    scored = sdt_survey.score(BPN, path, id_column="resident")
    assert scored.items["cs1"].tolist() == [4.0, 1.0, 5.0]
    lines = _lines(scored.report)
    assert "row 2 [R1] cs1: label_mapped: label 'Very true' read as code 4 -> kept" in lines


def test_missing_codes_become_missing_with_their_reason(tmp_path):
    path = _write(tmp_path, _frame(cf2=["-99", "4", "2"]))
    scored = sdt_survey.score(BPN, path, id_column="resident")
    assert np.isnan(scored.items.loc[0, "cf2"])
    assert "row 2 [R1] cf2: missing_code: missing code -99 (skipped) -> set to missing" in _lines(
        scored.report
    )
    assert scored.scores.loc[0, "n_missing"] == 1


def test_absent_item_column_and_item_like_column(tmp_path):
    frame = _frame().rename(columns={"rs3": "rs_3"})
    path = _write(tmp_path, frame)
    with pytest.raises(ResponseValidationError) as info:
        sdt_survey.score(BPN, path, id_column="resident")
    lines = _lines(info.value.report)
    assert (
        "row None [None] None: absent_item_column: item 'rs3' has no column in the file; columns that look "
        "like items: rs_3 -> blocked: no scores written" in lines
    )
    assert any("item_like_column: column 'rs_3' resembles item 'rs3'" in line for line in lines)
    # As missing, the item is simply missing for everyone, and min_valid still holds (3 of 4).
    scored = sdt_survey.score(BPN, path, id_column="resident", invalid="as-missing")
    assert scored.scores["relatedness_satisfaction"].notna().all()


def test_empty_row_and_blank_line(tmp_path):
    frame = _frame()
    frame.loc[1, BPN.item_ids] = ""
    path = _write(tmp_path, frame)
    text = path.read_text().rstrip("\n") + "\n" + "," * (len(frame.columns) - 1) + "\n"
    path.write_text(text)
    scored = sdt_survey.score(BPN, path, id_column="resident")
    lines = _lines(scored.report)
    assert "row 3 [R2] None: empty_row: no item answered -> kept; every score missing" in lines
    assert "row 5 [None] None: blank_line: the row is entirely empty -> skipped" in lines
    assert len(scored.scores) == 3 and scored.scores.loc[1, ["autonomy_satisfaction"]].isna().all()


def test_as_missing_sets_invalid_cells_missing_and_counts_them(tmp_path):
    path = _write(tmp_path, _frame(as2=["3", "7", "x"], as3=["9", "4", "2"]))
    scored = sdt_survey.score(BPN, path, id_column="resident", invalid="as-missing")
    assert scored.scores["n_invalid"].tolist() == [1, 1, 1]
    assert np.isnan(scored.items.loc[1, "as2"])
    assert (scored.report.issues["action"] == "set to missing").sum() == 3
    # 3 of 4 autonomy-satisfaction items remain, which min_valid allows.
    assert scored.scores["autonomy_satisfaction"].notna().all()


def test_duplicates_policies(tmp_path):
    path = _write(tmp_path, _frame(resident=["R1", "R2", "R1"]))
    kept = sdt_survey.score(BPN, path, id_column="resident", duplicates="keep-all")
    assert kept.scores["duplicate_id"].tolist() == [True, False, True]
    first = sdt_survey.score(BPN, path, id_column="resident", duplicates="keep-first")
    assert first.scores["row"].tolist() == [2, 3]
    assert (
        "row 4 [R1] resident: duplicate_dropped: respondent id repeated (first at row 2) -> dropped "
        "(keep-first)" in _lines(first.report)
    )
    # Repeated ids in different waves are not duplicates.
    waves = _frame(resident=["R1", "R2", "R1"])
    waves["wave"] = [1, 1, 2]
    assert len(sdt_survey.score(BPN, _write(tmp_path, waves, "w.csv"), id_column="resident").scores) == 3


def test_branching_hidden_items_are_not_required():
    frame = pd.DataFrame(
        {
            "has_usual_preceptor": [1, 0, 1, 0],
            "clinic_halfdays_4wk": [8, 6, 0, 4],
            "halfdays_with_preceptor": [5, None, None, 2],
            "coach_meetings_year": [2, 3, None, 1],
            "longitudinal_team": [1, 2, 0, 1],
            "pcs1": [4, 3, 2, 5],
            "pcs2": [4, 3, 2, 5],
            "pcs3": [2, 3, 4, 1],
            "pcs4": [4, 3, 2, 5],
        }
    )
    scored = sdt_survey.score(CE, frame)
    lines = _lines(scored.report)
    assert not any("missing_required" in line and "halfdays_with_preceptor" in line for line in lines)
    assert (
        "row 4 [None] halfdays_with_preceptor: answered_when_hidden: answered although hidden by show_if "
        "(has_usual_preceptor == 1 and clinic_halfdays_4wk > 0) -> kept" in lines
    )
    assert scored.scores["n_missing"].tolist() == [0, 0, 1, 0]


def test_integer_and_choice_checks():
    frame = pd.DataFrame(
        {
            "has_usual_preceptor": ["Yes", "maybe", 1, 1],
            "clinic_halfdays_4wk": [8, 41, "3.5", "six"],
            "halfdays_with_preceptor": [5, None, 1, 1],
            "coach_meetings_year": [2, 3, None, 1],
            "longitudinal_team": [1, 2, 0, 1],
            "pcs1": [4, 3, 2, 5],
            "pcs2": [4, 3, 2, 5],
            "pcs3": [2, 3, 4, 1],
            "pcs4": [4, 3, 2, 5],
        }
    )
    with pytest.raises(ResponseValidationError) as info:
        sdt_survey.score(CE, frame)
    problems = info.value.report.issues.set_index(["row", "item"])["problem"]
    # A data frame has no file: rows are numbered from 1.
    assert problems[(1, "has_usual_preceptor")] == "label_mapped"
    assert problems[(2, "has_usual_preceptor")] == "unknown_choice"
    assert problems[(2, "clinic_halfdays_4wk")] == "out_of_range"
    assert problems[(3, "clinic_halfdays_4wk")] == "not_integer"
    assert problems[(4, "clinic_halfdays_4wk")] == "not_numeric"


def test_reverse_key_and_min_valid_and_sum():
    keyed = reverse_key(pd.DataFrame({i: [5.0] for i in BPN.item_ids}), [BPN])
    assert keyed[["as4", "rs4", "cs4"]].iloc[0].tolist() == [1.0, 1.0, 1.0]
    text = (Path(sdt_survey.bundled_instruments()["program-belonging"])).read_text()
    pb = sdt_survey.parse_instrument(text.replace("method: mean", "method: sum"))
    values = pd.DataFrame({i: [4.0, 4.0] for i in pb.item_ids})
    values.iloc[0, 0] = np.nan  # 6 of 7 answered: enough under min_valid 0.75
    values.iloc[1, :2] = np.nan  # 5 of 7: too few
    sums = subscale_scores(reverse_key(values, [pb]), [pb])["program_belonging"]
    n_items = len(pb.item_ids)
    expected_mean = reverse_key(values, [pb]).iloc[0].mean()
    assert sums.iloc[0] == pytest.approx(expected_mean * n_items)
    assert np.isnan(sums.iloc[1])


def test_composites_need_every_subscale():
    values = pd.DataFrame({i: [3.0, 3.0] for i in BPN.item_ids})
    values.loc[1, ["rs1", "rs2"]] = np.nan
    scores = subscale_scores(reverse_key(values, [BPN]), [BPN])
    assert scores.loc[0, "need_satisfaction"] == 3.0
    assert np.isnan(scores.loc[1, "need_satisfaction"]) and scores.loc[1, "need_frustration"] == 3.0


def test_zscores_sample_and_norms(tmp_path):
    frame = _frame()
    scored = sdt_survey.score(BPN, frame, id_column="resident", zscores="sample")
    z = scored.scores["autonomy_frustration_z"]
    assert z.mean() == pytest.approx(0) and z.std(ddof=1) == pytest.approx(1)
    norms = tmp_path / "norms.yaml"
    norms.write_text("autonomy_frustration: {mean: 3, sd: 0.5}\n")
    scored = sdt_survey.score(BPN, frame, id_column="resident", zscores=str(norms))
    assert scored.scores["autonomy_frustration_z"].tolist() == [0.0, 2.0, -2.0]
    norms.write_text("autonomy_frust: {mean: 3, sd: 0.5}\n")
    with pytest.raises(sdt_survey.SdtSurveyError, match="not a score of these instruments"):
        sdt_survey.score(BPN, frame, id_column="resident", zscores=str(norms))


def test_careless_indices_on_known_patterns():
    raw = pd.DataFrame([[3] * 24, [1, 5] * 12, list(range(1, 6)) * 4 + [1, 2, 3, 4]], columns=BPN.item_ids)
    raw = raw.astype(float)
    indices = careless_indices(raw, reverse_key(raw, [BPN]), [BPN])
    assert indices["longstring"].tolist() == [24, 1, 1]
    assert indices.loc[0, "irv"] == 0
    assert indices.loc[1, "irv"] == pytest.approx(np.std([1, 5] * 12, ddof=1))


def test_evenodd_is_high_for_consistent_answers_and_mahalanobis_matches_scipy():
    rng = np.random.default_rng(3)
    level = rng.integers(1, 6, size=(200, 6))
    raw = pd.DataFrame(index=range(200), columns=BPN.item_ids, dtype=float)
    for k, sub in enumerate(BPN.subscales.values()):
        for item in sub.items:
            value = level[:, k].astype(float)
            raw[item] = 6 - value if BPN.item(item).reverse else value
    keyed = reverse_key(raw, [BPN])
    indices = careless_indices(raw, keyed + rng.normal(0, 0.01, keyed.shape), [BPN])
    assert (indices["evenodd"] > 0.99).mean() > 0.95
    # Mahalanobis D2 against a direct computation.
    noisy = raw + rng.integers(-1, 2, raw.shape)
    keyed = reverse_key(noisy, [BPN])
    d2 = careless_indices(noisy, keyed, [BPN])["mahalanobis_d2"].to_numpy()
    x = keyed.to_numpy()
    inverse = np.linalg.pinv(np.cov(x, rowvar=False))
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(d2, [c @ inverse @ c for c in centred], rtol=1e-9)


def test_flags_and_exclusion_are_reported(tmp_path):
    frame = _frame()
    frame.loc[0, BPN.item_ids] = "3"  # straight-lining
    frame = pd.concat([frame] * 4, ignore_index=True)
    frame["resident"] = [f"R{i}" for i in range(len(frame))]
    scored = sdt_survey.score(BPN, frame, id_column="resident", flag_careless=True)
    assert scored.scores.loc[0, "flag_longstring"] and scored.scores.loc[0, "careless"]
    excluded = sdt_survey.score(BPN, frame, id_column="resident", exclude_flagged=True)
    removed = excluded.report.issues[excluded.report.issues["problem"] == "careless_excluded"]
    assert len(excluded.scores) + len(removed) == len(frame)
    assert set(removed["respondent"]) == set(scored.scores.loc[scored.scores["careless"], "resident"])


def test_pseudonymization_links_waves_and_protects_the_key(tmp_path):
    key = sdt_survey.keygen(tmp_path / "keys" / "program.key")
    a = sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    b = sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=key)
    assert a.scores["resident"].tolist() == b.scores["resident"].tolist()
    assert not set(a.scores["resident"]) & {"R1", "R2", "R3"}
    other = pseudonymize(pd.Series(["R1"]), b"another key 1234567")
    assert other.iloc[0] != a.scores["resident"].iloc[0]


def test_identifier_columns_are_dropped_unless_kept():
    frame = _frame()
    frame["Email"] = ["a@x.org", "b@x.org", "c@x.org"]
    frame["nickname"] = ["a", "b", "c"]
    scored = sdt_survey.score(BPN, frame, id_column="resident", identifiers=["nickname"])
    assert "Email" not in scored.scores and "nickname" not in scored.scores
    assert set(scored.dropped_columns) == {"Email", "nickname"}
    assert "program" in scored.scores
    kept = sdt_survey.score(BPN, frame, id_column="resident", keep_identifiers=True)
    assert "Email" in kept.scores


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".json", ".sav"])
def test_outputs_round_trip(tmp_path, suffix):
    scored = sdt_survey.score(BPN, _frame(), id_column="resident")
    path = scored.write(tmp_path / f"scores{suffix}")
    if suffix == ".sav":
        import pyreadstat

        back, meta = pyreadstat.read_sav(str(path))
        assert meta.column_names_to_labels["relatedness_satisfaction"].startswith("Relatedness satisfaction")
    elif suffix == ".parquet":
        back = pd.read_parquet(path)
    elif suffix == ".json":
        back = pd.DataFrame(json.loads(path.read_text()))
    else:
        back = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    np.testing.assert_allclose(back["need_satisfaction"], scored.scores["need_satisfaction"])


def test_colliding_instruments_are_refused():
    keys = sdt_survey.load_instrument("bpnsfs-keys")
    with pytest.raises(sdt_survey.SdtSurveyError, match="'autonomy_satisfaction' is defined by both"):
        sdt_survey.score([BPN, keys], _frame())


garbage = st.one_of(
    st.text(max_size=6),
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        ["", "NA", "-99", "Very true", "very ture", "1,2", " 3 ", "2.0", "٣", "inf", "1_0", "+4"]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(BPN.item_ids), garbage), max_size=12))
def test_garbage_cells_never_crash_and_are_always_reported(cells):
    frame = _frame()
    for row, column, value in cells:
        frame.loc[row, column] = value
    try:
        scored = sdt_survey.score(BPN, frame, id_column="resident", invalid="as-missing")
    except ResponseValidationError:  # pragma: no cover - as-missing never blocks
        raise
    reported = scored.report.issues
    for row, column in {(r, c) for r, c, _ in cells}:
        final = frame.loc[row, column]
        if re.fullmatch(r"\s*\+?[1-5](\.0*)?\s*", str(final)):
            continue  # a valid code, however it is written
        lines = reported[(reported["row"] == row + 1) & (reported["item"] == column)]
        assert not lines.empty, f"cell {column} of row {row + 1} ({final!r}) was not reported"
        got = scored.items.loc[row, column]
        assert np.isnan(got) or got in (1, 2, 3, 4, 5)


def test_scorer_reports_every_fault_of_a_messy_simulated_export(tmp_path):
    from sdt_survey.simulate import simulate

    messy = simulate(BPN, seed=4, messy=True)
    path = messy.write(tmp_path)[0]
    with pytest.raises(ResponseValidationError) as info:
        sdt_survey.score(BPN, path, id_column="resident")
    issues = info.value.report.issues
    expected_problem = {
        "out_of_range": "out_of_range",
        "label_typo": "unknown_label",
        "missing_code": "missing_code",
        "duplicate_id": "duplicate_id",
        "empty_row": "blank_line",
    }
    assert {f["fault"] for f in messy.truth.faults} == set(expected_problem)
    for fault in messy.truth.faults:
        row = fault["row"] + 2  # the header is row 1
        lines = issues[(issues["row"] == row) & (issues["problem"] == expected_problem[fault["fault"]])]
        if "column" in fault:
            lines = lines[lines["item"] == fault["column"]]
        assert len(lines) == 1, f"{fault} is not reported exactly once"


@needs_reference
def test_careless_indices_match_base_r():
    """Against tests/goldens/careless_indices.R: each index written out in base R."""
    golden = json.loads((Path(__file__).parent / "goldens" / "careless_indices.json").read_text())
    scored = sdt_survey.score(BPN, SIM / "responses_w1.csv", id_column="resident")
    assert scored.scores["resident"].tolist() == golden["resident"]
    for index in ("longstring", "irv", "mahalanobis_d2", "mahalanobis_p", "evenodd"):
        ours = scored.scores[index].to_numpy(dtype=float)
        theirs = np.array([np.nan if v is None else v for v in golden[index]], dtype=float)
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), index
        np.testing.assert_allclose(
            ours[~np.isnan(ours)], theirs[~np.isnan(theirs)], rtol=1e-10, atol=1e-12, err_msg=index
        )
