"""Factor rotations: moved to :mod:`sdt_survey.stats.rotation` (shared by EFA and omega).

Kept so that ``from sdt_survey.factor.rotation import ...`` goes on working.
"""

from ..stats.rotation import (
    OBLIQUE,
    ROTATIONS,
    Rotation,
    geomin_criterion,
    gpf_oblique,
    gpf_orthogonal,
    oblimin,
    oblimin_criterion,
    promax,
    rotate,
    varimax,
)

__all__ = [
    "OBLIQUE",
    "ROTATIONS",
    "Rotation",
    "geomin_criterion",
    "gpf_oblique",
    "gpf_orthogonal",
    "oblimin",
    "oblimin_criterion",
    "promax",
    "rotate",
    "varimax",
]
