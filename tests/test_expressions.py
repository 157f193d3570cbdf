"""The show_if mini-language: parsing, printing and evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdt_survey.instrument.expressions import (
    BoolOp,
    Comparison,
    ExpressionError,
    Literal,
    Membership,
    Name,
    Not,
    evaluate,
    item_ids,
    parse_expression,
)


def test_precedence_and_binds_tighter_than_or():
    expr = parse_expression("a == 1 or b == 2 and c == 3")
    assert expr == BoolOp(
        "or",
        (
            Comparison("==", Name("a"), Literal(1)),
            BoolOp("and", (Comparison("==", Name("b"), Literal(2)), Comparison("==", Name("c"), Literal(3)))),
        ),
    )


def test_literals_and_membership():
    expr = parse_expression("site not in ['north', \"south\"] and score >= -1.5")
    assert expr.operands[0] == Membership(Name("site"), (Literal("north"), Literal("south")), negated=True)
    assert expr.operands[1] == Comparison(">=", Name("score"), Literal(-1.5))
    assert item_ids(expr) == ["site", "score"]


def test_not_and_parentheses_print_back():
    text = "not (a == 1 or b != 2) and c in [1, 2]"
    expr = parse_expression(text)
    assert isinstance(expr.operands[0], Not)
    assert expr.to_text() == text
    assert parse_expression(expr.to_text()) == expr


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("", "the expression is empty", 0),
        ("a ==", "expected an item id or a value, found the end of the expression", 4),
        ("a", "compare 'a' with a value, e.g. 'a == 1'; found the end of the expression", 1),
        ("1 == 2", "a comparison must involve at least one item id", 2),
        ("a in []", "the list of values is empty", 6),
        ("a in [b]", "expected a number or a quoted string, found 'b'", 6),
        ("a = 1", "unexpected character '='; use '==' to test equality", 2),
        ("(a == 1", "expected ')', found the end of the expression", 7),
        ("a == 1 b == 2", "unexpected 'b'; join conditions with 'and' or 'or'", 7),
        ("a not 1", "expected 'in' after 'not'", 6),
        ("a == 'x", 'unexpected character "\'"', 5),
        ("__import__('os') == 1", "compare '__import__' with a value", 10),
    ],
)
def test_parse_errors_locate_the_problem(text, message, offset):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.reason.startswith(message)
    assert info.value.offset == offset


def test_evaluate_follows_platform_missing_rules():
    frame = pd.DataFrame(
        {
            "gate": ["1", 1, 0, None, "", np.nan],
            "n": [2, 0, 5, 5, 3, None],
        }
    )
    assert evaluate(parse_expression("gate == 1 and n > 0"), frame).tolist() == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    # "!=" and "not in" are true for an unanswered item, as in REDCap and ODK.
    assert evaluate(parse_expression("gate != 1"), frame).tolist() == [False, False, True, True, True, True]
    assert evaluate(parse_expression("gate not in [1]"), frame).tolist() == [
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    assert evaluate(parse_expression("gate in [0, 1]"), frame).tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert evaluate(parse_expression("not n <= 2"), frame).tolist() == [False, False, True, True, True, True]


def test_evaluate_text_and_item_to_item():
    frame = pd.DataFrame({"site": ["north", "South", None], "a": [1, 2, 3], "b": [1, 1, 4]})
    assert evaluate(parse_expression("site == 'north'"), frame).tolist() == [True, False, False]
    assert evaluate(parse_expression("a > b"), frame).tolist() == [False, True, False]
    assert evaluate(parse_expression("site > 1"), frame).tolist() == [False, False, False]


names = st.sampled_from(["a", "b", "item_2", "gate"])
literals = st.one_of(
    st.integers(-5, 50).map(Literal),
    st.sampled_from(["x", "it's", 'say "hi"', "back\\slash"]).map(Literal),
)
leaves = st.one_of(
    st.builds(Comparison, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), names.map(Name), literals),
    st.builds(
        Membership, names.map(Name), st.lists(literals, min_size=1, max_size=3).map(tuple), st.booleans()
    ),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(
            BoolOp, st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3).map(tuple)
        ),
        st.builds(Not, children),
    ),
    max_leaves=8,
)


def _normalise(expr):
    """Nested same-operator BoolOps flatten when printed and re-parsed."""
    if isinstance(expr, BoolOp):
        flat = []
        for operand in map(_normalise, expr.operands):
            if isinstance(operand, BoolOp) and operand.op == expr.op:
                flat.extend(operand.operands)
            else:
                flat.append(operand)
        return BoolOp(expr.op, tuple(flat))
    if isinstance(expr, Not):
        return Not(_normalise(expr.operand))
    return expr


@settings(max_examples=200, deadline=None)
@given(trees)
def test_printing_then_parsing_gives_the_same_tree(expr):
    assert parse_expression(expr.to_text()) == _normalise(expr)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 =!<>()[],'\"notandirx.-")), max_size=30))
def test_parser_never_crashes(text):
    try:
        parse_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)
