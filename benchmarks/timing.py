"""What the benchmark scripts share: best-of-N and paired-median wall-clock timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
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


def paired_medians(
    repeat: int, ours: Callable[[], Any], theirs: Callable[[], Any] | None
) -> tuple[float, float, Any, Any]:
    """Median seconds of ``ours`` and ``theirs`` run in alternation (A, B, A, B, ...), and last results.

    Alternating the two whole processes exposes both to the same load on a shared machine; the
    median of each is less sensitive to a stray slow run than a mean, and less flattering than a best.
    """
    times_a, times_b = [], []
    out_a = out_b = None
    for _ in range(repeat):
        started = time.perf_counter()
        out_a = ours()
        times_a.append(time.perf_counter() - started)
        if theirs is not None:
            started = time.perf_counter()
            out_b = theirs()
            times_b.append(time.perf_counter() - started)
    return statistics.median(times_a), (statistics.median(times_b) if times_b else float("nan")), out_a, out_b


def ensure_bytecode(root: Path) -> None:
    """Compile ``root/sdt_survey`` to bytecode, as ``pip install`` does.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it), a checkout is otherwise compiled
    from source by every fresh process: about 0.3 s of each whole-process time that no installed
    copy pays. Python still recompiles any module whose source is newer than its bytecode.
    """
    import compileall

    compileall.compile_dir(str(root / "sdt_survey"), quiet=1)
