"""Disclosure control across runs: the release ledger against an attacker who pools every output.

The attacker holds every cohort table released (several runs: other minimum cell
sizes, other groupings, one wave and then two, a respondent added or an answer
edited between runs) and, conservatively, knows which respondents each published
cell sums over. Per score it takes every visible cell (n * mean is a sum over the
cell's respondent records) and every visible paired change (a sum of wave-to-wave
differences), and tries every linear combination of them: a set of records is
disclosed when its indicator lies in their span, and the attacker then recovers
its exact sum, which the tests check against the truth. It also compares every
group released twice: if fewer than min_cell of its respondents changed, the
difference is theirs. With the ledger the attacker finds nothing new; with the
ledger switched off (negative controls) it recovers residents' scores.
"""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from privacy_support import SCALES, make_people, next_wave

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.cohorts import ALL, cohort_summary
from sdt_survey.cohorts.ledger import LedgerError, ReleaseLedger, default_ledger_path, open_ledger

# ------------------------------------------------------------------ the pooling attacker


def _scored(mini, frame):
    scores = sdt_survey.score(mini, frame, id_column="resident_key").scores
    return frame.reset_index(drop=True), scores.reset_index(drop=True)


def _keys(frame, scores, scale):
    """One key per respondent record and value: an edited answer is another record."""
    value = scores[scale].round(10).astype(str)
    return (frame["resident_key"].astype(str) + "|" + frame["wave"].astype(str) + "|" + value).to_numpy()


def _members(frame, group, wave):
    mask = (frame["wave"] == wave).to_numpy().copy()
    for column, value in group.items():
        if value != ALL:
            mask &= (frame[column].astype(str) == str(value)).to_numpy()
    return mask


def _first_groups(frame, column):
    first = frame.sort_values("wave", kind="stable").drop_duplicates("resident_key")
    return frame["resident_key"].map(dict(zip(first["resident_key"], first[column], strict=True)))


class Pool:
    """Every visible figure of every run, as linear equations over respondent records."""

    def __init__(self):
        self.equations = {scale: [] for scale in SCALES}  # (record weights {key: w}, value)
        self.truth = {scale: {} for scale in SCALES}
        self.cells = []  # (run, label, scale, {resident ids with their keys}) for the differencing attack

    def add(self, run, report, frame, scores):
        for scale in SCALES:
            keys = _keys(frame, scores, scale)
            present = scores[scale].notna().to_numpy()
            self.truth[scale].update(dict(zip(keys[present], scores[scale].to_numpy()[present], strict=True)))
            for row in report.to_dict()["rows"]:
                if row["scale"] != scale or row["suppressed"]:
                    continue
                mask = _members(frame, row["group"], row["wave"]) & present
                assert mask.sum() == row["n"], "the attacker's reading of a cell must be exact"
                if not row["n"]:
                    continue
                self.equations[scale].append(({k: 1.0 for k in keys[mask]}, row["n"] * row["mean"]))
                label = json.dumps([row["group"], str(row["wave"])], sort_keys=True)
                owners = dict(zip(keys[mask], frame["resident_key"].to_numpy()[mask], strict=True))
                self.cells.append((run, label, scale, owners))
            for change in report.to_dict()["changes"]:
                if change["scale"] != scale or change["suppressed"] or change["method"] != "paired_t":
                    continue
                weights = {}
                linked = np.ones(len(frame), dtype=bool)
                for column, value in change["group"].items():
                    if value != ALL:
                        linked &= (_first_groups(frame, column).astype(str) == str(value)).to_numpy()
                a, b = change["from_wave"], change["to_wave"]
                at_a = set(frame.loc[(frame["wave"] == a).to_numpy() & present & linked, "resident_key"])
                at_b = set(frame.loc[(frame["wave"] == b).to_numpy() & present & linked, "resident_key"])
                both = at_a & at_b
                assert len(both) == change["n_pairs"]
                for sign, wave in ((1.0, b), (-1.0, a)):
                    rows = (frame["wave"] == wave).to_numpy() & frame["resident_key"].isin(both).to_numpy()
                    weights.update({k: sign for k in keys[rows]})
                self.equations[scale].append((weights, change["n_pairs"] * change["mean_change"]))

    def leaks(self, min_cell):
        """Every set of 1 to min_cell - 1 records whose sum follows from the pooled figures, recovered."""
        found = set()
        for scale, equations in self.equations.items():
            if not equations:
                continue
            universe = sorted({k for weights, _ in equations for k in weights})
            column = {k: i for i, k in enumerate(universe)}
            matrix = np.zeros((len(equations), len(universe)))
            for row, (weights, _) in enumerate(equations):
                for key, weight in weights.items():
                    matrix[row, column[key]] = weight
            values = np.array([v for _, v in equations])
            # records the figures cannot tell apart form atoms; any disclosed set is a union of them
            _, atom_of = np.unique(matrix.T, axis=0, return_inverse=True)
            atoms = [np.flatnonzero(atom_of.ravel() == a) for a in range(atom_of.max() + 1)]
            candidates = [a for a in atoms if 0 < len(a) < min_cell]
            candidates += [
                np.concatenate([a, b])
                for a, b in itertools.combinations(atoms, 2)
                if 0 < len(a) + len(b) < min_cell
            ]
            for members in candidates:
                target = np.zeros(len(universe))
                target[members] = 1.0
                coef, *_ = np.linalg.lstsq(matrix.T, target, rcond=None)
                if np.abs(matrix.T @ coef - target).max() > 1e-8:
                    continue
                recovered = float(coef @ values)
                truth = sum(self.truth[scale][universe[i]] for i in members)
                assert recovered == pytest.approx(truth, abs=1e-6), "a derivation must recover the truth"
                found.add((scale, frozenset(universe[i] for i in members)))
        return found

    def differences(self, min_cell):
        """Groups released twice whose respondents changed (added, removed, edited) by 1 to min_cell - 1."""
        found = set()
        for (run_a, label_a, scale_a, a), (run_b, label_b, scale_b, b) in itertools.combinations(
            self.cells, 2
        ):
            if run_a == run_b or label_a != label_b or scale_a != scale_b:
                continue
            moved = set(a) ^ set(b)
            owners = {a.get(k) or b.get(k) for k in moved}
            if 0 < len(owners) < min_cell:
                found.add((label_a, scale_a, frozenset(owners)))
        return found


def _run(mini, data, by, min_cell=5, ledger=True):
    report = cohort_summary(
        mini, data, id_column="resident_key", by=by, min_cell=min_cell, invariance=False, ledger=ledger
    )
    return report


def _pooled(mini, runs, ledger):
    """Run each (data, by, min_cell) in turn into one ledger (or none); the pool of every output."""
    pool = Pool()
    for number, (data, by, min_cell) in enumerate(runs):
        frame, scores = _scored(mini, data)
        pool.add(number, _run(mini, data, by, min_cell, ledger), frame, scores)
    return pool


# ------------------------------------------------------------------ fixtures built to tempt


def nested_clinics():
    spec = [
        (3, {"program": "P1", "clinic": "C1"}),
        (10, {"program": "P1", "clinic": "C2"}),
        (15, {"program": "P2", "clinic": "C3"}),
        (6, {"program": "P3", "clinic": "C4"}),
    ]
    return make_people(spec, seed=41).assign(wave=1)


def late_respondent():
    before = make_people([(8, {"program": "P1"}), (12, {"program": "P2"})], seed=42).assign(wave=1)
    late = make_people([(1, {"program": "P1"})], seed=43, prefix="LATE").assign(wave=1)
    return before, pd.concat([before, late], ignore_index=True)


def edited_answer():
    before = make_people([(8, {"program": "P1"}), (12, {"program": "P2"})], seed=44).assign(wave=1)
    after = before.copy()
    after.loc[0, "r1"] = 6 - after.loc[0, "r1"] if after.loc[0, "r1"] != 3 else 5
    return before, after


def two_minimums():
    """Groups whose complementary suppression differs between min_cell 3 and 5."""
    spec = [
        (4, {"program": "P1", "pgy": 2}),
        (2, {"program": "P1", "pgy": 3}),
        (4, {"program": "P2", "pgy": 1}),
        (1, {"program": "P2", "pgy": 2}),
        (4, {"program": "P3", "pgy": 1}),
    ]
    return make_people(spec, seed=23).assign(wave=1)


def two_waves():
    """Wave 1 released alone; later both waves, wave 1 now with one resident who answered late."""
    spec = [(6, {"program": "P1"}), (9, {"program": "P2"}), (20, {"program": "P3"})]
    wave1 = make_people(spec, seed=46).assign(wave=1)
    keep = wave1.index[2:]  # two of P1 do not answer again
    late = make_people([(1, {"program": "P2"})], seed=47, prefix="LATE").assign(wave=1)
    joint = pd.concat([wave1, late, next_wave(wave1, keep, seed=47)], ignore_index=True)
    return wave1, joint


SCENARIOS = {
    "by program, then by clinic": lambda: [
        (nested_clinics(), ["program"], 5),
        (nested_clinics(), ["clinic"], 5),
    ],
    "a respondent added between runs": lambda: [
        (late_respondent()[0], ["program"], 5),
        (late_respondent()[1], ["program"], 5),
    ],
    "an answer edited between runs": lambda: [
        (edited_answer()[0], ["program"], 5),
        (edited_answer()[1], ["program"], 5),
    ],
    "one wave, then both with a late answer": lambda: [
        (two_waves()[0], ["program"], 5),
        (two_waves()[1], ["program"], 5),
    ],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_pooled_attacker_finds_nothing_with_the_ledger(mini, scenario):
    pool = _pooled(mini, SCENARIOS[scenario](), ledger=True)
    assert pool.leaks(5) == set()
    assert pool.differences(5) == set()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_negative_control_the_attacker_succeeds_without_the_ledger(mini, scenario):
    pool = _pooled(mini, SCENARIOS[scenario](), ledger=None)
    found = pool.leaks(5) | pool.differences(5)
    assert found, f"{scenario}: the fixture must tempt the attacker when nothing protects across runs"


def test_the_late_respondent_is_recovered_exactly_without_the_ledger(mini):
    pool = _pooled(mini, SCENARIOS["a respondent added between runs"](), ledger=None)
    singles = {keys for _, keys in pool.leaks(5) if len(keys) == 1}
    assert any(next(iter(keys)).startswith("LATE") for keys in singles)  # Pool.leaks checked the value


def test_a_smaller_minimum_is_refused_after_a_larger_one(mini):
    data = two_minimums()
    _run(mini, data, ["program", "pgy"], min_cell=5)
    with pytest.raises(LedgerError, match="minimum cell size 3 is below 5"):
        _run(mini, data, ["program", "pgy"], min_cell=3)
    _run(mini, data, ["program", "pgy"], min_cell=6)  # raising it is fine


def test_negative_control_two_minimums_recover_a_group_of_two_without_the_ledger(mini):
    data = two_minimums()
    pool = _pooled(mini, [(data, ["program", "pgy"], 5), (data, ["program", "pgy"], 3)], ledger=None)
    assert any(len(keys) < 3 for _, keys in pool.leaks(5))


def test_raising_the_minimum_reveals_nothing_new(mini):
    data = two_minimums()
    first = _pooled(mini, [(data, ["program", "pgy"], 3)], ledger=True)
    assert first.leaks(3) == set()
    both = _pooled(mini, [(data, ["program", "pgy"], 3), (data, ["program", "pgy"], 5)], ledger=True)
    assert both.leaks(3) == set()
    assert both.leaks(5) <= first.leaks(5)  # what the first release allowed, and nothing more


def test_every_run_pooled_together(mini):
    """Several runs on the same residents: groupings, minimums, one wave and two, a late respondent."""
    wave1, joint = two_waves()
    late = make_people([(1, {"program": "P1"})], seed=48, prefix="LATE").assign(wave=2)
    grown = pd.concat([joint, late], ignore_index=True)
    runs = [
        (wave1, ["program"], 5),
        (joint, ["program"], 5),
        (joint, [], 6),
        (grown, ["program"], 6),
        (grown, [], 6),
    ]
    assert _pooled(mini, runs, ledger=None).leaks(5), "negative control: the pool leaks without the ledger"
    pool = _pooled(mini, runs, ledger=True)
    assert pool.leaks(5) == set()
    assert pool.differences(5) == set()


# ------------------------------------------------------------------ the ledger itself


def test_an_identical_rerun_shows_exactly_the_same(mini):
    data = nested_clinics()
    first = _run(mini, data, ["program", "clinic"])
    again = _run(mini, data, ["program", "clinic"])
    assert first.to_dict()["rows"] == again.to_dict()["rows"]


def test_the_ledger_holds_no_raw_id_and_is_private(mini, tmp_path):
    path = tmp_path / "team" / "ledger.json"
    _run(mini, nested_clinics(), ["program"], ledger=path)
    text = path.read_text(encoding="utf-8")
    # No raw id (ZQX-0000-ID ...): the pattern, not the bare prefix, which the ledger's 4,000 characters
    # of random base64 hashes hold by chance about once in seventy runs.
    assert not re.search(r"ZQX-\d{4}-ID", text) and "private remark" not in text
    assert (path.stat().st_mode & 0o077) == 0
    content = json.loads(text)
    assert content["releases"][0]["command"] == "cohorts" and content["releases"][0]["min_cell"] == 5


def test_the_default_ledger_follows_the_environment(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("SDT_SURVEY_LEDGER", str(tmp_path / "env-ledger.json"))
    assert default_ledger_path() == tmp_path / "env-ledger.json"
    _run(mini, nested_clinics(), ["program"])
    assert (tmp_path / "env-ledger.json").exists()


def test_without_the_ledger_nothing_is_recorded_and_the_report_says_so(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("SDT_SURVEY_LEDGER", str(tmp_path / "never.json"))
    report = _run(mini, nested_clinics(), ["program"], ledger=None)
    assert not (tmp_path / "never.json").exists()
    assert any("no release ledger" in note for note in report.notes)


DAMAGED = (
    '{"format": "sdt-survey release ledger", "version": 1, "hash_key": "abcdefghijklmnop", "releases": [], '
    '"cells": [{"release": 1, "measure": "m", "label": "all", "identities": "!!", "versions": "!!"}]}'
)


@pytest.mark.parametrize("content", ["not json", '{"format": "something else"}', "[1, 2]", DAMAGED])
def test_a_damaged_or_foreign_ledger_is_a_user_error(mini, tmp_path, content):
    path = tmp_path / "ledger.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LedgerError, match="ledger"):
        _run(mini, nested_clinics(), ["program"], ledger=path)
    assert path.read_text(encoding="utf-8") == content  # never overwritten


def test_a_failed_run_records_nothing(mini, tmp_path):
    path = tmp_path / "ledger.json"
    with pytest.raises(LedgerError), open_ledger(path) as book:
        book.record([], command="test", min_cell=5, details={})
        raise LedgerError("stop")
    assert not path.exists()


def test_in_memory_ledgers_work_without_a_file(mini):
    book = ReleaseLedger(None)
    _run(mini, nested_clinics(), ["program"], ledger=book)
    assert book.releases and book.cells
    with pytest.raises(LedgerError):
        _run(mini, nested_clinics(), ["program"], min_cell=3, ledger=book)


def test_cli_ledger_options(mini, tmp_path):
    instrument = tmp_path / "mini.yaml"
    from privacy_support import MINI

    instrument.write_text(MINI, encoding="utf-8")
    data = tmp_path / "w1.csv"
    nested_clinics().to_csv(data, index=False)
    ledger = tmp_path / "shared-ledger.json"
    runner = CliRunner()
    base = ["cohorts", str(instrument), str(data), "--id-column", "resident_key", "--no-invariance"]
    first = runner.invoke(cli, [*base, "--by", "program", "--ledger", str(ledger)])
    assert first.exit_code == 0, first.output
    refused = runner.invoke(cli, [*base, "--by", "clinic", "--min-cell", "3", "--ledger", str(ledger)])
    assert refused.exit_code == 1 and "can be raised but never lowered" in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
    both = runner.invoke(cli, [*base, "--by", "clinic", "--ledger", str(ledger), "--no-ledger"])
    assert both.exit_code == 2
    off = runner.invoke(cli, [*base, "--by", "clinic", "--min-cell", "3", "--no-ledger"])
    assert off.exit_code == 0 and "no release ledger" in off.output


# ------------------------------------------------------------------ item counts in the report


def test_item_counts_never_show_a_count_below_the_minimum(mini):
    from sdt_survey.report import build_report

    data = make_people([(12, {"program": "P1"})], seed=49).assign(wave=1)
    items = build_report(mini, data, id_column="resident_key").to_dict()["sections"]["items"]["data"]
    entries = [e for block in items["instruments"] for g in block["groups"] for e in g["items"]]
    shown = [c for e in entries for c in [*(e["counts"] or []), e["n"], e["missing"]] if c is not None]
    assert shown and not [c for c in shown if 0 < c < 5]
    for e in entries:  # no single hidden count is the rest subtracted from the total
        if e["counts"] and e["n"] is not None:
            hidden = [c for c in e["counts"] if c is None]
            assert len(hidden) != 1


def test_item_counts_of_a_re_release_do_not_reveal_the_late_respondent(mini):
    from sdt_survey.report import build_report

    before, after = late_respondent()

    def counts(data):
        items = build_report(mini, data, id_column="resident_key").to_dict()["sections"]["items"]["data"]
        entries = [e for block in items["instruments"] for g in block["groups"] for e in g["items"]]
        return {e["id"]: e["counts"] for e in entries}

    first, second = counts(before), counts(after)
    for item, now in second.items():
        for old, new in zip(first[item] or [], now or [], strict=False):
            if old is not None and new is not None:
                assert old == new or abs(new - old) >= 5, f"{item}: {old} -> {new} reveals an answer"
