"""Longitudinal measurement invariance: the same respondents across waves.

:func:`longitudinal_invariance` takes long-format responses (one row per
respondent and wave), reshapes them to one row per respondent, and fits the
*wide* model that ``semTools::measEq.syntax(longFacNames = ...)`` writes:

* one factor per wave (``relatedness_w1``, ``relatedness_w2``, ...) measured
  by that wave's answers (``rs1_w1``, ``rs2_w1``, ...);
* the residuals of the same item correlated across every pair of waves
  (measEq.syntax's ``auto = "all"``); factor covariances free;
* factors identified as measEq.syntax's default ``ID.fac = "std.lv"``: every
  loading free, factor variances 1 and means 0; once loadings are equal
  across waves the variances of waves 2.. are free, and once intercepts are
  equal the means of waves 2.. are free (wave 1 is the reference).

The steps add equality constraints across waves (measEq.syntax's
``long.equal``), by shared labels in one group:

==============  ==============================================================
``configural``  the same factors and items at every wave; nothing equal
``metric``      + equal loadings: the factors mean the same at every wave
``scalar``      + equal intercepts: factor means can be compared across waves
``strict``      + equal residual variances
==============  ==============================================================

``free=`` releases parameters in every step (``long.partial``), written with
the long-format names: ``"rs2~1"`` (rs2's intercept differs between waves),
``"rs2=~"`` or ``"relatedness=~rs2"`` (its loading), ``"rs2~~rs2"``.

Steps are compared as :func:`~sdt_survey.factor.sem.measurement_invariance`
compares groups (the same comparison and decision rules: chi-square
difference, scaled for MLR as ``lavTestLRT``; delta CFI, RMSEA and SRMR each
passed or failed; supported, borderline or not supported).

Respondents who answered only some waves are kept with FIML
(``missing="fiml"``, or ``"auto"`` when anything is missing) or dropped
(``missing="listwise"``); the notes say how many.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> n = 300
>>> f = rng.multivariate_normal([0, 0.3], [[1, 0.6], [0.6, 1]], size=n)
>>> waves = []
>>> for k in range(2):
...     x = 3 + f[:, [k]] * 0.8 + rng.normal(size=(n, 4)) * 0.6
...     w = pd.DataFrame(x, columns=["rs1", "rs2", "rs3", "rs4"])
...     waves.append(w.assign(resident=np.arange(n), wave=k + 1))
>>> long = pd.concat(waves, ignore_index=True)
>>> res = longitudinal_invariance(long, "relatedness =~ rs1 + rs2 + rs3 + rs4", id="resident", wave="wave")
>>> res.highest, res.fit_table()["df"].tolist()
('strict', [15, 18, 21, 25])
>>> res.latent_means[["factor", "wave", "difference"]].round(1).values.tolist()
[['relatedness', 2, 0.4]]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import CFAError
from ...results import jsonable
from ...stats.order import natural_sorted
from ...stats.threads import single_blas_thread
from .estimators import ESTIMATORS, estimator_record
from .fitting import fit_prepared
from .invariance import CRITERIA, STEPS, InvarianceResult, _compare, _conclusion, step_warnings
from .ordinal_invariance import ORDINAL_STEPS, OrdinalInvarianceResult, _ordinal_conclusion
from .ordinal_invariance import _compare as _ordinal_compare
from .ordinal_partable import wu_estabrook_long_table
from .samplestats import prepare_data
from .spec import CFAModel, _parse_partial, as_model
from .syntax import Statement
from .wlsmv import grouped_result
from .wlsmv_groups import fit_ordinal_groups, merge_empty_categories, prepare_ordinal_groups

__all__ = [
    "LongitudinalInvarianceResult",
    "LongitudinalOrdinalResult",
    "longitudinal_invariance",
    "wide_model",
    "wide_responses",
]

#: How a wave's copy of an item or factor is named: ``rs1`` at the second wave is ``rs1_w2``.
SUFFIX = "_w{}"


def _suffix(k: int) -> str:
    return SUFFIX.format(k + 1)


# ------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class WideResponses:
    """Long-format answers reshaped to one row per respondent."""

    frame: pd.DataFrame  # one row per id; columns item_w1, item_w2, ...
    waves: list[Any]  # wave values in order (wave k has suffix _w{k+1})
    answered: dict[Any, int]  # wave -> respondents with at least one answer at that wave
    n_all: int  # respondents with answers at every wave
    notes: list[str]


def wide_responses(
    data: pd.DataFrame,
    items: Sequence[str],
    id: str,
    wave: str,
    wave_order: str | Sequence[Any] = "sorted",
) -> WideResponses:
    """One row per respondent with each item once per wave (``rs1_w1``, ``rs1_w2``, ...).

    A respondent missing a wave has NaN in that wave's columns; rows without
    an id or a wave value are left out (the notes say how many).

    Raises
    ------
    CFAError
        Missing columns, an id answering twice in one wave (named, with the
        wave), fewer than two waves.

    Examples
    --------
    >>> long = pd.DataFrame({"id": [1, 1, 2], "wave": [1, 2, 1], "q": [3.0, 4.0, 5.0]})
    >>> wide = wide_responses(long, ["q"], "id", "wave")
    >>> list(wide.frame.columns), wide.frame.loc[2].tolist(), wide.n_all
    (['q_w1', 'q_w2'], [5.0, nan], 1)
    """
    if not isinstance(data, pd.DataFrame):
        raise CFAError(f"data must be a pandas DataFrame in long format, not {type(data).__name__}")
    for role, column in (("id", id), ("wave", wave)):
        if column not in data.columns:
            raise CFAError(
                f"the data have no {role} column {column!r}; "
                f"columns: {', '.join(map(str, data.columns[:15]))}"
            )
    absent = [v for v in items if v not in data.columns]
    if absent:
        raise CFAError(f"the data have no column for model item(s): {', '.join(absent)}")
    notes: list[str] = []
    usable = data[id].notna() & data[wave].notna()
    if not usable.all():
        notes.append(f"{int((~usable).sum())} row(s) without a value of {id!r} or {wave!r} left out")
    frame = data.loc[usable, [id, wave, *items]]
    twice = frame.duplicated([id, wave], keep=False)
    if twice.any():
        pairs = frame.loc[twice, [id, wave]].drop_duplicates()
        shown = "; ".join(f"{id} {i!r} in {wave} {w!r}" for i, w in pairs.head(5).itertuples(index=False))
        more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
        raise CFAError(
            f"{len(pairs)} respondent(s) answered more than once in one wave: {shown}{more}; "
            "keep one row per respondent and wave"
        )
    present = pd.unique(frame[wave]).tolist()
    if isinstance(wave_order, str):
        if wave_order != "sorted":
            raise CFAError(f"wave_order must be 'sorted' or a list of waves, not {wave_order!r}")
        waves = natural_sorted(present)
    else:
        waves = [w for w in wave_order if w in set(present)]
        left_out = [w for w in present if w not in set(waves)]
        if left_out:
            raise CFAError(
                f"wave_order does not list the wave(s) {', '.join(map(str, left_out))} of {wave!r}"
            )
    if len(waves) < 2:
        raise CFAError(
            f"column {wave!r} has {len(waves)} wave(s); longitudinal invariance needs two or more "
            "(for groups answering once each, use measurement_invariance)"
        )
    values = frame[list(items)].apply(pd.to_numeric, errors="coerce")
    bad = [v for v in items if (values[v].isna() & frame[v].notna()).any()]
    if bad:
        raise CFAError(f"non-numeric answers in column(s) {', '.join(bad)}; recode them as numbers first")
    values.index = pd.MultiIndex.from_arrays([frame[id], frame[wave]], names=[id, wave])
    wide = values.unstack(wave)  # columns (item, wave)
    position = {w: k for k, w in enumerate(waves)}
    wide = wide.reindex(columns=pd.MultiIndex.from_product([list(items), waves]))
    wide.columns = [f"{item}{_suffix(position[w])}" for item, w in wide.columns]
    answered_cells = values.notna().any(axis=1).groupby(level=[0, 1]).any().unstack(wave, fill_value=False)
    answered_cells = answered_cells.reindex(index=wide.index, columns=waves, fill_value=False)
    answered = {w: int(answered_cells[w].sum()) for w in waves}
    n_all = int(answered_cells.all(axis=1).sum())
    return WideResponses(wide, waves, answered, n_all, notes)


# ----------------------------------------------------------------------------- the model


def _check_long_model(model: CFAModel) -> None:
    """The long-format model may hold loadings and residual covariances of items, nothing else."""
    if model.higher_order_factors:
        raise CFAError(
            "longitudinal invariance takes first-order factors only; "
            f"{', '.join(model.higher_order_factors)} is measured by factors"
        )
    factors = set(model.factors)
    for s in model.statements:
        modified = s.fixed is not None or s.label is not None or s.free or s.start is not None
        allowed = s.op == "=~" or (s.op == "~~" and s.lhs not in factors and s.rhs not in factors)
        if modified or not allowed:
            written = f"{s.lhs} ~ 1" if s.op == "~1" else f"{s.lhs} {s.op} {s.rhs}"
            raise CFAError(
                f"'{written}': the model of one wave may only list factors and their items (=~) and residual "
                "covariances of items (~~), without fixed values or labels; the waves' constraints are "
                "written by longitudinal_invariance"
            )


def wide_model(
    model: Any,
    n_waves: int,
    equal: Sequence[str] = (),
    free: Sequence[str] = (),
) -> CFAModel:
    """The model of all waves, as ``semTools::measEq.syntax(longFacNames = ...)`` writes it.

    Parameters
    ----------
    model : str, Instrument or CFAModel
        The model of one wave, in the long-format names (``rs =~ rs1 + rs2 + rs3``).
    n_waves : int
    equal : sequence of str
        measEq.syntax's ``long.equal``: any of ``"loadings"``, ``"intercepts"``, ``"residuals"``.
    free : sequence of str
        measEq.syntax's ``long.partial``, in the long-format names (``"rs2~1"``, ``"rs=~rs2"``).

    Examples
    --------
    >>> m = wide_model("f =~ a + b + c", 2, equal=("loadings",))
    >>> print(m.to_lavaan())  # doctest: +NORMALIZE_WHITESPACE
    f_w1 =~ NA*a_w1 + lambda.f.a*a_w1 + NA*b_w1 + lambda.f.b*b_w1 + NA*c_w1 + lambda.f.c*c_w1
    f_w2 =~ NA*a_w2 + lambda.f.a*a_w2 + NA*b_w2 + lambda.f.b*b_w2 + NA*c_w2 + lambda.f.c*c_w2
    a_w1 ~ NA*1
    b_w1 ~ NA*1
    c_w1 ~ NA*1
    a_w2 ~ NA*1
    b_w2 ~ NA*1
    c_w2 ~ NA*1
    a_w1 ~~ NA*a_w1 + NA*a_w2
    b_w1 ~~ NA*b_w1 + NA*b_w2
    c_w1 ~~ NA*c_w1 + NA*c_w2
    a_w2 ~~ NA*a_w2
    b_w2 ~~ NA*b_w2
    c_w2 ~~ NA*c_w2
    f_w1 ~ 0*1
    f_w2 ~ 0*1
    f_w1 ~~ 1*f_w1 + NA*f_w2
    f_w2 ~~ NA*f_w2
    """
    model = as_model(model)
    _check_long_model(model)
    unknown = [e for e in equal if e not in ("loadings", "intercepts", "residuals")]
    if unknown:
        raise CFAError(f"unknown long.equal keyword(s) {unknown}; use loadings, intercepts, residuals")
    factors = list(model.factors)
    items = list(model.indicators)
    released = [_parse_partial(p, items, factors) for p in free]

    def is_equal(kind: str, lhs: str, op: str, rhs: str) -> bool:
        return kind in equal and not any(rel(lhs, op, rhs) for rel in released)

    loadings = [(s.lhs, s.rhs) for s in model.statements if s.op == "=~"]
    covariances = [(s.lhs, s.rhs) for s in model.statements if s.op == "~~"]
    waves = [_suffix(k) for k in range(n_waves)]
    out: list[Statement] = []

    def add(lhs: str, op: str, rhs: str, *, fixed: float | None = None, label: str | None = None) -> None:
        out.append(
            Statement(
                lhs,
                op,
                rhs,
                fixed=None if fixed is None else (fixed,),
                free=fixed is None,
                label=None if label is None else (label,),
            )
        )

    for w in waves:
        for f, i in loadings:
            add(f + w, "=~", i + w, label=f"lambda.{f}.{i}" if is_equal("loadings", f, "=~", i) else None)
    for w in waves:
        for i in items:
            add(i + w, "~1", "", label=f"nu.{i}" if is_equal("intercepts", i, "~1", "") else None)
    for w in waves:
        for i in items:
            add(i + w, "~~", i + w, label=f"theta.{i}" if is_equal("residuals", i, "~~", i) else None)
    for a, b in covariances:  # the residual covariances the user wrote, within each wave
        for w in waves:
            add(a + w, "~~", b + w)
    for i in items:  # the same item across every pair of waves (measEq.syntax's auto = "all")
        for w1, w2 in itertools.combinations(waves, 2):
            add(i + w1, "~~", i + w2)
    # std.lv: variances of waves 2.. free once a loading is equal; means once an intercept is.
    any_loading = {f: any(is_equal("loadings", f, "=~", i) for g, i in loadings if g == f) for f in factors}
    any_intercept = {
        f: any(is_equal("intercepts", i, "~1", "") for g, i in loadings if g == f) for f in factors
    }
    for k, w in enumerate(waves):
        for f in factors:
            add(f + w, "~1", "", fixed=None if k and any_intercept[f] else 0.0)
    lvs = [f + w for w in waves for f in factors]
    for k, w in enumerate(waves):
        for f in factors:
            add(f + w, "~~", f + w, fixed=None if k and any_loading[f] else 1.0)
    for a, b in itertools.combinations(lvs, 2):
        add(a, "~~", b)
    return CFAModel(tuple(out), description=f"{n_waves} waves of: {model.description or 'the model'}")


# ---------------------------------------------------------------------------- the result


@dataclass
class LongitudinalInvarianceResult(InvarianceResult):
    """The fitted steps across waves, their comparisons and what they allow.

    As :class:`~sdt_survey.factor.sem.InvarianceResult`, with ``group`` the
    wave column and ``groups`` the respondents answering each wave (the first
    wave is the reference), plus:

    Attributes
    ----------
    id : str
        The respondent id column.
    waves : dict
        Wave value -> the suffix of its columns and factors (``"_w1"``).
    n_ids : int
        Respondents in the wide data (before any listwise deletion).
    n_all_waves : int
        Respondents who answered every wave.
    models : dict of str -> CFAModel
        The wide model of each step; :meth:`syntax` prints it as lavaan syntax.
    """

    id: str = ""
    waves: dict[Any, str] = field(default_factory=dict)
    n_ids: int = 0
    n_all_waves: int = 0
    models: dict[str, CFAModel] = field(default_factory=dict)

    def syntax(self, step: str = "configural") -> str:
        """lavaan syntax of a step's wide model (``cfa(syntax, data = wide)`` in R fits it)."""
        if step not in self.models:
            raise CFAError(f"no step {step!r}; fitted: {', '.join(self.models)}")
        return self.models[step].to_lavaan()

    def _heading(self) -> list[str]:
        waves = ", ".join(f"{w} ({s}, n = {self.groups.get(w, 0)})" for w, s in self.waves.items())
        return [
            f"Longitudinal measurement invariance across {self.group!r}: {waves}; "
            f"{self.n_ids} respondents ({self.id!r}), {self.n_all_waves} at every wave; reference wave "
            f"{self.reference}",
        ]

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`InvarianceResult.to_dict`, plus ``id``, ``waves``, ``n_ids``, ``latent_means``.

        ``syntax`` holds each step's wide model in lavaan syntax.
        """
        out = super().to_dict() | _wave_fields(self)
        out["syntax"] = {step: self.syntax(step) for step in self.models}
        return jsonable(out)


@dataclass
class LongitudinalOrdinalResult(OrdinalInvarianceResult):
    """The ordinal (WLSMV) chain across waves: configural, thresholds, metric, scalar, strict.

    As :class:`~sdt_survey.factor.sem.ordinal_invariance.OrdinalInvarianceResult`
    (steps of :class:`~sdt_survey.factor.sem.wlsmv.OrdinalCFAResult` on the
    wide model, scaled-shifted difference tests), with ``group`` the wave
    column and ``groups`` the respondents answering each wave, plus the
    attributes ``id``, ``waves``, ``n_ids`` and ``n_all_waves`` of
    :class:`LongitudinalInvarianceResult`. ``n_all_waves`` respondents (the
    complete cases) are fitted.
    """

    id: str = ""
    waves: dict[Any, str] = field(default_factory=dict)
    n_ids: int = 0
    n_all_waves: int = 0

    _heading = LongitudinalInvarianceResult._heading

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`OrdinalInvarianceResult.to_dict`, plus ``id``, ``waves``, ``n_ids``, ``latent_means``."""
        return jsonable(super().to_dict() | _wave_fields(self))


def _wave_fields(result: Any) -> dict[str, Any]:
    """What a chain across waves adds to its dictionary: the ids, the waves and the latent means."""
    means = None if result.latent_means is None else result.latent_means.to_dict("records")
    return {
        "id": result.id,
        "waves": {str(w): s for w, s in result.waves.items()},
        "n_ids": result.n_ids,
        "n_all_waves": result.n_all_waves,
        "latent_means": means,
    }


def _ordinal_wide_model(model: CFAModel, n_waves: int) -> CFAModel:
    """The configural wide model of ordinal items: loadings and residual covariances, nothing fixed.

    The rows the continuous :func:`wide_model` writes, less what the ordinal
    identification sets (intercepts, variances, means: :func:`wu_estabrook_long_table`).
    """
    wide = wide_model(model, n_waves)
    items = set(wide.indicators)
    kept = tuple(
        Statement(s.lhs, s.op, s.rhs)
        for s in wide.statements
        if s.op == "=~" or (s.op == "~~" and s.lhs != s.rhs and s.lhs in items and s.rhs in items)
    )
    return CFAModel(kept, description=wide.description)


def _merge_across_waves(frame: pd.DataFrame, items: Sequence[str], n_waves: int):
    """Merge each item's categories not used at every wave (by the complete cases) into the next lower one.

    :func:`~sdt_survey.factor.sem.wlsmv_groups.merge_empty_categories` with the waves as the groups,
    applied to the respondents complete at every wave (those the fit uses).
    """
    columns = [[f"{v}{_suffix(k)}" for v in items] for k in range(n_waves)]
    complete = frame.dropna(subset=[c for wave in columns for c in wave])
    stacked = pd.concat(
        [complete[wave].set_axis(list(items), axis=1).assign(__wave__=k) for k, wave in enumerate(columns)],
        ignore_index=True,
    )
    recoded, notes = merge_empty_categories(stacked, items, "__wave__")
    out = complete.copy()
    for k, wave in enumerate(columns):
        out[wave] = recoded.loc[recoded["__wave__"] == k, list(items)].to_numpy()
    notes = [n.replace("not used in every group", "not used at every wave") for n in notes]
    return out, notes


def _ordinal_chain(
    wide: WideResponses,
    long_model: CFAModel,
    id: str,
    wave: str,
    ordered: Sequence[str],
    free: tuple[str, ...],
    criterion: str,
    merge_empty: bool,
) -> LongitudinalOrdinalResult:
    """Longitudinal invariance of ordinal items by WLSMV (theta), respondents complete at every wave."""
    n_waves = len(wide.waves)
    model = _ordinal_wide_model(long_model, n_waves)
    names = {
        f"{v}{_suffix(k)}": (v, k)
        for v in (*long_model.indicators, *long_model.factors)
        for k in range(n_waves)
    }
    frame, merged = wide.frame, []
    if merge_empty:
        frame, merged = _merge_across_waves(frame, long_model.indicators, n_waves)
    with single_blas_thread():
        prepared = prepare_ordinal_groups(frame, model.indicators, None)
        levels = prepared.stats[0].levels
        for item in long_model.indicators:
            used = [tuple(levels[model.indicators.index(f"{item}{_suffix(k)}")]) for k in range(n_waves)]
            if len(set(used)) > 1:
                seen = "; ".join(
                    f"{w}: {', '.join(f'{v:g}' for v in u)}" for w, u in zip(wide.waves, used, strict=True)
                )
                raise CFAError(
                    f"item {item!r} does not use the same categories at every wave ({seen}) among the "
                    "respondents complete at every wave; its thresholds cannot be held equal. Merge rare "
                    "categories (e.g. 1 and 2) before the analysis, or pass merge_empty=True"
                )
        fits = {
            step: fit_ordinal_groups(
                wu_estabrook_long_table(model, prepared.n_th, "theta", names, ORDINAL_STEPS[step], free),
                prepared,
            )
            for step in ordered
        }
        comparisons = [
            _ordinal_compare(a, fits[a], b, fits[b], criterion) for a, b in itertools.pairwise(ordered)
        ]
    results = {step: grouped_result(model, prepared, fit) for step, fit in fits.items()}
    factors = list(long_model.factors)
    conclusion, highest = _ordinal_conclusion(wave, factors, results, comparisons, free, across="waves")
    latent = None
    if "scalar" in results:
        latent = _latent_means(
            results["scalar"].parameters, factors, wide.waves, highest in ("scalar", "strict")
        )
    n_ids = len(wide.frame)
    notes = list(wide.notes)
    n_used = int(prepared.stats[0].n)
    notes.append(
        f"{n_ids} respondents ({id!r}) across {n_waves} waves: {n_used} with complete answers at every wave "
        f"are fitted (lavaan's listwise default for WLSMV); {n_ids - n_used} dropped "
        f"({n_ids - wide.n_all} missed a wave, {wide.n_all - n_used} skipped an item)"
    )
    notes += merged
    if min(prepared.n_th) == 2 and "thresholds" in results:
        notes.append(
            "items with three categories: the thresholds step is equivalent to the configural model "
            "(Wu & Estabrook, 2016), so equal thresholds are assumed, not tested"
        )
    notes.append(
        "the wide model of each step is semTools::measEq.syntax's (ordered, parameterization = 'theta', "
        "ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', auto = 'all': the latent responses of the same "
        "item correlated across waves)"
    )
    return LongitudinalOrdinalResult(
        group=wave,
        groups=dict(wide.answered),
        estimator="WLSMV",
        steps=results,
        comparisons=comparisons,
        latent_means=latent,
        conclusion=conclusion,
        criterion=criterion,
        free=free,
        highest=highest,
        warnings=step_warnings(results),
        notes=notes,
        parameterization="theta",
        id=id,
        waves={w: _suffix(k) for k, w in enumerate(wide.waves)},
        n_ids=n_ids,
        n_all_waves=wide.n_all,
    )


def _latent_means(table: pd.DataFrame, factors: Sequence[str], waves: Sequence[Any], comparable: bool):
    """Each factor's mean at waves 2.. minus wave 1, in the scalar model's estimates (wave 1: mean 0)."""
    est = {(r.lhs, r.op, r.rhs): r for r in table.itertuples(index=False)}
    rows = []
    for f in factors:
        variance = est[(f + _suffix(0), "~~", f + _suffix(0))].est
        for k, w in enumerate(waves[1:], start=1):
            r = est[(f + _suffix(k), "~1", "")]
            if not (math.isfinite(r.se) and r.se > 0) and r.est == 0:
                continue  # fixed: no intercept of this factor is equal across waves
            rows.append(
                {
                    "factor": f,
                    "wave": w,
                    "reference": waves[0],
                    "difference": r.est,
                    "se": r.se,
                    "z": r.z,
                    "pvalue": r.pvalue,
                    "std_difference": r.est / math.sqrt(variance) if variance > 0 else math.nan,
                }
            )
    out = pd.DataFrame(
        rows, columns=["factor", "wave", "reference", "difference", "se", "z", "pvalue", "std_difference"]
    )
    out["comparable"] = comparable
    return out


def longitudinal_invariance(
    data: pd.DataFrame,
    model: Any,
    *,
    id: str,
    wave: str,
    estimator: str = "ML",
    missing: str = "auto",
    free: Sequence[str] = (),
    steps: Sequence[str] = tuple(STEPS),
    criterion: str = "chen2007",
    wave_order: str | Sequence[Any] = "sorted",
    merge_empty: bool = False,
) -> LongitudinalInvarianceResult:
    """Test configural, metric, scalar and strict invariance of a factor model across waves.

    The same respondents answer at each wave, so the waves are not
    independent groups: the model of all waves is fitted at once (one factor
    per wave, the same item's residuals correlated across waves), as
    ``semTools::measEq.syntax(longFacNames = ..., long.equal = ...)`` writes
    it and lavaan fits it.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per respondent and wave, with the items
        (reverse-keyed), the id column and the wave column.
    model : str, Instrument or CFAModel
        The model of one wave in the items' names (``rs =~ rs1 + rs2 + rs3 +
        rs4``); loadings and residual covariances of items only.
    id : str
        The respondent id column: an id appears at most once per wave.
    wave : str
        The wave column; waves in natural order (``wave_order``), the first
        is the reference for latent means.
    estimator : {"ML", "MLR", "WLSMV"}
        With MLR, chi-square differences are Satorra-Bentler (2001) scaled
        and the CFI/RMSEA changes use the robust indices. With WLSMV the
        items are ordinal: the chain of Wu & Estabrook (2016) across waves
        (configural, thresholds, metric, scalar, strict; theta
        parameterization), as ``measEq.syntax(ordered = ..., ID.cat =
        "Wu.Estabrook.2016", longFacNames = ...)`` writes it, with
        scaled-shifted difference tests (lavaan's ``lavTestLRT``); see
        :class:`LongitudinalOrdinalResult`.
    missing : {"auto", "listwise", "fiml"}
        Respondents who skipped a wave (or an item): ``"fiml"`` keeps them
        (lavaan's ``missing = "ml"``), ``"listwise"`` drops them, ``"auto"``
        is FIML when anything is missing (listwise for WLSMV, lavaan's default).
    free : sequence of str
        Parameters released from the equality across waves in every step
        (``long.partial``): ``"rs2~1"``, ``"rs2=~"``, ``"rs~~rs2"``...
    steps : sequence of str
        Which of ``configural``, ``metric``, ``scalar``, ``strict`` to fit
        (for WLSMV also ``thresholds``, fitted by default).
    criterion : {"chen2007", "cheung-rensvold"}
    wave_order : "sorted" or sequence
        ``"sorted"`` (natural order: wave 2 before wave 10) or the waves in the order wanted.
    merge_empty : bool
        WLSMV only: merge an item's categories not used at every wave (among
        the respondents fitted) into the next lower one first, with a note; by
        default such items are refused, as their thresholds cannot be held equal.

    Returns
    -------
    LongitudinalInvarianceResult or LongitudinalOrdinalResult

    Raises
    ------
    CFAError
        Data problems (named: a respondent twice in a wave, a missing column,
        one wave only), unknown steps, criteria or estimators, model problems.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(8)
    >>> f = rng.multivariate_normal([0, 0.2], [[1, 0.6], [0.6, 1]], size=400)
    >>> rows = []
    >>> for k in (1, 2):
    ...     x = 3 + f[:, [k - 1]] * 0.8 + rng.normal(size=(400, 4)) * 0.6
    ...     if k == 2:
    ...         x[:, 1] += 0.6  # q2 reads higher at wave 2 at the same level of the factor
    ...     rows.append(pd.DataFrame(x, columns=["q1", "q2", "q3", "q4"]).assign(id=range(400), wave=k))
    >>> long = pd.concat(rows).sample(frac=0.95, random_state=1)  # some miss a wave
    >>> model = "F =~ q1 + q2 + q3 + q4"
    >>> res = longitudinal_invariance(long, model, id="id", wave="wave")
    >>> res.highest, [c.status for c in res.comparisons][:2]
    ('metric', ['supported', 'not supported'])
    >>> longitudinal_invariance(long, model, id="id", wave="wave", free=["q2~1"]).highest
    'strict'
    """
    record = ESTIMATORS.get(str(estimator).upper())
    ordinal = record is not None and record.data != "continuous"
    estimator = record.name if ordinal else estimator_record(estimator).name
    if criterion not in CRITERIA:
        raise CFAError(f"criterion must be one of {', '.join(CRITERIA)}, not {criterion!r}")
    chain = ORDINAL_STEPS if ordinal else STEPS
    if isinstance(steps, str):
        steps = (steps,)
    elif ordinal and tuple(steps) == tuple(STEPS):
        steps = tuple(ORDINAL_STEPS)  # the default: the whole ordinal chain, thresholds included
    unknown = [s for s in steps if s not in chain]
    if unknown:
        raise CFAError(f"unknown invariance step(s) {unknown}; the {estimator} steps are {', '.join(chain)}")
    if not steps:
        raise CFAError("no steps to fit")
    if isinstance(free, str):
        free = (free,)
    ordered = [s for s in chain if s in steps]
    long_model = as_model(model)
    _check_long_model(long_model)
    wide = wide_responses(data, long_model.indicators, id, wave, wave_order)
    if ordinal:
        if missing not in ("auto", "listwise"):
            raise CFAError(
                f"{estimator} uses the respondents with complete answers at every wave (lavaan's listwise "
                f"default), not missing={missing!r}; use missing='listwise' (or ML/MLR with FIML)"
            )
        return _ordinal_chain(wide, long_model, id, wave, ordered, tuple(free), criterion, merge_empty)
    n_waves = len(wide.waves)
    models = {s: wide_model(long_model, n_waves, STEPS[s], tuple(free)) for s in ordered}
    with single_blas_thread():
        prep = prepare_data(wide.frame, models[ordered[0]].indicators, None, missing)
        results = {s: fit_prepared(models[s], prep, estimator=estimator) for s in ordered}
    comparisons = [_compare(a, results[a], b, results[b], criterion) for a, b in itertools.pairwise(ordered)]
    factors = list(long_model.factors)
    conclusion, highest = _conclusion(
        wave, factors, results, comparisons, tuple(free), estimator, across="waves"
    )
    latent = None
    if "scalar" in results:
        latent = _latent_means(
            results["scalar"]._estimates_table(), factors, wide.waves, highest in ("scalar", "strict")
        )
    n_ids = len(wide.frame)
    some = n_ids - wide.n_all
    notes = list(wide.notes)
    notes.append(
        f"{n_ids} respondents ({id!r}) across {n_waves} waves: {wide.n_all} answered every wave, "
        f"{some} only some"
        + (
            ""
            if not some
            else (
                " (kept: FIML uses what they answered)"
                if prep.missing == "fiml"
                else " (dropped: listwise deletion)"
            )
        )
    )
    notes.extend(prep.notes)
    notes.append(
        "the wide model of each step is semTools::measEq.syntax's (ID.fac = 'std.lv', auto = 'all'): "
        "result.syntax('metric') prints it"
    )
    return LongitudinalInvarianceResult(
        group=wave,
        groups=dict(wide.answered),
        estimator=estimator,
        steps=results,
        comparisons=comparisons,
        latent_means=latent,
        conclusion=conclusion,
        criterion=criterion,
        free=tuple(free),
        highest=highest,
        warnings=step_warnings(results),
        notes=notes,
        id=id,
        waves={w: _suffix(k) for k, w in enumerate(wide.waves)},
        n_ids=n_ids,
        n_all_waves=wide.n_all,
        models=models,
    )
