"""The instrument fields real forms use: hint, identifier, slider, nonsubstantive, notes, ODK choice names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sdt_survey
from sdt_survey.errors import InstrumentError
from sdt_survey.instrument import parse_instrument

FIXTURE = Path(__file__).parent / "fixtures" / "form-fields.yaml"


@pytest.fixture()
def fields():
    return sdt_survey.load_instrument(FIXTURE)


def _doc(**changes):
    doc = yaml.safe_load(FIXTURE.read_text())
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


def _problems(doc) -> list[str]:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(yaml.safe_dump(doc, sort_keys=False), "form.yaml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems if p.severity == "error"]


def test_the_fields_load_into_the_model(fields):
    q1, energy, pace, site = (fields.item(i) for i in ("q1", "energy", "pace", "site"))
    assert str(q1.hint) == "Think of the last month."
    assert fields.identifier_items == ["email"]
    assert (energy.type, energy.min, energy.max, energy.step) == ("slider", 0, 100, 5)
    assert [str(a) for a in energy.anchors] == ["Exhausted", "Full of energy"]
    assert len(pace.anchors) == 3 and pace.step == 0.5
    assert energy.is_scored and energy.is_numeric and energy.value_range == (0, 100)
    assert [c.value for c in site.choices] == ["north-wing", "south.wing", "dont-know"]
    scale = fields.scales["agree5"]
    assert scale.choice_values == (1, 2, 3, 4, 5, 8, 9)
    assert scale.nonsubstantive_reasons == {8: "dont_know", 9: "refused"}
    section = fields.sections[0]
    assert [(kind, getattr(entry, "id", entry)) for kind, entry in section.layout()] == [
        ("item", "email"),
        ("note", "intro_note"),
        ("item", "q1"),
        ("item", "q2"),
        ("item", "energy"),
        ("item", "pace"),
        ("item", "site"),
        ("note", "thanks"),
    ]


def test_to_dict_round_trips_every_field(fields):
    again = parse_instrument(yaml.safe_dump(fields.to_dict(), sort_keys=False))
    assert again.to_dict() == fields.to_dict()
    assert again.content_hash() == fields.content_hash()
    assert again.item("energy").anchors == fields.item("energy").anchors
    assert again.sections[0].notes == fields.sections[0].notes


def test_the_hash_follows_meaning_not_wording(fields):
    base = fields.content_hash()
    reworded = _doc(items__1__hint="Another hint", sections__0__notes__0__text="Other words")
    assert parse_instrument(yaml.safe_dump(reworded)).content_hash() == base
    for change in (
        {"items__3__step": 10},
        {"items__0__identifier": None},
        {"scales__agree5__nonsubstantive__1": {"value": 9, "label": "No", "reason": "not_applicable"}},
    ):
        assert parse_instrument(yaml.safe_dump(_doc(**change))).content_hash() != base, change


def test_bundled_instruments_keep_their_hash():
    # The new fields enter the hash only when used: every existing export's stamp still matches.
    bpn = sdt_survey.load_instrument("bpn-residency")
    assert '"step"' not in sdt_survey.instrument.fingerprint.canonical_structure(bpn)
    assert "identifier" not in sdt_survey.instrument.fingerprint.canonical_structure(bpn)


def test_summary_shows_notes_hints_and_nonsubstantive_choices(fields):
    text = fields.summary()
    assert "note intro_note: The next questions" in text
    assert "hint: Think of the last month." in text
    assert "8 = Don't know (dont_know)" in text
    assert "slider 0..100 step 5" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"items__3__step": 7}, "items[3].step: the range 0 to 100 is not a whole number of steps of 7"),
        ({"items__3__step": 0}, "items[3].step: expected a positive number"),
        ({"items__3__max": None}, "items[3]: item 'energy' is a slider and needs 'max'"),
        ({"items__3__anchors": ["Only one"]}, "items[3].anchors: expected [left, right]"),
        ({"items__1__step": 1}, "items[1].step: 'step' applies to slider items, not likert"),
        ({"items__1__hint": 5}, "items[1].hint: expected a text"),
        ({"items__0__identifier": "yes"}, "items[0].identifier: expected true or false"),
        (
            {"scales__agree5__nonsubstantive__0": {"value": 3, "label": "DK", "reason": "dont_know"}},
            "scales.agree5.nonsubstantive[0].value: 3 is also a value of the scale",
        ),
        (
            {"scales__agree5__nonsubstantive__0": {"value": -99, "label": "DK", "reason": "dont_know"}},
            "scales.agree5.nonsubstantive[0].value: -99 is also one of the scale's missing_codes",
        ),
        (
            {"scales__agree5__nonsubstantive__1": {"value": 8, "label": "DK", "reason": "dont_know"}},
            "scales.agree5.nonsubstantive[1].value: non-substantive value 8 is used twice",
        ),
        (
            {"scales__agree5__nonsubstantive__0": {"value": 8, "label": "DK", "reason": "Don't know"}},
            "scales.agree5.nonsubstantive[0].reason: expected a reason such as dont_know",
        ),
        (
            {"scales__agree5__nonsubstantive__0": {"value": 8, "label": "DK"}},
            "scales.agree5.nonsubstantive[0]: missing required key 'reason'",
        ),
        (
            {"sections__0__notes__0": {"id": "n1", "text": "Hello", "before": "nothere"}},
            "sections[0].notes[0].before: 'before' must name an item of this section",
        ),
        (
            {"sections__0__notes__0": {"id": "q1", "text": "Hello"}},
            "sections[0].notes[0].id: note id 'q1' is also an item id",
        ),
        (
            {"sections__0__notes__1": {"id": "intro_note", "text": "Again"}},
            "sections[0].notes[1].id: duplicate note id 'intro_note'",
        ),
        (
            {"items__5__choices__0": {"value": "north wing", "label": "North"}},
            "items[5].choices[0].value: a choice value must be an integer or a name",
        ),
        (
            {"subscales__interest": {"items": ["q1", "email"]}},
            "subscales.interest.items[1]: item 'email' is text",
        ),
    ],
)
def test_bad_fields_are_located(change, expected):
    problems = _problems(_doc(**change))
    assert any(p.startswith(expected) for p in problems), problems


def test_an_identifier_cannot_be_scored():
    doc = _doc(items__0={"id": "email", "text": "Age", "type": "number", "identifier": True})
    doc["subscales"]["interest"]["items"].append("email")
    problems = _problems(doc)
    assert any("item 'email' is an identifier, which intake drops" in p for p in problems), problems


def test_show_if_may_compare_with_a_nonsubstantive_code():
    doc = _doc()
    doc["items"][2]["show_if"] = "q1 != 8"
    inst = parse_instrument(yaml.safe_dump(doc, sort_keys=False))
    assert inst.item("q2").show_if is not None
    doc["items"][2]["show_if"] = "q1 == 7"
    assert any("not a value of scale" in p for p in _problems(doc))
