"""XR-Linear: a label tree with one-vs-rest linear models per level, searched by beam search."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._kernels import beam as _beam
from .._kernels.constraint import ancestor_mask
from .._threads import num_threads
from ..errors import ConfigError, DataError, NotFittedError
from ..index.embed import label_embedding
from ..index.kmeans import hierarchical_kmeans
from ..index.tree import LabelTree
from ..io.persist import Persistent, State, Stored
from ..progress import ProgressCallback, report
from ..rank import TopK
from ..sparse import as_csr, as_label_csr, l2_normalize_rows
from .config import XLinearConfig
from .layout import ChunkedLayout, build_layout, child_offset_dtype, entry_pointer_dtype
from .postprocess import post_processor_code
from .search import beam_search, score_pairs
from .train import train_tree

logger = logging.getLogger(__name__)

_NO_MASK = np.zeros(0, dtype=np.uint8)


class XLinearModel(Persistent):
    """Extreme multi-label ranker: hierarchical label tree + per-level linear models.

    Parameters
    ----------
    config : XLinearConfig, optional
        Indexing, solver and default inference settings (PECOS's defaults when omitted).

    Attributes
    ----------
    layout_ : ChunkedLayout
        The trained weights in per-parent chunks (set by :meth:`fit` or :meth:`load`).
    n_features_ : int
    n_labels_ : int

    Examples
    --------
    >>> model = XLinearModel().fit(X_train, Y_train)          # doctest: +SKIP
    >>> top = model.predict(X_test, beam_size=10, top_k=5)      # doctest: +SKIP
    >>> top.indices.shape                                       # doctest: +SKIP
    (n_test, 5)
    """

    format_name = "xmr.xlinear"
    format_version = 3  # 2: the narrowest index types (uint8 child offsets, int32 pointers);
    # 3: the weights may be stored as bfloat16 (uint16 entry_val)

    def __init__(self, config: XLinearConfig | None = None) -> None:
        if config is not None and not isinstance(config, XLinearConfig):
            raise ConfigError(f"config must be an XLinearConfig; got {type(config).__name__}")
        self.config = config or XLinearConfig()
        self.training_: dict[str, Any] = {}
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Forget everything derived from the weights (per-thread query scratch, label slots,
        node parents): called whenever the weights change."""
        self._local = threading.local()
        self._parents: np.ndarray | None = None

    # -- training -------------------------------------------------------------------------------
    def fit(self, X, Y, *, tree: LabelTree | None = None, embedding=None, label_features=None,
            threads: int | None = None, progress: ProgressCallback | None = None,
            executor: Any = None) -> XLinearModel:
        """Index the labels (unless ``tree`` is given) and train every level.

        Parameters
        ----------
        X : sparse or dense (n_rows, n_features)
            Input features; converted once to float32 CSR.
        Y : sparse or dense (n_rows, n_labels), or a list of label-id lists
        tree : LabelTree, optional
            Use this tree instead of clustering (e.g. a trie, or one shared by several models).
        embedding : sparse or dense (n_labels, dim), optional
            Cluster these label embeddings instead of computing ``config.indexer.embedding``.
        label_features : sparse or dense (n_labels, n_label_features), optional
            Needed for the ``pifa+label-features`` and ``label-features`` embeddings.
        threads : int, optional
            Threads to use (default: all).
        progress : callable(str), optional
            Receives :class:`xmr.progress.Progress` reports (``str`` lines that also carry the
            stage, jobs done / total, elapsed seconds and the time left): one per finished
            stage (indexing, each level), and while a level trains, its jobs done (at most a
            few reports per second; one per finished job when distributed).
        executor : dask.distributed.Client or an executor of :mod:`xmr.distributed`, optional
            Run the clustering of sub-trees and the training of every sub-tree as jobs on its
            workers (PECOS's split; see :mod:`xmr.linear.distributed`). The model is the same
            bits as without it. Needs ``solver.negatives="tfn"`` (the default).

        Returns
        -------
        self
        """
        X = self._inputs(as_csr(X, name="X"))
        Y = as_label_csr(Y, name="Y", n_rows=X.shape[0])
        if X.shape[0] == 0:
            raise DataError("X has no rows: nothing to train on")
        if Y.shape[1] == 0:
            raise DataError("Y has no labels")
        if Y.nnz == 0:
            raise DataError("Y has no positive entries: every label is unused")
        cfg = self.config
        start = time.perf_counter()
        if tree is not None and not isinstance(tree, LabelTree):
            raise ConfigError(f"tree must be a LabelTree; got {type(tree).__name__}")
        if tree is not None and tree.n_labels != Y.shape[1]:
            raise DataError(f"the tree has {tree.n_labels} labels but Y has {Y.shape[1]}")
        with num_threads(threads):
            if executor is not None:
                tree, weights, biases = self._fit_distributed(X, Y, tree, embedding,
                                                              label_features, executor, progress)
            elif tree is None:
                t0 = time.perf_counter()
                if embedding is None:
                    emb = label_embedding(cfg.indexer.embedding, X, Y, label_features)
                else:
                    emb = as_csr(embedding, name="embedding")
                    if emb.shape[0] != Y.shape[1]:
                        raise DataError(f"embedding has {emb.shape[0]} rows but Y has "
                                        f"{Y.shape[1]} labels")
                tree = hierarchical_kmeans(emb, cfg.indexer)
                report(progress, logger, f"indexing: {Y.shape[1]} labels, levels "
                       f"{tree.level_sizes()}, {time.perf_counter() - t0:.2f} s")
            if executor is None:
                weights, biases = train_tree(X, Y, tree, cfg.solver, cfg.predict, progress)
            self.layout_ = build_layout(tree, weights, biases, cfg.solver.bias,
                                        X.shape[1]).with_weight_store(cfg.solver.weight_store)
        self.n_features_ = X.shape[1]
        self.n_labels_ = Y.shape[1]
        self._reset_caches()
        seconds = time.perf_counter() - start
        self.training_ = {"rows": int(X.shape[0]), "features": int(X.shape[1]),
                          "labels": int(Y.shape[1]), "positives": int(Y.nnz),
                          "weights": int(self.layout_.nnz), "levels": self.layout_.depth,
                          "seconds": round(seconds, 3)}
        if executor is not None:
            self.training_["distributed"] = self._distributed_report.as_dict()
        report(progress, logger, f"training took {seconds:.2f} s ({self.layout_.nnz} weights)")
        return self

    def _fit_distributed(self, X, Y, tree, embedding, label_features, executor, progress):
        """Index and train through ``executor`` (see :mod:`xmr.linear.distributed`)."""
        from ..distributed.executor import as_executor
        from .distributed import fit_tree, warm_kernels

        cfg = self.config

        def make_embedding() -> sp.csr_matrix:
            if embedding is None:
                return label_embedding(cfg.indexer.embedding, X, Y, label_features)
            emb = as_csr(embedding, name="embedding")
            if emb.shape[0] != Y.shape[1]:
                raise DataError(f"embedding has {emb.shape[0]} rows but Y has {Y.shape[1]} "
                                f"labels")
            return emb

        t0 = time.perf_counter()
        executor = as_executor(executor, warm=warm_kernels)  # a Dask client's workers warm up
        warm = time.perf_counter() - t0
        tree, weights, biases, report = fit_tree(
            X, Y, cfg, executor, tree=tree, embedding=make_embedding, progress=progress,
            embedding_is_pifa=embedding is None and cfg.indexer.embedding == "pifa")
        report.stages["warm workers"] = warm
        self._distributed_report = report
        return tree, weights, biases

    # -- inference ------------------------------------------------------------------------------
    def _inputs(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """The rows as the model sees them (unit-norm when ``config.normalize_rows``)."""
        return l2_normalize_rows(X) if self.config.normalize_rows else X

    def _check_fitted(self) -> ChunkedLayout:
        layout = getattr(self, "layout_", None)
        if layout is None:
            raise NotFittedError("this XLinearModel is not trained yet: call fit() or load()")
        return layout

    def _knobs(self, beam_size, top_k, post_processor) -> tuple[int, int, int]:
        p = self.config.predict
        beam = p.beam_size if beam_size is None else beam_size
        k = p.top_k if top_k is None else top_k
        for name, value in (("beam_size", beam), ("top_k", k)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        # more results than labels, or a beam wider than every level, changes nothing but
        # the memory asked for (top_k = 10**9 must not be a MemoryError)
        n_labels = max(int(self.n_labels_), 1)
        return (min(int(beam), n_labels), min(int(k), n_labels),
                post_processor_code(post_processor or p.post_processor))

    def predict(self, X, *, beam_size: int | None = None, top_k: int | None = None,
                post_processor: str | None = None, labels: Sequence[int] | np.ndarray | None = None,
                threads: int | None = None) -> TopK:
        """Top-k labels of every row, by beam search, in parallel over rows.

        Parameters
        ----------
        X : sparse or dense (n_rows, n_features)
        beam_size, top_k, post_processor : override the model's defaults for this call
        labels : optional label ids (or a mask from :meth:`label_mask`); results are restricted
            to them (PECOS's output constraint)
        threads : int, optional

        Returns
        -------
        TopK with int32 indices and float32 scores of shape (n_rows, min(top_k, n_labels)),
        best first; rows with fewer results are padded with -1 / -inf
        """
        layout = self._check_fitted()
        beam, k, code = self._knobs(beam_size, top_k, post_processor)
        X = self._inputs(as_csr(X, name="X", n_cols=self.n_features_))
        mask = self._mask_arg(labels)
        with num_threads(threads):
            return beam_search(layout, X, mask, beam, k, code)

    def predict_one(self, x, *, beam_size: int | None = None, top_k: int | None = None,
                    post_processor: str | None = None, labels=None) -> TopK:
        """Top-k labels of a single query, with low overhead (for real-time serving).

        Parameters
        ----------
        x : tuple (indices, values) of 1-d arrays, a 1-row sparse matrix, or a dense 1-d array.
            The fastest input is ``(int32 sorted indices, float32 values)``.

        Returns
        -------
        TopK with 1-d arrays of length ``top_k``
        """
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._make_scratch()
        qd, kernel_args, default_knobs, max_fanout = scratch
        if beam_size is None and top_k is None and post_processor is None:
            beam, k, code = default_knobs
        else:
            beam, k, code = self._knobs(beam_size, top_k, post_processor)
        if type(x) is tuple and len(x) == 2:
            idx, val = _query_arrays(x[0], x[1], self.n_features_)
        else:
            row = as_csr(x, name="x", n_cols=self.n_features_)
            if row.shape[0] != 1:
                raise DataError(f"predict_one takes a single row; got {row.shape[0]}")
            idx, val = row.indices, row.data
        mask = _NO_MASK if labels is None else self._mask_arg(labels)
        status, out_labels, out_scores = _beam.predict_one(
            idx, val, qd, *kernel_args, mask, beam, k, code, max_fanout,
            self.config.normalize_rows)
        if status == -1:  # unsorted or duplicate indices: normalize once and retry
            row = as_csr(sp.csr_matrix((val, idx, [0, idx.shape[0]]),
                                       shape=(1, self.n_features_)), name="x")
            return self.predict_one((row.indices, row.data), beam_size=beam, top_k=k,
                                    post_processor=post_processor, labels=labels)
        if status == -2:
            raise DataError(f"predict_one: a feature index is outside [0, {self.n_features_})")
        if status == -3:
            raise DataError("predict_one: a feature value is NaN or infinite")
        return TopK(out_labels, out_scores)

    def _make_scratch(self) -> tuple:
        """Per-thread state of the single-query path: a zeroed dense query buffer, the kernel's
        model arguments in order, and the default knobs (looked up once, not per call)."""
        layout = self._check_fitted()
        kernel_args = (layout.depth, layout.level_start, layout.child_start,
                       layout.chunk_row_ptr, layout.row_feat, layout.row_entry_ptr,
                       layout.entry_child, layout.entry_val, layout.node_bias,
                       layout.label_perm)
        return (np.zeros(self.n_features_, dtype=np.float32), kernel_args,
                self._knobs(None, None, None), layout.max_fanout())

    def score(self, X, rows, labels, *, post_processor: str | None = None,
              threads: int | None = None) -> np.ndarray:
        """Scores of given (row, label) pairs, as beam search would give them if it reached them.

        Parameters
        ----------
        X : (n_rows, n_features)
        rows, labels : int arrays of equal length (pairs)

        Returns
        -------
        float32 array, one score per pair
        """
        layout = self._check_fitted()
        _, _, code = self._knobs(None, None, post_processor)
        X = self._inputs(as_csr(X, name="X", n_cols=self.n_features_))
        rows = np.asarray(rows, dtype=np.int64)
        labels = self._check_labels(labels)
        if rows.shape != labels.shape:
            raise DataError("score: rows and labels must have the same length")
        if rows.size and (rows.min() < 0 or rows.max() >= X.shape[0]):
            raise DataError(f"score: a row index is outside [0, {X.shape[0]})")
        leaf = self._label_slots()[labels] + layout.level_start[layout.depth]
        with num_threads(threads):
            out = score_pairs(layout, X, rows, leaf, self._node_parent(), code)
        return out.astype(np.float32)

    def label_mask(self, labels) -> np.ndarray:
        """Node mask (uint8, n_nodes) restricting search to ``labels``; reusable across calls."""
        layout = self._check_fitted()
        labels = self._check_labels(labels)
        return ancestor_mask(labels, self._label_slots(), int(layout.level_start[layout.depth]),
                             self._node_parent(), int(layout.n_nodes))

    def _mask_arg(self, labels) -> np.ndarray:
        if labels is None:
            return _NO_MASK
        arr = np.asarray(labels)
        if arr.dtype == np.uint8 and arr.shape == (self.layout_.n_nodes,):
            return arr
        return self.label_mask(arr)

    def _check_labels(self, labels) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"label ids must be integers; got dtype {labels.dtype}")
        labels = labels.astype(np.int64).ravel()
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_labels_):
            bad = labels[(labels < 0) | (labels >= self.n_labels_)][0]
            raise DataError(f"unknown label id {int(bad)}: the model has {self.n_labels_} labels")
        return labels

    def _label_slots(self) -> np.ndarray:
        slots = getattr(self._local, "slots", None)
        if slots is None:
            slots = np.empty(self.n_labels_, dtype=np.int64)
            slots[self.layout_.label_perm] = np.arange(self.n_labels_)
            self._local.slots = slots
        return slots

    def _node_parent(self) -> np.ndarray:
        if self._parents is None:
            self._parents = self.layout_.node_parent()
        return self._parents

    @property
    def tree_(self) -> LabelTree:
        """The label tree of the trained model."""
        return self._check_fitted().tree()

    def warmup(self) -> XLinearModel:
        """Compile (or load from numba's cache) and prime the inference kernels, so that the
        first query after a load does not pay for it."""
        self._check_fitted()
        empty = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
        self.predict_one(empty)
        self.predict(sp.csr_matrix((1, self.n_features_), dtype=np.float32))
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        layout = self._check_fitted().narrowed()  # a model loaded from format 1 is re-saved
        return State(arrays=dict(layout._asdict()),
                     meta={"config": self.config.to_dict(), "n_features": int(self.n_features_),
                           "n_labels": int(self.n_labels_), "training": self.training_})

    @classmethod
    def from_stored(cls, stored: Stored) -> XLinearModel:
        model = cls(stored.config(XLinearConfig))
        model.n_features_ = stored.count("n_features")
        model.n_labels_ = stored.count("n_labels")
        model.training_ = stored.meta("training", dict, {})
        model.layout_ = _checked_layout(stored, model.n_features_, model.n_labels_)
        return model


def _checked_layout(stored: Stored, n_features: int, n_labels: int) -> ChunkedLayout:
    """The saved layout, after checking every array a kernel indexes with (vectorized; the
    costliest step is one pass over ``entry_child``), so that a damaged model fails here with
    a ModelFormatError naming the array, never inside a kernel."""
    level_start = stored.array("level_start", np.int64, ndim=1)
    stored.check(level_start.shape[0] >= 3, "array 'level_start' needs at least 3 entries")
    stored.check_pointers("level_start", level_start, strict=True)
    stored.check(int(level_start[1]) == 1, "array 'level_start': level 0 must hold the root only")
    n_nodes = int(level_start[-1])
    n_internal = int(level_start[-2])
    stored.check(n_nodes - n_internal == n_labels,
                 f"the last level has {n_nodes - n_internal} nodes for {n_labels} labels")
    child_start = stored.array("child_start", np.int64, shape=(n_internal + 1,))
    stored.check(int(child_start[0]) == 1, "array 'child_start' must start at node 1")
    steps = np.diff(child_start)
    stored.check(bool(steps.size == 0 or steps.min() >= 1),
                 "array 'child_start': every internal node needs a child, in order")
    stored.check(int(child_start[-1]) == n_nodes, "array 'child_start' must end at n_nodes")
    first_child = child_start[level_start[:-2]]
    stored.check(bool(np.array_equal(first_child, level_start[1:-1])),
                 "array 'child_start' does not match the levels of 'level_start'")
    row_feat = stored.array("row_feat", np.int32, ndim=1)
    n_rows = row_feat.shape[0]
    stored.check_range("row_feat", row_feat, 0, max(n_features, 1))
    chunk_row_ptr = stored.array("chunk_row_ptr", np.int64, shape=(n_internal + 1,))
    stored.check_pointers("chunk_row_ptr", chunk_row_ptr, total=n_rows)
    direct = np.diff(chunk_row_ptr) == n_features  # direct chunks: row r0 + f is feature f
    if direct.any():
        r0 = chunk_row_ptr[:-1][direct]
        stored.check(bool(np.all(row_feat[r0] == 0) and np.all(row_feat[r0 + n_features - 1]
                                                               == n_features - 1)),
                     "array 'row_feat': a direct-indexed chunk does not list every feature")
    # the weights' store is the array's own dtype: float32, or bfloat16 bits (format 3)
    entry_val = stored.array("entry_val", ndim=1)
    stored.check(entry_val.dtype == np.float32
                 or (entry_val.dtype == np.uint16 and stored.version >= 3),
                 f"array 'entry_val' has dtype {entry_val.dtype}, expected float32 (or uint16, "
                 f"bfloat16 weights, from format 3)")
    max_fanout = int(steps.max()) if steps.size else 1
    # format 1 stored int64 / uint32; format 2 the narrowest types that fit (see layout.py)
    wide = stored.version < 2
    row_entry_ptr = stored.array("row_entry_ptr", np.int64 if wide else entry_pointer_dtype(
        entry_val.shape[0]), shape=(n_rows + 1,))
    stored.check_pointers("row_entry_ptr", row_entry_ptr, total=entry_val.shape[0])
    entry_child = stored.array("entry_child", np.uint32 if wide else child_offset_dtype(
        max_fanout), shape=(entry_val.shape[0],))
    stored.check_range("entry_child", entry_child, 0, max_fanout)
    node_bias = stored.array("node_bias", np.float32, shape=(n_nodes,))
    label_perm = stored.array("label_perm", np.int32, shape=(n_labels,))
    stored.check_permutation("label_perm", label_perm)
    return ChunkedLayout(level_start=level_start, child_start=child_start,
                         chunk_row_ptr=chunk_row_ptr, row_feat=row_feat,
                         row_entry_ptr=row_entry_ptr, entry_child=entry_child,
                         entry_val=entry_val, node_bias=node_bias, label_perm=label_perm)


def _query_arrays(indices, values, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(int32, float32) 1-d arrays of a single query, without wrap-around: an index that does
    not fit in int32 or a non-integer index is an error (the kernel checks the range)."""
    idx = np.asarray(indices)
    val = np.asarray(values)
    if idx.shape != val.shape or idx.ndim != 1:
        raise DataError("predict_one: indices and values must be 1-d of equal length")
    if idx.dtype != np.int32:
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise DataError(f"predict_one: indices must be integers; got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= n_features):
            raise DataError(f"predict_one: a feature index is outside [0, {n_features})")
        idx = idx.astype(np.int32)
    if val.dtype != np.float32:
        if val.size and not (np.issubdtype(val.dtype, np.number) and
                             not np.issubdtype(val.dtype, np.complexfloating)):
            raise DataError(f"predict_one: values must be real numbers; got dtype {val.dtype}")
        val = val.astype(np.float32)
    return idx, val

