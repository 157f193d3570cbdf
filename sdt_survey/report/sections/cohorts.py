"""Section 5: scores across waves and groups (from cohort_summary, suppressed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...cohorts import CohortReport
from ...instrument import Instrument
from ..context import (
    ReportContext,
    make_section,
    shell_quote,
)
from .continuity import OUTCOME_PREFERENCE

# =============================================================================== 5. cohorts


def cohorts_section(
    ctx: ReportContext, cohorts: CohortReport, checks: list[dict[str, Any]]
) -> dict[str, Any]:
    by_words = f" and by {', '.join(ctx.by)}" if ctx.by else ""
    explanation = (
        f"Mean scores with 95% confidence intervals in each wave, for all residents{by_words}. A group "
        f"with fewer than {ctx.min_cell} residents is suppressed, and so is any group from which it could "
        "be worked out by subtraction (from the total, other groups or other waves): it is marked "
        "'suppressed' and its numbers are not shown. Changes follow residents in the group they were in at "
        "their first wave."
    )
    instruments = " ".join(shell_quote(a) for a in ctx.instrument_args)
    files = " ".join(shell_quote(n) for n in ctx.file_names)
    by_flag = f" --by {shell_quote(','.join(ctx.by))}" if ctx.by else ""
    command = (
        f"sdt-survey cohorts {instruments} {files} --id-column {shell_quote(ctx.id_column)}{by_flag}"
        + (f" --wave-column {shell_quote(ctx.wave_column)}" if ctx.wave_column else "")
        + (f" --min-cell {ctx.min_cell}" if ctx.min_cell != 5 else "")
    )
    if not ctx.by:
        command = (
            "Python: sdt_survey.cohorts.cohort_summary(INSTRUMENTS, "
            f"[{', '.join(map(repr, ctx.file_names))}], id_column={ctx.id_column!r}, by=[], "
            f"min_cell={ctx.min_cell})"
        )
    content = cohorts.to_dict()
    focus = next((s for s in OUTCOME_PREFERENCE if s in cohorts.scales), cohorts.scales[0])
    notes = [n for n in content["notes"] if not n.startswith("invariance not checked")]
    statements = [c["statement"] for c in checks if c.get("statement")]
    untested = [c for c in ctx.by[1:]]
    if ctx.by and untested:
        statements.append(
            f"measurement invariance across {', '.join(untested)} is not tested in this report "
            "(sdt-survey cohorts tests every grouping column)"
        )
    data = {
        "waves": list(cohorts.waves),
        "by": list(ctx.by),
        "min_cell": ctx.min_cell,
        "focus": focus,
        "scales": [
            {
                "id": s,
                "label": cohorts.scale_labels.get(s, s),
                "midpoint": cohorts.midpoints.get(s),
                "range": _score_range(ctx.instruments, s),
            }
            for s in cohorts.scales
        ],
        "rows": content["rows"],
        "changes": content["changes"],
        "trends": content["trends"],
        "invariance": statements,
        "n_suppressed_rows": sum(bool(r["suppressed"]) for r in content["rows"]),
    }
    return make_section(explanation, [command], data, notes=[ctx.scrub(n) for n in notes])


def _score_range(instruments: Sequence[Instrument], score_id: str) -> list[float] | None:
    def item_range(inst: Instrument, item_id: str) -> tuple[float, float] | None:
        item = inst.item(item_id)
        if item.scale is not None:
            return float(item.scale.min), float(item.scale.max)
        low, high = item.value_range()
        return (float(low), float(high)) if low is not None and high is not None else None

    def subscale_range(inst: Instrument, sid: str) -> tuple[float, float] | None:
        sub = inst.subscales[sid]
        ranges = [item_range(inst, i) for i in sub.items]
        if any(r is None for r in ranges) or not ranges:
            return None
        lows, highs = [r[0] for r in ranges], [r[1] for r in ranges]
        if sub.method == "sum":
            return sum(lows), sum(highs)
        return float(np.mean(lows)), float(np.mean(highs))

    for inst in instruments:
        if score_id in inst.subscales:
            found = subscale_range(inst, score_id)
            return list(found) if found else None
        if score_id in inst.composites:
            comp = inst.composites[score_id]
            parts = [subscale_range(inst, s) for s in comp.of if s in inst.subscales]
            if not parts or any(p is None for p in parts):
                return None
            lows, highs = [p[0] for p in parts], [p[1] for p in parts]
            if comp.method == "sum":
                return [sum(lows), sum(highs)]
            return [float(np.mean(lows)), float(np.mean(highs))]
    return None
