"""Psychometrics: reliability, efa, cfa, invariance."""

from __future__ import annotations

from typing import Any

import click

from ..._terminal import terminal_text
from ...factor.exploratory.defaults import DEFAULT_SEED
from ...factor.sem.estimators import ESTIMATORS, continuous_estimators
from ...instrument import load_instrument
from ..options import (
    CLUSTER_OPTION,
    FORMAT_OUTPUT,
    OUT_FILE,
    PAIRWISE_OPTION,
    QUIET_OPTION,
    WAVE_OPTION,
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
from ..support import check_files, existing_files


@click.command(name="reliability")
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
@WAVE_OPTION
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
    wave: str | None,
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
      sdt-survey reliability my-scale.yaml redcap_export.csv --event baseline_arm_1
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
        wave=wave_value(wave),
    )
    write_or_echo(render(report, fmt), out_path, "reliability", force)


def matrix_options(function):
    """``--matrix FILE --n-obs N``: a covariance or correlation matrix instead of responses."""
    function = click.option(
        "--n-obs",
        "n_obs",
        type=click.IntRange(min=2),
        default=None,
        help="With --matrix: the number of respondents the matrix comes from (psych's n.obs, lavaan's "
        "sample.nobs).",
    )(function)
    return click.option(
        "--matrix",
        "matrix_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="A covariance or correlation matrix (CSV: a header of variable names, then one row per "
        "variable, its name first, as R's write.csv(cov(x))) instead of RESPONSES; needs --n-obs.",
    )(function)


def _matrix_input(matrix_path: str, n_obs: int | None, error: type[Exception]):
    """The --matrix file as a DataFrame (rows named as the columns), checked; --n-obs required."""
    import pandas as pd

    from ...stats.matrix_input import read_moment_matrix

    if n_obs is None:
        raise click.UsageError("--matrix needs --n-obs N, the number of respondents behind the matrix")
    m = read_moment_matrix(matrix_path, error=error)
    return pd.DataFrame(m.values, index=m.names, columns=m.names)


@click.command(name="efa")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=False, metavar="INSTRUMENT... RESPONSES")
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
    type=click.Choice(["minres", "ml", "pa", "uls", "wls", "gls"]),
    default="minres",
    show_default=True,
    help="Extraction, as psych::fa: minres (robust default, no distribution assumed; uls is the same "
    "solution); ml (maximum likelihood: normal-theory fit tests, needs a positive definite matrix); pa "
    "(principal axes, classic, for comparison with older studies); wls (each residual weighted by the "
    "two items' 1 - SMC, as psych does: items the others predict poorly count more) or gls (residuals "
    "weighted by the inverse correlation matrix, close to ml).",
)
@click.option(
    "--rotate",
    type=click.Choice(
        [
            "oblimin",
            "promax",
            "varimax",
            "geomin",
            "quartimax",
            "bentlerT",
            "bentlerQ",
            "bifactor",
            "biquartimin",
            "none",
        ]
    ),
    default="oblimin",
    show_default=True,
    help="Rotation. Correlated factors (oblique, the usual choice for subscales of one construct): "
    "oblimin, promax, geomin, bentlerQ. Uncorrelated (orthogonal): varimax (spreads variance over "
    "factors), quartimax (favours one large factor), bentlerT. A general factor plus group factors "
    "(3 factors or more): bifactor (orthogonal), biquartimin (oblique group factors).",
)
@PAIRWISE_OPTION
@matrix_options
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
    matrix_path: str | None,
    n_obs: int | None,
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
      sdt-survey efa bpn-residency wave1.csv --factors 7 --rotate bifactor
      sdt-survey efa bpn-residency wave1.csv --plot scree.png
      sdt-survey efa --matrix harman74.csv --n-obs 145 --factors 4

    With --matrix (and --n-obs), the same analyses run on a correlation or
    covariance matrix (as psych::fa(r, n.obs = )), with no INSTRUMENT or
    RESPONSES; parallel analysis then simulates data only (nothing to resample).
    """
    from ...errors import FactorAnalysisError
    from ...factor.exploratory import factor_report, instrument_factor_report

    if matrix_path is not None:
        if args or subscales:
            raise click.UsageError(
                "with --matrix, give no INSTRUMENT, RESPONSES or --subscale: the matrix holds the items"
            )
        check_files({"--out": out_path, "--plot": plot_path}, {"the --matrix file": matrix_path}, force=force)
        matrix = _matrix_input(matrix_path, n_obs, FactorAnalysisError)
        report = factor_report(matrix, n_factors, fm=fm, rotate=rotate, n_iter=n_iter, seed=seed, n_obs=n_obs)
    else:
        if n_obs is not None:
            raise click.UsageError("--n-obs goes with --matrix; with RESPONSES the rows are counted")
        if not args:
            raise click.UsageError("give one or more instruments, then the RESPONSES file (or --matrix FILE)")
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


@click.command(name="cfa")
@study_option
@as_reading
@click.argument("args", nargs=-1, required=False, metavar="INSTRUMENT... RESPONSES")
@reading_options
@cfa_options
@matrix_options
@click.option("--std-lv", is_flag=True, help="Identify factors by unit variance instead of a marker loading.")
@click.option(
    "--modindices",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Show the N largest modification indices.",
)
@CLUSTER_OPTION
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
    matrix_path: str | None,
    n_obs: int | None,
    std_lv: bool,
    modindices: int,
    cluster: str | None,
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
    under-identification are explained in plain words. With --cluster
    (residents nested in programs) the standard errors and the scaled test
    are cluster-robust, as lavaan's cluster= argument.

    \b
    Examples:
      sdt-survey cfa bpn-residency wave1.csv --id-column resident
      sdt-survey cfa bpn-residency wave1.csv --estimator MLR --missing fiml --format json
      sdt-survey cfa bpn-residency wave1.csv --model bifactor --emit-lavaan
      sdt-survey cfa bpn-residency wave1.csv --syntax my-model.lav --modindices 10
      sdt-survey cfa bpn-residency wave1.csv --plot paths.svg
      sdt-survey cfa bpn-residency wave1.csv --estimator MLR --cluster program
      sdt-survey cfa bpn-residency --matrix keyed-cov.csv --n-obs 408
      sdt-survey cfa --syntax hs.lav --matrix hs-cov.csv --n-obs 301

    With --matrix (and --n-obs), the model is fitted to a covariance or
    correlation matrix (as lavaan's sample.cov, ML only) of the keyed items:
    the model comes from INSTRUMENT or --syntax, and there is no RESPONSES.
    """

    if matrix_path is not None:
        if cluster is not None:
            raise click.UsageError("--cluster needs RESPONSES: a --matrix holds no respondents to cluster")
        result = _cfa_matrix(
            args, model_kind, syntax_path, estimator, missing, wave, matrix_path, n_obs, std_lv,
            emit_lavaan, plot_path, out_path, force,
        )  # fmt: skip
        if result is None:
            return
    else:
        if n_obs is not None:
            raise click.UsageError("--n-obs goes with --matrix; with RESPONSES the rows are counted")
        if not args:
            raise click.UsageError("give one or more instruments, then the RESPONSES file (or --matrix FILE)")
        result = _cfa_responses(
            args, reading, model_kind, syntax_path, estimator, missing, wave, std_lv, cluster,
            emit_lavaan, plot_path, out_path, force,
        )  # fmt: skip
        if result is None:
            return
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


def _cfa_matrix(
    args, model_kind, syntax_path, estimator, missing, wave, matrix_path, n_obs, std_lv, emit_lavaan,
    plot_path, out_path, force,
):  # fmt: skip
    """`cfa --matrix`: the model from an instrument or --syntax, fitted to the matrix (None: printed only)."""
    from ...errors import CFAError
    from ...factor.sem import CFAModel, cfa
    from ...factor.sem import emit_lavaan as to_lavaan

    instruments = list(args)
    if syntax_path is None and not instruments:
        raise click.UsageError("with --matrix, give the model: an INSTRUMENT or --syntax FILE")
    if wave is not None:
        raise click.UsageError("--wave selects rows of RESPONSES; a --matrix has none")
    check_files(
        {"--out": out_path, "--plot": plot_path},
        {"the --matrix file": matrix_path, "the --syntax file": syntax_path,
         "an instrument file": existing_files(instruments)},
        force=force,
    )  # fmt: skip
    if syntax_path is not None:
        model = CFAModel.from_syntax(model_argument(model_kind, syntax_path))
    else:
        if len(instruments) > 1:
            raise click.UsageError(
                "with --matrix, give one INSTRUMENT (its model) and no RESPONSES: the matrix replaces them"
            )
        model = CFAModel.from_instrument(load_instrument(instruments[0]), kind=model_kind)
    if emit_lavaan:
        click.echo(to_lavaan(model))
        return None
    matrix = _matrix_input(matrix_path, n_obs, CFAError)
    return cfa(model=model, sample_cov=matrix, n_obs=n_obs, estimator=estimator.upper(), missing=missing,
               std_lv=std_lv)  # fmt: skip


def _cfa_responses(
    args, reading, model_kind, syntax_path, estimator, missing, wave, std_lv, cluster, emit_lavaan,
    plot_path, out_path, force,
):  # fmt: skip
    """`cfa` of response files (None: the lavaan syntax was printed only)."""
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
        return None
    return instrument_cfa(
        instruments,
        responses_path,
        model=model,
        estimator=estimator.upper(),
        missing=missing,
        std_lv=std_lv,
        wave=wave_value(wave),
        cluster=cluster,
        **reading,
    )


@click.command(name="invariance")
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
@CLUSTER_OPTION
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
    cluster: str | None,
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

    With --estimator WLSMV the answers are ordinal (a five-point Likert item
    has five ordered categories, not a continuous score): the chain of Wu &
    Estabrook (2016) as semTools writes it, configural, thresholds, metric,
    scalar, strict, fitted by WLSMV with scaled-shifted difference tests
    (lavaan's lavTestLRT) and the scaled CFI and RMSEA. A category that one
    group (or wave) never used is merged into the next lower one, with a
    note. Across waves, WLSMV fits the residents complete at every wave.

    \b
    Examples:
      sdt-survey invariance bpn-residency wave1.csv --group-column pgy
      sdt-survey invariance bpn-residency waves.csv --id-column resident --wave-column wave
      sdt-survey invariance bpn-residency waves.csv --id-column resident --missing listwise --estimator MLR
      sdt-survey invariance bpn-residency wave1.csv --group-column cohort --free "rs2=~" --format json
      sdt-survey invariance bpn-residency wave1.csv --group-column pgy --estimator MLR --cluster program
      sdt-survey invariance bpn-residency wave1.csv --group-column pgy --estimator WLSMV
      sdt-survey invariance bpn-residency waves.csv --id-column resident --estimator WLSMV
    """
    from ...factor.sem import instrument_invariance, instrument_longitudinal_invariance

    if estimator.upper() == "WLSMV" and missing.lower() == "fiml":
        raise click.UsageError("--estimator WLSMV uses complete cases; drop --missing fiml")
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
        cluster=cluster,
        **reading,
    )
    write_or_echo(render(result, fmt), out_path, "invariance", force)
