"""Ordinal reliability: polychoric correlations, and ordinal alpha and omega from them.

The correlations are :func:`sdt_survey.stats.polychoric.polychoric_matrix`
(psych::polychoric); ordinal alpha is alpha of that matrix (Zumbo, Gadermann
& Zeisser, 2007) and ordinal omega is :func:`~sdt_survey.reliability.omega`
of it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReliabilityError, SdtSurveyError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_number as fmt
from ..stats.polychoric import R_OPTIMIZE_TOL, polychoric_matrix
from ._common import frame_text, item_matrix, warn
from .coefficient import Coefficient
from .mcdonald import OmegaResult, omega_from_correlation


@dataclass(frozen=True, eq=False)
class PolychoricResult(Result):
    """Polychoric correlations ``rho`` and thresholds ``tau`` (psych::polychoric)."""

    rho: pd.DataFrame
    tau: pd.DataFrame
    n_obs: int
    smoothed: bool = False
    global_thresholds: bool = True
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.rho.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "rho": self.rho.to_dict(orient="index"),
                "tau": self.tau.to_dict(orient="index"),
                "n_obs": self.n_obs,
                "smoothed": self.smoothed,
                "global_thresholds": self.global_thresholds,
                **message_fields(self),
            }
        )

    def summary(self) -> str:
        lines = [f"Polychoric correlations (n = {self.n_obs})", frame_text(self.rho, 2)]
        lines += ["", " with tau of", frame_text(self.tau, 2)]
        if self.smoothed:
            lines.append(" (smoothed to be positive definite)")
        lines += message_lines(self)
        return "\n".join(lines)


def polychoric(
    items: pd.DataFrame,
    *,
    correct: float = 0.5,
    smooth: bool = True,
    max_categories: int = 8,
    tol: float = R_OPTIMIZE_TOL,
) -> PolychoricResult:
    """Polychoric correlations and thresholds (psych::polychoric, two-step).

    Thresholds ``tau`` come from each item's marginal proportions (all its
    answers); each correlation maximizes the bivariate-normal likelihood of
    the pair's contingency table (pairwise-complete rows) with the thresholds
    fixed. Items must be integer-coded with at most ``max_categories``
    categories. As in psych, items with different numbers of categories are
    handled pair by pair (thresholds from the pair's table, empty rows and
    columns dropped, zero cells set to ``correct / n``); a non-positive
    definite result is smoothed (psych::cor.smooth).

    Each correlation is found by Brent's method on [-1, 1] with R's default
    tolerance ``tol`` (about 1.2e-4 in rho), which is what makes the values
    identical to psych's; a smaller ``tol`` gives the exact maximum-likelihood
    value (they differ by a few 1e-5, far below the standard error).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=3000)
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> round(float(polychoric(items).rho.loc["a", "b"]), 2)
    0.58
    """
    x = item_matrix(items)
    names = [str(c) for c in items.columns]
    answered = ~np.isnan(x)
    if not np.all(x[answered] == np.round(x[answered])):
        raise ReliabilityError("polychoric correlations need integer-coded categories")
    sds = np.array(
        [np.std(x[answered[:, j], j]) if answered[:, j].sum() > 1 else 0.0 for j in range(x.shape[1])]
    )
    if np.any(sds <= 0):
        bad = [names[j] for j in np.flatnonzero(sds <= 0)]
        raise ReliabilityError(f"items without variance: {', '.join(bad)}")
    nvalues = int(np.nanmax(x) - np.nanmin(x) + 1)
    if nvalues > max_categories:
        raise ReliabilityError(
            f"{nvalues} categories; polychoric correlations are for at most {max_categories}"
        )
    poly = polychoric_matrix(x, correct=correct, smooth=smooth, tol=tol)
    messages: list[str] = []
    if not poly.global_thresholds:
        warn(
            messages,
            "the items do not have an equal number of response alternatives; thresholds are "
            "estimated pair by pair (psych's global = FALSE)",
            stacklevel=2,
        )
    if poly.smoothed:
        warn(messages, "the polychoric matrix was not positive definite; smoothing was done", stacklevel=2)
    return PolychoricResult(
        rho=pd.DataFrame(poly.rho, index=names, columns=names),
        tau=pd.DataFrame(poly.tau, index=names, columns=[str(i + 1) for i in range(poly.tau.shape[1])]),
        n_obs=int(x.shape[0]),
        smoothed=poly.smoothed,
        global_thresholds=poly.global_thresholds,
        warnings=tuple(messages),
    )


def _poly_input(items: pd.DataFrame | PolychoricResult) -> PolychoricResult:
    return items if isinstance(items, PolychoricResult) else polychoric(items)


def ordinal_alpha(items: pd.DataFrame | PolychoricResult) -> float:
    """Ordinal alpha (Zumbo, Gadermann & Zeisser, 2007): alpha of the polychoric matrix.

    ``k/(k-1) * (1 - k / sum(rho))``, as ``psych::alpha(polychoric(x)$rho)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> z = rng.normal(size=(1000, 1)) + rng.normal(size=(1000, 3))
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]), columns=["a", "b", "c"])
    >>> round(ordinal_alpha(items), 2)
    0.73
    """
    rho = _poly_input(items).rho.to_numpy()
    k = rho.shape[0]
    return float((1 - k / rho.sum()) * k / (k - 1))


def ordinal_omega(
    items: pd.DataFrame | PolychoricResult, nfactors: int = 1, fm: str = "minres"
) -> OmegaResult:
    """Ordinal omega: :func:`omega` on the polychoric correlation matrix.

    With ``nfactors=1`` (default) ``.omega_total`` is ordinal omega total,
    ``psych::omega(polychoric(x)$rho, nfactors = 1)$omega.tot``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> z = rng.normal(size=(1000, 1)) + rng.normal(size=(1000, 3))
    >>> items = pd.DataFrame(np.digitize(z, [-1, 0, 1]), columns=["a", "b", "c"])
    >>> round(ordinal_omega(items).omega_total, 2)
    0.73
    """
    poly = _poly_input(items)
    names = [str(c) for c in poly.rho.columns]
    with warnings.catch_warnings():
        if nfactors == 1:
            warnings.simplefilter("ignore")
        return omega_from_correlation(
            poly.rho.to_numpy(), names, nfactors, n_obs=poly.n_obs, missing="pairwise", fm=fm
        )


def ordinal_coefficients(frame: pd.DataFrame) -> dict[str, float | None]:
    """Ordinal alpha and omega of a subscale, or nulls when the items are not ordinal codes."""
    values = frame.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not np.all(finite == np.round(finite)) or len(np.unique(finite)) > 10:
        return {"alpha": None, "omega_total": None}
    try:
        matrix = polychoric(frame)
        return {"alpha": ordinal_alpha(matrix), "omega_total": ordinal_omega(matrix).omega_total}
    except (ValueError, np.linalg.LinAlgError, SdtSurveyError):
        return {"alpha": None, "omega_total": None}


#: Ordinal alpha and omega of each subscale in the instrument report (listed in :mod:`.table`).
ORDINAL = Coefficient(
    key="ordinal",
    title="ordinal (polychoric)",
    compute=lambda items, options: ordinal_coefficients(items),
    to_dict=dict,
    columns=lambda values: {f"ordinal_{k}": v for k, v in values.items()},
    describe=lambda values: (
        f"ordinal alpha {fmt(values.get('alpha'))}   ordinal omega {fmt(values.get('omega_total'))}"
    ),
)
