# Goldens for issue 15 items 1-2: observed covariates in regressions (fixed.x) and defined
# parameters (:=), lavaan 0.6-14. Run from the repository root:
#   Rscript tests/goldens/lavaan_sem_extensions.R
# It writes the data files the tests read (tests/data/PoliticalDemocracy.csv, hs_missing.csv,
# residency_mimic.csv) and tests/goldens/lavaan_sem_extensions.json.
suppressMessages({library(lavaan); library(jsonlite)})

write.csv(PoliticalDemocracy, "tests/data/PoliticalDemocracy.csv", row.names = FALSE)
hs <- read.csv("tests/data/reference/public/HolzingerSwineford1939.csv")
# HolzingerSwineford1939 with answers missing at random (10% of item cells, 8 ages).
set.seed(15)
hs_miss <- hs
items <- paste0("x", 1:9)
for (v in items) hs_miss[runif(nrow(hs)) < 0.10, v] <- NA
hs_miss$ageyr[sample(nrow(hs), 8)] <- NA
write.csv(hs_miss, "tests/data/hs_missing.csv", row.names = FALSE, na = "")
# The simulated residency data, wave 1: relatedness items (rs4 reverse-worded, reversed here) and pgy,
# with pgy missing for three residents (those rows are left out under fixed.x).
w1 <- read.csv("tests/data/reference/sdt-sim/responses_w1.csv")
res <- data.frame(program = w1$program, pgy = w1$pgy, rs1 = w1$rs1, rs2 = w1$rs2, rs3 = w1$rs3,
                  rs4r = 6 - w1$rs4, rf1 = w1$rf1, rf2 = w1$rf2, rf3 = w1$rf3, rf4 = w1$rf4)
res$pgy[c(5, 17, 40)] <- NA
write.csv(res, "tests/data/residency_mimic.csv", row.names = FALSE, na = "")

fit_keys <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "unrestricted.logl",
              "aic", "bic", "baseline.chisq", "baseline.df", "ntotal")
robust_keys <- c("chisq.scaled", "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
                 "cfi.robust", "tli.robust", "rmsea.robust")

ours <- if (file.exists("tests/goldens/lavaan_sem_extensions_ours.json"))
  fromJSON("tests/goldens/lavaan_sem_extensions_ours.json") else list()
# lavaan's own log-likelihood at our estimates (tests/goldens/lavaan_sem_extensions_ours.py writes them).
logl_at_ours <- function(fit, model, data, mine, ...) {
  if (is.null(mine)) return(NULL)
  pt <- parTable(fit)
  grp <- if (lavInspect(fit, "ngroups") > 1) pt$group else rep(1, nrow(pt))
  key <- paste(pt$lhs, pt$op, pt$rhs, grp)
  mine_key <- paste(mine$lhs, mine$op, mine$rhs, mine$group)
  mine_swap <- paste(mine$rhs, mine$op, mine$lhs, mine$group)
  idx <- match(key, mine_key)
  idx[is.na(idx)] <- match(key, mine_swap)[is.na(idx)]
  use <- pt$op != ":=" & pt$free > 0
  pt$est[use] <- mine$est[idx[use]]
  pt$start <- pt$est
  at <- sem(pt, data = data, do.fit = FALSE, ...)
  as.numeric(logLik(at))
}

record <- function(name, model, data, ...) {
  fit <- sem(model, data = data, ...)
  robust <- lavInspect(fit, "options")$test != "standard"
  pe <- parameterEstimates(fit, standardized = TRUE)
  ss <- standardizedSolution(fit, type = "std.all")
  keys <- if (any(robust)) c(fit_keys, robust_keys) else fit_keys
  list(model = model, args = list(...),
       logl = as.numeric(logLik(fit)), logl_at_ours = logl_at_ours(fit, model, data, ours[[name]], ...),
       fit = as.list(fitMeasures(fit, keys)),
       lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = if (is.null(pe$group)) NULL else pe$group,
       est = pe$est, se = pe$se, z = pe$z, pvalue = pe$pvalue,
       ci_lower = pe$ci.lower, ci_upper = pe$ci.upper,
       std_lv = pe$std.lv, std_all = pe$std.all, std_nox = pe$std.nox,
       std_all_se = ss$se)
}

pd_model <- "ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ a*ind60
dem65 ~ b*ind60 + c*dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
ind := a*c
total := b + a*c
prop := ind / total
dev := sqrt(exp(log(abs(b - c)^2)))
dbc := b - c"

mimic_model <- "visual =~ x1 + l2*x2 + l3*x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
visual ~ a1*ageyr + sex
textual ~ a2*ageyr + sex
speed ~ ageyr + grade + visual
x1 ~ sex
dl := l2 - l3
da := a1 - a2"

fiml_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
visual + textual + speed ~ ageyr + sex"

group_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ c(v1, v2)*ageyr + sex
textual ~ ageyr
dv := v1 - v2"

outcome_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
grade ~ g1*visual + g2*textual + ageyr
gd := g1 - g2"

outcomes_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ ageyr
textual ~ sex
grade ~ ageyr + sex"

res_model <- "rs =~ rs1 + l2*rs2 + l3*rs3 + rs4r
rf =~ rf1 + rf2 + rf3 + rf4
rs ~ b1*pgy
rf ~ b2*pgy
dl := l2 - l3
db := b1 + b2"

cases <- list(
  pd_ml = list(pd_model, PoliticalDemocracy),
  pd_mlr = list(pd_model, PoliticalDemocracy, estimator = "MLR"),
  hs_mimic_ml = list(mimic_model, hs),
  hs_mimic_mlr = list(mimic_model, hs, estimator = "MLR"),
  hs_fiml_ml = list(fiml_model, hs_miss, missing = "ml"),
  hs_fiml_mlr = list(fiml_model, hs_miss, missing = "ml", estimator = "MLR"),
  hs_groups = list(group_model, hs, group = "school"),
  hs_groups_loadings = list(group_model, hs, group = "school", group.equal = "loadings"),
  hs_outcome = list(outcome_model, hs),
  hs_outcomes_covary = list(outcomes_model, hs),
  hs_groups_fiml_mlr = list(group_model, hs_miss, group = "school", missing = "ml", estimator = "MLR"),
  residency_fiml = list(res_model, res, missing = "ml"),
  residency_fiml_mlr = list(res_model, res, missing = "ml", estimator = "MLR"),
  residency_listwise_mlr = list(res_model, res, estimator = "MLR")
)
out <- list(lavaan = as.character(packageVersion("lavaan")))
for (name in names(cases)) {
  case <- cases[[name]]
  out[[name]] <- do.call(record, c(list(name = name, model = case[[1]], data = case[[2]]), case[-(1:2)]))
}
# Defined parameters with WLSMV (ordinal items, listwise): the residency items and HolzingerSwineford1939's
# x1-x6 cut at their quartiles (tests/data/hs_ordinal.csv).
hs_ord <- as.data.frame(lapply(hs[paste0("x", 1:6)], function(v)
  cut(v, quantile(v, c(0, 0.25, 0.5, 0.75, 1)), include.lowest = TRUE, labels = FALSE)))
write.csv(hs_ord, "tests/data/hs_ordinal.csv", row.names = FALSE)
ordinal <- function(model, data) {
  items <- setdiff(lavNames(lavaanify(model), "ov"), character(0))
  fit <- cfa(model, data = data, ordered = items, estimator = "WLSMV")
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  d <- pe$op == ":="
  list(model = model, lhs = pe$lhs[d], rhs = pe$rhs[d], est = pe$est[d], se = pe$se[d], z = pe$z[d],
       pvalue = pe$pvalue[d], std_all = ss$est.std[ss$op == ":="])
}
out$wlsmv_residency <- ordinal("rs =~ rs1 + l2*rs2 + l3*rs3 + rs4r
rf =~ rf1 + f2*rf2 + rf3 + rf4
dl := l2 - l3
prod := l2*f2", res)
out$wlsmv_hs <- ordinal("visual =~ x1 + a*x2 + b*x3
textual =~ x4 + c*x5 + x6
dab := a - b
ratio := a/c", hs_ord)
write_json(out, "tests/goldens/lavaan_sem_extensions.json", digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "null")
