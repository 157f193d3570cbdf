"""The ``sdt-survey`` command line: a thin layer over the Python API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import SdtSurveyError
from .instrument import bundled_instruments, check_instrument, load_instrument, plural


def format_option(help: str, choices: tuple[str, ...] = ("text", "json")):
    """The ``--format`` option every command shares; ``text`` is the default."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default="text", show_default=True, help=help
    )


class _Group(click.Group):
    """Turns user errors into a message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SdtSurveyError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdt-survey")
def cli() -> None:
    """Measure residents' basic psychological needs and relate them to continuity.

    Instruments are YAML definitions (see docs/instrument-format.md). Bundled
    ones are named without a path, e.g. `bpn-residency`.

    \b
    Start here:
      sdt-survey demo                   run the whole pipeline on simulated data
      sdt-survey list                   the bundled instruments
      sdt-survey info bpn-residency     items, subscales, keys and languages
      sdt-survey validate my.yaml       check a definition of your own
    """


@cli.command("list")
@format_option("text for people, json for scripts.")
def list_command(fmt: str) -> None:
    """List the bundled instruments.

    Each can be named without a path wherever an INSTRUMENT is asked for, and
    copied as a starting point for your own (`sdt-survey info NAME --format
    yaml` prints its definition).
    """
    rows = []
    for name in bundled_instruments():
        inst = load_instrument(name)
        rows.append(
            {
                "name": name,
                "version": inst.version,
                "items": len(inst.items),
                "subscales": len(inst.subscales),
                "languages": list(inst.languages),
                "license": inst.license,
                "title": str(inst.title) if inst.title else "",
            }
        )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(
            f"{r['name']:<{width}}  {r['version']:<6} {plural(r['items'], 'item'):>9} "
            f"{plural(r['subscales'], 'subscale'):>12}  {','.join(r['languages']):<6} "
            f"{r['license']:<12} {r['title']}"
        )


@cli.command()
@click.argument("instrument")
@click.option("--lang", default=None, help="Language of the texts shown (default: the instrument's first).")
@format_option(
    "text: a readable summary; json/yaml: the whole definition; csv: one row per item.",
    choices=("text", "json", "yaml", "csv"),
)
def info(instrument: str, lang: str | None, fmt: str) -> None:
    """Show an instrument: items, subscales, reverse keys, branching and languages.

    INSTRUMENT is a YAML file or a bundled name (see `sdt-survey list`).

    \b
    Examples:
      sdt-survey info bpn-residency
      sdt-survey info bpn-residency --lang es
      sdt-survey info continuity-exposure --format csv > items.csv
    """
    inst = load_instrument(instrument)
    if lang is not None and lang not in inst.languages:
        raise SdtSurveyError(
            f"{inst.id} has no {lang!r} texts; its languages are {', '.join(inst.languages)}"
        )
    if fmt == "text":
        click.echo(inst.summary(lang))
    elif fmt == "json":
        click.echo(json.dumps(inst.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(inst.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(inst.to_frame(lang).to_csv(index=False), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True)
@format_option("text: one line per problem (FILE:LINE:COLUMN: field: message); json: a list.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(files: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Check instrument definitions and report every problem at once.

    Each problem is printed as FILE:LINE:COLUMN: path.to.field: message,
    pointing at the offending YAML node. Exits 0 when every file is valid and
    1 otherwise. FILES may also be bundled names.

    \b
    Examples:
      sdt-survey validate instruments/*.yaml
      sdt-survey validate my-instrument.yaml --format json
    """
    failed = False
    report = []
    for name in files:
        try:
            inst, problems = check_instrument(name)
        except SdtSurveyError as exc:
            inst, problems = None, []
            message = str(exc)
        else:
            message = None
        errors = [p for p in problems if p.severity == "error" or strict]
        ok = inst is not None and not errors and message is None
        failed |= not ok
        if fmt == "json":
            report.append(
                {
                    "file": name,
                    "valid": ok,
                    "id": inst.id if inst else None,
                    "version": inst.version if inst else None,
                    "problems": [p.to_dict() for p in problems]
                    + ([{"file": name, "message": message, "severity": "error"}] if message else []),
                }
            )
            continue
        if message:
            click.echo(message)
        for problem in problems:
            click.echo(str(problem))
        if ok:
            click.echo(
                f"{name}: valid: {inst.id} {inst.version}, {plural(len(inst.items), 'item')}, "
                f"{plural(len(inst.subscales), 'subscale')}, "
                f"{plural(len(inst.composites), 'composite')}, "
                f"languages {', '.join(inst.languages)}"
            )
        else:
            n = len(errors) + (1 if message else 0)
            click.echo(f"{name}: invalid ({plural(n, 'problem')})")
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    sys.exit(1 if failed else 0)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sdt-survey-demo"),
    show_default=True,
    help="Folder for every output.",
)
def demo(out_dir: Path) -> None:
    """Run every stage of the pipeline on an embedded default, no data needed.

    Writes each stage's outputs under --out and prints where they went. As
    capabilities land (simulation, scoring, export, reliability, factor
    analysis, continuity, models, cohorts, report) they join the demo.
    """
    from .demo import run_demo

    result = run_demo(out_dir, progress=lambda message: click.echo(message, err=True))
    click.echo(result.summary())


def main() -> None:
    cli(prog_name="sdt-survey")
