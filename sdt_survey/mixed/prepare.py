"""The rows and variables of a model: missing values, within/between split, spline substitution."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelFitError, ModelFormulaError
from .formula import _IDENT, ParsedFormula
from .terms import _check_code, _factor_names, _names_in, _rhs_from_codes, _term_codes

# =========================================================================== fit_model


def _parse_spline(spec: str | Mapping[str, Any] | None) -> tuple[str, int] | None:
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        var, df = spec.get("variable"), spec.get("df", 3)
    else:
        var, _, rest = str(spec).partition(":")
        df = 3
        for option in filter(None, (o.strip() for o in rest.split(","))):
            key, _, value = option.partition("=")
            if key.strip() != "df" or not value.strip().isdigit():
                raise ModelFormulaError(f"spline {spec!r}: write 'variable:df=3'")
            df = int(value)
    if not isinstance(var, str) or not _IDENT.match(var.strip()):
        raise ModelFormulaError(f"spline {spec!r}: write 'variable:df=3'")
    if not 2 <= int(df) <= 10:
        raise ModelFormulaError(f"spline {spec!r}: df must be between 2 and 10")
    return var.strip(), int(df)


def _prepare(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    within_between: str | None,
    spline: tuple[str, int] | None,
    person: str | Sequence[str] | None,
    extra: Sequence[str] = (),
) -> tuple[pd.DataFrame, str, dict[str, str], dict[str, Any] | None, list[str]]:
    """Complete cases, within/between columns, the fixed formula fitted and short column labels.

    ``extra`` columns (a GLMM's numbers of trials) are carried along and count for complete cases.
    """
    formula = parsed.formula
    messages: list[str] = []
    columns = list(data.columns)
    intercept, terms = _term_codes(parsed.fixed, formula)
    if within_between is not None:
        if within_between not in columns:
            raise ModelFormulaError(f"within_between: no column {within_between!r} in the data")
        columns = [*columns, f"{within_between}_within", f"{within_between}_between"]
    for term in terms:
        for code in term:
            _check_code(code, columns, formula)
    random_names: set[str] = set()
    for term in parsed.random:
        for code in (c for t in _term_codes(term.expr, formula)[1] for c in t):
            _check_code(code, columns, formula)
            random_names |= _names_in(code)
        for g in term.group:
            if g not in data.columns:
                hint = difflib.get_close_matches(g, list(data.columns), n=1)
                raise ModelFormulaError(
                    f"{formula}: no grouping column {g!r} in the data"
                    + (f" (did you mean {hint[0]!r}?)" if hint else "")
                )
    if parsed.response not in data.columns:
        hint = difflib.get_close_matches(parsed.response, list(data.columns), n=1)
        raise ModelFormulaError(
            f"{formula}: no response column {parsed.response!r} in the data"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    fixed_names = {n for t in terms for c in t for n in _names_in(c)}
    wb_names = {f"{within_between}_within", f"{within_between}_between"} if within_between else set()
    person_cols: list[str] = []
    if within_between is not None:
        if person is None:
            person_cols = list(
                max((t.group for t in parsed.random), key=lambda g: data[list(g)].drop_duplicates().shape[0])
            )
        else:
            person_cols = [person] if isinstance(person, str) else list(person)
        for p in person_cols:
            if p not in data.columns:
                raise ModelFormulaError(f"within_between: no person column {p!r} in the data")
    needed = (
        {parsed.response} | fixed_names | random_names | {g for t in parsed.random for g in t.group}
    ) - wb_names
    needed |= set(extra)
    if within_between is not None:
        needed |= {within_between, *person_cols}
    needed_list = [c for c in data.columns if c in needed]
    frame = data[needed_list].copy()
    for c in needed_list:
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    for c in [parsed.response]:
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            raise ModelFormulaError(f"{formula}: the response {c!r} must be numeric")
    complete = frame.notna().all(axis=1)
    if not complete.all():
        missing_by = {c: int(frame[c].isna().sum()) for c in needed_list if frame[c].isna().any()}
        messages.append(
            f"{int((~complete).sum())} of {len(frame)} rows have a missing value in a model variable and are "
            f"left out ({', '.join(f'{k}: {v}' for k, v in missing_by.items())})"
        )
    frame = frame[complete].reset_index(drop=True)
    if len(frame) == 0:
        raise ModelFitError(f"{formula}: no complete rows to fit")
    for c in needed_list:
        if frame[c].dtype != object and not np.isfinite(frame[c].to_numpy(dtype=float)).all():
            raise ModelFitError(f"{formula}: column {c!r} has infinite values; recode them as missing")
    for c in needed_list:  # nullable extension dtypes (Int64, Float64) as plain numpy columns
        if frame[c].dtype != object and isinstance(frame[c].dtype, pd.api.extensions.ExtensionDtype):
            kind = "int64" if pd.api.types.is_integer_dtype(frame[c]) else "float64"
            frame[c] = frame[c].to_numpy(dtype=kind)
    wb_info = None
    labels: dict[str, str] = {}
    if within_between is not None:
        x = frame[within_between].astype(float)
        if not pd.api.types.is_numeric_dtype(data[within_between]):
            raise ModelFormulaError(f"within_between: {within_between!r} must be numeric")
        key = (
            frame[person_cols].astype(str).agg(":".join, axis=1)
            if len(person_cols) > 1
            else frame[person_cols[0]]
        )
        between = x.groupby(key).transform("mean")
        frame[f"{within_between}_between"] = between
        frame[f"{within_between}_within"] = x - between
        if float(np.abs(frame[f"{within_between}_within"]).max()) < 1e-12:
            raise ModelFormulaError(
                f"within_between={within_between!r}: {within_between} does not vary within "
                f"{':'.join(person_cols)} (one row per person?), so there is no within-person effect to "
                "estimate"
            )
        new_terms = []
        replaced = False
        for term in terms:
            if within_between in term:
                replaced = True
                for part in ("within", "between"):
                    new_terms.append([f"{within_between}_{part}" if c == within_between else c for c in term])
            else:
                new_terms.append(term)
        if not replaced:
            new_terms.append([f"{within_between}_within"])
            new_terms.append([f"{within_between}_between"])
        terms = new_terms
        wb_info = {
            "variable": within_between,
            "person": ":".join(person_cols),
            "n_persons": int(pd.Series(key).nunique()),
            "within": f"{within_between}_within",
            "between": f"{within_between}_between",
            "sd_within": float(frame[f"{within_between}_within"].std(ddof=1)),
            "sd_between": float(frame[f"{within_between}_between"].std(ddof=1)),
        }
    if spline is not None:
        var, df = spline
        if var == within_between:
            raise ModelFormulaError("a variable cannot be both split within/between and fitted as a spline")
        x = frame[var].to_numpy(dtype=float)
        inner = np.quantile(x, np.arange(1, df) / df)  # R's ns(): knots at quantiles (type 7) of x
        if len(np.unique(np.concatenate([[x.min(), x.max()], inner]))) != df + 1:
            raise ModelFormulaError(f"spline {var}: too few distinct values of {var} for df={df}")
        code = f"cr({var}, knots=[{', '.join(repr(float(k)) for k in inner)}], constraints='center')"
        labels[code] = f"cr({var}, df={df})"
        if not any(var in term for term in terms):
            terms.append([code])
        else:
            terms = [[code if c == var else c for c in term] for term in terms]
    return frame, _rhs_from_codes(intercept, terms), labels, wb_info, messages


def _exposure_variables(
    parsed: ParsedFormula,
    frame: pd.DataFrame,
    exposure: str | Sequence[str] | None,
    within_between: str | None,
    spline: tuple[str, int] | None,
) -> list[str]:
    """The exposure: given, else the within/between or spline variable, else the first continuous variable.

    A variable used as a factor (``C(pgy)``) or holding text has no per-unit effect, standardized
    effect or dose-response curve, so it is the exposure only when nothing else is named.
    """
    if exposure is not None:
        return [exposure] if isinstance(exposure, str) else list(exposure)
    if within_between is not None:
        return [within_between]
    if spline is not None:
        return [spline[0]]
    _, terms0 = _term_codes(parsed.fixed, parsed.formula)
    codes0 = [c for t in terms0 for c in t]
    factors = set().union(*(_factor_names(c) for c in codes0))
    named = [n for c in codes0 for n in sorted(_names_in(c))]
    continuous = [
        n
        for n in named
        if n not in factors and n in frame.columns and pd.api.types.is_numeric_dtype(frame[n])
    ]
    return (continuous or named)[:1]
