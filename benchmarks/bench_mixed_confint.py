"""Confidence-interval speed: ``ModelResult.confint`` against lme4's ``confint.merMod``, whole process.

Each case is timed as a user waits for it: a fresh process that reads the
data, fits the model (REML) and computes the intervals (best of ``--repeat``
wall-clock runs), for

- ``python -c`` with sdt_survey (``fit_model(...).confint(method)``), and
- ``Rscript -e`` with lme4 1.1-31 (``confint(lmer(...), method=)``).

Cases: sleepstudy's ``Reaction ~ Days + (Days|Subject)`` and the simulated
residency data's ``relatedness_satisfaction ~ coc + pgy + (1|program)`` (14
programs), each with ``profile`` and ``boot`` (``--nsim`` resamples, 500 by
default as lme4's; ``--jobs`` workers for ours, lme4 serial as its default).

    python benchmarks/bench_mixed_confint.py [--repeat 3] [--nsim 500] [--jobs 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from timing import best_of  # benchmarks/timing.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SIM = DATA / "reference" / "sdt-sim"
SCORES, CONT, W1 = (str(SIM / f) for f in ("scores_truth.csv", "continuity_truth.csv", "responses_w1.csv"))

CASES = {
    "sleepstudy (Days|Subject)": {
        "py_data": f"pd.read_csv({str(DATA / 'sleepstudy.csv')!r})",
        "r_data": f"read.csv({str(DATA / 'sleepstudy.csv')!r})",
        "formula": "Reaction ~ Days + (Days|Subject)",
    },
    "residency, 14 programs": {
        "py_data": (
            f"pd.read_csv({SCORES!r}).merge(pd.read_csv({CONT!r}))"
            f".merge(pd.read_csv({W1!r})[['resident', 'program', 'pgy']])"
        ),
        "r_data": (
            f"merge(merge(read.csv({SCORES!r}), read.csv({CONT!r})),"
            f" read.csv({W1!r})[, c('resident', 'program', 'pgy')])"
        ),
        "formula": "relatedness_satisfaction ~ coc + pgy + (1|program)",
    },
}


def python_command(case: dict, method: str, nsim: int, jobs: int) -> list[str]:
    code = (
        "import pandas as pd\n"
        "from sdt_survey.mixed import fit_model\n"
        f"m = fit_model({case['formula']!r}, {case['py_data']}, lrt=False, null_model=False, curve=False)\n"
        f"print(m.confint({method!r}, nsim={nsim}, seed=1, n_jobs={jobs}).to_string())\n"
    )
    return [sys.executable, "-c", code]


def r_command(case: dict, method: str, nsim: int) -> list[str]:
    code = (
        "suppressMessages(library(lme4)); "
        f"m <- lmer({case['formula']}, data = {case['r_data']}); "
        f"set.seed(1); print(confint(m, method = {method!r}, nsim = {nsim}, quiet = TRUE))"
    )
    return ["Rscript", "-e", code]


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nsim", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    print("| case | method | sdt_survey (s) | lme4 (s) | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, case in CASES.items():
        for method in ("profile", "boot"):
            py = python_command(case, method, args.nsim, args.jobs)
            r = r_command(case, method, args.nsim)
            ours, _ = best_of(args.repeat, lambda py=py: run(py))
            theirs, _ = best_of(args.repeat, lambda r=r: run(r))
            label = method if method == "profile" else f"boot, nsim={args.nsim}, jobs={args.jobs}"
            print(f"| {name} | {label} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
