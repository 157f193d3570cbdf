"""Repeated respondent ids: which records repeat an id within a wave, and the report's lines about them.

A whole-file check: :func:`~sdt_survey.responses.validate_responses` runs it on
the file it validates, and the streaming intake on the ids of a large file
gathered a block at a time; both get the same lines from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Duplicates:
    """The records that repeat an id, which of them are kept, and the report's lines about them.

    ``lines`` holds one group of lines per entry: ``(where, column, values,
    problem, messages, action)``, ``where`` the positions of the records.
    """

    repeated: np.ndarray
    keep: np.ndarray
    lines: list[tuple[np.ndarray, str, np.ndarray, str, list[str], str]] = field(default_factory=list)


def find_duplicates(
    respondent: pd.Series,
    keys: Sequence[pd.Series],
    rows: np.ndarray,
    *,
    id_column: str,
    wave_column: str | None,
    duplicates: str,
    invalid: str,
    any_missing: bool | None = None,
) -> Duplicates:
    """Records whose id (with the values of ``keys``: the wave, REDCap's repeat columns) is repeated.

    Parameters
    ----------
    respondent : pandas.Series
        The respondent ids (missing: no id; never a duplicate).
    keys : sequence of pandas.Series
        Further columns an id may repeat across (as text).
    rows : numpy.ndarray
        The file's row number of each record.
    id_column, wave_column : str
        For the lines' column and message.
    duplicates, invalid : str
        The policies of :func:`~sdt_survey.responses.validate_responses`.
    any_missing : bool, optional
        Whether any key of the whole file is missing (the first rows are then
        written as floats, as pandas groups them); by default, of these records.
        For a subset of the records holding every repeat (see
        :mod:`sdt_survey.scoring.stream_ids`).

    Examples
    --------
    >>> found = find_duplicates(pd.Series(["a", "b", "a"]), [], np.array([2, 3, 4]), id_column="id",
    ...                         wave_column=None, duplicates="keep-all", invalid="error")
    >>> found.repeated.tolist(), found.lines[0][4][1]
    ([True, False, True], 'respondent id repeated (first at row 2)')
    """
    n = len(respondent)
    keep = np.ones(n, dtype=bool)
    all_keys = [respondent.reset_index(drop=True), *(k.reset_index(drop=True) for k in keys)]
    # One whole number per record for its keys (a missing value is a value of its own, as pandas'
    # duplicated has it): the same repeats as comparing the columns, without a table of them.
    combined: np.ndarray = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=bool)
    for key in all_keys:
        codes, distinct = _text_codes(key)
        # Numbered again after each key, so the numbers stay below the number of records squared.
        combined = np.unique(combined * (distinct + 1) + codes, return_inverse=True)[1].reshape(-1)
        missing |= codes == distinct
        del codes
    combined = pd.Series(combined)
    dup = combined.duplicated(keep=False).to_numpy() & respondent.notna().to_numpy()
    found = Duplicates(dup, keep)
    if not dup.any():
        return found
    where = np.flatnonzero(dup)
    # The first row of each id's group, grouping only the repeated records (the groups are theirs alone);
    # a group with a missing key has none (pandas leaves it out), and then every first row is a float.
    first = pd.Series(np.asarray(rows)[where]).groupby(combined.iloc[where].to_numpy()).transform("min")
    if missing.any() if any_missing is None else any_missing:
        first = first.astype(float).where(~missing[where])
    in_wave = f" in {wave_column} " if wave_column else " "
    messages = [f"respondent id repeated{in_wave}(first at row {value})" for value in first.tolist()]
    if duplicates == "error" and invalid == "error":
        action = "blocked: no scores written"
    elif duplicates in ("keep-first", "keep-last"):
        drop = combined.duplicated(keep="first" if duplicates == "keep-first" else "last").to_numpy() & dup
        keep &= ~drop
        action = "kept (the other rows with this id dropped)"
    else:
        action = "kept; flagged duplicate_id"
    values = respondent.iloc[where].to_numpy(dtype=object)
    if duplicates in ("keep-first", "keep-last"):
        kept = keep[where]
        found.lines.append(
            (where[kept], id_column, values[kept], "duplicate_id", _pick(messages, kept), action)
        )
        found.lines.append(
            (
                where[~kept],
                id_column,
                values[~kept],
                "duplicate_dropped",
                _pick(messages, ~kept),
                f"dropped ({duplicates})",
            )
        )
    else:
        found.lines.append((where, id_column, values, "duplicate_id", messages, action))
    return found


def _text_codes(key: pd.Series) -> tuple[np.ndarray, int]:
    """A code per value of a text column (equal texts, equal codes; missing: the number of distinct texts).

    By pyarrow's hashing of the text itself: no Python object per value.
    """
    import pyarrow as pa

    array = pa.array(key, type=pa.string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = array.dictionary_encode()
    distinct = len(encoded.dictionary)
    codes = encoded.indices.fill_null(distinct).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, distinct


def _pick(messages: list[str], mask: np.ndarray) -> list[str]:
    return [m for m, chosen in zip(messages, mask, strict=True) if chosen]


__all__ = ["Duplicates", "find_duplicates"]
