"""Monte-Carlo power and model fitting speed.

Times (1) one model fit of reference.R's model and of the nested-waves model,
with and without the extras (null-model ICC, likelihood-ratio test, curve);
(2) the parts of one power replicate (simulate, score + COC, fit); (3) a
power grid run sequentially, with joblib on the local cores, and on a Dask
LocalCluster (when distributed is installed), checking that all backends give
identical results; (4) optionally lme4 on the same model via Rscript.

    python benchmarks/bench_power.py [--replicates 50] [--repeat 3] [--with-r] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

from sdt_survey.mixed import fit_model
from sdt_survey.power import power_analysis, power_formula, simulate_analysis_data

GRID = {"n_programs": [8, 14, 20], "effect": [0.15, 0.3]}
FORMULA = "relatedness_satisfaction ~ coc + pgy + (1|program)"


def comparable(result) -> pd.DataFrame:
    return result.replicates.drop(columns=["seconds"])


def time_lme4(data: pd.DataFrame, repeat: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.csv")
        data.to_csv(path, index=False)
        script = (
            "suppressMessages(library(lme4)); d <- read.csv(commandArgs(TRUE)[1]);"
            f"t <- min(sapply(1:{repeat}, function(i) system.time(lmer({FORMULA}, data=d))[['elapsed']]));"
            "cat(t)"
        )
        out = subprocess.run(["Rscript", "-e", script, path], capture_output=True, text=True, check=False)
    try:
        return float(out.stdout.strip())
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=50, help="replicates per grid cell")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="also time lme4::lmer on the same data")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )

    # 1. One fit, with and without the extras (default design: 14 programs of 30 residents).
    data = simulate_analysis_data({"n_programs": 14}, seed=1)
    waves = simulate_analysis_data({"n_programs": 14, "n_waves": 2}, seed=1)
    print(
        f"\n1. fit_model on {len(data)} rows (14 programs) and {len(waves)} rows (2 waves), "
        f"best of {args.repeat}"
    )
    rows = [
        ("REML fit only", lambda: fit_model(FORMULA, data, lrt=False, null_model=False, curve=False)),
        ("REML + null ICC + LRT (2 ML refits) + curve", lambda: fit_model(FORMULA, data)),
        (
            "nested waves (1|program/resident), fit only",
            lambda: fit_model(power_formula(2), waves, lrt=False, null_model=False, curve=False),
        ),
        ("nested waves, with all extras", lambda: fit_model(power_formula(2), waves)),
    ]
    for label, function in rows:
        seconds, _ = best_of(args.repeat, function)
        print(f"   {label:<48} {seconds:7.3f} s")
    if args.with_r:
        seconds = time_lme4(data, args.repeat)
        print(f"   {'lme4::lmer, same model and data (REML fit only)':<48} {seconds if seconds else 'n/a'} s")

    # 2. One replicate, by part.
    from sdt_survey.power import _replicate

    cell = {"n_programs": 14}
    started = time.perf_counter()
    for seed in range(10):
        simulate_analysis_data(cell, seed)
    simulate_seconds = (time.perf_counter() - started) / 10
    started = time.perf_counter()
    for seed in range(10):
        _replicate(cell, seed, "wald", 0.05, "bpn-residency")
    replicate_seconds = (time.perf_counter() - started) / 10
    print("\n2. one replicate, 14 programs x 30 residents (mean of 10)")
    print(f"   simulate + score + COC   {simulate_seconds:.3f} s")
    print(f"   whole replicate (+ fit)  {replicate_seconds:.3f} s")

    # 3. A grid.
    cells = int(np.prod([len(v) for v in GRID.values()]))
    total = cells * args.replicates
    print(f"\n3. power grid {GRID}: {cells} cells x {args.replicates} replicates = {total} fits")
    started = time.perf_counter()
    sequential = power_analysis(GRID, n_replicates=args.replicates, seed=1, n_jobs=1)
    t_seq = time.perf_counter() - started
    print(
        f"   sequential                       {t_seq:7.1f} s  ({t_seq / total * 1000:.0f} ms per replicate)"
    )
    started = time.perf_counter()
    local = power_analysis(GRID, n_replicates=args.replicates, seed=1, n_jobs=-1)
    t_local = time.perf_counter() - started
    same = comparable(local).equals(comparable(sequential))
    print(f"   joblib, all local cores          {t_local:7.1f} s  identical to sequential: {same}")
    if not args.no_dask:
        try:
            from distributed import LocalCluster
        except ImportError:
            print("   dask: distributed is not installed")
        else:
            with LocalCluster(
                n_workers=os.cpu_count() or 1, threads_per_worker=1, dashboard_address=None
            ) as c:
                started = time.perf_counter()
                dask = power_analysis(
                    GRID, n_replicates=args.replicates, seed=1, dask_scheduler=c.scheduler_address
                )
                t_dask = time.perf_counter() - started
            same = comparable(dask).equals(comparable(sequential))
            print(f"   dask LocalCluster (processes)    {t_dask:7.1f} s  identical to sequential: {same}")
    print()
    print(sequential.summary())


if __name__ == "__main__":
    main()
