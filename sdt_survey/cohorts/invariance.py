"""Whether comparing cohort means is supported: the measurement-invariance check per grouping column."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..instrument import Instrument
from ..results import jsonable
from .data import _natural_key

#: ``max(INVARIANCE_FLOOR, INVARIANCE_PER_ITEM * items)`` respondents with every subscale scored
#: (see docs/cohorts.md).
INVARIANCE_FLOOR = 100
INVARIANCE_PER_ITEM = 5

LEVELS = ("configural", "metric", "scalar", "strict")
#: The parts of the invariance engine's ``to_dict()`` carried into the report (aggregates only).
RESULT_KEYS = ("group", "groups", "steps", "comparisons", "conclusion")


def invariance_minimum(instrument: Instrument) -> int:
    """Respondents each group needs before invariance is tested: ``max(100, 5 * items)``.

    A respondent counts when every subscale of the instrument is scored; the
    engine then fits their item answers by full-information ML.

    Examples
    --------
    >>> from sdt_survey.instrument import load_instruments
    >>> invariance_minimum(load_instruments("bpn-residency")[0])
    120
    """
    return max(INVARIANCE_FLOOR, INVARIANCE_PER_ITEM * len(_model_items(instrument)))


def _model_items(instrument: Instrument) -> list[str]:
    return list(dict.fromkeys(item for sub in instrument.subscales.values() for item in sub.items))


def _invariance_engine():
    try:
        module = importlib.import_module("sdt_survey.factor.sem.invariance")
    except ImportError:
        return None
    return getattr(module, "measurement_invariance", None)


def _level_from(result: Mapping[str, Any]) -> tuple[str | None, bool | None]:
    """The highest level of invariance that holds, and whether means may be compared.

    Reads the engine's ``to_dict()``: a ``conclusion`` naming the level (a string,
    or a mapping with ``level``), else the last of the consecutive ``steps`` that held.
    """
    conclusion = result.get("conclusion")
    supported: bool | None = None
    text = None
    if isinstance(conclusion, Mapping):
        for key in ("mean_comparisons_supported", "means_comparable", "latent_means_comparable"):
            if isinstance(conclusion.get(key), bool):
                supported = conclusion[key]
        for key in ("level", "highest_level", "holds", "invariance"):
            if isinstance(conclusion.get(key), str):
                text = conclusion[key]
                break
    elif isinstance(conclusion, str):
        text = conclusion
    level = None
    if text is not None:
        lowered = text.lower()
        # the highest level named in a clause that does not reject it ("configural only; metric rejected")
        negation = re.compile(r"\b(?:rejected|reject|fails?|failed|not|no|does not|doesn't|violated)\b")
        held = []
        for clause in re.split(r"[;,.]|\bbut\b|\bwhile\b|\bhowever\b", lowered):
            if negation.search(clause):
                continue
            for rank, candidate in enumerate(LEVELS):
                if re.search(rf"\b{candidate}\b", clause):
                    partial = re.search(rf"\bpartial(?:ly)?\s+{candidate}\b", clause)
                    held.append((rank, f"partial {candidate}" if partial else candidate))
        if held:
            level = max(held)[1]
        elif re.search(r"\bnone\b|no level|not even configural", lowered):
            level = "none"
    if level is None and isinstance(result.get("steps"), Sequence):
        held = None
        for step in result["steps"]:
            if not isinstance(step, Mapping):
                continue
            name = next(
                (step[k] for k in ("level", "step", "name", "model") if isinstance(step.get(k), str)), ""
            )
            ok = next(
                (
                    step[k]
                    for k in ("holds", "supported", "accepted", "passed", "retained")
                    if isinstance(step.get(k), bool)
                ),
                None,
            )
            if name.lower() in LEVELS and ok is not None:
                if not ok:
                    break
                held = name.lower()
        level = held
    if supported is None and level is not None:
        supported = level in ("scalar", "strict", "partial scalar", "partial strict")
    return level, supported


def _invariance(
    frame: pd.DataFrame,
    keyed: pd.DataFrame,
    waves: Sequence[Any],
    instruments: tuple[Instrument, ...],
    by: Sequence[str],
    requested: bool,
) -> tuple[dict[str, Any], list[str]]:
    """Test measurement invariance across each grouping column (and across waves) where the data allow."""
    if not requested:
        return {"requested": False, "checks": []}, [
            "invariance not checked: not requested (invariance=False)"
        ]
    across = [*by, *(["wave"] if len(waves) > 1 else [])]
    engine = _invariance_engine()
    minimum = {inst.id: invariance_minimum(inst) for inst in instruments}
    out: dict[str, Any] = {
        "requested": True,
        "engine": "available" if engine else "unavailable",
        "minimum_per_group": minimum,
        "checks": [],
    }
    notes: list[str] = []
    first = frame.sort_values(["_rid", "_wave"], kind="stable").drop_duplicates("_rid")
    for inst in instruments:
        items = _model_items(inst)
        need = minimum[inst.id]
        for column in across:
            if column == "wave":
                rows, groups = frame, frame["_wave"].map(dict(enumerate(waves)))
                caveat = " (waves treated as independent groups although respondents repeat; approximate)"
            else:
                rows, groups = first, first[column]
                caveat = " (each respondent's first wave)"
            # usable: every subscale scored (the engine fits the item answers by full-information ML)
            complete = rows[list(inst.subscales)].notna().all(axis=1).to_numpy()
            labels = groups.to_numpy(dtype=object)
            sizes = pd.Series(complete).groupby(labels).sum()
            large = [g for g in sorted(sizes.index, key=_natural_key) if sizes[g] >= need]
            small = [g for g in sorted(sizes.index, key=_natural_key) if sizes[g] < need]
            check: dict[str, Any] = {
                "instrument": inst.id,
                "across": column,
                "groups_tested": jsonable(large),
                "groups_too_small": jsonable(small),
            }
            if len(large) < 2:
                _not_tested(
                    check,
                    "too_few_respondents",
                    (
                        f"too few respondents to test measurement invariance of {inst.id} across {column}: "
                        f"each group needs at least {need} respondents with every subscale scored and "
                        f"{len(large)} of {len(sizes)} groups have that many; mean comparisons across "
                        f"{column} are not backed by an invariance test"
                    ),
                )
                out["checks"].append(check)
                notes.append(check["statement"])
                continue
            if engine is None:
                _not_tested(
                    check,
                    "engine_unavailable",
                    f"invariance of {inst.id} across {column} not checked: engine unavailable",
                )
                out["checks"].append(check)
                if "invariance not checked: engine unavailable" not in notes:
                    notes.append("invariance not checked: engine unavailable")
                continue
            chosen = complete & pd.Series(labels).isin(large).to_numpy()
            tested = keyed.loc[rows.index[chosen], items].reset_index(drop=True)
            tested[column] = [str(v) for v in labels[chosen]]
            try:
                result = engine(tested, inst, group=column, group_order=[str(g) for g in large])
                full = result.to_dict() if hasattr(result, "to_dict") else dict(result)
                result_dict = {k: full[k] for k in RESULT_KEYS if k in full}
            except Exception as exc:  # the engine may fail to converge on real data
                _not_tested(
                    check, "failed", f"invariance of {inst.id} across {column} could not be tested: {exc}"
                )
                out["checks"].append(check)
                notes.append(check["statement"])
                continue
            level, supported = _level_from(result_dict)
            highest = getattr(result, "highest", None)
            if isinstance(highest, str) and highest.lower() in LEVELS:
                level = highest.lower()
                supported = level in ("scalar", "strict")
            caution = ""
            if "fits poorly" in str(result_dict.get("conclusion", "")):
                caution = (
                    " Caution: the configural model fits poorly; every comparison rests on a poor baseline."
                )
            reference = large[0]
            tested_words = groups_phrase(column, large)
            if supported:
                verdict = (
                    f"{level} invariance holds, so comparing means across {column} is supported for "
                    f"{tested_words} (the groups tested)"
                )
            elif level is None:
                verdict = "the level of invariance could not be read from the result; compare means with care"
            else:
                verdict = (
                    f"only {level} invariance holds across {tested_words}, so differences in their means "
                    "may reflect how the items work in each group rather than real differences; do not "
                    "compare means"
                )
            skipped = untested_phrase(column, small, need)
            check.update(
                status="tested",
                level=level,
                mean_comparisons_supported=supported,
                comparable_groups=jsonable(large if supported else []),
                reference_group=jsonable(reference),
                statement=(
                    f"{inst.id} across {column}: {verdict} (reference group: {column} {reference})"
                    f"{caveat}{skipped}.{caution}"
                ),
                result=jsonable(result_dict),
            )
            out["checks"].append(check)
            notes.append(check["statement"])
    return out, notes


def groups_phrase(column: str, groups: Sequence[Any]) -> str:
    """``"pgy 1, 2 and 3"``: groups named with their column, so that a label never reads as a count.

    Examples
    --------
    >>> groups_phrase("pgy", [1, 2, 3])
    'pgy 1, 2 and 3'
    >>> groups_phrase("program", ["P1"])
    'program P1'
    """
    names = [str(g) for g in groups]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{column} {listed}"


def untested_phrase(column: str, groups: Sequence[Any], need: int) -> str:
    """The groups left out of the invariance test, and why; no count is shown (a count is a figure too).

    Examples
    --------
    >>> untested_phrase("pgy", [3], 120)
    '; not tested, so not comparable: pgy 3 (fewer than the 120 respondents needed)'
    >>> untested_phrase("pgy", [], 120)
    ''
    """
    if not groups:
        return ""
    verb = "s" if len(groups) > 1 else ""
    return (
        f"; not tested, so not comparable: {groups_phrase(column, groups)} (fewer than the {need} "
        f"respondents needed{' in each' if verb else ''})"
    )


def _not_tested(check: dict[str, Any], status: str, statement: str) -> None:
    """Mark an invariance check as not tested (no level, no verdict on means), with the reason why."""
    check.update(status=status, level=None, mean_comparisons_supported=None, statement=statement)


__all__ = [
    "INVARIANCE_FLOOR",
    "INVARIANCE_PER_ITEM",
    "groups_phrase",
    "invariance_minimum",
    "untested_phrase",
]
