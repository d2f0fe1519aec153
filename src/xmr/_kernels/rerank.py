"""Sparse dot products between queries and given label feature rows (text-match reranking)."""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .sorting import argsort_stable


@kernel(inline=True)
def _merge_dot(a_idx, a_val, a_lo, a_hi, b_idx, b_val, b_lo, b_hi):
    """Dot product of two sorted sparse vectors (merge join)."""
    s = 0.0
    i = a_lo
    j = b_lo
    while i < a_hi and j < b_hi:
        ai = a_idx[i]
        bj = b_idx[j]
        if ai == bj:
            s += a_val[i] * b_val[j]
            i += 1
            j += 1
        elif ai < bj:
            i += 1
        else:
            j += 1
    return s


@kernel
def candidate_dots(lo, hi, q_ptr, q_idx, q_val, cand, l_ptr, l_idx, l_val, out):
    """out[i, j] = <query i, label row cand[i, j]> for queries ``lo .. hi - 1`` (0 where cand
    is -1); out float32 (n, k)."""
    for i in range(lo, hi):
        for j in range(cand.shape[1]):
            c = cand[i, j]
            out[i, j] = 0.0
            if c >= 0:
                out[i, j] = _merge_dot(q_idx, q_val, q_ptr[i], q_ptr[i + 1],
                                       l_idx, l_val, l_ptr[c], l_ptr[c + 1])


@kernel
def rerank_one(q_idx, q_val, cand, cand_scores, l_ptr, l_idx, l_val, dense, weight):
    """Blend (1 - weight) * score + weight * <query, label row> for one query's candidates and
    sort best first. ``dense`` is a zeroed float32 scratch of n_features entries: the query is
    scattered into it (so each candidate costs its row's nonzeros) and cleared again.

    Returns (labels int32 (m,), scores float32 (m,)) over the valid (>= 0) candidates.
    """
    for t in range(q_idx.shape[0]):
        dense[q_idx[t]] = q_val[t]
    m = 0
    for j in range(cand.shape[0]):
        if cand[j] >= 0:
            m += 1
    labels = np.empty(m, dtype=np.int32)
    blended = np.empty(m, dtype=np.float64)
    o = 0
    for j in range(cand.shape[0]):
        c = cand[j]
        if c < 0:
            continue
        s = 0.0
        for e in range(l_ptr[c], l_ptr[c + 1]):
            s += dense[l_idx[e]] * l_val[e]
        labels[o] = c
        blended[o] = (1.0 - weight) * cand_scores[j] + weight * s
        o += 1
    for t in range(q_idx.shape[0]):
        dense[q_idx[t]] = 0.0
    order = argsort_stable(-blended)
    out_l = np.empty(m, dtype=np.int32)
    out_s = np.empty(m, dtype=np.float32)
    for r in range(m):
        out_l[r] = labels[order[r]]
        out_s[r] = blended[order[r]]
    return out_l, out_s
