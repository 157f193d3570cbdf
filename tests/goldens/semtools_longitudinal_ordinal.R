# Goldens for the WLSMV case of sdt_survey/factor/sem/longitudinal.py: longitudinal invariance of
# ordinal items across waves, the wide model written by
#   semTools::measEq.syntax(configural.model, data, ordered = items, parameterization = "theta",
#                           ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", longFacNames = ...,
#                           long.equal = ...)
# (auto = "all": the residual covariances of the latent responses of the same item at every pair of
# waves) and fitted by lavaan::cfa(ordered = items, estimator = "WLSMV", parameterization = "theta")
# on the complete cases across waves (lavaan's listwise default), with lavTestLRT between steps.
# The chain: configural -> thresholds -> + loadings -> + intercepts -> + residuals.
#
# Data sets:
#  * the simulated residency data, waves 1 and 2 (tests/data/reference/sdt-sim/responses_w*.csv),
#    relatedness satisfaction rs1..rs4 (rs4 reversed as 6 - x), five categories;
#  * a three-wave ordinal set simulated here (two factors of three items; lavaan::simulateData cut
#    into four categories at the same cut points at every wave except y2 at wave 3, whose cuts are
#    shifted; some respondents miss a wave), written once to tests/data/longitudinal_ordinal_sim.csv in
#    long format (id, wave, y1..y6).
#
# Run from the repository root (R 4.2.2, lavaan 0.6-14, semTools 0.5-6, jsonlite):
#   Rscript tests/goldens/semtools_longitudinal_ordinal.R
suppressMessages({library(lavaan); library(semTools); library(jsonlite)})
ref <- "tests/data/reference/sdt-sim"
sim_file <- "tests/data/longitudinal_ordinal_sim.csv"
out_file <- "tests/goldens/semtools_longitudinal_ordinal.json"

if (!file.exists(sim_file)) {
  pop <- "
  F_w1 =~ 0.8*y1_w1 + 0.7*y2_w1 + 0.6*y3_w1
  G_w1 =~ 0.7*y4_w1 + 0.8*y5_w1 + 0.6*y6_w1
  F_w2 =~ 0.8*y1_w2 + 0.7*y2_w2 + 0.6*y3_w2
  G_w2 =~ 0.7*y4_w2 + 0.8*y5_w2 + 0.6*y6_w2
  F_w3 =~ 0.8*y1_w3 + 0.7*y2_w3 + 0.6*y3_w3
  G_w3 =~ 0.7*y4_w3 + 0.8*y5_w3 + 0.6*y6_w3
  F_w1 ~~ 0.5*F_w2 + 0.5*F_w3 + 0.3*G_w1 + 0.15*G_w2 + 0.15*G_w3
  F_w2 ~~ 0.5*F_w3 + 0.3*G_w2 + 0.15*G_w1 + 0.15*G_w3
  F_w3 ~~ 0.3*G_w3 + 0.15*G_w1 + 0.15*G_w2
  G_w1 ~~ 0.5*G_w2 + 0.5*G_w3
  G_w2 ~~ 0.5*G_w3
  F_w2 ~ 0.2*1
  F_w3 ~ 0.3*1
  G_w3 ~ -0.2*1
  y1_w1 ~~ 0.2*y1_w2 + 0.2*y1_w3
  y1_w2 ~~ 0.2*y1_w3
  y4_w1 ~~ 0.15*y4_w2
  "
  set.seed(20261205)
  wide <- simulateData(pop, sample.nobs = 600, meanstructure = TRUE)
  cuts <- c(-Inf, -0.9, 0, 0.9, Inf)
  for (v in names(wide)) {
    shift <- if (v == "y2_w3") 0.4 else 0
    wide[[v]] <- as.integer(cut(wide[[v]], cuts + shift))
  }
  long <- do.call(rbind, lapply(1:3, function(k) {
    part <- wide[, paste0("y", 1:6, "_w", k)]
    names(part) <- paste0("y", 1:6)
    cbind(id = sprintf("S%03d", seq_len(nrow(wide))), wave = k, part)
  }))
  drop <- c(which(long$wave == 2)[sample(600, 30)], which(long$wave == 3)[sample(600, 45)])
  long <- long[-drop, ]
  long <- long[order(long$wave, long$id), ]
  write.csv(long, sim_file, row.names = FALSE)
}

measures <- c("chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
              "cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled", "rmsea.scaled", "srmr", "npar", "ntotal")
steps <- list(configural = character(0), thresholds = "thresholds",
              metric = c("thresholds", "loadings"),
              scalar = c("thresholds", "loadings", "intercepts"),
              strict = c("thresholds", "loadings", "intercepts", "residuals"))

widen <- function(long, items, id) {
  waves <- sort(unique(long$wave))
  parts <- lapply(seq_along(waves), function(k) {
    p <- long[long$wave == waves[k], c(id, items)]
    names(p) <- c(id, paste0(items, "_w", k))
    p
  })
  Reduce(function(a, b) merge(a, b, by = id, all = TRUE), parts)
}

lavaan_fx <- function(fit, x) {
  model <- lavaan:::lav_model_set_parameters(fit@Model, x = x)
  as.numeric(lavaan:::lav_model_objective(lavmodel = model, lavsamplestats = fit@SampleStats,
                                          lavdata = fit@Data, lavcache = fit@Cache))
}
ours_file <- "tests/goldens/semtools_longitudinal_ordinal_ours.json"
ours_all <- if (file.exists(ours_file)) fromJSON(ours_file) else list()

chain <- function(case, long, factors, n_waves, id, long.partial = "") {
  items <- unlist(factors, use.names = FALSE)
  wide <- widen(long, items, id)
  lines <- c()
  for (k in seq_len(n_waves)) for (f in names(factors))
    lines <- c(lines, paste0(f, "_w", k, " =~ ", paste0(factors[[f]], "_w", k, collapse = " + ")))
  fac <- setNames(lapply(names(factors), function(f) paste0(f, "_w", seq_len(n_waves))), names(factors))
  ind <- setNames(lapply(items, function(i) paste0(i, "_w", seq_len(n_waves))), items)
  ordered <- unlist(ind, use.names = FALSE)
  fits <- list()
  out <- list(steps = list(), syntax = list(), n_wide = nrow(wide))
  for (nm in names(steps)) {
    syn <- measEq.syntax(paste(lines, collapse = "\n"), data = wide, ordered = ordered,
                         parameterization = "theta", ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
                         longFacNames = fac, longIndNames = ind, long.equal = steps[[nm]],
                         long.partial = long.partial)
    f <- cfa(as.character(syn), data = wide, ordered = ordered, estimator = "WLSMV",
             parameterization = "theta")
    fits[[nm]] <- f
    pe <- parameterEstimates(f)
    pe <- pe[pe$op != "==", ]
    s <- list(fit = as.list(fitMeasures(f, measures)), parameters = pe[, c("lhs", "op", "rhs", "est", "se")])
    x_lavaan <- lavaan:::lav_model_get_parameters(f@Model)
    s$fx <- lavaan_fx(f, x_lavaan)
    ours <- ours_all[[paste(case, nm, sep = "_")]]
    if (!is.null(ours)) {
      pt <- parTable(f)
      idx <- which(pt$free > 0)
      hit <- match(paste(pt$lhs, pt$op, pt$rhs)[idx], paste(ours$lhs, ours$op, ours$rhs))
      x <- x_lavaan
      x[pt$free[idx]] <- ours$est[hit]
      s$fx_at_ours <- lavaan_fx(f, x)
    }
    out$steps[[nm]] <- s
    out$syntax[[nm]] <- as.character(syn)
  }
  lrt <- list()
  nm <- names(fits)
  for (i in seq_along(nm)[-1]) {
    tab <- lavTestLRT(fits[[nm[i - 1]]], fits[[nm[i]]])
    lrt[[nm[i]]] <- list(chisq_diff = tab[2, "Chisq diff"], df_diff = tab[2, "Df diff"],
                         pvalue = tab[2, "Pr(>Chisq)"])
  }
  out$lrt <- lrt
  out
}

d <- rbind(read.csv(file.path(ref, "responses_w1.csv")), read.csv(file.path(ref, "responses_w2.csv")))
d$rs4 <- 6 - d$rs4
s <- read.csv(sim_file, stringsAsFactors = FALSE)
out <- list(meta = list(lavaan = as.character(packageVersion("lavaan")),
                        semTools = as.character(packageVersion("semTools")), R = R.version.string))
out$res_rs <- chain("res_rs", d, list(rs = paste0("rs", 1:4)), 2, "resident")
out$sim <- chain("sim", s, list(F = c("y1", "y2", "y3"), G = c("y4", "y5", "y6")), 3, "id")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, dataframe = "columns", na = "null"), out_file)
cat("wrote", out_file, "\n")
