"""Drawing a data set: :func:`simulate`, from a design and instruments to responses, schedule and truth."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import expressions
from .._memory import require_memory, simulation_bytes
from ..continuity.schedule import TIME_COLUMN
from ..errors import DesignError, UnknownParameterError
from ..instrument import Instrument
from .design import SimulationDesign
from .faults import _add_faults
from .model import _as_instruments, _build_model, _ItemSpec, _residual_covariance
from .result import SimulationResult
from .schedule import _draw_people, _draw_schedule
from .truth import _make_truth
from .unscored import _GENERATORS, OWN_STREAM, _Context, _generic_item


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
    # spawn(9)'s first 8 children are spawn(8)'s: the 9th stream (items in OWN_STREAM) moves nothing else.
    streams = np.random.SeedSequence(int(seed)).spawn(9)
    rng_people, rng_sched, rng_latent, rng_items, rng_extra, rng_attr, rng_missing, rng_messy, rng_own = (
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
    ctx = _Context(
        design,
        people,
        schedule,
        row_res,
        row_wave,
        window_total,
        window_assigned,
        rng_extra,
        rng_own=rng_own,
        eta=eta if n_factors else None,
        factors=model.factors,
        coc_z=coc_z,
    )
    for spec in model.specs:
        if spec.values is None:
            generator = _GENERATORS.get(spec.item.id, _generic_item)
            columns[spec.item.id] = generator(spec.item, ctx)

    # Item nonresponse: MCAR plus MAR by an observed variable.
    item_ids = [s.item.id for s in model.specs]
    shared = [item_id for item_id in item_ids if item_id not in OWN_STREAM]
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
    missing = dict(
        zip(shared, (rng_missing.random((n_rows, len(shared))) < p_missing[:, None]).T, strict=True)
    )
    for item_id in item_ids:
        if item_id not in missing:
            missing[item_id] = rng_own.random(n_rows) < p_missing
        column = columns[item_id]
        if column.dtype == object:
            column = column.copy()
            column[missing[item_id]] = np.nan
        else:
            column = np.where(missing[item_id], np.nan, column)
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
            TIME_COLUMN: np.datetime64(design.year_start, "D") + schedule.day.astype("timedelta64[D]"),
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


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value a mapping key would be written as."""
    return value.item() if isinstance(value, np.generic) else value
