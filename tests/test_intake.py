"""One intake per run: the report, cohorts and every analysis command read each response file once.

The intake stage (:func:`sdt_survey.scoring.score`) reads, validates and
scores the responses and hands back the analysis data set
(:class:`~sdt_survey.scoring.ScoredResponses`); every later step takes that.
These tests count the opens of the response files at the lowest level
(``io.open``, which ``Path.read_bytes`` and ``open`` both go through), so a
second read anywhere, through any module, is caught.
"""

from __future__ import annotations

import builtins
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.cohorts import cohort_summary
from sdt_survey.report import build_report
from sdt_survey.scoring import ScoredResponses
from sdt_survey.simulate import simulate


@pytest.fixture(scope="module")
def waves(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("intake")
    simulate(["bpn-residency", "continuity-exposure"], seed=4, n_programs=10).write_folder(folder / "sim")
    return folder / "sim" / "responses_w1.csv", folder / "sim" / "responses_w2.csv"


@pytest.fixture
def reads(monkeypatch, waves):
    """How many times each response file was opened for reading."""
    watched = {p.resolve(): p.name for p in waves}
    counts: Counter[str] = Counter()
    original = io.open

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, Path)) and "r" in mode and "+" not in mode:
            name = watched.get(Path(file).resolve())
            if name is not None:
                counts[name] += 1
        return original(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    return counts


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_score_reads_once(reads, waves, tmp_path):
    invoke("score", "bpn-residency", waves[0], "--id-column", "resident", "--out", tmp_path / "scores.csv")
    assert reads == {waves[0].name: 1}


@pytest.mark.parametrize(
    "command",
    [
        ["reliability", "--group-column", "program"],
        ["efa", "--factors", "6", "--iterations", "2", "--seed", "1"],
        ["cfa", "--missing", "listwise"],
        ["invariance", "--group-column", "pgy"],
    ],
    ids=lambda c: c[0],
)
def test_each_analysis_command_reads_once(reads, waves, command):
    name, *options = command
    invoke(name, "bpn-residency", waves[0], "--id-column", "resident", *options)
    assert reads == {waves[0].name: 1}


def test_the_model_command_reads_the_responses_once(reads, waves):
    invoke(
        "model",
        "--instrument",
        "bpn-residency",
        "--instrument",
        "continuity-exposure",
        "--responses",
        waves[0],
        "--self-reported-exposure",
        "--id-column",
        "resident",
        "--formula",
        "relatedness_satisfaction ~ upc_self + (1|program)",
    )
    assert reads == {waves[0].name: 1}


def test_cohorts_reads_each_wave_once(reads, waves):
    output = invoke(
        "cohorts",
        "bpn-residency",
        *waves,
        "--id-column",
        "resident",
        "--by",
        "program",
        "--no-invariance",
        "--no-ledger",
        "--format",
        "json",
    )
    assert json.loads(output)["rows"]
    assert reads == {waves[0].name: 1, waves[1].name: 1}


def test_report_reads_each_wave_once(reads, waves, tmp_path):
    out = tmp_path / "report.html"
    invoke(
        "report",
        "bpn-residency",
        "--responses",
        *waves,
        "--id-column",
        "resident",
        "--by",
        "pgy",
        "--no-ledger",
        "--out",
        out,
    )
    assert reads == {waves[0].name: 1, waves[1].name: 1}
    assert out.is_file() and out.with_suffix(".json").is_file()


def test_report_reads_each_instrument_once(monkeypatch, waves, tmp_path):
    from sdt_survey.instrument import BUNDLED_DIR

    watched = {p.resolve() for p in BUNDLED_DIR.glob("*.yaml")}
    opened: Counter[str] = Counter()
    original = io.open

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file).resolve() in watched:
            opened[Path(file).name] += 1
        return original(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    out = tmp_path / "report.html"
    invoke(
        "report",
        "bpn-residency",
        "--responses",
        *waves,
        "--id-column",
        "resident",
        "--no-ledger",
        "--out",
        out,
    )
    assert opened == {"bpn-residency.yaml": 1}


def test_the_python_api_takes_the_analysis_data_set_and_reads_nothing_more(waves, monkeypatch):
    scored = [sdt_survey.score("bpn-residency", path, id_column="resident") for path in waves]
    assert all(isinstance(s, ScoredResponses) for s in scored)
    assert scored[0].source == str(waves[0])

    def no_reading(*args, **kwargs):
        raise AssertionError("the responses were read again")

    import sdt_survey.scoring.intake as intake

    monkeypatch.setattr(intake, "read_responses", no_reading)
    monkeypatch.setattr(intake, "validate_responses", no_reading)
    cohorts = cohort_summary(
        "bpn-residency", scored, id_column="resident", by=["program"], invariance=False, ledger=None
    )
    assert cohorts.to_dict()["rows"]
    report = build_report("bpn-residency", scored, id_column="resident", by=["pgy"], ledger=None)
    assert report.to_dict()["header"]["data_files"] == [waves[0].name, waves[1].name]
    assert report.sections["reliability"]["status"] == "ok"
    # An analysis handed the analysis data set takes it as it is.
    assert sdt_survey.score("bpn-residency", scored[0]) is scored[0]


def test_an_analysis_data_set_refuses_reading_options(waves):
    scored = sdt_survey.score("bpn-residency", waves[0], id_column="resident")
    with pytest.raises(sdt_survey.SdtSurveyError, match="scored already; invalid"):
        sdt_survey.score("bpn-residency", scored, invalid="as-missing")
    with pytest.raises(sdt_survey.SdtSurveyError, match="id column 'resident', not 'other'"):
        sdt_survey.score("bpn-residency", scored, id_column="other")
    with pytest.raises(sdt_survey.SdtSurveyError, match="do not hold program-belonging"):
        sdt_survey.score("program-belonging", scored)


def test_the_same_numbers_from_a_file_and_from_the_analysis_data_set(waves):
    from sdt_survey.reliability import instrument_reliability

    scored = sdt_survey.score("bpn-residency", waves[0], id_column="resident")
    from_file = instrument_reliability("bpn-residency", waves[0], id_column="resident").to_dict()
    from_data = instrument_reliability("bpn-residency", scored).to_dict()
    assert from_data == from_file
