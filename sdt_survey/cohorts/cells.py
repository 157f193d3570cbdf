"""The published cells of the cohort tables, as membership vectors over atoms of respondents."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .data import ALL, _baseline, _natural_key

#: Cross-classifications of the grouping columns checked for disclosure: every combination when there
#: are at most this many columns, else pairs and the full cross-classification.
CUBE_MAX_COLUMNS = 5


def _cube_checks(atoms: pd.DataFrame, by: Sequence[str]) -> np.ndarray:
    """Membership vectors of the cross-classifications of two or more grouping columns."""
    k = len(by)
    if k < 2:
        return np.zeros((0, len(atoms)))
    if k <= CUBE_MAX_COLUMNS:
        subsets = [s for size in range(2, k + 1) for s in itertools.combinations(by, size)]
    else:
        subsets = [*itertools.combinations(by, 2), tuple(by)]
    blocks = []
    for subset in subsets:
        codes = atoms.groupby(list(subset), sort=False, dropna=False).ngroup().to_numpy()
        block = np.zeros((codes.max() + 1, len(atoms)))
        block[codes, np.arange(len(atoms))] = 1.0
        blocks.append(block)
    return np.unique(np.vstack(blocks), axis=0)


@dataclass
class _Cells:
    """The published cells of one grid over its atoms.

    ``keys`` are ``(kind, table, value)``: kind ``"w"`` for a cell of the wave
    table, ``"L"`` for the pseudo-cell of a longitudinal group (its first-wave
    members observed in this wave); table 0 is the overall cell, ``i`` is
    ``by[i - 1]``.
    """

    keys: list[tuple[str, int, Any]]
    membership: np.ndarray  # (cells, atoms)
    counts: np.ndarray  # (atoms, measures)
    checks: np.ndarray  # further sets that must not be derivable when small
    priority: np.ndarray  # hide first: 0 longitudinal, 1 cross-sectional

    @property
    def tables(self) -> np.ndarray:
        n_tables = max((t for _, t, _ in self.keys), default=0) + 1
        return np.array([t + (n_tables if kind == "L" else 0) for kind, t, _ in self.keys], dtype=int)


def _margin_cells(atoms: pd.DataFrame, columns: Sequence[str], kind: str):
    yield (kind, 0, ALL), np.ones(len(atoms))
    for t, column in enumerate(columns, start=1):
        for value in sorted(pd.unique(atoms[column]), key=_natural_key):
            yield (kind, t, value), (atoms[column] == value).to_numpy(dtype=float)


def _cells(
    atoms: pd.DataFrame, by: Sequence[str], measures: pd.DataFrame, first: Sequence[str] = ()
) -> _Cells:
    """Wave cells over ``by``, and pseudo-cells over the first-wave columns ``first`` when given."""
    keys: list[tuple[str, int, Any]] = []
    rows: list[np.ndarray] = []
    priority: list[int] = []
    for key, row in _margin_cells(atoms, by, "w"):
        keys.append(key)
        rows.append(row)
        priority.append(1)
    checks = [_cube_checks(atoms, by)]
    if first:
        for key, row in _margin_cells(atoms, first, "L"):
            # a pseudo-cell identical to a wave cell adds nothing: its group follows that cell
            if row.any() and not any(np.array_equal(row, other) for other in rows):
                keys.append(key)
                rows.append(row)
                priority.append(0)
        # respondents who changed group: each (current, first-wave) combination, and per column
        checks.append(np.eye(len(atoms)))
        for now, then in zip(by, first, strict=True):
            codes = atoms.groupby([now, then], sort=False, dropna=False).ngroup().to_numpy()
            block = np.zeros((codes.max() + 1, len(atoms)))
            block[codes, np.arange(len(atoms))] = 1.0
            checks.append(block)
    return _Cells(
        keys=keys,
        membership=np.array(rows),
        counts=measures.to_numpy(dtype=float),
        checks=np.vstack(checks),
        priority=np.array(priority),
    )


def _atoms(people: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Sum the numeric columns of ``people`` over each combination of the grouping columns."""
    numeric = [c for c in people.columns if c not in by]
    if not by:
        return people[numeric].sum().to_frame().T
    return people.groupby(list(by), sort=False, dropna=False)[numeric].sum().reset_index()


def _first_columns(by: Sequence[str]) -> list[str]:
    return [f"_first_{i}" for i in range(len(by))]


def _wave_cells(
    frame: pd.DataFrame, by: Sequence[str], names: Sequence[str], longitudinal: bool
) -> dict[int, _Cells]:
    """The cells of each wave over atoms = combinations of the grouping columns.

    With ``longitudinal``, atoms also split by each respondent's groups at their
    first wave, and the pseudo-cells of the longitudinal groups are added: a
    change or trend of a group is audited as if it published the sums of its
    first-wave members in every wave (conservative: it publishes less).
    """
    present = frame[list(names)].notna().astype(int).add_prefix("n_")
    measures = ["_one", *present.columns]
    people = pd.concat([frame[list(by)], present], axis=1).assign(_one=1)
    first = _first_columns(by) if longitudinal and by else []
    if longitudinal and by:
        base = _baseline(frame, by).reindex(frame["_rid"].to_numpy())
        for column, name in zip(by, first, strict=True):
            people[name] = base[column].to_numpy(dtype=object)
    people = people[[*by, *first, *measures]]
    out = {}
    for wave in sorted(frame["_wave"].unique()):
        atoms = _atoms(people[frame["_wave"].to_numpy() == wave], [*by, *first])
        out[int(wave)] = _cells(atoms, by, atoms[measures], first)
    return out


def _longitudinal_cells(
    frame: pd.DataFrame, by: Sequence[str], names: Sequence[str], pairs: Sequence[tuple[int, int, str]]
) -> _Cells:
    """The change-and-trend table: respondents grouped by their first-wave groups.

    Counted per group and score: respondents with a score, and for each pair of
    consecutive waves the respondents a change rests on (linked pairs for a
    paired t-test; respondents with a score in either wave otherwise).
    """
    base = _baseline(frame, by)
    per_person = {"_one": pd.Series(1, index=base.index)}
    answered = frame[["_rid", *names]].set_index("_rid").notna()
    any_score = answered.groupby(level=0).any()
    for name in names:
        per_person[f"r_{name}"] = any_score[name].astype(int)
    for a, b, method in pairs:
        at_a = answered[frame["_wave"].to_numpy() == a].groupby(level=0).any()
        at_b = answered[frame["_wave"].to_numpy() == b].groupby(level=0).any()
        at_a, at_b = at_a.reindex(base.index, fill_value=False), at_b.reindex(base.index, fill_value=False)
        for name in names:
            both = at_a[name] & at_b[name] if method == "paired_t" else at_a[name] | at_b[name]
            per_person[f"c{a}_{b}_{name}"] = both.astype(int)
    people = pd.DataFrame(per_person).reindex(base.index, fill_value=0)
    measures = list(people.columns)
    atoms = _atoms(people.join(base)[[*by, *measures]], by)
    grid = _cells(atoms, by, atoms[measures])
    grid.keys = [("L", t, v) for _, t, v in grid.keys]
    return grid
