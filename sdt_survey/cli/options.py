"""Options and parsing shared by the commands: each defined once, used by every command that needs it."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path

import click

from .._finite import non_finite_part
from .._spreadsheet_safe import write_csv
from .._terminal import terminal_text
from ..continuity.vocabulary import TIME_COLUMN
from ..errors import SdtSurveyError
from ..factor.sem.estimators import ESTIMATORS
from ..instrument import bundled_instruments
from ..platforms import SOURCES
from ..responses import DRIFT_POLICIES, INVALID_POLICIES
from ..results import jsonable
from .group import VERBOSE_KEY
from .messages import cli_message
from .support import check_files, existing_files, force_option


class OutputFormat(click.Choice):
    """``table``, ``json`` or ``csv`` (plus a command's own extras, such as ``yaml``).

    ``text`` is still accepted: it is the old name of ``table``.
    """

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.lower() == "text":
            value = "table"
        return super().convert(value, param, ctx)


def format_option(
    help: str = "table for people; json or csv for scripts (other messages then go to stderr).",
    extra: tuple[str, ...] = (),
):
    """The one ``--format`` option every command shares: ``table`` (the default), ``json``, ``csv``."""
    return click.option(
        "--format",
        "fmt",
        type=OutputFormat(("table", "json", "csv", *extra)),
        default="table",
        show_default=True,
        help=help,
    )


def split_instruments_and_file(args: tuple[str, ...], what: str = "RESPONSES") -> tuple[list[str], str]:
    if len(args) < 2:
        raise click.UsageError(f"give one or more instruments, then the {what} file")
    return list(args[:-1]), args[-1]


def parse_thresholds(pairs: tuple[str, ...]) -> dict[str, float]:
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
DUPLICATES_OPTION = click.option(
    "--duplicates",
    type=click.Choice(["error", "keep-all", "keep-first", "keep-last"]),
    default="error",
    show_default=True,
    help="A respondent id repeated within a wave: stop, keep all (flagged), or keep one. Without "
    "--id-column, a REDCap record_id or Qualtrics ResponseId is the id (the output says so).",
)

#: ``--drift``: what to do when the file does not match the instrument's definition (responses/drift.py).
DRIFT_OPTION = click.option(
    "--drift",
    type=click.Choice(DRIFT_POLICIES),
    default="error",
    show_default=True,
    help="The file against the definition: error stops on a file stamped with another version or content "
    "hash of the instrument, and on an item with no column (unless --invalid as-missing); warn accepts "
    "them. Every difference (added, missing or renamed columns, changed choices, branching) is reported.",
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


def ledger_argument(ledger_path: str | None, no_ledger: bool) -> str | bool | None:
    if no_ledger and ledger_path:
        raise click.UsageError("give --ledger or --no-ledger, not both")
    return None if no_ledger else (ledger_path or True)


def _state_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from .._untrusted import text_encoding

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


def _state_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[VERBOSE_KEY] = True


VERBOSE_OPTION = click.option(
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_state_verbose,
    help="List every line of the data-quality report on the terminal (by default: the count of each "
    "kind of problem, every error up to 20, and one example of each other kind).",
)
SHEET_OPTION = click.option(
    "--sheet",
    default=None,
    metavar="NAME",
    help="The sheet of an Excel workbook to read (a name, or a number from 1). By default the one "
    "sheet whose columns are the instrument's items; a workbook where that is not clear is refused, "
    "listing its sheets.",
)


def verbose() -> bool:
    """Whether ``--verbose`` was given to the running command."""
    return bool(click.get_current_context().meta.get(VERBOSE_KEY))


def sheet_value(sheet: str | None) -> str | int | None:
    """A --sheet given on the command line: a number counts from 1, anything else is a name."""
    if sheet is not None and sheet.strip().isdigit():
        number = int(sheet)
        if number < 1:
            raise click.BadParameter("sheets are numbered from 1", param_hint="--sheet")
        return number - 1
    return sheet


def _state_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from .._progress import progress_mode

        ctx.with_resource(progress_mode("quiet"))  # held until the command ends


QUIET_OPTION = click.option(
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_state_quiet,
    help="No progress bar (one shows on a terminal during long work, never in a pipe or a log).",
)


#: The options of :func:`reading_options`, handed on together by :func:`as_reading`.
READING_KEYS = ("id_column", "wave_column", "source", "mapping", "invalid", "duplicates", "sheet", "drift")


def as_reading(function):
    """Hand a command its reading options as one mapping, ``reading``, as the analyses take them.

    Put it directly under ``@click.command``; the command passes ``**reading`` on.
    """

    @functools.wraps(function)  # keeps click's parameters, which live on the function
    def command(**options):
        reading = {key: options.pop(key) for key in READING_KEYS}
        reading["sheet"] = sheet_value(reading["sheet"])
        return function(reading=reading, **options)

    return command


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
        SHEET_OPTION,
        click.option(
            "--map",
            "mapping",
            type=click.Path(dir_okay=False),
            default=None,
            help="YAML file mapping column names to item ids (columns: {Q5_1: as1}).",
        ),
        INVALID_OPTION,
        DUPLICATES_OPTION,
        DRIFT_OPTION,
        VERBOSE_OPTION,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def parse_range(text: str, name: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected MIN-MAX, e.g. 20-40", param_hint=name) from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise click.BadParameter(f"{text!r}: expected 1 <= MIN <= MAX, e.g. 20-40", param_hint=name)
    return bounds


def parse_settings(pairs: tuple[str, ...]) -> dict[str, object]:
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


def check_analysis_files(
    out_path: str | None,
    instruments: list[str],
    responses_path: str,
    mapping: str | None,
    *,
    force: bool,
    syntax_path: str | None = None,
    plot_path: str | None = None,
) -> None:
    """The pre-flight check of the commands that read responses and write one --out (and a --plot)."""
    check_files(
        {"--out": out_path, "--plot": plot_path},
        {
            "the response file RESPONSES": responses_path,
            "an instrument file": existing_files(instruments),
            "the --map file": mapping,
            "the --syntax file": syntax_path,
        },
        force=force,
    )


def write_or_echo(text: str, out_path: str | None, what: str, force: bool = False) -> None:
    from ..files import write_text

    if out_path:
        write_text(out_path, text + ("" if text.endswith("\n") else "\n"), overwrite=force)
        click.echo(f"{what}: {out_path}")
    else:
        click.echo(text)


def render(result, fmt: str) -> str:
    """A result as a table for people, or JSON/CSV for scripts (the result contract's three faces)."""
    if fmt == "json":
        return json.dumps(jsonable(result.to_dict()), indent=2, ensure_ascii=False, allow_nan=False)
    if fmt == "csv":
        # Neutralized also on the terminal: `--format csv > file.csv` is a spreadsheet too.
        return write_csv(result.to_frame(), index=False)
    return terminal_text(cli_message(result.summary()))


def emit(result, fmt: str, files: Mapping[str, object] | None = None) -> None:
    """Print ``result`` in ``fmt``, then what was written where (``label: path``).

    With ``--format json`` or ``csv`` standard output holds only the result, so a
    script can parse it; the lines naming written files then go to stderr.
    """
    click.echo(render(result, fmt), nl=fmt != "csv")
    for label, path in (files or {}).items():
        if path is not None:
            click.echo(f"{label}: {path}", err=fmt != "table")


def plot_option(help: str):
    """The ``--plot FILE`` option of commands that draw a figure."""
    return click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help=help)


#: Help of every --time-column (one default for every command: the simulator's column).
TIME_COLUMN_HELP = (
    f"Session date or date-time column (default: {TIME_COLUMN}, what `simulate` writes; "
    f"date when the schedule has no {TIME_COLUMN} column)."
)

FORMAT_OUTPUT = format_option()
CLUSTER_OPTION = click.option(
    "--cluster",
    "cluster",
    metavar="COL",
    default=None,
    help="Respondents are nested in the clusters of this column (e.g. program): cluster-robust standard "
    "errors and scaled test, as lavaan's cluster= (ML and MLR).",
)
PAIRWISE_OPTION = click.option(
    "--missing",
    type=click.Choice(["pairwise", "listwise"]),
    default="pairwise",
    show_default=True,
    help="Pairwise covariances and correlations (psych's default) or complete cases only.",
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


#: One wave (a REDCap event) of a file of several: `cfa`, `invariance --group-column`, `reliability`.
WAVE_OPTION = click.option(
    "--wave",
    "--event",
    "wave",
    default=None,
    metavar="WAVE",
    help="Which wave, or REDCap event (e.g. baseline_arm_1), to analyse when the file has several. "
    "Default: the first in the study's order (numbered waves by number, REDCap events in the "
    "project's order, never alphabetically).",
)


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
            type=click.Choice(list(ESTIMATORS), case_sensitive=False),
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
        WAVE_OPTION,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def model_argument(model_kind: str, syntax_path: str | None) -> str:
    if syntax_path is None:
        return model_kind
    try:
        return Path(syntax_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SdtSurveyError(f"{syntax_path}: cannot read the model: {exc.strerror}") from exc


def wave_value(wave: str | None):
    """A --wave given on the command line, as a number when it is one."""
    if wave is None:
        return None
    try:
        return int(wave)
    except ValueError:
        return wave


def parse_grid(pairs: tuple[str, ...]) -> dict[str, list]:
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


def split_instruments_and_files(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """INSTRUMENT... FILE...: instruments are bundled names or YAML files, the rest response files."""
    bundled = set(bundled_instruments())
    instruments: list[str] = []
    for position, arg in enumerate(args):
        if isinstance(arg, str) and (arg in bundled or arg.lower().endswith((".yaml", ".yml"))):
            instruments.append(arg)
        else:
            files = list(args[position:])
            break
    else:
        files = []
    if not instruments or not files:
        raise click.UsageError("give one or more instruments, then one or more response files")
    return instruments, files


def study_settings(study, data) -> dict[str, object]:
    """What a study gives the commands, by their parameter names (each command takes those it has)."""
    spec = study.spec
    settings: dict[str, object] = {
        "args": (*study.instruments, data),
        "instruments": tuple(study.instruments),
        "responses": (data,),
        "responses_path": data,
        "id_column": spec.id_column,
        "wave_column": spec.wave_column,
        "by": ",".join(spec.by) or None,
        "min_cell": spec.min_cell,
    }
    if spec.schedule is not None:
        settings["schedule"] = str(spec.schedule.file)
        settings.update(spec.schedule.options())
    return {name: value for name, value in settings.items() if value is not None}


def study_option(function):
    """``--study STUDY.yaml``: instruments, files and settings from a study; given options override.

    Put it directly under ``@click.command`` (above every other option). The
    command's required arguments and options become optional, required only
    without ``--study``. With it, the study's analysis data set (cleaned first
    when missing or stale, saying so) takes the place of the response files,
    and every setting the study holds fills the parameter of the same name
    unless the user gave that option on the command line
    (``ctx.get_parameter_source``).
    """
    from click.core import ParameterSource

    required = []
    for param in getattr(function, "__click_params__", []):
        if param.required:
            param.required = False
            required.append(param)

    @functools.wraps(function)
    def command(study_path: str | None, **options):
        if study_path is None:
            for param in required:
                if options.get(param.name) in (None, ()):
                    raise click.MissingParameter(ctx=click.get_current_context(), param=param)
            return function(**options)
        from ..study import Study

        study = Study.load(study_path)
        if study.is_stale:
            click.echo(f"{study_path}: cleaning first ({'; '.join(study.changes())})", err=True)
            study.clean()
        data = study.data
        ctx = click.get_current_context()
        settings = study_settings(study, data)
        if "responses" in options:  # INSTRUMENT... with --responses FILE...: the data set goes there
            settings["args"] = tuple(study.instruments)
        for name, value in settings.items():
            if name in options and ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
                options[name] = value
        for param in required:  # what a study cannot give (power's --grid) is still required
            if options.get(param.name) in (None, ()):
                raise click.MissingParameter(ctx=ctx, param=param)
        return function(**options)

    return click.option(
        "--study",
        "study_path",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="STUDY.yaml",
        help="Take instruments, the cleaned analysis data set and settings from a study file "
        "(sdt-survey init, sdt-survey clean); options given here override the study's.",
    )(command)
