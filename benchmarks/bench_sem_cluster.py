"""Clustered CFA speed: ``cfa(..., cluster=)`` side by side with lavaan's ``cfa(..., cluster =)``.

Cases (MLR, cluster-robust standard errors and Yuan-Bentler test):

- ``demo``: lavaan's Demo.twolevel (tests/data/demo_twolevel.csv), 2 factors, 2,500 rows, 200 clusters;
- ``residency``: the simulated residency data (tests/data/residency_cluster.csv), 3 factors,
  408 residents in 14 programs, FIML;
- ``large``: the 24-item, 6-factor bpn-residency model on ``--n`` (20,000) simulated
  respondents in 400 programs (a program effect on every item), complete data;
- ``large-fiml``: the same with 3% of answers missing, FIML.

Two figures each. *Fit*: the fit with fit measures and standard errors, in process (best of
``--repeat``; lavaan's ``cfa()`` + ``fitMeasures()`` + ``parameterEstimates()`` timed inside R with
``system.time``). *Whole process*: what a user waits for from the shell, a fresh ``python`` (import,
read the CSV, fit, print the estimates) against a fresh ``Rscript`` doing the same with lavaan, run
in alternation ``--repeat`` times (medians).

    python benchmarks/bench_sem_cluster.py [--n 20000] [--repeat 3] [--with-r]
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

import numpy as np
import pandas as pd
from timing import best_of, ensure_bytecode, paired_medians  # benchmarks/timing.py, beside this script

import sdt_survey
from sdt_survey.factor.sem import CFAModel, cfa, emit_lavaan

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6"
RES_MODEL = "rs =~ rs1 + rs2 + rs3 + rs4\nrf =~ rf1 + rf2 + rf3 + rf4\ncs =~ cs1 + cs2 + cs3 + cs4"


def simulate(n: int, n_programs: int, missing: float, seed: int = 1) -> tuple[pd.DataFrame, str]:
    """Keyed 1-5 answers to bpn-residency's 24 items, 6 correlated factors, a program effect."""
    bpn = sdt_survey.load_instrument("bpn-residency")
    rng = np.random.default_rng(seed)
    program = rng.integers(0, n_programs, size=n)
    k = len(bpn.subscales)
    phi = np.full((k, k), 0.3) + 0.7 * np.eye(k)
    program_effect = rng.normal(size=(n_programs, k))[program] * 0.4
    traits = rng.normal(size=(n, k)) @ np.linalg.cholesky(phi).T + program_effect
    blocks, columns = [], []
    for j, sub in enumerate(bpn.subscales.values()):
        loadings = rng.uniform(0.6, 0.9, size=len(sub.items))
        latent = traits[:, [j]] * loadings + rng.normal(size=(n, len(sub.items))) * np.sqrt(1 - loadings**2)
        blocks.append(np.clip(np.round(3 + 1.1 * latent), 1, 5))
        columns += list(sub.items)
    values = np.hstack(blocks)
    if missing:
        values[rng.random(values.shape) < missing] = np.nan
    frame = pd.DataFrame(values, columns=columns)
    frame["program"] = program
    return frame, emit_lavaan(CFAModel.from_instrument(bpn))


def cases(n: int, folder: Path) -> dict[str, tuple[Path, str, str, str]]:
    """name -> (csv, model, cluster column, missing)."""
    res = pd.read_csv(ROOT / "tests" / "data" / "residency_cluster.csv")
    res["rs4"], res["cs4"] = 6 - res["rs4"], 6 - res["cs4"]
    res.to_csv(folder / "residency.csv", index=False)
    out = {
        "demo": (ROOT / "tests" / "data" / "demo_twolevel.csv", DEMO_MODEL, "cluster", "listwise"),
        "residency": (folder / "residency.csv", RES_MODEL, "program", "fiml"),
    }
    for name, missing in (("large", 0.0), ("large-fiml", 0.03)):
        frame, model = simulate(n, n // 50, missing)
        frame.to_csv(folder / f"{name}.csv", index=False)
        out[name] = (folder / f"{name}.csv", model, "program", "fiml" if missing else "listwise")
    return out


def python_script(csv: Path, model: str, cluster: str, missing: str) -> str:
    return (
        "import warnings, pandas as pd\n"
        "from sdt_survey.factor import cfa\n"
        "warnings.simplefilter('ignore')\n"
        f"fit = cfa(pd.read_csv({str(csv)!r}), {model!r}, estimator='MLR', missing={missing!r}, "
        f"cluster={cluster!r})\n"
        "print(fit.fit.chisq_scaled, fit.parameters['se'].sum())\n"
    )


def r_script(csv: Path, model: str, cluster: str, missing: str, repeat: int) -> str:
    lav_missing = "ml" if missing == "fiml" else "listwise"
    return f"""suppressMessages(library(lavaan))
d <- read.csv("{csv}")
m <- "{model}"
go <- function() {{
  fit <- suppressWarnings(cfa(m, data = d, cluster = "{cluster}", estimator = "MLR",
                              missing = "{lav_missing}"))
  list(fitMeasures(fit), parameterEstimates(fit))
}}
t <- min(sapply(seq_len({repeat}), function(i) system.time(go())[["elapsed"]]))
cat(t, "\\n")
"""


def wall(command: list[str], repeat: int) -> tuple[float, str]:
    best, output = float("inf"), ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - started)
        output = done.stdout
    return best, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="respondents of the large cases")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="also time lavaan through Rscript")
    args = parser.parse_args()
    ensure_bytecode(ROOT)
    rscript = shutil.which("Rscript") if args.with_r else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'case':<12}{'n':>8}{'G':>6}  {'fit (s)':>9}{'lavaan':>9}  {'process (s)':>12}{'Rscript':>9}")
        for name, (csv, model, cluster, missing) in cases(args.n, folder).items():
            data = pd.read_csv(csv)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_s, fit = best_of(
                    args.repeat,
                    lambda d=data, m=model, c=cluster, mi=missing: cfa(
                        d, m, estimator="MLR", missing=mi, cluster=c
                    ),
                )
            script = folder / f"{name}.py"
            script.write_text(python_script(csv, model, cluster, missing), encoding="utf-8")
            lavaan_fit = float("nan")
            once, timed = folder / f"{name}.R", folder / f"{name}_fits.R"
            once.write_text(r_script(csv, model, cluster, missing, 1), encoding="utf-8")
            timed.write_text(r_script(csv, model, cluster, missing, args.repeat), encoding="utf-8")
            process_s, lavaan_process, _, _ = paired_medians(
                args.repeat,
                lambda s=script: wall([sys.executable, str(s)], 1),
                (lambda o=once: wall([rscript, str(o)], 1)) if rscript else None,
            )
            if rscript:
                lavaan_fit = float(wall([rscript, str(timed)], 1)[1].split()[0])
            print(
                f"{name:<12}{fit.n_used:>8}{fit.n_clusters:>6}  {fit_s:>9.3f}{lavaan_fit:>9.3f}  "
                f"{process_s:>12.3f}{lavaan_process:>9.3f}"
            )


if __name__ == "__main__":
    main()
