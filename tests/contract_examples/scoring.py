"""Contract example for the analysis data set (the intake's result)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import sdt_survey


def scored_responses(folder: Path):
    bpn = sdt_survey.load_instrument("bpn-residency")
    frame = pd.DataFrame({"resident": ["a", "b", "c"], **{i: [4, 2, 3] for i in bpn.item_ids}})
    frame.loc[0, "as1"] = 9  # out of range: set missing, and noted in the data-quality report
    key = sdt_survey.keygen(folder / "pseudonyms.key")  # pseudonymized ids: a note says so
    return sdt_survey.score(bpn, frame, id_column="resident", invalid="as-missing", pseudonymize_key=key)


EXAMPLES = {"sdt_survey.scoring.dataset.ScoredResponses": scored_responses}
