"""sdt_survey.reliability against R's psych.

Goldens come from two places:

- the reference folder (``tests/data/reference``):
  ``public/ref_bfi.json``, ``sdt-sim/reference.json`` and
  ``sdt-sim/reference_extra.json``, made by the R scripts beside them;
- ``tests/goldens/psych_reliability.json``, made by
  ``tests/goldens/psych_reliability.R`` (psych 2.2.9) for what the shared files
  lack: psych::alpha's whole table (pairwise and listwise), Feldt and Duhachek
  intervals, the Schmid-Leiman solution, more omega, splitHalf, polychoric and
  ICC cases.

Both need the data in the shared folder; without it those tests are skipped.
The test suite never runs R.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdt_survey import reliability as rel
from tests.conftest import REFERENCE

REF = REFERENCE
GOLDENS = Path(__file__).resolve().parent / "goldens" / "psych_reliability.json"

needs_ref = pytest.mark.skipif(
    not REF.is_dir(), reason=f"shared reference folder not found at {REF} (goldens and their data live there)"
)

SUBSCALES = {
    "autonomy_satisfaction": ["as1", "as2", "as3", "as4"],
    "autonomy_frustration": ["af1", "af2", "af3", "af4"],
    "relatedness_satisfaction": ["rs1", "rs2", "rs3", "rs4"],
    "relatedness_frustration": ["rf1", "rf2", "rf3", "rf4"],
    "competence_satisfaction": ["cs1", "cs2", "cs3", "cs4"],
    "competence_frustration": ["cf1", "cf2", "cf3", "cf4"],
}
ITEMS24 = [i for items in SUBSCALES.values() for i in items]
BFI_SCALES = {s: [f"{s}{i}" for i in range(1, 6)] for s in "ACENO"}
BFI_REVERSED = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def w1() -> pd.DataFrame:
    if not REF.is_dir():
        pytest.skip(f"shared reference folder not found at {REF}")
    d = pd.read_csv(REF / "sdt-sim" / "responses_w1.csv")
    for item in ("as4", "rs4", "cs4"):
        d[item] = 6 - d[item]
    return d


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    if not REF.is_dir():
        pytest.skip(f"shared reference folder not found at {REF}")
    b = pd.read_csv(REF / "public" / "bfi.csv", index_col=0)
    for item in BFI_REVERSED:
        b[item] = 7 - b[item]
    return b


@pytest.fixture(scope="module")
def ref_bfi() -> dict:
    return json.loads((REF / "public" / "ref_bfi.json").read_text())


@pytest.fixture(scope="module")
def ref_sim() -> dict:
    return json.loads((REF / "sdt-sim" / "reference.json").read_text())


@pytest.fixture(scope="module")
def ref_extra() -> dict:
    return json.loads((REF / "sdt-sim" / "reference_extra.json").read_text())


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads(GOLDENS.read_text())


@pytest.fixture(scope="module")
def alphas_w1(w1):
    """psych::alpha per subscale, pairwise and listwise (computed once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            missing: {s: rel.alpha(w1[items], missing=missing) for s, items in SUBSCALES.items()}
            for missing in ("pairwise", "listwise")
        }


@pytest.fixture(scope="module")
def alphas_bfi(bfi):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            missing: {s: rel.alpha(bfi[items], missing=missing) for s, items in BFI_SCALES.items()}
            for missing in ("pairwise", "listwise")
        }


@pytest.fixture(scope="module")
def omega6(w1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rel.omega(w1[ITEMS24], nfactors=6, fm="minres")


def simulated(n=400, k=4, seed=0, missing=0.0, loading=1.0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(3 + loading * f + rng.normal(size=(n, k))), 1, 5)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"q{i + 1}" for i in range(k)])


def close(actual, expected, tol, what=""):
    assert expected is not None, f"{what}: golden is null"
    assert math.isfinite(actual), f"{what}: got {actual}"
    assert abs(actual - expected) <= tol, f"{what}: {actual!r} vs psych {expected!r} (tolerance {tol})"


# --------------------------------------------------------------------------- shared goldens: alpha


@needs_ref
@pytest.mark.parametrize("scale", list(BFI_SCALES))
def test_bfi_alpha_matches_psych(scale, alphas_bfi, ref_bfi, bfi):
    ref = ref_bfi[f"alpha_{scale}"]
    res = alphas_bfi["pairwise"][scale]
    close(res.alpha, ref["raw_alpha"], 1e-6, "raw alpha")
    close(res.alpha_std, ref["std_alpha"], 1e-6, "std alpha")
    close(res.g6, ref["G6"], 1e-6, "G6")
    close(res.average_r, ref["average_r"], 1e-6, "average r")
    close(res.alpha_se, ref["ase"], 1e-6, "ase")
    for item in BFI_SCALES[scale]:
        close(res.item_stats.at[item, "r_drop"], ref["r_drop"][item], 1e-6, f"r.drop {item}")
        close(res.alpha_drop.at[item, "raw_alpha"], ref["alpha_if_deleted"][item], 1e-6, f"alpha drop {item}")
    assert res.n_complete == ref["n_complete"]
    assert res.n_obs == len(bfi)
    assert res.missing == "pairwise"


@needs_ref
@pytest.mark.parametrize("scale", list(BFI_SCALES))
def test_bfi_omega_total_matches_psych(scale, bfi, ref_bfi):
    close(
        rel.omega_total(bfi[BFI_SCALES[scale]]), ref_bfi[f"alpha_{scale}"]["omega_total"], 1e-4, "omega total"
    )


@needs_ref
@pytest.mark.parametrize("scale", list(SUBSCALES))
def test_sdt_alpha_matches_psych(scale, alphas_w1, ref_sim, w1):
    ref = ref_sim["alpha"][scale]
    res = alphas_w1["pairwise"][scale]
    close(res.alpha, ref["alpha"], 1e-6, "raw alpha")
    close(res.alpha_std, ref["alpha_std"], 1e-6, "std alpha")
    close(res.g6, ref["g6"], 1e-6, "G6")
    close(res.average_r, ref["average_r"], 1e-6, "average r")
    close(res.alpha_se, ref["ase"], 1e-6, "ase")
    for item in SUBSCALES[scale]:
        close(res.item_stats.at[item, "r_drop"], ref["r_drop"][item], 1e-6, f"r.drop {item}")
        close(res.alpha_drop.at[item, "raw_alpha"], ref["alpha_if_deleted"][item], 1e-6, f"alpha drop {item}")
    close(rel.omega_total(w1[SUBSCALES[scale]]), ref["omega_total"], 1e-4, "omega total")


# ------------------------------------------------------------------ own goldens: psych::alpha's whole table

TOTAL_FIELDS = {
    "alpha": "raw_alpha",
    "alpha_std": "std_alpha",
    "g6": "G6",
    "average_r": "average_r",
    "signal_noise": "signal_noise",
    "alpha_se": "ase",
    "mean": "mean",
    "sd": "sd",
    "median_r": "median_r",
    "var_r": "var_r",
}
DROP_FIELDS = {
    "raw_alpha": "raw_alpha",
    "std_alpha": "std_alpha",
    "g6": "G6",
    "average_r": "average_r",
    "signal_noise": "signal_noise",
    "alpha_se": "alpha_se",
    "var_r": "var_r",
    "med_r": "med_r",
}


def assert_full_table(res: rel.AlphaResult, ref: dict, tol: float = 1e-6) -> None:
    """Every number psych::alpha prints."""
    assert res.n_obs == ref["n_rows"]
    for ours, theirs in TOTAL_FIELDS.items():
        if ref["total"][theirs] is None:  # psych's NA (e.g. var.r of one correlation)
            assert math.isnan(getattr(res, ours))
        else:
            close(getattr(res, ours), ref["total"][theirs], tol, ours)
    for got, want in zip(res.ci_feldt, ref["feldt"], strict=True):
        close(got, want, tol, "Feldt CI")
    for got, want in zip(res.ci_duhachek, ref["duhachek"], strict=True):
        close(got, want, tol, "Duhachek CI")
    for item, row in ref["alpha_drop"].items():
        for ours, theirs in DROP_FIELDS.items():
            if row[theirs] is None:
                assert math.isnan(res.alpha_drop.at[item, ours]), (item, ours)
            else:
                close(res.alpha_drop.at[item, ours], row[theirs], tol, f"alpha.drop {item} {ours}")
    for item, row in ref["item_stats"].items():
        for key, value in row.items():
            close(res.item_stats.at[item, key], value, tol, f"item.stats {item} {key}")
    if ref["response_freq"] is None:
        assert res.response_freq is None
    else:
        for item, row in ref["response_freq"].items():
            for key, value in row.items():
                close(res.response_freq.at[item, key], value, tol, f"response.freq {item} {key}")


@needs_ref
@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize("scale", list(SUBSCALES))
def test_sdt_full_alpha_table(scale, missing, alphas_w1, gold):
    res = alphas_w1[missing][scale]
    assert res.missing == missing
    assert_full_table(res, gold[f"sdt_{missing}"][scale])


@needs_ref
@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
@pytest.mark.parametrize("scale", list(BFI_SCALES))
def test_bfi_full_alpha_table(scale, missing, alphas_bfi, gold):
    assert_full_table(alphas_bfi[missing][scale], gold[f"bfi_{missing}"][scale])


@needs_ref
def test_listwise_is_alpha_of_complete_rows(w1, alphas_w1):
    items = SUBSCALES["competence_satisfaction"]
    direct = rel.alpha(w1[items].dropna())
    lw = alphas_w1["listwise"]["competence_satisfaction"]
    assert lw.n_obs == direct.n_obs == len(w1[items].dropna())
    assert lw.alpha == pytest.approx(direct.alpha, abs=1e-12)
    assert direct.missing == "pairwise" and lw.missing == "listwise"


@needs_ref
def test_two_item_conventions(w1, gold):
    """psych's special alpha.drop for two items (C12 / C22 and smc as G6)."""
    assert_full_table(rel.alpha(w1[["rs1", "rs2"]]), gold["sdt_two_items"])


@needs_ref
def test_three_item_table(w1, gold):
    assert_full_table(rel.alpha(w1[["rs1", "rs2", "rs3"]]), gold["sdt_three_items"])


@needs_ref
def test_alpha_agrees_with_pingouin(w1):
    pingouin = pytest.importorskip("pingouin")
    items = w1[SUBSCALES["relatedness_satisfaction"]]
    for missing in ("pairwise", "listwise"):
        ours = rel.alpha(items, missing=missing)
        value, ci = pingouin.cronbach_alpha(data=items, nan_policy=missing)
        assert ours.alpha == pytest.approx(value, abs=1e-12)
        if missing == "pairwise":
            # pingouin's Feldt interval is rounded to 3 decimals. (After listwise deletion it
            # still uses the number of rows before deletion; psych and we use the complete rows.)
            assert np.allclose(ours.ci_feldt, ci, atol=5e-4 + 1e-12)


# --------------------------------------------------------------------------- omega


@needs_ref
def test_omega6_matches_shared_golden(omega6, ref_extra):
    ref = ref_extra["omega6"]
    close(omega6.omega_h, ref["omega_h"], 1e-3, "omega_h")
    close(omega6.omega_total, ref["omega_total"], 1e-4, "omega total")
    close(omega6.alpha, ref["alpha"], 1e-6, "alpha")
    close(omega6.ecv, ref["ecv"], 1e-3, "ECV")


@needs_ref
def test_omega6_schmid_leiman_solution(omega6, gold):
    ref = gold["sdt_omega6"]
    sl = omega6.schmid_leiman
    for col in ("g", "h2", "u2", "p2"):
        for item, value in ref[col].items():
            close(sl.at[item, col], value, 1e-4, f"{col} {item}")
    close(omega6.omega_lim, ref["omega_lim"], 1e-3, "omega_lim")
    close(omega6.g6, ref["G6"], 1e-6, "G6")
    for row, values in ref["omega_group"].items():
        for col, value in values.items():
            close(omega6.omega_group.at[row, col], value, 1e-3, f"omega.group {row} {col}")
    assert omega6.missing == "pairwise" and omega6.nfactors == 6


@needs_ref
def test_omega_with_declared_groups(w1, omega6):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rel.omega(w1, groups=SUBSCALES)
    assert res.nfactors == 6
    assert res.omega_h == pytest.approx(omega6.omega_h, abs=1e-12)
    # each declared subscale claims its own group factor
    assert sorted(res.subscales["factor"]) == [f"F{i}*" for i in range(1, 7)]
    by_factor = omega6.omega_group
    for sid, row in res.subscales.iterrows():
        assert row["omega_total"] == pytest.approx(by_factor.at[row["factor"], "total"], abs=1e-12), sid


@needs_ref
def test_omega_one_two_three_and_bfi_five_factors(w1, bfi, gold):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = rel.omega(w1[ITEMS24], nfactors=1)
        two = rel.omega(
            w1[SUBSCALES["relatedness_satisfaction"] + SUBSCALES["competence_satisfaction"]], nfactors=2
        )
        sat = (
            SUBSCALES["autonomy_satisfaction"]
            + SUBSCALES["relatedness_satisfaction"]
            + SUBSCALES["competence_satisfaction"]
        )
        three = rel.omega(w1[sat], nfactors=3)
        five = rel.omega(bfi[[i for items in BFI_SCALES.values() for i in items]], nfactors=5)
    ref = gold["sdt_omega1"]
    close(one.omega_total, ref["omega_total"], 1e-4, "omega1 total")
    close(one.omega_h, ref["omega_h"], 1e-3, "omega1 h")
    # the 24 items mix satisfaction and frustration: the general factor is signed to a positive
    # loading sum (psych::fa) and the negative loaders, here the satisfaction items, are reversed
    assert set(one.reversed_items) == {
        i for s, items in SUBSCALES.items() if "satisfaction" in s for i in items
    }
    for res, key in ((two, "sdt_omega2"), (three, "sdt_omega3"), (five, "bfi_omega5")):
        close(res.omega_h, gold[key]["omega_h"], 1e-3, f"{key} omega_h")
        close(res.omega_total, gold[key]["omega_total"], 1e-4, f"{key} omega total")
        close(res.ecv, gold[key]["ecv"], 1e-3, f"{key} ECV")


@needs_ref
def test_reverse_keyed_omega_total_equals_psych_regardless_of_sign(w1):
    """omega total is invariant to reversing an item (psych flips negative loaders)."""
    items = w1[SUBSCALES["relatedness_satisfaction"]].copy()
    flipped = items.assign(rs4=6 - items["rs4"])
    assert rel.omega_total(flipped) == pytest.approx(rel.omega_total(items), abs=1e-8)


# --------------------------------------------------------------------------- split half


@needs_ref
def test_split_half_matches_shared_golden(w1, ref_extra):
    items = w1[SUBSCALES["relatedness_satisfaction"] + SUBSCALES["relatedness_frustration"]]
    with pytest.warns(UserWarning, match="reversed"):
        res = rel.split_half(items)
    ref = ref_extra["splithalf_r8"]
    close(res.max_split, ref["max"], 1e-6, "max")
    close(res.min_split, ref["min"], 1e-6, "min")
    close(res.mean_split, ref["mean"], 1e-6, "mean")
    assert res.n_splits == 35 and res.exhaustive
    assert set(res.reversed_items) == set(SUBSCALES["relatedness_frustration"])


@needs_ref
def test_split_half_all_coefficients(w1, gold):
    res = rel.split_half(w1[SUBSCALES["relatedness_satisfaction"]])
    ref = gold["sdt_splithalf_rs"]
    fields = {"max_split": "max", "min_split": "min", "mean_split": "mean", "alpha": "alpha"}
    fields |= {"lambda2": "lambda2", "lambda6": "lambda6", "average_r": "av_r", "median_r": "med_r"}
    for ours, theirs in fields.items():
        close(getattr(res, ours), ref[theirs], 1e-6, ours)
    sat = (
        SUBSCALES["autonomy_satisfaction"]
        + SUBSCALES["relatedness_satisfaction"]
        + SUBSCALES["competence_satisfaction"]
    )
    res12 = rel.split_half(w1[sat])
    assert res12.n_splits == 462
    for ours, theirs in {
        "max_split": "max",
        "min_split": "min",
        "mean_split": "mean",
        "lambda6": "lambda6",
    }.items():
        close(getattr(res12, ours), gold["sdt_splithalf_12"][theirs], 1e-6, ours)


@needs_ref
def test_split_half_odd_number_of_items(bfi, gold):
    """psych 2.2.9 scans only the first half of its subset list for odd k; we scan all splits."""
    res = rel.split_half(bfi[BFI_SCALES["A"]])
    ref = gold["bfi_splithalf_A"]
    assert res.n_splits == 10
    close(res.max_split, ref["max"], 1e-6, "max")
    close(res.min_split, ref["min"], 1e-6, "min")
    # psych's mean is the mean of the first choose(5, 2) / 2 = 5 splits in the same order
    close(float(res.splits[:5].mean()), ref["mean"], 1e-6, "psych's mean over its 5 splits")
    even = rel.split_half(bfi[BFI_SCALES["A"] + BFI_SCALES["C"]])
    assert even.n_splits == 126
    for ours, theirs in {"max_split": "max", "min_split": "min", "mean_split": "mean"}.items():
        close(getattr(even, ours), gold["bfi_splithalf_AC"][theirs], 1e-6, ours)


def test_split_half_samples_above_max_exhaustive():
    items = simulated(n=300, k=18, seed=3)
    a = rel.split_half(items, n_samples=500, seed=11)
    b = rel.split_half(items, n_samples=500, seed=11)
    assert not a.exhaustive and a.n_splits == 500 and a.seed == 11
    assert a.to_dict() == b.to_dict()
    exhaustive = rel.split_half(items.iloc[:, :10], max_exhaustive=16)
    assert exhaustive.exhaustive and exhaustive.n_splits == 126
    assert a.min_split <= a.mean_split <= a.max_split


# --------------------------------------------------------------------------- polychoric


def assert_poly(res: rel.PolychoricResult, ref: dict, tol: float) -> None:
    for i, row in ref["rho"].items():
        for j, value in row.items():
            close(res.rho.at[i, j], value, tol, f"rho {i} {j}")
    for i, row in ref["tau"].items():
        for j, value in row.items():
            close(res.tau.at[i, j], value, tol, f"tau {i} {j}")


@needs_ref
def test_polychoric_matches_shared_golden(w1, ref_extra):
    res = rel.polychoric(w1[SUBSCALES["relatedness_satisfaction"]])
    assert_poly(res, ref_extra["polychoric_rs"], 1e-3)
    # with R's optimize() tolerance the values are psych's to far better than 1e-3
    assert_poly(res, ref_extra["polychoric_rs"], 1e-6)
    exact = rel.polychoric(w1[SUBSCALES["relatedness_satisfaction"]], tol=1e-10)
    assert_poly(exact, ref_extra["polychoric_rs"], 1e-3)


@needs_ref
def test_polychoric_more_items_and_missing_data(w1, bfi, gold):
    assert_poly(rel.polychoric(w1[ITEMS24[:8]]), gold["sdt_polychoric8"], 1e-6)
    assert_poly(rel.polychoric(bfi[BFI_SCALES["A"]]), gold["bfi_polychoric_A"], 1e-6)


@needs_ref
def test_ordinal_alpha_and_omega(w1, gold):
    poly = rel.polychoric(w1[SUBSCALES["relatedness_satisfaction"]])
    close(rel.ordinal_alpha(poly), gold["sdt_ordinal_alpha_rs"]["alpha"], 1e-6, "ordinal alpha")
    close(
        rel.ordinal_omega(poly).omega_total,
        gold["sdt_ordinal_omega_rs"]["omega_total"],
        1e-4,
        "ordinal omega",
    )
    # a frame works as well as a PolychoricResult
    assert rel.ordinal_alpha(w1[SUBSCALES["relatedness_satisfaction"]]) == pytest.approx(
        rel.ordinal_alpha(poly)
    )


def test_bivariate_normal_against_scipy():
    from scipy import stats

    from sdt_survey.stats.bivariate_normal import bvn_upper

    h = np.array([-1.3, -0.2, 0.0, 0.7, 1.9])
    k = np.array([0.4, -1.1, 0.0, 0.7, -0.3])
    for r in (-0.95, -0.6, -0.1, 0.2, 0.5, 0.8, 0.93, 0.99):
        ours = bvn_upper(-h, -k, r)  # P(X < h, Y < k)
        mvn = stats.multivariate_normal([0, 0], [[1, r], [r, 1]])
        theirs = np.array([mvn.cdf([a, b]) for a, b in zip(h, k, strict=True)])
        assert np.allclose(ours, theirs, atol=1e-6), r


def test_polychoric_rejects_non_categorical():
    with pytest.raises(ValueError, match="integer"):
        rel.polychoric(pd.DataFrame({"a": [1.5, 2, 3, 1], "b": [1, 2, 3, 2]}))
    with pytest.raises(ValueError, match="categories"):
        rel.polychoric(pd.DataFrame({"a": range(20), "b": range(20)}))


# -------------------------------------------------------------------------- group reliability, test-retest


@needs_ref
def test_group_icc_matches_statsby(w1, ref_extra):
    scores = pd.read_csv(REF / "sdt-sim" / "scores_truth.csv").merge(
        w1[["resident", "program"]], on="resident"
    )
    both = scores[["program", "relatedness_satisfaction", "relatedness_frustration"]].dropna()
    ref = ref_extra["icc_program"]
    assert len(both) == ref["n_complete"]
    for score in ("relatedness_satisfaction", "relatedness_frustration"):
        res = rel.group_reliability(both[score], both["program"])
        close(res.icc1, ref["icc1"][score], 1e-3, f"ICC1 {score}")
        close(res.icc2, ref["icc2"][score], 1e-3, f"ICC2 {score}")
        close(res.icc1, ref["icc1"][score], 1e-10, f"ICC1 {score} (exact)")
        assert res.design_effect == pytest.approx(1 + (res.mean_group_size - 1) * res.icc1)
        assert res.n == len(both) and res.n_groups == both["program"].nunique()


def test_group_reliability_drops_missing_and_validates():
    g = pd.Series(["a", "a", "b", "b", "c", "c", None])
    y = pd.Series([1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0])
    res = rel.group_reliability(y, g)
    assert res.n == 5 and res.n_groups == 3
    with pytest.raises(ValueError, match="two groups"):
        rel.group_reliability(pd.Series([1.0, 2.0]), pd.Series(["a", "a"]))
    with pytest.raises(TypeError):
        rel.group_reliability([1, 2], pd.Series(["a", "b"]))


@needs_ref
def test_test_retest_matches_psych_icc(w1, gold):
    pytest.importorskip("pingouin")
    d2 = pd.read_csv(REF / "sdt-sim" / "responses_w2.csv")
    d2["rs4"] = 6 - d2["rs4"]
    items = SUBSCALES["relatedness_satisfaction"]
    first = w1.set_index("resident")[items].mean(axis=1)
    second = d2.set_index("resident")[items].mean(axis=1)
    ref = gold["sdt_icc_retest"]
    for form, row in ref["results"].items():
        res = rel.test_retest(first, second, form=form)
        assert res.n == ref["n"]
        close(res.icc, row["ICC"], 1e-6, f"{form} ICC")
        close(res.f, row["F"], 1e-6, f"{form} F")
        close(res.ci[0], row["lower"], 1e-6, f"{form} lower")
        close(res.ci[1], row["upper"], 1e-6, f"{form} upper")
    default = rel.test_retest(first, second)
    assert default.form == "ICC2"
    assert "absolute agreement" in default.summary()


# --------------------------------------------------------------------------- bootstrap


def naive_pairwise_alpha(x: np.ndarray) -> float:
    cov = pd.DataFrame(x).cov().to_numpy()  # pairwise, like R's cov(use = "pairwise")
    k = cov.shape[0]
    return k / (k - 1) * (1 - np.trace(cov) / cov.sum())


@pytest.mark.parametrize("missing", [0.0, 0.08])
def test_vectorized_bootstrap_equals_a_loop_over_resamples(missing):
    items = simulated(n=250, k=5, seed=4, missing=missing)
    res = rel.alpha(items, bootstrap=40, seed=123)
    x = items.to_numpy()
    idx = np.random.default_rng(123).integers(0, len(x), size=(40, len(x)))  # the same draws
    loop = np.array([naive_pairwise_alpha(x[i]) for i in idx])
    assert np.allclose(res.bootstrap_distribution, loop, atol=1e-10)


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_jackknife_equals_a_loop(missing):
    items = simulated(n=60, k=4, seed=5, missing=missing)
    x = items.to_numpy()
    jack = rel._BootDesign([x]).jackknife()[:, 0]
    loop = np.array([naive_pairwise_alpha(np.delete(x, i, axis=0)) for i in range(len(x))])
    assert np.allclose(jack, loop, atol=1e-10)


def test_bootstrap_intervals_are_seeded_and_sensible():
    items = simulated(n=300, k=6, seed=6, missing=0.03)
    a = rel.alpha(items, bootstrap=500, seed=9)
    b = rel.alpha(items, bootstrap=500, seed=9)
    c = rel.alpha(items, bootstrap=500, seed=10)
    assert a.ci_bootstrap_bca == b.ci_bootstrap_bca and a.ci_bootstrap_percentile == b.ci_bootstrap_percentile
    assert a.ci_bootstrap_bca != c.ci_bootstrap_bca
    for ci in (a.ci_bootstrap_percentile, a.ci_bootstrap_bca, a.ci_feldt, a.ci_duhachek):
        assert ci[0] < a.alpha < ci[1]
    # all three interval methods agree roughly at n = 300
    assert abs(a.ci_bootstrap_bca[0] - a.ci_feldt[0]) < 0.03
    assert a.ci_bootstrap == a.ci_bootstrap_bca and a.n_bootstrap == 500 and a.seed == 9
    assert rel.alpha(items).ci_bootstrap is None


def test_percentile_interval_is_quantile_type_7():
    items = simulated(n=200, k=4, seed=7)
    res = rel.alpha(items, bootstrap=101, seed=1, confidence=0.9)
    assert res.ci_bootstrap_percentile == pytest.approx(
        tuple(np.quantile(res.bootstrap_distribution, [0.05, 0.95]))
    )


# --------------------------------------------------------------------------- alpha behaviour


def test_alpha_validation():
    items = simulated()
    with pytest.raises(ValueError, match="missing"):
        rel.alpha(items, missing="mean")
    with pytest.raises(ValueError, match="at least 2 item"):
        rel.alpha(items[["q1"]])
    with pytest.raises(TypeError, match="numeric"):
        rel.alpha(items.assign(q1="x"))
    with pytest.raises(TypeError, match="DataFrame"):
        rel.alpha(items.to_numpy())
    with pytest.raises(ValueError, match="confidence"):
        rel.alpha(items, confidence=95)


def test_alpha_warns_about_negative_items_and_constant_items():
    items = simulated(seed=8)
    with pytest.warns(UserWarning, match="reversed"):
        rel.alpha(items.assign(q4=6 - items["q4"]))
    with pytest.warns(UserWarning, match="without variance"):
        res = rel.alpha(items.assign(q5=3.0))
    assert math.isnan(res.item_stats.at["q5", "r_drop"])
    assert res.item_stats.at["q5", "mean"] == 3.0
    assert res.alpha == pytest.approx(rel.alpha(items).alpha)


def test_duhachek_uses_psychs_1_96():
    res = rel.alpha(simulated(seed=9))
    assert res.ci_duhachek[0] == pytest.approx(res.alpha - 1.96 * res.alpha_se, abs=1e-15)
    assert rel._z_psych(0.99) == 2.58


def test_alpha_result_outputs():
    res = rel.alpha(simulated(seed=10, missing=0.05), bootstrap=50, seed=1)
    frame = res.to_frame()
    assert list(frame.index) == ["q1", "q2", "q3", "q4"]
    assert {"r_drop", "alpha_if_deleted", "alpha_std_if_deleted", "g6_if_deleted"} <= set(frame.columns)
    d = res.to_dict()
    json.dumps(d)  # JSON-safe
    assert d["missing"] == "pairwise" and d["items"]["q1"]["n"] == res.item_stats.at["q1", "n"]
    text = res.summary()
    assert "Feldt" in text and "Duhachek" in text and "BCa" in text and "miss" in text
    assert str(res) == text


# --------------------------------------------------------------------------- reliability_table

REPORT_SCALE_KEYS = {
    "n",
    "alpha",
    "alpha_std",
    "g6",
    "average_r",
    "signal_noise",
    "alpha_se",
    "alpha_ci_feldt",
    "alpha_ci_duhachek",
    "alpha_ci_bootstrap",
    "omega_total",
    "items",
}
REPORT_ITEM_KEYS = {
    "n",
    "mean",
    "sd",
    "raw_r",
    "std_r",
    "r_cor",
    "r_drop",
    "alpha_if_deleted",
    "alpha_std_if_deleted",
}


@needs_ref
def test_reliability_table_shape_and_values(w1, ref_sim, omega6, alphas_w1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = rel.reliability_table(
            w1[ITEMS24],
            SUBSCALES,
            bootstrap=200,
            seed=42,
            groups=w1["program"],
            instrument_id="bpn-residency",
        )
    d = report.to_dict()
    json.dumps(d)
    # The documented shape, plus split-half, ordinal coefficients, and group ICCs (groups were given).
    assert set(d) == {
        "instrument",
        "missing",
        "n_respondents",
        "scales",
        "omega",
        "groups",
        "split_half",
        "ordinal",
    }
    assert set(d["groups"]) == set(SUBSCALES)
    assert d["instrument"] == "bpn-residency" and d["missing"] == "pairwise" and d["n_respondents"] == len(w1)
    assert list(d["scales"]) == list(SUBSCALES)
    assert set(d["omega"]) == {"omega_h", "omega_total", "ecv"}
    for sid, scale in d["scales"].items():
        assert set(scale) == REPORT_SCALE_KEYS
        assert list(scale["items"]) == SUBSCALES[sid]
        for item in scale["items"].values():
            assert set(item) == REPORT_ITEM_KEYS
        ref = ref_sim["alpha"][sid]
        close(scale["alpha"], ref["alpha"], 1e-6, "alpha")
        close(scale["omega_total"], ref["omega_total"], 1e-4, "omega total")
        for item_id, item in scale["items"].items():
            close(item["r_drop"], ref["r_drop"][item_id], 1e-6, "r.drop")
            close(item["alpha_if_deleted"], ref["alpha_if_deleted"][item_id], 1e-6, "alpha if deleted")
        assert len(scale["alpha_ci_bootstrap"]) == 2
        assert scale["alpha_ci_feldt"] == list(alphas_w1["pairwise"][sid].ci_feldt)
    assert d["omega"]["omega_h"] == pytest.approx(omega6.omega_h, abs=1e-12)
    assert d["omega"]["ecv"] == pytest.approx(omega6.ecv, abs=1e-12)
    assert set(report.groups) == set(SUBSCALES)
    frame = report.to_frame()
    assert {"alpha", "omega_total", "icc1", "icc2"} <= set(frame.columns)
    assert report.item_frame().shape[0] == 24


@needs_ref
def test_reliability_table_listwise_and_no_bootstrap(w1, alphas_w1):
    report = rel.reliability_table(w1, SUBSCALES, missing="listwise")
    d = report.to_dict()
    assert d["missing"] == "listwise"
    for sid, scale in d["scales"].items():
        assert scale["alpha_ci_bootstrap"] is None
        assert scale["n"] == alphas_w1["listwise"][sid].n_obs
        assert scale["alpha"] == pytest.approx(alphas_w1["listwise"][sid].alpha, abs=1e-12)


def test_report_summary_flags_weak_items():
    rng = np.random.default_rng(12)
    f = rng.normal(size=(500, 1))
    good = np.round(3 + f + rng.normal(scale=0.7, size=(500, 4)))
    noise = np.round(3 + rng.normal(size=(500, 1)))
    items = pd.DataFrame(np.hstack([good, noise]), columns=["g1", "g2", "g3", "g4", "bad"])
    other = pd.DataFrame(np.round(3 + f + rng.normal(size=(500, 3))), columns=["o1", "o2", "o3"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "bad" may correlate negatively with the total
        report = rel.reliability_table(
            pd.concat([items, other], axis=1),
            {"main": ["g1", "g2", "g3", "g4", "bad"], "other": ["o1", "o2", "o3"]},
            instrument_id="demo",
        )
    text = report.summary()
    bad_line = next(line for line in text.splitlines() if line.strip().startswith("bad "))
    assert "^ alpha rises if deleted" in bad_line and "! r.drop < .30" in bad_line
    good_line = next(line for line in text.splitlines() if line.strip().startswith("g1 "))
    assert "^" not in good_line and "!" not in good_line
    assert "flags:" in text and "Reliability: demo" in text


def test_reliability_table_single_subscale_and_errors():
    items = simulated(seed=13)
    d = rel.reliability_table(items, {"only": list(items.columns)}).to_dict()
    assert d["omega"] == {"omega_h": None, "omega_total": None, "ecv": None}
    with pytest.raises(KeyError, match="zz"):
        rel.reliability_table(items, {"s": ["q1", "zz"]})
    with pytest.raises(ValueError, match="no subscales"):
        rel.reliability_table(items, {})


def test_bootstrap_in_table_equals_per_scale_bootstrap():
    """The joint bootstrap of all subscales uses the same resamples as alpha() on one."""
    items = pd.concat(
        [simulated(n=300, k=3, seed=14, missing=0.05), simulated(n=300, k=3, seed=15).add_prefix("b")], axis=1
    )
    subscales = {"a": ["q1", "q2", "q3"], "b": ["bq1", "bq2", "bq3"]}
    report = rel.reliability_table(items, subscales, bootstrap=100, seed=3)
    alone = rel.alpha(items[["q1", "q2", "q3"]], bootstrap=100, seed=3)
    assert np.allclose(report.scales["a"].bootstrap_distribution, alone.bootstrap_distribution, atol=1e-12)
    assert report.to_dict()["scales"]["a"]["alpha_ci_bootstrap"] == list(alone.ci_bootstrap_bca)


def test_reliability_table_adds_split_half_and_ordinal_coefficients(w1, ref_extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = rel.reliability_table(w1[ITEMS24], SUBSCALES, seed=1)
    # Ordinal alpha is alpha of the polychoric matrix: against psych's polychoric of rs1-rs4.
    rho = pd.DataFrame(ref_extra["polychoric_rs"]["rho"]).to_numpy(dtype=float)
    k = rho.shape[0]
    mean_r = rho[np.triu_indices(k, 1)].mean()
    assert report.ordinal["relatedness_satisfaction"]["alpha"] == pytest.approx(
        k * mean_r / (1 + (k - 1) * mean_r), abs=1e-3
    )
    # Split-half bounds are those of split_half on the same items, and bracket the mean split.
    direct = rel.split_half(w1[SUBSCALES["relatedness_satisfaction"]])
    half = report.split_halves["relatedness_satisfaction"]
    assert (half.max_split, half.min_split) == pytest.approx((direct.max_split, direct.min_split))
    assert half.min_split <= half.mean_split <= half.max_split
    d = report.to_dict()
    assert d["split_half"]["relatedness_satisfaction"]["lambda4"] == pytest.approx(direct.max_split)
    assert "ordinal alpha" in report.summary()
