"""Balanced spherical 2-means over sparse label embeddings, one binary tree level per call.

The labels of a level are held in ``perm`` (label ids), grouped into segments by ``seg_ptr``;
each segment is split in two halves of sizes ``ceil(m/2)`` and ``floor(m/2)``: labels are scored
by ``<x, c0 - c1>`` and cut exactly at the median, as PECOS does. Results depend only on the
segment's members, the seed and the segment's index, never on the thread count.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .rng import rng_below, rng_seed


@njit(cache=True, nogil=True)
def _row_dot(indptr, indices, data, row, vec):
    s = 0.0
    for k in range(indptr[row], indptr[row + 1]):
        s += data[k] * vec[indices[k]]
    return s


@njit(cache=True, nogil=True)
def _init_centroids(indptr, indices, data, members, seed, seg_id, c0, c1, mark, touched, n_touched):
    """Seed the two centroids with two distinct random members; returns n_touched."""
    m = members.shape[0]
    state = rng_seed(seed, seg_id)
    a, state = rng_below(state, m)
    b, state = rng_below(state, m - 1)
    if b >= a:
        b += 1
    for which in range(2):
        row = members[a] if which == 0 else members[b]
        cent = c0 if which == 0 else c1
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            cent[j] = data[k]
            if mark[j] == 0:
                mark[j] = 1
                touched[n_touched] = j
                n_touched += 1
    return n_touched


@njit(cache=True, nogil=True)
def _update_centroids(indptr, indices, data, members, half, c0, c1, mark, touched, n_touched):
    """c0 = normalized sum of members[:half], c1 = of members[half:]; returns n_touched."""
    for t in range(n_touched):
        c0[touched[t]] = 0.0
        c1[touched[t]] = 0.0
    for i in range(members.shape[0]):
        row = members[i]
        cent = c0 if i < half else c1
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            cent[j] += data[k]
            if mark[j] == 0:
                mark[j] = 1
                touched[n_touched] = j
                n_touched += 1
    n0 = 0.0
    n1 = 0.0
    for t in range(n_touched):
        j = touched[t]
        n0 += c0[j] * c0[j]
        n1 += c1[j] * c1[j]
    n0 = 1.0 / np.sqrt(n0) if n0 > 0 else 0.0
    n1 = 1.0 / np.sqrt(n1) if n1 > 0 else 0.0
    for t in range(n_touched):
        j = touched[t]
        c0[j] *= n0
        c1[j] *= n1
    return n_touched


@njit(cache=True, nogil=True)
def _reorder_by_scores(members, scores, half, work):
    """Put the ``half`` highest-scoring members first (ties: lower position first), each half
    sorted by label id. Returns True when the split changed."""
    m = members.shape[0]
    order = np.argsort(-scores, kind="mergesort")
    for i in range(m):
        work[i] = members[order[i]]
    changed = False
    first = np.sort(work[:half])
    second = np.sort(work[half:m])
    for i in range(half):
        if members[i] != first[i]:
            changed = True
        members[i] = first[i]
    for i in range(m - half):
        if members[half + i] != second[i]:
            changed = True
        members[half + i] = second[i]
    return changed


@njit(cache=True, nogil=True)
def _clear(c0, c1, mark, touched, n_touched):
    for t in range(n_touched):
        j = touched[t]
        c0[j] = 0.0
        c1[j] = 0.0
        mark[j] = 0


@njit(cache=True, nogil=True)
def _split_segment(indptr, indices, data, members, n_iter, seed, seg_id, c0, c1, mark, touched):
    """Split ``members`` (modified in place) into two balanced halves."""
    m = members.shape[0]
    if m < 2:
        return
    half = (m + 1) // 2
    scores = np.empty(m, dtype=np.float64)
    work = np.empty(m, dtype=members.dtype)
    n_touched = _init_centroids(indptr, indices, data, members, seed, seg_id, c0, c1, mark,
                                touched, 0)
    for it in range(n_iter):
        for i in range(m):
            row = members[i]
            s = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                j = indices[k]
                # same arithmetic as split_segment_wide's float64 diff vector
                s += data[k] * (np.float64(c0[j]) - np.float64(c1[j]))
            scores[i] = s
        changed = _reorder_by_scores(members, scores, half, work)
        if not changed and it > 0:
            break
        n_touched = _update_centroids(indptr, indices, data, members, half, c0, c1, mark,
                                      touched, n_touched)
    _clear(c0, c1, mark, touched, n_touched)


@njit(cache=True, nogil=True, parallel=True)
def split_level_many(indptr, indices, data, n_features, perm, seg_ptr, n_iter, seed, seg_offset,
                     n_threads):
    """Split every segment of ``perm`` in place, in parallel across segments.

    Parameters
    ----------
    indptr, indices, data : CSR arrays of the label embeddings (n_labels, n_features)
    perm : int32 array (n_labels,), label ids grouped by segment; modified in place
    seg_ptr : int64 array (n_segments + 1,)
    seg_offset : int
        Global id of segment 0 of this level, so every segment draws its own random stream.
    """
    n_seg = seg_ptr.shape[0] - 1
    c0s = np.zeros((n_threads, n_features), dtype=np.float32)
    c1s = np.zeros((n_threads, n_features), dtype=np.float32)
    marks = np.zeros((n_threads, n_features), dtype=np.uint8)
    touched = np.empty((n_threads, n_features), dtype=np.int64)
    for s in prange(n_seg):
        tid = numba.get_thread_id()
        _split_segment(indptr, indices, data, perm[seg_ptr[s]:seg_ptr[s + 1]], n_iter, seed,
                       seg_offset + s, c0s[tid], c1s[tid], marks[tid], touched[tid])


@njit(cache=True, nogil=True, parallel=True)
def _score_parallel(indptr, indices, data, members, diff, scores):
    for i in prange(members.shape[0]):
        scores[i] = _row_dot(indptr, indices, data, members[i], diff)


@njit(cache=True, nogil=True)
def split_segment_wide(indptr, indices, data, n_features, members, n_iter, seed, seg_id):
    """Split one large segment in place, scoring its members in parallel.

    Gives exactly the result of ``_split_segment``: scores are summed in the same order, and the
    centroid updates are serial.
    """
    m = members.shape[0]
    if m < 2:
        return
    half = (m + 1) // 2
    c0 = np.zeros(n_features, dtype=np.float32)
    c1 = np.zeros(n_features, dtype=np.float32)
    mark = np.zeros(n_features, dtype=np.uint8)
    touched = np.empty(n_features, dtype=np.int64)
    diff = np.zeros(n_features, dtype=np.float64)
    scores = np.empty(m, dtype=np.float64)
    work = np.empty(m, dtype=members.dtype)
    n_touched = _init_centroids(indptr, indices, data, members, seed, seg_id, c0, c1, mark,
                                touched, 0)
    for it in range(n_iter):
        for t in range(n_touched):
            j = touched[t]
            diff[j] = np.float64(c0[j]) - np.float64(c1[j])
        _score_parallel(indptr, indices, data, members, diff, scores)
        changed = _reorder_by_scores(members, scores, half, work)
        if not changed and it > 0:
            break
        n_touched = _update_centroids(indptr, indices, data, members, half, c0, c1, mark,
                                      touched, n_touched)
