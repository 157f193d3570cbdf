"""Writes tests/goldens/lavaan_cluster_ours.json: our estimates of each case of lavaan_cluster.R.

lavaan's default stopping rule leaves some estimates ~1e-6 from the optimum, which moves a few
parameter p-values (and the scaled chi-square differences of invariance chains) by more than 1e-5
relative. lavaan_cluster.R evaluates lavaan at these estimates (its log-likelihood, standard errors,
p-values and scaled tests, without refitting), so the tests can show lavaan's own criterion is at
least as high at ours and compare at the same point.
Run from the repository root, before the R script:
    python tests/goldens/lavaan_cluster_ours.py && Rscript tests/goldens/lavaan_cluster.R
"""

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_sem_cluster import CASES, GOLDEN, INVARIANCE, fit_case

from sdt_survey.factor import measurement_invariance

out = {name: fit_case(name).parameters["est"].tolist() for name in CASES}
out["invariance"] = {}
for name, (make, model, options, group) in INVARIANCE.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = measurement_invariance(make(), GOLDEN[model], group, **options)
    out["invariance"][name] = {step: fit.parameters["est"].tolist() for step, fit in chain.steps.items()}
Path("tests/goldens/lavaan_cluster_ours.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
