"""One module per group of commands; importing them registers the commands on the group."""

from . import continuity, deploy, instruments, leaders, psychometrics, scoring, simulation, study  # noqa: F401
