"""Intake, whole process: ``sdt-survey score`` on a CSV against R's read.csv + psych::scoreItems.

What a user runs, timed and measured from outside: the process's wall-clock
time and its peak resident memory (``/usr/bin/time -f %M``, else
``getrusage`` of the child), for CSV files of ``--n`` respondents (default
1,000,000 and 5,000,000): an id, a program, PGY, the 24 bpn-residency items
on 1-5 with 3% left empty, and the wave.

    sdt-survey score bpn-residency FILE.csv --id-column resident --out scores.csv

reads the file, checks every cell, applies the reverse keys, scores the six
subscales and two composites with their ``min_valid`` rules, computes the
careless-responding indices, audits the keying and writes the scores. R's
side reads the same file with ``read.csv``, scores the six subscales with
``psych::scoreItems(keys, impute = "none")`` (reverse keys as ``-item``) and
writes the scores with ``write.csv``. Each size is run ``--repeat`` times as
pairs (ours, then R's) and the median of each is reported. The generated
files are deleted afterwards (5,000,000 rows take about 400 MB).

    python benchmarks/bench_intake.py [--n 1000000 5000000] [--repeat 3] [--no-r]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import sdt_survey

BLOCK = 500_000


def write_csv(path: Path, n: int, seed: int = 1) -> None:
    """``n`` simulated respondents as a CSV, written block by block (bounded memory)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    items = list(sdt_survey.load_instrument("bpn-residency").item_ids)
    rng = np.random.default_rng(seed)
    names = ["resident", "program", "pgy", *items, "wave"]
    schema = pa.schema(
        [("resident", pa.string()), ("program", pa.string())] + [(c, pa.int8()) for c in names[2:]]
    )
    options = pa_csv.WriteOptions(quoting_style="needed")
    with pa_csv.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, n, BLOCK):
            m = min(BLOCK, n - start)
            ids = np.char.add("R", np.char.zfill(np.arange(start + 1, start + m + 1).astype(str), 7))
            programs = np.char.add("P", np.char.zfill(rng.integers(1, 41, m).astype(str), 2))
            columns = [pa.array(ids), pa.array(programs), pa.array(rng.integers(1, 6, m).astype(np.int8))]
            for _ in items:
                answers = rng.integers(1, 6, m).astype(np.int8)
                columns.append(pa.array(answers, mask=rng.random(m) < 0.03))
            columns.append(pa.array(np.ones(m, dtype=np.int8)))
            writer.write_table(pa.table(columns, schema=schema))


def r_script(path: Path, out: Path) -> str:
    bpn = sdt_survey.load_instrument("bpn-residency")
    keys = ", ".join(
        f"{name}=c({', '.join(repr(('-' if bpn.item(i).reverse else '') + i) for i in sub.items)})"
        for name, sub in bpn.subscales.items()
    )
    return (
        "suppressMessages(library(psych));"
        f"d <- read.csv('{path}'); keys <- list({keys});"
        "s <- scoreItems(keys, d, impute='none', min=1, max=5);"
        f"write.csv(s$scores, '{out}', row.names=FALSE)"
    )


def measured(command: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and peak resident memory (MB) of one run of ``command``."""
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    started = time.perf_counter()
    if timer:
        done = subprocess.run([timer, "-f", "%M", *command], capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak_kb = float(done.stderr.strip().splitlines()[-1])
    else:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return seconds, peak_kb / 1024


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="paired runs per size (the median is shown)")
    parser.add_argument("--no-r", action="store_true", help="skip R's read.csv + psych::scoreItems")
    args = parser.parse_args()
    with_r = not args.no_r and shutil.which("Rscript") is not None
    # The package this script imports (a checkout on PYTHONPATH or the installed one), run as the
    # console script runs it.
    ours_command = [sys.executable, "-c", "from sdt_survey.cli import main; main()"]
    rows = []
    for n in args.n:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "responses.csv"
            write_csv(path, n)
            size = path.stat().st_size / 2**20
            ours: list[tuple[float, float]] = []
            theirs: list[tuple[float, float]] = []
            for _ in range(args.repeat):
                out = Path(folder) / "scores.csv"
                out.unlink(missing_ok=True)
                command = ["score", "bpn-residency", str(path), "--id-column", "resident", "--out", str(out)]
                ours.append(measured([*ours_command, *command]))
                if with_r:
                    r_out = Path(folder) / "scores_r.csv"
                    theirs.append(measured(["Rscript", "-e", r_script(path, r_out)]))
        seconds = statistics.median(t for t, _ in ours)
        peak = statistics.median(m for _, m in ours)
        r_seconds = statistics.median(t for t, _ in theirs) if theirs else float("nan")
        r_peak = statistics.median(m for _, m in theirs) if theirs else float("nan")
        rows.append((n, size, peak, peak / size, seconds, r_peak, r_seconds))
        print(
            f"n = {n:,}: file {size:.0f} MB; sdt-survey score peak {peak:,.0f} MB ({peak / size:.1f}x the "
            f"file), {seconds:.1f} s; R read.csv + scoreItems peak {r_peak:,.0f} MB, {r_seconds:.1f} s",
            flush=True,
        )
    print("\n| rows | file | sdt-survey score: peak RSS | ratio to file | time | R: peak RSS | R: time |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, size, peak, ratio, seconds, r_peak, r_seconds in rows:
        print(
            f"| {n:,} | {size:.0f} MB | {peak:,.0f} MB | {ratio:.1f}x | {seconds:.1f} s "
            f"| {r_peak:,.0f} MB | {r_seconds:.1f} s |"
        )


if __name__ == "__main__":
    main()
