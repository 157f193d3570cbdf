"""Central-difference Jacobians evaluated as one stack of points (every step up, then every step down).

A model's functions (implied moments, the standardized solution) accept a
stack of parameter vectors, so the ``2q`` points of a central difference cost
one pass of batched linear algebra instead of ``2q`` calls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_points(x: np.ndarray, relative: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``2q`` points of a central difference at ``x`` and their steps.

    Step ``t`` is ``relative * max(1, |x_t|)``; rows ``0..q-1`` step each
    coordinate up, rows ``q..2q-1`` the same coordinates down.

    Examples
    --------
    >>> import numpy as np
    >>> points, h = central_points(np.array([0.5, 4.0]), 0.1)
    >>> points.round(2).tolist(), h.round(2).tolist()
    ([[0.6, 4.0], [0.5, 4.4], [0.4, 4.0], [0.5, 3.6]], [0.1, 0.4])
    """
    h = relative * np.maximum(1.0, np.abs(x))
    steps = np.diag(h)
    return np.concatenate([x + steps, x - steps]), h


def central_jacobian(
    stacked: Callable[[np.ndarray], np.ndarray], x: np.ndarray, relative: float = 1e-6
) -> np.ndarray:
    """Jacobian (outputs by inputs) of ``stacked`` at ``x`` by central differences.

    ``stacked`` maps a ``(k, q)`` stack of points to a ``(k, n)`` stack of values.

    Examples
    --------
    >>> import numpy as np
    >>> def products(v):
    ...     return np.stack([v[:, 0] * v[:, 1], v[:, 0]], axis=1)
    >>> central_jacobian(products, np.array([2.0, 3.0])).round(6)
    array([[3., 2.],
           [1., 0.]])
    """
    points, h = central_points(np.asarray(x, dtype=float), relative)
    values = np.asarray(stacked(points))
    q = len(h)
    return ((values[:q] - values[q:]) / (2 * h)[:, None]).T
