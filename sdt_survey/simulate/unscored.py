"""Answers to the items no score uses (exposure reports, yes/no, counts), drawn from the schedule."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..instrument import Item
from .design import SimulationDesign
from .schedule import _People, _Schedule


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
    # Items in OWN_STREAM draw their values (and their nonresponse) from ``rng_own`` instead, so that
    # adding one leaves every other simulated column as it was.
    rng_own: np.random.Generator | None = None
    eta: np.ndarray | None = None  # waves x residents x factors: the latent factors
    factors: Sequence[str] = ()
    coc_z: np.ndarray | None = None  # per resident: standardized Bice-Boxerman COC


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


#: How "would you choose this program again?" depends on belonging and continuity (log odds).
CHOOSE_AGAIN_INTERCEPT = 1.0
CHOOSE_AGAIN_BELONGING = 1.2  # per latent SD of program belonging
CHOOSE_AGAIN_CONTINUITY = 0.4  # per SD of COC, beyond what it does through belonging


def _gen_choose_again(item: Item, ctx: _Context) -> np.ndarray:
    """Yes more often with more program belonging (the latent factor of that wave) and more continuity."""
    if not _fits(item, (0, 1)):
        return _generic_item(item, ctx)
    rng = ctx.rng_own if ctx.rng_own is not None else ctx.rng
    logit = np.full(len(ctx.row_res), CHOOSE_AGAIN_INTERCEPT)
    if ctx.eta is not None and "program_belonging" in ctx.factors:
        k = list(ctx.factors).index("program_belonging")
        logit += CHOOSE_AGAIN_BELONGING * ctx.eta[ctx.row_wave, ctx.row_res, k]
    if ctx.coc_z is not None:
        logit += CHOOSE_AGAIN_CONTINUITY * ctx.coc_z[ctx.row_res]
    return (rng.random(len(ctx.row_res)) < 1 / (1 + np.exp(-logit))).astype(float)


#: Items drawn from their own random stream (values and nonresponse): added after other simulated
#: values were pinned by tests and goldens, which they must not move.
OWN_STREAM = frozenset({"choose_again"})

_GENERATORS: dict[str, Callable[[Item, _Context], np.ndarray]] = {
    "choose_again": _gen_choose_again,
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
