"""Cohort tracking for residency leaders: summaries by group and wave, with privacy-safe suppression.

:func:`cohort_summary` reads and scores one or more waves of responses (as
:func:`sdt_survey.score` does), then reports every subscale and composite by
each grouping column (program, PGY, cohort, clinic, ...) and by wave: n, mean,
SD, a t-based confidence interval and the shares above and below the scale
midpoint, with overall rows whose group value is ``"all"``. It adds the change
between consecutive waves (a paired t-test where respondent ids link across
waves, a linear mixed model with a random intercept per respondent where they
only partly link), a trend across waves per group, and the measurement-
invariance check that says whether comparing means across groups or waves is
supported.

Privacy is the point of this module. Every figure is protected by a minimum
cell size ``min_cell`` (default 5, never below 3), with *complementary*
suppression: more cells are hidden until no hidden figure (its n, its mean, its
SD, its shares) can be worked out from the published ones, whether by
subtracting visible groups from a total, by combining two grouping columns
(clinics nested in programs, PGY against cohort), or across waves. The rule,
the algorithm and why it holds are in ``docs/privacy.md``; how to run and read
the report is in ``docs/cohorts.md``. Only aggregates leave this module: no
respondent-level row, identifier or free-text answer is ever part of a
:class:`CohortReport`.

Examples
--------
>>> import sdt_survey
>>> from sdt_survey.simulate import simulate
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> data = simulate(bpn, seed=3, n_programs=4, residents_per_program=(12, 12)).responses
>>> report = cohort_summary(bpn, data, id_column="resident", by=["program", "pgy"], invariance=False)
>>> report.to_dict()["min_cell"], sorted(report.to_dict())
(5, ['changes', 'invariance', 'min_cell', 'notes', 'rows', 'trends'])
>>> row = report.to_dict()["rows"][0]
>>> row["group"], row["wave"], row["scale"], row["n"]
({'program': 'all', 'pgy': 'all'}, 1, 'autonomy_satisfaction', 48)
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._spreadsheet_safe import write_csv
from ._terminal import printable
from .disclosure import protect
from .errors import SdtSurveyError
from .files import atomic_output
from .identifiers import identifier_columns
from .instrument import Instrument, load_instruments
from .ledger import Cell, ReleaseLedger, audit, open_ledger
from .responses import WAVE_COLUMNS, Responses
from .results import jsonable
from .scoring import ScoredResponses, score, score_ids

#: The smallest ``min_cell`` accepted: below 3, two people could each work out the other's answers.
MIN_CELL_FLOOR = 3
#: Group value of overall rows (and of the columns a row is not broken down by).
ALL = "all"
#: Group value of respondents with no value in a grouping column (they form a group of their own,
#: so that the groups of a column always add up to the overall row).
MISSING_GROUP = "(missing)"
#: Measurement invariance is tested only when each group has at least
#: ``max(INVARIANCE_FLOOR, INVARIANCE_PER_ITEM * items)`` respondents with every subscale scored
#: (see docs/cohorts.md).
INVARIANCE_FLOOR = 100
INVARIANCE_PER_ITEM = 5
#: Cross-classifications of the grouping columns checked for disclosure: every combination when there
#: are at most this many columns, else pairs and the full cross-classification.
CUBE_MAX_COLUMNS = 5

FIGURES = (
    "n",
    "mean",
    "sd",
    "ci_lower",
    "ci_upper",
    "share_above_midpoint",
    "share_below_midpoint",
)
CHANGE_FIGURES = ("n", "n_pairs", "mean_change", "ci_lower", "ci_upper", "p")
TREND_FIGURES = ("n", "n_observations", "slope", "ci_lower", "ci_upper", "p")
LEVELS = ("configural", "metric", "scalar", "strict")
#: The parts of the invariance engine's ``to_dict()`` carried into the report (aggregates only).
RESULT_KEYS = ("group", "groups", "steps", "comparisons", "conclusion")


# ------------------------------------------------------------------ midpoints


def scale_midpoints(instruments: Instrument | str | Sequence[Instrument | str]) -> dict[str, float | None]:
    """The midpoint of every subscale and composite score.

    A mean-scored subscale's midpoint is the mean of its items' midpoints
    ``(min + max) / 2`` (the scale's midpoint when all items share one scale); a
    sum-scored subscale's is their sum. A composite's is the mean (or sum) of its
    subscales' midpoints. ``None`` when an item has no upper or lower bound.

    Examples
    --------
    >>> mids = scale_midpoints("bpn-residency")
    >>> mids["relatedness_satisfaction"], mids["need_satisfaction"]
    (3.0, 3.0)
    """
    out: dict[str, float | None] = {}
    for inst in load_instruments(instruments):
        for sub in inst.subscales.values():
            mids = []
            for item_id in sub.items:
                low, high = inst.item(item_id).value_range
                mids.append(None if low is None or high is None else (float(low) + float(high)) / 2)
            if any(m is None for m in mids) or not mids:
                out[sub.id] = None
            else:
                total = float(sum(mids))  # type: ignore[arg-type]
                out[sub.id] = total if sub.method == "sum" else total / len(mids)
        for comp in inst.composites.values():
            parts = [out.get(s) for s in comp.of]
            if any(p is None for p in parts) or not parts:
                out[comp.id] = None
            else:
                total = float(sum(parts))  # type: ignore[arg-type]
                out[comp.id] = total if comp.method == "sum" else total / len(parts)
    return out


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


# ------------------------------------------------------------------ reading


@dataclass
class _Data:
    frame: pd.DataFrame  # _rid (integer codes), _wave (position), by columns (labels), scores
    keyed: pd.DataFrame  # reverse-keyed items, row-aligned with frame
    waves: list[Any]  # wave labels in order
    notes: list[str]
    ids: np.ndarray  # each _rid's id as text (for the release ledger's keyed hashes only)


def _as_sources(responses: Any) -> list[Any]:
    if isinstance(responses, (list, tuple)):
        if not responses:
            raise SdtSurveyError("no responses given")
        return list(responses)
    return [responses]


def _natural_key(value: Any) -> tuple:
    text = str(value)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def _plain_labels(values: pd.Series) -> pd.Series:
    """Group labels as plain Python values: integers stay (or become, from digit strings) int."""
    present = values.dropna()
    as_object = values.astype(object).where(values.notna(), None)
    if present.empty:
        return as_object
    if pd.api.types.is_bool_dtype(present):
        return as_object.map(lambda v: None if v is None else str(bool(v)).lower())
    if pd.api.types.is_numeric_dtype(present):
        floats = present.astype(float)
        if np.all(np.isfinite(floats)) and np.all(floats == np.round(floats)):
            return as_object.map(lambda v: None if v is None else int(v))
        return as_object.map(lambda v: None if v is None else float(v))
    text = present.astype(str).str.strip()
    if text.str.fullmatch(r"-?[1-9]\d*|0").all():
        return as_object.map(lambda v: None if v is None else int(str(v).strip()))
    return as_object.map(lambda v: None if v is None else str(v).strip())


def _collect(
    instruments: tuple[Instrument, ...],
    responses: Any,
    id_column: str,
    wave_column: str | None,
    reading_options: Mapping[str, Any],
) -> _Data:
    sources = _as_sources(responses)
    scored: list[ScoredResponses] = []
    for source in sources:
        if isinstance(source, ScoredResponses):
            if id_column not in source.scores.columns:
                raise SdtSurveyError(
                    f"the scored responses have no id column {id_column!r}; score them with "
                    f"id_column={id_column!r}"
                )
            scored.append(source)
        elif isinstance(source, (pd.DataFrame, Responses, str, Path)):
            scored.append(
                score(instruments, source, id_column=id_column, wave_column=wave_column, **reading_options)
            )
        else:
            raise SdtSurveyError(
                "responses must be a path, a list of paths, ScoredResponses or a DataFrame, "
                f"not {type(source).__name__}"
            )
    notes: list[str] = []
    wave_of: list[str | None] = []
    for result in scored:
        if wave_column is not None:
            if wave_column not in result.scores.columns:
                raise SdtSurveyError(f"the responses have no wave column {wave_column!r}")
            wave_of.append(wave_column)
        else:
            wave_of.append(next((c for c in WAVE_COLUMNS if c in result.scores.columns), None))
    if any(w is None for w in wave_of) and any(w is not None for w in wave_of):
        raise SdtSurveyError(
            "some response files have a wave column and some do not; give every file one, or none "
            "(then the order of the files defines wave 1, 2, ...)"
        )
    names = [c for c in score_ids(instruments)]
    frames, keyed = [], []
    for position, result in enumerate(scored):
        table = result.scores.reset_index(drop=True)
        missing_scores = [c for c in names if c not in table.columns]
        if missing_scores:
            raise SdtSurveyError(
                f"the scored responses lack {', '.join(missing_scores)}; score them with the same instruments"
            )
        part = table.drop(columns=[c for c in ("row",) if c in table.columns]).copy()
        column = wave_of[position]
        part["_wave_label"] = part[column] if column is not None else position + 1
        frames.append(part)
        keyed.append(result.keyed.reset_index(drop=True))
    if wave_of[0] is None:
        if len(scored) > 1:
            notes.append(
                f"the files have no wave column; waves are numbered by file order (file 1 is wave 1, "
                f"..., file {len(scored)} is wave {len(scored)})"
            )
        else:
            notes.append("no wave column: all responses form one wave (wave 1)")
    frame = pd.concat(frames, ignore_index=True, sort=False)
    items = pd.concat(keyed, ignore_index=True, sort=False)
    wave_labels = _plain_labels(frame["_wave_label"])
    if wave_labels.isna().any():
        raise SdtSurveyError(f"{int(wave_labels.isna().sum())} responses have no wave value")
    waves = sorted(pd.unique(wave_labels), key=_natural_key)
    position_of = {w: i for i, w in enumerate(waves)}
    ids = frame[id_column]
    if ids.isna().any():
        raise SdtSurveyError(f"{int(ids.isna().sum())} responses have no {id_column}")
    codes, id_values = pd.factorize(ids.astype(str).str.strip())
    out = frame.drop(columns=[id_column, "_wave_label"])
    out.insert(0, "_rid", codes)
    out.insert(1, "_wave", wave_labels.map(position_of).to_numpy(dtype=int))
    repeated = out.duplicated(["_rid", "_wave"])
    if repeated.any():
        raise SdtSurveyError(
            f"{int(repeated.sum())} respondent ids appear more than once in one wave; a respondent "
            "answers each wave once (see the duplicates option of score)"
        )
    return _Data(
        frame=out, keyed=items, waves=list(waves), notes=notes, ids=np.asarray(id_values, dtype=object)
    )


def _check_by(
    data: _Data,
    by: Sequence[str],
    instruments: tuple[Instrument, ...],
    id_column: str,
    wave_column: str | None,
    min_cell: int,
) -> None:
    if isinstance(by, str):
        raise SdtSurveyError(f"by must be a list of column names, e.g. by=[{by!r}]")
    if len(set(by)) != len(by):
        raise SdtSurveyError("by names a column twice")
    items = {item.id for inst in instruments for item in inst.items}
    scores = set(score_ids(instruments))
    available = [
        c
        for c in data.frame.columns
        if not c.startswith("_") and c not in scores and c not in WAVE_COLUMNS and c != wave_column
    ]
    flagged = set(identifier_columns(list(by)))
    for column in by:
        if column == id_column:
            raise SdtSurveyError(f"{column!r} is the respondent id column; it can never be a grouping column")
        if column in flagged:
            raise SdtSurveyError(f"{column!r} holds direct identifiers; it can never be a grouping column")
        if column in items:
            raise SdtSurveyError(f"{column!r} is an item (an answer), not a grouping column")
        if column in scores or column in WAVE_COLUMNS or column == wave_column:
            raise SdtSurveyError(f"{column!r} cannot be a grouping column (waves are reported anyway)")
        if column not in data.frame.columns:
            raise SdtSurveyError(
                f"no column {column!r} in the responses; grouping columns there: "
                f"{', '.join(map(str, available)) or '(none)'}"
            )
        per_person = data.frame.groupby("_rid")[column].nunique(dropna=True)
        distinct = data.frame[column].nunique(dropna=True)
        n_people = data.frame["_rid"].nunique()
        if n_people > min_cell and distinct == n_people and (per_person <= 1).all():
            raise SdtSurveyError(
                f"every respondent has their own value of {column!r}: it looks like an identifier or a "
                "free-text answer, and its values would be shown as group names; group by something else"
            )


def _group_labels(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in by:
        labels = _plain_labels(out[column])
        if (labels == ALL).any():
            raise SdtSurveyError(
                f"{column!r} has the value {ALL!r}, which the report uses for overall rows; rename it"
            )
        out[column] = labels.where(labels.notna(), MISSING_GROUP).astype(object)
    return out


# ------------------------------------------------------------------ cells


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
            forced = np.array([key in grown for key in grid.keys])
            suppressed = protect(
                grid.membership,
                grid.counts,
                min_cell=min_cell,
                tables=grid.tables,
                forced=forced,
                checks=grid.checks,
                priority=grid.priority,
            )
            grown |= {key for key, s in zip(grid.keys, suppressed, strict=True) if s}
        grown |= {("L", t, v) for kind, t, v in grown if kind == "w"}
        if longitudinal is not None:
            forced = np.array([key in grown for key in longitudinal.keys])
            suppressed = protect(
                longitudinal.membership,
                longitudinal.counts,
                min_cell=min_cell,
                tables=longitudinal.tables,
                forced=forced,
                checks=longitudinal.checks,
            )
            grown |= {key for key, s in zip(longitudinal.keys, suppressed, strict=True) if s}
        if grown == hidden:
            break
        hidden = grown
    return hidden


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


# ------------------------------------------------------------------ summaries


def _summaries(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    midpoints: Mapping[str, float | None],
    confidence: float,
) -> pd.DataFrame:
    """n, mean, SD, CI and midpoint shares of every score per (table, group, wave)."""
    values = frame[list(names)].astype(float)
    mids = np.array([np.nan if midpoints.get(n) is None else midpoints[n] for n in names], dtype=float)
    above = values.gt(mids).astype(float).where(values.notna())
    below = values.lt(mids).astype(float).where(values.notna())
    parts = []
    for t, column in enumerate([None, *by]):
        keys = {
            "_wave": frame["_wave"].to_numpy(),
            "_value": frame[column].to_numpy(dtype=object) if column else np.full(len(frame), ALL, object),
        }
        grouped = values.assign(**keys).groupby(["_wave", "_value"], sort=False)
        above_g = above.assign(**keys).groupby(["_wave", "_value"], sort=False)
        below_g = below.assign(**keys).groupby(["_wave", "_value"], sort=False)
        tables = {
            "n": grouped.count(),
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "above": above_g.sum(min_count=1),
            "below": below_g.sum(min_count=1),
        }
        long = pd.concat({k: v[list(names)].stack() for k, v in tables.items()}, axis=1)
        long.index = long.index.set_names(["_wave", "_value", "scale"])
        long = long.reset_index()
        long["_table"] = t
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    n = out["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf((1 + confidence) / 2, n - 1) * out["sd"] / np.sqrt(n)
        out["ci_lower"] = out["mean"] - half
        out["ci_upper"] = out["mean"] + half
        out["share_above_midpoint"] = out["above"] / n.where(n > 0)
        out["share_below_midpoint"] = out["below"] / n.where(n > 0)
    has_mid = out["scale"].map(lambda s: midpoints.get(s) is not None)
    out.loc[~has_mid, ["share_above_midpoint", "share_below_midpoint"]] = np.nan
    out["n"] = out["n"].astype("Int64")
    return out.drop(columns=["above", "below"])


# ------------------------------------------------------------------ longitudinal


def _baseline(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Each respondent's groups at their first wave."""
    first = frame.sort_values(["_rid", "_wave"], kind="stable").drop_duplicates("_rid")
    return first.set_index("_rid")[list(by)]


def _link_method(frame: pd.DataFrame, a: int, b: int) -> str:
    ids_a = set(frame.loc[frame["_wave"] == a, "_rid"])
    ids_b = set(frame.loc[frame["_wave"] == b, "_rid"])
    linked = ids_a & ids_b
    if linked and linked == ids_a | ids_b:
        return "paired_t"
    return "mixed_model" if linked else "ols"


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


def _group_masks(labels: pd.DataFrame, keys: Sequence[tuple[int, Any]], by: Sequence[str]):
    for table, value in keys:
        if table == 0:
            yield (table, value), np.ones(len(labels), dtype=bool)
        else:
            yield (table, value), (labels[by[table - 1]] == value).to_numpy()


def _mixed_or_none(y: np.ndarray, x: np.ndarray, ids: np.ndarray, confidence: float) -> dict | None:
    """The random-intercept fit of :func:`random_intercept_slope`, or None when the data cannot carry one."""
    try:
        return random_intercept_slope(y, x, ids, confidence)
    except (np.linalg.LinAlgError, ValueError):
        return None


def random_intercept_slope(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, confidence: float = 0.95
) -> dict[str, float]:
    """Slope of ``y`` on ``x`` in a linear mixed model with a random intercept per group (REML).

    The model is statsmodels' ``MixedLM(y, [1, x], groups).fit(reml=True)`` (and
    lme4's ``y ~ x + (1 | group)``), estimated in closed form given the ratio
    ``gamma`` of the intercept variance to the residual variance, which is found
    by a one-dimensional search of the profiled REML criterion. Every sum is a
    ``bincount`` over groups, so a fit takes about a millisecond rather than
    statsmodels' loop over respondents. The estimate equals statsmodels'; the
    standard error is lme4's ``sigma^2 (X' V^-1 X)^-1``, and the interval and
    p-value are Wald (normal).

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``p``, ``gamma``
        (variance ratio), ``sigma2`` (residual variance), ``converged``.

    Examples
    --------
    >>> y = np.array([3.0, 3.5, 2.0, 2.75, 4.0, 4.0, 3.0])
    >>> x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    >>> fit = random_intercept_slope(y, x, np.array([1, 1, 2, 2, 3, 3, 4]))
    >>> round(fit["estimate"], 4)
    0.4167
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(g.max()) + 1 if len(g) else 0
    total, p = len(y), 2
    nan = {
        "estimate": np.nan,
        "se": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "p": np.nan,
        "gamma": np.nan,
        "sigma2": np.nan,
        "converged": False,
    }
    if total <= p or np.ptp(x) == 0:
        return nan
    n = np.bincount(g, minlength=n_groups).astype(float)
    sx, sy = np.bincount(g, x, n_groups), np.bincount(g, y, n_groups)
    sum_x, sum_y, sum_xx, sum_xy, sum_yy = x.sum(), y.sum(), x @ x, x @ y, y @ y

    def parts(gamma: np.ndarray) -> tuple[np.ndarray, ...]:
        """X'V^-1X (a00, a01, a11), the GLS slope and intercept, and the weighted RSS, per gamma."""
        gamma = np.atleast_1d(np.asarray(gamma, dtype=float))[:, None]
        w = gamma / (1 + gamma * n)  # V_g^-1 = (I - w 11') / sigma^2
        a00 = total - (w * n * n).sum(axis=1)
        a01 = sum_x - (w * n * sx).sum(axis=1)
        a11 = sum_xx - (w * sx * sx).sum(axis=1)
        b0 = sum_y - (w * n * sy).sum(axis=1)
        b1 = sum_xy - (w * sx * sy).sum(axis=1)
        det = a00 * a11 - a01**2
        slope = (a00 * b1 - a01 * b0) / det
        intercept = (a11 * b0 - a01 * b1) / det
        rss = sum_yy - (w * sy * sy).sum(axis=1) - (b0 * intercept + b1 * slope)
        return a00, det, slope, rss, np.log1p(gamma * n).sum(axis=1)

    def criterion(gamma: np.ndarray) -> np.ndarray:
        """-2 x the REML log-likelihood profiled over beta and sigma^2, up to a constant."""
        _, det, _, rss, logdet_v = parts(gamma)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (total - p) * np.log(rss / (total - p)) + logdet_v + np.log(det)
        return np.where((rss > 0) & (det > 0), value, np.inf)

    grid = np.concatenate([[0.0], np.logspace(-4, 6, 41)])
    values = criterion(grid)
    best = int(np.argmin(values))
    low = grid[best - 1] if best > 0 else 0.0
    high = grid[min(best + 1, len(grid) - 1)]
    gamma = float(grid[best])
    if high > low:
        search = optimize.minimize_scalar(
            lambda g: float(criterion(g)[0]),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-10 * max(1.0, high)},
        )
        if search.fun <= values[best]:
            gamma = float(search.x)
    a00, det, slope, rss, _ = parts(gamma)
    sigma2 = float(rss[0]) / (total - p)
    se = math.sqrt(sigma2 * float(a00[0] / det[0])) if det[0] > 0 and sigma2 >= 0 else float("nan")
    z = stats.norm.ppf((1 + confidence) / 2)
    estimate = float(slope[0])
    return {
        "estimate": estimate,
        "se": se,
        "ci_lower": estimate - z * se,
        "ci_upper": estimate + z * se,
        "p": float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else np.nan,
        "gamma": gamma,
        "sigma2": sigma2,
        "converged": bool(np.isfinite(se)),
    }


def _ols_slopes(frame: pd.DataFrame, key: pd.Series, x: str, y: str, confidence: float) -> pd.DataFrame:
    """OLS slope of y on x per key, from group sums (vectorized)."""
    work = pd.DataFrame({"k": key.to_numpy(), "x": frame[x].to_numpy(float), "y": frame[y].to_numpy(float)})
    work = work.dropna()
    work["xx"], work["xy"], work["yy"] = work.x**2, work.x * work.y, work.y**2
    sums = work.groupby("k").agg(
        n=("x", "size"),
        sx=("x", "sum"),
        sy=("y", "sum"),
        sxx=("xx", "sum"),
        sxy=("xy", "sum"),
        syy=("yy", "sum"),
    )
    n = sums["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ssx = sums.sxx - sums.sx**2 / n
        sxy = sums.sxy - sums.sx * sums.sy / n
        ssy = sums.syy - sums.sy**2 / n
        slope = sxy / ssx
        rss = (ssy - slope * sxy).clip(lower=0)
        se = np.sqrt(rss / (n - 2) / ssx)
        tcrit = stats.t.ppf((1 + confidence) / 2, n - 2)
        p = 2 * stats.t.sf(np.abs(slope / se), n - 2)
    return pd.DataFrame(
        {"estimate": slope, "ci_lower": slope - tcrit * se, "ci_upper": slope + tcrit * se, "p": p}
    )


def _changes(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    pairs: Sequence[tuple[int, int, str]],
    keys: Sequence[tuple[int, Any]],
    hidden: set[tuple[int, Any]],
    confidence: float,
    notes: list[str],
) -> pd.DataFrame:
    base = _baseline(frame, by)
    records: list[dict[str, Any]] = []
    failures = 0
    for a, b, method in pairs:
        window = frame[frame["_wave"].isin([a, b])]
        for name in names:
            wide = window.pivot(index="_rid", columns="_wave", values=name)
            wide = wide.reindex(columns=[a, b])
            labels = base.reindex(wide.index)
            both = wide[a].notna() & wide[b].notna()
            either = wide[a].notna() | wide[b].notna()
            diff = (wide[b] - wide[a])[both]
            for key, mask in _group_masks(labels, keys, by):
                record: dict[str, Any] = {
                    "_table": key[0],
                    "_value": key[1],
                    "scale": name,
                    "from": a,
                    "to": b,
                    "method": method,
                }
                if key in hidden:
                    records.append(record)
                    continue
                d = diff[mask[both.to_numpy()]]
                n_pairs, n_people = len(d), int((either & mask).sum())
                record.update(n_pairs=n_pairs, n=n_pairs if method == "paired_t" else n_people)
                if method == "paired_t" and n_pairs >= 2:
                    mean, sd = float(d.mean()), float(d.std(ddof=1))
                    se = sd / math.sqrt(n_pairs)
                    tcrit = stats.t.ppf((1 + confidence) / 2, n_pairs - 1)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        p = float(2 * stats.t.sf(abs(mean / se), n_pairs - 1)) if se > 0 else float("nan")
                    record.update(
                        mean_change=mean, ci_lower=mean - tcrit * se, ci_upper=mean + tcrit * se, p=p
                    )
                elif method == "mixed_model" and n_people >= 3:
                    sub = window[window["_rid"].isin(wide.index[mask & either.to_numpy()])]
                    sub = sub[sub[name].notna()]
                    fit = _mixed_or_none(
                        sub[name].to_numpy(float),
                        (sub["_wave"] == b).to_numpy(float),
                        sub["_rid"].to_numpy(),
                        confidence,
                    )
                    if fit is None or not fit["converged"]:
                        failures += 1
                    if fit is not None:
                        record.update(
                            mean_change=fit["estimate"],
                            ci_lower=fit["ci_lower"],
                            ci_upper=fit["ci_upper"],
                            p=fit["p"],
                        )
                elif method == "ols":
                    sub = window[window["_rid"].isin(wide.index[mask & either.to_numpy()])]
                    sub = sub.assign(_x=(sub["_wave"] == b).astype(float))
                    fit = _ols_slopes(sub, pd.Series(0, index=sub.index), "_x", name, confidence)
                    if len(fit):
                        row = fit.iloc[0]
                        record.update(
                            mean_change=row.estimate, ci_lower=row.ci_lower, ci_upper=row.ci_upper, p=row.p
                        )
                records.append(record)
    if failures:
        notes.append(
            f"{failures} mixed-model fit(s) of a change did not converge; read those estimates with care"
        )
    out = pd.DataFrame.from_records(records)
    for column in CHANGE_FIGURES:
        if column not in out:
            out[column] = np.nan
    return out


def _trends(
    frame: pd.DataFrame,
    by: Sequence[str],
    names: Sequence[str],
    keys: Sequence[tuple[int, Any]],
    hidden: set[tuple[int, Any]],
    confidence: float,
    notes: list[str],
) -> pd.DataFrame:
    base = _baseline(frame, by)
    repeated = frame.groupby("_rid").size().max() > 1
    method = "mixed_model" if repeated else "ols"
    labels = base.reindex(frame["_rid"].to_numpy()).reset_index(drop=True)
    records = []
    failures = 0
    for name in names:
        has = frame[name].notna().to_numpy()
        for key, mask in _group_masks(labels, keys, by):
            record: dict[str, Any] = {"_table": key[0], "_value": key[1], "scale": name, "method": method}
            if key in hidden:
                records.append(record)
                continue
            sub = frame[mask & has]
            n_people, n_obs = int(sub["_rid"].nunique()), len(sub)
            record.update(n=n_people, n_observations=n_obs)
            if sub["_wave"].nunique() >= 2:
                if method == "mixed_model":
                    fit = _mixed_or_none(
                        sub[name].to_numpy(float),
                        sub["_wave"].to_numpy(float),
                        sub["_rid"].to_numpy(),
                        confidence,
                    )
                    if fit is None or not fit["converged"]:
                        failures += 1
                    if fit is not None:
                        record.update(
                            slope=fit["estimate"],
                            ci_lower=fit["ci_lower"],
                            ci_upper=fit["ci_upper"],
                            p=fit["p"],
                        )
                else:
                    fit = _ols_slopes(sub, pd.Series(0, index=sub.index), "_wave", name, confidence)
                    row = fit.iloc[0]
                    record.update(slope=row.estimate, ci_lower=row.ci_lower, ci_upper=row.ci_upper, p=row.p)
            records.append(record)
    if failures:
        notes.append(
            f"{failures} mixed-model fit(s) of a trend did not converge; read those slopes with care"
        )
    out = pd.DataFrame.from_records(records)
    for column in TREND_FIGURES:
        if column not in out:
            out[column] = np.nan
    return out


# ------------------------------------------------------------------ invariance


def invariance_minimum(instrument: Instrument) -> int:
    """Respondents each group needs before invariance is tested: ``max(100, 5 * items)``.

    A respondent counts when every subscale of the instrument is scored; the
    engine then fits their item answers by full-information ML.

    Examples
    --------
    >>> invariance_minimum(load_instruments("bpn-residency")[0])
    120
    """
    return max(INVARIANCE_FLOOR, INVARIANCE_PER_ITEM * len(_model_items(instrument)))


def _model_items(instrument: Instrument) -> list[str]:
    return list(dict.fromkeys(item for sub in instrument.subscales.values() for item in sub.items))


def _invariance_engine():
    try:
        module = importlib.import_module("sdt_survey.factor.invariance")
    except ImportError:
        return None
    return getattr(module, "measurement_invariance", None)


def _level_from(result: Mapping[str, Any]) -> tuple[str | None, bool | None]:
    """The highest level of invariance that holds, and whether means may be compared.

    Reads the engine's ``to_dict()``: a ``conclusion`` naming the level (a string,
    or a mapping with ``level``), else the last of the consecutive ``steps`` that held.
    """
    conclusion = result.get("conclusion")
    supported: bool | None = None
    text = None
    if isinstance(conclusion, Mapping):
        for key in ("mean_comparisons_supported", "means_comparable", "latent_means_comparable"):
            if isinstance(conclusion.get(key), bool):
                supported = conclusion[key]
        for key in ("level", "highest_level", "holds", "invariance"):
            if isinstance(conclusion.get(key), str):
                text = conclusion[key]
                break
    elif isinstance(conclusion, str):
        text = conclusion
    level = None
    if text is not None:
        lowered = text.lower()
        # the highest level named in a clause that does not reject it ("configural only; metric rejected")
        negation = re.compile(r"\b(?:rejected|reject|fails?|failed|not|no|does not|doesn't|violated)\b")
        held = []
        for clause in re.split(r"[;,.]|\bbut\b|\bwhile\b|\bhowever\b", lowered):
            if negation.search(clause):
                continue
            for rank, candidate in enumerate(LEVELS):
                if re.search(rf"\b{candidate}\b", clause):
                    partial = re.search(rf"\bpartial(?:ly)?\s+{candidate}\b", clause)
                    held.append((rank, f"partial {candidate}" if partial else candidate))
        if held:
            level = max(held)[1]
        elif re.search(r"\bnone\b|no level|not even configural", lowered):
            level = "none"
    if level is None and isinstance(result.get("steps"), Sequence):
        held = None
        for step in result["steps"]:
            if not isinstance(step, Mapping):
                continue
            name = next(
                (step[k] for k in ("level", "step", "name", "model") if isinstance(step.get(k), str)), ""
            )
            ok = next(
                (
                    step[k]
                    for k in ("holds", "supported", "accepted", "passed", "retained")
                    if isinstance(step.get(k), bool)
                ),
                None,
            )
            if name.lower() in LEVELS and ok is not None:
                if not ok:
                    break
                held = name.lower()
        level = held
    if supported is None and level is not None:
        supported = level in ("scalar", "strict", "partial scalar", "partial strict")
    return level, supported


def _invariance(
    frame: pd.DataFrame,
    keyed: pd.DataFrame,
    waves: Sequence[Any],
    instruments: tuple[Instrument, ...],
    by: Sequence[str],
    requested: bool,
) -> tuple[dict[str, Any], list[str]]:
    """Test measurement invariance across each grouping column (and across waves) where the data allow."""
    if not requested:
        return {"requested": False, "checks": []}, [
            "invariance not checked: not requested (invariance=False)"
        ]
    across = [*by, *(["wave"] if len(waves) > 1 else [])]
    engine = _invariance_engine()
    minimum = {inst.id: invariance_minimum(inst) for inst in instruments}
    out: dict[str, Any] = {
        "requested": True,
        "engine": "available" if engine else "unavailable",
        "minimum_per_group": minimum,
        "checks": [],
    }
    notes: list[str] = []
    first = frame.sort_values(["_rid", "_wave"], kind="stable").drop_duplicates("_rid")
    for inst in instruments:
        items = _model_items(inst)
        need = minimum[inst.id]
        for column in across:
            if column == "wave":
                rows, groups = frame, frame["_wave"].map(dict(enumerate(waves)))
                caveat = " (waves treated as independent groups although respondents repeat; approximate)"
            else:
                rows, groups = first, first[column]
                caveat = " (each respondent's first wave)"
            # usable: every subscale scored (the engine fits the item answers by full-information ML)
            complete = rows[list(inst.subscales)].notna().all(axis=1).to_numpy()
            labels = groups.to_numpy(dtype=object)
            sizes = pd.Series(complete).groupby(labels).sum()
            large = [g for g in sorted(sizes.index, key=_natural_key) if sizes[g] >= need]
            small = [g for g in sorted(sizes.index, key=_natural_key) if sizes[g] < need]
            check: dict[str, Any] = {
                "instrument": inst.id,
                "across": column,
                "groups_tested": jsonable(large),
                "groups_too_small": jsonable(small),
            }
            if len(large) < 2:
                check.update(
                    status="too_few_respondents",
                    level=None,
                    mean_comparisons_supported=None,
                    statement=(
                        f"too few respondents to test measurement invariance of {inst.id} across {column}: "
                        f"each group needs at least {need} respondents with every subscale scored and "
                        f"{len(large)} of {len(sizes)} groups have that many; mean comparisons across "
                        f"{column} are not backed by an invariance test"
                    ),
                )
                out["checks"].append(check)
                notes.append(check["statement"])
                continue
            if engine is None:
                check.update(
                    status="engine_unavailable",
                    level=None,
                    mean_comparisons_supported=None,
                    statement=f"invariance of {inst.id} across {column} not checked: engine unavailable",
                )
                out["checks"].append(check)
                if "invariance not checked: engine unavailable" not in notes:
                    notes.append("invariance not checked: engine unavailable")
                continue
            chosen = complete & pd.Series(labels).isin(large).to_numpy()
            tested = keyed.loc[rows.index[chosen], items].reset_index(drop=True)
            tested[column] = [str(v) for v in labels[chosen]]
            try:
                result = engine(tested, inst, group=column)
                full = result.to_dict() if hasattr(result, "to_dict") else dict(result)
                result_dict = {k: full[k] for k in RESULT_KEYS if k in full}
            except Exception as exc:  # the engine may fail to converge on real data
                check.update(
                    status="failed",
                    level=None,
                    mean_comparisons_supported=None,
                    statement=f"invariance of {inst.id} across {column} could not be tested: {exc}",
                )
                out["checks"].append(check)
                notes.append(check["statement"])
                continue
            level, supported = _level_from(result_dict)
            highest = getattr(result, "highest", None)
            if isinstance(highest, str) and highest.lower() in LEVELS:
                level = highest.lower()
                supported = level in ("scalar", "strict")
            caution = ""
            if "fits poorly" in str(result_dict.get("conclusion", "")):
                caution = (
                    " Caution: the configural model fits poorly; every comparison rests on a poor baseline."
                )
            if supported:
                verdict = f"{level} invariance holds, so comparing means across {column} is supported"
            elif level is None:
                verdict = "the level of invariance could not be read from the result; compare means with care"
            else:
                verdict = (
                    f"only {level} invariance holds, so differences in means across {column} may reflect "
                    "how the items work in each group rather than real differences; do not compare means"
                )
            skipped = f" (not tested, too few respondents: {', '.join(map(str, small))})" if small else ""
            check.update(
                status="tested",
                level=level,
                mean_comparisons_supported=supported,
                statement=f"{inst.id} across {column}: {verdict}{caveat}{skipped}.{caution}",
                result=jsonable(result_dict),
            )
            out["checks"].append(check)
            notes.append(check["statement"])
    return out, notes


# ------------------------------------------------------------------ report


@dataclass
class CohortReport:
    """Aggregated, privacy-protected summaries by group and wave.

    Holds aggregates only: every suppressed figure is already removed (null),
    and no respondent id or answer is kept.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per (table, group, wave, scale): ``_table`` (0 = overall,
        ``i`` = ``by[i - 1]``), ``_value``, ``wave``, ``scale``, the figures and
        ``suppressed``.
    changes, trends : pandas.DataFrame
        Change between consecutive waves and slope per wave, per group and scale.
    invariance : dict
        The measurement-invariance checks and what they mean for comparing means.
    notes : list of str
    """

    rows: pd.DataFrame
    changes: pd.DataFrame
    trends: pd.DataFrame
    invariance: dict[str, Any]
    notes: list[str]
    min_cell: int
    by: tuple[str, ...]
    waves: tuple[Any, ...]
    confidence: float
    scales: tuple[str, ...]
    scale_labels: dict[str, str] = field(default_factory=dict)
    midpoints: dict[str, float | None] = field(default_factory=dict)

    # -- tables -----------------------------------------------------------
    def _group(self, table: int, value: Any) -> dict[str, Any]:
        return {column: (value if table == i else ALL) for i, column in enumerate(self.by, start=1)}

    def _expand(self, frame: pd.DataFrame, figures: Sequence[str], extra: Sequence[str]) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        for i, column in enumerate(self.by, start=1):
            out[column] = pd.Series(
                np.where(frame["_table"].to_numpy() == i, frame["_value"].to_numpy(dtype=object), ALL),
                index=frame.index,
                dtype=object,
            )
        for column in extra:
            out[column] = frame[column]
        for column in figures:
            out[column] = frame[column]
        out["suppressed"] = frame["suppressed"].astype(bool)
        return out.reset_index(drop=True)

    def to_frame(self, what: str = "rows") -> pd.DataFrame:
        """The summaries as a table: one column per grouping column (``"all"`` when not broken down).

        Parameters
        ----------
        what : {"rows", "changes", "trends"}

        Examples
        --------
        >>> import sdt_survey
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["program"], invariance=False)
        >>> list(report.to_frame().columns[:4])
        ['program', 'wave', 'scale', 'n']
        """
        if what == "rows":
            return self._expand(self.rows, FIGURES, ["wave", "scale"])
        if what == "changes":
            return self._expand(self.changes, CHANGE_FIGURES, ["scale", "from_wave", "to_wave", "method"])
        if what == "trends":
            return self._expand(self.trends, TREND_FIGURES, ["scale", "method"])
        raise SdtSurveyError(f"to_frame: what must be rows, changes or trends, not {what!r}")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the documented contract; see docs/cohorts.md).

        A suppressed entry keeps its group, wave and scale and has every figure
        (``n`` included) ``None``.

        Examples
        --------
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=3, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["clinic"], invariance=False)
        >>> hidden = [row for row in report.to_dict()["rows"] if row["suppressed"]]
        >>> sorted({key for row in hidden for key, value in row.items() if value is not None})
        ['group', 'scale', 'suppressed', 'wave']
        """

        def records(frame: pd.DataFrame, head: Sequence[str], figures: Sequence[str]) -> list[dict[str, Any]]:
            out = []
            for values in frame.to_dict("records"):
                entry = {"group": self._group(values["_table"], values["_value"])}
                entry.update({k: jsonable(values[k]) for k in head})
                for k in figures:
                    entry[k] = None if values["suppressed"] else jsonable(values[k])
                entry["suppressed"] = bool(values["suppressed"])
                out.append(entry)
            return out

        return {
            "min_cell": self.min_cell,
            "rows": records(self.rows, ["wave", "scale"], FIGURES),
            "changes": records(self.changes, ["scale", "from_wave", "to_wave", "method"], CHANGE_FIGURES),
            "trends": records(self.trends, ["scale", "method"], TREND_FIGURES),
            "invariance": jsonable(self.invariance),
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report: ``.json`` (everything), ``.csv`` (the rows), ``.txt`` (the summary).

        Atomically; an existing file is replaced only with ``overwrite=True``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["program"], invariance=False)
        >>> report.write(pathlib.Path(tempfile.mkdtemp()) / "cohorts.json").suffix
        '.json'
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".json", ".csv", ".txt", ".md"):
            raise SdtSurveyError(f"{path}: unknown report type {suffix or '(none)'}; use .json, .csv or .txt")
        with atomic_output(path, overwrite=overwrite) as temp:
            if suffix == ".json":
                temp.write_text(self.to_json() + "\n", encoding="utf-8")
            elif suffix == ".csv":
                write_csv(self.to_frame(), temp, index=False)
            else:
                temp.write_text(self.summary() + "\n", encoding="utf-8")
        return path

    # -- reading ------------------------------------------------------------
    def _label(self, table: int, value: Any) -> str:
        # Group values come from the data: shown with control characters escaped, on one line.
        return "all" if table == 0 else f"{printable(self.by[table - 1])} {printable(value)}"

    def summary(self) -> str:
        """A readable table per score; suppressed cells are marked, not left out.

        Examples
        --------
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=3, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["clinic"], invariance=False)
        >>> print(report.summary().splitlines()[0])
        Cohort summary: 2 wave(s) (1, 2); groups by clinic; minimum cell size 5; 95% confidence intervals
        """
        hidden = f"—  (suppressed: fewer than {self.min_cell}, or protecting such a group)"
        pct = "{:>5.0%}".format
        waves = ", ".join(map(str, self.waves))
        lines = [
            f"Cohort summary: {len(self.waves)} wave(s) ({waves}); groups by "
            f"{', '.join(map(printable, self.by)) or '(none)'}; minimum cell size {self.min_cell}; "
            f"{self.confidence:.0%} confidence intervals",
            "",
        ]
        for check in self.invariance.get("checks", []):
            lines.append(f"Invariance: {check['statement']}")
        if "invariance not checked: engine unavailable" in self.notes:
            lines.append("Invariance: not checked (the invariance engine is unavailable)")
        if not self.invariance.get("requested", True):
            lines.append("Invariance: not checked (not requested)")

        def labelled(frame: pd.DataFrame) -> pd.DataFrame:
            labels = [self._label(t, v) for t, v in zip(frame["_table"], frame["_value"], strict=True)]
            return frame.drop(columns=["_table", "_value"]).assign(label=labels)

        rows = labelled(self.rows)
        width = max([len(s) for s in rows["label"]] + [5])
        for name in self.scales:
            mid = self.midpoints.get(name)
            title = self.scale_labels.get(name, name)
            head = title if title == name else f"{title} [{name}]"
            lines += ["", head + (f", midpoint {mid:g}" if mid is not None else "")]
            lines.append(
                f"  {'group':<{width}} {'wave':>6} {'n':>5} {'mean':>6} {'sd':>6} "
                f"{int(self.confidence * 100)}% CI{'':<9} {'above':>5} {'below':>5}"
            )
            for row in rows[rows["scale"] == name].itertuples(index=False):
                head = f"  {row.label:<{width}} {row.wave!s:>6} "
                if row.suppressed:
                    lines.append(head + hidden)
                    continue
                if pd.isna(row.mean):
                    lines.append(head + f"{int(row.n) if pd.notna(row.n) else 0:>5}      (no scores)")
                    continue
                ci = f"[{row.ci_lower:.2f}, {row.ci_upper:.2f}]" if pd.notna(row.ci_lower) else ""
                above = pct(row.share_above_midpoint) if pd.notna(row.share_above_midpoint) else "     "
                below = pct(row.share_below_midpoint) if pd.notna(row.share_below_midpoint) else "     "
                sd = f"{row.sd:>6.2f}" if pd.notna(row.sd) else f"{'':>6}"
                lines.append(head + f"{int(row.n):>5} {row.mean:>6.2f} {sd} {ci:<16} {above} {below}")
        if len(self.changes):
            lines += ["", "Change between waves (mean change, CI, p)"]
            for row in labelled(self.changes).itertuples(index=False):
                head = f"  {row.scale} {row.label}: wave {row.from_wave} -> {row.to_wave}: "
                if row.suppressed:
                    lines.append(head + hidden)
                elif pd.isna(row.mean_change):
                    lines.append(head + "not estimable")
                else:
                    lines.append(
                        head + f"{row.mean_change:+.2f} [{row.ci_lower:+.2f}, {row.ci_upper:+.2f}], "
                        f"p = {row.p:.3g}, n = {int(row.n)} ({row.method}, {int(row.n_pairs)} linked)"
                    )
        if len(self.trends):
            lines += ["", "Trend across waves (slope per wave, CI, p)"]
            for row in labelled(self.trends).itertuples(index=False):
                head = f"  {row.scale} {row.label}: "
                if row.suppressed:
                    lines.append(head + hidden)
                elif pd.isna(row.slope):
                    lines.append(head + "not estimable")
                else:
                    lines.append(
                        head + f"{row.slope:+.3f} [{row.ci_lower:+.3f}, {row.ci_upper:+.3f}], "
                        f"p = {row.p:.3g}, n = {int(row.n)} ({row.method})"
                    )
        lines += [
            "",
            f"— suppressed: a group with fewer than {self.min_cell} respondents, or one hidden as well "
            "so that such a group cannot be worked out from totals, other groups or other waves.",
        ]
        shown = {check.get("statement") for check in self.invariance.get("checks", [])}
        lines.extend(f"note: {note}" for note in self.notes if note not in shown)
        return "\n".join(lines)


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


# ------------------------------------------------------------------ entry point


def _null_hidden(frame: pd.DataFrame, hidden: set[tuple[int, Any]], figures: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    mask = np.array([(t, v) in hidden for t, v in zip(out["_table"], out["_value"], strict=True)], dtype=bool)
    out["suppressed"] = mask
    for column in figures:
        if column in ("n", "n_pairs", "n_observations"):
            out[column] = out[column].astype("Int64")
            out.loc[mask, column] = pd.NA
        else:
            out[column] = out[column].astype(float)
            out.loc[mask, column] = np.nan
    return out


def cohort_summary(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: Any,
    *,
    id_column: str,
    by: Sequence[str],
    wave_column: str | None = None,
    min_cell: int = 5,
    invariance: bool = True,
    confidence: float = 0.95,
    ledger: str | Path | ReleaseLedger | bool | None = True,
    release_command: str = "cohorts",
    **reading_options: Any,
) -> CohortReport:
    """Summaries of every score by group and wave, with changes, trends and privacy-safe suppression.

    Parameters
    ----------
    instruments : Instrument, name, or a list of them
    responses : path, list of paths, ScoredResponses, DataFrame (or a list of them)
        Read and scored as :func:`sdt_survey.score` does. Several sources
        (waves) are scored one by one and their tables concatenated. The wave
        is ``wave_column``, else a column named as in
        :data:`~sdt_survey.responses.WAVE_COLUMNS`; when the files have none,
        the order of the files defines wave 1, 2, ...
    id_column : str
        Respondent id; links a respondent's answers across waves. It is used
        for linking only and never appears in the report.
    by : sequence of str
        Grouping columns (e.g. ``["program", "pgy", "cohort", "clinic"]``);
        each gives one set of group rows. Respondents with no value form the
        group ``"(missing)"``.
    wave_column : str, optional
    min_cell : int
        Minimum number of respondents behind any figure (default 5; at least 3).
    invariance : bool
        Run the measurement-invariance check (default True).
    confidence : float
        Level of the confidence intervals (default 0.95).
    ledger : path, ReleaseLedger, True, or None
        The release ledger (:mod:`sdt_survey.ledger`): every cell an earlier
        table or report showed of these respondents counts as known, and this
        report hides more until nothing new is derivable; what it shows is
        recorded. ``True`` (default): the user's ledger
        (:func:`~sdt_survey.ledger.default_ledger_path`); a path: that file (a
        team's shared ledger); ``None``: protect this table on its own only.
    release_command : str
        What the ledger records as the releasing command.
    **reading_options
        Passed to :func:`sdt_survey.score` (``source``, ``mapping``,
        ``invalid``, ``duplicates``, ``exclude_flagged``, ...).

    Returns
    -------
    CohortReport

    Raises
    ------
    SdtSurveyError
        ``min_cell`` below 3 or below that of an earlier release of these
        respondents, a grouping column that is an identifier, an item or
        missing, a respondent twice in one wave, and unreadable data.

    Examples
    --------
    >>> import sdt_survey
    >>> from sdt_survey.simulate import simulate
    >>> data = simulate("bpn-residency", seed=5, n_programs=2, residents_per_program=(12, 12))
    >>> report = cohort_summary("bpn-residency", data.responses, id_column="resident",
    ...                         by=["pgy"], invariance=False)
    >>> frame = report.to_frame()
    >>> overall = frame[(frame.pgy == "all") & (frame.scale == "relatedness_satisfaction")]
    >>> overall[["wave", "n"]].values.tolist()
    [[1, 24], [2, 20]]
    >>> "resident" in frame.columns
    False
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)):
        raise SdtSurveyError(f"min_cell must be a whole number, not {min_cell!r}")
    if min_cell < MIN_CELL_FLOOR:
        raise SdtSurveyError(
            f"min_cell {min_cell} is too small: figures resting on fewer than {MIN_CELL_FLOOR} respondents "
            "let one respondent work out another's answers; use at least 3 (default 5)"
        )
    if not 0 < confidence < 1:
        raise SdtSurveyError(f"confidence must be between 0 and 1, not {confidence!r}")
    if "id_column" in reading_options or "wave_column" in reading_options:
        raise SdtSurveyError("give id_column and wave_column once")
    loaded = load_instruments(instruments)
    by = tuple(by) if not isinstance(by, str) else by
    data = _collect(loaded, responses, id_column, wave_column, reading_options)
    _check_by(data, by, loaded, id_column, wave_column, min_cell)
    names = score_ids(loaded)
    midpoints = scale_midpoints(loaded)
    frame = _group_labels(data.frame[["_rid", "_wave", *by, *names]], by)
    notes = list(data.notes)

    # one audit of the wave cells and of the longitudinal groups (changes and trends) together
    longitudinal = len(data.waves) > 1
    pairs = [(a, a + 1, _link_method(frame, a, a + 1)) for a in range(len(data.waves) - 1)]
    long_grid = _longitudinal_cells(frame, by, names, pairs) if longitudinal else None
    long_keys = [(t, v) for _, t, v in long_grid.keys] if long_grid is not None else []
    grids = _wave_cells(frame, by, names, longitudinal)
    hidden_keys = _protect_all(grids, int(min_cell), long_grid)
    with open_ledger(ledger) as book:
        if book is None:
            notes.append(
                "no release ledger: this table is protected on its own, not against other runs on the "
                "same respondents (see docs/privacy.md)"
            )
        else:
            cells = _release_cells(frame, data.ids, by, names, book, longitudinal)
            book.check_min_cell(int(min_cell), np.concatenate([c.versions for c in cells]))
            hidden_keys, ledger_notes = _audit_with_ledger(
                cells, book, grids, long_grid, int(min_cell), hidden_keys
            )
            notes.extend(ledger_notes)
            released = [c for c in cells if c.key not in hidden_keys]
            book.record(
                released,
                command=release_command,
                min_cell=int(min_cell),
                details={"by": list(by), "waves": [str(w) for w in data.waves]},
            )
    hidden = {(t, v) for kind, t, v in hidden_keys if kind == "w"}
    hidden_long = {(t, v) for kind, t, v in hidden_keys if kind == "L"}

    rows = _summaries(frame, by, names, midpoints, confidence)
    rows["wave"] = rows["_wave"].map(dict(enumerate(data.waves)))
    all_keys = sorted(
        {(int(t), v) for t, v in zip(rows["_table"], rows["_value"], strict=True)},
        key=lambda k: (k[0], _natural_key(k[1])),
    )
    order = {key: i for i, key in enumerate(all_keys)}
    rows["_order"] = [order[(int(t), v)] for t, v in zip(rows["_table"], rows["_value"], strict=True)]
    rows["_scale_order"] = rows["scale"].map({n: i for i, n in enumerate(names)})
    rows = rows.sort_values(["_scale_order", "_order", "_wave"], kind="stable").reset_index(drop=True)
    rows = _null_hidden(rows, hidden, FIGURES)[["_table", "_value", "wave", "scale", *FIGURES, "suppressed"]]

    changes = pd.DataFrame(
        columns=["_table", "_value", "scale", "from_wave", "to_wave", "method", *CHANGE_FIGURES, "suppressed"]
    )
    trends = pd.DataFrame(columns=["_table", "_value", "scale", "method", *TREND_FIGURES, "suppressed"])
    if longitudinal:
        raw_changes = _changes(frame, by, names, pairs, long_keys, hidden_long, confidence, notes)
        raw_changes["from_wave"] = raw_changes["from"].map(dict(enumerate(data.waves)))
        raw_changes["to_wave"] = raw_changes["to"].map(dict(enumerate(data.waves)))
        changes = _null_hidden(raw_changes, hidden_long, CHANGE_FIGURES)[changes.columns]
        raw_trends = _trends(frame, by, names, long_keys, hidden_long, confidence, notes)
        trends = _null_hidden(raw_trends, hidden_long, TREND_FIGURES)[trends.columns]
        methods = sorted({m for _, _, m in pairs})
        notes.append(
            "changes and trends follow each respondent in the groups they were in at their first wave; "
            f"change method: {', '.join(methods)} (paired_t: every respondent answered both waves; "
            "mixed_model: ids partly link, random intercept per respondent; ols: no id links)"
        )
    else:
        notes.append("one wave only: no changes or trends")
    inv, inv_notes = _invariance(frame, data.keyed, data.waves, loaded, by, invariance)
    notes.extend(inv_notes)
    n_hidden = int(rows["suppressed"].sum())
    if n_hidden:
        notes.append(
            f"{n_hidden} of {len(rows)} rows suppressed (minimum cell size {min_cell}, with complementary "
            "suppression; see docs/privacy.md)"
        )
    labels = {}
    for inst in loaded:
        for entry in (*inst.subscales.values(), *inst.composites.values()):
            labels[entry.id] = str(entry.label) if entry.label is not None else entry.id
    return CohortReport(
        rows=rows,
        changes=changes.reset_index(drop=True),
        trends=trends.reset_index(drop=True),
        invariance=inv,
        notes=notes,
        min_cell=int(min_cell),
        by=tuple(by),
        waves=tuple(data.waves),
        confidence=float(confidence),
        scales=tuple(names),
        scale_labels=labels,
        midpoints=midpoints,
    )


__all__ = [
    "ALL",
    "MIN_CELL_FLOOR",
    "MISSING_GROUP",
    "CohortReport",
    "cohort_summary",
    "invariance_minimum",
    "protect",
    "random_intercept_slope",
    "scale_midpoints",
]
