"""Train the one-vs-rest models of every tree level (the matcher and the ranker of XR-Linear)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp

from .._kernels import beam as _beam
from .._kernels import solver as _solver
from ..index.tree import LabelTree
from .config import PredictConfig, SolverConfig
from .layout import build_layout
from .postprocess import post_processor_code

logger = logging.getLogger(__name__)

_LOSS_CODES = {"l2-svm": _solver.LOSS_L2_SVM, "l1-svm": _solver.LOSS_L1_SVM,
               "logistic": _solver.LOSS_LOGISTIC}
# Levels with fewer parents than this split each parent's children over several jobs so that
# the top levels also keep every thread busy. A constant, so results never depend on threads.
_TARGET_JOBS = 64
# Most weight slots (before pruning) held at once; bounds training memory on huge label sets.
_MAX_SLOTS = 1 << 26

LevelWeights = tuple[np.ndarray, np.ndarray, np.ndarray]


def _csc_arrays(M: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """(column pointers int64, sorted row indices int32) of a binary matrix."""
    csc = sp.csc_matrix(M)
    csc.sort_indices()
    return csc.indptr.astype(np.int64), csc.indices.astype(np.int32)


def _make_jobs(cptr: np.ndarray, prow_ptr: np.ndarray, x_ptr: np.ndarray,
               prow_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group the children of each parent into jobs, most expensive first."""
    n_par = cptr.shape[0] - 1
    n_child = np.diff(cptr)
    groups = 1 if n_par >= _TARGET_JOBS else -(-_TARGET_JOBS // n_par)
    size = np.maximum(1, -(-n_child // groups))
    k = -(-n_child // size)
    job_parent = np.repeat(np.arange(n_par, dtype=np.int64), k)
    first_job = np.cumsum(k) - k
    offset = np.arange(job_parent.shape[0]) - np.repeat(first_job, k)
    start = cptr[job_parent] + offset * size[job_parent]
    end = np.minimum(start + size[job_parent], cptr[job_parent + 1])
    # cost ~ nnz of the parent's rows x children in the job
    row_nnz = np.diff(x_ptr)[prow_idx]
    nnz_cum = np.concatenate([[0], np.cumsum(row_nnz)])
    parent_nnz = nnz_cum[prow_ptr[1:]] - nnz_cum[prow_ptr[:-1]]
    cost = (parent_nnz[job_parent] + 1) * (end - start)
    order = np.argsort(-cost, kind="stable")
    return job_parent[order], start[order].astype(np.int64), end[order].astype(np.int64)


def _matcher_rows(X: sp.csr_matrix, tree: LabelTree, weights: list[LevelWeights],
                  biases: list[np.ndarray], bias: float, level: int,
                  predict: PredictConfig) -> sp.csr_matrix:
    """(n_rows, n_nodes(level)) matrix of the nodes the model trained so far retrieves."""
    partial = LabelTree(tree.child_ptr[:level],
                        np.arange(tree.level_sizes()[level], dtype=np.int32))
    layout = build_layout(partial, weights[:level], biases[:level], bias)
    n, k = X.shape[0], predict.beam_size
    labels = np.empty((n, k), dtype=np.int32)
    scores = np.empty((n, k), dtype=np.float32)
    _beam.beam_search_batch(X.indptr, X.indices, X.data, X.shape[1], layout.depth,
                            layout.level_start, layout.child_start, layout.chunk_row_ptr,
                            layout.row_feat, layout.row_entry_ptr, layout.entry_child,
                            layout.entry_val, layout.node_bias, layout.label_perm,
                            np.zeros(0, dtype=np.uint8), k, k,
                            post_processor_code(predict.post_processor), layout.max_fanout(),
                            labels, scores, numba.get_num_threads())
    valid = labels >= 0
    rows = np.repeat(np.arange(n), valid.sum(axis=1))
    M = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, labels[valid])),
                      shape=(n, tree.level_sizes()[level]))
    return M


def train_level(X: sp.csr_matrix, parent_rows: sp.spmatrix, targets: sp.csr_matrix,
                cptr: np.ndarray, cfg: SolverConfig, child_id_offset: int
                ) -> tuple[LevelWeights, np.ndarray]:
    """Train one level: one binary problem per child node, on its parent's rows.

    Parameters
    ----------
    X : csr (n_rows, n_features), kernel layout
    parent_rows : (n_rows, n_parents) binary, the rows each parent's children train on
    targets : csr (n_rows, n_children) binary, positive rows of each child
    cptr : int64 (n_parents + 1,), children range of each parent
    child_id_offset : global id of child 0 (per-child random streams)

    Returns
    -------
    (col_ptr int64, idx int32, val float32) CSC weights (n_features, n_children) and the bias
    weight of each child (float32).
    """
    n_children = int(cptr[-1])
    prow_ptr, prow_idx = _csc_arrays(parent_rows)
    pos_ptr, pos_idx = _csc_arrays(targets)
    job_parent, job_start, job_end = _make_jobs(cptr, prow_ptr, X.indptr, prow_idx)
    n_local = _solver.count_local_features(X.indptr, X.indices, X.shape[1], prow_ptr, prow_idx,
                                           job_parent, numba.get_num_threads())
    out_cnt = np.zeros(n_children, dtype=np.int64)
    out_bias = np.zeros(n_children, dtype=np.float32)
    slots_per_job = n_local * (job_end - job_start)
    batch_id = np.cumsum(slots_per_job) // _MAX_SLOTS
    pieces = []
    for b in np.unique(batch_id):  # a few batches at most: bounded memory, not a row loop
        jobs = np.flatnonzero(batch_id == b)
        counts = job_end[jobs] - job_start[jobs]
        children = (np.repeat(job_start[jobs], counts)
                    + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        caps = np.repeat(n_local[jobs], counts)
        child_off = np.zeros(n_children, dtype=np.int64)
        starts = np.cumsum(caps) - caps
        child_off[children] = starts
        total = int(caps.sum())
        buf_idx = np.empty(max(total, 1), dtype=np.int32)
        buf_val = np.empty(max(total, 1), dtype=np.float32)
        with numba.parallel_chunksize(1):  # jobs vary in cost: hand them out one by one
            _solver.train_jobs(
                X.indptr, X.indices, X.data, X.shape[1], prow_ptr, prow_idx, pos_ptr, pos_idx,
                job_parent[jobs], job_start[jobs], job_end[jobs], child_off, child_id_offset,
                _LOSS_CODES[cfg.loss], cfg.Cp, cfg.Cn, cfg.bias, cfg.eps, cfg.max_iter,
                cfg.threshold, cfg.max_nonzeros_per_label, cfg.seed,
                buf_idx, buf_val, out_cnt, out_bias, numba.get_num_threads())
        children = np.sort(children)
        cnt = out_cnt[children]
        dst = np.zeros(children.shape[0] + 1, dtype=np.int64)
        np.cumsum(cnt, out=dst[1:])
        idx = np.empty(int(dst[-1]), dtype=np.int32)
        val = np.empty(int(dst[-1]), dtype=np.float32)
        _solver.compact_columns(buf_idx, buf_val, child_off[children], cnt, dst, idx, val)
        pieces.append((children, cnt, idx, val))
        del buf_idx, buf_val
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
               progress: Callable[[str], None] | None = None
               ) -> tuple[list[LevelWeights], list[np.ndarray]]:
    """Train every level of ``tree``; returns per-level CSC weights and bias weights."""
    weights: list[LevelWeights] = []
    biases: list[np.ndarray] = []
    sizes = tree.level_sizes()
    n = X.shape[0]
    child_offset = 1
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
        w, b = train_level(X, parent_rows, targets, tree.child_ptr[level - 1], cfg, child_offset)
        weights.append(w)
        biases.append(b)
        child_offset += sizes[level]
        prev_targets = targets
        msg = (f"level {level}/{tree.depth}: {sizes[level]} nodes, {w[1].shape[0]} weights, "
               f"{time.perf_counter() - t0:.2f} s")
        logger.info(msg)
        if progress is not None:
            progress(msg)
    return weights, biases
