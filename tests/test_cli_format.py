"""One ``--format {table,json,csv}`` for every command (cli/options.py).

``table`` is for people; ``json`` and ``csv`` are for scripts, so with them
standard output holds only the result and the lines naming written files go
to standard error.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from sdt_survey.cli import cli


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_the_one_format_option(name):
    options = [p for p in cli.commands[name].params if p.name == "fmt"]
    assert len(options) == 1, f"{name} has no --format"
    (option,) = options
    assert option.opts == ["--format"] and option.default == "table"
    assert tuple(option.type.choices[:3]) == ("table", "json", "csv")


def test_text_is_still_accepted_as_the_old_name_of_table():
    assert invoke("list", "--format", "text").output == invoke("list").output


def test_an_unknown_format_is_a_usage_error():
    result = invoke("list", "--format", "xml")
    assert result.exit_code == 2 and "'xml' is not one of 'table', 'json', 'csv'" in result.output


def test_list_in_every_format():
    rows = json.loads(invoke("list", "--format", "json").stdout)
    table = pd.read_csv(io.StringIO(invoke("list", "--format", "csv").stdout))
    assert table["name"].tolist() == [r["name"] for r in rows]
    assert "bpn-residency" in invoke("list").stdout


def test_validate_as_csv_has_one_row_per_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nid: x\n", encoding="utf-8")
    result = invoke("validate", "bpn-residency", str(bad), "--format", "csv")
    assert result.exit_code == 1
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table.loc[table["file"] == "bpn-residency", "valid"].tolist() == [True]
    problems = table[table["file"] == str(bad)]
    assert len(problems) >= 2 and not problems["valid"].any() and problems["message"].notna().all()


def test_keygen_as_json_names_the_key(tmp_path):
    key = tmp_path / "k.key"
    result = invoke("keygen", str(key), "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"key": str(key), "mode": "600"}


@pytest.fixture
def wave(tmp_path):
    header = "resident," + ",".join(
        f"{s}{j}" for j in range(1, 5) for s in ("as", "af", "rs", "rf", "cs", "cf")
    )
    rows = [header] + [f"R{i}," + ",".join(str(1 + (i + k) % 5) for k in range(24)) for i in range(6)]
    path = tmp_path / "wave.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_score_for_scripts_keeps_stdout_clean(wave, tmp_path, fmt):
    out = tmp_path / f"scores-{fmt}.csv"
    result = invoke(
        "score", "bpn-residency", str(wave), "--id-column", "resident", "--out", str(out), "--format", fmt
    )
    assert result.exit_code == 0, result.output
    assert f"scores: {out}" in result.stderr and "scores:" not in result.stdout
    if fmt == "json":
        assert json.loads(result.stdout)["n_respondents"] == 6
    else:
        assert len(pd.read_csv(io.StringIO(result.stdout))) == 6


def test_score_as_a_table_is_unchanged(wave, tmp_path):
    out = tmp_path / "scores.csv"
    result = invoke("score", "bpn-residency", str(wave), "--id-column", "resident", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Scored 6 respondents on bpn-residency 1.0.0" in result.stdout
    assert f"scores: {out}" in result.stdout


def test_export_as_json_is_the_export_result(tmp_path):
    out = tmp_path / "dictionary.csv"
    result = invoke("export", "bpn-residency", "--to", "redcap", "--out", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"] == "redcap"
