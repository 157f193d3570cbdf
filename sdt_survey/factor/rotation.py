"""Factor rotations: moved to :mod:`sdt_survey.stats.rotation` (shared by EFA and omega).

Kept so that ``from sdt_survey.factor.rotation import ...`` goes on working.
"""

from ..stats.rotation import *  # noqa: F403 - the same names, from their new home
from ..stats.rotation import __all__  # noqa: F401
