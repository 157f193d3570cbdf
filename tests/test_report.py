"""The report: its contract, its privacy (scanning our own output) and the page in a real browser.

Privacy is tested by attacking what the report publishes, as ``test_cohorts.py``
attacks cohort reports: a report is built on simulated data changed to tempt
disclosure (a clinic of 3 residents; a clinic of 6 that drops to 3 in the second
wave, so that it is small in one wave only; margins in which a total minus the
visible groups would give a hidden one), with free-text answers and a clinic
name that needs escaping. The test then computes, from the raw files, the true
figures of every cell the report suppressed, and looks for them in the HTML and
the JSON text.

Numbers like "3" are everywhere in a report, so the scan is specific:

- in the JSON, every suppressed figure must be ``null``, and no number anywhere
  in the JSON may equal a suppressed cell's true mean or SD;
- in the JSON strings and the HTML text, the mean and SD of every suppressed
  cell, formatted to 2 and 3 decimals, must not appear as a number of their
  own, unless some *other* number of the JSON formats the same way (the HTML is
  rendered from the JSON alone, so such a token is explained; it is a
  collision, not a leak). For the clinic of 3, whose answers were set to give
  distinctive values, the test also asserts that no such collision excused the
  check;
- the count of a suppressed cell is small by construction, so it is checked
  structurally: null in the JSON, and the HTML row of a suppressed cell holds
  its group, its wave and the word "suppressed", nothing else.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``) with Playwright
for Python, as ``test_export_html.py`` does, and are skipped, with the reason,
only when either is missing.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sdt_survey
from sdt_survey.errors import SdtSurveyError
from sdt_survey.report import SECTION_TITLES, Report, build_report
from sdt_survey.report.plots import _bar_segments
from sdt_survey.report.sections import factor as report_module
from sdt_survey.simulate import simulate
from tests.conftest import REFERENCE

SDT_SIM = REFERENCE / "sdt-sim"
SCHEDULE_OPTIONS = {"time_column": "session_date", "assigned_column": "assigned"}
FIGURES = ("mean", "sd", "n", "ci_lower", "ci_upper", "share_above_midpoint", "share_below_midpoint")

# A second instrument with one free-text question: its answers must never reach a report.
COMMENTS = """\
schema_version: 1
id: residency-comments
version: "1.0.0"
title: "Comments <b>&</b> (test fixture)"
license: CC0-1.0
items:
  - id: comment
    text: Anything else you want the program to know?
    type: text
"""


# =============================================================================== fixtures


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> SimpleNamespace:
    """The default simulated data set written as a user would have it, and its report."""
    folder = tmp_path_factory.mktemp("simulated")
    data = simulate("bpn-residency", seed=1)
    data.write(folder)
    files = [folder / "responses_w1.csv", folder / "responses_w2.csv"]
    started = time.perf_counter()
    report = build_report(
        "bpn-residency",
        files,
        id_column="resident",
        by=["pgy", "program"],
        schedule=folder / "schedule.csv",
        schedule_options=SCHEDULE_OPTIONS,
    )
    seconds = time.perf_counter() - started
    return SimpleNamespace(folder=folder, files=files, data=data, report=report, seconds=seconds)


@pytest.fixture(scope="module")
def tempting(tmp_path_factory) -> SimpleNamespace:
    """Simulated data changed to tempt disclosure, and its report as HTML and JSON."""
    folder = tmp_path_factory.mktemp("tempting")
    (folder / "comments.yaml").write_text(COMMENTS, encoding="utf-8")
    data = simulate("bpn-residency", seed=7, n_programs=5, residents_per_program=(24, 30))
    raw = data.responses.copy()
    both = sorted(set(raw.loc[raw.wave == 1, "resident"]) & set(raw.loc[raw.wave == 2, "resident"]))
    tiny, west = both[:3], both[3:9]
    raw["clinic"] = raw["program"].map(
        {"P01": "North", "P02": "North", "P03": "South", "P04": "East", "P05": "East"}
    )
    raw.loc[raw.resident.isin(tiny), "clinic"] = "Tiny <b>&</b>"  # a cohort of 3, with a name to escape
    raw.loc[raw.resident.isin(west), "clinic"] = "Westside"  # 6 in wave 1 ...
    raw = raw[~((raw.wave == 2) & raw.resident.isin(west[:3]))].reset_index(drop=True)  # ... 3 in wave 2
    # Distinctive belonging answers for the clinic of 3 in wave 1 (rs4 is reverse-keyed):
    # relatedness satisfaction 1.25, 1.5 and 3.75, so the hidden mean is 2.167 and the SD 1.382, values
    # that no visible figure of the report is likely to share.
    for resident, values in zip(tiny, [(1, 1, 2, 5), (2, 1, 2, 5), (4, 4, 3, 2)], strict=True):
        raw.loc[(raw.resident == resident) & (raw.wave == 1), ["rs1", "rs2", "rs3", "rs4"]] = values
    raw["comment"] = [f"Free text {k}: Dr Zanzibar-Quill{k} never notices me" for k in range(len(raw))]
    raw["free_note"] = [f"passthrough note qwv{k} about my week" for k in range(len(raw))]
    files = []
    for wave in (1, 2):
        path = folder / f"responses_w{wave}.csv"
        raw[raw.wave == wave].to_csv(path, index=False)
        files.append(path)
    data.schedule.to_csv(folder / "schedule.csv", index=False)
    instruments = ["bpn-residency", str(folder / "comments.yaml")]
    report = build_report(
        instruments,
        files,
        id_column="resident",
        by=["clinic", "pgy"],
        schedule=folder / "schedule.csv",
        schedule_options=SCHEDULE_OPTIONS,
    )
    html_path = report.write_html(folder / "report.html")
    json_path = report.write_json(folder / "report.json")
    # The truth, computed independently of the report: score each file as it was written.
    scored = pd.concat(
        [sdt_survey.score(instruments, path, id_column="resident").scores for path in files],
        ignore_index=True,
    )
    return SimpleNamespace(
        folder=folder,
        raw=raw,
        scored=scored,
        schedule=data.schedule,
        tiny=tiny,
        west=west,
        report=report,
        html=html_path.read_text(encoding="utf-8"),
        json=json_path.read_text(encoding="utf-8"),
        html_path=html_path,
    )


@pytest.fixture(scope="module")
def reference() -> SimpleNamespace:
    if not SDT_SIM.is_dir():
        pytest.skip(f"the shared reference data are not at {SDT_SIM}")
    files = [SDT_SIM / "responses_w1.csv", SDT_SIM / "responses_w2.csv"]
    report = build_report(
        "bpn-residency",
        files,
        id_column="resident",
        by=["pgy", "program"],
        schedule=SDT_SIM / "schedule.csv",
        schedule_options={
            "learner_column": "resident",
            "faculty_column": "faculty",
            "time_column": "session_date",
            "assigned_column": "assigned",
        },
    )
    return SimpleNamespace(files=files, report=report)


# =============================================================================== helpers


def numeric_leaves(value) -> Iterator[float]:
    if isinstance(value, dict):
        for v in value.values():
            yield from numeric_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from numeric_leaves(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def string_leaves(value) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from string_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from string_leaves(v)
    elif isinstance(value, str):
        yield value


def decimal_tokens(text: str) -> set[str]:
    """Every number with a decimal point, as a whole token ("3.4716" is one token, not "3.47")."""
    return set(re.findall(r"\d+\.\d+", text))


def without_images(page: str) -> str:
    return re.sub(r'src="data:[^"]*"', 'src=""', page)


def token_present(token: str, text: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(token)}(?![\w-]|\.\d)", text) is not None


def section_rows(page: str, section: str) -> list[list[tuple[str, str]]]:
    """The table rows of one section of the page: a list of (class, text) per cell."""

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth = 0
            self.rows: list[list[tuple[str, str]]] = []
            self.cell: list[str] | None = None
            self.cls = ""

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "section":
                self.depth = 1 if attrs.get("data-section") == section else 0
            if not self.depth:
                return
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell, self.cls = [], attrs.get("class") or ""

        def handle_endtag(self, tag):
            if self.depth and tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append((self.cls, "".join(self.cell).strip()))
                self.cell = None
            if tag == "section":
                self.depth = 0

        def handle_data(self, data):
            if self.depth and self.cell is not None:
                self.cell.append(data)

    parser = Rows()
    parser.feed(page)
    return parser.rows


def true_cell(scored: pd.DataFrame, group: dict, wave, scale: str) -> pd.Series:
    """The answers behind one cohort cell, from the raw data."""
    rows = scored[scored["wave"] == wave]
    for column, value in group.items():
        if value != "all":
            rows = rows[rows[column].astype(str) == str(value)]
    return rows[scale].dropna()


# =============================================================================== contract


def test_every_section_is_filled_on_the_default_simulated_data(simulated):
    content = simulated.report.to_dict()
    assert content["format"] == "sdt-survey-report"
    assert list(content["sections"]) == list(SECTION_TITLES)
    assert {k: s["status"] for k, s in content["sections"].items()} == dict.fromkeys(SECTION_TITLES, "ok")
    header = content["header"]
    assert header["instruments"] == [
        {"id": "bpn-residency", "version": "1.0.0", "title": "Basic Psychological Needs in Residency"}
    ]
    assert header["data_files"] == ["responses_w1.csv", "responses_w2.csv"]  # names only, no folders
    assert header["schedule_file"] == "schedule.csv" and header["min_cell"] == 5 and header["waves"] == [1, 2]
    assert str(simulated.folder) not in simulated.report.to_json()
    assert header["command"].startswith("sdt-survey report bpn-residency --responses responses_w1.csv")

    sections = content["sections"]
    for section in sections.values():
        assert section["explanation"] and section["source"] and section["reason"] is None
    items = sections["items"]["data"]["instruments"][0]
    entries = [e for group in items["groups"] for e in group["items"]]
    assert len(entries) == 24 and [g["subscale"] for g in items["groups"]][:2] == [
        "autonomy_satisfaction",
        "autonomy_frustration",
    ]
    assert {e["id"] for e in entries if e["reverse"]} == {"as4", "rs4", "cs4"}
    complete = [e for e in entries if e["counts"] and None not in (e["n"], e["missing"], *e["counts"])]
    assert all(sum(e["counts"]) == e["n"] and e["n"] + e["missing"] == 415 for e in complete)
    scale = items["scales"][0]
    # rare extreme answers are hidden with a neighbour, so every bar can still be drawn exactly
    undrawable = [e for e in entries if not _bar_segments(scale["values"], e["percent"], scale["midpoint"])]
    assert not undrawable, [(e["id"], e["counts"], e["percent"]) for e in undrawable]
    assert all(e["n"] + e["missing"] == 415 and sum(c or 0 for c in e["counts"]) <= e["n"] for e in entries)
    shown = [c for e in entries for c in [*(e["counts"] or []), e["missing"], e["n"]] if c is not None]
    assert not [c for c in shown if 0 < c < 5]  # no count of 1 to min_cell - 1 reaches leaders

    reliability = sections["reliability"]["data"]["instruments"][0]
    assert [s["id"] for s in reliability["subscales"]] == list(
        sdt_survey.load_instrument("bpn-residency").subscales
    )
    assert sections["reliability"]["source"] == [
        "sdt-survey reliability bpn-residency responses_w1.csv --id-column resident"
    ]

    factor = sections["factor_structure"]["data"]["instruments"][0]
    assert set(factor["fit"]) == {"chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci", "srmr"}
    assert len(factor["loadings"]) == 24 and factor["fit"]["cfi"] > 0.95
    assert factor["invariance"]["across"] == "pgy" and factor["invariance"]["status"] == "tested"
    assert [s["step"] for s in factor["invariance"]["steps"]] == ["configural", "metric", "scalar", "strict"]
    assert "n" not in json.dumps(factor["invariance"].get("groups_tested"))  # group names, never sizes

    model = sections["continuity"]["data"]["model"]
    assert (
        model["formula"] == "relatedness_satisfaction ~ coc + (1|program)" and model["spline"] == "coc:df=3"
    )
    assert model["lrt"]["df"] == 3 and model["lrt"]["pvalue"] < 0.05  # the simulated effect is found
    assert 0 < model["icc"] < 1 and 0 < model["r2_marginal"] < model["r2_conditional"] < 1
    curve = model["curve"]
    band = zip(curve["ci_lower"], curve["fitted"], curve["ci_upper"], strict=True)
    assert len(curve["x"]) >= 10 and all(low <= fitted <= high for low, fitted, high in band)
    assert any("sdt-survey continuity schedule.csv" in s for s in sections["continuity"]["source"])

    cohorts = sections["cohorts"]["data"]
    assert cohorts["focus"] == "relatedness_satisfaction" and cohorts["waves"] == [1, 2]
    assert sections["cohorts"]["source"] == [
        "sdt-survey cohorts bpn-residency responses_w1.csv responses_w2.csv --id-column resident "
        "--by pgy,program"
    ]
    quality = sections["data_quality"]["data"]
    assert [f["file"] for f in quality["files"]] == ["responses_w1.csv", "responses_w2.csv"]
    assert quality["schedule"]["file"] == "schedule.csv"

    text = simulated.report.summary()
    assert text.splitlines()[0].startswith("Report: bpn-residency 1.0.0; 2 wave(s)")
    assert all(f"{n}. {title} [ok]" in text for n, title in enumerate(SECTION_TITLES.values(), start=1))


def test_json_is_strict_and_the_same_as_to_dict(simulated, tmp_path):
    path = simulated.report.write_json(tmp_path / "report.json")
    loaded = json.loads(path.read_text(encoding="utf-8"))  # NaN/Infinity would not even be written
    assert loaded == simulated.report.to_dict()
    assert Report(loaded).to_html() == simulated.report.to_html()  # the page is made from the JSON alone


def test_the_default_report_builds_in_a_few_seconds(simulated):
    assert simulated.seconds < 20, (
        f"build_report took {simulated.seconds:.1f} s on the default simulated data"
    )


def test_the_html_is_one_self_contained_file(simulated):
    page = simulated.report.to_html()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page), "only data: URIs and in-page links"
    assert not re.search(r"https?://", without_images(page))
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 5
    assert all(base64.b64decode(i).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
    for key, title in SECTION_TITLES.items():
        assert f'<section id="{key}" data-section="{key}" data-status="ok">' in page
        assert title in page


# =============================================================================== privacy


def test_no_identifier_free_text_or_suppressed_figure_reaches_the_html_or_the_json(tempting):
    content = json.loads(tempting.json)
    page = without_images(tempting.html)
    texts = {"html": page, "json": tempting.json}

    # Identifiers: respondent ids, the schedule's learner, faculty and assigned-preceptor ids.
    ids = (
        set(tempting.raw["resident"]) | set(tempting.schedule["faculty"]) | set(tempting.schedule["assigned"])
    )
    for name, text in texts.items():
        leaked = [i for i in ids if token_present(str(i), text)]
        assert leaked == [], f"ids in the {name}: {leaked[:5]}"
        # Free text: the text item's answers and a free-text passthrough column.
        for answer in [*tempting.raw["comment"], *tempting.raw["free_note"]]:
            assert answer not in text
        assert "Zanzibar-Quill" not in text and "qwv" not in text

    # A group name that needs escaping is escaped in the page, and kept as it is in the JSON.
    assert "Tiny <b>" not in tempting.html and "clinic Tiny &lt;b&gt;&amp;&lt;/b&gt;" in tempting.html
    assert "Comments &lt;b&gt;&amp;&lt;/b&gt;" in tempting.html

    # The suppressed cells: the cohort of 3 and the clinic that is small in wave 2 only, in both waves.
    cohorts = content["sections"]["cohorts"]["data"]
    hidden = [r for r in cohorts["rows"] if r["suppressed"]]
    hidden_groups = {(r["group"]["clinic"], r["wave"]) for r in hidden}
    assert {("Tiny <b>&</b>", 1), ("Tiny <b>&</b>", 2), ("Westside", 1), ("Westside", 2)} <= hidden_groups
    for row in hidden:
        assert all(row[figure] is None for figure in FIGURES), row
    for table in ("changes", "trends"):
        for row in cohorts[table]:
            if row["group"]["clinic"] in ("Tiny <b>&</b>", "Westside"):
                labels = ("group", "scale", "from_wave", "to_wave", "method", "suppressed")
                assert row["suppressed"] and all(v is None for k, v in row.items() if k not in labels), row

    # Every visible row carries its own group's true figures (so the truth computed here is the report's
    # definition, and no visible row carries a hidden group's numbers under another name).
    for row in cohorts["rows"]:
        if not row["suppressed"]:
            values = true_cell(tempting.scored, row["group"], row["wave"], row["scale"])
            assert row["n"] == len(values) and row["mean"] == pytest.approx(values.mean(), abs=1e-9), row

    numbers = list(numeric_leaves(content))
    outside_cohorts = [x for x in numeric_leaves({**content["sections"], "cohorts": None}) if x != int(x)]
    strings = " ".join(string_leaves(content))
    tokens = {"html": decimal_tokens(page), "json strings": decimal_tokens(strings)}
    checked_distinctive = set()
    for row in hidden:
        values = true_cell(tempting.scored, row["group"], row["wave"], row["scale"])
        if len(values) == 0:
            continue
        truth = {"mean": float(values.mean())}
        if len(values) > 1:
            truth["sd"] = float(values.std(ddof=1))
        for figure, value in truth.items():
            # Not anywhere else in the JSON either, at full precision.
            assert not any(math.isclose(x, value, rel_tol=0, abs_tol=1e-9) for x in outside_cohorts), (
                row,
                figure,
            )
            for digits in (2, 3):
                token = f"{abs(value):.{digits}f}"
                explained = any(
                    f"{abs(x):.{digits}f}" == token and not math.isclose(x, value, abs_tol=1e-9)
                    for x in numbers
                )
                if explained:
                    continue
                if row["group"]["clinic"] == "Tiny <b>&</b>" and row["scale"] == "relatedness_satisfaction":
                    checked_distinctive.add((row["wave"], figure, digits))
                for name, found in tokens.items():
                    where = (
                        f"{row['group']} wave {row['wave']} {row['scale']} {figure}: {token} in the {name}"
                    )
                    assert token not in found, where
    # The clinic of 3's distinctive wave-1 belonging figures (2.167 and 1.382) were really looked for.
    assert {(1, "mean", 2), (1, "mean", 3), (1, "sd", 2), (1, "sd", 3)} <= checked_distinctive

    # In the page, the row of a suppressed cell holds its group, its wave and "suppressed", nothing else.
    rows = section_rows(tempting.html, "cohorts")
    marked = [r for r in rows if any(cls == "suppressed" for cls, _ in r)]
    assert marked, "the page marks suppressed cells"
    for row in marked:
        assert row[0][1].startswith(("clinic Tiny", "clinic Westside")), row
        assert [text for _, text in row[2:]] == ["suppressed"] and re.fullmatch(r"[\d ]+→?[\d ]*", row[1][1])


def test_no_hidden_group_can_be_worked_out_by_subtraction(tempting):
    """A total minus the visible groups of a margin is 0 or at least min_cell residents, never one group."""
    content = tempting.report.to_dict()
    cohorts = content["sections"]["cohorts"]["data"]
    min_cell = cohorts["min_cell"]
    rows = cohorts["rows"]
    margins_with_hidden = 0
    for column in cohorts["by"]:
        for wave in cohorts["waves"]:
            for scale in [s["id"] for s in cohorts["scales"]]:
                here = [r for r in rows if r["wave"] == wave and r["scale"] == scale]
                total = next(r for r in here if set(r["group"].values()) == {"all"})
                groups = [
                    r
                    for r in rows
                    if r["wave"] == wave and r["scale"] == scale and r["group"][column] != "all"
                ]
                hidden = [r for r in groups if r["suppressed"]]
                assert len(hidden) != 1, f"{column} wave {wave} {scale}: one hidden group = total - visible"
                if hidden:
                    margins_with_hidden += 1
                    residual = total["n"] - sum(r["n"] for r in groups if not r["suppressed"])
                    assert residual == 0 or residual >= min_cell
                    truth = sum(len(true_cell(tempting.scored, r["group"], wave, scale)) for r in hidden)
                    assert residual == truth  # the subtraction gives the hidden groups together, no fewer
    assert margins_with_hidden > 0


def test_the_other_sections_publish_no_group_level_figure(tempting):
    content = tempting.report.to_dict()
    sections = content["sections"]
    invariance = sections["factor_structure"]["data"]["instruments"][0]["invariance"]
    assert invariance["across"] == "clinic" and invariance["status"] == "too_few_respondents"
    assert "groups" not in invariance  # group sizes are never carried over
    assert set(sections["continuity"]["data"]["join"]) == {
        "responses",
        "matched",
        "responses_without_schedule",
        "schedule_residents_without_response",
    }
    schedule = sections["continuity"]["data"]["schedule"]
    for index in schedule["indices"].values():
        assert set(index) == {"n", "mean", "sd"}  # no minimum, maximum or quantile: one resident's value
    # The dose-response curve stops before the min_cell residents with the lowest and highest continuity.
    model = sections["continuity"]["data"]["model"]
    coc = pd.read_csv(tempting.folder / "schedule.csv")
    indices = sdt_survey.continuity.continuity_indices(
        coc, learner_column="resident", time_column="session_date"
    )
    wave1 = set(tempting.raw.loc[tempting.raw.wave == 1, "resident"])
    used = np.sort(indices.indices.loc[indices.indices["resident"].isin(wave1), "coc"].dropna().to_numpy())
    assert min(model["curve"]["x"]) >= used[4] and max(model["curve"]["x"]) <= used[-5]
    assert min(model["curve"]["x"]) > used[0] and max(model["curve"]["x"]) < used[-1]
    # The instrument without subscales is skipped where subscales are needed, and its free text never shown.
    assert [i["id"] for i in sections["reliability"]["data"]["instruments"]] == ["bpn-residency"]
    assert [i["id"] for i in sections["items"]["data"]["instruments"]] == ["bpn-residency"]


def test_a_survey_smaller_than_min_cell_shows_nothing_about_answers(tmp_path):
    data = simulate("bpn-residency", seed=3, n_programs=1, residents_per_program=(4, 4))
    frame = data.responses
    content = build_report("bpn-residency", frame, id_column="resident", by=["pgy"]).to_dict()
    sections = content["sections"]
    assert sections["items"]["status"] == "suppressed" and sections["items"]["data"]["n_respondents"] is None
    assert sections["reliability"]["status"] == "suppressed"
    assert sections["factor_structure"]["status"] == "not_available"
    assert all(r["suppressed"] and r["n"] is None for r in sections["cohorts"]["data"]["rows"])
    assert sections["data_quality"]["data"]["files"][0]["records"] is None
    assert "fewer than 5" in sections["factor_structure"]["reason"]
    page = Report(content).to_html()
    assert 'data-status="suppressed"' in page and "Not shown: fewer than 5 residents answered" in page


# =============================================================================== when a stage cannot run


def test_without_a_schedule_the_continuity_section_says_so(tmp_path):
    data = simulate("bpn-residency", seed=5, n_programs=2, residents_per_program=(10, 10))
    report = build_report("bpn-residency", data.responses, id_column="resident", by=["program"])
    continuity = report.sections["continuity"]
    assert continuity["status"] == "not_available" and "no clinic schedule was given" in continuity["reason"]
    page = report.to_html()
    assert 'data-section="continuity" data-status="not_available"' in page
    assert "Not shown: no clinic schedule was given" in page


def test_without_the_factor_engine_the_section_says_so(monkeypatch):
    monkeypatch.setattr(report_module, "_factor_engine", lambda: (None, None, None))
    data = simulate("bpn-residency", seed=5, n_programs=2, residents_per_program=(10, 10))
    report = build_report("bpn-residency", data.responses, id_column="resident")
    section = report.sections["factor_structure"]
    assert section["status"] == "not_available" and "is not available in this version" in section["reason"]
    assert report.sections["cohorts"]["status"] == "ok"


def test_a_window_with_several_values_per_resident_is_explained_not_fitted():
    data = simulate("bpn-residency", seed=5, n_programs=3, residents_per_program=(12, 12))
    report = build_report(
        "bpn-residency",
        data.responses,
        id_column="resident",
        schedule=data.schedule,
        schedule_options={**SCHEDULE_OPTIONS, "window": "block:4"},
    )
    continuity = report.sections["continuity"]
    assert (
        continuity["status"] == "not_available"
        and "several continuity values per resident" in continuity["reason"]
    )


def test_mistakes_in_the_call_are_user_errors():
    data = simulate("bpn-residency", seed=5, n_programs=2, residents_per_program=(10, 10))
    frame = data.responses
    with pytest.raises(SdtSurveyError, match="min_cell 2 is too small"):
        build_report("bpn-residency", frame, id_column="resident", min_cell=2)
    with pytest.raises(SdtSurveyError, match="did you mean 'time_column'"):
        build_report(
            "bpn-residency",
            frame,
            id_column="resident",
            schedule=data.schedule,
            schedule_options={"time_colum": "x"},
        )
    with pytest.raises(SdtSurveyError, match="by must be a list"):
        build_report("bpn-residency", frame, id_column="resident", by="program")
    with pytest.raises(SdtSurveyError, match="respondent id column"):
        build_report("bpn-residency", frame, id_column="resident", by=["resident"])
    with pytest.raises(SdtSurveyError, match="did you mean 'session_date'"):  # issue 14: the default is found
        build_report(
            "bpn-residency",
            frame,
            id_column="resident",
            schedule=data.schedule,
            schedule_options={"time_column": "sesion_date"},
        )
    with pytest.raises(SdtSurveyError):  # a formula the user wrote that names no column is their mistake
        build_report(
            "bpn-residency",
            frame,
            id_column="resident",
            schedule=data.schedule,
            schedule_options=SCHEDULE_OPTIONS,
            formula="relatedness_satisfaction ~ coc + (1|nosuchcolumn)",
        )


def test_a_formula_of_ones_own_is_fitted_as_written_with_the_spline_on_coc(simulated):
    data = simulated.data
    wave1 = data.responses[data.responses["wave"] == 1]
    report = build_report(
        "bpn-residency",
        wave1,
        id_column="resident",
        schedule=data.schedule,
        schedule_options=SCHEDULE_OPTIONS,
        formula="relatedness_satisfaction ~ coc + pgy + (1|program)",
    )
    model = report.sections["continuity"]["data"]["model"]
    assert model["formula"] == "relatedness_satisfaction ~ coc + pgy + (1|program)"
    assert model["spline"] == "coc:df=3" and "pgy" in [f["term"] for f in model["fixed"]]
    assert (
        "--formula 'relatedness_satisfaction ~ coc + pgy + (1|program)'"
        in report.content["header"]["command"]
    )


# =============================================================================== reference data


def test_every_section_is_filled_on_the_reference_data(reference):
    content = reference.report.to_dict()
    assert {k: s["status"] for k, s in content["sections"].items()} == dict.fromkeys(SECTION_TITLES, "ok")
    sections = content["sections"]
    assert sections["items"]["data"]["n_respondents"] == 408
    factor = sections["factor_structure"]["data"]["instruments"][0]
    assert factor["n_used"] == 408 and factor["invariance"]["status"] == "tested"
    reference_json = json.loads((SDT_SIM / "reference.json").read_text(encoding="utf-8"))
    alphas = {s["id"]: s["alpha"] for s in sections["reliability"]["data"]["instruments"][0]["subscales"]}
    for subscale, golden in reference_json["alpha"].items():
        assert alphas[subscale] == pytest.approx(golden["alpha"], abs=1e-6)  # psych::alpha on wave 1
    model = sections["continuity"]["data"]["model"]
    assert model["n_groups"] == {"program": 14} and model["lrt"]["pvalue"] < 0.001
    assert len(sections["cohorts"]["data"]["rows"]) > 0 and sections["data_quality"]["data"]["schedule"]


# =============================================================================== in a real browser


def open_in_browser(browser, page_path: Path, screenshot: Path) -> dict:
    """Load the page; return what it requested and said, what each section holds, and a screenshot."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10000)
    requests: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        sections = page.evaluate(
            """() => Array.from(document.querySelectorAll('main > section')).map(s => ({
                key: s.dataset.section,
                status: s.dataset.status,
                heading: (s.querySelector('h2') || {}).textContent || '',
                explanation: (s.querySelector('p.explain') || {}).textContent || '',
                source: Array.from(s.querySelectorAll('p.source code')).map(c => c.textContent),
                reason: (s.querySelector('p.unavailable') || {}).textContent || '',
                images: Array.from(s.querySelectorAll('img')).map(i => [i.complete, i.naturalWidth, i.alt]),
                tableRows: s.querySelectorAll('table tbody tr').length,
                visibleHeight: s.getBoundingClientRect().height,
            }))"""
        )
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return {"requests": requests, "console": console, "sections": sections}


@pytest.mark.parametrize("which", ["simulated", "reference"])
def test_the_page_loads_in_a_real_browser_with_every_section_filled(browser, which, request, tmp_path):
    report = request.getfixturevalue(which).report
    page_path = report.write_html(tmp_path / "report.html")
    shot = tmp_path / "report.png"
    seen = open_in_browser(browser, page_path, shot)

    assert seen["console"] == [], "the page logged errors or warnings"
    assert seen["requests"] == [page_path.as_uri()], f"the page made requests: {seen['requests']}"
    sections = {s["key"]: s for s in seen["sections"]}
    assert list(sections) == list(SECTION_TITLES)
    for key, section in sections.items():
        assert section["status"] == "ok", (key, section["reason"])
        assert SECTION_TITLES[key] in section["heading"]
        assert len(section["explanation"]) > 80 and section["source"] and section["visibleHeight"] > 100
        assert all(complete and width > 0 and alt for complete, width, alt in section["images"]), key
        assert section["images"] or section["tableRows"], f"{key} is empty"
    for key in ("items", "reliability", "continuity", "cohorts"):
        assert sections[key]["images"], f"{key} has its plot"
    for key in ("reliability", "factor_structure", "continuity", "cohorts", "data_quality"):
        assert sections[key]["tableRows"] > 0, f"{key} has its table"
    header = shot.read_bytes()[:8]
    assert header == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_tempting_page_marks_suppressed_cells_in_the_browser(browser, tempting, tmp_path):
    shot = tmp_path / "tempting.png"
    seen = open_in_browser(browser, tempting.html_path, shot)
    assert seen["console"] == [] and seen["requests"] == [tempting.html_path.as_uri()]
    sections = {s["key"]: s for s in seen["sections"]}
    assert all(sections[k]["status"] == "ok" for k in SECTION_TITLES)
    assert all(width > 0 for _, width, _ in sections["cohorts"]["images"])
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hidden_answers_are_drawn_merged_only_where_the_bar_stays_exact():
    values, mid = [1, 2, 3, 4, 5], 3
    assert _bar_segments(values, [10.0, 20.0, 30.0, 25.0, 15.0], mid)[0] == (1, 10.0, False)
    merged = _bar_segments(values, [None, None, 30.0, 40.0, 20.0], mid)
    assert merged == [(1, 10.0, True), (3, 30.0, False), (4, 40.0, False), (5, 20.0, False)]
    assert _bar_segments(values, [None, 20.0, 30.0, 40.0, None], mid) is None  # both sides: unknown split
    assert _bar_segments(values, [None, 20.0, None, 40.0, 30.0], mid) is None  # not adjacent
    assert _bar_segments(values, [10.0, 20.0, None, None, 30.0], mid) is None  # includes the midpoint
