"""Section 2: reliability of the subscales (alpha with its interval, omega, flagged items)."""

from __future__ import annotations

from typing import Any

from ..context import (
    ReportContext,
    finite_or_none,
    first_wave_suppressed,
    first_wave_words,
    instrument_heading,
    make_section,
    score_commands,
    text_or_none,
)

# =============================================================================== 2. reliability


def reliability_section(ctx: ReportContext) -> dict[str, Any]:
    from ...reliability import instrument_reliability

    explanation = (
        f"How consistently the items of each subscale measure the same thing, in {first_wave_words(ctx)}: "
        "Cronbach's alpha with its 95% confidence interval (Feldt) and McDonald's omega; .70 or more is the "
        "usual minimum for comparing groups, .80 or more is good. A flagged item weakens its subscale: the "
        "subscale's alpha would rise without it, or it correlates weakly (below .30) with the other items."
    )
    source = score_commands(ctx, "reliability")
    data: dict[str, Any] = {"wave": ctx.first_wave, "instruments": []}
    suppressed = first_wave_suppressed(ctx, explanation, source, data)
    if suppressed is not None:
        return suppressed
    notes: list[str] = []
    for inst in ctx.instruments:
        if not inst.subscales:
            continue
        block: dict[str, Any] = instrument_heading(inst)
        try:
            # The analysis data set of the first wave: reliability neither reads nor scores again.
            report = instrument_reliability([inst], ctx.first_wave_data(inst)).reports[0]
        except Exception as exc:  # reliability of odd data (constant items, tiny subscales) may fail
            block.update(
                status="not_available", reason=ctx.scrub(f"reliability could not be computed: {exc}")
            )
            data["instruments"].append(block)
            continue
        subscales = []
        for sid, res in report.scales.items():
            flagged = []
            for item, row in res.item_stats.iterrows():
                dropped = finite_or_none(res.alpha_drop.at[item, "raw_alpha"])
                r_drop = finite_or_none(row["r_drop"])
                reasons = []
                if dropped is not None and res.alpha is not None and dropped > res.alpha:
                    reasons.append("alpha rises if deleted")
                if r_drop is not None and r_drop < 0.30:
                    reasons.append("corrected item-total r below .30")
                if reasons:
                    flagged.append(
                        {
                            "item": item,
                            "why": "; ".join(reasons),
                            "r_drop": r_drop,
                            "alpha_if_deleted": dropped,
                        }
                    )
            subscales.append(
                {
                    "id": sid,
                    "label": text_or_none(inst.subscales[sid].label) or sid,
                    "n": int(res.n_obs),
                    "n_items": int(res.n_items),
                    "alpha": finite_or_none(res.alpha),
                    "alpha_ci": [finite_or_none(v) for v in res.ci_feldt],
                    "omega_total": finite_or_none(report.omega_totals.get(sid)),
                    "average_r": finite_or_none(res.average_r),
                    "flagged_items": flagged,
                    # Reverse-keyed items, marked in the table: checked first when one is flagged.
                    "reversed_items": [i for i in inst.subscales[sid].items if i in inst.reverse_keyed],
                }
            )
        omega = report.omega
        block.update(
            status="ok",
            n_respondents=int(report.n_respondents),
            missing=report.missing,
            subscales=subscales,
            omega_hierarchical=None if omega is None else finite_or_none(omega.omega_h),
            omega_total=None if omega is None else finite_or_none(omega.omega_total),
        )
        data["instruments"].append(block)
    if not data["instruments"]:
        return make_section(
            explanation, source, data, status="not_available", reason="the instruments define no subscales"
        )
    if not any(block.get("status") == "ok" for block in data["instruments"]):
        reasons = "; ".join(block["reason"] for block in data["instruments"])
        return make_section(explanation, source, data, status="not_available", reason=reasons)
    return make_section(explanation, source, data, notes=notes)
