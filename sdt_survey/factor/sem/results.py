"""Results of a CFA: :class:`FitMeasures` and :class:`CFAResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import CFAError
from ...results import Result, jsonable
from ...stats.threads import single_blas_thread
from .estimator import Estimator
from .estimators import ROBUST_FIT_KEYS, estimator_record
from .implied import Engine
from .modindices import modification_index_table
from .solution import parameter_table
from .spec import CFAModel, Spec
from .summary import summary_text

#: The fit measures of :meth:`FitMeasures.to_dict` (MLR adds :data:`ROBUST_FIT_KEYS`).
FIT_KEYS = (
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "srmr",
    "aic",
    "bic",
    "loglik",
)


@dataclass(frozen=True)
class FitMeasures:
    """Global fit, as lavaan's ``fitMeasures()`` names them (dots become underscores).

    ``loglik`` and ``unrestricted_loglik`` include the constant
    ``-n p log(2 pi) / 2``; ``aic = -2 loglik + 2 npar``,
    ``bic = -2 loglik + npar log(N)``, ``bic2`` uses ``(N + 2) / 24``.
    The ``*_scaled`` and ``*_robust`` values are set for ``estimator="MLR"``
    (Yuan-Bentler-Mplus scaling; robust CFI/TLI/RMSEA of Brosseau-Liard &
    Savalei as lavaan 0.6-14 computes them).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sdt_survey.factor.sem import cfa
    >>> rng = np.random.default_rng(4)
    >>> d = pd.DataFrame(rng.normal(size=(200, 1)) + rng.normal(size=(200, 4)), columns=list("abcd"))
    >>> fit = cfa(d, "F =~ a + b + c + d").fit
    >>> fit.df, fit.npar, list(fit.to_dict())[:3]
    (2, 8, ['chisq', 'df', 'pvalue'])
    """

    chisq: float
    df: int
    pvalue: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_lower: float
    rmsea_ci_upper: float
    rmsea_pvalue: float
    srmr: float
    aic: float
    bic: float
    bic2: float
    loglik: float
    unrestricted_loglik: float
    npar: int
    ntotal: int
    baseline_chisq: float
    baseline_df: int
    baseline_pvalue: float
    chisq_groups: tuple[float, ...] = ()
    srmr_groups: tuple[float, ...] = ()
    chisq_scaled: float | None = None
    pvalue_scaled: float | None = None
    scaling_factor: float | None = None
    baseline_chisq_scaled: float | None = None
    baseline_scaling_factor: float | None = None
    cfi_robust: float | None = None
    tli_robust: float | None = None
    rmsea_robust: float | None = None
    rmsea_ci_lower_robust: float | None = None
    rmsea_ci_upper_robust: float | None = None
    measures: dict[str, float] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        """Every lavaan measure as an attribute too (``fit.cfi_scaled``), from :attr:`measures`."""
        if not name.startswith("_"):
            measures = self.__dict__.get("measures") or {}
            if name in measures:
                return measures[name]
        raise AttributeError(f"{type(self).__name__!s} has no fit measure {name!r}")

    @property
    def robust(self) -> bool:
        return self.chisq_scaled is not None

    def headline(self) -> dict[str, Any]:
        """The measures a report leads with: :data:`FIT_KEYS` (+ :data:`ROBUST_FIT_KEYS` for MLR)."""
        keys = FIT_KEYS + (ROBUST_FIT_KEYS if self.robust else ())
        return jsonable({k: getattr(self, k) for k in keys})

    def to_dict(self) -> dict[str, Any]:
        """Every fit measure: the :meth:`headline` ones, then all of lavaan's :attr:`measures`.

        :attr:`measures` holds every measure lavaan 0.6-14's ``fitMeasures(fit)``
        reports for the estimator, under lavaan's names with ``.`` as ``_``
        (see "Every fit measure" in docs/factor-analysis.md); NaN (lavaan's NA) becomes null.
        """
        return {**self.headline(), **jsonable(self.measures)}

    def to_series(self) -> pd.Series:
        """Every measure, lavaan-style names with underscores."""
        values = {k: v for k, v in self.__dict__.items() if isinstance(v, (int, float)) and v is not None}
        values.update(self.measures)
        return pd.Series(values, dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """Every measure as a one-column table (``measure`` -> ``value``), lavaan's order after ours."""
        series = self.to_series()
        return series.rename("value").rename_axis("measure").to_frame()


@dataclass
class CFAResult(Result):
    """A fitted confirmatory factor model.

    Attributes
    ----------
    model : CFAModel
    estimator : {"ML", "MLR"}
    missing : {"listwise", "fiml"}
        How missing answers were handled (listwise also when there were none).
    n_used : int
        Respondents the estimates rest on (all groups).
    groups : dict
        Group label -> respondents used (one entry "all" without groups).
    fit : FitMeasures
    parameters : pandas.DataFrame
        lavaan's ``parameterEstimates()`` plus the standardized solution:
        ``lhs, op, rhs, [group], label, est, se, z, pvalue, ci_lower, ci_upper,
        std_lv, std_all, std_all_se``.
    omega : dict
        Factor -> omega (compRelSEM); group label -> that, with several groups.
    warnings : list of str
        Plain-words problems (non-convergence, Heywood cases, ...).
    notes : list of str
        What was done to the data (rows left out, ...).
    cluster : str or None
        The cluster column (``cfa(..., cluster=)``): standard errors and the
        scaled test are cluster-robust.
    n_clusters : int
        Clusters used (summed over groups; 0 without ``cluster``).
    """

    model: CFAModel
    estimator: str
    missing: str
    std_lv: bool
    n_used: int
    n_dropped: int
    groups: dict[str, int]
    group_column: str | None
    group_equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    converged: bool
    iterations: int
    fit: FitMeasures
    omega: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cluster: str | None = None
    n_clusters: int = 0
    _spec: Spec | None = field(default=None, repr=False, compare=False)
    _engine: Engine | None = field(default=None, repr=False, compare=False)
    _x: np.ndarray | None = field(default=None, repr=False, compare=False)
    _vcov: np.ndarray | None = field(default=None, repr=False, compare=False)
    _table: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def parameters(self) -> pd.DataFrame:
        """The parameter table (computed on first use: the std.all standard errors take a moment)."""
        if self._table is None:
            with single_blas_thread():
                self._table = parameter_table(
                    self._spec, self._engine, self._x, self._vcov, list(self.groups)
                )
        return self._table

    def _estimates_table(self) -> pd.DataFrame:
        """The parameter table without the standardized solution (quick)."""
        if self._table is not None:
            return self._table
        return parameter_table(
            self._spec, self._engine, self._x, self._vcov, list(self.groups), standardized=False
        )

    @property
    def fit_measures(self) -> dict[str, Any]:
        """Every measure lavaan's ``fitMeasures()`` reports for the estimator (dots as underscores)."""
        return dict(self.fit.measures)

    # -- tables --------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The parameter table (like lavaan's ``parameterEstimates()`` with ``std.all``)."""
        return self.parameters.copy()

    @property
    def record(self) -> Estimator:
        """The estimator's record as fitted (the clustered one with ``cluster``)."""
        return estimator_record(self.estimator, cluster=self.cluster is not None)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary.

        ``{"estimator", "missing", "n_used", "fit": {...}, "parameters": [{"lhs",
        "op", "rhs", "est", "se", "z", "pvalue", "std_all"}, ...], "omega": {...},
        "warnings": [...], "notes": [...]}``, with ``"cluster"`` and
        ``"n_clusters"`` after ``"n_used"`` for a clustered fit.
        With several groups each parameter also has ``"group"`` and ``omega`` is
        keyed by group label. ``fit`` holds the headline measures
        (:meth:`FitMeasures.headline`); ``fit_measures`` every measure lavaan's
        ``fitMeasures()`` reports (:attr:`fit_measures`). NaN becomes null.
        """
        keys = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]
        if self.n_groups > 1:
            keys.insert(3, "group")
        params = [{k: row[k] for k in keys} for row in self.parameters[keys].to_dict("records")]
        clusters = {"cluster": self.cluster, "n_clusters": self.n_clusters} if self.cluster else {}
        return jsonable(
            {
                "estimator": self.estimator,
                "missing": self.missing,
                "n_used": self.n_used,
                **clusters,
                "fit": self.fit.headline(),
                "fit_measures": self.fit_measures,
                "parameters": params,
                "omega": self.omega,
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def factor_correlations(self, group: str | None = None) -> pd.DataFrame:
        """Correlations among the factors (model-implied), for one group.

            Examples
            --------
            >>> import numpy as np, pandas as pd
        >>> from sdt_survey.factor.sem import cfa
            >>> rng = np.random.default_rng(2)
            >>> f = np.repeat(rng.normal(size=(300, 2)), 3, axis=1)
            >>> d = pd.DataFrame(f * 0.7 + rng.normal(size=(300, 6)) * 0.7, columns=list("abcdef"))
            >>> cfa(d, "F =~ a + b + c\\nG =~ d + e + f").factor_correlations().shape
            (2, 2)
        """
        g = self._group_index(group)
        st = self._engine.state(g, self._x)
        sd = np.sqrt(np.abs(np.diag(st.lv_cov)))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = st.lv_cov / np.outer(sd, sd)
        frame = pd.DataFrame(cor, index=self._spec.lv, columns=self._spec.lv)
        factors = self._spec.factors  # not the covariates' phantoms (as lavaan's cor.lv)
        return frame.loc[factors, factors]

    def implied_covariance(self, group: str | None = None) -> pd.DataFrame:
        """The model-implied covariance matrix of the items, for one group."""
        g = self._group_index(group)
        st = self._engine.state(g, self._x)
        return pd.DataFrame(st.sigma, index=self._spec.ov, columns=self._spec.ov)

    def _group_index(self, group: str | None) -> int:
        labels = list(self.groups)
        if group is None:
            return 0
        if str(group) not in labels:
            raise CFAError(f"no group {group!r}; the groups are {', '.join(labels)}")
        return labels.index(str(group))

    def modification_indices(self, top: int | None = 10, minimum: float = 0.0) -> pd.DataFrame:
        """lavaan's ``modindices()``: the largest score tests for parameters not in the model.

            Parameters
            ----------
            top : int or None
                How many rows (sorted by ``mi``, largest first); ``None`` for all.
            minimum : float
                Only indices above this value.

            Returns
            -------
            pandas.DataFrame
                ``lhs, op, rhs, [group], mi, epc, sepc_lv, sepc_all`` (lavaan's
                ``sepc.lv``/``sepc.all``). Cross-loadings, residual covariances and
                factor covariances not in the model are tested (expected information).

            Examples
            --------
            >>> import numpy as np, pandas as pd
        >>> from sdt_survey.factor.sem import cfa
            >>> rng = np.random.default_rng(6)
            >>> f = rng.normal(size=(400, 2))
            >>> items = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"]
            >>> d = pd.DataFrame(np.repeat(f, 4, axis=1) + rng.normal(size=(400, 8)), columns=items)
            >>> d["b1"] += 0.8 * f[:, 0]  # b1 also measures A
            >>> mi = cfa(d, "A =~ a1 + a2 + a3 + a4\\nB =~ b1 + b2 + b3 + b4").modification_indices(top=1)
            >>> mi[["lhs", "op", "rhs"]].iloc[0].tolist(), round(float(mi["epc"].iloc[0]), 2)
            (['A', '=~', 'b1'], 0.83)
        """
        with single_blas_thread():
            frame = modification_index_table(self._spec, self._engine, self._x, list(self.groups))
        if frame.empty:
            return frame
        frame = frame[frame["mi"] > minimum]
        return (frame if top is None else frame.head(top)).reset_index(drop=True)

    def plot(
        self, path: str | Path | None = None, *, group: str | None = None, overwrite: bool = False
    ) -> Any:
        """Path diagram of the standardized solution: loadings, factor correlations, residual variances.

        ``group`` chooses one group of a multi-group fit (default: the first).
        ``path`` (``.png``, ``.svg``, ``.pdf``) is written atomically; an existing file is
        replaced only with ``overwrite=True``. Without ``path``, the matplotlib figure.
        """
        from .plot import path_diagram

        table = self.parameters
        label = list(self.groups)[self._group_index(group)]
        if "group" in table.columns:
            table = table[table["group"].astype(str) == label]
        title = f"{self.model.description or 'CFA'} ({self.estimator}, n = {self.groups[label]})"
        return path_diagram(self.model, table, path, title=title, overwrite=overwrite)

    # -- text ----------------------------------------------------------------------
    def summary(self, *, standardized: bool = True, modindices: int = 0, digits: int = 3) -> str:
        """A report laid out like lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        return summary_text(self, standardized=standardized, modindices=modindices, digits=digits)

    def __str__(self) -> str:
        return self.summary()
