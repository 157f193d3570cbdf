"""Subscale and composite scores as platform formulas: REDCap ``calc`` fields and XLSForm ``calculate`` rows.

``sdt-survey export --with-scores`` adds one formula per subscale and
composite, so the platform shows each score as answers come in. Each formula
computes exactly what :func:`sdt_survey.score` computes on the same answers
(``tests/test_score_formulas.py`` checks both on many answer patterns):

* an item counts as answered when it holds a value that is not blank, not a
  missing code and not one of its scale's non-substantive choices (don't
  know: scored as missing);
* a reverse-keyed item is scored ``min + max - x`` (``(6-[x])`` on a 1-5 scale);
* a subscale's ``mean`` is the mean of its answered items when at least
  ``min_valid`` of them are answered, else blank; ``sum`` is that mean times
  the number of items (a prorated sum);
* a composite is the mean or sum of its subscales, blank when any is blank.

REDCap's own ``mean()`` and ``sum()`` skip blanks but not a "don't know"
code and know nothing of ``min_valid``, so the formulas count answered items
themselves: ``if(count >= min_valid, total / count, "")``.

Examples
--------
>>> import sdt_survey
>>> inst = sdt_survey.parse_instrument('''
... schema_version: 1
... id: tiny
... version: "0.1.0"
... scales:
...   agree: {values: [1, 2, 3], labels: [No, Maybe, Yes]}
... items:
...   - {id: a, text: One., scale: agree}
...   - {id: b, text: Two., scale: agree, reverse: true}
... subscales:
...   both: {items: [a, b], min_valid: 1}
... ''')
>>> print(redcap_formula(inst, "both"))  # doctest: +NORMALIZE_WHITESPACE
if((if(isblankormissingcode([a]), 0, 1) + if(isblankormissingcode([b]), 0, 1)) >= 1,
(if(isblankormissingcode([a]), 0, [a]) + if(isblankormissingcode([b]), 0, (4 - [b])))
/ (if(isblankormissingcode([a]), 0, 1) + if(isblankormissingcode([b]), 0, 1)), "")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import SdtSurveyError
from ..instrument import Instrument, Item, code_text


@dataclass(frozen=True)
class _Dialect:
    """How one platform writes the pieces of a formula."""

    ref: Callable[[str], str]  # the value of a field
    number: Callable[[str], str]  # that value as a number
    blank: Callable[[str], str]  # "the field holds no answer"
    equals: Callable[[str, str], str]  # the field holds this code
    either: str  # "or"
    divide: str  # "/" or "div"
    empty: str  # the blank result


REDCAP = _Dialect(
    ref=lambda name: f"[{name}]",
    number=lambda name: f"[{name}]",
    blank=lambda name: f"isblankormissingcode([{name}])",
    equals=lambda name, code: f"[{name}] = '{code}'",
    either="or",
    divide="/",
    empty='""',
)

XLSFORM = _Dialect(
    ref=lambda name: f"${{{name}}}",
    number=lambda name: f"number(${{{name}}})",
    blank=lambda name: f"string-length(${{{name}}}) = 0",
    equals=lambda name, code: f"${{{name}}} = '{code}'",
    either="or",
    divide="div",
    empty="''",
)


def _not_answered(item: Item, dialect: _Dialect, code_of: Callable[[object], str]) -> str:
    """The condition under which ``item`` does not count: blank, or a non-substantive choice."""
    parts = [dialect.blank(item.id)]
    if item.scale is not None:
        parts += [dialect.equals(item.id, code_of(choice.value)) for choice in item.scale.nonsubstantive]
    return f" {dialect.either} ".join(parts)


def _keyed(item: Item, dialect: _Dialect) -> str:
    if not item.reverse:
        return dialect.number(item.id)
    low, high = item.value_range
    return f"({code_text(low + high)} - {dialect.number(item.id)})"  # type: ignore[operator]


def _subscale(
    instrument: Instrument, subscale_id: str, dialect: _Dialect, code_of: Callable[[object], str]
) -> str:
    sub = instrument.subscales[subscale_id]
    items = instrument.subscale_items(subscale_id)
    missing = [_not_answered(item, dialect, code_of) for item in items]
    count = "(" + " + ".join(f"if({m}, 0, 1)" for m in missing) + ")"
    values = [f"if({m}, 0, {_keyed(item, dialect)})" for m, item in zip(missing, items, strict=True)]
    total = "(" + " + ".join(values) + ")"
    score = f"{total} {dialect.divide} {count}"
    if sub.method == "sum":
        score = f"{score} * {len(items)}"
    return f"if({count} >= {sub.min_items}, {score}, {dialect.empty})"


def _composite(instrument: Instrument, composite_id: str, dialect: _Dialect) -> str:
    comp = instrument.composites[composite_id]
    blank = f" {dialect.either} ".join(dialect.blank(s) for s in comp.of)
    total = " + ".join(dialect.number(s) for s in comp.of)
    value = f"({total})" if comp.method == "sum" else f"({total}) {dialect.divide} {len(comp.of)}"
    return f"if({blank}, {dialect.empty}, {value})"


def _formula(
    instrument: Instrument, score_id: str, dialect: _Dialect, code_of: Callable[[object], str]
) -> str:
    if score_id in instrument.subscales:
        return _subscale(instrument, score_id, dialect, code_of)
    if score_id in instrument.composites:
        return _composite(instrument, score_id, dialect)
    raise SdtSurveyError(f"{instrument.id} has no subscale or composite {score_id!r}")


def redcap_formula(
    instrument: Instrument, score_id: str, code_of: Callable[[object], str] = code_text
) -> str:
    """The REDCap ``calc`` equation of a subscale or composite of ``instrument``.

    ``code_of`` writes a choice code as the dictionary does (REDCap codes take
    no ``-`` or ``.``).
    """
    return _formula(instrument, score_id, REDCAP, code_of)


def xlsform_formula(instrument: Instrument, score_id: str) -> str:
    """The XLSForm ``calculation`` (XPath) of a subscale or composite of ``instrument``.

    Examples
    --------
    >>> import sdt_survey
    >>> bpn = sdt_survey.load_instrument("bpn-residency")
    >>> xlsform_formula(bpn, "autonomy_satisfaction").startswith("if((if(string-length(${as1}) = 0, 0, 1)")
    True
    """
    return _formula(instrument, score_id, XLSFORM, code_text)


def score_fields(instrument: Instrument, language: str | None = None) -> list[tuple[str, str]]:
    """The ``(score id, label)`` of every subscale and composite, in the order scores are written.

    Examples
    --------
    >>> import sdt_survey
    >>> score_fields(sdt_survey.load_instrument("program-belonging"))
    [('program_belonging', 'Program belonging')]
    """
    out = []
    for score_id, entry in (*instrument.subscales.items(), *instrument.composites.items()):
        out.append((score_id, entry.label.get(language) if entry.label is not None else score_id))
    return out


__all__ = ["redcap_formula", "score_fields", "xlsform_formula"]
