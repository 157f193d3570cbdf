# Goldens for ModelResult.confint(): lme4::confint.merMod with method = "Wald", "profile" and "boot".
# R 4.2.2, lme4 1.1-31, jsonlite.
#
# Run from the repository root:
#   Rscript tests/goldens/lme4_confint.R tests/data tests/goldens/lme4_confint.json
#
# Models (REML fits, lme4's defaults):
# * sleepstudy: Reaction ~ Days + (Days | Subject) and Reaction ~ Days + (1 | Subject)
#   (tests/data/sleepstudy.csv, written from lme4's data set);
# * Penicillin: diameter ~ 1 + (1 | plate) + (1 | sample) (crossed; tests/data/penicillin.csv);
# * the simulated residency data: scores_truth.csv joined to continuity_truth.csv and responses_w1.csv's
#   program and pgy (tests/data/reference/sdt-sim), relatedness_satisfaction ~ coc + pgy + (1 | program),
#   with all 14 programs and with programs P01..P08; and relatedness_satisfaction ~ coc + (coc || program)
#   on the 14 programs (a profile in which the other standard deviation heads for 0).
# For each: Wald and profile intervals (oldNames: .sig01, ..., .sigma, then the fixed effects), the
# profile itself (par, zeta per parameter), the ML refit the profile starts from (its deviance), and a
# parametric bootstrap (bootMer, nsim = 500, seed = 2026, percentile intervals as confint(method = "boot"))
# with the replicates' mean and SD of every parameter for the Monte-Carlo check. The REML fit is also
# refitted with a tight optimizer (reml_tight, estimates_tight): lme4's default stops early on Penicillin.
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
dat <- if (length(args) >= 1) args[1] else "tests/data"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/lme4_confint.json"
NSIM <- 500

sleep <- read.csv(file.path(dat, "sleepstudy.csv"))
sleep$Subject <- factor(sleep$Subject)
pen <- read.csv(file.path(dat, "penicillin.csv"), stringsAsFactors = TRUE)
sim <- file.path(dat, "reference", "sdt-sim")
res <- merge(merge(read.csv(file.path(sim, "scores_truth.csv")), read.csv(file.path(sim, "continuity_truth.csv")), by = "resident"),
             read.csv(file.path(sim, "responses_w1.csv"))[, c("resident", "program", "pgy")], by = "resident")
res8 <- res[res$program %in% sprintf("P%02d", 1:8), ]

bootfun <- function(x) {
  vn <- lme4:::profnames(x, TRUE, useSc = TRUE)
  c(setNames(lme4:::Cv_to_Sv(x@theta, n = lengths(x@cnms), s = sigma(x)), vn), fixef(x))
}
ci_list <- function(ci) list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))

one <- function(formula, data) {
  m <- lmer(formula, data = data, REML = TRUE)
  mML <- refitML(m)
  # The same fit with a tight optimizer: where lme4's default stops early, its own criterion is lower here.
  mt <- lmer(formula, data = data, REML = TRUE,
             control = lmerControl(optCtrl = list(xtol_rel = 1e-13, ftol_rel = 1e-15, xtol_abs = 1e-13, ftol_abs = 1e-15, maxeval = 1e5)))
  wald <- confint(m, method = "Wald")
  pr <- profile(m, signames = TRUE)
  prof <- confint(pr, level = 0.95)
  prof90 <- confint(pr, level = 0.90)
  newnames <- rownames(confint(m, method = "Wald", oldNames = FALSE))
  table <- lapply(split(as.data.frame(pr), as.data.frame(pr)$.par), function(d) {
    p <- as.character(d$.par[1]); list(par = d[[p]], zeta = d$.zeta)
  })
  t0 <- system.time(b <- bootMer(m, FUN = bootfun, nsim = NSIM, seed = 2026))
  bci <- confint(b, type = "perc")
  list(formula = deparse(formula), nobs = nobs(m), reml = REMLcrit(m), ml_deviance = deviance(mML),
       ml_sdcor = unname(bootfun(mML)), estimates = unname(bootfun(m)),
       reml_tight = REMLcrit(mt), estimates_tight = unname(bootfun(mt)), wald_tight = ci_list(confint(mt, method = "Wald")), readable_names = newnames,
       wald = ci_list(wald), profile = ci_list(prof), profile90 = ci_list(prof90), profile_table = table,
       boot = c(ci_list(bci), list(nsim = NSIM, failed = sum(!complete.cases(b$t)),
                mean = unname(colMeans(b$t, na.rm = TRUE)), sd = unname(apply(b$t, 2, sd, na.rm = TRUE)),
                seconds = unname(t0[3]))))
}

out <- list(
  sleepstudy_slope = one(Reaction ~ Days + (Days | Subject), sleep),
  sleepstudy_intercept = one(Reaction ~ Days + (1 | Subject), sleep),
  penicillin = one(diameter ~ 1 + (1 | plate) + (1 | sample), pen),
  residency14 = one(relatedness_satisfaction ~ coc + pgy + (1 | program), res),
  residency8 = one(relatedness_satisfaction ~ coc + pgy + (1 | program), res8),
  residency14_slope_uncorrelated = one(relatedness_satisfaction ~ coc + (coc || program), res))
write(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null"), outfile)
cat("ok\n")
