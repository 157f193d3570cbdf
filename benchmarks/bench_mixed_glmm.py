"""GLMM speed: sdt_survey's ``fit_model(..., family=...)`` against ``lme4::glmer``, whole process.

Cases (the data of tests/goldens/lme4_glmm.R, in tests/data):

- ``cbpp``: ``cbind(incidence, size - incidence) ~ period + (1|herd)``, binomial, 56 rows, 15 herds;
- ``cbpp_agq10``: the same with adaptive Gauss-Hermite quadrature, nAGQ = 10;
- ``grouseticks``: ``TICKS ~ YEAR + cHEIGHT + (1|BROOD)``, Poisson, 403 rows, 118 broods;
- ``residency``: ``related ~ coc + pgy + (1|program)``, 0/1, 405 residents in 14 programs.

Whole process is what a user of the command line waits for: a fresh ``python`` that imports
sdt_survey, reads the CSV and fits (estimates, Hessian standard errors, odds ratios, R2), against a
fresh ``Rscript`` that loads lme4, reads the CSV and runs ``glmer`` and ``summary()`` (which computes
the same Hessian-based ``vcov``). The fit alone is timed in-process on both sides as well (R:
``system.time``). Best of ``--repeat`` runs.

    python benchmarks/bench_mixed_glmm.py [--repeat 3] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from timing import best_of  # benchmarks/timing.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

PREP_PY = {
    "cbpp": "d = pd.read_csv(r'{data}/glmm/cbpp.csv').astype({{'herd': str, 'period': str}})",
    "grouseticks": "d = pd.read_csv(r'{data}/glmm/grouseticks.csv').astype({{'YEAR': str, 'BROOD': str}})",
    "residency": (
        "s = r'{data}/reference/sdt-sim/'\n"
        "d = pd.read_csv(s + 'scores_truth.csv').merge(pd.read_csv(s + 'continuity_truth.csv'))"
        ".merge(pd.read_csv(s + 'responses_w1.csv')[['resident', 'program', 'pgy']])\n"
        "d = d[d.relatedness_satisfaction.notna()]\n"
        "d['related'] = (d.relatedness_satisfaction >= 4).astype(float)"
    ),
}
PREP_R = {
    "cbpp": "d <- read.csv('{data}/glmm/cbpp.csv'); d$herd <- factor(d$herd); d$period <- factor(d$period)",
    "grouseticks": "d <- read.csv('{data}/glmm/grouseticks.csv'); d$YEAR <- factor(d$YEAR); "
    "d$BROOD <- factor(d$BROOD)",
    "residency": "s <- '{data}/reference/sdt-sim/'; "
    "d <- merge(merge(read.csv(paste0(s, 'scores_truth.csv')), "
    "read.csv(paste0(s, 'continuity_truth.csv'))), read.csv(paste0(s, 'responses_w1.csv'))[, c('resident', "
    "'program', 'pgy')]); d <- d[!is.na(d$relatedness_satisfaction), ]; "
    "d$related <- as.numeric(d$relatedness_satisfaction >= 4)",
}
CASES = {
    "cbpp": ("cbpp", "cbind(incidence, size - incidence) ~ C(period) + (1|herd)", "binomial", 1),
    "cbpp_agq10": ("cbpp", "cbind(incidence, size - incidence) ~ C(period) + (1|herd)", "binomial", 10),
    "grouseticks": ("grouseticks", "TICKS ~ C(YEAR) + cHEIGHT + (1|BROOD)", "poisson", 1),
    "residency": ("residency", "related ~ coc + pgy + (1|program)", "binomial", 1),
}


def python_script(case: str) -> str:
    data, formula, family, nagq = CASES[case]
    return (
        "import time, pandas as pd\nfrom sdt_survey.mixed import fit_model\n"
        + PREP_PY[data].format(data=DATA)
        + "\nt = time.perf_counter()"
        + f"\nr = fit_model({formula!r}, d, family={family!r}, nAGQ={nagq}, lrt=False)"
        + "\nr.summary()\nprint(time.perf_counter() - t)"
    )


def r_script(case: str) -> str:
    data, formula, family, nagq = CASES[case]
    formula = formula.replace("C(period)", "period").replace("C(YEAR)", "YEAR")
    return (
        "suppressMessages(library(lme4)); "
        + PREP_R[data].format(data=DATA)
        + f"; t <- system.time({{m <- glmer({formula}, data = d, family = {family}, nAGQ = {nagq}); "
        "s <- summary(m)}); cat(t[['elapsed']], '\\n')"
    )


def run(command: list[str]) -> tuple[float, float]:
    """Whole-process seconds and the in-process fit seconds the script printed."""
    started = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - started, float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r", action="store_true", help="skip lme4 (Rscript)")
    args = parser.parse_args()
    with_r = not args.no_r and shutil.which("Rscript") is not None
    header = f"{'case':<12} {'python whole':>13} {'python fit':>11}"
    header += f" {'R whole':>9} {'R fit':>7} {'speed-up':>9}" if with_r else ""
    print(header)
    for case in CASES:
        _, (py_whole, py_fit) = best_of(
            args.repeat, lambda c=case: run([sys.executable, "-c", python_script(c)])
        )
        line = f"{case:<12} {py_whole:>12.2f}s {py_fit:>10.2f}s"
        if with_r:
            _, (r_whole, r_fit) = best_of(args.repeat, lambda c=case: run(["Rscript", "-e", r_script(c)]))
            line += f" {r_whole:>8.2f}s {r_fit:>6.2f}s {r_whole / py_whole:>8.1f}x"
        print(line)


if __name__ == "__main__":
    main()
