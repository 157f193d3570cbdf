"""Examples of the SEM (confirmatory factor analysis) results, for the contract test."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

TWO = "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3"


def _items(n: int = 240, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2)) @ np.linalg.cholesky([[1, 0.4], [0.4, 1]]).T
    x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(size=(n, 6)) * 0.6
    return pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])


@cache
def _program_belonging() -> pd.DataFrame:
    from sdt_survey.simulate import simulate

    return simulate("program-belonging", seed=2, n_programs=6, residents_per_program=(30, 30)).responses


def cfa_result(folder: Path):
    """MLR with FIML: a respondent with no answers is left out, which the notes say."""
    from sdt_survey.factor.sem import cfa

    data = _items()
    data.loc[0, "a1"] = np.nan
    data.loc[1, :] = np.nan
    return cfa(data, TWO, estimator="MLR")


def ordinal_cfa_result(folder: Path):
    """WLSMV from a response file: carries the note that polychorics and WLSMV were used."""
    from sdt_survey.factor.sem import instrument_cfa

    return instrument_cfa("program-belonging", _program_belonging(), estimator="WLSMV", id_column="resident")


def invariance_result(folder: Path):
    """Invariance from a response file: carries the note on which wave was used."""
    from sdt_survey.factor.sem import instrument_invariance

    return instrument_invariance("program-belonging", _program_belonging(), "pgy", id_column="resident")


def latent_model_result(folder: Path):
    """A latent regression clustered in 12 programs: warns that so few clusters make robust SEs small."""
    from sdt_survey.factor.sem import latent_model

    rng = np.random.default_rng(8)
    data = _items(n=240).assign(program=np.repeat([f"P{i}" for i in range(12)], 20), x=rng.normal(size=240))
    return latent_model(data, TWO + "\nA ~ x", cluster="program")


def ordinal_invariance_result(folder: Path):
    """The ordinal (WLSMV) chain on the simulated items: five steps, a note when strict is left out."""
    from sdt_survey.factor.sem import ordinal_invariance

    data = _program_belonging()
    items = ["pb1", "pb2", "pb3", "pb4"]
    model = "belonging =~ " + " + ".join(items)
    return ordinal_invariance(
        data, model, "pgy", parameterization="delta", steps=("configural", "thresholds"), merge_empty=True
    )


def longitudinal_invariance_result(folder: Path):
    """Invariance across two waves of the same residents; some answered only the first (FIML, noted)."""
    from sdt_survey.factor.sem import longitudinal_invariance

    rng = np.random.default_rng(9)
    f = rng.multivariate_normal([0, 0.2], [[1, 0.5], [0.5, 1]], size=200)
    waves = [
        pd.DataFrame(
            3 + f[:, [k]] * 0.8 + rng.normal(size=(200, 3)) * 0.6, columns=["a1", "a2", "a3"]
        ).assign(resident=np.arange(200), wave=k + 1)
        for k in range(2)
    ]
    long = pd.concat([waves[0], waves[1].iloc[20:]], ignore_index=True)
    return longitudinal_invariance(long, "A =~ a1 + a2 + a3", id="resident", wave="wave", estimator="MLR")


def longitudinal_ordinal_result(folder: Path):
    """Ordinal items at two waves of the same residents by WLSMV; some missed wave 2 (dropped, noted)."""
    from sdt_survey.factor.sem import longitudinal_invariance

    rng = np.random.default_rng(9)
    f = rng.multivariate_normal([0, 0.2], [[1, 0.5], [0.5, 1]], size=300)
    waves = [
        pd.DataFrame(
            np.digitize(f[:, [k]] * 0.8 + rng.normal(size=(300, 3)) * 0.6, [-1.0, -0.3, 0.4, 1.1]) + 1,
            columns=["a1", "a2", "a3"],
        ).assign(resident=np.arange(300), wave=k + 1)
        for k in range(2)
    ]
    long = pd.concat([waves[0], waves[1].iloc[20:]], ignore_index=True)
    return longitudinal_invariance(long, "A =~ a1 + a2 + a3", id="resident", wave="wave", estimator="WLSMV")


EXAMPLES = {
    "sdt_survey.factor.sem.latent.LatentModelResult": latent_model_result,
    "sdt_survey.factor.sem.results.CFAResult": cfa_result,
    "sdt_survey.factor.sem.wlsmv.OrdinalCFAResult": ordinal_cfa_result,
    "sdt_survey.factor.sem.invariance.InvarianceResult": invariance_result,
    "sdt_survey.factor.sem.ordinal_invariance.OrdinalInvarianceResult": ordinal_invariance_result,
    "sdt_survey.factor.sem.longitudinal.LongitudinalInvarianceResult": longitudinal_invariance_result,
    "sdt_survey.factor.sem.longitudinal.LongitudinalOrdinalResult": longitudinal_ordinal_result,
}
