"""Simulated data and the whole pipeline on it: simulate, demo."""

from __future__ import annotations

from pathlib import Path

import click

from ..._options import FiniteFloat
from ..options import (
    FORMAT_OUTPUT,
    emit,
    parse_range,
    parse_settings,
)
from ..support import check_files, existing_files, force_option


@click.command(name="simulate")
@click.argument("instruments", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    required=True,
    help="Random seed: the same seed gives the same data.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option(
    "--programs",
    type=click.IntRange(min=1),
    default=None,
    help="Number of residency programs (default 14). A design too large for this machine's memory "
    "is refused before any work, saying how much it would need.",
)
@click.option(
    "--residents", default=None, metavar="MIN-MAX", help="Residents per program, 1 or more (default 20-40)."
)
@click.option(
    "--waves", type=click.IntRange(min=1), default=None, help="Survey waves, 1 or more (default 2)."
)
@click.option(
    "--attrition",
    type=FiniteFloat(0, 1, max_open=True),
    default=None,
    help="Share not answering each later wave, from 0 up to but not including 1 (0.15).",
)
@click.option(
    "--continuity-effect",
    type=FiniteFloat(),
    default=None,
    help="Effect of 1 SD of continuity (COC) on relatedness satisfaction, in latent SD (0.30); "
    "any finite number.",
)
@click.option(
    "--mcar",
    type=FiniteFloat(0, 1, max_open=True),
    default=None,
    help="Share of answers missing completely at random, from 0 up to but not including 1 (0.02).",
)
@click.option("--messy", is_flag=True, help="Add the faults real exports have (see docs/simulation.md).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any other design parameter, e.g. --set 'program_sd={relatedness_satisfaction: 0.5}'.",
)
@force_option(
    "Write into a folder that holds files simulate did not write (they are kept: only simulate's own "
    "files are ever replaced). Not needed for a new or empty folder, or one holding only an earlier "
    "simulation, which is replaced."
)
@FORMAT_OUTPUT
def simulate_command(
    instruments: tuple[str, ...],
    seed: int,
    out_dir: str,
    programs: int | None,
    residents: str | None,
    waves: int | None,
    attrition: float | None,
    continuity_effect: float | None,
    mcar: float | None,
    messy: bool,
    settings: tuple[str, ...],
    force: bool,
    fmt: str,
) -> None:
    """Simulate residency survey data with a known truth.

    Residents nested in clinics and programs, a year of continuity-clinic
    sessions with faculty, latent needs that depend on continuity, ordinal
    answers, waves with attrition, and missing answers (MCAR and MAR). Writes
    responses.csv (all waves), responses_wN.csv, schedule.csv and truth.json
    (every parameter and the per-resident continuity indices). The population
    model and every parameter: docs/simulation.md.

    \b
    Examples:
      sdt-survey simulate bpn-residency --seed 1 --out sim/
      sdt-survey simulate bpn-residency continuity-exposure --seed 7 --programs 30 \\
          --continuity-effect 0.5 --out sim/
      sdt-survey simulate bpn-residency --seed 2 --messy --out messy/
    """
    from ...simulate import simulate

    check_files(
        {"--out": out_dir},
        {"an instrument file": existing_files(instruments)},
        force=force,
        folder="--out",
        own_files_ok=True,
    )
    design = parse_settings(settings)
    given = {
        "n_programs": programs,
        "residents_per_program": parse_range(residents, "--residents") if residents else None,
        "n_waves": waves,
        "attrition": attrition,
        "mcar_rate": mcar,
    }
    design.update({k: v for k, v in given.items() if v is not None})
    if continuity_effect is not None:
        from ...simulate import SimulationDesign

        effects = dict(design.get("continuity_effects") or SimulationDesign().continuity_effects)
        effects["relatedness_satisfaction"] = continuity_effect
        design["continuity_effects"] = effects
    if messy:
        design["messy"] = True
    result = simulate(list(instruments), seed=seed, **design)
    written = result.write_folder(out_dir, overwrite=force)
    emit(result, fmt)
    for path in written:
        click.echo(f"  wrote {path}", err=fmt != "table")


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sdt-survey-demo"),
    show_default=True,
    help="Folder for every output.",
)
@force_option(
    "Write into a folder that holds files the demo did not write (they are kept: only the demo's own "
    "files are ever replaced). Not needed for a new or empty folder, or one holding only an earlier "
    "demo, which is replaced, so the demo can be re-run."
)
@FORMAT_OUTPUT
def demo(out_dir: Path, force: bool, fmt: str) -> None:
    """Run every stage of the pipeline on an embedded default, no data needed.

    Writes each stage's outputs under --out and prints where they went. As
    capabilities land (simulation, scoring, export, reliability, factor
    analysis, continuity, models, cohorts, report) they join the demo.
    """
    from ...demo import run_demo

    check_files({"--out": out_dir}, {}, force=force, folder="--out", own_files_ok=True)
    result = run_demo(out_dir, progress=lambda message: click.echo(message, err=True), overwrite=force)
    emit(result, fmt)
