"""Repeated and distinct respondent ids of a streamed file, from 64-bit hashes, confirmed exactly.

:func:`~sdt_survey.responses.duplicates.find_duplicates` numbers every
distinct id of the file (a dictionary of all of them, then sorts): about
150 MB for a million ids. The streamed run instead keeps one 64-bit hash per
record (:class:`IdHashes`, filled a block at a time; 8 MB a million), sorts
the hashes once, and looks at the exact texts only where hashes are equal:

* **repeats**: records whose hash of (id, wave) occurs more than once hold
  every repeated id (equal keys, equal hashes) and perhaps a few different
  ids whose hashes collide; :func:`find_duplicates` runs on those records
  alone, with their exact ids and keys, and gives the lines it gives on the
  whole file;
* **distinct counts** (:func:`distinct_count`): the number of distinct
  hashes, corrected where records with equal hashes hold different texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..responses.duplicates import Duplicates, find_duplicates


def text_hashes(values: pd.Series) -> np.ndarray:
    """A 64-bit hash of each text (equal texts, equal hashes; a missing value hashes as any other).

    Examples
    --------
    >>> h = text_hashes(pd.Series(["a", "b", "a"]))
    >>> bool(h[0] == h[2]), bool(h[0] == h[1])
    (True, False)
    """
    return pd.util.hash_array(values.to_numpy(dtype=object), categorize=False)


def combined_hashes(parts: Sequence[np.ndarray]) -> np.ndarray:
    """One hash per record of several (equal tuples of hashes, equal results)."""
    out = parts[0].copy()
    for part in parts[1:]:
        out *= np.uint64(0x100000001B3)
        out ^= part
    return out


def shared_hashes(hashes: np.ndarray, present: np.ndarray) -> tuple[int, np.ndarray]:
    """The number of distinct hashes among the ``present`` records, and the hashes more than one holds.

    Sorted a sixteenth at a time (by the top four bits), so that no copy of all
    the hashes is made: 8 MB less at the peak of a million-row run.

    Examples
    --------
    >>> count, shared = shared_hashes(np.array([5, 7, 5, 9], dtype=np.uint64), np.array([1, 1, 1, 0], bool))
    >>> count, shared.tolist()
    (2, [5])
    """
    top = (hashes >> np.uint64(60)).astype(np.uint8)
    count = 0
    shared = []
    for bucket in range(16):
        ordered = hashes[(top == bucket) & present]
        ordered.sort()
        same = ordered[1:] == ordered[:-1]
        count += len(ordered) - int(same.sum())
        shared.append(np.unique(ordered[1:][same]))
    return count, np.concatenate(shared)


def distinct_count(hashes: np.ndarray, present: np.ndarray, texts: Callable[[np.ndarray], pd.Series]) -> int:
    """The number of distinct texts among the ``present`` records (pandas' ``nunique``), by their hashes.

    ``texts(positions)`` gives the exact texts of those records; it is read
    only for records whose hash another record shares.

    Examples
    --------
    >>> column = pd.Series(["a", "b", "a", None])
    >>> distinct_count(text_hashes(column), column.notna().to_numpy(), lambda at: column.iloc[at])
    2
    """
    count, shared = shared_hashes(hashes, present)
    if not len(shared):
        return count
    # Those records, by hash: consecutive records of one hash must hold one text.
    where = np.flatnonzero(present & np.isin(hashes, shared))
    where = where[np.argsort(hashes[where], kind="stable")]
    ordered = hashes[where]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    follow = np.flatnonzero(~new)
    same = _equal(texts(where[follow - 1]), texts(where[follow]))
    if same.all():
        return count
    # Different texts under one hash (a collision): count those groups' texts exactly.
    group = np.cumsum(new) - 1
    collided = np.isin(group, np.unique(group[follow[~same]]))
    exact = int(texts(where[collided]).nunique())
    return count - len(np.unique(group[collided])) + exact


def _equal(left: pd.Series, right: pd.Series) -> np.ndarray:
    a, b = left.reset_index(drop=True), right.reset_index(drop=True)
    both = (a.isna() & b.isna()).to_numpy()
    return both | (a == b).fillna(False).to_numpy(dtype=bool)


@dataclass
class IdHashes:
    """The hashes of a streamed file's ids, a block at a time (:meth:`add`); its repeats (:meth:`repeats`)."""

    keys: list[np.ndarray] = field(default_factory=list)
    missing: list[np.ndarray] = field(default_factory=list)
    any_missing: bool = False

    def add(self, respondent: pd.Series, keys: Sequence[pd.Series]) -> np.ndarray:
        """A block's ids (missing: None) and further key columns; returns the ids' own hashes."""
        own = text_hashes(respondent)
        absent = respondent.isna().to_numpy()
        self.missing.append(absent)
        self.any_missing = self.any_missing or bool(absent.any())
        parts = [own]
        for key in keys:
            text = key.astype("string")
            self.any_missing = self.any_missing or bool(text.isna().any())
            parts.append(text_hashes(text))
        self.keys.append(combined_hashes(parts))
        return own

    def repeats(
        self,
        respondent: Callable[[np.ndarray], pd.Series],
        keys: Callable[[np.ndarray], list[pd.Series]],
        rows: np.ndarray,
        **options,
    ) -> Duplicates:
        """:func:`find_duplicates` of the whole file, run on the records whose key hash repeats.

        ``respondent(positions)`` and ``keys(positions)`` give those records'
        exact ids and keys; ``options`` are :func:`find_duplicates`'.
        """
        hashes = _drain(self.keys)
        present = ~_drain(self.missing)
        n = len(hashes)
        _, shared = shared_hashes(hashes, present)
        candidates = np.flatnonzero(present & np.isin(hashes, shared)) if len(shared) else np.zeros(0, int)
        del hashes, present
        found = find_duplicates(
            respondent(candidates).reset_index(drop=True),
            [k.reset_index(drop=True) for k in keys(candidates)],
            rows[candidates],
            any_missing=self.any_missing,
            **options,
        )
        repeated = np.zeros(n, dtype=bool)
        repeated[candidates] = found.repeated
        keep = np.ones(n, dtype=bool)
        keep[candidates] = found.keep
        lines = [(candidates[at], *rest) for at, *rest in found.lines]
        return Duplicates(repeated, keep, lines)


def _drain(chunks: list[np.ndarray]) -> np.ndarray:
    """The chunks joined into one array, each let go once copied (the list is left empty).

    At most one chunk is held twice, where ``np.concatenate`` would hold all of them twice.

    Examples
    --------
    >>> parts = [np.array([1, 2]), np.array([3])]
    >>> _drain(parts).tolist(), parts
    ([1, 2, 3], [])
    """
    out = np.empty(sum(len(c) for c in chunks), dtype=chunks[0].dtype if chunks else np.uint64)
    at = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        out[at : at + len(chunk)] = chunk
        at += len(chunk)
    return out


__all__ = ["IdHashes", "combined_hashes", "distinct_count", "text_hashes"]
