"""Calibrating the careless-responding flags: their false-positive rate on attentive respondents.

``sdt_survey.simulate`` draws attentive respondents only (answers from the
instrument's factor model, no careless patterns). Every respondent a flag
marks there is a false positive. For each bundled instrument, and for
surveys combining them (more subscales, so more even-odd pairs), this script
scores several simulated samples under the default thresholds and prints the
share of respondents each flag marks, and the quantiles of the even-odd index
by number of pairs that the thresholds by pairs (``EVENODD_BY_PAIRS``) were
read from. The defaults are kept only if every share of ``careless`` is at
most 5% (``FALSE_POSITIVE_TARGET``); tests/test_intake_fixes.py checks it.

    python benchmarks/careless_calibration.py [--seeds 5] [--programs 14]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import sdt_survey
from sdt_survey.scoring.careless import FALSE_POSITIVE_TARGET, evenodd_pairs
from sdt_survey.simulate import simulate

#: Surveys simulated: every bundled instrument alone, then combinations with more subscales.
SURVEYS: tuple[tuple[str, ...], ...] = (
    *((name,) for name in sdt_survey.bundled_instruments()),
    ("bpn-residency", "learning-climate"),
    ("bpn-residency", "learning-climate", "program-belonging"),
    ("bpn-residency", "learning-climate", "program-belonging", "continuity-exposure"),
)


def attentive_flags(names: tuple[str, ...], seed: int, n_programs: int = 14) -> pd.DataFrame:
    """The careless indices and flags of one simulated sample of attentive respondents (first wave)."""
    instruments = [sdt_survey.load_instrument(n) for n in names]
    simulated = simulate(list(names), seed=seed, n_programs=n_programs)
    responses = simulated.responses
    first = responses[responses["wave"] == responses["wave"].min()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = sdt_survey.score(instruments, first, flag_careless=True)
    columns = [c for c in scored.scores.columns if c.startswith("flag_") or c in ("careless", "evenodd")]
    return scored.scores[columns]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="simulated samples per survey")
    parser.add_argument("--programs", type=int, default=14, help="programs per sample (20-40 residents)")
    args = parser.parse_args()
    rows = []
    quantiles = []
    worst = 0.0
    for names in SURVEYS:
        pairs = evenodd_pairs([sdt_survey.load_instrument(n) for n in names])
        frames = [attentive_flags(names, seed, args.programs) for seed in range(args.seeds)]
        flags = pd.concat(frames, ignore_index=True)
        rates = flags.drop(columns="evenodd").mean()
        worst = max(worst, float(rates["careless"]))
        rows.append(
            {"survey": " + ".join(names), "pairs": pairs, "n": len(flags), **rates.round(3).to_dict()}
        )
        evenodd = flags["evenodd"].dropna().to_numpy()
        if len(evenodd):
            q = np.quantile(evenodd, [0.01, 0.025, 0.05, 0.10])
            quantiles.append({"pairs": pairs, "q01": q[0], "q025": q[1], "q05": q[2], "q10": q[3]})
    pd.set_option("display.width", 200)
    print("Share of simulated attentive respondents flagged (false-positive rate), default thresholds:")
    print(pd.DataFrame(rows).to_string(index=False))
    print("\nEven-odd index of attentive respondents by pairs (quantiles):")
    print(pd.DataFrame(quantiles).drop_duplicates("pairs").round(3).to_string(index=False))
    verdict = "within" if worst <= FALSE_POSITIVE_TARGET else "ABOVE"
    print(f"\nlargest share flagged careless: {worst:.3f} ({verdict} the {FALSE_POSITIVE_TARGET:.0%} target)")


if __name__ == "__main__":
    main()
