"""Top-k scoring over an inverted index: score(d) = sum over query terms t of w_q[t] * W[t, d].

The index is a CSC-like layout over terms: the postings of term t are documents
``docs[ptr[t]:ptr[t + 1]]`` with weights ``weights[...]``. A query adds its terms' postings into
a dense accumulator (one float per document, all-zero between queries), remembering which
documents it touched, then keeps the best ``k`` of those in a small heap: the cost is the
length of the query's posting lists plus ``touched * log k``, never the number of documents.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .sorting import argsort_stable, sort_in_place


@kernel(inline=True)
def _worse(s1, d1, s2, d2):
    """(s1, d1) ranks below (s2, d2): lower score, then higher document id."""
    return s1 < s2 or (s1 == s2 and d1 > d2)


@kernel
def _sift_down(hs, hd, size, i):
    """Restore the min-heap (root = worst) below position ``i``."""
    s = hs[i]
    d = hd[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _worse(hs[child + 1], hd[child + 1], hs[child], hd[child]):
            child += 1
        if _worse(hs[child], hd[child], s, d):
            hs[i] = hs[child]
            hd[i] = hd[child]
            i = child
        else:
            break
    hs[i] = s
    hd[i] = d


@kernel
def _accumulate(q_terms, q_weights, ptr, docs, weights, acc, other, touched, n_touched):
    """Add the query's postings into ``acc``; a document is appended to ``touched`` when both
    ``acc`` and ``other`` are still zero for it (pass ``acc`` twice for one accumulator).
    Returns the new count of touched documents."""
    for i in range(q_terms.shape[0]):
        t = q_terms[i]
        w = np.float32(q_weights[i])
        for e in range(ptr[t], ptr[t + 1]):
            d = docs[e]
            if acc[d] == 0.0 and other[d] == 0.0:
                touched[n_touched] = d
                n_touched += 1
            acc[d] += w * weights[e]
            if acc[d] == 0.0:  # a sum that cancels exactly: keep it marked as touched
                acc[d] = np.float32(1e-38)
    return n_touched


@kernel
def _select(touched, n_touched, acc, k, out_docs, out_scores):
    """Best ``k`` touched documents by ``acc`` (positive scores only; ties: lower document
    first), best first; returns how many were written. ``acc`` is only read."""
    size = 0
    hs = np.empty(max(k, 1), dtype=np.float32)
    hd = np.empty(max(k, 1), dtype=np.int32)
    for j in range(n_touched):
        d = touched[j]
        s = acc[d]
        if s <= 0.0:
            continue
        if size < k:
            hs[size] = s
            hd[size] = d
            size += 1
            if size == k:
                for i in range(k // 2 - 1, -1, -1):
                    _sift_down(hs, hd, size, i)
        elif _worse(hs[0], hd[0], s, d):
            hs[0] = s
            hd[0] = d
            _sift_down(hs, hd, size, 0)
    if size < k:
        for i in range(size // 2 - 1, -1, -1):
            _sift_down(hs, hd, size, i)
    for r in range(size - 1, -1, -1):  # pop the worst to the back: best first
        out_scores[r] = hs[0]
        out_docs[r] = hd[0]
        hs[0] = hs[r]
        hd[0] = hd[r]
        _sift_down(hs, hd, r, 0)
    return size


@kernel
def top_postings(q_terms, q_weights, ptr, docs, weights, k, acc, touched, out_docs,
                 out_scores):
    """Best ``k`` documents of one query, best first; returns how many were written.

    Parameters
    ----------
    q_terms : int (m,) term ids (may repeat: weights add up), q_weights : float (m,)
    ptr : int64 (n_terms + 1,), docs : int32 (nnz,), weights : float32 (nnz,)
    acc : float32 (n_docs,) all-zero scratch, left all-zero; touched : int32 (n_docs,) scratch
    out_docs : int32 (>= k,), out_scores : float32 (>= k,)
    """
    n_touched = _accumulate(q_terms, q_weights, ptr, docs, weights, acc, acc, touched, 0)
    size = _select(touched, n_touched, acc, k, out_docs, out_scores)
    for j in range(n_touched):
        acc[touched[j]] = 0.0
    return size


@kernel
def top_postings_pair(q_terms, q_weights, e_terms, e_weights, alpha, ptr, docs, weights, k1,
                      k2, acc, acc2, touched, out1_docs, out1_scores, out2_docs, out2_scores):
    """Best documents of a query q and of q + alpha * e in one pass over q's postings.

    List 1 is :func:`top_postings` of q (``k1`` best); list 2 ranks by score(q) + alpha *
    score(e) (``k2`` best), which reads q's postings only once. An empty e gives an empty
    list 2 (it would only repeat list 1). Returns the two counts.

    Parameters
    ----------
    q_terms, q_weights, e_terms, e_weights : the two queries (term ids may repeat)
    alpha : float
    acc, acc2 : float32 (n_docs,) all-zero scratch, left all-zero; touched : int32 (n_docs,)
    out1_* : (>= k1,), out2_* : (>= k2,)
    """
    if e_terms.shape[0] == 0:
        return top_postings(q_terms, q_weights, ptr, docs, weights, k1, acc, touched,
                            out1_docs, out1_scores), 0
    n_touched = _accumulate(q_terms, q_weights, ptr, docs, weights, acc, acc2, touched, 0)
    n_touched = _accumulate(e_terms, e_weights, ptr, docs, weights, acc2, acc, touched,
                            n_touched)
    n1 = _select(touched, n_touched, acc, k1, out1_docs, out1_scores)
    a = np.float32(alpha)
    for j in range(n_touched):
        d = touched[j]
        acc2[d] = acc[d] + a * acc2[d]
        acc[d] = 0.0
    n2 = _select(touched, n_touched, acc2, k2, out2_docs, out2_scores)
    for j in range(n_touched):
        acc2[touched[j]] = 0.0
    return n1, n2


@kernel
def _pad_row(out_docs, out_scores, n):
    """Entries ``n ..`` of a result row become -1 / -inf."""
    for r in range(n, out_docs.shape[0]):
        out_docs[r] = -1
        out_scores[r] = -np.inf


@kernel
def top_postings_rows(lo, hi, q_ptr, q_terms, q_weights, ptr, docs, weights, k, out_docs,
                      out_scores, acc, touched):
    """:func:`top_postings` for queries ``lo .. hi - 1`` of a CSR batch (``q_ptr``); results
    padded with -1 / -inf into ``out_docs`` int32 / ``out_scores`` float32 (n_queries, k)."""
    for i in range(lo, hi):
        a = q_ptr[i]
        b = q_ptr[i + 1]
        n = top_postings(q_terms[a:b], q_weights[a:b], ptr, docs, weights, k, acc, touched,
                         out_docs[i], out_scores[i])
        _pad_row(out_docs[i], out_scores[i], n)


@kernel
def top_postings_pair_rows(lo, hi, q_ptr, q_terms, q_weights, e_ptr, e_terms, e_weights, alpha,
                           ptr, docs, weights, k1, k2, out1_docs, out1_scores, out2_docs,
                           out2_scores, acc, acc2, touched):
    """:func:`top_postings_pair` for rows ``lo .. hi - 1`` of two CSR batches; results padded
    with -1 / -inf into (n_queries, k1) and (n_queries, k2) arrays."""
    for i in range(lo, hi):
        a, b = q_ptr[i], q_ptr[i + 1]
        c, d = e_ptr[i], e_ptr[i + 1]
        n1, n2 = top_postings_pair(q_terms[a:b], q_weights[a:b], e_terms[c:d], e_weights[c:d],
                                   alpha, ptr, docs, weights, k1, k2, acc, acc2, touched,
                                   out1_docs[i], out1_scores[i], out2_docs[i], out2_scores[i])
        _pad_row(out1_docs[i], out1_scores[i], n1)
        _pad_row(out2_docs[i], out2_scores[i], n2)


@kernel
def kept_lengths(lo, hi, ptr, keep, out):
    """out[t] = min(length of term t's postings, keep) for terms ``lo .. hi - 1``."""
    for t in range(lo, hi):
        out[t] = min(ptr[t + 1] - ptr[t], keep)


@kernel
def keep_heaviest(lo, hi, ptr, docs, weights, keep, new_ptr, new_docs, new_weights):
    """Copy the ``keep`` heaviest postings of terms ``lo .. hi - 1`` (documents ascending) to
    ``new_ptr[t]``; a term with at most ``keep`` postings is copied as it is."""
    for t in range(lo, hi):
        a = ptr[t]
        n = ptr[t + 1] - a
        o = new_ptr[t]
        if n <= keep:
            for e in range(n):
                new_docs[o + e] = docs[a + e]
                new_weights[o + e] = weights[a + e]
            continue
        order = argsort_stable(-weights[a:a + n])[:keep]
        sort_in_place(order)  # back to document order
        for e in range(keep):
            new_docs[o + e] = docs[a + order[e]]
            new_weights[o + e] = weights[a + order[e]]
