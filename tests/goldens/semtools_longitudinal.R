# Goldens for sdt_survey/factor/sem/longitudinal.py: longitudinal measurement invariance across waves,
# the wide model written by semTools::measEq.syntax (longFacNames, longIndNames, long.equal,
# long.partial; ID.fac = "std.lv", its default; auto = "all": residual covariances of the same item at
# every pair of waves) and fitted by lavaan::cfa, with lavTestLRT between steps (Satorra-Bentler 2001
# scaled differences for MLR).
#
# Data sets:
#  * the simulated residency data, waves 1 and 2 (tests/data/reference/sdt-sim/responses_w*.csv; the
#    same residents, 408 at wave 1, 347 of them at wave 2; rs4 and cs4 reversed as 6 - x):
#    relatedness satisfaction (and with competence satisfaction), ML and MLR, FIML and listwise;
#  * a three-wave data set simulated here with lavaan::simulateData (two factors of three items,
#    the intercept of y2 higher at wave 3 and the loading of y5 lower at wave 3; some residents miss
#    wave 2 or 3), written once to tests/data/longitudinal_sim.csv in long format (id, wave, y1..y6).
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite):
#   Rscript tests/goldens/semtools_longitudinal.R
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})
stopifnot(identical(formals(measEq.syntax)$ID.fac, "std.lv"))
ref <- "tests/data/reference/sdt-sim"
sim_file <- "tests/data/longitudinal_sim.csv"
out_file <- "tests/goldens/semtools_longitudinal.json"

# ------------------------------------------------------------------ the simulated three-wave data
if (!file.exists(sim_file)) {
  pop <- "
  F_w1 =~ 0.8*y1_w1 + 0.7*y2_w1 + 0.6*y3_w1
  G_w1 =~ 0.7*y4_w1 + 0.8*y5_w1 + 0.6*y6_w1
  F_w2 =~ 0.8*y1_w2 + 0.7*y2_w2 + 0.6*y3_w2
  G_w2 =~ 0.7*y4_w2 + 0.8*y5_w2 + 0.6*y6_w2
  F_w3 =~ 0.8*y1_w3 + 0.7*y2_w3 + 0.6*y3_w3
  G_w3 =~ 0.7*y4_w3 + 0.4*y5_w3 + 0.6*y6_w3
  F_w1 ~~ 0.5*F_w2 + 0.5*F_w3 + 0.3*G_w1 + 0.15*G_w2 + 0.15*G_w3
  F_w2 ~~ 0.5*F_w3 + 0.3*G_w2 + 0.15*G_w1 + 0.15*G_w3
  F_w3 ~~ 0.3*G_w3 + 0.15*G_w1 + 0.15*G_w2
  G_w1 ~~ 0.5*G_w2 + 0.5*G_w3
  G_w2 ~~ 0.5*G_w3
  F_w2 ~ 0.2*1
  F_w3 ~ 0.3*1
  G_w3 ~ -0.2*1
  y2_w3 ~ 0.5*1
  y1_w1 ~~ 0.2*y1_w2 + 0.2*y1_w3
  y1_w2 ~~ 0.2*y1_w3
  y4_w1 ~~ 0.15*y4_w2
  "
  set.seed(20260315)
  wide <- simulateData(pop, sample.nobs = 400, meanstructure = TRUE)
  wide <- round(wide + 3, 3)
  long <- do.call(rbind, lapply(1:3, function(k) {
    part <- wide[, paste0("y", 1:6, "_w", k)]
    names(part) <- paste0("y", 1:6)
    cbind(id = sprintf("S%03d", seq_len(nrow(wide))), wave = k, part)
  }))
  drop <- c(which(long$wave == 2)[sample(400, 25)], which(long$wave == 3)[sample(400, 40)])
  long <- long[-drop, ]
  long <- long[order(long$wave, long$id), ]
  write.csv(long, sim_file, row.names = FALSE)
}

# ------------------------------------------------------------------ helpers
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr",
              "aic", "bic", "logl", "npar", "ntotal")
robust <- c("chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor", "cfi.robust",
            "tli.robust", "rmsea.robust")
steps <- list(configural = "", metric = "loadings", scalar = c("loadings", "intercepts"),
              strict = c("loadings", "intercepts", "residuals"))

widen <- function(long, items, id) {
  waves <- sort(unique(long$wave))
  parts <- lapply(seq_along(waves), function(k) {
    p <- long[long$wave == waves[k], c(id, items)]
    names(p) <- c(id, paste0(items, "_w", k))
    p
  })
  Reduce(function(a, b) merge(a, b, by = id, all = TRUE), parts)
}

# factors: list(name = items); returns the configural wide syntax and the longitudinal names
wide_model <- function(factors, n_waves) {
  lines <- c()
  for (k in seq_len(n_waves)) for (f in names(factors))
    lines <- c(lines, paste0(f, "_w", k, " =~ ", paste0(factors[[f]], "_w", k, collapse = " + ")))
  items <- unlist(factors, use.names = FALSE)
  list(
    syntax = paste(lines, collapse = "\n"),
    fac = setNames(lapply(names(factors), function(f) paste0(f, "_w", seq_len(n_waves))), names(factors)),
    ind = setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n_waves))), items)
  )
}

# Our estimates (python tests/test_longitudinal_invariance.py writes them, in parameterEstimates order):
# lavaan's default stopping rule leaves some small residual covariances a few 1e-6 short of the
# optimum, so each step also records lavaan's log-likelihood at its estimates and at ours.
ours_file <- "tests/goldens/semtools_longitudinal_ours.json"
ours <- if (file.exists(ours_file)) fromJSON(ours_file) else NULL
case_name <- NULL

chain <- function(wide, factors, n_waves, extra = character(0), long.partial = "", ...) {
  m <- wide_model(factors, n_waves)
  out <- list(steps = list(), estimates = list(), syntax = list(), criterion = list())
  fits <- list()
  for (nm in names(steps)) {
    syn <- measEq.syntax(m$syntax, data = wide, longFacNames = m$fac, longIndNames = m$ind,
                         long.equal = steps[[nm]], long.partial = long.partial, ...)
    t0 <- proc.time()[["elapsed"]]
    f <- cfa(as.character(syn), data = wide, ...)
    fits[[nm]] <- f
    out$syntax[[nm]] <- as.character(syn)
    out$steps[[nm]] <- as.list(fitMeasures(f, c(measures, extra)))
    pe <- parameterEstimates(f)
    out$estimates[[nm]] <- as.list(pe[, c("lhs", "op", "rhs", "est", "se")])
    mine <- ours[[case_name]][[nm]]
    if (!is.null(mine)) {
      pt <- parTable(f)
      at <- match(paste(pt$lhs, pt$op, pt$rhs), paste(pe$lhs, pe$op, pe$rhs))
      pt$est[!is.na(at)] <- mine[at[!is.na(at)]]
      pt$start <- pt$est
      at_ours <- cfa(pt, data = wide, do.fit = FALSE, ...)
      out$criterion[[nm]] <- list(logl = fitMeasures(f, "logl")[[1]], logl_at_ours = as.numeric(logLik(at_ours)))
    }
  }
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
  out$lrt <- list(chisq_diff = lrt[["Chisq diff"]][-1], df_diff = lrt[["Df diff"]][-1],
                  pvalue = lrt[["Pr(>Chisq)"]][-1])
  out
}

# ------------------------------------------------------------------ residency waves 1 and 2
d <- rbind(read.csv(file.path(ref, "responses_w1.csv")), read.csv(file.path(ref, "responses_w2.csv")))
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
rs <- list(relatedness_satisfaction = c("rs1", "rs2", "rs3", "rs4"))
two <- c(rs, list(competence_satisfaction = c("cs1", "cs2", "cs3", "cs4")))
w_rs <- widen(d, rs[[1]], "resident")
w_two <- widen(d, unlist(two), "resident")

out <- list(semtools = as.character(packageVersion("semTools")), lavaan = as.character(packageVersion("lavaan")))
case_name <- "res_rs_ml_fiml"; out$res_rs_ml_fiml <- chain(w_rs, rs, 2, missing = "ml")
case_name <- "res_rs_mlr_listwise"; out$res_rs_mlr_listwise <- chain(w_rs, rs, 2, robust, estimator = "MLR")
case_name <- "res_two_mlr_fiml"; out$res_two_mlr_fiml <- chain(w_two, two, 2, robust, estimator = "MLR", missing = "ml")

# ------------------------------------------------------------------ simulated, three waves
s <- read.csv(sim_file, stringsAsFactors = FALSE)
fg <- list(F = c("y1", "y2", "y3"), G = c("y4", "y5", "y6"))
w_s <- widen(s, unlist(fg), "id")
case_name <- "sim_ml_listwise"; out$sim_ml_listwise <- chain(w_s, fg, 3)
case_name <- "sim_mlr_fiml"; out$sim_mlr_fiml <- chain(w_s, fg, 3, robust, estimator = "MLR", missing = "ml")
case_name <- "sim_partial_ml_fiml"; out$sim_partial_ml_fiml <- chain(w_s, fg, 3, long.partial = c("y2~1", "G=~y5"), missing = "ml")

write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out_file)
cat("wrote", out_file, "\n")
