"""Longitudinal measurement invariance against semTools 0.5-6 + lavaan 0.6-14.

Golden: ``tests/goldens/semtools_longitudinal.json`` (``tests/goldens/semtools_longitudinal.R``): the
wide model of ``semTools::measEq.syntax(longFacNames = ..., long.equal = ...)`` (ID.fac = "std.lv",
auto = "all") fitted by ``lavaan::cfa`` and compared by ``lavTestLRT``, on two data sets:

* the simulated residency data, waves 1 and 2 (408 residents, 347 at both waves): relatedness
  satisfaction (ML with FIML, MLR listwise) and relatedness with competence satisfaction (MLR, FIML);
* a three-wave, two-factor data set simulated by the R script with lavaan::simulateData
  (``tests/data/longitudinal_sim.csv``: the loading of y5 and the intercept of y2 differ at wave 3;
  some residents miss a wave): ML listwise, MLR with FIML, and partial invariance (long.partial).

Tolerances as for every CFA golden: fit measures 1e-5 relative, standard errors 1e-3 relative,
p-values 1e-5 (MLR: see check_lrt). Estimates: 1e-5 relative, except where lavaan's default
stopping rule leaves small residual covariances a few 1e-6 short of the optimum; there the golden
records lavaan's own log-likelihood at its estimates and at ours
(``tests/goldens/semtools_longitudinal_ours.json``, written by ``python
tests/test_longitudinal_invariance.py``), and lavaan's criterion is higher at ours.
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

from sdt_survey.errors import CFAError
from sdt_survey.factor import LongitudinalInvarianceResult, longitudinal_invariance
from sdt_survey.factor.sem.longitudinal import wide_model, wide_responses

HERE = Path(__file__).parent
GOLDEN_FILE = HERE / "goldens" / "semtools_longitudinal.json"
OURS_FILE = HERE / "goldens" / "semtools_longitudinal_ours.json"
REFERENCE = HERE / "data" / "reference" / "sdt-sim"
SIM = HERE / "data" / "longitudinal_sim.csv"

RS = "relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4"
TWO = RS + "\ncompetence_satisfaction =~ cs1 + cs2 + cs3 + cs4"
FG = "F =~ y1 + y2 + y3\nG =~ y4 + y5 + y6"
FIT_REL = 1e-5
SE_REL = 1e-3

#: Case -> (data set, model, id column, options), as the R script fits them.
CASES = {
    "res_rs_ml_fiml": ("residency", RS, "resident", {"missing": "fiml"}),
    "res_rs_mlr_listwise": ("residency", RS, "resident", {"missing": "listwise", "estimator": "MLR"}),
    "res_two_mlr_fiml": ("residency", TWO, "resident", {"missing": "fiml", "estimator": "MLR"}),
    "sim_ml_listwise": ("sim", FG, "id", {"missing": "listwise"}),
    "sim_mlr_fiml": ("sim", FG, "id", {"missing": "fiml", "estimator": "MLR"}),
    "sim_partial_ml_fiml": ("sim", FG, "id", {"missing": "fiml", "free": ["y2~1", "G=~y5"]}),
}


def load(name: str) -> pd.DataFrame:
    if name == "sim":
        return pd.read_csv(SIM)
    data = pd.concat([pd.read_csv(REFERENCE / f"responses_w{k}.csv") for k in (1, 2)], ignore_index=True)
    for item in ("as4", "rs4", "cs4"):
        data[item] = 6 - data[item]
    return data


def fit_case(case: str) -> LongitudinalInvarianceResult:
    data, model, id_column, options = CASES[case]
    return longitudinal_invariance(load(data), model, id=id_column, wave="wave", **options)


def our_name(name: str) -> str:
    return {"logl": "loglik", "chisq.scaling.factor": "scaling_factor", "df.scaled": "df"}.get(
        name, name.replace(".", "_")
    )


def key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    return (lhs, op, rhs) if op != "~~" or lhs <= rhs else (rhs, op, lhs)


def estimates_in_golden_order(result, golden_rows: dict) -> pd.DataFrame:
    """Our estimates and SEs in the order of lavaan's parameterEstimates rows."""
    table = result._estimates_table()
    ours = {key(r.lhs, r.op, r.rhs): (r.est, r.se) for r in table.itertuples(index=False)}
    keys = [key(*k) for k in zip(golden_rows["lhs"], golden_rows["op"], golden_rows["rhs"], strict=True)]
    return pd.DataFrame([ours[k] for k in keys], columns=["est", "se"])


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def results() -> dict[str, LongitudinalInvarianceResult]:
    return {}


def result_of(results: dict, case: str) -> LongitudinalInvarianceResult:
    if case not in results:
        results[case] = fit_case(case)
    return results[case]


# ------------------------------------------------------------------------------ goldens


def test_the_golden_is_semtools_default_identification(golden):
    assert golden["semtools"] == "0.5.6" and golden["lavaan"] == "0.6.14"
    syntax = golden["res_rs_ml_fiml"]["syntax"]["metric"]
    # std.lv: wave 1's factor variance is 1, wave 2's is free once loadings are equal
    assert "relatedness_satisfaction_w1 ~~ 1*relatedness_satisfaction_w1" in syntax
    assert "relatedness_satisfaction_w2 ~~ NA*relatedness_satisfaction_w2" in syntax


@pytest.mark.parametrize("case", list(CASES))
def test_fit_measures_and_lrt_equal_lavaan(case, golden, results):
    ref = golden[case]
    result = result_of(results, case)
    bad = {}
    for step, measures in ref["steps"].items():
        mine = result.steps[step].fit.to_series()
        for name, value in measures.items():
            if value is None or name == "pvalue.scaled":
                continue
            if mine[our_name(name)] != pytest.approx(value, rel=FIT_REL, abs=1e-12):
                bad[(step, name)] = (mine[our_name(name)], value)
    assert not bad, bad
    lrt = ref["lrt"]
    assert [c.df_diff for c in result.comparisons] == lrt["df_diff"]
    assert [c.chisq_diff for c in result.comparisons] == pytest.approx(lrt["chisq_diff"], rel=FIT_REL)
    pvalues = [c.pvalue for c in result.comparisons]
    assert pvalues == pytest.approx([stats.chi2.sf(c.chisq_diff, c.df_diff) for c in result.comparisons])
    if result.estimator == "MLR":
        # The statistic agrees to 1e-6; a p-value of 1e-10 in the far tail multiplies that error by
        # half the statistic (d log p / d chisq), so it is held to its chi-square tail above and here:
        assert pvalues == pytest.approx(lrt["pvalue"], rel=1e-3)
    else:
        assert pvalues == pytest.approx(lrt["pvalue"], rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_estimates_and_standard_errors_equal_lavaan(case, golden, results):
    ref = golden[case]
    ours_golden = json.loads(OURS_FILE.read_text(encoding="utf-8"))[case]
    result = result_of(results, case)
    for step, rows in ref["estimates"].items():
        mine = estimates_in_golden_order(result.steps[step], rows)
        est, se = np.asarray(rows["est"], float), np.asarray(rows["se"], float)
        np.testing.assert_allclose(mine["se"], se, rtol=SE_REL, atol=1e-7, err_msg=f"{case} {step} SE")
        close = np.isclose(mine["est"], est, rtol=FIT_REL, atol=1e-9)
        if not close.all():
            # lavaan stopped short: its own log-likelihood is higher at our estimates
            at = ref["criterion"][step]
            assert at["logl_at_ours"] > at["logl"], (case, step, at)
            np.testing.assert_allclose(mine["est"], ours_golden[step], rtol=0, atol=1e-7)
            np.testing.assert_allclose(mine["est"], est, rtol=0, atol=2e-5)  # and they are lavaan's, nearly


def test_latent_means_are_the_scalar_models(golden, results):
    result = result_of(results, "sim_mlr_fiml")
    rows = golden["sim_mlr_fiml"]["estimates"]["scalar"]
    table = pd.DataFrame(rows)
    means = table[(table["op"] == "~1") & table["lhs"].isin(["F_w2", "F_w3", "G_w2", "G_w3"])]
    got = result.latent_means.set_index(["factor", "wave"])
    for row in means.itertuples():
        factor, wave = row.lhs.split("_w")
        assert got.loc[(factor, int(wave)), "difference"] == pytest.approx(row.est, rel=1e-4)
        assert got.loc[(factor, int(wave)), "se"] == pytest.approx(row.se, rel=SE_REL)
    assert not got["comparable"].any()  # scalar invariance fails in these data


# ------------------------------------------------------------------------------ decisions


def test_the_simulated_violations_are_found(results):
    result = result_of(results, "sim_ml_listwise")
    by = {c.to_step: c for c in result.comparisons}
    assert by["metric"].criteria["chisq"] is False  # the loading of y5 differs at wave 3
    assert by["scalar"].status == "not supported"  # and the intercept of y2
    assert result.highest == "configural"
    assert "do not measure F and G the same way across waves" in result.conclusion
    # Releasing the loading of y5 and the intercept of y2 across waves (long.partial): partial metric
    # invariance holds; partial scalar is borderline (delta CFI -0.009, within .002 of the cutoff).
    partial = result_of(results, "sim_partial_ml_fiml")
    assert [c.status for c in partial.comparisons] == ["supported", "borderline", "supported"]
    assert partial.highest == "metric"
    assert "free across waves" in partial.conclusion and "only borderline" in partial.conclusion


def test_residency_waves_hold_and_notes_count_respondents(results):
    fiml = result_of(results, "res_rs_ml_fiml")
    assert fiml.highest == "strict"
    assert fiml.n_ids == 408 and fiml.n_all_waves == 347 and fiml.groups == {1: 408, 2: 347}
    assert any("61 only some (kept: FIML" in n for n in fiml.notes)
    listwise = result_of(results, "res_rs_mlr_listwise")
    assert any("61 only some (dropped: listwise deletion)" in n for n in listwise.notes)
    assert listwise.steps["configural"].n_used == 273


def test_summary_to_dict_and_syntax(results):
    result = result_of(results, "res_rs_ml_fiml")
    text = result.summary()
    assert text.startswith("Longitudinal measurement invariance across 'wave'")
    assert "reference wave 1" in text and "Latent mean differences" in text
    out = result.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["id"] == "resident" and out["waves"] == {"1": "_w1", "2": "_w2"}
    assert out["latent_means"][0]["factor"] == "relatedness_satisfaction"
    assert "rs1_w1 ~~ NA*rs1_w1 + NA*rs1_w2" in out["syntax"]["configural"]
    assert "lambda.relatedness_satisfaction.rs2*rs2_w2" in result.syntax("metric")
    with pytest.raises(CFAError, match="no step"):
        result.syntax("weak")


# ------------------------------------------------------------------------------ the model and the data


def test_wide_model_is_measeq_syntax():
    m = wide_model("f =~ a + b\ng =~ c + d\na ~~ c", 3, equal=("loadings", "intercepts"), free=["b~1"])
    text = m.to_lavaan()
    assert m.factors == ("f_w1", "g_w1", "f_w2", "g_w2", "f_w3", "g_w3")
    # the user's residual covariance at each wave; the same item across every pair of waves
    assert "a_w1 ~~ NA*a_w1 + NA*c_w1 + NA*a_w2 + NA*a_w3" in text
    assert "a_w2 ~~ NA*a_w2 + NA*c_w2 + NA*a_w3" in text
    assert "b_w2 ~ NA*1\n" in text and "a_w2 ~ NA*1 + nu.a*1" in text
    stmts = {(s.lhs, s.op, s.rhs): s for s in m.statements}
    assert stmts[("b_w2", "~1", "")].label is None  # released (long.partial)
    assert stmts[("f_w1", "~1", "")].fixed == (0.0,) and stmts[("f_w3", "~1", "")].free
    assert stmts[("f_w1", "~~", "f_w1")].fixed == (1.0,) and stmts[("g_w2", "~~", "g_w2")].free


def test_wide_responses_pivot():
    long = pd.DataFrame(
        {
            "id": ["a", "a", "b", "c", "c", "c"],
            "wave": ["T1", "T2", "T1", "T2", "T1", "T10"],
            "q": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0],
        }
    )
    wide = wide_responses(long, ["q"], "id", "wave")
    assert wide.waves == ["T1", "T2", "T10"]  # natural order
    assert list(wide.frame.columns) == ["q_w1", "q_w2", "q_w3"]
    assert wide.frame.loc["c"].tolist() == [pytest.approx(math.nan, nan_ok=True), 4.0, 6.0]
    assert wide.answered == {"T1": 2, "T2": 2, "T10": 1} and wide.n_all == 0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"id": "who"}, "no id column 'who'"),
        ({"wave": "when"}, "no wave column 'when'"),
        ({"estimator": "WLSMV", "missing": "fiml"}, "complete answers at every wave"),
        ({"estimator": "GLS"}, "estimator must be one of ML, MLR"),
        ({"steps": ["weak"]}, "unknown invariance step"),
        ({"criterion": "hu-bentler"}, "criterion must be"),
        ({"free": ["q9~1"]}, "names 'q9'"),
        ({"model": "F =~ q1 + a*q2 + q3"}, "without fixed values or labels"),
        ({"model": "F =~ q1 + q2 + q3\nF ~~ 1*F"}, "without fixed values or labels"),
    ],
)
def test_errors(kwargs, fragment):
    rng = np.random.default_rng(1)
    long = pd.DataFrame(rng.normal(size=(60, 3)), columns=["q1", "q2", "q3"]).assign(
        id=np.tile(np.arange(30), 2), wave=np.repeat([1, 2], 30)
    )
    options = {"model": "F =~ q1 + q2 + q3", "id": "id", "wave": "wave", **kwargs}
    model = options.pop("model")
    with pytest.raises(CFAError, match=fragment):
        longitudinal_invariance(long, model, **options)


def test_a_respondent_twice_in_a_wave_is_named():
    long = pd.DataFrame(
        {"id": [1, 1, 2, 2, 2], "wave": [1, 2, 1, 2, 2], "q1": [1.0, 2, 3, 4, 5], "q2": [1.0, 2, 3, 4, 5]}
    )
    with pytest.raises(
        CFAError, match=r"1 respondent\(s\) answered more than once in one wave: id 2 in wave 2"
    ):
        longitudinal_invariance(long, "F =~ q1 + q2", id="id", wave="wave")


def test_one_wave_is_refused():
    long = pd.DataFrame({"id": [1, 2], "wave": [1, 1], "q1": [1.0, 2.0]})
    with pytest.raises(CFAError, match=r"1 wave.*needs two or more"):
        longitudinal_invariance(long, "F =~ q1", id="id", wave="wave")


# ------------------------------------------------------------------------------ the command line


def test_cli_compares_waves_of_the_same_residents(tmp_path):
    from sdt_survey.cli import cli

    data = load("residency")
    data.loc[:, ["as4", "rs4", "cs4"]] = 6 - data[["as4", "rs4", "cs4"]]  # the file holds raw answers
    path = tmp_path / "waves.csv"
    data.to_csv(path, index=False)
    syntax = tmp_path / "rs.lav"
    syntax.write_text(RS)
    args = ["invariance", "bpn-residency", str(path), "--id-column", "resident", "--wave-column", "wave"]
    run = CliRunner().invoke(cli, [*args, "--syntax", str(syntax), "--format", "json"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.output)
    ref = fit_case("res_rs_ml_fiml")  # the file's reverse keys give the goldens' data
    assert out["id"] == "resident" and out["n_all_waves"] == 347
    assert out["steps"]["metric"]["chisq"] == pytest.approx(ref.steps["metric"].fit.chisq, rel=1e-9)
    run = CliRunner().invoke(cli, [*args, "--wave", "1"])
    assert run.exit_code != 0 and "uses every wave" in run.output


def _write_ours() -> None:  # pragma: no cover - run by hand before the R script
    golden = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    out = {}
    for case in CASES:
        result = fit_case(case)
        out[case] = {
            step: estimates_in_golden_order(result.steps[step], rows)["est"].tolist()
            for step, rows in golden[case]["estimates"].items()
        }
    OURS_FILE.write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    _write_ours()
