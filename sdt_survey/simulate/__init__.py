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

Modules:

- :mod:`~sdt_survey.simulate.design`: :class:`SimulationDesign`, every parameter and its default;
- :mod:`~sdt_survey.simulate.model`: the measurement model of the instruments' scored items;
- :mod:`~sdt_survey.simulate.schedule`: residents, clinics, programs and their clinic schedule;
- :mod:`~sdt_survey.simulate.unscored`: answers to the items no score uses;
- :mod:`~sdt_survey.simulate.faults`: the faults of a messy export;
- :mod:`~sdt_survey.simulate.truth`: the truth returned beside the data;
- :mod:`~sdt_survey.simulate.result`: :class:`SimulationResult` and :class:`SimulationTruth`;
- :mod:`~sdt_survey.simulate.generate`: :func:`simulate`, which runs them all.

Calling the package itself (``sdt_survey.simulate(...)``) still works, but is
deprecated: call :func:`sdt_survey.simulate.simulate`.

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

from .._callable import make_module_callable
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DEFAULT_FACTOR_CORRELATIONS": ".design",
        "FAULTS": ".design",
        "SimulationDesign": ".design",
        "simulate": ".generate",
        "SimulationResult": ".result",
        "SimulationTruth": ".result",
    },
)

__all__ = [
    "DEFAULT_FACTOR_CORRELATIONS",
    "FAULTS",
    "SimulationDesign",
    "SimulationResult",
    "SimulationTruth",
    "simulate",
]


make_module_callable(
    __name__,
    "simulate",
    deprecated="calling the module sdt_survey.simulate(...) is deprecated; call the function "
    "sdt_survey.simulate.simulate(...) (from sdt_survey.simulate import simulate)",
)
