"""Write our estimates of every step of tests/goldens/semtools_longitudinal_ordinal.R to ..._ours.json.

Run from the repository root, then rerun the R script: it evaluates lavaan's own fit function at
lavaan's estimates and at ours (lavaan stops a little early on some steps; see the test).

    PYTHONPATH=. python tests/goldens/semtools_longitudinal_ordinal_ours.py
    Rscript tests/goldens/semtools_longitudinal_ordinal.R
"""

import json
from pathlib import Path

import pandas as pd

from sdt_survey.factor.sem import longitudinal_invariance

REF = Path("tests/data/reference/sdt-sim")


def data_sets() -> dict[str, tuple[pd.DataFrame, str, str]]:
    res = pd.concat([pd.read_csv(REF / "responses_w1.csv"), pd.read_csv(REF / "responses_w2.csv")])
    res["rs4"] = 6 - res["rs4"]
    sim = pd.read_csv("tests/data/longitudinal_ordinal_sim.csv")
    return {
        "res_rs": (res, "rs =~ rs1 + rs2 + rs3 + rs4", "resident"),
        "sim": (sim, "F =~ y1 + y2 + y3\nG =~ y4 + y5 + y6", "id"),
    }


def main() -> None:
    out = {}
    for name, (data, model, id_column) in data_sets().items():
        res = longitudinal_invariance(data, model, id=id_column, wave="wave", estimator="WLSMV")
        for step, fit in res.steps.items():
            par = fit.parameters[fit.parameters["se"] > 0]
            out[f"{name}_{step}"] = {
                "lhs": par["lhs"].tolist(),
                "op": par["op"].tolist(),
                "rhs": par["rhs"].tolist(),
                "est": par["est"].tolist(),
            }
    Path("tests/goldens/semtools_longitudinal_ordinal_ours.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
