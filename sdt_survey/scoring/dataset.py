"""The analysis data set: validated, scored, keyed responses and the record of every decision.

:class:`ScoredResponses` is what the intake stage (:func:`~sdt_survey.scoring.score`)
produces and what every analysis takes: reliability and factor analysis read
its ``keyed`` items, cohorts and the report its ``scores``, and its ``report``
(a :class:`~sdt_survey.responses.DataQualityReport`) records what was found in
the file and what was done about it. An analysis handed one never reads or
scores the responses again (``score`` returns it as it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._terminal import printable
from ..errors import OutputError, SdtSurveyError
from ..instrument import Instrument, plural
from ..responses import DataQualityReport
from ..results import Result, jsonable
from .keying import AUDIT_COLUMNS
from .scores import score_ids
from .tables import write_table

#: Suffixes :meth:`ScoredResponses.write` writes the scores table to (as :func:`write_table` does).
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".json", ".jsonl", ".ndjson", ".sav")


@dataclass
class ScoredResponses(Result):
    """The analysis data set: scores with everything needed to trust them.

    Made once per run by :func:`~sdt_survey.scoring.score` (the intake stage);
    every analysis takes it in place of a response file.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per respondent: id, passthrough columns, subscale and composite
        scores, ``n_missing`` and ``n_invalid`` item counts, careless indices
        and flags.
    items : pandas.DataFrame
        The validated item values as answered (codes; not reverse-keyed).
    keyed : pandas.DataFrame
        Scored items with reverse keys applied: the input to reliability and
        factor analysis.
    report : DataQualityReport
        Every problem found and what was done about it: the record of every
        decision of the intake.
    instruments : tuple of Instrument
    id_column, wave_column : str, optional
        The respondent id and wave columns the responses were read with.
    source : str
        Where the responses came from (the file's path, or ``"<data frame>"``).
    dropped_columns, dropped_reasons
        Columns left out as possible identifiers, and why.
    notes, warnings : list of str
        What a reader must know, and what went wrong.
    """

    file_is_table = True  # its files are the scores table (.json: one record per respondent)

    scores: pd.DataFrame
    items: pd.DataFrame
    keyed: pd.DataFrame
    report: DataQualityReport
    instruments: tuple[Instrument, ...]
    id_column: str | None = None
    dropped_columns: list[str] = field(default_factory=list)
    #: Why each dropped column was taken for an identifier.
    dropped_reasons: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wave_column: str | None = None
    #: Where the responses came from: the file's path, or ``"<data frame>"``.
    source: str = "<data frame>"
    #: The keying audit (:func:`~sdt_survey.scoring.keying.audit_keying`): items whose data run against
    #: their declared key, one row each (empty when none); each is also one of the :attr:`warnings`.
    keying: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=AUDIT_COLUMNS))

    #: The scores table is the data: a table suffix writes it, ``.txt``/``.md`` the summary.
    writers: ClassVar[dict[str, str]] = {".txt": "summary", ".md": "summary"}

    @property
    def score_columns(self) -> list[str]:
        return [c for c in score_ids(self.instruments) if c in self.scores]

    def to_frame(self) -> pd.DataFrame:
        return self.scores.copy()

    def describe(self) -> pd.DataFrame:
        """n, mean, SD, min and max of each score."""
        return describe_scores(self.scores[self.score_columns])

    def to_dict(self) -> dict[str, Any]:
        described = self.describe()
        return jsonable(
            {
                "instruments": [{"id": i.id, "version": i.version} for i in self.instruments],
                "n_respondents": len(self.scores),
                "scores": {
                    name: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                    for name, row in described.iterrows()
                },
                "dropped_columns": self.dropped_columns,
                "dropped_reasons": self.dropped_reasons,
                "notes": self.notes,
                "warnings": self.warnings,
                "keying": self.keying.to_dict("records"),
                "report": {"counts": self.report.to_dict()["counts"]},
            }
        )

    def _counted(self) -> str:
        """``N respondents``, or ``N responses of K respondents (...)`` when a respondent has several rows."""
        n = len(self.scores)
        ids = self.id_column if self.id_column in self.scores else None
        unique = int(self.scores[ids].nunique()) if ids else n
        if unique == n:
            return counted_text(n, unique)
        wave = next((c for c in (self.wave_column, "redcap_event_name") if c and c in self.scores), None)
        waves = (wave, int(self.scores[wave].nunique())) if wave is not None else None
        instances = None
        if "redcap_repeat_instance" in self.scores:
            numbers = pd.to_numeric(self.scores["redcap_repeat_instance"], errors="coerce")
            instances = int(numbers.max()) if numbers.notna().any() else None
        return counted_text(n, unique, waves, instances)

    def summary(self) -> str:
        return summary_text(
            self.instruments,
            self._counted(),
            self.describe(),
            int(self.scores["careless"].sum()) if "careless" in self.scores else None,
            self.dropped_columns,
            self.dropped_reasons,
            self.warnings,
            self.notes,
        )

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the scores by extension: .csv, .tsv, .parquet, .sav (with labels), .json, .jsonl.

        The scores table is this result's data, so ``.json`` holds its rows
        (records), as in every release; ``.txt`` and ``.md`` hold the
        :meth:`summary`, and :meth:`to_json` gives the summary data as JSON.
        Atomically; an existing file is replaced only with ``overwrite=True``.
        """
        suffix = Path(path).suffix.lower()
        if suffix in TABLE_SUFFIXES:
            return write_table(self.scores, path, labels=self.variable_labels(), overwrite=overwrite)
        if suffix not in self.writers:
            known = ", ".join(sorted({*TABLE_SUFFIXES, *self.writers}))
            raise OutputError(
                f"{path}: cannot tell the format from the suffix {suffix!r}; use one of {known}"
            )
        return super().write(path, overwrite=overwrite)

    def select(
        self, rows: np.ndarray | pd.Series | None = None, instruments: Sequence[Instrument] | None = None
    ) -> ScoredResponses:
        """The same analysis data set restricted to some respondents and/or instruments.

        Nothing is read or scored again: ``rows`` (a boolean mask over the
        respondents) picks rows of :attr:`scores`, :attr:`items` and
        :attr:`keyed` alike; ``instruments`` (a subset of :attr:`instruments`,
        by id and version) keeps their items and scores only.
        """
        chosen = self.instruments
        if instruments is not None:
            known = {(i.id, i.version): i for i in self.instruments}
            missing = [f"{i.id} {i.version}" for i in instruments if (i.id, i.version) not in known]
            if missing:
                raise SdtSurveyError(
                    f"the scored responses do not hold {', '.join(missing)} (they hold "
                    f"{', '.join(f'{i.id} {i.version}' for i in self.instruments)}); score them with it"
                )
            chosen = tuple(known[(i.id, i.version)] for i in instruments)
        mask = np.ones(len(self.scores), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        if len(mask) != len(self.scores):
            raise SdtSurveyError(f"rows has {len(mask)} values for {len(self.scores)} respondents")
        item_ids = [item.id for inst in chosen for item in inst.items]
        dropped_scores = [c for c in score_ids(self.instruments) if c not in set(score_ids(chosen))]

        def pick(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
            part = frame.loc[mask] if columns is None else frame.loc[mask, [c for c in columns if c in frame]]
            return part.reset_index(drop=True)

        columns = item_ids if instruments is not None else None
        return replace(
            self,
            scores=pick(self.scores.drop(columns=dropped_scores)),
            items=pick(self.items, columns),
            keyed=pick(self.keyed, columns),
            instruments=chosen,
            keying=self.keying[self.keying["instrument"].isin([i.id for i in chosen])].reset_index(drop=True),
            warnings=[w for w in self.warnings if not w.startswith("keying: ") or _names_item(w, item_ids)],
        )

    def variable_labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for inst in self.instruments:
            for entry in (*inst.subscales.values(), *inst.composites.values()):
                if entry.label is not None:
                    labels[entry.id] = f"{entry.label} ({inst.id} {inst.version})"
        return labels


def describe_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """n, mean, SD, min and max of each column of ``frame`` (one score a column)."""
    return pd.DataFrame(
        {
            "n": frame.notna().sum(),
            "mean": frame.mean(),
            "sd": frame.std(ddof=1),
            "min": frame.min(),
            "max": frame.max(),
        }
    )


def counted_text(
    n: int, unique: int, waves: tuple[str, int] | None = None, instances: int | None = None
) -> str:
    """``N respondents``, or ``N responses of K respondents (...)``: the wave column and its number of
    values, REDCap's largest repeat instance."""
    if unique == n:
        return plural(n, "respondent")
    parts = []
    if waves is not None:
        parts.append(f"{waves[1]} values of {waves[0]}")
    if instances is not None:
        parts.append(f"repeating instances 1 to {instances}")
    counted = f"{plural(n, 'response')} of {plural(unique, 'respondent')}"
    return counted + (f" ({'; '.join(parts)})" if parts else "")


def summary_text(
    instruments: Sequence[Instrument],
    counted: str,
    described: pd.DataFrame,
    careless: int | None,
    dropped_columns: Sequence[str],
    dropped_reasons: Mapping[str, str],
    warnings: Sequence[str],
    notes: Sequence[str],
) -> str:
    """The summary of a scored file: counts, each score's n, mean, SD and range, flags, dropped columns."""
    names = ", ".join(f"{i.id} {i.version}" for i in instruments)
    lines = [f"Scored {counted} on {names}"]
    width = max(len(n) for n in described.index) if len(described) else 10
    lines.append(f"  {'score':<{width}} {'n':>6} {'mean':>7} {'sd':>7} {'min':>6} {'max':>6}")
    for name, row in described.iterrows():
        lines.append(
            f"  {name:<{width}} {int(row['n']):>6} {row['mean']:>7.3f} {row['sd']:>7.3f} "
            f"{row['min']:>6.2f} {row['max']:>6.2f}"
        )
    if careless is not None:
        lines.append(f"  flagged as possibly careless: {careless}")
    if dropped_columns:
        lines.append(f"  identifier columns dropped (see keep_identifiers=True): {len(dropped_columns)}")
        lines.extend(
            f"    {printable(column)}: {dropped_reasons.get(column, 'a direct identifier')}"
            for column in dropped_columns
        )
    lines.extend(f"  warning: {warning}" for warning in warnings)
    lines.extend(f"  note: {note}" for note in notes)
    return "\n".join(lines)


def _names_item(warning: str, item_ids: Sequence[str]) -> bool:
    return any(f"item {item_id!r} of " in warning for item_id in item_ids)
