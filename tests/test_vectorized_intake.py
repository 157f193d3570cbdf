"""The vectorized intake against straightforward references, on small hostile data.

Cells of a numeric column that hold only valid codes are taken whole; any
other column is judged once per distinct value. Both must give what judging
every cell on its own gives: the same values, the same report lines, the same
missing reasons. The careless indices and the keying audit are matrix
operations; each is checked here against a per-respondent (or per-item) loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.responses import responses_from_frame, validate_responses
from sdt_survey.scoring import reverse_key
from sdt_survey.scoring.careless import careless_indices
from sdt_survey.stats.keying import corrected_item_total

BPN = sdt_survey.load_instrument("bpn-residency")
ALL_KINDS = sdt_survey.load_instrument(Path(__file__).parent / "fixtures" / "all-kinds.yaml")


def _hostile_bpn(n: int = 240, seed: int = 5) -> pd.DataFrame:
    """Valid codes, blanks, a declared missing code, out-of-range, fractions, -0, inf, 1e300."""
    rng = np.random.default_rng(seed)
    pool = np.array([1, 2, 3, 4, 5, np.nan, 0, -0.0, 6, 2.5, -99, 99, np.inf, 1e300, -np.inf])
    weights = np.r_[np.full(5, 12.0), 6, np.ones(9)]
    frame = pd.DataFrame({item: rng.choice(pool, size=n, p=weights / weights.sum()) for item in BPN.item_ids})
    frame.loc[:, BPN.item_ids[:3]] = frame.loc[:, BPN.item_ids[:3]].clip(1, 5).round()  # clean columns
    frame.loc[7] = np.nan  # an empty row
    frame.insert(0, "id", [f"r{i % (n - 5)}" for i in range(n)])  # five repeated ids
    return frame


def _reference_cell(value: float, codes: set[int], missing: dict) -> tuple[float, str | None, bool]:
    """One cell judged on its own: (clean value, missing reason, invalid)."""
    if np.isnan(value):
        return np.nan, "unanswered", False
    if np.isfinite(value) and value.is_integer() and int(value) in missing:
        return np.nan, missing[int(value)], False
    if np.isfinite(value) and value.is_integer() and int(value) in codes:
        return float(value), None, False
    return np.nan, "invalid", True


def _validate(frame: pd.DataFrame, instrument=BPN, **options):
    return validate_responses(responses_from_frame(frame, [instrument]), [instrument], **options)


@pytest.mark.parametrize("invalid", ["error", "as-missing"])
def test_cell_checks_match_a_cell_by_cell_reference(invalid):
    frame = _hostile_bpn()
    clean = _validate(frame, id_column="id", invalid=invalid, duplicates="keep-all")
    scale = BPN.scales["truth5"]
    codes = set(scale.values)
    missing = {int(k): v for k, v in scale.missing_codes.items()}
    for item in BPN.item_ids:
        expected = [_reference_cell(v, codes, missing) for v in frame[item]]
        values = np.array([e[0] for e in expected])
        np.testing.assert_array_equal(clean.values[item].to_numpy(), values)
        assert not np.signbit(clean.values[item].dropna()).any()  # -0 is the code 0
        assert clean.missing_reason[item].tolist() == [e[1] for e in expected]
    invalid_cells = np.array(
        [[_reference_cell(v, codes, missing)[2] for v in frame[i]] for i in BPN.item_ids]
    )
    assert clean.invalid_count.tolist() == invalid_cells.sum(axis=0).tolist()
    assert clean.missing_count.tolist() == clean.values[BPN.item_ids].isna().sum(axis=1).tolist()
    issues = clean.report.issues
    errors = issues[issues["severity"] == "error"]
    assert len(errors[errors["item"].notna()]) == invalid_cells.sum()
    assert (issues["problem"] == "empty_row").sum() == 1
    assert issues["row"].fillna(0).is_monotonic_increasing


def test_numeric_columns_and_the_same_values_as_objects_give_identical_results():
    """The whole-column path (numeric dtype) against the per-distinct-value path (object dtype)."""
    frame = _hostile_bpn()
    as_objects = frame.astype({item: object for item in BPN.item_ids})
    for options in (
        {"invalid": "as-missing"},
        {"id_column": "id", "invalid": "as-missing", "duplicates": "keep-first"},
    ):
        fast, judged = _validate(frame, **options), _validate(as_objects, **options)
        pd.testing.assert_frame_equal(fast.values, judged.values, check_exact=True)
        pd.testing.assert_frame_equal(fast.report.issues, judged.report.issues, check_exact=True)
        pd.testing.assert_frame_equal(fast.missing_reason, judged.missing_reason, check_exact=True)
        for name in ("invalid_count", "missing_count", "duplicate"):
            pd.testing.assert_series_equal(getattr(fast, name), getattr(judged, name), check_exact=True)
    clean_only = frame[BPN.item_ids].clip(1, 5).round()
    fast = sdt_survey.score(BPN, clean_only)
    judged = sdt_survey.score(BPN, clean_only.astype(object))
    pd.testing.assert_frame_equal(fast.scores, judged.scores, check_exact=True)
    pd.testing.assert_frame_equal(fast.report.issues, judged.report.issues, check_exact=True)


def test_integer_and_nullable_columns_take_the_whole_column_path_with_the_same_result():
    rng = np.random.default_rng(2)
    codes = rng.integers(1, 6, size=(50, len(BPN.item_ids)))
    ints = pd.DataFrame(codes, columns=BPN.item_ids)
    nullable = ints.astype("Int64")
    nullable.iloc[3, 4] = pd.NA
    floats = nullable.astype(float)
    for frame in (ints, nullable):
        pd.testing.assert_frame_equal(
            _validate(frame).values, _validate(frame.astype(float)).values, check_exact=True
        )
    assert np.isnan(_validate(nullable).values.iloc[3, 4]) and not np.isnan(floats).values[0, 0]
    # Booleans are not codes, even though True == 1.
    flags = ints.astype(float)
    flags[BPN.item_ids[0]] = True
    problems = set(_validate(flags, invalid="as-missing").report.issues["problem"])
    assert "out_of_range" in problems or "unknown_label" in problems


def test_mixed_text_codes_labels_and_junk_on_every_item_type():
    """The all-kinds fixture: single, integer, number, multiple, date, text, likert with labels."""
    rng = np.random.default_rng(11)
    junk = ["", "NA", " 3 ", "3.0", "-99", "abc", "x" * 90, "1 2", "2;-99", "2024-01-05", "notadate", None]
    pool = {
        "gate": [1, 0, "Yes", "no", 2, *junk],
        "pgy": [1, 2, 3, "PGY-2", 4, *junk],
        "halfdays": [0, -0.0, 12, 40, 41, 2.5, "7", *junk],
        "hours": [0, 80.5, 81, 1.25, "inf", *junk],
        "sources": ["1", "2", "1 2", "Faculty", "-99", "3", *junk],
        "started": ["2024-01-05", "05/01/2024", *junk],
        "comment": ["fine", "  padded ", *junk],
    }
    columns = {}
    for item in ALL_KINDS.items:
        choices = pool.get(item.id, [1, 2, 3, 4, 5, 0, 6, "Very true", "very TRUE", "Often", -99, *junk])
        columns[item.id] = [choices[i] for i in rng.integers(0, len(choices), size=120)]
    frame = pd.DataFrame(columns)
    numeric = frame.copy()
    for item in ("t1", "t3", "o1", "halfdays"):
        numeric[item] = pd.to_numeric(frame[item], errors="coerce")
    for data in (frame, numeric):
        clean = _validate(data, ALL_KINDS, invalid="as-missing")
        reference = _validate(data.astype(object), ALL_KINDS, invalid="as-missing")
        pd.testing.assert_frame_equal(clean.values, reference.values, check_exact=True)
        pd.testing.assert_frame_equal(clean.report.issues, reference.report.issues, check_exact=True)
        pd.testing.assert_frame_equal(clean.missing_reason, reference.missing_reason, check_exact=True)
        # Every missing value has a reason; every present one has none.
        assert (clean.missing_reason.isna() == clean.values.notna()).all().all()
        hidden = (clean.missing_reason == "not_shown").sum(axis=1)
        assert clean.missing_count.tolist() == (clean.values.isna().sum(axis=1) - hidden).tolist()


def _longstring(row: np.ndarray) -> float:
    best = run = 0
    previous = None
    for value in row:
        run = 0 if np.isnan(value) else (run + 1 if value == previous else 1)
        previous = value
        best = max(best, run)
    return float(best)


def test_careless_indices_match_a_respondent_by_respondent_reference():
    rng = np.random.default_rng(4)
    raw = pd.DataFrame(rng.integers(1, 6, size=(300, 24)).astype(float), columns=BPN.item_ids)
    raw[rng.random(raw.shape) < 0.08] = np.nan
    raw.iloc[0] = 3.0  # straight-lining
    raw.iloc[1, :12] = np.nan
    keyed = reverse_key(raw, [BPN])
    indices = careless_indices(raw, keyed, [BPN])
    likert = [i for i in BPN.display_order if BPN.item(i).type == "likert"]
    x = raw[likert].to_numpy()
    assert indices["longstring"].tolist() == [_longstring(row) for row in x]
    irv = [np.std(row[~np.isnan(row)], ddof=1) if (~np.isnan(row)).sum() >= 2 else np.nan for row in x]
    np.testing.assert_allclose(indices["irv"], irv, rtol=1e-12)
    halves = [(s.items[0::2], s.items[1::2]) for s in BPN.subscales.values() if len(s.items) >= 2]
    evenodd = []
    for i in range(len(raw)):
        pairs = [
            (np.nanmean(keyed.loc[i, list(odd)]), np.nanmean(keyed.loc[i, list(even)]))
            for odd, even in halves
            if keyed.loc[i, list(odd)].notna().any() and keyed.loc[i, list(even)].notna().any()
        ]
        if len(pairs) < 3:
            evenodd.append(np.nan)
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.corrcoef(np.array(pairs).T)[0, 1]
        evenodd.append(np.sign(r) * 2 * abs(r) / (1 + abs(r)))
    np.testing.assert_allclose(indices["evenodd"], evenodd, rtol=1e-10)
    complete = keyed[likert].dropna().to_numpy()
    inverse = np.linalg.pinv(np.cov(complete, rowvar=False))
    mean = complete.mean(axis=0)
    d2 = [
        (row - mean) @ inverse @ (row - mean) if not np.isnan(row).any() else np.nan
        for row in keyed[likert].to_numpy()
    ]
    np.testing.assert_allclose(indices["mahalanobis_d2"], d2, rtol=1e-9)


@pytest.mark.parametrize(("whole", "n"), [(True, 400), (False, 400), (True, 20_000)])
def test_corrected_item_total_matches_a_per_item_reference(whole, n):
    """Small data item by item; many respondents on a short scale by their distinct answer patterns."""
    rng = np.random.default_rng(9)
    trait = rng.normal(size=n)
    values = trait[:, None] + rng.normal(size=(n, 5))
    values = np.clip(np.round(values), -2, 2) if whole else values
    values[rng.random(values.shape) < 0.1] = np.nan
    keyed = pd.DataFrame(values, columns=[f"x{i}" for i in range(5)])
    keyed["x4"] = -keyed["x4"]
    table = corrected_item_total(keyed, list(keyed.columns))
    for row in table.itertuples(index=False):
        rest = keyed.drop(columns=row.item).mean(axis=1)
        both = keyed[row.item].notna() & rest.notna()
        assert row.n == both.sum()
        expected = np.corrcoef(keyed.loc[both, row.item], rest[both])[0, 1]
        assert row.r_drop == pytest.approx(expected, rel=1e-12)
    constant = keyed.assign(x0=1.0)
    assert np.isnan(corrected_item_total(constant, list(keyed.columns))["r_drop"].iloc[0])
