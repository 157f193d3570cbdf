"""Pseudonymization keys and pseudonyms that cannot be linked back.

A pseudonym is HMAC-SHA256(key, id), cut to 32 hexadecimal characters. The
same key gives the same pseudonym at every wave, so waves still link; without
the key nobody can recompute a pseudonym from a guessed id.

A key is made only on purpose, with :func:`keygen` (``sdt-survey keygen
PATH``): a missing key file is an error, never a new key, so that a mistyped
path at wave 2 cannot start a key that links to nobody. A key is read by
:func:`read_key`, which refuses weak keys and (on POSIX systems) key files
that other users can read or write.

The key file is text: comment lines starting with ``#``, then one line of
hexadecimal (64 characters for the 32 random bytes :func:`keygen` writes).
Files made by earlier versions (the hexadecimal line alone) are read as they
are and give the same pseudonyms.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import KeyFileError

#: Bytes of key material :func:`keygen` writes.
KEY_BYTES = 32
#: The fewest bytes of key material accepted.
MIN_KEY_BYTES = 16
#: The fewest distinct byte values accepted (16 random bytes have about 15.5).
MIN_DISTINCT_BYTES = 8
#: Hexadecimal characters kept of each HMAC.
PSEUDONYM_LENGTH = 32
#: A key file larger than this is not a key file.
MAX_KEY_FILE_BYTES = 4096

_HEADER = (
    "# sdt-survey pseudonymization key: {n} random bytes, hexadecimal (HMAC-SHA256).\n"
    "# Keep it private (mode 600) and keep it safe: the same key links every wave;\n"
    "# a new key gives new pseudonyms that link to none of the old ones.\n"
)


def keygen(path: str | Path, *, force: bool = False) -> Path:
    """Write a new random pseudonymization key, readable and writable by its owner only.

    Parameters
    ----------
    path : path
        The key file to create. Its folder is created if needed.
    force : bool
        Replace an existing key file. Pseudonyms made with the old key will
        never match those made with the new one (a :class:`UserWarning` says
        so); without ``force`` an existing file is refused, and a file that is
        not a key is refused even with it.

    Returns
    -------
    pathlib.Path
        The key file: 32 bytes from :mod:`secrets`, hexadecimal, after comment
        lines; mode 600. It is written to a temporary file in the same folder
        and renamed into place, so it is never seen half-written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> key = keygen(folder / "program.key")
    >>> len(read_key(key))
    32
    """
    path = Path(path)
    if path.is_dir():
        raise KeyFileError(f"{path}: is a folder; give the path of the key file to create")
    if path.exists() or path.is_symlink():
        if not force:
            raise KeyFileError(
                f"{path}: a key file already exists; it is not replaced. Replacing it (force=True) "
                "means pseudonyms made with it will never link to new ones"
            )
        try:  # --force replaces an earlier key, never some other file of the user's
            read_key(path, allow_shared=True)
        except KeyFileError:
            raise KeyFileError(
                f"{path}: exists and is not a key file; keygen(force=True) replaces only an earlier key, "
                "so choose another path"
            ) from None
        warnings.warn(
            f"{path}: replaced by a new key; pseudonyms made with the old key will not link to new ones",
            UserWarning,
            stacklevel=2,
        )
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only from the first byte (O_EXCL: never through someone else's file).
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create the key file: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(_HEADER.format(n=KEY_BYTES) + key.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise KeyFileError(f"{path}: cannot write the key file: {exc.strerror or exc}") from exc
        raise
    return path


def key_is_private(path: str | Path) -> bool:
    """Whether no one but the owner can read or write the key file (always true off POSIX)."""
    if os.name != "posix":
        return True
    return not (Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def read_key(path: str | Path, *, allow_shared: bool = False) -> bytes:
    """The key material of a key file made by :func:`keygen`, checked.

    Parameters
    ----------
    path : path
        The key file.
    allow_shared : bool
        Accept a key file that other users may read or write (POSIX mode
        bits ``077``), e.g. in a folder private to a team.

    Raises
    ------
    KeyFileError
        The file is missing (make it with ``sdt-survey keygen``), is not a key
        file, holds a weak key (fewer than 16 bytes, or fewer than 8 distinct
        byte values, such as one byte repeated), or is readable or writable by
        others without ``allow_shared``.
    """
    path = Path(path)
    if not path.exists():
        raise KeyFileError(
            f"{path}: no such key file. Keys are made only on purpose: run `sdt-survey keygen {path}` "
            "(Python: sdt_survey.keygen(path)) once, keep the file, and use it for every wave"
        )
    if not path.is_file():
        raise KeyFileError(f"{path}: not a key file (it is a folder or a device)")
    if not allow_shared and not key_is_private(path):
        mode = stat.S_IMODE(path.stat().st_mode)
        raise KeyFileError(
            f"{path}: other users can read or write the key file (mode {mode:o}); anyone who reads it "
            f"can recompute every pseudonym. Run `chmod 600 {path}`, or pass allow_shared_key=True if "
            "the file is shared on purpose"
        )
    if path.stat().st_size > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: not a key file (larger than {MAX_KEY_FILE_BYTES} bytes)")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a key file (it is not plain text)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the key file: {exc.strerror or exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    material = [line for line in lines if line and not line.startswith("#")]
    if len(material) != 1 or not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", material[0]):
        raise KeyFileError(
            f"{path}: not a key file (expected one line of hexadecimal after any '#' comment lines)"
        )
    key = bytes.fromhex(material[0])
    check_key_strength(key, str(path))
    return key


def check_key_strength(key: bytes, where: str = "key") -> None:
    """Refuse key material too short or too uniform to be secret.

    Examples
    --------
    >>> check_key_strength(bytes(range(32)))
    >>> check_key_strength(b"a" * 32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sdt_survey.errors.KeyFileError: key: a weak key: every byte is the same (0x61); ...
    """
    remedy = "make a new one with `sdt-survey keygen`"
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"{where}: a weak key: {len(key)} bytes of key material (at least {MIN_KEY_BYTES}); {remedy}"
        )
    distinct = len(set(key))
    if distinct == 1:
        raise KeyFileError(f"{where}: a weak key: every byte is the same (0x{key[0]:02x}); {remedy}")
    if distinct < MIN_DISTINCT_BYTES:
        raise KeyFileError(
            f"{where}: a weak key: only {distinct} distinct byte values (at least {MIN_DISTINCT_BYTES}); "
            f"it was not made at random; {remedy}"
        )


def pseudonymize(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace ids by a keyed hash (HMAC-SHA256, first 16 bytes, hex).

    The same id and key always give the same pseudonym, so waves pseudonymized
    with one key file still link; without the key the ids cannot be recovered
    or guessed by hashing candidate ids. Ids are compared without surrounding
    spaces. Missing ids stay missing.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pseudonymize(pd.Series(["R001", "R002", None]), b"k" * 32)
    >>> [len(p) for p in a.iloc[:2]], a.iloc[2] is None
    ([32, 32], True)
    """
    codes, uniques = pd.factorize(ids.astype("string").str.strip(), use_na_sentinel=True)
    # One HMAC per distinct id, not per row.
    digests = [hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest() for u in uniques]
    hashed = np.array([digest[:PSEUDONYM_LENGTH] for digest in digests], dtype=object)
    out = np.where(codes >= 0, hashed[np.where(codes < 0, 0, codes)] if len(hashed) else None, None)
    return pd.Series(out, index=ids.index, dtype=object)


def pseudonymize_report(report, id_column: str, key: bytes):
    """A copy of a data-quality report with every respondent id replaced by its pseudonym.

    The ``respondent`` column, and the ``value`` of every line about the id
    column itself (a repeated or empty id), carry the pseudonym instead of the
    id, so the report can sit beside the pseudonymized scores without mapping
    them back.
    """
    issues = report.issues.copy()
    if issues.empty:
        return report
    issues["respondent"] = pseudonymize(issues["respondent"], key)
    about_id = (issues["column"] == id_column).fillna(False).to_numpy(dtype=bool)
    if about_id.any():
        values = issues.loc[about_id, "value"]
        # An empty id stays empty; any other value is the raw id.
        present = values.astype("string").str.strip().fillna("") != ""
        issues.loc[about_id, "value"] = pseudonymize(values, key).where(present.to_numpy(), values)
    return dataclasses.replace(report, issues=issues)
