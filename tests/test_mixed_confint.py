"""Confidence intervals of mixed models against lme4 1.1-31's confint (tests/goldens/lme4_confint.R).

Wald and profile intervals are deterministic and compared to lme4's to
1e-4 (profile: absolute, every bound; Wald: 1e-6 relative, as the fit).

The bootstrap is random: lme4's (nsim = 500, its own generator) and ours
(fewer resamples here, to keep the suite quick) can only agree within
Monte-Carlo error. The check, for every parameter, with n = our resamples
and N = 500 lme4's, s the bootstrap SD:
- means: |m - m_R| <= 4 sqrt(s²/n + s_R²/N);
- SDs: |s - s_R| <= 4 sqrt(s²/(2(n-1)) + s_R²/(2(N-1))) (normal-theory SE of an SD);
- percentile bounds: |q - q_R| <= 4 sqrt(se²(n) + se²(N)), se(k) = s sqrt(p(1-p)/k) / φ(z_p), the
  normal-theory SE of the p-quantile.
Four standard errors: a correct implementation fails one comparison with
probability about 6e-5 (the seed is fixed, so the test is deterministic).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from sdt_survey.cli import cli
from sdt_survey.errors import SdtSurveyError
from sdt_survey.mixed import fit_model
from sdt_survey.mixed.bootstrap import percentile_interval

DATA = Path(__file__).parent / "data"
SIM = DATA / "reference" / "sdt-sim"
GOLDEN = json.loads((Path(__file__).parent / "goldens" / "lme4_confint.json").read_text())
RESIDENCY = "relatedness_satisfaction ~ coc + pgy + (1|program)"


def _residency(n_programs: int) -> pd.DataFrame:
    scores = pd.read_csv(SIM / "scores_truth.csv")
    cont = pd.read_csv(SIM / "continuity_truth.csv")
    w1 = pd.read_csv(SIM / "responses_w1.csv")[["resident", "program", "pgy"]]
    data = scores.merge(cont, on="resident").merge(w1, on="resident")
    return data[data["program"].isin([f"P{i:02d}" for i in range(1, n_programs + 1)])]


MODELS = {
    "sleepstudy_slope": ("Reaction ~ Days + (Days|Subject)", lambda: pd.read_csv(DATA / "sleepstudy.csv")),
    "sleepstudy_intercept": ("Reaction ~ Days + (1|Subject)", lambda: pd.read_csv(DATA / "sleepstudy.csv")),
    "penicillin": ("diameter ~ 1 + (1|plate) + (1|sample)", lambda: pd.read_csv(DATA / "penicillin.csv")),
    "residency14": (RESIDENCY, lambda: _residency(14)),
    "residency8": (RESIDENCY, lambda: _residency(8)),
    "residency14_slope_uncorrelated": (
        "relatedness_satisfaction ~ coc + (coc||program)",
        lambda: _residency(14),
    ),
}
_FITS: dict[str, object] = {}


def _fit(key: str):
    if key not in _FITS:
        formula, data = MODELS[key]
        _FITS[key] = fit_model(formula, data(), lrt=False, null_model=False, curve=False)
    return _FITS[key]


def _golden(key: str, part: str) -> pd.DataFrame:
    g = GOLDEN[key][part]
    # jsonlite writes lme4's NA (the Wald rows of the variance parameters) as "NA".
    values = {k: pd.to_numeric(pd.Series(g[k]), errors="coerce").to_numpy() for k in ("lower", "upper")}
    return pd.DataFrame(values, index=g["names"])


@pytest.mark.parametrize("key", list(MODELS))
def test_names_as_lme4(key):
    ci = _fit(key).confint("Wald")
    assert list(ci.index) == GOLDEN[key]["wald"]["names"]
    assert list(ci["parameter"]) == GOLDEN[key]["readable_names"]
    # The estimates column: lme4's sd/cor/sigma and fixed effects of the REML fit. lme4's default
    # optimizer stops early on Penicillin (sample SD 1.931614) and sleepstudy's slope model; with tight
    # tolerances its own REML criterion is lower, and its estimates are ours.
    assert GOLDEN[key]["reml_tight"] <= GOLDEN[key]["reml"]
    np.testing.assert_allclose(ci["estimate"], GOLDEN[key]["estimates_tight"], rtol=1e-6)


@pytest.mark.parametrize("key", list(MODELS))
def test_wald(key):
    ci = _fit(key).confint("Wald")
    gold = _golden(key, "wald_tight")  # at lme4's tightly converged fit (see test_names_as_lme4)
    n_var = sum(n.startswith(".sig") for n in ci.index)
    assert ci.iloc[:n_var][["lower", "upper"]].isna().all().all()
    np.testing.assert_allclose(ci.iloc[n_var:][["lower", "upper"]], gold.iloc[n_var:], rtol=1e-6)


@pytest.mark.parametrize("key", list(MODELS))
def test_profile_to_1e4(key):
    ci = _fit(key).confint("profile")
    gold = _golden(key, "profile")
    np.testing.assert_allclose(ci[["lower", "upper"]].to_numpy(), gold.to_numpy(), rtol=0, atol=1e-4)
    assert "refitted by ML" in " ".join(ci.attrs["notes"])  # REML fits are profiled on the ML deviance
    # The profile's points are lme4's (same starts and steps).
    for name, trace in ci.attrs["profile"].items():
        r = GOLDEN[key]["profile_table"][name]
        assert len(trace) == len(r["par"]), name


def test_profile_other_level_and_ml_fit():
    m = _fit("sleepstudy_intercept")
    ci = m.confint("profile", level=0.90)
    np.testing.assert_allclose(
        ci[["lower", "upper"]].to_numpy(), _golden("sleepstudy_intercept", "profile90"), atol=1e-4
    )
    # lme4 profiles a REML fit by ML: profiling the ML fit gives the same intervals.
    formula, data = MODELS["sleepstudy_intercept"]
    ml = fit_model(formula, data(), reml=False, lrt=False, null_model=False, curve=False)
    np.testing.assert_allclose(
        ml.confint("profile", level=0.90)[["lower", "upper"]], ci[["lower", "upper"]], atol=1e-6
    )


def test_singular_sd_profile_reaches_zero():
    """8 programs: the lower bound of the program SD is 0, lme4's bound where the profile stops."""
    ci = _fit("residency8").confint("profile")
    assert ci.loc[".sig01", "lower"] == 0.0


@pytest.mark.parametrize("key", ["sleepstudy_intercept", "residency14"])
def test_bootstrap_within_monte_carlo_error(key):
    n = 120
    ci = _fit(key).confint("boot", nsim=n, seed=11)
    reps = ci.attrs["replicates"]
    assert ci.attrs["failed"] == 0 and len(reps) == n
    gold = GOLDEN[key]["boot"]
    N = gold["nsim"]
    m, s = reps.mean().to_numpy(), reps.std().to_numpy()
    mR, sR = np.array(gold["mean"]), np.array(gold["sd"])
    assert np.all(np.abs(m - mR) <= 4 * np.sqrt(s**2 / n + sR**2 / N))
    assert np.all(np.abs(s - sR) <= 4 * np.sqrt(s**2 / (2 * (n - 1)) + sR**2 / (2 * (N - 1))))
    p = 0.025
    factor = math.sqrt(p * (1 - p)) / stats.norm.pdf(stats.norm.ppf(p))
    se = factor * np.sqrt(s**2 / n + sR**2 / N)
    assert np.all(np.abs(ci["lower"].to_numpy() - np.array(gold["lower"])) <= 4 * se)
    assert np.all(np.abs(ci["upper"].to_numpy() - np.array(gold["upper"])) <= 4 * se)


def test_bootstrap_reproducible_and_parallel():
    m = _fit("residency8")
    a = m.confint("boot", nsim=12, seed=3)
    b = m.confint("boot", nsim=12, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(a.attrs["replicates"], b.attrs["replicates"])
    pd.testing.assert_frame_equal(a, b)
    c = m.confint("boot", nsim=12, seed=4)
    assert not np.allclose(c.attrs["replicates"], a.attrs["replicates"])


def test_percentile_interval_is_boots():
    # boot::norm.inter on 1..99 at 2.5%: (R+1) alpha = 2.5 -> interpolated on the normal scale.
    lo, hi = percentile_interval(np.arange(1.0, 100.0), 0.95)
    z = stats.norm.ppf([0.025, 0.02, 0.03])
    assert lo == pytest.approx(2 + (z[0] - z[1]) / (z[2] - z[1]))
    assert hi == pytest.approx(100 - lo)


def test_bad_input_is_a_clear_error():
    m = _fit("sleepstudy_intercept")
    with pytest.raises(SdtSurveyError, match="unknown confidence-interval method"):
        m.confint("bca")
    with pytest.raises(SdtSurveyError, match="level must be between 0 and 1"):
        m.confint("Wald", level=95)
    with pytest.raises(SdtSurveyError, match="nsim"):
        m.confint("boot", nsim=0)


def test_summary_and_dict_carry_attached_intervals():
    m = fit_model(*[MODELS["residency8"][0], _residency(8)], lrt=False, null_model=False, curve=False)
    m.confint("profile", attach=True)
    assert "Confidence intervals (profile likelihood, 95%)" in m.summary()
    d = m.to_dict()["intervals"]
    assert d["method"] == "profile" and d["parameters"][".sig01"]["parameter"] == "sd_(Intercept)|program"


def test_cli_confint(tmp_path):
    scores = pd.read_csv(SIM / "scores_truth.csv").merge(
        pd.read_csv(SIM / "responses_w1.csv")[["resident", "program", "pgy"]], on="resident"
    )
    scores.to_csv(tmp_path / "scores.csv", index=False)
    base = ["model", "--scores", str(tmp_path / "scores.csv"), "--exposure",
            str(SIM / "continuity_truth.csv"), "--id-column", "resident", "--formula", RESIDENCY]  # fmt: skip
    out = CliRunner().invoke(cli, [*base, "--confint", "profile", "--format", "json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)["intervals"]["parameters"]
    gold = _golden("residency14", "profile")
    assert got["coc"]["lower"] == pytest.approx(gold.loc["coc", "lower"], abs=1e-4)
    out = CliRunner().invoke(cli, [*base, "--confint", "boot", "--nsim", "5", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert "parametric bootstrap, percentile, 95%, 5 resamples, seed 1" in out.output
    bad = CliRunner().invoke(cli, [*base, "--confint", "bca"])
    assert bad.exit_code == 2 and "--confint" in bad.output
