"""XR-Linear training split into jobs that many workers run (PECOS's distributed recipe).

1. **Meta-tree** (client): the top binary 2-means levels, down to at least
   ``4 x workers`` segments (and at least the levels split jointly, see
   :mod:`xmr.index.kmeans`).
2. **Clustering jobs** (workers): each meta segment's 2-means tree down to the leaf clusters
   (the workers compute their segment's PIFA rows from the data they hold); the client then
   builds the B-ary tree, as single-machine indexing does.
3. **Training jobs** (workers): with teacher-forced negatives every node trains on its parent's
   positive rows, so every level can be trained at once. The nodes of the first level with at
   least ``4 x workers`` nodes are the sub-tree roots: they are cut into about ``4 x workers``
   ranges of similar cost (the nonzeros their training passes over) and each *sub-tree job*
   trains a range and every level under it; the few levels above are cut into *level jobs* of
   about the same cost. The client only plans and assembles.

Data placement: the rows ``X`` and labels ``Y`` are scattered once to every worker; a job carries
label ids and node ranges. Only teacher-forced negatives (``negatives="tfn"``, the default)
split this way: matcher-aware negatives need the whole model above a level before training it.

The model is the same bits as :meth:`XLinearModel.fit` on one machine with the same config,
whatever the number of workers (tested).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..distributed.executor import LocalExecutor
from ..errors import ConfigError
from ..index.config import IndexerConfig
from ..index.embed import pifa
from ..index.kmeans import binary_depth, split_levels, tree_from_segments
from ..index.tree import LabelTree
from ..progress import Progress, ProgressCallback
from ..progress import report as report_progress
from ..sparse import as_csr, l2_normalize_rows
from .config import XLinearConfig
from .jobs import assemble_level, cluster_segment, node_work, plan_jobs, train_job
from .train import LevelWeights

logger = logging.getLogger(__name__)

#: jobs per worker thread: enough to balance uneven jobs and to lose little to a dead worker
JOBS_PER_SLOT = 4


@dataclass
class DistributedReport:
    """What a distributed run did: stage times (s) and every job's own time (for schedules)."""

    stages: dict[str, float] = field(default_factory=dict)
    cluster_jobs: list[float] = field(default_factory=list)
    train_jobs: list[float] = field(default_factory=list)
    meta_levels: int = 0
    slots: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"stages": {k: round(v, 3) for k, v in self.stages.items()},
                "cluster_jobs": [round(s, 4) for s in self.cluster_jobs],
                "train_jobs": [round(s, 4) for s in self.train_jobs],
                "meta_levels": self.meta_levels, "slots": self.slots}


def _counter(progress: ProgressCallback | None, what: str, total: int, t0: float
             ) -> Callable[[int, Any], None]:
    """on_done of the executor: one line per finished job (logged and sent to ``progress``
    with the job count, elapsed seconds and time left)."""
    done = [0]

    def on_done(_i: int, _result: Any) -> None:
        done[0] += 1
        elapsed = time.perf_counter() - t0
        text = f"{what}: {done[0]}/{total} jobs done, {elapsed:.1f} s"
        logger.info(text)
        if progress is not None:
            progress(Progress(text, what, done[0], total, "jobs", elapsed,
                              elapsed * (total - done[0]) / done[0]))

    return on_done


def cluster(emb: sp.csr_matrix, config: XLinearConfig, executor: Any, slots: int,
            progress: ProgressCallback | None, report: DistributedReport,
            pifa_data: tuple | None = None) -> LabelTree:
    """Hierarchical balanced 2-means with the meta-tree here and its segments as jobs."""
    ic = config.indexer
    emb = as_csr(emb, name="label embedding")  # as single-machine indexing reads it
    n_labels = emb.shape[0]
    if n_labels <= ic.max_leaf_size:
        return LabelTree.flat(n_labels)
    depth = binary_depth(n_labels, ic.max_leaf_size)
    t0 = time.perf_counter()
    # at least 3 levels here (the jointly split ones), and 4 segments per worker thread
    meta = min(depth, max(3, int(np.ceil(np.log2(JOBS_PER_SLOT * slots)))))
    perm, seg_ptr = split_levels(emb, np.arange(n_labels, dtype=np.int32),
                                 np.array([0, n_labels], dtype=np.int64), 0, meta, ic)
    report.stages["meta-tree clustering"] = time.perf_counter() - t0
    if meta < depth:
        t1 = time.perf_counter()
        n_seg = seg_ptr.shape[0] - 1
        if pifa_data is not None:  # workers compute their rows of PIFA: only label ids travel
            jobs = [(None, meta, j, depth, ic, *pifa_data, perm[seg_ptr[j]:seg_ptr[j + 1]])
                    for j in range(n_seg)]
        else:
            jobs = [(emb[perm[seg_ptr[j]:seg_ptr[j + 1]]], meta, j, depth, ic)
                    for j in range(n_seg)]
        seg_nnz = np.diff(emb.indptr)[perm]
        seg_cost = np.add.reduceat(seg_nnz, seg_ptr[:-1]) if seg_nnz.size else seg_nnz
        order = np.argsort(-seg_cost, kind="stable").tolist()  # most nonzeros first
        results = executor.run(cluster_segment, [jobs[j] for j in order], name="cluster",
                               on_done=_counter(progress, "sub-tree clustering", n_seg, t1))
        pieces_perm, pieces_ptr = [None] * n_seg, [None] * n_seg
        for j, (local_order, local_ptr, seconds) in zip(order, results, strict=True):
            pieces_perm[j] = perm[seg_ptr[j]:seg_ptr[j + 1]][local_order]
            pieces_ptr[j] = local_ptr[1:] + seg_ptr[j]
            report.cluster_jobs.append(seconds)
        perm = np.concatenate(pieces_perm).astype(np.int32)
        seg_ptr = np.concatenate([[0]] + pieces_ptr).astype(np.int64)
        report.stages["sub-tree clustering"] = time.perf_counter() - t1
    tree = tree_from_segments(perm, seg_ptr, ic.branching_factor)
    report_progress(progress, logger, f"indexing: {n_labels} labels, levels "
                    f"{tree.level_sizes()}, meta-tree {1 << meta} segments, "
                    f"{time.perf_counter() - t0:.2f} s")
    return tree


def train(X: sp.csr_matrix, Y: sp.csr_matrix, tree: LabelTree, config: XLinearConfig,
          executor: Any, slots: int, shared: dict[str, Any],
          progress: ProgressCallback | None, report: DistributedReport
          ) -> tuple[list[LevelWeights], list[np.ndarray]]:
    """Every level of ``tree``, as level jobs and sub-tree jobs (all independent)."""
    depth = tree.depth
    sizes = tree.level_sizes()
    t0 = time.perf_counter()
    row_nnz = np.diff(X.indptr).astype(np.float64) + 1.0
    under = [np.array([row_nnz.sum()])] + [
        np.asarray(tree.level_targets(Y, level).T @ row_nnz).ravel() for level in range(1, depth)]
    jobs = plan_jobs(tree.child_ptr, tree.label_perm, node_work(tree.child_ptr, under),
                     JOBS_PER_SLOT * slots)
    report.meta_levels = max(job.level for job in jobs) - 1  # levels cut into level jobs
    report.stages["plan jobs"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    results = executor.run(train_job,
                           [(shared["X"], shared["Y_csc"], job, config.solver) for job in jobs],
                           name="train", on_done=_counter(progress, "training", len(jobs), t1))
    report.train_jobs = [r.seconds for r in results]
    report.stages["training jobs"] = time.perf_counter() - t1
    weights: list[LevelWeights] = []
    biases: list[np.ndarray] = []
    for level in range(1, depth + 1):
        pieces = sorted((r.los[level - r.level], r.weights[level - r.level],
                         r.biases[level - r.level]) for r in results
                        if r.level <= level < r.level + len(r.los))
        w, b = assemble_level([(piece[1], piece[2]) for piece in pieces])
        weights.append(w)
        biases.append(b)
        report_progress(progress, logger, f"level {level}/{depth}: {sizes[level]} nodes, "
                        f"{w[1].shape[0]} weights")
    return weights, biases


def fit_tree(X: sp.csr_matrix, Y: sp.csr_matrix, config: XLinearConfig, executor: Any = None,
             *, tree: LabelTree | None = None,
             embedding: Callable[[], sp.csr_matrix] | None = None,
             embedding_is_pifa: bool = False,
             progress: ProgressCallback | None = None
             ) -> tuple[LabelTree, list[LevelWeights], list[np.ndarray], DistributedReport]:
    """Index (unless ``tree`` is given) and train every level, with jobs on ``executor``.

    Parameters
    ----------
    X : csr (n_rows, n_features), float32, rows as the model sees them
    Y : csr (n_rows, n_labels), binary
    config : XLinearConfig
    executor : LocalExecutor or DaskExecutor (None: local)
    tree : the label tree to train (skips indexing)
    embedding : callable returning the label embedding (n_labels, dim) csr, needed without
        ``tree``
    embedding_is_pifa : the embedding is PIFA of ``X`` and ``Y``: workers compute their
        segments' rows themselves instead of receiving them
    progress : callable(str), optional

    Returns
    -------
    (tree, per-level CSC weights, per-level biases, report)
    """
    if config.solver.negatives != "tfn":
        raise ConfigError(f"distributed training splits the tree into independent sub-trees, "
                          f"which needs teacher-forced negatives (solver.negatives='tfn'); got "
                          f"{config.solver.negatives!r}")
    executor = executor or LocalExecutor()
    slots = executor.slots
    report = DistributedReport(slots=slots)
    t0 = time.perf_counter()
    try:
        Yn = l2_normalize_rows(Y)  # the value of every row's entries, for PIFA on the workers
        y_row_value = np.zeros(Y.shape[0], dtype=np.float32)
        nonempty = np.diff(Yn.indptr) > 0
        y_row_value[nonempty] = Yn.data[Yn.indptr[:-1][nonempty]]
        shared = executor.share(X=X, Y_csc=Y.tocsc(), y_row_value=y_row_value)
        report.stages["share data"] = time.perf_counter() - t0
        if tree is None:
            if embedding is None:
                raise ConfigError("fit_tree needs a tree or an embedding")
            t1 = time.perf_counter()
            emb = embedding()
            report.stages["embedding"] = time.perf_counter() - t1
            pifa_data = ((shared["X"], shared["Y_csc"], shared["y_row_value"])
                         if config.indexer.embedding == "pifa" and embedding_is_pifa else None)
            tree = cluster(emb, config, executor, slots, progress, report, pifa_data)
        weights, biases = train(X, Y, tree, config, executor, slots, shared, progress, report)
        report.stages["total"] = time.perf_counter() - t0
    finally:
        executor.close()
    return tree, weights, biases, report


def warm_kernels() -> None:
    """Run a tiny problem through every kind of job, in this process: loads (or, on a fresh
    machine, compiles) the kernels a worker needs before its first real job."""
    from ..sparse import as_label_csr
    from ..synthetic import make_problem

    p = make_problem(256, n_train=400, n_test=10, n_features=300, seed=0)
    X = l2_normalize_rows(as_csr(p.X_train))
    Y = as_label_csr(p.Y_train, n_rows=X.shape[0])
    cfg = XLinearConfig(indexer=IndexerConfig(branching_factor=4, max_leaf_size=8))
    # 5 binary levels: 3 split jointly on the "client", 2 in clustering jobs
    fit_tree(X, Y, cfg, LocalExecutor(), embedding=lambda: pifa(X, Y), embedding_is_pifa=True)
