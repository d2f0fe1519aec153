"""Per-document term counts (batch) and the one-call featurization of a single text."""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .hashing import _lookup
from .ngrams import emit_doc
from .sorting import argsort_stable
from .whitespace import normalize_one


@kernel(inline=True)
def _merge_doc(ids, w, lo, hi, out_idx, out_val, o):
    """Sort the ids of one document, sum the weights of equal ids, drop -1; writes at ``o``."""
    m = hi - lo
    if m == 0:
        return o
    if m <= 48:  # short documents (the usual case): insertion sort in the output buffer
        n = 0
        for j in range(lo, hi):
            c = ids[j]
            if c < 0:
                continue
            r = o + n
            while r > o and out_idx[r - 1] > c:
                out_idx[r] = out_idx[r - 1]
                out_val[r] = out_val[r - 1]
                r -= 1
            out_idx[r] = c
            out_val[r] = w[j]
            n += 1
        end = o
        for r in range(o, o + n):  # merge equal ids in place
            if end > o and out_idx[end - 1] == out_idx[r]:
                out_val[end - 1] += out_val[r]
            else:
                out_idx[end] = out_idx[r]
                out_val[end] = out_val[r]
                end += 1
        return end
    order = argsort_stable(ids[lo:hi])
    prev = -1
    for r in range(m):
        j = lo + order[r]
        c = ids[j]
        if c < 0:
            continue
        if c == prev:
            out_val[o - 1] += w[j]
        else:
            out_idx[o] = c
            out_val[o] = w[j]
            o += 1
            prev = c
    return o


@kernel
def merge_docs(lo, hi, ids, w, eptr, tmp_idx, tmp_val, nnz):
    """Sort and sum the n-gram ids of documents ``lo .. hi - 1`` in place of their n-grams
    (``tmp_idx``/``tmp_val`` from ``eptr[d]``); ``nnz[d]`` = distinct known ids."""
    for d in range(lo, hi):
        nnz[d] = _merge_doc(ids, w, eptr[d], eptr[d + 1], tmp_idx, tmp_val, eptr[d]) - eptr[d]


@kernel
def copy_docs(lo, hi, tmp_idx, tmp_val, eptr, indptr, indices, data):
    """Compact documents ``lo .. hi - 1`` into CSR rows starting at ``indptr[d]``."""
    for d in range(lo, hi):
        src = eptr[d]
        for r in range(indptr[d + 1] - indptr[d]):
            indices[indptr[d] + r] = tmp_idx[src + r]
            data[indptr[d] + r] = tmp_val[src + r]


@kernel
def _normalize_values(val, lo, hi, norm):
    """Scale val[lo:hi] to unit norm (norm: 0 none, 1 l1, 2 l2)."""
    if norm == 0:
        return
    s = 0.0
    for i in range(lo, hi):
        s += abs(val[i]) if norm == 1 else val[i] * val[i]
    if norm == 2:
        s = np.sqrt(s)
    if s > 0:
        for i in range(lo, hi):
            val[i] = val[i] / s


@kernel
def transform_one_text(codes, cls, ascii_cls, params, inner_w, key_off, keys, values, col_off,
                       idf, final_norm):
    """All blocks of one text in one call (the real-time path).

    Parameters
    ----------
    codes : uint32 (m,) code points (lower-cased / normalized already)
    cls : uint8 (m,) classes, or empty when every code point is ASCII (then ``ascii_cls``)
    params : int64 (n_blocks, 8): kind, min_n, max_n, tokmin, wmode, sublinear, use_idf, norm
    inner_w : float32 (n_blocks,)
    key_off : int64 (n_blocks + 1,): block b's table is keys/values[key_off[b]:key_off[b+1]]
    col_off : int64 (n_blocks + 1,): block b's columns (and idf entries)
    final_norm : 0 none, 1 l1, 2 l2

    Returns (indices int32 sorted, values float32).
    """
    m = codes.shape[0]
    if cls.shape[0] != m:
        cls = np.empty(m, dtype=np.uint8)
        for i in range(m):
            cls[i] = ascii_cls[codes[i]]
    nc, ncls = normalize_one(codes, cls)
    n = nc.shape[0]
    ts = np.empty(n + 2, dtype=np.int64)
    te = np.empty(n + 2, dtype=np.int64)
    empty_i = np.empty(0, dtype=np.int64)
    n_blocks = params.shape[0]
    total = 0
    counts = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        counts[b] = emit_doc(nc, ncls, 0, n, params[b, 0], params[b, 1], params[b, 2],
                             params[b, 3], params[b, 4], inner_w[b], np.empty(0, np.uint64),
                             np.empty(0, np.float32), empty_i, empty_i, 0, False, ts, te)
        total += counts[b]
    h = np.empty(total, dtype=np.uint64)
    w = np.empty(total, dtype=np.float32)
    ids = np.empty(total, dtype=np.int32)
    out_idx = np.empty(total, dtype=np.int32)
    out_val = np.empty(total, dtype=np.float32)
    k = 0
    o = 0
    for b in range(n_blocks):
        k0 = k
        k = emit_doc(nc, ncls, 0, n, params[b, 0], params[b, 1], params[b, 2], params[b, 3],
                     params[b, 4], inner_w[b], h, w, empty_i, empty_i, k, True, ts, te)
        bk = keys[key_off[b]:key_off[b + 1]]
        bv = values[key_off[b]:key_off[b + 1]]
        for i in range(k0, k):
            c = _lookup(bk, bv, h[i])
            ids[i] = c + col_off[b] if c >= 0 else -1
        o0 = o
        o = _merge_doc(ids, w, k0, k, out_idx, out_val, o)
        for i in range(o0, o):
            v = out_val[i]
            if params[b, 5]:
                v = np.float32(1.0 + np.log(v))
            if params[b, 6]:
                v = v * idf[out_idx[i]]
            out_val[i] = v
        _normalize_values(out_val, o0, o, params[b, 7])
    _normalize_values(out_val, 0, o, final_norm)
    return out_idx[:o], out_val[:o]
