"""The ``sdt-survey`` group: user errors become a message and exit status 1."""

from __future__ import annotations

import click

from .._terminal import terminal_text
from .._version import __version__
from ..errors import SdtSurveyError
from .messages import cli_message

#: Where ``--verbose`` leaves its choice for the whole command (``click.Context.meta`` is shared).
VERBOSE_KEY = "sdt_survey.verbose"


class _Group(click.Group):
    """Turns user errors into a message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SdtSurveyError as exc:
            # Messages quote the user's input; no control character of it reaches the terminal.
            click.secho(f"error: {terminal_text(cli_message(_message(exc, ctx)))}", fg="red", err=True)
            ctx.exit(1)


def _message(exc: SdtSurveyError, ctx: click.Context) -> str:
    """The error's text; with --verbose, a data-quality report lists every line, not only examples."""
    report = getattr(exc, "report", None)
    if ctx.meta.get(VERBOSE_KEY) and hasattr(exc, "headline") and hasattr(report, "summary"):
        return f"{exc.headline}\n{report.summary(verbose=True)}"
    return str(exc)


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
