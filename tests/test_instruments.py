"""The bundled instruments and the Instrument model."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

import sdt_survey
from sdt_survey.instrument import min_items_required, parse_instrument

BUNDLED = ["bpn-residency", "bpnsfs-keys", "continuity-exposure", "learning-climate", "program-belonging"]


def test_bundled_instruments_are_listed_and_valid():
    bundled = sdt_survey.bundled_instruments()
    assert sorted(bundled) == BUNDLED
    for name, path in bundled.items():
        instrument, problems = sdt_survey.check_instrument(path)
        assert instrument is not None, [str(p) for p in problems]
        assert problems == [], [str(p) for p in problems]
        assert instrument.id == name


def test_bpn_residency_structure_matches_the_reference_data():
    bpn = sdt_survey.load_instrument("bpn-residency")
    order = [f"{s}{j}" for j in range(1, 5) for s in ("as", "af", "rs", "rf", "cs", "cf")]
    assert bpn.item_ids == order
    assert bpn.reverse_keyed == ["as4", "rs4", "cs4"]
    assert bpn.languages == ("en", "es")
    expected = {
        "autonomy_satisfaction": "as",
        "autonomy_frustration": "af",
        "relatedness_satisfaction": "rs",
        "relatedness_frustration": "rf",
        "competence_satisfaction": "cs",
        "competence_frustration": "cf",
    }
    assert list(bpn.subscales) == list(expected)
    for sub_id, prefix in expected.items():
        sub = bpn.subscales[sub_id]
        assert sub.items == tuple(f"{prefix}{j}" for j in range(1, 5))
        assert (sub.method, sub.min_items) == ("mean", 3)
    assert bpn.composites["need_satisfaction"].of == (
        "autonomy_satisfaction",
        "relatedness_satisfaction",
        "competence_satisfaction",
    )
    assert bpn.composites["need_frustration"].of == (
        "autonomy_frustration",
        "relatedness_frustration",
        "competence_frustration",
    )
    for item in bpn.items:
        assert item.type == "likert" and item.scale.values == (1, 2, 3, 4, 5)
        assert item.text.get("en") and item.text.get("es")
        assert item.text.get("en") != item.text.get("es")


def test_bpnsfs_keys_follow_the_published_key():
    keys = sdt_survey.load_instrument("bpnsfs-keys")
    assert keys.is_proprietary
    assert keys.items_without_text == [f"bpnsfs_{i:02d}" for i in range(1, 25)]
    start = {
        "autonomy_satisfaction": 1,
        "autonomy_frustration": 2,
        "relatedness_satisfaction": 3,
        "relatedness_frustration": 4,
        "competence_satisfaction": 5,
        "competence_frustration": 6,
    }
    for sub_id, first in start.items():
        assert keys.subscales[sub_id].items == tuple(f"bpnsfs_{first + 6 * k:02d}" for k in range(4))
    assert keys.reverse_keyed == []


def test_continuity_exposure_branching():
    ce = sdt_survey.load_instrument("continuity-exposure")
    gated = ce.item("halfdays_with_preceptor")
    assert gated.show_if.to_text() == "has_usual_preceptor == 1 and clinic_halfdays_4wk > 0"
    assert (gated.type, gated.min, gated.max) == ("integer", 0, 40)
    assert ce.item("has_usual_preceptor").type == "single"
    assert [s.id for s in ce.sections] == ["clinic", "perceived"]
    assert len(ce.reverse_keyed) == 1 and ce.reverse_keyed[0].startswith("pcs")


@pytest.mark.parametrize("name", ["learning-climate", "program-belonging"])
def test_short_scales_have_a_reverse_keyed_item(name):
    instrument = sdt_survey.load_instrument(name)
    assert instrument.reverse_keyed
    assert len(instrument.subscales) == 1


def test_learning_climate_is_six_items_on_seven_points():
    lc = sdt_survey.load_instrument("learning-climate")
    assert len(lc.items) == 6
    assert {item.scale.values for item in lc.items} == {(1, 2, 3, 4, 5, 6, 7)}


def test_program_belonging_length():
    assert 5 <= len(sdt_survey.load_instrument("program-belonging").items) <= 8


@pytest.mark.parametrize("name", BUNDLED)
def test_to_dict_round_trips(name):
    original = sdt_survey.load_instrument(name)
    text = yaml.safe_dump(original.to_dict(), sort_keys=False, allow_unicode=True)
    again = parse_instrument(text, f"{name}.yaml")
    assert dataclasses.replace(again, source=None) == dataclasses.replace(original, source=None)


def test_to_frame_lists_every_item_in_display_order():
    frame = sdt_survey.load_instrument("continuity-exposure").to_frame()
    assert frame["item"].tolist()[:3] == [
        "has_usual_preceptor",
        "clinic_halfdays_4wk",
        "halfdays_with_preceptor",
    ]
    assert list(frame.columns) == [
        "item",
        "section",
        "type",
        "scale",
        "min",
        "max",
        "reverse",
        "required",
        "subscale",
        "show_if",
        "text",
    ]
    row = frame.set_index("item").loc["halfdays_with_preceptor"]
    assert (row["min"], row["max"], row["show_if"]) == (
        0,
        40,
        "has_usual_preceptor == 1 and clinic_halfdays_4wk > 0",
    )


def test_summary_names_keys_and_languages():
    text = sdt_survey.load_instrument("bpn-residency").summary()
    assert "languages: en, es (default en)" in text
    assert "as1, as2, as3, as4(R)" in text
    assert "needs 3 of 4 answered" in text
    spanish = sdt_survey.load_instrument("bpn-residency").summary("es")
    assert "Nada cierto" in spanish


def test_summary_refuses_an_unknown_language():
    with pytest.raises(sdt_survey.SdtSurveyError, match="its languages are en, es"):
        sdt_survey.load_instrument("bpn-residency").summary("fr")


@pytest.mark.parametrize(
    ("min_valid", "n_items", "expected"),
    [(None, 4, 4), (3, 4, 3), (0.75, 4, 3), (0.75, 6, 5), (0.5, 5, 3), (1.0, 7, 7), (0.01, 4, 1)],
)
def test_min_items_required(min_valid, n_items, expected):
    assert min_items_required(min_valid, n_items) == expected


def test_items_without_sections_form_one_section(valid_text):
    text = valid_text.split("sections:")[0] + "subscales:" + valid_text.split("subscales:")[1]
    instrument = parse_instrument(text)
    assert [s.id for s in instrument.sections] == ["main"]
    assert instrument.display_order == ["q1", "q2", "gate", "count"]


def test_required_defaults(valid_text):
    instrument = parse_instrument(valid_text)
    assert instrument.item("q1").required is True
    assert instrument.item("gate").required is False


def test_text_lookup(valid_text):
    instrument = parse_instrument(valid_text)
    assert str(instrument.item("q1").text) == "One"
    assert instrument.item("q1").text.get("es") == "Uno"
    with pytest.raises(sdt_survey.SdtSurveyError, match="this text has: en, es"):
        instrument.item("q1").text.get("de")


def test_scale_reverse_helpers(valid_text):
    scale = parse_instrument(valid_text).scales["agree"]
    assert (scale.min, scale.max, scale.midpoint, scale.is_symmetric) == (1, 5, 3.0, True)
    assert scale.label_for(4, "es") == "d"
