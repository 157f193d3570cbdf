"""The release ledger: what earlier runs have shown, so that no later run reveals more.

Suppression within one run (:func:`sdt_survey.cohorts.disclosure.protect`) guarantees
that no small group can be worked out from that run's output. It cannot see
other runs: the same data at a lower ``min_cell``, grouped another way, or
re-released after a late respondent was added, would each publish cells that,
subtracted from the first run's, single out a resident. The ledger closes that
gap by making the protection a property of the data rather than of the run:

* every cell a ``cohorts`` table or a ``report`` releases is recorded, as the
  set of respondent *versions* it sums over (a keyed hash of the respondent's
  id, the measure and the value, so an edited answer is a new version);
* every new run treats every recorded cell that shares respondents with it as
  known to the reader, and suppresses more of its own cells until nothing new
  becomes derivable (:func:`audit`);
* a re-released cell whose respondents changed (someone added, removed or
  edited) is shown only when at least ``min_cell`` respondents changed;
* the minimum cell size of the first release of these respondents is a floor
  for every later run (:meth:`ReleaseLedger.check_min_cell`).

The ledger holds no raw id, only 64-bit keyed hashes (SipHash with a random
per-ledger key stored in the ledger itself); treat it like the data it
describes. Its default place is the user's data folder
(``platformdirs.user_data_dir("sdt-survey")``), overridden by the
``SDT_SURVEY_LEDGER`` environment variable or the ``--ledger PATH`` option, so a
team can share one. The design, what it protects and what it cannot:
``docs/privacy.md``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
import secrets
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import LedgerError
from ..files import atomic_output
from ..results import Result, jsonable
from .disclosure import protect

#: Environment variable naming the ledger file used when none is given.
LEDGER_ENV = "SDT_SURVEY_LEDGER"
FORMAT = "sdt-survey release ledger"
FORMAT_VERSION = 1
_KEY_ALPHABET = string.ascii_letters + string.digits


def default_ledger_path() -> Path:
    """Where the ledger lives when none is named: ``$SDT_SURVEY_LEDGER``, else the user's data folder.

    Examples
    --------
    >>> default_ledger_path().name
    'release-ledger.json'
    """
    named = os.environ.get(LEDGER_ENV)
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("sdt-survey", appauthor=False)) / "release-ledger.json"


@dataclass
class Cell:
    """One published cell of one measure: the respondent versions its figures sum over.

    Parameters
    ----------
    measure : str
        A score id, or ``item:<id>`` for an item's answer counts.
    label : str
        The group the cell describes without its wave (``"all"``, ``"program=A"``,
        ``"item:rs1=4"``): cells with the same label in two runs are the same
        group released twice.
    identities, versions : numpy.ndarray of uint64
        Keyed hashes of each member's id, and of (id, measure, value).
    key : object
        The caller's name for the cell (what it hides when the audit says so).
    table : int
        The margin the cell belongs to, for the residual check of
        :func:`~sdt_survey.cohorts.disclosure.protect`.
    release : int, optional
        For a recorded cell, the release that showed it.
    public : bool
        A cell of this run that is shown whatever the audit finds (e.g. the
        number of respondents a report is about); the audit treats it as
        released and hides other cells instead.
    """

    measure: str
    label: str
    identities: np.ndarray
    versions: np.ndarray
    key: Any = None
    table: int = 0
    release: int | None = None
    public: bool = False
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        self.identities = np.asarray(self.identities, dtype=np.uint64)
        self.versions = np.asarray(self.versions, dtype=np.uint64)
        order = np.argsort(self.versions, kind="stable")
        self.identities, self.versions = self.identities[order], self.versions[order]
        self.digest = hashlib.sha256(self.versions.tobytes()).hexdigest()[:32]


def _pack(keys: np.ndarray) -> str:
    """64-bit keys as base64 of their little-endian bytes (a quarter of the size of JSON numbers)."""
    return base64.b64encode(np.asarray(keys, dtype="<u8").tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<u8").astype(np.uint64)


class ReleaseLedger:
    """Every cell released so far, and the minimum cell size each release used.

    Open it with :func:`open_ledger`, which holds a lock on the file while a
    run audits against it and records what it releases.
    """

    def __init__(self, path: Path | None, data: Mapping[str, Any] | None = None) -> None:
        self.path = path
        data = dict(data or {})
        self.hash_key: str = data.get("hash_key") or "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        self.releases: list[dict[str, Any]] = list(data.get("releases", []))
        self.cells: list[Cell] = [
            Cell(
                measure=c["measure"],
                label=c["label"],
                identities=_unpack(c["identities"]),
                versions=_unpack(c["versions"]),
                release=int(c["release"]),
            )
            for c in data.get("cells", [])
        ]
        self._digests = {(c.measure, c.digest) for c in self.cells}

    # -- keys ------------------------------------------------------------------------
    def _hash(self, text: pd.Series) -> np.ndarray:
        return pd.util.hash_array(text.to_numpy(dtype=object), hash_key=self.hash_key, categorize=False)

    def identities(self, ids: Iterable[Any]) -> np.ndarray:
        """Keyed hashes of respondent ids (as text, stripped)."""
        return self._hash(pd.Series(list(ids), dtype=object).astype(str).str.strip())

    def versions(self, identities: np.ndarray, measure: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Keyed hashes of (id, measure, value): an edited answer is a new version of its respondent."""
        values = pd.Series(np.asarray(values))
        rounded = values.round(10) if pd.api.types.is_float_dtype(values) else values
        text = rounded.astype(str)
        joined = pd.Series(np.asarray(identities, dtype=np.uint64).astype(str)) + "\x1f" + measure + "\x1f"
        return self._hash(joined + text.reset_index(drop=True))

    # -- what earlier releases showed ------------------------------------------------
    def knows(self, cell: Cell) -> bool:
        """Whether exactly this cell (same measure, same respondent versions) was released before."""
        return (cell.measure, cell.digest) in self._digests

    def _sharing(self, versions: np.ndarray, measure: str | None = None) -> np.ndarray:
        """Positions of the recorded cells (of ``measure``, or any) holding one of ``versions``."""
        chosen = [i for i, c in enumerate(self.cells) if measure is None or c.measure == measure]
        if not chosen:
            return np.zeros(0, dtype=int)
        # One membership test over every recorded version at once, not one per cell.
        owner = np.concatenate([np.full(len(self.cells[i].versions), i) for i in chosen])
        stacked = np.concatenate([self.cells[i].versions for i in chosen])
        return np.unique(owner[np.isin(stacked, versions)])

    def touching(self, measure: str, versions: np.ndarray) -> list[Cell]:
        """Recorded cells of ``measure`` sharing at least one version with ``versions``."""
        return [self.cells[i] for i in self._sharing(versions, measure)]

    def check_min_cell(self, min_cell: int, versions: np.ndarray) -> None:
        """Refuse a ``min_cell`` below that of an earlier release of these respondents.

        Raises
        ------
        LedgerError
            When a release sharing respondents with this run used a larger one.
        """
        touched = {self.cells[i].release for i in self._sharing(versions)}
        earlier = [r for r in self.releases if r["release"] in touched]
        if not earlier:
            return
        floor = max(earlier, key=lambda r: r["min_cell"])
        if min_cell < floor["min_cell"]:
            raise LedgerError(
                f"minimum cell size {min_cell} is below {floor['min_cell']}, which release "
                f"{floor['release']} ({floor['command']}, {floor['time']}) of these respondents used; "
                "the minimum cell size of released data can be raised but never lowered, since comparing "
                f"the two releases would reveal groups of {min_cell} to {floor['min_cell'] - 1} "
                f"(ledger: {self.path})"
            )

    # -- recording --------------------------------------------------------------------
    def record(
        self, cells: Sequence[Cell], *, command: str, min_cell: int, details: Mapping[str, Any]
    ) -> int:
        """Add a release of ``cells`` (those not recorded before); returns the number added."""
        number = max((r["release"] for r in self.releases), default=0) + 1
        added = 0
        for cell in cells:
            if not len(cell.versions) or (cell.measure, cell.digest) in self._digests:
                continue
            self._digests.add((cell.measure, cell.digest))
            self.cells.append(Cell(cell.measure, cell.label, cell.identities, cell.versions, release=number))
            added += 1
        self.releases.append(
            {
                "release": number,
                "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "command": command,
                "min_cell": int(min_cell),
                "package": __version__,
                "cells": added,
                **{k: v for k, v in details.items()},
            }
        )
        return added

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "hash_key": self.hash_key,
            "releases": self.releases,
            "cells": [
                {
                    "release": c.release,
                    "measure": c.measure,
                    "label": c.label,
                    "identities": _pack(c.identities),
                    "versions": _pack(c.versions),
                }
                for c in self.cells
            ],
        }

    def save(self) -> None:
        """Write the ledger atomically (:func:`sdt_survey.files.atomic_output`), for its owner only."""
        if self.path is None:
            return
        with atomic_output(self.path, overwrite=True, label="the release ledger") as temporary:
            temporary.write_text(json.dumps(self.to_dict(), separators=(",", ":")), encoding="utf-8")
            os.chmod(temporary, 0o600)


def _read(path: Path) -> ReleaseLedger:
    if not path.exists():
        return ReleaseLedger(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerError(f"{path}: cannot read the release ledger: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LedgerError(f"{path}: not an sdt-survey release ledger; name another file with ledger=PATH")
    if data.get("version") != FORMAT_VERSION:
        raise LedgerError(f"{path}: release ledger version {data.get('version')!r} is not supported")
    try:
        return ReleaseLedger(path, data)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # binascii.Error is a ValueError
        raise LedgerError(f"{path}: the release ledger is damaged ({exc}); restore it from a copy") from exc


@contextmanager
def open_ledger(
    ledger: str | os.PathLike | ReleaseLedger | bool | None = True,
) -> Iterator[ReleaseLedger | None]:
    """The ledger to audit against and record into, locked while the run uses it.

    Parameters
    ----------
    ledger : path, ReleaseLedger, True or None/False
        ``True`` (the default everywhere): :func:`default_ledger_path`; a path:
        that file (created on first release); a :class:`ReleaseLedger`: used as
        is (in memory when its ``path`` is None); ``None`` or ``False``: no
        ledger, so nothing protects against comparing this run's output with
        another's.

    Yields
    ------
    ReleaseLedger or None
        Saved on a clean exit when it has a path.
    """
    if ledger is None or ledger is False:
        yield None
        return
    if isinstance(ledger, ReleaseLedger):
        yield ledger
        if ledger.path is not None:
            ledger.save()
        return
    path = default_ledger_path() if ledger is True else Path(ledger).expanduser()
    if path.is_dir():
        raise LedgerError(f"{path}: is a folder; the release ledger is a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise LedgerError(f"{path}: cannot open the release ledger: {exc.strerror or exc}") from exc
    try:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX: no lock, runs must not overlap
            pass
        book = _read(path)
        yield book
        book.save()
    finally:
        lock.close()


# ---------------------------------------------------------------------------------- audit


@dataclass
class AuditResult(Result):
    """What the cross-run audit asks the run to hide, and why.

    Attributes
    ----------
    hide : set
        Keys of this run's cells to hide (as :func:`audit` received them).
    already_disclosed : int
        Small groups that earlier releases already disclose (nothing this run adds to them).
    changed : list of str
        Labels of re-released groups whose respondents changed by fewer than ``min_cell``.
    notes, warnings : list of str
    """

    hide: set[Any]
    already_disclosed: int = 0
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _hidden(self) -> list[Any]:
        return sorted(self.hide, key=repr)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "hide": [list(key) if isinstance(key, tuple) else key for key in self._hidden()],
                "already_disclosed": self.already_disclosed,
                "changed": list(self.changed),
                "notes": list(self.notes),
                "warnings": list(self.warnings),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per cell to hide: its key."""
        return pd.DataFrame({"hide": [repr(key) for key in self._hidden()]})

    def summary(self) -> str:
        lines = [
            f"Release-ledger audit: {len(self.hide)} cell(s) to hide; {self.already_disclosed} small "
            "group(s) already disclosed by earlier releases"
        ]
        if self.changed:
            lines.append(f"  re-released with few respondents changed: {', '.join(self.changed)}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _alike(a: Cell, b: Cell) -> bool:
    """Two releases of the same group: same label, and more versions in common than apart."""
    if a.label != b.label:
        return False
    common = np.intersect1d(a.versions, b.versions, assume_unique=False).size
    return common > 0 and common >= np.setxor1d(a.versions, b.versions).size


def audit(current: Sequence[Cell], ledger: ReleaseLedger, *, min_cell: int, hidden: set[Any]) -> AuditResult:
    """This run's cells to hide so that, with every earlier release known, nothing small is derivable.

    For each measure, the universe is every respondent version in this run's
    cells and in the recorded cells that share a version with them; atoms are
    the versions with the same membership in all those cells. The recorded
    cells are visible and can no longer be hidden; this run's cells named in
    ``hidden`` are suppressed already. :func:`~sdt_survey.cohorts.disclosure.protect`
    then hides more of this run's cells until no suppressed cell, no atom
    with between 1 and ``min_cell - 1`` versions, and no difference between a
    cell and an earlier release of the same group is derivable. Finally a
    visible cell that re-releases a recorded group with between 1 and
    ``min_cell - 1`` respondents added, removed or changed is hidden: the
    difference between the two releases would be theirs.

    Parameters
    ----------
    current : sequence of Cell
        This run's cells, each with its ``key``.
    ledger : ReleaseLedger
    min_cell : int
    hidden : set
        Keys this run already suppresses.

    Returns
    -------
    AuditResult
        ``hide`` holds the keys to suppress as well.
    """
    result = AuditResult(hide=set())
    by_measure: dict[str, list[Cell]] = {}
    for cell in current:
        if len(cell.versions):
            by_measure.setdefault(cell.measure, []).append(cell)
    for measure, cells in by_measure.items():
        if all(c.public or ledger.knows(c) for c in cells):
            continue  # a re-release of cells already shown: nothing new to derive from
        ours = np.unique(np.concatenate([c.versions for c in cells]))
        earlier = ledger.touching(measure, ours)
        if not earlier:
            continue
        everything = [*cells, *earlier]
        universe = np.unique(np.concatenate([c.versions for c in everything]))
        incidence = np.zeros((len(everything), len(universe)), dtype=bool)
        for row, cell in enumerate(everything):
            incidence[row, np.searchsorted(universe, cell.versions)] = True
        # Versions with the same membership form one atom; rows of packed bits sort fast.
        packed = np.ascontiguousarray(np.packbits(incidence, axis=0).T)
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        membership = incidence[:, first].astype(float)
        patterns = incidence[:, first].T
        n_ours = len(cells)
        released = np.array([c.public or ledger.knows(c) for c in cells] + [True] * len(earlier))
        forced = np.array([c.key in hidden for c in cells] + [False] * len(earlier))
        by_label: dict[str, list[int]] = {}
        for j, e in enumerate(earlier):
            by_label.setdefault(e.label, []).append(j)
        pairs = [
            (i, j) for i, c in enumerate(cells) for j in by_label.get(c.label, []) if _alike(c, earlier[j])
        ]
        differences = []
        for i, j in pairs:
            a, b = patterns[:, i], patterns[:, n_ours + j]
            differences += [a & ~b, b & ~a]
        checks = np.vstack(
            [np.eye(len(counts)), *([np.array(differences, dtype=float)] if differences else [])]
        )
        tables = np.array([c.table for c in cells] + [-1] * len(earlier))
        lost: list[np.ndarray] = []
        suppressed = protect(
            membership,
            counts.astype(float),
            min_cell=min_cell,
            tables=tables,
            forced=forced,
            checks=checks,
            released=released,
            disclosed=lost,
        )
        result.already_disclosed += len(lost)
        result.hide |= {
            c.key for c, s in zip(cells, suppressed[:n_ours], strict=True) if s and c.key not in hidden
        }
        for i, j in pairs:
            cell, before = cells[i], earlier[j]
            if suppressed[i] or released[i]:
                continue
            moved = np.setxor1d(cell.versions, before.versions)
            owners = np.concatenate(
                [
                    cell.identities[np.isin(cell.versions, moved)],
                    before.identities[np.isin(before.versions, moved)],
                ]
            )
            changed = np.unique(owners).size
            if 0 < changed < min_cell:
                result.hide.add(cell.key)
                result.changed.append(cell.label)
    return result


__all__ = [
    "LEDGER_ENV",
    "AuditResult",
    "Cell",
    "LedgerError",
    "ReleaseLedger",
    "audit",
    "default_ledger_path",
    "open_ledger",
]
