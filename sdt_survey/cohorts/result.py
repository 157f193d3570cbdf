"""CohortReport: aggregated, privacy-protected summaries by group and wave (the cohorts result)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._terminal import printable
from ..errors import SdtSurveyError
from ..results import Result, jsonable
from .data import ALL
from .figures import CHANGE_FIGURES, FIGURES, TREND_FIGURES


@dataclass
class CohortReport(Result):
    """Aggregated, privacy-protected summaries by group and wave.

    Holds aggregates only: every suppressed figure is already removed (null),
    and no respondent id or answer is kept.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per (table, group, wave, scale): ``_table`` (0 = overall,
        ``i`` = ``by[i - 1]``), ``_value``, ``wave``, ``scale``, the figures and
        ``suppressed``.
    changes, trends : pandas.DataFrame
        Change between consecutive waves and slope per wave, per group and scale.
    invariance : dict
        The measurement-invariance checks and what they mean for comparing means.
    notes, warnings : list of str
        What a reader must know (suppression, methods, invariance), and what went wrong.
    """

    rows: pd.DataFrame
    changes: pd.DataFrame
    trends: pd.DataFrame
    invariance: dict[str, Any]
    min_cell: int
    by: tuple[str, ...]
    waves: tuple[Any, ...]
    confidence: float
    scales: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    scale_labels: dict[str, str] = field(default_factory=dict)
    midpoints: dict[str, float | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    # -- tables -----------------------------------------------------------
    def _group(self, table: int, value: Any) -> dict[str, Any]:
        return {column: (value if table == i else ALL) for i, column in enumerate(self.by, start=1)}

    def _expand(self, frame: pd.DataFrame, figures: Sequence[str], extra: Sequence[str]) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        for i, column in enumerate(self.by, start=1):
            out[column] = pd.Series(
                np.where(frame["_table"].to_numpy() == i, frame["_value"].to_numpy(dtype=object), ALL),
                index=frame.index,
                dtype=object,
            )
        for column in extra:
            out[column] = frame[column]
        for column in figures:
            out[column] = frame[column]
        out["suppressed"] = frame["suppressed"].astype(bool)
        return out.reset_index(drop=True)

    def to_frame(self, what: str = "rows") -> pd.DataFrame:
        """The summaries as a table: one column per grouping column (``"all"`` when not broken down).

        Parameters
        ----------
        what : {"rows", "changes", "trends"}

        Examples
        --------
        >>> import sdt_survey
        >>> from sdt_survey.cohorts import cohort_summary
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["program"], invariance=False)
        >>> list(report.to_frame().columns[:4])
        ['program', 'wave', 'scale', 'n']
        """
        if what == "rows":
            return self._expand(self.rows, FIGURES, ["wave", "scale"])
        if what == "changes":
            return self._expand(self.changes, CHANGE_FIGURES, ["scale", "from_wave", "to_wave", "method"])
        if what == "trends":
            return self._expand(self.trends, TREND_FIGURES, ["scale", "method"])
        raise SdtSurveyError(f"to_frame: what must be rows, changes or trends, not {what!r}")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the documented contract; see docs/cohorts.md).

        A suppressed entry keeps its group, wave and scale and has every figure
        (``n`` included) ``None``.

        Examples
        --------
        >>> from sdt_survey.cohorts import cohort_summary
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=3, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["clinic"], invariance=False)
        >>> hidden = [row for row in report.to_dict()["rows"] if row["suppressed"]]
        >>> sorted({key for row in hidden for key, value in row.items() if value is not None})
        ['group', 'scale', 'suppressed', 'wave']
        """

        def records(frame: pd.DataFrame, head: Sequence[str], figures: Sequence[str]) -> list[dict[str, Any]]:
            out = []
            for values in frame.to_dict("records"):
                entry = {"group": self._group(values["_table"], values["_value"])}
                entry.update({k: jsonable(values[k]) for k in head})
                for k in figures:
                    entry[k] = None if values["suppressed"] else jsonable(values[k])
                entry["suppressed"] = bool(values["suppressed"])
                out.append(entry)
            return out

        return {
            "min_cell": self.min_cell,
            "rows": records(self.rows, ["wave", "scale"], FIGURES),
            "changes": records(self.changes, ["scale", "from_wave", "to_wave", "method"], CHANGE_FIGURES),
            "trends": records(self.trends, ["scale", "method"], TREND_FIGURES),
            "invariance": jsonable(self.invariance),
            "notes": list(self.notes),
            # Only when there are any: the documented shape has no "warnings" key otherwise.
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON text, non-ASCII letters kept as they are."""
        return json.dumps(jsonable(self.to_dict()), indent=indent, ensure_ascii=False, allow_nan=False)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report: ``.json`` (everything), ``.csv`` (the rows), ``.txt``/``.md`` (the summary).

        Atomically; an existing file is replaced only with ``overwrite=True``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from sdt_survey.cohorts import cohort_summary
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=2, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["program"], invariance=False)
        >>> report.write(pathlib.Path(tempfile.mkdtemp()) / "cohorts.json").suffix
        '.json'
        """
        return super().write(path, overwrite=overwrite)

    # -- reading ------------------------------------------------------------
    def _label(self, table: int, value: Any) -> str:
        # Group values come from the data: shown with control characters escaped, on one line.
        return "all" if table == 0 else f"{printable(self.by[table - 1])} {printable(value)}"

    def summary(self) -> str:
        """A readable table per score; suppressed cells are marked, not left out.

        Examples
        --------
        >>> from sdt_survey.cohorts import cohort_summary
        >>> from sdt_survey.simulate import simulate
        >>> data = simulate("program-belonging", seed=2, n_programs=3, residents_per_program=(9, 9))
        >>> report = cohort_summary("program-belonging", data.responses, id_column="resident",
        ...                         by=["clinic"], invariance=False)
        >>> print(report.summary().splitlines()[0])
        Cohort summary: 2 wave(s) (1, 2); groups by clinic; minimum cell size 5; 95% confidence intervals
        """
        hidden = f"—  (suppressed: fewer than {self.min_cell}, or protecting such a group)"
        pct = "{:>5.0%}".format
        waves = ", ".join(map(str, self.waves))
        lines = [
            f"Cohort summary: {len(self.waves)} wave(s) ({waves}); groups by "
            f"{', '.join(map(printable, self.by)) or '(none)'}; minimum cell size {self.min_cell}; "
            f"{self.confidence:.0%} confidence intervals",
            "",
        ]
        for check in self.invariance.get("checks", []):
            lines.append(f"Invariance: {check['statement']}")
        if "invariance not checked: engine unavailable" in self.notes:
            lines.append("Invariance: not checked (the invariance engine is unavailable)")
        if not self.invariance.get("requested", True):
            lines.append("Invariance: not checked (not requested)")

        def labelled(frame: pd.DataFrame) -> pd.DataFrame:
            labels = [self._label(t, v) for t, v in zip(frame["_table"], frame["_value"], strict=True)]
            return frame.drop(columns=["_table", "_value"]).assign(label=labels)

        rows = labelled(self.rows)
        width = max([len(s) for s in rows["label"]] + [5])
        for name in self.scales:
            mid = self.midpoints.get(name)
            title = self.scale_labels.get(name, name)
            head = title if title == name else f"{title} [{name}]"
            lines += ["", head + (f", midpoint {mid:g}" if mid is not None else "")]
            lines.append(
                f"  {'group':<{width}} {'wave':>6} {'n':>5} {'mean':>6} {'sd':>6} "
                f"{int(self.confidence * 100)}% CI{'':<9} {'above':>5} {'below':>5}"
            )
            for row in rows[rows["scale"] == name].itertuples(index=False):
                head = f"  {row.label:<{width}} {row.wave!s:>6} "
                if row.suppressed:
                    lines.append(head + hidden)
                    continue
                if pd.isna(row.mean):
                    lines.append(head + f"{int(row.n) if pd.notna(row.n) else 0:>5}      (no scores)")
                    continue
                ci = f"[{row.ci_lower:.2f}, {row.ci_upper:.2f}]" if pd.notna(row.ci_lower) else ""
                above = pct(row.share_above_midpoint) if pd.notna(row.share_above_midpoint) else "     "
                below = pct(row.share_below_midpoint) if pd.notna(row.share_below_midpoint) else "     "
                sd = f"{row.sd:>6.2f}" if pd.notna(row.sd) else f"{'':>6}"
                lines.append(head + f"{int(row.n):>5} {row.mean:>6.2f} {sd} {ci:<16} {above} {below}")
        if len(self.changes):
            lines += ["", "Change between waves (mean change, CI, p)"]
            lines += _estimate_lines(
                labelled(self.changes),
                "mean_change",
                2,
                hidden,
                head=lambda row: f"{row.label}: wave {row.from_wave} -> {row.to_wave}",
                method=lambda row: f"{row.method}, {int(row.n_pairs)} linked",
            )
        if len(self.trends):
            lines += ["", "Trend across waves (slope per wave, CI, p)"]
            lines += _estimate_lines(
                labelled(self.trends),
                "slope",
                3,
                hidden,
                head=lambda row: row.label,
                method=lambda row: row.method,
            )
        lines += [
            "",
            f"— suppressed: a group with fewer than {self.min_cell} respondents, or one hidden as well "
            "so that such a group cannot be worked out from totals, other groups or other waves.",
        ]
        shown = {check.get("statement") for check in self.invariance.get("checks", [])}
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        lines.extend(f"note: {note}" for note in self.notes if note not in shown)
        return "\n".join(lines)


def _estimate_lines(
    rows: pd.DataFrame,
    estimate: str,
    digits: int,
    hidden: str,
    *,
    head: Callable[[Any], str],
    method: Callable[[Any], str],
) -> list[str]:
    """One line per labelled row of a change or trend table: estimate, CI, p, n and method.

    A suppressed row shows ``hidden`` and a row without an estimate says so.
    """
    lines = []
    for row in rows.itertuples(index=False):
        start = f"  {row.scale} {head(row)}: "
        value = getattr(row, estimate)
        if row.suppressed:
            lines.append(start + hidden)
        elif pd.isna(value):
            lines.append(start + "not estimable")
        else:
            lines.append(
                start + f"{value:+.{digits}f} [{row.ci_lower:+.{digits}f}, {row.ci_upper:+.{digits}f}], "
                f"p = {row.p:.3g}, n = {int(row.n)} ({method(row)})"
            )
    return lines


__all__ = ["CHANGE_FIGURES", "FIGURES", "TREND_FIGURES", "CohortReport"]
