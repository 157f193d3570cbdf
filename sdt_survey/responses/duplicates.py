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
    key_frame = pd.concat(all_keys, axis=1)
    dup = key_frame.duplicated(keep=False).to_numpy() & respondent.notna().to_numpy()
    found = Duplicates(dup, keep)
    if not dup.any():
        return found
    where = np.flatnonzero(dup)
    # The first row of each id's group, grouping only the repeated records (the groups are theirs alone).
    # pandas gives the minimum as a float when any record has no key (a group it drops): so say the rows.
    first = (
        pd.Series(np.asarray(rows)[where])
        .groupby([np.asarray(k.iloc[where].to_numpy(dtype=object)) for k in all_keys])
        .transform("min")
    )
    if any(bool(k.isna().any()) for k in all_keys) and first.dtype != float:
        first = first.astype(float)
    in_wave = f" in {wave_column} " if wave_column else " "
    messages = [f"respondent id repeated{in_wave}(first at row {value})" for value in first.tolist()]
    if duplicates == "error" and invalid == "error":
        action = "blocked: no scores written"
    elif duplicates in ("keep-first", "keep-last"):
        drop = key_frame.duplicated(keep="first" if duplicates == "keep-first" else "last").to_numpy() & dup
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


def _pick(messages: list[str], mask: np.ndarray) -> list[str]:
    return [m for m, chosen in zip(messages, mask, strict=True) if chosen]


__all__ = ["Duplicates", "find_duplicates"]
