"""What every writing command shares: the ``--force`` option and the pre-flight check of its files.

Each command that writes calls :func:`check_files` with its outputs and inputs
*before* any computation, so that a clash (an output that is an input, two
outputs that are one file, an existing output without ``--force``, a folder
that cannot be created) is refused in a moment rather than after minutes of
work. The rules themselves live in :mod:`sdt_survey.files`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

import click

from ..files import PathLike, check_folder_output, check_paths

FORCE_HELP = (
    "Replace output files that already exist (without it, the command stops before any work and names "
    "the file). Never allows an output to be one of the inputs, and never replaces or removes files "
    "sdt-survey did not write inside an output folder (docs/safety.md)."
)


def unwind_on_sigterm() -> None:
    """Make SIGTERM unwind the program like Ctrl-C does, so that a write in progress cleans up.

    By default SIGTERM (``kill PID``, a job scheduler's time limit) ends Python
    at once: the output would still be whole (writes are atomic), but its
    temporary file would stay behind. Raising ``SystemExit`` instead runs the
    clean-up of every write in progress; the exit status is 143 (128 + 15), as
    for a process ended by the signal.
    """

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    with suppress(ValueError):  # signals can only be set from the main thread
        signal.signal(signal.SIGTERM, leave)


def exit_now(code: object) -> None:
    """End the process with ``code`` (a ``SystemExit`` code) without tearing the interpreter down.

    Once a command has finished (its files written and closed: every write is atomic), Python's
    orderly shutdown only frees memory: it clears hundreds of numpy and pandas modules one by one
    and waits for BLAS's worker threads, about a tenth of a second of every run (issue 15). The
    exit handlers still run (``atexit``: logging, temporary folders, worker processes) and the
    standard streams are flushed; with Python threads still running, the ordinary exit is taken
    so that they can finish.
    """
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe or a replaced stream
            if stream is sys.stdout and status == 0:
                status = 120  # what Python returns when flushing standard output fails at exit
    os._exit(status)


def force_option(help: str = FORCE_HELP):
    """The ``--force`` flag of every command that writes files."""
    return click.option("--force", is_flag=True, default=False, help=help)


def existing_files(values: Sequence[str] | None) -> list[str]:
    """The arguments that name files (instrument arguments may also be bundled names)."""
    return [value for value in values or () if Path(value).is_file()]


def check_files(
    outputs: Mapping[str, PathLike | None],
    inputs: Mapping[str, PathLike | Sequence[PathLike] | None],
    *,
    force: bool,
    folder: str | None = None,
    own_files_ok: bool = False,
) -> None:
    """Refuse unsafe outputs of a command before it does any work.

    Parameters
    ----------
    outputs : mapping of option to path
        Every file (or folder) the command will write, by the option that
        names it (``--out``, ``--report``, ``the JSON beside --out``).
    inputs : mapping of description to path(s)
        Every file the command reads, described as a person would
        (``the response file``, ``the --map file``).
    force : bool
        ``--force``.
    folder : str, optional
        The option among ``outputs`` that names a folder output (ReproSchema
        export, simulate, demo), checked for files the package did not write.
    own_files_ok : bool
        Whether that folder may hold the package's own earlier outputs without
        ``--force`` (demo and simulate).
    """
    inputs = {what: _paths_only(value) for what, value in inputs.items()}
    check_paths(outputs, inputs, overwrite=force, folders=() if folder is None else (folder,))
    if folder is not None and outputs.get(folder) is not None:
        check_folder_output(outputs[folder], overwrite=force, own_files_ok=own_files_ok, label=folder)


def _paths_only(value):
    """Inputs that are files (an analysis data set handed over by ``--study`` is not read)."""
    if isinstance(value, (str, Path)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, (str, Path))]
    return None
