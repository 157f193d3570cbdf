"""The study path: init, edit, clean once, analyse many with --study (issue 14, section 1)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.errors import StudyError
from sdt_survey.files import file_sha256
from sdt_survey.simulate import simulate


def _mess_up(path: Path) -> None:
    """A typo'd value, a -99 code, an empty row, a duplicate record and a survey preview.

    The wave is a Qualtrics export (ResponseId, Status, Finished), one of its records a preview.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    rs1, af1 = header.index("rs1"), header.index("af1")
    rows[1][rs1] = "44"  # a typo: out of range
    rows[2][af1] = "-99"  # a missing code
    rows.append(list(rows[3]))  # a duplicate record
    rows.insert(5, [""] * len(header))  # an empty row
    rows[0] = ["ResponseId", "Status", "Finished", *header]
    for n, row in enumerate(rows[1:], start=1):
        blank = not any(row)
        status = "Survey Preview" if n == 7 else "IP Address"  # not a row with another fault
        row[:0] = ["", "", ""] if blank else [f"R_{n}", status, "1"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    simulate("bpn-residency", seed=4, messy=True, n_programs=6).write_folder(folder / "data")
    _mess_up(folder / "data" / "responses_w1.csv")
    return folder


def _edit(study: Path) -> None:
    """Point the study written by `init --yes` at the simulated waves and schedule, as a user would."""
    text = study.read_text(encoding="utf-8")
    text = text.replace("file: responses_w", "file: data/responses_w")
    text = text.replace("source: auto", "source: qualtrics", 1)  # wave 1 is a Qualtrics export
    text = text.replace("# schedule:\n#   file: schedule.csv", "schedule:\n  file: data/schedule.csv")
    text = text.replace("\n#   ", "\n  ")
    study.write_text(text, encoding="utf-8")


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def cleaned(study_dir: Path) -> Path:
    run("init", str(study_dir), "--yes")
    study = study_dir / "study.yaml"
    _edit(study)
    first = run("clean", str(study))
    assert "cleaned" in first.output
    return study


def test_init_never_overwrites(cleaned: Path):
    again = run("init", str(cleaned.parent), "--yes", ok=False)
    assert again.exit_code != 0 and "--force" in again.output


def test_manifest_hashes_and_decisions(cleaned: Path, study_dir: Path):
    manifest = json.loads((study_dir / "study-output" / "manifest.json").read_text())
    fingerprint = manifest["fingerprint"]
    assert fingerprint["package_version"] == sdt_survey.__version__
    wave1 = study_dir / "data" / "responses_w1.csv"
    # Paths as seen from the study file's folder, so the manifest stays true when the study moves.
    assert fingerprint["inputs"]["data/responses_w1.csv"] == file_sha256(wave1)
    assert fingerprint["inputs"]["data/schedule.csv"]
    assert fingerprint["study_file"] == {"study.yaml": file_sha256(study_dir / "study.yaml")}
    assert fingerprint["instruments"]["bpn-residency"] == file_sha256(
        sdt_survey.instrument.resolve_instrument_path("bpn-residency")
    )
    decisions = {d["decision"]: d for d in manifest["decisions"]}
    assert decisions["invalid"]["policy"] == "as-missing" and decisions["invalid"]["rows"] >= 1
    assert decisions["duplicates"]["policy"] == "keep-first" and decisions["duplicates"]["rows"] >= 2
    assert decisions["empty rows"]["rows"] >= 1
    assert decisions["missing codes"]["rows"] >= 1
    assert decisions["qualtrics status"]["rows"] == 1
    assert "1 survey preview excluded" in decisions["qualtrics status"]["detail"]
    assert manifest["quality"]["counts"]["out_of_range"] >= 1


def test_rerun_is_a_no_op_and_a_changed_input_is_named(tmp_path: Path):
    simulate("bpn-residency", seed=5, n_programs=3).write_folder(tmp_path / "data")
    run("init", str(tmp_path), "--yes")
    _edit(tmp_path / "study.yaml")
    run("clean", str(tmp_path / "study.yaml"))
    again = run("clean", str(tmp_path / "study.yaml"))
    assert "nothing to do" in again.output
    wave2 = tmp_path / "data" / "responses_w2.csv"
    wave2.write_text(wave2.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = run("clean", str(tmp_path / "study.yaml"))
    assert "changed" in changed.output and "responses_w2.csv" in changed.output


def test_analyses_from_the_study_with_no_repeated_flags(cleaned: Path, study_dir: Path):
    out = run("reliability", "--study", str(cleaned))
    assert "relatedness_satisfaction" in out.output
    out = run("cfa", "--study", str(cleaned))
    assert "CFI" in out.output or "cfi" in out.output.lower()
    # pgy is not an item of bpn-residency here; grouping by an answered question is another part of issue 14.
    out = run("cohorts", "--study", str(cleaned), "--by", "pgy", "--no-ledger")
    assert "pgy" in out.output
    html = study_dir / "report.html"
    out = run("report", "--study", str(cleaned), "--out", str(html), "--no-ledger")
    assert html.is_file()


def test_without_study_the_arguments_are_still_required():
    result = run("reliability", ok=False)
    assert result.exit_code == 2 and "Missing" in result.output


def test_bad_study_file_is_located(tmp_path: Path):
    study = tmp_path / "study.yaml"
    study.write_text(
        "instruments: [bpn-residency]\nwaves:\n  - file: nowhere.csv\n    source: redcapp\n"
        "cleaning:\n  duplicates: keep-second\n",
        encoding="utf-8",
    )
    result = run("clean", str(study), ok=False)
    assert result.exit_code != 0
    assert f"{study}:3:11: waves[0].file: no such file" in result.output
    assert f"{study}:4:13: waves[0].source: 'redcapp' is not one of" in result.output
    assert f"{study}:6:15: cleaning.duplicates:" in result.output
    with pytest.raises(StudyError) as caught:
        sdt_survey.Study.load(study)
    assert len(caught.value.problems) == 3


def test_python_api(cleaned: Path):
    study = sdt_survey.Study.load(cleaned)
    assert not study.clean().cleaned  # unchanged: nothing to do
    data = study.data
    assert isinstance(data, sdt_survey.ScoredResponses)
    assert set(data.scores["wave"]) == {1, 2}
    from sdt_survey.reliability import instrument_reliability

    report = instrument_reliability(study.instruments, data)
    assert "relatedness_satisfaction" in report.summary()


def test_a_study_moved_with_its_data_stays_clean(study_dir, tmp_path):
    run("clean", str(study_dir / "study.yaml"))
    moved = tmp_path / "moved"
    shutil.copytree(study_dir, moved)
    again = run("clean", str(moved / "study.yaml"))
    assert "nothing to do" in again.output


def test_the_analysis_data_set_file_is_read_directly_by_every_command(cleaned: Path, study_dir: Path):
    from_study = run("reliability", "--study", str(cleaned), "--format", "json")
    data = study_dir / "study-output" / "analysis.parquet"
    direct = run("reliability", "bpn-residency", str(data), "--id-column", "resident", "--format", "json")
    alphas = [
        {sid: scale["alpha"] for sid, scale in json.loads(r.stdout)["scales"].items()}
        for r in (from_study, direct)
    ]
    assert alphas[0] == pytest.approx(alphas[1], rel=1e-12)


def test_power_with_a_study_still_needs_its_grid(cleaned: Path):
    result = run("power", "--study", str(cleaned), ok=False)
    assert result.exit_code == 2 and "--grid" in result.output


def test_clean_never_replaces_files_it_did_not_write(tmp_path: Path):
    simulate("bpn-residency", seed=5, n_programs=3).write_folder(tmp_path / "data")
    run("init", str(tmp_path), "--yes")
    _edit(tmp_path / "study.yaml")
    theirs = tmp_path / "study-output" / "analysis.parquet"
    theirs.parent.mkdir()
    theirs.write_bytes(b"a user's own file")
    refused = run("clean", str(tmp_path / "study.yaml"), ok=False)
    assert refused.exit_code == 1 and "not written by a clean" in refused.output
    assert theirs.read_bytes() == b"a user's own file"
    theirs.unlink()
    run("clean", str(tmp_path / "study.yaml"))
    assert "nothing to do" not in run("clean", str(tmp_path / "study.yaml"), "--force").output
