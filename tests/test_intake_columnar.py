"""The columnar CSV reader gives exactly what the pandas parser gave, on hostile files.

Delimited files are parsed by pyarrow's CSV reader (every cell as text, no
Python object per cell, no decoded copy of the file), falling back to the
pandas parser for files whose rows do not all have the header's fields.
These tests read each hostile file both ways (the columnar reader switched
off by monkeypatching) and require the same frame, the same scores and the
same data-quality report, cell for cell.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.responses import formats, read_responses

BPN = sdt_survey.load_instrument("bpn-residency")
ITEMS = list(BPN.item_ids)


def _rows(cells_of_row: list[list[str]], sep: str = ",", end: str = "\n") -> str:
    return end.join(sep.join(row) for row in cells_of_row) + end


def _body(n: int = 12) -> list[list[str]]:
    rng = np.random.default_rng(3)
    codes = rng.integers(1, 6, size=(n, len(ITEMS))).astype(str).astype(object)
    # Mixed codes: labels, spaces, decimals, missing tokens, invalid cells, wide Unicode.
    codes[0, 0] = "Strongly agree"
    codes[1, 1] = " 3 "
    codes[2, 2] = "4.0"
    codes[3, 3] = "NA"
    codes[4, 4] = ""
    codes[5, 5] = "9"
    codes[6, 6] = "三"
    codes[7, 7] = '"5"'
    codes[8, 8] = "x\u0301y"
    codes[9, 9] = "-1"
    rows = [["resident", "program", "note", *ITEMS]]
    notes = [
        '"a, b"',
        '"say ""hi"""',
        '"two\nlines"',
        "😀 emoji",
        "Ünïcödé",
        "'=1+1",
        "",
        " ",
        "ok",
        "é",
        "中文",
        "z",
    ]
    for i in range(n):
        rows.append([f"R{i:03d}", "P01" if i % 2 else "P02", notes[i % len(notes)], *codes[i]])
    return rows


HOSTILE = {
    "plain": (_rows(_body()), "utf-8"),
    "bom_crlf": ("\ufeff" + _rows(_body(), end="\r\n"), "utf-8"),
    "semicolon": (_rows(_body(), sep=";"), "utf-8"),
    "blank_lines": (_rows(_body()[:5]) + "\n\n" + _rows(_body()[5:]), "utf-8"),
    "trailing_separator": (_rows([[*r, ""] for r in _body()]), "utf-8"),
    "cp1252": (
        _rows(_body()).replace("😀", "").replace("三", "3").replace("中文", "zh").replace("\u0301", ""),
        "cp1252",
    ),
    "quoted_header": (_rows([[f'"{c}"' for c in _body()[0]], *_body()[1:]]), "utf-8"),
    "no_final_newline": (_rows(_body()).rstrip("\n"), "utf-8"),
}


def _write(tmp_path: Path, name: str) -> Path:
    text, encoding = HOSTILE[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _both(path: Path, monkeypatch, read):
    columnar = read(path)
    with monkeypatch.context() as patch:
        patch.setattr(formats, "_parse_columnar", lambda *args: None)
        previous = read(path)
    return columnar, previous


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_columnar_frame_is_the_pandas_frame(name, tmp_path, monkeypatch):
    path = _write(tmp_path, name)
    columnar, previous = _both(path, monkeypatch, lambda p: formats.read_csv(p, str(p)))
    pd.testing.assert_frame_equal(columnar.frame, previous.frame)
    assert columnar.notes == previous.notes


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_columnar_scores_and_report_are_unchanged(name, tmp_path, monkeypatch):
    path = _write(tmp_path, name)

    def scored(p):
        return sdt_survey.score(BPN, p, id_column="resident", invalid="as-missing", drift="warn")

    columnar, previous = _both(path, monkeypatch, scored)
    pd.testing.assert_frame_equal(columnar.scores, previous.scores)
    pd.testing.assert_frame_equal(columnar.report.issues, previous.report.issues)
    assert columnar.report.summary() == previous.report.summary()
    # Every faulty cell is reported with its row and column.
    invalid = previous.report.issues[previous.report.issues["severity"] == "error"]
    assert len(invalid) >= 3 and invalid["row"].notna().all() and invalid["column"].notna().all()


def test_blank_rows_are_numbered_as_before(tmp_path, monkeypatch):
    path = _write(tmp_path, "blank_lines")
    columnar, previous = _both(path, monkeypatch, lambda p: read_responses(p, BPN))
    assert columnar.blank_rows == previous.blank_rows == [6, 7]
    np.testing.assert_array_equal(columnar.rows, previous.rows)


@pytest.mark.parametrize("name", sorted(set(HOSTILE) - {"blank_lines"}))
def test_the_columnar_reader_reads_every_file_with_whole_rows(name, tmp_path, monkeypatch):
    parsed = []
    columnar = formats._parse_columnar
    monkeypatch.setattr(
        formats, "_parse_columnar", lambda *args: parsed.append(columnar(*args)) or parsed[-1]
    )
    formats.read_csv(_write(tmp_path, name), name)
    assert len(parsed) == 1 and parsed[0] is not None


def test_ragged_row_is_still_named_by_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("resident,as1\nR1,3\nR2,4,5\n")
    with pytest.raises(sdt_survey.SdtSurveyError, match=r"ragged.csv:3: this row has 3 fields"):
        formats.read_csv(path, str(path))


def test_reading_holds_no_python_object_per_cell(tmp_path):
    """Python-level allocations while reading 50,000 rows: the file's bytes and its text, no more."""
    n = 50_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.integers(1, 6, size=(n, len(ITEMS))), columns=ITEMS)
    frame.insert(0, "resident", [f"R{i:07d}" for i in range(n)])
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        table = formats.read_csv(path, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.frame.shape == (n, len(ITEMS) + 1)
    # The bytes and the decoded text are 2x; the pandas parser's Python object per cell made it 6.4x.
    # Arrow's own buffers are not traced: the whole-process figure is benchmarks/bench_intake.py's.
    assert peak < 2.5 * size, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
