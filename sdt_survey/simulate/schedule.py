"""Residents in clinics in programs, and their year of clinic sessions with faculty (the exposure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..continuity import indices_from_codes
from .design import SimulationDesign

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


def _ids(prefix: str | np.ndarray, sep: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Identifiers such as ``R0001`` or ``P01-C2``, built without a Python loop."""
    digits = np.char.zfill(np.asarray(numbers).astype(str), width)
    return np.char.add(np.char.add(prefix, sep), digits).astype(object)
