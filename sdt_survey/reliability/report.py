"""The instrument report: every coefficient of every subscale, and the same straight from a file.

:func:`reliability_table` computes alpha and one-factor omega total for each
subscale, the multi-factor omega over all of them, group ICCs when asked,
and every coefficient listed in :mod:`sdt_survey.reliability.table`;
:func:`instrument_reliability` reads, validates and scores a response file
first (the ``sdt-survey reliability`` command).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReliabilityError, ReliabilityKeyError, SdtSurveyError
from ..results import Result, jsonable, message_fields, message_lines
from ..results import format_interval as fmt_ci
from ..results import format_number as fmt
from ._bootstrap import BootDesign, boot_intervals
from ._common import Missing, check_bootstrap, check_confidence, check_missing, item_matrix
from .coefficient import ReportOptions
from .cronbach import AlphaResult, alpha_from_matrix
from .group import GroupReliabilityResult, group_reliability
from .guttman import SplitHalfResult
from .mcdonald import OmegaResult, omega, omega_total
from .retest import TestRetestResult, test_retest
from .table import COEFFICIENTS


@dataclass(frozen=True, eq=False)
class ReliabilityReport(Result):
    """Reliability of every subscale of an instrument (see :func:`reliability_table`).

    ``scales`` maps subscale id to its :class:`AlphaResult`; ``omega_totals``
    to its one-factor omega total; ``omega`` is the multi-factor
    :class:`OmegaResult` over all subscales (``None`` with fewer than two);
    ``groups`` maps subscale id to its :class:`GroupReliabilityResult` when
    respondent groups were given; ``coefficients`` maps each key of
    :data:`~sdt_survey.reliability.table.COEFFICIENTS` (``split_half``,
    ``ordinal``) to its value per subscale.
    """

    instrument: str | None
    missing: str
    n_respondents: int
    scales: Mapping[str, AlphaResult]
    omega_totals: Mapping[str, float]
    omega: OmegaResult | None
    groups: Mapping[str, GroupReliabilityResult] | None = None
    confidence: float = 0.95
    retest: Mapping[str, TestRetestResult] | None = None
    notes: tuple[str, ...] = ()
    coefficients: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: Items declared reverse-keyed (analysed as ``min + max - answer``); marked in the item tables.
    reversed_items: tuple[str, ...] = ()
    #: Whether the keys were declared (by an instrument): then every item says whether it is reversed.
    keys_declared: bool = False

    @property
    def split_halves(self) -> Mapping[str, SplitHalfResult] | None:
        """Split-half reliabilities by subscale (``coefficients["split_half"]``)."""
        return self.coefficients.get("split_half")

    @property
    def ordinal(self) -> Mapping[str, Mapping[str, float | None]] | None:
        """Ordinal alpha and omega total by subscale (``coefficients["ordinal"]``)."""
        return self.coefficients.get("ordinal")

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, in the stable shape later reports read.

        ``groups`` (ICC(1), ICC(2), design effect per subscale) and ``retest``
        (test-retest ICC per subscale) are added when computed.
        """
        scales = {}
        for sid, res in self.scales.items():
            st, dr = res.item_stats, res.alpha_drop
            scales[sid] = {
                "n": res.n_obs,
                "alpha": res.alpha,
                "alpha_std": res.alpha_std,
                "g6": res.g6,
                "average_r": res.average_r,
                "signal_noise": res.signal_noise,
                "alpha_se": res.alpha_se,
                "alpha_ci_feldt": list(res.ci_feldt),
                "alpha_ci_duhachek": list(res.ci_duhachek),
                "alpha_ci_bootstrap": None if res.ci_bootstrap is None else list(res.ci_bootstrap),
                "omega_total": self.omega_totals[sid],
                "items": {
                    item: {
                        "n": st.at[item, "n"],
                        "mean": st.at[item, "mean"],
                        "sd": st.at[item, "sd"],
                        "raw_r": st.at[item, "raw_r"],
                        "std_r": st.at[item, "std_r"],
                        "r_cor": st.at[item, "r_cor"],
                        "r_drop": st.at[item, "r_drop"],
                        "alpha_if_deleted": dr.at[item, "raw_alpha"],
                        "alpha_std_if_deleted": dr.at[item, "std_alpha"],
                        **({"reversed": item in self.reversed_items} if self.keys_declared else {}),
                    }
                    for item in st.index
                },
            }
        om = self.omega
        out: dict[str, Any] = {
            "instrument": self.instrument,
            "missing": self.missing,
            "n_respondents": self.n_respondents,
            "scales": scales,
            "omega": {
                "omega_h": None if om is None else om.omega_h,
                "omega_total": None if om is None else om.omega_total,
                "ecv": None if om is None else om.ecv,
            },
        }
        if self.groups is not None:
            out["groups"] = {sid: g.to_dict() for sid, g in self.groups.items()}
        if self.retest is not None:
            out["retest"] = {sid: r.to_dict() for sid, r in self.retest.items()}
        for coefficient in COEFFICIENTS:
            values = self.coefficients.get(coefficient.key)
            if values is not None:
                out[coefficient.key] = {sid: dict(coefficient.to_dict(v)) for sid, v in values.items()}
        out.update(message_fields(self))
        return jsonable(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per subscale: the scale-level coefficients."""
        rows = {}
        for sid, res in self.scales.items():
            rows[sid] = {
                "n": res.n_obs,
                "items": res.n_items,
                "alpha": res.alpha,
                "alpha_std": res.alpha_std,
                "g6": res.g6,
                "average_r": res.average_r,
                "alpha_se": res.alpha_se,
                "feldt_lower": res.ci_feldt[0],
                "feldt_upper": res.ci_feldt[1],
                "omega_total": self.omega_totals[sid],
            }
            if self.groups is not None:
                rows[sid].update(icc1=self.groups[sid].icc1, icc2=self.groups[sid].icc2)
            if self.retest is not None and sid in self.retest:
                rows[sid].update(retest_icc=self.retest[sid].icc, retest_n=self.retest[sid].n)
            for coefficient in COEFFICIENTS:
                values = self.coefficients.get(coefficient.key)
                if values is not None and sid in values:
                    rows[sid].update(coefficient.columns(values[sid]))
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "subscale"
        return frame.reset_index()

    def item_frame(self) -> pd.DataFrame:
        """One row per (subscale, item): item statistics and alpha if deleted (and ``reversed``)."""
        frame = pd.concat(
            {sid: res.to_frame() for sid, res in self.scales.items()}, names=["subscale", "item"]
        )
        if self.keys_declared:
            frame.insert(0, "reversed", frame.index.get_level_values("item").isin(self.reversed_items))
        return frame

    def summary(self) -> str:
        title = f"Reliability: {self.instrument}" if self.instrument else "Reliability"
        boot = any(r.ci_bootstrap is not None for r in self.scales.values())
        width = max([5, *(len(s) for s in self.scales)])
        pct = f"{self.confidence:.0%}"
        head = f"{'scale':<{width}}  {'n':>5} {'k':>3}  {'alpha':>5}  {pct + ' CI (Feldt)':<16}"
        if boot:
            head += f"  {pct + ' CI (BCa)':<16}"
        head += f"  {'omega_t':>7}"
        if self.groups is not None:
            head += f"  {'ICC1':>6} {'ICC2':>6}"
        lines = [f"{title}  (missing: {self.missing}, N = {self.n_respondents})", "", head, "-" * len(head)]
        for sid, res in self.scales.items():
            line = f"{sid:<{width}}  {res.n_obs:>5} {res.n_items:>3}  {fmt(res.alpha):>5}  "
            line += f"{fmt_ci(res.ci_feldt):<16}"
            if boot:
                line += f"  {fmt_ci(res.ci_bootstrap):<16}"
            line += f"  {fmt(self.omega_totals[sid]):>7}"
            if self.groups is not None:
                line += f"  {fmt(self.groups[sid].icc1):>6} {fmt(self.groups[sid].icc2):>6}"
            lines.append(line)
        if self.omega is not None:
            om = self.omega
            lines += [
                "",
                f"Omega over all subscales ({om.nfactors} group factors): omega_h {fmt(om.omega_h)}, "
                f"omega_total {fmt(om.omega_total)}, ECV {fmt(om.ecv)}",
            ]
        flagged = False
        for sid, res in self.scales.items():
            lines += ["", f"{sid}  (alpha {fmt(res.alpha)})"]
            iw = max([4, *(len(i) + 4 * (i in self.reversed_items) for i in res.item_stats.index)])
            lines.append(
                f"  {'item':<{iw}} {'n':>5} {'mean':>6} {'sd':>6} {'r.drop':>7} "
                f"{'alpha if deleted':>17}  flags"
            )
            for item, row in res.item_stats.iterrows():
                a_del = res.alpha_drop.at[item, "raw_alpha"]
                shown = f"{item} (r)" if item in self.reversed_items else item
                flags = []
                if np.isfinite(a_del) and a_del > res.alpha:
                    flags.append("^ alpha rises if deleted")
                if np.isfinite(row["r_drop"]) and row["r_drop"] < 0.30:
                    flags.append("! r.drop < .30")
                flagged = flagged or bool(flags)
                lines.append(
                    f"  {shown:<{iw}} {int(row['n']):>5} {fmt(row['mean'], 2):>6} {fmt(row['sd'], 2):>6} "
                    f"{fmt(row['r_drop']):>7} {fmt(a_del):>17}  {'; '.join(flags)}"
                )
        shown = [c for c in COEFFICIENTS if self.coefficients.get(c.key)]
        if shown:
            titles = [c.title for c in shown]
            heading = " and ".join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1 else titles)
            lines += ["", f"{heading} reliability:"]
            for sid in self.scales:
                parts = []
                for coefficient in shown:
                    value = self.coefficients[coefficient.key].get(sid)
                    if value:
                        parts.append(coefficient.describe(value))
                lines.append(f"  {sid:<{width}}  " + "   ".join(parts))
        if self.retest:
            lines += ["", "Test-retest (respondents in both waves):"]
            for sid, res in self.retest.items():
                lines.append(
                    f"  {sid:<{width}}  n = {res.n:>4}  {res.form} = {fmt(res.icc)}  95% CI {fmt_ci(res.ci)}"
                )
        lines += message_lines(self)
        marked = [i for res in self.scales.values() for i in res.item_stats.index if i in self.reversed_items]
        if marked:
            lines += ["", "(r) reverse-keyed: analysed as scale minimum + maximum - answer"]
        lines += [
            "",
            "flags: ^ the scale's alpha would rise if the item were deleted; "
            "! corrected item-total r (r.drop) below .30"
            if flagged
            else "no item flagged (alpha if deleted never exceeds alpha; every r.drop >= .30)",
        ]
        return "\n".join(line.rstrip() for line in lines)


def reliability_table(
    items_keyed: pd.DataFrame,
    subscales: Mapping[str, Sequence[str]],
    *,
    missing: Missing = "pairwise",
    bootstrap: int = 0,
    seed: int | None = None,
    groups: pd.Series | None = None,
    instrument_id: str | None = None,
    confidence: float = 0.95,
    reversed_items: Sequence[str] | None = None,
) -> ReliabilityReport:
    """Alpha, omega and item analysis for every subscale of an instrument.

    Parameters
    ----------
    items_keyed : DataFrame
        Item responses with reverse keys applied; may hold more columns than
        the subscales use.
    subscales : mapping of str to list of str
        Subscale id to its item ids (e.g. ``{sid: s.items for sid, s in
        instrument.subscales.items()}``).
    missing : {"pairwise", "listwise"}
        Missing-data handling for every coefficient (listwise deletion is
        per subscale for alpha and one-factor omega, over all subscale items
        for the multi-factor omega).
    bootstrap : int
        Bootstrap resamples for alpha intervals (0 = none); the same resamples
        of respondents serve every subscale. The reported interval is BCa.
    seed : int, optional
        Bootstrap seed.
    groups : Series, optional
        A grouping of respondents (e.g. program), aligned with
        ``items_keyed``: adds ICC(1), ICC(2) and design effect of each
        subscale's score (mean of answered items) to the report's
        ``groups``, ``to_frame()`` and ``summary()`` (not to ``to_dict()``,
        whose shape is fixed).
    instrument_id : str, optional
        Recorded in the report.
    confidence : float
        Level of all intervals.
    reversed_items : sequence of str, optional
        The items declared reverse-keyed (already reversed in ``items_keyed``):
        marked ``(r)`` in the summary, and every item gets ``reversed`` in
        ``to_dict()`` and ``item_frame()``. :func:`instrument_reliability`
        gives the instrument's.

    Returns
    -------
    ReliabilityReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(9)
    >>> f = rng.normal(size=(300, 2))
    >>> x = np.round(3 + np.repeat(f, 3, axis=1) + rng.normal(size=(300, 6)))
    >>> items = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> subscales = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}
    >>> rep = reliability_table(items, subscales, instrument_id="demo")
    >>> d = rep.to_dict()
    >>> sorted(d)
    ['instrument', 'missing', 'n_respondents', 'omega', 'ordinal', 'scales', 'split_half']
    >>> sorted(d["scales"]["a"]["items"]["a1"])[:3]
    ['alpha_if_deleted', 'alpha_std_if_deleted', 'mean']
    >>> round(d["scales"]["a"]["alpha"], 3)
    0.736
    """
    check_missing(missing)
    check_confidence(confidence)
    check_bootstrap(bootstrap, seed)
    if not isinstance(items_keyed, pd.DataFrame):
        raise TypeError("items_keyed must be a pandas DataFrame")
    if not subscales:
        raise ReliabilityError("no subscales given")
    subs = {str(k): [str(i) for i in v] for k, v in subscales.items()}
    columns = {str(c): c for c in items_keyed.columns}
    unknown = sorted({i for v in subs.values() for i in v if i not in columns})
    if unknown:
        raise ReliabilityKeyError(f"subscale items not in the data: {', '.join(unknown)}")
    frames = {sid: items_keyed[[columns[i] for i in its]].set_axis(its, axis=1) for sid, its in subs.items()}

    scales: dict[str, AlphaResult] = {}
    omegas: dict[str, float] = {}
    goods: dict[str, np.ndarray] = {}
    mats: dict[str, np.ndarray] = {}
    for sid, frame in frames.items():
        x = item_matrix(frame, what=f"subscale {sid!r}")
        if missing == "listwise":
            x = x[~np.isnan(x).any(axis=1)]
        fields = alpha_from_matrix(x, list(frame.columns), missing=missing, confidence=confidence)
        goods[sid] = fields.pop("_good")
        mats[sid] = x
        scales[sid] = AlphaResult(seed=seed, **fields)
        try:  # over the items alpha keeps (those with variance), as alpha's warning says
            omegas[sid] = omega_total(frame.loc[:, goods[sid]], missing=missing)
        except (ReliabilityError, np.linalg.LinAlgError) as exc:
            omegas[sid] = float("nan")
            scales[sid] = dataclasses.replace(
                scales[sid], warnings=(*scales[sid].warnings, f"omega total not computed: {exc}")
            )

    if bootstrap:
        rng = np.random.default_rng(seed)
        ids = list(scales)
        # Listwise blocks differ in rows; resample each block's own rows then.
        if missing == "pairwise":
            design = BootDesign([mats[s][:, goods[s]] for s in ids])
            boots, jack = design.bootstrap(bootstrap, rng), design.jackknife()
            per = {s: (boots[:, b], jack[:, b]) for b, s in enumerate(ids)}
        else:
            per = {}
            for s in ids:
                design = BootDesign([mats[s][:, goods[s]]])
                per[s] = (design.bootstrap(bootstrap, rng)[:, 0], design.jackknife()[:, 0])
        for s in ids:
            pct, bca = boot_intervals(per[s][0], per[s][1], scales[s].alpha, confidence)
            scales[s] = dataclasses.replace(
                scales[s],
                ci_bootstrap_percentile=pct,
                ci_bootstrap_bca=bca,
                bootstrap_distribution=per[s][0],
                n_bootstrap=bootstrap,
            )

    om = None
    if len(subs) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            om = omega(
                items_keyed.set_axis([str(c) for c in items_keyed.columns], axis=1),
                groups=subs,
                missing=missing,
            )

    group_res = None
    if groups is not None:
        if len(groups) != len(items_keyed):
            raise ReliabilityError(f"groups has {len(groups)} rows, items_keyed {len(items_keyed)}")
        g = pd.Series(np.asarray(groups), index=items_keyed.index)
        group_res = {}
        for sid, frame in frames.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                score = frame.mean(axis=1, skipna=True).rename(sid)
            group_res[sid] = group_reliability(score, g, confidence=confidence)

    options = ReportOptions(missing=missing, seed=seed, confidence=confidence)
    coefficients: dict[str, dict[str, Any]] = {c.key: {} for c in COEFFICIENTS}
    for sid, frame in frames.items():
        for coefficient in COEFFICIENTS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:  # over the items alpha keeps; data too thin for it: left out, said once
                    coefficients[coefficient.key][sid] = coefficient.compute(
                        frame.loc[:, goods[sid]], options
                    )
                except (ReliabilityError, np.linalg.LinAlgError) as exc:
                    scales[sid] = dataclasses.replace(
                        scales[sid],
                        warnings=(*scales[sid].warnings, f"{coefficient.title} not computed: {exc}"),
                    )

    return ReliabilityReport(
        instrument=instrument_id,
        missing=missing,
        n_respondents=len(items_keyed),
        scales=scales,
        omega_totals=omegas,
        omega=om,
        groups=group_res,
        confidence=confidence,
        coefficients=coefficients,
        warnings=tuple(f"{sid}: {message}" for sid, res in scales.items() for message in res.warnings),
        reversed_items=tuple(str(i) for i in reversed_items or ()),
        keys_declared=reversed_items is not None,
    )


@dataclass(frozen=True)
class SurveyReliability(Result):
    """Reliability reports of the instruments of one survey (see :func:`instrument_reliability`)."""

    reports: tuple[ReliabilityReport, ...]

    @property
    def warnings(self) -> tuple[str, ...]:  # type: ignore[override]
        """Every report's warnings (each also in its report's part of ``to_dict()`` and ``summary()``)."""
        return tuple(dict.fromkeys(w for r in self.reports for w in r.warnings))

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        """Every report's notes (each also in its report's part of ``to_dict()`` and ``summary()``)."""
        return tuple(dict.fromkeys(n for r in self.reports for n in r.notes))

    def to_dict(self) -> dict[str, Any]:
        """One instrument: its report's shape. Several: ``{"instruments": [report, ...]}``."""
        if len(self.reports) == 1:
            return self.reports[0].to_dict()
        return {"instruments": [r.to_dict() for r in self.reports]}

    def to_frame(self) -> pd.DataFrame:
        return pd.concat(
            [r.to_frame().assign(instrument=r.instrument) for r in self.reports], ignore_index=True
        )

    def summary(self) -> str:
        return "\n\n".join(r.summary() for r in self.reports)


def instrument_reliability(
    instruments: Any,
    responses: Any,
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    wave: Any = None,
    missing: Missing = "pairwise",
    bootstrap: int = 0,
    seed: int | None = None,
    group_column: str | None = None,
    **reading: Any,
) -> SurveyReliability:
    """Read, validate and score responses as ``sdt-survey score`` does, then analyse reliability.

    Parameters
    ----------
    instruments, responses, id_column, wave_column
        As for :func:`sdt_survey.score`; ``reading`` takes its other reading
        options (``source``, ``mapping``, ``invalid``, ``duplicates``).
    wave : optional
        Which wave to analyse when the data hold several (default: the first);
        with an id column, respondents in the first two waves also give
        test-retest ICCs of each subscale score.
    missing, bootstrap, seed
        As for :func:`reliability_table`.
    group_column : str, optional
        A column of units (program, clinic): ICC(1), ICC(2) and the design
        effect of each subscale mean across them.

    Returns
    -------
    SurveyReliability
    """
    from ..responses import WAVE_COLUMNS
    from ..responses.waves import choose_wave
    from ..scoring import score
    from ..scoring.keying import keying_warnings

    scored = score(instruments, responses, id_column=id_column, wave_column=wave_column, **reading)
    id_column = scored.id_column  # the intake may take it from the platform's export (and says so)
    table = scored.scores
    wave_column = wave_column or next((c for c in WAVE_COLUMNS if c in table.columns), None)
    notes: list[str] = list(scored.notes)
    rows = np.ones(len(table), dtype=bool)
    waves: list[Any] = []
    if wave_column is not None and wave_column in table.columns:
        # Waves in the study's order (numbers by number, REDCap events as the project orders them).
        chosen, waves = choose_wave(table, wave_column, wave, id_column=id_column)
        if len(waves) > 1:
            rows = (table[wave_column] == chosen).to_numpy()
            notes.append(f"wave {chosen!r} of {len(waves)} in {wave_column!r} (choose another with wave=)")
    if group_column is not None and group_column not in table.columns:
        raise SdtSurveyError(f"no group column {group_column!r} in the responses")
    reports = []
    for inst in scored.instruments:
        subscales = {sid: list(sub.items) for sid, sub in inst.subscales.items()}
        # Subscales may share items (a valid instrument); each column is taken once.
        columns = list(dict.fromkeys(i for sub in subscales.values() for i in sub))
        items = scored.keyed.loc[rows, columns].reset_index(drop=True)
        groups = table.loc[rows, group_column].reset_index(drop=True) if group_column else None
        with warnings.catch_warnings():
            # Each warning is kept in the report (its summary and JSON say it once); not raised again here.
            warnings.simplefilter("ignore", UserWarning)
            report = reliability_table(
                items, subscales, missing=missing, bootstrap=bootstrap, seed=seed, groups=groups,
                instrument_id=f"{inst.id} {inst.version}",
                reversed_items=[item.id for item in inst.items if item.reverse and item.id in columns],
            )  # fmt: skip
        retest = None
        if id_column and len(waves) > 1:
            retest = {}
            first = table[table[wave_column] == waves[0]].set_index(id_column)
            second = table[table[wave_column] == waves[1]].set_index(id_column)
            both = first.index.intersection(second.index)
            for sid in subscales:
                a, b = first.loc[both, sid], second.loc[both, sid]
                keep = a.notna().to_numpy() & b.notna().to_numpy()
                if keep.sum() >= 3:
                    retest[sid] = test_retest(a[keep], b[keep])
        # The keying audit was made once, on intake; its flags for this instrument are warnings here too.
        keying = tuple(keying_warnings(scored.keying, inst.id))
        reports.append(
            dataclasses.replace(report, retest=retest, notes=tuple(notes), warnings=report.warnings + keying)
        )
    return SurveyReliability(tuple(reports))
