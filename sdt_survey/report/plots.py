"""The report's figures, drawn with matplotlib and embedded as PNG data URIs."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .context import (
    SUPPRESSED,
)

# =============================================================================== plots


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png_data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _wrap(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, and safe for matplotlib (``$`` would start mathtext)."""
    text = text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"
    return text.replace("$", r"\$")


def _bar_segments(
    values: Sequence[Any], percent: Sequence[float | None], mid: float
) -> list[tuple[Any, float, bool]] | None:
    """Each answer's share in scale order, suppressed ones merged into one share; None if undrawable.

    Suppressed answers can be drawn as one share (100% minus the shown ones, which the reader can
    work out anyway) only when they are adjacent and on one side of the midpoint: then the bar's
    position is exact. Otherwise the shown shares cannot be placed and the bar is not drawn.
    """
    hidden = [i for i, p in enumerate(percent) if p is None]
    if not hidden:
        return [(v, float(p), False) for v, p in zip(values, percent, strict=True)]
    one_side = all(values[i] < mid for i in hidden) or all(values[i] > mid for i in hidden)
    if hidden != list(range(hidden[0], hidden[-1] + 1)) or not one_side:
        return None
    rest = 100.0 - sum(p for p in percent if p is not None)
    out: list[tuple[Any, float, bool]] = []
    for i, (v, p) in enumerate(zip(values, percent, strict=True)):
        if i == hidden[0]:
            out.append((v, max(rest, 0.0), True))
        elif p is not None:
            out.append((v, float(p), False))
    return out


def items_plot(block: Mapping[str, Any], scale: Mapping[str, Any], min_cell: int) -> str | None:
    """Diverging stacked bars of the items on one scale; the missing share in a panel of its own."""
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    for group in block["groups"]:
        members = [e for e in group["items"] if e["scale"] == scale["id"]]
        if not members:
            continue
        rows.append((_wrap(group["label"], 60), None))
        rows.extend((e["id"], e) for e in members)
    if not rows:
        return None
    values = scale["values"]
    mid = scale["midpoint"]
    colours = colormaps["RdBu"](np.linspace(0.12, 0.88, len(values)))
    height = 0.9 + 0.3 * len(rows)
    figure = _figure(10.5, height)
    grid = figure.add_gridspec(1, 2, width_ratios=[5.2, 1], wspace=0.05)
    ax, ax_missing = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    y_labels = []
    merged_drawn = False
    for position, (name, entry) in enumerate(rows):
        y = len(rows) - 1 - position
        if entry is None:
            y_labels.append((y, name, True))
            continue
        text = f"{entry['id']}{' (R)' if entry['reverse'] else ''}  {_wrap(entry['text'] or '', 48)}"
        y_labels.append((y, text, False))
        segments = None if entry["suppressed"] else _bar_segments(values, entry["percent"], mid)
        if segments is None or entry["missing_percent"] is None:
            what = "counts partly suppressed" if entry["counts"] else f"fewer than {min_cell} answers"
            ax.text(0, y, f"suppressed: {what}", ha="center", va="center", fontsize=8, color="0.3",
                    style="italic")  # fmt: skip
            ax_missing.text(50, y, SUPPRESSED, ha="center", va="center", fontsize=7, color="0.3")
            continue
        below = sum(p for v, p, _ in segments if v < mid)
        middle = sum(p for v, p, _ in segments if v == mid)
        left = -(below + middle / 2)
        for v, p, merged in segments:
            if p <= 0:
                continue
            if merged:  # answers hidden together (small counts): one hatched share, no number
                merged_drawn = True
                ax.barh(y, p, left=left, color="0.85", hatch="////", edgecolor="white", linewidth=0.5,
                        height=0.72)  # fmt: skip
                left += p
                continue
            colour = colours[values.index(v)]
            ax.barh(y, p, left=left, color=colour, edgecolor="white", linewidth=0.5, height=0.72)
            if p >= 7:
                shade = "white" if abs(v - mid) >= (values[-1] - values[0]) / 3 else "black"
                ax.text(left + p / 2, y, f"{p:.0f}", ha="center", va="center", fontsize=7, color=shade)
            left += p
        ax_missing.barh(y, entry["missing_percent"], color="0.65", height=0.72)
        ax_missing.text(entry["missing_percent"] + 2, y, f"{entry['missing_percent']:.0f}%", va="center",
                        fontsize=7)  # fmt: skip
    ax.axvline(0, color="0.2", linewidth=0.8)
    ax.set_xlim(-100, 100)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xticks([-100, -50, 0, 50, 100], ["100%", "50%", "0", "50%", "100%"])
    ax.set_yticks([y for y, _, _ in y_labels], [t for _, t, _ in y_labels], fontsize=8)
    for tick, (_, _, is_header) in zip(ax.get_yticklabels(), y_labels, strict=True):
        if is_header:
            tick.set_fontweight("bold")
    ax.set_xlabel("share of the answers given (%)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax_missing.set_xlim(0, 100)
    ax_missing.set_ylim(ax.get_ylim())
    ax_missing.set_yticks([])
    ax_missing.set_xticks([0, 50, 100], ["0", "50", "100%"])
    ax_missing.tick_params(axis="x", labelsize=8)
    ax_missing.set_title("no answer", fontsize=8)
    ax_missing.spines[["top", "right", "left"]].set_visible(False)
    handles = [
        Patch(color=c, label=_wrap(str(label), 24)) for c, label in zip(colours, scale["labels"], strict=True)
    ]
    if merged_drawn:
        handles.append(Patch(facecolor="0.85", hatch="////", edgecolor="white", label="small counts, merged"))
    figure.legend(handles=handles, loc="upper center", ncol=min(len(handles), 7), fontsize=7.5, frameon=False,
                  bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    figure.subplots_adjust(left=0.36, right=0.98, top=1 - 0.45 / height, bottom=0.45 / height + 0.02)
    return _png_data_uri(figure)


def reliability_plot(block: Mapping[str, Any]) -> str | None:
    subscales = [s for s in block.get("subscales", []) if s["alpha"] is not None]
    if not subscales:
        return None
    figure = _figure(7.5, 0.6 + 0.38 * len(subscales))
    ax = figure.add_subplot()
    for position, sub in enumerate(subscales):
        y = len(subscales) - 1 - position
        low, high = sub["alpha_ci"]
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color="tab:blue", linewidth=2)
        ax.plot(sub["alpha"], y, "o", color="tab:blue", label="alpha (95% CI)" if position == 0 else None)
        if sub["omega_total"] is not None:
            ax.plot(sub["omega_total"], y, "D", color="tab:orange", markersize=5,
                    label="omega" if position == 0 else None)  # fmt: skip
    for line in (0.7, 0.8):
        ax.axvline(line, color="0.6", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(subscales)), [_wrap(s["label"], 40) for s in reversed(subscales)], fontsize=8)
    lows = [s["alpha_ci"][0] for s in subscales if s["alpha_ci"][0] is not None] + [
        s["alpha"] for s in subscales
    ]
    ax.set_xlim(min(0.5, min(lows) - 0.05), 1.0)
    ax.set_xlabel("reliability (dashed: .70 and .80)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _png_data_uri(figure)


def curve_plot(model: Mapping[str, Any]) -> str | None:
    curve = model.get("curve")
    if not curve:
        return None
    figure = _figure(6.5, 4.0)
    ax = figure.add_subplot()
    ax.fill_between(curve["x"], curve["ci_lower"], curve["ci_upper"], color="tab:blue", alpha=0.22,
                    label="95% confidence band")  # fmt: skip
    ax.plot(curve["x"], curve["fitted"], color="tab:blue", linewidth=2, label="estimate")
    variable = curve["variable"]
    ax.set_xlabel("continuity of care (COC)" if variable == "coc" else _wrap(variable, 60), fontsize=9)
    ax.set_ylabel(_wrap(f"{model['outcome_label']} (model estimate)", 60), fontsize=9)
    kind = f"natural spline, {model['spline'].split('=')[-1]} df" if model.get("spline") else "straight line"
    ax.set_title(f"Dose-response ({kind})", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _png_data_uri(figure)


def group_key(group: Mapping[str, Any]) -> tuple[str | None, Any]:
    for column, value in group.items():
        if value != "all":
            return column, value
    return None, "all"


def _trend_panels(
    panels: list[tuple[str, list[Mapping[str, Any]]]],
    waves: Sequence[Any],
    value_range: Sequence[float] | None,
    midpoint: float | None,
    columns: int,
    ylabel: str,
) -> str:
    """Small multiples: mean and 95% band over waves; a suppressed wave is an open marker at the bottom."""
    from matplotlib.lines import Line2D

    n_rows = math.ceil(len(panels) / columns)
    figure = _figure(2.6 * columns, 0.5 + 2.1 * n_rows)
    x_all = np.arange(len(waves))
    position_of = {w: i for i, w in enumerate(waves)}
    lows, highs = [], []
    for _, rows in panels:
        lows += [r["ci_lower"] for r in rows if r["ci_lower"] is not None]
        highs += [r["ci_upper"] for r in rows if r["ci_upper"] is not None]
    # The y axis spans the intervals shown, at least a third of the scale (so that small differences
    # do not look large), and never beyond the scale's own range.
    if lows:
        bottom, top = min(lows), max(highs)
    elif value_range:
        bottom, top = value_range
    else:
        bottom, top = 0.0, 1.0
    if value_range:
        least = (value_range[1] - value_range[0]) / 3
        if top - bottom < least:
            centre = (top + bottom) / 2
            bottom, top = centre - least / 2, centre + least / 2
        pad = 0.08 * (top - bottom)
        bottom, top = max(value_range[0], bottom - pad), min(value_range[1], top + pad)
        if top - bottom < least:  # pushed against an end of the scale
            bottom, top = (value_range[0], value_range[0] + least) if bottom <= value_range[0] else (
                value_range[1] - least, value_range[1])  # fmt: skip
    else:
        pad = 0.08 * (top - bottom) or 0.5
        bottom, top = bottom - pad, top + pad
    any_hidden = False
    for index, (title, rows) in enumerate(panels):
        ax = figure.add_subplot(n_rows, columns, index + 1)
        shown = [r for r in rows if not r["suppressed"] and r["mean"] is not None]
        x = [position_of[r["wave"]] for r in shown]
        if shown:
            means = [r["mean"] for r in shown]
            low = [r["ci_lower"] if r["ci_lower"] is not None else r["mean"] for r in shown]
            high = [r["ci_upper"] if r["ci_upper"] is not None else r["mean"] for r in shown]
            if len(shown) > 1:
                ax.fill_between(x, low, high, color="tab:blue", alpha=0.2)
            else:
                ax.errorbar(x, means, yerr=[[m - lo for m, lo in zip(means, low, strict=True)],
                                            [hi - m for m, hi in zip(means, high, strict=True)]],
                            color="tab:blue", capsize=3)  # fmt: skip
            ax.plot(x, means, "o-", color="tab:blue", markersize=4)
        hidden = [position_of[r["wave"]] for r in rows if r["suppressed"]]
        if hidden:
            any_hidden = True
            marker_y = bottom + 0.04 * (top - bottom)
            ax.plot(hidden, [marker_y] * len(hidden), "x", color="0.35", markersize=7)
            for h in hidden:
                ax.text(
                    h, marker_y + 0.06 * (top - bottom), SUPPRESSED, ha="center", fontsize=6.5, color="0.35"
                )
        if midpoint is not None:
            ax.axhline(midpoint, color="0.7", linestyle=":", linewidth=0.8)
        ax.set_ylim(bottom, top)
        ax.set_xlim(-0.4, len(waves) - 0.6)
        ax.set_xticks(x_all, [_wrap(str(w), 12) for w in waves], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(_wrap(title, 34), fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        if index % columns == 0:
            ax.set_ylabel(_wrap(ylabel, 40), fontsize=7)
    handles = [
        Line2D([], [], color="tab:blue", marker="o", label="mean"),
        Line2D([], [], color="tab:blue", alpha=0.3, linewidth=6, label="95% CI"),
    ]
    if midpoint is not None:
        handles.append(Line2D([], [], color="0.7", linestyle=":", label="scale midpoint"))
    if any_hidden:
        handles.append(
            Line2D([], [], color="0.35", marker="x", linestyle="", label="suppressed (no value shown)")
        )
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5, frameon=False)
    # Fixed margins in inches: tight_layout measures every tick label of every panel (slow with many panels).
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=0.62 / width,
        right=1 - 0.15 / width,
        top=1 - 0.3 / height,
        bottom=0.62 / height,
        hspace=0.55,
        wspace=0.32,
    )
    return _png_data_uri(figure)


def cohort_plots(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(title, data URI, alt text)`` of the trend figures."""
    scales = {s["id"]: s for s in data["scales"]}
    waves = data["waves"]
    overall: dict[str, list] = {s: [] for s in scales}
    by_group: dict[str, dict[Any, list]] = {c: {} for c in data["by"]}
    for row in data["rows"]:
        column, value = group_key(row["group"])
        if column is None:
            overall[row["scale"]].append(row)
        elif row["scale"] == data["focus"]:
            by_group[column].setdefault(value, []).append(row)
    figures = []
    ranges = [s["range"] for s in scales.values() if s["range"]]
    common = [min(r[0] for r in ranges), max(r[1] for r in ranges)] if ranges else None
    midpoints = {s["midpoint"] for s in scales.values()}
    panels = [(scales[s]["label"], rows) for s, rows in overall.items()]
    uri = _trend_panels(
        panels, waves, common, midpoints.pop() if len(midpoints) == 1 else None, min(4, len(panels)), "mean"
    )
    figures.append(
        ("Every score, all residents", uri, "Mean of each score by wave for all residents, with 95% CI")
    )
    focus = scales[data["focus"]]
    for column, groups in by_group.items():
        if not groups:
            continue
        shown = list(groups.items())[:40]
        panels = [(f"{column} {value}", rows) for value, rows in shown]
        uri = _trend_panels(
            panels, waves, focus["range"], focus["midpoint"], min(5, len(panels)), focus["label"].lower()
        )
        figures.append(
            (
                f"{focus['label']} by {column}",
                uri,
                f"{focus['label']} by {column} and wave, with 95% CI; suppressed groups marked",
            )
        )
    return figures
