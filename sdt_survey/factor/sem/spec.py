"""The model and its parameter table: :class:`CFAModel`, lavaan's defaults, group constraints."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import CFAError
from .defined import check_defined
from .exogenous import check_regression, observed_roles
from .located import located_error as _located
from .syntax import Statement, emit_statements, parse_model_syntax

MODEL_KINDS = ("correlated", "bifactor", "second-order")
#: lavaan ``group.equal`` keywords understood here.
GROUP_EQUAL = (
    "loadings",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
    "regressions",
)

# Matrix codes of the LISREL-style representation.
LAMBDA, BETA, PSI, THETA, NU, ALPHA = range(6)


def _latent_and_observed(statements: Sequence[Statement]) -> tuple[list[str], list[str]]:
    latent: list[str] = []
    statements = [s for s in statements if s.op != ":="]  # a defined parameter is not a variable
    for s in statements:
        if s.op == "=~" and s.lhs not in latent:
            latent.append(s.lhs)
    observed: list[str] = []
    for s in statements:
        if s.op == "=~" and s.rhs not in latent and s.rhs not in observed:
            observed.append(s.rhs)
    for s in statements:
        for name in (s.lhs, s.rhs):
            if name and name not in latent and name not in observed:
                observed.append(name)
    return latent, observed


@dataclass(frozen=True)
class CFAModel:
    """A confirmatory factor model: the statements as written, before lavaan's defaults.

    Build one with :meth:`from_syntax` or :meth:`from_instrument`. The
    defaults (residual variances, factor variances and covariances,
    intercepts, the scale of each factor) are added when the model is fitted,
    as lavaan's ``cfa()`` does.

    Attributes
    ----------
    statements : tuple of Statement
    description : str
        Where the model came from (for reports).

    Examples
    --------
    >>> m = CFAModel.from_syntax("f =~ x1 + x2 + x3\\ng =~ x4 + x5 + x6")
    >>> m.factors, m.indicators_of("g")
    (('f', 'g'), ('x4', 'x5', 'x6'))
    """

    statements: tuple[Statement, ...]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "statements", tuple(self.statements))
        latent, observed = _latent_and_observed(self.statements)
        indicators = {s.rhs for s in self.statements if s.op == "=~"}
        roles = observed_roles(self.statements)
        for s in self.statements:
            if s.op == "~":
                check_regression(s, latent, indicators, roles)
            if s.op == "~~" and (s.lhs in latent) != (s.rhs in latent):
                dummy = set(roles.covariates) | set(roles.outcomes)
                if not ({s.lhs, s.rhs} & dummy and {s.lhs, s.rhs} <= dummy | set(latent)):
                    raise _located(
                        f"'{s.lhs} ~~ {s.rhs}' mixes a factor and an observed variable; covariances are "
                        "between factors or between observed variables",
                        s,
                    )
        in_regressions = set(roles.covariates) | set(roles.outcomes)
        for name in observed:
            if name not in indicators and name not in in_regressions:
                s = next(s for s in self.statements if name in (s.lhs, s.rhs))
                raise _located(
                    f"{name!r} is not measured by any factor nor in a regression; add it to a '=~' line "
                    "(an item) or a '~' line (a covariate)",
                    s,
                )
        check_defined(self.statements)
        # A factor may not measure itself through a chain of second-order loadings.
        children = {f: [s.rhs for s in self.statements if s.op == "=~" and s.lhs == f] for f in latent}

        def visit(node: str, path: tuple[str, ...]) -> None:
            for child in children.get(node, []):
                if child in path:
                    cycle = " =~ ".join((*path, child))
                    raise CFAError(f"the factors measure each other in a circle: {cycle}")
                if child in latent:
                    visit(child, (*path, child))

        for f in latent:
            visit(f, (f,))

    # -- constructors -----------------------------------------------------------
    @classmethod
    def from_syntax(cls, text: str) -> CFAModel:
        """A model from lavaan-style syntax (see :mod:`sdt_survey.factor.sem.syntax`).

        Raises
        ------
        ModelSyntaxError
            With the line and column of the problem.

        Examples
        --------
        >>> CFAModel.from_syntax("f =~ x1 + x2 + x3").indicators
        ('x1', 'x2', 'x3')
        """
        return cls(tuple(parse_model_syntax(text)), description="model syntax")

    @classmethod
    def from_instrument(cls, instrument: Any, kind: str = "correlated") -> CFAModel:
        """The factor model an instrument's subscales define.

        Parameters
        ----------
        instrument : Instrument
            Each subscale is a factor measured by its items (item ids are the
            variable names; fit it to reverse-keyed values, ``score(...).keyed``).
        kind : {"correlated", "bifactor", "second-order"}
            ``"correlated"``: one factor per subscale, all factors correlated.
            ``"bifactor"``: a general factor ``general`` measured by every item
            of every subscale, plus one specific factor per subscale; all
            factors orthogonal (their covariances fixed to 0).
            ``"second-order"``: one first-order factor per subscale, and one
            second-order factor per *composite* of the instrument, measured by
            the factors of the subscales it combines (for bpn-residency:
            ``need_satisfaction =~ autonomy_satisfaction +
            relatedness_satisfaction + competence_satisfaction`` and
            ``need_frustration =~`` the three frustration factors). The
            second-order factors are correlated (lavaan's default for
            exogenous factors); a subscale in no composite stays a first-order
            factor correlated with them. The first-order factors' residual
            (disturbance) variances are free and uncorrelated.

        Examples
        --------
        >>> import sdt_survey
        >>> bpn = sdt_survey.load_instrument("bpn-residency")
        >>> print(CFAModel.from_instrument(bpn, "second-order").to_lavaan().splitlines()[-1])
        need_frustration =~ autonomy_frustration + relatedness_frustration + competence_frustration
        """
        if kind not in MODEL_KINDS:
            raise CFAError(f"kind must be one of {', '.join(MODEL_KINDS)}, not {kind!r}")
        subscales = getattr(instrument, "subscales", None)
        if not subscales:
            raise CFAError(f"instrument {getattr(instrument, 'id', '?')!r} has no subscales to model")
        lines = []
        for sid, sub in subscales.items():
            if len(sub.items) < 2:
                raise CFAError(f"subscale {sid!r} has {len(sub.items)} item; a factor needs at least 2")
            lines.append(f"{sid} =~ {' + '.join(sub.items)}")
        names = list(subscales)
        if kind == "bifactor":
            general = "general" if "general" not in subscales else "general_factor"
            items = list(dict.fromkeys(i for sub in subscales.values() for i in sub.items))
            lines.insert(0, f"{general} =~ {' + '.join(items)}")
            factors = [general, *names]
            for a, b in itertools.combinations(factors, 2):
                lines.append(f"{a} ~~ 0*{b}")
        elif kind == "second-order":
            composites = getattr(instrument, "composites", None) or {}
            if not composites:
                raise CFAError(
                    f"instrument {instrument.id!r} has no composites, so there is no second-order "
                    "structure to model; use kind='correlated' or write the model in syntax"
                )
            for cid, comp in composites.items():
                if cid in subscales:
                    raise CFAError(f"composite {cid!r} has the same name as a subscale")
                if len(comp.of) < 2:
                    raise CFAError(f"composite {cid!r} combines {len(comp.of)} subscale; it needs 2 or more")
                lines.append(f"{cid} =~ {' + '.join(comp.of)}")
        text = "\n".join(lines)
        return cls(tuple(parse_model_syntax(text)), description=f"{instrument.id} ({kind})")

    # -- structure ----------------------------------------------------------------
    @property
    def factors(self) -> tuple[str, ...]:
        """Latent variables, in the order first defined."""
        return tuple(_latent_and_observed(self.statements)[0])

    @property
    def indicators(self) -> tuple[str, ...]:
        """Observed variables, in the order first used."""
        return tuple(_latent_and_observed(self.statements)[1])

    @property
    def covariates(self) -> tuple[str, ...]:
        """Observed predictors that no factor measures and nothing predicts (exogenous, fixed.x)."""
        return observed_roles(self.statements).covariates

    @property
    def observed_outcomes(self) -> tuple[str, ...]:
        """Observed variables that no factor measures but that are regressed on something."""
        return observed_roles(self.statements).outcomes

    def indicators_of(self, factor: str) -> tuple[str, ...]:
        """What ``factor`` is measured by (items, or factors for a second-order factor)."""
        return tuple(s.rhs for s in self.statements if s.op == "=~" and s.lhs == factor)

    @property
    def higher_order_factors(self) -> tuple[str, ...]:
        """Factors measured by other factors."""
        latent = set(self.factors)
        return tuple(f for f in self.factors if any(r in latent for r in self.indicators_of(f)))

    def to_lavaan(self) -> str:
        """Equivalent lavaan model syntax (see :func:`emit_lavaan`)."""
        return emit_statements(self.statements)


def as_model(model: str | CFAModel | Any) -> CFAModel:
    if isinstance(model, CFAModel):
        return model
    if isinstance(model, str):
        return CFAModel.from_syntax(model)
    if hasattr(model, "subscales"):
        return CFAModel.from_instrument(model)
    raise CFAError(
        f"model must be lavaan-style syntax, an Instrument or a CFAModel, not {type(model).__name__}"
    )


@dataclass
class Spec:
    """The full parameter table of a (possibly multi-group) model, lavaan's ``parTable``."""

    lhs: list[str]
    op: list[str]
    rhs: list[str]
    group: np.ndarray
    user: np.ndarray
    mat: np.ndarray
    row: np.ndarray
    col: np.ndarray
    free: np.ndarray  # index into theta, -1 when fixed
    value: np.ndarray  # fixed value (NaN when free)
    label: list[str]
    start: np.ndarray
    ov: list[str]
    lv: list[str]
    n_groups: int
    meanstructure: bool
    n_free: int
    #: Observed variables of regressions no factor measures (phantom latent variables, last in ``lv``).
    dummy: tuple[str, ...] = ()
    #: The exogenous ones among them: covariates whose moments are their sample values (fixed.x).
    fixed_x: tuple[str, ...] = ()
    #: Defined parameters (``name := expression``), in the order written.
    defined: tuple[Statement, ...] = ()

    @property
    def factors(self) -> list[str]:
        """The latent variables that are factors (not phantoms of observed variables)."""
        return [f for f in self.lv if f not in self.dummy]

    @property
    def n_rows(self) -> int:
        return len(self.lhs)


def _parse_partial(spec: str, ov: Sequence[str], lv: Sequence[str]) -> Callable[[str, str, str], bool]:
    """A predicate on (lhs, op, rhs) from a lavaan ``group.partial`` entry (and shorthands).

    ``"f=~x2"`` one loading; ``"x2=~"`` or ``"=~x2"`` the loading(s) of item x2
    (``"f=~"``: every loading of factor f); ``"x2~1"`` an intercept (a factor's
    mean); ``"x2~~x2"`` or ``"x2~~"`` a residual variance; ``"x1~~x2"`` a covariance.
    """
    text = "".join(str(spec).split())
    names = set(ov) | set(lv)
    for op in ("=~", "~~", "~1", "~"):
        if op in text:
            lhs, _, rhs = text.partition(op)
            break
    else:
        raise CFAError(f"cannot read the partial-invariance entry {spec!r}: expected e.g. 'f=~x2' or 'x2~1'")
    for name in (lhs, rhs):
        if name and name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CFAError(
                f"partial-invariance entry {spec!r} names {name!r}, which is not in the model{hint}"
            )
    if op == "~1":
        if rhs:
            raise CFAError(f"cannot read {spec!r}: write an intercept as 'x2~1'")
        return lambda a, o, b: o == "~1" and a == lhs
    if op == "~~":
        other = rhs or lhs
        pair = {lhs, other}
        return lambda a, o, b: o == "~~" and {a, b} == pair
    if op == "~":
        return lambda a, o, b: o == "~" and a == lhs and (not rhs or b == rhs)
    # =~
    if lhs and rhs:
        return lambda a, o, b: o == "=~" and a == lhs and b == rhs
    name = lhs or rhs
    if name in lv and lhs:
        return lambda a, o, b: o == "=~" and a == name
    return lambda a, o, b: o == "=~" and b == name


def _equal_kind(lhs: str, op: str, rhs: str, lv: set[str]) -> str | None:
    if op == "=~":
        return "loadings"
    if op == "~":
        return "regressions"
    if op == "~1":
        return "means" if lhs in lv else "intercepts"
    if op == "~~":
        if lhs in lv:
            return "lv.variances" if lhs == rhs else "lv.covariances"
        return "residuals" if lhs == rhs else "residual.covariances"
    return None


def build_spec(
    model: CFAModel,
    n_groups: int = 1,
    *,
    std_lv: bool = False,
    meanstructure: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> Spec:
    """lavaan's parameter table: user statements, then lavaan's automatic parameters."""
    roles = observed_roles(model.statements)
    factors = list(model.factors)
    lv = factors + list(roles.phantoms)
    ov = list(model.indicators)
    covariates = set(roles.covariates)
    lv_set = set(lv)
    ov_index = {n: i for i, n in enumerate(ov)}
    lv_index = {n: i for i, n in enumerate(lv)}
    unknown = [g for g in group_equal if g not in GROUP_EQUAL]
    if unknown:
        raise CFAError(
            f"unknown group_equal entr{'y' if len(unknown) == 1 else 'ies'} {unknown}; use {GROUP_EQUAL}"
        )
    partial = [_parse_partial(p, ov, lv) for p in group_partial]
    endogenous = {s.rhs for s in model.statements if s.op == "=~" and s.rhs in lv_set}
    endogenous |= {s.lhs for s in model.statements if s.op == "~"}
    exogenous = [f for f in factors if f not in endogenous]
    # lavaan's auto.cov.y: the residuals of outcomes that predict nothing covary.
    predictors = {s.rhs for s in model.statements if s.op == "~"}
    regressed = {s.lhs for s in model.statements if s.op == "~"}
    final_outcomes = [v for v in lv if v in regressed and v not in predictors]
    first_indicator: dict[str, str] = {}
    for s in model.statements:
        if s.op == "=~" and s.lhs not in first_indicator:
            first_indicator[s.lhs] = s.rhs

    rows: list[dict[str, Any]] = []

    def where(lhs: str, op: str, rhs: str) -> tuple[int, int, int]:
        if op == "=~":
            if rhs in lv_set:
                return BETA, lv_index[rhs], lv_index[lhs]
            return LAMBDA, ov_index[rhs], lv_index[lhs]
        if op == "~":
            if lhs not in lv_set:  # an item on a covariate: a direct effect
                return LAMBDA, ov_index[lhs], lv_index[rhs]
            return BETA, lv_index[lhs], lv_index[rhs]
        if op == "~~":
            if lhs in lv_set:
                i, j = lv_index[lhs], lv_index[rhs]
                return PSI, max(i, j), min(i, j)
            i, j = ov_index[lhs], ov_index[rhs]
            return THETA, max(i, j), min(i, j)
        if lhs in lv_set:
            return ALPHA, lv_index[lhs], 0
        return NU, ov_index[lhs], 0

    def default_fixed(lhs: str, op: str, rhs: str, g: int) -> float | None:
        """lavaan's default for a parameter the user did not fix or free."""
        if op == "=~":
            return 1.0 if (not std_lv and first_indicator[lhs] == rhs) else None
        if lhs in roles.phantoms:
            return None
        if op == "~~" and lhs == rhs and lhs in lv_set and std_lv:
            # With std.lv, factor variances are 1, except in groups 2.. when loadings are equal.
            if g > 0 and "loadings" in group_equal and "lv.variances" not in group_equal:
                return None
            return 1.0
        if op == "~1" and lhs in lv_set:
            if g > 0 and "intercepts" in group_equal and "means" not in group_equal:
                return None
            return 0.0
        return None

    for g in range(n_groups):
        seen: set[tuple[str, str, str]] = set()
        for s in model.statements:
            if s.op == ":=":
                continue
            seen.add(s.key)
            fixed = s.fixed_in(g)
            # What the user writes overrides a default: a latent mean they name (`i ~ 1`) is free, as in
            # lavaan; the marker loading keeps its default (lavaan fixes it even when written).
            written_mean = s.op == "~1" and s.lhs in lv_set
            if fixed is None and not s.free and not written_mean:
                fixed = default_fixed(s.lhs, s.op, s.rhs, g)
            rows.append(
                {
                    "lhs": s.lhs,
                    "op": s.op,
                    "rhs": s.rhs,
                    "group": g,
                    "user": 1,
                    "fixed": fixed,
                    "label": s.label_in(g) or "",
                    "has_label": s.label is not None,
                    "start": s.start_in(g),
                }
            )

        def auto(lhs: str, op: str, rhs: str, fixed: float | None, g: int = g) -> None:
            rows.append(
                {
                    "lhs": lhs,
                    "op": op,
                    "rhs": rhs,
                    "group": g,
                    "user": 0,
                    "fixed": fixed,
                    "label": "",
                    "has_label": False,
                    "start": None,
                }
            )

        for o in ov:
            if o not in lv_set and (o, "~~", o) not in seen:
                auto(o, "~~", o, None)
        for f in lv:
            if (f, "~~", f) not in seen and f not in covariates:
                auto(f, "~~", f, default_fixed(f, "~~", f, g))
        for pool in (exogenous, final_outcomes):
            for a, b in itertools.combinations(pool, 2):
                key = (a, "~~", b) if a <= b else (b, "~~", a)
                if key not in seen:
                    auto(a, "~~", b, None)
        # The covariates' variances and covariances (their sample values: fixed.x), as lavaan orders them.
        xs = roles.covariates
        for i, a in enumerate(xs):
            for b in xs[i:]:
                key = (a, "~~", b) if a <= b else (b, "~~", a)
                if key not in seen:
                    auto(a, "~~", b, None)
        if meanstructure:
            for o in ov:
                if o not in lv_set and (o, "~1", "") not in seen:
                    auto(o, "~1", "", None)
            for f in lv:
                if (f, "~1", "") not in seen:
                    auto(f, "~1", "", default_fixed(f, "~1", "", g))

    n = len(rows)
    mat = np.empty(n, dtype=int)
    r_ = np.empty(n, dtype=int)
    c_ = np.empty(n, dtype=int)
    for k, row in enumerate(rows):
        mat[k], r_[k], c_[k] = where(row["lhs"], row["op"], row["rhs"])

    # Free parameters, then equality constraints (shared labels, group_equal) by union-find.
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    is_free = np.array([row["fixed"] is None for row in rows])
    by_label: dict[str, int] = {}
    for k, row in enumerate(rows):
        if row["label"] and is_free[k]:
            if row["label"] in by_label:
                union(by_label[row["label"]], k)
            else:
                by_label[row["label"]] = k
    if n_groups > 1 and group_equal:
        first_group = {
            (row["lhs"], row["op"], row["rhs"]): k for k, row in enumerate(rows) if row["group"] == 0
        }
        for k, row in enumerate(rows):
            if row["group"] == 0 or not is_free[k] or row["has_label"] or row["lhs"] in covariates:
                continue
            kind = _equal_kind(row["lhs"], row["op"], row["rhs"], set(factors))
            if kind not in group_equal:
                continue
            if any(p(row["lhs"], row["op"], row["rhs"]) for p in partial):
                continue
            k0 = first_group.get((row["lhs"], row["op"], row["rhs"]))
            if k0 is not None and is_free[k0]:
                union(k0, k)
    free = np.full(n, -1, dtype=int)
    numbering: dict[int, int] = {}
    for k in range(n):
        if is_free[k]:
            rk = root(k)
            if rk not in numbering:
                numbering[rk] = len(numbering)
            free[k] = numbering[rk]
    value = np.array([np.nan if row["fixed"] is None else float(row["fixed"]) for row in rows])
    start = np.array([np.nan if row["start"] is None else float(row["start"]) for row in rows])
    return Spec(
        lhs=[row["lhs"] for row in rows],
        op=[row["op"] for row in rows],
        rhs=[row["rhs"] for row in rows],
        group=np.array([row["group"] for row in rows], dtype=int),
        user=np.array([row["user"] for row in rows], dtype=int),
        mat=mat,
        row=r_,
        col=c_,
        free=free,
        value=value,
        label=[row["label"] for row in rows],
        start=start,
        ov=ov,
        lv=lv,
        n_groups=n_groups,
        meanstructure=meanstructure,
        n_free=len(numbering),
        dummy=tuple(roles.phantoms),
        fixed_x=tuple(roles.covariates),
        defined=tuple(s for s in model.statements if s.op == ":="),
    )


def check_identification(spec: Spec, std_lv: bool) -> None:
    """Errors a user can fix before fitting: unscaled factors, more parameters than moments."""
    p = len(spec.ov)
    n_moments = spec.n_groups * (p * (p + 1) // 2 + (p if spec.meanstructure else 0))
    if spec.n_free > n_moments:
        raise CFAError(
            f"the model is not identified: it has {spec.n_free} free parameters but the data give only "
            f"{n_moments} variances, covariances{' and means' if spec.meanstructure else ''}; "
            "fix or equate parameters, or add items"
        )
    loading_rows = {
        f: [k for k in range(spec.n_rows) if spec.op[k] == "=~" and spec.lhs[k] == f] for f in spec.factors
    }
    scaled: dict[tuple[str, int], bool] = {}
    for f in spec.factors:
        for g in range(spec.n_groups):
            fixed_loading = any(
                spec.group[k] == g and spec.free[k] < 0 and spec.value[k] != 0 for k in loading_rows[f]
            )
            fixed_variance = any(
                spec.group[k] == g
                and spec.op[k] == "~~"
                and spec.lhs[k] == f
                and spec.rhs[k] == f
                and spec.free[k] < 0
                for k in range(spec.n_rows)
            )
            scaled[(f, g)] = fixed_loading or fixed_variance
    for (f, g), has_scale in scaled.items():
        if has_scale:
            continue
        # Loadings held equal to those of a factor with a scale give it one here: the same factor
        # in another group, or another factor (a later wave of a longitudinal model).
        tied = {spec.free[k] for k in loading_rows[f] if spec.group[k] == g and spec.free[k] >= 0}
        if any(
            spec.free[k] in tied
            for h in spec.factors
            for k in loading_rows[h]
            if (h, spec.group[k]) != (f, g) and scaled[(h, int(spec.group[k]))]
        ):
            continue
        raise CFAError(
            f"factor {f!r} has no scale: its loadings and its variance are all free. Fix one "
            f"loading (1*item), fix its variance ({f} ~~ 1*{f}), or use std_lv=True"
        )
