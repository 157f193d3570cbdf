"""The vectorized core: every index from integer codes, with one sort and no loop over learners."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The indices computed, in output order (``upc`` only with an assigned column).
INDEX_COLUMNS = ("upc", "mfpc", "coc", "hhi", "mmci", "secon", "entropy", "entropy_norm")


# --------------------------------------------------------------------------- the vectorized core


def indices_from_codes(
    group: np.ndarray,
    partner: np.ndarray,
    *,
    n_groups: int | None = None,
    assigned_match: np.ndarray | None = None,
    assigned_known: np.ndarray | None = None,
) -> pd.DataFrame:
    """Continuity indices of integer-coded sessions: the vectorized core.

    Parameters
    ----------
    group : numpy.ndarray of int
        Group (learner, or learner-window) of each session, ``0 .. n_groups - 1``,
        **sorted**: the sessions of a group are contiguous and in time order
        (that order defines ``secon``).
    partner : numpy.ndarray of int
        The faculty member of each session (on the faculty side: the
        learner), any non-negative codes.
    n_groups : int, optional
        Number of groups (default ``group.max() + 1``); groups without
        sessions get ``n_sessions`` 0 and undefined indices.
    assigned_match : numpy.ndarray of bool, optional
        Whether each session is with the assigned preceptor. Gives ``upc``.
    assigned_known : numpy.ndarray of bool, optional
        Whether the assigned preceptor of each session is known (default all);
        sessions where it is not are left out of ``upc``'s denominator.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``n_sessions``, ``n_partners``, ``n_assigned_known``
        and ``upc`` (with ``assigned_match``), ``mfpc``, ``coc``, ``hhi``,
        ``mmci``, ``secon``, ``entropy``, ``entropy_norm``. ``coc`` is NaN
        below 2 sessions, ``secon`` too (no consecutive pair); everything is
        NaN for a group without sessions.

    Examples
    --------
    >>> import numpy as np
    >>> out = indices_from_codes(np.array([0, 0, 0, 0, 0, 1]), np.array([0, 0, 1, 0, 2, 3]))
    >>> out[["n_sessions", "n_partners", "mfpc", "coc", "secon"]].round(3)
       n_sessions  n_partners  mfpc  coc  secon
    0           5           3   0.6  0.3   0.25
    1           1           1   1.0  NaN    NaN
    """
    group = np.asarray(group, dtype=np.int64)
    partner = np.asarray(partner, dtype=np.int64)
    if group.shape != partner.shape or group.ndim != 1:
        raise ValueError("group and partner must be 1-d arrays of the same length")
    if len(group) and (np.any(group[1:] < group[:-1]) or group[0] < 0 or partner.min() < 0):
        raise ValueError("group must be sorted (each group's sessions contiguous) and codes non-negative")
    n_groups = int(group[-1]) + 1 if n_groups is None and len(group) else int(n_groups or 0)
    n = np.bincount(group, minlength=n_groups).astype(float)
    width = int(partner.max()) + 1 if len(partner) else 1
    # Sessions are sorted by group, so a stable sort of the pair key only sorts within groups (fast).
    key = np.sort(group * width + partner, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(key)]).astype(float)
    pair_group = key[starts] // width
    m = np.bincount(pair_group, minlength=n_groups)
    sum_sq = np.bincount(pair_group, weights=counts * counts, minlength=n_groups)
    max_count = np.zeros(n_groups)
    if len(counts):
        first_pair = np.flatnonzero(np.r_[True, pair_group[1:] != pair_group[:-1]])
        max_count[pair_group[first_pair]] = np.maximum.reduceat(counts, first_pair)
    share = counts / n[pair_group]
    entropy = np.bincount(pair_group, weights=-share * np.log(share), minlength=n_groups)
    same = (group[1:] == group[:-1]) & (partner[1:] == partner[:-1])
    consecutive_same = np.bincount(group[1:][same], minlength=n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, np.ndarray] = {"n_sessions": n.astype(np.int64), "n_partners": m}
        if assigned_match is not None:
            known = np.ones(len(group), bool) if assigned_known is None else np.asarray(assigned_known, bool)
            matched = np.asarray(assigned_match, bool) & known
            n_known = np.bincount(group, weights=known, minlength=n_groups)
            out["n_assigned_known"] = n_known.astype(np.int64)
            out["upc"] = np.bincount(group, weights=matched, minlength=n_groups) / n_known
        out["mfpc"] = max_count / n
        out["coc"] = np.where(n >= 2, (sum_sq - n) / (n * (n - 1)), np.nan)
        out["hhi"] = sum_sq / (n * n)
        out["mmci"] = np.where(n >= 1, (1 - m / (n + 0.1)) / (1 - 1 / (n + 0.1)), np.nan)
        out["secon"] = np.where(n >= 2, consecutive_same / (n - 1), np.nan)
        entropy = np.where(n >= 1, entropy, np.nan)
        out["entropy"] = entropy
        out["entropy_norm"] = np.where(
            m > 1, entropy / np.log(np.maximum(m, 2)), np.where(n >= 1, 0.0, np.nan)
        )
    return pd.DataFrame(out)
