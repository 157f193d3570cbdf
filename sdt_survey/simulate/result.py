"""What a simulation returns: its data (:class:`SimulationResult`) and truth (:class:`SimulationTruth`)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._spreadsheet_safe import write_csv
from ..files import folder_output
from ..instrument import Instrument
from ..results import Result, jsonable
from .design import META_COLUMNS, SimulationDesign, _frame_dict

# --------------------------------------------------------------------------- results


@dataclass
class SimulationTruth:
    """The parameters that generated a simulated data set, and the latent values.

    Attributes
    ----------
    factors : list of str
        Latent factors, one per subscale (its id; ``instrument:subscale`` when
        two instruments share a subscale id).
    factor_instrument : dict
        Instrument id of each factor.
    item_factor : dict
        Factor each scored item loads on (``None`` for a scored item in no subscale).
    loadings : dict
        Standardized loading of each scored item's latent response (keyed direction).
    thresholds : dict
        Thresholds of each scored item's latent response (keyed direction).
    reverse_worded : list of str
        Items answered in reverse: raw code = min + max - keyed code.
    factor_correlations : pandas.DataFrame
        Marginal correlations of the latent factors (unit variances).
    residual_covariance : pandas.DataFrame
        Covariance of the latent residual once program, clinic, PGY and
        continuity effects are taken out.
    latent_item_correlations : pandas.DataFrame
        Correlations of the continuous latent item responses implied by the
        loadings and factor correlations.
    population_alpha : dict
        Cronbach's alpha of each subscale's keyed item codes implied by the
        model (exact integration over the item errors and latent residual,
        averaged over the realized program, clinic, PGY and continuity effects).
    population_item_correlations : dict
        The matching Pearson correlations of each subscale's keyed item codes.
    program_sd, clinic_sd, continuity_effects, pgy_effects : dict
        As in the design, restricted to the factors simulated.
    program_effects, clinic_effects : pandas.DataFrame
        The realized random effects (index program or clinic, one column per factor).
    continuity : pandas.DataFrame
        One row per resident: program, clinic, pgy, cohort, assigned preceptor,
        preceptor_probability, n_sessions, n_faculty, and the true indices
        ``upc`` (share of sessions with the assigned preceptor), ``upc_max``
        (share with the most-seen faculty member), ``coc`` (Bice-Boxerman),
        ``secon`` (sequential continuity), ``mmci`` (modified modified
        continuity index), and ``coc_z`` (the standardized COC the effects use).
    coc_mean, coc_sd : float
        Mean and standard deviation (ddof 0) used to standardize COC.
    latent : pandas.DataFrame
        Latent factor scores, one row per resident and wave (``responded``
        says whether the row is in the responses).
    latent_responses : pandas.DataFrame
        The continuous latent item responses (keyed) behind each response row,
        before missingness (kept in memory, not written to ``truth.json``).
    wave_dates : list of str
        Date each wave was fielded.
    dropped : dict
        Residents who stopped responding at each later wave.
    faults : list of dict
        Each fault added by ``messy`` (empty when not messy): ``fault``,
        ``row`` (0-based position in ``responses``), ``resident``, ``wave``,
        ``column`` and ``value`` where they apply, plus what was there before.

    Examples
    --------
    >>> from sdt_survey.simulate import simulate
    >>> truth = simulate("bpn-residency", seed=2, n_programs=3).truth
    >>> truth.factors[:2]
    ['autonomy_satisfaction', 'autonomy_frustration']
    >>> truth.reverse_worded
    ['as4', 'rs4', 'cs4']
    >>> float(truth.factor_correlations.loc["relatedness_satisfaction", "relatedness_frustration"])
    -0.55
    >>> list(truth.continuity.columns[-6:])
    ['upc', 'upc_max', 'coc', 'secon', 'mmci', 'coc_z']
    """

    factors: list[str]
    factor_instrument: dict[str, str]
    item_factor: dict[str, str | None]
    loadings: dict[str, float]
    thresholds: dict[str, list[float]]
    reverse_worded: list[str]
    factor_correlations: pd.DataFrame
    residual_covariance: pd.DataFrame
    latent_item_correlations: pd.DataFrame
    population_alpha: dict[str, float]
    population_item_correlations: dict[str, pd.DataFrame]
    program_sd: dict[str, float]
    clinic_sd: dict[str, float]
    continuity_effects: dict[str, float]
    pgy_effects: dict[str, float]
    program_effects: pd.DataFrame
    clinic_effects: pd.DataFrame
    continuity: pd.DataFrame
    coc_mean: float
    coc_sd: float
    latent: pd.DataFrame
    latent_responses: pd.DataFrame
    wave_dates: list[str]
    dropped: dict[int, list[str]]
    faults: list[dict[str, Any]] = field(default_factory=list)

    def faults_of(self, kind: str) -> list[dict[str, Any]]:
        """The recorded faults of one kind (e.g. ``"out_of_range"``)."""
        return [f for f in self.faults if f["fault"] == kind]

    def to_dict(self, per_resident: bool = True) -> dict[str, Any]:
        """JSON-ready truth; ``per_resident=False`` leaves out the per-resident tables."""
        out: dict[str, Any] = {
            "factors": self.factors,
            "factor_instrument": self.factor_instrument,
            "item_factor": self.item_factor,
            "loadings": self.loadings,
            "thresholds": self.thresholds,
            "reverse_worded": self.reverse_worded,
            "factor_correlations": _frame_dict(self.factor_correlations),
            "residual_covariance": _frame_dict(self.residual_covariance),
            "population_alpha": self.population_alpha,
            "population_item_correlations": {
                k: _frame_dict(v) for k, v in self.population_item_correlations.items()
            },
            "latent_item_correlations": _frame_dict(self.latent_item_correlations),
            "program_sd": self.program_sd,
            "clinic_sd": self.clinic_sd,
            "continuity_index": "coc",
            "continuity_effects": self.continuity_effects,
            "pgy_effects": self.pgy_effects,
            "coc_mean": self.coc_mean,
            "coc_sd": self.coc_sd,
            "program_effects": _frame_dict(self.program_effects),
            "clinic_effects": _frame_dict(self.clinic_effects),
            "wave_dates": self.wave_dates,
            "dropped": {str(k): v for k, v in self.dropped.items()},
            "faults": jsonable(self.faults),
        }
        if per_resident:
            out["continuity"] = _records(self.continuity)
            out["latent"] = _records(self.latent)
        return out


@dataclass
class SimulationResult(Result):
    """A simulated data set: responses, schedule and the truth behind them.

    Attributes
    ----------
    responses : pandas.DataFrame
        One row per resident per wave: ``resident``, ``program``, ``clinic``,
        ``pgy``, ``cohort`` (entering year), ``wave`` (nullable Int64 for the
        three numbers), then one column per item (instrument order, display
        order) holding its code, ``NaN`` when unanswered or hidden by branching.
        Scored columns are float; with ``messy`` a column that received a label
        typo is object dtype.
    schedule : pandas.DataFrame
        One row per continuity-clinic session: ``resident``, ``faculty``,
        ``session_date``, ``assigned`` (the designated preceptor), ``setting``.
    truth : SimulationTruth
    design : SimulationDesign
    seed : int
    instruments : list of Instrument
    warnings : tuple of str
        Empty: a simulation that could not be drawn raises instead.
    notes : tuple of str
        With ``messy=True``: that the responses hold faults on purpose.

    Examples
    --------
    >>> from sdt_survey.simulate import simulate
    >>> result = simulate("bpn-residency", seed=2, n_programs=3, messy=True)
    >>> result.item_columns[:3]
    ['as1', 'af1', 'rs1']
    >>> fault = result.truth.faults_of("out_of_range")[0]
    >>> bool(result.responses.at[fault["row"], fault["column"]] == fault["value"])
    True
    >>> result.to_dict()["n_programs"]
    3
    """

    responses: pd.DataFrame
    schedule: pd.DataFrame
    truth: SimulationTruth
    design: SimulationDesign
    seed: int
    instruments: list[Instrument]

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        if not self.truth.faults:
            return ()
        return (
            f"the responses hold {len(self.truth.faults)} faults put there on purpose (messy=True); "
            "truth.faults lists each with its row and column",
        )

    @property
    def item_columns(self) -> list[str]:
        """The item columns of ``responses``."""
        return [c for c in self.responses.columns if c not in META_COLUMNS]

    def wave(self, wave: int) -> pd.DataFrame:
        """The rows of one wave (a messy empty row goes with the wave it was added to)."""
        return self.responses[self._row_waves() == wave]

    def _row_waves(self) -> np.ndarray:
        waves = self.responses["wave"].to_numpy(dtype=float, na_value=np.nan)
        for fault in self.truth.faults:
            if fault["fault"] == "empty_row":
                waves[fault["row"]] = fault["wave"]
        return waves

    def to_dict(self) -> dict[str, Any]:
        """Counts, the design and the truth's parameters (no per-resident tables)."""
        continuity = self.truth.continuity
        waves = self._row_waves()
        return jsonable(
            {
                "seed": self.seed,
                "instruments": [inst.id for inst in self.instruments],
                "n_residents": len(continuity),
                "n_programs": int(continuity["program"].nunique()),
                "n_clinics": int(continuity["clinic"].nunique()),
                "n_faculty": int(self.schedule["faculty"].nunique()),
                "n_sessions": len(self.schedule),
                "rows_per_wave": {int(w): int((waves == w).sum()) for w in range(1, self.design.n_waves + 1)},
                "missing_share": round(float(self.responses[self.item_columns].isna().to_numpy().mean()), 4),
                "design": self.design.to_dict(),
                "truth": self.truth.to_dict(per_resident=False),
                "warnings": list(self.warnings),
                "notes": list(self.notes),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """The responses, one row per resident per wave (a copy)."""
        return self.responses.copy()

    def summary(self) -> str:
        """A few readable lines on what was simulated."""
        d = self.to_dict()
        cont = self.truth.continuity
        waves = ", ".join(f"wave {w}: {n} rows" for w, n in d["rows_per_wave"].items())
        lines = [
            f"simulated {d['n_residents']} residents in {d['n_programs']} programs and "
            f"{d['n_clinics']} clinics (seed {self.seed}); instruments: {', '.join(d['instruments'])}",
            f"  responses: {waves}; {len(self.item_columns)} item columns, "
            f"{100 * d['missing_share']:.1f}% of answers empty",
            f"  schedule: {d['n_sessions']} clinic sessions with {d['n_faculty']} faculty; "
            f"COC mean {cont['coc'].mean():.2f} (range {cont['coc'].min():.2f}-{cont['coc'].max():.2f}), "
            f"UPC mean {cont['upc'].mean():.2f}",
        ]
        effects = ", ".join(f"{k} {v:+.2f}" for k, v in self.truth.continuity_effects.items())
        if effects:
            lines.append(f"  continuity effects (per SD of COC): {effects}")
        alphas = ", ".join(f"{k} {v:.2f}" for k, v in self.truth.population_alpha.items())
        if alphas:
            lines.append(f"  population alpha: {alphas}")
        if self.truth.faults:
            counts: dict[str, int] = {}
            for fault in self.truth.faults:
                counts[fault["fault"]] = counts.get(fault["fault"], 0) + 1
            lines.append("  messy faults: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path | list[Path]:  # type: ignore[override]
        """Write the result to one file, in the format its suffix names (the result contract).

        ``.json`` is :meth:`to_dict`, ``.csv`` the responses, ``.txt`` and ``.md``
        the :meth:`summary`. A path without a suffix, or an existing folder, is
        the deprecated way to call :meth:`write_folder` (it returns its list of files).
        """
        target = Path(path)
        if target.is_dir() or not target.suffix:
            warnings.warn(
                "SimulationResult.write(folder) is deprecated; use SimulationResult.write_folder(folder)",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.write_folder(target, overwrite=overwrite)
        return super().write(target, overwrite=overwrite)

    def write_folder(self, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write ``responses.csv``, ``responses_w1.csv``..., ``schedule.csv`` and ``truth.json``.

        The folder is complete or absent (see :func:`sdt_survey.files.folder_output`):
        it may be new, empty, or hold only earlier outputs of the package (which
        are replaced); a folder holding anything else needs ``overwrite=True``,
        and even then only the package's own files are replaced.

        Parameters
        ----------
        out_dir : path
            The folder to write (created if needed).
        overwrite : bool
            Write beside files the package did not write (never replacing them).

        Returns
        -------
        list of pathlib.Path
            The files written.

        Examples
        --------
        >>> from sdt_survey.simulate import simulate
        >>> import tempfile, sdt_survey
        >>> result = simulate(sdt_survey.load_instrument("program-belonging"), seed=3, n_programs=2)
        >>> [p.name for p in result.write_folder(tempfile.mkdtemp())]
        ['responses.csv', 'responses_w1.csv', 'responses_w2.csv', 'schedule.csv', 'truth.json']
        """
        with folder_output(out_dir, overwrite=overwrite, own_files_ok=True) as stage:
            out = stage.root
            written = [out / "responses.csv"]
            write_csv(self.responses, written[0], index=False, float_format="%.10g")
            waves = self._row_waves()
            for w in range(1, self.design.n_waves + 1):
                path = out / f"responses_w{w}.csv"
                write_csv(self.responses[waves == w], path, index=False, float_format="%.10g")
                written.append(path)
            path = out / "schedule.csv"
            write_csv(self.schedule, path, index=False)
            written.append(path)
            path = out / "truth.json"
            truth = {"seed": self.seed, "design": self.design.to_dict(), **self.truth.to_dict()}
            path.write_text(json.dumps(truth, indent=1, allow_nan=False) + "\n", encoding="utf-8")
            written.append(path)
        return [stage.final(path) for path in written]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "b":
            out[col] = out[col].astype(bool)
    return json.loads(out.to_json(orient="records", double_precision=15))
