"""Beam search over the chunked weight layout, for one query or a batch.

Layout (all levels flattened; node 0 is the root, nodes of a level are contiguous):

- ``child_start`` int64 (n_internal + 1): children of internal node g are ``child_start[g] ..
  child_start[g + 1] - 1`` (global ids).
- ``chunk_row_ptr`` int64 (n_internal + 1): the weight chunk of internal node g (the columns of
  its children) holds rows ``chunk_row_ptr[g] .. chunk_row_ptr[g + 1] - 1``.
- ``row_feat`` int32 (n_rows): feature id of each chunk row, sorted within a chunk.
- ``row_entry_ptr`` int32 or int64 (n_rows + 1), ``entry_child`` uint8, uint16 or uint32,
  ``entry_val`` float32, or uint16 bfloat16 bits (read through ``weights.weight_at``): the
  nonzero weights of a row, as (child offset within the chunk, value), sorted by child offset
  (the index widths are the narrowest that fit the model; the kernels are compiled for each
  combination met).
- ``node_bias`` float32 (n_nodes): bias term of each node's score.

A query touches only the chunks of the nodes in its beam; within a chunk it looks up its own
features, by binary search when it has few features relative to the chunk's rows, otherwise by
scanning the rows against a dense copy of the query.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .weights import weight_at

# post-processor codes (see xmr.linear.postprocess)
PP_NOOP = 0
PP_SIGMOID = 1
PP_LOG_SIGMOID = 2
PP_LP_HINGE = 3  # 3..6 = l1..l4-hinge
PP_LOG_LP_HINGE = 7  # 7..10 = log-l1..l4-hinge


@kernel(inline=True)
def root_score(code):
    if code == PP_SIGMOID or (PP_LP_HINGE <= code < PP_LOG_LP_HINGE):
        return 1.0
    return 0.0


@kernel(inline=True)
def post_process(z, parent, code):
    """Combine a child's raw score ``z`` with its parent's score."""
    if code == PP_NOOP:
        return z
    if code == PP_SIGMOID:
        return parent / (1.0 + np.exp(-z))
    if code == PP_LOG_SIGMOID:
        if z >= 0:
            return parent - np.log1p(np.exp(-z))
        return parent + z - np.log1p(np.exp(z))
    h = 1.0 - z
    if h <= 0.0:
        return parent  # no loss: exp(0) * parent, or parent - 0
    p = code - PP_LP_HINGE + 1 if code < PP_LOG_LP_HINGE else code - PP_LOG_LP_HINGE + 1
    hp = h  # h ** p by multiplication: a generic pow() costs more than the rest of the step
    if p == 2:
        hp = h * h
    elif p == 3:
        hp = h * h * h
    elif p == 4:
        hp = (h * h) * (h * h)
    if code < PP_LOG_LP_HINGE:
        return parent * np.exp(-hp)
    return parent - hp


@kernel(inline=True)
def lower_bound(arr, lo, hi, value):
    """First position in ``arr[lo:hi]`` (sorted) whose element is >= value, else ``hi``.

    Branchless (the comparison feeds a conditional move), which avoids the branch
    mispredictions that dominate a textbook binary search on short sorted runs.
    """
    n = hi - lo
    if n <= 0:
        return lo
    base = lo
    while n > 1:
        half = n >> 1
        base = base + half if arr[base + half - 1] < value else base
        n -= half
    return base + 1 if arr[base] < value else base


@kernel(inline=True)
def _add_row(r, v, nc, row_entry_ptr, entry_child, entry_val, z):
    """z += v * (row r of a chunk); dense rows (one entry per child) take a contiguous loop."""
    e0 = row_entry_ptr[r]
    e1 = row_entry_ptr[r + 1]
    if e1 - e0 == nc:
        for c in range(nc):
            z[c] += v * weight_at(entry_val, e0 + c)
    else:
        for e in range(e0, e1):
            z[entry_child[e]] += v * weight_at(entry_val, e)


@kernel
def score_chunk(g, q_idx, q_val, qd, child_start, chunk_row_ptr, row_feat, row_entry_ptr,
                entry_child, entry_val, node_bias, z):
    """z[c] = bias + <w_child, q> for each child c (offset within node g's chunk).

    Row lookup: a chunk with a row for every feature is indexed directly; otherwise each query
    feature is found by binary search when the query is short relative to the chunk, or the
    chunk's rows are scanned against the dense query copy ``qd``.
    """
    cs = child_start[g]
    nc = child_start[g + 1] - cs
    for c in range(nc):
        z[c] = 0.0
    r0 = chunk_row_ptr[g]
    r1 = chunk_row_ptr[g + 1]
    nrows = r1 - r0
    nq = q_idx.shape[0]
    if nq > 0 and nrows > 0:
        if nrows == qd.shape[0]:  # sorted unique rows covering every feature: row f is r0 + f
            for t in range(nq):
                _add_row(r0 + q_idx[t], q_val[t], nc, row_entry_ptr, entry_child, entry_val, z)
        else:
            # cost of binary searches ~ nq * log2(nrows); cost of a scan ~ nrows
            logn = 1
            t = nrows
            while t > 1:
                t >>= 1
                logn += 1
            if nq * logn < nrows:
                lo = r0
                for t in range(nq):
                    f = q_idx[t]
                    r = lower_bound(row_feat, lo, r1, f)
                    if r == r1:
                        break
                    if row_feat[r] == f:
                        _add_row(r, q_val[t], nc, row_entry_ptr, entry_child, entry_val, z)
                        r += 1
                    lo = r
            else:
                for r in range(r0, r1):
                    v = qd[row_feat[r]]
                    if v != 0.0:
                        _add_row(r, v, nc, row_entry_ptr, entry_child, entry_val, z)
    for c in range(nc):
        z[c] += node_bias[cs + c]
    return nc


@kernel(inline=True)
def _better(s1, n1, s2, n2):
    """Candidate (s1, n1) ranks above (s2, n2): higher score, then lower node id."""
    return s1 > s2 or (s1 == s2 and n1 < n2)


@kernel
def _heap_push(hs, hn, size, k, s, node):
    """Keep the k best candidates in a min-heap (root = worst); returns the new size."""
    if size < k:
        i = size
        size += 1
        while i > 0:
            parent = (i - 1) >> 1
            if _better(hs[parent], hn[parent], s, node):
                hs[i] = hs[parent]
                hn[i] = hn[parent]
                i = parent
            else:
                break
        hs[i] = s
        hn[i] = node
        return size
    if not _better(s, node, hs[0], hn[0]):
        return size
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        right = left + 1
        if right < size and _better(hs[left], hn[left], hs[right], hn[right]):
            child = right
        if _better(s, node, hs[child], hn[child]):
            hs[i] = hs[child]
            hn[i] = hn[child]
            i = child
        else:
            break
    hs[i] = s
    hn[i] = node
    return size


@kernel
def _heap_sorted(hs, hn, size, out_s, out_n):
    """Write the heap's contents best first."""
    order = np.empty(size, dtype=np.int64)
    for i in range(size):
        order[i] = i
    # insertion sort: size is a beam width or a top-k, small
    for i in range(1, size):
        j = i
        while j > 0 and _better(hs[order[j]], hn[order[j]], hs[order[j - 1]], hn[order[j - 1]]):
            t = order[j]
            order[j] = order[j - 1]
            order[j - 1] = t
            j -= 1
    for i in range(size):
        out_s[i] = hs[order[i]]
        out_n[i] = hn[order[i]]


@kernel
def beam_search_one(q_idx, q_val, qd, depth, level_start, child_start, chunk_row_ptr, row_feat,
                    row_entry_ptr, entry_child, entry_val, node_bias, label_perm, node_mask,
                    beam, topk, code, z, hs, hn, cur_s, cur_n, out_labels, out_scores):
    """Beam search for one query; fills ``out_labels``/``out_scores`` (length topk) best first.

    ``qd`` must be all-zero on entry; it is used as a dense copy of the query and zeroed again.
    ``node_mask`` (uint8, n_nodes) restricts the search when non-empty.
    Returns the number of results written (the rest is padded with -1 / -inf).
    """
    for t in range(q_idx.shape[0]):
        qd[q_idx[t]] = q_val[t]
    use_mask = node_mask.shape[0] > 0
    n_cur = 1
    cur_n[0] = 0
    cur_s[0] = root_score(code)
    for d in range(depth):
        k = topk if d == depth - 1 else beam
        size = 0
        for b in range(n_cur):
            g = cur_n[b]
            sg = cur_s[b]
            nc = score_chunk(g, q_idx, q_val, qd, child_start, chunk_row_ptr, row_feat,
                             row_entry_ptr, entry_child, entry_val, node_bias, z)
            cs = child_start[g]
            for c in range(nc):
                node = cs + c
                if use_mask and node_mask[node] == 0:
                    continue
                size = _heap_push(hs, hn, size, k, post_process(z[c], sg, code), node)
        _heap_sorted(hs, hn, size, cur_s, cur_n)
        n_cur = size
    for t in range(q_idx.shape[0]):
        qd[q_idx[t]] = 0.0
    leaf0 = level_start[depth]
    for i in range(topk):
        if i < n_cur:
            out_labels[i] = label_perm[cur_n[i] - leaf0]
            out_scores[i] = cur_s[i]
        else:
            out_labels[i] = -1
            out_scores[i] = -np.inf
    return n_cur


@kernel
def beam_search_rows(lo, hi, x_ptr, x_idx, x_val, depth, level_start, child_start,
                     chunk_row_ptr, row_feat, row_entry_ptr, entry_child, entry_val, node_bias,
                     label_perm, node_mask, beam, topk, code, out_labels, out_scores, qd, z, hs,
                     hn, cur_s, cur_n, lab, sco):
    """Beam search for rows ``lo .. hi - 1`` of a CSR batch, with one thread's scratch.

    out_labels : int32 (n_rows, topk), out_scores : float32 (n_rows, topk)
    qd : float32 (n_features,) all-zero; z : float64 (max_fanout,); hs, hn, cur_s, cur_n :
    (max(beam, topk),) float64 / int64; lab : int32 (topk,), sco : float64 (topk,)
    """
    for i in range(lo, hi):
        beam_search_one(x_idx[x_ptr[i]:x_ptr[i + 1]], x_val[x_ptr[i]:x_ptr[i + 1]], qd, depth,
                        level_start, child_start, chunk_row_ptr, row_feat, row_entry_ptr,
                        entry_child, entry_val, node_bias, label_perm, node_mask, beam, topk,
                        code, z, hs, hn, cur_s, cur_n, lab, sco)
        for t in range(topk):
            out_labels[i, t] = lab[t]
            out_scores[i, t] = sco[t]


@kernel
def _child_weight_dot(g, c_local, q_idx, q_val, chunk_row_ptr, row_feat, row_entry_ptr,
                      entry_child, entry_val):
    """<w_child, q> for child offset ``c_local`` of internal node g."""
    s = 0.0
    lo = chunk_row_ptr[g]
    r1 = chunk_row_ptr[g + 1]
    for t in range(q_idx.shape[0]):
        f = q_idx[t]
        hi = r1
        while lo < hi:
            mid = (lo + hi) >> 1
            if row_feat[mid] < f:
                lo = mid + 1
            else:
                hi = mid
        if lo == r1:
            break
        if row_feat[lo] == f:
            e0 = row_entry_ptr[lo]
            e1 = row_entry_ptr[lo + 1]
            while e0 < e1:  # entries sorted by child offset
                mid = (e0 + e1) >> 1
                if entry_child[mid] < c_local:
                    e0 = mid + 1
                else:
                    e1 = mid
            if e0 < row_entry_ptr[lo + 1] and entry_child[e0] == c_local:
                s += q_val[t] * weight_at(entry_val, e0)
            lo += 1
    return s


@kernel
def score_pairs(lo, hi, x_ptr, x_idx, x_val, rows, leaf_nodes, depth, node_parent, child_start,
                chunk_row_ptr, row_feat, row_entry_ptr, entry_child, entry_val, node_bias,
                code, out):
    """Score of each (row, leaf node) pair ``lo .. hi - 1`` along its root-to-leaf path, as beam
    search would give it. ``node_parent`` (int64, n_nodes) holds each node's parent (-1 for the
    root)."""
    path = np.empty(depth, dtype=np.int64)
    for p in range(lo, hi):
        i = rows[p]
        q_idx = x_idx[x_ptr[i]:x_ptr[i + 1]]
        q_val = x_val[x_ptr[i]:x_ptr[i + 1]]
        node = leaf_nodes[p]
        for d in range(depth - 1, -1, -1):
            path[d] = node
            node = node_parent[node]
        s = root_score(code)
        for d in range(depth):
            node = path[d]
            g = node_parent[node]
            z = node_bias[node] + _child_weight_dot(g, node - child_start[g], q_idx, q_val,
                                                    chunk_row_ptr, row_feat, row_entry_ptr,
                                                    entry_child, entry_val)
            s = post_process(z, s, code)
        out[p] = s


@kernel
def predict_one(q_idx, q_val, qd, depth, level_start, child_start, chunk_row_ptr, row_feat,
                row_entry_ptr, entry_child, entry_val, node_bias, label_perm, node_mask, beam,
                topk, code, max_fanout, normalize):
    """Single-query beam search with its own scratch; validates the query first.

    With ``normalize`` the query is scaled to unit L2 norm (as the model's training rows were).

    Returns (status, labels int32 (topk,), scores float32 (topk,)) where status is the number of
    results, -1 when ``q_idx`` is not strictly increasing, -2 when an index is out of range,
    -3 when a value is NaN or infinite.
    """
    n_features = qd.shape[0]
    labels = np.empty(topk, dtype=np.int32)
    scores = np.empty(topk, dtype=np.float64)
    out_scores = np.empty(topk, dtype=np.float32)
    prev = -1
    for t in range(q_idx.shape[0]):
        f = q_idx[t]
        if f < 0 or f >= n_features:
            return -2, labels, out_scores
        if not np.isfinite(q_val[t]):
            return -3, labels, out_scores
        if f <= prev:
            return -1, labels, out_scores
        prev = f
    if normalize:
        norm = 0.0
        for t in range(q_val.shape[0]):
            norm += np.float64(q_val[t]) * q_val[t]
        scaled = np.empty(q_val.shape[0], dtype=np.float32)
        inv = 1.0 / np.sqrt(norm) if norm > 0 else 0.0
        for t in range(q_val.shape[0]):
            scaled[t] = q_val[t] * inv
        q_val = scaled
    k = max(beam, topk)
    z = np.empty(max_fanout, dtype=np.float64)
    hs = np.empty(k, dtype=np.float64)
    hn = np.empty(k, dtype=np.int64)
    cur_s = np.empty(k, dtype=np.float64)
    cur_n = np.empty(k, dtype=np.int64)
    n = beam_search_one(q_idx, q_val, qd, depth, level_start, child_start, chunk_row_ptr,
                        row_feat, row_entry_ptr, entry_child, entry_val, node_bias, label_perm,
                        node_mask, beam, topk, code, z, hs, hn, cur_s, cur_n, labels, scores)
    for i in range(topk):
        out_scores[i] = scores[i]
    return n, labels, out_scores
