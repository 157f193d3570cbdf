"""``--with-scores``: the REDCap calc and XLSForm calculate formulas give sdt_survey.score's scores.

A small evaluator below reads the generated formulas as the platforms do
(REDCap's calc syntax; XPath 1.0 as ODK evaluates ``calculation``) and
computes them over many simulated answer patterns: blanks, REDCap missing
codes, non-substantive answers (don't know), reverse-keyed items, sliders and
``min_valid``. Arithmetic on a blank raises, so a formula that forgets to
guard a blank fails here as it would show an error on the platform.
"""

from __future__ import annotations

import math
import operator
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.platforms.redcap import read_dictionary, redcap_choice_code
from sdt_survey.platforms.score_formulas import redcap_formula, score_fields, xlsform_formula

FIXTURE = Path(__file__).parent / "fixtures" / "form-fields.yaml"
INSTRUMENTS = [sdt_survey.load_instrument(FIXTURE)] + [
    sdt_survey.load_instrument(name) for name in ("bpn-residency", "learning-climate", "program-belonging")
]
MISSING_CODE = "-99"

# ------------------------------------------------------------------------------- the evaluator

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<string>'[^']*'|\"[^\"]*\")|(?P<field>\[[a-z0-9_]+\]|\$\{[a-z0-9_]+\})"
    r"|(?P<op><=|>=|<>|!=|[-+*/=<>(),])|(?P<name>[a-z][a-z-]*))"
)


class Blank(Exception):
    """Arithmetic on a blank value: the platform would show an error (or nothing)."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        assert match, f"cannot read {text[position : position + 30]!r}"
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.i]
        assert expected is None or token[1] == expected, (token, expected)
        self.i += 1
        return token

    def parse(self):
        tree = self.binary(0)
        assert self.i == len(self.tokens), self.tokens[self.i :]
        return tree

    LEVELS: ClassVar[list[tuple[str, ...]]] = [
        ("or",),
        ("and",),
        ("=", "<>", "!=", "<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "/", "div"),
    ]

    def binary(self, level: int):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()[1]
            left = ("op", op, left, self.binary(level + 1))
        return left

    def unary(self):
        if self.peek() == "-":
            self.take()
            return ("op", "-", ("number", 0.0), self.unary())
        kind, text = self.take()
        if kind == "number":
            return ("number", float(text))
        if kind == "string":
            return ("string", text[1:-1])
        if kind == "field":
            return ("field", text.strip("[]${}"))
        if text == "(":
            inner = self.binary(0)
            self.take(")")
            return inner
        assert kind == "name", text
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.binary(0))
            if self.peek() == ",":
                self.take(",")
        self.take(")")
        return ("call", text, args)


def _number(value) -> float:
    if isinstance(value, float):
        return value
    if value == "":
        raise Blank
    return float(value)


def _same(a, b) -> bool:
    try:
        return _number(a) == _number(b)
    except (Blank, ValueError):
        return str(a) == str(b)


def evaluate(tree, env: dict[str, str]):
    kind = tree[0]
    if kind in ("number", "string"):
        return tree[1]
    if kind == "field":
        return env[tree[1]]
    if kind == "call":
        name, args = tree[1], tree[2]
        if name == "if":
            return evaluate(args[1] if evaluate(args[0], env) else args[2], env)
        (value,) = (evaluate(a, env) for a in args)
        if name == "isblankormissingcode":
            return value in ("", MISSING_CODE)
        if name == "string-length":
            return float(len(str(value)))
        if name == "number":
            return _number(value)
        raise AssertionError(f"unknown function {name}")
    op, left, right = tree[1], tree[2], tree[3]
    if op in ("and", "or"):
        first = evaluate(left, env)
        return (first and evaluate(right, env)) if op == "and" else (first or evaluate(right, env))
    a, b = evaluate(left, env), evaluate(right, env)
    if op == "=":
        return _same(a, b)
    if op in ("<>", "!="):
        return not _same(a, b)
    x, y = _number(a), _number(b)
    return OPERATORS[op](x, y)


OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "div": operator.truediv}  # fmt: skip


# ------------------------------------------------------------------------------ the answers


def simulate(instrument, n: int, rng, *, missing_codes: bool) -> list[dict]:
    """Answers of every kind, many of them blank, don't know or missing-coded."""
    records = []
    for _ in range(n):
        blank_rate = rng.choice([0.0, 0.2, 0.5, 0.9])
        record = {}
        for item in instrument.items:
            if item.scale is not None:
                pool = [*item.scale.values] * 3 + [c.value for c in item.scale.nonsubstantive]
                if missing_codes:
                    pool += list(item.scale.missing_codes)
                value = pool[rng.integers(len(pool))]
            elif item.type == "slider":
                steps = round((item.max - item.min) / item.step)
                value = item.min + item.step * int(rng.integers(steps + 1))
            elif item.type in ("integer", "number"):
                value = int(rng.integers(int(item.min or 0), int(item.max or 10) + 1))
            else:
                value = None
            record[item.id] = None if rng.random() < blank_rate else value
        records.append(record)
    return records


def _text(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _platform_scores(instrument, records, formula, code_of) -> pd.DataFrame:
    trees = {sid: Parser(formula(instrument, sid)).parse() for sid, _ in score_fields(instrument)}
    rows = []
    for record in records:
        env = {k: (code_of(v) if isinstance(v, str) else _text(v)) for k, v in record.items()}
        row = {}
        for score_id, tree in trees.items():
            value = evaluate(tree, env)
            row[score_id] = math.nan if value == "" else float(value)
            env[score_id] = "" if value == "" else repr(float(value))
        rows.append(row)
    return pd.DataFrame(rows)


def _package_scores(instrument, records) -> pd.DataFrame:
    frame = pd.DataFrame(records).astype(object)
    frame = frame.where(frame.notna(), None)
    scored = sdt_survey.score(instrument, frame, invalid="error")
    return scored.scores[[sid for sid, _ in score_fields(instrument)]]


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=[i.id for i in INSTRUMENTS])
@pytest.mark.parametrize("platform", ["redcap", "xlsform"])
def test_formulas_give_the_package_scores(instrument, platform):
    rng = np.random.default_rng(18)
    records = simulate(instrument, 400, rng, missing_codes=platform == "redcap")
    if platform == "redcap":
        computed = _platform_scores(instrument, records, redcap_formula, redcap_choice_code)
    else:
        computed = _platform_scores(instrument, records, lambda i, s: xlsform_formula(i, s), str)
    expected = _package_scores(instrument, records)
    assert expected.notna().any().all() and expected.isna().any().any()  # both cases are exercised
    for score_id in expected.columns:
        np.testing.assert_allclose(computed[score_id], expected[score_id], rtol=1e-12, equal_nan=True)


def test_the_evaluator_refuses_arithmetic_on_a_blank():
    with pytest.raises(Blank):
        evaluate(Parser("[a] + 1").parse(), {"a": ""})
    assert evaluate(Parser("if(isblankormissingcode([a]), 0, [a] + 1)").parse(), {"a": "-99"}) == 0


# ------------------------------------------------------------------------------- the exports


def test_redcap_export_with_scores_ends_each_form_with_calc_fields(tmp_path):
    out = tmp_path / "d.csv"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["export", str(FIXTURE), "bpn-residency", "--to", "redcap", "--with-scores", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = read_dictionary(out)
    assert sdt_survey.platforms.redcap.check_dictionary(frame) == []
    calcs = frame[frame["Field Type"] == "calc"]
    assert calcs["Variable / Field Name"].tolist()[:2] == ["interest", "vigor"]
    names = frame["Variable / Field Name"].tolist()
    # Each form's scores close the form (after its last field, before the next form).
    assert names.index("interest") == names.index("thanks") + 1
    assert names[-len(score_fields(INSTRUMENTS[1])) :] == [sid for sid, _ in score_fields(INSTRUMENTS[1])]
    assert calcs.iloc[0]["Choices, Calculations, OR Slider Labels"] == redcap_formula(
        INSTRUMENTS[0], "interest"
    )


def test_xlsform_export_with_scores_adds_calculates_that_convert(tmp_path):
    from tests.test_export_xlsform import to_xform

    out = tmp_path / "f.xlsx"
    sdt_survey.export_survey([FIXTURE, "bpn-residency"], "xlsform", out, with_scores=True)
    sheet = pd.read_excel(out, sheet_name="survey", dtype=str, keep_default_na=False).set_index("name")
    assert sheet.loc["interest", "type"] == "calculate"
    assert sheet.loc["vigor", "calculation"] == xlsform_formula(INSTRUMENTS[0], "vigor")
    _, warnings = to_xform(out)
    assert warnings == []


def test_with_scores_is_refused_where_it_does_not_apply(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["export", "bpn-residency", "--to", "qualtrics", "--with-scores", "--out", str(tmp_path / "q.txt")],
    )
    assert result.exit_code != 0
    assert "--with-scores applies to --to redcap or xlsform only" in result.output
