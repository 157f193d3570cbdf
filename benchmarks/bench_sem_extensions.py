"""Speed of structural models with observed covariates and defined parameters, beside lavaan.

Whole process, as a user waits for it: a fresh ``python -c`` that imports sdt_survey, reads the CSV,
fits with ``cfa(...)`` and builds the parameter table with the standardized solution and the defined
parameters, against a fresh ``Rscript -e`` that loads lavaan, reads the CSV, fits with ``sem(...)`` and
calls ``fitMeasures()`` and ``parameterEstimates(standardized = TRUE)``. The two processes run in
alternation ``--repeat`` times; the medians are shown.
The "fit only" columns time the same work inside each process (after the imports and the CSV).

Cases (the data of tests/test_sem_covariates.py):

- ``pd``: PoliticalDemocracy (75 countries), the classic three-factor SEM with labelled paths and
  ``ind := a*c``, ``total := b + a*c``, ML;
- ``hs_mimic``: HolzingerSwineford1939 (301 pupils), three factors on ageyr, sex and grade with a
  direct effect and two defined differences, MLR;
- ``residency``: the simulated residency data (408 residents, answers missing), relatedness
  satisfaction and frustration on PGY with defined effects, FIML with MLR.

    python benchmarks/bench_sem_extensions.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from timing import ensure_bytecode, paired_medians  # benchmarks/timing.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "goldens" / "lavaan_sem_extensions.json").read_text(encoding="utf-8"))
CASES = {
    "pd": ("pd_ml", ROOT / "tests" / "data" / "PoliticalDemocracy.csv", "ML", "listwise"),
    "hs_mimic": (
        "hs_mimic_mlr",
        ROOT / "tests" / "data" / "reference" / "public" / "HolzingerSwineford1939.csv",
        "MLR",
        "listwise",
    ),
    "residency": ("residency_fiml_mlr", ROOT / "tests" / "data" / "residency_mimic.csv", "MLR", "fiml"),
}


def python_command(model: str, path: Path, estimator: str, missing: str) -> list[str]:
    code = (
        "import time, warnings, pandas as pd\n"
        "from sdt_survey.factor import cfa\n"
        "warnings.simplefilter('ignore')\n"
        f"d = pd.read_csv({str(path)!r})\n"
        "t0 = time.perf_counter()\n"
        f"r = cfa(d, {model!r}, estimator={estimator!r}, missing={missing!r})\n"
        "t = r.parameters\n"
        "print(r.fit.chisq, len(t), time.perf_counter() - t0)\n"
    )
    return [sys.executable, "-c", code]


def r_command(model: str, path: Path, estimator: str, missing: str) -> list[str]:
    lav_missing = "ml" if missing == "fiml" else "listwise"
    code = (
        "suppressMessages(library(lavaan))\n"
        f"d <- read.csv('{path}')\n"
        "t <- system.time({\n"
        f"f <- sem('{model}', data = d, estimator = '{estimator}', missing = '{lav_missing}')\n"
        "fm <- fitMeasures(f)\n"
        "pe <- parameterEstimates(f, standardized = TRUE)})\n"
        "cat(fm[['chisq']], nrow(pe), t[['elapsed']], '\\n')\n"
    )
    return ["Rscript", "-e", code]


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    ensure_bytecode(ROOT)
    has_r = shutil.which("Rscript") is not None
    print(
        f"{'case':<12}{'sdt_survey (s)':>16}{'lavaan (s)':>12}{'ratio':>8}"
        f"{'fit only: ours':>16}{'lavaan':>8}   chi-square ours / lavaan"
    )
    for name, (golden, path, estimator, missing) in CASES.items():
        model = GOLDEN[golden]["model"]
        ours_cmd = python_command(model, path, estimator, missing)
        r_cmd = r_command(model, path, estimator, missing)
        ours, theirs, out_ours, out_r = paired_medians(
            args.repeat, lambda c=ours_cmd: run(c), (lambda c=r_cmd: run(c)) if has_r else None
        )
        ratio = f"{theirs / ours:.2f}x" if has_r else ""
        out_r = out_r if has_r else "nan 0 nan"
        chisq_ours, _, fit_ours = out_ours.split()
        chisq_r, _, fit_r = out_r.split()
        print(
            f"{name:<12}{ours:>16.2f}{theirs:>12.2f}{ratio:>8}{float(fit_ours):>16.3f}{float(fit_r):>8.3f}"
            f"   {float(chisq_ours):.4f} / {chisq_r}"
        )


if __name__ == "__main__":
    main()
