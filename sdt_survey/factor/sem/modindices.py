"""Modification indices with expected parameter changes (lavaan's modindices())."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...errors import CFAError
from .implied import Elements, Engine, element_vectors
from .samplestats import moments_gradient
from .spec import LAMBDA, PSI, THETA, Spec


def modification_index_table(
    spec: Spec, engine: Engine, x: np.ndarray, group_labels: Sequence[str]
) -> pd.DataFrame:
    """lavaan's modindices(): score tests (expected information) for parameters not in the model."""
    n_total = engine.n_total
    info22 = engine.expected_information(x)
    try:
        info22_inv = np.linalg.inv(info22)
    except np.linalg.LinAlgError as exc:
        raise CFAError(
            "modification indices need an invertible information matrix; the model may not be identified"
        ) from exc
    records = []
    p, m = len(spec.ov), len(spec.lv)
    phantom_lv = {spec.lv.index(n) for n in spec.dummy}  # observed variables in regressions: not factors
    phantom_ov = {spec.ov.index(n) for n in spec.dummy}
    for g, group in enumerate(engine.groups):
        rows = np.flatnonzero(spec.group == g)
        present = {(spec.mat[k], spec.row[k], spec.col[k]) for k in rows}
        cand = []
        for j in range(m):
            for i in range(p):
                if (LAMBDA, i, j) not in present and j not in phantom_lv and i not in phantom_ov:
                    cand.append((LAMBDA, i, j, spec.lv[j], "=~", spec.ov[i]))
        for i in range(p):
            for j in range(i + 1, p):
                if (THETA, j, i) not in present and not {i, j} & phantom_ov:
                    cand.append((THETA, j, i, spec.ov[i], "~~", spec.ov[j]))
        for k in range(m):
            for l_ in range(k + 1, m):
                if (PSI, l_, k) not in present and not {k, l_} & phantom_lv:
                    cand.append((PSI, l_, k, spec.lv[k], "~~", spec.lv[l_]))
        if not cand:
            continue
        st = engine.state(g, x)
        model_el = engine.elements[g]
        n_model = len(model_el)
        extra = Elements(
            np.array([c[0] for c in cand]),
            np.array([c[1] for c in cand]),
            np.array([c[2] for c in cand]),
            np.full(len(cand), -1),
        )
        combined = Elements(
            np.concatenate([model_el.mat, extra.mat]),
            np.concatenate([model_el.i, extra.i]),
            np.concatenate([model_el.j, extra.j]),
            np.concatenate([model_el.param, extra.param]),
        )
        info_el = engine.hessian_elements(g, st, combined, expected=True)
        i11 = info_el[n_model:, n_model:]
        i12 = info_el[n_model:, :n_model] @ engine.incidence[g]
        v = np.diag(i11) - np.einsum("ij,jk,ik->i", i12, info22_inv, i12)
        _, g_sigma, g_mu = moments_gradient(group, st.sigma, st.mu)
        a, b, s, c = element_vectors(st, extra, engine.meanstructure)
        score = 2.0 * s * np.einsum("ep,pq,eq->e", a, g_sigma, b)
        if engine.meanstructure:
            score += c @ g_mu
        score *= 0.5 / n_total
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(v < np.finfo(float).eps ** (1 / 3), np.nan, v)
            mi = n_total * score**2 / v
            epc = -score / v
        lv_sd = np.sqrt(np.abs(np.diag(st.lv_cov)))
        ov_sd = np.sqrt(np.abs(np.diag(st.sigma)))
        resid_ov = np.sqrt(np.abs(np.diag(st.theta)))
        resid_lv = np.sqrt(np.abs(np.diag(st.psi)))
        for k, (code, i, j, lhs, op, rhs) in enumerate(cand):
            if code == LAMBDA:
                sepc_lv = epc[k] * lv_sd[j]
                sepc_all = sepc_lv / ov_sd[i]
            elif code == THETA:
                sepc_lv = epc[k]
                sepc_all = epc[k] / (resid_ov[i] * resid_ov[j])
            else:
                sepc_lv = sepc_all = epc[k] / (resid_lv[i] * resid_lv[j])
            record = {"lhs": lhs, "op": op, "rhs": rhs}
            if spec.n_groups > 1:
                record["group"] = group_labels[g]
            record.update({"mi": mi[k], "epc": epc[k], "sepc_lv": sepc_lv, "sepc_all": sepc_all})
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return frame
    return (
        frame.dropna(subset=["mi"]).sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    )
