"""Start-up, whole process: what a user waits for when typing a command (issue 17).

Each case runs as a fresh process, paired with a bare baseline run just
before it on the same machine (``python -c "import click, yaml"``: the two
libraries the command line cannot do without), ``--repeat`` times. The table
gives the median wall-clock time of each, the median of the per-pair ratios,
and the peak resident memory of the case (``ru_maxrss`` of the child, from
``os.wait4``).

Cases: ``sdt-survey --help``, ``sdt-survey cfa --help``, ``validate FILE``,
``info bpn-residency``, ``list`` (run as the console script runs them:
``from sdt_survey.cli import main; main()``); ``import sdt_survey.factor``;
and a whole-process CFA fit (Holzinger-Swineford 1939, 3 factors, 301 pupils:
read the CSV, fit, fit measures and estimates) against ``Rscript`` with lavaan
doing the same (``--with-r``), which issue 15 asks us to stay faster than.
Goals (issue 17): ``--help`` and ``COMMAND --help`` at most 3x the baseline;
``validate``, ``info`` and ``list`` at most 4x.

    python benchmarks/bench_startup.py [--repeat 11] [--with-r] [--source CHECKOUT]

``--source`` times the package of another checkout (an earlier commit, for a
before-and-after table); the instrument and data files stay this one's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HS = ROOT / "tests" / "data" / "reference" / "public" / "HolzingerSwineford1939.csv"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BASELINE = [sys.executable, "-c", "import click, yaml"]
CLI = [sys.executable, "-c", "import sys; from sdt_survey.cli import main; sys.exit(main())"]

#: (label, command, goal as a multiple of the baseline or None)
CASES: list[tuple[str, list[str], float | None]] = [
    ("sdt-survey --help", [*CLI, "--help"], 3.0),
    ("sdt-survey cfa --help", [*CLI, "cfa", "--help"], 3.0),
    ("sdt-survey score --help", [*CLI, "score", "--help"], 3.0),
    ("sdt-survey validate FILE", [*CLI, "validate", str(ROOT / "instruments" / "bpn-residency.yaml")], 4.0),
    ("sdt-survey info bpn-residency", [*CLI, "info", "bpn-residency"], 4.0),
    ("sdt-survey list", [*CLI, "list"], 4.0),
    ('python -c "import sdt_survey.factor"', [sys.executable, "-c", "import sdt_survey.factor"], None),
    ('python -c "import sdt_survey"', [sys.executable, "-c", "import sdt_survey"], None),
]
CFA_PY = [
    sys.executable,
    "-c",
    "import pandas as pd\nfrom sdt_survey.factor import cfa\n"
    f"r = cfa(pd.read_csv({str(HS)!r}), {HS_MODEL!r})\nr.fit.to_dict(); r.parameters",
]
CFA_R = [
    "Rscript",
    "-e",
    "suppressMessages(library(lavaan)); "
    f"d <- read.csv('{HS}'); f <- cfa('{HS_MODEL.replace(chr(10), '; ')}', data = d); "
    "invisible(fitMeasures(f)); invisible(standardizedSolution(f))",
]


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds and peak resident memory (MB) of one whole process."""
    started = time.perf_counter()
    # ``python -c`` puts the working folder first on sys.path: run where the timed package is.
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env["PYTHONPATH"]
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{error}")
    return elapsed, usage.ru_maxrss / 1024  # Linux: kilobytes


def paired(command: list[str], env: dict[str, str], repeat: int, baseline: list[str] = BASELINE) -> dict:
    base, case, rss, ratios = [], [], [], []
    run(command, env)  # warm the file cache
    for _ in range(repeat):
        b, _ = run(baseline, env)
        c, m = run(command, env)
        base.append(b)
        case.append(c)
        rss.append(m)
        ratios.append(c / b)
    return {
        "baseline": statistics.median(base),
        "case": statistics.median(case),
        "ratio": statistics.median(ratios),
        "rss": max(rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--with-r", action="store_true", help="Also time the CFA fit in Rscript with lavaan.")
    parser.add_argument("--source", type=Path, default=ROOT, help="The checkout whose sdt_survey is timed.")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.source.resolve()), "PYTHONWARNINGS": "ignore"}
    _, base_rss = run(BASELINE, env)

    print(f'Whole process, median of {args.repeat} paired runs; baseline `python -c "import click, yaml"`')
    print(f"(peak RSS {base_rss:.0f} MB). Python {sys.version.split()[0]}, {os.cpu_count()} cores.\n")
    print("| command | baseline (s) | command (s) | ratio | goal | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, command, goal in CASES:
        r = paired(command, env, args.repeat)
        verdict = "" if goal is None else f"{'≤' if r['ratio'] <= goal else '>'} {goal:g}×"
        figures = f"{r['baseline']:.3f} | {r['case']:.3f} | {r['ratio']:.2f}×"
        print(f"| `{label}` | {figures} | {verdict} | {r['rss']:.0f} |")

    if args.with_r and shutil.which("Rscript"):
        r = paired(CFA_PY, env, max(3, args.repeat // 2), baseline=CFA_R)
        print(
            f"\nCFA, Holzinger-Swineford (301 × 9, 3 factors), whole process: sdt_survey {r['case']:.2f} s "
            f"(peak RSS {r['rss']:.0f} MB), Rscript + lavaan {r['baseline']:.2f} s: "
            f"{1 / r['ratio']:.2f}× faster (median of paired runs)."
        )
    else:
        r = paired(CFA_PY, env, max(3, args.repeat // 2))
        print(f"\nCFA, Holzinger-Swineford, whole process: {r['case']:.2f} s, peak RSS {r['rss']:.0f} MB.")


if __name__ == "__main__":
    main()
