# Goldens for sdt_survey/factor/cfa.py beyond the reference goldens (ref_hs.json, sdt-sim/reference.json).
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite):
#   Rscript tests/goldens/lavaan_cfa.R tests/data/reference tests/goldens/lavaan_cfa.json
#
# Data: the reference files in tests/data/reference (HolzingerSwineford1939.csv; sdt-sim/responses_w1.csv with
# as4, rs4, cs4 reverse keyed as 6 - x). The bifactor and second-order model texts are exactly
# what sdt_survey's CFAModel.from_instrument(bpn-residency, kind) emits (emit_lavaan).
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
out_file <- if (length(args) >= 2) args[2] else "tests/goldens/lavaan_cfa.json"

HS <- read.csv(file.path(ref, "public", "HolzingerSwineford1939.csv"))
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]

hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
hs_second <- paste(hs_model, "g =~ visual + textual + speed", sep = "\n")
bpn_model <- "autonomy_satisfaction =~ as1 + as2 + as3 + as4
autonomy_frustration =~ af1 + af2 + af3 + af4
relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4
relatedness_frustration =~ rf1 + rf2 + rf3 + rf4
competence_satisfaction =~ cs1 + cs2 + cs3 + cs4
competence_frustration =~ cf1 + cf2 + cf3 + cf4"
bpn_second <- paste(bpn_model,
  "need_satisfaction =~ autonomy_satisfaction + relatedness_satisfaction + competence_satisfaction",
  "need_frustration =~ autonomy_frustration + relatedness_frustration + competence_frustration", sep = "\n")
bpn_bifactor <- paste(
  "general =~ as1 + as2 + as3 + as4 + af1 + af2 + af3 + af4 + rs1 + rs2 + rs3 + rs4 + rf1 + rf2 + rf3 + rf4 + cs1 + cs2 + cs3 + cs4 + cf1 + cf2 + cf3 + cf4",
  bpn_model,
  "general ~~ 0*autonomy_satisfaction + 0*autonomy_frustration + 0*relatedness_satisfaction + 0*relatedness_frustration + 0*competence_satisfaction + 0*competence_frustration",
  "autonomy_satisfaction ~~ 0*autonomy_frustration + 0*relatedness_satisfaction + 0*relatedness_frustration + 0*competence_satisfaction + 0*competence_frustration",
  "autonomy_frustration ~~ 0*relatedness_satisfaction + 0*relatedness_frustration + 0*competence_satisfaction + 0*competence_frustration",
  "relatedness_satisfaction ~~ 0*relatedness_frustration + 0*competence_satisfaction + 0*competence_frustration",
  "relatedness_frustration ~~ 0*competence_satisfaction + 0*competence_frustration",
  "competence_satisfaction ~~ 0*competence_frustration", sep = "\n")

measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
              "srmr", "aic", "bic", "bic2", "logl", "unrestricted.logl", "baseline.chisq", "baseline.df", "npar", "ntotal")
robust <- c("chisq.scaled", "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
            "baseline.chisq.scaling.factor", "cfi.robust", "tli.robust", "rmsea.robust",
            "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")

params <- function(fit) {
  pe <- parameterEstimates(fit)
  st <- standardizedSolution(fit)
  keep <- c("lhs", "op", "rhs", intersect("group", names(pe)))
  out <- pe[, c(keep, "est", "se", "z", "pvalue")]
  out$std_all <- st$est.std
  out$std_all_se <- st$se
  out
}
summarize <- function(fit, extra = character(0), omega = TRUE, higher = character(0)) {
  res <- list(fit = as.list(fitMeasures(fit, c(measures, extra))), parameters = params(fit))
  if (omega) res$omega <- as.list(compRelSEM(fit, higher = higher))
  res
}

out <- list()
# Holzinger-Swineford, ML: everything, with modification indices
fit <- cfa(hs_model, data = HS)
out$hs_ml <- summarize(fit)
mi <- modindices(fit)
out$hs_ml$modindices <- mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")]
# ... identified by unit factor variances
out$hs_std_lv <- summarize(cfa(hs_model, data = HS, std.lv = TRUE), omega = FALSE)
# ... MLR (sandwich SEs, Yuan-Bentler-Mplus test, robust indices)
out$hs_mlr <- summarize(cfa(hs_model, data = HS, estimator = "MLR"), robust, omega = FALSE)
# ... second-order factor (factor-on-factor paths), ML and MLR
out$hs_second_order <- summarize(cfa(hs_second, data = HS), higher = "g")
out$hs_second_order_mlr <- summarize(cfa(hs_second, data = HS, estimator = "MLR"), robust, omega = FALSE)
# ... with missing answers (FIML): every 7th value of x1, x5 and x9 removed
HSm <- HS
HSm$x1[seq(1, nrow(HSm), by = 7)] <- NA
HSm$x5[seq(3, nrow(HSm), by = 7)] <- NA
HSm$x9[seq(5, nrow(HSm), by = 7)] <- NA
fit <- cfa(hs_model, data = HSm, missing = "ml")
out$hs_fiml <- summarize(fit)
mi <- modindices(fit)
out$hs_fiml$modindices <- mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")]
out$hs_fiml_mlr <- summarize(cfa(hs_model, data = HSm, missing = "ml", estimator = "MLR"), robust, omega = FALSE)

# sdt-sim wave 1, 6-factor model
out$bpn_fiml <- summarize(cfa(bpn_model, data = d, missing = "ml"))
out$bpn_mlr <- summarize(cfa(bpn_model, data = d, estimator = "MLR"), robust, omega = FALSE)
out$bpn_second_order <- summarize(cfa(bpn_second, data = d),
                                  higher = c("need_satisfaction", "need_frustration"))
out$bpn_bifactor <- summarize(cfa(bpn_bifactor, data = d, missing = "ml", std.lv = TRUE))

write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_file)
cat("wrote", out_file, "\n")
