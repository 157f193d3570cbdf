# Goldens for the latent continuity model (issue 15, item 8): a factor of its
# items regressed on observed covariates, with cluster-robust standard errors
# (lavaan 0.6-14: sem(..., cluster =, estimator = "MLR")).
# Run from the repository root: Rscript tests/goldens/lavaan_latent.R
library(lavaan)
library(jsonlite)

fit_block <- function(fit) {
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  fm <- fitMeasures(fit)
  list(
    ntotal = lavInspect(fit, "ntotal"),
    converged = lavInspect(fit, "converged"),
    se = lavInspect(fit, "options")$se,
    test = lavInspect(fit, "options")$test,
    fit = as.list(fm),  # every measure fitMeasures() reports
    parameters = data.frame(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se,
                            z = pe$z, pvalue = pe$pvalue, std_all = ss$est.std,
                            std_all_se = ss$se)
  )
}

out <- list()

# 1. The simulated residency data, wave 1, joined to the continuity truth.
d <- read.csv("tests/data/reference/sdt-sim/responses_w1.csv")
ct <- read.csv("tests/data/reference/sdt-sim/continuity_truth.csv")
d <- merge(d, ct[, c("resident", "coc")], by = "resident")
d$rs4 <- 6 - d$rs4
rel <- "relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4\nrelatedness_satisfaction ~ coc + pgy"
out$residency_fiml <- fit_block(sem(rel, d, cluster = "program", estimator = "MLR", missing = "ml"))
out$residency_listwise <- fit_block(sem(rel, d, cluster = "program", estimator = "MLR"))
out$residency_fiml$model <- rel
out$residency_listwise$model <- rel

# 2. lavaan's Demo.twolevel: a within-level factor on three covariates, clusters of 5 to 20.
tw <- Demo.twolevel[, c("y1", "y2", "y3", "x1", "x2", "x3", "cluster")]
write.csv(tw, "tests/data/latent_twolevel.csv", row.names = FALSE)
m2 <- "fw =~ y1 + y2 + y3\nfw ~ x1 + x2 + x3"
out$twolevel <- fit_block(sem(m2, tw, cluster = "cluster", estimator = "MLR"))
out$twolevel_fiml <- fit_block(sem(m2, tw, cluster = "cluster", estimator = "MLR", missing = "ml"))
out$twolevel_fiml$model <- m2
out$twolevel$model <- m2

write_json(out, "tests/goldens/lavaan_latent.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
