# Goldens for sdt_survey.mixed GLMMs (family = "binomial" | "poisson"): lme4::glmer with the Laplace
# approximation (nAGQ = 1, glmer's default) and adaptive Gauss-Hermite quadrature (nAGQ = 10).
# R 4.2.2, lme4 1.1-31, jsonlite.
#
# Run from the repository root:
#   Rscript tests/goldens/lme4_glmm.R tests/data tests/goldens/lme4_glmm.json
#
# It writes lme4's cbpp and grouseticks to tests/data/glmm/*.csv (the tests read them there) and
# builds the residency data from tests/data/reference/sdt-sim: relatedness_satisfaction (the true
# score, scores_truth.csv) >= 4 as a 0/1 outcome, joined to continuity_truth.csv (coc) and wave 1's
# program and pgy (responses_w1.csv); all 14 programs, and programs P01-P08.
#
# Recorded per fit: fixed effects; standard errors from vcov() (lme4's default: the finite-difference
# Hessian of the deviance in (theta, beta), optinfo$derivs$Hessian) and from RX (use.hessian = FALSE);
# theta; variance components; logLik; the criterion (-2 logLik, lme4's devfun at the optimum);
# devfun at a second, perturbed (theta, beta) to check the criterion away from the optimum; the
# Hessian; Wald odds ratios (confint(method = "Wald")); Nakagawa et al. (2017) R2 written out here
# (performance/MuMIn are not installed): var_fixed = var(X beta) (n - 1), var_random = the sum of the
# random-intercept variances, the distribution-specific variance pi^2/3 (binomial logit) or for
# Poisson (log link) lognormal log(1 + 1/lambda) and delta 1/lambda with
# lambda = exp(mean(X beta) + var_random / 2).
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
datadir <- if (length(args) >= 1) args[1] else "tests/data"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/lme4_glmm.json"
dir.create(file.path(datadir, "glmm"), showWarnings = FALSE)
write.csv(cbpp, file.path(datadir, "glmm", "cbpp.csv"), row.names = FALSE)
gt <- grouseticks[, c("INDEX", "TICKS", "BROOD", "YEAR", "cHEIGHT")]
write.csv(gt, file.path(datadir, "glmm", "grouseticks.csv"), row.names = FALSE)
# cbpp as one 0/1 row per animal (herd, period, y).
rows <- rep(seq_len(nrow(cbpp)), cbpp$size)
cbpp01 <- data.frame(herd = cbpp$herd[rows], period = cbpp$period[rows],
                     y = unlist(lapply(seq_len(nrow(cbpp)), function(i) rep(c(1, 0), c(cbpp$incidence[i], cbpp$size[i] - cbpp$incidence[i])))))

sim <- file.path(datadir, "reference", "sdt-sim")
w1 <- read.csv(file.path(sim, "responses_w1.csv"), stringsAsFactors = FALSE)
sc <- read.csv(file.path(sim, "scores_truth.csv"), stringsAsFactors = FALSE)
cont <- read.csv(file.path(sim, "continuity_truth.csv"), stringsAsFactors = FALSE)
res <- merge(merge(sc[, c("resident", "relatedness_satisfaction")], cont[, c("resident", "coc")], by = "resident"),
             w1[, c("resident", "program", "pgy")], by = "resident")
res$related <- as.numeric(res$relatedness_satisfaction >= 4)
res <- res[order(res$resident), ]
res8 <- res[res$program %in% sprintf("P%02d", 1:8), ]

info <- function(m, family) {
  theta <- getME(m, "theta"); beta <- fixef(m)
  dd <- update(m, devFunOnly = TRUE)
  nagq <- m@devcomp$dims[["nAGQ"]]
  crit <- -2 * as.numeric(logLik(m))
  at <- c(theta, beta)
  pert <- c(theta * 1.1 + 0.05, beta + 0.05)
  dev_opt <- dd(at); dev_pert <- dd(pert)
  # lme4's devfun with its penalized IRLS run to convergence (tolPwrss = 1e-12 instead of 1e-7): the
  # default stops the inner iterations early enough to move the criterion by up to ~1e-3.
  dt <- update(m, devFunOnly = TRUE, control = glmerControl(tolPwrss = 1e-12))
  tight_opt <- dt(at); tight_pert <- dt(pert)
  vc <- as.data.frame(VarCorr(m))
  X <- getME(m, "X"); eta <- as.vector(X %*% beta)
  vf <- var(eta); vr <- sum(vc$vcov[is.na(vc$var2)])
  dist <- if (family == "binomial") list(theoretical = pi^2 / 3) else {
    lambda <- exp(mean(eta) + vr / 2); list(lognormal = log1p(1 / lambda), delta = 1 / lambda, lambda = lambda)
  }
  r2 <- lapply(dist[names(dist) != "lambda"], function(vd) list(marginal = vf / (vf + vr + vd), conditional = (vf + vr) / (vf + vr + vd)))
  ci <- confint(m, method = "Wald", parm = "beta_")
  list(nAGQ = nagq, fixef = as.list(beta), se = as.list(sqrt(diag(as.matrix(vcov(m))))),
       se_rx = as.list(sqrt(diag(as.matrix(vcov(m, use.hessian = FALSE))))),
       vcov = unname(as.matrix(vcov(m))),
       theta = unname(theta), varcorr = lapply(split(vc, seq_len(nrow(vc))), function(r) list(grp = r$grp, var1 = r$var1, vcov = r$vcov, sdcor = r$sdcor)) |> unname(),
       loglik = as.numeric(logLik(m)), criterion = crit, aic = AIC(m), bic = BIC(m),
       devfun_at_optimum = dev_opt, perturbed = list(pars = unname(pert), devfun = dev_pert, devfun_tight = tight_pert),
       devfun_tight_at_optimum = tight_opt,
       hessian = unname(m@optinfo$derivs$Hessian), gradient = unname(m@optinfo$derivs$gradient),
       odds_ratios = list(terms = rownames(ci), estimate = unname(exp(beta)), lower = unname(exp(ci[, 1])), upper = unname(exp(ci[, 2]))),
       ranef = unname(ranef(m)[[1]][, 1]),
       var_fixed = vf, var_random = vr, distribution_variance = dist, r2 = r2,
       nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m))
}
# Each model is fitted twice: with glmer's defaults, and with tolPwrss = 1e-12 (the inner iterations
# converged; "converged_pirls"), whose estimates are the optimum of the exact Laplace criterion.
fit2 <- function(key, formula, data, family, nAGQ = 1) {
  f <- as.formula(formula)
  m <- glmer(f, data = data, family = family, nAGQ = nAGQ)
  mt <- glmer(f, data = data, family = family, nAGQ = nAGQ, control = glmerControl(tolPwrss = 1e-12))
  res <- c(list(formula = formula, family = family), info(m, family))
  res$converged_pirls <- info(mt, family)
  res
}
out <- list()
t0 <- proc.time()
cbind_f <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
out$cbpp <- fit2("cbpp", cbind_f, cbpp, "binomial")
out$cbpp_agq10 <- fit2("cbpp_agq10", cbind_f, cbpp, "binomial", 10)
out$cbpp_binary <- fit2("cbpp_binary", "y ~ period + (1 | herd)", cbpp01, "binomial")
out$grouseticks <- fit2("grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)", grouseticks, "poisson")
out$grouseticks_agq10 <- fit2("grouseticks_agq10", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)", grouseticks, "poisson", 10)
out$residency14 <- fit2("residency14", "related ~ coc + pgy + (1 | program)", res, "binomial")
out$residency8 <- fit2("residency8", "related ~ coc + pgy + (1 | program)", res8, "binomial")
out$residency14_agq10 <- fit2("residency14_agq10", "related ~ coc + pgy + (1 | program)", res, "binomial", 10)
out$seconds <- (proc.time() - t0)[["elapsed"]]
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE), outfile)
