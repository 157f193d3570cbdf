# Goldens for issue 15 item 3: CFA and EFA from a covariance or correlation matrix.
# R 4.2.2, lavaan 0.6-14, psych 2.2.9, GPArotation 2022.10.2, jsonlite.
#
# Run from the repository root:  Rscript tests/goldens/matrix_input.R
# It writes tests/data/harman74_cor.csv (datasets::Harman74.cor, 24 x 24 correlations, n.obs = 145) and
# tests/goldens/matrix_input.json. Matrices from data: cov()/cor() of the reference files in tests/data/reference
# (complete cases); the test computes the same matrices with pandas.
suppressMessages({library(lavaan); library(psych); library(GPArotation); library(jsonlite)})
ref <- "tests/data/reference"

HS <- read.csv(file.path(ref, "public", "HolzingerSwineford1939.csv"))
xs <- paste0("x", 1:9)
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"), stringsAsFactors = FALSE)
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
items <- c(outer(c("1", "2", "3", "4"), c("as", "af", "rs", "rf", "cs", "cf"), function(i, s) paste0(s, i)))
items <- items[order(match(substr(items, 1, 2), c("as", "af", "rs", "rf", "cs", "cf")), substr(items, 3, 3))]
sim <- na.omit(d[, items])

harman <- Harman74.cor$cov
write.csv(harman, "tests/data/harman74_cor.csv")
harman <- as.matrix(read.csv("tests/data/harman74_cor.csv", row.names = 1, check.names = FALSE))

hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
harman_model <- "spatial =~ VisualPerception + Cubes + PaperFormBoard + Flags
verbal =~ GeneralInformation + PargraphComprehension + SentenceCompletion + WordClassification + WordMeaning
speed =~ Addition + Code + CountingDots + StraightCurvedCapitals
memory =~ WordRecognition + NumberRecognition + FigureRecognition + ObjectNumber + NumberFigure + FigureWord"
bpn_model <- "autonomy_satisfaction =~ as1 + as2 + as3 + as4
autonomy_frustration =~ af1 + af2 + af3 + af4
relatedness_satisfaction =~ rs1 + rs2 + rs3 + rs4
relatedness_frustration =~ rf1 + rf2 + rf3 + rf4
competence_satisfaction =~ cs1 + cs2 + cs3 + cs4
competence_frustration =~ cf1 + cf2 + cf3 + cf4"

measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
              "srmr", "aic", "bic", "bic2", "logl", "unrestricted.logl", "baseline.chisq", "baseline.df", "npar", "ntotal")
# Our estimates (tests/goldens/matrix_input_ours.py writes them): lavaan's own log-likelihood is evaluated at them
# too, so a case where lavaan's default stopping rule ends short of the optimum shows which solution is better.
ours_file <- "tests/goldens/matrix_input_ours.json"
ours <- if (file.exists(ours_file)) fromJSON(ours_file) else list()
lav <- function(name, run) {
  fit <- run(do.fit = TRUE)
  pe <- parameterEstimates(fit)
  st <- standardizedSolution(fit)
  keep <- c("lhs", "op", "rhs", intersect("group", names(pe)))
  out <- pe[, c(keep, "est", "se", "z", "pvalue")]
  out$std_all <- st$est.std
  out$std_all_se <- st$se
  res <- list(fit = as.list(fitMeasures(fit, measures)), parameters = out,
              meanstructure = lavInspect(fit, "meanstructure"), groups = lavInspect(fit, "group.label"),
              logl = fitMeasures(fit, "logl")[[1]])
  if (!is.null(ours[[name]])) {
    o <- ours[[name]]
    pt <- parTable(fit)
    key_pt <- paste(pt$lhs, pt$op, pt$rhs, pt$group)
    key_o <- paste(o$lhs, o$op, o$rhs, o$group)
    at <- match(key_o, key_pt)
    stopifnot(!anyNA(at))
    pt$est[at] <- o$est
    pt$start[at] <- o$est
    res$logl_at_ours <- as.numeric(logLik(run(model = pt, do.fit = FALSE)))
  }
  res
}
case <- function(syntax, ...) {
  args <- list(...)
  function(model = syntax, do.fit = TRUE) do.call("cfa", c(list(model = model, do.fit = do.fit), args))
}

cfa_out <- list()
S <- cov(HS[, xs])
schools <- split(HS[, xs], HS$school)  # Grant-White, Pasteur (sorted, as split does)
covs <- lapply(schools, cov)
ns <- sapply(schools, nrow)
means <- lapply(schools, colMeans)
cases <- list(
  hs_cov = case(hs_model, sample.cov = S, sample.nobs = nrow(HS)),
  hs_cov_mean = case(hs_model, sample.cov = S, sample.nobs = nrow(HS), sample.mean = colMeans(HS[, xs])),
  hs_cor = case(hs_model, sample.cov = cor(HS[, xs]), sample.nobs = nrow(HS)),
  hs_cov_std_lv = case(hs_model, sample.cov = S, sample.nobs = nrow(HS), std.lv = TRUE),
  hs_groups = case(hs_model, sample.cov = covs, sample.nobs = ns),
  hs_groups_means = case(hs_model, sample.cov = covs, sample.nobs = ns, sample.mean = means),
  hs_groups_loadings = case(hs_model, sample.cov = covs, sample.nobs = ns, sample.mean = means,
                            group.equal = "loadings"),
  harman_cor = case(harman_model, sample.cov = harman, sample.nobs = 145),
  bpn_cov = case(bpn_model, sample.cov = cov(sim), sample.nobs = nrow(sim))
)
for (name in names(cases)) cfa_out[[name]] <- lav(name, cases[[name]])

# ----------------------------------------------------------------------------- psych
mat <- function(m) { m <- as.matrix(unclass(m)); lapply(seq_len(nrow(m)), function(i) setNames(as.list(m[i, ]), colnames(m))) |> setNames(rownames(m)) }
nul <- function(x) if (is.null(x) || length(x) == 0) NA else x
fa_full <- function(r, nf, fm, rotate, n.obs = NA) {
  f <- suppressWarnings(suppressMessages(fa(r, nfactors = nf, fm = fm, rotate = rotate, n.obs = n.obs)))
  list(
    nfactors = nf, fm = fm, rotate = rotate, n_obs = if (is.na(n.obs)) NA else n.obs,
    loadings = mat(f$loadings), phi = if (is.null(f$Phi)) NA else mat(f$Phi),
    communality = as.list(f$communality), uniquenesses = as.list(f$uniquenesses),
    complexity = as.list(f$complexity), vaccounted = mat(f$Vaccounted), values = f$values, e_values = f$e.values,
    STATISTIC = nul(f$STATISTIC), dof = f$dof, PVAL = nul(f$PVAL), objective = f$objective,
    TLI = nul(f$TLI), RMSEA = if (is.null(f$RMSEA)) NA else as.list(f$RMSEA[c("RMSEA", "lower", "upper")]),
    BIC = nul(f$BIC), SABIC = nul(f$SABIC),
    null_chisq = nul(f$null.chisq), null_dof = f$null.dof, null_model = f$null.model,
    chi = nul(f$chi), EPVAL = nul(f$EPVAL), rms = f$rms, crms = nul(f$crms), EBIC = nul(f$EBIC),
    ESABIC = nul(f$ESABIC), fit = f$fit, fit_off = f$fit.off
  )
}
bfi <- read.csv(file.path(ref, "public", "bfi.csv"), row.names = 1)[, 1:25]
bfi_r <- cor(bfi, use = "pairwise")
sim_s <- cov(sim)
efa_out <- list(
  harman_minres_oblimin = fa_full(harman, 4, "minres", "oblimin", 145),
  harman_ml_varimax = fa_full(harman, 4, "ml", "varimax", 145),
  harman_ml_promax = fa_full(harman, 4, "ml", "promax", 145),
  harman_minres_none_no_n = fa_full(harman, 4, "minres", "none"),
  bfi_minres_oblimin = fa_full(bfi_r, 5, "minres", "oblimin", 2800),
  bfi_ml_promax = fa_full(bfi_r, 5, "ml", "promax", 2800),
  bpn_cov_minres_oblimin = fa_full(sim_s, 6, "minres", "oblimin", nrow(sim))
)
adequacy <- function(r, n) {
  k <- KMO(r)
  b <- cortest.bartlett(r, n = n)
  p <- suppressWarnings(suppressMessages(fa.parallel(r, n.obs = n, fm = "minres", n.iter = 2, plot = FALSE)))
  list(msa = k$MSA, msai = as.list(k$MSAi), chisq = b$chisq, df = b$df, p = b$p.value,
       pc_values = p$pc.values, fa_values = p$fa.values)
}
adequacy_out <- list(harman = adequacy(harman, 145), bfi = adequacy(bfi_r, 2800))

out <- list(lavaan = as.character(packageVersion("lavaan")), psych = as.character(packageVersion("psych")),
            cfa = cfa_out, efa = efa_out, adequacy = adequacy_out, n_sim = nrow(sim))
write_json(out, "tests/goldens/matrix_input.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
