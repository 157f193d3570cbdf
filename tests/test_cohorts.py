"""Cohort tracking: figures, changes, trends, invariance wiring, and above all suppression.

The privacy tests build data sets that tempt disclosure (a cohort of 3 in one
clinic, a total minus one visible group, a clinic nested in a program, PGY
mirrored by cohort, a group small in one wave only) and then attack the
published report the way an outsider would: by differencing visible totals,
margins and cells, by linear algebra over the respondents (independent of the
module's own atom bookkeeping), and across waves through the changes. Every
attack must fail.
"""

from __future__ import annotations

import itertools
import json
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from privacy_support import ITEMS, MINI, SCALES, make_people, next_wave
from scipy import stats

import sdt_survey
from sdt_survey.cohorts import (
    ALL,
    cohort_summary,
    invariance_minimum,
    protect,
    random_intercept_slope,
    scale_midpoints,
)
from sdt_survey.errors import SdtSurveyError


def scored_frame(mini, frame):
    return sdt_survey.score(mini, frame, id_column="resident_key").scores


# ------------------------------------------------------------------ the outsider's attacks


def _members(frame, group):
    mask = np.ones(len(frame), dtype=bool)
    for column, value in group.items():
        if value != ALL:
            mask &= (frame[column] == value).to_numpy()
    return mask


def _figures(scores, mask):
    """The additive figures an attacker wants: per scale n, sum, sum of squares."""
    out = []
    for scale in SCALES:
        x = scores.loc[mask, scale].dropna()
        out += [len(x), x.sum(), (x**2).sum()]
    return np.array(out, dtype=float)


def _published(row_group_rows):
    """n, sum and sum of squares per scale from the published rows of one cell."""
    out = []
    for scale in SCALES:
        row = row_group_rows[scale]
        n, mean, sd = row["n"], row["mean"], row["sd"]
        sd = 0.0 if sd is None or (isinstance(sd, float) and np.isnan(sd)) else sd
        mean = 0.0 if mean is None else mean
        out += [n, n * mean, (n - 1) * sd**2 + n * mean**2]
    return np.array(out, dtype=float)


def _cells_by_wave(report):
    """{wave: [(group dict, suppressed, {scale: row})]} from to_dict()."""
    cells = {}
    for row in report.to_dict()["rows"]:
        key = (row["wave"], json.dumps(row["group"], sort_keys=True))
        cells.setdefault(key, {"group": row["group"], "wave": row["wave"], "rows": {}})
        cells[key]["rows"][row["scale"]] = row
    by_wave = {}
    for cell in cells.values():
        suppressed = {r["suppressed"] for r in cell["rows"].values()}
        assert len(suppressed) == 1, "one suppression pattern for every scale of a cell"
        by_wave.setdefault(cell["wave"], []).append((cell["group"], suppressed.pop(), cell["rows"]))
    return by_wave


def _small_subgroups(frame, by, min_cell):
    """Every cross-classified subgroup (two or more grouping columns) with 0 < n < min_cell."""
    out = []
    for size in range(2, len(by) + 1):
        for columns in itertools.combinations(by, size):
            for values, block in frame.groupby(list(columns)):
                if 0 < len(block) < min_cell:
                    out.append(dict(zip(columns, values, strict=True)))
    return out


def attack(report, frame, scores, by, min_cell, wave_column="wave"):
    """Try to recover every hidden figure; return what was recovered (should be nothing).

    ``frame`` holds the grouping columns and wave of each scored row (aligned with ``scores``).
    """
    recovered = []
    for wave, cells in _cells_by_wave(report).items():
        in_wave = (frame[wave_column] == wave).to_numpy()
        sub, sub_scores = frame[in_wave].reset_index(drop=True), scores[in_wave].reset_index(drop=True)
        visible = [(g, _published(rows), _members(sub, g)) for g, hidden, rows in cells if not hidden]
        hidden = [(g, _members(sub, g)) for g, h, _ in cells if h]
        for _, _, rows in cells:
            if any(r["suppressed"] for r in rows.values()):
                assert all(
                    r[k] is None for r in rows.values() for k in ("n", "mean", "sd", "ci_lower", "ci_upper")
                )
        targets = [(g, m) for g, m in hidden]
        targets += [(g, _members(sub, g)) for g in _small_subgroups(sub, by, min_cell)]
        # margins: total minus the visible groups of one column = the hidden groups together
        for column in by:
            groups = [g for g, *_ in cells if g[column] != ALL]
            hid = [g for g in groups if any(g == h for h, _ in hidden)]
            if hid:
                mask = np.any([_members(sub, g) for g in hid], axis=0)
                if 0 < mask.sum() < min_cell:
                    targets.append(({"residual of": column}, mask))
        # 1. linear algebra over respondents: a hidden set is derivable iff it is in the span
        if visible:
            matrix = np.array([m for _, _, m in visible], dtype=float)
            rank = np.linalg.matrix_rank(matrix)
            for g, mask in targets:
                if np.linalg.matrix_rank(np.vstack([matrix, mask.astype(float)])) == rank:
                    recovered.append(("span", wave, g))
        # 2. differencing the published numbers: singles, pairs, triples and margins
        figures = [f for _, f, _ in visible]
        candidates = list(figures)
        candidates += [a - b for a, b in itertools.permutations(figures, 2)]
        if len(figures) <= 40:
            candidates += [a - b - c for a, b, c in itertools.permutations(figures, 3)]
        total = next((f for g, f, _ in visible if all(v == ALL for v in g.values())), None)
        if total is not None:
            for column in by:
                parts = [f for g, f, _ in visible if g[column] != ALL]
                candidates.append(total - sum(parts, np.zeros_like(total)))
        truths = [(g, _figures(sub_scores, mask)) for g, mask in targets]
        for g, truth in truths:
            if truth[0] == 0:
                continue
            for candidate in candidates:
                if np.allclose(candidate, truth, atol=1e-6):
                    recovered.append(("difference", wave, g))
                    break
    return recovered


def attack_across_waves(report, frame, by, min_cell):
    """Linear algebra over every observation of every wave, with the paired changes as functionals.

    A visible paired change of a group adds (+1 on its linked members at the later wave, -1 at the
    earlier one). Returns the hidden cells, hidden changes and small sets (respondents who changed
    group, cross-classifications) that become derivable; should be empty.
    """
    frame = frame.reset_index(drop=True)
    n_obs = len(frame)
    first = frame.sort_values("wave", kind="stable").drop_duplicates("resident_key").set_index("resident_key")
    base = first.loc[frame["resident_key"], by].reset_index(drop=True)

    def vector(mask):
        return np.asarray(mask, dtype=float)

    visible, targets = [], []
    for row in report.to_dict()["rows"]:
        if row["scale"] != SCALES[0]:
            continue
        mask = (frame["wave"] == row["wave"]).to_numpy() & _members(frame, row["group"])
        (targets if row["suppressed"] else visible).append((("cell", row["wave"], str(row["group"])), mask))
    for change in report.to_dict()["changes"]:
        if change["scale"] != SCALES[0] or change["method"] != "paired_t":
            continue
        a, b = change["from_wave"], change["to_wave"]
        in_group = _members(base, change["group"])
        ids_a = set(frame.loc[frame.wave == a, "resident_key"])
        ids_b = set(frame.loc[frame.wave == b, "resident_key"])
        linked = frame["resident_key"].isin(ids_a & ids_b).to_numpy()
        functional = vector(in_group & linked & (frame.wave == b).to_numpy()) - vector(
            in_group & linked & (frame.wave == a).to_numpy()
        )
        key = ("change", a, b, str(change["group"]))
        (targets if change["suppressed"] else visible).append((key, functional))
    for wave in frame["wave"].unique():
        in_wave = (frame["wave"] == wave).to_numpy()
        moved = pd.concat([frame[by].add_prefix("now_"), base.add_prefix("then_")], axis=1)[in_wave]
        for values, block in moved.groupby(list(moved.columns)):
            if 0 < len(block) < min_cell:
                mask = np.zeros(n_obs, dtype=bool)
                mask[block.index] = True
                targets.append((("small set", wave, values), mask))
    matrix = np.array([vector(m) for _, m in visible]) if visible else np.zeros((0, n_obs))
    rank = np.linalg.matrix_rank(matrix) if len(matrix) else 0
    return [key for key, m in targets if np.linalg.matrix_rank(np.vstack([matrix, vector(m)])) == rank]


# ------------------------------------------------------------------ input checks


@pytest.mark.parametrize("bad", [2, 1, 0, -5])
def test_min_cell_below_three_is_refused(mini, bad):
    frame = make_people([(10, {"program": "P1", "wave": 1})])
    with pytest.raises(SdtSurveyError, match=r"min_cell .* too small"):
        cohort_summary(mini, frame, id_column="resident_key", by=["program"], min_cell=bad)


def test_min_cell_must_be_whole(mini):
    frame = make_people([(10, {"program": "P1", "wave": 1})])
    with pytest.raises(SdtSurveyError, match="whole number"):
        cohort_summary(mini, frame, id_column="resident_key", by=["program"], min_cell=4.5)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("resident_key", "id column"),
        ("comment", "item"),
        ("email", "identifiers"),
        ("nowhere", "no column"),
        ("nickname", "own value"),
    ],
)
def test_grouping_columns_that_would_identify_are_refused(mini, column, message):
    frame = make_people([(12, {"program": "P1", "wave": 1})])
    frame["email"] = [f"x{i}@example.org" for i in range(12)]
    frame["nickname"] = [f"nick{i}" for i in range(12)]
    with pytest.raises(SdtSurveyError, match=message):
        cohort_summary(
            mini,
            frame,
            id_column="resident_key",
            by=[column],
            invariance=False,
            identifiers=[],
            keep_identifiers=True,
        )


def test_group_value_all_is_refused(mini):
    frame = make_people([(6, {"program": "all", "wave": 1}), (6, {"program": "P2", "wave": 1})])
    with pytest.raises(SdtSurveyError, match="'all'"):
        cohort_summary(mini, frame, id_column="resident_key", by=["program"], invariance=False)


def test_a_respondent_twice_in_one_wave_is_refused(mini, tmp_path):
    frame = make_people([(8, {"program": "P1"})])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    frame.assign(wave=1).to_csv(a, index=False)
    frame.assign(wave=1).to_csv(b, index=False)
    with pytest.raises(SdtSurveyError, match="more than once in one wave"):
        cohort_summary(mini, [a, b], id_column="resident_key", by=["program"], invariance=False)


# ------------------------------------------------------------------ figures


@pytest.fixture(scope="module")
def two_programs(mini):
    wave1 = make_people(
        [(14, {"program": "P1", "cohort": 2024}), (16, {"program": "P2", "cohort": 2025})], seed=1
    ).assign(wave=1)
    wave2 = next_wave(wave1, wave1.index, seed=2)
    return pd.concat([wave1, wave2], ignore_index=True)


def test_summaries_match_direct_pandas(mini, two_programs):
    report = cohort_summary(
        mini, two_programs, id_column="resident_key", by=["program", "cohort"], min_cell=3
    )
    scores = scored_frame(mini, two_programs)
    frame = report.to_frame()
    assert not frame["suppressed"].any()
    t_crit = stats.t.ppf(0.975, frame["n"].astype(float) - 1)
    for row, tcrit in zip(frame.itertuples(index=False), t_crit, strict=True):
        mask = scores["wave"] == row.wave
        if row.program != ALL:
            mask &= scores["program"] == row.program
        if row.cohort != ALL:
            mask &= scores["cohort"] == row.cohort
        x = scores.loc[mask, row.scale].dropna()
        assert row.n == len(x)
        assert row.mean == pytest.approx(x.mean(), abs=1e-12)
        assert row.sd == pytest.approx(x.std(ddof=1), abs=1e-12)
        half = tcrit * x.std(ddof=1) / np.sqrt(len(x))
        assert row.ci_lower == pytest.approx(x.mean() - half, abs=1e-12)
        assert row.ci_upper == pytest.approx(x.mean() + half, abs=1e-12)
        assert row.share_above_midpoint == pytest.approx((x > 3).mean(), abs=1e-12)
        assert row.share_below_midpoint == pytest.approx((x < 3).mean(), abs=1e-12)


def test_confidence_level_is_used(mini, two_programs):
    report = cohort_summary(
        mini, two_programs, id_column="resident_key", by=["program"], min_cell=3, confidence=0.8
    )
    row = report.to_frame().iloc[0]
    half = stats.t.ppf(0.9, row["n"] - 1) * row["sd"] / np.sqrt(row["n"])
    assert row["ci_upper"] - row["mean"] == pytest.approx(half)


def test_midpoint_shares_count_a_score_at_the_midpoint_in_neither(mini):
    frame = make_people([(10, {"program": "P1", "wave": 1})])
    # belonging = mean(r1, r2, 6 - r3): 3 exactly (midpoint) for rows 0-3, above for 4-7, below for 8-9
    frame[["r1", "r2", "r3"]] = [[3, 3, 3]] * 4 + [[5, 4, 2]] * 4 + [[1, 2, 4]] * 2
    report = cohort_summary(mini, frame, id_column="resident_key", by=["program"], invariance=False)
    row = next(
        r for r in report.to_dict()["rows"] if r["scale"] == "belonging" and r["group"]["program"] == "P1"
    )
    assert row["share_above_midpoint"] == pytest.approx(0.4)
    assert row["share_below_midpoint"] == pytest.approx(0.2)
    assert scale_midpoints(mini) == {"belonging": 3.0, "competence": 3.0, "needs": 3.0}


def test_midpoint_of_sum_scores_and_mixed_ranges():
    lc = sdt_survey.load_instrument("learning-climate")
    assert scale_midpoints(lc) == {"autonomy_support": 4.0}
    summed = sdt_survey.parse_instrument(
        MINI.replace("method: mean}\n  competence", "method: sum}\n  competence")
    )
    assert scale_midpoints(summed)["belonging"] == 9.0


def test_paired_change_matches_scipy_ttest_rel(mini, two_programs):
    report = cohort_summary(mini, two_programs, id_column="resident_key", by=["program"], min_cell=3)
    scores = scored_frame(mini, two_programs)
    changes = report.to_frame("changes")
    assert set(changes["method"]) == {"paired_t"}
    for row in changes.itertuples(index=False):
        mask = scores["program"] == row.program if row.program != ALL else pd.Series(True, index=scores.index)
        wide = scores[mask].pivot(index="resident_key", columns="wave", values=row.scale).dropna()
        result = stats.ttest_rel(wide[2], wide[1])
        ci = result.confidence_interval(0.95)
        assert row.n == row.n_pairs == len(wide)
        assert row.mean_change == pytest.approx((wide[2] - wide[1]).mean(), abs=1e-12)
        assert row.p == pytest.approx(result.pvalue, rel=1e-9)
        assert row.ci_lower == pytest.approx(ci.low, abs=1e-10)
        assert row.ci_upper == pytest.approx(ci.high, abs=1e-10)


def test_partial_links_use_a_mixed_model_like_statsmodels(mini, two_programs):
    # six respondents skip wave 2, five newcomers answer only wave 2
    newcomers = make_people([(5, {"program": "P1", "cohort": 2024})], seed=9, prefix="NEW").assign(wave=2)
    data = pd.concat([two_programs.drop(index=two_programs.index[-6:]), newcomers], ignore_index=True)
    report = cohort_summary(
        mini, data, id_column="resident_key", by=["program"], min_cell=3, invariance=False
    )
    changes = report.to_frame("changes")
    assert set(changes["method"]) == {"mixed_model"}
    scores = scored_frame(mini, data)
    for scale in SCALES:
        overall = changes[(changes.program == ALL) & (changes.scale == scale)].iloc[0]
        y = scores[scale].to_numpy(float)
        x = (scores["wave"] == 2).to_numpy(float)
        ours = random_intercept_slope(y, x, scores["resident_key"].to_numpy())
        assert overall.mean_change == pytest.approx(ours["estimate"], abs=1e-12)
        # issue 16: a Satterthwaite t interval; its df comes from numerical derivatives (~1e-9)
        assert overall.ci_lower == pytest.approx(ours["ci_lower"], abs=1e-9)
        assert_same_reml_fit(y, x, scores["resident_key"].to_numpy(), ours)
        assert overall.n_pairs == 24 and overall.n == 35


def assert_same_reml_fit(y, x, groups, ours):
    """Our REML fit is statsmodels MixedLM's, or (when MixedLM stops short) a better REML optimum."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    model = MixedLM(y, np.column_stack([np.ones_like(x), x]), groups=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = model.fit(reml=True)
    if theirs.converged:
        assert ours["estimate"] == pytest.approx(theirs.fe_params[1], abs=1e-5)
        assert ours["se"] == pytest.approx(theirs.bse_fe[1], rel=0.03)
    else:  # compare the REML log-likelihoods, by statsmodels' own function

        def loglike(ratio):
            params = MixedLMParams.from_components(np.zeros(2), np.array([[max(ratio, 1e-9)]]))
            return model.loglike(params, profile_fe=True)

        assert loglike(ours["gamma"]) >= theirs.llf - 1e-8


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_intercept_slope_matches_statsmodels_mixedlm(seed):
    from statsmodels.regression.mixed_linear_model import MixedLM

    rng = np.random.default_rng(seed)
    n = 40 + 10 * seed
    person = np.repeat(np.arange(n), 3)
    wave = np.tile([0.0, 1.0, 2.0], n)
    keep = rng.random(3 * n) > 0.25
    y = 3 + 0.2 * wave + rng.normal(scale=0.4 * seed, size=n)[person] + rng.normal(size=3 * n)
    y, wave, person = y[keep], wave[keep], person[keep]
    ours = random_intercept_slope(y, wave, person)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MixedLM(y, np.column_stack([np.ones_like(wave), wave]), groups=person).fit(reml=True)
    assert ours["estimate"] == pytest.approx(theirs.fe_params[1], abs=1e-6)
    assert ours["sigma2"] == pytest.approx(theirs.scale, rel=1e-4)
    assert ours["gamma"] == pytest.approx(float(np.asarray(theirs.cov_re)[0, 0]) / theirs.scale, abs=1e-4)
    # lme4's standard error, sigma^2 (X'V^-1 X)^-1, from statsmodels' own variance components
    xtvx = np.zeros((2, 2))
    tau = float(np.asarray(theirs.cov_re)[0, 0])
    for g in np.unique(person):
        xg = np.column_stack([np.ones((person == g).sum()), wave[person == g]])
        v = theirs.scale * np.eye(len(xg)) + tau * np.ones((len(xg), len(xg)))
        xtvx += xg.T @ np.linalg.solve(v, xg)
    assert ours["se"] == pytest.approx(np.sqrt(np.linalg.inv(xtvx)[1, 1]), rel=1e-4)
    assert ours["se"] == pytest.approx(theirs.bse_fe[1], rel=0.03)


def test_no_id_links_use_ols_and_the_trend_matches_linregress(mini):
    waves = [
        make_people([(12, {"program": "P1"}), (12, {"program": "P2"})], seed=s, prefix=f"W{s}").assign(wave=s)
        for s in (1, 2, 3)
    ]
    data = pd.concat(waves, ignore_index=True)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    assert set(report.to_frame("changes")["method"]) == {"ols"}
    trends = report.to_frame("trends")
    assert set(trends["method"]) == {"ols"}
    scores = scored_frame(mini, data)
    for row in trends.itertuples(index=False):
        mask = scores["program"] == row.program if row.program != ALL else pd.Series(True, index=scores.index)
        sub = scores[mask].dropna(subset=[row.scale])
        fit = stats.linregress(sub["wave"].astype(float) - 1, sub[row.scale])
        assert row.slope == pytest.approx(fit.slope, abs=1e-10)
        assert row.p == pytest.approx(fit.pvalue, rel=1e-6)
        tcrit = stats.t.ppf(0.975, len(sub) - 2)
        assert row.ci_upper == pytest.approx(fit.slope + tcrit * fit.stderr, abs=1e-10)
    ols_change = report.to_frame("changes").iloc[0]
    sub = scores[scores["wave"].isin([1, 2])]
    welch_free = stats.ttest_ind(
        sub.loc[sub.wave == 2, ols_change.scale], sub.loc[sub.wave == 1, ols_change.scale], equal_var=True
    )
    assert ols_change.p == pytest.approx(welch_free.pvalue, rel=1e-6)


def test_trend_uses_the_mixed_model_when_respondents_repeat(mini, two_programs):
    wave3 = next_wave(two_programs[two_programs.wave == 1], two_programs.index[:25], seed=5, wave=3)
    data = pd.concat([two_programs, wave3], ignore_index=True)
    report = cohort_summary(
        mini, data, id_column="resident_key", by=["program"], min_cell=3, invariance=False
    )
    trends = report.to_frame("trends")
    assert set(trends["method"]) == {"mixed_model"}
    scores = scored_frame(mini, data)
    overall = trends[(trends.program == ALL) & (trends.scale == "needs")].iloc[0]
    expected = random_intercept_slope(
        scores["needs"].to_numpy(float), scores["wave"].to_numpy(float) - 1, scores["resident_key"].to_numpy()
    )
    assert overall.slope == pytest.approx(expected["estimate"])
    assert overall.n == 30 and overall.n_observations == 85


# ------------------------------------------------------------------ reading


def test_files_without_a_wave_column_are_waves_in_file_order(mini, tmp_path, two_programs):
    paths = []
    for wave in (1, 2):
        path = tmp_path / f"export_{wave}.csv"
        two_programs[two_programs.wave == wave].drop(columns="wave").to_csv(path, index=False)
        paths.append(path)
    report = cohort_summary(mini, paths, id_column="resident_key", by=["program"], invariance=False)
    assert report.waves == (1, 2)
    assert any("file order" in note for note in report.notes)
    frame = report.to_frame()
    assert frame[(frame.program == ALL) & (frame.scale == "needs")]["n"].tolist() == [30, 30]
    # the same data as one frame with a wave column gives the same figures
    direct = cohort_summary(mini, two_programs, id_column="resident_key", by=["program"], invariance=False)
    pd.testing.assert_frame_equal(report.to_frame(), direct.to_frame())


def test_files_with_a_wave_column_and_reading_options(mini, tmp_path, two_programs):
    paths = []
    for wave in (2, 1):  # given out of order: the wave column decides
        data = two_programs[two_programs.wave == wave].copy()
        if wave == 2:
            data.loc[data.index[0], "c1"] = 9  # out of range: blocked unless set to missing
        path = tmp_path / f"w{wave}.csv"
        data.to_csv(path, index=False)
        paths.append(path)
    with pytest.raises(SdtSurveyError):
        cohort_summary(mini, paths, id_column="resident_key", by=["program"], invariance=False)
    report = cohort_summary(
        mini, paths, id_column="resident_key", by=["program"], invariance=False, invalid="as-missing"
    )
    assert report.waves == (1, 2)
    frame = report.to_frame()
    n = frame[(frame.program == ALL) & (frame.scale == "competence")]["n"].tolist()
    assert n == [30, 29]


def test_some_files_with_wave_column_and_some_without_is_an_error(mini, tmp_path, two_programs):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    two_programs[two_programs.wave == 1].to_csv(a, index=False)
    two_programs[two_programs.wave == 2].drop(columns="wave").to_csv(b, index=False)
    with pytest.raises(SdtSurveyError, match="some response files have a wave column"):
        cohort_summary(mini, [a, b], id_column="resident_key", by=["program"], invariance=False)


def test_scored_responses_are_accepted(mini, two_programs):
    scored = sdt_survey.score(mini, two_programs, id_column="resident_key")
    a = cohort_summary(mini, scored, id_column="resident_key", by=["program"], invariance=False)
    b = cohort_summary(mini, two_programs, id_column="resident_key", by=["program"], invariance=False)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_a_score_answered_by_too_few_hides_the_whole_cell(mini):
    spec = [(8, {"program": "P1"}), (12, {"program": "P2"}), (15, {"program": "P3"})]
    data = make_people(spec, seed=71).assign(wave=1)
    data.loc[data.index[:5], ["c1", "c2"]] = np.nan  # P1: 8 belonging scores, only 3 competence scores
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    frame = report.to_frame()
    assert frame.loc[frame.program == "P1", "suppressed"].all()  # belonging too: one pattern per cell
    assert frame.loc[frame.suppressed, "program"].nunique() == 2
    assert attack(report, data, scored_frame(mini, data), ["program"], 5) == []


def test_without_grouping_columns_only_overall_rows(mini, two_programs):
    report = cohort_summary(mini, two_programs, id_column="resident_key", by=[], invariance=False)
    assert {json.dumps(r["group"]) for r in report.to_dict()["rows"]} == {"{}"}
    assert len(report.to_frame()) == 2 * len(SCALES)


def test_missing_group_values_form_their_own_group(mini):
    frame = make_people([(10, {"program": "P1"}), (10, {"program": "P2"}), (6, {"program": None})]).assign(
        wave=1
    )
    report = cohort_summary(mini, frame, id_column="resident_key", by=["program"], invariance=False)
    groups = {r["group"]["program"] for r in report.to_dict()["rows"]}
    assert groups == {ALL, "P1", "P2", "(missing)"}


# ------------------------------------------------------------------ privacy


def test_a_cohort_of_three_in_one_clinic_cannot_be_recovered(mini):
    spec = [
        (3, {"clinic": "A", "cohort": 2023}),
        (8, {"clinic": "A", "cohort": 2024}),
        (9, {"clinic": "A", "cohort": 2025}),
        (7, {"clinic": "B", "cohort": 2024}),
        (8, {"clinic": "B", "cohort": 2025}),
        (6, {"clinic": "C", "cohort": 2024}),
        (6, {"clinic": "C", "cohort": 2025}),
    ]
    wave1 = make_people(spec, seed=11).assign(wave=1)
    data = pd.concat([wave1, next_wave(wave1, wave1.index, seed=12)], ignore_index=True)
    by = ["cohort", "clinic"]
    report = cohort_summary(mini, data, id_column="resident_key", by=by, invariance=False)
    rows = report.to_dict()["rows"]
    hidden = {(r["group"]["cohort"], r["group"]["clinic"]) for r in rows if r["suppressed"]}
    assert (2023, ALL) in hidden
    # complementary: another cohort is hidden too, so "all minus the visible cohorts" is not the 3
    assert len({c for c, k in hidden if k == ALL}) >= 2
    for row in rows:
        if row["suppressed"]:
            assert {k: row[k] for k in ("n", "mean", "sd", "ci_lower", "ci_upper")} == dict.fromkeys(
                ("n", "mean", "sd", "ci_lower", "ci_upper")
            )
            assert row["share_above_midpoint"] is None and row["share_below_midpoint"] is None
    scores = scored_frame(mini, data)
    assert attack(report, data, scores, by, 5) == []
    # the cohort's change and trend are hidden as well
    for entry in report.to_dict()["changes"] + report.to_dict()["trends"]:
        if entry["group"]["cohort"] == 2023:
            assert entry["suppressed"]


def test_total_minus_the_visible_groups_does_not_reveal_a_hidden_group(mini):
    spec = [(3, {"program": "P1"}), (12, {"program": "P2"}), (30, {"program": "P3"})]
    data = make_people(spec, seed=21).assign(wave=1)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    frame = report.to_frame()
    hidden = set(frame.loc[frame.suppressed, "program"])
    assert hidden == {"P1", "P2"}  # the next smallest group is hidden with the small one
    overall = frame[(frame.program == ALL)].set_index("scale")
    visible = frame[(frame.program == "P3")].set_index("scale")
    scores = scored_frame(mini, data)
    for scale in SCALES:
        n_left = overall.loc[scale, "n"] - visible.loc[scale, "n"]
        sum_left = (
            overall.loc[scale, "n"] * overall.loc[scale, "mean"]
            - visible.loc[scale, "n"] * visible.loc[scale, "mean"]
        )
        p1 = scores.loc[scores.program == "P1", scale]
        assert n_left != len(p1)  # the residual is P1 and P2 together
        assert not np.isclose(sum_left, p1.sum())
    assert attack(report, data, scores, ["program"], 5) == []


def test_a_clinic_nested_in_a_program_is_protected_across_both_columns(mini):
    spec = [
        (3, {"program": "P1", "clinic": "C1"}),
        (12, {"program": "P1", "clinic": "C2"}),
        (15, {"program": "P2", "clinic": "C3"}),
        (10, {"program": "P3", "clinic": "C4"}),
        (9, {"program": "P3", "clinic": "C5"}),
    ]
    data = make_people(spec, seed=31).assign(wave=1)
    by = ["program", "clinic"]
    report = cohort_summary(mini, data, id_column="resident_key", by=by, invariance=False)
    frame = report.to_frame()
    hidden_clinics = set(frame.loc[frame.suppressed & (frame.clinic != ALL), "clinic"])
    assert "C1" in hidden_clinics
    # P1 minus C2 would be C1: either C2 or P1 must be hidden
    assert "C2" in hidden_clinics or frame.loc[frame.program == "P1", "suppressed"].all()
    assert attack(report, data, scored_frame(mini, data), by, 5) == []


def test_pgy_mirrored_by_cohort_is_hidden_in_both(mini):
    spec = [
        (3, {"pgy": 1, "cohort": 2025}),
        (14, {"pgy": 2, "cohort": 2024}),
        (16, {"pgy": 3, "cohort": 2023}),
    ]
    data = make_people(spec, seed=41).assign(wave=1)
    by = ["pgy", "cohort"]
    report = cohort_summary(mini, data, id_column="resident_key", by=by, invariance=False)
    frame = report.to_frame()
    assert frame.loc[frame.pgy == 1, "suppressed"].all()
    assert frame.loc[frame.cohort == 2025, "suppressed"].all()
    assert attack(report, data, scored_frame(mini, data), by, 5) == []


def test_a_small_cell_in_one_wave_only_hides_the_group_and_its_change(mini):
    spec = [(8, {"program": "P1"}), (12, {"program": "P2"}), (15, {"program": "P3"}), (20, {"program": "P4"})]
    wave1 = make_people(spec, seed=51).assign(wave=1)
    keep = wave1.index[(wave1.program != "P1") | (wave1.index < 3)]  # P1 drops to 3 at wave 2
    data = pd.concat([wave1, next_wave(wave1, keep, seed=52)], ignore_index=True)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    frame = report.to_frame()
    p1 = frame[frame.program == "P1"]
    assert p1[p1.wave == 2]["suppressed"].all()
    # one pattern for every wave: P1 is hidden at wave 1 too, so wave 1 and the change cannot
    # be combined into its wave-2 mean
    assert p1[p1.wave == 1]["suppressed"].all()
    changes, trends = report.to_frame("changes"), report.to_frame("trends")
    assert changes.loc[changes.program == "P1", "suppressed"].all()
    assert trends.loc[trends.program == "P1", "suppressed"].all()
    assert changes.loc[changes.suppressed, ["n", "n_pairs", "mean_change", "p"]].isna().all().all()
    # complementary in the change table as well: the overall change minus the others is not P1's
    assert changes.loc[changes.suppressed & (changes.scale == "needs"), "program"].nunique() >= 2
    scores = scored_frame(mini, data)
    assert attack(report, data, scores, ["program"], 5) == []
    # cross-wave attack: wave-1 figure plus n x mean change for every group with a visible change
    published = {(r["group"]["program"], r["wave"], r["scale"]): r for r in report.to_dict()["rows"]}
    for change in report.to_dict()["changes"]:
        if change["suppressed"]:
            continue
        program, scale = change["group"]["program"], change["scale"]
        target = published[(program, 2, scale)]
        assert not target["suppressed"], "a visible change always belongs to a group visible in both waves"


def test_a_resident_who_moves_clinic_cannot_be_singled_out_through_the_change(mini):
    # complete panel, so changes are paired; one resident moves from clinic Y to clinic X at wave 2
    spec = [(10, {"clinic": "X"}), (12, {"clinic": "Y"}), (14, {"clinic": "Z"})]
    wave1 = make_people(spec, seed=81).assign(wave=1)
    wave2 = next_wave(wave1, wave1.index, seed=82)
    mover = wave2.index[wave2.clinic == "Y"][0]
    wave2.loc[mover, "clinic"] = "X"
    data = pd.concat([wave1, wave2], ignore_index=True)
    report = cohort_summary(mini, data, id_column="resident_key", by=["clinic"], invariance=False)
    scores = scored_frame(mini, data)
    rows = {(r["group"]["clinic"], r["wave"], r["scale"]): r for r in report.to_dict()["rows"]}
    truth = scores[(scores.wave == 2) & (scores.resident_key == data.loc[mover, "resident_key"])]
    for change in report.to_dict()["changes"]:
        clinic, scale = change["group"]["clinic"], change["scale"]
        if change["suppressed"] or clinic == ALL:
            continue
        before, after = rows[(clinic, 1, scale)], rows[(clinic, 2, scale)]
        if before["suppressed"] or after["suppressed"]:
            continue
        # wave-2 sum of the clinic minus the wave-2 sum of its first-wave members
        rest_n = after["n"] - change["n_pairs"]
        rest_sum = after["n"] * after["mean"] - (
            before["n"] * before["mean"] + change["n_pairs"] * change["mean_change"]
        )
        recovered = rest_n == 1 and np.isclose(rest_sum, truth[scale].iloc[0])
        assert not recovered, f"the mover's {scale} at wave 2 is recoverable from clinic {clinic}"
    assert attack(report, data, scores, ["clinic"], 5) == []
    assert report.to_frame("changes").loc[lambda f: f.clinic.isin(["X", "Y"]), "suppressed"].any()


@pytest.mark.parametrize("seed", range(5))
def test_random_panels_with_movers_resist_attacks_across_waves(mini, seed):
    rng = np.random.default_rng(200 + seed)
    clinics = {"A": "P1", "B": "P1", "C": "P2", "D": "P2", "E": "P3"}
    spec = [(int(rng.integers(3, 15)), {"program": p, "clinic": c}) for c, p in clinics.items()]
    wave1 = make_people(spec, seed=seed).assign(wave=1)
    wave2 = next_wave(wave1, wave1.index, seed=seed + 50)
    movers = rng.choice(wave2.index, size=int(rng.integers(1, 4)), replace=False)
    for row in movers:
        clinic = str(rng.choice(list(clinics)))
        wave2.loc[row, ["clinic", "program"]] = [clinic, clinics[clinic]]
    data = pd.concat([wave1, wave2], ignore_index=True)
    by = ["program", "clinic"]
    report = cohort_summary(mini, data, id_column="resident_key", by=by, invariance=False)
    assert set(report.to_frame("changes")["method"]) == {"paired_t"}
    assert attack(report, data, scored_frame(mini, data), by, 5) == []
    assert attack_across_waves(report, data, by, 5) == []


def test_the_cross_wave_attack_finds_the_mover_without_the_joint_audit(mini, monkeypatch):
    """Negative control for the cross-wave attack: audit each wave alone and the mover leaks."""
    import sdt_survey.cohorts.summary as cohorts

    spec = [(10, {"clinic": "X"}), (12, {"clinic": "Y"}), (14, {"clinic": "Z"})]
    wave1 = make_people(spec, seed=81).assign(wave=1)
    wave2 = next_wave(wave1, wave1.index, seed=82)
    wave2.loc[wave2.index[wave2.clinic == "Y"][0], "clinic"] = "X"
    data = pd.concat([wave1, wave2], ignore_index=True)
    original = cohorts._wave_cells
    monkeypatch.setattr(cohorts, "_wave_cells", lambda f, b, n, longitudinal: original(f, b, n, False))
    report = cohort_summary(mini, data, id_column="resident_key", by=["clinic"], invariance=False)
    assert any(key[0] == "small set" for key in attack_across_waves(report, data, ["clinic"], 5))


def test_small_change_groups_get_complementary_suppression(mini):
    # every group is large in each wave, but only 3 of P1's respondents answer both waves
    spec = [(10, {"program": "P1"}), (12, {"program": "P2"}), (15, {"program": "P3"})]
    wave1 = make_people(spec, seed=61).assign(wave=1)
    returning = wave1.index[(wave1.program != "P1") | (wave1.index < 3)]
    wave2 = pd.concat(
        [next_wave(wave1, returning, seed=62), make_people([(7, {"program": "P1"})], seed=63, prefix="P1N")],
        ignore_index=True,
    )
    wave2["wave"] = 2
    data = pd.concat([wave1, wave2], ignore_index=True)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    assert not report.to_frame()["suppressed"].any()
    changes = report.to_frame("changes")
    assert set(changes["method"]) == {"mixed_model"}
    # the mixed model rests on all of P1's 17 respondents, but on only 3 linked ones: shown
    assert not changes.loc[changes.program == "P1", "suppressed"].any()


@pytest.mark.parametrize("seed", range(6))
def test_random_designs_resist_every_attack(mini, seed):
    rng = np.random.default_rng(100 + seed)
    clinics = {"A": "P1", "B": "P1", "C": "P2", "D": "P3", "E": "P3"}
    spec = []
    for clinic, program in clinics.items():
        for pgy in (1, 2, 3):
            count = int(rng.choice([0, 1, 2, 3, 4, 6, 9]))
            if count:
                spec.append((count, {"program": program, "clinic": clinic, "pgy": pgy}))
    data = make_people(spec, seed=seed).assign(wave=1)
    by = ["program", "clinic", "pgy"]
    # Each run on its own (no ledger): the within-run audit alone must hold at either minimum.
    report = cohort_summary(mini, data, id_column="resident_key", by=by, invariance=False, ledger=None)
    assert attack(report, data, scored_frame(mini, data), by, 5) == []
    report3 = cohort_summary(
        mini, data, id_column="resident_key", by=by, min_cell=3, invariance=False, ledger=None
    )
    assert attack(report3, data, scored_frame(mini, data), by, 3) == []


def test_the_attacks_find_leaks_when_complementary_suppression_is_off(mini, monkeypatch):
    """A negative control: the attacks above are strong enough to catch primary-only suppression."""
    import sdt_survey.cohorts.suppression as cohorts

    def primary_only(membership, counts, *, min_cell, forced=None, **ignored):
        measured = membership @ counts
        small = ((measured > 0) & (measured < min_cell)).any(axis=1)
        return small if forced is None else small | forced

    monkeypatch.setattr(cohorts, "protect", primary_only)
    spec = [(3, {"program": "P1"}), (12, {"program": "P2"}), (30, {"program": "P3"})]
    data = make_people(spec, seed=21).assign(wave=1)
    # the ledger would hide more in the second run (it audits with the real engine): off here
    report = cohort_summary(
        mini, data, id_column="resident_key", by=["program"], invariance=False, ledger=None
    )
    found = attack(report, data, scored_frame(mini, data), ["program"], 5)
    assert ("span", 1, {"program": "P1"}) in found
    assert ("difference", 1, {"program": "P1"}) in found
    nested = [
        (3, {"program": "P1", "clinic": "C1"}),
        (12, {"program": "P1", "clinic": "C2"}),
        (15, {"program": "P2", "clinic": "C3"}),
        (6, {"program": "P3", "clinic": "C4"}),
    ]
    data = make_people(nested, seed=31).assign(wave=1)
    report = cohort_summary(
        mini, data, id_column="resident_key", by=["program", "clinic"], invariance=False, ledger=None
    )
    found = attack(report, data, scored_frame(mini, data), ["program", "clinic"], 5)
    assert ("difference", 1, {"program": ALL, "clinic": "C1"}) in found


def test_everything_is_hidden_when_the_whole_wave_is_small(mini):
    data = make_people([(2, {"program": "P1"}), (2, {"program": "P2"})]).assign(wave=1)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    assert report.to_frame()["suppressed"].all()
    assert all(r["n"] is None for r in report.to_dict()["rows"])


def test_ids_and_free_text_never_reach_any_output(mini, two_programs):
    report = cohort_summary(
        mini, two_programs, id_column="resident_key", by=["program", "cohort"], min_cell=3, invariance=False
    )
    outputs = [
        json.dumps(report.to_dict()),
        report.to_json(),
        report.summary(),
        *(report.to_frame(kind).to_csv(index=False) for kind in ("rows", "changes", "trends")),
        *(" ".join(map(str, report.to_frame(kind).columns)) for kind in ("rows", "changes", "trends")),
    ]
    ids = set(two_programs["resident_key"])
    assert len(ids) == 30
    for text in outputs:
        assert "resident_key" not in text
        assert "Secretname" not in text and "private remark" not in text
        for rid in ids:
            assert rid not in text
    # nor anywhere in the report object
    for frame in (report.rows, report.changes, report.trends):
        assert not frame.isin(list(ids)).any().any()
        assert "resident_key" not in frame.columns


def test_suppressed_rows_are_marked_not_dropped(mini):
    spec = [(3, {"program": "P1"}), (12, {"program": "P2"}), (30, {"program": "P3"})]
    data = make_people(spec, seed=21).assign(wave=1)
    report = cohort_summary(mini, data, id_column="resident_key", by=["program"], invariance=False)
    rows = report.to_dict()["rows"]
    assert len(rows) == 4 * len(SCALES)
    p1 = [r for r in rows if r["group"] == {"program": "P1"}]
    assert len(p1) == 3 and all(r["suppressed"] and r["wave"] == 1 for r in p1)
    assert {r["scale"] for r in p1} == set(SCALES)
    text = report.summary()
    assert text.count("—  (suppressed: fewer than 5, or protecting such a group)") == 2 * len(SCALES)
    assert "program P1" in text


def test_to_dict_follows_the_contract(mini, two_programs):
    report = cohort_summary(mini, two_programs, id_column="resident_key", by=["program"], invariance=False)
    out = report.to_dict()
    assert set(out) == {"min_cell", "rows", "changes", "trends", "invariance", "notes"}
    assert out["min_cell"] == 5
    assert set(out["rows"][0]) == {
        "group",
        "wave",
        "scale",
        "n",
        "mean",
        "sd",
        "ci_lower",
        "ci_upper",
        "share_above_midpoint",
        "share_below_midpoint",
        "suppressed",
    }
    assert out["rows"][0]["group"] == {"program": ALL}
    assert {"group", "scale", "from_wave", "to_wave", "n", "n_pairs", "mean_change", "ci_lower",
            "ci_upper", "p", "suppressed", "method"} == set(out["changes"][0])  # fmt: skip
    assert {"group", "scale", "slope", "ci_lower", "ci_upper", "p", "n", "n_observations", "method",
            "suppressed"} == set(out["trends"][0])  # fmt: skip
    json.dumps(out, allow_nan=False)  # plain JSON: no NaN, no numpy types


def test_write_json_csv_and_text(mini, two_programs, tmp_path):
    report = cohort_summary(mini, two_programs, id_column="resident_key", by=["program"], invariance=False)
    assert json.loads(report.write(tmp_path / "r.json").read_text())["min_cell"] == 5
    assert pd.read_csv(report.write(tmp_path / "r.csv")).shape[0] == len(report.to_frame())
    assert "Cohort summary" in report.write(tmp_path / "r.txt").read_text()
    with pytest.raises(SdtSurveyError):
        report.write(tmp_path / "r.xlsx")


# ------------------------------------------------------------------ the suppression engine


def test_protect_one_way_table():
    membership = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    assert protect(membership, np.array([[3.0], [20], [30]]), min_cell=5).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert not protect(membership, np.array([[6.0], [20], [30]]), min_cell=5).any()


def test_protect_hides_more_when_the_hidden_pair_is_still_small():
    # groups of 1 and 2 hidden together are 3 people: a third group must go
    membership = np.vstack([np.ones(4), np.eye(4)])
    counts = np.array([[1.0], [2], [9], [30]])
    hidden = protect(membership, counts, min_cell=5)
    assert hidden.tolist() == [False, True, True, True, False]


def test_protect_forced_cells_get_complements():
    membership = np.vstack([np.ones(3), np.eye(3)])
    hidden = protect(
        membership, np.array([[10.0], [20], [30]]), min_cell=5, forced=np.array([0, 0, 0, 1], bool)
    )
    assert hidden.tolist() == [False, True, False, True]


def test_protect_two_way_margins_random():
    rng = np.random.default_rng(7)
    for _ in range(30):
        rows, cols = rng.integers(2, 5, size=2)
        counts = rng.choice([0, 1, 2, 3, 6, 10], size=(rows, cols)).astype(float).ravel()
        keep = counts > 0
        atoms = np.array([(r, c) for r in range(rows) for c in range(cols)])[keep]
        counts = counts[keep]
        cells = [np.ones(len(atoms))]
        cells += [(atoms[:, 0] == r).astype(float) for r in range(rows)]
        cells += [(atoms[:, 1] == c).astype(float) for c in range(cols)]
        membership = np.array(cells)
        tables = [0] + [1] * rows + [2] * cols
        hidden = protect(membership, counts[:, None], min_cell=5, tables=tables, checks=np.eye(len(atoms)))
        visible = membership[~hidden]
        rank = np.linalg.matrix_rank(visible) if len(visible) else 0
        for target in [*membership[hidden], *np.eye(len(atoms))[counts < 5]]:
            assert np.linalg.matrix_rank(np.vstack([visible, target])) > rank


# ------------------------------------------------------------------ invariance


def _fake_engine(monkeypatch, conclusion, calls):
    module = types.ModuleType("sdt_survey.factor.sem.invariance")

    class Result:
        def __init__(self, data, group):
            self.data, self.group = data, group

        def to_dict(self):
            return {
                "group": self.group,
                "groups": sorted(self.data[self.group].unique()),
                "steps": [],
                "comparisons": [],
                "conclusion": conclusion,
                "respondent_scores": self.data.to_dict(),  # must not reach the report
            }

    def measurement_invariance(data, model, group, **kwargs):
        calls.append((data.copy(), model.id, group))
        return Result(data, group)

    module.measurement_invariance = measurement_invariance
    monkeypatch.setitem(sys.modules, "sdt_survey.factor.sem.invariance", module)


def _big(seed=1, per_group=120):
    spec = [(per_group, {"pgy": 1, "program": "P1"}), (per_group, {"pgy": 2, "program": "P1"}),
            (per_group, {"pgy": 3, "program": "P2"}), (7, {"pgy": 3, "program": "P3"})]  # fmt: skip
    return make_people(spec, seed=seed).assign(wave=1)


def test_invariance_minimum_per_group():
    bpn = sdt_survey.load_instrument("bpn-residency")
    assert invariance_minimum(bpn) == 120
    assert invariance_minimum(sdt_survey.load_instrument("program-belonging")) == 100


def test_invariance_engine_unavailable_is_a_note(mini, monkeypatch):
    monkeypatch.setitem(sys.modules, "sdt_survey.factor.sem.invariance", None)
    report = cohort_summary(mini, _big(), id_column="resident_key", by=["pgy"])
    assert "invariance not checked: engine unavailable" in report.notes
    (check,) = report.invariance["checks"]
    assert check["status"] == "engine_unavailable"


def test_invariance_too_few_respondents_is_said_plainly(mini, monkeypatch):
    calls = []
    _fake_engine(monkeypatch, "scalar", calls)
    data = make_people([(20, {"pgy": 1}), (20, {"pgy": 2})]).assign(wave=1)
    report = cohort_summary(mini, data, id_column="resident_key", by=["pgy"])
    (check,) = report.invariance["checks"]
    assert check["status"] == "too_few_respondents"
    assert check["mean_comparisons_supported"] is None
    assert "too few respondents to test" in check["statement"]
    assert any("too few respondents to test" in note for note in report.notes)
    assert calls == []


@pytest.mark.parametrize(
    ("conclusion", "level", "supported"),
    [
        ("scalar", "scalar", True),
        ("strict invariance holds", "strict", True),
        ({"level": "metric"}, "metric", False),
        ("configural only; metric rejected", "configural", False),
        ({"level": "partial scalar"}, "partial scalar", True),
    ],
)
def test_invariance_result_is_read_and_stated(mini, monkeypatch, conclusion, level, supported):
    calls = []
    _fake_engine(monkeypatch, conclusion, calls)
    report = cohort_summary(mini, _big(), id_column="resident_key", by=["pgy", "program"])
    pgy, program = report.invariance["checks"]
    assert pgy["status"] == "tested" and pgy["level"] == level
    assert pgy["mean_comparisons_supported"] is supported
    assert pgy["groups_tested"] == [1, 2, 3]
    assert ("supported" in pgy["statement"]) is supported
    assert "respondent_scores" not in json.dumps(report.to_dict())
    assert set(pgy["result"]) == {"group", "groups", "steps", "comparisons", "conclusion"}
    # P1 has 240, P2 120 and P3 7: P3 is left out of the test, and said so
    assert program["groups_tested"] == ["P1", "P2"] and program["groups_too_small"] == ["P3"]
    data, model, group = calls[0]
    assert model == "mini-needs" and group == "pgy"
    assert list(data.columns) == [*ITEMS, "pgy"]
    assert len(data) == 367  # every pgy has at least 120 (pgy 3: 120 in P2 and 7 in P3)
    # reverse-keyed items: r3 is 6 - answer
    assert sorted(data["r3"]) == sorted(6 - _big()["r3"])


def test_invariance_can_be_switched_off(mini):
    report = cohort_summary(mini, _big(), id_column="resident_key", by=["pgy"], invariance=False)
    assert report.invariance == {"requested": False, "checks": []}
    assert any("not requested" in note for note in report.notes)


def test_invariance_engine_on_simulated_data():
    pytest.importorskip("sdt_survey.factor.sem.invariance")
    from sdt_survey.simulate import simulate

    bpn = sdt_survey.load_instrument("bpn-residency")
    # the simulator measures every PGY level with the same loadings and thresholds: invariant by design
    data = simulate(bpn, seed=4, n_programs=16, residents_per_program=(30, 30), n_waves=1).responses
    report = cohort_summary(bpn, data, id_column="resident", by=["pgy", "program"])
    checks = {c["across"]: c for c in report.invariance["checks"]}
    assert checks["program"]["status"] == "too_few_respondents"
    assert "too few respondents to test" in checks["program"]["statement"]
    pgy = checks["pgy"]
    assert pgy["status"] == "tested", pgy["statement"]
    assert pgy["level"] in ("scalar", "strict") and pgy["mean_comparisons_supported"] is True
    assert "comparing means across pgy is supported" in pgy["statement"]
    assert set(pgy["result"]) <= {"group", "groups", "steps", "comparisons", "conclusion"}
    assert min(pgy["result"]["groups"].values()) >= invariance_minimum(bpn)
    json.dumps(report.to_dict(), allow_nan=False)
