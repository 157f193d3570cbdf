"""Numerical kernels shared by the analyses (layer 1: numpy, scipy and sdt_survey.errors only).

moments (pairwise moments, cov2cor, SMC, cor.smooth), bivariate_normal, polychoric, extraction
(minres, ML, principal axes), rotation, threads (BLAS thread control), probability (normal,
chi-square, t and F probabilities as scipy.stats computes them) and special (the special functions
behind them, with numpy and math only: the SEM engine imports no scipy).
"""
