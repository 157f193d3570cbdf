"""The DWLS objective of ordinal CFA: analytic derivatives against central differences, one optimizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdt_survey.factor.sem.dwls import DWLSObjective, ordinal_spec
from sdt_survey.factor.sem.estimators import ESTIMATORS
from sdt_survey.factor.sem.optimize import optimize
from sdt_survey.factor.sem.ordinal_stats import ordinal_sample_stats
from sdt_survey.factor.sem.spec import as_model

MODELS = (
    "F =~ q1 + q2 + q3 + q4\nq1 ~~ q2",
    "F =~ q1 + q2\nG =~ q3 + q4\nG ~ F",
    "F =~ q1 + q2 + q3\nG =~ q3 + q4",
)


def _data(n: int = 300, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 1)) * 0.8 + rng.normal(size=(n, 4)) * 0.6
    return pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=["q1", "q2", "q3", "q4"])


def _objective(syntax: str, parameterization: str) -> tuple[DWLSObjective, np.ndarray]:
    data = _data()
    spec = ordinal_spec(as_model(syntax), parameterization)
    stats = ordinal_sample_stats(data.to_numpy(float), list(data.columns))
    dwls = DWLSObjective(spec, parameterization, stats, len(data))
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0.3, 0.7, spec.n_free), stats.th_vector * 1.1])
    return dwls, x


def _central(fun, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    cols = []
    for t in range(len(x)):
        up, down = x.copy(), x.copy()
        up[t] += h
        down[t] -= h
        cols.append((np.asarray(fun(up)) - np.asarray(fun(down))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("parameterization", ["delta", "theta"])
@pytest.mark.parametrize("syntax", MODELS)
def test_analytic_jacobian_gradient_and_hessian(syntax, parameterization):
    dwls, x = _objective(syntax, parameterization)
    np.testing.assert_allclose(dwls.jacobian(x), _central(dwls.implied, x), atol=1e-8)
    _, grad = dwls.objective_gradient(x)
    np.testing.assert_allclose(grad, _central(dwls.objective, x), atol=1e-6)
    hessian = _central(lambda xx: dwls.objective_gradient(xx)[1], x, 1e-5)
    np.testing.assert_allclose(dwls.observed_information(x), (hessian + hessian.T) / 2, atol=1e-5)


def test_the_shared_optimizer_fits_dwls_to_a_stationary_point():
    dwls, x = _objective(MODELS[0], "theta")
    opt = optimize(dwls, x)
    assert opt.converged
    _, grad = dwls.objective_gradient(opt.x)
    assert np.abs(grad).max() < 1e-7


def test_wlsmv_is_a_record_with_hooks():
    record = ESTIMATORS["WLSMV"]
    assert record.data == "ordinal" and record.objective == "DWLS"
    assert record.covariance is not None and record.robust_test is not None
