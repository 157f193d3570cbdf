"""The leader report on a two-wave study of 10,000 residents, whole process, as a user runs it.

Simulates ``bpn-residency`` in 50 programs of 200 residents (10,000 at wave 1, the attrition of the
simulator at wave 2) with the clinic schedule, then times ``sdt-survey report`` (reading and
validating both waves, reliability, CFA and invariance, the continuity indices and the mixed model
with its latent counterpart, cohort tables, the HTML and JSON) in a fresh process, with its peak
resident memory (``/usr/bin/time -f %M``). Median of ``--repeat`` runs. Nothing is written outside a
temporary folder.

    python benchmarks/bench_report.py [--repeat 3] [--programs 50] [--per-program 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def run_report(folder: Path) -> tuple[float, int]:
    """Seconds and peak resident memory (KB) of one whole-process report."""
    data = folder / "data"
    command = [
        *(shutil.which("sdt-survey") or "sdt-survey", "report", "bpn-residency"),
        *("--responses", str(data / "responses_w1.csv"), str(data / "responses_w2.csv")),
        *("--id-column", "resident", "--by", "pgy", "--schedule", str(data / "schedule.csv")),
        *("--time-column", "session_date", "--assigned-column", "assigned"),
        *("--out", str(folder / "report.html"), "--no-ledger", "--quiet", "--force"),
    ]
    timed = ["/usr/bin/time", "-f", "%M", *command] if Path("/usr/bin/time").exists() else command
    started = time.perf_counter()
    done = subprocess.run(timed, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1]) if timed is not command else 0
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--programs", type=int, default=50)
    parser.add_argument("--per-program", type=int, default=200)
    args = parser.parse_args()
    from sdt_survey.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim = simulate(
            "bpn-residency",
            seed=7,
            n_programs=args.programs,
            residents_per_program=(args.per_program, args.per_program),
            n_waves=2,
        )
        sim.write_folder(folder / "data")
        waves = sim.responses["wave"].value_counts().sort_index().tolist()
        runs = [run_report(folder) for _ in range(args.repeat)]
        seconds = statistics.median(s for s, _ in runs)
        peak = statistics.median(p for _, p in runs)
        print(f"respondents per wave: {waves}; schedule rows: {len(sim.schedule)}")
        print(f"sdt-survey report: median {seconds:.1f} s of {args.repeat}, peak {peak / 1024:.0f} MB")


if __name__ == "__main__":
    main()
