"""The measurement model: scored items, their factors, loadings, thresholds and correlations."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ..errors import DesignError
from ..instrument import SCORED_TYPES, Instrument, Item, load_instruments
from .design import (
    DEFAULT_FACTOR_CORRELATIONS,
    DEFAULT_LOADINGS,
    DEFAULT_OPPOSITE_VALENCE,
    DEFAULT_REVERSE_LOADING,
    DEFAULT_SAME_CONSTRUCT,
    DEFAULT_SAME_VALENCE,
    DEFAULT_THRESHOLD_SHIFTS,
    DEFAULT_THRESHOLD_SPAN,
    KNOWN_FACTORS,
    META_COLUMNS,
    VALENCE_SHIFT,
    SimulationDesign,
)

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
