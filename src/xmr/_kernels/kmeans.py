"""Balanced spherical 2-means over sparse label embeddings, one binary tree level per call.

The labels of a level are held in ``perm`` (label ids), grouped into segments by ``seg_ptr``;
each segment is split in two halves of sizes ``ceil(m/2)`` and ``floor(m/2)``: labels are scored
by ``<x, c0 - c1>`` (unit-norm centroids) and cut exactly at the median, as PECOS does; ties at
the median go to the lower position. Each half ends sorted by label id. Results depend only on
the segment's members, the seed and the segment's index, never on the thread count. Two code
paths exist (the few wide segments of a top level split jointly, parallel over labels and
features, driven step by step by ``xmr.index.kmeans``; or many segments in parallel); they
differ only in the summation order of centroid norms, and which one runs depends on the level
alone.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .rng import rng_below, rng_seed
from .sorting import kth_smallest, sort_in_place


@kernel
def _row_dot(indptr, indices, data, row, vec):
    s = 0.0
    for k in range(indptr[row], indptr[row + 1]):
        s += data[k] * vec[indices[k]]
    return s


@kernel
def _init_diff(indptr, indices, data, members, seed, seg_id, diff):
    """diff = x_a - x_b for two distinct random members a, b (the first split direction)."""
    m = members.shape[0]
    state = rng_seed(seed, seg_id)
    a, state = rng_below(state, m)
    b, state = rng_below(state, m - 1)
    if b >= a:
        b += 1
    ra = members[a]
    rb = members[b]
    for k in range(indptr[ra], indptr[ra + 1]):
        diff[indices[k]] += data[k]
    for k in range(indptr[rb], indptr[rb + 1]):
        diff[indices[k]] -= data[k]


@kernel
def _assign_halves(scores, half, side, order_buf):
    """side[i] = 0 for the ``half`` best-scoring positions (ties: lower position), else 1.

    O(m) selection instead of a full sort. Returns True when any side changed.
    """
    m = scores.shape[0]
    for i in range(m):
        order_buf[i] = scores[i]
    # the half-th largest value: position m - half in ascending order
    v = kth_smallest(order_buf[:m], m - half)
    n_greater = 0
    for i in range(m):
        if scores[i] > v:
            n_greater += 1
    ties_left = half - n_greater
    changed = False
    for i in range(m):
        s = scores[i]
        new = 1
        if s > v:
            new = 0
        elif s == v and ties_left > 0:
            new = 0
            ties_left -= 1
        if side[i] != new:
            changed = True
            side[i] = new
    return changed


@kernel
def _normalize_into_diff(c0, c1, diff, touched, n_touched):
    n0 = 0.0
    n1 = 0.0
    for t in range(n_touched):
        j = touched[t]
        n0 += np.float64(c0[j]) * c0[j]
        n1 += np.float64(c1[j]) * c1[j]
    s0 = np.float32(1.0 / np.sqrt(n0)) if n0 > 0 else np.float32(0.0)
    s1 = np.float32(1.0 / np.sqrt(n1)) if n1 > 0 else np.float32(0.0)
    for t in range(n_touched):
        j = touched[t]
        diff[j] = c0[j] * s0 - c1[j] * s1


@kernel
def _update_sparse(indptr, indices, data, members, side, c0, c1, diff, mark, touched, n_touched):
    """Centroids of both sides into ``diff``, touching only the members' features."""
    for t in range(n_touched):
        j = touched[t]
        c0[j] = 0.0
        c1[j] = 0.0
    for i in range(members.shape[0]):
        row = members[i]
        cent = c0 if side[i] == 0 else c1
        for k in range(indptr[row], indptr[row + 1]):
            j = indices[k]
            cent[j] += data[k]
            if mark[j] == 0:
                mark[j] = 1
                touched[n_touched] = j
                n_touched += 1
    _normalize_into_diff(c0, c1, diff, touched, n_touched)
    return n_touched


@kernel
def _finish(members, side, work):
    """Reorder members: side 0 first; each side keeps ascending label ids."""
    m = members.shape[0]
    for i in range(m):
        work[i] = members[i]
    a = 0
    for i in range(m):
        if side[i] == 0:
            members[a] = work[i]
            a += 1
    boundary = a
    for i in range(m):
        if side[i] == 1:
            members[a] = work[i]
            a += 1
    sort_in_place(members[:boundary])
    sort_in_place(members[boundary:])


@kernel
def _split_segment(indptr, indices, data, members, n_iter, seed, seg_id, c0, c1, diff, mark,
                   touched):
    """Split ``members`` in place; per-thread scratch arrays must be all-zero on entry and are
    left all-zero."""
    m = members.shape[0]
    if m < 2:
        return
    half = (m + 1) // 2
    scores = np.empty(m, dtype=np.float64)
    buf = np.empty(m, dtype=np.float64)
    side = np.full(m, 2, dtype=np.uint8)
    work = np.empty(m, dtype=members.dtype)
    _init_diff(indptr, indices, data, members, seed, seg_id, diff)
    n_touched = 0
    for it in range(n_iter):
        for i in range(m):
            scores[i] = _row_dot(indptr, indices, data, members[i], diff)
        changed = _assign_halves(scores, half, side, buf)
        if not changed:
            break
        if it + 1 < n_iter:
            n_touched = _update_sparse(indptr, indices, data, members, side, c0, c1, diff,
                                       mark, touched, n_touched)
    # leave scratch clean: every feature that could be nonzero is in touched or in the members
    for t in range(n_touched):
        j = touched[t]
        c0[j] = 0.0
        c1[j] = 0.0
        diff[j] = 0.0
        mark[j] = 0
    for i in range(m):
        row = members[i]
        for k in range(indptr[row], indptr[row + 1]):
            diff[indices[k]] = 0.0
    _finish(members, side, work)


@kernel
def split_segments(lo, hi, indptr, indices, data, perm, seg_ptr, n_iter, seed, seg_offset, c0,
                   c1, diff, mark, touched):
    """Split segments ``lo .. hi - 1`` of ``perm`` in place (the many-segments path).

    Parameters
    ----------
    indptr, indices, data : CSR arrays of the label embeddings (n_labels, n_features)
    perm : int32 array (n_labels,), label ids grouped by segment; modified in place
    seg_ptr : int64 array (n_segments + 1,)
    seg_offset : int
        Global id of segment 0 of this level, so every segment draws its own random stream.
    c0, c1, diff : float32, mark : uint8, touched : int64, each (n_features,): one thread's
        scratch, all-zero on entry and left all-zero
    """
    for s in range(lo, hi):
        _split_segment(indptr, indices, data, perm[seg_ptr[s]:seg_ptr[s + 1]], n_iter, seed,
                       seg_offset + s, c0, c1, diff, mark, touched)


# -- the wide path: the few large segments of a top level, split together ---------------------
@kernel
def wide_start(indptr, indices, data, perm, seg_ptr, seed, seg_offset, diffs, active,
               seg_of_pos, pos_of_label):
    """Set up the joint split: segment of each position, position of each label, the first
    direction of every segment with at least two members (``active``)."""
    n_seg = seg_ptr.shape[0] - 1
    for s in range(n_seg):
        seg_of_pos[seg_ptr[s]:seg_ptr[s + 1]] = s
    for p in range(perm.shape[0]):
        pos_of_label[perm[p]] = p
    for s in range(n_seg):
        if seg_ptr[s + 1] - seg_ptr[s] >= 2:
            active[s] = 1
            _init_diff(indptr, indices, data, perm[seg_ptr[s]:seg_ptr[s + 1]], seed,
                       seg_offset + s, diffs[s])


@kernel
def wide_scores(lo, hi, indptr, indices, data, perm, seg_of_pos, active, diffs, scores):
    """scores[p] = <x_label, direction of its segment> for positions ``lo .. hi - 1``."""
    for p in range(lo, hi):
        s = seg_of_pos[p]
        if active[s]:
            scores[p] = _row_dot(indptr, indices, data, perm[p], diffs[s])


@kernel
def wide_assign(seg_ptr, scores, side, buf, active):
    """Cut every active segment at its median; a segment whose sides did not change stops.
    Returns True while any segment is still active."""
    any_active = False
    for s in range(seg_ptr.shape[0] - 1):
        if active[s]:
            a, b = seg_ptr[s], seg_ptr[s + 1]
            if _assign_halves(scores[a:b], (b - a + 1) // 2, side[a:b], buf[a:b]):
                any_active = True
            else:
                active[s] = 0
    return any_active


@kernel
def wide_sums(lo, hi, csc_ptr, csc_rows, csc_data, pos_of_label, seg_of_pos, side, active,
              sums):
    """sums[s, side, j] = sum of feature j over the members on that side of segment s, for
    features ``lo .. hi - 1``.

    Each feature sums its labels in ascending label-id order (the CSC order), which is also
    the members' order in the per-segment path.
    """
    for j in range(lo, hi):
        for s in range(sums.shape[0]):
            sums[s, 0, j] = 0.0
            sums[s, 1, j] = 0.0
        for e in range(csc_ptr[j], csc_ptr[j + 1]):
            p = pos_of_label[csc_rows[e]]
            if p < 0:
                continue
            s = seg_of_pos[p]
            if active[s]:
                sums[s, side[p], j] += csc_data[e]


@kernel
def wide_directions(sums, diffs, active):
    """New direction of every active segment: normalized centroid difference."""
    n_features = diffs.shape[1]
    all_features = np.arange(n_features)
    for s in range(diffs.shape[0]):
        if active[s]:
            _normalize_into_diff(sums[s, 0], sums[s, 1], diffs[s], all_features, n_features)


@kernel
def wide_finish(perm, seg_ptr, side):
    """Reorder each segment's members: side 0 first, each side by ascending label id."""
    work = np.empty(perm.shape[0], dtype=perm.dtype)
    for s in range(seg_ptr.shape[0] - 1):
        a, b = seg_ptr[s], seg_ptr[s + 1]
        if b - a >= 2:
            _finish(perm[a:b], side[a:b], work[a:b])
