# Goldens for sdt_survey/factor/invariance.py beyond the reference goldens (ref_hs.json invariance,
# sdt-sim/reference.json invariance_pgy): partial invariance, latent means, MLR with the
# Satorra-Bentler scaled difference tests, std.lv identification, FIML across groups.
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, jsonlite):
#   Rscript tests/goldens/lavaan_invariance.R tests/data/reference tests/goldens/lavaan_invariance.json
suppressMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
out_file <- if (length(args) >= 2) args[2] else "tests/goldens/lavaan_invariance.json"

HS <- read.csv(file.path(ref, "public", "HolzingerSwineford1939.csv"))
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]

hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
bpn_model <- "autonomy_satisfaction =~ as1 + as2 + as3 + as4
autonomy_frustration =~ af1 + af2 + af3 + af4
relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4
relatedness_frustration =~ rf1 + rf2 + rf3 + rf4
competence_satisfaction =~ cs1 + cs2 + cs3 + cs4
competence_frustration =~ cf1 + cf2 + cf3 + cf4"

steps <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
              "aic", "bic", "logl", "npar")
robust <- c("chisq.scaled", "chisq.scaling.factor", "cfi.robust", "tli.robust", "rmsea.robust")

chain <- function(model, data, group, extra = character(0), ...) {
  fits <- list()
  out <- list(steps = list())
  for (nm in names(steps)) {
    f <- cfa(model, data = data, group = group, group.equal = steps[[nm]], ...)
    fits[[nm]] <- f
    out$steps[[nm]] <- as.list(fitMeasures(f, c(measures, extra)))
  }
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
  out$lrt <- list(chisq_diff = lrt[["Chisq diff"]][-1], df_diff = lrt[["Df diff"]][-1],
                  pvalue = lrt[["Pr(>Chisq)"]][-1])
  pe <- parameterEstimates(fits$scalar)
  lm <- pe[pe$op == "~1" & pe$lhs %in% lavNames(fits$scalar, "lv") & pe$group > 1, ]
  out$latent_means <- lm[, c("lhs", "group", "est", "se", "z", "pvalue")]
  out
}

out <- list()
# Holzinger-Swineford by school: MLR chain (scaled differences, robust indices)
out$hs_mlr <- chain(hs_model, HS, "school", robust, estimator = "MLR")
# ... identified by unit factor variances (free in group 2 once loadings are equal)
out$hs_std_lv <- chain(hs_model, HS, "school", std.lv = TRUE)
# ... partial invariance: intercepts of x3 and x7 free (lavaan's group.partial)
partial <- c("x3~1", "x7~1")
out$hs_partial <- chain(hs_model, HS, "school", group.partial = partial)
# ... partial metric: the loading of x2 free; MLR
out$hs_partial_loading_mlr <- chain(hs_model, HS, "school", robust, group.partial = c("visual=~x2", "x2~1"),
                                    estimator = "MLR")

# sdt-sim wave 1 by PGY: FIML (all 408 residents), and ML listwise LRT chain with latent means
d$pgy <- factor(d$pgy)
out$bpn_pgy_fiml <- chain(bpn_model, d, "pgy", missing = "ml")
out$bpn_pgy <- chain(bpn_model, d, "pgy")
out$bpn_pgy_partial_mlr <- chain(bpn_model, d, "pgy", robust,
                                 group.partial = c("relatedness_satisfaction=~rs2", "rs2~1"), estimator = "MLR")

write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_file)
cat("wrote", out_file, "\n")
