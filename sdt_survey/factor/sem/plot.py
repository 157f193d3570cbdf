"""The path diagram of a fitted CFA, drawn with matplotlib (no graphviz needed).

Items are boxes along the bottom, factors ellipses above them (higher-order
factors above those), one arrow per loading labelled with its standardized
value (``std.all``), curved double-headed arcs for factor correlations, and
each item's standardized residual variance in its box. A general factor
(one whose items include those of two or more other factors, as in a
bifactor model) is drawn below the items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._plots import finish_figure, pyplot
from .spec import CFAModel

#: Height of a factor-correlation arc per unit of the distance it spans (data units).
ARC_RISE = 0.12


def _levels(model: CFAModel) -> dict[str, int]:
    """Items 0, factors of items 1, factors of factors one above the highest they measure."""
    level = {item: 0 for item in model.indicators}
    pending = list(model.factors)
    while pending:
        progressed = False
        for factor in list(pending):
            below = model.indicators_of(factor)
            if all(b in level for b in below):
                level[factor] = 1 + max((level[b] for b in below), default=0)
                pending.remove(factor)
                progressed = True
        if not progressed:  # a cycle cannot be fitted; place what is left on the first row
            level.update({factor: 1 for factor in pending})
            break
    return level


def _general_factors(model: CFAModel, level: dict[str, int]) -> set[str]:
    """Factors of items that share items with two or more other factors (a bifactor's general factor)."""
    first = [f for f in model.factors if level[f] == 1]
    general = set()
    for factor in first:
        mine = set(model.indicators_of(factor))
        shared = [o for o in first if o != factor and mine & set(model.indicators_of(o))]
        if len(shared) >= 2 and all(len(mine) > len(model.indicators_of(o)) for o in shared):
            general.add(factor)
    return general


def path_diagram(
    model: CFAModel,
    parameters: pd.DataFrame,
    path: str | Path | None,
    *,
    title: str = "",
    overwrite: bool = False,
) -> Any:
    """Draw ``model`` with the standardized estimates of ``parameters`` (one group's rows).

    See :func:`~sdt_survey._plots.finish_figure` for ``path``.
    """
    from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle

    plt = pyplot()
    std = {(r.lhs, r.op, r.rhs): r.std_all for r in parameters.itertuples(index=False)}
    level = _levels(model)
    general = _general_factors(model, level)
    for factor in general:
        level[factor] = -1
    items = list(model.indicators)
    top = max(level.values(), default=1)
    spacing = 1.0
    x: dict[str, float] = {item: i * spacing for i, item in enumerate(items)}
    width = max(len(items) * spacing, 4.0)
    for row in (-1, *range(1, top + 1)):
        row_factors = [f for f in model.factors if level[f] == row]
        # Ordered by where their indicators sit, then spread evenly so no two overlap.
        row_factors.sort(key=lambda f: np.mean([x[i] for i in model.indicators_of(f) if i in x] or [0.0]))
        step = (len(items) - 1) * spacing / max(len(row_factors), 1)
        for k, factor in enumerate(row_factors):
            x[factor] = (k + 0.5) * step if len(items) > 1 else 0.0
    y = {name: 3.2 * lvl for name, lvl in level.items()}
    bottom = -3.2 if general else 0.0
    fig_w = min(max(7.0, 0.62 * width + 1.5), 40.0)
    fig, ax = plt.subplots(figsize=(fig_w, 2.6 + 2.3 * (top + bool(general))), dpi=100)
    box_w, box_h, ell_w, ell_h = 0.8, 0.75, min(2.4, 0.9 * (width / max(len(model.factors), 1))), 0.9

    def label(text: str) -> str:
        return text if len(text) <= 14 else text.replace("_", "_\n", 1)

    for item in items:
        ax.add_patch(Rectangle((x[item] - box_w / 2, -box_h / 2), box_w, box_h, fc="white", ec="0.2"))
        ax.text(x[item], 0.12, item, ha="center", va="center", fontsize=8)
        resid = std.get((item, "~~", item))
        if resid is not None and np.isfinite(resid):
            ax.text(x[item], -0.2, f"e {resid:.2f}", ha="center", va="center", fontsize=6, color="0.4")
    for factor in model.factors:
        ax.add_patch(Ellipse((x[factor], y[factor]), ell_w, ell_h, fc="#eef3fb", ec="0.2"))
        ax.text(x[factor], y[factor], label(factor), ha="center", va="center", fontsize=7.5)
    for factor in model.factors:
        for target in model.indicators_of(factor):
            value = std.get((factor, "=~", target))
            below = level[factor] < 0
            end_y = y[target] + (box_h / 2 if level[target] == 0 else ell_h / 2) * (-1 if below else 1)
            start = (x[factor], y[factor] + ell_h / 2 * (1 if below else -1))
            end = (x[target], end_y)
            ax.add_patch(
                FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, lw=0.8, color="0.25")
            )
            if value is not None and np.isfinite(value):
                t = 0.7  # the label sits near the item end, where arrows fan apart
                ax.text(
                    start[0] + t * (end[0] - start[0]),
                    start[1] + t * (end[1] - start[1]),
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"},
                )
    factors = list(model.factors)
    arc = 0.0  # the highest arc drawn
    for i, a in enumerate(factors):
        for b in factors[i + 1 :]:
            value = std.get((a, "~~", b), std.get((b, "~~", a)))
            fixed_zero = value is not None and value == 0
            if value is None or not np.isfinite(value) or fixed_zero or level[a] != level[b] or level[a] < 0:
                continue
            left, right = sorted((a, b), key=lambda f: x[f])
            x0, x1, base = x[left], x[right], y[left] + ell_h / 2
            rise = ARC_RISE * abs(x1 - x0) + 0.3
            arc = max(arc, rise)
            t = np.linspace(0, 1, 60)
            ax.plot(x0 + t * (x1 - x0), base + 4 * rise * t * (1 - t), color="tab:blue", lw=0.6)
            ax.text(
                (x0 + x1) / 2,
                base + rise,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="tab:blue",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"},
            )
    highest = max((y[f] for f in factors), default=0.0)
    ax.set_xlim(min(x.values()) - 1.5, max(x.values()) + 1.5)
    ax.set_ylim(bottom - 1.0, highest + ell_h / 2 + arc + 0.6)
    ax.set_aspect("auto")
    ax.axis("off")
    ax.set_title(
        (title + "\n" if title else "")
        + "standardized loadings (arrows), factor correlations (arcs), residual variances (e, in the boxes)",
        fontsize=9,
    )
    return finish_figure(fig, path, overwrite=overwrite)
