"""Ordinal CFA by WLSMV against lavaan 0.6-14 goldens (``cfa(model, data, ordered = TRUE)``).

Goldens: ``tests/goldens/lavaan_wlsmv.json``, made by ``tests/goldens/lavaan_wlsmv.R`` from
``tests/data/reference/sdt-sim/responses_w1.csv`` (keyed, complete cases).
Tolerances: thresholds and polychoric correlations 1e-4; estimates and std.all 1e-4;
standard errors 1e-3; chi-square, scaled statistics and fit indices (plain, scaled and robust)
1e-5 relative. (Reached: statistics ~3e-8, estimates ~4e-6, standard errors ~1e-6, fit ~4e-7.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdt_survey.factor.sem import CFAError, CFAModel
from sdt_survey.factor.sem.wlsmv import FIT_KEYS, OrdinalCFAResult, cfa_ordinal

GOLDENS = Path(__file__).parent / "goldens"

BPN_MODEL = """autonomy_satisfaction =~ as1 + as2 + as3 + as4
autonomy_frustration =~ af1 + af2 + af3 + af4
relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4
relatedness_frustration =~ rf1 + rf2 + rf3 + rf4
competence_satisfaction =~ cs1 + cs2 + cs3 + cs4
competence_frustration =~ cf1 + cf2 + cf3 + cf4"""
RS_MODEL = "rs =~ rs1 + rs2 + rs3 + rs4"
CASES = {
    "bpn_delta": (BPN_MODEL, "delta"),
    "rs_delta": (RS_MODEL, "delta"),
    "rs_theta": (RS_MODEL, "theta"),
}
#: lavaan's fitMeasures names checked.
FIT_NAMES = (
    "chisq",
    "df",
    "pvalue",
    "chisq.scaled",
    "df.scaled",
    "pvalue.scaled",
    "chisq.scaling.factor",
    "baseline.chisq",
    "baseline.df",
    "baseline.chisq.scaled",
    "cfi",
    "tli",
    "rmsea",
    "cfi.scaled",
    "tli.scaled",
    "rmsea.scaled",
    "cfi.robust",
    "tli.robust",
    "rmsea.robust",
    "srmr",
    "npar",
    "ntotal",
)
FIT_REL = 1e-5
STAT_ABS = 1e-4
EST_ABS = 1e-4
SE_ABS = 1e-3


@pytest.fixture(scope="module")
def goldens() -> dict:
    return json.loads((GOLDENS / "lavaan_wlsmv.json").read_text())


@pytest.fixture(scope="module")
def keyed_complete(sdt_wave1_keyed: pd.DataFrame, goldens: dict) -> pd.DataFrame:
    return sdt_wave1_keyed.dropna(subset=goldens["meta"]["items"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def fits(keyed_complete: pd.DataFrame) -> dict[str, OrdinalCFAResult]:
    return {
        name: cfa_ordinal(keyed_complete, model, parameterization=par) for name, (model, par) in CASES.items()
    }


@pytest.mark.parametrize("case", list(CASES))
def test_sample_statistics_match_lavaan(fits, goldens, case):
    res, gold = fits[case], goldens[case]
    assert list(res.thresholds.index) == gold["threshold_names"]
    np.testing.assert_allclose(res.thresholds.to_numpy(), list(gold["thresholds"].values()), atol=STAT_ABS)
    np.testing.assert_allclose(res.polychoric.to_numpy(), np.array(gold["polychoric"]), atol=STAT_ABS)
    # Gamma (lavaan's NACOV): its diagonal is the DWLS weight matrix.
    np.testing.assert_allclose(np.diag(res.gamma), gold["gamma_diag"], rtol=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_parameters_match_lavaan(fits, goldens, case):
    res, gold = fits[case], goldens[case]
    assert res.converged
    ref = pd.DataFrame(gold["parameters"])
    ref["rhs"] = ref["rhs"].fillna("")
    mine = res.parameters
    # Same rows in lavaan's parameterEstimates() order.
    assert list(zip(mine.lhs, mine.op, mine.rhs, strict=True)) == list(
        zip(ref.lhs, ref.op, ref.rhs, strict=True)
    )
    np.testing.assert_allclose(mine["est"], ref["est"], atol=EST_ABS)
    np.testing.assert_allclose(mine["se"], ref["se"], atol=SE_ABS)
    np.testing.assert_allclose(mine["std_all"], ref["std_all"], atol=EST_ABS)


@pytest.mark.parametrize("case", list(CASES))
def test_fit_measures_match_lavaan(fits, goldens, case):
    res, gold = fits[case], goldens[case]
    for name in FIT_NAMES:
        ref = gold["fit"][name]
        mine = res.fit[name.replace(".", "_")]
        assert mine == pytest.approx(ref, rel=FIT_REL, abs=1e-12), name


def test_to_dict_has_cfa_result_shape(fits):
    out = fits["rs_delta"].to_dict()
    assert out["estimator"] == "WLSMV"
    assert out["missing"] == "listwise"
    assert out["n_used"] == 201
    assert list(out["fit"]) == list(FIT_KEYS)
    first = out["parameters"][0]
    assert set(first) == {"lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"}
    assert (first["lhs"], first["op"], first["rhs"], first["est"]) == ("rs", "=~", "rs1", 1.0)
    assert first["z"] is None  # fixed loading: NaN becomes null
    json.dumps(out)


def test_summary_reads_like_lavaan(fits):
    text = fits["rs_theta"].summary()
    for part in ("Parameterization", "theta", "Scaled", "Thresholds:", "rs1|t1", "Scales y*:", "Robust.sem"):
        assert part in text
    assert str(fits["rs_theta"]) == text


def test_listwise_deletion_and_cfamodel_input(sdt_wave1_keyed, fits):
    res = cfa_ordinal(sdt_wave1_keyed, CFAModel.from_syntax(RS_MODEL))
    n_complete = int(sdt_wave1_keyed[["rs1", "rs2", "rs3", "rs4"]].notna().all(axis=1).sum())
    assert res.n_used == n_complete
    assert res.n_dropped == len(sdt_wave1_keyed) - n_complete
    assert res.converged


# ------------------------------------------------------------------ without the shared data


def _simulated(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    latent = f * np.array([0.8, 0.7, 0.6, 0.75]) + rng.normal(size=(n, 4)) * np.sqrt(
        1 - np.array([0.8, 0.7, 0.6, 0.75]) ** 2
    )
    cuts = np.array([-1.2, -0.3, 0.5, 1.3])
    return pd.DataFrame(np.searchsorted(cuts, latent) + 1, columns=["q1", "q2", "q3", "q4"])


def test_delta_and_theta_agree_on_fit_and_standardized_solution():
    data = _simulated()
    delta = cfa_ordinal(data, "F =~ q1 + q2 + q3 + q4")
    theta = cfa_ordinal(data, "F =~ q1 + q2 + q3 + q4", parameterization="theta")
    assert delta.fit["chisq"] == pytest.approx(theta.fit["chisq"], rel=1e-6)
    assert delta.fit["chisq_scaled"] == pytest.approx(theta.fit["chisq_scaled"], rel=1e-6)
    np.testing.assert_allclose(delta.parameters["std_all"], theta.parameters["std_all"], atol=1e-6)
    # Standardized loadings recover the simulated ones.
    loadings = delta.parameters.query("op == '=~'")["std_all"].to_numpy()
    np.testing.assert_allclose(loadings, [0.8, 0.7, 0.6, 0.75], atol=0.1)
    # Delta: residual variances are 1 - R^2 and not free.
    resid = delta.parameters.query("op == '~~' and lhs == rhs and lhs != 'F'")
    assert (resid["se"] == 0).all()
    np.testing.assert_allclose(resid["est"], 1 - loadings**2, atol=1e-8)


def test_fewer_categories_and_zero_cells():
    data = _simulated(150, seed=9)
    data.loc[data["q2"] == 5, "q2"] = 4  # q2 now has 4 categories (3 thresholds)
    res = cfa_ordinal(data, "F =~ q1 + q2 + q3 + q4")
    assert list(res.thresholds.index).count("q2|t4") == 0
    assert res.fit["npar"] == 4 + 15  # 3 loadings + the factor variance, 15 thresholds
    assert res.fit["df"] == 2
    assert math.isfinite(res.fit["chisq_scaled"])


def test_errors_in_plain_words():
    data = _simulated(100)
    with pytest.raises(CFAError, match="parameterization"):
        cfa_ordinal(data, "F =~ q1 + q2 + q3", parameterization="probit")
    with pytest.raises(CFAError, match="no column"):
        cfa_ordinal(data, "F =~ q1 + q2 + q9")
    with pytest.raises(CFAError, match="fixed to 0"):
        cfa_ordinal(data, "F =~ q1 + q2 + q3\nq1 ~ 1")
    with pytest.raises(CFAError, match="not a free parameter"):
        cfa_ordinal(data, "F =~ q1 + q2 + q3\nq1 ~~ q1")
    same = data.assign(q3=2)
    with pytest.raises(CFAError, match="same answer"):
        cfa_ordinal(same, "F =~ q1 + q2 + q3")
