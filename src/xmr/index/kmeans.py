"""Hierarchical spherical balanced k-means: label embeddings -> :class:`LabelTree`."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from .._kernels import kmeans as _km
from .._threads import parallel_for
from ..sparse import as_csr
from .config import IndexerConfig
from .tree import LabelTree

logger = logging.getLogger(__name__)

# Levels with fewer segments than this are split jointly, parallel over labels (scores) and over
# features (centroids); deeper levels run segments in parallel. The choice depends only on the
# level, never on the thread count.
_WIDE_SEGMENTS = 8


def binary_depth(n_labels: int, max_leaf_size: int) -> int:
    """Depth of the binary 2-means tree: max(1, ceil(log2(L / leaf))), capped so no leaf
    cluster is empty (2**depth <= L)."""
    depth = max(1, math.ceil(math.log2(n_labels / max_leaf_size)))
    return min(depth, int(math.floor(math.log2(n_labels))))


def hierarchical_kmeans(embedding: sp.spmatrix, config: IndexerConfig | None = None) -> LabelTree:
    """Cluster labels by recursive balanced 2-means, then group leaf clusters into a B-ary tree.

    Parameters
    ----------
    embedding : sparse matrix (n_labels, dim), rows ideally unit-norm
    config : IndexerConfig

    Returns
    -------
    LabelTree whose leaf clusters hold at most ``max_leaf_size`` labels (sizes differ by at
    most one) and whose upper levels have ``branching_factor`` children per node.
    """
    config = config or IndexerConfig()
    emb = as_csr(embedding, name="label embedding")
    n_labels = emb.shape[0]
    if n_labels <= config.max_leaf_size:
        return LabelTree.flat(n_labels)
    depth = binary_depth(n_labels, config.max_leaf_size)
    start = time.perf_counter()
    perm, seg_ptr = split_levels(emb, np.arange(n_labels, dtype=np.int32),
                                 np.array([0, n_labels], dtype=np.int64), 0, depth, config)
    tree = tree_from_segments(perm, seg_ptr, config.branching_factor)
    logger.info("indexing: %d labels into %d leaf clusters, tree levels %s, took %.2f s",
                n_labels, seg_ptr.shape[0] - 1, tree.level_sizes(), time.perf_counter() - start)
    return tree


def split_levels(emb: sp.csr_matrix, perm: np.ndarray, seg_ptr: np.ndarray, first: int,
                 last: int, config: IndexerConfig, first_segment: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Run binary levels ``first .. last - 1`` of the 2-means tree on some of its segments.

    Every split depends only on its segment's labels (in their current order), the seed and the
    segment's global id, so a run over all segments and separate runs over groups of them (on
    other machines: :mod:`xmr.distributed`) give the same bits.

    Parameters
    ----------
    emb : csr (n, dim), the embeddings of the labels ``perm`` refers to
    perm : int32 (m,), label rows of ``emb`` grouped by segment (modified in place)
    seg_ptr : int64 (k + 1,), the segments of level ``first`` held in ``perm``
    first, last : binary levels to run (level 0 is the root)
    first_segment : global index, within level ``first``, of the first segment held

    Returns
    -------
    (perm, seg_ptr) at level ``last``: 2**(last - first) times as many segments
    """
    csc = None
    for level in range(first, last):
        n_seg = seg_ptr.shape[0] - 1
        # global id of this call's segment 0 at this level (each segment's random stream)
        seg_offset = (1 << level) - 1 + first_segment * (1 << (level - first))
        if (1 << level) < _WIDE_SEGMENTS:
            if csc is None:  # the transpose lets centroid sums run in parallel over features
                csc = emb.tocsc()
                csc.sort_indices()
            _split_wide(emb, csc, perm, seg_ptr, config.n_iter, config.seed, seg_offset)
        else:
            _split_many(emb, perm, seg_ptr, config.n_iter, config.seed, seg_offset)
        sizes = np.diff(seg_ptr)
        mids = seg_ptr[:-1] + (sizes + 1) // 2
        seg_ptr = np.concatenate([np.stack([seg_ptr[:-1], mids], axis=1).ravel(),
                                  seg_ptr[-1:]])
        logger.debug("k-means level %d: %d clusters", level + 1, 2 * n_seg)
    return perm, seg_ptr


def tree_from_segments(perm: np.ndarray, seg_ptr: np.ndarray, branching_factor: int) -> LabelTree:
    """The B-ary tree over the leaf segments of the 2-means tree (labels ``perm`` grouped by
    ``seg_ptr``)."""
    cluster_of_label = np.empty(perm.shape[0], dtype=np.int64)
    cluster_of_label[perm] = np.repeat(np.arange(seg_ptr.shape[0] - 1), np.diff(seg_ptr))
    return LabelTree.from_leaf_clusters(cluster_of_label, branching_factor)


def _split_many(emb: sp.csr_matrix, perm: np.ndarray, seg_ptr: np.ndarray, n_iter: int,
                seed: int, seg_offset: int) -> None:
    """Split every segment of a level in place, in parallel across segments."""
    dim = emb.shape[1]

    def scratch():
        return (np.zeros(dim, dtype=np.float32), np.zeros(dim, dtype=np.float32),
                np.zeros(dim, dtype=np.float32), np.zeros(dim, dtype=np.uint8),
                np.empty(dim, dtype=np.int64))

    parallel_for(_km.split_segments, seg_ptr.shape[0] - 1,
                 (emb.indptr, emb.indices, emb.data, perm, seg_ptr, n_iter, seed, seg_offset),
                 scratch=scratch)


def _split_wide(emb: sp.csr_matrix, csc: sp.csc_matrix, perm: np.ndarray, seg_ptr: np.ndarray,
                n_iter: int, seed: int, seg_offset: int) -> None:
    """Split the few large segments of a top level together, in place: scoring parallel over
    labels, centroid sums parallel over features (through the embedding's CSC transpose), so a
    top level with one or two segments still uses every thread. Results do not depend on the
    thread count."""
    n_labels, dim = emb.shape
    n = perm.shape[0]
    n_seg = seg_ptr.shape[0] - 1
    seg_of_pos = np.empty(n, dtype=np.int64)
    pos_of_label = np.full(n_labels, -1, dtype=np.int64)
    diffs = np.zeros((n_seg, dim), dtype=np.float32)
    sums = np.zeros((n_seg, 2, dim), dtype=np.float32)
    active = np.zeros(n_seg, dtype=np.uint8)
    side = np.full(n, 2, dtype=np.uint8)
    scores = np.empty(n, dtype=np.float64)
    buf = np.empty(n, dtype=np.float64)
    _km.wide_start(emb.indptr, emb.indices, emb.data, perm, seg_ptr, seed, seg_offset, diffs,
                   active, seg_of_pos, pos_of_label)
    for it in range(n_iter):  # a fixed number of rounds, each parallel inside
        parallel_for(_km.wide_scores, n, (emb.indptr, emb.indices, emb.data, perm, seg_of_pos,
                                          active, diffs, scores))
        if not _km.wide_assign(seg_ptr, scores, side, buf, active) or it + 1 == n_iter:
            break
        parallel_for(_km.wide_sums, dim, (csc.indptr, csc.indices, csc.data, pos_of_label,
                                          seg_of_pos, side, active, sums))
        _km.wide_directions(sums, diffs, active)
    _km.wide_finish(perm, seg_ptr, side)
