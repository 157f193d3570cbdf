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
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey._spreadsheet_safe import (
    is_formula_like,
    may_hold_neutralized,
    neutralize_frame,
    neutralize_text,
    restore_frame,
    restore_text,
    write_csv,
)
from sdt_survey.cli import cli
from sdt_survey.cohorts import cohort_summary
from sdt_survey.errors import SdtSurveyError
from sdt_survey.platforms.redcap import check_dictionary, read_dictionary
from sdt_survey.scoring import read_table
from sdt_survey.simulate import simulate
from tests.test_export_qualtrics import parse_advanced_format

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


@pytest.mark.parametrize("value", [*HOSTILE, "-", "@", "'=x", "''+y", "-1,5"])
def test_formula_text_is_neutralized_and_restored(value):
    safe = neutralize_text(value)
    assert not is_formula_like(safe)
    assert safe.startswith("'")
    assert restore_text(safe) == value


@pytest.mark.parametrize("value", [*NUMBERS, "North", "", "'quoted'", "a=b", "1-2"])
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
    assert not formula_cells([[str(c) for c in safe.columns], *safe.astype(str).values.tolist()])
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
    assert '\'=HYPERLINK("http://x")0' in ids
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
    cohorts = ["cohorts", "program-belonging", str(data), "--id-column", "resident", "--by", "program"]
    result = CliRunner().invoke(
        cli,
        [*cohorts, "--no-invariance", "--format", "csv", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    rows = csv_rows(out)
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    assert formula_cells(rows) == []
    printed = CliRunner().invoke(
        cli,
        [*cohorts, "--no-invariance", "--format", "csv"],
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


# ------------------------------------------------------------------------ exports

HOSTILE_TEXT = Path(__file__).parent / "fixtures" / "hostile-text.yaml"


def test_redcap_dictionary_is_safe_and_still_passes_its_check(tmp_path):
    out = tmp_path / "dictionary.csv"
    sdt_survey.export_survey(HOSTILE_TEXT, "redcap", out)
    rows = csv_rows(out)
    assert formula_cells(rows) == []
    raw = out.read_text(encoding="utf-8")
    for markup in ("<script", "<img", "<b>Strongly", "[["):
        assert markup not in raw, markup
    frame = read_dictionary(out)
    assert check_dictionary(frame) == []
    labels = frame.set_index("Variable / Field Name")["Field Label"]
    # REDCap renders labels as HTML: the reference shows the text unchanged, and no apostrophe appears.
    assert labels["freq"] == "&#61;1 per week"
    assert html.unescape(labels["freq"]) == "=1 per week"
    assert html.unescape(labels["pick"]) == "[[Block:evil]]"
    assert html.unescape(labels["story"]) == "@SUM(A1) [[PageBreak]] [[Question:TE:Essay]] [[ID:stolen]]"
    choices = frame.set_index("Variable / Field Name")["Choices, Calculations, OR Slider Labels"]
    parsed = [part.split(",", 1) for part in choices["freq"].split("|")]
    assert [code.strip() for code, _ in parsed] == ["-2", "-1", "0", "1", "2"]
    assert [html.unescape(label.strip()) for _, label in parsed] == [
        "-2+3",
        "@SUM(A1)",
        "[[PageBreak]]",
        "+1+1",
        "<b>Strongly</b> agree",
    ]
    assert html.unescape(choices["pick"]).endswith("3, <script>alert(1)</script>")
    assert not any(cell.startswith("'") for row in rows for cell in row)  # no apostrophe shows in REDCap


def test_redcap_refuses_a_choice_label_that_would_split_the_choices(tmp_path):
    instrument = sdt_survey.load_instrument(HOSTILE_TEXT)
    broken = HOSTILE_TEXT.read_text(encoding="utf-8").replace("[[Question:MC]]", "Yes | 9, Maybe")
    path = tmp_path / "pipe.yaml"
    path.write_text(broken, encoding="utf-8")
    assert instrument.id == "hostile-text"
    with pytest.raises(SdtSurveyError, match=r"item pick: the choice label 'Yes \| 9, Maybe' holds '\|'"):
        sdt_survey.export_survey(path, "redcap", tmp_path / "d.csv")
    assert not (tmp_path / "d.csv").exists()


@pytest.mark.parametrize("target,suffix", [("redcap", ".csv"), ("qualtrics", ".txt")])
def test_control_characters_in_wording_are_refused(tmp_path, target, suffix):
    texts = {"freq": "Rate this \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"}
    with pytest.raises(SdtSurveyError, match=r"item freq: .* control character U\+001B"):
        sdt_survey.export_survey(HOSTILE_TEXT, target, tmp_path / f"out{suffix}", texts=texts)


def test_qualtrics_structure_cannot_be_forged_by_wording(tmp_path):
    out = tmp_path / "survey.txt"
    sdt_survey.export_survey(HOSTILE_TEXT, "qualtrics", out)
    blocks, questions = parse_advanced_format(out.read_text(encoding="utf-8"))
    assert blocks == ["first (hostile-text 1.0.0)", "second (hostile-text 1.0.0)"]
    assert [(q["kind"], q["id"], q["block"]) for q in questions] == [
        ("DB", "sdt_provenance", 1),
        ("Matrix", "first", 1),
        ("MC:SingleAnswer:Vertical", "pick", 1),
        ("DB", "second_intro", 2),
        ("TE:Essay", "story", 2),
        ("TE:SingleLine", "count", 2),
    ]
    by_id = {q["id"]: q for q in questions}
    # Qualtrics shows the references as the brackets: the wording is intact.
    assert html.unescape(by_id["pick"]["text"]) == "[[Block:evil]]"
    assert [html.unescape(label) for _, label in by_id["pick"]["rows"]][1] == "[[Question:MC]]"
    assert html.unescape(by_id["story"]["text"]).split("<br>")[1:] == [
        "[[PageBreak]]",
        "[[Question:TE:Essay]]",
        "[[ID:stolen]]",
    ]
    assert [html.unescape(text) for _, text in by_id["first"]["answers"]][2] == "[[PageBreak]]"
    assert [text for _, text in by_id["first"]["rows"]] == ["=1 per week", "+1+1 is two"]


def test_xlsform_cells_are_text_never_formulas_and_convert(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from pyxform.xls2xform import convert

    out = tmp_path / "form.xlsx"
    sdt_survey.export_survey(HOSTILE_TEXT, "xlsform", out)
    book = openpyxl.load_workbook(out)
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    texts = {cell.value for cell in cells}
    assert {"=1 per week", '=HYPERLINK("http://x", "title")', "@SUM(A1)", "-2+3"} <= texts
    xform = convert(xlsform=str(out), warnings=[]).xform
    assert ">=1 per week<" in xform
    assert ">-2+3<" in xform


def _csv_cell_function(tmp_path: Path) -> str:
    page = tmp_path / "form.html"
    sdt_survey.export_survey(HOSTILE_TEXT, "html", page)
    match = re.search(r"  function csvCell\(value\) \{.*?\n  \}\n", page.read_text(encoding="utf-8"), re.S)
    assert match, "the form's CSV writer was not found"
    return match.group()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the form's JavaScript")
def test_html_form_csv_download_neutralizes_formulas(tmp_path):
    values = [*HOSTILE, *NUMBERS, "North", "'=x", None, ["1", "2"]]
    script = _csv_cell_function(tmp_path) + f"console.log(JSON.stringify({json.dumps(values)}.map(csvCell)));"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    cells = json.loads(result.stdout)
    unquoted = [next(csv.reader(io.StringIO(cell, newline="")), [""])[0] if cell else "" for cell in cells]
    assert formula_cells([unquoted]) == []
    assert unquoted[: len(HOSTILE)] == ["'" + value for value in HOSTILE]
    assert unquoted[len(HOSTILE) : len(HOSTILE) + len(NUMBERS)] == NUMBERS
    assert unquoted[-4:] == ["North", "''=x", "", "1 2"]
    # What the form saved reads back as the respondent typed it.
    assert [restore_text(cell) for cell in unquoted[: len(HOSTILE)]] == HOSTILE


# ------------------------------------------------------------------ terminal tables

FORGED_ROW = "P01\nall                  1  99.00"
HYPERLINK = "\x1b]8;;http://evil.example\x1b\\P02\x1b]8;;\x1b\\\x1b[2J"


def assert_terminal_safe(text: str) -> None:
    """No character of the data reaches the terminal as a control: only our own line breaks."""
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text) is None


@pytest.fixture(scope="module")
def forged_groups() -> pd.DataFrame:
    data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(12, 12)).responses
    programs = sorted(data["program"].unique())
    return data.assign(program=data["program"].map(dict(zip(programs, [FORGED_ROW, HYPERLINK], strict=True))))


def test_cohort_table_shows_group_values_escaped_on_one_line(forged_groups):
    report = cohort_summary(
        "program-belonging", forged_groups, id_column="resident", by=["program"], invariance=False
    )
    text = report.summary()
    assert_terminal_safe(text)
    assert "program P01\\nall" in text
    assert "program \\x1b]8;;http://evil.example\\x1b\\P02" in text
    # No line of the table starts with the forged row's text.
    assert not any(line.lstrip().startswith("all                  1  99.00") for line in text.splitlines())


def test_cohorts_command_prints_no_control_characters(forged_groups, tmp_path):
    data = tmp_path / "responses.csv"
    write_csv(forged_groups, data, index=False)
    result = CliRunner().invoke(
        cli,
        [
            "cohorts",
            "program-belonging",
            str(data),
            "--id-column",
            "resident",
            "--by",
            "program",
            "--no-invariance",
        ],
    )
    assert result.exit_code == 0, result.output
    assert_terminal_safe(result.output)
    assert "P01\\nall" in result.output


def test_quality_report_summary_escapes_ids_and_values(hostile_responses):
    broken = hostile_responses.astype({"pb1": object})
    broken.loc[:2, "pb1"] = ["\x1b[31mred", "x\ny", "\u202eevil"]
    broken.loc[:1, "resident"] = ["A\x1b]8;;http://x\x1b\\B", "C\nrow 99 [forged] pb1: fine"]
    scored = sdt_survey.score("program-belonging", broken, id_column="resident", invalid="as-missing")
    text = scored.report.summary(max_lines=200)
    assert_terminal_safe(text)
    assert "\\x1b[31mred" in text
    assert "[A\\x1b]8;;http://x\\x1b\\B]" in text
    assert "[C\\nrow 99 [forged] pb1: fine]" in text


def test_error_messages_print_no_control_characters(tmp_path):
    missing = tmp_path / "\x1b]8;;http://evil.example\x1b\\responses.csv"
    result = CliRunner().invoke(
        cli,
        [
            "score",
            "program-belonging",
            str(missing),
            "--id-column",
            "resident",
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code == 1
    assert "error:" in result.output
    assert_terminal_safe(result.output)


@pytest.mark.parametrize(
    "text,expected",
    [
        ('a,b\n"\'=x",1', True),
        ("a,b\n''=s,x", True),
        ("'-1,x", True),
        ("a,b\nit's,=x", False),
        ("a,b\nit'=s,x", False),
        ("a,b\nx''=s,x", False),
        ("a,b\n'''x,y", False),
    ],
)
def test_reader_fast_check_finds_neutralized_fields(text, expected):
    assert may_hold_neutralized(text, ",") is expected


def test_instrument_table_csv_is_neutralized():
    result = CliRunner().invoke(cli, ["info", str(HOSTILE_TEXT), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output, newline="")))
    assert formula_cells(rows) == []
    texts = [row[-1] for row in rows[1:]]
    assert [restore_text(text) for text in texts][:2] == ["=1 per week", "+1+1 is two"]
    assert rows[1][4] == "-2.0"  # numbers stay numbers


def test_model_terms_from_data_levels_are_escaped():
    from sdt_survey.mixed import fit_model

    rng = np.random.default_rng(3)
    n = 200
    data = pd.DataFrame(
        {
            "program": np.repeat(["P1", "P2", "P3", "P4"], 50),
            "x": rng.normal(size=n),
            "site": np.tile(["a", "b\x1b]8;;http://x\x1b\\\nforged 1 2 3"], 100),
        }
    )
    data["y"] = 1 + 0.5 * data["x"] + rng.normal(size=n)
    text = fit_model("y ~ x + site + (1|program)", data).summary()
    assert_terminal_safe(text)
    assert "site[T.b\\x1b]8;;http://x\\x1b\\\\nforged 1 2 3]" in text
