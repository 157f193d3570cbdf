"""Click parameter types that refuse impossible numbers before any work starts.

Every numeric option of the command line uses one of these, so that ``nan``,
``inf``, a zero worker count or a negative count is a usage error (exit 2)
naming the option, instead of a traceback minutes later.
"""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteFloat(click.FloatRange):
    """A float option that must be finite, and optionally within a range.

    click's own ``FloatRange`` lets ``nan`` through (every comparison with
    NaN is False) and lets ``inf`` through when there is no upper bound.

    Examples
    --------
    >>> FiniteFloat(0, 1, max_open=True).convert("0.5", None, None)
    0.5
    >>> FiniteFloat().convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 'nan' is not a finite number.
    """

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


class WorkerCount(click.ParamType):
    """joblib's ``n_jobs``: a positive count, or -1 for all cores, -2 for all but one, ...

    Zero has no meaning (joblib raises on it), so it is refused here.

    Examples
    --------
    >>> WorkerCount().convert("-1", None, None)
    -1
    >>> WorkerCount().convert("0", None, None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 0 workers cannot run anything: give 1 or more, or -1 for all cores...
    """

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        if number == 0:
            self.fail(
                "0 workers cannot run anything: give 1 or more, or -1 for all cores (-2 for all but one).",
                param,
                ctx,
            )
        return number


__all__ = ["FiniteFloat", "WorkerCount"]
