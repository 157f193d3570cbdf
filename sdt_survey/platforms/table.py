"""A response file as read, before its columns are matched to items; text matching shared by platforms.

The generic file readers (:mod:`sdt_survey.responses.formats`) and a
platform's own reader (ReproSchema) produce a :class:`ResponseTable`; each
platform's ``detect``, ``prepare`` and ``match_columns`` read it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..instrument import Item

#: ``claim(item_id, column, how)``: read ``column`` as item ``item_id`` (``how`` says why, for a note).
Claim = Callable[..., None]


@dataclass
class ResponseTable:
    """A response file as read: the cells, plus what the format itself says about them.

    ``header_rows`` is the number of rows above the first record in the file;
    ``extra_headers`` holds header rows below the column names (Qualtrics);
    ``platform`` names the platform whose own reader read the file (so no
    detection is needed).
    """

    frame: pd.DataFrame
    header_rows: int = 1
    extra_headers: list[list[str]] = field(default_factory=list)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    user_missing: dict[str, set[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    platform: str | None = None


def normalise_text(text: str) -> str:
    """Text for comparison: tags dropped, entities decoded, whitespace folded, case folded.

    Examples
    --------
    >>> normalise_text("I feel <b>welcome</b>&nbsp;here ")
    'i feel welcome here'
    """
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))  # REDCap and Qualtrics keep HTML in labels
    return " ".join(text.replace("\u00a0", " ").split()).casefold()


def match_by_text(
    items: Sequence[Item], columns: list[str], claim: Claim, what: str, texts: Sequence | None = None
) -> None:
    """Match items whose wording is the header (REDCap labels) or ends it (Qualtrics matrix rows)."""
    headers = texts if texts else columns
    normalised = [normalise_text(str(h)) for h in headers]
    for item in items:
        if item.text is None:
            continue
        for wording in item.text.translations.values():
            target = normalise_text(wording)
            hits = [
                columns[i]
                for i, header in enumerate(normalised)
                if header == target or header.endswith(" - " + target)
            ]
            if len(hits) == 1:
                claim(item.id, hits[0], f"matched by {what}")
                break
