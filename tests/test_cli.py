"""The command line: every command, its exit status, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdt_survey.cli import cli
from sdt_survey.instrument import BUNDLED_DIR
from tests.conftest import REFERENCE, VALID


@pytest.fixture
def run():
    runner = CliRunner()

    def _run(*args: str):
        result = runner.invoke(cli, list(args))
        # A user error ends in SystemExit with a message, never another exception.
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), result.output
        return result

    return _run


def test_validate_bundled_files_exits_zero(run):
    files = sorted(str(p) for p in BUNDLED_DIR.glob("*.yaml"))
    result = run("validate", *files)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(files)
    assert lines[0].endswith(
        "bpn-residency.yaml: valid: bpn-residency 1.0.0, 24 items, 6 subscales, 2 composites, "
        "languages en, es"
    )


def test_validate_broken_file_exits_one_with_located_lines(run, write):
    path = write(
        VALID.replace("min: 0", "min: zero").replace("scale: agree\n  - id: q2", "scale: agre\n  - id: q2")
    )
    result = run("validate", str(path))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{path}:15:12: items[0].scale: unknown scale 'agre'; did you mean 'agree'? (defined: agree)",
        f"{path}:27:10: items[3].min: expected an integer, found a string ('zero')",
        f"{path}: invalid (2 problems)",
    ]
    assert "Traceback" not in result.output


def test_validate_mixes_good_and_bad_files(run, write, tmp_path):
    good = write(VALID)
    missing = tmp_path / "absent.yaml"
    result = run("validate", str(good), str(missing))
    assert result.exit_code == 1
    assert f"{good}: valid: tiny 0.1.0" in result.output
    assert f"{missing}: no such file" in result.output


def test_validate_json(run, write):
    path = write(VALID.replace('version: "0.1.0"', "version: 1"))
    result = run("validate", str(path), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report[0]["valid"] is False
    assert report[0]["problems"][0]["line"] == 3
    assert report[0]["problems"][0]["path"] == "version"


def test_validate_strict_turns_warnings_into_failures(run, write):
    path = write(VALID, name="renamed.yaml")
    assert run("validate", str(path)).exit_code == 0
    assert run("validate", "--strict", str(path)).exit_code == 1


def test_info_shows_items_subscales_keys_languages(run):
    result = run("info", "bpn-residency")
    assert result.exit_code == 0
    out = result.output
    assert "bpn-residency 1.0.0: Basic Psychological Needs in Residency" in out
    assert "languages: en, es (default en)" in out
    assert "R* as4" in out
    assert "relatedness_satisfaction" in out and "rs1, rs2, rs3, rs4(R)" in out
    assert "need_satisfaction" in out


def test_info_formats(run):
    as_json = json.loads(run("info", "continuity-exposure", "--format", "json").output)
    assert as_json["id"] == "continuity-exposure"
    csv = run("info", "bpn-residency", "--format", "csv", "--lang", "es").output
    assert csv.splitlines()[0].startswith("item,section,type")
    assert "Nada cierto" not in csv and "as1" in csv
    assert "schema_version: 1" in run("info", "learning-climate", "--format", "yaml").output


def test_info_unknown_language_and_instrument(run):
    result = run("info", "bpn-residency", "--lang", "fr")
    assert result.exit_code == 1
    assert "error: bpn-residency has no 'fr' texts; its languages are en, es" in result.output
    result = run("info", "no-such-thing")
    assert result.exit_code == 1 and "no bundled instrument of that name" in result.output


def test_info_on_broken_file_lists_problems_without_traceback(run, write):
    result = run("info", str(write("id: [\n")))
    assert result.exit_code == 1
    assert "YAML syntax error" in result.output and "Traceback" not in result.output


def test_list(run):
    result = run("list")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "bpn-residency",
        "bpnsfs-keys",
        "continuity-exposure",
        "learning-climate",
        "program-belonging",
    ]
    rows = json.loads(run("list", "--format", "json").output)
    assert rows[0]["languages"] == ["en", "es"]


def test_demo_writes_its_outputs(run, tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "demo.json").read_text())
    assert [stage["name"] for stage in summary["stages"]] == [
        "instruments",
        "simulate",
        "export",
        "import",
        "score",
        "large file",
        "study",
        "reliability",
        "factor",
        "continuity",
        "model",
        "latent model",
        "power",
        "cohorts",
        "report",
    ]
    for stage in summary["stages"]:
        assert stage["outputs"], stage["name"]
        for path in stage["outputs"]:
            assert Path(path).exists(), path
    assert (out / "export" / "survey-redcap.csv").is_file()
    assert (out / "scores" / "quality_messy.csv").is_file()
    # the large-file stage: streamed and whole-file scores, the same bytes
    streamed = (out / "large-file" / "scores_streamed.csv").read_bytes()
    assert streamed == (out / "large-file" / "scores_whole.csv").read_bytes()
    # the import stage: a REDCap dictionary imported, its subscale added, a REDCap export scored with it
    assert "calculated" not in (out / "import" / "import-report.txt").read_text(encoding="utf-8")
    assert (out / "import" / "belonging-imported.yaml").is_file() and (
        out / "import" / "scores.csv"
    ).is_file()
    assert str(out) in result.output
    assert "[8/15] reliability" in result.output  # progress, stage by stage
    # the demo builds a study and cleans it once (issue 14): its manifest and analysis data set
    assert (out / "study" / "study.yaml").is_file()
    manifest = json.loads((out / "study" / "study-output" / "manifest.json").read_text())
    assert manifest["fingerprint"]["inputs"]["../data/responses_w1.csv"]
    assert (out / "report" / "report.html").is_file()
    # the release ledger refused a second, disclosive release, and says so in the user's terms
    refused = (out / "cohorts" / "second-release-refused.txt").read_text(encoding="utf-8")
    assert "can be raised but never lowered" in refused and ".sdt-tmp" not in refused
    assert str(out / "release-ledger.json") in refused
    # pseudonymized scores carry no raw id
    pseudonymized = (out / "scores" / "scores_pseudonymized.csv").read_text(encoding="utf-8")
    assert "R0001" not in pseudonymized and (out / "scores" / "program.key").is_file()


def test_console_script_reports_user_errors_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nid: x\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from sdt_survey.cli import main; main()", "info", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "missing required key 'version'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_score_command_writes_scores_and_report(run, tmp_path):
    frame = "resident,program," + ",".join(
        f"{s}{j}" for j in range(1, 5) for s in ("as", "af", "rs", "rf", "cs", "cf")
    )
    rows = [frame] + [f"R{i},P1," + ",".join(["3"] * 24) for i in range(3)]
    data = tmp_path / "wave.csv"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "scores.csv"
    report = tmp_path / "quality.json"
    result = run(
        "score",
        "bpn-residency",
        str(data),
        "--id-column",
        "resident",
        "--out",
        str(out),
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output
    assert "Scored 3 respondents on bpn-residency 1.0.0" in result.output
    assert out.is_file() and json.loads(report.read_text())["n_records"] == 3


def test_score_command_refuses_invalid_cells_and_writes_no_scores(run, tmp_path):
    header = "resident," + ",".join(
        f"{s}{j}" for j in range(1, 5) for s in ("as", "af", "rs", "rf", "cs", "cf")
    )
    data = tmp_path / "wave.csv"
    data.write_text(header + "\nR1," + ",".join(["3"] * 23 + ["9"]) + "\n")
    out = tmp_path / "scores.csv"
    report = tmp_path / "quality.csv"
    result = run(
        "score",
        "bpn-residency",
        str(data),
        "--id-column",
        "resident",
        "--out",
        str(out),
        "--report",
        str(report),
    )
    assert result.exit_code == 1
    assert (
        "row 2 [R1] cf4: 9 is not a value of scale truth5 (1-5) -> blocked: no scores written"
        in result.output
    )
    assert not out.exists() and report.is_file()
    assert "Traceback" not in result.output
    result = run(
        "score",
        "bpn-residency",
        str(data),
        "--id-column",
        "resident",
        "--out",
        str(out),
        "--invalid",
        "as-missing",
    )
    assert result.exit_code == 0 and out.is_file()


def test_score_command_needs_instrument_and_file(run):
    result = run("score", "bpn-residency", "--out", "x.csv")
    assert result.exit_code == 2 and "give one or more instruments, then the RESPONSES file" in result.output


def test_simulate_command_writes_the_data_and_truth(run, tmp_path):
    out = tmp_path / "sim"
    result = run(
        "simulate",
        "bpn-residency",
        "--seed",
        "3",
        "--programs",
        "3",
        "--residents",
        "10-12",
        "--continuity-effect",
        "0.5",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 3 and truth["continuity_effects"]["relatedness_satisfaction"] == 0.5
    assert (out / "responses_w2.csv").is_file() and (out / "schedule.csv").is_file()


def test_simulate_command_reports_bad_designs_without_traceback(run, tmp_path):
    result = run("simulate", "bpn-residency", "--seed", "3", "--set", "n_program=3", "--out", str(tmp_path))
    assert result.exit_code == 1 and "n_program" in result.output and "Traceback" not in result.output
    result = run("simulate", "bpn-residency", "--seed", "3", "--residents", "ten", "--out", str(tmp_path))
    assert result.exit_code == 2 and "expected MIN-MAX" in result.output


def test_reliability_command_formats(run, tmp_path):
    sim = tmp_path / "sim"
    assert (
        run("simulate", "bpn-residency", "--seed", "5", "--programs", "4", "--out", str(sim)).exit_code == 0
    )
    data = str(sim / "responses.csv")
    table = run("reliability", "bpn-residency", data, "--id-column", "resident", "--group-column", "program")
    assert table.exit_code == 0, table.output
    assert "relatedness_satisfaction" in table.output and "ICC1" in table.output
    assert "Test-retest" in table.output
    as_json = json.loads(
        run("reliability", "bpn-residency", data, "--id-column", "resident", "--format", "json").output
    )
    assert set(as_json) >= {"instrument", "missing", "n_respondents", "scales", "omega"}
    assert as_json["missing"] == "pairwise" and as_json["scales"]["relatedness_satisfaction"]["alpha"] > 0.5
    csv_out = run("reliability", "bpn-residency", data, "--format", "csv", "--missing", "listwise").output
    assert csv_out.splitlines()[0].startswith("subscale,n,items,alpha")


def test_efa_command(run, tmp_path):
    sim = tmp_path / "sim"
    assert run("simulate", "bpn-residency", "--seed", "6", "--out", str(sim)).exit_code == 0
    data = str(sim / "responses_w1.csv")
    table = run("efa", "bpn-residency", data, "--id-column", "resident", "--seed", "1")
    assert table.exit_code == 0, table.output
    assert "Parallel analysis suggests" in table.output and "RMSEA" in table.output
    as_json = json.loads(
        run(
            "efa",
            "bpn-residency",
            data,
            "--factors",
            "6",
            "--fm",
            "ml",
            "--rotate",
            "promax",
            "--format",
            "json",
        ).output
    )
    assert as_json["n_factors"] == 6 and as_json["efa"]["fm"] == "ml"
    bad = run("efa", "bpn-residency", data, "--subscale", "relatedness_satisfactio")
    assert bad.exit_code == 1 and "Traceback" not in bad.output


def test_model_command_reproduces_the_reference_fit(run, tmp_path):
    sim = REFERENCE / "sdt-sim"
    if not sim.is_dir():
        pytest.skip("tests/data/reference is missing")
    result = run(
        "model",
        "--instrument",
        "bpn-residency",
        "--responses",
        str(sim / "responses_w1.csv"),
        "--exposure",
        str(sim / "continuity_truth.csv"),
        "--id-column",
        "resident",
        "--formula",
        "relatedness_satisfaction ~ coc + pgy + (1|program)",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)
    golden = json.loads((sim / "reference.json").read_text())["lmer"]
    assert fit["fixed"]["coc"]["estimate"] == pytest.approx(golden["fixef"]["coc"], abs=1e-5)
    assert fit["random"]["program"]["variance"] == pytest.approx(golden["var_program"], abs=1e-4)
    misuse = run(
        "model",
        "--exposure",
        str(sim / "continuity_truth.csv"),
        "--id-column",
        "resident",
        "--formula",
        "relatedness_satisfaction ~ coc + (1|program)",
    )
    assert misuse.exit_code == 2 and "give either --scores" in misuse.output


def test_power_command(run, tmp_path):
    plot = tmp_path / "power.png"
    result = run(
        "power",
        "--grid",
        "n_programs=4,6",
        "--replicates",
        "3",
        "--set",
        "residents_per_program=8",
        "--jobs",
        "1",
        "--seed",
        "2",
        "--plot",
        str(plot),
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("n_programs") and [x.split(",")[0] for x in lines[1:3]] == ["4", "6"]
    assert plot.is_file()
    bad = run("power", "--grid", "n_programs")
    assert bad.exit_code == 2 and "expected NAME=V1,V2" in bad.output


def test_continuity_command(run, tmp_path):
    schedule = tmp_path / "schedule.csv"
    schedule.write_text(
        "resident,faculty,session_date,assigned\n"
        "R1,A,2025-07-01,A\nR1,A,2025-07-08,A\nR1,B,2025-07-15,A\nR1,A,2025-07-22,A\nR1,C,2025-07-29,A\n"
        "R2,B,2025-07-02,B\nR2,B,2025-07-09,B\n"
    )
    out = tmp_path / "continuity.csv"
    result = run(
        "continuity",
        str(schedule),
        "--learner-column",
        "resident",
        "--time-column",
        "session_date",
        "--assigned-column",
        "assigned",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    table = __import__("pandas").read_csv(out).set_index("resident")
    # A, A, B, A, C: COC = (3^2 + 1 + 1 - 5) / (5 * 4) = 0.3; UPC = 3/5; SECON = 1/4.
    assert table.loc["R1", ["coc", "upc", "secon"]].tolist() == pytest.approx([0.3, 0.6, 0.25])
    schedule.write_text(schedule.read_text() + "R3,A,not a date,A\n")
    report = tmp_path / "report.csv"
    bad = run(
        "continuity",
        str(schedule),
        "--learner-column",
        "resident",
        "--time-column",
        "session_date",
        "--report",
        str(report),
    )
    assert bad.exit_code == 1 and "row 9" in bad.output and "session_date" in bad.output
    assert report.is_file()


def test_cohorts_command_suppresses_small_cells_and_shows_no_ids(run, tmp_path):
    sim = tmp_path / "sim"
    assert (
        run("simulate", "bpn-residency", "--seed", "8", "--programs", "5", "--out", str(sim)).exit_code == 0
    )
    result = run(
        "cohorts",
        "bpn-residency",
        str(sim / "responses_w1.csv"),
        str(sim / "responses_w2.csv"),
        "--id-column",
        "resident",
        "--by",
        "clinic",
        "--min-cell",
        "10",
        "--no-invariance",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["min_cell"] == 10
    shown = [row for row in report["rows"] if not row["suppressed"]]
    assert all(row["n"] >= 10 for row in shown)
    for row in report["rows"]:
        if row["suppressed"]:
            assert row["n"] is None and row["mean"] is None
    assert "R0" not in result.output  # no resident id anywhere
    refused = run(
        "cohorts",
        "bpn-residency",
        str(sim / "responses_w1.csv"),
        "--id-column",
        "resident",
        "--by",
        "program",
        "--min-cell",
        "2",
    )
    # A minimum cell below 3 is an impossible option value: a usage error naming it.
    assert refused.exit_code == 2 and "--min-cell" in refused.output and "Traceback" not in refused.output


def test_model_command_with_self_reported_exposure(run, tmp_path):
    sim = tmp_path / "sim"
    assert (
        run("simulate", "bpn-residency", "continuity-exposure", "--seed", "4", "--out", str(sim)).exit_code
        == 0
    )
    result = run(
        "model",
        "--instrument",
        "bpn-residency",
        "--instrument",
        "continuity-exposure",
        "--responses",
        str(sim / "responses_w1.csv"),
        "--self-reported-exposure",
        "--id-column",
        "resident",
        "--formula",
        "relatedness_satisfaction ~ upc_self + (1|program)",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)
    assert "upc_self" in fit["fixed"] and fit["fixed"]["upc_self"]["estimate"] > 0
    both = run(
        "model",
        "--instrument",
        "bpn-residency",
        "--responses",
        str(sim / "responses_w1.csv"),
        "--self-reported-exposure",
        "--exposure",
        "x.csv",
        "--id-column",
        "resident",
        "--formula",
        "relatedness_satisfaction ~ upc_self + (1|program)",
    )
    assert both.exit_code == 2 and "either --exposure FILE or --self-reported-exposure" in both.output


def test_cfa_and_invariance_commands_reproduce_lavaan(run, tmp_path):
    sim = REFERENCE / "sdt-sim"
    if not sim.is_dir():
        pytest.skip("tests/data/reference is missing")
    data = str(sim / "responses_w1.csv")
    golden = json.loads((sim / "reference.json").read_text())
    fit = json.loads(
        run(
            "cfa",
            "bpn-residency",
            data,
            "--id-column",
            "resident",
            "--missing",
            "listwise",
            "--format",
            "json",
        ).output
    )["fit"]
    assert fit["chisq"] == pytest.approx(golden["cfa"]["fit"]["chisq"], rel=1e-5)
    assert fit["cfi"] == pytest.approx(golden["cfa"]["fit"]["cfi"], rel=1e-5)
    lavaan = run("cfa", "bpn-residency", data, "--model", "bifactor", "--emit-lavaan").output
    assert "=~" in lavaan and "relatedness_satisfaction" in lavaan
    steps = json.loads(
        run(
            "invariance",
            "bpn-residency",
            data,
            "--group-column",
            "pgy",
            "--missing",
            "listwise",
            "--format",
            "json",
        ).output
    )
    for step in ("configural", "metric", "scalar", "strict"):
        expected = golden["invariance_pgy"][step]
        assert steps["steps"][step]["chisq"] == pytest.approx(expected["chisq"], rel=1e-5), step
    assert "can be compared" in steps["conclusion"]
    missing_group = run("invariance", "bpn-residency", data, "--group-column", "cohort")
    assert missing_group.exit_code == 1 and "no group column 'cohort'" in missing_group.output


def test_report_command_writes_html_and_json(run, tmp_path):
    sim = tmp_path / "sim"
    assert (
        run("simulate", "bpn-residency", "--seed", "9", "--programs", "6", "--out", str(sim)).exit_code == 0
    )
    out = tmp_path / "report" / "report.html"
    result = run(
        "report",
        "bpn-residency",
        "--responses",
        str(sim / "responses_w1.csv"),
        str(sim / "responses_w2.csv"),
        "--id-column",
        "resident",
        "--by",
        "pgy",
        "--schedule",
        str(sim / "schedule.csv"),
        "--time-column",
        "session_date",
        "--assigned-column",
        "assigned",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")
    assert "R0001" not in page  # no resident id
    sections = json.loads(out.with_suffix(".json").read_text())["sections"]
    assert all(section["status"] == "ok" for section in sections.values()), sections.keys()


def test_cfa_command_with_wlsmv_reproduces_lavaan_ordered(run):
    sim = REFERENCE / "sdt-sim"
    if not sim.is_dir():
        pytest.skip("tests/data/reference is missing")
    golden = json.loads((Path(__file__).parent / "goldens" / "lavaan_wlsmv.json").read_text())["bpn_delta"]
    result = run(
        "cfa", "bpn-residency", str(sim / "responses_w1.csv"), "--estimator", "WLSMV", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)["fit"]
    assert fit["chisq_scaled"] == pytest.approx(golden["fit"]["chisq.scaled"], rel=1e-5)
    assert fit["rmsea_robust"] == pytest.approx(golden["fit"]["rmsea.robust"], rel=1e-5)
    refused = run(
        "invariance",
        "bpn-residency",
        str(sim / "responses_w1.csv"),
        "--group-column",
        "pgy",
        "--estimator",
        "WLSMV",
        "--missing",
        "fiml",
    )
    # Ordinal invariance runs since issue 15 (tests/test_ordinal_invariance.py); WLSMV with FIML does not.
    assert refused.exit_code == 2 and "complete cases" in refused.output


def test_bad_analysis_settings_are_user_errors_not_tracebacks(run, tmp_path):
    sim = tmp_path / "sim"
    assert (
        run("simulate", "bpn-residency", "--seed", "5", "--programs", "3", "--out", str(sim)).exit_code == 0
    )
    data = str(sim / "responses_w1.csv")
    # Negative counts and seeds are refused by the options themselves (usage errors, exit 2).
    negative = run("reliability", "bpn-residency", data, "--bootstrap", "-5")
    assert negative.exit_code == 2 and "--bootstrap" in negative.output
    seed = run("reliability", "bpn-residency", data, "--bootstrap", "3", "--seed", "-1")
    assert seed.exit_code == 2 and "--seed" in seed.output
    assert run("cfa", "bpn-residency", data, "--modindices", "-2").exit_code == 2
