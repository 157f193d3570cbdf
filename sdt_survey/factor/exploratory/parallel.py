"""Horn's parallel analysis for the number of factors and components (psych::fa.parallel)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import FactorAnalysisError
from ...results import Result, jsonable, message_fields, message_lines
from ...stats import moments
from ...stats.extraction import FMS, extract
from ...stats.moments import pairwise_moments
from ...stats.threads import single_blas_thread
from ._input import ItemData, Missing, prepare
from ._text import source_text
from .defaults import DEFAULT_SEED
from .model import Fm


@dataclass(frozen=True, eq=False)
class ParallelResult(Result):
    """Horn's parallel analysis (psych::fa.parallel, ``fa = "both"``).

    ``pc_values``/``fa_values`` are the eigenvalues of the data's
    correlation matrix and of its reduced matrix (communalities of a
    one-factor ``fm`` solution on the diagonal, psych's default; or SMCs with
    ``smc=True``); ``scree`` has them with the means (``*_simulated``,
    ``*_resampled``) and ``quantile`` quantiles (``*_simulated_q``,
    ``*_resampled_q``) of the same eigenvalues over ``n_iter`` simulated
    normal data sets and ``n_iter`` resamples (each column resampled with
    replacement on its own). ``n_factors`` (psych ``nfact``) and
    ``n_components`` (``ncomp``) count the leading eigenvalues that exceed
    the simulated quantile.
    """

    n_factors: int
    n_components: int
    scree: pd.DataFrame
    n_iter: int
    seed: int | None
    fm: str
    smc: bool
    quantile: float
    n_obs: int | None
    missing: str
    simulated: np.ndarray = field(repr=False)
    resampled: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def pc_values(self) -> pd.Series:
        return self.scree["pc_actual"]

    @property
    def fa_values(self) -> pd.Series:
        return self.scree["fa_actual"]

    def to_frame(self) -> pd.DataFrame:
        """The scree plot data: one row per factor/component number."""
        return self.scree.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "n_factors": self.n_factors,
                "n_components": self.n_components,
                "n_iter": self.n_iter,
                "seed": self.seed,
                "fm": self.fm,
                "smc": self.smc,
                "quantile": self.quantile,
                "n_obs": self.n_obs,
                "missing": self.missing,
                "scree": self.scree.reset_index().to_dict(orient="list"),
                **message_fields(self),
            }
        )

    def summary(self) -> str:
        q = f"{self.quantile:.0%}"
        lines = [
            f"Parallel analysis ({self.n_iter} simulated and "
            f"{self.n_iter if self.missing != 'matrix' else 'no'} resampled data sets, "
            f"seed = {self.seed}, {source_text(self.n_obs, self.missing)})",
            f"Parallel analysis suggests that the number of factors = {self.n_factors} "
            f"and the number of components = {self.n_components}",
            f"(eigenvalues of the data above the {q} quantile of simulated random data)",
            "",
        ]
        show = self.scree[["pc_actual", "pc_simulated_q", "fa_actual", "fa_simulated_q"]].head(
            max(self.n_factors, self.n_components) + 3
        )
        lines.append(show.to_string(float_format=lambda v: f"{v:.2f}"))
        lines += message_lines(self)
        return "\n".join(lines)


def _cor_batch(x: np.ndarray) -> np.ndarray:
    """Correlation matrices of complete data, batched over the first axis."""
    xc = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("bij,bik->bjk", xc, xc)
    d = 1.0 / np.sqrt(np.einsum("bjj->bj", cov))
    return cov * d[:, :, None] * d[:, None, :]


def _factor_values(r: np.ndarray, fm: str, smc: bool, *, pa_smc: bool) -> np.ndarray:
    """psych's ``fa(r, 1, fm)$values`` (or eigenvalues with SMCs on the diagonal)."""
    if smc:
        s = r.copy()
        np.fill_diagonal(s, moments.smc(r))
        return np.linalg.eigvalsh(s)[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract(r, 1, fm, pa_smc=pa_smc)[1]


def _count_above(actual: np.ndarray, threshold: np.ndarray) -> int:
    below = np.flatnonzero(~(actual > threshold))
    return int(below[0]) if below.size else int(actual.size)


def parallel_analysis(
    items: pd.DataFrame,
    *,
    n_iter: int = 20,
    seed: int | None = DEFAULT_SEED,
    fm: Fm = "minres",
    smc: bool = False,
    quantile: float = 0.95,
    missing: Missing = "pairwise",
    n_obs: int | None = None,
) -> ParallelResult:
    """Horn's parallel analysis for the number of factors and components (psych::fa.parallel).

    Parameters
    ----------
    items : DataFrame
    n_iter : int
        Simulated data sets, and resampled data sets, each (psych's ``n.iter``).
    seed : int or None
        Seed of numpy's generator (default :data:`DEFAULT_SEED`, so a run is
        reproducible and the result says which seed it used); ``None`` draws
        fresh randomness. Not comparable draw for draw with R's random numbers.
    fm : {"minres", "ml", "pa"}
        Extraction giving the factor eigenvalues (one factor, as psych).
    smc : bool
        Use SMCs on the diagonal for the factor eigenvalues instead of the
        one-factor communalities (psych's ``SMC = TRUE``).
    quantile : float
        The simulated eigenvalues' quantile the data must exceed (psych's ``quant``).
    missing : {"pairwise", "listwise"}
    n_obs : int
        With a correlation (or covariance) matrix instead of data: the
        respondents behind it, required (``fa.parallel(r, n.obs = )``). The
        simulated data sets have ``n_obs`` rows; there is nothing to resample,
        so the ``*_resampled`` columns are NaN, as psych leaves them out.

    Returns
    -------
    ParallelResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> f = rng.normal(size=(600, 3))
    >>> x = f @ np.kron(np.eye(3), np.full((1, 4), 0.7)) + rng.normal(size=(600, 12)) * 0.7
    >>> pa = parallel_analysis(pd.DataFrame(x), n_iter=10, seed=1)
    >>> pa.n_factors, pa.n_components
    (3, 3)
    >>> pa.scree.columns[:3].tolist()
    ['pc_actual', 'pc_simulated', 'pc_simulated_q']
    """
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise FactorAnalysisError(f"n_iter must be a positive whole number, got {n_iter!r}")
    if not 0 < quantile < 1:
        raise FactorAnalysisError(f"quantile must be in (0, 1), got {quantile!r}")
    with single_blas_thread():
        data = prepare(items, missing, n_obs=n_obs)
        if data.n_obs is None:
            raise FactorAnalysisError(
                "parallel analysis of a correlation matrix needs n_obs, the number of respondents behind it"
            )
        return parallel_from_data(data, int(n_iter), seed, fm, smc, quantile)


def parallel_from_data(
    data: ItemData, n_iter: int, seed: int | None, fm: str, smc: bool, quantile: float
) -> ParallelResult:
    rng = np.random.default_rng(seed)
    x = data.x
    n, p = (data.n_obs, len(data.names)) if x is None else x.shape
    pc_actual = data.eigenvalues
    fa_actual = _factor_values(data.r, fm, smc, pa_smc=True)

    # Simulated: standard normal data of the same size (complete), batched.
    sim_pc = np.empty((n_iter, p))
    sim_fa = np.empty((n_iter, p))
    chunk = max(1, min(n_iter, 4_000_000 // max(n * p, 1)))
    for start in range(0, n_iter, chunk):
        b = min(chunk, n_iter - start)
        cors = _cor_batch(rng.standard_normal((b, n, p)))
        sim_pc[start : start + b] = np.linalg.eigvalsh(cors)[:, ::-1]
        for i in range(b):
            sim_fa[start + i] = _factor_values(cors[i], fm, smc, pa_smc=False)

    # Resampled: every column drawn with replacement on its own (psych's sample(y, n, replace = TRUE)).
    res_pc = np.full((n_iter, p), np.nan)
    res_fa = np.full((n_iter, p), np.nan)
    has_nan = x is not None and bool(np.isnan(x).any())
    cols = np.arange(p)
    for i in range(n_iter if x is not None else 0):  # a matrix has no rows to resample
        for _attempt in range(100):
            xs = x[rng.integers(0, n, size=(n, p)), cols]
            if has_nan:
                _, c, _ = pairwise_moments(xs)
            else:
                c = _cor_batch(xs[None])[0]
            if not np.isnan(c).any():
                break
        else:  # pragma: no cover - psych loops until it succeeds
            raise FactorAnalysisError("resampling kept producing items without variance; too few answers")
        res_pc[i] = np.linalg.eigvalsh(c)[::-1]
        res_fa[i] = _factor_values(c, fm, smc, pa_smc=False)

    def q(v: np.ndarray) -> np.ndarray:
        return np.quantile(v, quantile, axis=0)

    scree = pd.DataFrame(
        {
            "pc_actual": pc_actual,
            "pc_simulated": sim_pc.mean(axis=0),
            "pc_simulated_q": q(sim_pc),
            "pc_resampled": res_pc.mean(axis=0),
            "pc_resampled_q": q(res_pc),
            "fa_actual": fa_actual,
            "fa_simulated": sim_fa.mean(axis=0),
            "fa_simulated_q": q(sim_fa),
            "fa_resampled": res_fa.mean(axis=0),
            "fa_resampled_q": q(res_fa),
        },
        index=pd.RangeIndex(1, p + 1, name="number"),
    )
    notes = ()
    if seed == DEFAULT_SEED:
        notes = (
            f"random draws from the default seed {DEFAULT_SEED}, so every run gives the same result; "
            "give another seed to see how stable the suggestion is",
        )
    return ParallelResult(
        notes=notes,
        n_factors=_count_above(fa_actual, scree["fa_simulated_q"].to_numpy()),
        n_components=_count_above(pc_actual, scree["pc_simulated_q"].to_numpy()),
        scree=scree,
        n_iter=n_iter,
        seed=seed,
        fm=fm,
        smc=smc,
        quantile=quantile,
        n_obs=data.n_obs,
        missing=data.missing,
        simulated=np.hstack([sim_pc, sim_fa]),
        resampled=np.hstack([res_pc, res_fa]),
    )
