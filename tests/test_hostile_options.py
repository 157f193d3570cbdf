"""Hostile options and analyses (issue 12, section 5): a clear error or the right answer, never a traceback.

Each case used to end in a traceback, a hang, an exhausted machine or a
silently wrong answer: non-finite and impossible numeric options, huge
designs, an unreachable Dask scheduler, a header-only report, ``C(pgy)`` in a
model formula, control characters in an XLSForm, very long PDF labels, and
collinear items.
"""

from __future__ import annotations

import math
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey.cli import cli
from sdt_survey.errors import DesignError, SdtSurveyError
from sdt_survey.simulate import generate as simulate_module


@pytest.fixture
def run():
    runner = CliRunner()

    def _run(*args: str):
        result = runner.invoke(cli, [str(a) for a in args])
        # A refusal ends in SystemExit with a message, never another exception.
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        return result

    return _run


@pytest.fixture(scope="module")
def responses(tmp_path_factory) -> Path:
    """A small, valid response file of bpn-residency (one wave)."""
    folder = tmp_path_factory.mktemp("responses")
    data = simulate_module.simulate(
        "bpn-residency", seed=5, n_programs=2, residents_per_program=(10, 10), n_waves=1
    )
    path = folder / "wave1.csv"
    data.responses.to_csv(path, index=False)
    return path


@pytest.fixture
def no_allocation(monkeypatch):
    """Fail the test if a simulation starts drawing people (a refused design must not)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the design was not refused before allocating")

    monkeypatch.setattr(simulate_module, "_draw_people", refuse)


# ----------------------------------------------------------------- numeric options are usage errors

SIMULATE = ("simulate", "bpn-residency", "--seed", "1", "--out")
USAGE_ERRORS = [
    pytest.param([*SIMULATE, "OUT", "--continuity-effect", "nan"], "--continuity-effect", id="effect-nan"),
    pytest.param([*SIMULATE, "OUT", "--continuity-effect", "inf"], "--continuity-effect", id="effect-inf"),
    pytest.param([*SIMULATE, "OUT", "--continuity-effect", "-inf"], "--continuity-effect", id="effect-minf"),
    pytest.param([*SIMULATE, "OUT", "--attrition", "nan"], "--attrition", id="attrition-nan"),
    pytest.param([*SIMULATE, "OUT", "--attrition", "1"], "--attrition", id="attrition-1"),
    pytest.param([*SIMULATE, "OUT", "--mcar", "inf"], "--mcar", id="mcar-inf"),
    pytest.param([*SIMULATE, "OUT", "--programs", "0"], "--programs", id="programs-0"),
    pytest.param([*SIMULATE, "OUT", "--waves", "0"], "--waves", id="waves-0"),
    pytest.param([*SIMULATE, "OUT", "--residents", "0-3"], "--residents", id="residents-0"),
    pytest.param(
        [*SIMULATE, "OUT", "--set", "continuity_effects={relatedness_satisfaction: .nan}"],
        "continuity_effects.relatedness_satisfaction",
        id="set-nan",
    ),
    pytest.param(
        [*SIMULATE, "OUT", "--set", "pgy_effects={competence_satisfaction: -inf}"], "--set", id="set-inf"
    ),
    pytest.param(["power", "--grid", "n_programs=2", "--jobs", "0"], "--jobs", id="jobs-0"),
    pytest.param(["power", "--grid", "effect=nan"], "effect", id="grid-effect-nan"),
    pytest.param(["power", "--grid", "icc=0.1,.inf"], "icc[1]", id="grid-icc-inf"),
    pytest.param(["power", "--grid", "n_programs=2", "--replicates", "0"], "--replicates", id="replicates-0"),
    pytest.param(["power", "--grid", "n_programs=2", "--alpha", "2"], "--alpha", id="alpha-2"),
    pytest.param(["power", "--grid", "n_programs=2", "--alpha", "nan"], "--alpha", id="alpha-nan"),
    pytest.param(["power", "--grid", "n_programs=2", "--seed", "-1"], "--seed", id="seed-negative"),
    pytest.param(["power", "--grid", "n_programs=2", "--set", "icc=nan"], "--set", id="power-set-nan"),
]


@pytest.mark.parametrize(("args", "named"), USAGE_ERRORS)
def test_impossible_numbers_are_usage_errors_naming_the_option(run, tmp_path, args, named):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    if args[0] == "power":  # the smallest run, should the option be let through
        for option, value in (("--replicates", "1"), ("--jobs", "1")):
            args += [] if option in args else [option, value]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("score", "--careless-threshold", "evenodd=nan"),
        ("score", "--careless-threshold", "mahalanobis_p=inf"),
        ("reliability", "--bootstrap", "-1"),
        ("efa", "--factors", "0"),
        ("efa", "--iterations", "0"),
        ("cohorts", "--min-cell", "2"),
    ],
)
def test_analysis_options_out_of_range_are_usage_errors(run, tmp_path, responses, command, option, value):
    args = [command, "bpn-residency", responses, option, value]
    if command == "score":
        args += ["--out", tmp_path / "scores.csv", "--flag-careless"]
    if command == "cohorts":
        args += ["--id-column", "resident", "--by", "program"]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert not (tmp_path / "scores.csv").exists()


def test_efa_more_factors_than_items_is_said_first(run, responses):
    """Said before any check of the data (it used to be hidden behind a correlation-matrix message)."""
    result = run("efa", "bpn-residency", responses, "--factors", "99")
    assert result.exit_code == 1, result.output
    assert "n_factors must be between 1 and 23 for 24 items, got 99" in result.output


def test_report_min_cell_below_three_is_a_usage_error(run, tmp_path, responses):
    out = tmp_path / "r.html"
    result = run("report", "bpn-residency", "--responses", responses, "--id-column", "resident",
                 "--min-cell", "-1", "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert "--min-cell" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("n_programs=0", "n_programs must be at least 1, got 0"),
        ("n_programs=-3", "n_programs must be at least 1, got -3"),
        ("residents_per_program=0", "residents_per_program must be (low, high) with 1 <= low"),
    ],
)
def test_power_grid_with_impossible_counts_is_refused_before_any_replicate(run, grid, message):
    result = run("power", "--grid", grid, "--replicates", "1", "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert message in result.output and "grid cell" in result.output


def test_power_jobs_minus_two_keeps_joblib_meaning():
    """-2 is joblib's "all cores but one": accepted by the option (refused values are only 0)."""
    from sdt_survey._options import WorkerCount

    assert WorkerCount().convert("-2", None, None) == -2


# ----------------------------------------------------------------- the Python API checks the same


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"continuity_effects": {"relatedness_satisfaction": math.nan}}, "continuity_effects"),
        ({"pgy_effects": {"competence_satisfaction": math.inf}}, "pgy_effects"),
        ({"program_sd": {"relatedness_satisfaction": "nan"}}, "program_sd"),
        ({"loadings": math.nan}, "loadings"),
        ({"factor_correlations": pd.DataFrame([[1.0, math.nan], [math.nan, 1.0]])}, "factor_correlations"),
        ({"factor_correlations": pd.DataFrame([[1.0, "x"], ["x", 1.0]])}, "factor_correlations"),
    ],
)
def test_simulate_refuses_non_finite_designs(overrides, named):
    with pytest.raises(DesignError, match=named):
        simulate_module.simulate(
            "bpn-residency", seed=1, n_programs=1, residents_per_program=(3, 3), **overrides
        )


def test_power_api_refuses_zero_jobs_and_non_finite_grid():
    from sdt_survey.power import PowerError, power_analysis

    with pytest.raises(PowerError, match="n_jobs"):
        power_analysis({"n_programs": [2]}, n_replicates=1, n_jobs=0)
    with pytest.raises(PowerError, match="effect must be a finite number"):
        power_analysis({"effect": [math.nan]}, n_replicates=1, n_jobs=1)
    with pytest.raises(PowerError, match="icc must be a finite number"):
        power_analysis({"icc": ["nan"]}, n_replicates=1, n_jobs=1)


def test_careless_thresholds_must_be_finite():
    from sdt_survey.scoring import careless_flags

    indices = pd.DataFrame({"longstring": [3], "irv": [0.5], "evenodd": [0.1], "mahalanobis_p": [0.5]})
    with pytest.raises(SdtSurveyError, match=r"careless_thresholds\.evenodd"):
        careless_flags(indices, 10, {"evenodd": math.nan})


# ----------------------------------------------------------------- designs too large for memory


@pytest.mark.parametrize(
    "args",
    [
        ["--programs", "10000000"],
        ["--residents", "1000000-2000000"],
    ],
)
def test_huge_simulation_is_refused_before_allocating(run, tmp_path, no_allocation, args):
    started = time.perf_counter()
    result = run(*SIMULATE, tmp_path / "out", *args)
    assert result.exit_code == 1, result.output
    assert "would need about" in result.output and "GiB" in result.output
    assert "this machine has" in result.output
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "out").exists()


def test_huge_power_grid_is_refused_before_allocating(run, no_allocation):
    result = run("power", "--grid", "n_programs=100000000", "--replicates", "1", "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert "would need about" in result.output and "n_programs" in result.output


def test_memory_estimate_scales_with_the_design_and_compares_with_the_machine():
    from sdt_survey._memory import physical_memory_bytes, require_memory, simulation_bytes

    small = simulate_module.SimulationDesign(n_programs=2)
    large = simulate_module.SimulationDesign(n_programs=2000)
    assert simulation_bytes(large, 24) == 1000 * simulation_bytes(small, 24)
    assert physical_memory_bytes() > 2**28  # any machine running this suite has 256 MiB
    require_memory(2**20, "a small design", available=2**30)  # fits: no error
    with pytest.raises(DesignError, match=r"about 2\.0 GiB .* has 1\.0 GiB"):
        require_memory(2**31, "a large design", available=2**30)


# ----------------------------------------------------------------- Dask scheduler that does not answer


def test_unreachable_dask_scheduler_times_out_with_a_message(run, monkeypatch):
    from sdt_survey import power

    assert power.DASK_CONNECT_TIMEOUT <= 15  # the default gives up in seconds, not minutes
    monkeypatch.setattr(power, "DASK_CONNECT_TIMEOUT", 2)
    started = time.perf_counter()
    result = run("power", "--grid", "n_programs=2", "--set", "residents_per_program=4",
                 "--replicates", "1", "--dask-scheduler", "tcp://127.0.0.1:9")  # fmt: skip
    assert time.perf_counter() - started < 20
    assert result.exit_code == 1, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_malformed_dask_address_is_refused(run):
    result = run("power", "--grid", "n_programs=2", "--replicates", "1", "--dask-scheduler", "nonsense")
    assert result.exit_code == 1, result.output
    assert "not a Dask scheduler address" in result.output


# ----------------------------------------------------------------- report on (almost) no respondents


def test_report_on_a_header_only_file_is_a_clear_error(run, tmp_path, responses):
    header = tmp_path / "header.csv"
    header.write_text(responses.read_text().splitlines()[0] + "\n")
    out = tmp_path / "report.html"
    result = run("report", "bpn-residency", "--responses", header, "--id-column", "resident", "--out", out)
    assert result.exit_code == 1, result.output
    assert "header.csv: no respondents" in result.output
    assert not out.exists()


def test_report_on_two_respondents_says_too_few_and_shows_nothing(run, tmp_path, responses):
    two = tmp_path / "two.csv"
    pd.read_csv(responses).head(2).to_csv(two, index=False)
    out = tmp_path / "report.html"
    result = run("report", "bpn-residency", "--responses", two, "--id-column", "resident", "--out", out)
    assert result.exit_code == 0, result.output
    assert "fewer than 5 residents answered: nothing can be shown" in result.output
    assert out.exists()


# ----------------------------------------------------------------- C(pgy) in a model formula


@pytest.fixture(scope="module")
def model_data() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    n = 240
    program = rng.integers(0, 10, n)
    pgy = rng.integers(1, 4, n)
    coc = rng.uniform(0, 1, n)
    y = (
        3.0
        + 0.6 * coc
        - 0.25 * (pgy == 2)
        + 0.15 * (pgy == 3)
        + rng.normal(0, 0.3, 10)[program]
        + rng.normal(0, 0.5, n)
    )
    return pd.DataFrame({"y": y, "coc": coc, "pgy": pgy, "program": [f"P{p}" for p in program]})


def test_factor_first_in_the_formula_is_not_taken_as_the_exposure(model_data):
    """`C(pgy) + coc`: the exposure is coc; no dose-response curve over PGY levels such as 1.04."""
    from sdt_survey.mixed import fit_model

    result = fit_model("y ~ C(pgy) + coc + (1|program)", model_data)
    assert result.lrt.dropped == ["coc"]
    assert list(result.standardized.index) == ["coc"]
    as_text = fit_model("y ~ pgy + coc + (1|program)", model_data.assign(pgy=model_data["pgy"].astype(str)))
    factor = result.fixed["estimate"].to_numpy()
    text = as_text.fixed["estimate"].to_numpy()
    np.testing.assert_allclose(factor, text, rtol=1e-6, atol=1e-8)
    assert list(result.fixed.index) == ["(Intercept)", "C(pgy)[T.2]", "C(pgy)[T.3]", "coc"]


def test_factor_coefficients_match_statsmodels_on_dummy_columns(model_data):
    import statsmodels.formula.api as smf

    from sdt_survey.mixed import fit_model

    result = fit_model("y ~ C(pgy) + (1|program)", model_data)
    dummies = model_data.assign(pgy2=(model_data["pgy"] == 2) * 1.0, pgy3=(model_data["pgy"] == 3) * 1.0)
    reference = smf.mixedlm("y ~ pgy2 + pgy3", dummies, groups=dummies["program"]).fit(reml=True)
    assert result.fixed.loc["C(pgy)[T.2]", "estimate"] == pytest.approx(reference.fe_params["pgy2"], abs=1e-4)
    assert result.fixed.loc["C(pgy)[T.3]", "estimate"] == pytest.approx(reference.fe_params["pgy3"], abs=1e-4)


def test_model_command_with_factor_first(run, tmp_path, model_data):
    scores = tmp_path / "scores.csv"
    exposure = tmp_path / "exposure.csv"
    frame = model_data.assign(resident=[f"R{i}" for i in range(len(model_data))])
    frame[["resident", "program", "pgy", "y"]].to_csv(scores, index=False)
    frame[["resident", "coc"]].to_csv(exposure, index=False)
    result = run("model", "--scores", scores, "--exposure", exposure, "--id-column", "resident",
                 "--formula", "y ~ C(pgy) + coc + (1|program)")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "C(pgy)[T.2]" in result.output and "Effect of one SD of coc" in result.output


# ----------------------------------------------------------------- XLSForm with control characters


def test_xlsform_refuses_control_characters_naming_item_and_column(tmp_path):
    from sdt_survey.platforms import export_survey

    out = tmp_path / "form.xlsx"
    with pytest.raises(SdtSurveyError) as raised:
        export_survey(["program-belonging"], "xlsform", out, texts={"pb4": "I belong\x07here"})
    message = str(raised.value)
    assert "'pb4'" in message and "label::English (en)" in message and "U+0007" in message
    assert not out.exists()


def test_xlsform_keeps_line_breaks_and_tabs(tmp_path):
    from sdt_survey.platforms import export_survey

    out = tmp_path / "form.xlsx"
    export_survey(["program-belonging"], "xlsform", out, texts={"pb4": "I belong\there,\nreally"})
    sheet = pd.read_excel(out, sheet_name="survey", dtype=str).set_index("name")
    assert sheet.loc["pb4", "label::English (en)"] == "I belong\there,\nreally"


# ----------------------------------------------------------------- PDF with very long texts

LONG_WORD = "x" * 300
HYPHENATED = "-".join(["abcdefghij"] * 30)
LONG_TEXT = ("residents learn best with a preceptor who knows them " * 60)[:2500]


def _long_instrument(tmp_path: Path, label: str, text: str) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            schema_version: 1
            id: long
            version: "0.1.0"
            title: {{en: Long}}
            languages: [en]
            license: CC-BY-4.0
            scales:
              agree:
                values: [1, 2, 3]
                labels: [{{en: low}}, {{en: "{label}"}}, {{en: high}}]
            items:
              - id: q1
                text: {{en: "{text}"}}
                scale: agree
              - id: q2
                text: {{en: Two}}
                scale: agree
              - id: q3
                text: {{en: "{text}"}}
                type: single
                choices: [{{value: 1, label: {{en: "{label}"}}}}, {{value: 2, label: {{en: "{LONG_TEXT}"}}}}]
            """
        )
    )
    return path


def _pdf_text(path: Path) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(text.split()), len(reader.pages)


@pytest.mark.parametrize(
    ("label", "text", "expected"),
    [
        pytest.param(LONG_WORD, "One", LONG_WORD, id="unbroken-label"),
        pytest.param(HYPHENATED, "One", HYPHENATED, id="hyphenated-label"),
        pytest.param("b", LONG_TEXT, "".join(LONG_TEXT.split()), id="2500-character-text"),
        pytest.param("b", "Y" * 2500, "Y" * 2500, id="2500-character-word"),
    ],
)
def test_pdf_wraps_very_long_texts(run, tmp_path, label, text, expected):
    out = tmp_path / "long.pdf"
    result = run("export", _long_instrument(tmp_path, label, text), "--to", "pdf", "--out", out)
    assert result.exit_code == 0, result.output
    content, pages = _pdf_text(out)
    assert expected in content  # every character is printed, in order
    assert "".join(LONG_TEXT.split()) in content  # the 2,500-character choice label too
    assert pages >= 2  # the long choice label flows on to another page


# ----------------------------------------------------------------- collinear items


@pytest.fixture(scope="module")
def collinear() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 150
    factor = rng.standard_normal(n)
    items = {
        f"x{i}": np.clip(np.round(3 + 0.8 * factor + 0.7 * rng.standard_normal(n)), 1, 5) for i in range(5)
    }
    base = pd.DataFrame(items)
    return {
        "identical": base.assign(x4=base["x0"]),
        "sum": base.assign(x4=base["x0"] + base["x1"]),
    }


@pytest.mark.parametrize("kind", ["identical", "sum"])
def test_alpha_of_collinear_items_is_the_textbook_value(collinear, kind):
    from sdt_survey.reliability import alpha

    items = collinear[kind]
    cov = items.cov().to_numpy()
    k = cov.shape[0]
    expected = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert alpha(items).alpha == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("kind", ["identical", "sum"])
def test_factor_analyses_of_collinear_items_say_which_items(collinear, kind):
    from sdt_survey.factor.exploratory import FactorAnalysisError, efa
    from sdt_survey.factor.sem import CFAError, cfa

    items = collinear[kind]
    with pytest.raises(FactorAnalysisError, match="x4") as raised:
        efa(items, 1)
    assert "singular" in str(raised.value)
    with pytest.raises(CFAError, match="linear combinations"):
        cfa(items, "F =~ " + " + ".join(items.columns))


def test_items_pulling_against_each_other_give_psychs_answer_not_a_crash():
    """Two items against two (an unreversed reverse-keyed pair): negative alpha and, as sqrt() in R, NaN."""
    from sdt_survey.reliability import alpha

    rng = np.random.default_rng(0)
    z = rng.standard_normal(300)
    items = pd.DataFrame({name: sign * z + 0.3 * rng.standard_normal(300) for name, sign in
                          (("a", 1), ("b", 1), ("c", -1), ("d", -1))})  # fmt: skip
    with pytest.warns(UserWarning, match="should be reversed: c, d"):
        result = alpha(items)
    cov = items.cov().to_numpy()
    assert result.alpha == pytest.approx(4 / 3 * (1 - np.trace(cov) / cov.sum()), abs=1e-10)
    assert result.alpha < 0
    stats = result.item_stats
    assert stats["r_cor"].isna().all()  # psych: colSums(C.smc) / sqrt(negative) is NaN
