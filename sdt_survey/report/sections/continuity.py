"""Section 4: continuity of supervision and the score it is modelled against (the dose-response model)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...instrument import Instrument
from ...scoring import score_ids
from ..context import (
    ReportContext,
    finite_or_none,
    first_wave_words,
    make_section,
    shell_quote,
    small_to_none,
    source_name,
)
from .quality import PROBLEM_MEANINGS

#: The outcome of the dose-response model: the first of these that the instruments score.
OUTCOME_PREFERENCE = ("relatedness_satisfaction", "program_belonging")

#: The grouping factor of the default dose-response model, when the responses have it.
DEFAULT_MODEL_GROUP = "program"


# =============================================================================== 4. continuity


def continuity_section(
    ctx: ReportContext, schedule: Any, options: dict[str, Any], formula: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from ...continuity import continuity_indices
    from ...mixed import JoinError, ModelFitError, ModelFormulaError, model_relatedness

    if formula is not None and "~" in formula:  # the outcome the user modelled
        outcome = formula.split("~", 1)[0].strip() or None
    else:
        outcome = next((s for s in OUTCOME_PREFERENCE if s in ctx.scores), None)
        outcome = outcome or next(iter(score_ids(ctx.instruments)), None)
    outcome_label = _score_label(ctx.instruments, outcome) if outcome else "the score"
    explanation = (
        f"How {outcome_label.lower()} in {first_wave_words(ctx)} goes with continuity of supervision: the "
        "Bice-Boxerman continuity of care (COC) from the clinic schedule, 0 when every session is with a "
        "different faculty member and 1 when all are with the same one. The line is the model's estimate "
        "for a typical resident in a typical group, with its 95% confidence band; it shows an "
        f"association, not that continuity causes {outcome_label.lower()}."
    )
    data: dict[str, Any] = {"wave": ctx.first_wave}
    if schedule is None:
        return (
            make_section(
                explanation,
                [
                    "sdt-survey report ... --schedule schedule.csv "
                    "(with the column options of sdt-survey continuity)"
                ],
                data,
                status="not_available",
                reason="no clinic schedule was given, so continuity could not be measured "
                "(give one with --schedule / schedule=)",
            ),
            None,
        )
    schedule_name = source_name(schedule, 0) if not isinstance(schedule, pd.DataFrame) else "<schedule frame>"
    result = continuity_indices(schedule, **options)
    indices = result.indices
    ctx.scrub.add(indices[result.id_column].dropna().astype(str))
    if "assigned" in indices:
        ctx.scrub.add(indices["assigned"].dropna().astype(str))
    continuity_command = _continuity_command(schedule_name, options)
    quality = _schedule_quality(result, schedule_name, ctx.min_cell)
    quality["command"] = continuity_command + " --report schedule-quality.csv"
    data["schedule"] = {
        "file": schedule_name,
        "n_sessions": int(result.n_sessions),
        "n_residents": small_to_none(int(indices[result.id_column].nunique()), ctx.min_cell),
        "indices": _describe_indices(result, ctx.min_cell),
    }

    def without_model(reason: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The section when no model can be fitted: the continuity indices are still its source."""
        section = make_section(
            explanation,
            [continuity_command + " --out continuity.csv"],
            data,
            status="not_available",
            reason=reason,
        )
        return section, quality

    if indices[result.id_column].duplicated().any():
        return without_model(
            f"window={options.get('window')!r} gives several continuity values per resident; the "
            "report relates each resident's answers to one value: use no window, or one date range "
            "(window='2025-07-01..2026-06-30')"
        )
    group = DEFAULT_MODEL_GROUP if DEFAULT_MODEL_GROUP in ctx.scores else (ctx.by[0] if ctx.by else None)
    user_formula = formula is not None
    if formula is None:
        if outcome is None or group is None:
            return without_model(
                "the default model needs a score and a grouping column such as program; "
                "give the model yourself with formula="
            )
        formula = f"{outcome} ~ coc + (1|{group})"
    spline = "coc:df=3" if _has_bare_term(formula, "coc") else None
    first_scores = ctx.scores.loc[ctx.first].drop(columns=["_wave", "_source"]).reset_index(drop=True)
    notes: list[str] = []
    model = None
    reason = None
    for attempt in [spline, None] if spline else [None]:
        try:
            model = model_relatedness(
                first_scores,
                indices,
                formula,
                id_column=ctx.id_column,
                exposure_id_column=result.id_column,
                spline=attempt,
            )
            if attempt is None and spline is not None:
                notes.append("the spline on coc could not be fitted; coc was fitted as a straight line")
            spline = attempt
            break
        except ModelFormulaError as exc:
            if user_formula and attempt is None:
                raise
            reason = ctx.scrub(f"the model could not be set up: {exc}")
        except JoinError:
            reason = (
                f"no resident in {first_wave_words(ctx)} matched a learner of the schedule; check that "
                f"learner_column (now {options['learner_column']!r}) holds the same ids as {ctx.id_column!r}"
            )
            break
        except ModelFitError as exc:
            reason = ctx.scrub(f"the model could not be fitted: {exc}")
    model_command = (
        f"sdt-survey model --instrument {' --instrument '.join(shell_quote(a) for a in ctx.instrument_args)} "
        f"--responses {shell_quote(ctx.files_with_first_wave()[0])} --exposure continuity.csv "
        f"--id-column {shell_quote(ctx.id_column)}"
        + (
            f" --exposure-id-column {shell_quote(result.id_column)}"
            if result.id_column != ctx.id_column
            else ""
        )
        + f" --formula {shell_quote(formula)}"
        + (f" --spline {spline} --plot curve.png" if spline else "")
    )
    source = [continuity_command + " --out continuity.csv", model_command]
    if model is None:
        return make_section(explanation, source, data, status="not_available", reason=reason), quality
    join = model.join
    data["join"] = {
        "responses": join.n_scores,
        "matched": join.n_matched,
        "responses_without_schedule": len(join.scores_only),
        "schedule_residents_without_response": len(join.exposure_only),
    }
    data["model"] = _model_block(model, formula, spline, outcome_label, ctx)
    data["latent_model"] = _latent_block(ctx, formula, outcome, indices, result.id_column)
    if data["latent_model"].get("status") == "ok":
        source.append(model_command.split(" --spline", 1)[0] + " --latent")
    if data["model"]["n_obs"] is None:
        return (
            make_section(
                explanation,
                source,
                data,
                status="suppressed",
                reason=f"fewer than {ctx.min_cell} residents are in the model: nothing can be shown",
            ),
            quality,
        )
    if join.scores_only:
        notes.append(
            f"{len(join.scores_only)} respondent(s) of {first_wave_words(ctx)} have no schedule rows "
            "and are not in the model"
        )
    if len(ctx.waves) > 1:
        notes.append(
            f"the model uses wave {ctx.first_wave} only: one continuity value per resident, one answer each"
        )
    return make_section(explanation, source, data, notes=notes), quality


def schedule_flags(options: Mapping[str, Any]) -> str:
    """The schedule options as the flags of ``sdt-survey continuity``."""
    flags = ""
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = f" --{key.replace('_', '-')}"
        flags += flag if value is True else f"{flag} {shell_quote(value)}"
    return flags


def _continuity_command(schedule_name: str, options: Mapping[str, Any]) -> str:
    """The ``sdt-survey continuity`` command with the schedule options given."""
    return f"sdt-survey continuity {shell_quote(schedule_name)}{schedule_flags(options)}"


def _score_label(instruments: Sequence[Instrument], score_id: str | None) -> str:
    for inst in instruments:
        for entry in (*inst.subscales.values(), *inst.composites.values()):
            if entry.id == score_id and entry.label is not None:
                return str(entry.label)
    return str(score_id).replace("_", " ")


#: Plain names of the exposure columns a model may use (leader-facing tables never show model syntax).
VARIABLE_NAMES = {
    "coc": "continuity",
    "upc": "usual-provider continuity",
    "mfpc": "most-frequent-provider share",
}


def plain_term(term: str, instruments: Sequence[Instrument] = ()) -> str:
    """A model term as leaders read it: no model syntax such as ``cr(coc, df=3)[0]`` or ``C(pgy)[T.2]``.

    Examples
    --------
    >>> plain_term("cr(coc, df=3)[0]")
    'continuity (spline term 1)'
    >>> plain_term("C(pgy)[T.2]"), plain_term("pgy[T.3]"), plain_term("(Intercept)")
    ('pgy 2 (vs. the first level)', 'pgy 3 (vs. the first level)', 'intercept')
    >>> plain_term("coc:pgy")
    'continuity x pgy'
    """
    if term in ("(Intercept)", "Intercept"):
        return "intercept"

    def name(variable: str) -> str:
        if variable in VARIABLE_NAMES:
            return VARIABLE_NAMES[variable]
        label = _score_label(instruments, variable)
        return label.lower() if label != variable.replace("_", " ") else variable.replace("_", " ")

    parts = []
    for part in term.split(":"):
        spline = re.fullmatch(r"(?:cr|cc|bs|te|ns|dmatrix)\(\s*(\w+)[^)]*\)\[(\d+)\]", part)
        level = re.fullmatch(r"(?:C\(\s*(\w+)[^)]*\)|(\w+))\[T\.(.+)\]", part)
        if spline:
            parts.append(f"{name(spline.group(1))} (spline term {int(spline.group(2)) + 1})")
        elif level:
            parts.append(f"{name(level.group(1) or level.group(2))} {level.group(3)} (vs. the first level)")
        elif re.fullmatch(r"\w+", part):
            parts.append(name(part))
        else:
            parts.append(part)
    return " x ".join(parts)


def _has_bare_term(formula: str, variable: str) -> bool:
    fixed = formula.split("~", 1)[-1]
    fixed = re.sub(r"\([^()]*\|[^()]*\)", " ", fixed)  # random terms
    return any(term.strip() == variable for term in re.split(r"\+", fixed))


def _describe_indices(result: Any, min_cell: int) -> dict[str, Any]:
    """n, mean and SD of the main indices over the schedule's residents (no minimum, maximum or quantile)."""
    out = {}
    for column in ("coc", "upc", "n_sessions", "n_faculty"):
        if column not in result.indices:
            continue
        values = pd.to_numeric(result.indices[column], errors="coerce").dropna()
        if len(values) < min_cell:
            out[column] = {"n": None, "mean": None, "sd": None}
        else:
            out[column] = {
                "n": len(values),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
            }
    return out


def _model_block(
    model: Any, formula: str, spline: str | None, outcome_label: str, ctx: ReportContext
) -> dict:
    min_cell = ctx.min_cell
    join_messages = set(model.join.messages()) if model.join is not None else set()
    warnings = [ctx.scrub(w) for w in model.warnings if w not in join_messages]
    block: dict[str, Any] = {
        "formula": formula,
        "fitted_as": model.fixed_formula,
        "spline": spline,
        "outcome": formula.split("~", 1)[0].strip(),
        "outcome_label": outcome_label,
        "exposure": list(model.exposure),
        "method": model.method,
        "n_obs": small_to_none(int(model.n_obs), min_cell),
        "n_groups": {k: int(v) for k, v in model.n_groups.items()},
        "fixed": [
            {
                "term": plain_term(str(term), ctx.instruments),
                "model_term": str(term),
                "estimate": finite_or_none(row["estimate"]),
                "se": finite_or_none(row["se"]),
                "ci_lower": finite_or_none(row["ci_lower"]),
                "ci_upper": finite_or_none(row["ci_upper"]),
                "z": finite_or_none(row["z"]),
                "pvalue": finite_or_none(row["pvalue"]),
                "df": finite_or_none(row["df"]) if "df" in row else None,
                "t": finite_or_none(row["t"]) if "t" in row else None,
                "p": finite_or_none(row["p"]) if "p" in row else None,
            }
            for term, row in model.fixed.iterrows()
        ],
        # The small-sample method of df/t/p (lmerTest's default, Satterthwaite; "none" is Wald z).
        "ddf": getattr(model, "ddf", "none"),
        "icc": finite_or_none(model.icc),
        "icc_null": finite_or_none(model.icc_null) if model.icc_null is not None else None,
        "r2_marginal": finite_or_none(model.r2_marginal),
        "r2_conditional": finite_or_none(model.r2_conditional),
        "lrt": None
        if model.lrt is None
        else {
            "chisq": finite_or_none(model.lrt.chisq),
            "df": int(model.lrt.df),
            "pvalue": finite_or_none(model.lrt.pvalue),
        },
        "per_sd": None,
        "singular": bool(model.singular),
        "converged": bool(model.converged),
        "warnings": warnings,
        "curve": None,
    }
    if model.standardized is not None and len(model.standardized):
        term, row = next(iter(model.standardized.iterrows()))
        block["per_sd"] = {
            "term": plain_term(str(term), ctx.instruments),
            "model_term": str(term),
            "per_sd": finite_or_none(row["per_sd"]),
            "ci_lower": finite_or_none(row["per_sd_ci_lower"]),
            "ci_upper": finite_or_none(row["per_sd_ci_upper"]),
        }
    if model.curve is not None and model.data is not None and model.curve_variable in model.data:
        observed = np.sort(
            pd.to_numeric(model.data[model.curve_variable], errors="coerce").dropna().to_numpy()
        )
        if len(observed) >= 2 * min_cell:
            # Cut the curve where fewer than min_cell residents lie beyond it: its ends would otherwise be
            # the continuity of the single residents with the lowest and highest values.
            low, high = observed[min_cell - 1], observed[len(observed) - min_cell]
            curve = model.curve[(model.curve["x"] >= low) & (model.curve["x"] <= high)]
            if len(curve) >= 2:
                block["curve"] = {
                    "variable": model.curve_variable,
                    "x": [float(v) for v in curve["x"]],
                    "fitted": [float(v) for v in curve["fitted"]],
                    "ci_lower": [float(v) for v in curve["ci_lower"]],
                    "ci_upper": [float(v) for v in curve["ci_upper"]],
                }
    return block


def _latent_block(
    ctx: ReportContext, formula: str, outcome: str | None, indices: pd.DataFrame, exposure_id: str
) -> dict[str, Any]:
    """The same question with the outcome as a latent factor of its items (lavaan sem, cluster-robust)."""
    from ...errors import CFAError
    from ...factor.sem import latent_continuity_model
    from ...factor.sem.latent import read_latent_formula

    instrument = next((i for i in ctx.instruments if outcome in i.subscales), None)
    if instrument is None:
        return {"status": "not_available", "reason": f"{outcome} is not a subscale with items of its own"}
    try:
        read_latent_formula(formula)
    except CFAError:  # terms the latent model cannot take (C(), splines...): the plain version
        formula = f"{outcome} ~ coc" + (
            f" + (1|{DEFAULT_MODEL_GROUP})" if DEFAULT_MODEL_GROUP in ctx.scores else ""
        )
    try:
        latent = latent_continuity_model(
            ctx.first_wave_data(instrument),
            indices,
            formula,
            id_column=ctx.id_column,
            exposure_id_column=exposure_id,
        )
    except CFAError as exc:
        return {
            "status": "not_available",
            "reason": ctx.scrub(f"the latent model could not be fitted: {exc}"),
        }
    if small_to_none(latent.n_used, ctx.min_cell) is None:
        return {"status": "suppressed", "reason": f"fewer than {ctx.min_cell} residents are in the model"}
    fit = latent.sem.fit
    join_messages = set(latent.join.messages()) if latent.join is not None else set()
    return {
        "status": "ok",
        "formula": formula,
        "items": list(latent.items),
        "estimator": latent.sem.estimator,
        "n_obs": int(latent.n_used),
        "cluster": latent.cluster,
        "n_clusters": latent.n_clusters,
        "effects": [
            {
                "term": plain_term(str(row["predictor"]), ctx.instruments),
                "model_term": str(row["predictor"]),
                "estimate": finite_or_none(row["est"]),
                "se": finite_or_none(row["se"]),
                "ci_lower": finite_or_none(row["ci_lower"]),
                "ci_upper": finite_or_none(row["ci_upper"]),
                "pvalue": finite_or_none(row["pvalue"]),
                "std_all": finite_or_none(row["std_all"]),
            }
            for _, row in latent.effects.iterrows()
        ],
        "r_squared": finite_or_none(latent.r_squared),
        "fit": {
            "cfi": finite_or_none(fit.cfi_robust if fit.cfi_robust is not None else fit.cfi),
            "rmsea": finite_or_none(fit.rmsea_robust if fit.rmsea_robust is not None else fit.rmsea),
            "srmr": finite_or_none(fit.srmr),
        },
        "warnings": [ctx.scrub(w) for w in latent.warnings if w not in join_messages],
    }


def _schedule_quality(result: Any, name: str, min_cell: int) -> dict[str, Any]:
    problems = []
    report = result.report
    if not report.empty:
        for (problem, severity, action), lines in report.groupby(
            ["problem", "severity", "action"], sort=False, dropna=False
        ):
            located = lines["row"].notna()
            count = int(located.sum())
            unit = "rows"
            for message in lines.loc[~located, "message"]:
                found = re.match(r"\s*(\d+)", str(message))
                count += int(found.group(1)) if found else 1
                unit = "sessions"
            problems.append(
                {
                    "problem": problem,
                    "severity": severity,
                    "action": action,
                    "n": count,
                    "unit": unit,
                    "meaning": PROBLEM_MEANINGS.get(problem, str(problem).replace("_", " ")),
                }
            )
    return {
        "file": name,
        "rows": int(result.n_rows),
        "sessions_counted": int(result.n_sessions),
        "problems": problems,
    }
