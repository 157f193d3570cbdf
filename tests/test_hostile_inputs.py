"""Broken or hostile input files end in a clear, located error (or the right answer), never a traceback.

Each test builds its file in ``tmp_path`` and drives the command line as a user
would; a traceback would surface as ``result.exception`` being something other
than the ``SystemExit`` of a clean exit.
"""

from __future__ import annotations

import json
import struct
import textwrap
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.errors import SdtSurveyError

INSTRUMENT = textwrap.dedent(
    """\
    schema_version: 1
    id: mini
    version: "1.0.0"
    title: Mini
    scales:
      agree:
        values: [1, 2, 3, 4, 5]
        labels: [Strongly disagree, Disagree, Neutral, Agree, Strongly agree]
    items:
      - id: q1
        text: I feel at home here.
        scale: agree
      - id: q2
        text: I am valued here.
        scale: agree
      - id: q3
        text: I would choose this again.
        scale: agree
    subscales:
      home:
        items: [q1, q2, q3]
        method: mean
    """
)
ITEMS = ["q1", "q2", "q3"]


def run(*args: object):
    """Invoke the CLI; fail the test on a traceback (any exception but SystemExit)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback instead of a message: {result.exception!r}") from result.exception
    return result


def refused(*args: object):
    result = run(*args)
    assert result.exit_code in (1, 2), result.output
    return result


@pytest.fixture
def instrument(tmp_path: Path) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(INSTRUMENT, encoding="utf-8")
    return path


def write_instrument(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------- YAML control characters


@pytest.mark.parametrize(
    ("character", "name"),
    [("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x7f", "U+007F (DEL)"), ("\x85", "U+0085")],
)
def test_validate_locates_a_raw_control_character(tmp_path: Path, character: str, name: str) -> None:
    path = write_instrument(tmp_path, INSTRUMENT.replace("at home here", f"at{character} home here"))
    result = refused("validate", path)
    # items[0].text is on line 11; "    text: I feel at" puts the character in column 20.
    assert f"{path}:11:20: the control character {name}" in result.output


def test_validate_reports_every_control_character_not_just_the_first(tmp_path: Path) -> None:
    text = INSTRUMENT.replace("at home", "at\x00 home").replace("valued", "val\x07ued")
    result = refused("validate", write_instrument(tmp_path, text))
    assert ":11:" in result.output and ":14:" in result.output and "U+0007 (BEL)" in result.output


def test_control_character_written_as_an_escape_is_refused_at_its_field(tmp_path: Path) -> None:
    text = INSTRUMENT.replace("text: I am valued here.", 'text: "I am\\x07 valued"').replace(
        "Strongly agree]", '"Strongly\\e agree"]'
    )
    result = refused("validate", write_instrument(tmp_path, text))
    assert "items[1].text: the text holds the control character U+0007 (BEL)" in result.output
    assert "scales.agree.labels[4]: the text holds the control character U+001B (ESC)" in result.output


@pytest.mark.parametrize("command", ["export", "score"])
def test_export_and_score_refuse_an_instrument_with_a_nul(tmp_path: Path, command: str) -> None:
    path = write_instrument(tmp_path, INSTRUMENT.replace("valued", "val\x00ued"))
    responses = tmp_path / "r.csv"
    responses.write_text("q1,q2,q3\n1,2,3\n", encoding="utf-8")
    args = (
        ["export", path, "--to", "redcap", "--out", tmp_path / "dict.csv"]
        if command == "export"
        else ["score", path, responses, "--out", tmp_path / "s.csv"]
    )
    result = refused(*args)
    assert f"{path}:14:" in result.output and "U+0000 (NUL)" in result.output
    assert not (tmp_path / "dict.csv").exists() and not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("option", ["--map", "--zscores", "--texts"])
def test_side_file_with_a_control_character_is_located(tmp_path: Path, instrument: Path, option: str) -> None:
    side = tmp_path / "side.yaml"
    side.write_text("columns:\n  Q1\x01: q1\n", encoding="utf-8")
    responses = tmp_path / "r.csv"
    responses.write_text("Q1,q2,q3\n1,2,3\n", encoding="utf-8")
    if option == "--texts":
        args = ["export", instrument, "--to", "redcap", "--texts", side, "--out", tmp_path / "d.csv"]
    else:
        args = ["score", instrument, responses, option, side, "--out", tmp_path / "s.csv"]
    result = refused(*args)
    assert f"{side}:2:5: the control character U+0001 (SOH)" in result.output


def test_a_character_yaml_cannot_hold_is_located(tmp_path: Path) -> None:
    result = refused("validate", write_instrument(tmp_path, INSTRUMENT.replace("valued", "val\ufffeued")))
    assert ":14:" in result.output and "U+FFFE" in result.output


# ------------------------------------------------------------------------ YAML merge keys

MERGED = textwrap.dedent(
    """\
    schema_version: 1
    id: mini
    version: "1.0.0"
    scales:
      agree: {values: [1, 2, 3], labels: [No, Maybe, Yes]}
      often: {values: [1, 2, 3], labels: [Never, Sometimes, Often]}
    x-defaults:
      agreeing: &agreeing {scale: agree, required: false}
      reversed: &reversed {reverse: true, scale: often}
    items:
      - <<: *agreeing
        id: q1
        text: One.
      - <<: *agreeing
        id: q2
        text: Two.
        scale: often
      - id: q3
        <<: [*reversed, *agreeing]
        text: Three.
    subscales:
      all: {items: [q1, q2, q3], method: mean}
    """
)


def test_merge_key_with_an_overriding_key_works_as_yaml_specifies(tmp_path: Path) -> None:
    path = write_instrument(tmp_path, MERGED)
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    inst = sdt_survey.load_instrument(path)
    q1, q2, q3 = (inst.item(i) for i in ("q1", "q2", "q3"))
    assert (q1.scale.id, q1.required, q1.reverse) == ("agree", False, False)  # merged keys fill in
    assert (q2.scale.id, q2.required) == ("often", False)  # the explicit key wins, wherever it stands
    assert (q3.scale.id, q3.reverse, q3.required) == ("often", True, False)  # in a list, the first wins


def test_problem_in_a_merged_item_points_at_the_explicit_key(tmp_path: Path) -> None:
    path = write_instrument(
        tmp_path, MERGED.replace("    scale: often\n  - id: q3", "    scale: nope\n  - id: q3")
    )
    result = refused("validate", path)
    assert f"{path}:17:12: items[1].scale: unknown scale 'nope'" in result.output


def test_merge_key_still_refuses_a_repeated_explicit_key(tmp_path: Path) -> None:
    path = write_instrument(tmp_path, MERGED.replace("    text: One.\n", "    text: One.\n    text: Uno.\n"))
    result = refused("validate", path)
    assert "duplicate key 'text'" in result.output


# ------------------------------------------------------------------------------- JSON


def records(n: int = 3) -> list[dict]:
    return [{"resident": f"R{i}", "q1": 3, "q2": 4, "q3": 2} for i in range(1, n + 1)]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_jsonl_is_refused_with_its_line(tmp_path: Path, instrument: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = '{"resident": "R9", "q1": ' + opening * 100_000 + "1" + closing * 100_000 + "}"
    path = write_jsonl(tmp_path / "r.jsonl", [*map(json.dumps, records(2)), deep])
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}:3: the JSON is nested too deeply" in result.output


def test_deeply_nested_json_file_is_refused(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "nested too deeply" in refused("score", instrument, path, "--out", tmp_path / "s.csv").output


def test_object_as_a_cell_value_is_refused_naming_line_and_key(tmp_path: Path, instrument: Path) -> None:
    bad = {**records(1)[0], "resident": "R9", "q2": {"value": 4}}
    path = write_jsonl(tmp_path / "r.jsonl", [*map(json.dumps, records(2)), json.dumps(bad)])
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}:3: key 'q2' holds a JSON object" in result.output


def test_object_in_a_json_list_is_refused_naming_the_record(tmp_path: Path, instrument: Path) -> None:
    data = records(3)
    data[1]["clinic"] = [[1]]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}: record 2: key 'clinic' holds a list of lists or objects" in result.output


def test_list_as_a_cell_value_is_an_invalid_cell_not_a_crash(tmp_path: Path, instrument: Path) -> None:
    bad = {**records(1)[0], "resident": "R9", "q1": [1, 2]}
    path = write_jsonl(tmp_path / "r.jsonl", [*map(json.dumps, records(2)), json.dumps(bad)])
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert "row 3 q1: '1 2' is not a code or label" in result.output


def test_five_thousand_digit_number_is_an_invalid_cell(tmp_path: Path, instrument: Path) -> None:
    huge = '{"resident": "R9", "q1": ' + "9" * 5000 + ', "q2": 4, "q3": 2}'
    path = write_jsonl(tmp_path / "r.jsonl", [*map(json.dumps, records(2)), huge])
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert (
        "row 3 q1: 999999999999999999999999...99999999 (5,000 characters) is not a value of scale agree"
        in (result.output)
    )
    assert "9" * 100 not in result.output  # named, not printed whole
    # ...and set to missing on request, the other answers scored as usual.
    result = run("score", instrument, path, "--invalid", "as-missing", "--out", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(tmp_path / "s.csv")
    assert scores["resident"].tolist() == ["R1", "R2", "R9"]
    assert scores["home"].iloc[:2].tolist() == [3.0, 3.0]


def test_key_repeated_in_a_record_is_refused_not_last_one_wins(tmp_path: Path, instrument: Path) -> None:
    path = write_jsonl(
        tmp_path / "r.jsonl", [json.dumps(records(1)[0]), '{"resident": "R2", "q1": 1, "q1": 5}']
    )
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}:2: the key 'q1' appears twice in one object" in result.output


# ---------------------------------------------------------------------------- Parquet


def parquet_with(tmp_path: Path, clinic) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(clinic)
    table = pa.table(
        {"resident": [f"R{i}" for i in range(n)], **{q: [3] * n for q in ITEMS}, "clinic": clinic}
    )
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    return path


def test_parquet_binary_column_with_latin1_bytes_is_refused_naming_column_and_row(
    tmp_path: Path, instrument: Path
) -> None:
    import pyarrow as pa

    path = parquet_with(tmp_path, pa.array([b"North", b"North", b"Cl\xednica"], type=pa.binary()))
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}: column 'clinic', row 3: the value is not UTF-8 text" in result.output


def test_parquet_string_column_with_invalid_utf8_is_refused(tmp_path: Path, instrument: Path) -> None:
    import pyarrow as pa

    raw = pa.array([b"North", b"\xff\xfe"], type=pa.binary())
    invalid_strings = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())
    path = parquet_with(tmp_path, invalid_strings)
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert "column 'clinic', row 2: the value is not UTF-8 text" in result.output


def test_parquet_binary_column_of_utf8_is_read_as_text(tmp_path: Path, instrument: Path) -> None:
    import pyarrow as pa

    path = parquet_with(tmp_path, pa.array(["Clínica".encode(), b"North"], type=pa.binary()))
    responses = sdt_survey.read_responses(path, instrument)
    assert responses.frame["clinic"].tolist() == ["Clínica", "North"]


def test_parquet_keeps_what_pandas_saved(tmp_path: Path, instrument: Path) -> None:
    frame = pd.DataFrame(
        {"resident": ["R1", "R2"], **{q: [3, 4] for q in ITEMS}, "program": pd.Categorical(["a", "b"])},
        index=[10, 20],
    )
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    read = sdt_survey.read_responses(path, instrument).frame
    assert "__index_level_0__" not in read.columns  # the saved index is an index, not a column
    assert isinstance(read["program"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("content", [b"", b"PAR1 not really parquet"])
def test_damaged_parquet_is_named(tmp_path: Path, instrument: Path, content: bytes) -> None:
    path = tmp_path / "r.parquet"
    path.write_bytes(content)
    assert (
        f"{path}: cannot read as Parquet"
        in refused("score", instrument, path, "--out", tmp_path / "s.csv").output
    )


def test_parquet_with_a_repeated_or_nested_column_is_refused(tmp_path: Path, instrument: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    repeated = tmp_path / "repeated.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([3]), pa.array([4])], names=["q1", "q1"]), repeated)
    result = refused("score", instrument, repeated, "--out", tmp_path / "s.csv")
    assert f"{repeated}: the column name 'q1' appears more than once" in result.output
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"q1": pa.array([[3], [4]]), "q2": [1, 2], "q3": [1, 2]}), nested)
    result = refused("score", instrument, nested, "--out", tmp_path / "s.csv")
    assert f"{nested}: column 'q1' holds list<element: int64> values" in result.output


# ---------------------------------------------------------------------- text encodings

HEADER = "resident,q1,q2,q3,clinic\n"


def clinic_rows(start: int, n: int) -> str:
    return "".join(f"R{i},3,4,2,Clínica\n" for i in range(start, start + n))


def test_csv_mixing_utf8_and_latin1_rows_is_refused_naming_both_lines(
    tmp_path: Path, instrument: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        HEADER.encode() + clinic_rows(1, 2).encode("utf-8") + clinic_rows(3, 2).encode("latin-1")
    )
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}:4: this line is not UTF-8, but line 2 is: the file mixes encodings" in result.output
    assert not (tmp_path / "s.csv").exists()


def test_stated_encoding_decides_and_a_wrong_one_is_located(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + clinic_rows(1, 3)).encode("cp1252"))
    result = run("score", instrument, path, "--encoding", "cp1252", "--out", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "s.csv")["clinic"].unique().tolist() == ["Clínica"]
    result = refused("score", instrument, path, "--encoding", "utf-8", "--out", tmp_path / "t.csv")
    assert f"{path}:2: byte 0xed is not valid utf-8" in result.output
    assert "unknown encoding 'klingon'" in refused("score", instrument, path, "--encoding", "klingon").output


def test_read_responses_takes_the_encoding(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        HEADER.encode() + clinic_rows(1, 1).encode("utf-8") + clinic_rows(2, 1).encode("latin-1")
    )
    with pytest.raises(SdtSurveyError, match="mixes encodings"):
        sdt_survey.read_responses(path, instrument)
    # Stated, the bytes are read as the user says (every row as Latin-1 here).
    frame = sdt_survey.read_responses(path, instrument, encoding="latin-1").frame
    assert frame["clinic"].tolist() == ["ClÃ\xadnica", "Clínica"]


def test_utf8_byte_order_mark_over_latin1_rows_is_refused(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + clinic_rows(1, 1).encode("latin-1"))
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}:2: the file starts with a UTF-8 byte-order mark but byte" in result.output


def test_form_response_whose_answers_are_not_an_object_is_named(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"format": "sdt-survey-response", "answers": [3, 4, 2]}), encoding="utf-8")
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}: a response of the HTML form has 'answers' that is not a JSON object" in result.output


def test_utf16_with_byte_order_mark_is_read(tmp_path: Path, instrument: Path) -> None:
    # Excel's "Unicode text" is UTF-16 with a byte-order mark, tab-separated.
    path = tmp_path / "r.txt"
    path.write_bytes((HEADER + clinic_rows(1, 2)).replace(",", "\t").encode("utf-16"))
    frame = sdt_survey.read_responses(path, instrument).frame
    assert frame["clinic"].tolist() == ["Clínica", "Clínica"]
    assert frame["q1"].tolist() == ["3", "3"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("r.csv", b"resident,q1\x00,q2\nR1,3,4\n", "holds NUL bytes, so it is not text"),
        ("r.csv", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "not text"),
        ("r.xlsx", b"PK\x03\x04 a damaged workbook", "cannot read as an Excel workbook"),
    ],
)
def test_file_that_is_not_what_its_name_says_is_named(
    tmp_path: Path, instrument: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert str(path) in result.output and expected in result.output


def test_folder_or_empty_sheet_given_as_responses_is_named(tmp_path: Path, instrument: Path) -> None:
    folder = tmp_path / "wave1.csv"
    folder.mkdir()
    assert (
        f"{folder}: a folder, not a file"
        in refused("score", instrument, folder, "--out", tmp_path / "s.csv").output
    )
    sheet = tmp_path / "r.xlsx"
    pd.DataFrame().to_excel(sheet, index=False)
    assert (
        f"{sheet}: the sheet is empty"
        in refused("score", instrument, sheet, "--out", tmp_path / "s.csv").output
    )


def test_unreadable_file_is_named_with_the_reason(
    tmp_path: Path, instrument: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = sdt_survey.load_instrument(instrument)
    path = tmp_path / "r.csv"
    path.write_text("q1,q2,q3\n1,2,3\n", encoding="utf-8")

    def forbidden(self: Path) -> bytes:  # chmod 000 does not stop root, who may run the tests
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", forbidden)
    with pytest.raises(SdtSurveyError, match=r"r\.csv: cannot read the file: Permission denied"):
        sdt_survey.read_responses(path, loaded)


def test_encoding_option_reaches_the_continuity_schedule(tmp_path: Path) -> None:
    path = tmp_path / "schedule.csv"
    rows = "".join(f"R1,Dr Nuñez,2026-01-{d:02d}\n" for d in range(1, 5))
    path.write_bytes(
        b"learner,faculty,date\n" + rows.encode("utf-8") + "R2,Dr Nuñez,2026-01-05\n".encode("latin-1")
    )
    result = refused("continuity", path, "--out", tmp_path / "c.csv")
    assert "mixes encodings" in result.output


def test_model_tables_are_decoded_like_responses(tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("resident,home\nR1,3.0\nR2,4.0\n", encoding="utf-8")
    exposure = tmp_path / "exposure.csv"
    exposure.write_bytes(
        b"resident,coc,clinic\n" + "R1,0.5,Clínica\n".encode() + "R2,0.7,Clínica\n".encode("latin-1")
    )
    args = [
        "model",
        "--scores",
        scores,
        "--exposure",
        exposure,
        "--id-column",
        "resident",
        "--formula",
        "home ~ coc",
    ]
    assert f"{exposure}:3: this line is not UTF-8, but line 2 is" in refused(*args).output
    exposure.write_bytes(b"resident,coc,clinic\n" + "R1,0.5,Clínica\nR2,0.7,Clínica\n".encode("latin-1"))
    assert sdt_survey.scoring.read_table(exposure)["clinic"].tolist() == ["Clínica", "Clínica"]


# ------------------------------------------------------------------------- zip bombs


def zip_of(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip built by hand: ``(name, deflated data, declared size, crc)``, so sizes can be forged."""
    local, central = b"", b""
    for name, data, size, crc in members:
        encoded = name.encode()
        offset = len(local)
        local += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0
        )
        local += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded),
            0, 0, 0, 0, 0, offset,
        ) + encoded  # fmt: skip
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return local + central + end


def deflated_zeros(mebibytes: int) -> bytes:
    """Raw deflate of ``mebibytes`` MiB of zeros, built from one repeated flushed block (fast)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mebibytes + compressor.flush()


def test_zip_bomb_is_refused_quickly_in_bounded_memory(tmp_path: Path, instrument: Path) -> None:
    data = deflated_zeros(2048)  # about 2 MB that expands to 2 GiB
    path = tmp_path / "study-data.zip"
    path.write_bytes(zip_of([("responses/activity_0.jsonld", data, 2**31, 0)]))
    assert path.stat().st_size < 3 * 2**20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "expands to 2,048 MiB" in result.output and "zip bomb" in result.output
    assert elapsed < 2.0
    assert peak < 64 * 2**20


def test_zip_member_whose_header_lies_is_refused_without_holding_it(tmp_path: Path) -> None:
    data = deflated_zeros(256)  # declares 100 bytes, holds 256 MiB
    path = tmp_path / "study-data.zip"
    path.write_bytes(zip_of([("activity_0.jsonld", data, 100, 0)]))
    tracemalloc.start()
    try:
        with pytest.raises(SdtSurveyError, match=r"activity_0\.jsonld: cannot read this member"):
            sdt_survey.export.reproschema.read_responses(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_zip_with_too_many_members_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdt_survey import _untrusted

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(30):
            archive.writestr(f"responses/activity_{i}.jsonld", b"[]")
    monkeypatch.setattr(_untrusted, "ZIP_LIMITS", _untrusted.ZipLimits(max_members=20))
    with pytest.raises(
        SdtSurveyError, match=r"holds 30 members \(more than 20\); refused as a possible zip bomb"
    ):
        sdt_survey.export.reproschema.read_responses(path)


def test_member_names_that_climb_out_are_read_not_extracted(tmp_path: Path) -> None:
    response = [
        {
            "@type": "reproschema:Response",
            "isAbout": "https://example.org/items/q1",
            "value": 4,
            "wasAttributedTo": {"@id": "uuid:1", "subject_id": "R01"},
        }
    ]
    inner = tmp_path / "inner"
    inner.mkdir()
    path = inner / "study-data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../escaped.jsonld", json.dumps(response))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    frame = sdt_survey.export.reproschema.read_responses(path)
    assert frame[["participant", "q1"]].to_dict("records") == [{"participant": "R01", "q1": 4}]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def test_file_named_zip_that_is_not_one_is_named(tmp_path: Path, instrument: Path) -> None:
    path = tmp_path / "study-data.zip"
    path.write_bytes(b"PK\x03\x04 cut short by a failed download")
    result = refused("score", instrument, path, "--out", tmp_path / "s.csv")
    assert f"{path}: not a zip archive" in result.output


def test_damaged_reproschema_json_is_located(tmp_path: Path) -> None:
    path = tmp_path / "activity_0.jsonld"
    path.write_bytes(b'[{"@type": "reproschema:Response", "value": "Cl\xednica"}]')
    with pytest.raises(SdtSurveyError, match=r"activity_0\.jsonld:1: not UTF-8 text"):
        sdt_survey.export.reproschema.read_responses(path)
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(SdtSurveyError, match=r"activity_0\.jsonld: the JSON is nested too deeply"):
        sdt_survey.export.reproschema.read_responses(path)


# ----------------------------------------------------------------- validate looks ahead


def test_validate_warns_of_a_label_redcap_would_refuse(tmp_path: Path) -> None:
    path = write_instrument(tmp_path, INSTRUMENT.replace("Neutral,", "Neither | nor,"))
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert (
        f"{path}:8:" in result.output
        and "scales.agree.labels[2]: warning: the label holds '|'" in result.output
    )
    assert refused("validate", path, "--strict").exit_code == 1
    # ...and the REDCap export does refuse it, as the warning says.
    assert refused("export", path, "--to", "redcap", "--out", tmp_path / "d.csv").exit_code == 1


def test_validate_warns_that_reliability_refuses_a_one_item_subscale(tmp_path: Path) -> None:
    extra_item = "  - id: q4\n    text: I belong here.\n    scale: agree\n"
    text = INSTRUMENT.replace("subscales:\n", extra_item + "subscales:\n") + "  alone:\n    items: [q4]\n"
    path = write_instrument(tmp_path, text)
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert (
        "subscales.alone.items: warning: a subscale of one item is scored, but `reliability`" in result.output
    )
    responses = tmp_path / "r.csv"
    rng = np.random.default_rng(3)
    answers = np.clip(np.rint(3 + rng.normal(size=(40, 1)) + 0.7 * rng.normal(size=(40, 4))), 1, 5)
    frame = pd.DataFrame(answers.astype(int), columns=[*ITEMS, "q4"])
    frame.to_csv(responses, index=False)
    assert "subscale 'alone' needs at least 2 item columns" in refused("reliability", path, responses).output


def test_reliability_of_subscales_sharing_an_item_is_a_message_not_a_crash(tmp_path: Path) -> None:
    path = write_instrument(tmp_path, INSTRUMENT + "  pair:\n    items: [q1, q2]\n")
    responses = tmp_path / "r.csv"
    rng = np.random.default_rng(3)
    answers = np.clip(np.rint(3 + rng.normal(size=(40, 1)) + 0.7 * rng.normal(size=(40, 3))), 1, 5)
    frame = pd.DataFrame(answers.astype(int), columns=ITEMS)
    frame.to_csv(responses, index=False)
    assert "an item appears in more than one group" in refused("reliability", path, responses).output


def test_an_encoding_name_with_a_nul_is_a_usage_error(tmp_path):
    data = tmp_path / "w.csv"
    data.write_text("resident,pb1\nR1,3\n", encoding="utf-8")
    args = ["score", "program-belonging", str(data), "--out", str(tmp_path / "o.csv"), "--encoding", "\x00"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "unknown encoding" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
