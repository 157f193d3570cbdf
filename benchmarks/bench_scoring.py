"""Scoring speed and memory: 1,000,000 respondents x 24 items, 3% missing.

Times the vectorized core (reverse keys, six subscales with min_valid 3 of 4,
two composites) and, for information, the whole validated path from a data
frame of codes. Compares with R's psych::scoreItems when Rscript and psych
are installed.

    python benchmarks/bench_scoring.py [--n 1000000] [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="also time psych::scoreItems")
    args = parser.parse_args()
    bpn = sdt_survey.load_instrument("bpn-residency")
    items = make_items(args.n)
    matrix_mb = items.to_numpy().nbytes / 1e6

    seconds, _ = best_of(args.repeat, lambda: subscale_scores(reverse_key(items, [bpn]), [bpn]))
    tracemalloc.start()
    subscale_scores(reverse_key(items, [bpn]), [bpn])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"n = {args.n:,} x 24 items ({matrix_mb:.0f} MB as float64)")
    print(
        f"core scoring (reverse keys, 6 subscales, 2 composites): {seconds:.3f} s, "
        f"peak extra memory {peak / 1e6:.0f} MB = {peak / 1e6 / matrix_mb:.2f} x the item matrix"
    )

    small = items.iloc[: min(args.n, 200_000)]
    seconds_full, _ = best_of(1, lambda: sdt_survey.score(bpn, small))
    print(
        f"validated path, score(frame) incl. cell checks and careless indices, n = {len(small):,}: "
        f"{seconds_full:.3f} s"
    )

    if args.with_r and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "items.csv"
            keyed = reverse_key(items, [bpn])
            keyed.to_csv(path, index=False)
            keys = ", ".join(
                f"{sub}=c({', '.join(repr(i) for i in bpn.subscales[sub].items)})" for sub in bpn.subscales
            )
            script = (
                "suppressMessages(library(psych));"
                f"d <- read.csv('{path}'); keys <- list({keys});"
                "t <- system.time(s <- scoreItems(keys, d, impute='none', min=1, max=5))[['elapsed']];"
                "cat(t, '\\n')"
            )
            out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
            print(f"R psych::scoreItems(impute='none'): {out.stdout.strip() or out.stderr.strip()} s")


if __name__ == "__main__":
    main()
