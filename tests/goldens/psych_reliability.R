# Goldens for sdt_survey.reliability that the reference files in tests/data/reference lack.
# R 4.2.2, psych 2.2.9, GPArotation 2022.10.2, lme4 1.1-31, jsonlite.
#
# Run from the repository root (the data are in tests/data/reference):
#   Rscript tests/goldens/psych_reliability.R tests/data/reference tests/goldens/psych_reliability.json
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
args <- commandArgs(TRUE)
ref <- if (length(args) >= 1) args[1] else "tests/data/reference"
outfile <- if (length(args) >= 2) args[2] else "tests/goldens/psych_reliability.json"

tab <- function(df) lapply(split(as.data.frame(df), seq_len(nrow(df))), as.list) |> setNames(rownames(df))
mat <- function(m) { m <- if (is.data.frame(m)) as.matrix(m) else as.matrix(unclass(m)); lapply(seq_len(nrow(m)), function(i) setNames(as.list(m[i, ]), colnames(m))) |> setNames(rownames(m)) }

# Everything psych::alpha reports, as printed by print.psych (Duhachek = raw_alpha -/+ 1.96 ase).
alpha_full <- function(x) {
  a <- psych::alpha(x, warnings = FALSE)
  tot <- a$total
  drop <- a$alpha.drop
  rownames(drop) <- colnames(x)
  stats <- a$item.stats
  rownames(stats) <- colnames(x)
  freq <- a$response.freq
  list(
    n_rows = nrow(x),
    total = list(raw_alpha = tot$raw_alpha, std_alpha = tot$std.alpha, G6 = tot[["G6(smc)"]],
                 average_r = tot$average_r, signal_noise = tot[["S/N"]], ase = tot$ase,
                 mean = tot$mean, sd = tot$sd, median_r = tot$median_r, var_r = a$var.r),
    feldt = c(a$feldt$lower.ci[[1]], a$feldt$upper.ci[[1]]),
    duhachek = c(tot$raw_alpha - 1.96 * tot$ase, tot$raw_alpha + 1.96 * tot$ase),
    alpha_drop = lapply(split(drop, seq_len(nrow(drop))), function(r) list(
      raw_alpha = r$raw_alpha, std_alpha = r$std.alpha, G6 = r[["G6(smc)"]], average_r = r$average_r,
      signal_noise = r[["S/N"]], alpha_se = if (is.null(r[["alpha se"]])) NA else r[["alpha se"]],
      var_r = r$var.r, med_r = r$med.r)) |> setNames(rownames(drop)),
    item_stats = lapply(split(stats, seq_len(nrow(stats))), function(r) list(
      n = r$n, raw_r = r$raw.r, std_r = r$std.r, r_cor = r$r.cor, r_drop = r$r.drop,
      mean = r$mean, sd = r$sd)) |> setNames(rownames(stats)),
    response_freq = if (is.null(freq)) NULL else mat(freq)
  )
}

out <- list()

# --- sdt-sim wave 1, reverse keyed as 6 - x ---------------------------------------------------
d <- read.csv(file.path(ref, "sdt-sim", "responses_w1.csv"))
for (it in c("as4", "rs4", "cs4")) d[[it]] <- 6 - d[[it]]
subs <- list(autonomy_satisfaction = c("as1", "as2", "as3", "as4"), autonomy_frustration = c("af1", "af2", "af3", "af4"),
             relatedness_satisfaction = c("rs1", "rs2", "rs3", "rs4"), relatedness_frustration = c("rf1", "rf2", "rf3", "rf4"),
             competence_satisfaction = c("cs1", "cs2", "cs3", "cs4"), competence_frustration = c("cf1", "cf2", "cf3", "cf4"))
out$sdt_pairwise <- lapply(subs, function(it) alpha_full(d[, it]))
out$sdt_listwise <- lapply(subs, function(it) alpha_full(na.omit(d[, it])))
out$sdt_two_items <- alpha_full(d[, c("rs1", "rs2")])
out$sdt_three_items <- alpha_full(d[, c("rs1", "rs2", "rs3")])

items24 <- unlist(subs, use.names = FALSE)
x24 <- d[, items24]
om1 <- suppressMessages(suppressWarnings(omega(x24, nfactors = 1, fm = "minres", plot = FALSE)))
out$sdt_omega1 <- list(omega_h = om1$omega_h, omega_total = om1$omega.tot, alpha = om1$alpha, G6 = om1$G6,
                       loadings = setNames(as.list(om1$schmid$sl[, 1]), items24))
om6 <- suppressMessages(suppressWarnings(omega(x24, nfactors = 6, fm = "minres", plot = FALSE)))
sl <- om6$schmid$sl
out$sdt_omega6 <- list(omega_h = om6$omega_h, omega_total = om6$omega.tot, omega_lim = om6$omega.lim, alpha = om6$alpha,
                       G6 = om6$G6, ecv = om6$ECV[[1]],
                       g = setNames(as.list(sl[, "g"]), items24), h2 = setNames(as.list(sl[, "h2"]), items24),
                       u2 = setNames(as.list(sl[, "u2"]), items24), p2 = setNames(as.list(sl[, "p2"]), items24),
                       omega_group = mat(om6$omega.group))
om2 <- suppressMessages(suppressWarnings(omega(d[, c(subs$relatedness_satisfaction, subs$competence_satisfaction)],
                                               nfactors = 2, fm = "minres", plot = FALSE)))
out$sdt_omega2 <- list(omega_h = om2$omega_h, omega_total = om2$omega.tot, ecv = om2$ECV[[1]])
om3 <- suppressMessages(suppressWarnings(omega(d[, unlist(subs[c("autonomy_satisfaction", "relatedness_satisfaction", "competence_satisfaction")])],
                                               nfactors = 3, fm = "minres", plot = FALSE)))
out$sdt_omega3 <- list(omega_h = om3$omega_h, omega_total = om3$omega.tot, ecv = om3$ECV[[1]],
                       omega_group = mat(om3$omega.group))

sh4 <- splitHalf(d[, c("rs1", "rs2", "rs3", "rs4")])
out$sdt_splithalf_rs <- list(max = sh4$maxrb, min = sh4$minrb, mean = sh4$meanr, alpha = sh4$alpha,
                             lambda2 = sh4$lambda2, lambda6 = sh4$lambda6, av_r = sh4$av.r, med_r = sh4$med.r)
sh12 <- splitHalf(d[, unlist(subs[c("autonomy_satisfaction", "relatedness_satisfaction", "competence_satisfaction")])])
out$sdt_splithalf_12 <- list(max = sh12$maxrb, min = sh12$minrb, mean = sh12$meanr, alpha = sh12$alpha,
                             lambda2 = sh12$lambda2, lambda6 = sh12$lambda6)

pc <- suppressWarnings(polychoric(d[, items24[1:8]]))
out$sdt_polychoric8 <- list(rho = mat(pc$rho), tau = mat(pc$tau))
# ordinal alpha and omega of relatedness satisfaction: alpha and omega of its polychoric matrix
pcr <- suppressWarnings(polychoric(d[, subs$relatedness_satisfaction]))
pa <- psych::alpha(pcr$rho, warnings = FALSE)
out$sdt_ordinal_alpha_rs <- list(alpha = pa$total$raw_alpha)
po <- suppressMessages(suppressWarnings(omega(pcr$rho, nfactors = 1, fm = "minres", plot = FALSE)))
out$sdt_ordinal_omega_rs <- list(omega_total = po$omega.tot)

# --- test-retest: wave 1 vs wave 2 relatedness satisfaction (mean of available items) ----------
d2 <- read.csv(file.path(ref, "sdt-sim", "responses_w2.csv"))
d2$rs4 <- 6 - d2$rs4
s1 <- data.frame(resident = d$resident, w1 = rowMeans(d[, subs$relatedness_satisfaction], na.rm = TRUE))
s2 <- data.frame(resident = d2$resident, w2 = rowMeans(d2[, subs$relatedness_satisfaction], na.rm = TRUE))
m <- na.omit(merge(s1, s2, by = "resident"))
ic <- suppressMessages(ICC(m[, c("w1", "w2")], lmer = FALSE))
out$sdt_icc_retest <- list(n = nrow(m), results = tab(data.frame(type = ic$results$type, ICC = ic$results$ICC,
                           F = ic$results$F, lower = ic$results[["lower bound"]], upper = ic$results[["upper bound"]],
                           row.names = ic$results$type)))

# --- bfi -----------------------------------------------------------------------------------------
bfi <- read.csv(file.path(ref, "public", "bfi.csv"), row.names = 1)
keys <- list(A = c("-A1", "A2", "A3", "A4", "A5"), C = c("C1", "C2", "C3", "-C4", "-C5"), E = c("-E1", "-E2", "E3", "E4", "E5"),
             N = c("N1", "N2", "N3", "N4", "N5"), O = c("O1", "-O2", "O3", "O4", "-O5"))
bk <- bfi[, 1:25]
for (s in names(keys)) {
  rev <- gsub("-", "", keys[[s]][grepl("^-", keys[[s]])])
  for (it in rev) bk[[it]] <- 7 - bk[[it]]
}
bsubs <- lapply(keys, function(k) gsub("-", "", k))
out$bfi_pairwise <- lapply(bsubs, function(it) alpha_full(bk[, it]))
out$bfi_listwise <- lapply(bsubs, function(it) alpha_full(na.omit(bk[, it])))
omb <- suppressMessages(suppressWarnings(omega(bk, nfactors = 5, fm = "minres", plot = FALSE)))
out$bfi_omega5 <- list(omega_h = omb$omega_h, omega_total = omb$omega.tot, ecv = omb$ECV[[1]], alpha = omb$alpha)
sh5 <- splitHalf(bk[, bsubs$A])
out$bfi_splithalf_A <- list(max = sh5$maxrb, min = sh5$minrb, mean = sh5$meanr)
sh10 <- splitHalf(bk[, c(bsubs$A, bsubs$C)])
out$bfi_splithalf_AC <- list(max = sh10$maxrb, min = sh10$minrb, mean = sh10$meanr)
pcb <- suppressWarnings(polychoric(bk[, bsubs$A]))
out$bfi_polychoric_A <- list(rho = mat(pcb$rho), tau = mat(pcb$tau))

write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), outfile)
cat("ok\n")
