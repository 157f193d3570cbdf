"""Joining scores to exposure (:class:`JoinReport`) and fitting the relatedness model on the join."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._terminal import printable
from ..errors import JoinError, SdtSurveyError
from ..results import Result, jsonable

if TYPE_CHECKING:  # the fitting stack is imported where a model is fitted: joining alone stays light
    from .results import ModelResult


@dataclass
class JoinReport(Result):
    """How the scores and exposure tables were joined.

    Attributes
    ----------
    keys : list of str
        Join keys in the scores table (the id column, and the wave column when given).
    n_scores, n_exposure, n_matched : int
        Rows in each table and score rows that found an exposure row.
    scores_only : list of str
        Ids of score rows with no exposure row (left out of the model).
    exposure_only : list of str
        Ids in the exposure table with no score row (unused).
    conflicts : dict
        Columns present in both tables whose values disagree on matched rows
        (the scores table's values are used): column -> number of rows.
    warnings : tuple of str
        :meth:`messages`: unmatched rows and conflicting columns, in plain words.
    notes : tuple of str
        Empty: a join has nothing more to say.
    """

    keys: list[str]
    exposure_keys: list[str]
    n_scores: int
    n_exposure: int
    n_matched: int
    scores_only: list[str]
    exposure_only: list[str]
    conflicts: dict[str, int] = field(default_factory=dict)

    @property
    def warnings(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.messages())

    def messages(self) -> list[str]:
        """What did not join, and columns the two tables disagree on (empty when they match one to one)."""
        out = []
        if self.scores_only:
            out.append(
                f"{len(self.scores_only)} score row(s) have no exposure row and are not in the model "
                f"(ids from the scores table: {_few(self.scores_only)})"
            )
        if self.exposure_only:
            out.append(
                f"{len(self.exposure_only)} id(s) of the exposure table have no score row and are unused "
                f"(ids from the exposure table: {_few(self.exposure_only)})"
            )
        for column, count in self.conflicts.items():
            out.append(
                f"column {column!r} is in both tables and differs on {count} matched row(s); "
                "the scores table's values are used"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The counts, the unmatched ids and the warnings, through :func:`~sdt_survey.results.jsonable`."""
        return jsonable(
            {
                "keys": self.keys,
                "exposure_keys": self.exposure_keys,
                "n_scores": self.n_scores,
                "n_exposure": self.n_exposure,
                "n_matched": self.n_matched,
                "scores_only": self.scores_only,
                "exposure_only": self.exposure_only,
                "conflicts": self.conflicts,
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per unmatched id: ``table`` (``scores`` or ``exposure``) and ``id``."""
        return pd.DataFrame(
            {
                "table": ["scores"] * len(self.scores_only) + ["exposure"] * len(self.exposure_only),
                "id": [*self.scores_only, *self.exposure_only],
            }
        )

    def summary(self) -> str:
        """The join in a few lines: keys, rows matched, and what did not match."""
        lines = [
            f"Join on {', '.join(self.keys)} (exposure: {', '.join(self.exposure_keys)}): "
            f"{self.n_matched} of {self.n_scores} score rows matched one of {self.n_exposure} exposure rows"
        ]
        lines += [f"warning: {printable(w)}" for w in self.warnings]
        lines += [f"note: {printable(n)}" for n in self.notes]
        return "\n".join(lines)


def _few(ids: Sequence[str], k: int = 10) -> str:
    shown = ", ".join(map(str, ids[:k]))
    return shown + (f", ... ({len(ids) - k} more)" if len(ids) > k else "")


# =========================================================================== model_relatedness


def _id_strings(values: pd.Series) -> pd.Series:
    """Ids as strings, so 17, 17.0 and "17" join."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numeric = values.astype(float)
        integral = numeric.dropna().apply(float.is_integer).all()
        if integral:
            return numeric.map(lambda v: None if pd.isna(v) else str(int(v)))
        return numeric.map(lambda v: None if pd.isna(v) else repr(float(v)))
    return values.astype(object).map(lambda v: None if pd.isna(v) else str(v).strip())


def join_exposure(
    scores: pd.DataFrame | Any,
    exposure: pd.DataFrame,
    *,
    id_column: str | None = None,
    exposure_id_column: str | None = None,
    wave_column: str | None = None,
) -> tuple[pd.DataFrame, JoinReport]:
    """Join scores to an exposure table on a learner id, reporting every row that does not join.

    Parameters
    ----------
    scores : pandas.DataFrame or ScoredResponses
        One row per respondent (and wave).
    exposure : pandas.DataFrame or ContinuityResult
        One row per learner (or per learner and wave when ``wave_column`` is
        in both tables), e.g. continuity indices. A
        :class:`~sdt_survey.continuity.ContinuityResult` gives its ``indices``
        table, joined on its ``id_column``.
    id_column : str
        Learner id in ``scores`` (default: the ScoredResponses' id column).
    exposure_id_column : str, optional
        Learner id in ``exposure`` (default ``id_column``).
    wave_column : str, optional
        Also join on this column when the exposure table has it.

    Returns
    -------
    (pandas.DataFrame, JoinReport)
        The matched rows (scores' columns, then the exposure's other columns)
        and the report.

    Examples
    --------
    >>> s = pd.DataFrame({"id": ["a", "b", "c"], "rs": [3.0, 4.0, 2.5]})
    >>> e = pd.DataFrame({"learner": ["a", "b", "z"], "coc": [0.2, 0.5, 0.9]})
    >>> joined, report = join_exposure(s, e, id_column="id", exposure_id_column="learner")
    >>> len(joined), report.scores_only, report.exposure_only
    (2, ['c'], ['z'])
    """
    frame = getattr(scores, "scores", scores)
    if id_column is None:
        id_column = getattr(scores, "id_column", None)
    if not isinstance(exposure, pd.DataFrame) and isinstance(
        getattr(exposure, "indices", None), pd.DataFrame
    ):
        # a ContinuityResult: its indices table, keyed by its id column
        exposure_id_column = exposure_id_column or getattr(exposure, "id_column", None)
        exposure = exposure.indices
    if not isinstance(frame, pd.DataFrame):
        raise JoinError(f"scores must be a DataFrame or ScoredResponses, got {type(scores).__name__}")
    if not isinstance(exposure, pd.DataFrame):
        raise JoinError(f"exposure must be a DataFrame, got {type(exposure).__name__}")
    if id_column is None:
        raise JoinError("name the learner id column of the scores: id_column=...")
    exposure_id_column = exposure_id_column or id_column
    if id_column not in frame.columns:
        raise JoinError(
            f"the scores have no id column {id_column!r}; columns: {', '.join(map(str, frame.columns))}"
        )
    if exposure_id_column not in exposure.columns:
        raise JoinError(
            f"the exposure table has no id column {exposure_id_column!r}; columns: "
            f"{', '.join(map(str, exposure.columns))}"
        )
    keys, exposure_keys = [id_column], [exposure_id_column]
    if wave_column is not None:
        if wave_column not in frame.columns:
            raise JoinError(f"the scores have no wave column {wave_column!r}")
        if wave_column in exposure.columns:
            keys.append(wave_column)
            exposure_keys.append(wave_column)
    left = frame.reset_index(drop=True).copy()
    right = exposure.reset_index(drop=True).copy()
    left_key = pd.DataFrame({f"_k{i}": _id_strings(left[k]) for i, k in enumerate(keys)})
    right_key = pd.DataFrame({f"_k{i}": _id_strings(right[k]) for i, k in enumerate(exposure_keys)})
    missing_ids = int(left_key["_k0"].isna().sum())
    dup = right_key.duplicated(keep=False) & right_key.notna().all(axis=1)
    if dup.any():
        ids = sorted(set(right_key.loc[dup, "_k0"]))
        raise JoinError(
            f"the exposure table has {int(dup.sum())} rows with a repeated "
            f"{' and '.join(exposure_keys)} ({_few(ids)}); it must have one row per learner"
            + (" and wave" if len(keys) > 1 else "")
            + (" (pass wave_column=... to join per wave)" if len(keys) == 1 else "")
        )
    joined_keys = [f"_k{i}" for i in range(len(keys))]
    extra = [c for c in right.columns if c not in exposure_keys]
    overlap = [c for c in extra if c in left.columns]
    right_part = pd.concat([right_key, right[extra].add_prefix("_e_")], axis=1)
    merged = pd.concat([left_key, left], axis=1).merge(
        right_part, how="left", on=joined_keys, indicator=True, validate="many_to_one"
    )
    matched = (merged["_merge"] == "both").to_numpy()
    scores_only = sorted({str(v) for v in merged.loc[~matched, "_k0"].dropna()})
    right_ids = set(right_key["_k0"].dropna())
    left_ids = set(left_key["_k0"].dropna())
    if len(keys) == 1:
        exposure_only = sorted(right_ids - left_ids)
    else:
        pair_left = set(map(tuple, left_key.dropna().to_numpy()))
        exposure_only = sorted(
            {str(r[0]) for r in map(tuple, right_key.dropna().to_numpy()) if r not in pair_left}
        )
    conflicts: dict[str, int] = {}
    out = merged.loc[matched].reset_index(drop=True)
    for c in overlap:
        a, b = out[c], out[f"_e_{c}"]
        differ = ~((a == b) | (a.isna() & b.isna()))
        close = np.isclose(
            pd.to_numeric(a, errors="coerce").to_numpy(dtype=float),
            pd.to_numeric(b, errors="coerce").to_numpy(dtype=float),
        )
        differ = differ & ~close
        if differ.any():
            conflicts[c] = int(differ.sum())
    out = out.drop(columns=[*joined_keys, "_merge", *[f"_e_{c}" for c in overlap]])
    out = out.rename(columns={f"_e_{c}": c for c in extra if c not in overlap})
    if missing_ids:
        scores_only = [*scores_only, f"(missing id) x{missing_ids}"]
    report = JoinReport(
        keys=keys,
        exposure_keys=exposure_keys,
        n_scores=len(left),
        n_exposure=len(right),
        n_matched=int(matched.sum()),
        scores_only=scores_only,
        exposure_only=exposure_only,
        conflicts=conflicts,
    )
    if report.n_matched == 0:
        raise JoinError(
            f"no score row matched the exposure table on {' and '.join(keys)} / "
            f"{' and '.join(exposure_keys)} "
            f"(scores ids e.g. {_few(sorted(left_ids), 3)}; exposure ids e.g. {_few(sorted(right_ids), 3)})"
        )
    return out, report


def _with_outcome_item(scores: Any, formula: str) -> Any:
    """The scores table of an analysis data set, with the outcome added when it is an item, not a score.

    A yes/no item ("would you choose this program again?") is modelled as it
    was answered (its codes, e.g. 0/1 for a binomial GLMM); anything else is
    returned as given.
    """
    table, items = getattr(scores, "scores", None), getattr(scores, "items", None)
    if not isinstance(table, pd.DataFrame) or not isinstance(items, pd.DataFrame):
        return scores
    response = formula.split("~", 1)[0].strip()
    if response in table.columns or response not in items.columns:
        return scores
    values = pd.to_numeric(pd.Series(items[response].to_numpy()), errors="coerce").to_numpy()
    return table.assign(**{response: values})


def model_relatedness(
    scores: pd.DataFrame | Any,
    exposure: pd.DataFrame,
    formula: str = "relatedness_satisfaction ~ coc + pgy + (1|program)",
    *,
    id_column: str | None = None,
    exposure_id_column: str | None = None,
    wave_column: str | None = None,
    reml: bool = True,
    within_between: str | None = None,
    spline: str | Mapping[str, Any] | None = None,
    exposure_variables: str | Sequence[str] | None = None,
    person: str | Sequence[str] | None = None,
    on_unmatched: str = "warn",
    **fit_options: Any,
) -> ModelResult:
    """Join scores to exposure, report the join, and fit the model.

    Parameters
    ----------
    scores : ScoredResponses or pandas.DataFrame
        The output of :func:`sdt_survey.score` (or its ``scores`` table).
    exposure : pandas.DataFrame
        Continuity indices (one row per learner, or per learner and wave) or any table.
    formula : str
        lme4 formula (default ``relatedness_satisfaction ~ coc + pgy + (1|program)``).
    id_column, exposure_id_column, wave_column : str
        See :func:`join_exposure`.
    reml, within_between, spline, person
        See :func:`fit_model`. ``person`` defaults to ``id_column``.
    exposure_variables : str or list, optional
        Variables tested by the LRT; default the exposure table's columns
        that appear in the fixed part (e.g. ``coc``).
    on_unmatched : {"warn", "error"}
        Rows that do not join are always counted and named in the result's
        ``join`` report and ``warnings``; ``error`` refuses to fit.
    **fit_options
        Passed to :func:`fit_model` (``lrt``, ``null_model``, ``curve``...).

    Returns
    -------
    ModelResult
        With ``join`` set.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> ids = [f"R{i:03d}" for i in range(120)]
    >>> exposure = pd.DataFrame({"resident": ids, "coc": rng.uniform(0, 1, 120)})
    >>> scores = pd.DataFrame({"resident": ids[:118] + ["R999", "R998"],
    ...                        "program": np.repeat(list("ABCDEF"), 20)})
    >>> scores["relatedness_satisfaction"] = 3 + rng.normal(size=120)
    >>> result = model_relatedness(scores, exposure, "relatedness_satisfaction ~ coc + (1|program)",
    ...                            id_column="resident")
    >>> result.join.scores_only, len(result.join.exposure_only), result.n_obs
    (['R998', 'R999'], 2, 118)
    """
    from .fit import fit_model
    from .formula import parse_formula
    from .terms import _names_in, _term_codes

    if on_unmatched not in ("warn", "error"):
        raise SdtSurveyError("on_unmatched must be 'warn' or 'error'")
    if id_column is None:
        id_column = getattr(scores, "id_column", None)
    scores = _with_outcome_item(scores, formula)
    joined, report = join_exposure(
        scores, exposure, id_column=id_column, exposure_id_column=exposure_id_column, wave_column=wave_column
    )
    messages = report.messages()
    if on_unmatched == "error" and (report.scores_only or report.exposure_only):
        raise JoinError("the scores and exposure tables do not match one to one:\n" + "\n".join(messages))
    if exposure_variables is None and within_between is None and spline is None:
        # (the response may be a GLMM's cbind(successes, failures): only the right-hand side matters here)
        parsed = parse_formula("response ~ " + formula.split("~", 1)[-1])
        _, terms = _term_codes(parsed.fixed, formula)
        used = [n for t in terms for c in t for n in sorted(_names_in(c))]
        table = exposure if isinstance(exposure, pd.DataFrame) else getattr(exposure, "indices", exposure)
        cols = [c for c in getattr(table, "columns", []) if c != (exposure_id_column or id_column)]
        exposure_variables = list(dict.fromkeys(n for n in used if n in cols)) or None
    if person is None and within_between is not None:
        person = id_column
    result = fit_model(
        formula,
        joined,
        reml=reml,
        within_between=within_between,
        spline=spline,
        exposure=exposure_variables,
        person=person,
        **fit_options,
    )
    result.join = report
    result.warnings = messages + result.warnings
    return result
