"""Section 1: how residents answered each item (counts protected by suppression)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...cohorts.distributions import protect_counts
from ...cohorts.ledger import Cell
from ..context import (
    ReportContext,
    first_wave_suppressed,
    first_wave_words,
    instrument_heading,
    make_section,
    score_commands,
    text_or_none,
)

# =============================================================================== 1. items


def items_section(ctx: ReportContext) -> dict[str, Any]:
    explanation = (
        f"How residents answered each question in {first_wave_words(ctx)}: each bar splits the answers "
        "at the middle of the scale, disagreeing or 'not true' answers to the left and agreeing or 'true' "
        "answers to the right (the middle answer is split across the centre line); the grey bar is the "
        "share who did not answer. Items marked R are worded in reverse: agreeing with them means the need "
        f"is less met. An item answered by fewer than {ctx.min_cell} residents is not shown."
    )
    source = [c + " --include-items --out scores.csv" for c in score_commands(ctx, "score")]
    n_wave = ctx.n_first
    data: dict[str, Any] = {"wave": ctx.first_wave, "n_respondents": n_wave, "instruments": []}
    if n_wave < ctx.min_cell:
        data["n_respondents"] = None
        return first_wave_suppressed(ctx, explanation, source, data)
    answers = ctx.items.loc[ctx.first]
    ids = ctx.scores.loc[ctx.first, ctx.id_column].astype(str).to_numpy() if ctx.ledger is not None else None
    n_suppressed = partial = 0
    released: list[Cell] = []
    for inst in ctx.instruments:
        likert = [i for i in inst.items if i.type == "likert" and i.scale is not None and i.id in answers]
        if not likert:
            continue
        groups: list[tuple[str | None, str, list]] = []
        placed: set[str] = set()
        for sid, sub in inst.subscales.items():
            members = [i for i in likert if i.id in sub.items]
            if members:
                groups.append((sid, text_or_none(sub.label) or sid, members))
                placed.update(i.id for i in members)
        rest = [i for i in likert if i.id not in placed]
        if rest:
            groups.append((None, "Items in no subscale", rest))
        scales: dict[str, Any] = {}
        block_groups = []
        for sid, label, members in groups:
            entries = []
            for item in members:
                scale = item.scale
                scales.setdefault(
                    scale.id,
                    {
                        "id": scale.id,
                        "values": list(scale.values),
                        "labels": [str(label_text) for label_text in scale.labels],
                        "midpoint": scale.midpoint,
                    },
                )
                values = pd.to_numeric(answers[item.id], errors="coerce")
                answered = int(values.notna().sum())
                entry: dict[str, Any] = {
                    "id": item.id,
                    "text": text_or_none(item.text),
                    "reverse": bool(item.reverse),
                    "scale": scale.id,
                }
                table = protect_counts(
                    values,
                    list(scale.values),
                    min_cell=ctx.min_cell,
                    measure=f"item:{item.id}",
                    ids=ids,
                    ledger=ctx.ledger,
                )
                released.extend(table.released)
                if answered < ctx.min_cell or table.n is None:
                    # Without the number who answered, shares would give it away: only counts remain.
                    n_suppressed += answered < ctx.min_cell
                    partial += answered >= ctx.min_cell
                    shown = None if answered < ctx.min_cell else table.counts
                    entry.update(n=None, counts=shown, percent=None, missing=None, missing_percent=None)
                    entry["suppressed"] = True
                else:
                    partial += not table.complete
                    entry.update(
                        n=table.n,
                        counts=table.counts,
                        percent=[None if c is None else 100.0 * c / table.n for c in table.counts],
                        missing=table.missing,
                        missing_percent=None if table.missing is None else 100.0 * table.missing / n_wave,
                        suppressed=False,
                    )
                entries.append(entry)
            block_groups.append({"subscale": sid, "label": label, "items": entries})
        data["instruments"].append(
            {
                **instrument_heading(inst),
                "scales": list(scales.values()),
                "groups": block_groups,
            }
        )
    if not data["instruments"]:
        return make_section(
            explanation,
            source,
            data,
            status="not_available",
            reason="the instruments have no rating-scale items",
        )
    notes = []
    if n_suppressed:
        notes.append(f"{n_suppressed} item(s) answered by fewer than {ctx.min_cell} residents are suppressed")
    if partial:
        notes.append(
            f"{partial} item(s) show only some counts: a count of 1 to {ctx.min_cell - 1}, and any count "
            "that would give one away (from the total, or from an earlier release), is suppressed"
        )
    if ctx.ledger is not None:
        ctx.ledger.record(
            released,
            command="report",
            min_cell=ctx.min_cell,
            details={"section": "items", "wave": str(ctx.first_wave)},
        )
    return make_section(explanation, source, data, notes=notes)
