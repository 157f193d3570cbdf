"""The report as a few readable lines per section, for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import (
    DASH,
    finite_or_none,
)

# =============================================================================== text summary


def fmt(value: Any, digits: int = 2) -> str:
    number = finite_or_none(value)
    return DASH if number is None else f"{number:.{digits}f}"


def fmt_p(value: Any) -> str:
    number = finite_or_none(value)
    if number is None:
        return DASH
    return "< 0.001" if number < 0.001 else f"{number:.3f}"


def summary_text(content: Mapping[str, Any]) -> str:
    header = content["header"]
    instruments = ", ".join(f"{i['id']} {i['version']}" for i in header["instruments"])
    lines = [
        f"Report: {instruments}; {len(header['waves'])} wave(s); files {', '.join(header['data_files'])}"
        + (f"; schedule {header['schedule_file']}" if header["schedule_file"] else "")
        + f"; minimum cell size {header['min_cell']}; {header['date']}",
    ]
    for number, (key, section) in enumerate(content["sections"].items(), start=1):
        lines.append("")
        lines.append(f"{number}. {section['title']} [{section['status']}]")
        if section["status"] != "ok":
            lines.append(f"   {section['reason']}")
        else:
            lines.extend("   " + line for line in _section_summary(key, section["data"]))
        lines.extend(f"   note: {note}" for note in section["notes"])
    return "\n".join(lines)


def _section_summary(key: str, data: Mapping[str, Any]) -> list[str]:
    out = []
    if key == "items":
        for inst in data["instruments"]:
            items = [e for g in inst["groups"] for e in g["items"]]
            hidden = sum(e["suppressed"] for e in items)
            out.append(
                f"{inst['id']}: {len(items)} items, wave {data['wave']}, {data['n_respondents']} respondents"
                + (f" ({hidden} suppressed)" if hidden else "")
            )
    elif key == "reliability":
        for inst in data["instruments"]:
            if inst.get("status") != "ok":
                out.append(f"{inst['id']}: {inst['reason']}")
                continue
            for sub in inst["subscales"]:
                low, high = sub["alpha_ci"]
                flags = f"; flagged: {', '.join(f['item'] for f in sub['flagged_items'])}"
                out.append(
                    f"{sub['id']}: alpha {fmt(sub['alpha'])} [{fmt(low)}, {fmt(high)}], "
                    f"omega {fmt(sub['omega_total'])}" + (flags if sub["flagged_items"] else "")
                )
    elif key == "factor_structure":
        for inst in data["instruments"]:
            if inst.get("status") == "ok":
                fit = inst["fit"]
                out.append(
                    f"{inst['id']}: chi-square {fmt(fit['chisq'])} on {fit['df']} df, "
                    f"CFI {fmt(fit['cfi'], 3)}, TLI {fmt(fit['tli'], 3)}, RMSEA {fmt(fit['rmsea'], 3)} "
                    f"[{fmt(fit['rmsea_ci'][0], 3)}, {fmt(fit['rmsea_ci'][1], 3)}], "
                    f"SRMR {fmt(fit['srmr'], 3)}"
                )
            else:
                out.append(f"{inst['id']}: {inst['reason']}")
            if inst.get("invariance"):
                out.append(f"invariance: {inst['invariance']['statement']}")
                if inst["invariance"].get("ordinal"):
                    out.append(f"invariance (ordinal): {inst['invariance']['ordinal']['statement']}")
    elif key == "continuity":
        model = data["model"]
        out.append(f"{model['formula']}" + (f" (spline {model['spline']})" if model["spline"] else ""))
        if model["lrt"]:
            lrt = model["lrt"]
            out.append(
                f"test of continuity: chi-square({lrt['df']}) = {fmt(lrt['chisq'])}, p {fmt_p(lrt['pvalue'])}"
            )
        ddf = model.get("ddf", "none")
        out.append(
            f"fixed effects tested by t tests on {ddf} degrees of freedom (lmerTest)"
            if ddf != "none"
            else "fixed effects tested by Wald z (no small-sample correction)"
        )
        out.append(
            f"n = {model['n_obs']}, ICC {fmt(model['icc'], 3)}, "
            f"R2 marginal {fmt(model['r2_marginal'], 3)}, conditional {fmt(model['r2_conditional'], 3)}"
        )
        latent = data.get("latent_model")
        if latent and latent["status"] == "ok":
            out.extend(
                f"latent model: {e['term']} {fmt(e['estimate'], 3)} (SE {fmt(e['se'], 3)}, "
                f"p {fmt_p(e['pvalue'])}, standardized {fmt(e['std_all'], 3)})"
                for e in latent["effects"]
            )
        elif latent:
            out.append(f"latent model: {latent['reason']}")
    elif key == "cohorts":
        out.append(
            f"{len(data['scales'])} scores x {len(data['waves'])} wave(s); {data['n_suppressed_rows']} of "
            f"{len(data['rows'])} rows suppressed"
        )
        out.extend(f"invariance: {s}" for s in data["invariance"])
    elif key == "data_quality":
        for entry in data["files"]:
            problems = ", ".join(f"{p['problem']} {p['n']}" for p in entry["problems"]) or "no problems"
            out.append(f"{entry['file']}: {problems}")
        if data["schedule"]:
            problems = (
                ", ".join(f"{p['problem']} {p['n']}" for p in data["schedule"]["problems"]) or "no problems"
            )
            out.append(f"{data['schedule']['file']}: {problems}")
    return out
