"""Scoring speed and memory: 1,000,000 respondents x 24 items, 3% missing.

Times the vectorized core (reverse keys, six subscales with min_valid 3 of 4,
two composites) and the whole validated path users run, ``score(instrument,
frame)``: every cell checked, the data-quality report, reverse keys, scores,
the careless-responding indices and the keying audit. With ``--with-r`` it
times R's ``psych::scoreItems(keys, d, impute = "none")`` on the same data in
the same run (reverse keys given as ``-item``), inside R (``system.time``) and
as a whole ``Rscript`` process (``read.csv`` included). The comparison is paired:
each of ``--repeat`` rounds times ``score(frame)`` and then R back to back, and
the medians and the median of the per-round ratios are printed (on a shared
machine the load changes between rounds, not within one).

    python benchmarks/bench_scoring.py [--n 1000000] [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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


def time_r(path: Path, bpn) -> tuple[float, float] | str:
    """psych::scoreItems on the CSV at ``path``: seconds inside R, and of the whole Rscript process."""
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

    peak_full = peak_extra_mb(lambda: sdt_survey.score(bpn, items))
    with_r = args.with_r and shutil.which("Rscript") is not None
    ours: list[float] = []
    theirs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.csv"
        if with_r:
            items.to_csv(path, index=False)
        for _ in range(args.repeat):  # paired rounds: ours, then R's, back to back
            started = time.perf_counter()
            scored = sdt_survey.score(bpn, items)
            ours.append(time.perf_counter() - started)
            assert len(scored.scores) == args.n and "mahalanobis_p" in scored.scores
            del scored
            if with_r:
                timed = time_r(path, bpn)
                if isinstance(timed, str):
                    raise SystemExit(f"R psych::scoreItems failed: {timed}")
                theirs.append(timed)
            print(
                f"  round {len(ours)}: score(frame) {ours[-1]:.3f} s"
                + (f"; psych::scoreItems {theirs[-1][0]:.2f} s inside R" if theirs else ""),
                flush=True,
            )
    print(
        "validated path, score(frame): every cell checked, report, scores, careless indices, keying audit: "
        f"{statistics.median(ours):.3f} s (median of {args.repeat}; best {min(ours):.3f} s), "
        f"peak extra memory {peak_full:.0f} MB = {peak_full / matrix_mb:.2f} x the item matrix"
    )
    if theirs:
        inside = statistics.median(t for t, _ in theirs)
        whole = statistics.median(w for _, w in theirs)
        ratios = [t / o for (t, _), o in zip(theirs, ours, strict=True)]
        print(
            f"R psych::scoreItems(impute='none'), same data: {inside:.2f} s inside R (median); "
            f"whole Rscript process (read.csv + scoreItems) {whole:.2f} s"
        )
        print(
            "ratio psych::scoreItems / score(frame): median of the paired rounds "
            f"{statistics.median(ratios):.1f} x (rounds: {', '.join(f'{r:.1f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
