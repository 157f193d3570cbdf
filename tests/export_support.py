"""What the export round-trip tests share: answers of every kind and how they read back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdt_survey.instrument.expressions import BoolOp, Comparison, Membership, Name, Not

COMBINATION = ["bpn-residency", "continuity-exposure", "program-belonging"]
#: Which choices a multiple-choice answer ticks, record by record.
PICKS = [(), (0,), (0, 1), (2,), (1,)]


def placeholder_texts() -> dict[str, str]:
    """Made-up wording for the BPNSFS key, whose licensed wording is not bundled."""
    return {f"bpnsfs_{k:02d}": f"Placeholder statement number {k}." for k in range(1, 25)}


def holds(expr, answers: dict) -> bool:
    """``show_if`` for one respondent, with the instrument's documented meaning.

    Unanswered (None) makes a comparison false except ``!=``; ``x == ""`` tests
    for unanswered (REDCap's ``[x] = ''``); a multiple item's ``== v`` is "v is selected".
    """
    if isinstance(expr, Not):
        return not holds(expr.operand, answers)
    if isinstance(expr, BoolOp):
        results = [holds(operand, answers) for operand in expr.operands]
        return all(results) if expr.op == "and" else any(results)
    if isinstance(expr, Membership):
        hit = any(holds(Comparison("==", expr.item, value), answers) for value in expr.values)
        return not hit if expr.negated else hit
    left = answers.get(expr.left.id)
    right = answers.get(expr.right.id) if isinstance(expr.right, Name) else expr.right.value
    if right == "":
        return (left is None) == (expr.op == "==")
    if isinstance(left, list):
        return (right in left) == (expr.op == "==")
    if left is None or right is None:
        return expr.op == "!="
    ops = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
           ">=": np.greater_equal}  # fmt: skip
    return bool(ops[expr.op](left, right))


def make_answers(
    items,
    n_records: int = 5,
    *,
    skipped_codes: bool = False,
    text: str = "note {r}, with a comma\nand a second line",
) -> list[dict]:
    """Valid answers of every kind; items hidden by show_if left unanswered, as platforms do.

    With ``skipped_codes`` some likert answers are the scale's missing code
    (e.g. -99 skipped), which must read back as missing.
    """
    records = []
    for r in range(n_records):
        answers: dict = {}
        for k, item in enumerate(items):
            if item.show_if is not None and not holds(item.show_if, answers):
                answers[item.id] = None
                continue
            if item.scale is not None:
                values = item.scale.values
                value = None if (r + k) % 7 == 3 else values[(r + k) % len(values)]
                if skipped_codes and r == 2 and k % 5 == 0 and item.scale.missing_codes:
                    value = next(iter(item.scale.missing_codes))
            elif item.type == "single":
                value = item.choices[(r + k) % len(item.choices)].value
            elif item.type == "multiple":
                value = [item.choices[j].value for j in PICKS[r % len(PICKS)] if j < len(item.choices)]
            elif item.type in ("integer", "number"):
                value = (item.min or 0) + r * (3 if item.type == "integer" else 2.5)
            elif item.type == "date":
                value = f"2024-03-{r + 1:02d}"
            else:
                value = None if r == 3 else text.format(r=r)
            answers[item.id] = value
        records.append(answers)
    return records


def expected_values(item, records: list[dict]) -> list:
    """What ``scored.items`` holds for ``item``: codes as floats, selections joined, missing as None."""
    out = []
    for record in records:
        value = record[item.id]
        if item.scale is not None and value in item.scale.missing_codes:
            value = None
        if isinstance(value, list):
            value = " ".join(str(v) for v in sorted(set(value), key=str)) or None
        elif isinstance(value, (int, float)) and item.type != "multiple":
            value = float(value)
        out.append(value)
    return out


def observed_values(series: pd.Series) -> list:
    return [
        None if pd.isna(v) else (float(v) if isinstance(v, (int, float, np.number)) else v) for v in series
    ]
