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
from collections.abc import Callable, Iterator, Sequence
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


#: Work on fewer rows (or report lines) than this stays on the calling thread: a thread costs more than it
#: saves there, and each thread's memory arena keeps what it freed (the streaming intake's blocks of rows
#: stay below it, so its peak memory does not grow).
THREAD_MIN_SIZE = 1 << 16


def in_background(function: Callable[..., T], *args: Any, size: int | None = None) -> Callable[[], T]:
    """Start ``function(*args)`` on another thread; the returned callable waits for it and returns its result.

    numpy releases the interpreter lock in its array loops and BLAS calls, so
    large array work on two threads uses two cores. The work is the same as
    on one thread, so every result is the same; an exception raised on the
    thread is raised again by the waiting call. With ``size`` (the rows of
    the work) below :data:`THREAD_MIN_SIZE` it runs here, at once.

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

    thread = None
    if size is not None and size < THREAD_MIN_SIZE:
        run()
    else:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()

    def wait() -> T:
        if thread is not None:
            thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return wait


def on_two_threads(function: Callable[[Any], T], items: Sequence[Any], *, size: int | None = None) -> list[T]:
    """``[function(item) for item in items]``, every other item computed on a second thread.

    For independent pieces of array work (a column each) that release the
    interpreter lock. The results come back in the order of ``items``; if
    some raise, the exception of the first of them in that order is raised,
    as the plain loop would raise it. With ``size`` (the rows of each piece)
    below :data:`THREAD_MIN_SIZE` it is the plain loop.

    Examples
    --------
    >>> on_two_threads(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    if len(items) < 2 or (size is not None and size < THREAD_MIN_SIZE):
        return [function(item) for item in items]

    def each(part: Sequence[Any]) -> list[tuple[bool, Any]]:
        out = []
        for item in part:
            try:
                out.append((True, function(item)))
            except Exception as exc:  # raised below, in the order of the items
                out.append((False, exc))
        return out

    theirs = in_background(each, items[1::2])
    mine = each(items[0::2])
    done = [None] * len(items)
    done[0::2], done[1::2] = mine, theirs()
    for ok, value in done:
        if not ok:
            raise value
    return [value for _, value in done]


__all__ = ["THREAD_MIN_SIZE", "in_background", "on_two_threads", "single_blas_thread"]
