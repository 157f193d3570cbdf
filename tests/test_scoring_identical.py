"""The fast scoring path gives what it gave before, byte for byte (issue 17).

The careless indices, subscale scores, keying audit and plain-number check run
a block of rows at a time, and the data-quality report is put in row order
once instead of table by table. None of that may change a number or a line:

- ``tests/data/intake_identical/`` holds a response file with every kind of
  fault (out-of-range codes, labels, fractions, text, blanks, an empty row, a
  repeated and a missing id) and the scores and report ``sdt-survey score``
  wrote for it before these changes; the command must write them again byte
  for byte, with the default block and with blocks of a few rows (so that
  every block boundary is crossed). One column was written again since:
  ``mahalanobis_p`` now comes from :mod:`sdt_survey.stats.special` (issue 15),
  not scipy, and differs from scipy's in the last bit or two, nearer the exact
  value (e.g. d² = 22.88002889559901 on 24 items: exact 0.526889385630341459…,
  ours ...3414, scipy's ...3412; ``tests/test_probability.py`` holds it to
  mpmath). Every other byte is the one the old code wrote;
- the report built at once must equal the report built table by table
  (values, dtypes, the type of every cell).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.responses import cells as cells_module
from sdt_survey.responses import issue_lines, responses_from_frame, validate_responses
from sdt_survey.scoring import careless, reverse_key, scores, subscale_scores
from sdt_survey.stats import keying

DATA = Path(__file__).parent / "data" / "intake_identical"
BPN = sdt_survey.load_instrument("bpn-residency")


def _small_blocks(monkeypatch: pytest.MonkeyPatch, rows: int = 7) -> None:
    """Blocks of a few rows, and the column-wise CSV writer on tables of any length."""
    from sdt_survey import _csv_text, _spreadsheet_safe

    monkeypatch.setattr(_spreadsheet_safe, "FAST_CSV_ROWS", 0)
    monkeypatch.setattr(_csv_text, "_CHUNK_ROWS", rows * 11)
    monkeypatch.setattr(careless, "ROW_BLOCK", rows)
    monkeypatch.setattr(careless, "TAIL_BLOCK", rows)
    monkeypatch.setattr(scores, "ROW_BLOCK", rows)
    monkeypatch.setattr(keying, "_ROW_BLOCK", rows)
    monkeypatch.setattr(cells_module, "_BLOCK", rows)


def _score_file(tmp_path: Path) -> tuple[bytes, bytes]:
    out, report = tmp_path / "scores.csv", tmp_path / "report.csv"
    result = CliRunner().invoke(
        cli,
        [
            "score",
            "bpn-residency",
            str(DATA / "responses.csv"),
            "--id-column",
            "resident",
            "--invalid",
            "as-missing",
            "--duplicates",
            "keep-all",
            "--flag-careless",
            "--out",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    return out.read_bytes(), report.read_bytes()


@pytest.mark.parametrize("blocks", ["default", "small"])
def test_score_writes_the_same_bytes_as_before(tmp_path, monkeypatch, blocks):
    """900 rows: pandas writes them by default; with small blocks the column-wise writer does."""
    if blocks == "small":
        _small_blocks(monkeypatch)
    written_scores, written_report = _score_file(tmp_path)
    assert written_scores == (DATA / "expected_scores.csv").read_bytes()
    assert written_report == (DATA / "expected_report.csv").read_bytes()


def _hostile(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 6, size=(n, len(BPN.item_ids))).astype(float)
    values[rng.random(values.shape) < 0.08] = np.nan
    values[::37] = 3.0  # straight-liners
    values[5] = np.nan  # an empty row
    frame = pd.DataFrame(values, columns=BPN.item_ids)
    frame["as1"] = frame["as1"].astype(object)
    frame.loc[::53, "as1"] = "x"  # not a code: a line per cell
    frame.loc[[9, 400], "rs4"] = 9.0
    frame.insert(0, "id", [f"r{i % (n - 4)}" for i in range(n)])  # four repeated ids
    frame.loc[17, "id"] = None
    return frame


def test_blocked_kernels_give_the_same_bits_as_one_block(monkeypatch):
    frame = _hostile()
    whole = sdt_survey.score(BPN, frame, id_column="id", invalid="as-missing", duplicates="keep-all")
    _small_blocks(monkeypatch, rows=13)
    blocked = sdt_survey.score(BPN, frame, id_column="id", invalid="as-missing", duplicates="keep-all")
    pd.testing.assert_frame_equal(whole.scores, blocked.scores, check_exact=True)
    pd.testing.assert_frame_equal(whole.keying, blocked.keying, check_exact=True)
    pd.testing.assert_frame_equal(whole.report.issues, blocked.report.issues, check_exact=True)


def test_subscale_scores_and_careless_indices_keep_item_order_sums():
    """Non-whole values (a number item): each row summed in item order, as numpy sums a row of the block."""
    rng = np.random.default_rng(2)
    keyed = pd.DataFrame(rng.normal(3, 1, size=(500, 24)), columns=BPN.item_ids)
    keyed[keyed > 4.2] = np.nan
    got = subscale_scores(keyed, [BPN])
    for sub in BPN.subscales.values():
        block = keyed[list(sub.items)].to_numpy()
        answered = ~np.isnan(block)
        with np.errstate(invalid="ignore"):
            mean = np.where(answered, block, 0.0).sum(axis=1) / answered.sum(axis=1)
        expected = np.where(answered.sum(axis=1) >= sub.min_items, mean, np.nan)
        assert np.array_equal(got[sub.id].to_numpy(), expected, equal_nan=True)
    indices = careless.careless_indices(keyed, reverse_key(keyed, [BPN]), [BPN])
    assert np.isfinite(indices["irv"]).sum() > 400


def test_the_report_built_at_once_equals_the_report_built_table_by_table(monkeypatch):
    frame = _hostile()
    options = {"id_column": "id", "invalid": "as-missing", "duplicates": "keep-first"}
    fast = validate_responses(responses_from_frame(frame, [BPN]), [BPN], **options).report.issues
    monkeypatch.setattr(issue_lines.IssueLines, "table", issue_lines.IssueLines.reference_table)
    plain = validate_responses(responses_from_frame(frame, [BPN]), [BPN], **options).report.issues
    assert len(fast) > 100 and set(fast["problem"]) >= {"missing_required", "unknown_label", "duplicate_id"}
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert list(fast.dtypes) == list(plain.dtypes)
    for column in fast.columns:
        assert [type(v) for v in fast[column]] == [type(v) for v in plain[column]], column
    assert fast.to_csv() == plain.to_csv()


@pytest.mark.parametrize(
    "groups",
    [
        # ids present and absent, text with missing values, a file-level line, a record with a row
        [
            (2, {"row": np.array([9, 3]), "respondent": np.array(["a", None], dtype=object)}),
            (1, {"row": None, "respondent": None}),
            (1, {"row": 5, "respondent": None}),
        ],
        # no ids at all: every respondent None
        [(3, {"row": np.array([4, 2, 8]), "respondent": None}), (1, {"row": 1, "respondent": None})],
        # only text ids, no file-level line: the row stays int64
        [(2, {"row": np.array([2, 1]), "respondent": np.array(["b", "c"], dtype=object)})],
        # a value that is neither text nor missing: built table by table
        [(2, {"row": np.array([2, 1]), "respondent": np.array([1.5, 2.5], dtype=object)})],
    ],
)
def test_issue_lines_match_the_reference_in_every_mix(groups):
    lines = issue_lines.IssueLines()
    for n, fields in groups:
        full = {
            **fields,
            "column": "q1" if n > 1 else None,
            "item": "q1",
            "value": np.array([str(i) for i in range(n)], dtype=object) if n > 1 else "",
            "problem": "missing_required",
            "severity": "warning",
            "message": [f"m{i}" for i in range(n)] if n > 1 else "m",
            "action": "left missing",
        }
        if n == 1 and not isinstance(fields["row"], np.ndarray):
            lines.add_record(full)
        else:
            lines.add(n, full)
    fast, plain = lines.table(), lines.reference_table()
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    for column in fast.columns:
        assert [type(v) for v in fast[column]] == [type(v) for v in plain[column]], column


def _hostile_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    floats = rng.choice(
        np.array(
            [
                0.0,
                -0.0,
                np.nan,
                np.inf,
                -np.inf,
                1e-300,
                1e16,
                1e22,
                0.1 + 0.2,
                2 / 3,
                -1.5,
                3.0,
                123456789.125,
            ]
        ),
        n,
    )
    floats[::7] = rng.normal(size=len(floats[::7])) * 10.0 ** rng.integers(-8, 18, len(floats[::7]))
    text = rng.choice(
        np.array(["R1", "", "é ü", "'=1+1", " spaced ", "x y", "-3", "nan", "None"], dtype=object), n
    )
    text[::11] = None
    mixed = np.array([None, 3, "a", True, 0, -7, ""], dtype=object)[rng.integers(0, 7, n)]
    return pd.DataFrame(
        {
            "id": pd.array(text, dtype="str"),
            "score": floats,
            "n": rng.integers(-(2**62), 2**62, n),
            "flag": rng.random(n) < 0.5,
            "pgy": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(1, 9, n)), dtype="Int64"),
            "mixed": pd.Series(mixed, dtype=object),
            "small": rng.integers(0, 3, n).astype(np.int8),
            "objtext": pd.Series(text, dtype=object),
            "rows": pd.Series(
                [None if i % 13 == 0 else int(v) for i, v in enumerate(rng.integers(0, 9, n))], dtype=object
            ),
        }
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_csv_text_is_what_pandas_writes(tmp_path, seed, sep):
    from sdt_survey._csv_text import csv_cells
    from sdt_survey._spreadsheet_safe import write_csv

    frame = _hostile_table(seed)
    cells = csv_cells(frame, sep)
    assert cells is not None
    assert cells.write() == frame.to_csv(index=False, sep=sep)
    cells.write(tmp_path / "fast.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False, sep=sep, lineterminator="\n")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    # The package's writer (neutralizing formulas first) gives what pandas gives on the neutralized table.
    from sdt_survey._spreadsheet_safe import neutralize_frame

    assert write_csv(frame, index=False, sep=sep) == neutralize_frame(frame).to_csv(index=False, sep=sep)


def test_csv_text_leaves_to_pandas_what_it_cannot_write_exactly():
    from sdt_survey._csv_text import csv_cells

    assert csv_cells(pd.DataFrame({"a": ["x,y", "z"], "b": [1, 2]})) is None  # quoted by the writer
    assert csv_cells(pd.DataFrame({"a": ['say "hi"', "z"], "b": [1, 2]})) is None
    assert csv_cells(pd.DataFrame({"a": ["two\nlines", "z"], "b": [1, 2]})) is None
    assert (
        csv_cells(pd.DataFrame({"a": [1.5, 2.5], "b": pd.to_datetime(["2024-01-01", "2024-01-02"])})) is None
    )
    assert csv_cells(pd.DataFrame({"a": np.array([1.5, 2.5], dtype=np.float32), "b": [1, 2]})) is None
    assert csv_cells(pd.DataFrame({"a": [1.5], "b": [np.float64(2.5)]}).astype(object)) is None
    assert csv_cells(pd.DataFrame({"a": [1, 2]})) is None  # one column: an empty cell is quoted
