"""Writes tests/goldens/lmertest_ddf_ours.json: our (θ, σ, β) for each case of lmertest_ddf.R.

lme4 pins θ only to ~1e-6 on a flat criterion, and a p-value of 1e-17 moves by 1e-4 relative when
the Satterthwaite df moves by 1e-6. lmertest_ddf.R therefore also evaluates lmerTest's formulas
(devfun_vp's Hessian, get_covbeta's Jacobian, contest1D, contestMD with the Type III contrasts) at
these estimates, without refitting, and records R's criterion there.
Run from the repository root, before the R script:
    python tests/goldens/lmertest_ddf_ours.py && Rscript tests/goldens/lmertest_ddf.R
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_mixed_ddf import CASES, fit_case

out = {}
for name in CASES:
    fit = fit_case(name)
    state = fit.ddf_state
    out[name] = {"theta": state.theta.tolist(), "sigma": state.sigma2**0.5}
Path("tests/goldens/lmertest_ddf_ours.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
