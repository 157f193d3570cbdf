"""Refuse a simulated design that would not fit in memory, before allocating any of it.

A typo such as ``--programs 10000000`` used to start allocating arrays for
hundreds of millions of residents until the operating system killed the
process (or the machine swapped to a halt). The estimate here is a few lines
of arithmetic from the design, calibrated on measured peaks of
:func:`sdt_survey.simulate.simulate` and rounded up: it only has to tell a
design that fits from one that is orders of magnitude too large.
"""

from __future__ import annotations

import os

from .errors import DesignError

#: Bytes held per simulated clinic session (the schedule frame: ids, dates, faculty, continuity).
BYTES_PER_SESSION = 200
#: Bytes held per answer cell (latent draws, codes, the responses frame and its copies).
BYTES_PER_ANSWER = 64
#: Columns of a responses row besides the items (ids, program, clinic, pgy, cohort, wave, ...).
EXTRA_COLUMNS = 10
#: Share of the machine's physical memory a design may need before it is refused.
USABLE_SHARE = 0.8


def physical_memory_bytes() -> int | None:
    """The machine's physical memory in bytes, or None where the system does not say.

    Examples
    --------
    >>> memory = physical_memory_bytes()
    >>> memory is None or memory > 0
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX systems
        return None


def simulation_bytes(design, n_items: int) -> int:
    """Rough peak memory, in bytes, of simulating ``design`` with ``n_items`` items.

    Parameters
    ----------
    design : SimulationDesign
        Its largest case counts: every program at the top of the residents
        range, every resident at the top of the sessions range.
    n_items : int
        Items of the instruments simulated.

    Returns
    -------
    int

    Examples
    --------
    >>> from sdt_survey.simulate import SimulationDesign
    >>> simulation_bytes(SimulationDesign(n_programs=14), 24) // 2**20  # about 7 MiB
    7
    """
    residents = int(design.n_programs) * int(design.residents_per_program[1])
    per_resident = BYTES_PER_SESSION * int(design.sessions_per_resident[1]) + BYTES_PER_ANSWER * int(
        design.n_waves
    ) * (int(n_items) + EXTRA_COLUMNS)
    return residents * per_resident


def _size(n_bytes: float) -> str:
    """``n_bytes`` in the largest binary unit that keeps it at 1 or more: ``3.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def require_memory(needed: int, what: str, available: int | None = None) -> None:
    """Raise :class:`DesignError` when ``needed`` bytes would not fit in this machine's memory.

    Parameters
    ----------
    needed : int
        Estimated peak bytes.
    what : str
        What needs them, for the message (e.g. ``"this design (420,000 residents)"``).
    available : int, optional
        Physical memory in bytes (default: this machine's, from ``os.sysconf``).

    Raises
    ------
    DesignError
        Saying roughly how much would be needed and how much the machine has.

    Examples
    --------
    >>> require_memory(2**40, "this design", available=2**34)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sdt_survey.errors.DesignError: this design would need about 1.0 TiB of memory, but this machine has...
    """
    if available is None:
        available = physical_memory_bytes()
    if available is None or needed <= USABLE_SHARE * available:
        return
    raise DesignError(
        f"{what} would need about {_size(needed)} of memory, but this machine has {_size(available)}; "
        "make the design smaller (fewer programs or residents)"
    )


__all__ = ["physical_memory_bytes", "require_memory", "simulation_bytes"]
