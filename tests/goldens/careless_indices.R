# Careless-responding indices on sdt-sim wave 1, computed with base R, for tests/test_scoring.py.
# (The careless package is not in Debian; each index is its published definition written out.)
# Usage: Rscript tests/goldens/careless_indices.R tests/data/reference tests/goldens/careless_indices.json
suppressMessages(library(jsonlite))
args <- commandArgs(TRUE)
d <- read.csv(file.path(args[1], "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
order <- c("as1","af1","rs1","rf1","cs1","cf1","as2","af2","rs2","rf2","cs2","cf2",
           "as3","af3","rs3","rf3","cs3","cf3","as4","af4","rs4","rf4","cs4","cf4")
raw <- as.matrix(d[, order])
keyed <- raw; for (it in c("as4","rs4","cs4")) keyed[, it] <- 6 - keyed[, it]
# longstring: longest run of identical consecutive answers; a missing answer ends a run
longstring <- apply(raw, 1, function(x) {
  best <- 0; run <- 0; prev <- NA
  for (v in x) { if (is.na(v)) { run <- 0 } else if (!is.na(prev) && v == prev) { run <- run + 1 } else { run <- 1 }
                 best <- max(best, run); prev <- v }
  best })
irv <- apply(raw, 1, function(x) sd(x, na.rm = TRUE))
complete <- complete.cases(keyed)
md <- rep(NA_real_, nrow(keyed)); p <- rep(NA_real_, nrow(keyed))
md[complete] <- mahalanobis(keyed[complete, ], colMeans(keyed[complete, ]), cov(keyed[complete, ]))
p[complete] <- pchisq(md[complete], df = ncol(keyed), lower.tail = FALSE)
subs <- list(c("as1","as2","as3","as4"), c("af1","af2","af3","af4"), c("rs1","rs2","rs3","rs4"),
             c("rf1","rf2","rf3","rf4"), c("cs1","cs2","cs3","cs4"), c("cf1","cf2","cf3","cf4"))
odd <- sapply(subs, function(s) rowMeans(keyed[, s[c(1, 3)], drop = FALSE], na.rm = TRUE))
even <- sapply(subs, function(s) rowMeans(keyed[, s[c(2, 4)], drop = FALSE], na.rm = TRUE))
evenodd <- sapply(seq_len(nrow(keyed)), function(i) {
  ok <- is.finite(odd[i, ]) & is.finite(even[i, ])
  if (sum(ok) < 3) return(NA_real_)
  r <- suppressWarnings(cor(odd[i, ok], even[i, ok]))
  if (is.na(r)) return(NA_real_)
  sign(r) * 2 * abs(r) / (1 + abs(r))  # Spearman-Brown on |r|, sign kept
})
out <- list(resident = d$resident, longstring = longstring, irv = irv, mahalanobis_d2 = md,
            mahalanobis_p = p, evenodd = evenodd)
write(toJSON(out, digits = NA, na = "null", pretty = FALSE), args[2])
cat("ok\n")
