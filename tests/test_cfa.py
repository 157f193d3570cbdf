"""Confirmatory factor analysis against lavaan 0.6-14 (and semTools 0.5-6) goldens.

Shared goldens: ``tests/data/reference/public/ref_hs.json`` and
``tests/data/reference/sdt-sim/reference.json``. Our own:
``tests/goldens/lavaan_cfa.json``, made by ``tests/goldens/lavaan_cfa.R``.
Tolerances: chi-square, df, fit indices and log-likelihoods 1e-5 relative;
estimates 1e-4; standard errors 1e-3 relative.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.factor.sem import (
    FIT_KEYS,
    ROBUST_FIT_KEYS,
    CFAError,
    CFAModel,
    CFAWarning,
    cfa,
    emit_lavaan,
)
from sdt_survey.factor.sem.implied import Engine as _Engine
from sdt_survey.factor.sem.optimize import optimize as _optimize
from sdt_survey.factor.sem.samplestats import prepare_data as _prepare
from sdt_survey.factor.sem.spec import build_spec as _build_spec
from sdt_survey.factor.sem.start import start_values as _start_values
from tests.conftest import REFERENCE

GOLDENS = Path(__file__).parent / "goldens"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="tests/data/reference is missing")

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
HS_SECOND = HS_MODEL + "\ng =~ visual + textual + speed"

FIT_REL = 1e-5
EST_ABS = 1e-4
SE_REL = 1e-3

# lavaan's fitMeasures names -> ours
NAMES = {
    "logl": "loglik",
    "unrestricted.logl": "unrestricted_loglik",
    "chisq.scaling.factor": "scaling_factor",
    "baseline.chisq.scaling.factor": "baseline_scaling_factor",
}


def our_name(name: str) -> str:
    return NAMES.get(name, name.replace(".", "_"))


def fit_close(mine: float, ref: float) -> bool:
    # p-values of 1e-9 carry the chi-square's relative error many times over: 1e-12 absolute suffices.
    return mine == pytest.approx(ref, rel=FIT_REL, abs=1e-12)


def check_fit(result, reference: dict, skip=("ntotal",)):
    measures = result.fit.to_series()
    bad = {}
    for name, value in reference.items():
        if name in skip or value is None:
            continue
        mine = measures[our_name(name)]
        if not fit_close(mine, value):
            bad[name] = (mine, value)
    assert not bad, bad


def check_parameters(result, reference_rows: list[dict]):
    ref = pd.DataFrame(reference_rows)
    ref["rhs"] = ref["rhs"].fillna("")
    keys = ["lhs", "op", "rhs"]
    mine = result.parameters.copy()
    if "group" in ref:
        keys.append("group")
        mine["group"] = mine["group"].map({label: i + 1 for i, label in enumerate(result.groups)})
    merged = ref.merge(mine, on=keys, how="left", suffixes=("_ref", ""), validate="one_to_one")
    assert len(merged) == len(mine) and merged["est"].notna().all()
    np.testing.assert_allclose(merged["est"], merged["est_ref"], atol=EST_ABS, rtol=0)
    np.testing.assert_allclose(merged["se"], merged["se_ref"], rtol=SE_REL, atol=1e-12)
    np.testing.assert_allclose(merged["std_all"], merged["std_all_ref"], atol=EST_ABS, rtol=0)
    np.testing.assert_allclose(merged["std_all_se"], merged["std_all_se_ref"], rtol=SE_REL, atol=1e-12)
    free = merged["se_ref"] > 0
    np.testing.assert_allclose(merged.loc[free, "z"], merged.loc[free, "z_ref"], rtol=SE_REL)


# ----------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    if not REFERENCE.is_dir():
        pytest.skip("tests/data/reference is missing")
    return pd.read_csv(REFERENCE / "public" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def hs_missing(hs) -> pd.DataFrame:
    # The same holes as lavaan_cfa.R: every 7th value of x1, x5 and x9 (R's 1-based seq).
    out = hs.copy()
    n = len(out)
    out.loc[np.arange(0, n, 7), "x1"] = np.nan
    out.loc[np.arange(2, n, 7), "x5"] = np.nan
    out.loc[np.arange(4, n, 7), "x9"] = np.nan
    return out


@pytest.fixture(scope="module")
def bpn():
    return sdt_survey.load_instrument("bpn-residency")


@pytest.fixture(scope="module")
def sdt(sdt_wave1_keyed):
    return sdt_wave1_keyed


@pytest.fixture(scope="module")
def ref_hs() -> dict:
    return json.loads((REFERENCE / "public" / "ref_hs.json").read_text())


@pytest.fixture(scope="module")
def ref_sdt() -> dict:
    return json.loads((REFERENCE / "sdt-sim" / "reference.json").read_text())


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "lavaan_cfa.json").read_text())


@pytest.fixture(scope="module")
def hs_fit(hs):
    return cfa(hs, HS_MODEL)


# ----------------------------------------------------- shared goldens: ref_hs.json


@needs_reference
def test_hs_fit_measures(hs_fit, ref_hs):
    check_fit(hs_fit, ref_hs["fit"])
    assert hs_fit.fit.df == 24 and hs_fit.n_used == 301


@needs_reference
def test_hs_unstandardized_estimates_and_standard_errors(hs_fit, ref_hs):
    table = hs_fit.parameters
    assert table[["lhs", "op", "rhs"]].to_numpy().tolist() == [
        [r["lhs"], r["op"], r["rhs"]] for r in ref_hs["unstd"]
    ]
    np.testing.assert_allclose(table["est"], [r["est"] for r in ref_hs["unstd"]], atol=EST_ABS, rtol=0)
    np.testing.assert_allclose(table["se"], [r["se"] for r in ref_hs["unstd"]], rtol=SE_REL)


@needs_reference
def test_hs_standardized_loadings(hs_fit, ref_hs):
    loadings = hs_fit.parameters.query("op == '=~'")
    np.testing.assert_allclose(
        loadings["std_all"], [r["est.std"] for r in ref_hs["std_loadings"]], atol=EST_ABS
    )


@needs_reference
def test_hs_omega_is_comprelsem(hs_fit, ref_hs):
    assert hs_fit.omega == pytest.approx(ref_hs["omega"], rel=FIT_REL)


@needs_reference
def test_hs_mlr(hs, ref_hs):
    res = cfa(hs, HS_MODEL, estimator="MLR")
    check_fit(res, ref_hs["mlr"])


# --------------------------------------------- shared goldens: sdt-sim/reference.json


@needs_reference
def test_sdt_listwise(sdt, bpn, ref_sdt):
    res = cfa(sdt, bpn, missing="listwise")
    check_fit(res, ref_sdt["cfa"]["fit"])
    assert res.n_used == ref_sdt["cfa"]["fit"]["ntotal"] == 201
    assert res.n_dropped == len(sdt) - 201
    std = res.parameters.query("op == '=~'").set_index("rhs")["std_all"]
    for item, value in ref_sdt["cfa"]["std_loadings"].items():
        assert std[item] == pytest.approx(value, abs=EST_ABS)


@needs_reference
def test_sdt_fiml_is_the_default_with_missing_answers(sdt, bpn, ref_sdt):
    res = cfa(sdt, bpn)
    assert res.missing == "fiml"
    check_fit(res, ref_sdt["cfa_fiml"]["fit"])
    assert res.n_used == ref_sdt["cfa_fiml"]["fit"]["ntotal"] == 408


@needs_reference
def test_sdt_mlr(sdt, bpn, ref_sdt):
    res = cfa(sdt, bpn, missing="listwise", estimator="MLR")
    check_fit(res, ref_sdt["cfa_mlr"])


# ----------------------------------------------- own goldens: tests/goldens/lavaan_cfa.json


CASES = {
    "hs_ml": lambda d: cfa(d["hs"], HS_MODEL),
    "hs_std_lv": lambda d: cfa(d["hs"], HS_MODEL, std_lv=True),
    "hs_mlr": lambda d: cfa(d["hs"], HS_MODEL, estimator="MLR"),
    "hs_second_order": lambda d: cfa(d["hs"], HS_SECOND),
    "hs_second_order_mlr": lambda d: cfa(d["hs"], HS_SECOND, estimator="MLR"),
    "hs_fiml": lambda d: cfa(d["hs_missing"], HS_MODEL),
    "hs_fiml_mlr": lambda d: cfa(d["hs_missing"], HS_MODEL, estimator="MLR"),
    "bpn_fiml": lambda d: cfa(d["sdt"], d["bpn"]),
    "bpn_mlr": lambda d: cfa(d["sdt"], d["bpn"], estimator="MLR", missing="listwise"),
    "bpn_second_order": lambda d: cfa(
        d["sdt"], CFAModel.from_instrument(d["bpn"], "second-order"), missing="listwise"
    ),
    "bpn_bifactor": lambda d: cfa(d["sdt"], CFAModel.from_instrument(d["bpn"], "bifactor"), std_lv=True),
}


@pytest.fixture(scope="module")
def fitted(hs, hs_missing, sdt, bpn):
    data = {"hs": hs, "hs_missing": hs_missing, "sdt": sdt, "bpn": bpn}
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = CASES[name](data)
        return cache[name]

    return get


@needs_reference
@pytest.mark.parametrize("case", list(CASES))
def test_against_lavaan_goldens(case, fitted, golden):
    res = fitted(case)
    ref = golden[case]
    check_fit(res, ref["fit"])
    assert res.fit.npar == ref["fit"]["npar"] and res.n_used == ref["fit"]["ntotal"]
    check_parameters(res, ref["parameters"])
    if "omega" in ref:
        # omega follows from the estimates: a near-zero omega (the bifactor general factor, whose
        # loadings cancel) is held to 1e-6 absolute.
        assert res.omega == pytest.approx(ref["omega"], rel=FIT_REL, abs=1e-6)


@needs_reference
@pytest.mark.parametrize("case", ["hs_ml", "hs_fiml"])
def test_modification_indices(case, fitted, golden):
    mine = fitted(case).modification_indices(top=None)
    ref = pd.DataFrame(golden[case]["modindices"])
    merged = ref.merge(mine, on=["lhs", "op", "rhs"], how="outer", validate="one_to_one")
    assert len(merged) == len(ref) == len(mine) == 54
    np.testing.assert_allclose(merged["mi_y"], merged["mi_x"], rtol=1e-4)
    np.testing.assert_allclose(merged["epc_y"], merged["epc_x"], atol=EST_ABS)
    np.testing.assert_allclose(merged["sepc_lv"], merged["sepc.lv"], atol=EST_ABS)
    np.testing.assert_allclose(merged["sepc_all"], merged["sepc.all"], atol=EST_ABS)
    top = fitted(case).modification_indices(top=3)
    assert len(top) == 3 and top["mi"].is_monotonic_decreasing


# ------------------------------------------------------------------ the outputs


def test_to_dict_shape(hs_fit):
    out = hs_fit.to_dict()
    assert list(out) == [
        *("estimator", "missing", "n_used", "fit", "fit_measures"),
        *("parameters", "omega", "warnings", "notes"),
    ]  # fit_measures: every lavaan measure (issue 15)
    assert list(out["fit"]) == list(FIT_KEYS)
    assert list(out["parameters"][0]) == ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]
    assert out["parameters"][0]["z"] is None  # the fixed marker loading
    assert (out["estimator"], out["missing"], out["n_used"]) == ("ML", "listwise", 301)
    json.dumps(out, allow_nan=False)


@needs_reference
def test_to_dict_mlr_and_groups(fitted, hs):
    assert list(fitted("hs_mlr").to_dict()["fit"]) == list(FIT_KEYS + ROBUST_FIT_KEYS)
    multi = cfa(hs, HS_MODEL, group="school", group_equal=["loadings"])
    out = multi.to_dict()
    assert list(out["parameters"][0]) == ["lhs", "op", "rhs", "group", "est", "se", "z", "pvalue", "std_all"]
    assert set(out["omega"]) == {"Pasteur", "Grant-White"}
    loadings = multi.parameters.query("op == '=~' and rhs == 'x2'")
    assert loadings["est"].nunique() == 1 and loadings["se"].nunique() == 1


def test_summary_reads_like_lavaan(hs_fit):
    text = hs_fit.summary(modindices=3)
    for fragment in (
        "Model Test User Model:",
        "Test statistic                                85.306",
        "Comparative Fit Index (CFI)                    0.931",
        "90 Percent confidence interval - upper         0.114",
        "Latent Variables:",
        "    x2                  0.554    0.100    5.554    0.000    0.498    0.424",
        "   .x1                  0.549    0.114    4.833    0.000    0.549    0.404",
        "Reliability (omega, semTools::compRelSEM):",
        "Modification indices (largest 3):",
    ):
        assert fragment in text, fragment
    assert str(hs_fit) == hs_fit.summary()


@needs_reference
def test_summaries_of_robust_fiml_and_group_fits(fitted, hs):
    assert "Robust Comparative Fit Index (CFI)" in fitted("hs_fiml_mlr").summary()
    assert "FIML" in fitted("hs_fiml").summary()
    assert "Group 2 [Grant-White]:" in cfa(hs, HS_MODEL, group="school").summary()


def test_factor_correlations_and_implied_covariance(hs_fit):
    cor = hs_fit.factor_correlations()
    assert cor.loc["visual", "textual"] == pytest.approx(0.459, abs=1e-3)
    assert np.allclose(np.diag(cor), 1)
    sigma = hs_fit.implied_covariance()
    assert sigma.shape == (9, 9) and np.allclose(sigma, sigma.T)
    with pytest.raises(CFAError, match="no group"):
        hs_fit.factor_correlations(group="nope")


@needs_reference
def test_emitted_syntax_fits_the_same_model(sdt, bpn):
    model = CFAModel.from_instrument(bpn, "second-order")
    direct = cfa(sdt, model, missing="listwise")
    again = cfa(sdt, emit_lavaan(model), missing="listwise")
    assert again.fit.chisq == pytest.approx(direct.fit.chisq, rel=1e-10)


def test_labels_equate_parameters(hs_fit, hs):
    res = cfa(hs, "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9")
    assert res.fit.df == hs_fit.fit.df + 1
    rows = res.parameters.query("label == 'a'")
    assert len(rows) == 2 and rows["est"].nunique() == 1


def test_fixed_values_are_kept(hs):
    res = cfa(
        hs, "visual =~ x1 + 0.5*x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nvisual ~~ 0*speed"
    )
    row = res.parameters.query("lhs == 'visual' and rhs == 'x2'").iloc[0]
    assert (row["est"], row["se"]) == (0.5, 0.0)
    assert res.parameters.query("lhs == 'visual' and rhs == 'speed'")["est"].iloc[0] == 0


# ------------------------------------------------------------- internal consistency


@needs_reference
def test_observed_information_is_the_hessian(hs_missing):
    """The analytic observed information equals finite differences of the analytic gradient."""
    model = CFAModel.from_syntax(HS_MODEL)
    prep = _prepare(hs_missing.assign(g=np.arange(len(hs_missing)) % 2), model.indicators, "g", "fiml")
    spec = _build_spec(model, 2, meanstructure=True, group_equal=("loadings",))
    engine = _Engine(spec, prep.groups)
    x = _optimize(engine, _start_values(spec, prep.groups)).x + 0.01
    hess = engine.observed_information(x)
    step = 1e-6
    numeric = np.column_stack(
        [
            (engine.objective_gradient(x + step * e)[1] - engine.objective_gradient(x - step * e)[1])
            / (2 * step)
            for e in np.eye(len(x))
        ]
    )
    np.testing.assert_allclose(hess, numeric, atol=1e-6 * np.abs(hess).max())


# ----------------------------------------------------------------- user errors


def simulated(n=300, seed=1, columns=("a1", "a2", "a3", "b1", "b2", "b3")):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2)) @ np.linalg.cholesky([[1, 0.3], [0.3, 1]]).T
    x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(size=(n, 6)) * 0.6
    return pd.DataFrame(x, columns=list(columns))


TWO = "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3"


@pytest.mark.parametrize(
    ("change", "model", "kwargs", "fragment"),
    [
        (lambda d: d.drop(columns="a2"), TWO, {}, "no column for model variable(s): a2"),
        (lambda d: d.rename(columns={"a2": "a_2"}), TWO, {}, "did you mean 'a_2'"),
        (lambda d: d.assign(a2="x"), TWO, {}, "non-numeric answers in column(s) a2"),
        (lambda d: d.assign(a2=3.0), TWO, {}, "'a2' has the same answer from everyone"),
        (lambda d: d.assign(a3=d.a1 + d.a2), TWO, {}, "not positive definite"),
        (lambda d: d.head(1), TWO, {}, "only 1 usable row"),
        (lambda d: d, "A =~ NA*a1 + a2 + a3\nB =~ b1 + b2 + b3", {}, "factor 'A' has no scale"),
        (lambda d: d, TWO, {"estimator": "WLS"}, "estimator must be one of ML, MLR"),
        (lambda d: d, TWO, {"missing": "pairwise"}, "missing must be one of"),
        (lambda d: d, TWO, {"group": "cohort"}, "no group column 'cohort'"),
        (lambda d: d, TWO, {"group_equal": ["loadings"]}, "group_equal needs a group column"),
        (
            lambda d: d.assign(g=np.arange(len(d)) % 2),
            TWO,
            {"group": "g", "group_equal": ["slopes"]},
            "unknown group_equal",
        ),
        (
            lambda d: d.assign(g=np.arange(len(d)) % 2),
            TWO,
            {"group": "g", "group_partial": ["zz~1"]},
            "names 'zz'",
        ),
        (lambda d: d, 42, {}, "model must be lavaan-style syntax"),
    ],
)
def test_user_errors_are_plain_words(change, model, kwargs, fragment):
    with pytest.raises(SdtSurveyError) as err:
        cfa(change(simulated()), model, **kwargs)
    assert fragment in str(err.value)


def test_not_identified_by_counting():
    data = simulated()[["a1", "a2"]]
    with pytest.raises(CFAError, match="not identified: it has 5 free parameters but the data give only 3"):
        cfa(data, "A =~ NA*a1 + a2\nA ~~ 1*A\na1 ~~ a2")


def exact_covariance(cov, n=500, seed=3):
    """Data whose sample covariance (divisor n) is exactly ``cov``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(cov)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(z.T @ z / n)).T
    return z @ np.linalg.cholesky(cov).T


def test_heywood_case_is_reported():
    x = exact_covariance(np.array([[1, 0.8, 0.6], [0.8, 1, 0.4], [0.6, 0.4, 1]]))
    data = pd.DataFrame(x, columns=["q1", "q2", "q3"])
    with pytest.warns(CFAWarning, match="residual variance of 'q1' is negative"):
        res = cfa(data, "F =~ q1 + q2 + q3")
    assert res.parameters.query("lhs == 'q1' and op == '~~'")["est"].iloc[0] == pytest.approx(-0.2, abs=1e-6)
    assert any("Heywood" in w for w in res.warnings)


def test_empirical_underidentification_is_reported():
    data = simulated()[["a1", "a2", "b1", "b2"]]
    with pytest.warns(CFAWarning, match="not identified by these data"):
        res = cfa(data, "A =~ a1 + a2\nB =~ b1 + b2\nA ~~ 0*B")
    assert res.parameters["se"].isna().any()
    assert "Warnings:" in res.summary()


def test_non_convergence_is_reported(monkeypatch):
    import importlib

    module = importlib.import_module("sdt_survey.factor.sem.fitting")
    real = module._optimize
    monkeypatch.setattr(module, "_optimize", lambda engine, x0: real(engine, x0, max_iter=1))
    with pytest.warns(CFAWarning, match="did not converge"):
        res = cfa(simulated(), TWO)
    assert not res.converged


def test_missing_handling_and_notes():
    data = simulated()
    data.loc[:4, "a1"] = np.nan
    data.loc[5, :] = np.nan
    fiml = cfa(data, TWO)
    assert (fiml.missing, fiml.n_used, fiml.n_dropped) == ("fiml", 299, 1)
    assert "with no answers at all" in fiml.notes[0]
    listwise = cfa(data, TWO, missing="listwise")
    assert (listwise.missing, listwise.n_used, listwise.n_dropped) == ("listwise", 294, 6)
    assert cfa(data.dropna(), TWO, missing="fiml").missing == "fiml"


def test_std_lv_and_marker_give_the_same_fit():
    data = simulated()
    a, b = cfa(data, TWO), cfa(data, TWO, std_lv=True)
    assert a.fit.chisq == pytest.approx(b.fit.chisq, rel=1e-9)
    assert b.parameters.query("op == '~~' and lhs == 'A' and rhs == 'A'")["est"].iloc[0] == 1.0
    assert (b.parameters.query("op == '=~'")["est"] > 0).all()


def test_groups_keep_order_of_appearance(hs):
    res = cfa(hs, HS_MODEL, group="school")
    assert list(res.groups) == ["Pasteur", "Grant-White"]
    assert res.fit.chisq == pytest.approx(sum(res.fit.chisq_groups))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(res.fit.srmr)


@needs_reference
def test_factor_regressions_and_mean_statements(hs, hs_fit, ref_hs):
    # Regressing speed on the other factors re-expresses their covariances: the same fit.
    res = cfa(hs, HS_MODEL + "\nspeed ~ visual + textual")
    assert res.fit.chisq == pytest.approx(ref_hs["fit"]["chisq"], rel=FIT_REL) and res.fit.df == 24
    assert res.parameters.query("op == '~'")["std_all"].tolist() == pytest.approx([0.431, 0.085], abs=1e-3)
    # A mean in the model brings the mean structure (lavaan: 9 more parameters, same df).
    with_means = cfa(hs, HS_MODEL + "\nx1 ~ 1")
    assert (with_means.fit.npar, with_means.fit.df) == (hs_fit.fit.npar + 9, 24)


@needs_reference
def test_converges_when_the_model_fits_very_badly(hs):
    # Intercepts fixed at 0 for three items: chi-square about 1015; lavaan gives 1015.012.
    res = cfa(hs, HS_MODEL + "\nvisual ~ NA*1\nx1 ~ 0*1\nx4 ~ 0*1\nx7 ~ 0*1")
    assert res.converged and not res.warnings
    assert res.fit.chisq == pytest.approx(1015.012, abs=5e-4) and res.fit.df == 26


@pytest.mark.parametrize("kind", ["ML", "WLSMV", "invariance"])
def test_data_notes_reach_every_factor_result(kind):
    """Regression: ordinal CFA and invariance results used to drop the notes on how the data were used."""
    from sdt_survey.factor.sem.pipeline import instrument_cfa, instrument_invariance
    from sdt_survey.simulate import simulate

    data = simulate("program-belonging", seed=2, n_programs=6, residents_per_program=(30, 30)).responses
    if kind == "invariance":
        result = instrument_invariance("program-belonging", data, "pgy", id_column="resident")
    else:
        result = instrument_cfa("program-belonging", data, estimator=kind, id_column="resident")
    expected = ["wave 1 of 2 in 'wave'"]
    if kind == "WLSMV":
        expected.append("ordinal items: polychoric correlations, WLSMV, complete cases")
    for note in expected:
        assert note in result.notes and note in result.to_dict()["notes"] and note in result.summary()
    assert isinstance(result.to_dict()["warnings"], list)
