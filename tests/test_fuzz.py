"""A malformed instrument file never crashes the loader.

Hypothesis mutates the bundled definitions, both as text (characters and
lines) and as structure (any value replaced by any other), and checks that
loading either succeeds or fails with an InstrumentError whose problems are
located, never with another exception.
"""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdt_survey.errors import InstrumentError
from sdt_survey.instrument import BUNDLED_DIR, Instrument, parse_instrument

SOURCES = {path.stem: path.read_text(encoding="utf-8") for path in sorted(BUNDLED_DIR.glob("*.yaml"))}
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(text: str) -> Instrument | None:
    try:
        return parse_instrument(text, "fuzz.yaml")
    except InstrumentError as exc:
        assert exc.problems, "an InstrumentError must list its problems"
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml" and problem.message
        return None


junk = st.sampled_from([*list(":-[]{}&*!|>'\"#%@`,?\t\n "), "\\x", "é", "- ", ": ", "  ", "yes", "~", "0x1F"])


@st.composite
def text_mutations(draw):
    text = draw(st.sampled_from(sorted(SOURCES.values())))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "drop_line", "dup_line", "indent"]))
        position = draw(st.integers(0, max(0, len(text) - 1)))
        if kind == "insert":
            text = text[:position] + draw(junk) + text[position:]
        elif kind == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:position] + draw(junk) + text[position + 1 :]
        else:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "drop_line":
                del lines[i]
            elif kind == "dup_line":
                lines.insert(i, lines[i])
            else:
                lines[i] = "  " + lines[i]
            text = "".join(lines)
    return text


@FUZZ
@given(text_mutations())
def test_text_mutations_never_crash(text):
    _load(text)


values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-100, 100),
        st.floats(allow_nan=True),
        st.text(max_size=8),
        st.sampled_from(["as1", "truth5", "likert", "en", "mean", "a == 1", "es"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


@st.composite
def structure_mutations(draw):
    data = copy.deepcopy(yaml.safe_load(SOURCES[draw(st.sampled_from(sorted(SOURCES)))]))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "rename"]))
        if action == "replace" or isinstance(parent, list):
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        else:
            parent[draw(st.text(min_size=1, max_size=8))] = parent.pop(path[-1])
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@FUZZ
@given(structure_mutations())
def test_structure_mutations_never_crash_and_are_located(text):
    try:
        parse_instrument(text, "fuzz.yaml")
    except InstrumentError as exc:
        for problem in exc.problems:
            assert problem.line is not None, f"unlocated problem: {problem}"
