"""lme4's GLMM criterion: penalized IRLS for the conditional modes, the Laplace approximation and
adaptive Gauss-Hermite quadrature, as ``glmer``'s ``devfun`` evaluates them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, sparse

from .family import Family

#: Relative change of the penalized deviance at which the IRLS iterations stop.
PIRLS_TOLERANCE = 1e-12
PIRLS_MAXIT = 200


@dataclass
class _ReTerm:
    """One random term ``(expr | group)``: its columns, the level of each row, lme4's θ block."""

    grouping: str
    names: list[str]
    values: np.ndarray  # (n, p)
    levels: np.ndarray  # (n,)
    level_labels: np.ndarray
    correlated: bool = True

    @property
    def p(self) -> int:
        return self.values.shape[1]

    @property
    def n_levels(self) -> int:
        return len(self.level_labels)

    def __post_init__(self):
        # lme4's order of θ: the lower triangle column by column.
        cols, rows = np.triu_indices(self.p)
        self.tril = (rows, cols)


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of lme4's ``GHrule(n)``: Gauss-Hermite for the N(0, 1) density, weights sum to 1.

    Examples
    --------
    >>> z, w = gauss_hermite(3)
    >>> np.round(z, 6).tolist(), np.round(w, 6).tolist()
    ([-1.732051, 0.0, 1.732051], [0.166667, 0.666667, 0.166667])
    """
    z, w = np.polynomial.hermite_e.hermegauss(int(n))
    return z, w / w.sum()


@dataclass
class _GlmmCriterion:
    """The Laplace (``nAGQ = 1``) or adaptive Gauss-Hermite deviance of a GLMM at (θ, β)."""

    y: np.ndarray
    wt: np.ndarray
    X: np.ndarray
    terms: list[_ReTerm]
    family: Family
    nagq: int = 1
    u: np.ndarray = field(init=False)

    def __post_init__(self):
        n = len(self.y)
        blocks, self.lam_index = [], []
        start = 0
        for t in self.terms:
            cols = t.levels[:, None] * t.p + np.arange(t.p)[None, :]
            blocks.append(
                sparse.csr_matrix(
                    (t.values.ravel(), (np.repeat(np.arange(n), t.p), cols.ravel())),
                    shape=(n, t.n_levels * t.p),
                )
            )
            start += t.n_levels * t.p
        self.Z = sparse.hstack(blocks, format="csr")
        self.q = self.Z.shape[1]
        self.n_theta = sum(len(t.tril[0]) for t in self.terms)
        lower = []
        for t in self.terms:
            r, c = t.tril
            lower.append(np.where(r == c, 0.0, -np.inf))
        self.lower = np.concatenate(lower) if lower else np.zeros(0)
        self.u = np.zeros(self.q)
        # One scalar term: Z'WZ is diagonal (per-level sums), the common case done without sparse products.
        self.scalar = len(self.terms) == 1 and self.terms[0].p == 1
        self._U = self.Z.copy()

    # ----------------------------------------------------------- Λ
    def lam(self, theta: np.ndarray) -> sparse.csr_matrix:
        mats, k = [], 0
        for t in self.terms:
            r, c = t.tril
            T = np.zeros((t.p, t.p))
            T[r, c] = theta[k : k + len(r)]
            k += len(r)
            mats.append(sparse.kron(sparse.identity(t.n_levels), sparse.csr_matrix(T)))
        return sparse.block_diag(mats, format="csr")

    def _t_blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        out, k = [], 0
        for t in self.terms:
            r, c = t.tril
            T = np.zeros((t.p, t.p))
            T[r, c] = theta[k : k + len(r)]
            k += len(r)
            out.append(T)
        return out

    def _u_matrix(self, theta: np.ndarray) -> sparse.csr_matrix:
        """U = Z Λ: Z's sparsity pattern, each row's values of a term times that term's T."""
        parts = [t.values @ T for t, T in zip(self.terms, self._t_blocks(theta), strict=True)]
        self._U.data = np.concatenate(parts, axis=1).ravel() if len(parts) > 1 else parts[0].ravel()
        return self._U

    def _utwu(self, U: sparse.csr_matrix, w: np.ndarray) -> np.ndarray:
        if self.scalar:
            return np.diag(np.bincount(self.terms[0].levels, w * U.data**2, minlength=self.q))
        return (U.T.multiply(w).tocsr() @ U).toarray()

    def start_theta(self) -> np.ndarray:
        return np.concatenate([np.where(t.tril[0] == t.tril[1], 1.0, 0.0) for t in self.terms])

    # ----------------------------------------------------------- penalized IRLS
    def _pdev(self, eta: np.ndarray, u: np.ndarray) -> float:
        mu = self.family.linkinv(eta)
        return float(self.family.dev_resids(self.y, mu, self.wt).sum() + u @ u)

    def pirls(self, theta: np.ndarray, beta: np.ndarray | None) -> dict:
        """Conditional modes at θ; with ``beta`` None, β is updated jointly (glmer's nAGQ = 0 stage)."""
        U = self._u_matrix(theta)
        q, p = self.q, self.X.shape[1]
        joint = beta is None
        b = np.zeros(p) if joint else np.asarray(beta, dtype=float)
        if joint:
            b = self._beta0 if hasattr(self, "_beta0") else np.zeros(p)
        if self.scalar and not joint:
            return self._pirls_scalar(U.data, b)
        u = self.u.copy()
        eta = self.X @ b + U @ u
        pdev = self._pdev(eta, u)
        fam, y, wt = self.family, self.y, self.wt
        for _ in range(PIRLS_MAXIT):
            mu = fam.linkinv(eta)
            me = fam.mu_eta(eta)
            var = fam.variance(mu)
            w = wt * me**2 / var
            r = wt * (y - mu) * me / var
            H = self._utwu(U, w) + np.eye(q)
            g = U.T @ r - u
            if joint:
                UtWX = U.T @ (self.X * w[:, None])
                XtWX = self.X.T @ (self.X * w[:, None])
                H = np.block([[H, UtWX], [UtWX.T, XtWX]])
                g = np.concatenate([g, self.X.T @ r])
            step = linalg.cho_solve(linalg.cho_factor(H, lower=True), g)
            s = 1.0
            for _ in range(30):
                u_new = u + s * step[:q]
                b_new = b + s * step[q:] if joint else b
                eta_new = self.X @ b_new + U @ u_new
                pdev_new = self._pdev(eta_new, u_new)
                if np.isfinite(pdev_new) and pdev_new <= pdev * (1 + 1e-14):
                    break
                s /= 2
            else:
                break
            # Newton converges quadratically: stop once the step (not only the change) is negligible.
            done = s * np.max(np.abs(step), initial=0.0) < 1e-10 or abs(pdev - pdev_new) <= (
                PIRLS_TOLERANCE * max(abs(pdev_new), 1.0) * 1e-3
            )
            u, b, eta, pdev = u_new, b_new, eta_new, pdev_new
            if done:
                break
        mu = fam.linkinv(eta)
        me = fam.mu_eta(eta)
        w = wt * me**2 / fam.variance(mu)
        L = np.linalg.cholesky(self._utwu(U, w) + np.eye(q))
        self.u = u
        if joint:
            self._beta0 = b
        return {
            "u": u,
            "beta": b,
            "eta": eta,
            "mu": mu,
            "L": L,
            "U": U,
            "ldL2": 2 * float(np.log(np.diag(L)).sum()),
        }

    def _pirls_scalar(self, zl: np.ndarray, beta: np.ndarray) -> dict:
        """The u-only iterations for one scalar term: U'WU is diagonal, every product a per-level sum.

        With a canonical link the score is ``U'(wt (y - mu)) - u`` and the weights ``wt V(mu)``.
        """
        fam, y, wt, q = self.family, self.y, self.wt, self.q
        lev = self.terms[0].levels
        zl2 = zl * zl
        base = self.X @ beta
        u = self.u.copy()
        eta = base + zl * u[lev]
        pdev = fam.kernel(y, eta, wt) + u @ u
        for _ in range(PIRLS_MAXIT):
            mu = fam.linkinv(eta)
            h = np.bincount(lev, fam.working_weights(mu, wt) * zl2, minlength=q) + 1.0
            step = (np.bincount(lev, wt * (y - mu) * zl, minlength=q) - u) / h
            s = 1.0
            for _ in range(30):
                u_new = u + s * step
                eta_new = base + zl * u_new[lev]
                pdev_new = fam.kernel(y, eta_new, wt) + u_new @ u_new
                if np.isfinite(pdev_new) and pdev_new <= pdev + 1e-14 * abs(pdev):
                    break
                s /= 2
            else:
                break
            done = s * np.max(np.abs(step), initial=0.0) < 1e-10 or abs(pdev - pdev_new) <= (
                PIRLS_TOLERANCE * max(abs(pdev_new), 1.0) * 1e-3
            )
            u, eta, pdev = u_new, eta_new, pdev_new
            if done:
                break
        mu = fam.linkinv(eta)
        h = np.bincount(lev, fam.working_weights(mu, wt) * zl2, minlength=q) + 1.0
        self.u = u
        return {
            "u": u,
            "beta": beta,
            "eta": eta,
            "mu": mu,
            "L": np.diag(np.sqrt(h)),
            "U": self._U,
            "ldL2": float(np.log(h).sum()),
        }

    # ----------------------------------------------------------- criteria
    def deviance0(self, theta: np.ndarray) -> float:
        """glmer's first-stage criterion (nAGQ = 0): β and u at their joint penalized mode."""
        try:
            s = self.pirls(np.asarray(theta, dtype=float), None)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return float("inf")
        return s["ldL2"] + float(s["u"] @ s["u"]) + self.family.minus2loglik(self.y, s["mu"], self.wt)

    def deviance(self, pars: np.ndarray) -> float:
        """glmer's ``devfun(c(theta, beta))``: Laplace, or adaptive Gauss-Hermite when ``nagq > 1``."""
        pars = np.asarray(pars, dtype=float)
        theta, beta = pars[: self.n_theta], pars[self.n_theta :]
        try:
            s = self.pirls(theta, beta)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return float("inf")
        if self.nagq <= 1:
            return s["ldL2"] + float(s["u"] @ s["u"]) + self.family.minus2loglik(self.y, s["mu"], self.wt)
        return self._agq(s)

    def _agq(self, s: dict) -> float:
        """lme4's ``glmerAGQ``: per group, Gauss-Hermite around the mode scaled by the conditional SD."""
        term = self.terms[0]
        fac = term.levels
        u0, U = s["u"], s["U"]
        sd = 1.0 / np.diag(s["L"])
        fam = self.family
        base = s["eta"] - U @ u0

        def devc(u: np.ndarray) -> np.ndarray:
            mu = fam.linkinv(base + U @ u)
            return np.bincount(fac, fam.dev_resids(self.y, mu, self.wt), minlength=self.q) + u**2

        dev0 = devc(u0)
        z, w = gauss_hermite(self.nagq)
        mult = np.zeros(self.q)
        for zk, wk in zip(z, w, strict=True):  # a handful of nodes; each is vectorized over groups
            if zk == 0:
                mult += wk
            else:
                mult += wk * np.exp(-0.5 * (devc(u0 + zk * sd) - dev0) + zk**2 / 2)
        return float(dev0.sum() + s["ldL2"] - 2 * np.log(mult).sum())
