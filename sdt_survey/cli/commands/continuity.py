"""Continuity with faculty and belonging against it: continuity, model, power."""

from __future__ import annotations

import click

from ..._options import FiniteFloat, WorkerCount
from ..options import (
    ENCODING_OPTION,
    FORMAT_OUTPUT,
    OUT_FILE,
    QUIET_OPTION,
    TIME_COLUMN_HELP,
    emit,
    parse_grid,
    parse_settings,
    plot_option,
    render,
    study_option,
    write_or_echo,
)
from ..support import check_files, existing_files, force_option


@click.command(name="continuity")
@study_option
@click.argument("schedule", type=click.Path(dir_okay=False))
@ENCODING_OPTION
@click.option(
    "--learner-column", default="learner", show_default=True, help="The learner (resident) id column."
)
@click.option(
    "--faculty-column", default="faculty", show_default=True, help="The faculty (preceptor) column."
)
@click.option("--time-column", default=None, help=TIME_COLUMN_HELP)
@click.option("--assigned-column", default=None, help="The designated preceptor (needed for UPC).")
@click.option("--setting-column", default=None, help="Column naming each session's setting.")
@click.option("--setting", default=None, help="Keep only sessions in this setting (e.g. clinic).")
@click.option(
    "--window",
    default=None,
    metavar="academic-year|block:N|DATE..DATE",
    help="Indices per academic year (July-June), per N-week block, or within a date range.",
)
@click.option(
    "--side",
    type=click.Choice(["learner", "faculty"]),
    default="learner",
    show_default=True,
    help="Continuity from the learner's view, or the same indices from the faculty's view.",
)
@click.option(
    "--invalid",
    type=click.Choice(["error", "drop"]),
    default="error",
    show_default=True,
    help="error: list every bad row and stop; drop: drop them, each listed in the report.",
)
@click.option("--dedupe", is_flag=True, help="Drop repeated identical sessions (reported either way).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one row per learner (per window): .csv, .parquet or .json.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write every row that was dropped or questioned, and why (.csv or .json).",
)
@force_option()
@FORMAT_OUTPUT
def continuity_command(
    schedule: str,
    learner_column: str,
    faculty_column: str,
    time_column: str,
    assigned_column: str | None,
    setting_column: str | None,
    setting: str | None,
    window: str | None,
    side: str,
    invalid: str,
    dedupe: bool,
    out_path: str | None,
    report_path: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Continuity of learner-faculty contact from a schedule (one row per session).

    Per learner (and window): n_sessions, n_faculty, first, last,
    duration_days and the indices upc (usual provider), mfpc (most frequent
    provider), coc (Bice-Boxerman), hhi, mmci, secon (sequential) and
    entropy with its normalized form. Bad rows (missing ids, unreadable
    dates) are listed with their row number and column. Formulas and
    pitfalls: docs/continuity-and-models.md.

    \b
    Examples:
      sdt-survey continuity schedule.csv --learner-column resident --faculty-column faculty \\
          --time-column session_date --assigned-column assigned --out continuity.csv
      sdt-survey continuity schedule.csv --learner-column resident --window academic-year \\
          --setting-column setting --setting clinic --out continuity.parquet
    """
    from ...continuity import ContinuityError, continuity_indices
    from ...scoring import write_table

    check_files(
        {"--out": out_path, "--report": report_path}, {"the schedule SCHEDULE": schedule}, force=force
    )
    try:
        result = continuity_indices(
            schedule,
            learner_column=learner_column,
            faculty_column=faculty_column,
            time_column=time_column,
            assigned_column=assigned_column,
            setting_column=setting_column,
            setting=setting,
            window=window,
            side=side,
            invalid=invalid,
            dedupe=dedupe,
        )
    except ContinuityError as exc:
        if report_path:
            write_table(exc.report, report_path, overwrite=force)
            click.echo(f"report: {report_path}", err=True)
        raise
    written = {}
    if out_path:
        written["continuity"] = result.write(out_path, overwrite=force)
    if report_path:
        written["report"] = write_table(result.report, report_path, overwrite=force)
    emit(result, fmt, written)


@click.command(name="model")
@study_option
@click.option(
    "--formula",
    required=True,
    help="lme4 formula, e.g. 'relatedness_satisfaction ~ coc + pgy + (1|program)'.",
)
@click.option(
    "--exposure",
    "exposure_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Exposure table (e.g. the output of `sdt-survey continuity`): .csv, .parquet, .json, .xlsx.",
)
@ENCODING_OPTION
@click.option(
    "--self-reported-exposure",
    is_flag=True,
    help="Use the continuity-exposure instrument's answers as the exposure (upc_self, perceived "
    "continuity): score it with the other instruments (--include-items for a --scores file).",
)
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Scores table (the output of `sdt-survey score`).",
)
@click.option(
    "--instrument",
    "instruments",
    multiple=True,
    help="Score on the fly instead: the instrument(s), with --responses.",
)
@click.option(
    "--responses",
    "responses_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Responses to score on the fly (read and validated as `sdt-survey score` does).",
)
@click.option("--id-column", required=True, help="Learner id column of the scores.")
@click.option(
    "--exposure-id-column", default=None, help="Learner id column of the exposure (default: the same)."
)
@click.option("--wave-column", default=None, help="Wave column, for repeated waves.")
@click.option("--ml", is_flag=True, help="Maximum likelihood instead of REML.")
@click.option(
    "--ddf",
    type=click.Choice(["Satterthwaite", "Kenward-Roger", "none"], case_sensitive=False),
    default="Satterthwaite",
    show_default=True,
    help="Denominator degrees of freedom of the fixed-effect t and F tests, as lmerTest: Satterthwaite, "
    "Kenward-Roger (REML only; pbkrtest's adjusted covariance) or none (Wald z, too optimistic with "
    "few programs).",
)
@click.option(
    "--within-between",
    default=None,
    metavar="VAR",
    help="Split VAR into between-person (person mean) and within-person effects.",
)
@click.option(
    "--spline",
    default=None,
    metavar="VAR:df=N",
    help="Dose-response curve of VAR by a natural spline with N degrees of freedom.",
)
@click.option(
    "--latent",
    is_flag=True,
    help="Fit the latent version instead: the outcome subscale as a factor of its reverse-keyed items, "
    "regressed on the fixed terms, with standard errors robust to the random intercept's groups "
    "(lavaan's sem(..., cluster=, estimator='MLR')). Needs the items: --instrument with --responses.",
)
@click.option(
    "--estimator",
    type=click.Choice(["MLR", "ML"], case_sensitive=False),
    default="MLR",
    show_default=True,
    help="With --latent: MLR (robust, Yuan-Bentler scaled test) or ML; both cluster-robust.",
)
@click.option(
    "--missing",
    type=click.Choice(["auto", "fiml", "listwise"]),
    default="auto",
    show_default=True,
    help="With --latent: auto (FIML when items are missing, else complete data), fiml (every answered "
    "item counts; lavaan missing='ml') or listwise.",
)
@click.option(
    "--family",
    type=click.Choice(["gaussian", "binomial", "poisson"], case_sensitive=False),
    default="gaussian",
    show_default=True,
    help="gaussian: linear mixed model. binomial: a 0/1 outcome (or cbind(successes, failures)), "
    "logistic mixed model as lme4::glmer, with odds ratios. poisson: a count outcome (log link).",
)
@click.option(
    "--nagq",
    type=click.IntRange(1, 25),
    default=1,
    show_default=True,
    help="With --family binomial/poisson: 1 = Laplace approximation (glmer's default); more = adaptive "
    "Gauss-Hermite quadrature nodes (one random intercept only, e.g. (1|program)).",
)
@click.option(
    "--confint",
    "confint_method",
    type=click.Choice(["wald", "profile", "boot"], case_sensitive=False),
    default=None,
    help="Confidence intervals for the fixed effects and the variance components (standard deviations, "
    "correlations, sigma), as lme4's confint(method=): Wald, profile likelihood, or parametric bootstrap "
    "percentiles.",
)
@click.option(
    "--nsim",
    type=click.IntRange(min=1, max=100_000),
    default=500,
    show_default=True,
    help="With --confint boot: bootstrap resamples (1 to 100,000).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="With --confint boot: seed (the same seed gives the same intervals, on any number of --jobs).",
)
@click.option(
    "--jobs",
    type=WorkerCount(),
    default=1,
    show_default=True,
    help="With --confint boot: worker processes (joblib's n_jobs; -1 for all cores).",
)
@plot_option("Write the dose-response curve (needs --spline) as .png or .svg.")
@FORMAT_OUTPUT
@OUT_FILE
def model_command(
    formula: str,
    exposure_path: str | None,
    self_reported_exposure: bool,
    scores_path: str | None,
    instruments: tuple[str, ...],
    responses_path: str | None,
    id_column: str,
    exposure_id_column: str | None,
    wave_column: str | None,
    ml: bool,
    ddf: str,
    within_between: str | None,
    spline: str | None,
    latent: bool,
    estimator: str,
    missing: str,
    family: str,
    nagq: int,
    confint_method: str | None,
    nsim: int,
    seed: int | None,
    jobs: int,
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Multilevel model of relatedness (belonging) against continuity exposure.

    Joins scores to an exposure table on the learner id (rows that do not
    join are counted and listed, never dropped silently), then fits the
    model written in lme4 syntax with statsmodels MixedLM (REML by default),
    including nested `(1|program/resident)` for repeated waves and random
    slopes `(coc|program)`. Reports fixed effects with t tests on
    Satterthwaite degrees of freedom (as lmerTest's summary; --ddf
    Kenward-Roger or none for Wald z), 95% Wald CIs, variance components,
    ICC (and the null model's), marginal and conditional R-squared, the
    likelihood-ratio test of the exposure, and its standardized effect;
    singular fits and convergence problems are explained in plain words.

    With --latent the same formula gives the measurement-error-free model:
    the outcome subscale becomes a latent factor of its items, regressed on
    the fixed terms (plain columns), with cluster-robust standard errors and
    scaled test by the random intercept's groups, equal to lavaan's
    sem(..., cluster = "program", estimator = "MLR").

    \b
    Examples:
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + pgy + (1|program)"
      sdt-survey model --instrument bpn-residency --responses wave1.csv --exposure continuity.csv \\
          --id-column resident --latent --formula "relatedness_satisfaction ~ coc + pgy + (1|program)"
      sdt-survey model --instrument bpn-residency --responses waves.csv --exposure continuity.csv \\
          --id-column resident --wave-column wave --within-between coc \\
          --formula "relatedness_satisfaction ~ coc + (1|program/resident)"
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + (1|program)" --spline coc:df=3 --plot curve.png
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + pgy + (1|program)" --confint profile
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + pgy + (1|program)" --confint boot --nsim 1000 --seed 1
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "relatedness_satisfaction ~ coc + pgy + (1|program)" --ddf Kenward-Roger
      sdt-survey model --scores scores.csv --exposure continuity.csv --id-column resident \\
          --formula "choose_again ~ coc + (1|program)" --family binomial

    With --family binomial (a 0/1 outcome such as "would choose this program
    again") or poisson (counts) the model is a generalized linear mixed model
    fitted as lme4::glmer (Laplace, or --nagq N Gauss-Hermite nodes); binomial
    models also report odds ratios with 95% Wald intervals.
    """
    from ...mixed import model_relatedness
    from ...scoring import read_table, score

    if (scores_path is None) == (responses_path is None):
        raise click.UsageError("give either --scores, or --instrument with --responses")
    check_files(
        {"--out": out_path, "--plot": plot_path},
        {
            "the --exposure file": exposure_path,
            "the --scores file": scores_path,
            "the --responses file": responses_path,
            "an --instrument file": existing_files(instruments),
        },
        force=force,
    )
    if (exposure_path is None) == (not self_reported_exposure):
        raise click.UsageError("give either --exposure FILE or --self-reported-exposure")
    if responses_path is not None:
        if not instruments:
            raise click.UsageError("--responses needs --instrument")
        scores = score(list(instruments), responses_path, id_column=id_column, wave_column=wave_column)
    else:
        scores = read_table(scores_path)
    if plot_path and not spline:
        raise click.UsageError("--plot draws the dose-response curve: give --spline VAR:df=N too")
    family = family.lower()
    if family != "gaussian" and (ml or plot_path or latent):
        raise click.UsageError(
            f"--family {family} fits a GLMM by maximum likelihood, with no dose-response curve: "
            "drop --ml, --plot and --latent"
        )
    if nagq != 1 and family == "gaussian":
        raise click.UsageError("--nagq is for --family binomial or poisson")
    if family != "gaussian" and confint_method:
        raise click.UsageError(
            "--confint is for linear mixed models; a GLMM's table already has 95% Wald intervals "
            "(and odds ratios for --family binomial)"
        )
    if ml and ddf.lower() == "kenward-roger":
        raise click.UsageError(
            "--ddf Kenward-Roger needs a REML fit (as lmerTest): drop --ml or use Satterthwaite"
        )
    if latent:
        for flag, given in (
            ("--ml", ml),
            ("--within-between", within_between),
            ("--spline", spline),
            ("--confint", confint_method),
            ("--ddf", ddf.lower() != "satterthwaite"),
        ):
            if given:
                raise click.UsageError(f"{flag} is for the observed-score model; --latent takes neither")
        if responses_path is None:
            raise click.UsageError(
                "--latent needs the items of the outcome subscale: give --instrument and --responses "
                "(a --scores table holds scores, not items)"
            )
    if self_reported_exposure:
        from ...continuity import self_reported_exposure as self_report

        exposure = self_report(scores, id_column=id_column)
        # The scores already carry every other column; keep only what the exposure adds.
        exposure = exposure[
            [
                c
                for c in exposure.columns
                if c in (id_column, wave_column) or c not in getattr(scores, "scores", scores).columns
            ]
        ]
    else:
        exposure = read_table(exposure_path)
    if latent:
        from ...factor.sem import latent_continuity_model

        result = latent_continuity_model(
            scores,
            exposure,
            formula,
            id_column=id_column,
            exposure_id_column=exposure_id_column,
            wave_column=wave_column,
            estimator=estimator.upper(),
            missing=missing,
        )
        write_or_echo(render(result, fmt), out_path, "model", force)
        return
    result = model_relatedness(
        scores,
        exposure,
        formula,
        id_column=id_column,
        exposure_id_column=exposure_id_column,
        wave_column=wave_column,
        reml=not ml,
        within_between=within_between,
        spline=spline,
        **({} if family == "gaussian" else {"family": family, "nAGQ": nagq}),
        ddf=ddf,
    )
    if confint_method:
        method = {"wald": "Wald", "profile": "profile", "boot": "boot"}[confint_method.lower()]
        result.confint(method, nsim=nsim, seed=seed, n_jobs=jobs, attach=True)
    write_or_echo(render(result, fmt), out_path, "model", force)
    if plot_path:
        click.echo(f"dose-response plot: {result.plot(plot_path, overwrite=force)}")


@click.command(name="power")
@study_option
@click.option(
    "--grid",
    "grid_pairs",
    multiple=True,
    required=True,
    metavar="NAME=V1,V2,...",
    help="Design values to cross: n_programs, residents_per_program, n_waves, effect, icc, "
    "cohort_effect (repeat the option).",
)
@click.option(
    "--replicates",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Simulated data sets per cell (1 or more).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Root seed (same on every backend).",
)
@click.option(
    "--alpha",
    type=FiniteFloat(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level, strictly between 0 and 1.",
)
@click.option(
    "--test",
    type=click.Choice(["wald", "satterthwaite", "kenward-roger", "lrt"], case_sensitive=False),
    default="satterthwaite",
    show_default=True,
    help="Test of the continuity effect: a t test on Satterthwaite or Kenward-Roger df (as lmerTest), "
    "Wald z (too optimistic with few programs), or likelihood ratio (slower).",
)
@click.option(
    "--jobs",
    type=WorkerCount(),
    default=-1,
    show_default=True,
    help="Local worker processes: N >= 1, or -1 for all cores, -2 for all but one, and so on "
    "(joblib's n_jobs); 0 is refused.",
)
@click.option(
    "--dask-scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on an existing Dask cluster (e.g. tcp://host:8786) instead of local cores.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A design parameter held fixed over the grid, e.g. --set residents_per_program=25.",
)
@plot_option("Write the power curve as .png or .svg.")
@QUIET_OPTION
@FORMAT_OUTPUT
@OUT_FILE
def power_command(
    grid_pairs: tuple[str, ...],
    replicates: int,
    seed: int,
    alpha: float,
    test: str,
    jobs: int,
    dask_scheduler: str | None,
    settings: tuple[str, ...],
    plot_path: str | None,
    fmt: str,
    out_path: str | None,
    force: bool,
) -> None:
    """Monte-Carlo power to detect the continuity effect (and cohort differences).

    Each replicate simulates a residency data set for the planned design,
    scores it, computes continuity (COC) from the simulated schedule, fits
    the multilevel model and records whether the effect is significant.
    Results are identical for a seed whether run on local cores or on a Dask
    cluster. See docs/continuity-and-models.md.

    \b
    Examples:
      sdt-survey power --grid n_programs=8,14,20 --grid effect=0.2,0.3 --replicates 200
      sdt-survey power --grid residents_per_program=15,25,40 --set n_programs=10 --plot power.png
      sdt-survey power --grid icc=0.05,0.15 --dask-scheduler tcp://SCHEDULER-HOST:8786 --replicates 1000
    """
    from ...power import power_analysis

    check_files({"--out": out_path, "--plot": plot_path}, {}, force=force)
    result = power_analysis(
        parse_grid(grid_pairs),
        n_replicates=replicates,
        seed=seed,
        alpha=alpha,
        test=test.lower(),
        n_jobs=jobs,
        dask_scheduler=dask_scheduler,
        **parse_settings(settings),
    )
    write_or_echo(render(result, fmt), out_path, "power", force)
    if plot_path:
        click.echo(f"power curve: {result.plot(plot_path, overwrite=force)}")
