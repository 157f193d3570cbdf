"""Speed of the latent continuity model, beside lavaan, as a user waits for it.

Whole process, the same work on both sides: ``sdt-survey model --latent`` (reads the raw responses
export, validates every answer, reverse-keys, scores the six subscales and two composites, joins the
continuity table, fits relatedness satisfaction as a factor of its four items on COC and PGY with
cluster-robust MLR and FIML, writes the JSON) against a fresh ``Rscript`` that loads lavaan and
jsonlite, reads the same raw export and the continuity table, checks that every answer is a code
1-5 or missing, reverse-keys as4, rs4 and cs4, scores the six subscale means (at least 3 of 4 items
answered) and the two composites, merges, fits ``sem(..., cluster = "program", estimator = "MLR",
missing = "ml")`` and writes ``parameterEstimates()``, ``standardizedSolution()`` and
``fitMeasures()`` as JSON. (Ours also checks the file against the instrument for drift, flags
careless answering and audits the keying; R does none of that.) The two run in alternation
``--repeat`` times; the medians are shown. "Fit only" times the fit inside each process (after
imports, reading and scoring; best of ``--repeat``).

Data: the simulated residency wave 1 (408 residents in 14 programs, answers missing) of
``tests/data/reference/sdt-sim``, and the same design scaled up (``--large N`` residents in 40
programs, simulated here with a fixed seed).

    python benchmarks/bench_latent.py [--repeat 3] [--large 5000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from timing import ensure_bytecode, paired_medians  # benchmarks/timing.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "tests" / "data" / "reference" / "sdt-sim"
FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"


def cli_command(responses: Path, exposure: Path, out: Path) -> list[str]:
    return [
        *(shutil.which("sdt-survey") or "sdt-survey", "model", "--instrument", "bpn-residency"),
        *("--responses", str(responses), "--exposure", str(exposure), "--id-column", "resident"),
        *("--formula", FORMULA, "--latent", "--format", "json", "--out", str(out), "--force"),
    ]


def fit_only_python(responses: Path, exposure: Path) -> list[str]:
    code = (
        "import time, warnings, pandas as pd\n"
        "from sdt_survey import score\n"
        "from sdt_survey.factor import latent_continuity_model\n"
        "warnings.simplefilter('ignore')\n"
        f"s = score('bpn-residency', {str(responses)!r}, id_column='resident')\n"
        f"e = pd.read_csv({str(exposure)!r})\n"
        "t0 = time.perf_counter()\n"
        f"r = latent_continuity_model(s, e, {FORMULA!r})\n"
        "r.to_dict()\n"
        "print(time.perf_counter() - t0)\n"
    )
    return [sys.executable, "-c", code]


SUBSCALES = {
    "autonomy_satisfaction": "as",
    "autonomy_frustration": "af",
    "relatedness_satisfaction": "rs",
    "relatedness_frustration": "rf",
    "competence_satisfaction": "cs",
    "competence_frustration": "cf",
}


def r_command(responses: Path, exposure: Path, out: Path) -> list[str]:
    """lavaan doing what ``model --latent`` does, from the raw export to a JSON file."""
    subscales = ", ".join(f"{name} = paste0('{p}', 1:4)" for name, p in SUBSCALES.items())
    code = (
        "suppressMessages({library(lavaan); library(jsonlite)})\n"
        f"d <- read.csv({str(responses)!r}); ct <- read.csv({str(exposure)!r})\n"
        f"subs <- list({subscales})\n"
        "items <- unlist(subs); x <- as.matrix(d[items])\n"
        "bad <- which(!is.na(x) & !(x %in% 1:5)); if (length(bad)) stop('invalid answers: ', length(bad))\n"
        "d[c('as4', 'rs4', 'cs4')] <- 6 - d[c('as4', 'rs4', 'cs4')]\n"
        "for (s in names(subs)) { m <- as.matrix(d[subs[[s]]])\n"
        "  d[[s]] <- ifelse(rowSums(!is.na(m)) >= 3, rowMeans(m, na.rm = TRUE), NA) }\n"
        "d$need_satisfaction <- rowMeans(d[grep('_satisfaction$', names(subs), value = TRUE)])\n"
        "d$need_frustration <- rowMeans(d[grep('_frustration$', names(subs), value = TRUE)])\n"
        "d <- merge(d, ct[, c('resident', 'coc')], by = 'resident')\n"
        "m <- 'relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4\nrelatedness_satisfaction ~ coc + pgy'\n"
        "t0 <- proc.time()[['elapsed']]\n"
        "d$relatedness_satisfaction <- NULL  # the observed score; the factor takes its name\n"
        "f <- suppressWarnings(sem(m, d, cluster = 'program', estimator = 'MLR', missing = 'ml'))\n"
        "p <- parameterEstimates(f); s <- standardizedSolution(f); x <- fitMeasures(f)\n"
        "t <- proc.time()[['elapsed']] - t0\n"
        f"write_json(list(parameters = p, standardized = s, fit = as.list(x)), {str(out)!r}, digits = NA)\n"
        "cat(t, '\\n')\n"
    )
    return ["Rscript", "-e", code]


def large_data(n: int, folder: Path) -> tuple[Path, Path]:
    """The residency design with ``n`` residents in 40 programs (one factor, 3% of answers missing)."""
    rng = np.random.default_rng(20261205)
    program = rng.integers(0, 40, n)
    coc = np.clip(rng.beta(2, 3, n) + 0.05 * rng.normal(size=40)[program], 0, 1)
    pgy = rng.integers(1, 4, n)
    f = 1.9 * coc + 0.1 * pgy + rng.normal(0, 0.2, 40)[program] + rng.normal(0, 0.75, n)
    items = {}
    for i, (lam, nu) in enumerate([(1.0, 1.8), (0.95, 2.0), (1.0, 1.7), (0.8, 2.2)], start=1):
        y = np.clip(np.rint(nu + lam * f + rng.normal(0, 0.7, n)), 1, 5)
        items[f"rs{i}"] = 6 - y if i == 4 else y  # rs4 is reverse-worded
    base = pd.read_csv(SIM / "responses_w1.csv", nrows=1)
    frame = pd.DataFrame({c: base[c].iloc[0] for c in base.columns}, index=range(n))
    frame["resident"] = [f"R{i:06d}" for i in range(n)]
    frame["program"] = [f"P{p:02d}" for p in program]
    frame["pgy"] = pgy
    for name, values in items.items():
        frame[name] = values
    answers = [c for c in items]
    mask = rng.random((n, len(answers))) < 0.03
    frame[answers] = frame[answers].mask(mask)
    responses, exposure = folder / "large_w1.csv", folder / "large_coc.csv"
    frame.to_csv(responses, index=False)
    pd.DataFrame({"resident": frame["resident"], "coc": coc}).to_csv(exposure, index=False)
    return responses, exposure


def run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout


def time_case(responses: Path, exposure: Path, out: Path, repeat: int) -> str:
    """One row of the table: whole process and fit only, ours and lavaan's."""
    has_r = shutil.which("Rscript") is not None
    r_out = out.with_name("lavaan.json")
    ours, theirs, _, _ = paired_medians(
        repeat,
        lambda: run(cli_command(responses, exposure, out)),
        (lambda: run(r_command(responses, exposure, r_out))) if has_r else None,
    )
    fit_ours = min(float(run(fit_only_python(responses, exposure))) for _ in range(repeat))
    if not has_r:
        return f"{ours:.2f} | (no R) | {fit_ours:.3f} | (no R)"
    fit_theirs = min(float(run(r_command(responses, exposure, r_out)).split()[-1]) for _ in range(repeat))
    return f"{ours:.2f} | {theirs:.2f} | {fit_ours:.3f} | {fit_theirs:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--large", type=int, default=5000, help="residents in the scaled-up case (0: skip)")
    args = parser.parse_args()
    ensure_bytecode(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {"residency (408, 14 programs)": (SIM / "responses_w1.csv", SIM / "continuity_truth.csv")}
        if args.large:
            cases[f"large ({args.large}, 40 programs)"] = large_data(args.large, folder)
        print(
            "| case | sdt-survey model --latent (s) | Rscript lavaan (s) "
            "| fit only, ours (s) | fit only, lavaan (s) |"
        )
        print("|---|---:|---:|---:|---:|")
        for name, (responses, exposure) in cases.items():
            print(f"| {name} | {time_case(responses, exposure, folder / 'latent.json', args.repeat)} |")


if __name__ == "__main__":
    main()
