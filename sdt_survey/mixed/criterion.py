"""lme4's profiled (RE)ML criterion, evaluated exactly with the relative covariance factor Λ."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import linalg

from .design import _Design

# =========================================================================== the criterion


class _Criterion:
    """lme4's profiled deviance / REML criterion as a function of the relative factor θ.

    ``V = σ² (I + Z Λ Λ' Z')``; per top-level group ``M = I + Λ'Z'ZΛ`` (padded
    to a common size and handled as one batch).
    """

    def __init__(self, design: _Design):
        self.design = design
        re = design.re_block
        self.k_re = len(re.terms) if re else 0
        self.vcs = design.vc_blocks
        X, y, codes = design.X, design.y, design.group_codes
        n_groups = len(design.group_labels)
        self.rows = [np.flatnonzero(codes == g) for g in range(n_groups)]
        # Columns of Z per group: the re block, then each variance component's levels in the group.
        self.z_groups: list[np.ndarray] = []
        self.col_comp: list[np.ndarray] = []  # component of each column: -1 re, c >= 0 vc
        self.col_labels: list[list[tuple[str, str, str]]] = []
        for rows in self.rows:
            mats, comp, labels = [], [], []
            if re is not None:
                mats.append(re.values[rows])
                comp.extend([-1] * self.k_re)
                label = design.group_labels[codes[rows[0]]]
                labels.extend((re.grouping, str(label), t) for t in re.terms)
            for c, b in enumerate(self.vcs):
                local, inverse = np.unique(b.levels[rows], return_inverse=True)
                mat = np.zeros((len(rows), len(local)))
                mat[np.arange(len(rows)), inverse.ravel()] = b.values[rows, 0]
                mats.append(mat)
                comp.extend([c] * len(local))
                labels.extend((b.grouping, str(b.level_labels[lv]), b.terms[0]) for lv in local)
            self.z_groups.append(np.hstack(mats))
            self.col_comp.append(np.array(comp, dtype=np.int64))
            self.col_labels.append(labels)
        q = max(z.shape[1] for z in self.z_groups)
        p = X.shape[1]
        self.q = q
        self.ZtZ = np.zeros((n_groups, q, q))
        self.ZtX = np.zeros((n_groups, q, p))
        self.Zty = np.zeros((n_groups, q))
        self.comp = np.full((n_groups, q), -2, dtype=np.int64)  # -2 = padding
        for g, (rows, Z) in enumerate(zip(self.rows, self.z_groups, strict=True)):
            m = Z.shape[1]
            self.ZtZ[g, :m, :m] = Z.T @ Z
            self.ZtX[g, :m] = Z.T @ X[rows]
            self.Zty[g, :m] = Z.T @ y[rows]
            self.comp[g, :m] = self.col_comp[g]
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        self.tril = np.tril_indices(self.k_re)
        self.n_re_theta = len(self.tril[0])
        self.n_theta = self.n_re_theta + len(self.vcs)
        diag = self.tril[0] == self.tril[1]
        self.lower = np.concatenate([np.where(diag, 0.0, -np.inf), np.zeros(len(self.vcs))])
        self.eye = np.eye(q)

    # ----------------------------------------------------------- parameters
    def lam(self, theta: np.ndarray) -> np.ndarray:
        """Λ for every group, shape (groups, q, q)."""
        theta = np.asarray(theta, dtype=float)
        n_groups = self.ZtZ.shape[0]
        vc_theta = np.concatenate([theta[self.n_re_theta :], [0.0, 0.0]])  # -2/-1 index the zeros
        diag = np.where(self.comp >= 0, vc_theta[self.comp], 0.0)
        lam = np.zeros((n_groups, self.q, self.q))
        idx = np.arange(self.q)
        lam[:, idx, idx] = diag
        if self.k_re:
            L = np.zeros((self.k_re, self.k_re))
            L[self.tril] = theta[: self.n_re_theta]
            lam[:, : self.k_re, : self.k_re] = L
        return lam

    def relative_covariances(self, theta: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Σ_re / σ² and the variance components / σ²."""
        theta = np.asarray(theta, dtype=float)
        re = None
        if self.k_re:
            L = np.zeros((self.k_re, self.k_re))
            L[self.tril] = theta[: self.n_re_theta]
            re = L @ L.T
        return re, theta[self.n_re_theta :] ** 2

    def theta_from(self, cov_re: np.ndarray | None, vcomp: np.ndarray, scale: float) -> np.ndarray:
        parts = []
        if self.k_re:
            rel = np.asarray(cov_re, dtype=float) / scale
            rel = (rel + rel.T) / 2
            try:
                L = np.linalg.cholesky(rel + 1e-14 * np.eye(self.k_re))
            except np.linalg.LinAlgError:
                w, v = np.linalg.eigh(rel)
                half = v * np.sqrt(np.clip(w, 0, None))
                L = np.linalg.qr(half.T, mode="r").T  # lower triangular with L L' = rel
                L = L * np.where(np.diag(L) < 0, -1.0, 1.0)
            parts.append(L[self.tril])
        parts.append(np.sqrt(np.clip(np.asarray(vcomp, dtype=float) / scale, 0, None)))
        return np.concatenate(parts) if parts else np.zeros(0)

    def start(self) -> np.ndarray:
        theta = np.zeros(self.n_theta)
        theta[: self.n_re_theta] = np.where(self.tril[0] == self.tril[1], 1.0, 0.0)
        theta[self.n_re_theta :] = 1.0
        return theta

    # ----------------------------------------------------------- evaluation
    def solve(self, theta: np.ndarray, reml: bool) -> dict[str, Any]:
        lam = self.lam(theta)
        lamT = lam.transpose(0, 2, 1)
        M = self.eye + lamT @ self.ZtZ @ lam
        C = np.linalg.cholesky(M)
        LtZtX = lamT @ self.ZtX
        LtZty = np.einsum("gji,gj->gi", lam, self.Zty)
        both = np.linalg.solve(C, np.concatenate([LtZtX, LtZty[..., None]], axis=2))
        cX, cy = both[..., :-1], both[..., -1]
        XtWX = self.XtX - np.einsum("gqi,gqj->ij", cX, cX)
        XtWy = self.Xty - np.einsum("gqi,gq->i", cX, cy)
        ytWy = self.yty - float(np.einsum("gq,gq->", cy, cy))
        logdet_m = 2.0 * float(np.log(np.diagonal(C, axis1=1, axis2=2)).sum())
        RX = np.linalg.cholesky(XtWX)
        beta = linalg.cho_solve((RX, True), XtWy)
        r2 = max(ytWy - float(beta @ XtWy), 1e-300)
        n, p = self.design.n, self.design.p
        dof = n - p if reml else n
        sigma2 = r2 / dof
        dev = logdet_m + dof * (1.0 + math.log(2.0 * math.pi * sigma2))
        if reml:
            dev += 2.0 * float(np.log(np.diag(RX)).sum())
        return {
            "dev": dev,
            "beta": beta,
            "sigma2": sigma2,
            "XtWX": XtWX,
            "lam": lam,
            "C": C,
            "LtZtX": LtZtX,
            "LtZty": LtZty,
        }

    def deviance(self, theta: np.ndarray, reml: bool) -> float:
        try:
            return float(self.solve(theta, reml)["dev"])
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return float("inf")

    def gradient(self, theta: np.ndarray, reml: bool, step: float = 1e-5) -> np.ndarray:
        """Central-difference gradient (one-sided at a lower bound)."""
        g = np.zeros(self.n_theta)
        for j in range(self.n_theta):
            up = theta.copy()
            up[j] += step
            if theta[j] - step < self.lower[j]:
                g[j] = (self.deviance(up, reml) - self.deviance(theta, reml)) / step
            else:
                down = theta.copy()
                down[j] -= step
                g[j] = (self.deviance(up, reml) - self.deviance(down, reml)) / (2 * step)
        return g

    def conditional_modes(self, theta: np.ndarray, solved: dict[str, Any]) -> list[np.ndarray]:
        """b = Λ M⁻¹ Λ'Z'(y - Xβ), per group (unpadded)."""
        rhs = solved["LtZty"] - solved["LtZtX"] @ solved["beta"]
        C = solved["C"]
        u = np.linalg.solve(C.transpose(0, 2, 1), np.linalg.solve(C, rhs[..., None]))[..., 0]
        b = np.einsum("gij,gj->gi", solved["lam"], u)
        return [b[g, : Z.shape[1]] for g, Z in enumerate(self.z_groups)]
