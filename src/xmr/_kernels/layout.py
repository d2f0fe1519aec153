"""Build the chunked (per-parent) weight layout of one tree level from its CSC weights.

Two refinements make scoring cheaper without changing what the arrays mean:

- *direct* chunks: a chunk whose rows cover at least ``direct_frac`` of all features gets an
  (empty) row for every feature, so row ``r0 + f`` is feature ``f`` and lookups need no search;
- *dense* rows: a row with weights for at least ``dense_frac`` of the chunk's children stores
  all of them in child order (zeros included), so it is scored by a contiguous loop.

Both only add rows without entries or entries holding 0.0: any reader computes the same scores.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .sorting import argsort_stable


@kernel
def _sorted_features(col_ptr, idx, c0, c1):
    e0 = col_ptr[c0]
    e1 = col_ptr[c1]
    return argsort_stable(idx[e0:e1]), e0, e1


@kernel
def count_chunks(lo, hi, col_ptr, idx, child_ptr, n_features, direct_frac, dense_frac, rows,
                 entries, direct):
    """Rows and entries the chunks of parents ``lo .. hi - 1`` will hold (int64 ``rows``,
    ``entries``), and whether each is direct-indexed (uint8 ``direct``)."""
    for p in range(lo, hi):
        c0 = child_ptr[p]
        nc = child_ptr[p + 1] - c0
        order, e0, e1 = _sorted_features(col_ptr, idx, c0, child_ptr[p + 1])
        n_rows = 0
        n_ent = 0
        t = 0
        m = e1 - e0
        while t < m:
            f = idx[e0 + order[t]]
            u = t
            while u < m and idx[e0 + order[u]] == f:
                u += 1
            n_rows += 1
            n_ent += nc if (u - t) >= dense_frac * nc else (u - t)
            t = u
        if n_rows > 0 and n_rows >= direct_frac * n_features:
            direct[p] = 1
            n_rows = n_features
        rows[p] = n_rows
        entries[p] = n_ent


@kernel
def fill_chunks(lo, hi, col_ptr, idx, val, child_ptr, row_off, entry_off, direct, dense_frac,
                row_feat, row_entry_ptr, entry_child, entry_val):
    """Transpose the block of columns of parents ``lo .. hi - 1`` into rows sorted by feature.

    ``row_entry_ptr[r]`` receives the (level-local) start of row r's entries; entries of a
    sparse row are sorted by child offset (a stable sort of column-ordered entries).
    """
    for p in range(lo, hi):
        c0 = child_ptr[p]
        nc = child_ptr[p + 1] - c0
        order, e0, e1 = _sorted_features(col_ptr, idx, c0, child_ptr[p + 1])
        m = e1 - e0
        child_of = np.empty(m, dtype=np.uint32)
        for c in range(c0, child_ptr[p + 1]):
            for e in range(col_ptr[c], col_ptr[c + 1]):
                child_of[e - e0] = np.uint32(c - c0)
        r = row_off[p]
        out = entry_off[p]
        next_feature = 0  # direct chunks: every feature gets a row, in order
        t = 0
        while t < m:
            f = idx[e0 + order[t]]
            u = t
            while u < m and idx[e0 + order[u]] == f:
                u += 1
            if direct[p]:
                while next_feature < f:
                    row_feat[r] = next_feature
                    row_entry_ptr[r] = out
                    r += 1
                    next_feature += 1
                next_feature = f + 1
            row_feat[r] = f
            row_entry_ptr[r] = out
            r += 1
            if (u - t) >= dense_frac * nc:
                for c in range(nc):
                    entry_child[out + c] = np.uint32(c)
                    entry_val[out + c] = 0.0
                for k in range(t, u):
                    entry_val[out + child_of[order[k]]] = val[e0 + order[k]]
                out += nc
            else:
                for k in range(t, u):
                    entry_child[out] = child_of[order[k]]
                    entry_val[out] = val[e0 + order[k]]
                    out += 1
            t = u
        if direct[p]:
            n_features = row_off[p + 1] - row_off[p]
            while next_feature < n_features:
                row_feat[r] = next_feature
                row_entry_ptr[r] = out
                r += 1
                next_feature += 1
