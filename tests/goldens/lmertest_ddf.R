# Goldens for sdt_survey.mixed.ddf: Satterthwaite and Kenward-Roger tests of fixed effects.
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, jsonlite.
#
# Run from the repository root (our estimates first: the "at_ours" blocks evaluate lmerTest there):
#   python tests/goldens/lmertest_ddf_ours.py
#   Rscript tests/goldens/lmertest_ddf.R tests/data tests/goldens/lmertest_ddf.json
#
# It writes the public data it uses to tests/data/ddf_*.csv (the tests read those, never R):
# * sleepstudy (lme4): Reaction ~ Days + (Days|Subject), Reaction ~ Days + (1|Subject), REML and ML;
# * Penicillin (lme4): diameter ~ 1 + (1|plate) + (1|sample) (crossed), and with a fixed
#   factor of the six samples' halves (crossed random effects, a between-sample factor);
# * an unbalanced factor model: sleepstudy without the rows listed below, grp = subjects in
#   three groups, Reaction ~ Days * grp + (1|Subject) (Type III contrasts of an interaction);
# * the simulated residency data (tests/data/reference/sdt-sim: scores_truth.csv joined to
#   continuity_truth.csv and to wave 1's program and pgy from responses_w1.csv):
#   relatedness_satisfaction ~ coc + pgy + (1|program) with all 14 programs and with the
#   first 8 program ids (sorted), and relatedness_satisfaction ~ coc + factor(pgy) + (1|program).
# For each model: summary() coefficients (Satterthwaite; Kenward-Roger for REML), anova() type III
# (Satterthwaite and Kenward-Roger), pbkrtest::vcovAdj and the unadjusted vcov.
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
args <- commandArgs(TRUE)
datadir <- if (length(args) >= 1) args[1] else "tests/data"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/lmertest_ddf.json"
sim <- file.path(datadir, "reference", "sdt-sim")

sleep <- lme4::sleepstudy
sleep$Subject <- as.character(sleep$Subject)
write.csv(sleep, file.path(datadir, "ddf_sleepstudy.csv"), row.names = FALSE)
pen <- lme4::Penicillin
pen$plate <- as.character(pen$plate); pen$sample <- as.character(pen$sample)
pen$half <- ifelse(pen$sample %in% c("A", "B", "C"), "first", "second")
write.csv(pen, file.path(datadir, "ddf_penicillin.csv"), row.names = FALSE)

subjects <- sort(unique(sleep$Subject))
grp <- setNames(rep(c("a", "b", "c"), length.out = length(subjects)), subjects)
unb <- sleep
unb$grp <- grp[unb$Subject]
drop <- which((seq_len(nrow(unb)) %% 7 == 3) | (unb$Subject %in% c("308", "335") & unb$Days > 5))
unb <- unb[-drop, ]
write.csv(unb, file.path(datadir, "ddf_unbalanced.csv"), row.names = FALSE)

scores <- read.csv(file.path(sim, "scores_truth.csv"), stringsAsFactors = FALSE)
cont <- read.csv(file.path(sim, "continuity_truth.csv"), stringsAsFactors = FALSE)
w1 <- read.csv(file.path(sim, "responses_w1.csv"), stringsAsFactors = FALSE)
res <- merge(merge(scores[, c("resident", "relatedness_satisfaction")], cont[, c("resident", "coc")]),
             w1[, c("resident", "program", "pgy")])
res <- res[complete.cases(res), ]
res <- res[order(res$resident), ]
first8 <- sort(unique(res$program))[1:8]
res8 <- res[res$program %in% first8, ]

# lme4's default optimizer (nloptwrap, BOBYQA) stops within ~1e-5 of the optimum in theta; a p-value of
# 1e-17 moves by 1e-3 relative with that. Each model is therefore fitted twice: with lme4's defaults
# ("default") and with tight tolerances ("tight"); both criteria are recorded (the tight one is lower
# or equal: R's own proof that it is closer to the optimum). The Python tests compare with "tight".
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14, ftol_rel = 1e-15,
                                    maxeval = 1e5))
one <- function(formula, data, reml = TRUE, control = lmerControl()) {
  m <- lmerTest::as_lmerModLmerTest(do.call(lme4::lmer, list(formula, data = data, REML = reml, control = control)))
  cf <- summary(m)$coefficients
  out <- list(
    formula = deparse(formula), reml = reml, n = nrow(data),
    theta = unname(getME(m, "theta")), sigma = sigma(m), deviance = unname(REMLcrit_or_dev(m)),
    terms = rownames(cf),
    satterthwaite = list(estimate = unname(cf[, "Estimate"]), se = unname(cf[, "Std. Error"]),
                         df = unname(cf[, "df"]), t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"])),
    vcov = unname(as.matrix(vcov(m))),
    vcov_varpar = unname(m@vcov_varpar)
  )
  out$satterthwaite_accurate <- accurate(m)
  a <- anova(m, type = 3)
  out$anova_satterthwaite <- list(term = rownames(a), NumDF = unname(a$NumDF), DenDF = unname(a$DenDF),
                                  F = unname(a[["F value"]]), p = unname(a[["Pr(>F)"]]))
  if (reml) {
    ck <- summary(m, ddf = "Kenward-Roger")$coefficients
    out$kenward_roger <- list(se = unname(ck[, "Std. Error"]), df = unname(ck[, "df"]),
                              t = unname(ck[, "t value"]), p = unname(ck[, "Pr(>|t|)"]))
    ak <- anova(m, type = 3, ddf = "Kenward-Roger")
    out$anova_kenward_roger <- list(term = rownames(ak), NumDF = unname(ak$NumDF), DenDF = unname(ak$DenDF),
                                    F = unname(ak[["F value"]]), p = unname(ak[["Pr(>F)"]]))
    out$vcov_kr <- unname(as.matrix(pbkrtest::vcovAdj(m)))
  }
  out
}
# lmerTest's Satterthwaite df with an accurate Hessian: numDeriv's default steps (d = 1e-4 relative)
# leave ~1e-5 of rounding in lmerTest's df, which moves a p-value of 1e-17 by 1e-3 relative. The same
# formulas (lmerTest:::devfun_vp, get_covbeta, contest1D/contestMD) with the Hessian and Jacobian taken
# in z = (varpar - opt) / max(|opt|, 1) with numDeriv's eps = 1e-2 (Richardson, r = 4) give them to ~1e-8.
accurate <- function(m) {
  devfun <- update(m, devFunOnly = TRUE)
  reml <- isREML(m)
  opt <- unname(c(getME(m, "theta"), sigma(m)))
  sc <- pmax(abs(opt), 1)
  ma <- list(eps = 1e-2, d = 1e-2, r = 4, v = 2)
  hz <- numDeriv::hessian(function(z) lmerTest:::devfun_vp(opt + z * sc, devfun, reml), rep(0, length(opt)),
                          method.args = ma)
  h <- hz / outer(sc, sc)
  e <- eigen(h, symmetric = TRUE); pos <- e$values > 1e-8
  vv <- 2 * e$vectors[, pos, drop = FALSE] %*% diag(1 / e$values[pos], sum(pos)) %*% t(e$vectors[, pos, drop = FALSE])
  jz <- numDeriv::jacobian(function(z) as.vector(lmerTest:::get_covbeta(opt + z * sc, devfun)), rep(0, length(opt)),
                           method.args = ma)
  jac <- sweep(jz, 2, sc, "/")
  p <- length(fixef(m))
  jl <- lapply(seq_len(ncol(jac)), function(i) matrix(jac[, i], p, p))
  lt <- as(m, "lmerModLmerTest")
  lt@vcov_varpar <- vv; lt@Jac_list <- jl
  cf <- summary(lt)$coefficients
  a <- anova(lt, type = 3)
  # numDeriv's 1e-4 steps on the same deviance (lmerTest's own Hessian) for the record
  list(df = unname(cf[, "df"]), t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
       vcov_varpar = unname(vv),
       anova = list(term = rownames(a), NumDF = unname(a$NumDF), DenDF = unname(a$DenDF),
                    F = unname(a[["F value"]]), p = unname(a[["Pr(>F)"]])))
}
# lmerTest's formulas at our estimates (tests/goldens/lmertest_ddf_ours.json), without refitting:
# R's criterion there, and summary()/anova() Satterthwaite with the Hessian and Jacobian taken as in
# accurate() at varpar = (our θ, σ(θ)).
at_ours <- function(m, theta) {
  stopifnot(max(abs(theta - getME(m, "theta"))) < 1e-3)  # same parameter order as lme4's
  devfun <- update(m, devFunOnly = TRUE)
  reml <- isREML(m)
  crit <- devfun(theta)
  env <- environment(devfun)
  n <- nrow(env$pp$X); p <- ncol(env$pp$X)
  sigma <- sqrt((env$resp$wrss() + env$pp$sqrL(1)) / (if (reml) n - p else n))
  beta <- env$pp$beta(1)
  opt <- c(theta, sigma)
  sc <- pmax(abs(opt), 1)
  ma <- list(eps = 1e-2, d = 1e-2, r = 4, v = 2)
  hz <- numDeriv::hessian(function(z) lmerTest:::devfun_vp(opt + z * sc, devfun, reml), rep(0, length(opt)),
                          method.args = ma)
  h <- hz / outer(sc, sc)
  e <- eigen(h, symmetric = TRUE); pos <- e$values > 1e-8
  vv <- 2 * e$vectors[, pos, drop = FALSE] %*% diag(1 / e$values[pos], sum(pos)) %*% t(e$vectors[, pos, drop = FALSE])
  jz <- numDeriv::jacobian(function(z) as.vector(lmerTest:::get_covbeta(opt + z * sc, devfun)), rep(0, length(opt)),
                           method.args = ma)
  jac <- sweep(jz, 2, sc, "/")
  lt <- as(m, "lmerModLmerTest")
  lt@beta <- beta; lt@sigma <- sigma
  lt@vcov_beta <- as.matrix(lmerTest:::get_covbeta(opt, devfun))
  lt@vcov_varpar <- vv
  lt@Jac_list <- lapply(seq_len(ncol(jac)), function(i) matrix(jac[, i], p, p))
  rows <- lapply(seq_len(p), function(j) { L <- numeric(p); L[j] <- 1; lmerTest::contest1D(lt, L) })
  cf <- do.call(rbind, rows)
  Ls <- lmerTest:::get_contrasts_type3(lt)
  a <- do.call(rbind, lapply(Ls, function(L) lmerTest::contestMD(lt, L)))
  if (is.null(a)) a <- data.frame(NumDF = numeric(0), DenDF = numeric(0), `F value` = numeric(0),
                                  `Pr(>F)` = numeric(0), check.names = FALSE)
  list(criterion = crit, sigma = sigma,
       satterthwaite = list(df = unname(cf$df), t = unname(cf[["t value"]]), p = unname(cf[["Pr(>|t|)"]])),
       anova = list(term = names(Ls)[seq_len(nrow(a))], NumDF = unname(a$NumDF), DenDF = unname(a$DenDF),
                    F = unname(a[["F value"]]), p = unname(a[["Pr(>F)"]])))
}
ours_file <- file.path(dirname(outfile), "lmertest_ddf_ours.json")
ours <- if (file.exists(ours_file)) fromJSON(ours_file) else list()
REMLcrit_or_dev <- function(m) if (isREML(m)) REMLcrit(m) else deviance(m)

both <- function(formula, data, reml = TRUE, name = NULL) {
  d <- one(formula, data, reml)
  t <- one(formula, data, reml, control = tight)
  out <- list(default = d, tight = t, criterion_default = d$deviance, criterion_tight = t$deviance)
  if (!is.null(ours[[name]])) {
    m <- lmerTest::as_lmerModLmerTest(do.call(lme4::lmer, list(formula, data = data, REML = reml, control = tight)))
    out$at_ours <- at_ours(m, ours[[name]]$theta)
  }
  out
}
models <- list(
  sleep_slope = both(Reaction ~ Days + (Days | Subject), sleep, name = "sleep_slope"),
  sleep_slope_ml = both(Reaction ~ Days + (Days | Subject), sleep, reml = FALSE, name = "sleep_slope_ml"),
  sleep_intercept = both(Reaction ~ Days + (1 | Subject), sleep, name = "sleep_intercept"),
  penicillin = both(diameter ~ 1 + (1 | plate) + (1 | sample), pen, name = "penicillin"),
  penicillin_half = both(diameter ~ half + (1 | plate) + (1 | sample), pen, name = "penicillin_half"),
  unbalanced = both(Reaction ~ Days * grp + (1 | Subject), unb, name = "unbalanced"),
  residency14 = both(relatedness_satisfaction ~ coc + pgy + (1 | program), res, name = "residency14"),
  residency8 = both(relatedness_satisfaction ~ coc + pgy + (1 | program), res8, name = "residency8"),
  residency_factor = both(relatedness_satisfaction ~ coc + factor(pgy) + (1 | program), res, name = "residency_factor"),
  residency14_ml = both(relatedness_satisfaction ~ coc + pgy + (1 | program), res, reml = FALSE, name = "residency14_ml")
)
meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             lmerTest = as.character(packageVersion("lmerTest")),
             pbkrtest = as.character(packageVersion("pbkrtest")), first8 = first8)
writeLines(toJSON(list(meta = meta, models = models), digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           outfile)
