# Goldens for issue 15 item 5: every fit measure lavaan 0.6-14's fitMeasures() reports, and the
# standardized solution's standard errors (standardizedSolution(), std.all, delta method).
# Run from the repository root:  Rscript tests/goldens/lavaan_fit_measures.R
# It also writes the data the tests read: tests/data/hs_mcar.csv (HolzingerSwineford1939 with 5%
# of each item missing completely at random, seed 15), tests/data/bfi_ac.csv (psych's bfi, the A and
# C items of the first 500 rows, A1 C4 C5 reversed as 7 - x, rows with a missing answer dropped)
# and tests/data/residency_w1.csv (the simulated residency data, wave 1; as4 rs4 cs4 reversed 6 - x).
suppressMessages({library(lavaan); library(jsonlite)})
items <- paste0("x", 1:9)
hs <- HolzingerSwineford1939[, items]
set.seed(15)
hs_mcar <- hs
for (v in items) hs_mcar[runif(nrow(hs)) < 0.05, v] <- NA
write.csv(hs_mcar, "tests/data/hs_mcar.csv", row.names = FALSE)

bfi <- if (requireNamespace("psych", quietly = TRUE)) psych::bfi else
  read.csv("/work/shared/reference/public/bfi.csv")
bfi_ac <- bfi[1:500, c(paste0("A", 1:5), paste0("C", 1:5))]
for (v in c("A1", "C4", "C5")) bfi_ac[[v]] <- 7 - bfi_ac[[v]]
bfi_ac <- na.omit(bfi_ac)
write.csv(bfi_ac, "tests/data/bfi_ac.csv", row.names = FALSE)

res <- read.csv("/work/shared/reference/sdt-sim/responses_w1.csv")
ritems <- c(t(outer(c("as", "af", "rs", "rf", "cs", "cf"), 1:4, paste0)))
res <- res[, ritems]
for (v in c("as4", "rs4", "cs4")) res[[v]] <- 6 - res[[v]]
write.csv(res, "tests/data/residency_w1.csv", row.names = FALSE)

hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
res_model <- paste(sapply(c("as", "af", "rs", "rf", "cs", "cf"), function(f)
  paste0(f, " =~ ", paste0(f, 1:4, collapse = " + "))), collapse = "\n")
bfi_model <- "A =~ A1 + A2 + A3 + A4 + A5
C =~ C1 + C2 + C3 + C4 + C5"

record <- function(fit, model, data, ...) {
  fm <- fitMeasures(fit)
  ss <- standardizedSolution(fit)
  list(model = model, data = data, options = list(...),
       fit = as.list(unclass(fm)),
       std = list(lhs = ss$lhs, op = ss$op, rhs = ss$rhs, est = ss$est.std, se = ss$se, z = ss$z,
                  pvalue = ss$pvalue, ci_lower = ss$ci.lower, ci_upper = ss$ci.upper))
}
cont <- function(model, data, file, estimator, missing) {
  fit <- cfa(model, data = data, estimator = estimator, missing = missing)
  record(fit, model, file, estimator = estimator, missing = if (missing == "ml") "fiml" else "listwise")
}
out <- list(
  lavaan = as.character(packageVersion("lavaan")),
  hs_ml = cont(hs_model, hs, "hs", "ML", "listwise"),
  hs_mlr = cont(hs_model, hs, "hs", "MLR", "listwise"),
  hs_ml_fiml = cont(hs_model, hs_mcar, "hs_mcar.csv", "ML", "ml"),
  hs_mlr_fiml = cont(hs_model, hs_mcar, "hs_mcar.csv", "MLR", "ml"),
  res_ml = cont(res_model, res, "residency_w1.csv", "ML", "listwise"),
  res_mlr = cont(res_model, res, "residency_w1.csv", "MLR", "listwise"),
  res_ml_fiml = cont(res_model, res, "residency_w1.csv", "ML", "ml"),
  res_mlr_fiml = cont(res_model, res, "residency_w1.csv", "MLR", "ml"),
  bfi_wlsmv = record(cfa(bfi_model, data = bfi_ac, ordered = TRUE), bfi_model, "bfi_ac.csv",
                     estimator = "WLSMV", missing = "listwise"),
  res_wlsmv = record(cfa(res_model, data = na.omit(res), ordered = TRUE), res_model, "residency_w1.csv",
                     estimator = "WLSMV", missing = "listwise")
)
write_json(out, "tests/goldens/lavaan_fit_measures.json", digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "null")
