"""Whole-process time of the three smallest lavaan comparisons, before/after a change, and their floors.

Runs, in alternation (round-robin, ``--rounds`` times), a fresh process for each of:

- ``pd``: PoliticalDemocracy (75 rows), defined effects, ML (as ``bench_sem_extensions.py``);
- ``twolevel``: Demo.twolevel (2,500 rows, 200 clusters), cluster-robust MLR (as ``bench_sem_cluster.py``);
- ``latent``: ``sdt-survey model --latent`` on the residency wave (408) against Rscript doing the same
  work (as ``bench_latent.py``);

with this checkout's ``sdt_survey`` and, with ``--before DIR``, another copy's (e.g. ``git archive
REV sdt_survey | tar -x -C DIR``), against Rscript; and the floors: ``python -c pass``, Python
importing numpy and pandas, Rscript loading lavaan. Prints the median wall-clock seconds and the
median CPU seconds (user + system) of each; on a shared machine the CPU time is the steadier figure.
The processes start in a temporary folder, so that ``python -c`` (which puts the current folder first
on ``sys.path``) imports the copy that ``PYTHONPATH`` names. Compile both copies first
(``python -m compileall -q sdt_survey``), as pip does on installing: where ``PYTHONDONTWRITEBYTECODE``
is set, every run would otherwise compile the package from source.

    python benchmarks/bench_startup_floor.py [--rounds 9] [--before /tmp/base]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_latent  # noqa: E402  (beside this script)
import bench_sem_cluster  # noqa: E402
import bench_sem_extensions  # noqa: E402
from timing import ensure_bytecode  # noqa: E402

GOLDEN = json.loads((ROOT / "tests" / "goldens" / "lavaan_sem_extensions.json").read_text(encoding="utf-8"))
PD = ROOT / "tests" / "data" / "PoliticalDemocracy.csv"
TWOLEVEL = ROOT / "tests" / "data" / "demo_twolevel.csv"
SIM = ROOT / "tests" / "data" / "reference" / "sdt-sim"


def commands(folder: Path, before: Path | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    pd_model = GOLDEN["pd_ml"]["model"]
    two = folder / "twolevel.py"
    two.write_text(
        bench_sem_cluster.python_script(TWOLEVEL, bench_sem_cluster.DEMO_MODEL, "cluster", "listwise"),
        encoding="utf-8",
    )
    two_r = folder / "twolevel.R"
    two_r.write_text(
        bench_sem_cluster.r_script(TWOLEVEL, bench_sem_cluster.DEMO_MODEL, "cluster", "listwise", 1),
        encoding="utf-8",
    )
    responses, exposure = SIM / "responses_w1.csv", SIM / "continuity_truth.csv"
    cli = bench_latent.cli_command(responses, exposure, folder / "latent.json")
    cli = [sys.executable, "-c", "from sdt_survey.cli import main; main()", *cli[1:]]
    copies = {"after": str(ROOT)} | ({"before": str(before)} if before else {})
    out: dict[str, tuple[list[str], dict[str, str]]] = {}
    for case, ours, theirs in (
        ("pd", bench_sem_extensions.python_command(pd_model, PD, "ML", "listwise"),
         bench_sem_extensions.r_command(pd_model, PD, "ML", "listwise")),
        ("twolevel", [sys.executable, str(two)], ["Rscript", str(two_r)]),
        ("latent", cli, bench_latent.r_command(responses, exposure, folder / "lavaan.json")),
    ):  # fmt: skip
        for label, path in copies.items():
            out[f"{case}: ours, {label}"] = (ours, {"PYTHONPATH": path})
        out[f"{case}: Rscript"] = (theirs, {})
    out["floor: python -c pass"] = ([sys.executable, "-c", "pass"], {})
    out["floor: python, import numpy"] = ([sys.executable, "-c", "import numpy"], {})
    out["floor: python, import numpy, pandas"] = ([sys.executable, "-c", "import numpy, pandas"], {})
    out["floor: Rscript, library(lavaan)"] = (["Rscript", "-e", "suppressMessages(library(lavaan))"], {})
    out["floor: Rscript, lavaan + jsonlite"] = (
        ["Rscript", "-e", "suppressMessages({library(lavaan); library(jsonlite)})"],
        {},
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--before", type=Path, default=None, help="another copy's folder holding sdt_survey/")
    args = parser.parse_args()
    ensure_bytecode(ROOT)
    if args.before:
        ensure_bytecode(args.before)
    with tempfile.TemporaryDirectory() as tmp:
        runs = commands(Path(tmp), args.before)
        wall: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for name, (command, env) in runs.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run(command, capture_output=True, check=True, cwd=tmp, env={**os.environ, **env})
                wall[name].append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"| run ({args.rounds} rounds) | wall, median (s) | CPU, median (s) |")
    print("|---|---:|---:|")
    for name in runs:
        print(f"| {name} | {statistics.median(wall[name]):.2f} | {statistics.median(cpu[name]):.2f} |")


if __name__ == "__main__":
    main()
