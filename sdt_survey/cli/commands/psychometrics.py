"""Psychometrics: reliability, efa, cfa, invariance."""

from __future__ import annotations

from typing import Any

import click

from ..._terminal import terminal_text
from ...factor.exploratory.parallel import DEFAULT_SEED
from ...factor.sem.estimators import ESTIMATORS, continuous_estimators
from ...instrument import load_instrument
from ..group import cli
from ..options import (
    FORMAT_OUTPUT,
    OUT_FILE,
    PAIRWISE_OPTION,
    QUIET_OPTION,
    as_reading,
    cfa_options,
    check_analysis_files,
    format_option,
    model_argument,
    plot_option,
    reading_options,
    render,
    split_instruments_and_file,
    study_option,
    wave_value,
    write_or_echo,
)


@cli.command(name="reliability")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@format_option("table for people; json (the documented shape) or csv (one row per item) for scripts.")
@PAIRWISE_OPTION
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    help="Bootstrap resamples for alpha's interval (e.g. 2000; 0, the default, skips the bootstrap).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the bootstrap.")
@click.option(
    "--group-column",
    default=None,
    help="Units (program, clinic) whose subscale means' reliability is reported: ICC(1), ICC(2).",
)
@QUIET_OPTION
@OUT_FILE
def reliability_command(
    args: tuple[str, ...],
    reading: dict[str, Any],
    fmt: str,
    missing: str,
    bootstrap: int,
    seed: int | None,
    group_column: str | None,
    out_path: str | None,
    force: bool,
) -> None:
    """Reliability and item analysis of every subscale, exact to R's psych.

    Reads and validates the responses exactly as `sdt-survey score` does
    (same options), applies reverse keys, then reports for every subscale
    psych::alpha's table (raw and standardized alpha, lambda 6, average r,
    signal/noise, Duhachek's SE; Feldt, Duhachek and bootstrap intervals;
    item-total statistics and alpha if deleted), omega total, and for the
    instrument omega hierarchical and ECV. With --group-column, ICC(1),
    ICC(2) and the design effect of each subscale mean across the units; with
    an id column and two waves, test-retest ICCs for respondents in both.
    Items whose deletion would raise alpha (^) and r.drop < .30 (!) are flagged.

    \b
    Examples:
      sdt-survey reliability bpn-residency wave1.csv --id-column resident
      sdt-survey reliability bpn-residency wave1.csv --bootstrap 2000 --seed 1 --format json
      sdt-survey reliability bpn-residency wave1.csv --group-column program
    """
    from ...reliability import instrument_reliability

    instruments, responses_path = split_instruments_and_file(args)
    check_analysis_files(out_path, instruments, responses_path, reading["mapping"], force=force)
    report = instrument_reliability(
        instruments,
        responses_path,
        **reading,
        missing=missing,
        bootstrap=bootstrap,
        seed=seed,
        group_column=group_column,
    )
    write_or_echo(render(report, fmt), out_path, "reliability", force)


@cli.command(name="efa")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@click.option(
    "--factors",
    "n_factors",
    type=click.IntRange(min=1),
    default=None,
    help="Number of factors, 1 or more and fewer than the items (default: as parallel analysis suggests).",
)
@click.option(
    "--fm",
    type=click.Choice(["minres", "ml", "pa"]),
    default="minres",
    show_default=True,
    help="Extraction: minimum residual, maximum likelihood or principal axis (as psych::fa).",
)
@click.option(
    "--rotate",
    type=click.Choice(["oblimin", "promax", "varimax", "geomin", "none"]),
    default="oblimin",
    show_default=True,
    help="Rotation (oblique: oblimin, promax, geomin).",
)
@PAIRWISE_OPTION
@click.option(
    "--subscale",
    "subscales",
    multiple=True,
    metavar="ID",
    help="Analyse only these subscales' items (repeat the option).",
)
@click.option(
    "--iterations",
    "n_iter",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Simulated data sets of the parallel analysis (1 or more).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Seed of the parallel analysis: the same data give the same result every run (reported).",
)
@plot_option("Write the scree plot (eigenvalues with parallel analysis's reference lines) as .png, .svg "
             "or .pdf.")  # fmt: skip
@QUIET_OPTION
@FORMAT_OUTPUT
@OUT_FILE
def efa_command(
    args: tuple[str, ...],
    reading: dict[str, Any],
    n_factors: int | None,
    fm: str,
    rotate: str,
    missing: str,
    subscales: tuple[str, ...],
    n_iter: int,
    seed: int,
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Exploratory factor analysis of an instrument's items, exact to R's psych.

    Reads and validates the responses as `sdt-survey score` does and applies
    reverse keys, then reports KMO (overall and per item), Bartlett's test,
    parallel analysis with the scree data (as psych::fa.parallel), and the
    EFA: loadings (below .30 blanked in the table), communalities, factor
    correlations, chi-square with Bartlett's correction, TLI, RMSEA with its
    90% interval and BIC. Factors are named after the subscale whose items
    load on them when the loadings make it clear (the notes say which);
    parallel analysis uses a fixed default seed, so runs repeat exactly.

    \b
    Examples:
      sdt-survey efa bpn-residency wave1.csv --id-column resident
      sdt-survey efa bpn-residency wave1.csv --factors 6 --fm ml --rotate promax --format json
      sdt-survey efa bpn-residency wave1.csv --plot scree.png
    """
    from ...factor.exploratory import instrument_factor_report

    instruments, responses_path = split_instruments_and_file(args)
    check_analysis_files(
        out_path, instruments, responses_path, reading["mapping"], force=force, plot_path=plot_path
    )
    report = instrument_factor_report(
        instruments,
        responses_path,
        n_factors=n_factors,
        subscales=list(subscales) or None,
        fm=fm,
        rotate=rotate,
        missing=missing,
        n_iter=n_iter,
        seed=seed,
        **reading,
    )
    write_or_echo(render(report, fmt), out_path, "efa", force)
    if plot_path:
        click.echo(f"scree plot: {report.plot(plot_path, overwrite=force)}", err=fmt != "table")


@cli.command(name="cfa")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@reading_options
@cfa_options
@click.option("--std-lv", is_flag=True, help="Identify factors by unit variance instead of a marker loading.")
@click.option(
    "--modindices",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Show the N largest modification indices.",
)
@click.option("--emit-lavaan", is_flag=True, help="Print the equivalent lavaan syntax and stop.")
@plot_option("Write the path diagram (standardized loadings, factor correlations, residual variances) "
             "as .png, .svg or .pdf.")  # fmt: skip
@QUIET_OPTION
@FORMAT_OUTPUT
@OUT_FILE
def cfa_command(
    args: tuple[str, ...],
    reading: dict[str, Any],
    model_kind: str,
    syntax_path: str | None,
    estimator: str,
    missing: str,
    wave: str | None,
    std_lv: bool,
    modindices: int,
    emit_lavaan: bool,
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Confirmatory factor analysis of an instrument, exact to lavaan.

    Reads and validates the responses as `sdt-survey score` does and applies
    reverse keys, then fits the instrument's factor model by maximum
    likelihood: chi-square, CFI, TLI, RMSEA with its 90% interval and
    p-close, SRMR, AIC, BIC, log-likelihood; estimates with SE, z and p; the
    standardized solution; factor correlations; CFA-based omega; and, on
    request, modification indices. Non-convergence, Heywood cases and
    under-identification are explained in plain words.

    \b
    Examples:
      sdt-survey cfa bpn-residency wave1.csv --id-column resident
      sdt-survey cfa bpn-residency wave1.csv --estimator MLR --missing fiml --format json
      sdt-survey cfa bpn-residency wave1.csv --model bifactor --emit-lavaan
      sdt-survey cfa bpn-residency wave1.csv --syntax my-model.lav --modindices 10
      sdt-survey cfa bpn-residency wave1.csv --plot paths.svg
    """
    from ...factor.sem import CFAModel, instrument_cfa
    from ...factor.sem import emit_lavaan as to_lavaan

    instruments, responses_path = split_instruments_and_file(args)
    model = model_argument(model_kind, syntax_path)
    if not emit_lavaan:  # --emit-lavaan only prints
        check_analysis_files(
            out_path,
            instruments,
            responses_path,
            reading["mapping"],
            force=force,
            syntax_path=syntax_path,
            plot_path=plot_path,
        )
    if emit_lavaan:
        if syntax_path is not None:
            click.echo(to_lavaan(CFAModel.from_syntax(model)))
        else:
            click.echo(to_lavaan(CFAModel.from_instrument(load_instrument(instruments[0]), kind=model_kind)))
        return
    result = instrument_cfa(
        instruments,
        responses_path,
        model=model,
        estimator=estimator.upper(),
        missing=missing,
        std_lv=std_lv,
        wave=wave_value(wave),
        **reading,
    )
    if modindices and ESTIMATORS[estimator.upper()].data != "continuous":
        raise click.UsageError(f"--modindices is for {' and '.join(continuous_estimators())} fits")
    text = (
        terminal_text(result.summary(modindices=modindices))
        if fmt == "table" and modindices
        else render(result, fmt)
    )
    write_or_echo(text, out_path, "cfa", force)
    if plot_path:
        click.echo(f"path diagram: {result.plot(plot_path, overwrite=force)}", err=fmt != "table")


@cli.command(name="invariance")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=True, metavar="INSTRUMENT... RESPONSES")
@click.option(
    "--group-column",
    default=None,
    help="The groups to compare (e.g. pgy, cohort). Without it, the waves of the same respondents are "
    "compared (longitudinal invariance: --id-column links them, --wave-column orders them).",
)
@reading_options
@cfa_options
@click.option(
    "--free",
    "free",
    multiple=True,
    metavar="PARAMETER",
    help="Free a parameter across groups for partial invariance, e.g. --free 'rs2=~' --free 'rs2~1'.",
)
@QUIET_OPTION
@FORMAT_OUTPUT
@OUT_FILE
def invariance_command(
    args: tuple[str, ...],
    group_column: str | None,
    reading: dict[str, Any],
    model_kind: str,
    syntax_path: str | None,
    estimator: str,
    missing: str,
    wave: str | None,
    free: tuple[str, ...],
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Measurement invariance across groups or waves: can their means be compared?

    With --group-column: multi-group CFA with lavaan's group.equal semantics.
    Without it: longitudinal invariance across the waves of the same
    respondents (a file holding several waves, one row per respondent and
    wave): one factor per wave, the same item's residuals correlated across
    waves, as semTools::measEq.syntax(longFacNames = ...) writes it.

    Either way: configural, metric (loadings), scalar (+ intercepts) and
    strict (+ residual variances); each step's fit; likelihood-ratio tests
    between steps (scaled for MLR); changes in CFI, RMSEA and SRMR, each
    passed or failed against Chen (2007) or Cheung & Rensvold (2002); latent
    mean differences once scalar invariance holds; and a plain-words
    conclusion. Takes every option of `sdt-survey cfa`; --free releases a
    parameter across the groups or waves (partial invariance).

    \b
    Examples:
      sdt-survey invariance bpn-residency wave1.csv --group-column pgy
      sdt-survey invariance bpn-residency waves.csv --id-column resident --wave-column wave
      sdt-survey invariance bpn-residency waves.csv --id-column resident --missing listwise --estimator MLR
      sdt-survey invariance bpn-residency wave1.csv --group-column cohort --free "rs2=~" --format json
    """
    from ...factor.sem import instrument_invariance, instrument_longitudinal_invariance

    if ESTIMATORS[estimator.upper()].data != "continuous":
        raise click.UsageError(
            f"invariance uses {' or '.join(continuous_estimators())}; "
            f"{estimator.upper()} is available for single-group cfa"
        )
    instruments, responses_path = split_instruments_and_file(args)
    check_analysis_files(
        out_path, instruments, responses_path, reading["mapping"], force=force, syntax_path=syntax_path
    )
    if group_column is None:
        if wave is not None:
            raise click.UsageError("--wave chooses one wave; longitudinal invariance uses every wave")
        result = instrument_longitudinal_invariance(
            instruments,
            responses_path,
            model=model_argument(model_kind, syntax_path),
            estimator=estimator.upper(),
            missing=missing,
            free=free,
            **reading,
        )
        write_or_echo(render(result, fmt), out_path, "invariance", force)
        return
    result = instrument_invariance(
        instruments,
        responses_path,
        group_column,
        model=model_argument(model_kind, syntax_path),
        estimator=estimator.upper(),
        missing=missing,
        free=free,
        wave=wave_value(wave),
        **reading,
    )
    write_or_echo(render(result, fmt), out_path, "invariance", force)
