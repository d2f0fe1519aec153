"""The jobs that training hands to workers, and how they are cut.

PECOS's split of XR-Linear training: the top of the label tree (the meta-tree) is built on the
client; every sub-tree below it is a job. A *clustering job* finishes the binary 2-means tree
under one segment of labels; a *sub-tree job* trains a range of nodes and every level under
them; a *level job* trains a range of nodes of one level above the sub-tree roots. Each depends
only on its own inputs, the seeds and global node ids, so the model is the same bits whoever
runs the jobs and however they are cut (see :func:`xmr.index.kmeans.split_levels` and the
per-child random streams of the solver).

Everything here is plain numpy/scipy over arrays a job receives: no Dask. The functions run on
workers; they must stay importable without the optional ``dask`` extra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..index.config import IndexerConfig
from ..index.kmeans import split_levels
from ..sparse import as_csr, l2_normalize_rows
from .config import SolverConfig
from .train import LevelWeights, _SlotBuffer, train_level


# -- clustering jobs ---------------------------------------------------------------------------
def pifa_rows(X: sp.csr_matrix, Y_csc: sp.csc_matrix, y_row_value: np.ndarray,
              labels: np.ndarray) -> sp.csr_matrix:
    """PIFA embeddings of ``labels`` only, the same bits as those rows of
    :func:`xmr.index.embed.pifa` (each row is a sum over the label's rows in row order, and
    ``y_row_value`` holds the row-normalized label values of every row).

    Parameters
    ----------
    X : csr (n_rows, n_features), Y_csc : csc (n_rows, n_labels), binary
    y_row_value : float32 (n_rows,), the value of every entry of that row of
        ``l2_normalize_rows(Y)``
    labels : int (m,)
    """
    sub = Y_csc[:, labels]
    sub.sort_indices()
    Yn_t = sp.csr_matrix((y_row_value[sub.indices], sub.indices, sub.indptr),
                         shape=(len(labels), X.shape[0]))
    return l2_normalize_rows((Yn_t @ X).tocsr())


def cluster_segment(emb_rows: sp.csr_matrix | None, level: int, segment: int, depth: int,
                    config: IndexerConfig, X: sp.csr_matrix | None = None,
                    Y_csc: sp.csc_matrix | None = None, y_row_value: np.ndarray | None = None,
                    labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Finish the binary 2-means tree under one segment of the meta-tree.

    Parameters
    ----------
    emb_rows : csr (m, dim), float32, the segment's label embeddings in the segment's order;
        None: compute their PIFA here from ``X``, ``Y_csc``, ``y_row_value`` and ``labels``
        (data the worker already holds, so nothing but label ids travels)
    level : binary level of the segment (its global index at that level is ``segment``)
    depth : binary depth of the whole tree

    Returns
    -------
    order : int32 (m,), the segment's positions in leaf-cluster order
    seg_ptr : int64 (2**(depth - level) + 1,), leaf clusters within ``order``
    seconds : float, time spent
    """
    t0 = time.perf_counter()
    if emb_rows is None:
        emb_rows = pifa_rows(X, Y_csc, y_row_value, labels)
    emb_rows = as_csr(emb_rows, name="label embedding")
    m = emb_rows.shape[0]
    order, seg_ptr = split_levels(emb_rows, np.arange(m, dtype=np.int32),
                                  np.array([0, m], dtype=np.int64), level, depth, config,
                                  first_segment=segment)
    return order, seg_ptr, time.perf_counter() - t0


# -- training jobs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainJob:
    """Train the nodes ``[lo, hi)`` of level ``level`` and, for a sub-tree job, every level
    below them.

    With teacher-forced negatives a node trains on its parent's positive rows, so the jobs of
    all levels are independent of each other: a *level job* trains one range of one level, a
    *sub-tree job* a range and all of its descendants.

    Attributes
    ----------
    level : int >= 1, the first level trained
    parent_labels : int32 (p,), label ids under the parents of ``[lo, hi)`` (empty when the
        parent is the root: every row)
    parent_of_label : int32 (p,), local parent index of each of ``parent_labels``
    ranges : int64 (n_levels, 2), the job's node range at each level it trains
    child_ptrs : tuple of int64 arrays; ``child_ptrs[0]``: children ``[lo, hi)`` of each parent
        (rebased to 0); ``child_ptrs[i]``: children of the job's nodes of level ``level + i - 1``
    labels : int32, label ids under ``[lo, hi)`` in slot order (a sub-tree job), or of the
        last level's nodes' labels (a level job)
    node_of_label : int32, local node of the last level trained above each of ``labels``
    child_id_offsets : int64 (n_levels,), global id of each level's first trained node
    level_sizes : int64 (n_levels,), nodes of each trained level in the whole tree
    cost : float, estimated work
    """

    level: int
    parent_labels: np.ndarray
    parent_of_label: np.ndarray
    ranges: np.ndarray
    child_ptrs: tuple[np.ndarray, ...]
    labels: np.ndarray
    node_of_label: np.ndarray
    child_id_offsets: np.ndarray
    level_sizes: np.ndarray
    cost: float


@dataclass(frozen=True)
class TrainResult:
    """The weights a job trained: per level from ``level`` down, the first node (``los``), and
    CSC weights and biases of its nodes."""

    level: int
    los: list[int]
    weights: list[LevelWeights]
    biases: list[np.ndarray]
    seconds: float


def node_work(child_ptr: tuple[np.ndarray, ...], parent_nnz: list[np.ndarray]) -> list[np.ndarray]:
    """Training work of every node: the nonzeros of its parent's rows (the solver passes over
    them), per level 1 .. depth. ``parent_nnz[l]``: nonzeros under each node of level ``l``."""
    return [parent_nnz[level - 1][np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr))]
            for level, ptr in enumerate(child_ptr, start=1)]


def plan_jobs(child_ptr: tuple[np.ndarray, ...], label_perm: np.ndarray, work: list[np.ndarray],
              n_jobs: int) -> list[TrainJob]:
    """Cut the training of every level into about ``n_jobs`` jobs of similar cost.

    The sub-tree roots are the nodes of the first level with at least ``n_jobs`` nodes; the
    levels above it are cut into level jobs of about the same cost.

    Parameters
    ----------
    child_ptr, label_perm : the tree's arrays (:class:`~xmr.index.tree.LabelTree`)
    work : per level 1 .. depth, float (n_nodes,), the work of training each node
        (:func:`node_work`)
    n_jobs : int

    Returns
    -------
    Jobs, most expensive first.
    """
    depth = len(child_ptr)
    sizes = [1] + [int(p[-1]) for p in child_ptr]
    first_id = np.cumsum([1] + sizes[1:])[:-1]  # global id of node 0 of levels 1 .. depth
    root = next((lv for lv in range(1, depth + 1) if sizes[lv] >= n_jobs), depth)
    # work under each node of the root level (itself and every descendant)
    below = [None] * (depth + 1)
    below[depth] = work[depth - 1].astype(np.float64)
    for level in range(depth, root, -1):
        parent = np.repeat(np.arange(sizes[level - 1]), np.diff(child_ptr[level - 1]))
        below[level - 1] = work[level - 2] + np.bincount(parent, below[level],
                                                         minlength=sizes[level - 1])
    total = float(below[root].sum() + sum(w.sum() for w in work[:root - 1]))
    share = max(total / max(n_jobs, 1), 1e-9)
    slots_of = _slot_ranges(child_ptr)  # leaf-slot range of every node, per level
    jobs = []
    for level in range(1, root + 1):  # level jobs above the roots, then the sub-tree jobs
        cost = below[root] if level == root else work[level - 1].astype(np.float64)
        pieces = max(1, int(np.ceil(cost.sum() / share))) if level < root else n_jobs
        for lo, hi in _cut(cost, pieces):
            jobs.append(_job(child_ptr, label_perm, slots_of, first_id, level, lo, hi,
                             descend=level == root, cost=float(cost[lo:hi].sum())))
    jobs.sort(key=lambda job: -job.cost)
    return jobs


def _cut(cost: np.ndarray, pieces: int) -> list[tuple[int, int]]:
    """Contiguous ranges of ``cost`` of about equal sums (at most ``pieces``, none empty)."""
    cum = np.concatenate([[0.0], np.cumsum(cost, dtype=np.float64)])
    total = cum[-1] if cum[-1] > 0 else 1.0
    cuts = np.searchsorted(cum, total * np.arange(1, pieces) / pieces, side="left")
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 0, cost.shape[0]), [cost.shape[0]]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _slot_ranges(child_ptr: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Per level 0 .. depth, int64 (n_nodes + 1,): node j covers leaf slots
    ``[r[j], r[j + 1])`` (descendants of consecutive nodes are consecutive)."""
    depth = len(child_ptr)
    out = [None] * (depth + 1)
    out[depth] = np.arange(int(child_ptr[-1][-1]) + 1, dtype=np.int64)
    for level in range(depth - 1, -1, -1):
        out[level] = out[level + 1][child_ptr[level]]
    return out


def _job(child_ptr, label_perm, slots_of, first_id, level, lo, hi, *, descend, cost) -> TrainJob:
    depth = len(child_ptr)
    up = child_ptr[level - 1]
    p_lo = int(np.searchsorted(up, lo, side="right") - 1)
    p_hi = int(np.searchsorted(up, hi, side="left"))
    ptr0 = np.clip(up[p_lo:p_hi + 1], lo, hi) - lo
    if level == 1:  # the root's rows: every row
        parent_labels = parent_of = np.zeros(0, dtype=np.int32)
    else:
        s_lo, s_hi = slots_of[level - 1][p_lo], slots_of[level - 1][p_hi]
        parent_labels = label_perm[s_lo:s_hi]
        parent_of = (np.repeat(np.arange(p_hi - p_lo), np.diff(slots_of[level - 1][p_lo:p_hi + 1]))
                     .astype(np.int32))
    ranges, ptrs = [(lo, hi)], [ptr0.astype(np.int64)]
    last = depth if descend else level
    for lv in range(level, last):
        a, b = ranges[-1]
        ptr = child_ptr[lv][a:b + 1]
        ptrs.append((ptr - ptr[0]).astype(np.int64))
        ranges.append((int(ptr[0]), int(ptr[-1])))
    a, b = ranges[-1]
    s_lo, s_hi = slots_of[last][a], slots_of[last][b]
    node_of = np.repeat(np.arange(b - a), np.diff(slots_of[last][a:b + 1])).astype(np.int32)
    offsets = np.array([first_id[lv - 1] + ranges[i][0]
                        for i, lv in enumerate(range(level, last + 1))], dtype=np.int64)
    return TrainJob(level, np.ascontiguousarray(parent_labels, dtype=np.int32), parent_of,
                    np.array(ranges, dtype=np.int64), tuple(ptrs),
                    np.ascontiguousarray(label_perm[s_lo:s_hi], dtype=np.int32), node_of,
                    offsets, np.array([int(child_ptr[lv - 1][-1]) for lv in range(level, last + 1)],
                                      dtype=np.int64), cost)


def _binary(rows: sp.csr_matrix, node_of: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    """(n_rows, n_nodes) binary: a row is positive for a node when one of its labels is."""
    out = sp.csr_matrix((np.ones(rows.nnz, dtype=np.float32),
                         node_of[rows.indices].astype(np.int32), rows.indptr.astype(np.int64)),
                        shape=(rows.shape[0], n_nodes))
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


def train_job(X: sp.csr_matrix, Y_csc: sp.csc_matrix, job: TrainJob,
              config: SolverConfig) -> TrainResult:
    """Train a job's nodes (teacher-forced negatives: a node's rows are its parent's positive
    rows), as :func:`xmr.linear.train.train_tree` trains them.

    Parameters
    ----------
    X : csr (n_rows, n_features), float32, rows as the model sees them (normalized)
    Y_csc : csc (n_rows, n_labels), binary labels
    job : TrainJob
    config : SolverConfig
    """
    t0 = time.perf_counter()
    n = X.shape[0]
    n_parents = job.child_ptrs[0].shape[0] - 1
    if job.level == 1:
        parents = sp.csr_matrix((np.ones(n, dtype=np.float32),
                                 (np.arange(n), np.zeros(n, dtype=np.int64))), shape=(n, 1))
    else:
        parents = _binary(Y_csc[:, job.parent_labels].tocsr(), job.parent_of_label, n_parents)
    sub = Y_csc[:, job.labels].tocsr()  # columns in slot order
    # targets of every trained level, from the last one up
    n_levels = job.ranges.shape[0]
    node = job.node_of_label.astype(np.int64)
    targets: list[sp.csr_matrix] = [None] * n_levels  # type: ignore[list-item]
    for i in range(n_levels - 1, -1, -1):
        targets[i] = _binary(sub, node, int(job.ranges[i, 1] - job.ranges[i, 0]))
        if i:
            ptr = job.child_ptrs[i]
            node = np.repeat(np.arange(ptr.shape[0] - 1, dtype=np.int64), np.diff(ptr))[node]
    slots = _SlotBuffer()
    weights, biases = [], []
    for i in range(n_levels):
        w, b = train_level(X, parents if i == 0 else targets[i - 1], targets[i],
                           job.child_ptrs[i], config, int(job.child_id_offsets[i]), slots,
                           level_size=int(job.level_sizes[i]))
        weights.append(w)
        biases.append(b)
    return TrainResult(job.level, [int(r) for r in job.ranges[:, 0]], weights, biases,
                       time.perf_counter() - t0)


def assemble_level(pieces: list[tuple[LevelWeights, np.ndarray]]) -> tuple[LevelWeights,
                                                                             np.ndarray]:
    """Concatenate the weights of consecutive node ranges of one level (in node order)."""
    col_ptrs = [pieces[0][0][0]]
    shift = int(pieces[0][0][0][-1])
    for (ptr, _, _), _bias in pieces[1:]:
        col_ptrs.append(ptr[1:] + shift)
        shift += int(ptr[-1])
    col_ptr = np.concatenate(col_ptrs).astype(np.int64)
    idx = np.concatenate([w[1] for w, _ in pieces]).astype(np.int32, copy=False)
    val = np.concatenate([w[2] for w, _ in pieces]).astype(np.float32, copy=False)
    bias = np.concatenate([b for _, b in pieces]).astype(np.float32, copy=False)
    return (col_ptr, idx, val), bias
