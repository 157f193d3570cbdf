"""The ``sdt-survey`` command line: a thin layer over the Python API."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from ._finite import non_finite_part
from ._options import FiniteFloat, WorkerCount
from ._spreadsheet_safe import write_csv
from ._terminal import terminal_text
from ._version import __version__
from .cli_support import check_files, existing_files, force_option, unwind_on_sigterm
from .errors import SdtSurveyError
from .export import TARGETS
from .instrument import bundled_instruments, check_instrument, load_instrument, plural
from .responses import INVALID_POLICIES, SOURCES, ResponseValidationError


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
            # Messages quote the user's input; no control character of it reaches the terminal.
            click.secho(f"error: {terminal_text(str(exc))}", fg="red", err=True)
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
        click.echo(terminal_text(inst.summary(lang)))
    elif fmt == "json":
        click.echo(json.dumps(inst.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(inst.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
    else:
        click.echo(write_csv(inst.to_frame(lang), index=False), nl=False)


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


def _split_instruments_and_file(args: tuple[str, ...], what: str = "RESPONSES") -> tuple[list[str], str]:
    if len(args) < 2:
        raise click.UsageError(f"give one or more instruments, then the {what} file")
    return list(args[:-1]), args[-1]


def _parse_thresholds(pairs: tuple[str, ...]) -> dict[str, float]:
    thresholds = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{pair!r}: expected NAME=NUMBER", param_hint="--careless-threshold"
            ) from None
        if not math.isfinite(thresholds[name.strip()]):
            raise click.BadParameter(
                f"{pair!r}: the threshold must be a finite number", param_hint="--careless-threshold"
            )
    return thresholds


SOURCE_OPTION = click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="auto",
    show_default=True,
    help="The platform that exported the file(s); auto detects it and says why.",
)
INVALID_OPTION = click.option(
    "--invalid",
    type=click.Choice(INVALID_POLICIES),
    default="error",
    show_default=True,
    help="error: report every invalid cell and stop; as-missing: set them to missing, report each, "
    "and go on.",
)


LEDGER_OPTIONS = (
    click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="The release ledger: every cell shown to leaders is recorded there, and later runs on the "
        "same respondents hide more so that comparing outputs reveals nothing new. Default: "
        "$SDT_SURVEY_LEDGER, else your data folder; name a shared file to protect a team's releases.",
    ),
    click.option(
        "--no-ledger",
        is_flag=True,
        help="Protect this output on its own only: nothing stops comparing it with another run's "
        "output (see docs/privacy.md).",
    ),
)


def ledger_options(function):
    """``--ledger`` and ``--no-ledger``, for every command that releases figures to leaders."""
    for option in reversed(LEDGER_OPTIONS):
        function = option(function)
    return function


def _ledger_argument(ledger_path: str | None, no_ledger: bool) -> str | bool | None:
    if no_ledger and ledger_path:
        raise click.UsageError("give --ledger or --no-ledger, not both")
    return None if no_ledger else (ledger_path or True)


def _state_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from .responses import text_encoding

    try:
        # Held until the command ends: every CSV/TSV/JSON it reads is decoded as stated.
        ctx.with_resource(text_encoding(value))
    except SdtSurveyError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


ENCODING_OPTION = click.option(
    "--encoding",
    default=None,
    expose_value=False,
    callback=_state_encoding,
    metavar="NAME",
    help="Encoding of CSV, TSV and JSON inputs that are not UTF-8, e.g. cp1252 (Excel on Windows) or "
    "latin-1. By default a byte-order mark decides, else UTF-8, else cp1252 when no bytes are "
    "UTF-8; a file mixing UTF-8 with another encoding is refused, naming the lines.",
)


def reading_options(function):
    """Options shared by every command that reads and scores responses."""
    options = [
        click.option("--id-column", default=None, help="Respondent id column (checked for duplicates)."),
        click.option(
            "--wave-column",
            default=None,
            help="Wave column: an id may repeat once per wave (default: 'wave' or 'redcap_event_name').",
        ),
        SOURCE_OPTION,
        ENCODING_OPTION,
        click.option(
            "--map",
            "mapping",
            type=click.Path(dir_okay=False),
            default=None,
            help="YAML file mapping column names to item ids (columns: {Q5_1: as1}).",
        ),
        INVALID_OPTION,
        click.option(
            "--duplicates",
            type=click.Choice(["error", "keep-all", "keep-first", "keep-last"]),
            default="error",
            show_default=True,
            help="A respondent id repeated within a wave: stop, keep all (flagged), or keep one.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command(name="score")
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
@click.option("--include-items", is_flag=True, help="Also write the validated item values (item_<id>).")
@force_option()
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
    force: bool,
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
    to missing and goes on, still listing each one. The input is never
    modified.

    \b
    Examples:
      sdt-survey score bpn-residency wave1.csv --id-column resident --out scores.csv
      sdt-survey score bpn-residency continuity-exposure export.csv --source redcap \\
          --id-column record_id --out scores.sav --report quality.csv
      sdt-survey score bpn-residency wave1.csv --invalid as-missing --flag-careless \\
          --pseudonymize program.key --id-column resident --out scores.parquet
    """
    from .scoring import score

    instruments, responses_path = _split_instruments_and_file(args)
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
    try:
        scored = score(
            instruments,
            responses_path,
            id_column=id_column,
            wave_column=wave_column,
            source=source,
            mapping=mapping,
            invalid=invalid,
            duplicates=duplicates,
            zscores=zscores,
            flag_careless=flag_careless,
            exclude_flagged=exclude_flagged,
            careless_thresholds=_parse_thresholds(careless_threshold),
            pseudonymize_key=key_file,
            allow_shared_key=allow_shared_key,
            identifiers=identifiers,
            keep_identifiers=keep_identifiers,
            include_items=include_items,
        )
    except ResponseValidationError as exc:
        if report_path:
            exc.report.write(report_path, overwrite=force)
            click.echo(f"data-quality report: {report_path}", err=True)
        raise
    click.echo(terminal_text(scored.report.summary()))
    click.echo(terminal_text(scored.summary()))
    click.echo(f"scores: {scored.write(out_path, overwrite=force)}")
    if report_path:
        click.echo(f"data-quality report: {scored.report.write(report_path, overwrite=force)}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key file. Pseudonyms made with the old key will never match new ones, "
    "so waves stop linking: only for a key that leaked or was never used.",
)
def keygen(path: str, force: bool) -> None:
    """Make a pseudonymization key file for `score --pseudonymize`.

    Writes 32 random bytes (hexadecimal, after comment lines) to PATH,
    readable and writable by you only (mode 600). Make the key once, keep it
    safe and private, and use the same file at every wave: the same key gives
    the same pseudonym, so waves link; whoever has the key can recompute them.
    An existing file is never replaced without --force.

    \b
    Example:
      sdt-survey keygen ~/keys/program.key
      sdt-survey score bpn-residency wave1.csv --id-column resident \\
          --pseudonymize ~/keys/program.key --out scores.csv
    """
    import warnings

    from .pseudonyms import keygen as make_key

    existed = Path(path).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = make_key(path, force=force)
    if existed:
        click.secho(
            f"warning: {written} replaced; pseudonyms made with the old key will not link to new ones",
            fg="yellow",
            err=True,
        )
    click.echo(f"key: {written} (mode 600; keep it private and keep it safe)")


@cli.command(name="export")
@click.argument("instruments", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Choice(list(TARGETS)),
    help="The platform: redcap, xlsform (ODK/Kobo), qualtrics, reproschema, html, markdown or pdf.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(),
    help="File to write (a folder for reproschema).",
)
@click.option("--lang", default=None, help="Language to write (default: the instruments' first).")
@click.option(
    "--texts",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML of item wording for items not bundled (proprietary keys); used for this export only.",
)
@click.option("--post-url", default=None, help="html: POST each response to this URL instead of downloading.")
@click.option(
    "--page-size",
    type=click.Choice(["letter", "a4"], case_sensitive=False),
    default=None,
    help="pdf: the paper size (default letter).",
)
@force_option()
def export_command(
    instruments: tuple[str, ...],
    target: str,
    out_path: str,
    lang: str | None,
    texts: str | None,
    post_url: str | None,
    page_size: str | None,
    force: bool,
) -> None:
    """Generate a deployable survey from one or more instruments.

    Instruments are combined in the order given; colliding item ids are an
    error. Every field is named by its item id, and the artifact records the
    instrument ids and versions it came from, so collected data reads back
    into `sdt-survey score` unchanged.

    \b
    Examples:
      sdt-survey export bpn-residency --to redcap --out bpn_dictionary.csv
      sdt-survey export bpn-residency continuity-exposure program-belonging \\
          --to xlsform --out residency.xlsx
      sdt-survey export bpn-residency --to html --lang es --out form.html
      sdt-survey export bpnsfs-keys --to qualtrics --texts licensed-wording.yaml --out bpnsfs.txt
    """
    from .export import export_survey

    options: dict[str, str] = {}
    if post_url:
        if target != "html":
            raise click.UsageError("--post-url applies to --to html only")
        options["post_url"] = post_url
    if page_size:
        if target != "pdf":
            raise click.UsageError("--page-size applies to --to pdf only")
        options["page_size"] = page_size.lower()
    outputs = {"--out": out_path}
    if target == "qualtrics":
        outputs["the notes file beside --out"] = Path(out_path).with_name(f"{Path(out_path).stem}.notes.md")
    check_files(
        outputs,
        {"an instrument file": existing_files(instruments), "the --texts file": texts},
        force=force,
        folder="--out" if target == "reproschema" else None,
    )
    result = export_survey(
        list(instruments), target, out_path, language=lang, texts=texts, overwrite=force, **options
    )
    click.echo(terminal_text(result.summary()))


def _parse_range(text: str, name: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected MIN-MAX, e.g. 20-40", param_hint=name) from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise click.BadParameter(f"{text!r}: expected 1 <= MIN <= MAX, e.g. 20-40", param_hint=name)
    return bounds


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, object]:
    import yaml

    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="--set")
        try:
            settings[name.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise click.BadParameter(f"{pair!r}: the value is not valid YAML", param_hint="--set") from None
        where = non_finite_part(settings[name.strip()], name.strip())
        if where is not None:
            raise click.BadParameter(f"{pair!r}: {where} must be a finite number", param_hint="--set")
    return settings


@cli.command(name="simulate")
@click.argument("instruments", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    required=True,
    help="Random seed: the same seed gives the same data.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option(
    "--programs",
    type=click.IntRange(min=1),
    default=None,
    help="Number of residency programs (default 14). A design too large for this machine's memory "
    "is refused before any work, saying how much it would need.",
)
@click.option(
    "--residents", default=None, metavar="MIN-MAX", help="Residents per program, 1 or more (default 20-40)."
)
@click.option(
    "--waves", type=click.IntRange(min=1), default=None, help="Survey waves, 1 or more (default 2)."
)
@click.option(
    "--attrition",
    type=FiniteFloat(0, 1, max_open=True),
    default=None,
    help="Share not answering each later wave, from 0 up to but not including 1 (0.15).",
)
@click.option(
    "--continuity-effect",
    type=FiniteFloat(),
    default=None,
    help="Effect of 1 SD of continuity (COC) on relatedness satisfaction, in latent SD (0.30); "
    "any finite number.",
)
@click.option(
    "--mcar",
    type=FiniteFloat(0, 1, max_open=True),
    default=None,
    help="Share of answers missing completely at random, from 0 up to but not including 1 (0.02).",
)
@click.option("--messy", is_flag=True, help="Add the faults real exports have (see docs/simulation.md).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any other design parameter, e.g. --set 'program_sd={relatedness_satisfaction: 0.5}'.",
)
@force_option(
    "Write into a folder that holds files simulate did not write (they are kept: only simulate's own "
    "files are ever replaced). Not needed for a new or empty folder, or one holding only an earlier "
    "simulation, which is replaced."
)
def simulate_command(
    instruments: tuple[str, ...],
    seed: int,
    out_dir: str,
    programs: int | None,
    residents: str | None,
    waves: int | None,
    attrition: float | None,
    continuity_effect: float | None,
    mcar: float | None,
    messy: bool,
    settings: tuple[str, ...],
    force: bool,
) -> None:
    """Simulate residency survey data with a known truth.

    Residents nested in clinics and programs, a year of continuity-clinic
    sessions with faculty, latent needs that depend on continuity, ordinal
    answers, waves with attrition, and missing answers (MCAR and MAR). Writes
    responses.csv (all waves), responses_wN.csv, schedule.csv and truth.json
    (every parameter and the per-resident continuity indices). The population
    model and every parameter: docs/simulation.md.

    \b
    Examples:
      sdt-survey simulate bpn-residency --seed 1 --out sim/
      sdt-survey simulate bpn-residency continuity-exposure --seed 7 --programs 30 \\
          --continuity-effect 0.5 --out sim/
      sdt-survey simulate bpn-residency --seed 2 --messy --out messy/
    """
    from .simulate import simulate

    check_files(
        {"--out": out_dir},
        {"an instrument file": existing_files(instruments)},
        force=force,
        folder="--out",
        own_files_ok=True,
    )
    design = _parse_settings(settings)
    given = {
        "n_programs": programs,
        "residents_per_program": _parse_range(residents, "--residents") if residents else None,
        "n_waves": waves,
        "attrition": attrition,
        "mcar_rate": mcar,
    }
    design.update({k: v for k, v in given.items() if v is not None})
    if continuity_effect is not None:
        from .simulate import SimulationDesign

        effects = dict(design.get("continuity_effects") or SimulationDesign().continuity_effects)
        effects["relatedness_satisfaction"] = continuity_effect
        design["continuity_effects"] = effects
    if messy:
        design["messy"] = True
    result = simulate(list(instruments), seed=seed, **design)
    written = result.write(out_dir, overwrite=force)
    click.echo(terminal_text(result.summary()))
    for path in written:
        click.echo(f"  wrote {path}")


@cli.command(name="reliability")
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table for people; json (the documented shape) or csv (one row per item) for scripts.",
)
@click.option(
    "--missing",
    type=click.Choice(["pairwise", "listwise"]),
    default="pairwise",
    show_default=True,
    help="pairwise covariances (psych's default) or complete cases only.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    help="Bootstrap resamples for alpha's interval (e.g. 2000; 0, the default, skips the bootstrap).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the bootstrap.")
@click.option(
    "--group-column",
    default=None,
    help="Units (program, clinic) whose subscale means' reliability is reported: ICC(1), ICC(2).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the output to this file instead of the terminal.",
)
@force_option()
def reliability_command(
    args: tuple[str, ...],
    id_column: str | None,
    wave_column: str | None,
    source: str,
    mapping: str | None,
    invalid: str,
    duplicates: str,
    fmt: str,
    missing: str,
    bootstrap: int,
    seed: int | None,
    group_column: str | None,
    out_path: str | None,
    force: bool,
) -> None:
    """Reliability and item analysis of every subscale, exact to R's psych.

    Reads and validates the responses exactly as `sdt-survey score` does
    (same options), applies reverse keys, then reports for every subscale
    psych::alpha's table (raw and standardized alpha, lambda 6, average r,
    signal/noise, Duhachek's SE; Feldt, Duhachek and bootstrap intervals;
    item-total statistics and alpha if deleted), omega total, and for the
    instrument omega hierarchical and ECV. With --group-column, ICC(1),
    ICC(2) and the design effect of each subscale mean across the units; with
    an id column and two waves, test-retest ICCs for respondents in both.
    Items whose deletion would raise alpha (^) and r.drop < .30 (!) are flagged.

    \b
    Examples:
      sdt-survey reliability bpn-residency wave1.csv --id-column resident
      sdt-survey reliability bpn-residency wave1.csv --bootstrap 2000 --seed 1 --format json
      sdt-survey reliability bpn-residency wave1.csv --group-column program
    """
    from .reliability import instrument_reliability

    instruments, responses_path = _split_instruments_and_file(args)
    _check_analysis_files(out_path, instruments, responses_path, mapping, force=force)
    report = instrument_reliability(
        instruments,
        responses_path,
        id_column=id_column,
        wave_column=wave_column,
        source=source,
        mapping=mapping,
        invalid=invalid,
        duplicates=duplicates,
        missing=missing,
        bootstrap=bootstrap,
        seed=seed,
        group_column=group_column,
    )
    _write_or_echo(_render(report, fmt), out_path, "reliability", force)


def _check_analysis_files(
    out_path: str | None,
    instruments: list[str],
    responses_path: str,
    mapping: str | None,
    *,
    force: bool,
    syntax_path: str | None = None,
) -> None:
    """The pre-flight check of the commands that read responses and write one --out."""
    check_files(
        {"--out": out_path},
        {
            "the response file RESPONSES": responses_path,
            "an instrument file": existing_files(instruments),
            "the --map file": mapping,
            "the --syntax file": syntax_path,
        },
        force=force,
    )


def _write_or_echo(text: str, out_path: str | None, what: str, force: bool = False) -> None:
    from .files import write_text

    if out_path:
        write_text(out_path, text + ("" if text.endswith("\n") else "\n"), overwrite=force)
        click.echo(f"{what}: {out_path}")
    else:
        click.echo(text)


def _render(result, fmt: str) -> str:
    """A result as a table for people, or JSON/CSV for scripts."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    if fmt == "csv":
        # Neutralized also on the terminal: `--format csv > file.csv` is a spreadsheet too.
        return write_csv(result.to_frame(), index=False)
    return terminal_text(result.summary())


def plot_option(help: str):
    """The ``--plot FILE`` option of commands that draw a figure."""
    return click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help=help)


FORMAT_OUTPUT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table for people; json or csv for scripts.",
)
_OUT_OPTION = click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the output to this file instead of the terminal.",
)


def OUT_FILE(function):  # a decorator, named like the other option constants
    """``--out FILE`` and the ``--force`` that lets it replace an existing file."""
    return _OUT_OPTION(force_option()(function))


@cli.command(name="efa")
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@click.option(
    "--factors",
    "n_factors",
    type=click.IntRange(min=1),
    default=None,
    help="Number of factors, 1 or more and fewer than the items (default: as parallel analysis suggests).",
)
@click.option(
    "--fm",
    type=click.Choice(["minres", "ml", "pa"]),
    default="minres",
    show_default=True,
    help="Extraction: minimum residual, maximum likelihood or principal axis (as psych::fa).",
)
@click.option(
    "--rotate",
    type=click.Choice(["oblimin", "promax", "varimax", "geomin", "none"]),
    default="oblimin",
    show_default=True,
    help="Rotation (oblique: oblimin, promax, geomin).",
)
@click.option(
    "--missing",
    type=click.Choice(["pairwise", "listwise"]),
    default="pairwise",
    show_default=True,
    help="Pairwise correlations (psych's default) or complete cases.",
)
@click.option(
    "--subscale",
    "subscales",
    multiple=True,
    metavar="ID",
    help="Analyse only these subscales' items (repeat the option).",
)
@click.option(
    "--iterations",
    "n_iter",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Simulated data sets of the parallel analysis (1 or more).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the parallel analysis.")
@FORMAT_OUTPUT
@OUT_FILE
def efa_command(
    args: tuple[str, ...],
    id_column: str | None,
    wave_column: str | None,
    source: str,
    mapping: str | None,
    invalid: str,
    duplicates: str,
    n_factors: int | None,
    fm: str,
    rotate: str,
    missing: str,
    subscales: tuple[str, ...],
    n_iter: int,
    seed: int | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Exploratory factor analysis of an instrument's items, exact to R's psych.

    Reads and validates the responses as `sdt-survey score` does and applies
    reverse keys, then reports KMO (overall and per item), Bartlett's test,
    parallel analysis with the scree data (as psych::fa.parallel), and the
    EFA: loadings (below .30 blanked in the table), communalities, factor
    correlations, chi-square with Bartlett's correction, TLI, RMSEA with its
    90% interval and BIC.

    \b
    Examples:
      sdt-survey efa bpn-residency wave1.csv --id-column resident
      sdt-survey efa bpn-residency wave1.csv --factors 6 --fm ml --rotate promax --format json
    """
    from .factor.efa import instrument_factor_report

    instruments, responses_path = _split_instruments_and_file(args)
    _check_analysis_files(out_path, instruments, responses_path, mapping, force=force)
    report = instrument_factor_report(
        instruments,
        responses_path,
        n_factors=n_factors,
        subscales=list(subscales) or None,
        fm=fm,
        rotate=rotate,
        missing=missing,
        n_iter=n_iter,
        seed=seed,
        id_column=id_column,
        wave_column=wave_column,
        source=source,
        mapping=mapping,
        invalid=invalid,
        duplicates=duplicates,
    )
    _write_or_echo(_render(report, fmt), out_path, "efa", force)


def cfa_options(function):
    """Options shared by `cfa` and `invariance`."""
    options = [
        click.option(
            "--model",
            "model_kind",
            type=click.Choice(["correlated", "bifactor", "second-order"]),
            default="correlated",
            show_default=True,
            help="The instrument's structure: correlated subscale factors, a bifactor model, or "
            "second-order factors (docs/factor-analysis.md).",
        ),
        click.option(
            "--syntax",
            "syntax_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="A model in lavaan syntax (=~, ~~, ~1, 0*, labels) over item ids, instead of --model.",
        ),
        click.option(
            "--estimator",
            type=click.Choice(["ML", "MLR", "WLSMV"], case_sensitive=False),
            default="ML",
            show_default=True,
            help="ML; MLR (robust SEs, Yuan-Bentler scaled chi-square, robust CFI/TLI/RMSEA); or WLSMV "
            "(ordinal items, polychoric correlations, as lavaan's ordered = TRUE; cfa only).",
        ),
        click.option(
            "--missing",
            type=click.Choice(["auto", "listwise", "fiml"]),
            default="auto",
            show_default=True,
            help="auto: FIML when items are missing (lavaan missing='ml'), else complete data.",
        ),
        click.option(
            "--wave", default=None, help="Which wave to use when the file has several (default: first)."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _model_argument(model_kind: str, syntax_path: str | None) -> str:
    if syntax_path is None:
        return model_kind
    try:
        return Path(syntax_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SdtSurveyError(f"{syntax_path}: cannot read the model: {exc.strerror}") from exc


def _wave_value(wave: str | None):
    """A --wave given on the command line, as a number when it is one."""
    if wave is None:
        return None
    try:
        return int(wave)
    except ValueError:
        return wave


@cli.command(name="cfa")
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@cfa_options
@click.option("--std-lv", is_flag=True, help="Identify factors by unit variance instead of a marker loading.")
@click.option(
    "--modindices",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Show the N largest modification indices.",
)
@click.option("--emit-lavaan", is_flag=True, help="Print the equivalent lavaan syntax and stop.")
@FORMAT_OUTPUT
@OUT_FILE
def cfa_command(
    args: tuple[str, ...],
    id_column: str | None,
    wave_column: str | None,
    source: str,
    mapping: str | None,
    invalid: str,
    duplicates: str,
    model_kind: str,
    syntax_path: str | None,
    estimator: str,
    missing: str,
    wave: str | None,
    std_lv: bool,
    modindices: int,
    emit_lavaan: bool,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Confirmatory factor analysis of an instrument, exact to lavaan.

    Reads and validates the responses as `sdt-survey score` does and applies
    reverse keys, then fits the instrument's factor model by maximum
    likelihood: chi-square, CFI, TLI, RMSEA with its 90% interval and
    p-close, SRMR, AIC, BIC, log-likelihood; estimates with SE, z and p; the
    standardized solution; factor correlations; CFA-based omega; and, on
    request, modification indices. Non-convergence, Heywood cases and
    under-identification are explained in plain words.

    \b
    Examples:
      sdt-survey cfa bpn-residency wave1.csv --id-column resident
      sdt-survey cfa bpn-residency wave1.csv --estimator MLR --missing fiml --format json
      sdt-survey cfa bpn-residency wave1.csv --model bifactor --emit-lavaan
      sdt-survey cfa bpn-residency wave1.csv --syntax my-model.lav --modindices 10
    """
    from .factor.cfa import CFAModel
    from .factor.pipeline import instrument_cfa
    from .factor.syntax import emit_lavaan as to_lavaan

    instruments, responses_path = _split_instruments_and_file(args)
    model = _model_argument(model_kind, syntax_path)
    if not emit_lavaan:  # --emit-lavaan only prints
        _check_analysis_files(
            out_path, instruments, responses_path, mapping, force=force, syntax_path=syntax_path
        )
    if emit_lavaan:
        if syntax_path is not None:
            click.echo(to_lavaan(CFAModel.from_syntax(model)))
        else:
            click.echo(to_lavaan(CFAModel.from_instrument(load_instrument(instruments[0]), kind=model_kind)))
        return
    result = instrument_cfa(
        instruments,
        responses_path,
        model=model,
        estimator=estimator.upper(),
        missing=missing,
        std_lv=std_lv,
        wave=_wave_value(wave),
        id_column=id_column,
        wave_column=wave_column,
        source=source,
        mapping=mapping,
        invalid=invalid,
        duplicates=duplicates,
    )
    if modindices and estimator.upper() == "WLSMV":
        raise click.UsageError("--modindices is for ML and MLR fits")
    text = (
        terminal_text(result.summary(modindices=modindices))
        if fmt == "table" and modindices
        else _render(result, fmt)
    )
    _write_or_echo(text, out_path, "cfa", force)


@cli.command(name="invariance")
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@click.option("--group-column", required=True, help="The groups to compare (e.g. pgy, cohort, wave).")
@reading_options
@cfa_options
@click.option(
    "--free",
    "free",
    multiple=True,
    metavar="PARAMETER",
    help="Free a parameter across groups for partial invariance, e.g. --free 'rs2=~' --free 'rs2~1'.",
)
@FORMAT_OUTPUT
@OUT_FILE
def invariance_command(
    args: tuple[str, ...],
    group_column: str,
    id_column: str | None,
    wave_column: str | None,
    source: str,
    mapping: str | None,
    invalid: str,
    duplicates: str,
    model_kind: str,
    syntax_path: str | None,
    estimator: str,
    missing: str,
    wave: str | None,
    free: tuple[str, ...],
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Measurement invariance across groups: can their means be compared?

    Multi-group CFA with lavaan's group.equal semantics: configural, metric
    (loadings), scalar (+ intercepts) and strict (+ residual variances); each
    step's fit; likelihood-ratio tests between steps (scaled for MLR); changes
    in CFI, RMSEA and SRMR judged against Chen (2007) and Cheung & Rensvold
    (2002); latent mean differences once scalar invariance holds; and a
    plain-words conclusion. Takes every option of `sdt-survey cfa`.

    \b
    Examples:
      sdt-survey invariance bpn-residency wave1.csv --group-column pgy
      sdt-survey invariance bpn-residency waves.csv --group-column wave --id-column resident
      sdt-survey invariance bpn-residency wave1.csv --group-column cohort --free "rs2=~" --format json
    """
    from .factor.pipeline import instrument_invariance

    if estimator.upper() == "WLSMV":
        raise click.UsageError("invariance uses ML or MLR; WLSMV is available for single-group cfa")
    instruments, responses_path = _split_instruments_and_file(args)
    _check_analysis_files(
        out_path, instruments, responses_path, mapping, force=force, syntax_path=syntax_path
    )
    result = instrument_invariance(
        instruments,
        responses_path,
        group_column,
        model=_model_argument(model_kind, syntax_path),
        estimator=estimator.upper(),
        missing=missing,
        free=free,
        wave=_wave_value(wave),
        id_column=id_column,
        wave_column=wave_column,
        source=source,
        mapping=mapping,
        invalid=invalid,
        duplicates=duplicates,
    )
    _write_or_echo(_render(result, fmt), out_path, "invariance", force)


@cli.command(name="continuity")
@click.argument("schedule", type=click.Path(dir_okay=False))
@ENCODING_OPTION
@click.option(
    "--learner-column", default="learner", show_default=True, help="The learner (resident) id column."
)
@click.option(
    "--faculty-column", default="faculty", show_default=True, help="The faculty (preceptor) column."
)
@click.option("--time-column", default="date", show_default=True, help="Session date or date-time column.")
@click.option("--assigned-column", default=None, help="The designated preceptor (needed for UPC).")
@click.option("--setting-column", default=None, help="Column naming each session's setting.")
@click.option("--setting", default=None, help="Keep only sessions in this setting (e.g. clinic).")
@click.option(
    "--window",
    default=None,
    metavar="academic-year|block:N|DATE..DATE",
    help="Indices per academic year (July-June), per N-week block, or within a date range.",
)
@click.option(
    "--side",
    type=click.Choice(["learner", "faculty"]),
    default="learner",
    show_default=True,
    help="Continuity from the learner's view, or the same indices from the faculty's view.",
)
@click.option(
    "--invalid",
    type=click.Choice(["error", "drop"]),
    default="error",
    show_default=True,
    help="error: list every bad row and stop; drop: drop them, each listed in the report.",
)
@click.option("--dedupe", is_flag=True, help="Drop repeated identical sessions (reported either way).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one row per learner (per window): .csv, .parquet or .json.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write every row that was dropped or questioned, and why (.csv or .json).",
)
@force_option()
def continuity_command(
    schedule: str,
    learner_column: str,
    faculty_column: str,
    time_column: str,
    assigned_column: str | None,
    setting_column: str | None,
    setting: str | None,
    window: str | None,
    side: str,
    invalid: str,
    dedupe: bool,
    out_path: str | None,
    report_path: str | None,
    force: bool,
) -> None:
    """Continuity of learner-faculty contact from a schedule (one row per session).

    Per learner (and window): n_sessions, n_faculty, first, last,
    duration_days and the indices upc (usual provider), mfpc (most frequent
    provider), coc (Bice-Boxerman), hhi, mmci, secon (sequential) and
    entropy with its normalized form. Bad rows (missing ids, unreadable
    dates) are listed with their row number and column. Formulas and
    pitfalls: docs/continuity-and-models.md.

    \b
    Examples:
      sdt-survey continuity schedule.csv --learner-column resident --faculty-column faculty \\
          --time-column session_date --assigned-column assigned --out continuity.csv
      sdt-survey continuity schedule.csv --learner-column resident --window academic-year \\
          --setting-column setting --setting clinic --out continuity.parquet
    """
    from .continuity import ContinuityError, continuity_indices

    check_files(
        {"--out": out_path, "--report": report_path}, {"the schedule SCHEDULE": schedule}, force=force
    )
    try:
        result = continuity_indices(
            schedule,
            learner_column=learner_column,
            faculty_column=faculty_column,
            time_column=time_column,
            assigned_column=assigned_column,
            setting_column=setting_column,
            setting=setting,
            window=window,
            side=side,
            invalid=invalid,
            dedupe=dedupe,
        )
    except ContinuityError as exc:
        if report_path:
            from .scoring import write_table

            write_table(exc.report, report_path, overwrite=force)
            click.echo(f"report: {report_path}", err=True)
        raise
    click.echo(terminal_text(result.summary()))
    if out_path:
        click.echo(f"continuity: {result.write(out_path, overwrite=force)}")
    if report_path:
        click.echo(f"report: {result.write_report(report_path, overwrite=force)}")


@cli.command(name="model")
@click.option(
    "--formula",
    required=True,
    help="lme4 formula, e.g. 'relatedness_satisfaction ~ coc + pgy + (1|program)'.",
)
@click.option(
    "--exposure",
    "exposure_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Exposure table (e.g. the output of `sdt-survey continuity`): .csv, .parquet, .json, .xlsx.",
)
@ENCODING_OPTION
@click.option(
    "--self-reported-exposure",
    is_flag=True,
    help="Use the continuity-exposure instrument's answers as the exposure (upc_self, perceived "
    "continuity): score it with the other instruments (--include-items for a --scores file).",
)
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Scores table (the output of `sdt-survey score`).",
)
@click.option(
    "--instrument",
    "instruments",
    multiple=True,
    help="Score on the fly instead: the instrument(s), with --responses.",
)
@click.option(
    "--responses",
    "responses_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Responses to score on the fly (read and validated as `sdt-survey score` does).",
)
@click.option("--id-column", required=True, help="Learner id column of the scores.")
@click.option(
    "--exposure-id-column", default=None, help="Learner id column of the exposure (default: the same)."
)
@click.option("--wave-column", default=None, help="Wave column, for repeated waves.")
@click.option("--ml", is_flag=True, help="Maximum likelihood instead of REML.")
@click.option(
    "--within-between",
    default=None,
    metavar="VAR",
    help="Split VAR into between-person (person mean) and within-person effects.",
)
@click.option(
    "--spline",
    default=None,
    metavar="VAR:df=N",
    help="Dose-response curve of VAR by a natural spline with N degrees of freedom.",
)
@plot_option("Write the dose-response curve (needs --spline) as .png or .svg.")
@FORMAT_OUTPUT
@OUT_FILE
def model_command(
    formula: str,
    exposure_path: str | None,
    self_reported_exposure: bool,
    scores_path: str | None,
    instruments: tuple[str, ...],
    responses_path: str | None,
    id_column: str,
    exposure_id_column: str | None,
    wave_column: str | None,
    ml: bool,
    within_between: str | None,
    spline: str | None,
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Multilevel model of relatedness (belonging) against continuity exposure.

    Joins scores to an exposure table on the learner id (rows that do not
    join are counted and listed, never dropped silently), then fits the
    model written in lme4 syntax with statsmodels MixedLM (REML by default),
    including nested `(1|program/resident)` for repeated waves and random
    slopes `(coc|program)`. Reports fixed effects with Wald z tests and 95%
    CIs, variance components, ICC (and the null model's), marginal and
    conditional R-squared, the likelihood-ratio test of the exposure, and
    its standardized effect; singular fits and convergence problems are
    explained in plain words.

    \b
    Examples:
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + pgy + (1|program)"
      sdt-survey model --instrument bpn-residency --responses waves.csv --exposure continuity.csv \\
          --id-column resident --wave-column wave --within-between coc \\
          --formula "relatedness_satisfaction ~ coc + (1|program/resident)"
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + (1|program)" --spline coc:df=3 --plot curve.png
    """
    from .models import model_relatedness
    from .scoring import read_table, score

    if (scores_path is None) == (responses_path is None):
        raise click.UsageError("give either --scores, or --instrument with --responses")
    check_files(
        {"--out": out_path, "--plot": plot_path},
        {
            "the --exposure file": exposure_path,
            "the --scores file": scores_path,
            "the --responses file": responses_path,
            "an --instrument file": existing_files(instruments),
        },
        force=force,
    )
    if (exposure_path is None) == (not self_reported_exposure):
        raise click.UsageError("give either --exposure FILE or --self-reported-exposure")
    if responses_path is not None:
        if not instruments:
            raise click.UsageError("--responses needs --instrument")
        scores = score(list(instruments), responses_path, id_column=id_column, wave_column=wave_column)
    else:
        scores = read_table(scores_path)
    if plot_path and not spline:
        raise click.UsageError("--plot draws the dose-response curve: give --spline VAR:df=N too")
    if self_reported_exposure:
        from .continuity import self_reported_exposure as self_report

        exposure = self_report(scores, id_column=id_column)
        # The scores already carry every other column; keep only what the exposure adds.
        exposure = exposure[
            [
                c
                for c in exposure.columns
                if c in (id_column, wave_column) or c not in getattr(scores, "scores", scores).columns
            ]
        ]
    else:
        exposure = read_table(exposure_path)
    result = model_relatedness(
        scores,
        exposure,
        formula,
        id_column=id_column,
        exposure_id_column=exposure_id_column,
        wave_column=wave_column,
        reml=not ml,
        within_between=within_between,
        spline=spline,
    )
    _write_or_echo(_render(result, fmt), out_path, "model", force)
    if plot_path:
        click.echo(f"dose-response plot: {result.plot(plot_path, overwrite=force)}")


def _parse_grid(pairs: tuple[str, ...]) -> dict[str, list]:
    import yaml

    grid: dict[str, list] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        if not sep or not values:
            raise click.BadParameter(f"{pair!r}: expected NAME=V1,V2,...", param_hint="--grid")
        try:
            grid[name.strip()] = [yaml.safe_load(v) for v in values.split(",")]
        except yaml.YAMLError:
            raise click.BadParameter(f"{pair!r}: a value is not valid YAML", param_hint="--grid") from None
        where = non_finite_part(grid[name.strip()], name.strip())
        if where is not None:
            raise click.BadParameter(f"{pair!r}: {where} must be a finite number", param_hint="--grid")
    return grid


@cli.command(name="power")
@click.option(
    "--grid",
    "grid_pairs",
    multiple=True,
    required=True,
    metavar="NAME=V1,V2,...",
    help="Design values to cross: n_programs, residents_per_program, n_waves, effect, icc, "
    "cohort_effect (repeat the option).",
)
@click.option(
    "--replicates",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Simulated data sets per cell (1 or more).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Root seed (same on every backend).",
)
@click.option(
    "--alpha",
    type=FiniteFloat(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level, strictly between 0 and 1.",
)
@click.option(
    "--test",
    type=click.Choice(["wald", "lrt"]),
    default="wald",
    show_default=True,
    help="Test of the continuity effect: Wald z or likelihood ratio (slower).",
)
@click.option(
    "--jobs",
    type=WorkerCount(),
    default=-1,
    show_default=True,
    help="Local worker processes: N >= 1, or -1 for all cores, -2 for all but one, and so on "
    "(joblib's n_jobs); 0 is refused.",
)
@click.option(
    "--dask-scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on an existing Dask cluster (e.g. tcp://host:8786) instead of local cores.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A design parameter held fixed over the grid, e.g. --set residents_per_program=25.",
)
@plot_option("Write the power curve as .png or .svg.")
@FORMAT_OUTPUT
@OUT_FILE
def power_command(
    grid_pairs: tuple[str, ...],
    replicates: int,
    seed: int,
    alpha: float,
    test: str,
    jobs: int,
    dask_scheduler: str | None,
    settings: tuple[str, ...],
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Monte-Carlo power to detect the continuity effect (and cohort differences).

    Each replicate simulates a residency data set for the planned design,
    scores it, computes continuity (COC) from the simulated schedule, fits
    the multilevel model and records whether the effect is significant.
    Results are identical for a seed whether run on local cores or on a Dask
    cluster. See docs/continuity-and-models.md.

    \b
    Examples:
      sdt-survey power --grid n_programs=8,14,20 --grid effect=0.2,0.3 --replicates 200
      sdt-survey power --grid residents_per_program=15,25,40 --set n_programs=10 --plot power.png
      sdt-survey power --grid icc=0.05,0.15 --dask-scheduler tcp://SCHEDULER-HOST:8786 --replicates 1000
    """
    from .power import power_analysis

    check_files({"--out": out_path, "--plot": plot_path}, {}, force=force)
    result = power_analysis(
        _parse_grid(grid_pairs),
        n_replicates=replicates,
        seed=seed,
        alpha=alpha,
        test=test,
        n_jobs=jobs,
        dask_scheduler=dask_scheduler,
        **_parse_settings(settings),
    )
    _write_or_echo(_render(result, fmt), out_path, "power", force)
    if plot_path:
        click.echo(f"power curve: {result.plot(plot_path, overwrite=force)}")


def _split_instruments_and_files(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """INSTRUMENT... FILE...: instruments are bundled names or YAML files, the rest response files."""
    bundled = set(bundled_instruments())
    instruments: list[str] = []
    for position, arg in enumerate(args):
        if arg in bundled or arg.lower().endswith((".yaml", ".yml")):
            instruments.append(arg)
        else:
            files = list(args[position:])
            break
    else:
        files = []
    if not instruments or not files:
        raise click.UsageError("give one or more instruments, then one or more response files")
    return instruments, files


@cli.command(name="cohorts")
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
@INVALID_OPTION
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
    invalid: str,
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
    from .cohorts import cohort_summary

    instruments, files = _split_instruments_and_files(args)
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
        ledger=_ledger_argument(ledger_path, no_ledger),
        source=source,
        invalid=invalid,
    )
    _write_or_echo(_render(report, fmt), out_path, "cohorts", force)


@cli.command(name="report")
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
@click.option("--time-column", default="date", show_default=True, help="Schedule: session date column.")
@click.option("--assigned-column", default=None, help="Schedule: designated preceptor column (for UPC).")
@click.option("--setting-column", default=None, help="Schedule: setting column.")
@click.option("--setting", default=None, help="Schedule: keep only this setting (e.g. clinic).")
@click.option("--window", default=None, help="Schedule: academic-year, block:N or DATE..DATE.")
@click.option("--formula", default=None, help="Model of belonging against continuity, in lme4 syntax.")
@ledger_options
@SOURCE_OPTION
@ENCODING_OPTION
@INVALID_OPTION
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The HTML report; the same content is written as JSON beside it (same name, .json).",
)
@force_option("Replace the report and its JSON if they exist (both are written together, or neither).")
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
    time_column: str,
    assigned_column: str | None,
    setting_column: str | None,
    setting: str | None,
    window: str | None,
    formula: str | None,
    ledger_path: str | None,
    no_ledger: bool,
    source: str,
    invalid: str,
    out_path: str,
    force: bool,
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
    from .report import build_report

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
        ledger=_ledger_argument(ledger_path, no_ledger),
        source=source,
        invalid=invalid,
    )
    html_path, json_path = report.write(html_path, overwrite=force)
    click.echo(terminal_text(report.summary()))
    click.echo(f"report: {html_path}\njson: {json_path}")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sdt-survey-demo"),
    show_default=True,
    help="Folder for every output.",
)
@force_option(
    "Write into a folder that holds files the demo did not write (they are kept: only the demo's own "
    "files are ever replaced). Not needed for a new or empty folder, or one holding only an earlier "
    "demo, which is replaced, so the demo can be re-run."
)
def demo(out_dir: Path, force: bool) -> None:
    """Run every stage of the pipeline on an embedded default, no data needed.

    Writes each stage's outputs under --out and prints where they went. As
    capabilities land (simulation, scoring, export, reliability, factor
    analysis, continuity, models, cohorts, report) they join the demo.
    """
    from .demo import run_demo

    check_files({"--out": out_dir}, {}, force=force, folder="--out", own_files_ok=True)
    result = run_demo(out_dir, progress=lambda message: click.echo(message, err=True), overwrite=force)
    click.echo(terminal_text(result.summary()))


def main() -> None:
    unwind_on_sigterm()
    cli(prog_name="sdt-survey")
