"""Work shared between threads (stats.threads) and counts of masks (stats.masks)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sdt_survey.stats.masks import count_true
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


@pytest.mark.parametrize("shape", [(24, 1000), (255, 40), (256, 40), (300, 7), (0, 5)])
def test_count_true_equals_numpys_sum(shape):
    mask = np.random.default_rng(sum(shape)).random(shape) < 0.97
    for axis in (0, 1):
        got = count_true(mask, axis)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, mask.sum(axis=axis))
