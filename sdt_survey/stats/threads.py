"""BLAS thread control for the many small matrix problems of a fit.

Multithreaded OpenBLAS makes eigen-decompositions and L-BFGS-B steps of a
25 x 25 matrix 10-15 times slower on a 2-core machine (thread wake-ups
dominate); the results are identical. :func:`single_blas_thread` limits BLAS
to one thread with threadpoolctl when it is installed (it comes with
scikit-learn and many scientific stacks) and does nothing otherwise.

Examples
--------
>>> import numpy as np
>>> with single_blas_thread():
...     float(np.linalg.eigvalsh(np.eye(3)).sum())
3.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

try:  # optional: the computation is the same without it, only slower on some machines
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

_CONTROLLER: list[Any] = []  # made once: finding the BLAS libraries takes milliseconds


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """One BLAS thread inside the ``with`` block (a no-op without threadpoolctl)."""
    if ThreadpoolController is None:  # pragma: no cover
        yield
        return
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


def in_background(function: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``function(*args)`` on another thread; the returned callable waits for it and returns its result.

    numpy releases the interpreter lock in its array loops and BLAS calls, so
    large array work on two threads uses two cores. The work is the same as
    on one thread, so every result is the same; an exception raised on the
    thread is raised again by the waiting call.

    Examples
    --------
    >>> wait = in_background(sum, [1, 2, 3])
    >>> wait()
    6
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = function(*args)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> T:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return wait


__all__ = ["in_background", "single_blas_thread"]
