"""Ordinal measurement invariance speed: sdt_survey's WLSMV chain side by side with semTools + lavaan.

Cases (best of ``--repeat`` each), the whole Wu & Estabrook (2016) chain in
the theta parameterization (configural, thresholds, metric, scalar, strict:
five multi-group WLSMV fits and four scaled-shifted difference tests):

- ``bfi``: psych's bfi A1-A5 (six categories) by gender, 2,709 complete cases
  (``tests/data/reference/public/bfi.csv``);
- ``relatedness``: the sdt-sim relatedness items (two factors, eight
  five-point items), PGY 1 against seniors, 322 complete cases;
- ``simulated``: the same two-factor model on ``--n`` (5,000) simulated
  respondents in three PGY groups.

What is timed is what a user waits for, from the data frame to every step's
fit measures, estimates with standard errors and the difference tests:
``ordinal_invariance(data, model, group)``; in R (``--with-r``; timed inside
R with ``system.time``, so R's start-up is not counted) ``measEq.syntax`` +
``cfa(..., ordered =, estimator = "WLSMV", parameterization = "theta")`` +
``fitMeasures`` + ``parameterEstimates`` for each step and ``lavTestLRT``
for each pair, as ``tests/goldens/semtools_ordinal_invariance.R``.

    python benchmarks/bench_sem_ordinal_invariance.py [--n 5000] [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

from sdt_survey.factor.sem import ordinal_invariance

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"
RELATEDNESS = "rs =~ rs1 + rs2 + rs3 + rs4\nrf =~ rf1 + rf2 + rf3 + rf4"


def cases(n: int) -> dict[str, tuple[pd.DataFrame, str, str, list[str]]]:
    """name -> (data, model, group column, items)."""
    bfi = pd.read_csv(REF / "public" / "bfi.csv", index_col=0)
    bfi["A1"] = 7 - bfi["A1"]
    a_items = [f"A{i}" for i in range(1, 6)]
    bfi = bfi.dropna(subset=[*a_items, "gender"])[[*a_items, "gender"]]
    sim = pd.read_csv(REF / "sdt-sim" / "responses_w1.csv")
    sim["rs4"] = 6 - sim["rs4"]
    sim["cohort"] = np.where(sim["pgy"] == 1, "pgy1", "senior")
    r_items = [f"rs{i}" for i in range(1, 5)] + [f"rf{i}" for i in range(1, 5)]
    sim = sim.dropna(subset=r_items)[[*r_items, "cohort"]]
    rng = np.random.default_rng(7)
    traits = rng.normal(size=(n, 2)) @ np.linalg.cholesky([[1.0, -0.4], [-0.4, 1.0]]).T
    latent = np.repeat(traits, 4, axis=1) * 0.75 + rng.normal(size=(n, 8)) * 0.66
    simulated = pd.DataFrame(np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1, columns=r_items)
    simulated["pgy"] = rng.integers(1, 4, size=n)
    return {
        "bfi": (bfi, "agree =~ A1 + A2 + A3 + A4 + A5", "gender", a_items),
        "relatedness": (sim, RELATEDNESS, "cohort", r_items),
        "simulated": (simulated, RELATEDNESS, "pgy", r_items),
    }


R_SCRIPT = r"""
suppressMessages({library(lavaan); library(semTools)})
args <- commandArgs(TRUE)
spec <- jsonlite::fromJSON(args[1])
steps <- list(character(0), "thresholds", c("thresholds", "loadings"),
              c("thresholds", "loadings", "intercepts"),
              c("thresholds", "loadings", "intercepts", "residuals"))
out <- list()
for (case in names(spec$cases)) {
  cs <- spec$cases[[case]]
  d <- read.csv(cs$data)
  chain <- function() {
    fits <- lapply(steps, function(s) {
      syn <- measEq.syntax(cs$model, data = d, ordered = cs$items, parameterization = "theta",
                           ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = cs$group,
                           group.equal = s)
      f <- cfa(as.character(syn), data = d, ordered = cs$items, group = cs$group,
               estimator = "WLSMV", parameterization = "theta")
      fitMeasures(f); parameterEstimates(f); f
    })
    for (i in 2:length(fits)) lavTestLRT(fits[[i - 1]], fits[[i]])
  }
  times <- c()
  for (i in seq_len(spec$repeat_n)) times <- c(times, system.time(chain())[["elapsed"]])
  out[[case]] <- min(times)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def lavaan_times(all_cases: dict, repeat: int) -> dict[str, float]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"repeat_n": repeat, "cases": {}}
        for name, (frame, model, group, items) in all_cases.items():
            path = Path(tmp) / f"{name}.csv"
            frame.to_csv(path, index=False)
            spec["cases"][name] = {"data": str(path), "model": model, "group": group, "items": items}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        done = subprocess.run(
            [rscript, str(script), str(spec_path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            print("lavaan run failed:", done.stderr[-2000:])
            return {}
        return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5_000, help="simulated respondents (default 5,000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--with-r", action="store_true", help="also time semTools + lavaan through Rscript")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    all_cases = cases(args.n)
    rows = []
    for name, (frame, model, group, _) in all_cases.items():
        elapsed, res = best_of(args.repeat, lambda f=frame, m=model, g=group: ordinal_invariance(f, m, g))
        rows.append((name, len(frame), "sdt_survey: ordinal_invariance", elapsed, res.highest))
    if args.with_r:
        for name, elapsed in lavaan_times(all_cases, args.repeat).items():
            rows.append(
                (name, len(all_cases[name][0]), "semTools 0.5-6 + lavaan 0.6-14 (inside R)", elapsed, "")
            )
    print(f"best of {args.repeat}; whole chain, five steps (theta)\n")
    print("| case | n | implementation | seconds |\n|---|---:|---|---:|")
    for name, n, label, elapsed, _ in sorted(rows, key=lambda r: list(all_cases).index(r[0])):
        print(f"| {name} | {n:,} | {label} | {elapsed:.3f} |")


if __name__ == "__main__":
    main()
