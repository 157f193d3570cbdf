"""Scoring a large response file in bounded memory: the same files and text as :func:`score`, block by block.

:func:`score` reads the whole file, then builds the analysis data set (every
item as floats, twice: as answered and keyed), which takes about twenty times
the file's size in memory. :func:`score_streaming` writes the same scores
file and data-quality report, byte for byte, and returns what the terminal
shows (the report's summary and the scores' summary), holding the whole file
only as one small integer code per item answer:

1. **Pass 1** reads the file a block of rows at a time
   (:mod:`.stream_read`), validates each block with
   :func:`~sdt_survey.responses.validate_responses` (the same cell checks),
   keeps the item codes (int8), 64-bit hashes of the ids (:mod:`.stream_ids`),
   the ids, the row numbers and the other columns as compact text, and writes
   what pass 2 needs of the block to a temporary file (:mod:`.stream_spill`).
2. **The whole-sample steps** run on those: repeated ids (from the hashes,
   confirmed on the exact ids), the identifier detection (on the whole other
   columns; their types are learnt block by block), the keying audit, and
   Mahalanobis' distances (the same matrix of complete keyed rows and the
   same products as the whole-file path, built when nothing else is held).
3. **Pass 2** reads the blocks back from the temporary file, writes their
   report lines (with the repeated ids' lines in row order), computes their
   scores and careless indices with the same kernels, and writes their rows
   of the scores file, both into temporary files renamed into place at the
   end.

A file or option this does not handle (see :func:`stream_refusal`) returns
None, and the caller runs :func:`score`: so does any file whose reading or
result would differ (another encoding, a blank or ragged line, a blocking
error: the whole-file path raises it with its full report).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._spreadsheet_safe import write_csv
from .._untrusted import stated_encoding
from ..errors import SdtSurveyError
from ..files import Transaction
from ..instrument import Instrument, load_instruments
from ..responses import ITEM_PREFIX, WAVE_COLUMNS, DataQualityReport, check_drift, validate_responses
from ..responses.drift import STAMP_COLUMNS
from ..responses.model import INVALID_POLICIES, ISSUE_COLUMNS
from ..responses.validate import numeric_where_unambiguous
from .careless import (
    DURATION_COLUMNS,
    careless_flags,
    careless_indices,
    careless_note,
    complete_row_distances,
    evenodd_pairs,
    mahalanobis_columns,
)
from .dataset import counted_text, describe_scores, summary_text
from .identifiers import detect_identifier_columns
from .intake import _with_identifier_lines, is_recomputed
from .keying import audit_keying, keying_warnings
from .scores import reverse_key, score_ids, subscale_scores
from .stream_ids import IdHashes, distinct_count, text_hashes
from .stream_lines import MISSING_CODE, LineSink, duplicate_lines
from .stream_read import Unstreamable, lean_memory, read_blocks, release_memory, scan_text
from .stream_spill import Block, BlockSpill

#: Files from this size (bytes) are scored by :func:`score_streaming`; smaller ones are read whole.
STREAM_MIN_BYTES = 4 << 20
#: Output suffixes written block by block (and their separators).
SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
#: Rows of Mahalanobis' matrix filled at a time from the item codes (a band of one item's int8 codes
#: is 128 KiB: from there glibc maps each allocation on its own, so a freed band leaves at once).
MATRIX_ROWS = 1 << 17
#: Duplicate policies of the intake.
DUPLICATE_POLICIES = ("error", "keep-all", "keep-first", "keep-last")


@dataclass
class StreamedScores:
    """What :func:`score_streaming` wrote, and what ``sdt-survey score`` shows about it.

    ``report`` holds the lines its summary shows and the count of every kind
    (the whole report is in the file written); :meth:`summary` is the
    scores' summary (:meth:`ScoredResponses.summary
    <sdt_survey.scoring.ScoredResponses.summary>` of the same data).
    """

    report: DataQualityReport
    path: Path
    report_path: Path | None
    instruments: tuple[Instrument, ...]
    counted: str
    described: pd.DataFrame
    careless: int | None = None
    dropped_columns: list[str] = field(default_factory=list)
    dropped_reasons: dict[str, str] = field(default_factory=dict)
    keying: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return summary_text(
            self.instruments,
            self.counted,
            self.described,
            self.careless,
            self.dropped_columns,
            self.dropped_reasons,
            self.warnings,
            self.notes,
        )

    def __str__(self) -> str:
        return self.summary()


def stream_refusal(
    instruments: Sequence[Instrument],
    path: str | Path,
    out: str | Path,
    report: str | Path | None = None,
    **options: Any,
) -> str | None:
    """Why :func:`score_streaming` would not stream this run (None: it streams).

    It streams a delimited text file (.csv, .tsv, .txt) of at least
    :data:`STREAM_MIN_BYTES`, read as a plain file (``source`` auto or plain,
    no ``mapping``), into a .csv or .tsv scores file and a .csv report, when
    every item is a likert or single-choice item with whole-number codes (no
    ``show_if``, no identifier items) and no option needs the whole analysis
    data set in memory (``zscores``, ``exclude_flagged``, ``pseudonymize_key``).

    Examples
    --------
    >>> import sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> stream_refusal([bpn], "wave1.csv", "scores.parquet")
    'the scores are written as .parquet'
    """
    path, out = Path(path), Path(out)
    defaults = {
        "source": "auto",
        "mapping": None,
        "zscores": None,
        "exclude_flagged": False,
        "pseudonymize_key": None,
        "sheet": None,
    }
    if out.suffix.lower() not in SEPARATORS:
        return f"the scores are written as {out.suffix or 'a file without suffix'}"
    if report is not None and Path(report).suffix.lower() != ".csv":
        return "the report is not written as .csv"
    if path.suffix.lower() not in (".csv", ".tsv", ".tab", ".txt"):
        return "the responses are not a delimited text file"
    if stated_encoding() is not None:
        return "an encoding is stated"
    for name, default in defaults.items():
        value = options.get(name, default)
        if not (value == default or (name == "source" and value == "plain")):
            return f"{name} is given"
    if options.get("invalid", "error") not in INVALID_POLICIES:
        return "an unknown invalid policy"
    if options.get("duplicates", "error") not in DUPLICATE_POLICIES:
        return "an unknown duplicates policy"
    if options.get("drift", "error") not in ("error", "warn"):
        return "an unknown drift policy"
    if options.get("id_column") is None and options.get("duplicates", "error") != "error":
        return "a duplicates policy without an id column"
    for inst in instruments:
        for item in inst.items:
            if not _coded(item):
                return f"item {item.id!r} is not a likert or single-choice item with whole-number codes"
    try:
        size = path.stat().st_size
    except OSError:
        return "the responses file cannot be read"
    if size < STREAM_MIN_BYTES:
        return f"the file is smaller than {STREAM_MIN_BYTES} bytes"
    return None


def _coded(item) -> bool:
    if item.identifier or item.show_if is not None or item.type not in ("likert", "single"):
        return False
    codes = list(item.scale.values) if item.scale is not None else [c.value for c in item.choices]
    whole = all(isinstance(c, int) and not isinstance(c, bool) and -127 <= c <= 127 for c in codes)
    return bool(codes) and whole and item.is_scored


def score_streaming(
    instruments: Instrument | str | Sequence[Instrument | str],
    path: str | Path,
    out: str | Path,
    *,
    report: str | Path | None = None,
    overwrite: bool = False,
    id_column: str | None = None,
    wave_column: str | None = None,
    invalid: str = "error",
    duplicates: str = "error",
    flag_careless: bool = False,
    careless_thresholds: Mapping[str, float] | None = None,
    identifiers: Sequence[str] = (),
    keep_identifiers: bool = False,
    include_items: bool = False,
    drift: str = "error",
    **options: Any,
) -> StreamedScores | None:
    """Score a large response file a block of rows at a time, writing what ``score`` + ``write`` write.

    The scores file (``out``) and the data-quality report (``report``) are
    byte for byte those of :func:`~sdt_survey.score` followed by
    :meth:`~sdt_survey.scoring.ScoredResponses.write` and
    :meth:`DataQualityReport.write`, written atomically (an existing file is
    replaced only with ``overwrite``). Options are those of :func:`score`.

    Returns
    -------
    StreamedScores or None
        None when the run is not streamed (:func:`stream_refusal` says why,
        or the file turned out to need the whole-file path): nothing was
        written, and the caller scores with :func:`score`.

    Examples
    --------
    >>> import sdt_survey, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "small.csv").write_text("id,as1\\na,4\\n")
    >>> score_streaming("bpn-residency", folder / "small.csv", folder / "scores.csv") is None  # too small
    True
    """
    loaded = load_instruments(instruments)
    settings = {
        "id_column": id_column,
        "wave_column": wave_column,
        "invalid": invalid,
        "duplicates": duplicates,
        "drift": drift,
        **options,
    }
    if stream_refusal(loaded, path, out, report, **settings) is not None:
        return None
    run = _Run(
        loaded,
        Path(path),
        str(path),
        id_column=id_column,
        wave_column=wave_column,
        invalid=invalid,
        duplicates=duplicates,
        source=options.get("source", "auto"),
    )
    try:
        scan_text(run.path)
        with lean_memory(), run.spill:
            run.gather()
            return run.write(
                Path(out),
                None if report is None else Path(report),
                overwrite=overwrite,
                flag_careless=flag_careless,
                careless_thresholds=careless_thresholds,
                identifiers=identifiers,
                keep_identifiers=keep_identifiers,
                include_items=include_items,
                drift=drift,
            )
    except (Unstreamable, SdtSurveyError):
        # The whole-file path reads it (and raises what it raises, with its whole report).
        return None


class _Run:
    """One streamed run: pass 1 (:meth:`gather`), the whole-sample steps and pass 2 (:meth:`write`)."""

    def __init__(
        self,
        instruments: tuple[Instrument, ...],
        path: Path,
        display: str,
        *,
        id_column: str | None,
        wave_column: str | None,
        invalid: str,
        duplicates: str,
        source: str,
    ) -> None:
        self.instruments = instruments
        self.path, self.display = path, display
        self.id_column, self.wave_column = id_column, wave_column
        self.invalid, self.duplicates, self.source = invalid, duplicates, source
        self.scored = [item for inst in instruments for item in inst.items if item.is_scored]
        self.kinds: dict[str, Any] = {}  # the other columns' types in the whole file (_learn_types)
        self.spill = BlockSpill()

    def _blocks(self):
        """Each block's responses and its validation (duplicates are a whole-file check, done apart)."""
        for _, read, layout in read_blocks(self.path, self.display, self.instruments, self.source):
            clean = validate_responses(
                read,
                self.instruments,
                id_column=self.id_column,
                wave_column=self.wave_column,
                invalid=self.invalid,
                duplicates="keep-all",
            )
            if clean.report.has_blocking_errors:
                raise Unstreamable("the file has errors that stop scoring")
            yield read, clean, layout

    # ------------------------------------------------------------------ pass 1

    def gather(self) -> None:
        codes: dict[str, list[np.ndarray]] = {item.id: [] for item in self.scored}
        respondent, rows, raw = [], [], {}
        self.ids, own = IdHashes(), []
        as_read: list[tuple[np.ndarray, np.ndarray]] = []  # the ids as read, where they are not the ids
        codes_seen: list[pd.DataFrame] = []
        import pyarrow as pa

        self.first = None
        scored_ids = [item.id for item in self.scored]
        for read, clean, layout in self._blocks():
            if self.first is None:
                self._check_layout(read)
                self.first = replace(read, frame=read.frame.iloc[:0])
                self.layout = layout
                self.wave = self.wave_column or next((c for c in WAVE_COLUMNS if c in read.passthrough), None)
                # The id column as read is kept only where it is not the ids (see _ids).
                self.id_as_read = self.id_column in read.passthrough and self.id_column not in (
                    self.wave,
                    *DURATION_COLUMNS,
                )
                raw = {c: [] for c in read.passthrough if not (self.id_as_read and c == self.id_column)}
            for item in self.scored:
                values = clean.values[item.id].to_numpy(dtype=float)
                code = np.where(np.isnan(values), MISSING_CODE, values).astype(np.int8)
                if not np.array_equal(np.where(code == MISSING_CODE, np.nan, code), values, equal_nan=True):
                    raise Unstreamable(f"item {item.id!r} holds values that are not small whole numbers")
                codes[item.id].append(code)
            if self.id_column is not None:
                respondent.append(pa.array(clean.respondent.to_numpy(dtype=object), type=pa.string()))
                own.append(self.ids.add(clean.respondent, [read.frame[self.wave]] if self.wave else []))
                if self.id_as_read:
                    text = read.frame[self.id_column].to_numpy(dtype=object)
                    ids = clean.respondent.to_numpy(dtype=object)
                    other = np.flatnonzero(~(text == ids) & ~(pd.isna(text) & pd.isna(ids)))
                    if len(other):
                        as_read.append((other + sum(len(r) for r in rows), text[other]))
            rows.append(np.asarray(clean.rows, dtype=np.int64))
            self._spill(read, clean, [codes[item][-1] for item in scored_ids], scored_ids)
            for column in raw:
                raw[column].append(_compact(pa.array(read.frame[column]).cast(pa.string())))
            # The lines drift reads (codes a scale lacks): each distinct one once, in the file's order.
            issues = clean.report.issues
            coded = issues[issues["item"].notna() & issues["value"].notna()]
            codes_seen.append(coded.drop_duplicates(["problem", "column", "item", "value"]))
        if self.first is None:
            raise Unstreamable("the file holds no records")
        self.codes = {}
        for item in list(codes):
            self.codes[item] = np.concatenate(codes.pop(item))  # a part's worth more at a time, not all
        self.rows = np.concatenate(rows)
        if len(self.rows) and self.rows.max() < np.iinfo(np.int32).max:
            self.rows = self.rows.astype(np.int32)  # half the memory; the same numbers in every line
        self.n = len(self.rows)
        strings = pd.StringDtype("pyarrow")
        self.respondent = (
            pd.Series(pd.array(pa.chunked_array(respondent, type=pa.string()), dtype=strings), copy=False)
            if self.id_column is not None
            else None
        )
        self.raw = raw
        self.own = np.concatenate(own) if own else None
        del own
        self.as_read = (
            (np.concatenate([a for a, _ in as_read]), np.concatenate([t for _, t in as_read]))
            if as_read
            else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object))
        )
        seen = pd.concat(codes_seen, ignore_index=True) if codes_seen else pd.DataFrame(columns=ISSUE_COLUMNS)
        self.codes_seen = seen.drop_duplicates(["problem", "column", "item", "value"]).reset_index(drop=True)

    def _spill(self, read, clean, codes: list[np.ndarray], scored_ids: list[str]) -> None:
        """What pass 2 reads of a block, to the spill file (its values as the codes just checked)."""
        m = len(clean.rows)
        plain = pd.RangeIndex(m)
        if (
            list(clean.values.columns) != scored_ids
            or not all(dtype == np.float64 for dtype in clean.values.dtypes)
            or not clean.values.index.equals(plain)
            or (clean.respondent is not None and not clean.respondent.index.equals(plain))
        ):
            raise Unstreamable("the validated values are not the items' codes as floats")
        other = [c for c in read.passthrough if not (self.id_as_read and c == self.id_column)]
        # The block's columns as validation typed them: pass 2 takes those the whole file types alike.
        typed = clean.passthrough
        numeric = [c for c in other if c in typed.columns and pd.api.types.is_numeric_dtype(typed[c])]
        self._learn_types(typed, other, numeric)
        self.spill.add(
            Block(
                issues=clean.report.issues,
                codes=np.stack(codes, axis=1) if codes else np.zeros((m, 0), dtype=np.int8),
                respondent=None if clean.respondent is None else clean.respondent.to_numpy(dtype=object),
                rows=np.asarray(clean.rows),
                missing_count=clean.missing_count.to_numpy(),
                invalid_count=clean.invalid_count.to_numpy(),
                other=read.frame[other].reset_index(drop=True),
                typed=typed[numeric].reset_index(drop=True),
            )
        )

    def _learn_types(self, typed: pd.DataFrame, other: list[str], numeric: list[str]) -> None:
        """Each other column's type in the whole file (as :func:`numeric_where_unambiguous`), by block.

        A column is a number column when no block holds a value that is not a
        plain number (a block that validation left text holds none only if
        it has no value at all), and whole numbers when every block's are.
        """
        for column in other:
            kind = self.kinds.get(column)
            if kind == "text":
                continue
            if column == self.id_column:
                self.kinds[column] = "text"
            elif column in numeric:
                dtype = typed[column].dtype  # Int64, or the dtype of numbers with a fraction
                whole = pd.api.types.is_integer_dtype(dtype) and (kind is None or kind == "Int64")
                self.kinds[column] = "Int64" if whole else kind if kind not in (None, "Int64") else dtype
            else:
                # Text in this block: no value at all (one number then makes it a number), or not numbers.
                probe = pd.concat(
                    [typed[column], pd.Series(["1"], dtype=typed[column].dtype)], ignore_index=True
                )
                probed = numeric_where_unambiguous(probe.to_frame(column))[column]
                if not pd.api.types.is_numeric_dtype(probed):
                    self.kinds[column] = "text"

    def _check_layout(self, read) -> None:
        if read.absent_items:
            raise Unstreamable("an item has no column")
        if read.choice_columns or read.value_labels or read.user_missing:
            raise Unstreamable("split or labelled columns")
        unusual = {*STAMP_COLUMNS, "redcap_repeat_instrument", "redcap_repeat_instance"}
        names = set(score_ids(self.instruments))
        for column in read.passthrough:
            if column in unusual or column in names or is_recomputed(column):
                raise Unstreamable(f"column {column!r} needs the whole-file path")

    # ------------------------------------------------------------------ whole-sample steps

    def _whole_sample(self, identifiers: Sequence[str], keep_identifiers: bool) -> None:
        self.found = None
        self.keep = np.ones(self.n, dtype=bool)
        self.unique = self.n
        # Repeated ids first, from hashes (no other column is decoded yet).
        respondents = self._ids(keep_identifiers) if self.id_column is not None else None
        # The repeated ids' lines hold their ids: the ids are not needed again.
        del self.respondent
        names = list(self.raw)
        # The completion time, as the whole-file path reads it (typed, before identifier columns go).
        self.duration_column = next((c for c in DURATION_COLUMNS if c in names), None)
        everyone = bool(self.keep.all())
        # Each column's type in the whole file: pass 2 types each block's columns alike (_other_columns).
        kinds = {c: self.kinds.get(c, "text") for c in names}
        self.types = {
            c: TEXT_DTYPE if kind == "text" else pd.Int64Dtype() if kind == "Int64" else kind
            for c, kind in kinds.items()
        }
        reasons: dict[str, str] = {}
        if not keep_identifiers:
            declared = [c for c in identifiers if c != self.id_column]
            missing = [c for c in declared if c not in names]
            if missing:
                raise SdtSurveyError(f"identifier column(s) not in the file: {', '.join(missing)}")
            wave_columns = {*WAVE_COLUMNS, self.wave_column} - {None}
            skip = {self.id_column, *wave_columns, *DURATION_COLUMNS, *declared}
            # detect_identifier_columns judges each column on its own: one decoded column at a time
            # gives the same reasons, in the same order (declared columns first).
            reasons = detect_identifier_columns(pd.DataFrame(), declared=declared, respondents=respondents)
            for column in names:
                if column not in skip:
                    reasons.update(
                        detect_identifier_columns(
                            pd.DataFrame({column: _text_column(self.raw[column])}, copy=False),
                            respondents=respondents,
                        )
                    )
        del self.raw
        self.reasons = reasons
        self.columns = [c for c in names if c not in reasons and c != self.id_column]
        self.wave_counted = next(
            (c for c in (self.wave_column, "redcap_event_name") if c and c in self.columns), None
        )
        release_memory()
        if not everyone:
            self.codes = {item: code[self.keep] for item, code in self.codes.items()}
        self.keying = audit_keying(_KeyedCodes(self.codes, self.scored), self.instruments)
        release_memory()
        self.mahalanobis = self._mahalanobis()
        del self.codes
        release_memory()

    def _ids(self, keep_identifiers: bool) -> int | None:
        """Repeated ids (the lines, which records are kept), distinct ids kept, and distinct ids as read."""
        respondents = None
        respondent = self.respondent
        wave = _text_column(self.raw[self.wave]) if self.wave else None
        self.found = self.ids.repeats(
            lambda at: respondent.iloc[at],
            lambda at: [wave.iloc[at]] if wave is not None else [],
            self.rows,
            id_column=self.id_column,
            wave_column=self.wave,
            duplicates=self.duplicates,
            invalid=self.invalid,
        )
        del self.ids
        if self.found.repeated.any() and self.duplicates == "error" and self.invalid == "error":
            raise Unstreamable("repeated ids stop scoring")
        self.keep = self.found.keep
        present = respondent.notna().to_numpy()
        self.unique = distinct_count(self.own, present & self.keep, lambda at: respondent.iloc[at])
        if self.id_as_read and not keep_identifiers and not len(self.as_read[0]) and self.keep.all():
            # No id changed by validation and every record kept: the ids as read count as the ids.
            respondents = self.unique
        elif self.id_as_read and not keep_identifiers:
            # The ids as read: the ids, but where validation changed them (spaces, "NA").
            where, text = self.as_read
            hashes = self.own.copy()
            hashes[where] = text_hashes(pd.Series(text, dtype=object))
            present = respondent.notna().to_numpy().copy()
            present[where] = ~pd.isna(text)

            def as_read(at: np.ndarray) -> pd.Series:
                values = respondent.iloc[at].to_numpy(dtype=object)
                inside = np.isin(at, where)
                values[inside] = text[np.searchsorted(where, at[inside])]
                return pd.Series(values, dtype=object)

            respondents = distinct_count(hashes, present, as_read)
            del hashes
        del present, self.own, self.as_read
        return respondents

    def _mahalanobis(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The whole-file path's Mahalanobis columns: the same complete keyed rows, the same products."""
        by_id = {item.id: item for item in self.scored}
        likert = [
            by_id[item_id]
            for inst in self.instruments
            for item_id in inst.display_order
            if inst.item(item_id).type == "likert"
        ]
        if not likert:
            return None
        n = len(self.codes[likert[0].id])
        complete = np.ones(n, dtype=bool)
        for item in likert:
            complete &= self.codes[item.id] != MISSING_CODE
        if complete.sum() <= len(likert):
            return np.full(n, np.nan), np.full(n, np.nan)
        # The complete rows' codes, cut in bands of rows (the rest let go), then the matrix filled a band
        # at a time, each band's codes let go as its rows are written: the codes shrink while the matrix
        # grows. Each band of an item's codes is a mapping of its own (MATRIX_ROWS bytes), handed back
        # to the system at once. The same values in the same places.
        n_complete = int(complete.sum())
        starts = range(0, n_complete, MATRIX_ROWS)
        bands: list[list[np.ndarray] | None] = [[] for _ in starts]
        for item in likert:
            kept = self.codes.pop(item.id)[complete]
            for b, start in enumerate(starts):
                bands[b].append(kept[start : start + MATRIX_ROWS].copy())
            del kept
        data = np.empty((n_complete, len(likert)))
        for b, start in enumerate(starts):
            for j, item in enumerate(likert):
                data[start : start + MATRIX_ROWS, j] = keyed_values(bands[b][j], item)
            bands[b] = None
        del bands
        release_memory()
        distance = complete_row_distances(data)
        del data  # before the two columns of every respondent are made
        return mahalanobis_columns(distance, complete, len(likert))

    # ------------------------------------------------------------------ pass 2

    def write(
        self,
        out: Path,
        report: Path | None,
        *,
        overwrite: bool,
        flag_careless: bool,
        careless_thresholds: Mapping[str, float] | None,
        identifiers: Sequence[str],
        keep_identifiers: bool,
        include_items: bool,
        drift: str,
    ) -> StreamedScores:
        self._whole_sample(identifiers, keep_identifiers)
        names = score_ids(self.instruments)
        n_likert = sum(1 for inst in self.instruments for item in inst.items if item.type == "likert")
        scored_ids = [item.id for item in self.scored]
        separator = SEPARATORS[out.suffix.lower()]
        spills = {name: tempfile.TemporaryFile() for name in names}  # noqa: SIM115 (closed below)
        sink = LineSink()
        self.waves_seen: list[pd.Series] = []
        flagged = total = 0
        skipped: list[str] = []
        position = kept_position = 0
        try:
            with Transaction(overwrite=overwrite) as files:
                scores_file = open(files.stage(out, label="--out"), "w", encoding="utf-8", newline="")  # noqa: SIM115
                report_file = (
                    open(files.stage(report, label="--report"), "w", encoding="utf-8", newline="")  # noqa: SIM115
                    if report is not None
                    else None
                )
                try:
                    for block in self.spill.blocks():
                        m = len(block.rows)
                        keep = self.keep[position : position + m]
                        other = self._other_columns(block, keep)
                        if self.wave_counted is not None:
                            self.waves_seen.append(other[self.wave_counted].drop_duplicates())
                        extra = duplicate_lines(
                            self.found,
                            self.rows,
                            position,
                            m,
                            invalid=self.invalid,
                            duplicates=self.duplicates,
                        )
                        sink.add(block.issues, extra, first=position == 0, file=report_file)
                        everyone = bool(keep.all())

                        def kept(table, keep=keep, everyone=everyone):
                            return table if everyone else table.loc[keep].reset_index(drop=True)

                        values = kept(block.values(scored_ids))
                        k = len(values)
                        keyed = reverse_key(values, self.instruments)
                        scores = subscale_scores(keyed, self.instruments)
                        window = slice(kept_position, kept_position + k)
                        distances = (
                            None
                            if self.mahalanobis is None
                            else (self.mahalanobis[0][window], self.mahalanobis[1][window])
                        )
                        indices = careless_indices(
                            values,
                            keyed,
                            self.instruments,
                            None if self.duration_column is None else other[self.duration_column],
                            mahalanobis=distances,
                        )
                        frame = pd.DataFrame(index=scores.index)
                        if self.id_column is not None:
                            frame[self.id_column] = pd.Series(block.respondent[keep], dtype=object)
                        frame["row"] = block.rows[keep]
                        frame = frame.join(other[self.columns])
                        frame = frame.join(scores)
                        frame["n_missing"] = block.missing_count[keep]
                        frame["n_invalid"] = block.invalid_count[keep]
                        if self.found is not None and self.found.repeated.any():
                            frame["duplicate_id"] = self.found.repeated[position : position + m][keep]
                        frame = frame.join(indices)
                        if flag_careless:
                            skipped = []
                            flags = careless_flags(
                                indices,
                                n_likert,
                                careless_thresholds,
                                n_pairs=evenodd_pairs(self.instruments),
                                skipped=skipped,
                            )
                            frame = frame.join(flags)
                            flagged += int(flags["careless"].sum())
                            total += len(flags)
                        if include_items:
                            frame = frame.join(values[scored_ids].add_prefix(ITEM_PREFIX))
                        text = write_csv(frame, index=False, sep=separator)
                        scores_file.write(text if kept_position == 0 else text.split("\n", 1)[1])
                        for name in names:
                            scores[name].to_numpy(dtype=float).tofile(spills[name])
                        position += m
                        kept_position += k
                    tail = self._tail_lines(drift)
                    sink.add(tail, None, first=False, file=report_file, whole=True)
                    sink.finish(report_file)
                finally:
                    scores_file.close()
                    if report_file is not None:
                        report_file.close()
            described = []
            for name in names:
                spills[name].seek(0)
                column = np.fromfile(spills[name], dtype=float)
                described.append(describe_scores(pd.DataFrame({name: column})))
            notes = list(self.layout.notes)
            if flag_careless:
                notes.append(careless_note(flagged, total, skipped))
        finally:
            for spill in spills.values():
                spill.close()
        return StreamedScores(
            report=sink.report(
                path=self.display,
                n_records=self.n,
                invalid=self.invalid,
                source=self.layout.source,
                detection=self.layout.detection,
            ),
            path=out,
            report_path=report,
            instruments=self.instruments,
            counted=self._counted(kept_position),
            described=pd.concat(described) if described else describe_scores(pd.DataFrame()),
            careless=flagged if flag_careless else None,
            dropped_columns=list(self.reasons),
            dropped_reasons=dict(self.reasons),
            keying=self.keying,
            warnings=keying_warnings(self.keying),
            notes=notes,
        )

    def _tail_lines(self, drift: str) -> pd.DataFrame:
        """The lines after the validation's: drift (before scoring) and the identifier columns dropped."""
        names = set(score_ids(self.instruments))
        checked = _Validated(DataQualityReport(issues=self.codes_seen, invalid=self.invalid))
        lines = check_drift(
            self.first,
            checked,
            self.instruments,
            drift=drift,
            id_column=self.id_column,
            wave_column=self.wave_column,
            expected=lambda c: c in names or is_recomputed(c),
        )
        if (lines["severity"] == "error").any():
            raise Unstreamable("drift stops scoring")
        report = DataQualityReport(issues=lines)
        if self.reasons:
            report = _with_identifier_lines(report, self.reasons)
        return report.issues

    def _counted(self, n: int) -> str:
        if self.id_column is None:
            return counted_text(n, n)
        waves = None
        if self.wave_counted is not None:
            seen = pd.concat(self.waves_seen, ignore_index=True) if self.waves_seen else pd.Series([])
            waves = (self.wave_counted, int(seen.nunique()))
        return counted_text(n, self.unique, waves)

    def _other_columns(self, frame: Block, keep: np.ndarray) -> pd.DataFrame:
        """A block's other columns written (and the completion time), typed as in the whole file."""
        duration = [self.duration_column] if self.duration_column else []
        names = list(dict.fromkeys([*self.columns, *duration]))
        block = frame.other[names]
        for column in [c for c in names if pd.api.types.is_numeric_dtype(self.types[c])]:
            # Every value of the column is a plain number: the block's are too, or none is there.
            there = column in frame.typed.columns
            values = frame.typed[column] if there else pd.Series(np.nan, index=block.index)
            block[column] = values.astype(self.types[column])
        return block if bool(keep.all()) else block.loc[keep].reset_index(drop=True)


def _compact(column):
    """A block's text column held compactly: codes into its distinct values when they are few."""
    import pyarrow as pa

    encoded = column.dictionary_encode()
    if len(encoded.dictionary) * 4 >= len(column):
        return column
    if len(encoded.dictionary) <= 127:  # a byte per row (a program, a PGY, a wave), not four
        return encoded.cast(pa.dictionary(pa.int8(), encoded.type.value_type))
    return encoded


#: The dtype of a text column as the whole-file reader gives it.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _text_column(parts) -> pd.Series:
    """A column's compact blocks as the whole-file reader's ``str`` column."""
    import pyarrow as pa

    decoded = [p.dictionary_decode() if pa.types.is_dictionary(p.type) else p for p in parts]
    column = pa.chunked_array(decoded, type=pa.string())
    return pd.Series(pd.array(column, dtype=TEXT_DTYPE), copy=False)


def keyed_values(code: np.ndarray, item) -> np.ndarray:
    """An item's int8 codes as the whole-file path's keyed floats (NaN missing; reversed: min + max - x)."""
    values = np.where(code == MISSING_CODE, np.nan, code.astype(float))
    if item.reverse:
        low, high = item.value_range
        np.subtract(low + high, values, out=values)
    return values


@dataclass
class _Validated:
    """What :func:`~sdt_survey.responses.check_drift` reads of a validation: the report's coded lines."""

    report: DataQualityReport
    reasons: Any = None


class _KeyedCodes:
    """The keyed items as :func:`audit_keying` reads them (``columns``, ``frame[item]``), built on demand.

    A subscale's items become floats (reverse keys applied) only while its
    audit runs, so the whole keyed table is never held.
    """

    def __init__(self, codes: Mapping[str, np.ndarray], items) -> None:
        self._codes = codes
        self._items = {item.id: item for item in items}
        self.columns = pd.Index(list(self._items))

    def __getitem__(self, columns: str | Sequence[str]) -> pd.Series | pd.DataFrame:
        if isinstance(columns, str):  # one item's column, as ``frame[item]``
            return pd.Series(keyed_values(self._codes[columns], self._items[columns]), name=columns)
        out = {}
        for item_id in columns:
            out[item_id] = keyed_values(self._codes[item_id], self._items[item_id])
        return pd.DataFrame(out)


__all__ = ["STREAM_MIN_BYTES", "StreamedScores", "score_streaming", "stream_refusal"]
