"""What every report section needs, computed once from the analysis data set: the report context."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cohorts import CohortReport
from ..cohorts.data import item_group_labels
from ..cohorts.ledger import ReleaseLedger
from ..errors import SdtSurveyError
from ..instrument import Instrument, bundled_instruments
from ..responses import WAVE_COLUMNS
from ..scoring import ScoredResponses

#: The sections of a report, in order, with their titles.
SECTION_TITLES: dict[str, str] = {
    "items": "How residents answered each item",
    "reliability": "Reliability of the subscales",
    "factor_structure": "Factor structure and measurement invariance",
    "continuity": "Continuity of supervision",
    "cohorts": "Scores across waves and groups",
    "data_quality": "Data quality",
}


#: The command-line flag of each reading option of :func:`sdt_survey.score`.
READING_FLAGS = {
    "source": "--source",
    "mapping": "--map",
    "invalid": "--invalid",
    "duplicates": "--duplicates",
    "drift": "--drift",
    "sheet": "--sheet",
}


SUPPRESSED = "suppressed"
DASH = "\u2014"


# =============================================================================== building


@dataclass
class ReportContext:
    """Everything the sections need, computed once."""

    instruments: tuple[Instrument, ...]
    instrument_args: list[str]
    file_names: list[str]
    id_column: str
    by: tuple[str, ...]
    wave_column: str | None
    min_cell: int
    reading_options: dict[str, Any]
    scored: list[ScoredResponses]
    scores: pd.DataFrame  # every response, all sources, with "_wave" (plain wave label)
    items: pd.DataFrame  # validated answers as given, row-aligned with scores
    keyed: pd.DataFrame  # reverse-keyed answers, row-aligned with scores
    waves: tuple[Any, ...]
    first: np.ndarray  # rows of the first wave
    scrub: Redactor
    ledger: ReleaseLedger | None = None  # earlier releases the item counts are audited against

    @property
    def first_wave(self) -> Any:
        return self.waves[0]

    @property
    def n_first(self) -> int:
        return int(self.first.sum())

    def first_wave_phrase(self) -> str:
        """``"the data"`` with one wave, else ``"wave 1"``."""
        return "the data" if len(self.waves) == 1 else f"wave {self.first_wave}"

    def first_wave_data(self, instrument: Instrument) -> ScoredResponses:
        """The analysis data set of the first wave, for one instrument (nothing is read or scored again)."""
        combined = ScoredResponses(
            scores=self.scores,
            items=self.items,
            keyed=self.keyed,
            report=self.scored[0].report,
            instruments=self.instruments,
            id_column=self.id_column,
            wave_column=self.wave_column,
        )
        return combined.select(rows=self.first, instruments=[instrument])

    def files_with_first_wave(self) -> list[str]:
        sources = self.scores.loc[self.first, "_source"].unique()
        return [self.file_names[int(i)] for i in sorted(sources)]

    def reading_flags(self) -> str:
        parts = []
        for key, flag in READING_FLAGS.items():
            value = self.reading_options.get(key)
            if value is not None and not (key == "source" and value == "auto"):
                if key in ("invalid", "duplicates", "drift") and value == "error":
                    continue
                if key == "sheet" and isinstance(value, int):
                    value = value + 1  # the command line counts sheets from 1
                parts.append(
                    f"{flag} {shell_quote(Path(str(value)).name if key == 'mapping' else str(value))}"
                )
        if self.wave_column:
            parts.append(f"--wave-column {shell_quote(self.wave_column)}")
        return (" " + " ".join(parts)) if parts else ""


class Redactor:
    """Removes respondent, learner and faculty ids from text taken from other stages.

    Only ids that cannot be mistaken for an ordinary number or word are
    matched: ids of three or more characters with a non-digit, and all-digit
    ids of five or more digits, each as a whole token.
    """

    def __init__(self, ids: set[str] | None = None):
        self.ids: set[str] = set()
        self._pattern: re.Pattern | None = None
        self.add(ids or set())

    def add(self, ids: Any) -> None:
        for value in ids:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            for text in re.split(r"\|", str(value).strip()):
                text = text.strip()
                if (len(text) >= 3 and not text.isdigit()) or (text.isdigit() and len(text) >= 5):
                    self.ids.add(text)
        self._pattern = None

    def __call__(self, text: str) -> str:
        if not self.ids or not isinstance(text, str):
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(i) for i in sorted(self.ids, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\d)")
        return self._pattern.sub("[id removed]", text)

    def scrub(self, value: Any) -> Any:
        """The same structure with every string scrubbed."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value


def source_name(source: Any, position: int) -> str:
    """How a source of responses is named in the report: its file name, or ``<data frame N>``."""
    if isinstance(source, ScoredResponses):  # an analysis data set: named by the file it was read from
        source = source.source if source.source != "<data frame>" else pd.DataFrame()
    if isinstance(source, (str, Path)):
        return Path(source).name
    if isinstance(source, pd.DataFrame):
        return f"<data frame {position + 1}>"
    raise SdtSurveyError(
        f"responses must be paths, DataFrames or scored responses, not {type(source).__name__}"
    )


def _instrument_args(given: Any, loaded: tuple[Instrument, ...]) -> list[str]:
    """How each instrument is named on the command line: its bundled name, or its file name."""
    given_list = list(given) if isinstance(given, (list, tuple)) else [given]
    bundled = {Path(p).resolve() for p in bundled_instruments().values()}
    out = []
    for original, inst in zip(given_list, loaded, strict=False):
        if isinstance(original, (str, Path)) and not Path(original).suffix:
            out.append(str(original))
        elif inst.source and Path(inst.source).resolve() in bundled:
            out.append(inst.id)
        elif inst.source:
            out.append(Path(inst.source).name)
        else:
            out.append(inst.id)
    return out


def plain_label(value: Any) -> Any:
    """A wave or group label as cohort reports show it: whole numbers as int, text stripped."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    text = str(value).strip()
    if not text:  # a blank value is no value
        return None
    return int(text) if re.fullmatch(r"-?[1-9]\d*|0", text) else text


def build_context(
    loaded: tuple[Instrument, ...],
    given: Any,
    file_names: list[str],
    scored: list[ScoredResponses],
    cohorts: CohortReport,
    id_column: str,
    by: tuple[str, ...],
    wave_column: str | None,
    min_cell: int,
) -> ReportContext:
    frames, items, keyed = [], [], []
    questions = {item.id: item for inst in loaded for item in inst.items}
    for position, result in enumerate(scored):
        table = result.scores.reset_index(drop=True).copy()
        column = wave_column or next((c for c in WAVE_COLUMNS if c in table.columns), None)
        labels = (
            table[column].map(plain_label)
            if column is not None
            else pd.Series(position + 1, index=table.index)
        )
        table["_wave"] = labels.astype(object)
        table["_source"] = position
        answers = result.items.reset_index(drop=True)
        for column in by:  # grouping by an answered question (as cohort_summary does)
            if column in questions and column not in table.columns and column in answers.columns:
                table[column] = item_group_labels(questions[column], answers[column]).to_numpy()
        frames.append(table)
        items.append(result.items.reset_index(drop=True))
        keyed.append(result.keyed.reset_index(drop=True))
    scores = pd.concat(frames, ignore_index=True, sort=False)
    waves = tuple(cohorts.waves)
    # As text: cohort_summary makes a wave column numbers only when every value is one.
    scores["_wave"] = scores["_wave"].map(lambda w: next((v for v in waves if str(v) == str(w)), w))
    first = (scores["_wave"].astype(str) == str(waves[0])).to_numpy(dtype=bool)
    scrub = Redactor(set(scores[id_column].dropna().astype(str)) if id_column in scores else set())
    return ReportContext(
        instruments=loaded,
        instrument_args=_instrument_args(given, loaded),
        file_names=file_names,
        id_column=id_column,
        by=by,
        wave_column=wave_column,
        min_cell=int(min_cell),
        reading_options={},
        scored=scored,
        scores=scores,
        items=pd.concat(items, ignore_index=True, sort=False),
        keyed=pd.concat(keyed, ignore_index=True, sort=False),
        waves=waves,
        first=first,
        scrub=scrub,
    )


def shell_quote(text: str) -> str:
    return shlex.quote(str(text))


def text_or_none(text: Any) -> str | None:
    return None if text is None else str(text)


def instrument_heading(inst: Instrument) -> dict[str, Any]:
    """How the report names an instrument: its id, version and title (the id when it has no title)."""
    return {"id": inst.id, "version": inst.version, "title": text_or_none(inst.title) or inst.id}


def finite_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def make_section(
    explanation: str,
    source: Sequence[str],
    data: dict[str, Any],
    *,
    status: str = "ok",
    reason: str | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "status": status,
        "explanation": explanation,
        "source": list(source),
        "reason": reason,
        "notes": list(notes),
        "data": data,
    }


def first_wave_suppressed(
    ctx: ReportContext, explanation: str, source: Sequence[str], data: dict[str, Any]
) -> dict[str, Any] | None:
    """The suppressed section when fewer than ``min_cell`` residents answered the first wave, else None."""
    if ctx.n_first >= ctx.min_cell:
        return None
    return make_section(
        explanation,
        source,
        data,
        status="suppressed",
        reason=f"fewer than {ctx.min_cell} residents answered: nothing can be shown",
    )


def first_wave_words(ctx: ReportContext) -> str:
    if len(ctx.waves) == 1:
        return f"the {ctx.n_first} responses"
    return f"wave {ctx.first_wave} ({ctx.n_first} responses)"


def score_commands(ctx: ReportContext, what: str) -> list[str]:
    instruments = " ".join(shell_quote(a) for a in ctx.instrument_args)
    return [
        f"sdt-survey {what} {instruments} {shell_quote(name)} --id-column {shell_quote(ctx.id_column)}"
        + ctx.reading_flags()
        for name in ctx.files_with_first_wave()
    ]


def small_to_none(count: int, min_cell: int) -> int | None:
    """A count, or ``None`` when it is small (1 to ``min_cell - 1``): a count is a figure too."""
    return None if 0 < count < min_cell else count
