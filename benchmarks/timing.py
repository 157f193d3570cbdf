"""What the benchmark scripts share: best-of-N wall-clock timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(repeat: int, function: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``function``, in seconds, and its last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result
