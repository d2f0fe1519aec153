"""What the ranker sees of each (query, product) candidate: sources' scores and ranks, text
similarities, the product's training history. Computed for all candidates of a query in one
numba call (``xmr._kernels.candidates``), for one query or a batch."""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..._kernels import candidates as _cand
from ..._threads import parallel_for
from ...rank import TopK

FEATURES = ("bm25", "bm25_rank", "bm25_rel", "model", "model_rank", "model_rel", "cosine",
            "cosine_rank", "word_cosine", "char_cosine", "pifa_cosine", "log_popularity",
            "query_terms", "title_terms", "query_coverage", "title_coverage",
            "expansion_rank", "expansion_cosine")
LEGACY_FEATURES = 16  # rankers of format 2 retrievers read the first 16 (no expansion)
assert len(FEATURES) == _cand.N_FEATURES


class ProductSide(NamedTuple):
    """Per-product arrays the features read (rows = catalog positions)."""

    titles: sp.csr_matrix  # (n_products, n_features) title TF-IDF, rows L2-normalized
    word_norm: np.ndarray  # float32 (n_products,) norm of the word-block part of each row
    char_norm: np.ndarray  # float32 (n_products,) norm of the character-block part
    pifa: sp.csr_matrix  # (n_products, n_features) L2-normalized centroid of training queries
    log_pop: np.ndarray  # float32 (n_products,) log(1 + training positives)
    title_terms: sp.csr_matrix  # (n_products, n_terms) the titles' BM25 terms (any value)
    n_title_terms: np.ndarray  # float32 (n_products,)


def block_norms(T: sp.csr_matrix, word_end: int) -> tuple[np.ndarray, np.ndarray]:
    """Norms of the word part (columns < word_end) and the character part of every row
    (float32 (n_rows,) each)."""
    word = np.empty(T.shape[0], dtype=np.float32)
    char = np.empty(T.shape[0], dtype=np.float32)
    _cand.block_row_norms(T.indptr, T.indices, T.data, word_end, word, char)
    return word, char


class Candidates(NamedTuple):
    """Candidates of a batch of queries: query i owns rows ``ptr[i]:ptr[i + 1]``."""

    ptr: np.ndarray  # int64 (n_queries + 1,)
    ids: np.ndarray  # int32 (total,) catalog positions
    features: np.ndarray  # float32 (total, len(FEATURES))


def _padded(top: TopK) -> tuple[np.ndarray, np.ndarray]:
    """A source's (ids, scores) as (n, k) arrays (a 1-d list is one row; k may be 0)."""
    ids = np.ascontiguousarray(np.atleast_2d(top.indices), dtype=np.int32)
    scores = np.ascontiguousarray(np.atleast_2d(top.scores), dtype=np.float32)
    return ids, scores


def _pad(top: TopK, width: int) -> TopK:
    """A 1-d candidate list padded with -1 to ``width`` entries."""
    n = top.indices.shape[0]
    if n >= width:
        return top
    ids = np.full(width, -1, dtype=np.int32)
    scores = np.zeros(width, dtype=np.float32)
    ids[:n] = top.indices
    scores[:n] = top.scores
    return TopK(ids, scores)


class FeatureMaker:
    """Candidates and features of queries over one catalog's product arrays.

    Parameters
    ----------
    side : ProductSide
    word_end : int, the first column of the vectorizer's character block
    """

    def __init__(self, side: ProductSide, word_end: int) -> None:
        self.side = side
        self.word_end = int(word_end)
        self._local = threading.local()

    def _scratch(self) -> tuple:
        n_products, n_features = self.side.titles.shape
        ranks = tuple(np.full(n_products, -1, dtype=np.int32) for _ in range(_cand.N_SOURCES))
        return (*ranks, np.zeros(n_features, dtype=np.float32),
                np.zeros(n_features, dtype=np.float32),
                np.zeros(self.side.title_terms.shape[1], dtype=np.uint8))

    def batch(self, sources: tuple[TopK, TopK, TopK, TopK], X: sp.csr_matrix,
              query_terms: sp.csr_matrix, n_query_terms: np.ndarray,
              expansion: tuple[np.ndarray, np.ndarray]) -> Candidates:
        """Union of the (BM25, model, cosine, expanded cosine) candidate lists of every
        query, with features, in parallel over queries.

        Parameters
        ----------
        sources : TopK of catalog positions (n_queries, k_s) each, -1 padded, best first
            (k_s may be 0)
        X : (n_queries, n_features) the queries' TF-IDF
        query_terms : (n_queries, n_terms) the queries' BM25 terms (any positive value)
        n_query_terms : (n_queries,) number of analyzed terms of each query, known or not
        expansion : int32 columns and float32 weights (n_queries, m) of each query's expansion
            (``expansion.QueryExpansion``), -1 padded; m may be 0
        """
        n_products = self.side.titles.shape[0]
        return self._run(sources, X, query_terms, n_query_terms, expansion, parallel_for,
                         lambda: (np.zeros(n_products, dtype=np.uint8),), self._scratch)

    def one(self, sources: tuple[TopK, TopK, TopK, TopK], x: tuple[np.ndarray, np.ndarray],
            terms: np.ndarray, n_query_terms: int, widths: tuple[int, int, int, int],
            expansion: tuple[np.ndarray, np.ndarray]) -> Candidates:
        """The same for one query (1-d source lists, ``x`` = (indices, values), ``terms`` =
        its distinct BM25 term ids, ``expansion`` of shape (1, m)), on the calling thread with
        its cached scratch.

        ``widths`` are the list lengths the batch path gets from each source (its requested
        count capped by the catalog or label count): a product absent from a list ranks at the
        list's width, so a shorter single-query list must be padded to it, or the same query
        would get different features (and results) from :meth:`one` and :meth:`batch`.
        """
        sources = tuple(_pad(top, width) for top, width in zip(sources, widths, strict=True))
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = (
                (np.zeros(self.side.titles.shape[0], dtype=np.uint8),), self._scratch())
        X = _one_row(x[0], x[1], self.side.titles.shape[1])
        Q = _one_row(terms, np.ones(terms.shape[0], dtype=np.float32),
                     self.side.title_terms.shape[1])
        return self._run(sources, X, Q, np.array([n_query_terms], dtype=np.float32), expansion,
                         _inline, lambda: scratch[0], lambda: scratch[1])

    def _run(self, sources, X, query_terms, n_query_terms, expansion, run, mark_scratch,
             row_scratch) -> Candidates:
        side = self.side
        n = X.shape[0]
        (i0, s0), (i1, s1), (i2, s2), (i3, _) = (_padded(t) for t in sources)
        e_idx = np.ascontiguousarray(expansion[0], dtype=np.int32)
        e_val = np.ascontiguousarray(expansion[1], dtype=np.float32)
        sizes = np.empty(n, dtype=np.int64)
        run(_cand.union_sizes, n, (i0, i1, i2, i3, sizes), scratch=mark_scratch)
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        ids = np.empty(int(ptr[-1]), dtype=np.int32)
        feat = np.empty((int(ptr[-1]), len(FEATURES)), dtype=np.float32)
        T, P, D = side.titles, side.pifa, side.title_terms
        x_ptr, x_idx, x_val = _csr_arrays(X)
        q_ptr, q_idx, _ = _csr_arrays(query_terms)
        args = (i0, s0, i1, s1, i2, s2, i3, x_ptr, x_idx, x_val, self.word_end, e_idx, e_val,
                T.indptr, T.indices, T.data, side.word_norm, side.char_norm, P.indptr, P.indices,
                P.data, side.log_pop, q_ptr, q_idx, np.asarray(n_query_terms, dtype=np.float32),
                D.indptr, D.indices, side.n_title_terms, ptr, ids, feat)
        run(_cand.candidate_rows, n, args, scratch=row_scratch)
        return Candidates(ptr, ids, feat)


def _csr_arrays(M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int64 pointers, int32 indices, float32 values): one array layout for the kernel."""
    return (np.asarray(M.indptr).astype(np.int64, copy=False),
            np.asarray(M.indices).astype(np.int32, copy=False),
            np.asarray(M.data).astype(np.float32, copy=False))


def kernel_csr(M: sp.spmatrix) -> sp.csr_matrix:
    """``M`` as CSR with int64 pointers, int32 indices and float32 values."""
    M = sp.csr_matrix(M)
    ptr, idx, val = _csr_arrays(M)
    out = sp.csr_matrix(M.shape, dtype=np.float32)
    out.indptr, out.indices, out.data = ptr, idx, val
    return out


class _Row(NamedTuple):
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]


def _one_row(indices: np.ndarray, values: np.ndarray, n_cols: int) -> _Row:
    """A one-row CSR view of (indices, values) without building a scipy matrix."""
    return _Row(np.array([0, indices.shape[0]], dtype=np.int64),
                np.ascontiguousarray(indices, dtype=np.int32),
                np.ascontiguousarray(values, dtype=np.float32), (1, n_cols))


def _inline(kernel, n_items: int, args: tuple, scratch=None) -> None:
    buffers = scratch() if scratch is not None else ()
    kernel(0, n_items, *args, *buffers)
