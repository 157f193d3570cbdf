# Goldens for sdt_survey.models that the reference.json in tests/data/reference lacks: nested waves,
# within/between, random slopes (correlated and uncorrelated), crossed intercepts,
# likelihood-ratio tests, a natural-spline dose-response curve, Nakagawa R2.
# R 4.2.2, lme4 1.1-31, splines, jsonlite.
#
# Run from the repository root (the data are in tests/data/reference):
#   Rscript tests/goldens/lme4_models.R tests/data/reference tests/goldens/lme4_models.json
#
# The data are built from the sdt-sim files in tests/data/reference exactly as tests/test_models.py builds them:
# * scores: relatedness_satisfaction = mean of rs1..rs4 (rs4 reverse-keyed, 6 - x) when at least
#   3 of the 4 are answered, for wave 1 (responses_w1.csv) and wave 2 (responses_w2.csv);
# * wave 1 data: scores joined to continuity_truth.csv (coc) and wave 1's program and pgy
#   (the data of reference.R's lmer fits);
# * waves data: both waves stacked; the exposure is the cumulative Bice-Boxerman COC of the
#   sessions in schedule.csv dated on or before the wave's cut-off (wave 1: 2025-12-31,
#   wave 2: 2026-06-30), computed only from residents with at least 2 sessions by then.
suppressMessages({library(lme4); library(splines); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/lme4_models.json"
sim <- file.path(ref, "sdt-sim")

score_rs <- function(d) {
  x <- d[, c("rs1", "rs2", "rs3", "rs4")]
  x$rs4 <- 6 - x$rs4
  nv <- rowSums(!is.na(x)); m <- rowMeans(x, na.rm = TRUE); m[nv < 3] <- NA
  m
}
coc_of <- function(s) {
  per <- split(s$faculty, s$resident)
  out <- sapply(per, function(f) { n <- length(f); if (n < 2) return(NA_real_); (sum(table(f)^2) - n) / (n * (n - 1)) })
  data.frame(resident = names(per), coc = as.numeric(out), stringsAsFactors = FALSE)
}

w1 <- read.csv(file.path(sim, "responses_w1.csv"), stringsAsFactors = FALSE)
w2 <- read.csv(file.path(sim, "responses_w2.csv"), stringsAsFactors = FALSE)
cont <- read.csv(file.path(sim, "continuity_truth.csv"), stringsAsFactors = FALSE)
sched <- read.csv(file.path(sim, "schedule.csv"), stringsAsFactors = FALSE)
sched$session_date <- as.Date(sched$session_date)

# ----------------------------------------------------------------- wave 1 (reference.R's data)
sc1 <- data.frame(resident = w1$resident, relatedness_satisfaction = score_rs(w1))
one <- merge(merge(sc1, cont[, c("resident", "coc")], by = "resident"), w1[, c("resident", "program", "pgy")], by = "resident")
one <- one[complete.cases(one[, c("relatedness_satisfaction", "coc", "pgy", "program")]), ]

# ----------------------------------------------------------------- waves data
cut <- as.Date(c("2025-12-31", "2026-06-30"))
expo <- do.call(rbind, lapply(1:2, function(w) { e <- coc_of(sched[sched$session_date <= cut[w], ]); e$wave <- w; e }))
sc <- rbind(data.frame(resident = w1$resident, program = w1$program, pgy = w1$pgy, wave = 1, relatedness_satisfaction = score_rs(w1)),
            data.frame(resident = w2$resident, program = w2$program, pgy = w2$pgy, wave = 2, relatedness_satisfaction = score_rs(w2)))
waves <- merge(sc, expo, by = c("resident", "wave"))
waves <- waves[complete.cases(waves[, c("relatedness_satisfaction", "coc", "pgy", "program", "wave")]), ]
waves <- waves[order(waves$resident, waves$wave), ]
waves$coc_between <- ave(waves$coc, waves$resident)
waves$coc_within <- waves$coc - waves$coc_between

# ----------------------------------------------------------------- helpers
vc_list <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  lapply(split(vc, seq_len(nrow(vc))), function(r) list(grp = r$grp, var1 = r$var1, var2 = if (is.na(r$var2)) NULL else r$var2, vcov = r$vcov, sdcor = r$sdcor)) |> unname()
}
# Nakagawa & Schielzeth R2 with random slopes per Johnson (2014): mean of z' Sigma z over rows.
r2 <- function(m) {
  X <- getME(m, "X"); vf <- var(as.vector(X %*% fixef(m)))
  vr <- 0
  for (g in names(VarCorr(m))) {
    S <- VarCorr(m)[[g]]
    Z <- X[, intersect(colnames(S), colnames(X)), drop = FALSE]
    if (!all(colnames(S) %in% colnames(X))) Z <- model.matrix(as.formula(paste("~", paste(setdiff(colnames(S), "(Intercept)"), collapse = "+"))), model.frame(m))[, colnames(S), drop = FALSE]
    vr <- vr + sum(rowSums((Z %*% S) * Z)) / nrow(Z)
  }
  ve <- sigma(m)^2
  list(marginal = vf / (vf + vr + ve), conditional = (vf + vr) / (vf + vr + ve), var_fixed = vf, var_random = vr, var_residual = ve)
}
fit_info <- function(m) {
  list(fixef = as.list(fixef(m)), se = as.list(sqrt(diag(as.matrix(vcov(m))))), varcorr = vc_list(m), sigma2 = sigma(m)^2,
       loglik = as.numeric(logLik(m)), deviance_or_reml = if (isREML(m)) REMLcrit(m) else deviance(m),
       nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m), r2 = r2(m))
}
lrt <- function(full, reduced) {
  a <- anova(reduced, full)  # refits both with ML
  list(chisq = a$Chisq[2], df = a$Df[2], pvalue = a[["Pr(>Chisq)"]][2], loglik_full = a$logLik[2], loglik_reduced = a$logLik[1])
}

out <- list(data = list(
  wave1 = list(nobs = nrow(one), sum_y = sum(one$relatedness_satisfaction), sum_coc = sum(one$coc)),
  waves = list(nobs = nrow(waves), n_residents = length(unique(waves$resident)), sum_y = sum(waves$relatedness_satisfaction),
               sum_coc = sum(waves$coc), sum_sq_coc_within = sum(waves$coc_within^2))))

# Nested waves: (1|program/resident) = (1|program) + (1|program:resident).
f_waves <- relatedness_satisfaction ~ coc + pgy + wave + (1 | program/resident)
m <- lmer(f_waves, data = waves, REML = TRUE); out$waves_reml <- fit_info(m)
m0 <- lmer(relatedness_satisfaction ~ 1 + (1 | program/resident), data = waves, REML = TRUE)
v0 <- as.data.frame(VarCorr(m0)); out$waves_null <- list(varcorr = vc_list(m0), icc_total = sum(v0$vcov[v0$grp != "Residual"]) / sum(v0$vcov))
mML <- lmer(f_waves, data = waves, REML = FALSE); out$waves_ml <- fit_info(mML)
out$waves_lrt_coc <- lrt(mML, update(mML, . ~ . - coc))

# Within- and between-resident effects (person-mean centring).
f_wb <- relatedness_satisfaction ~ coc_within + coc_between + pgy + wave + (1 | program/resident)
m <- lmer(f_wb, data = waves, REML = TRUE); out$within_between_reml <- fit_info(m)
mML <- lmer(f_wb, data = waves, REML = FALSE)
out$within_between_lrt <- lrt(mML, update(mML, . ~ . - coc_within - coc_between))

# Random slope, correlated and uncorrelated, on wave 1.
m <- lmer(relatedness_satisfaction ~ coc + pgy + (coc | program), data = one, REML = TRUE,
          control = lmerControl(check.conv.singular = "ignore"))
out$slope_reml <- fit_info(m)
m <- lmer(relatedness_satisfaction ~ coc + pgy + (coc | program), data = one, REML = FALSE,
          control = lmerControl(check.conv.singular = "ignore"))
out$slope_ml <- fit_info(m)
m <- lmer(relatedness_satisfaction ~ coc + pgy + (coc || program), data = one, REML = TRUE,
          control = lmerControl(check.conv.singular = "ignore"))
out$slope_uncorrelated_reml <- fit_info(m)

# Crossed random intercepts (program x PGY year) on wave 1.
m <- lmer(relatedness_satisfaction ~ coc + (1 | program) + (1 | pgy), data = one, REML = TRUE,
          control = lmerControl(check.conv.singular = "ignore"))
out$crossed_reml <- fit_info(m)

# Likelihood-ratio test of coc in reference.R's model (ML refits).
mML <- lmer(relatedness_satisfaction ~ coc + pgy + (1 | program), data = one, REML = FALSE)
out$lrt_coc <- lrt(mML, update(mML, . ~ . - coc))
out$reference_r2 <- r2(lmer(relatedness_satisfaction ~ coc + pgy + (1 | program), data = one, REML = TRUE))

# Natural cubic spline of coc, df = 3 (same space as a natural cubic regression spline with knots at
# the 0, 1/3, 2/3, 1 quantiles); curve at 11 points with pgy at its mean, fixed effects only.
m <- lmer(relatedness_satisfaction ~ ns(coc, df = 3) + pgy + (1 | program), data = one, REML = TRUE)
grid <- data.frame(coc = seq(min(one$coc), max(one$coc), length.out = 11), pgy = mean(one$pgy))
Xg <- model.matrix(delete.response(terms(m)), grid)
fit <- as.vector(Xg %*% fixef(m)); se <- sqrt(rowSums((Xg %*% as.matrix(vcov(m))) * Xg))
out$spline_reml <- list(loglik = as.numeric(logLik(m)), reml = REMLcrit(m), varcorr = vc_list(m), grid = grid$coc, fitted = fit, se = se,
                        knots = as.numeric(attr(ns(one$coc, df = 3), "knots")))
mML <- lmer(relatedness_satisfaction ~ ns(coc, df = 3) + pgy + (1 | program), data = one, REML = FALSE)
out$spline_lrt <- lrt(mML, update(mML, . ~ . - ns(coc, df = 3)))

write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"), outfile)
cat("ok\n")
