"""The contract between definition, deployment and data (issue 14, section 2).

* every export records each instrument's id, version and content hash (its stamp);
* on intake, a file that differs from the definition is reported as drift, before any scoring;
* the keying audit flags an item whose data run against its declared key.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.instrument import Text, content_hash, parse_stamps
from sdt_survey.platforms import build_survey
from sdt_survey.platforms.xlsform import STAMP_FIELD
from sdt_survey.responses import DriftError, ResponseValidationError
from sdt_survey.simulate import simulate

PB = sdt_survey.load_instrument("program-belonging")
BPN = sdt_survey.load_instrument("bpn-residency")


# ------------------------------------------------------------------------------------- the stamp


def test_content_hash_ignores_wording_and_follows_structure():
    assert re.fullmatch(r"[0-9a-f]{64}", PB.content_hash())
    assert PB.content_hash() == content_hash(sdt_survey.load_instrument("program-belonging"))
    # A translation or a reworded item keeps the hash ...
    first = PB.items[0]
    reworded = dataclasses.replace(first, text=Text({"en": "Other words entirely"}, "en"))
    same = dataclasses.replace(PB, items=(reworded, *PB.items[1:]), title=Text({"en": "T"}, "en"))
    assert same.content_hash() == PB.content_hash()
    # ... a changed key, a new item or another version's content does not.
    flipped = dataclasses.replace(first, reverse=not first.reverse)
    assert dataclasses.replace(PB, items=(flipped, *PB.items[1:])).content_hash() != PB.content_hash()
    assert dataclasses.replace(PB, items=PB.items[1:]).content_hash() != PB.content_hash()
    assert PB.stamp == f"program-belonging@{PB.version}#{PB.content_hash()}"
    assert parse_stamps(PB.stamp) == [("program-belonging", PB.version, PB.content_hash())]


def _export(target: str, tmp_path: Path) -> tuple[sdt_survey.platforms.ExportResult, Path]:
    out = tmp_path / {"redcap": "d.csv", "qualtrics": "q.txt", "xlsform": "f.xlsx", "reproschema": "rs",
                      "html": "f.html", "markdown": "p.md", "pdf": "p.pdf"}[target]  # fmt: skip
    return sdt_survey.export_survey(["program-belonging", "bpn-residency"], target, out), out


def test_every_export_records_the_stamp(tmp_path):
    survey = build_survey(["program-belonging", "bpn-residency"])
    stamp = survey.stamp
    assert stamp == f"{PB.stamp} {BPN.stamp}"

    _, out = _export("redcap", tmp_path)
    dictionary = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert dictionary.loc[0, "Field Annotation"].endswith(f"; stamp {stamp}")

    result, out = _export("qualtrics", tmp_path)
    assert f"(stamp {stamp})" in out.read_text(encoding="utf-8")
    notes = [p for p in result.paths if p != out]
    assert notes and any(f"Stamp (instrument@version#content hash): {stamp}" in p.read_text() for p in notes)

    _, out = _export("xlsform", tmp_path)
    sheets = pd.read_excel(out, sheet_name=None, dtype=str)
    assert sheets["settings"].loc[0, STAMP_FIELD] == stamp
    calc = sheets["survey"].set_index("name").loc[STAMP_FIELD]
    assert (calc["type"], calc["calculation"]) == ("calculate", f"'{stamp}'")

    _, out = _export("reproschema", tmp_path)
    schemas = [json.loads(p.read_text()) for p in out.rglob("*_schema")]
    protocol = next(s for s in schemas if s.get("@type") == "reproschema:Protocol")
    assert protocol["version"] == stamp

    _, out = _export("html", tmp_path)
    page = out.read_text(encoding="utf-8")
    assert f'<meta name="sdt-survey-stamp" content="{stamp}">' in page
    for inst in (PB, BPN):
        assert f'"hash": "{inst.content_hash()}"' in page or f'"hash":"{inst.content_hash()}"' in page

    _, out = _export("markdown", tmp_path)
    text = out.read_text(encoding="utf-8")
    short = f"program-belonging@{PB.version}#{PB.content_hash()[:12]}"
    assert short in text.replace("\\", "")

    pypdf = pytest.importorskip("pypdf", reason="reading the PDF back needs pypdf (the test extra)")
    _, out = _export("pdf", tmp_path)
    reader = pypdf.PdfReader(str(out))
    for page in reader.pages:
        assert PB.content_hash()[:12] in "".join(page.extract_text().split())


# ------------------------------------------------------------------------------------- drift


def _pb_frame(n: int = 4) -> pd.DataFrame:
    frame = pd.DataFrame({"resident": [f"R{i}" for i in range(1, n + 1)]})
    for item in PB.items:
        frame[item.id] = [(i % 5) + 1 for i in range(n)]
    return frame


def _write(frame: pd.DataFrame, tmp_path: Path, name: str = "wave.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _drift(scored_or_error) -> list[str]:
    report = scored_or_error.report
    return [f"{row.problem} {row.severity}: {row.message}" for row in report.drift.itertuples()]


def test_a_file_that_matches_has_no_drift(tmp_path):
    scored = sdt_survey.score(PB, _write(_pb_frame(), tmp_path), id_column="resident")
    assert scored.report.drift.empty and "drift" in scored.report.to_dict()


def test_added_column_is_a_note_naming_it(tmp_path):
    frame = _pb_frame().assign(extra_question=[1, 2, 3, 4])
    scored = sdt_survey.score(PB, _write(frame, tmp_path), id_column="resident")
    assert _drift(scored) == [
        "drift_added_column info: column 'extra_question' is not an item of the instrument; "
        "it is passed through unchanged"
    ]
    assert "drift (the file against the definition)" in scored.report.summary()


def test_missing_and_renamed_columns_are_errors_until_accepted(tmp_path):
    frame = _pb_frame().rename(columns={"pb3": "pb_3"}).drop(columns="pb5")
    path = _write(frame, tmp_path)
    with pytest.raises(DriftError) as info:
        sdt_survey.score(PB, path, id_column="resident")
    assert isinstance(info.value, ResponseValidationError)
    lines = _drift(info.value)
    assert (
        "drift_missing_item error: item 'pb3' of program-belonging has no column; column 'pb_3' looks like "
        "it renamed: read it with mapping={'pb_3': 'pb3'}" in lines
    )
    assert "drift_missing_item error: item 'pb5' of program-belonging has no column in the file" in lines
    message = str(info.value)
    assert "drift='warn'" in message and "--" not in message.split("\n")[0]
    # Accepted on request: still reported, as a warning.
    scored = sdt_survey.score(PB, path, id_column="resident", drift="warn")
    assert set(scored.report.drift["severity"]) == {"warning"}
    # The suggestion works.
    mapped = sdt_survey.score(PB, path, id_column="resident", mapping={"pb_3": "pb3"}, drift="warn")
    assert "pb3" not in set(mapped.report.drift["item"].dropna())


def test_a_changed_choice_list_is_reported_per_column(tmp_path):
    frame = _pb_frame(6)
    frame["pb2"] = [1, 2, 6, 7, 6, 0]  # the platform's list grew to 0-7
    scored = sdt_survey.score(PB, _write(frame, tmp_path), id_column="resident", invalid="as-missing")
    (line,) = [entry for entry in _drift(scored) if entry.startswith("drift_choices")]
    assert line == (
        "drift_choices warning: column 'pb2' holds 3 values that scale agree5 (1, 2, 3, 4, 5) does not have: "
        "6, 7, 0; if the platform's choice list was edited, the definition and the data no longer agree"
    )


def test_branching_that_differs_is_drift():
    inst = sdt_survey.load_instrument("continuity-exposure")
    frame = pd.DataFrame(
        {
            "resident": [f"R{i}" for i in range(8)],
            "has_usual_preceptor": [0] * 8,  # hides halfdays_with_preceptor ...
            "clinic_halfdays_4wk": [6] * 8,
            "halfdays_with_preceptor": [4] * 8,  # ... which every record answers: the platform never hid it
        }
    )
    scored = sdt_survey.score(inst, frame, id_column="resident", invalid="as-missing", drift="warn")
    (line,) = [entry for entry in _drift(scored) if entry.startswith("drift_branching")]
    assert line.startswith(
        "drift_branching warning: column 'halfdays_with_preceptor': item 'halfdays_with_preceptor' is "
        "answered in 8 of the 8 records its show_if (has_usual_preceptor == 1 and clinic_halfdays_4wk > 0) "
        "hides"
    )


def test_an_html_response_of_another_version_is_drift(tmp_path):
    answers = {item.id: 3 for item in PB.items}
    old = {"id": PB.id, "version": "0.9.0", "hash": "0" * 64}
    record = {"format": "sdt-survey-response", "format_version": 1, "instruments": [old],
              "submitted": "2026-03-04T10:21:40Z", "language": "en", "answers": answers}  # fmt: skip
    path = tmp_path / "response.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(DriftError) as info:
        sdt_survey.score(PB, path, invalid="as-missing")
    (line,) = _drift(info.value)
    assert line == (
        "drift_stamp error: column '_instruments': 1 record was collected with program-belonging 0.9.0 "
        f"(content hash 000000000000); the instrument read now is program-belonging {PB.version} "
        f"(content hash {PB.content_hash()[:12]}): read the file against the version it was collected with"
    )
    # The same version with another content hash: edited without a new version.
    record["instruments"] = [{"id": PB.id, "version": PB.version, "hash": "f" * 64}]
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(DriftError, match="edited without a new version"):
        sdt_survey.score(PB, path)
    scored = sdt_survey.score(PB, path, drift="warn")
    assert scored.report.drift["problem"].tolist() == ["drift_stamp"]
    # The stamp of this very definition is no drift.
    record["instruments"] = [{"id": PB.id, "version": PB.version, "hash": PB.content_hash()}]
    path.write_text(json.dumps(record), encoding="utf-8")
    assert sdt_survey.score(PB, path).report.drift.empty


def test_an_odk_file_stamped_with_another_hash_is_drift(tmp_path):
    frame = _pb_frame().assign(**{STAMP_FIELD: f"program-belonging@{PB.version}#{'a' * 64}"})
    with pytest.raises(DriftError, match=f"column '{STAMP_FIELD}': 4 records"):
        sdt_survey.score(PB, _write(frame, tmp_path), id_column="resident")
    frame[STAMP_FIELD] = PB.stamp
    assert sdt_survey.score(PB, _write(frame, tmp_path), id_column="resident").report.drift.empty


def test_drift_policy_is_checked():
    with pytest.raises(sdt_survey.SdtSurveyError, match="drift must be one of 'error', 'warn'"):
        sdt_survey.score(PB, _pb_frame(), drift="ignore")


# ------------------------------------------------------------------------------------- keying audit


@pytest.fixture(scope="module")
def wave() -> pd.DataFrame:
    return simulate("bpn-residency", seed=3, n_programs=4).wave(1)


def test_keying_audit_is_silent_on_correctly_keyed_data(wave):
    for seed in (3, 4, 5):
        data = simulate("bpn-residency", seed=seed, n_programs=4).wave(1)
        scored = sdt_survey.score(BPN, data, id_column="resident")
        assert scored.keying.empty and not [w for w in scored.warnings if w.startswith("keying")]


def test_keying_audit_flags_exactly_the_unreversed_item(wave):
    bad = wave.copy()
    scale = BPN.item("rs4").scale
    bad["rs4"] = scale.min + scale.max - bad["rs4"]  # shipped already reversed: reversed twice on intake
    scored = sdt_survey.score(BPN, bad, id_column="resident")
    assert scored.keying[["item", "subscale", "declared_reverse"]].values.tolist() == [
        ["rs4", "relatedness_satisfaction", True]
    ]
    assert scored.keying.loc[0, "r_drop"] < 0
    (warning,) = scored.warnings
    assert warning.startswith("keying: item 'rs4' of relatedness_satisfaction has corrected item-total r = -")
    assert warning in scored.summary() and scored.to_dict()["keying"][0]["item"] == "rs4"
    assert warning in scored.to_dict()["warnings"]
    # An item keyed forward whose data run backwards is flagged the other way.
    flipped = wave.copy()
    scale = BPN.item("as1").scale
    flipped["as1"] = scale.min + scale.max - flipped["as1"]
    other = sdt_survey.score(BPN, flipped, id_column="resident")
    assert other.keying["item"].tolist() == ["as1"] and not other.keying.loc[0, "declared_reverse"]
    assert "it is not declared reverse-keyed" in other.warnings[0]

    reliability = sdt_survey.reliability.instrument_reliability(BPN, bad, id_column="resident")
    assert warning in reliability.warnings and warning in reliability.summary()


def test_keying_audit_reaches_the_report(wave, tmp_path):
    from sdt_survey.report.build import build_report

    bad = wave.copy()
    scale = BPN.item("rs4").scale
    bad["rs4"] = scale.min + scale.max - bad["rs4"]
    report = build_report(BPN, bad, id_column="resident", ledger=False)
    notes = report.to_dict()["sections"]["data_quality"]["notes"]
    assert any("keying: item 'rs4' of relatedness_satisfaction" in note for note in notes)
    assert np.isfinite(report.to_dict()["sections"]["data_quality"]["data"]["files"][0]["records"] or 0)


def test_the_score_command_stops_on_drift_and_accepts_it_with_drift_warn(tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli

    frame = _pb_frame().assign(**{STAMP_FIELD: f"program-belonging@0.1.0#{'a' * 64}"})
    path = _write(frame, tmp_path)
    args = ["score", "program-belonging", str(path), "--id-column", "resident"]
    stopped = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "s.csv")])
    assert stopped.exit_code != 0 and "collected with program-belonging 0.1.0" in stopped.output
    assert not (tmp_path / "s.csv").exists()
    accepted = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "s.csv"), "--drift", "warn"])
    assert accepted.exit_code == 0, accepted.output
    assert "drift (the file against the definition)" in accepted.output


def test_columns_a_platform_adds_are_no_drift(tmp_path):
    frame = _pb_frame().rename(columns={"resident": "record_id"})
    frame.insert(1, "redcap_event_name", "wave_1_arm_1")
    frame["program_belonging_complete"] = 2
    frame["extra_q"] = 1
    scored = sdt_survey.score(PB, _write(frame, tmp_path), id_column="record_id")
    assert scored.report.source == "redcap"
    assert scored.report.drift["column"].tolist() == ["extra_q"]


def test_every_analysis_command_takes_the_drift_decision(tmp_path):
    from click.testing import CliRunner

    from sdt_survey.cli import cli

    wave = simulate("bpn-residency", seed=6, n_programs=4).responses
    frame = wave[wave["wave"] == 1].assign(**{STAMP_FIELD: f"bpn-residency@0.9.0#{'b' * 64}"})
    path = _write(frame, tmp_path)
    args = ["reliability", "bpn-residency", str(path), "--id-column", "resident"]
    stopped = CliRunner().invoke(cli, args)
    assert stopped.exit_code == 1 and "collected with bpn-residency 0.9.0" in stopped.output
    accepted = CliRunner().invoke(cli, [*args, "--drift", "warn"])
    assert accepted.exit_code == 0, accepted.output
