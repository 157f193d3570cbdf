"""Studies: init (write a commented study.yaml) and clean (the intake, once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ...files import write_text
from ...platforms import SOURCES
from ..group import cli
from ..options import FORMAT_OUTPUT, emit
from ..support import check_files

DEFAULTS = {
    "instruments": "bpn-residency",
    "waves": "responses_w1.csv, responses_w2.csv",
    "id_column": "resident",
    "by": "program",
    "schedule": "",
    "invalid": "as-missing",
    "duplicates": "keep-first",
}


def _fill(answers: dict[str, str]) -> str:
    from ...study import TEMPLATE

    instruments = [s.strip() for s in answers["instruments"].split(",") if s.strip()]
    files = [s.strip() for s in answers["waves"].split(",") if s.strip()]
    waves = "\n".join(f"  - file: {f}\n    wave: {i}\n    source: auto" for i, f in enumerate(files, 1))
    if answers["schedule"]:
        schedule = (
            f"schedule:\n  file: {answers['schedule']}\n  learner_column: {answers['id_column']}\n"
            "  faculty_column: faculty\n  time_column: session_date\n  assigned_column: assigned\n"
            "  setting_column: setting\n  setting: null\n  window: null"
        )
    else:
        schedule = (
            "# schedule:\n#   file: schedule.csv\n#   learner_column: resident\n#   faculty_column: faculty\n"
            "#   time_column: session_date\n#   assigned_column: assigned\n#   setting_column: setting"
        )
    return TEMPLATE.format(
        name="study.yaml",
        instruments="\n".join(f"  - {i}" for i in instruments),
        sources=", ".join(SOURCES),
        waves=waves,
        id_column=answers["id_column"],
        by=", ".join(s.strip() for s in answers["by"].split(",") if s.strip()),
        schedule=schedule,
        invalid=answers["invalid"],
        duplicates=answers["duplicates"],
    )


@cli.command(name="init")
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--yes", "-y", is_flag=True, help="Ask nothing: write the defaults (for scripts).")
@click.option("--force", is_flag=True, help="Replace an existing study.yaml.")
@FORMAT_OUTPUT
def init_command(folder: str, yes: bool, force: bool, fmt: str) -> None:
    """Write a commented study.yaml in FOLDER (default: here) to edit, then clean.

    At a terminal it asks for the instruments, the wave files, the id,
    grouping and schedule columns and the cleaning decisions; with --yes, or
    when not at a terminal, it asks nothing and writes the defaults, each
    explained in a comment. An existing study.yaml is never replaced
    without --force.

    \b
    Examples:
      sdt-survey init my-study
      sdt-survey init my-study --yes
    """
    path = Path(folder) / "study.yaml"
    check_files({"the study file": path}, {}, force=force)
    answers = dict(DEFAULTS)
    if not yes and sys.stdin.isatty():
        for key, prompt in (
            ("instruments", "Instruments (bundled names or paths, comma-separated)"),
            ("waves", "Response files, one per wave (comma-separated)"),
            ("id_column", "Respondent id column"),
            ("by", "Grouping columns for leaders (comma-separated)"),
            ("schedule", "Clinic schedule file (empty: none)"),
        ):
            answers[key] = click.prompt(prompt, default=answers[key], show_default=True)
        answers["invalid"] = click.prompt(
            "Invalid values", default=answers["invalid"], type=click.Choice(["error", "as-missing"])
        )
        answers["duplicates"] = click.prompt(
            "Repeated ids within a wave",
            default=answers["duplicates"],
            type=click.Choice(["error", "keep-all", "keep-first", "keep-last"]),
        )
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_text(path, _fill(answers), overwrite=force)
    if fmt == "table":
        click.echo(f"wrote {path}: edit it, then run `sdt-survey clean {path}`")
    else:
        click.echo(json.dumps({"study": str(path)}) if fmt == "json" else f"study\n{path}")


@cli.command(name="clean")
@click.argument("study_path", metavar="STUDY.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Clean again even when no input changed.")
@FORMAT_OUTPUT
def clean_command(study_path: str, force: bool, fmt: str) -> None:
    """Read, validate and score every wave of a study once: the analysis data set and its manifest.

    Applies the study's cleaning decisions (invalid values, duplicates,
    careless responding, identifiers, pseudonymization) and writes, in the
    study's outputs folder, the analysis data set (Parquet) and manifest.json:
    the package version, the SHA-256 of the study file and of every
    instrument and input file, every decision with the rows it touched, and
    the quality report (quality.csv lists every line). Run again with
    unchanged inputs, it does nothing and says so; a changed input is named.

    \b
    Examples:
      sdt-survey clean study.yaml
      sdt-survey clean study.yaml --format json
    """
    from ...study import Study

    result = Study.load(study_path).clean(force=force)
    emit(result, fmt)
