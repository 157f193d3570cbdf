"""lavaan-style model syntax: parsing, located errors, emitting, and models built from instruments."""

from __future__ import annotations

import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.factor.sem import CFAError, CFAModel
from sdt_survey.factor.sem.syntax import (
    ModelSyntaxError,
    Statement,
    emit_lavaan,
    emit_statements,
    format_term,
    parse_model_syntax,
)


def keys(statements):
    return [s.key for s in statements]


# ------------------------------------------------------------------------ parsing


def test_operators_and_intercepts():
    st = parse_model_syntax("f =~ x1 + x2 + x3\nx1 ~~ x2\nx3 ~~ x3\ng =~ x4 + x5\ng ~ f\nx1 ~ 1\nf ~ 0*1")
    assert keys(st) == [
        ("f", "=~", "x1"),
        ("f", "=~", "x2"),
        ("f", "=~", "x3"),
        ("x1", "~~", "x2"),
        ("x3", "~~", "x3"),
        ("g", "=~", "x4"),
        ("g", "=~", "x5"),
        ("g", "~", "f"),
        ("x1", "~1", ""),
        ("f", "~1", ""),
    ]
    assert st[-1].fixed == (0.0,)


def test_modifiers_fixed_free_labels_start_and_groups():
    st = parse_model_syntax(
        'f =~ NA*x1 + 0.5*x2 + a*x3 + start(0.7)*x4 + label("b")*x5 + c(l1, l2)*x6 + c(1, NA)*x7 + -1.5e-1*x8'
    )
    by = {s.rhs: s for s in st}
    assert by["x1"].free and by["x1"].fixed is None
    assert by["x2"].fixed == (0.5,)
    assert by["x3"].label == ("a",)
    assert by["x4"].start == (0.7,)
    assert by["x5"].label == ("b",)
    assert by["x6"].label == ("l1", "l2") and by["x6"].label_in(1) == "l2"
    assert by["x7"].fixed_in(0) == 1.0 and by["x7"].fixed_in(1) is None
    assert by["x8"].fixed == (-0.15,)


def test_comments_semicolons_and_continued_lines():
    text = """
    # the visual factor
    visual =~ x1 +   # first
              x2
              + x3 ! lavaan also takes '!' comments
    textual =~ x4 + x5 + x6; speed =~ x7 +
       x8 + x9
    """
    st = parse_model_syntax(text)
    assert [s.rhs for s in st] == [f"x{i}" for i in range(1, 10)]
    assert st[1].line == 4 and st[1].column == 15


def test_several_left_hand_sides_and_repeated_terms_merge():
    st = parse_model_syntax("f =~ NA*x1 + a*x1 + x2 + x3\nx1 + x2 ~~ x3")
    assert keys(st) == [
        ("f", "=~", "x1"),
        ("f", "=~", "x2"),
        ("f", "=~", "x3"),
        ("x1", "~~", "x3"),
        ("x2", "~~", "x3"),
    ]
    assert st[0].free and st[0].label == ("a",)


def test_covariance_key_is_symmetric():
    st = parse_model_syntax("f =~ a + b\nb ~~ a\na ~~ b")
    assert len(st) == 3  # a ~~ b repeats b ~~ a


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("f =~ x1 + * x2", 1, 11, "expected a variable name, found '*'"),
        ("f =~ x1 +\n\n   + x2", 3, 4, "expected a variable name, found '+'"),
        ("f x1 + x2", 1, 3, "expected an operator (=~, ~~ or ~) after 'f', found 'x1'"),
        ("f =~ x1 x2", 1, 9, "expected '+' or the end of the statement, found 'x2'"),
        ("f =~ x1\nab := a*", 2, 9, "expected a number, a label or '(', found the end"),
        ("f =~ x1\nab := a $ b", 2, 9, "unexpected character '$'"),
        ("f =~ x1\na == b", 2, 3, "shared label"),
        ("f =~ x1 + x2\nx1 | t1", 2, 4, "thresholds"),
        ("f =~ x1 + foo(2)*x2", 1, 11, "unknown modifier foo()"),
        ("f =~ x1 + 'a*x2", 1, 11, "no closing quote"),
        ("f =~ x1 + x2 $ x3", 1, 14, "unexpected character '$'"),
        ("f =~ NA*0.5*x1", 1, 6, "both NA* (free) and fixed"),
        ("f =~ f", 1, 6, "cannot measure itself"),
        ("f =~ x1 + x2\nx1 ~ 2", 2, 6, "expected a variable name or 1"),
        ("f + g =~ x1", 1, 5, "only one factor can stand on the left"),
        ("f =~ c(a, 1)*x1", 1, 6, "mixes numbers and labels"),
        ("f =~ 1*x1 + 2*x1", 1, 15, "fixed to two different values"),
        ("", 1, 1, "the model is empty"),
        ("x1 ~~ x2", 1, 1, "defines no factor"),
    ],
)
def test_errors_are_located(text, line, column, fragment):
    with pytest.raises(ModelSyntaxError) as err:
        parse_model_syntax(text)
    assert (err.value.line, err.value.column) == (line, column)
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"model syntax, line {line}, column {column}:")
    assert isinstance(err.value, SdtSurveyError)


def test_error_shows_the_line_with_a_caret():
    with pytest.raises(ModelSyntaxError) as err:
        parse_model_syntax("f =~ x1 + x2\ng =~ x3 +* x4")
    assert str(err.value).splitlines()[1:] == ["  g =~ x3 +* x4", "           ^"]  # column 10


def test_nothing_is_evaluated():
    with pytest.raises(ModelSyntaxError):
        parse_model_syntax("f =~ __import__('os').system('echo hi')")


def test_not_a_string():
    with pytest.raises(TypeError):
        parse_model_syntax(["f =~ x1"])


# ------------------------------------------------------------------------ emitting


ROUND_TRIP = [
    "f =~ x1 + x2 + x3",
    "f =~ NA*x1 + x2 + x3\nf ~~ 1*f",
    "f =~ x1 + a*x2 + a*x3\ng =~ x4 + 0.25*x5 + start(0.8)*x6\nf ~~ 0*g\nx1 ~~ x4\nx1 ~ 1\nf ~ NA*1",
    "f =~ c(1, NA)*x1 + c(l1, l2)*x2 + x3",
    "f1 =~ a + b + c\nf2 =~ d + e + g\nh =~ f1 + f2\nf2 ~ f1",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_emit_round_trips(text):
    statements = parse_model_syntax(text)
    emitted = emit_lavaan(statements)
    again = parse_model_syntax(emitted)
    assert [(s.key, s.fixed, s.free, s.label, s.start) for s in again] == [
        (s.key, s.fixed, s.free, s.label, s.start) for s in statements
    ]


def test_emit_groups_terms_by_left_hand_side():
    text = "f =~ x1 + x2\nf =~ x3\nx1 ~~ x2\nx1 ~~ x3"
    assert emit_statements(parse_model_syntax(text)) == "f =~ x1 + x2 + x3\nx1 ~~ x2 + x3"


def test_format_term_needs_a_repeat_for_two_modifiers():
    assert format_term(Statement("f", "=~", "x1", free=True, label=("a",))) == ["NA*x1", "a*x1"]
    assert format_term(Statement("x1", "~1", "", fixed=(0.5,))) == ["0.5*1"]


# ------------------------------------------------------------------------ CFAModel


@pytest.fixture(scope="module")
def bpn():
    return sdt_survey.load_instrument("bpn-residency")


def test_model_from_instrument_correlated(bpn):
    model = CFAModel.from_instrument(bpn)
    assert model.factors == tuple(bpn.subscales)
    assert model.indicators_of("relatedness_satisfaction") == ("rs1", "rs2", "rs3", "rs4")
    assert len(model.indicators) == 24
    assert emit_lavaan(model).splitlines()[0] == "autonomy_satisfaction =~ as1 + as2 + as3 + as4"


def test_model_from_instrument_bifactor(bpn):
    model = CFAModel.from_instrument(bpn, kind="bifactor")
    assert model.factors[0] == "general"
    assert len(model.indicators_of("general")) == 24
    zero = [s for s in model.statements if s.op == "~~"]
    assert len(zero) == 21 and all(s.fixed == (0.0,) for s in zero)  # 7 factors, all orthogonal


def test_model_from_instrument_second_order(bpn):
    model = CFAModel.from_instrument(bpn, kind="second-order")
    assert model.higher_order_factors == ("need_satisfaction", "need_frustration")
    assert model.indicators_of("need_frustration") == (
        "autonomy_frustration",
        "relatedness_frustration",
        "competence_frustration",
    )
    again = CFAModel.from_syntax(model.to_lavaan())
    assert [(s.key, s.fixed, s.free) for s in again.statements] == [
        (s.key, s.fixed, s.free) for s in model.statements
    ]


def test_second_order_needs_composites():
    inst = sdt_survey.load_instrument("learning-climate")
    with pytest.raises(CFAError, match="no composites"):
        CFAModel.from_instrument(inst, kind="second-order")


def test_unknown_kind(bpn):
    with pytest.raises(CFAError, match="kind must be one of"):
        CFAModel.from_instrument(bpn, kind="hierarchical")


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("f =~ x1 + x2 + x3\nx1 ~ x2", "'x1' is not a factor", 2),
        ("f =~ x1 + x2 + x3\nf ~~ x1", "mixes a factor and an observed variable", 2),
        ("f =~ x1 + x2 + x3\nx4 ~~ x4", "'x4' is not measured by any factor", 2),
    ],
)
def test_model_structure_errors_are_located(text, fragment, line):
    with pytest.raises(ModelSyntaxError, match=fragment) as err:
        CFAModel.from_syntax(text)
    assert err.value.line == line


def test_factors_measuring_each_other_in_a_circle():
    with pytest.raises(CFAError, match="circle"):
        CFAModel.from_syntax("f =~ g + x1 + x2\ng =~ f + x3 + x4")
