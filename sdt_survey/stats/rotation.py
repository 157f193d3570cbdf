"""Factor rotations, ported from R so that they reproduce psych::fa.

Every function takes an unrotated loading matrix (items x factors) and
returns a :class:`Rotation`. The algorithms, starting points, tolerances and
iteration limits are R's:

==============  ==================================================================
``varimax``     ``stats::varimax`` (Kaiser normalization, ``eps = 1e-5``), which
                psych::fa uses for ``rotate = "varimax"``.
``oblimin``     ``GPArotation::oblimin`` (``gam = 0``, i.e. quartimin): gradient
                projection (GPFoblq) from the identity, unnormalized,
                ``eps = 1e-5``, ``maxit = 1000``.
``geominQ``     ``GPArotation::geominQ`` (oblique, ``delta = 0.01``), GPFoblq.
``geominT``     ``GPArotation::geominT`` (orthogonal, ``delta = 0.01``), GPForth.
``quartimax``   ``GPArotation::quartimax`` (orthogonal), GPForth.
``bentlerT``    ``GPArotation::bentlerT``: Bentler's invariant pattern simplicity
                criterion, orthogonal (GPForth).
``bentlerQ``    ``GPArotation::bentlerQ``: the same criterion, oblique (GPFoblq).
``bifactor``    psych's ``bifactor`` (Jennrich & Bentler's orthogonal bi-quartimin):
                GPForth with quartimin on every factor but the first (the general
                factor), times 4 as psych writes it; three factors or more.
``biquartimin`` psych's ``biquartimin``: the same criterion, oblique (GPFoblq).
``promax``      psych's ``promax``: ``kaiser(rotate = "Promax")``, i.e. rows
                normalized to unit length, ``stats::varimax``, the target
                ``x * |x|^(m - 1)`` with ``m = 4``, a least-squares fit to it,
                columns rescaled so that the factors have unit variance, and the
                rows de-normalized.
==============  ==================================================================

This module depends on numpy only; :mod:`sdt_survey.reliability` uses its
varimax and oblimin for the Schmid-Leiman solution.

Examples
--------
>>> import numpy as np
>>> a = np.array([[.8, .3], [.7, .4], [.6, .3], [.3, .7], [.2, .8], [.3, .6]])
>>> rot = rotate(a, "oblimin")
>>> rot.loadings.round(2).tolist()[0], round(float(rot.phi[0, 1]), 2)
([0.89, -0.06], 0.66)
>>> rotate(a, "varimax").phi is None
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Criterion = Callable[[np.ndarray], tuple[np.ndarray, float]]


@dataclass(frozen=True, eq=False)
class Rotation:
    """A rotated solution.

    Attributes
    ----------
    loadings : ndarray
        Rotated pattern loadings (items x factors).
    phi : ndarray or None
        Factor correlations of an oblique rotation; ``None`` when orthogonal.
    rotmat : ndarray
        The transformation ``T`` with ``loadings = unrotated @ T`` (psych's
        ``rot.mat``).
    method : str
    converged : bool
    """

    loadings: np.ndarray
    phi: np.ndarray | None
    rotmat: np.ndarray
    method: str
    converged: bool = True


# --------------------------------------------------------------------------- varimax


def varimax(
    x: np.ndarray, *, normalize: bool = True, eps: float = 1e-5, maxit: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """``stats::varimax``: rotated loadings and the rotation matrix.

    Parameters
    ----------
    x : ndarray
        Loadings, items x factors.
    normalize : bool
        Kaiser normalization (rows scaled to unit length during the rotation).
    eps, maxit
        R's convergence tolerance (relative change of the criterion) and its
        fixed limit of 1000 iterations.

    Returns
    -------
    loadings, rotmat : ndarray

    Examples
    --------
    >>> a = np.array([[.8, .3], [.7, .4], [.3, .7], [.2, .8]])
    >>> load, t = varimax(a)
    >>> np.allclose(load, a @ t)
    True
    """
    x = np.asarray(x, dtype=float)
    p, k = x.shape
    if k < 2:
        return x.copy(), np.eye(k)
    sc = np.sqrt((x**2).sum(axis=1)) if normalize else np.ones(p)
    xn = x / sc[:, None]
    rot = np.eye(k)
    d = 0.0
    for _ in range(maxit):
        z = xn @ rot
        b = xn.T @ (z**3 - z * (z**2).sum(axis=0) / p)
        u, s, vt = np.linalg.svd(b)
        rot = u @ vt
        d_past, d = d, float(s.sum())
        if d < d_past * (1 + eps):
            break
    return (xn @ rot) * sc[:, None], rot


# --------------------------------------------------------------------------- GPA criteria


def oblimin_criterion(gam: float = 0.0) -> Criterion:
    """``GPArotation:::vgQ.oblimin``: gradient and value of the oblimin criterion."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        k = lam.shape[1]
        xm = (lam**2) @ (1 - np.eye(k))
        if gam:
            p = lam.shape[0]
            xm = xm - (gam / p) * xm.sum(axis=0)
        return lam * xm, float(np.sum(lam**2 * xm) / 4)

    return vgq


def geomin_criterion(delta: float = 0.01) -> Criterion:
    """``GPArotation:::vgQ.geomin``: gradient and value of the geomin criterion."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        k = lam.shape[1]
        l2 = lam**2 + delta
        pro = np.exp(np.log(l2).sum(axis=1) / k)
        return (2 / k) * (lam / l2) * pro[:, None], float(pro.sum())

    return vgq


def quartimax_criterion() -> Criterion:
    """``GPArotation:::vgQ.quartimax``: ``f = -sum(L^4) / 4``, gradient ``-L^3``."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        return -(lam**3), float(-np.sum(lam**4) / 4)

    return vgq


def bentler_criterion() -> Criterion:
    """``GPArotation:::vgQ.bentler``: Bentler's invariant pattern simplicity criterion.

    ``f = -(log det M - log det diag(M)) / 4`` with ``M = (L^2)'(L^2)``.
    """

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        l2 = lam**2
        m = l2.T @ l2
        d = np.diag(m)
        gq = -lam * (l2 @ (np.linalg.inv(m) - np.diag(1.0 / d)))
        return gq, float(-(np.linalg.slogdet(m)[1] - np.sum(np.log(d))) / 4)

    return vgq


def bifactor_criterion() -> Criterion:
    """psych's ``vgQ.bimin``: quartimin (times 4) on factors 2..k; the first, general factor is free."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        grp = lam[:, 1:]
        l2 = grp**2
        l2n = l2.sum(axis=1, keepdims=True) - l2  # L2 %*% (1 - I)
        gq = np.zeros_like(lam)
        gq[:, 1:] = 4 * grp * l2n
        return gq, float(np.sum(l2 * l2n))

    return vgq


# --------------------------------------------------------------------------- GPA algorithms


def gpf_oblique(
    a: np.ndarray,
    criterion: Criterion,
    *,
    tmat: np.ndarray | None = None,
    eps: float = 1e-5,
    maxit: int = 1000,
    name: str = "GPFoblq",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``GPArotation::GPFoblq``: oblique gradient projection rotation (unnormalized).

    Returns
    -------
    loadings, phi, th, converged
        ``loadings = a @ inv(th).T`` and ``phi = th.T @ th`` (GPArotation's
        ``Th``).
    """
    a = np.asarray(a, dtype=float)
    k = a.shape[1]
    t = np.eye(k) if tmat is None else np.asarray(tmat, dtype=float)
    al = 1.0
    lam = a @ np.linalg.inv(t).T
    gq, f = criterion(lam)
    g = -(lam.T @ gq @ np.linalg.inv(t)).T
    converged = False
    for _ in range(maxit + 1):
        gp = g - t * np.sum(t * g, axis=0)
        s = math.sqrt(float(np.sum(gp**2)))
        if s < eps:
            converged = True
            break
        al *= 2
        for _ in range(11):
            xm = t - al * gp
            tt = xm / np.sqrt(np.sum(xm**2, axis=0))
            lam = a @ np.linalg.inv(tt).T
            gq, ft = criterion(lam)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2
        t, f = tt, ft
        g = -(lam.T @ gq @ np.linalg.inv(tt)).T
    if not converged:
        warnings.warn(f"convergence not obtained in {name}: {maxit} iterations used", stacklevel=3)
    return lam, t.T @ t, t, converged


def gpf_orthogonal(
    a: np.ndarray,
    criterion: Criterion,
    *,
    tmat: np.ndarray | None = None,
    eps: float = 1e-5,
    maxit: int = 1000,
    name: str = "GPForth",
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``GPArotation::GPForth``: orthogonal gradient projection rotation (unnormalized).

    Returns
    -------
    loadings, th, converged
        ``loadings = a @ th``.
    """
    a = np.asarray(a, dtype=float)
    k = a.shape[1]
    t = np.eye(k) if tmat is None else np.asarray(tmat, dtype=float)
    al = 1.0
    lam = a @ t
    gq, f = criterion(lam)
    g = a.T @ gq
    converged = False
    for _ in range(maxit + 1):
        m = t.T @ g
        gp = g - t @ ((m + m.T) / 2)
        s = math.sqrt(float(np.sum(gp**2)))
        if s < eps:
            converged = True
            break
        al *= 2
        for _ in range(11):
            u, _, vt = np.linalg.svd(t - al * gp)
            tt = u @ vt
            lam = a @ tt
            gq, ft = criterion(lam)
            if ft < f - 0.5 * s**2 * al:
                break
            al /= 2
        t, f = tt, ft
        g = a.T @ gq
    if not converged:
        warnings.warn(f"convergence not obtained in {name}: {maxit} iterations used", stacklevel=3)
    return lam, t, converged


def oblimin(
    a: np.ndarray, gam: float = 0.0, eps: float = 1e-5, maxit: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """``GPArotation::oblimin``: rotated loadings and Phi (``gam = 0`` is quartimin).

    Examples
    --------
    >>> a = np.array([[.8, .3], [.7, .4], [.3, .7], [.2, .8]])
    >>> load, phi = oblimin(a)
    >>> phi.shape, bool(np.allclose(np.diag(phi), 1))
    ((2, 2), True)
    """
    lam, phi, _, _ = gpf_oblique(a, oblimin_criterion(gam), eps=eps, maxit=maxit, name="oblimin")
    return lam, phi


def promax(x: np.ndarray, m: float = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """psych's ``promax`` (``kaiser(f, rotate = "Promax")``): loadings, rotmat, Phi.

    Rows are divided by their length (communality root), rotated by
    ``stats::varimax``, the target ``Q = x |x|^(m-1)`` is fitted by least
    squares ``U = (x'x)^-1 x'Q``, ``U`` is rescaled by ``sqrt(diag((U'U)^-1))``
    so the factors have unit variance, and the rows are multiplied back.
    ``Phi = U^-1 U^-T``.

    Examples
    --------
    >>> a = np.array([[.8, .3], [.7, .4], [.3, .7], [.2, .8]])
    >>> load, rotmat, phi = promax(a)
    >>> bool(np.allclose(load, a @ rotmat)), bool(phi[0, 1] > 0)
    (True, True)
    """
    x = np.asarray(x, dtype=float)
    h = np.sqrt((x**2).sum(axis=1))
    weighted = x / h[:, None]
    vx, vrot = varimax(weighted)
    q = vx * np.abs(vx) ** (m - 1)
    u = np.linalg.lstsq(vx, q, rcond=None)[0]
    try:
        d = np.diag(np.linalg.inv(u.T @ u))
    except np.linalg.LinAlgError:  # pragma: no cover - psych's approximation for exactly orthogonal factors
        vals, vecs = np.linalg.eigh(u.T @ u)
        vals = np.maximum(vals, 100 * np.finfo(float).eps)
        uu = (vecs * vals) @ vecs.T
        np.fill_diagonal(uu, 1.0)
        d = np.diag(np.linalg.inv(uu))
    u = u * np.sqrt(d)
    z = vx @ u
    rotmat = vrot @ u
    ui = np.linalg.inv(rotmat)
    return z * h[:, None], rotmat, ui @ ui.T


# --------------------------------------------------------------------------- dispatch


@dataclass(frozen=True)
class GPAMethod:
    """A gradient projection rotation: its criterion, whether it is oblique, GPArotation's name."""

    criterion: Callable[[], Criterion]
    oblique: bool
    name: str


#: The gradient projection rotations, by the name psych::fa takes (``rotate =``).
GPA_METHODS: dict[str, GPAMethod] = {
    "oblimin": GPAMethod(oblimin_criterion, True, "oblimin"),
    "quartimin": GPAMethod(oblimin_criterion, True, "quartimin"),
    "geomin": GPAMethod(geomin_criterion, True, "geominQ"),
    "geominQ": GPAMethod(geomin_criterion, True, "geominQ"),
    "geominT": GPAMethod(geomin_criterion, False, "geominT"),
    "quartimax": GPAMethod(quartimax_criterion, False, "quartimax"),
    "bentlerT": GPAMethod(bentler_criterion, False, "bentlerT"),
    "bentlerQ": GPAMethod(bentler_criterion, True, "bentlerQ"),
    "bifactor": GPAMethod(bifactor_criterion, False, "bifactor"),
    "biquartimin": GPAMethod(bifactor_criterion, True, "biquartimin"),
}
#: The rotations :func:`rotate` knows; ``geomin`` is ``geominQ`` (oblique).
ROTATIONS = ("none", "varimax", "promax", *GPA_METHODS)
OBLIQUE = frozenset({"promax", *(name for name, m in GPA_METHODS.items() if m.oblique)})
#: Rotations with a general factor: they need three factors or more (psych's ``bifactor`` fails with two).
BIFACTOR = frozenset({"bifactor", "biquartimin"})


def rotate(loadings: np.ndarray, method: str = "oblimin") -> Rotation:
    """Rotate unrotated loadings the way psych::fa does for ``rotate = method``.

    Parameters
    ----------
    loadings : ndarray
        Unrotated loadings, items x factors.
    method : str
        One of :data:`ROTATIONS`: ``none``, ``varimax``, ``promax`` or a
        gradient projection rotation of :data:`GPA_METHODS`. ``geomin`` is
        GPArotation's oblique ``geominQ``; ``quartimin`` is ``oblimin`` with
        ``gam = 0`` (the same rotation).

    Returns
    -------
    Rotation

    Examples
    --------
    >>> a = np.array([[.8, .3], [.7, .4], [.3, .7], [.2, .8]])
    >>> sorted(m for m in ROTATIONS if rotate(a, m).phi is not None)
    ['bentlerQ', 'biquartimin', 'geomin', 'geominQ', 'oblimin', 'promax', 'quartimin']
    >>> rotate(a, "quartimax").loadings.round(2)[0].tolist()
    [0.85, 0.09]
    """
    if method not in ROTATIONS:
        raise ValueError(f"unknown rotation {method!r}; choose one of {', '.join(ROTATIONS)}")
    a = np.asarray(loadings, dtype=float)
    k = a.shape[1]
    if method == "none" or k < 2:
        return Rotation(a.copy(), None, np.eye(k), "none" if k < 2 else method)
    if method == "varimax":
        lam, rot = varimax(a)
        return Rotation(lam, None, rot, method)
    if method == "promax":
        lam, rot, phi = promax(a)
        return Rotation(lam, phi, rot, method)
    gpa = GPA_METHODS[method]
    if gpa.oblique:
        lam, phi, th, ok = gpf_oblique(a, gpa.criterion(), name=gpa.name)
        return Rotation(lam, phi, np.linalg.inv(th).T, method, ok)
    lam, th, ok = gpf_orthogonal(a, gpa.criterion(), name=gpa.name)
    return Rotation(lam, None, th, method, ok)


__all__ = [
    "BIFACTOR",
    "GPA_METHODS",
    "OBLIQUE",
    "ROTATIONS",
    "GPAMethod",
    "Rotation",
    "bentler_criterion",
    "bifactor_criterion",
    "geomin_criterion",
    "gpf_oblique",
    "gpf_orthogonal",
    "oblimin",
    "oblimin_criterion",
    "promax",
    "quartimax_criterion",
    "rotate",
    "varimax",
]
