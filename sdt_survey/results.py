"""What every result shares: one JSON-safe converter and one contract.

Every result class (reliability, EFA, CFA, ordinal CFA, invariance, mixed
model, continuity, cohorts, power, simulation, report, ...) derives from
:class:`Result` and so offers the same methods:

``to_dict()``
    plain JSON-safe data (through :func:`jsonable`);
``to_frame()``
    the result's main table as a tidy DataFrame;
``summary()`` and ``str(result)``
    the printed summary;
``to_json()``
    ``to_dict()`` as strict JSON text;
``write(path)``
    the result in the format the suffix names (``.json``, ``.csv``, ``.txt``
    or ``.md``; a class may add more, the report adds ``.html``), written
    atomically and never over an existing file unless ``overwrite=True``;
``warnings`` and ``notes``
    tuples (or lists) of text: what went wrong and what a reader must know.

Every result's ``to_dict()`` passes through :func:`jsonable`, so the rules are
the same everywhere and written once:

* mappings keep their order; keys become text (a tuple key is joined with ``|``);
* lists, tuples and numpy arrays become lists;
* numpy booleans and integers become Python ones;
* a float that is NaN, ``inf`` or ``-inf`` becomes ``None`` (``null``): JSON has
  no such numbers, and a reader should see "no value", not a string;
* ``None``, ``pandas.NA`` and ``NaT`` become ``None``;
* dates and times become ISO 8601 text;
* a DataFrame becomes a list of records, a Series a mapping of its index;
* anything else that JSON cannot hold becomes its text.

So ``json.dumps(result.to_dict(), allow_nan=False)`` always succeeds.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

from ._spreadsheet_safe import write_csv
from .files import OutputError, write_text


def _key(key: Any) -> str:
    return "|".join(map(str, key)) if isinstance(key, tuple) else str(key)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON-safe Python data, by the rules in this module's docstring.

    Examples
    --------
    >>> jsonable({"alpha": np.float64(0.81), "se": float("nan"), "ratio": float("inf"),
    ...           "n": np.int64(12), ("a", 1): [np.bool_(True), pd.NA]})
    {'alpha': 0.81, 'se': None, 'ratio': None, 'n': 12, 'a|1': [True, None]}
    """
    # A pandas or numpy value exists only once its library is loaded: never import one to check.
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if pd is not None and isinstance(value, pd.DataFrame):
        return [jsonable(row) for row in value.to_dict("records")]
    if pd is not None and isinstance(value, pd.Series):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (np is not None and isinstance(value, np.ndarray)):
        return [jsonable(v) for v in value]
    if value is None or (pd is not None and (value is pd.NA or value is pd.NaT)):
        return None
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
        return bool(value)
    if isinstance(value, int) or (np is not None and isinstance(value, np.integer)):
        return int(value)
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    if isinstance(value, (_dt.date, _dt.datetime)) or (pd is not None and isinstance(value, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def format_number(value: float | None, digits: int = 3) -> str:
    """A figure for a printed table: ``digits`` decimals, ``-`` when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_interval(ci: tuple[float, float] | None, digits: int = 3) -> str:
    """An interval for a printed table, ``[lower, upper]``, ``-`` when there is none."""
    if ci is None:
        return "-"
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


def message_fields(result: Any) -> dict[str, list[str]]:
    """``{"warnings": [...], "notes": [...]}``, each key only when the result has such messages.

    For result classes whose ``to_dict()`` has a fixed shape: a result without
    messages keeps the shape it always had.

    Examples
    --------
    >>> class R:
    ...     warnings, notes = ("items were reversed",), ()
    >>> message_fields(R()), message_lines(R())
    ({'warnings': ['items were reversed']}, ['warning: items were reversed'])
    """
    out: dict[str, list[str]] = {}
    if result.warnings:
        out["warnings"] = list(result.warnings)
    if result.notes:
        out["notes"] = list(result.notes)
    return out


def message_lines(result: Any) -> list[str]:
    """One summary line per message: ``warning: ...`` then ``note: ...``."""
    return [f"warning: {w}" for w in result.warnings] + [f"note: {n}" for n in result.notes]


class Result:
    """The contract every result class follows.

    A subclass implements :meth:`to_dict`, :meth:`to_frame` and
    :meth:`summary`, and keeps ``warnings`` and ``notes`` (a dataclass
    declares them as fields; the defaults here are empty). Everything else is
    shared: ``str(result)`` is the summary, :meth:`to_json` is strict JSON,
    and :meth:`write` picks the format from the file's suffix.

    Examples
    --------
    >>> import pandas as pd
    >>> class Mean(Result):
    ...     def __init__(self, value):
    ...         self.value = value
    ...     def to_dict(self):
    ...         return {"mean": self.value}
    ...     def to_frame(self):
    ...         return pd.DataFrame({"mean": [self.value]})
    ...     def summary(self):
    ...         return f"mean = {self.value:.2f}"
    >>> r = Mean(float("nan"))
    >>> r.to_json(indent=None), str(Mean(2.5)), r.warnings
    ('{"mean": null}', 'mean = 2.50', ())
    """

    warnings: Sequence[str] = ()
    notes: Sequence[str] = ()

    #: A data result (continuity indices, scores) is a table first: its files
    #: hold the table, so ``.json`` is the table's records rather than
    #: :meth:`to_json`. Such a class overrides :meth:`write` accordingly.
    file_is_table: ClassVar[bool] = False

    #: Suffixes :meth:`write` understands, mapped to the method that renders them.
    writers: ClassVar[dict[str, str]] = {
        ".json": "to_json",
        ".csv": "_csv_text",
        ".txt": "summary",
        ".md": "summary",
    }

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON text (no NaN or infinity: they are ``null``)."""
        return json.dumps(jsonable(self.to_dict()), indent=indent, allow_nan=False)

    def _csv_text(self) -> str:
        return write_csv(self.to_frame(), index=False)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the result to ``path`` in the format its suffix names, atomically.

        ``.json`` is :meth:`to_json`, ``.csv`` :meth:`to_frame` (with cells that
        a spreadsheet would run as formulas neutralized), ``.txt`` and ``.md``
        the :meth:`summary`. An existing file is replaced only with
        ``overwrite=True`` (:class:`~sdt_survey.files.OutputError` otherwise).
        """
        path = Path(path)
        method = self.writers.get(path.suffix.lower())
        if method is None:
            known = ", ".join(sorted(self.writers))
            raise OutputError(
                f"{path}: cannot tell the format from the suffix {path.suffix!r}; use one of {known}"
            )
        text = getattr(self, method)()
        if not text.endswith("\n"):
            text += "\n"
        # CSV keeps its own line ends (cells may hold carriage returns).
        return write_text(path, text, overwrite=overwrite, newline="" if method == "_csv_text" else None)


__all__ = ["Result", "format_interval", "format_number", "jsonable", "message_fields", "message_lines"]
