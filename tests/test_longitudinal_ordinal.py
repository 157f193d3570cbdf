"""Longitudinal invariance of ordinal items by WLSMV, equal to semTools 0.5-6 + lavaan 0.6-14.

Golden: ``tests/goldens/semtools_longitudinal_ordinal.json`` (``.R`` beside it): the wide model of
``semTools::measEq.syntax(ordered = items, parameterization = "theta", ID.fac = "std.lv",
ID.cat = "Wu.Estabrook.2016", longFacNames = ..., long.equal = ...)`` for the chain configural ->
thresholds -> loadings -> intercepts -> residuals, fitted by ``lavaan::cfa(estimator = "WLSMV")`` on
the complete cases across waves and compared by ``lavTestLRT``, on two data sets:

* the simulated residency data, waves 1 and 2: relatedness satisfaction rs1..rs4 (five categories;
  408 residents, 273 complete at both waves);
* a three-wave, two-factor ordinal set simulated by the R script (``tests/data/longitudinal_ordinal_sim.csv``,
  four categories, y2's categories shifted at wave 3; some respondents miss a wave).

Tolerances as every golden: fit measures and p-values 1e-5 relative, standard errors 1e-3 relative.
Estimates 1e-5 relative, except where lavaan's default stopping rule ends a little short: there the
golden records lavaan's own fit function at its estimates and at ours
(``tests/goldens/semtools_longitudinal_ordinal_ours.json``, written by
``tests/goldens/semtools_longitudinal_ordinal_ours.py``), lower at ours.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey.errors import CFAError
from sdt_survey.factor import longitudinal_invariance
from sdt_survey.factor.sem import CFAModel, wu_estabrook_long_table, wu_estabrook_table
from sdt_survey.factor.sem.longitudinal import LongitudinalOrdinalResult
from sdt_survey.factor.sem.ordinal_invariance import ORDINAL_STEPS

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "goldens" / "semtools_longitudinal_ordinal.json").read_text())
OURS = json.loads((HERE / "goldens" / "semtools_longitudinal_ordinal_ours.json").read_text())
REF = HERE / "data" / "reference" / "sdt-sim"

FIT_KEYS = [
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "baseline_chisq",
    "baseline_df",
    "baseline_chisq_scaled",
    "cfi",
    "tli",
    "rmsea",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "srmr",
    "npar",
    "ntotal",
]


def _residency() -> pd.DataFrame:
    d = pd.concat([pd.read_csv(REF / "responses_w1.csv"), pd.read_csv(REF / "responses_w2.csv")])
    d["rs4"] = 6 - d["rs4"]
    return d


SETS = {
    "res_rs": (_residency, "rs =~ rs1 + rs2 + rs3 + rs4", "resident"),
    "sim": (
        lambda: pd.read_csv(HERE / "data" / "longitudinal_ordinal_sim.csv"),
        "F =~ y1 + y2 + y3\nG =~ y4 + y5 + y6",
        "id",
    ),
}


@pytest.fixture(scope="module")
def chains() -> dict[str, LongitudinalOrdinalResult]:
    return {
        case: longitudinal_invariance(load(), model, id=id_column, wave="wave", estimator="WLSMV")
        for case, (load, model, id_column) in SETS.items()
    }


@pytest.mark.parametrize("case", SETS)
def test_each_step_fits_as_lavaan(chains, case):
    res = chains[case]
    golden = GOLDEN[case]
    assert list(res.steps) == list(golden["steps"]) == list(ORDINAL_STEPS)
    for step, fit in res.steps.items():
        want = golden["steps"][step]["fit"]
        for key in FIT_KEYS:
            np.testing.assert_allclose(
                fit.fit[key], want[key.replace("_", ".")], rtol=1e-5, err_msg=f"{case} {step} {key}"
            )


@pytest.mark.parametrize("case", SETS)
def test_estimates_and_standard_errors_are_lavaans(chains, case):
    for step, fit in chains[case].steps.items():
        golden = GOLDEN[case]["steps"][step]
        want = pd.DataFrame(golden["parameters"])
        ours = fit.parameters
        merged = want.merge(ours, on=["lhs", "op", "rhs"], how="left", suffixes=("_lavaan", ""))
        assert len(merged) == len(want) and merged["est"].notna().all(), f"{case} {step}: rows missing"
        np.testing.assert_allclose(merged["se"], merged["se_lavaan"], rtol=1e-3, atol=1e-8)
        close = np.isclose(merged["est"], merged["est_lavaan"], rtol=1e-5, atol=1e-8)
        if not close.all():
            # lavaan stopped early: its own criterion is lower at our estimates (recorded in the golden).
            assert golden["fx_at_ours"] < golden["fx"], f"{case} {step}"
            recorded = pd.DataFrame(OURS[f"{case}_{step}"])
            mine = ours[ours["se"] > 0].reset_index(drop=True)
            np.testing.assert_allclose(mine["est"], recorded["est"], rtol=0, atol=1e-8)
            np.testing.assert_allclose(merged["est"], merged["est_lavaan"], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("case", SETS)
def test_difference_tests_are_lavTestLRT(chains, case):
    res = chains[case]
    lrt = GOLDEN[case]["lrt"]
    assert [c.to_step for c in res.comparisons] == list(lrt)
    for c in res.comparisons:
        want = lrt[c.to_step]
        assert c.df_diff == want["df_diff"]
        np.testing.assert_allclose(c.chisq_diff, want["chisq_diff"], rtol=1e-5)
        np.testing.assert_allclose(c.pvalue, want["pvalue"], rtol=1e-5)


def test_the_wide_model_is_measeq_syntax():
    """Residual covariances of the same item across waves free; wave 2's intercepts and theta free once
    thresholds are equal; the strict step fixes theta at 1 at every wave but keeps the covariances."""
    golden = GOLDEN["res_rs"]["syntax"]
    assert "rs1_w1 ~~ NA*rs1_w2" in golden["configural"] and "rs1_w2 ~ NA*1" in golden["thresholds"]
    model = CFAModel.from_syntax(
        "rs_w1 =~ rs1_w1 + rs2_w1 + rs3_w1\nrs_w2 =~ rs1_w2 + rs2_w2 + rs3_w2\n"
        "rs1_w1 ~~ rs1_w2\nrs2_w1 ~~ rs2_w2\nrs3_w1 ~~ rs3_w2"
    )
    names = {f"{v}_w{k + 1}": (v, k) for v in ("rs", "rs1", "rs2", "rs3") for k in range(2)}
    counts = [
        wu_estabrook_long_table(model, [4] * 6, "theta", names, ORDINAL_STEPS[s]).numbered()[1]
        for s in ORDINAL_STEPS
    ]
    # 24 thresholds + 6 loadings + 3 residual covariances + 1 factor covariance; then -12 thresholds
    # +3 intercepts +3 theta; -3 loadings +1 variance; -3 intercepts +1 mean; -3 theta.
    assert counts == [34, 28, 26, 24, 21]
    strict = wu_estabrook_long_table(model, [4] * 6, "theta", names, ORDINAL_STEPS["strict"], ["rs2~~rs2"])
    rows = {r[1:4]: k for k, r in enumerate(strict.rows)}
    free, _ = strict.numbered()
    assert free[rows[("rs2_w2", "~~", "rs2_w2")]] >= 0 and free[rows[("rs1_w2", "~~", "rs1_w2")]] < 0
    assert free[rows[("rs1_w1", "~~", "rs1_w2")]] >= 0
    # The multi-group table is the same identification with groups in place of waves.
    single = CFAModel.from_syntax("rs =~ rs1 + rs2 + rs3")
    multi = wu_estabrook_table(single, 2, [4] * 3, "theta", ORDINAL_STEPS["metric"])
    assert multi.numbered()[1] == 12 + 3 + 3 + 3 + 1  # thresholds, loadings; group 2: nu, theta, psi


def test_the_simulated_shift_is_found_and_residency_holds(chains):
    sim = chains["sim"]
    assert sim.highest == "metric"
    assert [c.status for c in sim.comparisons][2] == "not supported"
    res = chains["res_rs"]
    assert res.highest == "strict" and all(c.supported for c in res.comparisons)
    assert res.latent_means["wave"].tolist() == [2] and res.latent_means["comparable"].all()
    scalar = res.steps["scalar"].parameters.set_index(["lhs", "op", "rhs"])
    assert res.latent_means["difference"].iloc[0] == scalar.loc[("rs_w2", "~1", ""), "est"]


def test_notes_count_the_residents_dropped_and_summary_reads(chains):
    res = chains["res_rs"]
    assert res.n_ids == 408 and res.groups == {1: 408, 2: 347}
    assert res.steps["configural"].fit["ntotal"] == 273
    assert "273 with complete answers at every wave are fitted" in res.notes[0]
    assert "135 dropped (61 missed a wave, 74 skipped an item)" in res.notes[0]
    text = res.summary()
    assert text.startswith("Longitudinal measurement invariance across 'wave'")
    assert "Wu & Estabrook" in text and res.conclusion.startswith("wave means on rs can be compared")
    out = res.to_dict()
    assert out["n_all_waves"] == 347 and list(out["steps"]) == list(ORDINAL_STEPS)
    assert out["latent_means"][0]["factor"] == "rs"


def test_ordinal_requests_are_refused_in_words():
    load, model, id_column = SETS["sim"]
    data = load()
    with pytest.raises(CFAError, match="complete answers at every wave"):
        longitudinal_invariance(data, model, id=id_column, wave="wave", estimator="WLSMV", missing="fiml")
    shifted = data.assign(y1=np.where(data["wave"] == 3, data["y1"] + 1, data["y1"]))
    with pytest.raises(CFAError, match="'y1' does not use the same categories at every wave"):
        longitudinal_invariance(shifted, model, id=id_column, wave="wave", estimator="WLSMV")
    with pytest.raises(CFAError, match="unknown invariance step"):
        longitudinal_invariance(data, model, id=id_column, wave="wave", estimator="WLSMV", steps=["weak"])


def test_partial_invariance_frees_an_intercept_at_later_waves():
    load, model, id_column = SETS["sim"]
    res = longitudinal_invariance(
        load(), model, id=id_column, wave="wave", estimator="WLSMV", steps=("metric", "scalar"), free=["y2~1"]
    )
    par = res.steps["scalar"].parameters.set_index(["lhs", "op", "rhs"])
    assert par.loc[("y2_w3", "~1", ""), "se"] > 0 and par.loc[("y2_w1", "~1", ""), "est"] == 0
    assert par.loc[("y1_w3", "~1", ""), "se"] == 0
    assert res.steps["scalar"].fit["df"] == GOLDEN["sim"]["steps"]["scalar"]["fit"]["df"] - 2


def test_cli_runs_the_ordinal_chain_across_waves(tmp_path):
    from sdt_survey.cli import cli

    data = _residency()
    data["rs4"] = 6 - data["rs4"]  # the file holds raw answers
    path = tmp_path / "waves.csv"
    data.to_csv(path, index=False)
    syntax = tmp_path / "rs.lav"
    syntax.write_text("rs =~ rs1 + rs2 + rs3 + rs4")
    args = ["invariance", "bpn-residency", str(path), "--id-column", "resident", "--wave-column", "wave"]
    options = ["--syntax", str(syntax), "--estimator", "WLSMV", "--format", "json"]
    run = CliRunner().invoke(cli, [*args, *options])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output)
    assert out["estimator"] == "WLSMV" and list(out["steps"]) == list(ORDINAL_STEPS)
    want = GOLDEN["res_rs"]["steps"]["metric"]["fit"]["chisq.scaled"]
    assert out["steps"]["metric"]["chisq_scaled"] == pytest.approx(want, rel=1e-5)


def test_categories_missing_at_a_wave_are_merged_on_request():
    load, model, id_column = SETS["sim"]
    data = load()
    shifted = data.assign(y1=np.where(data["wave"] == 3, data["y1"] + 1, data["y1"]))  # wave 3: 2..5
    steps = ("configural", "thresholds")
    res = longitudinal_invariance(
        shifted, model, id=id_column, wave="wave", estimator="WLSMV", steps=steps, merge_empty=True
    )
    assert "y1: category 1 merged into 2, category 5 merged into 4 (not used at every wave)" in res.notes
    by_hand = shifted.assign(y1=shifted["y1"].clip(2, 4))
    ref = longitudinal_invariance(by_hand, model, id=id_column, wave="wave", estimator="WLSMV", steps=steps)
    for step in steps:
        assert res.steps[step].fit["chisq"] == pytest.approx(ref.steps[step].fit["chisq"], rel=1e-10)
