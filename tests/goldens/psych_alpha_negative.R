# psych::alpha when the items pull against each other, for tests/test_reliability_negative.py.
# 1. "negative": complete data whose average inter-item correlation is negative (std.alpha < 0).
# 2. "pairwise_negative_sum": pairwise-complete correlations whose sum is negative (no data set
#    with complete rows has one): std.alpha = (1 - k / sum(R)) * k / (k - 1) is still a number.
# Usage: Rscript tests/goldens/psych_alpha_negative.R tests/goldens/psych_alpha_negative.json
suppressMessages({library(psych); library(jsonlite)})
args <- commandArgs(TRUE)
sets <- list(
  negative = data.frame(a = c(1, 2, 3, 4, 5, 1, 2, 3), b = c(3, 1, 2, 5, 2, 4, 3, 1),
                        c = c(4, 5, 1, 2, 3, 3, 1, 2)),
  pairwise_negative_sum = data.frame(a = c(1, 2, 3, 4, 1, 2, 3, 4, NA, NA, NA, NA),
                                     b = c(4, 3, 2, 1, NA, NA, NA, NA, 1, 2, 3, 4),
                                     c = c(NA, NA, NA, NA, 4, 3, 2, 1, 4, 3, 2, 1))
)
num <- function(x) ifelse(is.finite(x), x, NA)
out <- list(psych = as.character(packageVersion("psych")))
for (name in names(sets)) {
  d <- sets[[name]]
  said <- character()
  res <- withCallingHandlers(alpha(d), warning = function(w) {
    said <<- c(said, conditionMessage(w)); invokeRestart("muffleWarning")
  })
  out[[name]] <- list(
    data = d,
    total = lapply(as.list(res$total), num),
    alpha_drop = lapply(as.list(res$alpha.drop[, c("raw_alpha", "std.alpha", "average_r")]), num),
    r_drop = num(res$item.stats$r.drop),
    reversed_warning = any(grepl("should be reversed", said)),
    warnings = said
  )
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), args[1])
