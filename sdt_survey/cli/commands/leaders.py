"""What leaders read: cohorts, report."""

from __future__ import annotations

from pathlib import Path

import click

from ...instrument import bundled_instruments
from ..options import (
    DUPLICATES_OPTION,
    ENCODING_OPTION,
    FORMAT_OUTPUT,
    INVALID_OPTION,
    OUT_FILE,
    QUIET_OPTION,
    SHEET_OPTION,
    SOURCE_OPTION,
    TIME_COLUMN_HELP,
    VERBOSE_OPTION,
    emit,
    ledger_argument,
    ledger_options,
    render,
    sheet_value,
    split_instruments_and_files,
    study_option,
    write_or_echo,
)
from ..support import check_files, existing_files, force_option


@click.command(name="cohorts")
@study_option
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES...")
@click.option("--id-column", required=True, help="Respondent id column (never shown in the output).")
@click.option(
    "--by",
    "by",
    required=True,
    metavar="COL[,COL]",
    help="Grouping columns, e.g. program,pgy,cohort,clinic (each is its own breakdown).",
)
@click.option(
    "--wave-column",
    default=None,
    help="Wave column; without one, the order of the response files gives waves 1, 2, ...",
)
@click.option(
    "--min-cell",
    type=click.IntRange(min=3),
    default=5,
    show_default=True,
    help="Smallest group whose figures are shown (3 or more); smaller ones, and any cell that "
    "would reveal them, are suppressed.",
)
@click.option("--no-invariance", is_flag=True, help="Skip the measurement-invariance check.")
@ledger_options
@SOURCE_OPTION
@ENCODING_OPTION
@SHEET_OPTION
@VERBOSE_OPTION
@INVALID_OPTION
@DUPLICATES_OPTION
@FORMAT_OUTPUT
@OUT_FILE
def cohorts_command(
    args: tuple[str, ...],
    id_column: str,
    by: str,
    wave_column: str | None,
    min_cell: int,
    no_invariance: bool,
    ledger_path: str | None,
    no_ledger: bool,
    source: str,
    sheet: str | None,
    invalid: str,
    duplicates: str,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Belonging and every other score by cohort, group and wave, safe to show leaders.

    Reads and scores each response file as `sdt-survey score` does (several
    files are several waves), then reports n, mean, SD, 95% CI and the share
    above and below the scale midpoint of every subscale and composite by
    each grouping column and wave, with "all" rows; changes between waves
    (paired where ids link, a mixed model otherwise) and trends per cohort.
    Before comparisons, the measurement-invariance check says whether means
    may be compared, or that there are too few respondents to test.

    Privacy: figures resting on fewer than --min-cell respondents are
    suppressed, with complementary suppression so that no suppressed figure
    can be recovered from totals, margins or other waves; suppressed cells
    are marked, not omitted. No ids, free text or respondent-level rows
    reach the output. Across runs, the release ledger remembers every cell
    shown: a later run on the same respondents (another --by, a late
    respondent, another wave) hides more until comparing the outputs reveals
    nothing, and --min-cell can be raised but never lowered. See
    docs/privacy.md.

    \b
    Examples:
      sdt-survey cohorts bpn-residency wave1.csv wave2.csv --id-column resident --by program,pgy
      sdt-survey cohorts bpn-residency waves.csv --id-column resident --by cohort --wave-column wave \\
          --min-cell 10 --format json --out cohorts.json
    """
    from ...cohorts import cohort_summary

    instruments, files = split_instruments_and_files(args)
    check_files(
        {"--out": out_path},
        {"a response file": files, "an instrument file": existing_files(instruments)},
        force=force,
    )
    report = cohort_summary(
        instruments,
        files if len(files) > 1 else files[0],
        id_column=id_column,
        by=[c.strip() for c in by.split(",") if c.strip()],
        wave_column=wave_column,
        min_cell=min_cell,
        invariance=not no_invariance,
        ledger=ledger_argument(ledger_path, no_ledger),
        source=source,
        sheet=sheet_value(sheet),
        invalid=invalid,
        duplicates=duplicates,
    )
    write_or_echo(render(report, fmt), out_path, "cohorts", force)


@click.command(name="report")
@study_option
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option(
    "--responses",
    "responses",
    multiple=True,
    required=True,
    metavar="FILE...",
    help="Response files, one per wave (--responses w1.csv w2.csv).",
)
@click.option("--id-column", required=True, help="Respondent id column (never shown in the report).")
@click.option("--by", default=None, metavar="COL[,COL]", help="Grouping columns for cohorts and invariance.")
@click.option(
    "--wave-column", default=None, help="Wave column (default: 'wave', else the order of the files)."
)
@click.option(
    "--min-cell",
    type=click.IntRange(min=3),
    default=5,
    show_default=True,
    help="Smallest group whose figures are shown (3 or more).",
)
@click.option(
    "--schedule",
    "schedule",
    type=click.Path(dir_okay=False),
    default=None,
    help="Clinic schedule (one row per session) for the continuity section.",
)
@click.option("--learner-column", default=None, help="Schedule: learner column (default: the id column).")
@click.option("--faculty-column", default="faculty", show_default=True, help="Schedule: faculty column.")
@click.option("--time-column", default=None, help="Schedule: " + TIME_COLUMN_HELP)
@click.option("--assigned-column", default=None, help="Schedule: designated preceptor column (for UPC).")
@click.option("--setting-column", default=None, help="Schedule: setting column.")
@click.option("--setting", default=None, help="Schedule: keep only this setting (e.g. clinic).")
@click.option("--window", default=None, help="Schedule: academic-year, block:N or DATE..DATE.")
@click.option("--formula", default=None, help="Model of a score against continuity, in lme4 syntax.")
@click.option(
    "--title",
    default=None,
    help="The report's title (default: the instruments' titles, then 'survey report').",
)
@ledger_options
@SOURCE_OPTION
@ENCODING_OPTION
@SHEET_OPTION
@VERBOSE_OPTION
@INVALID_OPTION
@DUPLICATES_OPTION
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The HTML report; the same content is written as JSON beside it (same name, .json).",
)
@force_option("Replace the report and its JSON if they exist (both are written together, or neither).")
@QUIET_OPTION
@FORMAT_OUTPUT
def report_command(
    args: tuple[str, ...],
    responses: tuple[str, ...],
    id_column: str,
    by: str | None,
    wave_column: str | None,
    min_cell: int,
    schedule: str | None,
    learner_column: str | None,
    faculty_column: str,
    time_column: str | None,
    assigned_column: str | None,
    setting_column: str | None,
    setting: str | None,
    window: str | None,
    formula: str | None,
    title: str | None,
    ledger_path: str | None,
    no_ledger: bool,
    source: str,
    sheet: str | None,
    invalid: str,
    duplicates: str,
    out_path: str,
    force: bool,
    fmt: str,
) -> None:
    """One self-contained HTML report for leaders and statisticians (and its JSON).

    Item response distributions, reliability, CFA fit and measurement
    invariance, the continuity dose-response (with --schedule), cohort trends
    across waves and a data-quality summary; each section says what its
    numbers mean and the command that reproduces them. No network requests,
    images embedded. Privacy: no ids, free text or cells below --min-cell
    reach the report, with complementary suppression, held across runs by
    the release ledger as for `sdt-survey cohorts` (docs/privacy.md).

    \b
    Examples:
      sdt-survey report bpn-residency --responses wave1.csv wave2.csv --id-column resident \\
          --by pgy --out report.html
      sdt-survey report bpn-residency --responses wave1.csv --id-column resident \\
          --schedule schedule.csv --time-column session_date --assigned-column assigned --out report.html
    """
    from ...report import build_report

    instruments, extra_files = [], []
    bundled = set(bundled_instruments())
    for arg in args:  # `--responses a.csv b.csv` leaves b.csv among the positional arguments
        is_instrument = arg in bundled or arg.lower().endswith((".yaml", ".yml"))
        (extra_files if extra_files or not is_instrument else instruments).append(arg)
    if not instruments:
        raise click.UsageError("name one or more instruments")
    files = [*responses, *extra_files]
    html_path = Path(out_path)
    check_files(
        {"--out": html_path, "the JSON beside --out": html_path.with_suffix(".json")},
        {
            "a response file": files,
            "an instrument file": existing_files(instruments),
            "the --schedule file": schedule,
        },
        force=force,
    )
    schedule_options = {
        "learner_column": learner_column or id_column,
        "faculty_column": faculty_column,
        "time_column": time_column,
        "assigned_column": assigned_column,
        "setting_column": setting_column,
        "setting": setting,
        "window": window,
    }
    report = build_report(
        instruments,
        files if len(files) > 1 else files[0],
        id_column=id_column,
        by=[c.strip() for c in (by or "").split(",") if c.strip()],
        wave_column=wave_column,
        schedule=schedule,
        schedule_options={k: v for k, v in schedule_options.items() if v is not None},
        min_cell=min_cell,
        formula=formula,
        title=title,
        ledger=ledger_argument(ledger_path, no_ledger),
        source=source,
        sheet=sheet_value(sheet),
        invalid=invalid,
        duplicates=duplicates,
    )
    html_path, json_path = report.write_pair(html_path, overwrite=force)
    emit(report, fmt, {"report": html_path, "json": json_path})
