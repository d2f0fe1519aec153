"""Query expansion through a word translation table learned from judged queries.

Many relevant products share no word with the query that finds them ("l bracket" for a corner
brace, "pvc fencing" for a vinyl fence panel): BM25 cannot reach them and the title cosine
ranks them low. The translation table maps each query word to the title words of the products
it was a positive for: ``C = Xw^T Y Tw`` (query word block x products x title word block), each
row cut to its heaviest ``width`` words and L2-normalized. A query's expansion is the sum of
its words' rows weighted by their TF-IDF, cut to its ``n_terms`` heaviest words and
L2-normalized. The retriever uses it as a fourth candidate source (the title cosine of the
query plus the weighted expansion, ``PostingIndex.search_pair``) and as a ranker feature (the
expansion's cosine with the title's word block).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ..._kernels import candidates as _cand
from ..._threads import parallel_for
from ...sparse import l2_normalize_rows, labels_from_lists


def translation_table(X_queries: sp.csr_matrix, label_lists: Sequence[Sequence[int]],
                      titles: sp.csr_matrix, word_end: int, width: int) -> sp.csr_matrix:
    """The query-word to title-word table of judged queries.

    Parameters
    ----------
    X_queries : (n_queries, n_features) the training queries' TF-IDF
    label_lists : each query's positive products (catalog positions)
    titles : (n_products, n_features) the titles' TF-IDF
    word_end : int, the first column of the vectorizer's character block
    width : int, words kept per row (the heaviest; ties: lower column first)

    Returns
    -------
    scipy.sparse.csr_matrix float32 (word_end, word_end), rows L2-normalized (empty rows for
    words no training query used)
    """
    Y = labels_from_lists(label_lists, n_labels=titles.shape[0]).astype(np.float32)
    Xw = sp.csr_matrix(X_queries)[:, :word_end]
    Tw = sp.csr_matrix(titles)[:, :word_end]
    C = sp.csr_matrix((Xw.T @ (Y @ Tw)).tocsr(), dtype=np.float32)
    C.sum_duplicates()
    C.eliminate_zeros()
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    order = np.lexsort((C.indices, -C.data, rows))  # per row: heaviest first
    rank = np.arange(order.shape[0]) - C.indptr[rows[order]]
    keep = np.sort(order[rank < width])
    kept = sp.csr_matrix((C.data[keep], (rows[keep], C.indices[keep])), shape=C.shape,
                         dtype=np.float32)
    return l2_normalize_rows(kept)


class QueryExpansion:
    """Expansions of queries through a translation table.

    Parameters
    ----------
    table : (word_end, word_end) CSR float32, from :func:`translation_table`
    n_terms : int, words kept in an expansion
    """

    def __init__(self, table: sp.csr_matrix, n_terms: int) -> None:
        self.word_end = int(table.shape[0])
        self.n_terms = int(n_terms)
        self._table = (self.word_end, np.asarray(table.indptr, dtype=np.int64),
                       np.asarray(table.indices, dtype=np.int32),
                       np.asarray(table.data, dtype=np.float32))
        self._local = threading.local()

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.zeros(self.word_end, dtype=np.float32),
                np.empty(self.word_end, dtype=np.int32))

    def _outputs(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.empty((n, self.n_terms), dtype=np.int32),
                np.empty((n, self.n_terms), dtype=np.float32))

    def batch(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Expansions of every row of ``X`` (CSR, n_features columns), in parallel over rows:
        (int32 columns, float32 weights), each (n_rows, n_terms), -1 / 0 padded."""
        out = self._outputs(X.shape[0])
        rows = (np.asarray(X.indptr, dtype=np.int64), np.asarray(X.indices, dtype=np.int32),
                np.asarray(X.data, dtype=np.float32))
        parallel_for(_cand.expand_rows, X.shape[0], (*rows, *self._table, *out),
                     scratch=self._scratch)
        return out

    def one(self, indices: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for one query (its TF-IDF columns and values), on the calling thread:
        each of shape (1, n_terms)."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # per-thread: concurrent searches must not share it
            scratch = self._local.scratch = self._scratch()
        out = self._outputs(1)
        _cand.expand_rows(0, 1, np.array([0, indices.shape[0]], dtype=np.int64),
                          np.asarray(indices, dtype=np.int32),
                          np.asarray(values, dtype=np.float32), *self._table, *out, *scratch)
        return out

    def as_matrix(self, idx: np.ndarray, val: np.ndarray, n_cols: int) -> sp.csr_matrix:
        """Padded expansions (from :meth:`batch`) as a CSR float32 (n_rows, ``n_cols``)."""
        has = idx >= 0
        return sp.csr_matrix((val[has], (np.nonzero(has)[0], idx[has])),
                             shape=(idx.shape[0], n_cols), dtype=np.float32)
