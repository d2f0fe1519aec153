"""Build the chunked (per-parent) weight layout of one tree level from its CSC weights."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def count_chunk_rows(col_ptr, idx, child_ptr):
    """Number of distinct features among the weights of each parent's children."""
    n_par = child_ptr.shape[0] - 1
    out = np.zeros(n_par, dtype=np.int64)
    for p in prange(n_par):
        e0 = col_ptr[child_ptr[p]]
        e1 = col_ptr[child_ptr[p + 1]]
        if e1 > e0:
            feats = np.sort(idx[e0:e1])
            cnt = 1
            for t in range(1, feats.shape[0]):
                if feats[t] != feats[t - 1]:
                    cnt += 1
            out[p] = cnt
    return out


@njit(cache=True, nogil=True, parallel=True)
def fill_chunks(col_ptr, idx, val, child_ptr, row_off, row_feat, row_entry_ptr, entry_child,
                entry_val):
    """Transpose each parent's block of columns into rows sorted by feature.

    The entries of parent p keep the range ``col_ptr[child_ptr[p]] .. col_ptr[child_ptr[p+1]]``;
    within a row they are sorted by child offset (a stable sort of column-ordered entries).
    """
    n_par = child_ptr.shape[0] - 1
    for p in prange(n_par):
        c0 = child_ptr[p]
        e0 = col_ptr[c0]
        e1 = col_ptr[child_ptr[p + 1]]
        m = e1 - e0
        if m == 0:
            continue
        child_of = np.empty(m, dtype=np.uint32)
        for c in range(c0, child_ptr[p + 1]):
            for e in range(col_ptr[c], col_ptr[c + 1]):
                child_of[e - e0] = np.uint32(c - c0)
        order = np.argsort(idx[e0:e1], kind="mergesort")
        r = row_off[p] - 1
        prev = -1
        for t in range(m):
            k = order[t]
            f = idx[e0 + k]
            if f != prev:
                r += 1
                row_feat[r] = f
                row_entry_ptr[r] = e0 + t
                prev = f
            entry_child[e0 + t] = child_of[k]
            entry_val[e0 + t] = val[e0 + k]
