"""Answer counts safe to show leaders: how many residents chose each option of an item.

An item's distribution is a one-way table: the respondents of a wave split
into those who chose each answer option and those who did not answer. A count
of 1 to ``min_cell - 1`` tells a reader what one or two identifiable residents
answered, so it is suppressed; and since the counts add up to the number of
respondents, a single hidden count would follow from the others, so more are
hidden until no small count, and no small sum of hidden counts, can be
derived (:func:`sdt_survey.cohorts.disclosure.protect`). With a release ledger the
same holds across runs: an option count that differs from an earlier release
of the same residents by 1 to ``min_cell - 1`` would reveal what the added,
removed or changed residents answered, so it is hidden as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .disclosure import protect
from .ledger import Cell, ReleaseLedger, audit

#: Cell keys of one item's table: every respondent, those who answered, each option, no answer.
TOTAL, ANSWERED, MISSING = "total", "answered", "missing"


@dataclass
class CountTable:
    """One item's counts as they may be shown: ``None`` where suppressed."""

    n: int | None
    counts: list[int | None]
    missing: int | None
    released: list[Cell]

    @property
    def complete(self) -> bool:
        """Whether every count is shown."""
        return self.n is not None and self.missing is not None and all(c is not None for c in self.counts)


def protect_counts(
    answers: pd.Series,
    options: Sequence[Any],
    *,
    min_cell: int,
    measure: str,
    ids: Sequence[Any] | None = None,
    ledger: ReleaseLedger | None = None,
) -> CountTable:
    """The counts of one item that may be shown, within this run and, with a ledger, across runs.

    Parameters
    ----------
    answers : pandas.Series
        Every respondent's answer (missing where they did not answer).
    options : sequence
        The answer options, in the order the counts are reported.
    min_cell : int
    measure : str
        The name the ledger records the counts under (``item:<id>``).
    ids : sequence, optional
        Respondent ids, row-aligned with ``answers`` (needed with a ledger).
    ledger : ReleaseLedger, optional
        Earlier releases to audit against; the counts shown are not recorded
        here (the caller records every table of a run at once, from
        :attr:`CountTable.released`).

    Returns
    -------
    CountTable

    Examples
    --------
    Two residents chose 1 and three chose 2: both counts are hidden (a hidden
    2 alone would be 10 minus the rest).

    >>> answers = pd.Series([1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4])
    >>> table = protect_counts(answers, [1, 2, 3, 4], min_cell=5, measure="item:x")
    >>> table.n, table.counts, table.missing
    (20, [None, None, 5, 10], 0)

    One resident chose 1: its neighbour 2 is hidden with it, not the smaller 4,
    so the two hidden answers can be shown as one share of 1 or 2.

    >>> answers = pd.Series([1] + [2] * 12 + [3] * 9 + [4] * 6)
    >>> protect_counts(answers, [1, 2, 3, 4], min_cell=5, measure="item:x").counts
    [None, None, 9, 6]
    """
    values = pd.Series(np.asarray(answers, dtype=object)).reset_index(drop=True)
    numeric = pd.to_numeric(values, errors="coerce")
    answered = numeric.notna().to_numpy()
    # atoms: each option, then "no answer"
    atom_of = np.full(len(values), len(options))
    for position, option in enumerate(options):
        atom_of[answered & (numeric.to_numpy() == option)] = position
    sizes = np.bincount(atom_of, minlength=len(options) + 1).astype(float)
    keys: list[Any] = [TOTAL, ANSWERED, *[("option", i) for i in range(len(options))], MISSING]
    membership = np.zeros((len(keys), len(options) + 1))
    membership[0, :] = 1
    membership[1, : len(options)] = 1
    membership[2 : 2 + len(options), : len(options)] = np.eye(len(options))
    membership[-1, -1] = 1
    public = np.array([True] + [False] * (len(keys) - 1))
    # Hide answer options first, the totals last; among options, a neighbour of a small one first, so
    # that what is hidden is a run of adjacent answers (shown as one merged share), and never an empty
    # one (it protects nothing).
    small = (sizes[:-1] > 0) & (sizes[:-1] < min_cell)
    beside = np.zeros(len(options), dtype=bool)
    beside[1:] |= small[:-1]
    beside[:-1] |= small[1:]
    option_rank = np.where(sizes[:-1] == 0, 3, np.where(small, 0, np.where(beside, 1, 2)))
    priority = [5, 4, *option_rank.tolist(), 3]
    cells: list[Cell] = []
    if ledger is not None:
        if ids is None:
            raise ValueError("protect_counts: ids are needed with a ledger")
        identities = ledger.identities(ids)
        text = values.where(answered, "missing").astype(str)
        versions = ledger.versions(identities, measure, text)
        masks = [np.ones(len(values), bool), answered, *[atom_of == i for i in range(len(options))]]
        masks.append(atom_of == len(options))
        labels = [TOTAL, ANSWERED, *[f"{measure}={option}" for option in options], MISSING]
        cells = [
            Cell(measure, label, identities[mask], versions[mask], key=key, public=key == TOTAL)
            for key, label, mask in zip(keys, labels, masks, strict=True)
        ]
    hidden: set[Any] = set()
    while True:
        suppressed = protect(
            membership,
            sizes[:, None],
            min_cell=min_cell,
            forced=np.array([k in hidden for k in keys]),
            released=public,
            priority=priority,
            tables=[1, 2, *[0] * len(options), 0],  # options and "no answer" partition the respondents
        )
        hidden = {k for k, s in zip(keys, suppressed, strict=True) if s}
        if ledger is None:
            break
        more = audit(cells, ledger, min_cell=min_cell, hidden=hidden).hide - hidden
        if not more:
            break
        hidden |= more
    count = [int(s) for s in sizes]
    return CountTable(
        n=None if ANSWERED in hidden else int(answered.sum()),
        counts=[None if ("option", i) in hidden else count[i] for i in range(len(options))],
        missing=None if MISSING in hidden else count[-1],
        released=[c for c in cells if c.key not in hidden],
    )


__all__ = ["CountTable", "protect_counts"]
