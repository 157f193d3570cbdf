"""Confirmatory factor analysis by maximum likelihood, reproducing R's lavaan.

Every number here follows lavaan 0.6-14's conventions, and the test suite
checks them against goldens made by R (``tests/goldens/lavaan_*.R``):

* **Model.** A :class:`CFAModel` comes from lavaan-style syntax
  (:meth:`CFAModel.from_syntax`, see :mod:`sdt_survey.factor.syntax`) or from
  an :class:`~sdt_survey.instrument.Instrument` (:meth:`CFAModel.from_instrument`:
  correlated subscale factors, a bifactor model, or a second-order model).
  lavaan's defaults complete it: residual and factor variances, covariances
  among exogenous factors, intercepts when there is a mean structure, and the
  scale of each factor by its first loading (or ``std_lv=True``: unit
  variances). :func:`emit_lavaan` prints equivalent lavaan syntax.
* **Estimators.** ``"ML"``: normal-theory maximum likelihood with lavaan's
  ``N`` (not ``N - 1``) for the sample covariance, standard errors from the
  expected information (observed information under FIML, as lavaan).
  ``"MLR"``: Huber-White sandwich standard errors (observed information and
  the cross-product of casewise scores) and the Yuan-Bentler (Mplus variant)
  scaled chi-square, with lavaan's robust CFI, TLI and RMSEA.
* **Missing data.** ``missing="fiml"`` (lavaan ``missing = "ml"``) maximizes
  the casewise likelihood, grouped by missingness pattern; the saturated model
  is estimated by EM exactly as lavaan does. ``"listwise"`` keeps complete
  rows. ``"auto"`` (default) is FIML when a model item is missing.
* **Output.** chi-square, CFI, TLI, RMSEA with its 90% interval and p-close,
  SRMR, AIC, BIC, log-likelihoods, the baseline model; estimates with standard
  errors; the standardized solution (std.all) with delta-method standard
  errors; factor correlations; modification indices with EPC; CFA-based omega
  per factor (semTools::compRelSEM).
* **Multiple groups.** ``group=`` fits the model in each group, with lavaan's
  ``group.equal`` and ``group.partial`` (see also
  :mod:`sdt_survey.factor.invariance`).

How it is computed, briefly: the model-implied moments are
``Sigma = Lambda (I-B)^-1 Psi (I-B)^-T Lambda' + Theta`` and
``mu = nu + Lambda (I-B)^-1 alpha``. Each free matrix element changes Sigma by
a symmetric rank-two matrix ``s (a b' + b a')`` and mu by ``c``; gradients,
information matrices, Hessians and casewise scores are all products of those
vectors with the data terms, so nothing loops over respondents, and FIML loops
over missingness patterns only (batched by the number of answered items).
Estimation is Fisher scoring with a line search, polished by Newton steps.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(7)
>>> f = rng.normal(size=(500, 2)) @ np.linalg.cholesky([[1, .4], [.4, 1]]).T
>>> x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(size=(500, 6)) * 0.6
>>> data = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
>>> res = cfa(data, "A =~ a1 + a2 + a3\\nB =~ b1 + b2 + b3")
>>> res.fit.df, round(res.fit.cfi, 3) > 0.99
(8, True)
>>> float(round(res.factor_correlations().loc["A", "B"], 2))
0.45
>>> res.to_dict()["parameters"][1]["op"]
'=~'
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from ..errors import CFAError, CFAWarning
from ..results import jsonable

try:  # threadpoolctl comes with scikit-learn (a dependency of pingouin); optional here
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None
from .syntax import ModelSyntaxError, Statement, emit_lavaan, emit_statements, parse_model_syntax

__all__ = [
    "CFAError",
    "CFAModel",
    "CFAResult",
    "FitMeasures",
    "ModelSyntaxError",
    "cfa",
    "emit_lavaan",
]

ESTIMATORS = ("ML", "MLR")
MISSING_MODES = ("auto", "listwise", "fiml")
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
_LAMBDA, _BETA, _PSI, _THETA, _NU, _ALPHA = range(6)
_LOG2PI = math.log(2 * math.pi)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    return ThreadpoolController() if ThreadpoolController is not None else None


@contextlib.contextmanager
def _single_threaded_blas():
    """Run BLAS on one thread: the matrices here are small (a few hundred rows at most), and
    on a busy machine multi-threaded BLAS makes such products ten times slower, not faster."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


# ============================================================================ model


def _latent_and_observed(statements: Sequence[Statement]) -> tuple[list[str], list[str]]:
    latent: list[str] = []
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


def _located(message: str, statement: Statement) -> Exception:
    if statement.line:
        return ModelSyntaxError(message, statement.line, statement.column)
    return CFAError(message)


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
        for s in self.statements:
            if s.op == "~" and not (s.lhs in latent and s.rhs in latent):
                who = s.lhs if s.lhs not in latent else s.rhs
                raise _located(
                    f"'{s.lhs} ~ {s.rhs}': {who!r} is not a factor; a CFA regresses factors on factors "
                    "only (measure observed variables with =~)",
                    s,
                )
            if s.op == "~~" and (s.lhs in latent) != (s.rhs in latent):
                raise _located(
                    f"'{s.lhs} ~~ {s.rhs}' mixes a factor and an observed variable; covariances are "
                    "between factors or between observed variables",
                    s,
                )
        for name in observed:
            if name not in indicators:
                s = next(s for s in self.statements if name in (s.lhs, s.rhs))
                raise _located(f"{name!r} is not measured by any factor; add it to a '=~' line", s)
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
        """A model from lavaan-style syntax (see :mod:`sdt_survey.factor.syntax`).

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


def _as_model(model: str | CFAModel | Any) -> CFAModel:
    if isinstance(model, CFAModel):
        return model
    if isinstance(model, str):
        return CFAModel.from_syntax(model)
    if hasattr(model, "subscales"):
        return CFAModel.from_instrument(model)
    raise CFAError(
        f"model must be lavaan-style syntax, an Instrument or a CFAModel, not {type(model).__name__}"
    )


# ===================================================================== parameter table


@dataclass
class _Spec:
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


def _build_spec(
    model: CFAModel,
    n_groups: int = 1,
    *,
    std_lv: bool = False,
    meanstructure: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> _Spec:
    """lavaan's parameter table: user statements, then lavaan's automatic parameters."""
    lv = list(model.factors)
    ov = list(model.indicators)
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
    exogenous = [f for f in lv if f not in endogenous]
    first_indicator: dict[str, str] = {}
    for s in model.statements:
        if s.op == "=~" and s.lhs not in first_indicator:
            first_indicator[s.lhs] = s.rhs

    rows: list[dict[str, Any]] = []

    def where(lhs: str, op: str, rhs: str) -> tuple[int, int, int]:
        if op == "=~":
            if rhs in lv_set:
                return _BETA, lv_index[rhs], lv_index[lhs]
            return _LAMBDA, ov_index[rhs], lv_index[lhs]
        if op == "~":
            return _BETA, lv_index[lhs], lv_index[rhs]
        if op == "~~":
            if lhs in lv_set:
                i, j = lv_index[lhs], lv_index[rhs]
                return _PSI, max(i, j), min(i, j)
            i, j = ov_index[lhs], ov_index[rhs]
            return _THETA, max(i, j), min(i, j)
        if lhs in lv_set:
            return _ALPHA, lv_index[lhs], 0
        return _NU, ov_index[lhs], 0

    def default_fixed(lhs: str, op: str, rhs: str, g: int) -> float | None:
        """lavaan's default for a parameter the user did not fix or free."""
        if op == "=~":
            return 1.0 if (not std_lv and first_indicator[lhs] == rhs) else None
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
            seen.add(s.key)
            fixed = s.fixed_in(g)
            if fixed is None and not s.free:
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
            if (o, "~~", o) not in seen:
                auto(o, "~~", o, None)
        for f in lv:
            if (f, "~~", f) not in seen:
                auto(f, "~~", f, default_fixed(f, "~~", f, g))
        for a, b in itertools.combinations(exogenous, 2):
            key = (a, "~~", b) if a <= b else (b, "~~", a)
            if key not in seen:
                auto(a, "~~", b, None)
        if meanstructure:
            for o in ov:
                if (o, "~1", "") not in seen:
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
            if row["group"] == 0 or not is_free[k] or row["has_label"]:
                continue
            kind = _equal_kind(row["lhs"], row["op"], row["rhs"], lv_set)
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
    return _Spec(
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
    )


def _check_identification(spec: _Spec, std_lv: bool) -> None:
    """Errors a user can fix before fitting: unscaled factors, more parameters than moments."""
    p = len(spec.ov)
    n_moments = spec.n_groups * (p * (p + 1) // 2 + (p if spec.meanstructure else 0))
    if spec.n_free > n_moments:
        raise CFAError(
            f"the model is not identified: it has {spec.n_free} free parameters but the data give only "
            f"{n_moments} variances, covariances{' and means' if spec.meanstructure else ''}; "
            "fix or equate parameters, or add items"
        )
    for f in spec.lv:
        loading_rows = [k for k in range(spec.n_rows) if spec.op[k] == "=~" and spec.lhs[k] == f]
        scaled = []
        for g in range(spec.n_groups):
            fixed_loading = any(
                spec.group[k] == g and spec.free[k] < 0 and spec.value[k] != 0 for k in loading_rows
            )
            fixed_variance = any(
                spec.group[k] == g
                and spec.op[k] == "~~"
                and spec.lhs[k] == f
                and spec.rhs[k] == f
                and spec.free[k] < 0
                for k in range(spec.n_rows)
            )
            scaled.append(fixed_loading or fixed_variance)
        for g in range(spec.n_groups):
            if scaled[g]:
                continue
            # Loadings held equal to those of a group where the factor has a scale give it one here.
            tied = {spec.free[k] for k in loading_rows if spec.group[k] == g and spec.free[k] >= 0}
            if any(
                spec.free[k] in tied for k in loading_rows if spec.group[k] != g and scaled[spec.group[k]]
            ):
                continue
            raise CFAError(
                f"factor {f!r} has no scale: its loadings and its variance are all free. Fix one "
                f"loading (1*item), fix its variance ({f} ~~ 1*{f}), or use std_lv=True"
            )


# ============================================================================= data


@dataclass
class _Block:
    """Missingness patterns that share the number of answered items (batched together)."""

    obs: np.ndarray  # (n_patterns, k) indices of the answered items
    n: np.ndarray  # (n_patterns,) respondents per pattern
    mean: np.ndarray  # (n_patterns, k) pattern means
    scatter: np.ndarray  # (n_patterns, k, k) within-pattern covariances (divisor n)
    rows: list[np.ndarray]  # the answers of each pattern (for casewise scores)
    full: bool  # every item answered

    @property
    def k(self) -> int:
        return self.obs.shape[1]


@dataclass
class _GroupData:
    """One group's data as the estimator needs it."""

    label: str
    n: int
    p: int
    blocks: list[_Block]
    mean: np.ndarray  # saturated (h1) means: the sample's, or EM's under FIML
    cov: np.ndarray  # saturated (h1) covariances (divisor n)
    m2ll_h1: float  # -2 log-likelihood of the saturated model, without the 2*pi term
    complete: bool
    n_log2pi: float  # number of answered cells times log(2*pi)
    available_mean: np.ndarray
    available_var: np.ndarray
    em_iterations: int = 0


def _block_moments(block: _Block, sigma: np.ndarray, mu: np.ndarray, with_gradient: bool):
    """-2 log-likelihood terms of one block at (sigma, mu), and optionally its gradient parts."""
    if block.full:
        sig = sigma[None, :, :]
        mu_o = mu[None, :]
    else:
        obs = block.obs
        sig = sigma[obs[:, :, None], obs[:, None, :]]
        mu_o = mu[obs]
    chol = np.linalg.cholesky(sig)  # LinAlgError when not positive definite
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    kinv = np.linalg.inv(sig)
    d = block.mean - mu_o
    t = block.scatter + d[:, :, None] * d[:, None, :]
    m2ll = float(np.dot(block.n, logdet + np.einsum("pij,pij->p", kinv, t)))
    if not with_gradient:
        return m2ll, None, None, kinv, d, t
    ktk = kinv @ t @ kinv
    grad_sigma = block.n[:, None, None] * (kinv - ktk)
    grad_mu = -2.0 * block.n[:, None] * np.einsum("pij,pj->pi", kinv, d)
    return m2ll, grad_sigma, grad_mu, kinv, d, t


def _embed(block: _Block, values: np.ndarray, p: int) -> np.ndarray:
    """Per-pattern k x k (or k) arrays placed in p x p (or p) zero arrays."""
    n_pat = values.shape[0]
    if block.full:
        return values
    if values.ndim == 2:
        out = np.zeros((n_pat, p))
        out[np.arange(n_pat)[:, None], block.obs] = values
        return out
    out = np.zeros((n_pat, p, p))
    out[np.arange(n_pat)[:, None, None], block.obs[:, :, None], block.obs[:, None, :]] = values
    return out


def _moments_m2ll(group: _GroupData, sigma: np.ndarray, mu: np.ndarray) -> float:
    return sum(_block_moments(b, sigma, mu, False)[0] for b in group.blocks)


def _moments_gradient(group: _GroupData, sigma: np.ndarray, mu: np.ndarray):
    """-2 log-likelihood and its gradient with respect to Sigma (p x p) and mu (p)."""
    p = group.p
    m2ll = 0.0
    g_sigma = np.zeros((p, p))
    g_mu = np.zeros(p)
    for block in group.blocks:
        value, gs, gm, *_ = _block_moments(block, sigma, mu, True)
        m2ll += value
        g_sigma += _embed(block, gs, p).sum(axis=0)
        g_mu += _embed(block, gm, p).sum(axis=0)
    return m2ll, g_sigma, g_mu


def _moments_hessian_terms(group: _GroupData, sigma: np.ndarray, mu: np.ndarray, expected: bool):
    """Second-derivative terms of -2 log-likelihood with respect to (Sigma, mu).

    With ``D_i`` the change in Sigma along parameter i and ``c_i`` the change
    in mu, the Hessian is ``2 vec(D_i)' X vec(D_j) + c_i' Y vec(D_j) +
    c_j' Y vec(D_i) + c_i' Z c_j``, where, summed over patterns,
    ``X[(a,b),(c,d)] = n K[b,c] R[d,a]`` with ``K`` the inverse of the
    pattern's Sigma (zero where unanswered), ``R = K T K - K/2`` (``T`` the
    pattern's scatter about mu), ``Y[e,(a,b)] = 2 n K[e,a] (K d)[b]`` and
    ``Z = 2 n K``. The expected information has ``R = K/2`` and ``Y = 0``.
    """
    p = group.p
    x_bcda = np.zeros((p * p, p * p))
    y = np.zeros((p, p * p))
    z = np.zeros((p, p))
    for block in group.blocks:
        _, _, _, kinv, d, t = _block_moments(block, sigma, mu, False)
        r = 0.5 * kinv if expected else kinv @ t @ kinv - 0.5 * kinv
        kf = _embed(block, kinv, p)
        rf = _embed(block, r, p)
        n_pat = kf.shape[0]
        weighted = kf * block.n[:, None, None]
        x_bcda += weighted.reshape(n_pat, p * p).T @ rf.reshape(n_pat, p * p)
        z += 2.0 * weighted.sum(axis=0)
        if not expected:
            kd = _embed(block, np.einsum("pij,pj->pi", kinv, d), p)
            y += 2.0 * np.einsum("pea,pb->eab", weighted, kd).reshape(p, p * p)
    x = x_bcda.reshape(p, p, p, p).transpose(3, 0, 1, 2).reshape(p * p, p * p)
    return x, y, z


def _patterns(x: np.ndarray) -> list[_Block]:
    """Group the rows of ``x`` (NaN = missing) by missingness pattern, then by answered count."""
    answered = ~np.isnan(x)
    if x.shape[1] <= 62:
        # One integer per row (a bit per item) sorts far faster than rows of booleans.
        codes = answered.astype(np.int64) @ (np.int64(1) << np.arange(x.shape[1], dtype=np.int64))
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        patterns = answered[first]
    else:
        patterns, inverse = np.unique(answered, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    by_k: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for k_pat, pattern in enumerate(patterns):
        obs = np.flatnonzero(pattern)
        rows = x[order[bounds[k_pat] : bounds[k_pat + 1]]][:, obs]
        by_k.setdefault(len(obs), []).append((obs, rows))
    blocks = []
    p = x.shape[1]
    for k in sorted(by_k, reverse=True):
        entries = by_k[k]
        obs = np.array([e[0] for e in entries], dtype=int).reshape(len(entries), k)
        n = np.array([len(e[1]) for e in entries], dtype=float)
        means = np.array([e[1].mean(axis=0) for e in entries]).reshape(len(entries), k)
        scatter = np.empty((len(entries), k, k))
        for i, (_, rows) in enumerate(entries):
            centred = rows - means[i]
            scatter[i] = centred.T @ centred / len(rows)
        blocks.append(_Block(obs, n, means, scatter, [e[1] for e in entries], full=(k == p)))
    return blocks


def _em_saturated(x: np.ndarray, blocks: list[_Block], max_iter: int = 500, tol: float = 1e-5):
    """Saturated means and covariances under missing data, by lavaan's EM (same start and stop rule)."""
    n, p = x.shape
    mu0 = np.nanmean(x, axis=0)
    var0 = np.nanmean((x - mu0) ** 2, axis=0)
    var0 = np.where(np.isfinite(var0) & (var0 != 0), var0, 1.0)
    sigma0 = np.diag(var0)
    mu, sigma = mu0, sigma0
    iteration = 0
    vech = np.tril_indices(p)
    # Per block: second moments about 0 and the unanswered items of each pattern (fixed over iterations).
    seconds = [b.scatter + b.mean[:, :, None] * b.mean[:, None, :] for b in blocks]
    missing_items = []
    for b in blocks:
        answered = np.zeros((len(b.n), p), dtype=bool)
        answered[np.arange(len(b.n))[:, None], b.obs] = True
        missing_items.append(np.nonzero(~answered)[1].reshape(len(b.n), p - b.k))
    for iteration in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for block, second, mis in zip(blocks, seconds, missing_items, strict=True):
            if block.full:
                t1 += block.n @ block.mean
                t2 += np.einsum("p,pij->ij", block.n, second)
                continue
            n_pat, k = block.obs.shape
            o = block.obs
            s_oo = sigma[o[:, :, None], o[:, None, :]]
            s_mo = sigma[mis[:, :, None], o[:, None, :]]
            s_mm = sigma[mis[:, :, None], mis[:, None, :]]
            coef = s_mo @ np.linalg.inv(s_oo)  # regression of missing on answered
            cond = s_mm - coef @ s_mo.transpose(0, 2, 1)
            h = mu[mis] - np.einsum("pij,pj->pi", coef, mu[o])
            yhat = h + np.einsum("pij,pj->pi", coef, block.mean)
            e_mo = h[:, :, None] * block.mean[:, None, :] + coef @ second
            e_mm = (
                h[:, :, None] * h[:, None, :]
                + h[:, :, None] * (coef @ block.mean[:, :, None]).transpose(0, 2, 1)
                + (coef @ block.mean[:, :, None]) * h[:, None, :]
                + coef @ second @ coef.transpose(0, 2, 1)
                + cond
            )
            perm = np.concatenate([o, mis], axis=1)
            full = np.empty((n_pat, p, p))
            full[:, :k, :k] = second
            full[:, k:, :k] = e_mo
            full[:, :k, k:] = e_mo.transpose(0, 2, 1)
            full[:, k:, k:] = e_mm
            placed = np.empty_like(full)
            ar = np.arange(n_pat)[:, None, None]
            placed[ar, perm[:, :, None], perm[:, None, :]] = full
            t2 += np.einsum("p,pij->ij", block.n, placed)
            first = np.empty((n_pat, p))
            first[np.arange(n_pat)[:, None], perm] = np.concatenate([block.mean, yhat], axis=1)
            t1 += block.n @ first
        mu = t1 / n
        sigma = t2 / n - np.outer(mu, mu)
        if np.linalg.eigvalsh(sigma).min() < 1e-6:
            sigma = sigma + np.eye(p) * (np.diag(sigma).max() * 1e-8)
        delta = max(np.abs(mu - mu0).max(), np.abs((sigma - sigma0)[vech]).max())
        if delta < tol:
            break
        mu0, sigma0 = mu, sigma
    return mu, sigma, iteration


def _group_data(x: np.ndarray, label: str, fiml: bool) -> _GroupData:
    n, p = x.shape
    available_mean = np.nanmean(x, axis=0)
    available_var = np.nanmean((x - available_mean) ** 2, axis=0)
    n_log2pi = float((~np.isnan(x)).sum()) * _LOG2PI
    if not fiml:
        mean = x.mean(axis=0)
        centred = x - mean
        cov = centred.T @ centred / n
        block = _Block(np.arange(p)[None, :], np.array([float(n)]), mean[None, :], cov[None], [x], full=True)
        group = _GroupData(
            label, n, p, [block], mean, cov, 0.0, True, n_log2pi, available_mean, available_var
        )
        group.m2ll_h1 = _checked_h1(group, cov, mean)
        return group
    blocks = _patterns(x)
    mean, cov, iterations = _em_saturated(x, blocks)
    group = _GroupData(label, n, p, blocks, mean, cov, 0.0, False, n_log2pi, available_mean, available_var)
    group.m2ll_h1 = _checked_h1(group, cov, mean)
    group.em_iterations = iterations
    return group


def _checked_h1(group: _GroupData, cov: np.ndarray, mean: np.ndarray) -> float:
    try:
        return _moments_m2ll(group, cov, mean)
    except np.linalg.LinAlgError:
        return math.nan


@dataclass
class _Prepared:
    """Validated data: one _GroupData per group, and what was dropped."""

    groups: list[_GroupData]
    missing: str  # "listwise" (complete data) or "fiml"
    n_dropped: int
    notes: list[str]
    group_column: str | None
    ov: list[str]


def _prepare(
    data: pd.DataFrame, ov: Sequence[str], group: str | None, missing: str, group_labels=None
) -> _Prepared:
    if not isinstance(data, pd.DataFrame):
        raise CFAError(f"data must be a pandas DataFrame with one column per item, not {type(data).__name__}")
    missing = {"ml": "fiml", "fiml": "fiml", "listwise": "listwise", "auto": "auto"}.get(
        str(missing).lower(), ""
    )
    if not missing:
        raise CFAError(f"missing must be one of {', '.join(MISSING_MODES)}")
    absent = [v for v in ov if v not in data.columns]
    if absent:
        hints = []
        for v in absent:
            close = difflib.get_close_matches(v, [str(c) for c in data.columns], n=1)
            hints.append(f"{v} (did you mean {close[0]!r}?)" if close else v)
        raise CFAError(f"the data have no column for model variable(s): {', '.join(hints)}")
    values = data[list(ov)].apply(pd.to_numeric, errors="coerce")
    bad = [v for v in ov if (values[v].isna() & data[v].notna()).any()]
    if bad:
        raise CFAError(f"non-numeric answers in column(s) {', '.join(bad)}; recode them as numbers first")
    x_all = values.to_numpy(dtype=float)
    notes: list[str] = []
    if group is not None:
        if group not in data.columns:
            close = difflib.get_close_matches(str(group), [str(c) for c in data.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CFAError(f"the data have no group column {group!r}{hint}")
        gcol = data[group]
        has_group = gcol.notna().to_numpy()
        if not has_group.all():
            notes.append(f"{int((~has_group).sum())} row(s) without a value of {group!r} left out")
        codes = gcol[has_group]
        labels = list(pd.unique(codes)) if group_labels is None else list(group_labels)
        keys = codes.to_numpy()
        group_rows = [np.flatnonzero(has_group)[keys == lab] for lab in labels]
        labels = [str(lab) for lab in labels]
    else:
        labels = ["all"]
        group_rows = [np.arange(len(data))]
    any_missing = np.isnan(x_all[np.concatenate(group_rows)]).any() if group_rows else False
    mode = ("fiml" if any_missing else "listwise") if missing == "auto" else missing
    groups: list[_GroupData] = []
    n_dropped = 0
    for label, rows in zip(labels, group_rows, strict=True):
        x = x_all[rows]
        keep = ~np.isnan(x).any(axis=1) if mode == "listwise" else ~np.isnan(x).all(axis=1)
        n_dropped += int((~keep).sum())
        x = x[keep]
        where = f" in group {label!r}" if group is not None else ""
        if len(x) < 2:
            raise CFAError(f"only {len(x)} usable row(s){where}; a CFA needs many more respondents")
        fiml = mode == "fiml" and np.isnan(x).any()
        for j, name in enumerate(ov):
            answered = x[:, j][~np.isnan(x[:, j])]
            if len(answered) == 0:
                raise CFAError(f"item {name!r} has no answers{where}")
            if np.ptp(answered) == 0:
                raise CFAError(
                    f"item {name!r} has the same answer from everyone{where} (variance 0); a CFA cannot "
                    "use it: drop it from the model"
                )
        gd = _group_data(x, label, fiml)
        _check_positive_definite(gd.cov, ov, where, em=fiml)
        groups.append(gd)
    if n_dropped:
        what = "with a missing answer (listwise deletion)" if mode == "listwise" else "with no answers at all"
        notes.append(f"{n_dropped} row(s) {what} left out")
    return _Prepared(groups, mode, n_dropped, notes, group, list(ov))


def _check_positive_definite(cov: np.ndarray, ov: Sequence[str], where: str, em: bool) -> None:
    eigval, eigvec = np.linalg.eigh(cov)
    if eigval[0] > 1e-10 * max(eigval[-1], 1e-300):
        return
    involved = [ov[i] for i in np.argsort(-np.abs(eigvec[:, 0]))[:4] if abs(eigvec[i, 0]) > 0.1]
    what = "EM-estimated covariance matrix" if em else "sample covariance matrix"
    raise CFAError(
        f"the {what} of the items{where} is not positive definite (smallest eigenvalue {eigval[0]:.3g}): "
        f"some items are (nearly) linear combinations of others, e.g. {', '.join(involved)}; "
        "or there are fewer respondents than items. Drop redundant items or collect more data"
    )


# =========================================================================== engine


@dataclass
class _State:
    """Model matrices and implied moments of one group at a parameter vector."""

    lam: np.ndarray
    beta: np.ndarray
    psi: np.ndarray
    theta: np.ndarray
    nu: np.ndarray
    alpha: np.ndarray
    inv_ib: np.ndarray  # (I - B)^-1
    g: np.ndarray  # Lambda (I - B)^-1
    lv_cov: np.ndarray  # (I - B)^-1 Psi (I - B)^-T: covariances of the factors
    lm: np.ndarray  # Lambda lv_cov
    lv_mean: np.ndarray  # (I - B)^-1 alpha
    sigma: np.ndarray
    mu: np.ndarray


@dataclass
class _Elements:
    """Free (or candidate) matrix elements of one group: which matrix, row, column, parameter."""

    mat: np.ndarray
    i: np.ndarray
    j: np.ndarray
    param: np.ndarray

    def __len__(self) -> int:
        return len(self.mat)


def _element_vectors(state: _State, el: _Elements, meanstructure: bool):
    """For each element, Sigma changes by ``s (a b' + b a')`` and mu by ``c`` per unit of it."""
    p = state.sigma.shape[0]
    ne = len(el)
    a = np.zeros((ne, p))
    b = np.zeros((ne, p))
    s = np.ones(ne)
    c = np.zeros((ne, p))
    eye = np.eye(p)
    gt, lmt = state.g.T, state.lm.T
    for code in np.unique(el.mat):
        sel = el.mat == code
        i, j = el.i[sel], el.j[sel]
        if code == _LAMBDA:
            a[sel] = eye[i]
            b[sel] = lmt[j]
            c[sel] = eye[i] * state.lv_mean[j][:, None]
        elif code == _BETA:
            a[sel] = gt[i]
            b[sel] = lmt[j]
            c[sel] = gt[i] * state.lv_mean[j][:, None]
        elif code == _PSI:
            a[sel] = gt[i]
            b[sel] = gt[j]
            s[sel] = np.where(i == j, 0.5, 1.0)
        elif code == _THETA:
            a[sel] = eye[i]
            b[sel] = eye[j]
            s[sel] = np.where(i == j, 0.5, 1.0)
        elif code == _NU:
            c[sel] = eye[i]
        elif code == _ALPHA:
            c[sel] = gt[i]
    if not meanstructure:
        c[:] = 0.0
    return a, b, s, c


def _expected_information_elements(a, b, s, c, kinv) -> np.ndarray:
    """0.5 tr(K D_i K D_j) + c_i' K c_j for complete data, from the element vectors."""
    ak, bk = a @ kinv, b @ kinv
    pp = ak @ a.T
    qq = bk @ b.T
    rr = ak @ b.T
    out = np.outer(s, s) * (pp * qq + rr * rr.T)
    if c.any():
        out += c @ kinv @ c.T
    return out


def _observed_information_elements(a, b, s, c, group: _GroupData, st: _State) -> np.ndarray:
    """Hessian of 0.5 (-2 log-likelihood) / n for complete data, from the element vectors.

    ``tr(D_i K D_j R)`` with ``R = K T K - K/2`` expands into four products of
    bilinear forms; the mean terms are ``c_i' K D_j K d`` and ``c_i' K c_j``.
    """
    kinv = np.linalg.inv(st.sigma)
    d = group.mean - st.mu
    t = group.cov + np.outer(d, d)
    r = kinv @ t @ kinv - 0.5 * kinv
    ak, bk, ar, br = a @ kinv, b @ kinv, a @ r, b @ r
    bka, bkb, aka, akb = bk @ a.T, bk @ b.T, ak @ a.T, ak @ b.T
    arb, ara, brb, bra = ar @ b.T, ar @ a.T, br @ b.T, br @ a.T
    out = np.outer(s, s) * (bka * arb + bkb * ara + aka * brb + akb * bra)
    if c.any():
        kd = kinv @ d
        ck = c @ kinv
        cross = s[None, :] * ((ck @ a.T) * (b @ kd)[None, :] + (ck @ b.T) * (a @ kd)[None, :])
        out += cross + cross.T + ck @ c.T
    return out


class _Engine:
    """Objective, gradient, information, Hessian and scores of a (multi-group) model."""

    def __init__(self, spec: _Spec, groups: list[_GroupData]):
        self.spec = spec
        self.groups = groups
        self.p = len(spec.ov)
        self.m = len(spec.lv)
        self.n_total = sum(g.n for g in groups)
        self.weights = np.array([g.n / self.n_total for g in groups])
        self.q = spec.n_free
        self.meanstructure = spec.meanstructure
        self.has_beta = bool(np.any(spec.mat == _BETA))
        self.fixed: list[dict[int, np.ndarray]] = []
        self.elements: list[_Elements] = []
        self.incidence: list[np.ndarray] = []
        self.unique_params: list[bool] = []
        p, m = self.p, self.m
        for g in range(spec.n_groups):
            mats = {
                _LAMBDA: np.zeros((p, m)),
                _BETA: np.zeros((m, m)),
                _PSI: np.zeros((m, m)),
                _THETA: np.zeros((p, p)),
                _NU: np.zeros((p, 1)),
                _ALPHA: np.zeros((m, 1)),
            }
            rows = np.flatnonzero(spec.group == g)
            for k in rows:
                if spec.free[k] < 0:
                    mats[spec.mat[k]][spec.row[k], spec.col[k]] = spec.value[k]
                    if spec.mat[k] in (_PSI, _THETA):
                        mats[spec.mat[k]][spec.col[k], spec.row[k]] = spec.value[k]
            self.fixed.append(mats)
            free_rows = rows[spec.free[rows] >= 0]
            el = _Elements(
                spec.mat[free_rows], spec.row[free_rows], spec.col[free_rows], spec.free[free_rows]
            )
            self.elements.append(el)
            inc = np.zeros((len(el), self.q))
            inc[np.arange(len(el)), el.param] = 1.0
            self.incidence.append(inc)
            self.unique_params.append(len(np.unique(el.param)) == len(el))
        self.std_plan = _std_plan(spec)

    # -- implied moments -----------------------------------------------------------
    def state(self, g: int, x: np.ndarray) -> _State:
        mats = {code: arr.copy() for code, arr in self.fixed[g].items()}
        el = self.elements[g]
        values = x[el.param]
        for code, arr in mats.items():
            sel = el.mat == code
            if sel.any():
                arr[el.i[sel], el.j[sel]] = values[sel]
                if code in (_PSI, _THETA):
                    arr[el.j[sel], el.i[sel]] = values[sel]
        lam, beta, psi, theta = mats[_LAMBDA], mats[_BETA], mats[_PSI], mats[_THETA]
        nu, alpha = mats[_NU][:, 0], mats[_ALPHA][:, 0]
        inv_ib = np.linalg.inv(np.eye(self.m) - beta) if self.has_beta else np.eye(self.m)
        gmat = lam @ inv_ib
        lv_cov = inv_ib @ psi @ inv_ib.T
        lm = lam @ lv_cov
        sigma = lm @ lam.T + theta
        sigma = (sigma + sigma.T) / 2
        lv_mean = inv_ib @ alpha
        mu = nu + lam @ lv_mean if self.meanstructure else self.groups[g].mean
        return _State(lam, beta, psi, theta, nu, alpha, inv_ib, gmat, lv_cov, lm, lv_mean, sigma, mu)

    def states(self, x: np.ndarray) -> list[_State]:
        return [self.state(g, x) for g in range(len(self.groups))]

    # -- objective -------------------------------------------------------------------
    def m2ll(self, x: np.ndarray) -> np.ndarray:
        """-2 log-likelihood (without 2*pi) per group; inf when Sigma is not positive definite."""
        out = np.empty(len(self.groups))
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            try:
                out[g] = _moments_m2ll(group, st.sigma, st.mu)
            except np.linalg.LinAlgError:
                out[g] = np.inf
        return out

    def objective(self, x: np.ndarray) -> float:
        """lavaan's fit function: sum over groups of (n_g/N) 0.5 (F_ML or FIML discrepancy)."""
        m2ll = self.m2ll(x)
        if not np.all(np.isfinite(m2ll)):
            return math.inf
        h1 = np.array([g.m2ll_h1 for g in self.groups])
        return float(0.5 * (m2ll - h1).sum() / self.n_total)

    def _group_gradient(self, g: int, st: _State, g_sigma: np.ndarray, g_mu: np.ndarray) -> np.ndarray:
        a, b, s, c = _element_vectors(st, self.elements[g], self.meanstructure)
        ge = 2.0 * s * np.einsum("ep,pq,eq->e", a, g_sigma, b)
        if self.meanstructure:
            ge += c @ g_mu
        return ge @ self.incidence[g]

    def objective_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros(self.q)
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            try:
                m2ll, g_sigma, g_mu = _moments_gradient(group, st.sigma, st.mu)
            except np.linalg.LinAlgError:
                return math.inf, grad
            total += m2ll - group.m2ll_h1
            grad += self._group_gradient(g, st, g_sigma, g_mu)
        scale = 0.5 / self.n_total
        return float(total * scale), grad * scale

    # -- information -----------------------------------------------------------------
    def _to_params(self, g: int, elem_matrix: np.ndarray) -> np.ndarray:
        """Element-space matrix summed into parameter space (equal parameters add up)."""
        param = self.elements[g].param
        if self.unique_params[g]:
            out = np.zeros((self.q, self.q))
            out[np.ix_(param, param)] = elem_matrix
            return out
        inc = self.incidence[g]
        return inc.T @ elem_matrix @ inc

    def fisher_information(self, x: np.ndarray) -> np.ndarray:
        """Expected information (per respondent) as if the data were complete: the scoring matrix."""
        info = np.zeros((self.q, self.q))
        for g in range(len(self.groups)):
            st = self.state(g, x)
            kinv = np.linalg.inv(st.sigma)
            a, b, s, c = _element_vectors(st, self.elements[g], self.meanstructure)
            info += self.weights[g] * self._to_params(g, _expected_information_elements(a, b, s, c, kinv))
        return info

    def _hessian_elements(self, g: int, st: _State, el: _Elements, expected: bool) -> np.ndarray:
        """Per-respondent second derivatives of the fit function from the data terms (element space)."""
        group = self.groups[g]
        a, b, s, c = _element_vectors(st, el, self.meanstructure)
        if group.complete and expected:
            return self.weights[g] * _expected_information_elements(a, b, s, c, np.linalg.inv(st.sigma))
        if group.complete:
            return self.weights[g] * _observed_information_elements(a, b, s, c, group, st)
        x4, y, z = _moments_hessian_terms(group, st.sigma, st.mu, expected)
        dv = s[:, None] * ((a[:, :, None] * b[:, None, :]) + (b[:, :, None] * a[:, None, :])).reshape(
            len(el), -1
        )
        h = 2.0 * dv @ x4 @ dv.T
        if self.meanstructure:
            cy = c @ y @ dv.T
            h += cy + cy.T + c @ z @ c.T
        return 0.5 * h / self.n_total

    def expected_information(self, x: np.ndarray) -> np.ndarray:
        """Expected information per respondent (pattern by pattern under FIML)."""
        info = np.zeros((self.q, self.q))
        for g in range(len(self.groups)):
            st = self.state(g, x)
            info += self._to_params(g, self._hessian_elements(g, st, self.elements[g], expected=True))
        return info

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of the fit function (lavaan's observed information, per respondent)."""
        hess = np.zeros((self.q, self.q))
        grads = []
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            hess += self._to_params(g, self._hessian_elements(g, st, self.elements[g], expected=False))
            _, g_sigma, g_mu = _moments_gradient(group, st.sigma, st.mu)
            grads.append((g_sigma, g_mu))
            if not self.has_beta:
                curvature = _model_curvature(st, self.elements[g], g_sigma, g_mu, self.meanstructure)
                hess += self._to_params(g, curvature * 0.5 / self.n_total)
        if self.has_beta:
            hess += self._numeric_curvature(x, grads)
        return (hess + hess.T) / 2

    def _numeric_curvature(self, x: np.ndarray, grads) -> np.ndarray:
        """Curvature of Sigma(theta), mu(theta) weighted by the data gradient, by central differences.

        Used for models with factor-on-factor paths; the gradient with the data
        terms held fixed is nearly linear in the parameters, so the differences are accurate.
        """

        def chain(xx: np.ndarray) -> np.ndarray:
            out = np.zeros(self.q)
            for g in range(len(self.groups)):
                out += self._group_gradient(g, self.state(g, xx), *grads[g])
            return out * 0.5 / self.n_total

        second = np.zeros((self.q, self.q))
        for t in range(self.q):
            h = 1e-5 * max(1.0, abs(x[t]))
            up, down = x.copy(), x.copy()
            up[t] += h
            down[t] -= h
            second[:, t] = (chain(up) - chain(down)) / (2 * h)
        return (second + second.T) / 2

    # -- casewise scores -------------------------------------------------------------
    def first_order_information(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Sum over groups of (n_g/N) B0_g, with B0_g the mean outer product of casewise scores.

        Scores are taken at the model-implied moments (lavaan's "structured" h1),
        with the sample means for the mean when there is no mean structure.
        """
        total = np.zeros((self.q, self.q))
        per_group = []
        for g, group in enumerate(self.groups):
            st = self.state(g, x)
            scores = _casewise_scores(
                group, st.sigma, st.mu, *_element_vectors(st, self.elements[g], self.meanstructure)
            )
            sc = scores @ self.incidence[g]
            b0 = sc.T @ sc / group.n
            per_group.append(b0)
            total += self.weights[g] * b0
        return total, per_group


def _model_curvature(st: _State, el: _Elements, g_sigma: np.ndarray, g_mu: np.ndarray, meanstructure: bool):
    """sum_k (d m2ll / d sigma_k) d2 sigma_k / d theta_i d theta_j for a model without factor paths.

    Sigma = Lambda Psi Lambda' + Theta and mu = nu + Lambda alpha are linear in
    each matrix, so only loading-loading, loading-Psi and loading-alpha pairs
    have second derivatives:
    2 Gs[i,k] Psi[j,l]; 2 s (delta_jk (Gs Lambda)[i,l] + delta_jl (Gs Lambda)[i,k]); g_mu[i] delta_jk.
    """
    ne = len(el)
    out = np.zeros((ne, ne))
    lam_idx = np.flatnonzero(el.mat == _LAMBDA)
    if len(lam_idx) == 0:
        return out
    li, lj = el.i[lam_idx], el.j[lam_idx]
    out[np.ix_(lam_idx, lam_idx)] = 2.0 * g_sigma[np.ix_(li, li)] * st.psi[np.ix_(lj, lj)]
    gs_lam = g_sigma @ st.lam
    psi_idx = np.flatnonzero(el.mat == _PSI)
    if len(psi_idx):
        k, l_ = el.i[psi_idx], el.j[psi_idx]
        s = np.where(k == l_, 0.5, 1.0)
        block = (
            2.0
            * s[None, :]
            * (
                (lj[:, None] == k[None, :]) * gs_lam[li[:, None], l_[None, :]]
                + (lj[:, None] == l_[None, :]) * gs_lam[li[:, None], k[None, :]]
            )
        )
        out[np.ix_(lam_idx, psi_idx)] = block
        out[np.ix_(psi_idx, lam_idx)] = block.T
    alpha_idx = np.flatnonzero(el.mat == _ALPHA)
    if meanstructure and len(alpha_idx):
        k = el.i[alpha_idx]
        block = g_mu[li][:, None] * (lj[:, None] == k[None, :])
        out[np.ix_(lam_idx, alpha_idx)] = block
        out[np.ix_(alpha_idx, lam_idx)] = block.T
    return out


def _casewise_scores(group: _GroupData, sigma, mu, a, b, s, c) -> np.ndarray:
    """Derivative of each respondent's log-likelihood along each element (rows: respondents)."""
    out = []
    for block in group.blocks:
        for k_pat, rows in enumerate(block.rows):
            obs = block.obs[k_pat]
            kinv = np.linalg.inv(sigma[np.ix_(obs, obs)])
            z = (rows - mu[obs]) @ kinv
            a_o, b_o, c_o = a[:, obs], b[:, obs], c[:, obs]
            akb = np.einsum("ep,pq,eq->e", a_o, kinv, b_o)
            sc = s * ((z @ a_o.T) * (z @ b_o.T) - akb) + z @ c_o.T
            out.append(sc)
    return np.vstack(out)


# ==================================================================== estimation


def _start_values(spec: _Spec, groups: list[_GroupData]) -> np.ndarray:
    """Starting values: one-factor principal-axis loadings per factor, scaled to the identification."""
    x = np.full(spec.n_free, np.nan)
    lv_set = set(spec.lv)
    ov_index = {n: i for i, n in enumerate(spec.ov)}
    for g, group in enumerate(groups):
        cov, mean = group.cov, group.mean
        rows = np.flatnonzero(spec.group == g)
        values: dict[int, float] = {}
        loading: dict[tuple[str, str], float] = {}
        lv_var: dict[str, float] = {}
        for f in spec.lv:
            ind = [k for k in rows if spec.op[k] == "=~" and spec.lhs[k] == f and spec.rhs[k] not in lv_set]
            if not ind:
                continue
            idx = [ov_index[spec.rhs[k]] for k in ind]
            sub = cov[np.ix_(idx, idx)]
            if len(idx) == 1:
                vec = np.array([math.sqrt(0.5 * sub[0, 0])])
            else:
                eigval, eigvec = np.linalg.eigh(sub)
                vec = eigvec[:, -1] * math.sqrt(max(eigval[-1], 1e-8))
                if vec.sum() < 0:
                    vec = -vec
            fixed = [
                (pos, spec.value[k]) for pos, k in enumerate(ind) if spec.free[k] < 0 and spec.value[k] != 0
            ]
            scale = fixed[0][1] / vec[fixed[0][0]] if fixed and abs(vec[fixed[0][0]]) > 1e-8 else 1.0
            lv_var[f] = 1.0 / scale**2
            for pos, k in enumerate(ind):
                loading[(f, spec.rhs[k])] = vec[pos] * scale
        for k in rows:
            if spec.free[k] < 0:
                continue
            lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
            if not np.isnan(spec.start[k]):
                values[k] = spec.start[k]
            elif op == "=~" and rhs not in lv_set:
                values[k] = loading.get((lhs, rhs), 1.0)
            elif op in ("=~", "~"):
                values[k] = 1.0 if op == "=~" else 0.0
            elif op == "~~" and lhs == rhs and lhs in lv_set:
                higher = any(
                    spec.op[j] == "=~" and spec.lhs[j] == lhs and spec.rhs[j] in lv_set for j in rows
                )
                lower = any(spec.op[j] == "=~" and spec.rhs[j] == lhs for j in rows)
                base = lv_var.get(lhs, 1.0)
                if higher:
                    kids = [spec.rhs[j] for j in rows if spec.op[j] == "=~" and spec.lhs[j] == lhs]
                    base = float(np.mean([lv_var.get(kid, 1.0) for kid in kids]))
                values[k] = 0.5 * base if (higher or lower) else base
            elif op == "~~" and lhs == rhs:
                i = ov_index[lhs]
                communality = sum(loading.get((f, lhs), 0.0) ** 2 * lv_var.get(f, 1.0) for f in spec.lv)
                values[k] = float(np.clip(cov[i, i] - communality, 0.1 * cov[i, i], 0.9 * cov[i, i]))
            elif op == "~1" and lhs not in lv_set:
                values[k] = float(mean[ov_index[lhs]])
            else:
                values[k] = 0.0
        for k, v in values.items():
            if np.isnan(x[spec.free[k]]):
                x[spec.free[k]] = v
    return np.where(np.isnan(x), 0.0, x)


@dataclass
class _Optimum:
    x: np.ndarray
    objective: float
    converged: bool
    iterations: int
    message: str = ""
    information: np.ndarray | None = None  # the last scoring matrix, at x
    information_kind: str = ""  # "fisher" (complete-data expected) or "observed"


def _optimize(engine: _Engine, x0: np.ndarray, max_iter: int = 1000) -> _Optimum:
    """Fisher scoring with a backtracking line search; the Newton decrement decides convergence."""
    x = x0.copy()
    f, grad = engine.objective_gradient(x)
    if not math.isfinite(f):
        # A start with an implied covariance matrix that is not positive definite: shrink the
        # loadings and covariances towards a diagonal model until it is.
        for _ in range(30):
            x = _shrink_start(engine, x)
            f, grad = engine.objective_gradient(x)
            if math.isfinite(f):
                break
        else:
            return _Optimum(x, f, False, 0, "no admissible starting values")
    iterations = 0
    newton = False
    for iterations in range(1, max_iter + 1):
        # Fisher scoring first (robust far from the optimum), then Newton steps with the exact
        # Hessian whenever it is positive definite: quadratic convergence even when the model
        # fits badly, where scoring alone crawls.
        info = engine.observed_information(x) if newton else engine.fisher_information(x)
        kind = "observed" if newton else "fisher"
        try:
            step = -linalg.cho_solve(linalg.cho_factor(info), grad)
        except (linalg.LinAlgError, ValueError):
            info = engine.fisher_information(x)
            kind = "fisher"
            try:
                step = -linalg.cho_solve(linalg.cho_factor(info), grad)
            except (linalg.LinAlgError, ValueError):
                ridge = 1e-8 * max(1.0, float(np.abs(np.diag(info)).max()))
                step = -np.linalg.lstsq(info + ridge * np.eye(len(x)), grad, rcond=None)[0]
        decrement = -float(grad @ step)
        # The decrement estimates twice the distance to the minimum; below ~1e-15 |f| the fit
        # function cannot resolve further progress (the estimates are then accurate to ~1e-8).
        if decrement < 1e-15 * max(1.0, abs(f)) or np.abs(step).max() < 1e-13 * max(1.0, np.abs(x).max()):
            return _Optimum(x, f, True, iterations, "", info, kind)
        t = 1.0
        while True:
            x_new = x + t * step
            # The full step is nearly always taken: evaluate its gradient at once.
            f_new, grad_new = (
                engine.objective_gradient(x_new) if t == 1.0 else (engine.objective(x_new), None)
            )
            if math.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-10:
                # Near the optimum the fit function stops decreasing in floating point.
                converged = decrement < 1e-12
                return _Optimum(x, f, converged, iterations, "" if converged else "line search failed")
        x = x_new
        f, grad = (f_new, grad_new) if grad_new is not None else engine.objective_gradient(x)
        newton = iterations >= 3 and (t == 1.0 or kind == "fisher")
    return _Optimum(x, f, False, iterations, f"no convergence in {max_iter} iterations")


def _shrink_start(engine: _Engine, x: np.ndarray) -> np.ndarray:
    spec = engine.spec
    out = x.copy()
    for k in range(spec.n_rows):
        t = spec.free[k]
        if t < 0:
            continue
        if spec.mat[k] in (_LAMBDA, _BETA) or (spec.mat[k] in (_PSI, _THETA) and spec.row[k] != spec.col[k]):
            out[t] = x[t] * 0.5
    return out


# ================================================================= fit statistics


def _r_zeroin(f: Callable[[float], float], lower: float, upper: float) -> float:
    """R's ``uniroot`` (Brent's zeroin, R_zeroin2) with its default tolerance, so roots match R's digits."""
    eps = float(np.finfo(float).eps)
    tol = eps**0.25  # uniroot's default: .Machine$double.eps^0.25
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(1001):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _pchisq(x: float, df: float, ncp: float) -> float:
    """R's pchisq(x, df, ncp); the ufuncs give the same digits as scipy.stats, 40 times faster."""
    return float(special.chdtr(df, x)) if ncp == 0 else float(special.chndtr(x, df, ncp))


def _rmsea(chisq: float, df: float, n: int, groups: int, c_hat: float = 1.0) -> float:
    if not (df > 0):
        return 0.0 if df == 0 else math.nan
    return math.sqrt(max(chisq / n / df - c_hat / n, 0.0)) * math.sqrt(groups)


def _rmsea_ci(chisq: float, df: float, n: int, groups: int, c_hat: float = 1.0, level: float = 0.90):
    """lavaan's lav_fit_rmsea_ci: non-central chi-square limits found by R's uniroot."""
    if not (math.isfinite(chisq) and df > 0):
        return math.nan, math.nan
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2
    if df < 1 or _pchisq(chisq, df, 0) - upper_p < 0:
        lo = 0.0
    else:
        lam = _r_zeroin(lambda ncp: _pchisq(chisq, df, ncp) - upper_p, 0.0, chisq)
        lo = math.sqrt(c_hat * lam / (n * df)) * (math.sqrt(groups) if groups > 1 else 1.0)
    n_rmsea = max(n, chisq * 4)
    if df < 1 or _pchisq(chisq, df, n_rmsea) - lower_p > 0 or _pchisq(chisq, df, 0) - lower_p < 0:
        hi = 0.0
    else:
        lam = _r_zeroin(lambda ncp: _pchisq(chisq, df, ncp) - lower_p, 0.0, n_rmsea)
        hi = math.sqrt(c_hat * lam / (n * df)) * (math.sqrt(groups) if groups > 1 else 1.0)
    return lo, hi


def _rmsea_pclose(chisq: float, df: float, n: int, groups: int, h0: float = 0.05) -> float:
    if not (math.isfinite(chisq) and df > 0):
        return math.nan
    return 1 - _pchisq(chisq, df, n * df * h0**2 / groups)


def _cfi(x2, df, x2_null, df_null, c_hat=None, c_hat_null=None) -> float:
    """lavaan's lav_fit_cfi (with the robust correction when scaling factors are given)."""
    values = [x2, df, x2_null, df_null]
    if not all(v is not None and math.isfinite(v) for v in values):
        return math.nan
    if c_hat is not None and c_hat_null is not None and df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = max(x2 - c_hat * df, 0.0)
        t2 = max(x2 - c_hat * df, x2_null - c_hat_null * df_null, 0.0)
    else:
        t1 = max(x2 - df, 0.0)
        t2 = max(x2 - df, x2_null - df_null, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:
        return 1.0
    return 1 - t1 / t2


def _tli(x2, df, x2_null, df_null, c_hat=None, c_hat_null=None) -> float:
    """lavaan's lav_fit_tli (with the robust correction when scaling factors are given)."""
    values = [x2, df, x2_null, df_null]
    if not all(v is not None and math.isfinite(v) for v in values):
        return math.nan
    if c_hat is not None and c_hat_null is not None and df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = (x2 - c_hat * df) * df_null
        t2 = (x2_null - c_hat_null * df_null) * df
    else:
        t1 = (x2 - df) * df_null
        t2 = (x2_null - df_null) * df
    if df > 0 and abs(t2) > 0:
        return 1 - t1 / t2
    return 1.0


def _srmr(groups: list[_GroupData], states: list[_State], meanstructure: bool) -> tuple[float, list[float]]:
    """lavaan's "srmr" (Bentler's; with the means when there is a mean structure), weighted by n_g/N."""
    per_group = []
    n_total = sum(g.n for g in groups)
    for group, st in zip(groups, states, strict=True):
        s_cov, s_mean = group.cov, group.mean
        p = len(s_mean)
        sd = np.sqrt(np.diag(s_cov))
        resid = (s_cov - st.sigma) / np.outer(sd, sd)
        total = float((resid[np.tril_indices(p)] ** 2).sum())
        count = p * (p + 1) / 2
        if meanstructure:
            total += float((((s_mean - st.mu) / sd) ** 2).sum())
            count += p
        per_group.append(math.sqrt(total / count))
    srmr = float(sum(g.n / n_total * v for g, v in zip(groups, per_group, strict=True)))
    return srmr, per_group


def _baseline_spec(ov: Sequence[str], n_groups: int, meanstructure: bool) -> _Spec:
    """The independence (baseline) model: free variances (and means), no covariances."""
    lhs, op, rhs, group, mat, row = [], [], [], [], [], []
    for g in range(n_groups):
        for i, o in enumerate(ov):
            lhs.append(o)
            op.append("~~")
            rhs.append(o)
            group.append(g)
            mat.append(_THETA)
            row.append(i)
        if meanstructure:
            for i, o in enumerate(ov):
                lhs.append(o)
                op.append("~1")
                rhs.append("")
                group.append(g)
                mat.append(_NU)
                row.append(i)
    n = len(lhs)
    row_arr = np.array(row, dtype=int)
    return _Spec(
        lhs=lhs,
        op=op,
        rhs=rhs,
        group=np.array(group, dtype=int),
        user=np.zeros(n, dtype=int),
        mat=np.array(mat, dtype=int),
        row=row_arr,
        col=np.where(np.array(mat) == _THETA, row_arr, 0),
        free=np.arange(n),
        value=np.full(n, np.nan),
        label=[""] * n,
        start=np.full(n, np.nan),
        ov=list(ov),
        lv=[],
        n_groups=n_groups,
        meanstructure=meanstructure,
        n_free=n,
    )


def _baseline(groups: list[_GroupData], ov: Sequence[str], meanstructure: bool) -> tuple[_Engine, np.ndarray]:
    """The baseline model at its (closed-form) maximum-likelihood estimates."""
    spec = _baseline_spec(ov, len(groups), meanstructure)
    engine = _Engine(spec, groups)
    x = np.empty(spec.n_free)
    for k in range(spec.n_rows):
        group = groups[spec.group[k]]
        # Under independence the likelihood factors by item: each item's own mean and
        # variance (over the respondents who answered it) are the estimates.
        var = group.cov.diagonal() if group.complete else group.available_var
        mean = group.mean if group.complete else group.available_mean
        x[spec.free[k]] = var[spec.row[k]] if spec.mat[k] == _THETA else mean[spec.row[k]]
    return engine, x


def _saturated_elements(p: int) -> _Elements:
    rows, cols = np.tril_indices(p)
    mat = np.concatenate([np.full(len(rows), _THETA), np.full(p, _NU)])
    i = np.concatenate([rows, np.arange(p)])
    j = np.concatenate([cols, np.zeros(p, dtype=int)])
    return _Elements(mat, i, j, np.arange(len(mat)))


def _saturated_vectors(p: int):
    """Element vectors of the saturated model: covariances (lower triangle) then means."""
    el = _saturated_elements(p)
    eye = np.eye(p)
    is_mean = el.mat == _NU
    a = np.where(is_mean[:, None], 0.0, eye[el.i])
    b = np.where(is_mean[:, None], 0.0, eye[el.j])
    s = np.where(~is_mean & (el.i == el.j), 0.5, 1.0)
    c = np.where(is_mean[:, None], eye[el.i], 0.0)
    return a, b, s, c


def _saturated_information(group: _GroupData) -> tuple[np.ndarray, np.ndarray]:
    """Observed (A1) and first-order (B1) information of the saturated model at its estimates.

    Per respondent of the group, in the (lower-triangle covariances, means)
    parameterization; under FIML at the EM estimates, pattern by pattern.
    """
    a, b, s, c = _saturated_vectors(group.p)
    x4, y, z = _moments_hessian_terms(group, group.cov, group.mean, expected=False)
    dv = s[:, None] * ((a[:, :, None] * b[:, None, :]) + (b[:, :, None] * a[:, None, :])).reshape(len(s), -1)
    cy = c @ y @ dv.T
    a1 = 0.5 * (2.0 * dv @ x4 @ dv.T + cy + cy.T + c @ z @ c.T) / group.n
    scores = _casewise_scores(group, group.cov, group.mean, a, b, s, c)
    b1 = scores.T @ scores / group.n
    return a1, b1


def _trace_h1(group: _GroupData, meanstructure: bool) -> float:
    """trace(A1^-1 B1) of the saturated model (lavaan's Yuan-Bentler-Mplus h1 trace) for one group.

    Complete data: A1 and B1 at the sample moments give ``(b2 - p)/2`` (+ p with
    means), b2 being Mardia's multivariate kurtosis. Under FIML both are taken
    at the EM estimates, pattern by pattern.
    """
    p = group.p
    if group.complete:
        x = group.blocks[0].rows[0]
        centred = x - group.mean
        dist = np.einsum("ij,ij->i", centred @ np.linalg.inv(group.cov), centred)
        trace = 0.5 * (float(np.mean(dist**2)) - p)
        return trace + (p if meanstructure else 0.0)
    a1, b1 = _saturated_information(group)
    return float(np.trace(np.linalg.solve(a1, b1)))


def _saturated_jacobian(engine: _Engine, g: int, x: np.ndarray) -> np.ndarray:
    """d(lower-triangle Sigma, mu) / d theta for group g (lavaan's Delta)."""
    st = engine.state(g, x)
    a, b, s, c = _element_vectors(st, engine.elements[g], engine.meanstructure)
    rows, cols = np.tril_indices(engine.p)
    d_sigma = s[:, None] * (a[:, rows] * b[:, cols] + b[:, rows] * a[:, cols])
    delta = np.concatenate([d_sigma, c], axis=1).T
    return delta @ engine.incidence[g]


def _fiml_corrected(engine, x, base_engine, base_x, groups, df, baseline_df, n_total) -> dict[str, Any]:
    """Robust CFI, TLI and RMSEA under missing data: lavaan 0.6-14's FIML-corrected (V3) versions.

    The model is evaluated (not refitted) against the EM means and covariances
    as if they were complete data (``XX3``), and the scaling ``c3`` comes from
    the trace of ``U Wm^-1 Wc Wm^-1 U Gamma`` (Savalei's FIML-C), as in
    lavaan's ``lav_fit_fiml_corrected``.
    """
    n_groups = len(groups)
    p = groups[0].p
    a_s, b_s, s_s, c_s = _saturated_vectors(p)
    fg = [g.n / n_total for g in groups]
    wm, wmi, wc, gamma = [], [], [], []
    for group in groups:
        a1, b1 = _saturated_information(group)
        a1_inv = np.linalg.inv(a1)
        wm.append(a1)
        wmi.append(a1_inv)
        wc.append(_expected_information_elements(a_s, b_s, s_s, c_s, np.linalg.inv(group.cov)))
        gamma.append(a1_inv @ b1 @ a1_inv)
    wm_all = linalg.block_diag(*[f * w for f, w in zip(fg, wm, strict=True)])
    wmi_all = linalg.block_diag(*[w / f for f, w in zip(fg, wmi, strict=True)])
    wc_all = linalg.block_diag(*[f * w for f, w in zip(fg, wc, strict=True)])
    gamma_all = linalg.block_diag(*[w / f for f, w in zip(fg, gamma, strict=True)])
    middle = wmi_all @ wc_all @ wmi_all

    def complete_chisq(eng: _Engine, xx: np.ndarray) -> float:
        total = 0.0
        for g, group in enumerate(groups):
            st = eng.state(g, xx)
            d = group.mean - st.mu
            kinv = np.linalg.inv(st.sigma)
            total += group.n * (
                np.linalg.slogdet(st.sigma)[1]
                + np.sum(kinv * (group.cov + np.outer(d, d)))
                - np.linalg.slogdet(group.cov)[1]
                - p
            )
        return float(total)

    def trace(eng: _Engine, xx: np.ndarray) -> float:
        delta = np.vstack([_saturated_jacobian(eng, g, xx) for g in range(n_groups)])
        info = delta.T @ wm_all @ delta
        wd = wm_all @ delta
        u = wm_all - wd @ np.linalg.solve(info, wd.T)
        return float(np.sum((u @ middle @ u) * gamma_all.T))

    xx3 = complete_chisq(engine, x)
    xx3_null = complete_chisq(base_engine, base_x)
    c3 = trace(engine, x) / df
    c3_null = trace(base_engine, base_x) / baseline_df
    lo, hi = _rmsea_ci(xx3 / c3, df, n_total, n_groups, c_hat=c3)
    return {
        "cfi_robust": _cfi(xx3, df, xx3_null, baseline_df, c3, c3_null),
        "tli_robust": _tli(xx3, df, xx3_null, baseline_df, c3, c3_null),
        "rmsea_robust": _rmsea(xx3, df, n_total, n_groups, c3),
        "rmsea_ci_lower_robust": lo,
        "rmsea_ci_upper_robust": hi,
    }


# ========================================================== standardized solution


def _estimates(spec: _Spec, x: np.ndarray) -> np.ndarray:
    return np.where(spec.free >= 0, x[np.maximum(spec.free, 0)], spec.value)


@dataclass
class _StdPlan:
    """Which factor SDs multiply and which factor or item SDs divide each row (lavaan's std rules)."""

    mul_lv: np.ndarray
    div_lv: np.ndarray
    div_lv2: np.ndarray
    div_ov: np.ndarray
    div_ov2: np.ndarray
    cov_a: np.ndarray  # variance rows whose sqrt(|est|) divide a covariance (cov.std)
    cov_b: np.ndarray


def _std_plan(spec: _Spec) -> _StdPlan:
    n = spec.n_rows
    arrays = {name: np.full(n, -1, dtype=int) for name in _StdPlan.__dataclass_fields__}
    lv_index = {n_: i for i, n_ in enumerate(spec.lv)}
    ov_index = {n_: i for i, n_ in enumerate(spec.ov)}
    variance_row = {
        (spec.group[k], spec.lhs[k]): k for k in range(n) if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k]
    }
    for k in range(n):
        lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
        if op == "=~":
            arrays["mul_lv"][k] = lv_index[lhs]
            if rhs in lv_index:
                arrays["div_lv"][k] = lv_index[rhs]
            else:
                arrays["div_ov"][k] = ov_index[rhs]
        elif op == "~":
            arrays["mul_lv"][k] = lv_index[rhs]
            arrays["div_lv"][k] = lv_index[lhs]
        elif op == "~~" and lhs == rhs:
            if lhs in lv_index:
                arrays["div_lv"][k] = arrays["div_lv2"][k] = lv_index[lhs]
            else:
                arrays["div_ov"][k] = arrays["div_ov2"][k] = ov_index[lhs]
        elif op == "~~":
            arrays["cov_a"][k] = variance_row[(spec.group[k], lhs)]
            arrays["cov_b"][k] = variance_row[(spec.group[k], rhs)]
        elif op == "~1":
            if lhs in lv_index:
                arrays["div_lv"][k] = lv_index[lhs]
            else:
                arrays["div_ov"][k] = ov_index[lhs]
    return _StdPlan(**arrays)


def _standardized(spec: _Spec, engine: _Engine, x: np.ndarray, kind: str = "all") -> np.ndarray:
    """lavaan's std.all (or std.lv) value of every row of the parameter table.

    Loadings are multiplied by the factor's SD and divided by the item's
    model-implied SD; variances divided by the total variance; covariances
    divided by the square roots of the two residual variances (``cov.std``);
    intercepts and means by the SD.
    """
    plan = engine.std_plan
    est = _estimates(spec, x)
    states = engine.states(x)
    with np.errstate(invalid="ignore"):
        lv_var = np.array([np.diag(st.lv_cov) for st in states]).reshape(spec.n_groups, -1)
        lv_var = np.where(lv_var < 0, np.nan, lv_var)
        ov_var = np.array([np.diag(st.sigma) for st in states])
        if kind != "all":
            ov_var = np.ones_like(ov_var)
        ov_var = np.where(ov_var < 0, np.nan, ov_var)
    eta, ov_sd = np.sqrt(lv_var), np.sqrt(ov_var)
    g = spec.group

    def gather(table: np.ndarray, index: np.ndarray) -> np.ndarray:
        if table.shape[1] == 0:
            return np.ones(len(index))
        return np.where(index >= 0, table[g, np.maximum(index, 0)], 1.0)

    factor = gather(eta, plan.mul_lv) / gather(eta, plan.div_lv) / gather(eta, plan.div_lv2)
    factor = factor / gather(ov_sd, plan.div_ov) / gather(ov_sd, plan.div_ov2)
    resid = np.sqrt(np.abs(est))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(
            plan.cov_a >= 0, resid[np.maximum(plan.cov_a, 0)] * resid[np.maximum(plan.cov_b, 0)], 1.0
        )
        return est * factor / cov


def _standardized_se(spec: _Spec, engine: _Engine, x: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """Delta-method standard errors of std.all (numerical Jacobian, as lavaan)."""
    if not np.all(np.isfinite(vcov)):
        return np.full(spec.n_rows, np.nan)
    jac = np.empty((spec.n_rows, spec.n_free))
    for t in range(spec.n_free):
        h = 1e-6 * max(1.0, abs(x[t]))
        up, down = x.copy(), x.copy()
        up[t] += h
        down[t] -= h
        jac[:, t] = (_standardized(spec, engine, up) - _standardized(spec, engine, down)) / (2 * h)
    var = np.einsum("ij,jk,ik->i", jac, vcov, jac)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(var < 0, np.nan, var))
    # lavaan reports standard errors below eps^(1/4) as 0 (fixed values standardized).
    return np.where(se < np.finfo(float).eps ** 0.25, 0.0, se)


# =========================================================================== omega


def _omega(spec: _Spec, engine: _Engine, x: np.ndarray, groups: list[_GroupData]) -> list[dict[str, float]]:
    """semTools::compRelSEM: common variance over the items' observed total variance, per factor.

    For a first-order factor: (sum of its loadings)^2 Var(f) / sum of the sample
    covariance matrix of its items. For a second-order factor (compRelSEM's
    ``higher =``), the loadings are the items' loadings on it through the
    first-order factors, and the items those of the first-order factors.
    """
    out = []
    lv_index = {n: i for i, n in enumerate(spec.lv)}
    for g, group in enumerate(groups):
        st = engine.state(g, x)
        result: dict[str, float] = {}
        lam = st.lam
        for f in spec.lv:
            j = lv_index[f]
            items = np.flatnonzero(lam[:, j] != 0)
            if len(items) < 2:
                continue
            common = lam[items, j].sum() ** 2 * st.lv_cov[j, j]
            result[f] = float(common / group.cov[np.ix_(items, items)].sum())
        for f in spec.lv:
            j = lv_index[f]
            lower = np.flatnonzero(st.beta[:, j] != 0)
            if len(lower) == 0:
                continue
            effective = lam[:, lower] @ st.beta[lower, j]
            items = np.flatnonzero(np.any(lam[:, lower] != 0, axis=1))
            common = effective[items].sum() ** 2 * st.lv_cov[j, j]
            result[f] = float(common / group.cov[np.ix_(items, items)].sum())
        out.append({f: result[f] for f in spec.lv if f in result})
    return out


# =========================================================== modification indices


def _modification_indices(
    spec: _Spec, engine: _Engine, x: np.ndarray, group_labels: Sequence[str]
) -> pd.DataFrame:
    """lavaan's modindices(): score tests (expected information) for parameters not in the model."""
    n_total = engine.n_total
    info22 = engine.expected_information(x)
    try:
        info22_inv = np.linalg.inv(info22)
    except np.linalg.LinAlgError as exc:
        raise CFAError(
            "modification indices need an invertible information matrix; the model may not be identified"
        ) from exc
    records = []
    p, m = len(spec.ov), len(spec.lv)
    for g, group in enumerate(engine.groups):
        rows = np.flatnonzero(spec.group == g)
        present = {(spec.mat[k], spec.row[k], spec.col[k]) for k in rows}
        cand = []
        for j in range(m):
            for i in range(p):
                if (_LAMBDA, i, j) not in present:
                    cand.append((_LAMBDA, i, j, spec.lv[j], "=~", spec.ov[i]))
        for i in range(p):
            for j in range(i + 1, p):
                if (_THETA, j, i) not in present:
                    cand.append((_THETA, j, i, spec.ov[i], "~~", spec.ov[j]))
        for k in range(m):
            for l_ in range(k + 1, m):
                if (_PSI, l_, k) not in present:
                    cand.append((_PSI, l_, k, spec.lv[k], "~~", spec.lv[l_]))
        if not cand:
            continue
        st = engine.state(g, x)
        model_el = engine.elements[g]
        n_model = len(model_el)
        extra = _Elements(
            np.array([c[0] for c in cand]),
            np.array([c[1] for c in cand]),
            np.array([c[2] for c in cand]),
            np.full(len(cand), -1),
        )
        combined = _Elements(
            np.concatenate([model_el.mat, extra.mat]),
            np.concatenate([model_el.i, extra.i]),
            np.concatenate([model_el.j, extra.j]),
            np.concatenate([model_el.param, extra.param]),
        )
        info_el = engine._hessian_elements(g, st, combined, expected=True)
        i11 = info_el[n_model:, n_model:]
        i12 = info_el[n_model:, :n_model] @ engine.incidence[g]
        v = np.diag(i11) - np.einsum("ij,jk,ik->i", i12, info22_inv, i12)
        _, g_sigma, g_mu = _moments_gradient(group, st.sigma, st.mu)
        a, b, s, c = _element_vectors(st, extra, engine.meanstructure)
        score = 2.0 * s * np.einsum("ep,pq,eq->e", a, g_sigma, b)
        if engine.meanstructure:
            score += c @ g_mu
        score *= 0.5 / n_total
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(v < np.finfo(float).eps ** (1 / 3), np.nan, v)
            mi = n_total * score**2 / v
            epc = -score / v
        lv_sd = np.sqrt(np.abs(np.diag(st.lv_cov)))
        ov_sd = np.sqrt(np.abs(np.diag(st.sigma)))
        resid_ov = np.sqrt(np.abs(np.diag(st.theta)))
        resid_lv = np.sqrt(np.abs(np.diag(st.psi)))
        for k, (code, i, j, lhs, op, rhs) in enumerate(cand):
            if code == _LAMBDA:
                sepc_lv = epc[k] * lv_sd[j]
                sepc_all = sepc_lv / ov_sd[i]
            elif code == _THETA:
                sepc_lv = epc[k]
                sepc_all = epc[k] / (resid_ov[i] * resid_ov[j])
            else:
                sepc_lv = sepc_all = epc[k] / (resid_lv[i] * resid_lv[j])
            record = {"lhs": lhs, "op": op, "rhs": rhs}
            if spec.n_groups > 1:
                record["group"] = group_labels[g]
            record.update({"mi": mi[k], "epc": epc[k], "sepc_lv": sepc_lv, "sepc_all": sepc_all})
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return frame
    return (
        frame.dropna(subset=["mi"]).sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    )


# ========================================================================= results


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
ROBUST_FIT_KEYS = ("chisq_scaled", "cfi_robust", "tli_robust", "rmsea_robust")


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

    @property
    def robust(self) -> bool:
        return self.chisq_scaled is not None

    def to_dict(self) -> dict[str, Any]:
        """The fit block of :meth:`CFAResult.to_dict`: :data:`FIT_KEYS` (+ robust ones for MLR)."""
        keys = FIT_KEYS + (ROBUST_FIT_KEYS if self.robust else ())
        return jsonable({k: getattr(self, k) for k in keys})

    def to_series(self) -> pd.Series:
        """Every measure, lavaan-style names with underscores."""
        values = {k: v for k, v in self.__dict__.items() if not isinstance(v, tuple) and v is not None}
        return pd.Series(values, dtype=float)


@dataclass
class CFAResult:
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
    _spec: _Spec | None = field(default=None, repr=False, compare=False)
    _engine: _Engine | None = field(default=None, repr=False, compare=False)
    _x: np.ndarray | None = field(default=None, repr=False, compare=False)
    _vcov: np.ndarray | None = field(default=None, repr=False, compare=False)
    _table: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def parameters(self) -> pd.DataFrame:
        """The parameter table (computed on first use: the std.all standard errors take a moment)."""
        if self._table is None:
            with _single_threaded_blas():
                self._table = _parameter_table(
                    self._spec, self._engine, self._x, self._vcov, list(self.groups)
                )
        return self._table

    def _estimates_table(self) -> pd.DataFrame:
        """The parameter table without the standardized solution (quick)."""
        if self._table is not None:
            return self._table
        return _parameter_table(
            self._spec, self._engine, self._x, self._vcov, list(self.groups), standardized=False
        )

    # -- tables --------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The parameter table (like lavaan's ``parameterEstimates()`` with ``std.all``)."""
        return self.parameters.copy()

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary.

        ``{"estimator", "missing", "n_used", "fit": {...}, "parameters": [{"lhs",
        "op", "rhs", "est", "se", "z", "pvalue", "std_all"}, ...], "omega": {...},
        "warnings": [...], "notes": [...]}``.
        With several groups each parameter also has ``"group"`` and ``omega`` is
        keyed by group label. NaN becomes null.
        """
        keys = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]
        if self.n_groups > 1:
            keys.insert(3, "group")
        params = [{k: row[k] for k in keys} for row in self.parameters[keys].to_dict("records")]
        return jsonable(
            {
                "estimator": self.estimator,
                "missing": self.missing,
                "n_used": self.n_used,
                "fit": self.fit.to_dict(),
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
        return pd.DataFrame(cor, index=self._spec.lv, columns=self._spec.lv)

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
        >>> rng = np.random.default_rng(6)
        >>> f = rng.normal(size=(400, 2))
        >>> items = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"]
        >>> d = pd.DataFrame(np.repeat(f, 4, axis=1) + rng.normal(size=(400, 8)), columns=items)
        >>> d["b1"] += 0.8 * f[:, 0]  # b1 also measures A
        >>> mi = cfa(d, "A =~ a1 + a2 + a3 + a4\\nB =~ b1 + b2 + b3 + b4").modification_indices(top=1)
        >>> mi[["lhs", "op", "rhs"]].iloc[0].tolist(), round(float(mi["epc"].iloc[0]), 2)
        (['A', '=~', 'b1'], 0.83)
        """
        with _single_threaded_blas():
            frame = _modification_indices(self._spec, self._engine, self._x, list(self.groups))
        if frame.empty:
            return frame
        frame = frame[frame["mi"] > minimum]
        return (frame if top is None else frame.head(top)).reset_index(drop=True)

    # -- text ----------------------------------------------------------------------
    def summary(self, *, standardized: bool = True, modindices: int = 0, digits: int = 3) -> str:
        """A report laid out like lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        return _summary_text(self, standardized=standardized, modindices=modindices, digits=digits)

    def __str__(self) -> str:
        return self.summary()


# ======================================================================== fitting


def _invert_information(info: np.ndarray, n_total: int, spec: _Spec) -> tuple[np.ndarray, str | None]:
    """``(N info)^-1``, or NaN with a plain-words reason when the information is singular."""
    q = info.shape[0]
    if q == 0:
        return np.zeros((0, 0)), None
    info = (info + info.T) / 2
    try:
        factor = linalg.cho_factor(info)
        pivots = np.diag(factor[0]) ** 2
        if pivots.min() > 1e-10 * np.abs(np.diag(info)).max():
            return linalg.cho_solve(factor, np.eye(q)) / n_total, None
    except linalg.LinAlgError:
        pass
    eigval, eigvec = np.linalg.eigh(info)
    if eigval[0] > 1e-10 * max(abs(eigval[-1]), 1e-300):
        return np.linalg.inv(info) / n_total, None
    weights = np.abs(eigvec[:, 0])
    names = []
    for t in np.argsort(-weights)[:4]:
        if weights[t] < 0.1:
            continue
        k = int(np.flatnonzero(spec.free == t)[0])
        names.append(_row_name(spec, k))
    reason = (
        "the model is not identified by these data (the information matrix is singular), so standard "
        f"errors are not available; the parameters involved include {', '.join(names)}. A factor with "
        "two items and no correlation with other factors, or a factor whose items do not correlate, "
        "causes this: add items, correlate the factor, or fix a parameter"
    )
    return np.full((q, q), np.nan), reason


def _row_name(spec: _Spec, k: int) -> str:
    name = f"{spec.lhs[k]} {spec.op[k]} {spec.rhs[k]}".strip() if spec.op[k] != "~1" else f"{spec.lhs[k]} ~ 1"
    return name + (f" (group {spec.group[k] + 1})" if spec.n_groups > 1 else "")


def _problems(spec: _Spec, engine: _Engine, x: np.ndarray, labels: Sequence[str]) -> list[str]:
    """Heywood cases and improper factor covariance matrices, in words."""
    out = []
    for g in range(spec.n_groups):
        st = engine.state(g, x)
        where = f" in group {labels[g]!r}" if spec.n_groups > 1 else ""
        for i, name in enumerate(spec.ov):
            if st.theta[i, i] < 0:
                out.append(
                    f"the residual variance of {name!r} is negative ({st.theta[i, i]:.3g}){where}: a Heywood "
                    "case, so the solution is improper. Common causes: a factor with too few items, a "
                    "misspecified model, or a small sample"
                )
        for k, name in enumerate(spec.lv):
            if st.psi[k, k] < 0:
                out.append(
                    f"the variance of factor {name!r} is negative ({st.psi[k, k]:.3g}){where}: the solution "
                    "is improper"
                )
        if len(spec.lv) > 1 and np.all(np.diag(st.lv_cov) > 0):
            sd = np.sqrt(np.diag(st.lv_cov))
            cor = st.lv_cov / np.outer(sd, sd)
            bad = [
                f"{spec.lv[a]} and {spec.lv[b]} ({cor[a, b]:.3f})"
                for a, b in itertools.combinations(range(len(spec.lv)), 2)
                if abs(cor[a, b]) > 1
            ]
            if np.linalg.eigvalsh(st.lv_cov)[0] < -1e-10 or bad:
                detail = f": correlations beyond 1 between {'; '.join(bad)}" if bad else ""
                out.append(
                    f"the factor covariance matrix is not positive definite{where}{detail}; the factors "
                    "may not be distinct, consider merging them"
                )
    return out


def _parameter_table(
    spec: _Spec,
    engine: _Engine,
    x: np.ndarray,
    vcov: np.ndarray,
    labels: list[str],
    standardized: bool = True,
) -> pd.DataFrame:
    """lavaan's parameterEstimates() with std.lv, std.all and the delta-method SE of std.all."""
    q = spec.n_free
    est = _estimates(spec, x)
    free = spec.free >= 0
    se_free = np.sqrt(np.abs(np.diag(vcov))) if q else np.zeros(0)
    se = np.where(free, se_free[np.maximum(spec.free, 0)] if q else 0.0, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(free & (se > 0), est / se, np.nan)
    crit = stats.norm.ppf(0.975)
    table = {
        "lhs": spec.lhs,
        "op": spec.op,
        "rhs": spec.rhs,
        "group": [labels[g] for g in spec.group],
        "label": spec.label,
        "est": est,
        "se": se,
        "z": z,
        "pvalue": 2 * stats.norm.sf(np.abs(z)),
        "ci_lower": est - crit * se,
        "ci_upper": est + crit * se,
    }
    if standardized:
        table["std_lv"] = _standardized(spec, engine, x, "lv")
        table["std_all"] = _standardized(spec, engine, x, "all")
        table["std_all_se"] = _standardized_se(spec, engine, x, vcov)
    frame = pd.DataFrame(table)
    return frame.drop(columns="group") if spec.n_groups == 1 else frame


def _orient_factors(spec: _Spec, x: np.ndarray) -> np.ndarray:
    """Give factors scaled by their variance a positive first loading (their sign is arbitrary).

    A factor identified by a unit variance fits equally well with every loading
    negated; like lavaan's usual outcome, report the orientation whose first
    loading is positive. Factors with a fixed loading are left alone, and so is
    any factor whose parameters are tied (by labels) to parameters of others.
    """
    x = x.copy()
    for f in spec.lv:
        rows = []
        first = None
        for k in range(spec.n_rows):
            lhs, op, rhs = spec.lhs[k], spec.op[k], spec.rhs[k]
            touches = (
                (op == "=~" and f in (lhs, rhs))
                or (op == "~" and (lhs == f) != (rhs == f))
                or (op == "~~" and (lhs == f) != (rhs == f))
                or (op == "~1" and lhs == f)
            )
            if not touches:
                continue
            if spec.free[k] < 0 and spec.value[k] != 0:
                rows = []
                break  # a fixed nonzero value sets the sign
            rows.append(k)
            if first is None and op == "=~" and lhs == f:
                first = k
        if not rows or first is None or spec.free[first] < 0 or x[spec.free[first]] >= 0:
            continue
        params = {spec.free[k] for k in rows if spec.free[k] >= 0}
        others = {spec.free[k] for k in range(spec.n_rows) if k not in rows and spec.free[k] >= 0}
        if params & others:
            continue
        x[list(params)] *= -1
    return x


def _fit_prepared(
    model: CFAModel,
    prep: _Prepared,
    *,
    estimator: str = "ML",
    std_lv: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> CFAResult:
    groups = prep.groups
    n_groups = len(groups)
    fiml = prep.missing == "fiml"
    # lavaan adds a mean structure with FIML, with several groups, or when the model mentions a mean.
    meanstructure = fiml or n_groups > 1 or any(s.op == "~1" for s in model.statements)
    spec = _build_spec(
        model,
        n_groups,
        std_lv=std_lv,
        meanstructure=meanstructure,
        group_equal=group_equal,
        group_partial=group_partial,
    )
    _check_identification(spec, std_lv)
    engine = _Engine(spec, groups)
    labels = [g.label for g in groups]
    opt = _optimize(engine, _start_values(spec, groups))
    problems: list[str] = []
    if not opt.converged:
        problems.append(
            f"the estimation did not converge ({opt.message or 'stopped'} after {opt.iterations} "
            "iterations); the estimates are not trustworthy. The model may be misspecified or not "
            "identified"
        )
    x = _orient_factors(spec, opt.x)
    n_total = engine.n_total
    p = len(spec.ov)
    q = spec.n_free

    # -- standard errors --------------------------------------------------------------
    # The optimizer's last scoring matrix is at the final estimates: reuse it when it is the one needed.
    reusable = opt.information if np.array_equal(x, opt.x) else None
    observed = reusable if reusable is not None and opt.information_kind == "observed" else None
    first_order = None
    if estimator == "MLR":
        observed = engine.observed_information(x) if observed is None else observed
        bread, reason = _invert_information(observed, n_total, spec)
        first_order, _ = engine.first_order_information(x)
        vcov = bread @ first_order @ bread * n_total if reason is None else bread
    else:
        if fiml:
            info = engine.observed_information(x) if observed is None else observed
        elif reusable is not None and opt.information_kind == "fisher":
            info = reusable  # complete data: the scoring matrix is the expected information
        else:
            info = engine.expected_information(x)
        vcov, reason = _invert_information(info, n_total, spec)
    if reason:
        problems.append(reason)
    problems.extend(_problems(spec, engine, x, labels))

    # -- test statistics and fit measures ----------------------------------------------
    states = engine.states(x)
    m2ll = engine.m2ll(x)
    h1 = np.array([g.m2ll_h1 for g in groups])
    chisq_groups = np.maximum(m2ll - h1, 0.0)
    chisq = float(chisq_groups.sum())
    df = n_groups * (p * (p + 1) // 2 + (p if meanstructure else 0)) - q
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan
    base_engine, base_x = _baseline(groups, spec.ov, meanstructure)
    base_m2ll = base_engine.m2ll(base_x)
    baseline_chisq = float(np.maximum(base_m2ll - h1, 0.0).sum())
    baseline_df = n_groups * p * (p - 1) // 2
    n_log2pi = sum(g.n_log2pi for g in groups)
    loglik = -0.5 * (float(m2ll.sum()) + n_log2pi)
    unrestricted = -0.5 * (float(h1.sum()) + n_log2pi)
    rmsea_lo, rmsea_hi = _rmsea_ci(chisq, df, n_total, n_groups)
    srmr, srmr_groups = _srmr(groups, states, meanstructure)
    measures: dict[str, Any] = {
        "chisq": chisq,
        "df": int(df),
        "pvalue": pvalue,
        "cfi": _cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": _tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": _rmsea(chisq, df, n_total, n_groups),
        "rmsea_ci_lower": rmsea_lo,
        "rmsea_ci_upper": rmsea_hi,
        "rmsea_pvalue": _rmsea_pclose(chisq, df, n_total, n_groups),
        "srmr": srmr,
        "aic": -2 * loglik + 2 * q,
        "bic": -2 * loglik + q * math.log(n_total),
        "bic2": -2 * loglik + q * math.log((n_total + 2) / 24),
        "loglik": loglik,
        "unrestricted_loglik": unrestricted,
        "npar": int(q),
        "ntotal": int(n_total),
        "baseline_chisq": baseline_chisq,
        "baseline_df": int(baseline_df),
        "baseline_pvalue": float(stats.chi2.sf(baseline_chisq, baseline_df)) if baseline_df > 0 else math.nan,
        "chisq_groups": tuple(float(v) for v in chisq_groups),
        "srmr_groups": tuple(srmr_groups),
    }
    if estimator == "MLR":
        measures.update(
            _robust_measures(
                engine,
                x,
                observed,
                first_order,
                base_engine,
                base_x,
                groups,
                meanstructure,
                chisq,
                df,
                baseline_chisq,
                baseline_df,
                n_total,
                problems,
                fiml,
            )
        )
    fit = FitMeasures(**measures)

    omega_groups = _omega(spec, engine, x, groups)
    omega = omega_groups[0] if n_groups == 1 else dict(zip(labels, omega_groups, strict=True))
    for text in problems:
        warnings.warn(text, CFAWarning, stacklevel=3)
    return CFAResult(
        model=model,
        estimator=estimator,
        missing=prep.missing,
        std_lv=std_lv,
        n_used=int(n_total),
        n_dropped=prep.n_dropped,
        groups={g.label: g.n for g in groups},
        group_column=prep.group_column,
        group_equal=tuple(group_equal),
        group_partial=tuple(group_partial),
        converged=opt.converged,
        iterations=opt.iterations,
        fit=fit,
        omega=omega,
        warnings=problems,
        notes=list(prep.notes),
        _spec=spec,
        _engine=engine,
        _x=x,
        _vcov=vcov,
    )


def _robust_measures(
    engine,
    x,
    observed,
    first_order,
    base_engine,
    base_x,
    groups,
    meanstructure,
    chisq,
    df,
    baseline_chisq,
    baseline_df,
    n_total,
    problems,
    fiml,
) -> dict[str, Any]:
    """Yuan-Bentler-Mplus scaled test and lavaan's robust CFI/TLI/RMSEA (FIML-corrected under FIML)."""
    out: dict[str, Any] = {}
    trace_h1 = sum(_trace_h1(g, meanstructure) for g in groups)
    try:
        trace_h0 = float(np.trace(np.linalg.solve(observed, first_order)))
        base_observed = base_engine.observed_information(base_x)
        base_first, _ = base_engine.first_order_information(base_x)
        base_trace_h0 = float(np.trace(np.linalg.solve(base_observed, base_first)))
    except np.linalg.LinAlgError:
        problems.append(
            "the robust (MLR) test statistic could not be computed: the information matrix is singular"
        )
        return {k: math.nan for k in ("chisq_scaled", "pvalue_scaled", "scaling_factor")}
    n_groups = len(groups)
    c = (trace_h1 - trace_h0) / df if df > 0 else math.nan
    c_null = (trace_h1 - base_trace_h0) / baseline_df if baseline_df > 0 else math.nan
    if not c > 0:
        c = math.nan
    chisq_scaled = chisq / c if df > 0 else chisq
    out["scaling_factor"] = c
    out["chisq_scaled"] = chisq_scaled
    out["pvalue_scaled"] = float(stats.chi2.sf(chisq_scaled, df)) if df > 0 else math.nan
    out["baseline_scaling_factor"] = c_null
    out["baseline_chisq_scaled"] = baseline_chisq / c_null
    if not fiml:
        out["cfi_robust"] = _cfi(chisq, df, baseline_chisq, baseline_df, c, c_null)
        out["tli_robust"] = _tli(chisq, df, baseline_chisq, baseline_df, c, c_null)
        out["rmsea_robust"] = _rmsea(chisq, df, n_total, n_groups, c)
        lo, hi = _rmsea_ci(chisq_scaled, df, n_total, n_groups, c_hat=c)
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = lo, hi
    else:
        out.update(_fiml_corrected(engine, x, base_engine, base_x, groups, df, baseline_df, n_total))
    return out


def cfa(
    data: pd.DataFrame,
    model: str | CFAModel | Any,
    *,
    estimator: str = "ML",
    missing: str = "auto",
    std_lv: bool = False,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> CFAResult:
    """Fit a confirmatory factor model by maximum likelihood, as lavaan's ``cfa()``.

    Parameters
    ----------
    data : pandas.DataFrame
        One numeric column per item (reverse-keyed items already reversed, e.g.
        ``score(...).keyed``); NaN for a missing answer.
    model : str, Instrument or CFAModel
        lavaan-style syntax, an instrument (its subscales as correlated
        factors; see :meth:`CFAModel.from_instrument` for bifactor and
        second-order models), or a model.
    estimator : {"ML", "MLR"}
        ``"MLR"``: robust (sandwich) standard errors and the Yuan-Bentler
        scaled chi-square, for non-normal answers such as Likert items.
    missing : {"auto", "listwise", "fiml"}
        ``"auto"``: FIML when any model item is missing, else complete data.
        ``"fiml"`` is lavaan's ``missing = "ml"``; ``"ml"`` is accepted too.
    std_lv : bool
        Identify factors by unit variances instead of their first loading.
    group : str, optional
        Column defining groups (multi-group CFA); groups in order of appearance.
    group_equal : sequence of str
        lavaan's ``group.equal``: "loadings", "intercepts", "means",
        "residuals", "residual.covariances", "lv.variances", "lv.covariances",
        "regressions".
    group_partial : sequence of str
        lavaan's ``group.partial``: parameters freed from ``group_equal``, e.g.
        ``"rs =~ rs2"``, ``"rs2=~"`` (rs2's loading), ``"rs2~1"``, ``"rs2~~rs2"``.

    Returns
    -------
    CFAResult

    Raises
    ------
    CFAError
        A model, data or option problem the user can fix (the message says how).
    ModelSyntaxError
        Unreadable model syntax (with line and column).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> f = rng.normal(size=(400, 1))
    >>> d = pd.DataFrame(f * 0.8 + rng.normal(size=(400, 4)) * 0.6, columns=["q1", "q2", "q3", "q4"])
    >>> res = cfa(d, "F =~ q1 + q2 + q3 + q4", estimator="MLR")
    >>> sorted(res.to_dict()["fit"])[:4]
    ['aic', 'bic', 'cfi', 'cfi_robust']
    >>> res.parameters.loc[1, ["lhs", "op", "rhs"]].tolist(), float(res.parameters.loc[0, "est"])
    (['F', '=~', 'q2'], 1.0)
    """
    model = _as_model(model)
    estimator = str(estimator).upper()
    if estimator not in ESTIMATORS:
        raise CFAError(f"estimator must be one of {', '.join(ESTIMATORS)}, not {estimator!r}")
    if group_equal and group is None:
        raise CFAError("group_equal needs a group column (group=...)")
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    with _single_threaded_blas():
        prep = _prepare(data, model.indicators, group, missing)
        return _fit_prepared(
            model,
            prep,
            estimator=estimator,
            std_lv=std_lv,
            group_equal=tuple(group_equal),
            group_partial=tuple(group_partial),
        )


# ========================================================================= summary


def _fmt(value: Any, digits: int = 3, width: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    else:
        text = f"{value:.{digits}f}"
    return text.rjust(width) if width else text


def _summary_text(res: CFAResult, *, standardized: bool, modindices: int, digits: int) -> str:
    fit = res.fit
    w = 54

    def line(label: str, value: Any, indent: int = 2) -> str:
        text = _fmt(value, digits)
        return " " * indent + label + text.rjust(w - indent - len(label))

    status = "ended normally" if res.converged else "did NOT converge"
    out = [f"CFA (lavaan conventions) {status} after {res.iterations} iterations", ""]
    out.append(line("Estimator", res.estimator))
    out.append(line("Optimization method", "Fisher scoring/Newton"))
    out.append(line("Number of model parameters", fit.npar))
    out.append("")
    if res.n_groups > 1:
        out.append(line("Number of observations per group:", ""))
        for label, n in res.groups.items():
            out.append(line(str(label), n, indent=4))
    else:
        out.append(line("Number of observations", res.n_used))
    out.append(line("Missing data", {"fiml": "FIML (missing = ml)", "listwise": "listwise"}[res.missing]))
    if res.n_dropped:
        out.append(line("Rows left out", res.n_dropped))
    out += ["", "Model Test User Model:", ""]
    robust = fit.robust
    if robust:
        head = "  " + " " * (w - 2 - 11) + "   Standard      Scaled"
        out.append(head)

        def both(label: str, a: Any, b: Any) -> str:
            return line(label, a) + _fmt(b, digits, 12)

        out.append(both("Test Statistic", fit.chisq, fit.chisq_scaled))
        out.append(both("Degrees of freedom", fit.df, fit.df))
        out.append(both("P-value (Chi-square)", fit.pvalue, fit.pvalue_scaled))
        out.append(both("Scaling correction factor", None, fit.scaling_factor))
        out.append("    Yuan-Bentler correction (Mplus variant)")
    else:
        out.append(line("Test statistic", fit.chisq))
        out.append(line("Degrees of freedom", fit.df))
        out.append(line("P-value (Chi-square)", fit.pvalue))
    if res.n_groups > 1:
        out.append(line("Test statistic for each group:", ""))
        for label, value in zip(res.groups, fit.chisq_groups, strict=True):
            out.append(line(str(label), value, indent=4))
    out += ["", "Model Test Baseline Model:", ""]
    out.append(line("Test statistic", fit.baseline_chisq))
    out.append(line("Degrees of freedom", fit.baseline_df))
    out.append(line("P-value", fit.baseline_pvalue))
    out += ["", "User Model versus Baseline Model:", ""]
    out.append(line("Comparative Fit Index (CFI)", fit.cfi))
    out.append(line("Tucker-Lewis Index (TLI)", fit.tli))
    if robust:
        out.append(line("Robust Comparative Fit Index (CFI)", fit.cfi_robust))
        out.append(line("Robust Tucker-Lewis Index (TLI)", fit.tli_robust))
    out += ["", "Loglikelihood and Information Criteria:", ""]
    out.append(line("Loglikelihood user model (H0)", fit.loglik))
    out.append(line("Loglikelihood unrestricted model (H1)", fit.unrestricted_loglik))
    out.append("")
    out.append(line("Akaike (AIC)", fit.aic))
    out.append(line("Bayesian (BIC)", fit.bic))
    out.append(line("Sample-size adjusted Bayesian (SABIC)", fit.bic2))
    out += ["", "Root Mean Square Error of Approximation:", ""]
    out.append(line("RMSEA", fit.rmsea))
    out.append(line("90 Percent confidence interval - lower", fit.rmsea_ci_lower))
    out.append(line("90 Percent confidence interval - upper", fit.rmsea_ci_upper))
    out.append(line("P-value H_0: RMSEA <= 0.050", fit.rmsea_pvalue))
    if robust:
        out.append("")
        out.append(line("Robust RMSEA", fit.rmsea_robust))
        out.append(line("90 Percent confidence interval - lower", fit.rmsea_ci_lower_robust))
        out.append(line("90 Percent confidence interval - upper", fit.rmsea_ci_upper_robust))
    out += ["", "Standardized Root Mean Square Residual:", ""]
    out.append(line("SRMR", fit.srmr))
    out += ["", "Parameter Estimates:", ""]
    se_kind = "Robust.huber.white" if res.estimator == "MLR" else "Standard"
    info_kind = "Observed" if (res.estimator == "MLR" or res.missing == "fiml") else "Expected"
    out.append(line("Standard errors", se_kind))
    out.append(line("Information", info_kind))
    out.append(line("Information saturated (h1) model", "Structured"))
    out.append(_parameter_sections(res, standardized, digits))
    if res.omega:
        out += ["", "Reliability (omega, semTools::compRelSEM):", ""]
        blocks = res.omega.items() if res.n_groups > 1 else [(None, res.omega)]
        for label, values in blocks:
            if label is not None:
                out.append(f"  Group {label}:")
            for f, v in values.items():
                out.append(line(f, v, indent=4 if label is not None else 2))
    if modindices:
        mi = res.modification_indices(top=modindices)
        out += ["", f"Modification indices (largest {modindices}):", ""]
        out.append(
            mi.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}")
            if not mi.empty
            else "  (none)"
        )
    if res.notes:
        out += ["", "Notes:"] + [f"  - {n}" for n in res.notes]
    if res.warnings:
        out += ["", "Warnings:"] + [f"  - {wtext}" for wtext in res.warnings]
    return "\n".join(out)


def _parameter_sections(res: CFAResult, standardized: bool, digits: int) -> str:
    table = res.parameters
    spec = res._spec
    lv = set(spec.lv)
    head = f"{'':20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}"
    if standardized:
        head += f"{'Std.lv':>9}{'Std.all':>9}"
    lines: list[str] = []
    groups = list(res.groups) if res.n_groups > 1 else [None]
    sections = [
        ("Latent Variables:", lambda r: r["op"] == "=~"),
        ("Regressions:", lambda r: r["op"] == "~"),
        ("Covariances:", lambda r: r["op"] == "~~" and r["lhs"] != r["rhs"]),
        ("Intercepts:", lambda r: r["op"] == "~1"),
        ("Variances:", lambda r: r["op"] == "~~" and r["lhs"] == r["rhs"]),
    ]
    for label in groups:
        rows = table if label is None else table[table["group"] == label]
        if label is not None:
            lines += ["", f"Group {groups.index(label) + 1} [{label}]:"]
        for title, keep in sections:
            chosen = [r for r in rows.to_dict("records") if keep(r)]
            if not chosen:
                continue
            lines += ["", title, head]
            current = None
            for r in chosen:
                if r["op"] in ("=~", "~") or (r["op"] == "~~" and r["lhs"] != r["rhs"]):
                    if r["lhs"] != current:
                        current = r["lhs"]
                        lines.append(f"  {r['lhs']} {r['op']}")
                    name = r["rhs"]
                    indent = "    "
                else:
                    name = r["lhs"]
                    indent = "   ." if name not in lv else "    "
                if r["label"]:
                    name = f"{name} ({r['label']})"
                fixed = not (r["se"] > 0) and r["op"] != "~~"
                text = f"{indent}{name:<16}"[:20].ljust(20) + _fmt(r["est"], digits, 9)
                if fixed and r["se"] == 0:
                    text += " " * 27
                else:
                    text += _fmt(r["se"], digits, 9) + _fmt(r["z"], digits, 9) + _fmt(r["pvalue"], digits, 9)
                if standardized:
                    text += _fmt(r["std_lv"], digits, 9) + _fmt(r["std_all"], digits, 9)
                lines.append(text.rstrip())
    return "\n".join(lines)
