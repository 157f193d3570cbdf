"""Continuity indices: 100,000 learners x 60 sessions (6,000,000 schedule rows).

Each learner has 60 clinic sessions on distinct days of one academic year,
with faculty drawn from a pool of 8 per clinic of 25 learners (32,000 faculty
in all) and a learner-specific probability of seeing the assigned preceptor.
Times ``continuity_indices`` from a DataFrame (sorted and shuffled rows, date
and text times, no window, academic year, 4-week blocks, faculty side), the
vectorized core alone, reading the same schedule from a CSV file, and, for
comparison, a plain per-learner loop (pandas ``groupby().apply``) and R's
per-resident loop as in ``simulate.R`` (both extrapolated from a subset).

    python benchmarks/bench_continuity.py [--learners 100000] [--sessions 60] [--repeat 3]
                                          [--with-csv] [--with-r]
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

from sdt_survey.continuity import continuity_indices, indices_from_codes


def make_schedule(learners: int, sessions: int, seed: int = 1) -> pd.DataFrame:
    """One row per session, sorted by learner and date."""
    rng = np.random.default_rng(seed)
    n = learners * sessions
    learner = np.repeat(np.arange(learners), sessions)
    # Distinct days: the `sessions` smallest of 330 random keys per learner.
    day = np.sort(np.argsort(rng.random((learners, 330)), axis=1)[:, :sessions], axis=1).ravel()
    pool = learner // 25 * 8
    assigned = pool + learner % 8
    stick = np.repeat(rng.uniform(0.2, 0.95, learners), sessions)
    faculty = np.where(rng.random(n) < stick, assigned, pool + rng.integers(0, 8, n))
    learner_ids = np.array([f"R{i:06d}" for i in range(learners)], dtype=object)
    faculty_ids = np.array([f"F{i:05d}" for i in range(int(faculty.max()) + 1)], dtype=object)
    return pd.DataFrame(
        {
            "learner": learner_ids[learner],
            "faculty": faculty_ids[faculty],
            "date": np.datetime64("2025-07-01") + day.astype("timedelta64[D]"),
            "assigned": faculty_ids[assigned],
        }
    )


def per_learner_loop(schedule: pd.DataFrame) -> pd.DataFrame:
    """The same four indices written as a Python function applied to each learner."""

    def one(sub: pd.DataFrame) -> pd.Series:
        faculty = sub.sort_values("date", kind="stable")["faculty"].to_numpy()
        n = len(faculty)
        counts = pd.Series(faculty).value_counts().to_numpy(dtype=float)
        return pd.Series(
            {
                "upc": float((faculty == sub["assigned"].to_numpy()).mean()),
                "coc": ((counts**2).sum() - n) / (n * (n - 1)),
                "secon": float((faculty[1:] == faculty[:-1]).mean()),
                "mmci": (1 - len(counts) / (n + 0.1)) / (1 - 1 / (n + 0.1)),
            }
        )

    return schedule.groupby("learner").apply(one)


R_LOOP = r"""
d <- read.csv(commandArgs(TRUE)[1], stringsAsFactors = FALSE)
started <- Sys.time()
out <- lapply(split(d, d$resident), function(s) {
  fac <- s$faculty[order(s$session_date)]; tab <- table(fac); Ns <- length(fac)
  c(upc = sum(fac == s$assigned[1]) / Ns, coc = (sum(tab^2) - Ns) / (Ns * (Ns - 1)),
    secon = sum(fac[-1] == fac[-Ns]) / (Ns - 1), mmci = (1 - length(tab) / (Ns + 0.1)) / (1 - 1 / (Ns + 0.1)))
})
cat(as.numeric(difftime(Sys.time(), started, units = "secs")), "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-csv", action="store_true", help="also read the schedule from a CSV file")
    parser.add_argument("--with-r", action="store_true", help="also time R's per-resident loop (subset)")
    args = parser.parse_args()

    schedule = make_schedule(args.learners, args.sessions)
    rows = len(schedule)
    print(f"{args.learners:,} learners x {args.sessions} sessions = {rows:,} rows (best of {args.repeat})")
    kwargs = {"assigned_column": "assigned"}

    def report(label: str, function, repeat: int = args.repeat) -> object:
        seconds, result = best_of(repeat, function)
        print(f"  {label:<62} {seconds:7.2f} s")
        return result

    result = report(
        "continuity_indices(frame), rows sorted by learner and date",
        lambda: continuity_indices(schedule, **kwargs),
    )
    assert len(result.indices) == args.learners
    report("  window='academic-year'", lambda: continuity_indices(schedule, window="academic-year", **kwargs))
    blocks = report(
        "  window='block:4' (4-week blocks)", lambda: continuity_indices(schedule, window="block:4", **kwargs)
    )
    print(f"  {'':<64}({len(blocks.indices):,} learner-blocks)")
    report("  side='faculty'", lambda: continuity_indices(schedule, side="faculty", **kwargs))
    shuffled = schedule.sample(frac=1, random_state=2).reset_index(drop=True)
    report("  rows in random order", lambda: continuity_indices(shuffled, **kwargs))
    text_dates = schedule.assign(date=schedule["date"].dt.strftime("%Y-%m-%d"))
    report("  dates as text (YYYY-MM-DD)", lambda: continuity_indices(text_dates, **kwargs))

    codes = pd.factorize(schedule["learner"])[0]
    faculty = pd.factorize(schedule["faculty"])[0]
    match = (schedule["faculty"] == schedule["assigned"]).to_numpy()
    report(
        "indices_from_codes (the vectorized core, integer codes)",
        lambda: indices_from_codes(codes, faculty, assigned_match=match),
    )

    tracemalloc.start()
    continuity_indices(schedule, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    frame_mb = schedule.memory_usage(deep=True).sum() / 1e6
    print(
        f"  peak extra memory of continuity_indices(frame): {peak / 1e6:.0f} MB "
        f"(the frame: {frame_mb:.0f} MB)"
    )

    subset_learners = min(args.learners, 2_000)
    subset = schedule.iloc[: subset_learners * args.sessions]
    seconds, _ = best_of(1, lambda: per_learner_loop(subset))
    print(
        f"per-learner loop (groupby.apply), {subset_learners:,} learners: {seconds:.2f} s "
        f"-> about {seconds * args.learners / subset_learners:.0f} s for {args.learners:,}"
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schedule.csv"
        if args.with_csv:
            text_dates.to_csv(path, index=False)
            report(
                "continuity_indices('schedule.csv'): read + check + compute",
                lambda: continuity_indices(path, **kwargs),
                1,
            )
        if args.with_r and shutil.which("Rscript"):
            r_learners = min(args.learners, 5_000)
            r_path = Path(folder) / "subset.csv"
            text_dates.iloc[: r_learners * args.sessions].rename(
                columns={"learner": "resident", "date": "session_date"}
            ).to_csv(r_path, index=False)
            script = Path(folder) / "loop.R"
            script.write_text(R_LOOP)
            out = subprocess.run(
                ["Rscript", str(script), str(r_path)], capture_output=True, text=True, check=True
            )
            r_seconds = float(out.stdout.split()[0])
            print(
                f"R per-resident loop as in simulate.R, {r_learners:,} learners: {r_seconds:.2f} s "
                f"-> about {r_seconds * args.learners / r_learners:.0f} s for {args.learners:,}"
            )


if __name__ == "__main__":
    main()
