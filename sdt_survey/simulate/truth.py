"""The truth a simulation returns: every parameter that generated the data, and population reliabilities."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..instrument import Instrument
from .design import SimulationDesign
from .model import _ItemSpec, _Model
from .result import SimulationTruth
from .schedule import _People

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
