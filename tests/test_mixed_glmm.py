"""GLMMs (family="binomial" | "poisson") against lme4::glmer 1.1-31 (tests/goldens/lme4_glmm.R).

Two glmer fits are recorded per model: glmer's defaults, and the same call with
``glmerControl(tolPwrss = 1e-12)`` ("converged_pirls"). glmer's default stops its inner penalized
IRLS at a relative change of 1e-7 in the penalized deviance, which moves its Laplace criterion by up
to ~1e-3 (cbpp) and its finite-difference-Hessian standard errors by up to 1.3%; with the inner
iterations converged, lme4's own ``devfun`` is the exact Laplace criterion, and equals ours to 1e-7
at any (theta, beta) (the criterion proof). Estimates are compared with the converged fit to 1e-4
(relative to max(|estimate|, SE), so a coefficient near 0 is held to 1e-4 of its SE), and our optimum
is checked to be no worse than either glmer optimum on lme4's own criterion.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdt_survey.errors import ModelFormulaError, SdtSurveyError
from sdt_survey.mixed import fit_model
from sdt_survey.mixed.family import get_family, outcome_family_hint
from sdt_survey.mixed.glmm_criterion import _GlmmCriterion, gauss_hermite

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "goldens" / "lme4_glmm.json").read_text())
SIM = HERE / "data" / "reference" / "sdt-sim"


def _cbpp() -> pd.DataFrame:
    cb = pd.read_csv(HERE / "data" / "glmm" / "cbpp.csv")
    return cb.astype({"herd": str, "period": str})


def _cbpp_binary() -> pd.DataFrame:
    cb = _cbpp()
    rows = cb.loc[cb.index.repeat(cb["size"])].reset_index(drop=True)
    rows["y"] = np.concatenate(
        [np.r_[np.ones(k), np.zeros(n - k)] for k, n in zip(cb.incidence, cb["size"], strict=True)]
    )
    return rows


def _grouseticks() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "glmm" / "grouseticks.csv").astype({"YEAR": str, "BROOD": str})


def _residency(programs: int) -> pd.DataFrame:
    scores = pd.read_csv(SIM / "scores_truth.csv")[["resident", "relatedness_satisfaction"]]
    data = scores.merge(pd.read_csv(SIM / "continuity_truth.csv")[["resident", "coc"]]).merge(
        pd.read_csv(SIM / "responses_w1.csv")[["resident", "program", "pgy"]]
    )
    rs = data["relatedness_satisfaction"]
    data["related"] = (rs >= 4).astype(float).where(rs.notna())
    return data[data.program.isin([f"P{i:02d}" for i in range(1, programs + 1)])]


CBIND = "cbind(incidence, size - incidence) ~ C(period) + (1|herd)"
TICKS = "TICKS ~ C(YEAR) + cHEIGHT + (1|BROOD)"
RELATED = "related ~ coc + pgy + (1|program)"
CASES = {
    "cbpp": (_cbpp, CBIND, 1),
    "cbpp_agq10": (_cbpp, CBIND, 10),
    "cbpp_binary": (_cbpp_binary, "y ~ C(period) + (1|herd)", 1),
    "grouseticks": (_grouseticks, TICKS, 1),
    "grouseticks_agq10": (_grouseticks, TICKS, 10),
    "residency14": (lambda: _residency(14), RELATED, 1),
    "residency8": (lambda: _residency(8), RELATED, 1),
    "residency14_agq10": (lambda: _residency(14), RELATED, 10),
}


@pytest.fixture(scope="module")
def fits():
    out = {}
    for key, (make, formula, nagq) in CASES.items():
        out[key] = fit_model(formula, make(), family=GOLDEN[key]["family"], nAGQ=nagq, lrt=False)
    return out


def _close(ours, theirs, scale, tol=1e-4):
    ours, theirs, scale = (np.asarray(v, dtype=float) for v in (ours, theirs, scale))
    assert np.all(np.abs(ours - theirs) <= tol * np.maximum(np.abs(scale), 1e-12)), (ours, theirs)


@pytest.mark.parametrize("key", list(CASES))
def test_estimates_match_glmer(fits, key):
    fit, gold = fits[key], GOLDEN[key]["converged_pirls"]
    beta, se = np.array(list(gold["fixef"].values())), np.array(list(gold["se"].values()))
    assert fit.fixed.shape[0] == len(beta) and fit.n_obs == gold["nobs"]
    _close(fit.fixed["estimate"], beta, np.maximum(np.abs(beta), se))
    _close(fit.fixed["se"], se, se)
    _close(np.sqrt(np.diag(fit.vcov.to_numpy())), se, se)
    # Variance components (random-intercept variance and SD) to 1e-4.
    vc = gold["varcorr"][0]
    group = fit.random[vc["grp"]]
    assert abs(group.variance - vc["vcov"]) <= 1e-4 * max(vc["vcov"], 1)
    assert abs(group.sd - vc["sdcor"]) <= 1e-4 * max(vc["sdcor"], 1)
    assert fit.theta[0] == pytest.approx(np.atleast_1d(gold["theta"])[0], abs=1e-4)
    # Our optimum is as good or better (glmer's optimizer stops a little early): same logLik to 1e-4.
    assert fit.loglik == pytest.approx(gold["loglik"], abs=1e-4) and fit.loglik >= gold["loglik"] - 1e-7
    assert fit.aic == pytest.approx(gold["aic"], abs=2e-4)
    assert fit.bic == pytest.approx(gold["bic"], abs=2e-4)
    assert fit.method == ("Laplace" if gold["nAGQ"] == 1 else f"AGQ{gold['nAGQ']}")
    assert fit.converged and not fit.singular
    modes = fit.conditional_modes
    levels = modes["level"]
    if levels.str.fullmatch(r"\d+").all():  # R orders numeric factor levels by number
        modes = modes.iloc[np.argsort(levels.astype(int).to_numpy(), kind="stable")]
    modes = modes["value"].to_numpy()
    # Conditional modes (not a figure the issue names): to 1e-3, as glmer stores them from its last
    # criterion evaluation.
    assert np.max(np.abs(modes - np.array(gold["ranef"]))) < 1e-3


@pytest.mark.parametrize("key", list(CASES))
def test_default_glmer(fits, key):
    """Against glmer's defaults: estimates to 5e-4; our optimum is at least as good on lme4's criterion."""
    fit, gold = fits[key], GOLDEN[key]
    beta, se = np.array(list(gold["fixef"].values())), np.array(list(gold["se"].values()))
    _close(fit.fixed["estimate"], beta, np.maximum(np.abs(beta), se), tol=5e-4)
    # The criterion proof: lme4's converged devfun at glmer's default optimum is not below ours.
    assert fit.criterion <= gold["devfun_tight_at_optimum"] + 1e-7
    assert fit.criterion <= gold["converged_pirls"]["devfun_tight_at_optimum"] + 1e-7
    if key not in ("cbpp", "cbpp_binary", "residency8"):  # where glmer's early PIRLS stop moves its SEs
        _close(fit.fixed["se"], se, se, tol=1e-4)


@pytest.mark.parametrize("key", list(CASES))
def test_criterion_equals_lme4_devfun(fits, key):
    """Our Laplace / AGQ criterion at glmer's (theta, beta) equals lme4's devfun there.

    lme4's devfun with its inner iterations converged (tolPwrss = 1e-12) agrees to 1e-8 relative
    (it takes log|L|^2 from the weights one IRLS step before the mode, a ~1e-6 absolute lag that
    the test below shows is lme4's, not ours); glmer's default devfun (tolPwrss = 1e-7) to 1e-3.
    """
    gold = GOLDEN[key]
    crit = fit_criterion(key)
    at = np.concatenate([np.atleast_1d(gold["theta"]), list(gold["fixef"].values())])
    ours = crit.deviance(at)
    assert ours == pytest.approx(gold["devfun_tight_at_optimum"], rel=1e-8)
    pert = np.array(gold["perturbed"]["pars"])
    assert crit.deviance(pert) == pytest.approx(gold["perturbed"]["devfun_tight"], rel=1e-8)
    assert ours == pytest.approx(gold["devfun_at_optimum"], abs=1e-3)


def test_laplace_mode_is_exact():
    """At a (theta, beta), our conditional modes solve the penalized score equations to rounding."""
    crit = fit_criterion("cbpp")
    pars = np.array(GOLDEN["cbpp"]["perturbed"]["pars"])
    crit.deviance(pars)
    theta, beta, u = pars[0], pars[1:], crit.u
    lev = crit.terms[0].levels
    mu = 1 / (1 + np.exp(-(crit.X @ beta + theta * u[lev])))
    score = np.bincount(lev, crit.wt * (crit.y - mu) * theta) - u
    assert np.max(np.abs(score)) < 1e-10


def fit_criterion(key) -> _GlmmCriterion:
    """The criterion of a fitted model, rebuilt from its design (response, trials, X, random term)."""
    from sdt_survey.mixed.glmm import _N, _Y, _response
    from sdt_survey.mixed.glmm_criterion import _ReTerm

    make, formula, nagq = CASES[key]
    gold = GOLDEN[key]
    fam = get_family(gold["family"])
    _, _, frame = _response(formula, make(), fam)
    group = formula.rsplit("|", 1)[1].strip(" )")
    frame = frame.dropna(subset=[_Y, _N]).reset_index(drop=True)
    import patsy

    rhs = formula.split("~")[1].rsplit("+", 1)[0]
    X = patsy.dmatrix(rhs, frame, return_type="dataframe").to_numpy()
    codes, labels = pd.factorize(frame[group].astype(str), sort=True)
    term = _ReTerm(group, ["(Intercept)"], np.ones((len(frame), 1)), codes, np.asarray(labels))
    return _GlmmCriterion(frame[_Y].to_numpy(float), frame[_N].to_numpy(float), X, [term], fam, nagq)


@pytest.mark.parametrize("key", ["cbpp", "residency14", "residency8"])
def test_odds_ratios(fits, key):
    fit, gold = fits[key], GOLDEN[key]["converged_pirls"]["odds_ratios"]
    ors = fit.odds_ratios
    assert list(ors.columns) == ["odds_ratio", "ci_lower", "ci_upper", "pvalue"]
    for col, name in (("odds_ratio", "estimate"), ("ci_lower", "lower"), ("ci_upper", "upper")):
        np.testing.assert_allclose(ors[col].to_numpy(), gold[name], rtol=2e-4)
    assert "Odds ratios" in fit.summary()
    assert fit.to_dict()["odds_ratios"]["coc" if "residency" in key else "(Intercept)"]["odds_ratio"] > 0


@pytest.mark.parametrize("key", list(CASES))
def test_nakagawa_r2(fits, key):
    fit, gold, family = fits[key], GOLDEN[key]["converged_pirls"], GOLDEN[key]["family"]
    r2 = gold["r2"]["theoretical" if family == "binomial" else "lognormal"]
    assert fit.r2_marginal == pytest.approx(r2["marginal"], rel=1e-3)
    assert fit.r2_conditional == pytest.approx(r2["conditional"], rel=1e-3)
    assert fit.variances["fixed"] == pytest.approx(gold["var_fixed"], rel=1e-3)
    if family == "poisson":
        assert fit.variances["residual_delta"] == pytest.approx(
            gold["distribution_variance"]["delta"], rel=1e-3
        )


def test_cbind_forms_and_binary_rows_agree(fits):
    cb = _cbpp()
    cb["failures"] = cb["size"] - cb["incidence"]
    other = fit_model("cbind(incidence, failures) ~ C(period) + (1|herd)", cb, family="binomial", lrt=False)
    np.testing.assert_allclose(other.fixed["estimate"], fits["cbpp"].fixed["estimate"], rtol=1e-8)
    # One 0/1 row per animal: the same estimates; the criterion differs by the binomial coefficients.
    np.testing.assert_allclose(
        fits["cbpp_binary"].fixed["estimate"], fits["cbpp"].fixed["estimate"], rtol=1e-5
    )


def test_gauss_hermite_rule_is_lme4s():
    z, w = gauss_hermite(10)
    # lme4's GHrule(10)[6:7, ]
    np.testing.assert_allclose(z[5:7], [0.4849357075154982, 1.4659890943911584], rtol=1e-13)
    np.testing.assert_allclose(w[5:7], [0.3446423349320190, 0.1354837029802678], rtol=1e-12)


def test_summary_and_random_frame(fits):
    fit = fits["grouseticks"]
    assert "Residual" not in set(fit.random_frame()["grp"])
    text = fit.summary()
    assert "family: poisson (log link)" in text and "Laplace" in text
    with pytest.raises(SdtSurveyError, match="rate ratio"):
        _ = fit.odds_ratios
    assert fit.to_dict()["family"] == "poisson"


def test_lrt_of_exposure():
    fit = fit_model(RELATED, _residency(14), family="binomial")
    assert fit.lrt is not None and fit.lrt.dropped == ["coc"] and fit.lrt.df == 1
    assert fit.lrt.chisq > 10  # coc strongly predicts the outcome in the simulation


def test_outcome_without_family_warns():
    data = _residency(14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = fit_model(RELATED, data, lrt=False, null_model=False, curve=False)
    assert any("family='binomial'" in w for w in linear.warnings)
    counts = fit_model(
        "TICKS ~ cHEIGHT + (1|BROOD)", _grouseticks(), lrt=False, null_model=False, curve=False
    )
    assert any("family='poisson'" in w for w in counts.warnings)
    assert outcome_family_hint(np.array([1.0, 2.5, 3.0])) is None


def test_bad_input_errors():
    data = _residency(14)
    with pytest.raises(ModelFormulaError, match="0/1"):
        fit_model("coc ~ pgy + (1|program)", data, family="binomial")
    with pytest.raises(ModelFormulaError, match="not supported"):
        fit_model(RELATED, data, family="gamma")
    with pytest.raises(ModelFormulaError, match="one scalar random effect"):
        fit_model("related ~ coc + (coc|program)", data, family="binomial", nAGQ=5)
    with pytest.raises(ModelFormulaError, match="nAGQ"):
        fit_model(RELATED, data, nAGQ=5)
    with pytest.raises(ModelFormulaError, match="counts"):
        fit_model("coc ~ pgy + (1|program)", data, family="poisson")
    with pytest.raises(ModelFormulaError, match="cbind"):
        fit_model("cbind(incidence, size + 1) ~ (1|herd)", _cbpp(), family="binomial")


def test_model_command_family_binomial(tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli

    data = _residency(14).dropna(subset=["related"])
    scores = tmp_path / "scores.csv"
    data[["resident", "program", "pgy", "related"]].to_csv(scores, index=False)
    exposure = tmp_path / "exposure.csv"
    data[["resident", "coc"]].to_csv(exposure, index=False)
    base = ["model", "--scores", str(scores), "--exposure", str(exposure), "--id-column", "resident"]
    result = CliRunner().invoke(
        cli, [*base, "--formula", RELATED, "--family", "binomial", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)
    gold = GOLDEN["residency14"]["converged_pirls"]
    assert fit["family"] == "binomial"
    assert fit["fixed"]["coc"]["estimate"] == pytest.approx(gold["fixef"]["coc"], rel=1e-4)
    assert fit["odds_ratios"]["coc"]["ci_lower"] == pytest.approx(gold["odds_ratios"]["lower"][1], rel=2e-4)
    text = CliRunner().invoke(cli, [*base, "--formula", RELATED, "--family", "binomial", "--nagq", "10"])
    assert text.exit_code == 0 and "adaptive Gauss-Hermite quadrature, nAGQ = 10" in text.output
    bad = CliRunner().invoke(cli, [*base, "--formula", RELATED, "--nagq", "5"])
    assert bad.exit_code == 2 and "--nagq is for --family" in bad.output
    warned = CliRunner().invoke(cli, [*base, "--formula", RELATED])
    assert warned.exit_code == 0 and "family='binomial'" in warned.output


# --------------------------------------------------------------------------- the simulated yes/no item
DEMO = ["bpn-residency", "continuity-exposure", "program-belonging"]


def _choice():
    from sdt_survey.demo import CHOICE_INSTRUMENT
    from sdt_survey.instrument import parse_instrument

    return parse_instrument(CHOICE_INSTRUMENT)


def test_choose_again_leaves_every_other_simulated_value_unchanged():
    from sdt_survey.simulate import simulate

    for messy in (False, True):
        new = simulate([*DEMO, _choice()], seed=2026, messy=messy)
        old = simulate(DEMO, seed=2026, messy=messy)
        pd.testing.assert_frame_equal(new.responses.drop(columns="choose_again"), old.responses)
        pd.testing.assert_frame_equal(new.schedule, old.schedule)
        assert new.truth.faults == old.truth.faults


def test_choose_again_depends_on_belonging_and_continuity():
    from sdt_survey.simulate import simulate

    sim = simulate([*DEMO, _choice()], seed=11, n_programs=20)
    data = sim.responses.query("wave == 1").merge(sim.truth.continuity[["resident", "coc"]], on="resident")
    assert set(data["choose_again"].dropna().unique()) == {0.0, 1.0}
    fit = fit_model("choose_again ~ coc + (1|program)", data, family="binomial", lrt=False)
    assert fit.odds_ratios.loc["coc", "ci_lower"] > 1  # more continuity, more often "yes"
    belonging = data[[f"pb{j}" for j in range(1, 8)]].mean(axis=1)
    assert (
        data.loc[belonging >= belonging.median(), "choose_again"].mean()
        > data.loc[belonging < belonging.median(), "choose_again"].mean()
    )
