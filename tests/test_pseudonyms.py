"""Pseudonyms cannot be linked back; keys are made on purpose; identifiers are found by content.

Issue 12, section 3. Each test fails on the code before it: the quality
report listed raw ids beside the row numbers the pseudonymized scores carry,
a missing key file was silently created, weak and shared keys were accepted,
and identifier columns were found by a few English names only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.responses import ResponseValidationError
from sdt_survey.scoring.identifiers import detect_identifier_columns
from sdt_survey.scoring.pseudonyms import KeyFileError, pseudonymize, read_key

BPN = sdt_survey.load_instrument("bpn-residency")
# Distinctive ids, so that finding one anywhere in an output is unambiguous.
RAW_IDS = [f"RESIDENT-ZULU-{i:04d}" for i in range(1, 9)]
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _frame(n: int = 8) -> pd.DataFrame:
    frame = pd.DataFrame({"resident": RAW_IDS[:n], "program": ["A", "B"] * (n // 2)})
    for j, item in enumerate(BPN.item_ids):
        frame[item] = [str(1 + (i + j) % 5) for i in range(n)]
    return frame


def _messy_frame() -> pd.DataFrame:
    """Every kind of report line that names a respondent: invalid cells, a repeated id, a blank id."""
    frame = _frame()
    frame.loc[1, "as1"] = "9"  # out of range
    frame.loc[2, "resident"] = RAW_IDS[0]  # repeated id
    frame.loc[3, "resident"] = ""  # empty id
    frame.loc[4, BPN.item_ids] = "3"  # straight-lining: flagged careless
    return frame


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _assert_no_raw_id(text: str, where: str) -> None:
    leaked = [raw for raw in RAW_IDS if raw in text]
    assert not leaked, f"{where} carries raw ids {leaked}"


# ------------------------------------------------------------ no raw id anywhere


def test_no_output_of_a_pseudonymized_run_carries_a_raw_id(tmp_path):
    key = sdt_survey.keygen(tmp_path / "program.key")
    path = tmp_path / "wave.csv"
    _messy_frame().to_csv(path, index=False)
    outputs = {}
    for suffix in (".csv", ".json"):
        scores, report = tmp_path / f"scores{suffix}", tmp_path / f"quality{suffix}"
        result = _run(
            "score", "bpn-residency", str(path), "--id-column", "resident", "--pseudonymize", str(key),
            "--invalid", "as-missing", "--duplicates", "keep-first", "--exclude-flagged",
            "--out", str(scores), "--report", str(report),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs[f"terminal ({suffix})"] = result.output
        outputs[scores.name] = scores.read_text(encoding="utf-8")
        outputs[report.name] = report.read_text(encoding="utf-8")
    for where, text in outputs.items():
        _assert_no_raw_id(text, where)
    # The report still says who: by the same pseudonym the scores carry.
    report = pd.read_csv(tmp_path / "quality.csv")
    scores = pd.read_csv(tmp_path / "scores.csv")
    pseudonyms = set(pseudonymize(pd.Series(RAW_IDS), read_key(key)))
    named = set(report["respondent"].dropna())
    assert named and named <= pseudonyms and set(scores["resident"].dropna()) <= pseudonyms
    excluded = report.loc[report["problem"] == "careless_excluded", "respondent"]
    assert len(excluded) >= 1 and not set(excluded) & set(scores["resident"])


def test_the_failure_path_report_and_error_carry_no_raw_id(tmp_path):
    key = sdt_survey.keygen(tmp_path / "program.key")
    path = tmp_path / "wave.csv"
    _messy_frame().to_csv(path, index=False)
    report = tmp_path / "quality.json"
    result = CliRunner().invoke(
        cli,
        ["score", "bpn-residency", str(path), "--id-column", "resident", "--pseudonymize", str(key),
         "--out", str(tmp_path / "scores.csv"), "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "respondent id repeated" in result.output  # the error is still explained
    _assert_no_raw_id(result.output, "the error message")
    _assert_no_raw_id(report.read_text(encoding="utf-8"), "the failure-path report")
    lines = json.loads(report.read_text(encoding="utf-8"))["issues"]
    repeated = [line for line in lines if line["problem"] == "duplicate_id"]
    assert len(repeated) == 2 and repeated[0]["value"] == repeated[0]["respondent"]
    assert not (tmp_path / "scores.csv").exists()
    # The Python API raises with the same pseudonymized report.
    with pytest.raises(ResponseValidationError) as caught:
        sdt_survey.score(BPN, _messy_frame(), id_column="resident", pseudonymize_key=key)
    _assert_no_raw_id(str(caught.value), "the exception")
    _assert_no_raw_id(caught.value.report.issues.to_csv(), "the exception's report")


def test_pseudonyms_still_link_waves_and_differ_by_key(tmp_path):
    key, other = sdt_survey.keygen(tmp_path / "a.key"), sdt_survey.keygen(tmp_path / "b.key")
    wave1 = sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=key)
    wave2 = sdt_survey.score(BPN, _frame().iloc[::-1], id_column="resident", pseudonymize_key=key)
    assert set(wave1.scores["resident"]) == set(wave2.scores["resident"])
    elsewhere = sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=other)
    assert not set(wave1.scores["resident"]) & set(elsewhere.scores["resident"])


def test_pseudonymizing_without_an_id_column_is_refused(tmp_path):
    key = sdt_survey.keygen(tmp_path / "program.key")
    with pytest.raises(sdt_survey.SdtSurveyError, match="id_column="):
        sdt_survey.score(BPN, _frame(), pseudonymize_key=key)


# ------------------------------------------------------------------------- keys


def test_a_missing_key_file_is_an_error_never_a_new_key(tmp_path):
    path = tmp_path / "wave.csv"
    _frame().to_csv(path, index=False)
    typo = tmp_path / "progam.key"
    result = CliRunner().invoke(
        cli,
        ["score", "bpn-residency", str(path), "--id-column", "resident", "--pseudonymize", str(typo),
         "--out", str(tmp_path / "scores.csv")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"sdt-survey keygen {typo}" in result.output and "Traceback" not in result.output
    assert not typo.exists() and not (tmp_path / "scores.csv").exists()


@posix_only
def test_keygen_writes_a_strong_private_key_and_never_replaces_one_silently(tmp_path):
    path = tmp_path / "keys" / "program.key"
    result = _run("keygen", str(path))
    assert result.exit_code == 0 and str(path) in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = read_key(path)
    assert len(key) == 32 and len(set(key)) >= 8
    assert [p.name for p in path.parent.iterdir()] == ["program.key"]  # no temporary file left
    before = path.read_bytes()
    again = CliRunner().invoke(cli, ["keygen", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert path.read_bytes() == before
    forced = CliRunner().invoke(cli, ["keygen", str(path), "--force"])
    assert forced.exit_code == 0 and "will not link" in forced.output
    assert read_key(path) != key and stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.warns(UserWarning, match="will not link"):
        sdt_survey.keygen(path, force=True)
    assert len({read_key(sdt_survey.keygen(tmp_path / f"k{i}.key")) for i in range(5)}) == 5


@pytest.mark.parametrize(
    ("material", "message"),
    [
        (bytes(range(15)), "15 bytes of key material"),
        (b"\x00" * 32, "every byte is the same"),
        (b"abcabcabcabcabcabcabcabcabcabcab", "only 3 distinct byte values"),
    ],
)
def test_weak_keys_are_refused(tmp_path, material, message):
    path = tmp_path / "weak.key"
    path.write_text(material.hex() + "\n", encoding="ascii")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message):
        sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=path)


@pytest.mark.parametrize("content", ["not a key\n", "abc\n", "00ff\n00ff\n", ""])
def test_a_file_that_is_not_a_key_is_refused(tmp_path, content):
    path = tmp_path / "odd.key"
    path.write_text(content, encoding="ascii")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a key file"):
        read_key(path)


def test_a_key_file_of_the_earlier_format_still_gives_the_same_pseudonyms(tmp_path):
    # Earlier versions wrote the 64 hexadecimal characters alone.
    material = bytes.fromhex("6b1f" * 4 + "0123456789abcdef" * 3)
    path = tmp_path / "old.key"
    path.write_text(material.hex() + "\n", encoding="ascii")
    path.chmod(0o600)
    scored = sdt_survey.score(BPN, _frame(), id_column="resident", pseudonymize_key=path)
    expected = [hmac.new(material, r.encode(), hashlib.sha256).hexdigest()[:32] for r in RAW_IDS]
    assert scored.scores["resident"].tolist() == expected


@posix_only
def test_a_key_others_can_read_is_refused_unless_allowed(tmp_path):
    key = sdt_survey.keygen(tmp_path / "program.key")
    key.chmod(0o644)
    path = tmp_path / "wave.csv"
    _frame().to_csv(path, index=False)
    args = ["score", "bpn-residency", str(path), "--id-column", "resident", "--pseudonymize", str(key),
            "--out", str(tmp_path / "scores.csv")]  # fmt: skip
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and "chmod 600" in refused.output and "644" in refused.output
    assert not (tmp_path / "scores.csv").exists()
    allowed = CliRunner().invoke(cli, [*args, "--allow-shared-key"])
    assert allowed.exit_code == 0, allowed.output
    _assert_no_raw_id((tmp_path / "scores.csv").read_text(encoding="utf-8"), "scores")


# ---------------------------------------------------------- identifiers by content


def _with_identifiers() -> pd.DataFrame:
    frame = _frame()
    frame["correo"] = [f"persona{i}@hospital.example.org" for i in range(8)]
    frame["contacto"] = [f"+1 555 201 33{i:02d}" for i in range(8)]
    frame["fecha"] = [f"19{80 + i}-0{1 + i}-1{i}" for i in range(8)]
    frame["x17"] = ["Ana López", "Juan de la Cruz", "Mary O'Neil", "Jean-Luc Picard",
                    "Li Wei", "Fatima Al Sayed", "Ngozi Okafor", "Élodie Martin"]  # fmt: skip
    frame["misc"] = ["x", "", "", "", "", "", "", ""]
    frame["Téléphone"] = [str(5550000 + i) for i in range(8)]
    frame["comentarios"] = [f"some words about resident number {i} here" for i in range(8)]
    # Grouping columns, a wave column and recent dates that must stay.
    frame["pgy"] = [1, 2, 3, 1, 2, 3, 1, 2]
    frame["clinic"] = ["North Clinic", "South Clinic"] * 4
    frame["program_name"] = ["Internal Medicine"] * 4 + ["Family Medicine"] * 4
    frame["wave"] = 1
    frame["submitted"] = [f"2026-03-0{1 + i}" for i in range(8)]
    return frame


IDENTIFIERS = ["correo", "contacto", "fecha", "x17", "misc", "Téléphone", "comentarios"]
KEPT = ["program", "pgy", "clinic", "program_name", "wave", "submitted"]


def test_identifier_columns_are_found_by_header_and_by_content():
    scored = sdt_survey.score(BPN, _with_identifiers(), id_column="resident")
    assert scored.dropped_columns == IDENTIFIERS
    assert all(column in scored.scores for column in KEPT)
    reasons = scored.dropped_reasons
    assert "e-mail addresses" in reasons["correo"] and "suggests an e-mail" in reasons["correo"]
    assert "phone numbers" in reasons["contacto"]
    assert "dates of birth" in reasons["fecha"]
    assert "personal names" in reasons["x17"]
    assert "free text" in reasons["misc"] and "free text" in reasons["comentarios"]
    assert "phone number" in reasons["Téléphone"]
    # The report says which and why, without a sample of what it dropped.
    lines = scored.report.issues[scored.report.issues["problem"] == "identifier_dropped"]
    assert lines["column"].tolist() == IDENTIFIERS
    assert lines["value"].isna().all()
    assert "100% of values look like e-mail addresses" in lines["message"].iloc[0]
    assert "hospital.example.org" not in scored.report.issues.to_csv()
    assert "x17" in scored.summary() and "personal names" in scored.summary()
    kept = sdt_survey.score(BPN, _with_identifiers(), id_column="resident", keep_identifiers=True)
    assert all(column in kept.scores for column in IDENTIFIERS) and not kept.dropped_columns


def test_the_cli_drops_identifiers_found_by_content_and_says_why(tmp_path):
    path = tmp_path / "wave.csv"
    _with_identifiers().to_csv(path, index=False)
    out, report = tmp_path / "scores.csv", tmp_path / "quality.csv"
    result = _run("score", "bpn-residency", str(path), "--id-column", "resident", "--out", str(out),
                  "--report", str(report))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "'correo': the name 'correo' suggests an e-mail address" in result.output
    written = pd.read_csv(out)
    assert not set(IDENTIFIERS) & set(written.columns) and set(KEPT) <= set(written.columns)
    assert "@hospital.example.org" not in out.read_text(encoding="utf-8")
    assert "@hospital.example.org" not in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "header",
    ["Nombre completo", "nom", "correo_electrónico", "courriel", "e-mail", "teléfono", "Tel.",
     "fecha_nacimiento", "date_naissance", "dirección", "Adresse", "notes", "Comments", "other",
     "Q7_4_TEXT"],
)  # fmt: skip
def test_identifier_headers_in_several_languages(header):
    frame = pd.DataFrame({header: ["aa", "bb", "cc", "dd"], "program": ["A", "A", "B", "B"]})
    assert list(detect_identifier_columns(frame)) == [header]


def test_short_repeated_codes_and_recent_dates_are_not_identifiers():
    frame = pd.DataFrame(
        {
            "clinic": ["North Clinic", "South Clinic", "North Clinic", "South Clinic", "East Clinic"] * 2,
            "program_name": ["Internal Medicine"] * 5 + ["Surgery"] * 5,
            "other": ["yes", "no"] * 5,
            "submitted": [f"2026-01-{10 + i}" for i in range(10)],
            "count": [str(1000000 + i) for i in range(10)],  # plain numbers, not phone numbers
            "graduated": [f"2019-06-{10 + i}" for i in range(10)],  # 7 years ago: not a birth date
        }
    )
    assert detect_identifier_columns(frame, today=date(2026, 12, 5)) == {}
    assert list(detect_identifier_columns(frame, exclude=["clinic"], declared=["count"])) == ["count"]


def test_the_id_wave_and_item_columns_are_never_dropped():
    frame = _frame()
    frame["resident"] = [f"r{i}@hospital.example.org" for i in range(8)]  # e-mails as ids: pseudonymize them
    frame["redcap_event_name"] = [f"Wave {i} Arm One" for i in range(8)]
    scored = sdt_survey.score(BPN, frame, id_column="resident")
    assert scored.dropped_columns == []
    assert scored.scores["resident"].tolist() == frame["resident"].tolist()


def test_a_copy_of_the_id_column_is_dropped_when_ids_are_pseudonymized(tmp_path):
    key = sdt_survey.keygen(tmp_path / "program.key")
    frame = _frame()
    frame["record_id"] = [f" {raw} " for raw in RAW_IDS]  # the same ids, spaced differently
    for keep in (False, True):
        scored = sdt_survey.score(
            BPN, frame, id_column="resident", pseudonymize_key=key, keep_identifiers=keep
        )
        assert (
            "record_id" not in scored.scores
            and "repeats the respondent id" in scored.dropped_reasons["record_id"]
        )
        _assert_no_raw_id(scored.scores.to_csv() + scored.summary(), "scores and summary")
    # Without pseudonyms the id is in the output anyway: the copy stays.
    assert "record_id" in sdt_survey.score(BPN, frame, id_column="resident").scores


def test_detection_reads_odd_values_without_failing():
    frame = pd.DataFrame(
        {
            "when": ["1990-13-45", "0000-01-01", "1990-02-30", None, "x 1990-01-01 y"],
            "mixed": [1, "a@b.co", None, 2.5, ""],
            "dob": ["1990-01-04", "1985-05-05 10:00", "03/04/1992", None, ""],
        }
    )
    found = detect_identifier_columns(frame, today=date(2026, 12, 5))
    assert list(found) == ["dob"] and "100% of values look like dates of birth" in found["dob"]


def test_names_are_found_in_a_file_of_several_waves():
    # Each person's name appears once a wave: distinct per respondent, not per row.
    one_wave = _with_identifiers()
    two_waves = pd.concat([one_wave.assign(wave=1), one_wave.assign(wave=2)], ignore_index=True)
    scored = sdt_survey.score(BPN, two_waves, id_column="resident")
    assert "personal names" in scored.dropped_reasons["x17"]
    assert "clinic" in scored.scores and "program_name" in scored.scores


def test_keygen_where_no_file_can_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(cli, ["keygen", str(blocker / "program.key")])
    assert result.exit_code == 1 and "cannot create the key file" in result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_keygen_force_never_replaces_a_file_that_is_not_a_key(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("a user's notes\n", encoding="utf-8")
    with pytest.raises(KeyFileError, match="not a key file"):
        sdt_survey.keygen(notes, force=True)
    assert notes.read_text(encoding="utf-8") == "a user's notes\n"
