"""Longitudinal invariance speed: sdt_survey's longitudinal_invariance side by side with semTools + lavaan.

Cases (best of ``--repeat`` each), the goldens' data (tests/goldens/semtools_longitudinal.R):

- ``rs-fiml``: relatedness satisfaction, sdt-sim residency waves 1 and 2 (408 residents, 347 at
  both waves), ML with FIML: 8 observed variables;
- ``bpn-fiml``: the 24 items and 6 factors of bpn-residency across the same two waves, ML with
  FIML: 48 observed variables, 12 factors;
- ``sim-mlr``: the simulated three-wave, two-factor set (tests/data/longitudinal_sim.csv), MLR
  with FIML: 18 observed variables.

What is timed is the whole process a user waits for: from the long-format data to the four steps
(configural, metric, scalar, strict) with fit measures, standard errors and the comparisons.
sdt_survey: ``longitudinal_invariance(...)`` (reshaping included). R (``--with-r``): reshaping
with ``reshape``, then for each step ``semTools::measEq.syntax(...)`` + ``lavaan::cfa()`` +
``fitMeasures()`` + ``parameterEstimates()``, and ``lavTestLRT`` over the chain, timed inside R
with ``system.time`` (R's start-up and package loading are not counted; a run over 30 s is not
repeated).

    python benchmarks/bench_sem_longitudinal.py [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

import sdt_survey
from sdt_survey.factor import CFAModel, longitudinal_invariance

ROOT = Path(__file__).resolve().parents[1]
SDT_SIM = ROOT / "tests" / "data" / "reference" / "sdt-sim"
SIM = ROOT / "tests" / "data" / "longitudinal_sim.csv"

R_SCRIPT = r"""
suppressMessages({library(lavaan); library(semTools)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); id <- args[2]; estimator <- args[3]; repeats <- as.integer(args[4])
factors <- eval(parse(text = args[5]))
steps <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))
run <- function() {
  items <- unlist(factors, use.names = FALSE)
  waves <- sort(unique(d$wave))
  parts <- lapply(seq_along(waves), function(k) {
    p <- d[d$wave == waves[k], c(id, items)]; names(p) <- c(id, paste0(items, "_w", k)); p
  })
  wide <- Reduce(function(a, b) merge(a, b, by = id, all = TRUE), parts)
  n <- length(waves); lines <- c()
  for (k in seq_len(n)) for (f in names(factors))
    lines <- c(lines, paste0(f, "_w", k, " =~ ", paste0(factors[[f]], "_w", k, collapse = " + ")))
  fac <- setNames(lapply(names(factors), function(f) paste0(f, "_w", seq_len(n))), names(factors))
  ind <- setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n))), items)
  fits <- list()
  for (nm in names(steps)) {
    syn <- measEq.syntax(paste(lines, collapse = "\n"), data = wide, longFacNames = fac,
                         longIndNames = ind, long.equal = steps[[nm]], missing = "ml", estimator = estimator)
    f <- cfa(as.character(syn), data = wide, missing = "ml", estimator = estimator)
    fitMeasures(f); parameterEstimates(f); fits[[nm]] <- f
  }
  lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
}
times <- c()
for (i in seq_len(repeats)) {  # once only when a run takes over 30 s
  times <- c(times, system.time(suppressWarnings(run()))[["elapsed"]])
  if (times[1] > 30) break
}
cat(min(times), "\n")
"""


def residency() -> pd.DataFrame:
    data = pd.concat([pd.read_csv(SDT_SIM / f"responses_w{k}.csv") for k in (1, 2)], ignore_index=True)
    for item in ("as4", "rs4", "cs4"):
        data[item] = 6 - data[item]
    return data


def cases() -> dict[str, tuple[pd.DataFrame, CFAModel, str, str]]:
    bpn = CFAModel.from_instrument(sdt_survey.load_instrument("bpn-residency"))
    rs = CFAModel.from_syntax("relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4")
    sim = CFAModel.from_syntax("F =~ y1 + y2 + y3\nG =~ y4 + y5 + y6")
    data = residency()
    return {
        "rs-fiml": (data, rs, "resident", "ML"),
        "bpn-fiml": (data, bpn, "resident", "ML"),
        "sim-mlr": (pd.read_csv(SIM), sim, "id", "MLR"),
    }


def r_factors(model: CFAModel) -> str:
    parts = [f"{f} = c({', '.join(repr(i) for i in model.indicators_of(f))})" for f in model.factors]
    return f"list({', '.join(parts)})"


def r_seconds(data: pd.DataFrame, model: CFAModel, id_column: str, estimator: str, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "long.csv"
        script = Path(folder) / "bench.R"
        data.to_csv(csv, index=False)
        script.write_text(R_SCRIPT, encoding="utf-8")
        out = subprocess.run(
            ["Rscript", str(script), str(csv), id_column, estimator, str(repeat), r_factors(model)],
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="time semTools + lavaan via Rscript")
    args = parser.parse_args()
    with_r = args.with_r and shutil.which("Rscript") is not None
    header = f"{'case':10} {'variables':>9} {'sdt_survey s':>13} {'semTools+lavaan s':>18} {'ratio':>6}"
    print(header, flush=True)
    for name, (data, model, id_column, estimator) in cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, result = best_of(
                args.repeat,
                lambda d=data, m=model, i=id_column, e=estimator: longitudinal_invariance(
                    d, m, id=i, wave="wave", estimator=e, missing="fiml"
                ),
            )
        n_vars = len(result.steps["configural"]._spec.ov)
        theirs = r_seconds(data, model, id_column, estimator, args.repeat) if with_r else float("nan")
        print(f"{name:10} {n_vars:9d} {ours:13.3f} {theirs:18.3f} {theirs / ours:6.1f}", flush=True)


if __name__ == "__main__":
    main()
