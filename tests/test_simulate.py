"""The simulator recovers its own parameters, and its outputs are what they claim to be.

Statistical checks use one large sample (about 20,000 residents, one wave, no
missingness) and compare each estimate with the truth at a tolerance of a few
sampling standard errors, computed from the sample itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.simulate import SimulationDesign, SimulationResult, simulate

BPN = sdt_survey.load_instrument("bpn-residency")
CONTINUITY = sdt_survey.load_instrument("continuity-exposure")
ALL = [BPN, CONTINUITY, "program-belonging", "learning-climate"]
LARGE = {
    "n_programs": 500,
    "residents_per_program": (35, 45),
    "n_waves": 1,
    "mcar_rate": 0.0,
    "mar_rates": {},
}


@pytest.fixture(scope="module")
def large() -> SimulationResult:
    return simulate([BPN, CONTINUITY], seed=20260101, **LARGE)


@pytest.fixture(scope="module")
def large_again() -> SimulationResult:
    """An independent sample from the same population (only the seed differs)."""
    return simulate([BPN, CONTINUITY], seed=777, **LARGE)


@pytest.fixture(scope="module")
def default() -> SimulationResult:
    return simulate(ALL, seed=5)


# --------------------------------------------------------------------------- helpers


def keyed(result: SimulationResult, items: list[str]) -> np.ndarray:
    """Item codes with the reverse-worded items keyed (min + max - code)."""
    x = result.responses[items].to_numpy(dtype=float).copy()
    for j, item_id in enumerate(items):
        if item_id in result.truth.reverse_worded:
            x[:, j] = 6 - x[:, j]  # every subscale tested here uses a 1-5 scale
    return x


def subscale_items(result: SimulationResult) -> dict[str, list[str]]:
    out = {}
    for inst in result.instruments:
        for sub_id, sub in inst.subscales.items():
            out[sub_id] = list(sub.items)
    return out


def cronbach_alpha(x: np.ndarray) -> tuple[float, float]:
    """Sample alpha and its asymptotic standard error (van Zyl, Neudecker & Nel, 2000)."""
    n, k = x.shape
    s = np.cov(x, rowvar=False)
    total = s.sum()
    alpha = k / (k - 1) * (1 - np.trace(s) / total)
    ones = np.ones(k)
    s2 = s @ s
    q = (
        2
        * k**2
        / ((k - 1) ** 2 * total**3)
        * (total * (np.trace(s2) + np.trace(s) ** 2) - 2 * np.trace(s) * (ones @ s2 @ ones))
    )
    return float(alpha), math.sqrt(q / n)


def correlation_se(r: np.ndarray, n: int) -> np.ndarray:
    """Large-sample standard error of a Pearson correlation."""
    return (1 - r**2) / math.sqrt(n)


def assert_correlations_close(sample: np.ndarray, implied: np.ndarray, n: int, k: float = 5.0) -> None:
    """Every off-diagonal correlation within ``k`` standard errors of the implied one."""
    off = ~np.eye(len(implied), dtype=bool)
    z = np.abs(sample - implied)[off] / correlation_se(implied, n)[off]
    assert z.max() < k, f"largest deviation {z.max():.2f} standard errors"


def indices_from_schedule(schedule: pd.DataFrame) -> pd.DataFrame:
    """UPC, COC, SECON and MMCI computed independently from the schedule table."""
    sched = schedule.sort_values(["resident", "session_date"], kind="stable")
    groups = sched.groupby("resident", sort=True)
    n = groups.size().astype(float)
    counts = sched.groupby(["resident", "faculty"]).size()
    sum_sq = (counts.astype(float) ** 2).groupby(level="resident").sum()
    n_faculty = counts.groupby(level="resident").size()
    upc = (sched["faculty"] == sched["assigned"]).groupby(sched["resident"]).mean()
    same = (sched["faculty"] == groups["faculty"].shift()).groupby(sched["resident"]).sum()
    return pd.DataFrame(
        {
            "n_sessions": n,
            "n_faculty": n_faculty,
            "upc": upc,
            "coc": (sum_sq - n) / (n * (n - 1)),
            "secon": same / (n - 1),
            "mmci": (1 - n_faculty / (n + 0.1)) / (1 - 1 / (n + 0.1)),
        }
    )


# --------------------------------------------------------------------------- shape and contract


def test_default_design_is_a_realistic_multi_program_data_set(default):
    design = default.design
    cont = default.truth.continuity
    sizes = cont.groupby("program").size()
    assert len(sizes) == design.n_programs == 14
    assert sizes.between(*design.residents_per_program).all()
    assert set(cont["pgy"]) == {1, 2, 3}
    assert (cont["cohort"] == design.year_start.year - cont["pgy"] + 1).all()
    responses = default.responses
    assert list(responses.columns[:6]) == ["resident", "program", "clinic", "pgy", "cohort", "wave"]
    expected_items = [i for inst in default.instruments for i in inst.display_order]
    assert default.item_columns == expected_items
    assert sorted(responses["wave"].unique()) == [1, 2]
    assert not responses.duplicated(["resident", "wave"]).any()
    for inst in default.instruments:  # every code is a valid value of its item
        for item in inst.items:
            answered = responses[item.id].dropna()
            low, high = item.value_range
            assert answered.between(low, high).all(), item.id
            if item.scale is not None:
                assert set(answered) <= set(item.scale.values)
    # Every subscale of every instrument has a factor and a population alpha.
    assert set(default.truth.factors) == set(subscale_items(default))
    assert set(default.truth.population_alpha) == set(subscale_items(default))
    schedule = default.schedule
    assert list(schedule.columns) == ["resident", "faculty", "session_date", "assigned", "setting"]
    assert (schedule["setting"] == "clinic").all()
    per_resident = schedule.groupby("resident").size()
    assert per_resident.between(*design.sessions_per_resident).all()
    assert "residents" in default.summary()
    json.dumps(default.to_dict())  # JSON-ready


def test_default_design_and_2000_residents_by_2_waves_are_fast():
    simulate(BPN, seed=0, n_programs=2)  # warm-up
    started = time.perf_counter()
    simulate(ALL, seed=1)
    default_seconds = time.perf_counter() - started
    started = time.perf_counter()
    big = simulate(ALL, seed=2, n_programs=50, residents_per_program=(40, 40))
    big_seconds = time.perf_counter() - started
    assert len(big.truth.continuity) == 2000 and big.responses["wave"].nunique() == 2
    assert default_seconds < 0.5, default_seconds
    assert big_seconds < 1.0, big_seconds


def test_same_seed_identical_different_seed_different():
    a = simulate(ALL, seed=42, messy=True)
    b = simulate(ALL, seed=42, messy=True)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    pd.testing.assert_frame_equal(a.schedule, b.schedule)
    pd.testing.assert_frame_equal(a.truth.continuity, b.truth.continuity)
    pd.testing.assert_frame_equal(a.truth.latent, b.truth.latent)
    assert a.truth.faults == b.truth.faults
    c = simulate(ALL, seed=43, messy=True)
    assert not a.schedule.equals(c.schedule)
    shared = min(len(a.responses), len(c.responses))
    assert not a.responses.iloc[:shared].equals(c.responses.iloc[:shared])
    assert not np.allclose(a.truth.continuity["coc"][:50], c.truth.continuity["coc"][:50])


def test_design_overrides_and_validation():
    result = simulate(BPN, seed=1, n_programs=3, n_waves=3, attrition=0.2)
    assert result.design.n_programs == 3 and result.responses["wave"].nunique() == 3
    with pytest.raises(TypeError, match="n_programs"):
        simulate(BPN, seed=1, n_program=3)
    with pytest.raises(ValueError, match="relatedness_satisfaction"):
        simulate(BPN, seed=1, continuity_effects={"relatedness_satisfation": 0.3})
    with pytest.raises(ValueError, match="residual variance"):
        simulate(BPN, seed=1, program_sd={"relatedness_satisfaction": 0.99})
    with pytest.raises(ValueError, match="positive definite"):
        simulate(
            BPN, seed=1, factor_correlations={("autonomy_satisfaction", "competence_satisfaction"): -0.95}
        )
    with pytest.raises(ValueError, match="thresholds of rs1"):
        simulate(BPN, seed=1, thresholds={"rs1": [0.0, 1.0]})
    with pytest.raises(ValueError, match="seed"):
        simulate(BPN, seed=-1)
    with pytest.raises(ValueError, match="sessions_per_resident"):
        SimulationDesign(sessions_per_resident=(10, 60))


def test_user_loadings_thresholds_and_correlations_are_used():
    thresholds = {"rs1": [-1.0, -0.5, 0.5, 1.0]}
    result = simulate(
        BPN,
        seed=3,
        n_programs=2,
        loadings={"rs1": 0.5},
        thresholds=thresholds,
        factor_correlations={("autonomy_satisfaction", "competence_satisfaction"): 0.3},
    )
    truth = result.truth
    assert truth.loadings["rs1"] == 0.5 and truth.thresholds["rs1"] == thresholds["rs1"]
    assert truth.factor_correlations.loc["competence_satisfaction", "autonomy_satisfaction"] == 0.3
    assert all(0.6 <= v <= 0.8 for k, v in truth.loadings.items() if k != "rs1")


# --------------------------------------------------------------------------- recovery of the truth


def test_sample_alpha_matches_population_alpha(large):
    truth = large.truth
    for sub_id, items in subscale_items(large).items():
        alpha, se = cronbach_alpha(keyed(large, items))
        assert 0.6 < truth.population_alpha[sub_id] < 0.95
        assert abs(alpha - truth.population_alpha[sub_id]) < 4 * se, (sub_id, alpha, se)


def test_ordinal_item_correlations_match_the_model_within_each_subscale(large):
    n = len(large.responses)
    for sub_id, items in subscale_items(large).items():
        implied = large.truth.population_item_correlations[sub_id].loc[items, items].to_numpy()
        sample = np.corrcoef(keyed(large, items), rowvar=False)
        assert_correlations_close(sample, implied, n)


def test_ordinal_item_correlations_agree_between_two_large_samples(large, large_again):
    items = large.item_columns
    scored = [i for i in items if i in large.truth.loadings]
    a = np.corrcoef(keyed(large, scored), rowvar=False)
    b = np.corrcoef(keyed(large_again, scored), rowvar=False)
    n = min(len(large.responses), len(large_again.responses))
    se_difference = math.sqrt(2) * correlation_se((a + b) / 2, n)
    assert np.all(np.abs(a - b) < 5 * se_difference + 1e-12)
    # The samples are not trivially equal, and satisfaction vs frustration items correlate negatively.
    assert not np.allclose(a, b)
    assert a[scored.index("rs1"), scored.index("rf1")] < -0.15


def test_latent_correlations_match_loadings_and_factor_correlations(large):
    truth = large.truth
    n = len(truth.latent)
    phi = truth.factor_correlations.to_numpy()
    sample = truth.latent[truth.factors].corr().to_numpy()
    assert_correlations_close(sample, phi, n)
    # The latent item responses: corr = loading_j * loading_k * phi(f_j, f_k).
    ystar = truth.latent_responses.drop(columns=["resident", "wave"])
    implied = truth.latent_item_correlations.loc[ystar.columns, ystar.columns].to_numpy()
    lam = np.array([truth.loadings[i] for i in ystar.columns])
    same = truth.factor_correlations.loc[
        [truth.item_factor[i] for i in ystar.columns], [truth.item_factor[i] for i in ystar.columns]
    ].to_numpy()
    off = ~np.eye(len(lam), dtype=bool)
    assert np.allclose(implied[off], (np.outer(lam, lam) * same)[off])
    sample = ystar.corr().to_numpy()
    assert_correlations_close(sample, implied, n)
    # Each factor has unit variance, as the standardized effects assume.
    assert np.allclose(truth.latent[truth.factors].var(), 1, atol=0.05)


def test_default_factor_correlations_follow_sdt():
    phi = simulate(BPN, seed=1, n_programs=2).truth.factor_correlations
    satisfaction = [f for f in phi.index if f.endswith("satisfaction")]
    frustration = [f for f in phi.index if f.endswith("frustration")]
    off = ~np.eye(3, dtype=bool)
    assert (phi.loc[satisfaction, satisfaction].to_numpy()[off] > 0).all()
    assert (phi.loc[frustration, frustration].to_numpy()[off] > 0).all()
    assert (phi.loc[satisfaction, frustration].to_numpy() < 0).all()


def test_continuity_effect_is_recovered(large):
    truth = large.truth
    latent = truth.latent.merge(truth.continuity[["resident", "coc_z"]], on="resident")
    x = latent["coc_z"].to_numpy()
    assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
    for factor, effect in truth.continuity_effects.items():
        y = latent[factor].to_numpy()
        slope, intercept = np.polyfit(x, y, 1)
        residual = y - (intercept + slope * x)
        se = math.sqrt(residual.var(ddof=2) / (len(x) * x.var()))
        assert abs(slope - effect) < 4 * se, (factor, slope, effect, se)
    assert (
        truth.continuity_effects["relatedness_satisfaction"]
        > 0
        > truth.continuity_effects["relatedness_frustration"]
    )
    assert (
        abs(truth.continuity_effects["relatedness_frustration"])
        < truth.continuity_effects["relatedness_satisfaction"]
    )
    # The scored subscale (mean of keyed items) carries the effect, attenuated by measurement error.
    score = keyed(large, ["rs1", "rs2", "rs3", "rs4"]).mean(axis=1)
    by_resident = pd.Series(score, index=large.responses["resident"])
    z = truth.continuity.set_index("resident")["coc_z"].loc[by_resident.index].to_numpy()
    standardized = np.polyfit(z, (score - score.mean()) / score.std(), 1)[0]
    assert 0.5 * truth.continuity_effects["relatedness_satisfaction"] < standardized
    assert standardized < truth.continuity_effects["relatedness_satisfaction"]


def test_between_program_variance_is_recovered():
    # One clinic per program, so the between-program variance is program_sd^2 + clinic_sd^2.
    result = simulate(
        BPN, seed=99, n_programs=400, residents_per_program=(20, 30), clinics_per_program=(1, 1), n_waves=1
    )
    truth = result.truth
    factor = "relatedness_satisfaction"
    latent = truth.latent.merge(truth.continuity[["resident", "program", "pgy", "coc_z"]], on="resident")
    pgy_mean = np.mean(result.design.pgy_levels)
    y = (
        latent[factor]
        - truth.continuity_effects.get(factor, 0) * latent["coc_z"]
        - truth.pgy_effects.get(factor, 0) * (latent["pgy"] - pgy_mean)
    )
    groups = y.groupby(latent["program"])
    n_i, means = groups.size().to_numpy(), groups.mean().to_numpy()
    n, k = n_i.sum(), len(n_i)
    ms_between = (n_i * (means - y.mean()) ** 2).sum() / (k - 1)
    ms_within = groups.var(ddof=1).mul(n_i - 1).sum() / (n - k)
    n0 = (n - (n_i**2).sum() / n) / (k - 1)
    estimate = (ms_between - ms_within) / n0
    expected = truth.program_sd[factor] ** 2 + truth.clinic_sd[factor] ** 2
    se = math.sqrt(2 / (k - 1)) * (expected + ms_within / n0)
    assert abs(estimate - expected) < 4 * se, (estimate, expected, se)
    # And it matches the variance of the realized effects much more tightly.
    realized = (truth.program_effects[factor].to_numpy() + truth.clinic_effects[factor].to_numpy()).var(
        ddof=1
    )
    assert abs(estimate - realized) < 4 * math.sqrt(2 / (k - 1)) * (
        ms_within / n0 + 2 * math.sqrt(realized * ms_within / n0)
    )
    # The realized effects have the design's standard deviations (chi-square sampling error).
    for effects, sd in ((truth.program_effects, truth.program_sd), (truth.clinic_effects, truth.clinic_sd)):
        ratio = effects[factor].var(ddof=1) / sd[factor] ** 2
        assert abs(ratio - 1) < 4 * math.sqrt(2 / (len(effects) - 1)), ratio
    # The within-program (residual) variance is what the unit-variance model leaves.
    assert abs(ms_within - truth.residual_covariance.loc[factor, factor]) < 0.05


def test_schedule_indices_equal_the_truth_exactly(default):
    computed = indices_from_schedule(default.schedule)
    truth = default.truth.continuity.set_index("resident").loc[computed.index]
    assert (computed["n_sessions"] == truth["n_sessions"]).all()
    assert (computed["n_faculty"] == truth["n_faculty"]).all()
    for index in ("upc", "coc", "secon", "mmci"):
        np.testing.assert_allclose(computed[index], truth[index], rtol=0, atol=1e-12, err_msg=index)
    # Continuity varies by resident, over most of its range.
    assert truth["coc"].std() > 0.1 and truth["coc"].min() < 0.3 and truth["coc"].max() > 0.8
    # Each resident's sessions are in their clinic's faculty pool, with one designated preceptor.
    sched = default.schedule.merge(default.truth.continuity[["resident", "clinic"]], on="resident")
    assert (sched["faculty"].str.rsplit("-", n=1).str[0] == sched["clinic"]).all()
    assert (sched.groupby("resident")["assigned"].nunique() == 1).all()


# --------------------------------------------------------------------------- waves, missingness, branching


def test_attrition_is_applied():
    result = simulate(BPN, seed=8, n_programs=40, n_waves=3, attrition=0.2)
    responses = result.responses
    previous = set(responses.loc[responses["wave"] == 1, "resident"])
    assert len(previous) == len(result.truth.continuity)
    for wave in (2, 3):
        current = set(responses.loc[responses["wave"] == wave, "resident"])
        assert current < previous
        assert len(current) == len(previous) - round(0.2 * len(previous))
        assert sorted(previous - current) == result.truth.dropped[wave]
        previous = current
    latent = result.truth.latent
    assert latent.groupby("wave")["responded"].sum().tolist() == responses.groupby("wave").size().tolist()
    # Latent scores keep unit variance and correlate 1 - psi * (1 - stability) between waves
    # (the structural effects are constant, the residual, of variance psi, is autoregressive).
    factor = "relatedness_frustration"
    wide = latent.pivot(index="resident", columns="wave", values=factor)
    n = len(wide)
    for wave in (2, 3):
        assert abs(wide[wave].var() - 1) < 4 * math.sqrt(2 / n)
    psi = result.truth.residual_covariance.loc[factor, factor]
    implied = 1 - psi * (1 - result.design.wave_stability)
    r = np.corrcoef(wide[1], wide[2])[0, 1]
    assert abs(r - implied) < 4 * correlation_se(implied, n), (r, implied)


def test_missingness_rates_are_close_to_requested():
    mcar = 0.08
    mar_rates = {1: 0.0, 2: 0.05, 3: 0.20}
    result = simulate(BPN, seed=12, n_programs=150, n_waves=1, mcar_rate=mcar, mar_rates=mar_rates)
    responses = result.responses
    missing = responses[BPN.item_ids].isna()
    for pgy, extra in mar_rates.items():
        rows = (responses["pgy"] == pgy).to_numpy()
        rate = missing.to_numpy()[rows].mean()
        expected = 1 - (1 - mcar) * (1 - extra)
        se = math.sqrt(expected * (1 - expected) / missing.to_numpy()[rows].size)
        assert abs(rate - expected) < 4 * se, (pgy, rate, expected)
    none = simulate(BPN, seed=12, n_programs=5, mcar_rate=0.0, mar_rates={})
    assert not none.responses[BPN.item_ids].isna().any().any()
    by_program = simulate(
        BPN, seed=4, n_programs=6, mcar_rate=0.0, mar_variable="program", mar_rates={"P02": 0.5}
    )
    rates = (
        by_program.responses[BPN.item_ids].isna().mean(axis=1).groupby(by_program.responses["program"]).mean()
    )
    assert rates["P02"] > 0.35 and rates.drop("P02").max() == 0


def test_show_if_branching_and_counts_consistent_with_the_schedule():
    result = simulate([BPN, CONTINUITY], seed=21, mcar_rate=0.0, mar_rates={})
    r = result.responses
    gate = CONTINUITY.item("halfdays_with_preceptor").show_if
    shown = sdt_survey.expressions.evaluate(gate, r)
    assert shown.any() and (~shown).any()
    assert r.loc[~shown, "halfdays_with_preceptor"].isna().all()
    assert r.loc[shown, "halfdays_with_preceptor"].notna().all()
    assert (r.loc[shown, "halfdays_with_preceptor"] <= r.loc[shown, "clinic_halfdays_4wk"]).all()
    assert r["has_usual_preceptor"].isin([0, 1]).all() and r["longitudinal_team"].isin([0, 1, 2]).all()
    # Half-days in the 4 weeks before each wave equal the sessions in the schedule.
    sched = result.schedule
    for wave, day in enumerate(result.truth.wave_dates, start=1):
        end = pd.Timestamp(day)
        window = sched[(sched["session_date"] >= end - pd.Timedelta(days=28)) & (sched["session_date"] < end)]
        counts = window.groupby("resident").size()
        with_preceptor = (window["faculty"] == window["assigned"]).groupby(window["resident"]).sum()
        rows = r[r["wave"] == wave].set_index("resident")
        expected = counts.reindex(rows.index, fill_value=0)
        assert (rows["clinic_halfdays_4wk"] == expected).all()
        asked = rows["halfdays_with_preceptor"].notna()
        assert (rows.loc[asked, "halfdays_with_preceptor"] == with_preceptor.reindex(rows.index[asked])).all()
    # Residents who mostly see their preceptor say they have a usual one.
    upc = result.truth.continuity.set_index("resident")["upc"]
    says = r[r["wave"] == 1].set_index("resident")["has_usual_preceptor"]
    assert upc[says == 1].mean() > upc[says == 0].mean() + 0.15
    # Coach meetings accumulate over the year.
    wide = r.pivot(index="resident", columns="wave", values="coach_meetings_year").dropna()
    assert (wide[2] >= wide[1]).all() and wide[2].mean() > wide[1].mean()


def test_reverse_worded_items_correlate_negatively_before_keying(large):
    responses = large.responses
    for inst in large.instruments:
        for sub in inst.subscales.values():
            for item_id in sub.items:
                if item_id not in large.truth.reverse_worded:
                    continue
                others = [i for i in sub.items if i != item_id and i not in large.truth.reverse_worded]
                raw = responses[[item_id, *others]].corr().loc[item_id, others]
                assert (raw < -0.2).all(), (item_id, raw.to_dict())
                flipped = (6 - responses[item_id]).to_frame().join(responses[others]).corr()
                assert (flipped.loc[item_id, others] > 0.2).all()
    assert large.truth.reverse_worded == ["as4", "rs4", "cs4", "pcs3"]


# --------------------------------------------------------------------------- messy exports


def test_messy_faults_are_present_as_recorded():
    counts = {"out_of_range": 4, "label_typo": 2, "duplicate_id": 3, "missing_code": 3, "empty_row": 2}
    clean = simulate(ALL, seed=31)
    messy = simulate(ALL, seed=31, messy=True, messy_counts=counts)
    r, faults = messy.responses, messy.truth.faults
    assert {k: len(messy.truth.faults_of(k)) for k in counts} == counts
    items = messy.item_columns
    instruments = {item.id: item for inst in messy.instruments for item in inst.items}
    for fault in faults:
        row = r.iloc[fault["row"]]
        if fault["fault"] in ("out_of_range", "missing_code", "label_typo"):
            assert row["resident"] == fault["resident"] and row["wave"] == fault["wave"]
            value, scale = row[fault["column"]], instruments[fault["column"]].scale
            assert value == fault["value"]
            if fault["fault"] == "out_of_range":
                assert not scale.min <= value <= scale.max and value not in scale.missing_codes
            elif fault["fault"] == "missing_code":
                assert value == -99 and value in scale.missing_codes
            else:
                assert isinstance(value, str) and r[fault["column"]].dtype == object
                labels = [label.get() for label in scale.labels]
                assert value not in labels and fault["label"] in labels
                assert fault["label"] == scale.label_for(fault["original"])
        elif fault["fault"] == "duplicate_id":
            source = r.iloc[fault["duplicate_of"]]
            assert (
                (source["resident"], source["wave"])
                == (row["resident"], row["wave"])
                == (
                    fault["resident"],
                    fault["wave"],
                )
            )
            same = (row[items] == source[items]) | (row[items].isna() & source[items].isna())
            assert same.all() == fault["identical"]
            if not fault["identical"]:
                assert sorted(same.index[~same]) == fault["changed_columns"]
        else:
            assert row.isna().all()
    assert r.duplicated(["resident", "wave"]).sum() == counts["duplicate_id"] + counts["empty_row"] - 1
    # Everything else is exactly the clean data set with the same seed.
    inserted = [f["row"] for f in faults if f["fault"] in ("duplicate_id", "empty_row")]
    restored = r.drop(index=inserted).reset_index(drop=True)
    for fault in faults:
        if "column" in fault:
            position = fault["row"] - sum(1 for i in inserted if i < fault["row"])
            restored.loc[position, fault["column"]] = fault["original"]
    for column in restored.columns:
        if restored[column].dtype == object and clean.responses[column].dtype == float:
            restored[column] = restored[column].astype(float)
    pd.testing.assert_frame_equal(restored, clean.responses)


def test_clean_data_has_no_faults(default):
    assert default.truth.faults == []
    assert all(default.responses[c].dtype == float for c in default.item_columns)


# --------------------------------------------------------------------------- writing


def test_write_files_round_trip(tmp_path):
    result = simulate([BPN, CONTINUITY], seed=6, n_programs=3, messy=True)
    paths = result.write(tmp_path)
    assert [p.name for p in paths] == [
        "responses.csv",
        "responses_w1.csv",
        "responses_w2.csv",
        "schedule.csv",
        "truth.json",
    ]
    everything = pd.read_csv(tmp_path / "responses.csv")
    assert everything.shape == result.responses.shape
    waves = [pd.read_csv(tmp_path / f"responses_w{w}.csv") for w in (1, 2)]
    assert sum(len(w) for w in waves) == len(everything)
    assert (waves[1]["wave"].dropna() == 2).all()
    text = (tmp_path / "responses.csv").read_text()
    assert "-99" in text and "ture" in text and ".0," not in text  # codes are written as integers
    schedule = pd.read_csv(tmp_path / "schedule.csv")
    assert (
        len(schedule) == len(result.schedule)
        and schedule["session_date"].str.match(r"\d{4}-\d\d-\d\d$").all()
    )
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["seed"] == 6 and truth["continuity_index"] == "coc"
    coc = pd.DataFrame(truth["continuity"]).set_index("resident")["coc"]
    np.testing.assert_allclose(coc, result.truth.continuity.set_index("resident")["coc"], rtol=1e-12)
    assert len(truth["faults"]) == len(result.truth.faults)
    assert truth["loadings"] == result.truth.loadings
    assert len(truth["latent"]) == len(result.truth.latent)


def test_design_round_trips_through_replace():
    design = SimulationDesign(n_programs=3, messy=True)
    result = simulate(BPN, seed=2, design=design, attrition=0.5)
    assert result.design == dataclasses.replace(design, attrition=0.5)
    assert result.design.to_dict()["wave_dates"] == result.truth.wave_dates
