"""Okapi BM25 over a collection of short texts (e.g. product titles).

The Lucene variant, as bm25s computes it: a term t of a query scores a document d with

    idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * len(d) / avglen)),
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),

summed over the query's terms (a repeated query term counts again). Terms come from an
:class:`~xmr.lexical.analyzer.Analyzer`. The term weights are precomputed into a
:class:`~xmr.lexical.postings.PostingIndex`, so a query costs the length of its terms' posting
lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..config import Config, check_range, field
from ..errors import DataError, NotFittedError
from ..io.persist import Persistent, State, Stored
from ..rank import TopK
from .analyzer import Analyzer, AnalyzerConfig
from .postings import PostingIndex


@dataclass(frozen=True, kw_only=True)
class Bm25Config(Config):
    """BM25 parameters and text analysis (defaults: bm25s's and Lucene's)."""

    k1: float = field(1.5, "term-frequency saturation")
    b: float = field(0.75, "document-length normalization, 0 (none) to 1 (full)")
    analyzer: AnalyzerConfig = field(AnalyzerConfig(), "tokens, stop words, stemming")

    def validate(self) -> None:
        name = type(self).__name__
        check_range(name, "k1", self.k1, 0.0)
        check_range(name, "b", self.b, 0.0, 1.0)


class Bm25Index(Persistent):
    """BM25 search over a fixed list of documents.

    Attributes
    ----------
    terms_ : list[str] the vocabulary (index terms)
    doc_terms_ : csr (n_docs, n_terms) int32 term counts of each document
    postings_ : PostingIndex of the BM25 term weights
    """

    format_name = "xmr.bm25"
    format_version = 1

    def __init__(self, config: Bm25Config | None = None) -> None:
        self.config = config or Bm25Config()
        self.analyzer = Analyzer(self.config.analyzer)
        self.terms_: list[str] | None = None
        self.doc_terms_: sp.csr_matrix | None = None
        self.postings_: PostingIndex | None = None
        self._vocab: dict[str, int] = {}

    def fit(self, docs: Sequence[str]) -> Bm25Index:
        """Index ``docs`` (a sequence of str); document i is result id i."""
        if isinstance(docs, str):
            raise DataError("expected a sequence of documents, got a single string")
        docs = list(docs)
        if not docs:
            raise DataError("cannot index an empty collection")
        term_lists = self.analyzer.terms_many(docs)
        vocab: dict[str, int] = {}
        ids = [vocab.setdefault(t, len(vocab)) for terms in term_lists for t in terms]
        lengths = np.fromiter(map(len, term_lists), dtype=np.int64, count=len(term_lists))
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        counts = sp.csr_matrix((np.ones(len(ids), dtype=np.float32),
                                np.asarray(ids, dtype=np.int32), indptr),
                               shape=(len(docs), max(len(vocab), 1)))
        counts.sum_duplicates()
        self.terms_ = list(vocab) or [""]
        self._vocab = vocab
        self._set_counts(counts, lengths)
        return self

    def _set_counts(self, counts: sp.csr_matrix, lengths: np.ndarray) -> None:
        """Term counts -> BM25 posting weights (vectorized)."""
        cfg = self.config
        n_docs = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg = max(float(lengths.mean()) if lengths.size else 0.0, 1e-9)
        row_len = np.repeat(lengths, np.diff(counts.indptr)).astype(np.float64)
        tf = counts.data.astype(np.float64)
        norm = cfg.k1 * (1.0 - cfg.b + cfg.b * row_len / avg)
        data = idf[counts.indices] * tf / (tf + norm)
        weights = sp.csr_matrix((data.astype(np.float32), counts.indices, counts.indptr),
                                shape=counts.shape)
        self.doc_terms_ = sp.csr_matrix((counts.data.astype(np.int32), counts.indices,
                                         counts.indptr), shape=counts.shape)
        self.doc_lengths_ = lengths
        self.postings_ = PostingIndex(weights)

    def _check_fitted(self) -> PostingIndex:
        if self.postings_ is None:
            raise NotFittedError("this Bm25Index is not fitted; call fit() or load()")
        return self.postings_

    def query_terms(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(term ids int64, weights float32, number of terms) of one query: each known term
        once, weighted by how often it occurs in the query; the count includes unknown
        terms."""
        vocab = self._vocab
        terms = self.analyzer.terms(text)
        counts: dict[int, int] = {}
        for t in terms:  # a query's few terms
            i = vocab.get(t)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        ids = sorted(counts)
        return (np.array(ids, dtype=np.int64), np.array([counts[i] for i in ids],
                                                          dtype=np.float32), len(terms))

    def query_matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """float32 (n_texts, n_terms) query term counts of many texts (see
        :meth:`query_matrix_and_lengths`)."""
        return self.query_matrix_and_lengths(texts)[0]

    def query_matrix_and_lengths(self, texts: Sequence[str]
                                 ) -> tuple[sp.csr_matrix, np.ndarray]:
        """(float32 (n_texts, n_terms) query term counts, int64 (n_texts,) number of terms of
        each text, unknown ones included) of many texts."""
        vocab = self._vocab
        rows, cols = [], []
        term_lists = self.analyzer.terms_many(texts)
        for i, terms in enumerate(term_lists):  # per text: a dict lookup of its few terms
            known = [vocab[t] for t in terms if t in vocab]
            rows += [i] * len(known)
            cols += known
        n_terms = self._check_fitted().n_terms
        Q = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)),
                          shape=(len(texts), n_terms))
        Q.sum_duplicates()
        lengths = np.fromiter(map(len, term_lists), dtype=np.int64, count=len(term_lists))
        return Q, lengths

    def search_one(self, text: str, top_k: int = 10) -> TopK:
        """Best ``top_k`` documents of one query text (1-d TopK, only positive scores)."""
        postings = self._check_fitted()
        terms, weights, _ = self.query_terms(text)
        return postings.search_checked(terms, weights, top_k)

    def search(self, texts: Sequence[str], top_k: int = 10, *,
               threads: int | None = None) -> TopK:
        """Best ``top_k`` documents of every text, padded with -1 / -inf."""
        return self._check_fitted().search(self.query_matrix(texts), top_k, threads=threads)

    def warmup(self) -> Bm25Index:
        self._check_fitted().warmup()
        self.search_one("warm up", 1)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> State:
        postings = self._check_fitted()
        D = self.doc_terms_
        return State(arrays={"doc_ptr": D.indptr.astype(np.int64), "doc_term": D.indices,
                             "doc_tf": D.data, "doc_length": self.doc_lengths_},
                     strings={"terms": self.terms_}, children={"postings": postings},
                     meta={"config": self.config.to_dict(), "n_docs": int(D.shape[0]),
                           "n_terms": len(self.terms_)})

    @classmethod
    def from_stored(cls, stored: Stored) -> Bm25Index:
        obj = cls(stored.config(Bm25Config))
        n_docs, n_terms = stored.count("n_docs"), stored.count("n_terms")
        obj.terms_ = stored.strings("terms", n_terms)
        ptr = stored.array("doc_ptr", np.int64, shape=(n_docs + 1,))
        term = stored.array("doc_term", np.int32, ndim=1)
        tf = stored.array("doc_tf", np.int32, shape=term.shape)
        stored.check_pointers("doc_ptr", ptr, total=term.shape[0])
        stored.check_range("doc_term", term, 0, max(n_terms, 1))
        obj.doc_terms_ = sp.csr_matrix((tf, term, ptr), shape=(n_docs, n_terms))
        obj.doc_lengths_ = stored.array("doc_length", np.int64, shape=(n_docs,))
        obj.postings_ = stored.child("postings", PostingIndex)
        stored.check(obj.postings_.n_docs == n_docs and obj.postings_.n_terms == n_terms,
                     "the postings do not match the documents and terms")
        obj._vocab = {t: i for i, t in enumerate(obj.terms_)}
        return obj
