"""Items the instrument marks ``identifier: true``: dropped on intake, or pseudonymized when asked.

An instrument may ask who a respondent is (a name, an email, a record
number) and mark that item ``identifier: true``. Its answers are validated
like any other item's, but they never reach the scored output, the analysis
data set or a leader-facing report: intake drops them, or, when ids are
pseudonymized (``pseudonymize_key``), keeps a keyed pseudonym of each answer
instead, so that waves can still be linked by it. The data-quality report
never shows an identifier's value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from ..instrument import Instrument
from ..responses import CleanResponses
from ..responses.model import MissingReasons
from .pseudonyms import pseudonymize


def identifier_item_ids(instruments: Sequence[Instrument]) -> list[str]:
    """The ids of the items marked ``identifier: true``, in definition order.

    Examples
    --------
    >>> import sdt_survey
    >>> identifier_item_ids([sdt_survey.load_instrument("bpn-residency")])
    []
    """
    return [item.id for inst in instruments for item in inst.items if item.identifier]


def set_aside_identifier_items(
    clean: CleanResponses,
    instruments: Sequence[Instrument],
    key: bytes | None = None,
    absent: Collection[str] = (),
) -> tuple[CleanResponses, pd.DataFrame]:
    """``clean`` without its identifier items, and their pseudonyms (an empty frame without ``key``).

    The report keeps its lines about those items with the value left out, and
    gains one ``identifier_dropped`` line per item saying what was done; an item in ``absent`` (not
    in the file: a de-identified export) is said to be absent, not dropped.

    Examples
    --------
    >>> import sdt_survey, pandas as pd
    >>> from sdt_survey.responses import validate_responses, responses_from_frame
    >>> inst = sdt_survey.parse_instrument('''
    ... schema_version: 1
    ... id: tiny
    ... version: "0.1.0"
    ... items:
    ...   - {id: email, text: Your email, type: text, identifier: true}
    ...   - {id: q1, text: How many visits, type: integer}
    ... ''')
    >>> frame = pd.DataFrame({"email": ["a@b.org"], "q1": [3]})
    >>> clean = validate_responses(responses_from_frame(frame, [inst]), [inst])
    >>> kept, pseudonyms = set_aside_identifier_items(clean, [inst])
    >>> list(kept.values.columns), pseudonyms.empty
    (['q1'], True)
    """
    ids = [i for i in identifier_item_ids(instruments) if i in clean.values.columns]
    if not ids:
        return clean, pd.DataFrame(index=clean.values.index)
    issues = clean.report.issues.copy()
    about = issues["item"].isin(ids).to_numpy(dtype=bool) if not issues.empty else np.zeros(0, dtype=bool)
    if about.any():
        issues.loc[about, "value"] = None
    action = "pseudonymized" if key is not None else "dropped from output"
    what = (
        "kept as a keyed pseudonym of each answer, never the answer"
        if key is not None
        else "left out of the scored output"
    )
    lines = pd.DataFrame(
        {
            "row": None,
            "respondent": None,
            "column": ids,
            "item": ids,
            "value": None,
            "problem": "identifier_dropped",
            "severity": "info",
            "message": [
                f"item {i!r} is marked identifier: true in the instrument; "
                + ("it is not in the file (a de-identified export): nothing to drop" if i in absent else what)
                for i in ids
            ],
            "action": [("absent" if i in absent else action) for i in ids],
        }
    )
    report = dataclasses.replace(clean.report, issues=issues).with_lines(lines)
    keep = [j for j, c in enumerate(clean.reasons.columns) if c not in ids]
    reasons = MissingReasons(
        clean.reasons.codes[keep],
        clean.reasons.labels,
        [clean.reasons.columns[j] for j in keep],
        clean.reasons.index,
    )
    pseudonyms = pd.DataFrame(index=clean.values.index)
    if key is not None:
        for item_id in ids:
            pseudonyms[item_id] = pseudonymize(_as_written(clean.values[item_id]), key)
    kept = dataclasses.replace(clean, values=clean.values.drop(columns=ids), report=report, reasons=reasons)
    return kept, pseudonyms


def _as_written(values: pd.Series) -> pd.Series:
    """Whole numbers as written (``1234``, not ``1234.0``), so a pseudonym does not depend on the reader."""
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        finite = numbers[np.isfinite(numbers)]
        if np.array_equal(finite, np.floor(finite)):
            return values.astype("Int64").astype("string")
    return values.astype("string")
