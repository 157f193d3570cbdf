"""GLM families for mixed models: binomial (logit) and Poisson (log), as R's ``binomial()``, ``poisson()``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import ModelFormulaError

#: Families :func:`~sdt_survey.mixed.fit_model` takes.
FAMILIES: tuple[str, ...] = ("gaussian", "binomial", "poisson")

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Family:
    """A GLM family with its canonical link; every method is vectorized over observations.

    ``y`` is the response (a proportion for binomial), ``wt`` the prior weights
    (the number of trials for binomial successes/trials).

    Examples
    --------
    >>> fam = get_family("binomial")
    >>> float(fam.linkinv(np.array([0.0]))[0])
    0.5
    >>> round(fam.latent_variance(), 4)  # pi^2 / 3
    3.2899
    """

    name: str
    link: str

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            # R's binomial()$linkinv thresholds at eps.
            return np.clip(special.expit(eta), _EPS, 1 - _EPS)
        return np.maximum(np.exp(eta), _EPS)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.maximum(np.exp(-np.abs(eta)) / (1 + np.exp(-np.abs(eta))) ** 2, _EPS)
        return np.maximum(np.exp(eta), _EPS)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return mu * (1 - mu) if self.name == "binomial" else mu

    def dev_resids(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Deviance residuals (squared), as R's ``family$dev.resids``."""
        if self.name == "binomial":
            return 2 * wt * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))
        return 2 * wt * (special.xlogy(y, y / mu) - (y - mu))

    def kernel(self, y: np.ndarray, eta: np.ndarray, wt: np.ndarray) -> float:
        """The deviance up to a constant in ``y``, ``2 sum wt (b(eta) - y eta)`` (canonical links).

        Cheaper than :meth:`dev_resids` inside the penalized IRLS iterations, which only compare it.
        """
        b = np.logaddexp(0.0, eta) if self.name == "binomial" else np.exp(eta)
        return float(2 * np.dot(wt, b - y * eta))

    def working_weights(self, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """IRLS weights ``wt mu_eta^2 / V(mu)``: ``wt V(mu)`` for a canonical link."""
        return wt * self.variance(mu)

    def minus2loglik(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """``-2`` log-likelihood with its constants, as R's ``family$aic`` (without the 2p)."""
        if self.name == "binomial":
            n = np.round(wt)
            k = np.round(wt * y)
            logp = (
                special.gammaln(n + 1)
                - special.gammaln(k + 1)
                - special.gammaln(n - k + 1)
                + special.xlogy(k, mu)
                + special.xlog1py(n - k, -mu)
            )
            return float(-2 * np.sum(np.where(wt > 0, logp, 0.0)))
        logp = special.xlogy(y, mu) - mu - special.gammaln(y + 1)
        return float(-2 * np.sum(logp * wt))

    def latent_variance(self) -> float:
        """The distribution-specific variance of the binomial logit model, pi^2 / 3."""
        return math.pi**2 / 3


def get_family(name: str) -> Family:
    """The family called ``name`` (``"binomial"`` or ``"poisson"``).

    Examples
    --------
    >>> get_family("poisson").link
    'log'
    """
    key = str(name).lower()
    if key == "binomial":
        return Family("binomial", "logit")
    if key == "poisson":
        return Family("poisson", "log")
    raise ModelFormulaError(
        f"family {name!r} is not supported; use 'gaussian' (linear mixed model), 'binomial' "
        "(0/1 or successes/trials, logit link) or 'poisson' (counts, log link)"
    )


def outcome_family_hint(y: np.ndarray) -> str | None:
    """A warning for a 0/1 or count outcome fitted as a linear model, naming the family to use.

    Examples
    --------
    >>> outcome_family_hint(np.array([0.0, 1.0, 1.0]))[:30]
    'the response takes only the va'
    >>> outcome_family_hint(np.array([2.5, 3.0])) is None
    True
    """
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or not np.all(np.isfinite(y)):
        return None
    values = np.unique(y)
    if set(values.tolist()) <= {0.0, 1.0} and len(values) == 2:
        return (
            "the response takes only the values 0 and 1: a linear model of a binary outcome can predict "
            "outside 0-1; fit it with family='binomial' (--family binomial), a logistic mixed model"
        )
    if values[0] == 0 and np.all(values == np.round(values)) and values[-1] > 5:
        return (
            "the response is a count (non-negative whole numbers from 0): fit it with family='poisson' "
            "(--family poisson), a Poisson mixed model with a log link"
        )
    return None
