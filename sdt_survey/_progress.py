"""Progress of long work on a terminal: the one helper every slow step uses (layer 1, private).

A bar is drawn (by tqdm, on standard error) only when standard error is a
terminal, so scripts, pipes, logs and tests see nothing; :func:`progress_mode`
turns it off (``--quiet``) or on (tests) for the work done inside it.

Examples
--------
>>> with progress("Fitting", total=3) as bar:  # not a terminal here: draws nothing
...     for _ in range(3):
...         bar.update(1)
>>> list(track(range(3), "Counting"))
[0, 1, 2]
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import IO, Any, Literal, TypeVar

Mode = Literal["auto", "quiet", "show"]
_MODE: ContextVar[Mode] = ContextVar("sdt_survey_progress", default="auto")
#: The bar :func:`step` advances: set by :func:`activity` around work whose steps happen deep inside it.
_CURRENT: ContextVar[Any] = ContextVar("sdt_survey_progress_bar", default=None)
T = TypeVar("T")


@contextlib.contextmanager
def progress_mode(mode: Mode) -> Iterator[None]:
    """Within the block, ``quiet`` draws no bar, ``show`` draws one even off a terminal, ``auto`` decides."""
    if mode not in ("auto", "quiet", "show"):
        raise ValueError(f"progress mode must be 'auto', 'quiet' or 'show', got {mode!r}")
    token = _MODE.set(mode)
    try:
        yield
    finally:
        _MODE.reset(token)


def progress_shown(stream: IO[str] | None = None) -> bool:
    """Whether a bar would be drawn now on ``stream`` (standard error by default)."""
    mode = _MODE.get()
    if mode != "auto":
        return mode == "show"
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress(description: str, total: int | None = None, *, unit: str = "step") -> Any:
    """A progress bar: a context manager whose ``update(n)`` counts ``n`` steps done of ``total``.

    Drawn on standard error while the work runs and removed when it ends;
    a silent stand-in with the same methods when no bar is to be shown (then tqdm
    is not even imported: a fit in a pipe or a script starts faster).
    """
    if not progress_shown():
        return _Silent(total)
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.5,
    )


class _Silent:
    """What :func:`progress` returns when no bar is drawn: counts, draws nothing."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass

    def set_description(self, *_: Any, **__: Any) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def track(
    items: Iterable[T], description: str, total: int | None = None, *, unit: str = "step"
) -> Iterator[T]:
    """Yield ``items`` while a bar (see :func:`progress`) counts them."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)


@contextlib.contextmanager
def activity(description: str, *, unit: str = "iteration") -> Iterator[Any]:
    """A bar without a known end (an optimizer's iterations), advanced by :func:`step` from inside the work.

    The work itself need not know of the bar: it calls :func:`step`, which does
    nothing outside an ``activity``.

    Examples
    --------
    >>> with activity("Fitting"):  # not a terminal here: draws nothing
    ...     for _ in range(3):
    ...         step()
    """
    with progress(description, None, unit=unit) as bar:
        token = _CURRENT.set(bar)
        try:
            yield bar
        finally:
            _CURRENT.reset(token)


def step(n: int = 1) -> None:
    """Advance the bar of the enclosing :func:`activity` by ``n`` (nothing without one)."""
    bar = _CURRENT.get()
    if bar is not None:
        bar.update(n)


__all__ = ["activity", "progress", "progress_mode", "progress_shown", "step", "track"]
