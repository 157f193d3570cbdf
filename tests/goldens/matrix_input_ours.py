"""Our CFA estimates of each matrix-input golden case, for matrix_input.R to evaluate lavaan's criterion at.

Run from the repository root after a first run of matrix_input.R (which it then reads again):
    PYTHONPATH=. python tests/goldens/matrix_input_ours.py && Rscript tests/goldens/matrix_input.R
"""

from __future__ import annotations

import json

import pandas as pd

from tests.test_matrix_input import GOLDEN, HERE, ITEMS, REF, fit_case


def main() -> None:
    hs = pd.read_csv(REF / "public" / "HolzingerSwineford1939.csv")
    d = pd.read_csv(REF / "sdt-sim" / "responses_w1.csv")
    for item in ("as4", "rs4", "cs4"):
        d[item] = 6 - d[item]
    sim = d[ITEMS].dropna()
    harman = pd.read_csv(HERE / "data" / "harman74_cor.csv", index_col=0)
    out = {}
    for name in sorted(GOLDEN["cfa"]):
        res = fit_case(name, hs, sim, harman)
        table = res.parameters
        group = (
            table["group"].map({label: i + 1 for i, label in enumerate(res.groups)})
            if "group" in table
            else 1
        )
        out[name] = {
            "lhs": table["lhs"].tolist(),
            "op": table["op"].tolist(),
            "rhs": table["rhs"].fillna("").tolist(),
            "group": [int(g) for g in (group if not isinstance(group, int) else [1] * len(table))],
            "est": table["est"].tolist(),
        }
    (HERE / "goldens" / "matrix_input_ours.json").write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
