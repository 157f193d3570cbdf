"""The report as one self-contained HTML page: inline CSS, embedded plots, no script, strict CSP."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .._version import __version__
from .context import (
    DASH,
    SUPPRESSED,
)
from .plots import cohort_plots, curve_plot, group_key, items_plot, reliability_plot
from .text import fmt, fmt_p

# =============================================================================== HTML


_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
:root { color-scheme: light; --ink: #1d2733; --muted: #55606e; --line: #d6dbe1; --band: #f4f6f8;
        --accent: #1f5f99; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
header, main, footer, nav { max-width: 1120px; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 0 0 .4rem; border-bottom: 2px solid var(--accent); padding-bottom: .2rem; }
h3 { font-size: 1.02rem; margin: 1.1rem 0 .35rem; }
section { margin: 1.8rem 0 2.2rem; }
p { margin: .4rem 0; }
.explain { font-size: 1rem; max-width: 62rem; }
.source { font-size: .85rem; color: var(--muted); }
.source code, .command code { background: var(--band); padding: .1rem .3rem; border-radius: 3px;
       word-break: break-word; font-size: .82rem; }
.unavailable { background: #fff7ec; border-left: 4px solid var(--warn); padding: .5rem .8rem; }
.note { font-size: .88rem; color: var(--muted); }
.privacy { background: #eef5fb; border-left: 4px solid var(--accent); padding: .6rem .9rem;
           font-size: .92rem; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: .86rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .55rem; text-align: right;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.suppressed { color: var(--muted); font-style: italic; text-align: center; }
td.flag { color: var(--warn); text-align: left; }
table.meta th { text-align: left; width: 12rem; }
table.meta td { text-align: left; }
.bar { display: inline-block; height: .7rem; background: var(--accent); vertical-align: middle;
       margin-right: .35rem; border-radius: 2px; }
figure { margin: .6rem 0 1rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .85rem; color: var(--muted); }
details { margin: .4rem 0 .8rem; }
summary { cursor: pointer; color: var(--accent); }
nav ol { columns: 2; font-size: .92rem; }
nav a, a { color: var(--accent); }
footer { font-size: .82rem; color: var(--muted); padding-bottom: 2rem; border-top: 1px solid var(--line); }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _sentence(text: Any) -> str:
    """``text`` escaped, ending with one full stop."""
    text = "" if text is None else str(text).rstrip()
    return _e(text if text.endswith((".", "!", "?")) else text + ".")


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None, cls: str = ""
) -> str:
    """An HTML table; cells are given as HTML (escape them before)."""
    parts = [f'<table class="{cls}">' if cls else "<table>"]
    if caption:
        parts.append(f"<caption>{_e(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        parts.append(
            "<tr>" + "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row) + "</tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _suppressed_cell(span: int) -> str:
    return f'<td class="suppressed" colspan="{span}">{SUPPRESSED}</td>'


def _img(uri: str | None, alt: str, caption: str | None = None) -> str:
    if not uri:
        return ""
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{_e(alt)}">{cap}</figure>'


def render_html(content: Mapping[str, Any]) -> str:

    header = content["header"]
    sections = content["sections"]
    title = header["title"]
    renderers = {
        "items": _html_items,
        "reliability": _html_reliability,
        "factor_structure": _html_factor,
        "continuity": _html_continuity,
        "cohorts": _html_cohorts,
        "data_quality": _html_quality,
    }
    body = []
    for number, (key, section) in enumerate(sections.items(), start=1):
        parts = [
            f'<section id="{key}" data-section="{key}" data-status="{_e(section["status"])}">',
            f"<h2>{number}. {_e(section['title'])}</h2>",
            f'<p class="explain">{_e(section["explanation"])}</p>',
        ]
        if section["status"] != "ok":
            parts.append(f'<p class="unavailable">Not shown: {_sentence(section["reason"])}</p>')
        else:
            parts.append(renderers[key](section["data"], header))
        parts.extend(f'<p class="note">Note: {_sentence(note)}</p>' for note in section["notes"])
        sources = "".join(f"<br><code>{_e(s)}</code>" for s in section["source"])
        parts.append(f'<p class="source">Where these numbers come from:{sources}</p>')
        parts.append("</section>")
        body.append("\n".join(parts))
    instruments = ", ".join(f"{i['title']} ({i['id']} {i['version']})" for i in header["instruments"])
    meta_rows = [
        ("Instruments", _e(instruments)),
        ("Response files", _e(", ".join(header["data_files"]))),
        ("Clinic schedule", _e(header["schedule_file"] or "none")),
        ("Waves", _e(", ".join(str(w) for w in header["waves"]))),
        ("Groups", _e(", ".join(header["by"]) or "none")),
        ("Minimum cell size", _e(header["min_cell"])),
        ("Date", _e(header["date"])),
    ]
    meta = '<table class="meta"><tbody>' + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta_rows)
    meta += "</tbody></table>"
    privacy = (
        '<p class="privacy">Only group figures are shown. Every figure rests on at least '
        f"{header['min_cell']} residents; smaller groups, and groups from which a smaller one could be "
        "worked out, are marked 'suppressed' without their numbers. No resident's id, answers or "
        "comments are in this report. Please do not combine it with other reports on the same "
        "residents.</p>"
    )
    toc = "<nav><ol>" + "".join(
        f'<li><a href="#{key}">{_e(section["title"])}</a></li>' for key, section in sections.items()
    )
    toc += "</ol></nav>"
    page = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',  # a constant: no " < & in it
        f'<meta name="generator" content="sdt-survey {_e(__version__)}">',
        '<meta name="referrer" content="no-referrer">',
        # An empty icon keeps the browser from asking for /favicon.ico.
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        meta,
        privacy,
        f'<p class="command">Made with: <code>{_e(header["command"])}</code></p>',
        "</header>",
        toc,
        "<main>",
        *body,
        "</main>",
        f"<footer><p>Made by sdt-survey {_e(header['sdt_survey_version'])}. The same numbers as JSON: "
        "<code>Report.to_dict()</code>, or the <code>.json</code> file the report command writes beside "
        "this one. How to read each section: docs/reports.md in the sdt-survey documentation.</p></footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(page)


def _instrument_heading(block: Mapping[str, Any]) -> str:
    """An instrument's heading in a section: its title, then its id and version."""
    return f"<h3>{_e(block['title'])} ({_e(block['id'])} {_e(block['version'])})</h3>"


def _html_items(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(_instrument_heading(block))
        for scale in block["scales"]:
            uri = items_plot(block, scale, header["min_cell"])
            labels = ", ".join(
                f"{v} = {lab}" for v, lab in zip(scale["values"], scale["labels"], strict=True)
            )
            parts.append(
                _img(
                    uri,
                    f"Answers to each item of {block['id']} on the scale {labels}",
                    f"Scale: {labels}. Numbers in the bars are percentages of the answers given.",
                )
            )
            rows = []
            for group in block["groups"]:
                for entry in group["items"]:
                    if entry["scale"] != scale["id"]:
                        continue
                    head = [
                        f'<td class="text">{_e(entry["id"])}{" (R)" if entry["reverse"] else ""}</td>',
                        f'<td class="text">{_e(group["label"])}</td>',
                    ]
                    if entry["counts"] is None:
                        rows.append([*head, _suppressed_cell(2 + len(scale["values"]))])
                    else:  # a suppressed count is a dash; the note under the section says why
                        counts = ["—" if c is None else _e(c) for c in entry["counts"]]
                        n = "—" if entry["n"] is None else _e(entry["n"])
                        share = entry["missing_percent"]
                        rows.append([*head, n, *counts, "—" if share is None else f"{share:.1f}%"])
            parts.append(
                "<details><summary>The counts behind the bars</summary>"
                + _table(
                    ["item", "subscale", "answered", *[str(v) for v in scale["values"]], "no answer"], rows
                )
                + "</details>"
            )
    return "\n".join(parts)


def _html_reliability(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(_instrument_heading(block))
        if block.get("status") != "ok":
            parts.append(f'<p class="unavailable">{_sentence(block["reason"])}</p>')
            continue
        parts.append(
            _img(reliability_plot(block), f"Alpha with 95% CI and omega for each subscale of {block['id']}")
        )
        rows = []
        for sub in block["subscales"]:
            low, high = sub["alpha_ci"]
            flags = "; ".join(f"{f['item']}: {f['why']}" for f in sub["flagged_items"]) or "none"
            reversed_items = ", ".join(sub.get("reversed_items", [])) or "none"
            rows.append(
                [
                    f'<td class="text">{_e(sub["label"])}</td>',
                    _e(sub["n"]),
                    _e(sub["n_items"]),
                    fmt(sub["alpha"], 3),
                    f"[{fmt(low, 3)}, {fmt(high, 3)}]",
                    fmt(sub["omega_total"], 3),
                    f'<td class="text">{_e(reversed_items)}</td>',
                    f'<td class="flag">{_e(flags)}</td>'
                    if sub["flagged_items"]
                    else '<td class="text">none</td>',
                ]
            )
        parts.append(
            _table(
                [
                    "subscale",
                    "n",
                    "items",
                    "alpha",
                    "95% CI (Feldt)",
                    "omega",
                    "reverse-keyed",
                    "flagged items",
                ],
                rows,
            )
        )
        if block.get("omega_hierarchical") is not None:
            parts.append(
                '<p class="note">Over all subscales: omega hierarchical '
                f"{fmt(block['omega_hierarchical'], 3)}, omega total {fmt(block['omega_total'], 3)} "
                f"(missing answers handled {_e(block['missing'])}).</p>"
            )
    return "\n".join(parts)


def _html_factor(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for block in data["instruments"]:
        parts.append(_instrument_heading(block))
        if block.get("status") != "ok":
            parts.append(f'<p class="unavailable">The factor model: {_sentence(block["reason"])}</p>')
        else:
            fit = block["fit"]
            parts.append(
                _table(
                    ["respondents", "chi-square", "df", "p", "CFI", "TLI", "RMSEA", "RMSEA 90% CI", "SRMR"],
                    [
                        [
                            _e(block["n_used"]),
                            fmt(fit["chisq"], 2),
                            _e(fit["df"]),
                            fmt_p(fit["pvalue"]),
                            fmt(fit["cfi"], 3),
                            fmt(fit["tli"], 3),
                            fmt(fit["rmsea"], 3),
                            f"[{fmt(fit['rmsea_ci'][0], 3)}, {fmt(fit['rmsea_ci'][1], 3)}]",
                            fmt(fit["srmr"], 3),
                        ]
                    ],
                    cls="fit",
                )
            )
            rows = []
            for loading in block["loadings"]:
                value = loading["std_loading"]
                bar = (
                    f'<span class="bar" style="width:{max(0.0, min(abs(value), 1.0)) * 8:.2f}rem"></span>'
                    if value is not None
                    else ""
                )
                rows.append(
                    [
                        f'<td class="text">{_e(loading["factor"])}</td>',
                        f'<td class="text">{_e(loading["item"])}</td>',
                        f'<td class="text">{bar}{fmt(value, 3)}</td>',
                    ]
                )
            parts.append(
                "<details open><summary>Standardized loadings</summary>"
                + _table(["factor", "item", "standardized loading"], rows)
                + "</details>"
            )
            factors = list(block["factor_correlations"])
            corr_rows = [
                [f'<td class="text">{_e(a)}</td>']
                + [("1" if a == b else fmt(block["factor_correlations"][a].get(b), 2)) for b in factors]
                for a in factors
            ]
            parts.append(
                "<details><summary>Correlations between the factors</summary>"
                + _table(["", *factors], corr_rows)
                + "</details>"
            )
            parts.extend(f'<p class="note">Warning: {_sentence(w)}</p>' for w in block["warnings"])
        check = block.get("invariance")
        if check is None:
            continue
        across = check.get("across")
        parts.append(
            f"<h3>Measurement invariance of {_e(block['id'])}"
            + (f" across {_e(across)}" if across else "")
            + "</h3>"
        )
        if check["status"] != "tested":
            parts.append(f'<p class="unavailable">Not tested: {_sentence(check["statement"])}</p>')
            continue
        parts.append(f'<p class="note">Groups tested: {_e(", ".join(map(str, check["groups_tested"])))}.</p>')
        step_rows = [
            [
                f'<td class="text">{_e(s["step"])}</td>',
                fmt(s["chisq"], 2),
                _e(s["df"]),
                fmt(s["cfi"], 3),
                fmt(s["tli"], 3),
                fmt(s["rmsea"], 3),
                fmt(s["srmr"], 3),
            ]
            for s in check["steps"]
        ]
        parts.append(
            _table(["step", "chi-square", "df", "CFI", "TLI", "RMSEA", "SRMR"], step_rows, cls="invariance")
        )
        comparison_rows = [
            [
                f'<td class="text">{_e(c["from"])} → {_e(c["to"])}</td>',
                fmt(c["chisq_diff"], 2),
                _e(c["df_diff"]),
                fmt_p(c["pvalue"]),
                fmt(c["delta_cfi"], 3),
                fmt(c["delta_rmsea"], 3),
                fmt(c["delta_srmr"], 3),
                "holds" if c["supported"] else "does not hold",
            ]
            for c in check["comparisons"]
        ]
        parts.append(
            _table(
                ["comparison", "Δ chi-square", "Δ df", "p", "Δ CFI", "Δ RMSEA", "Δ SRMR", "invariance"],
                comparison_rows,
            )
        )
        parts.append(f'<p class="explain"><strong>Conclusion:</strong> {_sentence(check["statement"])}</p>')
        ordinal = check.get("ordinal")
        if ordinal is not None and ordinal["status"] == "tested":
            rows = [
                [f'<td class="text">{_e(s["step"])}</td>', fmt(s["chisq_scaled"], 2), _e(s["df"])]
                + [fmt(s[k], 3) for k in ("cfi_scaled", "tli_scaled", "rmsea_scaled", "srmr")]
                for s in ordinal["steps"]
            ]
            parts.append(
                _table(
                    ["step (ordinal, WLSMV)", "scaled chi-square", "df", "CFI", "TLI", "RMSEA", "SRMR"],
                    rows,
                    cls="invariance",
                )
            )
        if ordinal is not None:
            parts.append(
                f'<p class="explain"><strong>Ordinal:</strong> {_sentence(ordinal["statement"])}</p>'
            )
    return "\n".join(parts)


def _html_latent(latent: Mapping[str, Any] | None) -> str:
    """The latent model beside the observed-score one: the slope without the score's measurement error."""
    if not latent:
        return ""
    if latent["status"] != "ok":
        return f'<p class="note">Latent model: {_e(latent["reason"])}.</p>'
    clusters = f"{_e(latent['n_clusters'])} levels of {_e(latent['cluster'])}"
    clustered = f", standard errors robust to clustering in {clusters}" if latent["cluster"] else ""
    rows = [
        [
            f'<td class="text">{_e(f["term"])}</td>',
            fmt(f["estimate"], 3),
            fmt(f["se"], 3),
            f"[{fmt(f['ci_lower'], 3)}, {fmt(f['ci_upper'], 3)}]",
            _e(fmt_p(f["pvalue"])),
            fmt(f["std_all"], 3),
        ]
        for f in latent["effects"]
    ]
    fit = latent["fit"]
    return "\n".join(
        [
            "<h3>The same model without measurement error</h3>",
            f"<p>The outcome as a latent factor of its items ({_e(', '.join(latent['items']))}), "
            f"regressed on the same terms: <code>{_e(latent['formula'])}</code>, "
            f"{_e(latent['estimator'])} on {_e(latent['n_obs'])} residents{clustered}.</p>",
            _table(["effect on the latent score", "estimate", "SE", "95% CI", "p", "standardized"], rows),
            '<p class="note">The score of the model above carries measurement error, which pulls its '
            "slope toward zero; this model does not. Standardized: the change in the latent score, in its "
            "standard deviations, per standard deviation of the term. "
            f"R² {fmt(latent['r_squared'], 3)}; robust CFI {fmt(fit['cfi'], 3)}, "
            f"RMSEA {fmt(fit['rmsea'], 3)}, SRMR {fmt(fit['srmr'], 3)}.</p>",
            *(f'<p class="note">{_e(w)}</p>' for w in latent["warnings"]),
        ]
    )


def _html_continuity(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    model = data["model"]
    parts = [
        f"<p>Model: <code>{_e(model['formula'])}</code>"
        + (
            f", with continuity as a natural spline (<code>{_e(model['spline'])}</code>)"
            if model["spline"]
            else ""
        )
        + f"; fitted by {_e(model['method'])} on {_e(model['n_obs'])} residents in "
        + ", ".join(f"{_e(v)} levels of {_e(k)}" for k, v in model["n_groups"].items())
        + ".</p>"
    ]
    parts.append(
        _img(
            curve_plot(model),
            f"{model['outcome_label']} against continuity of care, with its 95% confidence band",
            f"The curve is drawn where at least {header['min_cell']} residents lie beyond it on each side.",
        )
    )
    if model["lrt"]:
        lrt = model["lrt"]
        parts.append(
            f"<p>Does continuity matter at all? Likelihood-ratio test of every continuity term: chi-square "
            f"({_e(lrt['df'])} df) = {fmt(lrt['chisq'])}, p {_e(fmt_p(lrt['pvalue']))}.</p>"
        )
    small_sample = model.get("ddf", "none") != "none" and all(f.get("df") is not None for f in model["fixed"])
    rows = [
        [
            f'<td class="text">{_e(f["term"])}</td>',
            fmt(f["estimate"], 3),
            fmt(f["se"], 3),
            f"[{fmt(f['ci_lower'], 3)}, {fmt(f['ci_upper'], 3)}]",
            *(
                (fmt(f["df"], 1), fmt(f["t"], 2), _e(fmt_p(f["p"])))
                if small_sample
                else (fmt(f["z"], 2), _e(fmt_p(f["pvalue"])))
            ),
        ]
        for f in model["fixed"]
    ]
    if small_sample:
        parts.append(
            f"<p>Fixed effects are tested with t tests on {_e(model['ddf'])} degrees of freedom (as R's "
            "lmerTest): with few programs, Wald z tests give p-values that are too small.</p>"
        )
        header = ["fixed effect", "estimate", "SE", "95% CI", "df", "t", "p"]
    else:
        parts.append("<p>Fixed effects are tested with Wald z tests (no small-sample correction).</p>")
        header = ["fixed effect", "estimate", "SE", "95% CI", "z", "p"]
    parts.append(_table(header, rows, cls="fixed"))
    icc_null = f" (before continuity: {fmt(model['icc_null'], 3)})" if model["icc_null"] is not None else ""
    parts.append(
        _table(
            ["ICC", "R² marginal", "R² conditional"],
            [
                [
                    fmt(model["icc"], 3) + _e(icc_null),
                    fmt(model["r2_marginal"], 3),
                    fmt(model["r2_conditional"], 3),
                ]
            ],
        )
    )
    parts.append(
        '<p class="note">ICC: the share of the remaining differences in the score that lies between '
        "groups. R² marginal: the share explained by the fixed effects (continuity); conditional: by fixed "
        "and group effects together. Spline coefficients are not read one by one: the curve and the "
        "likelihood-ratio test are the result.</p>"
    )
    parts.append(_html_latent(data.get("latent_model")))
    schedule = data["schedule"]
    index_rows = [
        [
            f'<td class="text">{_e(name)}</td>',
            _e(v["n"]),
            fmt(v["mean"], 3),
            fmt(v["sd"], 3),
        ]
        for name, v in schedule["indices"].items()
    ]
    parts.append(
        f"<details><summary>Continuity in the schedule ({_e(schedule['file'])}: {_e(schedule['n_sessions'])} "
        "sessions)</summary>" + _table(["index", "residents", "mean", "SD"], index_rows) + "</details>"
    )
    join = data["join"]
    parts.append(
        f'<p class="note">{_e(join["matched"])} of {_e(join["responses"])} responses matched a resident '
        f"in the schedule; {_e(join['schedule_residents_without_response'])} resident(s) of the "
        "schedule did not answer this wave.</p>"
    )
    parts.extend(f'<p class="note">Model warning: {_sentence(w)}</p>' for w in model["warnings"])
    return "\n".join(parts)


def _html_cohorts(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for statement in data["invariance"]:
        parts.append(f'<p class="note">Comparing groups: {_sentence(statement)}</p>')
    for title, uri, alt in cohort_plots(data):
        parts.append(f"<h3>{_e(title)}</h3>")
        parts.append(_img(uri, alt))
    labels = {s["id"]: s["label"] for s in data["scales"]}

    def group_text(group: Mapping[str, Any]) -> str:
        column, value = group_key(group)
        return "all residents" if column is None else f"{column} {value}"

    def rows_for(scale: str) -> list[list[str]]:
        out = []
        for row in data["rows"]:
            if row["scale"] != scale:
                continue
            head = [f'<td class="text">{_e(group_text(row["group"]))}</td>', _e(row["wave"])]
            if row["suppressed"]:
                out.append([*head, _suppressed_cell(6)])
                continue
            above, below = row["share_above_midpoint"], row["share_below_midpoint"]
            out.append(
                [
                    *head,
                    _e(row["n"]),
                    fmt(row["mean"]),
                    fmt(row["sd"]),
                    f"[{fmt(row['ci_lower'])}, {fmt(row['ci_upper'])}]",
                    DASH if above is None else f"{100 * above:.0f}%",
                    DASH if below is None else f"{100 * below:.0f}%",
                ]
            )
        return out

    head = ["group", "wave", "n", "mean", "SD", "95% CI", "above midpoint", "below midpoint"]
    focus = data["focus"]
    parts.append(f"<h3>{_e(labels[focus])}: every group and wave</h3>")
    parts.append(_table(head, rows_for(focus), cls="cohort"))
    changes = [c for c in data["changes"] if c["scale"] == focus]
    if changes:
        change_rows = []
        for c in changes:
            lead = [
                f'<td class="text">{_e(group_text(c["group"]))}</td>',
                f"{_e(c['from_wave'])} → {_e(c['to_wave'])}",
            ]
            if c["suppressed"]:
                change_rows.append([*lead, _suppressed_cell(4)])
            else:
                change_rows.append(
                    [
                        *lead,
                        _e(c["n"]),
                        fmt(c["mean_change"]),
                        f"[{fmt(c['ci_lower'])}, {fmt(c['ci_upper'])}]",
                        _e(fmt_p(c["p"])),
                    ]
                )
        parts.append(f"<h3>{_e(labels[focus])}: change between waves</h3>")
        parts.append(
            _table(["group", "waves", "n", "mean change", "95% CI", "p"], change_rows, cls="changes")
        )
    others = [s for s in data["scales"] if s["id"] != focus]
    if others:
        tables = "".join(f"<h3>{_e(s['label'])}</h3>" + _table(head, rows_for(s["id"])) for s in others)
        parts.append(f"<details><summary>Every other score, every group and wave</summary>{tables}</details>")
    return "\n".join(parts)


def _html_quality(data: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    parts = []
    for entry in data["files"]:
        parts.append(f"<h3>{_e(entry['file'])}</h3>")
        if entry["records"] is None:
            read = (
                "The number of responses is not shown: this file holds a wave of fewer than "
                f"{_e(header['min_cell'])} residents"
            )
        else:
            read = f"{_e(entry['records'])} responses read"
        parts.append(f"<p>{read} (format: {_e(entry['source'])}).</p>")
        parts.append(_quality_table(entry["problems"]))
    schedule = data["schedule"]
    if schedule:
        parts.append(f"<h3>{_e(schedule['file'])} (clinic schedule)</h3>")
        parts.append(
            f"<p>{_e(schedule['rows'])} rows read; {_e(schedule['sessions_counted'])} sessions counted.</p>"
        )
        parts.append(_quality_table(schedule["problems"]))
    return "\n".join(parts)


def _quality_table(problems: Sequence[Mapping[str, Any]]) -> str:
    if not problems:
        return "<p>No problems found.</p>"
    rows = [
        [
            f'<td class="text">{_e(p["meaning"])} (<code>{_e(p["problem"])}</code>)</td>',
            f'<td class="text">{_e(p["severity"])}</td>',
            f'<td class="text">{_e(p["action"])}</td>',
            f"{_e(p['n'])} {_e(p['unit'])}",
        ]
        for p in problems
    ]
    return _table(["what was found", "severity", "what was done", "how many"], rows, cls="quality")
