"""Section 3: factor structure (CFA fit and loadings) and measurement invariance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...cohorts import invariance_minimum
from ...cohorts.invariance import groups_phrase, untested_phrase
from ...instrument import Instrument
from ...stats.order import natural_sorted
from ..context import (
    ReportContext,
    finite_or_none,
    first_wave_words,
    instrument_heading,
    make_section,
    plain_label,
    shell_quote,
)

# =============================================================================== 3. factor structure


def _factor_engine() -> tuple[Any, Any, Any]:
    """``(cfa, CFAModel, measurement_invariance)``; ``None`` for each part that is not installed."""
    try:
        from ...factor.sem import CFAModel, cfa
    except ImportError:
        return None, None, None
    try:
        from ...factor.sem import measurement_invariance
    except ImportError:
        measurement_invariance = None
    return cfa, CFAModel, measurement_invariance


def _model_items(inst: Instrument) -> list[str]:
    return list(dict.fromkeys(i for sub in inst.subscales.values() for i in sub.items))


def factor_section(ctx: ReportContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    explanation = (
        f"Whether the answers in {first_wave_words(ctx)} fit the instrument's structure: one factor per "
        "subscale, the factors allowed to correlate (confirmatory factor analysis by maximum likelihood, as "
        "R's lavaan). Good fit: CFI and TLI .95 or more, RMSEA .06 or less, SRMR .08 or less (Hu & Bentler, "
        "1999). A standardized loading says how strongly an item reflects its subscale (.50 or more is "
        "usual). The invariance table tests whether the items work the same way in every group, which "
        "comparing group means requires."
    )
    across = ctx.by[0] if ctx.by else ("wave" if len(ctx.waves) > 1 else None)
    engine_cfa, engine_model, engine_invariance = _factor_engine()
    first_file = ctx.files_with_first_wave()[0]
    name = ctx.instrument_args[0] if len(ctx.instrument_args) == 1 else "INSTRUMENT"
    source = [
        "Python: from sdt_survey.factor.sem import cfa, CFAModel; "
        f"items = sdt_survey.score({name!r}, {first_file!r}, id_column={ctx.id_column!r}).keyed; "
        f"cfa(items, CFAModel.from_instrument(sdt_survey.load_instrument({name!r})))"
        + (f" (on the rows of wave {ctx.first_wave})" if len(ctx.waves) > 1 else "")
    ]
    if across is not None:
        cohorts_files = " ".join(shell_quote(n) for n in ctx.file_names)
        by_flag = f" --by {shell_quote(ctx.by[0])}" if ctx.by else " --by ..."
        source.append(
            f"sdt-survey cohorts {' '.join(shell_quote(a) for a in ctx.instrument_args)} {cohorts_files} "
            f"--id-column {shell_quote(ctx.id_column)}{by_flag} (its invariance check"
            + (", across waves" if across == "wave" else "")
            + "; Python: sdt_survey.factor.sem.measurement_invariance)"
        )
    data: dict[str, Any] = {"wave": ctx.first_wave, "invariance_across": across, "instruments": []}
    modelled = [inst for inst in ctx.instruments if inst.subscales]
    if not modelled:
        return (
            make_section(
                explanation,
                source,
                data,
                status="not_available",
                reason="the instruments define no subscales",
            ),
            [],
        )
    if engine_cfa is None:
        reason = (
            "the confirmatory factor analysis engine (sdt_survey.factor.sem) is not available in this version"
        )
        return make_section(explanation, source, data, status="not_available", reason=reason), []
    checks = []
    keyed_first = ctx.keyed.loc[ctx.first].reset_index(drop=True)
    for inst in modelled:
        items = [i for i in _model_items(inst) if i in keyed_first]
        need = invariance_minimum(inst)
        block: dict[str, Any] = instrument_heading(inst)
        complete = int(ctx.scores.loc[ctx.first, list(inst.subscales)].notna().all(axis=1).sum())
        if complete < need:
            block.update(
                status="not_available",
                reason=(
                    f"too few respondents for a factor model of {inst.id}: {need} with every subscale "
                    f"scored are needed for stable fit indices, and {ctx.first_wave_phrase()} has "
                    f"{_count_words(complete, ctx.min_cell)}"
                ),
            )
        else:
            block.update(_fit_cfa(engine_cfa, engine_model, inst, keyed_first[items], ctx))
        check = _invariance_check(ctx, inst, engine_model, engine_invariance, across, need)
        block["invariance"] = check
        if check is not None:
            checks.append(check)
        data["instruments"].append(block)
    fitted = [b for b in data["instruments"] if b.get("status") == "ok"]
    if not fitted:
        reasons = "; ".join(b["reason"] for b in data["instruments"])
        return make_section(explanation, source, data, status="not_available", reason=reasons), checks
    return make_section(explanation, source, data), checks


def _count_words(count: int, min_cell: int) -> str:
    """A count of respondents, or 'fewer than min_cell' when it is small (a count is a figure too)."""
    return f"fewer than {min_cell}" if 0 < count < min_cell else str(count)


def _fit_cfa(cfa: Callable, CFAModel: Any, inst: Instrument, items: pd.DataFrame, ctx: ReportContext) -> dict:
    try:
        model = CFAModel.from_instrument(inst)
        result = cfa(items, model)
    except Exception as exc:  # the engine may fail on real data (non-convergence, singular covariance)
        return {
            "status": "not_available",
            "reason": ctx.scrub(f"the factor model could not be fitted: {exc}"),
        }
    fit = result.fit
    table = result.parameters
    loadings = table[table["op"] == "=~"]
    correlations = result.factor_correlations()
    factors = list(correlations.index)
    return {
        "status": "ok",
        "model": model.to_lavaan(),
        "estimator": result.estimator,
        "missing": result.missing,
        "n_used": int(result.n_used),
        "converged": bool(result.converged),
        "fit": {
            "chisq": finite_or_none(fit.chisq),
            "df": int(fit.df),
            "pvalue": finite_or_none(fit.pvalue),
            "cfi": finite_or_none(fit.cfi),
            "tli": finite_or_none(fit.tli),
            "rmsea": finite_or_none(fit.rmsea),
            "rmsea_ci": [finite_or_none(fit.rmsea_ci_lower), finite_or_none(fit.rmsea_ci_upper)],
            "srmr": finite_or_none(fit.srmr),
        },
        "loadings": [
            {
                "factor": row.lhs,
                "item": row.rhs,
                "estimate": finite_or_none(row.est),
                "std_loading": finite_or_none(row.std_all),
            }
            for row in loadings.itertuples(index=False)
        ],
        "factor_correlations": {
            a: {b: finite_or_none(correlations.at[a, b]) for b in factors if b != a} for a in factors
        },
        "warnings": [ctx.scrub(w) for w in result.warnings],
    }


def _invariance_check(
    ctx: ReportContext,
    inst: Instrument,
    CFAModel: Any,
    measurement_invariance: Any,
    across: str | None,
    need: int,
) -> dict[str, Any] | None:
    """Measurement invariance of ``inst`` across ``across``: the table, or why it was not tested."""
    if across is None:
        return {
            "instrument": inst.id,
            "across": None,
            "status": "nothing_to_compare",
            "statement": "no grouping column and a single wave: there are no groups to compare",
        }
    items = [i for i in _model_items(inst) if i in ctx.keyed]
    if across == "wave":
        rows = np.ones(len(ctx.scores), dtype=bool)
        labels = ctx.scores["_wave"]
        caveat = (
            " (waves treated as independent groups although residents answer more than once; approximate)"
        )
    else:
        rows = ctx.first.copy()
        labels = ctx.scores[across].map(plain_label)
        caveat = f" (wave {ctx.first_wave})" if len(ctx.waves) > 1 else ""
    rows &= labels.notna().to_numpy()
    complete = ctx.scores[list(inst.subscales)].notna().all(axis=1).to_numpy() & rows
    sizes = pd.Series(complete[rows]).groupby(labels[rows].astype(str).to_numpy()).sum()
    large = natural_sorted(g for g in sizes.index if sizes[g] >= need)
    small = natural_sorted(g for g in sizes.index if sizes[g] < need)
    check: dict[str, Any] = {
        "instrument": inst.id,
        "across": across,
        "minimum_per_group": need,
        "groups_tested": large,
        "groups_too_small": small,
    }
    if len(large) < 2:
        check.update(
            status="too_few_respondents",
            statement=(
                f"too few respondents to test measurement invariance of {inst.id} across {across}: each "
                f"group needs at least {need} respondents with every subscale scored, and {len(large)} of "
                f"{len(sizes)} groups have that many; mean comparisons across {across} are not backed by an "
                "invariance test, so read differences between groups as descriptive"
            ),
        )
        return check
    if measurement_invariance is None:
        check.update(
            status="engine_unavailable",
            statement=f"invariance of {inst.id} across {across} not checked: the invariance engine is "
            "not available in this version",
        )
        return check
    chosen = complete & labels.astype(str).isin(large).to_numpy()
    tested = ctx.keyed.loc[chosen, items].reset_index(drop=True)
    tested[across] = labels[chosen].astype(str).to_numpy()
    try:
        result = measurement_invariance(tested, CFAModel.from_instrument(inst), across, group_order=large)
    except Exception as exc:  # the engine may fail to converge on real data
        check.update(
            status="failed",
            statement=ctx.scrub(f"invariance of {inst.id} across {across} could not be tested: {exc}"),
        )
        return check
    level = result.highest
    supported = level in ("scalar", "strict")
    skipped = untested_phrase(across, small, need)
    skipped = f" {skipped[2].upper()}{skipped[3:]}." if skipped else ""
    steps = []
    for name, step in result.steps.items():
        fit = step.fit
        steps.append(
            {
                "step": name,
                "chisq": finite_or_none(fit.chisq),
                "df": int(fit.df),
                "cfi": finite_or_none(fit.cfi),
                "tli": finite_or_none(fit.tli),
                "rmsea": finite_or_none(fit.rmsea),
                "srmr": finite_or_none(fit.srmr),
            }
        )
    comparisons = [_comparison_row(c) | {"supported": bool(c.supported)} for c in result.comparisons]
    check.update(
        status="tested",
        level=level,
        mean_comparisons_supported=supported,
        comparable_groups=large if supported else [],
        reference_group=large[0],
        criterion=result.criterion,
        steps=steps,
        comparisons=comparisons,
        conclusion=ctx.scrub(result.conclusion),
        statement=ctx.scrub(
            f"{inst.id} across {groups_phrase(across, large)}{caveat}, reference group {across} {large[0]}: "
            f"{result.conclusion}{skipped}"
        ),
        warnings=[ctx.scrub(w) for w in result.warnings],
    )
    ordinal = _ordinal_check(ctx, inst, CFAModel, tested, across, large, need, caveat)
    if ordinal is not None:
        check["ordinal"] = ordinal
    return check


#: Items with at most this many answer options are ordinal: their invariance is also tested by WLSMV.
ORDINAL_MAX_CATEGORIES = 7


def _is_ordinal(items: pd.DataFrame) -> bool:
    """Whole-number answers with at most :data:`ORDINAL_MAX_CATEGORIES` distinct values per item."""
    values = items.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return False
    return bool(items.nunique().max() <= ORDINAL_MAX_CATEGORIES)


def _ordinal_check(
    ctx: ReportContext,
    inst: Instrument,
    CFAModel: Any,
    tested: pd.DataFrame,
    across: str,
    large: list[str],
    need: int,
    caveat: str,
) -> dict[str, Any] | None:
    """The ordinal (WLSMV, Wu & Estabrook 2016) chain when the items are Likert answers; None otherwise.

    A five-point item has five ordered categories, not an interval score: the
    chain compares thresholds, then loadings, intercepts and residual
    variances by WLSMV, on the respondents who answered every item (groups
    with fewer than ``need`` of them are left out).
    """
    items = [c for c in tested.columns if c != across]
    if not _is_ordinal(tested[items]):
        return None
    try:
        from ...factor.sem import ordinal_invariance
    except ImportError:
        return None
    complete = tested.dropna(subset=items)
    sizes = complete[across].value_counts()
    groups = [g for g in large if sizes.get(g, 0) >= need]
    out: dict[str, Any] = {"estimator": "WLSMV", "groups_tested": groups}
    if len(groups) < 2:
        out.update(
            status="too_few_respondents",
            statement=(
                f"the answers of {inst.id} are ordinal, but too few respondents answered every item to test "
                f"invariance by WLSMV across {across} (each group needs {need})"
            ),
        )
        return out
    try:
        result = ordinal_invariance(
            complete[complete[across].isin(groups)],
            CFAModel.from_instrument(inst),
            across,
            group_order=groups,
            merge_empty=True,
        )
    except Exception as exc:  # the engine may fail on real data
        out.update(
            status="failed",
            statement=ctx.scrub(
                f"ordinal invariance of {inst.id} across {across} could not be tested: {exc}"
            ),
        )
        return out
    keys = ("chisq_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled", "srmr")
    out.update(
        status="tested",
        level=result.highest,
        mean_comparisons_supported=result.highest in ("scalar", "strict"),
        steps=[
            {"step": name, "df": int(step.fit["df"]), **{k: finite_or_none(step.fit[k]) for k in keys}}
            for name, step in result.steps.items()
        ],
        comparisons=[_comparison_row(c) | {"status": c.status} for c in result.comparisons],
        conclusion=ctx.scrub(result.conclusion),
        statement=ctx.scrub(
            f"with the answers as ordered categories (WLSMV; Wu & Estabrook, 2016), {inst.id} across "
            f"{groups_phrase(across, groups)}{caveat}: {result.conclusion}"
        ),
        notes=[ctx.scrub(n) for n in result.notes],
        warnings=[ctx.scrub(w) for w in result.warnings],
    )
    return out


def _comparison_row(c: Any) -> dict[str, Any]:
    """One step-to-step comparison of an invariance chain, as the report's JSON holds it."""
    return {
        "from": c.from_step,
        "to": c.to_step,
        "chisq_diff": finite_or_none(c.chisq_diff),
        "df_diff": int(c.df_diff),
        "pvalue": finite_or_none(c.pvalue),
        "delta_cfi": finite_or_none(c.delta_cfi),
        "delta_rmsea": finite_or_none(c.delta_rmsea),
        "delta_srmr": finite_or_none(c.delta_srmr),
    }
