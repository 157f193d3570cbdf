"""The README's tour, run exactly as written: every shell command of it, in order, through the CLI.

The commands are read from the README (the ``bash`` block under "A short tour"), not copied here, so a
command that the README gets wrong fails this test. They run in a temporary folder that holds what the
tour assumes a user has: an instrument of their own (``my-instrument.yaml``), a REDCap export
(``export.csv``, ids in ``record_id``), two waves (``wave1.csv``, ``wave2.csv``, ids in ``resident``)
and the clinic schedule (``schedule.csv``), all made by the simulator (made here with the Python API,
so that the tour's own ``simulate`` command is tested as written). Nothing needs a network; a command
that needs Chromium (PDF) is skipped when none is installed, and says so.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CHROMIUM, VALID
from sdt_survey.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def tour_commands(text: str) -> list[str]:
    """The shell commands of the README's tour: continuation lines joined, comments and blanks dropped.

    Every ``bash`` block of the section, in order (the study first, then single commands).
    """
    section = re.split(r"\n## ", text.split("## A short tour", 1)[1], maxsplit=1)[0]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()]
    commands, current = [], ""
    for line in lines:
        stripped = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
        if not stripped.strip() and not current:
            continue
        current += " " + stripped.strip() if current else stripped.strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        if current:
            commands.append(current)
        current = ""
    return commands


def needs_chromium(args: list[str]) -> bool:
    return "--to" in args and args[args.index("--to") + 1] == "pdf"


@pytest.fixture
def tour_folder(tmp_path, monkeypatch):
    from sdt_survey.simulate import simulate

    monkeypatch.setenv("SDT_SURVEY_LEDGER", str(tmp_path / "ledger" / "releases.json"))
    monkeypatch.chdir(tmp_path)
    sim = simulate("bpn-residency", seed=11, n_programs=6, residents_per_program=(20, 30), n_waves=2)
    responses = sim.responses
    responses[responses["wave"] == 1].to_csv("wave1.csv", index=False)
    responses[responses["wave"] == 2].to_csv("wave2.csv", index=False)
    export = responses[responses["wave"] == 1].rename(columns={"resident": "record_id"}).drop(columns="wave")
    export.to_csv("export.csv", index=False)
    sim.schedule.to_csv("schedule.csv", index=False)
    Path("my-instrument.yaml").write_text(VALID, encoding="utf-8")
    return tmp_path


def test_the_readme_tour_runs_as_written(tour_folder):
    commands = tour_commands(README.read_text(encoding="utf-8"))
    assert len(commands) >= 20, commands
    runner = CliRunner()
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "sdt-survey", command
        if needs_chromium(args) and not CHROMIUM.exists():
            continue  # PDF needs Chromium: apt-get install chromium
        result = runner.invoke(cli, args[1:])
        assert result.exit_code == 0, f"README command failed: {command}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), command


def test_tour_commands_are_read_from_the_readme():
    text = "## A short tour\n```bash\nsdt-survey a x  # note\n# comment\n\nsdt-survey b \\\n    --c d\n```\n"
    assert tour_commands(text) == ["sdt-survey a x", "sdt-survey b --c d"]
    two = text + "text\n```bash\nsdt-survey e\n```\n## Next\n```bash\nsdt-survey f\n```\n"
    assert tour_commands(two) == ["sdt-survey a x", "sdt-survey b --c d", "sdt-survey e"]
