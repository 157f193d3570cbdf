"""The disclosure-control engine: which published cells to suppress so that no small group is derivable.

Every figure the package shows leaders (a group's n, mean, SD, shares; an
answer option's count) is additive over disjoint *atoms* of respondents. What
a reader can work out from a set of published cells is every linear
combination of them, so a set of respondents is disclosed exactly when its
membership vector lies in the row space of the visible cells. :func:`protect`
suppresses cells until no small set is in that space. It is shared by the
cohort tables (:mod:`sdt_survey.cohorts`), the report's item distributions and
the cross-run release ledger (:mod:`sdt_survey.cohorts.ledger`), which adds the cells
of earlier releases as cells that can no longer be hidden.
The rule and why it holds: ``docs/privacy.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _row_basis(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of the row space and of the left null space of ``matrix``."""
    if matrix.shape[0] == 0:
        return np.zeros((0, matrix.shape[1])), np.zeros((0, 0))
    u, s, vt = np.linalg.svd(matrix, full_matrices=True)
    tol = max(matrix.shape) * np.finfo(float).eps * (s[0] if len(s) else 0.0) * 10
    rank = int((s > max(tol, 1e-10)).sum())
    return vt[:rank], u[:, rank:]


def _in_span(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Whether each row of ``vectors`` is a linear combination of the rows ``basis`` spans."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=bool)
    if len(basis) == 0:
        return np.zeros(len(vectors), dtype=bool) | (np.abs(vectors).sum(axis=1) == 0)
    residual = vectors - (vectors @ basis.T) @ basis
    return np.sqrt((residual**2).sum(axis=1)) < 1e-7 * np.maximum(1.0, np.sqrt((vectors**2).sum(axis=1)))


def protect(
    membership: np.ndarray,
    counts: np.ndarray,
    *,
    min_cell: int,
    tables: Sequence[int] | np.ndarray | None = None,
    forced: np.ndarray | None = None,
    checks: np.ndarray | None = None,
    priority: Sequence[int] | np.ndarray | None = None,
    released: np.ndarray | None = None,
    disclosed: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Which published cells to suppress so that no protected figure can be derived.

    The published figures are additive over disjoint *atoms* (the finest
    cross-classification of the respondents that the cells are built from): a
    cell's n, sum, sum of squares and counts above/below the midpoint are the
    sums of its atoms'. What an outsider can work out from the visible cells,
    knowing exactly which atoms make up each cell, is every linear combination
    of them: the row space of the visible cells' membership vectors. The
    algorithm suppresses cells until

    1. every cell with a count in ``(0, min_cell)`` (primary suppression) and
       every ``forced`` cell is suppressed;
    2. no suppressed cell's membership vector lies in the span of the visible
       cells (so none of its figures can be derived);
    3. no other group with a count in ``(0, min_cell)`` lies in that span: the
       combined suppressed cells of any one table (what "total minus visible
       cells" gives), and every ``checks`` vector (the cross-classifications
       of the grouping columns, e.g. a cohort within a clinic).

    Each time a vector is derivable, the smallest visible cell that every
    derivation of it needs is suppressed (complementary suppression; in a
    one-way table, the next smallest cell of the same margin); if it can be
    derived in several independent ways, the smallest cell of one derivation is
    suppressed and the check repeats. Each step hides one more cell, so the
    loop ends; at worst every cell is hidden.

    Parameters
    ----------
    membership : numpy.ndarray, shape (cells, atoms)
        1 where a published cell contains an atom.
    counts : numpy.ndarray, shape (atoms, measures)
        Respondent counts per atom (first column: respondents; others, e.g. the
        n of each score). A set is small when any measure is in ``(0, min_cell)``.
    min_cell : int
    tables : sequence of int, optional
        The table (margin) each cell belongs to, for the residual check.
    forced : numpy.ndarray of bool, optional
        Cells to suppress whatever their size.
    checks : numpy.ndarray, shape (k, atoms), optional
        Further (unpublished) groups that must not be derivable when small.
    priority : sequence of int, optional
        Which cells to hide first when a choice is needed (lower first; then
        smaller first). Cohort reports hide longitudinal figures before
        cross-sectional ones.
    released : numpy.ndarray of bool, optional
        Cells that are public already (earlier releases in the ledger): they
        count as visible and are never suppressed, whatever their size.
    disclosed : list, optional
        When given, receives every small vector that the released cells alone
        already disclose (nothing this run hides can protect it any more).

    Returns
    -------
    numpy.ndarray of bool
        Suppressed cells.

    Examples
    --------
    A total and three groups of 3, 20 and 30 respondents: the group of 3 is
    suppressed, and so is the next smallest, so that neither is the total minus
    the others.

    >>> membership = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    >>> protect(membership, np.array([[3], [20], [30]], dtype=float), min_cell=5).tolist()
    [False, True, True, False]
    """
    membership = np.asarray(membership, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if counts.ndim == 1:
        counts = counts[:, None]
    n_cells = membership.shape[0]
    tables_arr = np.zeros(n_cells, dtype=int) if tables is None else np.asarray(tables, dtype=int)
    checks_arr = np.zeros((0, membership.shape[1])) if checks is None else np.asarray(checks, dtype=float)

    def small(vectors: np.ndarray) -> np.ndarray:
        measured = vectors @ counts
        return ((measured > 0.5) & (measured < min_cell - 0.5)).any(axis=1)

    size = membership @ counts[:, 0]
    rank_key = np.zeros(n_cells) if priority is None else np.asarray(priority, dtype=float)
    order = np.lexsort((np.arange(n_cells), size, rank_key))  # by priority, then smallest, then position
    rank_of = np.empty(n_cells, dtype=int)
    rank_of[order] = np.arange(n_cells)
    fixed = np.zeros(n_cells, dtype=bool) if released is None else np.asarray(released, dtype=bool)
    suppressed = small(membership) if n_cells else np.zeros(0, dtype=bool)
    if forced is not None:
        suppressed = suppressed | np.asarray(forced, dtype=bool)
    suppressed &= ~fixed
    lost: list[np.ndarray] = []  # small vectors the released cells already give away
    checks_arr = checks_arr[small(checks_arr)] if len(checks_arr) else checks_arr
    sticky: list[np.ndarray] = []
    while True:  # each pass hides one more cell (or finds only lost vectors and stops): finitely many
        visible = np.flatnonzero(~suppressed)
        basis, left_null = _row_basis(membership[visible])
        targets = [membership[np.flatnonzero(suppressed)[np.argsort(rank_of[suppressed])]]]
        residuals = [membership[suppressed & (tables_arr == t)].sum(axis=0) for t in np.unique(tables_arr)]
        residuals = [r for r in residuals if r.any()]
        if residuals:
            stacked = np.array(residuals)
            targets.append(stacked[small(stacked)])
        targets.append(checks_arr)
        if sticky:
            targets.append(np.array(sticky))
        candidates = np.vstack([t for t in targets if len(t)]) if any(len(t) for t in targets) else None
        if candidates is not None:
            candidates = candidates[np.abs(candidates).sum(axis=1) > 0]
            if lost:
                known = np.array(lost)
                seen = (candidates[:, None, :] == known[None, :, :]).all(axis=2).any(axis=1)
                candidates = candidates[~seen]
        if candidates is None or len(candidates) == 0:
            break
        derivable = _in_span(candidates, basis)
        if not derivable.any():
            break
        free = (np.abs(left_null) > 1e-9).any(axis=1) if left_null.size else np.zeros(len(visible), bool)
        hideable = ~fixed[visible]
        hidden_one = False
        for target in candidates[derivable]:
            # Coefficients of the minimum-norm derivation; a visible cell is needed by *every*
            # derivation when its coefficient is non-zero and no left-null vector involves it.
            coef = np.linalg.lstsq(membership[visible].T, target, rcond=None)[0]
            used = np.abs(coef) > 1e-9
            essential = used & ~free & hideable
            pool = visible[essential] if essential.any() else visible[used & hideable]
            if len(pool) == 0:  # derivable from released cells alone: hiding more cannot help
                lost.append(target)
                continue
            if not any(np.array_equal(target, s) for s in sticky) and not any(
                np.array_equal(target, row) for row in membership
            ):
                sticky.append(target)
            suppressed[pool[np.argmin(rank_of[pool])]] = True
            hidden_one = True
            break  # the visible cells changed: audit again
        if not hidden_one:
            break
    if disclosed is not None:
        disclosed.extend(lost)
    return suppressed
