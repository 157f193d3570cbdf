"""Clustered data (lavaan's single-level ``cluster =``): the cluster-robust meat and its test.

Residents nested in programs are not independent. With ``cluster=`` the
estimates are the ordinary ML (or FIML) ones, but the first-order
information (the "meat" of the sandwich, and the ``B`` of every
Yuan-Bentler trace) sums each respondent's scores within their cluster
before the cross-product, times lavaan's small-sample factor ``G/(G-1)``:

``B = G/(G-1) * sum_c (sum_{i in c} s_i)(sum_{i in c} s_i)' / N``

(lavaan's ``lav_mvnorm_information_firstorder(cluster.idx =)``, per group
with ``G`` that group's clusters). :func:`score_crossprod` is that one rule;
the engine applies it to whatever casewise scores it has (CFA, and structural
models alike), and so does the saturated model's trace in :mod:`.tests`.

lavaan then uses ``se = "robust.cluster"`` (the Huber-White sandwich with
the clustered meat) and ``test = "yuan.bentler.mplus"`` for ``estimator =
"ML"`` and ``"MLR"`` alike, with a mean structure. The one difference: with
``"ML"`` lavaan asks for both the standard and the scaled test, and then
takes the ``h0`` information of the test's trace as the "h1" observed
information (the model's Jacobian around the saturated model's observed
information, without the model's curvature: ``h0_information="h1"`` of
:func:`~sdt_survey.factor.sem.tests.yuan_bentler_mplus`). The clustered
records are in :mod:`.estimators` (``estimator_record(name, cluster=True)``).
This module imports nothing of the engine, so that every part of it can use it.

Examples
--------
>>> import numpy as np
>>> scores = np.array([[1.0, 0.0], [1.0, 2.0], [-2.0, 1.0]])
>>> score_crossprod(scores, None)  # independent rows
array([[6., 0.],
       [0., 5.]])
>>> score_crossprod(scores, np.array([0, 0, 1]))  # rows 1 and 2 in one cluster, G/(G-1) = 2
array([[16.,  4.],
       [ 4., 10.]])
"""

from __future__ import annotations

import numpy as np


def score_crossprod(scores: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """``S'S`` of casewise scores, or its cluster-robust version when ``cluster`` gives each row's cluster.

    ``cluster`` holds codes ``0..G-1`` (one per row of ``scores``). The rows
    of a cluster are summed, and the cross-product of the sums is multiplied
    by ``G/(G-1)``, as lavaan does; the caller divides by ``N``.
    """
    if cluster is None:
        return scores.T @ scores
    n_clusters = int(cluster.max()) + 1
    sums = np.zeros((n_clusters, scores.shape[1]))
    np.add.at(sums, cluster, scores)
    return sums.T @ sums * (n_clusters / (n_clusters - 1))


__all__ = ["score_crossprod"]
