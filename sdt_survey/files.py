"""Writing files without ever losing one: atomic writes, pre-flight checks, owned folders.

Every file the package writes goes through this module, which guarantees:

* **Atomic writes.** A file is written to a temporary file in the same folder
  (``.NAME.sdt-tmp-XXXXXXXX.SUFFIX``, keeping the suffix so that writers which
  choose a format by extension still work), flushed to disk, and renamed over
  the target in one step. An interrupt at any moment leaves the old complete
  file or the new complete file, never a truncated one.
* **Complete or absent.** :class:`Transaction` stages several files and renames
  them into place only once all were written; :func:`folder_output` stages a
  whole folder (renamed into place in one step when the folder is new).
* **Nothing replaced silently.** An existing output is replaced only with
  ``overwrite=True`` (``--force``); :func:`check_paths` refuses, before any
  computation, an output that is one of the command's inputs, two outputs that
  are the same file, and an output whose folder cannot be created.
* **Nothing deleted that the package did not write.** A folder output records
  the files it wrote, with their SHA-256, in :data:`MANIFEST_NAME`; only those
  files are ever replaced or removed, and only while unchanged.

This module imports only the standard library (no pandas), so every layer of
the package can use it. See docs/safety.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OutputError

#: The manifest a folder output keeps of the files the package wrote in it.
MANIFEST_NAME = ".sdt-survey-files.json"
#: Marks every temporary file or folder name the package creates.
TEMP_MARK = ".sdt-tmp-"

PathLike = str | os.PathLike


# ------------------------------------------------------------------ small helpers


def _temp_sibling(target: Path) -> Path:
    """A fresh, clearly ours temporary name beside ``target``, keeping its suffix."""
    return target.with_name(f".{target.name}{TEMP_MARK}{secrets.token_hex(4)}{target.suffix}")


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one of the package's temporary names."""
    return TEMP_MARK in name


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and any missing parents; return the folders created (outermost first)."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise OutputError(f"{path}: cannot create the folder: a file has that name") from None
            continue
        except OSError as exc:
            raise OutputError(f"{path}: cannot create the folder: {exc.strerror}") from exc
        created.append(path)
    return created


def _remove_empty_folders(folders: Iterable[Path]) -> None:
    """Remove folders this run created, innermost first, where they are still empty."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with suppress(OSError):  # not empty (or gone): leave it
            folder.rmdir()


def _remove_quietly(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def _fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's) content to disk before it is renamed or relied on."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _reserve(temp: Path, like: Path) -> None:
    """Create ``temp`` empty (never clobbering) with the permissions a new file or ``like`` has."""
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(descriptor)
    if like.exists():
        # Replacing a file keeps its permissions (a private scores file stays private).
        os.chmod(temp, stat.S_IMODE(like.stat().st_mode))


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file's bytes, in hexadecimal."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _exists_message(target: Path, label: str | None) -> str:
    named = f"{label} {target}" if label else str(target)
    return f"{named} already exists; pass overwrite=True to replace it"


# ------------------------------------------------------------------ atomic files


class Transaction:
    """Stage several output files and put them all in place together.

    :meth:`stage` returns a temporary path beside each target; the caller
    writes there. On :meth:`commit` every staged file is flushed and renamed
    over its target; if anything fails before that (or the ``with`` block
    raises, including on Ctrl-C), every staged file is removed and no target
    is touched. Folders created for the targets are removed again when still
    empty.

    Parameters
    ----------
    overwrite : bool
        Whether existing targets may be replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with Transaction() as files:
    ...     _ = files.stage(folder / "a.txt").write_text("a")
    ...     _ = files.stage(folder / "b.txt").write_text("b")
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    """

    def __init__(self, *, overwrite: bool = False) -> None:
        self.overwrite = overwrite
        self._staged: dict[Path, Path] = {}
        self._created: list[Path] = []

    def stage(self, target: PathLike, *, label: str | None = None) -> Path:
        """Return the temporary path to write ``target`` to (its folder is created if needed)."""
        target = Path(target)
        key = Path(os.path.abspath(target))
        if key in self._staged:
            raise OutputError(f"{target} is written twice by one command; choose distinct paths")
        if target.is_dir():
            raise OutputError(f"{target} is a folder; give a file name")
        if target.exists() and not self.overwrite:
            raise OutputError(_exists_message(target, label))
        self._created += _make_folder(target.parent)
        temp = _temp_sibling(target)
        # Registered before it exists, so that an interrupt right after creation still removes it.
        self._staged[key] = temp
        _reserve(temp, target)
        return temp

    def commit(self) -> list[Path]:
        """Flush every staged file and rename it over its target; return the targets."""
        for temp in self._staged.values():
            _fsync_path(temp)
        for target, temp in self._staged.items():
            os.replace(temp, target)
        for folder in {target.parent for target in self._staged}:
            _fsync_path(folder)
        targets = list(self._staged)
        self._staged.clear()
        self._created.clear()
        return targets

    def rollback(self) -> None:
        """Remove every staged file (targets untouched) and the folders made for them."""
        for temp in self._staged.values():
            _remove_quietly(temp)
        self._staged.clear()
        _remove_empty_folders(self._created)
        self._created.clear()

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                self.commit()
            except BaseException:
                self.rollback()
                raise
        else:
            self.rollback()


@contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False, label: str | None = None) -> Iterator[Path]:
    """Write one file atomically: yield a temporary path beside it, rename it into place on success.

    The temporary name keeps the target's suffix, so writers that choose a
    format by extension (pandas, pyreadstat, openpyxl, fpdf, matplotlib)
    still work. On any exception, including KeyboardInterrupt and
    SystemExit, the temporary file is removed and an existing target is left
    as it was.

    Parameters
    ----------
    path : path
        The file to write.
    overwrite : bool
        Replace the file if it exists; otherwise an existing file is an
        :class:`OutputError`.
    label : str, optional
        How the user named this output (e.g. ``--out``), for messages.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as temp:
    ...     _ = temp.write_text("whole")
    >>> target.read_text()
    'whole'
    """
    with Transaction(overwrite=overwrite) as files:
        yield files.stage(path, label=label)


def write_text(
    path: PathLike, text: str, *, overwrite: bool = False, encoding: str = "utf-8", newline: str | None = None
) -> Path:
    """Write ``text`` to ``path`` atomically and return the path (see :func:`atomic_output`).

    ``newline=""`` writes the line ends exactly as ``text`` has them (CSV: a
    carriage return inside a quoted cell must not become two on Windows).
    """
    with atomic_output(path, overwrite=overwrite) as temp:
        temp.write_text(text, encoding=encoding, newline=newline)
    return Path(path)


# ------------------------------------------------------------------ pre-flight


def _as_paths(value: PathLike | Sequence[PathLike] | None) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    return [Path(v) for v in value if v is not None]


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same real path, or (hard links) the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_folder_creatable(folder: PathLike, *, label: str | None = None) -> None:
    """Refuse, before any work, a folder that could not be created at write time.

    The nearest existing ancestor must be a writable folder: a file anywhere
    on the way (``out.csv/x``) or a read-only folder is refused now rather
    than after minutes of computation.
    """
    folder = Path(folder)
    probe = Path(os.path.abspath(folder))
    while not probe.exists():
        if probe.is_symlink():  # a dangling symbolic link cannot be created through
            raise OutputError(f"{label + ' ' if label else ''}{folder}: {probe} is a broken link")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            f"{label + ' ' if label else ''}{folder}: cannot create the folder: {probe} is a file"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{label + ' ' if label else ''}{folder}: the folder {probe} is not writable")


def check_paths(
    outputs: Mapping[str, PathLike | None],
    inputs: Mapping[str, PathLike | Sequence[PathLike] | None] | None = None,
    *,
    overwrite: bool = False,
    folders: Collection[str] = (),
) -> None:
    """Refuse unsafe outputs before any computation.

    Parameters
    ----------
    outputs : mapping of label to path
        Every file the command will write, labelled as the user named it
        (``"--out"``, ``"--report"``, ``"the JSON beside --out"``); ``None``
        values are ignored.
    inputs : mapping of description to path(s)
        Every file the command reads (``"the response file"``: path);
        names that are not files (a bundled instrument) are ignored.
    overwrite : bool
        Whether existing outputs may be replaced (``--force``).
    folders : collection of str
        The labels of ``outputs`` that are folders (checked by
        :func:`check_folder_output` instead of as files).

    Raises
    ------
    OutputError
        An output that is one of the inputs (naming both), two outputs that
        are the same file, an existing output without ``overwrite``, an
        output that is a folder, or a folder that cannot be created.
    """
    given = {label: Path(path) for label, path in outputs.items() if path is not None}
    readable = [
        (description, path) for description, value in (inputs or {}).items() for path in _as_paths(value)
    ]
    # A missing input still counts (a key file about to be created); a folder does not.
    readable = [(description, path) for description, path in readable if not path.is_dir()]
    seen: list[tuple[str, Path]] = []
    for label, path in given.items():
        for description, source in readable:
            if _same_file(path, source):
                raise OutputError(
                    f"{label} {path} is {description} ({source}); writing there would destroy an "
                    "input: choose another path"
                )
        for other_label, other in seen:
            if _same_file(path, other):
                raise OutputError(
                    f"{label} {path} and {other_label} {other} are the same file; choose distinct paths"
                )
        seen.append((label, path))
        if label in folders:
            continue
        if path.is_dir():
            raise OutputError(f"{label} {path} is a folder; give a file name")
        if path.exists() and not overwrite:
            raise OutputError(_exists_message(path, label))
        check_folder_creatable(path.parent, label=label)


# ------------------------------------------------------------------ folder outputs


def read_manifest(folder: PathLike) -> dict[str, str]:
    """The files the package recorded as written in ``folder``: relative path to SHA-256."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        files = content["files"]
        return {str(name): str(digest) for name, digest in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        # An unreadable manifest proves nothing: every file counts as the user's.
        return {}


def _folder_files(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative, POSIX), leaving out the manifest and our temporaries."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_temporary(d)]
        for name in files:
            if is_temporary(name):
                continue
            relative = Path(root, name).relative_to(folder).as_posix()
            if relative != MANIFEST_NAME:
                found.append(relative)
    return sorted(found)


@dataclass
class FolderSurvey:
    """What a folder holds, as seen by :func:`survey_folder`."""

    own: list[str] = field(default_factory=list)  # written by the package, unchanged since
    edited: list[str] = field(default_factory=list)  # written by the package, changed since
    foreign: list[str] = field(default_factory=list)  # never written by the package


def survey_folder(folder: PathLike) -> FolderSurvey:
    """Sort the files in ``folder`` into the package's own, own-but-edited, and the user's."""
    folder = Path(folder)
    result = FolderSurvey()
    if not folder.is_dir():
        return result
    manifest = read_manifest(folder)
    for relative in _folder_files(folder):
        if relative not in manifest:
            result.foreign.append(relative)
        elif file_sha256(folder / relative) == manifest[relative]:
            result.own.append(relative)
        else:
            result.edited.append(relative)
    return result


def _listing(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_folder_output(
    folder: PathLike, *, overwrite: bool = False, own_files_ok: bool = False, label: str = "--out"
) -> FolderSurvey:
    """Refuse, before any work, a folder output that would touch files it should not.

    Parameters
    ----------
    folder : path
        The folder to write.
    overwrite : bool
        ``--force``: write beside files the package did not write (they are
        still never replaced or removed) and replace its own earlier files.
    own_files_ok : bool
        Replace the package's own unchanged earlier files without
        ``overwrite`` (``demo`` and ``simulate`` re-run into their folder).
    label : str
        How the user named the folder, for messages.

    Returns
    -------
    FolderSurvey
        What the folder holds now.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{label} {folder} is a file; this output is a folder")
    if not folder.exists():
        check_folder_creatable(folder, label=label)
        return FolderSurvey()
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{label} {folder}: the folder is not writable")
    found = survey_folder(folder)
    if overwrite:
        return found
    if found.foreign or found.edited:
        others = found.foreign + found.edited
        raise OutputError(
            f"{label} {folder} holds files sdt-survey did not write or that were edited since "
            f"({_listing(others)}); choose an empty folder, or pass overwrite=True to write beside them "
            "(files sdt-survey did not write are never replaced or removed)"
        )
    if found.own and not own_files_ok:
        raise OutputError(
            f"{label} {folder} holds an earlier output ({_listing(found.own)}); "
            "pass overwrite=True to replace it"
        )
    return found


@dataclass
class FolderStage:
    """A folder being written by :func:`folder_output`.

    Writers write under :attr:`root`; after the ``with`` block, :attr:`kept`
    lists the user's files that stood where the package would have written an
    optional file (they were kept), :attr:`removed` the package's stale
    files removed, and :attr:`edited` stale files kept because the user
    changed them.
    """

    root: Path
    folder: Path
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    def final(self, path: PathLike) -> Path:
        """Where a path under :attr:`root` ends up once the folder is in place."""
        return self.folder / Path(path).relative_to(self.root)


def _write_manifest(folder: Path, digests: Mapping[str, str], *, overwrite: bool = True) -> None:
    text = json.dumps(
        {
            "written_by": "sdt-survey",
            "note": "the files sdt-survey wrote here; only these are ever replaced or removed by it",
            "files": dict(sorted(digests.items())),
        },
        indent=1,
    )
    write_text(folder / MANIFEST_NAME, text + "\n", overwrite=overwrite)


@contextmanager
def folder_output(
    folder: PathLike,
    *,
    overwrite: bool = False,
    own_files_ok: bool = False,
    yield_to_user: Collection[str] = (),
    label: str = "--out",
) -> Iterator[FolderStage]:
    """Write a folder of outputs that is complete or absent, touching only the package's own files.

    The writer writes under the yielded stage's ``root`` (a temporary
    folder). A new folder is then renamed into place in one step. Into an
    existing folder, every staged file is renamed over its target only after
    all were written and checked; the package's stale files (listed in the
    old manifest, unchanged, not part of this output) are removed, edited
    ones kept and reported; the folder itself is never removed.

    Parameters
    ----------
    folder : path
        The folder to write.
    overwrite, own_files_ok, label
        As :func:`check_folder_output` (checked again here).
    yield_to_user : collection of str
        Relative paths of optional files (a README) that give way to a file
        of the user's at the same path instead of failing the output.

    Raises
    ------
    OutputError
        When a file the package did not write stands where a required output
        goes (it is never replaced, even with ``overwrite``).
    """
    folder = Path(folder)
    check_folder_output(folder, overwrite=overwrite, own_files_ok=own_files_ok, label=label)
    fresh = not folder.exists()
    parent = folder.parent
    created = _make_folder(parent) if fresh else []
    token = secrets.token_hex(4)
    # A new folder is staged beside it (one rename puts it in place); an existing one inside it.
    staging = (
        folder.with_name(f".{folder.name}{TEMP_MARK}{token}") if fresh else folder / f"{TEMP_MARK}{token}"
    )
    staging.mkdir()
    stage = FolderStage(root=staging, folder=folder)
    try:
        yield stage
        written = _folder_files(staging)
        digests = {relative: file_sha256(staging / relative) for relative in written}
        if fresh:
            _write_manifest(staging, digests)
            for relative in written:
                _fsync_path(staging / relative)
            os.rename(staging, folder)  # the whole tree appears at once
            _fsync_path(parent)
        else:
            _merge_into(folder, staging, digests, stage, yield_to_user, label)
    except BaseException:
        _remove_quietly(staging)
        _remove_empty_folders(created)
        raise
    _remove_quietly(staging)


def _merge_into(
    folder: Path,
    staging: Path,
    digests: dict[str, str],
    stage: FolderStage,
    yield_to_user: Collection[str],
    label: str,
) -> None:
    """Put a staged tree into an existing folder, replacing only the package's own files."""
    old = read_manifest(folder)
    blocked = []
    for relative in list(digests):
        target = folder / relative
        if (target.exists() or target.is_symlink()) and relative not in old:
            if relative in yield_to_user:
                stage.kept.append(relative)
                del digests[relative]
            else:
                blocked.append(relative)
        elif target.is_dir() or any(
            parent.exists() and not parent.is_dir() for parent in target.parents if folder in parent.parents
        ):
            blocked.append(relative)  # a folder, or a file where one of its folders must go
    if blocked:
        raise OutputError(
            f"{label} {folder}: {_listing(blocked)} would be replaced but sdt-survey did not write "
            f"{'it' if len(blocked) == 1 else 'them'}; files it did not write are never replaced, even "
            "with overwrite=True: move them away or choose another folder"
        )
    for relative in digests:
        _fsync_path(staging / relative)
    created: list[Path] = []
    for relative in digests:
        target = folder / relative
        created += _make_folder(target.parent)
        os.replace(staging / relative, target)
    for relative, digest in old.items():
        if relative in digests:
            continue
        target = folder / relative
        if not target.is_file():
            continue
        if file_sha256(target) == digest:
            target.unlink()
            stage.removed.append(relative)
            _remove_empty_folders([p for p in target.parents if folder in p.parents])
        else:
            # The user changed it: it is theirs now; keep it, and stop listing it as ours.
            stage.edited.append(relative)
    _write_manifest(folder, digests)
    _fsync_path(folder)


__all__ = [
    "MANIFEST_NAME",
    "TEMP_MARK",
    "FolderStage",
    "FolderSurvey",
    "OutputError",
    "Transaction",
    "atomic_output",
    "check_folder_creatable",
    "check_folder_output",
    "check_paths",
    "file_sha256",
    "folder_output",
    "is_temporary",
    "read_manifest",
    "survey_folder",
    "write_text",
]
