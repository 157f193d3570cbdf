"""Careless-responding indices and their flags (reported, and applied only on request)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._finite import require_finite
from ..errors import SdtSurveyError
from ..instrument import Instrument
from ..stats.masks import count_true, fmax_fills
from ..stats.probability import chi2_sf
from ..stats.threads import in_background, on_two_threads, single_blas_thread

#: Default thresholds of the careless-responding flags, and the literature behind them. The defaults are
#: calibrated by simulation (``benchmarks/careless_calibration.py``, docs/scoring.md) so that at most 5% of
#: attentive respondents are flagged on every bundled instrument; a flag that cannot keep that on a short
#: survey is not applied there, and the result says so.
CARELESS_THRESHOLDS: dict[str, float] = {
    # Longest run of identical answers, as a share of the likert items (Johnson, 2005).
    "longstring_share": 0.5,
    # ... applied only with this many likert items: on a short, homogeneous scale an attentive
    # respondent often gives the same answer throughout (20-60% of them in simulation under 10 items).
    "longstring_min_items": 10,
    # Within-person SD of zero over at least this many answers: straight-lining (Dunn et al., 2018).
    "irv_min_items": 6,
    # Even-odd consistency below .30 (Curran, 2016; Johnson, 2005) with 10 or more subscales split in
    # halves; with fewer the consistency of attentive respondents is too variable: see EVENODD_BY_PAIRS.
    "evenodd": 0.30,
    # ... applied only with this many subscales of two or more items (pairs of half-scale means).
    "evenodd_min_pairs": 6,
    # Mahalanobis D-squared with p below .001 (Meade & Craig, 2012).
    "mahalanobis_p": 0.001,
    # Fewer than 2 seconds per item (Huang et al., 2012).
    "seconds_per_item": 2.0,
}

#: The default even-odd threshold by the number of pairs (subscales of two or more items): from each
#: number of pairs up, this threshold (calibrated by simulation; an explicit ``evenodd`` overrides it).
EVENODD_BY_PAIRS: tuple[tuple[int, float], ...] = ((6, -0.30), (8, 0.0), (10, 0.30))

#: The largest share of attentive respondents the default thresholds may flag (the calibration's target).
FALSE_POSITIVE_TARGET = 0.05

#: Columns that hold a completion time in seconds, by platform.
DURATION_COLUMNS = ("Duration (in seconds)", "duration", "duration_seconds", "_duration")


def careless_indices(
    raw: pd.DataFrame,
    keyed: pd.DataFrame,
    instruments: Sequence[Instrument],
    duration: pd.Series | None = None,
    *,
    mahalanobis: tuple[np.ndarray, np.ndarray] | None = None,
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
    mahalanobis : (d2, p), optional
        The Mahalanobis columns computed over the whole sample already (the
        streaming intake scores a block of rows at a time).
    """
    return start_careless_indices(raw, keyed, instruments, duration, mahalanobis=mahalanobis)()


def start_careless_indices(
    raw: pd.DataFrame,
    keyed: pd.DataFrame,
    instruments: Sequence[Instrument],
    duration: pd.Series | None = None,
    *,
    mahalanobis: tuple[np.ndarray, np.ndarray] | None = None,
) -> Callable[[], pd.DataFrame]:
    """:func:`careless_indices` begun on other threads: the returned callable waits and returns the table.

    The columns are taken from the tables here, on the calling thread; the
    longest run with the within-person SD, the even-odd index and
    Mahalanobis' distance then run on three threads while the caller goes on
    (scoring runs beside them). The numbers are the same.
    """
    likert = [
        item.id
        for inst in instruments
        for item_id in inst.display_order
        for item in [inst.item(item_id)]
        if item.type == "likert"
    ]
    index = raw.index
    n, k = len(raw), len(likert)
    if k == 0:
        return lambda: pd.DataFrame(index=index)
    # Each item's column as it is held (no copy of the item table); rows in blocks the processor's
    # cache holds, items down the first axis: each respondent's sums run in item order.
    answers = [raw[item].to_numpy(dtype=float) for item in likert]
    keyed_columns = {item: keyed[item].to_numpy(dtype=float) for item in keyed.columns}
    halves = _halves(keyed, instruments)
    answered = None if duration is None else raw.notna().sum(axis=1).to_numpy()
    if mahalanobis is None:
        # The keyed items as pandas holds them (one block of floats: a view), and where the likert ones are.
        distances = in_background(
            _mahalanobis, keyed.to_numpy(dtype=float), keyed.columns.get_indexer(likert), size=n
        )
    else:  # computed over the whole sample already (the streaming intake scores a block at a time)

        def distances() -> tuple[np.ndarray, np.ndarray]:
            return mahalanobis

    runs = in_background(_runs_and_spread, answers, n, size=n)
    evenodd = in_background(_even_odd_index, keyed_columns, halves, n, size=n)

    def finish() -> pd.DataFrame:
        out = pd.DataFrame(index=index)
        out["longstring"], out["irv"] = runs()
        out["evenodd"] = evenodd()
        out["mahalanobis_d2"], out["mahalanobis_p"] = distances()
        if duration is not None:
            seconds = pd.to_numeric(duration, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["seconds_per_item"] = seconds / np.maximum(answered, 1)
        return out

    return finish


def _runs_and_spread(answers: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The longest run and the within-person SD of every respondent, a block of rows at a time."""
    longest, irv = np.empty(n), np.empty(n)
    for start in range(0, n, ROW_BLOCK):
        rows = slice(start, min(start + ROW_BLOCK, n))
        longest[rows], irv[rows] = _longstring_irv(np.stack([column[rows] for column in answers]))
    return longest, irv


def _even_odd_index(
    keyed_columns: Mapping[str, np.ndarray], halves: Sequence[tuple[list[str], list[str]]] | None, n: int
) -> np.ndarray:
    """The even-odd index of every respondent (NaN without three subscales to split), a block at a time."""
    evenodd = np.full(n, np.nan)
    if halves is None:
        return evenodd
    # Each side's columns by (position in the half, subscale); a shorter half is padded with no answers.
    no_answers = np.full(n, np.nan)
    sides = []
    for side in (0, 1):
        width = max(len(pair[side]) for pair in halves)
        sides.append(
            [
                keyed_columns[pair[side][position]] if position < len(pair[side]) else no_answers
                for position in range(width)
                for pair in halves
            ]
        )
    for start in range(0, n, ROW_BLOCK):
        rows = slice(start, min(start + ROW_BLOCK, n))
        shape = (-1, len(halves), rows.stop - start)
        odd, even = (np.stack([column[rows] for column in side]).reshape(shape) for side in sides)
        evenodd[rows] = _even_odd(odd, even)
    return evenodd


#: Rows computed together by the row-wise indices: their items fit the processor's cache (24 items: 6 MB),
#: and few enough blocks that the threads computing beside each other rarely wait for the interpreter lock.
ROW_BLOCK = 1 << 15
#: Distances whose chi-square tail is computed together.
TAIL_BLOCK = 1 << 17


def _longstring_irv(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The longest run of identical answers and the within-person SD of each column of ``x`` (items x rows).

    NaN is a missing answer.
    """
    k = len(x)
    valid = ~np.isnan(x)
    # Longest run: a loop over items, vectorized over respondents, in small whole numbers in place
    # (a run restarts where an answer differs from the one before or is missing: NaN equals nothing).
    counter = np.uint8 if k < 256 else np.int64
    same = x[1:] == x[:-1]
    run = valid[0].astype(counter)
    longest = run.copy()
    for j in range(1, k):
        np.multiply(run, same[j - 1], out=run)
        run += 1
        np.multiply(run, valid[j], out=run)
        np.maximum(longest, run, out=longest)
    answered = count_true(valid)
    # Each respondent's sums run down a column in item order (missing answers add zero), as
    # numpy's sum over the first axis adds whole rows in order: the same bits as that sum.
    with np.errstate(invalid="ignore", divide="ignore"):
        # With no negative answer fmax makes the missing ones zero, fast (the same bits as where).
        scratch = np.fmax(x, 0.0) if fmax_fills(x) else np.where(valid, x, 0.0)
        mean = scratch.sum(axis=0) / answered
        np.subtract(x, mean, out=scratch)
        np.square(scratch, out=scratch)
        if np.isfinite(mean[answered > 0]).all():
            np.fmax(scratch, 0.0, out=scratch)  # a square is never negative: NaN (missing) becomes zero
        else:  # an infinite answer makes its row's squares NaN, which stay
            np.copyto(scratch, 0.0, where=~valid)
        ss = scratch.sum(axis=0)
        irv = np.where(answered >= 2, np.sqrt(ss / (answered - 1)), np.nan)
    return longest.astype(float), irv


def _halves(
    keyed: pd.DataFrame, instruments: Sequence[Instrument]
) -> list[tuple[list[str], list[str]]] | None:
    """The columns of the odd and even halves of each subscale of two or more items (None: fewer than 3)."""
    halves = [
        (list(sub.items[0::2]), list(sub.items[1::2]))
        for inst in instruments
        for sub in inst.subscales.values()
        if len(sub.items) >= 2
    ]
    return halves if len(halves) >= 3 else None


def _even_odd(odd: np.ndarray, even: np.ndarray) -> np.ndarray:
    """The even-odd index of each respondent from the keyed answers of the halves (NaN is missing).

    ``odd`` and ``even`` are ``(position in the half, subscale, respondent)``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = _half_mean(odd), _half_mean(even)
        if odd.shape[1] >= _PAIRWISE:
            # From this many subscales numpy sums each respondent's row pairwise: a row per respondent.
            return _correlate_halves(np.ascontiguousarray(a.T), np.ascontiguousarray(b.T), axis=1)
        # One row per subscale, one column per respondent: each respondent's sums run down a column, in
        # subscale order, as contiguous additions of whole rows.
        return _correlate_halves(a, b, axis=0)


def _half_mean(values: np.ndarray) -> np.ndarray:
    """``(subscale, respondent)``: the mean of each half's answered values (NaN when none is answered).

    ``values`` is ``(position, subscale, respondent)`` and is overwritten. The answered values are
    added in item order, from zero, and so is their count.
    """
    missing = np.isnan(values)
    if fmax_fills(values):  # no negative value: fmax makes the missing ones zero, fast (the same bits)
        np.fmax(values, 0.0, out=values)
    else:
        np.copyto(values, 0.0, where=missing)
    total = np.zeros(values.shape[1:])
    count = np.zeros(values.shape[1:])
    for position in range(len(values)):
        total += values[position]
        count += ~missing[position]
    return np.divide(total, count, out=total)


def _correlate_halves(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """The Spearman-Brown corrected correlation of the half means ``a`` and ``b`` of each respondent.

    Over the subscales where both halves have a mean, summed along ``axis``;
    NaN with fewer than three. ``a`` and ``b`` are overwritten.
    """
    unpaired = np.isnan(a)
    unpaired |= np.isnan(b)
    count = a.shape[axis] - count_true(unpaired, axis)
    # Over the subscales where both halves have a mean: centre, then correlate.
    for half in (a, b):
        np.copyto(half, 0.0, where=unpaired)
        np.subtract(half, np.expand_dims(half.sum(axis=axis) / count, axis), out=half)
        np.copyto(half, 0.0, where=unpaired)
    cross = np.multiply(a, b).sum(axis=axis)
    r = cross / np.sqrt(np.square(a, out=a).sum(axis=axis) * np.square(b, out=b).sum(axis=axis))
    # Spearman-Brown on |r| with the sign restored keeps negative values within [-1, 0].
    corrected = np.sign(r) * 2 * np.abs(r) / (1 + np.abs(r))
    return np.where(count >= 3, corrected, np.nan)


#: From this many values numpy sums a row pairwise, not in order.
_PAIRWISE = 8


def _mahalanobis(values: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mahalanobis' D-squared and its chi-square p of each row of ``values`` complete in ``positions``.

    NaN for a respondent with any of those columns missing.
    """
    n, k = len(values), len(positions)
    complete = np.ones(n, dtype=bool)
    for j in positions:
        complete &= ~np.isnan(values[:, j])
    if complete.sum() <= k:
        return np.full(n, np.nan), np.full(n, np.nan)
    # The complete rows, a row per respondent, in one step (the same matrix as gathered item by item).
    data = values[complete]
    if list(positions) != list(range(values.shape[1])):
        data = data[:, positions]
    distance = complete_row_distances(np.ascontiguousarray(data))
    del data
    return mahalanobis_columns(distance, complete, k)


def complete_row_distances(data: np.ndarray) -> np.ndarray:
    """Mahalanobis' D-squared of each complete row of ``data`` (a row per respondent, centred here in place).

    The streaming intake builds ``data`` from item codes and calls this, so
    both paths compute the same numbers from the same matrix. Callers let go
    of ``data`` before :func:`mahalanobis_columns` (the largest array of the step).
    """
    centred = data
    centred -= data.mean(axis=0)  # in place: the same differences, without a second copy
    distance = np.empty(len(centred))
    with single_blas_thread():  # small products: BLAS threads only wait for each other (same results)
        covariance = centred.T @ centred / (len(centred) - 1)
        inverse = np.linalg.pinv(covariance)
        for start in range(0, len(centred), ROW_BLOCK):
            block = centred[start : start + ROW_BLOCK]
            distance[start : start + len(block)] = np.einsum("ij,ij->i", block @ inverse, block)
    return distance


def mahalanobis_columns(distance: np.ndarray, complete: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``mahalanobis_d2`` and ``mahalanobis_p`` columns of every respondent (NaN where not ``complete``).

    ``p`` is the chi-square tail with ``k`` degrees of freedom.
    """
    n = len(complete)
    d2 = np.full(n, np.nan)
    d2[complete] = distance
    # Elementwise, a large block at a time, two blocks at once: the special function sorts each block so
    # that its elements converge together, and its temporaries stay a few megabytes (the same bits).
    blocks = [distance[start : start + TAIL_BLOCK] for start in range(0, len(distance), TAIL_BLOCK)]
    tails = on_two_threads(lambda block: chi2_sf(block, k), blocks, size=min(len(distance), TAIL_BLOCK))
    tail = np.concatenate(tails) if tails else np.empty(0)
    p = np.full(n, np.nan)
    p[complete] = tail
    return d2, p


def careless_note(flagged: int, total: int, skipped: Sequence[str] = ()) -> str:
    """The note on the careless-responding flags: how many were flagged, and what a flag means."""
    return (
        f"careless-responding flags: {flagged} of {total} respondents flagged; "
        f"the default thresholds flag at most {FALSE_POSITIVE_TARGET:.0%} of attentive respondents in "
        "simulation, so a flag is a reason to look, not proof (docs/scoring.md)"
        + "".join(f"; {why}" for why in skipped)
    )


def evenodd_pairs(instruments: Sequence[Instrument]) -> int:
    """The number of subscales split in odd and even halves for the even-odd index (two or more items)."""
    return sum(1 for inst in instruments for sub in inst.subscales.values() if len(sub.items) >= 2)


def careless_flags(
    indices: pd.DataFrame,
    n_likert: int,
    thresholds: Mapping[str, float] | None = None,
    *,
    n_pairs: int | None = None,
    skipped: list[str] | None = None,
) -> pd.DataFrame:
    """Flags from the careless indices under documented thresholds (:data:`CARELESS_THRESHOLDS`).

    Parameters
    ----------
    indices : pandas.DataFrame
        From :func:`careless_indices`.
    n_likert : int
        The number of likert items.
    thresholds : mapping, optional
        Overrides of :data:`CARELESS_THRESHOLDS`. An explicit ``evenodd``
        applies at any number of pairs; the default follows
        :data:`EVENODD_BY_PAIRS`.
    n_pairs : int, optional
        The number of subscales with two or more items (:func:`evenodd_pairs`);
        without it the even-odd flag uses ``evenodd`` as given.
    skipped : list, optional
        Receives a sentence for each flag not applied because the survey is
        too short for it to keep false positives at 5% or below.
    """
    limits = {**CARELESS_THRESHOLDS, **(thresholds or {})}
    # A NaN threshold would silently flag nobody (every comparison with NaN is False).
    require_finite(dict(thresholds or {}), "careless_thresholds")
    unknown = set(thresholds or {}) - set(CARELESS_THRESHOLDS)
    if unknown:
        raise SdtSurveyError(
            f"unknown careless threshold {', '.join(sorted(unknown))}; "
            f"known: {', '.join(CARELESS_THRESHOLDS)}"
        )
    skipped = skipped if skipped is not None else []
    flags = pd.DataFrame(index=indices.index)
    if "longstring" in indices:
        if n_likert >= limits["longstring_min_items"]:
            run = math.ceil(limits["longstring_share"] * n_likert)
            flags["flag_longstring"] = indices["longstring"] >= max(run, 2)
        else:
            skipped.append(
                f"longstring not applied: {n_likert} likert items, fewer than the "
                f"{limits['longstring_min_items']:g} it needs"
            )
        flags["flag_irv"] = indices["irv"].eq(0) & (indices["longstring"] >= limits["irv_min_items"])
        evenodd = _evenodd_threshold(limits, thresholds or {}, n_pairs)
        if evenodd is not None:
            flags["flag_evenodd"] = indices["evenodd"] < evenodd
        else:
            skipped.append(
                f"evenodd not applied: {n_pairs} subscales split in halves, fewer than the "
                f"{limits['evenodd_min_pairs']:g} it needs"
            )
        flags["flag_mahalanobis"] = indices["mahalanobis_p"] < limits["mahalanobis_p"]
    if "seconds_per_item" in indices:
        flags["flag_speed"] = indices["seconds_per_item"] < limits["seconds_per_item"]
    flags["careless"] = flags.any(axis=1)
    return flags


def _evenodd_threshold(
    limits: Mapping[str, float], given: Mapping[str, float], n_pairs: int | None
) -> float | None:
    if "evenodd" in given or n_pairs is None:
        return limits["evenodd"]
    if n_pairs < limits["evenodd_min_pairs"]:
        return None
    threshold = EVENODD_BY_PAIRS[0][1]
    for fewest, value in EVENODD_BY_PAIRS:
        if n_pairs >= fewest:
            threshold = value
    return threshold


__all__ = [
    "CARELESS_THRESHOLDS",
    "DURATION_COLUMNS",
    "EVENODD_BY_PAIRS",
    "FALSE_POSITIVE_TARGET",
    "careless_flags",
    "careless_indices",
    "evenodd_pairs",
]
