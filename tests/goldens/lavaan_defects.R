# Goldens for issue 15's defects: lavaan 0.6-14 on tests/data/just_identified_fiml.csv.
# Run from the repository root:  Rscript tests/goldens/lavaan_defects.R
#
# lavaan's default stopping rule leaves these FIML fits' intercepts ~1e-6 short of the optimum (its
# own unrestricted EM means agree with ours, not with its model's). So each case also records
# lavaan's log-likelihood at its estimates and at ours (tests/goldens/lavaan_defects_ours.json,
# written by sdt_survey's cfa() with the same model): lavaan's own criterion is higher at ours.
suppressMessages({library(lavaan); library(jsonlite)})
d <- read.csv("tests/data/just_identified_fiml.csv")
ours <- fromJSON("tests/goldens/lavaan_defects_ours.json")
keys <- c("chisq", "df", "cfi", "tli", "rmsea", "chisq.scaled", "cfi.robust", "tli.robust",
          "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")
case <- function(name, ...) {
  fit <- cfa("F =~ a + b + c", data = d, missing = "ml", estimator = "MLR", ...)
  pe <- parameterEstimates(fit)
  pt <- parTable(fit)
  pt$start <- ours[[name]]
  pt$est <- ours[[name]]
  at_ours <- cfa(pt, data = d, missing = "ml", estimator = "MLR", do.fit = FALSE, ...)
  list(fit = as.list(fitMeasures(fit, keys)),
       logl = fitMeasures(fit, "logl")[[1]], logl_at_ours = as.numeric(logLik(at_ours)),
       ours = ours[[name]],
       est = pe$est, se = pe$se, lhs = pe$lhs, op = pe$op, rhs = pe$rhs)
}
# Latent means the user writes (`i ~ 1`) are free: lavaan's Demo.growth as a cfa() model.
growth_model <- "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4
s =~ 0*t1 + 1*t2 + 2*t3 + 3*t4
t1 ~ 0*1
t2 ~ 0*1
t3 ~ 0*1
t4 ~ 0*1
i ~ 1
s ~ 1"
growth <- read.csv("tests/data/demo_growth.csv")  # write.csv(lavaan::Demo.growth, ...)
growth_fit <- cfa(growth_model, data = growth)
growth_pe <- parameterEstimates(growth_fit)

out <- list(
  lavaan = as.character(packageVersion("lavaan")),
  # A just-identified factor (df = 0) with FIML and MLR: lavaan fits it; ours crashed.
  fiml_mlr_df0 = case("fiml_mlr_df0"),
  # The configural step of invariance with the same options (df = 0 in each group).
  fiml_mlr_df0_groups = case("fiml_mlr_df0_groups", group = "g"),
  growth = list(model = growth_model,
                fit = as.list(fitMeasures(growth_fit, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))),
                est = growth_pe$est, se = growth_pe$se, lhs = growth_pe$lhs, op = growth_pe$op,
                rhs = growth_pe$rhs)
)
write_json(out, "tests/goldens/lavaan_defects.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
