"""Train the one-vs-rest models of every tree level (the matcher and the ranker of XR-Linear)."""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from .._kernels import solver as _solver
from .._threads import job_bounds, parallel_for
from ..index.tree import LabelTree
from ..progress import JobProgress, ProgressCallback, report
from .config import PredictConfig, SolverConfig
from .layout import build_layout
from .postprocess import post_processor_code
from .search import beam_search

logger = logging.getLogger(__name__)

_LOSS_CODES = {"l2-svm": _solver.LOSS_L2_SVM, "l1-svm": _solver.LOSS_L1_SVM,
               "logistic": _solver.LOSS_LOGISTIC}
# Each level is cut into about this many jobs of similar cost (children of one parent grouped
# together), so that neither a top level with few parents nor a level whose popular parents hold
# most of the rows leaves threads idle behind one long job. A constant, so the jobs never depend
# on the thread count (the results do not depend on the jobs either: every child has its own
# random stream and the same rows).
_TARGET_JOBS = 64
# Most weight slots (before pruning) held at once (8 bytes each, every page touched): bounds
# training memory. 2^22 (32 MB): on a 50K-label problem (benchmarks' shape-base, 2 threads) peak
# RSS ~435 MB vs 639 MB with 2^25, the same model, no measurable time difference
# (benchmarks/slot_budget.py): leaves keep a few dozen weights (p99 195), so the per-child cap
# of 256 below rarely overflows.
_MAX_SLOTS = 1 << 22


class _SlotBuffer:
    """Output slots for the solver kernel, reused by every batch and level of one training run.

    The pages are touched once, from one thread, when the buffer grows: threads that first-touch
    fresh pages inside the parallel kernel serialize on the kernel's page-fault lock, which cost
    a third of the 2-thread speed-up (measured on 100K labels).
    """

    def __init__(self) -> None:
        self.idx = np.zeros(0, dtype=np.int32)
        self.val = np.zeros(0, dtype=np.float32)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = max(n, 1)
        if self.idx.shape[0] < n:
            self.idx = np.empty(n, dtype=np.int32)
            self.val = np.empty(n, dtype=np.float32)
            self.idx.fill(0)
            self.val.fill(0)
        return self.idx[:n], self.val[:n]

LevelWeights = tuple[np.ndarray, np.ndarray, np.ndarray]


def _csc_arrays(M: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """(column pointers int64, sorted row indices int32) of a binary matrix."""
    csc = sp.csc_matrix(M)
    csc.sort_indices()
    return csc.indptr.astype(np.int64), csc.indices.astype(np.int32)


def _make_jobs(cptr: np.ndarray, prow_ptr: np.ndarray, x_ptr: np.ndarray,
               prow_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group the children of each parent into jobs, most expensive first: (parent, first
    child, end child, estimated cost) of each job.

    A job's cost is ~ (nnz of its parent's rows) x (its children). A parent costing more than
    1/_TARGET_JOBS of the level is split into that many shares of its children: each share
    gathers the parent's rows again (one pass over their nonzeros), which is small next to
    solving its children, and on skewed data (Zipf label popularity) one popular parent would
    otherwise run alone while the other threads wait.
    """
    n_par = cptr.shape[0] - 1
    n_child = np.diff(cptr)
    row_nnz = np.diff(x_ptr)[prow_idx]
    nnz_cum = np.concatenate([[0], np.cumsum(row_nnz)])
    parent_nnz = nnz_cum[prow_ptr[1:]] - nnz_cum[prow_ptr[:-1]]
    parent_cost = (parent_nnz + 1) * n_child
    share = max(float(parent_cost.sum()) / _TARGET_JOBS, 1.0)
    groups = np.clip(np.ceil(parent_cost / share), 1, np.maximum(n_child, 1)).astype(np.int64)
    size = np.maximum(1, -(-n_child // groups))
    k = np.where(n_child > 0, -(-n_child // size), 0)
    job_parent = np.repeat(np.arange(n_par, dtype=np.int64), k)
    first_job = np.cumsum(k) - k
    offset = np.arange(job_parent.shape[0]) - np.repeat(first_job, k)
    start = cptr[job_parent] + offset * size[job_parent]
    end = np.minimum(start + size[job_parent], cptr[job_parent + 1])
    cost = (parent_nnz[job_parent] + 1) * (end - start)
    order = np.argsort(-cost, kind="stable")
    return (job_parent[order], start[order].astype(np.int64), end[order].astype(np.int64),
            cost[order].astype(np.float64))


def _matcher_rows(X: sp.csr_matrix, tree: LabelTree, weights: list[LevelWeights],
                  biases: list[np.ndarray], bias: float, level: int,
                  predict: PredictConfig) -> sp.csr_matrix:
    """(n_rows, n_nodes(level)) matrix of the nodes the model trained so far retrieves."""
    partial = LabelTree(tree.child_ptr[:level],
                        np.arange(tree.level_sizes()[level], dtype=np.int32))
    layout = build_layout(partial, weights[:level], biases[:level], bias, X.shape[1])
    n, k = X.shape[0], predict.beam_size
    labels = beam_search(layout, X, np.zeros(0, dtype=np.uint8), k, k,
                         post_processor_code(predict.post_processor)).indices
    valid = labels >= 0
    rows = np.repeat(np.arange(n), valid.sum(axis=1))
    M = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, labels[valid])),
                      shape=(n, tree.level_sizes()[level]))
    return M


def _children_of_jobs(job_start: np.ndarray, job_end: np.ndarray) -> np.ndarray:
    counts = job_end - job_start
    return (np.repeat(job_start, counts) + np.arange(counts.sum())
            - np.repeat(np.cumsum(counts) - counts, counts))


def _run_jobs(X, prow_ptr, prow_idx, pos_ptr, pos_idx, jobs, caps, n_children, cfg,
              child_id_offset, out_cnt, out_bias, pieces, slots: _SlotBuffer,
              tracker: JobProgress | None = None) -> None:
    """Train ``jobs`` (parent, child start, child end) with per-child slot sizes ``caps``
    (aligned with the jobs' children), in batches of bounded memory. Appends
    ``(children, counts, idx, val)`` of the children that fit to ``pieces``; children with more
    surviving weights than their slot are left with ``out_cnt == -1``."""
    job_parent, job_start, job_end = jobs[:3]
    counts = job_end - job_start
    slot_cum = np.cumsum(np.add.reduceat(caps, np.cumsum(counts) - counts)
                         if counts.size else np.zeros(0, dtype=np.int64))
    batch_id = (slot_cum - 1) // _MAX_SLOTS if slot_cum.size else slot_cum
    first_child = np.cumsum(counts) - counts
    n_features = X.shape[1]

    def job_scratch():
        return (np.full(n_features, -1, dtype=np.int64), np.empty(n_features, dtype=np.int32),
                np.empty(n_features, dtype=np.int32))

    for b in np.unique(batch_id):  # a few batches at most: bounded memory, not a row loop
        jobs_b = np.flatnonzero(batch_id == b)
        children = _children_of_jobs(job_start[jobs_b], job_end[jobs_b])
        # positions of these jobs' children in ``caps`` (same pattern as their child ids)
        sel = _children_of_jobs(first_child[jobs_b], first_child[jobs_b] + counts[jobs_b])
        cap = np.zeros(n_children, dtype=np.int64)
        off = np.zeros(n_children, dtype=np.int64)
        cap[children] = caps[sel]
        off[children] = np.cumsum(caps[sel]) - caps[sel]
        total = int(caps[sel].sum())
        buf_idx, buf_val = slots.get(total)
        args = (X.indptr, X.indices, X.data, prow_ptr, prow_idx, pos_ptr, pos_idx,
                job_parent[jobs_b], job_start[jobs_b], job_end[jobs_b], off, cap,
                child_id_offset, _LOSS_CODES[cfg.loss], cfg.Cp, cfg.Cn, cfg.bias, cfg.eps,
                cfg.max_iter, cfg.threshold, cfg.max_nonzeros_per_label, cfg.seed,
                buf_idx, buf_val, out_cnt, out_bias)

        # jobs vary in cost and come most expensive first: hand them out one by one
        first_job = int(jobs_b[0])  # a batch's jobs are consecutive

        def jobs_done(lo: int, hi: int, first: int = first_job) -> None:
            tracker.jobs_done(lo, hi, first)

        parallel_for(_solver.train_jobs, jobs_b.shape[0], args, scratch=job_scratch,
                     bounds=job_bounds(jobs_b.shape[0]),
                     on_range=jobs_done if tracker is not None else None)
        children = np.sort(children)
        children = children[out_cnt[children] >= 0]
        cnt = out_cnt[children]
        dst = np.zeros(children.shape[0] + 1, dtype=np.int64)
        np.cumsum(cnt, out=dst[1:])
        idx = np.empty(int(dst[-1]), dtype=np.int32)
        val = np.empty(int(dst[-1]), dtype=np.float32)
        parallel_for(_solver.compact_columns, children.shape[0],
                     (buf_idx, buf_val, off[children], cnt, dst, idx, val))
        pieces.append((children, cnt, idx, val))


def train_level(X: sp.csr_matrix, parent_rows: sp.spmatrix, targets: sp.csr_matrix,
                cptr: np.ndarray, cfg: SolverConfig, child_id_offset: int,
                slots: _SlotBuffer | None = None,
                level_size: int | None = None, progress: ProgressCallback | None = None,
                stage: str = "level") -> tuple[LevelWeights, np.ndarray]:
    """Train one level: one binary problem per child node, on its parent's rows.

    Parameters
    ----------
    X : csr (n_rows, n_features), kernel layout
    parent_rows : (n_rows, n_parents) binary, the rows each parent's children train on
    targets : csr (n_rows, n_children) binary, positive rows of each child
    cptr : int64 (n_parents + 1,), children range of each parent
    child_id_offset : global id of child 0 (per-child random streams)
    slots : reusable output buffer (one per training run)
    level_size : nodes of the whole level when these children are a part of it (a distributed
        job): the slot size per child is set by the whole level, so that a job of a few
        children does not allocate (and page in) a full slot for each of them
    progress : callback receiving the level's advance (jobs done, time left; see
        ``xmr.progress``) while it trains; the final report is the caller's
    stage : name of the level in those reports

    Returns
    -------
    (col_ptr int64, idx int32, val float32) CSC weights (n_features, n_children) and the bias
    weight of each child (float32).
    """
    slots = slots or _SlotBuffer()
    n_children = int(cptr[-1])
    prow_ptr, prow_idx = _csc_arrays(parent_rows)
    pos_ptr, pos_idx = _csc_arrays(targets)
    jobs = _make_jobs(cptr, prow_ptr, X.indptr, prow_idx)
    job_parent, job_start, job_end, job_cost = jobs
    tracker = JobProgress(progress, stage, job_cost) if progress is not None else None
    n_local = np.zeros(job_parent.shape[0], dtype=np.int64)
    parallel_for(_solver.count_local_features, job_parent.shape[0],
                 (X.indptr, X.indices, prow_ptr, prow_idx, job_parent, n_local),
                 scratch=lambda: (np.full(X.shape[1], -1, dtype=np.int64),))
    counts = job_end - job_start
    full = np.repeat(n_local, counts)
    # A child's slot holds at most its parent's local features, but pruning keeps far fewer:
    # cap slots so that a level needs ~_MAX_SLOTS in all; children that overflow are solved
    # again with a full slot (same result: every child's solve is independent).
    cap = np.minimum(full, max(256, _MAX_SLOTS // max(level_size or n_children, 1)))
    out_cnt = np.zeros(n_children, dtype=np.int64)
    out_bias = np.zeros(n_children, dtype=np.float32)
    pieces: list = []
    _run_jobs(X, prow_ptr, prow_idx, pos_ptr, pos_idx, jobs, cap, n_children, cfg,
              child_id_offset, out_cnt, out_bias, pieces, slots, tracker)
    over = np.flatnonzero(out_cnt < 0)
    if over.size:
        logger.debug("%d of %d nodes need a larger weight slot; solving them again",
                     over.size, n_children)
        parent_of = np.repeat(np.arange(cptr.shape[0] - 1), np.diff(cptr))[over]
        job_of_parent = np.zeros(cptr.shape[0] - 1, dtype=np.int64)
        job_of_parent[job_parent] = np.arange(job_parent.shape[0])  # any job of that parent
        retry = (parent_of.astype(np.int64), over.astype(np.int64), over.astype(np.int64) + 1)
        _run_jobs(X, prow_ptr, prow_idx, pos_ptr, pos_idx, retry,
                  n_local[job_of_parent[parent_of]], n_children, cfg, child_id_offset,
                  out_cnt, out_bias, pieces, slots)
    col_ptr = np.zeros(n_children + 1, dtype=np.int64)
    np.cumsum(out_cnt, out=col_ptr[1:])
    if len(pieces) == 1 and pieces[0][0].shape[0] == n_children:
        return (col_ptr, pieces[0][2], pieces[0][3]), out_bias
    idx = np.empty(int(col_ptr[-1]), dtype=np.int32)
    val = np.empty(int(col_ptr[-1]), dtype=np.float32)
    for children, cnt, pidx, pval in pieces:
        first = np.cumsum(cnt) - cnt
        dest = np.repeat(col_ptr[children], cnt) + np.arange(cnt.sum()) - np.repeat(first, cnt)
        idx[dest] = pidx
        val[dest] = pval
    return (col_ptr, idx, val), out_bias


def train_tree(X: sp.csr_matrix, Y: sp.csr_matrix, tree: LabelTree, cfg: SolverConfig,
               predict: PredictConfig,
               progress: ProgressCallback | None = None
               ) -> tuple[list[LevelWeights], list[np.ndarray]]:
    """Train every level of ``tree``; returns per-level CSC weights and bias weights."""
    weights: list[LevelWeights] = []
    biases: list[np.ndarray] = []
    sizes = tree.level_sizes()
    n = X.shape[0]
    child_offset = 1
    slots = _SlotBuffer()
    prev_targets = sp.csr_matrix((np.ones(n, dtype=np.float32),
                                  (np.arange(n), np.zeros(n, dtype=np.int64))), shape=(n, 1))
    for level in range(1, tree.depth + 1):
        t0 = time.perf_counter()
        targets = tree.level_targets(Y, level)
        if level == 1 or cfg.negatives == "tfn":
            parent_rows = prev_targets
        else:
            matched = _matcher_rows(X, tree, weights, biases, cfg.bias, level - 1, predict)
            parent_rows = matched if cfg.negatives == "man" else (matched + prev_targets)
        stage = f"level {level}/{tree.depth}"
        w, b = train_level(X, parent_rows, targets, tree.child_ptr[level - 1], cfg, child_offset,
                           slots, progress=progress, stage=stage)
        weights.append(w)
        biases.append(b)
        child_offset += sizes[level]
        prev_targets = targets
        seconds = time.perf_counter() - t0
        report(progress, logger, f"{stage}: {sizes[level]} nodes, {w[1].shape[0]} weights, "
               f"{seconds:.2f} s", stage, seconds)
    return weights, biases
