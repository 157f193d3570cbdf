# What the user writes overrides lavaan's defaults, operator by operator (issue 15): lavaan 0.6-14
# on HolzingerSwineford1939. Run from the repository root:  Rscript tests/goldens/lavaan_operators.R
suppressMessages({library(lavaan); library(jsonlite)})
hs <- read.csv("tests/data/reference/public/HolzingerSwineford1939.csv")
models <- list(
  marker_freed = "visual =~ NA*x1 + x2 + x3\nvisual ~~ 1*visual",
  residual_fixed = "visual =~ x1 + x2 + x3\nx1 ~~ 0.5*x1",
  intercept_fixed = "visual =~ x1 + x2 + x3\nx1 ~ 5*1",
  latent_mean_freed = "visual =~ x1 + x2 + x3\nx1 ~ 0*1\nvisual ~ 1",
  covariance_fixed = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~~ 0*textual",
  regression = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ visual"
)
out <- lapply(models, function(m) {
  fit <- cfa(m, data = hs)
  pe <- parameterEstimates(fit)
  list(model = m, chisq = fitMeasures(fit, "chisq")[[1]], df = fitMeasures(fit, "df")[[1]],
       lhs = pe$lhs, op = pe$op, rhs = pe$rhs, est = pe$est, se = pe$se)
})
write_json(out, "tests/goldens/lavaan_operators.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
