"""stats.gamma_arrays.gammaincc gives special.gammaincc's numbers to the last bit, over arrays."""

from __future__ import annotations

import numpy as np
import pytest

from sdt_survey.stats import gamma_arrays, special
from sdt_survey.stats.probability import chi2_sf


def _scalar(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.array([special.gammaincc(float(s), float(v)) for s, v in zip(a, x, strict=True)])


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    return bool(np.all((got == want) | (np.isnan(got) & np.isnan(want))))


@pytest.mark.parametrize("a", [1e-3, 0.5, 1.0, 2.5, 12.0, 50.0, 300.0])
def test_each_region_to_the_bit(a):
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.random(3000) * a * 4,
            rng.random(500) * 1.2,  # the small-x regions (series, complementary series)
            rng.exponential(a, 3000),
            [0.0, -1.0, np.inf, np.nan, 1e-300, 1e5, a, 0.5, 1.1],
        ]
    )
    assert _same(gamma_arrays.gammaincc(a, x), _scalar(np.full_like(x, a), x))


def test_shapes_and_arguments_broadcast():
    rng = np.random.default_rng(8)
    a = rng.random((40, 1)) * 30
    x = rng.random((1, 50)) * 60
    got = gamma_arrays.gammaincc(a, x)
    full_a, full_x = np.broadcast_arrays(a, x)
    assert got.shape == (40, 50)
    assert _same(got.ravel(), _scalar(full_a.ravel(), full_x.ravel()))
    assert _same(gamma_arrays.gammaincc([np.nan, 0.0, 3.0], [1.0, 1.0, 0.0]), np.array([np.nan, 0.0, 1.0]))


def test_chi2_sf_on_an_array_equals_it_on_each_value():
    # The Mahalanobis p of the careless indices: 24 items, many complete respondents.
    rng = np.random.default_rng(9)
    d2 = np.concatenate([rng.chisquare(24, 20_000), [0.0, 1e-9, 300.0, 2000.0]])
    assert _same(chi2_sf(d2, 24), np.array([float(chi2_sf(float(v), 24)) for v in d2]))
