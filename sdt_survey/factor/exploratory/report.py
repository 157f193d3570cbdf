"""KMO, Bartlett's test, parallel analysis and the EFA of one set of items, in one go."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...errors import FactorAnalysisError
from ...results import Result, jsonable
from ...stats.extraction import FMS
from ...stats.threads import single_blas_thread
from ._input import Missing, as_frame, prepare, require_positive_definite
from .adequacy import BartlettResult, KMOResult, bartlett_from_correlation, kmo_from_correlation
from .model import EFAResult, Fm, Rotate, check_n_factors, efa_from_data
from .parallel import DEFAULT_SEED, ParallelResult, parallel_from_data


@dataclass(frozen=True, eq=False)
class FactorReport(Result):
    """KMO, Bartlett's test, parallel analysis and the EFA of one set of items (see :func:`factor_report`)."""

    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelResult | None
    efa: EFAResult
    n_factors_source: str
    instrument: str | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per item: loadings, h2, u2, complexity and the item's MSA."""
        out = self.efa.to_frame()
        out["msa"] = self.kmo.msa_items
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "instrument": self.instrument,
                "n_factors": self.efa.n_factors,
                "n_factors_source": self.n_factors_source,
                "kmo": self.kmo.to_dict(),
                "bartlett": self.bartlett.to_dict(),
                "parallel": None if self.parallel is None else self.parallel.to_dict(),
                "efa": self.efa.to_dict(),
                "notes": list(self.notes),
                **({"warnings": list(self.warnings)} if self.warnings else {}),
            }
        )

    def summary(self, cut: float = 0.3, *, sort: bool = True) -> str:
        title = (
            f"Exploratory factor analysis: {self.instrument}"
            if self.instrument
            else "Exploratory factor analysis"
        )
        parts = [title, "", self.kmo.summary(), "", self.bartlett.summary()]
        if self.parallel is not None:
            parts += ["", self.parallel.summary()]
        parts += ["", f"Number of factors: {self.efa.n_factors} ({self.n_factors_source})", ""]
        parts.append(self.efa.summary(cut, sort=sort))
        parts += [f"warning: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes]
        return "\n".join(parts)


def _max_identified(p: int) -> int:
    k = 1
    while k + 1 < p and p * (p - 1) / 2 - p * (k + 1) + (k + 1) * k / 2 >= 0:
        k += 1
    return k


def factor_report(
    items: pd.DataFrame,
    n_factors: int | None = None,
    *,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
    n_iter: int = 20,
    seed: int | None = DEFAULT_SEED,
    instrument: str | None = None,
) -> FactorReport:
    """KMO, Bartlett's test, parallel analysis and an EFA of the items, in one go.

    Parameters
    ----------
    items : DataFrame
        Keyed items (``score(...).keyed``), one column per item.
    n_factors : int, optional
        Factors to extract; by default parallel analysis's suggestion (at
        least 1, at most the largest identified number).
    fm, rotate, missing
        As for :func:`efa`.
    n_iter, seed
        As for :func:`parallel_analysis` (run even when ``n_factors`` is given); the
        default seed makes every run give the same result, and the notes say so.
    instrument : str, optional
        A label for the report.

    Returns
    -------
    FactorReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> f = rng.normal(size=(500, 2))
    >>> x = f @ np.kron(np.eye(2), np.full((1, 4), 0.7)) + rng.normal(size=(500, 8)) * 0.7
    >>> rep = factor_report(pd.DataFrame(x, columns=[f"q{i}" for i in range(8)]), seed=2, n_iter=10)
    >>> rep.efa.n_factors, rep.n_factors_source
    (2, 'parallel analysis')
    >>> sorted(rep.to_dict())
    ['bartlett', 'efa', 'instrument', 'kmo', 'n_factors', 'n_factors_source', 'notes', 'parallel']
    """
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise FactorAnalysisError(f"n_iter must be a positive whole number, got {n_iter!r}")
    with single_blas_thread():
        return _factor_report(items, n_factors, fm, rotate, missing, int(n_iter), seed, instrument)


def _factor_report(
    items: pd.DataFrame,
    n_factors: int | None,
    fm: str,
    rotate: str,
    missing: str,
    n_iter: int,
    seed: int | None,
    instrument: str | None,
) -> FactorReport:
    if n_factors is not None:  # an impossible number of factors is the first thing to say
        check_n_factors(n_factors, as_frame(items, "items").shape[1])
    data = prepare(items, missing)
    p = len(data.names)
    require_positive_definite(data, "the factor report (KMO and Bartlett's test)")
    msa, msai, image = kmo_from_correlation(data.r)
    kmo_res = KMOResult(
        msa,
        pd.Series(msai, index=data.names, name="msa"),
        data.n_obs,
        missing,
        pd.DataFrame(image, index=data.names, columns=data.names),
    )
    chisq, df, pv = bartlett_from_correlation(data.r, data.n_obs)
    bart = BartlettResult(chisq, df, pv, data.n_obs, p, missing)
    par = parallel_from_data(data, n_iter, seed, fm, False, 0.95)
    notes: list[str] = [f"parallel analysis: {note}" for note in par.notes]
    if n_factors is None:
        k = par.n_factors
        source = "parallel analysis"
        if k < 1:
            k = 1
            notes.append("parallel analysis suggested no factor; one factor was extracted")
        top = _max_identified(p)
        if k > top:
            notes.append(f"parallel analysis suggested {k} factors; {top} is the most {p} items identify")
            k = top
    else:
        k = check_n_factors(n_factors, p)
        source = "given"
    if kmo_res.msa < 0.6:
        notes.append(f"overall MSA {kmo_res.msa:.2f} is below .60: the items may not suit factor analysis")
    return FactorReport(
        kmo=kmo_res,
        bartlett=bart,
        parallel=par,
        efa=efa_from_data(data, k, fm, rotate),
        n_factors_source=source,
        instrument=instrument,
        notes=tuple(notes),
    )


def instrument_factor_report(
    instruments: Any,
    responses: Any,
    *,
    n_factors: int | None = None,
    subscales: Sequence[str] | None = None,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
    n_iter: int = 20,
    seed: int | None = DEFAULT_SEED,
    id_column: str | None = None,
    wave_column: str | None = None,
    **reading: Any,
) -> FactorReport:
    """Read, validate and score responses as ``sdt-survey score`` does, then run :func:`factor_report`.

    The items analysed are the keyed items of the instruments' subscales (all
    subscales, or those named in ``subscales``), in instrument order.

    Parameters
    ----------
    instruments, responses, id_column, wave_column
        As for :func:`sdt_survey.score`; ``reading`` takes its other reading
        options (``source``, ``mapping``, ``invalid``, ``duplicates``).
    n_factors, fm, rotate, missing, n_iter, seed
        As for :func:`factor_report`. Without ``n_factors``, parallel analysis chooses.
    subscales : list of str, optional

    Returns
    -------
    FactorReport
    """
    from ...scoring import score

    scored = score(instruments, responses, id_column=id_column, wave_column=wave_column, **reading)
    wanted = None if subscales is None else {str(s) for s in subscales}
    items: list[str] = []
    found: set[str] = set()
    for inst in scored.instruments:
        for sid, sub in inst.subscales.items():
            if wanted is None or sid in wanted:
                found.add(sid)
                items += [i for i in sub.items if i not in items]
    if wanted is not None and wanted - found:
        raise FactorAnalysisError(f"unknown subscales: {', '.join(sorted(wanted - found))}")
    if not items:
        raise FactorAnalysisError("the instruments define no subscale items to factor analyse")
    label = ", ".join(f"{inst.id} {inst.version}" for inst in scored.instruments)
    frame = scored.keyed[items].reset_index(drop=True)
    report = factor_report(
        frame, n_factors, fm=fm, rotate=rotate, missing=missing, n_iter=n_iter, seed=seed, instrument=label
    )
    # The intake's notes first (e.g. the id column taken from the export, used to find duplicates).
    return dataclasses.replace(report, notes=(*scored.notes, *report.notes))
