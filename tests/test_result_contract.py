"""Every result class follows one contract (sdt_survey/results.py).

The classes are found by walking the package, so a new result class cannot
slip past: it must derive from :class:`~sdt_survey.results.Result` and have an
example in ``tests/contract_examples/``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from functools import cache

import pandas as pd
import pytest
from contract_examples import all_examples

import sdt_survey
from sdt_survey.files import OutputError
from sdt_survey.results import Result

#: Names a result class ends with; every such public class must be a Result.
RESULT_SUFFIXES = ("Result", "Report", "Summary")


@cache
def package_classes() -> tuple[type, ...]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(sdt_survey.__path__, prefix="sdt_survey."):
        module = importlib.import_module(info.name)
        # vars(), not inspect.getmembers: an old path's forwarder must not be asked for its names.
        for obj in list(vars(module).values()):
            if inspect.isclass(obj) and obj.__module__ == info.name:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return tuple(found.values())


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def result_classes() -> list[type]:
    return sorted(
        (
            c
            for c in package_classes()
            if issubclass(c, Result) and c is not Result and not inspect.isabstract(c)
        ),
        key=qualified,
    )


EXAMPLES = all_examples()


def test_every_result_like_class_derives_from_result():
    named = [
        qualified(c)
        for c in package_classes()
        if not c.__name__.startswith("_")
        and c.__name__.endswith(RESULT_SUFFIXES)
        and not issubclass(c, Result)
    ]
    assert named == []


def test_every_result_class_has_an_example():
    assert sorted(qualified(c) for c in result_classes() if qualified(c) not in EXAMPLES) == []


def test_no_example_names_a_class_that_does_not_exist():
    assert sorted(set(EXAMPLES) - {qualified(c) for c in result_classes()}) == []


def _texts(values) -> list[str]:
    assert not isinstance(values, str), "warnings/notes are a sequence of texts, not one text"
    values = list(values)
    assert all(isinstance(v, str) for v in values)
    return values


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_result_contract(name, tmp_path):
    result = EXAMPLES[name](tmp_path / "work")
    assert qualified(type(result)) == name
    assert isinstance(result, Result)

    data = result.to_dict()
    assert isinstance(data, dict) and data
    text = json.dumps(data, allow_nan=False)  # strict JSON: no NaN, no infinity
    assert json.loads(result.to_json()) == json.loads(text)

    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)

    summary = result.summary()
    assert isinstance(summary, str) and summary.strip()
    assert str(result) == summary

    warnings, notes = _texts(result.warnings), _texts(result.notes)
    for message in warnings + notes:
        assert message in text, f"to_dict() drops {message!r}"
        first_words = " ".join(message.split()[:6])
        assert first_words in " ".join(summary.split()), f"summary() drops {message!r}"

    out = tmp_path / "out"
    written = result.write(out / "result.json")
    on_file = json.loads(written.read_text(encoding="utf-8"))
    if type(result).file_is_table:  # a data result's file is its table: one record per row
        assert isinstance(on_file, list) and len(on_file) == len(frame)
    else:
        assert on_file == json.loads(text)
    with pytest.raises(OutputError):
        result.write(out / "result.json")
    result.write(out / "result.json", overwrite=True)
    csv = result.write(out / "result.csv")
    if len(frame):
        assert csv.read_text(encoding="utf-8").strip()
    assert result.write(out / "result.txt").read_text(encoding="utf-8").strip() == summary.strip()
    with pytest.raises(OutputError, match="suffix"):
        result.write(out / "result.unknown-format")
