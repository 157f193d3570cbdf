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


def import_result(tmp: Path) -> sdt_survey.ImportResult:
    # A REDCap dictionary with a calculated field: the report says it was left out.
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "intake.csv"
    path.write_text(
        '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels"\n'
        "record_id,intake,,text,Record ID,\n"
        'rested,intake,,radio,I wake up rested,"1, Never | 2, Sometimes | 3, Often"\n'
        "score,intake,,calc,Score,[rested]*2\n",
        encoding="utf-8",
    )
    result = sdt_survey.import_instrument(path)
    result.notes.append("add subscales and reverse keys to the imported file")
    return result


EXAMPLES = {
    "sdt_survey.platforms.importing.ImportResult": import_result,
    "sdt_survey.platforms.result.ExportResult": export_result,
    "sdt_survey.responses.quality.DataQualityReport": data_quality_report,
}
