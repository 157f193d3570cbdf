# Goldens for sdt_survey.factor (EFA) that the reference files in tests/data/reference lack.
# R 4.2.2, psych 2.2.9, GPArotation 2022.10.2, jsonlite.
#
# Run from the repository root (the data are in tests/data/reference):
#   Rscript tests/goldens/psych_efa.R tests/data/reference tests/goldens/psych_efa.json
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/psych_efa.json"

mat <- function(m) { m <- as.matrix(unclass(m)); lapply(seq_len(nrow(m)), function(i) setNames(as.list(m[i, ]), colnames(m))) |> setNames(rownames(m)) }
nul <- function(x) if (is.null(x)) NA else x

# Everything psych::fa reports that sdt_survey compares.
fa_full <- function(x, nf, fm, rotate) {
  f <- suppressWarnings(suppressMessages(fa(x, nfactors = nf, fm = fm, rotate = rotate)))
  list(
    nfactors = nf, fm = fm, rotate = rotate,
    loadings = mat(f$loadings),
    phi = if (is.null(f$Phi)) NA else mat(f$Phi),
    communality = as.list(f$communality),
    uniquenesses = as.list(f$uniquenesses),
    complexity = as.list(f$complexity),
    vaccounted = mat(f$Vaccounted),
    values = f$values, e_values = f$e.values,
    STATISTIC = nul(f$STATISTIC), dof = f$dof, PVAL = nul(f$PVAL), objective = f$objective,
    TLI = nul(f$TLI), RMSEA = if (is.null(f$RMSEA)) NA else as.list(f$RMSEA[c("RMSEA", "lower", "upper")]),
    BIC = nul(f$BIC), SABIC = nul(f$SABIC),
    null_chisq = f$null.chisq, null_dof = f$null.dof, null_model = f$null.model,
    chi = f$chi, EPVAL = nul(f$EPVAL), rms = f$rms, crms = nul(f$crms), EBIC = nul(f$EBIC),
    fit = f$fit, fit_off = f$fit.off, n_obs = f$n.obs
  )
}
kmo_bart <- function(x) {
  k <- KMO(x)
  b <- cortest.bartlett(cor(x, use = "pairwise"), n = nrow(x))
  list(msa = k$MSA, msai = as.list(k$MSAi), chisq = b$chisq, df = b$df, p = b$p.value)
}
# fa.parallel's deterministic parts: the data's component and factor eigenvalues.
par_values <- function(x, fm, SMC = FALSE) {
  p <- suppressWarnings(suppressMessages(fa.parallel(x, fm = fm, n.iter = 2, SMC = SMC, plot = FALSE)))
  list(fm = fm, smc = SMC, pc_values = p$pc.values, fa_values = p$fa.values)
}

out <- list()

# bfi: 25 items, 1-6 scale, not reverse keyed (as psych's examples), pairwise correlations.
bfi <- read.csv(file.path(ref, "public", "bfi.csv"), row.names = 1)[, 1:25]
out$bfi <- list(
  pa_varimax = fa_full(bfi, 5, "pa", "varimax"),
  minres_geominQ = fa_full(bfi, 5, "minres", "geominQ"),
  ml_geominT = fa_full(bfi, 5, "ml", "geominT"),
  pa_oblimin = fa_full(bfi, 5, "pa", "oblimin"),
  minres_none = fa_full(bfi, 5, "minres", "none"),
  minres_oblimin = fa_full(bfi, 5, "minres", "oblimin"),
  ml_promax = fa_full(bfi, 5, "ml", "promax"),
  minres_1 = fa_full(bfi, 1, "minres", "oblimin"),
  pa_promax_3 = fa_full(bfi, 3, "pa", "promax")
)
bfi_cc <- na.omit(bfi)
out$bfi_listwise <- list(
  n = nrow(bfi_cc),
  kmo_bartlett = kmo_bart(bfi_cc),
  minres_oblimin = fa_full(bfi_cc, 5, "minres", "oblimin")
)
set.seed(1)
pb <- suppressWarnings(suppressMessages(fa.parallel(bfi, n.iter = 20, plot = FALSE)))
out$bfi_parallel <- list(
  minres = par_values(bfi, "minres"),
  ml = par_values(bfi, "ml"),
  pa = par_values(bfi, "pa"),
  smc = par_values(bfi, "minres", SMC = TRUE),
  nfact_seed1 = pb$nfact, ncomp_seed1 = pb$ncomp
)

# sdt-sim wave 1: 24 items after reverse keying, ~3% missing.
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"))
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
items <- as.vector(t(outer(c("as", "af", "rs", "rf", "cs", "cf"), 1:4, paste0)))
x <- d[, items]
set.seed(1)
ps <- suppressWarnings(suppressMessages(fa.parallel(x, n.iter = 20, plot = FALSE)))
out$sim <- list(
  kmo_bartlett = kmo_bart(x),
  minres_oblimin = fa_full(x, 6, "minres", "oblimin"),
  ml_promax = fa_full(x, 6, "ml", "promax"),
  pa_geominQ = fa_full(x, 6, "pa", "geominQ"),
  parallel = par_values(x, "minres"),
  nfact_seed1 = ps$nfact, ncomp_seed1 = ps$ncomp
)

# Holzinger-Swineford: 301 pupils, 9 tests, 3 factors (complete data).
hs <- read.csv(file.path(ref, "public", "HolzingerSwineford1939.csv"))[, paste0("x", 1:9)]
out$hs <- list(
  kmo_bartlett = kmo_bart(hs),
  ml_promax = fa_full(hs, 3, "ml", "promax"),
  pa_varimax = fa_full(hs, 3, "pa", "varimax"),
  minres_geominQ = fa_full(hs, 3, "minres", "geominQ"),
  ml_oblimin_2 = fa_full(hs, 2, "ml", "oblimin"),
  parallel = par_values(hs, "ml")
)

out$versions <- list(R = R.version.string, psych = as.character(packageVersion("psych")),
                     GPArotation = as.character(packageVersion("GPArotation")))
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), outfile)
cat("ok\n")
