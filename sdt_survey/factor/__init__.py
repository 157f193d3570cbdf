"""Factor structure of an instrument's items.

Exploratory factor analysis reproducing R's psych (:mod:`sdt_survey.factor.efa`):
:func:`kmo`, :func:`bartlett`, :func:`parallel_analysis`, :func:`efa` and
:func:`factor_report` (all of them in one go), with the rotations of
:mod:`sdt_survey.factor.rotation`. Confirmatory factor analysis reproducing
lavaan lives in :mod:`sdt_survey.factor.cfa` (with its model syntax in
:mod:`sdt_survey.factor.syntax`); its public names are exported here too.
See ``docs/factor-analysis.md``.

Note that ``sdt_survey.factor.efa`` is the *function* :func:`efa` (import
the module's other names from ``sdt_survey.factor.efa`` directly, e.g.
``from sdt_survey.factor.efa import FMS``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sdt_survey import factor
>>> rng = np.random.default_rng(4)
>>> f = rng.normal(size=(300, 2))
>>> x = f @ np.kron(np.eye(2), np.full((1, 3), 0.7)) + rng.normal(size=(300, 6)) * 0.7
>>> res = factor.efa(pd.DataFrame(x, columns=list("abcdef")), 2)
>>> res.loadings.columns.tolist(), res.fit["dof"]
(['MR1', 'MR2'], 4.0)
"""

from .efa import (
    BartlettResult,
    EFAResult,
    FactorAnalysisError,
    FactorReport,
    KMOResult,
    ParallelResult,
    bartlett,
    efa,
    factor_report,
    instrument_factor_report,
    kmo,
    parallel_analysis,
)
from .rotation import Rotation, rotate

__all__ = [
    "BartlettResult",
    "EFAResult",
    "FactorAnalysisError",
    "FactorReport",
    "KMOResult",
    "ParallelResult",
    "Rotation",
    "bartlett",
    "efa",
    "factor_report",
    "instrument_factor_report",
    "kmo",
    "parallel_analysis",
    "rotate",
]

# Confirmatory factor analysis, written alongside; exported when present.
try:
    from .cfa import CFAError, CFAModel, CFAResult, FitMeasures, cfa
except ImportError:  # pragma: no cover
    pass
else:
    __all__ += ["CFAError", "CFAModel", "CFAResult", "FitMeasures", "cfa"]

try:
    from .syntax import ModelSyntaxError, emit_lavaan, parse_model_syntax
except ImportError:  # pragma: no cover
    pass
else:
    __all__ += ["ModelSyntaxError", "emit_lavaan", "parse_model_syntax"]
