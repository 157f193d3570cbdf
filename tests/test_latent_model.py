"""The latent continuity model (issue 15, item 8) against lavaan 0.6-14.

``tests/goldens/lavaan_latent.R`` makes the golden: ``sem(..., cluster =, estimator = "MLR")`` of a
factor regressed on observed covariates, on the simulated residency data (FIML and listwise) and on
lavaan's Demo.twolevel. Tolerances as for every CFA golden: estimates and fit measures 1e-5 relative,
standard errors 1e-3 relative, p-values 1e-5 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey import score
from sdt_survey.cli import cli
from sdt_survey.errors import CFAError
from sdt_survey.factor import LatentModelResult, latent_continuity_model, latent_model
from sdt_survey.factor.sem.latent import read_latent_formula

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "goldens" / "lavaan_latent.json").read_text(encoding="utf-8"))
SIM = HERE / "data" / "reference" / "sdt-sim"
FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"
FIT_KEYS = (
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "pvalue_scaled",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
)


def golden_table(golden: dict) -> pd.DataFrame:
    frame = pd.DataFrame(golden["parameters"])
    return frame.set_index(["lhs", "op", "rhs"])


def check(result: LatentModelResult, golden: dict) -> None:
    sem = result.sem
    assert sem.n_used == golden["ntotal"]
    fit = sem.fit_measures
    for key in FIT_KEYS:
        assert fit[key] == pytest.approx(golden["fit"][key.replace("_", ".")], rel=1e-5, abs=1e-9), key
    # every measure lavaan's fitMeasures() reports for the fit (NA in lavaan: NaN here)
    for key, expected in golden["fit"].items():
        ours = fit[key.replace(".", "_")]
        if expected is None or (isinstance(expected, str) and expected == "NA"):
            assert ours is None or math.isnan(ours), key
        else:
            assert ours == pytest.approx(expected, rel=1e-5, abs=1e-9), key
    ours = sem.parameters.set_index(["lhs", "op", "rhs"])
    want = golden_table(golden)
    free = want[want["se"] > 0]
    assert set(free.index) <= set(ours.index), sorted(set(free.index) - set(ours.index))
    mine = ours.loc[free.index]
    np.testing.assert_allclose(mine["est"], free["est"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mine["se"], free["se"], rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(mine["pvalue"], free["pvalue"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(mine["std_all"], free["std_all"], rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def residency() -> pd.DataFrame:
    data = pd.read_csv(SIM / "responses_w1.csv")
    data["rs4"] = 6 - data["rs4"]
    truth = pd.read_csv(SIM / "continuity_truth.csv")[["resident", "coc"]]
    return data.merge(truth, on="resident")


@pytest.mark.parametrize(("key", "missing"), [("residency_fiml", "fiml"), ("residency_listwise", "listwise")])
def test_latent_model_equals_lavaan_on_the_residency_data(residency, key, missing):
    golden = GOLDEN[key]
    result = latent_model(residency, golden["model"], cluster="program", estimator="MLR", missing=missing)
    check(result, golden)
    assert result.predictors == ("coc", "pgy")
    assert result.n_clusters == 14
    assert any("only 14 clusters" in w for w in result.warnings)  # the engine warns below 20 clusters


@pytest.mark.parametrize(("key", "missing"), [("twolevel", "auto"), ("twolevel_fiml", "fiml")])
def test_latent_model_equals_lavaan_on_demo_twolevel(key, missing):
    """Complete data: "auto" is lavaan's default (listwise); "fiml": its FIML-corrected robust indices."""
    golden = GOLDEN[key]
    data = pd.read_csv(HERE / "data" / "latent_twolevel.csv")
    result = latent_model(data, golden["model"], cluster="cluster", estimator="MLR", missing=missing)
    check(result, golden)
    assert result.n_clusters == 200 and not any("clusters" in w for w in result.warnings)


def test_latent_continuity_model_builds_the_model_from_the_formula():
    """From scored responses and the exposure table, as the observed-score model takes them."""
    scored = score("bpn-residency", SIM / "responses_w1.csv", id_column="resident")
    exposure = pd.read_csv(SIM / "continuity_truth.csv")
    result = latent_continuity_model(scored, exposure, FORMULA)
    check(result, GOLDEN["residency_fiml"])
    assert result.items == ("rs1", "rs2", "rs3", "rs4")
    assert result.cluster == "program" and result.join.n_matched == 408
    frame = result.to_frame()
    assert frame["predictor"].tolist() == ["coc", "pgy"]
    text = result.summary()
    assert "relatedness_satisfaction" in text and "14 clusters" in text
    data = result.to_dict()
    assert data["effects"][0]["predictor"] == "coc" and 0 < data["r_squared"] < 1


def test_the_formula_is_read_strictly():
    assert read_latent_formula("y ~ coc + (1|program/resident)").cluster == "program"
    assert read_latent_formula("y ~ coc").cluster is None
    with pytest.raises(CFAError, match="plain column name"):
        read_latent_formula("y ~ C(pgy) + (1|program)")
    with pytest.raises(CFAError, match="random slopes"):
        read_latent_formula("y ~ coc + (coc|program)")


def test_latent_model_errors_name_what_is_wrong(residency):
    with pytest.raises(CFAError, match="no column 'continuity'"):
        latent_model(residency, "r =~ rs1 + rs2 + rs3\nr ~ continuity", cluster="program")
    with pytest.raises(CFAError, match="needs a regression"):
        latent_model(residency, "r =~ rs1 + rs2 + rs3", cluster="program")
    scored = score("bpn-residency", SIM / "responses_w1.csv", id_column="resident")
    with pytest.raises(CFAError, match="not a subscale"):
        latent_continuity_model(scored, pd.read_csv(SIM / "continuity_truth.csv"), "relatedness ~ coc")


def test_cli_model_latent(tmp_path):
    out = tmp_path / "latent.json"
    result = CliRunner().invoke(
        cli,
        [
            "model",
            "--instrument",
            "bpn-residency",
            "--responses",
            str(SIM / "responses_w1.csv"),
            "--exposure",
            str(SIM / "continuity_truth.csv"),
            "--id-column",
            "resident",
            "--formula",
            FORMULA,
            "--latent",
            "--format",
            "json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    coc = GOLDEN["residency_fiml"]["parameters"][4]
    assert (coc["lhs"], coc["rhs"]) == ("relatedness_satisfaction", "coc")
    assert data["effects"][0]["est"] == pytest.approx(coc["est"], rel=1e-5)
    refused = CliRunner().invoke(
        cli,
        ["model", "--scores", str(SIM / "scores_truth.csv"), "--exposure", str(SIM / "continuity_truth.csv"),
         "--id-column", "resident", "--formula", FORMULA, "--latent"],
    )  # fmt: skip
    assert refused.exit_code == 2 and "needs the items" in refused.output
