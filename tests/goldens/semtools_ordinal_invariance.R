# Goldens for sdt_survey/factor/sem/ordinal_invariance.py: ordinal measurement invariance by WLSMV,
# identified as Wu & Estabrook (2016) by semTools::measEq.syntax and fitted by lavaan.
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite):
#   Rscript tests/goldens/semtools_ordinal_invariance.R tests/data/reference tests/goldens/semtools_ordinal_invariance.json
#
# Data sets (complete cases on the model items, as lavaan's listwise default for WLSMV):
# * bfi: psych's bfi (tests/data/reference/public/bfi.csv), the five Agreeableness items A1-A5
#   (A1 reverse keyed as 7 - x; six categories) by gender (1 = male, 2 = female).
# * sdt-sim: responses_w1.csv, relatedness satisfaction rs1-rs4 (rs4 reversed as 6 - x; five
#   categories) and relatedness frustration rf1-rf4, two factors, by PGY split into "pgy1" and
#   "senior" (PGY 2-3), groups in order of first appearance.
# The chain: configural -> thresholds -> thresholds + loadings -> + intercepts (delta and theta),
# and -> + residuals (theta only: semTools refuses residuals under delta). Each step's syntax is
# measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016"), fitted by
# cfa(as.character(syntax), data, ordered = items, group = , estimator = "WLSMV").
# lavTestLRT(fit_before, fit_after) gives each scaled difference test (satorra.2000, scaled.shifted).
# Each step also records lavaan's fit function (fx) at its estimates and, when
# semtools_ordinal_invariance_ours.json exists, at ours (fx_at_ours): on the few steps where the
# estimates differ by more than 1e-5, lavaan stopped early and its own criterion is lower at ours.
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
out_file <- if (length(args) >= 2) args[2] else "tests/goldens/semtools_ordinal_invariance.json"

bfi <- read.csv(file.path(ref, "public", "bfi.csv"), row.names = 1)
bfi$A1 <- 7 - bfi$A1
bfi_items <- paste0("A", 1:5)
bfi <- bfi[complete.cases(bfi[, c(bfi_items, "gender")]), c(bfi_items, "gender")]

sim <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
sim$rs4 <- 6 - sim$rs4
sim_items <- c(paste0("rs", 1:4), paste0("rf", 1:4))
sim$cohort <- ifelse(sim$pgy == 1, "pgy1", "senior")
sim <- sim[complete.cases(sim[, sim_items]), c(sim_items, "cohort")]

sets <- list(
  bfi = list(data = bfi, items = bfi_items, group = "gender",
             model = "agree =~ A1 + A2 + A3 + A4 + A5"),
  sim = list(data = sim, items = sim_items, group = "cohort",
             model = "rs =~ rs1 + rs2 + rs3 + rs4\nrf =~ rf1 + rf2 + rf3 + rf4")
)
steps <- list(configural = character(0), thresholds = "thresholds",
              metric = c("thresholds", "loadings"),
              scalar = c("thresholds", "loadings", "intercepts"),
              strict = c("thresholds", "loadings", "intercepts", "residuals"))
measures <- c("chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df",
              "baseline.chisq.scaled", "cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled",
              "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust", "srmr", "npar", "ntotal")

# lavaan's own fit function at a parameter vector (free parameters in lavaan's order).
lavaan_fx <- function(fit, x) {
  model <- lavaan:::lav_model_set_parameters(fit@Model, x = x)
  as.numeric(lavaan:::lav_model_objective(lavmodel = model, lavsamplestats = fit@SampleStats,
                                          lavdata = fit@Data, lavcache = fit@Cache))
}
# Our estimates (semtools_ordinal_invariance_ours.json, written by the .py beside this script).
ours_file <- "tests/goldens/semtools_ordinal_invariance_ours.json"
ours_all <- if (file.exists(ours_file)) fromJSON(ours_file) else list()

summarize <- function(fit, key) {
  pe <- parameterEstimates(fit)
  pe <- pe[pe$op != "==", ]
  out <- list(fit = as.list(fitMeasures(fit, measures)),
              parameters = pe[, c("lhs", "op", "rhs", "group", "est", "se")])
  x_lavaan <- lavaan:::lav_model_get_parameters(fit@Model)
  out$fx <- lavaan_fx(fit, x_lavaan)
  ours <- ours_all[[key]]
  if (!is.null(ours)) {
    pt <- parTable(fit)
    idx <- which(pt$free > 0)
    hit <- match(paste(pt$lhs, pt$op, pt$rhs, pt$group)[idx],
                 paste(ours$lhs, ours$op, ours$rhs, ours$group))
    x <- x_lavaan
    x[pt$free[idx]] <- ours$est[hit]
    out$fx_at_ours <- lavaan_fx(fit, x)
  }
  out
}

out <- list()
for (set_name in names(sets)) {
  s <- sets[[set_name]]
  for (pz in c("delta", "theta")) {
    fits <- list()
    for (step in names(steps)) {
      if (pz == "delta" && step == "strict") next
      syn <- measEq.syntax(s$model, data = s$data, ordered = s$items, parameterization = pz,
                           ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = s$group,
                           group.equal = steps[[step]])
      fits[[step]] <- cfa(as.character(syn), data = s$data, ordered = s$items, group = s$group,
                          estimator = "WLSMV", parameterization = pz)
    }
    res <- lapply(names(fits), function(step) summarize(fits[[step]], paste(set_name, pz, step, sep = "_")))
    names(res) <- names(fits)
    lrt <- list()
    nm <- names(fits)
    for (i in seq_along(nm)[-1]) {
      tab <- lavTestLRT(fits[[nm[i - 1]]], fits[[nm[i]]])
      lrt[[nm[i]]] <- list(chisq_diff = tab[2, "Chisq diff"], df_diff = tab[2, "Df diff"],
                           pvalue = tab[2, "Pr(>Chisq)"])
    }
    out[[paste(set_name, pz, sep = "_")]] <- list(steps = res, lrt = lrt,
                                                 groups = as.list(lavInspect(fits[[1]], "nobs")),
                                                 group_labels = lavInspect(fits[[1]], "group.label"))
  }
}
out$meta <- list(lavaan = as.character(packageVersion("lavaan")),
                 semTools = as.character(packageVersion("semTools")), R = R.version.string,
                 n_bfi = nrow(bfi), n_sim = nrow(sim))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, dataframe = "columns", matrix = "rowmajor", na = "null"), out_file)
