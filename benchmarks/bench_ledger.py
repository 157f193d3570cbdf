"""The release ledger's cost: cohort tables with and without it, on a large two-wave study.

A simulated study of 40 programs of 240-260 residents (about 10,000 residents,
two waves, about 18,000 responses) is summarized by PGY and program four ways:
without a ledger; as the first release into an empty ledger; as an identical
second release (the audit sees nothing new); and after one late respondent
was added (the audit compares every re-released group with its earlier
release). Reports best of ``--repeat`` runs and the ledger's size on disk.

    python benchmarks/bench_ledger.py [--programs 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from timing import best_of  # benchmarks/timing.py, beside this script

from sdt_survey.cohorts import cohort_summary
from sdt_survey.cohorts.ledger import ReleaseLedger
from sdt_survey.simulate import simulate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--programs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = simulate("bpn-residency", seed=1, n_programs=args.programs, residents_per_program=(240, 260))
    responses = data.responses
    late = responses.iloc[:1].assign(resident="LATE-0001")
    grown = pd.concat([responses, late], ignore_index=True)
    folder = Path(tempfile.mkdtemp())

    def run(frame: pd.DataFrame, ledger) -> None:
        cohort_summary("bpn-residency", frame, id_column="resident", by=["pgy", "program"], invariance=False,
                       ledger=ledger)  # fmt: skip

    rows = [("no ledger", best_of(args.repeat, lambda: run(responses, None))[0])]
    firsts = []
    for _ in range(args.repeat):  # each first release into an empty ledger of its own
        path = folder / f"first-{len(firsts)}.json"
        firsts.append(best_of(1, lambda path=path: run(responses, path))[0])
    rows.append(("first release (empty ledger)", min(firsts)))
    shared = folder / "first-0.json"
    rows.append(("identical second release", best_of(args.repeat, lambda: run(responses, shared))[0]))

    def after_late() -> None:
        book = ReleaseLedger(None, ReleaseLedger(None).to_dict())  # fresh in memory, then filled
        run(responses, book)
        run(grown, book)

    both = best_of(args.repeat, after_late)[0]
    rows.append(("release after one late respondent (second run only)", both - min(firsts)))
    print(f"{len(responses):,} responses, {responses['resident'].nunique():,} residents, by pgy and program")
    for label, seconds in rows:
        print(f"  {label:<55} {seconds:6.2f} s")
    print(f"  ledger after one release: {shared.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
