"""Users' files are never lost: issue 12, section 1 (docs/safety.md).

Every output is checked against the command's inputs and against what
exists before any computation; existing files are replaced only with
--force; writes are atomic (also under SIGKILL, SIGINT and SIGTERM, with real
processes); a folder output touches only the package's own files.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.files import (
    MANIFEST_NAME,
    TEMP_MARK,
    OutputError,
    Transaction,
    atomic_output,
    folder_output,
    read_manifest,
)
from sdt_survey.simulate import simulate

REPO = Path(sdt_survey.__file__).resolve().parents[1]
BUNDLED_YAML = REPO / "sdt_survey" / "instruments" / "program-belonging.yaml"


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if TEMP_MARK in p.name]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A small simulated study: responses.csv and schedule.csv."""
    folder = tmp_path_factory.mktemp("data")
    result = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9), n_waves=1)
    result.responses.to_csv(folder / "responses.csv", index=False)
    result.schedule.to_csv(folder / "schedule.csv", index=False)
    return folder


@pytest.fixture
def work(data: Path, tmp_path: Path) -> Path:
    """Fresh copies of the study's files in this test's own folder."""
    for name in ("responses.csv", "schedule.csv"):
        (tmp_path / name).write_bytes((data / name).read_bytes())
    return tmp_path


@pytest.fixture
def no_computation(monkeypatch):
    """Make every command's computation record that it started (a refusal must come first)."""
    started: list[str] = []

    def forbid(module, name):
        def record(*args, **kwargs):
            started.append(name)
            raise AssertionError(f"{name} ran before the refusal")

        monkeypatch.setattr(module, name, record)

    import sdt_survey.cohorts
    import sdt_survey.continuity
    import sdt_survey.demo
    import sdt_survey.export
    import sdt_survey.reliability
    import sdt_survey.report
    import sdt_survey.scoring

    forbid(sdt_survey.scoring, "score")
    forbid(sdt_survey.continuity, "continuity_indices")
    forbid(sdt_survey.export, "export_survey")
    forbid(sdt_survey.report, "build_report")
    forbid(sdt_survey.simulate, "simulate")
    forbid(sdt_survey.demo, "run_demo")
    forbid(sdt_survey.reliability, "instrument_reliability")
    forbid(sdt_survey.cohorts, "cohort_summary")
    return started


SCORE = ("score", "program-belonging")


# ----------------------------------------------------------------- an output that is an input


def test_score_refuses_to_write_over_its_response_file(work: Path, no_computation) -> None:
    responses = work / "responses.csv"
    before = digest(responses)
    result = run(*SCORE, responses, "--id-column", "resident", "--out", responses, "--force")
    assert result.exit_code == 1
    assert "--out" in result.output and "the response file RESPONSES" in result.output
    assert str(responses) in result.output
    assert digest(responses) == before
    assert no_computation == []


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_an_input_is_the_input(work: Path, link: str, no_computation) -> None:
    responses = work / "responses.csv"
    alias = work / "alias.csv"
    (os.symlink if link == "symlink" else os.link)(responses, alias)
    before = digest(responses)
    result = run(*SCORE, responses, "--id-column", "resident", "--out", alias, "--force")
    assert result.exit_code == 1
    assert "is the response file" in result.output
    assert digest(responses) == before
    assert no_computation == []


def test_score_report_cannot_be_the_out_file(work: Path, no_computation) -> None:
    out = work / "same.csv"
    result = run(*SCORE, work / "responses.csv", "--id-column", "resident", "--out", out, "--report", out)
    assert result.exit_code == 1
    assert "are the same file" in result.output
    assert not out.exists()
    assert no_computation == []


def test_report_out_json_collides_with_its_own_json(work: Path, no_computation) -> None:
    out = work / "r.json"
    result = run(
        "report", "program-belonging", "--responses", work / "responses.csv", "--id-column", "resident",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "the JSON beside --out" in result.output and "same file" in result.output
    assert not out.exists()
    assert no_computation == []


def test_export_refuses_to_write_over_the_instrument_file(tmp_path: Path, no_computation) -> None:
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_bytes(BUNDLED_YAML.read_bytes())
    before = digest(yaml_file)
    result = run("export", yaml_file, "--to", "html", "--out", yaml_file, "--force")
    assert result.exit_code == 1
    assert "is an instrument file" in result.output
    assert digest(yaml_file) == before
    assert no_computation == []


def test_continuity_refuses_to_write_over_the_schedule(work: Path, no_computation) -> None:
    schedule = work / "schedule.csv"
    before = digest(schedule)
    result = run("continuity", schedule, "--learner-column", "resident", "--report", schedule, "--force")
    assert result.exit_code == 1
    assert "--report" in result.output and "the schedule SCHEDULE" in result.output
    assert digest(schedule) == before
    assert no_computation == []


def test_qualtrics_notes_beside_the_out_file_cannot_be_an_input(tmp_path: Path, no_computation) -> None:
    notes = tmp_path / "survey.notes.md"
    texts = tmp_path / "texts.yaml"
    texts.write_text("{}\n", encoding="utf-8")
    notes.write_text("mine", encoding="utf-8")
    # survey.txt's notes would go to survey.notes.md, which here is not an input: existing -> refused.
    result = run("export", "program-belonging", "--to", "qualtrics", "--out", tmp_path / "survey.txt")
    assert result.exit_code == 1
    assert "the notes file beside --out" in result.output and "--force" in result.output
    assert notes.read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "survey.txt").exists()


def test_power_out_and_plot_cannot_be_one_file(tmp_path: Path, monkeypatch) -> None:
    import sdt_survey.power

    started = []
    monkeypatch.setattr(sdt_survey.power, "power_analysis", lambda *a, **k: started.append(a))
    same = tmp_path / "power.svg"
    result = run("power", "--grid", "n_programs=4,6", "--out", same, "--plot", same)
    assert result.exit_code == 1 and "are the same file" in result.output
    assert started == [] and not same.exists()


def test_report_refuses_when_the_json_beside_it_exists(work: Path, no_computation) -> None:
    (work / "r.json").write_text("{}", encoding="utf-8")
    result = run(
        "report", "program-belonging", "--responses", work / "responses.csv", "--id-column", "resident",
        "--out", work / "r.html",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "the JSON beside --out" in result.output and "already exists" in result.output
    assert (work / "r.json").read_text(encoding="utf-8") == "{}" and not (work / "r.html").exists()
    assert no_computation == []


# ----------------------------------------------------------------- existing outputs and --force


def test_an_existing_output_needs_force_and_is_refused_before_work(work: Path, no_computation) -> None:
    responses, out = work / "responses.csv", work / "scores.csv"
    out.write_text("my earlier scores\n", encoding="utf-8")
    before = digest(responses)
    result = run(*SCORE, responses, "--id-column", "resident", "--out", out)
    assert result.exit_code == 1
    assert f"--out {out} already exists" in result.output and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "my earlier scores\n"
    assert digest(responses) == before
    assert no_computation == []


@pytest.mark.parametrize(
    "command",
    [
        ("reliability", "program-belonging", "{responses}", "--id-column", "resident"),
        ("cohorts", "program-belonging", "{responses}", "--id-column", "resident", "--by", "program"),
        ("export", "program-belonging", "--to", "redcap"),
        ("continuity", "{schedule}", "--learner-column", "resident"),
    ],
)
def test_every_writing_command_refuses_an_existing_out(work: Path, command, no_computation) -> None:
    out = work / "existing.csv"
    out.write_text("keep me\n", encoding="utf-8")
    args = [a.format(responses=work / "responses.csv", schedule=work / "schedule.csv") for a in command]
    result = run(*args, "--out", out)
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert no_computation == []


def test_force_replaces_the_output_and_leaves_the_input(work: Path) -> None:
    responses, out = work / "responses.csv", work / "scores.csv"
    out.write_text("old\n", encoding="utf-8")
    before = digest(responses)
    result = run(*SCORE, responses, "--id-column", "resident", "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 18 and "program_belonging" in pd.read_csv(out)
    assert digest(responses) == before
    assert temporaries(work) == []


def test_python_writers_refuse_to_replace_without_overwrite(work: Path) -> None:
    scored = sdt_survey.score("program-belonging", work / "responses.csv", id_column="resident")
    out = scored.write(work / "scores.parquet")
    with pytest.raises(OutputError, match="already exists"):
        scored.write(out)
    scored.write(out, overwrite=True)
    assert len(pd.read_parquet(out)) == len(scored.scores)


# ----------------------------------------------------------------- folders


def test_missing_folders_are_created_by_every_command(work: Path) -> None:
    responses, schedule = work / "responses.csv", work / "schedule.csv"
    runs = {
        "score": (*SCORE, responses, "--id-column", "resident", "--out", work / "a" / "b" / "s.csv"),
        "continuity": ("continuity", schedule, "--learner-column", "resident", "--time-column",
                       "session_date", "--out", work / "c" / "d" / "c.csv"),
        "export": ("export", "program-belonging", "--to", "html", "--out", work / "e" / "f" / "form.html"),
        "reliability": ("reliability", "program-belonging", responses, "--id-column", "resident",
                        "--out", work / "g" / "h" / "rel.txt"),
        "simulate": ("simulate", "program-belonging", "--seed", "1", "--programs", "2",
                     "--out", work / "i" / "j"),
    }  # fmt: skip
    for name, args in runs.items():
        result = run(*args)
        assert result.exit_code == 0, (name, result.output)
    for made in ("a/b/s.csv", "c/d/c.csv", "e/f/form.html", "g/h/rel.txt", "i/j/responses.csv"):
        assert (work / made).is_file(), made
    assert temporaries(work) == []


def test_a_path_through_a_file_is_refused_before_work(work: Path, no_computation) -> None:
    blocker = work / "notes.txt"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    for args in (
        (*SCORE, work / "responses.csv", "--id-column", "resident", "--out", blocker / "s.csv"),
        ("continuity", work / "schedule.csv", "--out", blocker / "sub" / "c.csv"),
        ("simulate", "program-belonging", "--seed", "1", "--out", blocker / "sim"),
        ("demo", "--out", blocker / "demo"),
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert "is a file" in result.output, result.output
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder\n"
    assert no_computation == []


# ----------------------------------------------------------------- folder outputs


def test_reproschema_never_touches_a_users_files(tmp_path: Path) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / "notes.docx").write_bytes(b"the user's notes")
    (out / "README.md").write_text("# our study\n", encoding="utf-8")
    args = ("export", "program-belonging", "--to", "reproschema", "--out", out)
    refused = run(*args)
    assert refused.exit_code == 1
    assert "notes.docx" in refused.output and "--force" in refused.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "notes.docx"]

    forced = run(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.docx").read_bytes() == b"the user's notes"
    assert (out / "README.md").read_text(encoding="utf-8") == "# our study\n"
    assert "kept your README.md" in forced.output
    manifest = read_manifest(out)
    assert "README.md" not in manifest and "notes.docx" not in manifest
    assert "activities/program-belonging/program-belonging_schema" in manifest


def test_reproschema_re_export_replaces_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "study"
    assert (
        run(
            "export", "program-belonging", "continuity-exposure", "--to", "reproschema", "--out", out
        ).exit_code
        == 0
    )
    first = read_manifest(out)
    edited = out / "activities" / "continuity-exposure" / "continuity-exposure_schema"
    edited.write_text('{"edited": true}\n', encoding="utf-8")
    again = run("export", "program-belonging", "--to", "reproschema", "--out", out)
    assert again.exit_code == 1 and "--force" in again.output  # the folder holds an earlier export
    forced = run("export", "program-belonging", "--to", "reproschema", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    # The other instrument's unchanged files were the package's and are gone; the edited one stays.
    assert edited.read_text(encoding="utf-8") == '{"edited": true}\n'
    assert not (out / "activities" / "continuity-exposure" / "items").exists()
    assert "edited since" in forced.output
    second = read_manifest(out)
    assert set(second) < set(first) | set(second)
    assert all(not name.startswith("activities/continuity-exposure") for name in second)


def test_a_failed_reproschema_export_leaves_no_folder(tmp_path: Path, monkeypatch) -> None:
    from sdt_survey.platforms import reproschema

    calls = []

    def fail_late(path, document):
        calls.append(path)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")

    monkeypatch.setattr(reproschema, "_write_json", fail_late)
    with pytest.raises(OSError, match="No space"):
        sdt_survey.export_survey("program-belonging", "reproschema", tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_simulate_re_runs_into_its_own_folder_but_not_into_a_users(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ("simulate", "program-belonging", "--seed", "1", "--programs", "2", "--out", out)
    assert run(*args).exit_code == 0
    assert run(*args).exit_code == 0  # only its own earlier files: re-running needs no --force
    (out / "analysis.R").write_text("# mine\n", encoding="utf-8")
    refused = run(*args)
    assert refused.exit_code == 1 and "analysis.R" in refused.output
    assert run(*args, "--force").exit_code == 0
    assert (out / "analysis.R").read_text(encoding="utf-8") == "# mine\n"
    assert (out / "responses.csv").is_file() and (out / MANIFEST_NAME).is_file()


def test_demo_refuses_a_folder_of_the_users_before_work(tmp_path: Path, no_computation) -> None:
    (tmp_path / "thesis.tex").write_text("mine", encoding="utf-8")
    result = run("demo", "--out", tmp_path)
    assert result.exit_code == 1 and "thesis.tex" in result.output
    assert no_computation == []


def test_demo_re_runs_into_a_folder_of_its_own_files(tmp_path: Path, monkeypatch) -> None:
    import sdt_survey.demo

    out = tmp_path / "demo"
    assert run("simulate", "program-belonging", "--seed", "1", "--programs", "2", "--out", out).exit_code == 0
    calls = []

    class Done:
        def summary(self) -> str:
            return "done"

    def record(out_dir, progress=None, *, overwrite=False):
        calls.append((Path(out_dir), overwrite))
        return Done()

    monkeypatch.setattr(sdt_survey.demo, "run_demo", record)
    result = run("demo", "--out", out)
    assert result.exit_code == 0, result.output
    assert calls == [(out, False)]  # the package's own earlier files need no --force


# ----------------------------------------------------------------- atomicity in one process


def test_a_writer_failing_mid_write_leaves_the_old_file(work: Path, monkeypatch) -> None:
    scored = sdt_survey.score("program-belonging", work / "responses.csv", id_column="resident")
    out = work / "scores.csv"
    out.write_text("old, complete\n", encoding="utf-8")

    def half_then_fail(self, path, *args, **kwargs):
        Path(path).write_text("resident,program_bel", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        scored.write(out, overwrite=True)
    assert out.read_text(encoding="utf-8") == "old, complete\n"
    assert temporaries(work) == []


def test_a_multi_file_output_is_complete_or_absent(tmp_path: Path, monkeypatch) -> None:
    from sdt_survey.platforms import qualtrics

    out = tmp_path / "survey.txt"
    out.write_text("old survey", encoding="utf-8")

    def broken_notes(*args, **kwargs):
        raise RuntimeError("notes failed")

    monkeypatch.setattr(qualtrics, "_notes", broken_notes)
    with pytest.raises(RuntimeError):
        sdt_survey.export_survey("program-belonging", "qualtrics", out, overwrite=True)
    assert out.read_text(encoding="utf-8") == "old survey"
    assert not (tmp_path / "survey.notes.md").exists()
    assert temporaries(tmp_path) == []


def test_a_report_whose_json_fails_leaves_neither_file(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from sdt_survey.report import Report

    def broken_json() -> str:
        raise ValueError("NaN in the report")

    fake = SimpleNamespace(to_html=lambda: "<html></html>", to_json=broken_json)
    (tmp_path / "r.html").write_text("old page", encoding="utf-8")
    with pytest.raises(ValueError):
        Report.write(fake, tmp_path / "r.html", overwrite=True)
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_a_plot_is_written_atomically_and_not_over_a_file(tmp_path: Path) -> None:
    from sdt_survey._plots import finish_figure, pyplot

    target = tmp_path / "curve.svg"
    target.write_text("my drawing", encoding="utf-8")
    with pytest.raises(OutputError, match="already exists"):
        finish_figure(pyplot().figure(), target)
    assert target.read_text(encoding="utf-8") == "my drawing"
    finish_figure(pyplot().figure(), target, overwrite=True)
    assert target.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert temporaries(tmp_path) == []


def test_a_transaction_failing_on_its_second_file_creates_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "new" / "report.html", tmp_path / "new" / "report.json"
    with pytest.raises(ValueError), Transaction() as files:
        files.stage(first).write_text("<html>", encoding="utf-8")
        files.stage(second).write_text("{", encoding="utf-8")
        raise ValueError("the JSON could not be rendered")
    assert list(tmp_path.iterdir()) == []  # not even the folder made for them


def test_atomic_output_keeps_the_suffix_and_the_permissions(tmp_path: Path) -> None:
    target = tmp_path / "private.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    with atomic_output(target, overwrite=True) as temp:
        assert temp.suffix == ".csv" and temp.parent == tmp_path and TEMP_MARK in temp.name
        temp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o600


def test_folder_output_keeps_a_users_file_at_a_required_path(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="never replaced"), folder_output(out, overwrite=True) as stage:
        (stage.root / "data.csv").write_text("ours", encoding="utf-8")
        (stage.root / "other.csv").write_text("ours", encoding="utf-8")
    assert (out / "data.csv").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["data.csv"]


# ----------------------------------------------------------------- real processes, real signals


N_ROWS = 40_000


@pytest.fixture(scope="module")
def big_study(tmp_path_factory) -> tuple[Path, bytes]:
    """A response file large enough that writing its scores takes a moment, and the expected scores."""
    folder = tmp_path_factory.mktemp("big")
    items = [item.id for item in sdt_survey.load_instrument("program-belonging").items]
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(rng.integers(1, 6, size=(N_ROWS, len(items))), columns=items)
    frame.insert(0, "resident", [f"R{i:07d}" for i in range(N_ROWS)])
    responses = folder / "big.csv"
    frame.to_csv(responses, index=False)
    scored = sdt_survey.score("program-belonging", responses, id_column="resident", include_items=True)
    expected = scored.write(folder / "expected.csv").read_bytes()
    return responses, expected


def _start_score(responses: Path, out: Path) -> subprocess.Popen:
    code = "from sdt_survey.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-c", code, "score", "program-belonging", str(responses)]
    args += ["--id-column", "resident", "--include-items", "--out", str(out), "--force"]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_temporary(folder: Path, process: subprocess.Popen, limit: float = 60) -> bool:
    """Wait until the process starts writing (its temporary file appears); False if it finished first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if temporaries(folder):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    raise AssertionError("the score process neither wrote nor finished")


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["SIGKILL", "SIGINT", "SIGTERM"]
)
def test_killing_score_mid_write_leaves_a_whole_file(big_study, tmp_path: Path, sig) -> None:
    responses, expected = big_study
    old = b"resident,program_belonging\nR1,3.0\n" * 1000
    rng = np.random.default_rng(int(sig))
    # Several runs in parallel, each killed at a different moment: before, early in, and late in the write.
    delays = [None, 0.0, *rng.uniform(0.01, 0.4, size=1)]
    runs = []
    for n, delay in enumerate(delays):
        folder = tmp_path / f"run{n}"
        folder.mkdir()
        out = folder / "scores.csv"
        out.write_bytes(old)
        runs.append((folder, out, delay, _start_score(responses, out)))

    def interrupt(run) -> bool:
        """Send the signal at this run's moment; return whether its write had started."""
        folder, _, delay, process = run
        if delay is None:  # while still computing
            time.sleep(0.3)
            writing = False
        else:
            writing = _wait_for_temporary(folder, process)
            time.sleep(delay)
        process.send_signal(sig)
        process.wait(timeout=60)
        return writing

    # One thread per process, so that each is interrupted at its own moment of its own write.
    with ThreadPoolExecutor(len(runs)) as pool:
        writing = list(pool.map(interrupt, runs))
    for folder, out, _, _ in runs:
        content = out.read_bytes()
        assert content in (old, expected), f"{out}: {len(content)} bytes, neither the old nor the new file"
        if sig != signal.SIGKILL:  # only a hard kill can leave a temporary file behind
            assert temporaries(folder) == [], "an interrupted write must clean up its temporary file"
        assert [p.name for p in folder.iterdir() if TEMP_MARK not in p.name] == ["scores.csv"]
    # The test must really have interrupted writes, not only computations.
    assert sum(writing) >= 2, writing
