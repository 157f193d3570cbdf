"""The parameter table of a multi-group ordinal model: factor rows, thresholds, scales, and their constraints.

An ordinal model has, beside the factor model's rows (loadings, factor
variances and covariances, residual variances, intercepts and factor means of
the latent responses), two kinds of rows of its own, as lavaan's parameter
table:

* **thresholds** ``item | t1`` ... (one row per threshold, item and group);
* **scales** ``item ~*~ item`` (delta parameterization: the scale factor
  ``Delta`` of the latent response, ``1 / SD(y*)``).

:class:`OrdinalParTable` holds them all with, per row, a fixed value or a
free parameter, and equality constraints (rows tied to one parameter). Its
methods :meth:`~OrdinalParTable.fix`, :meth:`~OrdinalParTable.free` and
:meth:`~OrdinalParTable.tie` take a predicate on rows, so the same table
serves multi-group invariance (thresholds tied across groups) and
longitudinal invariance in one group (thresholds of ``x_w1`` and ``x_w2``
tied: :meth:`~OrdinalParTable.tie_thresholds`).

:func:`wu_estabrook_table` writes the identification of Wu & Estabrook
(2016) for a step of the invariance chain, as
``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...errors import CFAError
from .spec import ALPHA, NU, CFAModel, Spec, _parse_partial, build_spec

__all__ = ["ORDINAL_GROUP_EQUAL", "OrdinalParTable", "Row", "wu_estabrook_long_table", "wu_estabrook_table"]

#: lavaan ``group.equal`` keywords of the ordinal invariance chain.
ORDINAL_GROUP_EQUAL = ("thresholds", "loadings", "intercepts", "residuals", "means", "lv.variances")

#: A row of the table as a predicate sees it: (kind, lhs, op, rhs, group); kind is "model", "th" or "scale".
Row = tuple[str, str, str, str, int]


@dataclass
class OrdinalParTable:
    """The rows of an ordinal model and their constraints, before the free parameters are numbered.

    Attributes
    ----------
    spec : Spec
        The factor model's rows (``build_spec`` with a mean structure).
    parameterization : {"delta", "theta"}
    n_th : list of int
        Thresholds per item (``spec.ov`` order).
    rows : list of Row
        Every row: the factor rows, then thresholds (group by group, item by
        item), then scales (delta only).
    fixed : numpy.ndarray
        The fixed value of each row, NaN when free.

    Examples
    --------
    Longitudinal invariance in one group: the thresholds of each item held
    equal across the two waves.

    >>> from sdt_survey.factor.sem import CFAModel
    >>> model = CFAModel.from_syntax("w1 =~ a1 + b1 + c1\\nw2 =~ a2 + b2 + c2")
    >>> table = OrdinalParTable.build(model, 1, [4] * 6, "theta")
    >>> before = table.numbered()[1]
    >>> table.tie_thresholds([["a1", "a2"], ["b1", "b2"], ["c1", "c2"]])
    >>> before - table.numbered()[1]
    12
    """

    spec: Spec
    parameterization: str
    n_th: list[int]
    rows: list[Row] = field(default_factory=list)
    fixed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _parent: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, model: CFAModel, n_groups: int, n_th: Sequence[int], parameterization: str):
        """All rows with lavaan's defaults for ordered items (std.lv): thresholds free, the rest fixed.

        Loadings and factor covariances are free; factor variances 1, means 0;
        intercepts 0; residual variances derived (delta) or 1 (theta); scales 1.
        """
        spec = build_spec(model, n_groups, std_lv=True, meanstructure=True)
        ov = set(spec.ov)
        table = cls(spec, parameterization, list(n_th))
        rows: list[Row] = [
            ("model", spec.lhs[k], spec.op[k], spec.rhs[k], int(spec.group[k])) for k in range(spec.n_rows)
        ]
        fixed = [np.nan if spec.free[k] >= 0 else float(spec.value[k]) for k in range(spec.n_rows)]
        for k in range(spec.n_rows):
            if spec.op[k] == "~~" and spec.lhs[k] == spec.rhs[k] and spec.lhs[k] in ov:
                if spec.free[k] >= 0 and spec.user[k]:
                    raise CFAError(
                        f"'{spec.lhs[k]} ~~ {spec.rhs[k]}': the residual variance of an ordinal item is "
                        "set by the identification (delta: derived; theta: 1 in the first group)"
                    )
                fixed[k] = np.nan if parameterization == "delta" else 1.0
            elif spec.mat[k] == NU or spec.mat[k] == ALPHA:
                if spec.user[k]:
                    raise CFAError("intercepts and means of an ordinal model are set by the identification")
                fixed[k] = 0.0
        for g in range(n_groups):
            for item, n in zip(spec.ov, n_th, strict=True):
                rows += [("th", item, "|", f"t{t + 1}", g) for t in range(n)]
                fixed += [np.nan] * n
        if parameterization == "delta":
            for g in range(n_groups):
                rows += [("scale", item, "~*~", item, g) for item in spec.ov]
                fixed += [1.0] * len(spec.ov)
        table.rows = rows
        table.fixed = np.array(fixed, dtype=float)
        # Rows the user labelled alike are one parameter (spec.free shares their index).
        table._parent = list(range(len(rows)))
        first: dict[int, int] = {}
        for k in range(spec.n_rows):
            if spec.free[k] >= 0:
                table._union(first.setdefault(int(spec.free[k]), k), k)
        return table

    # -- constraints --------------------------------------------------------------------
    def _root(self, k: int) -> int:
        while self._parent[k] != k:
            self._parent[k] = self._parent[self._parent[k]]
            k = self._parent[k]
        return k

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._root(a), self._root(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def select(self, predicate: Callable[[Row], bool]) -> np.ndarray:
        """Indices of the rows the predicate accepts."""
        return np.array([k for k, r in enumerate(self.rows) if predicate(r)], dtype=int)

    def fix(self, predicate: Callable[[Row], bool], value: float) -> None:
        """Fix the rows the predicate accepts to ``value``."""
        self.fixed[self.select(predicate)] = value

    def free(self, predicate: Callable[[Row], bool]) -> None:
        """Free the rows the predicate accepts."""
        self.fixed[self.select(predicate)] = np.nan

    def tie(self, predicate: Callable[[Row], bool], key: Callable[[Row], object]) -> None:
        """Hold equal the accepted rows sharing ``key(row)``; a tied row fixed in one place is fixed in all.

        Multi-group: ``key = lambda r: r[:4]`` ties the same parameter across
        groups. Longitudinal: a key mapping ``x_w1`` and ``x_w2`` alike ties
        them within a group (see :meth:`tie_thresholds`).
        """
        classes: dict[object, list[int]] = {}
        for k in self.select(predicate):
            classes.setdefault(key(self.rows[k]), []).append(int(k))
        for members in classes.values():
            values = self.fixed[members]
            if np.isfinite(values).any():  # one fixed member fixes them all (lavaan: equal to a constant)
                self.fixed[members] = values[np.isfinite(values)][0]
            for k in members[1:]:
                self._union(members[0], k)

    def tie_thresholds(self, items: Sequence[Sequence[str]], across_groups: bool = False) -> None:
        """Hold the k-th thresholds of each set of items equal (within each group, or across groups too).

        Longitudinal invariance in one group ties the thresholds of the same
        item at each wave: ``tie_thresholds([["rs1_w1", "rs1_w2"], ["rs2_w1", "rs2_w2"]])``.
        """
        alias = {item: s[0] for s in items for item in s}
        unknown = [i for i in alias if i not in self.spec.ov]
        if unknown:
            raise CFAError(f"threshold equality names item(s) not in the model: {', '.join(unknown)}")
        for s in items:
            if len({self.n_th[self.spec.ov.index(i)] for i in s}) > 1:
                raise CFAError(
                    f"items {', '.join(s)} have different numbers of categories; thresholds cannot be equal"
                )

        def key(r: Row) -> object:
            return (alias[r[1]], r[3]) if across_groups else (alias[r[1]], r[3], r[4])

        self.tie(lambda r: r[0] == "th" and r[1] in alias, key)

    # -- numbering ------------------------------------------------------------------------
    def numbered(self) -> tuple[np.ndarray, int]:
        """The free parameter of every row (-1 when fixed) and how many there are."""
        free = np.full(len(self.rows), -1, dtype=int)
        numbering: dict[int, int] = {}
        for k in range(len(self.rows)):
            if np.isnan(self.fixed[k]) and not self._derived(k):
                free[k] = numbering.setdefault(self._root(k), len(numbering))
        return free, len(numbering)

    def _derived(self, k: int) -> bool:
        """Residual variances of items under delta: derived from the scales, never free."""
        kind, lhs, op, rhs, _ = self.rows[k]
        return (
            self.parameterization == "delta"
            and kind == "model"
            and op == "~~"
            and lhs == rhs
            and lhs in self.spec.ov
        )


def _is(kind: str, op: str, lv: set[str] | None = None, on_lv: bool | None = None) -> Callable[[Row], bool]:
    def pred(r: Row) -> bool:
        if r[0] != kind or r[2] != op:
            return False
        if on_lv is None:
            return True
        return (r[1] in lv) == on_lv and (op != "~~" or r[1] == r[3])

    return pred


def wu_estabrook_table(
    model: CFAModel,
    n_groups: int,
    n_th: Sequence[int],
    parameterization: str,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> OrdinalParTable:
    """A step of the ordinal invariance chain, identified as Wu & Estabrook (2016), factors by std.lv.

    As ``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016")``:

    * configural: thresholds free in every group; intercepts 0, scales
      (delta) or residual variances (theta) 1, factor means 0 and variances 1
      in every group (lavaan's own defaults for ordered items);
    * ``"thresholds"`` equal across groups frees, in groups 2.., the intercepts
      and the scales (delta) or residual variances (theta);
    * ``"loadings"`` equal frees the factor variances in groups 2..;
    * ``"intercepts"`` equal (to 0) frees the factor means in groups 2..;
    * ``"residuals"`` equal fixes the scales (delta) or residual variances (theta) to 1 again.

    ``group_partial`` (lavaan's ``group.partial``) keeps named loadings,
    intercepts or (theta) residual variances free across groups (``"f=~x2"``,
    ``"x2~1"``, ``"x2~~x2"``); thresholds cannot be released.

    Examples
    --------
    >>> from sdt_survey.factor.sem import CFAModel
    >>> model = CFAModel.from_syntax("F =~ q1 + q2 + q3 + q4")
    >>> table = wu_estabrook_table(model, 2, [4, 4, 4, 4], "theta", ["thresholds", "loadings"])
    >>> table.numbered()[1]  # 16 thresholds, 4 loadings; in group 2: 4 intercepts, 4 residuals, 1 variance
    29
    """
    _check_equal(group_equal, parameterization, n_th, "groups")
    table = OrdinalParTable.build(model, n_groups, n_th, parameterization)
    spec = table.spec
    partial = [_parse_partial(p, spec.ov, spec.lv) for p in group_partial]
    _identify(table, set(group_equal), partial, later=lambda r: r[4] > 0, base=lambda name: name)
    return table


def wu_estabrook_long_table(
    model: CFAModel,
    n_th: Sequence[int],
    parameterization: str,
    names: Mapping[str, tuple[str, int]],
    long_equal: Sequence[str] = (),
    long_partial: Sequence[str] = (),
) -> OrdinalParTable:
    """A step of the longitudinal ordinal chain in one group, as ``measEq.syntax(longFacNames = ...)``.

    The same identification as :func:`wu_estabrook_table`, with the waves in
    place of the groups: ``names`` maps each wide item and factor
    (``rs1_w2``, ``rs_w2``) to its name at every wave and its wave (``("rs1", 1)``,
    wave 1 the reference); parameters of the same item or factor at every wave
    are held equal, and the parameters freed once they are equal are those of
    waves 2... ``long_partial`` names parameters in the long names (``"rs2~1"``).

    Examples
    --------
    >>> from sdt_survey.factor.sem import CFAModel
    >>> model = CFAModel.from_syntax("f_w1 =~ a_w1 + b_w1 + c_w1\\nf_w2 =~ a_w2 + b_w2 + c_w2")
    >>> names = {f"{v}_w{k + 1}": (v, k) for v in "fabc" for k in range(2)}
    >>> table = wu_estabrook_long_table(model, [4] * 6, "theta", names, ["thresholds", "loadings"])
    >>> table.numbered()[1]  # 12 thresholds, 3 loadings, 1 factor covariance; wave 2: 3 + 3 + 1
    23
    """
    _check_equal(long_equal, parameterization, n_th, "waves")
    table = OrdinalParTable.build(model, 1, n_th, parameterization)
    spec = table.spec
    long_ov = list(dict.fromkeys(names[v][0] for v in spec.ov))
    long_lv = list(dict.fromkeys(names[f][0] for f in spec.lv))
    partial = [_parse_partial(p, long_ov, long_lv) for p in long_partial]

    def base(name: str) -> str:
        return names[name][0] if name in names else name

    _identify(table, set(long_equal), partial, later=lambda r: names.get(r[1], ("", 0))[1] > 0, base=base)
    return table


def _check_equal(equal: Sequence[str], parameterization: str, n_th: Sequence[int], across: str) -> None:
    unknown = [g for g in equal if g not in ORDINAL_GROUP_EQUAL]
    if unknown:
        raise CFAError(
            f"unknown {'group' if across == 'groups' else 'long'}_equal "
            f"entr{'y' if len(unknown) == 1 else 'ies'} {unknown}; use {ORDINAL_GROUP_EQUAL}"
        )
    if "residuals" in equal and parameterization == "delta":
        raise CFAError(
            f"residual variances cannot be tested for invariance across {across} with "
            "parameterization='delta' (as semTools::measEq.syntax); use parameterization='theta'"
        )
    if "intercepts" in equal and "thresholds" not in equal:
        raise CFAError(
            "equal intercepts need equal thresholds first (Wu & Estabrook, 2016): add 'thresholds'"
        )
    if "thresholds" in equal and min(n_th) < 2:
        raise CFAError(
            "an item has only two categories: Wu & Estabrook's identification needs three or more "
            "categories per item to free intercepts and scales once thresholds are equal"
        )


def _identify(
    table: OrdinalParTable,
    eq: set[str],
    partial: Sequence[Callable[[str, str, str], bool]],
    later: Callable[[Row], bool],
    base: Callable[[str], str],
) -> None:
    """Wu & Estabrook's constraints: ``later`` picks the rows of groups (or waves) 2..; rows with the
    same ``base`` names are the same parameter."""
    parameterization = table.parameterization
    lv = set(table.spec.lv)

    def released(r: Row) -> bool:
        return any(p(base(r[1]), r[2], base(r[3])) for p in partial)

    def same(r: Row) -> tuple[str, str, str]:
        return base(r[1]), r[2], base(r[3])

    if "thresholds" in eq:
        table.tie(_is("th", "|"), key=same)
        table.free(lambda r: later(r) and r[0] == "model" and r[2] == "~1" and r[1] not in lv)
        if parameterization == "delta":
            table.free(lambda r: later(r) and r[0] == "scale")
        else:
            table.free(lambda r: later(r) and _is("model", "~~", lv, False)(r))
    if "loadings" in eq:
        table.tie(lambda r: r[0] == "model" and r[2] == "=~" and not released(r), key=same)
        if "lv.variances" not in eq:
            table.free(lambda r: later(r) and _is("model", "~~", lv, True)(r))
    if "intercepts" in eq:
        item_intercept = lambda r: r[0] == "model" and r[2] == "~1" and r[1] not in lv  # noqa: E731
        # Equal to the first group's (wave's), which is fixed at 0: fixed at 0 unless released.
        table.fix(lambda r: item_intercept(r) and not released(r), 0.0)
        if "means" not in eq:
            table.free(lambda r: later(r) and r[0] == "model" and r[2] == "~1" and r[1] in lv)
    if "residuals" in eq:  # theta only (refused above under delta)
        table.fix(lambda r: _is("model", "~~", lv, False)(r) and not (later(r) and released(r)), 1.0)
