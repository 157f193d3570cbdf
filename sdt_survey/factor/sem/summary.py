"""The printed summary of a CFA, laid out like lavaan's summary()."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only for annotations: .results imports this module
    from .results import CFAResult


def format_value(value: Any, digits: int = 3, width: int = 0) -> str:
    """A number as the summaries print it: ``digits`` decimals, blank for None/NaN/inf, right-aligned."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    else:
        text = f"{value:.{digits}f}"
    return text.rjust(width) if width else text


def summary_text(res: CFAResult, *, standardized: bool, modindices: int, digits: int) -> str:
    fit = res.fit
    w = 54

    def line(label: str, value: Any, indent: int = 2) -> str:
        text = format_value(value, digits)
        return " " * indent + label + text.rjust(w - indent - len(label))

    status = "ended normally" if res.converged else "did NOT converge"
    out = [f"CFA (lavaan conventions) {status} after {res.iterations} iterations", ""]
    out.append(line("Estimator", res.estimator))
    out.append(line("Optimization method", "Fisher scoring/Newton"))
    out.append(line("Number of model parameters", fit.npar))
    out.append("")
    if res.n_groups > 1:
        out.append(line("Number of observations per group:", ""))
        for label, n in res.groups.items():
            out.append(line(str(label), n, indent=4))
    else:
        out.append(line("Number of observations", res.n_used))
    if res.cluster is not None:
        out.append(line(f"Number of clusters [{res.cluster}]", res.n_clusters))
    out.append(line("Missing data", {"fiml": "FIML (missing = ml)", "listwise": "listwise"}[res.missing]))
    if res.n_dropped:
        out.append(line("Rows left out", res.n_dropped))
    out += ["", "Model Test User Model:", ""]
    robust = fit.robust
    if robust:
        head = "  " + " " * (w - 2 - 11) + "   Standard      Scaled"
        out.append(head)

        def both(label: str, a: Any, b: Any) -> str:
            return line(label, a) + format_value(b, digits, 12)

        out.append(both("Test Statistic", fit.chisq, fit.chisq_scaled))
        out.append(both("Degrees of freedom", fit.df, fit.df))
        out.append(both("P-value (Chi-square)", fit.pvalue, fit.pvalue_scaled))
        out.append(both("Scaling correction factor", None, fit.scaling_factor))
        out.append(f"    {res.record.test_label}")
    else:
        out.append(line("Test statistic", fit.chisq))
        out.append(line("Degrees of freedom", fit.df))
        out.append(line("P-value (Chi-square)", fit.pvalue))
    if res.n_groups > 1:
        out.append(line("Test statistic for each group:", ""))
        for label, value in zip(res.groups, fit.chisq_groups, strict=True):
            out.append(line(str(label), value, indent=4))
    out += ["", "Model Test Baseline Model:", ""]
    m = fit.measures
    scaled = robust and "cfi_scaled" in m

    def pair(label: str, key: str) -> str:
        """A line with lavaan's standard value and, for a scaled test, the scaled one beside it."""
        text = line(label, m.get(key, getattr(fit, key, None)))
        return text + format_value(m.get(f"{key}_scaled"), digits, 12) if scaled else text

    out.append(pair("Test statistic", "baseline_chisq"))
    out.append(pair("Degrees of freedom", "baseline_df"))
    out.append(pair("P-value", "baseline_pvalue"))
    if scaled:
        factor = format_value(m.get("baseline_chisq_scaling_factor"), digits, 12)
        out.append(line("Scaling correction factor", None) + factor)
    out += ["", "User Model versus Baseline Model:", ""]
    out.append(pair("Comparative Fit Index (CFI)", "cfi"))
    out.append(pair("Tucker-Lewis Index (TLI)", "tli"))
    if "cfi_robust" in m or robust:
        out.append("")
        out.append(line("Robust Comparative Fit Index (CFI)", fit.cfi_robust or m.get("cfi_robust")))
        out.append(line("Robust Tucker-Lewis Index (TLI)", fit.tli_robust or m.get("tli_robust")))
    out += ["", "Loglikelihood and Information Criteria:", ""]
    out.append(line("Loglikelihood user model (H0)", fit.loglik))
    out.append(line("Loglikelihood unrestricted model (H1)", fit.unrestricted_loglik))
    out.append("")
    out.append(line("Akaike (AIC)", fit.aic))
    out.append(line("Bayesian (BIC)", fit.bic))
    out.append(line("Sample-size adjusted Bayesian (SABIC)", fit.bic2))
    out += ["", "Root Mean Square Error of Approximation:", ""]
    out.append(pair("RMSEA", "rmsea"))
    out.append(pair("90 Percent confidence interval - lower", "rmsea_ci_lower"))
    out.append(pair("90 Percent confidence interval - upper", "rmsea_ci_upper"))
    out.append(pair("P-value H_0: RMSEA <= 0.050", "rmsea_pvalue"))
    out.append(pair("P-value H_0: RMSEA >= 0.080", "rmsea_notclose_pvalue"))
    if "rmsea_robust" in m:
        out.append("")
        out.append(line("Robust RMSEA", m["rmsea_robust"]))
        out.append(line("90 Percent confidence interval - lower", m["rmsea_ci_lower_robust"]))
        out.append(line("90 Percent confidence interval - upper", m["rmsea_ci_upper_robust"]))
        out.append(line("P-value H_0: Robust RMSEA <= 0.050", m["rmsea_pvalue_robust"]))
        out.append(line("P-value H_0: Robust RMSEA >= 0.080", m["rmsea_notclose_pvalue_robust"]))
    out += ["", "Standardized Root Mean Square Residual:", ""]
    out.append(line("SRMR", fit.srmr))
    out += ["", "Parameter Estimates:", ""]
    record = res.record
    out.append(line("Standard errors", record.se_label))
    out.append(line("Information", record.information_label(res.missing)))
    out.append(line("Information saturated (h1) model", "Structured"))
    out.append(_parameter_sections(res, standardized, digits))
    if res.omega:
        out += ["", "Reliability (omega, semTools::compRelSEM):", ""]
        blocks = res.omega.items() if res.n_groups > 1 else [(None, res.omega)]
        for label, values in blocks:
            if label is not None:
                out.append(f"  Group {label}:")
            for f, v in values.items():
                out.append(line(f, v, indent=4 if label is not None else 2))
    if modindices:
        mi = res.modification_indices(top=modindices)
        out += ["", f"Modification indices (largest {modindices}):", ""]
        out.append(
            mi.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}")
            if not mi.empty
            else "  (none)"
        )
    if res.notes:
        out += ["", "Notes:"] + [f"  - {n}" for n in res.notes]
    if res.warnings:
        out += ["", "Warnings:"] + [f"  - {wtext}" for wtext in res.warnings]
    return "\n".join(out)


def _parameter_sections(res: CFAResult, standardized: bool, digits: int) -> str:
    table = res.parameters
    std = (("std_lv", "Std.lv"), ("std_all", "Std.all")) if standardized else ()
    lines: list[str] = []
    groups = list(res.groups) if res.n_groups > 1 else [None]
    spec = res._spec
    # As lavaan's summary: the covariates' sample moments (fixed.x) are not shown, and the variances and
    # intercepts of variables regressed on others are residual ones (a leading dot).
    covariates = set(spec.fixed_x)
    shown = ~(
        table["lhs"].isin(covariates) & table["op"].isin(["~~", "~1"]) & table["rhs"].isin([*covariates, ""])
    )
    regressed = {spec.lhs[k] for k in range(spec.n_rows) if spec.op[k] == "~"}
    latent = set(spec.lv) - regressed
    for label in groups:
        rows = table[shown] if label is None else table[shown & (table["group"] == label)]
        records = rows.to_dict("records")
        if label is not None and label == groups[-1]:  # defined parameters follow the last group, as lavaan
            records += table[table["op"] == ":="].to_dict("records")
        if label is not None:
            lines += ["", f"Group {groups.index(label) + 1} [{label}]:"]
        lines += parameter_lines(
            records,
            CONTINUOUS_SECTIONS,
            latent,
            std,
            digits,
            # Fixed values print without standard errors, except (residual) variances.
            blank=lambda r: not (r["se"] > 0) and r["op"] != "~~" and r["se"] == 0,
        )
    return "\n".join(lines)


#: The summary's sections of a continuous CFA: (title, which rows).
CONTINUOUS_SECTIONS = (
    ("Latent Variables:", lambda r: r["op"] == "=~"),
    ("Regressions:", lambda r: r["op"] == "~"),
    ("Covariances:", lambda r: r["op"] == "~~" and r["lhs"] != r["rhs"]),
    ("Intercepts:", lambda r: r["op"] == "~1"),
    ("Variances:", lambda r: r["op"] == "~~" and r["lhs"] == r["rhs"]),
    ("Defined Parameters:", lambda r: r["op"] == ":="),
)


def parameter_lines(
    records: list[dict[str, Any]],
    sections: Sequence[tuple[str, Callable[[dict[str, Any]], bool]]],
    latent: set[str],
    std: Sequence[tuple[str, str]],
    digits: int,
    blank: Callable[[dict[str, Any]], bool],
) -> list[str]:
    """The parameter estimates laid out as lavaan's summary: a block per section, rows under their lhs.

    ``records`` are parameter-table rows; ``std`` the standardized columns to
    print, ``(column, heading)``; ``blank(row)`` says when a row prints no
    standard error, z or p-value. Thresholds print as ``item|t1``; variances,
    intercepts and scales of observed variables with a leading dot.
    """
    head = f"{'':20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}"
    head += "".join(f"{heading:>9}" for _, heading in std)
    lines: list[str] = []
    for title, keep in sections:
        chosen = [r for r in records if keep(r)]
        if not chosen:
            continue
        lines += ["", title, head]
        current = None
        for r in chosen:
            if r["op"] in ("=~", "~") or (r["op"] == "~~" and r["lhs"] != r["rhs"]):
                if r["lhs"] != current:
                    current = r["lhs"]
                    lines.append(f"  {r['lhs']} {r['op']}")
                name, indent = r["rhs"], "    "
            elif r["op"] == ":=":
                name, indent = r["lhs"], "    "
            elif r["op"] == "|":
                name, indent = f"{r['lhs']}|{r['rhs']}", "    "
            else:
                name = r["lhs"]
                indent = "   ." if name not in latent else "    "
            if r.get("label") and r["op"] != ":=":
                name = f"{name} ({r['label']})"
            text = f"{indent}{name:<16}"[:20].ljust(20) + format_value(r["est"], digits, 9)
            if blank(r):
                text += " " * 27
            else:
                text += format_value(r["se"], digits, 9) + format_value(r["z"], digits, 9)
                text += format_value(r["pvalue"], digits, 9)
            text += "".join(format_value(r[column], digits, 9) for column, _ in std)
            lines.append(text.rstrip())
    return lines
