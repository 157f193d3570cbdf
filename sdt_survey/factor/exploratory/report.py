"""KMO, Bartlett's test, parallel analysis and the EFA of one set of items, in one go."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
    #: Factors named after the subscale whose items load on them (psych's name -> subscale id).
    factor_names: Mapping[str, str] = field(default_factory=dict)

    def plot(self, path: str | Path | None = None, *, overwrite: bool = False) -> Any:
        """Scree plot with parallel analysis's simulated quantiles, the number of factors marked.

        ``path`` (``.png``, ``.svg``, ``.pdf``) is written atomically; an existing file is
        replaced only with ``overwrite=True``. Without ``path``, the matplotlib figure.
        """
        from .plot import scree_figure

        scree = None if self.parallel is None else self.parallel.scree
        pc = self.efa.eigenvalues.to_numpy() if scree is None else scree["pc_actual"].to_numpy()
        fa = self.efa.common_eigenvalues.to_numpy() if scree is None else scree["fa_actual"].to_numpy()
        quantile = 0.95 if self.parallel is None else self.parallel.quantile
        return scree_figure(pc, fa, scree, self.efa.n_factors, path, quantile=quantile, overwrite=overwrite)

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
                **({"factor_names": dict(self.factor_names)} if self.factor_names else {}),
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
    n_obs: int | None = None,
) -> FactorReport:
    """KMO, Bartlett's test, parallel analysis and an EFA of the items, in one go.

    Parameters
    ----------
    items : DataFrame
        Keyed items (``score(...).keyed``), one column per item; or a
        correlation or covariance matrix with ``n_obs``.
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
    n_obs : int, optional
        With a matrix: the respondents behind it (required, for Bartlett's
        test and the simulated data of parallel analysis).

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
        return _factor_report(items, n_factors, fm, rotate, missing, int(n_iter), seed, instrument, n_obs)


def _factor_report(
    items: pd.DataFrame,
    n_factors: int | None,
    fm: str,
    rotate: str,
    missing: str,
    n_iter: int,
    seed: int | None,
    instrument: str | None,
    n_obs: int | None = None,
) -> FactorReport:
    if n_factors is not None:  # an impossible number of factors is the first thing to say
        check_n_factors(n_factors, as_frame(items, "items").shape[1])
    data = prepare(items, missing, n_obs=n_obs)
    if data.n_obs is None:
        raise FactorAnalysisError(
            "a factor report from a correlation matrix needs n_obs, the number of respondents behind it"
        )
    p = len(data.names)
    require_positive_definite(data, "the factor report (KMO and Bartlett's test)")
    msa, msai, image = kmo_from_correlation(data.r)
    kmo_res = KMOResult(
        msa,
        pd.Series(msai, index=data.names, name="msa"),
        data.n_obs,
        data.missing,
        pd.DataFrame(image, index=data.names, columns=data.names),
    )
    chisq, df, pv = bartlett_from_correlation(data.r, data.n_obs)
    bart = BartlettResult(chisq, df, pv, data.n_obs, p, data.missing)
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
    groups = {
        sid: list(sub.items)
        for inst in scored.instruments
        for sid, sub in inst.subscales.items()
        if wanted is None or sid in wanted
    }
    names, naming_notes = match_subscales(report.efa.loadings, groups)
    # The intake's notes first (e.g. the id column taken from the export, used to find duplicates).
    return dataclasses.replace(
        report,
        efa=report.efa.renamed(names) if names else report.efa,
        factor_names=names,
        notes=(*scored.notes, *report.notes, *naming_notes),
    )


#: A factor takes a subscale's name when its items' mean |loading| on it is at least this...
NAMING_MIN_LOADING = 0.3
#: ...and at least this many times any other subscale's on the same factor.
NAMING_MARGIN = 1.5


def match_subscales(
    loadings: pd.DataFrame, subscales: Mapping[str, Sequence[str]]
) -> tuple[dict[str, str], list[str]]:
    """Name factors after the subscale whose items load on them, where the loadings make it clear.

    A factor is named after subscale *s* when *s*'s items load on it more
    (mean absolute loading) than on any other factor, no other subscale's
    items load on it nearly as much (:data:`NAMING_MARGIN`), and the loading
    is salient (:data:`NAMING_MIN_LOADING`). Every other factor keeps psych's
    name (``MR1``...).

    Returns
    -------
    names : dict
        psych's name -> subscale id, for the factors named.
    notes : list of str
        What was named, and what was not and why, in words.

    Examples
    --------
    >>> lam = pd.DataFrame({"MR1": [0.8, 0.7, 0.1, 0.0], "MR2": [0.1, 0.0, 0.6, 0.7]},
    ...                    index=["a1", "a2", "b1", "b2"])
    >>> match_subscales(lam, {"a": ["a1", "a2"], "b": ["b1", "b2"]})[0]
    {'MR1': 'a', 'MR2': 'b'}
    """
    groups = {sid: [i for i in items if i in loadings.index] for sid, items in subscales.items()}
    groups = {sid: items for sid, items in groups.items() if items}
    if not groups or loadings.shape[1] == 0:
        return {}, []
    strength = pd.DataFrame(
        {sid: loadings.loc[items].abs().mean(axis=0) for sid, items in groups.items()}
    )  # factors x subscales
    names: dict[str, str] = {}
    for factor, row in strength.iterrows():
        best = row.idxmax()
        others = row.drop(best)
        clear = row[best] >= NAMING_MIN_LOADING and (
            others.empty or row[best] >= NAMING_MARGIN * others.max()
        )
        if clear and strength[best].idxmax() == factor:
            names[str(factor)] = str(best)
    notes: list[str] = []
    if names:
        notes.append(
            "factors named after the subscale whose items load on them most: "
            + ", ".join(f"{old} = {new}" for old, new in names.items())
        )
    unnamed = [str(f) for f in loadings.columns if str(f) not in names]
    if unnamed and names:
        notes.append(f"{', '.join(unnamed)} kept psych's name: no subscale's items load clearly on it")
    elif unnamed:
        notes.append("factors keep psych's names (MR1...): no subscale's items load clearly on one factor")
    return names, notes
