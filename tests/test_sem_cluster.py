"""Clustered data (issue 15 item 4): ``cfa(..., cluster=)`` against lavaan 0.6-14's ``cluster =``.

tests/goldens/lavaan_cluster.R makes the golden: lavaan's Demo.twolevel (200 clusters; complete, with
missing answers under FIML, and as two groups) and the simulated residency data (14 programs; listwise
and FIML), each with estimator ML and MLR (lavaan uses robust.cluster standard errors and the
Yuan-Bentler test for both). Tolerances as for every CFA golden: estimates and fit measures 1e-5
relative, standard errors 1e-3, p-values 1e-5. lavaan's default stopping rule leaves some estimates
~1e-6 short of the optimum, which moves a few parameter p-values by more than 1e-5; so the golden also
holds lavaan evaluated at our estimates (tests/goldens/lavaan_cluster_ours.json): its own log-likelihood
is at least as high there, and its p-values there are compared with ours.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey.cli import cli
from sdt_survey.errors import CFAError, CFAWarning
from sdt_survey.factor import cfa, measurement_invariance
from sdt_survey.factor.sem.cluster import score_crossprod

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "goldens" / "lavaan_cluster.json").read_text(encoding="utf-8"))
OURS = json.loads((HERE / "goldens" / "lavaan_cluster_ours.json").read_text(encoding="utf-8"))

#: lavaan's fitMeasures() name -> ours (FitMeasures attributes).
FIT = {
    "npar": "npar",
    "chisq": "chisq",
    "df": "df",
    "pvalue": "pvalue",
    "chisq.scaled": "chisq_scaled",
    "pvalue.scaled": "pvalue_scaled",
    "chisq.scaling.factor": "scaling_factor",
    "baseline.chisq": "baseline_chisq",
    "baseline.chisq.scaled": "baseline_chisq_scaled",
    "baseline.chisq.scaling.factor": "baseline_scaling_factor",
    "cfi": "cfi",
    "tli": "tli",
    "cfi.robust": "cfi_robust",
    "tli.robust": "tli_robust",
    "rmsea": "rmsea",
    "rmsea.ci.lower": "rmsea_ci_lower",
    "rmsea.ci.upper": "rmsea_ci_upper",
    "rmsea.robust": "rmsea_robust",
    "rmsea.ci.lower.robust": "rmsea_ci_lower_robust",
    "rmsea.ci.upper.robust": "rmsea_ci_upper_robust",
    "srmr": "srmr",
    "logl": "loglik",
    "unrestricted.logl": "unrestricted_loglik",
    "aic": "aic",
    "bic": "bic",
}


def demo(missing: bool = False) -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "demo_twolevel.csv")
    data["g"] = np.where(data["cluster"] <= 100, "a", "b")
    if missing:  # the golden's rule, on 1-based row numbers
        r = np.arange(1, len(data) + 1)
        data.loc[r % 9 == 0, "y1"] = np.nan
        data.loc[r % 13 == 5, "y5"] = np.nan
        data.loc[(r % 17 == 2) & (r % 9 != 0), "y3"] = np.nan
    return data


def residency() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "residency_cluster.csv")
    data["rs4"] = 6 - data["rs4"]
    data["cs4"] = 6 - data["cs4"]
    return data


DEMO, RES = "demo_model", "residency_model"
ONE = {"cluster": "cluster"}
TWO = {"cluster": "cluster", "group": "g"}
PROGRAMS = {"cluster": "program", "missing": "listwise"}
PROGRAMS_FIML = {"cluster": "program", "missing": "fiml"}
CASES = {
    "demo_ml": (demo, DEMO, {"estimator": "ML", **ONE}),
    "demo_mlr": (demo, DEMO, {"estimator": "MLR", **ONE}),
    "demo_fiml_ml": (lambda: demo(True), DEMO, {"estimator": "ML", **ONE}),
    "demo_fiml_mlr": (lambda: demo(True), DEMO, {"estimator": "MLR", **ONE}),
    "demo_groups_ml": (demo, DEMO, {"estimator": "ML", **TWO}),
    "demo_groups_mlr": (demo, DEMO, {"estimator": "MLR", **TWO}),
    "residency_ml": (residency, RES, {"estimator": "ML", **PROGRAMS}),
    "residency_mlr": (residency, RES, {"estimator": "MLR", **PROGRAMS}),
    "residency_fiml_ml": (residency, RES, {"estimator": "ML", **PROGRAMS_FIML}),
    "residency_fiml_mlr": (residency, RES, {"estimator": "MLR", **PROGRAMS_FIML}),
}


def fit_case(name: str, data: pd.DataFrame | None = None):
    make, model, options = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CFAWarning)  # 14 programs: the few-clusters warning
        return cfa(make() if data is None else data, GOLDEN[model], **options)


def numbers(values) -> np.ndarray:
    return np.array([np.nan if v in (None, "NA") else v for v in values], dtype=float)


def check(result, golden, ours=None) -> None:
    for theirs, key in FIT.items():
        assert getattr(result.fit, key) == pytest.approx(golden["fit"][theirs], rel=1e-5, abs=1e-9), theirs
    table = result.parameters
    assert table["lhs"].tolist() == golden["lhs"] and table["rhs"].tolist() == golden["rhs"]
    np.testing.assert_allclose(table["est"], golden["est"], rtol=1e-5, atol=1e-7)
    se = np.array(golden["se"], dtype=float)
    np.testing.assert_allclose(table["se"], se, rtol=1e-3, atol=1e-9)
    if ours is not None:  # lavaan at our estimates: its criterion is at least as high there
        assert golden["logl_at_ours"] >= golden["fit"]["logl"]
        np.testing.assert_allclose(table["est"], ours, rtol=0, atol=1e-8)
        np.testing.assert_allclose(table["est"], golden["est_at_ours"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(table["se"], numbers(golden["se_at_ours"]), rtol=1e-3, atol=1e-9)
        p = numbers(golden["pvalue_at_ours"])
        free = np.isfinite(p)
        # lavaan's p = 2 (1 - pnorm(|z|)) is 0 below double precision (1e-16): hence the atol
        np.testing.assert_allclose(table["pvalue"].to_numpy()[free], p[free], rtol=1e-5, atol=1e-15)
    assert result.n_used == golden["nobs"] and result.n_clusters == golden["nclusters"]


@pytest.mark.parametrize("name", list(CASES))
def test_cluster_robust_fit_equals_lavaan(name):
    result = fit_case(name)
    check(result, GOLDEN[name], OURS[name])
    assert GOLDEN[name]["se_type"] == "robust.cluster"
    text = result.summary()
    assert "Robust.cluster" in text and f"Number of clusters [{result.cluster}]" in text


def test_ml_and_mlr_share_standard_errors_but_not_the_h0_trace():
    ml, mlr = fit_case("demo_ml"), fit_case("demo_mlr")
    np.testing.assert_allclose(ml.parameters["se"], mlr.parameters["se"], rtol=1e-10)
    assert ml.fit.chisq_scaled != pytest.approx(mlr.fit.chisq_scaled, rel=1e-4)


def test_clustering_changes_errors_not_estimates():
    plain = GOLDEN["residency_mlr_unclustered"]
    result = fit_case("residency_mlr")
    np.testing.assert_allclose(result.parameters["est"], plain["est"], rtol=1e-5, atol=1e-7)
    se, se_plain = result.parameters["se"].to_numpy(), np.array(plain["se"], dtype=float)
    assert np.max(np.abs(se - se_plain) / np.where(se_plain > 0, se_plain, 1)) > 0.05


def test_row_order_does_not_matter_under_fiml():
    """Scores come out pattern by pattern: each must still be summed into its own respondent's cluster."""
    data = demo(True).sample(frac=1.0, random_state=3).reset_index(drop=True)
    check(fit_case("demo_fiml_mlr", data), GOLDEN["demo_fiml_mlr"])


def test_one_respondent_per_cluster_is_the_huber_white_sandwich_times_n_over_n_minus_1():
    data = demo().iloc[:400].copy()
    data["id"] = np.arange(len(data))
    model = GOLDEN["demo_model"] + "\ny1 ~ 1"  # a mean structure, as with clusters
    robust = cfa(data, model, estimator="MLR")
    singletons = cfa(data, GOLDEN["demo_model"], estimator="MLR", cluster="id")
    n = len(data)
    keys = ["lhs", "op", "rhs"]
    both = singletons.parameters.merge(robust.parameters, on=keys, suffixes=("", "_hw"), validate="1:1")
    assert len(both) == len(singletons.parameters)
    np.testing.assert_allclose(both["se"], both["se_hw"] * np.sqrt(n / (n - 1)), rtol=1e-8)


def test_score_crossprod_sums_within_clusters():
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(9, 3))
    cluster = np.array([2, 0, 1, 2, 0, 1, 1, 0, 2])
    sums = np.stack([scores[cluster == c].sum(axis=0) for c in range(3)])
    np.testing.assert_allclose(score_crossprod(scores, cluster), sums.T @ sums * 3 / 2)
    np.testing.assert_allclose(score_crossprod(scores, None), scores.T @ scores)


def test_result_says_it_is_clustered():
    result = fit_case("residency_mlr")
    out = result.to_dict()
    assert out["cluster"] == "program" and out["n_clusters"] == 14
    assert json.dumps(out, allow_nan=False)
    assert "cluster" not in cfa(residency(), GOLDEN["residency_model"], missing="listwise").to_dict()


def test_few_clusters_warn():
    with pytest.warns(CFAWarning, match="only 14 clusters of 'program'"):
        cfa(residency(), GOLDEN["residency_model"], cluster="program", missing="listwise")


def test_rows_without_a_cluster_are_left_out_with_a_note():
    data = demo()
    data.loc[:2, "cluster"] = np.nan
    result = cfa(data, GOLDEN["demo_model"], cluster="cluster")
    assert result.n_used == len(data) - 3
    assert any("3 row(s) without a value of 'cluster'" in note for note in result.notes)


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (None, {"cluster": "clustr"}, "no cluster column 'clustr' \\(did you mean 'cluster'\\?\\)"),
        ("one", {"cluster": "cluster"}, "at least two clusters, but 'cluster' has 1"),
        ("one_in_group", {"cluster": "cluster", "group": "g"}, "at least two clusters.*in group 'b'"),
    ],
)
def test_clear_errors(change, options, message):
    data = demo()
    if change == "one":
        data["cluster"] = 7
    if change == "one_in_group":
        data.loc[data["g"] == "b", "cluster"] = 150
    with pytest.raises(CFAError, match=message):
        cfa(data, GOLDEN["demo_model"], **options)


def test_wlsmv_refuses_cluster():
    from sdt_survey.factor.sem.estimators import estimator_record

    with pytest.raises(CFAError, match=r"cluster= .* is available for ML, MLR, not WLSMV"):
        estimator_record("WLSMV", "ordinal", cluster=True)


def test_cli_cluster(tmp_path):
    from sdt_survey.simulate import simulate

    simulate("bpn-residency", seed=2, n_programs=24).write_folder(tmp_path)
    path = str(tmp_path / "responses_w1.csv")
    runner = CliRunner()
    base = ["cfa", "bpn-residency", path, "--id-column", "resident", "--estimator", "MLR"]
    out = runner.invoke(cli, [*base, "--cluster", "program", "--format", "json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output[out.output.index("{") :])
    assert payload["cluster"] == "program" and payload["n_clusters"] == 24
    plain = runner.invoke(cli, [*base, "--format", "json"]).output
    assert '"n_used"' in plain and '"cluster"' not in plain
    bad = runner.invoke(cli, [*base, "--cluster", "programme"])
    assert bad.exit_code != 0 and "no cluster column 'programme'" in bad.output
    wlsmv = runner.invoke(cli, [*base[:-1], "WLSMV", "--cluster", "program"])
    assert wlsmv.exit_code != 0 and "available for ML, MLR" in wlsmv.output
    assert "--cluster COL" in runner.invoke(cli, ["cfa", "--help"]).output


INVARIANCE = {
    "demo_ml": (demo, DEMO, {"estimator": "ML", "cluster": "cluster"}, "g"),
    "demo_mlr": (demo, DEMO, {"estimator": "MLR", "cluster": "cluster"}, "g"),
    "residency_pgy_mlr": (
        residency,
        RES,
        {"estimator": "MLR", "cluster": "program", "missing": "fiml"},
        "pgy",
    ),
}


@pytest.mark.parametrize("name", list(INVARIANCE))
def test_invariance_with_clusters_equals_lavaan(name):
    """Every step cluster-robust; Satorra-Bentler (2001) differences as lavaan's lavTestLRT (ML too).

    The difference of two scaling factors magnifies lavaan's early stop (~1e-6 in each) to ~2e-5 in
    a p-value; lavaan's log-likelihood is higher at our estimates of every step, and its LRT there
    is compared with ours.
    """
    make, model, options, group = INVARIANCE[name]
    golden = GOLDEN["invariance"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CFAWarning)
        chain = measurement_invariance(make(), GOLDEN[model], group, **options)
    for step, fit in chain.steps.items():
        expected = golden["steps"][step]
        for theirs in (
            "chisq",
            "df",
            "chisq.scaled",
            "chisq.scaling.factor",
            "cfi.robust",
            "rmsea.robust",
            "srmr",
        ):
            ours = getattr(fit.fit, FIT[theirs])
            assert ours == pytest.approx(expected[theirs], rel=1e-5, abs=1e-9), (step, theirs)
        assert golden["steps_at_ours"][step]["logl"] >= golden["steps"][step]["logl"]
    for comparison in chain.comparisons:
        assert comparison.chisq_diff == pytest.approx(
            golden["lrt"][comparison.to_step]["chisq_diff"], rel=1e-5
        )
        expected = golden["lrt_at_ours"][comparison.to_step]
        assert comparison.df_diff == expected["df_diff"]
        assert comparison.chisq_diff == pytest.approx(expected["chisq_diff"], rel=1e-5)
        assert comparison.pvalue == pytest.approx(expected["pvalue"], rel=1e-5)
    assert "robust" in chain.summary().lower()


def test_cli_invariance_cluster(tmp_path):
    from sdt_survey.simulate import simulate

    simulate("bpn-residency", seed=2, n_programs=24).write_folder(tmp_path)
    args = ["invariance", "bpn-residency", str(tmp_path / "responses_w1.csv"), "--id-column", "resident"]
    args += ["--group-column", "pgy", "--estimator", "MLR", "--cluster", "program", "--format", "json"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output[out.output.index("{") :])
    assert (
        payload["comparisons"] and "--cluster COL" in CliRunner().invoke(cli, ["invariance", "--help"]).output
    )


def test_the_command_line_shows_a_warning_as_one_plain_line(tmp_path):
    """The package's warnings reach the terminal as `warning: ...`, not Python's `file:line: CFAWarning:`."""
    import warnings

    from click.testing import CliRunner

    from sdt_survey.cli import cli

    responses = HERE / "data" / "reference" / "sdt-sim" / "responses_w1.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        result = CliRunner().invoke(
            cli,
            ["cfa", "bpn-residency", str(responses), "--id-column", "resident", "--cluster", "program",
             "--out", str(tmp_path / "cfa.json")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning: only 14 clusters of 'program'" in result.output
    assert "CFAWarning" not in result.output and ".py:" not in result.output
