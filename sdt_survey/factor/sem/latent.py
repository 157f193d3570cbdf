"""The latent continuity model: a factor of its items regressed on continuity and covariates.

The observed-score model (:func:`sdt_survey.mixed.model_relatedness`)
regresses a subscale *score* on continuity; the score carries measurement
error, which pulls the slope toward zero. Here the subscale is a latent
factor of its (reverse-keyed) items, regressed on the same predictors, with
standard errors made robust to residents sharing a program (lavaan's
``sem(..., cluster = "program", estimator = "MLR")``): the
measurement-error-free version a reviewer asks for.

:func:`latent_model` fits any such model written in lavaan syntax to a data
frame; :func:`latent_continuity_model` builds it from the same lme4-style
formula the observed-score model takes (``relatedness_satisfaction ~ coc +
pgy + (1|program)``: the outcome subscale's items make the factor, the fixed
terms are the predictors, the random intercept's grouping factor is the
cluster) and joins the exposure table exactly as the observed-score model does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...errors import CFAError
from ...mixed.formula import parse_formula
from ...mixed.join import JoinReport, join_exposure
from ...results import Result, jsonable
from ...scoring import ScoredResponses
from .fitting import cfa
from .pipeline import keyed_data
from .results import CFAResult
from .spec import CFAModel, as_model

#: The model a reviewer asks for first: relatedness on continuity, residents clustered in programs.
DEFAULT_LATENT_FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")

EFFECT_COLUMNS = ["predictor", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all"]


@dataclass
class LatentModelResult(Result):
    """A latent regression: the outcome factor on its predictors, with the measurement model.

    Attributes
    ----------
    outcome : str
        The latent factor regressed (e.g. ``relatedness_satisfaction``).
    items : tuple of str
        Its indicators.
    predictors : tuple of str
        Observed columns it is regressed on (exogenous, ``fixed.x`` as lavaan).
    cluster : str or None
        Column whose groups share a program: standard errors and the test
        statistic are cluster-robust (lavaan's ``robust.cluster``).
    n_clusters : int or None
    sem : CFAResult
        The whole fit (parameter table, fit measures, summary).
    formula : str or None
        The lme4-style formula the model was built from, when it was.
    join : JoinReport or None
        How the scores were joined to the exposure table, when they were.
    warnings, notes : list of str
    """

    outcome: str
    items: tuple[str, ...]
    predictors: tuple[str, ...]
    cluster: str | None
    n_clusters: int | None
    sem: CFAResult
    formula: str | None = None
    join: JoinReport | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_used(self) -> int:
        return int(self.sem.n_used)

    @property
    def syntax(self) -> str:
        """The model in lavaan syntax (as fitted)."""
        return self.sem.model.to_lavaan()

    @property
    def effects(self) -> pd.DataFrame:
        """One row per predictor: the unstandardized slope with its robust test, and ``std_all``.

        ``std_all`` is lavaan's fully standardized slope: the change in the
        factor, in its standard deviations, per standard deviation of the predictor.
        """
        table = self.sem.parameters
        rows = table[(table["op"] == "~") & (table["lhs"] == self.outcome)]
        frame = rows.rename(columns={"rhs": "predictor"})[EFFECT_COLUMNS]
        return frame.reset_index(drop=True)

    @property
    def loadings(self) -> pd.DataFrame:
        """The measurement part: each item's loading on the outcome factor (with ``std_all``)."""
        table = self.sem.parameters
        rows = table[(table["op"] == "=~") & (table["lhs"] == self.outcome)]
        return rows.rename(columns={"rhs": "item"})[["item", "est", "se", "std_all"]].reset_index(drop=True)

    @property
    def r_squared(self) -> float:
        """Share of the factor's variance the predictors explain (1 - its standardized residual variance)."""
        table = self.sem.parameters
        row = table[(table["op"] == "~~") & (table["lhs"] == self.outcome) & (table["rhs"] == self.outcome)]
        return float(1.0 - row["std_all"].iloc[0]) if len(row) else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The structural effects (:attr:`effects`)."""
        return self.effects

    def to_dict(self) -> dict[str, Any]:
        fit = self.sem.fit.to_dict()
        return jsonable(
            {
                "outcome": self.outcome,
                "items": list(self.items),
                "predictors": list(self.predictors),
                "cluster": self.cluster,
                "n_clusters": self.n_clusters,
                "formula": self.formula,
                "model": self.syntax,
                "estimator": self.sem.estimator,
                "missing": self.sem.missing,
                "n_used": self.n_used,
                "effects": self.effects,
                "r_squared": self.r_squared,
                "loadings": self.loadings,
                "fit": fit,
                "join": None if self.join is None else self.join.to_dict(),
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def summary(self, digits: int = 3) -> str:
        sem = self.sem
        clustered = (
            f", standard errors robust to clustering in {self.cluster!r} ({self.n_clusters} clusters)"
            if self.cluster
            else ""
        )
        lines = [
            f"Latent model: {self.outcome} (a factor of {', '.join(self.items)}) "
            f"on {', '.join(self.predictors)}",
            f"  {sem.estimator}, missing = {sem.missing}, n = {self.n_used}{clustered}",
            "",
            "Effects on the latent outcome:",
        ]
        table = self.effects.copy()
        lines.append(
            _aligned(
                table, ["predictor", "est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_all"], digits
            )
        )
        lines.append(f"  R-squared of {self.outcome}: {self.r_squared:.{digits}f}")
        lines += [
            "",
            "Measurement (loadings):",
            _aligned(self.loadings, ["item", "est", "se", "std_all"], digits),
        ]
        fit = sem.fit
        lines += ["", "Fit:"]
        lines.append(f"  chi-square {fit.chisq:.{digits}f} on {fit.df} df (p = {fit.pvalue:.{digits}f})")
        if fit.chisq_scaled is not None:
            lines.append(
                f"  scaled chi-square {fit.chisq_scaled:.{digits}f} (p = {fit.pvalue_scaled:.{digits}f})"
            )
        cfi = fit.cfi_robust if fit.cfi_robust is not None else fit.cfi
        rmsea = fit.rmsea_robust if fit.rmsea_robust is not None else fit.rmsea
        kind = "robust " if fit.cfi_robust is not None else ""
        lines.append(
            f"  {kind}CFI {cfi:.{digits}f}, {kind}RMSEA {rmsea:.{digits}f}, SRMR {fit.srmr:.{digits}f}"
        )
        for title, messages in (("Warnings", self.warnings), ("Notes", self.notes)):
            if messages:
                lines += ["", f"{title}:"] + [f"  - {m}" for m in messages]
        return "\n".join(lines)


def _aligned(frame: pd.DataFrame, columns: Sequence[str], digits: int) -> str:
    shown = frame[list(columns)].copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.{digits}f}")
    return "\n".join("  " + line for line in shown.to_string(index=False).splitlines())


def latent_model(
    data: pd.DataFrame,
    model: str | CFAModel,
    *,
    cluster: str | None = None,
    estimator: str = "MLR",
    missing: str = "auto",
    outcome: str | None = None,
) -> LatentModelResult:
    """Fit a latent regression (a factor on observed predictors), cluster-robust, as lavaan's ``sem()``.

    Parameters
    ----------
    data : pandas.DataFrame
        The items (reverse-keyed items already reversed), the predictors and
        the cluster column, one row per respondent.
    model : str or CFAModel
        lavaan syntax with a measurement part and a regression, e.g.
        ``rs =~ rs1 + rs2 + rs3 + rs4`` and ``rs ~ coc + pgy``.
    cluster : str, optional
        Column naming each respondent's cluster (program): cluster-robust
        standard errors and scaled test, as lavaan's ``cluster =``.
    estimator : {"MLR", "ML"}
        ``"MLR"`` (the default) as the issue's reference model; with ``cluster``
        both give lavaan's ``robust.cluster`` standard errors.
    missing : {"auto", "fiml", "listwise"}
        ``"auto"``: FIML (lavaan's ``missing = "ml"``: every answered item
        counts) when an item is missing, else complete data, as :func:`cfa`.
        Respondents missing a predictor are left out either way (lavaan's ``fixed.x``).
    outcome : str, optional
        The regressed factor (default: the first factor with a regression).

    Returns
    -------
    LatentModelResult

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> n = 600
    >>> frame = pd.DataFrame({"program": np.repeat([f"P{i:02d}" for i in range(40)], 15),
    ...                       "coc": rng.uniform(0, 1, n)})
    >>> f = 1.5 * frame["coc"] + rng.normal(0, 0.6, n)
    >>> for i, lam in enumerate([1.0, 0.9, 0.8, 0.7], start=1):
    ...     frame[f"rs{i}"] = lam * f + rng.normal(0, 0.5, n)
    >>> res = latent_model(frame, "rs =~ rs1 + rs2 + rs3 + rs4\\nrs ~ coc", cluster="program")
    >>> res.effects["predictor"].tolist(), bool(1.3 < res.effects["est"].iloc[0] < 1.7)
    (['coc'], True)
    """
    spec = as_model(model)
    regressions = [s for s in spec.statements if s.op == "~" and s.lhs in spec.factors]
    if outcome is None:
        if not regressions:
            raise CFAError("the latent model needs a regression of a factor, e.g. 'rs ~ coc + pgy'")
        outcome = regressions[0].lhs
    if outcome not in spec.factors:
        raise CFAError(f"{outcome!r} is not a factor of the model; its factors are {', '.join(spec.factors)}")
    predictors = tuple(dict.fromkeys(s.rhs for s in regressions if s.lhs == outcome))
    if not predictors:
        raise CFAError(f"the model has no regression of {outcome!r}: add '{outcome} ~ <predictors>'")
    missing_columns = [c for c in (*predictors, *([cluster] if cluster else [])) if c not in data.columns]
    if missing_columns:
        raise CFAError(
            f"the data have no column {', '.join(map(repr, missing_columns))}; "
            f"columns: {', '.join(map(str, data.columns))}"
        )
    fit = cfa(data, spec, estimator=estimator, missing=missing, cluster=cluster)
    warnings: list[str] = []
    n_clusters = getattr(fit, "n_clusters", None) if cluster else None
    if cluster and n_clusters is not None and n_clusters <= fit.fit.npar:
        warnings.append(
            f"the model has {fit.fit.npar} free parameters and {n_clusters} clusters: the cluster-robust "
            "covariance of the estimates cannot be of full rank, so some standard errors rest on "
            "too little information (lavaan warns that the vcov is not positive definite)"
        )
    return LatentModelResult(
        outcome=outcome,
        items=spec.indicators_of(outcome),
        predictors=predictors,
        cluster=cluster,
        n_clusters=n_clusters,
        sem=fit,
        warnings=warnings + list(fit.warnings),
        notes=list(fit.notes),
    )


@dataclass(frozen=True)
class LatentFormula:
    """What an lme4-style formula means for the latent model."""

    outcome: str
    predictors: tuple[str, ...]
    cluster: str | None
    notes: tuple[str, ...] = ()


def read_latent_formula(formula: str) -> LatentFormula:
    """Read ``outcome ~ x1 + x2 + (1|cluster)`` for the latent model.

    The fixed part must be plain column names (lavaan regresses on observed
    columns; write transformed predictors as columns first). One random
    intercept names the cluster; with nested groups (``(1|program/resident)``)
    the outermost is the cluster. Random slopes have no latent counterpart
    here and are refused.

    Examples
    --------
    >>> read_latent_formula("relatedness_satisfaction ~ coc + pgy + (1|program)")
    LatentFormula(outcome='relatedness_satisfaction', predictors=('coc', 'pgy'), cluster='program', notes=())
    """
    if "|" in formula:
        parsed = parse_formula(formula)
        response, fixed, random = parsed.response, parsed.fixed, parsed.random
    else:  # no random term: no clustering (the mixed-model parser insists on one)
        response, _, fixed = (part.strip() for part in formula.partition("~"))
        random = ()
        if not response or not fixed:
            raise CFAError(f"{formula!r} is not 'outcome ~ predictors (+ (1|cluster))'")
    terms = [t.strip() for t in fixed.split("+") if t.strip() not in ("", "1")]
    odd = [t for t in terms if not _NAME.match(t)]
    if odd:
        raise CFAError(
            f"the latent model regresses on columns as they are; {', '.join(map(repr, odd))} in {formula!r} "
            "is not a plain column name (add it to the data as a column first)"
        )
    if not terms:
        raise CFAError(f"{formula!r} has no predictor: write e.g. '{response} ~ coc + (1|program)'")
    notes: list[str] = []
    cluster = None
    if random:
        slopes = [t for t in random if t.expr.strip() not in ("1",)]
        if slopes:
            raise CFAError(
                f"random slopes ({slopes[0].expr} | {'/'.join(slopes[0].group)}) have no counterpart in the "
                "latent model: it corrects the standard errors for clustering; use a random intercept "
                "such as (1|program)"
            )
        cluster = random[0].group[0]
        others = sorted({g for t in random for g in t.group} - {cluster})
        if others:
            notes.append(
                f"standard errors are robust to clustering in {cluster!r}; {', '.join(map(repr, others))} "
                f"(nested in or crossed with it) is not modelled separately"
            )
    return LatentFormula(response, tuple(terms), cluster, tuple(notes))


def latent_continuity_model(
    scores: ScoredResponses | Any,
    exposure: pd.DataFrame | Any,
    formula: str = DEFAULT_LATENT_FORMULA,
    *,
    id_column: str | None = None,
    exposure_id_column: str | None = None,
    wave_column: str | None = None,
    wave: Any = None,
    estimator: str = "MLR",
    missing: str = "auto",
) -> LatentModelResult:
    """The latent model of a subscale against continuity, from scored responses and an exposure table.

    Parameters
    ----------
    scores : ScoredResponses
        The analysis data set (:func:`sdt_survey.score`): it carries the
        reverse-keyed items of the outcome subscale.
    exposure : pandas.DataFrame or ContinuityResult
        Continuity indices, one row per learner (as for the observed-score model).
    formula : str
        lme4-style: the outcome subscale, its predictors, and ``(1|cluster)``
        (see :func:`read_latent_formula`).
    id_column, exposure_id_column, wave_column
        As for :func:`sdt_survey.mixed.join_exposure`.
    wave
        Which wave to model when the responses hold several (default: the first).
    estimator, missing
        As for :func:`latent_model`.

    Returns
    -------
    LatentModelResult
        With ``join`` and ``formula`` set.

    Examples
    --------
    >>> from sdt_survey import score
    >>> from sdt_survey.simulate import simulate
    >>> sim = simulate("bpn-residency", seed=3, n_programs=8)
    >>> scored = score("bpn-residency", sim.responses, id_column="resident")
    >>> res = latent_continuity_model(scored, sim.truth.continuity,
    ...                               "relatedness_satisfaction ~ coc + (1|program)")
    >>> res.items, res.cluster, res.n_clusters, res.effects["predictor"].tolist()
    (('rs1', 'rs2', 'rs3', 'rs4'), 'program', 8, ['coc'])
    """
    if not isinstance(scores, ScoredResponses):
        raise CFAError("the latent model needs the items: pass the output of sdt_survey.score(...)")
    scored = scores
    read = read_latent_formula(formula)
    subscale = next(
        (inst.subscales[read.outcome] for inst in scored.instruments if read.outcome in inst.subscales), None
    )
    if subscale is None:
        names = [s for inst in scored.instruments for s in inst.subscales]
        raise CFAError(
            f"{read.outcome!r} is not a subscale of the instruments; the latent model needs one of "
            f"{', '.join(names)} (a composite has no items of its own to measure it)"
        )
    items = list(subscale.items)
    wave_column = wave_column or scored.wave_column
    data = keyed_data(scored.instruments, scored, wave=wave, wave_column=wave_column, items=items)
    # Of keyed_data's notes only the wave chosen is news here (the intake's are the data set's own).
    notes: list[str] = list(read.notes) + [n for n in data.notes if n.startswith("wave ")]
    joined, report = join_exposure(
        data.frame,
        exposure,
        id_column=id_column or scored.id_column,
        exposure_id_column=exposure_id_column,
        wave_column=None,
    )
    if joined.empty:
        raise CFAError("no respondent matched a learner of the exposure table: check the id columns")
    syntax = f"{read.outcome} =~ {' + '.join(items)}\n{read.outcome} ~ {' + '.join(read.predictors)}"
    result = latent_model(joined, syntax, cluster=read.cluster, estimator=estimator, missing=missing)
    result.formula = formula
    result.join = report
    result.warnings = report.messages() + result.warnings
    result.notes = notes + result.notes
    return result
