"""Every kind of broken instrument file gets a located, actionable message."""

from __future__ import annotations

import re

import pytest

from sdt_survey import InstrumentError, check_instrument, load_instrument, parse_instrument
from tests.conftest import VALID


def broken(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the fixture"
    return text.replace(old, new)


def problems_of(text: str, write) -> list[str]:
    path = write(text)
    instrument, problems = check_instrument(path)
    assert instrument is None, "a broken file must not load"
    with pytest.raises(InstrumentError):
        load_instrument(path)
    return [str(p).replace(str(path), "tiny.yaml") for p in problems]


def test_fixture_is_valid(write):
    instrument, problems = check_instrument(write(VALID))
    assert instrument is not None and problems == []


CASES = {
    "unknown key": (
        "title: {en: Tiny",
        "titel: {en: Tiny",
        "tiny.yaml:4:1: titel: unknown key 'titel'; did you mean 'title'? (allowed here: "
        "schema_version, id, version, title, description, languages, citation, license, scales, "
        "items, sections, subscales, composites)",
    ),
    "wrong type": (
        "min: 0",
        "min: zero",
        "tiny.yaml:27:10: items[3].min: expected an integer, found a string ('zero')",
    ),
    "bad id": (
        "- id: q1",
        "- id: Q1",
        "tiny.yaml:13:9: items[0].id: invalid id 'Q1': lowercase letters, digits and '_', "
        "starting with a letter, at most 26 characters",
    ),
    "too long id": (
        "- id: q1",
        "- id: " + "q" * 27,
        "tiny.yaml:13:9: items[0].id: invalid id '" + "q" * 27 + "': lowercase letters, digits "
        "and '_', starting with a letter, at most 26 characters",
    ),
    "duplicate id": (
        "- id: q2",
        "- id: q1",
        "tiny.yaml:16:9: items[1].id: duplicate item id 'q1' (first defined on line 13)",
    ),
    "unknown scale": (
        "scale: agree\n  - id: q2",
        "scale: agre\n  - id: q2",
        "tiny.yaml:15:12: items[0].scale: unknown scale 'agre'; did you mean 'agree'? (defined: agree)",
    ),
    "reverse on non-likert": (
        "type: single",
        "type: single\n    reverse: true",
        "tiny.yaml:23:14: items[2].reverse: only likert items can be reverse-keyed; item 'gate' is single",
    ),
    "labels count": (
        ", {en: e, es: e}]",
        "]",
        "tiny.yaml:10:13: scales.agree.labels: 4 labels for 5 values; give one label per value",
    ),
    "missing translation": (
        "text: {en: One, es: Uno}",
        "text: {en: One}",
        "tiny.yaml:14:11: items[0].text: missing the 'es' translation",
    ),
    "plain string in a two-language instrument": (
        "text: {en: One, es: Uno}",
        "text: One",
        "tiny.yaml:14:11: items[0].text: missing translation for es: a plain string is the default "
        "language (en) only; write a map {en: ..., es: ...}",
    ),
    "undeclared language": (
        "text: {en: One, es: Uno}",
        "text: {en: One, es: Uno, fr: Un}",
        "tiny.yaml:14:30: items[0].text.fr: language 'fr' is not declared in 'languages' (en, es)",
    ),
    "min_valid larger than the subscale": (
        "min_valid: 1",
        "min_valid: 3",
        "tiny.yaml:41:16: subscales.both.min_valid: min_valid 3 is larger than the subscale's 2 items",
    ),
    "min_valid proportion out of range": (
        "min_valid: 1",
        "min_valid: 1.5",
        "tiny.yaml:41:16: subscales.both.min_valid: min_valid 1.5 is neither a whole number of items "
        "nor a proportion in (0, 1]",
    ),
    "item in no section": (
        "items: [gate, count]",
        "items: [gate]",
        "tiny.yaml:24:9: items[3].id: item 'count' is in no section; add it to a section's items",
    ),
    "item in two sections": (
        "items: [gate, count]",
        "items: [gate, count, q1]",
        "tiny.yaml:35:26: sections[1].items[2]: item 'q1' is already in section 'first' (line 33); "
        "an item belongs to one section",
    ),
    "show_if unknown item": (
        "show_if: gate == 1",
        "show_if: gat == 1",
        "tiny.yaml:29:14: items[3].show_if: show_if refers to unknown item 'gat'; did you mean 'gate'?",
    ),
    "show_if later item": (
        "reverse: true",
        "reverse: true\n    show_if: count > 0",
        "tiny.yaml:20:14: items[1].show_if: show_if refers to 'count', which is shown after 'q2'; "
        "branching may only depend on earlier items",
    ),
    "show_if syntax": (
        "show_if: gate == 1",
        "show_if: gate = 1",
        "tiny.yaml:29:14: items[3].show_if: cannot parse show_if: unexpected character '='; "
        "use '==' to test equality (at character 6 of 'gate = 1')",
    ),
    "show_if impossible choice": (
        "show_if: gate == 1",
        "show_if: gate == 2",
        "tiny.yaml:29:14: items[3].show_if: show_if compares 'gate' with 2, which is not one of its "
        "choice values (0, 1)",
    ),
    "show_if self reference": (
        "show_if: gate == 1",
        "show_if: count > 1",
        "tiny.yaml:29:14: items[3].show_if: show_if of 'count' refers to the item itself",
    ),
    "yaml syntax": (
        "values: [1, 2, 3, 4, 5]",
        "values: [1, 2, 3, 4, 5",
        "tiny.yaml:10:11: YAML syntax error: while parsing a flow sequence; expected ',' or ']', but got ':'",
    ),
    "duplicate key": (
        "scale: agree\n  - id: q2",
        "scale: agree\n    text: {en: x, es: x}\n  - id: q2",
        "tiny.yaml:16:5: items[0].text: duplicate key 'text' (first given on line 14)",
    ),
    "schema version": (
        "schema_version: 1",
        "schema_version: 2",
        "tiny.yaml:1:17: schema_version: schema_version 2 is not supported; this sdt-survey reads "
        "schema_version 1",
    ),
    "unquoted version": (
        'version: "0.1.0"',
        "version: 1.2",
        'tiny.yaml:3:10: version: the version must be a quoted semantic version such as "1.2.0", '
        "not the number 1.2",
    ),
    "not semver": (
        'version: "0.1.0"',
        'version: "v1"',
        "tiny.yaml:3:10: version: 'v1' is not a semantic version (MAJOR.MINOR.PATCH, e.g. \"1.2.0\")",
    ),
    "bad language tag": (
        "languages: [en, es]",
        "languages: [en, es, English]",
        "tiny.yaml:5:21: languages[2]: a string ('English') is not a language tag (e.g. en, es, fr-CA)",
    ),
    "likert without scale": (
        "scale: agree\n  - id: q2",
        "type: likert\n  - id: q2",
        "tiny.yaml:13:5: items[0]: item 'q1' is a likert item but names no scale",
    ),
    "single without choices": (
        "    choices: [{value: 1, label: {en: y, es: s}}, {value: 0, label: {en: n, es: n}}]\n",
        "",
        "tiny.yaml:20:5: items[2]: item 'gate' is a single item but lists no choices",
    ),
    "unknown type": (
        "type: integer",
        "type: interger",
        "tiny.yaml:26:11: items[3].type: unknown item type 'interger'; did you mean 'integer'? "
        "(one of likert, integer, number, slider, single, multiple, text, date)",
    ),
    "min above max": (
        "max: 10",
        "max: -1",
        "tiny.yaml:28:10: items[3].max: max (-1) is smaller than min (0)",
    ),
    "missing code is a value": (
        "missing_codes: {-99: skipped}",
        "missing_codes: {5: skipped}",
        "tiny.yaml:11:21: scales.agree.missing_codes[5]: missing code 5 is also a value of the scale",
    ),
    "duplicate choice value": (
        "{value: 0, label: {en: n, es: n}}",
        "{value: 1, label: {en: n, es: n}}",
        "tiny.yaml:23:58: items[2].choices[1].value: choice value 1 is used twice",
    ),
    "unknown alias target": (
        "type: integer",
        "type: integer\n    aliases: {qualtrix: Q4}",
        "tiny.yaml:27:15: items[3].aliases.qualtrix: unknown target 'qualtrix'; did you mean "
        "'qualtrics'? (one of redcap, qualtrics, xlsform, reproschema, html, spss)",
    ),
    "subscale of an unscored item": (
        "items: [q1, q2]\n    method",
        "items: [q1, q2, gate]\n    method",
        "tiny.yaml:39:21: subscales.both.items[2]: item 'gate' is single; only likert, integer, "
        "number, slider items can be scored",
    ),
    "subscale id is an item id": (
        "  both:\n",
        "  q1:\n",
        "tiny.yaml:37:3: subscales.q1: subscale id 'q1' is also an item id; scores and items share "
        "one table, so the names must differ",
    ),
    "composite of unknown subscale": (
        "{of: [both]",
        "{of: [bothh]",
        "tiny.yaml:43:18: composites.overall.of[0]: unknown subscale 'bothh'; did you mean 'both'?",
    ),
    "unknown subscale key": (
        "method: mean\n    min_valid",
        "mehtod: mean\n    min_valid",
        "tiny.yaml:40:5: subscales.both.mehtod: unknown key 'mehtod'; did you mean 'method'? "
        "(allowed here: label, items, method, min_valid)",
    ),
    "missing text": (
        "    text: {en: Two, es: Dos}\n",
        "",
        "tiny.yaml:16:5: items[1]: item 'q2' has no text; only an instrument with license: "
        "proprietary may leave item wording out",
    ),
    "reverse on a scale with gaps": (
        "values: [1, 2, 3, 4, 5]",
        "values: [1, 2, 3, 4, 7]",
        "tiny.yaml:19:14: items[1].reverse: scale 'agree' has gaps, so min + max - x would leave "
        "the scale; reverse keying needs evenly matched values",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_broken_file_gets_its_located_message(case, write):
    old, new, expected = CASES[case]
    assert expected in problems_of(broken(old, new), write)


def test_every_problem_is_reported_at_once(write):
    text = broken("min: 0", "min: zero")
    text = broken("title: {en: Tiny", "titel: {en: Tiny", text)
    text = broken("show_if: gate == 1", "show_if: gat == 1", text)
    messages = problems_of(text, write)
    assert len(messages) == 3
    # Sorted by position in the file.
    assert [m.split(":")[1] for m in messages] == ["4", "27", "29"]


def test_proprietary_instrument_may_omit_item_text(write):
    text = broken("license: CC-BY-4.0", "license: proprietary")
    text = broken("    text: {en: Two, es: Dos}\n", "", text)
    instrument = load_instrument(write(text))
    assert instrument.items_without_text == ["q2"]
    assert instrument.is_proprietary


def test_top_level_must_be_a_mapping(write):
    assert problems_of("- a\n- b\n", write) == [
        "tiny.yaml:1:1: an instrument file must be a mapping of keys, found a list"
    ]


def test_missing_required_keys(write):
    messages = problems_of("title: nothing else\n", write)
    for key in ("schema_version", "id", "version", "items"):
        assert f"tiny.yaml:1:1: missing required key {key!r}" in messages


def test_empty_file(write):
    assert problems_of("", write) == ["tiny.yaml:1:1: the file is empty"]
    assert problems_of("# only a comment\n", write) == ["tiny.yaml:1:1: the file is empty"]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("id: caf\xe9\n".encode("latin-1"))
    instrument, problems = check_instrument(path)
    assert instrument is None
    assert str(problems[0]) == f"{path}:1: the file is not UTF-8 text (byte 8); save it as UTF-8"


def test_yes_and_no_stay_strings(write):
    """YAML 1.1 would read the Norwegian tag `no` as false; we read YAML 1.2 booleans."""
    text = re.sub(r"\bes:", "no:", VALID.replace("languages: [en, es]", "languages: [en, no]"))
    text = text.replace("{en: Tiny, no: Diminuto}", "{en: Tiny, no: Liten}")
    instrument = parse_instrument(text)
    assert instrument.languages == ("en", "no")
    assert instrument.title.get("no") == "Liten"


def test_alias_bomb_is_refused(write):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    messages = problems_of("\n".join(lines) + "\n", write)
    assert any("expands to too many values" in m for m in messages)


def test_recursive_alias_is_reported(write):
    messages = problems_of("items: &loop [*loop]\n", write)
    assert any("an alias refers to the mapping or list that contains it" in m for m in messages)


def test_extension_keys_are_ignored(write):
    text = broken("license: CC-BY-4.0", "license: CC-BY-4.0\nx-owner: evaluation office")
    assert load_instrument(write(text)).id == "tiny"


def test_id_differs_from_file_name_is_a_warning(write):
    instrument, problems = check_instrument(write(VALID, name="other.yaml"))
    assert instrument is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "differs from the file name 'other.yaml'" in problems[0].message


def test_unknown_instrument_name_suggests_a_bundled_one():
    from sdt_survey import SdtSurveyError

    with pytest.raises(SdtSurveyError, match="Did you mean 'bpn-residency'"):
        load_instrument("bpn-residensy")
