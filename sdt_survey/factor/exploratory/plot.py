"""The scree plot of an EFA, with parallel analysis's reference lines when there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._plots import finish_figure, pyplot


def scree_figure(
    pc_values: np.ndarray,
    fa_values: np.ndarray,
    parallel: pd.DataFrame | None,
    n_factors: int,
    path: str | Path | None,
    *,
    quantile: float = 0.95,
    overwrite: bool = False,
) -> Any:
    """Eigenvalues of the data (components and factors) by number, as psych's ``fa.parallel`` draws them.

    ``parallel`` is :attr:`ParallelResult.scree`: its simulated quantiles are
    drawn dashed, the line each eigenvalue must clear. The number of factors
    extracted is marked. See :func:`~sdt_survey._plots.finish_figure` for ``path``.
    """
    plt = pyplot()
    number = np.arange(1, len(pc_values) + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=100)
    ax.plot(number, pc_values, marker="x", color="tab:blue", label="components (data)")
    ax.plot(number, fa_values, marker="^", color="tab:red", label="factors (data)")
    if parallel is not None:
        simulated = f"simulated data ({quantile:.0%} quantile)"
        for kind, color in (("pc", "tab:blue"), ("fa", "tab:red")):
            label = f"{'components' if kind == 'pc' else 'factors'}, {simulated}"
            ax.plot(number, parallel[f"{kind}_simulated_q"], linestyle="--", color=color, label=label)
    ax.axvline(n_factors, color="0.6", linewidth=1, linestyle=":")
    ax.annotate(
        f"{n_factors} factor{'s' if n_factors != 1 else ''} extracted",
        (n_factors, ax.get_ylim()[1]),
        xytext=(4, -14),
        textcoords="offset points",
        fontsize=8,
        color="0.35",
    )
    ax.axhline(0, color="0.85", linewidth=0.8)
    ax.set_xlabel("factor or component number")
    ax.set_ylabel("eigenvalue")
    ax.set_xticks(number if len(number) <= 30 else number[::5])
    ax.set_title("Scree plot" + (" with parallel analysis" if parallel is not None else ""))
    ax.legend(frameon=False, fontsize=8)
    return finish_figure(fig, path, overwrite=overwrite)
