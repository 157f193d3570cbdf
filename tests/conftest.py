from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

# A small but complete instrument; tests break it one line at a time, so keep
# its line numbers stable (the error tests refer to them).
VALID = textwrap.dedent(
    """\
    schema_version: 1
    id: tiny
    version: "0.1.0"
    title: {en: Tiny, es: Diminuto}
    languages: [en, es]
    license: CC-BY-4.0
    scales:
      agree:
        values: [1, 2, 3, 4, 5]
        labels: [{en: a, es: a}, {en: b, es: b}, {en: c, es: c}, {en: d, es: d}, {en: e, es: e}]
        missing_codes: {-99: skipped}
    items:
      - id: q1
        text: {en: One, es: Uno}
        scale: agree
      - id: q2
        text: {en: Two, es: Dos}
        scale: agree
        reverse: true
      - id: gate
        text: {en: Gate, es: Puerta}
        type: single
        choices: [{value: 1, label: {en: y, es: s}}, {value: 0, label: {en: n, es: n}}]
      - id: count
        text: {en: Count, es: Cuenta}
        type: integer
        min: 0
        max: 10
        show_if: gate == 1
    sections:
      - id: first
        title: {en: First, es: Primero}
        items: [q1, q2]
      - id: second
        items: [gate, count]
    subscales:
      both:
        label: {en: Both, es: Ambos}
        items: [q1, q2]
        method: mean
        min_valid: 1
    composites:
      overall: {of: [both], method: mean}
    """
)


@pytest.fixture
def valid_text() -> str:
    return VALID


@pytest.fixture
def write(tmp_path: Path):
    """Write YAML text to a file named after the instrument and return its path."""

    def _write(text: str, name: str = "tiny.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
