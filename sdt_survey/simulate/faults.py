"""The faults of a messy export: out-of-range codes, label typos, duplicate ids, missing codes, empty rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .model import _ItemSpec

# --------------------------------------------------------------------------- messy exports


def _typo(label: str) -> str:
    """A plausible misspelling: swap two letters of the last word ("Very true" -> "Very ture")."""
    head, _, word = label.rpartition(" ")
    if len(word) >= 3:
        i = len(word) // 2 - 1
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word:
            return f"{head} {swapped}".strip()
    return label[:-1] if len(label) > 1 else label + label


def _add_faults(
    frame: pd.DataFrame, specs: list[_ItemSpec], counts: Mapping[str, int], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Add the faults of a real export, and record each one."""
    n = len(frame)
    n_dup = min(int(counts.get("duplicate_id", 0)), n)
    n_empty = int(counts.get("empty_row", 0))
    dup_src = np.sort(rng.choice(n, size=n_dup, replace=False)) if n_dup else np.array([], dtype=int)
    empty_after = rng.integers(0, max(n, 1), n_empty)
    # Rows: the originals, each duplicate right after its source, empty rows after a random row.
    source = np.concatenate([np.arange(n), dup_src, empty_after])
    kind = np.concatenate([np.zeros(n, int), np.ones(n_dup, int), np.full(n_empty, 2)])
    order = np.lexsort((kind, source))
    source, kind = source[order], kind[order]
    out = frame.iloc[np.minimum(source, max(n - 1, 0))].reset_index(drop=True)
    faults: list[dict[str, Any]] = []
    position = np.flatnonzero(kind == 0)  # new position of each original row
    likert = [s for s in specs if s.item.type == "likert" and s.item.scale is not None]
    likert_ids = [s.item.id for s in likert]

    def where(row: int) -> dict[str, Any]:
        return {"row": int(row), "resident": str(out.at[row, "resident"]), "wave": int(out.at[row, "wave"])}

    for d, row in enumerate(np.flatnonzero(kind == 1)):
        record = {"fault": "duplicate_id", **where(row), "duplicate_of": int(position[source[row]])}
        record["identical"] = d % 2 == 0
        if d % 2 == 1 and likert_ids:  # a resubmission with some answers changed
            changed = []
            for col in rng.choice(likert_ids, size=min(2, len(likert_ids)), replace=False):
                spec = likert[likert_ids.index(col)]
                old = out.at[row, col]
                choices = [v for v in spec.values if v != old]
                out.at[row, col] = float(rng.choice(choices))
                changed.append(str(col))
            record["changed_columns"] = sorted(changed)
        faults.append(record)
    empty_rows = np.flatnonzero(kind == 2)
    for row in empty_rows:
        wave = int(frame["wave"].iat[source[row]]) if n else 1
        out.loc[row, :] = np.nan
        faults.append({"fault": "empty_row", "row": int(row), "resident": None, "wave": wave})

    # Cell faults, in distinct answered likert cells of rows that are neither duplicated nor empty.
    eligible_rows = np.setdiff1d(position, np.concatenate([position[dup_src], empty_rows]))
    if likert_ids and len(eligible_rows):
        answered = out.loc[eligible_rows, likert_ids].notna().to_numpy()
        cells = np.flatnonzero(answered.ravel())
        plan = [("out_of_range", int(counts.get("out_of_range", 0)))]
        plan += [("missing_code", int(counts.get("missing_code", 0)))]
        plan += [("label_typo", int(counts.get("label_typo", 0)))]
        total = min(sum(k for _, k in plan), len(cells))
        picked = rng.choice(cells, size=total, replace=False)
        typo_columns: set[str] = set()
        cursor = 0
        for fault, k in plan:
            for m in range(k):
                if cursor >= total:
                    break
                cell = picked[cursor]
                cursor += 1
                row = int(eligible_rows[cell // len(likert_ids)])
                spec = likert[cell % len(likert_ids)]
                col, scale = spec.item.id, spec.item.scale
                original = int(out.at[row, col])
                record = {"fault": fault, **where(row), "column": col, "original": original}
                if fault == "out_of_range":
                    value: Any = scale.max + 2 if m % 2 == 0 else scale.min - 1
                    if value in scale.missing_codes:
                        value = scale.max + 3
                elif fault == "missing_code":
                    if not scale.missing_codes:
                        continue  # the scale declares none: nothing to add
                    value = next(iter(scale.missing_codes))
                    record["meaning"] = scale.missing_codes[value]
                else:
                    label = scale.label_for(original, spec.instrument.default_language)
                    value = _typo(label)
                    record["label"] = label
                    if col not in typo_columns:
                        codes = out[col]
                        as_object = codes.astype("Int64").astype(object)
                        as_object[codes.isna()] = np.nan
                        out[col] = as_object
                        typo_columns.add(col)
                out.at[row, col] = value if isinstance(value, str) or col in typo_columns else float(value)
                record["value"] = value
                faults.append(record)
    faults.sort(key=lambda f: (f["row"], f["fault"]))
    return out, faults
