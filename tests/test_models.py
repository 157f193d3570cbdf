"""Multilevel models (sdt_survey.models) against lme4.

Goldens:

- ``tests/data/reference/sdt-sim/reference.json`` (made by ``reference.R`` beside
  it): ``lmer``, ``lmer_ml`` and ``lmer_null_icc`` for
  ``relatedness_satisfaction ~ coc + pgy + (1|program)``;
- ``tests/goldens/lme4_models.json`` (``tests/goldens/lme4_models.R``, lme4
  1.1-31): nested waves ``(1|program/resident)``, within/between effects,
  random slopes (correlated and ``||``), crossed intercepts, likelihood-ratio
  tests, a natural-spline dose-response curve and Nakagawa R².

Both need the data in the shared folder; without it those tests are skipped.
R is never needed to run the tests.

Tolerances: fixed effects 1e-5, their SEs, variance components,
log-likelihoods and R² 1e-4 (the fits agree with lme4 to about 1e-6).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdt_survey.errors import SdtSurveyError
from sdt_survey.mixed import (
    SINGULAR_MESSAGE,
    JoinError,
    ModelFitError,
    ModelFormulaError,
    fit_model,
    join_exposure,
    model_relatedness,
    parse_formula,
)
from tests.conftest import REFERENCE

REF = REFERENCE
SIM = REF / "sdt-sim"
GOLDEN = Path(__file__).resolve().parent / "goldens" / "lme4_models.json"
needs_ref = pytest.mark.skipif(
    not (SIM / "reference.json").is_file(),
    reason=f"shared reference folder not found at {REF} (goldens and their data live there)",
)

FE_TOL = 1e-5
TOL = 1e-4
FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"
WAVES = "relatedness_satisfaction ~ coc + pgy + wave + (1|program/resident)"


# --------------------------------------------------------------------------- data, as the R scripts build it


def _score_rs(d: pd.DataFrame) -> pd.Series:
    """mean of rs1..rs4 (rs4 reverse-keyed, 6 - x) when at least 3 are answered (reference.R)."""
    x = d[["rs1", "rs2", "rs3", "rs4"]].astype(float).copy()
    x["rs4"] = 6 - x["rs4"]
    return x.mean(axis=1).where(x.notna().sum(axis=1) >= 3)


def _coc(schedule: pd.DataFrame) -> pd.DataFrame:
    n = schedule.groupby("resident").size()
    squares = schedule.groupby(["resident", "faculty"]).size().pow(2).groupby("resident").sum()
    coc = ((squares - n) / (n * (n - 1))).where(n >= 2)
    return coc.rename("coc").reset_index()


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((SIM / "reference.json").read_text())


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def wave1() -> pd.DataFrame:
    """reference.R: scores_truth joined to continuity_truth and responses_w1's program and pgy."""
    scores = pd.read_csv(SIM / "scores_truth.csv")
    cont = pd.read_csv(SIM / "continuity_truth.csv")
    w1 = pd.read_csv(SIM / "responses_w1.csv")
    return scores.merge(cont, on="resident").merge(w1[["resident", "program", "pgy"]], on="resident")


@pytest.fixture(scope="module")
def one() -> pd.DataFrame:
    """lme4_models.R's wave-1 data (scores computed here as the R script does)."""
    w1 = pd.read_csv(SIM / "responses_w1.csv")
    cont = pd.read_csv(SIM / "continuity_truth.csv")
    scores = pd.DataFrame({"resident": w1["resident"], "relatedness_satisfaction": _score_rs(w1)})
    out = scores.merge(cont[["resident", "coc"]]).merge(w1[["resident", "program", "pgy"]])
    return out.dropna().reset_index(drop=True)


@pytest.fixture(scope="module")
def waves() -> pd.DataFrame:
    """lme4_models.R's waves data: both waves, cumulative COC at each wave's cut-off."""
    w1 = pd.read_csv(SIM / "responses_w1.csv")
    w2 = pd.read_csv(SIM / "responses_w2.csv")
    sched = pd.read_csv(SIM / "schedule.csv", parse_dates=["session_date"])
    cuts = pd.to_datetime(["2025-12-31", "2026-06-30"])
    expo = pd.concat([_coc(sched[sched["session_date"] <= c]).assign(wave=w + 1) for w, c in enumerate(cuts)])
    scores = pd.concat(
        [
            pd.DataFrame(
                {
                    "resident": d["resident"],
                    "program": d["program"],
                    "pgy": d["pgy"],
                    "wave": w,
                    "relatedness_satisfaction": _score_rs(d),
                }
            )
            for w, d in ((1, w1), (2, w2))
        ]
    )
    out = scores.merge(expo, on=["resident", "wave"]).dropna()
    return out.sort_values(["resident", "wave"]).reset_index(drop=True)


def _check_fit(result, gold: dict, *, fe_tol: float = FE_TOL, tol: float = TOL) -> None:
    fixed = result.fixed
    assert list(fixed.index) == list(gold["fixef"]), (list(fixed.index), list(gold["fixef"]))
    np.testing.assert_allclose(fixed["estimate"], list(gold["fixef"].values()), rtol=0, atol=fe_tol)
    np.testing.assert_allclose(fixed["se"], list(gold["se"].values()), rtol=0, atol=tol)
    assert result.loglik == pytest.approx(gold["loglik"], abs=tol)
    assert result.criterion == pytest.approx(gold["deviance_or_reml"], abs=2 * tol)
    assert result.n_obs == gold["nobs"]
    assert result.singular == gold["singular"]
    ours = result.random_frame()
    for row in gold["varcorr"]:
        grp = "program:resident" if row["grp"] == "resident:program" else row["grp"]
        grp = "program" if grp == "program.1" else grp
        if grp == "Residual":
            assert result.residual_variance == pytest.approx(row["vcov"], abs=tol)
            continue
        var2 = row.get("var2")
        match = ours[(ours["grp"] == grp) & (ours["var1"] == row["var1"])]
        match = match[match["var2"].isna()] if var2 is None else match[match["var2"] == var2]
        assert len(match) == 1, (row, ours)
        assert match["vcov"].iloc[0] == pytest.approx(row["vcov"], abs=tol), row
        assert match["sdcor"].iloc[0] == pytest.approx(row["sdcor"], abs=10 * tol), row
    assert result.r2_marginal == pytest.approx(gold["r2"]["marginal"], abs=tol)
    assert result.r2_conditional == pytest.approx(gold["r2"]["conditional"], abs=tol)


# --------------------------------------------------------------------------- reference.json (shared)


@needs_ref
def test_reml_fit_reproduces_reference_lmer(wave1, reference):
    ref = reference["lmer"]
    result = fit_model(FORMULA, wave1)
    assert result.method == "REML"
    assert result.n_obs == ref["nobs"] == 405
    np.testing.assert_allclose(result.fixed["estimate"], list(ref["fixef"].values()), rtol=0, atol=FE_TOL)
    np.testing.assert_allclose(result.fixed["se"], list(ref["se"].values()), rtol=0, atol=TOL)
    assert result.random["program"].variance == pytest.approx(ref["var_program"], abs=TOL)
    assert result.residual_variance == pytest.approx(ref["var_residual"], abs=TOL)
    assert result.icc == pytest.approx(ref["icc"], abs=TOL)
    assert result.criterion == pytest.approx(ref["reml_crit"], abs=1e-4)
    assert result.icc_null == pytest.approx(reference["lmer_null_icc"], abs=TOL)
    assert result.converged and not result.singular
    # The 3 rows with a missing score are reported, not silently dropped.
    assert any("3 of 408 rows" in w for w in result.warnings)


@needs_ref
def test_ml_fit_reproduces_reference_lmer_ml(wave1, reference):
    ref = reference["lmer_ml"]
    result = fit_model(FORMULA, wave1, reml=False)
    assert result.method == "ML"
    np.testing.assert_allclose(result.fixed["estimate"], list(ref["fixef"].values()), rtol=0, atol=FE_TOL)
    assert result.loglik == pytest.approx(ref["loglik"], abs=TOL)


@needs_ref
def test_goldens_data_built_as_in_r(one, waves, golden):
    d = golden["data"]
    assert len(one) == d["wave1"]["nobs"]
    assert one["relatedness_satisfaction"].sum() == pytest.approx(d["wave1"]["sum_y"], abs=1e-9)
    assert one["coc"].sum() == pytest.approx(d["wave1"]["sum_coc"], abs=1e-9)
    assert len(waves) == d["waves"]["nobs"]
    assert waves["resident"].nunique() == d["waves"]["n_residents"]
    assert waves["relatedness_satisfaction"].sum() == pytest.approx(d["waves"]["sum_y"], abs=1e-9)
    assert waves["coc"].sum() == pytest.approx(d["waves"]["sum_coc"], abs=1e-9)


@needs_ref
def test_reference_r2_and_lrt(one, golden):
    result = fit_model(FORMULA, one)
    assert result.r2_marginal == pytest.approx(golden["reference_r2"]["marginal"], abs=TOL)
    assert result.r2_conditional == pytest.approx(golden["reference_r2"]["conditional"], abs=TOL)
    lrt, gold = result.lrt, golden["lrt_coc"]
    assert lrt.dropped == ["coc"] and lrt.df == gold["df"] == 1
    assert lrt.chisq == pytest.approx(gold["chisq"], abs=TOL)
    assert lrt.loglik_full == pytest.approx(gold["loglik_full"], abs=TOL)
    assert lrt.loglik_reduced == pytest.approx(gold["loglik_reduced"], abs=TOL)
    assert lrt.pvalue == pytest.approx(gold["pvalue"], rel=1e-3)


# --------------------------------------------------------------------------- lme4_models.json


@needs_ref
@pytest.mark.parametrize("reml", [True, False])
def test_nested_waves_match_lme4(waves, golden, reml):
    result = fit_model(WAVES, waves, reml=reml)
    _check_fit(result, golden["waves_reml" if reml else "waves_ml"])
    assert result.n_groups == {"program": 14, "program:resident": 408}
    assert result.structure == "groups=program; re_formula=1; vc program:resident"
    if reml:
        assert result.icc_null == pytest.approx(golden["waves_null"]["icc_total"], abs=TOL)
        lrt, gold = result.lrt, golden["waves_lrt_coc"]
        assert lrt.chisq == pytest.approx(gold["chisq"], abs=TOL)
        assert lrt.loglik_reduced == pytest.approx(gold["loglik_reduced"], abs=TOL)


@needs_ref
def test_nested_shorthand_equals_explicit_terms(waves):
    a = fit_model(WAVES, waves, lrt=False, null_model=False, curve=False)
    b = fit_model(
        "relatedness_satisfaction ~ coc + pgy + wave + (1|program) + (1|program:resident)",
        waves,
        lrt=False,
        null_model=False,
        curve=False,
    )
    np.testing.assert_allclose(a.fixed.to_numpy(), b.fixed.to_numpy(), atol=1e-8)


@needs_ref
def test_within_between_matches_lme4(waves, golden):
    result = fit_model(WAVES, waves, within_between="coc", person="resident")
    _check_fit(result, golden["within_between_reml"])
    assert "coc_within" in result.fixed.index and "coc_between" in result.fixed.index
    assert result.within_between["n_persons"] == 408
    within = result.data["coc_within"]
    assert (within**2).sum() == pytest.approx(golden["data"]["waves"]["sum_sq_coc_within"], abs=1e-9)
    lrt, gold = result.lrt, golden["within_between_lrt"]
    assert lrt.df == 2 and lrt.dropped == ["coc_within", "coc_between"]
    assert lrt.chisq == pytest.approx(gold["chisq"], abs=TOL)
    # The default person is the grouping factor with the most levels (program:resident).
    default = fit_model(WAVES, waves, within_between="coc", lrt=False, null_model=False)
    np.testing.assert_allclose(default.fixed["estimate"], result.fixed["estimate"], atol=1e-8)
    assert set(result.standardized.index) == {"coc_within", "coc_between"}


@needs_ref
@pytest.mark.parametrize("reml", [True, False])
def test_correlated_random_slope_matches_lme4(one, golden, reml):
    result = fit_model("relatedness_satisfaction ~ coc + pgy + (coc|program)", one, reml=reml)
    _check_fit(result, golden["slope_reml" if reml else "slope_ml"])
    assert result.structure == "groups=program; re_formula=1 + coc"
    if not reml:  # lme4 reports this one as singular (correlation +1)
        assert result.singular
        assert result.warnings[0].startswith(SINGULAR_MESSAGE)
        assert "perfectly correlated" in result.warnings[0]


@needs_ref
def test_uncorrelated_random_slope_matches_lme4(one, golden):
    result = fit_model("relatedness_satisfaction ~ coc + pgy + (coc||program)", one)
    _check_fit(result, golden["slope_uncorrelated_reml"])
    assert result.random["program"].correlated is False
    assert result.to_dict()["random"]["program"]["correlations"] == {}


@needs_ref
def test_crossed_intercepts_match_lme4(one, golden):
    result = fit_model("relatedness_satisfaction ~ coc + (1|program) + (1|pgy)", one)
    _check_fit(result, golden["crossed_reml"])
    assert result.structure.startswith("groups=one group holding every row")
    assert result.n_groups == {"program": 14, "pgy": 3}


@needs_ref
def test_spline_curve_matches_lme4_ns(one, golden):
    result = fit_model(FORMULA, one, spline="coc:df=3")
    gold = golden["spline_reml"]
    assert [n for n in result.fixed.index if n.startswith("cr(")] == [f"cr(coc, df=3)[{k}]" for k in range(3)]
    assert result.curve_variable == "coc" and len(result.curve) == 51
    # Compare the curve at lme4's 11 grid points (natural cubic splines with the same knots span the
    # same space as R's ns(), so the fitted curve and its SE are the same, whatever the basis).
    from sdt_survey.mixed.design import _build_design
    from sdt_survey.mixed.inference import _curve
    from sdt_survey.mixed.prepare import _prepare

    parsed = parse_formula(FORMULA)
    frame, rhs, labels, _, _ = _prepare(parsed, one, None, ("coc", 3), None)
    _, info = _build_design(parsed, frame, rhs, labels)
    curve = _curve(frame, info, "coc", result.fixed["estimate"].to_numpy(), result.vcov.to_numpy(), 11)
    np.testing.assert_allclose(curve["x"], gold["grid"], atol=1e-12)
    np.testing.assert_allclose(curve["fitted"], gold["fitted"], atol=TOL)
    np.testing.assert_allclose(curve["se"], gold["se"], atol=TOL)
    lrt, glrt = result.lrt, golden["spline_lrt"]
    assert lrt.df == 3
    assert lrt.chisq == pytest.approx(glrt["chisq"], abs=TOL)
    assert lrt.loglik_full == pytest.approx(glrt["loglik_full"], abs=TOL)
    assert result.random["program"].variance == pytest.approx(gold["varcorr"][0]["vcov"], abs=TOL)


# ------------------------------------------------------------------- simulated data (no goldens needed)


def _programs(seed: int, n_programs: int = 12, per: int = 25, program_sd: float = 0.4, slope: float = 0.8):
    rng = np.random.default_rng(seed)
    program = np.repeat([f"P{i:02d}" for i in range(n_programs)], per)
    n = len(program)
    coc = rng.uniform(0, 1, n)
    pgy = rng.integers(1, 4, n)
    effect = np.repeat(rng.normal(0, program_sd, n_programs), per)
    y = 3 + slope * coc + 0.1 * pgy + effect + rng.normal(0, 0.7, n)
    return pd.DataFrame(
        {
            "resident": [f"R{i:04d}" for i in range(n)],
            "program": program,
            "pgy": pgy,
            "coc": coc,
            "relatedness_satisfaction": y,
        }
    )


def test_group_level_effect_is_not_shrunk_when_program_variance_is_zero():
    """statsmodels issue #10239: with a program variance at 0, a program-level covariate's effect
    collapsed to 0. Here the program variance is 0 by construction and the covariate has a real
    effect: the estimate must equal OLS (the exact REML/ML solution at a zero variance)."""
    rng = np.random.default_rng(11)
    n_programs, per = 15, 20
    program = np.repeat(np.arange(n_programs), per)
    clinic_model = rng.integers(0, 2, n_programs).astype(float)  # a program-level covariate
    x = rng.normal(size=n_programs * per)
    y = 2 + 0.9 * clinic_model[program] + 0.4 * x + rng.normal(0, 1, n_programs * per)
    data = pd.DataFrame({"program": program.astype(str), "model": clinic_model[program], "x": x, "y": y})
    X = np.column_stack([np.ones(len(y)), data["model"], x])
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    for reml in (True, False):
        result = fit_model("y ~ model + x + (1|program)", data, reml=reml)
        assert result.singular
        assert result.random["program"].variance == pytest.approx(0, abs=1e-8)
        np.testing.assert_allclose(result.fixed["estimate"], ols, atol=1e-6)
        assert result.fixed.loc["model", "estimate"] > 0.5  # not shrunk toward 0
        # With a zero program variance the SEs are OLS's (σ² from REML or ML).
        resid = y - X @ ols
        dof = len(y) - 3 if reml else len(y)
        cov = (resid @ resid / dof) * np.linalg.inv(X.T @ X)
        np.testing.assert_allclose(result.fixed["se"], np.sqrt(np.diag(cov)), rtol=1e-5)


def test_singular_fit_is_reported_in_plain_words_never_a_traceback():
    data = _programs(3, program_sd=0.0)
    result = fit_model("relatedness_satisfaction ~ coc + (1|program)", data)
    if result.singular:
        assert result.warnings[-1].startswith(SINGULAR_MESSAGE)
        assert "estimated at zero" in result.warnings[-1]
    assert result.converged
    text = result.summary()
    assert "Random effects:" in text and "Fixed effects (t tests, Satterthwaite df" in text  # issue 16


def test_optimizer_failures_fall_back_and_are_noted():
    data = _programs(4)
    result = fit_model(
        "relatedness_satisfaction ~ coc + (1|program)", data, optimizers=("no-such-optimizer",)
    )
    reference = fit_model("relatedness_satisfaction ~ coc + (1|program)", data)
    assert result.converged
    assert any("every statsmodels optimizer failed" in n for n in result.notes)
    np.testing.assert_allclose(result.fixed["estimate"], reference.fixed["estimate"], atol=1e-6)


@needs_ref
def test_statsmodels_lbfgs_early_stop_is_refined(wave1, reference):
    """statsmodels' lbfgs alone stops at a program variance of 0.032 (lme4: 0.047) on these data and
    flags the covariance as singular; the fit is refined on lme4's criterion and says so."""
    result = fit_model(FORMULA, wave1, optimizers=("lbfgs",), lrt=False, null_model=False)
    ref = reference["lmer"]
    np.testing.assert_allclose(result.fixed["estimate"], list(ref["fixef"].values()), rtol=0, atol=FE_TOL)
    assert result.random["program"].variance == pytest.approx(ref["var_program"], abs=TOL)
    assert any("refined on lme4's profiled criterion" in n for n in result.notes)
    raw = result.statsmodels_result
    assert float(np.asarray(raw.cov_re)[0, 0]) < 0.04  # what statsmodels alone reported


def test_contract_json_shape_and_frames():
    data = _programs(5)
    result = fit_model("relatedness_satisfaction ~ coc + C(pgy) + (1|program)", data)
    d = result.to_dict()
    for key in (
        "formula",
        "method",
        "n_obs",
        "n_groups",
        "fixed",
        "random",
        "residual_variance",
        "icc",
        "r2_marginal",
        "r2_conditional",
        "converged",
        "warnings",
    ):
        assert key in d
    assert d["method"] == "REML" and d["n_obs"] == 300 and d["n_groups"] == {"program": 12}
    assert set(d["fixed"]) == {"(Intercept)", "coc", "C(pgy)[T.2]", "C(pgy)[T.3]"}
    wald = {"estimate", "se", "ci_lower", "ci_upper", "z", "pvalue"}
    assert set(d["fixed"]["coc"]) == wald | {"df", "t", "p"}  # issue 16: the Satterthwaite t test
    assert {"variance", "sd"} <= set(d["random"]["program"])
    assert d["random"]["program"]["sd"] == pytest.approx(math.sqrt(d["random"]["program"]["variance"]))
    json.dumps(d, allow_nan=False)
    row = result.to_frame().loc["coc"]
    assert row["z"] == pytest.approx(row["estimate"] / row["se"])
    assert row["ci_upper"] - row["estimate"] == pytest.approx(1.959964 * row["se"], rel=1e-6)
    # Exposure defaults to the first variable; standardized effect = b * SD(x) / SD(y).
    std = result.standardized.loc["coc"]
    sd_x, sd_y = data["coc"].std(), data["relatedness_satisfaction"].std()
    assert std["per_sd"] == pytest.approx(row["estimate"] * sd_x)
    assert std["standardized"] == pytest.approx(row["estimate"] * sd_x / sd_y)
    assert result.icc == pytest.approx(
        result.random["program"].variance / (result.random["program"].variance + result.residual_variance)
    )
    assert 0 < result.r2_marginal < result.r2_conditional < 1


def test_random_slope_r2_uses_johnson_mean_of_zSz():
    data = _programs(6)
    result = fit_model("relatedness_satisfaction ~ coc + (coc|program)", data)
    cov = result.random["program"].covariance.to_numpy()
    Z = np.column_stack([np.ones(len(data)), data["coc"]])
    var_random = np.mean(np.einsum("ij,jk,ik->i", Z, cov, Z))
    assert result.variances["random"] == pytest.approx(var_random)
    fixed = result.variances["fixed"]
    total = fixed + var_random + result.residual_variance
    assert result.r2_marginal == pytest.approx(fixed / total)
    assert result.r2_conditional == pytest.approx((fixed + var_random) / total)
    assert "correlations" in result.to_dict()["random"]["program"]


def test_plot_writes_png_and_svg(tmp_path):
    data = _programs(7)
    result = fit_model("relatedness_satisfaction ~ coc + pgy + (1|program)", data, spline="coc:df=4")
    assert result.spline == {"variable": "coc", "df": 4, "basis": "cr"}
    assert list(result.curve.columns) == ["x", "fitted", "se", "ci_lower", "ci_upper"]
    assert (result.curve["ci_lower"] <= result.curve["fitted"]).all()
    for suffix in ("png", "svg"):
        path = result.plot(tmp_path / f"curve.{suffix}")
        assert path.stat().st_size > 1000
    assert result.lrt.df == 4


# --------------------------------------------------------------------------- formula parsing and errors


def test_parse_formula_expands_nesting_and_double_bar():
    parsed = parse_formula("y ~ x + C(pgy) + (1|program/resident) + (x||site)")
    assert parsed.fixed == "x + C(pgy)"
    assert [str(t) for t in parsed.random] == [
        "(1 | program)",
        "(1 | program:resident)",
        "(1 | site)",
        "(0 + x | site)",
    ]
    assert parse_formula("y ~ (1|a/b/c)").groupings == ["a", "a:b", "a:b:c"]
    assert parse_formula("y ~ 1 + (1|g)").fixed == "1"


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y + x", "response ~ terms"),
        ("log(y) ~ x + (1|g)", "response must be a column"),
        ("y ~ x", "no random-effect term"),
        ("y ~ x + (1 g)", "no random-effect term"),
        ("y ~ x - (1|g)", "added with '+'"),
        ("y ~ x + (1|g*h)", "not supported"),
        ("y ~ x + (1|g/(h))", "nesting is written a/b"),
        ("y ~ x + ((1|g)", "unbalanced"),
        ("y ~ x ~ z + (1|g)", "more than one"),
        ("y ~ x + ( |g)", "nothing before"),
    ],
)
def test_parse_errors(formula, message):
    with pytest.raises(ModelFormulaError, match=None) as err:
        parse_formula(formula)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("relatedness_satisfaction ~ cco + (1|program)", "did you mean 'coc'"),
        ("relatedness_satisfaction ~ coc + (1|prgram)", "did you mean 'program'"),
        ("relatednes_satisfaction ~ coc + (1|program)", "did you mean"),
        ("relatedness_satisfaction ~ __import__('os') + (1|program)", "not supported"),
        ("relatedness_satisfaction ~ coc.real + (1|program)", "only np."),
        ("relatedness_satisfaction ~ eval('1') + (1|program)", "not supported"),
        ("relatedness_satisfaction ~ coc + (1 + coc|program:resident) + (1|program)", "correlated random"),
        ("relatedness_satisfaction ~ coc + (coc|program) + (1|pgy)", "crossed"),
        ("relatedness_satisfaction ~ coc + coc + I(2 * coc) + (1|program)", "rank deficient"),
    ],
)
def test_model_errors_are_user_errors(formula, message):
    with pytest.raises(SdtSurveyError) as err:
        fit_model(formula, _programs(2))
    assert message in str(err.value)


def test_allowed_functions_work():
    data = _programs(8)
    result = fit_model(
        "relatedness_satisfaction ~ center(coc) + np.log(pgy) + I(coc**2) + (1|program)",
        data,
        lrt=False,
        null_model=False,
    )
    assert "center(coc)" in result.fixed.index


def test_within_between_needs_variation_within_person():
    with pytest.raises(ModelFormulaError, match="does not vary within"):
        fit_model(
            "relatedness_satisfaction ~ coc + (1|program)",
            _programs(9),
            within_between="coc",
            person="resident",
        )


def test_single_level_grouping_is_refused():
    data = _programs(10).assign(program="P1")
    with pytest.raises(ModelFormulaError, match="only 1 level"):
        fit_model("relatedness_satisfaction ~ coc + (1|program)", data)


def test_no_complete_rows():
    data = _programs(10).assign(coc=np.nan)
    with pytest.raises(ModelFitError, match="no complete rows"):
        fit_model("relatedness_satisfaction ~ coc + (1|program)", data)


# --------------------------------------------------------------------------- joins


def _scores_and_exposure():
    data = _programs(12)
    scores = data[["resident", "program", "pgy", "relatedness_satisfaction"]].copy()
    exposure = data[["resident", "coc"]].rename(columns={"resident": "learner"})
    exposure = pd.concat(
        [exposure.iloc[5:], pd.DataFrame({"learner": ["X1", "X2"], "coc": [0.1, 0.2]})], ignore_index=True
    )
    return scores, exposure


def test_model_relatedness_reports_unmatched_ids_from_both_sides():
    scores, exposure = _scores_and_exposure()
    result = model_relatedness(
        scores,
        exposure,
        "relatedness_satisfaction ~ coc + pgy + (1|program)",
        id_column="resident",
        exposure_id_column="learner",
    )
    join = result.join
    assert join.n_scores == 300 and join.n_exposure == 297 and join.n_matched == 295
    assert join.scores_only == [f"R{i:04d}" for i in range(5)]
    assert join.exposure_only == ["X1", "X2"]
    assert result.n_obs == 295
    assert result.warnings[0].startswith("5 score row(s) have no exposure row")
    assert "R0000" in result.warnings[0] and "X1" in result.warnings[1]
    assert result.exposure == ["coc"] and result.lrt is not None
    assert result.to_dict()["join"]["scores_only"][:2] == ["R0000", "R0001"]
    assert "Join: 295 of 300 score rows matched" in result.summary()
    with pytest.raises(JoinError, match="do not match one to one"):
        model_relatedness(
            scores, exposure, id_column="resident", exposure_id_column="learner", on_unmatched="error"
        )


def test_join_errors_and_id_types():
    scores, exposure = _scores_and_exposure()
    dup = pd.concat([exposure, exposure.iloc[[0]]])
    with pytest.raises(JoinError, match="repeated"):
        join_exposure(scores, dup, id_column="resident", exposure_id_column="learner")
    with pytest.raises(JoinError, match="no id column"):
        join_exposure(scores, exposure, id_column="nope")
    with pytest.raises(JoinError, match="no score row matched"):
        join_exposure(
            scores,
            exposure.assign(learner="zz" + exposure["learner"]),
            id_column="resident",
            exposure_id_column="learner",
        )
    a = pd.DataFrame({"id": [1, 2, 3], "y": [1.0, 2.0, 3.0]})
    b = pd.DataFrame({"id": ["1", "2", "4"], "x": [0.1, 0.2, 0.4]})
    joined, report = join_exposure(a, b, id_column="id")
    assert (
        joined["x"].tolist() == [0.1, 0.2] and report.scores_only == ["3"] and report.exposure_only == ["4"]
    )


def test_join_per_wave_and_conflicting_columns():
    s = pd.DataFrame({"id": ["a", "a", "b"], "wave": [1, 2, 1], "pgy": [1, 1, 2], "y": [1.0, 2.0, 3.0]})
    e = pd.DataFrame({"id": ["a", "a", "b"], "wave": [1, 2, 2], "coc": [0.1, 0.2, 0.3], "pgy": [1, 2, 2]})
    joined, report = join_exposure(s, e, id_column="id", wave_column="wave")
    assert report.keys == ["id", "wave"] and report.n_matched == 2
    assert report.scores_only == ["b"] and report.exposure_only == ["b"]
    assert report.conflicts == {"pgy": 1}
    assert joined["pgy"].tolist() == [1, 1]  # the scores' values are kept


def test_end_to_end_simulate_score_coc_model():
    import sdt_survey
    from sdt_survey.power import coc_from_schedule
    from sdt_survey.simulate import simulate

    sim = simulate("bpn-residency", seed=21, n_programs=10, residents_per_program=(25, 25), n_waves=1)
    scored = sdt_survey.score("bpn-residency", sim.responses, id_column="resident")
    exposure = coc_from_schedule(sim.schedule).reset_index()
    result = model_relatedness(scored, exposure, FORMULA)
    assert result.join.n_matched == 250 and not result.join.scores_only
    assert result.fixed.loc["coc", "estimate"] > 0 and result.lrt.pvalue < 0.05


def test_continuity_result_like_exposure_and_infinite_values():
    scores, exposure = _scores_and_exposure()

    class Indices:  # duck-typed ContinuityResult: .indices and .id_column
        indices = exposure
        id_column = "learner"

    result = model_relatedness(scores, Indices(), FORMULA, id_column="resident")
    assert result.join.exposure_keys == ["learner"] and result.n_obs == 295 and result.exposure == ["coc"]
    data = _programs(13)
    data.loc[3, "coc"] = np.inf
    with pytest.raises(ModelFitError, match="infinite"):
        fit_model(FORMULA, data)
