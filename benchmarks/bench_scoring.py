"""Scoring speed and memory: 1,000,000 respondents x 24 items, 3% missing.

Times the vectorized core (reverse keys, six subscales with min_valid 3 of 4,
two composites) and the whole validated path users run, ``score(instrument,
frame)``: every cell checked, the data-quality report, reverse keys, scores,
the careless-responding indices and the keying audit. With ``--with-r`` it
times R's ``psych::scoreItems(keys, d, impute = "none")`` on the same data in
the same run (reverse keys given as ``-item``), inside R (``system.time``) and
as a whole ``Rscript`` process (``read.csv`` included), and prints the ratio.

    python benchmarks/bench_scoring.py [--n 1000000] [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

import sdt_survey
from sdt_survey.scoring import reverse_key, subscale_scores


def make_items(n: int, seed: int = 1) -> pd.DataFrame:
    bpn = sdt_survey.load_instrument("bpn-residency")
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 6, size=(n, len(bpn.item_ids))).astype(float)
    values[rng.random(values.shape) < 0.03] = np.nan
    return pd.DataFrame(values, columns=bpn.item_ids)


def peak_extra_mb(function) -> float:
    """Peak memory allocated while ``function`` runs (tracemalloc, which numpy reports to), in MB."""
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def r_script(path: Path, bpn) -> str:
    def keyed(item: str) -> str:
        return repr(("-" if bpn.item(item).reverse else "") + item)

    keys = ", ".join(
        f"{sub}=c({', '.join(keyed(i) for i in subscale.items)})" for sub, subscale in bpn.subscales.items()
    )
    return (
        "suppressMessages(library(psych));"
        f"d <- read.csv('{path}'); keys <- list({keys});"
        "t <- system.time(s <- scoreItems(keys, d, impute='none', min=1, max=5))[['elapsed']];"
        "cat(t, '\\n')"
    )


def time_r(items: pd.DataFrame, bpn) -> tuple[float, float] | str:
    """psych::scoreItems on ``items``: seconds inside R, and seconds of the whole Rscript process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.csv"
        items.to_csv(path, index=False)
        started = time.perf_counter()
        command = ["Rscript", "-e", r_script(path, bpn)]
        out = subprocess.run(command, capture_output=True, text=True, check=False)
        whole = time.perf_counter() - started
    try:
        return float(out.stdout.split()[-1]), whole
    except (IndexError, ValueError):
        return out.stderr.strip() or "no output"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="also time psych::scoreItems in the same run")
    args = parser.parse_args()
    bpn = sdt_survey.load_instrument("bpn-residency")
    items = make_items(args.n)
    matrix_mb = items.to_numpy().nbytes / 1e6
    print(f"n = {args.n:,} x 24 items ({matrix_mb:.0f} MB as float64)")

    seconds, _ = best_of(args.repeat, lambda: subscale_scores(reverse_key(items, [bpn]), [bpn]))
    peak = peak_extra_mb(lambda: subscale_scores(reverse_key(items, [bpn]), [bpn]))
    print(
        f"core scoring (reverse keys, 6 subscales, 2 composites): {seconds:.3f} s, "
        f"peak extra memory {peak:.0f} MB = {peak / matrix_mb:.2f} x the item matrix"
    )

    seconds_full, scored = best_of(args.repeat, lambda: sdt_survey.score(bpn, items))
    assert len(scored.scores) == args.n and "mahalanobis_p" in scored.scores
    peak_full = peak_extra_mb(lambda: sdt_survey.score(bpn, items))
    print(
        "validated path, score(frame): every cell checked, report, scores, careless indices, keying audit: "
        f"{seconds_full:.3f} s (best of {args.repeat}), "
        f"peak extra memory {peak_full:.0f} MB = {peak_full / matrix_mb:.2f} x the item matrix"
    )

    if args.with_r and shutil.which("Rscript"):
        timed = time_r(items, bpn)
        if isinstance(timed, str):
            print(f"R psych::scoreItems failed: {timed}")
            return
        inside, whole = timed
        print(
            f"R psych::scoreItems(impute='none'), same data: {inside:.2f} s inside R; "
            f"whole Rscript process (read.csv + scoreItems) {whole:.2f} s"
        )
        print(f"ratio: psych::scoreItems / score(frame) = {inside / seconds_full:.1f} x")


if __name__ == "__main__":
    main()
