"""An inverted index of weighted postings, scored in numba (``xmr._kernels.postings``)."""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from .._kernels import postings as _postings
from .._threads import num_threads, parallel_for
from ..errors import DataError
from ..io.persist import Persistent, State, Stored
from ..rank import TopK
from ..sparse import as_csr


class PostingIndex(Persistent):
    """score(query, document) = sum over the query's terms of query weight x posting weight.

    Parameters
    ----------
    doc_terms : sparse (n_docs, n_terms)
        Weight of each term in each document (e.g. BM25 term weights, or L2-normalized TF-IDF
        rows, which makes the score a cosine).
    max_postings : int
        When > 0, keep only the heaviest ``max_postings`` postings of each term (impact-ordered
        pruning): a term shared by thousands of documents, where its weight is small, no longer
        costs a scan of all of them; the scores become approximate for such terms.
    """

    format_name = "xmr.postings"
    format_version = 1

    def __init__(self, doc_terms, max_postings: int = 0) -> None:
        M = as_csr(doc_terms, name="doc_terms")
        csc = M.tocsc()
        csc.sort_indices()
        self.n_docs, self.n_terms = M.shape
        ptr = csc.indptr.astype(np.int64)
        docs = csc.indices.astype(np.int32)
        weights = csc.data.astype(np.float32)
        if max_postings > 0:
            ptr, docs, weights = _keep_heaviest(ptr, docs, weights, max_postings)
        self.ptr, self.docs, self.weights = ptr, docs, weights
        self._local = threading.local()

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.zeros(self.n_docs, dtype=np.float32), np.empty(self.n_docs, dtype=np.int32))

    def search_one(self, terms: np.ndarray, weights: np.ndarray, top_k: int) -> TopK:
        """Best ``top_k`` documents of one query (term ids int, weights float), best first.

        Returns 1-d TopK of length <= ``top_k`` (documents with a positive score only).
        """
        terms, weights = self._check_query(terms, weights)
        return self.search_checked(terms, weights, top_k)

    def search_checked(self, terms: np.ndarray, weights: np.ndarray, top_k: int) -> TopK:
        """:meth:`search_one` for term ids and weights known to be valid (int64 ids in range,
        finite float32 weights), e.g. made by xmr's own analyzers: the real-time path."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # per-thread: concurrent searches must not share it
            scratch = self._local.scratch = self._scratch()
        k = self._width(top_k)
        out_docs = np.empty(k, dtype=np.int32)
        out_scores = np.empty(k, dtype=np.float32)
        n = _postings.top_postings(terms, weights, self.ptr, self.docs, self.weights, k,
                                   *scratch, out_docs, out_scores)
        return TopK(out_docs[:n], out_scores[:n])

    def search(self, queries: sp.spmatrix, top_k: int, *, threads: int | None = None) -> TopK:
        """Best ``top_k`` documents of every row of ``queries`` (sparse (n, n_terms) weights),
        padded with -1 / -inf. Parallel over queries."""
        Q = as_csr(queries, name="queries", n_cols=self.n_terms)
        k = self._width(top_k)
        n = Q.shape[0]
        out_docs = np.empty((n, k), dtype=np.int32)
        out_scores = np.empty((n, k), dtype=np.float32)
        with num_threads(threads):
            parallel_for(_postings.top_postings_rows, n,
                         (Q.indptr, Q.indices, Q.data, self.ptr, self.docs, self.weights, k,
                          out_docs, out_scores), scratch=self._scratch)
        return TopK(out_docs, out_scores)

    def search_pair_checked(self, terms: np.ndarray, weights: np.ndarray,
                            e_terms: np.ndarray, e_weights: np.ndarray, alpha: float,
                            k1: int, k2: int) -> tuple[TopK, TopK]:
        """The best ``k1`` documents of a query q and the best ``k2`` of q + ``alpha`` * e
        (its expansion), reading q's postings once; arguments as in :meth:`search_checked`.
        Returns two 1-d TopK (positive scores only); the second is empty when e is."""
        scratch = getattr(self._local, "pair_scratch", None)
        if scratch is None:
            scratch = self._local.pair_scratch = self._pair_scratch()
        k1, k2 = self._width(k1), self._width(k2)
        out = (np.empty(k1, np.int32), np.empty(k1, np.float32), np.empty(k2, np.int32),
               np.empty(k2, np.float32))
        n1, n2 = _postings.top_postings_pair(terms, weights, e_terms, e_weights, alpha,
                                             self.ptr, self.docs, self.weights, k1, k2,
                                             *scratch, *out)
        return TopK(out[0][:n1], out[1][:n1]), TopK(out[2][:n2], out[3][:n2])

    def search_pair(self, queries: sp.spmatrix, expansions: sp.spmatrix, alpha: float,
                    k1: int, k2: int, *, threads: int | None = None) -> tuple[TopK, TopK]:
        """:meth:`search_pair_checked` of every row of ``queries`` and ``expansions`` (both
        sparse (n, n_terms)), padded with -1 / -inf (a row with an empty expansion gets no
        second list). Parallel over queries."""
        Q = as_csr(queries, name="queries", n_cols=self.n_terms)
        E = as_csr(expansions, name="expansions", n_cols=self.n_terms)
        if E.shape[0] != Q.shape[0]:
            raise DataError(f"{Q.shape[0]} queries but {E.shape[0]} expansions")
        k1, k2 = self._width(k1), self._width(k2)
        n = Q.shape[0]
        out = (np.empty((n, k1), np.int32), np.empty((n, k1), np.float32),
               np.empty((n, k2), np.int32), np.empty((n, k2), np.float32))
        with num_threads(threads):
            parallel_for(_postings.top_postings_pair_rows, n,
                         (Q.indptr, Q.indices, Q.data, E.indptr, E.indices, E.data,
                          np.float32(alpha), self.ptr, self.docs, self.weights, k1, k2, *out),
                         scratch=self._pair_scratch)
        return TopK(out[0], out[1]), TopK(out[2], out[3])

    def _width(self, top_k: int) -> int:
        """Result width of a request for ``top_k`` documents: 1 .. n_docs."""
        return max(1, min(int(top_k), self.n_docs))

    def _pair_scratch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.zeros(self.n_docs, dtype=np.float32), np.zeros(self.n_docs, dtype=np.float32),
                np.empty(self.n_docs, dtype=np.int32))

    def _check_query(self, terms, weights) -> tuple[np.ndarray, np.ndarray]:
        terms = np.asarray(terms)
        weights = np.asarray(weights, dtype=np.float32)
        if terms.ndim != 1 or terms.shape != weights.shape:
            raise DataError("a query is 1-d term ids with one weight each")
        if terms.size and (not np.issubdtype(terms.dtype, np.integer) or terms.min() < 0
                           or terms.max() >= self.n_terms):
            raise DataError(f"a query term id is outside [0, {self.n_terms})")
        if not np.all(np.isfinite(weights)):
            raise DataError("a query weight is NaN or infinite")
        return terms.astype(np.int64), weights

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        return State(arrays={"ptr": self.ptr, "docs": self.docs, "weights": self.weights},
                     meta={"n_docs": self.n_docs, "n_terms": self.n_terms})

    @classmethod
    def from_stored(cls, stored: Stored) -> PostingIndex:
        obj = cls.__new__(cls)
        obj.n_docs, obj.n_terms = stored.count("n_docs"), stored.count("n_terms")
        obj.ptr = stored.array("ptr", np.int64, shape=(obj.n_terms + 1,))
        obj.docs = stored.array("docs", np.int32, ndim=1)
        obj.weights = stored.array("weights", np.float32, shape=obj.docs.shape)
        stored.check_pointers("ptr", obj.ptr, total=obj.docs.shape[0])
        stored.check_range("docs", obj.docs, 0, max(obj.n_docs, 1))
        obj._local = threading.local()
        return obj

    def warmup(self) -> PostingIndex:
        self.search_one(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 1)
        return self


def _keep_heaviest(ptr: np.ndarray, docs: np.ndarray, weights: np.ndarray,
                   keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``keep`` heaviest postings of each term, documents ascending."""
    n_terms = ptr.shape[0] - 1
    lengths = np.empty(n_terms, dtype=np.int64)
    parallel_for(_postings.kept_lengths, n_terms, (ptr, keep, lengths))
    new_ptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_ptr[1:])
    new_docs = np.empty(int(new_ptr[-1]), dtype=np.int32)
    new_weights = np.empty(int(new_ptr[-1]), dtype=np.float32)
    parallel_for(_postings.keep_heaviest, n_terms, (ptr, docs, weights, keep, new_ptr, new_docs,
                                                    new_weights))
    return new_ptr, new_docs, new_weights
