"""Merge a query's candidates from several sources and compute the ranker's features.

For query i the sources are ``src_ids[s][i, :]`` (product ids, -1 padded, best first) with
scores ``src_scores[s][i, :]``; the candidates are their union, in first-seen order. Features
(one row per candidate, see ``xmr.apps.retrieval.features.FEATURES``):

 0-2   BM25 score, rank (len(list) when absent), score / best BM25 score of the query
 3-5   XR-Linear score, rank, score / best
 6-7   cosine of query and title TF-IDF (computed for every candidate), rank in the cosine list
 8-9   cosine of the word-block part and of the character-block part
 10    cosine of the query and the product's PIFA vector (its training queries' centroid)
 11    log(1 + training positives of the product)
 12-13 terms of the query, terms of the title (BM25 analysis)
 14-15 share of the query's terms found in the title, share of the title's terms in the query
 16    rank in the fourth list (the expanded-query cosine; len(list) when absent)
 17    cosine of the query's expansion (translated words, ``expand_rows``) and the title's
       word block
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

N_SOURCES = 4
N_FEATURES = 18


@kernel
def union_sizes(lo, hi, ids0, ids1, ids2, ids3, out, mark):
    """out[i] = number of distinct products over the four lists of query i (``lo .. hi``).
    ``mark``: uint8 (n_products,) all-zero scratch, left all-zero."""
    for i in range(lo, hi):
        n = 0
        for ids in (ids0, ids1, ids2, ids3):
            for j in range(ids.shape[1]):
                p = ids[i, j]
                if p >= 0 and mark[p] == 0:
                    mark[p] = 1
                    n += 1
        for ids in (ids0, ids1, ids2, ids3):
            for j in range(ids.shape[1]):
                p = ids[i, j]
                if p >= 0:
                    mark[p] = 0
        out[i] = n


@kernel
def _dense_scatter(x_ptr, x_idx, x_val, i, qd, value_scale):
    for e in range(x_ptr[i], x_ptr[i + 1]):
        qd[x_idx[e]] = x_val[e] * value_scale


@kernel
def candidate_rows(lo, hi, ids0, sc0, ids1, sc1, ids2, sc2, ids3, x_ptr, x_idx, x_val,
                   word_end, e_idx, e_val, t_ptr, t_idx, t_val, t_word_norm, t_char_norm,
                   p_ptr, p_idx, p_val, log_pop, q_ptr, q_terms, n_query_terms, d_ptr, d_terms,
                   title_terms, out_ptr, out_ids, out_feat, rank0, rank1, rank2, rank3, qd, ed,
                   qmark):
    """Candidates and features of queries ``lo .. hi - 1``, written from ``out_ptr[i]``.

    Parameters
    ----------
    ids0/sc0, ids1/sc1, ids2/sc2 : BM25, XR-Linear and cosine lists (n_queries, k_s)
    ids3 : the expanded-query cosine list (n_queries, k_3), k_3 may be 0
    x_ptr, x_idx, x_val : the queries' TF-IDF rows (CSR); columns < ``word_end`` are words
    e_idx, e_val : int32 / float32 (n_queries, m) each query's expansion (word columns, -1
    padded, L2-normalized), m may be 0
    t_* : title TF-IDF rows (CSR, L2-normalized), t_word_norm / t_char_norm: block norms
    p_* : PIFA rows (CSR, L2-normalized; empty for products without training positives)
    log_pop : float32 (n_products,)
    q_ptr, q_terms : the queries' distinct BM25 terms (CSR); n_query_terms : float (n,)
    d_ptr, d_terms : the titles' distinct BM25 terms (CSR); title_terms : float (n_products,)
    out_ids : int32 (total,), out_feat : float32 (total, N_FEATURES)
    rank0..3 : int32 (n_products,) scratch, -1 on entry and exit; qd, ed : float32
    (n_features,) all-zero scratch; qmark : uint8 (n_terms,) all-zero scratch
    """
    lists = (ids0, ids1, ids2, ids3)
    ranks = (rank0, rank1, rank2, rank3)
    for i in range(lo, hi):
        o = out_ptr[i]
        # the union, in first-seen order, with each product's rank in every list
        for s in range(N_SOURCES):
            ids = lists[s]
            for j in range(ids.shape[1]):
                p = ids[i, j]
                if p < 0:
                    continue
                if rank0[p] < 0 and rank1[p] < 0 and rank2[p] < 0 and rank3[p] < 0:
                    out_ids[o] = p
                    o += 1
                ranks[s][p] = j
        end = o
        best0 = sc0[i, 0] if ids0.shape[1] > 0 and ids0[i, 0] >= 0 else 1.0
        best1 = sc1[i, 0] if ids1.shape[1] > 0 and ids1[i, 0] >= 0 else 1.0
        best0 = best0 if best0 > 0 else 1.0
        best1 = best1 if best1 > 0 else 1.0
        # query parts: word-block norm, character-block norm
        qw = 0.0
        qc = 0.0
        for e in range(x_ptr[i], x_ptr[i + 1]):
            v = np.float64(x_val[e])
            if x_idx[e] < word_end:
                qw += v * v
            else:
                qc += v * v
        qw = np.sqrt(qw)
        qc = np.sqrt(qc)
        _dense_scatter(x_ptr, x_idx, x_val, i, qd, np.float32(1.0))
        for e in range(e_idx.shape[1]):
            if e_idx[i, e] >= 0:
                ed[e_idx[i, e]] = e_val[i, e]
        n_q = 0
        for e in range(q_ptr[i], q_ptr[i + 1]):
            qmark[q_terms[e]] = 1
            n_q += 1
        for r in range(out_ptr[i], end):
            p = out_ids[r]
            f = out_feat[r]
            for j in range(N_FEATURES):
                f[j] = 0.0
            if rank0[p] >= 0:
                f[0] = sc0[i, rank0[p]]
                f[1] = rank0[p]
                f[2] = sc0[i, rank0[p]] / best0
            else:
                f[1] = ids0.shape[1]
            if rank1[p] >= 0:
                f[3] = sc1[i, rank1[p]]
                f[4] = rank1[p]
                f[5] = sc1[i, rank1[p]] / best1
            else:
                f[4] = ids1.shape[1]
            f[7] = rank2[p] if rank2[p] >= 0 else ids2.shape[1]
            f[16] = rank3[p] if rank3[p] >= 0 else ids3.shape[1]
            dw = 0.0
            dc = 0.0
            de = 0.0
            for e in range(t_ptr[p], t_ptr[p + 1]):
                c = t_idx[e]
                v = qd[c]
                if v != 0.0:
                    if c < word_end:
                        dw += v * t_val[e]
                    else:
                        dc += v * t_val[e]
                if c < word_end:
                    de += ed[c] * t_val[e]
            f[6] = dw + dc
            f[8] = dw / (qw * t_word_norm[p]) if qw > 0 and t_word_norm[p] > 0 else 0.0
            f[9] = dc / (qc * t_char_norm[p]) if qc > 0 and t_char_norm[p] > 0 else 0.0
            f[17] = de / t_word_norm[p] if t_word_norm[p] > 0 else 0.0
            dp = 0.0
            for e in range(p_ptr[p], p_ptr[p + 1]):
                dp += qd[p_idx[e]] * p_val[e]
            f[10] = dp
            f[11] = log_pop[p]
            f[12] = n_query_terms[i]
            f[13] = title_terms[p]
            hits = 0
            for e in range(d_ptr[p], d_ptr[p + 1]):
                if qmark[d_terms[e]] != 0:
                    hits += 1
            f[14] = hits / n_q if n_q > 0 else 0.0
            f[15] = hits / (d_ptr[p + 1] - d_ptr[p]) if d_ptr[p + 1] > d_ptr[p] else 0.0
        # leave the scratch clean
        for e in range(x_ptr[i], x_ptr[i + 1]):
            qd[x_idx[e]] = 0.0
        for e in range(q_ptr[i], q_ptr[i + 1]):
            qmark[q_terms[e]] = 0
        for e in range(e_idx.shape[1]):
            if e_idx[i, e] >= 0:
                ed[e_idx[i, e]] = 0.0
        for s in range(N_SOURCES):
            ids = lists[s]
            for j in range(ids.shape[1]):
                p = ids[i, j]
                if p >= 0:
                    ranks[s][p] = -1


@kernel
def block_row_norms(indptr, indices, data, word_end, word, char):
    """L2 norm of the word part (columns < ``word_end``) and of the character part of every
    CSR row, summed in float64 in the row's order; written to ``word`` / ``char`` (float32,
    n_rows). A kernel so that loading a retriever never holds the GIL for long."""
    for r in range(indptr.shape[0] - 1):
        w = 0.0
        c = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            v = np.float64(data[k])
            if indices[k] < word_end:
                w += v * v
            else:
                c += v * v
        word[r] = np.sqrt(w)
        char[r] = np.sqrt(c)


@kernel(inline=True)
def _better(s1, c1, s2, c2):
    """(s1, c1) ranks above (s2, c2): higher weight, then lower column."""
    return s1 > s2 or (s1 == s2 and c1 < c2)


@kernel
def expand_rows(lo, hi, x_ptr, x_idx, x_val, word_end, c_ptr, c_idx, c_val, out_idx, out_val,
                acc, touched):
    """Expansion of queries ``lo .. hi - 1`` through a word translation table.

    Query i's expansion is the sum over its word columns w (< ``word_end``) of ``x[w] * C[w]``,
    cut to its ``m = out_idx.shape[1]`` heaviest columns (ties: lower column first), then
    L2-normalized; written best first to ``out_idx[i]`` / ``out_val[i]``, -1 / 0 padded.

    Parameters
    ----------
    x_ptr, x_idx, x_val : the queries' TF-IDF rows (CSR)
    c_ptr, c_idx, c_val : the table (CSR, ``word_end`` rows over word columns, values >= 0)
    out_idx : int32 (n_queries, m), out_val : float32 (n_queries, m)
    acc : float32 (word_end,) all-zero scratch, left all-zero; touched : int32 (word_end,)
    """
    m = out_idx.shape[1]
    for i in range(lo, hi):
        n_touched = 0
        for e in range(x_ptr[i], x_ptr[i + 1]):
            w = x_idx[e]
            if w >= word_end:
                continue
            v = x_val[e]
            for k in range(c_ptr[w], c_ptr[w + 1]):
                c = c_idx[k]
                if acc[c] == 0.0:
                    touched[n_touched] = c
                    n_touched += 1
                acc[c] += v * c_val[k]
                if acc[c] == 0.0:  # keep it marked as touched
                    acc[c] = np.float32(1e-38)
        kept = 0
        for j in range(n_touched):
            c = touched[j]
            s = acc[c]
            acc[c] = 0.0
            if s <= 0.0:
                continue
            if kept < m:
                pos = kept
                kept += 1
            elif _better(s, c, out_val[i, m - 1], out_idx[i, m - 1]):
                pos = m - 1
            else:
                continue
            while pos > 0 and _better(s, c, out_val[i, pos - 1], out_idx[i, pos - 1]):
                out_val[i, pos] = out_val[i, pos - 1]
                out_idx[i, pos] = out_idx[i, pos - 1]
                pos -= 1
            out_val[i, pos] = s
            out_idx[i, pos] = c
        norm = 0.0
        for j in range(kept):
            norm += np.float64(out_val[i, j]) * out_val[i, j]
        norm = np.sqrt(norm)
        for j in range(kept):
            out_val[i, j] = out_val[i, j] / norm
        for j in range(kept, m):
            out_idx[i, j] = -1
            out_val[i, j] = 0.0
