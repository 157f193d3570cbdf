"""A large file scored a block of rows at a time writes what the whole-file path writes (issue 17).

``sdt-survey score`` streams a large plain CSV (:mod:`sdt_survey.scoring.streaming`):
the scores file, the data-quality report and the terminal text must be byte for
byte those of the whole-file path, for every kind of fault and every option it
takes; a run it does not take (an option, a file that reads differently, a
blocking error) must fall back to the whole-file path and give exactly what it
gives. Here the size threshold is lowered and the blocks made a few dozen rows
long, so that small files stream and every block boundary is crossed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.instrument.load import bundled_instruments
from sdt_survey.scoring import stream_read, streaming

BPN = sdt_survey.load_instrument("bpn-residency")
ITEMS = list(BPN.item_ids)
IDENTICAL = Path(__file__).parent / "data" / "intake_identical" / "responses.csv"


def _write_faulty(path: Path, n: int = 1500, seed: int = 5, wave: bool = True) -> Path:
    """Responses with every fault the streamed path meets: codes out of range, text, fractions, empty
    answers and rows, a blank line, repeated and missing ids, repeats across waves."""
    rng = np.random.default_rng(seed)
    lines = [",".join(["resident", "program", "pgy", *ITEMS, *(["wave"] if wave else [])])]
    for i in range(n):
        answers = [str(v) if rng.random() > 0.05 else "" for v in rng.integers(1, 6, len(ITEMS))]
        r = rng.random()
        if r < 0.02:
            answers[rng.integers(len(ITEMS))] = "7"
        elif r < 0.04:
            answers[rng.integers(len(ITEMS))] = "agree"
        elif r < 0.05:
            answers[rng.integers(len(ITEMS))] = "2.5"
        elif r < 0.06:
            answers = [""] * len(ITEMS)
        rid = f"R{i:05d}"
        if rng.random() < 0.02:
            rid = f"R{rng.integers(0, n):05d}"
        elif rng.random() < 0.01:
            rid = ""
        if i % 7 == 0:
            answers = ["3"] * len(ITEMS)  # straight-lining, for the careless flags
        cells = [rid, f"P{rng.integers(1, 9):02d}", str(rng.integers(1, 6)), *answers]
        if wave:
            cells.append(str(1 + (rng.random() < 0.1)))
        lines.append(",".join(cells))
        if i == n // 3:
            lines.append("," * (len(cells) - 1))  # a row of empty cells
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_blocks(monkeypatch):
    """Stream every file, in blocks of a few dozen rows."""
    monkeypatch.setattr(stream_read, "STREAM_BLOCK_BYTES", 2048)
    monkeypatch.setattr(stream_read, "STREAM_ROWS", 1)
    return monkeypatch


def _score(tmp_path: Path, monkeypatch, responses: Path, args: list[str], *, stream: bool, name: str):
    """Exit code, terminal text, scores and report bytes, and whether the run streamed."""
    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 0 if stream else 1 << 60)
    streamed = []
    original = streaming.score_streaming

    def recorded(*a, **k):
        result = original(*a, **k)
        streamed.append(result is not None)
        return result

    monkeypatch.setattr(streaming, "score_streaming", recorded)
    folder = tmp_path / name
    folder.mkdir()
    out, report = folder / "scores.csv", folder / "report.csv"
    result = CliRunner().invoke(
        cli, ["score", "bpn-residency", str(responses), "--out", str(out), "--report", str(report), *args]
    )
    text = result.output.replace(str(folder), "FOLDER")
    files = [p.read_bytes() if p.exists() else None for p in (out, report)]
    return result.exit_code, text, *files, any(streamed)


def _both(tmp_path, monkeypatch, responses, args):
    whole = _score(tmp_path, monkeypatch, responses, args, stream=False, name="whole")
    streamed = _score(tmp_path, monkeypatch, responses, args, stream=True, name="streamed")
    return whole, streamed


OPTIONS = [
    ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-all"],
    ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-first", "--flag-careless"],
    ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-last", "--include-items"],
    [
        "--id-column",
        "resident",
        "--invalid",
        "as-missing",
        "--wave-column",
        "wave",
        "--duplicates",
        "keep-all",
    ],
    ["--invalid", "as-missing", "--identifier", "program"],
    ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-all", "--keep-identifiers"],
    [
        "--id-column",
        "resident",
        "--invalid",
        "as-missing",
        "--duplicates",
        "keep-all",
        "--flag-careless",
        "--careless-threshold",
        "evenodd=0.5",
        "--drift",
        "warn",
    ],
]


@pytest.mark.parametrize("args", OPTIONS, ids=lambda a: " ".join(a[2:6]))
def test_streamed_files_and_text_are_the_whole_file_paths(tmp_path, small_blocks, args):
    responses = _write_faulty(tmp_path / "responses.csv")
    whole, streamed = _both(tmp_path, small_blocks, responses, args)
    assert streamed[4] and not whole[4], "the streamed run must stream, the other not"
    assert streamed[0] == whole[0] == 0, streamed[1]
    assert streamed[1] == whole[1]
    assert streamed[2] == whole[2]
    assert streamed[3] == whole[3]


def test_streamed_run_writes_the_recorded_bytes(tmp_path, small_blocks):
    """The file with every kind of fault (and a duration column) gives the bytes recorded before issue 17."""
    args = [
        "--id-column",
        "resident",
        "--invalid",
        "as-missing",
        "--duplicates",
        "keep-all",
        "--flag-careless",
    ]
    code, _, scores, report, streamed = _score(
        tmp_path, small_blocks, IDENTICAL, args, stream=True, name="streamed"
    )
    assert streamed and code == 0
    assert scores == (IDENTICAL.parent / "expected_scores.csv").read_bytes()
    assert report == (IDENTICAL.parent / "expected_report.csv").read_bytes()


def test_tsv_output_and_a_file_without_faults(tmp_path, small_blocks):
    rng = np.random.default_rng(2)
    rows = [",".join(["resident", *ITEMS])]
    rows += [",".join([f"R{i}", *map(str, rng.integers(1, 6, len(ITEMS)))]) for i in range(400)]
    responses = tmp_path / "clean.csv"
    responses.write_text("\n".join(rows) + "\n")
    for stream, name in ((False, "whole"), (True, "streamed")):
        small_blocks.setattr(streaming, "STREAM_MIN_BYTES", 0 if stream else 1 << 60)
        out = tmp_path / f"{name}.tsv"
        result = CliRunner().invoke(
            cli, ["score", "bpn-residency", str(responses), "--id-column", "resident", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "whole.tsv").read_bytes() == (tmp_path / "streamed.tsv").read_bytes()


@pytest.mark.parametrize("kind", ["invalid cells", "a repeated id"])
def test_a_blocking_error_is_the_whole_file_paths_error(tmp_path, small_blocks, kind):
    if kind == "invalid cells":
        responses = _write_faulty(tmp_path / "responses.csv")
    else:
        rng = np.random.default_rng(4)
        rows = [",".join(["resident", *ITEMS])]
        rows += [",".join([f"R{i % 290}", *map(str, rng.integers(1, 6, len(ITEMS)))]) for i in range(300)]
        responses = tmp_path / "responses.csv"
        responses.write_text("\n".join(rows) + "\n")
    whole, streamed = _both(tmp_path, small_blocks, responses, ["--id-column", "resident"])
    assert whole[0] == streamed[0] == 1
    assert streamed[1] == whole[1] and "no scores written" in whole[1]
    assert streamed[2] is None and whole[2] is None  # no scores
    assert streamed[3] == whole[3] is not None  # the full report, written by the whole-file path
    assert not streamed[4]


def test_an_existing_output_is_not_replaced_without_force(tmp_path, small_blocks):
    responses = _write_faulty(tmp_path / "responses.csv", n=300)
    small_blocks.setattr(streaming, "STREAM_MIN_BYTES", 0)
    out = tmp_path / "scores.csv"
    out.write_text("keep me\n")
    args = ["score", "bpn-residency", str(responses), "--invalid", "as-missing", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and out.read_text() == "keep me\n"
    result = CliRunner().invoke(cli, [*args, "--force"])
    assert result.exit_code == 0 and out.read_text().startswith("row,resident,program")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.csv", "scores.csv"]  # no temporary left


@pytest.mark.parametrize(
    "edit",
    ["apostrophe", "ragged", "blank line"],
)
def test_a_file_that_reads_differently_in_blocks_falls_back(tmp_path, small_blocks, edit):
    responses = _write_faulty(tmp_path / "responses.csv", n=400)
    lines = responses.read_text().splitlines()
    if edit == "apostrophe":
        lines[50] = lines[50].replace("P0", "P'0", 1)
    elif edit == "ragged":
        lines[60] += ",extra"
    else:
        lines.insert(70, "")
    responses.write_text("\n".join(lines) + "\n")
    args = ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-all"]
    whole, streamed = _both(tmp_path, small_blocks, responses, args)
    # A blank line is read by both parsers as a row of empty cells (a blank_line in the report): it streams.
    assert streamed[4] == (edit == "blank line")
    assert streamed[:4] == whole[:4]
    assert edit != "blank line" or b"blank_line" in whole[3]


def test_what_streams_is_decided_in_one_place(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 100)
    big = _write_faulty(tmp_path / "responses.csv", n=50)
    refusal = streaming.stream_refusal
    assert refusal([BPN], big, "s.csv") is None
    assert refusal([BPN], big, "s.tsv", "report.csv", id_column="resident", duplicates="keep-all") is None
    refused = {
        "parquet out": refusal([BPN], big, "s.parquet"),
        "json report": refusal([BPN], big, "s.csv", "report.json"),
        "excel in": refusal([BPN], tmp_path / "r.xlsx", "s.csv"),
        "zscores": refusal([BPN], big, "s.csv", zscores="sample"),
        "exclude": refusal([BPN], big, "s.csv", exclude_flagged=True),
        "pseudonyms": refusal([BPN], big, "s.csv", pseudonymize_key="k.key"),
        "mapping": refusal([BPN], big, "s.csv", mapping={"x": "as1"}),
        "platform": refusal([BPN], big, "s.csv", source="redcap"),
        "no id": refusal([BPN], big, "s.csv", duplicates="keep-all"),
        "bad policy": refusal([BPN], big, "s.csv", invalid="ignore"),
    }
    from sdt_survey.responses import text_encoding

    with text_encoding("cp1252"):
        refused["encoding"] = refusal([BPN], big, "s.csv")
    assert all(refused.values()), refused
    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 1 << 40)
    assert "smaller" in refusal([BPN], big, "s.csv")
    # An instrument with an item that is not a whole-number code (a slider, free text) is read whole.
    other = [
        inst
        for name in bundled_instruments()
        for inst in [sdt_survey.load_instrument(name)]
        if any(item.type not in ("likert", "single") for item in inst.items)
    ]
    assert other and "item" in refusal(other[:1], big, "s.csv")


def test_the_cli_streams_only_the_table_format(tmp_path, small_blocks):
    responses = _write_faulty(tmp_path / "responses.csv", n=200)
    args = ["--invalid", "as-missing", "--format", "json"]
    whole, streamed = _both(tmp_path, small_blocks, responses, args)
    assert not streamed[4] and streamed[:4] == whole[:4]


@pytest.mark.parametrize("buckets", [1, 3])
def test_ids_whose_hashes_collide_are_told_apart_exactly(tmp_path, small_blocks, buckets):
    """Repeated and distinct ids come from 64-bit hashes, confirmed on the exact ids: with every id
    hashed into one (or three) values, the streamed run still writes the whole-file path's bytes."""
    from sdt_survey.scoring import stream_ids

    real = stream_ids.text_hashes

    def colliding(values):
        return real(values) % np.uint64(buckets)

    small_blocks.setattr(stream_ids, "text_hashes", colliding)
    small_blocks.setattr(streaming, "text_hashes", colliding)
    responses = _write_faulty(tmp_path / "responses.csv", n=600)
    for args in (OPTIONS[1], OPTIONS[3]):
        folder = tmp_path / str(len(args))
        folder.mkdir()
        whole, streamed = _both(folder, small_blocks, responses, args)
        assert streamed[4] and streamed[0] == whole[0] == 0
        assert streamed[1:4] == whole[1:4]


def test_distinct_count_corrects_collisions():
    from sdt_survey.scoring.stream_ids import distinct_count

    column = pd.Series(["a", "b", "a", None, "c", "b", "d"])
    present = column.notna().to_numpy()
    for hashes in (np.zeros(7, dtype=np.uint64), np.array([1, 1, 1, 0, 2, 2, 1], dtype=np.uint64)):
        assert distinct_count(hashes, present, lambda at: column.iloc[at]) == column.nunique() == 4


def test_other_columns_are_typed_as_in_the_whole_file(tmp_path, small_blocks):
    """A column of numbers is typed over the whole file: a block where it is empty, or all whole numbers
    while another block holds a fraction, is written as the whole-file path writes it."""
    rng = np.random.default_rng(3)
    rows = [",".join(["resident", "pgy", "score0", "cohort", "site", *ITEMS])]
    for i in range(500):
        pgy = "" if i < 120 else str(rng.integers(1, 6))
        score0 = "2.5" if i == 400 else str(rng.integers(0, 9))
        cohort = "NA" if i < 200 else "2024"
        site = "007" if i == 450 else str(rng.integers(10, 20))  # a leading zero keeps it text
        answers = map(str, rng.integers(1, 6, len(ITEMS)))
        rows.append(",".join([f"R{i}", pgy, score0, cohort, site, *answers]))
    responses = tmp_path / "typed.csv"
    responses.write_text("\n".join(rows) + "\n")
    whole, streamed = _both(tmp_path, small_blocks, responses, ["--id-column", "resident"])
    assert streamed[4] and streamed[0] == whole[0] == 0, streamed[1]
    assert streamed[1:4] == whole[1:4]
    assert b",2.5," in streamed[2] and b",007," in streamed[2]


def test_distinct_ids_as_read_are_counted_as_the_whole_file_path_counts_them(tmp_path, small_blocks):
    """Identifier detection is told how many distinct ids the file holds as read (spaces, "NA" and
    empty ids included); the streamed run counts them from hashes without keeping the column."""
    rng = np.random.default_rng(8)
    rows = [",".join(["resident", "notes", *ITEMS])]
    ids = []
    for i in range(400):
        rid = [f"R{i % 250}", f" R{i % 250}", "NA", "", f"R{i % 250} "][int(rng.integers(0, 5))]
        ids.append(rid)
        rows.append(",".join([rid, f"note {i % 7}", *map(str, rng.integers(1, 6, len(ITEMS)))]))
    responses = tmp_path / "ids.csv"
    responses.write_text("\n".join(rows) + "\n")
    seen = []
    original = streaming.detect_identifier_columns

    def recorded(*a, **k):
        seen.append(k["respondents"])
        return original(*a, **k)

    small_blocks.setattr(streaming, "detect_identifier_columns", recorded)
    args = ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-all"]
    whole, streamed = _both(tmp_path, small_blocks, responses, args)
    assert streamed[4] and streamed[:4] == whole[:4]
    # One call for the declared columns, then one per column judged: each told the same count.
    assert len(seen) == 2 and set(seen) == {pd.Series(ids).nunique()}


def test_a_temporary_folder_without_room_falls_back_to_the_whole_file_path(tmp_path, small_blocks):
    """A full (or read-only) temporary folder stops the streamed run before it writes anything: the
    whole-file path, which needs no temporary file, scores the file with the same bytes; no traceback."""
    import tempfile

    responses = _write_faulty(tmp_path / "responses.csv")
    args = ["--id-column", "resident", "--invalid", "as-missing", "--duplicates", "keep-all"]
    whole = _score(tmp_path, small_blocks, responses, args, stream=False, name="whole")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    small_blocks.setattr(tempfile, "TemporaryFile", full)
    fallen = _score(tmp_path, small_blocks, responses, args, stream=True, name="fallen")
    assert not fallen[4], "the streamed run must give way"
    assert fallen[:4] == whole[:4]
    assert "Traceback" not in fallen[1]
