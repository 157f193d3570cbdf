"""psych::fa: exploratory factor analysis and its result."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import FactorAnalysisError
from ...results import Result, format_number, jsonable
from ...stats.extraction import FMS, PSI_BOUNDS, extract, sign_columns
from ...stats.rotation import BIFACTOR, ROTATIONS, rotate
from ...stats.threads import single_blas_thread
from ._input import ItemData, Missing, prepare, require_positive_definite
from ._text import format_p_lt, source_text
from .fit import fit_statistics

Fm = Literal["minres", "ml", "pa", "uls", "wls", "gls"]
Rotate = Literal[
    "oblimin", "promax", "varimax", "geomin", "geominQ", "geominT", "quartimin",
    "quartimax", "bentlerT", "bentlerQ", "bifactor", "biquartimin", "none",
]  # fmt: skip

#: psych's column prefixes (``MR1``, ``ML1``, ``PA1``, ``WLS1``...).
PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA", "uls": "ULS", "wls": "WLS", "gls": "GLS"}


VARIANCE_ROWS = [
    "SS loadings",
    "Proportion Var",
    "Cumulative Var",
    "Proportion Explained",
    "Cumulative Proportion",
]


@dataclass(frozen=True, eq=False)
class EFAResult(Result):
    """An exploratory factor analysis (psych::fa); psych's names in brackets.

    Attributes
    ----------
    loadings : DataFrame
        Pattern loadings, items x factors (``loadings``). Factors are named
        as psych names them (``MR``/``ML``/``PA`` + the number of the factor
        before sorting) and ordered by variance accounted for.
    communalities : Series
        ``h2`` (``communality``): the diagonal of the model ``L Phi L'``.
    uniquenesses : Series
        ``u2`` (``uniquenesses``): ``1 - h2``.
    complexity : Series
        Hoffman's item complexity (``complexity``).
    phi : DataFrame
        Factor correlations (``Phi``); the identity for orthogonal solutions.
    structure : DataFrame
        Structure loadings ``L Phi`` (``Structure``).
    variance : DataFrame
        Variance accounted for (``Vaccounted``), rows ``VARIANCE_ROWS``.
    fit : dict
        psych's fit statistics under their psych names: ``STATISTIC``
        (likelihood chi-square with Bartlett's correction), ``dof``, ``PVAL``,
        ``objective``, ``TLI``, ``RMSEA`` with ``RMSEA_lower``/``RMSEA_upper``
        (90% interval), ``BIC``, ``SABIC``, ``null_chisq``, ``null_dof``,
        ``null_model``; the empirical ``chi`` (residuals weighted by pairwise
        counts) with ``EPVAL``, ``EBIC``, ``ESABIC``; ``rms`` (RMSR),
        ``crms``, ``fit``, ``fit_off``, ``n_obs`` and ``nh`` (harmonic mean of
        the pairwise counts).
    eigenvalues : Series
        Eigenvalues of the correlation matrix (``e.values``).
    common_eigenvalues : Series
        Eigenvalues of the reduced matrix with the communalities on the
        diagonal (``values``).
    residuals : DataFrame
        ``R - L Phi L'`` (``residual``), communalities on the diagonal removed.
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    complexity: pd.Series
    phi: pd.DataFrame
    structure: pd.DataFrame
    variance: pd.DataFrame
    fit: dict[str, Any]
    n_factors: int
    fm: str
    rotation: str
    n_obs: int | None
    missing: str
    oblique: bool
    converged: bool
    eigenvalues: pd.Series = field(repr=False)
    common_eigenvalues: pd.Series = field(repr=False)
    residuals: pd.DataFrame = field(repr=False)
    unrotated: pd.DataFrame = field(repr=False)
    rotmat: np.ndarray = field(repr=False)
    correlation: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def h2(self) -> pd.Series:
        """Alias of :attr:`communalities`."""
        return self.communalities

    def to_frame(self) -> pd.DataFrame:
        """One row per item: the loadings, ``h2``, ``u2`` and ``com`` (psych's printed table)."""
        out = self.loadings.copy()
        out["h2"] = self.communalities
        out["u2"] = self.uniquenesses
        out["com"] = self.complexity
        out.index.name = "item"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe values (NaN becomes ``None``)."""
        return jsonable(
            {
                "n_factors": self.n_factors,
                "fm": self.fm,
                "rotation": self.rotation,
                "oblique": self.oblique,
                "n_obs": self.n_obs,
                "missing": self.missing,
                "converged": self.converged,
                "factors": list(self.loadings.columns),
                "loadings": self.loadings.to_dict(orient="index"),
                "communalities": self.communalities.to_dict(),
                "uniquenesses": self.uniquenesses.to_dict(),
                "complexity": self.complexity.to_dict(),
                "phi": self.phi.to_dict(orient="index"),
                "variance": self.variance.to_dict(orient="index"),
                "fit": dict(self.fit),
                "eigenvalues": self.eigenvalues.tolist(),
                "notes": list(self.notes),
                **({"warnings": list(self.warnings)} if self.warnings else {}),
            }
        )

    def renamed(self, names: Mapping[str, str]) -> EFAResult:
        """The same solution with factors renamed (``{"MR1": "autonomy_satisfaction"}``); others keep
        their names."""
        rename = {str(old): str(new) for old, new in names.items()}
        columns = {"loadings", "phi", "structure", "variance", "unrotated"}
        changes = {name: getattr(self, name).rename(columns=rename) for name in columns}
        changes["phi"] = changes["phi"].rename(index=rename)
        return dataclasses.replace(self, **changes)

    def plot(self, path: str | Path | None = None, *, overwrite: bool = False) -> Any:
        """Scree plot: the eigenvalues of the correlation matrix and of the reduced matrix.

        ``path`` (``.png``, ``.svg``, ``.pdf``) is written atomically; an existing file is
        replaced only with ``overwrite=True``. Without ``path``, the matplotlib figure.
        """
        from .plot import scree_figure

        return scree_figure(self.eigenvalues.to_numpy(), self.common_eigenvalues.to_numpy(), None,
                            self.n_factors, path, overwrite=overwrite)  # fmt: skip

    def sorted_loadings(self) -> pd.DataFrame:
        """Items grouped by the factor they load most on, largest loadings first (psych::fa.sort)."""
        lam = self.loadings.to_numpy()
        owner = np.argmax(np.abs(lam), axis=1)
        size = -np.abs(lam[np.arange(len(lam)), owner])
        order = np.lexsort((size, owner))
        return self.loadings.iloc[order]

    def summary(self, cut: float = 0.3, *, sort: bool = False, digits: int = 2) -> str:
        """psych-style print: loadings with ``|loading| < cut`` blanked, variance, Phi and fit.

        Parameters
        ----------
        cut : float
            Loadings smaller than this in absolute value are left blank (0 shows all).
        sort : bool
            Group items by their main factor, as ``print(fa.sort(f))``.
        digits : int
        """
        fit = self.fit
        lines = [
            f"Factor analysis using method = {self.fm}, rotation = {self.rotation} "
            f"({self.n_factors} factor{'s' if self.n_factors != 1 else ''}, {len(self.loadings)} items, "
            f"{source_text(self.n_obs, self.missing)})",
            "Standardized loadings (pattern matrix) based upon correlation matrix"
            + (f"; |loading| < {cut:.2f} blanked" if cut > 0 else ""),
        ]
        lam = self.sorted_loadings() if sort else self.loadings
        width = max(len(str(i)) for i in lam.index)
        cw = max(digits + 4, *(len(c) for c in lam.columns))
        head = " " * width + " " + " ".join(f"{c:>{cw}}" for c in lam.columns)
        head += f" {'h2':>{digits + 3}} {'u2':>{digits + 3}} {'com':>4}"
        lines.append(head)
        for item, row in lam.iterrows():
            cells = [f"{v:>{cw}.{digits}f}" if abs(v) >= cut else " " * cw for v in row]
            lines.append(
                f"{item!s:<{width}} "
                + " ".join(cells)
                + f" {self.communalities[item]:>{digits + 3}.{digits}f}"
                f" {self.uniquenesses[item]:>{digits + 3}.{digits}f} {self.complexity[item]:>4.1f}"
            )
        var = self.variance
        vw = max(len(s) for s in var.index)
        lines += ["", " " * vw + " " + " ".join(f"{c:>{cw}}" for c in var.columns)]
        for name, row in var.iterrows():
            lines.append(f"{name:<{vw}} " + " ".join(f"{v:>{cw}.{digits}f}" for v in row))
        if self.oblique and self.n_factors > 1:
            lines += ["", "With factor correlations of"]
            lines.append(" " * cw + " " + " ".join(f"{c:>{cw}}" for c in self.phi.columns))
            for name, row in self.phi.iterrows():
                lines.append(f"{name:<{cw}} " + " ".join(f"{v:>{cw}.{digits}f}" for v in row))
        lines += [
            "",
            f"Mean item complexity = {self.complexity.mean():.1f}",
            f"Test of the hypothesis that {self.n_factors} factor{'s are' if self.n_factors != 1 else ' is'} "
            "sufficient.",
            f"df null model = {fit['null_dof']:.0f} with the objective function = {fit['null_model']:.2f}"
            + (f" with Chi Square = {fit['null_chisq']:.2f}" if fit["null_chisq"] is not None else ""),
            f"df of the model are {fit['dof']:.0f} and the objective function was {fit['objective']:.2f}",
            "",
            f"The root mean square of the residuals (RMSR) is {fit['rms']:.2f}",
        ]
        if fit.get("crms") is not None:
            lines.append(f"The df corrected root mean square of the residuals is {fit['crms']:.2f}")
        lines.append("")
        if fit["dof"] > 0 and self.n_obs is None:
            lines.append("No n_obs was given with the correlation matrix: no chi-square, TLI, RMSEA or BIC.")
        elif fit["dof"] > 0:
            lines += [
                f"The harmonic n.obs is {fit['nh']:.0f} with the empirical chi square {fit['chi']:.2f} "
                f"with prob {format_p_lt(fit['EPVAL'])}",
                f"The total n.obs was {self.n_obs} with Likelihood Chi Square = {fit['STATISTIC']:.2f} "
                f"with prob {format_p_lt(fit['PVAL'])}",
                "",
                f"Tucker Lewis Index of factoring reliability = {fit['TLI']:.3f}",
            ]
            if fit.get("RMSEA") is not None:
                pct = f"{fit['RMSEA_confidence']:.0%}"
                lines.append(
                    f"RMSEA index = {fit['RMSEA']:.3f} and the {pct} confidence interval is "
                    f"{format_number(fit['RMSEA_lower'])} {format_number(fit['RMSEA_upper'])}"
                )
                lines.append(f"BIC = {fit['BIC']:.2f}")
        else:
            lines.append(f"The model has {fit['dof']:.0f} degrees of freedom: no test of fit.")
        lines += [f"warning: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes]
        return "\n".join(line.rstrip() for line in lines)


def check_n_factors(n_factors: Any, p: int) -> int:
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
        raise FactorAnalysisError(f"n_factors must be a whole number, got {n_factors!r}")
    k = int(n_factors)
    if not 1 <= k < p:
        raise FactorAnalysisError(f"n_factors must be between 1 and {p - 1} for {p} items, got {k}")
    return k


def efa_from_data(data: ItemData, k: int, fm: str, rotation: str) -> EFAResult:
    if fm not in FMS:
        raise FactorAnalysisError(f"fm must be one of {', '.join(FMS)}, got {fm!r}")
    if rotation not in ROTATIONS:
        raise FactorAnalysisError(f"rotate must be one of {', '.join(ROTATIONS)}, got {rotation!r}")
    if rotation in BIFACTOR and k < 3:
        raise FactorAnalysisError(
            f"rotate={rotation!r} needs at least 3 factors (a general factor and two group factors), got {k}"
        )
    r, names, p = data.r, data.names, len(data.names)
    if fm == "ml":
        require_positive_definite(data, "maximum likelihood (fm='ml')")
    elif fm in ("wls", "gls"):
        require_positive_definite(data, f"fm={fm!r} (weighted by the inverse correlation matrix)")
    notes: list[str] = []
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    if dof < 0:
        notes.append(
            f"{k} factors for {p} items leave {dof:.0f} degrees of freedom: the model is not identified"
        )
    if data.eigenvalues[-1] <= 0:
        notes.append(
            "the pairwise correlation matrix is not positive definite; it was smoothed for the fit tests"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lam0, values, converged = extract(r, k, fm)
        rot = rotate(lam0, rotation if k > 1 else "none")
    for w in caught:
        notes.append(str(w.message))
    converged = converged and rot.converged
    if fm == "pa" and not converged:
        notes.append("principal axis iterations stopped at psych's limit of 50")

    lam, phi, rotmat = rot.loadings, rot.phi, rot.rotmat
    sign = sign_columns(lam)
    lam = lam * sign
    rotmat = rotmat * sign
    if phi is not None:
        phi = phi * np.outer(sign, sign)
    labels = np.array([f"{PREFIX[fm]}{i + 1}" for i in range(k)])
    if k > 1:
        ev = np.diag(lam.T @ lam) if phi is None else np.diag(phi @ lam.T @ lam)
        order = np.argsort(-ev, kind="stable")
        lam, labels, rotmat = lam[:, order], labels[order], rotmat[:, order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]
    model0 = lam0 @ lam0.T
    h2 = np.diag(model0).copy()
    u2 = np.diag(r) - h2
    fit = fit_statistics(r, lam, phi, data.n_obs, data.np_obs)
    oblique = phi is not None
    phi_full = phi if oblique else np.eye(k)
    vx = np.diag(phi_full @ lam.T @ lam)
    vtotal = float(np.sum(h2 + u2))
    variance = np.vstack([vx, vx / vtotal, np.cumsum(vx / vtotal), vx / vx.sum(), np.cumsum(vx / vx.sum())])
    rows = VARIANCE_ROWS if k > 1 else VARIANCE_ROWS[:2]
    complexity = (lam**2).sum(axis=1) ** 2 / (lam**4).sum(axis=1)
    if h2.max() > 1:
        heavy = [names[i] for i in np.flatnonzero(h2 > 1)]
        notes.append(
            f"ultra-Heywood case (communality above 1): {', '.join(heavy)}; examine the results carefully"
        )
    elif fm != "pa" and h2.max() >= 1 - PSI_BOUNDS[0] - 1e-6:
        heavy = [names[i] for i in np.flatnonzero(h2 >= 1 - PSI_BOUNDS[0] - 1e-6)]
        notes.append(f"Heywood case (uniqueness at its lower bound of .005): {', '.join(heavy)}")
    cols = list(labels)
    resid = r - lam @ phi_full @ lam.T
    return EFAResult(
        loadings=pd.DataFrame(lam, index=names, columns=cols),
        communalities=pd.Series(h2, index=names, name="h2"),
        uniquenesses=pd.Series(u2, index=names, name="u2"),
        complexity=pd.Series(complexity, index=names, name="com"),
        phi=pd.DataFrame(phi_full, index=cols, columns=cols),
        structure=pd.DataFrame(lam @ phi_full, index=names, columns=cols),
        variance=pd.DataFrame(variance[: len(rows)], index=rows, columns=cols),
        fit=fit,
        n_factors=k,
        fm=fm,
        rotation=rotation if k > 1 else "none",
        n_obs=data.n_obs,
        missing=data.missing,
        oblique=oblique,
        converged=converged,
        eigenvalues=pd.Series(data.eigenvalues, index=range(1, p + 1), name="e.values"),
        common_eigenvalues=pd.Series(values, index=range(1, p + 1), name="values"),
        residuals=pd.DataFrame(resid, index=names, columns=names),
        unrotated=pd.DataFrame(lam0, index=names, columns=[f"{PREFIX[fm]}{i + 1}" for i in range(k)]),
        rotmat=rotmat,
        correlation=pd.DataFrame(r, index=names, columns=names),
        notes=tuple(dict.fromkeys(notes)),
    )


def efa(
    items: pd.DataFrame,
    n_factors: int,
    *,
    fm: Fm = "minres",
    rotate: Rotate = "oblimin",
    missing: Missing = "pairwise",
    n_obs: int | None = None,
) -> EFAResult:
    """Exploratory factor analysis, as ``psych::fa(items, n_factors, fm = fm, rotate = rotate)``.

    Parameters
    ----------
    items : DataFrame
        One numeric column per item (reverse keys applied), NaN = missing.
        Or a correlation or covariance matrix (square and symmetric, as psych
        detects one; its index equal to its columns), as ``psych::fa(r, n.obs = )``:
        a covariance matrix is turned into correlations.
    n_factors : int
        Number of factors, 1 to (items - 1).
    fm : {"minres", "ml", "pa", "uls", "wls", "gls"}
        Extraction: minimum residual (psych's default; unweighted least
        squares with uniquenesses in [.005, 1] starting at ``1 - SMC``),
        maximum likelihood (the same bounds and start), iterated principal
        axes (SMCs as starting communalities, iterated until their sum changes
        by less than .001, at most 50 times, as psych's ``fm = "pa"``);
        ``uls`` (psych's unweighted least squares, the minres solution),
        ``wls`` (residuals weighted by the items' ``1 - SMC``) and ``gls``
        (residuals premultiplied by the inverse correlation matrix), both
        along psych's own optimization path (see
        :func:`sdt_survey.stats.extraction.fa_weighted`).
    rotate : str
        ``oblimin`` (GPArotation, quartimin criterion; psych's default),
        ``promax`` (psych's: Kaiser-normalized, power 4), ``varimax``
        (stats::varimax), ``geomin`` = ``geominQ`` (oblique, delta .01),
        ``geominT`` (orthogonal), ``quartimax`` (orthogonal), ``bentlerT``
        and ``bentlerQ`` (Bentler's criterion, orthogonal and oblique),
        ``bifactor`` and ``biquartimin`` (a general factor plus group
        factors, orthogonal and oblique; 3 factors or more), or ``none``.
    missing : {"pairwise", "listwise"}
        ``pairwise`` (psych's ``use = "pairwise"``) correlates each pair of
        items over the respondents who answered both; ``n_obs`` is then the
        number of rows, as in psych. ``listwise`` drops incomplete rows first
        (``psych::fa(na.omit(items))``). Not used with a matrix.
    n_obs : int, optional
        With a matrix, the number of respondents behind it (psych's ``n.obs``):
        without it, as psych, there is no chi-square, TLI, RMSEA or BIC.

    Returns
    -------
    EFAResult

    Raises
    ------
    FactorAnalysisError
        Non-numeric or constant items, too few respondents, a singular
        correlation matrix, an impossible number of factors.

    Notes
    -----
    As psych: columns of the unrotated and of the rotated loadings are signed
    so that their sums are positive, factors are ordered by the variance
    they account for (``diag(Phi L'L)``), and named by the extraction prefix
    and their number before that ordering (so ``MR2`` may come first).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> f = rng.normal(size=(500, 2))
    >>> load = np.kron(np.eye(2), np.full((1, 3), 0.7))
    >>> x = f @ load + rng.normal(size=(500, 6)) * 0.7
    >>> items = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> res = efa(items, 2, fm="ml", rotate="promax")
    >>> res.loadings.columns.tolist()
    ['ML1', 'ML2']
    >>> res.loadings.abs().idxmax().str[0].tolist()  # each factor's main item
    ['a', 'b']
    >>> res.fit["dof"], round(res.fit["RMSEA"], 3)
    (4.0, 0.0)
    >>> print(res.summary().splitlines()[0])
    Factor analysis using method = ml, rotation = promax (2 factors, 6 items, n = 500, missing = pairwise)
    >>> from_matrix = efa(items.corr(), 2, fm="ml", rotate="promax", n_obs=500)  # psych::fa(r, n.obs = 500)
    >>> bool(np.allclose(from_matrix.loadings, res.loadings)), from_matrix.fit["dof"]
    (True, 4.0)
    """
    with single_blas_thread():
        data = prepare(items, missing, n_obs=n_obs)
        k = check_n_factors(n_factors, len(data.names))
        return efa_from_data(data, k, fm, rotate)
