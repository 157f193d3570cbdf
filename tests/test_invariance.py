"""Measurement invariance against lavaan 0.6-14 goldens.

Shared goldens: the ``invariance`` block of ``tests/data/reference/public/ref_hs.json``
(configural to strict by school, with lavTestLRT) and ``invariance_pgy`` of
``tests/data/reference/sdt-sim/reference.json``. Our own:
``tests/goldens/lavaan_invariance.json`` (``tests/goldens/lavaan_invariance.R``):
MLR with Satorra-Bentler 2001 scaled differences, std.lv, partial invariance,
FIML across groups and latent mean differences.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.factor.sem.invariance import (
    STEPS,
    Comparison,
    _judge,
    measurement_invariance,
)
from tests.conftest import REFERENCE

GOLDENS = Path(__file__).parent / "goldens"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="tests/data/reference is missing")

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
FIT_REL = 1e-5
EST_ABS = 1e-4
SE_REL = 1e-3


def our_name(name: str) -> str:
    return {"logl": "loglik", "chisq.scaling.factor": "scaling_factor"}.get(name, name.replace(".", "_"))


def check_steps(result, reference: dict):
    bad = {}
    for step, measures in reference.items():
        mine = result.steps[step].fit.to_series()
        for name, value in measures.items():
            if mine[our_name(name)] != pytest.approx(value, rel=FIT_REL, abs=1e-12):
                bad[(step, name)] = (mine[our_name(name)], value)
    assert not bad, bad


def check_lrt(result, chisq_diff, df_diff, pvalue):
    assert [c.df_diff for c in result.comparisons] == list(df_diff)
    assert [c.chisq_diff for c in result.comparisons] == pytest.approx(list(chisq_diff), rel=FIT_REL)
    if result.estimator == "MLR":
        # A Satorra-Bentler difference divides by (df0 c0 - df1 c1) / (df0 - df1), which magnifies
        # lavaan's own optimizer tolerance (its scaling factors, evaluated at our estimates, agree
        # with ours to 1e-10): the statistic is held to 1e-5 above; its p-value is its chi-square tail.
        assert [c.pvalue for c in result.comparisons] == pytest.approx(
            [stats.chi2.sf(c.chisq_diff, c.df_diff) for c in result.comparisons], rel=1e-12
        )
        assert [c.pvalue for c in result.comparisons] == pytest.approx(list(pvalue), rel=1e-3)
    else:
        assert [c.pvalue for c in result.comparisons] == pytest.approx(list(pvalue), rel=FIT_REL, abs=1e-12)


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    if not REFERENCE.is_dir():
        pytest.skip("tests/data/reference is missing")
    return pd.read_csv(REFERENCE / "public" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def bpn():
    return sdt_survey.load_instrument("bpn-residency")


@pytest.fixture(scope="module")
def sdt(sdt_wave1_keyed):
    return sdt_wave1_keyed


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "lavaan_invariance.json").read_text())


@pytest.fixture(scope="module")
def hs_chain(hs):
    return measurement_invariance(hs, HS_MODEL, "school")


# ----------------------------------------------------------------- shared goldens


@needs_reference
def test_hs_by_school(hs_chain):
    ref = json.loads((REFERENCE / "public" / "ref_hs.json").read_text())["invariance"]
    names = {"conf": "configural", "metr": "metric", "scal": "scalar", "strict": "strict"}
    check_steps(hs_chain, {names[k]: v for k, v in ref.items() if k in names})
    lrt = ref["lrt"]
    check_lrt(hs_chain, lrt["chisq_diff"][1:], lrt["df_diff"][1:], lrt["p"][1:])
    assert hs_chain.groups == {"Pasteur": 156, "Grant-White": 145}


@needs_reference
def test_sdt_by_pgy(sdt, bpn):
    ref = json.loads((REFERENCE / "sdt-sim" / "reference.json").read_text())["invariance_pgy"]
    res = measurement_invariance(sdt, bpn, "pgy", missing="listwise")
    check_steps(res, ref)
    assert list(res.groups) == ["1", "2", "3"]


# ------------------------------------------------------------------- own goldens


CASES = {
    "hs_mlr": lambda d: measurement_invariance(d["hs"], HS_MODEL, "school", estimator="MLR"),
    "hs_std_lv": lambda d: measurement_invariance(d["hs"], HS_MODEL, "school", std_lv=True),
    "hs_partial": lambda d: measurement_invariance(d["hs"], HS_MODEL, "school", free=["x3~1", "x7~1"]),
    "hs_partial_loading_mlr": lambda d: measurement_invariance(
        d["hs"], HS_MODEL, "school", free=["visual=~x2", "x2~1"], estimator="MLR"
    ),
    "bpn_pgy_fiml": lambda d: measurement_invariance(d["sdt"], d["bpn"], "pgy", missing="fiml"),
    "bpn_pgy": lambda d: measurement_invariance(d["sdt"], d["bpn"], "pgy", missing="listwise"),
    # "rs2=~" is the shorthand for the loading of item rs2 (lavaan: relatedness_satisfaction=~rs2)
    "bpn_pgy_partial_mlr": lambda d: measurement_invariance(
        d["sdt"], d["bpn"], "pgy", missing="listwise", estimator="MLR", free=["rs2=~", "rs2~1"]
    ),
}


@needs_reference
@pytest.mark.parametrize("case", list(CASES))
def test_against_lavaan_goldens(case, hs, sdt, bpn, golden):
    res = CASES[case]({"hs": hs, "sdt": sdt, "bpn": bpn})
    ref = golden[case]
    check_steps(res, ref["steps"])
    check_lrt(res, ref["lrt"]["chisq_diff"], ref["lrt"]["df_diff"], ref["lrt"]["pvalue"])
    means = pd.DataFrame(ref["latent_means"])
    mine = res.latent_means
    assert mine["factor"].tolist() == means["lhs"].tolist()
    assert mine["group"].tolist() == [list(res.groups)[g - 1] for g in means["group"]]
    np.testing.assert_allclose(mine["difference"], means["est"], atol=EST_ABS)
    np.testing.assert_allclose(mine["se"], means["se"], rtol=SE_REL)
    np.testing.assert_allclose(mine["z"], means["z"], rtol=SE_REL)


# --------------------------------------------------------------- the judgement


# Issue 15: a step is supported only when delta CFI passes and the other criteria agree; a step whose
# delta CFI passes but another index fails, or whose delta CFI is within .002 of -0.010, is borderline.
# (Before, a CFI drop alone was "not enough" to fail a step under Chen 2007: it overstated.)
@pytest.mark.parametrize(
    ("step", "deltas", "criterion", "status"),
    [
        ("metric", (-0.004, 0.001, 0.002), "chen2007", "supported"),
        ("metric", (-0.012, 0.016, 0.0), "chen2007", "not supported"),
        ("metric", (-0.012, 0.010, 0.025), "chen2007", "not supported"),  # delta CFI fails: that decides
        ("metric", (-0.004, 0.010, 0.031), "chen2007", "borderline"),  # SRMR at or above .030 for metric
        ("metric", (-0.004, 0.010, 0.029), "chen2007", "supported"),
        ("scalar", (-0.004, 0.010, 0.011), "chen2007", "borderline"),  # SRMR .010 for scalar
        ("scalar", (-0.030, 0.010, 0.005), "chen2007", "not supported"),  # a CFI drop alone is enough
        ("scalar", (-0.004, 0.015, 0.0), "chen2007", "borderline"),  # the cutoffs themselves count
        ("scalar", (-0.010, 0.0, 0.0), "chen2007", "not supported"),
        ("strict", (-0.009, 0.0, 0.0), "chen2007", "borderline"),  # within .002 of the cutoff
        ("scalar", (-0.010, 0.0, 0.0), "cheung-rensvold", "not supported"),
        ("scalar", (-0.009, 0.1, 0.1), "cheung-rensvold", "borderline"),
        ("scalar", (-0.005, 0.1, 0.1), "cheung-rensvold", "supported"),  # RMSEA, SRMR do not count here
    ],
)
def test_cutoffs(step, deltas, criterion, status):
    got, reason, criteria = _judge(step, *deltas, 0.01, criterion)
    assert got == status
    assert ("Chen, 2007" if criterion == "chen2007" else "Cheung & Rensvold, 2002") in reason
    assert criteria["chisq"] is False  # p = .01: reported as failed, but it does not decide
    assert criteria["cfi"] is (deltas[0] > -0.010)


def test_the_chisq_test_is_reported_passed_or_not_computable():
    assert _judge("metric", -0.001, 0.0, 0.0, 0.20, "chen2007")[2]["chisq"] is True
    assert _judge("metric", -0.001, 0.0, 0.0, float("nan"), "chen2007")[2]["chisq"] is None


@needs_reference
def test_comparisons_and_conclusion(hs_chain):
    comps = hs_chain.comparisons
    assert [(c.from_step, c.to_step) for c in comps] == [
        ("configural", "metric"),
        ("metric", "scalar"),
        ("scalar", "strict"),
    ]
    assert [c.supported for c in comps] == [True, False, False]
    # strict: delta CFI = -0.009 is within .002 of the cutoff: borderline, not "holds" (issue 15)
    assert [c.status for c in comps] == ["supported", "not supported", "borderline"]
    assert comps[1].criteria == {"chisq": False, "cfi": False, "rmsea": True, "srmr": False}
    assert comps[1].delta_cfi == pytest.approx(
        hs_chain.steps["scalar"].fit.cfi - hs_chain.steps["metric"].fit.cfi
    )
    assert hs_chain.highest == "metric"
    assert (
        hs_chain.conclusion.startswith("Caution: the configural model fits poorly")
        or "metric invariance holds (delta CFI = -0.002) but scalar invariance does not"
        in hs_chain.conclusion
    )
    assert "but not on their means" in hs_chain.conclusion
    assert not hs_chain.latent_means["comparable"].any()


@needs_reference
def test_partial_scalar_allows_means(hs):
    res = measurement_invariance(
        hs, HS_MODEL, "school", free=["x3~1", "x7~1"], steps=("configural", "metric", "scalar")
    )
    assert res.highest == "scalar" and res.latent_means["comparable"].all()
    assert res.conclusion.startswith(
        "school means on visual, textual and speed can be compared: scalar invariance holds "
        "(partial: x3~1, x7~1 free across groups), delta CFI = "
    )
    assert set(res.steps) == {"configural", "metric", "scalar"}


def test_to_dict_shape():
    rng = np.random.default_rng(8)
    f = rng.normal(size=(600, 1))
    data = pd.DataFrame(f * 0.8 + rng.normal(size=(600, 4)) * 0.6, columns=["rs1", "rs2", "rs3", "rs4"])
    data["cohort"] = np.repeat(["2023", "2024"], 300)
    res = measurement_invariance(data, "relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4", "cohort")
    out = res.to_dict()
    assert list(out) == ["group", "groups", "steps", "comparisons", "conclusion", "warnings", "notes"]
    assert out["group"] == "cohort" and out["groups"] == {"2023": 300, "2024": 300}
    assert list(out["steps"]) == list(STEPS)
    assert list(out["comparisons"][0]) == [
        "from",
        "to",
        "chisq_diff",
        "df_diff",
        "pvalue",
        "delta_cfi",
        "delta_rmsea",
        "delta_srmr",
        "supported",
        "status",
        "criteria",
        "reason",
    ]
    # Issue 15: the metric step's delta CFI passes but delta RMSEA (.038) and SRMR (.037) do not, so metric
    # invariance is called borderline, not "holds" (before, a passing delta CFI alone made it hold).
    assert [c["status"] for c in out["comparisons"]] == ["borderline", "supported", "supported"]
    assert out["conclusion"].startswith(
        "Whether the items measure relatedness satisfaction the same way across cohort groups is borderline"
    )
    json.dumps(out, allow_nan=False)
    assert isinstance(res.comparisons[0], Comparison)
    assert "Conclusion:" in res.summary() and "Latent mean differences" in res.summary()
    assert res.fit_table().shape[0] == 4 and len(res.to_frame()) == 3


def test_loadings_that_differ_fail_metric():
    rng = np.random.default_rng(9)
    frames = []
    for label, loading in (("A", 0.9), ("B", 0.2)):
        f = rng.normal(size=(800, 1))
        x = f * np.array([0.8, 0.8, loading, 0.8]) + rng.normal(size=(800, 4)) * 0.5
        frames.append(pd.DataFrame(x, columns=["q1", "q2", "q3", "q4"]).assign(site=label))
    res = measurement_invariance(
        pd.concat(frames), "F =~ q1 + q2 + q3 + q4", "site", criterion="cheung-rensvold"
    )
    assert res.highest == "configural"
    assert "metric invariance does not hold" in res.conclusion
    freed = measurement_invariance(pd.concat(frames), "F =~ q1 + q2 + q3 + q4", "site", free=["q3=~", "q3~1"])
    assert freed.comparisons[0].supported


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"steps": ("configural", "partial")}, "unknown invariance step"),
        ({"criterion": "hu-bentler"}, "criterion must be one of"),
        ({"estimator": "DWLS"}, "estimator must be one of"),
        ({"group": "one"}, "only one group"),
    ],
)
def test_errors(kwargs, fragment):
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(100, 3)) + rng.normal(size=(100, 1)), columns=["a", "b", "c"])
    data["one"] = "x"
    data["two"] = np.arange(100) % 2
    args = {"group": "two", **kwargs}
    with pytest.raises(SdtSurveyError, match=fragment):
        measurement_invariance(data, "F =~ a + b + c", **args)
