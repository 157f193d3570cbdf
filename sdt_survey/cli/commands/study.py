"""Studies: init (write a commented study.yaml) and clean (the intake, once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..options import FORMAT_OUTPUT, emit
from ..support import check_files


@click.command(name="init")
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
    from ...study.template import DEFAULTS, write_study_file

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
    write_study_file(
        folder,
        **{k: answers[k] for k in ("instruments", "waves", "id_column", "by", "schedule")},
        invalid=answers["invalid"],
        duplicates=answers["duplicates"],
        overwrite=force,
    )
    if fmt == "table":
        click.echo(f"wrote {path}: edit it, then run `sdt-survey clean {path}`")
    else:
        click.echo(json.dumps({"study": str(path)}) if fmt == "json" else f"study\n{path}")


@click.command(name="clean")
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
