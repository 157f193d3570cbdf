"""The ``sdt-survey`` group: user errors become a message and exit status 1; commands load on use.

:data:`COMMANDS` names every command, the function that implements it and its
one-line help. A command's module (and the libraries it needs) is imported only
when that command runs or shows its help, so ``sdt-survey --help``, ``list``,
``info`` and ``validate`` start without pandas or scipy (issue 17).
``tests/test_startup.py`` checks that the one-line help here is the command's own.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Iterator, MutableMapping

import click

from .._terminal import terminal_text
from .._version import __version__
from ..errors import SdtSurveyError, SdtSurveyWarning
from .messages import cli_message

#: Where ``--verbose`` leaves its choice for the whole command (``click.Context.meta`` is shared).
VERBOSE_KEY = "sdt_survey.verbose"


#: Command name -> ("module:function" in ``sdt_survey.cli.commands``, the one-line help ``--help`` lists).
COMMANDS: dict[str, tuple[str, str]] = {
    "cfa": ("psychometrics:cfa_command", "Confirmatory factor analysis of an instrument, exact to lavaan."),
    "clean": (
        "study:clean_command",
        "Read, validate and score every wave of a study once: the analysis data set and its manifest.",
    ),
    "cohorts": (
        "leaders:cohorts_command",
        "Belonging and every other score by cohort, group and wave, safe to show leaders.",
    ),
    "continuity": (
        "continuity:continuity_command",
        "Continuity of learner-faculty contact from a schedule (one row per session).",
    ),
    "demo": ("simulation:demo", "Run every stage of the pipeline on an embedded default, no data needed."),
    "efa": (
        "psychometrics:efa_command",
        "Exploratory factor analysis of an instrument's items, exact to R's psych.",
    ),
    "export": ("deploy:export_command", "Generate a deployable survey from one or more instruments."),
    "import": (
        "importing:import_command",
        "Import an instrument from a REDCap data dictionary, an XLSForm or a Qualtrics .qsf.",
    ),
    "info": (
        "instruments:info",
        "Show an instrument: items, subscales, reverse keys, branching and languages.",
    ),
    "init": (
        "study:init_command",
        "Write a commented study.yaml in FOLDER (default: here) to edit, then clean.",
    ),
    "invariance": (
        "psychometrics:invariance_command",
        "Measurement invariance across groups or waves: can their means be compared?",
    ),
    "keygen": ("deploy:keygen", "Make a pseudonymization key file for `score --pseudonymize`."),
    "list": ("instruments:list_command", "List the bundled instruments."),
    "model": (
        "continuity:model_command",
        "Multilevel model of relatedness (belonging) against continuity exposure.",
    ),
    "power": (
        "continuity:power_command",
        "Monte-Carlo power to detect the continuity effect (and cohort differences).",
    ),
    "reliability": (
        "psychometrics:reliability_command",
        "Reliability and item analysis of every subscale, exact to R's psych.",
    ),
    "report": (
        "leaders:report_command",
        "One self-contained HTML report for leaders and statisticians (and its JSON).",
    ),
    "score": ("scoring:score_command", "Validate every cell of a response file and score it."),
    "simulate": ("simulation:simulate_command", "Simulate residency survey data with a known truth."),
    "validate": ("instruments:validate", "Check instrument definitions and report every problem at once."),
}


class LazyCommands(MutableMapping):
    """The group's commands, by name: each imported from :data:`COMMANDS` on first look-up.

    Listing the names (``sorted(cli.commands)``) imports nothing; ``cli.commands["cfa"]``
    imports the module of ``cfa`` only.
    """

    def __init__(self, table: dict[str, tuple[str, str]]) -> None:
        self._table = table
        self._loaded: dict[str, click.Command] = {}

    def loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._table:
                raise KeyError(name)
            module, _, function = self._table[name][0].partition(":")
            self._loaded[name] = getattr(
                importlib.import_module(f"{__package__}.commands.{module}"), function
            )
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._loaded and name not in self._table:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._table = {k: v for k, v in self._table.items() if k != name}

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._table, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._table) | set(self._loaded))


def short_help(text: str, limit: int) -> str:
    """The first sentence of ``text`` in at most ``limit`` characters, as click shortens a command's help.

    (click's own helper for this is private and deprecated from click 8.5.)

    Examples
    --------
    >>> short_help("Score responses. Reads a file.", 45)
    'Score responses.'
    >>> short_help("Fit a confirmatory factor model to the responses of every wave", 30)
    'Fit a confirmatory factor...'
    """
    words = text.split("\n\n", 1)[0].split()
    length = -1
    for i, word in enumerate(words):
        length += len(word) + 1
        if length > limit:
            break
        if word.endswith("."):
            return " ".join(words[: i + 1])
    else:
        return " ".join(words)
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) + 3 > limit:
            break
        kept.append(word)
    return " ".join(kept) + "..."


class _Group(click.Group):
    """Turns user errors into a message and exit status 1, never a traceback; lists commands unloaded."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with the one-line help of :data:`COMMANDS` for a command not yet imported."""
        commands = self.commands
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if isinstance(commands, LazyCommands) and not commands.loaded(name) and name in COMMANDS:
                rows.append((name, short_help(COMMANDS[name][1], limit)))
            else:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            with _plain_warnings():
                return super().invoke(ctx)
        except SdtSurveyError as exc:
            # Messages quote the user's input; no control character of it reaches the terminal.
            click.secho(f"error: {terminal_text(cli_message(_message(exc, ctx)))}", fg="red", err=True)
            ctx.exit(1)


@contextlib.contextmanager
def _plain_warnings() -> Iterator[None]:
    """The package's own warnings as one ``warning: ...`` line each, not Python's ``file:line: Class:`` form.

    Results carry their warnings too (in the summary and the JSON); this is the
    line a user sees on the terminal while the command runs. Another library's
    warning that reaches here (pandas, openpyxl, pyarrow, numpy) is one
    ``warning: ...`` line too, never Python's ``file:line: UserWarning:`` form;
    those the package knows of are caught where they arise and said as notes.
    """
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SdtSurveyWarning):
            click.echo(f"warning: {terminal_text(str(message))}", err=True)
        elif issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
            shown(message, category, filename, lineno, file, line)
        else:
            click.echo(f"warning: {terminal_text(' '.join(str(message).split()))}", err=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _message(exc: SdtSurveyError, ctx: click.Context) -> str:
    """The error's text; with --verbose, a data-quality report lists every line, not only examples."""
    report = getattr(exc, "report", None)
    if ctx.meta.get(VERBOSE_KEY) and hasattr(exc, "headline") and hasattr(report, "summary"):
        return f"{exc.headline}\n{report.summary(verbose=True)}"
    return str(exc)


@click.group(
    cls=_Group, commands=LazyCommands(COMMANDS), context_settings={"help_option_names": ["-h", "--help"]}
)
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
