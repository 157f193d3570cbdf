"""Writes tests/goldens/lavaan_cluster_ours.json: our estimates of each case of lavaan_cluster.R.

lavaan's default stopping rule leaves some estimates ~1e-6 from the optimum, which moves a few
parameter p-values by more than 1e-5 relative. lavaan_cluster.R evaluates lavaan at these
estimates (its log-likelihood, standard errors and p-values, without refitting), so the tests
can show lavaan's own criterion is at least as high at ours and compare p-values at the same point.
Run from the repository root, before the R script:
    python tests/goldens/lavaan_cluster_ours.py && Rscript tests/goldens/lavaan_cluster.R
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_sem_cluster import CASES, fit_case

out = {name: fit_case(name).parameters["est"].tolist() for name in CASES}
Path("tests/goldens/lavaan_cluster_ours.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
