"""Work shared between threads (stats.threads): results in order, errors as the plain loop raises them."""

from __future__ import annotations

import threading

import pytest

from sdt_survey.stats.threads import on_two_threads


def test_on_two_threads_returns_results_in_the_order_of_the_items():
    names = []

    def square(x: int) -> int:
        names.append(threading.current_thread().name)
        return x * x

    assert on_two_threads(square, list(range(9))) == [x * x for x in range(9)]
    assert len(set(names)) == 2  # both threads took part
    assert on_two_threads(square, []) == []
    assert on_two_threads(square, [3]) == [9]


@pytest.mark.parametrize("bad", [(1, 2), (2, 1), (4,), (0, 3)])
def test_on_two_threads_raises_the_error_of_the_first_failing_item(bad):
    def check(x: int) -> int:
        if x in bad:
            raise ValueError(f"item {x}")
        return x

    with pytest.raises(ValueError, match=f"item {min(bad)}"):
        on_two_threads(check, list(range(6)))
