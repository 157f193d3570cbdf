"""Which cohort cells to hide: complementary suppression within a run, and against the release ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cells import _Cells
from .data import ALL, _baseline
from .disclosure import protect
from .ledger import Cell, ReleaseLedger, audit


def _protect_all(
    cells: dict[int, _Cells],
    min_cell: int,
    longitudinal: _Cells | None,
    forced: set[tuple[str, int, Any]] = frozenset(),
) -> set[tuple[str, int, Any]]:
    """Suppression patterns of the wave table and of the longitudinal groups, audited together.

    Each wave is audited with its wave cells and the pseudo-cells of the
    longitudinal groups; the change-and-trend table is audited on its own
    margins. One pattern for all waves: a group hidden in one wave is hidden in
    every wave, and its changes and trend with it. The audits repeat with the
    cells hidden so far forced, until the patterns stop growing. Returns the
    hidden keys ``(kind, table, value)``: kind ``"w"`` for the wave table,
    ``"L"`` for the longitudinal groups; ``forced`` keys are hidden from the
    start (what the release ledger asks for).
    """
    hidden: set[tuple[str, int, Any]] = set(forced)
    while True:
        grown = set(hidden)
        for grid in cells.values():
            grown |= _suppressed_keys(grid, grown, min_cell, priority=grid.priority)
        grown |= {("L", t, v) for kind, t, v in grown if kind == "w"}
        if longitudinal is not None:
            grown |= _suppressed_keys(longitudinal, grown, min_cell)
        if grown == hidden:
            break
        hidden = grown
    return hidden


def _suppressed_keys(
    grid: _Cells, hidden: set[tuple[str, int, Any]], min_cell: int, priority: np.ndarray | None = None
) -> set[tuple[str, int, Any]]:
    """The keys of ``grid`` that :func:`protect` hides, with the ``hidden`` keys forced."""
    forced = np.array([key in hidden for key in grid.keys])
    suppressed = protect(
        grid.membership,
        grid.counts,
        min_cell=min_cell,
        tables=grid.tables,
        forced=forced,
        checks=grid.checks,
        priority=priority,
    )
    return {key for key, s in zip(grid.keys, suppressed, strict=True) if s}


def _release_cells(
    frame: pd.DataFrame,
    ids: np.ndarray,
    by: Sequence[str],
    names: Sequence[str],
    book: ReleaseLedger,
    longitudinal: bool,
) -> list[Cell]:
    """This run's cells as the release ledger sees them: per score, wave and group, the versions summed.

    Keys are those of :func:`_protect_all` (``("w", table, value)`` for the
    wave table, ``("L", table, value)`` for the first-wave groups behind
    changes and trends), so what the ledger asks to hide is hidden in every
    wave and score, as any suppression is.
    """
    identities = book.identities(ids)[frame["_rid"].to_numpy()]
    waves = frame["_wave"].to_numpy()
    kinds = [("w", by)]
    if longitudinal and by:
        base = _baseline(frame, by).reindex(frame["_rid"].to_numpy())
        firsts = pd.DataFrame({c: base[c].to_numpy(dtype=object) for c in by}, index=frame.index)
        kinds.append(("L", firsts))
    width = 2 * (len(by) + 1)
    cells: list[Cell] = []
    for name in names:
        present = frame[name].notna().to_numpy()
        versions = np.zeros(len(frame), dtype=np.uint64)
        versions[present] = book.versions(identities[present], name, frame.loc[present, name])
        for kind, source in kinds:
            labels = frame if kind == "w" else source
            offset = 0 if kind == "w" else len(by) + 1
            for wave in np.unique(waves):
                in_wave = present & (waves == wave)
                groups = [(0, ALL, in_wave)] + [
                    (t, value, in_wave & (labels[column] == value).to_numpy())
                    for t, column in enumerate(by, start=1)
                    for value in pd.unique(labels.loc[in_wave, column])
                ]
                for t, value, mask in groups:
                    if kind == "L" and t == 0:
                        continue  # the first-wave "all" group is the wave's "all" cell
                    label = ALL if t == 0 else f"{'first ' if kind == 'L' else ''}{by[t - 1]}={value}"
                    cells.append(
                        Cell(
                            measure=name,
                            label=label,
                            identities=identities[mask],
                            versions=versions[mask],
                            key=(kind, t, value),
                            table=int(wave) * width + offset + t,
                        )
                    )
    return cells


def _audit_with_ledger(
    cells: list[Cell],
    book: ReleaseLedger,
    grids: dict[int, _Cells],
    long_grid: _Cells | None,
    min_cell: int,
    hidden: set[tuple[str, int, Any]],
) -> tuple[set[tuple[str, int, Any]], list[str]]:
    """Hide more until neither this run alone nor this run with every earlier release discloses a small group.

    The ledger's audit and the run's own audit alternate, each starting from
    what the other hid, until neither hides more.
    """
    notes: list[str] = []
    changed: set[str] = set()
    lost = 0
    before = set(hidden)
    while True:
        found = audit(cells, book, min_cell=min_cell, hidden=hidden)
        changed.update(found.changed)
        lost = max(lost, found.already_disclosed)
        if not found.hide:
            break
        hidden = _protect_all(grids, min_cell, long_grid, forced=hidden | found.hide)
    more = len({(t, v) for _, t, v in hidden - before})
    if more:
        notes.append(
            f"release ledger: {more} more group(s) suppressed so that nothing new can be worked out by "
            "comparing this table with earlier releases of these respondents"
            + (
                f" ({len(changed)} re-released with fewer than {min_cell} respondents changed)"
                if changed
                else ""
            )
        )
    if lost:
        notes.append(
            f"release ledger: earlier releases (made without the ledger, or into another one) already "
            f"disclose {lost} small group(s); nothing this run shows adds to them"
        )
    return hidden, notes
