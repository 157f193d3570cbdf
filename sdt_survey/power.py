"""Monte-Carlo power for the continuity effect (and cohort differences) in a planned design.

Each replicate runs the whole analysis on data with a known truth:
:func:`sdt_survey.simulate.simulate` draws residents in programs, their clinic
schedule and their answers to ``bpn-residency``; the answers are scored (the
vectorized core, :func:`~sdt_survey.scoring.reverse_key` and
:func:`~sdt_survey.scoring.subscale_scores`); each resident's Bice-Boxerman
continuity-of-care index (COC) is computed from the schedule; the multilevel
model ``relatedness_satisfaction ~ coc + pgy + (1|program)`` (with
``(1|program/resident)`` for several waves) is fitted with
:func:`sdt_survey.mixed.fit_model`, and the replicate records whether the
continuity effect (Wald z on ``coc``, a t test on Satterthwaite or
Kenward-Roger df, or the likelihood-ratio test) and the cohort difference
(the same test on ``pgy``: in one academic year the entering cohort is
``year - pgy + 1``) are significant.

Grid parameters (any other :class:`~sdt_survey.simulate.SimulationDesign`
field is passed through):

``n_programs``
    Programs (default 14).
``residents_per_program``
    Residents in each program: an int (all programs the same size) or ``(low, high)`` (default 30).
``n_waves``
    Survey waves (default 1).
``effect``
    Continuity effect on latent relatedness satisfaction, in latent SDs per
    SD of COC (default 0.3, the simulator's default).
``icc``
    Program ICC of latent relatedness satisfaction (the latent variance is
    1): the simulator's program SD is ``sqrt(icc)`` (default 0.09, i.e. SD 0.3).
    Clinic effects are switched off so that ICC is the only clustering.
``cohort_effect``
    Latent difference per PGY year (cohort), default 0.

Every replicate's seed comes from a :class:`numpy.random.SeedSequence`
spawned per grid cell and replicate, so results are identical whichever
backend runs them (sequential, joblib processes, or a Dask cluster).

Examples
--------
>>> result = power_analysis({"n_programs": [4]}, n_replicates=2, seed=1, n_jobs=1,
...                         residents_per_program=8)
>>> result.table[["n_programs", "n_replicates", "n_fitted"]].to_dict("records")
[{'n_programs': 4, 'n_replicates': 2, 'n_fitted': 2}]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._finite import require_finite
from ._memory import require_memory, simulation_bytes
from ._plots import finish_figure, pyplot
from ._progress import progress
from .errors import DesignError, PowerError, SdtSurveyError
from .results import Result, jsonable

#: Defaults of the grid parameters that are not SimulationDesign fields as such.
POWER_DEFAULTS: dict[str, Any] = {
    "n_programs": 14,
    "residents_per_program": 30,
    "n_waves": 1,
    "effect": 0.3,
    "icc": 0.09,
    "cohort_effect": 0.0,
}
#: The factor (subscale) whose relation with continuity is tested.
OUTCOME = "relatedness_satisfaction"
#: Optimizers of the power fits (fewer than fit_model's default; the criterion is always checked).
POWER_OPTIMIZERS = ("bfgs", "lbfgs", "nm")
#: The tests of the continuity effect, and the ddf method of fit_model each one uses.
POWER_TESTS: dict[str, str] = {
    "wald": "none",
    "satterthwaite": "Satterthwaite",
    "kenward-roger": "Kenward-Roger",
    "lrt": "none",
}


# --------------------------------------------------------------------------- designs


def _design_fields() -> set[str]:
    from .simulate import SimulationDesign

    return {f.name for f in dataclasses.fields(SimulationDesign)}


def design_for(cell: Mapping[str, Any]):
    """The :class:`~sdt_survey.simulate.SimulationDesign` of one grid cell.

    Examples
    --------
    >>> design = design_for({"n_programs": 6, "residents_per_program": 20, "icc": 0.04, "effect": 0.2})
    >>> design.n_programs, design.residents_per_program, design.program_sd
    (6, (20, 20), {'relatedness_satisfaction': 0.2})
    >>> design.continuity_effects
    {'relatedness_satisfaction': 0.2}
    """
    from .simulate import SimulationDesign

    values = {**POWER_DEFAULTS, **cell}
    # NaN passes `0 <= icc < 1`-style checks by failing every comparison; refuse it by name.
    for name in ("icc", "effect", "cohort_effect"):
        require_finite(values[name], name, PowerError)
    icc = float(values.pop("icc"))
    if not 0 <= icc < 1:
        raise PowerError(f"icc must be in [0, 1), got {icc}")
    effect = float(values.pop("effect"))
    cohort = float(values.pop("cohort_effect"))
    size = values.pop("residents_per_program")
    size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
    fields = _design_fields()
    unknown = sorted(set(values) - fields)
    if unknown:
        raise PowerError(
            f"unknown power parameter(s) {', '.join(unknown)}; use {', '.join(POWER_DEFAULTS)} "
            "or SimulationDesign fields"
        )
    values.setdefault("clinic_sd", {})
    try:
        return SimulationDesign(
            residents_per_program=size,
            program_sd={OUTCOME: math.sqrt(icc)},
            continuity_effects={OUTCOME: effect},
            pgy_effects={OUTCOME: cohort},
            **values,
        )
    except (TypeError, DesignError) as exc:
        raise PowerError(f"grid cell {dict(cell)}: {exc}") from None


def coc_from_schedule(schedule: pd.DataFrame) -> pd.Series:
    """Bice-Boxerman COC of each resident from a clinic schedule (one row per session).

    ``COC = (Σ n_j² - N) / (N (N - 1))`` over the faculty members ``j`` seen
    ``n_j`` times in ``N`` sessions; missing for fewer than 2 sessions.

    Examples
    --------
    >>> s = pd.DataFrame({"resident": ["a"] * 4 + ["b"] * 2, "faculty": ["x", "x", "x", "y", "x", "y"]})
    >>> coc_from_schedule(s).round(3).to_dict()
    {'a': 0.5, 'b': 0.0}
    """
    from .continuity import indices_from_codes

    resident_codes, residents = pd.factorize(schedule["resident"], sort=True)
    faculty_codes = pd.factorize(schedule["faculty"])[0]
    indices = indices_from_codes(resident_codes, faculty_codes, n_groups=len(residents))
    return pd.Series(
        indices["coc"].to_numpy(dtype=float), index=pd.Index(residents, name="resident"), name="coc"
    )


# --------------------------------------------------------------------------- one replicate


def simulate_analysis_data(
    cell: Mapping[str, Any], seed: int, instrument: Any = "bpn-residency", outcome_only: bool = True
) -> pd.DataFrame:
    """Simulate, score and compute COC for one replicate: the data the model is fitted to.

    ``outcome_only`` simulates only the outcome's subscale (see :func:`outcome_instrument`).

    Returns
    -------
    pandas.DataFrame
        ``resident``, ``program``, ``pgy``, ``wave``, ``relatedness_satisfaction``, ``coc``.
    """
    from .scoring import reverse_key, subscale_scores
    from .simulate import simulate

    instruments = _instruments(instrument, outcome_only)
    sim = simulate(list(instruments), seed=int(seed), design=design_for(cell))
    responses = sim.responses
    scores = subscale_scores(reverse_key(responses, instruments), instruments)
    coc = coc_from_schedule(sim.schedule)
    return pd.DataFrame(
        {
            "resident": responses["resident"].to_numpy(dtype=object),
            "program": responses["program"].to_numpy(dtype=object),
            "pgy": responses["pgy"].to_numpy(dtype=float),
            "wave": responses["wave"].to_numpy(dtype=float),
            OUTCOME: scores[OUTCOME].to_numpy(dtype=float),
            "coc": coc.reindex(responses["resident"]).to_numpy(dtype=float),
        }
    )


_LOADED: dict[tuple[str, bool], tuple] = {}


def outcome_instrument(instrument: Any) -> Any:
    """The instrument cut down to the outcome's subscale (its items, its sections, no composites).

    The simulator then draws only the relatedness-satisfaction factor and its
    items: the same latent model for the outcome (unit variance; program,
    continuity and PGY effects) at a fraction of the cost of the whole
    instrument. Item thresholds follow the items' positions in the cut-down
    instrument, so the codes differ slightly from a full-instrument simulation.

    Examples
    --------
    >>> import sdt_survey
    >>> small = outcome_instrument(sdt_survey.load_instrument("bpn-residency"))
    >>> small.item_ids, list(small.subscales)
    (['rs1', 'rs2', 'rs3', 'rs4'], ['relatedness_satisfaction'])
    """
    if OUTCOME not in instrument.subscales:
        raise PowerError(f"instrument {instrument.id} has no {OUTCOME} subscale")
    sub = instrument.subscales[OUTCOME]
    items = tuple(i for i in instrument.items if i.id in sub.items)
    sections = tuple(
        dataclasses.replace(s, items=tuple(x for x in s.items if x in sub.items)) for s in instrument.sections
    )
    return dataclasses.replace(
        instrument,
        items=items,
        subscales={OUTCOME: sub},
        composites={},
        sections=tuple(s for s in sections if s.items),
    )


def _instruments(instrument: Any, outcome_only: bool = True) -> tuple:
    """Load an instrument once per process (a name is parsed from YAML only the first time)."""
    from .instrument import load_instruments

    key = (instrument, outcome_only) if isinstance(instrument, str) else None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    loaded = tuple(load_instruments(instrument))
    if outcome_only:
        if len(loaded) != 1:
            raise PowerError("outcome_only needs a single instrument")
        loaded = (outcome_instrument(loaded[0]),)
    if key is not None:
        _LOADED[key] = loaded
    return loaded


def power_formula(n_waves: int) -> str:
    """The model fitted in each replicate."""
    if n_waves > 1:
        return f"{OUTCOME} ~ coc + pgy + wave + (1|program/resident)"
    return f"{OUTCOME} ~ coc + pgy + (1|program)"


def _replicate(
    cell: Mapping[str, Any], seed: int, test: str, alpha: float, instrument: Any, outcome_only: bool = True
) -> dict[str, Any]:
    from .mixed import fit_model

    out: dict[str, Any] = {"seed": int(seed)}
    started = time.perf_counter()
    try:
        data = simulate_analysis_data(cell, seed, instrument, outcome_only)
        n_waves = int({**POWER_DEFAULTS, **cell}["n_waves"])
        result = fit_model(
            power_formula(n_waves),
            data,
            lrt=test == "lrt",
            null_model=False,
            curve=False,
            exposure="coc",
            optimizers=POWER_OPTIMIZERS,
            ddf=POWER_TESTS[test],
        )
        fixed = result.fixed
        # "p" is the chosen small-sample test's (the Wald p with ddf "none").
        p_coc = result.lrt.pvalue if test == "lrt" else float(fixed.loc["coc", "p"])
        out.update(
            n_obs=result.n_obs,
            estimate=float(fixed.loc["coc", "estimate"]),
            se=float(fixed.loc["coc", "se"]),
            pvalue=float(p_coc),
            significant=bool(p_coc < alpha),
            cohort_estimate=float(fixed.loc["pgy", "estimate"]),
            cohort_pvalue=float(fixed.loc["pgy", "p"]),
            cohort_significant=bool(fixed.loc["pgy", "p"] < alpha),
            icc_estimate=float(result.icc_by_group.get("program", np.nan)),
            singular=bool(result.singular),
            converged=bool(result.converged),
            error=None,
        )
    except (SdtSurveyError, np.linalg.LinAlgError, ValueError) as exc:
        out.update(error=f"{type(exc).__name__}: {exc}".splitlines()[0], significant=None)
    out["seconds"] = time.perf_counter() - started
    return out


def _run_chunk(task: tuple) -> list[dict[str, Any]]:
    """Run the replicates of one task (picklable; used by every backend)."""
    cell_index, cell, replicates, seeds, test, alpha, instrument, outcome_only = task
    rows = []
    for rep, seed in zip(replicates, seeds, strict=True):
        row = _replicate(cell, seed, test, alpha, instrument, outcome_only)
        rows.append({"cell": cell_index, "replicate": rep, **row})
    return rows


# --------------------------------------------------------------------------- results


@dataclass
class PowerResult(Result):
    """Monte-Carlo power over a grid of designs.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per grid cell: the grid parameters, ``n_replicates``,
        ``n_fitted`` (replicates whose fit succeeded; power is over these),
        ``power`` and ``power_mcse`` (Monte-Carlo SE, ``sqrt(p (1 - p) / n)``)
        for the continuity effect, ``power_cohort`` and ``power_cohort_mcse``,
        ``mean_estimate`` and ``sd_estimate`` of the COC coefficient,
        ``share_singular``, ``n_failed`` and ``seconds`` (compute time of the cell).
    replicates : pandas.DataFrame
        One row per replicate: cell, replicate, seed, estimate, se, pvalue, significant...
    grid : dict
        The grid as given.
    settings : dict
        n_replicates, seed, alpha, test, backend, instrument.
    seconds : float
        Wall-clock time of the whole grid.
    warnings : list of str
        Replicates that failed, cells with too few fits.
    notes : list of str
        What a reader must know about the run.
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    grid: dict[str, list[Any]]
    settings: dict[str, Any]
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The power table, one row per grid cell (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Grid, settings, the power table and the messages, through :func:`~sdt_survey.results.jsonable`."""
        table = self.table.astype(object).where(self.table.notna(), None)
        return jsonable(
            {
                "grid": self.grid,
                "settings": self.settings,
                "table": table.to_dict("records"),
                "seconds": self.seconds,
                "warnings": self.warnings,
                "notes": self.notes,
            }
        )

    def summary(self) -> str:
        """The settings in one line, then the power table."""
        s = self.settings
        named = {
            "wald": ("Wald z", "Wald z"),
            "lrt": ("likelihood-ratio test", "Wald z"),
            "satterthwaite": ("t test on Satterthwaite df", "the same test"),
            "kenward-roger": ("t test on Kenward-Roger df", "the same test"),
        }
        coc_test, cohort_test = named.get(s["test"], (s["test"], s["test"]))
        lines = [
            f"Monte-Carlo power ({s['n_replicates']} replicates per cell, alpha {s['alpha']}, "
            f"{coc_test} of coc; cohort: {cohort_test} of pgy), "
            f"seed {s['seed']}, {s['backend']}, {self.seconds:.1f} s"
        ]
        keys = list(self.grid)
        shown = self.table[[*keys, "n_fitted", "power", "power_mcse", "power_cohort", "mean_estimate"]]
        lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(
        self,
        path: str | Path | None = None,
        *,
        x: str | None = None,
        by: str | None = None,
        y: str = "power",
        overwrite: bool = False,
    ):
        """Power curve: ``y`` against ``x`` (default the first grid parameter with several values),
        one line per value of ``by``, with ±1.96 Monte-Carlo SE bars and the 0.8 line.

        ``path`` is written atomically; an existing file is replaced only with ``overwrite=True``."""
        plt = pyplot()
        varying = [k for k, v in self.grid.items() if len(v) > 1]
        x = x or (varying[0] if varying else next(iter(self.grid)))
        if by is None:
            others = [k for k in varying if k != x]
            by = others[0] if others else None
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        groups = [(None, self.table)] if by is None else list(self.table.groupby(by, sort=True))
        se_column = f"{y}_mcse"
        for value, part in groups:
            part = part.sort_values(x)
            xs = [str(v) if isinstance(v, (tuple, list)) else v for v in part[x]]
            err = 1.96 * part[se_column] if se_column in part else None
            label = None if by is None else f"{by} = {value}"
            ax.errorbar(xs, part[y], yerr=err, marker="o", capsize=3, label=label)
        ax.axhline(0.8, color="0.5", linestyle="--", linewidth=1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(x)
        ax.set_ylabel(y.replace("_", " "))
        ax.set_title(f"Monte-Carlo power ({self.settings['n_replicates']} replicates per point)")
        if by is not None:
            ax.legend(frameon=False)
        return finish_figure(fig, path, overwrite=overwrite)


# --------------------------------------------------------------------------- driver


def _cells(grid: Mapping[str, Sequence]) -> list[dict[str, Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise PowerError("grid must be a non-empty mapping of parameter -> list of values")
    keys = list(grid)
    values = []
    for key in keys:
        v = grid[key]
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) == 0:
            raise PowerError(f"grid[{key!r}] must be a non-empty list of values")
        values.append(list(v))
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def replicate_seeds(seed: int, n_cells: int, n_replicates: int) -> list[list[int]]:
    """Seeds of every replicate: ``SeedSequence(seed)`` spawned per cell, then per replicate.

    Examples
    --------
    >>> a = replicate_seeds(0, 2, 3)
    >>> len(a), len(a[0]), a == replicate_seeds(0, 2, 3)
    (2, 3, True)
    """
    root = np.random.SeedSequence(int(seed))
    return [
        [int(s.generate_state(1, dtype=np.uint32)[0]) for s in cell.spawn(n_replicates)]
        for cell in root.spawn(n_cells)
    ]


def power_analysis(
    grid: Mapping[str, Sequence],
    *,
    n_replicates: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    n_jobs: int = -1,
    dask_scheduler: str | Any | None = None,
    test: str = "satterthwaite",
    instrument: Any = "bpn-residency",
    outcome_only: bool = True,
    chunk_size: int | None = None,
    **fixed: Any,
) -> PowerResult:
    """Monte-Carlo power of the continuity effect (and cohort differences) over a grid of designs.

    Parameters
    ----------
    grid : mapping of parameter -> sequence
        Values to cross, e.g. ``{"n_programs": [8, 14, 20], "effect": [0.2, 0.3]}``;
        see the module docstring for the parameters.
    n_replicates : int
        Simulated data sets per grid cell.
    seed : int
        Root seed; the same seed gives the same results on every backend.
    alpha : float
        Significance level.
    n_jobs : int
        joblib workers on this machine (``-1``: all cores, ``1``: in this process).
    dask_scheduler : str or distributed.Client, optional
        Address of an existing Dask scheduler (``"tcp://host:8786"``) or a
        Client: run the replicates on that cluster instead.
    test : {"wald", "satterthwaite", "kenward-roger", "lrt"}
        Test of the continuity effect (and of the cohort difference): a t
        test on Satterthwaite (default, as lmerTest's ``summary()``) or
        Kenward-Roger degrees of freedom, Wald z of ``coc`` (with few
        programs it rejects too often, so its power is overstated), or the
        likelihood-ratio test (two ML refits; slower; the cohort then by Wald z).
    instrument : str or Instrument
        Instrument simulated (default ``bpn-residency``).
    outcome_only : bool
        Simulate only the items of relatedness satisfaction (default; faster,
        same latent model for the outcome; see :func:`outcome_instrument`).
    chunk_size : int, optional
        Replicates per task (default: enough tasks for the workers, at most 25 per task).
    **fixed
        Parameters held constant over the grid (e.g. ``residents_per_program=25``).

    Returns
    -------
    PowerResult
    """
    started = time.perf_counter()
    if test not in POWER_TESTS:
        raise PowerError(f"test must be one of {', '.join(map(repr, POWER_TESTS))}, got {test!r}")
    if not (isinstance(n_replicates, (int, np.integer)) and n_replicates >= 1):
        raise PowerError(f"n_replicates must be a positive integer, got {n_replicates!r}")
    if not 0 < alpha < 1:
        raise PowerError(f"alpha must be in (0, 1), got {alpha}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise PowerError(
            f"n_jobs must be a whole number of workers >= 1, or -1 for all cores (-2 all but one), "
            f"got {n_jobs!r}"
        )
    overlap = set(grid) & set(fixed)
    if overlap:
        raise PowerError(f"{', '.join(sorted(overlap))} given both in the grid and as a fixed value")
    cells = [{**fixed, **cell} for cell in _cells(grid)]
    workers = _n_workers(n_jobs, dask_scheduler)
    n_items = sum(len(inst.items) for inst in _instruments(instrument, outcome_only))
    for cell in cells:  # fail before any work if a cell is impossible
        design = design_for(cell)  # the cell's own design must be valid (e.g. n_programs >= 1)
        # Each local worker holds one replicate's data set at a time; a Dask worker holds its own.
        holding = 1 if dask_scheduler is not None else min(workers, n_replicates)
        try:
            require_memory(
                holding * simulation_bytes(design, n_items),
                f"grid cell {cell} ({holding} replicate(s) at once, {design.n_programs:,} programs "
                f"of up to {design.residents_per_program[1]:,} residents)",
            )
        except DesignError as exc:
            raise PowerError(str(exc)) from None
        probe = {**cell, "n_programs": 1, "residents_per_program": 2}
        try:
            from .simulate import simulate

            simulate(list(_instruments(instrument, outcome_only)), seed=0, design=design_for(probe))
        except DesignError as exc:
            raise PowerError(f"grid cell {cell}: {exc}") from None
    seeds = replicate_seeds(seed, len(cells), int(n_replicates))
    if chunk_size is None:
        total = len(cells) * n_replicates
        chunk_size = int(min(25, max(1, math.ceil(total / (4 * workers)))))
    tasks = []
    for c, cell in enumerate(cells):
        for start in range(0, n_replicates, chunk_size):
            reps = list(range(start, min(start + chunk_size, n_replicates)))
            tasks.append(
                (c, cell, reps, [seeds[c][r] for r in reps], test, float(alpha), instrument, outcome_only)
            )

    if dask_scheduler is not None:
        backend = "dask"
        chunks = _run_dask(tasks, dask_scheduler)
    elif n_jobs == 1:
        backend = "sequential"
        chunks = list(_counted(map(_run_chunk, tasks), tasks))
    else:
        from joblib import Parallel, delayed

        backend = f"joblib ({workers} workers)"
        run = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_run_chunk)(t) for t in tasks)
        chunks = list(_counted(run, tasks))
    rows = [row for chunk in chunks for row in chunk]
    replicates = pd.DataFrame(rows).sort_values(["cell", "replicate"]).reset_index(drop=True)
    table = _summarise(cells, list(grid), replicates, int(n_replicates))
    warns = []
    failed = int(table["n_failed"].sum())
    if failed:
        example = replicates.loc[replicates["error"].notna(), "error"].iloc[0]
        warns.append(
            f"{failed} replicate fit(s) failed and are left out of the power (e.g. {example}); "
            "see the n_failed column"
        )
    return PowerResult(
        table=table,
        replicates=replicates,
        grid={k: list(v) for k, v in grid.items()},
        settings={
            "n_replicates": int(n_replicates),
            "seed": int(seed),
            "alpha": float(alpha),
            "test": test,
            "backend": backend,
            "instrument": getattr(instrument, "id", instrument),
            "outcome_only": outcome_only,
            "fixed": {k: (list(v) if isinstance(v, tuple) else v) for k, v in fixed.items()},
        },
        seconds=time.perf_counter() - started,
        warnings=warns,
        notes=[
            f"power is the share of fitted replicates whose test of coc has p < {float(alpha):g}; "
            "power_mcse is its Monte-Carlo standard error"
        ],
    )


def _counted(chunks: Iterator[list], tasks: list) -> Iterator[list]:
    """The chunks as they finish, counted in replicates on a progress bar (on a terminal only)."""
    total = sum(len(task[2]) for task in tasks)
    with progress("Power: simulated replicates", total=total, unit="replicate") as bar:
        for task, chunk in zip(tasks, chunks, strict=True):
            yield chunk
            bar.update(len(task[2]))


def _n_workers(n_jobs: int, dask_scheduler: Any) -> int:
    if dask_scheduler is not None:
        return 4
    if n_jobs is None or n_jobs < 0:
        import os

        return max(1, (os.cpu_count() or 1) + 1 + (n_jobs or -1))
    return max(1, int(n_jobs))


def _check_dask_address(address: Any) -> None:
    """Refuse a malformed scheduler address before a Client is made.

    A Client built from a malformed address fails, and then blocks for 20 s
    while being garbage-collected; checking the address first avoids both.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(str(address))
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise PowerError(
            f"{address!r} is not a Dask scheduler address ({exc}); write it as tcp://HOST:PORT"
        ) from None


#: Seconds to wait for a Dask scheduler to answer before giving up with a message (not a hang).
DASK_CONNECT_TIMEOUT = 10


def _run_dask(tasks: list, scheduler: Any) -> list[list[dict[str, Any]]]:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the environment
        raise PowerError(
            "dask_scheduler needs the distributed package: pip install 'dask[distributed]'"
        ) from None
    own = not isinstance(scheduler, Client)
    if own:
        _check_dask_address(scheduler)
    try:
        client = Client(scheduler, set_as_default=False, timeout=DASK_CONNECT_TIMEOUT) if own else scheduler
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise PowerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        futures = client.map(_run_chunk, tasks, pure=False)
        return client.gather(futures)
    finally:
        if own:
            client.close()


def _summarise(cells: list[dict[str, Any]], keys: list[str], reps: pd.DataFrame, n: int) -> pd.DataFrame:
    rows = []
    for c, cell in enumerate(cells):
        part = reps[reps["cell"] == c]
        ok = part[part["error"].isna()] if "error" in part else part
        k = len(ok)

        def rate(column: str, ok=ok, k=k) -> tuple[float, float]:
            if k == 0:
                return float("nan"), float("nan")
            p = float(ok[column].astype(bool).mean())
            return p, math.sqrt(p * (1 - p) / k)

        power, mcse = rate("significant")
        cohort, cohort_mcse = rate("cohort_significant") if k else (float("nan"), float("nan"))
        row = {key: cell[key] for key in keys}
        row.update(
            n_replicates=n,
            n_fitted=k,
            power=power,
            power_mcse=mcse,
            power_cohort=cohort,
            power_cohort_mcse=cohort_mcse,
            mean_estimate=float(ok["estimate"].mean()) if k else float("nan"),
            sd_estimate=float(ok["estimate"].std(ddof=1)) if k > 1 else float("nan"),
            mean_se=float(ok["se"].mean()) if k else float("nan"),
            share_singular=float(ok["singular"].astype(bool).mean()) if k else float("nan"),
            n_failed=len(part) - k,
            seconds=float(part["seconds"].sum()),
        )
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "POWER_DEFAULTS",
    "PowerError",
    "PowerResult",
    "coc_from_schedule",
    "design_for",
    "outcome_instrument",
    "power_analysis",
    "power_formula",
    "replicate_seeds",
    "simulate_analysis_data",
]
