"""Numerical derivatives over a stack of points (stats.differences), the SEM engine's stacked model
matrices, and work on other threads (stats.threads.in_background).

The SEM engine's Newton curvature and the delta-method standard errors of the
standardized solution evaluate their 2q central-difference points as one
stack. These tests hold the stacked evaluation to the one-vector evaluation
point by point (to the bit), and the differences to the loop they replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdt_survey.factor import cfa
from sdt_survey.factor.sem.standardized import standardized_solution
from sdt_survey.stats.differences import central_jacobian, central_points
from sdt_survey.stats.threads import in_background

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "goldens" / "lavaan_sem_extensions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pd_fit():
    data = pd.read_csv(HERE / "data" / "PoliticalDemocracy.csv")
    return cfa(data, GOLDEN["pd_ml"]["model"], estimator="ML")


def test_central_points_step_each_coordinate_up_then_down():
    x = np.array([0.5, -3.0, 2.0])
    points, h = central_points(x, 1e-3)
    assert np.array_equal(h, 1e-3 * np.array([1.0, 3.0, 2.0]))
    for t in range(3):
        up, down = x.copy(), x.copy()
        up[t] += h[t]
        down[t] -= h[t]
        assert np.array_equal(points[t], up) and np.array_equal(points[3 + t], down)


def test_central_jacobian_is_the_loop_of_central_differences_and_near_the_derivative():
    def f(v):
        return np.stack([np.sin(v[..., 0]) * v[..., 1], np.exp(v[..., 1] / 3), v[..., 0] ** 3], axis=-1)

    x = np.array([0.7, 1.9])
    jac = central_jacobian(f, x)
    loop = np.empty((3, 2))
    for t in range(2):
        h = 1e-6 * max(1.0, abs(x[t]))
        up, down = x.copy(), x.copy()
        up[t] += h
        down[t] -= h
        loop[:, t] = (f(up) - f(down)) / (2 * h)
    assert np.array_equal(jac, loop)
    exact = np.array([[np.cos(0.7) * 1.9, np.sin(0.7)], [0.0, np.exp(1.9 / 3) / 3], [3 * 0.7**2, 0.0]])
    np.testing.assert_allclose(jac, exact, rtol=1e-8, atol=1e-9)


def test_stacked_model_state_equals_each_vector_on_its_own(pd_fit):
    engine, x = pd_fit._engine, pd_fit._x
    points, _ = central_points(x, 1e-3)
    stacked = engine.state(0, points)
    for k in (0, 5, len(points) - 1):
        single = engine.state(0, points[k])
        for name in ("sigma", "mu", "lv_cov", "g", "lm", "lv_mean", "inv_ib"):
            np.testing.assert_array_equal(getattr(stacked, name)[k], getattr(single, name), err_msg=name)


def test_stacked_standardized_solution_equals_each_vector_on_its_own(pd_fit):
    spec, engine, x = pd_fit._spec, pd_fit._engine, pd_fit._x
    points, _ = central_points(x, 1e-3)
    stacked = standardized_solution(spec, engine, points)
    for k in (0, 7, len(points) - 1):
        np.testing.assert_array_equal(stacked[k], standardized_solution(spec, engine, points[k]))


def test_in_background_returns_the_result_and_raises_the_threads_error():
    wait = in_background(lambda a, b: a * b, 6, 7)
    assert wait() == 42

    def fails():
        raise ValueError("on the other thread")

    with pytest.raises(ValueError, match="on the other thread"):
        in_background(fails)()
