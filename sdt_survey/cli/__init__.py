"""The ``sdt-survey`` command line: a thin layer over the Python API.

``group.py`` holds the group, ``options.py`` the options and parsing every
command shares, ``support.py`` the checks of output paths before any work, and
``commands/`` one module per group of commands, each imported only when one of
its commands runs or shows its help.
"""

from __future__ import annotations

from .group import cli  # commands are imported on use (group.COMMANDS)
from .support import exit_now, unwind_on_sigterm


def main() -> None:
    unwind_on_sigterm()
    try:
        cli(prog_name="sdt-survey")
    except SystemExit as done:  # click ends every run so, with the command's exit status
        exit_now(done.code)


__all__ = ["cli", "main"]
