"""Every fit measure of lavaan 0.6-14's ``fitMeasures()``, from the test statistics (lavaan's lav_fit_*).

:func:`lavaan_fit_measures` assembles them, in lavaan's order and under
lavaan's names with ``.`` as ``_``, from a :class:`FitInputs`: the standard
test, the baseline, the scaled test (MLR, WLSMV), the inputs of the robust
indices (MLR; FIML; catML for ordinal data), the log-likelihoods, the
residual summaries (:mod:`~sdt_survey.factor.sem.fit_residuals`) and GFI.
Where lavaan gives ``NA`` the value is NaN (``null`` in JSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ...stats.probability import chi2_isf, chi2_sf
from .fit import _pchisq, fit_cfi, fit_rmsea, fit_rmsea_ci, fit_tli

#: lavaan's defaults for the RMSEA interval and its tests of close and not-close fit.
RMSEA_CI_LEVEL, RMSEA_CLOSE_H0, RMSEA_NOTCLOSE_H0 = 0.90, 0.05, 0.08

_NAN = math.nan


def _finite(*values: Any) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def fit_nfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    """Bentler-Bonett normed fit index (lavaan's lav_fit_nfi)."""
    if not _finite(x2, df, x2_null, df_null) or df > df_null or math.isclose(x2_null, 0, abs_tol=1.5e-8):
        return _NAN
    return (x2_null - x2) / x2_null if df > 0 else 1.0


def fit_rfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    """Bollen's relative fit index (lavaan's lav_fit_rfi)."""
    if not _finite(x2, df, x2_null, df_null) or df > df_null:
        return _NAN
    if not (df > 0 and df_null > 0):
        return 1.0
    t1, t2 = x2_null / df_null - x2 / df, x2_null / df_null
    if not _finite(t1, t2):
        return _NAN
    return 1.0 if t1 < 0 or t2 < 0 else t1 / t2


def fit_pnfi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    """James-Mulaik-Brett parsimony normed fit index (lavaan's lav_fit_pnfi)."""
    if not _finite(x2, df, x2_null, df_null) or not (df_null > 0 and x2_null > 0):
        return _NAN
    return (df / df_null) * (x2_null - x2) / x2_null


def fit_ifi(x2: float, df: float, x2_null: float, df_null: float) -> float:
    """Bollen's incremental fit index (lavaan's lav_fit_ifi)."""
    if not _finite(x2, df, x2_null, df_null):
        return _NAN
    t1, t2 = x2_null - x2, x2_null - df
    if t2 < 0:
        return 1.0
    return _NAN if math.isclose(t2, 0, abs_tol=1.5e-8) else t1 / t2


def fit_rni(x2, df, x2_null, df_null, c_hat=None, c_hat_null=None) -> float:
    """McDonald-Marsh relative noncentrality index (lavaan's lav_fit_rni; robust with scaling factors)."""
    if not _finite(x2, df, x2_null, df_null):
        return _NAN
    if c_hat is not None and c_hat_null is not None:
        if not _finite(c_hat, c_hat_null):
            return _NAN
        if df > 0 and c_hat != 1 and c_hat_null != 1:
            x2, x2_null = x2 - (c_hat - 1) * df, x2_null - (c_hat_null - 1) * df_null
    t1, t2 = x2 - df, x2_null - df_null
    if math.isclose(t2, 0, abs_tol=1.5e-8):
        return _NAN
    return 1 - t1 / t2


def fit_rmsea_pvalue(x2, df, n, groups, c_hat=1.0, h0=RMSEA_CLOSE_H0, close=True) -> float:
    """lavaan's test of close fit (``RMSEA <= h0``; ``close=False``: of not-close fit, ``RMSEA >= h0``)."""
    if not _finite(x2, df, c_hat) or not df > 0:
        return _NAN
    p = _pchisq(x2, df, n * df / c_hat * h0**2 / groups)
    return 1 - p if close else p


def fit_cn(x2: float, df: float, n: float, alpha: float) -> float:
    """Hoelter's critical N (lavaan's lav_fit_cn)."""
    if df == 0 and x2 < 2.220446049250313e-16:
        return _NAN
    return float(chi2_isf(alpha, df)) / (x2 / n) + 1 if df > 0 else _NAN


def _incremental(suffix: str, x2, df, x2_null, df_null) -> dict[str, float]:
    return {
        f"nnfi{suffix}": fit_tli(x2, df, x2_null, df_null),
        f"rfi{suffix}": fit_rfi(x2, df, x2_null, df_null),
        f"nfi{suffix}": fit_nfi(x2, df, x2_null, df_null),
        f"pnfi{suffix}": fit_pnfi(x2, df, x2_null, df_null),
        f"ifi{suffix}": fit_ifi(x2, df, x2_null, df_null),
        f"rni{suffix}": fit_rni(x2, df, x2_null, df_null),
    }


def _rmsea_block(suffix: str, x2, df, n, groups, c_hat=1.0, ci_x2=None) -> dict:
    """RMSEA from (x2, df), its interval and tests from ci_x2 (the robust ones: XX3 and XX3 / c_hat)."""
    ci_x2 = x2 if ci_x2 is None else ci_x2
    rmsea = fit_rmsea(x2, df, n, groups, c_hat) if _finite(x2, df) else _NAN  # 0 when df = 0, as lavaan
    if df == 0 and _finite(x2):
        lo = hi = 0.0  # lavaan: a just-identified model's interval is [0, 0] (also the robust one)
    elif _finite(ci_x2, df, c_hat):
        lo, hi = fit_rmsea_ci(ci_x2, df, n, groups, c_hat=c_hat)
    else:
        lo = hi = _NAN
    return {
        f"rmsea{suffix}": rmsea,
        f"rmsea_ci_lower{suffix}": lo,
        f"rmsea_ci_upper{suffix}": hi,
        f"rmsea_pvalue{suffix}": fit_rmsea_pvalue(ci_x2, df, n, groups, c_hat),
        f"rmsea_notclose_pvalue{suffix}": fit_rmsea_pvalue(
            ci_x2, df, n, groups, c_hat, RMSEA_NOTCLOSE_H0, close=False
        ),
    }


@dataclass
class ScaledTest:
    """The scaled test of the model and the baseline, and what lavaan's ``rmsea.scaled`` is taken from."""

    chisq: float
    df: float
    pvalue: float
    scaling_factor: float
    baseline_chisq: float
    baseline_df: float
    baseline_pvalue: float
    baseline_scaling_factor: float
    rmsea_chisq: (
        float  # Yuan-Bentler: the unscaled statistic on df = tr(U Gamma); scaled-shifted: the scaled one
    )
    rmsea_df: float


@dataclass
class RobustInputs:
    """The inputs of lavaan's robust indices: ``XX3``, ``df3``, ``c.hat3`` and the baseline's."""

    xx3: float
    df3: float
    c_hat3: float
    xx3_null: float
    c_hat3_null: float

    @property
    def xx3_scaled(self) -> float:
        return self.xx3 / self.c_hat3 if _finite(self.xx3, self.c_hat3) and self.c_hat3 != 0 else _NAN


@dataclass
class FitInputs:
    """What every lavaan fit measure is computed from (see :func:`lavaan_fit_measures`)."""

    npar: int
    ntotal: int
    n: float  # lavaan's N: ntotal for ML, ntotal - groups for WLSMV
    groups: int
    chisq: float
    df: float
    baseline_chisq: float
    baseline_df: float
    fmin: float
    residuals: dict[str, float]
    gfi: float
    nel: int
    categorical: bool = False
    scaled: ScaledTest | None = None
    robust: RobustInputs | None = None
    logl: dict[str, float] | None = None
    extra: dict[str, float] = field(default_factory=dict)


def _pvalue(x2: float, df: float) -> float:
    return float(chi2_sf(x2, df)) if df > 0 and math.isfinite(x2) else _NAN


def lavaan_fit_measures(f: FitInputs) -> dict[str, float]:
    """Every measure of lavaan's ``fitMeasures(fit)`` (``fit.measures = "all"``), lavaan's order.

    Examples
    --------
    >>> m = lavaan_fit_measures(FitInputs(npar=8, ntotal=200, n=200, groups=1, chisq=3.0, df=2,
    ...     baseline_chisq=300.0, baseline_df=6, fmin=0.0075, residuals={}, gfi=0.99, nel=10))
    >>> round(m["cfi"], 4), round(m["nfi"], 4), m["rmsea_ci_level"]
    (0.9966, 0.99, 0.9)
    """
    x2, df, x2n, dfn, n, g = f.chisq, f.df, f.baseline_chisq, f.baseline_df, f.n, f.groups
    s, r = f.scaled, f.robust
    out: dict[str, float] = {"npar": f.npar, "fmin": f.fmin, "chisq": x2, "df": df, "pvalue": _pvalue(x2, df)}
    if s is not None:
        out |= {
            "chisq_scaled": s.chisq,
            "df_scaled": s.df,
            "pvalue_scaled": s.pvalue,
            "chisq_scaling_factor": s.scaling_factor,
        }
    out |= {"baseline_chisq": x2n, "baseline_df": dfn, "baseline_pvalue": _pvalue(x2n, dfn)}
    if s is not None:
        out |= {
            "baseline_chisq_scaled": s.baseline_chisq,
            "baseline_df_scaled": s.baseline_df,
            "baseline_pvalue_scaled": s.baseline_pvalue,
            "baseline_chisq_scaling_factor": s.baseline_scaling_factor,
        }
    out |= {"cfi": fit_cfi(x2, df, x2n, dfn), "tli": fit_tli(x2, df, x2n, dfn)}
    if s is not None:
        out |= {
            "cfi_scaled": fit_cfi(s.chisq, s.df, s.baseline_chisq, s.baseline_df),
            "tli_scaled": fit_tli(s.chisq, s.df, s.baseline_chisq, s.baseline_df),
        }
    if r is not None:
        robust_args = (r.xx3, df, r.xx3_null, dfn, r.c_hat3, r.c_hat3_null)
        # As lavaan: CFI and TLI need only the statistics (an NA scaling, df = 0, gives the plain index).
        out |= {"cfi_robust": fit_cfi(*robust_args), "tli_robust": fit_tli(*robust_args)}
    out |= _incremental("", x2, df, x2n, dfn)
    if s is not None:
        out |= _incremental("_scaled", s.chisq, s.df, s.baseline_chisq, s.baseline_df)
    if r is not None:
        out |= {"nnfi_robust": out["tli_robust"], "rni_robust": fit_rni(*robust_args)}
    if f.logl is not None:
        out |= f.logl
    out |= _rmsea_block("", x2, df, n, g)
    out["rmsea_ci_level"] = RMSEA_CI_LEVEL
    out["rmsea_close_h0"] = RMSEA_CLOSE_H0
    out["rmsea_notclose_h0"] = RMSEA_NOTCLOSE_H0
    if s is not None:
        out |= _rmsea_block("_scaled", s.rmsea_chisq, s.rmsea_df, n, g)
    if r is not None:
        out |= _rmsea_block("_robust", r.xx3, r.df3, n, g, c_hat=r.c_hat3, ci_x2=r.xx3_scaled)
    out |= f.residuals
    nel = f.nel
    gfi = f.gfi
    out |= {
        "cn_05": fit_cn(x2, df, n, 0.05),
        "cn_01": fit_cn(x2, df, n, 0.01),
        "gfi": gfi,
        "agfi": (1 - nel / df * (1 - gfi) if df > 0 else 1.0) if _finite(gfi) else _NAN,
        "pgfi": df / nel * gfi if _finite(gfi) and nel > 0 else _NAN,
        "mfi": math.exp(-0.5 * (x2 - df) / n),
    }
    if f.categorical:
        out["wrmr"] = math.sqrt(x2 / nel) if nel > 0 else _NAN
    else:
        out["ecvi"] = x2 / n + 2 * f.npar / n
    out.setdefault("ntotal", f.ntotal)
    out |= f.extra
    return out
