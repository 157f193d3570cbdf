"""Score validated responses: reverse keys, subscales, composites, careless indices.

:func:`score` is the whole job behind ``sdt-survey score``: read (or take) the
responses, validate every cell, apply reverse keys (``min + max - x``), score
each subscale by its ``method`` and ``min_valid`` rule, compute composites,
optional z-scores, careless-responding indices, and pseudonymous ids. Every
step is vectorized over respondents.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._finite import require_finite
from ._spreadsheet_safe import restore_frame, write_csv
from ._terminal import printable
from .errors import SdtSurveyError
from .files import atomic_output
from .identifiers import detect_identifier_columns, id_copy_columns
from .instrument import Instrument, load_instruments
from .pseudonyms import pseudonymize, pseudonymize_report, read_key
from .responses import (
    WAVE_COLUMNS,
    CleanResponses,
    DataQualityReport,
    Responses,
    ResponseValidationError,
    read_responses,
    responses_from_frame,
    validate_responses,
)

#: Default thresholds of the careless-responding flags, and the literature behind them.
CARELESS_THRESHOLDS: dict[str, float] = {
    # Longest run of identical answers, as a share of the likert items (Johnson, 2005).
    "longstring_share": 0.5,
    # Within-person SD of zero over at least this many answers: straight-lining (Dunn et al., 2018).
    "irv_min_items": 6,
    # Even-odd consistency below .30 (Curran, 2016; Johnson, 2005).
    "evenodd": 0.30,
    # Mahalanobis D-squared with p below .001 (Meade & Craig, 2012).
    "mahalanobis_p": 0.001,
    # Fewer than 2 seconds per item (Huang et al., 2012).
    "seconds_per_item": 2.0,
}

#: Columns that hold a completion time in seconds, by platform.
DURATION_COLUMNS = ("Duration (in seconds)", "duration", "duration_seconds", "_duration")


# ---------------------------------------------------------------- core scoring


def reverse_key(values: pd.DataFrame, instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Numeric item values with reverse keys applied (``min + max - x``).

    Parameters
    ----------
    values : pandas.DataFrame
        One column per item id (numeric, NaN = missing).
    instruments : sequence of Instrument

    Returns
    -------
    pandas.DataFrame
        The scored items only (likert, integer, number), keyed.

    Examples
    --------
    >>> import pandas as pd, sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> frame = pd.DataFrame({item: [1.0, 5.0] for item in bpn.item_ids})
    >>> reverse_key(frame, [bpn])["as4"].tolist()
    [5.0, 1.0]
    """
    scored = [item for inst in instruments for item in inst.items if item.is_scored]
    keyed = values[[item.id for item in scored]].astype(float).copy()
    for item in scored:
        if item.reverse:
            low, high = item.value_range
            keyed[item.id] = low + high - keyed[item.id]
    return keyed


def subscale_scores(keyed: pd.DataFrame, instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Subscale and composite scores from reverse-keyed item values.

    A subscale's ``mean`` is the mean of the answered items, given at least
    ``min_items`` answers (else missing); ``sum`` is that mean times the number
    of items (a prorated sum). A composite is the mean or sum of its subscale
    scores and is missing when any of them is.

    Examples
    --------
    >>> import numpy as np, pandas as pd, sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> keyed = pd.DataFrame({item: [4.0, np.nan] for item in bpn.item_ids})
    >>> keyed.loc[0, "rs1"] = np.nan
    >>> subscale_scores(keyed, [bpn])["relatedness_satisfaction"].tolist()
    [4.0, nan]
    """
    columns: dict[str, np.ndarray] = {}
    for inst in instruments:
        for sub in inst.subscales.values():
            block = keyed[list(sub.items)].to_numpy(dtype=float)
            answered = ~np.isnan(block)
            count = answered.sum(axis=1)
            total = np.where(answered, block, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            score = np.where(count >= sub.min_items, mean, np.nan)
            columns[sub.id] = score * len(sub.items) if sub.method == "sum" else score
        for comp in inst.composites.values():
            block = np.column_stack([columns[s] for s in comp.of])
            combined = block.sum(axis=1) if comp.method == "sum" else block.mean(axis=1)
            columns[comp.id] = combined  # NaN propagates: any missing subscale -> missing composite
    return pd.DataFrame(columns, index=keyed.index)


def score_ids(instruments: Sequence[Instrument]) -> list[str]:
    """Subscale then composite ids, instrument by instrument."""
    return [name for inst in instruments for name in (*inst.subscales, *inst.composites)]


# ------------------------------------------------------------ careless responding


def careless_indices(
    raw: pd.DataFrame,
    keyed: pd.DataFrame,
    instruments: Sequence[Instrument],
    duration: pd.Series | None = None,
) -> pd.DataFrame:
    """Careless-responding indices per respondent (reported, not applied).

    Parameters
    ----------
    raw : pandas.DataFrame
        Likert answers as given (not reverse-keyed), in display order.
    keyed : pandas.DataFrame
        Reverse-keyed scored items.
    instruments : sequence of Instrument
    duration : pandas.Series, optional
        Completion time in seconds.

    Returns
    -------
    pandas.DataFrame
        ``longstring`` (longest run of identical consecutive answers; a missing
        answer ends a run), ``irv`` (within-person SD of the answers, n - 1),
        ``evenodd`` (within-person correlation of odd- and even-item halves of
        each subscale across subscales, Spearman-Brown corrected (for a negative r,
        on |r| with the sign kept); higher means more consistent; needs three
        subscales with both halves), ``mahalanobis_d2`` and ``mahalanobis_p``
        (on the complete keyed likert items; chi-square with one degree of
        freedom per item), and ``seconds_per_item`` (the duration over the
        number of items answered, of any type) when a duration is known.
    """
    likert = [
        item.id
        for inst in instruments
        for item_id in inst.display_order
        for item in [inst.item(item_id)]
        if item.type == "likert"
    ]
    out = pd.DataFrame(index=raw.index)
    x = raw[likert].to_numpy(dtype=float)
    n, k = x.shape
    if k == 0:
        return out
    run = np.zeros(n)
    longest = np.zeros(n)
    previous = np.full(n, np.nan)
    for j in range(k):  # a loop over items, vectorized over respondents
        current = x[:, j]
        same = (current == previous) & ~np.isnan(current)
        run = np.where(np.isnan(current), 0, np.where(same, run + 1, 1))
        longest = np.maximum(longest, run)
        previous = current
    out["longstring"] = longest
    answered = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=1) / answered
        ss = np.nansum((x - mean[:, None]) ** 2, axis=1)
        out["irv"] = np.where(answered >= 2, np.sqrt(ss / (answered - 1)), np.nan)
    out["evenodd"] = _even_odd(keyed, instruments)
    out["mahalanobis_d2"], out["mahalanobis_p"] = _mahalanobis(keyed[likert].to_numpy(dtype=float))
    if duration is not None:
        seconds = pd.to_numeric(duration, errors="coerce").to_numpy(dtype=float)
        items_answered = raw.notna().sum(axis=1).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out["seconds_per_item"] = seconds / np.maximum(items_answered, 1)
    return out


def _even_odd(keyed: pd.DataFrame, instruments: Sequence[Instrument]) -> np.ndarray:
    odd_means, even_means = [], []
    for inst in instruments:
        for sub in inst.subscales.values():
            if len(sub.items) < 2:
                continue
            odd = keyed[list(sub.items[0::2])].to_numpy(dtype=float)
            even = keyed[list(sub.items[1::2])].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                odd_means.append(np.nansum(odd, axis=1) / (~np.isnan(odd)).sum(axis=1))
                even_means.append(np.nansum(even, axis=1) / (~np.isnan(even)).sum(axis=1))
    n = len(keyed)
    if len(odd_means) < 3:
        return np.full(n, np.nan)
    a = np.column_stack(odd_means)
    b = np.column_stack(even_means)
    both = ~np.isnan(a) & ~np.isnan(b)
    count = both.sum(axis=1)
    a = np.where(both, a, np.nan)
    b = np.where(both, b, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # A respondent with no complete odd/even pair has an empty mean: NaN, as intended.
        warnings.simplefilter("ignore", RuntimeWarning)
        da = a - np.nanmean(a, axis=1, keepdims=True) if count.any() else a
        db = b - np.nanmean(b, axis=1, keepdims=True) if count.any() else b
        r = np.nansum(da * db, axis=1) / np.sqrt(np.nansum(da**2, axis=1) * np.nansum(db**2, axis=1))
        # Spearman-Brown on |r| with the sign restored keeps negative values within [-1, 0].
        corrected = np.sign(r) * 2 * np.abs(r) / (1 + np.abs(r))
    return np.where(count >= 3, corrected, np.nan)


def _mahalanobis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = x.shape
    complete = ~np.isnan(x).any(axis=1)
    d2 = np.full(n, np.nan)
    p = np.full(n, np.nan)
    if complete.sum() <= k:
        return d2, p
    data = x[complete]
    centred = data - data.mean(axis=0)
    covariance = centred.T @ centred / (len(data) - 1)
    inverse = np.linalg.pinv(covariance)
    d2[complete] = np.einsum("ij,jk,ik->i", centred, inverse, centred)
    p[complete] = stats.chi2.sf(d2[complete], df=k)
    return d2, p


def careless_flags(
    indices: pd.DataFrame, n_likert: int, thresholds: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Flags from the careless indices under documented thresholds (:data:`CARELESS_THRESHOLDS`)."""
    limits = {**CARELESS_THRESHOLDS, **(thresholds or {})}
    # A NaN threshold would silently flag nobody (every comparison with NaN is False).
    require_finite(dict(thresholds or {}), "careless_thresholds")
    unknown = set(thresholds or {}) - set(CARELESS_THRESHOLDS)
    if unknown:
        raise SdtSurveyError(
            f"unknown careless threshold {', '.join(sorted(unknown))}; "
            f"known: {', '.join(CARELESS_THRESHOLDS)}"
        )
    flags = pd.DataFrame(index=indices.index)
    if "longstring" in indices:
        run = math.ceil(limits["longstring_share"] * n_likert)
        flags["flag_longstring"] = indices["longstring"] >= max(run, 2)
        flags["flag_irv"] = indices["irv"].eq(0) & (indices["longstring"] >= limits["irv_min_items"])
        flags["flag_evenodd"] = indices["evenodd"] < limits["evenodd"]
        flags["flag_mahalanobis"] = indices["mahalanobis_p"] < limits["mahalanobis_p"]
    if "seconds_per_item" in indices:
        flags["flag_speed"] = indices["seconds_per_item"] < limits["seconds_per_item"]
    flags["careless"] = flags.any(axis=1)
    return flags


# --------------------------------------------------------------------- results


@dataclass
class ScoredResponses:
    """Scores with everything needed to trust them.

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
        Every problem found and what was done about it.
    """

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

    @property
    def score_columns(self) -> list[str]:
        return [c for c in score_ids(self.instruments) if c in self.scores]

    def to_frame(self) -> pd.DataFrame:
        return self.scores.copy()

    def describe(self) -> pd.DataFrame:
        """n, mean, SD, min and max of each score."""
        frame = self.scores[self.score_columns]
        return pd.DataFrame(
            {
                "n": frame.notna().sum(),
                "mean": frame.mean(),
                "sd": frame.std(ddof=1),
                "min": frame.min(),
                "max": frame.max(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        described = self.describe()
        return {
            "instruments": [{"id": i.id, "version": i.version} for i in self.instruments],
            "n_respondents": len(self.scores),
            "scores": {
                name: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for name, row in described.iterrows()
            },
            "dropped_columns": self.dropped_columns,
            "dropped_reasons": self.dropped_reasons,
            "notes": self.notes,
            "report": {"counts": self.report.to_dict()["counts"]},
        }

    def summary(self) -> str:
        names = ", ".join(f"{i.id} {i.version}" for i in self.instruments)
        lines = [f"Scored {len(self.scores)} respondents on {names}"]
        described = self.describe()
        width = max(len(n) for n in described.index) if len(described) else 10
        lines.append(f"  {'score':<{width}} {'n':>6} {'mean':>7} {'sd':>7} {'min':>6} {'max':>6}")
        for name, row in described.iterrows():
            lines.append(
                f"  {name:<{width}} {int(row['n']):>6} {row['mean']:>7.3f} {row['sd']:>7.3f} "
                f"{row['min']:>6.2f} {row['max']:>6.2f}"
            )
        if "careless" in self.scores:
            lines.append(f"  flagged as possibly careless: {int(self.scores['careless'].sum())}")
        if self.dropped_columns:
            lines.append(
                f"  identifier columns dropped (see --keep-identifiers): {len(self.dropped_columns)}"
            )
            lines.extend(
                f"    {printable(column)}: {self.dropped_reasons.get(column, 'a direct identifier')}"
                for column in self.dropped_columns
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the scores by extension: .csv, .tsv, .parquet, .sav (with labels), .json.

        Atomically; an existing file is replaced only with ``overwrite=True``.
        """
        return write_table(self.scores, path, labels=self.variable_labels(), overwrite=overwrite)

    def variable_labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for inst in self.instruments:
            for entry in (*inst.subscales.values(), *inst.composites.values()):
                if entry.label is not None:
                    labels[entry.id] = f"{entry.label} ({inst.id} {inst.version})"
        return labels


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an analysis table (scores, exposure) by its extension: .csv, .tsv, .parquet, .json, .xlsx."""
    path = Path(path)
    if not path.is_file():
        raise SdtSurveyError(f"{path}: no such file")
    from io import StringIO

    from ._untrusted import decode_text, read_parquet

    suffix = path.suffix.lower()
    try:
        # Decoded as response files are (strictly; --encoding), so no row is mis-decoded; cells this
        # package neutralized against spreadsheet formulas read back as they were.
        if suffix in (".csv", ".txt", ".tsv", ".tab"):
            text = StringIO(decode_text(path.read_bytes(), str(path))[0])
            return restore_frame(pd.read_csv(text, sep="," if suffix in (".csv", ".txt") else "\t"))
        if suffix == ".parquet":
            return read_parquet(path, str(path))
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix == ".json":
            return pd.read_json(path)
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path)
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise SdtSurveyError(f"{path}: cannot read the table: {exc}") from exc
    raise SdtSurveyError(
        f"{path}: unknown table type {suffix or '(none)'}; use .csv, .tsv, .parquet, .json or .xlsx"
    )


def write_table(
    frame: pd.DataFrame,
    path: str | Path,
    labels: Mapping[str, str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a table, choosing the format from the file extension.

    The file is written atomically (see :mod:`sdt_survey.files`); an existing
    file is replaced only with ``overwrite=True``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".tab", ".parquet", ".json", ".jsonl", ".ndjson", ".sav"):
        raise SdtSurveyError(
            f"{path}: unknown output type {suffix or '(none)'}; use .csv, .tsv, .parquet, "
            ".sav, .json or .jsonl"
        )
    with atomic_output(path, overwrite=overwrite) as temp:
        if suffix == ".csv":
            write_csv(frame, temp, index=False)
        elif suffix in (".tsv", ".tab"):
            write_csv(frame, temp, index=False, sep="\t")
        elif suffix == ".parquet":
            frame.to_parquet(temp, index=False)
        elif suffix == ".json":
            temp.write_text(
                frame.to_json(orient="records", indent=2, force_ascii=False) + "\n", encoding="utf-8"
            )
        elif suffix in (".jsonl", ".ndjson"):
            frame.to_json(temp, orient="records", lines=True, force_ascii=False)
        else:
            _write_sav(frame, temp, labels or {})
    return path


def _write_sav(frame: pd.DataFrame, path: Path, labels: Mapping[str, str]) -> None:
    import pyreadstat

    names = {}
    for column in frame.columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
        name = name if re.match(r"^[A-Za-z]", name) else f"v_{name}"
        names[column] = name[:64]
    out = frame.rename(columns=names)
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(float)
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype("string").astype(object).where(out[column].notna(), None)
    column_labels = {names[c]: labels.get(c, str(c)) for c in frame.columns}
    pyreadstat.write_sav(out, str(path), column_labels=column_labels)


# ----------------------------------------------------------------------- score


def score(
    instruments: Instrument | str | Sequence[Instrument | str],
    responses: Responses | pd.DataFrame | str | Path,
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    source: str = "auto",
    mapping: str | Path | Mapping[str, str] | None = None,
    invalid: str = "error",
    duplicates: str = "error",
    zscores: str | Mapping[str, Mapping[str, float]] | None = None,
    flag_careless: bool = False,
    exclude_flagged: bool = False,
    careless_thresholds: Mapping[str, float] | None = None,
    pseudonymize_key: str | Path | None = None,
    allow_shared_key: bool = False,
    identifiers: Sequence[str] = (),
    keep_identifiers: bool = False,
    include_items: bool = False,
) -> ScoredResponses:
    """Validate and score responses.

    Parameters
    ----------
    instruments : Instrument, name, or a list of them
        Several instruments are scored together as one survey.
    responses : Responses, pandas.DataFrame, or a path
        A path is read with :func:`~sdt_survey.read_responses` (using
        ``source`` and ``mapping``); a DataFrame must name item columns by
        item id.
    id_column : str, optional
        Respondent id column: checked for duplicates (per ``wave_column``),
        named in the report, pseudonymized on request.
    invalid : {"error", "as-missing"}
        ``error`` raises :class:`ResponseValidationError` listing every
        problem; ``as-missing`` sets invalid cells to missing and goes on.
    duplicates : {"error", "keep-all", "keep-first", "keep-last"}
        A respondent id repeated within a wave.
    zscores : "sample" or mapping, optional
        Add ``<score>_z`` columns, standardized against the sample (SD with
        n - 1) or against norms ``{score: {"mean": m, "sd": s}}``.
    flag_careless : bool
        Add ``flag_*`` columns and ``careless`` under
        :data:`CARELESS_THRESHOLDS` (overridden by ``careless_thresholds``).
    exclude_flagged : bool
        Remove flagged respondents; each removal is a line in the report.
    pseudonymize_key : path, optional
        A key file made by :func:`~sdt_survey.keygen`: respondent ids are
        replaced by a keyed hash in every output of the run (scores, the
        data-quality report, summaries and error messages). Needs
        ``id_column``. A missing, weak or shared key file is refused before
        any work (see :func:`~sdt_survey.pseudonyms.read_key`).
    allow_shared_key : bool
        Accept a key file that other users can read or write.
    identifiers : sequence of str
        Columns that hold direct identifiers, in addition to those detected
        (see :func:`~sdt_survey.identifiers.detect_identifier_columns`: by a
        header such as name, correo, telefono, notes, and by values that look
        like e-mail addresses, phone numbers, dates of birth, personal names or
        free text). They are dropped from the output unless
        ``keep_identifiers``; the report gives each one and why.
    include_items : bool
        Also write the validated item values (as answered).

    Returns
    -------
    ScoredResponses

    Examples
    --------
    >>> import sdt_survey, pandas as pd
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> frame = pd.DataFrame({"id": ["a", "b"], **{i: [4, 2] for i in bpn.item_ids}})
    >>> scored = sdt_survey.score(bpn, frame, id_column="id")
    >>> scored.scores["relatedness_satisfaction"].tolist()  # rs4 is reverse-keyed: (4+4+4+2)/4
    [3.5, 2.5]
    """
    # The key is checked before any work, so a bad key never costs a run.
    key = None
    if pseudonymize_key is not None:
        if id_column is None:
            raise SdtSurveyError("pseudonymizing needs the respondent id column: name it (--id-column)")
        key = read_key(pseudonymize_key, allow_shared=allow_shared_key)
    loaded = load_instruments(instruments)
    if isinstance(responses, pd.DataFrame):
        read = responses_from_frame(responses, loaded)
    elif isinstance(responses, Responses):
        read = responses
    else:
        read = read_responses(responses, loaded, source=source, mapping=mapping)
    clean = validate_responses(
        read, loaded, id_column=id_column, wave_column=wave_column, invalid=invalid, duplicates=duplicates
    )
    if key is not None:
        # Before anything can be printed or written, errors included.
        clean = dataclasses.replace(
            clean,
            respondent=pseudonymize(clean.respondent, key),
            report=pseudonymize_report(clean.report, id_column, key),
        )
    if clean.report.has_blocking_errors:
        raise ResponseValidationError(clean.report)
    return _score_clean(
        clean,
        read,
        loaded,
        id_column=id_column,
        wave_column=wave_column,
        zscores=zscores,
        flag_careless=flag_careless,
        exclude_flagged=exclude_flagged,
        careless_thresholds=careless_thresholds,
        pseudonymized=pseudonymize_key,
        identifiers=identifiers,
        keep_identifiers=keep_identifiers,
        include_items=include_items,
    )


def _score_clean(
    clean: CleanResponses,
    read: Responses,
    instruments: tuple[Instrument, ...],
    *,
    id_column,
    wave_column,
    zscores,
    flag_careless,
    exclude_flagged,
    careless_thresholds,
    pseudonymized,
    identifiers,
    keep_identifiers,
    include_items,
) -> ScoredResponses:
    notes: list[str] = []
    keyed = reverse_key(clean.values, instruments)
    scores = subscale_scores(keyed, instruments)
    names = score_ids(instruments)
    if zscores is not None:
        scores = scores.join(_zscores(scores[names], zscores))
    passthrough = clean.passthrough.copy()
    reasons: dict[str, str] = {}
    if not keep_identifiers:
        missing = [c for c in identifiers if c not in passthrough.columns and c != id_column]
        if missing:
            raise SdtSurveyError(f"identifier column(s) not in the file: {', '.join(missing)}")
        # Judged on the values as read, before numeric-looking text became numbers.
        wave_columns = {*WAVE_COLUMNS, wave_column} - {None}
        reasons = detect_identifier_columns(
            read.frame[list(passthrough.columns)],
            declared=[c for c in identifiers if c != id_column],
            exclude={id_column, *wave_columns, *DURATION_COLUMNS},
            respondents=int(read.frame[id_column].nunique()) if id_column is not None else None,
        )
    if pseudonymized is not None:
        # A copy of the raw id would undo the pseudonyms, so it goes even under keep_identifiers.
        columns = list(dict.fromkeys([id_column, *passthrough.columns]))
        copies = id_copy_columns(read.frame[columns], id_column)
        reasons.update(
            {
                c: f"{why}; dropped whenever ids are pseudonymized"
                for c, why in copies.items()
                if c not in reasons
            }
        )
    dropped = list(reasons)
    passthrough = passthrough.drop(columns=dropped)
    duration_column = next((c for c in DURATION_COLUMNS if c in clean.passthrough.columns), None)
    likert_raw = clean.values
    indices = careless_indices(
        likert_raw,
        keyed,
        instruments,
        clean.passthrough[duration_column] if duration_column else None,
    )
    out = pd.DataFrame(index=scores.index)
    if id_column is not None:
        if pseudonymized is not None:
            notes.append(f"respondent ids pseudonymized with key file {pseudonymized}")
        out[id_column] = clean.respondent
        passthrough = passthrough.drop(columns=[id_column], errors="ignore")
    out["row"] = clean.rows
    out = out.join(passthrough.reset_index(drop=True))
    out = out.join(scores)
    out["n_missing"] = clean.missing_count.to_numpy()
    out["n_invalid"] = clean.invalid_count.to_numpy()
    if clean.duplicate.any():
        out["duplicate_id"] = clean.duplicate.to_numpy()
    out = out.join(indices)
    report = clean.report
    if flag_careless or exclude_flagged:
        n_likert = sum(1 for inst in instruments for item in inst.items if item.type == "likert")
        flags = careless_flags(indices, n_likert, careless_thresholds)
        out = out.join(flags)
        if exclude_flagged:
            excluded = flags["careless"].to_numpy()
            reasons = flags.drop(columns="careless").apply(
                lambda row: ", ".join(c.removeprefix("flag_") for c, v in row.items() if v), axis=1
            )
            where = np.flatnonzero(excluded)
            lines = pd.DataFrame(
                {
                    "row": clean.rows[where],
                    "respondent": clean.respondent.iloc[where].to_numpy()
                    if clean.respondent is not None
                    else None,
                    "column": None,
                    "item": None,
                    "value": None,
                    "problem": "careless_excluded",
                    "severity": "info",
                    "message": ["flagged as careless: " + reasons.iloc[i] for i in where],
                    "action": "excluded from the scores",
                }
            )
            report = report.with_lines(lines)
            keep = ~excluded
            out, keyed = out.loc[keep].reset_index(drop=True), keyed.loc[keep].reset_index(drop=True)
            clean_values = clean.values.loc[keep].reset_index(drop=True)
        else:
            clean_values = clean.values
    else:
        clean_values = clean.values
    if dropped:
        report = _with_identifier_lines(report, reasons)
    if include_items:
        scored_ids = [i.id for inst in instruments for i in inst.items if i.type != "text"]
        out = out.join(clean_values[scored_ids].add_prefix("item_"))
    return ScoredResponses(
        scores=out,
        items=clean_values,
        keyed=keyed,
        report=report,
        instruments=instruments,
        id_column=id_column,
        dropped_columns=dropped,
        dropped_reasons=reasons,
        notes=read.notes + notes,
    )


def _with_identifier_lines(report: DataQualityReport, reasons: Mapping[str, str]) -> DataQualityReport:
    # The reason, never a sample of the values: the report must not leak what it drops.
    lines = pd.DataFrame(
        {
            "row": None,
            "respondent": None,
            "column": list(reasons),
            "item": None,
            "value": None,
            "problem": "identifier_dropped",
            "severity": "info",
            "message": [
                f"column {column!r}: {why}; a possible identifier, left out of the scored output"
                for column, why in reasons.items()
            ],
            "action": "dropped from output",
        }
    )
    return report.with_lines(lines)


def _zscores(scores: pd.DataFrame, zscores: str | Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    if isinstance(zscores, str):
        if zscores != "sample":
            zscores = read_norms(zscores)
        else:
            return ((scores - scores.mean()) / scores.std(ddof=1)).add_suffix("_z")
    out = {}
    for name, norm in zscores.items():
        if name not in scores:
            raise SdtSurveyError(
                f"norms name {name!r}, which is not a score of these instruments "
                f"({', '.join(scores.columns)})"
            )
        mean, sd = float(norm["mean"]), float(norm["sd"])
        if not sd > 0:
            raise SdtSurveyError(f"norms for {name!r}: the sd must be positive, not {sd}")
        out[f"{name}_z"] = (scores[name] - mean) / sd
    return pd.DataFrame(out, index=scores.index)


def read_norms(path: str | Path) -> dict[str, dict[str, float]]:
    """Norms from YAML or JSON: ``{score_id: {mean: m, sd: s}}``."""
    from ._yaml import read_yaml_mapping

    path = Path(path)
    if not path.is_file():
        raise SdtSurveyError(f"{path}: no such norms file (or use 'sample')")
    doc = read_yaml_mapping(path, "norms file")
    data = doc.data
    for name, norm in data.items():
        line, column = doc.position((name,))
        if not isinstance(norm, dict) or not {"mean", "sd"} <= set(norm):
            raise SdtSurveyError(f"{path}:{line}:{column}: {name}: expected {{mean: ..., sd: ...}}")
        for key in ("mean", "sd"):
            if isinstance(norm[key], bool) or not isinstance(norm[key], (int, float)):
                raise SdtSurveyError(f"{path}:{line}:{column}: {name}.{key}: expected a number")
    return data
