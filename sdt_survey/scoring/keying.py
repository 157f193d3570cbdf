"""The keying audit of an analysis data set: each instrument's subscales checked once, on intake.

The kernel is :func:`sdt_survey.stats.keying.keying_audit`; this module runs
it over every instrument and words its flags. ``score`` keeps the table
(:attr:`ScoredResponses.keying`) and its warnings; ``reliability`` and the
report show them from there, never computing them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..instrument import Instrument
from ..stats.keying import KEYING_COLUMNS, keying_audit, keying_message

#: The columns of the keying table: the instrument, then :data:`~sdt_survey.stats.keying.KEYING_COLUMNS`.
AUDIT_COLUMNS = ["instrument", *KEYING_COLUMNS]


def audit_keying(keyed: pd.DataFrame, instruments: Sequence[Instrument]) -> pd.DataFrame:
    """Every item of ``instruments`` whose data run against its declared key (see stats.keying)."""
    tables = []
    for inst in instruments:
        subscales = {sid: list(sub.items) for sid, sub in inst.subscales.items()}
        flags = keying_audit(keyed, subscales, set(inst.reverse_keyed))
        # An item in two subscales is flagged once, under the first.
        flags = flags.drop_duplicates("item")
        tables.append(flags.assign(instrument=inst.id))
    if not tables:
        return pd.DataFrame(columns=AUDIT_COLUMNS)
    return pd.concat(tables, ignore_index=True)[AUDIT_COLUMNS]


def keying_warnings(table: pd.DataFrame, instrument: str | None = None) -> list[str]:
    """The audit's flags as warnings (those of one instrument when ``instrument`` is given)."""
    rows = table if instrument is None else table[table["instrument"] == instrument]
    return [keying_message(row) for row in rows.to_dict("records")]


__all__ = ["AUDIT_COLUMNS", "audit_keying", "keying_warnings"]
