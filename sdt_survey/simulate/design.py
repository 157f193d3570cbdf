"""The design of a simulation: every population parameter, its default and its checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .._finite import require_finite
from ..errors import DesignError
from ..results import jsonable

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


def _frame_dict(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {str(i): {str(c): float(v) for c, v in row.items()} for i, row in frame.iterrows()}
