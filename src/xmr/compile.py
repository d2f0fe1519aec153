"""Compile the numba kernels ahead of their first use, in parallel processes.

numba compiles a kernel on its first call and caches the machine code on disk, so only the very
first run on a machine pays: about 40 s of compilation for training and prediction on 2 cores.
:func:`compile_kernels` spreads that over several processes (one per core), each running a tiny
problem through one group of kernels; the cache they write is then loaded in a second by every
later process. ``xmr demo`` does this when the cache is cold, and ``xmr compile`` does it on
demand (e.g. when building a container image).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

#: kernel groups, most expensive first (compile seconds on the project's 2-core machine, two
#: groups at a time: train 19, index 13, layout 6, search 9, query 6, text 8; bfloat16 13, the
#: search kernels again for models with bfloat16 weights)
PARTS = ("train", "index", "search", "text", "layout", "query", "bfloat16")
#: the groups every user meets (the first-run notice checks these); bfloat16 serves only models
#: trained with ``solver.weight_store="bfloat16"``
COMMON_PARTS = tuple(p for p in PARTS if p != "bfloat16")


def _problem(n_labels: int = 64):
    from .synthetic import make_problem

    return make_problem(n_labels, n_train=400, n_test=20, n_features=300, seed=0)


def _exercise_train() -> None:
    """The solver and its job kernels (training of every level)."""
    from .index.tree import LabelTree
    from .linear.config import XLinearConfig
    from .linear.train import train_tree
    from .sparse import as_csr, as_label_csr, l2_normalize_rows

    p = _problem()
    X = l2_normalize_rows(as_csr(p.X_train))
    Y = as_label_csr(p.Y_train, n_rows=X.shape[0])
    tree = LabelTree.from_leaf_clusters(np.arange(Y.shape[1]) // 8, 4)
    cfg = XLinearConfig()
    train_tree(X, Y, tree, cfg.solver, cfg.predict)


def _exercise_index() -> None:
    """Balanced k-means (both the wide and the many-segment paths) over PIFA."""
    from .index.config import IndexerConfig
    from .index.embed import pifa
    from .index.kmeans import hierarchical_kmeans
    from .sparse import as_csr, as_label_csr, l2_normalize_rows

    p = _problem(256)
    X = l2_normalize_rows(as_csr(p.X_train))
    Y = as_label_csr(p.Y_train, n_rows=X.shape[0])
    hierarchical_kmeans(pifa(X, Y), IndexerConfig(max_leaf_size=2))


def _tiny_model():
    """A model of random weights over the small problem (no training kernels involved)."""
    from .index.tree import LabelTree
    from .linear.layout import build_layout
    from .linear.model import XLinearModel

    p = _problem()
    n_labels, n_features = p.Y_train.shape[1], p.X_train.shape[1]
    tree = LabelTree.from_leaf_clusters(np.arange(n_labels) // 8, 4)
    rng = np.random.default_rng(0)
    weights, biases = [], []
    for size in tree.level_sizes()[1:]:
        W = sp.random(n_features, size, density=0.2, format="csc", dtype=np.float32,
                      random_state=rng)
        W.sort_indices()
        weights.append((W.indptr.astype(np.int64), W.indices.astype(np.int32), W.data))
        biases.append(np.zeros(size, dtype=np.float32))
    model = XLinearModel()
    model.layout_ = build_layout(tree, weights, biases, 1.0, n_features)
    model.n_features_, model.n_labels_ = n_features, n_labels
    return model, p.X_test


def _exercise_layout() -> None:
    """Building the chunked weight layout."""
    _tiny_model()


def _exercise_search() -> None:
    """Batch beam search (also with an output constraint)."""
    model, X = _tiny_model()
    model.predict(X, top_k=5)
    model.predict(X, top_k=5, labels=np.arange(10))


def _exercise_query() -> None:
    """The single-query path, label masks and (row, label) pair scores."""
    model, X = _tiny_model()
    model.score(X, np.zeros(3, dtype=np.int64), np.arange(3))
    for i in range(2):
        model.predict_one((X.indices[X.indptr[i]:X.indptr[i + 1]],
                           X.data[X.indptr[i]:X.indptr[i + 1]]), labels=np.arange(i, 10))


def _exercise_bfloat16() -> None:
    """Batch and single-query search over bfloat16 weights (their own specializations)."""
    model, X = _tiny_model()
    model.layout_ = model.layout_.with_weight_store("bfloat16")
    model.predict(X, top_k=5)
    model.predict_one((X.indices[X.indptr[0]:X.indptr[1]], X.data[X.indptr[0]:X.indptr[1]]))


def _exercise_text() -> None:
    """TF-IDF fitting and featurization (batch and one text), every block kind."""
    from .text.config import BlockConfig, TfidfConfig
    from .text.vectorizer import TfidfVectorizer

    docs = ["cordless drill 18v", "garden hose nozzle", "drill bits", "hose reel cart"] * 4
    blocks = (BlockConfig(kind="word", min_n=1, max_n=2), BlockConfig(kind="char", min_n=3,
                                                                      max_n=3),
              BlockConfig(kind="char_wb", min_n=2, max_n=3),
              BlockConfig(kind="prefix", min_n=1, max_n=3, position_weight="inverse-position"))
    vec = TfidfVectorizer(TfidfConfig(blocks=blocks))
    vec.fit_transform(docs)
    vec.transform(docs[:3])
    vec.transform_one("drill")


_EXERCISES: dict[str, Callable[[], None]] = {
    "train": _exercise_train, "index": _exercise_index, "layout": _exercise_layout,
    "search": _exercise_search, "query": _exercise_query, "text": _exercise_text,
    "bfloat16": _exercise_bfloat16}


_ENTRY_VAL_ARG = 12  # position of ``entry_val`` among beam_search_rows' arguments


def _sentinel(part: str):
    """(kernel, signature test or None) whose cached code says the part is compiled."""
    from ._kernels import beam, featurize, kmeans, layout, solver

    if part == "bfloat16":  # shares its kernel with search: look for a uint16 entry_val
        return beam.beam_search_rows, lambda sig: sig[_ENTRY_VAL_ARG].dtype.name == "uint16"
    return {"train": solver.train_jobs, "index": kmeans.split_segments,
            "layout": layout.fill_chunks, "search": beam.beam_search_rows,
            "query": beam.predict_one, "text": featurize.transform_one_text}[part], None


def cold_parts(parts: Iterable[str] = COMMON_PARTS) -> list[str]:
    """The parts whose kernels are not in numba's on-disk cache yet (by one sentinel kernel
    each, and for bfloat16 by its signature; a part whose cache cannot be read counts as
    cold)."""
    out = []
    for part in parts:
        kernel, wanted = _sentinel(part)
        try:
            cache_file = kernel._cache._cache_file
            if wanted is None:
                cached = os.path.getsize(cache_file._index_path) > 0
            else:  # numba's index: (signature, target, ...) -> cached object file
                cached = any(wanted(key[0]) for key in cache_file._load_index())
        except (AttributeError, OSError, IndexError, TypeError):
            cached = False
        if not cached:
            out.append(part)
    return out


def _run_part(part: str) -> tuple[str, float]:
    start = time.perf_counter()
    _EXERCISES[part]()
    return part, time.perf_counter() - start


def compile_kernels(parts: Iterable[str] = PARTS, processes: int | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Compile and cache the kernels of ``parts`` (see :data:`PARTS`) in parallel processes.

    Parameters
    ----------
    parts : kernel groups to compile (see :data:`PARTS`)
    processes : worker processes (default: the number of cores, at most one per part)
    progress : callable(str), receives one line per finished part

    Returns
    -------
    dict
        Seconds each part took in its worker.
    """
    unknown = set(parts) - set(PARTS)
    parts = [p for p in PARTS if p in set(parts)]
    if unknown:
        raise ValueError(f"unknown kernel groups {sorted(unknown)}; known: {list(PARTS)}")
    if not parts:
        return {}
    workers = max(1, min(processes or os.cpu_count() or 1, len(parts)))
    seconds: dict[str, float] = {}
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_run_part, part) for part in parts]
        for future in as_completed(futures):
            part, took = future.result()
            seconds[part] = took
            msg = f"compiled the {part} kernels in {took:.1f} s"
            logger.info(msg)
            if progress is not None:
                progress(msg)
    return seconds
