"""BLAS threading for the small matrices of the SEM engine."""

from __future__ import annotations

import contextlib
import functools

try:  # threadpoolctl comes with scikit-learn (a dependency of pingouin); optional here
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None


@functools.lru_cache(maxsize=1)
def _blas_controller():
    return ThreadpoolController() if ThreadpoolController is not None else None


@contextlib.contextmanager
def single_threaded_blas():
    """Run BLAS on one thread: the matrices here are small (a few hundred rows at most), and
    on a busy machine multi-threaded BLAS makes such products ten times slower, not faster."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
