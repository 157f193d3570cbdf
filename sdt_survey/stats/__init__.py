"""Numerical kernels shared by the analyses (layer 1: they import nothing else of the package)."""
