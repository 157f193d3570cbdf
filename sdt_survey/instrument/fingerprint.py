"""The content hash of an instrument and the stamp every export carries.

:func:`content_hash` is SHA-256 over a canonical JSON of what the data *mean*:
each item's id, type, scale values, missing codes and non-substantive
choices (code and reason), choice codes, range and slider step, identifier
flag, reverse key, required flag and branching, and every subscale and composite
(items, method, ``min_valid``). Wording, hints, slider anchors, notes, titles, labels, languages,
sections, aliases, citation and licence are left out on purpose: a
translation or a corrected typo in an item's wording gives the same hash, so
data collected with either form read against either. Anything that changes
what a code means, which items are asked or how they are scored gives
another hash.

A **stamp** names one instrument as ``id@version#hash`` (the full 64 hex
digits); a survey of several instruments is their stamps separated by
spaces. Every export writes it (docs/exporting.md) and
:func:`parse_stamps` reads it back from a platform's data.

Examples
--------
>>> import sdt_survey
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> len(content_hash(bpn)), content_hash(bpn) == bpn.content_hash()
(64, True)
>>> stamp = instrument_stamp(bpn)
>>> parse_stamps(stamp)[0][:2]
('bpn-residency', '1.0.0')
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

#: One stamp: ``id@version`` and, when the writer knew it, ``#`` and the content hash.
_STAMP = re.compile(r"(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<version>[^\s@#;,]+)(?:#(?P<hash>[0-9a-f]{64}))?")


def _structure(instrument: Any) -> dict[str, Any]:
    items = []
    for item in instrument.items:
        entry: dict[str, Any] = {"id": item.id, "type": item.type}
        if item.scale is not None:
            entry["scale"] = {
                "values": list(item.scale.values),
                "missing_codes": sorted(str(code) for code in item.scale.missing_codes),
            }
            if item.scale.nonsubstantive:
                # Codes shown and scored as missing, each with its reason: what the data mean.
                entry["scale"]["nonsubstantive"] = [
                    [str(choice.value), choice.reason] for choice in item.scale.nonsubstantive
                ]
        if item.choices:
            entry["choices"] = [str(choice.value) for choice in item.choices]
        entry["min"] = item.min
        entry["max"] = item.max
        # Written only when set, so that instruments without them keep their hash.
        if item.step is not None:
            entry["step"] = item.step
        if item.identifier:
            entry["identifier"] = True
        entry["reverse"] = bool(item.reverse)
        entry["required"] = bool(item.required)
        entry["show_if"] = item.show_if.to_text() if item.show_if is not None else None
        items.append(entry)
    subscales = {
        sid: {"items": list(sub.items), "method": sub.method, "min_valid": sub.min_valid}
        for sid, sub in instrument.subscales.items()
    }
    composites = {
        cid: {"of": list(comp.of), "method": comp.method} for cid, comp in instrument.composites.items()
    }
    return {"items": items, "subscales": subscales, "composites": composites}


def canonical_structure(instrument: Any) -> str:
    """The canonical JSON text that :func:`content_hash` hashes (sorted keys, no spaces)."""
    return json.dumps(_structure(instrument), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(instrument: Any) -> str:
    """SHA-256 (64 hex digits) of the instrument's structure; wording does not enter it.

    Parameters
    ----------
    instrument : Instrument
    """
    return hashlib.sha256(canonical_structure(instrument).encode("ascii")).hexdigest()


def instrument_stamp(instrument: Any) -> str:
    """``id@version#hash``: the stamp of one instrument."""
    return f"{instrument.id}@{instrument.version}#{content_hash(instrument)}"


def parse_stamps(text: object) -> list[tuple[str, str, str | None]]:
    """The ``(id, version, hash or None)`` of every stamp in ``text``; ``[]`` when it holds none.

    Older exports wrote ``id@version`` without a hash; those read with ``None``.

    Examples
    --------
    >>> parse_stamps("bpn-residency@1.0.0 program-belonging@1.2.0")
    [('bpn-residency', '1.0.0', None), ('program-belonging', '1.2.0', None)]
    >>> parse_stamps(None)
    []
    """
    if not isinstance(text, str):
        return []
    return [(m["id"], m["version"], m["hash"]) for m in _STAMP.finditer(text)]


__all__ = ["canonical_structure", "content_hash", "instrument_stamp", "parse_stamps"]
