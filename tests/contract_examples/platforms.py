"""Result-contract examples for the platforms and responses layers: an export, a data-quality report."""

from __future__ import annotations

from pathlib import Path

import sdt_survey


def export_result(tmp: Path) -> sdt_survey.ExportResult:
    # The REDCap export carries notes: what to set by hand after the import.
    tmp.mkdir(parents=True, exist_ok=True)
    return sdt_survey.export_survey("continuity-exposure", "redcap", tmp / "dictionary.csv")


def data_quality_report(tmp: Path) -> sdt_survey.DataQualityReport:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "wave.csv"
    path.write_text("record_id,pb1,pb2,pb3,pb4\nR1,4,9,2,\nR2,1,2,3,4\n", encoding="utf-8")
    responses = sdt_survey.read_responses(path, "program-belonging")
    report = sdt_survey.validate_responses(responses, "program-belonging", invalid="as-missing").report
    report.notes.append("source detected from the REDCap record_id column")
    return report


EXAMPLES = {
    "sdt_survey.platforms.result.ExportResult": export_result,
    "sdt_survey.responses.quality.DataQualityReport": data_quality_report,
}
