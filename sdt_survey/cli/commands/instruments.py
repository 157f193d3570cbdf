"""The instrument commands: list, info, validate."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    pass

from ..._spreadsheet_safe import write_csv
from ..._terminal import terminal_text
from ...errors import SdtSurveyError
from ...instrument import bundled_instruments, check_instrument, load_instrument, plural
from ..options import (
    format_option,
)


@click.command("list")
@format_option("table for people; json or csv (one row per instrument) for scripts.")
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
    if fmt == "csv":
        import pandas as pd

        table = pd.DataFrame(rows).assign(languages=lambda t: t["languages"].map(" ".join))
        click.echo(write_csv(table, index=False), nl=False)
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(
            f"{r['name']:<{width}}  {r['version']:<6} {plural(r['items'], 'item'):>9} "
            f"{plural(r['subscales'], 'subscale'):>12}  {','.join(r['languages']):<6} "
            f"{r['license']:<12} {r['title']}"
        )


@click.command()
@click.argument("instrument")
@click.option("--lang", default=None, help="Language of the texts shown (default: the instrument's first).")
@format_option(
    "table: a readable summary; json/yaml: the whole definition; csv: one row per item.",
    extra=("yaml",),
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
    if fmt == "table":
        click.echo(terminal_text(inst.summary(lang)))
    elif fmt == "json":
        click.echo(json.dumps(inst.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(inst.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(write_csv(inst.to_frame(lang), index=False), nl=False)


@click.command()
@click.argument("files", nargs=-1, required=True)
@format_option(
    "table: one line per problem (FILE:LINE:COLUMN: field: message); json: a list per file; "
    "csv: one row per problem."
)
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
        if fmt != "table":
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
    elif fmt == "csv":
        import pandas as pd

        rows = [
            {"file": entry["file"], "valid": entry["valid"], **problem}
            for entry in report
            for problem in (entry["problems"] or [{}])
        ]
        click.echo(write_csv(pd.DataFrame(rows), index=False), nl=False)
    sys.exit(1 if failed else 0)
