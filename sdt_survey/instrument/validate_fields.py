"""Checks of the fields real forms use most: hints, identifiers, sliders, notes, non-substantive choices.

A mixin of :class:`sdt_survey.instrument.validate._Validator`, kept apart so
that each module stays one concern; every problem is located by the path of
its YAML node, as the rest of the validator does.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .model import NUMERIC_TYPES

#: A choice value written as a name: letters, digits, ``_``, ``-`` and ``.`` (ODK choice names).
CHOICE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
#: The reason a non-substantive answer is missing: ``dont_know``, ``refused``, ``not_applicable``.
REASON_ID = re.compile(r"^[a-z][a-z0-9_]*$")
NONSUBSTANTIVE_KEYS = ("value", "label", "reason")
NOTE_KEYS = ("id", "text", "before")
NOTE_ID = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
#: Slider steps that leave max - min a whole number of steps within this tolerance fit the grid.
STEP_TOLERANCE = 1e-9


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_choice_value(value: object) -> bool:
    """Whether ``value`` may be a choice's code: an integer or an ODK-style name.

    Examples
    --------
    >>> is_choice_value(3), is_choice_value("dont-know"), is_choice_value("n.a."), is_choice_value("a b")
    (True, True, True, False)
    """
    return _is_int(value) or (isinstance(value, str) and bool(CHOICE_NAME.match(value)))


def on_step_grid(low: float, high: float, step: float) -> bool:
    """Whether ``high - low`` is a whole number of ``step``.

    Examples
    --------
    >>> on_step_grid(0, 100, 5), on_step_grid(0, 10, 0.5), on_step_grid(0, 10, 3)
    (True, True, False)
    """
    count = (high - low) / step
    return abs(count - round(count)) <= STEP_TOLERANCE * max(1.0, abs(count))


class FieldChecks:
    """Checks of ``hint``, ``identifier``, sliders, scale ``nonsubstantive`` choices and section ``notes``.

    Relies on the host validator's ``error``/``warn``/``check_*`` methods and its
    ``items``/``scales`` tables.
    """

    # The host validator provides these.
    error: Any
    warn: Any
    check_text: Any
    check_label: Any
    check_bool: Any
    check_mapping: Any
    check_id: Any
    line_of: Any
    items: dict[str, tuple[int, dict]]

    def check_item_extras(self, path: tuple, item: dict, item_type: str | None, name: str) -> None:
        """``hint``, ``identifier``, and a slider's ``min``/``max``/``step``/``anchors``."""
        if "hint" in item:
            self.check_text((*path, "hint"), item["hint"])
        if "identifier" in item:
            self.check_bool((*path, "identifier"), item["identifier"])
            if item["identifier"] is True and item_type in ("likert", "slider"):
                self.error(
                    (*path, "identifier"),
                    f"{name} is a {item_type} item, which identifies nobody; mark the items that "
                    "identify a person (a name, an email, a record number)",
                )
        if item_type == "slider":
            for bound in ("min", "max"):
                if bound not in item:
                    self.error(path, f"{name} is a slider and needs '{bound}' (the {bound} of its range)")
            low, high = item.get("min"), item.get("max")
            if _is_number(low) and _is_number(high) and low == high:
                self.error((*path, "max"), f"a slider's max ({high}) must be larger than its min ({low})")
        for key in ("step", "anchors"):
            if key in item and item_type not in ("slider", None):
                self.error((*path, key), f"'{key}' applies to slider items, not {item_type}")
        if "step" in item and item_type == "slider":
            self.check_step(path, item)
        if "anchors" in item and item_type == "slider":
            anchors = item["anchors"]
            if not isinstance(anchors, list) or len(anchors) not in (2, 3):
                found = f"{len(anchors)} labels" if isinstance(anchors, list) else "no list"
                self.error(
                    (*path, "anchors"),
                    f"expected [left, right] or [left, middle, right] labels, found {found}",
                )
            else:
                for i, anchor in enumerate(anchors):
                    self.check_label((*path, "anchors", i), anchor)

    def check_step(self, path: tuple, item: dict) -> None:
        step = item["step"]
        if not _is_number(step) or step <= 0:
            self.error((*path, "step"), f"expected a positive number, found {_type_name(step)}")
            return
        low, high = item.get("min"), item.get("max")
        if _is_number(low) and _is_number(high) and high > low and not on_step_grid(low, high, step):
            self.error(
                (*path, "step"),
                f"the range {low} to {high} is not a whole number of steps of {step}; "
                "choose a step that divides max - min",
            )

    def check_bounds(self, path: tuple, item: dict, item_type: str | None) -> None:
        """``min`` and ``max``: numbers of integer, number and slider items."""
        for bound in ("min", "max"):
            if bound not in item:
                continue
            value = item[bound]
            if item_type not in NUMERIC_TYPES:
                if item_type is not None:
                    self.error(
                        (*path, bound),
                        f"'{bound}' applies to integer, number and slider items, not {item_type}",
                    )
            elif item_type == "integer" and not _is_int(value):
                self.error((*path, bound), f"expected an integer, found {_type_name(value)}")
            elif not _is_number(value):
                self.error((*path, bound), f"expected a number, found {_type_name(value)}")
        low, high = item.get("min"), item.get("max")
        if _is_number(low) and _is_number(high) and low > high:
            self.error((*path, "max"), f"max ({high}) is smaller than min ({low})")

    def check_nonsubstantive(self, path: tuple, choices: object, values: list, missing: object) -> None:
        """A scale's non-substantive choices: value, label, reason; codes distinct from the scale's."""
        if not isinstance(choices, list) or not choices:
            found = "an empty list" if isinstance(choices, list) else _type_name(choices)
            self.error(
                path,
                f"expected a list of {{value, label, reason}} choices (e.g. value: 8, label: Don't know, "
                f"reason: dont_know), found {found}",
            )
            return
        missing_codes = {str(code) for code in missing} if isinstance(missing, dict) else set()
        scale_values = {str(v) for v in values}
        seen: set[str] = set()
        for i, choice in enumerate(choices):
            here = (*path, i)
            if not self.check_mapping(here, choice, NONSUBSTANTIVE_KEYS, required=NONSUBSTANTIVE_KEYS):
                continue
            if "value" in choice:
                value = choice["value"]
                if not is_choice_value(value):
                    self.error(
                        (*here, "value"),
                        f"a choice value must be an integer or a name of letters, digits, '_', '-' "
                        f"and '.', found {_type_name(value)}",
                    )
                elif str(value) in scale_values:
                    self.error((*here, "value"), f"{value!r} is also a value of the scale")
                elif str(value) in missing_codes:
                    self.error((*here, "value"), f"{value!r} is also one of the scale's missing_codes")
                elif str(value) in seen:
                    self.error((*here, "value"), f"non-substantive value {value!r} is used twice")
                else:
                    seen.add(str(value))
            if "label" in choice:
                self.check_label((*here, "label"), choice["label"])
            if "reason" in choice:
                reason = choice["reason"]
                if not isinstance(reason, str) or not REASON_ID.match(reason):
                    self.error(
                        (*here, "reason"),
                        f"expected a reason such as dont_know or refused (lowercase letters, digits "
                        f"and '_'), found {_type_name(reason)}",
                    )

    def check_notes(
        self, path: tuple, notes: object, section_items: list, note_ids: dict[str, tuple]
    ) -> None:
        """A section's notes: ids distinct from every item and note, ``before`` an item of the section."""
        if not isinstance(notes, list) or not notes:
            found = "an empty list" if isinstance(notes, list) else _type_name(notes)
            self.error(path, f"expected a list of {{id, text, before}} notes, found {found}")
            return
        for i, note in enumerate(notes):
            here = (*path, i)
            if not self.check_mapping(here, note, NOTE_KEYS, required=("id", "text")):
                continue
            note_id = note.get("id")
            if "id" in note and self.check_id(
                (*here, "id"),
                note_id,
                NOTE_ID,
                "lowercase letters, digits and '_', starting with a letter, at most 26 characters",
            ):
                if note_id in self.items:
                    self.error((*here, "id"), f"note id {note_id!r} is also an item id; names must differ")
                elif note_id in note_ids:
                    first = self.line_of(note_ids[note_id])
                    self.error((*here, "id"), f"duplicate note id {note_id!r} (first on line {first})")
                else:
                    note_ids[note_id] = (*here, "id")
            if "text" in note:
                self.check_text((*here, "text"), note["text"])
            if "before" in note:
                before = note["before"]
                if before not in section_items:
                    listed = ", ".join(str(ref) for ref in section_items) or "none"
                    self.error(
                        (*here, "before"),
                        f"'before' must name an item of this section ({listed}), found {before!r}; "
                        "leave it out to close the section with the note",
                    )
