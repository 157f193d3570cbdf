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
    ordered = hashes[present]
    ordered.sort()
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    count = int(new.sum())
    if count == len(ordered):
        return count
    shared = np.unique(ordered[~new])  # the hashes more than one record holds
    del ordered, new
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
        hashes = np.concatenate(self.keys)
        present = ~np.concatenate(self.missing)
        self.keys, self.missing = [], []
        n = len(hashes)
        ordered = hashes[present]
        ordered.sort()
        shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])  # the hashes more than one record holds
        del ordered
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


__all__ = ["IdHashes", "combined_hashes", "distinct_count", "text_hashes"]
