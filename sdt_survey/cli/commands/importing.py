"""Importing instruments programs already have: ``sdt-survey import``."""

from __future__ import annotations

import click

from ..options import FORMAT_OUTPUT, emit
from ..support import check_files, force_option


@click.command(name="import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The instrument definition (YAML) to write.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the report (one 'FILE:ROW: field: what and why' line each) to this file.",
)
@click.option(
    "--platform",
    type=click.Choice(["redcap", "xlsform", "qualtrics"]),
    default=None,
    help="The file's platform (default: recognized from the file).",
)
@click.option(
    "--id",
    "instrument_id",
    default=None,
    help="The new instrument's id (default: from the --out file's name).",
)
@force_option()
@FORMAT_OUTPUT
def import_command(
    path: str,
    out_path: str,
    report_path: str | None,
    platform: str | None,
    instrument_id: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Import an instrument from a REDCap data dictionary, an XLSForm or a Qualtrics .qsf.

    Reads FILE's questions with their types, choices, labels in every
    language, required flags, hints, identifier flags, ranges, sections and
    branching, and writes them as an instrument definition. Runs of
    questions sharing integer-coded choices become Likert items on one scale;
    add subscales and reverse keys to the file, then `sdt-survey validate`
    it. Everything the instrument format cannot hold (calculated fields,
    action tags, piping, uploads, repeats, logic with no equivalent) is
    printed as 'FILE:ROW: field: what was left out and why', never dropped
    silently.

    \b
    Examples:
      sdt-survey import redcap_dictionary.csv --out wellbeing.yaml
      sdt-survey import intake_form.xlsx --out intake.yaml --report intake-import.txt
      sdt-survey import survey.qsf --out climate.yaml --id learning-climate-local
    """
    from ...platforms.importing import import_instrument

    check_files({"--out": out_path, "--report": report_path}, {"the imported file": path}, force=force)
    result = import_instrument(
        path,
        platform=platform,
        instrument_id=instrument_id,
        out=out_path,
        report=report_path,
        overwrite=force,
    )
    emit(result, fmt)
