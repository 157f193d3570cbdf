# Goldens for the psych options of issue 15: fa(fm = "uls" | "wls" | "gls"), rotations quartimax,
# bentlerT, bentlerQ, bifactor, biquartimin, and omega(fm =, rotate =) beyond minres/oblimin.
# R 4.2.2, psych 2.2.9, GPArotation 2022.10.2, jsonlite.
#
# Run from the repository root (the data are in tests/data/reference):
#   Rscript tests/goldens/psych_efa_options.R tests/data/reference tests/goldens/psych_efa_options.json
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/psych_efa_options.json"

mat <- function(m) { m <- if (is.data.frame(m)) as.matrix(m) else as.matrix(unclass(m)); lapply(seq_len(nrow(m)), function(i) setNames(as.list(m[i, ]), colnames(m))) |> setNames(rownames(m)) }
nul <- function(x) if (is.null(x)) NA else x

# Everything psych::fa reports that sdt_survey compares (as tests/goldens/psych_efa.R).
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
# Everything psych::omega reports that sdt_survey compares.
omega_full <- function(x, nf, fm, rotate = "oblimin") {
  om <- suppressWarnings(suppressMessages(omega(x, nfactors = nf, fm = fm, rotate = rotate, plot = FALSE)))
  sl <- om$schmid$sl
  list(
    nfactors = nf, fm = fm, rotate = rotate,
    omega_h = om$omega_h, omega_total = om$omega.tot, omega_lim = om$omega.lim, alpha = om$alpha,
    G6 = om$G6, ecv = om$ECV[[1]], sl = mat(sl), omega_group = mat(om$omega.group),
    oblique = mat(om$schmid$oblique), phi = mat(om$schmid$phi), gloading = as.vector(om$schmid$gloading)
  )
}

# psych's minres criterion (fac's fit.residuals, fm = "minres") at uniquenesses psi: where psych stops
# early, the test shows that ours is lower by this same criterion.
minres_criterion <- function(S, psi, nf) {
  diag(S) <- 1 - psi
  e <- eigen(S); e$values[e$values < .Machine$double.eps] <- 100 * .Machine$double.eps
  L <- e$vectors[, 1:nf, drop = FALSE] %*% diag(sqrt(e$values[1:nf]), nf)
  res <- (S - L %*% t(L)); sum(res[lower.tri(res)]^2)
}
minres_stop <- function(x, nf) {
  f <- suppressWarnings(suppressMessages(fa(x, nfactors = nf, fm = "minres", rotate = "none")))
  psi <- 1 - f$communalities  # psych's optim par
  list(psi = as.list(psi), criterion = minres_criterion(cor(x, use = "pairwise"), psi, nf))
}
# The rotation kernels alone, from the same unrotated loadings (psych's fa(rotate = "none")), so that
# they are compared without the extraction's optimizer in between.
kernels <- function(x, nf, fm) {
  L <- unclass(suppressWarnings(suppressMessages(fa(x, nfactors = nf, fm = fm, rotate = "none")))$loadings)
  one <- function(r) list(loadings = mat(r$loadings), Th = r$Th, phi = if (is.null(r$Phi)) NA else r$Phi,
                          convergence = r$convergence, iterations = nrow(r$Table) - 1)
  list(unrotated = mat(L),
       quartimax = one(GPArotation::quartimax(L)), bentlerT = one(GPArotation::bentlerT(L)),
       bentlerQ = one(GPArotation::bentlerQ(L)), bifactor = one(psych::bifactor(L)),
       biquartimin = one(psych::biquartimin(L)))
}

out <- list()

# bfi: 25 items, 1-6 scale, not reverse keyed (as psych's examples), pairwise correlations.
bfi <- read.csv(file.path(ref, "public", "bfi.csv"), row.names = 1)[, 1:25]
out$bfi <- list(
  uls_oblimin = fa_full(bfi, 5, "uls", "oblimin"),
  wls_oblimin = fa_full(bfi, 5, "wls", "oblimin"),
  gls_varimax = fa_full(bfi, 5, "gls", "varimax"),
  wls_none = fa_full(bfi, 5, "wls", "none"),
  minres_quartimax = fa_full(bfi, 5, "minres", "quartimax"),
  ml_bentlerT = fa_full(bfi, 5, "ml", "bentlerT"),
  minres_bentlerQ = fa_full(bfi, 5, "minres", "bentlerQ"),
  minres_bifactor = fa_full(bfi, 5, "minres", "bifactor"),
  pa_biquartimin = fa_full(bfi, 5, "pa", "biquartimin"),
  gls_bentlerQ_3 = fa_full(bfi, 3, "gls", "bentlerQ"),
  wls_1 = fa_full(bfi, 1, "wls", "oblimin")
)
# bfi keyed (as psych's examples of omega): 5 group factors.
keys <- list(A = c("-A1", "A2", "A3", "A4", "A5"), C = c("C1", "C2", "C3", "-C4", "-C5"), E = c("-E1", "-E2", "E3", "E4", "E5"),
             N = c("N1", "N2", "N3", "N4", "N5"), O = c("O1", "-O2", "O3", "O4", "-O5"))
bk <- bfi
for (s in names(keys)) {
  rev <- gsub("-", "", keys[[s]][grepl("^-", keys[[s]])])
  for (it in rev) bk[[it]] <- 7 - bk[[it]]
}
out$bfi_omega <- list(
  ml = omega_full(bk, 5, "ml"),
  pa = omega_full(bk, 5, "pa"),
  wls = omega_full(bk, 5, "wls"),
  gls_promax = omega_full(bk, 5, "gls", "promax"),
  minres_bentlerQ = omega_full(bk, 5, "minres", "bentlerQ"),
  minres_geominQ = omega_full(bk, 5, "minres", "geominQ")
)

# Holzinger-Swineford: 301 pupils, 9 tests, 3 factors (complete data). Harman74.cor is a correlation
# matrix, which efa takes only once matrix input lands; HS is the second public data set instead.
hs <- read.csv(file.path(ref, "public", "HolzingerSwineford1939.csv"))[, paste0("x", 1:9)]
out$hs <- list(
  uls_varimax = fa_full(hs, 3, "uls", "varimax"),
  wls_promax = fa_full(hs, 3, "wls", "promax"),
  gls_oblimin = fa_full(hs, 3, "gls", "oblimin"),
  ml_quartimax = fa_full(hs, 3, "ml", "quartimax"),
  minres_bentlerT = fa_full(hs, 3, "minres", "bentlerT"),
  ml_bentlerQ = fa_full(hs, 3, "ml", "bentlerQ"),
  minres_bifactor = fa_full(hs, 3, "minres", "bifactor"),
  minres_biquartimin = fa_full(hs, 3, "minres", "biquartimin"),
  gls_2 = fa_full(hs, 2, "gls", "geominT")
)
out$hs_kernels <- kernels(hs, 3, "minres")
out$hs_minres_stop <- minres_stop(hs, 3)
out$hs_omega <- list(
  ml = omega_full(hs, 3, "ml"),
  gls = omega_full(hs, 3, "gls"),
  pa_biquartimin = omega_full(hs, 3, "pa", "biquartimin")
)

# sdt-sim wave 1: 24 items after reverse keying, ~3% missing.
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"))
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
items <- as.vector(t(outer(c("as", "af", "rs", "rf", "cs", "cf"), 1:4, paste0)))
x <- d[, items]
out$sim <- list(
  wls_oblimin = fa_full(x, 6, "wls", "oblimin"),
  gls_promax = fa_full(x, 6, "gls", "promax"),
  uls_geominQ = fa_full(x, 6, "uls", "geominQ"),
  minres_quartimax = fa_full(x, 6, "minres", "quartimax"),
  ml_bentlerT = fa_full(x, 6, "ml", "bentlerT"),
  minres_bentlerQ = fa_full(x, 6, "minres", "bentlerQ"),
  minres_bifactor = fa_full(x, 7, "minres", "bifactor"),
  wls_biquartimin = fa_full(x, 6, "wls", "biquartimin")
)
out$sim_kernels <- kernels(x, 7, "minres")
out$sim_minres_stop <- minres_stop(x, 7)
out$sim_omega <- list(
  ml = omega_full(x, 6, "ml"),
  pa = omega_full(x, 6, "pa"),
  wls = omega_full(x, 6, "wls"),
  gls = omega_full(x, 6, "gls"),
  minres_promax = omega_full(x, 6, "minres", "promax"),
  ml_biquartimin = omega_full(x, 6, "ml", "biquartimin")
)

out$versions <- list(R = R.version.string, psych = as.character(packageVersion("psych")),
                     GPArotation = as.character(packageVersion("GPArotation")))
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), outfile)
cat("ok\n")
