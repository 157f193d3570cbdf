# Goldens for sdt_survey/factor/wlsmv.py: ordinal CFA by WLSMV, lavaan's cfa(model, data, ordered = TRUE).
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, jsonlite):
#   Rscript tests/goldens/lavaan_wlsmv.R tests/data/reference tests/goldens/lavaan_wlsmv.json
#
# Data: sdt-sim/responses_w1.csv with as4, rs4, cs4 reverse keyed as 6 - x, complete cases on the
# 24 items. Models: the six correlated subscale factors of the 24 items, and one factor on rs1-rs4
# (delta parameterization, lavaan's default; the one-factor model also with theta).
suppressMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
out_file <- if (length(args) >= 2) args[2] else "tests/goldens/lavaan_wlsmv.json"

d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
items <- c(outer(c("as", "af", "rs", "rf", "cs", "cf"), 1:4, paste0))
items <- items[order(match(substr(items, 1, 2), c("as", "af", "rs", "rf", "cs", "cf")), substr(items, 3, 3))]
d <- d[complete.cases(d[, items]), items]

bpn_model <- "autonomy_satisfaction =~ as1 + as2 + as3 + as4
autonomy_frustration =~ af1 + af2 + af3 + af4
relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4
relatedness_frustration =~ rf1 + rf2 + rf3 + rf4
competence_satisfaction =~ cs1 + cs2 + cs3 + cs4
competence_frustration =~ cf1 + cf2 + cf3 + cf4"
rs_model <- "rs =~ rs1 + rs2 + rs3 + rs4"

measures <- c("chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
              "cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled", "rmsea.scaled",
              "cfi.robust", "tli.robust", "rmsea.robust", "srmr", "npar", "ntotal")

summarize <- function(fit) {
  pe <- parameterEstimates(fit)
  st <- standardizedSolution(fit)
  par <- pe[, c("lhs", "op", "rhs", "est", "se")]
  par$std_all <- st$est.std
  ss <- lavInspect(fit, "sampstat")
  list(
    n = lavInspect(fit, "nobs"),
    fit = as.list(fitMeasures(fit, measures)),
    thresholds = as.list(ss$th),
    threshold_names = names(ss$th),
    polychoric = unclass(ss$cov),
    gamma_diag = diag(lavInspect(fit, "gamma")),
    parameters = par
  )
}

fits <- list(
  bpn_delta = cfa(bpn_model, data = d, ordered = TRUE),
  rs_delta = cfa(rs_model, data = d, ordered = TRUE),
  rs_theta = cfa(rs_model, data = d, ordered = TRUE, parameterization = "theta")
)
out <- lapply(fits, summarize)
out$meta <- list(lavaan = as.character(packageVersion("lavaan")), R = R.version.string,
                 n_rows = nrow(d), items = items)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor"), out_file)
