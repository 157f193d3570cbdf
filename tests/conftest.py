from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

#: The reference data sets and R goldens, with the R scripts that made them (tests/data/reference/README.md).
REFERENCE = Path(__file__).resolve().parent / "data" / "reference"
#: Debian's chromium; browser tests never download a browser of their own.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

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


@pytest.fixture(scope="session")
def reference() -> Path:
    """The reference data sets and R goldens in tests/data/reference."""
    if not REFERENCE.is_dir():
        pytest.skip("tests/data/reference is missing")
    return REFERENCE


@pytest.fixture(scope="session")
def sdt_wave1_keyed(reference: Path) -> pd.DataFrame:
    """sdt-sim wave 1 with the reverse-worded items keyed (6 - x), as the R goldens use it."""
    data = pd.read_csv(reference / "sdt-sim" / "responses_w1.csv")
    for item in ("as4", "rs4", "cs4"):
        data[item] = 6 - data[item]
    return data


@pytest.fixture(scope="session")
def sdt_reference_json(reference: Path) -> dict:
    return json.loads((reference / "sdt-sim" / "reference.json").read_text())


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's chromium driven by Playwright (skips when either is missing)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright for Python (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def mini():
    """A small instrument for the privacy tests: two subscales, a composite and a free-text item."""
    from privacy_support import MINI

    import sdt_survey

    return sdt_survey.parse_instrument(MINI)
