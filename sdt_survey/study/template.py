"""Writing a new study file: the commented template filled with a user's answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..files import write_text
from ..platforms import SOURCES
from .schema import TEMPLATE

#: What ``sdt-survey init --yes`` writes: the simulator's layout (``sdt-survey simulate``).
DEFAULTS = {
    "instruments": "bpn-residency",
    "waves": "responses_w1.csv, responses_w2.csv",
    "id_column": "resident",
    "by": "program",
    "schedule": "",
    "invalid": "as-missing",
    "duplicates": "keep-first",
}


def fill_template(answers: dict[str, str]) -> str:
    """The study file's text for ``answers`` (the keys of :data:`DEFAULTS`; lists comma-separated)."""
    instruments = [s.strip() for s in answers["instruments"].split(",") if s.strip()]
    files = [s.strip() for s in answers["waves"].split(",") if s.strip()]
    waves = "\n".join(f"  - file: {f}\n    wave: {i}\n    source: auto" for i, f in enumerate(files, 1))
    if answers["schedule"]:
        schedule = (
            f"schedule:\n  file: {answers['schedule']}\n  learner_column: {answers['id_column']}\n"
            "  faculty_column: faculty\n  time_column: session_date\n  assigned_column: assigned\n"
            "  setting_column: setting\n  setting: null\n  window: null"
        )
    else:
        schedule = (
            "# schedule:\n#   file: schedule.csv\n#   learner_column: resident\n#   faculty_column: faculty\n"
            "#   time_column: session_date\n#   assigned_column: assigned\n#   setting_column: setting"
        )
    return TEMPLATE.format(
        name="study.yaml",
        instruments="\n".join(f"  - {i}" for i in instruments),
        sources=", ".join(SOURCES),
        waves=waves,
        id_column=answers["id_column"],
        by=", ".join(s.strip() for s in answers["by"].split(",") if s.strip()),
        schedule=schedule,
        invalid=answers["invalid"],
        duplicates=answers["duplicates"],
    )


def write_study_file(
    folder: str | Path = ".",
    *,
    instruments: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
    id_column: str | None = None,
    by: Sequence[str] | None = None,
    schedule: str | None = None,
    invalid: str | None = None,
    duplicates: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a commented ``study.yaml`` in ``folder`` and return its path.

    Every argument left out takes the value in :data:`DEFAULTS`; each setting
    is explained in a comment of the file. An existing file is replaced only
    with ``overwrite=True``.

    Examples
    --------
    >>> import tempfile
    >>> path = write_study_file(tempfile.mkdtemp(), waves=["w1.csv"], by=["program", "pgy"])
    >>> "  - file: w1.csv" in path.read_text(), path.name
    (True, 'study.yaml')
    """
    answers = dict(DEFAULTS)
    given = {
        "instruments": instruments,
        "waves": waves,
        "id_column": id_column,
        "by": by,
        "schedule": schedule,
        "invalid": invalid,
        "duplicates": duplicates,
    }
    for key, value in given.items():
        if value is not None:
            answers[key] = value if isinstance(value, str) else ", ".join(value)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return write_text(folder / "study.yaml", fill_template(answers), overwrite=overwrite)


__all__ = ["DEFAULTS", "fill_template", "write_study_file"]
