"""Small real results of sdt_survey.study, for the contract test."""

from __future__ import annotations

from pathlib import Path

from sdt_survey.simulate import simulate
from sdt_survey.study import Study, StudyCleanResult


def study_clean_result(tmp: Path) -> StudyCleanResult:
    """A one-wave study cleaned once, with its decisions and manifest."""
    simulate("program-belonging", seed=2, n_programs=2).write_folder(tmp / "data")
    (tmp / "study.yaml").write_text(
        "instruments: [program-belonging]\nwaves:\n  - {file: data/responses_w1.csv, wave: 1}\n"
        "id_column: resident\ncleaning: {invalid: as-missing, duplicates: keep-first}\n",
        encoding="utf-8",
    )
    result = Study.load(tmp / "study.yaml").clean()
    assert result.cleaned
    return result


EXAMPLES = {"sdt_survey.study.study.StudyCleanResult": study_clean_result}
