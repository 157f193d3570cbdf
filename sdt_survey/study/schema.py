"""The study file (``study.yaml``): its fields, their checks, and the settings it gives each analysis.

A study names the instruments, the response files of every wave, the
respondent id and grouping columns, the clinic schedule, and the cleaning
decisions applied every time (see ``docs/studies.md``). It is read with the
instrument layer's YAML reader, so every problem is reported as
``FILE:LINE:COLUMN: field: message``, all at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, StudyError
from ..instrument import bundled_instruments, read_yaml_mapping
from ..platforms import SOURCES
from ..platforms.qualtrics import STATUS_POLICIES
from ..responses.drift import DRIFT_POLICIES
from ..responses.model import INVALID_POLICIES
from ..scoring.careless import CARELESS_THRESHOLDS

DUPLICATE_POLICIES = ("error", "keep-all", "keep-first", "keep-last")
CARELESS_POLICIES = ("off", "flag", "exclude")
IDENTIFIER_POLICIES = ("drop", "keep")
SCHEDULE_COLUMNS = ("learner_column", "faculty_column", "time_column", "assigned_column", "setting_column")
TOP_KEYS = (
    "instruments",
    "waves",
    "id_column",
    "wave_column",
    "by",
    "schedule",
    "cleaning",
    "min_cell",
    "outputs",
)
CLEANING_KEYS = (
    "invalid",
    "duplicates",
    "careless",
    "identifiers",
    "pseudonymize_key",
    "qualtrics_status",
    "drift",
)


@dataclass(frozen=True)
class Wave:
    """One wave's response file, as the study names it (``file`` resolved against the study file)."""

    file: Path
    wave: Any
    source: str = "auto"
    sheet: str | int | None = None


@dataclass(frozen=True)
class Schedule:
    """The clinic schedule and its columns (the options of ``sdt-survey continuity``)."""

    file: Path
    learner_column: str | None = None
    faculty_column: str = "faculty"
    time_column: str = "date"
    assigned_column: str | None = None
    setting_column: str | None = None
    setting: str | None = None
    window: str | None = None

    def options(self) -> dict[str, Any]:
        """The schedule options as :func:`~sdt_survey.continuity.continuity_indices` takes them."""
        names = (*SCHEDULE_COLUMNS, "setting", "window")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass(frozen=True)
class Cleaning:
    """The cleaning decisions, named as :func:`~sdt_survey.scoring.score` names them."""

    invalid: str = "error"
    duplicates: str = "error"
    careless: str = "off"
    careless_thresholds: dict[str, float] = field(default_factory=dict)
    identifiers: str = "drop"
    identifier_columns: tuple[str, ...] = ()
    pseudonymize_key: Path | None = None
    qualtrics_status: str = "default"
    drift: str = "error"

    def score_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~sdt_survey.scoring.score` for these decisions."""
        return {
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "flag_careless": self.careless != "off",
            "exclude_flagged": self.careless == "exclude",
            "careless_thresholds": dict(self.careless_thresholds) or None,
            "identifiers": self.identifier_columns,
            "keep_identifiers": self.identifiers == "keep",
            "pseudonymize_key": self.pseudonymize_key,
            "qualtrics_status": self.qualtrics_status,
            "drift": self.drift,
        }


@dataclass(frozen=True)
class StudySpec:
    """A checked study file. Paths are resolved against the study file's folder."""

    path: Path
    instruments: tuple[str, ...]
    waves: tuple[Wave, ...]
    id_column: str | None = None
    wave_column: str = "wave"
    by: tuple[str, ...] = ()
    schedule: Schedule | None = None
    cleaning: Cleaning = field(default_factory=Cleaning)
    min_cell: int = 5
    outputs: Path = Path("study-output")

    def instrument_paths(self) -> list[str]:
        """Each instrument as a bundled name or an absolute path."""
        return list(self.instruments)


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


class _Checker:
    def __init__(self, doc):
        self.doc = doc
        self.problems: list[Problem] = []

    def fail(self, path: tuple, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def unknown(self, mapping: dict, known: tuple[str, ...], path: tuple) -> None:
        for name in mapping:
            if name not in known:
                self.fail((*path, name), f"unknown field; expected one of {', '.join(known)}", key=True)

    def mapping(self, value: Any, path: tuple, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a mapping")
            return {}
        return value

    def text(self, value: Any, path: tuple, *, optional: bool = True) -> str | None:
        if value is None:
            if not optional:
                self.fail(path, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            self.fail(path, "must be a non-empty text")
            return None
        return str(value)

    def choice(self, value: Any, path: tuple, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in choices:
            self.fail(path, f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def names(self, value: Any, path: tuple) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        if not isinstance(value, list):
            self.fail(path, "must be a list of column names")
            return ()
        out = []
        for i, name in enumerate(value):
            checked = self.text(name, (*path, i), optional=False)
            if checked is not None:
                out.append(checked)
        return tuple(out)


def parse_study(path: str | Path) -> StudySpec:
    """Read and check a study file; raise :class:`~sdt_survey.errors.StudyError` listing every problem.

    Parameters
    ----------
    path : path
        The study file (YAML).

    Returns
    -------
    StudySpec
    """
    path = Path(path)
    doc = read_yaml_mapping(path, "study file")
    data: dict = doc.data  # type: ignore[assignment]
    base = path.resolve().parent
    c = _Checker(doc)
    c.unknown(data, TOP_KEYS, ())

    instruments: list[str] = []
    raw = data.get("instruments")
    if raw is None:
        c.fail(("instruments",), "required: the instruments (bundled names or paths to YAML files)")
    else:
        entries = [raw] if isinstance(raw, str) else raw
        if not isinstance(entries, list) or not entries:
            c.fail(("instruments",), "must be a list of bundled names or paths")
            entries = []
        bundled = set(bundled_instruments())
        for i, entry in enumerate(entries):
            name = c.text(entry, ("instruments", i), optional=False)
            if name is None:
                continue
            if name in bundled and not name.lower().endswith((".yaml", ".yml")):
                instruments.append(name)
                continue
            resolved = _resolve(base, name)
            if not resolved.is_file():
                c.fail(("instruments", i), f"{name!r} is neither a bundled instrument nor a file")
            else:
                instruments.append(str(resolved))

    waves: list[Wave] = []
    raw = data.get("waves")
    if not isinstance(raw, list) or not raw:
        c.fail(("waves",), "required: a list of waves, each with file and wave")
        raw = []
    labels: list[Any] = []
    for i, entry in enumerate(raw):
        where = ("waves", i)
        entry = c.mapping(entry, where, "a wave")
        c.unknown(entry, ("file", "wave", "source", "sheet"), where)
        name = c.text(entry.get("file"), (*where, "file"), optional=False)
        label = entry.get("wave", i + 1)
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            c.fail((*where, "wave"), "the wave label must be a number or a text")
        elif label in labels:
            c.fail((*where, "wave"), f"wave {label!r} is named twice")
        labels.append(label)
        source = c.choice(entry.get("source"), (*where, "source"), SOURCES, "auto")
        sheet = entry.get("sheet")
        if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
            c.fail((*where, "sheet"), "the sheet is a name or a 0-based number")
            sheet = None
        if name is not None:
            file = _resolve(base, name)
            if not file.is_file():
                c.fail((*where, "file"), f"no such file: {file}")
            waves.append(Wave(file, label, source, sheet))

    id_column = c.text(data.get("id_column"), ("id_column",))
    wave_column = c.text(data.get("wave_column"), ("wave_column",)) or "wave"
    by = c.names(data.get("by"), ("by",))

    schedule = None
    raw = data.get("schedule")
    if raw is not None:
        entry = c.mapping(raw, ("schedule",), "the schedule")
        keys = ("file", *SCHEDULE_COLUMNS, "setting", "window")
        c.unknown(entry, keys, ("schedule",))
        name = c.text(entry.get("file"), ("schedule", "file"), optional=False)
        options = {k: c.text(entry.get(k), ("schedule", k)) for k in keys[1:]}
        if name is not None:
            file = _resolve(base, name)
            if not file.is_file():
                c.fail(("schedule", "file"), f"no such file: {file}")
            defaults = {"faculty_column": "faculty", "time_column": "date"}
            schedule = Schedule(file, **{k: v or defaults.get(k) for k, v in options.items()})

    raw = c.mapping(data.get("cleaning"), ("cleaning",), "cleaning")
    c.unknown(raw, CLEANING_KEYS, ("cleaning",))
    invalid = c.choice(raw.get("invalid"), ("cleaning", "invalid"), INVALID_POLICIES, "error")
    duplicates = c.choice(raw.get("duplicates"), ("cleaning", "duplicates"), DUPLICATE_POLICIES, "error")
    careless = c.mapping(raw.get("careless"), ("cleaning", "careless"), "careless")
    c.unknown(careless, ("policy", "thresholds"), ("cleaning", "careless"))
    policy = c.choice(careless.get("policy"), ("cleaning", "careless", "policy"), CARELESS_POLICIES, "off")
    thresholds: dict[str, float] = {}
    for name, value in c.mapping(
        careless.get("thresholds"), ("cleaning", "careless", "thresholds"), "thresholds"
    ).items():
        where = ("cleaning", "careless", "thresholds", name)
        if name not in CARELESS_THRESHOLDS:
            c.fail(where, f"unknown threshold; expected one of {', '.join(CARELESS_THRESHOLDS)}", key=True)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            c.fail(where, "must be a finite number")
        else:
            thresholds[name] = float(value)
    identifiers = c.mapping(raw.get("identifiers"), ("cleaning", "identifiers"), "identifiers")
    c.unknown(identifiers, ("policy", "columns"), ("cleaning", "identifiers"))
    id_policy = c.choice(
        identifiers.get("policy"), ("cleaning", "identifiers", "policy"), IDENTIFIER_POLICIES, "drop"
    )
    id_columns = c.names(identifiers.get("columns"), ("cleaning", "identifiers", "columns"))
    key = c.text(raw.get("pseudonymize_key"), ("cleaning", "pseudonymize_key"))
    if key is not None and id_column is None:
        c.fail(("cleaning", "pseudonymize_key"), "pseudonymizing needs id_column")
    qualtrics_status = c.choice(
        raw.get("qualtrics_status"), ("cleaning", "qualtrics_status"), tuple(STATUS_POLICIES), "default"
    )
    drift = c.choice(raw.get("drift"), ("cleaning", "drift"), DRIFT_POLICIES, "error")

    min_cell = data.get("min_cell", 5)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        c.fail(("min_cell",), "must be a whole number, 1 or more")
        min_cell = 5
    outputs = c.text(data.get("outputs"), ("outputs",)) or "study-output"

    if c.problems:
        raise StudyError(c.problems)
    return StudySpec(
        path=path,
        instruments=tuple(instruments),
        waves=tuple(waves),
        id_column=id_column,
        wave_column=wave_column,
        by=by,
        schedule=schedule,
        cleaning=Cleaning(
            invalid=invalid,
            duplicates=duplicates,
            careless=policy,
            careless_thresholds=thresholds,
            identifiers=id_policy,
            identifier_columns=id_columns,
            pseudonymize_key=None if key is None else _resolve(base, key),
            qualtrics_status=qualtrics_status,
            drift=drift,
        ),
        min_cell=min_cell,
        outputs=_resolve(base, outputs),
    )


#: The commented study file ``sdt-survey init`` writes; ``{...}`` fields are filled in.
TEMPLATE = """\
# A study: the instruments, the response files of every wave, and the decisions
# applied every time the data are cleaned. See docs/studies.md.
# Clean once:           sdt-survey clean {name}
# Then analyse, e.g.:   sdt-survey reliability --study {name}
# Relative paths are relative to this file's folder.

# Bundled instrument names (sdt-survey list) or paths to instrument files.
instruments:
{instruments}

# One entry per wave: the response file, the wave's label, the platform that
# exported it ({sources}) and, for Excel files, the sheet.
waves:
{waves}

# The respondent id column (checked for duplicates within a wave).
id_column: {id_column}

# The column that holds the wave label in the analysis data set.
wave_column: wave

# Grouping columns for leaders' summaries (cohorts, report).
by: [{by}]

# The clinic schedule for continuity of supervision (remove this block if none).
{schedule}

# Cleaning decisions, recorded in the manifest with the rows each one touched.
cleaning:
  # A value that is not a valid answer (a typo, an unknown code): error or as-missing.
  invalid: {invalid}
  # An id repeated within a wave: error, keep-all, keep-first or keep-last.
  duplicates: {duplicates}
  # Careless responding: off, flag (add flag columns) or exclude (drop flagged respondents).
  careless:
    policy: flag
    thresholds: {{}}   # e.g. {{evenodd: 0.2}}; defaults in docs/data-quality.md
  # Identifier columns: detected ones (names, e-mails, free text) plus those listed
  # here are dropped; `policy: keep` keeps them (never in leader-facing output).
  identifiers:
    policy: drop
    columns: []
  # A key file made by `sdt-survey keygen` replaces ids by keyed hashes (optional).
  pseudonymize_key: null
  # Qualtrics exports (source: qualtrics): survey previews, tests, spam and unfinished
  # responses. default: exclude previews, tests and spam, keep unfinished ones flagged;
  # exclude: exclude all; keep: keep all, flagged.
  qualtrics_status: default
  # A file that does not match its instrument (a stamp of another version, an item with
  # no column): error stops the clean; warn records it and goes on.
  drift: error

# Figures resting on fewer respondents than this are suppressed for leaders.
min_cell: 5

# Where `clean` writes the analysis data set and its manifest.
outputs: study-output
"""
