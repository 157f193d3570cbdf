# Goldens for issue 15 item 4 (clustered data): lavaan 0.6-14's single-level cfa(..., cluster = ).
# Run from the repository root:  Rscript tests/goldens/lavaan_cluster.R
#
# With cluster= and a single-level model lavaan adds a mean structure and uses se = "robust.cluster"
# (the sandwich whose meat sums casewise scores within clusters, times G/(G-1)) and the
# Yuan-Bentler (Mplus) scaled test, for estimator ML and MLR alike; with ML the test's h0 trace uses
# the "h1" observed information (lavaan warns "observed.information for ALL test statistics is set to
# h1"), so ML and MLR share standard errors but differ slightly in the scaled statistic.
#
# Data: tests/data/demo_twolevel.csv is lavaan's Demo.twolevel (y1-y6, cluster; values rounded to
# 4 decimals); tests/data/residency_cluster.csv is the simulated residency wave 1 (program and the
# relatedness/competence items; rs4 and cs4 are reverse-worded and reversed here as 6 - x).
#
# lavaan's default stopping rule leaves some estimates ~1e-6 short of the optimum, which moves a few
# parameter p-values by more than 1e-5 relative. So each case also evaluates lavaan, without
# refitting, at our estimates (tests/goldens/lavaan_cluster_ours.json, written first by
# `python tests/goldens/lavaan_cluster_ours.py`): its log-likelihood there (at least as high as at its
# own estimates) and its standard errors and p-values there.
suppressMessages({library(lavaan); library(jsonlite)})
ours <- fromJSON("tests/goldens/lavaan_cluster_ours.json")
demo <- read.csv("tests/data/demo_twolevel.csv")
# Missing answers for the FIML cases, by a rule the tests repeat (1-based row numbers r).
r <- seq_len(nrow(demo))
demo_na <- demo
demo_na$y1[r %% 9 == 0] <- NA
demo_na$y5[r %% 13 == 5] <- NA
demo_na$y3[r %% 17 == 2 & r %% 9 != 0] <- NA
demo$g <- ifelse(demo$cluster <= 100, "a", "b")
res <- read.csv("tests/data/residency_cluster.csv")
res$rs4 <- 6 - res$rs4
res$cs4 <- 6 - res$cs4

demo_model <- "f1 =~ y1 + y2 + y3
f2 =~ y4 + y5 + y6"
res_model <- "rs =~ rs1 + rs2 + rs3 + rs4
rf =~ rf1 + rf2 + rf3 + rf4
cs =~ cs1 + cs2 + cs3 + cs4"

keys <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "pvalue.scaled", "chisq.scaling.factor",
          "baseline.chisq", "baseline.chisq.scaled", "baseline.chisq.scaling.factor",
          "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
          "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled",
          "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust",
          "srmr", "logl", "unrestricted.logl", "aic", "bic")
case <- function(name, model, data, cluster, ...) {
  fit <- suppressWarnings(cfa(model, data = data, cluster = cluster, ...))
  pe <- parameterEstimates(fit)
  pt <- parTable(fit)
  stopifnot(nrow(pt) == length(ours[[name]]))
  pt$start <- ours[[name]]
  pt$est <- ours[[name]]
  at_ours <- suppressWarnings(cfa(pt, data = data, cluster = cluster, ..., optim.method = "none"))
  pe_ours <- parameterEstimates(at_ours)
  out <- list(options = list(...), cluster = cluster,
              nobs = lavInspect(fit, "ntotal"),
              nclusters = length(unique(data[[cluster]][unlist(lavInspect(fit, "case.idx"))])),
              se_type = lavInspect(fit, "options")$se,
              fit = as.list(fitMeasures(fit, keys)),
              lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se,
              pvalue = pe$pvalue,
              logl_at_ours = fitMeasures(at_ours, "logl")[[1]],
              est_at_ours = pe_ours$est, se_at_ours = pe_ours$se, pvalue_at_ours = pe_ours$pvalue)
  if (!is.null(pe$group)) out$group <- pe$group
  out
}
cases <- list(
  demo_ml = case("demo_ml", demo_model, demo, "cluster", estimator = "ML"),
  demo_mlr = case("demo_mlr", demo_model, demo, "cluster", estimator = "MLR"),
  demo_fiml_ml = case("demo_fiml_ml", demo_model, demo_na, "cluster", estimator = "ML", missing = "ml"),
  demo_fiml_mlr = case("demo_fiml_mlr", demo_model, demo_na, "cluster", estimator = "MLR", missing = "ml"),
  demo_groups_mlr = case("demo_groups_mlr", demo_model, demo, "cluster", estimator = "MLR", group = "g"),
  demo_groups_ml = case("demo_groups_ml", demo_model, demo, "cluster", estimator = "ML", group = "g"),
  residency_ml = case("residency_ml", res_model, res, "program", estimator = "ML"),
  residency_mlr = case("residency_mlr", res_model, res, "program", estimator = "MLR"),
  residency_fiml_ml = case("residency_fiml_ml", res_model, res, "program", estimator = "ML", missing = "ml"),
  residency_fiml_mlr = case("residency_fiml_mlr", res_model, res, "program", estimator = "MLR", missing = "ml")
)
# Without cluster= (to show that clustering changes standard errors and the test, not the estimates).
plain <- cfa(res_model, data = res, estimator = "MLR", meanstructure = TRUE)
cases$residency_mlr_unclustered <- list(est = parameterEstimates(plain)$est, se = parameterEstimates(plain)$se)
out <- c(list(lavaan = as.character(packageVersion("lavaan")),
              demo_model = demo_model, residency_model = res_model), cases)
write_json(out, "tests/goldens/lavaan_cluster.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# Measurement invariance with clusters: each step with cluster= (lavaan's group.equal), and
# lavTestLRT between consecutive steps (Satorra-Bentler 2001, for ML and MLR alike with cluster=).
steps <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))
# Each step is also evaluated at our estimates (as the single fits above), and so is the LRT.
chain <- function(name, model, data, cluster, group, ...) {
  fits <- lapply(steps, function(eq) suppressWarnings(
    cfa(model, data = data, cluster = cluster, group = group, group.equal = eq, ...)))
  at_ours <- lapply(names(steps), function(s) {
    pt <- parTable(fits[[s]])
    est <- ours$invariance[[name]][[s]]
    n <- length(est)  # the equality constraints (op "==") follow the parameters
    stopifnot(nrow(pt) >= n, all(pt$op[-seq_len(n)] == "=="))
    pt$start[seq_len(n)] <- est
    pt$est[seq_len(n)] <- est
    suppressWarnings(cfa(pt, data = data, cluster = cluster, group = group, ..., optim.method = "none"))
  })
  names(at_ours) <- names(steps)
  fit_keys <- c("chisq", "df", "chisq.scaled", "chisq.scaling.factor", "cfi.robust", "rmsea.robust", "srmr")
  lrt_of <- function(f) {
    lrt <- list()
    for (k in 2:length(f)) {
      t <- suppressWarnings(lavTestLRT(f[[k - 1]], f[[k]]))
      lrt[[names(f)[k]]] <- list(chisq_diff = t[["Chisq diff"]][2], df_diff = t[["Df diff"]][2],
                                 pvalue = t[["Pr(>Chisq)"]][2])
    }
    lrt
  }
  list(steps = lapply(fits, function(f) as.list(fitMeasures(f, c(fit_keys, "logl")))),
       steps_at_ours = lapply(at_ours, function(f) as.list(fitMeasures(f, c(fit_keys, "logl")))),
       lrt = lrt_of(fits), lrt_at_ours = lrt_of(at_ours))
}
invariance <- list(
  demo_ml = chain("demo_ml", demo_model, demo, "cluster", "g", estimator = "ML"),
  demo_mlr = chain("demo_mlr", demo_model, demo, "cluster", "g", estimator = "MLR"),
  # programs cross PGY: a program's residents of one PGY form a cluster within that group
  residency_pgy_mlr = chain("residency_pgy_mlr", res_model, res, "program", "pgy", estimator = "MLR", missing = "ml")
)
out$invariance <- invariance
write_json(out, "tests/goldens/lavaan_cluster.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
