"""Instrument definitions: the YAML format, its validation, and the model (layer 2).

An instrument definition is the single source of truth for a survey: its
items, response scales, reverse keys, branching, sections, subscales and
composites. Every later stage (export, scoring, reliability, factor analysis,
reports) reads an :class:`Instrument` rather than guessing.

The format is documented in ``docs/instrument-format.md``. Loading validates
the whole file and reports every problem at once, each located at the line and
column of the offending YAML node; the model objects are built only from a
file that passed.

Examples
--------
>>> import sdt_survey
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> bpn.subscales["relatedness_satisfaction"].items
('rs1', 'rs2', 'rs3', 'rs4')
>>> [item.id for item in bpn.items if item.reverse]
['as4', 'rs4', 'cs4']
"""

from . import expressions
from ._yaml import format_path, read_yaml_mapping
from .fingerprint import content_hash, instrument_stamp, parse_stamps
from .load import (
    BUNDLED_DIR,
    bundled_instruments,
    check_distinct,
    check_instrument,
    load_instrument,
    load_instruments,
    parse_instrument,
    resolve_instrument_path,
)
from .model import (
    ITEM_TYPES,
    NUMERIC_TYPES,
    SCHEMA_VERSION,
    SCORED_TYPES,
    SCORING_METHODS,
    Choice,
    Composite,
    Instrument,
    Item,
    NonSubstantive,
    Note,
    Scale,
    Section,
    Subscale,
    Text,
    alias_targets,
    code_text,
    min_items_required,
    plural,
    register_alias_target,
)
from .validate import (
    CHOICE_CODE,
    INSTRUMENT_ID,
    ITEM_ID,
    LANGUAGE_TAG,
    NAME_ID,
    SEMVER,
    SPDX_EXPRESSION,
)


def __getattr__(name: str):
    # ALIAS_TARGETS was a constant; the platform registry now supplies the names (model.alias_targets).
    if name == "ALIAS_TARGETS":
        return alias_targets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALIAS_TARGETS",
    "BUNDLED_DIR",
    "CHOICE_CODE",
    "INSTRUMENT_ID",
    "ITEM_ID",
    "ITEM_TYPES",
    "LANGUAGE_TAG",
    "NAME_ID",
    "NUMERIC_TYPES",
    "SCHEMA_VERSION",
    "SCORED_TYPES",
    "SCORING_METHODS",
    "SEMVER",
    "SPDX_EXPRESSION",
    "Choice",
    "Composite",
    "Instrument",
    "Item",
    "NonSubstantive",
    "Note",
    "Scale",
    "Section",
    "Subscale",
    "Text",
    "alias_targets",
    "bundled_instruments",
    "check_distinct",
    "check_instrument",
    "code_text",
    "content_hash",
    "expressions",
    "format_path",
    "instrument_stamp",
    "load_instrument",
    "load_instruments",
    "min_items_required",
    "parse_instrument",
    "parse_stamps",
    "plural",
    "read_yaml_mapping",
    "register_alias_target",
    "resolve_instrument_path",
]
