"""The end-to-end demonstration behind ``sdt-survey demo``.

The demo runs every stage the package has on an embedded default, with no data
of the user's own and no network, and writes each stage's outputs to one
folder: it validates the bundled instruments, simulates a multi-program
residency data set with a known truth, exports the survey to every platform,
imports a REDCap data dictionary as a program would and scores a REDCap export
of it, reads the simulated responses back and validates and scores them (including a
deliberately messy export, to show the data-quality report), scores a large
export a block of rows at a time (the same bytes as reading it whole), and checks the
reliability of every subscale. Each stage is a function here; later
capabilities add a stage.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._spreadsheet_safe import write_csv
from .files import folder_output
from .instrument import Instrument, bundled_instruments, check_instrument, load_instrument
from .results import Result, jsonable

DEFAULT_OUT = Path("sdt-survey-demo")
#: The survey the demo deploys, simulates and analyses.
DEMO_INSTRUMENTS = ("bpn-residency", "continuity-exposure", "program-belonging")
DEMO_SEED = 2026
#: The demo's own one-item instrument: a yes/no outcome for its binomial GLMM. It is simulated with the
#: demo's instruments (from belonging and continuity, on a random stream of its own, so no other value
#: changes) and kept out of the bundled instruments, whose items are all Likert items of a subscale.
CHOICE_INSTRUMENT = """\
schema_version: 1
id: program-choice
version: "1.0.0"
title: Choosing the Program Again
description: >-
  One yes/no question: would the resident pick the same residency program
  again. No score uses it; it is the outcome of the demo's binomial GLMM.
  Item wording was written for this project.
languages: [en]
license: CC-BY-4.0
items:
  - id: choose_again
    text: Knowing what you know now, would you pick this same residency program again?
    type: single
    choices:
      - value: 1
        label: "Yes"
      - value: 0
        label: "No"
sections:
  - id: again
    title: Looking back
    items: [choose_again]
"""


@dataclass
class DemoStage:
    """What one stage did: a one-line account and the files it wrote."""

    name: str
    summary: str
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "summary": self.summary,
            "outputs": [str(p) for p in self.outputs],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class DemoResult(Result):
    """Everything the demo did, stage by stage."""

    out_dir: Path
    stages: list[DemoStage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return jsonable(
            {
                "out_dir": str(self.out_dir),
                "stages": [s.to_dict() for s in self.stages],
                "notes": list(self.notes),
                "warnings": list(self.warnings),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per stage: name, summary, seconds and the number of files it wrote."""
        return pd.DataFrame(
            [
                {"stage": s.name, "summary": s.summary, "seconds": s.seconds, "outputs": len(s.outputs)}
                for s in self.stages
            ],
            columns=["stage", "summary", "seconds", "outputs"],
        )

    def summary(self) -> str:
        lines = [f"sdt-survey demo: outputs in {self.out_dir}"]
        for stage in self.stages:
            lines.append(f"  {stage.name}: {stage.summary} ({stage.seconds:.2f} s)")
            lines.extend(f"      {path}" for path in stage.outputs)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class _Context:
    """What the stages hand on to each other."""

    out_dir: Path  # where the stages write (a staging folder, put in place at the end)
    final_dir: Path | None = None  # where the outputs end up, for what the demo writes about them
    instruments: tuple[Instrument, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ledger(self) -> Path:
        """The demo's own release ledger (a user's real one is never touched by the demo)."""
        return self.out_dir / "release-ledger.json"

    def folder(self, name: str) -> Path:
        path = self.out_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def _stage_instruments(ctx: _Context) -> tuple[str, list[Path]]:
    """Validate every bundled instrument and write its item table and definition."""
    folder = ctx.folder("instruments")
    outputs: list[Path] = []
    loaded: list[Instrument] = []
    for name in bundled_instruments():
        instrument, problems = check_instrument(name)
        if instrument is None:
            # A bundled file that fails validation is a packaging bug, not a user error.
            raise RuntimeError(f"bundled instrument {name} is invalid:\n" + "\n".join(map(str, problems)))
        loaded.append(instrument)
        table = folder / f"{instrument.id}.items.csv"
        write_csv(instrument.to_frame(), table, index=False)
        definition = folder / f"{instrument.id}.json"
        definition.write_text(json.dumps(instrument.to_dict(), indent=2, ensure_ascii=False) + "\n")
        outputs += [table, definition]
    ctx.instruments = tuple(load_instrument(name) for name in DEMO_INSTRUMENTS)
    n_items = sum(len(inst.items) for inst in loaded)
    n_subscales = sum(len(inst.subscales) for inst in loaded)
    return (
        f"{len(loaded)} bundled instruments valid ({n_items} items, {n_subscales} subscales)",
        outputs,
    )


def _stage_simulate(ctx: _Context) -> tuple[str, list[Path]]:
    """Simulate a multi-program residency data set, clean and messy."""
    from .simulate import simulate

    result = simulate(list(ctx.instruments), seed=DEMO_SEED)
    written = result.write(ctx.folder("data"))
    messy = simulate(list(ctx.instruments), seed=DEMO_SEED, messy=True)
    messy_path = ctx.folder("data") / "responses_messy.csv"
    write_csv(messy.responses, messy_path, index=False)
    ctx.data["simulation"] = result
    ctx.data["responses"] = written[0]
    ctx.data["messy"] = messy_path
    n_residents = result.responses["resident"].nunique()
    n_programs = result.responses["program"].nunique()
    return (
        f"{n_residents} residents in {n_programs} programs, {result.design.n_waves} waves, "
        f"{len(result.schedule)} clinic sessions; a messy copy with {len(messy.truth.faults)} faults",
        [*written, messy_path],
    )


def _stage_score(ctx: _Context) -> tuple[str, list[Path]]:
    """Validate and score the responses; show what the validator says about a messy export."""
    from .responses import ResponseValidationError
    from .scoring import keygen, score

    folder = ctx.folder("scores")
    scored = score(ctx.instruments, ctx.data["responses"], id_column="resident", flag_careless=True)
    scores_path = scored.write(folder / "scores.csv")
    report_path = scored.report.write(folder / "quality.csv")
    try:
        score(ctx.instruments, ctx.data["messy"], id_column="resident")
        raise RuntimeError("the messy export should not have passed validation")
    except ResponseValidationError as exc:
        blocked = exc.report
    messy_report = blocked.write(folder / "quality_messy.csv")
    rescued = score(ctx.instruments, ctx.data["messy"], id_column="resident", invalid="as-missing",
                    duplicates="keep-first")  # fmt: skip
    rescued_path = rescued.write(folder / "scores_messy_as_missing.csv")
    # Pseudonymized scores: a key made on purpose (sdt-survey keygen), no raw id in any output.
    key = keygen(folder / "program.key")
    pseudonymized = score(ctx.instruments, ctx.data["responses"], id_column="resident", pseudonymize_key=key)
    pseudonymized_path = pseudonymized.write(folder / "scores_pseudonymized.csv")
    ctx.data["scored"] = scored
    errors = blocked.errors["problem"].value_counts()
    listed = ", ".join(f"{n} {kind}" for kind, n in errors.items())
    return (
        f"{len(scored.scores)} response rows scored ({int(scored.scores['careless'].sum())} flagged as "
        f"possibly careless); the messy export was refused ({listed}) and then scored with "
        "--invalid as-missing, every decision in its report; pseudonymized scores with a new key",
        [scores_path, report_path, messy_report, rescued_path, key, pseudonymized_path],
    )


def _stage_large_file(ctx: _Context) -> tuple[str, list[Path]]:
    """Score a large export a block of rows at a time (bounded memory): the same bytes as reading it whole."""
    from .scoring import score
    from .scoring.streaming import score_streaming, stream_refusal

    folder = ctx.folder("large-file")
    responses = ctx.data["simulation"].responses
    # Forty programs' worth of the simulated wave (each copy's residents renamed): a file of 5-6 MiB.
    copies = [responses.assign(resident=responses["resident"].astype(str) + f"-{c:02d}") for c in range(40)]
    large = folder / "responses_large.csv"
    write_csv(pd.concat(copies, ignore_index=True), large, index=False)
    bpn = load_instrument("bpn-residency")
    streamed_path, report_path = folder / "scores_streamed.csv", folder / "quality_streamed.csv"
    streamed = score_streaming(bpn, large, streamed_path, report=report_path, id_column="resident")
    if streamed is None:
        why = stream_refusal([bpn], large, streamed_path, report_path, id_column="resident")
        raise RuntimeError(f"the large file should have been scored a block at a time: {why}")
    whole = score(bpn, large, id_column="resident")
    whole_path = whole.write(folder / "scores_whole.csv")
    if streamed_path.read_bytes() != whole_path.read_bytes():
        raise RuntimeError("the streamed scores differ from the whole-file path's")
    megabytes = large.stat().st_size / 2**20
    return (
        f"{len(whole.scores)} rows ({megabytes:.1f} MiB) scored a block of rows at a time, in bounded "
        "memory; the same bytes as reading the file whole",
        [large, streamed_path, report_path, whole_path],
    )


def _stage_study(ctx: _Context) -> tuple[str, list[Path]]:
    """A study: one study file naming the waves, the schedule and the cleaning decisions, cleaned once."""
    from .study import Study

    folder = ctx.folder("study")
    study = Study.init(
        folder,
        instruments=[inst.id for inst in ctx.instruments],
        waves=["../data/responses_w1.csv", "../data/responses_w2.csv"],
        id_column="resident",
        by=["pgy"],
        schedule="../data/schedule.csv",
    )
    result = study.clean()
    ctx.data["study"] = study
    outputs = sorted(p for p in folder.rglob("*") if p.is_file())
    return (
        f"study.yaml written and cleaned once: {result.manifest['n_respondents']} response rows, "
        f"{len(result.manifest['decisions'])} decisions recorded in the manifest; the report below "
        "takes its analysis data set (sdt-survey report --study study/study.yaml)",
        outputs,
    )


def _stage_export(ctx: _Context) -> tuple[str, list[Path]]:
    """Export the demo survey to every platform."""
    from .platforms import PLATFORMS, TARGETS, export_survey

    folder = ctx.folder("export")
    suffix = {target.name: target.suffix for platform in PLATFORMS for target in platform.targets}
    outputs: list[Path] = []
    for target in TARGETS:
        result = export_survey(list(ctx.instruments), target, folder / f"survey-{target}{suffix[target]}")
        outputs += result.paths
    # The scores as REDCap calc fields, so REDCap shows each subscale as it is answered (--with-scores).
    scored = export_survey(
        list(ctx.instruments), "redcap", folder / "survey-redcap-with-scores.csv", with_scores=True
    )
    outputs += scored.paths
    return (
        f"the survey ({len(ctx.instruments)} instruments) exported to {', '.join(TARGETS)}; "
        "REDCap also with the scores as calc fields",
        outputs,
    )


#: The instrument the demo's import stage treats as a program's own REDCap instrument.
IMPORT_INSTRUMENT = "program-belonging"


def _stage_import(ctx: _Context) -> tuple[str, list[Path]]:
    """Import a REDCap dictionary as a program would, add its subscale, and score a REDCap export of it."""
    import yaml

    from .platforms import export_survey
    from .platforms.importing import import_instrument
    from .scoring import score

    folder = ctx.folder("import")
    bundled = load_instrument(IMPORT_INSTRUMENT)
    dictionary = folder / f"{IMPORT_INSTRUMENT}-redcap-dictionary.csv"
    export_survey(bundled, "redcap", dictionary)
    imported = import_instrument(
        dictionary, instrument_id="belonging-imported", report=folder / "import-report.txt"
    )
    # What the user does next: add the subscale (the reverse keys came with sdt-survey's own dictionary).
    definition = dict(imported.definition)
    definition["subscales"] = {
        "belonging": {"items": [item["id"] for item in definition["items"]], "min_valid": 0.75}
    }
    instrument_path = folder / "belonging-imported.yaml"
    instrument_path.write_text(
        yaml.safe_dump(definition, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    instrument = load_instrument(instrument_path)
    # A REDCap records export of the imported instrument: record_id, its fields, the form's status.
    wave = ctx.data["simulation"].responses
    wave = wave[wave["wave"] == 1]
    records = wave[["resident", *instrument.item_ids]].rename(columns={"resident": "record_id"})
    records[f"{instrument.id.replace('-', '_')}_complete"] = 2
    export = folder / "redcap-records.csv"
    write_csv(records, export, index=False)
    scored = score(instrument, export, id_column="record_id")
    scores_path = scored.write(folder / "scores.csv")
    reference = score(bundled, export, id_column="record_id").scores["program_belonging"].to_numpy()
    difference = abs(scored.scores["belonging"].to_numpy() - reference)
    if (difference[~pd.isna(difference)] > 1e-12).any():
        raise RuntimeError("the imported instrument scores differently from the bundled one")
    return (
        f"{IMPORT_INSTRUMENT}'s REDCap dictionary imported ({imported.counts['items']} items, "
        f"{imported.counts['scales']} scale inferred, reverse keys kept; "
        f"{len(imported.report)} report lines); "
        f"with its subscale added, a REDCap export of {len(records)} records scored exactly as the bundled "
        "instrument scores it",
        [dictionary, folder / "import-report.txt", instrument_path, export, scores_path],
    )


def _stage_reliability(ctx: _Context) -> tuple[str, list[Path]]:
    """Reliability of every subscale on wave 1, with program ICCs and test-retest."""
    from .reliability import instrument_reliability

    folder = ctx.folder("reliability")
    # The analysis data set of the score stage: the responses are not read or scored again.
    report = instrument_reliability(
        ctx.instruments, ctx.data["scored"], id_column="resident", group_column="program"
    )
    table = folder / "reliability.txt"
    table.write_text(report.summary() + "\n", encoding="utf-8")
    as_json = folder / "reliability.json"
    as_json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    alphas = [res.alpha for r in report.reports for res in r.scales.values()]
    return (
        f"alpha of {len(alphas)} subscales from {min(alphas):.2f} to {max(alphas):.2f}; omega, "
        "item analysis, program ICCs and test-retest written",
        [table, as_json],
    )


def _stage_factor(ctx: _Context) -> tuple[str, list[Path]]:
    """EFA, CFA (ML and ordinal WLSMV) and invariance across PGY (continuous and ordinal) on wave 1."""
    from .factor.exploratory import instrument_factor_report
    from .scoring import score

    folder = ctx.folder("factor")
    # One intake of wave 1; the EFA, both CFAs and the invariance check take its analysis data set.
    wave1 = score(ctx.instruments[0], ctx.out_dir / "data" / "responses_w1.csv", id_column="resident")
    report = instrument_factor_report(ctx.instruments[0], wave1, id_column="resident", seed=DEMO_SEED)
    text = folder / "efa.txt"
    text.write_text(report.summary() + "\n", encoding="utf-8")
    as_json = folder / "efa.json"
    as_json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    from .factor.sem.pipeline import instrument_cfa, instrument_invariance

    cfa = instrument_cfa(ctx.instruments[0], wave1, id_column="resident")
    cfa_text = folder / "cfa.txt"
    cfa_text.write_text(cfa.summary(modindices=5) + "\n", encoding="utf-8")
    cfa_json = folder / "cfa.json"
    cfa_json.write_text(json.dumps(cfa.to_dict(), indent=2) + "\n", encoding="utf-8")
    ordinal = instrument_cfa(ctx.instruments[0], wave1, id_column="resident", estimator="WLSMV")
    ordinal_json = folder / "cfa_wlsmv.json"
    ordinal_json.write_text(json.dumps(ordinal.to_dict(), indent=2) + "\n", encoding="utf-8")
    invariance = instrument_invariance(ctx.instruments[0], wave1, "pgy", id_column="resident")
    inv_json = folder / "invariance_pgy.json"
    inv_json.write_text(json.dumps(invariance.to_dict(), indent=2) + "\n", encoding="utf-8")
    ordinal_said, ordinal_files = _ordinal_invariance(ctx, wave1, folder)
    waves_said, waves_files = _longitudinal_invariance(ctx, folder)
    fit, cfa_fit = report.efa.fit, cfa.to_dict()["fit"]
    return (
        f"KMO {report.kmo.msa:.2f}; parallel analysis suggests {report.parallel.n_factors} factors; "
        f"EFA with {report.efa.n_factors}: TLI {fit['TLI']:.3f}; CFA (FIML): CFI {cfa_fit['cfi']:.3f}, "
        f"RMSEA {cfa_fit['rmsea']:.3f}; ordinal CFA (WLSMV): robust RMSEA "
        f"{ordinal.to_dict()['fit']['rmsea_robust']:.3f}; invariance across PGY: "
        f"{invariance.to_dict()['conclusion']}; {ordinal_said}; {waves_said}",
        [text, as_json, cfa_text, cfa_json, ordinal_json, inv_json, *ordinal_files, *waves_files],
    )


def _longitudinal_invariance(ctx: _Context, folder: Path) -> tuple[str, list[Path]]:
    """Invariance of relatedness satisfaction across the two waves of the same residents (MLR, FIML)."""
    from .factor.sem.pipeline import instrument_longitudinal_invariance

    result = instrument_longitudinal_invariance(
        ctx.instruments[0],
        ctx.data["scored"],  # both waves, scored once by the score stage
        model="relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4",
        estimator="MLR",
        id_column="resident",
    )
    text = folder / "invariance_waves.txt"
    text.write_text(result.summary() + "\n", encoding="utf-8")
    as_json = folder / "invariance_waves.json"
    as_json.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    steps = ", ".join(f"{c.to_step} {c.status}" for c in result.comparisons)
    return f"relatedness satisfaction across waves 1 and 2 (MLR, FIML): {steps}", [text, as_json]


#: The model of the demo's ordinal invariance chain: relatedness, its satisfaction and frustration items.
ORDINAL_MODEL = (
    "relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4\nrelatedness_frustration =~ rf1 + rf2 + rf3 + rf4"
)


def _ordinal_invariance(ctx: _Context, wave1: Any, folder: Path) -> tuple[str, list[Path]]:
    """Invariance across PGY of relatedness, its five-point answers as ordinal (WLSMV, Wu & Estabrook)."""
    from .factor.sem.pipeline import instrument_invariance

    result = instrument_invariance(
        ctx.instruments[0],
        wave1,
        "pgy",
        id_column="resident",
        model=ORDINAL_MODEL,
        estimator="WLSMV",
    )
    text = folder / "invariance_pgy_wlsmv.txt"
    text.write_text(result.summary() + "\n", encoding="utf-8")
    as_json = folder / "invariance_pgy_wlsmv.json"
    as_json.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    steps = ", ".join(f"{c.to_step} {c.status}" for c in result.comparisons)
    return f"relatedness answers as ordinal (WLSMV) across PGY: {steps}", [text, as_json]


def _stage_continuity(ctx: _Context) -> tuple[str, list[Path]]:
    """Continuity indices from the simulated clinic schedule."""
    from .continuity import continuity_indices

    result = continuity_indices(
        ctx.out_dir / "data" / "schedule.csv",
        learner_column="resident",
        faculty_column="faculty",
        time_column="session_date",
        assigned_column="assigned",
    )
    path = result.write(ctx.folder("continuity") / "continuity.csv")
    ctx.data["continuity"] = path
    coc = result.indices["coc"]
    return (
        f"{len(result.indices)} residents: COC median {coc.median():.2f} (range {coc.min():.2f} to "
        f"{coc.max():.2f}), UPC, MMCI, SECON and entropy",
        [path],
    )


def _stage_model(ctx: _Context) -> tuple[str, list[Path]]:
    """Relatedness against continuity: a multilevel model with a dose-response curve."""
    from .mixed import model_relatedness
    from .scoring import read_table

    folder = ctx.folder("models")
    wave1 = ctx.data["scored"].scores.query("wave == 1")
    result = model_relatedness(
        wave1,
        read_table(ctx.data["continuity"]),
        "relatedness_satisfaction ~ coc + pgy + (1|program)",
        id_column="resident",
        spline="coc:df=3",
    )
    text = folder / "model.txt"
    text.write_text(result.summary() + "\n", encoding="utf-8")
    as_json = folder / "model.json"
    as_json.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    plot = result.plot(folder / "dose_response.png")
    truth = ctx.data["simulation"].truth.continuity_effects["relatedness_satisfaction"]
    anova = result.anova()  # lmerTest's Type III F tests, Satterthwaite df
    coc_rows = anova[[("coc" in str(t)) for t in anova.index]]
    satt = (
        f"Satterthwaite F({coc_rows['NumDF'].iat[0]}, {coc_rows['DenDF'].iat[0]:.1f}) = "
        f"{coc_rows['F'].iat[0]:.1f}, p = {coc_rows['p'].iat[0]:.2g}; "
        if len(coc_rows)
        else ""
    )
    glmm_outputs, glmm_summary = _choose_again_glmm(ctx, wave1, folder)
    return (
        f"relatedness satisfaction on COC: {satt}LRT p = {result.lrt.pvalue:.2g}; ICC {result.icc:.3f}; "
        f"marginal R2 {result.r2_marginal:.3f} (simulated truth: {truth} latent SD per SD of COC); "
        + glmm_summary,
        [text, as_json, Path(plot), *glmm_outputs],
    )


def _choose_again_glmm(ctx: _Context, wave1: pd.DataFrame, folder: Path) -> tuple[list[Path], str]:
    """A GLMM: "would you choose this program again?" (yes/no) against COC, logistic as lme4::glmer."""
    from .instrument import parse_instrument
    from .mixed import model_relatedness
    from .scoring import read_table
    from .simulate import simulate

    # The same simulation with the one-item instrument added: every other value is as before.
    choice = parse_instrument(CHOICE_INSTRUMENT)
    sim = simulate([*ctx.instruments, choice], seed=DEMO_SEED)
    answers = sim.responses.query("wave == 1")[["resident", "choose_again"]]
    data = wave1.merge(answers, on="resident", how="left")
    definition = folder / "program-choice.yaml"
    definition.write_text(CHOICE_INSTRUMENT, encoding="utf-8")
    result = model_relatedness(
        data,
        read_table(ctx.data["continuity"]),
        "choose_again ~ coc + (1|program)",
        id_column="resident",
        family="binomial",
    )
    text = folder / "choose_again_glmm.txt"
    text.write_text(result.summary() + "\n", encoding="utf-8")
    as_json = folder / "choose_again_glmm.json"
    as_json.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    ratio = result.odds_ratios.loc["coc"]
    per_tenth = math.exp(0.1 * float(result.fixed.loc["coc", "estimate"]))
    return [definition, text, as_json], (
        f"would choose the program again (binomial GLMM): odds ratio per 0.1 of COC {per_tenth:.2f} "
        f"(per unit {ratio['odds_ratio']:.3g}, 95% CI {ratio['ci_lower']:.3g} to {ratio['ci_upper']:.3g})"
    )


def _stage_latent_model(ctx: _Context) -> tuple[str, list[Path]]:
    """The same question without measurement error: relatedness as a latent factor of its items."""
    from .factor.sem import latent_continuity_model
    from .scoring import read_table

    result = latent_continuity_model(
        ctx.data["scored"],
        read_table(ctx.data["continuity"]),
        "relatedness_satisfaction ~ coc + pgy + (1|program)",
        id_column="resident",
    )
    path = result.write(ctx.folder("models") / "latent_model.txt")
    as_json = result.write(ctx.folder("models") / "latent_model.json")
    coc = result.effects.set_index("predictor").loc["coc"]
    return (
        f"latent relatedness satisfaction on COC (MLR, SEs robust to {result.n_clusters} programs): "
        f"b = {coc['est']:.2f} (SE {coc['se']:.2f}, p = {coc['pvalue']:.2g}), "
        f"{coc['std_all']:.2f} latent SD per SD of COC",
        [path, as_json],
    )


def _stage_power(ctx: _Context) -> tuple[str, list[Path]]:
    """A small Monte-Carlo power curve for the continuity effect."""
    from .power import power_analysis

    folder = ctx.folder("power")
    result = power_analysis(
        {"n_programs": [6, 12]}, n_replicates=12, seed=DEMO_SEED, n_jobs=1, residents_per_program=20
    )
    table = folder / "power.csv"
    write_csv(result.to_frame(), table, index=False)
    plot = result.plot(folder / "power.png")
    powers = ", ".join(f"{p:.2f}" for p in result.table["power"])
    return f"power of the continuity effect with 6 and 12 programs: {powers} (12 replicates each)", [
        table,
        Path(plot),
    ]


def _stage_cohorts(ctx: _Context) -> tuple[str, list[Path]]:
    """Belonging by PGY and clinic across waves, small cells suppressed, the ledger holding across runs."""
    from .cohorts import cohort_summary
    from .errors import LedgerError

    folder = ctx.folder("cohorts")
    report = cohort_summary(
        ctx.instruments[0],
        ctx.data["responses"],
        id_column="resident",
        by=["pgy", "clinic"],
        min_cell=10,
        ledger=ctx.ledger,
    )
    path = report.write(folder / "cohorts.json")
    text = report.write(folder / "cohorts.txt")
    rows = report.to_dict()["rows"]
    hidden = sum(row["suppressed"] for row in rows)
    # A second, disclosive release of the same residents: the ledger refuses it.
    try:
        cohort_summary(
            ctx.instruments[0],
            ctx.data["responses"],
            id_column="resident",
            by=["clinic"],
            min_cell=5,
            ledger=ctx.ledger,
            invariance=False,
        )
    except LedgerError as refusal:
        refused = folder / "second-release-refused.txt"
        message = str(refusal).replace(str(ctx.out_dir), str(ctx.final_dir or ctx.out_dir))
        command = "sdt-survey cohorts ... --by clinic --min-cell 5"
        refused.write_text(f"{command}\nerror: {message}\n", encoding="utf-8")
    else:  # pragma: no cover - the ledger must refuse; the demo test checks it does
        raise RuntimeError("the release ledger accepted a release with a smaller minimum cell size")
    return (
        f"{len(rows)} cohort figures, {hidden} suppressed (minimum cell 10) to protect small groups; "
        "a second release at minimum cell 5 refused by the release ledger",
        [path, text, refused],
    )


def _stage_report(ctx: _Context) -> tuple[str, list[Path]]:
    """The leader report: every section in one self-contained HTML file, and its JSON."""
    from .report import build_report

    folder = ctx.folder("report")
    data = ctx.out_dir / "data"
    # The study's analysis data set (both waves, cleaned once): the report reads no response file.
    report = build_report(
        ctx.instruments[0],
        ctx.data["study"].data,
        id_column="resident",
        by=["pgy"],
        schedule=data / "schedule.csv",
        schedule_options={"time_column": "session_date", "assigned_column": "assigned"},
        min_cell=10,
        ledger=ctx.ledger,
    )
    html = report.write_html(folder / "report.html")
    as_json = report.write_json(folder / "report.json")
    sections = report.to_dict()["sections"]
    filled = sum(section["status"] == "ok" for section in sections.values())
    return f"{filled} of {len(sections)} sections filled; open {html.name} in any browser", [html, as_json]


STAGES: list[tuple[str, Callable[[_Context], tuple[str, list[Path]]]]] = [
    ("instruments", _stage_instruments),
    ("simulate", _stage_simulate),
    ("export", _stage_export),
    ("import", _stage_import),
    ("score", _stage_score),
    ("large file", _stage_large_file),
    ("study", _stage_study),
    ("reliability", _stage_reliability),
    ("factor", _stage_factor),
    ("continuity", _stage_continuity),
    ("model", _stage_model),
    ("latent model", _stage_latent_model),
    ("power", _stage_power),
    ("cohorts", _stage_cohorts),
    ("report", _stage_report),
]


def run_demo(
    out_dir: str | Path = DEFAULT_OUT,
    progress: Callable[[str], None] | None = None,
    *,
    overwrite: bool = False,
) -> DemoResult:
    """Run every stage of the pipeline on the embedded default.

    The outputs are staged and put in place together when every stage has
    finished (see :func:`sdt_survey.files.folder_output`), so an interrupted
    demo leaves the folder as it was.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder for the outputs (created if needed). It may be new, empty, or
        hold only an earlier demo's files, which are replaced; a folder
        holding anything else needs ``overwrite=True``, and even then only the
        demo's own files are replaced.
    progress : callable, optional
        Called with a short message as each stage starts.
    overwrite : bool
        Write beside files the demo did not write (never replacing them).

    Returns
    -------
    DemoResult

    Examples
    --------
    The demo takes about 20 s, so this example is not run here (tests/test_cli.py runs the demo):

    >>> import tempfile
    >>> result = run_demo(tempfile.mkdtemp())  # doctest: +SKIP
    >>> [stage.name for stage in result.stages]  # doctest: +SKIP
    ['instruments', 'simulate', 'export', 'import', 'score', 'study', 'reliability', 'factor', 'continuity',
     'model', 'power', 'cohorts', 'report']
    """
    result = DemoResult(Path(out_dir))
    with folder_output(out_dir, overwrite=overwrite, own_files_ok=True) as staged:
        ctx = _Context(staged.root, final_dir=Path(out_dir))
        for number, (name, stage) in enumerate(STAGES, start=1):
            if progress is not None:
                progress(f"[{number}/{len(STAGES)}] {name} ...")
            started = time.perf_counter()
            summary, outputs = stage(ctx)
            # Each stage wrote into the staging folder; report where the files will be.
            outputs = [staged.final(path) for path in outputs]
            result.stages.append(DemoStage(name, summary, outputs, time.perf_counter() - started))
        (staged.root / "demo.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
