"""McDonald's omega from a Schmid-Leiman solution, as psych::omega computes it.

Omega hierarchical, omega total, omega limit, ECV, psych's ``omega.group`` and
the same for declared subscales. The Schmid-Leiman solution is a factor
analysis (minres by default, or any ``fm`` psych::schmid takes:
:func:`sdt_survey.stats.extraction.extract`), varimax, then an oblique
rotation (GPArotation's oblimin by default: :mod:`sdt_survey.stats.rotation`),
and a general factor from the factor correlations by the same ``fm``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ReliabilityError, ReliabilityKeyError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_number as fmt
from ..stats.extraction import extract
from ..stats.moments import pairwise_moments, smc
from ..stats.rotation import rotate, varimax
from ._common import Missing, check_missing, frame_text, item_matrix, require_finite, warn

#: The extraction methods omega takes (psych::schmid's; ``uls`` is minres).
OMEGA_FMS = ("minres", "uls", "ml", "pa", "wls", "gls")
#: The oblique rotations omega takes (psych::schmid's ``rotate``).
OMEGA_ROTATIONS = ("oblimin", "promax", "geominQ", "bentlerQ", "biquartimin")


def schmid_leiman(
    r: np.ndarray, nfactors: int, option: str = "equal", *, fm: str = "minres", rotation: str = "oblimin"
) -> dict[str, np.ndarray]:
    """psych::schmid: ``fa(fm)`` + varimax, an oblique rotation, second-order g from Phi by ``fm``."""
    lam = extract(r, nfactors, fm)[0]
    if nfactors == 1:
        orth = lam
        fload = lam
        phi = np.ones((1, 1))
        gload = np.ones(1)
    else:
        rot = varimax(lam)[0]
        sign = np.sign(rot.sum(axis=0))
        sign[sign == 0] = 1
        rot = rot * sign
        order = np.argsort(-(rot**2).sum(axis=0), kind="stable")
        orth = rot[:, order]
        rot = rotate(orth, rotation)
        fload, phi = rot.loadings, rot.phi
        if nfactors > 2:
            gload = extract(phi, 1, fm)[0][:, 0]
        else:
            r12 = phi[0, 1]
            if option == "equal":
                gload = np.array([math.sqrt(abs(r12)), math.copysign(math.sqrt(abs(r12)), r12)])
            elif option == "first":
                gload = np.array([1.0, r12])
            else:
                gload = np.array([r12, 1.0])
    g = fload @ gload
    h2 = (orth**2).sum(axis=1)
    u2 = np.diag(r) - h2
    uniq2 = fload**2 - (fload * gload) ** 2
    uniq2[uniq2 < 0] = 0
    sm = np.sign(fload) * np.sqrt(uniq2)
    return {
        "g": g,
        "group": sm,
        "h2": h2,
        "u2": u2,
        "oblique": fload,
        "phi": phi,
        "gload": gload,
        "orth": orth,
    }


@dataclass(frozen=True, eq=False)
class OmegaResult(Result):
    """McDonald's omega from a Schmid-Leiman solution (psych::omega).

    ``omega_h`` (psych omega_h), ``omega_total`` (omega.tot), ``omega_lim``
    (omega.lim = omega_h / omega_total), ``alpha``, ``g6`` (G6), ``ecv``
    (ECV). ``schmid_leiman`` is psych's ``schmid$sl`` (g, F1*.., h2, u2, p2);
    ``omega_group`` is psych's ``omega.group`` (each item assigned to the group
    factor it loads most on); ``subscales`` the same coefficients for the
    declared ``groups`` (``None`` without groups).
    """

    omega_h: float
    omega_total: float
    omega_lim: float
    alpha: float
    g6: float
    ecv: float
    nfactors: int
    fm: str
    n_obs: int
    missing: str
    schmid_leiman: pd.DataFrame = field(repr=False)
    oblique_loadings: pd.DataFrame = field(repr=False)
    phi: pd.DataFrame = field(repr=False)
    g_loadings: pd.Series = field(repr=False)
    omega_group: pd.DataFrame = field(repr=False)
    subscales: pd.DataFrame | None = field(default=None, repr=False)
    reversed_items: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    rotation: str = "oblimin"

    def to_frame(self) -> pd.DataFrame:
        """The Schmid-Leiman table: one row per item."""
        return self.schmid_leiman.copy()

    def to_dict(self) -> dict[str, Any]:
        out = {
            "omega_h": self.omega_h,
            "omega_total": self.omega_total,
            "omega_lim": self.omega_lim,
            "alpha": self.alpha,
            "g6": self.g6,
            "ecv": self.ecv,
            "nfactors": self.nfactors,
            "fm": self.fm,
            "rotation": self.rotation,
            "n_obs": self.n_obs,
            "missing": self.missing,
            "reversed_items": list(self.reversed_items),
            "schmid_leiman": self.schmid_leiman.to_dict(orient="index"),
            "omega_group": self.omega_group.to_dict(orient="index"),
            "subscales": None if self.subscales is None else self.subscales.to_dict(orient="index"),
            **message_fields(self),
        }
        return jsonable(out)

    def summary(self) -> str:
        lines = [
            f"Omega ({self.nfactors} group factor{'s' if self.nfactors != 1 else ''}, fm = {self.fm}, "
            + (f"rotate = {self.rotation}, " if self.rotation != "oblimin" else "")
            + f"n = {self.n_obs}, missing = {self.missing})",
            f" alpha {fmt(self.alpha, 2)}   G.6 {fmt(self.g6, 2)}   omega_h {fmt(self.omega_h, 2)}   "
            f"omega_lim {fmt(self.omega_lim, 2)}   omega_total {fmt(self.omega_total, 2)}   "
            f"ECV {fmt(self.ecv, 2)}",
        ]
        if self.reversed_items:
            lines.append(
                f" items reversed because they load negatively on g: {', '.join(self.reversed_items)}"
            )
        lines += ["", " Schmid-Leiman factor loadings:", frame_text(self.schmid_leiman, 2)]
        lines += ["", " Omega total, general and group by group factor:", frame_text(self.omega_group, 2)]
        if self.subscales is not None:
            lines += ["", " By declared subscale:", frame_text(self.subscales, 2)]
        lines += message_lines(self)
        return "\n".join(lines)


def _correlation_for(items: pd.DataFrame, missing: str, what: str) -> tuple[np.ndarray, int, list[str]]:
    """R's ``cor(x, use="pairwise")`` (or of the complete rows), as psych::omega uses."""
    check_missing(missing)
    x = item_matrix(items, what=what)
    names = [str(c) for c in items.columns]
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    _, cor, _ = pairwise_moments(x)
    require_finite(cor, names, "correlation")
    return cor, x.shape[0], names


def omega_from_correlation(
    r: np.ndarray,
    names: list[str],
    nfactors: int,
    *,
    n_obs: int,
    missing: str,
    fm: str = "minres",
    groups: Mapping[str, Sequence[str]] | None = None,
    option: str = "equal",
    rotate: str = "oblimin",
) -> OmegaResult:
    """:func:`omega` of a correlation matrix ``r`` (items ``names``, ``n_obs`` respondents)."""
    if fm not in OMEGA_FMS:
        raise ReliabilityError(f"fm={fm!r} is not supported; use one of {', '.join(OMEGA_FMS)}")
    if rotate not in OMEGA_ROTATIONS:
        raise ReliabilityError(
            f"rotate={rotate!r} is not supported; use an oblique rotation: {', '.join(OMEGA_ROTATIONS)}"
        )
    p = r.shape[0]
    if not 1 <= nfactors < p:
        raise ReliabilityError(f"nfactors must be between 1 and {p - 1} for {p} items, got {nfactors}")
    if rotate == "biquartimin" and nfactors < 3:
        raise ReliabilityError("rotate='biquartimin' needs at least 3 factors")
    if fm in ("ml", "wls", "gls") and np.linalg.eigvalsh(r)[0] <= 0:
        raise ReliabilityError(
            f"fm={fm!r} needs a positive definite correlation matrix; use fm='minres' or missing='listwise'"
        )
    messages: list[str] = []
    if nfactors == 2:
        warn(
            messages,
            "three factors are required for identification; with two, the general factor loadings "
            f"are set by psych's option={option!r} rule. Proceed with caution.",
            stacklevel=3,
        )
    sl = schmid_leiman(r, nfactors, option, fm=fm, rotation=rotate)
    g, grp = sl["g"].copy(), sl["group"].copy()
    key = np.sign(g)
    key[key == 0] = 1
    m = r * np.outer(key, key)
    g *= key
    grp *= key[:, None]
    vt = m.sum()
    h2, u2 = sl["h2"], sl["u2"]
    gsq = g.sum() ** 2
    omega_tot = (vt - u2.sum()) / vt
    alpha_v = (vt - np.trace(m)) / vt * p / (p - 1)
    g6 = (vt + smc(m).sum() - np.trace(m)) / vt
    ev = np.r_[(g**2).sum(), (grp**2).sum(axis=0)]
    ecv = ev[0] / ev.sum()

    labels = [f"F{i + 1}*" for i in range(nfactors)]
    with np.errstate(divide="ignore", invalid="ignore"):
        p2 = g**2 / h2
    sl_frame = pd.DataFrame(
        np.column_stack([g, grp, h2, u2, p2]), index=names, columns=["g", *labels, "h2", "u2", "p2"]
    )

    def coefficients(members: np.ndarray, factor: int) -> tuple[float, float, float]:
        vgr = m[np.ix_(members, members)].sum()
        gr = grp[members, factor].sum()
        gen = g[members].sum()
        return (gr**2 + gen**2) / vgr, gen**2 / vgr, gr**2 / vgr

    # psych's omega.group: each item belongs to the group factor it loads most on.
    owner = np.argmax(np.abs(grp), axis=1)
    rows = [[omega_tot, gsq / vt, math.nan]]
    group_sum = 0.0
    for f in range(nfactors):
        members = np.flatnonzero(owner == f)
        if members.size:
            rows.append(list(coefficients(members, f)))
            group_sum += grp[members, f].sum() ** 2
        else:
            rows.append([math.nan] * 3)
    rows[0][2] = group_sum / vt
    omega_group = pd.DataFrame(rows, index=["g", *labels], columns=["total", "general", "group"])

    subs = None
    if groups is not None:
        index = {n: i for i, n in enumerate(names)}
        sub_rows = {}
        for gid, gitems in groups.items():
            members = np.array([index[str(i)] for i in gitems])
            factor = int(np.argmax((grp[members] ** 2).sum(axis=0)))
            total, general, group = coefficients(members, factor)
            sub_rows[str(gid)] = {
                "factor": labels[factor],
                "omega_total": total,
                "omega_general": general,
                "omega_group": group,
            }
        subs = pd.DataFrame.from_dict(sub_rows, orient="index")

    fl = pd.DataFrame(sl["oblique"], index=names, columns=[f"F{i + 1}" for i in range(nfactors)])
    phi = pd.DataFrame(sl["phi"], index=fl.columns, columns=fl.columns)
    return OmegaResult(
        omega_h=float(gsq / vt),
        omega_total=float(omega_tot),
        omega_lim=float(gsq / (vt - u2.sum())),
        alpha=float(alpha_v),
        g6=float(g6),
        ecv=float(ecv),
        nfactors=int(nfactors),
        fm=fm,
        n_obs=int(n_obs),
        missing=missing,
        schmid_leiman=sl_frame,
        oblique_loadings=fl,
        phi=phi,
        g_loadings=pd.Series(sl["gload"], index=fl.columns, name="g"),
        omega_group=omega_group,
        subscales=subs,
        reversed_items=tuple(n for n, k in zip(names, key, strict=True) if k < 0),
        warnings=tuple(messages),
        rotation=rotate,
    )


def omega(
    items: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None = None,
    nfactors: int | None = None,
    fm: str = "minres",
    *,
    missing: Missing = "pairwise",
    option: Literal["equal", "first", "second"] = "equal",
    rotate: str = "oblimin",
) -> OmegaResult:
    """Omega hierarchical, omega total and ECV from a Schmid-Leiman solution.

    Reproduces ``psych::omega(x, nfactors, fm = fm, rotate = rotate)``:
    pairwise Pearson correlations; a factor analysis with ``nfactors``
    factors (``fm``), varimax, then the oblique ``rotate`` (GPArotation's
    oblimin by default); a one-factor analysis (``fm``) of the factor
    correlations gives the general factor (with two factors, psych's
    ``option`` rule); Schmid-Leiman orthogonalization; items loading
    negatively on g are reversed before the coefficients are formed.

    Parameters
    ----------
    items : DataFrame
        Item responses (NaN = missing), reverse keys applied.
    groups : mapping of str to list of str, optional
        Declared subscales (e.g. an instrument's subscales). Only their items
        are analysed; ``nfactors`` defaults to the number of groups; and
        :attr:`OmegaResult.subscales` reports omega total, omega general and
        omega group (omega hierarchical subscale) for each declared group, on
        the group factor its items load most on.
    nfactors : int, optional
        Group factors (default: the number of ``groups``, else 3 as in psych).
    fm : {"minres", "uls", "ml", "pa", "wls", "gls"}
        Factoring method, as :func:`sdt_survey.factor.efa` (psych's
        ``fm``): ``minres`` (psych's default) or ``uls``, maximum
        likelihood, principal axes, weighted or generalized least squares.
    missing : {"pairwise", "listwise"}
        Correlations from pairwise-complete (psych) or complete rows.
    option : {"equal", "first", "second"}
        psych's rule for the g loadings when ``nfactors == 2``.
    rotate : {"oblimin", "promax", "geominQ", "bentlerQ", "biquartimin"}
        The oblique rotation of the group factors before the general factor
        is extracted (psych's ``rotate``; ``oblimin`` by default).

    Returns
    -------
    OmegaResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> g = rng.normal(size=(800, 1)); s = rng.normal(size=(800, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(s, 3, axis=1) + rng.normal(scale=0.6, size=(800, 9))
    >>> items = pd.DataFrame(x, columns=[f"{a}{i}" for a in "abc" for i in (1, 2, 3)])
    >>> res = omega(items, groups={"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"], "c": ["c1", "c2", "c3"]})
    >>> res.nfactors, round(res.omega_h, 2), round(res.omega_total, 2)
    (3, 0.74, 0.92)
    >>> res.subscales["factor"].nunique()
    3
    """
    if groups is not None:
        wanted = [str(i) for members in groups.values() for i in members]
        if len(set(wanted)) != len(wanted):
            raise ReliabilityError("an item appears in more than one group")
        unknown = [i for i in wanted if i not in items.columns]
        if unknown:
            raise ReliabilityKeyError(f"group items not in the data: {', '.join(unknown)}")
        items = items[wanted]
        if nfactors is None:
            nfactors = len(groups)
    if nfactors is None:
        nfactors = 3
    r, n_obs, names = _correlation_for(items, missing, "items")
    return omega_from_correlation(
        r, names, nfactors, n_obs=n_obs, missing=missing, fm=fm, groups=groups, option=option, rotate=rotate
    )


def omega_total(items: pd.DataFrame, *, missing: Missing = "pairwise") -> float:
    """One-factor omega total, ``psych::omega(x, nfactors = 1)$omega.tot``.

    ``(V - sum(u2)) / V`` with ``V`` the sum of the (pairwise) correlation
    matrix after reversing items with negative loadings, and ``u2`` the
    uniquenesses of a one-factor minres solution. For the full one-factor
    solution use ``omega(items, nfactors=1)``.

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> x = np.random.default_rng(2).multivariate_normal(np.zeros(3), r, size=2000)
    >>> round(omega_total(pd.DataFrame(x, columns=["a", "b", "c"])), 3)
    0.683
    """
    r, n_obs, names = _correlation_for(items, missing, "items")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return omega_from_correlation(r, names, 1, n_obs=n_obs, missing=missing).omega_total
