"""Reliability speed: bootstrap intervals of alpha for a 24-item, 6-subscale instrument.

10,000 respondents answer the 24 items of bpn-residency (6 subscales of 4
items, 1-5 scale, correlated within subscale, 3% missing completely at
random). Times, best of ``--repeat``:

- ``reliability_table(bootstrap=2000)``: every coefficient of the six
  subscales plus 2,000-resample percentile and BCa intervals (one set of
  resamples shared by all subscales), the target being < 2 s;
- the vectorized bootstrap alone, and ``alpha(bootstrap=2000)`` per subscale;
- side by side with ``pingouin.cronbach_alpha`` where it applies: the point
  estimate with its Feldt interval, and a bootstrap written as a loop of
  pingouin calls (timed on ``--loop-resamples`` resamples, extrapolated);
- with ``--with-r``, psych::alpha(n.iter = 2000) on one subscale (R's own
  bootstrap, percentile only).

    python benchmarks/bench_reliability.py [--n 10000] [--boot 2000] [--repeat 3] [--with-r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

import sdt_survey
from sdt_survey import reliability as rel


def make_items(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Keyed answers on a 1-5 scale: one latent trait per subscale, 3% missing."""
    bpn = sdt_survey.load_instrument("bpn-residency")
    subscales = {sid: list(s.items) for sid, s in bpn.subscales.items()}
    rng = np.random.default_rng(seed)
    traits = rng.normal(size=(n, len(subscales)))
    columns, blocks = [], []
    for j, items in enumerate(subscales.values()):
        noise = rng.normal(size=(n, len(items)))
        blocks.append(np.clip(np.round(3 + 0.9 * traits[:, [j]] + noise), 1, 5))
        columns += items
    values = np.hstack(blocks)
    values[rng.random(values.shape) < 0.03] = np.nan
    return pd.DataFrame(values, columns=columns), subscales


def pingouin_bootstrap(
    frame: pd.DataFrame, subscales: dict[str, list[str]], n_boot: int, seed: int
) -> np.ndarray:
    """What a bootstrap looks like without vectorization: one pingouin call per resample and subscale."""
    import pingouin

    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(subscales)))
    for b in range(n_boot):
        sample = frame.iloc[rng.integers(0, len(frame), len(frame))]
        for j, items in enumerate(subscales.values()):
            out[b, j] = pingouin.cronbach_alpha(data=sample[items])[0]
    return out


R_SCRIPT = """
suppressMessages(library(psych))
x <- read.csv(commandArgs(TRUE)[1])
set.seed(1)
t <- system.time(a <- psych::alpha(x, n.iter = as.integer(commandArgs(TRUE)[2]), warnings = FALSE))
cat(t[["elapsed"]], a$boot.ci[[1]], a$boot.ci[[3]], "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--boot", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--loop-resamples", type=int, default=50, help="resamples timed for the pingouin loop"
    )
    parser.add_argument("--with-r", action="store_true", help="also time psych::alpha(n.iter = --boot)")
    args = parser.parse_args()
    items, subscales = make_items(args.n)
    first = next(iter(subscales))
    warnings.simplefilter("ignore")
    print(
        f"n = {args.n:,} respondents x {items.shape[1]} items, {len(subscales)} subscales, "
        f"{args.boot:,} resamples"
    )
    print(f"cpus: {os.cpu_count()}, numpy {np.__version__}, pandas {pd.__version__}\n")

    rows: list[tuple[str, float, str]] = []
    seconds, report = best_of(
        args.repeat, lambda: rel.reliability_table(items, subscales, bootstrap=args.boot, seed=1)
    )
    rows.append(
        (f"reliability_table(bootstrap={args.boot}): 6 subscales, all coefficients + BCa", seconds, "")
    )
    seconds, _ = best_of(args.repeat, lambda: rel.reliability_table(items, subscales))
    rows.append(("reliability_table(): same without bootstrap (alpha, omega, item stats)", seconds, ""))
    blocks = [items[cols].to_numpy() for cols in subscales.values()]
    seconds, _ = best_of(
        args.repeat,
        lambda: rel._BootDesign(blocks).bootstrap(args.boot, np.random.default_rng(1)),
    )
    rows.append((f"vectorized bootstrap core only ({args.boot} resamples x 6 subscales)", seconds, ""))
    seconds, _ = best_of(
        args.repeat,
        lambda: [rel.alpha(items[cols], bootstrap=args.boot, seed=1) for cols in subscales.values()],
    )
    rows.append((f"alpha(bootstrap={args.boot}) called once per subscale (6 calls)", seconds, ""))

    seconds, _ = best_of(args.repeat, lambda: [rel.alpha(items[cols]) for cols in subscales.values()])
    rows.append(("alpha() x 6: point, Feldt, Duhachek, item table, alpha if deleted", seconds, ""))
    try:
        import pingouin
    except ImportError:  # pragma: no cover
        pingouin = None
    if pingouin is not None:
        seconds, _ = best_of(
            args.repeat, lambda: [pingouin.cronbach_alpha(data=items[cols]) for cols in subscales.values()]
        )
        rows.append(("pingouin.cronbach_alpha x 6: point and Feldt interval only", seconds, ""))
        k = args.loop_resamples
        seconds, _ = best_of(1, lambda: pingouin_bootstrap(items, subscales, k, seed=1))
        rows.append(
            (
                f"bootstrap as a loop of pingouin calls ({args.boot} x 6)",
                seconds * args.boot / k,
                f"extrapolated from {k} resamples",
            )
        )

    if args.with_r and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "x.csv"
            items[subscales[first]].to_csv(csv, index=False, na_rep="NA")
            script = Path(tmp) / "boot.R"
            script.write_text(R_SCRIPT)
            out = subprocess.run(
                ["Rscript", str(script), str(csv), str(args.boot)], capture_output=True, text=True, check=True
            )
            elapsed, lo, hi = (float(v) for v in out.stdout.split())
            rows.append(
                (
                    f"psych::alpha(n.iter={args.boot}) on one subscale",
                    elapsed,
                    f"x 6 subscales = {6 * elapsed:.1f} s; percentile CI [{lo:.4f}, {hi:.4f}]",
                )
            )

    width = max(len(r[0]) for r in rows)
    print(f"{'task':<{width}}  {'seconds':>8}  note")
    for task, secs, note in rows:
        print(f"{task:<{width}}  {secs:8.3f}  {note}")
    res = report.scales[first]
    print(
        f"\n{first}: alpha {res.alpha:.4f}; Feldt [{res.ci_feldt[0]:.4f}, {res.ci_feldt[1]:.4f}]; "
        f"Duhachek [{res.ci_duhachek[0]:.4f}, {res.ci_duhachek[1]:.4f}]; "
        f"bootstrap percentile [{res.ci_bootstrap_percentile[0]:.4f}, {res.ci_bootstrap_percentile[1]:.4f}], "
        f"BCa [{res.ci_bootstrap_bca[0]:.4f}, {res.ci_bootstrap_bca[1]:.4f}]"
    )


if __name__ == "__main__":
    main()
