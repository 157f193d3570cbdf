"""Satterthwaite speed: sdt_survey.mixed.fit_model side by side with lme4 + lmerTest.

What is timed is a user's whole wait for a small-sample table of the residency model
``relatedness_satisfaction ~ coc + pgy + (1|program)`` on the simulated residency data
(tests/data/reference/sdt-sim: 405 residents in 14 programs, and the first 8 programs):

- **whole process**: a fresh interpreter that reads the CSV, fits the model and prints the
  fixed-effects table with Satterthwaite df (ours: ``python -c`` with ``fit_model(...)`` and
  ``summary()``; R: ``Rscript`` with ``library(lmerTest)``, ``lmer()`` and ``summary()``), timed
  from outside, best of ``--repeat``;
- **in process**: the fit and its Satterthwaite table once the libraries are loaded
  (ours: ``fit_model(..., ddf=...)`` with the likelihood-ratio test, null model and curve
  switched off so that the same work is timed; R: ``lmer()`` + ``summary()``, and
  ``anova(m, ddf = "Kenward-Roger")`` for Kenward-Roger, inside R with ``system.time``).

    python benchmarks/bench_mixed_ddf.py [--repeat 5] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

from sdt_survey.mixed import fit_model

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "tests" / "data" / "reference" / "sdt-sim"
FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"


def residency(n_programs: int | None = None) -> pd.DataFrame:
    scores = pd.read_csv(SIM / "scores_truth.csv")[["resident", "relatedness_satisfaction"]]
    cont = pd.read_csv(SIM / "continuity_truth.csv")[["resident", "coc"]]
    w1 = pd.read_csv(SIM / "responses_w1.csv")[["resident", "program", "pgy"]]
    data = scores.merge(cont).merge(w1).dropna().sort_values("resident").reset_index(drop=True)
    if n_programs is not None:
        data = data[data["program"].isin(sorted(data["program"].unique())[:n_programs])]
    return data.reset_index(drop=True)


OURS_PROCESS = """
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from sdt_survey.mixed import fit_model
m = fit_model({formula!r}, pd.read_csv(sys.argv[1]), lrt=False, null_model=False, curve=False)
print(m.summary())
"""

R_PROCESS = """
suppressMessages(library(lmerTest))
d <- read.csv(commandArgs(TRUE)[1])
m <- lmer({formula}, data = d)
print(summary(m))
"""

R_IN_PROCESS = """
suppressMessages(library(lmerTest))
d <- read.csv(commandArgs(TRUE)[1])
n <- as.integer(commandArgs(TRUE)[2])
best <- function(e) min(replicate(n, system.time(eval(e))[["elapsed"]]))
s <- best(quote({{ m <- lmer({formula}, data = d); summary(m) }}))
m <- lmer({formula}, data = d)
k <- best(quote(anova(m, ddf = "Kenward-Roger")))
cat(s, k, "\\n")
"""


def whole_process(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs (default 5)")
    parser.add_argument("--no-r", action="store_true", help="skip lme4/lmerTest")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rscript = None if args.no_r else shutil.which("Rscript")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ours_py = Path(tmp) / "ours.py"
        ours_py.write_text(OURS_PROCESS.format(formula=FORMULA))
        r_formula = FORMULA.replace("(1|program)", "(1 | program)")
        (Path(tmp) / "whole.R").write_text(R_PROCESS.format(formula=r_formula))
        (Path(tmp) / "inside.R").write_text(R_IN_PROCESS.format(formula=r_formula))
        for label, n_programs in (("14 programs", None), ("8 programs", 8)):
            data = residency(n_programs)
            path = Path(tmp) / f"data{n_programs}.csv"
            data.to_csv(path, index=False)
            env_cmd = [sys.executable, str(ours_py), str(path)]
            rows.append((label, "whole process", "sdt_survey", whole_process(env_cmd, args.repeat)))
            for ddf in ("Satterthwaite", "Kenward-Roger", "none"):
                elapsed, _ = best_of(
                    args.repeat,
                    lambda d=data, m=ddf: fit_model(
                        FORMULA, d, ddf=m, lrt=False, null_model=False, curve=False
                    ).summary(),
                )
                rows.append((label, f"in process, ddf={ddf}", "sdt_survey", elapsed))
            if rscript:
                cmd = [rscript, str(Path(tmp) / "whole.R"), str(path)]
                rows.append((label, "whole process", "lme4 + lmerTest", whole_process(cmd, args.repeat)))
                out = subprocess.run(
                    [rscript, str(Path(tmp) / "inside.R"), str(path), str(args.repeat)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                rows.append((label, "in process, Satterthwaite", "lme4 + lmerTest", float(out[0])))
                rows.append((label, "in process, anova Kenward-Roger", "lme4 + lmerTest", float(out[1])))
    n = len(residency())
    print(f"{FORMULA}; {n} residents in 14 programs; best of {args.repeat}\n")
    print("| data | what | implementation | seconds |\n|---|---|---|---:|")
    for label, what, impl, elapsed in rows:
        print(f"| {label} | {what} | {impl} | {elapsed:.3f} |")


if __name__ == "__main__":
    main()
