"""Issue 14, section 3: the analyses' rough edges a new user hit (duplicates, seeds, progress, plots).

Each test here fails on the code before the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sdt_survey
from sdt_survey.cli import cli
from sdt_survey.errors import SdtSurveyError
from sdt_survey.responses import ResponseValidationError

BPN = sdt_survey.load_instrument("bpn-residency")


def bpn_items(n: int, seed: int = 3) -> pd.DataFrame:
    """Answers (as written, reverse-keyed items reversed) from six clear factors, one per subscale."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, len(BPN.subscales)))
    columns = {}
    for k, sub in enumerate(BPN.subscales.values()):
        for item_id in sub.items:
            latent = 0.8 * factors[:, k] + 0.6 * rng.normal(size=n)
            value = np.clip(np.round(3 + 1.1 * latent), 1, 5).astype(int)
            reverse = next(i for i in BPN.items if i.id == item_id).reverse
            columns[item_id] = 6 - value if reverse else value
    return pd.DataFrame(columns)


def redcap_export(path: Path, n: int = 150, *, duplicate: bool = True) -> Path:
    """A REDCap raw export (record_id first, the form's _complete column last), one record repeated."""
    frame = bpn_items(n)
    frame.insert(0, "record_id", [f"R{i:03d}" for i in range(n)])
    if duplicate:
        frame = pd.concat([frame, frame.iloc[[0]].assign(as1=1)], ignore_index=True)
    frame["bpn_residency_complete"] = 2
    frame.to_csv(path, index=False)
    return path


# --- a. duplicates: the platform's id column, one intake for every command ---------------------------


def test_efa_finds_a_duplicate_record_by_the_redcap_record_id(tmp_path):
    path = redcap_export(tmp_path / "export.csv")
    with pytest.raises(ResponseValidationError, match="R000"):
        sdt_survey.factor.instrument_factor_report(BPN, path, n_factors=6, n_iter=2)
    report = sdt_survey.factor.instrument_factor_report(
        BPN, path, n_factors=6, n_iter=2, duplicates="keep-first"
    )
    assert report.efa.n_obs == 150
    assert any("'record_id'" in note and "REDCap" in note for note in report.notes)
    assert any("record_id" in note for note in report.to_dict()["notes"])


def test_cfa_and_reliability_use_the_record_id_and_duplicates_policy(tmp_path):
    path = redcap_export(tmp_path / "export.csv")
    with pytest.raises(ResponseValidationError):
        sdt_survey.factor.sem.instrument_cfa(BPN, path)
    fit = sdt_survey.factor.sem.instrument_cfa(BPN, path, duplicates="keep-last")
    assert fit.n_used == 150
    assert any("record_id" in note for note in fit.notes)
    rel = sdt_survey.reliability.instrument_reliability(BPN, path, duplicates="keep-first")
    assert rel.reports[0].n_respondents == 150
    assert any("record_id" in note for note in rel.notes)


def test_the_intake_names_the_id_column_it_took(tmp_path):
    scored = sdt_survey.score(BPN, redcap_export(tmp_path / "export.csv"), duplicates="keep-first")
    assert scored.id_column == "record_id"
    assert "record_id" in scored.scores.columns and len(scored.scores) == 150


def test_a_qualtrics_response_id_is_the_id(tmp_path):
    frame = bpn_items(40)
    meta = {"StartDate": "2026-01-01", "EndDate": "2026-01-01", "Finished": 1}
    frame = pd.concat([pd.DataFrame({**meta, "ResponseId": [f"R_{i}" for i in range(40)]}), frame], axis=1)
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    path = tmp_path / "qualtrics.csv"
    frame.to_csv(path, index=False)
    scored = sdt_survey.score(BPN, path, duplicates="keep-first")
    assert scored.id_column == "ResponseId" and len(scored.scores) == 40
    assert any("'ResponseId'" in note and "Qualtrics" in note for note in scored.notes)


def test_a_duplicates_policy_without_any_id_column_is_refused(tmp_path):
    path = tmp_path / "plain.csv"
    bpn_items(30).to_csv(path, index=False)
    with pytest.raises(SdtSurveyError, match="duplicates='keep-first' needs the respondent id column"):
        sdt_survey.score(BPN, path, duplicates="keep-first")
    assert sdt_survey.score(BPN, path).id_column is None  # the default policy needs no id


@pytest.mark.parametrize("command", ["efa", "cfa"])
def test_efa_and_cfa_commands_stop_on_a_duplicate_and_honour_duplicates(tmp_path, command):
    path = redcap_export(tmp_path / "export.csv")
    runner = CliRunner()
    extra = ["--factors", "6", "--iterations", "2"] if command == "efa" else []
    stopped = runner.invoke(cli, [command, "bpn-residency", str(path), *extra])
    assert stopped.exit_code != 0 and "duplicate" in stopped.output.lower()
    done = runner.invoke(
        cli, [command, "bpn-residency", str(path), *extra, "--duplicates", "keep-first", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    assert any("record_id" in note for note in json.loads(done.output)["notes"])


@pytest.mark.parametrize("command", ["efa", "cfa", "invariance", "reliability", "cohorts", "report"])
def test_every_analysis_command_offers_duplicates(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--duplicates" in result.output


def test_cohorts_takes_a_duplicates_policy(tmp_path):
    path = redcap_export(tmp_path / "export.csv", n=60)
    frame = pd.read_csv(path)
    frame["program"] = np.where(np.arange(len(frame)) % 2, "north", "south")
    frame.to_csv(path, index=False)
    args = ["cohorts", "bpn-residency", str(path), "--id-column", "record_id", "--by", "program"]
    args += ["--no-ledger", "--no-invariance", "--format", "json"]
    assert CliRunner().invoke(cli, args).exit_code != 0
    done = CliRunner().invoke(cli, [*args, "--duplicates", "keep-first"])
    assert done.exit_code == 0, done.output


# --- b. parallel analysis is reproducible by default -------------------------------------------------


def test_parallel_analysis_is_reproducible_by_default_and_says_its_seed():
    from sdt_survey.factor.exploratory.parallel import DEFAULT_SEED

    items = bpn_items(120, seed=8)
    first = sdt_survey.factor.parallel_analysis(items, n_iter=3)
    again = sdt_survey.factor.parallel_analysis(items, n_iter=3)
    pd.testing.assert_frame_equal(first.scree, again.scree)
    assert first.seed == DEFAULT_SEED and first.to_dict()["seed"] == DEFAULT_SEED
    assert f"seed = {DEFAULT_SEED}" in first.summary()
    assert any(str(DEFAULT_SEED) in note for note in first.to_dict()["notes"])
    fresh = sdt_survey.factor.parallel_analysis(items, n_iter=3, seed=None)
    assert fresh.seed is None and not fresh.notes


def test_the_efa_command_gives_the_same_result_twice(tmp_path):
    path = tmp_path / "plain.csv"
    bpn_items(120, seed=9).to_csv(path, index=False)
    runs = [
        CliRunner().invoke(cli, ["efa", "bpn-residency", str(path), "--iterations", "3", "--format", "json"])
        for _ in range(2)
    ]
    assert all(run.exit_code == 0 for run in runs), runs[0].output
    first, second = (json.loads(run.output) for run in runs)
    assert first["parallel"]["scree"] == second["parallel"]["scree"]
    assert first["parallel"]["seed"] == 1234
    assert any("default seed 1234" in note for note in first["notes"])


# --- c. progress on a terminal, quiet otherwise ------------------------------------------------------


class FakeTerminal:
    """Standard error as a terminal would be: it says it is a tty and keeps what is written."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_is_quiet_off_a_terminal_and_shows_when_forced(capsys, monkeypatch):
    from sdt_survey._progress import progress_mode, progress_shown, track

    assert list(track(range(4), "Counting")) == [0, 1, 2, 3]
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    with progress_mode("show"):
        assert list(track(range(4), "Counting")) == [0, 1, 2, 3]
    assert "Counting" in capsys.readouterr().err
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert progress_shown()
    list(track(range(3), "On a terminal"))
    assert "On a terminal" in terminal.text
    terminal.text = ""
    with progress_mode("quiet"):
        list(track(range(3), "Quiet"))
    assert terminal.text == ""


def test_the_bootstrap_of_alpha_shows_progress(capsys):
    from sdt_survey._progress import progress_mode

    items = bpn_items(80)[["as1", "as2", "as3"]]
    sdt_survey.reliability.alpha(items, bootstrap=50, seed=1)
    assert capsys.readouterr().err == ""
    with progress_mode("show"):
        sdt_survey.reliability.alpha(items, bootstrap=50, seed=1)
    assert "Bootstrap of alpha" in capsys.readouterr().err


def test_power_shows_progress_and_quiet_silences_it(capsys):
    from sdt_survey._progress import progress_mode
    from sdt_survey.power import power_analysis

    grid = {"n_programs": [3]}
    small = {"n_replicates": 2, "seed": 1, "n_jobs": 1, "residents_per_program": 6}
    with progress_mode("show"):
        power_analysis(grid, **small)
    assert "Power: simulated replicates" in capsys.readouterr().err
    args = ["power", "--grid", "n_programs=3", "--replicates", "2", "--set", "residents_per_program=6"]
    with progress_mode("show"):  # as on a terminal, but the command says --quiet
        result = CliRunner().invoke(cli, [*args, "--jobs", "1", "--quiet", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert "Power: simulated" not in result.stderr
        shown = CliRunner().invoke(cli, [*args, "--jobs", "1", "--format", "json"])
        assert "Power: simulated" in shown.stderr


@pytest.mark.parametrize("command", ["power", "reliability", "efa", "cfa", "invariance", "report"])
def test_long_commands_take_quiet(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--quiet" in result.output


# --- d. factors named after subscales, reversed items marked, scree plots and path diagrams ----------


def test_efa_factors_take_the_names_of_their_subscales():
    report = sdt_survey.factor.instrument_factor_report(BPN, bpn_items(300), n_iter=3)
    assert report.efa.n_factors == 6
    assert sorted(report.factor_names.values()) == sorted(BPN.subscales)
    assert sorted(report.efa.loadings.columns) == sorted(BPN.subscales)
    assert list(report.efa.phi.index) == list(report.efa.phi.columns) == list(report.efa.loadings.columns)
    for sid, sub in BPN.subscales.items():  # each subscale's items load most on the factor named after it
        assert (report.efa.loadings.loc[list(sub.items)].abs().idxmax(axis=1) == sid).all()
    assert any("factors named after the subscale" in note for note in report.notes)
    assert report.to_dict()["factor_names"] == dict(report.factor_names)
    assert "autonomy_satisfaction" in report.summary()


def test_efa_keeps_psychs_names_when_the_loadings_are_unclear():
    from sdt_survey.factor.exploratory.report import match_subscales

    mixed = pd.DataFrame(
        {"MR1": [0.6, 0.6, 0.5, 0.5], "MR2": [0.1, 0.2, 0.1, 0.1]}, index=["a1", "a2", "b1", "b2"]
    )
    names, notes = match_subscales(mixed, {"a": ["a1", "a2"], "b": ["b1", "b2"]})
    assert names == {} and "keep psych's names" in notes[0]
    # Two factors for six subscales: a factor where several subscales' items meet keeps psych's name.
    report = sdt_survey.factor.instrument_factor_report(BPN, bpn_items(300), n_factors=2, n_iter=2)
    kept = [c for c in report.efa.loadings.columns if c.startswith("MR")]
    assert kept and len(report.factor_names) < 2
    assert any(f"{kept[0]} kept psych's name" in note for note in report.notes)


def test_reliability_marks_reverse_keyed_items():
    report = sdt_survey.reliability.instrument_reliability(BPN, bpn_items(200)).reports[0]
    declared = sorted(i.id for i in BPN.items if i.reverse)
    assert declared and sorted(report.reversed_items) == declared
    items = report.to_dict()["scales"]["autonomy_satisfaction"]["items"]
    assert {item: value["reversed"] for item, value in items.items() if value["reversed"]} == {
        i: True for i in declared if i.startswith("as")
    }
    frame = report.item_frame()
    assert sorted(frame.index.get_level_values("item")[frame["reversed"]]) == declared
    text = report.summary()
    assert f"{declared[0]} (r)" in text and "(r) reverse-keyed" in text


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_efa_and_factor_report_draw_a_scree_plot(tmp_path):
    report = sdt_survey.factor.instrument_factor_report(BPN, bpn_items(200), n_iter=2)
    assert report.plot(tmp_path / "scree.png") == tmp_path / "scree.png" and _png(tmp_path / "scree.png")
    with pytest.raises(SdtSurveyError):
        report.plot(tmp_path / "scree.png")  # never over a file without overwrite=True
    report.plot(tmp_path / "scree.png", overwrite=True)
    report.efa.plot(tmp_path / "efa.svg")
    assert (tmp_path / "efa.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert not [p for p in tmp_path.iterdir() if p.name not in {"scree.png", "efa.svg"}]  # no temp left


@pytest.mark.parametrize("model", ["correlated", "bifactor", "second-order"])
def test_cfa_draws_a_path_diagram(tmp_path, model):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sdt_survey.factor.sem.instrument_cfa(BPN, bpn_items(300), model=model)
    figure = fit.plot()
    texts = {t.get_text() for t in figure.axes[0].texts}
    assert set(fit.model.factors) <= {t.replace("\n", "") for t in texts} and "as1" in texts
    loading = fit.parameters.query("op == '=~' and rhs == 'as1'")["std_all"].iloc[0]
    assert f"{loading:.2f}" in texts
    assert fit.plot(tmp_path / "paths.png") == tmp_path / "paths.png" and _png(tmp_path / "paths.png")
    with pytest.raises(SdtSurveyError):
        fit.plot(tmp_path / "paths.png")


def test_efa_and_cfa_commands_write_plots(tmp_path):
    path = tmp_path / "plain.csv"
    bpn_items(200).to_csv(path, index=False)
    runner = CliRunner()
    efa = runner.invoke(
        cli, ["efa", "bpn-residency", str(path), "--iterations", "2", "--plot", str(tmp_path / "s.png")]
    )
    assert efa.exit_code == 0, efa.output
    assert _png(tmp_path / "s.png") and "scree plot:" in efa.output
    cfa = runner.invoke(cli, ["cfa", "bpn-residency", str(path), "--plot", str(tmp_path / "p.png")])
    assert cfa.exit_code == 0, cfa.output
    assert _png(tmp_path / "p.png") and "path diagram:" in cfa.output
    again = runner.invoke(cli, ["cfa", "bpn-residency", str(path), "--plot", str(tmp_path / "p.png")])
    assert again.exit_code != 0 and "--force" in again.output  # refused before any work


def test_the_reports_reliability_table_marks_reverse_keyed_items(tmp_path):
    from sdt_survey.report import build_report
    from sdt_survey.simulate import simulate

    simulate("bpn-residency", seed=2, n_programs=6).write_folder(tmp_path)
    report = build_report("bpn-residency", tmp_path / "responses_w1.csv", id_column="resident", ledger=False)
    block = report.to_dict()["sections"]["reliability"]["data"]["instruments"][0]
    marked = {sub["id"]: sub["reversed_items"] for sub in block["subscales"]}
    bpn = sdt_survey.load_instrument("bpn-residency")
    assert marked["autonomy_satisfaction"] == [
        i for i in bpn.subscales["autonomy_satisfaction"].items if i in bpn.reverse_keyed
    ]
    assert any(marked.values())
    assert "reverse-keyed" in report.to_html()


def test_a_fiml_fit_shows_its_iterations_when_progress_is_shown(capsys):
    import numpy as np
    import pandas as pd

    from sdt_survey._progress import progress_mode
    from sdt_survey.factor import cfa

    rng = np.random.default_rng(2)
    f = rng.normal(size=(300, 1))
    data = pd.DataFrame(f * [0.8, 0.7, 0.6, 0.7] + rng.normal(size=(300, 4)) * 0.6, columns=list("abcd"))
    data = data.mask(rng.random(data.shape) < 0.1)
    with progress_mode("show"):
        cfa(data, "F =~ a + b + c + d", missing="fiml")
    assert "Fitting the CFA (FIML)" in capsys.readouterr().err
    cfa(data, "F =~ a + b + c + d", missing="fiml")  # not a terminal: nothing drawn
    assert capsys.readouterr().err == ""
