"""Simulated residency survey data with a known truth.

:func:`simulate` draws a complete, realistic data set for one or more
instruments: residents nested in clinics nested in programs, a year of
continuity-clinic sessions with faculty (the schedule), latent need scores that
depend on continuity, program and clinic, ordinal item responses, waves with
attrition, item nonresponse (MCAR and MAR) and, optionally, the faults real
survey exports have. Every parameter that generated the data is returned in
:class:`SimulationTruth`, so each later stage (scoring, reliability, factor
analysis, continuity indices, multilevel models) can be tested on whether it
recovers what was put in.

The population model, every parameter and its default are documented in
``docs/simulation.md``.

Everything is vectorized: latent scores, item responses and the schedule are
drawn as matrices for all residents at once, so the default design (about 14
programs of 20 to 40 residents) takes a few tens of milliseconds and 2,000
residents by two waves well under a second.

Examples
--------
>>> import sdt_survey
>>> from sdt_survey.simulate import simulate
>>> bpn = sdt_survey.load_instrument("bpn-residency")
>>> result = simulate(bpn, seed=1, n_programs=3, residents_per_program=(10, 10))
>>> result.responses.shape  # 30 residents answer wave 1, 26 of them wave 2
(56, 30)
>>> list(result.responses.columns[:8])
['resident', 'program', 'clinic', 'pgy', 'cohort', 'wave', 'as1', 'af1']
>>> list(result.schedule.columns)
['resident', 'faculty', 'session_date', 'assigned', 'setting']
>>> result.truth.continuity_effects["relatedness_satisfaction"]
0.3
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import expressions
from ._callable import make_module_callable
from ._finite import require_finite
from ._memory import require_memory, simulation_bytes
from ._spreadsheet_safe import write_csv
from .continuity import indices_from_codes
from .errors import DesignError, UnknownParameterError
from .files import folder_output
from .instrument import SCORED_TYPES, Instrument, Item, load_instruments
from .results import jsonable

# --------------------------------------------------------------------------- defaults

#: Marginal correlations between the latent factors of the bundled instruments.
#: The six bpn-residency factors follow the pattern reported for the BPNSFS
#: (Chen et al., 2015): satisfactions correlate positively with each other,
#: frustrations positively with each other, and satisfaction negatively with
#: frustration, most strongly within the same need.
DEFAULT_FACTOR_CORRELATIONS: dict[tuple[str, str], float] = {
    ("autonomy_satisfaction", "autonomy_frustration"): -0.50,
    ("autonomy_satisfaction", "relatedness_satisfaction"): 0.50,
    ("autonomy_satisfaction", "relatedness_frustration"): -0.30,
    ("autonomy_satisfaction", "competence_satisfaction"): 0.55,
    ("autonomy_satisfaction", "competence_frustration"): -0.35,
    ("autonomy_frustration", "relatedness_satisfaction"): -0.30,
    ("autonomy_frustration", "relatedness_frustration"): 0.50,
    ("autonomy_frustration", "competence_satisfaction"): -0.35,
    ("autonomy_frustration", "competence_frustration"): 0.55,
    ("relatedness_satisfaction", "relatedness_frustration"): -0.55,
    ("relatedness_satisfaction", "competence_satisfaction"): 0.45,
    ("relatedness_satisfaction", "competence_frustration"): -0.30,
    ("relatedness_frustration", "competence_satisfaction"): -0.30,
    ("relatedness_frustration", "competence_frustration"): 0.45,
    ("competence_satisfaction", "competence_frustration"): -0.50,
    # learning-climate: autonomy-supportive supervision goes with autonomy satisfaction.
    ("autonomy_support", "autonomy_satisfaction"): 0.50,
    ("autonomy_support", "autonomy_frustration"): -0.45,
    ("autonomy_support", "relatedness_satisfaction"): 0.35,
    ("autonomy_support", "relatedness_frustration"): -0.30,
    ("autonomy_support", "competence_satisfaction"): 0.30,
    ("autonomy_support", "competence_frustration"): -0.25,
    # program-belonging: belonging to the program is close to relatedness satisfaction.
    ("program_belonging", "relatedness_satisfaction"): 0.60,
    ("program_belonging", "relatedness_frustration"): -0.50,
    ("program_belonging", "autonomy_satisfaction"): 0.35,
    ("program_belonging", "autonomy_frustration"): -0.30,
    ("program_belonging", "competence_satisfaction"): 0.30,
    ("program_belonging", "competence_frustration"): -0.25,
    ("program_belonging", "autonomy_support"): 0.40,
    # continuity-exposure: perceived continuity of supervision.
    ("perceived_continuity", "relatedness_satisfaction"): 0.40,
    ("perceived_continuity", "relatedness_frustration"): -0.30,
    ("perceived_continuity", "program_belonging"): 0.30,
    ("perceived_continuity", "autonomy_support"): 0.30,
}
#: Default correlation between two factors with no entry above: same valence
#: (both satisfaction-like or both frustration-like), opposite valence, and two
#: factors with the same subscale id from different instruments.
DEFAULT_SAME_VALENCE = 0.25
DEFAULT_OPPOSITE_VALENCE = -0.20
DEFAULT_SAME_CONSTRUCT = 0.80

#: Default loadings, by an item's position within its subscale (cycled), and for
#: reverse-worded items, which typically load a little more weakly.
DEFAULT_LOADINGS = (0.80, 0.72, 0.76, 0.68, 0.74, 0.70, 0.78)
DEFAULT_REVERSE_LOADING = 0.62
#: Item-specific threshold shifts, by the item's position in its instrument (cycled).
DEFAULT_THRESHOLD_SHIFTS = (0.0, 0.15, -0.15, 0.25, -0.10, 0.10)
#: Range of the evenly spaced base thresholds, and the shift by valence:
#: satisfaction-like items are endorsed more (thresholds lower), frustration-like less.
DEFAULT_THRESHOLD_SPAN = 1.8
VALENCE_SHIFT = {1: -0.40, -1: 0.50}

#: Names of the factors the defaults refer to; a design mapping that names any
#: other factor (a typo) is an error, while these are ignored when absent.
KNOWN_FACTORS = frozenset(name for pair in DEFAULT_FACTOR_CORRELATIONS for name in pair)

FAULTS = ("out_of_range", "label_typo", "duplicate_id", "missing_code", "empty_row")
MAR_VARIABLES = ("pgy", "program", "clinic", "cohort", "wave")
META_COLUMNS = ("resident", "program", "clinic", "pgy", "cohort", "wave")


def _default_program_sd() -> dict[str, float]:
    return {"relatedness_satisfaction": 0.30, "relatedness_frustration": 0.20, "program_belonging": 0.35}


def _default_clinic_sd() -> dict[str, float]:
    return {"relatedness_satisfaction": 0.20, "relatedness_frustration": 0.10, "perceived_continuity": 0.15}


def _default_continuity_effects() -> dict[str, float]:
    return {"relatedness_satisfaction": 0.30, "relatedness_frustration": -0.15, "perceived_continuity": 0.40}


def _default_pgy_effects() -> dict[str, float]:
    return {"competence_satisfaction": 0.15, "competence_frustration": -0.10}


def _default_mar_rates() -> dict[Any, float]:
    return {1: 0.0, 2: 0.01, 3: 0.04}


def _default_messy_counts() -> dict[str, int]:
    return {"out_of_range": 3, "label_typo": 2, "duplicate_id": 2, "missing_code": 3, "empty_row": 1}


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class SimulationDesign:
    """Everything that defines a simulated data set except the seed.

    Ranges ``(low, high)`` are inclusive and drawn uniformly. Mappings keyed by
    factor name (a subscale id) apply to the factors present and ignore the
    others; the defaults name factors of all bundled instruments.

    Attributes
    ----------
    n_programs : int
        Residency programs (default 14).
    residents_per_program : (int, int)
        Residents in a program (default 20 to 40).
    clinics_per_program : (int, int)
        Continuity clinics in a program (default 1 to 3); each resident belongs to one.
    pgy_levels : tuple of int
        Postgraduate years present (default 1, 2, 3).
    pgy_weights : tuple of float or None
        Share of residents in each PGY level (default equal).
    year_start : datetime.date
        First day of the academic year simulated (default 2025-07-01). A
        resident's entering cohort is ``year_start.year - pgy + 1``.
    n_waves : int
        Survey waves within the academic year (default 2).
    wave_weeks : tuple of int or None
        Week of the academic year each wave is fielded in (default evenly
        spaced from week 10 to week 46).
    attrition : float
        Share of the previous wave's respondents who do not answer a later
        wave (default 0.15; exactly ``round(attrition * n)`` drop out). Every
        resident answers wave 1; attrition is monotone.
    wave_stability : float
        Correlation of a resident's latent residual between consecutive waves
        (default 0.6). Program, clinic, PGY and continuity effects are constant.
    loadings : float, mapping of item id to float, or None
        Standardized loadings of the latent responses (after reverse keying).
        ``None``: per item, 0.68-0.80 by position in the subscale, 0.62 for
        reverse-worded items. A float applies to every scored item.
    factor_correlations : mapping of (factor, factor) to float, DataFrame, or None
        Marginal correlations of the latent factors. ``None`` uses
        :data:`DEFAULT_FACTOR_CORRELATIONS`; a mapping overrides single pairs;
        a DataFrame gives the whole matrix.
    thresholds : mapping of item id to sequence of float, or None
        Thresholds of each item's latent response (keyed direction, unit
        variance), one fewer than the scale's values. Default: evenly spaced in
        [-1.8, 1.8], shifted -0.4 for satisfaction-like and +0.5 for
        frustration-like factors, plus an item-specific shift.
    program_sd, clinic_sd : mapping of factor to float
        Standard deviations of the program and clinic random effects (on the
        unit-variance latent scale); default program 0.30 on relatedness
        satisfaction, 0.20 on relatedness frustration, 0.35 on program
        belonging; clinic 0.20, 0.10 and 0.15 on perceived continuity.
    continuity_effects : mapping of factor to float
        Standardized effect of the resident's Bice-Boxerman COC index (z-scored
        over the residents simulated) on each factor; default 0.30 on
        relatedness satisfaction, -0.15 on relatedness frustration, 0.40 on
        perceived continuity.
    pgy_effects : mapping of factor to float
        Effect per PGY year (centred at the mean PGY); default 0.15 on competence
        satisfaction and -0.10 on competence frustration.
    sessions_per_resident : (int, int)
        Continuity-clinic sessions in the year (default 24 to 48), at most one per week.
    schedule_weeks : int
        Weeks of the academic year with clinic (default 50).
    faculty_per_clinic : (int, int)
        Size of each clinic's faculty pool (default 4 to 10).
    preceptor_probability : (float, float)
        Range of the resident-specific probability that a session is with the
        designated preceptor (default 0.2 to 0.95); otherwise the supervisor is
        drawn at random from the clinic's pool (which includes the preceptor).
    mcar_rate : float
        Probability that any item answer is missing completely at random (default 0.02).
    mar_variable : str
        Observed variable the MAR rate depends on: ``pgy`` (default),
        ``program``, ``clinic``, ``cohort`` or ``wave``.
    mar_rates : mapping
        Extra missingness rate by value of ``mar_variable`` (default PGY1 0,
        PGY2 0.01, PGY3 0.04); values not listed have none. A cell is missing
        with probability ``1 - (1 - mcar_rate) * (1 - mar_rate)``.
    messy : bool
        Add the faults of real exports (default False); see ``messy_counts``.
    messy_counts : mapping of fault to int
        How many of each fault: ``out_of_range`` (3), ``label_typo`` (2),
        ``duplicate_id`` (2), ``missing_code`` (3), ``empty_row`` (1).

    Examples
    --------
    >>> design = SimulationDesign(n_programs=4, attrition=0.2)
    >>> design.n_waves, design.residents_per_program
    (2, (20, 40))
    >>> dataclasses.replace(design, messy=True).messy
    True
    """

    n_programs: int = 14
    residents_per_program: tuple[int, int] = (20, 40)
    clinics_per_program: tuple[int, int] = (1, 3)
    pgy_levels: tuple[int, ...] = (1, 2, 3)
    pgy_weights: tuple[float, ...] | None = None
    year_start: date = date(2025, 7, 1)
    n_waves: int = 2
    wave_weeks: tuple[int, ...] | None = None
    attrition: float = 0.15
    wave_stability: float = 0.6
    loadings: float | Mapping[str, float] | None = None
    factor_correlations: Mapping[tuple[str, str], float] | pd.DataFrame | None = None
    thresholds: Mapping[str, Sequence[float]] | None = None
    program_sd: Mapping[str, float] = field(default_factory=_default_program_sd)
    clinic_sd: Mapping[str, float] = field(default_factory=_default_clinic_sd)
    continuity_effects: Mapping[str, float] = field(default_factory=_default_continuity_effects)
    pgy_effects: Mapping[str, float] = field(default_factory=_default_pgy_effects)
    sessions_per_resident: tuple[int, int] = (24, 48)
    schedule_weeks: int = 50
    faculty_per_clinic: tuple[int, int] = (4, 10)
    preceptor_probability: tuple[float, float] = (0.2, 0.95)
    mcar_rate: float = 0.02
    mar_variable: str = "pgy"
    mar_rates: Mapping[Any, float] = field(default_factory=_default_mar_rates)
    messy: bool = False
    messy_counts: Mapping[str, int] = field(default_factory=_default_messy_counts)

    def __post_init__(self) -> None:
        if isinstance(self.year_start, str):  # frozen: set the parsed date directly
            object.__setattr__(self, "year_start", date.fromisoformat(self.year_start))

        def check(condition: bool, message: str) -> None:
            if not condition:
                raise DesignError(f"SimulationDesign: {message}")

        # NaN passes every range check below (each comparison is False, none raises), and an
        # infinity breaks the linear algebra later: refuse both first, naming the field.
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, pd.DataFrame):
                try:
                    numbers = value.to_numpy(dtype=float, na_value=np.nan)
                except (TypeError, ValueError):
                    numbers = np.array([np.nan])
                check(bool(np.isfinite(numbers).all()), f"{spec.name} must hold finite numbers only")
            else:
                require_finite(value, spec.name, DesignError)

        check(self.n_programs >= 1, f"n_programs must be at least 1, got {self.n_programs}")
        for name in ("residents_per_program", "clinics_per_program", "sessions_per_resident"):
            low, high = getattr(self, name)
            check(1 <= low <= high, f"{name} must be (low, high) with 1 <= low <= high, got {(low, high)}")
        low, high = self.faculty_per_clinic
        check(1 <= low <= high, f"faculty_per_clinic must satisfy 1 <= low <= high, got {(low, high)}")
        check(
            self.sessions_per_resident[0] >= 2,
            "sessions_per_resident must allow at least 2 sessions (COC needs two)",
        )
        check(
            self.sessions_per_resident[1] <= self.schedule_weeks,
            f"at most one session a week: sessions_per_resident {self.sessions_per_resident} "
            f"exceeds schedule_weeks {self.schedule_weeks}",
        )
        low, high = self.preceptor_probability
        check(0 <= low <= high <= 1, f"preceptor_probability must be within [0, 1], got {(low, high)}")
        check(len(self.pgy_levels) >= 1 and min(self.pgy_levels) >= 1, "pgy_levels must be positive")
        if self.pgy_weights is not None:
            check(
                len(self.pgy_weights) == len(self.pgy_levels) and min(self.pgy_weights) >= 0,
                "pgy_weights needs one non-negative weight per PGY level",
            )
        check(self.n_waves >= 1, f"n_waves must be at least 1, got {self.n_waves}")
        weeks = self.survey_weeks
        check(len(weeks) == self.n_waves, f"wave_weeks needs {self.n_waves} entries, got {len(weeks)}")
        check(
            all(0 <= w <= 52 for w in weeks) and list(weeks) == sorted(set(weeks)),
            f"wave_weeks must be increasing weeks 0-52, got {weeks}",
        )
        check(0 <= self.attrition < 1, f"attrition must be in [0, 1), got {self.attrition}")
        check(0 <= self.wave_stability <= 1, f"wave_stability must be in [0, 1], got {self.wave_stability}")
        check(0 <= self.mcar_rate < 1, f"mcar_rate must be in [0, 1), got {self.mcar_rate}")
        check(self.mar_variable in MAR_VARIABLES, f"mar_variable must be one of {', '.join(MAR_VARIABLES)}")
        check(all(0 <= r < 1 for r in self.mar_rates.values()), "mar_rates must be in [0, 1)")
        unknown = set(self.messy_counts) - set(FAULTS)
        check(not unknown, f"unknown messy fault(s) {sorted(unknown)}; faults are {', '.join(FAULTS)}")
        check(all(int(n) >= 0 for n in self.messy_counts.values()), "messy_counts must be >= 0")
        for name in ("program_sd", "clinic_sd"):
            check(all(v >= 0 for v in getattr(self, name).values()), f"{name} values must be >= 0")

    @property
    def survey_weeks(self) -> tuple[int, ...]:
        """Week of the academic year in which each wave is fielded."""
        if self.wave_weeks is not None:
            return tuple(int(w) for w in self.wave_weeks)
        return tuple(round(w) for w in np.linspace(10, 46, self.n_waves))

    @property
    def wave_dates(self) -> tuple[date, ...]:
        """Date on which each wave is fielded."""
        return tuple(self.year_start + timedelta(weeks=w) for w in self.survey_weeks)

    def to_dict(self) -> dict[str, Any]:
        """The design as JSON-ready values."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            # a table given as a design value (e.g. factor correlations) is written by row label
            out[f.name] = jsonable(_frame_dict(value) if isinstance(value, pd.DataFrame) else value)
        out["wave_dates"] = [d.isoformat() for d in self.wave_dates]
        return out


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
class SimulationResult:
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

    Examples
    --------
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
        return {
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
        }

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
        return "\n".join(lines)

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
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
        >>> import tempfile, sdt_survey
        >>> result = simulate(sdt_survey.load_instrument("program-belonging"), seed=3, n_programs=2)
        >>> [p.name for p in result.write(tempfile.mkdtemp())]
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


# --------------------------------------------------------------------------- the model


@dataclass
class _ItemSpec:
    """How one item column is generated."""

    item: Item
    instrument: Instrument
    factor: int | None = None  # index into the factors, for scored items
    values: np.ndarray | None = None  # ordered codes, for scored items
    loading: float = 0.0
    thresholds: np.ndarray | None = None


@dataclass
class _Model:
    factors: list[str]
    factor_instrument: dict[str, str]
    valence: np.ndarray
    specs: list[_ItemSpec]
    phi: np.ndarray
    program_sd: np.ndarray
    clinic_sd: np.ndarray
    continuity: np.ndarray
    pgy: np.ndarray

    @property
    def scored(self) -> list[_ItemSpec]:
        return [s for s in self.specs if s.values is not None]


def _valence(name: str) -> int:
    return -1 if "frustration" in name else 1


def _as_instruments(instruments: Instrument | str | Sequence[Instrument | str]) -> list[Instrument]:
    loaded = list(load_instruments(instruments))
    for inst in loaded:
        clash = sorted(set(inst.item_ids) & set(META_COLUMNS))
        if clash:
            raise DesignError(
                f"item id(s) {', '.join(clash)} of {inst.id} are also simulated identifier columns"
            )
    return loaded


def _check_factor_keys(name: str, mapping: Mapping[str, float], factors: list[str]) -> None:
    for key in mapping:
        if key not in factors and key not in KNOWN_FACTORS:
            hint = difflib.get_close_matches(key, factors + sorted(KNOWN_FACTORS), n=1)
            raise DesignError(
                f"{name} names unknown factor {key!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; the factors simulated are {', '.join(factors)}"
            )


def _build_model(instruments: list[Instrument], design: SimulationDesign) -> _Model:
    # One factor per subscale; ids shared by two instruments are qualified.
    counts: dict[str, int] = {}
    for inst in instruments:
        for sub in inst.subscales:
            counts[sub] = counts.get(sub, 0) + 1
    factors: list[str] = []
    base: list[str] = []
    factor_instrument: dict[str, str] = {}
    factor_of_item: dict[tuple[str, str], int] = {}
    for inst in instruments:
        for sub_id, sub in inst.subscales.items():
            name = sub_id if counts[sub_id] == 1 else f"{inst.id}:{sub_id}"
            factor_instrument[name] = inst.id
            for item_id in sub.items:
                factor_of_item.setdefault((inst.id, item_id), len(factors))
            factors.append(name)
            base.append(sub_id)
    valence = np.array([_valence(b) for b in base])

    all_items = {item.id for inst in instruments for item in inst.items}
    loadings_in = design.loadings
    if isinstance(loadings_in, Mapping):
        unknown = sorted(set(loadings_in) - all_items)
        if unknown:
            raise DesignError(f"loadings name unknown item(s) {unknown}")
    thresholds_in = design.thresholds or {}
    unknown = sorted(set(thresholds_in) - all_items)
    if unknown:
        raise DesignError(f"thresholds name unknown item(s) {unknown}")

    specs: list[_ItemSpec] = []
    for inst in instruments:
        order = {item_id: i for i, item_id in enumerate(inst.display_order)}
        position_in_subscale = {
            item_id: j
            for sub in reversed(list(inst.subscales.values()))
            for j, item_id in enumerate(sub.items)
        }
        for item in sorted(inst.items, key=lambda it: order[it.id]):
            spec = _ItemSpec(item, inst)
            spec.factor = factor_of_item.get((inst.id, item.id))
            # Likert items and items of a subscale get a latent response; counts and
            # choices outside subscales get plausible values of their own.
            if item.type == "likert" or (spec.factor is not None and item.type in SCORED_TYPES):
                spec.values = _item_values(item)
                if spec.factor is None:
                    default = 0.0
                elif item.reverse:
                    default = DEFAULT_REVERSE_LOADING
                else:
                    default = DEFAULT_LOADINGS[position_in_subscale[item.id] % len(DEFAULT_LOADINGS)]
                if isinstance(loadings_in, Mapping):
                    spec.loading = float(loadings_in.get(item.id, default))
                elif loadings_in is not None and spec.factor is not None:
                    spec.loading = float(loadings_in)
                else:
                    spec.loading = default
                if not 0 <= spec.loading < 1:
                    raise DesignError(f"loading of {item.id} must be in [0, 1), got {spec.loading}")
                n_thresholds = len(spec.values) - 1
                if item.id in thresholds_in:
                    thr = np.asarray(thresholds_in[item.id], dtype=float)
                    if thr.shape != (n_thresholds,) or np.any(np.diff(thr) <= 0):
                        raise DesignError(
                            f"thresholds of {item.id} must be {n_thresholds} increasing numbers, "
                            f"got {list(thr)}"
                        )
                else:
                    sign = 1 if spec.factor is None else int(valence[spec.factor])
                    shift = (
                        VALENCE_SHIFT[sign]
                        + DEFAULT_THRESHOLD_SHIFTS[
                            inst.item_ids.index(item.id) % len(DEFAULT_THRESHOLD_SHIFTS)
                        ]
                    )
                    thr = np.linspace(-DEFAULT_THRESHOLD_SPAN, DEFAULT_THRESHOLD_SPAN, n_thresholds) + shift
                spec.thresholds = thr
            specs.append(spec)

    for name in ("program_sd", "clinic_sd", "continuity_effects", "pgy_effects"):
        _check_factor_keys(name, getattr(design, name), factors)

    def vector(mapping: Mapping[str, float]) -> np.ndarray:
        return np.array(
            [float(mapping.get(f, mapping.get(b, 0.0))) for f, b in zip(factors, base, strict=True)]
        )

    phi = _factor_correlations(factors, base, valence, design.factor_correlations)
    return _Model(
        factors=factors,
        factor_instrument=factor_instrument,
        valence=valence,
        specs=specs,
        phi=phi,
        program_sd=vector(design.program_sd),
        clinic_sd=vector(design.clinic_sd),
        continuity=vector(design.continuity_effects),
        pgy=vector(design.pgy_effects),
    )


def _item_values(item: Item) -> np.ndarray:
    if item.scale is not None:
        return np.array(sorted(item.scale.values), dtype=float)
    low = 0 if item.min is None else math.ceil(item.min)
    high = low + 10 if item.max is None else math.floor(item.max)
    return np.arange(low, max(high, low + 1) + 1, dtype=float)


def _factor_correlations(
    factors: list[str],
    base: list[str],
    valence: np.ndarray,
    given: Mapping[tuple[str, str], float] | pd.DataFrame | None,
) -> np.ndarray:
    n = len(factors)
    phi = np.eye(n)
    for i, j in combinations(range(n), 2):
        a, b = base[i], base[j]
        if a == b:
            r = DEFAULT_SAME_CONSTRUCT
        else:
            r = DEFAULT_FACTOR_CORRELATIONS.get((a, b), DEFAULT_FACTOR_CORRELATIONS.get((b, a)))
            if r is None:
                r = DEFAULT_SAME_VALENCE if valence[i] == valence[j] else DEFAULT_OPPOSITE_VALENCE
        phi[i, j] = phi[j, i] = r
    if isinstance(given, pd.DataFrame):
        missing = [f for f in factors if f not in given.index or f not in given.columns]
        if missing:
            raise DesignError(f"factor_correlations lacks factor(s) {missing}")
        phi = given.loc[factors, factors].to_numpy(dtype=float).copy()
        if not np.allclose(phi, phi.T) or not np.allclose(np.diag(phi), 1):
            raise DesignError("factor_correlations must be symmetric with a unit diagonal")
    elif given:
        index = {f: i for i, f in enumerate(factors)}
        for (a, b), r in given.items():
            if a not in index or b not in index:
                unknown = a if a not in index else b
                if unknown in KNOWN_FACTORS:
                    continue
                raise DesignError(f"factor_correlations names unknown factor {unknown!r}")
            if a == b or not -1 < r < 1:
                raise DesignError(f"factor correlation ({a}, {b}) must be in (-1, 1) between two factors")
            phi[index[a], index[b]] = phi[index[b], index[a]] = float(r)
    if n and np.linalg.eigvalsh(phi).min() <= 1e-8:
        raise DesignError("the factor correlation matrix is not positive definite")
    return phi


def _residual_covariance(model: _Model, pgy_var: float) -> np.ndarray:
    """Factor covariance left for the residual once the structural effects are taken out."""
    b = model.continuity
    g = model.pgy
    psi = (
        model.phi
        - np.outer(b, b)
        - np.outer(g, g) * pgy_var
        - np.diag(model.program_sd**2 + model.clinic_sd**2)
    )
    diag = np.diag(psi)
    if np.any(diag <= 0.05):
        bad = [f for f, d in zip(model.factors, diag, strict=True) if d <= 0.05]
        raise DesignError(
            f"the program, clinic, PGY and continuity effects leave too little residual variance for {bad}; "
            "each factor has unit variance, so their squares must sum to less than 0.95"
        )
    if len(psi) and np.linalg.eigvalsh(psi).min() <= 1e-8:
        raise DesignError(
            "the factor correlations are incompatible with the continuity, PGY, program and clinic effects: "
            "the residual covariance is not positive definite"
        )
    return psi


# --------------------------------------------------------------------------- structure and schedule


@dataclass
class _People:
    n: int
    program: np.ndarray  # program index per resident
    clinic: np.ndarray  # global clinic index per resident
    pgy: np.ndarray
    cohort: np.ndarray
    resident_ids: np.ndarray
    program_ids: np.ndarray
    clinic_ids: np.ndarray
    clinic_program: np.ndarray
    pgy_mean: float
    pgy_var: float


def _draw_people(design: SimulationDesign, rng: np.random.Generator) -> _People:
    n_programs = design.n_programs
    sizes = rng.integers(design.residents_per_program[0], design.residents_per_program[1] + 1, n_programs)
    n_clinics = rng.integers(design.clinics_per_program[0], design.clinics_per_program[1] + 1, n_programs)
    clinic_start = np.concatenate([[0], np.cumsum(n_clinics)[:-1]])
    program = np.repeat(np.arange(n_programs), sizes)
    n = len(program)
    clinic = clinic_start[program] + np.floor(rng.random(n) * n_clinics[program]).astype(int)
    levels = np.asarray(design.pgy_levels)
    weights = np.ones(len(levels)) if design.pgy_weights is None else np.asarray(design.pgy_weights, float)
    weights = weights / weights.sum()
    pgy = rng.choice(levels, size=n, p=weights)
    width = max(4, len(str(n)))
    program_ids = _ids("", "P", np.arange(n_programs) + 1, 2)
    clinic_program = np.repeat(np.arange(n_programs), n_clinics)
    local = np.arange(n_clinics.sum()) - clinic_start[clinic_program]
    clinic_ids = _ids(program_ids[clinic_program].astype(str), "-C", local + 1, 1)
    pgy_mean = float(weights @ levels)
    return _People(
        n=n,
        program=program,
        clinic=clinic,
        pgy=pgy,
        cohort=design.year_start.year - pgy + 1,
        resident_ids=_ids("", "R", np.arange(n) + 1, width),
        program_ids=program_ids,
        clinic_ids=clinic_ids,
        clinic_program=clinic_program,
        pgy_mean=pgy_mean,
        pgy_var=float(weights @ (levels - pgy_mean) ** 2),
    )


@dataclass
class _Schedule:
    resident: np.ndarray  # resident index per session (sorted by resident, then date)
    faculty: np.ndarray  # global faculty index per session
    day: np.ndarray  # day offset from year_start
    assigned: np.ndarray  # assigned preceptor per resident
    faculty_ids: np.ndarray
    continuity: pd.DataFrame


def _draw_schedule(design: SimulationDesign, people: _People, rng: np.random.Generator) -> _Schedule:
    n = people.n
    n_clinics = len(people.clinic_ids)
    pool = rng.integers(design.faculty_per_clinic[0], design.faculty_per_clinic[1] + 1, n_clinics)
    pool_start = np.concatenate([[0], np.cumsum(pool)[:-1]])
    faculty_clinic = np.repeat(np.arange(n_clinics), pool)
    local = np.arange(pool.sum()) - pool_start[faculty_clinic]
    faculty_ids = _ids(people.clinic_ids[faculty_clinic].astype(str), "-F", local + 1, 2)
    clinic = people.clinic
    assigned = pool_start[clinic] + np.floor(rng.random(n) * pool[clinic]).astype(int)
    stick = rng.uniform(*design.preceptor_probability, size=n)
    n_sessions = rng.integers(design.sessions_per_resident[0], design.sessions_per_resident[1] + 1, n)
    weekday = rng.integers(0, 5, n)  # the resident's clinic day, Monday-Friday

    # Sessions in distinct weeks: the n_sessions weeks with the smallest random keys.
    weeks = design.schedule_weeks
    ranks = np.argsort(np.argsort(rng.random((n, weeks)), axis=1), axis=1)
    res, week = np.nonzero(ranks < n_sessions[:, None])  # row-major: by resident, then week
    day = 7 * week + (weekday[res] - design.year_start.weekday()) % 7

    s = len(res)
    with_preceptor = rng.random(s) < stick[res]
    other = pool_start[clinic[res]] + np.floor(rng.random(s) * pool[clinic[res]]).astype(int)
    faculty = np.where(with_preceptor, assigned[res], other)

    continuity = _continuity_indices(res, faculty, assigned, n)
    continuity.insert(0, "resident", people.resident_ids)
    continuity.insert(1, "program", people.program_ids[people.program])
    continuity.insert(2, "clinic", people.clinic_ids[clinic])
    continuity.insert(3, "pgy", people.pgy)
    continuity.insert(4, "cohort", people.cohort)
    continuity.insert(5, "assigned", faculty_ids[assigned])
    continuity.insert(6, "preceptor_probability", stick)
    return _Schedule(res, faculty, day, assigned, faculty_ids, continuity)


def _continuity_indices(res: np.ndarray, faculty: np.ndarray, assigned: np.ndarray, n: int) -> pd.DataFrame:
    """UPC, UPC_max, COC, SECON and MMCI per resident from sessions sorted by resident and date.

    Computed by :func:`sdt_survey.continuity.indices_from_codes`, the same
    core as :func:`sdt_survey.continuity.continuity_indices`.
    """
    core = indices_from_codes(res, faculty, n_groups=n, assigned_match=faculty == assigned[res])
    return pd.DataFrame(
        {
            "n_sessions": core["n_sessions"].to_numpy(),
            "n_faculty": core["n_partners"].to_numpy(),
            "upc": core["upc"].to_numpy(),
            "upc_max": core["mfpc"].to_numpy(),
            "coc": core["coc"].to_numpy(),
            "secon": core["secon"].to_numpy(),
            "mmci": core["mmci"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------- latent scores and items


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Numerical Recipes erfc, relative error below 1.2e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)


def _population_alpha(
    specs: list[_ItemSpec], structural: np.ndarray, psi: float, n_quantiles: int = 256, n_nodes: int = 40
) -> tuple[float, np.ndarray]:
    """Alpha and item correlations of keyed codes for items loading on one factor.

    The factor is ``structural + residual`` with the residual normal (variance
    ``psi``); the structural part is integrated over its realized distribution
    (by quantiles), the residual by Gauss-Hermite quadrature.
    """
    probs = (np.arange(n_quantiles) + 0.5) / n_quantiles
    s_points = np.quantile(structural, probs) if len(structural) > n_quantiles else structural
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    eta = (s_points[:, None] + math.sqrt(psi) * nodes[None, :]).ravel()
    w = np.repeat(np.full(len(s_points), 1.0 / len(s_points)), n_nodes) * np.tile(weights, len(s_points))
    means, squares = [], []
    for spec in specs:
        lam = spec.loading
        sd = math.sqrt(1 - lam**2)
        cdf = _norm_cdf((spec.thresholds[None, :] - lam * eta[:, None]) / sd)
        cdf = np.hstack([np.zeros((len(eta), 1)), cdf, np.ones((len(eta), 1))])
        p = np.diff(cdf, axis=1)
        means.append(p @ spec.values)
        squares.append(p @ spec.values**2)
    m = np.array(means)  # items x points
    mean = m @ w
    cov = (m * w) @ m.T - np.outer(mean, mean)
    np.fill_diagonal(cov, np.array(squares) @ w - mean**2)
    k = len(specs)
    alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum()) if k > 1 else float("nan")
    sd = np.sqrt(np.diag(cov))
    return float(alpha), cov / np.outer(sd, sd)


@dataclass
class _Context:
    """What item generators see: the response rows and everything per resident."""

    design: SimulationDesign
    people: _People
    schedule: _Schedule
    row_res: np.ndarray
    row_wave: np.ndarray  # 0-based
    window_total: np.ndarray  # waves x residents: sessions in the 4 weeks before the wave
    window_assigned: np.ndarray  # of those, with the assigned preceptor
    rng: np.random.Generator


def simulate(
    instruments: Instrument | str | Sequence[Instrument | str],
    *,
    seed: int,
    design: SimulationDesign | None = None,
    **design_overrides: Any,
) -> SimulationResult:
    """Simulate residents' answers to one or more instruments, with a clinic schedule and the truth.

    Parameters
    ----------
    instruments : Instrument, str, or a list of them
        Instruments (or names/paths for :func:`sdt_survey.load_instrument`).
        Every subscale gets a latent factor; items outside subscales get
        plausible values (see ``docs/simulation.md``).
    seed : int
        Seed of the numpy random generator: the same seed and design give
        identical frames.
    design : SimulationDesign, optional
        The design (default ``SimulationDesign()``).
    **design_overrides
        Fields of :class:`SimulationDesign` to change, e.g. ``n_programs=30``
        or ``messy=True``.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import sdt_survey
    >>> result = simulate(
    ...     ["bpn-residency", "continuity-exposure"], seed=7, n_programs=2, residents_per_program=(20, 20)
    ... )
    >>> result.responses.groupby("wave").size().tolist()  # 15% attrition
    [40, 34]
    >>> bool((result.truth.continuity["coc"].between(0, 1)).all())
    True
    >>> messy = simulate("bpn-residency", seed=7, messy=True, n_programs=2)
    >>> sorted({fault["fault"] for fault in messy.truth.faults})
    ['duplicate_id', 'empty_row', 'label_typo', 'missing_code', 'out_of_range']
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DesignError(f"seed must be a non-negative integer, got {seed!r}")
    if design is None:
        design = SimulationDesign()
    if design_overrides:
        names = {f.name for f in dataclasses.fields(SimulationDesign)}
        unknown = sorted(set(design_overrides) - names)
        if unknown:
            hints = [difflib.get_close_matches(u, names, n=1) for u in unknown]
            said = ", ".join(
                f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                for u, h in zip(unknown, hints, strict=True)
            )
            raise UnknownParameterError(f"unknown design parameter(s): {said}")
        design = dataclasses.replace(design, **design_overrides)
    insts = _as_instruments(instruments)
    # Refuse a design that cannot fit before allocating any of it (a typo in n_programs would
    # otherwise run the machine out of memory).
    require_memory(
        simulation_bytes(design, sum(len(inst.items) for inst in insts)),
        f"this design ({design.n_programs:,} programs of up to {design.residents_per_program[1]:,} "
        "residents)",
    )
    model = _build_model(insts, design)
    streams = np.random.SeedSequence(int(seed)).spawn(8)
    rng_people, rng_sched, rng_latent, rng_items, rng_extra, rng_attr, rng_missing, rng_messy = (
        np.random.default_rng(s) for s in streams
    )

    people = _draw_people(design, rng_people)
    psi = _residual_covariance(model, people.pgy_var)
    schedule = _draw_schedule(design, people, rng_sched)
    continuity = schedule.continuity
    n, n_factors, n_waves = people.n, len(model.factors), design.n_waves

    # Latent factors: structural part (continuity, PGY, program, clinic) + AR(1) residual.
    coc = continuity["coc"].to_numpy()
    coc_mean, coc_sd = float(coc.mean()), float(coc.std())
    coc_z = (coc - coc_mean) / coc_sd if coc_sd > 0 else np.zeros(n)
    continuity["coc_z"] = coc_z
    program_effects = rng_latent.standard_normal((design.n_programs, n_factors)) * model.program_sd
    clinic_effects = rng_latent.standard_normal((len(people.clinic_ids), n_factors)) * model.clinic_sd
    structural = (
        np.outer(coc_z, model.continuity)
        + np.outer(people.pgy - people.pgy_mean, model.pgy)
        + program_effects[people.program]
        + clinic_effects[people.clinic]
    )
    chol = np.linalg.cholesky(psi) if n_factors else np.zeros((0, 0))
    rho = design.wave_stability
    eta = np.empty((n_waves, n, n_factors))
    residual = rng_latent.standard_normal((n, n_factors)) @ chol.T
    for w in range(n_waves):  # a loop over waves, not over residents
        if w:
            residual = rho * residual + math.sqrt(1 - rho**2) * (
                rng_latent.standard_normal((n, n_factors)) @ chol.T
            )
        eta[w] = structural + residual

    # Who answers each wave.
    responding = np.zeros((n_waves, n), dtype=bool)
    responding[0] = True
    dropped: dict[int, list[str]] = {}
    for w in range(1, n_waves):
        still = np.flatnonzero(responding[w - 1])
        n_drop = round(design.attrition * len(still))
        drop = rng_attr.choice(still, size=n_drop, replace=False) if n_drop else np.array([], dtype=int)
        responding[w] = responding[w - 1]
        responding[w, drop] = False
        dropped[w + 1] = sorted(people.resident_ids[drop].tolist())
    row_wave, row_res = np.nonzero(responding)  # sorted by wave, then resident
    n_rows = len(row_res)

    # Scored items: latent responses and their thresholds, all at once.
    scored = model.scored
    columns: dict[str, np.ndarray] = {}
    latent_responses = {}
    if scored:
        lam = np.array([s.loading for s in scored])
        fidx = np.array([-1 if s.factor is None else s.factor for s in scored])
        eta_rows = eta[row_wave, row_res] if n_factors else np.zeros((n_rows, 0))
        loaded = np.where(fidx >= 0, 1.0, 0.0) * eta_rows[:, np.maximum(fidx, 0)] if n_factors else 0.0
        ystar = loaded * lam + rng_items.standard_normal((n_rows, len(scored))) * np.sqrt(1 - lam**2)
        width = max(len(s.thresholds) for s in scored)
        thr = np.full((len(scored), width), np.inf)
        values = np.full((len(scored), width + 1), np.nan)
        for j, s in enumerate(scored):
            thr[j, : len(s.thresholds)] = s.thresholds
            values[j, : len(s.values)] = s.values
        category = (ystar[:, :, None] > thr[None, :, :]).sum(axis=2)
        n_cat = np.array([len(s.values) for s in scored])
        reverse = np.array([s.item.reverse for s in scored])
        raw_category = np.where(reverse, n_cat - 1 - category, category)
        codes = np.take_along_axis(values, raw_category.T, axis=1).T
        for j, s in enumerate(scored):
            columns[s.item.id] = codes[:, j]
            latent_responses[s.item.id] = ystar[:, j]

    # Unscored items: plausible values, consistent with the schedule where they refer to it.
    wave_days = np.array([7 * w for w in design.survey_weeks])
    window_total = np.zeros((n_waves, n))
    window_assigned = np.zeros((n_waves, n))
    with_preceptor = (schedule.faculty == schedule.assigned[schedule.resident]).astype(float)
    for w, end in enumerate(wave_days):
        inside = (schedule.day >= end - 28) & (schedule.day < end)
        window_total[w] = np.bincount(schedule.resident[inside], minlength=n)
        window_assigned[w] = np.bincount(
            schedule.resident[inside], weights=with_preceptor[inside], minlength=n
        )
    ctx = _Context(design, people, schedule, row_res, row_wave, window_total, window_assigned, rng_extra)
    for spec in model.specs:
        if spec.values is None:
            generator = _GENERATORS.get(spec.item.id, _generic_item)
            columns[spec.item.id] = generator(spec.item, ctx)

    # Item nonresponse: MCAR plus MAR by an observed variable.
    item_ids = [s.item.id for s in model.specs]
    meta = {
        "pgy": people.pgy[row_res],
        "program": people.program_ids[people.program[row_res]],
        "clinic": people.clinic_ids[people.clinic[row_res]],
        "cohort": people.cohort[row_res],
        "wave": row_wave + 1,
    }
    levels, level_of_row = np.unique(meta[design.mar_variable], return_inverse=True)
    level_rates = np.array([float(design.mar_rates.get(_plain(v), 0.0)) for v in levels])
    mar = level_rates[level_of_row.ravel()]
    p_missing = 1 - (1 - design.mcar_rate) * (1 - mar)
    missing = rng_missing.random((n_rows, len(item_ids))) < p_missing[:, None]
    for j, item_id in enumerate(item_ids):
        column = columns[item_id]
        if column.dtype == object:
            column = column.copy()
            column[missing[:, j]] = np.nan
        else:
            column = np.where(missing[:, j], np.nan, column)
        columns[item_id] = column

    responses = pd.DataFrame(
        {
            "resident": people.resident_ids[row_res],
            "program": meta["program"],
            "clinic": meta["clinic"],
            "pgy": pd.array(meta["pgy"], dtype="Int64"),
            "cohort": pd.array(meta["cohort"], dtype="Int64"),
            "wave": pd.array(meta["wave"], dtype="Int64"),
        }
    )
    responses = pd.concat([responses, pd.DataFrame(columns, columns=item_ids)], axis=1)
    _apply_branching(responses, model.specs)

    faults: list[dict[str, Any]] = []
    if design.messy:
        responses, faults = _add_faults(responses, model.specs, design.messy_counts, rng_messy)

    truth = _make_truth(
        model=model,
        design=design,
        people=people,
        psi=psi,
        structural=structural,
        eta=eta,
        responding=responding,
        program_effects=program_effects,
        clinic_effects=clinic_effects,
        continuity=continuity,
        coc_mean=coc_mean,
        coc_sd=coc_sd,
        latent_responses=pd.DataFrame(
            {"resident": people.resident_ids[row_res], "wave": row_wave + 1, **latent_responses}
        ),
        dropped=dropped,
        faults=faults,
    )
    sched = pd.DataFrame(
        {
            "resident": people.resident_ids[schedule.resident],
            "faculty": schedule.faculty_ids[schedule.faculty],
            "session_date": np.datetime64(design.year_start, "D") + schedule.day.astype("timedelta64[D]"),
            "assigned": schedule.faculty_ids[schedule.assigned[schedule.resident]],
            "setting": "clinic",
        }
    )
    return SimulationResult(responses, sched, truth, design, int(seed), insts)


def _apply_branching(frame: pd.DataFrame, specs: list[_ItemSpec]) -> None:
    """Empty every item whose ``show_if`` is false, in display order (so chains resolve)."""
    for spec in specs:
        if spec.item.show_if is not None:
            shown = expressions.evaluate(spec.item.show_if, frame)
            frame.loc[~shown, spec.item.id] = np.nan


def _make_truth(
    *,
    model: _Model,
    design: SimulationDesign,
    people: _People,
    psi: np.ndarray,
    structural: np.ndarray,
    eta: np.ndarray,
    responding: np.ndarray,
    program_effects: np.ndarray,
    clinic_effects: np.ndarray,
    continuity: pd.DataFrame,
    coc_mean: float,
    coc_sd: float,
    latent_responses: pd.DataFrame,
    dropped: dict[int, list[str]],
    faults: list[dict[str, Any]],
) -> SimulationTruth:
    factors = model.factors
    scored = model.scored
    items = [s.item.id for s in scored]
    lam = np.array([s.loading for s in scored])
    load = np.zeros((len(scored), len(factors)))
    for j, s in enumerate(scored):
        if s.factor is not None:
            load[j, s.factor] = s.loading
    implied = load @ model.phi @ load.T
    np.fill_diagonal(implied, 1.0)

    alphas: dict[str, float] = {}
    item_corr: dict[str, pd.DataFrame] = {}
    spec_of = {(s.instrument.id, s.item.id): s for s in scored}
    for f, name in enumerate(factors):
        inst = next(i for i in _instruments_of(model) if i.id == model.factor_instrument[name])
        sub_id = name.split(":", 1)[-1]
        sub_specs = [spec_of.get((inst.id, item_id)) for item_id in inst.subscales[sub_id].items]
        if len(sub_specs) < 2 or any(s is None or s.factor != f for s in sub_specs):
            continue  # alpha of items on several factors is not computed
        alpha, corr = _population_alpha(sub_specs, structural[:, f], float(psi[f, f]))  # type: ignore[arg-type]
        alphas[name] = alpha
        ids = [s.item.id for s in sub_specs]  # type: ignore[union-attr]
        item_corr[name] = pd.DataFrame(corr, index=ids, columns=ids)

    waves, residents = np.meshgrid(np.arange(design.n_waves), np.arange(people.n), indexing="ij")
    latent = pd.DataFrame(
        {
            "resident": people.resident_ids[residents.ravel()],
            "wave": waves.ravel() + 1,
            "responded": responding.ravel(),
        }
    )
    latent = pd.concat(
        [latent, pd.DataFrame(eta.reshape(len(latent), len(factors)), columns=factors)], axis=1
    )

    def named(vector: np.ndarray) -> dict[str, float]:
        return {f: float(v) for f, v in zip(factors, vector, strict=True) if v != 0}

    return SimulationTruth(
        factors=list(factors),
        factor_instrument=dict(model.factor_instrument),
        item_factor={s.item.id: (None if s.factor is None else factors[s.factor]) for s in scored},
        loadings={i: float(v) for i, v in zip(items, lam, strict=True)},
        thresholds={s.item.id: [float(t) for t in s.thresholds] for s in scored},  # type: ignore[union-attr]
        reverse_worded=[s.item.id for s in scored if s.item.reverse],
        factor_correlations=pd.DataFrame(model.phi, index=factors, columns=factors),
        residual_covariance=pd.DataFrame(psi, index=factors, columns=factors),
        latent_item_correlations=pd.DataFrame(implied, index=items, columns=items),
        population_alpha=alphas,
        population_item_correlations=item_corr,
        program_sd=named(model.program_sd),
        clinic_sd=named(model.clinic_sd),
        continuity_effects=named(model.continuity),
        pgy_effects=named(model.pgy),
        program_effects=pd.DataFrame(
            program_effects, index=pd.Index(people.program_ids, name="program"), columns=factors
        ),
        clinic_effects=pd.DataFrame(
            clinic_effects, index=pd.Index(people.clinic_ids, name="clinic"), columns=factors
        ),
        continuity=continuity,
        coc_mean=coc_mean,
        coc_sd=coc_sd,
        latent=latent,
        latent_responses=latent_responses,
        wave_dates=[d.isoformat() for d in design.wave_dates],
        dropped=dropped,
        faults=faults,
    )


def _instruments_of(model: _Model) -> list[Instrument]:
    seen: dict[str, Instrument] = {}
    for spec in model.specs:
        seen.setdefault(spec.instrument.id, spec.instrument)
    return list(seen.values())


# --------------------------------------------------------------------------- unscored items


def _fits(item: Item, codes: Sequence[int]) -> bool:
    """Whether a single-choice item offers exactly these integer codes."""
    return {c.value for c in item.choices} == set(codes)


def _clip(item: Item, values: np.ndarray) -> np.ndarray:
    low, high = item.value_range
    return np.clip(values, -np.inf if low is None else low, np.inf if high is None else high).astype(float)


def _gen_has_usual_preceptor(item: Item, ctx: _Context) -> np.ndarray:
    """Yes mostly when the resident really does see one preceptor most of the time."""
    if not _fits(item, (0, 1)):
        return _generic_item(item, ctx)
    upc = ctx.schedule.continuity["upc"].to_numpy()
    p_yes = 1 / (1 + np.exp(-(upc - 0.4) / 0.07))
    yes = ctx.rng.random(ctx.people.n) < p_yes
    return yes[ctx.row_res].astype(float)


def _gen_clinic_halfdays(item: Item, ctx: _Context) -> np.ndarray:
    """Clinic half-days in the 4 weeks before the wave, counted from the schedule."""
    return _clip(item, ctx.window_total[ctx.row_wave, ctx.row_res])


def _gen_halfdays_with_preceptor(item: Item, ctx: _Context) -> np.ndarray:
    """Of those half-days, the ones with the assigned preceptor (branching hides it when not asked)."""
    return _clip(item, ctx.window_assigned[ctx.row_wave, ctx.row_res])


def _gen_coach_meetings(item: Item, ctx: _Context) -> np.ndarray:
    """Cumulative meetings since the start of the year, at a resident-specific monthly rate."""
    n, weeks = ctx.people.n, np.array(ctx.design.survey_weeks, dtype=float)
    rate = ctx.rng.gamma(2.0, 0.5, n)  # meetings per month, mean 1
    months = np.diff(np.concatenate([[0.0], weeks * 7 / 30.44]))
    counts = np.cumsum(ctx.rng.poisson(np.outer(months, rate)), axis=0)
    return _clip(item, counts[ctx.row_wave, ctx.row_res])


def _gen_longitudinal_team(item: Item, ctx: _Context) -> np.ndarray:
    """About half the programs have longitudinal teams; most of their residents are on one."""
    if not _fits(item, (0, 1, 2)):
        return _generic_item(item, ctx)
    has_teams = ctx.rng.random(ctx.design.n_programs) < 0.5
    member = ctx.rng.random(ctx.people.n) < 0.8
    answer = np.where(has_teams[ctx.people.program], member.astype(float), 2.0)
    return answer[ctx.row_res]


_GENERATORS: dict[str, Callable[[Item, _Context], np.ndarray]] = {
    "has_usual_preceptor": _gen_has_usual_preceptor,
    "clinic_halfdays_4wk": _gen_clinic_halfdays,
    "halfdays_with_preceptor": _gen_halfdays_with_preceptor,
    "coach_meetings_year": _gen_coach_meetings,
    "longitudinal_team": _gen_longitudinal_team,
}


def _generic_item(item: Item, ctx: _Context) -> np.ndarray:
    """A plausible answer for an item the simulator knows nothing about."""
    n = len(ctx.row_res)
    rng = ctx.rng
    if item.type == "single" and item.choices:
        codes = np.array([c.value for c in item.choices], dtype=object)
        picked = codes[rng.integers(0, len(codes), n)]
        return picked.astype(float) if all(isinstance(c, int) for c in codes) else picked
    if item.type == "multiple" and item.choices:
        chosen = rng.random((n, len(item.choices))) < 0.35
        text = np.full(n, "", dtype=object)
        for k, choice in enumerate(item.choices):  # a loop over choices, not respondents
            text = text + np.where(chosen[:, k], f"{choice.value},", "")
        text = np.char.rstrip(text.astype(str), ",").astype(object)
        text[text == ""] = np.nan
        return text
    if item.type in ("integer", "number"):
        low = 0.0 if item.min is None else float(item.min)
        high = low + 10 if item.max is None else float(item.max)
        if item.type == "integer":
            return rng.integers(math.ceil(low), math.floor(high) + 1, n).astype(float)
        return np.round(rng.uniform(low, high, n), 1)
    if item.type == "date":
        dates = np.array([d.isoformat() for d in ctx.design.wave_dates], dtype=object)
        return dates[ctx.row_wave]
    return np.full(n, np.nan, dtype=object)  # free text: left empty


# --------------------------------------------------------------------------- messy exports


def _typo(label: str) -> str:
    """A plausible misspelling: swap two letters of the last word ("Very true" -> "Very ture")."""
    head, _, word = label.rpartition(" ")
    if len(word) >= 3:
        i = len(word) // 2 - 1
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word:
            return f"{head} {swapped}".strip()
    return label[:-1] if len(label) > 1 else label + label


def _add_faults(
    frame: pd.DataFrame, specs: list[_ItemSpec], counts: Mapping[str, int], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Add the faults of a real export, and record each one."""
    n = len(frame)
    n_dup = min(int(counts.get("duplicate_id", 0)), n)
    n_empty = int(counts.get("empty_row", 0))
    dup_src = np.sort(rng.choice(n, size=n_dup, replace=False)) if n_dup else np.array([], dtype=int)
    empty_after = rng.integers(0, max(n, 1), n_empty)
    # Rows: the originals, each duplicate right after its source, empty rows after a random row.
    source = np.concatenate([np.arange(n), dup_src, empty_after])
    kind = np.concatenate([np.zeros(n, int), np.ones(n_dup, int), np.full(n_empty, 2)])
    order = np.lexsort((kind, source))
    source, kind = source[order], kind[order]
    out = frame.iloc[np.minimum(source, max(n - 1, 0))].reset_index(drop=True)
    faults: list[dict[str, Any]] = []
    position = np.flatnonzero(kind == 0)  # new position of each original row
    likert = [s for s in specs if s.item.type == "likert" and s.item.scale is not None]
    likert_ids = [s.item.id for s in likert]

    def where(row: int) -> dict[str, Any]:
        return {"row": int(row), "resident": str(out.at[row, "resident"]), "wave": int(out.at[row, "wave"])}

    for d, row in enumerate(np.flatnonzero(kind == 1)):
        record = {"fault": "duplicate_id", **where(row), "duplicate_of": int(position[source[row]])}
        record["identical"] = d % 2 == 0
        if d % 2 == 1 and likert_ids:  # a resubmission with some answers changed
            changed = []
            for col in rng.choice(likert_ids, size=min(2, len(likert_ids)), replace=False):
                spec = likert[likert_ids.index(col)]
                old = out.at[row, col]
                choices = [v for v in spec.values if v != old]
                out.at[row, col] = float(rng.choice(choices))
                changed.append(str(col))
            record["changed_columns"] = sorted(changed)
        faults.append(record)
    empty_rows = np.flatnonzero(kind == 2)
    for row in empty_rows:
        wave = int(frame["wave"].iat[source[row]]) if n else 1
        out.loc[row, :] = np.nan
        faults.append({"fault": "empty_row", "row": int(row), "resident": None, "wave": wave})

    # Cell faults, in distinct answered likert cells of rows that are neither duplicated nor empty.
    eligible_rows = np.setdiff1d(position, np.concatenate([position[dup_src], empty_rows]))
    if likert_ids and len(eligible_rows):
        answered = out.loc[eligible_rows, likert_ids].notna().to_numpy()
        cells = np.flatnonzero(answered.ravel())
        plan = [("out_of_range", int(counts.get("out_of_range", 0)))]
        plan += [("missing_code", int(counts.get("missing_code", 0)))]
        plan += [("label_typo", int(counts.get("label_typo", 0)))]
        total = min(sum(k for _, k in plan), len(cells))
        picked = rng.choice(cells, size=total, replace=False)
        typo_columns: set[str] = set()
        cursor = 0
        for fault, k in plan:
            for m in range(k):
                if cursor >= total:
                    break
                cell = picked[cursor]
                cursor += 1
                row = int(eligible_rows[cell // len(likert_ids)])
                spec = likert[cell % len(likert_ids)]
                col, scale = spec.item.id, spec.item.scale
                original = int(out.at[row, col])
                record = {"fault": fault, **where(row), "column": col, "original": original}
                if fault == "out_of_range":
                    value: Any = scale.max + 2 if m % 2 == 0 else scale.min - 1
                    if value in scale.missing_codes:
                        value = scale.max + 3
                elif fault == "missing_code":
                    if not scale.missing_codes:
                        continue  # the scale declares none: nothing to add
                    value = next(iter(scale.missing_codes))
                    record["meaning"] = scale.missing_codes[value]
                else:
                    label = scale.label_for(original, spec.instrument.default_language)
                    value = _typo(label)
                    record["label"] = label
                    if col not in typo_columns:
                        codes = out[col]
                        as_object = codes.astype("Int64").astype(object)
                        as_object[codes.isna()] = np.nan
                        out[col] = as_object
                        typo_columns.add(col)
                out.at[row, col] = value if isinstance(value, str) or col in typo_columns else float(value)
                record["value"] = value
                faults.append(record)
    faults.sort(key=lambda f: (f["row"], f["fault"]))
    return out, faults


# --------------------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value a mapping key would be written as."""
    return value.item() if isinstance(value, np.generic) else value


def _ids(prefix: str | np.ndarray, sep: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Identifiers such as ``R0001`` or ``P01-C2``, built without a Python loop."""
    digits = np.char.zfill(np.asarray(numbers).astype(str), width)
    return np.char.add(np.char.add(prefix, sep), digits).astype(object)


def _frame_dict(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {str(i): {str(c): float(v) for c, v in row.items()} for i, row in frame.iterrows()}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "b":
            out[col] = out[col].astype(bool)
    return json.loads(out.to_json(orient="records", double_precision=15))


__all__ = [
    "DEFAULT_FACTOR_CORRELATIONS",
    "FAULTS",
    "SimulationDesign",
    "SimulationResult",
    "SimulationTruth",
    "simulate",
]


make_module_callable(__name__, simulate)
