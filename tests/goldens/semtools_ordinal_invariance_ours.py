"""Write our estimates of every step of tests/goldens/semtools_ordinal_invariance.R to ..._ours.json.

Run from the repository root, then rerun the R script: it evaluates lavaan's own fit function at
lavaan's estimates and at ours (lavaan stops a little early on some steps; see the test).

    PYTHONPATH=. python tests/goldens/semtools_ordinal_invariance_ours.py
    Rscript tests/goldens/semtools_ordinal_invariance.R   # defaults: tests/data/reference, the .json
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sdt_survey.factor.sem import ordinal_invariance

REF = Path("tests/data/reference")


def data_sets() -> dict[str, tuple[pd.DataFrame, str, str]]:
    bfi = pd.read_csv(REF / "public" / "bfi.csv", index_col=0)
    bfi["A1"] = 7 - bfi["A1"]
    sim = pd.read_csv(REF / "sdt-sim" / "responses_w1.csv")
    sim["rs4"] = 6 - sim["rs4"]
    sim["cohort"] = np.where(sim["pgy"] == 1, "pgy1", "senior")
    return {
        "bfi": (bfi, "agree =~ A1 + A2 + A3 + A4 + A5", "gender"),
        "sim": (sim, "rs =~ rs1 + rs2 + rs3 + rs4\nrf =~ rf1 + rf2 + rf3 + rf4", "cohort"),
    }


def main() -> None:
    out = {}
    for name, (data, model, group) in data_sets().items():
        for pz in ("delta", "theta"):
            res = ordinal_invariance(data, model, group, parameterization=pz)
            for step, fit in res.steps.items():
                par = fit.parameters[fit.parameters["se"] > 0]
                index = {label: i + 1 for i, label in enumerate(fit.groups)}
                out[f"{name}_{pz}_{step}"] = {
                    "lhs": par["lhs"].tolist(),
                    "op": par["op"].tolist(),
                    "rhs": par["rhs"].tolist(),
                    "group": [index[g] for g in par["group"]],
                    "est": par["est"].tolist(),
                }
    Path("tests/goldens/semtools_ordinal_invariance_ours.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
