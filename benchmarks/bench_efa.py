"""EFA speed and agreement: sdt_survey.factor side by side with factor_analyzer and psych.

Two data sets:

- **bfi**: psych's 25 personality items, 2,800 people, 5 factors, a few
  missing answers (``--bfi``, default ``../shared/reference/public/bfi.csv``);
- **sim**: 10,000 simulated respondents x the 24 items of bpn-residency
  (6 subscales of 4 items, 1-5 scale, 3% missing completely at random), 6 factors.

Times, best of ``--repeat``, of ``efa`` (minres + oblimin, ml + promax,
pa + varimax, minres + geomin, wls + bifactor, gls + bentlerQ), ``kmo`` + ``bartlett``,
``parallel_analysis(n_iter=20)`` and ``factor_report`` (all of it); of
factor_analyzer's ``FactorAnalyzer.fit`` (which imputes medians: psych and we
use pairwise correlations) and ``calculate_kmo``; and with ``--with-r`` of
psych::fa, psych::KMO and psych::fa.parallel(n.iter = 20) in R. The last
columns give the largest loading difference from psych::fa (ours: same
factor names and order as psych; factor_analyzer: after matching each psych
factor to its closest column and sign).

    python benchmarks/bench_efa.py [--n 10000] [--repeat 3] [--with-r] [--bfi PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
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
from sdt_survey.factor import bartlett, efa, factor_report, kmo, parallel_analysis

ROOT = Path(__file__).resolve().parents[1]
EFA_CASES = [
    ("minres", "oblimin"),
    ("ml", "promax"),
    ("pa", "varimax"),
    ("minres", "geomin"),
    ("wls", "bifactor"),  # issue 15: psych's wls path and bifactor rotation
    ("gls", "bentlerQ"),
]
R_ROTATE = {"geomin": "geominQ"}


def make_items(n: int, seed: int = 1) -> pd.DataFrame:
    """Keyed answers on a 1-5 scale: one latent trait per subscale (correlated), 3% missing."""
    bpn = sdt_survey.load_instrument("bpn-residency")
    subscales = [list(s.items) for s in bpn.subscales.values()]
    rng = np.random.default_rng(seed)
    k = len(subscales)
    corr = np.full((k, k), 0.3) + 0.7 * np.eye(k)
    traits = rng.normal(size=(n, k)) @ np.linalg.cholesky(corr).T
    columns, blocks = [], []
    for j, items in enumerate(subscales):
        noise = rng.normal(size=(n, len(items)))
        blocks.append(np.clip(np.round(3 + 0.9 * traits[:, [j]] + noise), 1, 5))
        columns += items
    values = np.hstack(blocks)
    values[rng.random(values.shape) < 0.03] = np.nan
    return pd.DataFrame(values, columns=columns)


def patch_factor_analyzer():
    """factor_analyzer 0.5.1 calls check_array(force_all_finite=...), removed in scikit-learn 1.8."""
    try:
        import factor_analyzer.factor_analyzer as fam
        from sklearn.utils import check_array
    except ImportError:
        return None

    def check(x, force_all_finite=True, **kw):
        try:
            return check_array(x, force_all_finite=force_all_finite, **kw)
        except TypeError:
            return check_array(x, ensure_all_finite=force_all_finite, **kw)

    fam.check_array = check
    return fam


def matched_difference(theirs: np.ndarray, psych: pd.DataFrame) -> float:
    """Largest loading difference after matching each psych factor to a column and sign."""
    return max(
        min(
            min(np.abs(s * theirs[:, j] - psych[c].to_numpy()).max() for s in (1, -1))
            for j in range(theirs.shape[1])
        )
        for c in psych.columns
    )


R_SCRIPT = """
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
args <- commandArgs(TRUE); x <- read.csv(args[1]); nf <- as.integer(args[2]); reps <- as.integer(args[3])
last <- NULL
best <- function(fun) min(sapply(seq_len(reps), function(i) system.time(last <<- fun())[["elapsed"]]))
quiet <- function(expr) suppressWarnings(suppressMessages(expr))
out <- list()
for (case in list(c("minres", "oblimin"), c("ml", "promax"), c("pa", "varimax"), c("minres", "geominQ"),
                  c("wls", "bifactor"), c("gls", "bentlerQ"))) {
  t <- best(function() quiet(fa(x, nf, fm = case[1], rotate = case[2])))
  L <- unclass(last$loadings)
  out[[paste(case, collapse = "_")]] <- list(seconds = t, loadings = lapply(seq_len(nrow(L)),
    function(i) as.list(L[i, ])) |> setNames(rownames(L)))
}
kb <- function() list(KMO(x), cortest.bartlett(cor(x, use = "pairwise"), n = nrow(x)))
out$kmo <- list(seconds = best(kb))
set.seed(1)
t <- system.time(p <- quiet(fa.parallel(x, n.iter = 20, plot = FALSE)))
out$parallel <- list(seconds = t[["elapsed"]], nfact = p$nfact, ncomp = p$ncomp)
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def run_r(items: pd.DataFrame, nf: int, repeat: int) -> dict | None:
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "x.csv"
        items.to_csv(csv, index=False, na_rep="NA")
        script = Path(tmp) / "efa.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), str(nf), str(repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(name: str, items: pd.DataFrame, nf: int, repeat: int, with_r: bool) -> list[tuple[str, float, str]]:
    threads = importlib.import_module("sdt_survey.stats.threads")  # the one-BLAS-thread limit
    rows: list[tuple[str, float, str]] = []
    r = run_r(items, nf, repeat) if with_r else None
    ours: dict[str, pd.DataFrame] = {}
    for fm, rot in EFA_CASES:
        seconds, res = best_of(repeat, lambda fm=fm, rot=rot: efa(items, nf, fm=fm, rotate=rot))
        ours[f"{fm}_{rot}"] = res.loadings
        note = ""
        if r is not None:
            gl = pd.DataFrame.from_dict(r[f"{fm}_{R_ROTATE.get(rot, rot)}"]["loadings"], orient="index")
            diff = np.abs(res.loadings.loc[gl.index, gl.columns] - gl).max().max()
            note = f"max |loading - psych| = {diff:.1e}"
        rows.append((f"{name}: efa(fm={fm!r}, rotate={rot!r})", seconds, note))
        if r is not None:
            case = f"{fm}_{R_ROTATE.get(rot, rot)}"
            rows.append(
                (f"{name}: psych::fa(fm={fm!r}, rotate={R_ROTATE.get(rot, rot)!r})", r[case]["seconds"], "")
            )
    saved = threads.ThreadpoolController
    threads.ThreadpoolController = None
    try:
        seconds, _ = best_of(repeat, lambda: efa(items, nf))
    finally:
        threads.ThreadpoolController = saved
    rows.append((f"{name}: efa(minres, oblimin) without the one-BLAS-thread limit", seconds, ""))
    seconds, _ = best_of(repeat, lambda: (kmo(items), bartlett(items)))
    rows.append((f"{name}: kmo + bartlett", seconds, ""))
    if r is not None:
        rows.append((f"{name}: psych::KMO + cortest.bartlett", r["kmo"]["seconds"], ""))
    seconds, pa = best_of(repeat, lambda: parallel_analysis(items, n_iter=20, seed=1))
    rows.append(
        (
            f"{name}: parallel_analysis(n_iter=20)",
            seconds,
            f"{pa.n_factors} factors, {pa.n_components} components",
        )
    )
    if r is not None:
        rows.append(
            (
                f"{name}: psych::fa.parallel(n.iter=20)",
                r["parallel"]["seconds"],
                f"{r['parallel']['nfact']} factors, {r['parallel']['ncomp']} components",
            )
        )
    seconds, _ = best_of(repeat, lambda: factor_report(items, seed=1))
    rows.append((f"{name}: factor_report (KMO, Bartlett, parallel analysis, EFA)", seconds, ""))

    fam = patch_factor_analyzer()
    if fam is not None:
        from factor_analyzer import FactorAnalyzer, calculate_kmo

        for fm, rot, psych_case in (
            ("minres", "oblimin", "minres_oblimin"),
            ("ml", "promax", "ml_promax"),
            ("minres", "geomin_obl", "minres_geominQ"),
        ):
            seconds, fa = best_of(
                repeat, lambda fm=fm, rot=rot: FactorAnalyzer(nf, rotation=rot, method=fm).fit(items)
            )
            note = "median imputation"
            if r is not None:
                gl = pd.DataFrame.from_dict(r[psych_case]["loadings"], orient="index").loc[items.columns]
                note += f"; max |loading - psych| = {matched_difference(fa.loadings_, gl):.1e}"
            rows.append((f"{name}: factor_analyzer(method={fm!r}, rotation={rot!r}).fit", seconds, note))
        cc = items.dropna()
        seconds, _ = best_of(repeat, lambda: calculate_kmo(cc))
        rows.append((f"{name}: factor_analyzer calculate_kmo (complete rows; fails on NaN)", seconds, ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-r", action="store_true", help="also time psych (Rscript)")
    parser.add_argument(
        "--bfi", type=Path, default=ROOT.parent / "shared" / "reference" / "public" / "bfi.csv"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"cpus: {os.cpu_count()}, numpy {np.__version__}, pandas {pd.__version__}")
    rows = []
    if args.bfi.is_file():
        bfi = pd.read_csv(args.bfi, index_col=0).iloc[:, :25]
        rows += bench("bfi", bfi, 5, args.repeat, args.with_r)
    else:
        print(f"bfi not found at {args.bfi}; skipped")
    rows += bench(f"sim {args.n:,}", make_items(args.n), 6, args.repeat, args.with_r)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'task':<{width}}  {'seconds':>8}  note")
    for task, secs, note in rows:
        print(f"{task:<{width}}  {secs:8.3f}  {note}")


if __name__ == "__main__":
    main()
