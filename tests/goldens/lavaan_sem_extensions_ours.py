"""Our estimates for each case of lavaan_sem_extensions.json (run before lavaan_sem_extensions.R re-runs).

lavaan's default stopping rule leaves some small regression coefficients ~1e-6 short of the optimum, so
the R script evaluates lavaan's own log-likelihood at these estimates too (as lavaan_defects does).
Run from the repository root:  python tests/goldens/lavaan_sem_extensions_ours.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_sem_covariates import CASES, fit_case  # noqa: E402

out = {}
for name in CASES:
    result = fit_case(name)
    table = result.parameters
    groups = {label: i + 1 for i, label in enumerate(result.groups)}
    rows = table[table["op"] != ":="]
    out[name] = {
        "lhs": rows["lhs"].tolist(),
        "op": rows["op"].replace({"~1": "~1"}).tolist(),
        "rhs": rows["rhs"].tolist(),
        "group": [groups[g] for g in rows["group"]] if "group" in rows else [1] * len(rows),
        "est": rows["est"].tolist(),
    }
(HERE / "lavaan_sem_extensions_ours.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
