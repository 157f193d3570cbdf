"""Scoring responses: score."""

from __future__ import annotations

import click

from ..._terminal import terminal_text
from ..messages import cli_message
from ..options import (
    FORMAT_OUTPUT,
    emit,
    parse_thresholds,
    reading_options,
    sheet_value,
    split_instruments_and_file,
    verbose,
)
from ..support import check_files, existing_files, force_option


@click.command(name="score")
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Scored table: .csv, .tsv, .parquet, .sav (with variable labels) or .json.",
)
@reading_options
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the data-quality report (every problem and decision) as .csv or .json.",
)
@click.option(
    "--zscores",
    default=None,
    metavar="sample|NORMS.yaml",
    help="Add <score>_z columns against the sample or a norms file {score: {mean, sd}}.",
)
@click.option(
    "--flag-careless",
    is_flag=True,
    help="Add careless-responding flags (longstring, irv, evenodd, mahalanobis, speed).",
)
@click.option(
    "--careless-threshold",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a flag threshold, e.g. evenodd=0.2 (see docs/scoring.md).",
)
@click.option(
    "--exclude-flagged",
    is_flag=True,
    help="Remove respondents flagged as careless; each removal is listed in the report.",
)
@click.option(
    "--pseudonymize",
    "key_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="KEYFILE",
    help="Replace respondent ids by a keyed hash (HMAC-SHA256) in every output: scores, report and "
    "messages. KEYFILE must exist: make it once with `sdt-survey keygen KEYFILE` and reuse it at "
    "every wave so pseudonyms link. Needs --id-column.",
)
@click.option(
    "--allow-shared-key",
    is_flag=True,
    help="Accept a key file that other users can read or write (refused by default: whoever reads "
    "the key can recompute every pseudonym).",
)
@click.option(
    "--identifier",
    "identifiers",
    multiple=True,
    metavar="COL",
    help="A column holding a direct identifier, dropped from the output. Columns named like one "
    "(name, correo, telefono, notes, ...) or whose values look like e-mails, phone numbers, dates of "
    "birth, personal names or free text are found without it.",
)
@click.option(
    "--keep-identifiers",
    is_flag=True,
    help="Keep the columns taken for identifiers in the output (the report lists them and why).",
)
@click.option(
    "--include-items",
    is_flag=True,
    help="Also write the validated item values (item_<id>); every command reads such a scores file back "
    "as responses.",
)
@click.option(
    "--qualtrics-status",
    type=click.Choice(["default", "exclude", "keep"]),
    default="default",
    show_default=True,
    help="Records a Qualtrics export marks (Status: survey preview, test, spam; Finished = 0). default: "
    "exclude previews, tests and spam, keep unfinished responses flagged in response_status; exclude: "
    "exclude all; keep: keep all, flagged. The decision and its counts are in the report.",
)
@force_option()
@FORMAT_OUTPUT
def score_command(
    args: tuple[str, ...],
    out_path: str,
    id_column: str | None,
    wave_column: str | None,
    source: str,
    mapping: str | None,
    invalid: str,
    duplicates: str,
    report_path: str | None,
    zscores: str | None,
    flag_careless: bool,
    careless_threshold: tuple[str, ...],
    exclude_flagged: bool,
    key_file: str | None,
    allow_shared_key: bool,
    identifiers: tuple[str, ...],
    keep_identifiers: bool,
    include_items: bool,
    qualtrics_status: str,
    sheet: str | None,
    drift: str,
    force: bool,
    fmt: str,
) -> None:
    """Validate every cell of a response file and score it.

    Reads CSV/TSV, Excel, SPSS .sav, Stata .dta, Parquet, JSON lines, and the
    exports of REDCap (raw or labels), Qualtrics (three header rows), ODK/Kobo
    (group prefixes) and the sdt-survey HTML form. Reverse keys are applied
    (min + max - x), subscales scored by their method and min_valid rule, and
    composites computed.

    Every problem is reported with its row (as in the file), respondent,
    column, value and what is wrong. By default any invalid cell stops the run
    (exit 1) and nothing is written; --invalid as-missing sets invalid cells
    to missing and goes on, still listing each one. The terminal shows the
    count of each kind of problem with examples (every line with --verbose);
    --report FILE holds them all. The input is never modified. Before
    scoring, the file is compared with the definition (drift: added, missing
    or renamed columns, changed choices, branching, a stamp of another
    version); after it, each item's data are checked against its declared
    key (a warning names an item that runs against it).

    \b
    Examples:
      sdt-survey score bpn-residency wave1.csv --id-column resident --out scores.csv
      sdt-survey score bpn-residency continuity-exposure export.csv --source redcap \\
          --id-column record_id --out scores.sav --report quality.csv
      sdt-survey score bpn-residency survey.xlsx --sheet data --id-column resident --out scores.csv
      sdt-survey score bpn-residency wave1.csv --invalid as-missing --flag-careless \\
          --pseudonymize program.key --id-column resident --out scores.parquet
    """
    from ...responses import ResponseValidationError
    from ...scoring import score
    from ...scoring.streaming import score_streaming

    instruments, responses_path = split_instruments_and_file(args)
    check_files(
        {"--out": out_path, "--report": report_path},
        {
            "the response file RESPONSES": responses_path,
            "an instrument file": existing_files(instruments),
            "the --map file": mapping,
            "the --zscores norms file": None if zscores in (None, "sample") else zscores,
            "the --pseudonymize key file": key_file,
        },
        force=force,
    )
    options = {
        "id_column": id_column,
        "wave_column": wave_column,
        "source": source,
        "mapping": mapping,
        "invalid": invalid,
        "duplicates": duplicates,
        "zscores": zscores,
        "flag_careless": flag_careless,
        "exclude_flagged": exclude_flagged,
        "careless_thresholds": parse_thresholds(careless_threshold),
        "pseudonymize_key": key_file,
        "allow_shared_key": allow_shared_key,
        "identifiers": identifiers,
        "keep_identifiers": keep_identifiers,
        "include_items": include_items,
        "sheet": sheet_value(sheet),
        "qualtrics_status": qualtrics_status,
        "drift": drift,
    }
    # A large plain file is scored a block of rows at a time (the same files and text, in bounded memory).
    streamed = (
        score_streaming(instruments, responses_path, out_path, report=report_path, overwrite=force, **options)
        if fmt == "table" and not verbose()
        else None
    )
    if streamed is not None:
        click.echo(terminal_text(cli_message(streamed.report.summary(verbose=False))))
        written = {"scores": streamed.path}
        if report_path:
            written["data-quality report"] = streamed.report_path
        emit(streamed, fmt, written)
        return
    try:
        scored = score(instruments, responses_path, **options)
    except ResponseValidationError as exc:
        if report_path:
            exc.report.write(report_path, overwrite=force)
            click.echo(f"data-quality report: {report_path}", err=True)
        raise
    if fmt == "table":
        click.echo(terminal_text(cli_message(scored.report.summary(verbose=verbose()))))
    written = {"scores": scored.write(out_path, overwrite=force)}
    if report_path:
        written["data-quality report"] = scored.report.write(report_path, overwrite=force)
    emit(scored, fmt, written)
