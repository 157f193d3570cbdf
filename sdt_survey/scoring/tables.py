"""Analysis tables on disk: scores and exposure tables by extension, and norms files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .._spreadsheet_safe import restore_frame, write_csv
from ..errors import SdtSurveyError
from ..files import atomic_output


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an analysis table (scores, exposure) by its extension: .csv, .tsv, .parquet, .json, .xlsx."""
    path = Path(path)
    if not path.is_file():
        raise SdtSurveyError(f"{path}: no such file")
    from io import StringIO

    from .._untrusted import decode_text, read_parquet

    suffix = path.suffix.lower()
    try:
        # Decoded as response files are (strictly; --encoding), so no row is mis-decoded; cells this
        # package neutralized against spreadsheet formulas read back as they were.
        if suffix in (".csv", ".txt", ".tsv", ".tab"):
            text = StringIO(decode_text(path.read_bytes(), str(path))[0])
            return restore_frame(pd.read_csv(text, sep="," if suffix in (".csv", ".txt") else "\t"))
        if suffix == ".parquet":
            return read_parquet(path, str(path))
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix == ".json":
            return pd.read_json(path)
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path)
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise SdtSurveyError(f"{path}: cannot read the table: {exc}") from exc
    raise SdtSurveyError(
        f"{path}: unknown table type {suffix or '(none)'}; use .csv, .tsv, .parquet, .json or .xlsx"
    )


def write_table(
    frame: pd.DataFrame,
    path: str | Path,
    labels: Mapping[str, str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a table, choosing the format from the file extension.

    The file is written atomically (see :mod:`sdt_survey.files`); an existing
    file is replaced only with ``overwrite=True``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".tab", ".parquet", ".json", ".jsonl", ".ndjson", ".sav"):
        raise SdtSurveyError(
            f"{path}: unknown output type {suffix or '(none)'}; use .csv, .tsv, .parquet, "
            ".sav, .json or .jsonl"
        )
    with atomic_output(path, overwrite=overwrite) as temp:
        if suffix == ".csv":
            write_csv(frame, temp, index=False)
        elif suffix in (".tsv", ".tab"):
            write_csv(frame, temp, index=False, sep="\t")
        elif suffix == ".parquet":
            frame.to_parquet(temp, index=False)
        elif suffix == ".json":
            temp.write_text(
                frame.to_json(orient="records", indent=2, force_ascii=False) + "\n", encoding="utf-8"
            )
        elif suffix in (".jsonl", ".ndjson"):
            frame.to_json(temp, orient="records", lines=True, force_ascii=False)
        else:
            _write_sav(frame, temp, labels or {})
    return path


def _write_sav(frame: pd.DataFrame, path: Path, labels: Mapping[str, str]) -> None:
    import pyreadstat

    names = {}
    for column in frame.columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
        name = name if re.match(r"^[A-Za-z]", name) else f"v_{name}"
        names[column] = name[:64]
    out = frame.rename(columns=names)
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].astype(float)
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype("string").astype(object).where(out[column].notna(), None)
    column_labels = {names[c]: labels.get(c, str(c)) for c in frame.columns}
    pyreadstat.write_sav(out, str(path), column_labels=column_labels)


def read_norms(path: str | Path) -> dict[str, dict[str, float]]:
    """Norms from YAML or JSON: ``{score_id: {mean: m, sd: s}}``."""
    from ..instrument import read_yaml_mapping

    path = Path(path)
    if not path.is_file():
        raise SdtSurveyError(f"{path}: no such norms file (or use 'sample')")
    doc = read_yaml_mapping(path, "norms file")
    data = doc.data
    for name, norm in data.items():
        line, column = doc.position((name,))
        if not isinstance(norm, dict) or not {"mean", "sd"} <= set(norm):
            raise SdtSurveyError(f"{path}:{line}:{column}: {name}: expected {{mean: ..., sd: ...}}")
        for key in ("mean", "sd"):
            if isinstance(norm[key], bool) or not isinstance(norm[key], (int, float)):
                raise SdtSurveyError(f"{path}:{line}:{column}: {name}.{key}: expected a number")
    return data


__all__ = ["read_norms", "read_table", "write_table"]
